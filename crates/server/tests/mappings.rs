//! Subject mappings beyond the byte-for-byte scenarios: weighted and
//! cluster-scoped destinations (random, so compared by counts), and
//! account mappings without global ones.

mod common;
use common::{reference_212_bin, rnatsd_bin, ServerProc};
use std::collections::HashMap;

/// Publishes `n` messages to `subject` and counts, by subject, what a
/// `>` subscriber received.
fn spread(srv: &ServerProc, subject: &str, n: usize, login: &str) -> HashMap<String, usize> {
    let mut sub = srv.raw();
    sub.send(format!("CONNECT {{\"verbose\":false{login}}}\r\nSUB > 1\r\n").as_bytes());
    assert_eq!(sub.sync(), b"");
    let mut p = srv.raw();
    let mut batch = format!("CONNECT {{\"verbose\":false{login}}}\r\n");
    for _ in 0..n {
        batch.push_str(&format!("PUB {subject} 1\r\nx\r\n"));
    }
    p.send(batch.as_bytes());
    assert_eq!(p.sync(), b"");
    let mut counts = HashMap::new();
    let mut got = 0;
    while got < n {
        let line = sub.read_line();
        let Some(rest) = line.strip_prefix("MSG ") else {
            continue;
        };
        *counts
            .entry(rest.split(' ').next().unwrap().to_string())
            .or_insert(0) += 1;
        got += 1;
        let _ = sub.read_line();
    }
    counts
}

#[test]
fn weighted_destinations_split_traffic_as_nats_server() {
    let conf = "mappings {\n  \"work\": [ { destination: \"work.a\", weight: 50% }, { destination: \"work.b\", weight: 30% } ]\n}\n";
    for bin in [reference_212_bin(), rnatsd_bin()] {
        let srv = ServerProc::start_bin(&bin, Some(conf), &[]);
        let c = spread(&srv, "work", 1000, "");
        let (a, b, rest) = (c["work.a"], c["work.b"], c["work"]);
        assert_eq!(a + b + rest, 1000, "{bin}: {c:?}");
        // 50% / 30% / the remaining 20% keep the original subject.
        assert!((420..580).contains(&a), "{bin}: {c:?}");
        assert!((230..370).contains(&b), "{bin}: {c:?}");
        assert!((140..260).contains(&rest), "{bin}: {c:?}");
    }
}

#[test]
fn cluster_scoped_destinations_as_nats_server() {
    for (cluster, want) in [("east", "orders.east"), ("west", "orders.any")] {
        let conf = format!(
            "cluster {{ name: {cluster}, port: -1 }}\nmappings {{\n  \"orders\": [ {{ destination: \"orders.any\", weight: 100% }}, {{ destination: \"orders.east\", weight: 100%, cluster: east }} ]\n}}\n"
        );
        for bin in [reference_212_bin(), rnatsd_bin()] {
            let srv = ServerProc::start_bin(&bin, Some(&conf), &[]);
            let c = spread(&srv, "orders", 20, "");
            assert_eq!(c.get(want), Some(&20), "{bin} in {cluster}: {c:?}");
        }
    }
}

/// An account's own mappings apply whether or not the global account has
/// any. (nats-server 2.12.4 only applies them while the global account
/// has mappings too: it checks the account a connection started in.)
#[test]
fn account_mappings_apply_without_global_ones() {
    let conf =
        "accounts { A { users [{user: a, password: a}], mappings { \"req\": \"svc.req\" } } }\n";
    let srv = ServerProc::start(Some(conf));
    let c = spread(&srv, "req", 10, ",\"user\":\"a\",\"pass\":\"a\"");
    assert_eq!(c.get("svc.req"), Some(&10), "{c:?}");
}
