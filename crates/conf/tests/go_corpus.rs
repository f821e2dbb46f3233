//! Differential regression test against recorded output of Go's nats-server
//! `conf` package.
//!
//! `fixtures/go_corpus.txt` holds inputs (the string literals of Go's own
//! `lex_test.go`/`parse_test.go`, plus generated and mutated configurations)
//! together with what Go's pedantic parser produced for each: a canonical dump
//! of the tree with every token's line:pos, or the error text. Every case
//! must give the same tree, types, positions and error message here.

use conf::{Map, Spanned, Value};

/// Environment the corpus was recorded with.
const ENV: &[(&str, &str)] = &[
    ("RNCT_V", "22"),
    ("RNCT_S", "xyz"),
    ("RNCT_CYC", "$RNCT_CYC"),
    ("RNCT_A", "$RNCT_B"),
    ("RNCT_B", "$RNCT_A"),
    ("RNCT_MAP", "{a: 1, b: [x, 2 ], c: {d: $RNCT_V}}"),
    ("RNCT_BAD", "'unterminated"),
    ("RNCT_NUM", "3Gyz"),
    ("RNCT_Q", "'3xyz'"),
];

fn hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

fn dump_value(out: &mut String, s: &Spanned) {
    out.push_str(&format!("@{}:{} ", s.pos.line, s.pos.col));
    match &s.value {
        Value::Map(m) => dump_map(out, m),
        Value::Array(a) => {
            out.push('[');
            for e in a {
                dump_value(out, e);
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

fn dump_map(out: &mut String, m: &Map) {
    let mut entries: Vec<_> = m.iter().collect();
    entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    out.push('{');
    for (k, v) in entries {
        out.push_str(&format!("{}: ", hex(k)));
        dump_value(out, v);
        out.push_str("; ");
    }
    out.push('}');
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('\n', "\\n")
        .replace('\r', "\\r")
        .replace('\t', "\\t")
        .replace('\0', "\\0")
}

fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            Some('0') => out.push('\0'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

/// Go prints no position for values that came from an environment variable
/// ("@- "); accept any position there.
fn matches_with_wildcards(go: &str, rs: &str) -> bool {
    let mut parts = go.split("@- ");
    let Some(first) = parts.next() else {
        return false;
    };
    let Some(mut rest) = rs.strip_prefix(first) else {
        return false;
    };
    for part in parts {
        let Some(r) = rest.strip_prefix('@') else {
            return false;
        };
        let r = r.trim_start_matches(|c: char| c.is_ascii_digit());
        let Some(r) = r.strip_prefix(':') else {
            return false;
        };
        let r = r.trim_start_matches(|c: char| c.is_ascii_digit());
        let Some(r) = r.strip_prefix(' ') else {
            return false;
        };
        let Some(r) = r.strip_prefix(part) else {
            return false;
        };
        rest = r;
    }
    rest.is_empty()
}

/// Our errors read `line:col: message`; Go's read `Parse error on line N:
/// 'message'` for lexer errors, `config is invalid (:line:col)`, or just the
/// message.
fn errors_match(go: &str, rs: &str) -> bool {
    let Some((loc, msg)) = rs.split_once(": ") else {
        return false;
    };
    if let Some(rest) = go.strip_prefix("Parse error on line ") {
        let Some((_, inner)) = rest.split_once(": '") else {
            return false;
        };
        return inner.strip_suffix('\'') == Some(msg);
    }
    if msg == "config is invalid" {
        return go == format!("config is invalid (:{loc})");
    }
    go == msg
}

fn compatible(go: &str, rs: &str) -> bool {
    if go == rs {
        return true;
    }
    match (go.strip_prefix("ERR "), rs.strip_prefix("ERR ")) {
        (Some(g), Some(r)) => errors_match(g, r),
        (None, None) => matches_with_wildcards(go, rs),
        _ => false,
    }
}

#[test]
fn matches_go_corpus() {
    for (k, v) in ENV {
        std::env::set_var(k, v);
    }
    let corpus = include_str!("fixtures/go_corpus.txt");
    let mut cases = 0;
    let mut failures = Vec::new();
    // Case lines are `input<TAB>output`; lines without a tab are comments.
    for (input, go) in corpus.lines().filter_map(|l| l.split_once('\t')) {
        let input = unescape(input);
        let rs = match conf::parse_str(&input) {
            Ok(m) => {
                let mut s = String::new();
                dump_map(&mut s, &m);
                s
            }
            Err(e) => format!("ERR {e}"),
        };
        let rs = escape(&rs);
        cases += 1;
        if !compatible(go, &rs) {
            failures.push(format!("input: {input:?}\n   go: {go}\n   rs: {rs}"));
        }
    }
    assert!(cases > 1400, "corpus too small: {cases}");
    assert!(
        failures.is_empty(),
        "{} of {cases} cases differ from Go:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
