//! Leafnodes: a hub and a leaf of either kind (rnatsd, nats-server 2.12.4)
//! with each kind of credentials, checked with async-nats clients on both
//! sides: plain subscribers get each message once, a queue group spread
//! over both sides gets each message once, requests are answered across
//! the link and a request nobody serves gets 503 at once.

mod common;
use common::jwt::{creds, mint};
use common::{free_port, http_json, reference_212_bin, rnatsd_bin, ServerProc};
use futures::StreamExt;
use nkeys::KeyPair;
use serde_json::json;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// How the leaf proves itself to the hub.
#[derive(Clone, Copy, Debug)]
enum Auth {
    /// No authentication anywhere.
    None,
    /// `leafnodes { authorization { user, password } }`, the credentials in
    /// the remote's URL.
    UserPass,
    /// A hub user with an nkey; the remote signs with its seed.
    Nkey,
    /// Operator mode on both sides; the remote has a creds file.
    Creds,
    /// TLS with client certificates verified by the hub.
    Tls,
    /// Over the hub's websocket listener (`ws://` remote).
    Websocket,
    /// Over the hub's websocket listener with TLS (`wss://` remote).
    SecureWebsocket,
}

/// Configs of a hub and a leaf, and how a test client logs in to each.
struct Setup {
    hub: String,
    leaf: String,
    /// Creds text for clients (operator mode).
    client_creds: Option<String>,
    /// User and password for hub clients.
    hub_user: Option<(String, String)>,
}

fn setup(auth: Auth, leaf_port: u16, dir: &std::path::Path) -> Setup {
    let url = format!("127.0.0.1:{leaf_port}");
    match auth {
        Auth::None => Setup {
            hub: format!("server_name: HUB\nleafnodes {{ port: {leaf_port} }}\n"),
            leaf: format!(
                "server_name: LEAF\nleafnodes {{ remotes: [ {{ url: \"nats-leaf://{url}\" }} ] }}\n"
            ),
            client_creds: None,
            hub_user: None,
        },
        Auth::UserPass => Setup {
            hub: format!(
                "server_name: HUB\nleafnodes {{ port: {leaf_port}, authorization {{ user: leafy, password: s3cret }} }}\n"
            ),
            leaf: format!(
                "server_name: LEAF\nleafnodes {{ remotes: [ {{ url: \"nats-leaf://leafy:s3cret@{url}\" }} ] }}\n"
            ),
            client_creds: None,
            hub_user: None,
        },
        Auth::Nkey => {
            let u = KeyPair::new_user();
            let seed = dir.join("leaf.nk");
            std::fs::write(&seed, u.seed().unwrap()).unwrap();
            Setup {
                hub: format!(
                    "server_name: HUB\nleafnodes {{ port: {leaf_port} }}\naccounts {{ APP: {{ users: [ {{ user: app, password: app }}, {{ nkey: {} }} ] }} }}\n",
                    u.public_key()
                ),
                leaf: format!(
                    "server_name: LEAF\nleafnodes {{ remotes: [ {{ url: \"nats-leaf://{url}\", nkey: \"{}\" }} ] }}\n",
                    u.seed().unwrap()
                ),
                client_creds: None,
                hub_user: Some(("app".into(), "app".into())),
            }
        }
        Auth::Websocket => {
            let ws = free_port();
            Setup {
                hub: format!(
                    "server_name: HUB\nleafnodes {{ port: {leaf_port} }}\nwebsocket {{ port: {ws}, no_tls: true }}\n"
                ),
                leaf: format!(
                    "server_name: LEAF\nleafnodes {{ remotes: [ {{ url: \"ws://127.0.0.1:{ws}\" }} ] }}\n"
                ),
                client_creds: None,
                hub_user: None,
            }
        }
        Auth::SecureWebsocket => {
            let ws = free_port();
            let pki = common::pki::make_pki(&format!("leaf-wss-{leaf_port}"));
            let p = |n: &str| pki.path(n);
            Setup {
                hub: format!(
                    "server_name: HUB\nleafnodes {{ port: {leaf_port} }}\nwebsocket {{ port: {ws}, tls {{ cert_file: \"{}\", key_file: \"{}\" }} }}\n",
                    p("server.pem"),
                    p("server-key.pem")
                ),
                leaf: format!(
                    "server_name: LEAF\nleafnodes {{ remotes: [ {{ url: \"wss://127.0.0.1:{ws}\", tls {{ ca_file: \"{}\" }} }} ] }}\n",
                    p("ca.pem")
                ),
                client_creds: None,
                hub_user: None,
            }
        }
        Auth::Tls => {
            let pki = common::pki::make_pki(&format!("leaf-tls-{leaf_port}"));
            let p = |n: &str| pki.path(n);
            Setup {
                hub: format!(
                    "server_name: HUB\nleafnodes {{ port: {leaf_port}, tls {{ cert_file: \"{}\", key_file: \"{}\", ca_file: \"{}\", verify: true }} }}\n",
                    p("server.pem"),
                    p("server-key.pem"),
                    p("ca.pem")
                ),
                leaf: format!(
                    "server_name: LEAF\nleafnodes {{ remotes: [ {{ url: \"tls://{url}\", tls {{ cert_file: \"{}\", key_file: \"{}\", ca_file: \"{}\" }} }} ] }}\n",
                    p("client.pem"),
                    p("client-key.pem"),
                    p("ca.pem")
                ),
                client_creds: None,
                hub_user: None,
            }
        }
        Auth::Creds => creds_setup(leaf_port, dir, -1),
    }
}

