//! A leafnode connection's handshake: the hub's `INFO` (and the second
//! `INFO` that answers `CONNECT`), the leaf's `CONNECT` with its
//! credentials, authentication of an accepted leafnode, the permissions
//! each side applies, and registration.

use super::conn::{LeafConn, Step};
use crate::config::types::{Permissions, SubjectPermission};
use crate::delivery::closed::ClosedReason;
use crate::leafs::LeafLink;
use proto::{ConnectOptions, LeafConnect, ServerInfo};
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// JetStream subjects no leafnode connection of an ordinary account
/// carries (nats-server's `denyAllClientJs`).
const DENY_CLIENT_JS: [&str; 3] = ["$JS.API.>", "$KV.>", "$OBJ.>"];
/// The same for the system account when JetStream is not extended
/// (`denyAllJs`).
const DENY_ALL_JS: [&str; 5] = ["$JSC.>", "$NRG.>", "$JS.API.>", "$KV.>", "$OBJ.>"];

/// The cluster name this server gives leafnodes: its cluster's, or its
/// own name when it has remotes but no cluster (nats-server's
/// `leafNoCluster`).
pub(super) fn cluster_name(srv: &crate::server::Server) -> String {
    if srv.routes.enabled() {
        return srv.routes.name();
    }
    if !srv.opts().leafnode.remotes.is_empty() {
        return srv.name.clone();
    }
    String::new()
}

impl LeafConn {
    /// The hub's INFO: first (with the nonce) or as the answer to CONNECT.
    pub(super) fn send_info(&mut self, connect_info: bool) {
        let b = self.info_bytes(connect_info);
        self.send(&b);
    }

    /// The hub's INFO line.
    pub(super) fn info_bytes(&self, connect_info: bool) -> Vec<u8> {
        let opts = self.srv.opts();
        let l = &opts.leafnode;
        let port = super::listen_addr().map(|a| a.port()).unwrap_or(0);
        let urls = super::own_urls(&self.srv);
        let (host, port) = match l
            .advertise
            .as_deref()
            .and_then(crate::cluster::split_host_port)
        {
            Some((h, p)) => (h, p),
            None => (
                if l.host.is_empty() {
                    "0.0.0.0".to_string()
                } else {
                    l.host.clone()
                },
                port,
            ),
        };
        let ip = urls.first().cloned().unwrap_or_default();
        let mut info = ServerInfo {
            server_id: self.srv.id.clone(),
            server_name: self.srv.name.clone(),
            version: crate::config::options::NATS_VERSION.to_string(),
            proto: 3,
            git_commit: crate::config::options::GIT_COMMIT.to_string(),
            go: crate::config::options::GO_VERSION.to_string(),
            host,
            port,
            headers: true,
            auth_required: true,
            tls_required: l.tls.is_some(),
            tls_verify: l.tls.as_ref().is_some_and(|t| t.verify),
            max_payload: opts.max_payload as i64,
            jetstream: self.srv.jetstream.get().is_some(),
            ip,
            client_id: self.shared.cid,
            cluster: cluster_name(&self.srv),
            domain: opts.jetstream.domain.clone().unwrap_or_default(),
            compression: "off".into(),
            api_lvl: crate::config::options::JS_API_LEVEL,
            info_on_connect: true,
            leafnode_urls: if urls.is_empty() {
                vec![crate::util::host_port("127.0.0.1", port)]
            } else {
                urls
            },
            ..Default::default()
        };
        if connect_info {
            info.compression = String::new();
            info.connect_info = true;
            if let Some(acc) = &self.acc {
                info.remote_account = acc.name.clone();
                info.acc_is_sys =
                    crate::server::system_account_name(&opts).as_deref() == Some(&acc.name);
            }
            if let Some(p) = &self.perms {
                info.import = p.subscribe.as_ref().map(crate::auth::perms::perm_json);
                info.export = p.publish.as_ref().map(crate::auth::perms::perm_json);
            }
        } else {
            info.nonce = self.nonce.clone();
        }
        let mut b = Vec::new();
        proto::encode::info(&mut b, &serde_json::to_vec(&info).unwrap_or_default());
        b
    }

