//! The configuration digest nats-server reports (`sha256:<hex>` in the
//! start-up log, `/varz` `config_digest`): SHA-256 of Go's JSON encoding of
//! the parsed file (keys sorted, `<`, `>` and `&` escaped, a trailing
//! newline), leaving out the variables that other keys referenced.

use conf::{Map, Value};
use std::collections::HashSet;

/// `sha256:<hex>` of `map` as nats-server computes it.
pub fn digest(map: &Map, used_vars: &HashSet<String>) -> String {
    let mut out = String::new();
    encode_map(map, used_vars, &mut out);
    out.push('\n');
    let d = ring::digest::digest(&ring::digest::SHA256, out.as_bytes());
    let hex: String = d.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

fn encode_map(map: &Map, used: &HashSet<String>, out: &mut String) {
    let mut keys: Vec<(&str, &Value)> = map
        .iter()
        .filter(|(k, _)| !used.contains(*k))
        .map(|(k, v)| (k, &v.value))
        .collect();
    keys.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    out.push('{');
    for (i, (k, v)) in keys.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        encode_str(k, out);
        out.push(':');
        encode(v, used, out);
    }
    out.push('}');
}

fn encode(v: &Value, used: &HashSet<String>, out: &mut String) {
    match v {
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(n) => out.push_str(&n.to_string()),
        Value::Float(f) => out.push_str(&go_float(*f)),
        Value::String(s) | Value::DateTime(s) => encode_str(s, out),
        Value::Array(a) => {
            out.push('[');
            for (i, e) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                encode(&e.value, used, out);
            }
            out.push(']');
        }
        Value::Map(m) => encode_map(m, used, out),
    }
}

/// Go's `encoding/json` float: shortest digits, exponent form outside
/// [1e-6, 1e21).
fn go_float(f: f64) -> String {
    let a = f.abs();
    if a == 0.0 || (1e-6..1e21).contains(&a) {
        return format!("{f}");
    }
    let s = format!("{f:e}");
    match s.split_once('e') {
        Some((m, e)) if !e.starts_with('-') => format!("{m}e+{e}"),
        _ => s,
    }
}

/// Go's JSON string with HTML escaping (as `json.Encoder` does).
fn encode_str(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", c as u32))
            }
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_json_forms() {
        assert_eq!(go_float(0.5), "0.5");
        assert_eq!(go_float(2.0), "2");
        assert_eq!(go_float(1e21), "1e+21");
        assert_eq!(go_float(1e-7), "1e-7");
        let mut s = String::new();
        encode_str("a<b>&\"\n\u{1}", &mut s);
        assert_eq!(s, r#""a\u003cb\u003e\u0026\"\n\u0001""#);
    }
}
