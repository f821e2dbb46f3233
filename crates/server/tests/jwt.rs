//! Operator mode: user JWTs signed by accounts that a trusted operator
//! signed, checked case by case against nats-server (the same CONNECT to
//! both, the same answer), over TCP and over websocket with `jwt_cookie`,
//! and with async-nats using a credentials file.

mod common;
use common::jwt::{connect_creds, creds, mint, nonce_of, now, sign};
use common::ws::WsRaw;
use common::ServerProc;
use nkeys::KeyPair;
use serde_json::{json, Value};
use std::io::Read;
use std::time::{Duration, Instant};

/// The operator, accounts and user keys of the tests.
struct World {
    config: String,
    /// Account A (signed by the operator's identity key).
    a: KeyPair,
    /// A plain signing key of account A.
    a_signer: KeyPair,
    /// A scoped signing key of account A.
    a_scoped: KeyPair,
    /// Account B (signed by the operator's signing key).
    b: KeyPair,
    /// Account C (no bearer tokens).
    c: KeyPair,
    /// Account X (signed by an operator nobody trusts).
    x: KeyPair,
    /// A user of A that the account revoked.
    revoked: KeyPair,
    /// Account L: one connection, two subscriptions, 8-byte payloads.
    l: KeyPair,
    /// Account Z: an account JWT without limits (nats-io/jwt reads 0s).
    z: KeyPair,
    /// Account E exports a service and streams; account I imports them.
    e: KeyPair,
    i: KeyPair,
    /// Account J carries an activation token issued to another account:
    /// its JWT is not valid.
    j: KeyPair,
}

fn world(ws: bool) -> World {
    let op = KeyPair::new_operator();
    let op_signer = KeyPair::new_operator();
    let stranger = KeyPair::new_operator();
    let sys = KeyPair::new_account();
    let a = KeyPair::new_account();
    let a_signer = KeyPair::new_account();
    let a_scoped = KeyPair::new_account();
    let b = KeyPair::new_account();
    let c = KeyPair::new_account();
    let x = KeyPair::new_account();
    let revoked = KeyPair::new_user();
    let op_jwt = mint(
        &op,
        &op.public_key(),
        "OP",
        "operator",
        json!({"signing_keys": [op_signer.public_key()], "system_account": sys.public_key()}),
        json!({}),
    );
    let limits = json!({"subs": -1, "data": -1, "payload": -1, "imports": -1, "exports": -1,
                        "wildcards": true, "conn": -1, "leaf": -1});
    let acc = |signer: &KeyPair, key: &KeyPair, name: &str, mut extra: Value| {
        extra["limits"] = limits.clone();
        if let Some(l) = extra.get("more_limits").cloned() {
            for (k, v) in l.as_object().unwrap() {
                extra["limits"][k] = v.clone();
            }
            extra.as_object_mut().unwrap().remove("more_limits");
        }
        mint(signer, &key.public_key(), name, "account", extra, json!({}))
    };
    let sys_jwt = acc(&op, &sys, "SYS", json!({}));
    let a_jwt = acc(
        &op,
        &a,
        "A",
        json!({
            "signing_keys": [
                a_signer.public_key(),
                {"kind": "user_scope", "key": a_scoped.public_key(), "role": "r",
                 "template": {"pub": {"allow": ["scoped.{{name()}}.>"]}, "sub": {"allow": ["_INBOX.>"]},
                              "subs": -1, "data": -1, "payload": -1}}
            ],
            "revocations": {revoked.public_key(): now() + 5},
        }),
    );
    let b_jwt = acc(&op_signer, &b, "B", json!({}));
    let c_jwt = acc(
        &op,
        &c,
        "C",
        json!({"more_limits": {"disallow_bearer": true}}),
    );
    let x_jwt = acc(&stranger, &x, "X", json!({}));
    let l = KeyPair::new_account();
    let l_jwt = acc(
        &op,
        &l,
        "L",
        json!({"more_limits": {"conn": 1, "subs": 2, "payload": 8}}),
    );
    let z = KeyPair::new_account();
    let z_jwt = mint(&op, &z.public_key(), "Z", "account", json!({}), json!({}));
    let e = KeyPair::new_account();
    let i = KeyPair::new_account();
    let e_jwt = acc(
        &op,
        &e,
        "E",
        json!({"exports": [
            {"name": "svc", "subject": "svc.>", "type": "service"},
            {"name": "feed", "subject": "feed.>", "type": "stream"},
            {"name": "secret", "subject": "secret.>", "type": "stream", "token_req": true},
        ]}),
    );
    let ek = e.public_key();
    // Activation tokens from E: one for I, one for another account.
    let act = |to: &str| {
        mint(
            &e,
            to,
            "act",
            "activation",
            json!({"subject": "secret.a", "kind": "stream"}),
            json!({}),
        )
    };
    let (act_i, act_a) = (act(&i.public_key()), act(&a.public_key()));
    let j = KeyPair::new_account();
    let j_jwt = acc(
        &op,
        &j,
        "J",
        json!({"imports": [
            {"name": "sc", "subject": "secret.a", "account": ek, "type": "stream", "token": act_a},
        ]}),
    );
    let i_jwt = acc(
        &op,
        &i,
        "I",
        json!({"imports": [
            {"name": "echo", "subject": "svc.echo", "account": ek, "type": "service", "local_subject": "echo"},
            {"name": "time", "subject": "svc.time", "account": ek, "type": "service"},
            {"name": "feed", "subject": "feed.>", "account": ek, "type": "stream", "to": "e"},
            {"name": "news", "subject": "feed.news", "account": ek, "type": "stream", "local_subject": "news"},
            {"name": "sa", "subject": "secret.a", "account": ek, "type": "stream", "token": act_i},
            {"name": "sb", "subject": "secret.b", "account": ek, "type": "stream"},

            {"name": "other", "subject": "other.>", "account": ek, "type": "stream"},
        ]}),
    );
    let ws_block = if ws {
        "websocket {\n  port: -1\n  no_tls: true\n  jwt_cookie: \"natsjwt\"\n}\n"
    } else {
        ""
    };
    let config = format!(
        "operator: {op_jwt}\nsystem_account: {}\nresolver: MEMORY\nresolver_preload: {{\n  {}: {sys_jwt}\n  {}: {a_jwt}\n  {}: {b_jwt}\n  {}: {c_jwt}\n  {}: {x_jwt}\n  {}: {l_jwt}\n  {}: {z_jwt}\n  {}: {e_jwt}\n  {}: {i_jwt}\n  {}: {j_jwt}\n}}\n{ws_block}",
        sys.public_key(),
        sys.public_key(),
        a.public_key(),
        b.public_key(),
        c.public_key(),
        x.public_key(),
        l.public_key(),
        z.public_key(),
        e.public_key(),
        i.public_key(),
        j.public_key(),
    );
    World {
        config,
        a,
        a_signer,
        a_scoped,
        b,
        c,
        x,
        revoked,
        l,
        z,
        e,
        i,
        j,
    }
}

