//! Consumers on the network: their files (config and state log), pull
//! requests, acks, delivery and the redelivery timer. The model is
//! `jsmodel::consumer`; this glues it to the store directory and to
//! internal publishes.

use super::{now_nanos, Entry, JetStream, JsAccount};
use crate::accounts::Account;
use crate::delivery::internal;
use crate::server::Server;
use jsmodel::config::{Retention, Storage};
use jsmodel::consumer::config::ConsumerConfig;
use jsmodel::consumer::state::{parse_ack_subject, AckKind, Record, State};
use jsmodel::consumer::{Advisory, Consumer, Out};
use parking_lot::Mutex;
use serde_json::{json, Value};
use std::sync::Arc;
use store::log::StateLog;
use store::os::OsFs;

/// The metadata file of a consumer, in its directory.
const META: &str = "meta.rn";
/// The state log is folded into a snapshot past this many bytes.
const COMPACT_AT: u64 = 4 << 20;

/// A consumer and what the server keeps beside it.
pub struct ConsumerEntry {
    /// The model.
    pub c: Consumer,
    /// Its state log (none for memory consumers).
    log: Option<StateLog<OsFs>>,
    /// Its directory, relative to the JetStream root.
    pub dir: String,
    /// The subscriptions its acks and pull requests arrive on.
    pub sids: Vec<Box<[u8]>>,
    /// Changes written since the last sync.
    pub dirty: bool,
}

/// What a consumer's metadata file holds.
#[derive(serde::Serialize, serde::Deserialize)]
struct Meta {
    config: ConsumerConfig,
    created: i64,
}

/// A consumer's directory.
pub fn consumer_dir(stream_dir: &str, name: &str) -> String {
    format!("{stream_dir}/obs/{name}")
}

fn encode_records(recs: &[Record]) -> Vec<u8> {
    let mut out = Vec::new();
    for r in recs {
        let b = r.encode();
        out.push(b.len() as u8);
        out.extend_from_slice(&b);
    }
    out
}

fn decode_records(mut b: &[u8]) -> Vec<Record> {
    let mut out = Vec::new();
    while let Some((&n, rest)) = b.split_first() {
        let Some(rec) = rest.get(..n as usize) else {
            break;
        };
        if let Some(r) = Record::decode(rec) {
            out.push(r);
        }
        b = &rest[n as usize..];
    }
    out
}

/// Whether a consumer of a stream with this storage keeps files.
fn durable_files(stream: Storage, cfg: &ConsumerConfig) -> bool {
    stream == Storage::File && !cfg.memory_storage
}

impl ConsumerEntry {
    /// Creates a consumer's files (metadata, empty state log) and its entry.
    pub fn create(
        js: &JetStream,
        storage: Storage,
        stream_dir: &str,
        c: Consumer,
    ) -> Result<ConsumerEntry, String> {
        let dir = consumer_dir(stream_dir, &c.name);
        let log = if durable_files(storage, &c.cfg) {
            write_meta(js, &dir, &c.cfg, c.created)?;
            let (log, _) = StateLog::open(OsFs::new(&js.root), &dir).map_err(|e| e.to_string())?;
            Some(log)
        } else {
            None
        };
        let mut ce = ConsumerEntry {
            c,
            log,
            dir,
            sids: Vec::new(),
            dirty: false,
        };
        ce.write_records();
        ce.sync().map_err(|e| e.to_string())?;
        Ok(ce)
    }

    /// Moves the model's new records into the state log's buffer.
    pub fn write_records(&mut self) {
        if self.c.state.records.is_empty() {
            return;
        }
        let recs = std::mem::take(&mut self.c.state.records);
        if let Some(log) = self.log.as_mut() {
            for r in &recs {
                log.append(&r.encode());
            }
            self.dirty = true;
        }
    }

    /// Makes the state durable (`fdatasync`), compacting a long log.
    pub fn sync(&mut self) -> std::io::Result<()> {
        self.write_records();
        let Some(log) = self.log.as_mut() else {
            return Ok(());
        };
        if log.len() > COMPACT_AT {
            log.compact(&encode_records(&self.c.state.snapshot()))?;
        } else {
            log.sync()?;
        }
        self.dirty = false;
        Ok(())
    }

    /// Rewrites the metadata after an update.
    pub fn rewrite_meta(&self, js: &JetStream) -> Result<(), String> {
        if self.log.is_none() {
            return Ok(());
        }
        write_meta(js, &self.dir, &self.c.cfg, self.c.created)
    }

    /// Removes the consumer's files.
    pub fn destroy(self) {
        if let Some(log) = self.log {
            if let Err(e) = log.destroy() {
                crate::error!("JetStream failed to remove a consumer's files: {e}");
            }
        }
    }
}

