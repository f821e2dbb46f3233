//! Subject transforms, as nats-server's `subjectTransform` applies them to
//! subject mappings: a destination made of literal tokens, `$N` and the
//! mustache functions `{{wildcard(n)}}`, `{{partition(n, i...)}}`,
//! `{{splitFromLeft(i, p)}}`, `{{splitFromRight(i, p)}}`,
//! `{{sliceFromLeft(i, n)}}`, `{{sliceFromRight(i, n)}}`, `{{split(i, d)}}`,
//! `{{left(i, n)}}`, `{{right(i, n)}}` and `{{random(n)}}`, with a
//! trailing `>` carried over.
//!
//! Building a transform checks only what applying it needs; the config
//! layer reports nats-server's errors for bad destinations first.

/// One destination token.
#[derive(Debug, Clone, PartialEq)]
enum Tok {
    /// A literal token.
    Lit(String),
    /// `>`: the rest of the source subject.
    Rest,
    /// The source token at this position.
    Wildcard(usize),
    /// FNV-1a of the tokens at these positions (all tokens when empty),
    /// modulo the bucket count.
    Partition(u32, Vec<usize>),
    SplitFromLeft(usize, i64),
    SplitFromRight(usize, i64),
    SliceFromLeft(usize, i64),
    SliceFromRight(usize, i64),
    Split(usize, String),
    Left(usize, i64),
    Right(usize, i64),
    Random(u32),
}

/// A compiled transform from a source pattern to a destination.
#[derive(Debug, Clone, PartialEq)]
pub struct Transform {
    src_tokens: usize,
    dest: Vec<Tok>,
    literal: Option<String>,
}

/// The arguments of `{{name(args)}}` when `token` is that function (the
/// name's first letter and its camel-case capitals match either case).
fn func_args<'a>(token: &'a str, name: &str) -> Option<Vec<&'a str>> {
    let inner = token.strip_prefix("{{")?.strip_suffix("}}")?.trim();
    if inner.len() < name.len() || !inner.is_char_boundary(name.len()) {
        return None;
    }
    let (head, rest) = inner.split_at(name.len());
    // Go's `[sS]plit[fF]rom[lL]eft`: the first letter and the capitals
    // may be either case, the others are exact.
    let same = head
        .chars()
        .zip(name.chars())
        .enumerate()
        .all(|(i, (a, b))| {
            a == b || (i == 0 || b.is_ascii_uppercase()) && a.eq_ignore_ascii_case(&b)
        });
    if !same {
        return None;
    }
    let rest = rest.trim_start().strip_prefix('(')?;
    let args = rest.strip_suffix(')')?;
    Some(args.split(',').map(|a| a.trim_start()).collect())
}

fn num(s: &str) -> Option<i64> {
    s.trim().parse().ok()
}

