//! The JetStream API of a single server: account info and the stream calls,
//! answered with nats-server 2.12.4's JSON.

use super::info::{self, Detail};
use super::recover::{open_store, stream_dir, write_meta};
use super::{now_nanos, Entry, JetStream, JsAccount};
use crate::server::Server;
use base64::Engine;
use jsmodel::config::Storage;
use jsmodel::validate::{check_stream_config, CheckContext};
use jsmodel::{ApiError, ErrorKind, Stream, StreamConfig};
use parking_lot::Mutex;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::sync::Arc;
use store::StoreError;

/// `$JS.API.INFO`.
pub const INFO: &str = "$JS.API.INFO";

/// The API subjects served (others get no responders, as a server without them).
pub const SUBJECTS: [&str; 10] = [
    INFO,
    "$JS.API.STREAM.CREATE.*",
    "$JS.API.STREAM.UPDATE.*",
    "$JS.API.STREAM.DELETE.*",
    "$JS.API.STREAM.INFO.*",
    "$JS.API.STREAM.NAMES",
    "$JS.API.STREAM.LIST",
    "$JS.API.STREAM.PURGE.*",
    "$JS.API.STREAM.MSG.GET.*",
    "$JS.API.STREAM.MSG.DELETE.*",
];

const NAMES_LIMIT: usize = 1024;
const LIST_LIMIT: usize = 256;

/// How an answer counts in the account's API statistics.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Count {
    /// A response.
    Ok,
    /// An error response.
    Err,
    /// Not counted (a message sent back by a get).
    No,
}

/// An answer and how it counts.
pub type Answer = (Vec<u8>, Count);

fn typ(name: &str) -> String {
    format!("io.nats.jetstream.api.v1.{name}")
}

/// A response document: `type` first, then `fields`.
pub fn doc(kind: &str, fields: Vec<(&str, Value)>) -> Value {
    let mut m = Map::new();
    m.insert("type".into(), json!(typ(kind)));
    for (k, v) in fields {
        m.insert(k.into(), v);
    }
    Value::Object(m)
}

/// An error response, with the fields nats-server adds after the error.
pub fn error(kind: &str, e: ApiError, after: Vec<(&str, Value)>) -> Answer {
    let mut f = vec![("error", serde_json::to_value(e).unwrap_or(Value::Null))];
    f.extend(after);
    (info::to_bytes(&doc(kind, f)), Count::Err)
}

/// A success answer.
pub fn ok(v: Value) -> Answer {
    (info::to_bytes(&v), Count::Ok)
}

/// The answer of an account without JetStream to `$JS.API.INFO`.
pub fn not_enabled_info() -> Vec<u8> {
    error(
        "account_info_response",
        ApiError::new(ErrorKind::NotEnabledForAccount),
        Vec::new(),
    )
    .0
}

/// A JSON decoding error as the API words it (without serde's position).
pub fn invalid_json(e: serde_json::Error) -> ApiError {
    let text = e.to_string();
    let text = match text.rfind(" at line ") {
        Some(i) if text[i..].contains(" column ") => text[..i].to_string(),
        _ => text,
    };
    ApiError::err(ErrorKind::InvalidJSON, text)
}

/// Decodes a request body; an empty body is the default request.
fn parse<T: for<'de> Deserialize<'de> + Default>(payload: &[u8]) -> Result<T, ApiError> {
    if payload.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    jsmodel::from_json(payload).map_err(invalid_json)
}

