//! Stream sources, as nats-server 2.12.4 runs them: a sourcing stream asks
//! each origin for an ephemeral push consumer (no acks, flow control, 1 s
//! heartbeats), stamps what arrives with `Nats-Stream-Source` and stores it.
//! This module holds the deterministic part: index names, the consumer
//! request, the header stamp and its parsing, and the sequence tracking that
//! decides when a source consumer must be created again.

use crate::config::StreamSource;
use crate::headers as h;
use serde_json::{json, Value};

/// The header that names a sourced message's origin.
pub const STREAM_SOURCE: &str = "Nats-Stream-Source";
/// Heartbeat asked of a source consumer (`sourceHealthHB`).
pub const HEALTH_HB: i64 = 1_000_000_000;
/// A source silent this long is set up again (`sourceHealthCheckInterval`).
pub const HEALTH_CHECK: i64 = 10_000_000_000;
/// Least time between two consumer requests of one source.
pub const RETRY_THRESHOLD: i64 = 2_000_000_000;
/// How long a consumer request waits for its answer (`srcConsumerWaitTime`).
pub const CREATE_WAIT: i64 = 30_000_000_000;

/// Go's `calculateRetryBackoff`: 10 s per failure, at most 2 minutes.
pub fn retry_backoff(fails: u32) -> i64 {
    (5_000_000_000i64 * 2 * fails as i64).min(120_000_000_000)
}

/// The source's index name (Go's `composeIName`): the stream (with the
/// hash of its external API prefix), its filters and their destinations.
pub fn iname(src: &StreamSource, hash: impl Fn(&str) -> String) -> String {
    let mut name = src.name.clone();
    if let Some(ext) = &src.external {
        name = format!("{name}:{}", hash(&ext.api));
    }
    let or_all = |s: &str| {
        if s.is_empty() {
            ">".to_string()
        } else {
            s.to_string()
        }
    };
    let (filters, dests) = if src.subject_transforms.is_empty() {
        (or_all(&src.filter_subject), ">".to_string())
    } else {
        let f: Vec<String> = src
            .subject_transforms
            .iter()
            .map(|t| or_all(&t.src))
            .collect();
        let d: Vec<String> = src
            .subject_transforms
            .iter()
            .map(|t| or_all(&t.dest))
            .collect();
        (f.join("\u{c}"), d.join("\u{c}"))
    };
    format!("{name} {filters} {dests}")
}

/// Where a source consumer starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Start {
    /// From the origin's first message.
    All,
    /// From this origin sequence.
    Seq(u64),
    /// From this time (RFC 3339).
    Time(String),
}

/// The start of a source consumer, as Go's `trySetupSourceConsumer` picks it:
/// `next` is the origin sequence wanted next (last copied + 1), `last_time`
/// the time of this stream's last message (RFC 3339, when it has any) and
/// `first_seq` this stream's first sequence.
pub fn start(src: &StreamSource, next: u64, first_seq: u64, last_time: Option<&str>) -> Start {
    if next > 1 {
        return Start::Seq(next);
    }
    if src.opt_start_seq > 0 {
        return Start::Seq(src.opt_start_seq);
    }
    if let Some(t) = &src.opt_start_time {
        // Not before what this stream already holds.
        return match last_time {
            Some(l) if time_before(t, l) => Start::Time(l.to_string()),
            _ => Start::Time(t.clone()),
        };
    }
    match last_time {
        Some(l) if first_seq > 1 => Start::Time(l.to_string()),
        _ => Start::All,
    }
}

/// The start of a mirror consumer, as Go's `setupMirrorConsumer` picks it:
/// after the mirror's last sequence, or from the configured start when the
/// mirror has never held anything.
pub fn mirror_start(src: &StreamSource, msgs: u64, first_seq: u64, last_seq: u64) -> Start {
    if msgs == 0 && first_seq == 0 {
        if src.opt_start_seq > 0 {
            return Start::Seq(src.opt_start_seq);
        }
        if let Some(t) = &src.opt_start_time {
            return Start::Time(t.clone());
        }
        return Start::All;
    }
    Start::Seq(last_seq + 1)
}

fn time_before(a: &str, b: &str) -> bool {
    let p = |s: &str| chrono::DateTime::parse_from_rfc3339(s).ok();
    matches!((p(a), p(b)), (Some(a), Some(b)) if a < b)
}

