//! The checks nats-server makes when it starts (`validateOptions` and the
//! first steps of `NewServer`), which `-t` does not make.

use super::types::ResolverOpts;
use super::value::{go_duration_string, go_quote, go_url_ok, valid_public_nkey, valid_subject};
use super::ConfigError;
use crate::config::options::Options;

fn err<T>(msg: impl Into<String>) -> Result<T, ConfigError> {
    Err(ConfigError(msg.into()))
}

fn has_gateway(o: &Options) -> bool {
    o.gateway.name.as_deref().is_some_and(|n| !n.is_empty()) || o.gateway.port != 0
}

/// Checks options the way nats-server does before it starts serving;
/// the first failing check is reported.
pub fn validate(o: &Options) -> Result<(), ConfigError> {
    let ldd = o.lame_duck_duration.as_nanos() as i64;
    let ldg = o.lame_duck_grace_period.as_nanos() as i64;
    if ldd > 0 && ldg >= ldd {
        return err(format!(
            "lame duck grace period ({}) should be strictly lower than lame duck duration ({})",
            go_duration_string(ldg),
            go_duration_string(ldd)
        ));
    }
    if o.max_payload > o.max_pending {
        return err(format!(
            "max_payload ({}) cannot be higher than max_pending ({})",
            o.max_payload, o.max_pending
        ));
    }
    trusted_operators(o)?;
    leafnode(o)?;
    no_auth_user(o, o.no_auth_user.as_deref())?;
    gateway(o)?;
    if let Some(g) = o.gateway.name.as_deref().filter(|n| !n.is_empty()) {
        if o.cluster
            .name
            .as_deref()
            .is_some_and(|c| !c.is_empty() && c != g)
        {
            return err("cluster name conflicts between cluster and gateway definitions");
        }
    }
    mqtt(o)?;
    jetstream(o)?;
    websocket(o)?;
    if let (Some(r), false) = (&o.resolver, o.resolver_preload.is_empty()) {
        if matches!(r, ResolverOpts::Url(_)) {
            return err(
                "resolver preloads only available for writeable resolver types MEM/DIR/CACHE_DIR",
            );
        }
    }
    let compressions = o
        .cluster
        .compression
        .iter()
        .chain(o.leafnode.compression.iter())
        .chain(
            o.leafnode
                .remotes
                .iter()
                .filter_map(|r| r.compression.as_ref()),
        );
    for c in compressions {
        super::network::check_compression(c).map_err(ConfigError)?;
    }
    pinned_accounts(o)
}

/// `cluster { accounts }` with `pool_size` (nats-server's `validateCluster`).
fn pinned_accounts(o: &Options) -> Result<(), ConfigError> {
    let mut list = o.cluster.pinned_accounts.clone();
    if list.is_empty() {
        return Ok(());
    }
    // With pooling, the system account is pinned too (nats-server adds it
    // before checking).
    if o.cluster.pool_size >= 0 {
        if let Some(sys) = o.system_account_name() {
            if !list.contains(&sys) {
                list.push(sys);
            }
        }
    }
    if o.cluster.pool_size < 0 {
        return err("pool_size cannot be negative if pinned accounts are specified");
    }
    for (i, a) in list.iter().enumerate() {
        if list[..i].contains(a) {
            let all: Vec<String> = list.iter().map(|x| go_quote(x)).collect();
            return err(format!(
                "found duplicate account name {} in pinned accounts list [{}]",
                go_quote(a),
                all.join(" ")
            ));
        }
    }
    Ok(())
}

