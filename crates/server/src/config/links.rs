//! Checks nats-server applies when it installs account exports and
//! imports: the exporting account exists, the import is authorized, no
//! cycles, no duplicates.

use super::mapping::{new_transform, transform_tokenize};
use super::types::{AccountOpts, ExportKind, ResponseType};
use super::value::{go_quote, subject_is_literal, valid_subject, Ctx};
use conf::Pos;
use std::collections::{HashMap, HashSet};

/// Go's `isSubsetMatchTokenized`.
fn is_subset_match(subject: &str, test: &str) -> bool {
    let tokens: Vec<&str> = subject.split('.').collect();
    let test: Vec<&str> = test.split('.').collect();
    for (i, t2) in test.iter().enumerate() {
        if i >= tokens.len() || t2.is_empty() {
            return false;
        }
        if *t2 == ">" {
            return true;
        }
        let t1 = tokens[i];
        if t1.is_empty() || t1 == ">" {
            return false;
        }
        if t1 == "*" {
            if *t2 != "*" {
                return false;
            }
            continue;
        }
        if *t2 != "*" && t1 != *t2 {
            return false;
        }
    }
    tokens.len() == test.len()
}

fn collide(a: &str, b: &str) -> bool {
    sublist::subject::subjects_collide(a.as_bytes(), b.as_bytes())
}

/// Export authorization as nats-server stores it.
#[derive(Clone, Default)]
struct ExportAuth {
    /// `None`: public.
    approved: Option<HashSet<String>>,
    token_pos: u32,
}

#[derive(Default)]
struct Acc {
    streams: Option<HashMap<String, ExportAuth>>,
    services: Option<HashMap<String, (ExportAuth, ResponseType)>>,
    /// Stream imports: (exporter, from, to).
    stream_imports: Vec<(String, String, String)>,
    /// Service imports: local subject → (exporter, remote subject).
    service_imports: Vec<(String, String, String)>,
}

fn check_auth(ea: &ExportAuth, importer: &str, tokens: Option<&[&str]>) -> bool {
    if ea.approved.is_none() && ea.token_pos == 0 {
        return true;
    }
    if ea.token_pos > 0 {
        let toks = tokens.unwrap_or(&[]);
        return ea.token_pos as usize <= toks.len() && toks[ea.token_pos as usize - 1] == importer;
    }
    ea.approved.as_ref().is_some_and(|a| a.contains(importer))
}

fn approved<'a, I>(exports: I, importer: &str, subject: &str) -> bool
where
    I: Iterator<Item = (&'a String, &'a ExportAuth)> + Clone,
{
    if let Some((_, ea)) = exports.clone().find(|(s, _)| *s == subject) {
        return check_auth(ea, importer, None);
    }
    let tokens: Vec<&str> = subject.split('.').collect();
    for (s, ea) in exports {
        if is_subset_match(subject, s) {
            return check_auth(ea, importer, Some(&tokens));
        }
    }
    false
}

fn set_export_auth(
    subject: &str,
    accounts: Option<Vec<String>>,
    pos: u32,
) -> Result<ExportAuth, String> {
    if pos > 0 {
        let toks: Vec<&str> = subject.split('.').collect();
        if toks.len() < pos as usize || toks[pos as usize - 1] != "*" {
            return Err("sublist: invalid subject".into());
        }
    }
    Ok(ExportAuth {
        approved: accounts.map(|a| a.into_iter().collect()),
        token_pos: pos,
    })
}

fn service_cycle(
    accs: &HashMap<String, Acc>,
    acc: &str,
    from: &str,
    visited: &mut HashSet<String>,
) -> bool {
    let Some(a) = accs.get(acc) else { return false };
    let mut from = from.to_string();
    for (local, dest, remote) in &a.service_imports {
        if collide(&from, remote) {
            if visited.contains(dest) {
                return true;
            }
            visited.insert(acc.to_string());
            if is_subset_match(local, &from) {
                from = local.clone();
            }
            if service_cycle(accs, dest, &from, visited) {
                return true;
            }
        }
    }
    false
}

