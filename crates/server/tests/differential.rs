//! Differential tests: the same raw client sessions run against the
//! reference nats-server and against rnatsd; what each connection receives
//! must be identical once volatile INFO fields (ids, ports) are masked.
//!
//! Scenarios live in `tests/scenarios/*.scn`. A file holds scenarios, each
//! started by `=== name`. Lines:
//! - `config <line>`: a line of the server config (both servers get it)
//! - `conn <name>`: open a connection (its INFO is recorded, masked)
//! - `send <name> <bytes>`: send bytes; `\r`, `\n`, `\t`, `\\` and `\xNN`
//!   escapes are decoded, nothing is added
//! - `sleep <ms>`: wait
//! - `close <name>`: close a connection
//!
//! After every step each connection is read until it has been quiet for a
//! moment; the transcript records who received what after which step.

mod common;
use common::{reference_bin, ServerProc};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

const QUIET: Duration = Duration::from_millis(60);

#[derive(Debug, Clone)]
struct Scenario {
    name: String,
    config: Vec<String>,
    steps: Vec<Step>,
}

#[derive(Debug, Clone)]
enum Step {
    Conn(String),
    Send(String, Vec<u8>),
    Sleep(u64),
    Close(String),
}

fn unescape(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 1 < b.len() {
            match b[i + 1] {
                b'r' => out.push(b'\r'),
                b'n' => out.push(b'\n'),
                b't' => out.push(b'\t'),
                b'\\' => out.push(b'\\'),
                b'x' if i + 3 < b.len() => {
                    let h = std::str::from_utf8(&b[i + 2..i + 4]).unwrap();
                    out.push(u8::from_str_radix(h, 16).unwrap());
                    i += 2;
                }
                other => panic!("bad escape \\{}", other as char),
            }
            i += 2;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

fn parse_file(path: &Path) -> Vec<Scenario> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut out: Vec<Scenario> = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim_end();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(name) = line.strip_prefix("=== ") {
            out.push(Scenario {
                name: format!("{}/{}", path.file_stem().unwrap().to_string_lossy(), name),
                config: Vec::new(),
                steps: Vec::new(),
            });
            continue;
        }
        let sc = out
            .last_mut()
            .unwrap_or_else(|| panic!("{}:{}: step before '=== name'", path.display(), n + 1));
        let (cmd, rest) = line.split_once(' ').unwrap_or((line, ""));
        match cmd {
            "config" => sc.config.push(rest.to_string()),
            "conn" => sc.steps.push(Step::Conn(rest.to_string())),
            "send" => {
                let (who, data) = rest.split_once(' ').expect("send <conn> <bytes>");
                sc.steps.push(Step::Send(who.to_string(), unescape(data)));
            }
            "sleep" => sc.steps.push(Step::Sleep(rest.parse().unwrap())),
            "close" => sc.steps.push(Step::Close(rest.to_string())),
            other => panic!("{}:{}: unknown step {other:?}", path.display(), n + 1),
        }
    }
    out
}

/// Masks the volatile fields of an INFO line.
fn mask_info(line: &str) -> String {
    let json = line.trim_start_matches("INFO ").trim_end();
    let mut v: serde_json::Value = match serde_json::from_str(json) {
        Ok(v) => v,
        Err(_) => return line.to_string(),
    };
    if let Some(o) = v.as_object_mut() {
        for k in [
            "server_id",
            "server_name",
            "host",
            "port",
            "client_ip",
            "nonce",
            "go",
        ] {
            if o.contains_key(k) {
                o.insert(k.into(), "*".into());
            }
        }
        // nats-server numbers its internal clients partly in the background
        // (the first client is 4 or 5), so only the id's type is compared.
        if let Some(c) = o.get("client_id") {
            let ok = c.as_u64().is_some_and(|n| n > 0);
            o.insert("client_id".into(), if ok { "n" } else { "bad" }.into());
        }
        // Per-process keys and builds: kept only as their shape.
        if let Some(x) = o.get("xkey").and_then(|x| x.as_str()) {
            let ok = x.len() == 56 && x.starts_with('X');
            o.insert("xkey".into(), if ok { "X*" } else { "bad" }.into());
        }
        if let Some(g) = o.get("git_commit").and_then(|x| x.as_str()) {
            let ok = g.len() == 7 && g.bytes().all(|b| b.is_ascii_hexdigit());
            o.insert("git_commit".into(), if ok { "*" } else { "bad" }.into());
        }
    }
    format!("INFO {v}")
}

