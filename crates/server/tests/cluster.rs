//! Clustering: rnatsd nodes meshed with each other and with the reference
//! nats-server, checked with async-nats clients on every node.

mod common;
use common::{free_port, http_json, reference_bin, rnatsd_bin, ServerProc};
use futures::StreamExt;
use std::collections::HashMap;
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Route connections to each other server by default: a pool of three
/// and the system account's pinned one (as nats-server 2.12).
const CONNS: u64 = 4;

/// One server of a test cluster.
struct Node {
    proc: ServerProc,
}

/// Starts `bin` as cluster member `name` listening for routes on `cport`,
/// dialing the route ports in `routes`.
fn node(bin: &str, name: &str, cport: u16, routes: &[u16], extra: &[&str]) -> Node {
    node_with(bin, name, None, cport, routes, extra)
}

/// A cluster member started from a config file (accounts), with `--cluster`
/// and `--routes` flags.
fn node_conf(bin: &str, name: &str, conf: &str, cport: u16, routes: &[u16]) -> Node {
    node_with(bin, name, Some(conf), cport, routes, &[])
}

fn node_with(
    bin: &str,
    name: &str,
    conf: Option<&str>,
    cport: u16,
    routes: &[u16],
    extra: &[&str],
) -> Node {
    let cluster = format!("nats://127.0.0.1:{cport}");
    let routes = routes
        .iter()
        .map(|p| format!("nats://127.0.0.1:{p}"))
        .collect::<Vec<_>>()
        .join(",");
    let mut args = vec!["-n", name, "--cluster", &cluster, "--cluster_name", "T"];
    if !routes.is_empty() {
        args.push("--routes");
        args.push(&routes);
    }
    args.extend_from_slice(extra);
    Node {
        proc: ServerProc::start_bin(bin, conf, &args),
    }
}

async fn connect(n: &Node) -> async_nats::Client {
    async_nats::connect(n.proc.url()).await.expect("connect")
}

/// Once it returns, every command `c` sent before has been processed by
/// its server.
async fn sync(c: &async_nats::Client) {
    c.flush().await.unwrap();
    let _ = c.request("_sync.nobody", "".into()).await;
}

