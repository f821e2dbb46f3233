//! `rnatsd --healthcheck [URL]`: probes a running server and exits 0 when it
//! is healthy, 1 otherwise. It exists for container images that have no
//! shell or curl (Docker's `HEALTHCHECK CMD ["/rnatsd", "--healthcheck"]`).
//!
//! - `http://host:port/path`: a plain HTTP/1.0 `GET`; healthy only on a
//!   `200` whose JSON body has `"status": "ok"` (the `/healthz` answer of
//!   nats-server and of rnatsd's monitoring port).
//! - `nats://host:port`: healthy when the client port greets with an
//!   `INFO {...}` line. No `CONNECT` is sent, so it works with auth enabled.
//! - No URL: `http://127.0.0.1:8222/healthz`; when nothing listens there
//!   (monitoring not enabled, as with a config file that has no
//!   `http_port`), the client port `nats://127.0.0.1:4222` is checked instead.
//!   A monitoring port that answers but is unhealthy is not overruled.
//!
//! Hosts are best given as IP addresses: a statically linked binary in an
//! empty image may not be able to resolve names.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// The monitoring endpoint probed when no URL is given.
pub const DEFAULT_URL: &str = "http://127.0.0.1:8222/healthz";
/// The client port probed when nothing listens on [`DEFAULT_URL`].
pub const FALLBACK_URL: &str = "nats://127.0.0.1:4222";
/// Time allowed for one probe: connect, request and answer.
pub const TIMEOUT: Duration = Duration::from_secs(3);
/// The largest answer read (a `/healthz` body is a few bytes).
const MAX_RESPONSE: usize = 64 * 1024;

/// What to probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// An HTTP endpoint: host, port and path with query.
    Http {
        /// Host name or IP address (IPv6 without brackets).
        host: String,
        /// TCP port.
        port: u16,
        /// Request target, starting with `/`.
        path: String,
    },
    /// A NATS client port.
    Nats {
        /// Host name or IP address (IPv6 without brackets).
        host: String,
        /// TCP port.
        port: u16,
    },
}

/// Why a probe failed.
#[derive(Debug)]
pub enum Failure {
    /// Nothing accepted the connection (refused or unreachable).
    NotListening(String),
    /// Something answered, but not healthy, or not in time.
    Unhealthy(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::NotListening(s) | Failure::Unhealthy(s) => f.write_str(s),
        }
    }
}

/// Parses `http://host[:port][/path]` or `nats://host[:port]`. Default
/// ports are 80 and 4222; the default path is `/healthz`.
pub fn parse_target(url: &str) -> Result<Target, String> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| format!("invalid health check URL {url:?}: no scheme"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let authority = authority.rsplit('@').next().unwrap_or_default();
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "http" => 80,
        "nats" => 4222,
        _ => {
            return Err(format!(
                "invalid health check URL {url:?}: use http:// or nats://"
            ))
        }
    };
    let (host, port) = split_host_port(authority, default_port)
        .ok_or_else(|| format!("invalid health check URL {url:?}: bad host or port"))?;
    Ok(if scheme == "http" {
        Target::Http {
            host,
            port,
            path: if path.is_empty() {
                "/healthz".into()
            } else {
                path.into()
            },
        }
    } else {
        Target::Nats { host, port }
    })
}

fn split_host_port(authority: &str, default_port: u16) -> Option<(String, u16)> {
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let (h, after) = rest.split_once(']')?;
        match after {
            "" => (h, None),
            p => (h, Some(p.strip_prefix(':')?)),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) if !h.contains(':') => (h, Some(p)),
            Some(_) => return None,
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return None;
    }
    let port = match port {
        Some(p) => p.parse().ok()?,
        None => default_port,
    };
    Some((host.to_string(), port))
}

/// Probes `target` once; `Ok` carries a one-line description of the answer.
pub fn probe(target: &Target, timeout: Duration) -> Result<String, Failure> {
    let deadline = Instant::now() + timeout;
    match target {
        Target::Http { host, port, path } => {
            let mut s = connect(host, *port, deadline)?;
            let authority = if host.contains(':') {
                format!("[{host}]:{port}")
            } else {
                format!("{host}:{port}")
            };
            let req = format!(
                "GET {path} HTTP/1.0\r\nHost: {authority}\r\nUser-Agent: rnatsd-healthcheck\r\nAccept: application/json\r\n\r\n"
            );
            s.write_all(req.as_bytes())
                .map_err(|e| Failure::Unhealthy(format!("sending the request: {e}")))?;
            let answer = read_http(&mut s, deadline)?;
            judge_http(&answer).map_err(Failure::Unhealthy)
        }
        Target::Nats { host, port } => {
            let mut s = connect(host, *port, deadline)?;
            let line = read_line(&mut s, deadline)?;
            judge_info(&line).map_err(Failure::Unhealthy)
        }
    }
}

