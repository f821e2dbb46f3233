//! Small helpers shared by the server modules.

/// `host:port`, with brackets around IPv6 hosts.
pub fn host_port(host: &str, port: u16) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// Parses a Go duration string such as `2m`, `1.5s`, `100ms`, `1h30m`.
pub fn parse_go_duration(s: &str) -> Option<std::time::Duration> {
    let s = s.trim();
    if s == "0" {
        return Some(std::time::Duration::ZERO);
    }
    let mut rest = s;
    let mut total = 0f64;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if num_end == 0 {
            return None;
        }
        let n: f64 = rest[..num_end].parse().ok()?;
        rest = &rest[num_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = &rest[..unit_end];
        rest = &rest[unit_end..];
        let secs = match unit {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        total += n * secs;
    }
    Some(std::time::Duration::from_secs_f64(total))
}

/// A time as Go's `time.RFC3339Nano` writes it in UTC (nanoseconds with
/// trailing zeros dropped), as Go's `encoding/json` marshals a `time.Time`.
pub fn rfc3339_nanos(t: chrono::DateTime<chrono::Utc>) -> String {
    use chrono::Timelike;
    let ns = t.nanosecond() % 1_000_000_000;
    let frac = if ns == 0 {
        String::new()
    } else {
        format!(".{ns:09}").trim_end_matches('0').to_string()
    };
    format!("{}{frac}Z", t.format("%Y-%m-%dT%H:%M:%S"))
}

/// Binds a listener on `host:port` as Go's `net.Listen` does: an
/// unspecified host (empty, `0.0.0.0`, `::`) listens on every address, IPv4
/// and IPv6 alike (an IPv6 socket that also takes IPv4, or IPv4 alone where
/// the machine has no IPv6).
pub async fn listen(host: &str, port: u16) -> std::io::Result<tokio::net::TcpListener> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if matches!(bare, "" | "0.0.0.0" | "::") {
        if let Ok(l) = dual_stack(port) {
            return Ok(l);
        }
        return tokio::net::TcpListener::bind(("0.0.0.0", port)).await;
    }
    tokio::net::TcpListener::bind((bare, port)).await
}

fn dual_stack(port: u16) -> std::io::Result<tokio::net::TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    let s = Socket::new(Domain::IPV6, Type::STREAM, Some(Protocol::TCP))?;
    s.set_only_v6(false)?;
    s.set_reuse_address(true)?;
    s.set_nonblocking(true)?;
    let addr = std::net::SocketAddr::from((std::net::Ipv6Addr::UNSPECIFIED, port));
    s.bind(&addr.into())?;
    s.listen(1024)?;
    tokio::net::TcpListener::from_std(s.into())
}

/// `addr` with an IPv4-mapped IPv6 address (a client of a dual-stack
/// listener) written as the IPv4 address it is.
pub fn canonical(addr: std::net::SocketAddr) -> std::net::SocketAddr {
    std::net::SocketAddr::new(addr.ip().to_canonical(), addr.port())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn durations() {
        assert_eq!(parse_go_duration("2m"), Some(Duration::from_secs(120)));
        assert_eq!(parse_go_duration("100ms"), Some(Duration::from_millis(100)));
        assert_eq!(parse_go_duration("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_go_duration("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_go_duration("abc"), None);
        assert_eq!(parse_go_duration("10"), None);
        assert_eq!(host_port("::1", 4222), "[::1]:4222");
    }
}
