//! The process around the server: the health probe of `--healthcheck`
//! (`health`), reloads on SIGHUP (`reload`) and the other signals
//! (`signals`).
//!
//! Layer: top; may use every layer.

pub mod health;
pub mod reload;
pub mod signals;
