//! A route's `CONNECT` and `INFO`: credentials and cluster name checks,
//! registration in the pool slot, pinned connection or single connection
//! it stands for (and the `INFO` a dialer sends once it has its slot),
//! gossip of new members and of pinned connections, an account pinned at a
//! peer's reload, and lame duck mode.

use super::conn::RouteConn;
use super::RouteUrl;
use crate::cluster::Registered;
use crate::delivery::closed::ClosedReason;
use crate::delivery::outbound::SubRef;
use proto::{RouteConnect, ServerInfo};
use std::sync::atomic::Ordering;

type Step = Result<(), ClosedReason>;

impl RouteConn {
    pub(super) fn on_connect(&mut self, json: &[u8]) -> Step {
        if self.link.solicited {
            return Ok(());
        }
        let c: RouteConnect = match serde_json::from_slice(json) {
            Ok(c) => c,
            Err(e) => {
                crate::error!("{} - {e}", self.shared.log_prefix);
                return Err(ClosedReason::ParseError);
            }
        };
        if c.lang.as_deref().is_some_and(|l| !l.is_empty()) {
            let text = "attempted to connect to route port";
            crate::error!("{} - {text}", self.shared.log_prefix);
            self.send_err(text);
            return Err(ClosedReason::WrongPort);
        }
        if let Some(gw) = c.gateway.as_deref().filter(|g| !g.is_empty()) {
            let text = format!("Rejecting connection from gateway {gw:?} on the Route port");
            crate::error!("{} - {text}", self.shared.log_prefix);
            self.send_err(&text);
            return Err(ClosedReason::WrongPort);
        }
        let cl = &self.opts.cluster;
        if let Some(user) = &cl.username {
            let ok = c.user.as_deref() == Some(user.as_str())
                && crate::auth::secret_matches(
                    cl.password.as_deref().unwrap_or(""),
                    c.pass.as_deref().unwrap_or(""),
                );
            if !ok {
                crate::error!("{} - Authorization Error", self.shared.log_prefix);
                self.send_err("Authorization Violation");
                return Err(ClosedReason::AuthenticationViolation);
            }
        }
        let ours = self.srv.routes.name();
        if c.cluster != ours {
            if self.srv.routes.dynamic() && (!c.cluster_dynamic || ours < c.cluster) {
                self.adopt_cluster_name(&c.cluster);
            } else {
                let text = format!(
                    "Rejecting connection, cluster name {:?} does not match {:?}",
                    c.cluster, ours
                );
                crate::error!("{} - {text}", self.shared.log_prefix);
                self.send_err(&text);
                return Err(ClosedReason::ClusterNameConflict);
            }
        }
        self.shared.headers.store(c.headers, Ordering::Relaxed);
        self.link.state.lock().remote_id = c.name;
        self.got_connect = true;
        Ok(())
    }

    /// Takes on the other cluster's name and drops the other routes.
    fn adopt_cluster_name(&mut self, name: &str) {
        self.srv.routes.set_name(name);
        crate::info!("Cluster name updated to {name}");
        for l in self.srv.routes.links() {
            if l.shared.cid != self.shared.cid {
                l.shared
                    .mark_closed(ClosedReason::ClusterNameConflict, false);
            }
        }
    }

