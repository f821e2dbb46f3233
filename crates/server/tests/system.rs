//! The system account against nats-server 2.12.4: the `$SYS` requests
//! (server pings and direct requests for every monitoring document, their
//! filters and their error form), the connect, disconnect and statistics
//! events, `/varz system_account`, and the isolation of `$SYS` from other
//! accounts. Replies are compared by shape (key paths) and by the values
//! that are not volatile.

mod common;
use common::{http_json, reference_bin, rnatsd_bin, ServerProc};
use futures::StreamExt;
use serde_json::Value;
use std::collections::BTreeSet;
use std::time::Duration;

const CONF: &str = "accounts {\n  SYS { users: [ { user: sys, password: sys } ] }\n  A { users: [ { user: a, password: a }, { user: p, password: p, permissions: { publish: { allow: [\"x.>\", \"$SYS.REQ.USER.INFO\"] }, subscribe: { allow: [\"_INBOX.>\"], deny: [\"x.y\"] }, allow_responses: { max: 2, expires: \"1m\" } } } ] }\n}\nsystem_account: SYS\nserver_name: S1\n";

fn servers() -> Vec<(&'static str, ServerProc)> {
    [("nats-server", reference_bin()), ("rnatsd", rnatsd_bin())]
        .into_iter()
        .map(|(n, b)| (n, ServerProc::start_bin(&b, Some(CONF), &["-m", "-1"])))
        .collect()
}

async fn connect(srv: &ServerProc, user: &str) -> async_nats::Client {
    async_nats::ConnectOptions::with_user_and_password(user.into(), user.into())
        .connect(srv.url())
        .await
        .unwrap()
}

/// Every key path of a JSON document (array elements as `[]`), to depth 3.
fn paths(v: &Value, prefix: &str, depth: usize, out: &mut BTreeSet<String>) {
    if depth == 0 {
        return;
    }
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let p = format!("{prefix}.{k}");
                out.insert(p.clone());
                paths(x, &p, depth - 1, out);
            }
        }
        Value::Array(a) => {
            for x in a.iter().take(1) {
                paths(x, &format!("{prefix}[]"), depth - 1, out);
            }
        }
        _ => {}
    }
}

fn shape(v: &Value, depth: usize) -> BTreeSet<String> {
    let mut s = BTreeSet::new();
    paths(v, "", depth, &mut s);
    s
}

async fn request(c: &async_nats::Client, subject: &str, body: &str) -> Option<Value> {
    match tokio::time::timeout(
        Duration::from_millis(1500),
        c.request(subject.to_string(), body.to_string().into()),
    )
    .await
    {
        Ok(Ok(m)) => Some(serde_json::from_slice(&m.payload).unwrap()),
        _ => None,
    }
}

#[tokio::test]
async fn server_requests_answer_as_nats_server() {
    let servers = servers();
    // (subject suffix, request body, the depth of keys compared)
    let cases: &[(&str, &str, usize)] = &[
        ("PING", "", 2),
        ("PING.STATSZ", "", 2),
        ("PING.IDZ", "", 2),
        ("PING.VARZ", "", 2),
        ("PING.CONNZ", "", 2),
        ("PING.CONNZ", "{\"subscriptions\":true}", 2),
        ("PING.SUBSZ", "", 2),
        ("PING.ROUTEZ", "", 2),
        ("PING.HEALTHZ", "", 3),
        ("PING.ACCOUNTZ", "", 2),
        ("PING.LEAFZ", "", 2),
        ("PING.GATEWAYZ", "", 2),
        ("PING.VARZ", "{\"server_name\":\"S1\"}", 2),
        ("PING.VARZ", "{\"server_name\":\"S\"}", 2),
        (
            "PING.VARZ",
            "{\"server_name\":\"S\",\"exact_match\":true}",
            2,
        ),
        ("PING.VARZ", "{\"server_name\":\"other\"}", 2),
        ("PING.VARZ", "{\"tags\":[\"x\"]}", 2),
        ("PING.VARZ", "{bad", 2),
        ("<id>.VARZ", "", 2),
        ("<id>.STATSZ", "", 2),
        ("<id>.IDZ", "", 2),
    ];
    let mut answers: Vec<Vec<String>> = Vec::new();
    for (name, srv) in &servers {
        let c = connect(srv, "sys").await;
        let id = http_json(srv.http_port, "/varz")["server_id"]
            .as_str()
            .unwrap()
            .to_string();
        let mut seen = Vec::new();
        for (suffix, body, depth) in cases {
            let subject = format!("$SYS.REQ.SERVER.{}", suffix.replace("<id>", &id));
            let what = format!("{subject} {body}").replace(&id, "<id>");
            match request(&c, &subject, body).await {
                None => seen.push(format!("{what}: no answer")),
                Some(v) => {
                    let mut keys: Vec<String> = shape(&v, *depth).into_iter().collect();
                    // Go's VARZ lists Go-only runtime fields some levels down.
                    keys.retain(|k| !k.starts_with(".data.gomemlimit"));
                    let server_ok = v["server"]["id"] == id.as_str() || v["id"] == id.as_str();
                    seen.push(format!(
                        "{what}: keys {keys:?} server {server_ok} error {}",
                        v["error"]["code"]
                    ));
                    if suffix.ends_with("IDZ") {
                        assert_eq!(v["name"], "S1", "{name}");
                    }
                }
            }
        }
        answers.push(seen);
    }
    for (g, r) in answers[0].iter().zip(&answers[1]) {
        assert_eq!(g, r);
    }
    assert_eq!(answers[0].len(), answers[1].len());
    let all = answers[1].join("\n");
    assert!(all.contains("other\"}: no answer"), "{all}");
    assert!(
        all.contains(
            "{bad: keys [\".error\", \".error.code\", \".error.description\", \".server\""
        ),
        "{all}"
    );
}

