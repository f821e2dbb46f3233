//! A consumer's delivery and ack state: what was delivered, what waits for
//! its ack, what is due for redelivery, and the ack floor, with nats-server
//! 2.12.4's rules. Deterministic: time comes in as arguments, and every change
//! that must survive a restart is also emitted as a [`Record`] for the
//! consumer's state log.

use super::config::{AckPolicy, ConsumerConfig};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// A consumer and a stream sequence.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SeqPair {
    /// Consumer (delivery) sequence.
    pub consumer: u64,
    /// Stream sequence.
    pub stream: u64,
}

/// A delivery waiting for its ack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pending {
    /// Its consumer sequence.
    pub cseq: u64,
    /// When it was (last) delivered, nanoseconds; redelivery is due `ack_wait` later.
    pub ts: i64,
    /// When it is due for redelivery.
    pub due: i64,
}

/// One durable change of state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Record {
    /// A message was delivered (`dc` is its delivery count).
    Delivered {
        sseq: u64,
        cseq: u64,
        dc: u64,
        ts: i64,
    },
    /// A delivery was acked (or terminated).
    Acked { sseq: u64, cseq: u64 },
    /// `ack: all`: every delivery up to these sequences was acked.
    AckedUpTo { sseq: u64, cseq: u64 },
    /// A delivery was given up at `max_deliver` after `dc` deliveries.
    GaveUp { sseq: u64, dc: u64 },
    /// The head of a snapshot: the last delivery and the ack floor.
    Base { delivered: SeqPair, floor: SeqPair },
}

/// What an ack body asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AckKind {
    /// `+ACK` or empty.
    Ack,
    /// `-NAK`, with an optional delay in nanoseconds.
    Nak(Option<i64>),
    /// `+WPI`: still working.
    Progress,
    /// `+NXT`: ack, then a pull request (the rest of the body).
    Next(Vec<u8>),
    /// `+TERM`, with an optional reason.
    Term(String),
}

impl AckKind {
    /// Parses an ack body as nats-server does; `None` for bodies it ignores.
    pub fn parse(body: &[u8]) -> Option<AckKind> {
        let trimmed = body.trim_ascii();
        if trimmed.is_empty() || body.starts_with(b"+ACK") {
            return Some(AckKind::Ack);
        }
        if let Some(rest) = body.strip_prefix(b"-NAK") {
            let rest = rest.trim_ascii();
            if rest.is_empty() {
                return Some(AckKind::Nak(None));
            }
            if rest.starts_with(b"{") {
                #[derive(serde::Deserialize)]
                struct Opts {
                    #[serde(default)]
                    delay: i64,
                }
                return Some(AckKind::Nak(
                    serde_json::from_slice::<Opts>(rest)
                        .ok()
                        .map(|o| o.delay)
                        .filter(|d| *d > 0),
                ));
            }
            let d = std::str::from_utf8(rest)
                .ok()
                .and_then(conf::parse_go_duration)
                .map(|d| d.as_nanos() as i64);
            return Some(AckKind::Nak(d.filter(|d| *d > 0)));
        }
        if body.starts_with(b"+WPI") {
            return Some(AckKind::Progress);
        }
        if let Some(rest) = body.strip_prefix(b"+NXT") {
            return Some(AckKind::Next(rest.trim_ascii().to_vec()));
        }
        if let Some(rest) = body.strip_prefix(b"+TERM") {
            let reason = String::from_utf8_lossy(rest.trim_ascii()).into_owned();
            return Some(AckKind::Term(reason));
        }
        None
    }
}

/// The parts of a `$JS.ACK.…` reply subject.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AckReply {
    /// Delivery count.
    pub dc: u64,
    /// Stream sequence.
    pub sseq: u64,
    /// Consumer sequence.
    pub cseq: u64,
    /// Delivery time, nanoseconds.
    pub ts: i64,
    /// Messages pending after it.
    pub pending: u64,
}

/// Splits `$JS.ACK.<stream>.<consumer>.<dc>.<sseq>.<cseq>.<ts>.<pending>`
/// (or the 12-token form with domain and account hash) into stream,
/// consumer and numbers.
pub fn parse_ack_subject(subject: &str) -> Option<(&str, &str, AckReply)> {
    let t: Vec<&str> = subject.split('.').collect();
    if t.len() < 2 || t[0] != "$JS" || t[1] != "ACK" {
        return None;
    }
    let (stream, consumer, nums) = match t.len() {
        9 => (t[2], t[3], &t[4..9]),
        12 => (t[4], t[5], &t[6..11]),
        _ => return None,
    };
    let n = |i: usize| nums[i].parse::<u64>().ok();
    Some((
        stream,
        consumer,
        AckReply {
            dc: n(0)?,
            sseq: n(1)?,
            cseq: n(2)?,
            ts: nums[3].parse().ok()?,
            pending: n(4)?,
        },
    ))
}

