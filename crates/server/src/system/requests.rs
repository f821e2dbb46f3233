//! The `$SYS` subjects the system account's client subscribes to, as
//! nats-server 2.12.4 does, and the requests it answers: server pings and
//! direct requests for each monitoring document (answered by every server
//! of a cluster, filtered by name, cluster, host, tags or domain), and the
//! per-account requests.

use super::{Filter, Handler, System};
use crate::delivery::internal::InternalMsg;
use crate::server::Server;
use std::sync::Arc;

/// The monitoring documents a server answers for, by request name.
pub const SERVER_REQUESTS: [&str; 15] = [
    "IDZ",
    "STATSZ",
    "VARZ",
    "SUBSZ",
    "CONNZ",
    "ROUTEZ",
    "GATEWAYZ",
    "LEAFZ",
    "ACCOUNTZ",
    "JSZ",
    "HEALTHZ",
    "PROFILEZ",
    "EXPVARZ",
    "IPQUEUESZ",
    "RAFTZ",
];

/// The per-account requests (`$SYS.REQ.ACCOUNT.<account>.<name>`).
pub const ACCOUNT_REQUESTS: [&str; 7] =
    ["SUBSZ", "CONNZ", "LEAFZ", "JSZ", "INFO", "STATZ", "CONNS"];

/// nats-server's 8-character hash of a server name (`$SYS._INBOX.<hash>`).
pub fn server_hash(name: &str) -> String {
    const DIGITS: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let sum = ring::digest::digest(&ring::digest::SHA256, name.as_bytes());
    sum.as_ref()[..8]
        .iter()
        .map(|b| DIGITS[(*b % 62) as usize] as char)
        .collect()
}

/// Subscribes the system client to every subject nats-server's does.
pub(super) fn subscribe_all(srv: &Arc<Server>, sys: &System) {
    let ignore: Handler = Arc::new(|_, _, _| {});
    let hash = server_hash(&srv.name);
    let id = srv.id.clone();
    sys.subscribe(srv, &format!("$SYS._INBOX.{hash}.*"), ignore.clone());
    sys.subscribe(srv, "$SYS.REQ.ACCOUNT.NSUBS", Arc::new(nsubs));
    sys.subscribe(srv, "$SYS.SERVER.*.STATSZ", ignore.clone());
    if super::resolver::dir(srv).is_none() {
        // Without a resolver directory, updates change nothing here.
        sys.subscribe(srv, "$SYS.ACCOUNT.*.CLAIMS.UPDATE", ignore.clone());
        sys.subscribe(srv, "$SYS.REQ.ACCOUNT.*.CLAIMS.UPDATE", ignore.clone());
    }
    sys.subscribe(srv, "$SYS.REQ.SERVER.PING", Arc::new(statsz));
    for name in SERVER_REQUESTS {
        let h: Handler = Arc::new(move |srv, sys, m| server_request(srv, sys, m, name));
        sys.subscribe(srv, &format!("$SYS.REQ.SERVER.{id}.{name}"), h.clone());
        sys.subscribe(srv, &format!("$SYS.REQ.SERVER.PING.{name}"), h);
    }
    for name in ACCOUNT_REQUESTS {
        let h: Handler = Arc::new(move |srv, sys, m| account_request(srv, sys, m, name));
        sys.subscribe(srv, &format!("$SYS.REQ.ACCOUNT.*.{name}"), h);
    }
    // Answered by the requester's own server only.
    let sacc = sys.account.clone();
    sys.subscribe_local(srv, &sacc, "$SYS.REQ.USER.*.INFO", Arc::new(user_info));
    sys.subscribe(
        srv,
        "$SYS.REQ.ACCOUNT.PING.STATZ",
        Arc::new(account_ping_statz),
    );
    sys.subscribe(srv, "$SYS.ACCOUNT.*.LEAFNODE.CONNECT", ignore.clone());
    sys.subscribe(srv, &format!("$SYS.LATENCY.M2.{hash}"), ignore.clone());
    sys.subscribe_local(srv, &sacc, "$SYS.DEBUG.SUBSCRIBERS", ignore.clone());
    sys.subscribe(
        srv,
        &format!("$SYS.REQ.SERVER.{id}.RELOAD"),
        Arc::new(reload),
    );
    sys.subscribe(srv, &format!("$SYS.REQ.SERVER.{id}.KICK"), Arc::new(kick));
    sys.subscribe(srv, &format!("$SYS.REQ.SERVER.{id}.LDM"), Arc::new(ldm));
}

/// The request's options (`{}` for an empty body), or the 400 answer.
fn options(m: &InternalMsg<'_>) -> Result<serde_json::Value, (u16, String)> {
    if m.payload.is_empty() {
        return Ok(serde_json::json!({}));
    }
    serde_json::from_slice(m.payload).map_err(|e| (400, crate::system::events::go_json_error(&e)))
}