/// Waits until every client's server delivers to every other's: with
/// one-hop routing this needs a direct route between each pair.
async fn wait_mesh(clients: &[async_nats::Client]) {
    let mut tasks = Vec::new();
    let tag = fastrand::u32(..);
    for (i, c) in clients.iter().enumerate() {
        let mut sub = c.subscribe(format!("mesh.{tag}.{i}")).await.unwrap();
        let c2 = c.clone();
        tasks.push(tokio::spawn(async move {
            while let Some(m) = sub.next().await {
                if let Some(r) = m.reply {
                    let _ = c2.publish(r, "ok".into()).await;
                }
            }
        }));
        sync(c).await;
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    for (j, c) in clients.iter().enumerate() {
        for i in 0..clients.len() {
            if i == j {
                continue;
            }
            loop {
                let r = tokio::time::timeout(
                    Duration::from_secs(1),
                    c.request(format!("mesh.{tag}.{i}"), "".into()),
                )
                .await;
                if matches!(r, Ok(Ok(_))) {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "node {j} never reached node {i}'s subscriber"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    for t in tasks {
        t.abort();
    }
}

/// Receives until `want` messages arrived, then a quiet period to catch
/// extras; returns payloads.
async fn collect(sub: &mut async_nats::Subscriber, want: usize) -> Vec<String> {
    let mut got = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while got.len() < want {
        match tokio::time::timeout_at(deadline, sub.next()).await {
            Ok(Some(m)) => got.push(String::from_utf8_lossy(&m.payload).into_owned()),
            _ => break,
        }
    }
    while let Ok(Some(m)) = tokio::time::timeout(Duration::from_millis(300), sub.next()).await {
        got.push(String::from_utf8_lossy(&m.payload).into_owned());
    }
    got
}

/// Pub/sub, wildcards, queue groups and request/reply across every pair of
/// nodes: each plain subscriber gets every message once, each queue group
/// gets every message once in the whole cluster.
async fn check_cluster(clients: &[async_nats::Client]) {
    const K: usize = 20;
    let n = clients.len();
    let mut plain = Vec::new();
    let mut star = Vec::new();
    let mut group = Vec::new();
    for c in clients {
        plain.push(c.subscribe("ev.>").await.unwrap());
        star.push(c.subscribe("ev.*").await.unwrap());
        group.push(c.queue_subscribe("ev.*", "g".into()).await.unwrap());
    }
    // A second group with members on the first node only.
    let mut only_first = clients[0]
        .queue_subscribe("ev.*", "h".into())
        .await
        .unwrap();
    let mut responder = clients[0].subscribe("svc.echo").await.unwrap();
    let rc = clients[0].clone();
    let responder_task = tokio::spawn(async move {
        while let Some(m) = responder.next().await {
            let mut headers = async_nats::HeaderMap::new();
            let seen = m
                .headers
                .as_ref()
                .and_then(|h| h.get("X-Req"))
                .map(|v| v.as_str().to_string())
                .unwrap_or_default();
            headers.insert("X-Seen", seen.as_str());
            let _ = rc
                .publish_with_headers(m.reply.unwrap(), headers, m.payload)
                .await;
        }
    });
    for c in clients {
        sync(c).await;
    }
    wait_mesh(clients).await;
    for (j, c) in clients.iter().enumerate() {
        for k in 0..K {
            c.publish(format!("ev.n{j}"), format!("{j}-{k}").into())
                .await
                .unwrap();
        }
        c.flush().await.unwrap();
    }
    let total = n * K;
    for (i, s) in plain.iter_mut().enumerate() {
        let got = collect(s, total).await;
        assert_eq!(got.len(), total, "plain subscriber on node {i}");
    }
    for (i, s) in star.iter_mut().enumerate() {
        let got = collect(s, total).await;
        assert_eq!(got.len(), total, "wildcard subscriber on node {i}");
    }
    let mut seen: HashMap<String, usize> = HashMap::new();
    for s in group.iter_mut() {
        // Each member receives what it receives; the group total is checked.
        let mut got = Vec::new();
        while let Ok(Some(m)) = tokio::time::timeout(Duration::from_millis(500), s.next()).await {
            got.push(String::from_utf8_lossy(&m.payload).into_owned());
        }
        for p in got {
            *seen.entry(p).or_default() += 1;
        }
    }
    assert_eq!(seen.len(), total, "group g got every message");
    assert!(
        seen.values().all(|&v| v == 1),
        "group g got duplicates: {seen:?}"
    );
    let h = collect(&mut only_first, total).await;
    assert_eq!(h.len(), total, "group h (one node) got each message once");
    // Request/reply with headers from every node.
    for (j, c) in clients.iter().enumerate() {
        let mut headers = async_nats::HeaderMap::new();
        headers.insert("X-Req", format!("from-{j}").as_str());
        let resp = tokio::time::timeout(
            Duration::from_secs(5),
            c.request_with_headers("svc.echo", headers, format!("q{j}").into()),
        )
        .await
        .expect("reply in time")
        .expect("reply");
        assert_eq!(resp.payload, format!("q{j}"));
        let seen = resp.headers.unwrap();
        assert_eq!(seen.get("X-Seen").unwrap().as_str(), format!("from-{j}"));
    }
    // No responders anywhere: the requester hears so at once.
    let err = clients[n - 1]
        .request("svc.nobody", "".into())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), async_nats::RequestErrorKind::NoResponders);
    responder_task.abort();
}

#[tokio::test]
async fn three_rnatsd_nodes() {
    let bin = rnatsd_bin();
    let (pa, pb, pc) = (free_port(), free_port(), free_port());
    let a = node(&bin, "A", pa, &[pb, pc], &[]);
    let b = node(&bin, "B", pb, &[pa, pc], &[]);
    let c = node(&bin, "C", pc, &[pa, pb], &[]);
    let clients = vec![connect(&a).await, connect(&b).await, connect(&c).await];
    check_cluster(&clients).await;
}

#[tokio::test]
async fn mixed_cluster_with_reference_server() {
    // The reference dials rnatsd A; rnatsd B dials the reference; A and B
    // find each other through it.
    let (pa, pg, pb) = (free_port(), free_port(), free_port());
    let a = node(&rnatsd_bin(), "A", pa, &[], &[]);
    let g = node(&reference_bin(), "G", pg, &[pa], &[]);
    let b = node(&rnatsd_bin(), "B", pb, &[pg], &[]);
    let clients = vec![connect(&a).await, connect(&g).await, connect(&b).await];
    check_cluster(&clients).await;
    // And the other way round: rnatsd dials the reference, the reference
    // dials rnatsd.
    let (pa, pg, pb) = (free_port(), free_port(), free_port());
    let g = node(&reference_bin(), "G2", pg, &[], &[]);
    let a = node(&rnatsd_bin(), "A2", pa, &[pg], &[]);
    let b = node(&reference_bin(), "B2", pb, &[pa], &[]);
    let clients = vec![connect(&g).await, connect(&a).await, connect(&b).await];
    check_cluster(&clients).await;
}

#[tokio::test]
async fn gossip_meshes_a_node_given_one_seed() {
    let bin = rnatsd_bin();
    let (pa, pb, pc) = (free_port(), free_port(), free_port());
    let a = node(&bin, "A", pa, &[], &["-m", "-1"]);
    let b = node(&bin, "B", pb, &[pa], &[]);
    let c = node(&bin, "C", pc, &[pa], &["-m", "-1"]);
    let clients = vec![connect(&a).await, connect(&b).await, connect(&c).await];
    // B and C exchange messages directly: routes never forward, so this
    // needs the route C learned of through A.
    wait_mesh(&clients).await;
    // Two servers, each over a pool of three and the system account's
    // pinned connection.
    let routez = http_json(c.proc.http_port, "/routez");
    assert_eq!(routez["num_routes"], 2 * CONNS, "{routez}");
    let mut ids: Vec<bool> = routez["routes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["did_solicit"].as_bool().unwrap())
        .collect();
    ids.sort();
    // C dialed A (configured) and either dialed B or was dialed by it.
    assert!(ids.contains(&true), "{routez}");
    let varz = http_json(a.proc.http_port, "/varz");
    assert_eq!(varz["routes"], 2 * CONNS, "{varz}");
    assert_eq!(varz["remotes"], 2, "{varz}");
    assert_eq!(varz["cluster"]["name"], "T");
    drop((b, c));
}

#[tokio::test]
async fn killed_node_clients_fail_over_and_node_rejoins() {
    let bin = rnatsd_bin();
    let (pa, pb, pc) = (free_port(), free_port(), free_port());
    let a = node(&bin, "A", pa, &[pb, pc], &["-m", "-1"]);
    let b = node(&bin, "B", pb, &[pa, pc], &[]);
    let mut c = node(&bin, "C", pc, &[pa, pb], &[]);
    let c_port = c.proc.port;
    let ca = connect(&a).await;
    let cb = connect(&b).await;
    let cc = connect(&c).await;
    wait_mesh(&[ca.clone(), cb.clone(), cc.clone()]).await;
    // A client on C that knows the other servers.
    let servers: Vec<async_nats::ServerAddr> = [c.proc.url(), a.proc.url(), b.proc.url()]
        .iter()
        .map(|u| u.parse().unwrap())
        .collect();
    let mover = async_nats::ConnectOptions::new()
        .retain_servers_order()
        .connect(servers)
        .await
        .unwrap();
    let mut live = mover.subscribe("live").await.unwrap();
    // A subscriber that does not reconnect elsewhere (async-nats clients
    // learn the other servers from INFO and would move).
    let mut raw_c = c.proc.raw();
    raw_c.send(b"CONNECT {\"verbose\":false}\r\nSUB only.c 1\r\n");
    raw_c.sync();
    sync(&mover).await;
    wait_mesh(&[ca.clone(), cc.clone()]).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        ca.publish("only.c", "x".into()).await.unwrap();
        ca.flush().await.unwrap();
        let got = raw_c.read_quiet(Duration::from_millis(200));
        if got.windows(16).any(|w| w == b"MSG only.c 1 1\r\n") {
            break;
        }
        assert!(Instant::now() < deadline, "C's interest never reached A");
    }
    let routes_before = http_json(a.proc.http_port, "/routez")["num_routes"].clone();
    assert_eq!(routes_before, 2 * CONNS);
    // kill -9 C.
    c.proc.child.kill().unwrap();
    c.proc.child.wait().unwrap();
    // The moving client reconnects to A or B and its subscription resumes.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        ca.publish("live", "after".into()).await.unwrap();
        ca.flush().await.unwrap();
        if let Ok(Some(m)) = tokio::time::timeout(Duration::from_millis(300), live.next()).await {
            assert_eq!(m.payload, "after");
            break;
        }
        assert!(Instant::now() < deadline, "client did not fail over");
    }
    // The dead node's interest is gone: nobody answers on only.c.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = ca.request("only.c", "".into()).await;
        if matches!(r, Err(ref e) if e.kind() == async_nats::RequestErrorKind::NoResponders) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "dead node's interest remained: {r:?} {} {}",
            http_json(a.proc.http_port, "/routez?subs=1"),
            http_json(a.proc.http_port, "/subsz?subs=1")
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    wait_for(|| async { http_json(a.proc.http_port, "/routez")["num_routes"] == CONNS }).await;
    // Restart C on the same ports: it rejoins the mesh.
    let port_arg = c_port.to_string();
    c = node(
        &bin,
        "C",
        pc,
        &[pa, pb],
        &["-p", &port_arg, "-a", "127.0.0.1"],
    );
    let cc2 = connect(&c).await;
    wait_mesh(&[ca.clone(), cb.clone(), cc2]).await;
    wait_for(|| async { http_json(a.proc.http_port, "/routez")["num_routes"] == 2 * CONNS }).await;
    drop(cc);
}

async fn wait_for<F, Fut>(f: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(10);
    while !f().await {
        assert!(Instant::now() < deadline, "condition not met in time");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A TCP relay standing for the network between two nodes; `cut` drops
/// every connection through it and refuses new ones until healed.
struct Relay {
    port: u16,
    cut: Arc<AtomicBool>,
    conns: Arc<Mutex<Vec<TcpStream>>>,
}

impl Relay {
    fn start(to: u16) -> Relay {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let cut = Arc::new(AtomicBool::new(false));
        let conns: Arc<Mutex<Vec<TcpStream>>> = Arc::new(Mutex::new(Vec::new()));
        let (cut2, conns2) = (cut.clone(), conns.clone());
        std::thread::spawn(move || {
            for s in l.incoming() {
                let Ok(s) = s else { break };
                if cut2.load(Ordering::SeqCst) {
                    drop(s);
                    continue;
                }
                let Ok(up) = TcpStream::connect(("127.0.0.1", to)) else {
                    continue;
                };
                conns2.lock().unwrap().push(s.try_clone().unwrap());
                conns2.lock().unwrap().push(up.try_clone().unwrap());
                for (mut from, mut into) in
                    [(s.try_clone().unwrap(), up.try_clone().unwrap()), (up, s)]
                {
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut from, &mut into);
                        let _ = into.shutdown(std::net::Shutdown::Both);
                    });
                }
            }
        });
        Relay { port, cut, conns }
    }

    fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        for c in self.conns.lock().unwrap().drain(..) {
            let _ = c.shutdown(std::net::Shutdown::Both);
        }
    }

    fn heal(&self) {
        self.cut.store(false, Ordering::SeqCst);
    }
}

