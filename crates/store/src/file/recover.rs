//! Recovery of a file store: every segment read and checked, damaged spans
//! skipped and reported, a torn tail cut.

use super::{file_msg_size, seg_name, FileStore, Loc, Seg, MAX_LOST_LISTED};
use crate::record::{self, Decoded, Kind};
use crate::{Fs, Result};

impl<F: Fs> FileStore<F> {
    pub(super) fn recover(&mut self) -> Result<()> {
        let mut names: Vec<u32> = self
            .fs
            .list(&format!("{}/msgs", self.dir))?
            .iter()
            .filter_map(|n| n.strip_suffix(".seg").and_then(|n| n.parse().ok()))
            .collect();
        names.sort_unstable();
        // Damaged spans: (sequence before, segment) waiting for the next good message sequence.
        let mut open_span: Option<(u64, u64)> = None;
        let mut lost_ranges: Vec<(u64, u64)> = Vec::new();
        let mut lost_bytes = 0u64;
        // Sequences up to the first segment's start went with dropped segments.
        let mut base: Option<u64> = None;
        // A sequence known only from a cut record must be written down again.
        let mut mark = false;
        for &n in &names {
            let path = seg_name(&self.dir, n);
            let data = self.fs.read(&path)?;
            let mut seg = Seg {
                size: data.len() as u64,
                ..Seg::default()
            };
            let mut pos = 0usize;
            let mut prev_msg = self.core.last_seq;
            while pos < data.len() {
                match record::decode(&data[pos..]) {
                    Decoded::Ok(r) => {
                        if r.kind == Kind::Start {
                            if pos == 0 {
                                seg.start = Some(r.seq);
                            }
                            if pos == 0 && n == names[0] {
                                base = Some(r.seq);
                            } else if r.seq > self.core.last_seq {
                                // The previous segment ends early: what it held past here is gone.
                                lost_ranges.push((self.core.last_seq + 1, r.seq));
                            }
                        }
                        if r.kind == Kind::Msg {
                            if let Some((before, bytes)) = open_span.take() {
                                if r.seq > before + 1 {
                                    lost_ranges.push((before + 1, r.seq - 1));
                                }
                                lost_bytes += bytes;
                            }
                            prev_msg = r.seq;
                        }
                        self.apply(n, pos, &data, r, &mut seg);
                        pos += r.len;
                    }
                    _ => {
                        // A record cut short is a torn tail only when nothing
                        // good follows it; otherwise it is damage like any other.
                        let next = record::resync(&data, pos + 1);
                        let end = next.unwrap_or(data.len());
                        let (before, bytes) = open_span.take().unwrap_or((prev_msg, 0));
                        open_span = Some((before, bytes + (end - pos) as u64));
                        if let Some(next) = next {
                            pos = next;
                            continue;
                        }
                        // The file ends in a partial or damaged record. A message whose
                        // header survived keeps its sequence, reported lost.
                        let peeked = match record::peek(&data[pos..]) {
                            Some((Kind::Msg, seq)) if seq > self.core.last_seq => Some(seq),
                            _ => None,
                        };
                        if let Some(seq) = peeked {
                            lost_ranges.push((seq, seq));
                            self.core.advance_last(seq);
                            seg.max_seq = seg.max_seq.max(seq);
                        }
                        // The newest segment is cut there so appends follow good records,
                        // and a mark in place of the cut record keeps its sequence at the
                        // same point of the log. Older segments are left as they are:
                        // reading them again gives the same result.
                        if Some(&n) == names.last() {
                            self.fs.truncate(&path, pos as u64)?;
                            seg.size = pos as u64;
                            mark = peeked.is_some();
                        }
                        break;
                    }
                }
            }
            self.segs.insert(n, seg);
        }
        if let Some((before, bytes)) = open_span {
            lost_ranges.push((before + 1, u64::MAX));
            lost_bytes += bytes;
        }
        if !lost_ranges.is_empty() {
            self.account_lost(&names, lost_ranges, lost_bytes, base.unwrap_or(0))?;
        }
        match self.segs.last_key_value() {
            Some((&n, s)) => {
                self.active = n;
                self.wbase = s.size;
            }
            None => {
                self.active = 1;
                self.segs.insert(1, Seg::default());
            }
        }
        if mark {
            let last = self.core.last_seq;
            self.write_record(Kind::Mark, last, 0, b"", b"", b"")?;
        }
        Ok(())
    }