/// Operator mode on a hub and a leaf: accounts SYS and APP (APP with
/// `limits.leaf` = `leaf_limit`), the leaf's remote with a creds file.
fn creds_setup(leaf_port: u16, dir: &std::path::Path, leaf_limit: i64) -> Setup {
    let url = format!("127.0.0.1:{leaf_port}");

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
    let limits = json!({"subs": -1, "data": -1, "payload": -1, "imports": -1,
                                "exports": -1, "wildcards": true, "conn": -1, "leaf": leaf_limit});
    let acc = |k: &KeyPair, name: &str| {
        mint(
            &op,
            &k.public_key(),
            name,
            "account",
            json!({"limits": limits}),
            json!({}),
        )
    };
    let user = |name: &str| {
        let u = KeyPair::new_user();
        let jwt = mint(
            &app,
            &u.public_key(),
            name,
            "user",
            json!({"subs": -1, "data": -1, "payload": -1}),
            json!({}),
        );
        creds(&jwt, &u)
    };
    let leaf_creds = dir.join("leaf.creds");
    std::fs::write(&leaf_creds, user("leaf")).unwrap();
    let common = format!(
                "operator: {op_jwt}\nsystem_account: {sys}\nresolver: MEMORY\nresolver_preload: {{\n  {sys}: {}\n  {appk}: {}\n}}\n",
                acc(&sys, "SYS"),
                acc(&app, "APP"),
                sys = sys.public_key(),
                appk = app.public_key(),
            );
    Setup {
                hub: format!("server_name: HUB\n{common}leafnodes {{ port: {leaf_port} }}\n"),
                leaf: format!(
                    "server_name: LEAF\n{common}leafnodes {{ remotes: [ {{ url: \"nats-leaf://{url}\", account: {}, credentials: \"{}\" }} ] }}\n",
                    app.public_key(),
                    leaf_creds.display()
                ),
                client_creds: Some(user("client")),
                hub_user: None,
            }
}

async fn client(
    port: u16,
    creds: &Option<String>,
    user: &Option<(String, String)>,
) -> async_nats::Client {
    let url = format!("nats://127.0.0.1:{port}");
    let opts = match (creds, user) {
        (Some(c), _) => async_nats::ConnectOptions::with_credentials(c).unwrap(),
        (None, Some((u, p))) => {
            async_nats::ConnectOptions::with_user_and_password(u.clone(), p.clone())
        }
        _ => async_nats::ConnectOptions::new(),
    };
    opts.connect(url).await.expect("connect")
}

/// Waits until a request from `from` reaches a responder on `to`'s side.
async fn wait_link(from: &async_nats::Client, to: &async_nats::Client, tag: &str) {
    let subject = format!("probe.{tag}");
    let mut sub = to.subscribe(subject.clone()).await.unwrap();
    let to2 = to.clone();
    let task = tokio::spawn(async move {
        while let Some(m) = sub.next().await {
            if let Some(r) = m.reply {
                let _ = to2.publish(r, "ok".into()).await;
            }
        }
    });
    to.flush().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let r = tokio::time::timeout(
            Duration::from_millis(500),
            from.request(subject.clone(), "".into()),
        )
        .await;
        if matches!(r, Ok(Ok(_))) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the leafnode link never carried {subject} ({})",
            std::thread::current().name().unwrap_or("")
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    task.abort();
}

/// Counts what each subscription got: `(name, payload) → count`.
type Tally = std::sync::Arc<std::sync::Mutex<HashMap<(String, String), u32>>>;

async fn collect(
    c: &async_nats::Client,
    subject: &str,
    queue: Option<&str>,
    name: &str,
    t: &Tally,
) {
    let mut sub = match queue {
        Some(q) => c
            .queue_subscribe(subject.to_string(), q.to_string())
            .await
            .unwrap(),
        None => c.subscribe(subject.to_string()).await.unwrap(),
    };
    let (t, name) = (t.clone(), name.to_string());
    tokio::spawn(async move {
        while let Some(m) = sub.next().await {
            let p = String::from_utf8_lossy(&m.payload).into_owned();
            *t.lock().unwrap().entry((name.clone(), p)).or_default() += 1;
        }
    });
}

