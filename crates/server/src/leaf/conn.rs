//! One leafnode connection: its read loop, interest from the other side
//! (`LS+`/`LS-`) kept in the bound account's sublist as subscriptions of
//! the connection, messages (`LMSG`/`HMSG`) delivered with the leafnode
//! rules, loop detection, and pings. The handshake is in `handshake.rs`.

use super::Remote;
use crate::accounts::Account;
use crate::config::options::Options;
use crate::config::route_url::RouteUrl;
use crate::delivery::closed::ClosedReason;
use crate::delivery::fanout::{Fanout, Origin};
use crate::delivery::outbound::{ClientShared, Msg};
use crate::delivery::writer;
use crate::leafs::LeafLink;
use crate::server::Server;
use proto::{RouteMsg, RouteOp, RouteParser};
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;

/// Read buffer size.
const READ_SIZE: usize = 64 * 1024;
/// How long a dialer waits for the hub's first INFO by default.
const FIRST_INFO_TIMEOUT: Duration = Duration::from_secs(1);
/// First PING once the connection is up.
const FIRST_PING: Duration = Duration::from_secs(1);

pub(super) type Step = Result<(), ClosedReason>;

pub(super) struct LeafConn {
    pub(super) srv: Arc<Server>,
    pub(super) opts: Arc<Options>,
    pub(super) shared: Arc<ClientShared>,
    pub(super) sock: Arc<TcpStream>,
    pub(super) addr: SocketAddr,
    pub(super) parser: RouteParser,
    pub(super) fan: Fanout,
    /// The remote this server dialed (with the URL it used).
    pub(super) remote: Option<(Arc<Remote>, RouteUrl)>,
    /// The bound account, once known.
    pub(super) acc: Option<Arc<Account>>,
    /// The registered link, once the handshake is done.
    pub(super) link: Option<Arc<LeafLink>>,
    /// The nonce this side sent (accepting) or received (dialing).
    pub(super) nonce: String,
    pub(super) got_connect: bool,
    pub(super) got_info: bool,
    /// Permissions learned before the link exists.
    pub(super) perms: Option<crate::config::types::Permissions>,
    pub(super) remote_name: String,
    /// The account the remote binds the connection to (its CONNECT).
    pub(super) remote_account: String,
    /// The remote asked for isolation (`request_isolation`).
    pub(super) isolate: bool,
    /// Refused; closing after a pause: nothing more is read.
    pub(super) refused: bool,
    pub(super) pings_out: u32,
    pub(super) ping_sent: Option<std::time::Instant>,
    pub(super) in_msgs: u64,
    pub(super) in_bytes: u64,
    /// When the handshake must be done by.
    pub(super) deadline: tokio::time::Instant,
    /// Websocket: the frame decoder.
    pub(super) ws: Option<crate::transport::ws::Decoder>,
    /// Websocket: frame bytes not decoded yet.
    pub(super) ws_pending: Vec<u8>,
}

/// A leafnode connection over websocket, once upgraded.
pub struct WsLeaf {
    /// permessage-deflate negotiated.
    pub compress: bool,
    /// Frame bytes that came with the upgrade (decrypted for `wss`).
    pub leftover: Vec<u8>,
    /// `wss`: the TLS session the upgrade ran over.
    pub tls: Option<crate::transport::tls::Session>,
    /// Frames from the other side may be unmasked.
    pub unmasked: bool,
}

