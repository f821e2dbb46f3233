//! Stream sources. The same streams, publishes and API requests go to
//! nats-server 2.12.4 and to rnatsd, and the sourced streams must hold the
//! same messages (subject, headers with `Nats-Stream-Source`, payload) and
//! report the same `sources` state. Then our users' topology: a hub in
//! domain `hub` sourcing a leaf's stream through `$JS.leaf-1.API`, with the
//! hub killed mid-copy and away while the leaf takes more; every message
//! arrives exactly once. And what rnatsd adds: a workqueue that consumed its
//! copies resumes exactly after them on restart.

mod common;
use common::js::{diffs, req};
use common::{free_port, reference_bin, rnatsd_bin, scratch, ServerProc};
use futures::StreamExt;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

async fn publish(c: &async_nats::Client, subject: &str, hdr: &[(&str, &str)], body: &str) {
    let mut h = async_nats::HeaderMap::new();
    for (k, v) in hdr {
        h.insert(*k, *v);
    }
    let r = c
        .request_with_headers(subject.to_string(), h, body.to_string().into())
        .await
        .unwrap();
    let ack: Value = serde_json::from_slice(&r.payload).unwrap();
    assert!(ack.get("seq").is_some(), "publish {subject}: {ack}");
}

async fn count(c: &async_nats::Client, stream: &str) -> u64 {
    let v = req(c, &format!("$JS.API.STREAM.INFO.{stream}"), Value::Null).await;
    v["state"]["messages"].as_u64().unwrap_or(0)
}

