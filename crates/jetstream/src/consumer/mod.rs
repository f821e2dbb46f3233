//! Consumers: configuration, defaults and checks, the delivery and ack state
//! machine, and the pull request queue. Deterministic and without IO: the
//! server passes the stream's store, the time and an interest check in, and
//! sends what comes out.

pub mod config;
mod pause;
mod pending;
mod priority;
mod push;
mod start;
pub mod state;
pub mod validate;

use pause::pause_nanos;
pub use start::parse_time;
use start::{last_seqs, start_seq};

use config::{AckPolicy, ConsumerConfig, DeliverPolicy, NextRequest, PriorityPolicy};
use state::{AckKind, State};
use std::collections::VecDeque;
use store::{MsgStore, StoredMsg};

/// A pull request waiting for messages.
#[derive(Clone, Debug)]
pub struct Waiting {
    /// Where messages and statuses go.
    pub reply: String,
    /// Messages still wanted.
    pub n: i64,
    /// Messages delivered to it.
    pub d: i64,
    /// Bytes still allowed (0: no limit).
    pub b: i64,
    /// When it ends, nanoseconds (0: never).
    pub expires: i64,
    /// Heartbeat interval (0: none).
    pub hb: i64,
    /// Next heartbeat, nanoseconds.
    pub hbt: i64,
    /// Ends as soon as the stream has no more.
    pub no_wait: bool,
    /// Overflow: only served while this many messages are pending (0: any).
    pub min_pending: i64,
    /// Overflow: only served while this many acks are pending (0: any).
    pub min_ack_pending: i64,
    /// Prioritized: lower goes first (0 to 9).
    pub priority: i64,
}

/// What a consumer wants sent.
#[derive(Clone, Debug)]
pub enum Out {
    /// A stored message, to `to`, with the ack reply subject.
    Msg {
        /// The destination (the pull request's reply).
        to: String,
        /// The `$JS.ACK…` subject.
        ack: String,
        /// The stored subject.
        subject: std::sync::Arc<str>,
        /// The header block (empty: none).
        hdr: bytes::Bytes,
        /// The payload.
        body: bytes::Bytes,
    },
    /// A status-only message (headers only), to `to`.
    Status {
        /// The destination.
        to: String,
        /// The header block, `NATS/1.0 …\r\n…\r\n\r\n`.
        hdr: String,
    },
    /// A status that wants an answer (a flow control request), to `to`.
    Control {
        /// The destination.
        to: String,
        /// Where the answer goes (`$JS.FC.<stream>.<consumer>.<id>`).
        reply: String,
        /// The header block.
        hdr: String,
    },
}

/// Something a consumer did that JetStream advises about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Advisory {
    /// A message reached `max_deliver` (stream sequence, deliveries).
    MaxDeliveries(u64, u64),
    /// A message was terminated (stream sequence, deliveries, reason).
    Terminated(u64, u64, String),
    /// A message was nak'ed (stream sequence, deliveries).
    Nak(u64, u64),
}

/// The result of handling an ack.
#[derive(Debug, Default)]
pub struct AckResult {
    /// Stream sequences acked now.
    pub acked: Vec<u64>,
    /// An AckAck is due (after the sync of the consumer's state).
    pub reply: bool,
    /// A pull request carried by `+NXT`.
    pub next: Option<Vec<u8>>,
    /// Advisories to publish.
    pub advisories: Vec<Advisory>,
}

/// One consumer of a stream.
#[derive(Clone, Debug)]
pub struct Consumer {
    /// Its stream.
    pub stream: String,
    /// Its name.
    pub name: String,
    /// Its configuration, defaults applied.
    pub cfg: ConsumerConfig,
    /// When it was created, nanoseconds.
    pub created: i64,
    /// Delivery and ack state.
    pub state: State,
    /// Waiting pull requests, oldest first.
    pub waiting: VecDeque<Waiting>,
    /// Last activity (delivery, ack or request), nanoseconds.
    pub last_active: i64,
    /// Last delivery time, nanoseconds (0: none).
    pub last_delivered: i64,
    /// Last ack time, nanoseconds (0: none).
    pub last_ack: i64,
    /// Last idle heartbeat of a push consumer, nanoseconds.
    pub last_hb: i64,
    /// `last_per_subject`: the last message of each subject, delivered
    /// first, then the stream from `lss_resume + 1`.
    lss: VecDeque<u64>,
    lss_resume: u64,
    from_lss: bool,
    filters: Vec<String>,
    /// `pause_until` in nanoseconds (0: not paused).
    paused_until: i64,
    /// A pump found it paused: it is due again when the pause ends.
    pause_blocked: bool,
    /// Flow control of a push consumer.
    flow: push::Flow,
    /// The last `num_pending` count and what it was counted against.
    pending_memo: std::cell::Cell<Option<pending::PendingMemo>>,
}

