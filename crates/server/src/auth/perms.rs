//! Per-user publish and subscribe permissions, as nats-server enforces
//! them: allow and deny lists with wildcards (deny wins), queue-specific
//! subscribe entries (`"subject queue"`), and `allow_responses`, which lets
//! a client answer the requests it received.

use crate::config::types::{Permissions, ResponsePermission, SubjectPermission};
use std::collections::HashMap;
use std::time::{Duration, Instant};
use sublist::Sublist;

/// Most cached publish decisions per connection.
const PUB_CACHE_MAX: usize = 1024;
/// Most tracked reply subjects per connection.
const REPLIES_MAX: usize = 10_000;

/// One allow or deny list, as a sublist of patterns.
#[derive(Default)]
pub struct PermList {
    sl: Sublist<u32>,
    patterns: Vec<Box<[u8]>>,
}

impl std::fmt::Debug for PermList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PermList")
            .field("entries", &self.patterns.len())
            .finish()
    }
}

impl PermList {
    /// Builds a list from config entries (`subject` or `subject queue`).
    pub fn new(entries: &[String]) -> PermList {
        let mut l = PermList::default();
        for (i, e) in entries.iter().enumerate() {
            let mut parts = e.split_whitespace();
            let Some(subject) = parts.next() else {
                continue;
            };
            let queue = parts.next();
            if l.sl
                .insert(subject.as_bytes(), queue.map(str::as_bytes), i as u32)
                .is_ok()
            {
                l.patterns.push(subject.as_bytes().into());
            }
        }
        l
    }

    /// True when a plain entry matches `subject` (tokens taken literally,
    /// so `foo.*` matches the entries `foo.*`, `foo.>` and `>`).
    pub fn matches(&self, subject: &[u8]) -> bool {
        !self.sl.match_subject(subject).psubs.is_empty()
    }

    /// Plain and queue matches of `subject`; the queue result tells
    /// whether `queue` is named by a queue entry.
    fn matches_queue(&self, subject: &[u8], queue: &[u8]) -> (bool, Option<bool>) {
        let r = self.sl.match_subject(subject);
        let plain = !r.psubs.is_empty();
        if r.qsubs.is_empty() {
            return (plain, None);
        }
        (plain, Some(r.qsubs.iter().any(|(q, _)| &**q == queue)))
    }

    /// True when some entry and the (possibly wildcard) `subject` can
    /// match a common subject.
    pub fn intersects(&self, subject: &[u8]) -> bool {
        self.patterns
            .iter()
            .any(|p| sublist::subjects_collide(p, subject))
    }
}

fn list(p: &Option<SubjectPermission>, allow: bool) -> Option<PermList> {
    let p = p.as_ref()?;
    let entries = if allow { &p.allow } else { &p.deny };
    entries.as_ref().map(|e| PermList::new(e))
}

/// A connection's permissions, with a cache of publish decisions and the
/// reply subjects it may answer.
#[derive(Debug, Default)]
pub struct ClientPerms {
    pub_allow: Option<PermList>,
    pub_deny: Option<PermList>,
    sub_allow: Option<PermList>,
    sub_deny: Option<std::sync::Arc<PermList>>,
    /// The `allow_responses` setting.
    pub resp: Option<ResponsePermission>,
    pub_cache: HashMap<Box<[u8]>, bool>,
}

/// Reply subjects of requests delivered to a client with `allow_responses`,
/// shared with the publishers that deliver them.
#[derive(Debug, Default)]
pub struct Replies {
    map: HashMap<Box<[u8]>, (i64, Instant)>,
}

impl Replies {
    /// Records the reply subject of a delivered request.
    pub fn note(&mut self, reply: &[u8], ttl: Option<Duration>) {
        if self.map.len() >= REPLIES_MAX {
            let ttl = ttl.unwrap_or(Duration::from_secs(120));
            self.map.retain(|_, (_, at)| at.elapsed() <= ttl);
            if self.map.len() >= REPLIES_MAX {
                self.map.clear();
            }
        }
        self.map.insert(reply.into(), (0, Instant::now()));
    }