/// Serves one leafnode connection until it closes; `remote` is set when
/// this server dialed it, `ws` when it runs over websocket.
pub async fn run(
    srv: Arc<Server>,
    stream: TcpStream,
    addr: SocketAddr,
    remote: Option<(Arc<Remote>, RouteUrl)>,
    ws: Option<WsLeaf>,
) {
    let _ = stream.set_nodelay(true);
    let opts = srv.opts();
    let cid = srv.next_cid();
    let prefix = format!("{addr} - lid:{cid}");
    let sock = Arc::new(stream);
    let mut shared = ClientShared::new(cid, Some(sock.clone()), usize::MAX / 4, prefix);
    shared.is_leaf = true;
    shared.ws_compress = ws.as_ref().map(|w| w.compress);
    shared.headers.store(true, Ordering::Relaxed);
    shared.echo.store(false, Ordering::Relaxed);
    if let Some((r, _)) = &remote {
        shared.leaf_spoke.store(!r.opts.hub, Ordering::Relaxed);
    }
    let mut ws = ws;
    let ws_tls = ws.as_mut().and_then(|w| w.tls.take());
    if let Some(t) = ws_tls {
        let _ = shared.tls.set(Box::new(t));
    }
    let shared = Arc::new(shared);
    shared.trace.store(opts.trace, Ordering::Relaxed);
    let writer = tokio::spawn(writer::writer(shared.clone(), opts.write_deadline));
    let mut parser = RouteParser::new(usize::MAX / 2);
    parser.set_leaf();
    let mut c = LeafConn {
        parser,
        fan: Fanout::new(srv.clone()),
        srv: srv.clone(),
        opts: opts.clone(),
        shared: shared.clone(),
        sock,
        addr,
        remote,
        acc: None,
        link: None,
        nonce: String::new(),
        got_connect: false,
        got_info: false,
        perms: None,
        remote_name: String::new(),
        remote_account: String::new(),
        isolate: false,
        refused: false,
        pings_out: 0,
        ping_sent: None,
        in_msgs: 0,
        in_bytes: 0,
        deadline: tokio::time::Instant::now(),
        ws: ws.as_ref().map(|w| {
            let d = crate::transport::ws::Decoder::new(w.compress, usize::MAX / 4);
            if w.unmasked {
                d.allow_unmasked()
            } else {
                d
            }
        }),
        ws_pending: ws.map(|w| w.leftover).unwrap_or_default(),
    };
    let solicited = c.remote.is_some();
    if let Some((r, _)) = &c.remote {
        let name = r.opts.local_account.clone().unwrap_or_else(|| "$G".into());
        match srv.accounts.lookup(name.as_bytes()) {
            Some(a) => {
                crate::info!(
                    "{} - Leafnode connection created for account: {name} ",
                    shared.log_prefix
                );
                c.acc = Some(a);
            }
            None => {
                crate::error!(
                    "Unable to lookup account {name} for solicited leafnode connection: account not found"
                );
                shared.mark_closed(ClosedReason::MissingAccount, false);
                let _ = writer.await;
                return;
            }
        }
    } else {
        crate::info!("{} - Leafnode connection created ", shared.log_prefix);
        c.nonce = crate::auth::nonce();
        match super::server_tls().filter(|_| c.ws.is_none()) {
            Some((cfg, _)) => {
                // INFO in plaintext, then the TLS handshake (as nats-server).
                let info = c.info_bytes(false);
                crate::cluster::trace_out(&shared, &info);
                crate::client::write_direct(&c.sock, &info).await;
                match crate::transport::tls::Session::new(cfg.clone()) {
                    Ok(s) => {
                        let _ = shared.tls.set(Box::new(s));
                    }
                    Err(e) => {
                        crate::error!("{} - TLS handshake error: {e}", shared.log_prefix);
                        shared.mark_closed(ClosedReason::TlsHandshakeError, false);
                    }
                }
            }
            None => c.send_info(false),
        }
    }
    let reason = c.read_loop(solicited).await;
    writer::flush_all(&mut c.fan.flush);
    c.flush_stats();
    shared.mark_closed(reason, false);
    let reason = shared.closed_reason().unwrap_or(reason);
    let _ = writer.await;
    if let Some(link) = srv.leafs.remove(cid) {
        if !link.solicited {
            crate::system::events::disconnect(
                &srv,
                &super::handshake::entry_of(&link),
                reason.as_str(),
                false,
            );
        }
        crate::system::conns::announce(&srv, &link.acc);
    }
    srv.drop_subs(&shared);
    let remote = if c.remote_name.is_empty() {
        String::new()
    } else {
        format!(" - Remote: {}", c.remote_name)
    };
    crate::info!(
        "{} - Leafnode connection closed: {}{remote}",
        shared.log_prefix,
        reason.as_str()
    );
}

impl LeafConn {
    pub(super) fn send(&mut self, bytes: &[u8]) {
        crate::cluster::trace_out(&self.shared, bytes);
        self.shared.send_now(bytes);
    }

    pub(super) fn send_err(&mut self, text: &str) {
        let mut b = Vec::new();
        proto::encode::err(&mut b, text);
        self.send(&b);
    }

    /// Logs `text` as an error, sends it as `-ERR`, and closes for `reason`.
    pub(super) fn refuse(&mut self, text: &str, reason: ClosedReason) -> Step {
        crate::error!("{} - {text}", self.shared.log_prefix);
        self.send_err(text);
        Err(reason)
    }