fn trusted_operators(o: &Options) -> Result<(), ConfigError> {
    if o.operators.is_empty() {
        return Ok(());
    }
    let Some(resolver) = &o.resolver else {
        return err("operators require an account resolver to be configured");
    };
    if !o.accounts.is_empty() || !o.mappings.is_empty() {
        return err("operators do not allow Accounts to be configured directly");
    }
    if !o.users.is_empty() || !o.nkeys.is_empty() {
        return err("operators do not allow users to be configured directly");
    }
    if !o.trusted_keys.is_empty() {
        return err("conflicting options for 'TrustedKeys' and 'TrustedOperators'");
    }
    match &o.system_account {
        Some(sys) => {
            let non_empty = o.operators.iter().any(|op| op.system_account.is_some());
            let found = o
                .operators
                .iter()
                .any(|op| op.system_account.as_deref() == Some(sys.as_str()));
            if non_empty && !found {
                return err("system_account in config and operator JWT must be identical");
            }
        }
        None => {
            if o.operators[0].system_account.is_none()
                && matches!(
                    resolver,
                    ResolverOpts::Full { .. } | ResolverOpts::Cache { .. }
                )
            {
                return err("using nats based account resolver - the system account needs to be specified in configuration or the operator jwt");
            }
        }
    }
    let server = version_components(crate::config::options::NATS_VERSION).unwrap_or((2, 9, 10));
    for op in &o.operators {
        let want = op.assert_server_version.as_deref().unwrap_or("");
        if want.is_empty() {
            continue;
        }
        let Some((ma, mi, pa)) = version_components(want) else {
            return err(format!(
                "operator {} expects version {want} got error instead: invalid version",
                op.subject
            ));
        };
        if ma > server.0 {
            return err(format!(
                "operator {} expected major version {ma} > server major version {}",
                op.subject, server.0
            ));
        }
        if ma == server.0 && mi > server.1 {
            return err(format!(
                "operator {} expected minor version {mi} > server minor version {}",
                op.subject, server.1
            ));
        }
        if ma == server.0 && mi == server.1 && pa > server.2 {
            return err(format!(
                "operator {} expected update version {pa} > server update version {}",
                op.subject, server.2
            ));
        }
    }
    for op in &o.operators {
        let keys = (!op.strict_signing_key_usage)
            .then_some(&op.subject)
            .into_iter()
            .chain(op.signing_keys.iter());
        for k in keys {
            if !valid_public_nkey(k, 'O') {
                return err(format!(
                    "trusted Keys {} are required to be a valid public operator nkey",
                    go_quote(k)
                ));
            }
        }
    }
    for k in &o.resolver_pinned_accounts {
        if !valid_public_nkey(k, 'A') {
            return err(format!(
                "pinned account key {} is not a valid public account nkey",
                go_quote(k)
            ));
        }
    }
    Ok(())
}

/// `major.minor.patch` with an optional `v`.
fn version_components(v: &str) -> Option<(i64, i64, i64)> {
    let v = v.strip_prefix('v').unwrap_or(v);
    let core = v.split(['-', '+']).next()?;
    let mut it = core.split('.');
    let a = it.next()?.parse().ok()?;
    let b = it.next()?.parse().ok()?;
    let c = it.next()?.parse().ok()?;
    Some((a, b, c))
}