fn stream_cycle(
    accs: &HashMap<String, Acc>,
    acc: &str,
    to: &str,
    visited: &mut HashSet<String>,
) -> bool {
    let Some(a) = accs.get(acc) else { return false };
    let matching = a
        .streams
        .as_ref()
        .is_some_and(|s| s.keys().any(|k| is_subset_match(to, k)));
    if !matching {
        return false;
    }
    let mut to = to.to_string();
    for (dest, _, ito) in &a.stream_imports {
        if collide(&to, ito) {
            if visited.contains(dest) {
                return true;
            }
            visited.insert(acc.to_string());
            if is_subset_match(ito, &to) {
                to = ito.clone();
            }
            if stream_cycle(accs, dest, &to, visited) {
                return true;
            }
        }
    }
    false
}

/// The second half of Go's `parseAccounts`: installs exports, then
/// imports, reporting what nats-server rejects (errors at `pos`).
pub(crate) fn check_account_links(cx: &mut Ctx, pos: &Pos, accounts: &[AccountOpts], no_sys: bool) {
    let mut accs: HashMap<String, Acc> = accounts
        .iter()
        .map(|a| (a.name.clone(), Acc::default()))
        .collect();
    for kind in [ExportKind::Stream, ExportKind::Service] {
        for a in accounts {
            for e in a.exports.iter().filter(|e| e.kind == kind) {
                let what = if kind == ExportKind::Stream {
                    "stream"
                } else {
                    "service"
                };
                let mut names = Vec::new();
                for n in e.accounts.iter().flatten() {
                    if accs.contains_key(n) {
                        names.push(n.clone());
                    } else {
                        cx.err(
                            pos,
                            format!("{} account not defined for {what} export", go_quote(n)),
                        );
                    }
                }
                let list = (!names.is_empty()).then_some(names);
                let auth = if list.is_some() || e.account_token_position > 0 {
                    match set_export_auth(&e.subject, list, e.account_token_position) {
                        Ok(x) => x,
                        Err(err) => {
                            cx.err(
                                pos,
                                format!(
                                    "Error adding {what} export {}: {err}",
                                    go_quote(&e.subject)
                                ),
                            );
                            continue;
                        }
                    }
                } else {
                    ExportAuth::default()
                };
                let acc = accs.get_mut(&a.name).expect("account present");
                if kind == ExportKind::Stream {
                    acc.streams
                        .get_or_insert_with(HashMap::new)
                        .insert(e.subject.clone(), auth);
                    continue;
                }
                acc.services
                    .get_or_insert_with(HashMap::new)
                    .insert(e.subject.clone(), (auth, e.response_type));
                if let Some(lat) = &e.latency {
                    if no_sys {
                        cx.err(
                            pos,
                            format!(
                                "Error adding service latency sampling for {}: system account not setup",
                                go_quote(&e.subject)
                            ),
                        );
                        continue;
                    }
                    let exported = acc
                        .services
                        .as_ref()
                        .is_some_and(|s| s.contains_key(&lat.subject));
                    let err = if !sublist::subject::is_valid_literal_subject(lat.subject.as_bytes())
                        || exported
                    {
                        Some("invalid publish subject")
                    } else if e.response_type != ResponseType::Singleton {
                        Some("bad service response type")
                    } else {
                        None
                    };
                    if let Some(err) = err {
                        cx.err(
                            pos,
                            format!(
                                "Error adding service latency sampling for {} on subject {}: {err}",
                                go_quote(&e.subject),
                                go_quote(&lat.subject)
                            ),
                        );
                    }
                }
            }
        }
    }
    for a in accounts {
        for imp in a.imports.iter().filter(|i| i.kind == ExportKind::Stream) {
            if !accs.contains_key(&imp.account) {
                cx.err(
                    pos,
                    format!(
                        "{} account not defined for stream import",
                        go_quote(&imp.account)
                    ),
                );
                continue;
            }
            let fail = |cx: &mut Ctx, e: &str| {
                cx.err(
                    pos,
                    format!("Error adding stream import {}: {e}", go_quote(&imp.subject)),
                )
            };
            let exporter = &accs[&imp.account];
            let ok = valid_subject(&imp.subject)
                && exporter
                    .streams
                    .as_ref()
                    .is_some_and(|s| approved(s.iter(), &a.name, &imp.subject));
            if !ok {
                fail(cx, "stream import not authorized");
                continue;
            }
            let to = match imp.prefix.as_deref().filter(|p| !p.is_empty()) {
                Some(p) => {
                    if !subject_is_literal(p) {
                        fail(cx, "stream import prefix can not contain wildcard tokens");
                        continue;
                    }
                    let sep = if p.ends_with('.') { "" } else { "." };
                    format!("{p}{sep}{}", imp.subject)
                }
                None => imp
                    .to
                    .clone()
                    .filter(|t| !t.is_empty())
                    .unwrap_or_else(|| imp.subject.clone()),
            };
            let mut visited = HashSet::from([a.name.clone()]);
            if stream_cycle(&accs, &imp.account, &to, &mut visited) {
                fail(cx, "import forms a cycle");
                continue;
            }
            if !subject_is_literal(&imp.subject) && to != imp.subject {
                if let Err(e) = new_transform(&imp.subject, &transform_tokenize(&to), true) {
                    fail(
                        cx,
                        &format!(
                            "failed to create mapping transform for stream import subject {} to {}: {e}",
                            go_quote(&imp.subject),
                            go_quote(&to)
                        ),
                    );
                    continue;
                }
            }
            let me = accs.get_mut(&a.name).expect("account present");
            if me
                .stream_imports
                .iter()
                .any(|(x, f, _)| *x == imp.account && *f == imp.subject)
            {
                fail(cx, "stream import already exists");
                continue;
            }
            me.stream_imports
                .push((imp.account.clone(), imp.subject.clone(), to));
        }
    }
    for a in accounts {
        for imp in a.imports.iter().filter(|i| i.kind == ExportKind::Service) {
            if !accs.contains_key(&imp.account) {
                cx.err(
                    pos,
                    format!(
                        "{} account not defined for service import",
                        go_quote(&imp.account)
                    ),
                );
                continue;
            }
            let fail = |cx: &mut Ctx, e: &str| {
                cx.err(
                    pos,
                    format!(
                        "Error adding service import {}: {e}",
                        go_quote(&imp.subject)
                    ),
                )
            };
            let local = imp
                .to
                .clone()
                .filter(|t| !t.is_empty())
                .unwrap_or_else(|| imp.subject.clone());
            let remote = imp.subject.clone();
            if !valid_subject(&local) || !valid_subject(&remote) {
                fail(cx, "sublist: invalid subject");
                continue;
            }
            let exporter = &accs[&imp.account];
            let ok = exporter
                .services
                .as_ref()
                .is_some_and(|s| approved(s.iter().map(|(k, (ea, _))| (k, ea)), &a.name, &remote));
            if !ok {
                fail(cx, "service import not authorized");
                continue;
            }
            let mut visited = HashSet::from([a.name.clone()]);
            if service_cycle(&accs, &imp.account, &local, &mut visited) {
                fail(cx, "import forms a cycle");
                continue;
            }
            let me = accs.get_mut(&a.name).expect("account present");
            if let Some((_, d, r)) = me.service_imports.iter().find(|(l, _, _)| *l == local) {
                let msg = format!(
                    "duplicate service import subject {}, previously used in import for account {}, subject {}",
                    go_quote(&local),
                    go_quote(d),
                    go_quote(r)
                );
                fail(cx, &msg);
                continue;
            }
            me.service_imports
                .push((local, imp.account.clone(), remote));
        }
    }
}
