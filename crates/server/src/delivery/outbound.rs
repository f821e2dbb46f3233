//! The shared half of a connection: its outbound buffer and message
//! delivery into it. How the buffer reaches the socket is [`crate::delivery::writer`].
//!
//! Publishers append encoded messages to a receiver's buffer under a short
//! lock and note the receiver in their own "to flush" list; when a publisher
//! has processed a whole read, it flushes each receiver on that list once.

use crate::delivery::closed::ClosedReason;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// Bytes queued for a client and the state of its writer.
#[derive(Debug, Default)]
pub struct Outbound {
    /// Encoded protocol waiting to be written.
    pub buf: Vec<u8>,
    /// Bytes being written; `wbuf[wpos..]` is not on the socket yet.
    pub wbuf: Vec<u8>,
    /// Write position in `wbuf`.
    pub wpos: usize,
    /// Bytes of the buffer the role holder took that are not on the socket
    /// yet (`wbuf` itself is empty while it writes).
    pub inflight: usize,
    /// Websocket control frames (pong, close) waiting to be written.
    pub ctrl: Vec<u8>,
    /// Someone (a publisher flushing in place, or the writer task) holds
    /// the right to write to the socket.
    pub writing: bool,
    /// A publisher has this client on its flush list.
    pub signaled: bool,
    /// Queued bytes were dropped (slow consumer, write failure): nothing
    /// more is written.
    pub discarded: bool,
    /// Why the connection is closing, once it is.
    pub closed: Option<ClosedReason>,
    /// Messages queued to this client.
    pub out_msgs: u64,
    /// Payload bytes queued to this client.
    pub out_bytes: u64,
}

/// One subscription of a client.
#[derive(Debug)]
pub struct Subscription {
    /// The subscribing connection.
    pub client: Arc<ClientShared>,
    /// Subject (may contain wildcards).
    pub subject: Box<[u8]>,
    /// Queue group.
    pub queue: Option<Box<[u8]>>,
    /// The client's subscription id.
    pub sid: Box<[u8]>,
    /// Auto-unsubscribe limit (0: none).
    pub max: AtomicU64,
    /// Messages delivered so far.
    pub delivered: AtomicU64,
    /// The account whose sublist holds this subscription.
    pub acc: Arc<crate::accounts::Account>,
    /// For a route's queue subscription: how many members the group has on
    /// that server (1 for local subscriptions).
    pub qw: AtomicU32,
    /// For a wildcard subscription overlapping the client's subscribe deny
    /// list: messages on denied subjects are not delivered.
    pub deny: Option<Arc<crate::auth::perms::PermList>>,
    /// The leafnode cluster the interest comes from: a leafnode's
    /// subscription, or a route's on behalf of one (`LS+`).
    pub origin: Option<Box<[u8]>>,
}

/// A subscription handle as stored in the sublist: equal by identity.
#[derive(Debug, Clone)]
pub struct SubRef(pub Arc<Subscription>);

