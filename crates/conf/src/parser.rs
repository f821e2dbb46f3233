//! Builds the value tree from tokens, resolving variables and includes.
//!
//! Mirrors Go's `conf/parse.go`: a stack of open maps/arrays, a separate
//! stack of pending keys, variables looked up in the open maps (innermost
//! first) and then in the environment, and included files parsed on their
//! own and merged into the current map.

use std::collections::HashSet;
use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;

use crate::chars::is_digit;
use crate::lexer::{Item, Kind, Lexer};
use crate::value::{Map, Spanned, Value};
use crate::{Error, Pos, MAX_DEPTH, MAX_FILE_SIZE, MAX_VALUES};

/// Maximum depth of nested `include` directives.
const MAX_INCLUDE_DEPTH: usize = 64;
/// Maximum number of files included by one parse.
const MAX_INCLUDES: usize = 4096;
/// Maximum depth of environment variables referring to other variables.
const MAX_ENV_DEPTH: usize = 64;

/// Key under which an environment variable's value is parsed (as Go).
const ENV_KEY: &str = "pk";
/// Unquoted values starting with `$2a$` are bcrypt hashes, not variables.
const BCRYPT_PREFIX: &str = "2a$";

/// State shared by a parse and every nested parse (includes, env values).
#[derive(Default)]
struct Global {
    values: usize,
    includes: usize,
    include_stack: Vec<PathBuf>,
    env_depth: usize,
}

/// An error plus the exact text Go's `err.Error()` would give for it, which
/// is what Go embeds when the error is nested in another (env values).
struct Fail {
    error: Error,
    go_text: String,
}

impl Fail {
    fn new(pos: Pos, message: impl Into<String>) -> Self {
        let message = message.into();
        Fail {
            go_text: message.clone(),
            error: Error::new(pos, message),
        }
    }
}

enum Ctx {
    Map(Map),
    Array(Vec<Spanned>),
}

struct Parser<'a> {
    lx: Lexer<'a>,
    ctxs: Vec<Ctx>,
    keys: Vec<(String, Pos)>,
    /// File being parsed, for positions.
    file: Option<Arc<PathBuf>>,
    /// Go's `filepath.Dir` of the file name, base for includes.
    dir: String,
    /// Nesting depth at which this source's top-level map sits.
    depth_base: usize,
    /// Environment variables being resolved (cycle detection).
    env_refs: &'a mut HashSet<String>,
    global: &'a mut Global,
}

/// Parses a whole source. `file` is the name used for positions and as the
/// base directory of includes (`None`: no file, includes from `.`).
pub(crate) fn parse_source(data: &[u8], file: Option<String>) -> Result<Map, Error> {
    let mut env_refs = HashSet::new();
    let mut global = Global::default();
    if let Some(name) = &file {
        global.include_stack.push(canonical(name));
    }
    run(data, file.as_deref(), 0, &mut env_refs, &mut global).map_err(|f| f.error)
}

fn run(
    data: &[u8],
    file: Option<&str>,
    depth_base: usize,
    env_refs: &mut HashSet<String>,
    global: &mut Global,
) -> Result<Map, Fail> {
    let mut p = Parser {
        lx: Lexer::new(data),
        ctxs: vec![Ctx::Map(Map::new())],
        keys: Vec::new(),
        file: file.map(|f| Arc::new(PathBuf::from(f))),
        dir: go_dir(file.unwrap_or("")),
        depth_base,
        env_refs,
        global,
    };
    p.parse()?;
    match p.ctxs.into_iter().next() {
        Some(Ctx::Map(m)) => Ok(m),
        _ => Ok(Map::new()),
    }
}

