//! Values written the way nats-server (Go) writes them: durations
//! (`time.Duration.String`), uptimes, RFC 3339 times with nanoseconds,
//! floats without a forced fraction, pretty JSON with Go's HTML escaping,
//! and the `strconv` parsers behind the query parameters.

use chrono::{DateTime, Utc};
use serde::{Serialize, Serializer};
use std::time::Duration;

/// Go's `time.Duration.String`: `0s`, `310ns`, `1.5µs`, `2.25ms`, `1m2.5s`,
/// `1h0m0s`.
pub fn duration(d: Duration) -> String {
    crate::config::golang::go_duration_string(i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// A round trip time as nats-server shows it: truncated to microseconds
/// between 1µs and 1ms.
pub fn rtt(d: Duration) -> String {
    if d > Duration::from_micros(1) && d < Duration::from_millis(1) {
        duration(Duration::from_micros(d.as_micros() as u64))
    } else {
        duration(d)
    }
}

/// nats-server's uptime format: whole seconds as `1y2d3h4m5s`, leading
/// zero units omitted.
pub fn uptime(d: Duration) -> String {
    let tsecs = d.as_secs();
    let (tmins, thrs) = (tsecs / 60, tsecs / 3600);
    let (tdays, tyrs) = (thrs / 24, thrs / 24 / 365);
    if tyrs > 0 {
        format!(
            "{tyrs}y{}d{}h{}m{}s",
            tdays % 365,
            thrs % 24,
            tmins % 60,
            tsecs % 60
        )
    } else if tdays > 0 {
        format!("{tdays}d{}h{}m{}s", thrs % 24, tmins % 60, tsecs % 60)
    } else if thrs > 0 {
        format!("{thrs}h{}m{}s", tmins % 60, tsecs % 60)
    } else if tmins > 0 {
        format!("{tmins}m{}s", tsecs % 60)
    } else {
        format!("{tsecs}s")
    }
}

/// The time between two instants, zero if `to` is before `from`.
pub fn since(from: DateTime<Utc>, to: DateTime<Utc>) -> Duration {
    (to - from).to_std().unwrap_or_default()
}

/// RFC 3339 with nanoseconds, trailing zeros dropped (Go's
/// `time.RFC3339Nano`), in UTC.
pub fn rfc3339(t: DateTime<Utc>) -> String {
    crate::util::rfc3339_nanos(t)
}

/// A time that serializes as Go's `time.Time` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct GoTime(pub DateTime<Utc>);

impl Serialize for GoTime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&rfc3339(self.0))
    }
}

/// A float that serializes as Go's `encoding/json` does: integral values
/// without a fraction (`2`, not `2.0`).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Default)]
pub struct GoFloat(pub f64);

impl GoFloat {
    /// True for 0 (an omitted field).
    pub fn is_zero(&self) -> bool {
        self.0 == 0.0
    }
}

impl Serialize for GoFloat {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let v = self.0;
        if v.is_finite() && v.fract() == 0.0 && v.abs() < 9.0e15 {
            s.serialize_i64(v as i64)
        } else {
            s.serialize_f64(v)
        }
    }
}

/// Pretty JSON with a two-space indent (Go's `json.MarshalIndent(v, "", "  ")`),
/// with `<`, `>`, `&`, U+2028 and U+2029 escaped as Go does.
pub fn json_pretty<T: Serialize>(v: &T) -> Vec<u8> {
    go_escape(serde_json::to_vec_pretty(v).unwrap_or_default())
}

/// Compact JSON (Go's `json.Marshal`), escaped as Go does.
pub fn json_compact<T: Serialize>(v: &T) -> Vec<u8> {
    go_escape(serde_json::to_vec(v).unwrap_or_default())
}

