//! One route connection: its read loop, the handshake's first steps (the
//! dialer's `CONNECT`, the `INFO` each side sends), remote interest
//! (`RS+`/`RS-`) kept in the account sublists as subscriptions of the
//! route, routed messages delivered to local subscribers, and the first
//! `PONG` that dials a pool's next connection. `CONNECT`/`INFO` handling
//! and registration are in `info.rs`.

use super::{Link, LinkState, RouteUrl};
use crate::config::options::Options;
use crate::config::types::Permissions;
use crate::delivery::closed::ClosedReason;
use crate::delivery::fanout::{Fanout, Origin};
use crate::delivery::outbound::{ClientShared, Msg};
use crate::delivery::writer;
use crate::server::Server;
use parking_lot::Mutex;
use proto::{RouteConnect, RouteMsg, RouteOp, RouteParsed, RouteParser};
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;

/// First PING on a new route.
const FIRST_PING: Duration = Duration::from_secs(1);
/// Read buffer size.
const READ_SIZE: usize = 64 * 1024;

/// How a route connection ended, for the dialing loop.
#[derive(Debug, Default)]
pub struct RouteEnd {
    /// The remote server's id, once known.
    pub remote_id: Option<String>,
    /// The connection was registered as the route to that server.
    pub registered: bool,
    /// The connection reached this server itself.
    pub to_self: bool,
    /// Not to be dialed again (a full pool, an impossible pinned route).
    pub no_reconnect: bool,
}

type Step = Result<(), ClosedReason>;

pub(super) struct RouteConn {
    pub(super) srv: Arc<Server>,
    pub(super) opts: Arc<Options>,
    pub(super) shared: Arc<ClientShared>,
    pub(super) sock: Arc<tokio::net::TcpStream>,
    pub(super) link: Arc<Link>,
    pub(super) parser: RouteParser,
    pub(super) fan: Fanout,
    /// Permissions on what this server imports and exports.
    pub(super) perms: Option<crate::auth::perms::ClientPerms>,
    pub(super) got_connect: bool,
    pub(super) got_info: bool,
    /// This side dialed a pool connection and sends its INFO once it has
    /// registered it (with the slot it took).
    pub(super) info_delayed: bool,
    /// The account a pinned connection carries.
    pub(super) pinned: Option<String>,
    pub(super) to_self: bool,
    pub(super) pings_out: u32,
    pub(super) ping_sent: Option<std::time::Instant>,
    pub(super) in_msgs: u64,
    pub(super) in_bytes: u64,
}

