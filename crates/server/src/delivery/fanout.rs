//! Message fan-out: from one inbound message to every interested
//! subscription of an account, across accounts through imports, and to the
//! routes of the cluster. Client connections and route connections each own
//! one [`Fanout`]; it collects the receivers to flush after a read.

use crate::accounts::Account;
use crate::delivery::outbound::{self, ClientShared, Delivery, Msg, Subscription};
use crate::server::Server;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// Where a message came from, which decides where it may go.
#[derive(Debug, Clone, Copy)]
pub enum Origin<'a> {
    /// A client: deliver locally, to routes and to leafnodes with interest.
    Client {
        /// Connection id of the publisher.
        cid: u64,
        /// The publisher wants its own messages back.
        echo: bool,
    },
    /// A route: deliver to local subscribers only (one hop), to local
    /// members of the listed queue groups, and to the leafnodes this server
    /// is the hub of.
    Route {
        /// Space-separated queue groups to serve.
        queues: &'a [u8],
        /// Connection id of the route it came on (never sent back there).
        from: u64,
        /// The leafnode cluster the message came from (`LMSG`), or empty.
        origin: &'a [u8],
    },
    /// A leafnode: deliver locally, to the listed queue groups, to other
    /// leafnodes, and to routes unless this server is its spoke.
    Leaf {
        /// Space-separated queue groups to serve.
        queues: &'a [u8],
        /// Connection id of the leafnode (never sent back there).
        from: u64,
        /// This server is the spoke of that connection.
        spoke: bool,
        /// The cluster of the server at its other end, or empty.
        cluster: &'a [u8],
    },
}

impl Origin<'_> {
    /// The connection a message came from, and whether its publisher wants
    /// it back.
    fn source(&self) -> (u64, bool) {
        match *self {
            Origin::Client { cid, echo } => (cid, echo),
            Origin::Route { from, .. } | Origin::Leaf { from, .. } => (from, true),
        }
    }

    /// The leafnode cluster a message comes from (Go's `leafOrigin`).
    fn leaf_origin(&self) -> &[u8] {
        match *self {
            Origin::Client { .. } => b"",
            Origin::Route { origin, .. } => origin,
            Origin::Leaf { cluster, .. } => cluster,
        }
    }
}

/// Per-connection delivery state.
pub struct Fanout {
    /// The server.
    pub srv: Arc<Server>,
    /// Receivers whose writer must be woken after this batch.
    pub flush: Vec<Arc<ClientShared>>,
    /// Receivers filled past half of their limit: the publisher pauses.
    pub stalled: Vec<Arc<ClientShared>>,
    /// Messages delivered since the last stats flush.
    pub out_msgs: u64,
    /// Payload bytes delivered since the last stats flush.
    pub out_bytes: u64,
    /// Routes to send the current message to, with the queue groups each
    /// should serve (space-separated).
    rts: Vec<(Arc<ClientShared>, Vec<u8>)>,
    /// Scratch for the reply of a JetStream delivery sent to routes.
    reply_buf: Vec<u8>,
}

impl Fanout {
    /// Empty state for a connection of `srv`.
    pub fn new(srv: Arc<Server>) -> Self {
        Fanout {
            srv,
            flush: Vec::new(),
            stalled: Vec::new(),
            out_msgs: 0,
            out_bytes: 0,
            rts: Vec::new(),
            reply_buf: Vec::new(),
        }
    }

    /// Delivers a client's message published in `acc` to every interested
    /// subscription, across accounts through imports; true if anyone got it.
    pub fn publish(&mut self, acc: &Arc<Account>, msg: &Msg<'_>, cid: u64, echo: bool) -> bool {
        self.publish_from(acc, msg, Origin::Client { cid, echo })
    }

    /// [`Fanout::publish`] for a message from `origin` (a client or a
    /// leafnode: both publish into this server's account).
    pub fn publish_from(&mut self, acc: &Arc<Account>, msg: &Msg<'_>, origin: Origin<'_>) -> bool {
        // A response to a request that came in through a service import.
        if let Some((to, reply)) = acc.take_response(msg.subject) {
            let m = Msg {
                subject: &reply,
                ..*msg
            };
            return self.route_in(&to, &m, origin);
        }
        let mut delivered = self.route_in(acc, msg, origin);
        if acc.has_links() {
            delivered |= self.route_links(acc, msg, origin);
        }
        delivered
    }

