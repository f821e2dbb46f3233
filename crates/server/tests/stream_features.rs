//! Stream features beyond limits, on nats-server 2.12.4 and on rnatsd: the
//! same streams and publishes go to both, and the answers, the stored
//! messages and what the streams publish must be the same.
//! - `subject_transform` and `republish` (with `headers_only`);
//! - per-message TTLs (`Nats-TTL`, `never`) and subject delete markers.

mod common;
use common::js::{diffs, req};
use common::{free_port, reference_bin, rnatsd_bin, scratch, ServerProc};
use futures::StreamExt;
use serde_json::{json, Value};
use std::time::Duration;

/// Times are volatile: masked wherever they appear.
fn mask(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                match k.as_str() {
                    "created" | "ts" | "first_ts" | "last_ts" | "time" => *x = json!("<time>"),
                    "leader" => *x = json!("<server>"),
                    _ => mask(x),
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(mask),
        _ => {}
    }
}

/// What one server answers, stores and republishes.
async fn run(bin: &str) -> (Vec<Value>, Vec<String>) {
    let dir = scratch(&format!("tr-{}", free_port()));
    let sd = dir.display().to_string();
    let s = ServerProc::start_bin(bin, None, &["-js", "-sd", &sd]);
    let c = async_nats::connect(s.url()).await.unwrap();
    let mut replies = Vec::new();
    let mut put = |mut v: Value| {
        mask(&mut v);
        replies.push(v);
    };
    let mut rp = c.subscribe("rp.>").await.unwrap();
    let mut ho = c.subscribe("ho.>").await.unwrap();
    c.flush().await.unwrap();
    put(req(
        &c,
        "$JS.API.STREAM.CREATE.T",
        json!({"name": "T", "subjects": ["in.>"],
            "subject_transform": {"src": "in.*.>", "dest": "stored.{{wildcard(1)}}.>"},
            "republish": {"src": "stored.>", "dest": "rp.>"}}),
    )
    .await);
    put(req(
        &c,
        "$JS.API.STREAM.CREATE.H",
        json!({"name": "H", "subjects": ["h.*"],
            "republish": {"dest": "ho.{{wildcard(1)}}", "src": "h.*", "headers_only": true}}),
    )
    .await);
    // A republish that would feed the stream again is refused.
    put(req(
        &c,
        "$JS.API.STREAM.CREATE.LOOP",
        json!({"name": "LOOP", "subjects": ["l.>"], "republish": {"src": "l.>", "dest": "l.x.>"}}),
    )
    .await);
    for (subject, hdr, body) in [
        ("in.a.one", None, "1"),
        ("in.b.two.deep", Some(("K", "v")), "2"),
        ("in.a.one", None, "3"),
        ("h.x", Some(("Nats-Msg-Id", "id1")), "hello"),
        ("h.y", None, ""),
    ] {
        let mut h = async_nats::HeaderMap::new();
        if let Some((k, v)) = hdr {
            h.insert(k, v);
        }
        let r = c
            .request_with_headers(subject.to_string(), h, body.to_string().into())
            .await
            .unwrap();
        let mut v: Value = serde_json::from_slice(&r.payload).unwrap();
        mask(&mut v);
        put(v);
    }
    for name in ["T", "H"] {
        put(req(&c, &format!("$JS.API.STREAM.INFO.{name}"), Value::Null).await);
    }
    for seq in 1..=3 {
        put(req(&c, "$JS.API.STREAM.MSG.GET.T", json!({ "seq": seq })).await);
    }
    let mut seen = Vec::new();
    for (sub, n) in [(&mut rp, 3), (&mut ho, 2)] {
        for _ in 0..n {
            let m = tokio::time::timeout(Duration::from_secs(5), sub.next())
                .await
                .unwrap_or_else(|_| panic!("{bin}: a republished message is missing"))
                .unwrap();
            let mut hdrs: Vec<String> = m
                .headers
                .iter()
                .flat_map(|h| h.iter())
                .map(|(k, v)| {
                    let v = v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
                    if k.to_string() == "Nats-Time-Stamp" {
                        assert!(v[0].ends_with('Z'), "{bin}: {v:?}");
                        return format!("{k}: <time>");
                    }
                    format!("{k}: {}", v.join(","))
                })
                .collect();
            hdrs.sort();
            seen.push(format!(
                "{} [{}] {:?}",
                m.subject,
                hdrs.join(" | "),
                String::from_utf8_lossy(&m.payload)
            ));
        }
    }
    (replies, seen)
}