    async fn read_loop(&mut self, solicited: bool) -> ClosedReason {
        let sock = self.sock.clone();
        let mut buf: Vec<u8> = Vec::with_capacity(READ_SIZE);
        // TLS: records are read into `raw` and decrypted into `buf`.
        let mut raw: Vec<u8> = Vec::new();
        let close = self.shared.close.clone();
        self.deadline = if solicited {
            let t = self
                .remote
                .as_ref()
                .and_then(|(r, _)| r.opts.first_info_timeout)
                .unwrap_or(FIRST_INFO_TIMEOUT);
            tokio::time::Instant::now() + t
        } else {
            let secs = if self.opts.leafnode.auth_timeout > 0.0 {
                self.opts.leafnode.auth_timeout
            } else {
                2.0
            };
            tokio::time::Instant::now() + Duration::from_secs_f64(secs)
        };
        let mut next_ping = tokio::time::Instant::now() + FIRST_PING;
        // Frames that came with the websocket upgrade.
        if self.ws.is_some() && !self.ws_pending.is_empty() {
            let res = self
                .ws_input(&mut buf)
                .and_then(|()| self.process(&mut buf));
            writer::flush_all(&mut self.fan.flush);
            if let Err(reason) = res {
                return reason;
            }
        }
        loop {
            let need = self.parser.pending_need();
            if need > buf.len() {
                buf.reserve(need - buf.len());
            } else if buf.capacity() - buf.len() < READ_SIZE / 2 {
                buf.reserve(READ_SIZE);
            }
            let handshaking = self.link.is_none();
            let tls = self.shared.tls.get().is_some();
            if tls && raw.capacity() - raw.len() < READ_SIZE / 2 {
                raw.reserve(READ_SIZE);
            }
            tokio::select! {
                biased;
                _ = close.cancelled() => {
                    return self.shared.closed_reason().unwrap_or(ClosedReason::ServerShutdown);
                }
                r = crate::client::read_some(&sock, if tls { &mut raw } else if self.ws.is_some() { &mut self.ws_pending } else { &mut buf }) => {
                    match r {
                        Ok(0) => return ClosedReason::ClientClosed,
                        Ok(_) => {
                            if let Some(t) = self.shared.tls.get() {
                                let out = if self.ws.is_some() { &mut self.ws_pending } else { &mut buf };
                                let res = t.decrypt(&mut raw, out);
                                if t.wants_write() {
                                    writer::flush_in_place(&self.shared);
                                }
                                if let Err(e) = res {
                                    crate::error!("{} - TLS handshake error: {e}", self.shared.log_prefix);
                                    return ClosedReason::TlsHandshakeError;
                                }
                            }
                            if self.ws.is_some() {
                                if let Err(reason) = self.ws_input(&mut buf) {
                                    return reason;
                                }
                            }
                            self.shared.meta.lock().last_activity = Some(chrono::Utc::now());
                            let res = self.process(&mut buf);
                            writer::flush_all(&mut self.fan.flush);
                            self.flush_stats();
                            if let Err(reason) = res {
                                return reason;
                            }
                            if !self.fan.stalled.is_empty() {
                                crate::delivery::outbound::stall(&mut self.fan.stalled, Duration::from_millis(25)).await;
                            }
                        }
                        Err(_) => return ClosedReason::ReadError,
                    }
                }
                _ = tokio::time::sleep_until(next_ping), if !handshaking => {
                    next_ping = tokio::time::Instant::now() + self.opts.ping_interval;
                    if self.pings_out + 1 > self.opts.ping_max {
                        crate::debug!("{} - Stale Client Connection - Closing", self.shared.log_prefix);
                        return ClosedReason::StaleConnection;
                    }
                    self.pings_out += 1;
                    self.ping_sent = Some(std::time::Instant::now());
                    self.send(proto::encode::PING);
                }
                _ = tokio::time::sleep_until(self.deadline), if handshaking => {
                    if tls && !self.shared.tls.get().is_some_and(|t| t.established()) {
                        crate::error!("{} - TLS handshake timeout", self.shared.log_prefix);
                        return ClosedReason::TlsHandshakeError;
                    }
                    if solicited {
                        crate::error!("{} - Did not receive the remote's INFO in time", self.shared.log_prefix);
                        return ClosedReason::ReadError;
                    }
                    crate::error!("{} - Authentication Timeout", self.shared.log_prefix);
                    self.send_err("Authentication Timeout");
                    return ClosedReason::AuthenticationTimeout;
                }
            }
        }
    }

