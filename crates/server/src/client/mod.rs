//! One client connection: the read loop, the handling of each operation,
//! the PING timer and the auth timer. The outbound side lives in
//! [`crate::delivery::outbound`].
//!
//! `mod.rs` holds the connection state, the read loop and the dispatch of
//! each operation; `transport` turns TLS and websocket input into protocol
//! bytes, `connect` handles CONNECT and authentication, `ops` PUB, SUB and
//! UNSUB, `timers` the PING timer and reloads, `trace` the trace lines.
//!
//! Layer: connections. Owns one client's protocol state; may use every lower
//! layer (the core to deliver and subscribe, `auth` at CONNECT, `transport`
//! for TLS and websocket bytes) and `route` beside it, never `monitor` or
//! `process`.

mod connect;
mod ops;
mod timers;
mod trace;
mod transport;

pub use crate::delivery::fanout::remove_sub;
pub mod ws_listen;

use crate::config::options::Options;
use crate::delivery::closed::ClosedReason;
use crate::delivery::outbound::{self, ClientShared, Msg, SubRef, Subscription};
use crate::delivery::writer;
use crate::server::{ClientEntry, ClosedInfo, Server};
use proto::{ClientOp, ConnectOptions, ParseError, Parsed, Parser, PubOp};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpStream;

/// How soon after connecting the first PING goes out.
const FIRST_PING: Duration = Duration::from_secs(2);
/// Longest pause of a publisher, per read, while its receivers drain.
const STALL_BUDGET: Duration = Duration::from_millis(25);
/// Smallest read size: idle connections keep only this much buffer.
const MIN_READ: usize = 512;
/// Largest read size a busy connection grows to (payloads may need more).
const MAX_READ: usize = 64 * 1024;

/// State owned by the connection's read task.
struct Conn {
    srv: Arc<Server>,
    opts: Arc<Options>,
    shared: Arc<ClientShared>,
    sock: Arc<TcpStream>,
    parser: Parser,
    connect: ConnectOptions,
    connected: bool,
    pings_out: u32,
    rtt_measured: bool,
    ping_sent: Option<Instant>,
    started: Instant,
    last_activity: Instant,
    perms: Option<crate::auth::perms::ClientPerms>,
    account: Arc<crate::accounts::Account>,
    fan: crate::delivery::fanout::Fanout,
    /// `pinned_certs` was checked once the TLS handshake finished.
    pin_checked: bool,
    /// The first PONG went out (the connect INFO follows it once).
    first_pong: bool,
    in_msgs: u64,
    in_bytes: u64,
    scratch: Vec<u8>,
    /// Websocket `jwt_cookie`: the user JWT from the upgrade request.
    cookie_jwt: Option<String>,
    /// When the connection is closed by a timer: the user's JWT expires,
    /// or a JWT subscription limit of 0 closes it shortly after CONNECT.
    close_at: Option<(tokio::time::Instant, ClosedReason)>,
    /// JWT limits: (max payload, max subscriptions), -1 for none.
    jwt_limits: Option<(i64, i64)>,
    /// The account this client is counted in (connected clients).
    counted: Option<Arc<crate::accounts::Account>>,
}

/// Outcome of handling input: keep going, or close for a reason.
type Step = Result<(), ClosedReason>;

/// Serves one client until it closes.
/// A websocket connection after its upgrade.
#[derive(Debug, Default)]
pub struct WsSetup {
    /// permessage-deflate negotiated.
    pub compress: bool,
    /// Frame bytes that arrived with the upgrade request.
    pub leftover: Vec<u8>,
    /// `wss`: the TLS session the upgrade ran over; `leftover` is then
    /// already decrypted.
    pub tls: Option<crate::transport::tls::Session>,
    /// The value of the `jwt_cookie` cookie, when configured and sent.
    pub cookie_jwt: Option<String>,
}