/// What the next message source gave.
enum Next {
    Msg(StoredMsg, bool),
    End,
    Stalled,
}

/// An idle heartbeat with the last delivered consumer and stream
/// sequences, and the unanswered flow control request when `stalled` names one.
fn heartbeat(consumer: u64, stream: u64, stalled: &str) -> String {
    let mut hdr = format!(
        "NATS/1.0 100 Idle Heartbeat\r\nNats-Last-Consumer: {consumer}\r\nNats-Last-Stream: {stream}\r\n"
    );
    if !stalled.is_empty() {
        hdr.push_str(&format!("Nats-Consumer-Stalled: {stalled}\r\n"));
    }
    hdr.push_str("\r\n");
    hdr
}

fn status(code: u16, text: &str) -> String {
    format!("NATS/1.0 {code} {text}\r\n\r\n")
}

impl Consumer {
    /// A new consumer of `store` that starts as its deliver policy says.
    pub fn new(
        stream: &str,
        name: &str,
        cfg: ConsumerConfig,
        created: i64,
        store: &dyn MsgStore,
    ) -> Consumer {
        let filters = cfg.filters();
        let start = start_seq(&cfg, &filters, store);
        let mut lss = VecDeque::new();
        let mut lss_resume = 0;
        if cfg.deliver_policy == DeliverPolicy::LastPerSubject {
            let mut seqs = last_seqs(&filters, store);
            seqs.retain(|s| *s >= start);
            lss = seqs.into();
            lss_resume = store.fast_state().last_seq;
        }
        let paused_until = pause_nanos(&cfg);
        let flow = push::Flow::new(&cfg);
        Consumer {
            stream: stream.to_string(),
            name: name.to_string(),
            cfg,
            created,
            state: State::starting_at(start),
            waiting: VecDeque::new(),
            last_active: created,
            last_delivered: 0,
            last_ack: 0,
            last_hb: 0,
            lss,
            lss_resume,
            from_lss: false,
            paused_until,
            pause_blocked: false,
            flow,
            pending_memo: Default::default(),
            filters,
        }
    }

    /// A consumer restored from its state log.
    pub fn restored(
        stream: &str,
        name: &str,
        cfg: ConsumerConfig,
        created: i64,
        state: State,
    ) -> Consumer {
        let filters = cfg.filters();
        let mut state = state;
        state.recovered();
        let paused_until = pause_nanos(&cfg);
        let flow = push::Flow::new(&cfg);
        Consumer {
            stream: stream.to_string(),
            name: name.to_string(),
            cfg,
            created,
            state,
            waiting: VecDeque::new(),
            last_active: created,
            last_delivered: 0,
            last_ack: 0,
            last_hb: 0,
            lss: VecDeque::new(),
            lss_resume: 0,
            from_lss: false,
            paused_until,
            pause_blocked: false,
            flow,
            pending_memo: Default::default(),
            filters,
        }
    }

    /// Replaces the configuration (an update that passed its checks).
    pub fn set_config(&mut self, cfg: ConsumerConfig) {
        self.filters = cfg.filters();
        self.paused_until = pause_nanos(&cfg);
        if cfg.flow_control != self.cfg.flow_control {
            self.flow = push::Flow::new(&cfg);
        }
        self.cfg = cfg;
    }

    /// Whether `subject` passes the consumer's filters.
    pub fn matches(&self, subject: &str) -> bool {
        self.filters.is_empty()
            || self
                .filters
                .iter()
                .any(|f| store::filter_matches(f, subject))
    }

    /// The filters (empty: every subject).
    pub fn filters(&self) -> &[String] {
        &self.filters
    }

    fn ack_subject(&self, dc: u64, sseq: u64, cseq: u64, ts: i64, pending: u64) -> String {
        format!(
            "$JS.ACK.{}.{}.{dc}.{sseq}.{cseq}.{ts}.{pending}",
            self.stream, self.name
        )
    }