#[tokio::test]
async fn varz_names_the_system_account() {
    let mut counts = Vec::new();
    for (name, srv) in servers() {
        let v = http_json(srv.http_port, "/varz");
        assert_eq!(v["system_account"], "SYS", "{name}");
        let acc = http_json(srv.http_port, "/accountz?acc=SYS");
        assert_eq!(acc["account_detail"]["is_system"], true, "{name}");
        // The system account's subscriptions and the imports every other
        // account gets from it, as nats-server counts them.
        let a = http_json(srv.http_port, "/accountz?acc=A");
        // Exports and imports, in no set order on nats-server.
        let listed = |d: &Value, k: &str| {
            let mut l: Vec<String> = d["account_detail"][k]
                .as_array()
                .map(|a| a.iter().map(|x| x.to_string()).collect())
                .unwrap_or_default();
            l.sort();
            l
        };
        counts.push((
            v["subscriptions"].clone(),
            acc["account_detail"]["subscriptions"].clone(),
            a["account_detail"]["subscriptions"].clone(),
            (listed(&acc, "exports"), listed(&acc, "imports")),
            (listed(&a, "exports"), listed(&a, "imports")),
        ));
    }
    assert_eq!(counts[0], counts[1]);
}

#[tokio::test]
async fn other_accounts_reach_their_imports_only() {
    let mut seen = Vec::new();
    let mut seen_perms = Vec::new();
    for (name, srv) in servers() {
        let a = connect(&srv, "a").await;
        let connz = request(&a, "$SYS.REQ.SERVER.PING.CONNZ", "")
            .await
            .expect(name);
        // Its own connection only (the system user is not listed).
        assert_eq!(connz["data"]["num_connections"], 1, "{name}: {connz}");
        assert_eq!(
            connz["data"]["connections"][0]["lang"], "rust",
            "{name}: {connz}"
        );
        let statz = request(&a, "$SYS.REQ.ACCOUNT.PING.STATZ", "")
            .await
            .expect(name);
        assert_eq!(
            statz["data"]["account_statz"][0]["acc"], "A",
            "{name}: {statz}"
        );
        let user = request(&a, "$SYS.REQ.USER.INFO", "").await.expect(name);
        assert_eq!(
            (&user["data"]["user"], &user["data"]["account"]),
            (&Value::from("a"), &Value::from("A")),
            "{name}: {user}"
        );
        // A user with permissions sees them.
        let p = connect(&srv, "p").await;
        let pinfo = request(&p, "$SYS.REQ.USER.INFO", "").await.expect(name);
        seen_perms.push(pinfo["data"].clone());
        // Anything else of the system account: no responders.
        let ping = a.request("$SYS.REQ.SERVER.PING", "".into()).await;
        assert!(
            matches!(ping, Err(ref e) if e.kind() == async_nats::RequestErrorKind::NoResponders),
            "{name}: {ping:?}"
        );
        seen.push((shape(&connz, 2), shape(&statz, 3), shape(&user, 2)));
    }
    assert_eq!(seen[0], seen[1]);
    // (nats-server lists a permission's subjects in no set order.)
    let sort = |mut v: Value| {
        for kind in ["publish", "subscribe"] {
            for list in ["allow", "deny"] {
                if let Some(a) = v["permissions"][kind][list].as_array_mut() {
                    a.sort_by_key(|x| x.as_str().unwrap_or("").to_string());
                }
            }
        }
        v
    };
    assert_eq!(sort(seen_perms[0].clone()), sort(seen_perms[1].clone()));
    assert_eq!(seen_perms[1]["permissions"]["publish"]["allow"][1], "x.>");
}

