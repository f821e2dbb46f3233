//! Leafnodes under bad input: wrong credentials, garbage, a client on the
//! leafnode port, a stalled handshake, a loop, a forbidden subscription.
//! The same bytes go to rnatsd and to nats-server 2.12.4 and the errors
//! they answer are compared; other connections are not disturbed. Then
//! remotes that stall or send garbage, and loops between real servers.

mod common;
use common::{free_port, reference_212_bin, rnatsd_bin, Raw, ServerProc};
use std::io::Read;
use std::net::TcpListener;
use std::time::{Duration, Instant};

/// Everything a connection receives until it closes (or `limit` passes).
fn until_closed(r: &mut Raw, limit: Duration) -> String {
    let deadline = Instant::now() + limit;
    let mut all = Vec::new();
    let mut tmp = [0u8; 8192];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        r.s.set_read_timeout(Some(left)).unwrap();
        match r.s.read(&mut tmp) {
            Ok(0) | Err(_) => break,
            Ok(n) => all.extend_from_slice(&tmp[..n]),
        }
    }
    String::from_utf8_lossy(&all).into_owned()
}

/// The `-ERR` lines of `text`.
fn errs(text: &str) -> Vec<String> {
    text.split("\r\n")
        .filter(|l| l.starts_with("-ERR"))
        .map(str::to_string)
        .collect()
}

/// The LDS subject a hub announced in `text`.
fn lds(text: &str) -> Option<String> {
    text.split("\r\n")
        .find_map(|l| l.strip_prefix("LS+ $LDS."))
        .map(|s| format!("$LDS.{s}"))
}

/// What one server answers to each bad handshake, as `-ERR` lines.
fn answers(bin: &str) -> Vec<(String, Vec<String>)> {
    let lport = free_port();
    let conf = format!(
        "leafnodes {{ port: {lport}, authorization {{ user: leafy, password: s3cret }} }}\n"
    );
    let srv = ServerProc::start_bin(bin, Some(&conf), &[]);
    let mut bystander = srv.raw();
    bystander.send(b"CONNECT {\"verbose\":false}\r\nSUB calm 1\r\n");
    bystander.sync();
    let good = r#"CONNECT {"version":"2.12.4","server_id":"NFAKE","name":"FAKE","headers":true,"user":"leafy","pass":"s3cret","compress_mode":"off","remote_account":"$G","protocol":3}"#;
    let mut out = Vec::new();
    let mut case = |name: &str, send: &dyn Fn(&mut Raw, &str) -> String| {
        let mut r = Raw::connect(lport);
        let info = r.read_line();
        assert!(info.starts_with("INFO {"), "{name}: {info}");
        let text = send(&mut r, &info);
        out.push((name.to_string(), errs(&text)));
        // The bystander client is still served.
        bystander.send(b"PUB calm 2\r\nok\r\n");
        let got = bystander.sync();
        assert!(
            String::from_utf8_lossy(&got).contains("MSG calm 1 2\r\nok"),
            "{name}: bystander got {:?}",
            String::from_utf8_lossy(&got)
        );
    };
    case("wrong credentials", &|r, _| {
        r.send(br#"CONNECT {"version":"2.12.4","name":"FAKE","user":"leafy","pass":"nope","protocol":3}"#);
        r.send(b"\r\n");
        until_closed(r, Duration::from_secs(5))
    });
    case("garbage", &|r, _| {
        r.send(b"FOO BAR\r\n");
        until_closed(r, Duration::from_secs(5))
    });
    case("a client on the leafnode port", &|r, _| {
        r.send(br#"CONNECT {"lang":"go","version":"1.40.0","user":"leafy","pass":"s3cret"}"#);
        r.send(b"\r\n");
        until_closed(r, Duration::from_secs(5))
    });
    case("a stalled handshake", &|r, _| {
        until_closed(r, Duration::from_secs(6))
    });
    case("a loop", &|r, _| {
        r.send(good.as_bytes());
        r.send(b"\r\n");
        // The hub's own loop detection subject, sent back.
        let mut seen = String::new();
        let deadline = Instant::now() + Duration::from_secs(5);
        while lds(&seen).is_none() && Instant::now() < deadline {
            seen.push_str(&r.read_line());
            seen.push_str("\r\n");
        }
        let subject = lds(&seen).expect("the hub announces its $LDS subject");
        r.send(format!("LS+ {subject}\r\n").as_bytes());
        until_closed(r, Duration::from_secs(5))
    });
    case("a forbidden subscription", &|r, _| {
        r.send(good.as_bytes());
        r.send(b"\r\nLS+ $JS.API.INFO\r\n");
        until_closed(r, Duration::from_secs(5))
    });
    out
}

/// Bad handshakes get nats-server 2.12.4's errors from rnatsd, and the
/// connection is closed without disturbing a client of the same server.
#[test]
fn bad_leafnode_input_is_refused_as_nats_server_refuses_it() {
    let go = answers(&reference_212_bin());
    let rn = answers(&rnatsd_bin());
    assert_eq!(rn, go);
    let want = [
        ("wrong credentials", "-ERR 'Authorization Violation'"),
        ("garbage", "-ERR 'Unknown Protocol Operation'"),
        ("a client on the leafnode port", "-ERR 'attempted to connect to leaf node port'"),
        ("a stalled handshake", "-ERR 'Authentication Timeout'"),
        (
            "a loop",
            "-ERR 'Loop detected for leafnode account=\"$G\". Delaying attempt to reconnect for 30s'",
        ),
        (
            "a forbidden subscription",
            "-ERR 'Permissions Violation for Subscription to \"$JS.API.INFO\"'",
        ),
    ];
    for (name, err) in want {
        let got = rn.iter().find(|(n, _)| n == name).unwrap();
        assert_eq!(got.1, [err.to_string()], "{name}");
    }
}

/// rnatsd's log lines for the refusals, as nats-server words them.
#[test]
fn refusals_are_logged() {
    let lport = free_port();
    let conf = format!(
        "leafnodes {{ port: {lport}, authorization {{ user: leafy, password: s3cret }} }}\n"
    );
    let srv = ServerProc::start(Some(&conf));
    let mut r = Raw::connect(lport);
    r.read_line();
    r.send(b"CONNECT {\"user\":\"leafy\",\"pass\":\"nope\"}\r\n");
    until_closed(&mut r, Duration::from_secs(5));
    assert!(srv
        .wait_log(
            "authentication error - User \"leafy\"",
            Duration::from_secs(5)
        )
        .is_some());
    assert!(srv
        .wait_log(
            "Leafnode connection closed: Authentication Failure",
            Duration::from_secs(5)
        )
        .is_some());
    let mut r = Raw::connect(lport);
    r.read_line();
    r.send(b"FOO\r\n");
    until_closed(&mut r, Duration::from_secs(5));
    assert!(srv
        .wait_log("Leafnode parser ERROR", Duration::from_secs(5))
        .is_some());
}

/// A fake hub: accepts leafnode connections, counts them, and does `act`
/// with each.
fn fake_hub(act: fn(std::net::TcpStream)) -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let n = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let n2 = n.clone();
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            n2.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            std::thread::spawn(move || act(s));
        }
    });
    (port, n)
}

