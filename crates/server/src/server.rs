//! The server: shared state behind one handle, the client listener and its
//! accept loop, lame duck mode and shutdown.
//!
//! Layer: core; may use the foundation, `auth`, `transport` and the core.

use crate::config::options::{Options, NATS_VERSION};
use crate::delivery::closed::{ClosedClient, ClosedReason, ClosedRing, SubDetail};
use crate::delivery::outbound::{ClientShared, SubRef};
use parking_lot::{Mutex, RwLock};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use sublist::Sublist;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Server-wide message counters.
#[derive(Debug, Default)]
pub struct Stats {
    /// Messages received from clients.
    pub in_msgs: AtomicU64,
    /// Payload bytes received.
    pub in_bytes: AtomicU64,
    /// Messages delivered.
    pub out_msgs: AtomicU64,
    /// Payload bytes delivered.
    pub out_bytes: AtomicU64,
    /// Slow consumers closed.
    pub slow_consumers: AtomicU64,
    /// Connections accepted ever.
    pub total_connections: AtomicU64,
    /// Client connections closed as stale (unanswered PINGs).
    pub stale_clients: AtomicU64,
    /// Route connections closed as stale.
    pub stale_routes: AtomicU64,
    /// Times a publisher was paused for a slow receiver (`stalled_clients`).
    pub stalls: AtomicU64,
}

/// A connected client as the server sees it.
#[derive(Debug, Clone)]
pub struct ClientEntry {
    /// Shared connection state.
    pub shared: Arc<ClientShared>,
    /// Remote address.
    pub addr: SocketAddr,
    /// Connected at.
    pub start: chrono::DateTime<chrono::Utc>,
}

/// Everything the connections share.
pub struct Server {
    opts: RwLock<Arc<Options>>,
    /// Server id (nkey-style public key).
    pub id: String,
    /// Server name.
    pub name: String,
    /// The server's x25519 key pair (INFO `xkey`, encrypted auth callouts).
    pub xkey: nkeys::XKey,
    /// All subscriptions.
    pub sublist: Arc<RwLock<Sublist<SubRef>>>,
    /// Accounts (the global one shares `sublist`).
    pub accounts: crate::accounts::Accounts,
    /// The cluster: routes to the other servers.
    pub routes: crate::cluster::Routes,
    /// Leafnode connections and the interest announced to them.
    pub leafs: crate::leafs::Leafs,
    /// Connected clients by cid.
    pub clients: Mutex<HashMap<u64, ClientEntry>>,
    next_cid: AtomicU64,
    /// Message counters.
    pub stats: Stats,
    /// Recently closed connections.
    pub closed: ClosedRing,
    /// Cancelled when the server shuts down.
    pub shutdown: CancellationToken,
    /// Lame duck mode is on.
    pub lame_duck: AtomicBool,
    /// Cancelled when lame duck mode starts (the listener closes).
    pub stop_accepting: CancellationToken,
    /// Started at.
    pub start: Instant,
    /// Started at (wall clock).
    pub start_time: chrono::DateTime<chrono::Utc>,
    /// Bound client address.
    pub client_addr: OnceLock<SocketAddr>,
    /// Bound websocket address.
    pub ws_addr: OnceLock<SocketAddr>,
    /// TLS for client connections, when configured.
    pub tls_config: RwLock<Option<Arc<rustls::ServerConfig>>>,
    /// Bound monitoring address.
    pub http_addr: OnceLock<SocketAddr>,
    /// `websocket { tls }`: websocket clients connect with `wss`.
    pub ws_tls: OnceLock<Arc<rustls::ServerConfig>>,
    config_time: Mutex<chrono::DateTime<chrono::Utc>>,
    /// Bumped on every successful reload; connections watch it.
    reloads: tokio::sync::watch::Sender<u64>,
    /// Operator mode: the trusted keys and accounts (`None` otherwise).
    trust: RwLock<Option<Arc<crate::auth::jwt::Trust>>>,
    /// The system account's state, set once it runs (its type belongs to
    /// the layer that serves it).
    pub system: OnceLock<Arc<dyn std::any::Any + Send + Sync>>,
    /// JetStream's state, set once it runs (its type belongs to the
    /// connections layer).
    pub jetstream: OnceLock<Arc<dyn std::any::Any + Send + Sync>>,
}