    pub(super) fn on_info(&mut self, json: &[u8]) -> Step {
        let info: ServerInfo = match serde_json::from_slice(json) {
            Ok(i) => i,
            Err(e) => {
                crate::error!("{} - {e}", self.shared.log_prefix);
                return Err(ClosedReason::ParseError);
            }
        };
        let srv = self.srv.clone();
        if info.server_id == srv.id {
            self.link.state.lock().remote_id = info.server_id;
            self.to_self = true;
            return Err(ClosedReason::DuplicateRoute);
        }
        let ours = srv.routes.name();
        if !info.cluster.is_empty() && info.cluster != ours {
            if srv.routes.dynamic() && (!info.cluster_dynamic || ours < info.cluster) {
                self.adopt_cluster_name(&info.cluster);
            } else {
                return Err(ClosedReason::ClusterNameConflict);
            }
        }
        if self.got_info {
            return self.on_async_info(info);
        }
        if !self.link.solicited && info.server_name == srv.name {
            crate::error!(
                "{} - Remote server has a duplicate name: {:?}",
                self.shared.log_prefix,
                info.server_name
            );
            return Err(ClosedReason::DuplicateServerName);
        }
        self.got_info = true;
        self.shared.headers.store(info.headers, Ordering::Relaxed);
        {
            let mut st = self.link.state.lock();
            st.remote_id = info.server_id.clone();
            st.remote_name = info.server_name.clone();
            st.connect_urls = info.connect_urls.clone();
            st.ws_connect_urls = info.ws_connect_urls.clone();
            st.import = info.import.clone();
            st.export = info.export.clone();
            st.remote_pool_size = info.route_pool_size;
            st.remote_pool_idx = info.route_pool_idx;
            if !self.link.solicited && !info.route_account.is_empty() {
                st.account = Some(info.route_account.clone());
            }
            if st.url.is_none() {
                st.url = RouteUrl::parse(&format!(
                    "nats-route://{}/",
                    crate::util::host_port(&info.host, info.port)
                ));
                // Dialing back needs this server's route credentials.
                if let Some(u) = st.url.as_mut() {
                    if info.auth_required {
                        u.user = self.opts.cluster.username.clone();
                        u.pass = self.opts.cluster.password.clone();
                    }
                }
            }
        }
        if self.pinned.is_none() && !info.route_account.is_empty() {
            self.pinned = Some(info.route_account.clone());
            self.parser.set_pinned(true);
        }
        let registered = srv.routes.register(&srv, &self.link);
        match registered {
            Registered::Ok {
                first: _,
                urls_changed,
                forward,
            } => {
                let (idx, start_next) = {
                    let st = self.link.state.lock();
                    (st.pool_idx, st.start_next)
                };
                match &self.pinned {
                    Some(a) => crate::debug!(
                        "{} - Registering remote route {:?} for account {a:?}",
                        self.shared.log_prefix,
                        info.server_id
                    ),
                    None => crate::debug!(
                        "{} - Registering remote route {:?}",
                        self.shared.log_prefix,
                        info.server_id
                    ),
                }
                if self.info_delayed {
                    self.info_delayed = false;
                    self.send_info(None, idx.unwrap_or(0));
                }
                if start_next {
                    // Once the remote has answered a PING (and so accepted
                    // this connection), the next pool connection is dialed.
                    self.pings_out += 1;
                    self.ping_sent = Some(std::time::Instant::now());
                    self.send(proto::encode::PING);
                }
                if forward {
                    // Tell the other members about the new one.
                    let mut fwd = info.clone();
                    fwd.nonce.clear();
                    if fwd.ip.is_empty() {
                        fwd.ip = format!(
                            "nats-route://{}/",
                            crate::util::host_port(&self.link.addr.ip().to_string(), info.port)
                        );
                    }
                    let mut b = Vec::new();
                    match &self.pinned {
                        Some(a) => {
                            fwd.route_account = a.clone();
                            proto::encode::info(
                                &mut b,
                                &serde_json::to_vec(&fwd).unwrap_or_default(),
                            );
                            srv.routes.broadcast_pinned(&b, a, &info.server_id);
                        }
                        None => {
                            proto::encode::info(
                                &mut b,
                                &serde_json::to_vec(&fwd).unwrap_or_default(),
                            );
                            srv.routes.broadcast(&b, Some(&info.server_id));
                        }
                    }
                }
                if urls_changed && !self.opts.cluster.no_advertise {
                    srv.send_async_info();
                }
                Ok(())
            }
            Registered::Duplicate => {
                crate::debug!(
                    "{} - Detected duplicate remote route {:?}",
                    self.shared.log_prefix,
                    info.server_id
                );
                self.link.state.lock().registered = false;
                Err(ClosedReason::DuplicateRoute)
            }
            Registered::Refused(text) => {
                crate::error!("{} - {text}", self.shared.log_prefix);
                self.send_err(&text);
                self.link.state.lock().registered = false;
                Err(ClosedReason::ProtocolViolation)
            }
        }
    }