/// A user JWT for `user`, issued by `signer` (`on_behalf` names the
/// account when `signer` is one of its signing keys).
fn user_jwt(
    signer: &KeyPair,
    user: &KeyPair,
    on_behalf: Option<&KeyPair>,
    nats: Value,
    extra: Value,
) -> String {
    let mut nats = nats;
    if nats.get("subs").is_none() {
        nats["subs"] = json!(-1);
        nats["data"] = json!(-1);
        nats["payload"] = json!(-1);
    }
    if let Some(acc) = on_behalf {
        nats["issuer_account"] = json!(acc.public_key());
    }
    mint(signer, &user.public_key(), "bob", "user", nats, extra)
}

/// How one server answers a CONNECT (with `jwt` and a signature by `user`
/// of the nonce, unless `sig` is false) followed by `then`: every line up
/// to the PONG or the close, `+OK` lines left out.
fn answer(
    srv: &ServerProc,
    jwt: Option<&str>,
    user: &KeyPair,
    sig: bool,
    then: &str,
) -> Vec<String> {
    let mut r = srv.raw();
    let info: Value = serde_json::from_str(r.info.trim_start_matches("INFO ")).unwrap();
    assert_eq!(info["auth_required"], json!(true));
    let nonce = nonce_of(&r.info);
    assert!(!nonce.is_empty(), "operator mode sends a nonce");
    let mut c = json!({"verbose": false, "pedantic": false, "protocol": 1, "headers": true});
    if let Some(j) = jwt {
        c["jwt"] = json!(j);
    }
    if sig {
        c["sig"] = json!(sign(user, &nonce));
    }
    r.send(format!("CONNECT {c}\r\n{then}PING\r\n").as_bytes());
    let mut lines = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(5);
    r.s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut buf = Vec::new();
    while Instant::now() < deadline {
        let mut tmp = [0u8; 4096];
        match r.s.read(&mut tmp) {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(&tmp[..n]),
        }
        // 2.12 follows the first PONG with the connect INFO.
        let text = String::from_utf8_lossy(&buf);
        // (A permissions violation keeps the connection: its INFO follows.)
        if text.ends_with("PONG\r\n")
            && text.contains("-ERR")
            && !text.contains("Permissions Violation")
            || text.contains("PONG\r\nINFO ") && text.ends_with(" \r\n")
        {
            break;
        }
    }
    for l in String::from_utf8_lossy(&buf).split("\r\n") {
        if let Some(json) = l.strip_prefix("INFO ") {
            // Only what the connect INFO says about this connection.
            let v: Value = serde_json::from_str(json).unwrap();
            lines.push(format!(
                "INFO connect_info={} remote_account={} acc_is_sys={}",
                v["connect_info"], v["remote_account"], v["acc_is_sys"]
            ));
        } else if !l.is_empty() && l != "+OK" {
            lines.push(l.to_string());
        }
    }
    lines
}