/// What an ack changed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AckEffect {
    /// Stream sequences acked now (a workqueue or interest stream may drop them).
    pub acked: Vec<u64>,
    /// The ack reached the consumer: it gets its AckAck (after a sync).
    pub reply: bool,
}

/// The delivery and ack state of one consumer.
#[derive(Clone, Debug, Default)]
pub struct State {
    /// The last delivery (stream sequence: where the consumer started, before any).
    pub delivered: SeqPair,
    /// Everything at or below is acked.
    pub ack_floor: SeqPair,
    /// Deliveries waiting for their acks, by stream sequence.
    pub pending: BTreeMap<u64, Pending>,
    /// Redelivery counts (deliveries minus one), by stream sequence.
    pub redelivered: BTreeMap<u64, u64>,
    /// The next stream sequence to look at for a first delivery.
    pub sseq: u64,
    /// Due for redelivery, in order.
    rdq: VecDeque<u64>,
    in_rdq: BTreeSet<u64>,
    /// Changes not yet written to the state log.
    pub records: Vec<Record>,
}

impl State {
    /// A fresh state that starts delivering at stream sequence `start`.
    pub fn starting_at(start: u64) -> State {
        let start = start.max(1);
        let mut st = State {
            delivered: SeqPair {
                consumer: 0,
                stream: start - 1,
            },
            sseq: start,
            ..State::default()
        };
        st.records.push(Record::Base {
            delivered: st.delivered,
            floor: st.ack_floor,
        });
        st
    }

    /// Applies a record read back from the state log (nats-server's store rules).
    pub fn replay(&mut self, r: Record, ack_wait: i64) {
        match r {
            Record::Base { delivered, floor } => {
                self.delivered = delivered;
                self.ack_floor = floor;
                self.pending.retain(|s, _| *s > floor.stream);
                self.redelivered.retain(|s, _| *s > floor.stream);
            }
            Record::Delivered { sseq, cseq, dc, ts } => {
                if cseq <= self.ack_floor.consumer {
                    return;
                }
                if sseq > self.delivered.stream {
                    self.pending.insert(
                        sseq,
                        Pending {
                            cseq,
                            ts,
                            due: ts.saturating_add(ack_wait),
                        },
                    );
                } else if let Some(p) = self.pending.get_mut(&sseq) {
                    p.ts = ts;
                    p.cseq = cseq;
                }
                self.delivered.consumer = self.delivered.consumer.max(cseq);
                self.delivered.stream = self.delivered.stream.max(sseq);
                if dc > 1 {
                    let r = self.redelivered.entry(sseq).or_insert(0);
                    *r = (*r).max(dc - 1);
                }
            }
            Record::Acked { sseq, cseq } => {
                self.ack_explicit(sseq, cseq);
            }
            Record::AckedUpTo { sseq, cseq } => {
                self.ack_all(sseq, cseq);
            }
            Record::GaveUp { sseq, dc } => {
                self.pending.remove(&sseq);
                self.redelivered.insert(sseq, dc);
            }
        }
    }

    /// After recovery: delivery resumes past the last delivery, and every
    /// pending delivery is due again at once.
    pub fn recovered(&mut self) {
        self.sseq = self.delivered.stream + 1;
        self.records.clear();
        let due: Vec<u64> = self.pending.keys().copied().collect();
        for s in due {
            self.queue_redelivery(s);
        }
    }

    fn queue_redelivery(&mut self, sseq: u64) {
        if self.in_rdq.insert(sseq) {
            self.rdq.push_back(sseq);
        }
    }

    fn unqueue(&mut self, sseq: u64) {
        if self.in_rdq.remove(&sseq) {
            self.rdq.retain(|s| *s != sseq);
        }
    }