/// Serves one client until it closes; `ws` for websocket clients.
pub async fn run(srv: Arc<Server>, stream: TcpStream, addr: SocketAddr, ws: Option<Box<WsSetup>>) {
    let _ = stream.set_nodelay(true);
    let (shared, sock, opts, mut ws) = new_client(&srv, stream, addr, ws);
    let cid = shared.cid;
    shared.trace.store(opts.trace, Ordering::Relaxed);
    let writer = tokio::spawn(writer::writer(shared.clone(), opts.write_deadline));
    let entry = ClientEntry {
        shared: shared.clone(),
        addr,
        start: chrono::Utc::now(),
    };
    srv.stats.total_connections.fetch_add(1, Ordering::Relaxed);
    let mut c = Conn {
        parser: Parser::new(opts.max_control_line, opts.max_payload),
        srv: srv.clone(),
        opts: opts.clone(),
        shared: shared.clone(),
        sock,
        connect: ConnectOptions::default(),
        connected: false,
        pings_out: 0,
        rtt_measured: false,
        ping_sent: None,
        started: Instant::now(),
        last_activity: Instant::now(),
        perms: None,
        account: srv.accounts.get(None),
        fan: crate::delivery::fanout::Fanout::new(srv.clone()),
        pin_checked: false,
        first_pong: false,
        in_msgs: 0,
        in_bytes: 0,
        scratch: Vec::with_capacity(256),
        cookie_jwt: ws.as_mut().and_then(|w| w.cookie_jwt.take()),
        close_at: None,
        jwt_limits: None,
        counted: None,
    };
    crate::debug!("{} - Client connection created", shared.log_prefix);
    let info = srv.info_json(
        cid,
        &addr.ip().to_string(),
        false,
        &shared.nonce,
        ws.is_some(),
        None,
    );
    c.scratch.clear();
    proto::encode::info(&mut c.scratch, &info);
    c.trace_out_bytes("INFO", &info);
    let tls_config = srv.tls_config.read().clone().filter(|_| ws.is_none());
    let info = std::mem::take(&mut c.scratch);
    if tls_config.is_some() {
        // INFO goes out in plaintext before TLS starts, unless the TLS
        // handshake comes first (`handshake_first`).
        if !opts.tls.as_ref().is_some_and(|t| t.handshake_first) {
            write_direct(&c.sock, &info).await;
        }
    } else {
        shared.send_now(&info);
    }
    // INFO goes out before the connection limit is checked, as in nats-server.
    let admitted = {
        let mut clients = srv.clients.lock();
        if clients.len() >= opts.max_connections {
            false
        } else {
            clients.insert(cid, entry.clone());
            true
        }
    };
    let reason = if !admitted {
        crate::error!("{} - maximum connections exceeded", shared.log_prefix);
        c.send_err("maximum connections exceeded");
        ClosedReason::MaxConnectionsExceeded
    } else {
        // One await point for the read loop keeps this task's future small
        // (it is allocated for every connection).
        let first = match tls_config {
            Some(cfg) => c.start_tls(cfg, &info).await,
            None => Ok(Vec::new()),
        };
        match first {
            Ok(first) => c.read_loop(ws, first).await,
            Err(reason) => reason,
        }
    };
    c.flush_stats();
    if let Some(acc) = c.counted.take() {
        acc.clients.fetch_sub(1, Ordering::Relaxed);
        crate::system::conns::announce(&srv, &acc);
    }
    shared.mark_closed(reason, false);
    let reason = shared.closed_reason().unwrap_or(reason);
    let _ = writer.await;
    if admitted {
        let info = {
            let m = shared.meta.lock();
            ClosedInfo {
                name: m.name.clone(),
                lang: m.lang.clone(),
                version: m.version.clone(),
            }
        };
        srv.remove_client(&entry, reason, info);
        if c.connected {
            crate::system::events::disconnect(&srv, &entry, reason.as_str(), false);
        } else if reason == ClosedReason::AuthenticationViolation {
            // nats-server reports both: the server's AUTH.ERR and a
            // disconnect in the global account.
            crate::system::events::disconnect(&srv, &entry, reason.as_str(), true);
            crate::system::events::disconnect(&srv, &entry, reason.as_str(), false);
        }
    }
    if reason.is_slow_consumer() {
        crate::info!("{} - Slow Consumer Detected", shared.log_prefix);
    }
    crate::debug!(
        "{} - Client connection closed: {}",
        shared.log_prefix,
        reason.as_str()
    );
}