    /// Takes a pull request. Status answers that end it at once are pushed to `out`.
    pub fn request(
        &mut self,
        reply: &str,
        body: &[u8],
        now: i64,
        store: &dyn MsgStore,
        out: &mut Vec<Out>,
    ) {
        self.last_active = now;
        let send = |out: &mut Vec<Out>, code: u16, text: &str| {
            out.push(Out::Status {
                to: reply.to_string(),
                hdr: status(code, text),
            })
        };
        if !self.cfg.is_pull() {
            return send(out, 409, "Consumer is push based");
        }
        let req = body.trim_ascii();
        let json = req.first() == Some(&b'{');
        let r: NextRequest = if req.is_empty() {
            NextRequest {
                batch: 1,
                ..Default::default()
            }
        } else if req[0] == b'{' {
            match crate::from_json::<NextRequest>(req) {
                Ok(r) => r,
                Err(e) => return send(out, 400, &format!("Bad Request - {}", go_json_error(&e))),
            }
        } else {
            NextRequest {
                batch: std::str::from_utf8(req)
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(1),
                ..Default::default()
            }
        };
        if r.idle_heartbeat > 0 && r.idle_heartbeat.saturating_mul(2) > r.expires {
            return send(out, 400, "Bad Request - heartbeat value too large");
        }
        let c = &self.cfg;
        if c.max_request_batch > 0 && r.batch > c.max_request_batch {
            return send(
                out,
                409,
                &format!("Exceeded MaxRequestBatch of {}", c.max_request_batch),
            );
        }
        if r.expires > 0 && c.max_request_expires > 0 && r.expires > c.max_request_expires {
            return send(
                out,
                409,
                &format!(
                    "Exceeded MaxRequestExpires of {}",
                    conf::format_go_duration(c.max_request_expires)
                ),
            );
        }
        if r.max_bytes > 0 && c.max_request_max_bytes > 0 && r.max_bytes > c.max_request_max_bytes {
            return send(
                out,
                409,
                &format!("Exceeded MaxRequestMaxBytes of {}", c.max_request_max_bytes),
            );
        }
        if json {
            for text in priority::warnings(c, &r) {
                send(out, 400, text);
            }
            if let Some((code, text)) = priority::check(c, &r) {
                return send(out, code, text);
            }
        }
        if r.no_wait {
            let pending = self.num_pending(store) + self.state.redeliveries_queued() as u64;
            if pending == 0 && r.expires == 0 {
                return send(out, 404, "No Messages");
            }
            if pending > 0 {
                self.expire_waiting(now, out);
                let asked: i64 = self.waiting.iter().map(|w| w.n).sum();
                if (pending as i64) < asked {
                    return send(out, 408, "Requests Pending");
                }
            }
        }
        if self.cfg.max_waiting > 0 && self.waiting.len() as i64 >= self.cfg.max_waiting {
            self.expire_waiting(now, out);
            if self.waiting.len() as i64 >= self.cfg.max_waiting {
                if r.idle_heartbeat == 0 {
                    send(out, 409, "Exceeded MaxWaiting");
                }
                return;
            }
        }
        self.waiting.push_back(Waiting {
            reply: reply.to_string(),
            n: r.batch.max(1),
            d: 0,
            b: r.max_bytes.max(0),
            expires: if r.expires > 0 {
                now.saturating_add(r.expires)
            } else {
                0
            },
            hb: r.idle_heartbeat.max(0),
            hbt: if r.idle_heartbeat > 0 {
                now.saturating_add(r.idle_heartbeat)
            } else {
                0
            },
            no_wait: r.no_wait,
            min_pending: r.min_pending,
            min_ack_pending: r.min_ack_pending,
            priority: r.priority,
        });
    }

    /// Puts a message taken for delivery back: the next request gets it.
    fn unfetch_msg(&mut self, msg: &StoredMsg, redelivery: bool) {
        if self.from_lss {
            self.lss.push_front(msg.seq);
        } else {
            self.state.unfetch(msg.seq, redelivery);
        }
    }

    /// Ends requests past their expiry with `408 Request Timeout`.
    fn expire_waiting(&mut self, now: i64, out: &mut Vec<Out>) {
        self.waiting.retain(|w| {
            if w.expires > 0 && now >= w.expires {
                out.push(Out::Status {
                    to: w.reply.clone(),
                    hdr: pending_status("408 Request Timeout", w.n, w.b),
                });
                false
            } else {
                true
            }
        });
    }

