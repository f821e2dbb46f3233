//! Clustering: full-mesh routes between servers, as nats-server 2.9 speaks
//! them. This module owns the registry of route connections, the interest
//! each server announces to the others (`RS+`/`RS-` on 0↔1 changes, queue
//! weights), gossip of cluster members, the solicitation of configured and
//! discovered routes with reconnects, and the client URLs advertised in
//! client `INFO`. One route connection is served by [`conn`].

pub mod conn;
pub mod url;

use crate::accounts::Account;
use crate::outbound::ClientShared;
use crate::server::Server;
use parking_lot::{Mutex, RwLock};
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
pub use url::RouteUrl;

/// Pause between attempts to reach a route.
const CONNECT_DELAY: Duration = Duration::from_secs(1);
/// Time allowed to open a route's TCP connection.
const DIAL_TIMEOUT: Duration = Duration::from_secs(1);

/// One route connection as the registry sees it.
#[derive(Debug)]
pub struct Link {
    /// The connection's outbound side (`is_route` is set).
    pub shared: Arc<ClientShared>,
    /// Remote address.
    pub addr: SocketAddr,
    /// When the connection was made.
    pub start: chrono::DateTime<chrono::Utc>,
    /// This server dialed it.
    pub solicited: bool,
    /// What is known of the other end.
    pub state: Mutex<LinkState>,
}

/// What a route learned about the server at its other end.
#[derive(Debug, Default, Clone)]
pub struct LinkState {
    /// Remote server id.
    pub remote_id: String,
    /// Remote server name.
    pub remote_name: String,
    /// Where to reach the remote's route listener.
    pub url: Option<RouteUrl>,
    /// The remote's client URLs.
    pub connect_urls: Vec<String>,
    /// The remote's websocket URLs.
    pub ws_connect_urls: Vec<String>,
    /// Registered as the route to `remote_id`.
    pub registered: bool,
    /// A duplicate was refused while this one was registered: if it closes,
    /// reconnect (the other side may have kept the duplicate).
    pub retry: bool,
    /// Import permissions the remote announced.
    pub import: Option<serde_json::Value>,
    /// Export permissions the remote announced.
    pub export: Option<serde_json::Value>,
}

#[derive(Default)]
struct Inner {
    /// Every route connection, by connection id.
    links: HashMap<u64, Arc<Link>>,
    /// Registered routes, by remote server id.
    by_id: HashMap<String, Arc<Link>>,
    /// Discovered route URLs being dialed.
    connecting: HashSet<String>,
    /// Client URLs of the other servers, with reference counts.
    client_urls: Vec<(String, usize)>,
    /// Websocket URLs of the other servers, with reference counts.
    ws_urls: Vec<(String, usize)>,
    /// Some route has announced URLs: client INFO carries `connect_urls`.
    advertised: bool,
}

/// The cluster side of a server.
#[derive(Default)]
pub struct Routes {
    enabled: AtomicBool,
    inner: Mutex<Inner>,
    name: RwLock<String>,
    dynamic: AtomicBool,
    /// The route listener's address.
    pub addr: OnceLock<SocketAddr>,
    own_urls: OnceLock<Vec<String>>,
    own_ws_urls: OnceLock<Vec<String>>,
    /// `cluster { permissions { import } }`: interest is only asked for
    /// subjects this server may import.
    import: Mutex<Option<crate::perms::ClientPerms>>,
    /// `cluster { tls }`: the configurations to accept and to dial routes.
    pub(crate) tls: OnceLock<RouteTls>,
}

/// TLS for routes: every route starts with a handshake (accepted routes as
/// the server side, dialed ones as the client side).
pub(crate) struct RouteTls {
    pub(crate) server: Arc<rustls::ServerConfig>,
    pub(crate) client: Arc<rustls::ClientConfig>,
    pub(crate) timeout: Duration,
}

impl Routes {
    /// True when a cluster is configured.
    pub fn enabled(&self) -> bool {
        self.enabled.load(Ordering::Relaxed)
    }

