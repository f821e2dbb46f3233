//! The bookkeeping both stores share: the sequence index, per-subject state,
//! totals and the limit rules. Where a message's bytes live is the store's `P`.

use crate::{filter_matches, Discard, SimpleState, StoreConfig, StoreError, StreamState};
use std::cell::Cell;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// At most this many interior deletes are listed by `state`.
pub(crate) const MAX_DELETED_LISTED: usize = 1 << 20;

/// What a purge of the whole stream (no filter) comes down to, as nats-server plans it.
pub(crate) enum WholePurge {
    /// Remove everything.
    All,
    /// Compact below this sequence.
    Compact(u64),
    /// Nothing to do.
    Nothing,
}

/// The read-only `MsgStore` methods, answered from the index alike by both stores.
macro_rules! index_queries {
    () => {
        fn seq_from_time(&self, ts: i64) -> u64 {
            self.core.seq_from_time(ts)
        }

        fn filtered_state(&self, start: u64, filter: &str) -> SimpleState {
            self.core.filtered_state(start, filter)
        }

        fn count_between(&self, start: u64, end: u64, filter: &str) -> u64 {
            self.core.count_between(start, end, filter)
        }

        fn subjects_state(&self, filter: &str) -> BTreeMap<String, SimpleState> {
            self.core.subjects_state(filter)
        }

        fn all_last_seqs(&self) -> Vec<u64> {
            self.core.all_last_seqs()
        }

        fn subject_for_seq(&self, seq: u64) -> Result<Arc<str>> {
            let m = self.core.msgs.get(&seq).ok_or(StoreError::NotFound)?;
            Ok(self.core.subject_name(m.subj).clone())
        }
    };
}
pub(crate) use index_queries;

/// Whether a config update must trim subjects at once: as nats-server's
/// stores, only when the per-subject limit was unset (0) or is lowered from
/// a positive value (from -1 it applies as subjects are next written).
pub(crate) fn per_subject_tightened(old: &StoreConfig, new: &StoreConfig) -> bool {
    let (o, n) = (old.max_msgs_per_subject, new.max_msgs_per_subject);
    n > 0 && (o == 0 || n < o)
}

/// One indexed message.
pub(crate) struct Slot<P> {
    pub subj: u32,
    pub ts: i64,
    pub size: u64,
    pub p: P,
}

/// Per-subject state. First and last are fixed lazily after removals.
struct Subj {
    name: Arc<str>,
    msgs: u64,
    first: Cell<u64>,
    last: Cell<u64>,
    first_stale: Cell<bool>,
    last_stale: Cell<bool>,
}

pub(crate) struct Core<P> {
    pub cfg: StoreConfig,
    pub msgs: BTreeMap<u64, Slot<P>>,
    subjects: Vec<Option<Subj>>,
    free: Vec<u32>,
    by_name: HashMap<Arc<str>, u32>,
    pub first_seq: u64,
    pub first_ts: i64,
    pub last_seq: u64,
    pub last_ts: i64,
    pub bytes: u64,
}

impl<P> Core<P> {
    pub fn new(cfg: StoreConfig) -> Self {
        Core {
            cfg,
            msgs: BTreeMap::new(),
            subjects: Vec::new(),
            free: Vec::new(),
            by_name: HashMap::new(),
            first_seq: 0,
            first_ts: 0,
            last_seq: 0,
            last_ts: 0,
            bytes: 0,
        }
    }

    fn subj(&self, id: u32) -> &Subj {
        self.subjects[id as usize]
            .as_ref()
            .expect("live subject id")
    }

    /// The subject name of an indexed message.
    pub fn subject_name(&self, id: u32) -> &Arc<str> {
        &self.subj(id).name
    }

    fn lookup(&self, subject: &str) -> Option<u32> {
        self.by_name.get(subject).copied()
    }

    /// The first live sequence of a subject.
    fn subj_first(&self, id: u32) -> u64 {
        let s = self.subj(id);
        if s.first_stale.get() {
            let from = s.first.get().max(self.first_seq);
            let to = s.last.get().max(from);
            if let Some((&seq, _)) = self.msgs.range(from..=to).find(|(_, m)| m.subj == id) {
                s.first.set(seq);
            }
            s.first_stale.set(false);
        }
        s.first.get()
    }

    /// The last live sequence of a subject.
    fn subj_last(&self, id: u32) -> u64 {
        let s = self.subj(id);
        if s.last_stale.get() {
            let first = self.subj_first(id);
            let to = s.last.get().min(self.last_seq).max(first);
            if let Some((&seq, _)) = self
                .msgs
                .range(first..=to)
                .rev()
                .find(|(_, m)| m.subj == id)
            {
                s.last.set(seq);
            }
            s.last_stale.set(false);
        }
        s.last.get()
    }

