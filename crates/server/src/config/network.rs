//! `cluster`, `gateway` and `leafnodes` blocks.

use super::auth::{
    go_value, non_empty, parse_authorization, parse_perm_subjects, parse_string_array,
    parse_user_permissions,
};
use super::tls::{parse_tls, TlsContext};
use super::types::{
    ClusterOpts, CompressionOpts, GatewayOpts, LeafNodeOpts, LeafUser, LinkOpts, RemoteGatewayOpts,
    RemoteLeafOpts, RoutePermissions,
};
use super::value::{go_duration, go_quote, go_url_ok, nanos, parse_listen, Ctx, R};
use conf::{Spanned, Value};
use std::time::Duration;

/// Go's `parseURLs`: each entry a string and a parseable URL; duplicates
/// are warnings.
fn parse_urls(cx: &mut Ctx, list: &[Spanned], typ: &str) -> R<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for u in list {
        let s = cx.str(u)?;
        if !seen.insert(s.clone()) {
            cx.warn_field(&u.pos, &s, &format!("Duplicate {typ} entry detected"));
            continue;
        }
        if !go_url_ok(&s) {
            cx.err(
                &u.pos,
                format!("error parsing {typ} url [{}]", go_quote(s.trim())),
            );
            continue;
        }
        out.push(s.trim().to_string());
    }
    Ok(out)
}

/// Go's `parseCluster`.
pub(crate) fn parse_cluster(cx: &mut Ctx, item: &Spanned, c: &mut ClusterOpts) -> R<()> {
    let m = cx.map_or_fail(item, "Expected map to define cluster")?;
    for (k, v) in m.iter() {
        match k.to_ascii_lowercase().as_str() {
            "name" => c.name = Some(cx.str(v)?),
            "listen" => match parse_listen(&v.value) {
                Ok((h, p)) => {
                    c.host = h;
                    c.port = p;
                }
                Err(e) => cx.err(&v.pos, e),
            },
            "port" => c.port = cx.int32(v)?,
            "host" | "net" => c.host = cx.str(v)?,
            "authorization" => {
                let auth = parse_authorization(cx, v)?;
                if auth.users.is_some() {
                    cx.err(
                        &v.pos,
                        "Cluster authorization does not allow multiple users",
                    );
                    continue;
                }
                if !auth.token.is_empty() {
                    cx.err(&v.pos, "Cluster authorization does not support tokens");
                    continue;
                }
                c.username = non_empty(auth.user);
                c.password = non_empty(auth.pass);
                c.auth_timeout = auth.timeout;
                if let Some(p) = auth.default_permissions {
                    cx.warn_field(
                        &v.pos,
                        k,
                        "setting \"permissions\" within cluster authorization block is deprecated",
                    );
                    if c.permissions.is_none() {
                        c.permissions = Some(RoutePermissions {
                            import: p.publish,
                            export: p.subscribe,
                        });
                    }
                }
            }
            "routes" => {
                let list = cx.array(v)?;
                let before = cx.errors.len();
                let routes = parse_urls(cx, list, "route")?;
                if cx.errors.len() == before {
                    c.routes = routes;
                }
            }
            "tls" => {
                if let Some(t) = parse_tls(cx, v, TlsContext::Server)? {
                    c.tls = Some(t);
                }
            }
            "cluster_advertise" | "advertise" => c.advertise = Some(cx.str(v)?),
            "no_advertise" => c.no_advertise = cx.bool(v)?,
            "connect_retries" => c.connect_retries = cx.int(v)?,
            // Parsed as 2.12 does; rnatsd keeps one route per server.
            "pool_size" => c.pool_size = cx.int(v)?,
            "accounts" => {
                if let Some(a) = parse_string_array(cx, "accounts", v) {
                    c.pinned_accounts = a;
                }
            }
            "compression" => {
                if let Some(co) = parse_compression(cx, k, v, "s2_fast")? {
                    c.compression = Some(co);
                }
            }
            "ping_interval" => {
                let ns = cx.duration_or_secs("ping_interval", v)?;
                if ns > 30_000_000_000 {
                    cx.warn_plain(
                        &v.pos,
                        "Cluster 'ping_interval' will reset to 30s which is the max for routes",
                    );
                }
                c.ping_interval = nanos(ns);
            }
            "ping_max" => c.ping_max = Some(cx.int(v)?),
            "write_deadline" | "write_timeout" | "connect_backoff" => {
                parse_link(cx, k, v, &mut c.link)?
            }
            "permissions" => {
                let Some(p) = parse_user_permissions(cx, v)? else {
                    continue;
                };
                if p.response.is_some() {
                    cx.err(
                        &v.pos,
                        "Cluster permissions do not support dynamic responses",
                    );
                    continue;
                }
                c.permissions = Some(RoutePermissions {
                    import: p.publish,
                    export: p.subscribe,
                });
            }
            _ => cx.unknown(k, v),
        }
    }
    Ok(())
}

