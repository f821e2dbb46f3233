//! The top-level keys nats-server 2.9 accepts (`processConfigFileLine`).

use super::value::{go_duration, go_duration_string, go_quote, parse_listen, Ctx, R};
use super::{accounts, auth, features, network, operator, tls, types, unsupported};
use crate::config::options::{Options, User};
use conf::{Spanned, Value};
use std::time::Duration;

/// A non-negative size option; zero keeps the default (Go's baseline).
fn size_or_default(n: i64, default: usize) -> usize {
    if n <= 0 {
        default
    } else {
        usize::try_from(n).unwrap_or(usize::MAX)
    }
}

/// Applies one top-level key.
pub(crate) fn apply_key(
    opts: &mut Options,
    key: &str,
    v: &Spanned,
    cx: &mut Ctx,
    auth_timeout: &mut Option<f64>,
) -> R<()> {
    let lk = key.to_ascii_lowercase();
    match lk.as_str() {
        "listen" => match parse_listen(&v.value) {
            Ok((h, p)) => {
                opts.host = if h.is_empty() { "0.0.0.0".into() } else { h };
                set_port(opts, p);
            }
            Err(e) => cx.err(&v.pos, e),
        },
        "client_advertise" => opts.client_advertise = Some(cx.str(v)?).filter(|s| !s.is_empty()),
        "port" => {
            let p = cx.int32(v)?;
            set_port(opts, p);
        }
        "server_name" => {
            let name = cx.str(v)?;
            if name.contains(' ') {
                cx.err(&v.pos, "server name cannot contain spaces");
            } else {
                opts.server_name = Some(name).filter(|s| !s.is_empty());
            }
        }
        "host" | "net" => {
            let h = cx.str(v)?;
            opts.host = if h.is_empty() { "0.0.0.0".into() } else { h };
        }
        "debug" => opts.debug = cx.bool(v)?,
        "trace" => opts.trace = cx.bool(v)?,
        "trace_verbose" => {
            let b = cx.bool(v)?;
            opts.trace_verbose = b;
            opts.trace = b;
        }
        "logtime" => opts.logtime = cx.bool(v)?,
        "mappings" | "maps" => {
            let m = accounts::parse_mappings(cx, v)?;
            opts.mappings.extend(m);
        }
        "disable_sublist_cache" | "no_sublist_cache" => opts.no_sublist_cache = cx.bool(v)?,
        "accounts" => {
            accounts::parse_accounts(cx, v, opts)?;
        }
        "authorization" => apply_authorization(opts, v, cx, auth_timeout)?,
        "http" => match parse_listen(&v.value) {
            Ok((h, p)) => {
                opts.http_host = h;
                opts.http_port = p;
            }
            Err(e) => cx.err(&v.pos, e),
        },
        "https" => match parse_listen(&v.value) {
            Ok((h, p)) => {
                opts.http_host = h;
                opts.https_port = p;
            }
            Err(e) => cx.err(&v.pos, e),
        },
        "http_port" | "monitor_port" => opts.http_port = cx.int32(v)?,
        "https_port" => {
            opts.https_port = cx.int32(v)?;
        }
        "http_base_path" => opts.http_base_path = cx.str(v)?,
        "cluster" => {
            network::parse_cluster(cx, v, &mut opts.cluster)?;
        }
        "gateway" => {
            network::parse_gateway(cx, v, &mut opts.gateway)?;
            unsupported(opts, "gateways");
        }
        "leaf" | "leafnodes" => {
            network::parse_leafnodes(cx, v, &mut opts.leafnode)?;
        }
        "store_dir" | "storedir" => {
            if opts
                .jetstream
                .store_dir
                .as_deref()
                .is_some_and(|s| !s.is_empty())
            {
                return cx.fail(&v.pos, "Duplicate 'store_dir' configuration");
            }
            opts.jetstream.store_dir = Some(cx.str(v)?);
        }
        "jetstream" => {
            cx.panic_pos = Some(v.pos.clone());
            let r = features::parse_jetstream(cx, v, &mut opts.jetstream);
            cx.panic_pos = None;
            r?;
            if opts.jetstream.enabled {
                unsupported(opts, "JetStream");
            }
        }
        "logfile" | "log_file" => opts.log_file = Some(cx.str(v)?).filter(|s| !s.is_empty()),
        "logfile_size_limit" | "log_size_limit" => {
            opts.log_size_limit = cx.int(v)?;
            if opts.log_size_limit > 0 {
                unsupported(opts, "log rotation");
            }
        }
        "syslog" => {
            opts.syslog = cx.bool(v)?;
            if opts.syslog {
                unsupported(opts, "syslog");
            }
        }
        "remote_syslog" => {
            opts.remote_syslog = Some(cx.str(v)?).filter(|s| !s.is_empty());
            if opts.remote_syslog.is_some() {
                unsupported(opts, "syslog");
            }
        }
        "pidfile" | "pid_file" => opts.pid_file = Some(cx.str(v)?).filter(|s| !s.is_empty()),
        "ports_file_dir" => opts.ports_file_dir = Some(cx.str(v)?).filter(|s| !s.is_empty()),
        "prof_port" => {
            opts.prof_port = cx.int32(v)?;
            if opts.prof_port != 0 {
                unsupported(opts, "profiling");
            }
        }
        "max_control_line" | "max_payload" => {
            let n = cx.int(v)?;
            if n > i32::MAX as i64 {
                return cx.fail(&v.pos, format!("{key} value is too big"));
            }
            let n = n as i32 as i64;
            if lk == "max_payload" {
                opts.max_payload = size_or_default(n, Options::default().max_payload);
            } else {
                opts.max_control_line = size_or_default(n, Options::default().max_control_line);
            }
        }
        "max_pending" => {
            let n = cx.int(v)?;
            opts.max_pending = size_or_default(n, Options::default().max_pending);
        }
        "max_connections" | "max_conn" => {
            let n = cx.int(v)?;
            opts.max_connections = if n < 0 {
                usize::MAX
            } else {
                size_or_default(n, Options::default().max_connections)
            };
        }
        "max_traced_msg_len" => opts.max_traced_msg_len = cx.int(v)?,
        "max_subscriptions" | "max_subs" => {
            opts.max_subs = usize::try_from(cx.int(v)?).unwrap_or(0);
        }
        "max_sub_tokens" | "max_subscription_tokens" => {
            let n = cx.int(v)?;
            if n > u8::MAX as i64 {
                return cx.fail(&v.pos, format!("{key} value is too big"));
            } else if n <= 0 {
                return cx.fail(&v.pos, format!("{key} value can not be negative"));
            }
            opts.max_sub_tokens = n as u8;
            unsupported(opts, "max_sub_tokens");
        }
        "ping_interval" => {
            let d = cx.duration_or_secs("ping_interval", v)?;
            opts.ping_interval = positive(d).unwrap_or(Options::default().ping_interval);
        }
        "ping_max" => {
            let n = cx.int(v)?;
            opts.ping_max = if n == 0 {
                2
            } else {
                n.clamp(0, u32::MAX as i64) as u32
            };
        }
        "tls" => {
            if let Some(t) = tls::parse_tls(cx, v, tls::TlsContext::Client)? {
                opts.tls = Some(t);
            }
        }
        "ocsp" => {
            cx.panic_pos = Some(v.pos.clone());
            let r = apply_ocsp(opts, v, cx);
            cx.panic_pos = None;
            r?;
        }
        "allow_non_tls" => opts.allow_non_tls = cx.bool(v)?,
        "write_timeout" => opts.write_timeout = crate::config::network::write_timeout(cx, v)?,
        "no_fast_producer_stall" => opts.no_fast_producer_stall = cx.bool(v)?,
        "proxies" => parse_proxies(cx, v)?,
        "write_deadline" => {
            let d = cx.duration_or_secs("write_deadline", v)?;
            opts.write_deadline = positive(d).unwrap_or(Options::default().write_deadline);
        }
        "lame_duck_duration" => {
            let s = cx.str(v)?;
            let d = go_duration(&s)
                .or_else(|e| cx.fail(&v.pos, format!("error parsing lame_duck_duration: {e}")))?;
            if d < 30_000_000_000 {
                return cx.fail(
                    &v.pos,
                    format!(
                        "invalid lame_duck_duration of {}, minimum is 30 seconds",
                        go_duration_string(d)
                    ),
                );
            }
            opts.lame_duck_duration = Duration::from_nanos(d as u64);
        }
        "lame_duck_grace_period" => {
            let s = cx.str(v)?;
            let d = go_duration(&s).or_else(|e| {
                cx.fail(&v.pos, format!("error parsing lame_duck_grace_period: {e}"))
            })?;
            if d < 0 {
                return cx.fail(
                    &v.pos,
                    "invalid lame_duck_grace_period, needs to be positive",
                );
            }
            opts.lame_duck_grace_period =
                positive(d).unwrap_or(Options::default().lame_duck_grace_period);
        }
        "operator" | "operators" | "roots" | "root" | "root_operators" | "root_operator" => {
            operator::parse_operator(cx, v, opts);
        }
        "resolver" | "account_resolver" | "accounts_resolver" => {
            operator::parse_resolver(cx, v, opts)?;
            if matches!(opts.resolver, Some(types::ResolverOpts::Url(_))) {
                unsupported(opts, "URL account resolver");
            }
        }
        "resolver_tls" => {
            if let Some(t) = tls::parse_tls(cx, v, tls::TlsContext::Client)? {
                opts.resolver_tls = Some(t);
                unsupported(opts, "URL account resolver");
            }
        }
        "resolver_preload" => {
            operator::parse_preload(cx, v, opts);
        }
        "resolver_pinned_accounts" => {
            operator::parse_pinned(cx, v, opts);
        }
        "no_auth_user" => {
            opts.no_auth_user = Some(cx.str(v)?).filter(|s| !s.is_empty());
        }
        "system_account" | "system" => {
            opts.system_account = Some(cx.str(v)?).filter(|s| !s.is_empty());
        }
        "no_system_account" | "no_system" | "no_sys_acc" => opts.no_system_account = cx.bool(v)?,
        "no_header_support" => {
            opts.no_header_support = cx.bool(v)?;
            if opts.no_header_support {
                unsupported(opts, "no_header_support");
            }
        }
        "trusted" | "trusted_keys" => {
            operator::parse_trusted(cx, v, opts);
        }
        "connect_error_reports" => opts.connect_error_reports = cx.int(v)?,
        "reconnect_error_reports" => opts.reconnect_error_reports = cx.int(v)?,
        "websocket" | "ws" => {
            features::parse_websocket(cx, v, &mut opts.websocket)?;
            if opts.websocket.tls.is_some() {
                unsupported(opts, "websocket TLS");
            }
        }
        "mqtt" => {
            features::parse_mqtt(cx, v, &mut opts.mqtt)?;
            unsupported(opts, "MQTT");
        }
        "server_tags" => apply_tags(opts, v, cx),
        "default_js_domain" => {
            let m = match &v.value {
                Value::Map(m) => m,
                other => {
                    return cx.fail(
                        &v.pos,
                        format!(
                            "error default_js_domain config: unsupported type {}",
                            other.type_name()
                        ),
                    )
                }
            };
            let mut out = Vec::new();
            cx.panic_pos = Some(v.pos.clone());
            for (acc, d) in m.iter() {
                match cx.str(d) {
                    Ok(s) => out.push((acc.to_string(), s)),
                    Err(e) => {
                        cx.panic_pos = None;
                        return Err(e);
                    }
                }
            }
            cx.panic_pos = None;
            opts.default_js_domain = out;
            unsupported(opts, "JetStream");
        }
        _ => cx.unknown(key, v),
    }
    Ok(())
}

