//! Flow control: a publisher flat out is held to the pace of a subscriber
//! that keeps reading, however slowly, and nobody is closed as a slow
//! consumer; a subscriber that stops reading is still closed alone.

mod common;
use common::{http_json, ServerProc};
use futures::StreamExt;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A small max_pending (stall threshold 512 KiB) makes a runaway backlog
/// show within a few megabytes; the monitor port gives slow_consumers.
const SMALL_PENDING: &str = "max_pending: 1MB\nhttp_port: -1\n";

fn slow_consumers(srv: &ServerProc) -> u64 {
    http_json(srv.http_port, "/varz")["slow_consumers"]
        .as_u64()
        .unwrap()
}

/// async-nats on both ends, `msgs` messages of `size` bytes. The
/// subscriber runs on a single-threaded runtime and blocks it for 1 ms
/// every `every` messages, so its socket is
/// not read during the pause: it reads more slowly than the publisher
/// publishes. Every message must arrive, in order, and the server must
/// close nobody.
fn async_nats_slow_reader(config: &str, msgs: u64, size: usize, every: u64) {
    let srv = ServerProc::start(Some(config));
    let url = srv.url();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let sub_url = url.clone();
    let subscriber = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let events = Arc::new(AtomicBool::new(false));
            let seen = events.clone();
            let c = async_nats::ConnectOptions::new()
                .subscription_capacity(1 << 22)
                .event_callback(move |e| {
                    let seen = seen.clone();
                    async move {
                        if matches!(
                            e,
                            async_nats::Event::Disconnected
                                | async_nats::Event::SlowConsumer(_)
                                | async_nats::Event::ServerError(_)
                        ) {
                            seen.store(true, Ordering::Relaxed);
                        }
                    }
                })
                .connect(&sub_url)
                .await
                .unwrap();
            let mut sub = c.subscribe("flow").await.unwrap();
            c.flush().await.unwrap();
            // The subscription is known to the server once a request
            // through it has a round trip behind it.
            let _ = c.request("flow.sync", "".into()).await;
            ready_tx.send(()).unwrap();
            let mut n = 0u64;
            while n < msgs {
                let m = tokio::time::timeout(Duration::from_secs(20), sub.next())
                    .await
                    .unwrap_or_else(|_| panic!("stalled after {n} messages"))
                    .unwrap_or_else(|| panic!("subscription ended after {n} messages"));
                let seq = u64::from_be_bytes(m.payload[..8].try_into().unwrap());
                assert_eq!(seq, n, "message out of order");
                n += 1;
                if n.is_multiple_of(every) {
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
            assert!(
                !events.load(Ordering::Relaxed),
                "the subscriber saw a disconnect or an error"
            );
            n
        })
    });
    ready_rx.recv_timeout(Duration::from_secs(10)).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let p = async_nats::connect(&url).await.unwrap();
        let mut payload = vec![0u8; size];
        for i in 0..msgs {
            payload[..8].copy_from_slice(&i.to_be_bytes());
            p.publish("flow", bytes::Bytes::copy_from_slice(&payload))
                .await
                .unwrap();
        }
        p.flush().await.unwrap();
    });
    let got = subscriber.join().expect("subscriber");
    assert_eq!(got, msgs);
    assert_eq!(slow_consumers(&srv), 0);
}

#[test]
fn async_nats_slow_reader_gets_everything_with_the_default_config() {
    async_nats_slow_reader("http_port: -1\n", 300_000, 16, 10_000);
}

#[test]
fn async_nats_slow_reader_gets_everything_with_a_small_max_pending() {
    async_nats_slow_reader(SMALL_PENDING, 20_000, 1024, 10);
}

/// Publishes `n` (a multiple of 10,000) 16-byte messages on `flow` as
/// fast as the server reads them: pre-encoded PUBs in 330 KB writes. The
/// connection is returned open: closing it with INFO unread would reset it
/// and lose what the server has not read yet.
fn publish_flat_out(port: u16, n: usize) -> TcpStream {
    let mut publisher = TcpStream::connect(("127.0.0.1", port)).unwrap();
    publisher
        .write_all(b"CONNECT {\"verbose\":false}\r\n")
        .unwrap();
    let chunk: Vec<u8> = b"PUB flow 16\r\n0123456789abcdef\r\n".repeat(10_000);
    for _ in 0..n / 10_000 {
        publisher.write_all(&chunk).unwrap();
    }
    publisher
}