fn leafnode(o: &Options) -> Result<(), ConfigError> {
    let l = &o.leafnode;
    if o.operators.is_empty() {
        let mut names: Vec<&str> = o.accounts.iter().map(|a| a.name.as_str()).collect();
        names.push("$G");
        names.push("");
        if o.system_account.is_none() && !o.no_system_account {
            names.push("$SYS");
        }
        let check = |acc: &str, typ: &str| -> Result<(), ConfigError> {
            if names.contains(&acc) {
                Ok(())
            } else {
                err(format!(
                    "cannot find local account {} specified in leafnode {typ}",
                    go_quote(acc)
                ))
            }
        };
        check(l.account.as_deref().unwrap_or(""), "authorization")?;
        for u in &l.users {
            if let Some(a) = &u.account {
                check(a, "authorization")?;
            }
        }
        for r in &l.remotes {
            check(r.local_account.as_deref().unwrap_or(""), "remote")?;
        }
    } else {
        if !l.users.is_empty() {
            return err("operator mode does not allow specifying user in leafnode config");
        }
        for r in &l.remotes {
            if !valid_public_nkey(r.local_account.as_deref().unwrap_or(""), 'A') {
                return err("operator mode requires account nkeys in remotes. Please add an `account` key to each remote in your `leafnodes` section, to assign it to an account. Each account value should be a 56 character public key, starting with the letter 'A'");
            }
        }
        if l.port != 0
            && l.account
                .as_deref()
                .is_some_and(|a| !valid_public_nkey(a, 'A'))
        {
            return err("operator mode and non account nkeys are incompatible");
        }
    }
    for r in &l.remotes {
        if r.urls.len() >= 2 {
            let is_ws = |u: &str| {
                let l = u.to_ascii_lowercase();
                l.starts_with("ws://") || l.starts_with("wss://")
            };
            let first = is_ws(&r.urls[0]);
            if r.urls[1..].iter().any(|u| is_ws(u) != first) {
                return err("remote leaf node configuration cannot have a mix of websocket and non-websocket urls");
            }
        }
    }
    if l.port == 0 {
        return Ok(());
    }
    if let Some(mv) = &l.min_version {
        super::network::check_leaf_min_version(mv).map_err(ConfigError)?;
    }
    if !has_gateway(o) {
        return Ok(());
    }
    if o.system_account.is_none() {
        return err("leaf nodes and gateways (both being defined) require a system account to also be configured");
    }
    Ok(())
}

fn no_auth_user(o: &Options, user: Option<&str>) -> Result<(), ConfigError> {
    let Some(u) = user.filter(|u| !u.is_empty()) else {
        return Ok(());
    };
    if !o.operators.is_empty() {
        return err("no_auth_user not compatible with Trusted Operator");
    }
    if o.auth_users.is_empty() {
        return err(format!(
            "no_auth_user: \"{u}\" present, but users are not defined"
        ));
    }
    if o.auth_users.iter().any(|x| x.username == u) {
        return Ok(());
    }
    err(format!(
        "no_auth_user: \"{u}\" not present as user in authorization block or account configuration"
    ))
}

fn gateway(o: &Options) -> Result<(), ConfigError> {
    if !has_gateway(o) {
        return Ok(());
    }
    let Some(name) = o.gateway.name.as_deref().filter(|n| !n.is_empty()) else {
        return err("gateway has no name");
    };
    if o.gateway.port == 0 {
        return err(format!(
            "gateway {} has no port specified (select -1 for random port)",
            go_quote(name)
        ));
    }
    for (i, g) in o.gateway.gateways.iter().enumerate() {
        if g.name.is_empty() {
            return err(format!("gateway in the list {i} has no name"));
        }
        if g.urls.is_empty() {
            return err(format!("gateway {} has no URL", go_quote(&g.name)));
        }
    }
    Ok(())
}

fn mqtt(o: &Options) -> Result<(), ConfigError> {
    let m = &o.mqtt;
    if m.port == 0 {
        return Ok(());
    }
    if o.server_name.is_none() {
        return err("mqtt requires server name to be explicitly set");
    }
    no_auth_user(o, m.no_auth_user.as_deref())?;
    if !o.auth_users.is_empty() || !o.nkeys.is_empty() {
        if m.username.is_some() {
            return err("mqtt authentication username not compatible with presence of users/nkeys");
        }
        if m.token.is_some() {
            return err("mqtt authentication token not compatible with presence of users/nkeys");
        }
    }
    if !o.jetstream.enabled
        && o.cluster.port == 0
        && o.gateway.port == 0
        && o.leafnode.port == 0
        && o.leafnode.remotes.is_empty()
    {
        return err("mqtt requires JetStream to be enabled if running in standalone mode");
    }
    Ok(())
}

