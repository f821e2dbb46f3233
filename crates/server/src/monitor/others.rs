//! `/subsz`, `/accountz`, `/accstatz`, `/healthz`, and the endpoints of
//! features rnatsd does not serve yet (`/gatewayz`, `/leafz`,
//! `/jsz`, `/ipqueuesz`), which answer as nats-server does with the
//! feature off.

use super::connz::{SubJson, GLOBAL_ACCOUNT};
use super::gofmt::{json_compact, json_pretty, GoFloat, GoTime};
use super::{Monitor, Query, Reply};
use crate::delivery::closed::SubDetail;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

/// nats-server's `SublistStats`.
#[derive(Serialize, Default, Clone)]
pub struct SublistStats {
    num_subscriptions: u64,
    num_cache: u64,
    num_inserts: u64,
    num_removes: u64,
    num_matches: u64,
    cache_hit_rate: GoFloat,
    max_fanout: u64,
    avg_fanout: GoFloat,
}

impl SublistStats {
    fn of(s: sublist::Stats) -> SublistStats {
        SublistStats {
            num_subscriptions: s.num_subs,
            num_cache: s.num_cache,
            num_inserts: s.num_inserts,
            num_removes: s.num_removes,
            num_matches: s.num_matches,
            cache_hit_rate: GoFloat(s.cache_hit_rate),
            max_fanout: s.max_fanout,
            avg_fanout: GoFloat(s.avg_fanout),
        }
    }
}

fn now() -> GoTime {
    GoTime(chrono::Utc::now())
}

#[derive(Serialize)]
struct Subsz {
    server_id: String,
    now: GoTime,
    #[serde(flatten)]
    stats: SublistStats,
    total: usize,
    offset: usize,
    limit: usize,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    subscriptions_list: Vec<SubJson>,
}

/// `GET /subsz` (also `/subscriptionsz`).
pub(super) fn subsz(m: &Monitor, q: &Query) -> Reply {
    m.count("/subsz");
    let subs = try_q!(q.bool("subs"));
    let offset = try_q!(q.int("offset")).max(0) as usize;
    let limit = match try_q!(q.int("limit")) {
        l if l <= 0 => 1024,
        l => l as usize,
    };
    let test = q.get("test");
    let acc = q.get("acc");
    if !test.is_empty() && !sublist::is_valid_literal_subject(test.as_bytes()) {
        return Reply::Bad(format!(
            "invalid test subject, must be valid publish subject: {test}"
        ));
    }
    let ours = acc.is_empty() || acc == GLOBAL_ACCOUNT;
    let (stats, all) = {
        let sl = m.srv.sublist.read();
        let stats = if ours {
            SublistStats::of(sl.stats())
        } else {
            SublistStats::default()
        };
        let all = if subs && ours { sl.all() } else { Vec::new() };
        (stats, all)
    };
    let details: Vec<SubJson> = all
        .iter()
        .filter(|s| test.is_empty() || sublist::subject_matches(&s.0.subject, test.as_bytes()))
        .map(|s| SubJson::new(&SubDetail::of(&s.0), GLOBAL_ACCOUNT))
        .collect();
    let n = details.len();
    let page: Vec<SubJson> = details[offset.min(n)..offset.saturating_add(limit).min(n)].to_vec();
    Reply::Json(json_pretty(&Subsz {
        server_id: m.srv.id.clone(),
        now: now(),
        stats,
        total: page.len(),
        offset,
        limit,
        subscriptions_list: page,
    }))
}

#[derive(Serialize)]
struct Gatewayz {
    server_id: String,
    now: GoTime,
    outbound_gateways: BTreeMap<String, ()>,
    inbound_gateways: BTreeMap<String, ()>,
}

/// `GET /gatewayz`: gateways off.
pub(super) fn gatewayz(m: &Monitor, q: &Query) -> Reply {
    m.count("/gatewayz");
    try_q!(q.bool("accs"));
    Reply::Json(json_pretty(&Gatewayz {
        server_id: m.srv.id.clone(),
        now: now(),
        outbound_gateways: BTreeMap::new(),
        inbound_gateways: BTreeMap::new(),
    }))
}