#[tokio::test]
async fn connect_and_disconnect_events_match_nats_server() {
    let mut shapes = Vec::new();
    for (name, srv) in servers() {
        let sys = connect(&srv, "sys").await;
        let mut connects = sys.subscribe("$SYS.ACCOUNT.*.CONNECT").await.unwrap();
        let mut disconnects = sys.subscribe("$SYS.ACCOUNT.*.DISCONNECT").await.unwrap();
        sys.flush().await.unwrap();
        // Another account cannot see system traffic.
        let a = async_nats::ConnectOptions::with_user_and_password("a".into(), "a".into())
            .name("probe")
            .connect(srv.url())
            .await
            .unwrap();
        let mut spy = a.subscribe("$SYS.>").await.unwrap();
        a.flush().await.unwrap();
        // (nats-server may report the system user's own connection first.)
        let c = loop {
            let c = tokio::time::timeout(Duration::from_secs(3), connects.next())
                .await
                .expect("connect event")
                .unwrap();
            if c.subject.as_str() != "$SYS.ACCOUNT.SYS.CONNECT" {
                break c;
            }
        };
        assert_eq!(c.subject.as_str(), "$SYS.ACCOUNT.A.CONNECT", "{name}");
        let ev: Value = serde_json::from_slice(&c.payload).unwrap();
        assert_eq!(
            ev["type"], "io.nats.server.advisory.v1.client_connect",
            "{name}"
        );
        assert_eq!(ev["client"]["acc"], "A", "{name}");
        assert_eq!(ev["client"]["user"], "a", "{name}");
        assert_eq!(ev["client"]["name"], "probe", "{name}");
        assert_eq!(ev["client"]["lang"], "rust", "{name}");
        let connect_shape = shape(&ev, 3);
        a.publish("x", "hello".into()).await.unwrap();
        a.flush().await.unwrap();
        drop(spy.unsubscribe().await);
        let leaked = tokio::time::timeout(Duration::from_millis(300), spy.next()).await;
        assert!(
            !matches!(leaked, Ok(Some(_))),
            "{name}: account A saw system traffic"
        );
        drop(spy);
        drop(a);
        let d = tokio::time::timeout(Duration::from_secs(3), disconnects.next())
            .await
            .unwrap_or_else(|_| panic!("{name}: no disconnect event"))
            .unwrap();
        let ev: Value = serde_json::from_slice(&d.payload).unwrap();
        assert_eq!(
            ev["type"], "io.nats.server.advisory.v1.client_disconnect",
            "{name}"
        );
        assert_eq!(ev["reason"], "Client Closed", "{name}");
        assert_eq!(ev["sent"]["msgs"], 1, "{name}: {ev}");
        assert_eq!(ev["sent"]["bytes"], 5, "{name}: {ev}");
        shapes.push((connect_shape, shape(&ev, 3)));
    }
    assert_eq!(shapes[0].0, shapes[1].0, "connect event");
    assert_eq!(shapes[0].1, shapes[1].1, "disconnect event");
}

#[tokio::test]
async fn statsz_is_broadcast_as_nats_server() {
    let mut shapes = Vec::new();
    for (name, srv) in servers() {
        let sys = connect(&srv, "sys").await;
        let mut stats = sys.subscribe("$SYS.SERVER.*.STATSZ").await.unwrap();
        sys.flush().await.unwrap();
        let m = tokio::time::timeout(Duration::from_secs(12), stats.next())
            .await
            .expect("statsz")
            .unwrap();
        let v: Value = serde_json::from_slice(&m.payload).unwrap();
        assert_eq!(v["server"]["name"], "S1", "{name}");
        assert!(
            v["statsz"]["connections"].as_u64().unwrap() >= 1,
            "{name}: {v}"
        );
        let mut s = shape(&v, 2);
        s.remove(".statsz.gomemlimit");
        shapes.push(s);
    }
    assert_eq!(shapes[0], shapes[1]);
}