    /// Records a delivery of `sseq` (stored at `msg_ts`) at `now`, due for
    /// redelivery `wait` later; returns (consumer sequence, delivery count).
    pub fn deliver(&mut self, sseq: u64, msg_ts: i64, now: i64, wait: i64) -> (u64, u64) {
        self.delivered.consumer += 1;
        let cseq = self.delivered.consumer;
        let dc = self.redelivered.get(&sseq).map_or(1, |r| r + 1);
        self.delivered.stream = self.delivered.stream.max(sseq);
        if sseq >= self.sseq {
            self.sseq = sseq + 1;
        }
        let due = now.saturating_add(wait);
        self.pending
            .entry(sseq)
            .and_modify(|p| {
                p.ts = now;
                p.due = due;
            })
            .or_insert(Pending { cseq, ts: now, due });
        self.records.push(Record::Delivered {
            sseq,
            cseq,
            dc,
            ts: msg_ts,
        });
        (cseq, dc)
    }

    /// A delivery under `ack: none`: nothing waits for an ack.
    pub fn deliver_no_ack(&mut self, sseq: u64, msg_ts: i64) -> u64 {
        self.delivered.consumer += 1;
        self.delivered.stream = self.delivered.stream.max(sseq);
        if sseq >= self.sseq {
            self.sseq = sseq + 1;
        }
        self.ack_floor = self.delivered;
        self.records.push(Record::Base {
            delivered: self.delivered,
            floor: self.ack_floor,
        });
        let _ = msg_ts;
        self.delivered.consumer
    }

    /// Moves the scan past stream sequences up to `sseq` without delivering.
    pub fn skip_to(&mut self, sseq: u64) {
        if sseq >= self.sseq {
            self.sseq = sseq + 1;
        }
    }

    /// Undoes the scan step of a first delivery that found no taker.
    pub fn unfetch(&mut self, sseq: u64, redelivery: bool) {
        if redelivery {
            if let Some(r) = self.redelivered.get_mut(&sseq) {
                *r = r.saturating_sub(1);
                if *r == 0 {
                    self.redelivered.remove(&sseq);
                }
            }
            if self.in_rdq.insert(sseq) {
                self.rdq.push_front(sseq);
            }
        } else if self.sseq == sseq + 1 {
            self.sseq = sseq;
        }
    }

    /// The next redelivery due, if any. Deliveries that reached
    /// `max_deliver` are given up (pushed to `exceeded` with their count).
    pub fn next_redelivery(
        &mut self,
        max_deliver: i64,
        exceeded: &mut Vec<(u64, u64)>,
    ) -> Option<u64> {
        while let Some(sseq) = self.rdq.pop_front() {
            self.in_rdq.remove(&sseq);
            if !self.pending.contains_key(&sseq) {
                continue;
            }
            let r = self.redelivered.entry(sseq).or_insert(0);
            *r += 1;
            let deliveries = *r;
            if max_deliver > 0 && deliveries as i64 >= max_deliver {
                self.pending.remove(&sseq);
                exceeded.push((sseq, deliveries));
                self.records.push(Record::GaveUp {
                    sseq,
                    dc: deliveries,
                });
                continue;
            }
            return Some(sseq);
        }
        None
    }

    /// Whether a redelivery is queued.
    pub fn has_redelivery(&self) -> bool {
        !self.rdq.is_empty()
    }

    /// How many redeliveries are queued.
    pub fn redeliveries_queued(&self) -> usize {
        self.rdq.len()
    }

    /// Queues every delivery whose ack is overdue at `now`.
    pub fn check_due(&mut self, now: i64) {
        let due: Vec<u64> = self
            .pending
            .iter()
            .filter(|(s, p)| p.due <= now && !self.in_rdq.contains(s))
            .map(|(s, _)| *s)
            .collect();
        for s in due {
            self.queue_redelivery(s);
        }
    }

    /// The earliest redelivery deadline among pending deliveries not yet queued.
    pub fn next_due(&self) -> Option<i64> {
        self.pending
            .iter()
            .filter(|(s, _)| !self.in_rdq.contains(s))
            .map(|(_, p)| p.due)
            .min()
    }

