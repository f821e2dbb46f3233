//! Checks nats-server applies when it installs a subject mapping or
//! transform: destination syntax, mapping functions, wildcard use, weights.

use super::types::MapDest;
use super::value::{atoi, go_quote, valid_subject};
use std::collections::HashSet;

const INVALID_DEST: &str = "invalid mapping destination";

fn dest_err(kind: &str, token: &str) -> String {
    format!("{INVALID_DEST}: {kind} in {token}")
}

/// Go's `subjectInfo`: (valid, tokens, partial wildcards, full wildcard).
fn subject_info(s: &str) -> (bool, Vec<&str>, usize, bool) {
    if s.is_empty() {
        return (false, Vec::new(), 0, false);
    }
    let tokens: Vec<&str> = s.split('.').collect();
    let mut npwcs = 0;
    let mut fwc = false;
    for t in &tokens {
        if t.is_empty() || fwc {
            return (false, Vec::new(), 0, false);
        }
        match *t {
            ">" => fwc = true,
            "*" => npwcs += 1,
            _ => {}
        }
    }
    (true, tokens, npwcs, fwc)
}

/// Matches `{{\s*Name\s*\((.*)\)\s*}}` (first letter case-insensitive) in
/// a mustache token, returning the argument text.
fn mustache_args<'a>(token: &'a str, name: &str) -> Option<&'a str> {
    let inner = token.strip_prefix("{{")?.strip_suffix("}}")?;
    let rest = inner.trim_start();
    let (first, tail) = name.split_at(1);
    let mut chars = rest.chars();
    let c = chars.next()?;
    if !c.eq_ignore_ascii_case(&first.chars().next()?) {
        return None;
    }
    let rest = chars.as_str().strip_prefix(tail)?.trim_start();
    let rest = rest.strip_prefix('(')?;
    let close = rest.rfind(')')?;
    if !rest[close + 1..].trim().is_empty() {
        return None;
    }
    Some(&rest[..close])
}

const FUNCTIONS: &[&str] = &[
    "wildcard",
    "partition",
    "splitFromLeft",
    "splitFromRight",
    "sliceFromLeft",
    "sliceFromRight",
    "split",
];

fn is_mustache(t: &str) -> bool {
    t.len() > 4 && t.starts_with("{{") && t.ends_with("}}")
}

/// Go's `ValidateMappingDestination`.
fn validate_destination(subject: &str) -> Result<(), String> {
    let mut fwc = false;
    for t in subject.split('.') {
        if t.is_empty() || fwc {
            return Err(dest_err("invalid subject", t));
        }
        if is_mustache(t) {
            if !FUNCTIONS.iter().any(|f| mustache_args(t, f).is_some()) {
                return Err(dest_err("unknown function", t));
            }
            continue;
        }
        if t == ">" {
            fwc = true;
        } else if t.contains(['\t', '\n', '\x0c', '\r', ' ']) {
            return Err(format!("{INVALID_DEST}: invalid subject"));
        }
    }
    Ok(())
}

