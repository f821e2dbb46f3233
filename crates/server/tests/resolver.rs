//! The NATS account resolver (`resolver { type: full, dir }`) against
//! nats-server 2.12.4, in operator mode: an account JWT pushed at run time
//! over the system account is stored in `dir` and its users log in without
//! a restart; lookups and lists answer from the store; bad pushes get
//! nats-server's error and change nothing.

mod common;
use common::jwt::{creds, mint};
use common::{reference_bin, rnatsd_bin, scratch, ServerProc};
use futures::StreamExt;
use nkeys::KeyPair;
use serde_json::{json, Value};
use std::time::Duration;

struct World {
    op: KeyPair,
    app_user: KeyPair,
    app_user_jwt: String,
    sys: KeyPair,
    app: KeyPair,
    app_jwt: String,
    sys_creds: String,
    app_creds: String,
    op_jwt: String,
    sys_jwt: String,
}

fn account(op: &KeyPair, key: &KeyPair, name: &str) -> String {
    let limits = json!({"subs": -1, "data": -1, "payload": -1, "imports": -1, "exports": -1,
                        "wildcards": true, "conn": -1, "leaf": -1});
    mint(
        op,
        &key.public_key(),
        name,
        "account",
        json!({"limits": limits}),
        json!({}),
    )
}

fn user(acc: &KeyPair, name: &str) -> String {
    let (jwt, u) = user_jwt(acc, name);
    creds(&jwt, &u)
}

fn user_jwt(acc: &KeyPair, name: &str) -> (String, KeyPair) {
    let u = KeyPair::new_user();
    let jwt = mint(
        acc,
        &u.public_key(),
        name,
        "user",
        json!({"pub": {}, "sub": {}, "subs": -1, "data": -1, "payload": -1}),
        json!({}),
    );
    (jwt, u)
}

fn world() -> World {
    let op = KeyPair::new_operator();
    let sys = KeyPair::new_account();
    let app = KeyPair::new_account();
    let op_jwt = mint(
        &op,
        &op.public_key(),
        "OP",
        "operator",
        json!({"system_account": sys.public_key()}),
        json!({}),
    );
    let (app_user_jwt, app_user) = user_jwt(&app, "appuser");
    World {
        sys_jwt: account(&op, &sys, "SYS"),
        app_jwt: account(&op, &app, "APP"),
        sys_creds: user(&sys, "sysuser"),
        app_creds: creds(&app_user_jwt, &app_user),
        app_user,
        app_user_jwt,
        op_jwt,
        op,
        sys,
        app,
    }
}

/// Starts `bin` with a fresh resolver directory holding the system
/// account's JWT.
fn start(bin: &str, w: &World) -> (ServerProc, std::path::PathBuf) {
    let dir = scratch(&format!("resolver-{}", fastrand_name()));
    std::fs::write(dir.join(format!("{}.jwt", w.sys.public_key())), &w.sys_jwt).unwrap();
    let conf = format!(
        "operator: {}\nsystem_account: {}\nresolver {{\n  type: full\n  dir: \"{}\"\n  allow_delete: false\n  interval: \"2m\"\n  timeout: \"1.9s\"\n}}\n",
        w.op_jwt,
        w.sys.public_key(),
        dir.display()
    );
    (ServerProc::start_bin(bin, Some(&conf), &[]), dir)
}

fn fastrand_name() -> String {
    format!(
        "{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    )
}

async fn connect(srv: &ServerProc, creds: &str) -> Result<async_nats::Client, String> {
    let opts = async_nats::ConnectOptions::with_credentials(creds).map_err(|e| e.to_string())?;
    tokio::time::timeout(
        Duration::from_secs(3),
        opts.retry_on_initial_connect().connect(srv.url()),
    )
    .await
    .map_err(|_| "timed out".to_string())?
    .map_err(|e| e.to_string())
}

async fn request(c: &async_nats::Client, subject: &str, body: &str) -> Vec<u8> {
    let m = tokio::time::timeout(
        Duration::from_secs(3),
        c.request(subject.to_string(), body.to_string().into()),
    )
    .await
    .expect("answer in time")
    .expect("answer");
    m.payload.to_vec()
}

/// Waits until `n` servers answer a ping of system user `sys`; returns
/// the inbox it listens on.
async fn wait_cluster(
    sys: &async_nats::Client,
    n: usize,
) -> (async_nats::Subject, async_nats::Subscriber) {
    let inbox = sys.new_inbox();
    let mut replies = sys.subscribe(inbox.clone()).await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        sys.publish_with_reply("$SYS.REQ.SERVER.PING.IDZ", inbox.clone(), "".into())
            .await
            .unwrap();
        sys.flush().await.unwrap();
        let mut got = 0;
        while let Ok(Some(_)) =
            tokio::time::timeout(Duration::from_millis(400), replies.next()).await
        {
            got += 1;
        }
        if got == n {
            return (inbox.into(), replies);
        }
        assert!(
            std::time::Instant::now() < deadline,
            "cluster not up: {got} of {n}"
        );
    }
}

