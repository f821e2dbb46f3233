//! The websocket listener: accepts TCP connections, performs the HTTP
//! upgrade within the handshake timeout, and hands the connection to
//! [`crate::client::run`] as a websocket client.

use crate::client::WsSetup;
use crate::server::Server;
use crate::transport::ws;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Default time a client has to complete the upgrade.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(2);

/// Binds the websocket listener when `websocket { port }` is set.
pub async fn bind(srv: &Arc<Server>) -> std::io::Result<Option<TcpListener>> {
    let opts = srv.opts();
    let w = &opts.websocket;
    if w.port == 0 {
        return Ok(None);
    }
    let host = if w.host.is_empty() {
        opts.host.clone()
    } else {
        w.host.clone()
    };
    let port = if w.port < 0 { 0 } else { w.port as u16 };
    let bind_host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let listener = crate::util::listen(&bind_host, port).await?;
    let addr = listener.local_addr()?;
    let _ = srv.ws_addr.set(addr);
    if let Some(t) = &w.tls {
        let cfg = crate::transport::tls::server_config(t).map_err(std::io::Error::other)?;
        let _ = srv.ws_tls.set(cfg);
    }
    crate::info!(
        "Listening for websocket clients on {}://{}",
        if w.tls.is_some() { "wss" } else { "ws" },
        crate::util::host_port(&host, addr.port())
    );
    if w.tls.is_none() && w.no_tls {
        crate::warn!("Websocket not configured with TLS. DO NOT USE IN PRODUCTION!");
    }
    Ok(Some(listener))
}

/// Accepts websocket clients until shutdown or lame duck mode.
pub async fn accept_loop(srv: Arc<Server>, listener: TcpListener) {
    srv.accept_with(listener, "websocket", serve).await
}

async fn serve(srv: Arc<Server>, mut stream: TcpStream, addr: SocketAddr) {
    let _ = stream.set_nodelay(true);
    let opts = srv.opts();
    let timeout = opts
        .websocket
        .handshake_timeout
        .filter(|t| !t.is_zero())
        .unwrap_or(HANDSHAKE_TIMEOUT);
    let policy = ws::OriginPolicy {
        same_origin: opts.websocket.same_origin,
        allowed: opts.websocket.allowed_origins.clone(),
    };
    let compression = opts.websocket.compression;
    let jwt_cookie = opts.websocket.jwt_cookie.clone().filter(|c| !c.is_empty());
    // `wss`: the TLS handshake comes first, then the HTTP upgrade inside.
    let tls = match srv.ws_tls.get() {
        Some(cfg) => match crate::transport::tls::Session::new(cfg.clone()) {
            Ok(s) => Some(s),
            Err(e) => {
                crate::error!("{addr} - websocket TLS error: {e}");
                return;
            }
        },
        None => None,
    };
    let handshake = async {
        let mut buf = Vec::with_capacity(1024);
        let mut raw = Vec::new();
        loop {
            if let Some(end) = ws::request_end(&buf) {
                return Ok::<_, String>((buf, end));
            }
            if buf.len() > ws::MAX_REQUEST {
                return Err("request too large".to_string());
            }
            let mut chunk = [0u8; 4096];
            let n = match stream.read(&mut chunk).await {
                Ok(0) => return Err("connection closed".into()),
                Ok(n) => n,
                Err(e) => return Err(e.to_string()),
            };
            match &tls {
                Some(t) => {
                    raw.extend_from_slice(&chunk[..n]);
                    let res = t.decrypt(&mut raw, &mut buf);
                    if t.wants_write() {
                        let mut out = Vec::new();
                        t.encrypt(&[], &mut out);
                        stream.write_all(&out).await.map_err(|e| e.to_string())?;
                    }
                    res.map_err(|e| format!("TLS handshake error: {e}"))?;
                }
                None => buf.extend_from_slice(&chunk[..n]),
            }
        }
    };
    let (buf, end) = match tokio::time::timeout(timeout, handshake).await {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => {
            crate::debug!("{addr} - websocket handshake error: {e}");
            return;
        }
        Err(_) => {
            crate::debug!("{addr} - websocket handshake timeout");
            return;
        }
    };
    // Bytes to the client go through TLS when there is TLS.
    let seal = |plain: &[u8]| match &tls {
        Some(t) => {
            let mut out = Vec::new();
            t.encrypt(plain, &mut out);
            out
        }
        None => plain.to_vec(),
    };
    match ws::check_upgrade(&buf[..end], compression, &policy) {
        Ok(up)
            if up
                .path
                .split('?')
                .next()
                .unwrap_or("")
                .ends_with("/leafnode") =>
        {
            // A leafnode over websocket.
            if srv.opts().leafnode.port == 0 {
                crate::error!("{addr} - Not configured to accept leaf node connections");
                return;
            }
            if stream.write_all(&seal(&up.response)).await.is_err() {
                return;
            }
            let ws = crate::leaf::conn::WsLeaf {
                compress: up.compress,
                leftover: buf[end..].to_vec(),
                tls,
                unmasked: up.no_masking,
            };
            crate::leaf::conn::run(srv, stream, addr, None, Some(ws)).await;
        }
        Ok(up) => {
            if stream.write_all(&seal(&up.response)).await.is_err() {
                return;
            }
            let cookie_jwt = jwt_cookie
                .as_deref()
                .and_then(|name| ws::cookie(&up.cookies, name));
            let setup = WsSetup {
                compress: up.compress,
                leftover: buf[end..].to_vec(),
                tls,
                cookie_jwt,
            };
            crate::client::run(srv, stream, addr, Some(Box::new(setup))).await;
        }
        Err(refusal) => {
            crate::error!("{addr} - websocket handshake error: {}", refusal.reason);
            let _ = stream.write_all(&seal(&refusal.response())).await;
            let _ = stream.shutdown().await;
        }
    }
}