/// Waits until `stream` holds `n` messages, then for a while longer to see
/// that no more come.
async fn settle(c: &async_nats::Client, stream: &str, n: u64, label: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let have = count(c, stream).await;
        if have == n {
            break;
        }
        assert!(have < n, "{label}: {stream} holds {have}, more than {n}");
        assert!(
            Instant::now() < deadline,
            "{label}: {stream} holds {have} of {n}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(count(c, stream).await, n, "{label}: {stream} got more");
}

/// Every message of `stream`: subject, header lines (sorted) and payload.
async fn messages(c: &async_nats::Client, stream: &str) -> Vec<(String, String, String)> {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let info = req(c, &format!("$JS.API.STREAM.INFO.{stream}"), Value::Null).await;
    let (first, last) = (
        info["state"]["first_seq"].as_u64().unwrap(),
        info["state"]["last_seq"].as_u64().unwrap(),
    );
    let mut out = Vec::new();
    for seq in first..=last {
        let v = req(
            c,
            &format!("$JS.API.STREAM.MSG.GET.{stream}"),
            json!({ "seq": seq }),
        )
        .await;
        let m = &v["message"];
        if m.is_null() {
            continue;
        }
        let dec = |k: &str| {
            let raw = b64.decode(m[k].as_str().unwrap_or_default()).unwrap();
            String::from_utf8(raw).unwrap()
        };
        let hdrs = dec("hdrs");
        let mut lines: Vec<&str> = hdrs.split("\r\n").filter(|l| !l.is_empty()).collect();
        lines.sort_unstable();
        out.push((
            m["subject"].as_str().unwrap().to_string(),
            lines.join("|"),
            dec("data"),
        ));
    }
    out
}

/// The origin sequences of the copies in `stream`, by origin stream.
async fn stamps(c: &async_nats::Client, stream: &str) -> BTreeMap<String, Vec<u64>> {
    let mut out: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for (_, hdrs, _) in messages(c, stream).await {
        let v = hdrs
            .split('|')
            .find_map(|l| l.strip_prefix("Nats-Stream-Source: "))
            .unwrap_or_else(|| panic!("no stamp in {hdrs}"));
        let f: Vec<&str> = v.split(' ').collect();
        out.entry(f[0].to_string())
            .or_default()
            .push(f[1].parse().unwrap());
    }
    out
}

/// `active` is a duration since the last contact: only its sign is compared.
/// nats-server lists the `sources` of a stream info in map order: they are
/// compared by name.
fn mask(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                match k.as_str() {
                    "sources" if x[0].get("lag").is_some() => {
                        let a = x.as_array_mut().unwrap();
                        a.sort_by_key(|s| s["name"].as_str().unwrap_or("").to_string());
                        a.iter_mut().for_each(mask);
                    }
                    "active" => *x = json!(x.as_i64().map(|a| a.signum())),
                    "created" | "ts" | "first_ts" | "last_ts" => *x = json!("<time>"),
                    "leader" => *x = json!("<server>"),
                    _ => mask(x),
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(mask),
        _ => {}
    }
}

fn js_server(bin: &str) -> ServerProc {
    let dir = scratch(&format!("src-{}", free_port()));
    let sd = dir.display().to_string();
    ServerProc::start_bin(bin, None, &["-js", "-sd", &sd])
}

/// Local sources on one server: what each server stores and reports.
async fn local_sources(bin: &str) -> (Vec<Value>, Vec<Vec<(String, String, String)>>) {
    let s = js_server(bin);
    let c = async_nats::connect(s.url()).await.unwrap();
    let mut replies = Vec::new();
    let mut put = |mut v: Value| {
        mask(&mut v);
        replies.push(v);
    };
    for (name, subj) in [("O1", "o1.>"), ("O2", "o2.>")] {
        let v = req(
            &c,
            &format!("$JS.API.STREAM.CREATE.{name}"),
            json!({"name": name, "subjects": [subj]}),
        )
        .await;
        put(v);
    }
    publish(&c, "o1.a", &[("Nats-Msg-Id", "m1"), ("K", "v")], "one").await;
    publish(&c, "o1.a", &[], "two").await;
    publish(&c, "o1.b", &[("Nats-Expected-Stream", "O1")], "three").await;
    publish(&c, "o2.a", &[], "four").await;
    publish(&c, "o2.b", &[], "five").await;
    publish(&c, "o2.a", &[], "six").await;
    let agg = json!({"name": "AGG", "sources": [
        {"name": "O1"},
        {"name": "O2", "filter_subject": "o2.a"},
    ]});
    put(req(&c, "$JS.API.STREAM.CREATE.AGG", agg).await);
    let tr = json!({"name": "TR", "sources": [
        {"name": "O2", "subject_transforms": [{"src": "o2.b", "dest": "moved.b"}]},
        {"name": "O1", "opt_start_seq": 2},
    ]});
    put(req(&c, "$JS.API.STREAM.CREATE.TR", tr).await);
    // Mirrors: all of O1, the o2.a messages of O2 (a gap at each o2.b),
    // and O1 from its second message.
    let mirrors = [
        json!({"name": "M1", "mirror": {"name": "O1"}}),
        json!({"name": "M2", "mirror": {"name": "O2", "filter_subject": "o2.a"}}),
        json!({"name": "M3", "mirror": {"name": "O1", "opt_start_seq": 2}}),
    ];
    for m in mirrors {
        let name = m["name"].as_str().unwrap().to_string();
        put(req(&c, &format!("$JS.API.STREAM.CREATE.{name}"), m).await);
    }
    settle(&c, "AGG", 5, bin).await;
    settle(&c, "TR", 3, bin).await;
    settle(&c, "M1", 3, bin).await;
    settle(&c, "M2", 2, bin).await;
    settle(&c, "M3", 2, bin).await;
    publish(&c, "o1.c", &[], "seven").await;
    publish(&c, "o2.a", &[], "eight").await;
    publish(&c, "o2.b", &[], "nine").await;
    settle(&c, "AGG", 7, bin).await;
    settle(&c, "TR", 5, bin).await;
    settle(&c, "M1", 4, bin).await;
    settle(&c, "M2", 3, bin).await;
    settle(&c, "M3", 3, bin).await;
    for name in ["AGG", "TR", "M1", "M2", "M3"] {
        put(req(&c, &format!("$JS.API.STREAM.INFO.{name}"), Value::Null).await);
    }
    // Bad sources: a missing origin is reported in the state, the rest
    // are refused at create.
    put(req(
        &c,
        "$JS.API.STREAM.CREATE.MISS",
        json!({"name": "MISS", "sources": [{"name": "NOPE"}]}),
    )
    .await);
    for bad in [
        json!({"name": "B1", "sources": [{"name": "O1"}, {"name": "O1"}]}),
        json!({"name": "B1", "sources": [{"name": ""}]}),
        json!({"name": "B1", "sources": [{"name": "O1", "filter_subject": "o1.a",
            "subject_transforms": [{"src": "o1.b", "dest": "x"}]}]}),
        json!({"name": "B1", "subjects": ["b1"], "mirror": {"name": "O1"}}),
        json!({"name": "B1", "sources": [{"name": "B1"}]}),
        json!({"name": "B1", "mirror": {"name": "O1"}, "sources": [{"name": "O2"}]}),
        json!({"name": "B1", "mirror": {"name": "O1", "opt_start_seq": 2,
            "opt_start_time": "2026-01-01T00:00:00Z"}}),
        json!({"name": "B1", "mirror": {"name": "O1"}, "first_seq": 5}),
    ] {
        put(req(&c, "$JS.API.STREAM.CREATE.B1", bad).await);
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut miss = req(&c, "$JS.API.STREAM.INFO.MISS", Value::Null).await;
    // The retry timing differs: compare the error once both have one.
    let deadline = Instant::now() + Duration::from_secs(10);
    while miss["sources"][0]["error"].is_null() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
        miss = req(&c, "$JS.API.STREAM.INFO.MISS", Value::Null).await;
    }
    put(miss);
    let mut msgs = Vec::new();
    for name in ["AGG", "TR", "M1", "M2", "M3"] {
        let mut m = messages(&c, name).await;
        m.sort();
        msgs.push(m);
    }
    (replies, msgs)
}

#[tokio::test(flavor = "multi_thread")]
async fn sources_match_nats_server() {
    let (go, go_msgs) = local_sources(&reference_bin()).await;
    let (rn, rn_msgs) = local_sources(&rnatsd_bin()).await;
    let d = diffs(&go, &rn);
    assert!(d.is_empty(), "{}", d.join("\n"));
    assert_eq!(go_msgs, rn_msgs, "the sourced messages differ");
    assert_eq!(rn_msgs[0].len(), 7);
    assert!(rn_msgs[1].iter().any(|(s, _, _)| s == "moved.b"));
}

/// Beyond nats-server: a workqueue that consumed every copy resumes exactly
/// after them when restarted, killed or not.
#[tokio::test(flavor = "multi_thread")]
async fn consumed_workqueue_resumes_after_kill_9() {
    let port = free_port();
    let dir = scratch(&format!("src-wq-{port}"));
    let sd = dir.display().to_string();
    let p = port.to_string();
    let args = ["-js", "-sd", sd.as_str(), "-p", p.as_str()];
    let start = || ServerProc::start_bin(&rnatsd_bin(), None, &args);
    let mut s = start();
    let c = async_nats::connect(s.url()).await.unwrap();
    req(
        &c,
        "$JS.API.STREAM.CREATE.O",
        json!({"name": "O", "subjects": ["o.>"]}),
    )
    .await;
    for i in 0..50 {
        publish(&c, &format!("o.{}", i % 5), &[], &format!("m{i}")).await;
    }
    let v = req(
        &c,
        "$JS.API.STREAM.CREATE.WQ",
        json!({"name": "WQ", "retention": "workqueue", "sources": [{"name": "O"}]}),
    )
    .await;
    assert!(v.get("error").is_none(), "{v}");
    let v = req(
        &c,
        "$JS.API.CONSUMER.DURABLE.CREATE.WQ.w",
        json!({"stream_name": "WQ", "config": {"durable_name": "w", "ack_policy": "explicit"}}),
    )
    .await;
    assert!(v.get("error").is_none(), "{v}");
    let js = async_nats::jetstream::new(c.clone());
    let round = |js: async_nats::jetstream::Context, want: usize| async move {
        let consumer: async_nats::jetstream::consumer::PullConsumer =
            js.get_consumer_from_stream("w", "WQ").await.unwrap();
        let mut out = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        while out.len() < want && Instant::now() < deadline {
            let mut batch = consumer
                .fetch()
                .max_messages(100)
                .expires(Duration::from_millis(500))
                .messages()
                .await
                .unwrap();
            while let Some(Ok(m)) = batch.next().await {
                out.push(String::from_utf8(m.payload.to_vec()).unwrap());
                m.double_ack().await.unwrap();
            }
        }
        out
    };
    let got = round(js.clone(), 50).await;
    assert_eq!(got.len(), 50);
    assert_eq!(count(&c, "WQ").await, 0, "acked copies are removed");
    drop(c);
    s.child.kill().unwrap();
    s.child.wait().unwrap();
    s = start();
    let c = async_nats::connect(s.url()).await.unwrap();
    for i in 50..60 {
        publish(&c, &format!("o.{}", i % 5), &[], &format!("m{i}")).await;
    }
    let js = async_nats::jetstream::new(c.clone());
    let more = round(js.clone(), 10).await;
    assert_eq!(
        more,
        (50..60).map(|i| format!("m{i}")).collect::<Vec<_>>(),
        "only the new messages are copied after the restart"
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let none = round(js, 1).await;
    assert!(none.is_empty(), "copied again: {none:?}");
    drop(s);
}

fn hub_conf(dir: &std::path::Path, lport: u16) -> String {
    format!(
        "server_name: HUB\njetstream {{ store_dir: \"{}\", domain: hub }}\nleafnodes {{ port: {lport} }}\n",
        dir.join("hub").display()
    )
}

/// The users' aggregate: a hub stream sourcing a leaf domain's stream.
async fn aggregate_from_leaf(leaf_bin: &str, cut: Duration) {
    let label = format!("{leaf_bin} leaf");
    let (hport, lport) = (free_port(), free_port());
    let dir = scratch(&format!("src-leaf-{lport}"));
    let p = hport.to_string();
    let start_hub =
        || ServerProc::start_bin(&rnatsd_bin(), Some(&hub_conf(&dir, lport)), &["-p", &p]);
    let mut hub = start_hub();
    let leaf = ServerProc::start_bin(
        leaf_bin,
        Some(&format!(
            "server_name: LEAF\njetstream {{ store_dir: \"{}\", domain: leaf-1 }}\nleafnodes {{ remotes: [ {{ url: \"nats-leaf://127.0.0.1:{lport}\" }} ] }}\n",
            dir.join("leaf").display()
        )),
        &[],
    );
    let lc = async_nats::connect(leaf.url()).await.unwrap();
    let v = req(
        &lc,
        "$JS.API.STREAM.CREATE.NOTIF",
        json!({"name": "NOTIF", "subjects": ["notif.>"]}),
    )
    .await;
    assert!(v.get("error").is_none(), "{label}: {v}");
    let hc = async_nats::connect(hub.url()).await.unwrap();
    let agg = json!({"name": "aggregate", "retention": "workqueue", "sources": [
        {"name": "NOTIF", "external": {"api": "$JS.leaf-1.API", "deliver": ""}},
    ]});
    let v = req(&hc, "$JS.API.STREAM.CREATE.aggregate", agg).await;
    assert!(v.get("error").is_none(), "{label}: {v}");
    let mir = json!({"name": "MIR", "mirror":
        {"name": "NOTIF", "external": {"api": "$JS.leaf-1.API", "deliver": ""}}});
    let v = req(&hc, "$JS.API.STREAM.CREATE.MIR", mir).await;
    assert!(v.get("error").is_none(), "{label}: {v}");
    let mut next = 0;
    let mut burst = |lc: async_nats::Client, n: usize| {
        let from = next;
        next += n;
        async move {
            for i in from..from + n {
                publish(&lc, &format!("notif.u{}", i % 7), &[], &format!("n{i}")).await;
            }
        }
    };
    burst(lc.clone(), 100).await;
    settle(&hc, "aggregate", 100, &label).await;
    let info = req(&hc, "$JS.API.STREAM.INFO.aggregate", Value::Null).await;
    let src = &info["sources"][0];
    assert_eq!(src["name"], "NOTIF", "{label}: {info}");
    assert_eq!(src["external"]["api"], "$JS.leaf-1.API", "{label}");
    assert!(src["active"].as_i64().unwrap() >= 0, "{label}: {src}");
    assert!(src.get("error").is_none(), "{label}: {src}");
    // Killed mid-copy.
    let b = burst(lc.clone(), 200);
    let killer = async {
        tokio::time::sleep(Duration::from_millis(150)).await;
        hub.child.kill().unwrap();
        hub.child.wait().unwrap();
    };
    tokio::join!(b, killer);
    drop(hc);
    // The hub is away while the leaf takes more.
    burst(lc.clone(), 50).await;
    tokio::time::sleep(cut).await;
    hub = start_hub();
    let hc = async_nats::connect(hub.url()).await.unwrap();
    settle(&hc, "aggregate", 350, &label).await;
    let seqs = stamps(&hc, "aggregate").await;
    // External sources are stamped with `<stream>:<hash of the API prefix>`.
    assert_eq!(seqs.len(), 1, "{label}: {:?}", seqs.keys());
    let (origin, mut got) = seqs.into_iter().next().unwrap();
    assert!(origin.starts_with("NOTIF:"), "{label}: {origin}");
    got.sort_unstable();
    assert_eq!(got, (1..=350).collect::<Vec<u64>>(), "{label}: each once");
    // The mirror holds the leaf's stream at the leaf's sequences.
    settle(&hc, "MIR", 350, &label).await;
    let info = req(&hc, "$JS.API.STREAM.INFO.MIR", Value::Null).await;
    assert_eq!(info["state"]["first_seq"], 1, "{label}: {info}");
    assert_eq!(info["state"]["last_seq"], 350, "{label}: {info}");
    assert_eq!(info["mirror"]["name"], "NOTIF", "{label}: {info}");
    let leaf_msgs = messages(&lc, "NOTIF").await;
    assert_eq!(
        messages(&hc, "MIR").await,
        leaf_msgs,
        "{label}: mirror differs"
    );
    drop(leaf);
}

#[tokio::test(flavor = "multi_thread")]
async fn hub_sources_a_leaf_domain_exactly_once() {
    let cut = Duration::from_secs(
        std::env::var("SOURCE_CUT_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(10),
    );
    aggregate_from_leaf(&rnatsd_bin(), cut).await;
    aggregate_from_leaf(&reference_bin(), cut).await;
}