    /// The cluster name.
    pub fn name(&self) -> String {
        self.name.read().clone()
    }

    /// The cluster name was generated.
    pub fn dynamic(&self) -> bool {
        self.dynamic.load(Ordering::Relaxed)
    }

    /// True when this server may ask routes for `subject`.
    fn can_import(&self, subject: &[u8]) -> bool {
        match self.import.lock().as_mut() {
            Some(p) => p.can_publish(subject, &Mutex::new(Default::default())),
            None => true,
        }
    }

    fn set_name(&self, name: &str) {
        *self.name.write() = name.to_string();
    }

    /// Every route connection.
    pub fn links(&self) -> Vec<Arc<Link>> {
        let mut v: Vec<_> = self.inner.lock().links.values().cloned().collect();
        v.sort_by_key(|l| l.shared.cid);
        v
    }

    /// Number of registered routes.
    pub fn num_routes(&self) -> usize {
        self.inner.lock().by_id.len()
    }

    /// True when a route to server `id` is registered.
    pub fn is_connected(&self, id: &str) -> bool {
        self.inner.lock().by_id.contains_key(id)
    }

    /// Client URLs for client `INFO` (`websocket`: the websocket ones):
    /// this server's (unless `lame_duck`), then the other servers'. Empty
    /// until a route announced some, as nats-server.
    pub fn connect_urls(&self, websocket: bool, lame_duck: bool) -> Vec<String> {
        let inner = self.inner.lock();
        if !inner.advertised {
            return Vec::new();
        }
        let (own, others) = if websocket {
            (self.own_ws_urls.get(), &inner.ws_urls)
        } else {
            (self.own_urls.get(), &inner.client_urls)
        };
        let mut v: Vec<String> = if lame_duck {
            Vec::new()
        } else {
            own.cloned().unwrap_or_default()
        };
        v.extend(others.iter().map(|(u, _)| u.clone()));
        v
    }

    /// Records a change of local interest (`delta` is +1 or -1) in `acc`
    /// and tells every route when the cluster must know: a subject's first
    /// and last subscription, and every change of a queue group's size.
    pub fn local_interest(&self, acc: &Account, subject: &[u8], queue: Option<&[u8]>, delta: i32) {
        if !self.enabled() {
            return;
        }
        let can_import = self.can_import(subject);
        let inner = self.inner.lock();
        let mut key = subject.to_vec();
        if let Some(q) = queue {
            key.push(b' ');
            key.extend_from_slice(q);
        }
        let n = {
            let mut rm = acc.route_interest.lock();
            let cur = rm.get(key.as_slice()).copied().unwrap_or(0);
            let n = (cur as i64 + delta as i64).max(0) as u32;
            if n == cur {
                return;
            }
            if n == 0 {
                rm.remove(key.as_slice());
            } else {
                rm.insert(key.into_boxed_slice(), n);
            }
            // Plain subjects: only 0↔1 changes are announced.
            if queue.is_none() && n.max(cur) > 1 {
                return;
            }
            n
        };
        if inner.by_id.is_empty() || !can_import {
            return;
        }
        let mut buf = Vec::with_capacity(subject.len() + 32);
        let acc_name = acc.name.as_bytes();
        if n > 0 {
            proto::route::sub(&mut buf, acc_name, subject, queue.map(|q| (q, n)));
        } else {
            proto::route::unsub(&mut buf, acc_name, subject, queue);
        }
        for link in inner.by_id.values() {
            trace_out(&link.shared, &buf);
            link.shared.send_now(&buf);
        }
    }

    fn add_link(&self, link: &Arc<Link>) {
        self.inner
            .lock()
            .links
            .insert(link.shared.cid, link.clone());
    }

