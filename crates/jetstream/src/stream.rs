//! A stream's publish path as a deterministic state machine: the checks of
//! nats-server's `processJetStreamMsg` in its order, deduplication by
//! `Nats-Msg-Id` within the duplicate window, rollups, and the PubAck bytes.
//! Time is an input; the store is `store::MsgStore`.

use crate::config::{Discard, Retention, StreamConfig};
use crate::headers as h;
use crate::{ApiError, ErrorKind};
use std::collections::{BTreeSet, HashMap, VecDeque};
use store::{MsgStore, StoreConfig, StoreError};
use sublist::transform::Transform;

/// One publish captured by a stream.
#[derive(Clone, Copy, Debug)]
pub struct Publish<'a> {
    /// The subject (after the stream's subject transform).
    pub subject: &'a str,
    /// The header block, empty for none.
    pub hdr: &'a [u8],
    /// The payload.
    pub msg: &'a [u8],
    /// The time it arrived, nanoseconds since the epoch.
    pub ts: i64,
}

/// What became of a publish.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Stored at this sequence.
    Stored(u64),
    /// A duplicate of the message stored at this sequence.
    Duplicate(u64),
    /// Refused.
    Refused(ApiError),
}

/// The limits part of a stream config, as the store enforces them.
pub fn store_config(cfg: &StreamConfig) -> StoreConfig {
    StoreConfig {
        max_msgs: cfg.max_msgs,
        max_bytes: cfg.max_bytes,
        max_age: cfg.max_age,
        max_msgs_per_subject: cfg.max_msgs_per_subject,
        discard: match cfg.discard {
            Discard::Old => store::Discard::Old,
            Discard::New => store::Discard::New,
        },
        discard_new_per_subject: cfg.discard_new_per_subject,
    }
}

/// A stored message to publish again under the stream's `republish`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Republished {
    /// Where it goes.
    pub subject: String,
    /// Its headers: the stored ones and the `Nats-Stream` block.
    pub hdr: Vec<u8>,
    /// Its payload (empty with `headers_only`).
    pub msg: Vec<u8>,
}

/// A subject transform with the source it applies to.
struct Compiled {
    src: String,
    tr: Transform,
}

impl Compiled {
    fn new(src: &str, dest: &str) -> Option<Compiled> {
        let src = if src.is_empty() { ">" } else { src };
        Some(Compiled {
            src: src.to_string(),
            tr: Transform::new(src, dest)?,
        })
    }

    /// The destination of `subject`, when it matches the source.
    fn apply(&self, subject: &str) -> Option<String> {
        if !store::filter_matches(&self.src, subject) {
            return None;
        }
        let mut out = String::new();
        self.tr.apply(subject, &mut out);
        Some(out)
    }
}

/// A stream: its config, its store and its publish state.
pub struct Stream {
    /// The config in force (change it with [`Stream::set_config`]).
    pub cfg: StreamConfig,
    /// The JetStream domain, named in PubAcks.
    pub domain: String,
    /// The messages.
    pub store: Box<dyn MsgStore>,
    last_msg_id: String,
    dedup: HashMap<String, u64>,
    dedup_order: VecDeque<(String, i64)>,
    input: Option<Compiled>,
    republish: Option<(Compiled, bool)>,
    /// When messages with a TTL expire: (time, sequence).
    pub(crate) ttls: BTreeSet<(i64, u64)>,
    /// Republished copies of the messages stored, for the caller to take
    /// and publish once those messages are durable.
    pub republished: Vec<Republished>,
}

fn refuse(kind: ErrorKind) -> Outcome {
    Outcome::Refused(ApiError::new(kind))
}

impl Stream {
    /// A stream over `store`, which already holds what the stream stored.
    pub fn new(cfg: StreamConfig, domain: String, store: Box<dyn MsgStore>) -> Self {
        let mut s = Stream {
            cfg: StreamConfig::default(),
            domain,
            store,
            last_msg_id: String::new(),
            dedup: HashMap::new(),
            dedup_order: VecDeque::new(),
            input: None,
            republish: None,
            ttls: BTreeSet::new(),
            republished: Vec::new(),
        };
        s.set_config(cfg);
        s
    }