/// Answers one API request; `None` when nats-server would not answer.
pub fn handle(
    srv: &Arc<Server>,
    js: &Arc<JetStream>,
    jsa: &Arc<JsAccount>,
    subject: &str,
    _headers: Option<&[u8]>,
    payload: &[u8],
) -> Option<Answer> {
    let rest = subject.strip_prefix("$JS.API.")?;
    let name_of = |prefix: &str| rest.strip_prefix(prefix).map(str::to_string);
    Some(if rest == "INFO" {
        account_info(js, jsa)
    } else if rest == "STREAM.NAMES" {
        names(jsa, payload)
    } else if rest == "STREAM.LIST" {
        list(jsa, payload)
    } else if let Some(n) = name_of("STREAM.CREATE.") {
        create(srv, js, jsa, &n, payload)
    } else if let Some(n) = name_of("STREAM.DELETE.") {
        delete(srv, js, jsa, &n)
    } else if let Some(n) = name_of("STREAM.INFO.") {
        stream_info(srv, jsa, &n, payload)
    } else if let Some(n) = name_of("STREAM.PURGE.") {
        purge(jsa, &n, payload)
    } else if let Some(n) = name_of("STREAM.MSG.GET.") {
        msg_get(jsa, &n, payload)
    } else if let Some(n) = name_of("STREAM.MSG.DELETE.") {
        msg_delete(jsa, &n, payload)
    } else if let Some(n) = name_of("STREAM.UPDATE.") {
        super::update::update(srv, js, jsa, &n, payload)
    } else if rest.starts_with("CONSUMER.") {
        return super::consumer_api::handle(srv, js, jsa, rest, payload);
    } else {
        return None;
    })
}

