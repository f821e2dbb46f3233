//! The cluster registry: the route connections of this server, what each
//! learned about the server at its other end, the interest announced to
//! them (`RS+`/`RS-` on 0↔1 changes, queue weights), the client URLs the
//! cluster advertises, and the broadcasts to every route. The core layer
//! holds it (the server owns one, delivery forwards through it); the route
//! protocol that fills it is [`crate::route`].
//!
//! Layer: core; may use the foundation, `auth`, `transport` and the core.

mod info;

use crate::accounts::Account;
use crate::config::route_url::RouteUrl;
use crate::delivery::outbound::ClientShared;
use crate::server::Server;
use parking_lot::{Mutex, RwLock};
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

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
    /// The one account this connection carries (a pinned route).
    pub account: Option<String>,
    /// The pool slot it holds, once registered as a pool connection.
    pub pool_idx: Option<usize>,
    /// The remote's `route_pool_size` (0: it does not pool).
    pub remote_pool_size: i32,
    /// The remote's `route_pool_idx` (the slot its dialer took).
    pub remote_pool_idx: i32,
    /// The connection is the one connection to a server that does not pool.
    pub no_pool: bool,
    /// Its dialer must not dial it again (a full pool, an impossible
    /// pinned route).
    pub no_reconnect: bool,
    /// Dial the next pool connection on the next `PONG`.
    pub start_next: bool,
    /// Accepted, but this server dials that server too: when it closes,
    /// it is dialed again at this address (nats-server's upgrade to a
    /// solicited route).
    pub upgraded: Option<RouteUrl>,
}

/// The registered connections to one other server.
#[derive(Default)]
pub(crate) struct Peer {
    /// Pool connections by slot (one slot for a server that does not pool).
    pub(crate) slots: Vec<Option<Arc<Link>>>,
    /// Pinned-account connections, by account.
    pub(crate) pinned: HashMap<String, Arc<Link>>,
    /// The server does not pool: its one connection carries every account.
    pub(crate) no_pool: bool,
    /// Its client and websocket URLs, counted in while it has a pool
    /// connection.
    pub(crate) urls: (Vec<String>, Vec<String>),
}

impl Peer {
    /// The first pool connection (nats-server's `forEachRemote`).
    fn first(&self) -> Option<&Arc<Link>> {
        self.slots.iter().flatten().next()
    }

    fn has_pool(&self) -> bool {
        self.first().is_some()
    }

    /// The connection carrying account `acc` to this server.
    fn link_for(&self, routes: &Routes, acc: &str) -> Option<&Arc<Link>> {
        if self.no_pool {
            return self.first();
        }
        if routes.is_pinned(acc) {
            return self.pinned.get(acc);
        }
        self.slots.get(routes.slot_of(acc))?.as_ref()
    }
}

/// What registering a route connection came to.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Registered {
    /// Registered.
    Ok {
        /// The first pool connection to that server: its URLs were counted
        /// in, and the other servers must hear of it (when `forward`).
        first: bool,
        /// The client URLs changed.
        urls_changed: bool,
        /// Forward the remote's INFO to the other servers.
        forward: bool,
    },
    /// That server (or slot, or pinned account) already has a connection.
    Duplicate,
    /// Refused with this protocol error.
    Refused(String),
}

/// The registry's mutable part, under one lock.
#[derive(Default)]
pub(crate) struct Inner {
    /// Every route connection, by connection id.
    pub(crate) links: HashMap<u64, Arc<Link>>,
    /// Registered connections, by remote server id.
    pub(crate) peers: HashMap<String, Peer>,
    /// Discovered route URLs being dialed.
    pub(crate) connecting: HashSet<String>,
    /// Client URLs of the other servers, with reference counts.
    pub(crate) client_urls: Vec<(String, usize)>,
    /// Websocket URLs of the other servers, with reference counts.
    pub(crate) ws_urls: Vec<(String, usize)>,
    /// Some route has announced URLs: client INFO carries `connect_urls`.
    pub(crate) advertised: bool,
}