/// Go's `parseGateway`.
pub(crate) fn parse_gateway(cx: &mut Ctx, item: &Spanned, g: &mut GatewayOpts) -> R<()> {
    let m = cx.map_or_fail(item, "Expected gateway to be a map")?;
    for (k, v) in m.iter() {
        match k.to_ascii_lowercase().as_str() {
            "name" => g.name = Some(cx.str(v)?),
            "listen" => match parse_listen(&v.value) {
                Ok((h, p)) => {
                    g.host = h;
                    g.port = p;
                }
                Err(e) => cx.err(&v.pos, e),
            },
            "port" => g.port = cx.int32(v)?,
            "host" | "net" => g.host = cx.str(v)?,
            "authorization" => {
                let auth = parse_authorization(cx, v)?;
                if auth.users.is_some() {
                    cx.err(
                        &v.pos,
                        "Gateway authorization does not allow multiple users",
                    );
                    continue;
                }
                if !auth.token.is_empty() {
                    cx.err(&v.pos, "Gateway authorization does not support tokens");
                    continue;
                }
                g.username = non_empty(auth.user);
                g.password = non_empty(auth.pass);
                g.auth_timeout = auth.timeout;
            }
            "tls" => {
                if let Some(t) = parse_tls(cx, v, TlsContext::Server)? {
                    g.tls = Some(t);
                }
            }
            "advertise" => g.advertise = Some(cx.str(v)?),
            "connect_retries" => g.connect_retries = cx.int(v)?,
            "gateways" => g.gateways = parse_gateways(cx, v)?,
            "reject_unknown" | "reject_unknown_cluster" => g.reject_unknown = cx.bool(v)?,
            "write_deadline" | "write_timeout" | "connect_backoff" => {
                parse_link(cx, k, v, &mut g.link)?
            }
            _ => cx.unknown(k, v),
        }
    }
    Ok(())
}

/// Go's `parseGateways`.
fn parse_gateways(cx: &mut Ctx, item: &Spanned) -> R<Vec<RemoteGatewayOpts>> {
    let Value::Array(list) = &item.value else {
        cx.err_bare(format!(
            "Expected gateways field to be an array, got {}",
            item.value.type_name()
        ));
        return Err(super::value::Abort);
    };
    let mut out = Vec::new();
    for e in list {
        let Value::Map(m) = &e.value else {
            cx.err(
                &e.pos,
                format!(
                    "Expected gateway entry to be a map/struct, got {}",
                    go_value(&e.value)
                ),
            );
            continue;
        };
        let mut gw = RemoteGatewayOpts::default();
        for (k, v) in m.iter() {
            match k.to_ascii_lowercase().as_str() {
                "name" => gw.name = cx.str(v)?,
                "tls" => {
                    if let Some(t) = parse_tls(cx, v, TlsContext::Server)? {
                        gw.tls = Some(t);
                    }
                }
                "url" => {
                    let s = cx.str(v)?;
                    if go_url_ok(&s) {
                        gw.urls.push(s.trim().to_string());
                    } else {
                        cx.err(
                            &v.pos,
                            format!("error parsing gateway url [{}]", go_quote(s.trim())),
                        );
                    }
                }
                "urls" => {
                    let list = cx.array(v)?;
                    let before = cx.errors.len();
                    let urls = parse_urls(cx, list, "gateway")?;
                    if cx.errors.len() == before {
                        gw.urls = urls;
                    }
                }
                _ => cx.unknown(k, v),
            }
        }
        out.push(gw);
    }
    Ok(out)
}

