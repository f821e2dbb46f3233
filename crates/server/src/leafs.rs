//! The leafnode registry: every leafnode connection of this server, the
//! account each is bound to, and the interest announced to each (`LS+` on
//! a subject's first subscription, `LS-` on its last, every change of a
//! queue group's weight), with nats-server's rules for what a hub and a
//! spoke tell each other. The core layer holds it (subscriptions change in
//! every connection kind); the leafnode protocol that fills it is
//! [`crate::leaf`].
//!
//! Layer: core; may use the foundation, `auth`, `transport` and the core.

use crate::accounts::Account;
use crate::auth::perms::ClientPerms;
use crate::delivery::outbound::{ClientShared, Subscription};
use crate::server::Server;
use parking_lot::{Mutex, RwLock};
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// Prefix of the loop detection subject each account announces to its
/// leafnodes.
pub const LDS_PREFIX: &str = "$LDS.";

/// What a leafnode connection learned about the server at its other end.
#[derive(Debug, Default, Clone)]
pub struct LeafRemote {
    /// Remote server name.
    pub name: String,
    /// Remote server id.
    pub id: String,
    /// Remote JetStream domain.
    pub domain: String,
    /// The account the remote binds the connection to.
    pub account: String,
    /// Compression as negotiated.
    pub compression: String,
}

/// One registered leafnode connection.
pub struct LeafLink {
    /// Its outbound side (`is_leaf` is set).
    pub shared: Arc<ClientShared>,
    /// The local account it is bound to.
    pub acc: Arc<Account>,
    /// Remote address.
    pub addr: SocketAddr,
    /// This server dialed it.
    pub solicited: bool,
    /// When it was made.
    pub start: chrono::DateTime<chrono::Utc>,
    /// What is known of the other end.
    pub remote: Mutex<LeafRemote>,
    /// Subjects whose interest may be sent to the remote (the remote may
    /// publish them here) and that it may ask for: the connection's
    /// permissions as nats-server orients them.
    pub perms: Option<Mutex<ClientPerms>>,
    /// Interest of other leafnodes is not announced to this one
    /// (`isolate_leafnode_interest`, a remote's `isolate`, or the remote's
    /// `request_isolation`).
    pub isolated: std::sync::atomic::AtomicBool,
    /// What may not be sent to the remote: checked at delivery for its
    /// wildcard subscriptions.
    pub pub_deny: Option<Arc<crate::auth::perms::PermList>>,
    /// The interest announced to the remote. `None` until the first
    /// snapshot is sent.
    smap: Mutex<Option<Smap>>,
}

/// The interest announced to one leafnode.
#[derive(Default)]
struct Smap {
    /// Counts (queue weights) by `subject[ queue]`.
    map: HashMap<Box<[u8]>, i32>,
    /// Subscriptions the first snapshot counted: their own addition is
    /// not counted again.
    tsub: HashSet<usize>,
}

impl LeafLink {
    /// A link for `shared`, bound to `acc`.
    pub fn new(
        shared: Arc<ClientShared>,
        acc: Arc<Account>,
        addr: SocketAddr,
        solicited: bool,
        perms: Option<ClientPerms>,
        pub_deny: Option<Arc<crate::auth::perms::PermList>>,
    ) -> Self {
        LeafLink {
            isolated: std::sync::atomic::AtomicBool::new(false),
            pub_deny,
            shared,
            acc,
            addr,
            solicited,
            start: chrono::Utc::now(),
            remote: Mutex::new(LeafRemote::default()),
            perms: perms.map(Mutex::new),
            smap: Mutex::new(None),
        }
    }

    /// This server is the spoke of the connection.
    pub fn spoke(&self) -> bool {
        self.shared.leaf_spoke.load(Ordering::Relaxed)
    }

    /// True when interest in `subject` may be sent to the remote.
    pub fn can_subscribe(&self, subject: &[u8]) -> bool {
        match &self.perms {
            Some(p) => p.lock().can_subscribe(subject, None),
            None => true,
        }
    }

    /// True when the remote may send messages on `subject`.
    pub fn can_publish(&self, subject: &[u8]) -> bool {
        match &self.perms {
            Some(p) => p
                .lock()
                .can_publish(subject, &Mutex::new(Default::default())),
            None => true,
        }
    }

    /// Number of subjects announced to the remote.
    pub fn num_announced(&self) -> usize {
        self.smap.lock().as_ref().map_or(0, |s| s.map.len())
    }