/// Go's HTML-safe escaping. These characters only occur inside strings in
/// JSON, so the whole document can be rewritten.
fn go_escape(json: Vec<u8>) -> Vec<u8> {
    let special = |b: &u8| matches!(b, b'<' | b'>' | b'&' | 0xE2);
    if !json.iter().any(special) {
        return json;
    }
    let mut out = Vec::with_capacity(json.len() + 16);
    let mut i = 0;
    while i < json.len() {
        match json[i] {
            b'<' => out.extend_from_slice(b"\\u003c"),
            b'>' => out.extend_from_slice(b"\\u003e"),
            b'&' => out.extend_from_slice(b"\\u0026"),
            0xE2 if json.get(i + 1) == Some(&0x80)
                && matches!(json.get(i + 2), Some(0xA8) | Some(0xA9)) =>
            {
                let last = if json[i + 2] == 0xA8 { b'8' } else { b'9' };
                out.extend_from_slice(b"\\u202");
                out.push(last);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    out
}

/// `s` quoted as Go's `%q` does.
fn quote(s: &str) -> String {
    crate::config::go_quote(s)
}

/// Go's `strconv.ParseBool`; the error text is Go's.
pub fn parse_bool(s: &str) -> Result<bool, String> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        _ => Err(format!(
            "strconv.ParseBool: parsing {}: invalid syntax",
            quote(s)
        )),
    }
}

pub use crate::config::golang::go_atoi as atoi;

/// Go's `strconv.ParseUint(s, 10, 64)`; the error text is Go's.
pub fn parse_uint(s: &str) -> Result<u64, String> {
    let err = |what: &str| format!("strconv.ParseUint: parsing {}: {what}", quote(s));
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(err("invalid syntax"));
    }
    s.parse::<u64>().map_err(|_| err("value out of range"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_as_go() {
        let ns = Duration::from_nanos;
        assert_eq!(duration(ns(0)), "0s");
        assert_eq!(duration(ns(310)), "310ns");
        assert_eq!(duration(ns(310_000)), "310µs");
        assert_eq!(duration(ns(1_500)), "1.5µs");
        assert_eq!(duration(ns(2_250_000)), "2.25ms");
        assert_eq!(duration(ns(1_234_567)), "1.234567ms");
        assert_eq!(duration(ns(62_500_000_000)), "1m2.5s");
        assert_eq!(duration(ns(3_600_000_000_000)), "1h0m0s");
        assert_eq!(duration(Duration::from_secs(120)), "2m0s");
        assert_eq!(rtt(ns(498_765)), "498µs");
        assert_eq!(rtt(ns(1_234_567)), "1.234567ms");
        assert_eq!(uptime(Duration::from_secs(62)), "1m2s");
        assert_eq!(uptime(Duration::from_secs(86_400 + 3_661)), "1d1h1m1s");
    }

    #[test]
    fn times_and_floats() {
        let t = DateTime::parse_from_rfc3339("2026-11-26T09:37:52.651312580Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(rfc3339(t), "2026-11-26T09:37:52.65131258Z");
        let t0 = DateTime::parse_from_rfc3339("2026-11-26T09:37:52Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(rfc3339(t0), "2026-11-26T09:37:52Z");
        assert_eq!(serde_json::to_string(&GoFloat(2.0)).unwrap(), "2");
        assert_eq!(serde_json::to_string(&GoFloat(0.8)).unwrap(), "0.8");
        assert_eq!(json_compact(&"<a&b>"), br#""\u003ca\u0026b\u003e""#);
    }

    #[test]
    fn strconv_errors() {
        assert_eq!(atoi("-12"), Ok(-12));
        assert_eq!(
            atoi("abc").unwrap_err(),
            r#"strconv.Atoi: parsing "abc": invalid syntax"#
        );
        assert_eq!(
            atoi("99999999999999999999").unwrap_err(),
            r#"strconv.Atoi: parsing "99999999999999999999": value out of range"#
        );
        assert_eq!(
            parse_uint("-1").unwrap_err(),
            r#"strconv.ParseUint: parsing "-1": invalid syntax"#
        );
        assert_eq!(parse_bool("True"), Ok(true));
        assert!(parse_bool("yes").is_err());
    }
}
