//! Black-box tests of the client protocol over raw TCP, with the exact bytes
//! nats-server sends.

mod common;
use common::ServerProc;
use std::time::Duration;

const QUIET: &[u8] = b"CONNECT {\"verbose\":false,\"pedantic\":false,\"headers\":true}\r\n";

#[test]
fn info_has_go_fields_and_format() {
    let srv = ServerProc::start(None);
    let r = srv.raw();
    let json = r.info.strip_prefix("INFO ").unwrap();
    assert!(
        json.ends_with("} "),
        "INFO ends with a space before CRLF: {json:?}"
    );
    let v: serde_json::Value = serde_json::from_str(json.trim_end()).unwrap();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(|k| k.as_str()).collect();
    assert_eq!(
        keys,
        vec![
            "server_id",
            "server_name",
            "version",
            "proto",
            "git_commit",
            "go",
            "host",
            "port",
            "headers",
            "max_payload",
            "client_id",
            "client_ip",
            "api_lvl",
            "xkey"
        ]
    );
    let id = v["server_id"].as_str().unwrap();
    assert!(id.starts_with('N') && id.len() == 56, "{id}");
    assert_eq!(v["version"], "2.12.4");
    assert_eq!(v["proto"], 1);
    assert_eq!(v["headers"], true);
    assert_eq!(v["max_payload"], 1048576);
    assert_eq!(v["port"], srv.port);
    assert_eq!(v["client_ip"], "127.0.0.1");
}

#[test]
fn defaults_are_verbose_and_pedantic_until_connect() {
    let srv = ServerProc::start(None);
    let mut r = srv.raw();
    r.send(b"SUB foo 1\r\nPUB foo 2\r\nhi\r\n");
    r.expect(b"+OK\r\n+OK\r\nMSG foo 1 2\r\nhi\r\n");
    r.send(b"PUB foo.* 2\r\nhi\r\n");
    r.expect(b"-ERR 'Invalid Publish Subject'\r\n+OK\r\n");
    // CONNECT without "verbose" keeps verbose on.
    r.send(b"CONNECT {}\r\nPING\r\n");
    r.expect(b"+OK\r\nPONG\r\n");
}

#[test]
fn pub_sub_reply_wildcards_and_case() {
    let srv = ServerProc::start(None);
    let mut r = srv.raw();
    r.send(QUIET);
    r.send(b"sub foo.* 1\r\nSUB > 2\r\nSuB foo.bar 3\r\n");
    r.send(b"pub foo.bar reply.x 5\r\nhello\r\n");
    let got = r.sync();
    assert_eq!(
        String::from_utf8_lossy(&got),
        "MSG foo.bar 2 reply.x 5\r\nhello\r\nMSG foo.bar 3 reply.x 5\r\nhello\r\nMSG foo.bar 1 reply.x 5\r\nhello\r\n"
    );
    r.send(b"PUB a.b.c 0\r\n\r\n");
    assert_eq!(r.sync(), b"MSG a.b.c 2 0\r\n\r\n");
}

#[test]
fn json_subjects_from_nestjs_work() {
    let srv = ServerProc::start(None);
    let mut r = srv.raw();
    r.send(QUIET);
    r.send(b"SUB {\"cmd\":\"agent-spinup\"} q 1\r\n");
    r.send(b"PUB {\"cmd\":\"agent-spinup\"} _INBOX.x 2\r\n{}\r\n");
    assert_eq!(
        r.sync(),
        b"MSG {\"cmd\":\"agent-spinup\"} 1 _INBOX.x 2\r\n{}\r\n"
    );
}

#[test]
fn headers_hpub_hmsg_and_stripping() {
    let srv = ServerProc::start(None);
    let mut h = srv.raw();
    h.send(QUIET);
    h.send(b"SUB foo 1\r\n");
    h.sync();
    let mut plain = srv.raw();
    plain.send(b"CONNECT {\"verbose\":false}\r\nSUB foo 9\r\n");
    plain.sync();
    h.send(b"HPUB foo r 18 20\r\nNATS/1.0\r\nA: B\r\n\r\nhi\r\n");
    assert_eq!(
        String::from_utf8_lossy(&h.sync()),
        "HMSG foo 1 r 18 20\r\nNATS/1.0\r\nA: B\r\n\r\nhi\r\n"
    );
    assert_eq!(plain.sync(), b"MSG foo 9 r 2\r\nhi\r\n");
    // HPUB from a client that did not announce headers closes it.
    plain.send(b"HPUB foo 12 14\r\nNATS/1.0\r\n\r\nhi\r\n");
    plain.expect_closed();
}