/// Go's `parseLeafNodes`.
pub(crate) fn parse_leafnodes(cx: &mut Ctx, item: &Spanned, l: &mut LeafNodeOpts) -> R<()> {
    let m = cx.map_or_fail(item, "Expected map to define a leafnode")?;
    for (k, v) in m.iter() {
        match k.to_ascii_lowercase().as_str() {
            "listen" => match parse_listen(&v.value) {
                Ok((h, p)) => {
                    l.host = h;
                    l.port = p;
                }
                Err(e) => cx.err(&v.pos, e),
            },
            "port" => l.port = cx.int32(v)?,
            "host" | "net" => l.host = cx.str(v)?,
            "authorization" => {
                parse_leaf_authorization(cx, v, l)?;
                if !l.users.is_empty() {
                    let mut err = None;
                    if l.username.is_some() {
                        err = Some("can not have a single user/pass and a users array".to_string());
                    } else {
                        let mut seen = std::collections::HashSet::new();
                        for u in &l.users {
                            if !seen.insert(u.username.as_str()) {
                                err = Some(format!(
                                    "duplicate user {} detected in leafnode authorization",
                                    go_quote(&u.username)
                                ));
                                break;
                            }
                        }
                    }
                    if let Some(e) = err {
                        cx.err(&v.pos, e);
                    }
                }
            }
            "remotes" => l.remotes = parse_remotes(cx, v)?,
            "reconnect" | "reconnect_delay" | "reconnect_interval" => {
                let ns = cx.duration_or_secs("reconnect", v)?;
                l.reconnect_interval = u64::try_from(ns).ok().map(Duration::from_nanos);
            }
            "tls" => {
                if let Some(t) = parse_tls(cx, v, TlsContext::Client)? {
                    l.tls = Some(t);
                }
            }
            "leafnode_advertise" | "advertise" => l.advertise = Some(cx.str(v)?),
            "no_advertise" => l.no_advertise = cx.bool(v)?,
            "min_version" | "minimum_version" => {
                let s = cx.str(v)?;
                match check_leaf_min_version(&s) {
                    Ok(()) => l.min_version = Some(s),
                    Err(e) => cx.err(&v.pos, e),
                }
            }
            "compression" => {
                if let Some(co) = parse_compression(cx, k, v, "s2_auto")? {
                    l.compression = Some(co);
                }
            }
            "isolate_leafnode_interest" | "isolate" => l.isolate = cx.bool(v)?,
            "write_deadline" | "write_timeout" => parse_link(cx, k, v, &mut l.link)?,
            _ => cx.unknown(k, v),
        }
    }
    Ok(())
}

/// A remote's `proxy { url, username, password, timeout }`, checked as
/// nats-server's `validateLeafNodeProxyOptions` (after the whole remote is
/// read, so the URLs are known). `Ok(false)`: an error was recorded.
fn parse_leaf_proxy(cx: &mut Ctx, v: &Spanned, remote: &mut RemoteLeafOpts) -> R<bool> {
    let Value::Map(m) = &v.value else {
        cx.err(
            &v.pos,
            format!("Expected proxy to be a map, got {}", v.value.type_name()),
        );
        return Ok(false);
    };
    let (mut url, mut user, mut pass, mut timeout) =
        (String::new(), String::new(), String::new(), 0i64);
    for (k, pv) in m.iter() {
        match k.to_ascii_lowercase().as_str() {
            "url" => url = cx.str(pv)?,
            "username" => user = cx.str(pv)?,
            "password" => pass = cx.str(pv)?,
            "timeout" => timeout = cx.duration_or_secs("proxy timeout", pv)?,
            _ => cx.unknown(k, pv),
        }
    }
    if url.is_empty() {
        return Ok(true);
    }
    let (scheme, rest) = url.split_once("://").unwrap_or(("", ""));
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let problem = if scheme != "http" && scheme != "https" {
        Some(format!(
            "proxy URL scheme must be http or https, got: {scheme}"
        ))
    } else if host.is_empty() {
        Some("proxy URL must specify a host".to_string())
    } else if timeout < 0 {
        Some("proxy timeout must be >= 0".to_string())
    } else if user.is_empty() != pass.is_empty() {
        Some("proxy username and password must both be specified or both be empty".to_string())
    } else {
        None
    };
    if let Some(p) = problem {
        cx.err(&v.pos, p);
        return Ok(false);
    }
    remote.proxy_url = Some(url);
    Ok(true)
}

