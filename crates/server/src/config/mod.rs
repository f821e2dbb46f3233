//! Turns a parsed config file (`conf::Map`) into [`Options`], with
//! nats-server's key names, aliases, types, errors and warnings.
//!
//! nats-server (2.9) distinguishes three kinds of problems:
//! - errors (unknown keys, wrong types, invalid values): the file is
//!   rejected, by `-t` and when starting;
//! - warnings (e.g. `write_deadline: 5`, an integer where a duration is
//!   expected): `-t` rejects the file, a normal start prints them and goes on;
//! - startup checks (e.g. `max_payload` above `max_pending`, websocket
//!   without TLS): only a normal start rejects them, `-t` accepts the file.
//!
//! [`load_checked`] is the `-t` behaviour, [`load`] the normal start,
//! [`parse`] gives the pieces.
//!
//! Layer: foundation. Owns the config format's meaning, the command line
//! (`flags`) and the resolved `options`: plain data every layer reads. May use
//! `util`, `log` and the pure crates only.

mod accounts;
mod auth;
pub mod digest;
mod exports;
mod features;
pub mod flags;
pub(crate) mod golang;
mod keys;
mod links;
pub(crate) mod mapping;
mod network;
pub(crate) mod operator;
pub mod options;
pub mod route_url;
mod tls;
pub mod types;
mod validate;
mod value;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_blocks;

use crate::config::options::Options;
use conf::{Map, Value};
use std::path::Path;
use std::time::Duration;
use value::Ctx;

pub(crate) use golang::go_quote;
pub use validate::validate;

/// A config error: the full message, `file:line:col: text` per problem,
/// one problem a line.
#[derive(Debug, Clone)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

/// The outcome of interpreting a config file.
#[derive(Debug)]
pub struct Parsed {
    /// The options (meaningful when `errors` is empty).
    pub opts: Options,
    /// Hard errors.
    pub errors: Vec<String>,
    /// Warnings: printed on a normal start, errors for `-t`.
    pub warnings: Vec<String>,
    /// Problems nats-server reports only when starting.
    pub startup_errors: Vec<String>,
}

impl Parsed {
    /// Warnings first, then errors, as nats-server prints them.
    fn message(&self) -> String {
        self.warnings
            .iter()
            .chain(self.errors.iter())
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Reads and interprets `path` on top of the defaults, collecting every
/// problem. Fails only when the file cannot be read or has a syntax error.
pub fn parse(path: &Path) -> Result<Parsed, ConfigError> {
    let map = conf::parse_file(path).map_err(|e| ConfigError(e.to_string()))?;
    let mut cx = Ctx::default();
    let mut files = Vec::new();
    value::source_files(&map, &mut files);
    if files.is_empty() {
        files.push(path.to_path_buf());
    }
    for f in &files {
        if let Ok(text) = std::fs::read(f) {
            cx.used_vars
                .extend(value::referenced_vars(&String::from_utf8_lossy(&text)));
        }
    }
    let mut opts = Options {
        config_file: Some(path.display().to_string()),
        config_digest: digest::digest(&map, &cx.used_vars),
        ..Options::default()
    };
    apply_map(&mut opts, &map, &mut cx);
    let mut startup_errors = cx.deferred;
    if let Err(e) = validate(&opts) {
        startup_errors.push(e.0);
    }
    Ok(Parsed {
        opts,
        errors: cx.errors,
        warnings: cx.warnings,
        startup_errors,
    })
}

/// `-t`: any error or warning rejects the file; startup-only checks are
/// not made (as nats-server).
pub fn load_checked(path: &Path) -> Result<Options, ConfigError> {
    let p = parse(path)?;
    if !p.errors.is_empty() || !p.warnings.is_empty() {
        return Err(ConfigError(p.message()));
    }
    Ok(p.opts)
}

/// A normal start: errors reject the file; warnings are printed to stderr
/// and ignored; then the startup checks apply.
pub fn load(path: &Path) -> Result<Options, ConfigError> {
    let p = parse(path)?;
    if !p.errors.is_empty() {
        return Err(ConfigError(p.message()));
    }
    if !p.warnings.is_empty() {
        eprintln!("{}", p.message());
    }
    if let Some(e) = p.startup_errors.first() {
        return Err(ConfigError(e.clone()));
    }
    Ok(p.opts)
}

/// Notes a feature rnatsd does not serve yet (once).
pub(crate) fn unsupported(opts: &mut Options, feature: &str) {
    if !opts.unsupported.iter().any(|u| u == feature) {
        opts.unsupported.push(feature.to_string());
    }
}

/// Applies every key of a top-level map to `opts` (in file order; the
/// system account first, as nats-server does).
fn apply_map(opts: &mut Options, map: &Map, cx: &mut Ctx) {
    if let Some(v) = map
        .get_exact("system_account")
        .or_else(|| map.get_exact("system"))
    {
        match &v.value {
            Value::String(s) => opts.system_account = Some(s.clone()),
            _ => cx.err(&v.pos, "system account name must be a string"),
        }
    }
    let mut auth_timeout: Option<f64> = None;
    let mut http_host = None;
    for (key, item) in map.iter() {
        let _ = keys::apply_key(opts, key, item, cx, &mut auth_timeout);
        if matches!(key.to_ascii_lowercase().as_str(), "http" | "https") {
            http_host = Some(opts.http_host.clone());
        }
    }
    // As nats-server: the monitoring host follows the client host unless
    // `http`/`https` name one.
    opts.http_host = http_host
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| opts.host.clone());
    finish(opts, auth_timeout);
}

/// Go's baseline for the auth timeout: the configured one, else the TLS
/// timeout (default 2s) plus one second with TLS, else 2s.
fn finish(opts: &mut Options, auth_timeout: Option<f64>) {
    let t = auth_timeout.unwrap_or(0.0);
    opts.auth_timeout = if t > 0.0 && t.is_finite() {
        Duration::from_secs_f64(t.min(1e9))
    } else if let Some(tls) = &opts.tls {
        let tt = if tls.timeout > 0.0 && tls.timeout.is_finite() {
            tls.timeout.min(1e9)
        } else {
            2.0
        };
        Duration::from_secs_f64(tt + 1.0)
    } else {
        Options::default().auth_timeout
    };
}
