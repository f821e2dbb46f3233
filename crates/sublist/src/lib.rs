//! Subject routing: validation, the subscription trie and its match cache.
//!
//! [`Sublist`] stores opaque subscription handles (`T`) under their subject
//! and optional queue group, and answers "who is interested in this literal
//! subject?" with a shared [`SublistResult`]. Results are cached per subject;
//! the cache is invalidated precisely (only entries the changed subject can
//! match) and a generation counter lets callers keep caches of their own.
//! The crate does no IO and knows nothing of connections.

pub mod subject;
pub mod transform;

use foldhash::fast::RandomState;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

pub use subject::{
    is_literal, is_valid_literal_subject, is_valid_subject, subject_matches, subjects_collide,
};

type Map<K, V> = HashMap<K, V, RandomState>;
type Cache<T> = Map<Box<[u8]>, Arc<SublistResult<T>>>;

/// Largest number of cached match results.
pub const CACHE_MAX: usize = 1024;

/// Why an insert was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// The subject is not a valid subscription subject.
    InvalidSubject,
}

/// Everything interested in one subject: plain subscribers, and the members
/// of each queue group (one of each group gets the message).
#[derive(Debug)]
pub struct SublistResult<T> {
    /// Plain subscriptions, in nats-server's match order.
    pub psubs: Vec<T>,
    /// Queue groups: name and members.
    pub qsubs: Vec<(Box<[u8]>, Vec<T>)>,
}

impl<T> SublistResult<T> {
    fn empty() -> Self {
        SublistResult {
            psubs: Vec::new(),
            qsubs: Vec::new(),
        }
    }

    /// True when nobody is interested.
    pub fn is_empty(&self) -> bool {
        self.psubs.is_empty() && self.qsubs.is_empty()
    }
}

struct Node<T> {
    next: Option<Box<Level<T>>>,
    psubs: Vec<T>,
    qsubs: Vec<(Box<[u8]>, Vec<T>)>,
}

impl<T> Node<T> {
    fn new() -> Self {
        Node {
            next: None,
            psubs: Vec::new(),
            qsubs: Vec::new(),
        }
    }

    fn is_empty(&self) -> bool {
        self.psubs.is_empty()
            && self.qsubs.is_empty()
            && self.next.as_ref().is_none_or(|l| l.is_empty())
    }
}

struct Level<T> {
    nodes: Map<Box<[u8]>, Node<T>>,
    pwc: Option<Box<Node<T>>>,
    fwc: Option<Box<Node<T>>>,
}

impl<T> Level<T> {
    fn new() -> Self {
        Level {
            nodes: Map::default(),
            pwc: None,
            fwc: None,
        }
    }

    fn is_empty(&self) -> bool {
        self.nodes.is_empty() && self.pwc.is_none() && self.fwc.is_none()
    }
}

/// Counters about the sublist, for monitoring (`/subsz`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stats {
    /// Subscriptions stored.
    pub num_subs: u64,
    /// Cached results.
    pub num_cache: u64,
    /// Inserts ever.
    pub num_inserts: u64,
    /// Removals ever.
    pub num_removes: u64,
    /// Matches ever.
    pub num_matches: u64,
    /// Fraction of matches answered from the cache.
    pub cache_hit_rate: f64,
    /// Largest fan-out among cached results.
    pub max_fanout: u64,
    /// Average fan-out among cached results.
    pub avg_fanout: f64,
    /// Matches answered from the cache (to add up several sublists).
    pub cache_hits: u64,
    /// Fan-out of all cached results together.
    pub total_fanout: u64,
}

impl Stats {
    /// Adds another sublist's statistics (as nats-server sums accounts').
    pub fn add(&mut self, o: &Stats) {
        self.num_subs += o.num_subs;
        self.num_cache += o.num_cache;
        self.num_inserts += o.num_inserts;
        self.num_removes += o.num_removes;
        self.num_matches += o.num_matches;
        self.cache_hits += o.cache_hits;
        self.max_fanout = self.max_fanout.max(o.max_fanout);
        self.total_fanout += o.total_fanout;
        if self.num_cache > 0 && self.total_fanout > 0 {
            self.avg_fanout = self.total_fanout as f64 / self.num_cache as f64;
        }
        if self.num_matches > 0 {
            self.cache_hit_rate = self.cache_hits as f64 / self.num_matches as f64;
        }
    }
}

/// The subscription trie with its result cache.
pub struct Sublist<T> {
    root: Level<T>,
    count: u64,
    inserts: u64,
    removes: u64,
    genid: AtomicU64,
    matches: AtomicU64,
    hits: AtomicU64,
    cache: Mutex<Cache<T>>,
}

impl<T> std::fmt::Debug for Sublist<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sublist")
            .field("count", &self.count)
            .field("genid", &self.genid)
            .finish()
    }
}

impl<T: Clone + PartialEq> Default for Sublist<T> {
    fn default() -> Self {
        Self::new()
    }
}