impl PartialEq for SubRef {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Outbound {
    /// Bytes queued and not yet written.
    pub fn pending(&self) -> usize {
        self.buf.len() + self.wbuf.len().saturating_sub(self.wpos) + self.inflight
    }
}

/// What a client told about itself, and timing facts, for monitoring.
#[derive(Debug, Clone, Default)]
pub struct ClientMeta {
    /// Name from CONNECT.
    pub name: String,
    /// Library language from CONNECT.
    pub lang: String,
    /// Library version from CONNECT.
    pub version: String,
    /// Authenticated user (never the password).
    pub user: String,
    /// Account of the client (`$G` unless its user says otherwise).
    pub account: String,
    /// A JWT user's issue time (unix seconds), for revocations.
    pub jwt_issued_at: Option<i64>,
    /// The user's permissions as nats-server shows them (`USER.INFO`).
    pub permissions: Option<serde_json::Value>,
    /// Last measured round trip (server PING to client PONG).
    pub rtt: Option<Duration>,
    /// Last time the client sent anything.
    pub last_activity: Option<chrono::DateTime<chrono::Utc>>,
}

/// Connection facts other tasks need: identity, flags, outbound queue.
#[derive(Debug)]
pub struct ClientShared {
    /// Connection id.
    pub cid: u64,
    /// The socket, shared by the reader, the writer task and publishers
    /// that flush in place (`None` for an internal client, whose queued
    /// messages go to handlers in the server).
    pub sock: Option<Arc<TcpStream>>,
    /// A websocket client: outbound bytes are framed (`Some(true)`: and
    /// deflated).
    pub ws_compress: Option<bool>,
    /// The TLS session, once the client started TLS.
    pub tls: OnceLock<Box<crate::transport::tls::Session>>,
    /// Outbound queue.
    pub out: Mutex<Outbound>,
    /// Wakes the writer.
    pub wake: Notify,
    /// Signalled whenever bytes leave the queue for the socket.
    pub drained: Notify,
    /// Bytes written to the socket so far: publishers that pause for this
    /// receiver tell a slow reader (this grows) from a stuck one.
    pub written: AtomicU64,
    /// The receiver took no bytes during a whole publisher stall:
    /// publishers stop pausing for it (it reaches max_pending and is
    /// closed) until it takes bytes again.
    pub stuck: AtomicBool,
    /// Publisher pauses in a row during which the receiver took no byte:
    /// a receiver short of CPU for one pause is not stuck yet.
    pub idle_stalls: AtomicU32,
    /// Cancelled when the connection must close.
    pub close: CancellationToken,
    /// CONNECT said `echo` (deliver own messages back).
    pub echo: AtomicBool,
    /// CONNECT said `headers`.
    pub headers: AtomicBool,
    /// Protocol trace for this connection.
    pub trace: AtomicBool,
    /// The client takes asynchronous INFO updates (protocol >= 1, and the
    /// server has answered its first PING).
    pub async_info: AtomicBool,
    /// Most bytes that may wait in `out`.
    pub max_pending: usize,
    /// Subscriptions by sid.
    pub subs: Mutex<HashMap<Box<[u8]>, Arc<Subscription>>>,
    /// Messages received from this client.
    pub in_msgs: AtomicU64,
    /// Payload bytes received from this client.
    pub in_bytes: AtomicU64,
    /// A route to another server of the cluster (not a client).
    pub is_route: bool,
    /// A route pinned to one account: its lines carry no account.
    pub route_pinned: AtomicBool,
    /// A leafnode connection (not a client).
    pub is_leaf: bool,
    /// On a leafnode connection: this server is its spoke (it dialed a
    /// remote that is not marked `hub`, or the other side said it is the
    /// hub).
    pub leaf_spoke: AtomicBool,
    /// On a leafnode connection: the cluster of the server at the other
    /// end (empty when it has none).
    pub leaf_cluster: OnceLock<Box<str>>,
    /// `ip:port - cid:N` prefix for log lines.
    pub log_prefix: String,
    /// Client-declared facts and timings, for monitoring.
    pub meta: Mutex<ClientMeta>,
    /// Nonce sent in INFO for nkey authentication (empty when none).
    pub nonce: String,
    /// The client has `allow_responses`: reply subjects of requests
    /// delivered to it are recorded in `replies`.
    pub tracks_replies: AtomicBool,
    /// Requests this client may answer (with `allow_responses`).
    pub replies: Mutex<crate::auth::perms::Replies>,
    /// `allow_responses` expiry, for pruning `replies`.
    pub replies_ttl: Mutex<Option<Duration>>,
}

impl ClientShared {
    /// A new connection's shared state.
    pub fn new(
        cid: u64,
        sock: Option<Arc<TcpStream>>,
        max_pending: usize,
        log_prefix: String,
    ) -> Self {
        ClientShared {
            cid,
            sock,
            ws_compress: None,
            tls: OnceLock::new(),
            out: Mutex::new(Outbound::default()),
            wake: Notify::new(),
            drained: Notify::new(),
            written: AtomicU64::new(0),
            stuck: AtomicBool::new(false),
            idle_stalls: AtomicU32::new(0),
            close: CancellationToken::new(),
            echo: AtomicBool::new(true),
            headers: AtomicBool::new(false),
            trace: AtomicBool::new(false),
            async_info: AtomicBool::new(false),
            max_pending,
            subs: Mutex::new(HashMap::new()),
            in_msgs: AtomicU64::new(0),
            in_bytes: AtomicU64::new(0),
            log_prefix,
            is_route: false,
            route_pinned: AtomicBool::new(false),
            is_leaf: false,
            leaf_spoke: AtomicBool::new(false),
            leaf_cluster: OnceLock::new(),
            meta: Mutex::new(ClientMeta::default()),
            nonce: String::new(),
            tracks_replies: AtomicBool::new(false),
            replies: Mutex::new(crate::auth::perms::Replies::default()),
            replies_ttl: Mutex::new(None),
        }
    }