    /// Stream exports to importing accounts, and service imports to
    /// exporting accounts (with the reply subject rewritten).
    fn route_links(&mut self, acc: &Arc<Account>, msg: &Msg<'_>, origin: Origin<'_>) -> bool {
        let Some(links) = acc.links.get() else {
            return false;
        };
        let mut delivered = false;
        for s in &links.streams_out {
            if !sublist::subject_matches(&s.pattern, msg.subject) {
                continue;
            }
            if let Some(to) = s.to.upgrade() {
                let subject = crate::accounts::stream_subject(s, msg.subject);
                let m = Msg {
                    subject: &subject,
                    ..*msg
                };
                delivered |= self.route_in(&to, &m, origin);
            }
        }
        for si in &links.services {
            if !sublist::subject_matches(&si.local, msg.subject) {
                continue;
            }
            if let Some(target) = si.target.upgrade() {
                let reply = msg.reply.map(|r| target.add_response(acc, r));
                if reply.is_some() {
                    if let Some(w) = target.reply_wildcard_once() {
                        crate::leafs::internal_interest(&self.srv, &target, &w);
                    }
                }
                let subject: &[u8] = if sublist::is_literal(&si.local) {
                    &si.remote
                } else {
                    msg.subject
                };
                let m = Msg {
                    subject,
                    reply: reply.as_deref(),
                    ..*msg
                };
                delivered |= self.route_in(&target, &m, origin);
            }
        }
        delivered
    }

    /// Delivers within one account; true if anyone got the message.
    pub fn route_in(&mut self, acc: &Account, msg: &Msg<'_>, origin: Origin<'_>) -> bool {
        self.route_matching(acc, msg.subject, msg, origin)
    }

    /// Delivers a message that came from a route or a leafnode. A JetStream
    /// delivery from another server (`$JS.ACK…@<subject>` reply) is matched
    /// on its subject and delivered with the subject after the `@`.
    pub fn route_remote(&mut self, acc: &Account, msg: &Msg<'_>, origin: Origin<'_>) -> bool {
        match msg.reply.and_then(js_ack_deliver_split) {
            Some((reply, subject)) if !subject.is_empty() => {
                let m = Msg {
                    subject,
                    reply: Some(reply),
                    ..*msg
                };
                self.route_matching(acc, msg.subject, &m, origin)
            }
            _ => self.route_in(acc, msg, origin),
        }
    }

    /// Delivers `msg` to the subscribers of `to` in one account, with its
    /// own subject (as JetStream delivers stored messages to an inbox).
    pub fn route_matching(
        &mut self,
        acc: &Account,
        to: &[u8],
        msg: &Msg<'_>,
        origin: Origin<'_>,
    ) -> bool {
        let result = acc.sublist.read().match_subject(to);
        if result.is_empty() {
            return false;
        }
        let (cid, echo) = origin.source();
        let leaf_origin = origin.leaf_origin();
        let from_route = matches!(origin, Origin::Route { .. });
        let spoke_src = matches!(origin, Origin::Leaf { spoke: true, .. });
        let mut rts = std::mem::take(&mut self.rts);
        rts.clear();
        let mut delivered = false;
        for sub in &result.psubs {
            let sub = &sub.0;
            let c = &sub.client;
            if c.is_route {
                if !from_route && !spoke_src {
                    add_route_target(&mut rts, c, None);
                }
                continue;
            }
            if c.is_leaf {
                if c.cid != cid
                    && (!from_route || c.is_hub_leaf() || msg.subject.starts_with(b"_R_."))
                    && !same_cluster(c, leaf_origin)
                    && !denied(sub, msg.subject)
                {
                    add_route_target(&mut rts, c, None);
                }
                continue;
            }
            delivered |= self.deliver_one(sub, cid, echo, msg);
        }
        let filter = match origin {
            Origin::Client { .. } => None,
            Origin::Route { queues, .. } | Origin::Leaf { queues, .. } => Some(queues),
        };
        // Routes and leafnodes name the queue groups to serve; none: none.
        if filter.is_none_or(|q| !q.is_empty()) {
            for (name, members) in &result.qsubs {
                if filter.is_some_and(|q| !queue_listed(q, name)) {
                    continue;
                }
                if from_route {
                    delivered |= self.pick_routed(members, name, cid, msg, leaf_origin, &mut rts);
                } else {
                    delivered |= self.pick_member(members, name, origin, msg, &mut rts);
                }
            }
        }
        let origin_cluster: &[u8] = match origin {
            Origin::Leaf { cluster, .. } => cluster,
            _ => b"",
        };
        // A message matched on one subject and delivered with another (a
        // JetStream delivery) crosses routes and leafnodes on the subject it
        // matched, its own subject after an `@` at the end of its reply, as
        // nats-server sends it.
        let mut remote_reply = std::mem::take(&mut self.reply_buf);
        let remote = if to != msg.subject && !rts.is_empty() {
            let reply = match msg.reply {
                Some(r) if js_ack_deliver_split(r).is_none() => {
                    remote_reply.clear();
                    remote_reply.extend_from_slice(r);
                    remote_reply.push(b'@');
                    remote_reply.extend_from_slice(msg.subject);
                    Some(&remote_reply[..])
                }
                other => other,
            };
            Msg {
                subject: to,
                reply,
                ..*msg
            }
        } else {
            *msg
        };
        let msg = &remote;
        for (route, queues) in &rts {
            let o = if route.is_leaf {
                &b""[..]
            } else {
                origin_cluster
            };
            match outbound::deliver_route(
                route,
                acc.name.as_bytes(),
                msg,
                queues,
                o,
                &mut self.flush,
            ) {
                Delivery::Delivered { stall, .. } => {
                    delivered = true;
                    self.out_msgs += 1;
                    self.out_bytes += msg.payload.len() as u64;
                    if stall && !self.stalled.iter().any(|c| c.cid == route.cid) {
                        self.stalled.push(route.clone());
                    }
                }
                Delivery::SlowConsumer => {
                    crate::error!("{} - Slow Consumer Detected", route.log_prefix);
                }
                Delivery::Skipped => {}
            }
        }
        self.rts = rts;
        self.reply_buf = remote_reply;
        delivered
    }

