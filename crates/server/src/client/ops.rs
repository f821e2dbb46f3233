//! PUB/HPUB (with no_responders), SUB and UNSUB.

use super::*;

impl Conn {
    pub(super) fn on_pub(&mut self, p: PubOp<'_>) -> Step {
        let header_len = match p.header_len {
            Some(_) if !self.connect.headers => {
                crate::error!("{} - message headers not supported", self.shared.log_prefix);
                return Err(ClosedReason::ProtocolViolation);
            }
            Some(0) => None,
            h => h,
        };
        if self.connect.pedantic && !sublist::is_valid_literal_subject(p.subject) {
            self.send_err("Invalid Publish Subject");
        }
        self.in_msgs += 1;
        self.in_bytes += p.payload.len() as u64;
        // Subject mappings apply first: permissions and delivery see the
        // mapped subject (as nats-server).
        let mapped = self.map_subject(p.subject);
        let subject = mapped.as_deref().map_or(p.subject, str::as_bytes);
        if let Some(perms) = self.perms.as_mut() {
            if !perms.can_publish(subject, &self.shared.replies) {
                let subject = String::from_utf8_lossy(subject);
                let text = format!(
                    "Permissions Violation for Publish to {}",
                    crate::config::go_quote(&subject)
                );
                crate::error!("{} - {text}", self.shared.log_prefix);
                self.send_err(&text);
                return Ok(());
            }
        }
        self.ok();
        if subject.is_empty() {
            // A weighted mapping chose to drop it.
            return Ok(());
        }
        let msg = Msg {
            subject,
            reply: p.reply,
            header_len,
            payload: p.payload,
        };
        let acc = self.account.clone();
        let delivered = self
            .fan
            .publish(&acc, &msg, self.shared.cid, self.connect.echo);
        if !delivered && self.connect.no_responders {
            if let Some(reply) = p.reply {
                self.no_responders(subject, reply);
            }
        }
        Ok(())
    }

    /// The subject a publish to `subject` goes to after the account's
    /// mappings (`None`: unchanged).
    fn map_subject(&self, subject: &[u8]) -> Option<String> {
        let maps = self.account.mappings.get().filter(|m| !m.is_empty())?;
        let s = std::str::from_utf8(subject).ok()?;
        let out = crate::accounts::mapping::select(maps, s, || self.srv.routes.name())?;
        if self.shared.trace.load(Ordering::Relaxed) {
            crate::trace!("{} - <<- [MAPPING {s} -> {out}]", self.shared.log_prefix);
        }
        Some(out)
    }

    /// The 503 status nats-server 2.12 sends to a requester nobody
    /// answers, naming the subject in `Nats-Subject`.
    pub(super) fn no_responders(&mut self, subject: &[u8], reply: &[u8]) {
        let result = self.account.sublist.read().match_subject(reply);
        let Some(sub) = result
            .psubs
            .iter()
            .find(|s| s.0.client.cid == self.shared.cid)
        else {
            return;
        };
        let mut bytes = std::mem::take(&mut self.scratch);
        bytes.clear();
        proto::encode::no_responders(&mut bytes, reply, &sub.0.sid, subject);
        self.send_proto(&bytes);
        self.scratch = bytes;
    }

    pub(super) fn on_sub(&mut self, subject: &[u8], queue: Option<&[u8]>, sid: &[u8]) -> Step {
        if !sublist::is_valid_subject(subject) {
            self.send_err("Invalid Subject");
            return Ok(());
        }
        if self
            .perms
            .as_ref()
            .is_some_and(|p| !p.can_subscribe(subject, queue))
        {
            let subj = crate::config::go_quote(&String::from_utf8_lossy(subject));
            let text = match queue {
                Some(q) => format!(
                    "Permissions Violation for Subscription to {subj} using queue {}",
                    crate::config::go_quote(&String::from_utf8_lossy(q))
                ),
                None => format!("Permissions Violation for Subscription to {subj}"),
            };
            crate::error!("{} - {text}", self.shared.log_prefix);
            self.send_err(&text);
            return Ok(());
        }
        let deny = self.perms.as_ref().and_then(|p| p.delivery_filter(subject));
        {
            let mut subs = self.shared.subs.lock();
            if subs.contains_key(sid) {
                drop(subs);
                self.ok();
                return Ok(());
            }
            if self.effective_limits().1.is_some_and(|m| subs.len() >= m) {
                drop(subs);
                crate::error!(
                    "{} - maximum subscriptions exceeded",
                    self.shared.log_prefix
                );
                self.send_err("maximum subscriptions exceeded");
                return Ok(());
            }
            let sub = Arc::new(Subscription {
                client: self.shared.clone(),
                subject: subject.into(),
                queue: queue.map(Into::into),
                sid: sid.into(),
                max: AtomicU64::new(0),
                delivered: AtomicU64::new(0),
                acc: self.account.clone(),
                qw: AtomicU32::new(1),
                deny,
                origin: None,
            });
            subs.insert(sid.into(), sub.clone());
            drop(subs);
            let _ = self
                .account
                .sublist
                .write()
                .insert(subject, queue, SubRef(sub.clone()));
            crate::leafs::interest(&self.srv, &sub, 1);
        }
        self.ok();
        Ok(())
    }

    pub(super) fn on_unsub(&mut self, sid: &[u8], max: Option<u64>) -> Step {
        let sub = self.shared.subs.lock().get(sid).cloned();
        if let Some(sub) = sub {
            match max {
                Some(m) if m > 0 && sub.delivered.load(Ordering::Acquire) < m => {
                    sub.max.store(m, Ordering::Release);
                }
                _ => remove_sub(&self.srv, &sub),
            }
        }
        self.ok();
        Ok(())
    }
}