/// Reads a configuration file. Errors read like those of Go's
/// `os.ReadFile` (`open <path>: no such file or directory`), which is what
/// nats-server reports: it parses with `ParseFileWithChecks`, which does not
/// add the "error opening config file" prefix that plain `ParseFile` adds.
pub(crate) fn read_config(path: &str) -> Result<Vec<u8>, String> {
    let fail = |op: &str, e: std::io::Error| format!("{op} {path}: {}", os_error_text(&e));
    let file = std::fs::File::open(path).map_err(|e| fail("open", e))?;
    let mut data = Vec::new();
    file.take(MAX_FILE_SIZE + 1)
        .read_to_end(&mut data)
        .map_err(|e| fail("read", e))?;
    if data.len() as u64 > MAX_FILE_SIZE {
        return Err(format!(
            "read {path}: file is larger than {MAX_FILE_SIZE} bytes"
        ));
    }
    Ok(data)
}

/// An OS error the way Go prints a `syscall.Errno` ("no such file or directory").
fn os_error_text(e: &std::io::Error) -> String {
    let text = match e.raw_os_error() {
        Some(code) => std::io::Error::from_raw_os_error(code).to_string(),
        None => e.to_string(),
    };
    let text = match text.rfind(" (os error ") {
        Some(i) => &text[..i],
        None => &text,
    };
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn canonical(path: &str) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| PathBuf::from(path))
}