#[tokio::test]
async fn partition_heals_without_duplicates() {
    let bin = rnatsd_bin();
    let (pa, pb) = (free_port(), free_port());
    let b = node(&bin, "B", pb, &[], &["-m", "-1"]);
    let relay = Relay::start(pb);
    let a = node(&bin, "A", pa, &[relay.port], &[]);
    let ca = connect(&a).await;
    let cb = connect(&b).await;
    let mut on_b = cb.subscribe("p.>").await.unwrap();
    let mut on_a = ca.subscribe("p.>").await.unwrap();
    let mut qb = cb.queue_subscribe("p.q", "w".into()).await.unwrap();
    let mut qa = ca.queue_subscribe("p.q", "w".into()).await.unwrap();
    sync(&ca).await;
    sync(&cb).await;
    wait_mesh(&[ca.clone(), cb.clone()]).await;
    // Partition: the route drops and cannot come back.
    relay.cut();
    wait_for(|| async { http_json(b.proc.http_port, "/routez")["num_routes"] == 0 }).await;
    ca.publish("p.lost", "during".into()).await.unwrap();
    ca.flush().await.unwrap();
    let during = collect(&mut on_b, 1).await;
    assert!(during.is_empty(), "partitioned node got {during:?}");
    let local = collect(&mut on_a, 1).await;
    assert_eq!(local, ["during"]);
    // Heal: the route comes back by itself.
    relay.heal();
    wait_mesh(&[ca.clone(), cb.clone()]).await;
    for i in 0..50 {
        ca.publish("p.x", format!("a{i}").into()).await.unwrap();
        cb.publish("p.x", format!("b{i}").into()).await.unwrap();
        ca.publish("p.q", format!("qa{i}").into()).await.unwrap();
        cb.publish("p.q", format!("qb{i}").into()).await.unwrap();
    }
    ca.flush().await.unwrap();
    cb.flush().await.unwrap();
    for (name, s) in [("A", &mut on_a), ("B", &mut on_b)] {
        let got = collect(s, 200).await;
        assert_eq!(got.len(), 200, "plain subscriber on {name}");
        let mut uniq = got.clone();
        uniq.sort();
        uniq.dedup();
        assert_eq!(uniq.len(), 200, "duplicates on {name}");
    }
    let mut q = collect(&mut qa, 0).await;
    q.extend(collect(&mut qb, 0).await);
    q.sort();
    let n = q.len();
    q.dedup();
    assert_eq!((n, q.len()), (100, 100), "queue group after heal");
}

