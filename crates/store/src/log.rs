//! A small durable state log: a checksummed snapshot plus an append-only
//! file of checksummed records written since it. Consumers keep their
//! delivered and ack state in one.
//!
//! ```text
//! <dir>/state.snap       meta frame: gen u64 | snapshot
//! <dir>/state.<gen>.log  frames:     "RNL1" | len u32 | crc32 u32 | record
//! ```
//!
//! Recovery reads the snapshot, then the records of its generation's log up
//! to the first one that fails its framing or checksum, and cuts the log
//! there (a torn tail). [`StateLog::compact`] starts a new generation: an
//! empty log, then the snapshot naming it, written atomically, then the old
//! log removed. A crash at any point leaves one consistent pair.

use crate::fs::Fs;
use crate::meta;
use std::io;

const MAGIC: &[u8; 4] = b"RNL1";
const SNAP: &str = "state.snap";

/// An open state log.
pub struct StateLog<F: Fs> {
    fs: F,
    dir: String,
    gen: u64,
    buf: Vec<u8>,
    /// Bytes in the current log file, written or buffered.
    len: u64,
    dirty: bool,
}

/// What recovery found.
pub struct Recovered {
    /// The last snapshot (empty when none was written).
    pub snapshot: Vec<u8>,
    /// The records written after it, in order.
    pub records: Vec<Vec<u8>>,
    /// Bytes cut from a torn or damaged tail.
    pub cut: u64,
}

fn frame(out: &mut Vec<u8>, rec: &[u8]) {
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(rec.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(rec).to_le_bytes());
    out.extend_from_slice(rec);
}

/// Splits a log file into its good records; returns them and the length of
/// the good prefix.
fn unframe(data: &[u8]) -> (Vec<Vec<u8>>, usize) {
    let mut out = Vec::new();
    let mut off = 0;
    while data.len() - off >= 12 {
        if &data[off..off + 4] != MAGIC {
            break;
        }
        let len = u32::from_le_bytes(data[off + 4..off + 8].try_into().expect("4")) as usize;
        let crc = u32::from_le_bytes(data[off + 8..off + 12].try_into().expect("4"));
        let Some(rec) = data.get(off + 12..off + 12 + len) else {
            break;
        };
        if crc32fast::hash(rec) != crc {
            break;
        }
        out.push(rec.to_vec());
        off += 12 + len;
    }
    (out, off)
}

impl<F: Fs> StateLog<F> {
    fn log_path(&self, gen: u64) -> String {
        format!("{}/state.{gen}.log", self.dir)
    }

    /// Opens the log in `dir`, creating it when missing, and returns what it
    /// holds. A damaged snapshot is an error: the caller reports it.
    pub fn open(mut fs: F, dir: &str) -> Result<(Self, Recovered), meta::MetaError> {
        fs.create_dir_all(dir)
            .map_err(|e| meta::MetaError::Io(e.to_string()))?;
        let (gen, snapshot) = match meta::read(&mut fs, &format!("{dir}/{SNAP}")) {
            Ok(b) if b.len() >= 8 => (
                u64::from_le_bytes(b[..8].try_into().expect("8")),
                b[8..].to_vec(),
            ),
            Ok(_) => return Err(meta::MetaError::Damaged("short snapshot".into())),
            Err(meta::MetaError::Missing) => (0, Vec::new()),
            Err(e) => return Err(e),
        };
        let mut log = StateLog {
            fs,
            dir: dir.to_string(),
            gen,
            buf: Vec::new(),
            len: 0,
            dirty: false,
        };
        let path = log.log_path(gen);
        let data = if log.fs.exists(&path) {
            log.fs
                .read(&path)
                .map_err(|e| meta::MetaError::Io(e.to_string()))?
        } else {
            Vec::new()
        };
        let (records, good) = unframe(&data);
        let cut = (data.len() - good) as u64;
        if cut > 0 {
            log.fs
                .truncate(&path, good as u64)
                .map_err(|e| meta::MetaError::Io(e.to_string()))?;
        }
        log.len = good as u64;
        // Logs of other generations are left over from an interrupted compaction.
        if let Ok(names) = log.fs.list(dir) {
            let mine = format!("state.{gen}.log");
            for n in names {
                if n.starts_with("state.") && n.ends_with(".log") && n != mine {
                    let _ = log.fs.remove(&format!("{dir}/{n}"));
                }
            }
        }
        Ok((
            log,
            Recovered {
                snapshot,
                records,
                cut,
            },
        ))
    }