impl Parser<'_> {
    fn parse(&mut self) -> Result<(), Fail> {
        // Whether the previous token was a key other than "}" (Go allows a
        // stray trailing '}' to support JSON-like files).
        let mut dangling_key = false;
        loop {
            let it = self.lx.next_item();
            if it.kind == Kind::Eof {
                if dangling_key {
                    let pos = self.pos(&it);
                    let file = self.file.as_ref().map(|f| f.display().to_string());
                    let go_text = format!(
                        "config is invalid ({}:{}:{})",
                        file.unwrap_or_default(),
                        pos.line,
                        pos.col
                    );
                    return Err(Fail {
                        error: Error::new(pos, "config is invalid"),
                        go_text,
                    });
                }
                return Ok(());
            }
            dangling_key = it.kind == Kind::Key && it.val != "}";
            self.process(it)?;
        }
    }

    fn pos(&self, it: &Item) -> Pos {
        Pos {
            line: it.line,
            col: it.col,
            file: self.file.clone(),
        }
    }

    fn process(&mut self, it: Item) -> Result<(), Fail> {
        let pos = self.pos(&it);
        match it.kind {
            Kind::Error => Err(Fail {
                go_text: format!("Parse error on line {}: '{}'", it.go_line, it.val),
                error: Error::new(pos, it.val),
            }),
            Kind::Key => {
                self.keys.push((it.val, pos));
                Ok(())
            }
            Kind::MapStart | Kind::ArrayStart => {
                if self.depth_base + self.ctxs.len() > MAX_DEPTH {
                    return Err(Fail::new(
                        pos,
                        format!("maps and arrays nested deeper than {MAX_DEPTH} levels"),
                    ));
                }
                self.ctxs.push(if it.kind == Kind::MapStart {
                    Ctx::Map(Map::new())
                } else {
                    Ctx::Array(Vec::new())
                });
                Ok(())
            }
            Kind::MapEnd | Kind::ArrayEnd => {
                if self.ctxs.len() < 2 {
                    return Err(Fail::new(pos, "unbalanced map or array end"));
                }
                let value = match self.ctxs.pop() {
                    Some(Ctx::Map(m)) => Value::Map(m),
                    Some(Ctx::Array(a)) => Value::Array(a),
                    None => return Ok(()),
                };
                self.set_value(value, pos)
            }
            Kind::String => self.set_value(Value::String(it.val), pos),
            Kind::Integer => match parse_integer(&it.val) {
                Ok(Some(n)) => self.set_value(Value::Int(n), pos),
                // Go silently drops a number with an unknown suffix.
                Ok(None) => Ok(()),
                Err(msg) => Err(Fail::new(pos, msg)),
            },
            Kind::Float => match it.val.parse::<f64>() {
                Ok(f) if f.is_finite() => self.set_value(Value::Float(f), pos),
                Ok(_) => Err(Fail::new(
                    pos,
                    format!("float '{}' is out of the range", it.val),
                )),
                Err(_) => Err(Fail::new(
                    pos,
                    format!("expected float, but got '{}'", it.val),
                )),
            },
            Kind::Bool => match it.val.to_ascii_lowercase().as_str() {
                "true" | "yes" | "on" => self.set_value(Value::Bool(true), pos),
                "false" | "no" | "off" => self.set_value(Value::Bool(false), pos),
                _ => Err(Fail::new(
                    pos,
                    format!("expected boolean value, but got '{}'", it.val),
                )),
            },
            Kind::Datetime => {
                if valid_datetime(&it.val) {
                    self.set_value(Value::DateTime(it.val), pos)
                } else {
                    Err(Fail::new(
                        pos,
                        format!("expected Zulu formatted DateTime, but got '{}'", it.val),
                    ))
                }
            }
            Kind::Variable => self.variable(&it.val, pos),
            Kind::Include => self.include(&it.val, pos),
            Kind::Eof | Kind::Text | Kind::CommentStart => Ok(()),
        }
    }

    /// Stores a value in the innermost open array, or under the most recent
    /// pending key of the innermost open map (positioned at that key).
    fn set_value(&mut self, value: Value, pos: Pos) -> Result<(), Fail> {
        self.global.values += 1;
        self.check_budget(&pos)?;
        match self.ctxs.last_mut() {
            Some(Ctx::Array(a)) => a.push(Spanned::new(value, pos)),
            Some(Ctx::Map(m)) => {
                if let Some((key, key_pos)) = self.keys.pop() {
                    m.insert(key, Spanned::new(value, key_pos));
                }
            }
            None => {}
        }
        Ok(())
    }

    fn check_budget(&self, pos: &Pos) -> Result<(), Fail> {
        if self.global.values > MAX_VALUES {
            return Err(Fail::new(
                pos.clone(),
                format!("configuration expands to more than {MAX_VALUES} values"),
            ));
        }
        Ok(())
    }

    fn depth(&self) -> usize {
        self.depth_base + self.ctxs.len() - 1
    }

    fn variable(&mut self, name: &str, pos: Pos) -> Result<(), Fail> {
        let line = pos.line;
        let value = match self.lookup_variable(name, &pos) {
            Ok(Some(v)) => v,
            Ok(None) => {
                return Err(Fail::new(
                    pos,
                    format!("variable reference for '{name}' on line {line} can not be found"),
                ))
            }
            Err(msg) => {
                return Err(Fail::new(
                    pos,
                    format!(
                        "variable reference for '{name}' on line {line} could not be parsed: {msg}"
                    ),
                ))
            }
        };
        // The copy counts against the expansion budget (the value itself is
        // counted again by set_value).
        self.global.values += value.count() - 1;
        self.check_budget(&pos)?;
        self.set_value(value, pos)
    }

    /// Go's `lookupVariable`: bcrypt passthrough, then open maps from the
    /// innermost out (exact key), then the environment. `Err` carries the
    /// message of a failure to parse the environment value.
    fn lookup_variable(&mut self, name: &str, pos: &Pos) -> Result<Option<Value>, String> {
        if name.starts_with(BCRYPT_PREFIX) {
            return Ok(Some(Value::String(format!("${name}"))));
        }
        for ctx in self.ctxs.iter().rev() {
            if let Ctx::Map(m) = ctx {
                if let Some(v) = m.get_exact(name) {
                    // Budget check before copying a possibly huge tree.
                    if self.global.values + v.value.count() > MAX_VALUES {
                        return Err(format!(
                            "configuration expands to more than {MAX_VALUES} values"
                        ));
                    }
                    return Ok(Some(v.value.clone()));
                }
            }
        }
        if self.env_refs.contains(name) {
            return Err(format!("variable reference cycle for '{name}'"));
        }
        let Some(raw) = env_var(name) else {
            return Ok(None);
        };
        if self.global.env_depth >= MAX_ENV_DEPTH {
            return Err(format!(
                "environment variables nested deeper than {MAX_ENV_DEPTH} levels"
            ));
        }
        self.env_refs.insert(name.to_string());
        self.global.env_depth += 1;
        let src = format!("{ENV_KEY}={raw}");
        let depth = self.depth();
        let result = run(src.as_bytes(), None, depth, self.env_refs, self.global);
        self.global.env_depth -= 1;
        self.env_refs.remove(name);
        let map = result.map_err(|f| f.go_text)?;
        Ok(map.get_exact(ENV_KEY).map(|s| {
            let mut v = s.value.clone();
            v.relocate(pos);
            v
        }))
    }

    /// Parses an included file on its own (no access to this file's
    /// variables) and merges its keys into the current map.
    fn include(&mut self, name: &str, pos: Pos) -> Result<(), Fail> {
        let path = go_join(&self.dir, name);
        let fail = |msg: String, go_msg: String| Fail {
            error: Error::new(
                pos.clone(),
                format!("error parsing include file '{name}', {msg}"),
            ),
            go_text: format!("error parsing include file '{name}', {go_msg}"),
        };
        let plain = |msg: String| fail(msg.clone(), msg);
        let key = canonical(&path);
        if self.global.include_stack.contains(&key) {
            return Err(plain(format!(
                "include cycle: {path} is already being parsed"
            )));
        }
        if self.global.include_stack.len() > MAX_INCLUDE_DEPTH {
            return Err(plain(format!(
                "includes nested deeper than {MAX_INCLUDE_DEPTH} levels"
            )));
        }
        self.global.includes += 1;
        if self.global.includes > MAX_INCLUDES {
            return Err(plain(format!("more than {MAX_INCLUDES} files included")));
        }
        let data = read_config(&path).map_err(plain)?;
        self.global.include_stack.push(key);
        let mut env_refs = HashSet::new();
        let depth = self.depth();
        let result = run(&data, Some(&path), depth, &mut env_refs, self.global);
        self.global.include_stack.pop();
        let map = result.map_err(|f| fail(f.error.to_string(), f.go_text))?;
        for (key, value) in map.into_entries() {
            match self.ctxs.last_mut() {
                Some(Ctx::Map(m)) => {
                    m.insert(key, value);
                }
                Some(Ctx::Array(a)) => a.push(value),
                None => {}
            }
        }
        Ok(())
    }
}

