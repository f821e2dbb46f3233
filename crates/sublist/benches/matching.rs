//! Sublist match: literal and wildcard subjects, cache hits and misses, at
//! 10k and 100k subscriptions.
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use sublist::Sublist;

fn build(n: u32) -> Sublist<u32> {
    let mut s = Sublist::new();
    for i in 0..n {
        let subj = format!("svc.{}.{}.req", i % 100, i);
        s.insert(subj.as_bytes(), None, i).unwrap();
    }
    s.insert(b"svc.*.*.req", None, n).unwrap();
    s.insert(b"svc.>", Some(b"q"), n + 1).unwrap();
    s
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("sublist");
    for n in [10_000u32, 100_000] {
        let s = build(n);
        g.bench_with_input(BenchmarkId::new("cache_hit", n), &s, |b, s| {
            b.iter(|| s.match_subject(b"svc.7.7.req"))
        });
        let subjects: Vec<Vec<u8>> = (0..4096)
            .map(|i| format!("svc.{}.{}.req", i % 100, i * 13).into_bytes())
            .collect();
        g.bench_with_input(BenchmarkId::new("cache_miss", n), &s, |b, s| {
            let mut i = 0;
            b.iter(|| {
                i = (i + 1) % subjects.len();
                // A fresh subject each time: 4096 subjects cycle through a
                // 1024-entry cache, so nearly every lookup walks the trie.
                s.match_subject(&subjects[i])
            })
        });
        // Wildcard-heavy: a subject matched by many `*` and `>` patterns.
        let mut w = Sublist::new();
        for i in 0..n {
            let subj = match i % 4 {
                0 => format!("svc.{}.*.req", i % 100),
                1 => format!("svc.*.{i}.req"),
                2 => format!("svc.{}.>", i % 100),
                _ => format!("svc.{}.{i}.req", i % 100),
            };
            w.insert(subj.as_bytes(), None, i).unwrap();
        }
        let wsubjects: Vec<Vec<u8>> = (0..4096)
            .map(|i| format!("svc.{}.{}.req", i % 100, i * 7).into_bytes())
            .collect();
        g.bench_with_input(BenchmarkId::new("wildcard_miss", n), &w, |b, w| {
            let mut i = 0;
            b.iter(|| {
                i = (i + 1) % wsubjects.len();
                w.match_subject(&wsubjects[i])
            })
        });
        g.bench_with_input(BenchmarkId::new("no_interest", n), &s, |b, s| {
            b.iter(|| s.match_subject(b"other.subject.entirely"))
        });
    }
    g.bench_function("insert_remove_literal", |b| {
        let mut s = build(10_000);
        b.iter(|| {
            s.insert(b"_INBOX.abc.def", None, 1).unwrap();
            s.remove(b"_INBOX.abc.def", None, &1);
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
