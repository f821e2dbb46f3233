//! Parser throughput over a pipelined buffer of mixed operations.
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use proto::{Parsed, Parser};

fn mixed_buffer() -> Vec<u8> {
    let mut v = Vec::new();
    for i in 0..1000 {
        match i % 5 {
            0 => v.extend_from_slice(b"PUB orders.new 16\r\n0123456789abcdef\r\n"),
            1 => v.extend_from_slice(
                b"HPUB {\"cmd\":\"agent-spinup\"} _INBOX.abcdef.1 18 36\r\nNATS/1.0\r\nA: B\r\n\r\n0123456789abcdef01\r\n",
            ),
            2 => v.extend_from_slice(b"SUB orders.* q 17\r\n"),
            3 => v.extend_from_slice(b"PING\r\n"),
            _ => v.extend_from_slice(b"PUB a.b.c reply 0\r\n\r\n"),
        }
    }
    v
}

fn bench(c: &mut Criterion) {
    let buf = mixed_buffer();
    let mut g = c.benchmark_group("parser");
    g.throughput(Throughput::Elements(1000));
    g.bench_function("mixed_1000_ops", |b| {
        let mut p = Parser::default();
        b.iter(|| {
            let mut pos = 0;
            let mut n = 0;
            while let Ok(Parsed::Op(_, used)) = p.parse(&buf[pos..]) {
                pos += used;
                n += 1;
            }
            assert_eq!(n, 1000);
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
