//! `rnats bench`: publish-only, fan-out, queue-group and request/reply
//! workloads with rates, a latency histogram and optional JSON output.

use crate::{connect_with, ConnArgs};
use clap::Args;
use futures::StreamExt;
use hdrhistogram::Histogram;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Workload settings.
#[derive(Args, Debug, Clone)]
pub struct BenchArgs {
    /// Subject to use.
    #[arg(default_value = "bench")]
    pub subject: String,
    /// Publishers (or requesters with --request).
    #[arg(long = "pub", default_value_t = 1)]
    pub pubs: usize,
    /// Subscribers (or responders with --request).
    #[arg(long = "sub", default_value_t = 0)]
    pub subs: usize,
    /// Messages to publish in total.
    #[arg(long, default_value_t = 100_000)]
    pub msgs: u64,
    /// Payload size in bytes.
    #[arg(long, default_value_t = 128)]
    pub size: usize,
    /// Subscribers form one queue group.
    #[arg(long)]
    pub queue: bool,
    /// Request/reply: publishers wait for each reply.
    #[arg(long)]
    pub request: bool,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
    /// No progress bar.
    #[arg(long)]
    pub no_progress: bool,
    /// Give up when nothing arrives for this many seconds.
    #[arg(long, default_value_t = 10)]
    pub stall_secs: u64,
    /// Number the messages (publisher and sequence in the first 12 bytes,
    /// `--size` at least 12) and check that every subscriber sees each
    /// publisher's messages in order, without gaps (queue members: in
    /// order).
    #[arg(long)]
    pub seq: bool,
    /// Connect subscribers (or responders) to this server instead, e.g.
    /// another member of a cluster, to measure routes.
    #[arg(long)]
    pub sub_server: Option<String>,
    /// Publishers write pre-encoded PUBs on a plain TCP socket in 64 KiB
    /// writes, as fast as the server takes them (a flat-out publisher, as
    /// a client with a large write buffer is); subscribers stay async-nats.
    #[arg(long)]
    pub raw_pub: bool,
}

/// A finished run.
#[derive(Debug, Default)]
struct Report {
    workload: &'static str,
    elapsed: Duration,
    published: u64,
    pub_elapsed: Duration,
    delivered: u64,
    expected: u64,
    latency: Option<Histogram<u64>>,
    /// Messages out of order or after a gap (`--seq`).
    seq_errors: u64,
}

/// Publisher index and sequence number of a `--seq` payload.
fn seq_of(p: &[u8]) -> Option<(u32, u64)> {
    let i = u32::from_be_bytes(p.get(..4)?.try_into().ok()?);
    let n = u64::from_be_bytes(p.get(4..12)?.try_into().ok()?);
    Some((i, n))
}

/// Checks one received `--seq` payload against the next expected per
/// publisher: exact for plain subscribers, increasing for queue members.
fn check_seq(next: &mut std::collections::HashMap<u32, u64>, p: &[u8], exact: bool) -> bool {
    let Some((i, n)) = seq_of(p) else {
        return false;
    };
    let want = next.entry(i).or_insert(0);
    let ok = if exact { n == *want } else { n >= *want };
    *want = n + 1;
    ok
}

fn rate(n: u64, d: Duration) -> f64 {
    if d.is_zero() {
        0.0
    } else {
        n as f64 / d.as_secs_f64()
    }
}

fn human(n: f64) -> String {
    let s = format!("{:.0}", n);
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn progress(args: &BenchArgs, total: u64) -> indicatif::ProgressBar {
    if args.no_progress || args.json {
        return indicatif::ProgressBar::hidden();
    }
    let pb = indicatif::ProgressBar::new(total);
    pb.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} msgs {per_sec} eta {eta}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    pb
}

/// Runs the workload described by `args`.
pub async fn run(conn: &ConnArgs, args: BenchArgs) -> Result<(), String> {
    if args.pubs == 0 {
        return Err("--pub must be at least 1".into());
    }
    let report = if args.request {
        request_reply(conn, &args).await?
    } else {
        pub_sub(conn, &args).await?
    };
    print_report(&args, &report);
    if report.delivered < report.expected {
        return Err(format!(
            "only {} of {} messages arrived",
            report.delivered, report.expected
        ));
    }
    if report.seq_errors > 0 {
        return Err(format!(
            "{} messages arrived out of order or after a gap",
            report.seq_errors
        ));
    }
    Ok(())
}

/// A connection whose subscriptions buffer enough messages that the
/// client itself never drops any.
async fn bench_conn(conn: &ConnArgs) -> Result<async_nats::Client, String> {
    let o = async_nats::ConnectOptions::new().subscription_capacity(1 << 22);
    connect_with(conn, o).await
}