    /// Appends a record; durable after the next [`StateLog::sync`].
    pub fn append(&mut self, rec: &[u8]) {
        let before = self.buf.len();
        frame(&mut self.buf, rec);
        self.len += (self.buf.len() - before) as u64;
        self.dirty = true;
    }

    /// Whether records were appended since the last sync.
    pub fn needs_sync(&self) -> bool {
        self.dirty
    }

    /// Bytes in the log since the last snapshot.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the log holds no records since the last snapshot.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Writes the buffered records and makes them durable (`fdatasync`).
    pub fn sync(&mut self) -> io::Result<()> {
        if !self.dirty {
            return Ok(());
        }
        let path = self.log_path(self.gen);
        if !self.buf.is_empty() {
            self.fs.append(&path, &self.buf)?;
            self.buf.clear();
        }
        self.fs.sync(&path)?;
        self.dirty = false;
        Ok(())
    }

    /// Replaces snapshot and log with `snapshot`, durably: the records
    /// appended so far are folded into it by the caller.
    pub fn compact(&mut self, snapshot: &[u8]) -> io::Result<()> {
        let next = self.gen + 1;
        let new_log = self.log_path(next);
        self.fs.append(&new_log, &[])?;
        self.fs.sync(&new_log)?;
        let mut body = Vec::with_capacity(8 + snapshot.len());
        body.extend_from_slice(&next.to_le_bytes());
        body.extend_from_slice(snapshot);
        meta::write(&mut self.fs, &format!("{}/{SNAP}", self.dir), &body)?;
        let old = self.log_path(self.gen);
        self.gen = next;
        self.buf.clear();
        self.len = 0;
        self.dirty = false;
        self.fs.remove(&old)
    }

    /// Removes the log's directory and everything in it.
    pub fn destroy(mut self) -> io::Result<()> {
        let dir = self.dir.clone();
        self.fs.remove_dir_all(&dir)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::SimFs;

    fn records(fs: &SimFs) -> Recovered {
        StateLog::open(fs.clone(), "c").map(|(_, r)| r).unwrap()
    }

    #[test]
    fn records_survive_and_torn_tail_is_cut() {
        let fs = SimFs::new();
        let (mut log, r) = StateLog::open(fs.clone(), "c").unwrap();
        assert!(r.snapshot.is_empty() && r.records.is_empty());
        log.append(b"one");
        log.append(b"two");
        log.sync().unwrap();
        log.append(b"three");
        let r = records(&fs);
        assert_eq!(r.records, vec![b"one".to_vec(), b"two".to_vec()]);
        let mut bytes = fs.content("c/state.0.log").unwrap();
        bytes.truncate(bytes.len() - 1);
        let cut = SimFs::new();
        cut.set_content("c/state.0.log", bytes);
        let r = records(&cut);
        assert_eq!(r.records, vec![b"one".to_vec()]);
        assert!(r.cut > 0);
    }

    #[test]
    fn compaction_switches_generation() {
        let fs = SimFs::new();
        let (mut log, _) = StateLog::open(fs.clone(), "c").unwrap();
        log.append(b"a");
        log.sync().unwrap();
        log.compact(b"SNAP").unwrap();
        log.append(b"b");
        log.sync().unwrap();
        let r = records(&fs);
        assert_eq!(r.snapshot, b"SNAP");
        assert_eq!(r.records, vec![b"b".to_vec()]);
        assert!(!fs.clone().exists("c/state.0.log"));
    }

    #[test]
    fn flipped_bytes_never_yield_a_bad_record() {
        let fs = SimFs::new();
        let (mut log, _) = StateLog::open(fs.clone(), "c").unwrap();
        for i in 0..5u8 {
            log.append(&[i; 7]);
        }
        log.sync().unwrap();
        let bytes = fs.content("c/state.0.log").unwrap();
        for i in 0..bytes.len() {
            let mut b = bytes.clone();
            b[i] ^= 0x10;
            let d = SimFs::new();
            d.set_content("c/state.0.log", b);
            let r = records(&d);
            for (k, rec) in r.records.iter().enumerate() {
                assert_eq!(rec, &vec![k as u8; 7], "flip at {i}");
            }
        }
    }
}
