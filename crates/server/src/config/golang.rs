//! Go's parsers and formatters whose exact behaviour config files depend
//! on: `time.ParseDuration`, `Duration.String`, `net.SplitHostPort`,
//! `url.Parse` acceptance, `strconv.Atoi` and `%q`.

use conf::Value;
use std::time::Duration;

/// Go's `%q` of a string.
pub(crate) fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Go's `time.ParseDuration`, in nanoseconds, with Go's error texts.
pub(crate) fn go_duration(orig: &str) -> Result<i64, String> {
    let invalid = || format!("time: invalid duration {}", go_quote(orig));
    let mut s = orig;
    let mut neg = false;
    if let Some(c) = s.chars().next() {
        if c == '-' || c == '+' {
            neg = c == '-';
            s = &s[1..];
        }
    }
    if s == "0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(invalid());
    }
    let mut total: u64 = 0;
    while !s.is_empty() {
        let b = s.as_bytes();
        if !(b[0] == b'.' || b[0].is_ascii_digit()) {
            return Err(invalid());
        }
        let int_len = b.iter().take_while(|c| c.is_ascii_digit()).count();
        let mut v: u64 = 0;
        for &d in &b[..int_len] {
            v = v
                .checked_mul(10)
                .and_then(|v| v.checked_add((d - b'0') as u64))
                .filter(|v| *v <= 1 << 63)
                .ok_or_else(invalid)?;
        }
        s = &s[int_len..];
        let pre = int_len > 0;
        let mut frac: u64 = 0;
        let mut scale: f64 = 1.0;
        let mut post = false;
        if s.starts_with('.') {
            s = &s[1..];
            let fl = s.bytes().take_while(|c| c.is_ascii_digit()).count();
            post = fl > 0;
            let mut overflow = false;
            for &d in &s.as_bytes()[..fl] {
                if overflow {
                    continue;
                }
                match frac
                    .checked_mul(10)
                    .and_then(|f| f.checked_add((d - b'0') as u64))
                {
                    Some(f) if f <= 1 << 63 => {
                        frac = f;
                        scale *= 10.0;
                    }
                    _ => overflow = true,
                }
            }
            s = &s[fl..];
        }
        if !pre && !post {
            return Err(invalid());
        }
        let unit_len = s
            .char_indices()
            .find(|(_, c)| *c == '.' || c.is_ascii_digit())
            .map(|(i, _)| i)
            .unwrap_or(s.len());
        if unit_len == 0 {
            return Err(format!("time: missing unit in duration {}", go_quote(orig)));
        }
        let u = &s[..unit_len];
        s = &s[unit_len..];
        let unit: u64 = match u {
            "ns" => 1,
            "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => {
                return Err(format!(
                    "time: unknown unit {} in duration {}",
                    go_quote(u),
                    go_quote(orig)
                ))
            }
        };
        if v > (1u64 << 63) / unit {
            return Err(invalid());
        }
        v *= unit;
        if frac > 0 {
            v += (frac as f64 * (unit as f64 / scale)) as u64;
            if v > 1 << 63 {
                return Err(invalid());
            }
        }
        total = total
            .checked_add(v)
            .filter(|t| *t <= 1 << 63)
            .ok_or_else(invalid)?;
    }
    if neg {
        return Ok((total as i128).wrapping_neg() as i64);
    }
    if total > i64::MAX as u64 {
        return Err(invalid());
    }
    Ok(total as i64)
}

/// Nanoseconds to a `Duration`; negative values become `None`.
pub(crate) fn nanos(n: i64) -> Option<Duration> {
    u64::try_from(n).ok().map(Duration::from_nanos)
}

/// Go's `time.Duration.String()`.
pub(crate) fn go_duration_string(n: i64) -> String {
    if n == 0 {
        return "0s".into();
    }
    let neg = n < 0;
    let u = n.unsigned_abs();
    let mut out = String::new();
    if u < 1_000_000_000 {
        let (div, unit) = if u < 1_000 {
            (1, "ns")
        } else if u < 1_000_000 {
            (1_000, "µs")
        } else {
            (1_000_000, "ms")
        };
        out.push_str(&trim_frac(u, div));
        out.push_str(unit);
    } else {
        let h = u / 3_600_000_000_000;
        let rem = u % 3_600_000_000_000;
        let m = rem / 60_000_000_000;
        let s = rem % 60_000_000_000;
        if h > 0 {
            out.push_str(&format!("{h}h{m}m"));
        } else if m > 0 {
            out.push_str(&format!("{m}m"));
        }
        out.push_str(&trim_frac(s, 1_000_000_000));
        out.push('s');
    }
    if neg {
        format!("-{out}")
    } else {
        out
    }
}

fn trim_frac(v: u64, div: u64) -> String {
    let whole = v / div;
    let frac = v % div;
    if frac == 0 {
        return whole.to_string();
    }
    let width = div.to_string().len() - 1;
    let f = format!("{frac:0width$}");
    format!("{whole}.{}", f.trim_end_matches('0'))
}

