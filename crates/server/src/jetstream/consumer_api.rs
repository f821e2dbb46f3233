//! The consumer calls of the JetStream API: create (every subject form),
//! info, delete, names and list, answered with nats-server 2.12.4's JSON.

use super::api::{doc, error, invalid_json, ok, Answer};
use super::consumers::ConsumerEntry;
use super::info;
use super::{now_nanos, Entry, JetStream, JsAccount};
use crate::server::Server;
use jsmodel::config::Retention;
use jsmodel::consumer::config::{Action, CreateRequest};
use jsmodel::consumer::validate::{self, Limits};
use jsmodel::consumer::Consumer;
use jsmodel::{ApiError, ErrorKind};
use parking_lot::Mutex;
use serde_json::{json, Value};
use std::sync::Arc;

/// The consumer API subjects served.
pub const SUBJECTS: [&str; 8] = [
    "$JS.API.CONSUMER.CREATE.*",
    "$JS.API.CONSUMER.CREATE.*.>",
    "$JS.API.CONSUMER.DURABLE.CREATE.*.*",
    "$JS.API.CONSUMER.INFO.*.*",
    "$JS.API.CONSUMER.DELETE.*.*",
    "$JS.API.CONSUMER.NAMES.*",
    "$JS.API.CONSUMER.LIST.*",
    "$JS.API.CONSUMER.PAUSE.*.*",
];

const NAMES_LIMIT: usize = 1024;
const LIST_LIMIT: usize = 256;

/// Answers a consumer API request (`rest` is the subject after `$JS.API.`).
pub fn handle(
    srv: &Arc<Server>,
    js: &Arc<JetStream>,
    jsa: &Arc<JsAccount>,
    rest: &str,
    payload: &[u8],
) -> Option<Answer> {
    let t: Vec<&str> = rest.split('.').collect();
    Some(match t.as_slice() {
        ["CONSUMER", "CREATE", stream] => create(srv, js, jsa, stream, None, None, payload),
        ["CONSUMER", "CREATE", stream, name] => {
            create(srv, js, jsa, stream, Some(name), None, payload)
        }
        ["CONSUMER", "CREATE", stream, name, filter @ ..] => {
            let f = filter.join(".");
            create(srv, js, jsa, stream, Some(name), Some(&f), payload)
        }
        ["CONSUMER", "DURABLE", "CREATE", stream, name] => {
            create_durable(srv, js, jsa, stream, name, payload)
        }
        ["CONSUMER", "DURABLE", "CREATE", ..] => error(
            "consumer_create_response",
            ApiError::new(ErrorKind::ConsumerDurableNameNotInSubject),
            Vec::new(),
        ),
        ["CONSUMER", "INFO", stream, name] => info(jsa, stream, name, payload),
        ["CONSUMER", "DELETE", stream, name] => delete(srv, js, jsa, stream, name, payload),
        ["CONSUMER", "PAUSE", stream, name] => pause(srv, js, jsa, stream, name, payload),
        ["CONSUMER", "NAMES", stream] => names(jsa, stream, payload),
        ["CONSUMER", "LIST", stream] => list(jsa, stream, payload),
        _ => return None,
    })
}

/// Whether a request body is empty as nats-server means it.
fn is_empty_request(payload: &[u8]) -> bool {
    if payload.iter().all(u8::is_ascii_whitespace) {
        return true;
    }
    matches!(serde_json::from_slice::<Value>(payload), Ok(Value::Object(m)) if m.is_empty())
}