fn tokens(subject: &[u8]) -> impl Iterator<Item = &[u8]> {
    subject.split(|&b| b == subject::SEP)
}

impl<T: Clone + PartialEq> Sublist<T> {
    /// An empty sublist.
    pub fn new() -> Self {
        Sublist {
            root: Level::new(),
            count: 0,
            inserts: 0,
            removes: 0,
            genid: AtomicU64::new(0),
            matches: AtomicU64::new(0),
            hits: AtomicU64::new(0),
            cache: Mutex::new(Map::default()),
        }
    }

    /// Number of subscriptions stored.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Changes on every insert and remove; callers may cache results
    /// tagged with it.
    pub fn genid(&self) -> u64 {
        self.genid.load(Ordering::Acquire)
    }

    /// Adds `item` under `subject` (and queue group `queue`).
    pub fn insert(&mut self, subject: &[u8], queue: Option<&[u8]>, item: T) -> Result<(), Error> {
        if !is_valid_subject(subject) {
            return Err(Error::InvalidSubject);
        }
        let mut level = &mut self.root;
        let mut toks = tokens(subject).peekable();
        let node = loop {
            let t = toks.next().expect("valid subjects have a token");
            let node: &mut Node<T> = match t {
                [subject::PWC] => level.pwc.get_or_insert_with(|| Box::new(Node::new())),
                [subject::FWC] => level.fwc.get_or_insert_with(|| Box::new(Node::new())),
                _ => level.nodes.entry(t.into()).or_insert_with(Node::new),
            };
            if toks.peek().is_none() {
                break node;
            }
            level = node.next.get_or_insert_with(|| Box::new(Level::new()));
        };
        match queue {
            None => node.psubs.push(item),
            Some(q) => match node.qsubs.iter_mut().find(|(name, _)| &**name == q) {
                Some((_, members)) => members.push(item),
                None => node.qsubs.push((q.into(), vec![item])),
            },
        }
        self.count += 1;
        self.inserts += 1;
        self.invalidate(subject);
        Ok(())
    }

    /// Removes `item` from `subject`/`queue`. Returns whether it was there.
    pub fn remove(&mut self, subject: &[u8], queue: Option<&[u8]>, item: &T) -> bool {
        if !is_valid_subject(subject) {
            return false;
        }
        let toks: Vec<&[u8]> = tokens(subject).collect();
        let removed = remove_at(&mut self.root, &toks, queue, item);
        if removed {
            self.count -= 1;
            self.removes += 1;
            self.invalidate(subject);
        }
        removed
    }

    fn invalidate(&mut self, subject: &[u8]) {
        self.genid.fetch_add(1, Ordering::AcqRel);
        let cache = self.cache.get_mut();
        if cache.is_empty() {
            return;
        }
        if is_literal(subject) {
            cache.remove(subject);
        } else {
            cache.retain(|k, _| !subject_matches(subject, k));
        }
    }

    /// Everything interested in the literal `subject`.
    pub fn match_subject(&self, subject: &[u8]) -> Arc<SublistResult<T>> {
        self.matches.fetch_add(1, Ordering::Relaxed);
        if let Some(r) = self.cache.lock().get(subject) {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return r.clone();
        }
        let mut result = SublistResult::empty();
        let mut toks: [&[u8]; 32] = [&[]; 32];
        let mut n = 0;
        let mut overflow: Vec<&[u8]> = Vec::new();
        for t in tokens(subject) {
            if t.is_empty() {
                return Arc::new(SublistResult::empty());
            }
            if n < toks.len() {
                toks[n] = t;
            } else {
                if overflow.is_empty() {
                    overflow.extend_from_slice(&toks);
                }
                overflow.push(t);
            }
            n += 1;
        }
        let all: &[&[u8]] = if overflow.is_empty() {
            &toks[..n]
        } else {
            &overflow
        };
        match_level(&self.root, all, &mut result);
        let result = Arc::new(result);
        let mut cache = self.cache.lock();
        if cache.len() >= CACHE_MAX {
            // Evict an arbitrary quarter; hot subjects come back quickly.
            let drop_n = CACHE_MAX / 4;
            let victims: Vec<Box<[u8]>> = cache.keys().take(drop_n).cloned().collect();
            for k in victims {
                cache.remove(&k);
            }
        }
        cache.insert(subject.into(), result.clone());
        result
    }

    /// Every stored subscription, for monitoring and for replaying interest.
    pub fn all(&self) -> Vec<T> {
        let mut out = Vec::new();
        collect_level(&self.root, &mut out);
        out
    }