/// The delivery checks on one connected hub/leaf pair.
async fn exercise(hub: &async_nats::Client, leaf: &async_nats::Client, label: &str) {
    wait_link(leaf, hub, "l2h").await;
    wait_link(hub, leaf, "h2l").await;
    let t: Tally = Default::default();
    collect(hub, "data.>", None, "hub", &t).await;
    collect(leaf, "data.>", None, "leaf", &t).await;
    collect(hub, "work", Some("g"), "qhub", &t).await;
    collect(leaf, "work", Some("g"), "qleaf", &t).await;
    let mut svc_h = hub.subscribe("svc.hub").await.unwrap();
    let mut svc_l = leaf.subscribe("svc.leaf").await.unwrap();
    let (h2, l2) = (hub.clone(), leaf.clone());
    tokio::spawn(async move {
        while let Some(m) = svc_h.next().await {
            let _ = h2.publish(m.reply.unwrap(), "from-hub".into()).await;
        }
    });
    tokio::spawn(async move {
        while let Some(m) = svc_l.next().await {
            let _ = l2.publish(m.reply.unwrap(), "from-leaf".into()).await;
        }
    });
    hub.flush().await.unwrap();
    leaf.flush().await.unwrap();
    // Interest crosses with the next probes.
    wait_link(leaf, hub, "l2h2").await;
    wait_link(hub, leaf, "h2l2").await;
    const N: usize = 200;
    for i in 0..N {
        hub.publish(format!("data.h.{i}"), format!("h{i}").into())
            .await
            .unwrap();
        leaf.publish(format!("data.l.{i}"), format!("l{i}").into())
            .await
            .unwrap();
        hub.publish("work", format!("wh{i}").into()).await.unwrap();
        leaf.publish("work", format!("wl{i}").into()).await.unwrap();
    }
    hub.flush().await.unwrap();
    leaf.flush().await.unwrap();
    let r = leaf
        .request("svc.hub", "q".into())
        .await
        .expect("leaf → hub request");
    assert_eq!(&r.payload[..], b"from-hub", "{label}");
    let r = hub
        .request("svc.leaf", "q".into())
        .await
        .expect("hub → leaf request");
    assert_eq!(&r.payload[..], b"from-leaf", "{label}");
    for (c, side) in [(leaf, "leaf"), (hub, "hub")] {
        let start = Instant::now();
        let e = c.request("svc.nobody", "q".into()).await.unwrap_err();
        assert_eq!(
            e.kind(),
            async_nats::RequestErrorKind::NoResponders,
            "{label}: {side}"
        );
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "{label}: 503 took {:?}",
            start.elapsed()
        );
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let done = {
            let m = t.lock().unwrap();
            let plain = m.keys().filter(|(n, _)| n == "hub" || n == "leaf").count();
            let queued: u32 = m
                .iter()
                .filter(|((n, _), _)| n.starts_with('q'))
                .map(|(_, c)| *c)
                .sum();
            plain >= 4 * N && queued as usize >= 2 * N
        };
        if done || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let m = t.lock().unwrap().clone();
    for side in ["hub", "leaf"] {
        for from in ["h", "l"] {
            for i in 0..N {
                let got = m.get(&(side.to_string(), format!("{from}{i}"))).copied();
                assert_eq!(got, Some(1), "{label}: {side} got {from}{i} {got:?} times");
            }
        }
    }
    for from in ["wh", "wl"] {
        for i in 0..N {
            let p = format!("{from}{i}");
            let n = m.get(&("qhub".into(), p.clone())).copied().unwrap_or(0)
                + m.get(&("qleaf".into(), p.clone())).copied().unwrap_or(0);
            assert_eq!(n, 1, "{label}: queue group got {p} {n} times");
        }
    }
    // Each side's own queue members are preferred (as nats-server).
    let q_local = |who: &str, from: &str| {
        m.iter()
            .filter(|((n, p), _)| n == who && p.starts_with(from))
            .count()
    };
    assert_eq!(
        q_local("qhub", "wh"),
        N,
        "{label}: hub publishes stay on the hub"
    );
    assert_eq!(
        q_local("qleaf", "wl"),
        N,
        "{label}: leaf publishes stay on the leaf"
    );
}

