//! What sits between the socket and the NATS protocol: TLS sessions
//! (`tls`, rustls) and websocket upgrade and framing (`ws`). Pure byte
//! transformations and their configuration; no connection state.
//!
//! Layer: auth and transport; may use the foundation and `auth`
//! (certificate names) only.

pub mod tls;
pub mod ws;
