//! Hostile and broken clients: the server keeps serving everyone else,
//! with bounded memory, and never crashes.

mod common;
use common::{Raw, ServerProc};
use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

/// These tests load the machine; they run one at a time so that timing
/// assertions measure the server, not the other tests.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap()
}

fn raise_fd_limit(want: u64) {
    // SAFETY: getrlimit/setrlimit on a valid struct.
    unsafe {
        let mut r = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) == 0 && r.rlim_cur < want {
            r.rlim_cur = want.min(r.rlim_max);
            libc::setrlimit(libc::RLIMIT_NOFILE, &r);
        }
    }
}

/// Round trip of a PING on a healthy client.
fn rtt(r: &mut Raw) -> Duration {
    let t = Instant::now();
    r.sync();
    t.elapsed()
}

/// 1,000 connections dribbling a control line one byte at a time are shut
/// out by the auth timeout, while a normal client keeps fast round trips.
#[test]
fn slowloris_connections_do_not_hurt_others() {
    let _serial = serial();
    raise_fd_limit(8192);
    let srv = ServerProc::start(Some("authorization { user: u, password: p, timeout: 1 }\n"));
    let mut good = srv.raw();
    good.send(b"CONNECT {\"verbose\":false,\"user\":\"u\",\"pass\":\"p\"}\r\n");
    rtt(&mut good);
    let mut slow: Vec<TcpStream> = (0..1000)
        .map(|_| TcpStream::connect(("127.0.0.1", srv.port)).unwrap())
        .collect();
    let start = Instant::now();
    let mut worst = Duration::ZERO;
    let mut i = 0usize;
    while start.elapsed() < Duration::from_millis(1500) {
        for s in slow.iter_mut() {
            let _ = s.write_all(&[b"CONNECT {"[i % 9]]);
        }
        i += 1;
        worst = worst.max(rtt(&mut good));
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        worst < Duration::from_millis(100),
        "round trips stayed fast while 1,000 slow clients dribbled: worst {worst:?}"
    );
    // The auth timeout closed them all.
    let mut closed = 0;
    for s in slow.iter_mut() {
        s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        let mut buf = [0u8; 4096];
        loop {
            match s.read(&mut buf) {
                Ok(0) | Err(_) => {
                    closed += 1;
                    break;
                }
                Ok(_) => continue,
            }
        }
    }
    assert_eq!(closed, 1000);
    rtt(&mut good);
}

/// Malformed input closes only the offending connection.
#[test]
fn garbage_input_closes_only_the_sender() {
    let _serial = serial();
    let srv = ServerProc::start(Some("max_payload: 1KB\nmax_control_line: 256\n"));
    let mut watcher = srv.raw();
    watcher.send(b"CONNECT {\"verbose\":false}\r\nSUB > 1\r\n");
    watcher.sync();
    let inputs: Vec<Vec<u8>> = vec![
        b"PUB foo 99999999999999999999999\r\n".to_vec(),
        b"PUB foo -5\r\nxx\r\n".to_vec(),
        b"PUB foo 3\r\nabcdefgh\r\n".to_vec(),
        b"HPUB foo 10 5\r\n0123456789\r\n".to_vec(),
        vec![b'A'; 10_000],
        b"SUB \xff\xfe\x00 1\r\nPUB \x01\x02 0\r\n\r\n".to_vec(),
        b"\x00\x01\x02\x03\r\n".to_vec(),
        b"CONNECT {\"verbose\":\r\n".to_vec(),
        (0..2000)
            .flat_map(|_| b"PING\r\n".iter().copied())
            .collect(),
    ];
    for input in &inputs {
        let mut s = TcpStream::connect(("127.0.0.1", srv.port)).unwrap();
        let _ = s.write_all(input);
        s.set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        let mut buf = vec![0u8; 1 << 16];
        while let Ok(n) = s.read(&mut buf) {
            if n == 0 {
                break;
            }
        }
    }
    // Everyone else is fine, and nothing leaked to the watcher except what
    // was valid (the zero-length publish to an odd but legal subject).
    let got = watcher.sync();
    let text = String::from_utf8_lossy(&got);
    assert!(!text.contains("abc"), "{text}");
    assert!(srv.child.id() > 0);
    let mut fresh = srv.raw();
    fresh.send(b"CONNECT {\"verbose\":false}\r\nPUB ok 2\r\nhi\r\n");
    fresh.sync();
    assert!(String::from_utf8_lossy(&watcher.sync()).contains("MSG ok 1 2\r\nhi\r\n"));
}

