//! JetStream on a single server: the glue between the network and the pure
//! `jetstream` (model) and `store` (storage) crates.
//!
//! One internal client serves JetStream. In each JetStream account it
//! subscribes to the API subjects it answers and to every stream's subjects.
//! Its task takes whatever messages are queued to it as one batch: publishes
//! captured by streams are stored, every store touched is synced once
//! (`fdatasync`), and only then do their PubAcks go out (group commit). With
//! `sync_interval` set, stores are synced on that interval instead and
//! PubAcks do not wait, as nats-server does.
//!
//! Layer: connections. The core holds the [`JetStream`] in
//! `Server::jetstream` without knowing its type.

pub mod api;
mod consumer_api;
pub mod consumers;
mod direct;
mod info;
mod limits;
mod loops;
mod recover;
pub mod sources;
mod update;

use crate::accounts::Account;
use crate::config::types::JsAccountLimits;
use crate::delivery::internal::{self, InternalClient, InternalMsg};
use crate::server::Server;
use crate::{info, warn};
use jsmodel::{Outcome, Publish, Stream};
use parking_lot::{Mutex, RwLock};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Connection id of JetStream's internal client.
const JS_CID: u64 = internal::JETSTREAM_CID;

/// A stream and what the server keeps beside it.
pub struct Entry {
    /// The stream's model and store.
    pub stream: Stream,
    /// When it was created, nanoseconds since the epoch.
    pub created: i64,
    /// The subscriptions capturing its subjects.
    pub sids: Vec<Box<[u8]>>,
    /// Its directory, relative to the JetStream root.
    pub dir: String,
    /// Its consumers, by name.
    pub consumers: BTreeMap<String, consumers::ConsumerEntry>,
    /// Its sources and their progress.
    pub sources: sources::Sources,
}

/// A JetStream-enabled account.
pub struct JsAccount {
    /// The account.
    pub account: Arc<Account>,
    /// Its JetStream limits.
    pub limits: JsAccountLimits,
    /// Its streams, by name.
    pub streams: Mutex<BTreeMap<String, Arc<Mutex<Entry>>>>,
    /// API requests answered.
    pub api_total: AtomicU64,
    /// API requests answered with an error.
    pub api_errors: AtomicU64,
}

/// What a subscription of the JetStream client is for.
#[derive(Clone)]
enum Target {
    Api(Arc<JsAccount>),
    InfoOnly(Arc<Account>),
    Capture(Arc<JsAccount>, Arc<Mutex<Entry>>),
    Ack(Arc<JsAccount>, Arc<Mutex<Entry>>),
    Next(Arc<JsAccount>),
    Direct(Arc<JsAccount>, Arc<Mutex<Entry>>),
    /// Deliveries of a source consumer, by the source's index name.
    Source(Arc<JsAccount>, Arc<Mutex<Entry>>, String),
    /// The answer to a source consumer request.
    SourceReply(Arc<Mutex<Entry>>, String),
}

/// JetStream's state.
pub struct JetStream {
    /// The internal client.
    pub client: Arc<InternalClient>,
    /// `<store_dir>/jetstream`.
    pub root: PathBuf,
    /// `sync_interval` set: stores sync on a timer, PubAcks do not wait.
    pub lazy_sync: Option<std::time::Duration>,
    /// The JetStream domain.
    pub domain: String,
    /// The JetStream accounts, by name.
    pub accounts: RwLock<BTreeMap<String, Arc<JsAccount>>>,
    targets: RwLock<HashMap<Box<[u8]>, Target>>,
    /// Memory storage limit in bytes.
    pub max_memory: i64,
    /// File storage limit in bytes.
    pub max_storage: i64,
    /// `strict` mode.
    pub strict: bool,
}

