//! The same behaviour from both stores: sequences, loads, removal, purge,
//! compaction, limits and state, checked against nats-server's semantics.

use store::sim::SimFs;
use store::{
    Discard, FileStore, FileStoreOptions, MemStore, MsgStore, SimpleState, StoreConfig, StoreError,
};

fn stores(cfg: StoreConfig) -> Vec<(&'static str, Box<dyn MsgStore>)> {
    let small = FileStoreOptions {
        segment_size: 600,
        write_buffer: 256,
    };
    vec![
        (
            "mem",
            Box::new(MemStore::new(cfg.clone())) as Box<dyn MsgStore>,
        ),
        (
            "file",
            Box::new(
                FileStore::open(SimFs::new(), "s", cfg.clone(), FileStoreOptions::default())
                    .unwrap(),
            ),
        ),
        (
            "file-small-segments",
            Box::new(FileStore::open(SimFs::new(), "s", cfg, small).unwrap()),
        ),
    ]
}

fn fill(s: &mut dyn MsgStore, subjects: &[&str]) {
    for (i, subj) in subjects.iter().enumerate() {
        let seq = s
            .store(subj, b"", format!("m{}", i + 1).as_bytes(), 1000 + i as i64)
            .unwrap();
        assert_eq!(seq, i as u64 + 1);
    }
}

#[test]
fn store_load_and_state() {
    for (kind, mut s) in stores(StoreConfig::default()) {
        let st = s.state();
        assert_eq!((st.msgs, st.first_seq, st.last_seq), (0, 0, 0), "{kind}");
        fill(&mut *s, &["a", "b.x", "a", "b.y", "c"]);
        let m = s.load(3).unwrap();
        assert_eq!(
            (&*m.subject, m.seq, m.ts, m.msg(), m.hdr()),
            ("a", 3, 1002, &b"m3"[..], &b""[..]),
            "{kind}"
        );
        assert_eq!(s.load(9), Err(StoreError::NotFound), "{kind}");
        assert_eq!(s.load_last("a").unwrap().seq, 3, "{kind}");
        assert_eq!(s.load_last("b.*").unwrap().seq, 4, "{kind}");
        assert_eq!(s.load_last("zz"), Err(StoreError::NotFound), "{kind}");
        assert_eq!(s.load_next("b.>", 1).unwrap().seq, 2, "{kind}");
        assert_eq!(s.load_next("b.>", 3).unwrap().seq, 4, "{kind}");
        assert_eq!(s.load_next("a", 4), Err(StoreError::Eof), "{kind}");
        assert_eq!(s.load_next("", 5).unwrap().seq, 5, "{kind}");
        assert_eq!(s.load_prev(10).unwrap().seq, 5, "{kind}");
        let st = s.state();
        assert_eq!(
            (st.msgs, st.first_seq, st.last_seq, st.num_subjects),
            (5, 1, 5, 4),
            "{kind}"
        );
        assert_eq!((st.first_ts, st.last_ts), (1000, 1004), "{kind}");
        assert_eq!(
            s.filtered_state(1, "a"),
            SimpleState {
                msgs: 2,
                first: 1,
                last: 3
            },
            "{kind}"
        );
        assert_eq!(
            s.filtered_state(2, "a"),
            SimpleState {
                msgs: 1,
                first: 3,
                last: 3
            },
            "{kind}"
        );
        assert_eq!(
            s.filtered_state(0, "b.*"),
            SimpleState {
                msgs: 2,
                first: 2,
                last: 4
            },
            "{kind}"
        );
        let subjects = s.subjects_state(">");
        assert_eq!(
            subjects.keys().cloned().collect::<Vec<_>>(),
            ["a", "b.x", "b.y", "c"],
            "{kind}"
        );
        assert_eq!(s.all_last_seqs(), [2, 3, 4, 5], "{kind}");
        assert_eq!(&*s.subject_for_seq(4).unwrap(), "b.y", "{kind}");
        assert_eq!(s.seq_from_time(1002), 3, "{kind}");
        assert_eq!(s.seq_from_time(9999), 6, "{kind}");
    }
}

