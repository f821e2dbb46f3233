//! `accounts`, their users, limits, exports, imports and subject mappings.

use super::auth::{apply_default_permissions, go_value, parse_user_permissions, parse_users};
use super::exports;
use super::types::{AccountLimits, AccountOpts, JsAccountLimits, MapDest, Mapping};
use super::value::{go_quote, valid_public_nkey, valid_subject, Ctx, R};
use crate::config::options::{Options, User};
use conf::{Pos, Spanned, Value};
use std::collections::HashSet;

/// Name of the global account.
pub(crate) const GLOBAL_ACCOUNT: &str = "$G";

/// Usernames and nkeys already configured (Go's duplicate check map).
pub(crate) fn user_names(opts: &Options) -> HashSet<String> {
    let mut s: HashSet<String> = opts.auth_users.iter().map(|u| u.username.clone()).collect();
    s.extend(opts.nkeys.iter().map(|n| n.nkey.clone()));
    s
}

/// Go's `parseAccounts`.
pub(crate) fn parse_accounts(cx: &mut Ctx, item: &Spanned, opts: &mut Options) -> R<()> {
    let errors_before = cx.errors.len();
    match &item.value {
        Value::Array(names) => {
            let mut seen = HashSet::new();
            for n in names {
                let ns = cx.str(n)?;
                if ns == GLOBAL_ACCOUNT {
                    cx.err(&n.pos, format!("{} is a Reserved Account", go_quote(&ns)));
                    continue;
                }
                if !seen.insert(ns.clone()) {
                    cx.err(&n.pos, format!("Duplicate Account Entry: {ns}"));
                    continue;
                }
                opts.accounts.push(AccountOpts {
                    name: ns,
                    ..AccountOpts::default()
                });
            }
        }
        Value::Map(m) => {
            let mut names = user_names(opts);
            for (aname, av) in m.iter() {
                if cx.used_vars.contains(aname) {
                    continue;
                }
                let Value::Map(am) = &av.value else {
                    cx.err(&av.pos, "Expected map entries for accounts");
                    continue;
                };
                if aname == GLOBAL_ACCOUNT {
                    cx.err(
                        &av.pos,
                        format!("{} is a Reserved Account", go_quote(aname)),
                    );
                    continue;
                }
                let mut acc = AccountOpts {
                    name: aname.to_string(),
                    ..AccountOpts::default()
                };
                let mut users = Vec::new();
                let mut nkey_users = Vec::new();
                let mut users_pos: Option<Pos> = None;
                for (k, v) in am.iter() {
                    match k.to_ascii_lowercase().as_str() {
                        "nkey" => match &v.value {
                            Value::String(s) if valid_public_nkey(s, 'A') => {
                                acc.nkey = Some(s.clone())
                            }
                            other => cx.err(
                                &v.pos,
                                format!(
                                    "Not a valid public nkey for an account: {}",
                                    go_quote(&go_value(other))
                                ),
                            ),
                        },
                        "imports" => acc.imports.extend(exports::parse_imports(cx, v)?),
                        "exports" => acc.exports.extend(exports::parse_exports(cx, v)?),
                        "jetstream" => {
                            if let Some(js) = parse_account_jetstream(cx, v)? {
                                acc.jetstream = js;
                            }
                        }
                        "users" => {
                            users_pos = Some(v.pos.clone());
                            if let Some((n, u)) = parse_users(cx, v)? {
                                nkey_users = n;
                                users = u;
                            }
                        }
                        "default_permissions" => {
                            if let Some(p) = parse_user_permissions(cx, v)? {
                                acc.default_permissions = Some(p);
                            }
                        }
                        "mappings" | "maps" => acc.mappings.extend(parse_mappings(cx, v)?),
                        "limits" => acc.limits = parse_account_limits(cx, v)?,
                        _ => cx.unknown(k, v),
                    }
                }
                opts.accounts.push(acc.clone());
                let upos = users_pos.unwrap_or_else(|| av.pos.clone());
                if !users.is_empty() || !nkey_users.is_empty() {
                    if opts.username.as_deref().is_some_and(|u| !u.is_empty()) {
                        cx.err(&upos, "Can not have a single user/pass and accounts");
                        continue;
                    }
                    if opts.token.is_some() {
                        cx.err(&upos, "Can not have a token and accounts");
                        continue;
                    }
                }
                apply_default_permissions(
                    &mut users,
                    &mut nkey_users,
                    acc.default_permissions.as_ref(),
                );
                for mut u in nkey_users {
                    if !names.insert(u.nkey.clone()) {
                        cx.err(
                            &upos,
                            format!("Duplicate nkey {} detected", go_quote(&u.nkey)),
                        );
                        continue;
                    }
                    u.account = Some(acc.name.clone());
                    opts.nkeys.push(u);
                }
                for mut u in users {
                    if !names.insert(u.username.clone()) {
                        cx.err(
                            &upos,
                            format!("Duplicate user {} detected", go_quote(&u.username)),
                        );
                        continue;
                    }
                    u.account = Some(acc.name.clone());
                    opts.users.push(User {
                        username: u.username.clone(),
                        password: u.password.clone(),
                    });
                    opts.auth_users.push(u);
                }
            }
        }
        _ => {}
    }
    if cx.errors.len() > errors_before {
        return Ok(());
    }
    check_exports_imports(cx, &item.pos, opts);
    Ok(())
}