    /// Uses one response to `subject`, if one is allowed.
    fn answer(&mut self, subject: &[u8], resp: &ResponsePermission) -> bool {
        let Some((n, at)) = self.map.get_mut(subject) else {
            return false;
        };
        *n += 1;
        let expired = resp.expires.is_some_and(|e| at.elapsed() > e);
        let over = resp.max_msgs > 0 && *n > resp.max_msgs;
        if expired || over {
            self.map.remove(subject);
            return false;
        }
        if resp.max_msgs > 0 && *n == resp.max_msgs {
            self.map.remove(subject);
        }
        true
    }
}

impl ClientPerms {
    /// Permissions from the config; `None` when they restrict nothing.
    pub fn new(p: &Permissions) -> Option<ClientPerms> {
        let c = ClientPerms {
            pub_allow: list(&p.publish, true),
            pub_deny: list(&p.publish, false),
            sub_allow: list(&p.subscribe, true),
            sub_deny: list(&p.subscribe, false).map(std::sync::Arc::new),
            resp: p.response.clone(),
            pub_cache: HashMap::new(),
        };
        let unrestricted = c.pub_allow.is_none()
            && c.pub_deny.is_none()
            && c.sub_allow.is_none()
            && c.sub_deny.is_none()
            && c.resp.is_none();
        (!unrestricted).then_some(c)
    }

    /// May this client publish to `subject`? `replies` are the requests it
    /// received, for `allow_responses`.
    pub fn can_publish(&mut self, subject: &[u8], replies: &parking_lot::Mutex<Replies>) -> bool {
        let allowed = match self.pub_cache.get(subject) {
            Some(&a) => a,
            None => {
                let mut a = self.pub_allow.as_ref().is_none_or(|l| l.matches(subject));
                if a {
                    a = !self.pub_deny.as_ref().is_some_and(|l| l.matches(subject));
                }
                if self.pub_cache.len() >= PUB_CACHE_MAX {
                    self.pub_cache.clear();
                }
                self.pub_cache.insert(subject.into(), a);
                a
            }
        };
        allowed
            || self
                .resp
                .as_ref()
                .is_some_and(|r| replies.lock().answer(subject, r))
    }

    /// May this client subscribe to `subject` (in `queue`)?
    pub fn can_subscribe(&self, subject: &[u8], queue: Option<&[u8]>) -> bool {
        let mut allowed = true;
        if let Some(allow) = &self.sub_allow {
            match queue {
                Some(q) => {
                    let (plain, queued) = allow.matches_queue(subject, q);
                    allowed = queued.unwrap_or(plain);
                }
                None => allowed = allow.matches(subject),
            }
        }
        if allowed {
            if let Some(deny) = &self.sub_deny {
                match queue {
                    Some(q) => {
                        let (plain, queued) = deny.matches_queue(subject, q);
                        allowed = !queued.unwrap_or(plain);
                    }
                    None => allowed = !deny.matches(subject),
                }
            }
        }
        allowed
    }

    /// For a wildcard subscription that a deny entry overlaps: the deny
    /// list, to filter messages at delivery.
    pub fn delivery_filter(&self, subject: &[u8]) -> Option<std::sync::Arc<PermList>> {
        let deny = self.sub_deny.as_ref()?;
        (!sublist::is_literal(subject) && deny.intersects(subject)).then(|| deny.clone())
    }

    /// True when this client tracks reply subjects (allow_responses).
    pub fn tracks_replies(&self) -> bool {
        self.resp.is_some()
    }
}

/// A user's permissions as nats-server's `Permissions` JSON:
/// `publish`, `subscribe` and `responses` (`max`, `ttl` in nanoseconds),
/// each when set.
pub fn permissions_json(p: &crate::config::types::Permissions) -> serde_json::Value {
    // nats-server lists them from its permission sublists: in order.
    let sorted = |sp: &crate::config::types::SubjectPermission| {
        let mut sp = sp.clone();
        for l in [&mut sp.allow, &mut sp.deny].into_iter().flatten() {
            l.sort();
        }
        perm_json(&sp)
    };
    let mut m = serde_json::Map::new();
    if let Some(p) = &p.publish {
        m.insert("publish".into(), sorted(p));
    }
    if let Some(s) = &p.subscribe {
        m.insert("subscribe".into(), sorted(s));
    }
    if let Some(r) = &p.response {
        m.insert(
            "responses".into(),
            serde_json::json!({
                "max": r.max_msgs,
                "ttl": r.expires.map(|d| d.as_nanos() as u64).unwrap_or(0),
            }),
        );
    }
    serde_json::Value::Object(m)
}