/// Serves one route connection until it closes. `url` is set when this
/// server dialed it; `account` when it dialed a pinned connection.
pub async fn run(
    srv: Arc<Server>,
    stream: TcpStream,
    addr: SocketAddr,
    url: Option<RouteUrl>,
    account: Option<String>,
) -> RouteEnd {
    let _ = stream.set_nodelay(true);
    let opts = srv.opts();
    let cid = srv.next_cid();
    let prefix = format!("{addr} - rid:{cid}");
    let sock = Arc::new(stream);
    let mut shared = ClientShared::new(cid, Some(sock.clone()), opts.max_pending, prefix);
    shared.is_route = true;
    shared.headers.store(true, Ordering::Relaxed);
    // TLS routes start with the handshake (as nats-server).
    if let Some(t) = srv.routes.tls.get() {
        let session = match &url {
            Some(u) => crate::transport::tls::Session::client(t.client.clone(), &u.host),
            None => crate::transport::tls::Session::new(t.server.clone()),
        };
        match session {
            Ok(s) => {
                let _ = shared.tls.set(Box::new(s));
            }
            Err(e) => {
                crate::error!("{} - TLS route setup error: {e}", shared.log_prefix);
                return RouteEnd::default();
            }
        }
    }
    let shared = Arc::new(shared);
    shared.trace.store(opts.trace, Ordering::Relaxed);
    let writer = tokio::spawn(writer::writer(shared.clone(), opts.write_deadline));
    let solicited = url.is_some();
    let link = Arc::new(Link {
        shared: shared.clone(),
        addr,
        start: chrono::Utc::now(),
        solicited,
        state: Mutex::new(LinkState {
            url: url.clone(),
            account: account.clone(),
            ..Default::default()
        }),
    });
    srv.routes.add_link(&link);
    let perms = opts.cluster.permissions.as_ref().and_then(|p| {
        crate::auth::perms::ClientPerms::new(&Permissions {
            publish: p.import.clone(),
            subscribe: p.export.clone(),
            response: None,
        })
    });
    let mut c = RouteConn {
        // No control line limit between servers, as nats-server.
        parser: RouteParser::new(usize::MAX / 2),
        fan: Fanout::new(srv.clone()),
        srv: srv.clone(),
        opts: opts.clone(),
        shared: shared.clone(),
        sock,
        link: link.clone(),
        perms,
        got_connect: solicited,
        got_info: false,
        info_delayed: solicited && account.is_none() && srv.routes.pool_size() > 0,
        pinned: account.clone(),
        to_self: false,
        pings_out: 0,
        ping_sent: None,
        in_msgs: 0,
        in_bytes: 0,
    };
    if let Some(u) = &url {
        let connect = RouteConnect {
            echo: true,
            user: u.user.clone(),
            pass: u.pass.clone(),
            headers: true,
            name: srv.id.clone(),
            cluster: srv.routes.name(),
            cluster_dynamic: srv.routes.dynamic(),
            lnoc: true,
            ..Default::default()
        };
        let json = serde_json::to_vec(&connect).unwrap_or_default();
        let mut b = b"CONNECT ".to_vec();
        b.extend_from_slice(&json);
        b.extend_from_slice(b"\r\n");
        c.send(&b);
    }
    if account.is_some() {
        c.parser.set_pinned(true);
    }
    if !c.info_delayed {
        c.send_info(account.as_deref(), 0);
    }
    crate::info!("{} - Route connection created", shared.log_prefix);
    let reason = c.read_loop().await;
    writer::flush_all(&mut c.fan.flush);
    c.flush_stats();
    shared.mark_closed(reason, false);
    let reason = shared.closed_reason().unwrap_or(reason);
    let _ = writer.await;
    let urls_changed = srv.routes.remove_link(&link);
    // Forget the remote's interest.
    srv.drop_subs(&shared);
    if urls_changed && !opts.cluster.no_advertise {
        srv.send_async_info();
    }
    crate::info!(
        "{} - Router connection closed: {}",
        shared.log_prefix,
        reason.as_str()
    );
    let st = link.state.lock().clone();
    // A kept route whose duplicate was refused may have been dropped by the
    // other side: dial it again (nats-server's retry).
    if st.registered && !solicited && !srv.shutdown.is_cancelled() {
        if let Some(u) = st.upgraded.clone() {
            // This server dials that one too: dial this connection again.
            if srv.routes.pool_size() > 0 {
                let explicit = super::configured(&srv, &u);
                match st.account.clone() {
                    Some(a) => super::solicit(srv.clone(), u, explicit, Some(a)),
                    None => super::solicit_next(srv.clone(), u, explicit),
                }
            } else if st.retry && !super::configured(&srv, &u) {
                super::solicit(srv.clone(), u, false, None);
            }
        } else if let Some(u) = st
            .url
            .clone()
            .filter(|u| st.retry && !super::configured(&srv, u))
        {
            super::solicit(srv.clone(), u, false, st.account.clone());
        }
    }
    RouteEnd {
        remote_id: (!st.remote_id.is_empty()).then_some(st.remote_id),
        registered: st.registered,
        to_self: c.to_self,
        no_reconnect: st.no_reconnect,
    }
}

impl RouteConn {
    /// Sends this server's first route INFO (for a pinned connection, or
    /// with the pool slot this side took).
    pub(super) fn send_info(&mut self, account: Option<&str>, pool_idx: usize) {
        let mut info = self.srv.routes.info(&self.srv);
        info.nonce = crate::auth::nonce();
        info.route_account = account.unwrap_or_default().to_string();
        info.route_pool_idx = pool_idx as i32;
        let mut b = Vec::new();
        proto::encode::info(&mut b, &serde_json::to_vec(&info).unwrap_or_default());
        self.send(&b);
    }

    /// The account of a received line: its own, or the pinned one.
    fn account<'b>(&'b self, named: &'b [u8]) -> &'b [u8] {
        match (&self.pinned, named.is_empty()) {
            (Some(a), true) => a.as_bytes(),
            _ => named,
        }
    }

    fn tls_established(&self) -> bool {
        self.shared.tls.get().is_some_and(|t| t.established())
    }

    pub(super) fn send(&mut self, bytes: &[u8]) {
        super::trace_out(&self.shared, bytes);
        self.shared.send_now(bytes);
    }

    pub(super) fn send_err(&mut self, text: &str) {
        let mut b = Vec::new();
        proto::encode::err(&mut b, text);
        self.send(&b);
    }

