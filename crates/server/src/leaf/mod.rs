//! Leafnodes, as nats-server 2.12 speaks them: the leafnode listener
//! (`leafnodes { port }`), the remotes this server dials (`leafnodes {
//! remotes }`) with their reconnects, and the URLs a hub advertises. One
//! connection is served by [`conn`]; its `INFO`, `CONNECT` and
//! authentication are in `handshake.rs`.
//!
//! Layer: connections. Owns the leafnode protocol and the dialing; the
//! registry and the interest rules are `crate::leafs` in the core.

pub mod conn;
mod handshake;

use crate::config::route_url::RouteUrl;
use crate::config::types::RemoteLeafOpts;
use crate::server::Server;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// The default leafnode port of a URL without one.
pub const DEFAULT_PORT: u16 = 7422;
/// Reconnect interval when `reconnect` is not set.
const DEFAULT_RECONNECT: Duration = Duration::from_secs(1);
/// Time allowed to open a remote's TCP connection.
const DIAL_TIMEOUT: Duration = Duration::from_secs(2);
/// Pause after the other side reported a loop.
pub(crate) const LOOP_DELAY: Duration = Duration::from_secs(30);
/// Pause after the hub reported the same cluster name.
pub(crate) const SAME_CLUSTER_DELAY: Duration = Duration::from_secs(30);

/// The leafnode listener's address, once bound.
static LISTEN_ADDR: OnceLock<SocketAddr> = OnceLock::new();
/// `leafnodes { tls }`: the configuration accepted leafnodes handshake
/// with, and the handshake's time limit.
static SERVER_TLS: OnceLock<(Arc<rustls::ServerConfig>, Duration)> = OnceLock::new();

/// The accepting side's TLS, when `leafnodes { tls }` is set.
pub(crate) fn server_tls() -> Option<&'static (Arc<rustls::ServerConfig>, Duration)> {
    SERVER_TLS.get()
}

/// The address the leafnode listener is bound to.
pub fn listen_addr() -> Option<SocketAddr> {
    LISTEN_ADDR.get().copied()
}

/// One configured remote and the URLs it may be reached at.
pub struct Remote {
    /// The configuration.
    pub opts: RemoteLeafOpts,
    /// Configured URLs, then those the hub advertised.
    pub urls: parking_lot::Mutex<Vec<String>>,
    /// Pause before the next attempt (set on loops and refusals), in ms.
    pub delay_ms: AtomicU64,
}

/// Parses a remote URL (`nats-leaf://`, `nats://`, `tls://`, `ws://`,
/// `wss://`); the port defaults to 7422.
pub fn parse_url(s: &str) -> Option<RouteUrl> {
    let mut u = RouteUrl::parse(s)?;
    let rest = s.split_once("://").map(|(_, r)| r).unwrap_or(s);
    let hostport = rest.split('/').next().unwrap_or(rest);
    let hostport = hostport
        .rsplit_once('@')
        .map(|(_, h)| h)
        .unwrap_or(hostport);
    let has_port = match hostport.strip_prefix('[') {
        Some(h) => h.contains("]:"),
        None => hostport.contains(':'),
    };
    if !has_port {
        u.port = DEFAULT_PORT;
    }
    Some(u)
}

/// Starts the leafnode listener and dials the remotes.
pub async fn start(srv: &Arc<Server>) -> std::io::Result<()> {
    let opts = srv.opts();
    let l = &opts.leafnode;
    if l.port != 0 {
        if let Some(t) = &l.tls {
            match crate::transport::tls::server_config(t) {
                Ok(c) => {
                    let timeout = if t.timeout > 0.0 { t.timeout } else { 2.0 };
                    let _ = SERVER_TLS.set((c, Duration::from_secs_f64(timeout)));
                }
                Err(e) => {
                    crate::fatal!("Error configuring leafnode TLS: {e}");
                    return Err(std::io::Error::other(e));
                }
            }
        }
        let port = if l.port < 0 { 0 } else { l.port as u16 };
        let host = if l.host.is_empty() {
            "0.0.0.0"
        } else {
            &l.host
        };
        let bind_host = host.trim_start_matches('[').trim_end_matches(']');
        let listener = match crate::util::listen(bind_host, port).await {
            Ok(l) => l,
            Err(e) => {
                crate::fatal!("Error listening on leafnode port: {} - {e}", l.port);
                return Err(e);
            }
        };
        let addr = listener.local_addr()?;
        let _ = LISTEN_ADDR.set(addr);
        crate::info!(
            "Listening for leafnode connections on {}",
            crate::util::host_port(host, addr.port())
        );
        tokio::spawn(srv.clone().accept_with(
            listener,
            "leafnode",
            |srv, stream, addr| async move {
                conn::run(srv, stream, addr, None, None).await;
            },
        ));
    }
    for r in l.remotes.iter().filter(|r| !r.disabled) {
        let remote = Arc::new(Remote {
            opts: r.clone(),
            urls: parking_lot::Mutex::new(r.urls.clone()),
            delay_ms: AtomicU64::new(0),
        });
        tokio::spawn(solicit_loop(srv.clone(), remote));
    }
    Ok(())
}