impl Totals {
    /// nats-server's `JetStreamStats`: the `stats` of `/varz`, the head of `/jsz`.
    pub fn stats_json(&self) -> serde_json::Map<String, serde_json::Value> {
        let api = serde_json::json!({
            "level": crate::config::options::JS_API_LEVEL,
            "total": self.api_total,
            "errors": self.api_errors,
        });
        let mut m = serde_json::Map::new();
        m.insert("memory".into(), self.memory.into());
        m.insert("storage".into(), self.storage.into());
        m.insert("reserved_memory".into(), 0.into());
        m.insert("reserved_storage".into(), 0.into());
        m.insert("accounts".into(), self.accounts.into());
        m.insert("ha_assets".into(), 0.into());
        m.insert("api".into(), api);
        m
    }
}

/// JetStream totals, as monitoring shows them.
#[derive(Default)]
pub struct Totals {
    /// Bytes in memory streams.
    pub memory: u64,
    /// Bytes in file streams.
    pub storage: u64,
    /// JetStream accounts.
    pub accounts: usize,
    /// Streams.
    pub streams: usize,
    /// Consumers.
    pub consumers: usize,
    /// Messages in all streams.
    pub messages: u64,
    /// Bytes in all streams.
    pub bytes: u64,
    /// API requests answered.
    pub api_total: u64,
    /// API requests answered with an error.
    pub api_errors: u64,
}

/// The JetStream of `srv`, when it runs.
pub fn get(srv: &Server) -> Option<Arc<JetStream>> {
    srv.jetstream.get()?.clone().downcast::<JetStream>().ok()
}

/// Whether JetStream runs with these options (enabled, and not in a cluster,
/// which needs the replicated layer).
pub fn served(opts: &crate::config::options::Options) -> bool {
    opts.jetstream.enabled && opts.cluster.port == 0
}

/// The server's default store directory, as nats-server's.
fn default_store_dir() -> PathBuf {
    std::env::temp_dir().join("nats")
}

/// Starts JetStream when the options enable it.
pub fn start(srv: &Arc<Server>) {
    let opts = srv.opts();
    if !opts.jetstream.enabled {
        return;
    }
    if opts.cluster.port != 0 {
        warn!(
            "JetStream is enabled, but inside a cluster it needs the replicated layer, which rnatsd does not serve yet: JetStream is off"
        );
        return;
    }
    let began = std::time::Instant::now();
    let base = opts
        .jetstream
        .store_dir
        .clone()
        .filter(|s| !s.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(default_store_dir);
    let root = base.join("jetstream");
    info!("Starting JetStream");
    for line in BANNER {
        info!("{line}");
    }
    info!("---------------- JETSTREAM ----------------");
    info!("  Strict:          {}", opts.jetstream.strict);
    info!("  Max Memory:      {}", friendly_bytes(max_memory(&opts)));
    info!(
        "  Max Storage:     {}",
        friendly_bytes(max_storage(&opts, &base))
    );
    info!("  Store Directory: \"{}\"", root.display());
    if let Some(d) = opts.jetstream.domain.as_deref().filter(|d| !d.is_empty()) {
        info!("  Domain:          {d}");
    }
    info!(
        "  API Level:       {}",
        crate::config::options::JS_API_LEVEL
    );
    info!("-------------------------------------------");
    if let Err(e) = std::fs::create_dir_all(&root) {
        crate::error!(
            "Could not create JetStream storage directory {}: {e}",
            root.display()
        );
        return;
    }
    let lazy_sync = if opts.jetstream.sync_always {
        None
    } else {
        opts.jetstream.sync_interval
    };
    let js = Arc::new(JetStream {
        max_memory: max_memory(&opts),
        max_storage: max_storage(&opts, &base),
        strict: opts.jetstream.strict,
        client: Arc::new(InternalClient::new(JS_CID, "JETSTREAM")),
        root,
        lazy_sync,
        domain: opts.jetstream.domain.clone().unwrap_or_default(),
        accounts: RwLock::new(BTreeMap::new()),
        targets: RwLock::new(HashMap::new()),
    });
    if srv.jetstream.set(js.clone()).is_err() {
        return;
    }
    enable_accounts(srv, &js);
    tokio::spawn(serve(srv.clone(), js.clone()));
    tokio::spawn(loops::age_loop(srv.clone(), js.clone()));
    tokio::spawn(consumers::timer_loop(srv.clone(), js.clone()));
    tokio::spawn(loops::sources_loop(srv.clone(), js.clone()));
    if let Some(every) = lazy_sync {
        tokio::spawn(loops::sync_loop(srv.clone(), js.clone(), every));
    }
    info!("Took {:?} to start JetStream", began.elapsed());
}

const BANNER: [&str; 7] = [
    "    _ ___ _____ ___ _____ ___ ___   _   __  __",
    " _ | | __|_   _/ __|_   _| _ \\ __| /_\\ |  \\/  |",
    "| || | _|  | | \\__ \\ | | |   / _| / _ \\| |\\/| |",
    " \\__/|___| |_| |___/ |_| |_|_\\___/_/ \\_\\_|  |_|",
    "",
    "         https://docs.nats.io/jetstream",
    "",
];

/// 75% of the machine's memory unless configured, as nats-server.
fn max_memory(opts: &crate::config::options::Options) -> i64 {
    if opts.jetstream.max_memory > 0 {
        return opts.jetstream.max_memory;
    }
    let total = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| {
                    l.split_whitespace()
                        .nth(1)
                        .and_then(|v| v.parse::<i64>().ok())
                })
        })
        .unwrap_or(0)
        * 1024;
    total / 4 * 3
}