/// The shared half of a new client connection, and the options it
/// authenticates against (websocket clients: the websocket block's). Kept
/// out of [`run`] so its locals do not grow every connection's task.
fn new_client(
    srv: &Server,
    stream: TcpStream,
    addr: SocketAddr,
    mut ws: Option<Box<WsSetup>>,
) -> (
    Arc<ClientShared>,
    Arc<TcpStream>,
    Arc<Options>,
    Option<Box<WsSetup>>,
) {
    let opts = srv.opts();
    let cid = srv.next_cid();
    let prefix = format!("{addr} - cid:{cid}");
    let sock = Arc::new(stream);
    let mut shared = ClientShared::new(cid, Some(sock.clone()), opts.max_pending, prefix);
    if !opts.nkeys.is_empty() || opts.operator_mode() {
        shared.nonce = crate::auth::nonce();
    }
    shared.ws_compress = ws.as_ref().map(|w| w.compress);
    if let Some(t) = ws.as_mut().and_then(|w| w.tls.take()) {
        let _ = shared.tls.set(Box::new(t));
    }
    // Websocket clients authenticate against the websocket block's settings.
    let opts = if ws.is_some() {
        Arc::new(crate::auth::for_websocket(&opts))
    } else {
        opts
    };
    (Arc::new(shared), sock, opts, ws)
}

impl Conn {
    /// Waits for the client to start TLS after INFO. Returns the first
    /// bytes it sent; a plaintext client gets nats-server's error.
    /// With `handshake_first`, `info` has not been sent: it follows the
    /// handshake, encrypted, unless the client sent nothing within the
    /// fallback delay, when it goes out in plaintext first.
    async fn start_tls(
        &mut self,
        cfg: Arc<rustls::ServerConfig>,
        info: &[u8],
    ) -> Result<Vec<u8>, ClosedReason> {
        let tls = self.opts.tls.as_ref();
        let timeout = tls
            .map(|t| t.timeout)
            .filter(|t| *t > 0.0)
            .map(Duration::from_secs_f64)
            .unwrap_or(Duration::from_secs(2));
        let mut info_after = tls.is_some_and(|t| t.handshake_first);
        let fallback = tls
            .and_then(|t| t.handshake_first_fallback)
            .filter(|d| info_after && !d.is_zero());
        let mut first = Vec::with_capacity(4096);
        let mut waited = None;
        if let Some(delay) = fallback {
            match tokio::time::timeout(delay, read_some(&self.sock, &mut first)).await {
                Ok(r) => waited = Some(r),
                Err(_) => {
                    write_direct(&self.sock, info).await;
                    info_after = false;
                }
            }
        }
        let got = match waited {
            Some(r) => Ok(r),
            None => tokio::time::timeout(timeout, read_some(&self.sock, &mut first)).await,
        };
        match got {
            Ok(Ok(n)) if n > 0 && first[0] == crate::transport::tls::HANDSHAKE_RECORD => {
                let session = crate::transport::tls::Session::new(cfg).map_err(|e| {
                    crate::error!("{} - TLS handshake error: {e}", self.shared.log_prefix);
                    ClosedReason::TlsHandshakeError
                })?;
                let _ = self.shared.tls.set(Box::new(session));
                if info_after {
                    // Buffered by the session until the handshake is done.
                    self.shared.send_now(info);
                }
                Ok(first)
            }
            Ok(Ok(n)) if n > 0 => {
                // nats-server closes without an -ERR here.
                crate::error!(
                    "{} - TLS handshake error: tls: first record does not look like a TLS handshake",
                    self.shared.log_prefix
                );
                Err(ClosedReason::TlsHandshakeError)
            }
            Ok(_) => Err(ClosedReason::ClientClosed),
            Err(_) => {
                crate::error!("{} - TLS handshake timeout", self.shared.log_prefix);
                Err(ClosedReason::TlsHandshakeError)
            }
        }
    }