    /// Decodes the websocket frames received so far into `buf`, and
    /// answers pings and closes.
    fn ws_input(&mut self, buf: &mut Vec<u8>) -> Step {
        use crate::transport::ws;
        let Some(dec) = self.ws.as_mut() else {
            return Ok(());
        };
        let mut events = Vec::new();
        let res = dec.decode(&mut self.ws_pending, buf, &mut events);
        for ev in events {
            match ev {
                ws::Control::Ping(p) => self.ws_ctrl(|o| ws::encode_pong(o, &p)),
                ws::Control::Close(code) => {
                    let code = if code == 1005 { ws::CLOSE_NORMAL } else { code };
                    self.ws_ctrl(|o| ws::encode_close(o, code, ""));
                    return Err(ClosedReason::ClientClosed);
                }
            }
        }
        res.map(|_| ()).map_err(|e| {
            crate::error!(
                "{} - websocket protocol error: {}",
                self.shared.log_prefix,
                e.reason
            );
            ClosedReason::ProtocolViolation
        })
    }

    fn ws_ctrl(&self, frame: impl FnOnce(&mut Vec<u8>)) {
        {
            let mut out = self.shared.out.lock();
            if out.closed.is_some() {
                return;
            }
            frame(&mut out.ctrl);
        }
        writer::flush_in_place(&self.shared);
    }

    fn process(&mut self, buf: &mut Vec<u8>) -> Step {
        let mut parser = std::mem::replace(&mut self.parser, RouteParser::new(0));
        let res = parser.drain(buf, |op| self.handle(op));
        self.parser = parser;
        res.map_err(|e| {
            e.unwrap_or_else(|e| {
                let text = e.0.replace(
                    "Route parser ERROR: ",
                    "Leafnode parser ERROR, state=0, i=0: ",
                );
                crate::error!("{} - {text}", self.shared.log_prefix);
                self.send_err("Unknown Protocol Operation");
                ClosedReason::ProtocolViolation
            })
        })
    }

    fn handle(&mut self, op: RouteOp<'_>) -> Step {
        if self.shared.trace.load(Ordering::Relaxed) {
            trace_in(&self.shared, &op);
        }
        let solicited = self.remote.is_some();
        if self.refused {
            return Ok(());
        }
        match op {
            RouteOp::Connect(json) if !solicited => return self.on_connect(json),
            RouteOp::Info(json) => return self.on_info(json),
            RouteOp::Ping => {
                self.send(proto::encode::PONG);
                return Ok(());
            }
            RouteOp::Pong => {
                self.pings_out = 0;
                if let Some(t) = self.ping_sent.take() {
                    self.shared.meta.lock().rtt = Some(t.elapsed());
                }
                return Ok(());
            }
            RouteOp::Err(text) => return self.on_err(text),
            RouteOp::Ok | RouteOp::Ignored => return Ok(()),
            _ => {}
        }
        if !solicited && !self.got_connect {
            crate::error!("{} - Authorization Error", self.shared.log_prefix);
            self.send_err("Authorization Violation");
            return Err(ClosedReason::AuthenticationViolation);
        }
        let Some(link) = self.link.clone() else {
            // Interest and messages before the handshake ended.
            return Ok(());
        };
        match op {
            RouteOp::Sub { subject, queue, .. } => self.on_sub(&link, subject, queue),
            RouteOp::Unsub { subject, queue, .. } => {
                self.on_unsub(subject, queue);
                Ok(())
            }
            RouteOp::Msg(m) => {
                self.on_msg(&link, &m);
                Ok(())
            }
            RouteOp::Connect(_) => Ok(()),
            _ => Ok(()),
        }
    }

    fn on_err(&mut self, text: &[u8]) -> Step {
        let text = String::from_utf8_lossy(text);
        let text = text.trim().trim_matches('\'');
        crate::error!("{} - Leafnode Error '{text}'", self.shared.log_prefix);
        let looped = text.contains("Loop detected");
        if let Some((r, _)) = &self.remote {
            let delay = if looped {
                Some(super::LOOP_DELAY)
            } else if text.contains("same cluster name") {
                crate::error!(
                    "{} - Leafnode connection dropped with same cluster name error. Delaying attempt to reconnect for 30s",
                    self.shared.log_prefix
                );
                Some(super::SAME_CLUSTER_DELAY)
            } else {
                None
            };
            if let Some(d) = delay {
                r.delay_ms.store(d.as_millis() as u64, Ordering::Relaxed);
            }
        }
        // The other side closes; a loop closes here too (as nats-server).
        if looped {
            return Err(ClosedReason::ProtocolViolation);
        }
        Ok(())
    }