/// 75% of the free space under the store directory unless configured.
fn max_storage(opts: &crate::config::options::Options, dir: &std::path::Path) -> i64 {
    if opts.jetstream.max_store > 0 {
        return opts.jetstream.max_store;
    }
    let _ = std::fs::create_dir_all(dir);
    let Ok(c) = std::ffi::CString::new(dir.to_string_lossy().as_bytes()) else {
        return 0;
    };
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a valid C string and `st` a writable statvfs.
    if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 {
        return 0;
    }
    (st.f_bavail as i64 * st.f_frsize as i64) / 4 * 3
}

/// Go's `friendlyBytes`.
fn friendly_bytes(bytes: i64) -> String {
    let fb = bytes as f64;
    if fb < 1024.0 {
        return format!("{bytes} B");
    }
    let exp = (fb.ln() / 1024f64.ln()).floor() as i32;
    let unit = b"KMGTPE"[(exp - 1) as usize] as char;
    format!("{:.2} {unit}B", fb / 1024f64.powi(exp))
}

/// Which accounts get JetStream: the global account when no accounts are
/// configured, else those with `jetstream` limits. Every other account
/// (but the system account) answers `$JS.API.INFO` with "not enabled".
fn enable_accounts(srv: &Arc<Server>, js: &Arc<JetStream>) {
    let opts = srv.opts();
    let sys = srv.system_account();
    let mut enabled: Vec<(Arc<Account>, JsAccountLimits)> = Vec::new();
    if let Some(trust) = srv.trust() {
        // Operator mode: the accounts whose JWT enables JetStream.
        for key in trust.account_keys() {
            if let (Some(l), Some(acc)) =
                (trust.jetstream(key), srv.accounts.lookup(key.as_bytes()))
            {
                enabled.push((acc, l));
            }
        }
    } else if opts.accounts.is_empty() {
        if let Some(g) = srv.accounts.lookup(b"$G") {
            enabled.push((g, JsAccountLimits::default()));
        }
    }
    for a in &opts.accounts {
        if let (Some(l), Some(acc)) = (&a.jetstream, srv.accounts.lookup(a.name.as_bytes())) {
            if !enabled.iter().any(|(e, _)| Arc::ptr_eq(e, &acc)) {
                enabled.push((acc, l.clone()));
            }
        }
    }
    for acc in srv.accounts.all() {
        let on = enabled.iter().any(|(a, _)| Arc::ptr_eq(a, &acc));
        if !on && Some(acc.name.as_str()) != sys.as_deref() {
            js.info_only(srv, &acc);
        }
    }
    for (acc, limits) in enabled {
        enable(srv, js, acc, limits);
    }
}

