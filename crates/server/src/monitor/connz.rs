//! `/connz`: open and closed client connections with nats-server 2.9's
//! filters (`state`, `cid`, `user`, `acc`), sorting, paging and
//! subscription lists.

use super::gofmt::{self, json_pretty, since, uptime, GoTime};
use super::{Monitor, Query, Reply};
use crate::delivery::closed::{ClosedClient, SubDetail};
use crate::server::ClientEntry;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;

/// The global account, the only one rnatsd has.
pub const GLOBAL_ACCOUNT: &str = "$G";

/// The sort options nats-server 2.12 accepts.
const SORTS: &[&str] = &[
    "cid",
    "start",
    "subs",
    "pending",
    "msgs_to",
    "msgs_from",
    "bytes_to",
    "bytes_from",
    "last",
    "idle",
    "uptime",
    "stop",
    "reason",
    "rtt",
];

#[derive(Serialize)]
struct Connz {
    server_id: String,
    now: GoTime,
    num_connections: usize,
    total: usize,
    offset: usize,
    limit: usize,
    connections: Option<Vec<ConnInfo>>,
}

/// One connection as `/connz` shows it (nats-server's `ConnInfo`).
#[derive(Serialize, Clone)]
pub struct ConnInfo {
    cid: u64,
    kind: &'static str,
    /// Clients only (leafnodes have none).
    #[serde(rename = "type", skip_serializing_if = "str::is_empty")]
    kind_type: &'static str,
    ip: String,
    port: u16,
    start: GoTime,
    last_activity: GoTime,
    #[serde(skip_serializing_if = "Option::is_none")]
    stop: Option<GoTime>,
    #[serde(skip_serializing_if = "String::is_empty")]
    reason: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    rtt: String,
    uptime: String,
    idle: String,
    pending_bytes: usize,
    in_msgs: u64,
    out_msgs: u64,
    in_bytes: u64,
    out_bytes: u64,
    subscriptions: usize,
    #[serde(skip_serializing_if = "String::is_empty")]
    name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    lang: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    version: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    tls_version: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    tls_cipher_suite: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    authorized_user: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    account: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    subscriptions_list: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    subscriptions_list_detail: Vec<SubJson>,
    /// The account's name tag (its name: rnatsd has no account tags).
    #[serde(skip_serializing_if = "String::is_empty")]
    name_tag: String,
    #[serde(skip)]
    up: std::time::Duration,
    #[serde(skip)]
    rtt_d: std::time::Duration,
}

