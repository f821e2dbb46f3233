//! The PING timer and reloads applied to a live connection.

use super::*;

impl Conn {
    /// Takes the reloaded options: new limits apply to this connection, and
    /// a client whose credentials no longer pass is disconnected.
    pub(super) fn apply_reload(&mut self) -> Step {
        let new = self.srv.opts();
        let new = if self.is_ws() {
            Arc::new(crate::auth::for_websocket(&new))
        } else {
            new
        };
        self.parser.set_max_control_line(new.max_control_line);
        self.shared.trace.store(new.trace, Ordering::Relaxed);
        let was = std::mem::replace(&mut self.opts, new);
        // The server's max_payload, lowered by the client's JWT limit.
        let pay = self.effective_limits().0;
        self.parser
            .set_max_payload(pay.unwrap_or(self.opts.max_payload));
        let auth_changed = was.token != self.opts.token
            || was.users != self.opts.users
            || was.nkeys != self.opts.nkeys;
        let auth_changed = auth_changed
            || was.auth_users != self.opts.auth_users
            || was.default_permissions != self.opts.default_permissions;
        let auth_changed = auth_changed
            || was.operators != self.opts.operators
            || was.trusted_keys != self.opts.trusted_keys
            || was.resolver_preload != self.opts.resolver_preload;
        if !self.connected || !auth_changed {
            return Ok(());
        }
        let connect = self.connect.clone();
        let verdict = self.authenticate(&connect);
        if let Some(id) = &verdict {
            self.set_perms(id.perms.as_ref());
        }
        if verdict.is_none() {
            let who = self.connect.user.as_deref().unwrap_or("");
            crate::error!(
                "{} - authentication error - User {who:?}",
                self.shared.log_prefix
            );
            self.send_err("Authorization Violation");
            return Err(ClosedReason::AuthenticationViolation);
        }
        Ok(())
    }

    pub(super) fn ping_timer(&mut self) -> Step {
        let interval = self.opts.ping_interval;
        if self.rtt_measured && self.last_activity.elapsed() < interval {
            return Ok(());
        }
        if self.pings_out + 1 > self.opts.ping_max {
            crate::debug!(
                "{} - Stale Client Connection - Closing",
                self.shared.log_prefix
            );
            self.send_err("Stale Connection");
            self.srv
                .stats
                .stale_clients
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            writer::flush_all(&mut self.fan.flush);
            return Err(ClosedReason::StaleConnection);
        }
        self.pings_out += 1;
        self.ping_sent.get_or_insert_with(Instant::now);
        self.send_proto(proto::encode::PING);
        writer::flush_all(&mut self.fan.flush);
        Ok(())
    }
}