fn connect(host: &str, port: u16, deadline: Instant) -> Result<TcpStream, Failure> {
    let addrs: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|e| Failure::NotListening(format!("cannot resolve {host}: {e}")))?
        .collect();
    let mut last = format!("no address for {host}");
    for addr in addrs {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Failure::Unhealthy(format!(
                "timed out connecting to {addr}"
            )));
        }
        match TcpStream::connect_timeout(&addr, left) {
            Ok(s) => return Ok(s),
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
                return Err(Failure::Unhealthy(format!(
                    "timed out connecting to {addr}"
                )))
            }
            Err(e) => last = format!("cannot connect to {addr}: {e}"),
        }
    }
    Err(Failure::NotListening(last))
}

/// Reads until the peer closes, or the headers and `Content-Length` bytes
/// of body are in.
fn read_http(s: &mut TcpStream, deadline: Instant) -> Result<Vec<u8>, Failure> {
    let mut buf = Vec::new();
    let mut tmp = [0u8; 4096];
    loop {
        if let Some(total) = complete_length(&buf) {
            if buf.len() >= total {
                buf.truncate(total);
                return Ok(buf);
            }
        }
        match read_some(s, &mut tmp, deadline)? {
            0 => return Ok(buf),
            n => buf.extend_from_slice(&tmp[..n]),
        }
        if buf.len() > MAX_RESPONSE {
            return Err(Failure::Unhealthy("answer too large".into()));
        }
    }
}

/// Headers length plus `Content-Length`, once the headers are complete.
fn complete_length(buf: &[u8]) -> Option<usize> {
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = std::str::from_utf8(&buf[..end]).ok()?;
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        if k.trim().eq_ignore_ascii_case("content-length") {
            v.trim().parse::<usize>().ok().map(|n| end + n)
        } else {
            None
        }
    })
}

fn read_line(s: &mut TcpStream, deadline: Instant) -> Result<String, Failure> {
    let mut buf = Vec::new();
    let mut tmp = [0u8; 4096];
    loop {
        if let Some(i) = buf.windows(2).position(|w| w == b"\r\n") {
            return Ok(String::from_utf8_lossy(&buf[..i]).into_owned());
        }
        if buf.len() > MAX_RESPONSE {
            return Err(Failure::Unhealthy("no line in the greeting".into()));
        }
        match read_some(s, &mut tmp, deadline)? {
            0 => {
                return Err(Failure::Unhealthy(format!(
                    "connection closed before a full line: {:?}",
                    String::from_utf8_lossy(&buf)
                )))
            }
            n => buf.extend_from_slice(&tmp[..n]),
        }
    }
}

fn read_some(s: &mut TcpStream, tmp: &mut [u8], deadline: Instant) -> Result<usize, Failure> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(Failure::Unhealthy("timed out waiting for an answer".into()));
    }
    s.set_read_timeout(Some(left))
        .map_err(|e| Failure::Unhealthy(e.to_string()))?;
    loop {
        match s.read(tmp) {
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return Err(Failure::Unhealthy("timed out waiting for an answer".into()))
            }
            Err(e) => return Err(Failure::Unhealthy(format!("reading the answer: {e}"))),
        }
    }
}

/// Healthy when the answer is a `200` whose JSON body has `"status":"ok"`.
pub fn judge_http(answer: &[u8]) -> Result<String, String> {
    let end = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| "incomplete HTTP answer".to_string())?;
    let head = String::from_utf8_lossy(&answer[..end]);
    let body = String::from_utf8_lossy(&answer[end + 4..]);
    let status_line = head.lines().next().unwrap_or_default();
    let mut parts = status_line.split_whitespace();
    let version = parts.next().unwrap_or_default();
    let code = parts.next().unwrap_or_default();
    if !version.starts_with("HTTP/") {
        return Err(format!("not an HTTP answer: {status_line:?}"));
    }
    let status = serde_json::from_str::<serde_json::Value>(body.trim())
        .ok()
        .and_then(|v| v.get("status").and_then(|s| s.as_str()).map(String::from));
    if code != "200" {
        return Err(format!("{status_line}: {}", body.trim()));
    }
    match status.as_deref() {
        Some("ok") => Ok(format!("{status_line}: {}", body.trim())),
        _ => Err(format!(
            "{status_line} without \"status\":\"ok\": {}",
            body.trim()
        )),
    }
}

