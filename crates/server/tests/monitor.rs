//! HTTP monitoring, black-box against rnatsd and the reference nats-server
//! side by side: the same client traffic on both, then every endpoint's
//! JSON compared key by key (recursively, in order) and type by type, and
//! the counters checked against the traffic that was sent. Where
//! nats-server 2.12.4 shows something rnatsd does not have (the imports
//! the system account gives other accounts, listed in `/accountz`), the
//! difference is listed explicitly.
//!
//! Also: `/metrics` parsed with a strict Prometheus text-format parser and
//! checked against `/varz`, and the dashboard loaded in headless Chromium
//! while traffic runs.

mod common;
use common::{reference_bin, Raw, ServerProc};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// (name, server) for nats-server then rnatsd, both with `-m -1`.
fn both(config: Option<&str>, args: &[&str]) -> [(&'static str, ServerProc); 2] {
    let mut a = vec!["-m", "-1"];
    a.extend_from_slice(args);
    let go = ServerProc::start_bin(&reference_bin(), config, &a);
    let rs = ServerProc::start_args(config, &a);
    assert!(go.http_port > 0 && rs.http_port > 0, "monitor port logged");
    [("nats-server", go), ("rnatsd", rs)]
}

// ---- HTTP ----

struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Resp {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        assert_eq!(self.status, 200, "status; body: {}", self.body);
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

fn http(port: u16, method: &str, path: &str) -> Resp {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("headers");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut body = raw[split + 4..].to_vec();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v == "chunked");
    if chunked {
        let mut out = Vec::new();
        let mut rest = &body[..];
        while let Some(i) = rest.windows(2).position(|w| w == b"\r\n") {
            let n =
                usize::from_str_radix(std::str::from_utf8(&rest[..i]).unwrap().trim(), 16).unwrap();
            if n == 0 {
                break;
            }
            out.extend_from_slice(&rest[i + 2..i + 2 + n]);
            rest = &rest[i + 4 + n..];
        }
        body = out;
    }
    Resp {
        status,
        headers,
        body: String::from_utf8(body).unwrap(),
    }
}

fn get(srv: &ServerProc, path: &str) -> Resp {
    http(srv.http_port, "GET", path)
}

fn json(srv: &ServerProc, path: &str) -> Value {
    let r = get(srv, path);
    assert_eq!(
        r.header("Content-Type"),
        Some("application/json"),
        "{path}: content type"
    );
    r.json()
}

// ---- JSON shape ----

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn ident(v: &Value) -> Option<String> {
    let o = v.as_object()?;
    let parts: Vec<String> = ["name", "subject", "sid", "acc"]
        .iter()
        .filter_map(|k| o.get(*k).map(|x| x.to_string()))
        .collect();
    (!parts.is_empty()).then(|| parts.join("|"))
}

/// Differences in keys, key order and value types, recursively; array
/// elements are compared pairwise.
fn shape_diff(go: &Value, rs: &Value, path: &str, out: &mut Vec<String>) {
    match (go, rs) {
        (Value::Object(a), Value::Object(b)) => {
            for k in a.keys().filter(|k| !b.contains_key(*k)) {
                out.push(format!("{path}.{k}: only in nats-server"));
            }
            for k in b.keys().filter(|k| !a.contains_key(*k)) {
                out.push(format!("{path}.{k}: only in rnatsd"));
            }
            let ka: Vec<&String> = a.keys().filter(|k| b.contains_key(*k)).collect();
            let kb: Vec<&String> = b.keys().filter(|k| a.contains_key(*k)).collect();
            if ka != kb {
                out.push(format!("{path}: key order {ka:?} vs {kb:?}"));
            }
            for k in ka {
                shape_diff(&a[k], &b[k], &format!("{path}.{k}"), out);
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            // Elements are paired by identity (name, subject and sid,
            // account), since the servers may list them in other orders;
            // elements without one are paired by position.
            for (i, y) in b.iter().enumerate() {
                let x = match ident(y) {
                    Some(id) => a.iter().find(|x| ident(x).as_ref() == Some(&id)),
                    None => a.get(i).filter(|x| ident(x).is_none()),
                };
                if let Some(x) = x {
                    shape_diff(x, y, &format!("{path}[]"), out);
                }
            }
        }
        _ if kind(go) != kind(rs) => {
            out.push(format!("{path}: {} vs {}", kind(go), kind(rs)));
        }
        _ => {}
    }
}

/// Asserts that the two documents have the same shape except for the
/// listed differences (each of which must occur).
fn assert_shape(what: &str, go: &Value, rs: &Value, expected: &[&str]) {
    let mut diffs = Vec::new();
    shape_diff(go, rs, "", &mut diffs);
    diffs.sort();
    let mut want: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(
        diffs, want,
        "{what}: shape differences\nnats-server: {go:#}\nrnatsd: {rs:#}"
    );
}

/// Go writes integral floats without a fraction: no `2.0` anywhere.
fn assert_go_numbers(what: &str, v: &Value) {
    match v {
        Value::Number(n) if n.is_f64() => {
            let f = n.as_f64().unwrap();
            assert!(f.fract() != 0.0, "{what}: {f} written with a fraction");
        }
        Value::Array(a) => a.iter().for_each(|x| assert_go_numbers(what, x)),
        Value::Object(o) => o.values().for_each(|x| assert_go_numbers(what, x)),
        _ => {}
    }
}

/// Go's two-space `MarshalIndent`: the body is exactly the canonical pretty
/// form of its own JSON.
fn assert_pretty(what: &str, body: &str) {
    let v: Value = serde_json::from_str(body).unwrap();
    assert_eq!(
        body,
        serde_json::to_string_pretty(&v).unwrap(),
        "{what}: layout"
    );
}

fn is_rfc3339(s: &str) -> bool {
    let b = s.as_bytes();
    s.ends_with('Z')
        && b.len() >= 20
        && b[4] == b'-'
        && b[10] == b'T'
        && (b.len() == 20 || b[19] == b'.')
}

/// An RFC 3339 UTC time as a comparable (date and time, nanoseconds).
fn instant(s: &str) -> (String, u64) {
    let (main, frac) = s
        .trim_end_matches('Z')
        .split_once('.')
        .unwrap_or((s.trim_end_matches('Z'), ""));
    let nanos = format!("{frac:0<9}").parse().unwrap();
    (main.to_string(), nanos)
}

fn is_go_duration(s: &str) -> bool {
    let units = ["ns", "µs", "ms", "s", "m", "h"];
    let mut rest = s;
    if rest.is_empty() {
        return false;
    }
    while !rest.is_empty() {
        let n = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if n == 0 {
            return false;
        }
        rest = &rest[n..];
        match units.iter().find(|u| rest.starts_with(*u)) {
            Some(u) => rest = &rest[u.len()..],
            None => return false,
        }
    }
    true
}

fn u(v: &Value, key: &str) -> u64 {
    v[key]
        .as_u64()
        .unwrap_or_else(|| panic!("{key} is not a count: {v}"))
}

// ---- traffic ----

/// The same client activity on any server: a named subscriber with a
/// plain and a queue subscription (auto-unsubscribe at 5), a named
/// publisher that sends three messages (10 payload bytes), and a
/// connection that never sends CONNECT. The connections stay open while
/// the value lives.
type Traffic = Vec<Raw>;

const SENT_MSGS: u64 = 3;
const SENT_BYTES: u64 = 10;

fn traffic(srv: &ServerProc) -> Traffic {
    let mut sub = srv.raw();
    sub.send(b"CONNECT {\"verbose\":false,\"name\":\"sub\",\"lang\":\"rust\",\"version\":\"1.0.0\"}\r\nSUB foo 1\r\nSUB bar.* q 2\r\nUNSUB 2 5\r\n");
    sub.sync();
    let mut publ = srv.raw();
    publ.send(b"CONNECT {\"verbose\":false,\"name\":\"pub\",\"lang\":\"go\",\"version\":\"1.2.3\"}\r\nPUB foo 5\r\nhello\r\nPUB foo 3\r\nabc\r\nPUB bar.x 2\r\nhi\r\n");
    publ.sync();
    let got = String::from_utf8(sub.sync()).unwrap();
    assert_eq!(got.matches("MSG ").count(), 3, "{got}");
    let idle = srv.raw();
    vec![sub, publ, idle]
}

/// Subscriptions both servers hold before any client connects: those of
/// the system account and of the imports it gives every other account, the
/// same number on both. Asked of both servers, so their request counts stay
/// equal.
fn internal_subs(servers: &[(&str, ServerProc)]) -> u64 {
    let go = u(&json(&servers[0].1, "/varz"), "subscriptions");
    let rs = u(&json(&servers[1].1, "/varz"), "subscriptions");
    assert_eq!(rs, go, "internal subscriptions");
    assert!(go > 30, "the system account's subscriptions: {go}");
    go
}

// ---- tests ----

#[test]
fn start_log_and_random_port_as_nats_server() {
    for (name, srv) in both(None, &[]) {
        let log = &srv.startup_log;
        let mon = log
            .iter()
            .position(|l| l.contains("[INF] Starting http monitor on 127.0.0.1:"))
            .unwrap_or_else(|| panic!("{name}: no monitor line in {log:?}"));
        let listen = log
            .iter()
            .position(|l| l.contains("Listening for client connections"))
            .unwrap();
        assert!(mon < listen, "{name}: monitor line first");
        assert_eq!(
            log[mon].split("[INF] ").nth(1).unwrap(),
            format!("Starting http monitor on 127.0.0.1:{}", srv.http_port)
        );
        // `-m -1` picks a free port; /varz still reports the option.
        assert_eq!(json(&srv, "/varz")["http_port"], -1, "{name}");
    }
}

#[test]
fn monitor_port_in_use_is_fatal_with_nats_server_text() {
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port().to_string();
    let mut texts = Vec::new();
    for bin in [reference_bin(), common::rnatsd_bin()] {
        let mut child = std::process::Command::new(&bin)
            .args(["-a", "127.0.0.1", "-p", "-1", "-m", &port])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("{bin} kept running with its monitor port taken");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        assert!(!status.success(), "{bin}: exit status");
        let mut err = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        let line = err
            .lines()
            .find(|l| l.contains("[FTL]"))
            .unwrap_or_else(|| panic!("{bin}: no fatal line in {err}"));
        texts.push(line.split("[FTL] ").nth(1).unwrap().to_string());
    }
    assert_eq!(texts[0], texts[1]);
    assert_eq!(
        texts[1],
        format!("Can't start monitoring: can't listen to the monitor port: listen tcp 127.0.0.1:{port}: bind: address already in use")
    );
}

#[test]
fn varz_matches_nats_server() {
    let servers = both(None, &[]);
    let internal = internal_subs(&servers);
    let _t: Vec<Traffic> = servers.iter().map(|(_, s)| traffic(s)).collect();
    let mut docs = Vec::new();
    for (name, srv) in &servers {
        let r = get(srv, "/varz");
        assert_eq!(r.header("Content-Type"), Some("application/json"), "{name}");
        assert_pretty(name, &r.body);
        let v = r.json();
        assert_go_numbers(name, &v);
        assert_eq!(u(&v, "in_msgs"), SENT_MSGS, "{name}");
        assert_eq!(u(&v, "in_bytes"), SENT_BYTES, "{name}");
        assert_eq!(u(&v, "out_msgs"), SENT_MSGS, "{name}");
        assert_eq!(u(&v, "out_bytes"), SENT_BYTES, "{name}");
        assert_eq!(u(&v, "connections"), 3, "{name}");
        assert_eq!(u(&v, "total_connections"), 3, "{name}");
        assert_eq!(u(&v, "slow_consumers"), 0, "{name}");
        assert_eq!(u(&v, "port"), u64::from(srv.port), "{name}");
        for key in ["start", "now", "config_load_time"] {
            assert!(is_rfc3339(v[key].as_str().unwrap()), "{name}: {key}");
        }
        assert!(is_go_duration(v["uptime"].as_str().unwrap()), "{name}");
        docs.push(v);
    }
    let (go, rs) = (&docs[0], &docs[1]);
    // Both always run a system account.
    assert_shape("/varz", go, rs, &[]);
    assert_eq!(go["system_account"], "$SYS");
    assert_eq!(rs["system_account"], "$SYS");
    // Its internal subscriptions are counted in /varz.
    assert_eq!(u(go, "subscriptions"), u(rs, "subscriptions"));
    assert_eq!(u(rs, "subscriptions") - internal, 2);
    for key in [
        "version",
        "proto",
        "go",
        "host",
        "max_connections",
        "ping_interval",
        "ping_max",
        "http_host",
        "http_port",
        "http_base_path",
        "https_port",
        "auth_timeout",
        "max_control_line",
        "max_payload",
        "max_pending",
        "cluster",
        "gateway",
        "leaf",
        "mqtt",
        "websocket",
        "jetstream",
        "tls_timeout",
        "write_deadline",
        "cores",
        "gomaxprocs",
        "routes",
        "remotes",
        "leafnodes",
        "http_req_stats",
    ] {
        assert_eq!(go[key], rs[key], "/varz {key}");
    }
    // nats-server 2.12 allows any origin on JSON answers (not on JSONP).
    for (name, srv) in &servers {
        let r = get(srv, "/varz");
        assert_eq!(r.header("Access-Control-Allow-Origin"), Some("*"), "{name}");
        let r = get(srv, "/varz?callback=cb");
        assert_eq!(r.header("Access-Control-Allow-Origin"), None, "{name}");
    }
    // The index at `/` links every endpoint nats-server links.
    let ours = hrefs(&get(&servers[1].1, "/").body);
    for link in hrefs(&get(&servers[0].1, "/").body) {
        // `/debug/vars` is Go's runtime expvar.
        if link.starts_with("./") && link != "./debug/vars" {
            assert!(ours.contains(&link), "index lacks {link}");
        }
    }
    assert!(ours.contains(&"./dashboard".to_string()) && ours.contains(&"./metrics".to_string()));
    // JSONP, as nats-server 2.9 answers `callback=`.
    for (name, srv) in &servers {
        let r = get(srv, "/varz?callback=show");
        assert_eq!(r.header("Content-Type"), Some("application/javascript"));
        assert!(
            r.body.starts_with("show({\n") && r.body.ends_with("})"),
            "{name}"
        );
    }
}

fn conns(v: &Value) -> &Vec<Value> {
    v["connections"].as_array().expect("connections")
}

fn names(v: &Value) -> Vec<String> {
    conns(v)
        .iter()
        .map(|c| c["name"].as_str().unwrap_or("-").to_string())
        .collect()
}

/// Names of closed connections; the one refused at CONNECT is "badauth"
/// whether or not its record kept the name (see
/// `refused_connect_record_keeps_name`).
fn closed_names(v: &Value) -> Vec<String> {
    conns(v)
        .iter()
        .map(|c| match c["reason"].as_str() {
            Some("Authentication Failure") => "badauth".to_string(),
            _ => c["name"].as_str().unwrap_or("-").to_string(),
        })
        .collect()
}

fn by_name<'a>(v: &'a Value, name: &str) -> &'a Value {
    conns(v)
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no connection {name} in {v:#}"))
}

#[test]
fn connz_open_connections_match_nats_server() {
    let servers = both(None, &[]);
    let mut traffic_conns: Vec<Traffic> = servers.iter().map(|(_, s)| traffic(s)).collect();
    let (go, rs) = (&servers[0].1, &servers[1].1);
    for q in [
        "/connz",
        "/connz?subs=1",
        "/connz?subs=detail",
        "/connz?auth=1",
        "/connz?sort=bytes_to&limit=1",
        "/connz?acc=$G",
    ] {
        let (a, b) = (get(go, q), get(rs, q));
        assert_pretty(q, &b.body);
        let (a, b) = (a.json(), b.json());
        assert_go_numbers(q, &b);
        assert_shape(q, &a, &b, &[]);
        assert_eq!(names(&a), names(&b), "{q}: connections in order");
        for k in ["num_connections", "total", "offset", "limit"] {
            assert_eq!(a[k], b[k], "{q}: {k}");
        }
    }
    let (a, b) = (
        json(go, "/connz?subs=detail"),
        json(rs, "/connz?subs=detail"),
    );
    for v in [&a, &b] {
        assert_eq!(names(v), ["sub", "pub", "-"]);
        let s = by_name(v, "sub");
        assert_eq!(
            (u(s, "out_msgs"), u(s, "out_bytes")),
            (SENT_MSGS, SENT_BYTES)
        );
        assert_eq!((u(s, "in_msgs"), u(s, "subscriptions")), (0, 2));
        assert_eq!(
            (s["lang"].as_str(), s["version"].as_str()),
            (Some("rust"), Some("1.0.0"))
        );
        let p = by_name(v, "pub");
        assert_eq!((u(p, "in_msgs"), u(p, "in_bytes")), (SENT_MSGS, SENT_BYTES));
        assert_eq!(u(p, "out_msgs"), 0);
        for c in conns(v) {
            assert_eq!(
                (c["kind"].as_str(), c["type"].as_str()),
                (Some("Client"), Some("nats"))
            );
            assert_eq!(c["ip"], "127.0.0.1");
            assert!(is_rfc3339(c["start"].as_str().unwrap()));
            assert!(is_rfc3339(c["last_activity"].as_str().unwrap()));
            for k in ["rtt", "uptime", "idle"] {
                assert!(is_go_duration(c[k].as_str().unwrap()), "{k}: {c}");
            }
        }
        // The connection that never sent CONNECT has no round trip yet.
        assert_eq!(conns(v)[2]["rtt"], "0s");
    }
    // Subscription details, without the cids (nats-server's internal
    // clients take the first ones, so client cids are offset by 3).
    let details = |v: &Value| -> Vec<Value> {
        let mut d: Vec<Value> = by_name(v, "sub")["subscriptions_list_detail"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                let mut s = s.clone();
                s.as_object_mut().unwrap().remove("cid");
                s
            })
            .collect();
        d.sort_by_key(|s| s["sid"].as_str().unwrap().to_string());
        d
    };
    assert_eq!(details(&a), details(&b));
    assert_eq!(
        serde_json::to_string(&details(&b)).unwrap(),
        r#"[{"subject":"foo","sid":"1","msgs":2},{"subject":"bar.*","qgroup":"q","sid":"2","msgs":1,"max":5}]"#
    );
    // Difference: in nats-server a PING does not count as activity (and
    // delivering messages to a subscriber does); rnatsd's last activity is
    // the last time the client sent anything. Here the connection without
    // CONNECT sends a PING.
    for t in traffic_conns.iter_mut() {
        t[2].sync();
    }
    let (a2, b2) = (json(go, "/connz"), json(rs, "/connz"));
    let idle = |v: &Value, k: &str| instant(conns(v)[2][k].as_str().unwrap());
    assert_eq!(
        idle(&a2, "last_activity"),
        idle(&a2, "start"),
        "nats-server"
    );
    assert!(idle(&b2, "last_activity") > idle(&b2, "start"), "rnatsd");
    // Sorting and paging. Ties (zero counts here) come in any order in
    // nats-server, so only the leader is compared for the counters.
    for sort in ["cid", "start", "uptime"] {
        let q = format!("/connz?sort={sort}");
        assert_eq!(names(&json(go, &q)), names(&json(rs, &q)), "{q}");
    }
    for sort in ["subs", "msgs_to", "msgs_from", "bytes_to", "bytes_from"] {
        let q = format!("/connz?sort={sort}");
        assert_eq!(names(&json(go, &q))[0], names(&json(rs, &q))[0], "{q}");
    }
    assert_eq!(
        names(&json(rs, "/connz?sort=msgs_from")),
        ["pub", "sub", "-"]
    );
    assert_eq!(names(&json(rs, "/connz?sort=uptime")), ["-", "pub", "sub"]);
    for q in [
        "/connz?limit=1&offset=1",
        "/connz?offset=5",
        "/connz?user=nobody",
        "/connz?acc=nope",
    ] {
        let (a, b) = (json(go, q), json(rs, q));
        assert_shape(q, &a, &b, &[]);
        for k in ["num_connections", "total", "offset", "limit"] {
            assert_eq!(a[k], b[k], "{q}: {k}");
        }
        assert_eq!(
            a["connections"].is_null(),
            b["connections"].is_null(),
            "{q}"
        );
    }
    assert_eq!(names(&json(rs, "/connz?limit=1&offset=1")), ["pub"]);
    // An unknown account: no server id, no connection list (as nats-server).
    let unknown = json(rs, "/connz?acc=nope");
    assert_eq!(
        (&unknown["server_id"], &unknown["connections"]),
        (&Value::from(""), &Value::Null)
    );
    for (_, srv) in &servers {
        let cid = u(by_name(&json(srv, "/connz"), "pub"), "cid");
        let one = json(srv, &format!("/connz?cid={cid}"));
        assert_eq!(
            (names(&one), u(&one, "limit")),
            (vec!["pub".to_string()], 1)
        );
    }
}

