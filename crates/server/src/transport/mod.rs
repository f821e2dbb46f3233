//! What sits between the socket and the NATS protocol: TLS sessions
//! (`tls`, rustls) and websocket upgrade and framing (`ws`). Pure byte
//! transformations and their configuration; no connection state.

pub mod tls;
pub mod ws;