impl Server {
    /// A server for `opts`; nothing is bound yet.
    pub fn new(opts: Options) -> Arc<Server> {
        let id = nkeys::KeyPair::new_server().public_key();
        let name = opts.server_name.clone().unwrap_or_else(|| id.clone());
        let start_time = chrono::Utc::now();
        let global = Arc::new(RwLock::new(Sublist::new()));
        let trust = crate::auth::jwt::Trust::from_options(&opts).map(Arc::new);
        let accounts = crate::accounts::Accounts::new(&opts, global.clone(), trust.as_deref());
        let first_cid = internal_clients(&opts, &accounts);
        Arc::new(Server {
            xkey: nkeys::XKey::new(),
            trust: RwLock::new(trust),
            closed: ClosedRing::new(opts.max_closed_clients),
            opts: RwLock::new(Arc::new(opts)),
            id,
            name,
            accounts,
            routes: crate::cluster::Routes::default(),
            leafs: crate::leafs::Leafs::default(),
            sublist: global,
            clients: Mutex::new(HashMap::new()),
            next_cid: AtomicU64::new(first_cid),
            stats: Stats::default(),
            shutdown: CancellationToken::new(),
            lame_duck: AtomicBool::new(false),
            stop_accepting: CancellationToken::new(),
            start: Instant::now(),
            start_time,
            client_addr: OnceLock::new(),
            ws_addr: OnceLock::new(),
            tls_config: RwLock::new(None),
            http_addr: OnceLock::new(),
            ws_tls: OnceLock::new(),
            config_time: Mutex::new(start_time),
            reloads: tokio::sync::watch::channel(0).0,
            system: OnceLock::new(),
            jetstream: OnceLock::new(),
        })
    }

    /// The options in force.
    pub fn opts(&self) -> Arc<Options> {
        self.opts.read().clone()
    }

    /// Replaces the options (reload).
    pub fn set_opts(&self, opts: Options) {
        *self.trust.write() = crate::auth::jwt::Trust::from_options(&opts).map(Arc::new);
        *self.opts.write() = Arc::new(opts);
        *self.config_time.lock() = chrono::Utc::now();
    }

    /// Replaces the trust chain (an account JWT pushed at run time).
    pub fn set_trust(&self, t: crate::auth::jwt::Trust) {
        *self.trust.write() = Some(Arc::new(t));
    }

    /// Operator mode's trust chain, when the server is in operator mode.
    pub fn trust(&self) -> Option<Arc<crate::auth::jwt::Trust>> {
        self.trust.read().clone()
    }

    /// When the options in force were loaded (start or last reload).
    pub fn config_time(&self) -> chrono::DateTime<chrono::Utc> {
        *self.config_time.lock()
    }

    /// Tells every connection that the options changed.
    pub fn notify_reload(&self) {
        self.reloads.send_modify(|n| *n += 1);
    }

    /// A receiver that changes on every reload.
    pub fn watch_reloads(&self) -> tokio::sync::watch::Receiver<u64> {
        self.reloads.subscribe()
    }

