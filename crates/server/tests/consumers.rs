//! JetStream consumers against nats-server 2.12.4: the same consumer API
//! calls, pull requests and acks go to both servers and the replies must be
//! equal once times are masked. Then what rnatsd adds: an ack whose AckAck
//! was sent survives `kill -9`, and every un-acked message comes back.

mod common;
use common::{reference_bin, rnatsd_bin, scratch, ServerProc};
use futures::StreamExt;
use serde_json::Value;
use std::time::Duration;

/// One step of the script.
enum Step {
    /// An API request (subject, body): its JSON reply.
    Req(&'static str, &'static str),
    /// A publish (subject, payload), no reply.
    Pub(&'static str, &'static str),
    /// A pull request (stream.consumer, body): every message until a status or
    /// `wait` ms of quiet.
    Pull(&'static str, &'static str, u64),
    /// An ack (index of a delivered message, body) sent as a request: the AckAck.
    Ack(usize, &'static str),
    /// A pause, ms.
    Sleep(u64),
}
use Step::{Ack, Pub, Pull, Req, Sleep};

const SCRIPT: &[Step] = &[
    Req(
        "$JS.API.STREAM.CREATE.Q",
        r#"{"name":"Q","subjects":["q.>"],"retention":"workqueue"}"#,
    ),
    Req("$JS.API.CONSUMER.NAMES.Q", ""),
    Req("$JS.API.CONSUMER.NAMES.NOPE", ""),
    Req("$JS.API.CONSUMER.INFO.Q.D", ""),
    Req("$JS.API.CONSUMER.CREATE.Q.D", ""),
    Req("$JS.API.CONSUMER.CREATE.Q.D", "{bad json"),
    Req(
        "$JS.API.CONSUMER.DURABLE.CREATE.Q.D",
        r#"{"stream_name":"Q","config":{"durable_name":"X","ack_policy":"explicit"}}"#,
    ),
    Req(
        "$JS.API.CONSUMER.DURABLE.CREATE.Q.D",
        r#"{"stream_name":"Q","config":{"ack_policy":"explicit"}}"#,
    ),
    Req(
        "$JS.API.CONSUMER.CREATE.Q",
        r#"{"stream_name":"Q","config":{"durable_name":"D","ack_policy":"explicit"}}"#,
    ),
    Req(
        "$JS.API.CONSUMER.CREATE.Q.D",
        r#"{"stream_name":"Q","config":{"durable_name":"D","ack_policy":"all"}}"#,
    ),
    Req(
        "$JS.API.CONSUMER.CREATE.Q.D",
        r#"{"stream_name":"Q","config":{"durable_name":"D"}}"#,
    ),
    Req(
        "$JS.API.CONSUMER.CREATE.Q.D",
        r#"{"stream_name":"Q","config":{"durable_name":"D","ack_policy":"explicit","deliver_policy":"new"}}"#,
    ),
    Req(
        "$JS.API.CONSUMER.CREATE.Q.D",
        r#"{"stream_name":"Q","config":{"durable_name":"D","ack_policy":"explicit","deliver_policy":"by_start_sequence"}}"#,
    ),
    Req(
        "$JS.API.CONSUMER.CREATE.Q.D",
        r#"{"stream_name":"Q","config":{"durable_name":"D","ack_policy":"explicit","filter_subject":"q.a","filter_subjects":["q.b"]}}"#,
    ),
    Req(
        "$JS.API.CONSUMER.CREATE.Q.D",
        r#"{"stream_name":"Q","config":{"durable_name":"D","ack_policy":"explicit","filter_subjects":["q.>","q.a"]}}"#,
    ),
    Req(
        "$JS.API.CONSUMER.CREATE.Q.D",
        r#"{"stream_name":"Q","config":{"durable_name":"D","ack_policy":"explicit","idle_heartbeat":1000000000}}"#,
    ),
    Req(
        "$JS.API.CONSUMER.CREATE.Q.D",
        r#"{"stream_name":"Q","config":{"durable_name":"D","ack_policy":"explicit","backoff":[1000000000,2000000000],"max_deliver":1}}"#,
    ),
    Req(
        "$JS.API.CONSUMER.CREATE.Q.D",
        r#"{"stream_name":"Q","config":{"durable_name":"D","ack_policy":"explicit","max_deliver":4,"max_batch":5,"max_expires":2000000000}}"#,
    ),
    Req(
        "$JS.API.CONSUMER.CREATE.Q.D",
        r#"{"stream_name":"Q","config":{"durable_name":"D","ack_policy":"explicit","max_deliver":4,"max_batch":5,"max_expires":2000000000}}"#,
    ),
    Req(
        "$JS.API.CONSUMER.CREATE.Q.D",
        r#"{"stream_name":"Q","config":{"durable_name":"D","ack_policy":"explicit","max_deliver":3,"max_batch":5,"max_expires":2000000000},"action":"create"}"#,
    ),
    Req(
        "$JS.API.CONSUMER.CREATE.Q.D",
        r#"{"stream_name":"Q","config":{"durable_name":"D","ack_policy":"explicit","deliver_subject":"x.y"}}"#,
    ),
    Req(
        "$JS.API.CONSUMER.CREATE.Q.E",
        r#"{"stream_name":"Q","config":{"name":"E","ack_policy":"explicit"}}"#,
    ),
    Req(
        "$JS.API.CONSUMER.CREATE.Q.E.q.a",
        r#"{"stream_name":"Q","config":{"name":"E","ack_policy":"explicit","filter_subject":"q.b"}}"#,
    ),
    Req(
        "$JS.API.CONSUMER.CREATE.Q.E",
        r#"{"stream_name":"Q","config":{"name":"E","ack_policy":"explicit"},"action":"update"}"#,
    ),
    Req("$JS.API.CONSUMER.INFO.Q.D", ""),
    Req("$JS.API.CONSUMER.INFO.Q.D", r#"{"x":1}"#),
    Pub("q.a", "m1"),
    Pub("q.b", "m2"),
    Pub("q.c", "m3"),
    Pub("q.d", "m4"),
    Pub("q.e", "m5"),
    Sleep(100),
    Req("$JS.API.CONSUMER.INFO.Q.D", ""),
    Pull("Q.D", r#"{"batch":6}"#, 300),
    Pull("Q.D", r#"{"expires":100000000000}"#, 300),
    Pull("Q.D", r#"{"batch":2,"max_bytes":1}"#, 300),
    Pull("Q.D", r#"{"batch":1,"idle_heartbeat":5000000000}"#, 300),
    Pull("Q.D", r#"{"batch":2,"expires":500000000}"#, 1000),
    Ack(0, "+ACK"),
    Ack(0, "+ACK"),
    Ack(1, "-NAK"),
    Sleep(100),
    Req("$JS.API.CONSUMER.INFO.Q.D", ""),
    Pull("Q.D", r#"{"batch":3,"expires":500000000}"#, 1000),
    Ack(2, "+WPI"),
    Ack(3, "+TERM no"),
    Ack(4, "+ACK"),
    Sleep(100),
    Req("$JS.API.CONSUMER.INFO.Q.D", ""),
    Req("$JS.API.STREAM.INFO.Q", ""),
    Pull("Q.D", r#"{"batch":5,"no_wait":true}"#, 500),
    Ack(5, "-NAK {\"delay\":200000000}"),
    Pull("Q.D", r#"{"batch":5,"no_wait":true}"#, 500),
    Sleep(300),
    Pull("Q.D", r#"{"batch":5,"no_wait":true}"#, 500),
    Req("$JS.API.CONSUMER.INFO.Q.D", ""),
    Req("$JS.API.CONSUMER.LIST.Q", ""),
    Req("$JS.API.CONSUMER.NAMES.Q", r#"{"offset":5}"#),
    Req("$JS.API.CONSUMER.DELETE.Q.E", ""),
    Req("$JS.API.CONSUMER.DELETE.Q.E", ""),
    Req(
        "$JS.API.CONSUMER.CREATE.Q.F.q.z",
        r#"{"stream_name":"Q","config":{"name":"F","ack_policy":"explicit","filter_subject":"q.z"}}"#,
    ),
    Req("$JS.API.INFO", ""),
    Req(
        "$JS.API.STREAM.CREATE.L",
        r#"{"name":"L","subjects":["l.>"],"max_consumers":1}"#,
    ),
    Pub("l.1", "a"),
    Pub("l.2", "b"),
    Pub("l.1", "c"),
    Sleep(50),
    Req(
        "$JS.API.CONSUMER.CREATE.L.ALL",
        r#"{"stream_name":"L","config":{"name":"ALL","ack_policy":"all","deliver_policy":"last"}}"#,
    ),
    Req(
        "$JS.API.CONSUMER.CREATE.L.TWO",
        r#"{"stream_name":"L","config":{"name":"TWO","ack_policy":"none"}}"#,
    ),
    Req("$JS.API.CONSUMER.INFO.L.ALL", ""),
    Req("$JS.API.STREAM.PURGE.L", r#"{"filter":"l.1"}"#),
    Req("$JS.API.CONSUMER.INFO.L.ALL", ""),
    Req("$JS.API.STREAM.PURGE.L", ""),
    Req("$JS.API.CONSUMER.INFO.L.ALL", ""),
    Req("$JS.API.STREAM.INFO.L", ""),
    Req("$JS.API.STREAM.DELETE.L", ""),
    Req("$JS.API.CONSUMER.INFO.L.ALL", ""),
    Req(
        "$JS.API.STREAM.CREATE.I",
        r#"{"name":"I","subjects":["i.>"],"retention":"interest"}"#,
    ),
    Req(
        "$JS.API.CONSUMER.CREATE.I.A",
        r#"{"stream_name":"I","config":{"name":"A","durable_name":"A","ack_policy":"explicit"}}"#,
    ),
    Req(
        "$JS.API.CONSUMER.CREATE.I.B",
        r#"{"stream_name":"I","config":{"name":"B","durable_name":"B","ack_policy":"explicit","filter_subject":"i.b"}}"#,
    ),
    Pub("i.a", "ia"),
    Pub("i.b", "ib"),
    Sleep(50),
    Pull("I.A", r#"{"batch":2}"#, 300),
    Ack(6, "+ACK"),
    Ack(7, "+ACK"),
    Req("$JS.API.STREAM.INFO.I", ""),
    Pull("I.B", r#"{"batch":1}"#, 300),
    Ack(8, "+ACK"),
    Req("$JS.API.STREAM.INFO.I", ""),
    Req("$JS.API.CONSUMER.INFO.I.B", ""),
    Req(
        "$JS.API.STREAM.CREATE.K",
        r#"{"name":"K","subjects":["k.>"]}"#,
    ),
    Pub("k.1", "x"),
    Pub("k.2", "y"),
    Pub("k.1", "z"),
    Pub("k.3", "w"),
    Pub("k.2", "v"),
    Sleep(50),
    Req(
        "$JS.API.CONSUMER.CREATE.K.LPS",
        r#"{"stream_name":"K","config":{"name":"LPS","deliver_policy":"last_per_subject","filter_subject":"k.>","ack_policy":"explicit"}}"#,
    ),
    Pull("K.LPS", r#"{"batch":2}"#, 300),
    Req("$JS.API.CONSUMER.INFO.K.LPS", ""),
    Pub("k.1", "u"),
    Sleep(50),
    Pull("K.LPS", r#"{"batch":5,"no_wait":true}"#, 300),
    Req("$JS.API.CONSUMER.INFO.K.LPS", ""),
    Req(
        "$JS.API.CONSUMER.CREATE.K.HO",
        r#"{"stream_name":"K","config":{"name":"HO","deliver_policy":"last","headers_only":true,"ack_policy":"none"}}"#,
    ),
    Pull("K.HO", r#"{"batch":3,"no_wait":true}"#, 300),
    Req(
        "$JS.API.CONSUMER.CREATE.K.SEQ",
        r#"{"stream_name":"K","config":{"name":"SEQ","deliver_policy":"by_start_sequence","opt_start_seq":4,"filter_subjects":["k.2","k.3"],"ack_policy":"all"}}"#,
    ),
    Pull("K.SEQ", r#"{"batch":5,"no_wait":true}"#, 300),
    Ack(14, "+ACK"),
    Req("$JS.API.CONSUMER.INFO.K.SEQ", ""),
    Req(
        "$JS.API.STREAM.UPDATE.K",
        r#"{"name":"K","subjects":["k.>","kk.>"],"max_msgs_per_subject":1}"#,
    ),
    Req("$JS.API.STREAM.INFO.K", ""),
    Req("$JS.API.CONSUMER.INFO.K.LPS", ""),
    Req(
        "$JS.API.STREAM.UPDATE.K",
        r#"{"name":"K","subjects":["k.>"],"storage":"memory"}"#,
    ),
    Req(
        "$JS.API.STREAM.UPDATE.Q",
        r#"{"name":"Q","subjects":["q.>"],"retention":"limits"}"#,
    ),
    Req("$JS.API.STREAM.UPDATE.NOPE", r#"{"name":"NOPE"}"#),
    Req("$JS.API.STREAM.UPDATE.K", r#"{"name":"X"}"#),
    Req("$JS.API.STREAM.UPDATE.K", "{bad"),
    Req(
        "$JS.API.STREAM.UPDATE.K",
        r#"{"name":"K","subjects":["q.a"]}"#,
    ),
    Req(
        "$JS.API.STREAM.UPDATE.K",
        r#"{"name":"K","subjects":["k.>"],"max_consumers":5}"#,
    ),
    Req(
        "$JS.API.STREAM.UPDATE.K",
        r#"{"name":"K","subjects":["k.>"],"allow_direct":true,"deny_delete":true}"#,
    ),
    Req(
        "$JS.API.STREAM.UPDATE.K",
        r#"{"name":"K","subjects":["k.>"],"allow_direct":true}"#,
    ),
    Req(
        "$JS.API.STREAM.UPDATE.K",
        r#"{"name":"K","subjects":["k.>"],"sealed":true,"deny_delete":true}"#,
    ),
    Pub("k.9", "sealed?"),
    Req("$JS.API.STREAM.INFO.K", ""),
    // Pause and resume (2.11).
    Req(
        "$JS.API.STREAM.CREATE.P",
        r#"{"name":"P","subjects":["p.>"]}"#,
    ),
    Req(
        "$JS.API.CONSUMER.CREATE.P.C",
        r#"{"stream_name":"P","config":{"name":"C","ack_policy":"explicit"}}"#,
    ),
    Pub("p.1", "x"),
    Req(
        "$JS.API.CONSUMER.PAUSE.P.C",
        r#"{"pause_until":"2099-01-01T00:00:00Z"}"#,
    ),
    Req("$JS.API.CONSUMER.INFO.P.C", ""),
    Pull("P.C", r#"{"batch":1,"expires":300000000}"#, 600),
    Req("$JS.API.CONSUMER.PAUSE.P.C", ""),
    Req("$JS.API.CONSUMER.INFO.P.C", ""),
    Pull("P.C", r#"{"batch":1,"expires":300000000}"#, 600),
    Req(
        "$JS.API.CONSUMER.PAUSE.P.C",
        r#"{"pause_until":"2000-01-01T00:00:00Z"}"#,
    ),
    Req("$JS.API.CONSUMER.PAUSE.P.NOPE", "{}"),
    Req("$JS.API.CONSUMER.PAUSE.NOPE.C", "{}"),
    Req("$JS.API.CONSUMER.PAUSE.P.C", "{bad"),
    // Priority groups (2.11): overflow thresholds and the request checks.
    Req(
        "$JS.API.CONSUMER.CREATE.P.O",
        r#"{"stream_name":"P","config":{"name":"O","ack_policy":"explicit","priority_policy":"overflow","priority_groups":["A"]}}"#,
    ),
    Pull(
        "P.O",
        r#"{"batch":1,"expires":300000000,"group":"A","min_pending":5}"#,
        600,
    ),
    Pull(
        "P.O",
        r#"{"batch":1,"expires":300000000,"group":"A","min_pending":1}"#,
        600,
    ),
    Pull("P.O", r#"{"batch":1,"expires":300000000}"#, 300),
    Pull("P.O", r#"{"batch":1,"expires":300000000,"group":"B"}"#, 300),
    Pull(
        "P.O",
        r#"{"batch":1,"expires":300000000,"group":"A","priority":10}"#,
        300,
    ),
    Pull(
        "P.C",
        r#"{"batch":1,"expires":300000000,"min_pending":1}"#,
        600,
    ),
    Req("$JS.API.CONSUMER.INFO.P.O", ""),
    // Interest retention: nothing is kept that no consumer wants, and a
    // deleted consumer's messages go when no other consumer needs them.
    Req(
        "$JS.API.STREAM.CREATE.IR",
        r#"{"name":"IR","subjects":["ir.*"],"retention":"interest"}"#,
    ),
    Req("ir.x", "no consumer yet"),
    Req(
        "$JS.API.CONSUMER.CREATE.IR.IA",
        r#"{"stream_name":"IR","config":{"name":"IA","ack_policy":"explicit","filter_subject":"ir.a"}}"#,
    ),
    Req(
        "$JS.API.CONSUMER.CREATE.IR.IB",
        r#"{"stream_name":"IR","config":{"name":"IB","ack_policy":"explicit","filter_subject":"ir.b"}}"#,
    ),
    Req("ir.a", "for IA"),
    Req("ir.b", "for IB"),
    Req("ir.c", "for nobody"),
    Req("$JS.API.STREAM.INFO.IR", ""),
    Req("$JS.API.CONSUMER.DELETE.IR.IA", ""),
    Req("$JS.API.STREAM.INFO.IR", ""),
];

const TIME_KEYS: [&str; 6] = [
    "created",
    "ts",
    "first_ts",
    "last_ts",
    "last_active",
    "pause_remaining",
];

/// Masks times and the leader's name.
fn mask(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.remove("metadata");
            for (k, x) in m.iter_mut() {
                if k == "description" && x.as_str().is_some_and(|d| d.starts_with("invalid JSON: "))
                {
                    // The text of a JSON decoding error is Go's own.
                    *x = Value::String("invalid JSON: <decoder text>".into());
                } else if TIME_KEYS.contains(&k.as_str()) {
                    *x = Value::String("<time>".into());
                } else if k == "leader" {
                    *x = Value::String("<server>".into());
                } else {
                    mask(x);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(mask),
        _ => {}
    }
}

fn js_server(bin: &str, sd: &str) -> ServerProc {
    ServerProc::start_bin(bin, None, &["-js", "-sd", sd])
}

/// A delivered message as the test compares it: subject, ack reply with its
/// timestamp masked, status headers, payload.
fn describe(m: &async_nats::Message) -> String {
    let reply = m.reply.as_ref().map(|r| {
        let mut t: Vec<String> = r.split('.').map(str::to_string).collect();
        if t.len() == 9 {
            t[7] = "<ts>".into();
        }
        t.join(".")
    });
    let status = m
        .status
        .map(|s| format!("{} {:?}", s.as_u16(), m.description));
    let mut hdrs: Vec<String> = m
        .headers
        .iter()
        .flat_map(|h| {
            h.iter()
                .map(|(k, v)| format!("{k}={:?}", v))
                .collect::<Vec<_>>()
        })
        .collect();
    hdrs.sort();
    let subject = if m.reply.is_some() {
        m.subject.to_string()
    } else {
        "<inbox>".into()
    };
    format!(
        "{subject} {reply:?} {status:?} {hdrs:?} {:?}",
        String::from_utf8_lossy(&m.payload)
    )
}

async fn run(c: &async_nats::Client, step: &Step, got: &mut Vec<async_nats::Message>) -> String {
    match step {
        Req(subject, body) => {
            let r = c.request(subject.to_string(), body.as_bytes().to_vec().into());
            let msg = tokio::time::timeout(Duration::from_secs(5), r)
                .await
                .expect("reply in time")
                .expect("a reply");
            let mut v: Value = serde_json::from_slice(&msg.payload).expect("JSON");
            mask(&mut v);
            v.to_string()
        }
        Pub(subject, body) => {
            c.publish(subject.to_string(), body.as_bytes().to_vec().into())
                .await
                .unwrap();
            c.flush().await.unwrap();
            String::new()
        }
        Pull(consumer, body, wait) => {
            let inbox = c.new_inbox();
            let mut sub = c.subscribe(inbox.clone()).await.unwrap();
            c.publish_with_reply(
                format!("$JS.API.CONSUMER.MSG.NEXT.{consumer}"),
                inbox,
                body.as_bytes().to_vec().into(),
            )
            .await
            .unwrap();
            let mut out = Vec::new();
            while let Ok(Some(m)) =
                tokio::time::timeout(Duration::from_millis(*wait), sub.next()).await
            {
                out.push(describe(&m));
                let status = m.status.is_some();
                if !status {
                    got.push(m);
                } else if m.status.map(|s| s.as_u16()) != Some(100) {
                    break;
                }
            }
            out.join("\n  ")
        }
        Ack(i, body) => {
            let reply = got[*i].reply.clone().expect("an ack subject");
            let r = c.request(reply.to_string(), body.as_bytes().to_vec().into());
            match tokio::time::timeout(Duration::from_secs(2), r).await {
                Ok(Ok(m)) => format!("ackack {:?}", m.payload),
                Ok(Err(e)) => format!("error {:?}", e.kind()),
                Err(_) => "no ackack".into(),
            }
        }
        Sleep(ms) => {
            tokio::time::sleep(Duration::from_millis(*ms)).await;
            String::new()
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn consumers_match_nats_server() {
    let (dg, dr) = (scratch("cons-go"), scratch("cons-rn"));
    let go = js_server(&reference_bin(), &dg.display().to_string());
    let rn = js_server(&rnatsd_bin(), &dr.display().to_string());
    let cg = async_nats::connect(go.url()).await.unwrap();
    let cr = async_nats::connect(rn.url()).await.unwrap();
    let (mut gg, mut gr) = (Vec::new(), Vec::new());
    let mut diffs = Vec::new();
    for (i, step) in SCRIPT.iter().enumerate() {
        let (a, b) = tokio::join!(run(&cg, step, &mut gg), run(&cr, step, &mut gr));
        if std::env::var("CONS_TRACE").is_ok() {
            eprintln!("step {i}:\n  go: {a}\n  rn: {b}");
        }
        if a != b {
            diffs.push(format!("step {i}:\n  nats-server: {a}\n  rnatsd:      {b}"));
        }
    }
    assert!(SCRIPT.len() >= 60, "the script covers the consumer API");
    assert!(
        diffs.is_empty(),
        "{} of {} steps differ:\n{}",
        diffs.len(),
        SCRIPT.len(),
        diffs.join("\n")
    );
}

async fn pull(
    c: &async_nats::Client,
    consumer: &str,
    batch: usize,
    wait_ms: u64,
) -> Vec<async_nats::Message> {
    let inbox = c.new_inbox();
    let mut sub = c.subscribe(inbox.clone()).await.unwrap();
    let body = format!(r#"{{"batch":{batch},"expires":{}}}"#, wait_ms * 1_000_000);
    c.publish_with_reply(
        format!("$JS.API.CONSUMER.MSG.NEXT.W.{consumer}"),
        inbox,
        body.into_bytes().into(),
    )
    .await
    .unwrap();
    let mut out = Vec::new();
    while let Ok(Some(m)) =
        tokio::time::timeout(Duration::from_millis(wait_ms + 2000), sub.next()).await
    {
        if m.status.is_some() {
            break;
        }
        out.push(m);
        if out.len() == batch {
            break;
        }
    }
    out
}

async fn request_json(c: &async_nats::Client, subject: &str, body: &str) -> Value {
    let m = c
        .request(subject.to_string(), body.as_bytes().to_vec().into())
        .await
        .unwrap();
    serde_json::from_slice(&m.payload).unwrap()
}

/// An ack whose AckAck was sent is never redelivered after `kill -9`; every
/// un-acked message is; the workqueue ends empty.
#[tokio::test(flavor = "multi_thread")]
async fn acks_survive_kill_9() {
    let dir = scratch("cons-kill9");
    let sd = dir.display().to_string();
    let rounds: usize = std::env::var("CONSUMER_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let mut s = js_server(&rnatsd_bin(), &sd);
    let c = async_nats::connect(s.url()).await.unwrap();
    request_json(
        &c,
        "$JS.API.STREAM.CREATE.W",
        r#"{"name":"W","subjects":["w.>"],"retention":"workqueue"}"#,
    )
    .await;
    let v = request_json(
        &c,
        "$JS.API.CONSUMER.DURABLE.CREATE.W.P",
        r#"{"stream_name":"W","config":{"durable_name":"P","ack_policy":"explicit","ack_wait":60000000000,"max_deliver":10}}"#,
    )
    .await;
    assert_eq!(v["name"], "P", "{v}");
    let js = async_nats::jetstream::new(c.clone());
    let total = 300usize;
    for i in 0..total {
        js.publish(format!("w.{}", i % 7), format!("n{i}").into_bytes().into())
            .await
            .unwrap()
            .await
            .unwrap();
    }
    let mut acked = std::collections::BTreeSet::new();
    let mut c = c;
    for round in 0..rounds {
        let msgs = pull(&c, "P", total, 1500).await;
        let outstanding = total - acked.len();
        assert_eq!(
            msgs.len(),
            outstanding,
            "round {round}: every un-acked message comes (back)"
        );
        for m in &msgs {
            let seq: u64 = m
                .reply
                .as_ref()
                .unwrap()
                .split('.')
                .nth(5)
                .unwrap()
                .parse()
                .unwrap();
            assert!(
                !acked.contains(&seq),
                "round {round}: acked seq {seq} redelivered"
            );
        }
        // Ack a third of them with an AckAck; nak a few; leave the rest.
        for (k, m) in msgs.iter().enumerate() {
            let seq: u64 = m
                .reply
                .as_ref()
                .unwrap()
                .split('.')
                .nth(5)
                .unwrap()
                .parse()
                .unwrap();
            if k % 3 == 0 {
                c.request(m.reply.clone().unwrap().to_string(), "+ACK".into())
                    .await
                    .expect("an AckAck");
                acked.insert(seq);
            } else if k % 3 == 1 {
                c.publish(m.reply.clone().unwrap().to_string(), "-NAK".into())
                    .await
                    .unwrap();
            }
        }
        c.flush().await.unwrap();
        s.child.kill().unwrap();
        s.child.wait().unwrap();
        s = js_server(&rnatsd_bin(), &sd);
        c = async_nats::connect(s.url()).await.unwrap();
        let info = request_json(&c, "$JS.API.CONSUMER.INFO.W.P", "").await;
        assert_eq!(
            info["name"], "P",
            "round {round}: the consumer is back: {info}"
        );
    }
    let rest = pull(&c, "P", total, 1500).await;
    assert_eq!(rest.len(), total - acked.len());
    for m in &rest {
        c.request(m.reply.clone().unwrap().to_string(), "".into())
            .await
            .expect("an AckAck");
    }
    let st = request_json(&c, "$JS.API.STREAM.INFO.W", "").await;
    assert_eq!(st["state"]["messages"], 0, "the workqueue ends empty: {st}");
    let info = request_json(&c, "$JS.API.CONSUMER.INFO.W.P", "").await;
    assert_eq!(info["num_ack_pending"], 0, "{info}");
    assert_eq!(info["num_pending"], 0, "{info}");
    assert_eq!(info["ack_floor"]["stream_seq"], total as u64, "{info}");
}

/// The consumer advisories both servers publish for the same calls: subject,
/// `type`, `action` or `deliveries`.
#[tokio::test(flavor = "multi_thread")]
async fn consumer_advisories_match_nats_server() {
    let mut seen = Vec::new();
    for bin in [reference_bin(), rnatsd_bin()] {
        let dir = scratch("cons-adv");
        let s = js_server(&bin, &dir.display().to_string());
        let c = async_nats::connect(s.url()).await.unwrap();
        let mut adv = c.subscribe("$JS.EVENT.ADVISORY.CONSUMER.>").await.unwrap();
        let mut sadv = c.subscribe("$JS.EVENT.ADVISORY.STREAM.>").await.unwrap();
        c.flush().await.unwrap();
        request_json(
            &c,
            "$JS.API.STREAM.CREATE.W",
            r#"{"name":"W","subjects":["w.>"]}"#,
        )
        .await;
        request_json(
            &c,
            "$JS.API.CONSUMER.CREATE.W.A",
            r#"{"stream_name":"W","config":{"name":"A","ack_policy":"explicit","max_deliver":2}}"#,
        )
        .await;
        c.publish("w.1", "x".into()).await.unwrap();
        c.flush().await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        for _ in 0..3 {
            if let Some(m) = pull(&c, "A", 1, 300).await.pop() {
                c.request(m.reply.clone().unwrap().to_string(), "-NAK".into())
                    .await
                    .unwrap();
            }
        }
        request_json(&c, "$JS.API.CONSUMER.DELETE.W.A", "").await;
        request_json(
            &c,
            "$JS.API.STREAM.UPDATE.W",
            r#"{"name":"W","subjects":["w.>"],"max_msgs":10}"#,
        )
        .await;
        request_json(&c, "$JS.API.STREAM.DELETE.W", "").await;
        let mut got = Vec::new();
        while let Ok(Some(m)) = tokio::time::timeout(Duration::from_millis(500), adv.next()).await {
            let v: Value = serde_json::from_slice(&m.payload).unwrap();
            got.push(format!(
                "{} {} {} {}",
                m.subject, v["type"], v["action"], v["deliveries"]
            ));
        }
        // Stream actions, with the document's keys in order.
        while let Ok(Some(m)) = tokio::time::timeout(Duration::from_millis(500), sadv.next()).await
        {
            let v: Value = serde_json::from_slice(&m.payload).unwrap();
            let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
            got.push(format!(
                "{} {} {} {keys:?}",
                m.subject, v["type"], v["action"]
            ));
        }
        seen.push(got);
    }
    assert!(!seen[0].is_empty());
    assert_eq!(seen[0], seen[1], "nats-server, then rnatsd");
}

/// The `prioritized` policy (2.12): of two waiting requests, the one with
/// the lower priority gets the messages, on both servers.
#[tokio::test(flavor = "multi_thread")]
async fn prioritized_requests_match_nats_server() {
    let mut seen = Vec::new();
    for bin in [reference_bin(), rnatsd_bin()] {
        let dir = scratch("cons-prio");
        let s = js_server(&bin, &dir.display().to_string());
        let c = async_nats::connect(s.url()).await.unwrap();
        request_json(
            &c,
            "$JS.API.STREAM.CREATE.W",
            r#"{"name":"W","subjects":["w.>"]}"#,
        )
        .await;
        request_json(
            &c,
            "$JS.API.CONSUMER.CREATE.W.P",
            r#"{"stream_name":"W","config":{"name":"P","ack_policy":"explicit","priority_policy":"prioritized","priority_groups":["A"]}}"#,
        )
        .await;
        let mut subs = Vec::new();
        for prio in [5, 1] {
            let inbox = c.new_inbox();
            let sub = c.subscribe(inbox.clone()).await.unwrap();
            let body =
                format!(r#"{{"batch":10,"expires":2000000000,"group":"A","priority":{prio}}}"#);
            c.publish_with_reply("$JS.API.CONSUMER.MSG.NEXT.W.P", inbox, body.into())
                .await
                .unwrap();
            subs.push(sub);
        }
        c.flush().await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        for i in 0..3 {
            c.publish(format!("w.{i}"), "x".into()).await.unwrap();
        }
        c.flush().await.unwrap();
        let mut got = Vec::new();
        for mut sub in subs {
            let mut n = 0;
            while let Ok(Some(m)) =
                tokio::time::timeout(Duration::from_millis(500), sub.next()).await
            {
                if m.status.is_none() {
                    n += 1;
                }
            }
            got.push(n);
        }
        seen.push(got);
    }
    assert_eq!(
        seen[0],
        vec![0, 3],
        "nats-server 2.12.4: low, then high priority"
    );
    assert_eq!(seen[0], seen[1], "nats-server, then rnatsd");
}
