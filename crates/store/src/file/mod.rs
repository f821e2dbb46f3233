//! The file store: segment files of checksummed records, an in-memory index,
//! recovery that verifies every record and cuts a torn tail.
//!
//! Layout under the store's directory: `msgs/<n>.seg`, one file per segment,
//! appended in sequence order. Removals append a tombstone (or a range record
//! for purges); whole segments are dropped at the head once they hold nothing
//! live, and sparse segments are rewritten. Nothing is durable until `sync`.

mod recover;

use crate::core::{index_queries, Core, WholePurge};
use crate::record::{self, Decoded, Kind};
use crate::{
    Fs, LostData, MsgStore, Result, SimpleState, StoreConfig, StoreError, StoredMsg, StreamState,
};
use bytes::Bytes;
use std::collections::BTreeMap;
use std::sync::Arc;

/// nats-server's accounted size of a message in a file store.
pub fn file_msg_size(slen: usize, hlen: usize, mlen: usize) -> u64 {
    if hlen == 0 {
        (22 + slen + mlen + 8) as u64
    } else {
        (22 + slen + 4 + hlen + mlen + 8) as u64
    }
}

/// At most this many damaged sequences are listed in `StreamState.lost`.
const MAX_LOST_LISTED: u64 = 1 << 16;

/// Tuning of a file store.
#[derive(Clone, Debug)]
pub struct FileStoreOptions {
    /// A segment is closed and a new one started past this size.
    pub segment_size: u64,
    /// Pending writes are handed to the file system past this size, even before a sync.
    pub write_buffer: usize,
}

impl Default for FileStoreOptions {
    fn default() -> Self {
        FileStoreOptions {
            segment_size: 8 << 20,
            write_buffer: 1 << 20,
        }
    }
}

/// Where a message's record is.
#[derive(Clone, Copy)]
struct Loc {
    seg: u32,
    off: u32,
    len: u32,
}

#[derive(Default)]
struct Seg {
    /// Bytes in the file plus, for the active one, the write buffer.
    size: u64,
    live: u64,
    live_bytes: u64,
    /// Bytes of removal records and marks.
    ctl_bytes: u64,
    /// The highest sequence of any record in it.
    max_seq: u64,
    /// The last sequence before it, when it opens with a start record.
    start: Option<u64>,
}

/// A message store on files, through `F`.
pub struct FileStore<F: Fs> {
    fs: F,
    dir: String,
    opts: FileStoreOptions,
    core: Core<Loc>,
    segs: BTreeMap<u32, Seg>,
    active: u32,
    /// Encoded records not yet handed to the file system.
    wbuf: Vec<u8>,
    /// Offset in the active file where `wbuf` starts.
    wbase: u64,
    /// Records handed to the file system or buffered since the last sync.
    dirty: bool,
    /// Segments written but not synced (closed since the last sync).
    unsynced: Vec<u32>,
    lost: LostData,
    scratch: Vec<u8>,
}

fn seg_name(dir: &str, n: u32) -> String {
    format!("{dir}/msgs/{n:010}.seg")
}

impl<F: Fs> FileStore<F> {
    /// Opens (recovering) or creates the store in `dir`.
    pub fn open(mut fs: F, dir: &str, cfg: StoreConfig, opts: FileStoreOptions) -> Result<Self> {
        fs.create_dir_all(&format!("{dir}/msgs"))?;
        let mut store = FileStore {
            fs,
            dir: dir.to_string(),
            opts,
            core: Core::new(cfg),
            segs: BTreeMap::new(),
            active: 0,
            wbuf: Vec::new(),
            wbase: 0,
            dirty: false,
            unsynced: Vec::new(),
            lost: LostData::default(),
            scratch: Vec::new(),
        };
        store.recover()?;
        // Limits may have changed while the store was closed.
        store.enforce_all()?;
        if store.dirty {
            store.sync()?;
        }
        Ok(store)
    }