const VIOLATION: &str = "-ERR 'Authorization Violation'";

#[test]
fn user_jwts_are_judged_as_nats_server_judges_them() {
    let w = world(false);
    let go = ServerProc::start_bin(&common::reference_bin(), Some(&w.config), &[]);
    let rn = ServerProc::start(Some(&w.config));
    let u = KeyPair::new_user();
    let plain = user_jwt(
        &w.a,
        &u,
        None,
        json!({"pub": {"allow": ["ok.>"]}}),
        json!({}),
    );
    let via_signer = user_jwt(&w.a_signer, &u, Some(&w.a), json!({}), json!({}));
    // Users of a scoped key carry no permissions or limits of their own.
    let scoped_nats = json!({"issuer_account": w.a.public_key()});
    let scoped = mint(
        &w.a_scoped,
        &u.public_key(),
        "bob",
        "user",
        scoped_nats.clone(),
        json!({}),
    );
    let scoped_own_perms = user_jwt(
        &w.a_scoped,
        &u,
        Some(&w.a),
        json!({"pub": {"allow": [">"]}}),
        json!({}),
    );
    let scoped_limits = user_jwt(&w.a_scoped, &u, Some(&w.a), json!({}), json!({}));
    let in_b = user_jwt(&w.b, &u, None, json!({}), json!({}));
    let in_x = user_jwt(&w.x, &u, None, json!({}), json!({}));
    let expired = user_jwt(&w.a, &u, None, json!({}), json!({"exp": now() - 60}));
    let not_yet = user_jwt(&w.a, &u, None, json!({}), json!({"nbf": now() + 3600}));
    let revoked = user_jwt(&w.a, &w.revoked, None, json!({}), json!({}));
    let bearer = user_jwt(&w.a, &u, None, json!({"bearer_token": true}), json!({}));
    let bearer_c = user_jwt(&w.c, &u, None, json!({"bearer_token": true}), json!({}));
    let ws_only = user_jwt(
        &w.a,
        &u,
        None,
        json!({"allowed_connection_types": ["WEBSOCKET"]}),
        json!({}),
    );
    let tcp_ok = user_jwt(
        &w.a,
        &u,
        None,
        json!({"allowed_connection_types": ["STANDARD", "MQTT"]}),
        json!({}),
    );
    let far_src = user_jwt(&w.a, &u, None, json!({"src": ["10.0.0.0/8"]}), json!({}));
    let near_src = user_jwt(&w.a, &u, None, json!({"src": ["127.0.0.0/8"]}), json!({}));
    let resp = user_jwt(
        &w.a,
        &u,
        None,
        json!({"resp": {"max": 1, "ttl": 0}}),
        json!({}),
    );
    let other = KeyPair::new_user();
    let cases: Vec<(&str, Option<&str>, &KeyPair, bool, &str)> = vec![
        ("no jwt", None, &u, true, ""),
        ("garbage jwt", Some("not.a.jwt"), &u, true, ""),
        (
            "plain user, allowed publish",
            Some(&plain),
            &u,
            true,
            "PUB ok.1 2\r\nhi\r\n",
        ),
        (
            "plain user, denied publish",
            Some(&plain),
            &u,
            true,
            "PUB nope 2\r\nhi\r\n",
        ),
        ("plain user, no signature", Some(&plain), &u, false, ""),
        (
            "plain user, signed by another key",
            Some(&plain),
            &other,
            true,
            "",
        ),
        (
            "account signing key",
            Some(&via_signer),
            &u,
            true,
            "PUB any 0\r\n\r\n",
        ),
        (
            "scoped key, template subject",
            Some(&scoped),
            &u,
            true,
            "PUB scoped.bob.x 0\r\n\r\n",
        ),
        (
            "scoped key, other subject",
            Some(&scoped),
            &u,
            true,
            "PUB scoped.alice.x 0\r\n\r\n",
        ),
        (
            "scoped key, user with own permissions",
            Some(&scoped_own_perms),
            &u,
            true,
            "",
        ),
        (
            "scoped key, user with own limits",
            Some(&scoped_limits),
            &u,
            true,
            "",
        ),
        (
            "scoped key, subscribe outside the template",
            Some(&scoped),
            &u,
            true,
            "SUB other 1\r\n",
        ),
        (
            "account signed by operator signing key",
            Some(&in_b),
            &u,
            true,
            "",
        ),
        (
            "account of an untrusted operator",
            Some(&in_x),
            &u,
            true,
            "",
        ),
        ("expired user", Some(&expired), &u, true, ""),
        ("user not valid yet", Some(&not_yet), &u, true, ""),
        ("revoked user", Some(&revoked), &w.revoked, true, ""),
        (
            "bearer token without signature",
            Some(&bearer),
            &u,
            false,
            "",
        ),
        (
            "bearer token refused by account",
            Some(&bearer_c),
            &u,
            false,
            "",
        ),
        ("websocket-only user over TCP", Some(&ws_only), &u, true, ""),
        ("standard connection type", Some(&tcp_ok), &u, true, ""),
        ("source address outside src", Some(&far_src), &u, true, ""),
        ("source address inside src", Some(&near_src), &u, true, ""),
        (
            "response permission only",
            Some(&resp),
            &u,
            true,
            "PUB x 0\r\n\r\n",
        ),
    ];
    for (name, jwt, user, sig, then) in cases {
        let want = answer(&go, jwt, user, sig, then);
        let got = answer(&rn, jwt, user, sig, then);
        assert_eq!(got, want, "case {name:?}");
        assert!(!want.is_empty(), "case {name:?}: nats-server said nothing");
        eprintln!("{name}: {want:?}");
    }
    // The outcomes themselves, so the comparison cannot pass vacuously.
    assert_eq!(answer(&rn, None, &u, true, ""), vec![VIOLATION.to_string()]);
    let admitted = |acc: &str| {
        vec![
            "PONG".to_string(),
            format!("INFO connect_info=true remote_account=\"{acc}\" acc_is_sys=null"),
        ]
    };
    assert_eq!(
        answer(&rn, Some(&plain), &u, true, ""),
        admitted(&w.a.public_key())
    );
    assert_eq!(
        answer(&rn, Some(&expired), &u, true, ""),
        vec![VIOLATION.to_string()]
    );
    assert_eq!(
        answer(&rn, Some(&bearer), &u, false, ""),
        admitted(&w.a.public_key())
    );
}

