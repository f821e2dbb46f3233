//! JetStream accounts in operator mode, against nats-server 2.12.4: an
//! account whose JWT enables JetStream (`limits.mem_storage` or
//! `disk_storage`) is served, whether its JWT is in the resolver's store at
//! start or pushed at run time; an account whose JWT does not enable it is
//! told so. The answers (account info with the JWT's limits, stream create,
//! PubAcks, requests through the domain's API prefix, the "not enabled"
//! error) must be the same.

mod common;
use common::jwt::{creds, mint};
use common::{free_port, reference_bin, rnatsd_bin, scratch, ServerProc};
use nkeys::KeyPair;
use serde_json::{json, Value};
use std::time::Duration;

/// An account JWT; with `disk`, JetStream with that much file storage.
fn account(op: &KeyPair, key: &KeyPair, name: &str, disk: Option<i64>) -> String {
    let mut limits = json!({"subs": -1, "data": -1, "payload": -1, "imports": -1,
        "exports": -1, "wildcards": true, "conn": -1, "leaf": -1});
    if let Some(disk) = disk {
        for (k, v) in [
            ("mem_storage", json!(-1)),
            ("disk_storage", json!(disk)),
            ("streams", json!(3)),
            ("consumer", json!(-1)),
            ("max_ack_pending", json!(1000)),
            ("disk_max_stream_bytes", json!(-1)),
        ] {
            limits[k] = v;
        }
    }
    mint(
        op,
        &key.public_key(),
        name,
        "account",
        json!({"limits": limits}),
        json!({}),
    )
}

fn user(acc: &KeyPair) -> String {
    let u = KeyPair::new_user();
    let jwt = mint(
        acc,
        &u.public_key(),
        "u",
        "user",
        json!({"pub": {}, "sub": {}, "subs": -1, "data": -1, "payload": -1}),
        json!({}),
    );
    creds(&jwt, &u)
}

async fn connect(url: &str, creds: &str) -> async_nats::Client {
    let opts = async_nats::ConnectOptions::with_credentials(creds).unwrap();
    tokio::time::timeout(Duration::from_secs(5), opts.connect(url))
        .await
        .expect("login in time")
        .expect("login")
}

async fn req(c: &async_nats::Client, subject: &str, body: &str) -> Value {
    let m = tokio::time::timeout(
        Duration::from_secs(5),
        c.request(subject.to_string(), body.to_string().into()),
    )
    .await
    .unwrap_or_else(|_| panic!("{subject}: no answer"))
    .unwrap_or_else(|e| panic!("{subject}: {e}"));
    let mut v: Value = serde_json::from_slice(&m.payload).unwrap();
    mask(&mut v);
    v
}

fn mask(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                match k.as_str() {
                    "created" | "ts" | "first_ts" | "last_ts" => *x = json!("<time>"),
                    "leader" | "server" => *x = json!("<server>"),
                    "account" if x.is_string() => *x = json!("<account>"),
                    _ => mask(x),
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(mask),
        _ => {}
    }
}

async fn run(bin: &str) -> Vec<Value> {
    let op = KeyPair::new_operator();
    let (sys, app, late, plain) = (
        KeyPair::new_account(),
        KeyPair::new_account(),
        KeyPair::new_account(),
        KeyPair::new_account(),
    );
    let op_jwt = mint(
        &op,
        &op.public_key(),
        "OP",
        "operator",
        json!({"system_account": sys.public_key()}),
        json!({}),
    );
    let dir = scratch(&format!("jsacc-{}", free_port()));
    let jwts = dir.join("jwt");
    std::fs::create_dir_all(&jwts).unwrap();
    const GB: Option<i64> = Some(1 << 30);
    for (k, name, js) in [(&sys, "SYS", None), (&app, "APP", GB)] {
        let jwt = account(&op, k, name, js);
        std::fs::write(jwts.join(format!("{}.jwt", k.public_key())), jwt).unwrap();
    }
    let conf = format!(
        "operator: {op_jwt}\nsystem_account: {}\njetstream {{ store_dir: \"{}\", domain: D }}\nresolver {{ type: full, dir: \"{}\" }}\n",
        sys.public_key(),
        dir.join("js").display(),
        jwts.display()
    );
    let s = ServerProc::start_bin(bin, Some(&conf), &[]);
    let mut out = Vec::new();
    // An account whose JWT the store held at start.
    let c = connect(&s.url(), &user(&app)).await;
    out.push(req(&c, "$JS.API.INFO", "").await);
    out.push(
        req(
            &c,
            "$JS.API.STREAM.CREATE.S",
            r#"{"name":"S","subjects":["s.>"]}"#,
        )
        .await,
    );
    out.push(req(&c, "s.1", "hello").await);
    out.push(req(&c, "$JS.API.INFO", "").await);
    out.push(req(&c, "$JS.D.API.STREAM.NAMES", "").await);
    // Accounts pushed at run time: one with JetStream, one without.
    let sc = connect(&s.url(), &user(&sys)).await;
    let tiny = KeyPair::new_account();
    for (k, name, js) in [
        (&late, "LATE", GB),
        (&plain, "PLAIN", None),
        (&tiny, "TINY", Some(200)),
    ] {
        let v = req(&sc, "$SYS.REQ.CLAIMS.UPDATE", &account(&op, k, name, js)).await;
        out.push(v["data"]["message"].clone());
    }
    let c = connect(&s.url(), &user(&late)).await;
    out.push(req(&c, "$JS.API.INFO", "").await);
    for i in 0..4 {
        let body = format!(r#"{{"name":"L{i}","subjects":["l{i}.>"]}}"#);
        out.push(req(&c, &format!("$JS.API.STREAM.CREATE.L{i}"), &body).await);
    }
    out.push(req(&c, "l0.x", "late").await);
    out.push(req(&c, "$JS.D.API.STREAM.NAMES", "").await);
    let c = connect(&s.url(), &user(&plain)).await;
    out.push(req(&c, "$JS.API.INFO", "").await);
    // Account resources: a stream reserving more than the account has, then
    // publishes past the account's storage.
    let c = connect(&s.url(), &user(&tiny)).await;
    for body in [
        r#"{"name":"BIG","subjects":["big"],"max_bytes":1000}"#,
        r#"{"name":"BIG","subjects":["big"],"storage":"memory","max_consumers":5}"#,
        r#"{"name":"T","subjects":["t"]}"#,
    ] {
        let name: Value = serde_json::from_str(body).unwrap();
        let subject = format!("$JS.API.STREAM.CREATE.{}", name["name"].as_str().unwrap());
        out.push(req(&c, &subject, body).await);
    }
    for _ in 0..3 {
        out.push(req(&c, "t", &"x".repeat(50)).await);
    }
    out.push(req(&c, "$JS.API.INFO", "").await);
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn jetstream_accounts_from_jwts_match_nats_server() {
    let (go_bin, rn_bin) = (reference_bin(), rnatsd_bin());
    let (go, rn) = tokio::join!(run(&go_bin), run(&rn_bin));
    let d = common::js::diffs(&go, &rn);
    assert!(d.is_empty(), "{}", d.join("\n"));
    assert_eq!(rn[0]["limits"]["max_streams"], 3, "{}", rn[0]);
    assert_eq!(rn[3]["streams"], 1, "{}", rn[3]);
    assert!(rn.iter().any(|v| v["error"]["err_code"] == 10047), "{rn:?}");
    assert!(rn.iter().any(|v| v["error"]["err_code"] == 10002), "{rn:?}");
}