    /// One member of a queue group for a routed message: local members
    /// (clients and leafnodes alike), any of them; if none can take it, a
    /// leafnode, else another server's members (as nats-server).
    fn pick_routed(
        &mut self,
        members: &[crate::delivery::outbound::SubRef],
        name: &[u8],
        cid: u64,
        msg: &Msg<'_>,
        leaf_origin: &[u8],
        rts: &mut Vec<(Arc<ClientShared>, Vec<u8>)>,
    ) -> bool {
        let n = members.len();
        let start = fastrand::usize(..n);
        let mut fallback: Option<Arc<ClientShared>> = None;
        for i in 0..n {
            let sub = &members[(start + i) % n].0;
            let c = &sub.client;
            if c.is_route || c.is_leaf {
                if c.cid == cid
                    || (c.is_leaf && (same_cluster(c, leaf_origin) || denied(sub, msg.subject)))
                {
                    continue;
                }
                if fallback.as_ref().is_none_or(|f| f.is_route && c.is_leaf) {
                    fallback = Some(c.clone());
                }
            } else if self.deliver_one(sub, cid, true, msg) {
                return true;
            }
        }
        match fallback {
            Some(c) => {
                add_route_target(rts, &c, Some(name));
                true
            }
            None => false,
        }
    }

    /// One member of a queue group for a client's or a leafnode's message:
    /// local members and routes (weighted by their member counts) at
    /// random; a leafnode (or a route's member on behalf of one) only when
    /// nothing else can take it; a member that cannot take it is skipped.
    fn pick_member(
        &mut self,
        members: &[crate::delivery::outbound::SubRef],
        name: &[u8],
        origin: Origin<'_>,
        msg: &Msg<'_>,
        rts: &mut Vec<(Arc<ClientShared>, Vec<u8>)>,
    ) -> bool {
        let (cid, echo) = origin.source();
        let leaf_origin = origin.leaf_origin();
        let spoke_src = matches!(origin, Origin::Leaf { spoke: true, .. });
        let n = members.len();
        let weight = |s: &Subscription| {
            if s.client.is_route || s.client.is_leaf {
                s.qw.load(Ordering::Relaxed).max(1) as usize
            } else {
                1
            }
        };
        let total: usize = members.iter().map(|m| weight(&m.0)).sum();
        let mut r = fastrand::usize(..total.max(1));
        let mut start = 0;
        for (i, m) in members.iter().enumerate() {
            let w = weight(&m.0);
            if r < w {
                start = i;
                break;
            }
            r -= w;
        }
        let mut fallback: Option<Arc<ClientShared>> = None;
        for i in 0..n {
            let sub = &members[(start + i) % n].0;
            let c = &sub.client;
            if c.is_route && spoke_src {
                continue;
            }
            if c.is_leaf {
                if c.cid != cid
                    && !same_cluster(c, leaf_origin)
                    && !denied(sub, msg.subject)
                    && fallback.is_none()
                {
                    fallback = Some(c.clone());
                }
                continue;
            }
            if c.is_route {
                if let Some(o) = sub.origin.as_deref() {
                    if fallback.is_none() && (leaf_origin.is_empty() || leaf_origin != o) {
                        fallback = Some(c.clone());
                    }
                    continue;
                }
                add_route_target(rts, c, Some(name));
                return true;
            }
            if self.deliver_one(sub, cid, echo, msg) {
                return true;
            }
        }
        match fallback {
            Some(c) => {
                add_route_target(rts, &c, Some(name));
                true
            }
            None => false,
        }
    }