/// Subscribes on `srv` as a user, publishes as another, and tells whether
/// the message arrived.
fn crosses(
    srv: &ServerProc,
    sub_jwt: &str,
    sub_key: &KeyPair,
    pub_jwt: &str,
    pub_key: &KeyPair,
) -> bool {
    let login = |jwt: &str, key: &KeyPair| {
        let mut r = srv.raw();
        let nonce = nonce_of(&r.info);
        let c = json!({"verbose": false, "jwt": jwt, "sig": sign(key, &nonce)});
        r.send(format!("CONNECT {c}\r\n").as_bytes());
        assert_eq!(r.sync(), b"");
        r
    };
    let mut s = login(sub_jwt, sub_key);
    s.send(b"SUB shared 1\r\n");
    assert_eq!(s.sync(), b"");
    let mut p = login(pub_jwt, pub_key);
    p.send(b"PUB shared 5\r\nhello\r\n");
    assert_eq!(p.sync(), b"");
    let got = s.sync();
    got == b"MSG shared 1 5\r\nhello\r\n"
}

#[test]
fn accounts_are_separate_subject_spaces() {
    let w = world(false);
    let (u1, u2, u3) = (
        KeyPair::new_user(),
        KeyPair::new_user(),
        KeyPair::new_user(),
    );
    let a1 = user_jwt(&w.a, &u1, None, json!({}), json!({}));
    let a2 = user_jwt(&w.a_signer, &u2, Some(&w.a), json!({}), json!({}));
    let b3 = user_jwt(&w.b, &u3, None, json!({}), json!({}));
    for bin in [common::reference_bin(), common::rnatsd_bin()] {
        let srv = ServerProc::start_bin(&bin, Some(&w.config), &["-m", "-1"]);
        assert!(crosses(&srv, &a1, &u1, &a2, &u2), "{bin}: same account");
        assert!(
            !crosses(&srv, &a1, &u1, &b3, &u3),
            "{bin}: different accounts"
        );
        // /connz names each client's account by its public key, and with
        // auth=true its user by the user's public key.
        let mut keep = Vec::new();
        for (jwt, key) in [(&a1, &u1), (&b3, &u3)] {
            let mut r = srv.raw();
            let nonce = nonce_of(&r.info);
            let c = json!({"verbose": false, "jwt": jwt, "sig": sign(key, &nonce)});
            r.send(format!("CONNECT {c}\r\n").as_bytes());
            assert_eq!(r.sync(), b"");
            keep.push(r);
        }
        let connz = common::http_json(
            srv.http_port,
            &format!("/connz?auth=true&acc={}", w.b.public_key()),
        );
        assert_eq!(connz["num_connections"], json!(1), "{bin}: {connz}");
        let c = &connz["connections"][0];
        assert_eq!(c["account"], json!(w.b.public_key()), "{bin}");
        assert_eq!(c["authorized_user"], json!(u3.public_key()), "{bin}");
    }
}

