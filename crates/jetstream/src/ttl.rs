//! Per-message TTLs (`Nats-TTL`) and subject delete markers, as nats-server
//! 2.12.4 applies them: a stream that allows message TTLs remembers when
//! each message with a TTL expires; expiry (by TTL or `max_age`) removes
//! the message, or, with `subject_delete_marker_ttl`, replaces the last
//! message of a subject with a marker (`Nats-Marker-Reason: MaxAge`) that
//! itself expires after that TTL. A message whose TTL is `never` outlives
//! `max_age`.

use crate::headers as h;
use crate::stream::{Outcome, Publish, Stream};
use store::{StoreError, StoredMsg};

/// The header naming why a marker was placed.
pub const MARKER_REASON: &str = "Nats-Marker-Reason";

/// Whether a message is a subject delete marker (or a KV purge marker).
pub fn is_marker(hdr: &[u8]) -> bool {
    h::get(MARKER_REASON, hdr).is_some_and(|v| !v.is_empty())
        || h::get("KV-Operation", hdr) == Some(&b"PURGE"[..])
}

/// The TTL of a message in seconds: positive, 0 for none, -1 for never.
fn ttl_of(hdr: &[u8]) -> i64 {
    match h::get_str(h::TTL, hdr) {
        "" => 0,
        v => h::parse_ttl(v).unwrap_or(0),
    }
}

impl Stream {
    /// Notes the expiry of a message just stored.
    pub(crate) fn track_ttl(&mut self, seq: u64, ts: i64, hdr: &[u8]) {
        if !self.cfg.allow_msg_ttl || hdr.is_empty() {
            return;
        }
        let ttl = ttl_of(hdr);
        if ttl > 0 {
            self.ttls
                .insert((ts.saturating_add(ttl.saturating_mul(1_000_000_000)), seq));
        }
    }

    /// Rebuilds the expiries from the stored messages (after a restart).
    pub fn rebuild_ttls(&mut self) {
        self.ttls.clear();
        if !self.cfg.allow_msg_ttl {
            return;
        }
        let mut next = 0;
        while let Ok(m) = self.store.load_next("", next) {
            next = m.seq + 1;
            self.track_ttl(m.seq, m.ts, m.hdr());
        }
    }

    /// Whether expiry needs this model (markers, TTLs or `never`), rather
    /// than the store's own `max_age` removal.
    fn expiry_in_model(&self) -> bool {
        self.cfg.allow_msg_ttl || self.cfg.subject_delete_marker_ttl > 0
    }