impl Transform {
    /// Compiles `src` → `dest`. `None` when `dest` is not a destination
    /// this engine can apply (the config check reports why).
    pub fn new(src: &str, dest: &str) -> Option<Transform> {
        let stoks: Vec<&str> = if src.is_empty() {
            vec![">"]
        } else {
            src.split('.').collect()
        };
        // Position of the n-th `*` of the source (1-based n).
        let wild: Vec<usize> = stoks
            .iter()
            .enumerate()
            .filter(|(_, t)| **t == "*")
            .map(|(i, _)| i)
            .collect();
        let pos = |n: i64| -> Option<usize> {
            usize::try_from(n)
                .ok()
                .filter(|n| *n >= 1)
                .and_then(|n| wild.get(n - 1).copied())
        };
        let mut out = Vec::new();
        let mut any_func = false;
        for t in dest.split('.') {
            let tok = if t == ">" {
                Tok::Rest
            } else if let Some(n) = t.strip_prefix('$').and_then(|n| n.parse::<i64>().ok()) {
                any_func = true;
                Tok::Wildcard(pos(n)?)
            } else if t.starts_with("{{") && t.ends_with("}}") {
                any_func = true;
                // The functions of a wildcard index and an integer.
                type Make = fn(usize, i64) -> Tok;
                const INDEX_INT: [(&str, Make); 6] = [
                    ("splitFromLeft", Tok::SplitFromLeft),
                    ("splitFromRight", Tok::SplitFromRight),
                    ("sliceFromLeft", Tok::SliceFromLeft),
                    ("sliceFromRight", Tok::SliceFromRight),
                    ("left", Tok::Left),
                    ("right", Tok::Right),
                ];
                let index_int = INDEX_INT
                    .iter()
                    .find_map(|(name, make)| func_args(t, name).map(|a| (a, make)));
                if let Some(a) = func_args(t, "wildcard") {
                    Tok::Wildcard(pos(num(a.first()?)?)?)
                } else if let Some(a) = func_args(t, "partition") {
                    let n = u32::try_from(num(a.first()?)?).ok()?;
                    let mut idx = Vec::new();
                    for i in &a[1..] {
                        idx.push(pos(num(i)?)?);
                    }
                    Tok::Partition(n, idx)
                } else if let Some((a, make)) = index_int {
                    match a.as_slice() {
                        [i, n] => make(pos(num(i)?)?, num(n)?),
                        _ => return None,
                    }
                } else if let Some(a) = func_args(t, "split") {
                    match a.as_slice() {
                        [i, d] => Tok::Split(pos(num(i)?)?, d.to_string()),
                        _ => return None,
                    }
                } else if let Some(a) = func_args(t, "random") {
                    Tok::Random(u32::try_from(num(a.first()?)?).ok()?)
                } else {
                    return None;
                }
            } else {
                Tok::Lit(t.to_string())
            };
            out.push(tok);
        }
        let literal = (!any_func && !out.contains(&Tok::Rest)).then(|| dest.to_string());
        Some(Transform {
            src_tokens: stoks.len(),
            dest: out,
            literal,
        })
    }

    /// The destination for a subject matching the source, into `out`.
    pub fn apply(&self, subject: &str, out: &mut String) {
        out.clear();
        if let Some(l) = &self.literal {
            out.push_str(l);
            return;
        }
        let tokens: Vec<&str> = subject.split('.').collect();
        let tok = |i: usize| tokens.get(i).copied().unwrap_or_default();
        let last = self.dest.len() - 1;
        for (n, d) in self.dest.iter().enumerate() {
            match d {
                Tok::Lit(s) => out.push_str(s),
                Tok::Rest => {
                    let from = self.src_tokens.saturating_sub(1);
                    if let Some(rest) = tokens.get(from..) {
                        out.push_str(&rest.join("."));
                    }
                    break;
                }
                Tok::Wildcard(i) => out.push_str(tok(*i)),
                Tok::Partition(buckets, idx) => {
                    let key = if idx.is_empty() {
                        subject.to_string()
                    } else {
                        idx.iter().map(|i| tok(*i)).collect::<String>()
                    };
                    let p = if *buckets == 0 {
                        0
                    } else {
                        fnv1a(key.as_bytes()) % buckets
                    };
                    out.push_str(&p.to_string());
                }
                Tok::SplitFromLeft(i, p) => {
                    let s = tok(*i);
                    match usize::try_from(*p).ok().filter(|p| *p > 0 && *p < s.len()) {
                        Some(p) => {
                            out.push_str(&s[..p]);
                            out.push('.');
                            out.push_str(&s[p..]);
                        }
                        None => out.push_str(s),
                    }
                }
                Tok::SplitFromRight(i, p) => {
                    let s = tok(*i);
                    match usize::try_from(*p).ok().filter(|p| *p > 0 && *p < s.len()) {
                        Some(p) => {
                            out.push_str(&s[..s.len() - p]);
                            out.push('.');
                            out.push_str(&s[s.len() - p..]);
                        }
                        None => out.push_str(s),
                    }
                }
                Tok::SliceFromLeft(i, n) => {
                    let s = tok(*i);
                    match usize::try_from(*n).ok().filter(|n| *n > 0 && *n < s.len()) {
                        Some(n) => {
                            let parts: Vec<&str> = s
                                .as_bytes()
                                .chunks(n)
                                .map(|c| std::str::from_utf8(c).unwrap_or_default())
                                .collect();
                            out.push_str(&parts.join("."));
                        }
                        None => out.push_str(s),
                    }
                }
                Tok::SliceFromRight(i, n) => {
                    let s = tok(*i);
                    match usize::try_from(*n).ok().filter(|n| *n > 0 && *n < s.len()) {
                        Some(n) => {
                            let rem = s.len() % n;
                            let mut parts: Vec<&str> = Vec::new();
                            if rem > 0 {
                                parts.push(&s[..rem]);
                            }
                            let mut k = rem;
                            while k + n <= s.len() {
                                parts.push(&s[k..k + n]);
                                k += n;
                            }
                            out.push_str(&parts.join("."));
                        }
                        None => out.push_str(s),
                    }
                }
                Tok::Split(i, delim) => {
                    let s = tok(*i);
                    let parts: Vec<&str> = s.split(delim.as_str()).collect();
                    for (j, part) in parts.iter().enumerate() {
                        out.push_str(part);
                        let next_nonempty = parts.get(j + 1).is_some_and(|p| !p.is_empty());
                        if j + 1 < parts.len() && next_nonempty && !(j == 0 && part.is_empty()) {
                            out.push('.');
                        }
                    }
                }
                Tok::Left(i, n) => {
                    let s = tok(*i);
                    match usize::try_from(*n).ok().filter(|n| *n > 0 && *n < s.len()) {
                        Some(n) => out.push_str(&s[..n]),
                        None => out.push_str(s),
                    }
                }
                Tok::Right(i, n) => {
                    let s = tok(*i);
                    match usize::try_from(*n).ok().filter(|n| *n > 0 && *n < s.len()) {
                        Some(n) => out.push_str(&s[s.len() - n..]),
                        None => out.push_str(s),
                    }
                }
                Tok::Random(n) => {
                    let r = if *n == 0 { 0 } else { fastrand::u32(0..*n) };
                    out.push_str(&r.to_string());
                }
            }
            if n < last {
                out.push('.');
            }
        }
    }
}