/// `jwt` with its signature changed.
fn tampered(jwt: &str) -> String {
    let (rest, sig) = jwt.rsplit_once('.').unwrap();
    let flipped = if sig.starts_with('A') { "B" } else { "A" };
    format!("{rest}.{flipped}{}", &sig[1..])
}

/// Drops the volatile `server` block.
fn without_server(mut v: Value) -> Value {
    if let Some(o) = v.as_object_mut() {
        o.remove("server");
    }
    v
}

#[tokio::test]
async fn pushed_accounts_apply_at_once_as_nats_server() {
    let w = world();
    let mut seen = Vec::new();
    for (name, bin) in [("nats-server", reference_bin()), ("rnatsd", rnatsd_bin())] {
        let (srv, dir) = start(&bin, &w);
        // Unknown account: its user cannot log in (quickly refused).
        let opts = async_nats::ConnectOptions::with_credentials(&w.app_creds).unwrap();
        let refused = tokio::time::timeout(Duration::from_secs(3), opts.connect(srv.url())).await;
        assert!(
            !matches!(refused, Ok(Ok(_))),
            "{name}: a user of an unknown account logged in"
        );
        let sys = connect(&srv, &w.sys_creds).await.expect("system user");
        let mut answers = Vec::new();
        // Bad pushes: not a JWT, a JWT of another subject, a user JWT, an
        // account signed by an operator this server does not trust.
        let stranger = KeyPair::new_operator();
        let other = KeyPair::new_account();
        for (subject, body) in [
            ("$SYS.REQ.CLAIMS.UPDATE".to_string(), "garbage".to_string()),
            (
                "$SYS.REQ.CLAIMS.UPDATE".to_string(),
                user(&w.app, "u").lines().nth(1).unwrap().to_string(),
            ),
            ("$SYS.REQ.CLAIMS.UPDATE".to_string(), tampered(&w.app_jwt)),
            (
                format!("$SYS.REQ.ACCOUNT.{}.CLAIMS.UPDATE", w.sys.public_key()),
                w.app_jwt.clone(),
            ),
        ] {
            let v: Value = serde_json::from_slice(&request(&sys, &subject, &body).await).unwrap();
            answers.push(json!({
                "account": v["error"]["account"],
                "data": v["data"]["message"],
                "code": v["error"]["code"],
                "starts": v["error"]["description"].as_str().unwrap_or("").split(" - ").next(),
                "subject": subject.replace(&w.sys.public_key(), "<sys>"),
            }));
        }
        assert!(
            !dir.join(format!("{}.jwt", w.app.public_key())).exists(),
            "{name}: a refused push was stored"
        );
        // An account of an operator this server does not trust: nats-server
        // stores it (its users can never log in); rnatsd refuses it.
        let v: Value = serde_json::from_slice(
            &request(
                &sys,
                "$SYS.REQ.CLAIMS.UPDATE",
                &account(&stranger, &other, "OTHER"),
            )
            .await,
        )
        .unwrap();
        let stored_other = dir.join(format!("{}.jwt", other.public_key())).exists();
        if name == "rnatsd" {
            assert_eq!(v["error"]["code"], 500, "{v}");
            assert!(
                v["error"]["description"]
                    .as_str()
                    .unwrap()
                    .contains("is not trusted"),
                "{v}"
            );
            assert!(!stored_other, "rnatsd stored an untrusted account");
        } else {
            assert_eq!(v["data"]["message"], "jwt updated", "{v}");
            assert!(stored_other);
        }
        // The push.
        let v: Value =
            serde_json::from_slice(&request(&sys, "$SYS.REQ.CLAIMS.UPDATE", &w.app_jwt).await)
                .unwrap();
        answers.push(without_server(v));
        let stored = std::fs::read_to_string(dir.join(format!("{}.jwt", w.app.public_key())))
            .unwrap_or_default();
        assert_eq!(stored.trim(), w.app_jwt, "{name}: stored JWT");
        // Its user logs in now, and messages flow in the new account.
        let app = connect(&srv, &w.app_creds)
            .await
            .expect("user of the pushed account");
        let mut sub = app.subscribe("hello").await.unwrap();
        app.flush().await.unwrap();
        app.publish("hello", "world".into()).await.unwrap();
        let m = tokio::time::timeout(Duration::from_secs(2), sub.next())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(&m.payload[..], b"world", "{name}");
        // Lookup and list answer from the store.
        let jwt = request(
            &sys,
            &format!("$SYS.REQ.ACCOUNT.{}.CLAIMS.LOOKUP", w.app.public_key()),
            "",
        )
        .await;
        assert_eq!(String::from_utf8_lossy(&jwt), w.app_jwt, "{name}: lookup");
        let v: Value =
            serde_json::from_slice(&request(&sys, "$SYS.REQ.CLAIMS.LIST", "").await).unwrap();
        let mut keys: Vec<String> = v["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k.as_str().unwrap().to_string())
            .collect();
        keys.sort();
        let mut want = vec![w.sys.public_key(), w.app.public_key()];
        if name == "nats-server" {
            want.push(other.public_key());
        }
        want.sort();
        assert_eq!(keys, want, "{name}: list");
        answers.push(json!({"listed": keys.contains(&w.app.public_key())}));
        // A revocation pushed later closes the user's live connection.
        let mut raw = srv.raw();
        let nonce = common::jwt::nonce_of(&raw.info);
        raw.send(
            format!(
                "CONNECT {}\r\nPING\r\n",
                json!({"verbose": false, "jwt": w.app_user_jwt,
                       "sig": common::jwt::sign(&w.app_user, &nonce), "protocol": 1})
            )
            .as_bytes(),
        );
        let hello =
            String::from_utf8_lossy(&raw.read_quiet(Duration::from_millis(300))).into_owned();
        assert!(hello.starts_with("PONG"), "{name}: {hello}");
        let limits = json!({"subs": -1, "data": -1, "payload": -1, "imports": -1, "exports": -1,
                            "wildcards": true, "conn": -1, "leaf": -1});
        let revoking = mint(
            &w.op,
            &w.app.public_key(),
            "APP",
            "account",
            json!({"limits": limits, "revocations": {w.app_user.public_key(): common::jwt::now() + 1}}),
            json!({}),
        );
        let v: Value =
            serde_json::from_slice(&request(&sys, "$SYS.REQ.CLAIMS.UPDATE", &revoking).await)
                .unwrap();
        assert_eq!(v["data"]["message"], "jwt updated", "{name}: {v}");
        let bye =
            String::from_utf8_lossy(&raw.read_quiet(Duration::from_millis(1000))).into_owned();
        assert!(
            bye.contains("-ERR 'User Authentication Revoked'"),
            "{name}: {bye}"
        );
        raw.expect_closed();
        // And it cannot log in again.
        let opts = async_nats::ConnectOptions::with_credentials(&w.app_creds).unwrap();
        let again = tokio::time::timeout(Duration::from_secs(3), opts.connect(srv.url())).await;
        assert!(
            !matches!(again, Ok(Ok(_))),
            "{name}: a revoked user logged in"
        );
        seen.push(answers);
        drop(w.op.public_key());
    }
    assert_eq!(seen[0], seen[1]);
}

/// In a mixed cluster (rnatsd, nats-server 2.12.4, rnatsd) an account
/// pushed through one server reaches every server's store, and its users
/// log in anywhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_reaches_every_server_of_a_mixed_cluster() {
    let w = world();
    let ports: Vec<u16> = (0..3).map(|_| common::free_port()).collect();
    let bins = [rnatsd_bin(), reference_bin(), rnatsd_bin()];
    let mut dirs = Vec::new();
    let procs: Vec<ServerProc> = (0..3)
        .map(|i| {
            let dir = scratch(&format!("resolver-c{i}-{}", fastrand_name()));
            std::fs::write(dir.join(format!("{}.jwt", w.sys.public_key())), &w.sys_jwt).unwrap();
            let routes = common::mesh_routes(&ports, i);
            let conf = format!(
                "server_name: R{i}\noperator: {}\nsystem_account: {}\nresolver {{ type: full, dir: \"{}\" }}\ncluster {{ name: rc, listen: 127.0.0.1:{}, routes: [{}] }}\n",
                w.op_jwt,
                w.sys.public_key(),
                dir.display(),
                ports[i],
                routes
            );
            dirs.push(dir);
            ServerProc::start_bin(&bins[i], Some(&conf), &[])
        })
        .collect();
    let sys = connect(&procs[0], &w.sys_creds).await.expect("system user");
    // Until every server answers a ping (the routes are up).
    let (inbox, mut replies) = wait_cluster(&sys, 3).await;
    // One push, answered by every server.
    sys.publish_with_reply(
        "$SYS.REQ.CLAIMS.UPDATE",
        inbox.clone(),
        w.app_jwt.clone().into(),
    )
    .await
    .unwrap();
    sys.flush().await.unwrap();
    let mut updated = 0;
    while let Ok(Some(m)) = tokio::time::timeout(Duration::from_millis(700), replies.next()).await {
        let v: Value = serde_json::from_slice(&m.payload).unwrap();
        assert_eq!(v["data"]["message"], "jwt updated", "{v}");
        updated += 1;
    }
    assert_eq!(updated, 3);
    for (i, dir) in dirs.iter().enumerate() {
        let stored = std::fs::read_to_string(dir.join(format!("{}.jwt", w.app.public_key())))
            .unwrap_or_default();
        assert_eq!(stored.trim(), w.app_jwt, "server {i}");
    }
    for (i, p) in procs.iter().enumerate() {
        let c = connect(p, &w.app_creds).await.expect("login");
        let mut sub = c.subscribe("x").await.unwrap();
        c.publish("x", "y".into()).await.unwrap();
        let got = tokio::time::timeout(Duration::from_secs(3), sub.next()).await;
        assert!(
            matches!(got, Ok(Some(_))),
            "server {i}: the pushed account's user"
        );
    }
}