    async fn read_loop(&mut self) -> ClosedReason {
        let sock = self.sock.clone();
        let mut buf: Vec<u8> = Vec::with_capacity(READ_SIZE);
        // TLS: records are read into `raw` and decrypted into `buf`.
        let tls = self.shared.tls.get().is_some();
        let mut raw: Vec<u8> = Vec::new();
        let tls_deadline = self
            .srv
            .routes
            .tls
            .get()
            .map(|t| tokio::time::Instant::now() + t.timeout);
        let mut pin_checked = false;
        if tls {
            // A dialing side sends its ClientHello now.
            writer::flush_in_place(&self.shared);
        }
        let close = self.shared.close.clone();
        let auth_deadline =
            (!self.link.solicited && self.opts.cluster.username.is_some()).then(|| {
                let secs = if self.opts.cluster.auth_timeout > 0.0 {
                    self.opts.cluster.auth_timeout
                } else {
                    2.0
                };
                tokio::time::Instant::now() + Duration::from_secs_f64(secs)
            });
        let mut next_ping = tokio::time::Instant::now() + FIRST_PING;
        loop {
            let need = self.parser.pending_need();
            if need > buf.len() {
                buf.reserve(need - buf.len());
            } else if buf.capacity() - buf.len() < READ_SIZE / 2 {
                buf.reserve(READ_SIZE);
            }
            if tls && raw.capacity() - raw.len() < READ_SIZE / 2 {
                raw.reserve(READ_SIZE);
            }
            tokio::select! {
                biased;
                _ = close.cancelled() => {
                    return self.shared.closed_reason().unwrap_or(ClosedReason::ServerShutdown);
                }
                r = crate::client::read_some(&sock, if tls { &mut raw } else { &mut buf }) => {
                    match r {
                        Ok(0) => return ClosedReason::ClientClosed,
                        Ok(_) => {
                            if let Some(t) = self.shared.tls.get() {
                                let res = t.decrypt(&mut raw, &mut buf);
                                if t.wants_write() {
                                    writer::flush_in_place(&self.shared);
                                }
                                if let Err(e) = res {
                                    crate::error!("{} - TLS route handshake error: {e}", self.shared.log_prefix);
                                    return ClosedReason::TlsHandshakeError;
                                }
                                if !pin_checked && t.established() {
                                    pin_checked = true;
                                    let pinned = self.opts.cluster.tls.as_ref().map(|o| o.pinned_certs.as_slice());
                                    if let Err(id) = t.check_pinned(pinned.unwrap_or_default()) {
                                        crate::error!("{} - TLS route handshake error: certificate not pinned: {id}", self.shared.log_prefix);
                                        return ClosedReason::TlsHandshakeError;
                                    }
                                }
                            }
                            self.shared.meta.lock().last_activity = Some(chrono::Utc::now());
                            let res = self.process(&mut buf);
                            writer::flush_all(&mut self.fan.flush);
                            self.flush_stats();
                            if let Err(reason) = res {
                                return reason;
                            }
                            if self.shared.tls.get().is_some_and(|t| t.peer_closed()) {
                                return ClosedReason::ClientClosed;
                            }
                            if !self.fan.stalled.is_empty() {
                                crate::delivery::outbound::stall(&mut self.fan.stalled, Duration::from_millis(25)).await;
                            }
                        }
                        Err(_) => return ClosedReason::ReadError,
                    }
                }
                _ = tokio::time::sleep_until(next_ping) => {
                    next_ping = tokio::time::Instant::now() + self.opts.ping_interval;
                    if self.pings_out + 1 > self.opts.ping_max {
                        crate::debug!("{} - Stale Client Connection - Closing", self.shared.log_prefix);
                        self.srv.stats.stale_routes.fetch_add(1, Ordering::Relaxed);
                        return ClosedReason::StaleConnection;
                    }
                    self.pings_out += 1;
                    self.ping_sent = Some(std::time::Instant::now());
                    self.send(proto::encode::PING);
                }
                _ = crate::client::sleep_until_opt(tls_deadline), if tls && !self.tls_established() => {
                    crate::error!("{} - TLS route handshake timeout", self.shared.log_prefix);
                    return ClosedReason::TlsHandshakeError;
                }
                _ = crate::client::sleep_until_opt(auth_deadline), if !self.got_connect => {
                    crate::error!("{} - Authentication Timeout", self.shared.log_prefix);
                    self.send_err("Authentication Timeout");
                    return ClosedReason::AuthenticationTimeout;
                }
            }
        }
    }