/// The cluster side of a server.
#[derive(Default)]
pub struct Routes {
    pub(crate) enabled: AtomicBool,
    pub(crate) inner: Mutex<Inner>,
    pub(crate) name: RwLock<String>,
    pub(crate) dynamic: AtomicBool,
    /// The route listener's address.
    pub addr: OnceLock<SocketAddr>,
    pub(crate) own_urls: OnceLock<Vec<String>>,
    pub(crate) own_ws_urls: OnceLock<Vec<String>>,
    /// `cluster { permissions { import } }`: interest is only asked for
    /// subjects this server may import.
    pub(crate) import: Mutex<Option<crate::auth::perms::ClientPerms>>,
    /// `cluster { tls }`: the configurations to accept and to dial routes.
    pub(crate) tls: OnceLock<RouteTls>,
    /// Connections per server (`pool_size`; 3 by default; 0 when pooling
    /// is off).
    pub(crate) pool_size: std::sync::atomic::AtomicUsize,
    /// Accounts with their own connection to every server (`accounts`, and
    /// the system account when pooling).
    pub(crate) pinned: RwLock<Vec<String>>,
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
    pub(crate) fn can_import(&self, subject: &[u8]) -> bool {
        match self.import.lock().as_mut() {
            Some(p) => p.can_publish(subject, &Mutex::new(Default::default())),
            None => true,
        }
    }

    pub(crate) fn set_name(&self, name: &str) {
        *self.name.write() = name.to_string();
    }

    /// Every route connection.
    pub fn links(&self) -> Vec<Arc<Link>> {
        let mut v: Vec<_> = self.inner.lock().links.values().cloned().collect();
        v.sort_by_key(|l| l.shared.cid);
        v
    }

    /// Number of registered route connections (pooled and pinned).
    pub fn num_routes(&self) -> usize {
        let inner = self.inner.lock();
        inner
            .peers
            .values()
            .map(|p| p.slots.iter().flatten().count() + p.pinned.len())
            .sum()
    }

    /// Number of servers with a registered pool connection.
    pub fn num_remotes(&self) -> usize {
        let inner = self.inner.lock();
        inner.peers.values().filter(|p| p.has_pool()).count()
    }

    /// True when a pool connection to server `id` is registered.
    pub fn is_connected(&self, id: &str) -> bool {
        self.inner.lock().peers.get(id).is_some_and(Peer::has_pool)
    }

    /// True when server `id` has a connection pinned to `account`.
    pub(crate) fn has_pinned(&self, id: &str, account: &str) -> bool {
        self.inner
            .lock()
            .peers
            .get(id)
            .is_some_and(|p| p.pinned.contains_key(account))
    }

    /// The configured pool size (0: pooling is off).
    pub fn pool_size(&self) -> usize {
        self.pool_size.load(Ordering::Relaxed)
    }

    /// The pinned accounts.
    pub fn pinned_accounts(&self) -> Vec<String> {
        self.pinned.read().clone()
    }

    /// Gives `acc` its own connections from now on.
    pub(crate) fn add_pinned(&self, acc: &str) {
        let mut p = self.pinned.write();
        if !p.iter().any(|a| a == acc) {
            p.push(acc.to_string());
        }
    }

    /// True when `acc` has its own connections.
    pub(crate) fn is_pinned(&self, acc: &str) -> bool {
        self.pinned.read().iter().any(|a| a == acc)
    }