    fn subj_state(&self, id: u32) -> SimpleState {
        SimpleState {
            msgs: self.subj(id).msgs,
            first: self.subj_first(id),
            last: self.subj_last(id),
        }
    }

    /// Checks the `discard: new` rules for a message of `size` bytes on `subject`.
    pub fn check_discard_new(&self, subject: &str, size: u64) -> Result<(), StoreError> {
        if self.cfg.discard != Discard::New {
            return Ok(());
        }
        let maxp = self.cfg.max_msgs_per_subject;
        let id = self.lookup(subject);
        let at_subject_limit = maxp > 0 && id.is_some_and(|id| self.subj(id).msgs >= maxp as u64);
        if at_subject_limit && self.cfg.discard_new_per_subject {
            return Err(StoreError::MaxMsgsPerSubject);
        }
        let msgs = self.msgs.len() as u64;
        if self.cfg.max_msgs > 0 && msgs >= self.cfg.max_msgs as u64 && !at_subject_limit {
            return Err(StoreError::MaxMsgs);
        }
        if self.cfg.max_bytes > 0 && self.bytes + size >= self.cfg.max_bytes as u64 {
            if !at_subject_limit {
                return Err(StoreError::MaxBytes);
            }
            // The subject's oldest message would make room only if it is at least as big.
            let id = id.expect("subject at limit exists");
            let oldest = self.msgs.get(&self.subj_first(id)).map_or(0, |m| m.size);
            if oldest < size {
                return Err(StoreError::MaxBytes);
            }
        }
        Ok(())
    }

    /// Indexes a message at `seq`, which must be above every sequence so far.
    /// Returns its subject id.
    pub fn insert(&mut self, seq: u64, subject: &str, ts: i64, size: u64, p: P) -> u32 {
        let id = match self.lookup(subject) {
            Some(id) => {
                let s = self.subjects[id as usize].as_mut().expect("live subject");
                if s.msgs == 0 {
                    s.first.set(seq);
                    s.first_stale.set(false);
                }
                s.msgs += 1;
                s.last.set(seq);
                s.last_stale.set(false);
                id
            }
            None => {
                let name: Arc<str> = Arc::from(subject);
                let s = Subj {
                    name: name.clone(),
                    msgs: 1,
                    first: Cell::new(seq),
                    last: Cell::new(seq),
                    first_stale: Cell::new(false),
                    last_stale: Cell::new(false),
                };
                let id = match self.free.pop() {
                    Some(id) => {
                        self.subjects[id as usize] = Some(s);
                        id
                    }
                    None => {
                        self.subjects.push(Some(s));
                        (self.subjects.len() - 1) as u32
                    }
                };
                self.by_name.insert(name, id);
                id
            }
        };
        if self.msgs.is_empty() {
            self.first_seq = seq;
            self.first_ts = ts;
        }
        self.msgs.insert(
            seq,
            Slot {
                subj: id,
                ts,
                size,
                p,
            },
        );
        self.bytes += size;
        self.last_seq = seq;
        self.last_ts = ts;
        id
    }

    /// Whether `seq` may be skipped: it is the next sequence, or the store is
    /// empty and it lies ahead (nats-server's `SkipMsg`, relaxed for an empty store).
    pub fn check_skip(&self, seq: u64) -> Result<(), StoreError> {
        let next = seq == self.last_seq + 1;
        let ahead = self.msgs.is_empty() && seq > self.last_seq;
        if seq > crate::record::MAX_SEQ || !(next || ahead) {
            return Err(StoreError::SequenceMismatch);
        }
        Ok(())
    }

    /// Moves the last sequence forward without a message (a skip or a marker).
    pub fn advance_last(&mut self, seq: u64) {
        if seq > self.last_seq {
            self.last_seq = seq;
        }
        if self.msgs.is_empty() {
            self.first_seq = self.last_seq + 1;
            self.first_ts = 0;
        }
    }

    /// Removes `seq` from the index and the totals.
    pub fn remove(&mut self, seq: u64) -> Option<Slot<P>> {
        let slot = self.msgs.remove(&seq)?;
        self.bytes = self.bytes.saturating_sub(slot.size);
        let id = slot.subj;
        let s = self.subjects[id as usize].as_mut().expect("live subject");
        s.msgs -= 1;
        if s.msgs == 0 {
            let name = s.name.clone();
            self.subjects[id as usize] = None;
            self.by_name.remove(&name);
            self.free.push(id);
        } else {
            if s.first.get() == seq {
                s.first.set(seq + 1);
                s.first_stale.set(true);
            }
            if s.last.get() == seq {
                s.last.set(seq.saturating_sub(1));
                s.last_stale.set(true);
            }
        }
        if seq == self.first_seq {
            match self.msgs.first_key_value() {
                Some((&first, m)) => {
                    self.first_seq = first;
                    self.first_ts = m.ts;
                }
                None => {
                    self.first_seq = self.last_seq + 1;
                    self.first_ts = 0;
                }
            }
        }
        Some(slot)
    }

