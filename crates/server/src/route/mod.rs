//! Clustering: full-mesh routes between servers, as nats-server 2.9 speaks
//! them. This module owns the registry of route connections, the interest
//! each server announces to the others (`RS+`/`RS-` on 0↔1 changes, queue
//! weights), gossip of cluster members, the solicitation of configured and
//! discovered routes with reconnects, and the client URLs advertised in
//! client `INFO`. One route connection is served by [`conn`].
//!
//! Layer: connections. Owns the route protocol and the dialing; the
//! registry it fills is `crate::cluster` in the core. May use every lower
//! layer and `client` beside it.

pub mod conn;
mod info;

pub(crate) use crate::cluster::RouteTls;
use crate::cluster::{split_host_port, trace_out};
pub use crate::cluster::{Link, LinkState, Routes};
pub use crate::config::route_url::RouteUrl;
use crate::server::Server;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

/// Connections per server when `pool_size` is not set.
pub const DEFAULT_POOL_SIZE: usize = 3;
/// Pause between attempts to reach a route.
const CONNECT_DELAY: Duration = Duration::from_secs(1);
/// Time allowed to open a route's TCP connection.
const DIAL_TIMEOUT: Duration = Duration::from_secs(1);

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

/// Names the cluster: its configured name, else a generated one (once).
pub fn name_cluster(srv: &Arc<Server>) {
    let routes = &srv.routes;
    if !routes.name().is_empty() {
        return;
    }
    match srv.opts().cluster.name.as_deref().filter(|n| !n.is_empty()) {
        Some(n) => routes.set_name(n),
        None => {
            routes.set_name(&crate::auth::nonce().replace(['-', '_'], "x").to_uppercase());
            routes.dynamic.store(true, Ordering::Relaxed);
        }
    }
}

/// Starts clustering: binds the route listener, serves it, and dials the
/// configured routes. Errors when the listener cannot be bound.
pub async fn start(srv: &Arc<Server>) -> std::io::Result<()> {
    let opts = srv.opts();
    let c = &opts.cluster;
    let routes = &srv.routes;
    name_cluster(srv);
    *routes.import.lock() = c.permissions.as_ref().and_then(|p| {
        crate::auth::perms::ClientPerms::new(&crate::config::types::Permissions {
            publish: p.import.clone(),
            subscribe: None,
            response: None,
        })
    });
    if let Some(t) = &c.tls {
        let tls = crate::transport::tls::server_config(t)
            .and_then(|server| Ok((server, crate::transport::tls::client_config(t)?)));
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
    configure_pool(srv);
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
    let listener = match crate::util::listen(bind_host, port).await {
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
                conn::run(srv, stream, addr, None, None).await;
            }),
    );
    for r in &c.routes {
        match RouteUrl::parse(r) {
            Some(u) => solicit_all(srv, &u, true),
            None => crate::error!("Error parsing route URL {r:?}"),
        }
    }
    Ok(())
}

/// Sets the pool size and the pinned accounts from the options: the
/// configured ones, and the system account when pooling.
fn configure_pool(srv: &Arc<Server>) {
    let opts = srv.opts();
    let pool = match opts.cluster.pool_size {
        0 => DEFAULT_POOL_SIZE,
        n if n < 0 => 0,
        n => n as usize,
    };
    let mut pinned = if pool > 0 {
        opts.cluster.pinned_accounts.clone()
    } else {
        Vec::new()
    };
    if pool > 0 {
        if let Some(sys) = crate::server::system_account_name(&opts) {
            if !pinned.contains(&sys) {
                pinned.push(sys);
            }
        }
    }
    srv.routes.pool_size.store(pool, Ordering::Relaxed);
    *srv.routes.pinned.write() = pinned;
}

/// Applies a reloaded `pool_size` or `accounts`: the routes are closed
/// and dialed again with the new pool.
pub fn apply_pool(srv: &Arc<Server>) {
    if !srv.routes.enabled() {
        return;
    }
    let before = srv.routes.pinned_accounts();
    configure_pool(srv);
    srv.routes
        .close_all(crate::delivery::closed::ClosedReason::RouteRemoved);
    // The configured routes' dialers go on; new pinned accounts get theirs.
    let added: Vec<String> = srv
        .routes
        .pinned_accounts()
        .into_iter()
        .filter(|a| !before.contains(a))
        .collect();
    for r in &srv.opts().cluster.routes {
        if let Some(u) = RouteUrl::parse(r) {
            for a in &added {
                solicit(srv.clone(), u.clone(), true, Some(a.clone()));
            }
        }
    }
}

/// Dials a route: its pool, then a connection per pinned account.
fn solicit_all(srv: &Arc<Server>, url: &RouteUrl, explicit: bool) {
    solicit(srv.clone(), url.clone(), explicit, None);
    for a in srv.routes.pinned_accounts() {
        solicit(srv.clone(), url.clone(), explicit, Some(a));
    }
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
            solicit_all(srv, u, true);
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
                    .mark_closed(crate::delivery::closed::ClosedReason::RouteRemoved, false);
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

/// Dials `url` (for `account`'s pinned connection, or a pool connection)
/// and serves the route; reconnects when it drops. A configured
/// (`explicit`) route is retried forever; a discovered one up to
/// `connect_retries` times, and again only if it was registered.
pub fn solicit(srv: Arc<Server>, url: RouteUrl, explicit: bool, account: Option<String>) {
    let key = match &account {
        Some(a) => format!("{} {a}", url.address()),
        None => url.address(),
    };
    if !explicit {
        let mut inner = srv.routes.inner.lock();
        if !inner.connecting.insert(key.clone()) {
            return;
        }
    }
    tokio::spawn(async move {
        solicit_loop(&srv, &url, explicit, account.as_deref()).await;
        if !explicit {
            srv.routes.inner.lock().connecting.remove(&key);
        }
    });
}

/// Dials the next connection of a pool that is not full.
pub(crate) fn solicit_next(srv: Arc<Server>, url: RouteUrl, explicit: bool) {
    tokio::spawn(async move {
        solicit_loop(&srv, &url, explicit, None).await;
    });
}

async fn solicit_loop(srv: &Arc<Server>, url: &RouteUrl, explicit: bool, account: Option<&str>) {
    let mut attempts = 0u64;
    let mut known_id: Option<String> = None;
    loop {
        // Without pooling, one connection per server: a known server that
        // is connected is not dialed again.
        let single = srv.routes.pool_size() == 0;
        if srv.shutdown.is_cancelled() || (explicit && !configured(srv, url)) {
            return;
        }
        if account.is_some_and(|a| !srv.routes.is_pinned(a)) {
            return;
        }
        if let Some(id) = known_id.as_ref().filter(|_| single) {
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
                let end = conn::run(
                    srv.clone(),
                    stream,
                    addr,
                    Some(url.clone()),
                    account.map(str::to_string),
                )
                .await;
                if end.to_self {
                    crate::debug!("Detected route to self, ignoring {:?}", url.redacted());
                    return;
                }
                if end.no_reconnect {
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