    /// The file system, for tests that inspect it.
    pub fn fs(&mut self) -> &mut F {
        &mut self.fs
    }

    /// Removes every file of the store.
    pub fn delete(mut self) -> Result<()> {
        self.fs.remove_dir_all(&self.dir)?;
        Ok(())
    }

    fn active_path(&self) -> String {
        seg_name(&self.dir, self.active)
    }

    /// Appends a record to the active segment's buffer, rotating first when it is full.
    fn write_record(
        &mut self,
        kind: Kind,
        seq: u64,
        ts: i64,
        subj: &[u8],
        hdr: &[u8],
        msg: &[u8],
    ) -> Result<Loc> {
        let len = record::encoded_len(subj.len(), hdr.len(), msg.len()) as u64;
        let size = self.segs.get(&self.active).map_or(0, |s| s.size);
        if size > 0 && size + len > self.opts.segment_size {
            self.rotate()?;
        }
        let off = self.wbase + self.wbuf.len() as u64;
        record::encode(&mut self.wbuf, kind, seq, ts, subj, hdr, msg);
        let seg = self.segs.entry(self.active).or_default();
        seg.size += len;
        seg.max_seq = seg.max_seq.max(seq);
        if kind == Kind::Msg {
            seg.live += 1;
            seg.live_bytes += len;
        } else {
            seg.ctl_bytes += len;
        }
        self.dirty = true;
        if self.wbuf.len() >= self.opts.write_buffer {
            self.flush()?;
        }
        Ok(Loc {
            seg: self.active,
            off: off as u32,
            len: len as u32,
        })
    }

    /// Hands the write buffer to the file system (not yet durable).
    fn flush(&mut self) -> Result<()> {
        if !self.wbuf.is_empty() {
            let path = self.active_path();
            self.fs.append(&path, &self.wbuf)?;
            self.wbase += self.wbuf.len() as u64;
            self.wbuf.clear();
        }
        Ok(())
    }

    /// Closes the active segment and starts the next, which opens with a mark
    /// of the last sequence so it is never reused even if every older segment goes.
    fn rotate(&mut self) -> Result<()> {
        self.flush()?;
        self.unsynced.push(self.active);
        self.active += 1;
        self.wbase = 0;
        let last = self.core.last_seq;
        self.segs.insert(
            self.active,
            Seg {
                start: Some(last),
                ..Seg::default()
            },
        );
        self.write_record(Kind::Start, last, 0, b"", b"", b"")?;
        Ok(())
    }

    fn read_msg(&mut self, seq: u64) -> Result<StoredMsg> {
        let slot = self.core.msgs.get(&seq).ok_or(StoreError::NotFound)?;
        let (loc, subject) = (slot.p, self.core.subject_name(slot.subj).clone());
        let mut buf = std::mem::take(&mut self.scratch);
        buf.resize(loc.len as usize, 0);
        let res = self.read_record(loc, &mut buf);
        let out = res.and_then(|()| match record::decode(&buf) {
            Decoded::Ok(r) if r.kind == Kind::Msg && r.seq == seq => Ok(StoredMsg {
                subject,
                seq,
                ts: r.ts,
                data: Bytes::copy_from_slice(&buf[r.data()]),
                hdr_len: r.hdr_len,
            }),
            _ => Err(StoreError::NotFound),
        });
        self.scratch = buf;
        if out == Err(StoreError::NotFound) {
            // Damaged on disk since it was indexed: never serve it, report it.
            self.lose(seq);
        }
        out
    }

    fn read_record(&mut self, loc: Loc, buf: &mut [u8]) -> Result<()> {
        let off = loc.off as u64;
        if loc.seg == self.active && off >= self.wbase {
            let start = (off - self.wbase) as usize;
            buf.copy_from_slice(&self.wbuf[start..start + buf.len()]);
            return Ok(());
        }
        let path = seg_name(&self.dir, loc.seg);
        self.fs
            .read_at(&path, off, buf)
            .map_err(|_| StoreError::NotFound)
    }