    /// The next message the limits (discard old) require to go, after storing on `subj`.
    pub fn limit_victim(&self, subj: Option<u32>) -> Option<u64> {
        let maxp = self.cfg.max_msgs_per_subject;
        if let Some(id) = subj {
            if maxp > 0
                && self
                    .subjects
                    .get(id as usize)
                    .is_some_and(|s| s.as_ref().is_some_and(|s| s.msgs > maxp as u64))
            {
                return Some(self.subj_first(id));
            }
        }
        if self.cfg.discard != Discard::Old || self.msgs.is_empty() {
            return None;
        }
        let over_msgs = self.cfg.max_msgs > 0 && self.msgs.len() as u64 > self.cfg.max_msgs as u64;
        let over_bytes = self.cfg.max_bytes > 0 && self.bytes > self.cfg.max_bytes as u64;
        (over_msgs || over_bytes).then_some(self.first_seq)
    }

    /// Every subject over the per-subject limit gives its oldest message, one at a time.
    pub fn any_subject_victim(&self) -> Option<u64> {
        let maxp = self.cfg.max_msgs_per_subject;
        if maxp <= 0 {
            return None;
        }
        (0..self.subjects.len() as u32)
            .find(|&id| {
                self.subjects[id as usize]
                    .as_ref()
                    .is_some_and(|s| s.msgs > maxp as u64)
            })
            .map(|id| self.subj_first(id))
    }

    /// The oldest message if it is past `max_age` at `now`.
    pub fn age_victim(&self, now: i64) -> Option<u64> {
        if self.cfg.max_age <= 0 {
            return None;
        }
        let (&seq, m) = self.msgs.first_key_value()?;
        (m.ts <= now.saturating_sub(self.cfg.max_age)).then_some(seq)
    }

    /// Plans a purge without a subject filter.
    pub fn whole_purge(&self, seq: u64, keep: u64) -> WholePurge {
        if keep == 0 && seq == 0 {
            return WholePurge::All;
        }
        if seq > 1 {
            return WholePurge::Compact(seq);
        }
        let msgs = self.msgs.len() as u64;
        if keep > 0 && keep < msgs {
            return WholePurge::Compact(self.last_seq - keep + 1);
        }
        WholePurge::Nothing
    }

    /// The sequences a filtered purge removes, oldest first.
    pub fn purge_victims(&self, filter: &str, seq: u64, keep: u64) -> Vec<u64> {
        let ss = self.filtered_state(0, filter);
        if ss.msgs == 0 {
            return Vec::new();
        }
        let mut max = ss.msgs;
        if keep > 0 {
            if keep >= ss.msgs {
                return Vec::new();
            }
            max = ss.msgs - keep;
        }
        let last = if seq > 1 { seq - 1 } else { ss.last };
        let mut out = Vec::new();
        let mut cache: HashMap<u32, bool> = HashMap::new();
        for (&s, m) in self.msgs.range(ss.first..=last.max(ss.first)) {
            if s > last || out.len() as u64 >= max {
                break;
            }
            let hit = *cache
                .entry(m.subj)
                .or_insert_with(|| filter_matches(filter, self.subject_name(m.subj)));
            if hit {
                out.push(s);
            }
        }
        out
    }

    /// Clears the index (a full purge); the next sequence becomes `next`.
    pub fn clear(&mut self, next: u64) -> u64 {
        let purged = self.msgs.len() as u64;
        self.msgs.clear();
        self.subjects.clear();
        self.free.clear();
        self.by_name.clear();
        self.bytes = 0;
        self.last_seq = self.last_seq.max(next.saturating_sub(1));
        self.first_seq = self.last_seq + 1;
        self.first_ts = 0;
        purged
    }

    /// The first message at or after `start` matching `filter`.
    pub fn next_match(&self, filter: &str, start: u64) -> Option<u64> {
        let start = start.max(self.first_seq);
        if filter.is_empty() || filter == ">" {
            return self.msgs.range(start..).next().map(|(&s, _)| s);
        }
        if sublist::is_literal(filter.as_bytes()) {
            let id = self.lookup(filter)?;
            let from = start.max(self.subj_first(id));
            return self
                .msgs
                .range(from..)
                .find(|(_, m)| m.subj == id)
                .map(|(&s, _)| s);
        }
        let mut cache: HashMap<u32, bool> = HashMap::new();
        self.msgs
            .range(start..)
            .find(|(_, m)| {
                *cache
                    .entry(m.subj)
                    .or_insert_with(|| filter_matches(filter, self.subject_name(m.subj)))
            })
            .map(|(&s, _)| s)
    }