    /// Registers `link` as the route to its remote server and sends it all
    /// local interest. `Err` when that server already has a route (the
    /// registered one is then marked for retry). `Ok((others, urls))`:
    /// other routes exist, which must hear of the new server; the client
    /// URLs changed.
    fn register(&self, srv: &Server, link: &Arc<Link>) -> Result<(bool, bool), ()> {
        let mut inner = self.inner.lock();
        let id = link.state.lock().remote_id.clone();
        if let Some(existing) = inner.by_id.get(&id) {
            let mut ex = existing.state.lock();
            ex.retry = true;
            // Keep the address this server dialed: the remote's announced
            // host may be a wildcard (nats-server's upgrade to solicited).
            if link.solicited && !existing.solicited {
                if let Some(u) = link.state.lock().url.clone() {
                    ex.url = Some(u);
                }
            }
            return Err(());
        }
        inner.by_id.insert(id, link.clone());
        let mut buf = Vec::new();
        for acc in srv.accounts.all() {
            for (key, n) in acc.route_interest.lock().iter() {
                let mut parts = key.splitn(2, |&b| b == b' ');
                let subject = parts.next().unwrap_or_default();
                if !self.can_import(subject) {
                    continue;
                }
                let queue = parts.next().map(|q| (q, *n));
                proto::route::sub(&mut buf, acc.name.as_bytes(), subject, queue);
            }
        }
        if !buf.is_empty() {
            trace_out(&link.shared, &buf);
            link.shared.send_now(&buf);
        }
        let mut st = link.state.lock();
        st.registered = true;
        let urls_changed = add_urls(&mut inner.client_urls, &st.connect_urls)
            | add_urls(&mut inner.ws_urls, &st.ws_connect_urls);
        if urls_changed || !st.connect_urls.is_empty() {
            inner.advertised = true;
        }
        drop(st);
        Ok((inner.by_id.len() > 1, urls_changed))
    }

    /// Forgets a closed route. Returns true when client URLs changed.
    fn remove_link(&self, link: &Arc<Link>) -> bool {
        let mut inner = self.inner.lock();
        inner.links.remove(&link.shared.cid);
        let st = link.state.lock();
        if !st.registered {
            return false;
        }
        if inner
            .by_id
            .get(&st.remote_id)
            .is_some_and(|l| Arc::ptr_eq(l, link))
        {
            inner.by_id.remove(&st.remote_id);
        }
        remove_urls(&mut inner.client_urls, &st.connect_urls)
            | remove_urls(&mut inner.ws_urls, &st.ws_connect_urls)
    }

    /// A remote entering lame duck mode: its client URLs are withdrawn.
    fn withdraw_urls(&self, link: &Arc<Link>) -> bool {
        let mut inner = self.inner.lock();
        let mut st = link.state.lock();
        let urls = std::mem::take(&mut st.connect_urls);
        let ws = std::mem::take(&mut st.ws_connect_urls);
        remove_urls(&mut inner.client_urls, &urls) | remove_urls(&mut inner.ws_urls, &ws)
    }

    /// Sends `bytes` to every registered route but `except`.
    fn broadcast(&self, bytes: &[u8], except: Option<&str>) {
        let inner = self.inner.lock();
        for (id, link) in &inner.by_id {
            if Some(id.as_str()) != except {
                trace_out(&link.shared, bytes);
                link.shared.send_now(bytes);
            }
        }
    }

    /// Closes every route connection.
    pub fn close_all(&self, reason: crate::closed::ClosedReason) {
        for l in self.links() {
            l.shared.mark_closed(reason, false);
        }
    }

    /// Tells the other servers this one is in lame duck mode.
    pub fn announce_lame_duck(&self, srv: &Server) {
        if !self.enabled() {
            return;
        }
        let mut info = self.info(srv);
        info.ldm = true;
        let mut buf = Vec::new();
        proto::encode::info(&mut buf, &serde_json::to_vec(&info).unwrap_or_default());
        self.broadcast(&buf, None);
    }