#[test]
fn a_user_is_disconnected_when_its_jwt_expires() {
    let w = world(false);
    let u = KeyPair::new_user();
    for bin in [common::reference_bin(), common::rnatsd_bin()] {
        let srv = ServerProc::start_bin(&bin, Some(&w.config), &[]);
        let jwt = user_jwt(&w.a, &u, None, json!({}), json!({"exp": now() + 2}));
        let mut r = srv.raw();
        let nonce = nonce_of(&r.info);
        let c = json!({"verbose": false, "jwt": jwt, "sig": sign(&u, &nonce)});
        r.send(format!("CONNECT {c}\r\n").as_bytes());
        assert_eq!(r.sync(), b"", "{bin}");
        let started = Instant::now();
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut seen = String::new();
        r.s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        while Instant::now() < deadline {
            let mut tmp = [0u8; 1024];
            match r.s.read(&mut tmp) {
                Ok(0) | Err(_) => break,
                Ok(n) => seen.push_str(&String::from_utf8_lossy(&tmp[..n])),
            }
        }
        assert!(
            seen.contains("-ERR 'User Authentication Expired'\r\n"),
            "{bin}: {seen:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(5), "{bin}");
    }
}

fn ws_outcome(port: u16, cookie: Option<&str>, connect: Value, user: &KeyPair) -> String {
    let headers = cookie
        .map(|c| format!("Cookie: other=1; {c}\r\n"))
        .unwrap_or_default();
    let (mut w, head) = WsRaw::connect(port, &headers);
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    let info = w.text_until("\r\n");
    let nonce = nonce_of(info.lines().next().unwrap());
    let mut c = connect;
    if c.get("sig").is_some() {
        c["sig"] = json!(sign(user, &nonce));
    }
    w.send_binary(format!("CONNECT {c}\r\nPING\r\n").as_bytes());
    let out = w.text_until("PONG\r\n");
    out.lines()
        .filter(|l| *l != "+OK")
        .collect::<Vec<_>>()
        .join("|")
}

#[test]
fn websocket_jwt_cookie_like_nats_server() {
    let w = world(true);
    let u = KeyPair::new_user();
    let jwt = user_jwt(&w.a, &u, None, json!({}), json!({}));
    let bearer = user_jwt(&w.a, &u, None, json!({"bearer_token": true}), json!({}));
    let tcp_only = user_jwt(
        &w.a,
        &u,
        None,
        json!({"allowed_connection_types": ["STANDARD"]}),
        json!({}),
    );
    let intruder = KeyPair::new_user();
    let cases: Vec<(&str, Option<String>, Value, &KeyPair)> = vec![
        (
            "cookie JWT, signed nonce",
            Some(format!("natsjwt={jwt}")),
            json!({"sig": ""}),
            &u,
        ),
        (
            "cookie JWT, quoted value",
            Some(format!("natsjwt=\"{jwt}\"")),
            json!({"sig": ""}),
            &u,
        ),
        (
            "cookie JWT, wrong key signs",
            Some(format!("natsjwt={jwt}")),
            json!({"sig": ""}),
            &intruder,
        ),
        (
            "cookie bearer JWT, nothing in CONNECT",
            Some(format!("natsjwt={bearer}")),
            json!({}),
            &u,
        ),
        ("no cookie, nothing in CONNECT", None, json!({}), &u),
        (
            "other cookie name",
            Some(format!("jwt={bearer}")),
            json!({}),
            &u,
        ),
        (
            "CONNECT JWT wins over the cookie",
            Some(format!("natsjwt={bearer}")),
            json!({"jwt": jwt, "sig": ""}),
            &intruder,
        ),
        (
            "TCP-only user over websocket",
            Some(format!("natsjwt={tcp_only}")),
            json!({"sig": ""}),
            &u,
        ),
    ];
    let go = ServerProc::start_bin(&common::reference_bin(), Some(&w.config), &[]);
    let rn = ServerProc::start(Some(&w.config));
    let port = |s: &ServerProc| {
        s.logged_port("Listening for websocket clients on ws://")
            .expect("websocket listener")
    };
    let (gp, rp) = (port(&go), port(&rn));
    for (name, cookie, connect, user) in cases {
        let want = ws_outcome(gp, cookie.as_deref(), connect.clone(), user);
        let got = ws_outcome(rp, cookie.as_deref(), connect, user);
        assert_eq!(got, want, "case {name:?}");
        eprintln!("{name}: {want}");
    }
    assert_eq!(
        ws_outcome(rp, Some(&format!("natsjwt={bearer}")), json!({}), &u),
        "PONG"
    );
    assert_eq!(ws_outcome(rp, None, json!({}), &u), VIOLATION);
}

#[tokio::test]
async fn async_nats_with_credentials() {
    use futures::StreamExt;
    let w = world(false);
    let rn = ServerProc::start(Some(&w.config));
    let (u1, u2) = (KeyPair::new_user(), KeyPair::new_user());
    let responder = user_jwt(
        &w.a,
        &u1,
        None,
        json!({"sub": {"allow": ["svc.>"]}, "resp": {"max": 1}}),
        json!({}),
    );
    let requester = user_jwt(
        &w.a,
        &u2,
        None,
        json!({"pub": {"allow": ["svc.>"]}, "sub": {"allow": ["_INBOX.>"]}}),
        json!({}),
    );
    let svc = connect_creds(rn.url(), creds(&responder, &u1)).await;
    let cli = connect_creds(rn.url(), creds(&requester, &u2)).await;
    let mut subs = svc.subscribe("svc.echo").await.unwrap();
    svc.flush().await.unwrap();
    let task = tokio::spawn(async move {
        let m = subs.next().await.unwrap();
        let mut h = async_nats::HeaderMap::new();
        h.insert("X-Echo", "1");
        svc.publish_with_headers(m.reply.unwrap(), h, m.payload)
            .await
            .unwrap();
        svc.flush().await.unwrap();
    });
    // The responder's SUB may still be on its way: no_responders until then.
    let deadline = Instant::now() + Duration::from_secs(5);
    let resp = loop {
        let mut h = async_nats::HeaderMap::new();
        h.insert("X-Req", "1");
        let r = tokio::time::timeout(
            Duration::from_secs(5),
            cli.request_with_headers("svc.echo", h, "ping".into()),
        )
        .await
        .unwrap();
        match r {
            Err(e)
                if e.kind() == async_nats::RequestErrorKind::NoResponders
                    && Instant::now() < deadline =>
            {
                tokio::time::sleep(Duration::from_millis(20)).await
            }
            r => break r.unwrap(),
        }
    };
    assert_eq!(&resp.payload[..], b"ping");
    assert_eq!(resp.headers.unwrap().get("X-Echo").unwrap().as_str(), "1");
    task.await.unwrap();
    // A wrong seed for the same JWT is refused.
    let wrong = creds(&requester, &KeyPair::new_user());
    let refused = async_nats::ConnectOptions::with_credentials(&wrong)
        .unwrap()
        .connect(rn.url())
        .await;
    let Err(e) = refused else {
        panic!("a wrong seed is refused");
    };
    assert!(
        e.to_string().to_lowercase().contains("authorization"),
        "{e}"
    );
}

/// Lines from a logged-in raw connection until it goes quiet or closes.
fn login(srv: &ServerProc, jwt: &str, key: &KeyPair) -> common::Raw {
    let mut r = srv.raw();
    let nonce = nonce_of(&r.info);
    let c = json!({"verbose": false, "jwt": jwt, "sig": sign(key, &nonce)});
    r.send(format!("CONNECT {c}\r\n").as_bytes());
    r
}

fn lines(b: &[u8]) -> Vec<String> {
    let mut v: Vec<String> = String::from_utf8_lossy(b)
        .split("\r\n")
        .filter(|l| !l.is_empty() && *l != "PING")
        .map(str::to_string)
        .collect();
    v.sort();
    v
}

#[test]
fn jwt_limits_like_nats_server() {
    let w = world(false);
    let u = KeyPair::new_user();
    let in_l = user_jwt(&w.l, &u, None, json!({}), json!({}));
    let in_z = user_jwt(&w.z, &u, None, json!({}), json!({}));
    // A user JWT without subs/payload fields: nats-io/jwt reads 0 for both.
    let bare = mint(&w.a, &u.public_key(), "bare", "user", json!({}), json!({}));
    let mut outcomes = Vec::new();
    for bin in [common::reference_bin(), common::rnatsd_bin()] {
        let srv = ServerProc::start_bin(&bin, Some(&w.config), &[]);
        let mut got = Vec::new();
        // Account L: the third subscription is refused; a 9-byte payload
        // breaks the 8-byte limit and closes the connection.
        let mut a = login(&srv, &in_l, &u);
        a.send(b"SUB a 1\r\nSUB b 2\r\nSUB c 3\r\nPUB a 8\r\n12345678\r\n");
        got.push(lines(&a.sync()));
        // A second connection in L is over the account's limit.
        let mut b = login(&srv, &in_l, &u);
        b.send(b"PING\r\n");
        got.push(lines(&b.read_quiet(Duration::from_millis(500))));
        a.send(b"PUB a 9\r\n123456789\r\n");
        got.push(lines(&a.read_quiet(Duration::from_millis(500))));
        // Once it is gone, another connection fits.
        std::thread::sleep(Duration::from_millis(200));
        let mut c = login(&srv, &in_l, &u);
        got.push(lines(&c.sync()));
        // An account JWT without limits allows no connection at all.
        let mut d = login(&srv, &in_z, &u);
        d.send(b"PING\r\n");
        got.push(lines(&d.read_quiet(Duration::from_millis(500))));
        // A user JWT without limits: no subscription, closed shortly after.
        let mut e = login(&srv, &bare, &u);
        e.send(b"PING\r\n");
        got.push(lines(&e.read_quiet(Duration::from_millis(500))));
        e.expect_closed();
        outcomes.push(got);
    }
    eprintln!("{:#?}", outcomes[0]);
    assert_eq!(outcomes[1], outcomes[0]);
    let go = &outcomes[0];
    assert_eq!(
        go[0],
        [
            "-ERR 'maximum subscriptions exceeded'",
            "12345678",
            "MSG a 1 8"
        ]
    );
    assert_eq!(
        go[1],
        vec!["-ERR 'maximum account active connections exceeded'"]
    );
    assert_eq!(go[2], vec!["-ERR 'Maximum Payload Violation'"]);
    assert_eq!(
        go[4],
        vec!["-ERR 'maximum account active connections exceeded'"]
    );
}

/// The reply subject of the first `MSG subject sid reply size` line.
fn reply_of(b: &[u8]) -> String {
    let text = String::from_utf8_lossy(b);
    let line = text.lines().find(|l| l.starts_with("MSG ")).expect("a MSG");
    line.split(' ').nth(3).unwrap().to_string()
}

#[test]
fn account_jwt_imports_and_exports_like_nats_server() {
    let w = world(false);
    let (ue, ui) = (KeyPair::new_user(), KeyPair::new_user());
    let e_jwt = user_jwt(&w.e, &ue, None, json!({}), json!({}));
    let i_jwt = user_jwt(&w.i, &ui, None, json!({}), json!({}));
    let mut outcomes = Vec::new();
    for bin in [common::reference_bin(), common::rnatsd_bin()] {
        let srv = ServerProc::start_bin(&bin, Some(&w.config), &[]);
        let mut got = Vec::new();
        // An account whose import carries another account's activation
        // token is not valid: its users cannot log in.
        let uj = KeyPair::new_user();
        let mut bad = login(&srv, &user_jwt(&w.j, &uj, None, json!({}), json!({})), &uj);
        bad.send(b"PING\r\n");
        got.push(lines(&bad.read_quiet(Duration::from_millis(300))));
        let mut exp = login(&srv, &e_jwt, &ue);
        exp.send(b"SUB svc.echo 1\r\nSUB svc.time 2\r\n");
        assert_eq!(exp.sync(), b"", "{bin}");
        let mut imp = login(&srv, &i_jwt, &ui);
        imp.send(
            b"SUB e.> 1\r\nSUB news 2\r\nSUB secret.> 3\r\nSUB other.> 4\r\nSUB inbox.> 5\r\n",
        );
        assert_eq!(imp.sync(), b"", "{bin}");
        // Service imports: under the local subject, and under the
        // exporter's own subject; replies come back.
        for (local, remote) in [("echo", "svc.echo"), ("svc.time", "svc.time")] {
            imp.send(format!("PUB {local} inbox.{local} 2\r\nhi\r\n").as_bytes());
            assert_eq!(imp.sync(), b"", "{bin}");
            let req = exp.sync();
            let text = String::from_utf8_lossy(&req).into_owned();
            assert!(text.starts_with(&format!("MSG {remote} ")), "{bin}: {text}");
            let reply = reply_of(&req);
            exp.send(format!("PUB {reply} 3\r\nyes\r\n").as_bytes());
            assert_eq!(exp.sync(), b"", "{bin}");
            got.push(lines(&imp.sync()));
        }
        // Stream imports: a prefix, a new name, a token-only export and a
        // subject that is not exported.
        exp.send(b"PUB feed.news 1\r\na\r\nPUB secret.a 1\r\nb\r\nPUB secret.b 1\r\nb\r\nPUB secret.c 1\r\nb\r\nPUB other.x 1\r\nc\r\n");
        assert_eq!(exp.sync(), b"", "{bin}");
        std::thread::sleep(Duration::from_millis(100));
        got.push(lines(&imp.sync()));
        outcomes.push(got);
    }
    eprintln!("{:#?}", outcomes[0]);
    assert_eq!(outcomes[1], outcomes[0]);
    let go = &outcomes[0];
    assert_eq!(go[0], ["-ERR 'Authorization Violation'"]);
    assert_eq!(go[1], ["MSG inbox.echo 5 3", "yes"]);
    assert_eq!(go[2], ["MSG inbox.svc.time 5 3", "yes"]);
    assert_eq!(
        go[3],
        [
            "MSG e.feed.news 1 1",
            "MSG news 2 1",
            "MSG secret.a 3 1",
            "a",
            "a",
            "b"
        ]
    );
}

/// Subscribes `sub` to `x.>` and has `publisher` publish until one message
/// arrives or `t` passes; returns what the subscriber got.
fn flows(sub: &mut common::Raw, publisher: &mut common::Raw, t: Duration) -> Vec<String> {
    sub.send(b"SUB x.> 1\r\n");
    assert_eq!(sub.sync(), b"");
    let deadline = Instant::now() + t;
    loop {
        publisher.send(b"PUB x.y 2\r\nhi\r\n");
        assert_eq!(publisher.sync(), b"");
        let got = lines(&sub.read_quiet(Duration::from_millis(100)));
        if !got.is_empty() || Instant::now() > deadline {
            return got;
        }
    }
}

#[test]
fn operator_mode_across_a_cluster_with_nats_server() {
    let w = world(false);
    let (ua, ub) = (KeyPair::new_user(), KeyPair::new_user());
    let a_jwt = user_jwt(&w.a, &ua, None, json!({}), json!({}));
    let a2_jwt = user_jwt(&w.a_signer, &ua, Some(&w.a), json!({}), json!({}));
    let b_jwt = user_jwt(&w.b, &ub, None, json!({}), json!({}));
    let (p1, p2) = (common::free_port(), common::free_port());
    let node = |me: u16, peer: u16| {
        format!(
            "{}cluster {{\n  name: ops\n  listen: 127.0.0.1:{me}\n  routes: [nats://127.0.0.1:{peer}]\n}}\n",
            w.config
        )
    };
    let rn = ServerProc::start(Some(&node(p1, p2)));
    let go = ServerProc::start_bin(&common::reference_bin(), Some(&node(p2, p1)), &[]);
    // Account A on rnatsd hears account A on nats-server, in both
    // directions; account B hears neither.
    let mut sub = login(&rn, &a_jwt, &ua);
    let mut publisher = login(&go, &a2_jwt, &ua);
    assert_eq!(
        flows(&mut sub, &mut publisher, Duration::from_secs(10)),
        ["MSG x.y 1 2", "hi"]
    );
    let mut sub2 = login(&go, &a2_jwt, &ua);
    let mut pub2 = login(&rn, &a_jwt, &ua);
    assert_eq!(
        flows(&mut sub2, &mut pub2, Duration::from_secs(10)),
        ["MSG x.y 1 2", "hi"]
    );
    // (The first subscriber heard the second publisher too.)
    sub.read_quiet(Duration::from_millis(200));
    let mut other = login(&go, &b_jwt, &ub);
    other.send(b"PUB x.y 2\r\nno\r\n");
    assert_eq!(other.sync(), b"");
    assert_eq!(
        lines(&sub.read_quiet(Duration::from_millis(300))),
        Vec::<String>::new()
    );
    let mut other_sub = login(&go, &b_jwt, &ub);
    let mut from_rn = login(&rn, &a_jwt, &ua);
    assert_eq!(
        flows(&mut other_sub, &mut from_rn, Duration::from_millis(500)),
        Vec::<String>::new()
    );
}
