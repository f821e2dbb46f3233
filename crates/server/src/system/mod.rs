//! The system account, as nats-server 2.12: the server's internal client in
//! it, the `$SYS` subjects it serves (requests answered with monitoring
//! data, in the `{"server":…,"data":…}` envelope) and the events it
//! publishes (client connects and disconnects, server stats, shutdown, lame
//! duck, authentication errors).
//!
//! Layer: connections. Monitoring documents come from providers that the
//! top layer registers with [`set_provider`]; this module never names
//! `monitor`. The core keeps the [`System`] in `Server::system` without
//! knowing its type.

pub mod conns;
pub mod events;
pub mod imports;
pub mod requests;
pub mod resolver;

use crate::accounts::Account;
use crate::delivery::internal::{self, InternalClient, InternalMsg};
use crate::server::Server;
use parking_lot::RwLock;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Connection id of the system account's internal client (nats-server's
/// first internal client).
const SYSTEM_CID: u64 = 1;

/// Handles one message to a `$SYS` subscription.
pub type Handler = Arc<dyn Fn(&Arc<Server>, &System, &InternalMsg<'_>) + Send + Sync>;

/// Produces a monitoring document for a request: the request's options
/// (its JSON body, `{}` when empty) and the account a per-account request
/// names. `Err` is the error's description.
pub type Provider = Arc<
    dyn Fn(&Arc<Server>, &serde_json::Value, Option<&str>) -> Result<serde_json::Value, String>
        + Send
        + Sync,
>;

/// The system account's state.
pub struct System {
    /// The system account.
    pub account: Arc<Account>,
    /// The server's client in it.
    pub client: Arc<InternalClient>,
    handlers: RwLock<HashMap<Box<[u8]>, Handler>>,
    providers: RwLock<HashMap<&'static str, Provider>>,
    /// Sequence of the messages it sent (`server.seq`).
    seq: AtomicU64,
}

/// The system of `srv`, when it has a system account.
pub fn get(srv: &Server) -> Option<Arc<System>> {
    srv.system.get()?.clone().downcast::<System>().ok()
}

/// Sets up the system account's internal client and its subscriptions,
/// and starts serving them. Nothing when there is no system account.
pub fn start(srv: &Arc<Server>) {
    let Some(name) = srv.system_account() else {
        return;
    };
    let Some(account) = srv.accounts.lookup(name.as_bytes()) else {
        return;
    };
    let client = Arc::new(InternalClient::new(SYSTEM_CID, "SYSTEM"));
    let sys = Arc::new(System {
        account,
        client: client.clone(),
        handlers: RwLock::new(HashMap::new()),
        providers: RwLock::new(HashMap::new()),
        seq: AtomicU64::new(1),
    });
    if srv.system.set(sys.clone()).is_err() {
        return;
    }
    requests::subscribe_all(srv, &sys);
    imports::register(srv, &sys);
    resolver::subscribe(srv, &sys);
    conns::start(srv, &sys);
    let s = sys.clone();
    tokio::spawn(internal::serve(srv.clone(), client, move |srv, m| {
        let h = s.handlers.read().get(m.sid).cloned();
        if let Some(h) = h {
            h(srv, &s, &m);
        }
    }));
    events::start(srv, &sys);
}

/// Tells the cluster of the system account's interest (clustering starts
/// after the system account).
pub fn announce(srv: &Server) {
    if let Some(sys) = get(srv) {
        sys.client.announce(srv);
    }
}

/// Registers the provider of the monitoring document `name` (`VARZ`,
/// `CONNZ`, …) for `$SYS` requests.
pub fn set_provider(srv: &Server, name: &'static str, p: Provider) {
    if let Some(sys) = get(srv) {
        sys.providers.write().insert(name, p);
    }
}

impl System {
    /// Subscribes the internal client to `subject`, handled by `h`.
    pub fn subscribe(&self, srv: &Server, subject: &str, h: Handler) {
        let sid = self.client.subscribe(srv, &self.account, subject, false);
        self.handlers.write().insert(sid, h);
    }

    /// Subscribes the internal client to `subject` as a member of `queue`.
    pub fn subscribe_queue(&self, srv: &Server, subject: &str, queue: &str, h: Handler) {
        let sid = self
            .client
            .subscribe_queue(srv, &self.account, subject, Some(queue), false);
        self.handlers.write().insert(sid, h);
    }

    /// Subscribes the internal client to `subject` in `acc`, for this
    /// server alone (the cluster does not hear of it), handled by `h`.
    pub fn subscribe_local(&self, srv: &Server, acc: &Arc<Account>, subject: &str, h: Handler) {
        let sid = self.client.subscribe(srv, acc, subject, true);
        self.handlers.write().insert(sid, h);
    }

    /// The provider of `name`, if registered.
    pub fn provider(&self, name: &str) -> Option<Provider> {
        self.providers.read().get(name).cloned()
    }

    /// The `server` block of a message this server sends now.
    pub fn server_info(&self, srv: &Server) -> ServerInfo {
        let opts = srv.opts();
        ServerInfo {
            name: srv.name.clone(),
            host: opts.host.clone(),
            id: srv.id.clone(),
            cluster: if srv.routes.enabled() {
                srv.routes.name()
            } else {
                String::new()
            },
            domain: opts.jetstream.domain.clone().unwrap_or_default(),
            ver: crate::config::options::NATS_VERSION.to_string(),
            tags: opts.server_tags.clone(),
            jetstream: false,
            flags: 0,
            seq: self.seq.fetch_add(1, Ordering::Relaxed) + 1,
            time: crate::util::rfc3339_nanos(chrono::Utc::now()),
        }
    }

    /// Publishes `body` (JSON) on `subject` in the system account.
    pub fn send<T: Serialize>(&self, srv: &Arc<Server>, subject: &str, body: &T) {
        let json = serde_json::to_vec(body).unwrap_or_default();
        self.send_raw(srv, subject.as_bytes(), None, &json);
    }

    /// Publishes `body` on `subject` (with `reply`) in the system account.
    pub fn send_raw(&self, srv: &Arc<Server>, subject: &[u8], reply: Option<&[u8]>, body: &[u8]) {
        internal::publish(
            srv,
            &self.account,
            self.client.shared.cid,
            subject,
            reply,
            None,
            body,
        );
    }

    /// Answers a request on `reply`: `data` in the envelope, or the error
    /// with its HTTP-like code.
    pub fn respond(
        &self,
        srv: &Arc<Server>,
        reply: &[u8],
        data: Result<serde_json::Value, (u16, String)>,
    ) {
        let server = self.server_info(srv);
        let doc = match data {
            Ok(d) => Envelope {
                server,
                data: (!d.is_null()).then_some(d),
                error: None,
            },
            Err((code, description)) => Envelope {
                server,
                data: None,
                error: Some(ApiError { code, description }),
            },
        };
        let json = serde_json::to_vec(&doc).unwrap_or_default();
        self.send_raw(srv, reply, None, &json);
    }
}

/// nats-server's `ServerInfo`: who sent a system message.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct ServerInfo {
    /// Server name.
    pub name: String,
    /// Client listener host.
    pub host: String,
    /// Server id.
    pub id: String,
    /// Cluster name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cluster: String,
    /// JetStream domain.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub domain: String,
    /// Version.
    pub ver: String,
    /// `server_tags`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// JetStream is enabled.
    pub jetstream: bool,
    /// Capability flags.
    pub flags: u64,
    /// Sequence of the server's system messages.
    pub seq: u64,
    /// When the message was sent (RFC 3339, nanoseconds, UTC).
    pub time: String,
}