    /// The pool slot of account `acc` (as nats-server: FNV-1a of the name
    /// modulo the pool size).
    pub fn slot_of(&self, acc: &str) -> usize {
        route_slot(self.pool_size(), acc)
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

    /// Records a change of local interest (`delta` members, or weight) in
    /// `acc` and tells every route when the cluster must know: a subject's
    /// first and last subscription, and every change of a queue group's
    /// size. Interest of a leafnode of cluster `origin` travels as `LS+`.
    pub fn local_interest(
        &self,
        acc: &Account,
        subject: &[u8],
        queue: Option<&[u8]>,
        delta: i32,
        origin: Option<&[u8]>,
    ) {
        if !self.enabled() {
            return;
        }
        let can_import = self.can_import(subject);
        let inner = self.inner.lock();
        let mut key = Vec::with_capacity(subject.len() + 16);
        if let Some(o) = origin {
            key.push(0);
            key.extend_from_slice(o);
            key.push(0);
        }
        key.extend_from_slice(subject);
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
        if inner.peers.is_empty() || !can_import {
            return;
        }
        let mut lines = [Vec::new(), Vec::new()];
        for peer in inner.peers.values() {
            let Some(link) = peer.link_for(self, &acc.name) else {
                continue;
            };
            let pinned = link.shared.route_pinned.load(Ordering::Relaxed);
            let buf = &mut lines[usize::from(pinned)];
            if buf.is_empty() {
                let acc_name = if pinned {
                    &b""[..]
                } else {
                    acc.name.as_bytes()
                };
                match (origin, n > 0) {
                    (Some(o), true) => proto::route::leaf_origin_sub(
                        buf,
                        o,
                        acc_name,
                        subject,
                        queue.map(|q| (q, n)),
                    ),
                    (Some(o), false) => {
                        proto::route::leaf_origin_unsub(buf, o, acc_name, subject, queue)
                    }
                    (None, true) => {
                        proto::route::sub(buf, acc_name, subject, queue.map(|q| (q, n)))
                    }
                    (None, false) => proto::route::unsub(buf, acc_name, subject, queue),
                }
            }
            trace_out(&link.shared, buf);
            link.shared.send_now(buf);
        }
    }

    pub(crate) fn add_link(&self, link: &Arc<Link>) {
        self.inner
            .lock()
            .links
            .insert(link.shared.cid, link.clone());
    }

    /// Registers `link` with its remote server: in the pool slot its dialer
    /// chose (or, dialed here, the first free one), as the connection of
    /// its pinned account, or as the one connection to a server that does
    /// not pool. Sends it the local interest of the accounts it carries.
    pub(crate) fn register(&self, srv: &Server, link: &Arc<Link>) -> Registered {
        let mut inner = self.inner.lock();
        let (id, account, rps, ridx) = {
            let st = link.state.lock();
            let id = st.remote_id.clone();
            (
                id,
                st.account.clone(),
                st.remote_pool_size,
                st.remote_pool_idx,
            )
        };
        let ours = self.pool_size();
        let pooled = rps > 0 && ours > 0;
        let st_flags = |f: &dyn Fn(&mut LinkState)| f(&mut link.state.lock());
        let accounts: Vec<Arc<Account>>;
        let idx;
        if !pooled {
            if let Some(a) = &account {
                st_flags(&|st| st.no_reconnect = true);
                return Registered::Refused(format!(
                    "Not possible to have a dedicated route for account {a:?} between those servers"
                ));
            }
            if let Some(existing) = inner.peers.get(&id).and_then(Peer::first) {
                mark_retry(existing, link);
                if ours > 0 {
                    // A pooling server stops dialing one that does not pool
                    // once it has its connection.
                    st_flags(&|st| st.no_reconnect = true);
                }
                return Registered::Duplicate;
            }
            let peer = inner.peers.entry(id.clone()).or_default();
            peer.no_pool = true;
            peer.slots = vec![Some(link.clone())];
            idx = Some(0);
            accounts = srv.accounts.all();
        } else if let Some(a) = &account {
            if !self.is_pinned(a) {
                return Registered::Refused(format!("No route for account {a:?}"));
            }
            let peer = inner.peers.entry(id.clone()).or_default();
            if let Some(existing) = peer.pinned.get(a) {
                mark_retry(existing, link);
                st_flags(&|st| st.no_reconnect = true);
                return Registered::Duplicate;
            }
            peer.pinned.insert(a.clone(), link.clone());
            link.shared.route_pinned.store(true, Ordering::Relaxed);
            idx = None;
            accounts = srv.accounts.lookup(a.as_bytes()).into_iter().collect();
        } else {
            let eff = ours.max(rps as usize);
            if link.solicited {
                if ridx != 0 {
                    return Registered::Refused(format!(
                        "Route pool index should not be set but is set to {ridx}"
                    ));
                }
            } else if ridx < 0 || ridx as usize >= eff {
                return Registered::Refused(format!(
                    "Invalid route pool index: {ridx} - pool size is {rps}"
                ));
            }
            let peer = inner.peers.entry(id.clone()).or_default();
            if peer.no_pool && peer.has_pool() {
                mark_retry(peer.first().expect("has a pool connection"), link);
                return Registered::Duplicate;
            }
            peer.no_pool = false;
            if peer.slots.len() < eff {
                peer.slots.resize(eff, None);
            }
            if link.solicited {
                // Every connection to that server is now one this server
                // dials again when it drops.
                for l in peer.slots.iter().flatten() {
                    upgrade(l, link);
                }
            } else if let Some(d) = peer.slots.iter().flatten().find(|l| l.solicited) {
                upgrade(link, d);
            }
            let slot = if link.solicited {
                match peer.slots.iter().position(Option::is_none) {
                    Some(i) => i,
                    None => {
                        crate::debug!(
                            "{} - Route pool size reached, closing extra connection to {id:?}",
                            link.shared.log_prefix
                        );
                        st_flags(&|st| st.no_reconnect = true);
                        return Registered::Duplicate;
                    }
                }
            } else {
                let i = ridx as usize;
                if let Some(existing) = &peer.slots[i] {
                    mark_retry(existing, link);
                    return Registered::Duplicate;
                }
                i
            };
            peer.slots[slot] = Some(link.clone());
            let filled = peer.slots.iter().flatten().count();
            if link.solicited && filled < eff {
                st_flags(&|st| st.start_next = true);
            }
            idx = Some(slot);
            accounts = srv
                .accounts
                .all()
                .into_iter()
                .filter(|a| !self.is_pinned(&a.name) && self.slot_of(&a.name) == slot)
                .collect();
        }
        let pinned = account.is_some();
        let mut buf = Vec::new();
        for acc in &accounts {
            let name = if pinned {
                &b""[..]
            } else {
                acc.name.as_bytes()
            };
            for (key, n) in acc.route_interest.lock().iter() {
                let (origin, rest) = split_origin(key);
                let mut parts = rest.splitn(2, |&b| b == b' ');
                let subject = parts.next().unwrap_or_default();
                if !self.can_import(subject) {
                    continue;
                }
                let queue = parts.next().map(|q| (q, *n));
                match origin {
                    Some(o) => proto::route::leaf_origin_sub(&mut buf, o, name, subject, queue),
                    None => proto::route::sub(&mut buf, name, subject, queue),
                }
            }
        }
        if !buf.is_empty() {
            trace_out(&link.shared, &buf);
            link.shared.send_now(&buf);
        }
        let mut st = link.state.lock();
        st.registered = true;
        st.pool_idx = idx;
        st.no_pool = !pooled;
        let (urls, ws_urls) = (st.connect_urls.clone(), st.ws_connect_urls.clone());
        drop(st);
        let Inner {
            peers,
            client_urls,
            ws_urls: all_ws,
            advertised,
            ..
        } = &mut *inner;
        if let Some(a) = &account {
            let forward = peers.values().filter(|p| p.pinned.contains_key(a)).count() > 1;
            return Registered::Ok {
                first: false,
                urls_changed: false,
                forward,
            };
        }
        let first = peers
            .get(&id)
            .map_or(0, |p| p.slots.iter().flatten().count())
            == 1;
        let mut urls_changed = false;
        if first {
            urls_changed = add_urls(client_urls, &urls) | add_urls(all_ws, &ws_urls);
            if urls_changed || !urls.is_empty() {
                *advertised = true;
            }
            if let Some(p) = peers.get_mut(&id) {
                p.urls = (urls, ws_urls);
            }
        }
        let remotes = peers.values().filter(|p| p.has_pool()).count();
        Registered::Ok {
            first,
            urls_changed,
            forward: first && remotes > 1,
        }
    }

    /// Forgets a closed route. Returns true when client URLs changed.
    pub(crate) fn remove_link(&self, link: &Arc<Link>) -> bool {
        let mut inner = self.inner.lock();
        inner.links.remove(&link.shared.cid);
        let st = link.state.lock();
        if !st.registered {
            return false;
        }
        let Inner {
            peers,
            client_urls,
            ws_urls,
            ..
        } = &mut *inner;
        let Some(peer) = peers.get_mut(&st.remote_id) else {
            return false;
        };
        let mut changed = false;
        if let Some(a) = &st.account {
            if peer.pinned.get(a).is_some_and(|l| Arc::ptr_eq(l, link)) {
                peer.pinned.remove(a);
            }
        } else if let Some(i) = st.pool_idx {
            let ours = peer
                .slots
                .get(i)
                .and_then(Option::as_ref)
                .is_some_and(|l| Arc::ptr_eq(l, link));
            if ours {
                peer.slots[i] = None;
                if !peer.has_pool() {
                    let (urls, ws) = std::mem::take(&mut peer.urls);
                    changed = remove_urls(client_urls, &urls) | remove_urls(ws_urls, &ws);
                    peer.slots.clear();
                }
            }
        }
        if !peer.has_pool() && peer.pinned.is_empty() {
            peers.remove(&st.remote_id);
        }
        changed
    }

    /// A remote entering lame duck mode: its client URLs are withdrawn.
    pub(crate) fn withdraw_urls(&self, link: &Arc<Link>) -> bool {
        let mut inner = self.inner.lock();
        let id = link.state.lock().remote_id.clone();
        let Inner {
            peers,
            client_urls,
            ws_urls,
            ..
        } = &mut *inner;
        let Some(peer) = peers.get_mut(&id) else {
            return false;
        };
        let (urls, ws) = std::mem::take(&mut peer.urls);
        remove_urls(client_urls, &urls) | remove_urls(ws_urls, &ws)
    }

    /// Sends `bytes` to every other server (on its first pool connection)
    /// but `except`.
    pub(crate) fn broadcast(&self, bytes: &[u8], except: Option<&str>) {
        let inner = self.inner.lock();
        for (id, peer) in &inner.peers {
            if Some(id.as_str()) == except {
                continue;
            }
            if let Some(link) = peer.first() {
                trace_out(&link.shared, bytes);
                link.shared.send_now(bytes);
            }
        }
    }

    /// Sends the INFO of a new pinned connection for `account` to the
    /// other servers: on their connection for that account, else on their
    /// first pool connection (servers that do not pool are left out).
    pub(crate) fn broadcast_pinned(&self, bytes: &[u8], account: &str, except: &str) {
        let inner = self.inner.lock();
        for (id, peer) in &inner.peers {
            if id == except || peer.no_pool {
                continue;
            }
            if let Some(link) = peer.pinned.get(account).or_else(|| peer.first()) {
                trace_out(&link.shared, bytes);
                link.shared.send_now(bytes);
            }
        }
    }

    /// Closes every route connection.
    pub fn close_all(&self, reason: crate::delivery::closed::ClosedReason) {
        for l in self.links() {
            l.shared.mark_closed(reason, false);
        }
    }
}

/// A route interest key: the leafnode origin, if any, and `subject[ queue]`.
fn split_origin(key: &[u8]) -> (Option<&[u8]>, &[u8]) {
    if key.first() == Some(&0) {
        if let Some(end) = key[1..].iter().position(|&b| b == 0) {
            return (Some(&key[1..1 + end]), &key[end + 2..]);
        }
    }
    (None, key)
}

/// The pool slot of account `acc` in a pool of `size` connections.
pub fn route_slot(size: usize, acc: &str) -> usize {
    if size <= 1 {
        0
    } else {
        (sublist::transform::fnv1a(acc.as_bytes()) % size as u32) as usize
    }
}

/// A second connection to a registered one was refused: if the kept one
/// closes, it is dialed again (the other side may have kept the other),
/// and it keeps the address this server dialed (the remote's announced
/// host may be a wildcard).
fn mark_retry(existing: &Arc<Link>, newcomer: &Arc<Link>) {
    existing.state.lock().retry = true;
    upgrade(existing, newcomer);
}

/// `link` was accepted from a server that `dialed` (a connection this
/// server made) also reaches: it takes that address, and is dialed again
/// when it closes.
fn upgrade(link: &Arc<Link>, dialed: &Arc<Link>) {
    if link.solicited || !dialed.solicited || Arc::ptr_eq(link, dialed) {
        return;
    }
    let Some(u) = dialed.state.lock().url.clone() else {
        return;
    };
    let mut st = link.state.lock();
    st.url = Some(u.clone());
    st.upgraded = Some(u);
}

pub(crate) fn add_urls(list: &mut Vec<(String, usize)>, urls: &[String]) -> bool {
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

pub(crate) fn remove_urls(list: &mut Vec<(String, usize)>, urls: &[String]) -> bool {
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

pub(crate) fn trace_out(shared: &ClientShared, bytes: &[u8]) {
    if shared.trace.load(Ordering::Relaxed) {
        for line in String::from_utf8_lossy(bytes).lines() {
            crate::trace!("{} - ->> [{}]", shared.log_prefix, line);
        }
    }
}

/// `host:port` (IPv6 in brackets) split in two.
pub(crate) fn split_host_port(s: &str) -> Option<(String, u16)> {
    let (h, p) = s.rsplit_once(':')?;
    let port = p.parse().ok()?;
    Some((
        h.trim_start_matches('[').trim_end_matches(']').to_string(),
        port,
    ))
}