/// Go's account jetstream: bool, `enabled`/`disabled`, or a limits map.
/// `Ok(Some(x))` sets the account's limits to `x`.
fn parse_account_jetstream(cx: &mut Ctx, item: &Spanned) -> R<Option<Option<JsAccountLimits>>> {
    match &item.value {
        Value::Bool(b) => Ok(b.then(|| Some(JsAccountLimits::default()))),
        Value::String(s) => match s.to_lowercase().as_str() {
            "enabled" | "enable" => Ok(Some(Some(JsAccountLimits::default()))),
            "disabled" | "disable" => Ok(Some(None)),
            _ => cx.fail(
                &item.pos,
                format!("Expected 'enabled' or 'disabled' for string value, got '{s}'"),
            ),
        },
        Value::Map(m) => {
            let mut l = JsAccountLimits::default();
            for (k, v) in m.iter() {
                let lk = k.to_ascii_lowercase();
                let size = |cx: &mut Ctx| -> R<i64> {
                    match &v.value {
                        Value::Int(n) => Ok(*n),
                        other => cx.fail(
                            &v.pos,
                            format!(
                                "Expected a parseable size for {}, got {}",
                                go_quote(k),
                                go_value(other)
                            ),
                        ),
                    }
                };
                match lk.as_str() {
                    "max_memory" | "max_mem" | "mem" | "memory" => l.max_memory = size(cx)?,
                    "max_store" | "max_file" | "max_disk" | "store" | "disk" => {
                        l.max_store = size(cx)?
                    }
                    "max_streams" | "streams" => l.max_streams = size(cx)?,
                    "max_consumers" | "consumers" => l.max_consumers = size(cx)?,
                    "max_bytes_required" | "max_stream_bytes" | "max_bytes" => match &v.value {
                        Value::Bool(b) => l.max_bytes_required = *b,
                        other => {
                            return cx.fail(
                                &v.pos,
                                format!(
                                    "Expected a parseable bool for {}, got {}",
                                    go_quote(k),
                                    go_value(other)
                                ),
                            )
                        }
                    },
                    "mem_max_stream_bytes" | "memory_max_stream_bytes" => {
                        l.memory_max_stream_bytes = size(cx)?
                    }
                    "disk_max_stream_bytes" | "store_max_stream_bytes" => {
                        l.store_max_stream_bytes = size(cx)?
                    }
                    "max_ack_pending" => l.max_ack_pending = size(cx)?,
                    _ => cx.unknown(k, v),
                }
            }
            Ok(Some(Some(l)))
        }
        other => cx.fail(
            &item.pos,
            format!(
                "Expected map, bool or string to define JetStream, got {}",
                other.type_name()
            ),
        ),
    }
}

/// Go's `parseAccountLimits`.
fn parse_account_limits(cx: &mut Ctx, item: &Spanned) -> R<AccountLimits> {
    let mut l = AccountLimits::default();
    let Value::Map(m) = &item.value else {
        cx.err(
            &item.pos,
            format!(
                "Expected account limits to be a map/struct, got {}",
                go_value(&item.value)
            ),
        );
        return Ok(l);
    };
    for (k, v) in m.iter() {
        let n = |cx: &mut Ctx| -> R<i64> { Ok(cx.int(v)? as i32 as i64) };
        match k.to_ascii_lowercase().as_str() {
            "max_connections" | "max_conn" => l.max_connections = n(cx)?,
            "max_subscriptions" | "max_subs" => l.max_subscriptions = n(cx)?,
            "max_payload" | "max_pay" => l.max_payload = n(cx)?,
            "max_leafnodes" | "max_leafs" => l.max_leafnodes = n(cx)?,
            _ => cx.unknown_msg(
                k,
                v,
                format!("Unknown field {} parsing account limits", go_quote(k)),
            ),
        }
    }
    Ok(l)
}

