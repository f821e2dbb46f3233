//! The route protocol byte for byte: a fake server talks to the route port
//! of rnatsd and of the reference nats-server with the same bytes, and both
//! must answer alike (nats-server's own system-account interest and its
//! PINGs aside).

mod common;
use common::route::FakeRoute;
use common::{free_port, reference_bin, rnatsd_bin, Raw, ServerProc};
use std::time::Duration;

/// Both servers with a cluster listener `T` protected by user `r`/`p`,
/// plus `extra` config; with their route ports.
fn both(extra: &str) -> Vec<(&'static str, ServerProc, u16)> {
    [("nats-server", reference_bin()), ("rnatsd", rnatsd_bin())]
        .into_iter()
        .map(|(name, bin)| {
            let cport = free_port();
            let conf = format!(
                "cluster {{\n  name: T\n  listen: 127.0.0.1:{cport}\n  authorization {{ user: r, password: p }}\n}}\n{extra}"
            );
            (name, ServerProc::start_bin(&bin, Some(&conf), &[]), cport)
        })
        .collect()
}

const GOOD_CONNECT: &[u8] = b"CONNECT {\"echo\":true,\"verbose\":false,\"pedantic\":false,\"user\":\"r\",\"pass\":\"p\",\"tls_required\":false,\"headers\":true,\"name\":\"NFAKEROUTE\",\"cluster\":\"T\",\"lnoc\":true}\r\n";
const FAKE_INFO: &[u8] = b"INFO {\"server_id\":\"NFAKEROUTE\",\"server_name\":\"fake\",\"version\":\"2.9.10\",\"proto\":2,\"host\":\"127.0.0.1\",\"port\":1,\"headers\":true,\"max_payload\":1048576,\"cluster\":\"T\",\"lnoc\":true}\r\n";

#[test]
fn route_port_refusals_match_nats_server() {
    let cases: [(&str, &[u8]); 4] = [
        (
            "a client on the route port",
            b"CONNECT {\"lang\":\"go\",\"verbose\":false,\"user\":\"r\",\"pass\":\"p\"}\r\n",
        ),
        (
            "a wrong route password",
            b"CONNECT {\"verbose\":false,\"user\":\"r\",\"pass\":\"x\",\"name\":\"NX\",\"cluster\":\"T\"}\r\n",
        ),
        (
            "another cluster's name",
            b"CONNECT {\"verbose\":false,\"user\":\"r\",\"pass\":\"p\",\"name\":\"NX\",\"cluster\":\"Z\"}\r\n",
        ),
        ("anything before CONNECT", b"PING\r\n"),
    ];
    let servers = both("");
    for (what, bytes) in cases {
        let mut answers = Vec::new();
        for (name, _, cport) in &servers {
            let mut f = FakeRoute::connect(*cport);
            assert!(f.info.contains("\"cluster\":\"T\""), "{name}: {}", f.info);
            assert!(
                f.info.contains("\"auth_required\":true"),
                "{name}: {}",
                f.info
            );
            f.send(bytes);
            let lines = f.lines(Duration::from_millis(300));
            assert!(f.closed(), "{name} keeps the connection after {what}");
            answers.push(lines);
        }
        assert_eq!(answers[0], answers[1], "{what}");
        assert_eq!(answers[0].len(), 1, "{what}: {:?}", answers[0]);
    }
}

/// What a local client and the fake route see, for comparison.
fn exchange(cport: u16, client: &mut Raw) -> (Vec<String>, Vec<String>) {
    let mut seen_route = Vec::new();
    let mut seen_client = Vec::new();
    let quiet = Duration::from_millis(300);
    let mut f = FakeRoute::connect(cport);
    f.send(GOOD_CONNECT);
    f.send(FAKE_INFO);
    // The existing interest arrives once the route is registered.
    let mut initial = f.lines(quiet);
    initial.sort();
    seen_route.push(format!("initial: {initial:?}"));
    // A client step, and what the route then sees.
    let mut client_step = |step: &[u8], f: &mut FakeRoute, seen: &mut Vec<String>| {
        client.send(step);
        client.sync();
        seen.push(format!(
            "{} -> {:?}",
            String::from_utf8_lossy(step).trim_end(),
            f.lines(quiet)
        ));
    };
    // Interest changes: 0→1 for plain subjects, every change for queues.
    for step in [
        &b"SUB new.subject 10\r\n"[..],
        b"SUB new.subject 11\r\n",
        b"SUB work q1 12\r\n",
        b"SUB work q1 13\r\n",
        b"UNSUB 13\r\n",
        b"UNSUB 12\r\n",
        b"UNSUB 10\r\n",
        b"UNSUB 11\r\n",
    ] {
        client_step(step, &mut f, &mut seen_route);
    }
    // The remote's interest: client messages go to the route once.
    f.send(b"RS+ $G remote.x\r\nRS+ $G remote.*\r\nRS+ $G rq rqueue 3\r\n");
    f.lines(quiet);
    for step in [
        &b"PUB remote.x 2\r\nhi\r\n"[..],
        b"PUB remote.x in.1 0\r\n\r\n",
        b"HPUB remote.x 12 14\r\nNATS/1.0\r\n\r\nhi\r\n",
        b"PUB rq in.2 2\r\nhi\r\n",
        b"PUB rq 2\r\nhi\r\n",
    ] {
        client_step(step, &mut f, &mut seen_route);
    }
    f.send(b"RS- $G remote.x\r\nRS- $G remote.*\r\nRS- $G rq rqueue\r\n");
    f.lines(quiet);
    client.send(b"PUB remote.x 2\r\nhi\r\n");
    client.sync();
    seen_route.push(format!("after RS- -> {:?}", f.lines(quiet)));
    // Routed messages reach local subscribers; queue groups only when
    // listed, once.
    for step in [
        &b"RMSG $G local.a 2\r\nhi\r\n"[..],
        b"RMSG $G local.a reply.1 2\r\nhi\r\n",
        b"HMSG $G local.a 12 14\r\nNATS/1.0\r\n\r\nhi\r\n",
        b"RMSG $G grp | g1 2\r\nhi\r\n",
        b"RMSG $G grp + reply.2 g1 2\r\nhi\r\n",
        b"RMSG $G grp 2\r\nhi\r\n",
        b"RMSG $G grp | other 2\r\nhi\r\n",
        b"RMSG $G nobody 2\r\nhi\r\n",
    ] {
        f.send(step);
        f.send(b"PING\r\n");
        f.lines(quiet);
        let got = String::from_utf8_lossy(&client.sync())
            .replace("MSG grp 21 ", "MSG grp <g1> ")
            .replace("MSG grp 22 ", "MSG grp <g1> ");
        seen_client.push(format!(
            "{} -> {got:?}",
            String::from_utf8_lossy(step).split("\r\n").next().unwrap()
        ));
    }
    (seen_route, seen_client)
}

