use super::*;

fn sids(r: &SublistResult<u32>) -> Vec<u32> {
    r.psubs.clone()
}

#[test]
fn literal_and_wildcards_in_go_order() {
    let mut s = Sublist::new();
    s.insert(b"foo", None, 1).unwrap();
    s.insert(b"foo.*", None, 2).unwrap();
    s.insert(b">", None, 3).unwrap();
    s.insert(b"foo.bar", None, 4).unwrap();
    s.insert(b"*.bar", None, 5).unwrap();
    s.insert(b"foo.>", None, 6).unwrap();
    // nats-server delivers `>` first, then `*` branches, then literals, then
    // a trailing `*`.
    assert_eq!(sids(&s.match_subject(b"foo.bar")), vec![3, 5, 6, 4, 2]);
    assert_eq!(sids(&s.match_subject(b"foo")), vec![3, 1]);
    assert_eq!(sids(&s.match_subject(b"bar")), vec![3]);
    assert_eq!(sids(&s.match_subject(b"foo.bar.baz")), vec![3, 6]);
    assert!(s.match_subject(b"foo..bar").is_empty());
    assert!(s.match_subject(b"foo.").is_empty());
}

#[test]
fn queue_groups_merge_by_name() {
    let mut s = Sublist::new();
    s.insert(b"foo", Some(b"q"), 1).unwrap();
    s.insert(b"foo", Some(b"q"), 2).unwrap();
    s.insert(b"*", Some(b"q"), 3).unwrap();
    s.insert(b"foo", Some(b"r"), 4).unwrap();
    s.insert(b"foo", None, 5).unwrap();
    let r = s.match_subject(b"foo");
    assert_eq!(r.psubs, vec![5]);
    assert_eq!(r.qsubs.len(), 2);
    let q = &r.qsubs.iter().find(|(n, _)| &**n == b"q").unwrap().1;
    let mut q = q.clone();
    q.sort();
    assert_eq!(q, vec![1, 2, 3]);
}

#[test]
fn remove_and_cache_invalidation() {
    let mut s = Sublist::new();
    s.insert(b"a.b", None, 1).unwrap();
    assert_eq!(sids(&s.match_subject(b"a.b")), vec![1]);
    let g = s.genid();
    s.insert(b"a.*", None, 2).unwrap();
    assert_ne!(g, s.genid());
    assert_eq!(sids(&s.match_subject(b"a.b")), vec![1, 2]);
    assert!(s.remove(b"a.b", None, &1));
    assert!(!s.remove(b"a.b", None, &1));
    assert_eq!(sids(&s.match_subject(b"a.b")), vec![2]);
    assert!(s.remove(b"a.*", None, &2));
    assert!(s.match_subject(b"a.b").is_empty());
    assert_eq!(s.count(), 0);
    assert!(s.root.is_empty(), "trie pruned");
    s.insert(b"q", Some(b"g"), 7).unwrap();
    assert!(!s.remove(b"q", None, &7));
    assert!(!s.remove(b"q", Some(b"h"), &7));
    assert!(s.remove(b"q", Some(b"g"), &7));
    assert!(s.root.is_empty());
    assert_eq!(s.insert(b"a..b", None, 1), Err(Error::InvalidSubject));
}

#[test]
fn stats_count_hits() {
    let mut s = Sublist::new();
    s.insert(b"x", None, 1u32).unwrap();
    s.match_subject(b"x");
    s.match_subject(b"x");
    let st = s.stats();
    assert_eq!(st.num_subs, 1);
    assert_eq!(st.num_matches, 2);
    assert_eq!(st.num_cache, 1);
    assert!((st.cache_hit_rate - 0.5).abs() < 1e-9);
    assert_eq!(s.all(), vec![1]);
}

#[test]
fn long_subjects() {
    let mut s = Sublist::new();
    let subj: Vec<u8> = (0..40)
        .map(|i| format!("t{i}"))
        .collect::<Vec<_>>()
        .join(".")
        .into_bytes();
    s.insert(&subj, None, 1).unwrap();
    s.insert(b"t0.>", None, 2).unwrap();
    assert_eq!(sids(&s.match_subject(&subj)), vec![2, 1]);
}

/// Random inserts, removes and matches against a naive model.
#[test]
fn agrees_with_naive_model() {
    let toks: [&[u8]; 5] = [b"a", b"b", b"c", b"*", b">"];
    let mut rng = fastrand::Rng::with_seed(7);
    let mut s = Sublist::new();
    let mut model: Vec<(Vec<u8>, u32)> = Vec::new();
    let mut next_id = 0u32;
    let gen = |rng: &mut fastrand::Rng, wild: bool| -> Vec<u8> {
        let n = rng.usize(1..4);
        let mut v = Vec::new();
        for i in 0..n {
            if i > 0 {
                v.push(b'.');
            }
            let t = if wild {
                toks[rng.usize(..5)]
            } else {
                toks[rng.usize(..3)]
            };
            v.extend_from_slice(t);
        }
        v
    };
    for _ in 0..5000 {
        match rng.u8(..3) {
            0 => {
                let subj = gen(&mut rng, true);
                let ok = s.insert(&subj, None, next_id).is_ok();
                assert_eq!(ok, is_valid_subject(&subj));
                if ok {
                    model.push((subj, next_id));
                }
                next_id += 1;
            }
            1 if !model.is_empty() => {
                let i = rng.usize(..model.len());
                let (subj, id) = model.swap_remove(i);
                assert!(s.remove(&subj, None, &id));
            }
            _ => {
                let subj = gen(&mut rng, false);
                let mut got = s.match_subject(&subj).psubs.clone();
                got.sort();
                let mut want: Vec<u32> = model
                    .iter()
                    .filter(|(f, _)| subject_matches(f, &subj))
                    .map(|(_, id)| *id)
                    .collect();
                want.sort();
                assert_eq!(got, want, "subject {}", String::from_utf8_lossy(&subj));
            }
        }
        assert_eq!(s.count() as usize, model.len());
    }
}
