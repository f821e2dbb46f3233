//! Stream sources on the network. For each source the stream asks the origin
//! (in this account, or through an external API prefix across accounts and
//! leafnode domains) for a push consumer, as nats-server 2.12.4 does, and
//! stores what it delivers stamped with `Nats-Stream-Source`. Flow control
//! requests are answered, heartbeats checked for gaps, and a silent source is
//! set up again from the last origin sequence copied.
//!
//! Beyond nats-server: the last origin sequence of each source is kept in a
//! small state log beside the stream, synced after the stream and before any
//! consumer sees the copies. A workqueue that consumed its copies therefore
//! still resumes exactly after them on restart, where nats-server falls back
//! to a start time.

use super::{now_nanos, Entry, JetStream, JsAccount, Target};
use crate::delivery::internal;
use crate::server::Server;
use jsmodel::source::{self as model, Tracker, Verdict};
use jsmodel::StreamSource;
use parking_lot::Mutex;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;
use store::log::StateLog;
use store::os::OsFs;
use sublist::transform::Transform;

/// How far back recovery looks for copies newer than the state log.
const SCAN_BACK: u64 = 100_000;
/// The position log is folded into a snapshot past this many bytes.
const COMPACT_AT: u64 = 1 << 20;

/// Index name of a stream's mirror (never a source's: those hold spaces).
const MIRROR: &str = "$mirror";

/// One source (or the mirror) of a stream and its progress.
pub struct SourceRun {
    /// Its config.
    pub cfg: StreamSource,
    /// It is the stream's mirror.
    mirror: bool,
    /// Go's index name.
    pub iname: String,
    /// Position and current consumer.
    pub track: Tracker,
    transforms: Vec<(String, Option<Transform>)>,
    sids: Vec<Box<[u8]>>,
    /// Last time the origin was heard from (0: never).
    last: i64,
    /// The last consumer-create error, as API JSON.
    err: Option<Value>,
    /// When the last consumer request went out (0: never).
    asked: i64,
    /// A consumer request awaits its answer.
    waiting: bool,
    fails: u32,
    /// When to set the consumer up (0: not scheduled).
    due: i64,
}

/// The sources of a stream.
#[derive(Default)]
pub struct Sources {
    /// One per configured source.
    pub runs: Vec<SourceRun>,
    log: Option<StateLog<OsFs>>,
    dirty: bool,
    /// Subscriptions of runs no longer configured, to drop.
    stale: Vec<Box<[u8]>>,
}

fn hash(s: &str) -> String {
    crate::system::requests::server_hash(s)
}

fn token() -> String {
    const DIGITS: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    (0..8)
        .map(|_| DIGITS[fastrand::usize(..DIGITS.len())] as char)
        .collect()
}

fn encode(iname: &str, seq: u64) -> Vec<u8> {
    let mut b = seq.to_le_bytes().to_vec();
    b.extend_from_slice(iname.as_bytes());
    b
}

fn decode(rec: &[u8], into: &mut HashMap<String, u64>) {
    if rec.len() >= 8 {
        let seq = u64::from_le_bytes(rec[..8].try_into().expect("8"));
        into.insert(String::from_utf8_lossy(&rec[8..]).into_owned(), seq);
    }
}

/// Records of a snapshot: u16 length-prefixed records.
fn snapshot(runs: &[SourceRun]) -> Vec<u8> {
    let mut out = Vec::new();
    for r in runs {
        let rec = encode(&r.iname, r.track.sseq);
        out.extend_from_slice(&(rec.len() as u16).to_le_bytes());
        out.extend_from_slice(&rec);
    }
    out
}

fn read_snapshot(mut b: &[u8], into: &mut HashMap<String, u64>) {
    while b.len() >= 2 {
        let n = u16::from_le_bytes([b[0], b[1]]) as usize;
        let Some(rec) = b.get(2..2 + n) else { break };
        decode(rec, into);
        b = &b[2 + n..];
    }
}

impl SourceRun {
    fn new(cfg: StreamSource, mirror: bool, sseq: u64, now: i64) -> SourceRun {
        let transforms = cfg
            .subject_transforms
            .iter()
            .map(|t| {
                let tr = (!t.dest.is_empty())
                    .then(|| Transform::new(&t.src, &t.dest))
                    .flatten();
                (t.src.clone(), tr)
            })
            .collect();
        SourceRun {
            iname: if mirror {
                MIRROR.to_string()
            } else {
                model::iname(&cfg, hash)
            },
            cfg,
            mirror,
            track: Tracker {
                sseq,
                ..Tracker::default()
            },
            transforms,
            sids: Vec::new(),
            last: 0,
            err: None,
            asked: 0,
            waiting: false,
            fails: 0,
            due: now + 100_000_000 + fastrand::i64(0..100_000_000),
        }
    }

