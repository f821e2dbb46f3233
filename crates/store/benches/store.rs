//! Store benchmarks: append, read and purge, on memory and on the simulated disk.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use store::sim::SimFs;
use store::{FileStore, FileStoreOptions, MemStore, MsgStore, StoreConfig};

fn stores() -> Vec<(&'static str, Box<dyn MsgStore>)> {
    vec![
        (
            "mem",
            Box::new(MemStore::new(StoreConfig::default())) as Box<dyn MsgStore>,
        ),
        (
            "file",
            Box::new(
                FileStore::open(
                    SimFs::new(),
                    "s",
                    StoreConfig::default(),
                    FileStoreOptions::default(),
                )
                .unwrap(),
            ),
        ),
    ]
}

fn append(c: &mut Criterion) {
    let mut g = c.benchmark_group("append");
    for size in [16usize, 1024] {
        let payload = vec![7u8; size];
        g.throughput(Throughput::Elements(1));
        for (kind, mut s) in stores() {
            let mut ts = 0;
            g.bench_function(format!("{kind}/{size}B"), |b| {
                b.iter(|| {
                    ts += 1;
                    s.store("orders.new", b"", &payload, ts).unwrap()
                })
            });
        }
    }
}

fn read(c: &mut Criterion) {
    let mut g = c.benchmark_group("read");
    for (kind, mut s) in stores() {
        for i in 0..100_000 {
            s.store(if i % 2 == 0 { "a" } else { "b" }, b"", &[1; 128], i)
                .unwrap();
        }
        s.sync().unwrap();
        let mut seq = 0;
        g.bench_function(format!("{kind}/load"), |b| {
            b.iter(|| {
                seq = seq % 100_000 + 1;
                s.load(seq).unwrap()
            })
        });
        g.bench_function(format!("{kind}/load_last"), |b| {
            b.iter(|| s.load_last("a").unwrap())
        });
    }
}

fn purge(c: &mut Criterion) {
    let mut g = c.benchmark_group("purge");
    g.sample_size(10);
    for (kind, _) in stores() {
        g.bench_function(format!("{kind}/10k-filtered"), |b| {
            b.iter_batched(
                || {
                    let mut s = stores().into_iter().find(|(k, _)| *k == kind).unwrap().1;
                    for i in 0..10_000 {
                        s.store(if i % 2 == 0 { "a" } else { "b" }, b"", &[1; 64], i)
                            .unwrap();
                    }
                    s
                },
                |mut s| s.purge("a", 0, 0).unwrap(),
                criterion::BatchSize::LargeInput,
            )
        });
    }
}

criterion_group!(benches, append, read, purge);
criterion_main!(benches);