    /// Counters for monitoring.
    pub fn stats(&self) -> Stats {
        let cache = self.cache.lock();
        let matches = self.matches.load(Ordering::Relaxed);
        let hits = self.hits.load(Ordering::Relaxed);
        let mut max_fanout = 0u64;
        let mut total = 0u64;
        for r in cache.values() {
            let f = (r.psubs.len() + r.qsubs.len()) as u64;
            max_fanout = max_fanout.max(f);
            total += f;
        }
        Stats {
            num_subs: self.count,
            num_cache: cache.len() as u64,
            num_inserts: self.inserts,
            num_removes: self.removes,
            num_matches: matches,
            cache_hit_rate: if matches > 0 {
                hits as f64 / matches as f64
            } else {
                0.0
            },
            max_fanout,
            avg_fanout: if cache.is_empty() {
                0.0
            } else {
                total as f64 / cache.len() as f64
            },
            cache_hits: hits,
            total_fanout: total,
        }
    }
}

fn add_node<T: Clone>(node: &Node<T>, result: &mut SublistResult<T>) {
    result.psubs.extend_from_slice(&node.psubs);
    for (name, members) in &node.qsubs {
        match result.qsubs.iter_mut().find(|(n, _)| n == name) {
            Some((_, m)) => m.extend_from_slice(members),
            None => result.qsubs.push((name.clone(), members.clone())),
        }
    }
}

/// Walks the trie in nats-server's order: at each level the `>` node, then
/// the `*` branch, then the literal token; `*` at the last level comes after
/// the literal match.
fn match_level<T: Clone>(mut level: &Level<T>, toks: &[&[u8]], result: &mut SublistResult<T>) {
    let mut pwc: Option<&Node<T>> = None;
    let mut node: Option<&Node<T>> = None;
    for (i, t) in toks.iter().enumerate() {
        if let Some(f) = &level.fwc {
            add_node(f, result);
        }
        pwc = level.pwc.as_deref();
        if let Some(p) = pwc {
            if let Some(next) = &p.next {
                match_level(next, &toks[i + 1..], result);
            }
        }
        node = level.nodes.get(*t);
        match node.and_then(|n| n.next.as_deref()) {
            Some(next) => level = next,
            None => {
                if i + 1 < toks.len() {
                    return;
                }
                break;
            }
        }
    }
    if let Some(n) = node {
        add_node(n, result);
    }
    if let Some(p) = pwc {
        add_node(p, result);
    }
}

fn remove_from<T: PartialEq>(node: &mut Node<T>, queue: Option<&[u8]>, item: &T) -> bool {
    match queue {
        None => match node.psubs.iter().position(|x| x == item) {
            Some(i) => {
                node.psubs.remove(i);
                true
            }
            None => false,
        },
        Some(q) => {
            let Some(gi) = node.qsubs.iter().position(|(n, _)| &**n == q) else {
                return false;
            };
            let members = &mut node.qsubs[gi].1;
            let Some(i) = members.iter().position(|x| x == item) else {
                return false;
            };
            members.swap_remove(i);
            if members.is_empty() {
                node.qsubs.remove(gi);
            }
            true
        }
    }
}

fn remove_at<T: PartialEq>(
    level: &mut Level<T>,
    toks: &[&[u8]],
    queue: Option<&[u8]>,
    item: &T,
) -> bool {
    let (t, rest) = match toks.split_first() {
        Some(x) => x,
        None => return false,
    };
    let removed;
    let empty;
    {
        let node: &mut Node<T> = match *t {
            [subject::PWC] => match level.pwc.as_deref_mut() {
                Some(n) => n,
                None => return false,
            },
            [subject::FWC] => match level.fwc.as_deref_mut() {
                Some(n) => n,
                None => return false,
            },
            _ => match level.nodes.get_mut(*t) {
                Some(n) => n,
                None => return false,
            },
        };
        removed = if rest.is_empty() {
            remove_from(node, queue, item)
        } else {
            match node.next.as_deref_mut() {
                Some(next) => {
                    let r = remove_at(next, rest, queue, item);
                    if next.is_empty() {
                        node.next = None;
                    }
                    r
                }
                None => false,
            }
        };
        empty = node.is_empty();
    }
    if removed && empty {
        match *t {
            [subject::PWC] => level.pwc = None,
            [subject::FWC] => level.fwc = None,
            _ => {
                level.nodes.remove(*t);
            }
        }
    }
    removed
}

fn collect_level<T: Clone>(level: &Level<T>, out: &mut Vec<T>) {
    let nodes = level
        .nodes
        .values()
        .chain(level.pwc.as_deref())
        .chain(level.fwc.as_deref());
    for n in nodes {
        out.extend_from_slice(&n.psubs);
        for (_, m) in &n.qsubs {
            out.extend_from_slice(m);
        }
        if let Some(next) = &n.next {
            collect_level(next, out);
        }
    }
}

/// Picks one member of a queue group uniformly at random.
pub fn pick<T>(members: &[T]) -> Option<&T> {
    match members.len() {
        0 => None,
        1 => Some(&members[0]),
        n => Some(&members[fastrand::usize(..n)]),
    }
}

#[cfg(test)]
mod tests;
