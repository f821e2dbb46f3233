//! Test helpers: start a server binary on a free port, and talk to it over
//! raw TCP with exact bytes.
#![allow(dead_code)]

pub mod js;
pub mod jwt;
pub mod pki;
pub mod route;
pub mod ws;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A running server process, killed on drop.
pub struct ServerProc {
    pub child: Child,
    pub port: u16,
    /// Monitoring port from the `Starting http monitor on` line (0: none).
    pub http_port: u16,
    /// Log lines read while starting, up to `Server is ready`.
    pub startup_log: Vec<String>,
    pub log: mpsc::Receiver<String>,
    pub dir: PathBuf,
}

/// Path of the reference nats-server: `RNATSD_REFERENCE` when set, else
/// nats-server 2.12.4 (see [`reference_212_bin`]).
pub fn reference_bin() -> String {
    if let Ok(p) = std::env::var("RNATSD_REFERENCE") {
        return p;
    }
    reference_212_bin()
}

/// Path of nats-server 2.12.4, the release rnatsd matches:
/// `RNATSD_REFERENCE_212` when set, else where `scripts/reference.sh`
/// installs it (scripts/test.sh runs that first).
pub fn reference_212_bin() -> String {
    if let Ok(p) = std::env::var("RNATSD_REFERENCE_212") {
        return p;
    }
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/reference/nats-server-2.12.4/bin/nats-server");
    if !p.exists() {
        panic!(
            "nats-server 2.12.4 is not installed: run scripts/reference.sh (scripts/test.sh does)"
        );
    }
    p.display().to_string()
}

/// Path of the rnatsd binary under test.
pub fn rnatsd_bin() -> String {
    env!("CARGO_BIN_EXE_rnatsd").to_string()
}

/// The `routes` of server `i` of a full mesh on route `ports`: every other
/// server's, quoted and comma-separated.
pub fn mesh_routes(ports: &[u16], i: usize) -> String {
    ports
        .iter()
        .enumerate()
        .filter(|(j, _)| *j != i)
        .map(|(_, p)| format!("\"nats://127.0.0.1:{p}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A scratch directory unique to this test process and name.
pub fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("rnatsd-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

impl ServerProc {
    /// Starts `bin` with an optional config text and extra args, on a
    /// random port on 127.0.0.1, and waits until it is ready.
    pub fn start_bin(bin: &str, config: Option<&str>, args: &[&str]) -> ServerProc {
        let dir = scratch(&format!("{}", fastrand_u64()));
        let mut cmd = Command::new(bin);
        if let Some(c) = config {
            let path = dir.join("server.conf");
            std::fs::write(&path, c).unwrap();
            cmd.arg("-c").arg(&path);
        }
        if !args.contains(&"-p") {
            cmd.args(["-a", "127.0.0.1", "-p", "-1"]);
        }
        cmd.args(args);
        cmd.stdout(Stdio::null()).stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("starting {bin}: {e}"));
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut port = 0;
        let mut http_port = 0;
        let mut startup_log = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = rx
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("{bin} did not become ready"));
            if let Some(rest) = line.split("Listening for client connections on ").nth(1) {
                port = rest.rsplit(':').next().unwrap().trim().parse().unwrap();
            }
            if let Some(p) = monitor_port(&line) {
                http_port = p;
            }
            let ready = line.contains("Server is ready");
            startup_log.push(line);
            if ready {
                break;
            }
        }
        assert!(port > 0, "no listen line");
        ServerProc {
            child,
            port,
            http_port,
            startup_log,
            log: rx,
            dir,
        }
    }

    /// Starts rnatsd.
    pub fn start(config: Option<&str>) -> ServerProc {
        Self::start_bin(&rnatsd_bin(), config, &[])
    }

    /// Starts rnatsd with extra args.
    pub fn start_args(config: Option<&str>, args: &[&str]) -> ServerProc {
        Self::start_bin(&rnatsd_bin(), config, args)
    }

    /// True when a startup log line contains `needle`.
    pub fn logged(&self, needle: &str) -> bool {
        self.startup_log.iter().any(|l| l.contains(needle))
    }

    /// The port named by a startup log line containing `needle` (the text
    /// after the last `:` of that line).
    pub fn logged_port(&self, needle: &str) -> Option<u16> {
        self.startup_log
            .iter()
            .find(|l| l.contains(needle))
            .and_then(|l| l.rsplit(':').next())
            .and_then(|p| p.trim().trim_end_matches('/').parse().ok())
    }

    /// `nats://127.0.0.1:port`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// A raw connection, with INFO already read.
    pub fn raw(&self) -> Raw {
        let mut r = Raw::connect(self.port);
        let info = r.read_line();
        assert!(info.starts_with("INFO {"), "{info}");
        r.info = info;
        r
    }

    /// Log lines received so far.
    pub fn drain_log(&self) -> Vec<String> {
        self.log.try_iter().collect()
    }

    /// Waits up to `t` for a log line containing `needle`.
    pub fn wait_log(&self, needle: &str, t: Duration) -> Option<String> {
        let deadline = Instant::now() + t;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.log.recv_timeout(left) {
                Ok(l) if l.contains(needle) => return Some(l),
                Ok(_) => {}
                Err(_) => return None,
            }
        }
    }
}