    /// An accepted leafnode's CONNECT: checks, authentication, the bound
    /// account, then the answering INFO and this side's interest.
    pub(super) fn on_connect(&mut self, json: &[u8]) -> Step {
        if self.got_connect {
            return Ok(());
        }
        let lc: LeafConnect = match serde_json::from_slice(json) {
            Ok(c) => c,
            Err(e) => {
                crate::error!("{} - {e}", self.shared.log_prefix);
                return Err(ClosedReason::ProtocolViolation);
            }
        };
        if !lc.lang.is_empty() {
            return self.refuse(
                "attempted to connect to leaf node port",
                ClosedReason::WrongPort,
            );
        }
        if lc.cluster.contains(' ') {
            return self.refuse(
                "cluster name cannot contain spaces",
                ClosedReason::ProtocolViolation,
            );
        }
        let ours = cluster_name(&self.srv);
        if !ours.is_empty() && lc.cluster == ours {
            return self.refuse(
                "remote leafnode has same cluster name",
                ClosedReason::ClusterNamesIdentical,
            );
        }
        if !lc.gateway.is_empty() {
            return self.refuse(
                &format!(
                    "Rejecting connection from gateway {:?} on the leafnode port",
                    lc.gateway
                ),
                ClosedReason::WrongGateway,
            );
        }
        {
            let mut m = self.shared.meta.lock();
            m.name = lc.name.clone();
            m.version = lc.version.clone();
            m.user = lc.user.clone();
        }
        let Some((perms, account)) = self.authenticate(json, &lc) else {
            let user = if lc.user.is_empty() {
                String::new()
            } else {
                format!(" - User {:?}", lc.user)
            };
            crate::error!("{} - authentication error{user}", self.shared.log_prefix);
            self.send_err("Authorization Violation");
            return Err(ClosedReason::AuthenticationViolation);
        };
        let Some(acc) = self.srv.accounts.lookup(account.as_bytes()) else {
            crate::error!("{} - authentication error", self.shared.log_prefix);
            self.send_err("Authorization Violation");
            return Err(ClosedReason::AuthenticationViolation);
        };
        if let Some(mv) = self.opts.leafnode.min_version.clone() {
            if !version_at_least(&lc.version, &mv) {
                // An INFO first, so a recent leaf waits instead of
                // redialing at once; the connection closes 5 s later.
                self.acc = Some(acc.clone());
                self.send_info(true);
                let text = format!("connection rejected since minimum version required is {mv:?}");
                crate::error!("{} - {text}", self.shared.log_prefix);
                self.send_err(&text);
                // nats-server's auth timer still runs and usually ends it
                // first, with its own error.
                self.refused = true;
                let shared = self.shared.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
                    shared.mark_closed(ClosedReason::MinimumVersionRequired, false);
                });
                return Ok(());
            }
        }
        self.got_connect = true;
        self.remote_name = lc.name.clone();
        if lc.is_hub {
            self.shared.leaf_spoke.store(true, Ordering::Relaxed);
        }
        if !lc.cluster.is_empty() {
            let _ = self.shared.leaf_cluster.set(lc.cluster.clone().into());
        }
        self.shared.meta.lock().account = acc.name.clone();
        self.perms = perms.clone();
        self.acc = Some(acc.clone());
        // The hub holds the user's permissions turned around: what the
        // user may publish is what this side asks the leaf for.
        let mut link_perms = Permissions {
            publish: perms.as_ref().and_then(|p| p.subscribe.clone()),
            subscribe: perms.as_ref().and_then(|p| p.publish.clone()),
            response: None,
        };
        add_deny(&mut link_perms.publish, &lc.deny_pub);
        if !lc.remote_account.is_empty() {
            if let Some(old) =
                self.srv
                    .leafs
                    .duplicate(&acc, &lc.name, &lc.cluster, &lc.remote_account)
            {
                let text = "Duplicate Remote LeafNode Connection";
                crate::error!("{} - {text} - Account:{}", old.shared.log_prefix, acc.name);
                let mut b = Vec::new();
                proto::encode::err(&mut b, text);
                old.shared.send_now(&b);
                old.shared
                    .mark_closed(ClosedReason::DuplicateRemoteLeafnodeConnection, false);
                crate::warn!(
                    "{} - Replacing connection from same server",
                    self.shared.log_prefix
                );
            }
        }
        self.remote_account = lc.remote_account.clone();
        self.isolate = lc.isolate;
        self.send_info(true);
        self.finish(
            link_perms,
            &lc.domain,
            lc.name.clone(),
            lc.server_id.clone(),
        )
    }

    /// Who an accepted leafnode is: a `leafnodes { authorization }` user,
    /// an operator-mode user JWT, or one of the server's users. Returns the
    /// user's permissions and account.
    fn authenticate(
        &mut self,
        json: &[u8],
        lc: &LeafConnect,
    ) -> Option<(Option<Permissions>, String)> {
        let opts = self.opts.clone();
        let l = &opts.leafnode;
        let default_acc = l.account.clone().unwrap_or_else(|| "$G".into());
        if let Some(u) = &l.username {
            let ok = *u == lc.user
                && crate::auth::secret_matches(l.password.as_deref().unwrap_or(""), &lc.pass);
            return ok.then_some((None, default_acc));
        }
        if !l.users.is_empty() {
            let u = l.users.iter().find(|u| {
                u.username == lc.user && crate::auth::secret_matches(&u.password, &lc.pass)
            })?;
            return Some((None, u.account.clone().unwrap_or(default_acc)));
        }
        if let Some(trust) = self.srv.trust() {
            let host = self.addr.ip().to_canonical();
            let u = trust
                .authenticate(
                    &lc.jwt,
                    (!lc.sig.is_empty()).then_some(lc.sig.as_str()),
                    &self.nonce,
                    crate::auth::jwt::ConnType::Leafnode,
                    host,
                )
                .map_err(|why| crate::debug!("{} - {why}", self.shared.log_prefix))
                .ok()?;
            self.shared.meta.lock().user = u.subject.clone();
            return Some((u.perms, u.account));
        }
        if !opts.auth_required() {
            return Some((None, default_acc));
        }
        let co: ConnectOptions = serde_json::from_slice(json).ok()?;
        let id = crate::auth::authenticate(&opts, &co, &self.nonce)?;
        Some((id.perms, id.account.unwrap_or_else(|| "$G".into())))
    }

    /// The hub's INFO on a connection this server dialed: the first one
    /// answers with CONNECT; the one answering CONNECT (`connect_info`)
    /// brings the permissions and ends the handshake.
    pub(super) fn on_info(&mut self, json: &[u8]) -> Step {
        let Some((remote, url)) = self.remote.clone() else {
            // An accepted leafnode sends INFO only to negotiate compression.
            return Ok(());
        };
        let info: ServerInfo = match serde_json::from_slice(json) {
            Ok(i) => i,
            Err(e) => {
                crate::error!("{} - {e}", self.shared.log_prefix);
                return Err(ClosedReason::ProtocolViolation);
            }
        };
        if !self.got_info {
            self.got_info = true;
            if info.client_id == 0 || info.leafnode_urls.is_empty() {
                crate::error!(
                    "{} - attempted to connect to wrong port",
                    self.shared.log_prefix
                );
                return Err(ClosedReason::WrongPort);
            }
            if info.cluster.contains(' ') {
                return self.refuse(
                    "cluster name cannot contain spaces",
                    ClosedReason::ProtocolViolation,
                );
            }
            self.nonce = info.nonce.clone();
            // The rest of the handshake is the hub's to time (as
            // nats-server's connect process timeout).
            self.deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(2);
            if info.tls_required || remote.opts.tls.is_some() {
                self.start_tls(&remote, &url)?;
            }
            self.shared.headers.store(info.headers, Ordering::Relaxed);
            self.remote_name = if info.server_name.is_empty() {
                info.server_id.clone()
            } else {
                info.server_name.clone()
            };
            if !info.cluster.is_empty() {
                let _ = self.shared.leaf_cluster.set(info.cluster.clone().into());
            }
            let mut urls: Vec<String> = info
                .leafnode_urls
                .iter()
                .filter(|u| {
                    !remote
                        .opts
                        .urls
                        .iter()
                        .filter_map(|c| super::parse_url(c))
                        .any(|c| c.address() == **u)
                })
                .map(|u| format!("nats-leaf://{u}"))
                .collect();
            urls.extend(remote.opts.urls.iter().cloned());
            // Websocket remotes keep their configured URLs (the hub's
            // leafnode URLs are not websocket ones).
            let ws = remote.opts.urls.iter().any(|u| u.starts_with("ws"));
            if !ws {
                *remote.urls.lock() = urls;
            }
            self.send_connect(&remote, &url, info.headers)?;
            if !info.info_on_connect {
                let perms = self.spoke_perms(None, None);
                return self.finish(
                    perms,
                    &info.domain,
                    self.remote_name.clone(),
                    info.server_id,
                );
            }
            return Ok(());
        }
        if info.connect_info && self.link.is_none() {
            let perms = self.spoke_perms(info.import.clone(), info.export.clone());
            return self.finish(
                perms,
                &info.domain,
                self.remote_name.clone(),
                info.server_id,
            );
        }
        Ok(())
    }

    /// Starts the client side of TLS towards the hub, after its INFO.
    fn start_tls(
        &mut self,
        remote: &super::Remote,
        url: &crate::config::route_url::RouteUrl,
    ) -> Step {
        let opts = remote.opts.tls.clone().unwrap_or_default();
        let session = crate::transport::tls::client_config(&opts)
            .and_then(|c| crate::transport::tls::Session::client(c, &url.host));
        match session {
            Ok(s) => {
                let _ = self.shared.tls.set(Box::new(s));
                crate::delivery::writer::flush_in_place(&self.shared);
                Ok(())
            }
            Err(e) => {
                crate::error!("{} - TLS handshake error: {e}", self.shared.log_prefix);
                Err(ClosedReason::TlsHandshakeError)
            }
        }
    }

    /// The permissions of a dialed connection: what the hub said the user
    /// may do, with the remote's `deny_imports`/`deny_exports`.
    fn spoke_perms(
        &self,
        import: Option<serde_json::Value>,
        export: Option<serde_json::Value>,
    ) -> Permissions {
        let r = &self.remote.as_ref().expect("dialed").0.opts;
        let mut p = Permissions {
            publish: export.as_ref().map(subject_perm),
            subscribe: import.as_ref().map(subject_perm),
            response: None,
        };
        add_deny(&mut p.publish, &r.deny_exports);
        add_deny(&mut p.subscribe, &r.deny_imports);
        p
    }

    /// Sends this side's CONNECT with the remote's credentials.
    fn send_connect(
        &mut self,
        remote: &super::Remote,
        url: &crate::config::route_url::RouteUrl,
        headers: bool,
    ) -> Step {
        let acc = self
            .acc
            .clone()
            .expect("dialed connections have an account");
        let mut lc = LeafConnect {
            version: crate::config::options::NATS_VERSION.to_string(),
            server_id: self.srv.id.clone(),
            domain: self.opts.jetstream.domain.clone().unwrap_or_default(),
            name: self.srv.name.clone(),
            is_hub: remote.opts.hub,
            cluster: cluster_name(&self.srv),
            headers,
            jetstream: self.srv.jetstream.get().is_some(),
            deny_pub: remote.opts.deny_imports.clone(),
            isolate: remote.opts.request_isolation,
            compress_mode: "off".into(),
            remote_account: acc.name.clone(),
            protocol: 3,
            ..Default::default()
        };
        if let Some(path) = &remote.opts.credentials {
            let (jwt, seed) = match read_creds(path) {
                Ok(v) => v,
                Err(e) => {
                    crate::error!("{} - {e}", self.shared.log_prefix);
                    return Err(ClosedReason::ProtocolViolation);
                }
            };
            lc.jwt = jwt;
            lc.sig = sign(&seed, &self.nonce).map_err(|e| {
                crate::error!(
                    "{} - Credentials file has malformed seed: {e}",
                    self.shared.log_prefix
                );
                ClosedReason::ProtocolViolation
            })?;
        } else if let Some(seed) = &remote.opts.nkey {
            let kp = nkeys::KeyPair::from_seed(seed).map_err(|_| {
                crate::error!(
                    "{} - Remote nkey has malformed seed",
                    self.shared.log_prefix
                );
                ClosedReason::ProtocolViolation
            })?;
            lc.nkey = kp.public_key();
            lc.sig = sign(seed, &self.nonce).map_err(|_| ClosedReason::ProtocolViolation)?;
        }
        if let Some(u) = &url.user {
            lc.user = u.clone();
            match &url.pass {
                Some(p) => lc.pass = p.clone(),
                None => lc.auth_token = u.clone(),
            }
        }
        let mut b = b"CONNECT ".to_vec();
        b.extend_from_slice(&serde_json::to_vec(&lc).unwrap_or_default());
        b.extend_from_slice(b"\r\n");
        self.send(&b);
        crate::debug!(
            "{} - Remote leafnode connect msg sent",
            self.shared.log_prefix
        );
        Ok(())
    }

    /// Ends the handshake: the JetStream denies, the link registered with
    /// its interest sent, and the connect event.
    fn finish(&mut self, mut perms: Permissions, domain: &str, name: String, id: String) -> Step {
        let acc = self.acc.clone().expect("bound");
        if self.remote.is_some()
            && self
                .srv
                .leafs
                .has_hub_cluster(&acc, self.shared.remote_cluster())
        {
            return self.loop_detected(&acc.name);
        }
        // The account JWT's leafnode limit (`limits.leaf`).
        if let Some(max) = self.srv.trust().and_then(|t| t.max_leafs(&acc.name)) {
            if max != crate::auth::jwt::NO_LIMIT && self.srv.leafs.count_in(&acc) as i64 >= max {
                return self.refuse(
                    "maximum account active connections exceeded",
                    ClosedReason::MaxAccountConnectionsExceeded,
                );
            }
        }
        let opts = self.srv.opts();
        let local_domain = opts.jetstream.domain.clone().unwrap_or_default();
        crate::info!(
            "{} - JetStream using domains: local {local_domain:?}, remote {domain:?}",
            self.shared.log_prefix
        );
        let sys = crate::server::system_account_name(&opts).as_deref() == Some(&acc.name);
        let js = self.srv.jetstream.get().is_some();
        let deny: &[&str] = if !sys {
            &DENY_CLIENT_JS
        } else if local_domain != domain || !js {
            &DENY_ALL_JS
        } else {
            &[]
        };
        let deny: Vec<String> = deny.iter().map(|s| s.to_string()).collect();
        add_deny(&mut perms.publish, &deny);
        add_deny(&mut perms.subscribe, &deny);
        // Requests for this server's own domain do not leave through a
        // link to another domain.
        if js && !sys && !local_domain.is_empty() && local_domain != domain {
            add_deny(&mut perms.publish, &[format!("$JS.{local_domain}.API.>")]);
        }
        let pub_deny = perms
            .publish
            .as_ref()
            .and_then(|p| p.deny.as_ref())
            .map(|d| Arc::new(crate::auth::perms::PermList::new(d)));
        let link = Arc::new(LeafLink::new(
            self.shared.clone(),
            acc.clone(),
            self.addr,
            self.remote.is_some(),
            crate::auth::perms::ClientPerms::new(&perms),
            pub_deny,
        ));
        let isolated = opts.leafnode.isolate
            || self.isolate
            || self.remote.as_ref().is_some_and(|(r, _)| r.opts.isolate);
        link.isolated.store(isolated, Ordering::Relaxed);
        {
            let mut r = link.remote.lock();
            r.name = name;
            r.id = id;
            r.domain = domain.to_string();
            r.account = self.remote_account.clone();
            r.compression = "off".into();
        }
        self.srv.leafs.register(&link);
        if !link.solicited {
            crate::system::events::connect(&self.srv, &entry_of(&link));
        }
        crate::system::conns::announce(&self.srv, &acc);
        self.link = Some(link);
        let srv = self.srv.clone();
        let cid = self.shared.cid;
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_secs(5)).await;
            srv.leafs.clear_snapshot(cid);
        });
        Ok(())
    }
}