/// The consumer-create request for a source: the API subject (under the
/// external API prefix when there is one) and the JSON body.
pub fn create_request(
    src: &StreamSource,
    deliver: &str,
    start: &Start,
    name: &str,
) -> (String, Vec<u8>) {
    let mut cfg = serde_json::Map::new();
    let (policy, seq, time) = match start {
        Start::All => ("all", None, None),
        Start::Seq(s) => ("by_start_sequence", Some(*s), None),
        Start::Time(t) => ("by_start_time", None, Some(t.clone())),
    };
    cfg.insert("deliver_policy".into(), json!(policy));
    if let Some(s) = seq {
        cfg.insert("opt_start_seq".into(), json!(s));
    }
    if let Some(t) = time {
        cfg.insert("opt_start_time".into(), json!(t));
    }
    cfg.insert("ack_policy".into(), json!("none"));
    cfg.insert("ack_wait".into(), json!(22u64 * 3600 * 1_000_000_000));
    cfg.insert("max_deliver".into(), json!(1));
    let mut filter = src.filter_subject.clone();
    let mut filters: Vec<String> = src
        .subject_transforms
        .iter()
        .map(|t| t.src.clone())
        .collect();
    if filter.is_empty() && filters.len() == 1 {
        filter = filters.remove(0);
    }
    let subject = if filter.is_empty() {
        format!("$JS.API.CONSUMER.CREATE.{}", src.name)
    } else {
        cfg.insert("name".into(), json!(name));
        cfg.insert("filter_subject".into(), json!(filter));
        format!("$JS.API.CONSUMER.CREATE.{}.{name}.{filter}", src.name)
    };
    if !filters.is_empty() {
        cfg.insert("filter_subjects".into(), json!(filters));
    }
    cfg.insert("replay_policy".into(), json!("instant"));
    cfg.insert("idle_heartbeat".into(), json!(HEALTH_HB));
    cfg.insert("flow_control".into(), json!(true));
    cfg.insert("deliver_subject".into(), json!(deliver));
    cfg.insert("direct".into(), json!(true));
    cfg.insert("inactive_threshold".into(), json!(HEALTH_CHECK));
    let subject = match &src.external {
        Some(ext) if !ext.api.is_empty() => {
            subject.replacen("$JS.API", &ext.api, 1).replace("..", ".")
        }
        _ => subject,
    };
    let body = json!({"stream_name": src.name, "config": Value::Object(cfg)});
    (subject, serde_json::to_vec(&body).unwrap_or_default())
}

/// The deliver subject of a source consumer (`$JS.S.<token>`) or of a
/// mirror's (`$JS.M.<token>`), or under the external deliver prefix.
pub fn deliver_subject(src: &StreamSource, token: &str, mirror: bool) -> String {
    let kind = if mirror { "M" } else { "S" };
    match &src.external {
        Some(ext) if !ext.deliver.is_empty() => {
            format!("{}.{kind}.{token}", ext.deliver).replace("..", ".")
        }
        _ => format!("$JS.{kind}.{token}"),
    }
}

/// The header block a mirrored message is stored with: the origin's,
/// without `Nats-Expected-*` and `Nats-Batch-*`; none when nothing else is
/// left.
pub fn mirror_headers(hdr: &[u8]) -> Vec<u8> {
    let out = remove_prefixed(&remove_prefixed(hdr, "Nats-Expected-"), "Nats-Batch-");
    if out.len() <= b"NATS/1.0\r\n\r\n".len() {
        return Vec::new();
    }
    out
}

/// The header block a sourced message is stored with: the origin's headers
/// without its own source stamp, `Nats-Expected-*` and `Nats-Batch-*`, then
/// `Nats-Stream-Source: <stream> <seq> <filters> <dests> <subject>`.
pub fn stamp(hdr: &[u8], iname: &str, reply: &str, subject: &str) -> Vec<u8> {
    let mut hdr = hdr.to_vec();
    if let Some(rest) = h::remove(&hdr, STREAM_SOURCE) {
        hdr = rest;
    }
    for prefix in ["Nats-Expected-", "Nats-Batch-"] {
        hdr = remove_prefixed(&hdr, prefix);
    }
    let t: Vec<&str> = reply.split('.').collect();
    let seq = if t.len() == 9 && t[0] == "$JS" && t[1] == "ACK" {
        t[5]
    } else {
        "1"
    };
    let mut parts = iname.splitn(3, ' ');
    let (name, filters, dests) = (
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
    );
    let mut out = if hdr.len() > 2 + b"NATS/1.0".len() {
        hdr[..hdr.len() - 2].to_vec()
    } else {
        b"NATS/1.0\r\n".to_vec()
    };
    out.extend_from_slice(
        format!("{STREAM_SOURCE}: {name} {seq} {filters} {dests} {subject}\r\n\r\n").as_bytes(),
    );
    out
}

/// Removes every header line whose key starts with `prefix`.
fn remove_prefixed(hdr: &[u8], prefix: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(hdr.len());
    let mut first = true;
    for line in hdr.split_inclusive(|b| *b == b'\n') {
        if !first && line.starts_with(prefix.as_bytes()) {
            continue;
        }
        first = false;
        out.extend_from_slice(line);
    }
    out
}

