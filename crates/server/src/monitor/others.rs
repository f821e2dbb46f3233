//! `/subsz`, `/accountz`, `/accstatz`, `/healthz`, and the endpoints of
//! features rnatsd does not serve yet (`/gatewayz`, `/leafz`,
//! `/jsz`, `/ipqueuesz`), which answer as nats-server does with the
//! feature off.

use super::connz::SubJson;
use super::gofmt::{json_compact, json_pretty, GoFloat, GoTime};
use super::{Monitor, Query, Reply};
use crate::delivery::closed::SubDetail;
use serde::Serialize;
use std::collections::BTreeMap;
use std::collections::HashMap;
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
    // Every account's (or the one asked for), as nats-server sums them.
    let mut total = sublist::Stats::default();
    let mut details: Vec<SubJson> = Vec::new();
    let mut accounts = m.srv.accounts.all();
    accounts.sort_by(|a, b| a.name.cmp(&b.name));
    for a in accounts.iter().filter(|a| acc.is_empty() || a.name == acc) {
        let sl = a.sublist.read();
        total.add(&sl.stats());
        if subs {
            details.extend(
                sl.all()
                    .iter()
                    .filter(|s| !s.0.client.is_route)
                    .filter(|s| {
                        test.is_empty() || sublist::subject_matches(&s.0.subject, test.as_bytes())
                    })
                    .map(|s| SubJson::new(&SubDetail::of(&s.0), &a.name)),
            );
        }
    }
    let stats = SublistStats::of(total);
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
struct AccountInfo {
    account_name: String,
    update_time: GoTime,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    is_system: bool,
    expired: bool,
    complete: bool,
    jetstream_enabled: bool,
    leafnode_connections: u32,
    client_connections: i64,
    subscriptions: u64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    exports: Vec<serde_json::Value>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    imports: Vec<serde_json::Value>,
    name_tag: String,
    sublist_stats: SublistStats,
}

#[derive(Serialize)]
struct Accountz {
    server_id: String,
    now: GoTime,
    #[serde(skip_serializing_if = "String::is_empty")]
    system_account: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    accounts: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    account_detail: Option<AccountInfo>,
}

/// Connected clients of account `name` (those yet to send CONNECT are in
/// the global account, as nats-server counts them).
fn connections_in(m: &Monitor, name: &str) -> i64 {
    m.srv
        .clients
        .lock()
        .values()
        .filter(|c| {
            let a = c.shared.meta.lock();
            a.account == name || (a.account.is_empty() && name == crate::accounts::GLOBAL)
        })
        .count() as i64
}

/// `GET /accountz[?acc=NAME]`: every account's name, or one account.
pub(super) fn accountz(m: &Monitor, q: &Query) -> Reply {
    m.count("/accountz");
    let system_account = crate::system::get(&m.srv)
        .map(|s| s.account.name.clone())
        .unwrap_or_default();
    let mut a = Accountz {
        server_id: m.srv.id.clone(),
        now: now(),
        system_account: system_account.clone(),
        accounts: None,
        account_detail: None,
    };
    match q.get("acc") {
        "" => {
            let mut names: Vec<String> = m
                .srv
                .accounts
                .all()
                .iter()
                .map(|a| a.name.clone())
                .collect();
            names.sort();
            a.accounts = Some(names);
        }
        name => {
            let Some(acc) = m.srv.accounts.lookup(name.as_bytes()) else {
                return Reply::Bad(format!("Account {name} does not exist"));
            };
            let (count, stats) = {
                let sl = acc.sublist.read();
                (sl.count(), SublistStats::of(sl.stats()))
            };
            // Those of the system account (configured ones are not listed).
            let (exports, imports) = crate::system::imports::listed(&m.srv, &acc.name);
            a.account_detail = Some(AccountInfo {
                account_name: acc.name.clone(),
                update_time: GoTime(m.srv.start_time),
                is_system: acc.name == system_account,
                expired: false,
                complete: true,
                jetstream_enabled: false,
                leafnode_connections: m.srv.leafs.count_in(&acc) as u32,
                client_connections: connections_in(m, &acc.name),
                subscriptions: count,
                exports,
                imports,
                name_tag: acc.name.clone(),
                sublist_stats: stats,
            });
        }
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
    acc: String,
    name: String,
    conns: i64,
    leafnodes: u32,
    total_conns: i64,
    num_subscriptions: u64,
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

/// The query parameter `$SYS` requests use to name the accounts they ask
/// about (the HTTP endpoint has none).
pub(super) const STATZ_ACCOUNTS: &str = "$accounts";

/// `GET /accstatz`: each account's counters (those with connections, or
/// all with `unused=1`).
pub(super) fn accstatz(m: &Monitor, q: &Query) -> Reply {
    m.count("/accstatz");
    let unused = try_q!(q.bool("unused"));
    let wanted: Vec<&str> = q
        .get(STATZ_ACCOUNTS)
        .split(',')
        .filter(|a| !a.is_empty())
        .collect();
    // Live clients' counters, by account: in msgs, in bytes, out msgs,
    // out bytes, connections. A client that has not sent CONNECT yet is in
    // the global account (as nats-server counts it).
    let mut live: HashMap<String, [u64; 5]> = HashMap::new();
    for c in m.srv.clients.lock().values() {
        let mut acc = c.shared.meta.lock().account.clone();
        if acc.is_empty() {
            acc = crate::accounts::GLOBAL.to_string();
        }
        let (om, ob) = {
            let o = c.shared.out.lock();
            (o.out_msgs, o.out_bytes)
        };
        let e = live.entry(acc).or_default();
        e[0] += c.shared.in_msgs.load(Ordering::Relaxed);
        e[1] += c.shared.in_bytes.load(Ordering::Relaxed);
        e[2] += om;
        e[3] += ob;
        e[4] += 1;
    }
    let mut accounts = m.srv.accounts.all();
    accounts.sort_by(|a, b| a.name.cmp(&b.name));
    let mut list = Vec::new();
    for acc in accounts {
        if !wanted.is_empty() && !wanted.contains(&acc.name.as_str()) {
            continue;
        }
        let l = live.get(&acc.name).copied().unwrap_or_default();
        let conns = l[4] as i64;
        let leafs = m.srv.leafs.count_in(&acc);
        if !unused && conns == 0 && leafs == 0 {
            continue;
        }
        let closed = *acc.closed_stats.lock();
        let part = |msgs: u64, bytes: u64| DataStats {
            msgs,
            bytes,
            gateways: MsgBytes::default(),
            routes: MsgBytes::default(),
            leafs: MsgBytes::default(),
        };
        list.push(AccountStat {
            acc: acc.name.clone(),
            name: acc.name.clone(),
            conns,
            leafnodes: leafs as u32,
            total_conns: conns + leafs as i64,
            num_subscriptions: acc.sublist.read().count(),
            sent: part(l[2] + closed[2], l[3] + closed[3]),
            received: part(l[0] + closed[0], l[1] + closed[1]),
            slow_consumers: closed[4],
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
    if let Some(js) = crate::jetstream::get(&m.srv) {
        let t = js.totals();
        let mut doc = t.stats_json();
        let tail = serde_json::json!({
            "server_id": m.srv.id,
            "now": now(),
            "config": js.config_json(),
            "limits": {},
            "streams": t.streams,
            "consumers": t.consumers,
            "messages": t.messages,
            "bytes": t.bytes,
            "total": t.accounts,
        });
        if let serde_json::Value::Object(tail) = tail {
            doc.extend(tail);
        }
        return Reply::Json(json_pretty(&doc));
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
