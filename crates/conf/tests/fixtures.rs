//! Real configuration files that must parse (expected trees checked against
//! Go's nats-server `conf` package).

use std::path::{Path, PathBuf};

use conf::{Map, Value};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn load(name: &str) -> Map {
    conf::parse_file(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn map<'a>(m: &'a Map, key: &str) -> &'a Map {
    m.get(key)
        .and_then(|s| s.value.as_map())
        .unwrap_or_else(|| panic!("{key} is not a map"))
}

fn string<'a>(m: &'a Map, key: &str) -> &'a str {
    m.get(key)
        .and_then(|s| s.value.as_str())
        .unwrap_or_else(|| panic!("{key} is not a string"))
}

fn int(m: &Map, key: &str) -> i64 {
    m.get(key)
        .and_then(|s| s.value.as_i64())
        .unwrap_or_else(|| panic!("{key} is not an integer"))
}

#[test]
fn simple_with_comments_and_websocket() {
    let m = load("simple.conf");
    assert_eq!(
        m.keys().collect::<Vec<_>>(),
        ["port", "max_payload", "websocket"]
    );
    assert_eq!(int(&m, "port"), 4222);
    assert_eq!(int(&m, "max_payload"), 4194304);
    let ws = map(&m, "websocket");
    assert_eq!(int(ws, "port"), 443);
    assert_eq!(ws.get("no_tls").unwrap().value, Value::Bool(true));

    // Positions as Go's pedantic parser reports them (key positions; 0-based
    // column on line 1), and every position names the file.
    let port = m.get("port").unwrap();
    assert_eq!((port.pos.line, port.pos.col), (1, 0));
    let no_tls = ws.get("no_tls").unwrap();
    assert_eq!((no_tls.pos.line, no_tls.pos.col), (5, 3));
    assert_eq!(no_tls.pos.file.as_deref(), Some(&fixture("simple.conf")));
    assert_eq!(
        no_tls.pos.to_string(),
        format!("{}:5:3", fixture("simple.conf").display())
    );
}

#[test]
fn nkey_users_without_space_after_colon() {
    let m = load("nkeys.conf");
    let users = map(&m, "authorization")
        .get("users")
        .and_then(|s| s.value.as_array())
        .expect("users array");
    let nkeys: Vec<&str> = users
        .iter()
        .map(|u| string(u.value.as_map().expect("user map"), "nkey"))
        .collect();
    assert_eq!(
        nkeys,
        [
            "UBAYKP4KNT6J4UNGFWVA2KHPFGNCYR6IM7DKWRF6UWII3MISWNIYCHZ2",
            "UDOTYZPSAZJH6XMHKK73EBVYB4WZEHTYIDZ2NZF6JIDLF4HV7DEZRZMH",
        ]
    );
    // An array element that is a map is positioned just after its '}' (Go).
    assert_eq!((users[0].pos.line, users[0].pos.col), (3, 69));
}

#[test]
fn hub_cluster_jetstream_resolver_leafnodes() {
    let m = load("hub.conf");
    assert_eq!(string(&m, "server_name"), "hub-1");
    assert_eq!(string(&m, "listen"), "0.0.0.0:4222");
    assert_eq!(string(&m, "operator"), "<OPERATOR_JWT>");

    let cluster = map(&m, "cluster");
    assert_eq!(string(cluster, "name"), "hub-cluster");
    assert_eq!(int(cluster, "port"), 6222);
    let auth = map(cluster, "authorization");
    assert_eq!(string(auth, "user"), "route_user");
    assert_eq!(string(auth, "password"), "route_password");
    assert_eq!(auth.get("timeout").unwrap().value, Value::Float(0.5));
    let routes: Vec<&str> = cluster
        .get("routes")
        .and_then(|s| s.value.as_array())
        .unwrap()
        .iter()
        .filter_map(|r| r.value.as_str())
        .collect();
    assert_eq!(routes, ["nats://a:6222", "nats://b:6223"]);

    let js = map(&m, "jetstream");
    assert_eq!(string(js, "domain"), "hub");
    assert_eq!(string(js, "store_dir"), "/data/jetstream");
    assert_eq!(int(js, "max_mem_store"), 1 << 30);
    assert_eq!(int(js, "max_file_store"), 10 << 30);

    let resolver = map(&m, "resolver");
    assert_eq!(string(resolver, "type"), "full");
    assert_eq!(string(resolver, "dir"), "/data/jwt");
    assert_eq!(
        resolver.get("allow_delete").unwrap().value,
        Value::Bool(true)
    );
    // Quoted durations stay strings for the server to interpret.
    assert_eq!(string(resolver, "interval"), "2m");
    assert_eq!(string(resolver, "timeout"), "1.9s");

    let preload = map(&m, "resolver_preload");
    assert_eq!(preload.keys().collect::<Vec<_>>(), ["ABC", "DEF"]);
    assert_eq!(string(preload, "ABC"), "eyJ0eXAi.x.y");
    assert_eq!(string(preload, "DEF"), "eyJ.a.b");

    let leaf = map(&m, "leafnodes");
    // Unquoted `1s` is not a number (no such size suffix): Go keeps the string.
    assert_eq!(string(leaf, "reconnect"), "1s");
    let remotes = leaf
        .get("remotes")
        .and_then(|s| s.value.as_array())
        .unwrap();
    assert_eq!(remotes.len(), 1);
    let remote = remotes[0].value.as_map().unwrap();
    let urls = remote.get("urls").and_then(|s| s.value.as_array()).unwrap();
    assert_eq!(urls[0].value.as_str(), Some("nats://h:7422"));
    assert_eq!(string(remote, "account"), "A");
    assert_eq!(string(remote, "credentials"), "/etc/x.creds");
}

#[test]
fn fixtures_parse_the_same_from_text() {
    for name in ["simple.conf", "nkeys.conf", "hub.conf"] {
        let text = std::fs::read_to_string(fixture(name)).unwrap();
        let from_text = conf::parse_str(&text).unwrap();
        let from_file = load(name);
        assert_eq!(from_text.len(), from_file.len(), "{name}");
        for ((k1, v1), (k2, v2)) in from_text.iter().zip(from_file.iter()) {
            assert_eq!(k1, k2);
            assert!(v1.value.equivalent(&v2.value), "{name}: {k1}");
            assert_eq!(v1.pos.line, v2.pos.line);
            assert!(v1.pos.file.is_none());
        }
    }
}

#[test]
fn inline_map_entries_need_separators_as_in_go() {
    // Entries of a map on one line must be separated by ',' ';' or a new
    // line; Go rejects `{ name: "x" port: 1 }`.
    let err = conf::parse_str("cluster { name: \"hub-cluster\" port: 6222 }").unwrap_err();
    assert_eq!(
        err.to_string(),
        "1:30: Expected a map value terminator \",\" or a map terminator \"}\", but got 'p' instead."
    );
    let ok = conf::parse_str("cluster { name: \"hub-cluster\", port: 6222 }").unwrap();
    assert_eq!(int(map(&ok, "cluster"), "port"), 6222);
}