/// A mixed cluster (rnatsd, nats-server 2.12.4, rnatsd): a ping reaches
/// every server and each answers; a connect on one server is seen by a
/// system user on another; a ping from another account gets its own
/// connections from every server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pings_and_events_cross_a_mixed_cluster() {
    let ports: Vec<u16> = (0..3).map(|_| common::free_port()).collect();
    let bins = [rnatsd_bin(), reference_bin(), rnatsd_bin()];
    let procs: Vec<ServerProc> = (0..3)
        .map(|i| {
            let routes = common::mesh_routes(&ports, i);
            let conf = CONF.replace("server_name: S1", &format!("server_name: N{i}"))
                + &format!(
                    "cluster {{ name: sysc, listen: 127.0.0.1:{}, routes: [{}] }}\n",
                    ports[i], routes
                );
            ServerProc::start_bin(&bins[i], Some(&conf), &[])
        })
        .collect();
    let sys = connect(&procs[0], "sys").await;
    let inbox = sys.new_inbox();
    let mut replies = sys.subscribe(inbox.clone()).await.unwrap();
    sys.flush().await.unwrap();
    // Until every server answers (routes and their interest settle).
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let names = loop {
        sys.publish_with_reply("$SYS.REQ.SERVER.PING.IDZ", inbox.clone(), "".into())
            .await
            .unwrap();
        sys.flush().await.unwrap();
        let mut names = BTreeSet::new();
        while let Ok(Some(m)) =
            tokio::time::timeout(Duration::from_millis(500), replies.next()).await
        {
            let v: Value = serde_json::from_slice(&m.payload).unwrap();
            names.insert(v["name"].as_str().unwrap().to_string());
        }
        if names.len() == 3 || std::time::Instant::now() > deadline {
            break names;
        }
    };
    assert_eq!(names.into_iter().collect::<Vec<_>>(), ["N0", "N1", "N2"]);
    // STATSZ from every server, in one round.
    sys.publish_with_reply("$SYS.REQ.SERVER.PING", inbox.clone(), "".into())
        .await
        .unwrap();
    sys.flush().await.unwrap();
    let mut names = BTreeSet::new();
    while let Ok(Some(m)) = tokio::time::timeout(Duration::from_millis(700), replies.next()).await {
        let v: Value = serde_json::from_slice(&m.payload).unwrap();
        assert!(v["statsz"]["start"].is_string(), "{v}");
        names.insert(v["server"]["name"].as_str().unwrap().to_string());
    }
    assert_eq!(names.len(), 3, "{names:?}");
    // A client connecting on N2 (rnatsd) and on N1 (nats-server): N0's
    // system user hears of both.
    let mut connects = sys.subscribe("$SYS.ACCOUNT.A.CONNECT").await.unwrap();
    sys.flush().await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let a2 = connect(&procs[2], "a").await;
    let a1 = connect(&procs[1], "a").await;
    let mut from = BTreeSet::new();
    while from.len() < 2 {
        let m = tokio::time::timeout(Duration::from_secs(5), connects.next())
            .await
            .expect("connect events from the other servers")
            .unwrap();
        let v: Value = serde_json::from_slice(&m.payload).unwrap();
        from.insert(v["server"]["name"].as_str().unwrap().to_string());
    }
    assert_eq!(from.into_iter().collect::<Vec<_>>(), ["N1", "N2"]);
    // Account A asks every server for its connections.
    let inbox = a2.new_inbox();
    let mut answers = a2.subscribe(inbox.clone()).await.unwrap();
    a2.flush().await.unwrap();
    a2.publish_with_reply("$SYS.REQ.SERVER.PING.CONNZ", inbox, "".into())
        .await
        .unwrap();
    a2.flush().await.unwrap();
    let mut total = 0;
    let mut servers = BTreeSet::new();
    while let Ok(Some(m)) = tokio::time::timeout(Duration::from_millis(700), answers.next()).await {
        let v: Value = serde_json::from_slice(&m.payload).unwrap();
        servers.insert(v["server"]["name"].as_str().unwrap().to_string());
        total += v["data"]["num_connections"].as_u64().unwrap();
    }
    assert_eq!(servers.len(), 3, "{servers:?}");
    assert_eq!(total, 2, "A's two connections");
    drop((a1, procs));
}