    /// Schedules a new consumer, throttled and backed off as Go does.
    fn schedule(&mut self, now: i64) {
        if self.due != 0 {
            return;
        }
        let mut delay = 0;
        if self.asked != 0 {
            delay = (model::RETRY_THRESHOLD - (now - self.asked)).max(0);
            if self.fails > 0 {
                delay += model::retry_backoff(self.fails);
            }
        }
        self.due = now + delay + 100_000_000 + fastrand::i64(0..100_000_000);
    }

    /// The subject a copy is stored under.
    fn subject(&self, subject: &str) -> String {
        for (filter, tr) in &self.transforms {
            if store::filter_matches(filter, subject) {
                if let Some(tr) = tr {
                    let mut out = String::new();
                    tr.apply(subject, &mut out);
                    return out;
                }
                break;
            }
        }
        subject.to_string()
    }

    /// Go's `StreamSourceInfo`.
    fn info(&self, now: i64) -> Value {
        let mut m = serde_json::Map::new();
        m.insert("name".into(), self.cfg.name.clone().into());
        if let Some(ext) = &self.cfg.external {
            m.insert(
                "external".into(),
                serde_json::json!({"api": ext.api, "deliver": ext.deliver}),
            );
        }
        m.insert("lag".into(), self.track.lag.into());
        let active = if self.last == 0 { -1 } else { now - self.last };
        m.insert("active".into(), active.into());
        if let Some(e) = &self.err {
            m.insert("error".into(), e.clone());
        }
        // nats-server names a mirror's filters once its consumer was asked for.
        if !self.cfg.filter_subject.is_empty() && (!self.mirror || self.asked != 0) {
            m.insert(
                "filter_subject".into(),
                self.cfg.filter_subject.clone().into(),
            );
        }
        if !self.cfg.subject_transforms.is_empty() && (!self.mirror || self.asked != 0) {
            let t: Vec<Value> = self
                .cfg
                .subject_transforms
                .iter()
                .map(|t| serde_json::json!({"src": t.src, "dest": t.dest}))
                .collect();
            m.insert("subject_transforms".into(), t.into());
        }
        Value::Object(m)
    }
}

/// The `sources` of a stream info, when it has any.
pub fn info(e: &Entry) -> Option<Value> {
    let now = now_nanos();
    let v: Vec<Value> = e
        .sources
        .runs
        .iter()
        .filter(|r| !r.mirror)
        .map(|r| r.info(now))
        .collect();
    (!v.is_empty()).then(|| v.into())
}

/// The `mirror` of a stream info, when it is a mirror.
pub fn mirror_info(e: &Entry) -> Option<Value> {
    let now = now_nanos();
    e.sources
        .runs
        .iter()
        .find(|r| r.mirror)
        .map(|r| r.info(now))
}

/// The `mirror` and `sources` members of a stream document.
pub fn members(e: &Entry) -> Vec<(&'static str, Value)> {
    let mut out = Vec::new();
    if let Some(m) = mirror_info(e) {
        out.push(("mirror", m));
    }
    if let Some(s) = info(e) {
        out.push(("sources", s));
    }
    out
}

/// The last origin sequence copied from each source: the state log, then
/// the newest copies in the stream (stored after the log was last synced).
fn positions(js: &JetStream, e: &mut Entry) -> HashMap<String, u64> {
    let mut seqs = HashMap::new();
    if e.stream.cfg.storage == jsmodel::Storage::File && e.sources.log.is_none() {
        match StateLog::open(OsFs::new(&js.root), &format!("{}/src", e.dir)) {
            Ok((log, rec)) => {
                read_snapshot(&rec.snapshot, &mut seqs);
                for r in &rec.records {
                    decode(r, &mut seqs);
                }
                e.sources.log = Some(log);
            }
            Err(err) => crate::warn!(
                "JetStream could not read the source positions of stream '{}': {err}",
                e.stream.cfg.name
            ),
        }
    }
    let wanted: Vec<String> = e
        .stream
        .cfg
        .sources
        .iter()
        .map(|s| model::iname(s, hash))
        .collect();
    let st = e.stream.store.fast_state();
    let mut found: HashMap<String, u64> = HashMap::new();
    let mut seq = st.last_seq;
    let mut looked = 0;
    while seq >= st.first_seq.max(1) && found.len() < wanted.len() && looked < SCAN_BACK {
        let Ok(m) = e.stream.store.load_prev(seq) else {
            break;
        };
        looked += 1;
        seq = m.seq.saturating_sub(1);
        let v = jsmodel::headers::get_str(model::STREAM_SOURCE, m.hdr());
        let Some((stream, iname, sseq)) = model::parse_stamp(v) else {
            continue;
        };
        let names: Vec<&String> = if iname.is_empty() {
            let olds = e.stream.cfg.sources.iter().zip(&wanted);
            olds.filter(|(s, _)| s.name == stream)
                .map(|(_, w)| w)
                .collect()
        } else {
            wanted.iter().filter(|w| **w == iname).collect()
        };
        for n in names {
            found.entry(n.clone()).or_insert(sseq);
        }
        if m.seq == 0 {
            break;
        }
    }
    for (k, v) in found {
        let s = seqs.entry(k).or_insert(0);
        *s = (*s).max(v);
    }
    seqs
}