    fn on_sub(
        &mut self,
        link: &Arc<LeafLink>,
        subject: &[u8],
        queue: Option<(&[u8], u32)>,
    ) -> Step {
        let acc = link.acc.clone();
        if subject.starts_with(crate::leafs::LDS_PREFIX.as_bytes())
            && subject == self.srv.leafs.lds(&acc.name).as_bytes()
        {
            return self.loop_detected(&acc.name);
        }
        let internal = subject.starts_with(crate::leafs::LDS_PREFIX.as_bytes())
            || subject.starts_with(b"_GR_.")
            || subject.starts_with(b"$GR.");
        if !internal && sublist::is_literal(subject) && !link.can_publish(subject) {
            if link.spoke() {
                return Ok(());
            }
            let s = String::from_utf8_lossy(subject).into_owned();
            self.send_err(&format!("Permissions Violation for Subscription to {s:?}"));
            crate::error!(
                "{} - Subscription Violation on {s:?} - Check other side configuration",
                self.shared.log_prefix
            );
            return Err(ClosedReason::ProtocolViolation);
        }
        let key = crate::leafs::key_of(subject, queue.map(|q| q.0));
        let rc = self.shared.remote_cluster().to_string();
        let deny = link
            .pub_deny
            .clone()
            .filter(|d| !sublist::is_literal(subject) && d.intersects(subject));
        let srv = self.srv.clone();
        if !crate::delivery::fanout::remote_sub(
            &srv,
            &self.shared,
            &acc,
            key,
            subject,
            queue,
            rc.as_bytes(),
            deny,
        ) {
            crate::error!(
                "{} - Could not insert subscription: invalid subject",
                self.shared.log_prefix
            );
            self.send_err("Invalid Subscription");
        }
        Ok(())
    }

    fn on_unsub(&mut self, subject: &[u8], queue: Option<&[u8]>) {
        crate::delivery::fanout::remote_unsub(
            &self.srv,
            &self.shared,
            &crate::leafs::key_of(subject, queue),
        );
    }

    /// Go's `handleLeafNodeLoop`: the account's loop detection subject came
    /// back.
    pub(super) fn loop_detected(&mut self, acc: &str) -> Step {
        let text = format!(
            "Loop detected for leafnode account={acc:?}. Delaying attempt to reconnect for 30s"
        );
        if let Some((r, _)) = &self.remote {
            r.delay_ms
                .store(super::LOOP_DELAY.as_millis() as u64, Ordering::Relaxed);
        }
        self.refuse(&text, ClosedReason::ProtocolViolation)
    }

    fn on_msg(&mut self, link: &Arc<LeafLink>, m: &RouteMsg<'_>) {
        self.in_msgs += 1;
        self.in_bytes += m.payload.len() as u64;
        let acc = link.acc.clone();
        // The account's subject mappings apply to what a leafnode
        // publishes, as to what clients publish.
        let mapped = acc
            .mappings
            .get()
            .filter(|maps| !maps.is_empty())
            .and_then(|maps| {
                let s = std::str::from_utf8(m.subject).ok()?;
                crate::accounts::mapping::select(maps, s, || self.srv.routes.name())
            });
        let subject = mapped.as_deref().map_or(m.subject, str::as_bytes);
        if subject.is_empty() {
            return;
        }
        let msg = Msg {
            subject,
            reply: m.reply,
            header_len: m.header_len.filter(|&h| h > 0),
            payload: m.payload,
        };
        let origin = Origin::Leaf {
            queues: m.queues,
            from: self.shared.cid,
            spoke: link.spoke(),
            cluster: self.shared.remote_cluster().as_bytes(),
        };
        if m.reply
            .is_some_and(|r| crate::delivery::fanout::js_ack_deliver_split(r).is_some())
        {
            self.fan.route_remote(&acc, &msg, origin);
        } else {
            self.fan.publish_from(&acc, &msg, origin);
        }
    }

    fn flush_stats(&mut self) {
        self.fan
            .count_in(&self.shared, &mut self.in_msgs, &mut self.in_bytes);
        self.fan.flush_stats();
    }
}

fn trace_in(shared: &ClientShared, op: &RouteOp<'_>) {
    if let Some(line) = crate::route::conn::trace_line(op, true) {
        crate::trace!("{} - <<- [{line}]", shared.log_prefix);
    }
}