/// A consumer's `ConsumerInfo`.
pub fn consumer_info(e: &Entry, ce: &ConsumerEntry, now: i64) -> Value {
    let c = &ce.c;
    let st = &c.state;
    let seq = |cs: u64, ss: u64, last: i64| {
        let mut m = serde_json::Map::new();
        m.insert("consumer_seq".into(), json!(cs));
        m.insert("stream_seq".into(), json!(ss));
        if last > 0 {
            m.insert("last_active".into(), json!(info::time(last)));
        }
        Value::Object(m)
    };
    let redelivered = if c.cfg.max_deliver == 1 {
        0
    } else {
        st.redelivered.len()
    };
    let mut m = serde_json::Map::new();
    m.insert("stream_name".into(), json!(c.stream));
    m.insert("name".into(), json!(c.name));
    m.insert("created".into(), json!(info::time(c.created)));
    m.insert(
        "config".into(),
        serde_json::to_value(&c.cfg).unwrap_or(Value::Null),
    );
    m.insert(
        "delivered".into(),
        seq(st.delivered.consumer, st.delivered.stream, c.last_delivered),
    );
    m.insert(
        "ack_floor".into(),
        seq(st.ack_floor.consumer, st.ack_floor.stream, c.last_ack),
    );
    m.insert("num_ack_pending".into(), json!(st.pending.len()));
    m.insert("num_redelivered".into(), json!(redelivered));
    m.insert("num_waiting".into(), json!(c.waiting.len()));
    m.insert("num_pending".into(), json!(c.num_pending(&*e.stream.store)));
    if c.paused(now) {
        m.insert("paused".into(), json!(true));
        m.insert("pause_remaining".into(), json!(c.pause_remaining(now)));
    }
    m.insert("ts".into(), json!(info::time(now)));
    if !c.cfg.priority_groups.is_empty() {
        let groups: Vec<Value> = c
            .cfg
            .priority_groups
            .iter()
            .map(|g| json!({"group": g, "pinned_ts": "0001-01-01T00:00:00Z"}))
            .collect();
        m.insert("priority_groups".into(), Value::Array(groups));
    }
    Value::Object(m)
}

fn with_info(kind: &str, v: Value) -> Answer {
    let mut d = doc(kind, Vec::new());
    if let (Some(m), Value::Object(x)) = (d.as_object_mut(), v) {
        m.extend(x);
    }
    ok(d)
}

fn create_durable(
    srv: &Arc<Server>,
    js: &Arc<JetStream>,
    jsa: &Arc<JsAccount>,
    stream: &str,
    durable: &str,
    payload: &[u8],
) -> Answer {
    const T: &str = "consumer_create_response";
    let req: CreateRequest = match decode(payload) {
        Ok(r) => r,
        Err(e) => return error(T, e, Vec::new()),
    };
    if stream != req.stream_name {
        return error(T, ApiError::new(ErrorKind::StreamMismatch), Vec::new());
    }
    if durable.contains(['\\', '/']) {
        return error(
            T,
            ApiError::new(ErrorKind::ConsumerNameContainsPathSeparators),
            Vec::new(),
        );
    }
    if req.config.durable.is_empty() {
        return error(
            T,
            ApiError::new(ErrorKind::ConsumerDurableNameNotSet),
            Vec::new(),
        );
    }
    if req.config.durable != durable {
        return error(
            T,
            ApiError::new(ErrorKind::ConsumerDurableNameNotMatchSubject),
            Vec::new(),
        );
    }
    add(srv, js, jsa, stream, req)
}

fn create(
    srv: &Arc<Server>,
    js: &Arc<JetStream>,
    jsa: &Arc<JsAccount>,
    stream: &str,
    name: Option<&str>,
    filter: Option<&str>,
    payload: &[u8],
) -> Answer {
    const T: &str = "consumer_create_response";
    let fail = |k: ErrorKind| error(T, ApiError::new(k), Vec::new());
    let mut req: CreateRequest = match decode(payload) {
        Ok(r) => r,
        Err(e) => return error(T, e, Vec::new()),
    };
    if stream != req.stream_name {
        return fail(ErrorKind::StreamMismatch);
    }
    match name {
        Some(n) => {
            if n.contains(['\\', '/']) {
                return fail(ErrorKind::ConsumerNameContainsPathSeparators);
            }
            if !req.config.durable.is_empty() && req.config.durable != n {
                return fail(ErrorKind::ConsumerDurableNameNotMatchSubject);
            }
            req.config.name = n.to_string();
        }
        None => {
            if !req.config.durable.is_empty() {
                return fail(ErrorKind::ConsumerEphemeralWithDurableName);
            }
        }
    }
    if let Some(f) = filter {
        if !req.config.filter_subjects.is_empty() {
            return fail(ErrorKind::ConsumerMultipleFiltersNotAllowed);
        }
        if req.config.filter_subject != f {
            return fail(ErrorKind::ConsumerCreateFilterSubjectMismatch);
        }
    }
    add(srv, js, jsa, stream, req)
}

