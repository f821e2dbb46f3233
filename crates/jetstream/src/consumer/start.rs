//! Where a new consumer starts: the first stream sequence for each deliver
//! policy, as nats-server's `selectStartingSeqNo` picks it.

use super::config::{ConsumerConfig, DeliverPolicy};
use store::MsgStore;

/// The first stream sequence a new consumer looks at.
pub(super) fn start_seq(cfg: &ConsumerConfig, filters: &[String], store: &dyn MsgStore) -> u64 {
    let st = store.fast_state();
    let first_matching = |from: u64| -> u64 {
        if filters.is_empty() {
            return from.max(st.first_seq);
        }
        filters
            .iter()
            .map(|f| {
                let s = store.filtered_state(from, f);
                if s.msgs > 0 {
                    s.first
                } else {
                    st.last_seq + 1
                }
            })
            .min()
            .unwrap_or(st.last_seq + 1)
    };
    match cfg.deliver_policy {
        DeliverPolicy::All => first_matching(st.first_seq),
        DeliverPolicy::Last => {
            if filters.is_empty() {
                st.last_seq.max(st.first_seq)
            } else {
                let last = filters
                    .iter()
                    .map(|f| store.filtered_state(0, f).last)
                    .max()
                    .unwrap_or(0);
                if last == 0 {
                    st.last_seq + 1
                } else {
                    last
                }
            }
        }
        DeliverPolicy::New => st.last_seq + 1,
        DeliverPolicy::ByStartSequence => cfg.opt_start_seq.max(1),
        DeliverPolicy::ByStartTime => {
            let ts = cfg
                .opt_start_time
                .as_deref()
                .and_then(parse_time)
                .unwrap_or(0);
            store.seq_from_time(ts)
        }
        DeliverPolicy::LastPerSubject => last_seqs(filters, store)
            .first()
            .copied()
            .unwrap_or(st.last_seq + 1),
    }
}

/// The last sequence of every subject passing `filters`, in order.
pub(super) fn last_seqs(filters: &[String], store: &dyn MsgStore) -> Vec<u64> {
    let mut seqs: Vec<u64> = if filters.is_empty() {
        store.all_last_seqs()
    } else {
        filters
            .iter()
            .flat_map(|f| store.subjects_state(f).into_values().map(|s| s.last))
            .collect()
    };
    seqs.sort_unstable();
    seqs.dedup();
    seqs
}

/// Parses an RFC 3339 time into nanoseconds since the epoch.
pub fn parse_time(s: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(s)
        .ok()?
        .timestamp_nanos_opt()
}