/// Reads from a raw client until an `INFO` line arrives (`secs` at most).
fn next_info(raw: &mut common::Raw, secs: u64) -> Option<serde_json::Value> {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        let got = raw.read_quiet(Duration::from_millis(100));
        let text = String::from_utf8_lossy(&got).into_owned();
        // The INFO that answers the first PING (connect_info) is not news.
        if let Some(line) = text
            .lines()
            .find(|l| l.starts_with("INFO ") && !l.contains("\"connect_info\":true"))
        {
            return serde_json::from_str(&line[5..]).ok();
        }
    }
    None
}

#[test]
fn connect_urls_follow_cluster_membership_as_nats_server() {
    for (name, bin) in [("nats-server", reference_bin()), ("rnatsd", rnatsd_bin())] {
        for no_advertise in [false, true] {
            let pa = free_port();
            let extra: &[&str] = if no_advertise {
                &["--no_advertise"]
            } else {
                &[]
            };
            let a = node(&bin, "A", pa, &[], extra);
            let mut raw = a.proc.raw();
            raw.send(b"CONNECT {\"verbose\":false,\"protocol\":1}\r\n");
            raw.sync();
            // A member joins: clients that take async INFO hear of it.
            let b = node(&rnatsd_bin(), "B", free_port(), &[pa], &[]);
            let b_url = format!("127.0.0.1:{}", b.proc.port);
            let info = next_info(&mut raw, if no_advertise { 3 } else { 10 });
            if no_advertise {
                assert!(info.is_none(), "{name}: {info:?}");
                continue;
            }
            let info = info.unwrap_or_else(|| panic!("{name}: no async INFO"));
            let urls: Vec<String> = serde_json::from_value(info["connect_urls"].clone()).unwrap();
            assert!(urls.contains(&b_url), "{name}: {urls:?}");
            assert_eq!(
                urls[0],
                format!("127.0.0.1:{}", a.proc.port),
                "{name}: {urls:?}"
            );
            assert_eq!(info["cluster"], "T", "{name}");
            // New clients see the list in their first INFO.
            let fresh = a.proc.raw();
            assert!(fresh.info.contains(&b_url), "{name}: {}", fresh.info);
            // The member leaves: its URL is withdrawn.
            drop(b);
            let info =
                next_info(&mut raw, 10).unwrap_or_else(|| panic!("{name}: no INFO on leave"));
            let urls: Vec<String> = serde_json::from_value(info["connect_urls"].clone()).unwrap();
            assert!(!urls.contains(&b_url), "{name}: {urls:?}");
        }
    }
}