    fn send_update(&self, key: &[u8], n: i32) {
        if self.spoke() && !internal_subject(key) {
            let subject = key.split(|&b| b == b' ').next().unwrap_or_default();
            if !self.can_subscribe(subject) {
                return;
            }
        }
        let mut buf = Vec::with_capacity(key.len() + 16);
        write_sub(&mut buf, key, n);
        crate::cluster::trace_out(&self.shared, &buf);
        self.shared.send_now(&buf);
    }

    /// Go's `updateSmap`: counts a change of interest and announces it when
    /// the remote must know.
    fn update_smap(&self, src: &Src<'_>, subject: &[u8], queue: Option<&[u8]>, delta: i32) {
        let lds = subject.starts_with(LDS_PREFIX.as_bytes());
        if !lds && self.spoke() && !matches!(src.kind, Kind::Local | Kind::Leaf { spoke: false }) {
            return;
        }
        let mut guard = self.smap.lock();
        let Some(sm) = guard.as_mut() else {
            return;
        };
        if src.id != 0 && !sm.tsub.is_empty() && sm.tsub.remove(&src.id) && delta > 0 {
            return;
        }
        let smap = &mut sm.map;
        let key = key_of(subject, queue);
        let cur = smap.get(key.as_slice()).copied();
        if delta < 0 && cur.is_none() {
            return;
        }
        let n = cur.unwrap_or(0);
        let update = queue.is_some() || (n <= 0 && n + delta > 0) || (n > 0 && n + delta <= 0);
        let m = n + delta;
        if m > 0 {
            smap.insert(key.clone().into_boxed_slice(), m);
        } else {
            smap.remove(key.as_slice());
        }
        // Sent under the lock, so announcements keep their order.
        if update {
            self.send_update(&key, m.max(0));
        }
        drop(guard);
    }
}

/// `$LDS.`, `_GR_.` and `$GR.` subjects are announced whatever the
/// permissions say.
fn internal_subject(key: &[u8]) -> bool {
    key.starts_with(LDS_PREFIX.as_bytes()) || key.starts_with(b"_GR_.") || key.starts_with(b"$GR.")
}

/// The key of a subscription in the interest maps and in a leafnode
/// connection's subscriptions: `subject[ queue]`.
pub fn key_of(subject: &[u8], queue: Option<&[u8]>) -> Vec<u8> {
    let mut k = Vec::with_capacity(subject.len() + queue.map_or(0, |q| q.len() + 1));
    k.extend_from_slice(subject);
    if let Some(q) = queue {
        k.push(b' ');
        k.extend_from_slice(q);
    }
    k
}

/// Appends `LS+ key [n]` (a queue key carries its weight) or `LS- key`.
fn write_sub(buf: &mut Vec<u8>, key: &[u8], n: i32) {
    let mut parts = key.splitn(2, |&b| b == b' ');
    let subject = parts.next().unwrap_or_default();
    let queue = parts.next();
    proto::route::leaf_sub(buf, subject, queue, n.max(0) as u32);
}

/// Who holds a subscription, for the announcement rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A client or one of the server's internal clients.
    Local,
    /// A route (another server of the cluster).
    Route,
    /// A leafnode connection (`spoke`: this server is its spoke).
    Leaf {
        /// This server is the spoke of that connection.
        spoke: bool,
    },
}

/// The source of an interest change.
#[derive(Debug, Clone, Copy)]
pub struct Src<'a> {
    /// The connection holding the subscription (0: none).
    pub cid: u64,
    /// Its kind.
    pub kind: Kind,
    /// The leafnode cluster the interest comes from.
    pub origin: &'a [u8],
    /// Identity of the subscription (0: a pseudo subscription).
    pub id: usize,
}

impl<'a> Src<'a> {
    /// The source of `sub`.
    pub fn of(sub: &'a Subscription) -> Src<'a> {
        Src {
            cid: sub.client.cid,
            kind: kind_of(&sub.client),
            origin: sub.origin.as_deref().unwrap_or_default(),
            id: sub as *const Subscription as usize,
        }
    }

    /// A subject the server itself is interested in (service import
    /// replies, imports).
    pub fn local() -> Src<'static> {
        Src {
            cid: 0,
            kind: Kind::Local,
            origin: b"",
            id: 0,
        }
    }
}

/// The kind of connection `c` is.
pub fn kind_of(c: &ClientShared) -> Kind {
    if c.is_route {
        Kind::Route
    } else if c.is_leaf {
        Kind::Leaf {
            spoke: c.leaf_spoke.load(Ordering::Relaxed),
        }
    } else {
        Kind::Local
    }
}

