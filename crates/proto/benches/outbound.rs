//! The outbound path: encoding MSG and HMSG into a reused buffer, as a
//! publisher does for every receiver.
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("outbound");
    g.throughput(Throughput::Elements(1000));
    let payload = [b'x'; 16];
    let hmsg = b"NATS/1.0\r\ncontextId: 7\r\n\r\n{\"id\":1}";
    let mut buf: Vec<u8> = Vec::with_capacity(64 * 1024);
    g.bench_function("msg_16B_x1000", |b| {
        b.iter(|| {
            buf.clear();
            for _ in 0..1000 {
                proto::encode::msg(&mut buf, b"orders.new", b"17", None, None, &payload);
            }
            buf.len()
        })
    });
    g.bench_function("hmsg_reply_x1000", |b| {
        b.iter(|| {
            buf.clear();
            for _ in 0..1000 {
                proto::encode::msg(
                    &mut buf,
                    br#"{"cmd":"agent-spinup"}"#,
                    b"3",
                    Some(b"_INBOX.abcdefghijklmnop.1"),
                    Some(26),
                    hmsg,
                );
            }
            buf.len()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