/// Masks the random tokens of service-import reply subjects (`_R_.x.y`).
fn mask_replies(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("_R_.") {
        out.push_str(&rest[..i]);
        out.push_str("_R_.*");
        rest = &rest[i + 4..];
        let end = rest.find([' ', '\r', '\\']).unwrap_or(rest.len());
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

fn render(bytes: &[u8]) -> String {
    let masked = mask_replies(&String::from_utf8_lossy(bytes));
    let s = std::borrow::Cow::Borrowed(masked.as_str());
    let mut out = String::new();
    for part in s.split_inclusive("\r\n") {
        if part.starts_with("INFO ") {
            out.push_str(&mask_info(part));
            out.push_str("\\r\\n");
        } else {
            out.push_str(&part.replace('\r', "\\r").replace('\n', "\\n"));
        }
    }
    out
}

struct Peer {
    s: TcpStream,
    closed: bool,
}

fn drain(p: &mut Peer) -> Vec<u8> {
    let mut got = Vec::new();
    if p.closed {
        return got;
    }
    let mut buf = [0u8; 65536];
    let mut deadline = Instant::now() + QUIET;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        p.s.set_read_timeout(Some(left)).unwrap();
        match p.s.read(&mut buf) {
            Ok(0) => {
                got.extend_from_slice(b"<closed>");
                p.closed = true;
                break;
            }
            Ok(n) => {
                got.extend_from_slice(&buf[..n]);
                deadline = Instant::now() + QUIET;
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                break
            }
            Err(_) => {
                got.extend_from_slice(b"<closed>");
                p.closed = true;
                break;
            }
        }
    }
    got
}

fn run(bin: &str, sc: &Scenario) -> Vec<String> {
    let config = sc.config.join("\n") + "\n";
    let srv = ServerProc::start_bin(bin, (!sc.config.is_empty()).then_some(config.as_str()), &[]);
    let mut peers: BTreeMap<String, Peer> = BTreeMap::new();
    let mut transcript = Vec::new();
    for (i, step) in sc.steps.iter().enumerate() {
        match step {
            Step::Conn(name) => {
                let s = TcpStream::connect(("127.0.0.1", srv.port)).unwrap();
                s.set_nodelay(true).unwrap();
                peers.insert(name.clone(), Peer { s, closed: false });
            }
            Step::Send(name, data) => {
                let p = peers.get_mut(name).expect("unknown connection");
                if p.s.write_all(data).is_err() {
                    p.closed = true;
                }
            }
            Step::Sleep(ms) => std::thread::sleep(Duration::from_millis(*ms)),
            Step::Close(name) => {
                peers.remove(name);
            }
        }
        for (name, p) in peers.iter_mut() {
            let got = drain(p);
            if !got.is_empty() {
                transcript.push(format!("step {i} {name}< {}", render(&got)));
            }
        }
    }
    transcript
}

#[test]
fn scenarios_match_reference_server() {
    let reference = reference_bin();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "scn"))
        .collect();
    files.sort();
    let scenarios: Vec<Scenario> = files.iter().flat_map(|f| parse_file(f)).collect();
    assert!(scenarios.len() >= 30, "only {} scenarios", scenarios.len());
    let filter = std::env::var("SCENARIO").unwrap_or_default();
    let mut failures = Vec::new();
    let mut ran = 0;
    for sc in scenarios.iter().filter(|s| s.name.contains(&filter)) {
        let want = run(&reference, sc);
        let got = run(&common::rnatsd_bin(), sc);
        ran += 1;
        assert!(!want.is_empty(), "{}: the reference sent nothing", sc.name);
        if std::env::var("DIFF_SHOW").is_ok() {
            eprintln!("--- {}\n  {}", sc.name, want.join("\n  "));
        }
        if want != got {
            failures.push(format!(
                "--- {}\nreference:\n  {}\nrnatsd:\n  {}",
                sc.name,
                want.join("\n  "),
                got.join("\n  ")
            ));
        }
    }
    eprintln!("{ran} scenarios compared, {} differ", failures.len());
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}
