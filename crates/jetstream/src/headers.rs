//! NATS message headers as nats-server reads them: a key counts only at the
//! start of a line and followed by `:`; the first such line wins.

/// `Nats-Msg-Id`.
pub const MSG_ID: &str = "Nats-Msg-Id";
/// `Nats-Expected-Stream`.
pub const EXPECTED_STREAM: &str = "Nats-Expected-Stream";
/// `Nats-Expected-Last-Sequence`.
pub const EXPECTED_LAST_SEQ: &str = "Nats-Expected-Last-Sequence";
/// `Nats-Expected-Last-Subject-Sequence`.
pub const EXPECTED_LAST_SUBJ_SEQ: &str = "Nats-Expected-Last-Subject-Sequence";
/// `Nats-Expected-Last-Subject-Sequence-Subject`.
pub const EXPECTED_LAST_SUBJ_SEQ_SUBJ: &str = "Nats-Expected-Last-Subject-Sequence-Subject";
/// `Nats-Expected-Last-Msg-Id`.
pub const EXPECTED_LAST_MSG_ID: &str = "Nats-Expected-Last-Msg-Id";
/// `Nats-Rollup`.
pub const ROLLUP: &str = "Nats-Rollup";
/// `Nats-TTL`.
pub const TTL: &str = "Nats-TTL";
/// `Nats-Incr` (counters).
pub const INCR: &str = "Nats-Incr";
/// `Nats-Schedule`.
pub const SCHEDULE: &str = "Nats-Schedule";
/// `Nats-Request-Info`, stripped before storing.
pub const CLIENT_INFO: &str = "Nats-Request-Info";

/// The offset of `key` at the start of a header line followed by `:`.
fn key_index(key: &str, hdr: &[u8]) -> Option<usize> {
    let k = key.as_bytes();
    let mut offset = 0;
    loop {
        let rel = hdr.get(offset..)?.windows(k.len()).position(|w| w == k)?;
        let i = offset + rel;
        if i < 2 {
            return None;
        }
        if i >= hdr.len() - 1 || hdr[i - 1] != b'\n' || hdr[i - 2] != b'\r' {
            offset = i + k.len();
            continue;
        }
        if i + k.len() >= hdr.len() {
            return None;
        }
        if hdr[i + k.len()] != b':' {
            offset = i + k.len();
            continue;
        }
        return Some(i);
    }
}

/// The value of `key`, leading spaces skipped, up to the end of its line.
pub fn get<'a>(key: &str, hdr: &'a [u8]) -> Option<&'a [u8]> {
    if hdr.is_empty() {
        return None;
    }
    let mut i = key_index(key, hdr)? + key.len() + 1;
    while i < hdr.len() && hdr[i] == b' ' {
        i += 1;
    }
    let start = i;
    while i < hdr.len() && !(hdr[i] == b'\r' && i + 1 < hdr.len() && hdr[i + 1] == b'\n') {
        i += 1;
    }
    Some(&hdr[start..i])
}

/// The value of `key` as text; empty when absent.
pub fn get_str<'a>(key: &str, hdr: &'a [u8]) -> &'a str {
    get(key, hdr)
        .and_then(|v| std::str::from_utf8(v).ok())
        .unwrap_or("")
}

/// Go's `parseInt64`: decimal digits only, -1 otherwise.
pub fn parse_i64(v: &[u8]) -> i64 {
    if v.is_empty() || v.len() > 19 || !v.iter().all(u8::is_ascii_digit) {
        return -1;
    }
    std::str::from_utf8(v)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(-1)
}

/// A sequence header: present or not, and its value (`u64::MAX` when it does not parse).
pub fn get_seq(key: &str, hdr: &[u8]) -> Option<u64> {
    let v = get(key, hdr)?;
    if v.is_empty() {
        return None;
    }
    Some(parse_i64(v) as u64)
}

/// The header block without the first `key` line, when it has one.
pub fn remove(hdr: &[u8], key: &str) -> Option<Vec<u8>> {
    let start = key_index(key, hdr)?;
    let end = hdr[start..]
        .windows(2)
        .position(|w| w == b"\r\n")
        .map_or(hdr.len(), |p| start + p + 2);
    let mut out = hdr[..start].to_vec();
    out.extend_from_slice(&hdr[end..]);
    Some(out)
}

/// Go's `time.ParseDuration`, in nanoseconds (`conf` parses it for config values too).
pub fn parse_go_duration(s: &str) -> Option<i64> {
    conf::parse_go_duration(s).and_then(|d| i64::try_from(d.as_nanos()).ok())
}

/// Go's `parseMessageTTL`: seconds, `-1` for `never`; `None` for a bad value.
pub fn parse_ttl(v: &str) -> Option<i64> {
    if v.eq_ignore_ascii_case("never") {
        return Some(-1);
    }
    if let Some(d) = parse_go_duration(v) {
        return (d >= 1_000_000_000).then_some(d / 1_000_000_000);
    }
    Some(parse_i64(v.as_bytes())).filter(|t| *t >= 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_as_nats_server() {
        let h =
            b"NATS/1.0\r\nX-Nats-Msg-Id: no\r\nNats-Msg-Id:   abc\r\nNats-Msg-Id: second\r\n\r\n";
        assert_eq!(get(MSG_ID, h), Some(&b"abc"[..]));
        assert_eq!(get(ROLLUP, h), None);
        assert_eq!(
            get_seq(
                EXPECTED_LAST_SEQ,
                b"NATS/1.0\r\nNats-Expected-Last-Sequence: 12\r\n\r\n"
            ),
            Some(12)
        );
        assert_eq!(
            get_seq(
                EXPECTED_LAST_SEQ,
                b"NATS/1.0\r\nNats-Expected-Last-Sequence: x\r\n\r\n"
            ),
            Some(u64::MAX)
        );
        // The longer key is not the shorter one.
        let h = b"NATS/1.0\r\nNats-Expected-Last-Subject-Sequence-Subject: a\r\n\r\n";
        assert_eq!(get(EXPECTED_LAST_SUBJ_SEQ, h), None);
        assert_eq!(get_str(EXPECTED_LAST_SUBJ_SEQ_SUBJ, h), "a");
        let h = b"NATS/1.0\r\nNats-Request-Info: {}\r\nA: b\r\n\r\n";
        assert_eq!(remove(h, CLIENT_INFO).unwrap(), b"NATS/1.0\r\nA: b\r\n\r\n");
    }

    #[test]
    fn durations_and_ttls() {
        assert_eq!(parse_go_duration("1h30m"), Some(5_400_000_000_000));
        assert_eq!(parse_go_duration("1.5s"), Some(1_500_000_000));
        assert_eq!(parse_go_duration("300ms"), Some(300_000_000));
        assert_eq!(parse_go_duration("10"), None);
        assert_eq!(parse_ttl("10s"), Some(10));
        assert_eq!(parse_ttl("60"), Some(60));
        assert_eq!(parse_ttl("never"), Some(-1));
        assert_eq!(parse_ttl("500ms"), None);
        assert_eq!(parse_ttl("soon"), None);
    }
}