    /// Puts `cfg` in force, with its subject transform and republish.
    pub fn set_config(&mut self, cfg: StreamConfig) {
        self.input = cfg
            .subject_transform
            .as_ref()
            .and_then(|t| Compiled::new(&t.src, &t.dest));
        self.republish = cfg
            .republish
            .as_ref()
            .and_then(|r| Some((Compiled::new(&r.src, &r.dest)?, r.headers_only)));
        let ttls_on = cfg.allow_msg_ttl && !self.cfg.allow_msg_ttl;
        self.cfg = cfg;
        if ttls_on {
            self.rebuild_ttls();
        }
    }

    /// Rebuilds the `Nats-Msg-Id` window from the stored messages (after a
    /// restart), as nats-server does: ids of messages newer than the window.
    pub fn rebuild_dedup(&mut self, now: i64) {
        self.dedup.clear();
        self.dedup_order.clear();
        let from = self
            .store
            .seq_from_time(now.saturating_sub(self.cfg.duplicate_window));
        let mut next = from;
        while let Ok(m) = self.store.load_next("", next) {
            next = m.seq + 1;
            let id = h::get_str(h::MSG_ID, m.hdr());
            if !id.is_empty() {
                self.dedup.insert(id.to_string(), m.seq);
                self.dedup_order.push_back((id.to_string(), m.ts));
            }
        }
        if let Ok(m) = self.store.load_last("") {
            self.last_msg_id = h::get_str(h::MSG_ID, m.hdr()).to_string();
        }
    }

    /// The last sequence used.
    pub fn last_seq(&self) -> u64 {
        self.store.fast_state().last_seq
    }

    /// Forgets message ids older than the duplicate window at `now`.
    fn expire_ids(&mut self, now: i64) {
        let window = self.cfg.duplicate_window;
        while let Some((id, ts)) = self.dedup_order.front() {
            if now - *ts < window {
                break;
            }
            self.dedup.remove(id);
            self.dedup_order.pop_front();
        }
    }

    /// Runs a publish through the checks and, when they pass, stores it.
    /// `Err` is a store failure the caller must treat as the disk's.
    pub fn process(&mut self, p: Publish<'_>) -> Outcome {
        self.process_with(p, &|_| true)
    }

