//! `rnats bench js`: JetStream workloads. Each run creates its stream afresh
//! (file storage unless `--memory`) and reports messages per second:
//! - `async`: publishers that keep up to `--window` PubAcks outstanding;
//! - `sync`: publishers that wait for each PubAck before the next publish;
//! - `pull`: the stream is filled first, then a durable pull consumer with
//!   explicit acks is read in batches of `--batch`, each message acked;
//!   the run ends when every ack was taken (no ack pending).

use crate::{connect, ConnArgs};
use async_nats::jetstream::{self, consumer::pull, stream};
use clap::{Args, ValueEnum};
use futures::StreamExt;
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// What to measure.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Publish with up to `--window` PubAcks outstanding per publisher.
    Async,
    /// Publish and wait for each PubAck.
    Sync,
    /// Consume a filled stream with a durable pull consumer and explicit acks.
    Pull,
}

/// JetStream workload settings.
#[derive(Args, Debug, Clone)]
pub struct JsArgs {
    /// The workload.
    #[arg(long, value_enum, default_value_t = Mode::Async)]
    pub mode: Mode,
    /// Messages in total.
    #[arg(long, default_value_t = 100_000)]
    pub msgs: u64,
    /// Payload size in bytes.
    #[arg(long, default_value_t = 16)]
    pub size: usize,
    /// Concurrent publishers.
    #[arg(long = "pub", default_value_t = 1)]
    pub pubs: usize,
    /// PubAcks outstanding per publisher (`async`).
    #[arg(long, default_value_t = 256)]
    pub window: usize,
    /// Messages per pull request (`pull`).
    #[arg(long, default_value_t = 100)]
    pub batch: usize,
    /// A memory stream instead of a file stream.
    #[arg(long)]
    pub memory: bool,
    /// The stream (deleted and created again) and its subject.
    #[arg(long, default_value = "BENCH")]
    pub stream: String,
    /// Print the result as JSON (the fields of `rnats bench --json`).
    #[arg(long)]
    pub json: bool,
    /// Accepted for the scripts (there is no progress bar).
    #[arg(long)]
    pub no_progress: bool,
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// Runs the workload and prints its report.
pub async fn run(conn: &ConnArgs, args: JsArgs) -> Result<(), String> {
    if args.pubs == 0 || args.window == 0 || args.batch == 0 {
        return Err("--pub, --window and --batch must be at least 1".into());
    }
    let client = connect(conn).await?;
    let js = jetstream::new(client.clone());
    let _ = js.delete_stream(&args.stream).await;
    let subject = format!("{}.msgs", args.stream.to_lowercase());
    js.create_stream(stream::Config {
        name: args.stream.clone(),
        subjects: vec![subject.clone()],
        storage: if args.memory {
            stream::StorageType::Memory
        } else {
            stream::StorageType::File
        },
        ..Default::default()
    })
    .await
    .map_err(err)?;
    let (done, elapsed) = match args.mode {
        Mode::Async | Mode::Sync => publish_all(conn, &args, &subject).await?,
        Mode::Pull => {
            publish_all(conn, &args, &subject).await?;
            consume(&js, &args).await?
        }
    };
    let _ = js.delete_stream(&args.stream).await;
    report(&args, done, elapsed);
    if done < args.msgs {
        return Err(format!("only {done} of {} messages", args.msgs));
    }
    Ok(())
}

/// Publishes `--msgs` split over `--pub` publishers, each on its own
/// connection; returns how many were acknowledged and how long it took.
async fn publish_all(
    conn: &ConnArgs,
    args: &JsArgs,
    subject: &str,
) -> Result<(u64, Duration), String> {
    let mut tasks = Vec::new();
    let start = Instant::now();
    for i in 0..args.pubs {
        let n = args.msgs / args.pubs as u64 + u64::from((i as u64) < args.msgs % args.pubs as u64);
        let client = connect(conn).await?;
        let (subject, size, mode, window) =
            (subject.to_string(), args.size, args.mode, args.window);
        tasks.push(tokio::spawn(async move {
            let js = jetstream::new(client);
            let payload = bytes::Bytes::from(vec![b'x'; size]);
            let mut acked = 0u64;
            let mut inflight = VecDeque::new();
            for _ in 0..n {
                let ack = js
                    .publish(subject.clone(), payload.clone())
                    .await
                    .map_err(err)?;
                if mode == Mode::Sync {
                    ack.await.map_err(err)?;
                    acked += 1;
                    continue;
                }
                inflight.push_back(ack);
                if inflight.len() >= window {
                    inflight.pop_front().expect("full").await.map_err(err)?;
                    acked += 1;
                }
            }
            for ack in inflight {
                ack.await.map_err(err)?;
                acked += 1;
            }
            Ok::<u64, String>(acked)
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.map_err(err)??;
    }
    Ok((total, start.elapsed()))
}

/// Reads the stream with a durable pull consumer and explicit acks.
async fn consume(js: &jetstream::Context, args: &JsArgs) -> Result<(u64, Duration), String> {
    let stream = js.get_stream(&args.stream).await.map_err(err)?;
    let consumer: jetstream::consumer::PullConsumer = stream
        .create_consumer(pull::Config {
            durable_name: Some("bench".into()),
            ack_policy: jetstream::consumer::AckPolicy::Explicit,
            ..Default::default()
        })
        .await
        .map_err(err)?;
    let start = Instant::now();
    let mut got = 0u64;
    let mut quiet = 0;
    while got < args.msgs && quiet < 20 {
        let mut batch = consumer
            .fetch()
            .max_messages(args.batch)
            .expires(Duration::from_millis(500))
            .messages()
            .await
            .map_err(err)?;
        let before = got;
        while let Some(m) = batch.next().await {
            let m = m.map_err(err)?;
            m.ack().await.map_err(err)?;
            got += 1;
        }
        quiet = if got == before { quiet + 1 } else { 0 };
    }
    // Done when the server holds no ack pending.
    let mut consumer = consumer;
    for _ in 0..200 {
        let info = consumer.info().await.map_err(err)?;
        if info.num_ack_pending == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Ok((got, start.elapsed()))
}

fn report(args: &JsArgs, done: u64, elapsed: Duration) {
    let rate = done as f64 / elapsed.as_secs_f64().max(1e-9);
    let workload = match args.mode {
        Mode::Async => "js-async-pub",
        Mode::Sync => "js-sync-pub",
        Mode::Pull => "js-pull-consume",
    };
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "workload": workload,
                "msgs": args.msgs,
                "size": args.size,
                "pubs": args.pubs,
                "published": done,
                "delivered": done,
                "expected": args.msgs,
                "elapsed_secs": elapsed.as_secs_f64(),
                "delivered_msgs_per_sec": rate,
            })
        );
        return;
    }
    println!(
        "rnats bench js {workload}: {done} of {} msgs of {} B, {} pub, {:.0} msgs/sec, {:.2} MB/sec",
        args.msgs,
        args.size,
        args.pubs,
        rate,
        rate * args.size as f64 / 1e6
    );
}
