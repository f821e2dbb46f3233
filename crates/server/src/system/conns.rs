//! Account connection counts across a cluster, as nats-server 2.12.4
//! keeps them: each server announces an account's local connections when
//! they change and every 30 s while there are some (`$SYS.SERVER.ACCOUNT.<acc>.CONNS`
//! and `$SYS.ACCOUNT.<acc>.SERVER.CONNS`), answers `$SYS.REQ.ACCOUNT.<acc>.CONNS`,
//! asks every account's counts when it starts, and counts the other
//! servers' announcements against the account's JWT connection limit: a
//! login past the cluster-wide limit is refused, and when servers learn of
//! each other's connections late, the newest over the limit are closed.

use super::{Handler, System};
use crate::accounts::Account;
use crate::delivery::internal::InternalMsg;
use crate::server::Server;
use serde_json::{json, Map, Value};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

const CONNS_TYPE: &str = "io.nats.server.advisory.v1.account_connections";
/// Announcements repeat this often while an account has connections.
const HEARTBEAT: Duration = Duration::from_secs(30);

/// Subscribes to the other servers' counts and starts the heartbeat.
pub(super) fn start(srv: &Arc<Server>, sys: &Arc<System>) {
    let remote: Handler = Arc::new(remote_update);
    sys.subscribe(srv, "$SYS.SERVER.ACCOUNT.*.CONNS", remote.clone());
    sys.subscribe(srv, &format!("$SYS._INBOX_.{}", srv.id), remote);
    let gone: Handler = Arc::new(server_gone);
    sys.subscribe(srv, "$SYS.SERVER.*.SHUTDOWN", gone.clone());
    sys.subscribe(srv, "$SYS.SERVER.*.LAMEDUCK", gone);
    // What the other servers have now.
    let reply = format!("$SYS._INBOX_.{}", srv.id);
    for acc in srv.accounts.all() {
        let body = json!({"server": sys.server_info(srv), "acc": acc.name});
        let subject = format!("$SYS.REQ.ACCOUNT.{}.CONNS", acc.name);
        sys.send_raw(
            srv,
            subject.as_bytes(),
            Some(reply.as_bytes()),
            &serde_json::to_vec(&body).unwrap_or_default(),
        );
    }
    let (srv, sys) = (srv.clone(), sys.clone());
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(HEARTBEAT) => {}
                _ = srv.shutdown.cancelled() => return,
            }
            for acc in srv.accounts.all() {
                if acc.clients.load(Ordering::Relaxed) > 0 {
                    announce_with(&srv, &sys, &acc);
                }
            }
        }
    });
}

/// An account's connections changed here: the other servers hear of it.
pub fn announce(srv: &Arc<Server>, acc: &Account) {
    if let Some(sys) = super::get(srv) {
        announce_with(srv, &sys, acc);
    }
}

fn announce_with(srv: &Arc<Server>, sys: &System, acc: &Account) {
    // Never for the global account (as nats-server).
    if acc.name == crate::accounts::GLOBAL {
        return;
    }
    let Some(ev) = event(srv, sys, &acc.name) else {
        return;
    };
    for subject in [
        format!("$SYS.SERVER.ACCOUNT.{}.CONNS", acc.name),
        format!("$SYS.ACCOUNT.{}.SERVER.CONNS", acc.name),
    ] {
        let mut ev = ev.clone();
        ev["server"] = serde_json::to_value(sys.server_info(srv)).unwrap_or_default();
        sys.send(srv, &subject, &ev);
    }
}

/// nats-server's `AccountNumConns` for account `name`.
fn event(srv: &Arc<Server>, sys: &System, name: &str) -> Option<Value> {
    let p = sys.provider("ACCOUNT_STATZ")?;
    let doc = p(srv, &json!({"include_unused": true}), Some(name)).ok()?;
    let stat = doc
        .get("account_statz")?
        .as_array()?
        .first()?
        .as_object()?
        .clone();
    let mut ev = Map::new();
    ev.insert("type".into(), CONNS_TYPE.into());
    ev.insert("id".into(), super::events::event_id().into());
    ev.insert(
        "timestamp".into(),
        crate::util::rfc3339_nanos(chrono::Utc::now()).into(),
    );
    ev.insert("server".into(), Value::Null);
    ev.extend(stat);
    Some(Value::Object(ev))
}

/// `$SYS.REQ.ACCOUNT.<acc>.CONNS`: this server's count, if it has
/// connections of that account.
pub(super) fn request(srv: &Arc<Server>, sys: &System, m: &InternalMsg<'_>, acc: &str) {
    let Some(reply) = m.reply else {
        return;
    };
    let Some(a) = srv.accounts.lookup(acc.as_bytes()) else {
        return;
    };
    if a.clients.load(Ordering::Relaxed) <= 0 {
        return;
    }
    if let Some(mut ev) = event(srv, sys, acc) {
        ev["server"] = serde_json::to_value(sys.server_info(srv)).unwrap_or_default();
        sys.send_raw(
            srv,
            reply,
            None,
            &serde_json::to_vec(&ev).unwrap_or_default(),
        );
    }
}

/// Another server's count of an account's connections.
fn remote_update(srv: &Arc<Server>, _: &System, m: &InternalMsg<'_>) {
    let Ok(v) = serde_json::from_slice::<Value>(m.payload) else {
        return;
    };
    let server = v["server"]["id"].as_str().unwrap_or_default();
    if server.is_empty() || server == srv.id {
        return;
    }
    let Some(acc) = srv
        .accounts
        .lookup(v["acc"].as_str().unwrap_or("").as_bytes())
    else {
        return;
    };
    let conns = v["conns"].as_i64().unwrap_or(0);
    let total = acc.set_remote_conns(server, conns);
    // Over the limit (servers learnt of each other late): the newest local
    // connections go.
    let Some(max) = srv.trust().and_then(|t| t.max_conns(&acc.name)) else {
        return;
    };
    if max == crate::auth::jwt::NO_LIMIT {
        return;
    }
    let local = acc.clients.load(Ordering::Relaxed);
    let over = local + total - max;
    if over <= 0 {
        return;
    }
    let mut mine: Vec<_> = srv
        .clients
        .lock()
        .values()
        .filter(|c| c.shared.meta.lock().account == acc.name)
        .cloned()
        .collect();
    mine.sort_by_key(|c| std::cmp::Reverse(c.start));
    for c in mine.into_iter().take(over as usize) {
        let mut b = Vec::new();
        proto::encode::err(&mut b, "maximum account active connections exceeded");
        c.shared.send_now(&b);
        c.shared.mark_closed(
            crate::delivery::closed::ClosedReason::MaxAccountConnectionsExceeded,
            false,
        );
    }
}

/// A server shut down or entered lame duck mode: its connections no
/// longer count.
fn server_gone(srv: &Arc<Server>, _: &System, m: &InternalMsg<'_>) {
    let tokens: Vec<&[u8]> = m.subject.split(|&b| b == b'.').collect();
    let Some(id) = tokens
        .get(2)
        .map(|t| String::from_utf8_lossy(t).into_owned())
    else {
        return;
    };
    if id == srv.id {
        return;
    }
    for acc in srv.accounts.all() {
        acc.set_remote_conns(&id, 0);
    }
}