/// Go's `net.SplitHostPort`.
pub(crate) fn split_host_port(hp: &str) -> Result<(String, String), String> {
    let addr_err = |why: &str| format!("address {hp}: {why}");
    let Some(i) = hp.rfind(':') else {
        return Err(addr_err("missing port in address"));
    };
    let (host, j, k);
    if hp.starts_with('[') {
        let Some(end) = hp.find(']') else {
            return Err(addr_err("missing ']' in address"));
        };
        if end + 1 == hp.len() {
            return Err(addr_err("missing port in address"));
        } else if end + 1 != i {
            if hp.as_bytes()[end + 1] == b':' {
                return Err(addr_err("too many colons in address"));
            }
            return Err(addr_err("missing port in address"));
        }
        host = hp[1..end].to_string();
        j = 1;
        k = end + 1;
    } else {
        host = hp[..i].to_string();
        if host.contains(':') {
            return Err(addr_err("too many colons in address"));
        }
        j = 0;
        k = 0;
    }
    if hp[j..].contains('[') {
        return Err(addr_err("unexpected '[' in address"));
    }
    if hp[k..].contains(']') {
        return Err(addr_err("unexpected ']' in address"));
    }
    Ok((host, hp[i + 1..].to_string()))
}

/// Go's `strconv.Atoi` (optional sign, decimal digits, no overflow).
pub(crate) fn atoi(s: &str) -> Option<i64> {
    go_atoi(s).ok()
}

/// Go's `strconv.Atoi` on a 64-bit platform; the error text is Go's.
pub fn go_atoi(s: &str) -> Result<i64, String> {
    let err = |what: &str| format!("strconv.Atoi: parsing {}: {what}", go_quote(s));
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(err("invalid syntax"));
    }
    s.parse().map_err(|_| err("value out of range"))
}

/// Go's `parseListen`: a port, or `host:port`.
pub(crate) fn parse_listen(v: &Value) -> Result<(String, i32), String> {
    match v {
        Value::Int(p) => Ok((
            String::new(),
            (*p).clamp(i32::MIN as i64, i32::MAX as i64) as i32,
        )),
        Value::String(s) => {
            let (host, port) = split_host_port(s)
                .map_err(|_| format!("could not parse address string {}", go_quote(s)))?;
            let p =
                atoi(&port).ok_or_else(|| format!("could not parse port {}", go_quote(&port)))?;
            Ok((host, p.clamp(i32::MIN as i64, i32::MAX as i64) as i32))
        }
        other => Err(format!(
            "expected port or host:port, got {}",
            other.type_name()
        )),
    }
}

fn is_hex(b: u8) -> bool {
    b.is_ascii_hexdigit()
}

/// Checks `%XX` escapes like Go's `url.unescape`.
fn check_escapes(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            if i + 2 >= b.len() || !is_hex(b[i + 1]) || !is_hex(b[i + 2]) {
                return false;
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    true
}

/// Characters Go's `url` package accepts unescaped in a host.
fn host_char_ok(c: u8) -> bool {
    c >= 0x80 || c.is_ascii_alphanumeric() || b"-_.~!$&'()*+,;=:[]<>\"%".contains(&c)
}

fn valid_optional_port(p: &str) -> bool {
    if p.is_empty() {
        return true;
    }
    let Some(rest) = p.strip_prefix(':') else {
        return false;
    };
    rest.bytes().all(|b| b.is_ascii_digit())
}

/// Whether Go's `url.Parse` accepts `raw` (after trimming spaces, as
/// nats-server's `parseURL` does).
pub(crate) fn go_url_ok(raw: &str) -> bool {
    let raw = raw.trim();
    if raw.bytes().any(|b| b < 0x20 || b == 0x7f) {
        return false;
    }
    let raw = raw.split_once('#').map(|(a, _)| a).unwrap_or(raw);
    // Scheme.
    let mut rest = raw;
    let mut scheme = "";
    for (i, c) in raw.bytes().enumerate() {
        if c.is_ascii_alphabetic() {
            continue;
        }
        if c.is_ascii_digit() || c == b'+' || c == b'-' || c == b'.' {
            if i == 0 {
                break;
            }
            continue;
        }
        if c == b':' {
            if i == 0 {
                return false;
            }
            scheme = &raw[..i];
            rest = &raw[i + 1..];
        }
        break;
    }
    let rest = match rest.split_once('?') {
        Some((a, _)) => a,
        None => rest,
    };
    if !rest.starts_with('/') {
        if !scheme.is_empty() {
            return true;
        }
        let seg = rest.split('/').next().unwrap_or("");
        if seg.contains(':') {
            return false;
        }
    }
    let mut path = rest;
    if (!scheme.is_empty() || !rest.starts_with("///")) && rest.starts_with("//") {
        let after = &rest[2..];
        let (authority, p) = match after.find('/') {
            Some(i) => (&after[..i], &after[i..]),
            None => (after, ""),
        };
        path = p;
        let (userinfo, host) = match authority.rfind('@') {
            Some(i) => (Some(&authority[..i]), &authority[i + 1..]),
            None => (None, authority),
        };
        if let Some(u) = userinfo {
            let ok = u
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || b"-._:~!$&'()*+,;=%@".contains(&c));
            if !ok || !check_escapes(u) {
                return false;
            }
        }
        if host.starts_with('[') {
            let Some(end) = host.rfind(']') else {
                return false;
            };
            if !valid_optional_port(&host[end + 1..]) {
                return false;
            }
        } else if let Some(i) = host.rfind(':') {
            if !valid_optional_port(&host[i..]) {
                return false;
            }
        }
        if !host.bytes().all(host_char_ok) || !check_escapes(host) {
            return false;
        }
    }
    check_escapes(path)
}