/// Decodes a create request; an empty body is the empty request.
fn decode(payload: &[u8]) -> Result<CreateRequest, ApiError> {
    if payload.iter().all(u8::is_ascii_whitespace) {
        return Ok(CreateRequest::default());
    }
    jsmodel::from_json(payload).map_err(invalid_json)
}

/// A random consumer name, as nats-server's (8 characters).
fn random_name() -> String {
    const DIGITS: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    (0..8)
        .map(|_| DIGITS[fastrand::usize(..DIGITS.len())] as char)
        .collect()
}

/// `addConsumerWithAction`: defaults, checks, create or update.
fn add(
    srv: &Arc<Server>,
    js: &Arc<JetStream>,
    jsa: &Arc<JsAccount>,
    stream: &str,
    req: CreateRequest,
) -> Answer {
    const T: &str = "consumer_create_response";
    let fail = |e: ApiError| error(T, e, Vec::new());
    if req.config.replicas > 1 {
        return fail(ApiError::new(ErrorKind::StreamReplicasNotSupported));
    }
    let Some(entry) = jsa.streams.lock().get(stream).cloned() else {
        return fail(ApiError::new(ErrorKind::StreamNotFound));
    };
    let mut guard = entry.lock();
    let e = &mut *guard;
    let mut cfg = req.config;
    let scfg = e.stream.cfg.clone();
    let lim = Limits {
        account_max_ack_pending: jsa.limits.max_ack_pending.max(0),
    };
    if let Err(err) = validate::set_defaults(&mut cfg, &scfg, &lim, req.pedantic) {
        return fail(err);
    }
    if let Err(err) = validate::check(&cfg, &scfg, &lim) {
        return fail(err);
    }
    let existing_name = if !cfg.durable.is_empty() {
        cfg.durable.clone()
    } else {
        cfg.name.clone()
    };
    let now = now_nanos();
    if !existing_name.is_empty() {
        let others: Vec<Vec<String>> = e
            .consumers
            .iter()
            .filter(|(n, _)| **n != existing_name)
            .map(|(_, c)| c.c.cfg.filters())
            .collect();
        if let Some(ce) = e.consumers.get_mut(&existing_name) {
            if scfg.retention == Retention::WorkQueue
                && !validate::partition_unique(&cfg.filters(), &others)
            {
                return fail(ApiError::new(ErrorKind::ConsumerWQConsumerNotUnique));
            }
            if req.action == Action::Create {
                let mut wanted = cfg.clone();
                if wanted.durable.is_empty() && wanted.inactive_threshold == 0 {
                    wanted.inactive_threshold = validate::EPHEMERAL_INACTIVE;
                }
                if wanted != ce.c.cfg {
                    return fail(ApiError::new(ErrorKind::ConsumerAlreadyExists));
                }
            }
            let mut new = cfg.clone();
            if new.durable.is_empty() && new.inactive_threshold == 0 {
                new.inactive_threshold = validate::EPHEMERAL_INACTIVE;
            }
            new.pause_until = ce.c.cfg.pause_until.clone();
            if let Err(err) = validate::check_update(&ce.c.cfg, &new) {
                return fail(err);
            }
            if new != ce.c.cfg {
                ce.c.set_config(new);
                if let Err(err) = ce.rewrite_meta(js) {
                    return fail(ApiError::err(ErrorKind::ConsumerCreate, err));
                }
            }
            ce.c.last_active = now;
            let ce = &e.consumers[&existing_name];
            return with_info(T, consumer_info(e, ce, now));
        }
    }
    if req.action == Action::Update {
        return fail(ApiError::new(ErrorKind::ConsumerDoesNotExist));
    }
    let mut maxc = scfg.max_consumers;
    let acc_max = jsa.limits.max_consumers;
    if maxc <= 0 || (acc_max > 0 && acc_max < maxc) {
        maxc = acc_max;
    }
    if maxc > 0 && e.consumers.len() as i64 >= maxc {
        return fail(ApiError::new(ErrorKind::MaximumConsumersLimit));
    }
    if scfg.retention == Retention::WorkQueue && !cfg.direct {
        let others: Vec<Vec<String>> = e.consumers.values().map(|c| c.c.cfg.filters()).collect();
        if let Err(err) = validate::check_workqueue(&cfg, &others) {
            return fail(err);
        }
    }
    if cfg.durable.len() > 255 {
        return fail(ApiError::with(
            ErrorKind::ConsumerNameTooLong,
            &[("max", &255)],
        ));
    }
    let name = if existing_name.is_empty() {
        random_name()
    } else {
        existing_name
    };
    if !jsmodel::validate::is_valid_name(&name) {
        return fail(ApiError::new(ErrorKind::ConsumerBadDurableName));
    }
    if cfg.durable.is_empty() {
        cfg.name = name.clone();
        if cfg.inactive_threshold == 0 {
            cfg.inactive_threshold = validate::EPHEMERAL_INACTIVE;
        }
    }
    let c = Consumer::new(stream, &name, cfg, now, &*e.stream.store);
    let mut ce = match tokio::task::block_in_place(|| {
        ConsumerEntry::create(js, e.stream.cfg.storage, &e.dir, c)
    }) {
        Ok(ce) => ce,
        Err(err) => {
            crate::error!("JetStream failed to create consumer files: {err}");
            return fail(ApiError::err(
                ErrorKind::ConsumerCreate,
                "error creating store for consumer",
            ));
        }
    };
    drop(guard);
    js.listen_acks(srv, jsa, &entry, &mut ce);
    let mut guard = entry.lock();
    let e = &mut *guard;
    let answer = with_info(T, consumer_info(e, &ce, now));
    e.consumers.insert(name.clone(), ce);
    drop(guard);
    super::consumers::action_advisory(srv, js, &jsa.account, stream, &name, "create");
    answer
}