/// Go's port semantics: 0 means the default port.
fn set_port(opts: &mut Options, p: i32) {
    opts.port = if p == 0 { Options::default().port } else { p };
}

/// A positive duration in nanoseconds (zero and negative: `None`).
fn positive(n: i64) -> Option<Duration> {
    (n > 0).then(|| Duration::from_nanos(n as u64))
}

fn apply_authorization(
    opts: &mut Options,
    v: &Spanned,
    cx: &mut Ctx,
    auth_timeout: &mut Option<f64>,
) -> R<()> {
    let auth = auth::parse_authorization(cx, v)?;
    *auth_timeout = Some(auth.timeout);
    opts.auth_callout = auth.auth_callout.clone();
    if opts.auth_callout.is_some() {
        unsupported(opts, "auth callout");
    }
    if (!auth.user.is_empty() || !auth.pass.is_empty()) && !auth.token.is_empty() {
        return cx.fail(&v.pos, "Cannot have a user/pass and token");
    }
    if !auth.token.is_empty() {
        opts.token = Some(auth.token.clone());
    }
    if !auth.user.is_empty() || !auth.pass.is_empty() {
        opts.username = Some(auth.user.clone());
        opts.password = Some(auth.pass.clone());
    }
    let mut names = accounts::user_names(opts);
    if auth.users.is_some() || !names.is_empty() {
        if !auth.user.is_empty() {
            return cx.fail(&v.pos, "Can not have a single user/pass and a users array");
        }
        if !auth.token.is_empty() {
            return cx.fail(&v.pos, "Can not have a token and a users array");
        }
        for u in auth.users.iter().flatten() {
            if !names.insert(u.username.clone()) {
                return cx.fail(
                    &v.pos,
                    format!("Duplicate user {} detected", go_quote(&u.username)),
                );
            }
        }
        for u in auth.users.into_iter().flatten() {
            opts.users.push(User {
                username: u.username.clone(),
                password: u.password.clone(),
            });
            if u.allowed_connection_types.is_some() {
                unsupported(opts, "allowed connection types");
            }
            opts.auth_users.push(u);
        }
    }
    for n in &auth.nkeys {
        if !names.insert(n.nkey.clone()) {
            return cx.fail(
                &v.pos,
                format!("Duplicate nkey {} detected", go_quote(&n.nkey)),
            );
        }
    }
    if !auth.nkeys.is_empty() {
        opts.nkeys.extend(auth.nkeys);
    }
    if !auth.user.is_empty() {
        opts.users.push(User {
            username: auth.user,
            password: auth.pass,
        });
    }
    opts.default_permissions = auth.default_permissions;
    Ok(())
}