/// 32-bit FNV-1a, as Go's `hash/fnv` `New32a`.
pub fn fnv1a(bytes: &[u8]) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in bytes {
        h ^= u32::from(*b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(src: &str, dest: &str, subject: &str) -> String {
        let tr = Transform::new(src, dest).unwrap();
        let mut out = String::new();
        tr.apply(subject, &mut out);
        out
    }

    #[test]
    fn functions_as_nats_server() {
        assert_eq!(t("foo", "bar", "foo"), "bar");
        assert_eq!(t("a.*.*", "b.$2.$1", "a.x.y"), "b.y.x");
        assert_eq!(
            t("a.*.*", "b.{{wildcard(2)}}.{{ Wildcard(1) }}", "a.x.y"),
            "b.y.x"
        );
        assert_eq!(t("a.>", "b.>", "a.x.y"), "b.x.y");
        assert_eq!(t("a.*.>", "b.$1.>", "a.x.y.z"), "b.x.y.z");
        assert_eq!(t("*", "{{splitFromLeft(1,3)}}", "12345"), "123.45");
        assert_eq!(t("*", "{{splitFromRight(1,3)}}", "12345"), "12.345");
        assert_eq!(t("*", "{{SliceFromLeft(1,2)}}", "12345"), "12.34.5");
        assert_eq!(t("*", "{{sliceFromRight(1,2)}}", "12345"), "1.23.45");
        assert_eq!(t("*", "{{split(1,-)}}", "-a-b--c-"), "a.b.c");
        assert_eq!(t("*", "{{left(1,2)}}", "12345"), "12");
        assert_eq!(t("*", "{{right(1,2)}}", "12345"), "45");
        assert_eq!(t("*", "{{left(1,9)}}", "12345"), "12345");
        // Go: fnv32a("foo") % 10.
        assert_eq!(fnv1a(b"foo"), 0xa9f3_7ed7);
        assert_eq!(
            t("a.*", "p.{{partition(10,1)}}", "a.foo"),
            format!("p.{}", 0xa9f3_7ed7u32 % 10)
        );
        let r: u32 = t("a", "{{random(5)}}", "a").parse().unwrap();
        assert!(r < 5);
        assert!(Transform::new("a.*", "{{bogus(1)}}").is_none());
    }
}