/// Serves JetStream in an account: its API subscriptions and its streams.
fn enable(srv: &Arc<Server>, js: &Arc<JetStream>, acc: Arc<Account>, limits: JsAccountLimits) {
    let jsa = Arc::new(JsAccount {
        account: acc.clone(),
        limits,
        streams: Mutex::new(BTreeMap::new()),
        api_total: AtomicU64::new(0),
        api_errors: AtomicU64::new(0),
    });
    js.accounts.write().insert(acc.name.clone(), jsa.clone());
    for subject in api::SUBJECTS.iter().chain(consumer_api::SUBJECTS.iter()) {
        let sid = js.client.subscribe(srv, &acc, subject, false);
        js.targets.write().insert(sid, Target::Api(jsa.clone()));
    }
    recover::streams(srv, js, &jsa);
}

/// An account JWT came into force at run time: JetStream serves the account
/// if the JWT enables it (limits of an account already served apply from
/// the next start); otherwise `$JS.API.INFO` answers "not enabled".
pub fn account_updated(srv: &Arc<Server>, key: &str, limits: Option<JsAccountLimits>) {
    let Some(js) = get(srv) else { return };
    let Some(acc) = srv.accounts.lookup(key.as_bytes()) else {
        return;
    };
    if js.accounts.read().contains_key(key) {
        return;
    }
    match limits {
        Some(l) => {
            let old: Vec<Box<[u8]>> = js
                .targets
                .read()
                .iter()
                .filter(|(_, t)| matches!(t, Target::InfoOnly(a) if Arc::ptr_eq(a, &acc)))
                .map(|(sid, _)| sid.clone())
                .collect();
            for sid in old {
                js.drop_sub(srv, &sid);
            }
            enable(srv, &js, acc, l);
        }
        None => {
            let served = js
                .targets
                .read()
                .values()
                .any(|t| matches!(t, Target::InfoOnly(a) if Arc::ptr_eq(a, &acc)));
            if !served {
                js.info_only(srv, &acc);
            }
        }
    }
}

impl JetStream {
    /// The totals over every JetStream account.
    pub fn totals(&self) -> Totals {
        let mut t = Totals::default();
        for jsa in self.accounts.read().values() {
            t.accounts += 1;
            t.api_total += jsa.api_total.load(Ordering::Relaxed);
            t.api_errors += jsa.api_errors.load(Ordering::Relaxed);
            for e in jsa.streams.lock().values() {
                let e = e.lock();
                let st = e.stream.store.fast_state();
                t.streams += 1;
                t.consumers += e.consumers.len();
                t.messages += st.msgs;
                t.bytes += st.bytes;
                match e.stream.cfg.storage {
                    jsmodel::config::Storage::Memory => t.memory += st.bytes,
                    jsmodel::config::Storage::File => t.storage += st.bytes,
                }
            }
        }
        t
    }

    /// The `config` block of `/jsz` and `/varz`: nats-server's `JetStreamConfig`.
    /// rnatsd syncs before every acknowledgement unless `sync_interval` is set,
    /// which it reports as `sync_always`.
    pub fn config_json(&self) -> serde_json::Value {
        let mut m = serde_json::Map::new();
        m.insert("max_memory".into(), self.max_memory.into());
        m.insert("max_storage".into(), self.max_storage.into());
        m.insert("store_dir".into(), self.root.display().to_string().into());
        match self.lazy_sync {
            Some(d) => m.insert("sync_interval".into(), (d.as_nanos() as u64).into()),
            None => m.insert("sync_always".into(), true.into()),
        };
        if !self.domain.is_empty() {
            m.insert("domain".into(), self.domain.clone().into());
        }
        if self.strict {
            m.insert("strict".into(), true.into());
        }
        serde_json::Value::Object(m)
    }