/// The reply subject and options of a request this server answers:
/// `None` when there is no reply, the options do not parse (the 400 answer
/// is sent) or the filter leaves this server out.
fn accept<'m>(
    srv: &Arc<Server>,
    sys: &System,
    m: &InternalMsg<'m>,
) -> Option<(&'m [u8], serde_json::Value)> {
    let reply = m.reply?;
    match options(m) {
        Ok(o) if filtered(srv, &o) => None,
        Ok(o) => Some((reply, o)),
        Err(e) => {
            sys.respond(srv, reply, Err(e));
            None
        }
    }
}

/// Answers with a provider's document: nothing for `null` (nothing to
/// report), a 500 for an error.
fn answer(srv: &Arc<Server>, sys: &System, reply: &[u8], data: Result<serde_json::Value, String>) {
    match data {
        Ok(serde_json::Value::Null) => {}
        Ok(d) => sys.respond(srv, reply, Ok(d)),
        Err(e) => sys.respond(srv, reply, Err((500, e))),
    }
}

/// True when the request's filter leaves this server out.
fn filtered(srv: &Server, opts: &serde_json::Value) -> bool {
    serde_json::from_value::<Filter>(opts.clone()).is_ok_and(|f| f.excludes(srv))
}

/// `$SYS.REQ.SERVER.PING` (and `.STATSZ`): this server's statistics.
fn statsz(srv: &Arc<Server>, sys: &System, m: &InternalMsg<'_>) {
    let opts = match options(m) {
        Ok(o) => o,
        Err(e) => {
            if let Some(r) = m.reply {
                sys.respond(srv, r, Err(e));
            }
            return;
        }
    };
    if filtered(srv, &opts) {
        return;
    }
    match m.reply {
        Some(r) => super::events::send_statsz(srv, sys, r),
        None => {
            let subject = format!("$SYS.SERVER.{}.STATSZ", srv.id);
            super::events::send_statsz(srv, sys, subject.as_bytes());
        }
    }
}

/// A server ping or direct request for monitoring document `name`.
fn server_request(srv: &Arc<Server>, sys: &System, m: &InternalMsg<'_>, name: &str) {
    match name {
        "STATSZ" => return statsz(srv, sys, m),
        "IDZ" => {
            if let Some(r) = m.reply {
                let id = serde_json::json!({
                    "name": srv.name,
                    "host": srv.opts().host,
                    "id": srv.id,
                });
                sys.send_raw(srv, r, None, &serde_json::to_vec(&id).unwrap_or_default());
            }
            return;
        }
        _ => {}
    }
    let Some((reply, opts)) = accept(srv, sys, m) else {
        return;
    };
    let data = match sys.provider(name) {
        Some(p) => p(srv, &opts, None).map_err(|e| (500, e)),
        None => Err((500, format!("{} not available", name.to_lowercase()))),
    };
    sys.respond(srv, reply, data);
}

/// The account named in `$SYS.REQ.ACCOUNT.<account>.<name>`.
fn subject_account(subject: &[u8]) -> Result<String, String> {
    let tokens: Vec<&[u8]> = subject.split(|&b| b == b'.').collect();
    if tokens.len() != 5 {
        return Err(format!(
            "subject {:?} is malformed",
            String::from_utf8_lossy(subject)
        ));
    }
    Ok(String::from_utf8_lossy(tokens[3]).into_owned())
}

/// A per-account request.
fn account_request(srv: &Arc<Server>, sys: &System, m: &InternalMsg<'_>, name: &str) {
    let Some((reply, opts)) = accept(srv, sys, m) else {
        return;
    };
    let acc = match subject_account(m.subject) {
        Ok(a) => a,
        Err(e) => return sys.respond(srv, reply, Err((500, e))),
    };
    // `$SYS.REQ.ACCOUNT.PING.STATZ` has a subscription of its own.
    if acc == "PING" && name == "STATZ" {
        return;
    }
    if name == "CONNS" {
        return super::conns::request(srv, sys, m, &acc);
    }
    let provider = match name {
        "INFO" => "ACCOUNT_INFO",
        "STATZ" => "ACCOUNT_STATZ",
        other => other,
    };
    let data = match sys.provider(provider) {
        Some(p) => p(srv, &opts, Some(&acc)),
        None => Err(format!("{} not available", name.to_lowercase())),
    };
    // An account without connections is not reported (unless asked).
    answer(srv, sys, reply, data);
}

/// `$SYS.REQ.ACCOUNT.PING.STATZ`: statistics of every account (or those
/// asked for) with connections here.
fn account_ping_statz(srv: &Arc<Server>, sys: &System, m: &InternalMsg<'_>) {
    let Some((reply, opts)) = accept(srv, sys, m) else {
        return;
    };
    if let Some(p) = sys.provider("ACCOUNT_STATZ") {
        answer(srv, sys, reply, p(srv, &opts, None));
    }
}