#[test]
fn no_responders_status_at_once() {
    let srv = ServerProc::start(None);
    let mut r = srv.raw();
    r.send(b"CONNECT {\"verbose\":false,\"headers\":true,\"no_responders\":true}\r\n");
    r.send(b"SUB _INBOX.abc.* 7\r\nPUB nobody _INBOX.abc.1 2\r\nhi\r\n");
    assert_eq!(
        r.sync(),
        b"HMSG _INBOX.abc.1 7 38 38\r\nNATS/1.0 503\r\nNats-Subject: nobody\r\n\r\n\r\n"
    );
    // Without no_responders nothing comes back.
    let mut q = srv.raw();
    q.send(b"CONNECT {\"verbose\":false,\"headers\":true}\r\nSUB in 1\r\nPUB nobody in 0\r\n\r\n");
    assert_eq!(q.sync(), b"");
    // no_responders without headers is refused.
    let mut bad = srv.raw();
    bad.send(b"CONNECT {\"no_responders\":true}\r\n");
    bad.expect(b"-ERR 'no responders requires headers support'\r\n");
    bad.expect_closed();
}

#[test]
fn unsub_and_auto_unsubscribe() {
    let srv = ServerProc::start(None);
    let mut r = srv.raw();
    r.send(QUIET);
    r.send(b"SUB foo 1\r\nUNSUB 1 2\r\n");
    r.send(b"PUB foo 1\r\na\r\nPUB foo 1\r\nb\r\nPUB foo 1\r\nc\r\n");
    assert_eq!(r.sync(), b"MSG foo 1 1\r\na\r\nMSG foo 1 1\r\nb\r\n");
    r.send(b"SUB bar 2\r\nUNSUB 2\r\nPUB bar 1\r\nx\r\nUNSUB 99\r\n");
    assert_eq!(r.sync(), b"");
    // The sid is free again after auto-unsubscribe.
    r.send(b"SUB foo 1\r\nPUB foo 1\r\nz\r\n");
    assert_eq!(r.sync(), b"MSG foo 1 1\r\nz\r\n");
}

#[test]
fn echo_off_skips_own_messages() {
    let srv = ServerProc::start(None);
    let mut r = srv.raw();
    r.send(b"CONNECT {\"verbose\":false,\"echo\":false}\r\nSUB foo 1\r\nPUB foo 1\r\na\r\n");
    assert_eq!(r.sync(), b"");
    let mut other = srv.raw();
    other.send(b"CONNECT {\"verbose\":false}\r\nPUB foo 1\r\nb\r\n");
    other.sync();
    assert_eq!(r.sync(), b"MSG foo 1 1\r\nb\r\n");
}

#[test]
fn queue_group_delivers_to_one_member() {
    let srv = ServerProc::start(None);
    let mut r = srv.raw();
    r.send(QUIET);
    r.send(b"SUB foo q 1\r\nSUB foo q 2\r\nSUB foo 3\r\n");
    for _ in 0..20 {
        r.send(b"PUB foo 1\r\na\r\n");
    }
    let got = String::from_utf8(r.sync()).unwrap();
    let q = got.matches("MSG foo 1 1").count() + got.matches("MSG foo 2 1").count();
    assert_eq!(q, 20);
    assert_eq!(got.matches("MSG foo 3 1").count(), 20);
}

#[test]
fn errors_that_keep_the_connection() {
    let srv = ServerProc::start(Some("max_subscriptions: 1\n"));
    let mut r = srv.raw();
    r.send(b"SUB foo.. 1\r\n");
    r.expect(b"-ERR 'Invalid Subject'\r\n");
    r.send(b"SUB a 1\r\nSUB b 2\r\nPING\r\n");
    r.expect(b"+OK\r\n-ERR 'maximum subscriptions exceeded'\r\nPONG\r\n");
}

fn closes_with(srv: &ServerProc, input: &[u8], want: &[u8]) {
    let mut r = srv.raw();
    r.send(input);
    r.expect(want);
    r.expect_closed();
}