    fn lose(&mut self, seq: u64) {
        if let Some(slot) = self.core.remove(seq) {
            self.charge(slot.p);
            self.lost.msgs.push(seq);
            self.lost.bytes += slot.p.len as u64;
        }
    }

    fn charge(&mut self, loc: Loc) {
        if let Some(seg) = self.segs.get_mut(&loc.seg) {
            seg.live = seg.live.saturating_sub(1);
            seg.live_bytes = seg.live_bytes.saturating_sub(loc.len as u64);
        }
    }

    /// Removes `seq` from the index and records it with a tombstone.
    fn remove_logged(&mut self, seq: u64) -> Result<bool> {
        let Some(slot) = self.core.remove(seq) else {
            return Ok(false);
        };
        self.charge(slot.p);
        self.write_record(Kind::Tomb, seq, 0, b"", b"", b"")?;
        Ok(true)
    }

    fn enforce(&mut self, subj: Option<u32>) -> Result<()> {
        while let Some(seq) = self.core.limit_victim(subj) {
            self.remove_logged(seq)?;
        }
        Ok(())
    }

    fn enforce_all(&mut self) -> Result<()> {
        while let Some(seq) = self.core.any_subject_victim() {
            self.remove_logged(seq)?;
        }
        self.enforce(None)
    }

    /// Removes everything in `lo..=hi` with one range record, made durable
    /// before segments are dropped.
    fn remove_range(&mut self, lo: u64, hi: u64) -> Result<u64> {
        if lo > hi {
            return Ok(0);
        }
        let victims: Vec<u64> = self.core.msgs.range(lo..=hi).map(|(&s, _)| s).collect();
        for &s in &victims {
            if let Some(slot) = self.core.remove(s) {
                self.charge(slot.p);
            }
        }
        self.write_record(Kind::Range, lo, hi as i64, b"", b"", b"")?;
        self.sync()?;
        Ok(victims.len() as u64)
    }

    fn purge_all(&mut self) -> Result<u64> {
        let (lo, hi) = (self.core.first_seq, self.core.last_seq);
        if self.core.msgs.is_empty() {
            self.core.first_seq = hi + 1;
            return Ok(0);
        }
        let n = self.remove_range(lo, hi)?;
        self.core.first_seq = hi + 1;
        self.reclaim()?;
        Ok(n)
    }

    /// Drops empty segments at the head and rewrites sparse closed ones.
    fn reclaim(&mut self) -> Result<()> {
        // A head segment goes only when the next one records, in its start,
        // every sequence the dropped one held: recovery then needs nothing of it.
        let mut heads = Vec::new();
        let mut it = self.segs.iter().peekable();
        while let Some((&n, s)) = it.next() {
            let next_covers = it
                .peek()
                .is_some_and(|(_, nx)| nx.start.is_some_and(|st| st >= s.max_seq));
            if n == self.active || s.live > 0 || !next_covers {
                break;
            }
            heads.push(n);
        }
        for n in heads {
            self.fs.remove(&seg_name(&self.dir, n))?;
            self.segs.remove(&n);
        }
        let sparse: Vec<u32> = self
            .segs
            .iter()
            .filter(|(&n, s)| {
                let dead = s.size.saturating_sub(s.live_bytes + s.ctl_bytes);
                n != self.active && s.size >= 64 << 10 && dead * 2 > s.size
            })
            .map(|(&n, _)| n)
            .collect();
        for n in sparse {
            self.rewrite(n)?;
        }
        Ok(())
    }