fn jetstream(o: &Options) -> Result<(), ConfigError> {
    if !o.default_js_domain.is_empty() {
        if o.operators.is_empty() {
            for (a, d) in &o.default_js_domain {
                if a == "$G" {
                    continue;
                }
                match o.accounts.iter().find(|x| &x.name == a) {
                    Some(acc) => {
                        if acc.jetstream.is_some() && !d.is_empty() {
                            return err(format!(
                                "default_js_domain contains account name {} with enabled JetStream",
                                go_quote(a)
                            ));
                        }
                    }
                    None => {
                        return err(format!(
                            "in non operator mode, `default_js_domain` references non existing account {}",
                            go_quote(a)
                        ))
                    }
                }
            }
        } else {
            for (a, _) in &o.default_js_domain {
                if !valid_public_nkey(a, 'A') {
                    return err(format!(
                        "default_js_domain contains account name {}, which is not a valid public account nkey",
                        go_quote(a)
                    ));
                }
            }
        }
        let sys = o.system_account.as_deref().unwrap_or("$SYS");
        for (a, d) in &o.default_js_domain {
            if a == sys {
                return err(format!(
                    "system account {} can not be in default_js_domain",
                    go_quote(a)
                ));
            }
            if !d.is_empty() && !valid_subject(&format!("$JS.{d}.API.>")) {
                return err(format!(
                    "default_js_domain contains account {} with invalid domain name {}",
                    go_quote(a),
                    go_quote(d)
                ));
            }
        }
    }
    if let Some(d) = o.jetstream.domain.as_deref().filter(|d| !d.is_empty()) {
        let subj = format!("$JS.{d}.API.>");
        if !valid_subject(&subj) {
            return err(format!(
                "invalid domain name: derived {} is not a valid subject",
                go_quote(&subj)
            ));
        }
        if d.contains(['.', '*', '>']) || d.contains(char::is_whitespace) {
            return err("invalid domain name: may not contain ., * or >");
        }
    }
    if !o.jetstream.enabled || o.cluster.port == 0 {
        return Ok(());
    }
    if o.server_name.is_none() {
        return err("jetstream cluster requires `server_name` to be set");
    }
    if o.cluster.name.as_deref().unwrap_or("").is_empty() {
        return err("jetstream cluster requires `cluster.name` to be set");
    }
    let h = o
        .jetstream
        .extension_hint
        .as_deref()
        .unwrap_or("")
        .to_lowercase();
    if !matches!(h.as_str(), "" | "will_extend" | "no_extend") {
        return err(format!("expected 'no_extend' for string value, got '{h}'"));
    }
    if o.jetstream.max_catchup.is_some_and(|c| c < 0) {
        return err("jetstream max catchup cannot be negative");
    }
    Ok(())
}

fn websocket(o: &Options) -> Result<(), ConfigError> {
    let w = &o.websocket;
    if w.port == 0 {
        return Ok(());
    }
    if w.tls.is_none() && !w.no_tls {
        return err("websocket requires TLS configuration");
    }
    for ao in &w.allowed_origins {
        if !go_url_ok(ao) {
            return err(format!(
                "unable to parse allowed origin: parse {}: invalid URL",
                go_quote(ao)
            ));
        }
    }
    no_auth_user(o, w.no_auth_user.as_deref())?;
    if !o.auth_users.is_empty() || !o.nkeys.is_empty() {
        if w.username.is_some() {
            return err(
                "websocket authentication username not compatible with presence of users/nkeys",
            );
        }
        if w.token.is_some() {
            return err(
                "websocket authentication token not compatible with presence of users/nkeys",
            );
        }
    }
    if w.jwt_cookie.as_deref().is_some_and(|c| !c.is_empty())
        && o.operators.is_empty()
        && o.trusted_keys.is_empty()
    {
        return err(format!(
            "trusted operators or trusted keys configuration is required for JWT authentication via cookie {}",
            go_quote(w.jwt_cookie.as_deref().unwrap_or(""))
        ));
    }
    Ok(())
}
