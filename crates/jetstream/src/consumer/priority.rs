//! Priority groups of pull consumers (2.11), as nats-server 2.12.4 checks
//! them: a request names its group, and with the `overflow` policy it is
//! served only while the consumer has at least `min_pending` messages or
//! `min_ack_pending` acks pending; with the `prioritized` policy the
//! request with the lowest `priority` is served first. (The pinned-client
//! policy is checked, not applied.)

use super::config::{ConsumerConfig, NextRequest, PriorityPolicy};
use super::Waiting;
use std::collections::VecDeque;

/// A request's priority fields that end it at once: `(400, text)`.
pub(super) fn check(c: &ConsumerConfig, r: &NextRequest) -> Option<(u16, &'static str)> {
    if !(0..=9).contains(&r.priority) {
        return Some((400, "Bad Request - Priority must be between 0 and 9"));
    }
    if c.priority_policy == PriorityPolicy::None {
        return None;
    }
    if r.group.is_empty() {
        return Some((400, "Bad Request - Priority Group missing"));
    }
    if !c.priority_groups.contains(&r.group) {
        return Some((400, "Bad Request - Invalid Priority Group"));
    }
    None
}

/// Statuses nats-server sends for priority fields of another policy, while
/// it still takes the request.
pub(super) fn warnings(c: &ConsumerConfig, r: &NextRequest) -> Vec<&'static str> {
    let mut out = Vec::new();
    if (r.min_pending != 0 || r.min_ack_pending != 0)
        && c.priority_policy != PriorityPolicy::Overflow
    {
        out.push("Bad Request - Not a Overflow Priority consumer");
    }
    if !r.id.is_empty() && c.priority_policy != PriorityPolicy::PinnedClient {
        out.push("Bad Request - Not a Pinned Client Priority consumer");
    }
    out
}

/// Whether an overflow request may take a message now: `pending` counts
/// the message itself, `acks` the acks pending.
pub(super) fn eligible(w: &Waiting, pending: i64, acks: i64) -> bool {
    !(w.min_pending > 0 && w.min_pending > pending
        || w.min_ack_pending > 0 && w.min_ack_pending > acks)
}

/// The first of the waiting requests with the lowest priority.
pub(super) fn most_urgent(waiting: &VecDeque<Waiting>) -> Option<usize> {
    let best = waiting.iter().map(|w| w.priority).min()?;
    waiting.iter().position(|w| w.priority == best)
}