    /// Appends protocol bytes (INFO, PONG, +OK, -ERR) and wakes the writer.
    pub fn send_now(&self, bytes: &[u8]) {
        {
            let mut out = self.out.lock();
            if out.closed.is_some() {
                return;
            }
            out.buf.extend_from_slice(bytes);
        }
        self.wake.notify_one();
    }

    /// Marks the connection closed for `reason` (first reason wins) and
    /// wakes everything so it winds down; queued bytes are still flushed
    /// unless `discard` is set.
    pub fn mark_closed(&self, reason: ClosedReason, discard: bool) {
        {
            let mut out = self.out.lock();
            if out.closed.is_none() {
                out.closed = Some(reason);
            }
            if discard {
                out.buf = Vec::new();
                out.wbuf = Vec::new();
                out.wpos = 0;
                out.inflight = 0;
                out.discarded = true;
            }
        }
        self.close.cancel();
        self.wake.notify_one();
    }

    /// The remote cluster of a leafnode connection ("" if none).
    pub fn remote_cluster(&self) -> &str {
        self.leaf_cluster.get().map(|c| &**c).unwrap_or("")
    }

    /// A leafnode connection for which this server is the hub.
    pub fn is_hub_leaf(&self) -> bool {
        self.is_leaf && !self.leaf_spoke.load(Ordering::Relaxed)
    }

    /// The reason the connection closed, if it did.
    pub fn closed_reason(&self) -> Option<ClosedReason> {
        self.out.lock().closed
    }
}

/// A message being routed.
#[derive(Debug, Clone, Copy)]
pub struct Msg<'a> {
    /// Subject.
    pub subject: &'a [u8],
    /// Reply subject.
    pub reply: Option<&'a [u8]>,
    /// Header block length at the start of `payload`.
    pub header_len: Option<usize>,
    /// Headers and body.
    pub payload: &'a [u8],
}

/// What a delivery attempt did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Queued for the receiver.
    Delivered {
        /// The subscription reached its auto-unsubscribe limit.
        last: bool,
        /// The receiver's queue is over half of max_pending: the publisher
        /// should pause briefly before reading more.
        stall: bool,
    },
    /// Not delivered (echo off, limit passed, receiver closed).
    Skipped,
    /// The receiver became a slow consumer and is being closed.
    SlowConsumer,
}