    /// This server's route `INFO`.
    fn info(&self, srv: &Server) -> proto::ServerInfo {
        let opts = srv.opts();
        let c = &opts.cluster;
        let (host, port, ip) = match c.advertise.as_deref().and_then(split_host_port) {
            Some((h, p)) => (
                h.clone(),
                p,
                format!("nats-route://{}/", crate::util::host_port(&h, p)),
            ),
            None => (
                c.host.clone(),
                self.addr.get().map(|a| a.port()).unwrap_or(0),
                String::new(),
            ),
        };
        let perms = c.permissions.as_ref();
        proto::ServerInfo {
            server_id: srv.id.clone(),
            server_name: srv.name.clone(),
            version: crate::options::NATS_VERSION.to_string(),
            proto: 2,
            go: "go1.19.8".to_string(),
            host,
            port,
            headers: true,
            auth_required: c.username.is_some(),
            tls_required: self.tls.get().is_some(),
            tls_verify: self.tls.get().is_some(),
            max_payload: opts.max_payload as i64,
            ip,
            cluster: self.name(),
            cluster_dynamic: self.dynamic(),
            connect_urls: if c.no_advertise {
                Vec::new()
            } else {
                self.own_urls.get().cloned().unwrap_or_default()
            },
            ws_connect_urls: if c.no_advertise {
                Vec::new()
            } else {
                self.own_ws_urls.get().cloned().unwrap_or_default()
            },
            import: perms
                .and_then(|p| p.import.as_ref())
                .map(crate::route::conn::perm_json),
            export: perms
                .and_then(|p| p.export.as_ref())
                .map(crate::route::conn::perm_json),
            lnoc: true,
            ..Default::default()
        }
    }
}

fn add_urls(list: &mut Vec<(String, usize)>, urls: &[String]) -> bool {
    let mut changed = false;
    for u in urls {
        match list.iter_mut().find(|(x, _)| x == u) {
            Some((_, n)) => *n += 1,
            None => {
                list.push((u.clone(), 1));
                changed = true;
            }
        }
    }
    changed
}

fn remove_urls(list: &mut Vec<(String, usize)>, urls: &[String]) -> bool {
    let mut changed = false;
    for u in urls {
        if let Some(i) = list.iter().position(|(x, _)| x == u) {
            list[i].1 -= 1;
            if list[i].1 == 0 {
                list.remove(i);
                changed = true;
            }
        }
    }
    changed
}

fn trace_out(shared: &ClientShared, bytes: &[u8]) {
    if shared.trace.load(Ordering::Relaxed) {
        for line in String::from_utf8_lossy(bytes).lines() {
            crate::trace!("{} - ->> [{}]", shared.log_prefix, line);
        }
    }
}

/// `host:port` (IPv6 in brackets) split in two.
fn split_host_port(s: &str) -> Option<(String, u16)> {
    let (h, p) = s.rsplit_once(':')?;
    let port = p.parse().ok()?;
    Some((
        h.trim_start_matches('[').trim_end_matches(']').to_string(),
        port,
    ))
}

/// The addresses clients can reach a listener on `host:port` at: the
/// advertised address, or every global unicast address of this machine
/// when listening on all of them (as nats-server).
pub fn connect_urls_for(advertise: Option<&str>, host: &str, port: u16) -> Vec<String> {
    if let Some(a) = advertise.filter(|a| !a.is_empty()) {
        return match split_host_port(a) {
            Some((h, p)) => vec![crate::util::host_port(&h, p)],
            None => vec![crate::util::host_port(a, port)],
        };
    }
    let any = matches!(host, "" | "0.0.0.0" | "::" | "[::]");
    if !any {
        return vec![crate::util::host_port(host, port)];
    }
    let mut urls = Vec::new();
    if let Ok(ifs) = if_addrs::get_if_addrs() {
        for i in ifs {
            let ip = i.ip();
            let global = match ip {
                std::net::IpAddr::V4(v4) => {
                    !v4.is_loopback()
                        && !v4.is_link_local()
                        && !v4.is_multicast()
                        && !v4.is_unspecified()
                        && !v4.is_broadcast()
                }
                std::net::IpAddr::V6(v6) => {
                    !v6.is_loopback()
                        && !v6.is_multicast()
                        && !v6.is_unspecified()
                        && (v6.segments()[0] & 0xffc0) != 0xfe80
                }
            };
            if global {
                urls.push(crate::util::host_port(&ip.to_string(), port));
            }
        }
    }
    urls
}