    /// Expires what is due at `now`: messages past `max_age` and messages
    /// past their TTL. Returns how many messages were removed or replaced.
    pub fn expire(&mut self, now: i64) -> Result<u64, StoreError> {
        let mut changed = 0;
        let max_age = self.cfg.max_age;
        if max_age > 0 && !self.expiry_in_model() {
            return self.store.expire(now);
        }
        if max_age > 0 {
            let oldest = now - max_age;
            let mut next = 0;
            while let Ok(m) = self.store.load_next("", next) {
                if m.ts > oldest {
                    break;
                }
                next = m.seq + 1;
                if ttl_of(m.hdr()) < 0 {
                    continue;
                }
                changed += self.expire_msg(&m, now)?;
            }
        }
        while let Some(&(at, seq)) = self.ttls.first() {
            if at > now {
                break;
            }
            self.ttls.pop_first();
            match self.store.load(seq) {
                Ok(m) => changed += self.expire_msg(&m, now)?,
                Err(StoreError::NotFound) | Err(StoreError::Eof) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(changed)
    }

    /// Removes one expired message, or puts a marker in place of the last
    /// message of its subject.
    fn expire_msg(&mut self, m: &StoredMsg, now: i64) -> Result<u64, StoreError> {
        let sdm = self.cfg.subject_delete_marker_ttl;
        let last = || {
            self.store
                .subjects_state(&m.subject)
                .get(&*m.subject)
                .is_some_and(|s| s.msgs == 1)
        };
        if sdm > 0 && !is_marker(m.hdr()) && last() {
            let hdr = format!(
                "NATS/1.0\r\n{MARKER_REASON}: MaxAge\r\n{}: {}\r\n{}: sub\r\n\r\n",
                h::TTL,
                conf::format_go_duration(sdm / 1_000_000_000 * 1_000_000_000),
                h::ROLLUP
            );
            let subject = m.subject.to_string();
            let out = self.process(Publish {
                subject: &subject,
                hdr: hdr.as_bytes(),
                msg: b"",
                ts: now,
            });
            return match out {
                Outcome::Stored(_) => Ok(1),
                // A marker that cannot be stored: the message goes anyway.
                _ => self.store.remove(m.seq).map(u64::from),
            };
        }
        self.store.remove(m.seq).map(u64::from)
    }
}

#[cfg(test)]
mod tests {
    use crate::config::StreamConfig;
    use crate::stream::{Outcome, Publish, Stream};

    const S: i64 = 1_000_000_000;

    fn stream(json: &str) -> Stream {
        let mut v: serde_json::Value = serde_json::from_str(json).unwrap();
        for k in [
            "max_msgs",
            "max_bytes",
            "max_msg_size",
            "max_msgs_per_subject",
        ] {
            v[k] = (-1).into();
        }
        let cfg: StreamConfig = serde_json::from_value(v).unwrap();
        Stream::new(
            cfg,
            String::new(),
            Box::new(store::MemStore::new(Default::default())),
        )
    }

    fn put(s: &mut Stream, subject: &str, hdr: &str, ts: i64) -> u64 {
        match s.process(Publish {
            subject,
            hdr: hdr.as_bytes(),
            msg: b"x",
            ts,
        }) {
            Outcome::Stored(seq) => seq,
            o => panic!("{o:?}"),
        }
    }

    #[test]
    fn ttls_expire_and_markers_replace_the_last_message() {
        let mut s = stream(r#"{"name":"S","subjects":["a.*"],"allow_msg_ttl":true}"#);
        put(&mut s, "a.1", "NATS/1.0\r\nNats-TTL: 2s\r\n\r\n", 0);
        put(&mut s, "a.2", "NATS/1.0\r\nNats-TTL: 5\r\n\r\n", 0);
        put(&mut s, "a.3", "", 0);
        assert_eq!(s.expire(S).unwrap(), 0);
        assert_eq!(s.expire(2 * S).unwrap(), 1);
        assert_eq!(s.store.state().msgs, 2);
        assert_eq!(s.expire(5 * S).unwrap(), 1);
        assert_eq!(s.store.state().msgs, 1);

        let mut s = stream(
            r#"{"name":"S","subjects":["a.*"],"max_age":10000000000,"subject_delete_marker_ttl":3000000000,"allow_msg_ttl":true,"allow_rollup_hdrs":true}"#,
        );
        put(&mut s, "a.1", "", 0);
        put(&mut s, "a.1", "", S);
        put(&mut s, "a.2", "NATS/1.0\r\nNats-TTL: never\r\n\r\n", 0);
        // The older a.1 goes; the newer, the last of a.1, becomes a marker.
        assert_eq!(s.expire(11 * S).unwrap(), 2);
        let m = s.store.load_last("a.1").unwrap();
        assert_eq!(m.seq, 4);
        assert_eq!(
            m.hdr(),
            b"NATS/1.0\r\nNats-Marker-Reason: MaxAge\r\nNats-TTL: 3s\r\nNats-Rollup: sub\r\n\r\n"
        );
        assert!(s.store.load(3).is_ok(), "never outlives max_age");
        // The marker expires by its TTL, without a marker of its own.
        assert_eq!(s.expire(14 * S).unwrap(), 1);
        assert!(s.store.load_last("a.1").is_err());
        assert_eq!(s.store.state().msgs, 1);
    }

    #[test]
    fn ttls_are_rebuilt_from_the_store() {
        let mut s = stream(r#"{"name":"S","subjects":["a"],"allow_msg_ttl":true}"#);
        put(&mut s, "a", "NATS/1.0\r\nNats-TTL: 1s\r\n\r\n", 0);
        s.rebuild_ttls();
        assert_eq!(s.expire(S).unwrap(), 1);
    }
}