    fn process(&mut self, buf: &mut Vec<u8>) -> Step {
        // Op by op: an INFO may pin the parser for the ops after it.
        let mut off = 0;
        let res = loop {
            match self.parser.parse(&buf[off..]) {
                Ok(RouteParsed::Op(op, n)) => {
                    if let Err(e) = self.handle(op) {
                        break Err(e);
                    }
                    off += n;
                }
                Ok(RouteParsed::Incomplete) => break Ok(()),
                Err(e) => {
                    crate::error!("{} - {e}", self.shared.log_prefix);
                    break Err(ClosedReason::ParseError);
                }
            }
        };
        buf.drain(..off);
        res
    }

    fn handle(&mut self, op: RouteOp<'_>) -> Step {
        if self.shared.trace.load(Ordering::Relaxed) {
            self.trace_in(&op);
        }
        if !self.got_connect && !matches!(op, RouteOp::Connect(_)) {
            crate::error!("{} - Authorization Error", self.shared.log_prefix);
            self.send_err("Authorization Violation");
            return Err(ClosedReason::AuthenticationViolation);
        }
        match op {
            RouteOp::Connect(json) => self.on_connect(json),
            RouteOp::Info(json) => self.on_info(json),
            RouteOp::Ping => {
                self.send(proto::encode::PONG);
                Ok(())
            }
            RouteOp::Pong => {
                self.pings_out = 0;
                if let Some(t) = self.ping_sent.take() {
                    self.shared.meta.lock().rtt = Some(t.elapsed());
                }
                let next = {
                    let mut st = self.link.state.lock();
                    std::mem::take(&mut st.start_next)
                        .then(|| st.url.clone())
                        .flatten()
                };
                if let Some(url) = next {
                    // The pool is not full: dial its next connection.
                    let explicit = super::configured(&self.srv, &url);
                    super::solicit_next(self.srv.clone(), url, explicit);
                }
                Ok(())
            }
            RouteOp::Ok | RouteOp::Ignored => Ok(()),
            RouteOp::Err(text) => {
                crate::error!(
                    "{} - Route Error {}",
                    self.shared.log_prefix,
                    String::from_utf8_lossy(text)
                );
                Err(ClosedReason::ParseError)
            }
            RouteOp::Sub {
                origin,
                account,
                subject,
                queue,
            } => {
                let account = self.account(account).to_vec();
                self.on_sub(origin, &account, subject, queue);
                Ok(())
            }
            RouteOp::Unsub {
                origin,
                account,
                subject,
                queue,
            } => {
                let account = self.account(account).to_vec();
                self.on_unsub(origin, &account, subject, queue);
                Ok(())
            }
            RouteOp::Msg(m) => {
                self.on_msg(&m);
                Ok(())
            }
        }
    }

    fn on_sub(
        &mut self,
        origin: &[u8],
        account: &[u8],
        subject: &[u8],
        queue: Option<(&[u8], u32)>,
    ) {
        let Some(acc) = self.srv.accounts.lookup(account) else {
            // nats-server's internal system account has no users here.
            if account != b"$SYS" {
                crate::error!(
                    "{} - Unknown account {:?} for remote subject {:?}",
                    self.shared.log_prefix,
                    String::from_utf8_lossy(account),
                    String::from_utf8_lossy(subject)
                );
            }
            return;
        };
        if self
            .perms
            .as_ref()
            .is_some_and(|p| !p.can_subscribe(subject, None))
        {
            crate::debug!(
                "{} - Can not export {:?}, ignoring remote subscription request",
                self.shared.log_prefix,
                String::from_utf8_lossy(subject)
            );
            return;
        }
        let key = sub_key(origin, account, subject, queue.map(|q| q.0));
        let srv = self.srv.clone();
        if !crate::delivery::fanout::remote_sub(
            &srv,
            &self.shared,
            &acc,
            key,
            subject,
            queue,
            origin,
            None,
        ) {
            crate::error!(
                "{} - Could not insert subscription: invalid subject",
                self.shared.log_prefix
            );
            self.send_err("Invalid Subscription");
        }
    }

    fn on_unsub(&mut self, origin: &[u8], account: &[u8], subject: &[u8], queue: Option<&[u8]>) {
        if self.srv.accounts.lookup(account).is_some() {
            let key = sub_key(origin, account, subject, queue);
            crate::delivery::fanout::remote_unsub(&self.srv, &self.shared, &key);
        }
    }

