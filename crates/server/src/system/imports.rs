//! What every other account may ask the system account, as nats-server
//! gives it through service imports: `$SYS.REQ.SERVER.PING.CONNZ` and
//! `$SYS.REQ.ACCOUNT.PING.CONNZ` (its own connections, from every server),
//! `$SYS.REQ.ACCOUNT.PING.STATZ` (its own statistics) and
//! `$SYS.REQ.USER.INFO` (who the requester is). A request is forwarded into
//! the system account under the account's own subject, with a reply that
//! leads back to the requester and the `Nats-Request-Info` header.

use super::{Handler, System};
use crate::accounts::Account;
use crate::delivery::internal::{self, InternalMsg};
use crate::server::Server;
use std::sync::Arc;

/// The imports account `name` gets from the system account `sys`: its
/// local subject, the subject in the system account, and whether the
/// requester's details go along.
fn imports_of(name: &str, sys: &str) -> Vec<(&'static str, String, bool)> {
    let info = (
        "$SYS.REQ.USER.INFO",
        format!("$SYS.REQ.USER.{name}.INFO"),
        true,
    );
    if name == sys {
        return vec![info];
    }
    let connz = format!("$SYS.REQ.ACCOUNT.{name}.CONNZ");
    vec![
        ("$SYS.REQ.ACCOUNT.PING.CONNZ", connz.clone(), false),
        ("$SYS.REQ.SERVER.PING.CONNZ", connz, false),
        (
            "$SYS.REQ.ACCOUNT.PING.STATZ",
            format!("$SYS.REQ.ACCOUNT.{name}.STATZ"),
            false,
        ),
        info,
    ]
}

/// Gives every account its imports (the system account its own
/// `$SYS.REQ.USER.INFO`).
pub(super) fn register(srv: &Arc<Server>, sys: &System) {
    for acc in srv.accounts.all() {
        for (local, target, share) in imports_of(&acc.name, &sys.account.name) {
            sys.subscribe_local(srv, &acc, local, forwarder(&acc, target, share));
        }
    }
}

/// A handler that forwards requests from `from` to `target` in the system
/// account; `share` sends the requester's details along.
fn forwarder(from: &Arc<Account>, target: String, share: bool) -> Handler {
    let from = Arc::downgrade(from);
    Arc::new(move |srv, sys, m| {
        if let Some(from) = from.upgrade() {
            forward(srv, sys, m, &from, &target, share);
        }
    })
}

fn forward(
    srv: &Arc<Server>,
    sys: &System,
    m: &InternalMsg<'_>,
    from: &Arc<Account>,
    target: &str,
    share: bool,
) {
    let Some(reply) = m.reply else {
        return;
    };
    // Every server of a cluster may answer (nats-server's streamed
    // exports), except for `USER.INFO`, which the local one answers.
    let back = if share {
        sys.account.add_response(from, reply)
    } else {
        sys.account.add_streamed_response(from, reply)
    };
    if let Some(w) = sys.account.reply_wildcard_once() {
        crate::leafs::internal_interest(srv, &sys.account, &w);
    }
    let info = request_info(srv, m.publisher, &from.name, share);
    let mut hdr = b"NATS/1.0\r\nNats-Request-Info: ".to_vec();
    hdr.extend_from_slice(&serde_json::to_vec(&info).unwrap_or_default());
    hdr.extend_from_slice(b"\r\n\r\n");
    // Published as no client (the system client itself serves the
    // target subject and never gets its own messages).
    internal::publish(
        srv,
        &sys.account,
        0,
        target.as_bytes(),
        Some(&back),
        Some(&hdr),
        m.payload,
    );
}

/// The `Nats-Request-Info` of a forwarded request: the requester in full
/// (`share`), else its account and round trip.
fn request_info(srv: &Server, publisher: u64, acc: &str, share: bool) -> serde_json::Value {
    let entry = srv.clients.lock().get(&publisher).cloned();
    let rtt = entry
        .as_ref()
        .and_then(|e| e.shared.meta.lock().rtt)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    match (share, entry) {
        (true, Some(e)) => {
            let mut ci = super::events::client_info(&e, None);
            ci.rtt = rtt;
            ci.name_tag.clear();
            let mut v = serde_json::to_value(&ci).unwrap_or_default();
            if let Some(o) = v.as_object_mut() {
                // nats-server names the server just before the kind.
                let kind = o.remove("kind");
                let client_type = o.remove("client_type");
                o.insert("server".into(), srv.name.clone().into());
                if let Some(k) = kind {
                    o.insert("kind".into(), k);
                }
                if let Some(t) = client_type {
                    o.insert("client_type".into(), t);
                }
            }
            v
        }
        _ => serde_json::json!({"acc": acc, "rtt": rtt, "server": srv.name}),
    }
}

/// The system account's exports and the imports it gives account `name`,
/// as `/accountz` lists them: (exports, imports).
pub fn listed(srv: &Server, name: &str) -> (Vec<serde_json::Value>, Vec<serde_json::Value>) {
    let Some(sys) = super::get(srv) else {
        return (Vec::new(), Vec::new());
    };
    let sys_name = &sys.account.name;
    let import = |local: &str, target: String, share: bool| {
        serde_json::json!({
            "subject": target,
            "account": sys_name,
            "to": local,
            "local_subject": local,
            "type": "service",
            "invalid": false,
            "share": share,
            "tracking": false,
        })
    };
    let imports = imports_of(name, sys_name)
        .into_iter()
        .map(|(local, target, share)| import(local, target, share))
        .collect();
    if name != sys_name.as_str() {
        return (Vec::new(), imports);
    }
    let export = |subject: &str, kind: &str| serde_json::json!({"subject": subject, "type": "service", "response_type": kind});
    (
        vec![
            export("$SYS.REQ.ACCOUNT.*.CONNZ", "Streamed"),
            export("$SYS.REQ.ACCOUNT.*.STATZ", "Streamed"),
            export("$SYS.DEBUG.SUBSCRIBERS", "Singleton"),
            export("$SYS.REQ.USER.*.INFO", "Singleton"),
        ],
        imports,
    )
}
