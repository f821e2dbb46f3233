//! The cluster registry: the route connections of this server, what each
//! learned about the server at its other end, the interest announced to
//! them (`RS+`/`RS-` on 0↔1 changes, queue weights), the client URLs the
//! cluster advertises, and the broadcasts to every route. The core layer
//! holds it (the server owns one, delivery forwards through it); the route
//! protocol that fills it is [`crate::route`].
//!
//! Layer: core; may use the foundation, `auth`, `transport` and the core.

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
}

/// The registry's mutable part, under one lock.
#[derive(Default)]
pub(crate) struct Inner {
    /// Every route connection, by connection id.
    pub(crate) links: HashMap<u64, Arc<Link>>,
    /// Registered routes, by remote server id.
    pub(crate) by_id: HashMap<String, Arc<Link>>,
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

    /// Number of registered routes.
    pub fn num_routes(&self) -> usize {
        self.inner.lock().by_id.len()
    }

    /// True when a route to server `id` is registered.
    pub fn is_connected(&self, id: &str) -> bool {
        self.inner.lock().by_id.contains_key(id)
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

    /// Records a change of local interest (`delta` is +1 or -1) in `acc`
    /// and tells every route when the cluster must know: a subject's first
    /// and last subscription, and every change of a queue group's size.
    pub fn local_interest(&self, acc: &Account, subject: &[u8], queue: Option<&[u8]>, delta: i32) {
        if !self.enabled() {
            return;
        }
        let can_import = self.can_import(subject);
        let inner = self.inner.lock();
        let mut key = subject.to_vec();
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
        if inner.by_id.is_empty() || !can_import {
            return;
        }
        let mut buf = Vec::with_capacity(subject.len() + 32);
        let acc_name = acc.name.as_bytes();
        if n > 0 {
            proto::route::sub(&mut buf, acc_name, subject, queue.map(|q| (q, n)));
        } else {
            proto::route::unsub(&mut buf, acc_name, subject, queue);
        }
        for link in inner.by_id.values() {
            trace_out(&link.shared, &buf);
            link.shared.send_now(&buf);
        }
    }

    pub(crate) fn add_link(&self, link: &Arc<Link>) {
        self.inner
            .lock()
            .links
            .insert(link.shared.cid, link.clone());
    }

    /// Registers `link` as the route to its remote server and sends it all
    /// local interest. `Err` when that server already has a route (the
    /// registered one is then marked for retry). `Ok((others, urls))`:
    /// other routes exist, which must hear of the new server; the client
    /// URLs changed.
    pub(crate) fn register(&self, srv: &Server, link: &Arc<Link>) -> Result<(bool, bool), ()> {
        let mut inner = self.inner.lock();
        let id = link.state.lock().remote_id.clone();
        if let Some(existing) = inner.by_id.get(&id) {
            let mut ex = existing.state.lock();
            ex.retry = true;
            // Keep the address this server dialed: the remote's announced
            // host may be a wildcard (nats-server's upgrade to solicited).
            if link.solicited && !existing.solicited {
                if let Some(u) = link.state.lock().url.clone() {
                    ex.url = Some(u);
                }
            }
            return Err(());
        }
        inner.by_id.insert(id, link.clone());
        let mut buf = Vec::new();
        for acc in srv.accounts.all() {
            for (key, n) in acc.route_interest.lock().iter() {
                let mut parts = key.splitn(2, |&b| b == b' ');
                let subject = parts.next().unwrap_or_default();
                if !self.can_import(subject) {
                    continue;
                }
                let queue = parts.next().map(|q| (q, *n));
                proto::route::sub(&mut buf, acc.name.as_bytes(), subject, queue);
            }
        }
        if !buf.is_empty() {
            trace_out(&link.shared, &buf);
            link.shared.send_now(&buf);
        }
        let mut st = link.state.lock();
        st.registered = true;
        let urls_changed = add_urls(&mut inner.client_urls, &st.connect_urls)
            | add_urls(&mut inner.ws_urls, &st.ws_connect_urls);
        if urls_changed || !st.connect_urls.is_empty() {
            inner.advertised = true;
        }
        drop(st);
        Ok((inner.by_id.len() > 1, urls_changed))
    }

    /// Forgets a closed route. Returns true when client URLs changed.
    pub(crate) fn remove_link(&self, link: &Arc<Link>) -> bool {
        let mut inner = self.inner.lock();
        inner.links.remove(&link.shared.cid);
        let st = link.state.lock();
        if !st.registered {
            return false;
        }
        if inner
            .by_id
            .get(&st.remote_id)
            .is_some_and(|l| Arc::ptr_eq(l, link))
        {
            inner.by_id.remove(&st.remote_id);
        }
        remove_urls(&mut inner.client_urls, &st.connect_urls)
            | remove_urls(&mut inner.ws_urls, &st.ws_connect_urls)
    }

    /// A remote entering lame duck mode: its client URLs are withdrawn.
    pub(crate) fn withdraw_urls(&self, link: &Arc<Link>) -> bool {
        let mut inner = self.inner.lock();
        let mut st = link.state.lock();
        let urls = std::mem::take(&mut st.connect_urls);
        let ws = std::mem::take(&mut st.ws_connect_urls);
        remove_urls(&mut inner.client_urls, &urls) | remove_urls(&mut inner.ws_urls, &ws)
    }

    /// Sends `bytes` to every registered route but `except`.
    pub(crate) fn broadcast(&self, bytes: &[u8], except: Option<&str>) {
        let inner = self.inner.lock();
        for (id, link) in &inner.by_id {
            if Some(id.as_str()) != except {
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

    /// Tells the other servers this one is in lame duck mode.
    pub fn announce_lame_duck(&self, srv: &Server) {
        if !self.enabled() {
            return;
        }
        let mut info = self.info(srv);
        info.ldm = true;
        let mut buf = Vec::new();
        proto::encode::info(&mut buf, &serde_json::to_vec(&info).unwrap_or_default());
        self.broadcast(&buf, None);
    }

    /// This server's route `INFO`.
    pub(crate) fn info(&self, srv: &Server) -> proto::ServerInfo {
        let opts = srv.opts();
        let c = &opts.cluster;
        let (host, port, ip) = match c.advertise.as_deref().and_then(split_host_port) {
            Some((h, p)) => (
                h.clone(),
                p,
                format!("nats-route://{}/", crate::util::host_port(&h, p)),
            ),
            None => (
                c.host.clone(),
                self.addr.get().map(|a| a.port()).unwrap_or(0),
                String::new(),
            ),
        };
        let perms = c.permissions.as_ref();
        proto::ServerInfo {
            server_id: srv.id.clone(),
            server_name: srv.name.clone(),
            version: crate::config::options::NATS_VERSION.to_string(),
            proto: 2,
            go: crate::config::options::GO_VERSION.to_string(),
            host,
            port,
            headers: true,
            auth_required: c.username.is_some(),
            tls_required: self.tls.get().is_some(),
            tls_verify: self.tls.get().is_some(),
            max_payload: opts.max_payload as i64,
            ip,
            cluster: self.name(),
            cluster_dynamic: self.dynamic(),
            connect_urls: if c.no_advertise {
                Vec::new()
            } else {
                self.own_urls.get().cloned().unwrap_or_default()
            },
            ws_connect_urls: if c.no_advertise {
                Vec::new()
            } else {
                self.own_ws_urls.get().cloned().unwrap_or_default()
            },
            import: perms
                .and_then(|p| p.import.as_ref())
                .map(crate::auth::perms::perm_json),
            export: perms
                .and_then(|p| p.export.as_ref())
                .map(crate::auth::perms::perm_json),
            lnoc: true,
            ..Default::default()
        }
    }
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
