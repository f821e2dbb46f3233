//! `/routez` and the cluster block of `/varz`, in nats-server 2.12's shape.

use super::connz::SubJson;
use super::gofmt::{duration, json_pretty, rtt, since, uptime, GoFloat, GoTime};
use super::{Monitor, Query, Reply};
use crate::delivery::closed::SubDetail;
use crate::server::Server;
use serde::Serialize;
use std::sync::atomic::Ordering;

/// nats-server's `Routez`.
#[derive(Serialize)]
struct Routez {
    server_id: String,
    server_name: String,
    now: GoTime,
    #[serde(skip_serializing_if = "Option::is_none")]
    import: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    export: Option<serde_json::Value>,
    num_routes: usize,
    routes: Vec<RouteInfo>,
}

/// nats-server's `RouteInfo`.
#[derive(Serialize)]
struct RouteInfo {
    rid: u64,
    remote_id: String,
    remote_name: String,
    did_solicit: bool,
    is_configured: bool,
    ip: String,
    port: u16,
    start: GoTime,
    last_activity: GoTime,
    #[serde(skip_serializing_if = "String::is_empty")]
    rtt: String,
    uptime: String,
    idle: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    import: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    export: Option<serde_json::Value>,
    pending_size: usize,
    in_msgs: u64,
    out_msgs: u64,
    in_bytes: u64,
    out_bytes: u64,
    subscriptions: usize,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    subscriptions_list: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    subscriptions_list_detail: Vec<SubJson>,
    #[serde(skip_serializing_if = "String::is_empty")]
    account: String,
    /// rnatsd never compresses routes.
    compression: &'static str,
}

/// `GET /routez[?subs=1|detail]`.
pub(super) fn routez(m: &Monitor, q: &Query) -> Reply {
    let (subs, detail) = try_q!(q.subs());
    m.count("/routez");
    let srv = &m.srv;
    let now = chrono::Utc::now();
    let opts = srv.opts();
    let perms = opts.cluster.permissions.as_ref();
    let mut routes = Vec::new();
    // Pool connections first, then pinned ones (as nats-server lists them).
    let mut links: Vec<_> = srv
        .routes
        .links()
        .into_iter()
        .map(|l| {
            let st = l.state.lock().clone();
            (l, st)
        })
        .filter(|(_, st)| st.registered)
        .collect();
    links.sort_by_key(|(l, st)| (st.account.is_some(), l.shared.cid));
    for (l, st) in links {
        let sh = &l.shared;
        let (pending, out_msgs, out_bytes) = {
            let o = sh.out.lock();
            (o.pending(), o.out_msgs, o.out_bytes)
        };
        let meta = sh.meta.lock().clone();
        let last = meta.last_activity.unwrap_or(l.start);
        let list: Vec<_> = sh.subs.lock().values().cloned().collect();
        let solicited = l.solicited || st.upgraded.is_some();
        let is_configured = solicited
            && st.url.as_ref().is_some_and(|u| {
                opts.cluster
                    .routes
                    .iter()
                    .filter_map(|r| crate::route::RouteUrl::parse(r))
                    .any(|r| r.same_address(u))
            });
        routes.push(RouteInfo {
            rid: sh.cid,
            remote_id: st.remote_id.clone(),
            remote_name: st.remote_name.clone(),
            did_solicit: solicited,
            is_configured,
            ip: l.addr.ip().to_string(),
            port: l.addr.port(),
            start: GoTime(l.start),
            last_activity: GoTime(last),
            rtt: rtt(meta.rtt.unwrap_or_default()),
            uptime: uptime(since(l.start, now)),
            idle: duration(since(last, now)),
            import: st.import.clone(),
            export: st.export.clone(),
            pending_size: pending,
            in_msgs: sh.in_msgs.load(Ordering::Relaxed),
            out_msgs,
            in_bytes: sh.in_bytes.load(Ordering::Relaxed),
            out_bytes,
            subscriptions: list.len(),
            subscriptions_list: if subs {
                list.iter()
                    .map(|s| String::from_utf8_lossy(&s.subject).into_owned())
                    .collect()
            } else {
                Vec::new()
            },
            subscriptions_list_detail: if detail {
                list.iter()
                    .map(|s| SubJson::new(&SubDetail::of(s), &s.acc.name))
                    .collect()
            } else {
                Vec::new()
            },
            account: st.account.clone().unwrap_or_default(),
            compression: "off",
        });
    }
    Reply::Json(json_pretty(&Routez {
        server_id: srv.id.clone(),
        server_name: srv.name.clone(),
        now: GoTime(now),
        import: perms
            .and_then(|p| p.import.as_ref())
            .map(crate::auth::perms::perm_json),
        export: perms
            .and_then(|p| p.export.as_ref())
            .map(crate::auth::perms::perm_json),
        num_routes: routes.len(),
        routes,
    }))
}

/// nats-server's `ClusterOptsVarz` (every field omitted when unset).
#[derive(Serialize, Default)]
pub(super) struct ClusterVarz {
    #[serde(skip_serializing_if = "String::is_empty")]
    name: String,
    #[serde(rename = "addr", skip_serializing_if = "String::is_empty")]
    host: String,
    #[serde(rename = "cluster_port", skip_serializing_if = "is_zero")]
    port: u16,
    #[serde(skip_serializing_if = "GoFloat::is_zero")]
    auth_timeout: GoFloat,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    urls: Vec<String>,
    #[serde(skip_serializing_if = "GoFloat::is_zero")]
    tls_timeout: GoFloat,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    tls_required: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    tls_verify: bool,
    /// Pool connections per server (-1: pooling is off).
    #[serde(skip_serializing_if = "is_zero_i")]
    pool_size: i32,
}

fn is_zero_i(p: &i32) -> bool {
    *p == 0
}

fn is_zero(p: &u16) -> bool {
    *p == 0
}

/// The cluster block of `/varz` (empty without a cluster).
pub(super) fn cluster_varz(srv: &Server) -> ClusterVarz {
    if !srv.routes.enabled() {
        return ClusterVarz::default();
    }
    let opts = srv.opts();
    let c = &opts.cluster;
    let tls_timeout = c.tls.as_ref().map(|t| t.timeout).filter(|t| *t > 0.0);
    ClusterVarz {
        name: srv.routes.name(),
        host: c.host.clone(),
        port: srv.routes.addr.get().map(|a| a.port()).unwrap_or(0),
        auth_timeout: GoFloat(if c.auth_timeout > 0.0 {
            c.auth_timeout
        } else {
            2.0
        }),
        urls: c
            .routes
            .iter()
            .filter_map(|r| crate::route::RouteUrl::parse(r))
            .map(|u| u.address())
            .collect(),
        tls_timeout: GoFloat(tls_timeout.unwrap_or(2.0)),
        tls_required: c.tls.is_some(),
        tls_verify: c.tls.as_ref().is_some_and(|t| t.verify),
        pool_size: match c.pool_size {
            0 => crate::route::DEFAULT_POOL_SIZE as i32,
            n => n as i32,
        },
    }
}
