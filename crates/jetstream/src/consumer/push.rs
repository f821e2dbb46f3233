//! Push delivery: to the deliver subject while someone listens there, idle
//! heartbeats when there is nothing to send, and flow control as
//! nats-server 2.12.4 runs it. With `flow_control` a consumer counts the
//! bytes it pushed (subject, reply, headers, payload); past half its window
//! it sends `100 FlowControl Request` with a `$JS.FC.<stream>.<consumer>.<id>`
//! reply, and past the whole window it waits. The answer frees the bytes
//! counted up to the request and doubles the window (2 MiB at first, 32 MiB
//! at most). While a request is unanswered, heartbeats carry
//! `Nats-Consumer-Stalled` with its reply subject.

use super::config::ConsumerConfig;
use super::{heartbeat, Advisory, Consumer, Next, Out};
use store::MsgStore;

/// The largest flow control window (`JsFlowControlMaxPending`).
const MAX_PENDING: i64 = 32 * 1024 * 1024;

/// Flow control state (Go's `maxpb`, `pbytes`, `fcsz`, `fcid`).
#[derive(Clone, Debug, Default)]
pub(super) struct Flow {
    /// The window; 0 without flow control.
    max: i64,
    /// Bytes pushed and not yet freed by an answer.
    bytes: i64,
    /// Bytes the outstanding request frees.
    size: i64,
    /// The outstanding request's reply subject (empty: none).
    id: String,
}

impl Flow {
    /// The flow control of a consumer with `cfg`.
    pub(super) fn new(cfg: &ConsumerConfig) -> Flow {
        Flow {
            max: if cfg.flow_control {
                MAX_PENDING / 16
            } else {
                0
            },
            ..Flow::default()
        }
    }

    fn stalled(&self) -> bool {
        self.max > 0 && self.bytes > self.max
    }
}

/// Four base-62 characters for a flow control reply, from `n` (the
/// delivery sequence: the model stays deterministic, and each request of a
/// consumer differs from the one before).
fn fc_token(mut n: u64) -> String {
    const DIGITS: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    (0..4)
        .map(|_| {
            let c = DIGITS[(n % 62) as usize] as char;
            n /= 62;
            c
        })
        .collect()
}

impl Consumer {
    /// Push delivery, as the module says.
    pub(super) fn pump_push(
        &mut self,
        store: &mut dyn MsgStore,
        now: i64,
        has_interest: &mut dyn FnMut(&str) -> bool,
        out: &mut Vec<Out>,
        adv: &mut Vec<Advisory>,
    ) {
        let to = self.cfg.deliver_subject.clone();
        if !has_interest(&to) {
            return;
        }
        self.last_active = now;
        let mut sent = false;
        while !self.flow.stalled() {
            let Next::Msg(msg, _) = self.next_msg(store, adv) else {
                break;
            };
            let (ack, hdr, body) = self.prepare(&msg, store);
            self.record_delivery(&msg, now);
            let size = (to.len() + ack.len() + hdr.len() + body.len()) as i64;
            out.push(Out::Msg {
                to: to.clone(),
                ack,
                subject: msg.subject.clone(),
                hdr,
                body,
            });
            sent = true;
            self.flow_after_delivery(size, &to, out);
        }
        let hb = self.cfg.heartbeat;
        if sent {
            self.last_hb = now;
        } else if hb > 0 && now.saturating_sub(self.last_hb.max(self.last_delivered)) >= hb {
            self.last_hb = now;
            let d = &self.state.delivered;
            let hdr = heartbeat(d.consumer, d.stream, &self.flow.id);
            out.push(Out::Status { to, hdr });
        }
    }

    /// Counts a pushed message and asks for flow control when due (Go's
    /// `needFlowControl` and `sendFlowControl`).
    fn flow_after_delivery(&mut self, size: i64, to: &str, out: &mut Vec<Out>) {
        let f = &mut self.flow;
        if f.max == 0 {
            return;
        }
        f.bytes += size;
        if f.id.is_empty() && f.bytes > f.max / 2 {
            let token = fc_token(self.state.delivered.consumer);
            f.id = format!("$JS.FC.{}.{}.{token}", self.stream, self.name);
            f.size = f.bytes;
            out.push(Out::Control {
                to: to.to_string(),
                reply: f.id.clone(),
                hdr: "NATS/1.0 100 FlowControl Request\r\n\r\n".to_string(),
            });
        } else if !f.id.is_empty() && f.bytes - f.size >= f.max {
            f.size += size;
        }
    }

    /// An answer to a flow control request on `subject`; true when it was
    /// the outstanding one (deliveries may go on).
    pub fn flow_control_answer(&mut self, subject: &str) -> bool {
        let f = &mut self.flow;
        if f.id.is_empty() || subject != f.id {
            return false;
        }
        f.max = (f.max * 2).min(MAX_PENDING);
        f.bytes = (f.bytes - f.size).max(0);
        f.id.clear();
        f.size = 0;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_at_half_the_window_and_waits_past_it() {
        let cfg = ConsumerConfig {
            flow_control: true,
            ..Default::default()
        };
        let mut c = Consumer::restored("S", "C", cfg, 0, Default::default());
        let mut out = Vec::new();
        let half = MAX_PENDING / 32;
        c.flow_after_delivery(half, "d", &mut out);
        assert!(out.is_empty());
        c.flow_after_delivery(1, "d", &mut out);
        let Some(Out::Control { reply, hdr, .. }) = out.pop() else {
            panic!("no flow control request");
        };
        assert!(reply.starts_with("$JS.FC.S.C.") && reply.len() == "$JS.FC.S.C.".len() + 4);
        assert_eq!(hdr, "NATS/1.0 100 FlowControl Request\r\n\r\n");
        c.flow_after_delivery(half, "d", &mut out);
        assert!(c.flow.stalled());
        assert!(!c.flow_control_answer("$JS.FC.S.C.zzzz"));
        assert!(c.flow_control_answer(&reply));
        assert_eq!(c.flow.bytes, half);
        assert_eq!(c.flow.max, MAX_PENDING / 8);
        assert!(!c.flow.stalled());
    }
}