/// Go's `streamAndSeq`: the origin stream, the source's index name (empty for
/// pre-2.10 stamps) and the origin sequence of a `Nats-Stream-Source` value.
pub fn parse_stamp(v: &str) -> Option<(String, String, u64)> {
    if v.starts_with("$JS.ACK.") {
        let t: Vec<&str> = v.split('.').collect();
        if t.len() != 9 {
            return None;
        }
        return Some((t[2].to_string(), String::new(), t[5].parse().ok()?));
    }
    let f: Vec<&str> = v.split(' ').collect();
    match f.len() {
        2 => Some((f[0].to_string(), String::new(), f[1].parse().ok()?)),
        n if n >= 4 => Some((
            f[0].to_string(),
            format!("{} {} {}", f[0], f[2], f[3]),
            f[1].parse().ok()?,
        )),
        _ => None,
    }
}

/// What to do with one message from a source consumer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Store it; it is this origin sequence.
    Store(u64),
    /// Drop it (an old consumer's, or a redelivery).
    Drop,
    /// A gap: drop it and set the consumer up again from this origin sequence.
    Retry(u64),
}

/// A source's position: the last origin sequence copied and the last
/// consumer sequence seen from the current consumer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tracker {
    /// Last origin sequence stored.
    pub sseq: u64,
    /// Last delivery sequence of the current consumer.
    pub dseq: u64,
    /// The current consumer's name (empty before its first message or answer).
    pub cname: String,
    /// Messages the origin still has for us.
    pub lag: u64,
}

impl Tracker {
    /// A new consumer is being set up: forget the old one's deliveries.
    pub fn reset_consumer(&mut self) {
        self.dseq = 0;
        self.cname.clear();
    }

    /// Judges a message by its `$JS.ACK` reply subject.
    pub fn on_msg(&mut self, reply: &str) -> Verdict {
        let Some((_, consumer, r)) = crate::consumer::state::parse_ack_subject(reply) else {
            return Verdict::Drop;
        };
        if !self.cname.is_empty() && consumer != self.cname {
            return Verdict::Drop;
        }
        if r.dc > 1 {
            return Verdict::Drop;
        }
        if r.cseq == self.dseq + 1 {
            self.dseq += 1;
        } else if r.cseq > self.dseq && self.cname.is_empty() {
            self.dseq = r.cseq;
        } else if r.cseq > self.dseq {
            return Verdict::Retry(self.sseq + 1);
        } else {
            return Verdict::Drop;
        }
        self.cname = consumer.to_string();
        if r.sseq <= self.sseq {
            // Already copied (a consumer started before what we hold).
            return Verdict::Drop;
        }
        self.sseq = r.sseq;
        self.lag = r.pending.saturating_sub(1);
        Verdict::Store(r.sseq)
    }

    /// Judges an idle heartbeat: `Some(seq)` when deliveries were missed and
    /// the consumer must start again there.
    pub fn on_heartbeat(&mut self, hdr: &[u8]) -> Option<u64> {
        let last = h::get_seq("Nats-Last-Consumer", hdr).unwrap_or(0);
        (last > 0 && last != self.dseq).then_some(self.sseq + 1)
    }
}

