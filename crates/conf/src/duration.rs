//! Go's duration strings, as config values and NATS headers carry them.

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

/// Formats nanoseconds as Go's `time.Duration.String` does: `1m30s`, `1.5s`, `500ms`.
pub fn format_go_duration(ns: i64) -> String {
    if ns == 0 {
        return "0s".into();
    }
    let neg = ns < 0;
    let u = ns.unsigned_abs();
    let frac = |v: u64, unit: u64| -> String {
        let whole = v / unit;
        let rest = v % unit;
        if rest == 0 {
            return whole.to_string();
        }
        let digits = unit.trailing_zeros().min(unit.to_string().len() as u32 - 1) as usize;
        let mut f = format!("{rest:0digits$}");
        while f.ends_with('0') {
            f.pop();
        }
        format!("{whole}.{f}")
    };
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if u < 1_000 {
        out.push_str(&format!("{u}ns"));
    } else if u < 1_000_000 {
        out.push_str(&format!("{}µs", frac(u, 1_000)));
    } else if u < 1_000_000_000 {
        out.push_str(&format!("{}ms", frac(u, 1_000_000)));
    } else {
        let secs = u / 1_000_000_000;
        let (h, m) = (secs / 3600, (secs % 3600) / 60);
        if h > 0 {
            out.push_str(&format!("{h}h"));
        }
        if h > 0 || m > 0 {
            out.push_str(&format!("{m}m"));
        }
        out.push_str(&format!("{}s", frac(u % 60_000_000_000, 1_000_000_000)));
    }
    out
}

#[cfg(test)]
mod format_tests {
    use super::format_go_duration as f;

    #[test]
    fn go_spellings() {
        assert_eq!(f(0), "0s");
        assert_eq!(f(1_000_000_000), "1s");
        assert_eq!(f(1_500_000_000), "1.5s");
        assert_eq!(f(90_000_000_000), "1m30s");
        assert_eq!(f(3_600_000_000_000), "1h0m0s");
        assert_eq!(f(500_000_000), "500ms");
        assert_eq!(f(1_500_000), "1.5ms");
        assert_eq!(f(1_500), "1.5µs");
        assert_eq!(f(999), "999ns");
    }
}