/// Reads an environment variable as Go's `os.LookupEnv` would.
fn env_var(name: &str) -> Option<String> {
    if name.is_empty() || name.contains('=') || name.contains('\0') {
        return None;
    }
    std::env::var_os(name).map(|v| v.to_string_lossy().into_owned())
}

/// Go's integer conversion: leading digits (and '-') with an optional size
/// suffix. `Ok(None)` is an unknown suffix, which Go ignores.
fn parse_integer(val: &str) -> Result<Option<i64>, String> {
    // Go counts runes here but slices bytes; replicate that.
    let digits = val.chars().take_while(|&c| is_digit(c) || c == '-').count();
    let bytes = val.as_bytes();
    let (num, suffix) = bytes.split_at(digits.min(bytes.len()));
    let num = std::str::from_utf8(num)
        .ok()
        .filter(|s| s.bytes().all(|b| b.is_ascii_digit() || b == b'-'))
        .map(|s| s.parse::<i64>());
    let num = match num {
        Some(Ok(n)) => n,
        Some(Err(e))
            if matches!(
                e.kind(),
                std::num::IntErrorKind::PosOverflow | std::num::IntErrorKind::NegOverflow
            ) =>
        {
            return Err(format!("integer '{val}' is out of the range"))
        }
        _ => return Err(format!("expected integer, but got '{val}'")),
    };
    let suffix = String::from_utf8_lossy(suffix).trim().to_ascii_lowercase();
    let mult: i64 = match suffix.as_str() {
        "" => 1,
        "k" => 1000,
        "kb" | "ki" | "kib" => 1 << 10,
        "m" => 1000i64.pow(2),
        "mb" | "mi" | "mib" => 1 << 20,
        "g" => 1000i64.pow(3),
        "gb" | "gi" | "gib" => 1 << 30,
        "t" => 1000i64.pow(4),
        "tb" | "ti" | "tib" => 1 << 40,
        "p" => 1000i64.pow(5),
        "pb" | "pi" | "pib" => 1 << 50,
        "e" => 1000i64.pow(6),
        "eb" | "ei" | "eib" => 1 << 60,
        _ => return Ok(None),
    };
    // Go's int64 multiplication wraps on overflow.
    Ok(Some(num.wrapping_mul(mult)))
}

