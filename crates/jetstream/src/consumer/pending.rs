//! `num_pending`: the messages a consumer has yet to deliver, counted once
//! and then by what the consumer went past while the store did not change,
//! so a delivery costs no scan of the stream.

use super::Consumer;
use store::MsgStore;

/// A `num_pending` count: from stream sequence `sseq` in a store holding
/// `msgs` messages up to `last`.
#[derive(Clone, Copy, Debug)]
pub(super) struct PendingMemo {
    sseq: u64,
    last: u64,
    msgs: u64,
    count: u64,
}

impl Consumer {
    /// Messages not yet delivered that pass the filters.
    pub fn num_pending(&self, store: &dyn MsgStore) -> u64 {
        if !self.lss.is_empty() {
            let after = self.lss_resume + 1;
            let rest = if self.filters.is_empty() {
                store.filtered_state(after, ">").msgs
            } else {
                self.filters
                    .iter()
                    .map(|f| store.filtered_state(after, f).msgs)
                    .sum()
            };
            return self.lss.len() as u64 + rest;
        }
        let start = self.state.sseq;
        if self.filters.len() <= 1 {
            // Counted once, then only what the consumer went past while the
            // store did not change: deliveries cost no scan of the stream.
            let filter = self.filters.first().map_or(">", String::as_str);
            let st = store.fast_state();
            let count = match self.pending_memo.get() {
                Some(m) if m.last == st.last_seq && m.msgs == st.msgs && m.sseq <= start => m
                    .count
                    .saturating_sub(store.count_between(m.sseq, start, filter)),
                _ => store.filtered_state(start, filter).msgs,
            };
            self.pending_memo.set(Some(PendingMemo {
                sseq: start,
                last: st.last_seq,
                msgs: st.msgs,
                count,
            }));
            return count;
        }
        // Overlapping filters are counted once through the subject totals.
        let mut total = 0;
        let mut seen = std::collections::BTreeSet::new();
        for f in &self.filters {
            for (subj, _) in store.subjects_state(f) {
                if seen.insert(subj.clone()) {
                    total += store.filtered_state(start, &subj).msgs;
                }
            }
        }
        total
    }
}