    fn on_msg(&mut self, m: &RouteMsg<'_>) {
        self.in_msgs += 1;
        self.in_bytes += m.payload.len() as u64;
        let account = match (&self.pinned, m.account.is_empty()) {
            (Some(a), true) => a.as_bytes(),
            _ => m.account,
        };
        let Some(acc) = self.srv.accounts.lookup(account) else {
            crate::debug!(
                "{} - Unknown account {:?} for routed message on subject: {:?}",
                self.shared.log_prefix,
                String::from_utf8_lossy(account),
                String::from_utf8_lossy(m.subject)
            );
            return;
        };
        let msg = Msg {
            subject: m.subject,
            reply: m.reply,
            header_len: m.header_len.filter(|&h| h > 0),
            payload: m.payload,
        };
        // A response to a request this server forwarded through a service
        // import: back to the requester's account and reply subject.
        if let Some((to, reply)) = acc.take_response(m.subject) {
            let back = Msg {
                subject: &reply,
                ..msg
            };
            let origin = Origin::Route {
                queues: b"",
                from: self.shared.cid,
                origin: m.origin,
            };
            self.fan.route_in(&to, &back, origin);
            return;
        }
        self.fan.route_remote(
            &acc,
            &msg,
            Origin::Route {
                queues: m.queues,
                from: self.shared.cid,
                origin: m.origin,
            },
        );
    }

    fn flush_stats(&mut self) {
        self.fan
            .count_in(&self.shared, &mut self.in_msgs, &mut self.in_bytes);
        self.fan.flush_stats();
    }

    fn trace_in(&self, op: &RouteOp<'_>) {
        if let Some(line) = trace_line(op, false) {
            crate::trace!("{} - <<- [{line}]", self.shared.log_prefix);
        }
    }
}

/// A received route (or, with `leaf`, leafnode) operation as its trace
/// line shows it; `None` for those not traced.
pub(crate) fn trace_line(op: &RouteOp<'_>, leaf: bool) -> Option<String> {
    let s = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    // Leafnode lines carry no account.
    let acc = |a: &[u8]| {
        if leaf {
            String::new()
        } else {
            format!("{} ", s(a))
        }
    };
    let kind = if leaf { 'L' } else { 'R' };
    Some(match op {
        RouteOp::Connect(j) => format!("CONNECT {}", crate::auth::redact(&s(j))),
        RouteOp::Info(j) => format!("INFO {}", s(j)),
        RouteOp::Ping => "PING".into(),
        RouteOp::Pong => "PONG".into(),
        RouteOp::Ok => "+OK".into(),
        RouteOp::Err(t) => format!("-ERR {}", s(t)),
        RouteOp::Sub {
            account,
            subject,
            queue,
            ..
        } => match queue {
            Some((q, w)) => format!("{kind}S+ {}{} {} {w}", acc(account), s(subject), s(q)),
            None => format!("{kind}S+ {}{}", acc(account), s(subject)),
        },
        RouteOp::Unsub {
            account,
            subject,
            queue,
            ..
        } => match queue {
            Some(q) => format!("{kind}S- {}{} {}", acc(account), s(subject), s(q)),
            None => format!("{kind}S- {}{}", acc(account), s(subject)),
        },
        RouteOp::Msg(m) => format!(
            "{} {}{}{}{} {}",
            if m.header_len.is_some() {
                "HMSG".to_string()
            } else {
                format!("{kind}MSG")
            },
            acc(m.account),
            s(m.subject),
            m.reply.map(|r| format!(" {}", s(r))).unwrap_or_default(),
            if m.queues.is_empty() {
                String::new()
            } else {
                format!(" {}", s(m.queues))
            },
            m.payload.len()
        ),
        RouteOp::Ignored => return None,
    })
}

/// The key a route's subscription is stored under: `account subject
/// [queue]`, after `L origin ` for interest on behalf of a leafnode.
pub(super) fn sub_key(
    origin: &[u8],
    account: &[u8],
    subject: &[u8],
    queue: Option<&[u8]>,
) -> Vec<u8> {
    let mut k = Vec::with_capacity(account.len() + subject.len() + origin.len() + 16);
    if !origin.is_empty() {
        k.extend_from_slice(b"L ");
        k.extend_from_slice(origin);
        k.push(b' ');
    }
    k.extend_from_slice(account);
    k.push(b' ');
    k.extend_from_slice(subject);
    if let Some(q) = queue {
        k.push(b' ');
        k.extend_from_slice(q);
    }
    k
}
