//! Monitoring documents for `$SYS` requests: the same handlers as the HTTP
//! endpoints, asked with the request's JSON options turned into the query
//! parameters they stand for, registered as providers of the system
//! account. Also the server statistics of `STATSZ` events.

use super::{Monitor, Query, Reply};
use crate::server::Server;
use serde_json::{json, Map, Value};
use std::sync::Arc;

/// Request name, HTTP path, and how its JSON options map onto query
/// parameters (`json name`, `query name`; a `subscriptions_detail` of true
/// is `subs=detail`).
type Doc = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

const DOCS: [Doc; 10] = [
    ("VARZ", "/varz", &[]),
    (
        "CONNZ",
        "/connz",
        &[
            ("sort", "sort"),
            ("auth", "auth"),
            ("subscriptions", "subs"),
            ("offset", "offset"),
            ("limit", "limit"),
            ("cid", "cid"),
            ("state", "state"),
            ("user", "user"),
            ("acc", "acc"),
            ("mqtt_client", "mqtt_client"),
        ],
    ),
    (
        "SUBSZ",
        "/subsz",
        &[
            ("subscriptions", "subs"),
            ("offset", "offset"),
            ("limit", "limit"),
            ("account", "acc"),
            ("test", "test"),
        ],
    ),
    ("ROUTEZ", "/routez", &[("subscriptions", "subs")]),
    (
        "GATEWAYZ",
        "/gatewayz",
        &[("accounts", "accs"), ("name", "gw_name")],
    ),
    (
        "LEAFZ",
        "/leafz",
        &[("subscriptions", "subs"), ("account", "acc")],
    ),
    (
        "ACCOUNTZ",
        "/accountz",
        &[("account", "acc"), ("include_unused", "unused")],
    ),
    (
        "JSZ",
        "/jsz",
        &[
            ("account", "acc"),
            ("accounts", "accounts"),
            ("streams", "streams"),
            ("consumer", "consumers"),
            ("config", "config"),
            ("leader_only", "leader-only"),
            ("offset", "offset"),
            ("limit", "limit"),
            ("raft", "raft"),
        ],
    ),
    (
        "HEALTHZ",
        "/healthz",
        &[
            ("js-enabled-only", "js-enabled-only"),
            ("js-server-only", "js-server-only"),
            ("js-meta-only", "js-meta-only"),
            ("account", "account"),
            ("stream", "stream"),
            ("consumer", "consumer"),
            ("details", "details"),
        ],
    ),
    (
        "IPQUEUESZ",
        "/ipqueuesz",
        &[("all", "all"), ("filter", "filter")],
    ),
];

