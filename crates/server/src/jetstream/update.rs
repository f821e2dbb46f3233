//! `$JS.API.STREAM.UPDATE.<stream>`: a new config for an existing stream,
//! checked as nats-server 2.12.4 checks it, then applied to the store
//! limits, the captured subjects and the metadata file.

use super::api::{checked, created_doc, error, invalid_json, ok, overlaps, Answer, CreateRequest};
use super::recover::write_meta;
use super::{JetStream, JsAccount};
use crate::server::Server;
use jsmodel::update::check_stream_update;
use jsmodel::{ApiError, ErrorKind};
use serde_json::Value;
use std::sync::Arc;

const T: &str = "stream_update_response";

/// Answers a stream update.
pub fn update(
    srv: &Arc<Server>,
    js: &Arc<JetStream>,
    jsa: &Arc<JsAccount>,
    name: &str,
    payload: &[u8],
) -> Answer {
    let fail = |e: ApiError| error(T, e, Vec::new());
    let req: CreateRequest = match jsmodel::from_json(payload) {
        Ok(r) => r,
        Err(e) => return fail(invalid_json(e)),
    };
    let cfg = match checked(srv, jsa, &req.config, req.pedantic) {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    if name != cfg.name {
        return fail(ApiError::new(ErrorKind::StreamMismatch));
    }
    let Some(entry) = jsa.streams.lock().get(name).cloned() else {
        return fail(ApiError::new(ErrorKind::StreamNotFound));
    };
    let mut cfg = cfg;
    jsmodel::metadata::set_static(&mut cfg);
    let old = entry.lock().stream.cfg.clone();
    let cfg = match check_stream_update(&old, &cfg) {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    // New consumer limits may not be below what a consumer has.
    let (ol, nl) = (&old.consumer_limits, &cfg.consumer_limits);
    if ol != nl {
        let violating: Vec<String> = entry
            .lock()
            .consumers
            .iter()
            .filter(|(_, ce)| {
                let c = &ce.c.cfg;
                c.inactive_threshold > nl.inactive_threshold
                    || c.max_ack_pending > nl.max_ack_pending
            })
            .map(|(n, _)| n.clone())
            .collect();
        if !violating.is_empty() {
            return fail(ApiError::err(
                ErrorKind::StreamUpdate,
                format!(
                    "change to limits violates consumers: {}",
                    violating.join(", ")
                ),
            ));
        }
    }
    if cfg.num_replicas > 1 {
        return fail(ApiError::new(ErrorKind::StreamReplicasNotSupported));
    }
    if cfg.subjects != old.subjects && overlaps(jsa, name, &cfg.subjects) {
        return fail(ApiError::new(ErrorKind::StreamSubjectOverlap));
    }
    if cfg != old {
        let (dir, created) = {
            let e = entry.lock();
            (e.dir.clone(), e.created)
        };
        let res = tokio::task::block_in_place(|| {
            write_meta(js, &dir, &cfg, created).and_then(|()| {
                let mut e = entry.lock();
                e.stream
                    .store
                    .update_config(jsmodel::stream::store_config(&cfg))
                    .and_then(|()| e.stream.store.sync())
                    .map_err(|e| e.to_string())
            })
        });
        if let Err(e) = res {
            return fail(ApiError::err(ErrorKind::StreamUpdate, e));
        }
        entry.lock().stream.set_config(cfg);
        js.release(srv, &entry);
        js.capture(srv, jsa, &entry);
        let mut e = entry.lock();
        super::sources::start(js, &mut e);
        super::sources::drop_stale(srv, js, &mut e);
    }
    super::consumers::stream_advisory(srv, js, &jsa.account, name, "modify");
    let e = entry.lock();
    let mut d = created_doc(&e);
    if let Some(m) = d.as_object_mut() {
        m.insert(
            "type".into(),
            Value::String(format!("io.nats.jetstream.api.v1.{T}")),
        );
        m.remove("did_create");
    }
    ok(d)
}