    /// The next message to deliver: a redelivery first, else the next stored
    /// message past the scan point that passes the filters.
    fn next_msg(&mut self, store: &mut dyn MsgStore, adv: &mut Vec<Advisory>) -> Next {
        self.from_lss = false;
        let mut exceeded = Vec::new();
        let mut found = None;
        while let Some(sseq) = self
            .state
            .next_redelivery(self.cfg.max_deliver, &mut exceeded)
        {
            match store.load(sseq) {
                Ok(m) => {
                    found = Some(m);
                    break;
                }
                // Gone from the stream: nothing to redeliver.
                Err(_) => self.state.forget(sseq),
            }
        }
        adv.extend(
            exceeded
                .into_iter()
                .map(|(s, d)| Advisory::MaxDeliveries(s, d)),
        );
        if let Some(m) = found {
            return Next::Msg(m, true);
        }
        if self.cfg.ack_policy != AckPolicy::None
            && self.cfg.max_ack_pending > 0
            && self.state.pending.len() as i64 >= self.cfg.max_ack_pending
        {
            return Next::Stalled;
        }
        while let Some(seq) = self.lss.pop_front() {
            if self.lss.is_empty() {
                self.state.skip_to(self.lss_resume);
            }
            if let Ok(m) = store.load(seq) {
                self.from_lss = true;
                return Next::Msg(m, false);
            }
        }
        let start = self.state.sseq;
        let found = if self.filters.len() <= 1 {
            let f = self.filters.first().map_or(">", String::as_str);
            store.load_next(f, start).ok()
        } else {
            let mut best: Option<StoredMsg> = None;
            for f in &self.filters {
                if let Ok(m) = store.load_next(f, start) {
                    if best.as_ref().is_none_or(|b| m.seq < b.seq) {
                        best = Some(m);
                    }
                }
            }
            best
        };
        match found {
            Some(m) => {
                self.state.skip_to(m.seq);
                Next::Msg(m, false)
            }
            None => {
                self.state.skip_to(store.fast_state().last_seq);
                Next::End
            }
        }
    }