fn apply_ocsp(opts: &mut Options, v: &Spanned, cx: &mut Ctx) -> R<()> {
    use types::{OcspMode, OcspOpts};
    match &v.value {
        Value::Bool(b) => {
            opts.ocsp = Some(OcspOpts {
                mode: if *b { OcspMode::Auto } else { OcspMode::Never },
                urls: Vec::new(),
            })
        }
        Value::Map(m) => {
            let mut o = OcspOpts::default();
            for (k, kv) in m.iter() {
                match k {
                    "mode" => {
                        let mode = cx.str(kv)?;
                        o.mode = match mode.to_lowercase().as_str() {
                            "always" => OcspMode::Always,
                            "must" => OcspMode::Must,
                            "never" => OcspMode::Never,
                            "auto" => OcspMode::Auto,
                            _ => {
                                cx.err(
                                    &kv.pos,
                                    "error parsing ocsp config: unsupported ocsp mode string",
                                );
                                o.mode
                            }
                        }
                    }
                    "urls" => return cx.conversion(kv, "[]string"),
                    "url" => o.urls = vec![cx.str(kv)?],
                    _ => {
                        return cx.fail(
                            &kv.pos,
                            "error parsing ocsp config: unsupported field string",
                        )
                    }
                }
            }
            opts.ocsp = Some(o);
        }
        other => {
            return cx.fail(
                &v.pos,
                format!(
                    "error parsing ocsp config: unsupported type {}",
                    other.type_name()
                ),
            )
        }
    }
    unsupported(opts, "OCSP");
    Ok(())
}