/// Healthy when the greeting is an `INFO` line with a JSON object.
pub fn judge_info(line: &str) -> Result<String, String> {
    let mut it = line.splitn(2, [' ', '\t']);
    let op = it.next().unwrap_or_default();
    let arg = it.next().unwrap_or_default().trim();
    if !op.eq_ignore_ascii_case("INFO") {
        return Err(format!("expected INFO, got {line:?}"));
    }
    match serde_json::from_str::<serde_json::Value>(arg) {
        Ok(v) if v.is_object() => {
            let id = v.get("server_id").and_then(|s| s.as_str()).unwrap_or("?");
            Ok(format!("INFO from server {id}"))
        }
        _ => Err(format!("INFO without a JSON object: {line:?}")),
    }
}

/// Runs the health check the way `--healthcheck` does: `url`, or the
/// default with its fallback. `Ok` describes what answered.
pub fn check(url: Option<&str>, timeout: Duration) -> Result<String, String> {
    match url {
        Some(u) => {
            let t = parse_target(u)?;
            probe(&t, timeout).map_err(|e| format!("{u}: {e}"))
        }
        None => check_with_fallback(DEFAULT_URL, FALLBACK_URL, timeout),
    }
}

/// Probes `primary`; only when nothing listens there, probes `fallback`.
pub fn check_with_fallback(
    primary: &str,
    fallback: &str,
    timeout: Duration,
) -> Result<String, String> {
    let t = parse_target(primary)?;
    match probe(&t, timeout) {
        Ok(s) => Ok(format!("{primary}: {s}")),
        Err(Failure::Unhealthy(e)) => Err(format!("{primary}: {e}")),
        Err(Failure::NotListening(e)) => {
            let f = parse_target(fallback)?;
            probe(&f, timeout)
                .map(|s| format!("{fallback}: {s} (monitoring not reachable: {e})"))
                .map_err(|fe| format!("{primary}: {e}; {fallback}: {fe}"))
        }
    }
}