    /// [`Stream::process`] for an interest stream: `interest` tells whether
    /// a consumer wants the (transformed) subject. Without one the message
    /// passes the checks and takes its sequence, but is not stored, as
    /// nats-server skips it.
    pub fn process_with(&mut self, p: Publish<'_>, interest: &dyn Fn(&str) -> bool) -> Outcome {
        if self.cfg.sealed {
            return refuse(ErrorKind::StreamSealed);
        }
        // The stream's subject transform, before everything else.
        let transformed = self.input.as_ref().and_then(|t| t.apply(p.subject));
        let p = Publish {
            subject: transformed.as_deref().unwrap_or(p.subject),
            ..p
        };
        let stripped;
        let mut hdr = p.hdr;
        if let Some(rest) = h::remove(hdr, h::CLIENT_INFO) {
            stripped = rest;
            hdr = &stripped;
        }
        self.expire_ids(p.ts);
        let mut msg_id = String::new();
        let (mut rollup_sub, mut rollup_all) = (false, false);
        if !hdr.is_empty() {
            if let Some(incr) = h::get(h::INCR, hdr) {
                let valid = !incr.is_empty()
                    && incr
                        .iter()
                        .enumerate()
                        .all(|(i, c)| c.is_ascii_digit() || (i == 0 && (*c == b'-' || *c == b'+')));
                if !valid {
                    return refuse(ErrorKind::MessageIncrInvalid);
                }
                if !self.cfg.allow_msg_counter {
                    return refuse(ErrorKind::MessageIncrDisabled);
                }
                // Counter streams are refused at creation for now, so no counter gets here.
                return refuse(ErrorKind::MessageIncrDisabled);
            }
            let stream = h::get_str(h::EXPECTED_STREAM, hdr);
            if !stream.is_empty() && stream != self.cfg.name {
                return refuse(ErrorKind::StreamNotMatch);
            }
            let ttl = h::get_str(h::TTL, hdr);
            if !ttl.is_empty() && h::parse_ttl(ttl) != Some(0) && !self.cfg.allow_msg_ttl {
                return refuse(ErrorKind::MessageTTLDisabled);
            }
            if let Some(want) = h::get_seq(h::EXPECTED_LAST_SUBJ_SEQ, hdr) {
                let subj = match h::get_str(h::EXPECTED_LAST_SUBJ_SEQ_SUBJ, hdr) {
                    "" => p.subject,
                    s => s,
                };
                let have = match self.store.load_last(subj) {
                    Ok(m) => Some(m.seq),
                    Err(StoreError::NotFound) if want == 0 => Some(0),
                    Err(_) => None,
                };
                if have != Some(want) {
                    let seq = have.unwrap_or(0);
                    return Outcome::Refused(ApiError::with(
                        ErrorKind::StreamWrongLastSequence,
                        &[("seq", &seq)],
                    ));
                }
            } else if !h::get_str(h::EXPECTED_LAST_SUBJ_SEQ_SUBJ, hdr).is_empty() {
                return refuse(ErrorKind::StreamExpectedLastSeqPerSubjectInvalid);
            }
            if let Some(want) = h::get_seq(h::EXPECTED_LAST_SEQ, hdr) {
                let last = self.last_seq();
                if want != last {
                    return Outcome::Refused(ApiError::with(
                        ErrorKind::StreamWrongLastSequence,
                        &[("seq", &last)],
                    ));
                }
            }
            if h::get(h::SCHEDULE, hdr).is_some_and(|v| !v.is_empty()) {
                return refuse(ErrorKind::MessageSchedulesDisabled);
            }
            msg_id = h::get_str(h::MSG_ID, hdr).to_string();
            if let Some(&seq) = self.dedup.get(&msg_id).filter(|_| !msg_id.is_empty()) {
                return Outcome::Duplicate(seq);
            }
            let last_id = h::get_str(h::EXPECTED_LAST_MSG_ID, hdr);
            if !last_id.is_empty() && last_id != self.last_msg_id {
                let last = self.last_msg_id.clone();
                return Outcome::Refused(ApiError::with(
                    ErrorKind::StreamWrongLastMsgID,
                    &[("id", &last)],
                ));
            }
            let rollup = h::get_str(h::ROLLUP, hdr);
            if !rollup.is_empty() {
                if !self.cfg.allow_rollup_hdrs || self.cfg.deny_purge {
                    return Outcome::Refused(ApiError::err(
                        ErrorKind::StreamRollupFailed,
                        "rollup not permitted",
                    ));
                }
                match rollup {
                    "sub" => rollup_sub = true,
                    "all" => rollup_all = true,
                    other => {
                        let q = serde_json::to_string(other).expect("a string serialises");
                        return Outcome::Refused(ApiError::err(
                            ErrorKind::StreamRollupFailed,
                            format!("rollup value invalid: {q}"),
                        ));
                    }
                }
            }
        }
        if self.cfg.allow_msg_counter {
            return refuse(ErrorKind::MessageIncrMissing);
        }
        let max = self.cfg.max_msg_size;
        if max >= 0
            && (hdr.len() > max as usize || p.msg.len() > (max as usize).saturating_sub(hdr.len()))
        {
            return refuse(ErrorKind::StreamMessageExceedsMaximum);
        }
        if hdr.len() > u16::MAX as usize {
            return refuse(ErrorKind::StreamHeaderExceedsMaximum);
        }
        let ttl = h::get_str(h::TTL, hdr);
        if !ttl.is_empty() && h::parse_ttl(ttl).is_none() {
            return refuse(ErrorKind::MessageTTLInvalid);
        }
        if self.cfg.retention == Retention::Interest && !interest(p.subject) {
            let seq = self.store.fast_state().last_seq + 1;
            if let Err(e) = self.store.skip(seq) {
                return Outcome::Refused(ApiError::err(ErrorKind::StreamStoreFailed, e));
            }
            self.last_msg_id = msg_id.clone();
            if !msg_id.is_empty() {
                self.dedup.insert(msg_id.clone(), seq);
                self.dedup_order.push_back((msg_id, p.ts));
            }
            return Outcome::Stored(seq);
        }
        // Republishing names the last sequence of the same subject before this one.
        let republish = self.republish.as_ref().and_then(|(t, only)| {
            let to = t.apply(p.subject)?;
            let last = self.store.load_last(p.subject).map_or(0, |m| m.seq);
            Some((to, *only, last))
        });
        let seq = match self.store.store(p.subject, hdr, p.msg, p.ts) {
            Ok(seq) => seq,
            Err(e) => return Outcome::Refused(ApiError::err(ErrorKind::StreamStoreFailed, e)),
        };
        if let Some((subject, headers_only, last)) = republish {
            self.republished.push(republished(
                &self.cfg.name,
                (subject, headers_only, last),
                &p,
                hdr,
                seq,
            ));
        }
        self.track_ttl(seq, p.ts, hdr);
        self.last_msg_id = msg_id.clone();
        if !msg_id.is_empty() {
            self.dedup.insert(msg_id.clone(), seq);
            self.dedup_order.push_back((msg_id, p.ts));
        }
        let purged = if rollup_sub {
            self.store.purge(p.subject, 0, 1)
        } else if rollup_all {
            self.store.purge("", 0, 1)
        } else {
            Ok(0)
        };
        if let Err(e) = purged {
            return Outcome::Refused(ApiError::err(ErrorKind::StreamStoreFailed, e));
        }
        Outcome::Stored(seq)
    }

