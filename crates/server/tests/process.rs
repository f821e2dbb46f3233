//! The binary as a process: flags, files it writes, logs and signals.

mod common;
use common::{rnatsd_bin, scratch, ServerProc};
use std::process::Command;
use std::time::{Duration, Instant};

fn kill(pid: u32, sig: &str) {
    let st = Command::new("kill")
        .args([&format!("-{sig}"), &pid.to_string()])
        .status()
        .unwrap();
    assert!(st.success());
}

fn wait_exit(srv: &mut ServerProc, t: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + t;
    while Instant::now() < deadline {
        if let Some(st) = srv.child.try_wait().unwrap() {
            return Some(st);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

#[test]
fn version_and_help() {
    let out = Command::new(rnatsd_bin()).arg("-v").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("nats-server: v2.12.4"));
    assert!(lines.next().unwrap().starts_with("rnatsd: v"));
    let out = Command::new(rnatsd_bin())
        .arg("--version")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("nats-server: v2.12.4"));
    let out = Command::new(rnatsd_bin()).arg("-h").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--addr",
        "--port",
        "--http_port",
        "--config",
        "--signal",
        "--log",
        "--auth",
    ] {
        assert!(help.contains(flag), "help lists {flag}");
    }
    let out = Command::new(rnatsd_bin()).arg("--bogus").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("flag provided but not defined: -bogus"));
}

#[test]
fn random_port_log_file_pid_and_ports_files() {
    let dir = scratch("files");
    let log = dir.join("server.log");
    let pid = dir.join("server.pid");
    let mut child = Command::new(rnatsd_bin())
        .args(["-a", "127.0.0.1", "-p", "-1", "-l"])
        .arg(&log)
        .arg("-P")
        .arg(&pid)
        .arg("--ports_file_dir")
        .arg(&dir)
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut text = String::new();
    while Instant::now() < deadline && !text.contains("Server is ready") {
        std::thread::sleep(Duration::from_millis(20));
        text = std::fs::read_to_string(&log).unwrap_or_default();
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(text.contains("[INF] Server is ready"), "{text}");
    let port: u16 = text
        .split("[INF] Listening for client connections on 127.0.0.1:")
        .nth(1)
        .and_then(|r| r.lines().next())
        .and_then(|p| p.trim().parse().ok())
        .expect("listen line names the port");
    assert!(port > 0);
    let pid_text = std::fs::read_to_string(&pid).unwrap_or_default();
    assert_eq!(pid_text.trim(), child.id().to_string());
    // The ports file is removed on a clean exit only; this was a kill.
    let ports = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "ports"))
        .expect("ports file");
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(ports).unwrap()).unwrap();
    assert_eq!(
        doc["nats"][0].as_str().unwrap(),
        format!("nats://127.0.0.1:{port}")
    );
    let first = text.lines().next().unwrap();
    assert!(
        first.starts_with(&format!("[{}] ", child.id()))
            && first.contains(" [INF] Starting nats-server"),
        "{first}"
    );
}