#[test]
fn headers_are_kept_apart_and_bytes_follow_the_go_formulas() {
    for (kind, mut s) in stores(StoreConfig::default()) {
        s.store("h", b"NATS/1.0\r\nA: b\r\n\r\n", b"body", 1)
            .unwrap();
        let m = s.load(1).unwrap();
        assert_eq!(m.hdr(), b"NATS/1.0\r\nA: b\r\n\r\n");
        assert_eq!(m.msg(), b"body");
        let want = if kind == "mem" {
            1 + 18 + 4 + 16
        } else {
            22 + 1 + 4 + 18 + 4 + 8
        };
        assert_eq!(s.state().bytes, want, "{kind}");
    }
}

#[test]
fn removal_keeps_sequences_and_reports_interior_deletes() {
    for (kind, mut s) in stores(StoreConfig::default()) {
        fill(&mut *s, &["a", "a", "b", "a", "b"]);
        assert!(s.remove(2).unwrap(), "{kind}");
        assert!(!s.remove(2).unwrap(), "{kind}");
        assert!(s.erase(4).unwrap(), "{kind}");
        let st = s.state();
        assert_eq!(
            (
                st.msgs,
                st.first_seq,
                st.last_seq,
                st.num_deleted,
                st.deleted.clone()
            ),
            (3, 1, 5, 2, vec![2, 4]),
            "{kind}"
        );
        assert_eq!(
            s.filtered_state(0, "a"),
            SimpleState {
                msgs: 1,
                first: 1,
                last: 1
            },
            "{kind}"
        );
        assert!(s.remove(1).unwrap());
        assert_eq!(s.state().first_seq, 3, "{kind}");
        assert!(s.remove(5).unwrap());
        assert!(s.remove(3).unwrap());
        let st = s.state();
        assert_eq!(
            (st.msgs, st.first_seq, st.last_seq, st.num_deleted),
            (0, 6, 5, 0),
            "{kind}"
        );
        assert_eq!(
            s.store("a", b"", b"x", 9).unwrap(),
            6,
            "{kind}: no sequence reused"
        );
    }
}

#[test]
fn purge_filters_sequences_and_keep() {
    for (kind, mut s) in stores(StoreConfig::default()) {
        fill(&mut *s, &["a", "b", "a", "b", "a", "b"]);
        assert_eq!(s.purge("a", 0, 1).unwrap(), 2, "{kind}");
        assert_eq!(s.filtered_state(0, "a").msgs, 1, "{kind}");
        assert_eq!(s.purge("b", 4, 0).unwrap(), 1, "{kind}: below seq 4 only");
        assert_eq!(
            s.filtered_state(0, "b"),
            SimpleState {
                msgs: 2,
                first: 4,
                last: 6
            },
            "{kind}"
        );
        assert_eq!(s.purge("", 0, 2).unwrap(), 1, "{kind}: keep the newest two");
        let st = s.state();
        assert_eq!((st.msgs, st.first_seq), (2, 5), "{kind}");
        assert_eq!(s.purge("", 0, 0).unwrap(), 2, "{kind}");
        let st = s.state();
        assert_eq!((st.msgs, st.first_seq, st.last_seq), (0, 7, 6), "{kind}");
        assert_eq!(s.store("a", b"", b"x", 9).unwrap(), 7, "{kind}");
    }
}

#[test]
fn compact_past_the_end_moves_the_next_sequence() {
    for (kind, mut s) in stores(StoreConfig::default()) {
        fill(&mut *s, &["a", "b", "c"]);
        assert_eq!(s.compact(2).unwrap(), 1, "{kind}");
        assert_eq!(s.state().first_seq, 2, "{kind}");
        assert_eq!(s.compact(100).unwrap(), 2, "{kind}");
        let st = s.state();
        assert_eq!((st.msgs, st.first_seq, st.last_seq), (0, 100, 99), "{kind}");
        assert_eq!(s.store("a", b"", b"x", 9).unwrap(), 100, "{kind}");
    }
}

