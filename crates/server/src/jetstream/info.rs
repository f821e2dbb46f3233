//! Stream info and state documents, in nats-server 2.12.4's shape.

use super::Entry;
use serde_json::{json, Map, Value};

/// Go's zero time in JSON.
const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// RFC 3339 with nanoseconds (Go's `time.Time` in JSON); zero is Go's zero time.
pub fn time(ns: i64) -> String {
    if ns == 0 {
        return ZERO_TIME.to_string();
    }
    jsmodel::stream::rfc3339(ns)
}

/// Options of a stream info request.
#[derive(Default)]
pub struct Detail<'a> {
    /// List the interior deletes.
    pub deleted: bool,
    /// List the subjects matching this filter, with counts.
    pub subjects: Option<&'a str>,
    /// Skip this many of those subjects (in byte order).
    pub offset: usize,
}

/// Most subjects one stream info lists (`JSMaxSubjectDetails`).
pub const SUBJECT_DETAILS: usize = 100_000;

/// The `state` of a stream.
pub fn state(e: &Entry, detail: &Detail<'_>) -> Value {
    let st = if detail.deleted {
        e.stream.store.state()
    } else {
        e.stream.store.fast_state()
    };
    let mut m = Map::new();
    m.insert("messages".into(), json!(st.msgs));
    m.insert("bytes".into(), json!(st.bytes));
    m.insert("first_seq".into(), json!(st.first_seq));
    m.insert("first_ts".into(), json!(time(st.first_ts)));
    m.insert("last_seq".into(), json!(st.last_seq));
    m.insert("last_ts".into(), json!(time(st.last_ts)));
    if st.num_subjects > 0 {
        m.insert("num_subjects".into(), json!(st.num_subjects));
    }
    if let Some(filter) = detail.subjects {
        let subjects: Map<String, Value> = e
            .stream
            .store
            .subjects_state(filter)
            .into_iter()
            .skip(detail.offset)
            .take(SUBJECT_DETAILS)
            .map(|(k, v)| (k, json!(v.msgs)))
            .collect();
        if !subjects.is_empty() {
            m.insert("subjects".into(), Value::Object(subjects));
        }
    }
    if st.num_deleted > 0 {
        m.insert("num_deleted".into(), json!(st.num_deleted));
    }
    if detail.deleted && !st.deleted.is_empty() {
        m.insert("deleted".into(), json!(st.deleted));
    }
    if let Some(lost) = &st.lost {
        m.insert(
            "lost".into(),
            json!({"msgs": lost.msgs, "bytes": lost.bytes}),
        );
    }
    m.insert("consumer_count".into(), json!(e.consumers.len()));
    Value::Object(m)
}

/// The config as responses show it: with the server's version and level,
/// or (in lists) as stored.
pub fn config(e: &Entry, dynamic: bool) -> Value {
    let cfg = if dynamic {
        jsmodel::metadata::with_dynamic(
            &e.stream.cfg,
            crate::config::options::NATS_VERSION,
            crate::config::options::JS_API_LEVEL,
        )
    } else {
        e.stream.cfg.clone()
    };
    serde_json::to_value(cfg).unwrap_or(Value::Null)
}

/// Serialises a response as nats-server does (`<`, `>` and `&` escaped).
pub fn to_bytes(v: &Value) -> Vec<u8> {
    let s = serde_json::to_string(v).unwrap_or_default();
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out.into_bytes()
}