/// The URLs a hub advertises to its leafnodes (`leafnode_urls`).
pub fn own_urls(srv: &Server) -> Vec<String> {
    let opts = srv.opts();
    let port = listen_addr().map(|a| a.port()).unwrap_or(0);
    crate::route::connect_urls_for(
        opts.leafnode.advertise.as_deref(),
        &opts.leafnode.host,
        port,
    )
}

/// Dials `remote` for as long as the server runs: its URLs in turn (at
/// random unless `dont_randomize`), `reconnect` apart.
async fn solicit_loop(srv: Arc<Server>, remote: Arc<Remote>) {
    let interval = srv
        .opts()
        .leafnode
        .reconnect_interval
        .unwrap_or(DEFAULT_RECONNECT);
    let mut attempts = 0u64;
    let mut connected = false;
    let mut next = 0usize;
    loop {
        if srv.shutdown.is_cancelled() {
            return;
        }
        let urls = remote.urls.lock().clone();
        if urls.is_empty() {
            return;
        }
        let idx = if remote.opts.no_randomize || urls.len() == 1 {
            next % urls.len()
        } else {
            fastrand::usize(..urls.len())
        };
        next += 1;
        let Some(url) = parse_url(&urls[idx]) else {
            crate::error!("Error parsing leafnode remote URL {:?}", urls[idx]);
            return;
        };
        attempts += 1;
        crate::debug!(
            "Trying to connect as leafnode to remote server on {:?}",
            url.address()
        );
        let dialed =
            tokio::time::timeout(DIAL_TIMEOUT, tokio::net::TcpStream::connect(url.address())).await;
        match dialed {
            Ok(Ok(mut stream)) => {
                let addr = stream
                    .peer_addr()
                    .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
                let ws = if urls[idx].starts_with("ws://") || urls[idx].starts_with("wss://") {
                    match ws_upgrade(&mut stream, &urls[idx], &url, &remote).await {
                        Ok(w) => Some(w),
                        Err(e) => {
                            crate::error!("Error soliciting websocket connection: {e}");
                            report(attempts, connected, &url, &e);
                            wait(&srv, &remote, interval).await;
                            continue;
                        }
                    }
                } else {
                    None
                };
                attempts = 0;
                connected = true;
                conn::run(srv.clone(), stream, addr, Some((remote.clone(), url)), ws).await;
            }
            Ok(Err(e)) => report(attempts, connected, &url, &dial_error(&url, &e)),
            Err(_) => report(
                attempts,
                connected,
                &url,
                &format!("dial tcp {}: i/o timeout", url.address()),
            ),
        }
        if wait(&srv, &remote, interval).await {
            return;
        }
    }
}

/// Waits `interval` (and any extra delay the last connection asked for);
/// true when the server shuts down meanwhile.
async fn wait(srv: &Server, remote: &Remote, interval: Duration) -> bool {
    let extra = remote.delay_ms.swap(0, Ordering::Relaxed);
    tokio::select! {
        _ = srv.shutdown.cancelled() => true,
        _ = tokio::time::sleep(interval + Duration::from_millis(extra)) => false,
    }
}