#[test]
fn errors_that_close_the_connection() {
    let srv = ServerProc::start(Some("max_payload: 10\nmax_control_line: 64\n"));
    closes_with(&srv, b"XYZ\r\n", b"-ERR 'Unknown Protocol Operation'\r\n");
    closes_with(
        &srv,
        b"MSG foo 1 2\r\nhi\r\n",
        b"-ERR 'Unknown Protocol Operation'\r\n",
    );
    closes_with(
        &srv,
        b"PUB foo 3\r\nabcd\r\n",
        b"-ERR 'Unknown Protocol Operation'\r\n",
    );
    closes_with(
        &srv,
        b"PUB foo 11\r\n",
        b"-ERR 'Maximum Payload Violation'\r\n",
    );
    let long = format!("SUB {} 1\r\n", "a".repeat(100));
    closes_with(
        &srv,
        long.as_bytes(),
        b"-ERR 'maximum control line exceeded'\r\n",
    );
    closes_with(
        &srv,
        b"CONNECT {\"protocol\":2}\r\n",
        b"-ERR 'invalid client protocol'\r\n",
    );
    // These close without an -ERR, as nats-server does.
    for input in [
        &b"PUB foo\r\n"[..],
        b"PUB foo x\r\n",
        b"SUB foo\r\n",
        b"CONNECT {bad\r\n",
        b"-ERR 'boom'\r\n",
    ] {
        closes_with(&srv, input, b"");
    }
    // A payload at the limit is fine.
    let mut r = srv.raw();
    r.send(b"PUB foo 10\r\n0123456789\r\n");
    r.expect(b"+OK\r\n");
}

#[test]
fn split_and_pipelined_input() {
    let srv = ServerProc::start(None);
    let mut r = srv.raw();
    let script: &[u8] =
        b"CONNECT {\"verbose\":false}\r\nSUB foo 1\r\nPUB foo 5\r\nhello\r\nPING\r\n";
    for b in script {
        r.send(&[*b]);
    }
    r.expect(b"MSG foo 1 5\r\nhello\r\nPONG\r\n");
    let mut many = Vec::new();
    for i in 0..1000 {
        many.extend_from_slice(format!("PUB foo 4\r\n{i:04}\r\n").as_bytes());
    }
    r.send(&many);
    let got = r.sync();
    assert_eq!(got.len(), 1000 * "MSG foo 1 4\r\n0000\r\n".len());
}

#[test]
fn max_connections_sends_info_then_error() {
    let srv = ServerProc::start(Some("max_connections: 1\n"));
    let _a = srv.raw();
    let mut b = srv.raw();
    b.expect(b"-ERR 'maximum connections exceeded'\r\n");
    b.expect_closed();
}

#[test]
fn server_pings_and_stale_connection() {
    let srv = ServerProc::start(Some("ping_interval: \"300ms\"\nping_max: 2\n"));
    let mut r = srv.raw();
    r.send(QUIET);
    r.expect(b"PING\r\n");
    r.expect(b"PING\r\n");
    r.expect(b"-ERR 'Stale Connection'\r\n");
    r.expect_closed();
    // A client that answers stays.
    let mut ok = srv.raw();
    ok.send(QUIET);
    for _ in 0..3 {
        ok.expect(b"PING\r\n");
        ok.send(b"PONG\r\n");
    }
    assert_eq!(ok.sync(), b"");
}

#[test]
fn auth_token_user_and_timeout() {
    let srv = ServerProc::start_args(None, &["--auth", "s3cr3t"]);
    let mut r = srv.raw();
    assert!(r.info.contains("\"auth_required\":true"), "{}", r.info);
    r.send(b"PING\r\n");
    r.expect(b"-ERR 'Authorization Violation'\r\n");
    r.expect_closed();
    let mut r = srv.raw();
    r.send(b"CONNECT {\"verbose\":false,\"auth_token\":\"nope\"}\r\n");
    r.expect(b"-ERR 'Authorization Violation'\r\n");
    r.expect_closed();
    let mut r = srv.raw();
    r.send(b"CONNECT {\"verbose\":false,\"auth_token\":\"s3cr3t\"}\r\nPING\r\n");
    r.expect(b"PONG\r\n");
    let srv = ServerProc::start(Some(
        "authorization { user: a, password: b, timeout: 0.5 }\n",
    ));
    let mut r = srv.raw();
    r.send(b"CONNECT {\"verbose\":false,\"user\":\"a\",\"pass\":\"b\"}\r\nPING\r\n");
    r.expect(b"PONG\r\n");
    let mut idle = srv.raw();
    std::thread::sleep(Duration::from_millis(600));
    idle.expect(b"-ERR 'Authentication Timeout'\r\n");
    idle.expect_closed();
}

