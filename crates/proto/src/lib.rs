//! Sans-IO codec for the NATS client protocol.
//!
//! This crate owns the bytes on the wire between a client and the server:
//! [`parser`] turns what a client sends into [`ClientOp`]s without copying,
//! [`encode`] writes what the server sends (`MSG`, `HMSG`, `INFO`, `-ERR`, ...)
//! into an outbound buffer, and [`types`] holds the JSON documents exchanged
//! in `INFO` and `CONNECT`; [`route`] is the server-to-server protocol.
//! It performs no IO and knows nothing of sockets,
//! subscriptions or routing.

pub mod encode;
pub mod parser;
pub mod route;
pub mod types;

pub use parser::{ClientOp, ParseError, Parsed, Parser, PubOp};
pub use route::{RouteMsg, RouteOp, RouteParseError, RouteParsed, RouteParser};
pub use types::{ConnectOptions, LeafConnect, RouteConnect, ServerInfo};
