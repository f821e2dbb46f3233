//! One client connection: the read loop, the handling of each operation,
//! the PING timer and the auth timer. The outbound side lives in
//! [`crate::outbound`].

use crate::closed::ClosedReason;
use crate::options::Options;
use crate::outbound::{self, ClientShared, Msg, SubRef, Subscription};
use crate::server::{ClientEntry, ClosedInfo, Server};
use crate::writer;
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
    parser: Parser,
    connect: ConnectOptions,
    connected: bool,
    pings_out: u32,
    rtt_measured: bool,
    ping_sent: Option<Instant>,
    started: Instant,
    last_activity: Instant,
    perms: Option<crate::perms::ClientPerms>,
    account: Arc<crate::accounts::Account>,
    fan: crate::fanout::Fanout,
    /// `pinned_certs` was checked once the TLS handshake finished.
    pin_checked: bool,
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
    pub tls: Option<crate::tls::Session>,
    /// The value of the `jwt_cookie` cookie, when configured and sent.
    pub cookie_jwt: Option<String>,
}

/// Serves one client until it closes; `ws` for websocket clients.
pub async fn run(srv: Arc<Server>, stream: TcpStream, addr: SocketAddr, ws: Option<Box<WsSetup>>) {
    let _ = stream.set_nodelay(true);
    let (shared, opts, mut ws) = new_client(&srv, stream, addr, ws);
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
        connect: ConnectOptions::default(),
        connected: false,
        pings_out: 0,
        rtt_measured: false,
        ping_sent: None,
        started: Instant::now(),
        last_activity: Instant::now(),
        perms: None,
        account: srv.accounts.get(None),
        fan: crate::fanout::Fanout::new(srv.clone()),
        pin_checked: false,
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
    );
    c.scratch.clear();
    proto::encode::info(&mut c.scratch, &info);
    c.trace_out_bytes("INFO", &info);
    let tls_config = srv.tls_config.read().clone().filter(|_| ws.is_none());
    if tls_config.is_some() {
        // INFO goes out in plaintext before TLS starts.
        write_direct(&shared.sock, &c.scratch).await;
    } else {
        shared.send_now(&c.scratch);
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
            Some(cfg) => c.start_tls(cfg).await,
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
) -> (Arc<ClientShared>, Arc<Options>, Option<Box<WsSetup>>) {
    let opts = srv.opts();
    let cid = srv.next_cid();
    let prefix = format!("{addr} - cid:{cid}");
    let sock = Arc::new(stream);
    let mut shared = ClientShared::new(cid, sock, opts.max_pending, prefix);
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
    (Arc::new(shared), opts, ws)
}