#[test]
fn verbose_ok_for_each_op() {
    let srv = ServerProc::start(None);
    let mut r = srv.raw();
    r.send(b"CONNECT {\"verbose\":true}\r\nSUB a 1\r\nUNSUB 1\r\nPUB a 0\r\n\r\n");
    r.expect(b"+OK\r\n+OK\r\n+OK\r\n+OK\r\n");
}

#[test]
fn user_and_pass_flags() {
    let srv = ServerProc::start_args(None, &["--user", "alice", "--pass", "s3cr3t"]);
    let mut r = srv.raw();
    assert!(r.info.contains("\"auth_required\":true"));
    r.send(b"CONNECT {\"verbose\":false,\"user\":\"alice\",\"pass\":\"s3cr3t\"}\r\nPING\r\n");
    r.expect(b"PONG\r\n");
    let mut bad = srv.raw();
    bad.send(b"CONNECT {\"verbose\":false,\"user\":\"alice\",\"pass\":\"nope\"}\r\n");
    bad.expect(b"-ERR 'Authorization Violation'\r\n");
    bad.expect_closed();
}

/// A subscriber that stops reading is closed when a flush to it blocks
/// longer than write_deadline, while max_pending is not reached.
#[test]
fn write_deadline_closes_a_stuck_reader() {
    let srv = ServerProc::start(Some(
        "write_deadline: \"300ms\"\nmax_pending: 512MB\nmax_payload: 1MB\n",
    ));
    let mut stuck = srv.raw();
    stuck.send(b"CONNECT {\"verbose\":false}\r\nSUB feed 1\r\n");
    assert_eq!(stuck.sync(), b"");
    let mut publisher = srv.raw();
    publisher.send(b"CONNECT {\"verbose\":false}\r\n");
    let mut msg = b"PUB feed 65536\r\n".to_vec();
    msg.extend_from_slice(&[b'x'; 65536]);
    msg.extend_from_slice(b"\r\n");
    // 64 MB: far more than the socket buffers hold, far less than max_pending.
    for _ in 0..1024 {
        publisher.send(&msg);
    }
    assert_eq!(publisher.sync(), b"");
    let line = srv
        .wait_log("Slow Consumer Detected", Duration::from_secs(10))
        .expect("slow consumer logged");
    // The first client (ids 1 to 4 are nats-server's internal clients).
    assert!(line.contains("cid:5"), "{line}");
    stuck.expect_closed_after_draining();
    // The publisher is unaffected.
    publisher.send(b"PING\r\n");
    publisher.expect(b"PONG\r\n");
}

/// With the default host, the client port (and monitoring) take IPv6 and
/// IPv4 clients alike, as nats-server's listeners do, and INFO names each
/// client's address as it is.
#[test]
fn default_host_listens_on_ipv6_and_ipv4_as_nats_server() {
    use std::io::{BufRead, BufReader};
    let mut seen = Vec::new();
    for bin in [common::reference_bin(), common::rnatsd_bin()] {
        let port = common::free_port();
        let p = port.to_string();
        let _srv = ServerProc::start_bin(&bin, None, &["-p", &p]);
        let mut ips = Vec::new();
        for host in ["::1", "127.0.0.1"] {
            let ip = std::net::TcpStream::connect((host, port)).map(|s| {
                s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
                let mut line = String::new();
                BufReader::new(s).read_line(&mut line).unwrap();
                let info: serde_json::Value =
                    serde_json::from_str(line.trim().trim_start_matches("INFO ")).unwrap();
                info["client_ip"].clone()
            });
            ips.push(ip.map_err(|e| e.kind()));
        }
        seen.push(ips);
    }
    assert_eq!(seen[0], seen[1]);
    assert_eq!(seen[1][1], Ok(serde_json::json!("127.0.0.1")));
    // Where the machine has IPv6 loopback, both take IPv6 clients.
    if std::net::TcpListener::bind("[::1]:0").is_ok() {
        assert_eq!(seen[1][0], Ok(serde_json::json!("::1")));
    }
}