#[test]
fn limits_discard_old() {
    let cfg = StoreConfig {
        max_msgs: 3,
        max_msgs_per_subject: 2,
        ..StoreConfig::default()
    };
    for (kind, mut s) in stores(cfg) {
        fill(&mut *s, &["a", "a", "a", "b", "c"]);
        let st = s.state();
        assert_eq!((st.msgs, st.first_seq, st.last_seq), (3, 3, 5), "{kind}");
        assert_eq!(s.filtered_state(0, "a").msgs, 1, "{kind}");
    }
    let cfg = StoreConfig {
        max_bytes: 200,
        ..StoreConfig::default()
    };
    for (kind, mut s) in stores(cfg) {
        for i in 0..10 {
            s.store("x", b"", &[0; 50], i).unwrap();
        }
        assert!(s.state().bytes <= 200, "{kind}");
        assert_eq!(s.state().last_seq, 10, "{kind}");
    }
}

#[test]
fn limits_discard_new() {
    let cfg = StoreConfig {
        max_msgs: 2,
        discard: Discard::New,
        ..StoreConfig::default()
    };
    for (kind, mut s) in stores(cfg) {
        fill(&mut *s, &["a", "b"]);
        assert_eq!(
            s.store("c", b"", b"x", 5),
            Err(StoreError::MaxMsgs),
            "{kind}"
        );
        assert_eq!(
            s.state().last_seq,
            2,
            "{kind}: a refused message takes no sequence"
        );
    }
    let cfg = StoreConfig {
        max_msgs_per_subject: 1,
        discard: Discard::New,
        discard_new_per_subject: true,
        ..StoreConfig::default()
    };
    for (kind, mut s) in stores(cfg) {
        fill(&mut *s, &["a", "b"]);
        assert_eq!(
            s.store("a", b"", b"x", 5),
            Err(StoreError::MaxMsgsPerSubject),
            "{kind}"
        );
    }
    let cfg = StoreConfig {
        max_bytes: 100,
        discard: Discard::New,
        ..StoreConfig::default()
    };
    for (kind, mut s) in stores(cfg) {
        s.store("a", b"", &[1; 40], 1).unwrap();
        assert_eq!(
            s.store("a", b"", &[1; 40], 2),
            Err(StoreError::MaxBytes),
            "{kind}"
        );
    }
}

#[test]
fn age_expiry_and_new_limits() {
    let cfg = StoreConfig {
        max_age: 100,
        ..StoreConfig::default()
    };
    for (kind, mut s) in stores(cfg.clone()) {
        for ts in [0, 50, 120, 200] {
            s.store("a", b"", b"x", ts).unwrap();
        }
        assert_eq!(s.expire(160).unwrap(), 2, "{kind}");
        assert_eq!(s.state().first_seq, 3, "{kind}");
        s.update_config(StoreConfig {
            max_msgs: 1,
            ..cfg.clone()
        })
        .unwrap();
        assert_eq!(s.state().msgs, 1, "{kind}");
        assert_eq!(s.state().first_seq, 4, "{kind}");
    }
}

#[test]
fn skip_marks_sequences() {
    for (kind, mut s) in stores(StoreConfig::default()) {
        s.skip(1).unwrap();
        s.skip(2).unwrap();
        assert_eq!(s.skip(5), Ok(()), "{kind}: an empty store may move forward");
        assert_eq!(s.store("a", b"", b"x", 1).unwrap(), 6, "{kind}");
        assert_eq!(s.skip(9), Err(StoreError::SequenceMismatch), "{kind}");
    }
}