fn write_meta(js: &JetStream, dir: &str, cfg: &ConsumerConfig, created: i64) -> Result<(), String> {
    let mut fs = OsFs::new(&js.root);
    store::Fs::create_dir_all(&mut fs, dir).map_err(|e| e.to_string())?;
    let body = serde_json::to_vec(&Meta {
        config: cfg.clone(),
        created,
    })
    .map_err(|e| e.to_string())?;
    store::meta::write(&mut fs, &format!("{dir}/{META}"), &body).map_err(|e| e.to_string())
}

/// Loads the consumers of a stream found on disk. A damaged consumer is
/// reported and left on disk.
pub fn recover(srv: &Server, js: &Arc<JetStream>, jsa: &Arc<JsAccount>, entry: &Arc<Mutex<Entry>>) {
    let (stream_dir, stream_name) = {
        let e = entry.lock();
        (e.dir.clone(), e.stream.cfg.name.clone())
    };
    let base = js.root.join(&stream_dir).join("obs");
    let Ok(dirs) = std::fs::read_dir(&base) else {
        return;
    };
    let mut names: Vec<String> = dirs
        .filter_map(|d| d.ok())
        .map(|d| d.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for name in names {
        let dir = consumer_dir(&stream_dir, &name);
        let what = format!("'{} > {stream_name} > {name}'", jsa.account.name);
        let mut fs = OsFs::new(&js.root);
        let meta: Meta = match store::meta::read(&mut fs, &format!("{dir}/{META}"))
            .map_err(|e| e.to_string())
            .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()))
        {
            Ok(m) => m,
            Err(e) => {
                crate::error!("  Error recovering consumer {what}: {e}; left on disk, not loaded");
                continue;
            }
        };
        let (log, rec) = match StateLog::open(OsFs::new(&js.root), &dir) {
            Ok(x) => x,
            Err(e) => {
                crate::error!("  Error recovering consumer {what}: {e}; left on disk, not loaded");
                continue;
            }
        };
        if rec.cut > 0 {
            crate::warn!(
                "  Consumer {what}: cut {} bytes of a torn state log",
                rec.cut
            );
        }
        let mut state = State::default();
        let wait = meta.config.ack_wait;
        for r in decode_records(&rec.snapshot) {
            state.replay(r, wait);
        }
        for r in rec.records.iter().filter_map(|b| Record::decode(b)) {
            state.replay(r, wait);
        }
        let c = Consumer::restored(&stream_name, &name, meta.config, meta.created, state);
        let mut ce = ConsumerEntry {
            c,
            log: Some(log),
            dir,
            sids: Vec::new(),
            dirty: false,
        };
        // Deliveries of messages gone from the stream are dropped.
        {
            let e = entry.lock();
            let gone: Vec<u64> =
                ce.c.state
                    .pending
                    .keys()
                    .copied()
                    .filter(|s| e.stream.store.subject_for_seq(*s).is_err())
                    .collect();
            drop(e);
            for s in gone {
                ce.c.state.forget(s);
            }
        }
        crate::info!("  Restored consumer {what}");
        js.listen_acks(srv, jsa, entry, &mut ce);
        entry.lock().consumers.insert(name, ce);
    }
}

impl JetStream {
    /// Subscribes the consumer's ack subject and, for a pull consumer, its
    /// pull request subject.
    pub fn listen_acks(
        &self,
        srv: &Server,
        jsa: &Arc<JsAccount>,
        entry: &Arc<Mutex<Entry>>,
        ce: &mut ConsumerEntry,
    ) {
        if ce.c.cfg.ack_policy != jsmodel::consumer::config::AckPolicy::None {
            let subject = format!("$JS.ACK.{}.{}.*.*.*.*.*", ce.c.stream, ce.c.name);
            let sid = self.client.subscribe(srv, &jsa.account, &subject, false);
            self.targets
                .write()
                .insert(sid.clone(), super::Target::Ack(jsa.clone(), entry.clone()));
            ce.sids.push(sid);
        }
        if ce.c.cfg.flow_control && !ce.c.cfg.is_pull() {
            // Flow control answers come in beside the acks.
            let subject = format!("$JS.FC.{}.{}.*", ce.c.stream, ce.c.name);
            let sid = self.client.subscribe(srv, &jsa.account, &subject, false);
            self.targets
                .write()
                .insert(sid.clone(), super::Target::Ack(jsa.clone(), entry.clone()));
            ce.sids.push(sid);
        }
        let subject = format!("$JS.API.CONSUMER.MSG.NEXT.{}.{}", ce.c.stream, ce.c.name);
        let sid = self.client.subscribe(srv, &jsa.account, &subject, false);
        self.targets
            .write()
            .insert(sid.clone(), super::Target::Next(jsa.clone()));
        ce.sids.push(sid);
    }

