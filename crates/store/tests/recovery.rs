//! The file store after restarts, power cuts and damage, on the simulated disk.

use std::collections::{BTreeMap, BTreeSet};
use store::sim::SimFs;
use store::{FileStore, FileStoreOptions, MsgStore, StoreConfig, StoreError};

type Model = BTreeMap<u64, (String, Vec<u8>)>;

fn opts() -> FileStoreOptions {
    FileStoreOptions {
        segment_size: 4096,
        write_buffer: 512,
    }
}

fn open(fs: &SimFs) -> FileStore<SimFs> {
    FileStore::open(fs.clone(), "st", StoreConfig::default(), opts()).expect("store opens")
}

fn payload(rng: &mut fastrand::Rng, seq: u64) -> Vec<u8> {
    let n = rng.usize(0..300);
    let mut v = format!("{seq}:").into_bytes();
    v.extend((0..n).map(|_| rng.alphanumeric() as u8));
    v
}

/// Applies one random operation to the store and, in `pending`, to what the
/// model will hold once the next sync completes.
fn random_op(rng: &mut fastrand::Rng, s: &mut FileStore<SimFs>, pending: &mut Model) {
    let op = rng.u8(..100);
    if std::env::var("STORE_TRACE").is_ok() {
        eprintln!("op {op} state {:?}", s.fast_state());
    }
    match op {
        0..=69 => {
            let subj = format!("s.{}", rng.u8(..8));
            let seq = s.state().last_seq + 1;
            let data = payload(rng, seq);
            assert_eq!(s.store(&subj, b"", &data, seq as i64).unwrap(), seq);
            pending.insert(seq, (subj, data));
        }
        70..=89 => {
            if let Some(&seq) = pending.keys().nth(rng.usize(..pending.len().max(1))) {
                if rng.bool() {
                    assert!(s.remove(seq).unwrap());
                } else {
                    assert!(s.erase(seq).unwrap());
                }
                pending.remove(&seq);
            }
        }
        90..=94 => {
            let subj = format!("s.{}", rng.u8(..8));
            let n = s.purge(&subj, 0, 0).unwrap();
            let before = pending.len();
            pending.retain(|_, (sj, _)| *sj != subj);
            assert_eq!(n as usize, before - pending.len());
        }
        _ => {
            let first = s.state().first_seq;
            let to = first + rng.u64(..5);
            s.compact(to).unwrap();
            pending.retain(|&seq, _| seq >= to);
        }
    }
}

/// Every message in the model is served with its content; nothing else is.
fn check(s: &mut FileStore<SimFs>, model: &Model, ctx: &str) {
    check_dead(s, model, model, &BTreeSet::new(), ctx)
}

/// Every message of `must` is served; what else is served has the content of
/// `known` (or was written for its sequence); no message whose removal was
/// made durable comes back.
fn check_dead(
    s: &mut FileStore<SimFs>,
    must: &Model,
    known: &Model,
    dead: &BTreeSet<u64>,
    ctx: &str,
) {
    let model = must;
    let st = s.state();
    for (&seq, (subj, data)) in model {
        let m = s
            .load(seq)
            .unwrap_or_else(|e| panic!("{ctx}: acked seq {seq} missing: {e}"));
        assert_eq!(
            (&*m.subject, m.msg()),
            (subj.as_str(), &data[..]),
            "{ctx}: seq {seq}"
        );
    }
    let mut seq = 0;
    while let Ok(m) = s.load_next("", seq + 1) {
        seq = m.seq;
        assert!(!dead.contains(&seq), "{ctx}: removed seq {seq} came back");
        if let Some((subj, data)) = known.get(&seq) {
            assert_eq!(
                (&*m.subject, m.msg()),
                (subj.as_str(), &data[..]),
                "{ctx}: seq {seq}"
            );
        } else {
            // Stored but never acknowledged: it must be what was written for that sequence.
            assert!(
                m.msg().starts_with(format!("{seq}:").as_bytes()),
                "{ctx}: seq {seq} served foreign bytes"
            );
        }
    }
    assert!(st.msgs >= model.len() as u64, "{ctx}");
}

#[test]
fn restart_gives_back_the_same_store() {
    let mut rng = fastrand::Rng::with_seed(7);
    let fs = SimFs::new();
    let mut s = open(&fs);
    let mut model = Model::new();
    for _ in 0..3000 {
        random_op(&mut rng, &mut s, &mut model);
    }
    s.sync().unwrap();
    let before = s.state();
    let files = fs.paths().len();
    drop(s);
    let mut s = open(&fs);
    assert_eq!(s.state(), before);
    check(&mut s, &model, "restart");
    assert!(
        files < 3000 * 160 / 4096,
        "head segments are dropped and sparse ones rewritten ({files} files)"
    );
    let next = s.store("x", b"", b"y", 0).unwrap();
    assert_eq!(next, before.last_seq + 1);
}

#[test]
fn purge_everything_survives_restart_without_reusing_sequences() {
    let fs = SimFs::new();
    let mut s = open(&fs);
    for i in 0..200u64 {
        s.store("a", b"", format!("{}:x", i + 1).as_bytes(), i as i64)
            .unwrap();
    }
    s.purge("", 0, 0).unwrap();
    s.sync().unwrap();
    drop(s);
    let mut s = open(&fs);
    let st = s.state();
    assert_eq!((st.msgs, st.first_seq, st.last_seq), (0, 201, 200));
    assert_eq!(s.store("a", b"", b"201:y", 0).unwrap(), 201);
    assert!(fs.paths().len() <= 2, "{:?}", fs.paths());
}

