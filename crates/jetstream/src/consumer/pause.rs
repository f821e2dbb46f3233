//! Pausing a consumer (2.11's `pause_until`): until then it delivers
//! nothing, while its pull requests still expire.

use super::config::ConsumerConfig;
use super::Consumer;

/// `pause_until` (RFC 3339) in nanoseconds; 0 for none or the zero time.
pub(super) fn pause_nanos(cfg: &ConsumerConfig) -> i64 {
    cfg.pause_until
        .as_deref()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .and_then(|t| t.timestamp_nanos_opt())
        .unwrap_or(0)
        .max(0)
}

impl Consumer {
    /// Whether the consumer is paused at `now`.
    pub fn paused(&self, now: i64) -> bool {
        now < self.paused_until
    }

    /// Nanoseconds of pause left at `now` (0: not paused).
    pub fn pause_remaining(&self, now: i64) -> i64 {
        (self.paused_until - now).max(0)
    }
}