/// Queues `msg` for `sub`'s client. `flush` collects receivers whose writer
/// must be woken once the publisher's batch is done.
pub fn deliver(
    sub: &Subscription,
    publisher: u64,
    publisher_echo: bool,
    msg: &Msg<'_>,
    flush: &mut Vec<Arc<ClientShared>>,
) -> Delivery {
    let dst = &sub.client;
    if dst.cid == publisher && !publisher_echo {
        return Delivery::Skipped;
    }
    if sub.deny.as_ref().is_some_and(|d| d.matches(msg.subject)) {
        return Delivery::Skipped;
    }
    let max = sub.max.load(Ordering::Relaxed);
    let mut last = false;
    if max > 0 {
        let n = sub.delivered.fetch_add(1, Ordering::AcqRel) + 1;
        if n > max {
            return Delivery::Skipped;
        }
        last = n == max;
    } else {
        sub.delivered.fetch_add(1, Ordering::Relaxed);
    }
    let (header_len, payload) = match msg.header_len {
        Some(h) if !dst.headers.load(Ordering::Relaxed) => (None, &msg.payload[h..]),
        other => (other, msg.payload),
    };
    if let Some(reply) = msg.reply {
        if dst.tracks_replies.load(Ordering::Relaxed) {
            let ttl = *dst.replies_ttl.lock();
            dst.replies.lock().note(reply, ttl);
        }
    }
    let mut out = dst.out.lock();
    if out.closed.is_some() {
        return Delivery::Skipped;
    }
    let need = payload.len() + msg.subject.len() + sub.sid.len() + 32;
    if out.pending() + need > dst.max_pending {
        return slow_consumer(dst, out);
    }
    if dst.sock.is_none() {
        // An internal client also learns who published (`sid:cid`).
        let mut sid = sub.sid.to_vec();
        sid.push(b':');
        sid.extend_from_slice(publisher.to_string().as_bytes());
        proto::encode::msg(
            &mut out.buf,
            msg.subject,
            &sid,
            msg.reply,
            header_len,
            payload,
        );
    } else {
        proto::encode::msg(
            &mut out.buf,
            msg.subject,
            &sub.sid,
            msg.reply,
            header_len,
            payload,
        );
    }
    let stall = queued(dst, out, payload.len(), flush);
    if dst.trace.load(Ordering::Relaxed) {
        crate::trace!(
            "{} - ->> [{} {} {}{} {}]",
            dst.log_prefix,
            if header_len.is_some() { "HMSG" } else { "MSG" },
            String::from_utf8_lossy(msg.subject),
            String::from_utf8_lossy(&sub.sid),
            msg.reply
                .map(|r| format!(" {}", String::from_utf8_lossy(r)))
                .unwrap_or_default(),
            payload.len()
        );
    }
    Delivery::Delivered { last, stall }
}

/// Counts a message just encoded into `dst`'s queue and puts `dst` on the
/// publisher's flush list; true when the publisher should stall for it.
fn queued(
    dst: &Arc<ClientShared>,
    mut out: parking_lot::MutexGuard<'_, Outbound>,
    payload_len: usize,
    flush: &mut Vec<Arc<ClientShared>>,
) -> bool {
    out.out_msgs += 1;
    out.out_bytes += payload_len as u64;
    let stall = out.pending() > stall_threshold(dst.max_pending);
    if !out.signaled {
        out.signaled = true;
        flush.push(dst.clone());
    }
    stall
}

/// Closes `dst` as a slow consumer: its queue is dropped.
fn slow_consumer(dst: &ClientShared, mut out: parking_lot::MutexGuard<'_, Outbound>) -> Delivery {
    out.closed = Some(ClosedReason::SlowConsumerPendingBytes);
    out.buf = Vec::new();
    out.wbuf = Vec::new();
    out.wpos = 0;
    out.inflight = 0;
    out.discarded = true;
    drop(out);
    dst.close.cancel();
    dst.wake.notify_one();
    Delivery::SlowConsumer
}