#[test]
fn default_port_is_4222_without_config() {
    let mut srv = ServerProc::start_args(None, &["-p", "4222"]);
    assert_eq!(srv.port, 4222);
    let _ = srv.child.kill();
    // And with no flags at all the same port is chosen.
    let mut child = Command::new(rnatsd_bin())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut ok = false;
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(("127.0.0.1", 4222)).is_ok() {
            ok = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(ok, "rnatsd with no arguments listens on 4222");
}

#[test]
fn sigterm_shuts_down_cleanly() {
    let mut srv = ServerProc::start(None);
    let mut r = srv.raw();
    r.send(b"CONNECT {\"verbose\":false}\r\nPING\r\n");
    r.expect(b"PONG\r\n");
    kill(srv.child.id(), "TERM");
    let st = wait_exit(&mut srv, Duration::from_secs(5)).expect("exited");
    assert!(st.success(), "{st:?}");
    r.expect_closed();
}

#[test]
fn lame_duck_mode_informs_then_closes_clients() {
    let mut srv = ServerProc::start(Some(
        "lame_duck_duration: \"30s\"\nlame_duck_grace_period: \"300ms\"\n",
    ));
    let mut modern = srv.raw();
    modern.send(b"CONNECT {\"verbose\":false,\"protocol\":1}\r\nPING\r\n");
    modern.expect(b"PONG\r\n");
    // nats-server 2.12 follows the first PONG with the connect INFO.
    let connect_info = modern.read_line();
    assert!(
        connect_info.contains("\"connect_info\":true"),
        "{connect_info}"
    );
    let mut old = srv.raw();
    old.send(b"CONNECT {\"verbose\":false}\r\nPING\r\n");
    old.expect(b"PONG\r\n");
    // --signal ldm=<pid> sends SIGUSR2.
    let st = Command::new(rnatsd_bin())
        .args(["--signal", &format!("ldm={}", srv.child.id())])
        .status()
        .unwrap();
    assert!(st.success());
    let info = modern.read_line();
    assert!(
        info.starts_with("INFO {") && info.contains("\"ldm\":true"),
        "{info}"
    );
    // Protocol-0 clients get no async INFO.
    assert_eq!(old.sync(), b"");
    // New connections are refused.
    std::thread::sleep(Duration::from_millis(100));
    assert!(std::net::TcpStream::connect(("127.0.0.1", srv.port)).is_err());
    modern.expect_closed();
    old.expect_closed();
    let st = wait_exit(&mut srv, Duration::from_secs(5)).expect("exited after lame duck");
    assert!(st.success());
}

#[test]
fn sighup_reloads_config_for_new_connections() {
    let mut srv = ServerProc::start(Some("max_payload: 1000\n"));
    let mut before = srv.raw();
    assert!(before.info.contains("\"max_payload\":1000"));
    std::fs::write(srv.dir.join("server.conf"), "max_payload: 2000\n").unwrap();
    kill(srv.child.id(), "HUP");
    assert!(srv
        .wait_log("Reloaded server configuration", Duration::from_secs(5))
        .is_some());
    let after = srv.raw();
    assert!(
        after.info.contains("\"max_payload\":2000"),
        "{}",
        after.info
    );
    before.send(b"CONNECT {\"verbose\":false}\r\nPING\r\n");
    before.expect(b"PONG\r\n");
    // A broken file leaves the server running on the old config.
    std::fs::write(srv.dir.join("server.conf"), "max_payload: {\n").unwrap();
    kill(srv.child.id(), "HUP");
    assert!(srv
        .wait_log("Failed to reload", Duration::from_secs(5))
        .is_some());
    let still = srv.raw();
    assert!(still.info.contains("\"max_payload\":2000"));
    assert!(srv.child.try_wait().unwrap().is_none());
}

#[test]
fn config_test_flag() {
    let dir = scratch("t-flag");
    let good = dir.join("good.conf");
    std::fs::write(
        &good,
        "port: 4222\nmax_payload: 4194304\nwebsocket { port: 443, no_tls: true }\n",
    )
    .unwrap();
    let out = Command::new(rnatsd_bin())
        .args(["-t", "-c", good.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bad = dir.join("bad.conf");
    std::fs::write(&bad, "foo: 1\n").unwrap();
    let out = Command::new(rnatsd_bin())
        .args(["-t", "-c", bad.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.conf:1:") && err.contains("unknown field \"foo\""),
        "{err}"
    );
}

#[test]
fn debug_and_trace_logging() {
    let srv = ServerProc::start_args(None, &["-DV"]);
    let mut r = srv.raw();
    r.send(b"CONNECT {\"verbose\":false,\"pass\":\"hunter2\"}\r\nSUB foo 1\r\nPING\r\n");
    r.expect(b"PONG\r\n");
    drop(r);
    let line = srv
        .wait_log("<<- [SUB foo 1]", Duration::from_secs(5))
        .expect("trace of SUB");
    assert!(line.contains("[TRC]"));
    let mut all = srv.drain_log().join("\n");
    std::thread::sleep(Duration::from_millis(200));
    all.push_str(&srv.drain_log().join("\n"));
    assert!(!all.contains("hunter2"), "secrets never logged");
}