fn find(jsa: &JsAccount, stream: &str) -> Result<Arc<Mutex<Entry>>, ApiError> {
    jsa.streams
        .lock()
        .get(stream)
        .cloned()
        .ok_or_else(|| ApiError::new(ErrorKind::StreamNotFound))
}

fn info(jsa: &JsAccount, stream: &str, name: &str, payload: &[u8]) -> Answer {
    const T: &str = "consumer_info_response";
    if !is_empty_request(payload) {
        return error(T, ApiError::new(ErrorKind::NotEmptyRequest), Vec::new());
    }
    let entry = match find(jsa, stream) {
        Ok(e) => e,
        Err(err) => return error(T, err, Vec::new()),
    };
    let e = entry.lock();
    let Some(ce) = e.consumers.get(name) else {
        return error(T, ApiError::new(ErrorKind::ConsumerNotFound), Vec::new());
    };
    with_info(T, consumer_info(&e, ce, now_nanos()))
}

fn delete(
    srv: &Arc<Server>,
    js: &Arc<JetStream>,
    jsa: &JsAccount,
    stream: &str,
    name: &str,
    payload: &[u8],
) -> Answer {
    const T: &str = "consumer_delete_response";
    if !is_empty_request(payload) {
        return error(T, ApiError::new(ErrorKind::NotEmptyRequest), Vec::new());
    }
    let entry = match find(jsa, stream) {
        Ok(e) => e,
        Err(err) => return error(T, err, Vec::new()),
    };
    let mut outs = super::consumers::Outs::default();
    let ce = {
        let mut e = entry.lock();
        let Some(mut ce) = e.consumers.remove(name) else {
            return error(T, ApiError::new(ErrorKind::ConsumerNotFound), Vec::new());
        };
        ce.c.close(&mut outs.msgs);
        super::consumers::drop_uninterested(&mut e, &ce);
        let _ = e.stream.store.sync();
        ce
    };
    js.unlisten_acks(srv, &ce);
    ce.destroy();
    outs.send(srv, js, &jsa.account);
    super::consumers::action_advisory(srv, js, &jsa.account, stream, name, "delete");
    ok(doc(T, vec![("success", json!(true))]))
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct PauseRequest {
    pause_until: Option<String>,
}

/// `$JS.API.CONSUMER.PAUSE.<stream>.<consumer>`: pauses a consumer until a
/// time (none or a past time resumes it), stored with its config.
fn pause(
    srv: &Arc<Server>,
    js: &Arc<JetStream>,
    jsa: &JsAccount,
    stream: &str,
    name: &str,
    payload: &[u8],
) -> Answer {
    const T: &str = "consumer_pause_response";
    // Errors carry the unpaused fields, as nats-server's do.
    let fail = |e: ApiError| {
        let zero = json!("0001-01-01T00:00:00Z");
        error(T, e, vec![("paused", json!(false)), ("pause_until", zero)])
    };
    let trimmed = payload.trim_ascii_start();
    let req: PauseRequest = if trimmed.starts_with(b"{") || trimmed.starts_with(b"[") {
        match jsmodel::from_json(payload) {
            Ok(r) => r,
            Err(e) => return fail(invalid_json(e)),
        }
    } else {
        PauseRequest::default()
    };
    let until = req
        .pause_until
        .as_deref()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .and_then(|t| t.timestamp_nanos_opt());
    let entry = match find(jsa, stream) {
        Ok(e) => e,
        Err(err) => return fail(err),
    };
    let now = now_nanos();
    let (paused, until_text) = {
        let mut e = entry.lock();
        let Some(ce) = e.consumers.get_mut(name) else {
            return fail(ApiError::new(ErrorKind::ConsumerNotFound));
        };
        let mut cfg = ce.c.cfg.clone();
        // Go's zero time (out of range here) stands for no pause.
        cfg.pause_until = until.map(jsmodel::stream::rfc3339);
        ce.c.set_config(cfg);
        if let Err(err) = ce.rewrite_meta(js) {
            return fail(ApiError::err(ErrorKind::ConsumerStoreFailed, err));
        }
        let text =
            ce.c.cfg
                .pause_until
                .clone()
                .unwrap_or_else(|| "0001-01-01T00:00:00Z".to_string());
        (ce.c.paused(now), text)
    };
    super::consumers::pause_advisory(srv, js, &jsa.account, stream, name, paused, &until_text);
    let mut fields = vec![
        ("paused", json!(paused)),
        ("pause_until", json!(until_text)),
    ];
    if paused {
        let left = entry
            .lock()
            .consumers
            .get(name)
            .map_or(0, |ce| ce.c.pause_remaining(now));
        fields.push(("pause_remaining", json!(left)));
    }
    ok(doc(T, fields))
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct PagedRequest {
    offset: usize,
}

fn paged_request(payload: &[u8]) -> Result<PagedRequest, ApiError> {
    let first = payload.iter().find(|b| !b.is_ascii_whitespace());
    if !matches!(first, Some(b'{') | Some(b'[')) {
        return Ok(PagedRequest::default());
    }
    jsmodel::from_json(payload).map_err(invalid_json)
}

fn paged_error(kind: &str, e: ApiError) -> Answer {
    error(
        kind,
        e,
        vec![
            ("total", json!(0)),
            ("offset", json!(0)),
            ("limit", json!(0)),
            ("consumers", json!([])),
        ],
    )
}

fn names(jsa: &JsAccount, stream: &str, payload: &[u8]) -> Answer {
    const T: &str = "consumer_names_response";
    let req = match paged_request(payload) {
        Ok(r) => r,
        Err(e) => return paged_error(T, e),
    };
    let entry = match find(jsa, stream) {
        Ok(e) => e,
        Err(err) => return paged_error(T, err),
    };
    let e = entry.lock();
    let total = e.consumers.len();
    let offset = req.offset.min(total);
    let page: Vec<&String> = e.consumers.keys().skip(offset).take(NAMES_LIMIT).collect();
    ok(doc(
        T,
        vec![
            ("total", json!(total)),
            ("offset", json!(offset)),
            ("limit", json!(NAMES_LIMIT)),
            ("consumers", json!(page)),
        ],
    ))
}

fn list(jsa: &JsAccount, stream: &str, payload: &[u8]) -> Answer {
    const T: &str = "consumer_list_response";
    let req = match paged_request(payload) {
        Ok(r) => r,
        Err(e) => return paged_error(T, e),
    };
    let entry = match find(jsa, stream) {
        Ok(e) => e,
        Err(err) => return paged_error(T, err),
    };
    let e = entry.lock();
    let total = e.consumers.len();
    let offset = req.offset.min(total);
    let now = now_nanos();
    let page: Vec<Value> = e
        .consumers
        .values()
        .skip(offset)
        .take(LIST_LIMIT)
        .map(|ce| consumer_info(&e, ce, now))
        .collect();
    ok(doc(
        T,
        vec![
            ("total", json!(total)),
            ("offset", json!(offset)),
            ("limit", json!(LIST_LIMIT)),
            ("consumers", json!(page)),
        ],
    ))
}
