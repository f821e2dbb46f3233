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
pub use conf::parse_go_duration;

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