/// The `--healthcheck` command: prints the outcome, exits 0 when healthy
/// and 1 otherwise (Docker's meaning of the two).
pub fn run(url: Option<&str>) -> ExitCode {
    match check(url, TIMEOUT) {
        Ok(s) => {
            println!("healthy: {s}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("unhealthy: {e}");
            ExitCode::from(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    /// Serves `reply` to the first connection (after reading its request
    /// when `read_first`), then closes it.
    fn serve_once(reply: &'static [u8], read_first: bool) -> u16 {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        std::thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            if read_first {
                let mut buf = Vec::new();
                let mut tmp = [0u8; 1024];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut tmp) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&tmp[..n]),
                    }
                }
                assert!(buf.starts_with(b"GET /healthz HTTP/1.0\r\n"));
            }
            let _ = s.write_all(reply);
        });
        port
    }

    fn free_port() -> u16 {
        TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    }

    #[test]
    fn parses_urls() {
        assert_eq!(
            parse_target(DEFAULT_URL).unwrap(),
            Target::Http {
                host: "127.0.0.1".into(),
                port: 8222,
                path: "/healthz".into()
            }
        );
        assert_eq!(
            parse_target("http://[::1]:9/x?js-enabled-only=true").unwrap(),
            Target::Http {
                host: "::1".into(),
                port: 9,
                path: "/x?js-enabled-only=true".into()
            }
        );
        assert_eq!(
            parse_target("HTTP://nats").unwrap(),
            Target::Http {
                host: "nats".into(),
                port: 80,
                path: "/healthz".into()
            }
        );
        assert_eq!(
            parse_target("nats://u:p@10.0.0.1").unwrap(),
            Target::Nats {
                host: "10.0.0.1".into(),
                port: 4222
            }
        );
        for bad in [
            "127.0.0.1:8222",
            "ftp://x",
            "http://",
            "http://h:port",
            "nats://::1:4222",
        ] {
            assert!(parse_target(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn judges_http_answers() {
        let ok = b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\nContent-Length: 15\r\n\r\n{\"status\":\"ok\"}";
        assert!(judge_http(ok).is_ok());
        assert!(judge_http(b"HTTP/1.1 200 OK\r\n\r\n{ \"status\" : \"ok\" }\n").is_ok());
        let down = b"HTTP/1.0 503 Service Unavailable\r\n\r\n{\"status\":\"unavailable\",\"error\":\"JetStream not ready\"}";
        assert!(judge_http(down).unwrap_err().contains("503"));
        assert!(judge_http(b"HTTP/1.0 200 OK\r\n\r\n{\"status\":\"error\"}").is_err());
        assert!(judge_http(b"HTTP/1.0 200 OK\r\n\r\n<html>ok</html>").is_err());
        assert!(judge_http(b"HTTP/1.0 200 OK\r\n").is_err());
        assert!(judge_http(b"INFO {}\r\n\r\n").is_err());
    }

    #[test]
    fn judges_info_lines() {
        assert!(
            judge_info(r#"INFO {"server_id":"NABC","max_payload":1048576}"#)
                .unwrap()
                .contains("NABC")
        );
        assert!(judge_info("-ERR 'Authorization Violation'").is_err());
        assert!(judge_info("INFO not-json").is_err());
        assert!(judge_info("HTTP/1.1 400 Bad Request").is_err());
    }

    #[test]
    fn probes_http_over_tcp() {
        let port = serve_once(
            b"HTTP/1.0 200 OK\r\nContent-Length: 15\r\n\r\n{\"status\":\"ok\"}",
            true,
        );
        let url = format!("http://127.0.0.1:{port}/healthz");
        assert!(check(Some(&url), TIMEOUT).is_ok());
        // A server that keeps the connection open: Content-Length ends it.
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        std::thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            let _ =
                s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 15\r\n\r\n{\"status\":\"ok\"}");
            let _ = rx.recv();
        });
        let started = Instant::now();
        assert!(check(Some(&format!("http://127.0.0.1:{port}/")), TIMEOUT).is_ok());
        assert!(started.elapsed() < Duration::from_secs(2));
        drop(tx);
        let port = serve_once(b"HTTP/1.0 503 Service Unavailable\r\n\r\n{}", true);
        let url = format!("http://127.0.0.1:{port}/healthz");
        assert!(check(Some(&url), TIMEOUT).is_err());
    }

    #[test]
    fn probes_nats_and_times_out() {
        let port = serve_once(b"INFO {\"server_id\":\"X\"}\r\n", false);
        assert!(check(Some(&format!("nats://127.0.0.1:{port}")), TIMEOUT).is_ok());
        // Accepts but never answers: unhealthy within the timeout.
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let started = Instant::now();
        let r = check(
            Some(&format!("nats://127.0.0.1:{port}")),
            Duration::from_millis(300),
        );
        assert!(r.unwrap_err().contains("timed out"));
        assert!(started.elapsed() < Duration::from_secs(2));
        drop(l);
        let dead = free_port();
        let t = parse_target(&format!("nats://127.0.0.1:{dead}")).unwrap();
        assert!(matches!(probe(&t, TIMEOUT), Err(Failure::NotListening(_))));
    }

    #[test]
    fn falls_back_only_when_nothing_listens() {
        let dead = free_port();
        let nats = serve_once(b"INFO {\"server_id\":\"Y\"}\r\n", false);
        let r = check_with_fallback(
            &format!("http://127.0.0.1:{dead}/healthz"),
            &format!("nats://127.0.0.1:{nats}"),
            TIMEOUT,
        );
        assert!(r.unwrap().contains("INFO from server Y"));
        // An unhealthy monitor is not overruled by the client port.
        let http = serve_once(b"HTTP/1.0 503 Service Unavailable\r\n\r\n{}", true);
        let nats = serve_once(b"INFO {\"server_id\":\"Z\"}\r\n", false);
        let r = check_with_fallback(
            &format!("http://127.0.0.1:{http}/healthz"),
            &format!("nats://127.0.0.1:{nats}"),
            TIMEOUT,
        );
        assert!(r.unwrap_err().contains("503"));
        // Neither listens.
        let dead2 = free_port();
        let r = check_with_fallback(
            &format!("http://127.0.0.1:{dead}/healthz"),
            &format!("nats://127.0.0.1:{dead2}"),
            TIMEOUT,
        );
        assert!(r.is_err());
    }
}
