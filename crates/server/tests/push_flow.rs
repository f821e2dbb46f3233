//! Push consumer flow control against nats-server 2.12.4: the same stream,
//! consumer and publishes on both, read on the raw protocol. Each server
//! must ask for flow control after the same message, stop at the same
//! message while the request is unanswered, report the stall in its idle
//! heartbeats, and go on once the request is answered.

mod common;
use common::{free_port, reference_bin, rnatsd_bin, scratch, Raw, ServerProc};
use std::time::Duration;

/// What arrives on the deliver subject.
#[derive(Debug, PartialEq)]
enum Got {
    /// A stored message.
    Data,
    /// A flow control request (its reply).
    Fc(String),
    /// An idle heartbeat (its header lines, sequences left out).
    Hb(Vec<String>),
}

fn parse(mut b: &[u8]) -> Vec<Got> {
    let mut out = Vec::new();
    while let Some(i) = b.windows(2).position(|w| w == b"\r\n") {
        let line = String::from_utf8_lossy(&b[..i]).into_owned();
        b = &b[i + 2..];
        let t: Vec<&str> = line.split(' ').collect();
        match t[0] {
            "MSG" => {
                let n: usize = t.last().unwrap().parse().unwrap();
                b = &b[n + 2..];
                out.push(Got::Data);
            }
            "HMSG" => {
                let total: usize = t.last().unwrap().parse().unwrap();
                let hlen: usize = t[t.len() - 2].parse().unwrap();
                let hdr = String::from_utf8_lossy(&b[..hlen]).into_owned();
                b = &b[total + 2..];
                if hdr.starts_with("NATS/1.0 100 FlowControl Request") {
                    out.push(Got::Fc(t[3].to_string()));
                } else if hdr.starts_with("NATS/1.0 100 Idle Heartbeat") {
                    let lines = hdr
                        .split("\r\n")
                        .filter(|l| !l.is_empty() && !l.starts_with("Nats-Last-"))
                        .map(|l| l.split(": ").next().unwrap().to_string())
                        .collect();
                    out.push(Got::Hb(lines));
                } else {
                    out.push(Got::Data);
                }
            }
            _ => {}
        }
    }
    out
}

/// Everything that arrives within `ms` milliseconds (heartbeats keep the
/// connection from ever being quiet for long).
fn collect(raw: &mut Raw, ms: u64) -> Vec<u8> {
    let end = std::time::Instant::now() + Duration::from_millis(ms);
    let mut out = Vec::new();
    while std::time::Instant::now() < end {
        out.extend(raw.read_quiet(Duration::from_millis(200)));
    }
    out
}

async fn js(c: &async_nats::Client, subject: &str, body: &str) {
    let r = c
        .request(subject.to_string(), body.to_string().into())
        .await
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&r.payload).unwrap();
    assert!(v.get("error").is_none(), "{subject}: {v}");
}

/// Data messages before the request, the request's reply prefix, data
/// messages up to the stall, whether heartbeats name the stall, and data
/// messages after the answer.
async fn run(bin: &str) -> (usize, String, usize, bool, usize) {
    let dir = scratch(&format!("fc-{}", free_port()));
    let sd = dir.display().to_string();
    let s = ServerProc::start_bin(bin, None, &["-js", "-sd", &sd]);
    let c = async_nats::connect(s.url()).await.unwrap();
    js(
        &c,
        "$JS.API.STREAM.CREATE.S",
        r#"{"name":"S","subjects":["s"]}"#,
    )
    .await;
    let payload = vec![b'x'; 64 * 1024];
    for _ in 0..40 {
        let ack = c.request("s", payload.clone().into()).await.unwrap();
        assert!(!ack.payload.is_empty());
    }
    let mut raw = Raw::connect(s.port);
    raw.read_line();
    raw.send(b"CONNECT {\"verbose\":false,\"headers\":true,\"protocol\":1}\r\nSUB d 1\r\n");
    raw.sync();
    js(
        &c,
        "$JS.API.CONSUMER.CREATE.S.C",
        r#"{"stream_name":"S","config":{"name":"C","deliver_subject":"d","flow_control":true,"idle_heartbeat":1000000000,"ack_policy":"none"}}"#,
    )
    .await;
    let first = parse(&collect(&mut raw, 700));
    let fc_at = first
        .iter()
        .position(|g| matches!(g, Got::Fc(_)))
        .unwrap_or_else(|| panic!("{bin}: no flow control request in {first:?}"));
    let Got::Fc(reply) = &first[fc_at] else {
        unreachable!()
    };
    let reply = reply.clone();
    let data = |v: &[Got]| v.iter().filter(|g| **g == Got::Data).count();
    let stalled_at = data(&first);
    // Unanswered: the next idle heartbeat names the request.
    let later = parse(&collect(&mut raw, 1600));
    assert_eq!(data(&later), 0, "{bin}: delivered while stalled");
    let hb_names_stall = later
        .iter()
        .any(|g| matches!(g, Got::Hb(lines) if lines.iter().any(|l| l == "Nats-Consumer-Stalled")));
    raw.send(format!("PUB {reply} 0\r\n\r\n").as_bytes());
    let rest = parse(&collect(&mut raw, 700));
    let prefix = reply.rsplit_once('.').unwrap().0.to_string();
    (
        data(&first[..fc_at]),
        prefix,
        stalled_at,
        hb_names_stall,
        data(&rest),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn push_flow_control_matches_nats_server() {
    // One after the other: the raw reads block.
    let go = run(&reference_bin()).await;
    let rn = run(&rnatsd_bin()).await;
    assert_eq!(go, rn, "2.12.4, then rnatsd");
    assert_eq!(rn.1, "$JS.FC.S.C");
    assert!(rn.2 < 40 && rn.3, "{rn:?}");
    assert_eq!(rn.2 + rn.4, 40, "{rn:?}");
}