    /// The stream was purged: the consumer moves to `start`, as
    /// nats-server's consumer purge does. With `wider` (the consumer's
    /// filters are wider than the purge's), pending deliveries whose message
    /// is gone (`gone`) are dropped too.
    pub fn purged(&mut self, start: u64, wider: bool, gone: &dyn Fn(u64) -> bool) {
        if self.sseq < start {
            self.sseq = start;
        }
        if self.ack_floor.stream < start {
            self.ack_floor.stream = start.saturating_sub(1);
            let floor = self.ack_floor.stream;
            let drop: Vec<u64> = self
                .pending
                .iter()
                .filter(|(s, _)| **s <= floor || (wider && gone(**s)))
                .map(|(s, _)| *s)
                .collect();
            for s in drop {
                if let Some(p) = self.pending.remove(&s) {
                    self.ack_floor.consumer = self.ack_floor.consumer.max(p.cseq);
                }
                self.redelivered.remove(&s);
            }
        }
        self.delivered.stream = self.sseq.saturating_sub(1);
        if self.pending.is_empty() {
            self.redelivered.clear();
            self.ack_floor = SeqPair {
                consumer: self.delivered.consumer,
                stream: self.sseq.saturating_sub(1),
            };
        }
        self.rdq.clear();
        self.in_rdq.clear();
        let snap = self.snapshot();
        self.records.extend(snap);
    }

    /// Drops a pending delivery whose message left the stream.
    pub fn forget(&mut self, sseq: u64) {
        if let Some(p) = self.pending.get(&sseq).copied() {
            self.ack_explicit(sseq, p.cseq);
            self.records.push(Record::Acked { sseq, cseq: p.cseq });
        }
    }

    /// The store's explicit ack rule; returns whether `sseq` was pending.
    fn ack_explicit(&mut self, sseq: u64, cseq: u64) -> bool {
        self.redelivered.remove(&sseq);
        self.unqueue(sseq);
        if cseq <= self.ack_floor.consumer && cseq != 0 {
            return false;
        }
        let Some(p) = self.pending.remove(&sseq) else {
            return false;
        };
        let cseq = if p.cseq > 0 { p.cseq } else { cseq };
        if self.pending.is_empty() {
            self.ack_floor = self.delivered;
        } else if cseq == self.ack_floor.consumer + 1 {
            self.ack_floor = SeqPair {
                consumer: cseq,
                stream: sseq,
            };
            if let Some((&s, q)) = self.pending.range(sseq + 1..).next() {
                if q.cseq > 0 {
                    self.ack_floor = SeqPair {
                        consumer: q.cseq - 1,
                        stream: s - 1,
                    };
                }
            }
        }
        true
    }

    /// The `ack: all` rule; returns the pending sequences it removed.
    fn ack_all(&mut self, sseq: u64, cseq: u64) -> Vec<u64> {
        if cseq <= self.ack_floor.consumer || sseq <= self.ack_floor.stream {
            return Vec::new();
        }
        let acked: Vec<u64> = self.pending.range(..=sseq).map(|(s, _)| *s).collect();
        for s in &acked {
            self.pending.remove(s);
            self.redelivered.remove(s);
            self.unqueue(*s);
        }
        self.ack_floor = SeqPair {
            consumer: cseq,
            stream: sseq,
        };
        acked
    }

    /// Applies an ack of the delivery `(sseq, cseq)` under `policy`.
    pub fn ack(&mut self, policy: AckPolicy, sseq: u64, cseq: u64) -> AckEffect {
        if sseq == 0 || sseq >= self.sseq {
            return AckEffect::default();
        }
        match policy {
            AckPolicy::None => AckEffect::default(),
            AckPolicy::Explicit => {
                let cseq = self.pending.get(&sseq).map_or(cseq, |p| p.cseq);
                if self.ack_explicit(sseq, cseq) {
                    self.records.push(Record::Acked { sseq, cseq });
                }
                AckEffect {
                    acked: vec![sseq],
                    reply: true,
                }
            }
            AckPolicy::All => {
                if cseq <= self.ack_floor.consumer || sseq <= self.ack_floor.stream {
                    return AckEffect {
                        acked: Vec::new(),
                        reply: true,
                    };
                }
                let from = self.ack_floor.stream + 1;
                let removed = self.ack_all(sseq, cseq);
                self.records.push(Record::AckedUpTo { sseq, cseq });
                let low = removed.first().copied().unwrap_or(sseq).max(from);
                AckEffect {
                    acked: (low..=sseq).collect(),
                    reply: true,
                }
            }
        }
    }

    /// `-NAK`: redeliver now, or `delay` from now. False when not pending.
    pub fn nak(&mut self, sseq: u64, cseq: u64, now: i64, delay: Option<i64>) -> bool {
        if cseq <= self.ack_floor.consumer || cseq > self.delivered.consumer {
            return false;
        }
        let Some(p) = self.pending.get_mut(&sseq) else {
            return false;
        };
        match delay {
            Some(d) => {
                p.due = now.saturating_add(d);
                self.unqueue(sseq);
            }
            None => self.queue_redelivery(sseq),
        }
        true
    }