#[test]
fn route_protocol_exchange_matches_nats_server() {
    let servers = both("");
    let mut results = Vec::new();
    for (name, srv, cport) in &servers {
        let mut client = srv.raw();
        client.send(b"CONNECT {\"verbose\":false,\"headers\":true}\r\nSUB existing 1\r\nSUB existing.q qq 2\r\nSUB local.* 3\r\nSUB grp g1 21\r\nSUB grp g1 22\r\n");
        client.sync();
        let r = exchange(*cport, &mut client);
        results.push((name, r));
    }
    let (go, rs) = (&results[0].1, &results[1].1);
    for (g, r) in go.0.iter().zip(&rs.0) {
        assert_eq!(g, r, "route side");
    }
    for (g, r) in go.1.iter().zip(&rs.1) {
        assert_eq!(g, r, "client side");
    }
    assert_eq!(go, rs);
    // The exchange did carry traffic.
    assert!(
        rs.0.iter()
            .any(|l| l.contains("RMSG $G rq + in.2 rqueue 2")),
        "{rs:?}"
    );
    assert!(
        rs.1.iter().any(|l| l.contains("MSG local.a 3 reply.1 2")),
        "{rs:?}"
    );
}

#[test]
fn accounts_stay_apart_across_routes() {
    let accounts = "accounts {\n  A { users: [ { user: a, password: a } ] }\n  B { users: [ { user: b, password: b } ] }\n}\n";
    let servers = both(accounts);
    for (name, srv, cport) in &servers {
        let mut a = srv.raw();
        a.send(b"CONNECT {\"verbose\":false,\"user\":\"a\",\"pass\":\"a\"}\r\nSUB shared 1\r\n");
        a.sync();
        let mut b = srv.raw();
        b.send(b"CONNECT {\"verbose\":false,\"user\":\"b\",\"pass\":\"b\"}\r\nSUB shared 1\r\n");
        b.sync();
        let mut f = FakeRoute::connect(*cport);
        f.send(GOOD_CONNECT);
        f.send(FAKE_INFO);
        let mut initial = f.lines(Duration::from_millis(300));
        initial.sort();
        assert_eq!(initial, ["RS+ A shared", "RS+ B shared"], "{name}");
        f.send(b"RMSG A shared 3\r\nfor\r\nRS+ B out\r\n");
        f.lines(Duration::from_millis(200));
        assert_eq!(
            String::from_utf8_lossy(&a.sync()),
            "MSG shared 1 3\r\nfor\r\n",
            "{name}"
        );
        assert_eq!(String::from_utf8_lossy(&b.sync()), "", "{name}");
        a.send(b"PUB out 1\r\nx\r\n");
        a.sync();
        b.send(b"PUB out 1\r\ny\r\n");
        b.sync();
        assert_eq!(
            f.lines(Duration::from_millis(300)),
            ["RMSG B out 1", "y"],
            "{name}"
        );
    }
}

#[test]
fn cluster_advertise_in_route_info_as_nats_server() {
    let mut seen = Vec::new();
    for bin in [reference_bin(), rnatsd_bin()] {
        let cport = free_port();
        let conf = format!(
            "cluster {{\n  name: T\n  listen: 127.0.0.1:{cport}\n  advertise: \"routes.example:7777\"\n}}\n"
        );
        let _srv = ServerProc::start_bin(&bin, Some(&conf), &[]);
        let f = FakeRoute::connect(cport);
        let info: serde_json::Value =
            serde_json::from_str(f.info.trim().strip_prefix("INFO ").unwrap()).unwrap();
        seen.push((
            info["host"].clone(),
            info["port"].clone(),
            info["ip"].clone(),
        ));
    }
    assert_eq!(seen[0], seen[1]);
    assert_eq!(seen[1].2, "nats-route://routes.example:7777/");
}