    /// Delivers to waiting requests while messages are there, ends requests
    /// that are done, expired or gone (`has_interest` false), and sends due
    /// heartbeats. Call after stores, acks, requests and on a timer.
    pub fn pump(
        &mut self,
        store: &mut dyn MsgStore,
        now: i64,
        has_interest: &mut dyn FnMut(&str) -> bool,
        out: &mut Vec<Out>,
        adv: &mut Vec<Advisory>,
    ) {
        self.state.check_due(now);
        // A paused consumer delivers nothing; its requests still expire.
        let paused = self.paused(now);
        self.pause_blocked = paused;
        if !self.cfg.is_pull() {
            if paused {
                return;
            }
            return self.pump_push(store, now, has_interest, out, adv);
        }
        self.expire_waiting(now, out);
        self.waiting.retain(|w| has_interest(&w.reply));
        let mut end = false;
        while !paused && !self.waiting.is_empty() {
            let (msg, redelivery) = match self.next_msg(store, adv) {
                Next::Msg(m, r) => (m, r),
                Next::End => {
                    end = true;
                    break;
                }
                Next::Stalled => break,
            };
            let (ack, hdr, body) = self.prepare(&msg, store);
            let size = (msg.subject.len() + ack.len() + hdr.len() + body.len()) as i64;
            if self.cfg.priority_policy == PriorityPolicy::Prioritized {
                // The most urgent request (lowest priority) first.
                if let Some(i) = priority::most_urgent(&self.waiting) {
                    self.waiting.rotate_left(i);
                }
            }
            if self.cfg.priority_policy == PriorityPolicy::Overflow {
                // Requests whose thresholds are not met wait their turn behind.
                let pending = self.num_pending(store) as i64 + 1;
                let acks = self.state.pending.len() as i64;
                match self
                    .waiting
                    .iter()
                    .position(|w| priority::eligible(w, pending, acks))
                {
                    Some(i) => self.waiting.rotate_left(i),
                    None => {
                        self.unfetch_msg(&msg, redelivery);
                        break;
                    }
                }
            }
            let mut taken = None;
            while let Some(w) = self.waiting.front_mut() {
                if w.b > 0 {
                    if size <= w.b {
                        w.b -= size;
                        if w.b == 0 {
                            w.n = 1;
                        }
                    } else {
                        let w = self.waiting.pop_front().expect("front");
                        out.push(Out::Status {
                            to: w.reply,
                            hdr: pending_status("409 Message Size Exceeds MaxBytes", w.n, w.b),
                        });
                        continue;
                    }
                }
                w.n -= 1;
                w.d += 1;
                let (to, n, b) = (w.reply.clone(), w.n, w.b);
                if n <= 0 {
                    self.waiting.pop_front();
                } else {
                    if w.hb > 0 {
                        w.hbt = now.saturating_add(w.hb);
                    }
                    if self.waiting.len() > 1 {
                        // Requests take turns, as nats-server's queue does.
                        let w = self.waiting.pop_front().expect("front");
                        self.waiting.push_back(w);
                    }
                }
                taken = Some((to, n, b));
                break;
            }
            let Some((to, n, b)) = taken else {
                // Every request went away: the message stays for the next one.
                self.unfetch_msg(&msg, redelivery);
                break;
            };
            self.record_delivery(&msg, now);
            out.push(Out::Msg {
                to: to.clone(),
                ack,
                subject: msg.subject.clone(),
                hdr,
                body,
            });
            if n <= 0 && b > 0 {
                out.push(Out::Status {
                    to,
                    hdr: pending_status("409 Batch Completed", n, b),
                });
            }
        }
        // No-wait requests end once the stream has nothing more for them.
        if end || (self.waiting.iter().any(|w| w.no_wait) && !self.stalled_or_more(store)) {
            self.waiting.retain(|w| {
                if !w.no_wait {
                    return true;
                }
                if w.expires == 0 || w.d > 0 {
                    out.push(Out::Status {
                        to: w.reply.clone(),
                        hdr: status(404, "No Messages"),
                    });
                    return false;
                }
                true
            });
        }
        let (dc, ds) = (self.state.delivered.consumer, self.state.delivered.stream);
        for w in self.waiting.iter_mut() {
            if w.hbt > 0 && now >= w.hbt {
                out.push(Out::Status {
                    to: w.reply.clone(),
                    hdr: heartbeat(dc, ds, ""),
                });
                w.hbt = now.saturating_add(w.hb);
            }
        }
    }

    /// Whether the consumer is held by `max_ack_pending` or has more to deliver.
    fn stalled_or_more(&self, store: &dyn MsgStore) -> bool {
        self.state.has_redelivery()
            || self.num_pending(store) > 0
            || (self.cfg.ack_policy != AckPolicy::None
                && self.cfg.max_ack_pending > 0
                && self.state.pending.len() as i64 >= self.cfg.max_ack_pending)
    }

    /// The ack subject, headers and payload of the next delivery of `msg`.
    fn prepare(
        &self,
        msg: &StoredMsg,
        store: &dyn MsgStore,
    ) -> (String, bytes::Bytes, bytes::Bytes) {
        let dc = self.state.redelivered.get(&msg.seq).map_or(1, |r| r + 1);
        let (cseq, pending) = (self.state.delivered.consumer + 1, self.num_pending(store));
        let ack = self.ack_subject(dc, msg.seq, cseq, msg.ts, pending);
        let (hdr, body) = self.shaped(msg);
        (ack, hdr, body)
    }

    /// The headers and payload delivered for `msg` (`headers_only` drops the
    /// payload and adds `Nats-Msg-Size`).
    fn shaped(&self, msg: &StoredMsg) -> (bytes::Bytes, bytes::Bytes) {
        if !self.cfg.headers_only {
            return (msg.data.slice(..msg.hdr_len), msg.data.slice(msg.hdr_len..));
        }
        let size = msg.msg().len();
        let mut hdr = if msg.hdr().is_empty() {
            b"NATS/1.0\r\n\r\n".to_vec()
        } else {
            msg.hdr().to_vec()
        };
        hdr.truncate(hdr.len() - 2);
        hdr.extend_from_slice(format!("Nats-Msg-Size: {size}\r\n\r\n").as_bytes());
        (hdr.into(), bytes::Bytes::new())
    }