async fn pair(hub_bin: &str, leaf_bin: &str, auth: Auth) {
    eprintln!("pair: {hub_bin} hub, {leaf_bin} leaf, {auth:?}");
    let label = format!(
        "{} hub, {} leaf, {auth:?}",
        if hub_bin == rnatsd_bin() {
            "rnatsd"
        } else {
            "nats-server"
        },
        if leaf_bin == rnatsd_bin() {
            "rnatsd"
        } else {
            "nats-server"
        },
    );
    let dir = common::scratch(&format!("leaf-{}", free_port()));
    let lport = free_port();
    let s = setup(auth, lport, &dir);
    let hub = ServerProc::start_bin(hub_bin, Some(&s.hub), &[]);
    let leaf = ServerProc::start_bin(leaf_bin, Some(&s.leaf), &[]);
    let hc = client(hub.port, &s.client_creds, &s.hub_user).await;
    let lc = client(leaf.port, &s.client_creds, &None).await;
    let l2 = label.clone();
    let run = tokio::spawn(async move { exercise(&hc, &lc, &l2).await });
    if let Err(e) = run.await {
        for (name, p) in [("hub", &hub), ("leaf", &leaf)] {
            for line in p.drain_log() {
                eprintln!("{name}: {line}");
            }
        }
        panic!("{label}: {e}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pairs_without_auth() {
    let (rn, go) = (rnatsd_bin(), reference_212_bin());
    pair(&rn, &go, Auth::None).await;
    pair(&go, &rn, Auth::None).await;
    pair(&rn, &rn, Auth::None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pairs_with_user_and_password() {
    let (rn, go) = (rnatsd_bin(), reference_212_bin());
    pair(&rn, &go, Auth::UserPass).await;
    pair(&go, &rn, Auth::UserPass).await;
    pair(&rn, &rn, Auth::UserPass).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pairs_with_nkeys() {
    let (rn, go) = (rnatsd_bin(), reference_212_bin());
    pair(&rn, &go, Auth::Nkey).await;
    pair(&go, &rn, Auth::Nkey).await;
    pair(&rn, &rn, Auth::Nkey).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pairs_with_creds_in_operator_mode() {
    let (rn, go) = (rnatsd_bin(), reference_212_bin());
    pair(&rn, &go, Auth::Creds).await;
    pair(&go, &rn, Auth::Creds).await;
    pair(&rn, &rn, Auth::Creds).await;
}

/// `/leafz` and `/varz` on both sides of an rnatsd pair, in nats-server's
/// shape.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leafz_and_varz() {
    let lport = free_port();
    let dir = common::scratch("leafz");
    let s = setup(Auth::None, lport, &dir);
    let hub = ServerProc::start(Some(&format!("{}http_port: -1\n", s.hub)));
    let leaf = ServerProc::start(Some(&format!("{}http_port: -1\n", s.leaf)));
    let hc = client(hub.port, &None, &None).await;
    let lc = client(leaf.port, &None, &None).await;
    let _sub = lc.subscribe("only.on.leaf").await.unwrap();
    lc.flush().await.unwrap();
    wait_link(&hc, &lc, "z").await;
    let z = http_json(hub.http_port, "/leafz?subs=1");
    assert_eq!(z["leafnodes"], 1, "{z}");
    let l = &z["leafs"][0];
    assert_eq!(l["name"], "LEAF", "{z}");
    assert_eq!(l["is_spoke"], false, "{z}");
    assert_eq!(l["account"], "$G", "{z}");
    assert_eq!(l["ip"], "127.0.0.1", "{z}");
    assert_eq!(l["compression"], "off", "{z}");
    let list: Vec<&str> = l["subscriptions_list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(list.contains(&"only.on.leaf"), "{z}");
    let keys: Vec<&String> = l.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "id",
            "name",
            "is_spoke",
            "account",
            "ip",
            "port",
            "rtt",
            "in_msgs",
            "out_msgs",
            "in_bytes",
            "out_bytes",
            "subscriptions",
            "subscriptions_list",
            "compression"
        ],
        "{z}"
    );
    let z = http_json(leaf.http_port, "/leafz");
    assert_eq!(z["leafs"][0]["name"], "HUB", "{z}");
    assert_eq!(z["leafs"][0]["is_spoke"], true, "{z}");
    assert_eq!(z["leafs"][0]["port"], lport, "{z}");
    let v = http_json(hub.http_port, "/varz");
    assert_eq!(v["leafnodes"], 1);
    assert_eq!(
        v["leaf"],
        json!({"host": "0.0.0.0", "port": lport, "auth_timeout": 2, "tls_timeout": 2})
    );
    let v = http_json(leaf.http_port, "/varz");
    assert_eq!(v["leafnodes"], 1);
    assert_eq!(
        v["leaf"],
        json!({"remotes": [{"local_account": "$G", "urls": [format!("127.0.0.1:{lport}")]}]})
    );
}

/// A client of one server of the topology, with what it received.
struct Member {
    name: String,
    client: async_nats::Client,
}

/// Every member subscribes `t.>` and joins queue group `g` on `work`;
/// every member publishes `n` messages of each; each plain subscriber must
/// get each message once and the group each message once.
async fn deliver_exactly_once(members: &[Member], tag: &str, n: usize) {
    let t: Tally = Default::default();
    for m in members {
        collect(&m.client, &format!("t.{tag}.>"), None, &m.name, &t).await;
        collect(
            &m.client,
            &format!("work.{tag}"),
            Some("g"),
            &format!("q-{}", m.name),
            &t,
        )
        .await;
        m.client.flush().await.unwrap();
    }
    // Every member reaches every other member's subscription.
    for a in members {
        for b in members {
            wait_subject(
                &a.client,
                &b.client,
                &format!("{tag}.{}.{}", a.name, b.name),
            )
            .await;
        }
    }
    for m in members {
        for i in 0..n {
            let p = format!("{}-{i}", m.name);
            m.client
                .publish(format!("t.{tag}.{}", m.name), p.clone().into())
                .await
                .unwrap();
            m.client
                .publish(format!("work.{tag}"), p.into())
                .await
                .unwrap();
        }
        m.client.flush().await.unwrap();
    }
    let total = members.len() * n;
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (plain, queued) = {
            let m = t.lock().unwrap();
            let plain: u32 = m
                .iter()
                .filter(|((n, _), _)| !n.starts_with("q-"))
                .map(|(_, c)| *c)
                .sum();
            let queued: u32 = m
                .iter()
                .filter(|((n, _), _)| n.starts_with("q-"))
                .map(|(_, c)| *c)
                .sum();
            (plain as usize, queued as usize)
        };
        if (plain >= total * members.len() && queued >= total) || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let m = t.lock().unwrap().clone();
    for to in members {
        for from in members {
            for i in 0..n {
                let p = format!("{}-{i}", from.name);
                let got = m.get(&(to.name.clone(), p.clone())).copied();
                assert_eq!(got, Some(1), "[{tag}] {} got {p} {got:?} times", to.name);
            }
        }
    }
    for from in members {
        for i in 0..n {
            let p = format!("{}-{i}", from.name);
            let got: u32 = members
                .iter()
                .filter_map(|to| m.get(&(format!("q-{}", to.name), p.clone())))
                .sum();
            assert_eq!(got, 1, "[{tag}] the queue group got {p} {got} times");
        }
    }
}

/// Waits until a request from `from` on a fresh subject reaches `to`.
async fn wait_subject(from: &async_nats::Client, to: &async_nats::Client, tag: &str) {
    wait_link(from, to, tag).await;
}

fn hub_node(i: usize, cports: &[u16], lports: &[u16]) -> String {
    let routes: Vec<String> = cports
        .iter()
        .enumerate()
        .filter(|(j, _)| *j != i)
        .map(|(_, p)| format!("\"nats://127.0.0.1:{p}\""))
        .collect();
    format!(
        "server_name: H{i}\nhttp_port: -1\ncluster {{ name: HUBC, listen: \"127.0.0.1:{}\", routes: [{}] }}\nleafnodes {{ port: {} }}\n",
        cports[i],
        routes.join(", "),
        lports[i]
    )
}

fn leaf_node(j: usize, cports: &[u16], hub_lports: &[u16]) -> String {
    let other = cports[1 - j];
    let urls: Vec<String> = hub_lports
        .iter()
        .map(|p| format!("\"nats-leaf://127.0.0.1:{p}\""))
        .collect();
    format!(
        "server_name: L{j}\nhttp_port: -1\ncluster {{ name: LEAFC, listen: \"127.0.0.1:{}\", routes: [\"nats://127.0.0.1:{other}\"] }}\nleafnodes {{ reconnect: \"1s\", remotes: [ {{ urls: [{}] }} ] }}\n",
        cports[j],
        urls.join(", ")
    )
}

/// A 3-node rnatsd hub cluster and a 2-node leaf cluster (one rnatsd, one
/// nats-server 2.12.4), each leaf with remotes to every hub node: exact
/// delivery from every server to every server. Then the hub node the
/// rnatsd leaf is attached to is killed with SIGKILL: the leaf moves to
/// another hub node, and delivery resumes exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leaf_cluster_on_hub_cluster_survives_kill_9() {
    let hub_cports: Vec<u16> = (0..3).map(|_| free_port()).collect();
    let hub_lports: Vec<u16> = (0..3).map(|_| free_port()).collect();
    let leaf_cports: Vec<u16> = (0..2).map(|_| free_port()).collect();
    let mut hubs: Vec<Option<ServerProc>> = (0..3)
        .map(|i| {
            Some(ServerProc::start(Some(&hub_node(
                i,
                &hub_cports,
                &hub_lports,
            ))))
        })
        .collect();
    let l0 = ServerProc::start(Some(&leaf_node(0, &leaf_cports, &hub_lports)));
    let l1 = ServerProc::start_bin(
        &reference_212_bin(),
        Some(&leaf_node(1, &leaf_cports, &hub_lports)),
        &[],
    );
    let mut members = Vec::new();
    for (i, h) in hubs.iter().enumerate() {
        let h = h.as_ref().unwrap();
        members.push(Member {
            name: format!("H{i}"),
            client: client(h.port, &None, &None).await,
        });
    }
    for (j, l) in [&l0, &l1].into_iter().enumerate() {
        members.push(Member {
            name: format!("L{j}"),
            client: client(l.port, &None, &None).await,
        });
    }
    deliver_exactly_once(&members, "before", 50).await;
    // The hub node the rnatsd leaf is attached to.
    let z = http_json(l0.http_port, "/leafz");
    let port = z["leafs"][0]["port"].as_u64().unwrap() as u16;
    let victim = hub_lports.iter().position(|p| *p == port).unwrap();
    let mut gone = hubs[victim].take().unwrap();
    gone.child.kill().unwrap();
    let _ = gone.child.wait();
    members.retain(|m| m.name != format!("H{victim}"));
    // The leaf reconnects to another hub node.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let z = http_json(l0.http_port, "/leafz");
        let p = z["leafs"][0]["port"].as_u64().unwrap_or(0) as u16;
        if p != 0 && p != port {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the rnatsd leaf did not move: {z}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    deliver_exactly_once(&members, "after", 50).await;
    drop(hubs);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pairs_with_tls_and_verify() {
    let (rn, go) = (rnatsd_bin(), reference_212_bin());
    pair(&rn, &go, Auth::Tls).await;
    pair(&go, &rn, Auth::Tls).await;
    pair(&rn, &rn, Auth::Tls).await;
}

/// JetStream domains across a leafnode link: a hub in domain `hub` and a
/// leaf in domain `leaf`, each with its own JetStream. Clients on either
/// side reach either domain by name (`$JS.<domain>.API`), plain `$JS.API`
/// stays on the client's own server, and messages published on the leaf
/// are stored by a hub stream.
async fn domains(hub_bin: &str, leaf_bin: &str) {
    let label = format!("{hub_bin} hub, {leaf_bin} leaf");
    let lport = free_port();
    let dir = common::scratch(&format!("leaf-js-{lport}"));
    let hub = ServerProc::start_bin(
        hub_bin,
        Some(&format!(
            "server_name: HUB\njetstream {{ store_dir: \"{}\", domain: hub }}\nleafnodes {{ port: {lport} }}\n",
            dir.join("hub").display()
        )),
        &[],
    );
    let leaf = ServerProc::start_bin(
        leaf_bin,
        Some(&format!(
            "server_name: LEAF\njetstream {{ store_dir: \"{}\", domain: leaf }}\nleafnodes {{ remotes: [ {{ url: \"nats-leaf://127.0.0.1:{lport}\" }} ] }}\n",
            dir.join("leaf").display()
        )),
        &[],
    );
    let hc = client(hub.port, &None, &None).await;
    let lc = client(leaf.port, &None, &None).await;
    wait_link(&lc, &hc, "js1").await;
    wait_link(&hc, &lc, "js2").await;
    // The hub's domain from the leaf: a stream there.
    let to_hub = async_nats::jetstream::with_domain(lc.clone(), "hub");
    let deadline = Instant::now() + Duration::from_secs(10);
    let stream = loop {
        match to_hub
            .create_stream(async_nats::jetstream::stream::Config {
                name: "ORDERS".into(),
                subjects: vec!["orders.>".into()],
                ..Default::default()
            })
            .await
        {
            Ok(s) => break s,
            Err(e) => {
                assert!(
                    Instant::now() < deadline,
                    "{label}: create in hub domain: {e}"
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    };
    assert_eq!(stream.cached_info().config.name, "ORDERS", "{label}");
    // The leaf's own domain, by name and by default.
    let own = async_nats::jetstream::with_domain(lc.clone(), "leaf");
    own.create_stream(async_nats::jetstream::stream::Config {
        name: "LOCAL".into(),
        subjects: vec!["local.>".into()],
        ..Default::default()
    })
    .await
    .unwrap_or_else(|e| panic!("{label}: create in leaf domain: {e}"));
    let plain = async_nats::jetstream::new(lc.clone());
    let names: Vec<String> = plain
        .stream_names()
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .map(|n| n.unwrap())
        .collect();
    assert_eq!(
        names,
        ["LOCAL"],
        "{label}: $JS.API on the leaf is the leaf's"
    );
    let hub_js = async_nats::jetstream::new(hc.clone());
    let names: Vec<String> = hub_js
        .stream_names()
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .map(|n| n.unwrap())
        .collect();
    assert_eq!(
        names,
        ["ORDERS"],
        "{label}: $JS.API on the hub is the hub's"
    );
    let names: Vec<String> = async_nats::jetstream::with_domain(hc.clone(), "leaf")
        .stream_names()
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .map(|n| n.unwrap())
        .collect();
    assert_eq!(names, ["LOCAL"], "{label}: the leaf's domain from the hub");
    // Published on the leaf, stored on the hub, with its PubAck.
    for i in 0..10 {
        let ack = to_hub
            .publish(format!("orders.{i}"), "o".into())
            .await
            .unwrap()
            .await
            .unwrap_or_else(|e| panic!("{label}: PubAck: {e}"));
        assert_eq!(ack.stream, "ORDERS", "{label}");
        assert_eq!(ack.domain, "hub", "{label}");
    }
    let mut s = hub_js.get_stream("ORDERS").await.unwrap();
    assert_eq!(s.info().await.unwrap().state.messages, 10, "{label}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jetstream_domains_across_the_link() {
    let (rn, go) = (rnatsd_bin(), reference_212_bin());
    domains(&rn, &go).await;
    domains(&go, &rn).await;
    domains(&rn, &rn).await;
}

/// What a hub of kind `bin` shows of an accepted leafnode: its `/connz`
/// entry, and the client block of the connect advisory.
async fn leaf_as_seen_by(
    bin: &str,
) -> (serde_json::Value, serde_json::Value, Vec<serde_json::Value>) {
    let lport = free_port();
    let hub = ServerProc::start_bin(
        bin,
        Some(&format!(
            "server_name: HUB\nhttp_port: -1\nleafnodes {{ port: {lport} }}\nsystem_account: SYS\naccounts {{\n  APP: {{ users: [ {{ user: leafy, password: leafy }}, {{ user: app, password: app }} ] }}\n  SYS: {{ users: [ {{ user: sys, password: sys }} ] }}\n}}\n"
        )),
        &[],
    );
    let sys = client(hub.port, &None, &Some(("sys".into(), "sys".into()))).await;
    let mut events = sys.subscribe("$SYS.ACCOUNT.APP.CONNECT").await.unwrap();
    sys.flush().await.unwrap();
    let _leaf = ServerProc::start(Some(&format!(
        "server_name: LEAF\nleafnodes {{ remotes: [ {{ url: \"nats-leaf://leafy:leafy@127.0.0.1:{lport}\" }} ] }}\n"
    )));
    let ev = tokio::time::timeout(Duration::from_secs(10), events.next())
        .await
        .expect("a connect advisory")
        .unwrap();
    let ev: serde_json::Value = serde_json::from_slice(&ev.payload).unwrap();
    // The advisory may come a moment before the connection is listed.
    let deadline = Instant::now() + Duration::from_secs(5);
    let leaf = loop {
        let connz = http_json(hub.http_port, "/connz?auth=1");
        let found = connz["connections"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["kind"] == "Leafnode")
            .cloned();
        match found {
            Some(l) => break l,
            None => assert!(Instant::now() < deadline, "no leafnode in /connz: {connz}"),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let mut leafz = Vec::new();
    for subject in ["$SYS.REQ.SERVER.PING.LEAFZ", "$SYS.REQ.ACCOUNT.APP.LEAFZ"] {
        let r = sys.request(subject, "".into()).await.unwrap();
        let v: serde_json::Value = serde_json::from_slice(&r.payload).unwrap();
        leafz.push(v["data"].clone());
    }
    (leaf, ev["client"].clone(), leafz)
}

/// `/connz` lists accepted leafnodes and the connect advisory names them,
/// as nats-server 2.12.4 does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connz_and_advisories_show_leafnodes() {
    let (go_conn, go_ev, go_z) = leaf_as_seen_by(&reference_212_bin()).await;
    let (rn_conn, rn_ev, rn_z) = leaf_as_seen_by(&rnatsd_bin()).await;
    let keys =
        |v: &serde_json::Value| -> Vec<String> { v.as_object().unwrap().keys().cloned().collect() };
    assert_eq!(keys(&rn_conn), keys(&go_conn), "{rn_conn}\n{go_conn}");
    assert_eq!(keys(&rn_ev), keys(&go_ev), "{rn_ev}\n{go_ev}");
    for f in ["kind", "name", "authorized_user", "account", "name_tag"] {
        assert_eq!(rn_conn[f], go_conn[f], "/connz {f}");
    }
    for f in ["acc", "user", "name", "kind", "name_tag"] {
        assert_eq!(rn_ev[f], go_ev[f], "advisory {f}");
    }
    for (rz, gz) in rn_z.iter().zip(&go_z) {
        assert_eq!(keys(rz), keys(gz), "{rz}\n{gz}");
        assert_eq!(rz["leafnodes"], 1, "{rz}");
        assert_eq!(keys(&rz["leafs"][0]), keys(&gz["leafs"][0]), "{rz}\n{gz}");
        assert_eq!(rz["leafs"][0]["account"], "APP", "{rz}");
        assert_eq!(rz["leafs"][0]["name"], gz["leafs"][0]["name"], "{rz}");
    }
    assert_eq!(rn_conn["kind"], "Leafnode");
    assert_eq!(rn_ev["kind"], "Leafnode");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pairs_over_websocket() {
    let (rn, go) = (rnatsd_bin(), reference_212_bin());
    pair(&rn, &go, Auth::Websocket).await;
    pair(&go, &rn, Auth::Websocket).await;
    pair(&rn, &rn, Auth::Websocket).await;
}

/// A leaf of a leaf: A is the hub of B, B the hub of C. Clients of A and
/// C reach each other through B, queue groups prefer their own side.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leafs_of_leafs() {
    let (rn, go) = (rnatsd_bin(), reference_212_bin());
    for (a_bin, b_bin, c_bin) in [(&rn, &go, &rn), (&go, &rn, &go), (&rn, &rn, &rn)] {
        let (pa, pb) = (free_port(), free_port());
        let a = ServerProc::start_bin(
            a_bin,
            Some(&format!("server_name: A\nleafnodes {{ port: {pa} }}\n")),
            &[],
        );
        let _b = ServerProc::start_bin(
            b_bin,
            Some(&format!(
                "server_name: B\nleafnodes {{ port: {pb}, remotes: [ {{ url: \"nats-leaf://127.0.0.1:{pa}\" }} ] }}\n"
            )),
            &[],
        );
        let c = ServerProc::start_bin(
            c_bin,
            Some(&format!(
                "server_name: C\nleafnodes {{ remotes: [ {{ url: \"nats-leaf://127.0.0.1:{pb}\" }} ] }}\n"
            )),
            &[],
        );
        let ac = client(a.port, &None, &None).await;
        let cc = client(c.port, &None, &None).await;
        exercise(&ac, &cc, &format!("A {a_bin}, B {b_bin}, C {c_bin}")).await;
    }
}

/// Waits `t` and returns what `sub` got meanwhile.
async fn drain(sub: &mut async_nats::Subscriber, t: Duration) -> Vec<String> {
    let mut got = Vec::new();
    let deadline = tokio::time::Instant::now() + t;
    while let Ok(Some(m)) = tokio::time::timeout_at(deadline, sub.next()).await {
        got.push(String::from_utf8_lossy(&m.payload).into_owned());
    }
    got
}

/// `deny_imports` and `deny_exports` of a remote hold in both directions,
/// whichever kind the hub and the leaf are.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_deny_lists() {
    let (rn, go) = (rnatsd_bin(), reference_212_bin());
    for (hub_bin, leaf_bin) in [(&rn, &go), (&go, &rn), (&rn, &rn)] {
        let label = format!("{hub_bin} hub, {leaf_bin} leaf");
        let lport = free_port();
        let hub = ServerProc::start_bin(
            hub_bin,
            Some(&format!(
                "server_name: HUB\nleafnodes {{ port: {lport} }}\n"
            )),
            &[],
        );
        let leaf = ServerProc::start_bin(
            leaf_bin,
            Some(&format!(
                "server_name: LEAF\nleafnodes {{ remotes: [ {{ url: \"nats-leaf://127.0.0.1:{lport}\", deny_imports: [\"in.secret\"], deny_exports: [\"out.secret\"] }} ] }}\n"
            )),
            &[],
        );
        let hc = client(hub.port, &None, &None).await;
        let lc = client(leaf.port, &None, &None).await;
        wait_link(&lc, &hc, "d1").await;
        wait_link(&hc, &lc, "d2").await;
        // Leaf to hub: out.secret stays on the leaf, out.open crosses.
        let mut on_hub = hc.subscribe("out.*").await.unwrap();
        // Hub to leaf: in.secret stays on the hub, in.open crosses.
        let mut on_leaf = lc.subscribe("in.*").await.unwrap();
        hc.flush().await.unwrap();
        lc.flush().await.unwrap();
        wait_link(&lc, &hc, "d3").await;
        wait_link(&hc, &lc, "d4").await;
        for i in 0..5 {
            lc.publish("out.secret", format!("s{i}").into())
                .await
                .unwrap();
            lc.publish("out.open", format!("o{i}").into())
                .await
                .unwrap();
            hc.publish("in.secret", format!("s{i}").into())
                .await
                .unwrap();
            hc.publish("in.open", format!("o{i}").into()).await.unwrap();
        }
        lc.flush().await.unwrap();
        hc.flush().await.unwrap();
        let want: Vec<String> = (0..5).map(|i| format!("o{i}")).collect();
        assert_eq!(
            drain(&mut on_hub, Duration::from_millis(700)).await,
            want,
            "{label}: exports"
        );
        assert_eq!(
            drain(&mut on_leaf, Duration::from_millis(700)).await,
            want,
            "{label}: imports"
        );
    }
}

/// A hub that verifies client certificates refuses a leaf without one;
/// its other leaf, with a certificate, is served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_hub_refuses_a_leaf_without_certificate() {
    let lport = free_port();
    let pki = common::pki::make_pki(&format!("leaf-tls-refuse-{lport}"));
    let p = |n: &str| pki.path(n);
    let hub = ServerProc::start(Some(&format!(
        "server_name: HUB\nhttp_port: -1\nleafnodes {{ port: {lport}, tls {{ cert_file: \"{}\", key_file: \"{}\", ca_file: \"{}\", verify: true }} }}\n",
        p("server.pem"),
        p("server-key.pem"),
        p("ca.pem")
    )));
    for bin in [rnatsd_bin(), reference_212_bin()] {
        let _leaf = ServerProc::start_bin(
            &bin,
            Some(&format!(
                "server_name: NOCERT\nleafnodes {{ remotes: [ {{ url: \"tls://127.0.0.1:{lport}\", tls {{ ca_file: \"{}\" }} }} ] }}\n",
                p("ca.pem")
            )),
            &[],
        );
        assert!(
            hub.wait_log("TLS handshake error", Duration::from_secs(10))
                .is_some(),
            "{bin}: no handshake error on the hub"
        );
        let z = http_json(hub.http_port, "/leafz");
        assert_eq!(z["leafnodes"], 0, "{bin}: {z}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pairs_over_secure_websocket() {
    let (rn, go) = (rnatsd_bin(), reference_212_bin());
    pair(&rn, &go, Auth::SecureWebsocket).await;
    pair(&go, &rn, Auth::SecureWebsocket).await;
    pair(&rn, &rn, Auth::SecureWebsocket).await;
}

/// An account JWT's `limits.leaf` caps its leafnode connections, with
/// nats-server's error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_jwt_leaf_limit() {
    for bin in [reference_212_bin(), rnatsd_bin()] {
        let lport = free_port();
        let dir = common::scratch(&format!("leaf-limit-{lport}"));
        let s = creds_setup(lport, &dir, 1);
        let hub = ServerProc::start_bin(&bin, Some(&format!("{}http_port: -1\n", s.hub)), &[]);
        let _l1 = ServerProc::start(Some(&s.leaf.replace("LEAF", "LEAF1")));
        let deadline = Instant::now() + Duration::from_secs(10);
        while http_json(hub.http_port, "/leafz")["leafnodes"] != 1 {
            assert!(
                Instant::now() < deadline,
                "{bin}: the first leaf did not connect"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let _l2 = ServerProc::start(Some(&s.leaf.replace("LEAF", "LEAF2")));
        assert!(
            hub.wait_log(
                "maximum account active connections exceeded",
                Duration::from_secs(10)
            )
            .is_some(),
            "{bin}: the second leaf was not refused"
        );
        assert_eq!(http_json(hub.http_port, "/leafz")["leafnodes"], 1, "{bin}");
    }
}

/// `isolate_leafnode_interest` on a hub: its leafnodes reach the hub's
/// subscribers but not each other's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn isolated_leafnode_interest() {
    for bin in [reference_212_bin(), rnatsd_bin()] {
        let lport = free_port();
        let hub = ServerProc::start_bin(
            &bin,
            Some(&format!(
                "server_name: HUB\nleafnodes {{ port: {lport}, isolate_leafnode_interest: true }}\n"
            )),
            &[],
        );
        let leaf = |n: &str| {
            ServerProc::start(Some(&format!(
                "server_name: {n}\nleafnodes {{ remotes: [ {{ url: \"nats-leaf://127.0.0.1:{lport}\" }} ] }}\n"
            )))
        };
        let (l1, l2) = (leaf("L1"), leaf("L2"));
        let hc = client(hub.port, &None, &None).await;
        let c1 = client(l1.port, &None, &None).await;
        let c2 = client(l2.port, &None, &None).await;
        // The hub's subscribers are reached from both leafs.
        wait_link(&c1, &hc, "iso1").await;
        wait_link(&c2, &hc, "iso2").await;
        // A leaf's subscriber is reached from the hub, not from the other leaf.
        wait_link(&hc, &c1, "iso3").await;
        let mut sub = c1.subscribe("iso.only").await.unwrap();
        let c1b = c1.clone();
        tokio::spawn(async move {
            while let Some(m) = sub.next().await {
                let _ = c1b.publish(m.reply.unwrap(), "here".into()).await;
            }
        });
        c1.flush().await.unwrap();
        wait_link(&hc, &c1, "iso4").await;
        let r = hc.request("iso.only", "".into()).await.unwrap();
        assert_eq!(&r.payload[..], b"here", "{bin}");
        let e = c2.request("iso.only", "".into()).await.unwrap_err();
        assert_eq!(
            e.kind(),
            async_nats::RequestErrorKind::NoResponders,
            "{bin}"
        );
    }
}

/// A remote with `hub: true`: the dialing server is the hub of the link
/// and the accepting one its spoke; delivery is exact both ways.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_marked_hub_reverses_the_roles() {
    let (rn, go) = (rnatsd_bin(), reference_212_bin());
    for (acc_bin, dial_bin) in [(&rn, &go), (&go, &rn), (&rn, &rn)] {
        let lport = free_port();
        let accepting = ServerProc::start_bin(
            acc_bin,
            Some(&format!(
                "server_name: SPOKE\nhttp_port: -1\nleafnodes {{ port: {lport} }}\n"
            )),
            &[],
        );
        let dialing = ServerProc::start_bin(
            dial_bin,
            Some(&format!(
                "server_name: HUBSIDE\nleafnodes {{ remotes: [ {{ url: \"nats-leaf://127.0.0.1:{lport}\", hub: true }} ] }}\n"
            )),
            &[],
        );
        let a = client(accepting.port, &None, &None).await;
        let d = client(dialing.port, &None, &None).await;
        exercise(
            &d,
            &a,
            &format!("{dial_bin} dials with hub: true, {acc_bin} accepts"),
        )
        .await;
        if *acc_bin == rn {
            let z = http_json(accepting.http_port, "/leafz");
            assert_eq!(z["leafs"][0]["is_spoke"], true, "{z}");
        }
    }
}

/// A leafnode bound to an account that imports a service from another
/// account of the hub: requests from the leaf are answered by the
/// exporter's responder, and the replies come back across the link.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_imports_answer_across_the_link() {
    let (rn, go) = (rnatsd_bin(), reference_212_bin());
    for (hub_bin, leaf_bin) in [(&rn, &go), (&go, &rn), (&rn, &rn)] {
        let lport = free_port();
        let hub = ServerProc::start_bin(
            hub_bin,
            Some(&format!(
                "server_name: HUB\nleafnodes {{ port: {lport} }}\naccounts {{\n  A: {{ users: [ {{ user: a, password: a }} ], exports: [ {{ service: \"svc.>\" }} ] }}\n  B: {{ users: [ {{ user: b, password: b }} ], imports: [ {{ service: {{ account: A, subject: \"svc.>\" }} }} ] }}\n}}\n"
            )),
            &[],
        );
        let leaf = ServerProc::start_bin(
            leaf_bin,
            Some(&format!(
                "server_name: LEAF\nleafnodes {{ remotes: [ {{ url: \"nats-leaf://b:b@127.0.0.1:{lport}\" }} ] }}\n"
            )),
            &[],
        );
        let exporter = client(hub.port, &None, &Some(("a".into(), "a".into()))).await;
        let mut sub = exporter.subscribe("svc.>").await.unwrap();
        let e2 = exporter.clone();
        tokio::spawn(async move {
            while let Some(m) = sub.next().await {
                let mut body = b"echo:".to_vec();
                body.extend_from_slice(&m.payload);
                let _ = e2.publish(m.reply.unwrap(), body.into()).await;
            }
        });
        exporter.flush().await.unwrap();
        let lc = client(leaf.port, &None, &None).await;
        let deadline = Instant::now() + Duration::from_secs(15);
        let reply = loop {
            match tokio::time::timeout(
                Duration::from_millis(500),
                lc.request("svc.echo", "hi".into()),
            )
            .await
            {
                Ok(Ok(r)) => break r,
                _ => {
                    assert!(
                        Instant::now() < deadline,
                        "{hub_bin} hub, {leaf_bin} leaf: no answer"
                    );
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        };
        assert_eq!(&reply.payload[..], b"echo:hi");
        for i in 0..20 {
            let r = lc.request("svc.echo", format!("{i}").into()).await.unwrap();
            assert_eq!(r.payload, format!("echo:{i}").into_bytes());
        }
    }
}