/// The connection settings for subscribers and responders.
fn sub_conn(conn: &ConnArgs, args: &BenchArgs) -> ConnArgs {
    let mut c = conn.clone();
    if let Some(s) = &args.sub_server {
        c.server = s.clone();
    }
    c
}

/// With subscribers on another server: waits until their interest has
/// reached the publishers' server (a probe subscribed after them answers
/// through it).
async fn await_interest(conn: &ConnArgs, args: &BenchArgs) -> Result<(), String> {
    if args.sub_server.is_none() {
        return Ok(());
    }
    let responder = bench_conn(&sub_conn(conn, args)).await?;
    let mut probe = responder
        .subscribe("_rnats_bench.ready")
        .await
        .map_err(|e| e.to_string())?;
    round_trip(&responder).await;
    let r2 = responder.clone();
    let task = tokio::spawn(async move {
        while let Some(m) = probe.next().await {
            if let Some(r) = m.reply {
                let _ = r2.publish(r, "".into()).await;
            }
        }
    });
    let asker = bench_conn(conn).await?;
    let deadline = Instant::now() + Duration::from_secs(args.stall_secs);
    loop {
        let r = tokio::time::timeout(
            Duration::from_secs(1),
            asker.request("_rnats_bench.ready", "".into()),
        )
        .await;
        if matches!(r, Ok(Ok(_))) {
            break;
        }
        if Instant::now() > deadline {
            task.abort();
            return Err("subscribers' interest never reached the publishers' server".into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    task.abort();
    Ok(())
}

/// Makes sure every command sent on `c` so far reached the server.
async fn round_trip(c: &async_nats::Client) {
    let _ = c.flush().await;
    let _ = c.request("_rnats_bench.sync", "".into()).await;
}

async fn pub_sub(conn: &ConnArgs, args: &BenchArgs) -> Result<Report, String> {
    let per_sub = if args.queue { 0 } else { args.msgs };
    let expected = if args.subs == 0 {
        0
    } else if args.queue {
        args.msgs
    } else {
        args.msgs * args.subs as u64
    };
    let received = Arc::new(AtomicU64::new(0));
    let last = Arc::new(AtomicU64::new(0));
    let seq_errors = Arc::new(AtomicU64::new(0));
    if args.seq && args.size < 12 {
        return Err("--seq needs --size of at least 12".into());
    }
    if args.seq && args.raw_pub {
        return Err("--seq and --raw-pub do not go together".into());
    }
    let mut sub_tasks = Vec::new();
    let sconn = sub_conn(conn, args);
    for _ in 0..args.subs {
        let c = bench_conn(&sconn).await?;
        let mut sub = if args.queue {
            c.queue_subscribe(args.subject.clone(), "bench".into())
                .await
        } else {
            c.subscribe(args.subject.clone()).await
        }
        .map_err(|e| e.to_string())?;
        round_trip(&c).await;
        let received = received.clone();
        let last = last.clone();
        let stall = Duration::from_secs(args.stall_secs);
        let seq_errors = seq_errors.clone();
        let (check, exact) = (args.seq, !args.queue);
        sub_tasks.push(tokio::spawn(async move {
            let mut n = 0u64;
            let mut next = std::collections::HashMap::new();
            while let Ok(Some(m)) = tokio::time::timeout(stall, sub.next()).await {
                if check && !check_seq(&mut next, &m.payload, exact) {
                    seq_errors.fetch_add(1, Ordering::Relaxed);
                }
                n += 1;
                received.fetch_add(1, Ordering::Relaxed);
                last.store(now_nanos(), Ordering::Relaxed);
                if per_sub > 0 && n >= per_sub {
                    break;
                }
            }
            drop(c);
            n
        }));
    }
    await_interest(conn, args).await?;
    let pb = progress(args, if expected > 0 { expected } else { args.msgs });
    let published = Arc::new(AtomicU64::new(0));
    let payload = bytes::Bytes::from(vec![b'x'; args.size]);
    let start = Instant::now();
    let base = now_nanos();
    let mut pub_tasks = Vec::new();
    for i in 0..args.pubs {
        if args.raw_pub {
            let n = share(args.msgs, args.pubs, i);
            let addr = host_port(&conn.server)?;
            let (subject, size, published) = (args.subject.clone(), args.size, published.clone());
            pub_tasks.push(tokio::spawn(async move {
                if let Err(e) = raw_publish(&addr, &subject, size, n, &published).await {
                    eprintln!("raw publisher: {e}");
                }
            }));
            continue;
        }
        let c = bench_conn(conn).await?;
        let n = share(args.msgs, args.pubs, i);
        let subject = args.subject.clone();
        let payload = payload.clone();
        let published = published.clone();
        let seq = args.seq;
        pub_tasks.push(tokio::spawn(async move {
            for k in 0..n {
                let payload = if seq {
                    let mut p = payload.to_vec();
                    p[..4].copy_from_slice(&(i as u32).to_be_bytes());
                    p[4..12].copy_from_slice(&k.to_be_bytes());
                    bytes::Bytes::from(p)
                } else {
                    payload.clone()
                };
                if c.publish(subject.clone(), payload).await.is_err() {
                    break;
                }
                published.fetch_add(1, Ordering::Relaxed);
            }
            let _ = c.flush().await;
            round_trip(&c).await;
        }));
    }
    let ticker = {
        let pb = pb.clone();
        let received = received.clone();
        let published = published.clone();
        let fanout = expected > 0;
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(100)).await;
                pb.set_position(if fanout {
                    received.load(Ordering::Relaxed)
                } else {
                    published.load(Ordering::Relaxed)
                });
            }
        })
    };
    for t in pub_tasks {
        t.await.map_err(|e| e.to_string())?;
    }
    let pub_elapsed = start.elapsed();
    let mut delivered = 0;
    for t in sub_tasks {
        delivered += t.await.map_err(|e| e.to_string())?;
    }
    ticker.abort();
    pb.finish_and_clear();
    let end = last.load(Ordering::Relaxed);
    let elapsed = if delivered > 0 && end > base {
        Duration::from_nanos(end - base)
    } else {
        pub_elapsed
    };
    Ok(Report {
        workload: if args.subs == 0 {
            "pub"
        } else if args.queue {
            "queue"
        } else {
            "pubsub"
        },
        elapsed,
        published: published.load(Ordering::Relaxed),
        pub_elapsed,
        delivered,
        expected,
        latency: None,
        seq_errors: seq_errors.load(Ordering::Relaxed),
    })
}