impl Drop for ServerProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The port of a `Starting http monitor on HOST:PORT` log line.
pub fn monitor_port(line: &str) -> Option<u16> {
    let rest = line.split("Starting http monitor on ").nth(1)?;
    rest.rsplit(':').next()?.trim().parse().ok()
}

fn fastrand_u64() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    t ^ N
        .fetch_add(1, Ordering::Relaxed)
        .wrapping_mul(0x9E3779B97F4A7C15)
}

/// A raw TCP client.
pub struct Raw {
    pub s: TcpStream,
    pub info: String,
    buf: Vec<u8>,
}

impl Raw {
    /// Connects without reading anything. A refused connection is tried
    /// again for up to 5 s: a server opens its leafnode, route and other
    /// listeners only after it logs that it is ready.
    pub fn connect(port: u16) -> Raw {
        let deadline = Instant::now() + Duration::from_secs(5);
        let s = loop {
            match TcpStream::connect(("127.0.0.1", port)) {
                Ok(s) => break s,
                Err(e)
                    if e.kind() == std::io::ErrorKind::ConnectionRefused
                        && Instant::now() < deadline =>
                {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) => panic!("connect to port {port}: {e}"),
            }
        };
        s.set_nodelay(true).unwrap();
        Raw {
            s,
            info: String::new(),
            buf: Vec::new(),
        }
    }

    /// Sends bytes as they are.
    pub fn send(&mut self, b: &[u8]) {
        self.s.write_all(b).unwrap();
    }

    fn fill(&mut self, deadline: Instant) -> bool {
        fill(&mut self.s, &mut self.buf, deadline)
    }

    /// Reads one CRLF-terminated line (without the CRLF).
    pub fn read_line(&mut self) -> String {
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut from = 0;
        loop {
            if let Some(i) = find_from(&self.buf, b"\r\n", from) {
                let line: Vec<u8> = self.buf.drain(..i + 2).collect();
                return String::from_utf8_lossy(&line[..i]).into_owned();
            }
            from = self.buf.len();
            if !self.fill(deadline) {
                panic!("no line; have {:?}", String::from_utf8_lossy(&self.buf));
            }
        }
    }

    /// Reads exactly `want.len()` bytes and compares them with `want`.
    pub fn expect(&mut self, want: &[u8]) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.buf.len() < want.len() {
            if !self.fill(deadline) {
                break;
            }
        }
        let n = want.len().min(self.buf.len());
        let got: Vec<u8> = self.buf.drain(..n).collect();
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(want),
            "unexpected bytes"
        );
    }

    /// Everything that arrives until the connection is quiet for `quiet`.
    pub fn read_quiet(&mut self, quiet: Duration) -> Vec<u8> {
        loop {
            if !self.fill(Instant::now() + quiet) {
                return std::mem::take(&mut self.buf);
            }
        }
    }

    /// Sends PING and returns everything before the PONG.
    pub fn sync(&mut self) -> Vec<u8> {
        self.send(b"PING\r\n");
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut from = 0;
        loop {
            if let Some(i) = find_from(&self.buf, b"PONG\r\n", from) {
                let mut before: Vec<u8> = self.buf.drain(..i + 6).collect();
                before.truncate(i);
                return before;
            }
            from = self.buf.len();
            if !self.fill(deadline) {
                panic!("no PONG; have {:?}", String::from_utf8_lossy(&self.buf));
            }
        }
    }

    /// Reads and discards whatever is buffered until the server closes the
    /// connection (within 30 s).
    pub fn expect_closed_after_draining(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut tmp = vec![0u8; 1 << 20];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "connection not closed");
            self.s.set_read_timeout(Some(left)).unwrap();
            match self.s.read(&mut tmp) {
                Ok(0) => return,
                Ok(_) => continue,
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return,
                Err(e) => panic!("connection not closed: {e}"),
            }
        }
    }

    /// Asserts that the server closes the connection (after any bytes).
    pub fn expect_closed(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "connection not closed");
            self.s.set_read_timeout(Some(left)).unwrap();
            let mut tmp = [0u8; 4096];
            match self.s.read(&mut tmp) {
                Ok(0) => return,
                Ok(_) => continue,
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return,
                Err(e) => panic!("connection not closed: {e}"),
            }
        }
    }
}

/// Appends what one read of `s` returns before `deadline` to `buf`; false
/// when the deadline passed, the peer closed or the read failed.
pub fn fill(s: &mut TcpStream, buf: &mut Vec<u8>, deadline: Instant) -> bool {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return false;
    }
    s.set_read_timeout(Some(left)).unwrap();
    let mut tmp = [0u8; 65536];
    match s.read(&mut tmp) {
        Ok(0) | Err(_) => false,
        Ok(n) => {
            buf.extend_from_slice(&tmp[..n]);
            true
        }
    }
}

/// The first `needle` in `hay` that ends after `from`: a caller that keeps
/// appending to `hay` passes the length it had already searched, so each
/// byte is scanned once however many reads a long message takes.
pub fn find_from(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    let start = from.saturating_sub(needle.len() - 1);
    hay.get(start..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| start + i)
}

/// GET on a monitoring port (plain HTTP/1.0), parsed as JSON.
pub fn http_json(port: u16, path: &str) -> serde_json::Value {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").unwrap();
    let mut body = String::new();
    s.read_to_string(&mut body).unwrap();
    let json = body.split("\r\n\r\n").nth(1).unwrap_or_default();
    serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {body}"))
}

/// A free TCP port on 127.0.0.1 (for listeners a test must name).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