    /// Drops a consumer's subscriptions.
    pub fn unlisten_acks(&self, srv: &Server, ce: &ConsumerEntry) {
        for sid in &ce.sids {
            self.drop_sub(srv, sid);
        }
    }
}

/// Whether anyone in `acc` is subscribed to `subject`.
pub fn has_interest(acc: &Account, subject: &str) -> bool {
    let r = acc.sublist.read().match_subject(subject.as_bytes());
    !r.psubs.is_empty() || !r.qsubs.is_empty()
}

/// [`pump`], then, with `sync`, the consumers' state logs synced: what the
/// returned `Outs` send rests on durable state.
pub fn pump_durable(entry: &mut Entry, acc: &Account, now: i64, sync: bool) -> Outs {
    let mut o = Outs::default();
    pump(entry, acc, now, &mut o);
    if sync {
        for ce in entry.consumers.values_mut().filter(|c| c.dirty) {
            if let Err(err) = ce.sync() {
                crate::error!("JetStream failed to sync a consumer: {err}");
            }
        }
    }
    o
}

/// Runs every consumer of `entry`: deliveries, statuses and advisories come
/// out in `outs`.
pub fn pump(entry: &mut Entry, acc: &Account, now: i64, outs: &mut Outs) {
    let Entry {
        stream, consumers, ..
    } = entry;
    for ce in consumers.values_mut() {
        let mut adv = Vec::new();
        ce.c.pump(
            &mut *stream.store,
            now,
            &mut |s| has_interest(acc, s),
            &mut outs.msgs,
            &mut adv,
        );
        ce.write_records();
        for a in adv {
            outs.advisories
                .push((ce.c.stream.clone(), ce.c.name.clone(), a));
        }
    }
}

/// What a round of consumer work wants sent.
#[derive(Default)]
pub struct Outs {
    /// Messages and statuses.
    pub msgs: Vec<Out>,
    /// Advisories: stream, consumer, what.
    pub advisories: Vec<(String, String, Advisory)>,
}

impl Outs {
    /// Sends everything in `acc`.
    pub fn send(self, srv: &Arc<Server>, js: &JetStream, acc: &Arc<Account>) {
        self.send_with(&mut internal::Sender::new(srv), js, acc);
    }

    /// Sends everything in `acc` within `tx`'s run.
    pub fn send_with(self, tx: &mut internal::Sender, js: &JetStream, acc: &Arc<Account>) {
        let cid = js.client.shared.cid;
        for o in self.msgs {
            match o {
                Out::Msg {
                    to,
                    ack,
                    subject,
                    hdr,
                    body,
                } => {
                    let hdr = (!hdr.is_empty()).then_some(&hdr[..]);
                    let (to, subject) = (to.as_bytes(), subject.as_bytes());
                    tx.deliver_as(acc, cid, to, subject, Some(ack.as_bytes()), hdr, &body);
                }
                Out::Control { to, reply, hdr } => {
                    let r = Some(reply.as_bytes());
                    tx.publish(acc, cid, to.as_bytes(), r, Some(hdr.as_bytes()), b"");
                }
                Out::Status { to, hdr } => {
                    tx.publish(acc, cid, to.as_bytes(), None, Some(hdr.as_bytes()), b"");
                }
            }
        }
        for (stream, consumer, a) in self.advisories {
            let (kind, subject, extra) = match a {
                Advisory::MaxDeliveries(seq, n) => (
                    "max_deliver",
                    "MAX_DELIVERIES",
                    json!({"stream_seq": seq, "deliveries": n}),
                ),
                Advisory::Nak(seq, n) => (
                    "nak",
                    "MSG_NAKED",
                    json!({"stream_seq": seq, "deliveries": n}),
                ),
                Advisory::Terminated(seq, n, reason) => (
                    "terminated",
                    "MSG_TERMINATED",
                    json!({"stream_seq": seq, "deliveries": n, "reason": reason}),
                ),
            };
            let mut doc = json!({
                "type": format!("io.nats.jetstream.advisory.v1.{kind}"),
                "id": crate::system::events::event_id(),
                "timestamp": super::info::time(now_nanos()),
                "stream": stream,
                "consumer": consumer,
            });
            if let (Some(m), Some(x)) = (doc.as_object_mut(), extra.as_object()) {
                for (k, v) in x {
                    m.insert(k.clone(), v.clone());
                }
                if !js.domain.is_empty() {
                    m.insert("domain".into(), json!(js.domain));
                }
            }
            let subj = format!("$JS.EVENT.ADVISORY.CONSUMER.{subject}.{stream}.{consumer}");
            let body = serde_json::to_vec(&doc).unwrap_or_default();
            tx.publish(acc, cid, subj.as_bytes(), None, None, &body);
        }
    }
}