/// A failed login is reported as nats-server reports it (the server's
/// `CLIENT.AUTH.ERR` and a disconnect in the global account), and a server
/// entering lame duck mode and shutting down says so.
#[tokio::test]
async fn auth_errors_lame_duck_and_shutdown_are_announced() {
    let mut seen = Vec::new();
    for (name, mut srv) in servers() {
        let sys = connect(&srv, "sys").await;
        let mut auth = sys
            .subscribe("$SYS.SERVER.*.CLIENT.AUTH.ERR")
            .await
            .unwrap();
        let mut gone = sys.subscribe("$SYS.SERVER.*.*").await.unwrap();
        sys.flush().await.unwrap();
        let bad = async_nats::ConnectOptions::with_user_and_password("a".into(), "wrong".into())
            .connect(srv.url());
        let _ = tokio::time::timeout(Duration::from_secs(2), bad).await;
        let m = tokio::time::timeout(Duration::from_secs(3), auth.next())
            .await
            .unwrap_or_else(|_| panic!("{name}: no AUTH.ERR"))
            .unwrap();
        let ev: Value = serde_json::from_slice(&m.payload).unwrap();
        assert_eq!(ev["reason"], "Authentication Failure", "{name}: {ev}");
        let auth_shape = shape(&ev, 2);
        // Lame duck, then shutdown.
        let pid = srv.child.id().to_string();
        std::process::Command::new("kill")
            .args(["-USR2", &pid])
            .status()
            .unwrap();
        let mut subjects = Vec::new();
        while let Ok(Some(m)) = tokio::time::timeout(Duration::from_secs(3), gone.next()).await {
            let last = m.subject.as_str().rsplit('.').next().unwrap().to_string();
            if last == "LAMEDUCK" || last == "SHUTDOWN" {
                let v: Value = serde_json::from_slice(&m.payload).unwrap();
                assert_eq!(v["name"], "S1", "{name}: {v}");
                subjects.push(last);
                if subjects.len() == 1 {
                    // Shut down right away.
                    srv.child.kill().ok();
                    let _ = std::process::Command::new("kill")
                        .args(["-TERM", &pid])
                        .status();
                    break;
                }
            }
        }
        let _ = srv.child.wait();
        seen.push((auth_shape, subjects));
    }
    assert_eq!(seen[0], seen[1]);
    assert_eq!(seen[1].1, ["LAMEDUCK"]);
}

/// The server control requests: KICK closes a client, LDM tells a client
/// to move (an INFO with `ldm`), RELOAD reloads; unknown ids get
/// nats-server's errors.
#[tokio::test]
async fn kick_ldm_and_reload_as_nats_server() {
    let mut seen = Vec::new();
    for (name, srv) in servers() {
        let sys = connect(&srv, "sys").await;
        let id = http_json(srv.http_port, "/varz")["server_id"]
            .as_str()
            .unwrap()
            .to_string();
        let mut victim = srv.raw();
        victim.send(
            b"CONNECT {\"verbose\":false,\"protocol\":1,\"user\":\"a\",\"pass\":\"a\"}\r\nPING\r\n",
        );
        let got =
            String::from_utf8_lossy(&victim.read_quiet(Duration::from_millis(300))).into_owned();
        assert!(got.contains("PONG"), "{name}: {got}");
        let connz = http_json(srv.http_port, "/connz?acc=A");
        let cid = connz["connections"][0]["cid"].as_u64().unwrap();
        let mut answers = Vec::new();
        let ask = |what: &str, body: String| {
            let subject = format!("$SYS.REQ.SERVER.{id}.{what}");
            let sys = sys.clone();
            async move { request(&sys, &subject, &body).await }
        };
        let ldm = ask("LDM", format!("{{\"cid\":{cid}}}"))
            .await
            .expect("LDM answer");
        answers.push(shape(&ldm, 2));
        let info =
            String::from_utf8_lossy(&victim.read_quiet(Duration::from_millis(300))).into_owned();
        assert!(info.contains("\"ldm\":true"), "{name}: {info}");
        let kick = ask("KICK", format!("{{\"cid\":{cid}}}"))
            .await
            .expect("KICK answer");
        answers.push(shape(&kick, 2));
        victim.expect_closed();
        let closed = http_json(srv.http_port, &format!("/connz?state=closed&cid={cid}"));
        assert_eq!(
            closed["connections"][0]["reason"], "Kicked",
            "{name}: {closed}"
        );
        let unknown = ask("KICK", "{\"cid\":99999}".into()).await.expect("answer");
        answers.push(shape(&unknown, 2));
        answers.push(BTreeSet::from(
            [unknown["error"]["description"].to_string()],
        ));
        let reload = ask("RELOAD", String::new()).await.expect("RELOAD answer");
        answers.push(shape(&reload, 2));
        seen.push(answers);
    }
    assert_eq!(seen[0], seen[1]);
}