/// Remotes that stall in the handshake or answer garbage: the leaf gives
/// up on each attempt, dials again, and keeps serving its clients.
#[test]
fn remotes_that_stall_or_send_garbage_are_retried() {
    fn stall(s: std::net::TcpStream) {
        std::thread::sleep(Duration::from_secs(30));
        drop(s);
    }
    fn garbage(mut s: std::net::TcpStream) {
        use std::io::Write;
        let _ = s.write_all(b"HELLO THERE\r\n");
        std::thread::sleep(Duration::from_secs(30));
    }
    for (what, act) in [("stall", stall as fn(_)), ("garbage", garbage)] {
        let (port, dials) = fake_hub(act);
        let conf = format!(
            "leafnodes {{ reconnect: \"1s\", remotes: [ {{ url: \"nats-leaf://127.0.0.1:{port}\" }} ] }}\n"
        );
        let srv = ServerProc::start(Some(&conf));
        let deadline = Instant::now() + Duration::from_secs(15);
        while dials.load(std::sync::atomic::Ordering::SeqCst) < 3 {
            assert!(
                Instant::now() < deadline,
                "{what}: the leaf did not dial again"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let mut c = srv.raw();
        c.send(b"CONNECT {\"verbose\":false}\r\nSUB x 1\r\nPUB x 1\r\na\r\n");
        let got = c.sync();
        assert!(
            String::from_utf8_lossy(&got).contains("MSG x 1 1\r\na"),
            "{what}"
        );
        let line = if what == "stall" {
            "Leafnode connection closed: Read Error"
        } else {
            "Leafnode parser ERROR"
        };
        assert!(
            srv.wait_log(line, Duration::from_secs(5)).is_some(),
            "{what}: {line}"
        );
    }
}

/// Two servers that are each other's hub: the loop is detected with
/// nats-server's error, whichever kinds the two are.
#[test]
fn loops_between_servers_are_detected() {
    let (rn, go) = (rnatsd_bin(), reference_212_bin());
    for (a_bin, b_bin) in [(&rn, &rn), (&rn, &go), (&go, &rn)] {
        let (pa, pb) = (free_port(), free_port());
        let conf = |name: &str, mine: u16, other: u16| {
            format!(
                "server_name: {name}\nleafnodes {{ port: {mine}, remotes: [ {{ url: \"nats-leaf://127.0.0.1:{other}\" }} ] }}\n"
            )
        };
        let a = ServerProc::start_bin(a_bin, Some(&conf("A", pa, pb)), &[]);
        let b = ServerProc::start_bin(b_bin, Some(&conf("B", pb, pa)), &[]);
        let needle =
            "Loop detected for leafnode account=\"$G\". Delaying attempt to reconnect for 30s";
        let rn_side = if *a_bin == rn { &a } else { &b };
        assert!(
            rn_side.wait_log(needle, Duration::from_secs(10)).is_some(),
            "{a_bin} / {b_bin}: no loop detected"
        );
    }
}

/// What the first of two identical leafnodes gets when the second comes,
/// and whether the second is kept.
fn duplicate(bin: &str) -> (Vec<String>, bool) {
    let lport = free_port();
    let srv = ServerProc::start_bin(bin, Some(&format!("leafnodes {{ port: {lport} }}\n")), &[]);
    let connect = b"CONNECT {\"version\":\"2.12.4\",\"server_id\":\"NFAKE\",\"name\":\"FAKE\",\"cluster\":\"FAKEC\",\"headers\":true,\"compress_mode\":\"off\",\"remote_account\":\"$G\",\"protocol\":3}\r\n";
    let mut first = Raw::connect(lport);
    first.read_line();
    first.send(connect);
    first.read_quiet(Duration::from_millis(300));
    let mut second = Raw::connect(lport);
    second.read_line();
    second.send(connect);
    let got = until_closed(&mut first, Duration::from_secs(5));
    second.send(b"PING\r\n");
    let kept =
        String::from_utf8_lossy(&second.read_quiet(Duration::from_millis(500))).contains("PONG");
    drop(srv);
    (errs(&got), kept)
}

/// A leafnode that connects again while its old connection is still
/// registered replaces it, as in nats-server 2.12.4.
#[test]
fn a_duplicate_leafnode_replaces_the_old_one() {
    let go = duplicate(&reference_212_bin());
    let rn = duplicate(&rnatsd_bin());
    assert_eq!(rn, go);
    assert_eq!(rn.0, ["-ERR 'Duplicate Remote LeafNode Connection'"]);
    assert!(rn.1);
}

/// A remote nobody listens on is reported in nats-server's words.
#[test]
fn unreachable_remotes_are_reported_as_nats_server_reports_them() {
    let port = free_port();
    let conf =
        format!("leafnodes {{ remotes: [ {{ url: \"nats-leaf://127.0.0.1:{port}\" }} ] }}\n");
    let want = format!(
        "Error trying to connect as leafnode to remote server \"127.0.0.1:{port}\" (attempt 1): dial tcp 127.0.0.1:{port}: connect: connection refused"
    );
    for bin in [reference_212_bin(), rnatsd_bin()] {
        let srv = ServerProc::start_bin(&bin, Some(&conf), &[]);
        assert!(
            srv.wait_log(&want, Duration::from_secs(5)).is_some(),
            "{bin}: no line {want:?}"
        );
    }
}

/// What a hub with `min_version` answers a leafnode of 2.12.4.
fn too_old(bin: &str) -> Vec<String> {
    let lport = free_port();
    let srv = ServerProc::start_bin(
        bin,
        Some(&format!(
            "leafnodes {{ port: {lport}, min_version: \"2.13.0\" }}\n"
        )),
        &[],
    );
    let mut r = Raw::connect(lport);
    r.read_line();
    r.send(b"CONNECT {\"version\":\"2.12.4\",\"server_id\":\"NOLD\",\"name\":\"OLD\",\"headers\":true,\"compress_mode\":\"off\",\"remote_account\":\"$G\",\"protocol\":3}\r\n");
    let got = until_closed(&mut r, Duration::from_secs(8));
    drop(srv);
    errs(&got)
}

/// A leafnode older than `min_version` is refused with nats-server's
/// error.
#[test]
fn leafnodes_older_than_min_version_are_refused() {
    let go = too_old(&reference_212_bin());
    let rn = too_old(&rnatsd_bin());
    assert_eq!(rn, go);
    // nats-server's auth timer, still running, ends the connection.
    assert_eq!(
        rn,
        [
            "-ERR 'connection rejected since minimum version required is \"2.13.0\"'",
            "-ERR 'Authentication Timeout'"
        ]
    );
}