/// The leafnode side of a server.
#[derive(Default)]
pub struct Leafs {
    links: RwLock<Vec<Arc<LeafLink>>>,
    /// Each account's loop detection subject.
    lds: Mutex<HashMap<String, String>>,
}

impl Leafs {
    /// Every registered leafnode connection.
    pub fn links(&self) -> Vec<Arc<LeafLink>> {
        self.links.read().clone()
    }

    /// Number of leafnode connections.
    pub fn count(&self) -> usize {
        self.links.read().len()
    }

    /// Number of leafnode connections bound to `acc`.
    pub fn count_in(&self, acc: &Account) -> usize {
        self.links
            .read()
            .iter()
            .filter(|l| std::ptr::eq(&*l.acc, acc))
            .count()
    }

    /// The loop detection subject of account `acc`.
    pub fn lds(&self, acc: &str) -> String {
        self.lds
            .lock()
            .entry(acc.to_string())
            .or_insert_with(|| {
                format!(
                    "{LDS_PREFIX}{}",
                    crate::auth::nonce().replace(['-', '_'], "")
                )
            })
            .clone()
    }

    /// True when a leafnode of `cluster` is connected to this server as
    /// its hub in account `acc` (nats-server's leafnode cluster
    /// registration): dialing that cluster too would make a loop.
    pub fn has_hub_cluster(&self, acc: &Account, cluster: &str) -> bool {
        !cluster.is_empty()
            && self.links.read().iter().any(|l| {
                std::ptr::eq(&*l.acc, acc)
                    && !l.solicited
                    && !l.spoke()
                    && l.shared.remote_cluster() == cluster
            })
    }

    /// An accepted link from the same remote server, cluster and account
    /// as a new one (nats-server replaces it).
    pub fn duplicate(
        &self,
        acc: &Account,
        name: &str,
        cluster: &str,
        remote_acc: &str,
    ) -> Option<Arc<LeafLink>> {
        self.links
            .read()
            .iter()
            .find(|l| {
                let r = l.remote.lock();
                std::ptr::eq(&*l.acc, acc)
                    && !l.solicited
                    && r.name == name
                    && r.account == remote_acc
                    && l.shared.remote_cluster() == cluster
            })
            .cloned()
    }

    /// The registered link of connection `cid`.
    pub fn get(&self, cid: u64) -> Option<Arc<LeafLink>> {
        self.links
            .read()
            .iter()
            .find(|l| l.shared.cid == cid)
            .cloned()
    }

    /// Registers `link`, then sends it the account's interest (Go's
    /// `initLeafNodeSmapAndSendSubs`): a hub sends every subscription of
    /// the account but the connection's own, a spoke only those of its
    /// clients and of the leafnodes it is the hub of; plus the imported
    /// services and the loop detection subject.
    pub fn register(&self, link: &Arc<LeafLink>) {
        // Changes that race with the snapshot wait for it, then skip what
        // it counted.
        let mut guard = link.smap.lock();
        self.links.write().push(link.clone());
        let acc = &link.acc;
        let rc = link.shared.remote_cluster().to_string();
        let spoke = link.spoke();
        let mut subs = Vec::new();
        subs.extend(acc.sublist.read().all().into_iter().map(|s| s.0));
        let mut smap: HashMap<Box<[u8]>, i32> = HashMap::new();
        let mut tsub = HashSet::new();
        let isolated = link.isolated.load(Ordering::Relaxed);
        for sub in &subs {
            if Arc::ptr_eq(&sub.client, &link.shared) || (isolated && sub.client.is_leaf) {
                continue;
            }
            if spoke {
                let ok = match kind_of(&sub.client) {
                    Kind::Local => true,
                    Kind::Leaf { spoke } => !spoke,
                    Kind::Route => false,
                };
                if !ok {
                    continue;
                }
            }
            if !link.can_subscribe(&sub.subject) {
                continue;
            }
            if sub
                .origin
                .as_deref()
                .is_some_and(|o| !rc.is_empty() && o == rc.as_bytes())
            {
                continue;
            }
            let count = match &sub.queue {
                Some(_) => sub.qw.load(Ordering::Relaxed).max(1) as i32,
                None => 1,
            };
            *smap
                .entry(key_of(&sub.subject, sub.queue.as_deref()).into_boxed_slice())
                .or_default() += count;
            tsub.insert(Arc::as_ptr(sub) as usize);
        }
        if let Some(links) = acc.links.get() {
            for si in &links.services {
                if spoke && !link.can_subscribe(&si.local) {
                    continue;
                }
                *smap.entry(si.local.clone()).or_default() += 1;
            }
        }
        // Mapping sources: publishes to them are mapped here.
        for m in acc.mappings.get().into_iter().flatten() {
            if spoke && !link.can_subscribe(m.source().as_bytes()) {
                continue;
            }
            *smap.entry(m.source().as_bytes().into()).or_default() += 1;
        }
        if let Some(w) = acc.reply_wildcard() {
            *smap.entry(w.into_boxed_slice()).or_default() += 1;
        }
        *smap
            .entry(self.lds(&acc.name).into_bytes().into_boxed_slice())
            .or_default() += 1;
        let mut buf = Vec::new();
        for (k, n) in &smap {
            write_sub(&mut buf, k, *n);
        }
        if !buf.is_empty() {
            crate::cluster::trace_out(&link.shared, &buf);
            link.shared.send_now(&buf);
        }
        *guard = Some(Smap { map: smap, tsub });
    }

