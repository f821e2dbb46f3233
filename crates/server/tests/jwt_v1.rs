//! JWTs in the v1 layout (`type` at the top level, no `limits`): a v1 user
//! has no subscription, payload or data limit, as nats-io/jwt migrates
//! it; checked against nats-server, with raw CONNECTs and with async-nats
//! and a creds file (nats-server 2.12.4).

mod common;
use common::jwt::{connect_creds, creds, mint, mint_v1, nonce_of, sign};
use common::ServerProc;
use futures::StreamExt;
use nkeys::KeyPair;
use serde_json::json;
use std::io::Read;
use std::time::Duration;

/// An operator whose accounts are `(name, account JWT)`, preloaded.
/// A v2 account JWT for `acc` whose own limits are all -1 (none).
fn open_account(op: &KeyPair, acc: &KeyPair, name: &str) -> String {
    mint(
        op,
        &acc.public_key(),
        name,
        "account",
        json!({"limits": {"subs": -1, "data": -1, "payload": -1, "conn": -1}}),
        json!({}),
    )
}

fn config(op: &KeyPair, sys: &KeyPair, accounts: &[(&KeyPair, String)]) -> String {
    let op_jwt = mint(
        op,
        &op.public_key(),
        "OP",
        "operator",
        json!({"system_account": sys.public_key()}),
        json!({}),
    );
    let sys_jwt = open_account(op, sys, "SYS");
    let mut preload = format!("  {}: {sys_jwt}\n", sys.public_key());
    for (k, jwt) in accounts {
        preload.push_str(&format!("  {}: {jwt}\n", k.public_key()));
    }
    format!(
        "operator: {op_jwt}\nsystem_account: {}\nresolver: MEMORY\nresolver_preload: {{\n{preload}}}\n",
        sys.public_key()
    )
}

/// Logs in with `jwt`, signing the nonce with `key`, then sends `then`
/// and returns every line up to the PONG or the close (PINGs and +OK left
/// out).
fn session(srv: &ServerProc, jwt: &str, key: &KeyPair, then: &str) -> Vec<String> {
    let mut r = srv.raw();
    let nonce = nonce_of(&r.info);
    let c = json!({"verbose": false, "jwt": jwt, "sig": sign(key, &nonce), "headers": true});
    r.send(format!("CONNECT {c}\r\n{then}PING\r\n").as_bytes());
    r.s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut got = Vec::new();
    let mut tmp = vec![0u8; 1 << 16];
    while !got.ends_with(b"PONG\r\n") {
        match r.s.read(&mut tmp) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&tmp[..n]),
        }
    }
    String::from_utf8_lossy(&got)
        .split("\r\n")
        .filter(|l| !l.is_empty() && *l != "PING" && *l != "+OK")
        .map(str::to_string)
        .collect()
}

/// What a v1 user in `account` sees, on one server: many subscriptions, a
/// large payload, a message to itself.
fn v1_outcomes(bin: &str, cfg: &str, jwt: &str, user: &KeyPair) -> Vec<Vec<String>> {
    let srv = ServerProc::start_bin(bin, Some(cfg), &[]);
    let big = "x".repeat(100_000);
    let mut subs = String::new();
    for i in 0..50 {
        subs.push_str(&format!("SUB s.{i} {i}\r\n"));
    }
    vec![
        session(&srv, jwt, user, &subs),
        session(
            &srv,
            jwt,
            user,
            &format!("SUB big 1\r\nPUB big {}\r\n{big}\r\n", big.len()),
        )
        .into_iter()
        .map(|l| if l == big { "<payload>".into() } else { l })
        .collect(),
        session(
            &srv,
            jwt,
            user,
            "SUB a 1\r\nHPUB a r 18 20\r\nNATS/1.0\r\nK: v\r\n\r\nhi\r\n",
        ),
    ]
}

