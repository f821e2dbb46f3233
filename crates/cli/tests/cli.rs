//! The `rnats` binary against a real rnatsd.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Server {
    child: Child,
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn rnats() -> Command {
    Command::new(env!("CARGO_BIN_EXE_rnats"))
}

fn server() -> Server {
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_rnats")).with_file_name("rnatsd");
    assert!(
        bin.exists(),
        "build rnatsd first (cargo test --workspace does)"
    );
    let mut child = Command::new(bin)
        .args(["-a", "127.0.0.1", "-p", "-1"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut port = 0;
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(p) = line
            .split("Listening for client connections on 127.0.0.1:")
            .nth(1)
        {
            port = p.trim().parse().unwrap();
        }
        if line.contains("Server is ready") {
            break;
        }
    }
    std::thread::spawn(move || for _ in lines {});
    assert!(port > 0);
    Server {
        child,
        url: format!("nats://127.0.0.1:{port}"),
    }
}

fn wait_output(mut child: Child, t: Duration) -> String {
    let deadline = Instant::now() + t;
    while Instant::now() < deadline {
        if child.try_wait().unwrap().is_some() {
            let out = child.wait_with_output().unwrap();
            return String::from_utf8_lossy(&out.stdout).into_owned();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    panic!("command did not finish");
}

#[test]
fn pub_sub_req_reply() {
    let srv = server();
    let sub = rnats()
        .args(["-s", &srv.url, "sub", "greet.*", "--count", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let reply = rnats()
        .args(["-s", &srv.url, "reply", "svc", "pong", "--count", "1"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Publish until the subscriber (which may still be connecting) got one.
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut sub = Some(sub);
    let mut got = String::new();
    while Instant::now() < deadline {
        let st = rnats()
            .args(["-s", &srv.url, "pub", "greet.world", "hello", "-H", "k:v"])
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(st.success());
        if sub.as_mut().unwrap().try_wait().unwrap().is_some() {
            got = wait_output(sub.take().unwrap(), Duration::from_secs(1));
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(got.contains("[greet.world] 5 bytes"), "{got}");
    assert!(got.contains("k: v") && got.contains("hello"), "{got}");
    let mut out = String::new();
    for _ in 0..50 {
        let o = rnats()
            .args(["-s", &srv.url, "req", "svc", "ping", "--timeout-ms", "500"])
            .output()
            .unwrap();
        if o.status.success() {
            out = String::from_utf8_lossy(&o.stdout).into_owned();
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(out.contains("pong"), "{out}");
    wait_output(reply, Duration::from_secs(5));
}

#[test]
fn bench_json_counts_deliveries() {
    let srv = server();
    let o = rnats()
        .args([
            "-s", &srv.url, "bench", "b", "--msgs", "2000", "--size", "32", "--sub", "2", "--json",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["delivered"], 4000);
    assert_eq!(v["published"], 2000);
    let o = rnats()
        .args([
            "-s", &srv.url, "bench", "q", "--msgs", "3000", "--sub", "3", "--queue", "--json",
        ])
        .output()
        .unwrap();
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["delivered"], 3000);
    let o = rnats()
        .args([
            "-s",
            &srv.url,
            "bench",
            "r",
            "--msgs",
            "500",
            "--request",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["delivered"], 500);
    assert!(v["latency_us"]["p99"].as_u64().unwrap() > 0);
    // Numbered messages from two publishers: every subscriber sees each
    // publisher's sequence in order, without gaps.
    for extra in [&[][..], &["--queue"][..]] {
        let o = rnats()
            .args([
                "-s", &srv.url, "bench", "s", "--msgs", "4000", "--size", "16", "--pub", "2",
                "--sub", "2", "--seq", "--json",
            ])
            .args(extra)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(v["seq_errors"], 0);
        assert!(v["delivered"].as_u64().unwrap() >= 4000);
    }
}