/// Clients vanish mid-message, half-close, or reset: no effect on others.
#[test]
fn abrupt_disconnects_and_half_closed_sockets() {
    let _serial = serial();
    let srv = ServerProc::start(None);
    let mut watcher = srv.raw();
    watcher.send(b"CONNECT {\"verbose\":false}\r\nSUB foo 1\r\n");
    watcher.sync();
    for _ in 0..200 {
        let mut s = TcpStream::connect(("127.0.0.1", srv.port)).unwrap();
        let _ = s.write_all(b"CONNECT {\"verbose\":false}\r\nPUB foo 100\r\nonly part of it");
        drop(s);
    }
    for _ in 0..50 {
        let mut s = TcpStream::connect(("127.0.0.1", srv.port)).unwrap();
        let _ = s.write_all(b"CONNECT {\"verbose\":false}\r\nSUB foo 2\r\n");
        let _ = s.shutdown(Shutdown::Write);
    }
    for _ in 0..50 {
        let s = TcpStream::connect(("127.0.0.1", srv.port)).unwrap();
        let _ = socket_linger_zero(&s);
        drop(s);
    }
    // No partial message was delivered, and the server still routes. (The
    // server's own keep-alive PING may come in between on a slow machine.)
    assert_eq!(without_pings(watcher.sync()), b"");
    let mut p = srv.raw();
    p.send(b"CONNECT {\"verbose\":false}\r\nPUB foo 2\r\nok\r\n");
    p.sync();
    assert_eq!(without_pings(watcher.sync()), b"MSG foo 1 2\r\nok\r\n");
}

/// `got` without the server's `PING\r\n` lines.
fn without_pings(got: Vec<u8>) -> Vec<u8> {
    String::from_utf8_lossy(&got)
        .replace("PING\r\n", "")
        .into_bytes()
}

/// Many concurrent connections: max_connections enforced with Go's error,
/// and memory per connection stays small.
#[test]
fn ten_thousand_connections() {
    let _serial = serial();
    raise_fd_limit(25_000);
    let srv = ServerProc::start(Some("max_connections: 10000\n"));
    let before = rss_kib(srv.child.id());
    let mut conns = Vec::with_capacity(10_000);
    for _ in 0..10_000 {
        let mut s = TcpStream::connect(("127.0.0.1", srv.port)).unwrap();
        s.write_all(b"CONNECT {\"verbose\":false}\r\nPING\r\n")
            .unwrap();
        conns.push(s);
    }
    for s in conns.iter_mut() {
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 1024];
        while !got.windows(6).any(|w| w == b"PONG\r\n") {
            let n = s.read(&mut buf).unwrap();
            assert!(n > 0, "connection closed early");
            got.extend_from_slice(&buf[..n]);
        }
    }
    let after = rss_kib(srv.child.id());
    let per_conn = (after.saturating_sub(before)) * 1024 / 10_000;
    eprintln!("memory per connection: {per_conn} bytes");
    assert!(per_conn < 16 * 1024, "{per_conn} bytes per connection");
    // One more is refused with nats-server's error.
    let mut extra = srv.raw();
    extra.expect(b"-ERR 'maximum connections exceeded'\r\n");
    extra.expect_closed();
    drop(conns);
}