/// nats-server's warnings for a proxy on a remote without websocket URLs.
fn proxy_warnings(cx: &mut Ctx, pos: &conf::Pos, remote: &RemoteLeafOpts) {
    let ws = |u: &String| u.starts_with("ws://") || u.starts_with("wss://");
    if remote.proxy_url.is_none() || remote.urls.is_empty() {
        return;
    }
    if !remote.urls.iter().any(ws) {
        cx.warn_plain(pos, "proxy configuration will be ignored: proxy settings only apply to WebSocket connections (ws:// or wss://), but all configured URLs use TCP connections (nats://)");
    } else if !remote.urls.iter().all(ws) {
        cx.warn_plain(pos, "proxy configuration will only be used for WebSocket URLs: proxy settings do not apply to TCP connections (nats://)");
    }
}

/// `write_deadline`, `write_timeout` and `connect_backoff` of a link block.
fn parse_link(cx: &mut Ctx, k: &str, v: &Spanned, l: &mut LinkOpts) -> R<()> {
    match k.to_ascii_lowercase().as_str() {
        "write_deadline" => l.write_deadline = nanos(cx.duration_or_secs("write_deadline", v)?),
        "write_timeout" => l.write_timeout = write_timeout(cx, v)?,
        _ => l.connect_backoff = cx.bool(v)?,
    }
    Ok(())
}

/// Go's `parseWriteDeadlinePolicy`.
pub(crate) fn write_timeout(cx: &mut Ctx, v: &Spanned) -> R<Option<String>> {
    let s = cx.str(v)?;
    if matches!(s.as_str(), "default" | "close" | "retry") {
        Ok(Some(s))
    } else {
        cx.err(
            &v.pos,
            "write_timeout must be 'default', 'close' or 'retry'",
        );
        Ok(None)
    }
}

/// Go's `parseCompression`; `on` picks `on_mode`. The mode is checked at
/// start (as nats-server), not here.
pub(crate) fn parse_compression(
    cx: &mut Ctx,
    k: &str,
    v: &Spanned,
    on_mode: &str,
) -> R<Option<CompressionOpts>> {
    let mut c = CompressionOpts::default();
    match &v.value {
        Value::String(s) => c.mode = s.clone(),
        Value::Bool(b) => c.mode = if *b { on_mode.into() } else { "off".into() },
        Value::Map(m) => {
            for (mk, mv) in m.iter() {
                match mk.to_ascii_lowercase().as_str() {
                    "mode" => c.mode = cx.str(mv)?,
                    "rtt_thresholds" | "thresholds" | "rtts" | "rtt" => {
                        for e in cx.array(mv)? {
                            let s = cx.str(e)?;
                            match go_duration(&s) {
                                Ok(ns) => c
                                    .rtt_thresholds
                                    .push(Duration::from_nanos(ns.max(0) as u64)),
                                Err(err) => {
                                    cx.err(&mv.pos, err);
                                    return Ok(None);
                                }
                            }
                        }
                    }
                    _ => {
                        if !cx.used_vars.contains(mk) {
                            cx.err(&mv.pos, format!("unknown field {}", go_quote(mk)));
                            return Ok(None);
                        }
                    }
                }
            }
        }
        other => {
            cx.err(
                &v.pos,
                format!(
                    "field {} should be a boolean or a structure, got {}",
                    go_quote(k),
                    other.type_name()
                ),
            );
            return Ok(None);
        }
    }
    Ok(Some(c))
}

/// Go's `validateAndNormalizeCompressionOption`: the start-up check.
pub(crate) fn check_compression(c: &CompressionOpts) -> Result<(), String> {
    let m = c.mode.to_lowercase();
    match m.as_str() {
        "on" | "enabled" | "true" | "not supported" | "not_supported" | "disabled" | "off"
        | "false" | "accept" | "fast" | "s2_fast" | "better" | "s2_better" | "best" | "s2_best" => {
            Ok(())
        }
        "auto" | "s2_auto" => {
            let mut rtts: Vec<Duration> = Vec::new();
            for &n in &c.rtt_thresholds {
                if !rtts.is_empty() && !n.is_zero() && rtts.iter().any(|v| n < *v) {
                    return Err(format!(
                        "RTT threshold values {} should be in ascending order",
                        go_durations(&c.rtt_thresholds)
                    ));
                }
                rtts.push(n);
            }
            while rtts.last().is_some_and(|d| d.is_zero()) {
                rtts.pop();
            }
            if rtts.len() > 4 {
                return Err(format!(
                    "compression mode {} should have no more than 4 RTT thresholds: {}",
                    go_quote(&c.mode),
                    go_durations(&c.rtt_thresholds)
                ));
            }
            if rtts.is_empty() && !c.rtt_thresholds.is_empty() {
                return Err(format!(
                    "compression mode {} requires at least one RTT threshold",
                    go_quote(&c.mode)
                ));
            }
            Ok(())
        }
        _ => Err(format!(
            "unsupported compression mode {}",
            go_quote(&c.mode)
        )),
    }
}