    async fn read_loop(&mut self, ws: Option<Box<WsSetup>>, first: Vec<u8>) -> ClosedReason {
        let sock = self.sock.clone();
        let mut buf: Vec<u8> = Vec::with_capacity(MIN_READ);
        // Websocket and TLS: bytes are read into `raw`, then decoded or
        // decrypted into `buf`.
        let tls_mode = self.shared.tls.get().is_some();
        let ws_mode = ws.is_some() || tls_mode;
        // Websocket over TLS: decrypted frames wait in `mid`.
        let wss = ws.is_some() && tls_mode;
        let mut mid: Vec<u8> = Vec::new();
        let mut raw: Vec<u8> = match &ws {
            Some(w) if wss => {
                mid = w.leftover.clone();
                Vec::new()
            }
            Some(w) => w.leftover.clone(),
            None => first,
        };
        let mut decoder = ws.map(|w| {
            crate::transport::ws::Decoder::new(w.compress, self.opts.max_pending.max(1 << 20))
        });
        let mut ws_need = 0usize;
        let mut want = MIN_READ;
        let mut short_reads = 0u32;
        let close = self.shared.close.clone();
        let auth_deadline = self
            .opts
            .auth_required()
            .then(|| tokio::time::Instant::now() + self.opts.auth_timeout);
        let mut next_ping = tokio::time::Instant::now() + FIRST_PING.min(self.opts.ping_interval);
        // The whole TLS handshake must finish within the TLS timeout.
        let tls_deadline = tls_mode.then(|| {
            let secs = self
                .opts
                .tls
                .as_ref()
                .map(|t| t.timeout)
                .filter(|t| *t > 0.0)
                .unwrap_or(2.0);
            tokio::time::Instant::now() + Duration::from_secs_f64(secs)
        });
        let mut reloads = self.srv.watch_reloads();
        // Bytes that arrived with the websocket upgrade or the TLS start.
        if !raw.is_empty() || !mid.is_empty() {
            match self.transport_input(decoder.as_mut(), tls_mode, &mut raw, &mut mid, &mut buf) {
                Ok(need) => ws_need = need,
                Err(reason) => return reason,
            }
            let res = self.process(&mut buf);
            writer::flush_all(&mut self.fan.flush);
            if let Err(reason) = res {
                return reason;
            }
        }
        loop {
            let need = self.parser.pending_need();
            if need > buf.len() {
                buf.reserve(need - buf.len());
            } else if buf.capacity() - buf.len() < want / 2 {
                buf.reserve(want);
            }
            if ws_mode {
                raw.reserve(ws_need.max(16 * 1024));
            }
            let spare = buf.capacity() - buf.len();
            tokio::select! {
                biased;
                _ = close.cancelled() => {
                    return self.shared.closed_reason().unwrap_or(ClosedReason::ServerShutdown);
                }
                r = read_some(&sock, if ws_mode { &mut raw } else { &mut buf }) => {
                    match r {
                        Ok(0) => return ClosedReason::ClientClosed,
                        Ok(n) => {
                            // A reload that finished before these bytes
                            // arrived applies to them.
                            if reloads.has_changed().unwrap_or(false) {
                                reloads.borrow_and_update();
                                if let Err(reason) = self.apply_reload() {
                                    return reason;
                                }
                            }
                            match self.transport_input(decoder.as_mut(), tls_mode, &mut raw, &mut mid, &mut buf) {
                                Ok(need) => ws_need = need,
                                Err(reason) => return reason,
                            }
                            self.last_activity = Instant::now();
                            self.shared.meta.lock().last_activity = Some(chrono::Utc::now());
                            // Grow the read size when reads fill the buffer,
                            // shrink it after a few short ones (as nats-server).
                            if n >= spare && want < MAX_READ {
                                want *= 2;
                                short_reads = 0;
                            } else if n < want / 2 && want > MIN_READ {
                                short_reads += 1;
                                if short_reads > 2 {
                                    want /= 2;
                                    short_reads = 0;
                                }
                            }
                            let res = self.process(&mut buf);
                            // A buffer grown for big payloads is kept while
                            // reads stay big, and given back after a small one
                            // (no allocate-and-fault per large message).
                            if buf.is_empty() && buf.capacity() > 2 * want && n < want {
                                buf = Vec::with_capacity(want);
                            }
                            writer::flush_all(&mut self.fan.flush);
                            self.flush_stats();
                            if let Err(reason) = res {
                                return reason;
                            }
                            if self.shared.tls.get().is_some_and(|t| t.peer_closed()) {
                                return ClosedReason::ClientClosed;
                            }
                            if !self.fan.stalled.is_empty() {
                                self.srv.stats.stalls.fetch_add(1, Ordering::Relaxed);
                                outbound::stall(&mut self.fan.stalled, STALL_BUDGET).await;
                            }
                        }
                        Err(_) => return ClosedReason::ReadError,
                    }
                }
                _ = tokio::time::sleep_until(next_ping) => {
                    next_ping = tokio::time::Instant::now() + self.opts.ping_interval;
                    if let Err(reason) = self.ping_timer() {
                        return reason;
                    }
                }
                _ = reloads.changed() => {
                    if let Err(reason) = self.apply_reload() {
                        return reason;
                    }
                }
                _ = sleep_until_opt(tls_deadline), if tls_mode && !self.tls_established() => {
                    crate::error!("{} - TLS handshake timeout", self.shared.log_prefix);
                    return ClosedReason::TlsHandshakeError;
                }
                _ = sleep_until_opt(self.close_at.map(|c| c.0)), if self.connected && self.close_at.is_some() => {
                    let reason = self.close_at.map(|c| c.1).unwrap_or(ClosedReason::AuthenticationExpired);
                    if reason == ClosedReason::AuthenticationExpired {
                        crate::debug!("{} - User Authentication Expired", self.shared.log_prefix);
                        self.send_err("User Authentication Expired");
                    }
                    return reason;
                }
                _ = sleep_until_opt(auth_deadline), if !self.connected => {
                    crate::error!("{} - Authentication Timeout", self.shared.log_prefix);
                    self.send_err("Authentication Timeout");
                    return ClosedReason::AuthenticationTimeout;
                }
            }
        }
    }

