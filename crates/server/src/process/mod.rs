//! The process around the server: the health probe of `--healthcheck`
//! (`health`), reloads on SIGHUP (`reload`) and the other signals
//! (`signals`).

pub mod health;
pub mod reload;
pub mod signals;