/// Whether a message from a source consumer is a status (heartbeat or flow
/// control): no payload and a `NATS/1.0 100 ` header.
pub fn is_control(hdr: &[u8], payload: &[u8]) -> bool {
    payload.is_empty() && hdr.starts_with(b"NATS/1.0 100 ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ExternalStream, SubjectTransform};

    fn src(name: &str) -> StreamSource {
        StreamSource {
            name: name.into(),
            ..Default::default()
        }
    }

    #[test]
    fn index_names_as_go_composes_them() {
        assert_eq!(iname(&src("O"), |_| unreachable!()), "O > >");
        let mut s = src("O");
        s.filter_subject = "a.*".into();
        s.external = Some(ExternalStream {
            api: "$JS.leaf.API".into(),
            deliver: String::new(),
        });
        assert_eq!(iname(&s, |p| format!("H{}", p.len())), "O:H12 a.* >");
        let mut s = src("O");
        s.subject_transforms = vec![
            SubjectTransform {
                src: "a.>".into(),
                dest: "b.>".into(),
            },
            SubjectTransform {
                src: "c".into(),
                dest: String::new(),
            },
        ];
        assert_eq!(iname(&s, |_| String::new()), "O a.>\u{c}c b.>\u{c}>");
    }

    #[test]
    fn stamps_replace_the_origin_stamp_and_drop_expectations() {
        let hdr = b"NATS/1.0\r\nNats-Stream-Source: X 3 > > a\r\nNats-Expected-Stream: O\r\nK: v\r\nNats-Batch-Id: 1\r\n\r\n";
        let out = stamp(hdr, "O > >", "$JS.ACK.O.c.1.42.7.1700000000.0", "foo");
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "NATS/1.0\r\nK: v\r\nNats-Stream-Source: O 42 > > foo\r\n\r\n"
        );
        let out = stamp(b"", "O:abc a.* >", "$JS.ACK.O.c.1.5.1.1.0", "a.b");
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "NATS/1.0\r\nNats-Stream-Source: O:abc 5 a.* > a.b\r\n\r\n"
        );
        assert_eq!(
            parse_stamp("O:abc 5 a.* > a.b"),
            Some(("O:abc".into(), "O:abc a.* >".into(), 5))
        );
        assert_eq!(parse_stamp("O 7"), Some(("O".into(), String::new(), 7)));
        assert_eq!(
            parse_stamp("$JS.ACK.O.c.1.9.2.1.0"),
            Some(("O".into(), String::new(), 9))
        );
        assert_eq!(parse_stamp("O 1 2"), None);
    }

    #[test]
    fn tracking_follows_go() {
        let mut t = Tracker::default();
        assert_eq!(t.on_msg("$JS.ACK.O.c1.1.1.1.1.2"), Verdict::Store(1));
        assert_eq!(t.lag, 1);
        assert_eq!(t.on_msg("$JS.ACK.O.c1.1.2.2.1.0"), Verdict::Store(2));
        // A message of another consumer is ignored.
        assert_eq!(t.on_msg("$JS.ACK.O.c0.1.9.9.1.0"), Verdict::Drop);
        // A gap: start again after the last stored.
        assert_eq!(t.on_msg("$JS.ACK.O.c1.1.5.4.1.0"), Verdict::Retry(3));
        assert_eq!(
            t.on_heartbeat(b"NATS/1.0 100 Idle Heartbeat\r\nNats-Last-Consumer: 2\r\n\r\n"),
            None
        );
        assert_eq!(
            t.on_heartbeat(b"NATS/1.0 100 Idle Heartbeat\r\nNats-Last-Consumer: 3\r\n\r\n"),
            Some(3)
        );
        t.reset_consumer();
        // A new consumer that starts before what was copied: only new ones stored.
        assert_eq!(t.on_msg("$JS.ACK.O.c2.1.2.1.1.1"), Verdict::Drop);
        assert_eq!(t.on_msg("$JS.ACK.O.c2.1.3.2.1.0"), Verdict::Store(3));
    }

    #[test]
    fn requests_as_go_sends_them() {
        let mut s = src("O");
        let (subj, body) = create_request(&s, "$JS.S.x", &Start::All, "src-1");
        assert_eq!(subj, "$JS.API.CONSUMER.CREATE.O");
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["config"]["deliver_policy"], "all");
        assert_eq!(v["config"]["flow_control"], true);
        s.filter_subject = "a.>".into();
        s.external = Some(ExternalStream {
            api: "$JS.leaf.API".into(),
            deliver: "dl".into(),
        });
        let (subj, body) = create_request(
            &s,
            &deliver_subject(&s, "t", false),
            &Start::Seq(5),
            "src-1",
        );
        assert_eq!(subj, "$JS.leaf.API.CONSUMER.CREATE.O.src-1.a.>");
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["config"]["opt_start_seq"], 5);
        assert_eq!(v["config"]["deliver_subject"], "dl.S.t");
        assert_eq!(deliver_subject(&s, "t", true), "dl.M.t");
        assert!(mirror_headers(b"NATS/1.0\r\nNats-Expected-Stream: O\r\n\r\n").is_empty());
        assert_eq!(
            mirror_headers(b"NATS/1.0\r\nNats-Expected-Stream: O\r\nK: v\r\n\r\n"),
            b"NATS/1.0\r\nK: v\r\n\r\n"
        );
        assert_eq!(deliver_subject(&src("O"), "t", true), "$JS.M.t");
        assert_eq!(mirror_start(&src("O"), 0, 0, 0), Start::All);
        assert_eq!(mirror_start(&src("O"), 0, 8, 7), Start::Seq(8));
        let mut m = src("O");
        m.opt_start_seq = 3;
        assert_eq!(mirror_start(&m, 0, 0, 0), Start::Seq(3));
        assert_eq!(mirror_start(&m, 2, 1, 2), Start::Seq(3));
        assert_eq!(start(&src("O"), 1, 1, None), Start::All);
        assert_eq!(start(&src("O"), 9, 1, None), Start::Seq(9));
        assert_eq!(
            start(&src("O"), 1, 4, Some("2026-01-01T00:00:00Z")),
            Start::Time("2026-01-01T00:00:00Z".into())
        );
    }
}