/// Waits until `cond` holds on /connz?state=closed.
fn wait_closed(srv: &ServerProc, cond: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let v = json(srv, "/connz?state=closed");
        if cond(&v) {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "closed connections: {v:#}\nopen: {:#}",
            json(srv, "/connz")
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn closed_scenario(srv: &ServerProc) -> Raw {
    let connect = |name: &str, pass: &str| {
        format!("CONNECT {{\"verbose\":false,\"name\":\"{name}\",\"lang\":\"rust\",\"version\":\"1\",\"user\":\"a\",\"pass\":\"{pass}\"}}\r\n")
    };
    let mut watcher = srv.raw();
    watcher.send(connect("watcher", "b").as_bytes());
    watcher.sync();
    // Client Closed: a clean close after a round trip.
    let mut clean = srv.raw();
    clean.send(format!("{}SUB x 1\r\n", connect("clean", "b")).as_bytes());
    clean.sync();
    drop(clean);
    wait_closed(srv, |v| names(v).contains(&"clean".to_string()));
    // Authentication Failure.
    let mut bad = srv.raw();
    bad.send(connect("badauth", "wrong").as_bytes());
    bad.expect_closed();
    wait_closed(srv, |v| closed_names(v).contains(&"badauth".to_string()));
    // Slow Consumer (Pending Bytes): a subscriber that never reads.
    let mut slow = srv.raw();
    slow.send(format!("{}SUB big 1\r\n", connect("slow", "b")).as_bytes());
    slow.sync();
    let mut fast = srv.raw();
    fast.send(connect("fast", "b").as_bytes());
    fast.sync();
    let payload = vec![b'x'; 32 * 1024];
    let mut frame = format!("PUB big {}\r\n", payload.len()).into_bytes();
    frame.extend_from_slice(&payload);
    frame.extend_from_slice(b"\r\n");
    for _ in 0..800 {
        fast.send(&frame);
    }
    fast.sync();
    wait_closed(srv, |v| names(v).contains(&"slow".to_string()));
    drop(fast);
    wait_closed(srv, |v| names(v).contains(&"fast".to_string()));
    drop(slow);
    watcher
}

#[test]
fn connz_closed_connections_with_reasons() {
    let config = "authorization { user: a, password: b }\nmax_payload: 32768\nmax_pending: 65536\n";
    let servers = both(Some(config), &[]);
    let _w: Vec<Raw> = servers.iter().map(|(_, s)| closed_scenario(s)).collect();
    let (go, rs) = (&servers[0].1, &servers[1].1);
    let reasons = |v: &Value| -> BTreeMap<String, String> {
        conns(v)
            .iter()
            .zip(closed_names(v))
            .map(|(c, n)| (n, c["reason"].as_str().unwrap().to_string()))
            .collect()
    };
    let (a, b) = (
        json(go, "/connz?state=closed"),
        json(rs, "/connz?state=closed"),
    );
    let want: BTreeMap<String, String> = [
        ("badauth", "Authentication Failure"),
        ("clean", "Client Closed"),
        ("fast", "Client Closed"),
        ("slow", "Slow Consumer (Pending Bytes)"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(reasons(&a), want, "nats-server");
    assert_eq!(reasons(&b), want, "rnatsd");
    for q in [
        "/connz?state=closed",
        "/connz?state=closed&subs=1",
        "/connz?state=closed&subs=detail&auth=1",
        "/connz?state=closed&sort=reason",
        "/connz?state=closed&sort=stop",
        "/connz?state=any",
        "/connz?state=closed&limit=2&offset=1",
    ] {
        let (x, y) = (json(go, q), json(rs, q));
        assert_shape(q, &x, &y, &[]);
        assert_eq!(closed_names(&x), closed_names(&y), "{q}: order");
        for k in ["num_connections", "total", "offset", "limit"] {
            assert_eq!(x[k], y[k], "{q}: {k}");
        }
    }
    assert_eq!(
        closed_names(&json(rs, "/connz?state=closed&sort=stop")),
        ["fast", "slow", "badauth", "clean"]
    );
    assert_eq!(u(&json(rs, "/connz?state=any"), "total"), 5);
    // Closed records keep subscriptions (with the account) and the user.
    let d = json(rs, "/connz?state=closed&subs=detail&auth=1");
    let clean = by_name(&d, "clean");
    assert_eq!(clean["authorized_user"], "a");
    let sub = &clean["subscriptions_list_detail"][0];
    assert_eq!(
        (&sub["account"], &sub["subject"]),
        (&Value::from("$G"), &Value::from("x"))
    );
    for name in ["clean", "slow", "fast"] {
        assert_eq!(
            by_name(&json(go, "/connz?state=closed&auth=1"), name)["authorized_user"],
            by_name(&json(rs, "/connz?state=closed&auth=1"), name)["authorized_user"],
            "{name}"
        );
    }
    // A connection refused at CONNECT: both records keep the name, lang
    // and version the client sent.
    let refused = |v: &Value| -> Value {
        conns(v)
            .iter()
            .find(|c| c["reason"] == "Authentication Failure")
            .unwrap()
            .clone()
    };
    let (ra, rb) = (refused(&a), refused(&b));
    assert_eq!(
        (&ra["name"], &ra["lang"]),
        (&Value::from("badauth"), &Value::from("rust"))
    );
    assert_eq!(
        (&rb["name"], &rb["lang"]),
        (&Value::from("badauth"), &Value::from("rust"))
    );
    let slow = by_name(&b, "slow");
    assert!(is_rfc3339(slow["stop"].as_str().unwrap()));
    let (va, vb) = (json(go, "/varz"), json(rs, "/varz"));
    assert_shape("/varz with auth", &va, &vb, &[]);
    assert_eq!(
        (&va["auth_required"], &vb["auth_required"]),
        (&Value::Bool(true), &Value::Bool(true))
    );
    assert_eq!(
        (u(&va, "max_pending"), u(&vb, "max_pending")),
        (65536, 65536)
    );
    assert_eq!(u(&va, "slow_consumers"), 1);
    assert_eq!(u(&vb, "slow_consumers"), 1);
    // The closed cid is found with state=closed.
    let cid = u(slow, "cid");
    let one = json(rs, &format!("/connz?state=closed&cid={cid}"));
    assert_eq!(names(&one), ["slow"]);
}

#[test]
fn subsz_and_other_endpoints_match_nats_server() {
    let servers = both(None, &[]);
    let internal = internal_subs(&servers);
    let _t: Vec<Traffic> = servers.iter().map(|(_, s)| traffic(s)).collect();
    let (go, rs) = (&servers[0].1, &servers[1].1);
    // Stats only (no list): same keys and counts (the system account's
    // included).
    let (a, b) = (json(go, "/subsz"), json(rs, "/subsz"));
    assert_shape("/subsz", &a, &b, &[]);
    assert_eq!(u(&a, "num_subscriptions"), u(&b, "num_subscriptions"));
    assert_eq!(u(&b, "num_subscriptions") - internal, 2);
    // A test subject: only matching subscriptions, all in the global account.
    let q = "/subsz?subs=1&test=foo";
    let (a, b) = (json(go, q), json(rs, q));
    assert_shape(q, &a, &b, &[]);
    let list = |v: &Value| -> Vec<Value> {
        let mut l: Vec<Value> = v["subscriptions_list"]
            .as_array()
            .map(|l| l.to_vec())
            .unwrap_or_default()
            .into_iter()
            // The clients' subscriptions (the system account's and its
            // imports' have ids in no set order).
            .filter(|s| {
                s["account"] == "$G" && !s["subject"].as_str().unwrap().starts_with("$SYS.")
            })
            .map(|mut s| {
                s.as_object_mut().unwrap().remove("cid");
                s
            })
            .collect();
        l.sort_by_key(|s| s["sid"].as_str().unwrap().to_string());
        l
    };
    assert_eq!(list(&a), list(&b));
    assert_eq!((u(&b, "total"), list(&b).len()), (1, 1));
    let (a, b) = (json(go, "/subsz?subs=1"), json(rs, "/subsz?subs=1"));
    assert_shape("/subsz?subs=1", &a, &b, &[]);
    assert_eq!(list(&a), list(&b));
    assert_eq!(u(&a, "total"), u(&b, "total"));
    // No match: stats only, as nats-server.
    let (a, b) = (
        json(go, "/subsz?subs=1&test=zzz"),
        json(rs, "/subsz?subs=1&test=zzz"),
    );
    assert_shape("/subsz no match", &a, &b, &[]);
    assert_eq!(u(&b, "total"), 0);

    for q in [
        "/routez",
        "/routez?subs=1",
        "/gatewayz",
        "/leafz",
        "/jsz",
        "/accstatz",
        "/subscriptionsz",
    ] {
        let (a, b) = (get(go, q), get(rs, q));
        assert_pretty(q, &b.body);
        assert_shape(q, &a.json(), &b.json(), &[]);
    }
    let (a, b) = (json(go, "/accstatz"), json(rs, "/accstatz"));
    assert_eq!(a["account_statz"][0]["sent"], b["account_statz"][0]["sent"]);
    assert_eq!(
        a["account_statz"][0]["received"],
        b["account_statz"][0]["received"]
    );
    assert_eq!(
        a["account_statz"][0]["conns"],
        b["account_statz"][0]["conns"]
    );
    // With unused accounts both list $SYS too.
    let (a, b) = (
        json(go, "/accstatz?unused=1"),
        json(rs, "/accstatz?unused=1"),
    );
    assert_shape("/accstatz?unused=1", &a, &b, &[]);
    assert_eq!(
        (
            a["account_statz"].as_array().unwrap().len(),
            b["account_statz"].as_array().unwrap().len()
        ),
        (2, 2)
    );
    // /accountz: every account, the system account named.
    let (a, b) = (json(go, "/accountz"), json(rs, "/accountz"));
    assert_shape("/accountz", &a, &b, &[]);
    let sorted = |v: &Value| {
        let mut l: Vec<String> = v["accounts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_str().unwrap().to_string())
            .collect();
        l.sort();
        l
    };
    assert_eq!(sorted(&a), sorted(&b));
    assert_eq!(sorted(&b), ["$G", "$SYS"]);
    let (a, b) = (json(go, "/accountz?acc=$G"), json(rs, "/accountz?acc=$G"));
    assert_shape("/accountz?acc=$G", &a, &b, &[]);
    let (da, db) = (&a["account_detail"], &b["account_detail"]);
    // The service imports from $SYS (in no set order on nats-server).
    let imports = |d: &Value| {
        let mut l: Vec<String> = d["imports"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i.to_string())
            .collect();
        l.sort();
        l
    };
    assert_eq!(imports(da), imports(db));
    assert_eq!(da["imports"].as_array().unwrap().len(), 4);
    assert_eq!(u(da, "subscriptions"), u(db, "subscriptions"));
    assert_eq!(u(db, "client_connections"), u(da, "client_connections"));
    // /healthz is compact and identical.
    for (_, srv) in &servers {
        let r = get(srv, "/healthz");
        assert_eq!((r.status, r.body.as_str()), (200, r#"{"status":"ok"}"#));
        assert_eq!(r.header("Content-Type"), Some("application/json"));
    }
}

#[test]
fn errors_and_paths_as_nats_server() {
    let servers = both(None, &[]);
    let (go, rs) = (&servers[0].1, &servers[1].1);
    for q in [
        "/connz?auth=x",
        "/connz?subs=maybe",
        "/connz?cid=-1",
        "/connz?offset=abc",
        "/connz?limit=99999999999999999999",
        "/connz?sort=bogus",
        // nats-server 2.9 has no rtt sort.
        "/connz?sort=rtt",
        "/connz?state=bogus",
        "/connz?sort=stop",
        "/connz?sort=reason&state=any",
        "/subsz?test=foo.*",
        "/subsz?limit=x",
        "/accountz?acc=nope",
        "/jsz?leader-only=true",
        "/healthz?js-enabled=x",
        "/leafz?subs=2",
        "/nope",
        "/varz/",
        "//varz",
        "/connz?callback=cb&sort=cid",
    ] {
        let (a, b) = (get(go, q), get(rs, q));
        assert_eq!(a.status, b.status, "{q}: status");
        assert_eq!(a.header("Content-Type"), b.header("Content-Type"), "{q}");
        assert_eq!(a.header("Location"), b.header("Location"), "{q}");
        if a.status != 200 {
            assert_eq!(a.body, b.body, "{q}: body");
        }
    }
    // Difference: nats-server's /stacksz dumps its goroutines; rnatsd has
    // no equivalent.
    assert_eq!(
        (get(go, "/stacksz").status, get(rs, "/stacksz").status),
        (200, 404)
    );
    // Any method, as Go's handlers.
    let r = http(rs.http_port, "POST", "/healthz");
    assert_eq!((r.status, r.body.as_str()), (200, r#"{"status":"ok"}"#));
    let r = http(rs.http_port, "HEAD", "/varz");
    assert_eq!((r.status, r.body.as_str()), (200, ""));
}

fn hrefs(page: &str) -> Vec<String> {
    page.split("href=")
        .skip(1)
        .map(|s| {
            s.trim_start_matches(['"', '\''])
                .split(['>', ' ', '"', '\''])
                .next()
                .unwrap()
                .to_string()
        })
        .collect()
}

#[test]
fn index_and_base_path() {
    let config = "http_base_path: \"mon\"\n";
    let servers = both(Some(config), &[]);
    let (go, rs) = (&servers[0].1, &servers[1].1);
    let (a, b) = (get(go, "/mon"), get(rs, "/mon"));
    assert_eq!(b.status, 200);
    assert_eq!(a.header("Content-Type"), b.header("Content-Type"));
    let ours = hrefs(&b.body);
    // `/debug/vars` is Go's runtime expvar (Go memory statistics): rnatsd
    // has no Go runtime to report on.
    for link in hrefs(&a.body)
        .into_iter()
        .filter(|l| l.starts_with("./") && !l.ends_with("/debug/vars"))
    {
        assert!(ours.contains(&link), "index lacks {link}: {ours:?}");
    }
    assert!(ours.contains(&"./mon/dashboard".to_string()), "{ours:?}");
    assert!(ours.contains(&"./mon/metrics".to_string()), "{ours:?}");
    for p in [
        "/mon/varz",
        "/mon/connz",
        "/mon/healthz",
        "/varz",
        "/mon/",
        "/",
    ] {
        assert_eq!(get(go, p).status, get(rs, p).status, "{p}");
    }
    assert_eq!(json(rs, "/mon/varz")["http_base_path"], "mon");
    assert_eq!(get(rs, "/mon/dashboard").status, 200);
    assert_eq!(get(rs, "/mon/metrics").status, 200);
}

// ---- /metrics ----

/// A strict parser of the Prometheus text format 0.0.4: every sample
/// belongs to a family declared by `# TYPE` before it, families are
/// contiguous and declared once, names and labels are well-formed, values
/// are floats. Returns samples keyed by `name{labels}`.
fn parse_prometheus(text: &str) -> BTreeMap<String, f64> {
    fn valid_name(n: &str) -> bool {
        let mut c = n.chars();
        matches!(c.next(), Some(ch) if ch.is_ascii_alphabetic() || ch == '_' || ch == ':')
            && c.all(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == ':')
    }
    let mut out = BTreeMap::new();
    let mut types: BTreeMap<String, String> = BTreeMap::new();
    let mut helps: Vec<String> = Vec::new();
    let mut current = String::new();
    assert!(text.ends_with('\n'), "exposition ends with a newline");
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# ") {
            let mut parts = rest.splitn(3, ' ');
            let (kw, name) = (parts.next().unwrap(), parts.next().expect("metric name"));
            assert!(valid_name(name), "bad name in {line:?}");
            match kw {
                "HELP" => {
                    assert!(!helps.contains(&name.to_string()), "second HELP: {line}");
                    helps.push(name.to_string());
                }
                "TYPE" => {
                    let t = parts.next().expect("type");
                    assert!(
                        ["counter", "gauge", "histogram", "summary", "untyped"].contains(&t),
                        "{line}"
                    );
                    assert!(
                        types.insert(name.to_string(), t.to_string()).is_none(),
                        "second TYPE: {line}"
                    );
                    current = name.to_string();
                }
                _ => {}
            }
            continue;
        }
        assert!(
            !line.is_empty() && !line.starts_with('#'),
            "unexpected line {line:?}"
        );
        let (series, value) = match line.find('{') {
            Some(_) => {
                let end = line.rfind('}').expect("closing brace");
                (&line[..=end], line[end + 1..].trim())
            }
            None => {
                let (n, v) = line.split_once(' ').expect("value");
                (n, v.trim())
            }
        };
        let name = series.split('{').next().unwrap();
        assert!(valid_name(name), "bad sample name {line:?}");
        assert_eq!(name, current, "sample outside its family: {line}");
        if let Some(labels) = series.strip_prefix(name).filter(|l| !l.is_empty()) {
            let inner = &labels[1..labels.len() - 1];
            let mut rest = inner;
            while !rest.is_empty() {
                let (lname, after) = rest.split_once("=\"").expect("label=\"");
                assert!(valid_name(lname), "bad label name in {line}");
                let mut end = None;
                let mut esc = false;
                for (i, ch) in after.char_indices() {
                    match (esc, ch) {
                        (true, '\\' | '"' | 'n') => esc = false,
                        (true, _) => panic!("bad escape in {line}"),
                        (false, '\\') => esc = true,
                        (false, '"') => {
                            end = Some(i);
                            break;
                        }
                        _ => {}
                    }
                }
                let end = end.expect("closing quote");
                rest = after[end + 1..]
                    .strip_prefix(',')
                    .unwrap_or(&after[end + 1..]);
            }
        }
        let v: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            "NaN" => f64::NAN,
            v => v
                .parse()
                .unwrap_or_else(|_| panic!("bad value in {line:?}")),
        };
        assert!(
            out.insert(series.to_string(), v).is_none(),
            "duplicate {series}"
        );
    }
    out
}

#[test]
fn metrics_parse_and_agree_with_varz() {
    let srv = ServerProc::start_args(None, &["-m", "-1"]);
    let _t = traffic(&srv);
    let v = json(&srv, "/varz");
    let r = get(&srv, "/metrics");
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("Content-Type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let m = parse_prometheus(&r.body);
    let pairs = [
        ("rnatsd_in_msgs_total", "in_msgs"),
        ("rnatsd_out_msgs_total", "out_msgs"),
        ("rnatsd_in_bytes_total", "in_bytes"),
        ("rnatsd_out_bytes_total", "out_bytes"),
        ("rnatsd_slow_consumers_total", "slow_consumers"),
        ("rnatsd_connections_accepted_total", "total_connections"),
        ("rnatsd_connections{kind=\"client\"}", "connections"),
        ("rnatsd_subscriptions", "subscriptions"),
        ("rnatsd_account_connections{account=\"$G\"}", "connections"),
        (
            "rnatsd_account_subscriptions{account=\"$G\"}",
            "subscriptions",
        ),
        ("rnatsd_account_in_msgs_total{account=\"$G\"}", "in_msgs"),
        (
            "rnatsd_account_out_bytes_total{account=\"$G\"}",
            "out_bytes",
        ),
    ];
    for (metric, key) in pairs {
        let got = *m
            .get(metric)
            .unwrap_or_else(|| panic!("no {metric} in\n{}", r.body));
        assert_eq!(got, u(&v, key) as f64, "{metric} vs /varz {key}");
    }
    assert_eq!(m["rnatsd_in_msgs_total"], SENT_MSGS as f64);
    assert_eq!(m["rnatsd_out_bytes_total"], SENT_BYTES as f64);
    assert_eq!(m["rnatsd_http_requests_total{path=\"/varz\"}"], 1.0);
    let info = m.keys().find(|k| k.starts_with("rnatsd_info{")).unwrap();
    assert!(info.contains("version=\"2.12.4\""), "{info}");
}

// ---- dashboard ----

fn chromium() -> String {
    let find = || {
        ["chromium", "chromium-browser", "google-chrome"]
            .into_iter()
            .find(|b| {
                std::process::Command::new("sh")
                    .args(["-c", &format!("command -v {b}")])
                    .output()
                    .map(|o| o.status.success())
                    .unwrap_or(false)
            })
    };
    if let Some(b) = find() {
        return b.to_string();
    }
    // Not installed: install Debian's package, as scripts/test.sh does.
    let ok = std::process::Command::new("sh")
        .args([
            "-c",
            "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium",
        ])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(
        ok,
        "chromium is missing and could not be installed with apt-get"
    );
    find().expect("chromium after install").to_string()
}

/// Runs headless Chromium on `url` with `extra` flags; returns stdout.
fn run_chromium(bin: &str, url: &str, extra: &[&str]) -> String {
    let profile = common::scratch(&format!("chromium-{}", extra.len()));
    let mut child = std::process::Command::new(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            &format!("--user-data-dir={}", profile.display()),
            "--window-size=1280,900",
            "--virtual-time-budget=6000",
        ])
        .args(extra)
        .arg(url)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start chromium");
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + Duration::from_secs(90);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("chromium did not finish");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = std::fs::remove_dir_all(&profile);
    reader.join().unwrap()
}

/// The value of `attr` on the element with id `id` in a dumped DOM.
fn dom_attr(dom: &str, id: &str, attr: &str) -> Option<f64> {
    let start = dom.find(&format!("id=\"{id}\""))?;
    let tag_start = dom[..start].rfind('<')?;
    let tag = &dom[tag_start..tag_start + dom[tag_start..].find('>')?];
    let v = tag.split(&format!("{attr}=\"")).nth(1)?.split('"').next()?;
    v.parse().ok()
}

#[test]
fn dashboard_charts_live_rates_in_chromium() {
    let bin = chromium();
    let srv = ServerProc::start_args(None, &["-m", "-1"]);
    let url = format!("http://127.0.0.1:{}/dashboard", srv.http_port);
    let page = get(&srv, "/dashboard");
    assert_eq!(
        page.header("Content-Type"),
        Some("text/html; charset=utf-8")
    );
    for external in [
        "src=\"http",
        "href=\"http",
        "url(http",
        "fetch(\"http",
        "<link",
    ] {
        assert!(
            !page.body.contains(external),
            "external resource: {external}"
        );
    }
    // Traffic for the whole run: a publisher and a subscriber.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut sub = srv.raw();
    sub.send(b"CONNECT {\"verbose\":false,\"name\":\"dash-sub\"}\r\nSUB load.> 1\r\n");
    sub.sync();
    let port = srv.port;
    let flag = stop.clone();
    let load = std::thread::spawn(move || {
        let mut publ = Raw::connect(port);
        publ.send(b"CONNECT {\"verbose\":false,\"name\":\"dash-pub\"}\r\n");
        let batch: Vec<u8> = b"PUB load.x 16\r\n0123456789abcdef\r\n".repeat(50);
        let deadline = Instant::now() + Duration::from_secs(120);
        while !flag.load(std::sync::atomic::Ordering::Relaxed) && Instant::now() < deadline {
            publ.send(&batch);
            publ.sync();
            std::thread::sleep(Duration::from_millis(2));
        }
    });
    let flag = stop.clone();
    let drain = std::thread::spawn(move || {
        let mut s = sub.s.try_clone().unwrap();
        s.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let mut buf = vec![0u8; 64 * 1024];
        while !flag.load(std::sync::atomic::Ordering::Relaxed) {
            if let Ok(0) = s.read(&mut buf) {
                break;
            }
        }
    });
    let dom = run_chromium(&bin, &url, &["--dump-dom"]);
    let shot = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("monitor-dashboard.png");
    let _ = std::fs::remove_file(&shot);
    run_chromium(&bin, &url, &[&format!("--screenshot={}", shot.display())]);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    load.join().unwrap();
    drain.join().unwrap();
    let body_polls: f64 = dom
        .split("data-polls=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or(0.0);
    assert!(
        body_polls >= 3.0,
        "the dashboard polled /varz: {body_polls}\n{dom}"
    );
    for (id, attr) in [
        ("chart-msgs", "data-peak-in"),
        ("chart-msgs", "data-peak-out"),
        ("chart-bytes", "data-peak-in"),
        ("chart-bytes", "data-peak-out"),
    ] {
        let v = dom_attr(&dom, id, attr).unwrap_or_else(|| panic!("{id} {attr} missing:\n{dom}"));
        assert!(v > 0.0, "{id} {attr} = {v}");
    }
    assert!(dom_attr(&dom, "chart-conns", "data-last-value").unwrap() >= 2.0);
    assert!(dom_attr(&dom, "chart-subs", "data-last-value").unwrap() >= 1.0);
    assert!(dom.contains("<polyline"), "charts drawn");
    let meta = std::fs::metadata(&shot).expect("screenshot written");
    assert!(meta.len() > 10_000, "screenshot size {}", meta.len());
    println!("dashboard screenshot: {}", shot.display());
}

/// The websocket port from a `Listening for websocket clients on` line.
fn ws_port(srv: &ServerProc) -> u16 {
    srv.startup_log
        .iter()
        .find_map(|l| l.split("Listening for websocket clients on ws://").nth(1))
        .and_then(|hp| hp.rsplit(':').next())
        .and_then(|p| p.trim().parse().ok())
        .expect("websocket listen line")
}

#[test]
fn websocket_clients_and_options_as_nats_server() {
    let config = "websocket { port: -1, no_tls: true, compression: true, same_origin: false, \
                  allowed_origins: [\"http://a.example\"], handshake_timeout: \"3s\" }\n";
    let servers = both(Some(config), &[]);
    let mut socks = Vec::new();
    for (_, srv) in &servers {
        let mut s = TcpStream::connect(("127.0.0.1", ws_port(srv))).unwrap();
        s.write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n").unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut buf = [0u8; 512];
        let n = s.read(&mut buf).unwrap();
        assert!(buf[..n].starts_with(b"HTTP/1.1 101"), "upgrade");
        socks.push(s);
    }
    let (go, rs) = (&servers[0].1, &servers[1].1);
    let (mut a, mut b) = (json(go, "/varz"), json(rs, "/varz"));
    assert_shape("/varz with websocket", &a, &b, &[]);
    // The bound port, not -1.
    assert_eq!(u(&a["websocket"], "port"), u64::from(ws_port(go)));
    assert_eq!(u(&b["websocket"], "port"), u64::from(ws_port(rs)));
    a["websocket"]["port"] = 0.into();
    b["websocket"]["port"] = 0.into();
    assert_eq!(a["websocket"], b["websocket"]);
    assert_eq!(b["websocket"]["handshake_timeout"], 3_000_000_000u64);
    let deadline = Instant::now() + Duration::from_secs(5);
    while u(&json(rs, "/connz"), "num_connections") == 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let (a, b) = (json(go, "/connz"), json(rs, "/connz"));
    assert_shape("/connz websocket", &a, &b, &[]);
    assert_eq!(conns(&a)[0]["type"], "websocket");
    assert_eq!(conns(&b)[0]["type"], "websocket");
    drop(socks);
    for (_, srv) in &servers {
        let v = wait_closed(srv, |v| u(v, "num_connections") == 1);
        assert_eq!(conns(&v)[0]["type"], "websocket");
    }
}
