//! Route pooling and pinned accounts as nats-server 2.12 speaks them.
//!
//! Byte for byte: a fake server opens pool connections (each naming the
//! slot its dialer took) and pinned-account connections to rnatsd and to
//! nats-server 2.12.4; both must send each slot the interest of the same
//! accounts, leave the account out on a pinned connection, and refuse bad
//! slots and accounts with the same errors.
//!
//! End to end: pairs of servers (rnatsd and 2.12.4 in every combination,
//! with equal and different pool sizes, and with pooling off on one side)
//! settle on the same number of connections and carry every account.

mod common;
use common::route::FakeRoute;
use common::{free_port, http_json, reference_bin, rnatsd_bin, Raw, ServerProc};
use futures::StreamExt;
use std::time::{Duration, Instant};

const ACCOUNT_NAMES: [&str; 6] = ["A", "B", "C", "D", "E", "F"];

fn accounts_conf() -> String {
    let mut s = String::from("accounts {\n");
    for a in ACCOUNT_NAMES {
        let u = a.to_lowercase();
        s.push_str(&format!(
            "  {a} {{ users: [ {{ user: {u}, password: {u} }} ] }}\n"
        ));
    }
    s.push_str("}\n");
    s
}

const CONNECT: &[u8] = b"CONNECT {\"echo\":true,\"verbose\":false,\"pedantic\":false,\"user\":\"r\",\"pass\":\"p\",\"tls_required\":false,\"headers\":true,\"name\":\"NFAKEPOOL\",\"cluster\":\"T\",\"lnoc\":true}\r\n";

/// The fake dialer's INFO, with `extra` route fields.
fn info(extra: &str) -> Vec<u8> {
    format!("INFO {{\"server_id\":\"NFAKEPOOL\",\"server_name\":\"fakepool\",\"version\":\"2.12.4\",\"proto\":2,\"host\":\"127.0.0.1\",\"port\":1,\"headers\":true,\"max_payload\":1048576,\"cluster\":\"T\",\"lnoc\":true{extra}}}\r\n").into_bytes()
}

/// nats-server 2.12.4 and rnatsd, each with the six accounts, account A
/// pinned and `cluster_extra` in the cluster block.
fn both(cluster_extra: &str) -> Vec<(&'static str, ServerProc, u16)> {
    [("nats-server", reference_bin()), ("rnatsd", rnatsd_bin())]
        .into_iter()
        .map(|(name, bin)| {
            let cport = free_port();
            let conf = format!(
                "cluster {{\n  name: T\n  listen: 127.0.0.1:{cport}\n  authorization {{ user: r, password: p }}\n  {cluster_extra}\n}}\n{}",
                accounts_conf()
            );
            (name, ServerProc::start_bin(&bin, Some(&conf), &[]), cport)
        })
        .collect()
}

/// A client of account `acc` (by its user) subscribed to `s.<acc>`.
fn subscriber(srv: &ServerProc, acc: &str) -> Raw {
    let u = acc.to_lowercase();
    let mut c = srv.raw();
    c.send(
        format!(
            "CONNECT {{\"verbose\":false,\"user\":\"{u}\",\"pass\":\"{u}\"}}\r\nSUB s.{u} 1\r\n"
        )
        .as_bytes(),
    );
    c.sync();
    c
}

/// The lines a fake connection gets once registered, sorted.
fn initial(f: &mut FakeRoute) -> Vec<String> {
    let mut l = f.lines(Duration::from_millis(400));
    l.sort();
    l
}