#[derive(Serialize)]
struct Leafz {
    server_id: String,
    now: GoTime,
    leafnodes: u32,
    leafs: Vec<()>,
}

/// `GET /leafz`: no leafnodes.
pub(super) fn leafz(m: &Monitor, q: &Query) -> Reply {
    m.count("/leafz");
    try_q!(q.bool("subs"));
    Reply::Json(json_pretty(&Leafz {
        server_id: m.srv.id.clone(),
        now: now(),
        leafnodes: 0,
        leafs: Vec::new(),
    }))
}

#[derive(Serialize)]
struct AccountInfo {
    account_name: &'static str,
    update_time: GoTime,
    expired: bool,
    complete: bool,
    jetstream_enabled: bool,
    leafnode_connections: u32,
    client_connections: usize,
    subscriptions: u64,
    name_tag: &'static str,
    sublist_stats: SublistStats,
}

#[derive(Serialize)]
struct Accountz {
    server_id: String,
    now: GoTime,
    #[serde(skip_serializing_if = "Option::is_none")]
    accounts: Option<Vec<&'static str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    account_detail: Option<AccountInfo>,
}

/// `GET /accountz`: the global account.
pub(super) fn accountz(m: &Monitor, q: &Query) -> Reply {
    m.count("/accountz");
    let mut a = Accountz {
        server_id: m.srv.id.clone(),
        now: now(),
        accounts: None,
        account_detail: None,
    };
    match q.get("acc") {
        "" => a.accounts = Some(vec![GLOBAL_ACCOUNT]),
        GLOBAL_ACCOUNT => {
            let (count, stats) = {
                let sl = m.srv.sublist.read();
                (sl.count(), SublistStats::of(sl.stats()))
            };
            a.account_detail = Some(AccountInfo {
                account_name: GLOBAL_ACCOUNT,
                update_time: GoTime(m.srv.start_time),
                expired: false,
                complete: true,
                jetstream_enabled: false,
                leafnode_connections: 0,
                client_connections: m.srv.num_clients(),
                subscriptions: count,
                name_tag: GLOBAL_ACCOUNT,
                sublist_stats: stats,
            });
        }
        other => return Reply::Bad(format!("Account {other} does not exist")),
    }
    Reply::Json(json_pretty(&a))
}

#[derive(Serialize, Default)]
struct MsgBytes {
    msgs: u64,
    bytes: u64,
}

/// nats-server 2.12's `DataStats`: totals, and the part that crossed
/// gateways, routes and leafnodes.
#[derive(Serialize)]
struct DataStats {
    msgs: u64,
    bytes: u64,
    gateways: MsgBytes,
    routes: MsgBytes,
    leafs: MsgBytes,
}

#[derive(Serialize)]
struct AccountStat {
    acc: &'static str,
    conns: usize,
    leafnodes: u32,
    total_conns: usize,
    sent: DataStats,
    received: DataStats,
    slow_consumers: u64,
}

#[derive(Serialize)]
struct AccountStatz {
    server_id: String,
    now: GoTime,
    account_statz: Vec<AccountStat>,
}