/// Sets up the sources of a stream (created, recovered or updated): runs
/// that are still configured keep their position and consumer.
pub fn start(js: &JetStream, e: &mut Entry) {
    let now = now_nanos();
    let seqs = if e.stream.cfg.sources.is_empty() {
        HashMap::new()
    } else {
        positions(js, e)
    };
    let mut old: Vec<SourceRun> = std::mem::take(&mut e.sources.runs);
    let mut runs = Vec::new();
    if let Some(cfg) = e.stream.cfg.mirror.clone() {
        match old.iter().position(|r| r.mirror) {
            Some(i) => runs.push(old.swap_remove(i)),
            None => {
                // A mirror holds its origin's sequences: it resumes after its own last.
                let last = e.stream.store.fast_state().last_seq;
                runs.push(SourceRun::new(cfg, true, last, now));
            }
        }
    }
    for cfg in e.stream.cfg.sources.clone() {
        let iname = model::iname(&cfg, hash);
        match old.iter().position(|r| r.iname == iname) {
            Some(i) => runs.push(old.swap_remove(i)),
            None => {
                let seq = seqs.get(&iname).copied().unwrap_or(0);
                runs.push(SourceRun::new(cfg, false, seq, now));
            }
        }
    }
    e.sources.runs = runs;
    e.sources.dirty = true;
    // Runs no longer configured hand back their subscriptions.
    e.sources.stale.extend(old.into_iter().flat_map(|r| r.sids));
}

/// Drops the subscriptions of sources no longer configured.
pub fn drop_stale(srv: &Server, js: &JetStream, e: &mut Entry) {
    for sid in std::mem::take(&mut e.sources.stale) {
        js.drop_sub(srv, &sid);
    }
}

/// Drops every source subscription of a stream being deleted.
pub fn stop(srv: &Server, js: &JetStream, e: &mut Entry) {
    drop_stale(srv, js, e);
    for r in &mut e.sources.runs {
        for sid in std::mem::take(&mut r.sids) {
            js.drop_sub(srv, &sid);
        }
    }
}

/// Makes the source positions durable: after the stream's own sync, before
/// any consumer sees the copies.
pub fn persist(e: &mut Entry) {
    let Entry {
        sources, stream, ..
    } = e;
    if !sources.dirty {
        return;
    }
    let Some(log) = sources.log.as_mut() else {
        sources.dirty = false;
        return;
    };
    let res = if log.len() > COMPACT_AT {
        log.compact(&snapshot(&sources.runs))
    } else {
        for r in &sources.runs {
            log.append(&encode(&r.iname, r.track.sseq));
        }
        log.sync()
    };
    match res {
        Ok(()) => sources.dirty = false,
        Err(err) => crate::error!(
            "JetStream failed to sync the source positions of stream '{}': {err}",
            stream.cfg.name
        ),
    }
}

/// A consumer request to send once the stream's lock is released.
pub struct Request {
    subject: String,
    reply: String,
    body: Vec<u8>,
    entry: Arc<Mutex<Entry>>,
    iname: String,
}