/// Whether `YYYY-MM-DDTHH:MM:SSZ` is a real date and time, as Go's
/// `time.Parse` checks it.
fn valid_datetime(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 20 {
        return false;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let part = &b[r];
        if !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        Some(part.iter().fold(0, |n, d| n * 10 + u32::from(d - b'0')))
    };
    let (Some(year), Some(month), Some(day), Some(hour), Some(min), Some(sec)) = (
        num(0..4),
        num(5..7),
        num(8..10),
        num(11..13),
        num(14..16),
        num(17..19),
    ) else {
        return false;
    };
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&day) && hour < 24 && min < 60 && sec < 60
}

/// Go's `filepath.Clean` for slash-separated paths.
fn go_clean(path: &str) -> String {
    if path.is_empty() {
        return ".".into();
    }
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|p| *p != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            _ => parts.push(part),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

/// Go's `filepath.Join(dir, name)`: note that an absolute `name` is still
/// appended to `dir`, exactly as nats-server resolves includes.
fn go_join(dir: &str, name: &str) -> String {
    match (dir.is_empty(), name.is_empty()) {
        (true, true) => String::new(),
        (true, false) => go_clean(name),
        (false, true) => go_clean(dir),
        (false, false) => go_clean(&format!("{dir}/{name}")),
    }
}

/// Go's `filepath.Dir`.
fn go_dir(path: &str) -> String {
    let cut = path.rfind('/').map_or(0, |i| i + 1);
    go_clean(&path[..cut])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_paths() {
        assert_eq!(go_dir(""), ".");
        assert_eq!(go_dir("a.conf"), ".");
        assert_eq!(go_dir("/etc/nats/a.conf"), "/etc/nats");
        assert_eq!(go_dir("/a.conf"), "/");
        assert_eq!(go_join(".", "x.conf"), "x.conf");
        assert_eq!(go_join("conf", "/etc/x"), "conf/etc/x");
        assert_eq!(go_join(".", "/etc/x"), "etc/x");
        assert_eq!(go_join("/a/b", "../c/./d"), "/a/c/d");
        assert_eq!(go_join(".", ""), ".");
        assert_eq!(go_clean("../../x"), "../../x");
        assert_eq!(go_clean("/../x"), "/x");
    }

    #[test]
    fn integers() {
        assert_eq!(parse_integer("4194304"), Ok(Some(4194304)));
        assert_eq!(parse_integer("-3k"), Ok(Some(-3000)));
        assert_eq!(parse_integer("2m"), Ok(Some(2_000_000)));
        assert_eq!(parse_integer("1Gb"), Ok(Some(1 << 30)));
        assert_eq!(parse_integer("2MiB"), Ok(Some(2 << 20)));
        assert_eq!(parse_integer("1t"), Ok(Some(1_000_000_000_000)));
        assert_eq!(parse_integer("1kbb"), Ok(None));
        assert!(parse_integer("99999999999999999999")
            .unwrap_err()
            .contains("out of the range"));
        assert!(parse_integer("\u{663}")
            .unwrap_err()
            .starts_with("expected integer"));
    }

    #[test]
    fn datetimes() {
        assert!(valid_datetime("2016-05-04T18:53:41Z"));
        assert!(valid_datetime("2024-02-29T00:00:00Z"));
        assert!(!valid_datetime("2023-02-29T00:00:00Z"));
        assert!(!valid_datetime("2023-13-01T00:00:00Z"));
        assert!(!valid_datetime("2023-01-01T24:00:00Z"));
        assert!(!valid_datetime("2023-01-01T00:60:00Z"));
    }
}