fn account_info(js: &JetStream, jsa: &JsAccount) -> Answer {
    let (mut memory, mut storage) = (0u64, 0u64);
    let streams = jsa.streams.lock();
    let mut consumers = 0;
    for e in streams.values() {
        let e = e.lock();
        consumers += e.consumers.len();
        let bytes = e.stream.store.fast_state().bytes;
        match e.stream.cfg.storage {
            Storage::Memory => memory += bytes,
            Storage::File => storage += bytes,
        }
    }
    let l = &jsa.limits;
    let mut f = vec![
        ("memory", json!(memory)),
        ("storage", json!(storage)),
        ("reserved_memory", json!(0)),
        ("reserved_storage", json!(0)),
        ("streams", json!(streams.len())),
        ("consumers", json!(consumers)),
        (
            "limits",
            json!({
                "max_memory": l.max_memory,
                "max_storage": l.max_store,
                "max_streams": l.max_streams,
                "max_consumers": l.max_consumers,
                "max_ack_pending": l.max_ack_pending,
                "memory_max_stream_bytes": l.memory_max_stream_bytes,
                "storage_max_stream_bytes": l.store_max_stream_bytes,
                "max_bytes_required": l.max_bytes_required,
            }),
        ),
    ];
    if !js.domain.is_empty() {
        f.push(("domain", json!(js.domain)));
    }
    let total = jsa.api_total.load(std::sync::atomic::Ordering::Relaxed);
    let errors = jsa.api_errors.load(std::sync::atomic::Ordering::Relaxed);
    f.push((
        "api",
        json!({"level": crate::config::options::JS_API_LEVEL, "total": total, "errors": errors}),
    ));
    ok(doc("account_info_response", f))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct NamesRequest {
    offset: usize,
    subject: String,
}

/// The names of the streams whose subjects can match `filter` (all when empty).
fn matching(jsa: &JsAccount, filter: &str) -> Vec<(String, Arc<Mutex<Entry>>)> {
    jsa.streams
        .lock()
        .iter()
        .filter(|(_, e)| {
            filter.is_empty()
                || e.lock()
                    .stream
                    .cfg
                    .subjects
                    .iter()
                    .any(|s| sublist::subjects_collide(s.as_bytes(), filter.as_bytes()))
        })
        .map(|(n, e)| (n.clone(), e.clone()))
        .collect()
}

fn names(jsa: &JsAccount, payload: &[u8]) -> Answer {
    let req: NamesRequest = match parse(payload) {
        Ok(r) => r,
        Err(e) => return error("stream_names_response", e, Vec::new()),
    };
    let all = matching(jsa, &req.subject);
    let page: Vec<String> = all
        .iter()
        .skip(req.offset)
        .take(NAMES_LIMIT)
        .map(|(n, _)| n.clone())
        .collect();
    let streams = if page.is_empty() {
        Value::Null
    } else {
        json!(page)
    };
    paged(
        "stream_names_response",
        all.len(),
        req.offset,
        NAMES_LIMIT,
        streams,
    )
}

/// A paged list response.
fn paged(kind: &str, total: usize, offset: usize, limit: usize, streams: Value) -> Answer {
    let f = vec![
        ("total", json!(total)),
        ("offset", json!(offset)),
        ("limit", json!(limit)),
        ("streams", streams),
    ];
    ok(doc(kind, f))
}

fn list(jsa: &JsAccount, payload: &[u8]) -> Answer {
    let req: NamesRequest = match parse(payload) {
        Ok(r) => r,
        Err(e) => return error("stream_list_response", e, Vec::new()),
    };
    let all = matching(jsa, &req.subject);
    let now = info::time(now_nanos());
    let page: Vec<Value> = all
        .iter()
        .skip(req.offset)
        .take(LIST_LIMIT)
        .map(|(_, e)| {
            let e = e.lock();
            let mut v = json!({
                "config": info::config(&e, false),
                "created": info::time(e.created),
                "state": info::state(&e, &Detail::default()),
            });
            for (k, m) in super::sources::members(&e) {
                v[k] = m;
            }
            v["ts"] = json!(now);
            v
        })
        .collect();
    paged(
        "stream_list_response",
        all.len(),
        req.offset,
        LIST_LIMIT,
        json!(page),
    )
}

/// Whether `subjects` collide with those of another stream than `name`.
pub fn overlaps(jsa: &JsAccount, name: &str, subjects: &[String]) -> bool {
    jsa.streams.lock().iter().any(|(other, e)| {
        other != name && {
            let e = e.lock();
            subjects.iter().any(|a| {
                e.stream
                    .cfg
                    .subjects
                    .iter()
                    .any(|b| sublist::subjects_collide(a.as_bytes(), b.as_bytes()))
            })
        }
    })
}

/// `checkStreamCfg` with the server's and the account's limits.
pub fn checked(
    srv: &Arc<Server>,
    jsa: &JsAccount,
    cfg: &StreamConfig,
    pedantic: bool,
) -> Result<StreamConfig, ApiError> {
    let opts = srv.opts();
    let lookup = |n: &str| {
        jsa.streams
            .lock()
            .get(n)
            .map(|e| e.lock().stream.cfg.clone())
    };
    let l = &jsa.limits;
    let max_bytes_limit = match cfg.storage {
        Storage::Memory => l.memory_max_stream_bytes,
        Storage::File => l.store_max_stream_bytes,
    };
    let ctx = CheckContext {
        pedantic,
        max_duplicate_window: opts
            .jetstream
            .limits
            .duplicate_window
            .map_or(0, |d| d.as_nanos() as i64),
        lookup: &lookup,
        max_bytes_required: l.max_bytes_required,
        max_bytes_limit: max_bytes_limit.max(0),
    };
    check_stream_config(cfg, &ctx)
}

/// `StreamConfigRequest`: the config and the pedantic flag.
#[derive(Deserialize)]
pub struct CreateRequest {
    /// The config.
    #[serde(flatten)]
    pub config: StreamConfig,
    /// Pedantic mode.
    #[serde(default)]
    pub pedantic: bool,
}

fn create(
    srv: &Arc<Server>,
    js: &Arc<JetStream>,
    jsa: &Arc<JsAccount>,
    name: &str,
    payload: &[u8],
) -> Answer {
    const T: &str = "stream_create_response";
    let fail = |e: ApiError| error(T, e, Vec::new());
    let req: CreateRequest = match jsmodel::from_json(payload) {
        Ok(r) => r,
        Err(e) => return fail(invalid_json(e)),
    };
    let mut cfg = req.config;
    jsmodel::metadata::set_static(&mut cfg);
    if name != cfg.name {
        return fail(ApiError::new(ErrorKind::StreamMismatch));
    }
    if name.contains(['\\', '/']) {
        return fail(ApiError::new(ErrorKind::StreamNameContainsPathSeparators));
    }
    if cfg.sealed {
        return fail(ApiError::err(
            ErrorKind::StreamInvalidConfig,
            "stream configuration for create can not be sealed",
        ));
    }
    if cfg.mirror_direct && cfg.mirror.is_none() {
        return fail(ApiError::err(
            ErrorKind::StreamInvalidConfig,
            "stream has no mirror but does have mirror direct",
        ));
    }
    let cfg = match checked(srv, jsa, &cfg, req.pedantic) {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    if cfg.num_replicas > 1 {
        return fail(ApiError::new(ErrorKind::StreamReplicasNotSupported));
    }
    if cfg.allow_msg_counter || cfg.allow_atomic || cfg.allow_msg_schedules {
        // Served by later work; refused rather than half done.
        return fail(ApiError::err(
            ErrorKind::StreamCreate,
            "rnatsd does not serve this stream feature yet",
        ));
    }
    let existing = jsa.streams.lock().get(name).cloned();
    if let Some(e) = existing {
        let e = e.lock();
        if e.stream.cfg != cfg {
            return fail(ApiError::new(ErrorKind::StreamNameExist));
        }
        // An identical stream is created again, as nats-server answers it.
        return ok(created_doc(&e));
    }
    if overlaps(jsa, name, &cfg.subjects) {
        return fail(ApiError::new(ErrorKind::StreamSubjectOverlap));
    }
    if jsa.limits.max_streams > 0 && jsa.streams.lock().len() as i64 >= jsa.limits.max_streams {
        return fail(ApiError::new(ErrorKind::MaximumStreamsLimit));
    }
    if let Err(e) = super::limits::check_create(js, jsa, &cfg) {
        return fail(e);
    }
    let created = now_nanos();
    let dir = stream_dir(&jsa.account.name, name);
    let store = write_meta(js, &dir, &cfg, created).and_then(|()| open_store(js, &dir, &cfg));
    let store = match store {
        Ok(s) => s,
        Err(e) => {
            crate::warn!(
                "Stream create failed for '{} > {name}': {e}",
                jsa.account.name
            );
            let err = ApiError::err(ErrorKind::StreamCreate, "error creating store for stream");
            return fail(err);
        }
    };
    let mut stream = Stream::new(cfg, js.domain.clone(), store);
    if stream.cfg.first_seq > 1 {
        let _ = stream.store.compact(stream.cfg.first_seq);
        let _ = stream.store.sync();
    }
    let entry = Arc::new(Mutex::new(Entry {
        stream,
        created,
        sids: Vec::new(),
        consumers: std::collections::BTreeMap::new(),
        dir,
        sources: Default::default(),
    }));
    jsa.streams.lock().insert(name.to_string(), entry.clone());
    js.capture(srv, jsa, &entry);
    let mut e = entry.lock();
    super::sources::start(js, &mut e);
    super::consumers::stream_advisory(srv, js, &jsa.account, name, "create");
    ok(created_doc(&e))
}

/// The stream document of a create answer.
pub fn created_doc(e: &Entry) -> Value {
    let mut fields = vec![
        ("config", info::config(e, true)),
        ("created", json!(info::time(e.created))),
        ("state", info::state(e, &Detail::default())),
    ];
    fields.extend(super::sources::members(e));
    fields.push(("ts", json!(info::time(now_nanos()))));
    fields.push(("did_create", json!(true)));
    doc("stream_create_response", fields)
}

fn delete(srv: &Arc<Server>, js: &Arc<JetStream>, jsa: &Arc<JsAccount>, name: &str) -> Answer {
    const T: &str = "stream_delete_response";
    let Some(entry) = jsa.streams.lock().remove(name) else {
        return error(T, ApiError::new(ErrorKind::StreamNotFound), Vec::new());
    };
    js.release(srv, &entry);
    super::sources::stop(srv, js, &mut entry.lock());
    let mut outs = super::consumers::Outs::default();
    let gone: Vec<_> = std::mem::take(&mut entry.lock().consumers)
        .into_values()
        .collect();
    for mut ce in gone {
        ce.c.close(&mut outs.msgs);
        js.unlisten_acks(srv, &ce);
    }
    outs.send(srv, js, &jsa.account);
    let dir = js.root.join(&entry.lock().dir);
    if let Err(e) = std::fs::remove_dir_all(&dir) {
        crate::warn!(
            "Could not remove the files of stream '{} > {name}': {e}",
            jsa.account.name
        );
    }
    super::consumers::stream_advisory(srv, js, &jsa.account, name, "delete");
    ok(doc(T, vec![("success", json!(true))]))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct InfoRequest {
    offset: usize,
    deleted_details: bool,
    subjects_filter: String,
}

fn find(jsa: &JsAccount, name: &str) -> Option<Arc<Mutex<Entry>>> {
    jsa.streams.lock().get(name).cloned()
}

fn stream_info(srv: &Arc<Server>, jsa: &JsAccount, name: &str, payload: &[u8]) -> Answer {
    const T: &str = "stream_info_response";
    let paged0 = || {
        vec![
            ("total", json!(0)),
            ("offset", json!(0)),
            ("limit", json!(0)),
        ]
    };
    let req: InfoRequest = match parse(payload) {
        Ok(r) => r,
        Err(e) => return error(T, e, paged0()),
    };
    let Some(entry) = find(jsa, name) else {
        return error(T, ApiError::new(ErrorKind::StreamNotFound), paged0());
    };
    let e = entry.lock();
    let filter = (!req.subjects_filter.is_empty()).then_some(req.subjects_filter.as_str());
    let detail = Detail {
        deleted: req.deleted_details,
        subjects: filter,
        offset: req.offset,
    };
    let (total, limit) = match filter {
        Some(f) => match e.stream.store.subjects_state(f).len() {
            0 => (0, 0),
            n => (n, info::SUBJECT_DETAILS),
        },
        None => (0, 0),
    };
    ok(doc(
        T,
        vec![
            ("total", json!(total)),
            ("offset", json!(req.offset)),
            ("limit", json!(limit)),
            ("config", info::config(&e, true)),
            ("created", json!(info::time(e.created))),
            ("state", info::state(&e, &detail)),
            ("cluster", json!({"leader": srv.name})),
        ]
        .into_iter()
        .chain(super::sources::members(&e))
        .chain([("ts", json!(info::time(now_nanos())))])
        .collect(),
    ))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PurgeRequest {
    filter: String,
    seq: u64,
    keep: u64,
}

fn store_failed(e: StoreError) -> ApiError {
    ApiError::err(ErrorKind::StreamStoreFailed, e)
}

fn purge(jsa: &JsAccount, name: &str, payload: &[u8]) -> Answer {
    const T: &str = "stream_purge_response";
    let Some(entry) = find(jsa, name) else {
        return error(
            T,
            ApiError::new(ErrorKind::StreamNotFound),
            vec![("purged", json!(0))],
        );
    };
    let req: PurgeRequest = match parse(payload) {
        Ok(r) => r,
        Err(e) => return error(T, e, vec![("purged", json!(0))]),
    };
    let mut e = entry.lock();
    if e.stream.cfg.sealed {
        return error(
            T,
            ApiError::new(ErrorKind::StreamSealed),
            vec![("purged", json!(0))],
        );
    }
    if e.stream.cfg.deny_purge {
        let err = ApiError::err(ErrorKind::StreamPurgeFailed, "stream purge not permitted");
        return error(T, err, vec![("purged", json!(0))]);
    }
    if req.seq > 0 && req.keep > 0 {
        return error(
            T,
            ApiError::new(ErrorKind::BadRequest),
            vec![("purged", json!(0))],
        );
    }
    let purged = e
        .stream
        .store
        .purge(&req.filter, req.seq, req.keep)
        .and_then(|n| e.stream.store.sync().map(|()| n));
    if purged.is_ok() {
        let st = e.stream.store.fast_state();
        let mut fseq = st.first_seq;
        if !req.filter.is_empty() {
            fseq = e.stream.store.filtered_state(fseq, &req.filter).first;
        }
        let Entry {
            stream, consumers, ..
        } = &mut *e;
        for ce in consumers.values_mut() {
            let filters = ce.c.filters().to_vec();
            let subset = !filters.is_empty()
                && filters
                    .iter()
                    .all(|f| jsmodel::validate::subject_is_subset_match(f, &req.filter));
            let (mut start, wider) = if req.filter.is_empty() || subset {
                (fseq, false)
            } else if filters.is_empty()
                || filters
                    .iter()
                    .any(|f| jsmodel::validate::subject_is_subset_match(&req.filter, f))
            {
                (st.first_seq, true)
            } else {
                continue;
            };
            if start == 0 && !wider {
                start = st.last_seq + 1;
            }
            let store = &stream.store;
            ce.c.state
                .purged(start, wider, &|s| store.subject_for_seq(s).is_err());
            if let Err(err) = ce.sync() {
                crate::error!("JetStream failed to sync a consumer: {err}");
            }
        }
    }
    match purged {
        Ok(n) => ok(doc(T, vec![("success", json!(true)), ("purged", json!(n))])),
        Err(err) => error(
            T,
            ApiError::err(ErrorKind::StreamPurgeFailed, err),
            vec![("purged", json!(0))],
        ),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct GetRequest {
    seq: u64,
    last_by_subj: String,
    next_by_subj: String,
}

fn msg_get(jsa: &JsAccount, name: &str, payload: &[u8]) -> Answer {
    const T: &str = "stream_msg_get_response";
    if payload.is_empty() {
        return error(T, ApiError::new(ErrorKind::BadRequest), Vec::new());
    }
    let req: GetRequest = match parse(payload) {
        Ok(r) => r,
        Err(e) => return error(T, e, Vec::new()),
    };
    let by_last = !req.last_by_subj.is_empty();
    let by_next = !req.next_by_subj.is_empty();
    let bad = matches!(
        (req.seq > 0, by_last, by_next),
        (true, true, _) | (_, true, true) | (false, false, false)
    );
    if bad {
        return error(T, ApiError::new(ErrorKind::BadRequest), Vec::new());
    }
    let Some(entry) = find(jsa, name) else {
        return error(T, ApiError::new(ErrorKind::StreamNotFound), Vec::new());
    };
    let mut e = entry.lock();
    let got = if by_last {
        e.stream.store.load_last(&req.last_by_subj)
    } else if by_next {
        e.stream.store.load_next(&req.next_by_subj, req.seq)
    } else {
        e.stream.store.load(req.seq)
    };
    let m = match got {
        Ok(m) => m,
        Err(StoreError::NotFound | StoreError::Eof) => {
            return error(T, ApiError::new(ErrorKind::NoMessageFound), Vec::new())
        }
        Err(err) => return error(T, store_failed(err), Vec::new()),
    };
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut msg = Map::new();
    msg.insert("subject".into(), json!(&*m.subject));
    msg.insert("seq".into(), json!(m.seq));
    if !m.hdr().is_empty() {
        msg.insert("hdrs".into(), json!(b64.encode(m.hdr())));
    }
    if !m.msg().is_empty() {
        msg.insert("data".into(), json!(b64.encode(m.msg())));
    }
    msg.insert("time".into(), json!(info::time(m.ts)));
    (
        info::to_bytes(&doc(T, vec![("message", Value::Object(msg))])),
        Count::No,
    )
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct DeleteRequest {
    seq: u64,
    no_erase: bool,
}

fn msg_delete(jsa: &JsAccount, name: &str, payload: &[u8]) -> Answer {
    const T: &str = "stream_msg_delete_response";
    let Some(entry) = find(jsa, name) else {
        return error(T, ApiError::new(ErrorKind::StreamNotFound), Vec::new());
    };
    if payload.is_empty() {
        return error(T, ApiError::new(ErrorKind::BadRequest), Vec::new());
    }
    let req: DeleteRequest = match parse(payload) {
        Ok(r) => r,
        Err(e) => return error(T, e, Vec::new()),
    };
    let mut e = entry.lock();
    if e.stream.cfg.sealed {
        return error(T, ApiError::new(ErrorKind::StreamSealed), Vec::new());
    }
    if e.stream.cfg.deny_delete {
        let err = ApiError::err(
            ErrorKind::StreamMsgDeleteFailed,
            "message delete not permitted",
        );
        return error(T, err, Vec::new());
    }
    let removed = if req.no_erase {
        e.stream.store.remove(req.seq)
    } else {
        e.stream.store.erase(req.seq)
    };
    let removed = removed.and_then(|r| e.stream.store.sync().map(|()| r));
    match removed {
        Ok(true) => ok(doc(T, vec![("success", json!(true))])),
        // nats-server counts these as plain responses, not errors.
        Ok(false) => {
            let err = ApiError::with(ErrorKind::SequenceNotFound, &[("seq", &req.seq)]);
            (error(T, err, Vec::new()).0, Count::Ok)
        }
        Err(err) => (
            error(
                T,
                ApiError::err(ErrorKind::StreamMsgDeleteFailed, err),
                Vec::new(),
            )
            .0,
            Count::Ok,
        ),
    }
}