/// Subscribes the new consumer's inbox and answer subjects and prepares
/// its request.
fn setup(
    srv: &Server,
    js: &JetStream,
    jsa: &Arc<JsAccount>,
    entry: &Arc<Mutex<Entry>>,
    e: &mut Entry,
    i: usize,
    now: i64,
) -> Request {
    let st = e.stream.store.fast_state();
    let last_time = (st.last_ts != 0).then(|| super::info::time(st.last_ts));
    let r = &mut e.sources.runs[i];
    for sid in std::mem::take(&mut r.sids) {
        js.drop_sub(srv, &sid);
    }
    r.track.reset_consumer();
    r.due = 0;
    r.asked = now;
    r.waiting = true;
    let deliver = model::deliver_subject(&r.cfg, &token(), r.mirror);
    let reply = format!("$JSC.R.{}", token());
    let (name, start) = if r.mirror {
        r.track.sseq = st.last_seq;
        let start = model::mirror_start(&r.cfg, st.msgs, st.first_seq, st.last_seq);
        (format!("mirror-{}", token()), start)
    } else {
        let start = model::start(&r.cfg, r.track.sseq + 1, st.first_seq, last_time.as_deref());
        (format!("src-{}", token()), start)
    };
    let (subject, body) = model::create_request(&r.cfg, &deliver, &start, &name);
    for (s, t) in [
        (
            &deliver,
            Target::Source(jsa.clone(), entry.clone(), r.iname.clone()),
        ),
        (&reply, Target::SourceReply(entry.clone(), r.iname.clone())),
    ] {
        let sid = js.client.subscribe(srv, &jsa.account, s, false);
        js.targets.write().insert(sid.clone(), t);
        r.sids.push(sid);
    }
    Request {
        subject,
        reply,
        body,
        entry: entry.clone(),
        iname: r.iname.clone(),
    }
}

/// Sends prepared consumer requests. A request nobody hears (the origin's
/// server or its leafnode link is not there yet) is tried again after the
/// retry threshold rather than after the full wait, and is not a failure.
pub fn send(srv: &Arc<Server>, js: &JetStream, jsa: &JsAccount, reqs: Vec<Request>) {
    for r in reqs {
        let heard = internal::publish(
            srv,
            &jsa.account,
            js.client.shared.cid,
            r.subject.as_bytes(),
            Some(r.reply.as_bytes()),
            None,
            &r.body,
        );
        if !heard {
            let mut e = r.entry.lock();
            if let Some(run) = e.sources.runs.iter_mut().find(|x| x.iname == r.iname) {
                if run.waiting {
                    run.waiting = false;
                    run.schedule(now_nanos());
                }
            }
        }
    }
}

/// The periodic work of every sourcing stream: due setups, unanswered
/// requests and silent sources.
pub fn tick(srv: &Arc<Server>, js: &JetStream) {
    let accounts: Vec<Arc<JsAccount>> = js.accounts.read().values().cloned().collect();
    for jsa in accounts {
        let entries: Vec<Arc<Mutex<Entry>>> = jsa.streams.lock().values().cloned().collect();
        for entry in entries {
            let now = now_nanos();
            let mut reqs = Vec::new();
            {
                let mut e = entry.lock();
                for i in 0..e.sources.runs.len() {
                    let r = &mut e.sources.runs[i];
                    if r.waiting && now - r.asked > model::CREATE_WAIT {
                        r.waiting = false;
                        r.fails += 1;
                        r.schedule(now);
                    }
                    if !r.waiting && r.due == 0 && now - r.last.max(r.asked) > model::HEALTH_CHECK {
                        r.schedule(now);
                    }
                    if !r.waiting && r.due != 0 && r.due <= now {
                        reqs.push(setup(srv, js, &jsa, &entry, &mut e, i, now));
                    }
                }
            }
            send(srv, js, &jsa, reqs);
        }
    }
}

/// The answer to a consumer request.
pub fn on_reply(e: &mut Entry, iname: &str, payload: &[u8]) {
    let name = e.stream.cfg.name.clone();
    let now = now_nanos();
    let Some(r) = e.sources.runs.iter_mut().find(|r| r.iname == iname) else {
        return;
    };
    if !r.waiting {
        return;
    }
    r.waiting = false;
    let v: Value = serde_json::from_slice(payload).unwrap_or(Value::Null);
    match (v.get("error"), v.get("name").and_then(Value::as_str)) {
        (None, Some(cname)) => {
            r.err = None;
            r.fails = 0;
            r.last = now;
            if r.track.cname.is_empty() {
                r.track.cname = cname.to_string();
            }
        }
        (err, _) => {
            let err = err.cloned().unwrap_or(Value::Null);
            crate::warn!(
                "JetStream error response for stream {name} create source consumer {}: {}",
                r.cfg.name,
                go_api_error(&err)
            );
            r.err = Some(err);
            r.fails += 1;
            r.schedule(now);
        }
    }
}

/// Go's `%+v` of an `*ApiError`.
fn go_api_error(e: &Value) -> String {
    let n = |k: &str| e.get(k).and_then(Value::as_u64).unwrap_or(0);
    let d = e.get("description").and_then(Value::as_str).unwrap_or("");
    format!(
        "&{{Code:{} ErrCode:{} Description:{d}}}",
        n("code"),
        n("err_code")
    )
}

