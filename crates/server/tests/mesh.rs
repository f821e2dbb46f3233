//! A mixed full mesh on default configs: rnatsd, nats-server 2.12.4,
//! rnatsd, with two accounts. Between every pair of servers, in both
//! accounts, plain subscribers get each message exactly once, a queue
//! group spread over all three gets each message once, and requests are
//! answered; the accounts stay apart. Then each server is restarted in
//! turn (same ports) and the pairs are checked again.

mod common;
use common::{free_port, reference_212_bin, rnatsd_bin, ServerProc};
use futures::StreamExt;
use std::collections::HashSet;
use std::time::{Duration, Instant};

const ACCOUNTS: [&str; 2] = ["a", "b"];

struct Mesh {
    bins: Vec<String>,
    client_ports: Vec<u16>,
    route_ports: Vec<u16>,
    procs: Vec<Option<ServerProc>>,
}

fn config(i: usize, m: &Mesh) -> String {
    let routes: Vec<String> = m
        .route_ports
        .iter()
        .enumerate()
        .filter(|(j, _)| *j != i)
        .map(|(_, p)| format!("\"nats://127.0.0.1:{p}\""))
        .collect();
    format!(
        "server_name: n{i}\nport: {}\naccounts {{\n  A {{ users: [ {{ user: a, password: a }} ] }}\n  B {{ users: [ {{ user: b, password: b }} ] }}\n}}\ncluster {{\n  name: mesh\n  port: {}\n  routes: [{}]\n}}\n",
        m.client_ports[i],
        m.route_ports[i],
        routes.join(", ")
    )
}

impl Mesh {
    fn start() -> Mesh {
        let mut m = Mesh {
            bins: vec![rnatsd_bin(), reference_212_bin(), rnatsd_bin()],
            client_ports: (0..3).map(|_| free_port()).collect(),
            route_ports: (0..3).map(|_| free_port()).collect(),
            procs: Vec::new(),
        };
        for i in 0..3 {
            let port = m.client_ports[i].to_string();
            let p = ServerProc::start_bin(
                &m.bins[i],
                Some(&config(i, &m)),
                &["-a", "127.0.0.1", "-p", &port],
            );
            m.procs.push(Some(p));
        }
        m
    }

    fn restart(&mut self, i: usize) {
        self.procs[i] = None;
        std::thread::sleep(Duration::from_millis(300));
        let port = self.client_ports[i].to_string();
        let p = ServerProc::start_bin(
            &self.bins[i],
            Some(&config(i, self)),
            &["-a", "127.0.0.1", "-p", &port],
        );
        self.procs[i] = Some(p);
    }

    async fn client(&self, i: usize, acc: &str) -> async_nats::Client {
        async_nats::ConnectOptions::with_user_and_password(acc.into(), acc.into())
            .connect(format!("127.0.0.1:{}", self.client_ports[i]))
            .await
            .unwrap()
    }
}

/// Publishes probes on `subject` from `p` until `sub` sees one (interest
/// has crossed the routes), then returns.
async fn wait_interest(p: &async_nats::Client, sub: &mut async_nats::Subscriber, subject: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        p.publish(subject.to_string(), "probe".into())
            .await
            .unwrap();
        p.flush().await.unwrap();
        if let Ok(Some(m)) = tokio::time::timeout(Duration::from_millis(100), sub.next()).await {
            if &m.payload[..] == b"probe" {
                // Let probes already in flight arrive.
                tokio::time::sleep(Duration::from_millis(100)).await;
                while let Ok(Some(_)) =
                    tokio::time::timeout(Duration::from_millis(50), sub.next()).await
                {
                }
                return;
            }
        }
        assert!(Instant::now() < deadline, "no interest on {subject}");
    }
}

/// Messages with a `m-` payload received on `sub` until it is quiet.
async fn collect(sub: &mut async_nats::Subscriber, quiet: Duration) -> Vec<String> {
    let mut got = Vec::new();
    while let Ok(Some(m)) = tokio::time::timeout(quiet, sub.next()).await {
        let s = String::from_utf8_lossy(&m.payload).into_owned();
        if s.starts_with("m-") {
            got.push(s);
        }
    }
    got
}