/// Publishes a consumer action advisory (`created` or `deleted`) on
/// `$JS.EVENT.ADVISORY.CONSUMER.<CREATED|DELETED>.<stream>.<consumer>`.
pub fn action_advisory(
    srv: &Arc<Server>,
    js: &JetStream,
    acc: &Arc<Account>,
    stream: &str,
    consumer: &str,
    action: &str,
) {
    let subj = format!(
        "$JS.EVENT.ADVISORY.CONSUMER.{}.{stream}.{consumer}",
        action_token(action)
    );
    let doc = json!({
        "type": "io.nats.jetstream.advisory.v1.consumer_action",
        "stream": stream,
        "consumer": consumer,
        "action": action,
    });
    advise(srv, js, acc, &subj, doc);
}

/// Publishes a consumer pause advisory on
/// `$JS.EVENT.ADVISORY.CONSUMER.PAUSE.<stream>.<consumer>`.
pub fn pause_advisory(
    srv: &Arc<Server>,
    js: &JetStream,
    acc: &Arc<Account>,
    stream: &str,
    consumer: &str,
    paused: bool,
    until: &str,
) {
    let subj = format!("$JS.EVENT.ADVISORY.CONSUMER.PAUSE.{stream}.{consumer}");
    let mut doc = json!({
        "type": "io.nats.jetstream.advisory.v1.consumer_pause",
        "stream": stream,
        "consumer": consumer,
        "paused": paused,
    });
    if !until.starts_with("0001-") {
        doc["pause_until"] = json!(until);
    }
    advise(srv, js, acc, &subj, doc);
}

/// Publishes a stream action advisory (`create`, `modify` or `delete`) on
/// `$JS.EVENT.ADVISORY.STREAM.<CREATED|UPDATED|DELETED>.<stream>`.
pub fn stream_advisory(
    srv: &Arc<Server>,
    js: &JetStream,
    acc: &Arc<Account>,
    stream: &str,
    action: &str,
) {
    let subj = format!(
        "$JS.EVENT.ADVISORY.STREAM.{}.{stream}",
        action_token(action)
    );
    let doc = json!({
        "type": "io.nats.jetstream.advisory.v1.stream_action",
        "stream": stream,
        "action": action,
    });
    advise(srv, js, acc, &subj, doc);
}

fn action_token(action: &str) -> &'static str {
    match action {
        "create" => "CREATED",
        "modify" => "UPDATED",
        _ => "DELETED",
    }
}

/// Publishes an action advisory when anyone listens: `doc` gets the event
/// id and time after its type, and the domain at the end, as Go orders them.
fn advise(srv: &Arc<Server>, js: &JetStream, acc: &Arc<Account>, subj: &str, doc: Value) {
    if !has_interest(acc, subj) {
        return;
    }
    let mut m = serde_json::Map::new();
    for (k, v) in doc.as_object().into_iter().flatten() {
        m.insert(k.clone(), v.clone());
        if k == "type" {
            m.insert("id".into(), json!(crate::system::events::event_id()));
            m.insert("timestamp".into(), json!(super::info::time(now_nanos())));
        }
    }
    if !js.domain.is_empty() {
        m.insert("domain".into(), json!(js.domain));
    }
    let body = serde_json::to_vec(&m).unwrap_or_default();
    let cid = js.client.shared.cid;
    internal::publish(srv, acc, cid, subj.as_bytes(), None, None, &body);
}