    /// Stores a mirrored message at its origin sequence `seq`, as nats-server
    /// does with an expected last sequence: an empty mirror starts at `seq`,
    /// and the sequences before it that the origin no longer holds are
    /// skipped. A sequence the mirror already has is refused.
    pub fn process_at(&mut self, p: Publish<'_>, seq: u64) -> Outcome {
        let st = self.store.fast_state();
        if seq <= st.last_seq {
            return refuse(ErrorKind::StreamSequenceNotMatch);
        }
        if seq > st.last_seq + 1 {
            let skipped = if st.msgs == 0 {
                self.store.skip(seq - 1)
            } else {
                (st.last_seq + 1..seq).try_for_each(|s| self.store.skip(s))
            };
            if let Err(e) = skipped {
                return Outcome::Refused(ApiError::err(ErrorKind::StreamStoreFailed, e));
            }
        }
        self.process(p)
    }

    /// The PubAck (or its error form) for an outcome, byte for byte as nats-server writes it.
    pub fn pub_ack(&self, outcome: &Outcome) -> Vec<u8> {
        let name = serde_json::to_string(&self.cfg.name).expect("a string serialises");
        let mut out = format!("{{\"stream\":{name},");
        if !self.domain.is_empty() {
            let d = serde_json::to_string(&self.domain).expect("a string serialises");
            out.push_str(&format!("\"domain\":{d},"));
        }
        match outcome {
            Outcome::Stored(seq) => out.push_str(&format!("\"seq\":{seq}}}")),
            Outcome::Duplicate(seq) => {
                out.push_str(&format!("\"seq\":{seq},\"duplicate\": true}}"))
            }
            Outcome::Refused(e) => {
                let err = serde_json::to_string(e).expect("an error serialises");
                return format!("{{\"error\":{err},\"stream\":{name},\"seq\":0}}").into_bytes();
            }
        }
        out.into_bytes()
    }
}

