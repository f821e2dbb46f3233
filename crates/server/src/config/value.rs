//! Shared machinery of the key handlers: the error/warning collector with
//! nats-server's message shapes and typed accessors that fail the way Go's
//! type assertions do.

use conf::{Map, Pos, Spanned, Value};
use std::collections::HashSet;

pub(crate) use super::golang::{
    atoi, go_duration, go_duration_string, go_quote, go_url_ok, nanos, parse_listen,
};

/// The current block was abandoned after an error was recorded (nats-server
/// recovers from a failed type assertion at the block level).
#[derive(Debug)]
pub(crate) struct Abort;

/// Result of a handler: `Err` means "error recorded, stop this block".
pub(crate) type R<T> = Result<T, Abort>;

/// Collects errors and warnings while a config tree is interpreted.
#[derive(Debug, Default)]
pub(crate) struct Ctx {
    /// Hard errors, already formatted.
    pub errors: Vec<String>,
    /// Warnings (errors for `-t`), already formatted.
    pub warnings: Vec<String>,
    /// Errors nats-server only reports when it starts (not for `-t`).
    pub deferred: Vec<String>,
    /// Names referenced as `$VAR` somewhere in the files: keys with these
    /// names are never "unknown fields".
    pub used_vars: HashSet<String>,
    /// Where failed type assertions are reported instead of at the value
    /// (nats-server blocks without their own recovery report at the
    /// top-level key).
    pub panic_pos: Option<Pos>,
}

impl Ctx {
    /// Records an error at `pos`.
    pub fn err(&mut self, pos: &Pos, msg: impl std::fmt::Display) {
        self.errors.push(format!("{pos}: {msg}"));
    }

    /// Records an error at `pos` and returns [`Abort`].
    pub fn fail<T>(&mut self, pos: &Pos, msg: impl std::fmt::Display) -> R<T> {
        self.err(pos, msg);
        Err(Abort)
    }

    /// Records an error without a position.
    pub fn err_bare(&mut self, msg: impl Into<String>) {
        self.errors.push(msg.into());
    }

    /// Records a warning with nats-server's plain text.
    pub fn warn_plain(&mut self, pos: &Pos, msg: &str) {
        self.warnings.push(format!("{pos}: {msg}"));
    }

    /// Records nats-server's "invalid use of field" warning.
    pub fn warn_field(&mut self, pos: &Pos, field: &str, reason: &str) {
        self.warnings.push(format!(
            "{pos}: invalid use of field {}: {reason}",
            go_quote(field)
        ));
    }

    /// Records "unknown field" unless the key is referenced as a variable.
    pub fn unknown(&mut self, key: &str, item: &Spanned) {
        if !self.used_vars.contains(key) {
            self.err(&item.pos, format!("unknown field {}", go_quote(key)));
        }
    }

    /// Records a custom unknown-field message unless the key is a variable.
    pub fn unknown_msg(&mut self, key: &str, item: &Spanned, msg: String) {
        if !self.used_vars.contains(key) {
            self.err(&item.pos, msg);
        }
    }

    /// Go's failed type assertion, recovered and reported at the value.
    pub fn conversion<T>(&mut self, item: &Spanned, want: &str) -> R<T> {
        let msg = format!(
            "interface conversion: interface {{}} is {}, not {want}",
            item.value.type_name()
        );
        let pos = self.panic_pos.clone().unwrap_or_else(|| item.pos.clone());
        self.fail(&pos, msg)
    }

    /// `v.(string)`.
    pub fn str(&mut self, item: &Spanned) -> R<String> {
        match &item.value {
            Value::String(s) => Ok(s.clone()),
            _ => self.conversion(item, "string"),
        }
    }

    /// `v.(int64)`.
    pub fn int(&mut self, item: &Spanned) -> R<i64> {
        match &item.value {
            Value::Int(n) => Ok(*n),
            _ => self.conversion(item, "int64"),
        }
    }

    /// `int(v.(int64))` into an `i32` port-like field (Go's int is 64-bit;
    /// out-of-range values are clamped).
    pub fn int32(&mut self, item: &Spanned) -> R<i32> {
        let n = self.int(item)?;
        Ok(n.clamp(i32::MIN as i64, i32::MAX as i64) as i32)
    }

    /// `v.(bool)`.
    pub fn bool(&mut self, item: &Spanned) -> R<bool> {
        match &item.value {
            Value::Bool(b) => Ok(*b),
            _ => self.conversion(item, "bool"),
        }
    }