/// A link as the client events describe a connection.
pub(super) fn entry_of(link: &LeafLink) -> crate::server::ClientEntry {
    crate::server::ClientEntry {
        shared: link.shared.clone(),
        addr: link.addr,
        start: link.start,
    }
}

/// True when `version` is at least `min` (nats-server's
/// `versionAtLeast`: `major.minor.patch`, an optional `v`, pre-release
/// and build parts ignored; an unparsable version is not).
fn version_at_least(version: &str, min: &str) -> bool {
    let parts = |v: &str| -> Option<(u64, u64, u64)> {
        let v = v.strip_prefix('v').unwrap_or(v);
        let core = v.split(['-', '+']).next()?;
        let mut it = core.split('.');
        let p = (
            it.next()?.parse().ok()?,
            it.next()?.parse().ok()?,
            it.next()?.parse().ok()?,
        );
        it.next().is_none().then_some(p)
    };
    match (parts(version), parts(min)) {
        (Some(v), Some(m)) => v >= m,
        _ => false,
    }
}

/// Adds `subjects` to the deny list of `p`.
fn add_deny(p: &mut Option<SubjectPermission>, subjects: &[String]) {
    if subjects.is_empty() {
        return;
    }
    let p = p.get_or_insert_with(SubjectPermission::default);
    p.deny
        .get_or_insert_with(Vec::new)
        .extend(subjects.iter().cloned());
}