    /// Next connection id.
    pub fn next_cid(&self) -> u64 {
        self.next_cid.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Number of connected clients.
    pub fn num_clients(&self) -> usize {
        self.clients.lock().len()
    }

    /// The system account's name: `system_account` (or the operator's),
    /// else `$SYS` unless `no_system_account`.
    pub fn system_account(&self) -> Option<String> {
        system_account_name(&self.opts())
    }

    /// The INFO document for a client, as JSON. `bound` is the account
    /// the client is bound to, for the INFO that answers its first PING
    /// (`connect_info`).
    pub fn info_json(
        &self,
        cid: u64,
        client_ip: &str,
        ldm: bool,
        nonce: &str,
        websocket: bool,
        bound: Option<&str>,
    ) -> Vec<u8> {
        let opts = self.opts();
        let ws_opts;
        let auth_opts = if websocket {
            ws_opts = crate::auth::for_websocket(&opts);
            &ws_opts
        } else {
            &*opts
        };
        // With a usable no_auth_user, nats-server does not announce auth.
        let auth_required =
            auth_opts.auth_required() && crate::auth::no_auth_user(auth_opts).is_none();
        // Websocket clients see the websocket listener's address.
        let (host, port) = match (websocket, self.ws_addr.get()) {
            (true, Some(a)) => (
                if opts.websocket.host.is_empty() {
                    opts.host.clone()
                } else {
                    opts.websocket.host.clone()
                },
                a.port(),
            ),
            _ => (
                opts.host.clone(),
                self.client_addr.get().map(|a| a.port()).unwrap_or(0),
            ),
        };
        let info = proto::ServerInfo {
            server_id: self.id.clone(),
            server_name: self.name.clone(),
            version: NATS_VERSION.to_string(),
            proto: 1,
            git_commit: crate::config::options::GIT_COMMIT.to_string(),
            go: crate::config::options::GO_VERSION.to_string(),
            host,
            port,
            headers: true,
            auth_required,
            tls_required: !websocket && self.tls_config.read().is_some(),
            tls_verify: !websocket
                && self.tls_config.read().is_some()
                && opts.tls.as_ref().is_some_and(|t| t.verify),
            max_payload: opts.max_payload as i64,
            client_id: cid,
            client_ip: client_ip.to_string(),
            nonce: nonce.to_string(),
            ldm,
            cluster: if self.routes.enabled() {
                self.routes.name()
            } else {
                String::new()
            },
            // Websocket clients get the websocket URLs (nats-server never
            // sends `ws_connect_urls` to clients).
            connect_urls: if opts.cluster.no_advertise {
                Vec::new()
            } else {
                self.routes.connect_urls(websocket, ldm)
            },
            domain: opts.jetstream.domain.clone().unwrap_or_default(),
            connect_info: bound.is_some(),
            remote_account: bound.unwrap_or_default().to_string(),
            acc_is_sys: bound.is_some() && bound.map(str::to_string) == system_account_name(&opts),
            api_lvl: crate::config::options::JS_API_LEVEL,
            jetstream: self.jetstream.get().is_some(),
            xkey: self.xkey.public_key(),
            ..Default::default()
        };
        serde_json::to_vec(&info).expect("INFO serializes")
    }

    /// Takes every subscription of a closed connection out of its account's
    /// sublist (a client's also out of the interest announced to routes).
    pub fn drop_subs(
        &self,
        conn: &ClientShared,
    ) -> Vec<Arc<crate::delivery::outbound::Subscription>> {
        let subs: Vec<_> = conn.subs.lock().drain().map(|(_, s)| s).collect();
        for s in &subs {
            s.acc
                .sublist
                .write()
                .remove(&s.subject, s.queue.as_deref(), &SubRef(s.clone()));
            crate::leafs::interest(self, s, -1);
        }
        subs
    }

    /// Removes a closed client's subscriptions and registration, and keeps
    /// a record of it.
    pub fn remove_client(&self, entry: &ClientEntry, reason: ClosedReason, info: ClosedInfo) {
        let shared = &entry.shared;
        let subs = self.drop_subs(shared);
        self.clients.lock().remove(&shared.cid);
        if reason.is_slow_consumer() {
            self.stats.slow_consumers.fetch_add(1, Ordering::Relaxed);
        }
        let (out_msgs, out_bytes, pending) = {
            let o = shared.out.lock();
            (o.out_msgs, o.out_bytes, o.pending())
        };
        let meta = shared.meta.lock().clone();
        if let Some(acc) = self.accounts.lookup(meta.account.as_bytes()) {
            let mut s = acc.closed_stats.lock();
            s[0] += shared.in_msgs.load(Ordering::Relaxed);
            s[1] += shared.in_bytes.load(Ordering::Relaxed);
            s[2] += out_msgs;
            s[3] += out_bytes;
            s[4] += u64::from(reason.is_slow_consumer());
        }
        self.closed.push(ClosedClient {
            cid: shared.cid,
            addr: entry.addr.to_string(),
            name: info.name,
            lang: info.lang,
            version: info.version,
            start: entry.start,
            stop: chrono::Utc::now(),
            reason,
            in_msgs: shared.in_msgs.load(Ordering::Relaxed),
            in_bytes: shared.in_bytes.load(Ordering::Relaxed),
            out_msgs,
            out_bytes,
            num_subs: subs.len(),
            last_activity: meta.last_activity.unwrap_or(entry.start),
            rtt: meta.rtt,
            pending,
            user: meta.user,
            // Closed records of the global account carry no account name
            // (as nats-server).
            account: if meta.account == crate::accounts::GLOBAL {
                String::new()
            } else {
                meta.account
            },
            subs: subs.iter().map(|s| SubDetail::of(s)).collect(),
            websocket: shared.ws_compress.is_some(),
        });
    }

    /// Binds the client listener.
    pub async fn bind(self: &Arc<Self>) -> std::io::Result<TcpListener> {
        let opts = self.opts();
        let port = if opts.port < 0 { 0 } else { opts.port as u16 };
        let host = opts.host.trim_start_matches('[').trim_end_matches(']');
        let listener = crate::util::listen(host, port).await?;
        let addr = listener.local_addr()?;
        let _ = self.client_addr.set(addr);
        crate::info!(
            "Listening for client connections on {}",
            crate::util::host_port(&opts.host, addr.port())
        );
        if let Some(t) = opts.tls.as_ref() {
            crate::info!("TLS required for client connections");
            if t.handshake_first && t.handshake_first_fallback.is_none_or(|d| d.is_zero()) {
                crate::warn!(
                    "Clients that are not using \"TLS Handshake First\" option will fail to connect"
                );
            }
        }
        Ok(listener)
    }

    /// Accepts connections on `listener` until shutdown or lame duck mode,
    /// serving each with `serve` in a task of its own.
    pub async fn accept_with<F, Fut>(self: Arc<Self>, listener: TcpListener, what: &str, serve: F)
    where
        F: Fn(Arc<Server>, tokio::net::TcpStream, SocketAddr) -> Fut,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        let stop = self.shutdown.clone();
        let ldm = self.stop_accepting.clone();
        loop {
            let accepted = tokio::select! {
                r = listener.accept() => r,
                _ = stop.cancelled() => break,
                _ = ldm.cancelled() => break,
            };
            match accepted {
                Ok((stream, addr)) => {
                    let addr = crate::util::canonical(addr);
                    if self.lame_duck.load(Ordering::Relaxed) {
                        drop(stream);
                        continue;
                    }
                    tokio::spawn(serve(self.clone(), stream, addr));
                }
                Err(e) => {
                    crate::error!("Error accepting {what} connection: {e}");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        }
    }

    /// Sends a fresh `INFO` to every client that takes asynchronous
    /// updates (cluster membership changed).
    pub fn send_async_info(&self) {
        let clients: Vec<_> = self.clients.lock().values().cloned().collect();
        let ldm = self.lame_duck.load(Ordering::Relaxed);
        for c in &clients {
            if c.shared.async_info.load(Ordering::Relaxed) {
                self.send_info_to(c, ldm);
            }
        }
    }

    /// Sends client `c` a fresh `INFO` (`ldm`: saying this server is going
    /// away).
    pub fn send_info_to(&self, c: &ClientEntry, ldm: bool) {
        let json = self.info_json(
            c.shared.cid,
            &c.addr.ip().to_string(),
            ldm,
            &c.shared.nonce,
            c.shared.ws_compress.is_some(),
            None,
        );
        let mut b = Vec::new();
        proto::encode::info(&mut b, &json);
        c.shared.send_now(&b);
    }

    /// Closes every client with `reason`.
    pub fn close_all(&self, reason: ClosedReason) {
        let clients: Vec<_> = self.clients.lock().values().cloned().collect();
        for c in clients {
            c.shared.mark_closed(reason, false);
        }
    }

    /// Lame duck mode: stop accepting, tell clients, then close them over
    /// `lame_duck_duration` and shut down.
    pub async fn lame_duck(self: Arc<Self>) {
        if self.lame_duck.swap(true, Ordering::SeqCst) {
            return;
        }
        let opts = self.opts();
        crate::info!("Entering lame duck mode, stop accepting new clients");
        self.stop_accepting.cancel();
        self.routes.announce_lame_duck(&self);
        self.send_async_info();
        tokio::select! {
            _ = tokio::time::sleep(opts.lame_duck_grace_period) => {}
            _ = self.shutdown.cancelled() => return,
        }
        let clients: Vec<_> = self.clients.lock().values().cloned().collect();
        if clients.is_empty() {
            self.shutdown.cancel();
            return;
        }
        // Spread the closes over the duration, but never more than a second
        // apart (as nats-server).
        let total = opts
            .lame_duck_duration
            .saturating_sub(opts.lame_duck_grace_period)
            .max(Duration::from_secs(1));
        let step = (total / clients.len() as u32).min(Duration::from_secs(1));
        crate::info!("Closing existing clients");
        for c in clients {
            c.shared.mark_closed(ClosedReason::LameDuckMode, false);
            if !step.is_zero() {
                tokio::select! {
                    _ = tokio::time::sleep(step) => {}
                    _ = self.shutdown.cancelled() => return,
                }
            }
        }
        self.shutdown.cancel();
    }
}

/// Client-declared facts kept in the closed record.
#[derive(Debug, Clone, Default)]
pub struct ClosedInfo {
    /// Client name.
    pub name: String,
    /// Client language.
    pub lang: String,
    /// Client version.
    pub version: String,
}

/// The system account's name under `opts`.
pub fn system_account_name(opts: &Options) -> Option<String> {
    opts.system_account_name()
}

/// How many connection ids nats-server 2.12.4 gives its internal clients
/// at start: with a system account, its client, its send queue and one
/// per account (the configured ones, `$G` and the system account), so the
/// first client is numbered as there.
fn internal_clients(opts: &Options, accounts: &crate::accounts::Accounts) -> u64 {
    let Some(sys) = system_account_name(opts) else {
        return 0;
    };
    let mut n = accounts.all().len() as u64;
    if !accounts.contains(&sys) {
        n += 1;
    }
    2 + n
}
