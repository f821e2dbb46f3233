//! `rnats`: a NATS command-line client with the basics of natscli
//! (`pub`, `sub`, `req`, `reply`) and a benchmark (`bench`).

mod bench;
mod bench_js;

use clap::{Args, Parser, Subcommand};
use futures::StreamExt;
use std::time::Duration;

/// NATS command-line client.
#[derive(Parser, Debug)]
#[command(name = "rnats", version, about)]
struct Cli {
    #[command(flatten)]
    conn: ConnArgs,
    #[command(subcommand)]
    cmd: Cmd,
}

/// How to reach and authenticate to the server.
#[derive(Args, Debug, Clone)]
pub struct ConnArgs {
    /// Server URLs, comma separated.
    #[arg(
        short = 's',
        long = "server",
        env = "NATS_URL",
        default_value = "nats://127.0.0.1:4222",
        global = true
    )]
    pub server: String,
    /// Username.
    #[arg(long, global = true)]
    pub user: Option<String>,
    /// Password.
    #[arg(long, global = true)]
    pub password: Option<String>,
    /// Token.
    #[arg(long, global = true)]
    pub token: Option<String>,
    /// File holding an nkey seed.
    #[arg(long, global = true)]
    pub nkey: Option<String>,
    /// Credentials (.creds) file.
    #[arg(long, global = true)]
    pub creds: Option<String>,
    /// Connection name.
    #[arg(long, global = true, default_value = "rnats")]
    pub name: String,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Publish a message.
    Pub {
        /// Subject.
        subject: String,
        /// Body.
        #[arg(default_value = "")]
        body: String,
        /// How many times to publish.
        #[arg(long, default_value_t = 1)]
        count: u64,
        /// Header as KEY:VALUE (repeatable).
        #[arg(short = 'H', long = "header")]
        headers: Vec<String>,
        /// Reply subject.
        #[arg(long)]
        reply: Option<String>,
    },
    /// Subscribe and print messages.
    Sub {
        /// Subject (wildcards allowed).
        subject: String,
        /// Queue group.
        #[arg(long)]
        queue: Option<String>,
        /// Stop after this many messages (0: never).
        #[arg(long, default_value_t = 0)]
        count: u64,
    },
    /// Send a request and print the reply.
    Req {
        /// Subject.
        subject: String,
        /// Body.
        #[arg(default_value = "")]
        body: String,
        /// Header as KEY:VALUE (repeatable).
        #[arg(short = 'H', long = "header")]
        headers: Vec<String>,
        /// Timeout in milliseconds.
        #[arg(long, default_value_t = 2000)]
        timeout_ms: u64,
    },
    /// Answer requests with a fixed body.
    Reply {
        /// Subject.
        subject: String,
        /// Reply body.
        body: String,
        /// Queue group.
        #[arg(long)]
        queue: Option<String>,
        /// Stop after this many requests (0: never).
        #[arg(long, default_value_t = 0)]
        count: u64,
    },
    /// Benchmark publish, fan-out, queue groups or request/reply
    /// (`rnats bench js`: JetStream publish and consume).
    Bench(BenchCmd),
}

/// `rnats bench [js]`.
#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
struct BenchCmd {
    #[command(subcommand)]
    kind: Option<BenchKind>,
    #[command(flatten)]
    args: bench::BenchArgs,
}

#[derive(Subcommand, Debug)]
enum BenchKind {
    /// JetStream: async or sync publish with PubAcks, or pull consume with acks.
    Js(bench_js::JsArgs),
}

/// Connects with the given options.
pub async fn connect(c: &ConnArgs) -> Result<async_nats::Client, String> {
    connect_with(c, async_nats::ConnectOptions::new()).await
}

/// Connects with the given options on top of `o`.
pub async fn connect_with(
    c: &ConnArgs,
    o: async_nats::ConnectOptions,
) -> Result<async_nats::Client, String> {
    let mut o = o.name(&c.name);
    if let (Some(u), Some(p)) = (&c.user, &c.password) {
        o = o.user_and_password(u.clone(), p.clone());
    }
    if let Some(t) = &c.token {
        o = o.token(t.clone());
    }
    if let Some(path) = &c.nkey {
        let seed = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
        o = o.nkey(seed.trim().to_string());
    }
    if let Some(path) = &c.creds {
        o = o
            .credentials_file(path)
            .await
            .map_err(|e| format!("{path}: {e}"))?;
    }
    let urls: Vec<&str> = c.server.split(',').map(str::trim).collect();
    o.connect(urls)
        .await
        .map_err(|e| format!("cannot connect to {}: {e}", c.server))
}