/// Go's `parseAccountMappings` (top-level `mappings` and per account).
pub(crate) fn parse_mappings(cx: &mut Ctx, item: &Spanned) -> R<Vec<Mapping>> {
    let m = cx.map(item)?;
    let mut out = Vec::new();
    for (subj, v) in m.iter() {
        if !valid_subject(subj) {
            cx.err(
                &item.pos,
                format!("Subject {} is not a valid subject", go_quote(subj)),
            );
            continue;
        }
        let dests = match &v.value {
            Value::String(d) => vec![MapDest {
                subject: d.clone(),
                weight: 100,
                cluster: None,
            }],
            Value::Array(a) => {
                let mut ds = Vec::new();
                for e in a {
                    if let Some(d) = parse_map_dest(cx, e) {
                        ds.push(d);
                    }
                }
                ds
            }
            _ => match parse_map_dest(cx, v) {
                Some(d) => vec![d],
                None => continue,
            },
        };
        if let Err(e) = super::mapping::check_weighted(subj, &dests) {
            match &v.value {
                Value::String(d) => cx.err(
                    &v.pos,
                    format!(
                        "Error adding mapping for {} to {} : {e}",
                        go_quote(subj),
                        go_quote(d)
                    ),
                ),
                _ => cx.err(
                    &v.pos,
                    format!("Error adding mapping for {} : {e}", go_quote(subj)),
                ),
            }
            continue;
        }
        out.push(Mapping {
            source: subj.to_string(),
            destinations: dests,
        });
    }
    Ok(out)
}

/// Go's `parseAccountMapDest`.
fn parse_map_dest(cx: &mut Ctx, item: &Spanned) -> Option<MapDest> {
    let Value::Map(m) = &item.value else {
        cx.err(&item.pos, "Expected an entry for the mapping destination");
        return None;
    };
    let mut d = MapDest {
        subject: String::new(),
        weight: 0,
        cluster: None,
    };
    let mut weight_seen = false;
    let as_str = |cx: &mut Ctx, v: &Spanned| -> Option<String> {
        match &v.value {
            Value::String(s) => Some(s.clone()),
            other => {
                cx.err(
                    &item.pos,
                    format!(
                        "interface conversion: interface {{}} is {}, not string",
                        other.type_name()
                    ),
                );
                None
            }
        }
    };
    for (k, v) in m.iter() {
        match k.to_ascii_lowercase().as_str() {
            "dest" | "destination" => d.subject = as_str(cx, v)?,
            "weight" => {
                let w = match &v.value {
                    Value::String(s) => {
                        let ws = s.strip_suffix('%').unwrap_or(s);
                        match super::value::atoi(ws) {
                            Some(w) => w,
                            None => {
                                cx.err(
                                    &v.pos,
                                    format!(
                                        "Invalid weight {} for mapping destination",
                                        go_quote(ws)
                                    ),
                                );
                                return None;
                            }
                        }
                    }
                    Value::Int(n) => *n,
                    other => {
                        cx.err(
                            &v.pos,
                            format!("Unknown entry type for weight of {}\n", go_value(other)),
                        );
                        return None;
                    }
                };
                if !(0..=100).contains(&w) {
                    cx.err(
                        &v.pos,
                        format!("Invalid weight {w} for mapping destination"),
                    );
                    return None;
                }
                d.weight = w as u8;
                weight_seen = true;
            }
            "cluster" => d.cluster = Some(as_str(cx, v)?),
            _ => {
                cx.err(
                    &v.pos,
                    format!("Unknown field {} for mapping destination", go_quote(k)),
                );
                return None;
            }
        }
    }
    if !weight_seen {
        cx.err(
            &item.pos,
            format!(
                "Missing weight for mapping destination {}",
                go_quote(&d.subject)
            ),
        );
        return None;
    }
    Some(d)
}

/// Checks exports and imports across accounts once all are known, as
/// nats-server does when it adds them to the accounts.
fn check_exports_imports(cx: &mut Ctx, pos: &Pos, opts: &Options) {
    super::links::check_account_links(cx, pos, &opts.accounts, opts.no_system_account);
}
