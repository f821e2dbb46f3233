//! CONNECT: options, authentication, the account and its limits, and
//! the permissions a client gets.

use super::*;

impl Conn {
    pub(super) fn on_connect(&mut self, json: &[u8]) -> Step {
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
            // Until a PING/PONG is measured, the connect-time estimate
            // (INFO sent to CONNECT received), as nats-server reports.
            if m.rtt.is_none() {
                m.rtt = Some(self.started.elapsed());
            }
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
        self.connect = opts;
        let first = !self.connected;
        self.connected = true;
        self.ok();
        self.apply_jwt_limits();
        if first {
            self.connect_event();
        }
        Ok(())
    }

    /// The client came over websocket.
    pub(super) fn is_ws(&self) -> bool {
        self.shared.ws_compress.is_some()
    }

    /// Counts this client in `account`, refusing it (as nats-server does)
    /// when the account's JWT connection limit is reached.
    pub(super) fn count_in(&mut self, account: &Arc<crate::accounts::Account>) -> Step {
        if self
            .counted
            .as_ref()
            .is_some_and(|a| Arc::ptr_eq(a, account))
        {
            return Ok(());
        }
        if let Some(max) = self.srv.trust().and_then(|t| t.max_conns(&account.name)) {
            // The account's connections here and on the other servers.
            let all = account.clients.load(Ordering::Relaxed)
                + account.remote_total.load(Ordering::Relaxed);
            if max != crate::auth::jwt::NO_LIMIT && all >= max {
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
            crate::system::conns::announce(&self.srv, &prev);
        }
        account.clients.fetch_add(1, Ordering::Relaxed);
        crate::system::conns::announce(&self.srv, account);
        Ok(())
    }

    /// The largest payload and the most subscriptions this client may
    /// use: its JWT's limits lowered to the server's (`None`: no limit).
    pub(super) fn effective_limits(&self) -> (Option<usize>, Option<usize>) {
        use crate::auth::jwt::{min_limit, NO_LIMIT};
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
    pub(super) fn apply_jwt_limits(&mut self) {
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
    pub(super) fn authenticate(&mut self, c: &ConnectOptions) -> Option<crate::auth::Identity> {
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
            crate::auth::jwt::ConnType::Websocket
        } else {
            crate::auth::jwt::ConnType::Standard
        };
        let host = self
            .sock
            .peer_addr()
            .map(|a| crate::util::canonical(a).ip())
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
                {
                    let mut m = self.shared.meta.lock();
                    m.user = u.subject.clone();
                    m.jwt_issued_at = Some(u.issued_at);
                }
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
    pub(super) fn set_perms(&mut self, p: Option<&crate::config::types::Permissions>) {
        self.perms = p.and_then(crate::auth::perms::ClientPerms::new);
        self.shared.meta.lock().permissions = p.map(crate::auth::perms::permissions_json);
        let resp = self.perms.as_ref().and_then(|p| p.resp.clone());
        *self.shared.replies_ttl.lock() = resp.as_ref().and_then(|r| r.expires);
        self.shared
            .tracks_replies
            .store(resp.is_some(), Ordering::Relaxed);
    }

    pub(super) fn auth_violation(&mut self) -> ClosedReason {
        crate::error!("{} - Authorization Error", self.shared.log_prefix);
        self.send_err("Authorization Violation");
        ClosedReason::AuthenticationViolation
    }
}
