//! Route URLs: `nats-route://user:pass@host:port`, also with the `nats`
//! scheme, as given in `cluster { routes: [...] }` or learned by gossip.

/// A parsed route URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteUrl {
    /// Host name or address (IPv6 without brackets).
    pub host: String,
    /// Port.
    pub port: u16,
    /// User for the route's `CONNECT`.
    pub user: Option<String>,
    /// Password for the route's `CONNECT`.
    pub pass: Option<String>,
}

impl RouteUrl {
    /// Parses `scheme://[user[:pass]@]host[:port][/]`; the port defaults
    /// to 6222.
    pub fn parse(s: &str) -> Option<RouteUrl> {
        let s = s.trim();
        let rest = s.split_once("://").map(|(_, r)| r).unwrap_or(s);
        let rest = rest.split('/').next().unwrap_or(rest);
        let (userinfo, hostport) = match rest.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, rest),
        };
        let (user, pass) = match userinfo {
            Some(u) => match u.split_once(':') {
                Some((a, b)) => (Some(decode(a)), Some(decode(b))),
                None => (Some(decode(u)), None),
            },
            None => (None, None),
        };
        let (host, port) = if let Some(h) = hostport.strip_prefix('[') {
            let (h, p) = h.split_once(']')?;
            (h.to_string(), p.strip_prefix(':'))
        } else {
            match hostport.rsplit_once(':') {
                Some((h, p)) => (h.to_string(), Some(p)),
                None => (hostport.to_string(), None),
            }
        };
        if host.is_empty() {
            return None;
        }
        let port = match port {
            Some(p) => p.parse().ok()?,
            None => 6222,
        };
        Some(RouteUrl {
            host,
            port,
            user,
            pass,
        })
    }

    /// `host:port` to dial.
    pub fn address(&self) -> String {
        crate::util::host_port(&self.host, self.port)
    }

    /// Same host and port (case-insensitive host).
    pub fn same_address(&self, other: &RouteUrl) -> bool {
        self.port == other.port && self.host.eq_ignore_ascii_case(&other.host)
    }

    /// The URL with the password masked, for logs.
    pub fn redacted(&self) -> String {
        let auth = match (&self.user, &self.pass) {
            (Some(u), Some(_)) => format!("{u}:xxxxx@"),
            (Some(u), None) => format!("{u}@"),
            _ => String::new(),
        };
        format!("nats-route://{auth}{}", self.address())
    }
}

/// Decodes `%XX` escapes of a URL's user information.
fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        let u = RouteUrl::parse("nats-route://ruser:T0p%21@10.0.0.2:6222").unwrap();
        assert_eq!(u.host, "10.0.0.2");
        assert_eq!(u.port, 6222);
        assert_eq!(u.user.as_deref(), Some("ruser"));
        assert_eq!(u.pass.as_deref(), Some("T0p!"));
        assert_eq!(u.redacted(), "nats-route://ruser:xxxxx@10.0.0.2:6222");
        let u = RouteUrl::parse("nats://nats-1/").unwrap();
        assert_eq!((u.host.as_str(), u.port), ("nats-1", 6222));
        let u = RouteUrl::parse("nats://[::1]:7000").unwrap();
        assert_eq!(u.address(), "[::1]:7000");
        assert!(RouteUrl::parse("nats://:1").is_none());
    }
}
