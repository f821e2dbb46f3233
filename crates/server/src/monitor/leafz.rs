//! `/leafz` and the leafnode counts of `/varz`, in nats-server 2.12's shape.

use super::gofmt::{json_pretty, rtt, GoTime};
use super::{Monitor, Query, Reply};
use serde::Serialize;
use std::sync::atomic::Ordering;

/// nats-server's `Leafz`.
#[derive(Serialize)]
struct Leafz {
    server_id: String,
    now: GoTime,
    leafnodes: usize,
    leafs: Vec<LeafInfo>,
}

/// nats-server's `LeafInfo`.
#[derive(Serialize)]
struct LeafInfo {
    id: u64,
    name: String,
    is_spoke: bool,
    account: String,
    ip: String,
    port: u16,
    #[serde(skip_serializing_if = "String::is_empty")]
    rtt: String,
    in_msgs: u64,
    out_msgs: u64,
    in_bytes: u64,
    out_bytes: u64,
    subscriptions: usize,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    subscriptions_list: Vec<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    compression: String,
}

/// `GET /leafz[?subs=1][&acc=NAME]`.
pub(super) fn leafz(m: &Monitor, q: &Query) -> Reply {
    let subs = try_q!(q.bool("subs"));
    m.count("/leafz");
    let acc = q.get("acc");
    let mut leafs = Vec::new();
    let mut links = m.srv.leafs.links();
    links.sort_by_key(|l| l.shared.cid);
    for l in links {
        if !acc.is_empty() && l.acc.name != acc {
            continue;
        }
        let sh = &l.shared;
        let (out_msgs, out_bytes) = {
            let o = sh.out.lock();
            (o.out_msgs, o.out_bytes)
        };
        let list: Vec<String> = sh
            .subs
            .lock()
            .values()
            .map(|s| String::from_utf8_lossy(&s.subject).into_owned())
            .collect();
        let remote = l.remote.lock().clone();
        leafs.push(LeafInfo {
            id: sh.cid,
            name: remote.name,
            is_spoke: l.spoke(),
            account: l.acc.name.clone(),
            ip: l.addr.ip().to_string(),
            port: l.addr.port(),
            rtt: rtt(sh.meta.lock().rtt.unwrap_or_default()),
            in_msgs: sh.in_msgs.load(Ordering::Relaxed),
            out_msgs,
            in_bytes: sh.in_bytes.load(Ordering::Relaxed),
            out_bytes,
            subscriptions: list.len(),
            subscriptions_list: if subs { list } else { Vec::new() },
            compression: remote.compression,
        });
    }
    Reply::Json(json_pretty(&Leafz {
        server_id: m.srv.id.clone(),
        now: GoTime(chrono::Utc::now()),
        leafnodes: leafs.len(),
        leafs,
    }))
}

/// The `leaf` block of `/varz` (nats-server's `LeafNodeOptsVarz`).
pub(super) fn leaf_varz(srv: &crate::server::Server) -> serde_json::Value {
    let opts = srv.opts();
    let l = &opts.leafnode;
    let mut v = serde_json::Map::new();
    if l.port != 0 {
        let port = crate::leaf::listen_addr()
            .map(|a| a.port() as i64)
            .unwrap_or(l.port as i64);
        let host = if l.host.is_empty() {
            "0.0.0.0"
        } else {
            &l.host
        };
        v.insert("host".into(), host.into());
        v.insert("port".into(), port.into());
        let auth = if l.auth_timeout > 0.0 {
            l.auth_timeout
        } else {
            2.0
        };
        v.insert(
            "auth_timeout".into(),
            serde_json::to_value(super::gofmt::GoFloat(auth)).unwrap_or_default(),
        );
        let tls = l.tls.as_ref().map(|t| t.timeout).filter(|t| *t > 0.0);
        v.insert(
            "tls_timeout".into(),
            serde_json::to_value(super::gofmt::GoFloat(tls.unwrap_or(2.0))).unwrap_or_default(),
        );
    }
    if !l.remotes.is_empty() {
        let remotes: Vec<serde_json::Value> = l
            .remotes
            .iter()
            .map(|r| {
                let urls: Vec<String> = r
                    .urls
                    .iter()
                    .filter_map(|u| crate::leaf::parse_url(u))
                    .map(|u| u.address())
                    .collect();
                let mut m = serde_json::Map::new();
                m.insert(
                    "local_account".into(),
                    r.local_account
                        .clone()
                        .unwrap_or_else(|| "$G".into())
                        .into(),
                );
                m.insert("urls".into(), urls.into());
                if !r.deny_exports.is_empty() || !r.deny_imports.is_empty() {
                    let mut d = serde_json::Map::new();
                    if !r.deny_exports.is_empty() {
                        d.insert("exports".into(), r.deny_exports.clone().into());
                    }
                    if !r.deny_imports.is_empty() {
                        d.insert("imports".into(), r.deny_imports.clone().into());
                    }
                    m.insert("deny".into(), d.into());
                }
                m.into()
            })
            .collect();
        v.insert("remotes".into(), remotes.into());
    }
    v.into()
}