/// A permission as nats-server's INFO carries it (`{"allow":[..],"deny":[..]}`).
fn subject_perm(v: &serde_json::Value) -> SubjectPermission {
    let list = |k: &str| {
        v.get(k).and_then(|a| a.as_array()).map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect::<Vec<_>>()
        })
    };
    SubjectPermission {
        allow: list("allow"),
        deny: list("deny"),
    }
}

/// The user JWT and seed of a `.creds` file.
fn read_creds(path: &str) -> Result<(String, String), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("open {path}: {e}"))?;
    let mut blocks = Vec::new();
    let mut cur: Option<String> = None;
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with("-----BEGIN") {
            cur = Some(String::new());
        } else if t.starts_with("------END") || t.starts_with("-----END") {
            if let Some(b) = cur.take() {
                blocks.push(b);
            }
        } else if let Some(b) = cur.as_mut() {
            b.push_str(t);
        }
    }
    if blocks.len() < 2 {
        return Err("Credentials file malformed".into());
    }
    Ok((blocks[0].clone(), blocks[1].clone()))
}

/// The base64url signature of `nonce` by the key of `seed`.
fn sign(seed: &str, nonce: &str) -> Result<String, String> {
    use base64::Engine;
    let kp = nkeys::KeyPair::from_seed(seed).map_err(|e| e.to_string())?;
    let sig = kp.sign(nonce.as_bytes()).map_err(|e| e.to_string())?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sig))
}