    /// An `INFO` after the first: an account getting its own connections
    /// (at the remote's reload), another member to connect to (gossip), or
    /// the remote's lame duck mode.
    fn on_async_info(&mut self, mut info: ServerInfo) -> Step {
        let srv = self.srv.clone();
        if !info.route_acc_add_reqid.is_empty() {
            if !info.route_account.is_empty() {
                self.pin_account(&info.route_account);
                // The answer: the same INFO without the account.
                info.route_account.clear();
                let mut b = Vec::new();
                proto::encode::info(&mut b, &serde_json::to_vec(&info).unwrap_or_default());
                self.send(&b);
            }
            return Ok(());
        }
        let remote_id = self.link.state.lock().remote_id.clone();
        if info.server_id != remote_id {
            if info.server_id == srv.id {
                return Ok(());
            }
            let pooling = srv.routes.pool_size() > 0;
            let account = (!info.route_account.is_empty()).then(|| info.route_account.clone());
            match &account {
                Some(a) if !pooling || srv.routes.has_pinned(&info.server_id, a) => return Ok(()),
                None if srv.routes.is_connected(&info.server_id) => return Ok(()),
                _ => {}
            }
            let Some(mut url) = RouteUrl::parse(&info.ip)
                .or_else(|| RouteUrl::parse(&crate::util::host_port(&info.host, info.port)))
            else {
                return Ok(());
            };
            let known = RouteUrl::parse(&crate::util::host_port(&info.host, info.port));
            if known.is_some_and(|k| super::configured(&srv, &k)) {
                return Ok(());
            }
            if info.auth_required {
                url.user = self.opts.cluster.username.clone();
                url.pass = self.opts.cluster.password.clone();
            }
            // A server that does not pool sends no INFO per pinned account:
            // dial them all with the pool connection.
            let also_pinned = account.is_none() && self.link.state.lock().no_pool;
            super::solicit(srv.clone(), url.clone(), false, account);
            if also_pinned {
                for a in srv.routes.pinned_accounts() {
                    super::solicit(srv.clone(), url.clone(), false, Some(a));
                }
            }
            return Ok(());
        }
        if info.ldm && srv.routes.withdraw_urls(&self.link) && !self.opts.cluster.no_advertise {
            srv.send_async_info();
        }
        Ok(())
    }

    /// The remote gives `account` its own connections: its interest is
    /// dropped from this pool connection (it comes again on the pinned one).
    fn pin_account(&mut self, account: &str) {
        if self.srv.routes.pool_size() == 0 {
            return;
        }
        self.srv.routes.add_pinned(account);
        let Some(acc) = self.srv.accounts.lookup(account.as_bytes()) else {
            return;
        };
        let mut prefix = account.as_bytes().to_vec();
        prefix.push(b' ');
        for link in self.srv.routes.links() {
            let pinned = link.state.lock().account.is_some();
            if pinned {
                continue;
            }
            let gone: Vec<_> = {
                let mut subs = link.shared.subs.lock();
                let keys: Vec<_> = subs
                    .keys()
                    .filter(|k| k.starts_with(&prefix))
                    .cloned()
                    .collect();
                keys.into_iter().filter_map(|k| subs.remove(&k)).collect()
            };
            let mut sl = acc.sublist.write();
            for sub in gone {
                sl.remove(&sub.subject, sub.queue.as_deref(), &SubRef(sub.clone()));
            }
        }
    }
}