/// An account's JWT connection limit holds across a cluster (rnatsd and
/// nats-server 2.12.4): once its users hold every allowed connection,
/// spread over both servers, a further login is refused on either.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_connection_limits_hold_across_the_cluster() {
    let w = world();
    let limits = json!({"subs": -1, "data": -1, "payload": -1, "imports": -1, "exports": -1,
                        "wildcards": true, "conn": 2, "leaf": -1});
    let app_jwt = mint(
        &w.op,
        &w.app.public_key(),
        "APP",
        "account",
        json!({"limits": limits}),
        json!({}),
    );
    let ports: Vec<u16> = (0..2).map(|_| common::free_port()).collect();
    let bins = [rnatsd_bin(), reference_bin()];
    let procs: Vec<ServerProc> = (0..2)
        .map(|i| {
            let conf = format!(
                "server_name: L{i}\noperator: {}\nsystem_account: {}\nresolver: MEMORY\nresolver_preload: {{\n  {}: {}\n  {}: {}\n}}\ncluster {{ name: lc, listen: 127.0.0.1:{}, routes: [{}] }}\n",
                w.op_jwt,
                w.sys.public_key(),
                w.sys.public_key(),
                w.sys_jwt,
                w.app.public_key(),
                app_jwt,
                ports[i],
                common::mesh_routes(&ports, i)
            );
            ServerProc::start_bin(&bins[i], Some(&conf), &[])
        })
        .collect();
    // The cluster is up once a system user on one server hears the other.
    let sys = connect(&procs[0], &w.sys_creds).await.expect("system user");
    wait_cluster(&sys, 2).await;
    let login = |i: usize| {
        let url = procs[i].url();
        let creds = w.app_creds.clone();
        async move {
            let opts = async_nats::ConnectOptions::with_credentials(&creds).unwrap();
            tokio::time::timeout(Duration::from_secs(3), opts.connect(url))
                .await
                .ok()
                .and_then(Result::ok)
        }
    };
    let first = login(0).await.expect("first login, on rnatsd");
    let second = login(1).await.expect("second login, on nats-server");
    // Each server has heard of the other's connection.
    tokio::time::sleep(Duration::from_millis(500)).await;
    for i in [0, 1] {
        assert!(
            login(i).await.is_none(),
            "server {i} let a third connection in"
        );
    }
    // One leaves: a login works again.
    drop(second);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let third = login(0).await;
    assert!(third.is_some(), "no login after a connection left");
    drop((first, third, procs));
}