/// `$SYS.REQ.ACCOUNT.NSUBS`: how many local subscriptions match a subject
/// in an account.
fn nsubs(srv: &Arc<Server>, sys: &System, m: &InternalMsg<'_>) {
    let Some(reply) = m.reply else {
        return;
    };
    #[derive(serde::Deserialize, Default)]
    #[serde(default)]
    struct Req {
        account: String,
        subject: String,
        queue: String,
    }
    let Ok(req) = serde_json::from_slice::<Req>(m.payload) else {
        return;
    };
    let Some(acc) = srv.accounts.lookup(req.account.as_bytes()) else {
        return;
    };
    let result = acc.sublist.read().match_subject(req.subject.as_bytes());
    let local = |s: &&crate::delivery::outbound::SubRef| !s.0.client.is_route;
    let n = if req.queue.is_empty() {
        result.psubs.iter().filter(local).count()
            + result
                .qsubs
                .iter()
                .map(|(_, m)| m.iter().filter(local).count())
                .sum::<usize>()
    } else {
        result
            .qsubs
            .iter()
            .filter(|(q, _)| q.as_ref() == req.queue.as_bytes())
            .map(|(_, m)| m.iter().filter(local).count())
            .sum()
    };
    sys.send_raw(srv, reply, None, n.to_string().as_bytes());
}

/// `$SYS.REQ.USER.<account>.INFO`: who the requester is, from the
/// `Nats-Request-Info` its import added.
fn user_info(srv: &Arc<Server>, sys: &System, m: &InternalMsg<'_>) {
    let Some(reply) = m.reply else {
        return;
    };
    let info = m
        .headers
        .and_then(|h| header(h, "Nats-Request-Info"))
        .and_then(|v| serde_json::from_str::<serde_json::Value>(&v).ok());
    match info {
        Some(ci) => {
            let mut data = serde_json::Map::new();
            data.insert("user".into(), ci["user"].as_str().unwrap_or("").into());
            data.insert("account".into(), ci["acc"].as_str().unwrap_or("").into());
            let cid = ci["id"].as_u64().unwrap_or(0);
            let perms = srv
                .clients
                .lock()
                .get(&cid)
                .and_then(|c| c.shared.meta.lock().permissions.clone());
            if let Some(p) = perms {
                data.insert("permissions".into(), p);
            }
            sys.respond(srv, reply, Ok(serde_json::Value::Object(data)));
        }
        None => sys.respond(srv, reply, Err((400, String::new()))),
    }
}

/// The value of header `name` in a `NATS/1.0` header block.
fn header(block: &[u8], name: &str) -> Option<String> {
    let text = String::from_utf8_lossy(block);
    text.split("\r\n").skip(1).find_map(|line| {
        let (k, v) = line.split_once(':')?;
        k.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().to_string())
    })
}

/// `$SYS.REQ.SERVER.<id>.RELOAD`.
fn reload(srv: &Arc<Server>, sys: &System, m: &InternalMsg<'_>) {
    let data = match sys.provider("RELOAD") {
        Some(p) => p(srv, &serde_json::json!({}), None).map_err(|e| (500, e)),
        None => Err((500, "reload not available".into())),
    };
    if let Some(r) = m.reply {
        sys.respond(srv, r, data);
    }
}

/// `$SYS.REQ.SERVER.<id>.KICK`: closes a client by id or name.
fn kick(srv: &Arc<Server>, sys: &System, m: &InternalMsg<'_>) {
    client_control(srv, sys, m, crate::delivery::closed::ClosedReason::Kicked);
}

/// `$SYS.REQ.SERVER.<id>.LDM`: sends a client to another server.
fn ldm(srv: &Arc<Server>, sys: &System, m: &InternalMsg<'_>) {
    client_control(
        srv,
        sys,
        m,
        crate::delivery::closed::ClosedReason::LameDuckMode,
    );
}

/// Kick and LDM: `{"cid": N}` picks the client.
fn client_control(
    srv: &Arc<Server>,
    sys: &System,
    m: &InternalMsg<'_>,
    reason: crate::delivery::closed::ClosedReason,
) {
    let Some(reply) = m.reply else {
        return;
    };
    #[derive(serde::Deserialize, Default)]
    #[serde(default)]
    struct Req {
        cid: u64,
    }
    let req: Req = match serde_json::from_slice(m.payload) {
        Ok(r) => r,
        Err(e) => {
            // Not answered (as nats-server), only logged.
            crate::error!("Error unmarshalling kick client request: {e}");
            return;
        }
    };
    let entry = srv.clients.lock().get(&req.cid).cloned();
    let kick = reason == crate::delivery::closed::ClosedReason::Kicked;
    match entry {
        Some(c) => {
            if kick {
                c.shared.mark_closed(reason, false);
            } else if c
                .shared
                .async_info
                .load(std::sync::atomic::Ordering::Relaxed)
            {
                // The client hears this server is going away.
                srv.send_info_to(&c, true);
            } else {
                let text = "client does not support Lame Duck Mode or is not ready to receive the notification";
                return sys.respond(srv, reply, Err((500, text.into())));
            }
            sys.respond(srv, reply, Ok(serde_json::Value::Null));
        }
        None => {
            let text = if kick {
                "no such client or leafnode id"
            } else {
                "no such client id"
            };
            sys.respond(srv, reply, Err((500, text.into())));
        }
    }
}