/// Queues `msg` for a route as `RMSG`/`HMSG` in `account` (`LMSG` with
/// the leafnode cluster `origin` it came from, when there is one), or for a
/// leafnode as `LMSG`/`HMSG`, asking the remote server to serve the
/// space-separated `queues`.
pub fn deliver_route(
    dst: &Arc<ClientShared>,
    account: &[u8],
    msg: &Msg<'_>,
    queues: &[u8],
    origin: &[u8],
    flush: &mut Vec<Arc<ClientShared>>,
) -> Delivery {
    let (header_len, payload) = match msg.header_len {
        Some(h) if !dst.headers.load(Ordering::Relaxed) => (None, &msg.payload[h..]),
        other => (other, msg.payload),
    };
    let mut out = dst.out.lock();
    if out.closed.is_some() {
        return Delivery::Skipped;
    }
    let account = if dst.is_leaf || dst.route_pinned.load(Ordering::Relaxed) {
        &b""[..]
    } else {
        account
    };
    // Routes are not closed for pending bytes (as nats-server): the
    // publisher stalls, and the write deadline still applies.
    if dst.is_leaf {
        proto::route::leaf_msg(
            &mut out.buf,
            msg.subject,
            msg.reply,
            queues,
            header_len,
            payload,
        );
    } else if !origin.is_empty() {
        proto::route::leaf_origin_msg(
            &mut out.buf,
            origin,
            account,
            msg.subject,
            msg.reply,
            queues,
            header_len,
            payload,
        );
    } else {
        proto::route::msg(
            &mut out.buf,
            account,
            msg.subject,
            msg.reply,
            queues,
            header_len,
            payload,
        );
    }
    let stall = queued(dst, out, payload.len(), flush);
    if dst.trace.load(Ordering::Relaxed) {
        crate::trace!(
            "{} - ->> [{} {}{}{}{} {}]",
            dst.log_prefix,
            if header_len.is_some() {
                "HMSG"
            } else if dst.is_leaf {
                "LMSG"
            } else {
                "RMSG"
            },
            if account.is_empty() {
                String::new()
            } else {
                format!("{} ", String::from_utf8_lossy(account))
            },
            String::from_utf8_lossy(msg.subject),
            msg.reply
                .map(|r| format!(" {}", String::from_utf8_lossy(r)))
                .unwrap_or_default(),
            if queues.is_empty() {
                String::new()
            } else {
                format!(" {}", String::from_utf8_lossy(queues))
            },
            payload.len()
        );
    }
    Delivery::Delivered { last: false, stall }
}

/// Queue size past which a publisher pauses for its receiver: half of
/// max_pending, at most 8 MiB, so a fast pair does not fill memory.
fn stall_threshold(max_pending: usize) -> usize {
    (max_pending / 2).min(8 << 20)
}

/// Publisher pauses in a row without progress after which a receiver is
/// taken as stuck (about 200 ms of 25 ms pauses).
const STUCK_AFTER: u32 = 8;

/// Pauses a fast publisher while the receivers it filled past the stall
/// threshold drain, for at most `budget` in all. A receiver that keeps
/// taking bytes is waited for however slowly it reads, so a fast publisher
/// is held to its pace; one that took no byte during `STUCK_AFTER` whole
/// pauses in a row is marked stuck and not waited for again until it takes
/// bytes, so it reaches max_pending and is closed without slowing the
/// others.
pub async fn stall(receivers: &mut Vec<Arc<ClientShared>>, budget: Duration) {
    let deadline = tokio::time::Instant::now() + budget;
    let before: Vec<u64> = receivers.iter().map(|r| taken(r)).collect();
    for (r, before) in receivers.drain(..).zip(before) {
        if r.stuck.load(Ordering::Relaxed) {
            continue;
        }
        loop {
            let drained = r.drained.notified();
            tokio::pin!(drained);
            drained.as_mut().enable();
            {
                let out = r.out.lock();
                if out.closed.is_some() || out.pending() <= stall_threshold(r.max_pending) {
                    break;
                }
            }
            if tokio::time::timeout_at(deadline, drained).await.is_err() {
                if taken(&r) != before {
                    r.idle_stalls.store(0, Ordering::Relaxed);
                } else if r.idle_stalls.fetch_add(1, Ordering::Relaxed) + 1 >= STUCK_AFTER {
                    r.stuck.store(true, Ordering::Relaxed);
                }
                break;
            }
        }
    }
}

/// Bytes the receiver's side has taken so far: what was written to the
/// socket less what still waits in the kernel's send queue. It grows
/// while the peer reads, even between two writes: the kernel wakes a
/// blocked writer only once a good part of its send buffer is free, which
/// for a slow reader can take longer than a publisher's pause.
fn taken(c: &ClientShared) -> u64 {
    c.written
        .load(Ordering::Acquire)
        .wrapping_sub(crate::delivery::writer::unsent(c))
}

/// Records that `n` bytes of a taken buffer reached the socket and
/// `left` remain: wakes publishers paused for this receiver.
pub fn progressed(c: &ClientShared, n: usize, left: usize) {
    if n == 0 {
        return;
    }
    c.out.lock().inflight = left;
    c.written.fetch_add(n as u64, Ordering::Release);
    c.stuck.store(false, Ordering::Relaxed);
    c.idle_stalls.store(0, Ordering::Relaxed);
    c.drained.notify_waiters();
}