/// Go's `indexPlaceHolders`: `Ok(None)` for a plain token, else the
/// wildcard indexes the function refers to.
fn index_placeholders(token: &str) -> Result<Option<Vec<i64>>, String> {
    if token.len() <= 1 {
        return Ok(None);
    }
    if let Some(n) = token.strip_prefix('$') {
        return Ok(atoi(n).map(|i| vec![i]));
    }
    if !is_mustache(token) {
        return Ok(None);
    }
    let split_args = |a: &str| -> Vec<String> {
        let mut out = Vec::new();
        let mut cur = String::new();
        let mut chars = a.chars().peekable();
        while let Some(c) = chars.next() {
            if c == ',' {
                out.push(std::mem::take(&mut cur));
                while chars.peek().is_some_and(|c| c.is_whitespace()) {
                    chars.next();
                }
            } else {
                cur.push(c);
            }
        }
        out.push(cur);
        out
    };
    let num = |s: &str| atoi(s.trim_matches(' '));
    let not_enough = || dest_err("not enough arguments passed to the function", token);
    let too_many = || dest_err("too many arguments passed to the function", token);
    let invalid = || dest_err("function argument is invalid or in the wrong format", token);
    if let Some(a) = mustache_args(token, "wildcard") {
        let args = split_args(a);
        if args.len() == 1 && args[0].is_empty() {
            return Err(not_enough());
        }
        if args.len() != 1 {
            return Err(too_many());
        }
        return Ok(Some(vec![num(&args[0]).ok_or_else(invalid)?]));
    }
    if let Some(a) = mustache_args(token, "partition") {
        let args = split_args(a);
        if args.len() < 2 {
            return Err(not_enough());
        }
        num(&args[0]).ok_or_else(invalid)?;
        let mut idx = Vec::new();
        for t in &args[1..] {
            idx.push(num(t).ok_or_else(invalid)?);
        }
        return Ok(Some(idx));
    }
    for f in [
        "splitFromLeft",
        "splitFromRight",
        "sliceFromLeft",
        "sliceFromRight",
    ] {
        if let Some(a) = mustache_args(token, f) {
            let args = split_args(a);
            if args.len() < 2 {
                return Err(not_enough());
            }
            if args.len() > 2 {
                return Err(too_many());
            }
            let i = num(&args[0]).ok_or_else(invalid)?;
            num(&args[1]).ok_or_else(invalid)?;
            return Ok(Some(vec![i]));
        }
    }
    if let Some(a) = mustache_args(token, "split") {
        let args = split_args(a);
        if args.len() < 2 {
            return Err(not_enough());
        }
        if args.len() > 2 {
            return Err(too_many());
        }
        let i = num(&args[0]).ok_or_else(invalid)?;
        if args[1].contains(' ') || args[1].contains('.') {
            return Err(invalid());
        }
        return Ok(Some(vec![i]));
    }
    Err(dest_err("unknown function", token))
}

/// Go's `NewSubjectTransformWithStrict` checks; `strict` (imports, which
/// must be reversible) also requires every source wildcard in `dest`.
pub(crate) fn new_transform(src: &str, dest: &str, strict: bool) -> Result<(), String> {
    let (sv, _, npwcs, sfwc) = subject_info(src);
    let (dv, dtokens, dnpwcs, dfwc) = subject_info(dest);
    if !sv || !dv || dnpwcs > 0 || sfwc != dfwc {
        return Err("invalid subject".into());
    }
    if npwcs > 0 || sfwc {
        let mut nphs = 0;
        for t in dtokens {
            if let Some(idx) = index_placeholders(t)? {
                nphs += 1;
                for i in idx {
                    if i > npwcs as i64 {
                        return Err(dest_err(
                            "wildcard index out of range",
                            &format!("{t}: [{i}]"),
                        ));
                    }
                }
            }
        }
        if strict && nphs < npwcs {
            return Err(dest_err("not using all of the token wildcard(s)", dest));
        }
    }
    Ok(())
}

/// Go's `transformTokenize`: `*` tokens become `$1`, `$2`, ...
pub(crate) fn transform_tokenize(subject: &str) -> String {
    let mut i = 0;
    subject
        .split('.')
        .map(|t| {
            if t == "*" {
                i += 1;
                format!("${i}")
            } else {
                t.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// Go's `AddWeightedMappings` checks.
pub(crate) fn check_weighted(src: &str, dests: &[MapDest]) -> Result<(), String> {
    if !valid_subject(src) {
        return Err("invalid subject".into());
    }
    let mut seen = HashSet::new();
    // Totals per cluster (Go sums into a uint8, so they wrap).
    let mut totals: std::collections::HashMap<&str, u32> = Default::default();
    for d in dests {
        if !seen.insert(d.subject.as_str()) {
            return Err(format!("duplicate entry for {}", go_quote(&d.subject)));
        }
        if d.weight > 100 {
            return Err("individual weights need to be <= 100".into());
        }
        let total = totals
            .entry(d.cluster.as_deref().unwrap_or(""))
            .or_insert(0);
        *total = (*total + d.weight as u32) % 256;
        if *total > 100 {
            return Err("total weight needs to be <= 100".into());
        }
        validate_destination(&d.subject)?;
        new_transform(src, &d.subject, false)?;
    }
    Ok(())
}
