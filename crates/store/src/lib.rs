//! JetStream message storage.
//!
//! One interface, [`MsgStore`], two implementations: [`MemStore`] keeps messages
//! in memory, [`FileStore`] writes them to segment files of checksummed records
//! through the [`Fs`] interface. The crate does no IO of its own: the real disk
//! is [`os::OsFs`] (feature `os`), and tests swap in [`sim::SimFs`], a simulated
//! disk that can lose power.
//!
//! Everything is synchronous and deterministic: the caller passes timestamps in,
//! so the same commands give the same state on any node.

mod core;
mod file;
pub mod fs;
pub mod log;
mod mem;
pub mod meta;
#[cfg(feature = "os")]
pub mod os;
mod record;
pub mod sim;

use bytes::Bytes;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

pub use file::{FileStore, FileStoreOptions};
pub use fs::Fs;
pub use mem::MemStore;

/// How a stream drops messages when a limit is reached.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Discard {
    /// Remove the oldest messages to make room.
    #[default]
    Old,
    /// Refuse the new message.
    New,
}

/// The limits a store enforces by itself (nats-server's store config).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StoreConfig {
    /// Maximum messages, 0 or negative for no limit.
    pub max_msgs: i64,
    /// Maximum accounted bytes, 0 or negative for no limit.
    pub max_bytes: i64,
    /// Maximum age in nanoseconds, 0 for no limit.
    pub max_age: i64,
    /// Maximum messages per subject, 0 or negative for no limit.
    pub max_msgs_per_subject: i64,
    /// What to do when a limit is reached.
    pub discard: Discard,
    /// With `Discard::New`, also refuse when the per-subject limit is reached.
    pub discard_new_per_subject: bool,
}

/// One stored message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredMsg {
    /// The subject it was published to.
    pub subject: Arc<str>,
    /// Its stream sequence.
    pub seq: u64,
    /// Its timestamp, nanoseconds since the Unix epoch.
    pub ts: i64,
    /// Headers followed by payload.
    pub data: Bytes,
    /// How many leading bytes of `data` are headers.
    pub hdr_len: usize,
}

impl StoredMsg {
    /// The header block (`NATS/1.0\r\n…`), empty when there is none.
    pub fn hdr(&self) -> &[u8] {
        &self.data[..self.hdr_len]
    }
    /// The payload.
    pub fn msg(&self) -> &[u8] {
        &self.data[self.hdr_len..]
    }
}

/// Counts for a subject or a filter.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SimpleState {
    /// Messages.
    pub msgs: u64,
    /// First sequence, 0 when there are no messages.
    pub first: u64,
    /// Last sequence, 0 when there are no messages.
    pub last: u64,
}

/// Messages the store found damaged and will never serve.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LostData {
    /// Their sequences.
    pub msgs: Vec<u64>,
    /// Bytes of damaged records.
    pub bytes: u64,
}

/// The state of a whole store, as stream info reports it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StreamState {
    /// Messages stored.
    pub msgs: u64,
    /// Accounted bytes, by nats-server's formula for the store kind.
    pub bytes: u64,
    /// First sequence (last + 1 when empty).
    pub first_seq: u64,
    /// Timestamp of the first message, 0 when empty.
    pub first_ts: i64,
    /// Last sequence ever assigned.
    pub last_seq: u64,
    /// Timestamp of the last message stored, 0 when none.
    pub last_ts: i64,
    /// Interior deletes between first and last.
    pub num_deleted: u64,
    /// The deleted sequences (filled by `state`, empty in `fast_state`).
    pub deleted: Vec<u64>,
    /// Distinct subjects.
    pub num_subjects: u64,
    /// Damaged messages, if any were found.
    pub lost: Option<LostData>,
}