    /// Subscribes the stream's subjects for capture.
    pub fn capture(&self, srv: &Server, jsa: &Arc<JsAccount>, entry: &Arc<Mutex<Entry>>) {
        let (subjects, name, direct) = {
            let e = entry.lock();
            let c = &e.stream.cfg;
            (c.subjects.clone(), c.name.clone(), c.allow_direct)
        };
        let mut sids = Vec::new();
        for s in &subjects {
            let sid = self.client.subscribe(srv, &jsa.account, s, false);
            self.targets
                .write()
                .insert(sid.clone(), Target::Capture(jsa.clone(), entry.clone()));
            sids.push(sid);
        }
        if direct {
            for s in [
                format!("$JS.API.DIRECT.GET.{name}"),
                format!("$JS.API.DIRECT.GET.{name}.>"),
            ] {
                let sid = self.client.subscribe(srv, &jsa.account, &s, false);
                self.targets
                    .write()
                    .insert(sid.clone(), Target::Direct(jsa.clone(), entry.clone()));
                sids.push(sid);
            }
        }
        entry.lock().sids = sids;
    }

    /// Drops the stream's capture subscriptions.
    pub fn release(&self, srv: &Server, entry: &Arc<Mutex<Entry>>) {
        let sids = std::mem::take(&mut entry.lock().sids);
        for sid in sids {
            self.drop_sub(srv, &sid);
        }
    }

    /// Answers `$JS.API.INFO` in an account without JetStream.
    fn info_only(&self, srv: &Server, acc: &Arc<Account>) {
        let sid = self.client.subscribe(srv, acc, api::INFO, false);
        self.targets
            .write()
            .insert(sid, Target::InfoOnly(acc.clone()));
    }

    /// Drops one subscription of the JetStream client and what it was for.
    pub fn drop_sub(&self, srv: &Server, sid: &[u8]) {
        self.targets.write().remove(sid);
        self.client.unsubscribe(srv, sid);
    }
}

/// A reply waiting for the batch's syncs.
struct Pending {
    acc: Arc<Account>,
    reply: Vec<u8>,
    body: Vec<u8>,
    /// The stream whose sync it waits for (an API reply waits for none).
    entry: Option<Arc<Mutex<Entry>>>,
}

/// A batch's work: replies waiting for syncs, and streams whose consumers run after.
#[derive(Default)]
struct Batch {
    pending: Vec<Pending>,
    outs: Vec<(Arc<Account>, consumers::Outs)>,
}

/// Serves the JetStream client: each batch of queued messages is handled,
/// the stores it touched are synced once, then the replies go out.
async fn serve(srv: Arc<Server>, js: Arc<JetStream>) {
    let j = js.clone();
    internal::serve_batches(srv, js.client.clone(), move |srv, batch| {
        let mut b = Batch::default();
        internal::read_messages(batch, |m| handle(srv, &j, &m, &mut b));
        finish_batch(srv, &j, b);
    })
    .await;
    tokio::task::block_in_place(|| loops::sync_all(&js));
}