    fn apply(&mut self, n: u32, pos: usize, data: &[u8], r: record::Rec, seg: &mut Seg) {
        let top = if r.kind == Kind::Range {
            r.ts as u64
        } else {
            r.seq
        };
        seg.max_seq = seg.max_seq.max(top);
        match r.kind {
            Kind::Msg => {
                if r.seq <= self.core.last_seq {
                    // Not above what is known: a stale copy. Sequences are never reused.
                    return;
                }
                let rec = &data[pos..pos + r.len];
                let subject = String::from_utf8_lossy(&rec[r.subject()]);
                let size =
                    file_msg_size(r.subj_len, r.hdr_len, r.body_len - r.subj_len - r.hdr_len);
                let loc = Loc {
                    seg: n,
                    off: pos as u32,
                    len: r.len as u32,
                };
                self.core.insert(r.seq, &subject, r.ts, size, loc);
                seg.live += 1;
                seg.live_bytes += r.len as u64;
            }
            Kind::Tomb | Kind::Erased => {
                self.forget(r.seq, Some(seg), n);
                // The removed message may have been the last: its sequence stays used.
                self.core.advance_last(r.seq);
            }
            Kind::Range => {
                let hi = r.ts as u64;
                let victims: Vec<u64> = self.core.msgs.range(r.seq..=hi).map(|(&s, _)| s).collect();
                for s in victims {
                    self.forget(s, Some(seg), n);
                }
                self.core.advance_last(hi);
                seg.ctl_bytes += r.len as u64;
            }
            Kind::Mark | Kind::Start => {
                self.core.advance_last(r.seq);
                seg.ctl_bytes += r.len as u64;
            }
        }
        if matches!(r.kind, Kind::Tomb | Kind::Erased) {
            seg.ctl_bytes += r.len as u64;
        }
    }

    /// Drops a message from the index during recovery, charging its segment.
    fn forget(&mut self, seq: u64, cur: Option<&mut Seg>, cur_n: u32) {
        if let Some(slot) = self.core.remove(seq) {
            let seg = if slot.p.seg == cur_n {
                cur
            } else {
                self.segs.get_mut(&slot.p.seg)
            };
            if let Some(seg) = seg {
                seg.live = seg.live.saturating_sub(1);
                seg.live_bytes = seg.live_bytes.saturating_sub(slot.p.len as u64);
            }
        }
    }

    /// Reports sequences of damaged spans that no removal explains.
    fn account_lost(
        &mut self,
        names: &[u32],
        ranges: Vec<(u64, u64)>,
        bytes: u64,
        base: u64,
    ) -> Result<()> {
        let last = self.core.last_seq;
        // Candidate sequences, clipped so a damaged span can never list more than
        // `MAX_LOST_LISTED` sequences (the bytes are still counted).
        let mut budget = MAX_LOST_LISTED;
        let ranges: Vec<(u64, u64)> = ranges
            .into_iter()
            .filter_map(|(lo, hi)| {
                let (lo, hi) = (lo.max(base + 1), hi.min(last));
                if lo > hi || budget == 0 {
                    return None;
                }
                let hi = hi.min(lo.saturating_add(budget - 1));
                budget -= hi - lo + 1;
                Some((lo, hi))
            })
            .collect();
        let inside = |s: u64| ranges.iter().any(|&(lo, hi)| (lo..=hi).contains(&s));
        let mut explained = std::collections::HashSet::new();
        let mut purged: Vec<(u64, u64)> = Vec::new();
        for &n in names {
            let data = self.fs.read(&seg_name(&self.dir, n)).unwrap_or_default();
            let mut pos = 0;
            while pos < data.len() {
                match record::decode(&data[pos..]) {
                    Decoded::Ok(r) => {
                        match r.kind {
                            Kind::Tomb | Kind::Erased if inside(r.seq) => {
                                explained.insert(r.seq);
                            }
                            Kind::Range => purged.push((r.seq, r.ts as u64)),
                            _ => {}
                        }
                        pos += r.len;
                    }
                    _ => match record::resync(&data, pos + 1) {
                        Some(p) => pos = p,
                        None => break,
                    },
                }
            }
        }
        for &(lo, hi) in &ranges {
            for s in lo..=hi {
                let gone =
                    explained.contains(&s) || purged.iter().any(|&(a, b)| (a..=b).contains(&s));
                if !gone && !self.core.msgs.contains_key(&s) {
                    self.lost.msgs.push(s);
                }
            }
        }
        self.lost.msgs.sort_unstable();
        self.lost.msgs.dedup();
        self.lost.bytes += bytes;
        Ok(())
    }
}