impl Conn {
    /// Waits for the client to start TLS after INFO. Returns the first
    /// bytes it sent; a plaintext client gets nats-server's error.
    async fn start_tls(&mut self, cfg: Arc<rustls::ServerConfig>) -> Result<Vec<u8>, ClosedReason> {
        let timeout = self
            .opts
            .tls
            .as_ref()
            .map(|t| t.timeout)
            .filter(|t| *t > 0.0)
            .map(Duration::from_secs_f64)
            .unwrap_or(Duration::from_secs(2));
        let mut first = Vec::with_capacity(4096);
        match tokio::time::timeout(timeout, read_some(&self.shared.sock, &mut first)).await {
            Ok(Ok(n)) if n > 0 && first[0] == crate::tls::HANDSHAKE_RECORD => {
                let session = crate::tls::Session::new(cfg).map_err(|e| {
                    crate::error!("{} - TLS handshake error: {e}", self.shared.log_prefix);
                    ClosedReason::TlsHandshakeError
                })?;
                let _ = self.shared.tls.set(Box::new(session));
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
        let sock = self.shared.sock.clone();
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
        let mut decoder =
            ws.map(|w| crate::ws::Decoder::new(w.compress, self.opts.max_pending.max(1 << 20)));
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

    /// Turns transport bytes (`raw`) into protocol bytes (`buf`): TLS
    /// records are decrypted, websocket frames decoded (both for `wss`, the
    /// frames passing through `mid`). Returns the bytes the next websocket
    /// frame still needs.
    fn transport_input(
        &mut self,
        decoder: Option<&mut crate::ws::Decoder>,
        tls: bool,
        raw: &mut Vec<u8>,
        mid: &mut Vec<u8>,
        buf: &mut Vec<u8>,
    ) -> Result<usize, ClosedReason> {
        match decoder {
            Some(dec) if tls => {
                self.tls_input(raw, mid)?;
                self.ws_input(dec, mid, buf)
            }
            Some(dec) => self.ws_input(dec, raw, buf),
            None if tls => self.tls_input(raw, buf).map(|()| 0),
            None => Ok(0),
        }
    }

    /// Decodes websocket frames from `raw` into `buf` and answers control
    /// frames. Returns the bytes the next frame still needs.
    fn ws_input(
        &mut self,
        dec: &mut crate::ws::Decoder,
        raw: &mut Vec<u8>,
        buf: &mut Vec<u8>,
    ) -> Result<usize, ClosedReason> {
        let mut events = Vec::new();
        let res = dec.decode(raw, buf, &mut events);
        for ev in events {
            match ev {
                crate::ws::Control::Ping(p) => {
                    self.ws_ctrl(|o| crate::ws::encode_pong(o, &p));
                }
                crate::ws::Control::Close(code) => {
                    let code = if code == 1005 {
                        crate::ws::CLOSE_NORMAL
                    } else {
                        code
                    };
                    self.ws_ctrl(|o| crate::ws::encode_close(o, code, ""));
                    return Err(ClosedReason::ClientClosed);
                }
            }
        }
        match res {
            Ok(need) => Ok(need),
            Err(e) => {
                crate::error!(
                    "{} - websocket protocol error: {}",
                    self.shared.log_prefix,
                    e.reason
                );
                self.ws_ctrl(|o| crate::ws::encode_close(o, e.code, &e.reason));
                Err(ClosedReason::ProtocolViolation)
            }
        }
    }

    fn tls_established(&self) -> bool {
        self.shared.tls.get().is_none_or(|t| t.established())
    }

    /// Decrypts TLS records from `raw` into `buf`, and sends what the
    /// handshake needs sent.
    fn tls_input(&mut self, raw: &mut Vec<u8>, buf: &mut Vec<u8>) -> Result<(), ClosedReason> {
        let Some(t) = self.shared.tls.get() else {
            return Ok(());
        };
        let res = t.decrypt(raw, buf);
        if t.wants_write() {
            writer::flush_in_place(&self.shared);
        }
        if res.is_ok() && !self.pin_checked && t.established() {
            self.pin_checked = true;
            let pinned = self.opts.tls.as_ref().map(|o| o.pinned_certs.as_slice());
            if let Err(id) = t.check_pinned(pinned.unwrap_or_default()) {
                crate::error!(
                    "{} - TLS handshake error: certificate not pinned: {id}",
                    self.shared.log_prefix
                );
                return Err(ClosedReason::TlsHandshakeError);
            }
        }
        res.map_err(|e| {
            crate::error!("{} - TLS handshake error: {e}", self.shared.log_prefix);
            ClosedReason::TlsHandshakeError
        })
    }

    /// Queues a websocket control frame and flushes it.
    fn ws_ctrl(&mut self, frame: impl FnOnce(&mut Vec<u8>)) {
        {
            let mut out = self.shared.out.lock();
            if out.closed.is_some() {
                return;
            }
            frame(&mut out.ctrl);
        }
        writer::flush_in_place(&self.shared);
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
                if self.connected && self.connect.protocol >= 1 {
                    self.shared.async_info.store(true, Ordering::Relaxed);
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

    fn on_connect(&mut self, json: &[u8]) -> Step {
        let mut opts: ConnectOptions = match serde_json::from_slice(json) {
            Ok(o) => o,
            Err(e) => {
                crate::error!("{} - {e}", self.shared.log_prefix);
                return Err(ClosedReason::ProtocolViolation);
            }
        };
        {
            // What the client says about itself is kept even when the
            // CONNECT is refused below (as nats-server's closed records).
            let mut m = self.shared.meta.lock();
            m.name = opts.name.clone().unwrap_or_default();
            m.lang = opts.lang.clone().unwrap_or_default();
            m.version = opts.version.clone().unwrap_or_default();
            m.user = opts.user.clone().unwrap_or_default();
        }
        if opts.protocol < 0 || opts.protocol > 1 {
            crate::error!("{} - invalid client protocol", self.shared.log_prefix);
            self.send_err("invalid client protocol");
            return Err(ClosedReason::BadClientProtocolVersion);
        }
        if opts.no_responders && !opts.headers {
            crate::error!(
                "{} - no responders requires headers support",
                self.shared.log_prefix
            );
            self.send_err("no responders requires headers support");
            return Err(ClosedReason::ProtocolViolation);
        }
        // A websocket client without a JWT in CONNECT uses the cookie's.
        if self.is_ws() && opts.jwt.as_deref().unwrap_or("").is_empty() {
            opts.jwt = self.cookie_jwt.clone();
        }
        let Some(id) = self.authenticate(&opts) else {
            return Err(self.auth_violation());
        };
        let account = self.srv.accounts.get(id.account.as_deref());
        self.count_in(&account)?;
        if let Some(u) = &id.mapped_user {
            self.shared.meta.lock().user = u.clone();
        }
        self.set_perms(id.perms.as_ref());
        self.account = account;
        self.shared.meta.lock().account = self.account.name.clone();
        // A second CONNECT keeps what the first one did not mention.
        if self.connected {
            opts.echo = opts.echo && self.connect.echo;
        }
        self.shared.echo.store(opts.echo, Ordering::Relaxed);
        self.shared.headers.store(opts.headers, Ordering::Relaxed);
        {
            let mut m = self.shared.meta.lock();
            // Until a PING/PONG is measured, the connect-time estimate
            // (INFO sent to CONNECT received), as nats-server reports.
            if m.rtt.is_none() {
                m.rtt = Some(self.started.elapsed());
            }
        }
        self.connect = opts;
        self.connected = true;
        self.ok();
        self.apply_jwt_limits();
        Ok(())
    }

    /// The client came over websocket.
    fn is_ws(&self) -> bool {
        self.shared.ws_compress.is_some()
    }

    /// Counts this client in `account`, refusing it (as nats-server does)
    /// when the account's JWT connection limit is reached.
    fn count_in(&mut self, account: &Arc<crate::accounts::Account>) -> Step {
        if self
            .counted
            .as_ref()
            .is_some_and(|a| Arc::ptr_eq(a, account))
        {
            return Ok(());
        }
        if let Some(max) = self.srv.trust().and_then(|t| t.max_conns(&account.name)) {
            if max != crate::jwtauth::NO_LIMIT && account.clients.load(Ordering::Relaxed) >= max {
                crate::error!(
                    "{} - maximum account active connections exceeded",
                    self.shared.log_prefix
                );
                self.send_err("maximum account active connections exceeded");
                return Err(ClosedReason::MaxAccountConnectionsExceeded);
            }
        }
        if let Some(prev) = self.counted.replace(account.clone()) {
            prev.clients.fetch_sub(1, Ordering::Relaxed);
        }
        account.clients.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// The largest payload and the most subscriptions this client may
    /// use: its JWT's limits lowered to the server's (`None`: no limit).
    fn effective_limits(&self) -> (Option<usize>, Option<usize>) {
        use crate::jwtauth::{min_limit, NO_LIMIT};
        let (mut pay, mut subs) = self.jwt_limits.unwrap_or((NO_LIMIT, NO_LIMIT));
        min_limit(&mut pay, self.opts.max_payload as i64);
        if self.opts.max_subs > 0 {
            min_limit(&mut subs, self.opts.max_subs as i64);
        }
        let some = |v: i64| (v != NO_LIMIT).then_some(v.max(0) as usize);
        (some(pay), some(subs))
    }

    /// Applies a JWT's payload and subscription limits after CONNECT. A
    /// subscription limit already reached gets nats-server's error and the
    /// connection closes shortly after.
    fn apply_jwt_limits(&mut self) {
        if self.jwt_limits.is_none() {
            return;
        }
        let (pay, subs) = self.effective_limits();
        self.parser
            .set_max_payload(pay.unwrap_or(self.opts.max_payload));
        if subs.is_some_and(|m| self.shared.subs.lock().len() >= m) {
            crate::error!(
                "{} - maximum subscriptions exceeded",
                self.shared.log_prefix
            );
            self.send_err("maximum subscriptions exceeded");
            self.close_at = Some((
                tokio::time::Instant::now() + Duration::from_millis(20),
                ClosedReason::MaxSubscriptionsExceeded,
            ));
        }
    }

    /// Who the CONNECT proves the client to be: by user JWT in operator
    /// mode, otherwise by the configured users, nkeys, token or certificate.
    fn authenticate(&mut self, c: &ConnectOptions) -> Option<crate::auth::Identity> {
        self.jwt_limits = None;
        let Some(trust) = self.srv.trust() else {
            let cert = self.shared.tls.get().and_then(|t| t.peer_names());
            return crate::auth::authenticate_cert(
                &self.opts,
                c,
                &self.shared.nonce,
                cert.as_ref(),
            );
        };
        let kind = if self.is_ws() {
            crate::jwtauth::ConnType::Websocket
        } else {
            crate::jwtauth::ConnType::Standard
        };
        let host = self
            .shared
            .sock
            .peer_addr()
            .map(|a| a.ip())
            .unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
        let jwt = c.jwt.as_deref().unwrap_or("");
        match trust.authenticate(jwt, c.sig.as_deref(), &self.shared.nonce, kind, host) {
            Ok(u) if !self.srv.accounts.contains(&u.account) => {
                crate::debug!(
                    "{} - Account JWT lookup error: account {} is not loaded",
                    self.shared.log_prefix,
                    u.account
                );
                None
            }
            Ok(u) => {
                crate::debug!(
                    "{} - Authenticated JWT: Client {:?} by Account {:?}",
                    self.shared.log_prefix,
                    u.subject,
                    u.account
                );
                self.close_at = u.expires_in.map(|d| {
                    (
                        tokio::time::Instant::now() + d,
                        ClosedReason::AuthenticationExpired,
                    )
                });
                self.jwt_limits = Some((u.max_payload, u.max_subs));
                self.shared.meta.lock().user = u.subject.clone();
                Some(crate::auth::Identity {
                    perms: u.perms,
                    account: Some(u.account),
                    mapped_user: None,
                })
            }
            Err(why) => {
                crate::debug!("{} - {why}", self.shared.log_prefix);
                None
            }
        }
    }

    /// Installs the permissions of the authenticated identity.
    fn set_perms(&mut self, p: Option<&crate::config::types::Permissions>) {
        self.perms = p.and_then(crate::perms::ClientPerms::new);
        let resp = self.perms.as_ref().and_then(|p| p.resp.clone());
        *self.shared.replies_ttl.lock() = resp.as_ref().and_then(|r| r.expires);
        self.shared
            .tracks_replies
            .store(resp.is_some(), Ordering::Relaxed);
    }

    fn auth_violation(&mut self) -> ClosedReason {
        crate::error!("{} - Authorization Error", self.shared.log_prefix);
        self.send_err("Authorization Violation");
        ClosedReason::AuthenticationViolation
    }

    fn on_pub(&mut self, p: PubOp<'_>) -> Step {
        let header_len = match p.header_len {
            Some(_) if !self.connect.headers => {
                crate::error!("{} - message headers not supported", self.shared.log_prefix);
                return Err(ClosedReason::ProtocolViolation);
            }
            Some(0) => None,
            h => h,
        };
        if self.connect.pedantic && !sublist::is_valid_literal_subject(p.subject) {
            self.send_err("Invalid Publish Subject");
        }
        self.in_msgs += 1;
        self.in_bytes += p.payload.len() as u64;
        if let Some(perms) = self.perms.as_mut() {
            if !perms.can_publish(p.subject, &self.shared.replies) {
                let subject = String::from_utf8_lossy(p.subject);
                let text = format!(
                    "Permissions Violation for Publish to {}",
                    crate::config::go_quote(&subject)
                );
                crate::error!("{} - {text}", self.shared.log_prefix);
                self.send_err(&text);
                return Ok(());
            }
        }
        self.ok();
        let msg = Msg {
            subject: p.subject,
            reply: p.reply,
            header_len,
            payload: p.payload,
        };
        let acc = self.account.clone();
        let delivered = self
            .fan
            .publish(&acc, &msg, self.shared.cid, self.connect.echo);
        if !delivered && self.connect.no_responders {
            if let Some(reply) = p.reply {
                self.no_responders(reply);
            }
        }
        Ok(())
    }

    fn no_responders(&mut self, reply: &[u8]) {
        let result = self.account.sublist.read().match_subject(reply);
        let Some(sub) = result
            .psubs
            .iter()
            .find(|s| s.0.client.cid == self.shared.cid)
        else {
            return;
        };
        let hdr = proto::encode::NO_RESPONDERS_HDR;
        self.scratch.clear();
        proto::encode::msg(
            &mut self.scratch,
            reply,
            &sub.0.sid,
            None,
            Some(hdr.len()),
            hdr,
        );
        let bytes = std::mem::take(&mut self.scratch);
        self.send_proto(&bytes);
        self.scratch = bytes;
    }

    fn on_sub(&mut self, subject: &[u8], queue: Option<&[u8]>, sid: &[u8]) -> Step {
        if !sublist::is_valid_subject(subject) {
            self.send_err("Invalid Subject");
            return Ok(());
        }
        if self
            .perms
            .as_ref()
            .is_some_and(|p| !p.can_subscribe(subject, queue))
        {
            let subj = crate::config::go_quote(&String::from_utf8_lossy(subject));
            let text = match queue {
                Some(q) => format!(
                    "Permissions Violation for Subscription to {subj} using queue {}",
                    crate::config::go_quote(&String::from_utf8_lossy(q))
                ),
                None => format!("Permissions Violation for Subscription to {subj}"),
            };
            crate::error!("{} - {text}", self.shared.log_prefix);
            self.send_err(&text);
            return Ok(());
        }
        let deny = self.perms.as_ref().and_then(|p| p.delivery_filter(subject));
        {
            let mut subs = self.shared.subs.lock();
            if subs.contains_key(sid) {
                drop(subs);
                self.ok();
                return Ok(());
            }
            if self.effective_limits().1.is_some_and(|m| subs.len() >= m) {
                drop(subs);
                crate::error!(
                    "{} - maximum subscriptions exceeded",
                    self.shared.log_prefix
                );
                self.send_err("maximum subscriptions exceeded");
                return Ok(());
            }
            let sub = Arc::new(Subscription {
                client: self.shared.clone(),
                subject: subject.into(),
                queue: queue.map(Into::into),
                sid: sid.into(),
                max: AtomicU64::new(0),
                delivered: AtomicU64::new(0),
                acc: self.account.clone(),
                qw: AtomicU32::new(1),
                deny,
            });
            subs.insert(sid.into(), sub.clone());
            drop(subs);
            let _ = self
                .account
                .sublist
                .write()
                .insert(subject, queue, SubRef(sub));
            self.srv
                .routes
                .local_interest(&self.account, subject, queue, 1);
        }
        self.ok();
        Ok(())
    }

    fn on_unsub(&mut self, sid: &[u8], max: Option<u64>) -> Step {
        let sub = self.shared.subs.lock().get(sid).cloned();
        if let Some(sub) = sub {
            match max {
                Some(m) if m > 0 && sub.delivered.load(Ordering::Acquire) < m => {
                    sub.max.store(m, Ordering::Release);
                }
                _ => remove_sub(&self.srv, &sub),
            }
        }
        self.ok();
        Ok(())
    }

    /// Takes the reloaded options: new limits apply to this connection, and
    /// a client whose credentials no longer pass is disconnected.
    fn apply_reload(&mut self) -> Step {
        let new = self.srv.opts();
        let new = if self.is_ws() {
            Arc::new(crate::auth::for_websocket(&new))
        } else {
            new
        };
        self.parser.set_max_control_line(new.max_control_line);
        self.shared.trace.store(new.trace, Ordering::Relaxed);
        let was = std::mem::replace(&mut self.opts, new);
        // The server's max_payload, lowered by the client's JWT limit.
        let pay = self.effective_limits().0;
        self.parser
            .set_max_payload(pay.unwrap_or(self.opts.max_payload));
        let auth_changed = was.token != self.opts.token
            || was.users != self.opts.users
            || was.nkeys != self.opts.nkeys;
        let auth_changed = auth_changed
            || was.auth_users != self.opts.auth_users
            || was.default_permissions != self.opts.default_permissions;
        let auth_changed = auth_changed
            || was.operators != self.opts.operators
            || was.trusted_keys != self.opts.trusted_keys
            || was.resolver_preload != self.opts.resolver_preload;
        if !self.connected || !auth_changed {
            return Ok(());
        }
        let connect = self.connect.clone();
        let verdict = self.authenticate(&connect);
        if let Some(id) = &verdict {
            self.set_perms(id.perms.as_ref());
        }
        if verdict.is_none() {
            let who = self.connect.user.as_deref().unwrap_or("");
            crate::error!(
                "{} - authentication error - User {who:?}",
                self.shared.log_prefix
            );
            self.send_err("Authorization Violation");
            return Err(ClosedReason::AuthenticationViolation);
        }
        Ok(())
    }

    fn ping_timer(&mut self) -> Step {
        let interval = self.opts.ping_interval;
        if self.rtt_measured && self.last_activity.elapsed() < interval {
            return Ok(());
        }
        if self.pings_out + 1 > self.opts.ping_max {
            crate::debug!(
                "{} - Stale Client Connection - Closing",
                self.shared.log_prefix
            );
            self.send_err("Stale Connection");
            writer::flush_all(&mut self.fan.flush);
            return Err(ClosedReason::StaleConnection);
        }
        self.pings_out += 1;
        self.ping_sent.get_or_insert_with(Instant::now);
        self.send_proto(proto::encode::PING);
        writer::flush_all(&mut self.fan.flush);
        Ok(())
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

    fn trace_in(&self, op: &ClientOp<'_>) {
        let s = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        let line = match op {
            ClientOp::Connect(j) => format!("CONNECT {}", crate::auth::redact(&s(j))),
            ClientOp::Pub(p) => format!(
                "{} {}{} {}",
                if p.header_len.is_some() {
                    "HPUB"
                } else {
                    "PUB"
                },
                s(p.subject),
                p.reply.map(|r| format!(" {}", s(r))).unwrap_or_default(),
                p.payload.len()
            ),
            ClientOp::Sub {
                subject,
                queue,
                sid,
            } => format!(
                "SUB {}{} {}",
                s(subject),
                queue.map(|q| format!(" {}", s(q))).unwrap_or_default(),
                s(sid)
            ),
            ClientOp::Unsub { sid, max } => format!(
                "UNSUB {}{}",
                s(sid),
                max.map(|m| format!(" {m}")).unwrap_or_default()
            ),
            ClientOp::Ping => "PING".into(),
            ClientOp::Pong => "PONG".into(),
            ClientOp::Info(j) => format!("INFO {}", s(j)),
            ClientOp::Ok => "+OK".into(),
            ClientOp::Err(e) => format!("-ERR {}", s(e)),
        };
        crate::trace!("{} - <<- [{line}]", self.shared.log_prefix);
    }

    fn trace_out_bytes(&self, op: &str, json: &[u8]) {
        if self.shared.trace.load(Ordering::Relaxed) {
            crate::trace!(
                "{} - ->> [{op} {}]",
                self.shared.log_prefix,
                String::from_utf8_lossy(json)
            );
        }
    }
}

/// Removes a subscription from the sublist and its client.
pub fn remove_sub(srv: &Server, sub: &Arc<Subscription>) {
    let removed = sub.client.subs.lock().remove(&sub.sid).is_some();
    if removed {
        sub.acc
            .sublist
            .write()
            .remove(&sub.subject, sub.queue.as_deref(), &SubRef(sub.clone()));
        if !sub.client.is_route {
            srv.routes
                .local_interest(&sub.acc, &sub.subject, sub.queue.as_deref(), -1);
        }
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
async fn write_direct(sock: &TcpStream, mut bytes: &[u8]) {
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
        let srv = crate::server::Server::new(crate::options::Options::default());
        let f = super::run(srv, s, addr, None);
        let size = std::mem::size_of_val(&f);
        assert!(size <= 4096, "conn::run future is {size} bytes");
        let shared = std::mem::size_of::<crate::outbound::ClientShared>();
        assert!(shared <= 1024, "ClientShared is {shared} bytes");
    }
}