/// Go's `%v` of a `[]time.Duration`.
fn go_durations(d: &[Duration]) -> String {
    let parts: Vec<String> = d
        .iter()
        .map(|d| super::golang::go_duration_string(d.as_nanos() as i64))
        .collect();
    format!("[{}]", parts.join(" "))
}

/// Go's `checkLeafMinVersionConfig`.
pub(crate) fn check_leaf_min_version(v: &str) -> Result<(), String> {
    let s = v.strip_prefix('v').unwrap_or(v);
    let major_len = s.bytes().take_while(u8::is_ascii_digit).count();
    if major_len == 0 {
        return Err("invalid leafnode's minimum version: invalid semver".into());
    }
    let mut rest = &s[major_len..];
    let mut parts = vec![&s[..major_len]];
    for _ in 0..2 {
        rest = rest.strip_prefix('.').unwrap_or(rest);
        let n = rest.bytes().take_while(u8::is_ascii_digit).count();
        parts.push(&rest[..n]);
        rest = &rest[n..];
    }
    let mut nums = [0i64; 3];
    for (i, p) in parts.iter().enumerate() {
        nums[i] = p.parse().map_err(|_| {
            format!(
                "invalid leafnode's minimum version: strconv.Atoi: parsing {}: invalid syntax",
                go_quote(p)
            )
        })?;
    }
    let [ma, mi, pa] = nums;
    if ma > 2 || (ma == 2 && mi > 8) || (ma == 2 && mi == 8 && pa >= 0) {
        Ok(())
    } else {
        Err("the minimum version should be at least 2.8.0".into())
    }
}

/// Go's `parseLeafAuthorization`.
fn parse_leaf_authorization(cx: &mut Ctx, item: &Spanned, l: &mut LeafNodeOpts) -> R<()> {
    let m = cx.map(item)?;
    for (k, v) in m.iter() {
        match k.to_ascii_lowercase().as_str() {
            "user" | "username" => l.username = non_empty(cx.str(v)?),
            "pass" | "password" => l.password = non_empty(cx.str(v)?),
            "timeout" => l.auth_timeout = Ctx::auth_timeout(v),
            "users" => {
                let Value::Array(list) = &v.value else {
                    cx.err(
                        &v.pos,
                        format!(
                            "Expected users field to be an array, got {}",
                            go_value(&v.value)
                        ),
                    );
                    continue;
                };
                let mut users = Vec::new();
                for u in list {
                    let Value::Map(um) = &u.value else {
                        cx.err(
                            &u.pos,
                            format!(
                                "Expected user entry to be a map/struct, got {}",
                                go_value(&u.value)
                            ),
                        );
                        continue;
                    };
                    let mut user = LeafUser::default();
                    for (uk, uv) in um.iter() {
                        match uk.to_ascii_lowercase().as_str() {
                            "user" | "username" => user.username = cx.str(uv)?,
                            "pass" | "password" => user.password = cx.str(uv)?,
                            "account" => user.account = Some(cx.str(uv)?),
                            _ => cx.unknown(uk, uv),
                        }
                    }
                    users.push(user);
                }
                l.users = users;
            }
            "account" => l.account = non_empty(cx.str(v)?),
            _ => cx.unknown(k, v),
        }
    }
    Ok(())
}