/// Starts clustering: binds the route listener, serves it, and dials the
/// configured routes. Errors when the listener cannot be bound.
pub async fn start(srv: &Arc<Server>) -> std::io::Result<()> {
    let opts = srv.opts();
    let c = &opts.cluster;
    let routes = &srv.routes;
    match c.name.as_deref().filter(|n| !n.is_empty()) {
        Some(n) => routes.set_name(n),
        None => {
            routes.set_name(&crate::auth::nonce().replace(['-', '_'], "x").to_uppercase());
            routes.dynamic.store(true, Ordering::Relaxed);
        }
    }
    *routes.import.lock() = c.permissions.as_ref().and_then(|p| {
        crate::perms::ClientPerms::new(&crate::config::types::Permissions {
            publish: p.import.clone(),
            subscribe: None,
            response: None,
        })
    });
    if let Some(t) = &c.tls {
        let tls = crate::tls::server_config(t)
            .and_then(|server| Ok((server, crate::tls::client_config(t)?)));
        match tls {
            Ok((server, client)) => {
                let _ = routes.tls.set(RouteTls {
                    server,
                    client,
                    timeout: Duration::from_secs_f64(if t.timeout > 0.0 { t.timeout } else { 2.0 }),
                });
            }
            Err(e) => {
                crate::fatal!("Error configuring cluster TLS: {e}");
                return Err(std::io::Error::other(e));
            }
        }
    }
    routes.enabled.store(true, Ordering::Relaxed);
    let client_port = srv.client_addr.get().map(|a| a.port()).unwrap_or(0);
    let _ = routes.own_urls.set(connect_urls_for(
        opts.client_advertise.as_deref(),
        &opts.host,
        client_port,
    ));
    if let Some(ws) = srv.ws_addr.get() {
        let host = if opts.websocket.host.is_empty() {
            &opts.host
        } else {
            &opts.websocket.host
        };
        let _ = routes.own_ws_urls.set(connect_urls_for(
            opts.websocket.advertise.as_deref(),
            host,
            ws.port(),
        ));
    }
    crate::info!("Cluster name is {}", routes.name());
    if routes.dynamic() {
        crate::warn!("Cluster name was dynamically generated, consider setting one");
    }
    let port = if c.port < 0 { 0 } else { c.port as u16 };
    let host = if c.host.is_empty() {
        "0.0.0.0"
    } else {
        &c.host
    };
    let bind_host = host.trim_start_matches('[').trim_end_matches(']');
    let listener = match tokio::net::TcpListener::bind((bind_host, port)).await {
        Ok(l) => l,
        Err(e) => {
            crate::fatal!("Error listening on router port: {} - {e}", c.port);
            return Err(e);
        }
    };
    let addr = listener.local_addr()?;
    let _ = routes.addr.set(addr);
    crate::info!(
        "Listening for route connections on {}",
        crate::util::host_port(host, addr.port())
    );
    tokio::spawn(
        srv.clone()
            .accept_with(listener, "route", |srv, stream, addr| async move {
                conn::run(srv, stream, addr, None).await;
            }),
    );
    for r in &c.routes {
        match RouteUrl::parse(r) {
            Some(u) => solicit(srv.clone(), u, true),
            None => crate::error!("Error parsing route URL {r:?}"),
        }
    }
    Ok(())
}

