//! The memory store.

use crate::core::{index_queries, Core, WholePurge};
use crate::{MsgStore, Result, SimpleState, StoreConfig, StoreError, StoredMsg, StreamState};
use bytes::Bytes;
use std::collections::BTreeMap;
use std::sync::Arc;

/// nats-server's accounted size of a message in a memory store.
pub fn mem_msg_size(slen: usize, hlen: usize, mlen: usize) -> u64 {
    (slen + hlen + mlen + 16) as u64
}

/// Messages held in memory: headers and payload in one buffer each.
pub struct MemStore {
    core: Core<(Bytes, u32)>,
}

impl MemStore {
    /// An empty store with these limits.
    pub fn new(cfg: StoreConfig) -> Self {
        MemStore {
            core: Core::new(cfg),
        }
    }

    fn get(&self, seq: u64) -> Result<StoredMsg> {
        let m = self.core.msgs.get(&seq).ok_or(StoreError::NotFound)?;
        Ok(StoredMsg {
            subject: self.core.subject_name(m.subj).clone(),
            seq,
            ts: m.ts,
            data: m.p.0.clone(),
            hdr_len: m.p.1 as usize,
        })
    }

    fn enforce(&mut self, subj: Option<u32>) {
        while let Some(seq) = self.core.limit_victim(subj) {
            self.core.remove(seq);
        }
    }
}

impl MsgStore for MemStore {
    index_queries!();

    fn store(&mut self, subject: &str, hdr: &[u8], msg: &[u8], ts: i64) -> Result<u64> {
        let size = mem_msg_size(subject.len(), hdr.len(), msg.len());
        self.core.check_discard_new(subject, size)?;
        let mut buf = Vec::with_capacity(hdr.len() + msg.len());
        buf.extend_from_slice(hdr);
        buf.extend_from_slice(msg);
        let seq = self.core.last_seq + 1;
        let id = self
            .core
            .insert(seq, subject, ts, size, (Bytes::from(buf), hdr.len() as u32));
        self.enforce(Some(id));
        Ok(seq)
    }

    fn skip(&mut self, seq: u64) -> Result<()> {
        self.core.check_skip(seq)?;
        self.core.advance_last(seq);
        Ok(())
    }

    fn load(&mut self, seq: u64) -> Result<StoredMsg> {
        self.get(seq)
    }

    fn load_last(&mut self, filter: &str) -> Result<StoredMsg> {
        let seq = self.core.last_match(filter).ok_or(StoreError::NotFound)?;
        self.get(seq)
    }

    fn load_next(&mut self, filter: &str, start: u64) -> Result<StoredMsg> {
        let seq = self.core.next_match(filter, start).ok_or(StoreError::Eof)?;
        self.get(seq)
    }

    fn load_prev(&mut self, start: u64) -> Result<StoredMsg> {
        let (&seq, _) = self
            .core
            .msgs
            .range(..=start)
            .next_back()
            .ok_or(StoreError::Eof)?;
        self.get(seq)
    }

    fn remove(&mut self, seq: u64) -> Result<bool> {
        Ok(self.core.remove(seq).is_some())
    }

    fn erase(&mut self, seq: u64) -> Result<bool> {
        // The buffer is dropped with the slot; nothing of it stays reachable.
        Ok(self.core.remove(seq).is_some())
    }

    fn purge(&mut self, filter: &str, seq: u64, keep: u64) -> Result<u64> {
        if filter.is_empty() || filter == ">" {
            return match self.core.whole_purge(seq, keep) {
                WholePurge::All => {
                    let next = self.core.last_seq + 1;
                    Ok(self.core.clear(next))
                }
                WholePurge::Compact(to) => self.compact(to),
                WholePurge::Nothing => Ok(0),
            };
        }
        let victims = self.core.purge_victims(filter, seq, keep);
        for &s in &victims {
            self.core.remove(s);
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
        if seq > self.core.last_seq {
            return Ok(self.core.clear(seq));
        }
        let victims: Vec<u64> = self.core.msgs.range(..seq).map(|(&s, _)| s).collect();
        for &s in &victims {
            self.core.remove(s);
        }
        Ok(victims.len() as u64)
    }

    fn expire(&mut self, now: i64) -> Result<u64> {
        let mut n = 0;
        while let Some(seq) = self.core.age_victim(now) {
            self.core.remove(seq);
            n += 1;
        }
        Ok(n)
    }

    fn state(&self) -> StreamState {
        self.core.state()
    }

    fn fast_state(&self) -> StreamState {
        self.core.fast_state()
    }

    fn update_config(&mut self, cfg: StoreConfig) -> Result<()> {
        let tightened = crate::core::per_subject_tightened(&self.core.cfg, &cfg);
        self.core.cfg = cfg;
        while let Some(seq) = self.core.any_subject_victim().filter(|_| tightened) {
            self.core.remove(seq);
        }
        self.enforce(None);
        Ok(())
    }

    fn sync(&mut self) -> Result<()> {
        Ok(())
    }

    fn needs_sync(&self) -> bool {
        false
    }
}