/// Messages publisher `i` of `pubs` sends, so that they add up to `msgs`.
/// `host:port` of the first server URL.
fn host_port(servers: &str) -> Result<String, String> {
    let first = servers.split(',').next().unwrap_or_default().trim();
    let hp = first.rsplit("://").next().unwrap_or(first);
    let hp = hp.rsplit('@').next().unwrap_or(hp);
    if hp.contains(':') {
        Ok(hp.to_string())
    } else {
        Ok(format!("{hp}:4222"))
    }
}

/// A flat-out publisher: `n` PUBs of `size` bytes on `subject`, encoded
/// once and written in 64 KiB batches, then a PING whose PONG says the
/// server has read them all.
async fn raw_publish(
    addr: &str,
    subject: &str,
    size: usize,
    n: u64,
    published: &AtomicU64,
) -> Result<(), String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| e.to_string())?;
    let _ = s.set_nodelay(true);
    let mut one = format!("PUB {subject} {size}\r\n").into_bytes();
    one.extend(std::iter::repeat_n(b'x', size));
    one.extend_from_slice(b"\r\n");
    let per_batch = (64 * 1024 / one.len()).max(1) as u64;
    let batch = one.repeat(per_batch as usize);
    s.write_all(b"CONNECT {\"verbose\":false,\"pedantic\":false,\"name\":\"rnats-bench-raw\"}\r\n")
        .await
        .map_err(|e| e.to_string())?;
    let mut left = n;
    while left > 0 {
        let k = left.min(per_batch);
        s.write_all(&batch[..k as usize * one.len()])
            .await
            .map_err(|e| e.to_string())?;
        published.fetch_add(k, Ordering::Relaxed);
        left -= k;
    }
    s.write_all(b"PING\r\n").await.map_err(|e| e.to_string())?;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !got.windows(6).any(|w| w == b"PONG\r\n") {
        let r = s.read(&mut buf).await.map_err(|e| e.to_string())?;
        if r == 0 {
            return Err("connection closed".into());
        }
        got.extend_from_slice(&buf[..r]);
        if got.len() > 1 << 16 {
            got.drain(..got.len() - 8);
        }
    }
    Ok(())
}

fn share(msgs: u64, pubs: usize, i: usize) -> u64 {
    msgs / pubs as u64 + u64::from((i as u64) < msgs % pubs as u64)
}