    fn deliver_one(
        &mut self,
        sub: &Arc<Subscription>,
        cid: u64,
        echo: bool,
        msg: &Msg<'_>,
    ) -> bool {
        match outbound::deliver(sub, cid, echo, msg, &mut self.flush) {
            Delivery::Delivered { last, stall } => {
                self.out_msgs += 1;
                self.out_bytes += msg.payload.len() as u64;
                if last {
                    remove_sub(&self.srv, sub);
                }
                if stall && !self.stalled.iter().any(|c| c.cid == sub.client.cid) {
                    self.stalled.push(sub.client.clone());
                }
                true
            }
            Delivery::Skipped => false,
            Delivery::SlowConsumer => {
                crate::debug!("{} - Slow Consumer Detected", sub.client.log_prefix);
                false
            }
        }
    }

    /// Adds `msgs`/`bytes` received on `conn` to its counters and the
    /// server's, and zeroes them.
    pub fn count_in(&self, conn: &ClientShared, msgs: &mut u64, bytes: &mut u64) {
        if *msgs > 0 {
            let s = &self.srv.stats;
            s.in_msgs.fetch_add(*msgs, Ordering::Relaxed);
            s.in_bytes.fetch_add(*bytes, Ordering::Relaxed);
            conn.in_msgs.fetch_add(*msgs, Ordering::Relaxed);
            conn.in_bytes.fetch_add(*bytes, Ordering::Relaxed);
            *msgs = 0;
            *bytes = 0;
        }
    }

    /// Adds the delivered counts to the server's.
    pub fn flush_stats(&mut self) {
        if self.out_msgs > 0 {
            let s = &self.srv.stats;
            s.out_msgs.fetch_add(self.out_msgs, Ordering::Relaxed);
            s.out_bytes.fetch_add(self.out_bytes, Ordering::Relaxed);
            self.out_msgs = 0;
            self.out_bytes = 0;
        }
    }
}

/// True when `subject` may not go to the leafnode of `sub` (its link's
/// deny list overlaps the subscription).
fn denied(sub: &Subscription, subject: &[u8]) -> bool {
    sub.deny.as_ref().is_some_and(|d| d.matches(subject))
}

/// True when leafnode connection `c` leads to the leafnode cluster a
/// message came from (cluster-wide no echo).
fn same_cluster(c: &ClientShared, leaf_origin: &[u8]) -> bool {
    !leaf_origin.is_empty() && c.remote_cluster().as_bytes() == leaf_origin
}

/// Notes that `route` gets the message, serving queue group `queue`.
fn add_route_target(
    rts: &mut Vec<(Arc<ClientShared>, Vec<u8>)>,
    route: &Arc<ClientShared>,
    queue: Option<&[u8]>,
) {
    let i = match rts.iter().position(|(r, _)| Arc::ptr_eq(r, route)) {
        Some(i) => i,
        None => {
            rts.push((route.clone(), Vec::new()));
            rts.len() - 1
        }
    };
    if let Some(q) = queue {
        let qs = &mut rts[i].1;
        if !qs.is_empty() {
            qs.push(b' ');
        }
        qs.extend_from_slice(q);
    }
}

/// True when `name` is one of the space-separated `queues`.
fn queue_listed(queues: &[u8], name: &[u8]) -> bool {
    queues
        .split(|&b| b == b' ' || b == b'\t')
        .any(|q| q == name)
}