    /// Forgets a closed connection.
    pub fn remove(&self, cid: u64) -> Option<Arc<LeafLink>> {
        let mut links = self.links.write();
        let i = links.iter().position(|l| l.shared.cid == cid)?;
        Some(links.remove(i))
    }

    /// Stops skipping the subscriptions of the first snapshot.
    pub fn clear_snapshot(&self, cid: u64) {
        if let Some(l) = self.get(cid) {
            if let Some(s) = l.smap.lock().as_mut() {
                s.tsub.clear();
            }
        }
    }

    /// Go's `updateLeafNodes`: a subscription of `acc` changed by `delta`
    /// (a queue weight for routed and leafnode queue subscriptions).
    pub fn update(
        &self,
        acc: &Account,
        src: &Src<'_>,
        subject: &[u8],
        queue: Option<&[u8]>,
        delta: i32,
    ) {
        let links = self.links.read();
        if links.is_empty() {
            return;
        }
        let lds = subject.starts_with(LDS_PREFIX.as_bytes());
        for ln in links.iter() {
            if ln.shared.cid == src.cid || !std::ptr::eq(&*ln.acc, acc) {
                continue;
            }
            if matches!(src.kind, Kind::Leaf { .. }) && ln.isolated.load(Ordering::Relaxed) {
                continue;
            }
            let different = src.origin != ln.shared.remote_cluster().as_bytes();
            if (lds && different)
                || ((src.origin.is_empty() || different)
                    && (delta <= 0 || ln.can_subscribe(subject)))
            {
                ln.update_smap(src, subject, queue, delta);
            }
        }
    }
}

/// A subscription entered (`delta` > 0) or left an account's sublist:
/// tells the routes and the leafnodes that must know. Routes hear of
/// local subscriptions and of those of leafnodes this server is the hub
/// of (with their cluster as origin); leafnodes hear by [`Leafs::update`].
pub fn interest(srv: &Server, sub: &Subscription, delta: i32) {
    let src = Src::of(sub);
    let weight = match (&sub.queue, src.kind) {
        (Some(_), Kind::Route | Kind::Leaf { .. }) => sub.qw.load(Ordering::Relaxed).max(1) as i32,
        _ => 1,
    };
    interest_weighted(srv, sub, &src, delta * weight);
}

/// [`interest`] with an explicit weight change (a routed or leafnode queue
/// subscription whose weight changed).
pub fn interest_weighted(srv: &Server, sub: &Subscription, src: &Src<'_>, delta: i32) {
    let q = sub.queue.as_deref();
    match src.kind {
        Kind::Local => srv
            .routes
            .local_interest(&sub.acc, &sub.subject, q, delta, None),
        Kind::Leaf { spoke: false } => {
            let origin = (!src.origin.is_empty()).then_some(src.origin);
            srv.routes
                .local_interest(&sub.acc, &sub.subject, q, delta, origin)
        }
        _ => {}
    }
    srv.leafs.update(&sub.acc, src, &sub.subject, q, delta);
}

/// The server itself took an interest in `subject` of `acc` (a service
/// import's reply wildcard): routes and leafnodes hear of it.
pub fn internal_interest(srv: &Server, acc: &Account, subject: &[u8]) {
    srv.routes.local_interest(acc, subject, None, 1, None);
    srv.leafs.update(acc, &Src::local(), subject, None, 1);
}