/// The republished copy of a stored message, as nats-server builds it:
/// the stored headers followed by `Nats-Stream`, `Nats-Subject`,
/// `Nats-Sequence`, `Nats-Time-Stamp`, `Nats-Last-Sequence` (and
/// `Nats-Msg-Size` with `headers_only`, which sends no payload).
fn republished(
    stream: &str,
    (to, headers_only, last): (String, bool, u64),
    p: &Publish<'_>,
    hdr: &[u8],
    seq: u64,
) -> Republished {
    let mut out = if hdr.len() > 2 {
        hdr[..hdr.len() - 2].to_vec()
    } else {
        b"NATS/1.0\r\n".to_vec()
    };
    let ts = rfc3339(p.ts);
    out.extend_from_slice(
        format!(
            "Nats-Stream: {stream}\r\nNats-Subject: {}\r\nNats-Sequence: {seq}\r\nNats-Time-Stamp: {ts}\r\nNats-Last-Sequence: {last}\r\n",
            p.subject
        )
        .as_bytes(),
    );
    if headers_only {
        out.extend_from_slice(format!("Nats-Msg-Size: {}\r\n", p.msg.len()).as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    Republished {
        subject: to,
        hdr: out,
        msg: if headers_only {
            Vec::new()
        } else {
            p.msg.to_vec()
        },
    }
}

/// A time as Go's `time.RFC3339Nano` writes it in UTC: nanoseconds without
/// trailing zeros.
pub fn rfc3339(ns: i64) -> String {
    let t = chrono::DateTime::from_timestamp(
        ns.div_euclid(1_000_000_000),
        ns.rem_euclid(1_000_000_000) as u32,
    )
    .unwrap_or_default();
    let frac = ns.rem_euclid(1_000_000_000);
    let frac = if frac == 0 {
        String::new()
    } else {
        format!(".{frac:09}").trim_end_matches('0').to_string()
    };
    format!("{}{frac}Z", t.format("%Y-%m-%dT%H:%M:%S"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::{check_stream_config, CheckContext};
    use store::MemStore;

    fn stream(json: &str) -> Stream {
        let none = |_: &str| None;
        let ctx = CheckContext {
            pedantic: false,
            max_duplicate_window: 0,
            lookup: &none,
            max_bytes_required: false,
            max_bytes_limit: 0,
        };
        let cfg = check_stream_config(&serde_json::from_str(json).unwrap(), &ctx).unwrap();
        let store = Box::new(MemStore::new(store_config(&cfg)));
        Stream::new(cfg, String::new(), store)
    }

    fn publish(s: &mut Stream, subject: &str, hdr: &str, ts: i64) -> (Outcome, String) {
        let o = s.process(Publish {
            subject,
            hdr: hdr.as_bytes(),
            msg: b"x",
            ts,
        });
        let ack = String::from_utf8(s.pub_ack(&o)).unwrap();
        (o, ack)
    }

    #[test]
    fn pub_acks_dedup_and_expectations() {
        let mut s = stream(r#"{"name":"ORDERS","subjects":["o.>"]}"#);
        assert_eq!(
            publish(&mut s, "o.1", "", 1).1,
            r#"{"stream":"ORDERS","seq":1}"#
        );
        let id = "NATS/1.0\r\nNats-Msg-Id: a\r\n\r\n";
        assert_eq!(publish(&mut s, "o.1", id, 2).0, Outcome::Stored(2));
        assert_eq!(
            publish(&mut s, "o.1", id, 3).1,
            r#"{"stream":"ORDERS","seq":2,"duplicate": true}"#
        );
        // Past the two-minute window the id is new again.
        assert_eq!(
            publish(&mut s, "o.1", id, 2 + 120_000_000_000).0,
            Outcome::Stored(3)
        );
        let (_, ack) = publish(
            &mut s,
            "o.2",
            "NATS/1.0\r\nNats-Expected-Last-Sequence: 1\r\n\r\n",
            5,
        );
        assert_eq!(
            ack,
            r#"{"error":{"code":400,"err_code":10071,"description":"wrong last sequence: 3"},"stream":"ORDERS","seq":0}"#
        );
        let (o, _) = publish(
            &mut s,
            "o.2",
            "NATS/1.0\r\nNats-Expected-Last-Subject-Sequence: 0\r\n\r\n",
            5,
        );
        assert_eq!(o, Outcome::Stored(4));
        let (o, _) = publish(
            &mut s,
            "o.1",
            "NATS/1.0\r\nNats-Expected-Last-Subject-Sequence: 2\r\n\r\n",
            5,
        );
        assert_eq!(
            o,
            Outcome::Refused(ApiError::with(
                ErrorKind::StreamWrongLastSequence,
                &[("seq", &3)]
            ))
        );
        let (o, _) = publish(
            &mut s,
            "o.1",
            "NATS/1.0\r\nNats-Expected-Stream: OTHER\r\n\r\n",
            5,
        );
        assert_eq!(o, refuse(ErrorKind::StreamNotMatch));
        let (o, _) = publish(
            &mut s,
            "o.1",
            "NATS/1.0\r\nNats-Expected-Last-Msg-Id: zz\r\n\r\n",
            5,
        );
        assert_eq!(
            o,
            Outcome::Refused(ApiError::with(
                ErrorKind::StreamWrongLastMsgID,
                &[("id", &"")]
            ))
        );
        let (o, _) = publish(&mut s, "o.1", "NATS/1.0\r\nNats-Rollup: sub\r\n\r\n", 5);
        assert_eq!(
            o,
            Outcome::Refused(ApiError::err(
                ErrorKind::StreamRollupFailed,
                "rollup not permitted"
            ))
        );
        let (o, _) = publish(&mut s, "o.1", "NATS/1.0\r\nNats-TTL: 10s\r\n\r\n", 5);
        assert_eq!(o, refuse(ErrorKind::MessageTTLDisabled));
    }

    #[test]
    fn rollups_sealed_and_sizes() {
        let mut s = stream(
            r#"{"name":"KV","subjects":["kv.>"],"allow_rollup_hdrs":true,"max_msg_size":8}"#,
        );
        for _ in 0..3 {
            publish(&mut s, "kv.a", "", 1);
            publish(&mut s, "kv.b", "", 1);
        }
        let (o, _) = publish(&mut s, "kv.a", "NATS/1.0\r\nNats-Rollup: sub\r\n\r\n", 2);
        assert_eq!(
            o,
            refuse(ErrorKind::StreamMessageExceedsMaximum),
            "headers count toward max_msg_size"
        );
        s.cfg.max_msg_size = -1;
        assert_eq!(
            publish(&mut s, "kv.a", "NATS/1.0\r\nNats-Rollup: sub\r\n\r\n", 2).0,
            Outcome::Stored(7)
        );
        assert_eq!(s.store.filtered_state(0, "kv.a").msgs, 1);
        assert_eq!(s.store.filtered_state(0, "kv.b").msgs, 3);
        assert_eq!(
            publish(&mut s, "kv.b", "NATS/1.0\r\nNats-Rollup: all\r\n\r\n", 2).0,
            Outcome::Stored(8)
        );
        assert_eq!(s.store.state().msgs, 1);
        let (o, _) = publish(&mut s, "kv.b", "NATS/1.0\r\nNats-Rollup: some\r\n\r\n", 2);
        assert_eq!(
            o,
            Outcome::Refused(ApiError::err(
                ErrorKind::StreamRollupFailed,
                r#"rollup value invalid: "some""#
            ))
        );
        s.cfg.sealed = true;
        assert_eq!(
            publish(&mut s, "kv.b", "", 2).0,
            refuse(ErrorKind::StreamSealed)
        );
    }

    #[test]
    fn dedup_window_survives_a_rebuild() {
        let mut s = stream(r#"{"name":"S","subjects":["s"]}"#);
        let id = "NATS/1.0\r\nNats-Msg-Id: a\r\n\r\n";
        assert_eq!(publish(&mut s, "s", id, 10).0, Outcome::Stored(1));
        s.rebuild_dedup(20);
        assert_eq!(publish(&mut s, "s", id, 30).0, Outcome::Duplicate(1));
        let (o, _) = publish(
            &mut s,
            "s",
            "NATS/1.0\r\nNats-Expected-Last-Msg-Id: a\r\n\r\n",
            31,
        );
        assert_eq!(o, Outcome::Stored(2));
        s.rebuild_dedup(10 + 120_000_000_000);
        assert_eq!(
            publish(&mut s, "s", id, 10 + 120_000_000_000).0,
            Outcome::Stored(3),
            "outside the window"
        );
    }

    #[test]
    fn discard_new_refusals_are_store_failures() {
        let mut s = stream(r#"{"name":"S","max_msgs":1,"discard":"new"}"#);
        assert_eq!(publish(&mut s, "S", "", 1).0, Outcome::Stored(1));
        let (_, ack) = publish(&mut s, "S", "", 2);
        assert_eq!(
            ack,
            r#"{"error":{"code":503,"err_code":10077,"description":"maximum messages exceeded"},"stream":"S","seq":0}"#
        );
    }
}