/// Syncs every store the batch wrote (unless syncing lazily), runs the
/// consumers of the streams it touched, syncs their state, then replies.
fn finish_batch(srv: &Arc<Server>, js: &JetStream, batch: Batch) {
    let Batch { pending, mut outs } = batch;
    let mut seen: Vec<*const Mutex<Entry>> = Vec::new();
    let entries: Vec<(Arc<Account>, Arc<Mutex<Entry>>)> = pending
        .iter()
        .filter_map(|p| p.entry.clone().map(|e| (p.acc.clone(), e)))
        .filter(|(_, e)| {
            let k = Arc::as_ptr(e);
            !seen.contains(&k) && {
                seen.push(k);
                true
            }
        })
        .collect();
    let mut failed: Vec<(*const Mutex<Entry>, String)> = Vec::new();
    let mut republish = Vec::new();
    if !entries.is_empty() {
        let now = now_nanos();
        tokio::task::block_in_place(|| {
            for (acc, arc) in &entries {
                let mut e = arc.lock();
                let rp = std::mem::take(&mut e.stream.republished);
                if js.lazy_sync.is_none() {
                    match e.stream.store.sync() {
                        Ok(()) => sources::persist(&mut e),
                        Err(err) => {
                            crate::error!("JetStream failed to sync a stream: {err}");
                            failed.push((Arc::as_ptr(arc), err.to_string()));
                        }
                    }
                }
                if !failed.iter().any(|(k, _)| *k == Arc::as_ptr(arc)) {
                    republish.extend(rp.into_iter().map(|r| (acc.clone(), r)));
                }
                if e.consumers.is_empty() {
                    continue;
                }
                let o = consumers::pump_durable(&mut e, acc, now, js.lazy_sync.is_none());
                outs.push((acc.clone(), o));
            }
        });
    }
    // One run for the batch's answers and deliveries: each receiver is
    // written to once.
    let mut tx = internal::Sender::new(srv);
    let cid = js.client.shared.cid;
    for p in pending.into_iter().filter(|p| !p.reply.is_empty()) {
        let fail = p
            .entry
            .as_ref()
            .and_then(|e| failed.iter().find(|(k, _)| *k == Arc::as_ptr(e)));
        let body = match (fail, &p.entry) {
            (Some((_, why)), Some(e)) => {
                let e = e.lock();
                let err = jsmodel::ApiError::err(jsmodel::ErrorKind::StreamStoreFailed, why);
                e.stream.pub_ack(&Outcome::Refused(err))
            }
            _ => p.body,
        };
        tx.publish(&p.acc, cid, &p.reply, None, None, &body);
    }
    loops::send_republished(&mut tx, js, republish);
    for (acc, o) in outs {
        o.send_with(&mut tx, js, &acc);
    }
}
/// Nanoseconds since the epoch, now.
pub fn now_nanos() -> i64 {
    chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0)
}