/// Takes the complete `msg`s and server PINGs off the front of `buf`;
/// returns how many messages it took. Panics on anything else.
fn take_msgs(buf: &mut Vec<u8>, msg: &[u8]) -> usize {
    let mut at = 0;
    let mut n = 0;
    loop {
        let rest = &buf[at..];
        if rest.starts_with(msg) {
            at += msg.len();
            n += 1;
        } else if rest.starts_with(b"PING\r\n") {
            at += 6;
        } else if rest.len() >= msg.len()
            || !(msg.starts_with(rest) || b"PING\r\n".starts_with(rest))
        {
            panic!(
                "unexpected bytes: {:?}",
                String::from_utf8_lossy(&rest[..rest.len().min(64)])
            );
        } else {
            break;
        }
    }
    buf.drain(..at);
    n
}

/// A raw subscriber that takes 8 KiB a millisecond (about 250,000 of these
/// messages a second at most), while a raw publisher writes 400,000 of them
/// as fast as the socket takes them: 13 MB, thirteen times max_pending. Writing a whole stall threshold to
/// this reader takes longer than a publisher's pause, so the server must
/// see the reader's progress between its own writes.
#[test]
fn raw_publisher_flat_out_is_held_to_a_slow_reader() {
    let srv = ServerProc::start(Some(SMALL_PENDING));
    const N: usize = 400_000;
    let mut sub = TcpStream::connect(("127.0.0.1", srv.port)).unwrap();
    sub.write_all(b"CONNECT {\"verbose\":false}\r\nSUB flow 1\r\nPING\r\n")
        .unwrap();
    let mut got = Vec::new();
    let mut tmp = vec![0u8; 8 * 1024];
    while !got.ends_with(b"PONG\r\n") {
        let n = sub.read(&mut tmp).unwrap();
        assert!(n > 0);
        got.extend_from_slice(&tmp[..n]);
    }
    let msg = b"MSG flow 1 16\r\n0123456789abcdef\r\n";
    let reader = std::thread::spawn(move || {
        sub.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let mut pending = Vec::new();
        let mut count = 0usize;
        while count < N {
            let n = match sub.read(&mut tmp) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            pending.extend_from_slice(&tmp[..n]);
            count += take_msgs(&mut pending, msg);
            std::thread::sleep(Duration::from_millis(1));
        }
        count
    });
    let start = Instant::now();
    let _publisher = publish_flat_out(srv.port, N);
    let count = reader.join().unwrap();
    assert_eq!(
        count,
        N,
        "the subscriber got {count} of {N} messages in {:?}",
        start.elapsed()
    );
    assert_eq!(slow_consumers(&srv), 0);
}

/// A subscriber that never reads is closed as a slow consumer at
/// max_pending, while a subscriber that reads gets every message.
#[test]
fn stuck_reader_is_closed_alone() {
    let srv = ServerProc::start(Some(SMALL_PENDING));
    const N: usize = 1_000_000;
    let mut stuck = srv.raw();
    stuck.send(b"CONNECT {\"verbose\":false}\r\nSUB flow 1\r\n");
    stuck.sync();
    let mut fast = srv.raw();
    fast.send(b"CONNECT {\"verbose\":false}\r\nSUB flow 1\r\n");
    fast.sync();
    let mut fast_sock = fast.s.try_clone().unwrap();
    let reader = std::thread::spawn(move || {
        fast_sock
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let msg = b"MSG flow 1 16\r\n0123456789abcdef\r\n";
        let mut tmp = vec![0u8; 1 << 16];
        let mut pending = Vec::new();
        let mut count = 0;
        while count < N {
            match fast_sock.read(&mut tmp) {
                Ok(0) | Err(_) => break,
                Ok(n) => pending.extend_from_slice(&tmp[..n]),
            }
            count += take_msgs(&mut pending, msg);
        }
        count
    });
    let _publisher = publish_flat_out(srv.port, N);
    assert_eq!(reader.join().unwrap(), N);
    stuck.expect_closed_after_draining();
    assert_eq!(slow_consumers(&srv), 1);
}