/// Every ordered pair of servers, in both accounts: exactly-once plain
/// delivery, isolation of the other account, and request/reply.
async fn check_pairs(m: &Mesh, round: &str) {
    for acc in ACCOUNTS {
        let other = if acc == "a" { "b" } else { "a" };
        for i in 0..3 {
            for j in 0..3 {
                if i == j {
                    continue;
                }
                let what = format!("{round}: account {acc}, n{i} -> n{j}");
                let p = m.client(i, acc).await;
                let s = m.client(j, acc).await;
                let spy = m.client(j, other).await;
                let subject = format!("t.{round}.{i}.{j}");
                let mut sub = s.subscribe(subject.clone()).await.unwrap();
                let mut spied = spy.subscribe(subject.clone()).await.unwrap();
                s.flush().await.unwrap();
                spy.flush().await.unwrap();
                wait_interest(&p, &mut sub, &subject).await;
                for k in 0..50 {
                    p.publish(subject.clone(), format!("m-{k}").into())
                        .await
                        .unwrap();
                }
                p.flush().await.unwrap();
                let got = collect(&mut sub, Duration::from_millis(400)).await;
                let distinct: HashSet<_> = got.iter().collect();
                assert_eq!((got.len(), distinct.len()), (50, 50), "{what}");
                let leaked = collect(&mut spied, Duration::from_millis(50)).await;
                assert!(leaked.is_empty(), "{what}: account {other} saw {leaked:?}");
                // Request/reply from i to a responder on j.
                let svc = format!("svc.{round}.{i}.{j}");
                let mut responder = s.subscribe(svc.clone()).await.unwrap();
                s.flush().await.unwrap();
                let s2 = s.clone();
                let task = tokio::spawn(async move {
                    while let Some(msg) = responder.next().await {
                        if let Some(r) = msg.reply {
                            let _ = s2.publish(r, msg.payload).await;
                            let _ = s2.flush().await;
                        }
                    }
                });
                let deadline = Instant::now() + Duration::from_secs(10);
                let answer = loop {
                    match tokio::time::timeout(
                        Duration::from_secs(2),
                        p.request(svc.clone(), "ping".into()),
                    )
                    .await
                    {
                        Ok(Ok(r)) => break r,
                        _ if Instant::now() < deadline => {
                            tokio::time::sleep(Duration::from_millis(100)).await
                        }
                        other => panic!("{what}: no answer: {other:?}"),
                    }
                };
                assert_eq!(&answer.payload[..], b"ping", "{what}");
                task.abort();
            }
        }
    }
}

/// A queue group with a member on every server: each message published
/// anywhere is handled once.
async fn check_queue(m: &Mesh, round: &str) {
    for acc in ACCOUNTS {
        let subject = format!("work.{round}");
        let mut members = Vec::new();
        let mut clients = Vec::new();
        for i in 0..3 {
            let c = m.client(i, acc).await;
            let sub = c
                .queue_subscribe(subject.clone(), "workers".into())
                .await
                .unwrap();
            c.flush().await.unwrap();
            members.push(sub);
            clients.push(c);
        }
        // Each publisher waits until its server routes to some member.
        let pubs: Vec<_> = futures::future::join_all((0..3).map(|i| m.client(i, acc))).await;
        for p in &pubs {
            let probe_sub = format!("probe.{round}.{acc}");
            let c = m.client(0, acc).await;
            let mut s = c.subscribe(probe_sub.clone()).await.unwrap();
            c.flush().await.unwrap();
            wait_interest(p, &mut s, &probe_sub).await;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        for (i, p) in pubs.iter().enumerate() {
            for k in 0..90 {
                p.publish(subject.clone(), format!("m-{i}-{k}").into())
                    .await
                    .unwrap();
            }
            p.flush().await.unwrap();
        }
        let mut got = Vec::new();
        for s in members.iter_mut() {
            got.extend(collect(s, Duration::from_millis(500)).await);
        }
        let distinct: HashSet<_> = got.iter().collect();
        assert_eq!(
            (got.len(), distinct.len()),
            (270, 270),
            "{round}: account {acc}: queue group"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mixed_mesh_delivers_exactly_once_and_survives_restarts() {
    let mut m = Mesh::start();
    check_pairs(&m, "start").await;
    check_queue(&m, "start").await;
    for i in 0..3 {
        m.restart(i);
        let round = format!("restart{i}");
        check_pairs(&m, &round).await;
        check_queue(&m, &round).await;
    }
}