fn now_nanos() -> u64 {
    use std::sync::OnceLock;
    static T0: OnceLock<Instant> = OnceLock::new();
    T0.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

async fn request_reply(conn: &ConnArgs, args: &BenchArgs) -> Result<Report, String> {
    let responders = args.subs.max(1);
    let mut resp_tasks = Vec::new();
    let sconn = sub_conn(conn, args);
    for _ in 0..responders {
        let c = bench_conn(&sconn).await?;
        let mut sub = c
            .queue_subscribe(args.subject.clone(), "bench-responders".into())
            .await
            .map_err(|e| e.to_string())?;
        round_trip(&c).await;
        resp_tasks.push(tokio::spawn(async move {
            while let Some(m) = sub.next().await {
                if let Some(r) = m.reply {
                    if c.publish(r, m.payload).await.is_err() {
                        break;
                    }
                }
            }
        }));
    }
    await_interest(conn, args).await?;
    let pb = progress(args, args.msgs);
    let done = Arc::new(AtomicU64::new(0));
    let payload = bytes::Bytes::from(vec![b'x'; args.size]);
    let start = Instant::now();
    let mut req_tasks = Vec::new();
    for i in 0..args.pubs {
        let c = bench_conn(conn).await?;
        let n = share(args.msgs, args.pubs, i);
        let subject = args.subject.clone();
        let payload = payload.clone();
        let done = done.clone();
        let timeout = Duration::from_secs(args.stall_secs);
        req_tasks.push(tokio::spawn(async move {
            let mut h = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("histogram");
            for _ in 0..n {
                let t = Instant::now();
                let req = async_nats::Request::new()
                    .payload(payload.clone())
                    .timeout(Some(timeout));
                if c.send_request(subject.clone(), req).await.is_err() {
                    break;
                }
                let _ = h.record(t.elapsed().as_micros().max(1) as u64);
                done.fetch_add(1, Ordering::Relaxed);
            }
            h
        }));
    }
    let ticker = {
        let pb = pb.clone();
        let done = done.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(100)).await;
                pb.set_position(done.load(Ordering::Relaxed));
            }
        })
    };
    let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("histogram");
    for t in req_tasks {
        let h = t.await.map_err(|e| e.to_string())?;
        hist.add(&h).map_err(|e| e.to_string())?;
    }
    let elapsed = start.elapsed();
    ticker.abort();
    pb.finish_and_clear();
    for t in resp_tasks {
        t.abort();
    }
    let n = done.load(Ordering::Relaxed);
    Ok(Report {
        workload: "reqrep",
        elapsed,
        published: n,
        pub_elapsed: elapsed,
        delivered: n,
        expected: args.msgs,
        latency: Some(hist),
        seq_errors: 0,
    })
}

fn print_report(args: &BenchArgs, r: &Report) {
    let pub_rate = rate(r.published, r.pub_elapsed);
    let sub_rate = rate(r.delivered, r.elapsed);
    let mb = |msgs_per_sec: f64| msgs_per_sec * args.size as f64 / 1e6;
    let pct = |q: f64| r.latency.as_ref().map(|h| h.value_at_quantile(q));
    if args.json {
        let mut doc = serde_json::json!({
            "workload": r.workload,
            "msgs": args.msgs,
            "size": args.size,
            "pubs": args.pubs,
            "subs": args.subs,
            "published": r.published,
            "delivered": r.delivered,
            "seq_errors": r.seq_errors,
            "expected": r.expected,
            "elapsed_secs": r.elapsed.as_secs_f64(),
            "pub_msgs_per_sec": pub_rate,
            "delivered_msgs_per_sec": sub_rate,
        });
        if let Some(h) = &r.latency {
            doc["latency_us"] = serde_json::json!({
                "p50": h.value_at_quantile(0.5),
                "p90": h.value_at_quantile(0.9),
                "p99": h.value_at_quantile(0.99),
                "p99_9": h.value_at_quantile(0.999),
                "max": h.max(),
                "mean": h.mean(),
            });
        }
        println!("{doc}");
        return;
    }
    println!(
        "rnats bench {}: {} msgs of {} B, {} pub, {} sub",
        r.workload, args.msgs, args.size, args.pubs, args.subs
    );
    println!(
        "{:<10} {:>16} {:>12} {:>12}",
        "", "msgs/sec", "MB/sec", "messages"
    );
    println!(
        "{:<10} {:>16} {:>12.2} {:>12}",
        "publish",
        human(pub_rate),
        mb(pub_rate),
        r.published
    );
    if r.expected > 0 {
        println!(
            "{:<10} {:>16} {:>12.2} {:>12}",
            "delivered",
            human(sub_rate),
            mb(sub_rate),
            r.delivered
        );
    }
    if r.latency.is_some() {
        println!(
            "latency us: p50 {} p90 {} p99 {} p99.9 {} max {}",
            pct(0.5).unwrap_or(0),
            pct(0.9).unwrap_or(0),
            pct(0.99).unwrap_or(0),
            pct(0.999).unwrap_or(0),
            r.latency.as_ref().map(|h| h.max()).unwrap_or(0)
        );
    }
}
