//! Logging in nats-server's line format:
//! `[PID] 2006/01/02 15:04:05.000000 [INF] message`.
//!
//! One global logger, configured at start and on reload. Debug and trace
//! lines cost one relaxed atomic load when disabled.

use parking_lot::Mutex;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

static DEBUG: AtomicBool = AtomicBool::new(false);
static TRACE: AtomicBool = AtomicBool::new(false);
static LOGTIME: AtomicBool = AtomicBool::new(true);
static SINK: Mutex<Option<File>> = Mutex::new(None);

/// Logger settings.
#[derive(Debug, Clone, Default)]
pub struct LogConfig {
    /// Write debug lines.
    pub debug: bool,
    /// Write protocol trace lines.
    pub trace: bool,
    /// Prefix lines with a timestamp.
    pub logtime: bool,
    /// Append to this file instead of stderr.
    pub file: Option<String>,
}

/// Applies settings. A log file that cannot be opened is an error.
pub fn configure(cfg: &LogConfig) -> std::io::Result<()> {
    DEBUG.store(cfg.debug, Ordering::Relaxed);
    TRACE.store(cfg.trace, Ordering::Relaxed);
    LOGTIME.store(cfg.logtime, Ordering::Relaxed);
    let file = match &cfg.file {
        Some(path) if !path.is_empty() => {
            Some(OpenOptions::new().create(true).append(true).open(path)?)
        }
        _ => None,
    };
    *SINK.lock() = file;
    Ok(())
}

/// True when debug lines are written.
#[inline]
pub fn debug_enabled() -> bool {
    DEBUG.load(Ordering::Relaxed)
}

/// True when trace lines are written.
#[inline]
pub fn trace_enabled() -> bool {
    TRACE.load(Ordering::Relaxed)
}

/// Writes one line at `level` (`INF`, `WRN`, `ERR`, `FTL`, `DBG`, `TRC`).
pub fn write(level: &str, msg: std::fmt::Arguments<'_>) {
    let mut line = String::with_capacity(128);
    use std::fmt::Write as _;
    let _ = write!(line, "[{}] ", std::process::id());
    if LOGTIME.load(Ordering::Relaxed) {
        let now = chrono::Local::now();
        let _ = write!(line, "{} ", now.format("%Y/%m/%d %H:%M:%S%.6f"));
    }
    let _ = writeln!(line, "[{level}] {msg}");
    let mut sink = SINK.lock();
    match sink.as_mut() {
        Some(f) => {
            let _ = f.write_all(line.as_bytes());
        }
        None => {
            let _ = std::io::stderr().write_all(line.as_bytes());
        }
    }
}

/// Logs at INF.
#[macro_export]
macro_rules! info { ($($t:tt)*) => { $crate::log::write("INF", format_args!($($t)*)) } }
/// Logs at WRN.
#[macro_export]
macro_rules! warn { ($($t:tt)*) => { $crate::log::write("WRN", format_args!($($t)*)) } }
/// Logs at ERR.
#[macro_export]
macro_rules! error { ($($t:tt)*) => { $crate::log::write("ERR", format_args!($($t)*)) } }
/// Logs at FTL.
#[macro_export]
macro_rules! fatal { ($($t:tt)*) => { $crate::log::write("FTL", format_args!($($t)*)) } }
/// Logs at DBG when debug is on.
#[macro_export]
macro_rules! debug { ($($t:tt)*) => { if $crate::log::debug_enabled() { $crate::log::write("DBG", format_args!($($t)*)) } } }
/// Logs at TRC when trace is on.
#[macro_export]
macro_rules! trace { ($($t:tt)*) => { if $crate::log::trace_enabled() { $crate::log::write("TRC", format_args!($($t)*)) } } }
