//! The message path: a published message encoded into each receiver's
//! outbound buffer (`outbound`), the fan-out over an account's sublist,
//! service imports and routes (`fanout`), the buffer's way onto the socket
//! and the producer stall (`writer`), the server's own socketless clients
//! (`internal`), and why a connection closed with the ring of closed
//! connections kept for monitoring (`closed`).
//!
//! Layer: core. May use the foundation, `auth`, `transport` and the rest of
//! the core (`accounts` for sublists, `server` and `cluster` for routes);
//! never a connection's protocol code.

pub mod closed;
pub mod fanout;
pub mod internal;
pub mod outbound;
pub mod writer;