/// nats-server's `ServerAPIResponse`.
#[derive(Serialize)]
struct Envelope {
    server: ServerInfo,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<ApiError>,
}

/// nats-server's `ApiError`.
#[derive(Serialize)]
struct ApiError {
    code: u16,
    #[serde(skip_serializing_if = "String::is_empty")]
    description: String,
}

/// nats-server's `EventFilterOptions`: which servers answer a request.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Filter {
    /// Server name.
    pub server_name: String,
    /// Cluster name.
    pub cluster: String,
    /// Client listener host.
    pub host: String,
    /// Match whole names instead of parts.
    pub exact_match: bool,
    /// Every one of these tags.
    pub tags: Vec<String>,
    /// JetStream domain.
    pub domain: String,
}

impl Filter {
    /// True when this server is filtered out (it does not answer).
    pub fn excludes(&self, srv: &Server) -> bool {
        let opts = srv.opts();
        let cluster = if srv.routes.enabled() {
            srv.routes.name()
        } else {
            String::new()
        };
        let differs = |want: &str, have: &str| {
            !want.is_empty()
                && if self.exact_match {
                    want != have
                } else {
                    !have.contains(want)
                }
        };
        if differs(&self.server_name, &srv.name)
            || differs(&self.host, &opts.host)
            || differs(&self.cluster, &cluster)
        {
            return true;
        }
        if self.tags.iter().any(|t| !opts.server_tags.contains(t)) {
            return true;
        }
        !self.domain.is_empty() && opts.jetstream.domain.as_deref() != Some(self.domain.as_str())
    }
}