    /// `v.(map[string]interface{})`.
    pub fn map<'a>(&mut self, item: &'a Spanned) -> R<&'a Map> {
        match &item.value {
            Value::Map(m) => Ok(m),
            _ => self.conversion(item, "map[string]interface {}"),
        }
    }

    /// A map, or the fatal error `{what}, got {type}` (Go's block parsers).
    pub fn map_or_fail<'a>(&mut self, item: &'a Spanned, what: &str) -> R<&'a conf::Map> {
        match &item.value {
            Value::Map(m) => Ok(m),
            other => {
                let msg = format!("{what}, got {}", other.type_name());
                self.fail(&item.pos, msg)
            }
        }
    }

    /// `v.([]interface{})`.
    pub fn array<'a>(&mut self, item: &'a Spanned) -> R<&'a [Spanned]> {
        match &item.value {
            Value::Array(a) => Ok(a),
            _ => self.conversion(item, "[]interface {}"),
        }
    }

    /// Go's `parseDuration` helper: a duration string, or (with a warning)
    /// an integer number of seconds.
    pub fn duration_or_secs(&mut self, field: &str, item: &Spanned) -> R<i64> {
        match &item.value {
            Value::String(s) => match go_duration(s) {
                Ok(d) => Ok(d),
                Err(e) => self.fail(&item.pos, format!("error parsing {field}: {e}")),
            },
            _ => {
                self.warn_field(
                    &item.pos,
                    field,
                    &format!("{field} should be converted to a duration"),
                );
                Ok(self.int(item)?.saturating_mul(1_000_000_000))
            }
        }
    }

    /// A timeout in seconds: integer or float; anything else is 1 (Go's
    /// authorization `timeout`).
    pub fn auth_timeout(item: &Spanned) -> f64 {
        match &item.value {
            Value::Int(n) => *n as f64,
            Value::Float(f) => *f,
            _ => 1.0,
        }
    }
}

/// Names used as `$VAR` in the given config sources (outside comments and
/// quoted strings).
pub(crate) fn referenced_vars(src: &str) -> HashSet<String> {
    let mut out = HashSet::new();
    let b = src.as_bytes();
    let mut i = 0;
    let mut prev = b'\n';
    while i < b.len() {
        let c = b[i];
        let at_token_start = prev.is_ascii_whitespace() || b":=[,{(".contains(&prev);
        match c {
            b'#' if at_token_start => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'/' if at_token_start && b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'"' | b'\'' if at_token_start => {
                let q = c;
                i += 1;
                while i < b.len() && b[i] != q {
                    if q == b'"' && b[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
                prev = q;
                i += 1;
                continue;
            }
            b'$' if at_token_start => {
                let start = i + 1;
                let mut j = start;
                while j < b.len() && !b[j].is_ascii_whitespace() && !b";,]}'".contains(&b[j]) {
                    j += 1;
                }
                if j > start {
                    out.insert(String::from_utf8_lossy(&b[start..j]).into_owned());
                }
                prev = b'x';
                i = j;
                continue;
            }
            _ => {}
        }
        prev = c;
        i += 1;
    }
    out
}

/// Every file that contributed a value to `map` (the main file and the
/// files it includes).
pub(crate) fn source_files(map: &Map, out: &mut Vec<std::path::PathBuf>) {
    fn visit(v: &Spanned, out: &mut Vec<std::path::PathBuf>) {
        if let Some(f) = &v.pos.file {
            if !out.iter().any(|p| p == f.as_ref()) {
                out.push(f.as_ref().clone());
            }
        }
        match &v.value {
            Value::Map(m) => m.iter().for_each(|(_, x)| visit(x, out)),
            Value::Array(a) => a.iter().for_each(|x| visit(x, out)),
            _ => {}
        }
    }
    map.iter().for_each(|(_, v)| visit(v, out));
}

/// Go's `strings.Fields`.
pub(crate) fn fields(s: &str) -> Vec<&str> {
    s.split(|c: char| c.is_whitespace())
        .filter(|t| !t.is_empty())
        .collect()
}

/// nats-server's `IsValidSubject`.
pub(crate) fn valid_subject(s: &str) -> bool {
    sublist::subject::is_valid_subject(s.as_bytes())
}

/// Go's `subjectIsLiteral`: no `*` or `>` token.
pub(crate) fn subject_is_literal(s: &str) -> bool {
    sublist::subject::is_literal(s.as_bytes())
}

/// Whether a public nkey is valid and has the given prefix byte (`U`, `A`,
/// `O`, ...).
pub(crate) fn valid_public_nkey(key: &str, prefix: char) -> bool {
    key.starts_with(prefix) && nkeys::KeyPair::from_public_key(key).is_ok()
}
