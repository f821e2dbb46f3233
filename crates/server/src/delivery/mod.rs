//! The message path: a published message encoded into each receiver's
//! outbound buffer (`outbound`), the fan-out over an account's sublist,
//! service imports and routes (`fanout`), the buffer's way onto the socket
//! and the producer stall (`writer`), and why a connection closed with the
//! ring of closed connections kept for monitoring (`closed`).

pub mod closed;
pub mod fanout;
pub mod outbound;
pub mod writer;
