//! The events the system account publishes, in nats-server 2.12.4's JSON:
//! client connects and disconnects (`$SYS.ACCOUNT.<acc>.CONNECT`,
//! `.DISCONNECT`), authentication errors (`$SYS.SERVER.<id>.CLIENT.AUTH.ERR`),
//! the server's statistics (`$SYS.SERVER.<id>.STATSZ`, every 250 ms doubling
//! up to 10 s after start, at most once a second), lame duck mode and
//! shutdown.

use super::{ServerInfo, System};
use crate::server::{ClientEntry, Server};
use serde::Serialize;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Longest pause between two statistics broadcasts.
const STATSZ_INTERVAL: Duration = Duration::from_secs(10);
/// First pause after start.
const STATSZ_FIRST: Duration = Duration::from_millis(250);
/// Broadcasts closer than this are skipped.
const STATSZ_RATE: Duration = Duration::from_secs(1);

const CONNECT_TYPE: &str = "io.nats.server.advisory.v1.client_connect";
const DISCONNECT_TYPE: &str = "io.nats.server.advisory.v1.client_disconnect";

/// Starts the periodic statistics broadcast.
pub(super) fn start(srv: &Arc<Server>, sys: &Arc<System>) {
    let (srv, sys) = (srv.clone(), sys.clone());
    tokio::spawn(async move {
        let mut every = STATSZ_FIRST;
        let mut last: Option<Instant> = None;
        loop {
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = srv.shutdown.cancelled() => return,
            }
            every = (every * 2).min(STATSZ_INTERVAL);
            if last.is_some_and(|t| t.elapsed() < STATSZ_RATE.min(every)) {
                continue;
            }
            last = Some(Instant::now());
            let subject = format!("$SYS.SERVER.{}.STATSZ", srv.id);
            send_statsz(&srv, &sys, subject.as_bytes());
        }
    });
}

/// nats-server's `ServerStatsMsg`.
#[derive(Serialize)]
struct StatsMsg {
    server: ServerInfo,
    statsz: serde_json::Value,
}

/// Sends this server's statistics on `subject`.
pub fn send_statsz(srv: &Arc<Server>, sys: &System, subject: &[u8]) {
    let Some(p) = sys.provider("STATSZ") else {
        return;
    };
    let Ok(statsz) = p(srv, &serde_json::json!({}), None) else {
        return;
    };
    let msg = StatsMsg {
        server: sys.server_info(srv),
        statsz,
    };
    let json = serde_json::to_vec(&msg).unwrap_or_default();
    sys.send_raw(srv, subject, None, &json);
}

/// A 22-character event id (a NUID, as nats-server's).
pub fn event_id() -> String {
    const DIGITS: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    (0..22)
        .map(|_| DIGITS[fastrand::usize(..DIGITS.len())] as char)
        .collect()
}