/// JSON form of a subject permission, as sent in route `INFO`.
pub fn perm_json(p: &crate::config::types::SubjectPermission) -> serde_json::Value {
    let mut m = serde_json::Map::new();
    if let Some(a) = &p.allow {
        m.insert("allow".into(), serde_json::json!(a));
    }
    if let Some(d) = &p.deny {
        m.insert("deny".into(), serde_json::json!(d));
    }
    serde_json::Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn perms(
        pub_allow: Option<&[&str]>,
        pub_deny: Option<&[&str]>,
        sub_allow: Option<&[&str]>,
        sub_deny: Option<&[&str]>,
    ) -> ClientPerms {
        let sp = |a: Option<&[&str]>, d: Option<&[&str]>| {
            Some(SubjectPermission {
                allow: a.map(|v| v.iter().map(|s| s.to_string()).collect()),
                deny: d.map(|v| v.iter().map(|s| s.to_string()).collect()),
            })
        };
        ClientPerms::new(&Permissions {
            publish: sp(pub_allow, pub_deny),
            subscribe: sp(sub_allow, sub_deny),
            response: None,
        })
        .unwrap()
    }

    #[test]
    fn allow_deny_and_queues() {
        let r = parking_lot::Mutex::new(Replies::default());
        let mut p = perms(
            Some(&["orders.>", "_INBOX.>"]),
            Some(&["orders.secret"]),
            Some(&["did-notify.>", "work q1"]),
            Some(&["did-notify.private"]),
        );
        assert!(p.can_publish(b"orders.new", &r));
        assert!(!p.can_publish(b"orders.secret", &r), "deny wins");
        assert!(!p.can_publish(b"users.x", &r));
        assert!(p.can_publish(b"_INBOX.abc", &r));
        assert!(p.can_subscribe(b"did-notify.x", None));
        assert!(p.can_subscribe(b"did-notify.*", None));
        assert!(!p.can_subscribe(b"did-notify.private", None));
        assert!(!p.can_subscribe(b">", None));
        assert!(p.can_subscribe(b"work", Some(b"q1")));
        assert!(!p.can_subscribe(b"work", Some(b"q2")));
        assert!(!p.can_subscribe(b"work", None));
        assert!(p.delivery_filter(b"did-notify.>").is_some());
        assert!(p.delivery_filter(b"did-notify.x").is_none());
    }

    #[test]
    fn responses() {
        let mut p = ClientPerms::new(&Permissions {
            publish: Some(SubjectPermission {
                allow: Some(vec![]),
                deny: None,
            }),
            subscribe: None,
            response: Some(ResponsePermission {
                max_msgs: 1,
                expires: None,
            }),
        })
        .unwrap();
        let replies = parking_lot::Mutex::new(Replies::default());
        assert!(!p.can_publish(b"_INBOX.1", &replies));
        replies.lock().note(b"_INBOX.1", None);
        assert!(p.can_publish(b"_INBOX.1", &replies));
        assert!(!p.can_publish(b"_INBOX.1", &replies), "one response only");
        // With an expiry, a late response is refused.
        let mut p = ClientPerms::new(&Permissions {
            publish: Some(SubjectPermission {
                allow: Some(vec![]),
                deny: None,
            }),
            subscribe: None,
            response: Some(ResponsePermission {
                max_msgs: -1,
                expires: Some(Duration::from_millis(20)),
            }),
        })
        .unwrap();
        replies
            .lock()
            .note(b"_INBOX.2", Some(Duration::from_millis(20)));
        assert!(p.can_publish(b"_INBOX.2", &replies));
        assert!(p.can_publish(b"_INBOX.2", &replies), "unlimited responses");
        std::thread::sleep(Duration::from_millis(40));
        assert!(!p.can_publish(b"_INBOX.2", &replies), "expired");
    }
}