/// Registers every monitoring document with the system account.
pub fn register(srv: &Arc<Server>) {
    if crate::system::get(srv).is_none() {
        return;
    }
    let m = Arc::new(Monitor::internal(srv.clone()));
    tokio::spawn(m.clone().usage_sampler());
    for (name, path, params) in DOCS {
        let m = m.clone();
        crate::system::set_provider(
            srv,
            name,
            Arc::new(move |_, opts, acc| {
                let mut q = query(opts, params);
                if let Some(a) = acc {
                    q.0.retain(|(k, _)| k != "acc");
                    q.0.push(("acc".into(), a.into()));
                    if name == "SUBSZ" {
                        q.0.push(("subs".into(), "true".into()));
                    }
                }
                let reply = m.route(path, &q);
                // A health request's answer carries its status code.
                let code = match &reply {
                    Reply::Json(_) => 200,
                    _ => 503,
                };
                let mut doc = json_of(reply)?;
                if name == "HEALTHZ" {
                    if let Some(o) = doc.as_object_mut() {
                        o.insert("status_code".into(), json!(code));
                    }
                }
                Ok(doc)
            }),
        );
    }
    let sm = m.clone();
    crate::system::set_provider(srv, "STATSZ", Arc::new(move |_, _, _| Ok(statsz(&sm))));
    let am = m.clone();
    crate::system::set_provider(
        srv,
        "ACCOUNT_INFO",
        Arc::new(move |_, _, acc| {
            let q = Query(vec![("acc".into(), acc.unwrap_or_default().into())]);
            let doc = json_of(am.route("/accountz", &q))?;
            Ok(doc.get("account_detail").cloned().unwrap_or(Value::Null))
        }),
    );
    let zm = m.clone();
    crate::system::set_provider(
        srv,
        "ACCOUNT_STATZ",
        Arc::new(move |_, opts, acc| {
            let mut q = Query(Vec::new());
            if opts.get("include_unused").and_then(Value::as_bool) == Some(true) {
                q.0.push(("unused".into(), "true".into()));
            }
            let wanted: Vec<String> = match acc {
                Some(a) => vec![a.to_string()],
                None => opts
                    .get("accounts")
                    .and_then(Value::as_array)
                    .map(|l| {
                        l.iter()
                            .filter_map(|v| v.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default(),
            };
            if !wanted.is_empty() {
                q.0.push((super::others::STATZ_ACCOUNTS.into(), wanted.join(",")));
            }
            let doc = json_of(zm.route("/accstatz", &q))?;
            let listed = doc
                .get("account_statz")
                .and_then(Value::as_array)
                .is_some_and(|l| !l.is_empty());
            // Nothing to say: no answer (as nats-server).
            Ok(if listed { doc } else { Value::Null })
        }),
    );
    crate::system::set_provider(
        srv,
        "RELOAD",
        Arc::new(|srv, _, _| {
            crate::process::reload::reload(srv);
            Ok(Value::Null)
        }),
    );
    crate::system::set_provider(
        srv,
        "EXPVARZ",
        Arc::new(|_, _, _| {
            Ok(json!({"memstats": {}, "cmdline": std::env::args().collect::<Vec<_>>()}))
        }),
    );
}

/// The query parameters a request's JSON options stand for.
fn query(opts: &Value, params: &[(&str, &str)]) -> Query {
    let mut pairs = Vec::new();
    let Some(obj) = opts.as_object() else {
        return Query(pairs);
    };
    for (json_name, param) in params {
        let Some(v) = obj.get(*json_name) else {
            continue;
        };
        let s = match v {
            Value::Bool(b) => b.to_string(),
            Value::Number(n) => n.to_string(),
            Value::String(s) => s.clone(),
            _ => continue,
        };
        pairs.push((param.to_string(), s));
    }
    if *obj.get("subscriptions_detail").unwrap_or(&Value::Null) == Value::Bool(true) {
        pairs.retain(|(k, _)| k != "subs");
        pairs.push(("subs".into(), "detail".into()));
    }
    // Go's ConnState: 0 open, 1 closed, 2 all.
    for (k, v) in pairs.iter_mut() {
        if k == "state" {
            *v = match v.as_str() {
                "1" => "closed".into(),
                "2" => "all".into(),
                _ => "open".into(),
            };
        }
    }
    Query(pairs)
}

/// A handler's reply as the `data` of a `$SYS` response.
fn json_of(r: Reply) -> Result<Value, String> {
    match r {
        Reply::Json(b) | Reply::Unavailable(b) => {
            serde_json::from_slice(&b).map_err(|e| e.to_string())
        }
        Reply::Bad(text) => Err(text),
        Reply::Missing(text) => Err(text.to_string()),
        _ => Err("not available".into()),
    }
}

/// nats-server's `ServerStats`, built from the same counters as `/varz`.
fn statsz(m: &Monitor) -> Value {
    let v = json_of(m.route("/varz", &Query(Vec::new()))).unwrap_or(Value::Null);
    let get = |k: &str| v.get(k).cloned().unwrap_or(Value::Null);
    let srv = &m.srv;
    let active = srv
        .accounts
        .all()
        .iter()
        .filter(|a| a.clients.load(std::sync::atomic::Ordering::Relaxed) > 0)
        .count();
    let mut s = Map::new();
    s.insert("start".into(), get("start"));
    s.insert("mem".into(), get("mem"));
    s.insert("cores".into(), get("cores"));
    s.insert("cpu".into(), get("cpu"));
    s.insert("connections".into(), get("connections"));
    s.insert("total_connections".into(), get("total_connections"));
    s.insert("active_accounts".into(), json!(active));
    s.insert("subscriptions".into(), get("subscriptions"));
    s.insert(
        "sent".into(),
        json!({"msgs": get("out_msgs"), "bytes": get("out_bytes")}),
    );
    s.insert(
        "received".into(),
        json!({"msgs": get("in_msgs"), "bytes": get("in_bytes")}),
    );
    s.insert("slow_consumers".into(), get("slow_consumers"));
    for k in ["stale_connections", "stalled_clients"] {
        if get(k).as_u64().unwrap_or(0) > 0 {
            s.insert(k.into(), get(k));
        }
    }
    let routez = json_of(m.route("/routez", &Query(Vec::new()))).unwrap_or(Value::Null);
    let routes: Vec<Value> = routez
        .get("routes")
        .and_then(Value::as_array)
        .map(|l| {
            l.iter()
                .map(|r| {
                    json!({
                        "rid": r["rid"],
                        "name": r["remote_name"],
                        "sent": {"msgs": r["out_msgs"], "bytes": r["out_bytes"]},
                        "received": {"msgs": r["in_msgs"], "bytes": r["in_bytes"]},
                        "pending": r["pending_size"],
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    if !routes.is_empty() {
        s.insert("routes".into(), Value::Array(routes));
    }
    s.insert("active_servers".into(), json!(1 + srv.routes.num_remotes()));
    s.insert("gomaxprocs".into(), get("gomaxprocs"));
    Value::Object(s)
}