#[tokio::test]
async fn service_import_across_servers() {
    let conf = r#"
accounts {
  SVC { users: [ { user: svc, password: svc } ], exports: [ { service: "svc.>" } ] }
  APP { users: [ { user: app, password: app } ], imports: [ { service: { account: SVC, subject: "svc.>" } } ] }
}
"#;
    // Requester's server, responder's server: rnatsd↔rnatsd, rnatsd↔nats-server
    // both ways.
    for (req_bin, resp_bin) in [
        (rnatsd_bin(), rnatsd_bin()),
        (rnatsd_bin(), reference_bin()),
        (reference_bin(), rnatsd_bin()),
    ] {
        let (p1, p2) = (free_port(), free_port());
        let n1 = node_conf(&req_bin, "R1", conf, p1, &[]);
        let n2 = node_conf(&resp_bin, "R2", conf, p2, &[p1]);
        let app = async_nats::ConnectOptions::with_user_and_password("app".into(), "app".into())
            .connect(n1.proc.url())
            .await
            .unwrap();
        let svc = async_nats::ConnectOptions::with_user_and_password("svc".into(), "svc".into())
            .connect(n2.proc.url())
            .await
            .unwrap();
        let mut sub = svc.subscribe("svc.echo").await.unwrap();
        let svc2 = svc.clone();
        let task = tokio::spawn(async move {
            while let Some(m) = sub.next().await {
                if let Some(r) = m.reply {
                    let _ = svc2.publish(r, m.payload).await;
                }
            }
        });
        sync(&svc).await;
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let r = tokio::time::timeout(
                Duration::from_secs(2),
                app.request("svc.echo", "ping".into()),
            )
            .await;
            if let Ok(Ok(m)) = r {
                assert_eq!(m.payload, "ping");
                break;
            }
            assert!(
                Instant::now() < deadline,
                "no response across servers ({req_bin} -> {resp_bin}): {r:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        task.abort();
    }
}

#[tokio::test]
async fn route_credentials_in_urls_with_nats_server() {
    // Both ends require route credentials; each dials the other with them
    // in the URL. A node with a wrong password stays out.
    let auth = "authorization { user: ruser, password: \"T0p!\" }";
    let start = |bin: &str, name: &str, cport: u16, route: Option<(u16, &str)>| {
        let routes = route
            .map(|(p, pass)| format!("routes: [\"nats-route://ruser:{pass}@127.0.0.1:{p}\"]"))
            .unwrap_or_default();
        let conf = format!(
            "server_name: {name}\nhttp: 127.0.0.1:-1\ncluster {{\n  name: T\n  listen: 127.0.0.1:{cport}\n  {auth}\n  {routes}\n}}\n"
        );
        ServerProc::start_bin(bin, Some(&conf), &[])
    };
    let (pa, pg, px) = (free_port(), free_port(), free_port());
    let a = start(&rnatsd_bin(), "A", pa, None);
    let g = start(&reference_bin(), "G", pg, Some((pa, "T0p%21")));
    let ca = async_nats::connect(a.url()).await.unwrap();
    let cg = async_nats::connect(g.url()).await.unwrap();
    wait_mesh(&[ca.clone(), cg.clone()]).await;
    let x = start(&rnatsd_bin(), "X", px, Some((pa, "wrong")));
    assert!(
        x.wait_log("Authorization Violation", Duration::from_secs(5))
            .is_some()
            || a.wait_log("Authorization Error", Duration::from_secs(1))
                .is_some(),
        "no refusal logged"
    );
    assert_eq!(http_json(a.http_port, "/routez")["num_routes"], CONNS);
    // X registers each attempt on A's INFO until A refuses its CONNECT.
    wait_for(|| async { http_json(x.http_port, "/routez")["num_routes"] == 0 }).await;
    assert_eq!(http_json(a.http_port, "/routez")["num_routes"], CONNS);
}

#[test]
fn routez_and_varz_cluster_shape_match_nats_server() {
    let keys = |v: &serde_json::Value| -> Vec<String> {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    let mut shapes = Vec::new();
    for bin in [reference_bin(), rnatsd_bin()] {
        let (pa, pb) = (free_port(), free_port());
        let peer = node(&rnatsd_bin(), "P", pb, &[], &[]);
        let srv = node(&bin, "S", pa, &[pb], &["-m", "-1"]);
        let deadline = Instant::now() + Duration::from_secs(10);
        let routez = loop {
            let r = http_json(srv.proc.http_port, "/routez?subs=1");
            if r["num_routes"] == CONNS {
                break r;
            }
            assert!(Instant::now() < deadline, "{bin}: no route");
            std::thread::sleep(Duration::from_millis(100));
        };
        let route = &routez["routes"][0];
        assert_eq!(route["did_solicit"], true, "{bin}");
        assert_eq!(route["is_configured"], true, "{bin}");
        assert_eq!(route["port"], pb, "{bin}");
        let varz = http_json(srv.proc.http_port, "/varz");
        assert_eq!(varz["cluster"]["name"], "T", "{bin}");
        assert_eq!(varz["cluster"]["cluster_port"], pa, "{bin}");
        assert_eq!(
            varz["cluster"]["urls"][0],
            format!("127.0.0.1:{pb}"),
            "{bin}"
        );
        assert_eq!(varz["routes"], CONNS, "{bin}");
        assert_eq!(varz["remotes"], 1, "{bin}");
        assert_eq!(varz["cluster"]["pool_size"], 3, "{bin}");
        let mut r = route.clone();
        // Go lists its system account's interest; both list the rest.
        r.as_object_mut().unwrap().remove("subscriptions_list");
        shapes.push((keys(&routez), keys(&r), keys(&varz["cluster"])));
        drop(peer);
    }
    assert_eq!(shapes[0], shapes[1]);
}