    /// Rewrites a closed segment with only its live messages and the removals
    /// it records of older segments.
    fn rewrite(&mut self, n: u32) -> Result<()> {
        let path = seg_name(&self.dir, n);
        let data = self.fs.read(&path)?;
        let mut out = Vec::with_capacity(data.len() / 2);
        let mut recs: Vec<(usize, record::Rec)> = Vec::new();
        let (mut lo, mut pos) = (u64::MAX, 0);
        while pos < data.len() {
            match record::decode(&data[pos..]) {
                Decoded::Ok(r) => {
                    if r.kind == Kind::Msg {
                        lo = lo.min(r.seq);
                    }
                    recs.push((pos, r));
                    pos += r.len;
                }
                _ => return Ok(()), // damaged: leave it as it is
            }
        }
        let mut moved = Vec::new();
        let mut live_bytes = 0;
        for (p, r) in recs {
            let rec = &data[p..p + r.len];
            let live = r.kind == Kind::Msg
                && self
                    .core
                    .msgs
                    .get(&r.seq)
                    .is_some_and(|m| m.p.seg == n && m.p.off as usize == p);
            // Removals of messages in older segments, ranges and marks must survive;
            // removals of this segment's own messages go with them.
            let keep = match r.kind {
                Kind::Msg => false,
                Kind::Tomb => r.seq < lo,
                Kind::Erased => false,
                Kind::Range | Kind::Mark | Kind::Start => true,
            };
            if live {
                moved.push((r.seq, out.len() as u32));
                live_bytes += r.len as u64;
                out.extend_from_slice(rec);
            } else if keep {
                out.extend_from_slice(rec);
            }
        }
        self.fs.write_atomic(&path, &out)?;
        for (seq, off) in moved {
            if let Some(m) = self.core.msgs.get_mut(&seq) {
                m.p.off = off;
            }
        }
        if let Some(seg) = self.segs.get_mut(&n) {
            seg.size = out.len() as u64;
            seg.live_bytes = live_bytes;
            seg.ctl_bytes = seg.size - live_bytes;
        }
        Ok(())
    }
}

impl<F: Fs> MsgStore for FileStore<F> {
    index_queries!();

    fn store(&mut self, subject: &str, hdr: &[u8], msg: &[u8], ts: i64) -> Result<u64> {
        let size = file_msg_size(subject.len(), hdr.len(), msg.len());
        self.core.check_discard_new(subject, size)?;
        let seq = self.core.last_seq + 1;
        let loc = self.write_record(Kind::Msg, seq, ts, subject.as_bytes(), hdr, msg)?;
        let id = self.core.insert(seq, subject, ts, size, loc);
        self.enforce(Some(id))?;
        Ok(seq)
    }

    fn skip(&mut self, seq: u64) -> Result<()> {
        self.core.check_skip(seq)?;
        self.write_record(Kind::Mark, seq, 0, b"", b"", b"")?;
        self.core.advance_last(seq);
        Ok(())
    }

    fn load(&mut self, seq: u64) -> Result<StoredMsg> {
        self.read_msg(seq)
    }

    fn load_last(&mut self, filter: &str) -> Result<StoredMsg> {
        loop {
            let seq = self.core.last_match(filter).ok_or(StoreError::NotFound)?;
            match self.read_msg(seq) {
                Err(StoreError::NotFound) => continue,
                r => return r,
            }
        }
    }

    fn load_next(&mut self, filter: &str, start: u64) -> Result<StoredMsg> {
        let mut from = start;
        loop {
            let seq = self.core.next_match(filter, from).ok_or(StoreError::Eof)?;
            match self.read_msg(seq) {
                Err(StoreError::NotFound) => from = seq + 1,
                r => return r,
            }
        }
    }

    fn load_prev(&mut self, start: u64) -> Result<StoredMsg> {
        let mut from = start;
        loop {
            let (&seq, _) = self
                .core
                .msgs
                .range(..=from)
                .next_back()
                .ok_or(StoreError::Eof)?;
            match self.read_msg(seq) {
                Err(StoreError::NotFound) if seq > 0 => from = seq - 1,
                r => return r,
            }
        }
    }

    fn remove(&mut self, seq: u64) -> Result<bool> {
        self.remove_logged(seq)
    }