#[test]
fn v1_user_jwts_have_no_limits_as_in_nats_server() {
    let (op, sys) = (KeyPair::new_operator(), KeyPair::new_account());
    // Account A is v2 with no limits of its own (-1); account B is a v1
    // account JWT that sets its limits to -1; account C is a v1 account
    // JWT without limits.
    let a = KeyPair::new_account();
    let b = KeyPair::new_account();
    let a_jwt = open_account(&op, &a, "A");
    let b_jwt = mint_v1(
        &op,
        &b.public_key(),
        "B",
        "account",
        json!({"limits": {"subs": -1, "data": -1, "payload": -1, "conn": -1, "imports": -1, "exports": -1}}),
    );
    let c = KeyPair::new_account();
    let c_jwt = mint_v1(&op, &c.public_key(), "C", "account", json!({}));
    let cfg = config(&op, &sys, &[(&a, a_jwt), (&b, b_jwt), (&c, c_jwt)]);
    let user = KeyPair::new_user();
    let v1_user = |acc: &KeyPair| {
        mint_v1(
            acc,
            &user.public_key(),
            "foo-user",
            "user",
            json!({"pub": {}, "sub": {}}),
        )
    };
    let (in_a, in_b, in_c) = (v1_user(&a), v1_user(&b), v1_user(&c));
    // nats-io/jwt reads a v1 account's missing limits as 0, so nats-server
    // lets no user of such an account in; rnatsd does the same. (The
    // subscription limit of 0 may also be reported before the close: which
    // error goes out first is a race inside nats-server.)
    let conns = "-ERR 'maximum account active connections exceeded'";
    let subs = "-ERR 'maximum subscriptions exceeded'";
    for bin in [common::reference_212_bin(), common::rnatsd_bin()] {
        let srv = ServerProc::start_bin(&bin, Some(&cfg), &[]);
        let lines = session(&srv, &in_c, &user, "");
        assert!(lines.iter().any(|l| l == conns), "{bin}: {lines:?}");
        assert!(
            lines.iter().all(|l| l == conns || l == subs),
            "{bin}: {lines:?}"
        );
    }
    for jwt in [&in_a, &in_b] {
        let go = v1_outcomes(&common::reference_212_bin(), &cfg, jwt, &user);
        let rn = v1_outcomes(&common::rnatsd_bin(), &cfg, jwt, &user);
        assert_eq!(rn, go);
        assert_eq!(go[0], vec!["PONG"], "50 subscriptions, no error");
        assert_eq!(go[1], vec!["MSG big 1 100000", "<payload>", "PONG"]);
        assert_eq!(
            go[2],
            vec!["HMSG a 1 r 18 20", "NATS/1.0", "K: v", "hi", "PONG"]
        );
    }
}

/// A round trip through the server: the client's earlier SUBs are in.
async fn sync(c: &async_nats::Client) {
    let err = c
        .request("_sync.nobody", "".into())
        .await
        .expect_err("nobody listens on the sync subject");
    assert_eq!(err.kind(), async_nats::RequestErrorKind::NoResponders);
}

#[tokio::test]
async fn v1_user_creds_with_async_nats() {
    let (op, sys) = (KeyPair::new_operator(), KeyPair::new_account());
    let a = KeyPair::new_account();
    let a_jwt = open_account(&op, &a, "A");
    let cfg = config(&op, &sys, &[(&a, a_jwt)]);
    for bin in [common::reference_212_bin(), common::rnatsd_bin()] {
        let srv = ServerProc::start_bin(&bin, Some(&cfg), &[]);
        let connect = |name: &str| {
            let user = KeyPair::new_user();
            let jwt = mint_v1(
                &a,
                &user.public_key(),
                name,
                "user",
                json!({"pub": {}, "sub": {}}),
            );
            connect_creds(srv.url(), creds(&jwt, &user))
        };
        let svc = connect("responder").await;
        let cli = connect("requester").await;
        let mut requests = svc.subscribe("svc.echo").await.unwrap();
        let mut plain = cli.subscribe("events.>").await.unwrap();
        sync(&svc).await;
        sync(&cli).await;
        let responder = tokio::spawn(async move {
            let m = requests.next().await.unwrap();
            let mut h = async_nats::HeaderMap::new();
            h.insert("X-Echo", "1");
            svc.publish_with_headers(m.reply.unwrap(), h, m.payload)
                .await
                .unwrap();
            svc.publish("events.done", "bye".into()).await.unwrap();
            svc.flush().await.unwrap();
            svc
        });
        let resp = tokio::time::timeout(
            Duration::from_secs(5),
            cli.request("svc.echo", "ping".into()),
        )
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("{bin}: {e}"));
        assert_eq!(&resp.payload[..], b"ping", "{bin}");
        assert_eq!(resp.headers.unwrap().get("X-Echo").unwrap().as_str(), "1");
        let ev = tokio::time::timeout(Duration::from_secs(5), plain.next())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(&ev.payload[..], b"bye", "{bin}");
        responder.await.unwrap();
    }
}