fn apply_tags(opts: &mut Options, v: &Spanned, cx: &mut Ctx) {
    match &v.value {
        Value::String(s) => opts.server_tags.push(s.clone()),
        Value::Array(a) => {
            for t in a {
                match &t.value {
                    Value::String(s) => opts.server_tags.push(s.clone()),
                    _ => {
                        cx.err(
                            &v.pos,
                            "error parsing tags: unsupported type *conf.token where string is expected",
                        );
                        break;
                    }
                }
            }
        }
        other => cx.err(
            &v.pos,
            format!("error parsing tags: unsupported type {}", other.type_name()),
        ),
    }
}

/// Go's `parseProxies`: `proxies { trusted: [ { key } ] }`, the proxies
/// whose PROXY protocol headers are believed (checked; rnatsd does not
/// read PROXY headers yet).
fn parse_proxies(cx: &mut Ctx, v: &Spanned) -> R<()> {
    let Value::Map(m) = &v.value else {
        cx.err(
            &v.pos,
            format!(
                "expected proxies to be a map/struct, got {}",
                v.value.type_name()
            ),
        );
        return Ok(());
    };
    for (k, pv) in m.iter() {
        if !k.eq_ignore_ascii_case("trusted") {
            cx.unknown(k, pv);
            continue;
        }
        let Value::Array(list) = &pv.value else {
            cx.err(
                &pv.pos,
                format!(
                    "expected proxies' trusted field to be an array, got {}",
                    pv.value.type_name()
                ),
            );
            continue;
        };
        for e in list {
            let Value::Map(em) = &e.value else {
                cx.err(
                    &e.pos,
                    format!(
                        "expected proxies' trusted entry to be a map/struct, got {}",
                        e.value.type_name()
                    ),
                );
                continue;
            };
            for (ek, ev) in em.iter() {
                match ek.to_ascii_lowercase().as_str() {
                    "key" | "public_key" => {
                        let key = cx.str(ev)?;
                        if nkeys::KeyPair::from_public_key(&key).is_err() {
                            cx.err(&ev.pos, format!("invalid proxy key {}", go_quote(&key)));
                        }
                    }
                    _ => cx.unknown(ek, ev),
                }
            }
        }
    }
    Ok(())
}