#[test]
fn pool_slots_and_pinned_accounts_match_nats_server() {
    let servers = both("accounts: [A]");
    let mut results = Vec::new();
    for (name, srv, cport) in &servers {
        let mut clients: Vec<Raw> = ACCOUNT_NAMES.iter().map(|a| subscriber(srv, a)).collect();
        let mut seen = Vec::new();
        // Three pool connections, each announcing the slot it took: each
        // gets the interest of the accounts of its slot.
        let mut pool = Vec::new();
        for idx in 0..3 {
            let mut f = FakeRoute::connect(*cport);
            assert!(
                f.info.contains("\"route_pool_size\":3"),
                "{name}: {}",
                f.info
            );
            assert!(!f.info.contains("route_pool_idx"), "{name}: {}", f.info);
            f.send(CONNECT);
            f.send(&info(&format!(
                ",\"route_pool_size\":3,\"route_pool_idx\":{idx}"
            )));
            seen.push(format!("slot {idx}: {:?}", initial(&mut f)));
            pool.push(f);
        }
        // A second connection for a taken slot is a duplicate.
        let mut dup = FakeRoute::connect(*cport);
        dup.send(CONNECT);
        dup.send(&info(",\"route_pool_size\":3,\"route_pool_idx\":1"));
        let lines = dup.lines(Duration::from_millis(300));
        seen.push(format!("slot 1 again: {lines:?} closed={}", dup.closed()));
        // The pinned account's connection: lines without the account.
        let mut pinned = FakeRoute::connect(*cport);
        pinned.send(CONNECT);
        pinned.send(&info(",\"route_pool_size\":3,\"route_account\":\"A\""));
        seen.push(format!("pinned A: {:?}", initial(&mut pinned)));
        pinned.send(
            b"RS+ out.a\r\nRS+ outq.a qa 2\r\nRMSG s.a 3\r\nfor\r\nRMSG s.a + r.1 qa 2\r\nhi\r\n",
        );
        pinned.lines(Duration::from_millis(200));
        // (The server's first PING to a client may come meanwhile.)
        seen.push(format!(
            "client A got {:?}",
            String::from_utf8_lossy(&clients[0].sync()).replace("PING\r\n", "")
        ));
        clients[0]
            .send(b"PUB out.a 1\r\nx\r\nPUB outq.a r.2 1\r\ny\r\nSUB more.a 5\r\nUNSUB 5\r\n");
        clients[0].sync();
        seen.push(format!(
            "pinned after A's publish: {:?}",
            pinned.lines(Duration::from_millis(300))
        ));
        // Account B's interest travels on its slot's connection.
        let slot_b = seen
            .iter()
            .position(|l| l.contains("RS+ B s.b"))
            .expect("some slot carries B");
        pool[slot_b].send(b"RS+ B out.b\r\n");
        pool[slot_b].lines(Duration::from_millis(200));
        clients[1].send(b"PUB out.b 1\r\nz\r\n");
        clients[1].sync();
        seen.push(format!(
            "slot of B after B's publish: {:?}",
            pool[slot_b].lines(Duration::from_millis(300))
        ));
        results.push((name, seen));
    }
    let (go, rs) = (&results[0].1, &results[1].1);
    for (g, r) in go.iter().zip(rs) {
        assert_eq!(g, r);
    }
    assert_eq!(go.len(), rs.len());
    // The exchange did carry traffic both ways.
    let all = rs.join("\n");
    assert!(all.contains("pinned A: [\"RS+ s.a\"]"), "{all}");
    assert!(all.contains("MSG s.a 1 3"), "{all}");
    assert!(all.contains("\"RMSG out.a 1\""), "{all}");
    assert!(all.contains("\"RMSG B out.b 1\""), "{all}");
}

#[test]
fn route_pool_refusals_match_nats_server() {
    let cases = [
        (
            "a slot past the pool",
            ",\"route_pool_size\":3,\"route_pool_idx\":7",
        ),
        (
            "an account that is not pinned",
            ",\"route_pool_size\":3,\"route_account\":\"B\"",
        ),
        (
            "a pinned account without a pool",
            ",\"route_account\":\"A\"",
        ),
    ];
    let servers = both("accounts: [A]");
    for (what, extra) in cases {
        let mut answers = Vec::new();
        for (name, _, cport) in &servers {
            let mut f = FakeRoute::connect(*cport);
            f.send(CONNECT);
            f.send(&info(extra));
            let lines = f.lines(Duration::from_millis(300));
            assert!(f.closed(), "{name} keeps the connection after {what}");
            answers.push(lines);
        }
        assert_eq!(answers[0], answers[1], "{what}");
        assert_eq!(answers[0].len(), 1, "{what}: {:?}", answers[0]);
        assert!(
            answers[0][0].starts_with("-ERR "),
            "{what}: {:?}",
            answers[0]
        );
    }
}

#[test]
fn pinned_accounts_config_errors_match_nats_server() {
    for (cluster, want) in [
        (
            "pool_size: -1\n  accounts: [A]",
            "pool_size cannot be negative if pinned accounts are specified",
        ),
        (
            "accounts: [A, B, A]",
            "found duplicate account name \"A\" in pinned accounts list [\"A\" \"B\" \"A\" \"$SYS\"]",
        ),
    ] {
        for bin in [reference_bin(), rnatsd_bin()] {
            let dir = common::scratch("pinned-conf");
            let path = dir.join("s.conf");
            std::fs::write(
                &path,
                format!(
                    "cluster {{\n  name: T\n  listen: 127.0.0.1:-1\n  {cluster}\n}}\n{}",
                    accounts_conf()
                ),
            )
            .unwrap();
            let out = std::process::Command::new(&bin)
                .arg("-c")
                .arg(&path)
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&out.stderr).into_owned()
                + &String::from_utf8_lossy(&out.stdout);
            assert!(!out.status.success(), "{bin}: {text}");
            assert!(text.contains(want), "{bin}: {text}");
        }
    }
}