fn handle(srv: &Arc<Server>, js: &Arc<JetStream>, m: &InternalMsg<'_>, batch: &mut Batch) {
    let pending = &mut batch.pending;
    let target = js.targets.read().get(m.sid).cloned();
    let Some(target) = target else { return };
    match target {
        Target::Capture(jsa, entry) => {
            let subject = String::from_utf8_lossy(m.subject);
            let hdr = m.headers.unwrap_or_default();
            let storage = entry.lock().stream.cfg.storage;
            let exceeded = limits::would_exceed(&jsa, storage, &subject, hdr, m.payload);
            let (outcome, ack, no_ack) = {
                let mut e = entry.lock();
                let o = if exceeded {
                    crate::warn!(
                        "JetStream {} resource limits exceeded for account: {:?}",
                        if storage == jsmodel::Storage::Memory {
                            "memory"
                        } else {
                            "file"
                        },
                        jsa.account.name
                    );
                    Outcome::Refused(jsmodel::ApiError::new(
                        jsmodel::ErrorKind::AccountResourcesExceeded,
                    ))
                } else {
                    let Entry {
                        stream, consumers, ..
                    } = &mut *e;
                    let interest = |s: &str| consumers.values().any(|ce| ce.c.matches(s));
                    let p = Publish {
                        subject: &subject,
                        hdr,
                        msg: m.payload,
                        ts: now_nanos(),
                    };
                    tokio::task::block_in_place(|| stream.process_with(p, &interest))
                };
                let ack = e.stream.pub_ack(&o);
                (o, ack, e.stream.cfg.no_ack)
            };
            if let Some(reply) = m.reply.filter(|_| !no_ack) {
                let waits = matches!(outcome, Outcome::Stored(_) | Outcome::Duplicate(_));
                pending.push(Pending {
                    acc: jsa.account.clone(),
                    reply: reply.to_vec(),
                    body: ack,
                    entry: waits.then_some(entry),
                });
            } else if matches!(outcome, Outcome::Stored(_)) {
                // Nothing waits for it, but the store still has to sync.
                pending.push(Pending {
                    acc: jsa.account.clone(),
                    reply: Vec::new(),
                    body: Vec::new(),
                    entry: Some(entry),
                });
            }
        }
        Target::Api(jsa) => {
            let Some(reply) = m.reply else { return };
            let subject = String::from_utf8_lossy(m.subject).into_owned();
            let resp = tokio::task::block_in_place(|| {
                api::handle(srv, js, &jsa, &subject, m.headers, m.payload)
            });
            if let Some((body, count)) = resp {
                if count != api::Count::No {
                    jsa.api_total.fetch_add(1, Ordering::Relaxed);
                }
                if count == api::Count::Err {
                    jsa.api_errors.fetch_add(1, Ordering::Relaxed);
                }
                pending.push(Pending {
                    acc: jsa.account.clone(),
                    reply: reply.to_vec(),
                    body,
                    entry: None,
                });
            }
        }
        Target::InfoOnly(acc) => {
            let Some(reply) = m.reply else { return };
            pending.push(Pending {
                acc,
                reply: reply.to_vec(),
                body: api::not_enabled_info(),
                entry: None,
            });
        }
        Target::Ack(jsa, entry) => {
            let subject = String::from_utf8_lossy(m.subject);
            let reply = m.reply.map(|r| String::from_utf8_lossy(r).into_owned());
            let mut outs = consumers::Outs::default();
            let mut next = None;
            let now = now_nanos();
            let answer = {
                let mut e = entry.lock();
                let a = tokio::task::block_in_place(|| {
                    consumers::ack(
                        &mut e,
                        &subject,
                        m.payload,
                        now,
                        &mut outs,
                        &mut next,
                        reply.as_deref(),
                    )
                });
                if let Some((r, body)) = &next {
                    if let Some((_, c, _)) = jsmodel::consumer::state::parse_ack_subject(&subject) {
                        consumers::request(&mut e, c, r, body, now, &mut outs);
                    }
                }
                a
            };
            batch.outs.push((jsa.account.clone(), outs));
            batch.pending.push(Pending {
                acc: jsa.account.clone(),
                reply: if answer {
                    reply.unwrap_or_default().into_bytes()
                } else {
                    Vec::new()
                },
                body: Vec::new(),
                entry: Some(entry),
            });
        }
        Target::Direct(jsa, entry) => {
            let Some(reply) = m.reply else { return };
            let subject = String::from_utf8_lossy(m.subject);
            let rest = subject.splitn(6, '.').nth(5).map(str::to_string);
            let (hdr, body) = {
                let mut e = entry.lock();
                tokio::task::block_in_place(|| direct::get(&mut e, rest.as_deref(), m.payload))
            };
            internal::publish(
                srv,
                &jsa.account,
                js.client.shared.cid,
                reply,
                None,
                Some(&hdr[..]).filter(|h| !h.is_empty()),
                &body,
            );
        }
        Target::Source(jsa, entry, iname) => {
            if let Some(reply) = sources::inbound(&jsa, &entry, &iname, m) {
                // Flow control is answered once what came before it is synced.
                batch.pending.push(Pending {
                    acc: jsa.account.clone(),
                    reply,
                    body: Vec::new(),
                    entry: Some(entry),
                });
            }
        }
        Target::SourceReply(entry, iname) => {
            sources::on_reply(&mut entry.lock(), &iname, m.payload);
        }
        Target::Next(jsa) => {
            let Some(reply) = m.reply else { return };
            let subject = String::from_utf8_lossy(m.subject);
            let t: Vec<&str> = subject.split('.').collect();
            let (Some(stream), Some(name)) = (t.get(5), t.get(6)) else {
                return;
            };
            let Some(entry) = jsa.streams.lock().get(*stream).cloned() else {
                return;
            };
            let reply = String::from_utf8_lossy(reply);
            let mut outs = consumers::Outs::default();
            let found = consumers::request(
                &mut entry.lock(),
                name,
                &reply,
                m.payload,
                now_nanos(),
                &mut outs,
            );
            if !found {
                return;
            }
            batch.outs.push((jsa.account.clone(), outs));
            batch.pending.push(Pending {
                acc: jsa.account.clone(),
                reply: Vec::new(),
                body: Vec::new(),
                entry: Some(entry),
            });
        }
    }
}