/// nats-server's `ClientInfo` as connect and disconnect events carry it.
#[derive(Serialize, Default)]
pub struct ClientInfo {
    /// Connected at.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    /// Remote IP.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub host: String,
    /// Connection id.
    #[serde(skip_serializing_if = "is_zero")]
    pub id: u64,
    /// Account.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub acc: String,
    /// User.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub user: String,
    /// Client name.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Client language.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub lang: String,
    /// Client version.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub ver: String,
    /// Round trip in nanoseconds.
    #[serde(skip_serializing_if = "is_zero")]
    pub rtt: u64,
    /// Disconnected at.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop: Option<String>,
    /// The user JWT.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub jwt: String,
    /// The account's signing key that issued the user.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub issuer_key: String,
    /// The account's name in its JWT.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name_tag: String,
    /// Connection kind (`Client`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// Client type (`nats`, `websocket`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub client_type: String,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// nats-server's `DataStats` (without the per-kind parts).
#[derive(Serialize, Default)]
struct DataStats {
    msgs: u64,
    bytes: u64,
}

#[derive(Serialize)]
struct ConnectEvent {
    r#type: &'static str,
    id: String,
    timestamp: String,
    server: ServerInfo,
    client: ClientInfo,
}

#[derive(Serialize)]
struct DisconnectEvent {
    r#type: &'static str,
    id: String,
    timestamp: String,
    server: ServerInfo,
    client: ClientInfo,
    sent: DataStats,
    received: DataStats,
    reason: String,
}

/// What an event says of a client.
pub fn client_info(entry: &ClientEntry, stop: Option<chrono::DateTime<chrono::Utc>>) -> ClientInfo {
    let mut meta = entry.shared.meta.lock().clone();
    if meta.account.is_empty() {
        meta.account = crate::accounts::GLOBAL.to_string();
    }
    ClientInfo {
        start: Some(crate::util::rfc3339_nanos(entry.start)),
        host: entry.addr.ip().to_string(),
        id: entry.shared.cid,
        acc: meta.account.clone(),
        user: meta.user.clone(),
        name: meta.name.clone(),
        lang: meta.lang.clone(),
        ver: meta.version.clone(),
        rtt: if stop.is_some() {
            meta.rtt.map(|d| d.as_nanos() as u64).unwrap_or(0)
        } else {
            0
        },
        stop: stop.map(crate::util::rfc3339_nanos),
        name_tag: meta.account.clone(),
        kind: if entry.shared.is_leaf {
            "Leafnode".into()
        } else {
            "Client".into()
        },
        client_type: if entry.shared.is_leaf {
            String::new()
        } else if entry.shared.ws_compress.is_some() {
            "websocket".into()
        } else {
            "nats".into()
        },
        ..Default::default()
    }
}

/// `$SYS.ACCOUNT.<acc>.CONNECT`: a client authenticated.
pub fn connect(srv: &Arc<Server>, entry: &ClientEntry) {
    let Some(sys) = super::get(srv) else {
        return;
    };
    let client = client_info(entry, None);
    let subject = format!("$SYS.ACCOUNT.{}.CONNECT", client.acc);
    let ev = ConnectEvent {
        r#type: CONNECT_TYPE,
        id: event_id(),
        timestamp: crate::util::rfc3339_nanos(chrono::Utc::now()),
        server: sys.server_info(srv),
        client,
    };
    sys.send(srv, &subject, &ev);
}

/// `$SYS.ACCOUNT.<acc>.DISCONNECT`: an authenticated client closed; or,
/// with `auth_error`, `$SYS.SERVER.<id>.CLIENT.AUTH.ERR`: a client failed
/// to authenticate.
pub fn disconnect(srv: &Arc<Server>, entry: &ClientEntry, reason: &str, auth_error: bool) {
    let Some(sys) = super::get(srv) else {
        return;
    };
    let now = chrono::Utc::now();
    let client = client_info(entry, Some(now));
    let subject = if auth_error {
        format!("$SYS.SERVER.{}.CLIENT.AUTH.ERR", srv.id)
    } else {
        format!("$SYS.ACCOUNT.{}.DISCONNECT", client.acc)
    };
    let (out_msgs, out_bytes) = {
        let o = entry.shared.out.lock();
        (o.out_msgs, o.out_bytes)
    };
    use std::sync::atomic::Ordering;
    let ev = DisconnectEvent {
        r#type: DISCONNECT_TYPE,
        id: event_id(),
        timestamp: crate::util::rfc3339_nanos(now),
        server: sys.server_info(srv),
        client,
        sent: DataStats {
            msgs: entry.shared.in_msgs.load(Ordering::Relaxed),
            bytes: entry.shared.in_bytes.load(Ordering::Relaxed),
        },
        received: DataStats {
            msgs: out_msgs,
            bytes: out_bytes,
        },
        reason: reason.to_string(),
    };
    sys.send(srv, &subject, &ev);
}

/// `$SYS.SERVER.<id>.SHUTDOWN` (or `.LAMEDUCK`): the `server` block alone.
pub fn server_going(srv: &Arc<Server>, lame_duck: bool) {
    let Some(sys) = super::get(srv) else {
        return;
    };
    let subject = format!(
        "$SYS.SERVER.{}.{}",
        srv.id,
        if lame_duck { "LAMEDUCK" } else { "SHUTDOWN" }
    );
    let si = sys.server_info(srv);
    sys.send(srv, &subject, &si);
}

/// A JSON decoding error in the words of Go's `encoding/json`, as far as
/// they can be told from serde's.
pub fn go_json_error(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    match e.classify() {
        Category::Eof => "unexpected end of JSON input".into(),
        Category::Syntax => {
            let text = e.to_string();
            let what = text.split(" at line").next().unwrap_or(&text);
            format!("invalid character in JSON: {what}")
        }
        _ => {
            let text = e.to_string();
            text.split(" at line").next().unwrap_or(&text).to_string()
        }
    }
}