    /// The last message matching `filter`.
    pub fn last_match(&self, filter: &str) -> Option<u64> {
        if filter.is_empty() || filter == ">" {
            return self.msgs.last_key_value().map(|(&s, _)| s);
        }
        if sublist::is_literal(filter.as_bytes()) {
            return self.lookup(filter).map(|id| self.subj_last(id));
        }
        self.matching(filter).map(|id| self.subj_last(id)).max()
    }

    fn matching<'a>(&'a self, filter: &'a str) -> impl Iterator<Item = u32> + 'a {
        self.subjects
            .iter()
            .enumerate()
            .filter(move |(_, s)| s.as_ref().is_some_and(|s| filter_matches(filter, &s.name)))
            .map(|(i, _)| i as u32)
    }

    pub fn filtered_state(&self, start: u64, filter: &str) -> SimpleState {
        let all = filter.is_empty() || filter == ">";
        if start <= self.first_seq {
            if all {
                return self.totals();
            }
            let ids: Vec<u32> = if sublist::is_literal(filter.as_bytes()) {
                self.lookup(filter).into_iter().collect()
            } else {
                self.matching(filter).collect()
            };
            let mut ss = SimpleState::default();
            for id in ids {
                let s = self.subj_state(id);
                ss.msgs += s.msgs;
                if ss.first == 0 || s.first < ss.first {
                    ss.first = s.first;
                }
                ss.last = ss.last.max(s.last);
            }
            return ss;
        }
        let mut ss = SimpleState::default();
        let mut cache: HashMap<u32, bool> = HashMap::new();
        for (&seq, m) in self.msgs.range(start..) {
            let hit = all
                || *cache
                    .entry(m.subj)
                    .or_insert_with(|| filter_matches(filter, self.subject_name(m.subj)));
            if hit {
                ss.msgs += 1;
                if ss.first == 0 {
                    ss.first = seq;
                }
                ss.last = seq;
            }
        }
        ss
    }

    /// Messages matching `filter` with a sequence in `start..end`.
    pub fn count_between(&self, start: u64, end: u64, filter: &str) -> u64 {
        if start >= end {
            return 0;
        }
        let all = filter.is_empty() || filter == ">";
        let mut cache: HashMap<u32, bool> = HashMap::new();
        self.msgs
            .range(start..end)
            .filter(|(_, m)| {
                all || *cache
                    .entry(m.subj)
                    .or_insert_with(|| filter_matches(filter, self.subject_name(m.subj)))
            })
            .count() as u64
    }

    fn totals(&self) -> SimpleState {
        if self.msgs.is_empty() {
            return SimpleState::default();
        }
        SimpleState {
            msgs: self.msgs.len() as u64,
            first: self.first_seq,
            last: self.last_match("").unwrap_or(0),
        }
    }

    pub fn subjects_state(&self, filter: &str) -> BTreeMap<String, SimpleState> {
        self.matching(filter)
            .map(|id| (self.subj(id).name.to_string(), self.subj_state(id)))
            .collect()
    }

    pub fn all_last_seqs(&self) -> Vec<u64> {
        let mut v: Vec<u64> = self.matching("").map(|id| self.subj_last(id)).collect();
        v.sort_unstable();
        v
    }

    pub fn seq_from_time(&self, ts: i64) -> u64 {
        self.msgs
            .iter()
            .find(|(_, m)| m.ts >= ts)
            .map_or(self.last_seq + 1, |(&s, _)| s)
    }

    pub fn num_subjects(&self) -> u64 {
        self.by_name.len() as u64
    }

    pub fn fast_state(&self) -> StreamState {
        let msgs = self.msgs.len() as u64;
        let num_deleted = if self.last_seq >= self.first_seq && self.first_seq > 0 {
            (self.last_seq - self.first_seq + 1) - msgs
        } else {
            0
        };
        StreamState {
            msgs,
            bytes: self.bytes,
            first_seq: self.first_seq,
            first_ts: self.first_ts,
            last_seq: self.last_seq,
            last_ts: self.last_ts,
            num_deleted,
            deleted: Vec::new(),
            num_subjects: self.num_subjects(),
            lost: None,
        }
    }

    pub fn state(&self) -> StreamState {
        let mut st = self.fast_state();
        if st.num_deleted > 0 {
            // Listed up to `MAX_DELETED_LISTED`; `num_deleted` is always exact.
            let cap = MAX_DELETED_LISTED;
            let mut next = self.first_seq;
            for &seq in self.msgs.keys() {
                let room = cap - st.deleted.len();
                st.deleted.extend((next..seq).take(room));
                next = seq + 1;
            }
            let room = cap - st.deleted.len();
            st.deleted.extend((next..=self.last_seq).take(room));
        }
        st
    }
}