/// Go's `parseRemoteLeafNodes`.
fn parse_remotes(cx: &mut Ctx, item: &Spanned) -> R<Vec<RemoteLeafOpts>> {
    let Value::Array(list) = &item.value else {
        cx.err(
            &item.pos,
            format!(
                "Expected remotes field to be an array, got {}",
                item.value.type_name()
            ),
        );
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for r in list {
        let Value::Map(m) = &r.value else {
            cx.err(
                &r.pos,
                format!(
                    "Expected remote leafnode entry to be a map/struct, got {}",
                    go_value(&r.value)
                ),
            );
            continue;
        };
        let mut remote = RemoteLeafOpts::default();
        let mut proxy_pos = None;
        for (k, v) in m.iter() {
            match k.to_ascii_lowercase().as_str() {
                "no_randomize" | "dont_randomize" => remote.no_randomize = cx.bool(v)?,
                "url" | "urls" => match &v.value {
                    Value::Array(a) => {
                        let before = cx.errors.len();
                        let urls = parse_urls(cx, a, "leafnode")?;
                        if cx.errors.len() == before {
                            remote.urls = urls;
                        }
                    }
                    Value::String(s) => {
                        if go_url_ok(s) {
                            remote.urls.push(s.trim().to_string());
                        } else {
                            cx.err(
                                &v.pos,
                                format!("error parsing leafnode url [{}]", go_quote(s.trim())),
                            );
                        }
                    }
                    other => cx.err(
                        &v.pos,
                        format!(
                            "Expected remote leafnode url to be an array or string, got {}",
                            go_value(other)
                        ),
                    ),
                },
                "account" | "local" => remote.local_account = Some(cx.str(v)?),
                "creds" | "credentials" => remote.credentials = Some(expand_path(&cx.str(v)?)),
                "tls" => {
                    if let Some(t) = parse_tls(cx, v, TlsContext::Client)? {
                        remote.tls = Some(t);
                    }
                }
                "hub" => remote.hub = cx.bool(v)?,
                "deny_imports" | "deny_import" => {
                    if let Some(s) = parse_perm_subjects(cx, v, true)? {
                        remote.deny_imports = s;
                    }
                }
                "deny_exports" | "deny_export" => {
                    if let Some(s) = parse_perm_subjects(cx, v, true)? {
                        remote.deny_exports = s;
                    }
                }
                "ws_compress"
                | "ws_compression"
                | "websocket_compress"
                | "websocket_compression" => remote.ws_compression = cx.bool(v)?,
                "ws_no_masking" | "websocket_no_masking" => remote.ws_no_masking = cx.bool(v)?,
                "jetstream_cluster_migrate" | "js_cluster_migrate" => {
                    remote.jetstream_cluster_migrate = true
                }
                "nkey" | "seed" => {
                    let nk = cx.str(v)?;
                    let ok = nkeys::KeyPair::from_seed(&nk)
                        .is_ok_and(|kp| kp.public_key().starts_with('U'));
                    if !ok {
                        cx.err(
                            &v.pos,
                            format!(
                                "Remote leafnode nkey is not a valid seed: {}",
                                go_quote(&nk)
                            ),
                        );
                        continue;
                    }
                    if remote.credentials.is_some() {
                        cx.err(
                            &v.pos,
                            "Remote leafnode can not have both creds and nkey defined",
                        );
                        continue;
                    }
                    remote.nkey = Some(nk);
                }
                "isolate_leafnode_interest" | "isolate" => remote.isolate = cx.bool(v)?,
                "request_isolation" => remote.request_isolation = cx.bool(v)?,
                "compression" => {
                    if let Some(co) = parse_compression(cx, k, v, "s2_auto")? {
                        remote.compression = Some(co);
                    }
                }
                "first_info_timeout" => {
                    remote.first_info_timeout = nanos(cx.duration_or_secs(k, v)?)
                }
                "disabled" => remote.disabled = cx.bool(v)?,
                "proxy" => {
                    if parse_leaf_proxy(cx, v, &mut remote)? {
                        proxy_pos = Some(v.pos.clone());
                    }
                }
                _ => cx.unknown(k, v),
            }
        }
        if let Some(pos) = &proxy_pos {
            proxy_warnings(cx, pos, &remote);
        }
        out.push(remote);
    }
    Ok(out)
}

/// Go's `expandPath`: a leading `~` is the home directory.
fn expand_path(p: &str) -> String {
    if let Some(rest) = p.strip_prefix('~') {
        if let Some(home) = std::env::var_os("HOME") {
            return format!("{}{rest}", home.to_string_lossy());
        }
    }
    p.to_string()
}