    /// Parses and handles every complete operation in `buf`, then drops the
    /// consumed bytes.
    fn process(&mut self, buf: &mut Vec<u8>) -> Step {
        let mut pos = 0;
        let res = loop {
            match self.parser.parse(&buf[pos..]) {
                Ok(Parsed::Op(op, n)) => {
                    pos += n;
                    if let Err(r) = self.handle(op) {
                        break Err(r);
                    }
                }
                Ok(Parsed::Incomplete) => break Ok(()),
                Err(e) => break Err(self.parse_error(e)),
            }
        };
        if pos > 0 {
            buf.drain(..pos);
        }
        res
    }

    fn parse_error(&mut self, e: ParseError) -> ClosedReason {
        crate::error!("{} - {e}", self.shared.log_prefix);
        if let Some(text) = e.client_error() {
            self.send_err(text);
        }
        match e {
            ParseError::MaxPayload { .. } => ClosedReason::MaxPayloadExceeded,
            ParseError::MaxControlLine { .. } => ClosedReason::MaxControlLineExceeded,
            ParseError::UnknownOp { .. } => ClosedReason::ParseError,
            ParseError::Args { .. } => ClosedReason::ProtocolViolation,
        }
    }

    fn handle(&mut self, op: ClientOp<'_>) -> Step {
        if !self.connected && self.opts.auth_required() && !matches!(op, ClientOp::Connect(_)) {
            // With no_auth_user, a first op other than CONNECT makes the
            // client that user (as nats-server lets telnet demos work).
            match crate::auth::no_auth_user(&self.opts) {
                Some(id) => {
                    self.set_perms(id.perms.as_ref());
                    self.account = self.srv.accounts.get(id.account.as_deref());
                    self.shared.meta.lock().account = self.account.name.clone();
                    self.connected = true;
                    self.connect_event();
                }
                None => return Err(self.auth_violation()),
            }
        }
        if self.shared.trace.load(Ordering::Relaxed) {
            self.trace_in(&op);
        }
        match op {
            ClientOp::Connect(json) => self.on_connect(json),
            ClientOp::Pub(p) => self.on_pub(p),
            ClientOp::Sub {
                subject,
                queue,
                sid,
            } => self.on_sub(subject, queue, sid),
            ClientOp::Unsub { sid, max } => self.on_unsub(sid, max),
            ClientOp::Ping => {
                self.send_proto(proto::encode::PONG);
                if self.connected && !self.first_pong {
                    self.first_pong = true;
                    if self.connect.protocol >= 1 {
                        self.shared.async_info.store(true, Ordering::Relaxed);
                        self.send_connect_info();
                    }
                }
                Ok(())
            }
            ClientOp::Pong => {
                self.pings_out = 0;
                self.rtt_measured = true;
                if let Some(t) = self.ping_sent.take() {
                    self.shared.meta.lock().rtt = Some(t.elapsed());
                }
                Ok(())
            }
            ClientOp::Ok => Ok(()),
            ClientOp::Info(json) => match serde_json::from_slice::<serde_json::Value>(json) {
                Ok(_) => Ok(()),
                Err(e) => {
                    crate::error!("{} - {e}", self.shared.log_prefix);
                    Err(ClosedReason::ProtocolViolation)
                }
            },
            ClientOp::Err(text) => {
                crate::error!(
                    "{} - Client Error {}",
                    self.shared.log_prefix,
                    String::from_utf8_lossy(text)
                );
                Err(ClosedReason::ClientClosed)
            }
        }
    }