/// `GET /accstatz`: the global account's counters (listed when it has
/// connections, or with `unused=1`).
pub(super) fn accstatz(m: &Monitor, q: &Query) -> Reply {
    m.count("/accstatz");
    let unused = try_q!(q.bool("unused"));
    let st = &m.srv.stats;
    let conns = m.srv.num_clients();
    let (mut to_routes, mut from_routes) = (MsgBytes::default(), MsgBytes::default());
    for l in m.srv.routes.links() {
        let o = l.shared.out.lock();
        to_routes.msgs += o.out_msgs;
        to_routes.bytes += o.out_bytes;
        drop(o);
        from_routes.msgs += l.shared.in_msgs.load(Ordering::Relaxed);
        from_routes.bytes += l.shared.in_bytes.load(Ordering::Relaxed);
    }
    let mut list = Vec::new();
    if unused || conns > 0 {
        list.push(AccountStat {
            acc: GLOBAL_ACCOUNT,
            conns,
            leafnodes: 0,
            total_conns: conns,
            sent: DataStats {
                msgs: st.out_msgs.load(Ordering::Relaxed),
                bytes: st.out_bytes.load(Ordering::Relaxed),
                gateways: MsgBytes::default(),
                routes: to_routes,
                leafs: MsgBytes::default(),
            },
            received: DataStats {
                msgs: st.in_msgs.load(Ordering::Relaxed),
                bytes: st.in_bytes.load(Ordering::Relaxed),
                gateways: MsgBytes::default(),
                routes: from_routes,
                leafs: MsgBytes::default(),
            },
            slow_consumers: st.slow_consumers.load(Ordering::Relaxed),
        });
    }
    Reply::Json(json_pretty(&AccountStatz {
        server_id: m.srv.id.clone(),
        now: now(),
        account_statz: list,
    }))
}

#[derive(Serialize)]
struct JsConfig {
    max_memory: i64,
    max_storage: i64,
}

#[derive(Serialize)]
struct JsApi {
    level: u32,
    total: u64,
    errors: u64,
}

/// nats-server 2.12's `JSInfo` with JetStream off, in its field order.
#[derive(Serialize)]
struct Jsz {
    memory: u64,
    storage: u64,
    reserved_memory: u64,
    reserved_storage: u64,
    accounts: u32,
    ha_assets: u32,
    api: JsApi,
    server_id: String,
    now: GoTime,
    disabled: bool,
    config: JsConfig,
    streams: u32,
    consumers: u32,
    messages: u64,
    bytes: u64,
    total: u64,
}

/// `GET /jsz`: JetStream disabled.
pub(super) fn jsz(m: &Monitor, q: &Query) -> Reply {
    m.count("/jsz");
    for key in ["accounts", "streams", "consumers", "config"] {
        try_q!(q.bool(key));
    }
    try_q!(q.int("offset"));
    try_q!(q.int("limit"));
    if try_q!(q.bool("leader-only")) {
        return Reply::Bad("filtered response: not leader".into());
    }
    Reply::Json(json_pretty(&Jsz {
        server_id: m.srv.id.clone(),
        now: now(),
        disabled: true,
        config: JsConfig {
            max_memory: 0,
            max_storage: 0,
        },
        memory: 0,
        storage: 0,
        reserved_memory: 0,
        reserved_storage: 0,
        accounts: 0,
        ha_assets: 0,
        api: JsApi {
            level: 0,
            total: 0,
            errors: 0,
        },
        streams: 0,
        consumers: 0,
        messages: 0,
        bytes: 0,
        total: 0,
    }))
}

#[derive(Serialize)]
struct Health {
    status: &'static str,
}

/// `GET /healthz`: compact `{"status":"ok"}` once the client listener is
/// up.
pub(super) fn healthz(m: &Monitor, q: &Query) -> Reply {
    m.count("/healthz");
    for key in ["js-enabled", "js-enabled-only", "js-server-only"] {
        try_q!(q.bool(key));
    }
    if m.srv.client_addr.get().is_none() {
        return Reply::Unavailable(json_compact(&serde_json::json!({
            "status": "error",
            "error": "failed to be ready for connections after 1ms: startup did not complete"
        })));
    }
    Reply::Json(json_compact(&Health { status: "ok" }))
}

/// `GET /ipqueuesz`: rnatsd has no internal queues (nats-server indents
/// this one with three spaces; an empty map is `{}` either way).
pub(super) fn ipqueuesz(q: &Query) -> Reply {
    try_q!(q.bool("all"));
    Reply::Json(b"{}".to_vec())
}