/// Applies an ack message; returns whether its AckAck is due.
pub fn ack(
    entry: &mut Entry,
    subject: &str,
    body: &[u8],
    now: i64,
    outs: &mut Outs,
    next: &mut Option<(String, Vec<u8>)>,
    reply: Option<&str>,
) -> bool {
    if let Some(rest) = subject.strip_prefix("$JS.FC.") {
        // A flow control answer: deliveries go on after the batch.
        let consumer = rest.split('.').nth(1).unwrap_or_default();
        if let Some(ce) = entry.consumers.get_mut(consumer) {
            ce.c.flow_control_answer(subject);
        }
        return false;
    }
    let Some((_, consumer, info)) = parse_ack_subject(subject) else {
        return false;
    };
    let Some(kind) = AckKind::parse(body) else {
        return info.sseq != 0;
    };
    let Entry {
        stream, consumers, ..
    } = entry;
    let Some(ce) = consumers.get_mut(consumer) else {
        return false;
    };
    let res = ce.c.ack(&info, kind, now);
    ce.write_records();
    let (cs, cn) = (ce.c.stream.clone(), ce.c.name.clone());
    match stream.cfg.retention {
        Retention::Limits => {}
        Retention::WorkQueue => {
            for seq in &res.acked {
                let _ = stream.store.remove(*seq);
            }
        }
        Retention::Interest => {
            for seq in &res.acked {
                let Ok(subj) = stream.store.subject_for_seq(*seq) else {
                    continue;
                };
                let needed = consumers
                    .iter()
                    .any(|(n, o)| n != consumer && o.c.needs_ack(*seq, &subj));
                if !needed {
                    let _ = stream.store.remove(*seq);
                }
            }
        }
    }
    if let (Some(b), Some(r)) = (res.next, reply) {
        *next = Some((r.to_string(), b));
    }
    for a in res.advisories {
        outs.advisories.push((cs.clone(), cn.clone(), a));
    }
    res.reply
}

/// Takes a pull request for `consumer`.
pub fn request(
    entry: &mut Entry,
    consumer: &str,
    reply: &str,
    body: &[u8],
    now: i64,
    outs: &mut Outs,
) -> bool {
    let Entry {
        stream, consumers, ..
    } = entry;
    let Some(ce) = consumers.get_mut(consumer) else {
        return false;
    };
    ce.c.request(reply, body, now, &*stream.store, &mut outs.msgs);
    true
}

/// Redelivery, request expiry, heartbeats and ephemeral reaping, every 50 ms.
pub async fn timer_loop(srv: Arc<Server>, js: Arc<JetStream>) {
    let mut tick = tokio::time::interval(std::time::Duration::from_millis(50));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = srv.shutdown.cancelled() => return,
        }
        let accounts: Vec<Arc<JsAccount>> = js.accounts.read().values().cloned().collect();
        for jsa in accounts {
            let entries: Vec<Arc<Mutex<Entry>>> = jsa.streams.lock().values().cloned().collect();
            for entry in entries {
                let now = now_nanos();
                let mut outs = Outs::default();
                let reaped = {
                    let mut e = entry.lock();
                    // Nothing is delivered before its own sync: a batch being
                    // stored runs its consumers once it is synced.
                    if e.consumers.is_empty()
                        || (js.lazy_sync.is_none() && e.stream.store.needs_sync())
                    {
                        continue;
                    }
                    let due = e.consumers.values().any(|ce| {
                        !ce.c.cfg.is_pull()
                            || ce.c.state.has_redelivery()
                            || ce.c.next_deadline().is_some_and(|d| d <= now)
                    });
                    if due {
                        pump(&mut e, &jsa.account, now, &mut outs);
                    }
                    reap(&mut e, now)
                };
                for ce in reaped {
                    js.unlisten_acks(&srv, &ce);
                    ce.destroy();
                }
                outs.send(&srv, &js, &jsa.account);
            }
        }
    }
}

/// Removes ephemeral consumers idle past their `inactive_threshold`.
fn reap(e: &mut Entry, now: i64) -> Vec<ConsumerEntry> {
    let idle: Vec<String> = e
        .consumers
        .iter()
        .filter(|(_, ce)| {
            let t = ce.c.cfg.inactive_threshold;
            t > 0 && ce.c.waiting.is_empty() && now.saturating_sub(ce.c.last_active) > t
        })
        .map(|(n, _)| n.clone())
        .collect();
    let gone: Vec<ConsumerEntry> = idle
        .into_iter()
        .filter_map(|n| e.consumers.remove(&n))
        .collect();
    for ce in &gone {
        drop_uninterested(e, ce);
    }
    gone
}

/// After `gone` left an interest stream: the messages from its ack floor on
/// that no remaining consumer needs are removed (nats-server's
/// `cleanupNoInterestMessages`).
pub fn drop_uninterested(e: &mut Entry, gone: &ConsumerEntry) {
    if e.stream.cfg.retention != Retention::Interest {
        return;
    }
    let Entry {
        stream, consumers, ..
    } = e;
    let mut next = gone.c.state.ack_floor.stream;
    let mut drop = Vec::new();
    while let Ok(m) = stream.store.load_next("", next) {
        next = m.seq + 1;
        if !consumers.values().any(|o| o.c.needs_ack(m.seq, &m.subject)) {
            drop.push(m.seq);
        }
    }
    for seq in drop {
        let _ = stream.store.remove(seq);
    }
}