    /// The system account hears that this client connected.
    fn connect_event(&self) {
        let entry = self.srv.clients.lock().get(&self.shared.cid).cloned();
        if let Some(e) = entry {
            crate::system::events::connect(&self.srv, &e);
        }
    }

    fn ok(&mut self) {
        if self.connect.verbose {
            self.send_proto(proto::encode::OK);
        }
    }

    fn send_err(&mut self, text: &str) {
        self.scratch.clear();
        proto::encode::err(&mut self.scratch, text);
        let bytes = std::mem::take(&mut self.scratch);
        self.send_proto(&bytes);
        self.scratch = bytes;
        writer::flush_all(&mut self.fan.flush);
    }

    /// Queues a protocol line to this client; the batch flush wakes the writer.
    /// The INFO nats-server 2.12 sends after the first PONG to clients of
    /// protocol 1: `connect_info` with the account the client is bound to.
    fn send_connect_info(&mut self) {
        let ip = self
            .sock
            .peer_addr()
            .map(|a| crate::util::canonical(a).ip().to_string())
            .unwrap_or_default();
        let json = self.srv.info_json(
            self.shared.cid,
            &ip,
            self.srv.lame_duck.load(Ordering::Relaxed),
            &self.shared.nonce,
            self.shared.ws_compress.is_some(),
            Some(&self.account.name),
        );
        let mut b = Vec::with_capacity(json.len() + 8);
        proto::encode::info(&mut b, &json);
        self.send_proto(&b);
    }

    fn send_proto(&mut self, bytes: &[u8]) {
        if self.shared.trace.load(Ordering::Relaxed) {
            let line = String::from_utf8_lossy(bytes);
            crate::trace!("{} - ->> [{}]", self.shared.log_prefix, line.trim_end());
        }
        let mut out = self.shared.out.lock();
        if out.closed.is_some() {
            return;
        }
        out.buf.extend_from_slice(bytes);
        if !out.signaled {
            out.signaled = true;
            self.fan.flush.push(self.shared.clone());
        }
    }

    fn flush_stats(&mut self) {
        self.fan
            .count_in(&self.shared, &mut self.in_msgs, &mut self.in_bytes);
        self.fan.flush_stats();
    }
}

pub(crate) async fn sleep_until_opt(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

/// Waits for the socket to be readable and reads what it has.
pub(crate) async fn read_some(sock: &TcpStream, buf: &mut Vec<u8>) -> std::io::Result<usize> {
    loop {
        sock.readable().await?;
        match sock.try_read_buf(buf) {
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(e) => return Err(e),
        }
    }
}

/// Writes bytes straight to the socket (before TLS starts), giving up
/// after a second.
pub(crate) async fn write_direct(sock: &TcpStream, mut bytes: &[u8]) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(1);
    while !bytes.is_empty() {
        match sock.try_write(bytes) {
            Ok(n) => bytes = &bytes[n..],
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if tokio::time::timeout_at(deadline, sock.writable())
                    .await
                    .is_err()
                {
                    return;
                }
            }
            Err(_) => return,
        }
    }
}

/// Accepts clients on the client listener until shutdown or lame duck
/// mode, each served by [`run`] in a task of its own.
pub async fn accept_loop(srv: Arc<Server>, listener: tokio::net::TcpListener) {
    srv.accept_with(listener, "client", |srv, stream, addr| {
        run(srv, stream, addr, None)
    })
    .await
}

#[cfg(test)]
mod tests {
    /// Every connection's task holds the `run` future, and every connection
    /// a `ClientShared`: both stay small so idle connections are cheap
    /// (rarely used state, like a TLS session, is boxed).
    #[tokio::test]
    async fn per_connection_state_stays_small() {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let _c = tokio::net::TcpStream::connect(l.local_addr().unwrap())
            .await
            .unwrap();
        let (s, addr) = l.accept().await.unwrap();
        let srv = crate::server::Server::new(crate::config::options::Options::default());
        let f = super::run(srv, s, addr, None);
        let size = std::mem::size_of_val(&f);
        assert!(size <= 4096, "conn::run future is {size} bytes");
        let shared = std::mem::size_of::<crate::delivery::outbound::ClientShared>();
        assert!(shared <= 1024, "ClientShared is {shared} bytes");
    }
}