    /// `+WPI`: the ack wait starts again.
    pub fn progress(&mut self, sseq: u64, now: i64, wait: i64) -> bool {
        let Some(p) = self.pending.get_mut(&sseq) else {
            return false;
        };
        p.due = now.saturating_add(wait);
        true
    }

    /// A snapshot of the durable state, for compaction of the state log.
    pub fn snapshot(&self) -> Vec<Record> {
        let mut out = vec![Record::Base {
            delivered: SeqPair {
                consumer: self.ack_floor.consumer,
                stream: self.ack_floor.stream,
            },
            floor: self.ack_floor,
        }];
        for (s, p) in &self.pending {
            out.push(Record::Delivered {
                sseq: *s,
                cseq: p.cseq,
                dc: self.redelivered.get(s).map_or(1, |r| r + 1),
                ts: p.ts,
            });
        }
        for (s, r) in &self.redelivered {
            if !self.pending.contains_key(s) {
                out.push(Record::GaveUp { sseq: *s, dc: *r });
            }
        }
        out.push(Record::Base {
            delivered: self.delivered,
            floor: self.ack_floor,
        });
        out
    }

    /// The ack wait of a delivery with count `dc` under `cfg` (backoff first).
    pub fn wait_for(cfg: &ConsumerConfig, dc: u64) -> i64 {
        if !cfg.backoff.is_empty() {
            let i = (dc.saturating_sub(1) as usize).min(cfg.backoff.len() - 1);
            return cfg.backoff[i];
        }
        cfg.ack_wait
    }
}