/// The power is cut at 1,000 random points of a random workload. Everything
/// synced before the cut comes back; nothing damaged is served; no sequence
/// that was acknowledged is reused.
#[test]
fn power_cuts_lose_nothing_acknowledged() {
    let trials: u64 = std::env::var("STORE_POWER_CUTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let from: u64 = std::env::var("STORE_TRIAL_FROM")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    for trial in from..from + trials {
        let mut rng = fastrand::Rng::with_seed(trial);
        let fs = SimFs::new();
        let mut acked = Model::new();
        let mut pending = Model::new();
        let mut max_acked = 0;
        let mut dead = BTreeSet::new();
        // Several lives per trial: cut, recover, go on.
        for life in 0..3 {
            let ctx = format!("trial {trial} life {life}");
            let mut s = open(&fs);
            // Acknowledged and not removed since: must be there. Removals not yet
            // acknowledged may or may not have become durable (the store syncs on its own too).
            let must: Model = acked
                .iter()
                .filter(|(q, _)| pending.contains_key(q))
                .map(|(q, v)| (*q, v.clone()))
                .collect();
            let mut known = acked.clone();
            known.extend(pending.clone());
            check_dead(&mut s, &must, &known, &dead, &ctx);
            assert!(
                s.state().last_seq >= max_acked,
                "{ctx}: sequence moved back"
            );
            // Unacknowledged survivors are now part of the store.
            pending.clear();
            let mut seq = 0;
            while let Ok(m) = s.load_next("", seq + 1) {
                seq = m.seq;
                pending.insert(seq, (m.subject.to_string(), m.msg().to_vec()));
            }
            acked = pending.clone();
            for _ in 0..rng.usize(1..120) {
                random_op(&mut rng, &mut s, &mut pending);
                if rng.u8(..10) == 0 {
                    s.sync().unwrap();
                    acked = pending.clone();
                    max_acked = s.state().last_seq;
                    dead.extend((1..=max_acked).filter(|q| !pending.contains_key(q)));
                }
            }
            if std::env::var("STORE_TRACE").is_ok() {
                eprintln!("power cut; acked {:?}", acked.keys().collect::<Vec<_>>());
            }
            fs.power_cut(&mut rng);
        }
    }
}

/// Random byte flips and truncations in store files: no panic, nothing
/// damaged served, losses reported, the store still usable.
#[test]
fn damage_is_detected_reported_and_survived() {
    let trials: u64 = std::env::var("STORE_DAMAGE_TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    for trial in 0..trials {
        let mut rng = fastrand::Rng::with_seed(10_000 + trial);
        let fs = SimFs::new();
        let mut s = open(&fs);
        let mut model = Model::new();
        for _ in 0..400 {
            random_op(&mut rng, &mut s, &mut model);
        }
        s.sync().unwrap();
        drop(s);
        let paths = fs.paths();
        let path = &paths[rng.usize(..paths.len())];
        let fs_before = fs.content(path).unwrap();
        let mut data = fs_before.clone();
        if data.is_empty() {
            continue;
        }
        let what = if rng.bool() {
            let i = rng.usize(..data.len());
            data[i] ^= 1 << rng.u8(..8);
            format!("flip at {i} of {path}")
        } else {
            let at = rng.usize(..data.len());
            data.truncate(at);
            format!("truncate {path} at {at}")
        };
        fs.set_content(path, data);
        let ctx = format!("trial {trial}: {what}");
        let mut s = open(&fs);
        let st = s.state();
        let mut missing = Vec::new();
        for (&seq, (subj, bytes)) in &model {
            match s.load(seq) {
                Ok(m) => assert_eq!(
                    (&*m.subject, m.msg()),
                    (subj.as_str(), &bytes[..]),
                    "{ctx}: seq {seq} served damaged"
                ),
                Err(StoreError::NotFound) => missing.push(seq),
                Err(e) => panic!("{ctx}: {e}"),
            }
        }
        // A file cut exactly between records at the end of the newest segment looks
        // like a store that was never written further: no record can tell.
        let boundary_cut = what.starts_with("truncate")
            && *path == *paths.iter().filter(|p| p.ends_with(".seg")).max().unwrap()
            && {
                let cut: usize = what.rsplit(' ').next().unwrap().parse().unwrap();
                store_boundary(&fs_before, path, cut)
            };
        if !missing.is_empty() && !boundary_cut {
            let lost = s
                .state()
                .lost
                .unwrap_or_else(|| panic!("{ctx}: {missing:?} gone without a report"));
            assert!(lost.bytes > 0 || !lost.msgs.is_empty(), "{ctx}");
        }
        let seq = s.store("after", b"", b"ok", 0).unwrap();
        assert!(seq > 0, "{ctx}");
        s.sync().unwrap();
        assert_eq!(s.load(seq).unwrap().msg(), b"ok", "{ctx}");
        let _ = st;
    }
}

/// Whether `at` falls between two records of a segment file.
fn store_boundary(data: &[u8], _path: &str, at: usize) -> bool {
    let mut pos = 0;
    while pos < at {
        if data.len() < pos + 8 {
            return false;
        }
        let body = u32::from_le_bytes(data[pos + 4..pos + 8].try_into().unwrap()) as usize;
        pos += 40 + body;
    }
    pos == at
}