#[tokio::test(flavor = "multi_thread")]
async fn transforms_and_republish_match_nats_server() {
    let (go, go_seen) = run(&reference_bin()).await;
    let (rn, rn_seen) = run(&rnatsd_bin()).await;
    let d = diffs(&go, &rn);
    assert!(d.is_empty(), "{}", d.join("\n"));
    assert_eq!(go_seen, rn_seen, "republished messages differ");
    assert!(rn_seen[0].starts_with("rp.a.one "), "{rn_seen:?}");
    assert!(rn_seen[4].contains("Nats-Msg-Size: 0"), "{rn_seen:?}");
}

/// The answers to the publishes, then the stream documents and messages
/// while the subject delete markers stand and after they expired.
async fn ttls(bin: &str) -> Vec<Value> {
    let dir = scratch(&format!("ttl-{}", free_port()));
    let sd = dir.display().to_string();
    let s = ServerProc::start_bin(bin, None, &["-js", "-sd", &sd]);
    let c = async_nats::connect(s.url()).await.unwrap();
    let mut out = Vec::new();
    for cfg in [
        json!({"name": "T", "subjects": ["t.*"], "allow_msg_ttl": true}),
        json!({"name": "N", "subjects": ["n.*"]}),
        json!({"name": "K", "subjects": ["k.*"], "max_age": 2_000_000_000i64,
            "subject_delete_marker_ttl": 4_000_000_000i64}),
    ] {
        let name = cfg["name"].as_str().unwrap().to_string();
        let mut v = req(&c, &format!("$JS.API.STREAM.CREATE.{name}"), cfg).await;
        mask(&mut v);
        out.push(v);
    }
    for (subject, ttl) in [
        ("t.a", "1s"),
        ("t.b", "never"),
        ("t.c", ""),
        ("t.d", "500ms"),
        ("t.e", "soon"),
        ("n.a", "5s"),
        ("k.1", ""),
        ("k.1", ""),
        ("k.2", "never"),
        ("k.3", ""),
    ] {
        let mut h = async_nats::HeaderMap::new();
        if !ttl.is_empty() {
            h.insert("Nats-TTL", ttl);
        }
        let r = c
            .request_with_headers(subject.to_string(), h, "v".into())
            .await
            .unwrap();
        out.push(serde_json::from_slice(&r.payload).unwrap());
    }
    let snapshot = |c: async_nats::Client| async move {
        let mut out = Vec::new();
        for name in ["T", "K"] {
            let mut v = req(&c, &format!("$JS.API.STREAM.INFO.{name}"), Value::Null).await;
            mask(&mut v);
            let last = v["state"]["last_seq"].as_u64().unwrap_or(0);
            out.push(v);
            for seq in 1..=last {
                let mut m = req(
                    &c,
                    &format!("$JS.API.STREAM.MSG.GET.{name}"),
                    json!({ "seq": seq }),
                )
                .await;
                mask(&mut m);
                out.push(m);
            }
        }
        out
    };
    // Markers stand from about 2 s to about 6 s.
    tokio::time::sleep(Duration::from_millis(4000)).await;
    out.extend(snapshot(c.clone()).await);
    tokio::time::sleep(Duration::from_millis(4500)).await;
    out.extend(snapshot(c.clone()).await);
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn message_ttls_and_markers_match_nats_server() {
    let (go_bin, rn_bin) = (reference_bin(), rnatsd_bin());
    let (go, rn) = tokio::join!(ttls(&go_bin), ttls(&rn_bin));
    let d = diffs(&go, &rn);
    assert!(d.is_empty(), "{}", d.join("\n"));
    let markers = rn
        .iter()
        .filter(|v| v["message"]["hdrs"].is_string())
        .count();
    assert!(markers >= 2, "no marker seen: {rn:?}");
}