/// One server of a pair: `bin` with `pool` (empty: the default) and
/// pinned `accounts`, dialing the other's route port.
fn pair_conf(i: usize, ports: &[(u16, u16)], pool: &str, pinned: &str) -> String {
    let other = ports[1 - i].1;
    let mut c = format!(
        "server_name: p{i}\nport: {}\n{}cluster {{\n  name: pools\n  listen: 127.0.0.1:{}\n  routes: [\"nats://127.0.0.1:{other}\"]\n",
        ports[i].0,
        accounts_conf(),
        ports[i].1
    );
    if !pool.is_empty() {
        c.push_str(&format!("  pool_size: {pool}\n"));
    }
    if !pinned.is_empty() {
        c.push_str(&format!("  accounts: [{pinned}]\n"));
    }
    c.push_str("}\n");
    c
}

/// Waits until both servers report `want` route connections to one remote,
/// and still do a moment later.
fn settle(procs: &[ServerProc], want: u64, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let counts: Vec<(u64, u64)> = procs
            .iter()
            .map(|p| {
                let v = http_json(p.http_port, "/varz");
                (
                    v["routes"].as_u64().unwrap_or(0),
                    v["remotes"].as_u64().unwrap_or(0),
                )
            })
            .collect();
        if counts.iter().all(|&c| c == (want, 1)) {
            std::thread::sleep(Duration::from_millis(1500));
            let again: Vec<u64> = procs
                .iter()
                .map(|p| {
                    http_json(p.http_port, "/routez")["num_routes"]
                        .as_u64()
                        .unwrap_or(0)
                })
                .collect();
            assert!(
                again.iter().all(|&n| n == want),
                "{what}: {again:?} after settling"
            );
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: (routes, remotes) {counts:?}, want {want}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

async fn client(port: u16, acc: &str) -> async_nats::Client {
    let u = acc.to_lowercase();
    async_nats::ConnectOptions::with_user_and_password(u.clone(), u)
        .connect(format!("127.0.0.1:{port}"))
        .await
        .unwrap()
}

/// In every account, both ways: 20 messages arrive exactly once, and a
/// request is answered.
async fn check_accounts(ports: &[(u16, u16)], what: &str) {
    for acc in ACCOUNT_NAMES {
        for (from, to) in [(0, 1), (1, 0)] {
            let p = client(ports[from].0, acc).await;
            let s = client(ports[to].0, acc).await;
            let subject = format!("pair.{acc}.{from}");
            let mut sub = s.subscribe(subject.clone()).await.unwrap();
            s.flush().await.unwrap();
            // Interest crosses the route.
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                p.publish(subject.clone(), "probe".into()).await.unwrap();
                p.flush().await.unwrap();
                if let Ok(Some(_)) =
                    tokio::time::timeout(Duration::from_millis(100), sub.next()).await
                {
                    break;
                }
                assert!(Instant::now() < deadline, "{what}: no interest in {acc}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            while let Ok(Some(_)) =
                tokio::time::timeout(Duration::from_millis(50), sub.next()).await
            {}
            for n in 0..20 {
                p.publish(subject.clone(), format!("m-{n}").into())
                    .await
                    .unwrap();
            }
            p.flush().await.unwrap();
            let mut got = Vec::new();
            while let Ok(Some(m)) =
                tokio::time::timeout(Duration::from_millis(300), sub.next()).await
            {
                got.push(String::from_utf8_lossy(&m.payload).into_owned());
            }
            let want: Vec<String> = (0..20).map(|n| format!("m-{n}")).collect();
            assert_eq!(got, want, "{what}: account {acc}, {from} -> {to}");
            // Request/reply the other way.
            let mut svc = p.subscribe(format!("svc.{acc}")).await.unwrap();
            p.flush().await.unwrap();
            let responder = p.clone();
            let task = tokio::spawn(async move {
                // A reply can beat the requester's interest across the
                // route: every retry is answered.
                while let Some(m) = svc.next().await {
                    if let Some(r) = m.reply {
                        responder.publish(r, "pong".into()).await.unwrap();
                        responder.flush().await.unwrap();
                    }
                }
            });
            let deadline = Instant::now() + Duration::from_secs(10);
            let reply = loop {
                match tokio::time::timeout(
                    Duration::from_millis(500),
                    s.request(format!("svc.{acc}"), "ping".into()),
                )
                .await
                {
                    Ok(Ok(m)) => break m,
                    _ => assert!(Instant::now() < deadline, "{what}: no reply in {acc}"),
                }
            };
            assert_eq!(&reply.payload[..], b"pong", "{what}");
            task.abort();
        }
    }
}

/// What a pair test runs: its name, the two binaries, their pool sizes,
/// the pinned accounts, and the connections expected per remote.
type PairCase<'a> = (
    &'static str,
    [&'a str; 2],
    [&'static str; 2],
    &'static str,
    u64,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pooled_pairs_settle_and_carry_every_account() {
    let rn = rnatsd_bin();
    let go = reference_bin();
    // (servers, pool sizes, pinned accounts, connections per remote)
    let cases: [PairCase; 5] = [
        ("rnatsd + rnatsd", [&rn, &rn], ["", ""], "C", 5),
        ("rnatsd + nats-server", [&rn, &go], ["", ""], "C", 5),
        (
            "nats-server + rnatsd, pools of 5 and 3",
            [&go, &rn],
            ["5", ""],
            "",
            6,
        ),
        (
            "rnatsd + nats-server, pools of 2 and 4",
            [&rn, &go],
            ["2", "4"],
            "D",
            6,
        ),
        (
            "rnatsd without pooling + nats-server",
            [&rn, &go],
            ["-1", ""],
            "",
            1,
        ),
    ];
    for (what, bins, pools, pinned, want) in cases {
        let ports: Vec<(u16, u16)> = (0..2).map(|_| (free_port(), free_port())).collect();
        let procs: Vec<ServerProc> = (0..2)
            .map(|i| {
                let port = ports[i].0.to_string();
                ServerProc::start_bin(
                    bins[i],
                    Some(&pair_conf(i, &ports, pools[i], pinned)),
                    &["-a", "127.0.0.1", "-p", &port, "-m", "-1"],
                )
            })
            .collect();
        let procs = tokio::task::spawn_blocking(move || {
            settle(&procs, want, what);
            procs
        })
        .await
        .unwrap();
        for p in &procs {
            let routez = http_json(p.http_port, "/routez");
            let pinned_seen: Vec<String> = routez["routes"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|r| r["account"].as_str().map(str::to_string))
                .collect();
            let mut pinned_seen = pinned_seen;
            pinned_seen.sort();
            let mut expect: Vec<String> = Vec::new();
            if want > 1 {
                expect.push("$SYS".into());
                if !pinned.is_empty() {
                    expect.push(pinned.into());
                }
            }
            expect.sort();
            assert_eq!(pinned_seen, expect, "{what}: {routez}");
        }
        check_accounts(&ports, what).await;
        drop(procs);
    }
}

/// A reload that changes `pool_size` makes the routes again with the new
/// pool (on rnatsd as on nats-server), and traffic still flows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reloaded_pool_size_remakes_the_routes() {
    for bin in [reference_bin(), rnatsd_bin()] {
        let ports: Vec<(u16, u16)> = (0..2).map(|_| (free_port(), free_port())).collect();
        let bins = [bin.clone(), rnatsd_bin()];
        let procs: Vec<ServerProc> = (0..2)
            .map(|i| {
                let port = ports[i].0.to_string();
                ServerProc::start_bin(
                    &bins[i],
                    Some(&pair_conf(i, &ports, "", "")),
                    &["-a", "127.0.0.1", "-p", &port, "-m", "-1"],
                )
            })
            .collect();
        let what = format!("{bin} reloading pool_size 5");
        let procs = tokio::task::spawn_blocking(move || {
            settle(&procs, 4, "before the reload");
            std::fs::write(
                procs[0].dir.join("server.conf"),
                pair_conf(0, &ports, "5", ""),
            )
            .unwrap();
            let st = std::process::Command::new("kill")
                .args(["-HUP", &procs[0].child.id().to_string()])
                .status()
                .unwrap();
            assert!(st.success());
            std::thread::sleep(Duration::from_millis(500));
            settle(&procs, 6, "after the reload");
            procs
        })
        .await
        .unwrap();
        // (nats-server 2.12.4's /varz keeps showing the pool size it
        // started with.)
        if bin == rnatsd_bin() {
            assert_eq!(
                http_json(procs[0].http_port, "/varz")["cluster"]["pool_size"],
                5,
                "{what}"
            );
        }
        check_accounts(&[(procs[0].port, 0), (procs[1].port, 0)], &what).await;
    }
}