/// Interest another server announced (a route's `RS+`/`LS+`, a
/// leafnode's `LS+`), stored under `key` as a subscription of `conn` in
/// `acc`: a new one enters the sublist, a known queue key takes the new
/// weight; routes and leafnodes hear of the change. False when the
/// subject is not valid.
#[allow(clippy::too_many_arguments)]
pub fn remote_sub(
    srv: &Server,
    conn: &Arc<ClientShared>,
    acc: &Arc<Account>,
    key: Vec<u8>,
    subject: &[u8],
    queue: Option<(&[u8], u32)>,
    origin: &[u8],
    deny: Option<Arc<crate::auth::perms::PermList>>,
) -> bool {
    let mut subs = conn.subs.lock();
    if let Some(existing) = subs.get(key.as_slice()).cloned() {
        drop(subs);
        if let Some((_, w)) = queue {
            let old = existing.qw.swap(w, Ordering::Relaxed);
            if old != w {
                let src = crate::leafs::Src::of(&existing);
                crate::leafs::interest_weighted(srv, &existing, &src, w as i32 - old as i32);
            }
        }
        return true;
    }
    if !sublist::is_valid_subject(subject) {
        return false;
    }
    let sub = Arc::new(Subscription {
        client: conn.clone(),
        subject: subject.into(),
        queue: queue.map(|q| q.0.into()),
        sid: key.clone().into_boxed_slice(),
        max: std::sync::atomic::AtomicU64::new(0),
        delivered: std::sync::atomic::AtomicU64::new(0),
        acc: acc.clone(),
        qw: std::sync::atomic::AtomicU32::new(queue.map(|q| q.1.max(1)).unwrap_or(1)),
        deny,
        origin: (!origin.is_empty()).then(|| origin.into()),
    });
    subs.insert(key.into_boxed_slice(), sub.clone());
    drop(subs);
    let _ = acc
        .sublist
        .write()
        .insert(subject, queue.map(|q| q.0), outbound::SubRef(sub.clone()));
    crate::leafs::interest(srv, &sub, 1);
    true
}

/// Withdrawn interest of another server (`RS-`/`LS-`): the subscription
/// stored under `key` leaves the sublist.
pub fn remote_unsub(srv: &Server, conn: &ClientShared, key: &[u8]) {
    let sub = conn.subs.lock().remove(key);
    if let Some(sub) = sub {
        sub.acc.sublist.write().remove(
            &sub.subject,
            sub.queue.as_deref(),
            &outbound::SubRef(sub.clone()),
        );
        crate::leafs::interest(srv, &sub, -1);
    }
}

/// Removes a subscription from the sublist and its client.
pub fn remove_sub(srv: &Server, sub: &Arc<Subscription>) {
    let removed = sub.client.subs.lock().remove(&sub.sid).is_some();
    if removed {
        sub.acc.sublist.write().remove(
            &sub.subject,
            sub.queue.as_deref(),
            &outbound::SubRef(sub.clone()),
        );
        crate::leafs::interest(srv, sub, -1);
    }
}

/// Splits a `$JS.ACK.<8 tokens>@<subject>` reply into the ack reply and the
/// subject (nats-server's `jsAckDeliverIdx`: the first `@` after the eighth
/// dot, since names may hold `@`).
pub fn js_ack_deliver_split(reply: &[u8]) -> Option<(&[u8], &[u8])> {
    if !reply.starts_with(b"$JS.ACK.") {
        return None;
    }
    let mut dots = 0;
    for (i, b) in reply.iter().enumerate() {
        match b {
            b'.' => dots += 1,
            b'@' if dots >= 8 => return Some((&reply[..i], &reply[i + 1..])),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::js_ack_deliver_split;

    #[test]
    fn deliver_suffix_split_as_go() {
        let r = b"$JS.ACK.S@x.c.1.2.3.4.0@foo.bar";
        assert_eq!(
            js_ack_deliver_split(r),
            Some((&b"$JS.ACK.S@x.c.1.2.3.4.0"[..], &b"foo.bar"[..]))
        );
        assert_eq!(js_ack_deliver_split(b"$JS.ACK.S.c.1.2.3.4.0"), None);
        assert_eq!(js_ack_deliver_split(b"_INBOX.a@b"), None);
    }
}