/// Applies a reloaded `routes` list: new routes are dialed, routes no
/// longer configured are closed (their dialing loops stop).
pub fn apply_routes(srv: &Arc<Server>, old: &[String], new: &[String]) {
    if !srv.routes.enabled() {
        return;
    }
    let parse =
        |l: &[String]| -> Vec<RouteUrl> { l.iter().filter_map(|r| RouteUrl::parse(r)).collect() };
    let (old, new) = (parse(old), parse(new));
    for u in &new {
        if !old.iter().any(|o| o.same_address(u)) {
            solicit(srv.clone(), u.clone(), true);
        }
    }
    for u in &old {
        if new.iter().any(|n| n.same_address(u)) {
            continue;
        }
        for l in srv.routes.links() {
            let dialed = l.state.lock().url.clone();
            if l.solicited && dialed.is_some_and(|d| d.same_address(u)) {
                l.shared
                    .mark_closed(crate::closed::ClosedReason::RouteRemoved, false);
            }
        }
    }
}

/// True when `url` is one of the configured routes.
fn configured(srv: &Server, url: &RouteUrl) -> bool {
    srv.opts()
        .cluster
        .routes
        .iter()
        .filter_map(|r| RouteUrl::parse(r))
        .any(|r| r.same_address(url))
}

/// Dials `url` and serves the route; reconnects when it drops. A
/// configured (`explicit`) route is retried forever; a discovered one up
/// to `connect_retries` times, and again only if it was registered.
pub fn solicit(srv: Arc<Server>, url: RouteUrl, explicit: bool) {
    if !explicit {
        let mut inner = srv.routes.inner.lock();
        if !inner.connecting.insert(url.address()) {
            return;
        }
    }
    tokio::spawn(async move {
        solicit_loop(&srv, &url, explicit).await;
        if !explicit {
            srv.routes.inner.lock().connecting.remove(&url.address());
        }
    });
}

async fn solicit_loop(srv: &Arc<Server>, url: &RouteUrl, explicit: bool) {
    let mut attempts = 0u64;
    let mut known_id: Option<String> = None;
    loop {
        if srv.shutdown.is_cancelled() || (explicit && !configured(srv, url)) {
            return;
        }
        if let Some(id) = &known_id {
            if srv.routes.is_connected(id) {
                if !explicit {
                    return;
                }
                if pause(srv, CONNECT_DELAY).await {
                    return;
                }
                continue;
            }
        }
        crate::debug!("Trying to connect to route on {}", url.address());
        let dialed =
            tokio::time::timeout(DIAL_TIMEOUT, tokio::net::TcpStream::connect(url.address())).await;
        let err = match dialed {
            Ok(Ok(stream)) => {
                attempts = 0;
                let addr = stream
                    .peer_addr()
                    .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
                let end = conn::run(srv.clone(), stream, addr, Some(url.clone())).await;
                if end.to_self {
                    crate::debug!("Detected route to self, ignoring {:?}", url.redacted());
                    return;
                }
                if end.remote_id.is_some() {
                    known_id = end.remote_id;
                }
                if !explicit && !end.registered {
                    return;
                }
                let jitter = Duration::from_millis(fastrand::u64(..100));
                let delay = if explicit {
                    CONNECT_DELAY + jitter
                } else {
                    jitter
                };
                if pause(srv, delay).await {
                    return;
                }
                continue;
            }
            Ok(Err(e)) => e.to_string(),
            Err(_) => "i/o timeout".to_string(),
        };
        attempts += 1;
        let text = format!(
            "Error trying to connect to route (attempt {attempts}): dial tcp {}: {err}",
            url.address()
        );
        if attempts == 1 {
            crate::error!("{text}");
        } else {
            crate::debug!("{text}");
        }
        if !explicit {
            let retries = srv.opts().cluster.connect_retries;
            if retries <= 0 || attempts > retries as u64 {
                return;
            }
        }
        if pause(srv, CONNECT_DELAY).await {
            return;
        }
    }
}

/// Sleeps; true when the server shut down meanwhile.
async fn pause(srv: &Server, d: Duration) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(d) => false,
        _ = srv.shutdown.cancelled() => true,
    }
}