    fn record_delivery(&mut self, msg: &StoredMsg, now: i64) {
        self.last_active = now;
        self.last_delivered = now;
        if self.cfg.ack_policy == AckPolicy::None {
            self.state.deliver_no_ack(msg.seq, msg.ts);
        } else {
            let dc = self.state.redelivered.get(&msg.seq).map_or(1, |r| r + 1);
            let wait = State::wait_for(&self.cfg, dc);
            self.state.deliver(msg.seq, msg.ts, now, wait);
        }
    }

    /// Handles an ack for the delivery `reply` describes.
    pub fn ack(&mut self, reply: &state::AckReply, kind: AckKind, now: i64) -> AckResult {
        let mut res = AckResult::default();
        self.last_active = now;
        if self.cfg.ack_policy == AckPolicy::None {
            return res;
        }
        let dc = self.state.redelivered.get(&reply.sseq).map_or(1, |r| r + 1);
        match kind {
            AckKind::Ack | AckKind::Next(_) => {
                let e = self.state.ack(self.cfg.ack_policy, reply.sseq, reply.cseq);
                res.acked = e.acked;
                res.reply = e.reply && !matches!(kind, AckKind::Next(_));
                if let AckKind::Next(body) = kind {
                    res.next = Some(body);
                }
                self.last_ack = now;
            }
            AckKind::Nak(delay) => {
                if self.state.nak(reply.sseq, reply.cseq, now, delay) {
                    res.advisories.push(Advisory::Nak(reply.sseq, dc));
                }
                res.reply = reply.sseq != 0;
            }
            AckKind::Progress => {
                let wait = State::wait_for(&self.cfg, dc);
                self.state.progress(reply.sseq, now, wait);
                res.reply = reply.sseq != 0;
            }
            AckKind::Term(reason) => {
                let known = self.state.pending.contains_key(&reply.sseq);
                let e = self.state.ack(self.cfg.ack_policy, reply.sseq, reply.cseq);
                res.acked = e.acked;
                res.reply = e.reply;
                if known {
                    res.advisories
                        .push(Advisory::Terminated(reply.sseq, dc, reason));
                }
                self.last_ack = now;
            }
        }
        res
    }

    /// Whether this consumer still has to ack `seq` (on `subject`) before an
    /// interest stream may drop it (nats-server's `needAck`).
    pub fn needs_ack(&self, seq: u64, subject: &str) -> bool {
        if !self.matches(subject) {
            return false;
        }
        let st = &self.state;
        let need = match self.cfg.ack_policy {
            AckPolicy::None | AckPolicy::All => seq > st.ack_floor.stream,
            AckPolicy::Explicit => {
                seq > st.ack_floor.stream && (seq >= st.sseq || st.pending.contains_key(&seq))
            }
        };
        need || st.redelivered.contains_key(&seq)
    }

    /// The earliest time something is due (redelivery, request expiry,
    /// heartbeat, the end of a pause that held deliveries back).
    pub fn next_deadline(&self) -> Option<i64> {
        let mut t = self.state.next_due();
        if self.pause_blocked {
            t = Some(t.map_or(self.paused_until, |x| x.min(self.paused_until)));
        }
        if !self.cfg.is_pull() && self.cfg.heartbeat > 0 {
            let d = self.last_hb.max(self.last_delivered) + self.cfg.heartbeat;
            t = Some(t.map_or(d, |x| x.min(d)));
        }
        for w in &self.waiting {
            for d in [w.expires, w.hbt] {
                if d > 0 {
                    t = Some(t.map_or(d, |x| x.min(d)));
                }
            }
        }
        t
    }

    /// Ends every waiting request with `409 Consumer Deleted`.
    pub fn close(&mut self, out: &mut Vec<Out>) {
        for w in self.waiting.drain(..) {
            out.push(Out::Status {
                to: w.reply,
                hdr: status(409, "Consumer Deleted"),
            });
        }
    }
}

/// A status with the request's remaining messages and bytes.
fn pending_status(line: &str, n: i64, b: i64) -> String {
    format!("NATS/1.0 {line}\r\nNats-Pending-Messages: {n}\r\nNats-Pending-Bytes: {b}\r\n\r\n")
}

/// A JSON error in Go's words where they are known.
fn go_json_error(e: &serde_json::Error) -> String {
    let t = e.to_string();
    match t.rfind(" at line ") {
        Some(i) => t[..i].to_string(),
        None => t,
    }
}