    fn erase(&mut self, seq: u64) -> Result<bool> {
        let Some(loc) = self.core.msgs.get(&seq).map(|m| m.p) else {
            return Ok(false);
        };
        self.remove_logged(seq)?;
        // Overwrite the record in place with an erased record of the same length.
        let body = loc.len as usize - record::OVERHEAD;
        let filler: Vec<u8> = (0..body).map(|_| fastrand::u8(..)).collect();
        let mut rec = Vec::with_capacity(loc.len as usize);
        record::encode(&mut rec, Kind::Erased, seq, 0, b"", b"", &filler);
        let off = loc.off as u64;
        if loc.seg == self.active && off >= self.wbase {
            let start = (off - self.wbase) as usize;
            self.wbuf[start..start + rec.len()].copy_from_slice(&rec);
        } else {
            // The tombstone is made durable first, so a torn overwrite is explained.
            self.sync_files()?;
            let path = seg_name(&self.dir, loc.seg);
            self.fs.write_at(&path, off, &rec)?;
            self.fs.sync(&path)?;
            self.reclaim()?;
        }
        Ok(true)
    }

    fn purge(&mut self, filter: &str, seq: u64, keep: u64) -> Result<u64> {
        if filter.is_empty() || filter == ">" {
            return match self.core.whole_purge(seq, keep) {
                WholePurge::All => self.purge_all(),
                WholePurge::Compact(to) => self.compact(to),
                WholePurge::Nothing => Ok(0),
            };
        }
        let victims = self.core.purge_victims(filter, seq, keep);
        for &s in &victims {
            self.remove_logged(s)?;
        }
        Ok(victims.len() as u64)
    }

    fn compact(&mut self, seq: u64) -> Result<u64> {
        let seq = seq.min(crate::record::MAX_SEQ);
        if seq == 0 {
            return self.purge("", 0, 0);
        }
        if self.core.first_seq > seq {
            return Ok(0);
        }
        let lo = self.core.first_seq.max(1);
        let n = if seq > self.core.last_seq {
            let n = self.remove_range(lo, seq - 1)?;
            self.core.advance_last(seq - 1);
            self.core.first_seq = seq;
            n
        } else {
            self.remove_range(lo, seq - 1)?
        };
        self.reclaim()?;
        Ok(n)
    }

    fn expire(&mut self, now: i64) -> Result<u64> {
        let mut n = 0;
        while let Some(seq) = self.core.age_victim(now) {
            self.remove_logged(seq)?;
            n += 1;
        }
        Ok(n)
    }

    fn state(&self) -> StreamState {
        let mut st = self.core.state();
        if !self.lost.msgs.is_empty() || self.lost.bytes > 0 {
            st.lost = Some(self.lost.clone());
        }
        st
    }

    fn fast_state(&self) -> StreamState {
        let mut st = self.core.fast_state();
        if !self.lost.msgs.is_empty() || self.lost.bytes > 0 {
            st.lost = Some(self.lost.clone());
        }
        st
    }

    fn update_config(&mut self, cfg: StoreConfig) -> Result<()> {
        let tightened = crate::core::per_subject_tightened(&self.core.cfg, &cfg);
        self.core.cfg = cfg;
        if tightened {
            return self.enforce_all();
        }
        self.enforce(None)
    }

    fn sync(&mut self) -> Result<()> {
        if !self.dirty && self.unsynced.is_empty() {
            return Ok(());
        }
        self.sync_files()?;
        self.reclaim()
    }

    fn needs_sync(&self) -> bool {
        self.dirty
    }
}

impl<F: Fs> FileStore<F> {
    /// Makes every written record durable.
    fn sync_files(&mut self) -> Result<()> {
        self.flush()?;
        for n in std::mem::take(&mut self.unsynced) {
            if self.segs.contains_key(&n) {
                self.fs.sync(&seg_name(&self.dir, n))?;
            }
        }
        let path = self.active_path();
        if self.fs.exists(&path) {
            self.fs.sync(&path)?;
        }
        self.dirty = false;
        Ok(())
    }
}