/// Why a store operation failed. The texts are nats-server's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreError {
    /// No message at that sequence (or matching that filter).
    NotFound,
    /// No message at or after the start sequence.
    Eof,
    /// `discard: new` and `max_msgs` reached.
    MaxMsgs,
    /// `discard: new` and `max_bytes` reached.
    MaxBytes,
    /// `discard: new` with `discard_new_per_subject` and the subject is full.
    MaxMsgsPerSubject,
    /// A raw store asked for a sequence other than the next one.
    SequenceMismatch,
    /// A partial purge was asked of a memory store.
    PartialPurge,
    /// The disk failed; the store stays usable for reads of what it has.
    Io(String),
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StoreError::NotFound => "no message found",
            StoreError::Eof => "stream store EOF",
            StoreError::MaxMsgs => "maximum messages exceeded",
            StoreError::MaxBytes => "maximum bytes exceeded",
            StoreError::MaxMsgsPerSubject => "maximum messages per subject exceeded",
            StoreError::SequenceMismatch => "expected sequence does not match store",
            StoreError::PartialPurge => "partial purges not supported on memory store",
            StoreError::Io(e) => return write!(f, "storage failure: {e}"),
        })
    }
}

impl std::error::Error for StoreError {}

impl From<std::io::Error> for StoreError {
    fn from(e: std::io::Error) -> Self {
        StoreError::Io(e.to_string())
    }
}

/// Result of store operations.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A message store: the operations a JetStream stream needs of its storage.
///
/// Filters are NATS subjects with wildcards; an empty filter or `>` means all.
pub trait MsgStore: Send {
    /// Stores a message with the next sequence and returns that sequence.
    fn store(&mut self, subject: &str, hdr: &[u8], msg: &[u8], ts: i64) -> Result<u64>;
    /// Marks `seq` as used without a message (it must be the next sequence),
    /// or moves an empty store's next sequence forward.
    fn skip(&mut self, seq: u64) -> Result<()>;
    /// Loads the message at `seq`.
    fn load(&mut self, seq: u64) -> Result<StoredMsg>;
    /// Loads the last message matching `filter`.
    fn load_last(&mut self, filter: &str) -> Result<StoredMsg>;
    /// Loads the first message at or after `start` matching `filter`.
    fn load_next(&mut self, filter: &str, start: u64) -> Result<StoredMsg>;
    /// Loads the last message at or before `start`.
    fn load_prev(&mut self, start: u64) -> Result<StoredMsg>;
    /// Removes a message; false when there was none at `seq`.
    fn remove(&mut self, seq: u64) -> Result<bool>;
    /// Removes a message and overwrites its bytes.
    fn erase(&mut self, seq: u64) -> Result<bool>;
    /// Purges messages matching `filter` below `seq` (0: all), keeping the
    /// newest `keep` (0: none). Returns how many were removed.
    fn purge(&mut self, filter: &str, seq: u64, keep: u64) -> Result<u64>;
    /// Removes every message below `seq`; later stores continue from at least `seq`.
    fn compact(&mut self, seq: u64) -> Result<u64>;
    /// Removes messages older than `max_age` at time `now`. Returns how many.
    fn expire(&mut self, now: i64) -> Result<u64>;
    /// The first sequence whose message is at or after `ts`.
    fn seq_from_time(&self, ts: i64) -> u64;
    /// Counts of messages matching `filter` at or after `start`.
    fn filtered_state(&self, start: u64, filter: &str) -> SimpleState;
    /// Messages matching `filter` with a sequence in `start..end`.
    fn count_between(&self, start: u64, end: u64, filter: &str) -> u64;
    /// Per-subject state of the subjects matching `filter`.
    fn subjects_state(&self, filter: &str) -> BTreeMap<String, SimpleState>;
    /// The sequence of the last message of every subject, ascending.
    fn all_last_seqs(&self) -> Vec<u64>;
    /// The subject stored at `seq`.
    fn subject_for_seq(&self, seq: u64) -> Result<Arc<str>>;
    /// Full state, with the list of interior deletes.
    fn state(&self) -> StreamState;
    /// State without the deleted list.
    fn fast_state(&self) -> StreamState;
    /// Applies new limits, removing what they no longer allow.
    fn update_config(&mut self, cfg: StoreConfig) -> Result<()>;
    /// Makes everything stored so far durable.
    fn sync(&mut self) -> Result<()>;
    /// True when stores since the last sync are waiting for it.
    fn needs_sync(&self) -> bool;
}

/// Whether `subject` is selected by `filter` (empty and `>` select all).
pub fn filter_matches(filter: &str, subject: &str) -> bool {
    filter.is_empty()
        || filter == ">"
        || filter == subject
        || sublist::subject_matches(filter.as_bytes(), subject.as_bytes())
}