/// What a message from a source consumer asks of the caller.
pub enum Inbound {
    /// Nothing more.
    Done,
    /// Publish an empty message here (a flow control answer).
    Answer(Vec<u8>),
    /// The copy was stored: the stream must sync.
    Stored,
    /// Set up again now.
    Retry,
}

/// One message from a source consumer, handled under the stream's lock.
/// Returns the subject of an empty message to send once the stream is
/// synced: a flow control answer, or nothing (empty) after a stored copy.
pub fn inbound(
    jsa: &JsAccount,
    entry: &Mutex<Entry>,
    iname: &str,
    m: &internal::InternalMsg<'_>,
) -> Option<Vec<u8>> {
    let subject = String::from_utf8_lossy(m.subject);
    let hdr = m.headers.unwrap_or_default();
    let mut e = entry.lock();
    let res = tokio::task::block_in_place(|| {
        on_msg(
            &jsa.account.name,
            &mut e,
            iname,
            &subject,
            m.reply,
            hdr,
            m.payload,
        )
    });
    match res {
        Inbound::Answer(to) => Some(to),
        Inbound::Stored => Some(Vec::new()),
        Inbound::Done | Inbound::Retry => None,
    }
}

/// One message from a source consumer: a status, or a copy to store.
fn on_msg(
    acc: &str,
    e: &mut Entry,
    iname: &str,
    subject: &str,
    reply: Option<&[u8]>,
    hdr: &[u8],
    payload: &[u8],
) -> Inbound {
    let now = now_nanos();
    let Some(i) = e.sources.runs.iter().position(|r| r.iname == iname) else {
        return Inbound::Done;
    };
    let r = &mut e.sources.runs[i];
    r.last = now;
    if model::is_control(hdr, payload) {
        if let Some(reply) = reply.filter(|r| !r.is_empty()) {
            return Inbound::Answer(reply.to_vec());
        }
        if r.track.on_heartbeat(hdr).is_some() {
            r.due = 0;
            r.asked = 0;
            r.schedule(now);
            return Inbound::Retry;
        }
        if let Some(fc) = jsmodel::headers::get("Nats-Consumer-Stalled", hdr) {
            return Inbound::Answer(fc.to_vec());
        }
        return Inbound::Done;
    }
    let reply = String::from_utf8_lossy(reply.unwrap_or_default());
    match r.track.on_msg(&reply) {
        Verdict::Drop => Inbound::Done,
        Verdict::Retry(_) => {
            r.schedule(now);
            Inbound::Retry
        }
        Verdict::Store(seq) if r.mirror => {
            let hdr = model::mirror_headers(hdr);
            let to = r.subject(subject);
            let ts =
                jsmodel::consumer::state::parse_ack_subject(&reply).map_or(now, |(_, _, a)| a.ts);
            let p = jsmodel::Publish {
                subject: &to,
                hdr: &hdr,
                msg: payload,
                ts,
            };
            match e.stream.process_at(p, seq) {
                jsmodel::Outcome::Refused(err) => {
                    crate::warn!(
                        "Error processing inbound mirror message for '{}' > '{}': {}",
                        acc,
                        e.stream.cfg.name,
                        err.description
                    );
                    let last = e.stream.store.fast_state().last_seq;
                    let r = &mut e.sources.runs[i];
                    r.track.sseq = last;
                    r.schedule(now);
                    Inbound::Retry
                }
                _ => Inbound::Stored,
            }
        }
        Verdict::Store(seq) => {
            let hdr = model::stamp(hdr, &r.iname, &reply, subject);
            let to = r.subject(subject);
            let out = e.stream.process(jsmodel::Publish {
                subject: &to,
                hdr: &hdr,
                msg: payload,
                ts: now,
            });
            let r = &mut e.sources.runs[i];
            match out {
                jsmodel::Outcome::Refused(err) => {
                    // A full stream (discard new) takes this message again later.
                    let full = err.description.contains("maximum messages exceeded")
                        || err.description.contains("maximum bytes exceeded");
                    if full {
                        r.track.sseq = seq - 1;
                    } else {
                        crate::warn!(
                            "Error processing inbound source {:?} for '{}': {}",
                            r.iname,
                            e.stream.cfg.name,
                            err.description
                        );
                    }
                    r.schedule(now);
                    e.sources.dirty = true;
                    Inbound::Retry
                }
                _ => {
                    e.sources.dirty = true;
                    Inbound::Stored
                }
            }
        }
    }
}