impl Record {
    /// The record's bytes in the state log.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(33);
        let mut put = |tag: u8, nums: &[u64]| {
            out.push(tag);
            for n in nums {
                out.extend_from_slice(&n.to_le_bytes());
            }
        };
        match *self {
            Record::Delivered { sseq, cseq, dc, ts } => put(1, &[sseq, cseq, dc, ts as u64]),
            Record::Acked { sseq, cseq } => put(2, &[sseq, cseq]),
            Record::AckedUpTo { sseq, cseq } => put(3, &[sseq, cseq]),
            Record::GaveUp { sseq, dc } => put(4, &[sseq, dc]),
            Record::Base { delivered, floor } => put(
                5,
                &[
                    delivered.consumer,
                    delivered.stream,
                    floor.consumer,
                    floor.stream,
                ],
            ),
        }
        out
    }

    /// Reads a record back; `None` for bytes that are not one.
    pub fn decode(b: &[u8]) -> Option<Record> {
        let n = |i: usize| -> Option<u64> {
            Some(u64::from_le_bytes(
                b.get(1 + 8 * i..9 + 8 * i)?.try_into().ok()?,
            ))
        };
        Some(match (b.first()?, b.len()) {
            (1, 33) => Record::Delivered {
                sseq: n(0)?,
                cseq: n(1)?,
                dc: n(2)?,
                ts: n(3)? as i64,
            },
            (2, 17) => Record::Acked {
                sseq: n(0)?,
                cseq: n(1)?,
            },
            (3, 17) => Record::AckedUpTo {
                sseq: n(0)?,
                cseq: n(1)?,
            },
            (4, 17) => Record::GaveUp {
                sseq: n(0)?,
                dc: n(1)?,
            },
            (5, 33) => Record::Base {
                delivered: SeqPair {
                    consumer: n(0)?,
                    stream: n(1)?,
                },
                floor: SeqPair {
                    consumer: n(2)?,
                    stream: n(3)?,
                },
            },
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn replayed(st: &State, wait: i64) -> State {
        let mut r = State::default();
        for rec in st.snapshot() {
            r.replay(Record::decode(&rec.encode()).expect("decodes"), wait);
        }
        r.recovered();
        r
    }

    #[test]
    fn ack_floor_follows_go_rules() {
        let mut st = State::starting_at(1);
        assert_eq!(st.ack_floor, SeqPair::default());
        for s in 1..=4 {
            st.deliver(s, 0, 0, 10);
        }
        assert_eq!(
            st.delivered,
            SeqPair {
                consumer: 4,
                stream: 4
            }
        );
        // Out of order: the floor does not move.
        st.ack(AckPolicy::Explicit, 2, 2);
        assert_eq!(st.ack_floor, SeqPair::default());
        // The oldest: the floor jumps below the next pending one.
        st.ack(AckPolicy::Explicit, 1, 1);
        assert_eq!(
            st.ack_floor,
            SeqPair {
                consumer: 2,
                stream: 2
            }
        );
        st.ack(AckPolicy::Explicit, 4, 4);
        st.ack(AckPolicy::Explicit, 3, 3);
        assert_eq!(st.ack_floor, st.delivered);
        // Not yet delivered: no reply, nothing changes.
        assert_eq!(st.ack(AckPolicy::Explicit, 9, 9), AckEffect::default());
        // Already acked: a reply, no change.
        assert!(st.ack(AckPolicy::Explicit, 1, 1).reply);
    }

    #[test]
    fn ack_all_and_redelivery() {
        let mut st = State::starting_at(1);
        for s in 1..=3 {
            st.deliver(s, 0, 0, 10);
        }
        let e = st.ack(AckPolicy::All, 2, 2);
        assert_eq!(e.acked, vec![1, 2]);
        assert_eq!(st.pending.len(), 1);
        st.check_due(10);
        let mut exceeded = Vec::new();
        assert_eq!(st.next_redelivery(2, &mut exceeded), Some(3));
        st.deliver(3, 0, 20, 10);
        assert_eq!(st.redelivered.get(&3), Some(&1));
        // Second expiry with max_deliver 2: given up, kept as redelivered.
        st.check_due(30);
        assert_eq!(st.next_redelivery(2, &mut exceeded), None);
        assert_eq!(exceeded, vec![(3, 2)]);
        assert!(st.pending.is_empty());
        assert_eq!(st.redelivered.get(&3), Some(&2));
    }

    #[test]
    fn snapshot_and_log_replay_agree() {
        let mut st = State::starting_at(5);
        let mut log = st.records.clone();
        for s in 5..=12 {
            st.deliver(s, s as i64, 0, 100);
        }
        st.ack(AckPolicy::Explicit, 5, 1);
        st.ack(AckPolicy::Explicit, 7, 3);
        st.nak(6, 2, 1, None);
        let mut ex = Vec::new();
        let s = st.next_redelivery(-1, &mut ex).unwrap();
        st.deliver(s, 0, 2, 100);
        log.append(&mut st.records);
        let from_snap = replayed(&st, 100);
        let mut from_log = State::default();
        for r in &log {
            from_log.replay(*r, 100);
        }
        from_log.recovered();
        for r in [&from_snap, &from_log] {
            assert_eq!(r.delivered, st.delivered);
            assert_eq!(r.ack_floor, st.ack_floor);
            assert_eq!(
                r.pending.keys().collect::<Vec<_>>(),
                st.pending.keys().collect::<Vec<_>>()
            );
            assert_eq!(r.redelivered, st.redelivered);
            assert_eq!(r.sseq, 13);
            // Everything pending is due again after a restart.
            assert_eq!(r.redeliveries_queued(), st.pending.len());
        }
    }

    #[test]
    fn ack_bodies_and_subjects() {
        assert_eq!(AckKind::parse(b""), Some(AckKind::Ack));
        assert_eq!(AckKind::parse(b"+ACK"), Some(AckKind::Ack));
        assert_eq!(AckKind::parse(b"-NAK"), Some(AckKind::Nak(None)));
        assert_eq!(
            AckKind::parse(br#"-NAK {"delay":5000}"#),
            Some(AckKind::Nak(Some(5000)))
        );
        assert_eq!(
            AckKind::parse(b"-NAK 1s"),
            Some(AckKind::Nak(Some(1_000_000_000)))
        );
        assert_eq!(AckKind::parse(b"+WPI"), Some(AckKind::Progress));
        assert_eq!(
            AckKind::parse(b"+TERM gone"),
            Some(AckKind::Term("gone".into()))
        );
        assert_eq!(AckKind::parse(b"nonsense"), None);
        let (s, c, r) = parse_ack_subject("$JS.ACK.S.C.2.10.7.1700000000.3").unwrap();
        assert_eq!(
            (s, c, r.dc, r.sseq, r.cseq, r.pending),
            ("S", "C", 2, 10, 7, 3)
        );
        assert!(parse_ack_subject("$JS.ACK.S.C.x.10.7.1.3").is_none());
        assert!(parse_ack_subject("$JS.ACK.S.C.1.2").is_none());
    }
}