/// Servers that were away when an account was pushed catch up from the
/// others (`$SYS.REQ.CLAIMS.PACK`): an rnatsd from a cluster of rnatsd and
/// nats-server 2.12.4, then a nats-server from it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn late_servers_catch_up_on_pushed_accounts() {
    let w = world();
    let ports: Vec<u16> = (0..4).map(|_| common::free_port()).collect();
    let bins = [rnatsd_bin(), reference_bin(), rnatsd_bin(), reference_bin()];
    let dirs: Vec<std::path::PathBuf> = (0..4)
        .map(|i| {
            let d = scratch(&format!("resolver-late{i}-{}", fastrand_name()));
            std::fs::write(d.join(format!("{}.jwt", w.sys.public_key())), &w.sys_jwt).unwrap();
            d
        })
        .collect();
    let start = |i: usize| {
        let conf = format!(
            "server_name: P{i}\noperator: {}\nsystem_account: {}\nresolver {{ type: full, dir: \"{}\", interval: \"1s\" }}\ncluster {{ name: pc, listen: 127.0.0.1:{}, routes: [{}] }}\n",
            w.op_jwt,
            w.sys.public_key(),
            dirs[i].display(),
            ports[i],
            common::mesh_routes(&ports, i)
        );
        ServerProc::start_bin(&bins[i], Some(&conf), &[])
    };
    let a = start(0);
    let b = start(1);
    let sys = connect(&a, &w.sys_creds).await.expect("system user");
    let (inbox, mut replies) = wait_cluster(&sys, 2).await;
    sys.publish_with_reply("$SYS.REQ.CLAIMS.UPDATE", inbox, w.app_jwt.clone().into())
        .await
        .unwrap();
    sys.flush().await.unwrap();
    for _ in 0..2 {
        let m = tokio::time::timeout(Duration::from_secs(3), replies.next())
            .await
            .expect("update answers")
            .unwrap();
        let v: Value = serde_json::from_slice(&m.payload).unwrap();
        assert_eq!(v["data"]["message"], "jwt updated", "{v}");
    }
    let app_file = format!("{}.jwt", w.app.public_key());
    let mut running = vec![a, b];
    for late in [2, 3] {
        let p = start(late);
        let deadline = std::time::Instant::now() + Duration::from_secs(15);
        while !dirs[late].join(&app_file).exists() {
            assert!(
                std::time::Instant::now() < deadline,
                "server {late} ({}) did not catch up",
                bins[late]
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let c = connect(&p, &w.app_creds).await.expect("login");
        let mut sub = c.subscribe("late").await.unwrap();
        c.publish("late", "x".into()).await.unwrap();
        let got = tokio::time::timeout(Duration::from_secs(3), sub.next()).await;
        assert!(
            matches!(got, Ok(Some(_))),
            "server {late}: the caught-up account"
        );
        running.push(p);
    }
    drop(running);
}

#[tokio::test]
async fn deletes_need_allow_delete_as_nats_server() {
    let w = world();
    let mut seen = Vec::new();
    for bin in [reference_bin(), rnatsd_bin()] {
        let (srv, dir) = start(&bin, &w);
        let sys = connect(&srv, &w.sys_creds).await.expect("system user");
        let pushed: Value =
            serde_json::from_slice(&request(&sys, "$SYS.REQ.CLAIMS.UPDATE", &w.app_jwt).await)
                .unwrap();
        assert_eq!(pushed["data"]["code"], 200);
        let del = mint(
            &w.op,
            &w.op.public_key(),
            "delete",
            "generic",
            json!({"accounts": [w.app.public_key()]}),
            json!({}),
        );
        let v: Value =
            serde_json::from_slice(&request(&sys, "$SYS.REQ.CLAIMS.DELETE", &del).await).unwrap();
        assert!(dir.join(format!("{}.jwt", w.app.public_key())).exists());
        seen.push(
            without_server(v)
                .to_string()
                .replace(&w.op.public_key(), "<op>"),
        );
    }
    assert_eq!(seen[0], seen[1]);
    assert!(
        seen[1].contains("delete must be enabled in server config"),
        "{}",
        seen[1]
    );
}