/// Memory stays bounded while a publisher floods a subscriber that never
/// reads: the subscriber is cut at max_pending.
#[test]
fn memory_bounded_under_a_stuck_subscriber() {
    let _serial = serial();
    let srv = ServerProc::start(Some("max_pending: 8MB\n"));
    let mut stuck = srv.raw();
    stuck.send(b"CONNECT {\"verbose\":false}\r\nSUB flood 1\r\n");
    stuck.sync();
    let mut p = srv.raw();
    p.send(b"CONNECT {\"verbose\":false}\r\n");
    let mut msg = b"PUB flood 65536\r\n".to_vec();
    msg.extend_from_slice(&[b'x'; 65536]);
    msg.extend_from_slice(b"\r\n");
    let mut peak = 0;
    for i in 0..2048 {
        p.send(&msg);
        if i % 256 == 0 {
            peak = peak.max(rss_kib(srv.child.id()));
        }
    }
    p.sync();
    peak = peak.max(rss_kib(srv.child.id()));
    assert!(peak < 128 * 1024, "RSS peaked at {peak} KiB");
    assert!(srv
        .wait_log("Slow Consumer Detected", Duration::from_secs(10))
        .is_some());
}

#[tokio::test]
// The guard serializes the heavy tests for the whole test, awaits included.
#[allow(clippy::await_holding_lock)]
async fn abrupt_disconnects_mid_tls_handshake() {
    let _serial = serial();
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
    let dir = common::scratch("hostile-tls");
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["127.0.0.1".into()])
        .unwrap()
        .signed_by(&key, &ca, &ca_key)
        .unwrap();
    std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
    std::fs::write(dir.join("cert.pem"), cert.pem()).unwrap();
    std::fs::write(dir.join("key.pem"), key.serialize_pem()).unwrap();
    let conf = format!(
        "tls {{ cert_file: \"{}\", key_file: \"{}\", timeout: 1 }}\n",
        dir.join("cert.pem").display(),
        dir.join("key.pem").display()
    );
    let srv = ServerProc::start_args(Some(&conf), &["-m", "-1"]);
    let pid = srv.child.id();
    let before = rss_kib(pid);
    // A ClientHello's first bytes: a handshake record header and the start
    // of its body, never finished.
    let partial: &[u8] = &[
        0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03,
    ];
    let mut stuck = Vec::new();
    for i in 0..300 {
        let mut s = TcpStream::connect(("127.0.0.1", srv.port)).unwrap();
        let mut info = [0u8; 1024];
        let _ = s.read(&mut info);
        s.write_all(&partial[..1 + i % partial.len()]).unwrap();
        match i % 3 {
            // Reset mid-handshake.
            0 => {
                let _ = socket_linger_zero(&s);
                drop(s);
            }
            // Half-closed mid-handshake.
            1 => {
                let _ = s.shutdown(Shutdown::Write);
                stuck.push(s);
            }
            // Silent mid-handshake: the TLS timeout closes it.
            _ => stuck.push(s),
        }
    }
    // A real TLS client works meanwhile.
    let c = async_nats::ConnectOptions::new()
        .add_root_certificates(dir.join("ca.pem"))
        .require_tls(true)
        .connect(format!("tls://127.0.0.1:{}", srv.port))
        .await
        .expect("TLS client during the flood");
    let mut sub = c.subscribe("still.here").await.unwrap();
    c.flush().await.unwrap();
    let _ = c.request("_sync", "".into()).await;
    c.publish("still.here", "yes".into()).await.unwrap();
    let m = tokio::time::timeout(Duration::from_secs(5), futures::StreamExt::next(&mut sub))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(m.payload, "yes");
    // The stuck ones are closed by the TLS timeout (1 s).
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let n = common::http_json(srv.http_port, "/varz")["connections"]
            .as_u64()
            .unwrap();
        if n == 1 {
            break;
        }
        assert!(Instant::now() < deadline, "{n} connections left open");
        std::thread::sleep(Duration::from_millis(200));
    }
    let after = rss_kib(pid);
    assert!(after < before + 32 * 1024, "RSS {before} -> {after} KiB");
    drop(stuck);
    let _ = std::fs::remove_dir_all(&dir);
}

/// SO_LINGER 0: closing sends a reset.
fn socket_linger_zero(s: &TcpStream) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let l = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: setsockopt on a valid socket with a valid linger struct.
    let r = unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            &l as *const libc::linger as *const libc::c_void,
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}
