//! Temporary differential-testing helper (not part of the crate).
use conf::{Map, Spanned, Value};
use std::io::{BufRead, Write};

fn hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

fn val(out: &mut String, s: &Spanned) {
    out.push_str(&format!("@{}:{} ", s.pos.line, s.pos.col));
    match &s.value {
        Value::Map(m) => map(out, m),
        Value::Array(a) => {
            out.push('[');
            for e in a {
                val(out, e);
                out.push_str(", ");
            }
            out.push(']');
        }
        Value::String(x) => out.push_str(&format!("s{}", hex(x))),
        Value::Int(i) => out.push_str(&format!("i{i}")),
        Value::Float(f) => out.push_str(&format!("f{:x}", f.to_bits())),
        Value::Bool(b) => out.push_str(&format!("b{b}")),
        Value::DateTime(d) => out.push_str(&format!("d{d:?}")),
    }
}

fn map(out: &mut String, m: &Map) {
    let mut keys: Vec<_> = m.iter().collect();
    keys.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    out.push('{');
    for (k, v) in keys {
        out.push_str(&format!("{}: ", hex(k)));
        val(out, v);
        out.push_str("; ");
    }
    out.push('}');
}

fn main() {
    let stdin = std::io::stdin();
    let mut w = std::io::BufWriter::new(std::io::stdout());
    for line in stdin.lock().lines() {
        let line = line.unwrap();
        let bytes: Vec<u8> = (0..line.len() / 2)
            .map(|i| u8::from_str_radix(&line[2 * i..2 * i + 2], 16).unwrap())
            .collect();
        let out = match conf::parse_bytes(&bytes) {
            Ok(m) => {
                let mut s = String::new();
                map(&mut s, &m);
                s
            }
            Err(e) => format!("ERR {e}"),
        };
        let out = out
            .replace('\\', "\\\\")
            .replace('\n', "\\n")
            .replace('\r', "\\r")
            .replace('\t', "\\t")
            .replace('\0', "\\0");
        writeln!(w, "{out}").unwrap();
    }
}