/// A subscription in `/connz` and `/subsz` (nats-server's `SubDetail`).
#[derive(Serialize, Clone)]
pub struct SubJson {
    #[serde(skip_serializing_if = "String::is_empty")]
    account: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    account_tag: String,
    subject: String,
    #[serde(rename = "qgroup", skip_serializing_if = "String::is_empty")]
    queue: String,
    sid: String,
    msgs: u64,
    #[serde(skip_serializing_if = "is_zero")]
    max: u64,
    cid: u64,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

impl SubJson {
    /// The JSON form of `d`, with `account` when given.
    pub fn new(d: &SubDetail, account: &str) -> SubJson {
        SubJson {
            account: account.to_string(),
            account_tag: account.to_string(),
            subject: d.subject.clone(),
            queue: d.queue.clone(),
            sid: d.sid.clone(),
            msgs: d.msgs,
            max: d.max,
            cid: d.cid,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Open,
    Closed,
    Any,
}

struct Opts {
    sort: String,
    auth: bool,
    subs: bool,
    detail: bool,
    offset: i64,
    limit: i64,
    cid: u64,
    state: State,
    user: String,
    acc: String,
}

/// `GET /connz`.
pub(super) fn handle(m: &Monitor, q: &Query) -> Reply {
    match parse(q) {
        Ok(o) => {
            m.count("/connz");
            match connz(m, o) {
                Ok(c) => Reply::Json(json_pretty(&c)),
                Err(e) => Reply::Bad(e),
            }
        }
        Err(e) => Reply::Bad(e),
    }
}

fn parse(q: &Query) -> Result<Opts, String> {
    let sort = q.get("sort").to_string();
    let auth = q.bool("auth")?;
    let (subs, detail) = q.subs()?;
    let offset = q.int("offset")?;
    let limit = q.int("limit")?;
    let cid = q.uint("cid")?;
    let state = match q.get("state").to_ascii_lowercase().as_str() {
        "" | "open" => State::Open,
        "closed" => State::Closed,
        "any" | "all" => State::Any,
        _ => return Err(format!("Error decoding state for {}", q.get("state"))),
    };
    Ok(Opts {
        sort,
        auth,
        subs,
        detail,
        offset,
        limit,
        cid,
        state,
        user: q.get("user").to_string(),
        acc: q.get("acc").to_string(),
    })
}

fn connz(m: &Monitor, o: Opts) -> Result<Connz, String> {
    let sort = if o.sort.is_empty() { "cid" } else { &o.sort };
    if !SORTS.contains(&sort) {
        return Err(format!("invalid sorting option: {sort}"));
    }
    let offset = o.offset.max(0) as usize;
    let mut limit = if o.limit <= 0 { 1024 } else { o.limit as usize };
    if sort == "stop" && o.state != State::Closed {
        return Err("sort by stop only valid on closed connections".into());
    }
    if sort == "reason" && o.state != State::Closed {
        return Err("sort by reason only valid on closed connections".into());
    }
    if o.cid > 0 {
        limit = 1;
    }
    let now = Utc::now();
    let mut c = Connz {
        server_id: String::new(),
        now: GoTime(now),
        num_connections: 0,
        total: 0,
        offset,
        limit,
        connections: None,
    };
    if !o.acc.is_empty() && !m.srv.accounts.contains(&o.acc) {
        // An unknown account: nats-server answers before filling anything.
        return Ok(c);
    }
    c.server_id = m.srv.id.clone();
    let want_open = matches!(o.state, State::Open | State::Any);
    let want_closed = matches!(o.state, State::Closed | State::Any);
    let mut open: Vec<ClientEntry> = Vec::new();
    let mut closed: Vec<ClosedClient> = Vec::new();
    {
        let clients = m.srv.clients.lock();
        // Leafnode connections are listed with the clients (as nats-server).
        let leafs: Vec<ClientEntry> = m
            .srv
            .leafs
            .links()
            .iter()
            .map(|l| ClientEntry {
                shared: l.shared.clone(),
                addr: l.addr,
                start: l.start,
            })
            .collect();
        if want_open {
            c.total += clients.len() + leafs.len();
            if o.cid == 0 {
                open = clients.values().cloned().collect();
                open.extend(leafs);
            } else if o.state == State::Open {
                open.extend(clients.get(&o.cid).cloned());
                open.extend(leafs.into_iter().filter(|l| l.shared.cid == o.cid));
            }
        }
    }
    if !o.acc.is_empty() && want_open {
        let before = open.len();
        open.retain(|e| {
            let acc = e.shared.meta.lock().account.clone();
            acc == o.acc || (acc.is_empty() && o.acc == GLOBAL_ACCOUNT)
        });
        c.total -= before - open.len();
    }
    if want_closed {
        closed = m.srv.closed.snapshot();
        c.total += closed.len();
        if !o.acc.is_empty() {
            // Closed records of the global account carry no account name,
            // so an account filter drops them all (as nats-server).
            let before = closed.len();
            closed.retain(|cc| cc.account == o.acc);
            c.total -= before - closed.len();
        }
        if o.cid > 0 {
            closed.retain(|cc| cc.cid == o.cid);
            closed.truncate(1);
        }
    }
    if !o.user.is_empty() {
        // A cid lookup of an open client skips the user filter (as
        // nats-server); closed records are always filtered.
        if o.cid == 0 {
            open.retain(|e| e.shared.meta.lock().user == o.user);
        }
        closed.retain(|cc| cc.user == o.user);
    }
    let mut infos: Vec<ConnInfo> = Vec::with_capacity(open.len() + closed.len());
    infos.extend(open.iter().map(|e| open_info(e, now, &o)));
    infos.extend(closed.iter().map(|cc| closed_info(cc, &o)));
    infos.sort_by_key(|i| i.cid);
    sort_infos(&mut infos, sort);
    let n = infos.len();
    let (lo, hi) = (offset.min(n), offset.saturating_add(limit).min(n));
    let page: Vec<ConnInfo> = infos.drain(lo..hi).collect();
    c.num_connections = page.len();
    c.connections = Some(page);
    Ok(c)
}

/// Sorts as nats-server: ascending for cid, start, uptime and reason,
/// descending for the rest. Ties keep cid order.
fn sort_infos(v: &mut [ConnInfo], sort: &str) {
    use std::cmp::Reverse;
    match sort {
        "subs" => v.sort_by_key(|i| Reverse(i.subscriptions)),
        "pending" => v.sort_by_key(|i| Reverse(i.pending_bytes)),
        "msgs_to" => v.sort_by_key(|i| Reverse(i.out_msgs)),
        "msgs_from" => v.sort_by_key(|i| Reverse(i.in_msgs)),
        "bytes_to" => v.sort_by_key(|i| Reverse(i.out_bytes)),
        "bytes_from" => v.sort_by_key(|i| Reverse(i.in_bytes)),
        "last" => v.sort_by_key(|i| Reverse(i.last_activity)),
        // nats-server's "idle" order is by last activity minus start.
        "idle" => v.sort_by_key(|i| Reverse(i.last_activity.0 - i.start.0)),
        "uptime" => v.sort_by_key(|i| i.up),
        "stop" => v.sort_by_key(|i| Reverse(i.stop)),
        "reason" => v.sort_by(|a, b| a.reason.cmp(&b.reason)),
        "rtt" => v.sort_by_key(|i| Reverse(i.rtt_d)),
        _ => {}
    }
}

/// nats-server's connection type names.
fn client_type(websocket: bool) -> &'static str {
    if websocket {
        "websocket"
    } else {
        "nats"
    }
}

fn rtt_text(rtt: Option<std::time::Duration>) -> String {
    rtt.map(gofmt::rtt).unwrap_or_else(|| "0s".into())
}

fn open_info(e: &ClientEntry, now: DateTime<Utc>, o: &Opts) -> ConnInfo {
    let sh = &e.shared;
    let (pending, out_msgs, out_bytes) = {
        let out = sh.out.lock();
        (out.pending(), out.out_msgs, out.out_bytes)
    };
    let meta = sh.meta.lock().clone();
    let (num_subs, details) = {
        let subs = sh.subs.lock();
        let details: Vec<SubDetail> = if o.subs || o.detail {
            subs.values().map(|s| SubDetail::of(s)).collect()
        } else {
            Vec::new()
        };
        (subs.len(), details)
    };
    let last = meta.last_activity.unwrap_or(e.start);
    let up = since(e.start, now);
    let tls = sh.tls.get().and_then(|t| t.details()).unwrap_or_default();
    let mut ci = ConnInfo {
        cid: sh.cid,
        kind: if sh.is_leaf { "Leafnode" } else { "Client" },
        kind_type: if sh.is_leaf {
            ""
        } else {
            client_type(sh.ws_compress.is_some())
        },
        ip: e.addr.ip().to_string(),
        port: e.addr.port(),
        start: GoTime(e.start),
        last_activity: GoTime(last),
        stop: None,
        reason: String::new(),
        rtt: rtt_text(meta.rtt),
        rtt_d: meta.rtt.unwrap_or_default(),
        uptime: uptime(up),
        idle: uptime(since(last, now)),
        pending_bytes: pending,
        in_msgs: sh.in_msgs.load(Ordering::Relaxed),
        out_msgs,
        in_bytes: sh.in_bytes.load(Ordering::Relaxed),
        out_bytes,
        subscriptions: num_subs,
        name: meta.name,
        lang: meta.lang,
        version: meta.version,
        tls_version: tls.0,
        tls_cipher_suite: tls.1,
        authorized_user: String::new(),
        account: String::new(),
        subscriptions_list: Vec::new(),
        subscriptions_list_detail: Vec::new(),
        name_tag: String::new(),
        up,
    };
    if o.detail {
        ci.subscriptions_list_detail = details.iter().map(|d| SubJson::new(d, "")).collect();
    } else if o.subs {
        ci.subscriptions_list = details.into_iter().map(|d| d.subject).collect();
    }
    if o.auth {
        ci.authorized_user = meta.user;
        ci.name_tag = if meta.account.is_empty() {
            GLOBAL_ACCOUNT.to_string()
        } else {
            meta.account.clone()
        };
        // The global account is not named.
        if meta.account != GLOBAL_ACCOUNT {
            ci.account = meta.account;
        }
    }
    ci
}

fn closed_info(cc: &ClosedClient, o: &Opts) -> ConnInfo {
    let addr: Option<SocketAddr> = cc.addr.parse().ok();
    let up = since(cc.start, cc.stop);
    let mut ci = ConnInfo {
        cid: cc.cid,
        kind: "Client",
        kind_type: client_type(cc.websocket),
        ip: addr.map(|a| a.ip().to_string()).unwrap_or_default(),
        port: addr.map(|a| a.port()).unwrap_or(0),
        start: GoTime(cc.start),
        last_activity: GoTime(cc.last_activity),
        stop: Some(GoTime(cc.stop)),
        reason: cc.reason.as_str().to_string(),
        rtt: rtt_text(cc.rtt),
        rtt_d: cc.rtt.unwrap_or_default(),
        uptime: uptime(up),
        idle: uptime(since(cc.last_activity, cc.stop)),
        pending_bytes: cc.pending,
        in_msgs: cc.in_msgs,
        out_msgs: cc.out_msgs,
        in_bytes: cc.in_bytes,
        out_bytes: cc.out_bytes,
        subscriptions: cc.num_subs,
        name: cc.name.clone(),
        lang: cc.lang.clone(),
        version: cc.version.clone(),
        tls_version: String::new(),
        tls_cipher_suite: String::new(),
        authorized_user: String::new(),
        account: String::new(),
        subscriptions_list: Vec::new(),
        subscriptions_list_detail: Vec::new(),
        name_tag: String::new(),
        up,
    };
    if o.detail {
        // Closed records keep their subscriptions with the account name.
        let acc = if cc.account.is_empty() {
            GLOBAL_ACCOUNT
        } else {
            &cc.account
        };
        ci.subscriptions_list_detail = cc.subs.iter().map(|d| SubJson::new(d, acc)).collect();
    } else if o.subs {
        ci.subscriptions_list = cc.subs.iter().map(|d| d.subject.clone()).collect();
    }
    if o.auth {
        ci.authorized_user = cc.user.clone();
        ci.account = cc.account.clone();
        if !cc.account.is_empty() && cc.account != GLOBAL_ACCOUNT {
            ci.name_tag = cc.account.clone();
        }
    }
    ci
}