fn header_map(list: &[String]) -> Result<Option<async_nats::HeaderMap>, String> {
    if list.is_empty() {
        return Ok(None);
    }
    let mut h = async_nats::HeaderMap::new();
    for kv in list {
        let (k, v) = kv
            .split_once(':')
            .ok_or_else(|| format!("header {kv:?} is not KEY:VALUE"))?;
        h.insert(k.trim(), v.trim());
    }
    Ok(Some(h))
}

/// Subscribes, in a queue group when one is given.
async fn subscribe(
    c: &async_nats::Client,
    subject: &str,
    queue: Option<String>,
) -> Result<async_nats::Subscriber, String> {
    match queue {
        Some(q) => c.queue_subscribe(subject.to_string(), q).await,
        None => c.subscribe(subject.to_string()).await,
    }
    .map_err(|e| e.to_string())
}

fn print_msg(m: &async_nats::Message) {
    println!("[{}] {} bytes", m.subject, m.payload.len());
    if let Some(h) = &m.headers {
        for (k, vs) in h.iter() {
            for v in vs {
                println!("{k}: {v}");
            }
        }
    }
    println!("{}", String::from_utf8_lossy(&m.payload));
}

async fn run(cli: Cli) -> Result<(), String> {
    match cli.cmd {
        Cmd::Pub {
            subject,
            body,
            count,
            headers,
            reply,
        } => {
            let c = connect(&cli.conn).await?;
            let h = header_map(&headers)?;
            for _ in 0..count {
                let payload = bytes::Bytes::from(body.clone());
                let r = match (&reply, &h) {
                    (Some(r), Some(h)) => {
                        c.publish_with_reply_and_headers(
                            subject.clone(),
                            r.clone(),
                            h.clone(),
                            payload,
                        )
                        .await
                    }
                    (Some(r), None) => {
                        c.publish_with_reply(subject.clone(), r.clone(), payload)
                            .await
                    }
                    (None, Some(h)) => {
                        c.publish_with_headers(subject.clone(), h.clone(), payload)
                            .await
                    }
                    (None, None) => c.publish(subject.clone(), payload).await,
                };
                r.map_err(|e| e.to_string())?;
            }
            c.flush().await.map_err(|e| e.to_string())?;
            eprintln!("Published {count} message(s) to {subject:?}");
        }
        Cmd::Sub {
            subject,
            queue,
            count,
        } => {
            let c = connect(&cli.conn).await?;
            let mut sub = subscribe(&c, &subject, queue).await?;
            eprintln!("Subscribing on {subject:?}");
            let mut n = 0;
            while let Some(m) = sub.next().await {
                print_msg(&m);
                n += 1;
                if count > 0 && n >= count {
                    break;
                }
            }
        }
        Cmd::Req {
            subject,
            body,
            headers,
            timeout_ms,
        } => {
            let c = connect(&cli.conn).await?;
            let mut req = async_nats::Request::new()
                .payload(body.into())
                .timeout(Some(Duration::from_millis(timeout_ms)));
            if let Some(h) = header_map(&headers)? {
                req = req.headers(h);
            }
            let m = c
                .send_request(subject, req)
                .await
                .map_err(|e| format!("request failed: {e}"))?;
            print_msg(&m);
        }
        Cmd::Reply {
            subject,
            body,
            queue,
            count,
        } => {
            let c = connect(&cli.conn).await?;
            let mut sub = subscribe(&c, &subject, queue).await?;
            eprintln!("Replying on {subject:?}");
            let mut n = 0;
            while let Some(m) = sub.next().await {
                if let Some(r) = m.reply {
                    c.publish(r, body.clone().into())
                        .await
                        .map_err(|e| e.to_string())?;
                }
                n += 1;
                if count > 0 && n >= count {
                    break;
                }
            }
            c.flush().await.map_err(|e| e.to_string())?;
        }
        Cmd::Bench(BenchCmd {
            kind: Some(BenchKind::Js(args)),
            ..
        }) => bench_js::run(&cli.conn, args).await?,
        Cmd::Bench(BenchCmd { args, .. }) => bench::run(&cli.conn, args).await?,
    }
    Ok(())
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    match rt.block_on(run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rnats: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
