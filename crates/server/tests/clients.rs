//! Real-client tests with async-nats against the rnatsd binary.

mod common;
use common::ServerProc;
use futures::StreamExt;
use std::collections::HashMap;
use std::time::Duration;

async fn connect(srv: &ServerProc) -> async_nats::Client {
    async_nats::connect(srv.url()).await.expect("connect")
}

/// A round trip through the server on `c`: once it returns, every command
/// `c` sent before (e.g. SUB) has been processed. (async-nats's `flush`
/// only flushes the socket.)
async fn sync(c: &async_nats::Client) {
    c.flush().await.unwrap();
    let err = c
        .request("_rnatsd_test.sync", "".into())
        .await
        .expect_err("nobody listens on the sync subject");
    assert_eq!(err.kind(), async_nats::RequestErrorKind::NoResponders);
}

async fn next(sub: &mut async_nats::Subscriber) -> async_nats::Message {
    tokio::time::timeout(Duration::from_secs(5), sub.next())
        .await
        .expect("message in time")
        .expect("subscription open")
}

#[tokio::test]
async fn pub_sub_and_wildcards() {
    let srv = ServerProc::start(None);
    let a = connect(&srv).await;
    let b = connect(&srv).await;
    let mut exact = a.subscribe("orders.new").await.unwrap();
    let mut star = a.subscribe("orders.*").await.unwrap();
    let mut tail = a.subscribe("orders.>").await.unwrap();
    sync(&a).await;
    b.publish("orders.new", "one".into()).await.unwrap();
    b.publish("orders.eu.new", "two".into()).await.unwrap();
    b.flush().await.unwrap();
    assert_eq!(next(&mut exact).await.payload, "one");
    assert_eq!(next(&mut star).await.payload, "one");
    let t1 = next(&mut tail).await;
    let t2 = next(&mut tail).await;
    assert_eq!((t1.payload, t2.payload), ("one".into(), "two".into()));
    assert_eq!(t2.subject.as_str(), "orders.eu.new");
}

#[tokio::test]
async fn queue_group_is_exactly_once_and_roughly_even() {
    let srv = ServerProc::start(None);
    let publisher = connect(&srv).await;
    let mut members = Vec::new();
    for _ in 0..3 {
        let c = connect(&srv).await;
        let s = c.queue_subscribe("work", "issuance".into()).await.unwrap();
        sync(&c).await;
        members.push((c, s));
    }
    let plain_client = connect(&srv).await;
    let mut plain = plain_client.subscribe("work").await.unwrap();
    sync(&plain_client).await;
    const N: usize = 3000;
    for i in 0..N {
        publisher
            .publish("work", i.to_string().into())
            .await
            .unwrap();
    }
    publisher.flush().await.unwrap();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut per_member = Vec::new();
    for (_, sub) in members.iter_mut() {
        let mut n = 0;
        while let Ok(Some(m)) = tokio::time::timeout(Duration::from_millis(500), sub.next()).await {
            *seen
                .entry(String::from_utf8(m.payload.to_vec()).unwrap())
                .or_default() += 1;
            n += 1;
        }
        per_member.push(n);
    }
    assert_eq!(seen.len(), N, "every message delivered to the group");
    assert!(seen.values().all(|&c| c == 1), "exactly once");
    for n in &per_member {
        assert!(*n > N / 3 / 2, "uneven distribution {per_member:?}");
    }
    for _ in 0..N {
        next(&mut plain).await;
    }
}

#[tokio::test]
async fn request_reply_with_headers() {
    let srv = ServerProc::start(None);
    let svc = connect(&srv).await;
    let mut reqs = svc
        .queue_subscribe("{\"cmd\":\"agent-spinup\"}", "agent".into())
        .await
        .unwrap();
    sync(&svc).await;
    let responder = tokio::spawn(async move {
        let m = reqs.next().await.unwrap();
        let ctx = m
            .headers
            .as_ref()
            .and_then(|h| h.get("contextId"))
            .map(|v| v.to_string())
            .unwrap_or_default();
        let mut h = async_nats::HeaderMap::new();
        h.insert("contextId", ctx.as_str());
        svc.publish_with_headers(m.reply.unwrap(), h, "spun up".into())
            .await
            .unwrap();
        svc.flush().await.unwrap();
    });
    let cli = connect(&srv).await;
    let mut h = async_nats::HeaderMap::new();
    h.insert("contextId", "ctx-42");
    let req = async_nats::Request::new().payload("go".into()).headers(h);
    let resp = cli
        .send_request("{\"cmd\":\"agent-spinup\"}", req)
        .await
        .expect("reply");
    assert_eq!(resp.payload, "spun up");
    assert_eq!(
        resp.headers.unwrap().get("contextId").unwrap().as_str(),
        "ctx-42"
    );
    responder.await.unwrap();
}

#[tokio::test]
async fn no_responders_fails_fast() {
    let srv = ServerProc::start(None);
    let cli = connect(&srv).await;
    let started = std::time::Instant::now();
    let err = cli
        .request("nobody.home", "x".into())
        .await
        .expect_err("no responders");
    assert_eq!(err.kind(), async_nats::RequestErrorKind::NoResponders);
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn four_megabyte_payloads_at_seed_max_payload() {
    let srv = ServerProc::start(Some("max_payload: 4194304\n"));
    let a = connect(&srv).await;
    assert_eq!(a.server_info().max_payload, 4194304);
    let mut sub = a.subscribe("big").await.unwrap();
    sync(&a).await;
    let payload: Vec<u8> = (0..4194304u32).map(|i| (i % 251) as u8).collect();
    a.publish("big", payload.clone().into()).await.unwrap();
    sync(&a).await;
    let m = next(&mut sub).await;
    assert_eq!(m.payload.len(), 4194304);
    assert!(m.payload == payload, "payload intact");
    // One byte more is refused by the server.
    let mut raw = srv.raw();
    raw.send(b"PUB big 4194305\r\n");
    raw.expect(b"-ERR 'Maximum Payload Violation'\r\n");
    raw.expect_closed();
}

#[tokio::test]
async fn slow_consumer_is_closed_alone() {
    let srv = ServerProc::start(Some("max_pending: 1MB\nmax_payload: 64KB\n"));
    // A subscriber that never reads.
    let mut slow = srv.raw();
    slow.send(b"CONNECT {\"verbose\":false}\r\nSUB feed 1\r\n");
    assert_eq!(slow.sync(), b"");
    let fast = connect(&srv).await;
    let mut sub = fast.subscribe("feed").await.unwrap();
    sync(&fast).await;
    let publisher = connect(&srv).await;
    const N: usize = 5000;
    let reader = tokio::spawn(async move {
        let mut n = 0;
        while n < N {
            match tokio::time::timeout(Duration::from_secs(10), sub.next()).await {
                Ok(Some(m)) => {
                    assert_eq!(m.payload.len(), 16 * 1024);
                    n += 1;
                }
                _ => break,
            }
        }
        n
    });
    let body = bytes::Bytes::from(vec![b'x'; 16 * 1024]);
    for _ in 0..N {
        publisher.publish("feed", body.clone()).await.unwrap();
    }
    publisher.flush().await.unwrap();
    assert_eq!(reader.await.unwrap(), N, "the fast subscriber lost nothing");
    assert!(
        srv.wait_log("Slow Consumer Detected", Duration::from_secs(5))
            .is_some(),
        "slow consumer reported"
    );
    slow.expect_closed();
}