/// The websocket upgrade of a `ws://` remote: `GET <path>/leafnode`, and
/// the hub's 101.
async fn ws_upgrade(
    stream: &mut tokio::net::TcpStream,
    raw_url: &str,
    url: &RouteUrl,
    remote: &Remote,
) -> Result<conn::WsLeaf, String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // `wss`: the TLS handshake first, then the upgrade inside it.
    let tls = if raw_url.starts_with("wss://") {
        let opts = remote.opts.tls.clone().unwrap_or_default();
        let cfg = crate::transport::tls::client_config(&opts)?;
        let s = crate::transport::tls::Session::client(cfg, &url.host)?;
        let hs = tls_handshake(stream, &s);
        tokio::time::timeout(DIAL_TIMEOUT, hs)
            .await
            .map_err(|_| "TLS handshake timeout".to_string())??;
        Some(s)
    } else {
        None
    };
    let rest = raw_url.split_once("://").map(|(_, r)| r).unwrap_or(raw_url);
    let path = match rest.find('/') {
        Some(i) => rest[i..].trim_end_matches('/').to_string(),
        None => String::new(),
    };
    let mut raw_key = [0u8; 16];
    for b in raw_key.iter_mut() {
        *b = fastrand::u8(..);
    }
    let key = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(raw_key)
    };
    let req = crate::transport::ws::leaf_request(&url.address(), &format!("{path}/leafnode"), &key);
    let req = match &tls {
        Some(t) => {
            let mut out = Vec::new();
            t.encrypt(&req, &mut out);
            out
        }
        None => req,
    };
    stream.write_all(&req).await.map_err(|e| e.to_string())?;
    let mut buf = Vec::new();
    let mut raw = Vec::new();
    let read = async {
        loop {
            if let Some(end) = crate::transport::ws::request_end(&buf) {
                return Ok(end);
            }
            if buf.len() > crate::transport::ws::MAX_REQUEST {
                return Err("invalid websocket connection".to_string());
            }
            let mut chunk = [0u8; 4096];
            match stream.read(&mut chunk).await {
                Ok(0) => return Err("connection closed".to_string()),
                Ok(n) => match &tls {
                    Some(t) => {
                        raw.extend_from_slice(&chunk[..n]);
                        t.decrypt(&mut raw, &mut buf)?;
                    }
                    None => buf.extend_from_slice(&chunk[..n]),
                },
                Err(e) => return Err(e.to_string()),
            }
        }
    };
    let end = tokio::time::timeout(DIAL_TIMEOUT, read)
        .await
        .map_err(|_| "i/o timeout".to_string())??;
    crate::transport::ws::check_leaf_response(&buf[..end], &key)?;
    Ok(conn::WsLeaf {
        compress: false,
        leftover: buf[end..].to_vec(),
        tls,
        unmasked: true,
    })
}

/// Drives the client side of a TLS handshake on `stream` to its end.
async fn tls_handshake(
    stream: &mut tokio::net::TcpStream,
    s: &crate::transport::tls::Session,
) -> Result<(), String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut raw = Vec::new();
    let mut plain = Vec::new();
    loop {
        if s.wants_write() {
            let mut out = Vec::new();
            s.encrypt(&[], &mut out);
            stream.write_all(&out).await.map_err(|e| e.to_string())?;
        }
        if s.established() && !s.wants_write() {
            return Ok(());
        }
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await.map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("connection closed".into());
        }
        raw.extend_from_slice(&chunk[..n]);
        s.decrypt(&mut raw, &mut plain)
            .map_err(|e| format!("TLS handshake error: {e}"))?;
    }
}

/// A failed dial in Go's words.
fn dial_error(url: &RouteUrl, e: &std::io::Error) -> String {
    let addr = url.address();
    match e.kind() {
        std::io::ErrorKind::ConnectionRefused => {
            format!("dial tcp {addr}: connect: connection refused")
        }
        std::io::ErrorKind::TimedOut => format!("dial tcp {addr}: i/o timeout"),
        _ => format!("dial tcp {addr}: {e}"),
    }
}

/// nats-server logs the first failed attempt, then one in 3600
/// (`connect_error_reports`); once connected, every failed reconnect.
fn report(attempts: u64, reconnecting: bool, url: &RouteUrl, err: &str) {
    let line = format!(
        "Error trying to connect as leafnode to remote server {:?} (attempt {attempts}): {err}",
        url.address()
    );
    if reconnecting || attempts == 1 || attempts.is_multiple_of(3600) {
        crate::error!("{line}");
    } else {
        crate::debug!("{line}");
    }
}
