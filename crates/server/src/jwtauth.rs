//! Operator mode: clients authenticate with a user JWT (from CONNECT, or
//! from the websocket `jwt_cookie`) issued by an account that a trusted
//! operator signed, and prove they hold the user's key by signing the
//! nonce (unless the JWT is a bearer token).
//!
//! [`Trust`] is built from the options: the trusted operator keys (the
//! operator JWTs' subjects and signing keys, and `trusted`), and the
//! account JWTs of the resolver (`resolver_preload`, and the `.jwt` files of
//! a `dir` resolver at start). Each account JWT becomes an account named by
//! its public key.

use crate::config::operator::decode_jwt;
use crate::config::types::ResolverOpts;
use crate::config::types::{
    ExportKind, Import, Permissions, ResponsePermission, SubjectPermission,
};
use crate::options::Options;
use serde_json::Value as Json;
use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::time::Duration;

/// A scoped signing key's user template (`user_scope`).
#[derive(Debug, Clone, PartialEq)]
struct Scope {
    /// The permission template (`pub`, `sub`, `resp`, ...).
    template: Json,
}

/// What the server keeps of an account JWT.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountJwt {
    /// Who signed it (an operator key, checked at authentication).
    issuer: String,
    /// The claim's `name`.
    name: String,
    /// Keys allowed to issue users: signing keys (with their scope, if
    /// scoped) and, unless the operator is strict, the account itself.
    signers: HashMap<String, Option<Scope>>,
    /// Revoked users: public key (or `*`) → revoked when issued at or before.
    revoked: HashMap<String, i64>,
    /// `limits.disallow_bearer`.
    disallow_bearer: bool,
    /// Permissions of users whose JWT has none.
    default_perms: Option<Permissions>,
    /// Expiry (unix seconds, 0: never).
    expires: i64,
    /// The account's tags (for `{{account-tag(x)}}`).
    tags: Vec<String>,
    /// `limits.conn`, `limits.payload`, `limits.subs` (-1: no limit; an
    /// absent limit is 0, as nats-io/jwt decodes it).
    max_conns: i64,
    max_payload: i64,
    max_subs: i64,
    /// Exports: kind, subject, and whether an activation token is required.
    exports: Vec<(ExportKind, String, bool)>,
    /// Imports, in the shape of the config's `imports` (exporter-side
    /// `subject`, local `to` or stream `prefix`), with their activation
    /// token, before authorization.
    imports: Vec<(Import, Option<String>)>,
    /// The account's public key.
    key: String,
}

fn export_kind(v: Option<&Json>) -> Option<ExportKind> {
    match v.and_then(Json::as_str) {
        Some("stream") => Some(ExportKind::Stream),
        Some("service") => Some(ExportKind::Service),
        _ => None,
    }
}

/// An account JWT import as nats-server applies it: a stream's `to` is a
/// prefix and its `local_subject` a new name; a service's `local_subject`
/// (or else its `subject`) is what the importer publishes to, and its
/// `subject` (or else `to`) the exporter's subject. The activation token
/// comes along. `None` for malformed entries.
fn jwt_import(i: &Json) -> Option<(Import, Option<String>)> {
    let kind = export_kind(i.get("type"))?;
    let get = |k: &str| i.get(k).and_then(Json::as_str).filter(|s| !s.is_empty());
    let subject = get("subject")?.to_string();
    let account = get("account")?.to_string();
    let token = get("token").map(str::to_string);
    let local = get("local_subject").map(str::to_string);
    let to = get("to").map(str::to_string);
    let import = match kind {
        ExportKind::Stream => Import {
            kind,
            account,
            subject,
            to: local.clone(),
            prefix: if local.is_some() { None } else { to },
            share: false,
        },
        ExportKind::Service => match local {
            Some(l) => Import {
                kind,
                account,
                subject,
                to: Some(l),
                prefix: None,
                share: false,
            },
            None => Import {
                kind,
                account,
                subject: to.unwrap_or_else(|| subject.clone()),
                to: Some(subject),
                prefix: None,
                share: false,
            },
        },
    };
    Some((import, token))
}

/// True when every subject `import` matches is also matched by `export`.
fn subset(import: &str, export: &str) -> bool {
    let mut it = import.split('.');
    for e in export.split('.') {
        match (e, it.next()) {
            (">", Some(_)) => return true,
            (_, None) => return false,
            ("*", Some(i)) if i != ">" => {}
            (e, Some(i)) if e == i && i != "*" && i != ">" => {}
            _ => return false,
        }
    }
    it.next().is_none()
}

/// The trust chain of operator mode.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Trust {
    /// Operator keys that may sign accounts.
    keys: HashSet<String>,
    /// Known accounts by public key.
    accounts: HashMap<String, AccountJwt>,
    /// `resolver_pinned_accounts`, when set.
    pinned: Option<HashSet<String>>,
}

/// How the client reached the server, for `allowed_connection_types`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnType {
    /// Plain NATS over TCP (`STANDARD`).
    Standard,
    /// NATS over websocket (`WEBSOCKET`).
    Websocket,
}

/// A user the JWT let in.
#[derive(Debug, Clone, PartialEq)]
pub struct JwtUser {
    /// The user's public key.
    pub subject: String,
    /// The account's public key (the account's name in this server).
    pub account: String,
    /// The user's permissions (`None`: unrestricted).
    pub perms: Option<Permissions>,
    /// When the connection must be closed (user expiry), if ever.
    pub expires_in: Option<Duration>,
    /// Largest payload from the user and account limits (-1: none).
    pub max_payload: i64,
    /// Most subscriptions from the user and account limits (-1: none).
    pub max_subs: i64,
    /// Most connections of the account (-1: none).
    pub max_conns: i64,
}

/// No limit, in nats-io/jwt's encoding.
pub const NO_LIMIT: i64 = -1;

/// nats-server's `minLimit`: lowers `value` to `limit` (either may be
/// [`NO_LIMIT`]); true when it changed.
pub fn min_limit(value: &mut i64, limit: i64) -> bool {
    if limit == NO_LIMIT || (*value != NO_LIMIT && *value <= limit) {
        return false;
    }
    *value = limit;
    true
}

/// A numeric limit of a claim's `limits` (account) or of the claim itself
/// (user): absent is 0.
fn limit(nats: &Json, key: &str) -> i64 {
    limit_or(nats, key, 0)
}

/// [`limit`] with `absent` for a missing value.
fn limit_or(nats: &Json, key: &str, absent: i64) -> i64 {
    nats.get("limits")
        .unwrap_or(nats)
        .get(key)
        .and_then(Json::as_i64)
        .unwrap_or(absent)
}

fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// A string claim, or "" when absent.
fn s(v: Option<&Json>) -> String {
    v.and_then(Json::as_str).unwrap_or("").to_string()
}

fn strings(v: Option<&Json>) -> Vec<String> {
    match v {
        Some(Json::Array(a)) => a
            .iter()
            .filter_map(|s| s.as_str().map(str::to_string))
            .collect(),
        Some(Json::String(s)) => s
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    }
}

/// nats-server's `buildPermissionsFromJwt`: `pub`, `sub` and `resp` of a
/// user (or an account's `default_permissions`).
fn permissions(p: &Json) -> Option<Permissions> {
    let side = |k: &str| {
        let s = p.get(k)?;
        let allow = strings(s.get("allow"));
        let deny = strings(s.get("deny"));
        (!allow.is_empty() || !deny.is_empty()).then(|| SubjectPermission {
            allow: (!allow.is_empty()).then_some(allow),
            deny: (!deny.is_empty()).then_some(deny),
        })
    };
    let mut out = Permissions {
        publish: side("pub"),
        subscribe: side("sub"),
        response: None,
    };
    if let Some(r) = p.get("resp").filter(|r| r.is_object()) {
        let max = r.get("max").and_then(Json::as_i64).unwrap_or(0);
        let ttl = r.get("ttl").and_then(Json::as_i64).unwrap_or(0);
        let dflt = ResponsePermission::default();
        out.response = Some(ResponsePermission {
            max_msgs: if max == 0 { dflt.max_msgs } else { max },
            expires: if ttl == 0 {
                dflt.expires
            } else {
                Some(Duration::from_nanos(ttl.max(0) as u64))
            },
        });
        // A response permission turns off the blanket publish allow.
        let publish = out.publish.get_or_insert_with(SubjectPermission::default);
        if publish.allow.is_none() {
            publish.allow = Some(Vec::new());
        }
    }
    (out.publish.is_some() || out.subscribe.is_some() || out.response.is_some()).then_some(out)
}

/// True when the user claim sets no permission or limit of its own (what a
/// scoped signing key requires): every field of nats-io/jwt's
/// `UserPermissionLimits` at its zero value.
fn no_own_limits(nats: &Json) -> bool {
    let absent = |v: Option<&Json>| match v {
        None | Some(Json::Null) => true,
        Some(Json::String(s)) => s.is_empty(),
        Some(Json::Number(n)) => n.as_f64() == Some(0.0),
        Some(Json::Bool(b)) => !b,
        _ => false,
    };
    let side = |k: &str| match nats.get(k) {
        None | Some(Json::Null) => true,
        Some(s) => absent(s.get("allow")) && absent(s.get("deny")),
    };
    side("pub")
        && side("sub")
        && absent(nats.get("resp"))
        && [
            "src",
            "times",
            "times_location",
            "subs",
            "data",
            "payload",
            "bearer_token",
            "allowed_connection_types",
        ]
        .iter()
        .all(|k| absent(nats.get(*k)))
}

/// What a scope template's functions expand to.
struct TemplateVars<'a> {
    name: &'a str,
    subject: &'a str,
    account_name: &'a str,
    account_subject: &'a str,
    tags: Vec<String>,
    account_tags: Vec<String>,
}

/// nats-server's `processUserPermissionsTemplate` for one list: tokens
/// `{{name()}}`, `{{subject()}}`, `{{account-name()}}`,
/// `{{account-subject()}}`, `{{tag(x)}}` and `{{account-tag(x)}}` are
/// replaced (tags give one subject per matching value); subjects that come
/// out invalid are dropped, or fail the whole template when `strict`.
fn apply_template(list: Vec<String>, v: &TemplateVars, strict: bool) -> Result<Vec<String>, ()> {
    let is_fn = |tk: &str| tk.starts_with("{{") && tk.ends_with("}}");
    if !list.iter().any(|s| s.split('.').any(is_fn)) {
        return Ok(list);
    }
    let mut out = Vec::new();
    for subj in &list {
        let mut tokens: Vec<Option<String>> = Vec::new();
        let mut tag_values: Vec<Vec<String>> = Vec::new();
        for tk in subj.split('.') {
            if !is_fn(tk) {
                tokens.push(Some(tk.to_string()));
                continue;
            }
            let op = tk[2..tk.len() - 2].to_lowercase();
            let tag_fn = |prefix: &str| {
                op.strip_prefix(prefix)
                    .and_then(|r| r.strip_suffix(')'))
                    .map(|t| format!("{t}:"))
            };
            let filled = match op.as_str() {
                "name()" => Some(v.name.to_string()),
                "subject()" => Some(v.subject.to_string()),
                "account-name()" => Some(v.account_name.to_string()),
                "account-subject()" => Some(v.account_subject.to_string()),
                _ => {
                    let (tags, prefix) = match (tag_fn("account-tag("), tag_fn("tag(")) {
                        (Some(p), _) => (&v.account_tags, Some(p)),
                        (None, Some(p)) => (&v.tags, Some(p)),
                        _ => (&v.tags, None),
                    };
                    match prefix {
                        Some(p) => {
                            let values: Vec<String> = tags
                                .iter()
                                .filter_map(|t| t.strip_prefix(p.as_str()).map(str::to_string))
                                .collect();
                            if !values.is_empty() {
                                tag_values.push(values);
                            }
                            None
                        }
                        // An unknown function spoils the subject on purpose.
                        None => Some(" ".to_string()),
                    }
                }
            };
            tokens.push(filled);
        }
        // One subject per combination of tag values (the empty
        // combination when there are none).
        let mut combos: Vec<Vec<&String>> = vec![Vec::new()];
        for values in &tag_values {
            combos = combos
                .iter()
                .flat_map(|c| {
                    values.iter().map(move |x| {
                        let mut n = c.clone();
                        n.push(x);
                        n
                    })
                })
                .collect();
        }
        for combo in combos {
            let mut next = combo.into_iter();
            let parts: Vec<String> = tokens
                .iter()
                .map(|t| match t {
                    Some(s) => s.clone(),
                    None => next.next().cloned().unwrap_or_default(),
                })
                .collect();
            let s = parts.join(".");
            if sublist::is_valid_subject(s.as_bytes()) {
                out.push(s);
            } else if strict {
                return Err(());
            }
        }
    }
    Ok(out)
}

/// Applies a scope template: the permissions with their functions filled
/// in, and `deny >` where an allow list came out empty.
fn fill_perms(template: &Json, v: &TemplateVars) -> Option<Json> {
    let mut t = template.clone();
    for side in ["pub", "sub"] {
        let allow = strings(t.get(side).and_then(|s| s.get("allow")));
        let deny = strings(t.get(side).and_then(|s| s.get("deny")));
        let had_allow = !allow.is_empty();
        let allow = apply_template(allow, v, false).ok()?;
        let mut deny = apply_template(deny, v, true).ok()?;
        if had_allow && allow.is_empty() {
            deny.push(">".to_string());
        }
        if let Some(obj) = t.as_object_mut() {
            obj.insert(
                side.to_string(),
                serde_json::json!({"allow": allow, "deny": deny}),
            );
        }
    }
    Some(t)
}

/// Parses `a.b.c.d/n` or an IPv6 CIDR, and tells whether `ip` is inside.
fn cidr_contains(cidr: &str, ip: IpAddr) -> Option<bool> {
    let (net, bits) = cidr.trim().split_once('/')?;
    let net: IpAddr = net.parse().ok()?;
    let bits: u32 = bits.parse().ok()?;
    let ip = match (net, ip) {
        (IpAddr::V4(_), IpAddr::V6(v6)) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        _ => ip,
    };
    match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(a)) if bits <= 32 => {
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            Some(u32::from(n) & mask == u32::from(a) & mask)
        }
        (IpAddr::V6(n), IpAddr::V6(a)) if bits <= 128 => {
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits)
            };
            Some(u128::from(n) & mask == u128::from(a) & mask)
        }
        (_, _) if bits <= 128 => Some(false),
        _ => None,
    }
}

/// nats-server's `validateSrc`: no list allows every address; otherwise the
/// client's address must be in one of the CIDRs (a bad CIDR refuses).
fn src_allowed(src: &[String], host: IpAddr) -> bool {
    if src.is_empty() {
        return true;
    }
    let mut ok = false;
    for c in src {
        match cidr_contains(c, host) {
            Some(true) => ok = true,
            Some(false) => {}
            None => return false,
        }
    }
    ok
}

/// `times`: `[{start: "HH:MM:SS", end: "HH:MM:SS"}]` in local time. Returns
/// whether now is inside one of the ranges, and for how long.
fn times_allowed(times: &Json, location: &str) -> Result<Option<Duration>, String> {
    let Some(ranges) = times.as_array().filter(|a| !a.is_empty()) else {
        return Ok(None);
    };
    if !location.is_empty() && location != "Local" && location != "UTC" {
        return Err(format!("times_location {location:?} is not supported"));
    }
    use chrono::Timelike;
    let secs = if location == "UTC" {
        chrono::Utc::now().num_seconds_from_midnight()
    } else {
        chrono::Local::now().num_seconds_from_midnight()
    } as i64;
    let parse = |v: Option<&Json>| -> Option<i64> {
        let s = v?.as_str()?;
        let t = chrono::NaiveTime::parse_from_str(s, "%H:%M:%S").ok()?;
        Some(t.num_seconds_from_midnight() as i64)
    };
    for r in ranges {
        let (Some(start), Some(end)) = (parse(r.get("start")), parse(r.get("end"))) else {
            return Err("bad time range".into());
        };
        let left = if start <= end {
            (start <= secs && secs < end).then(|| end - secs)
        } else if secs >= start {
            Some(86_400 - secs + end)
        } else {
            (secs < end).then(|| end - secs)
        };
        if let Some(left) = left {
            return Ok(Some(Duration::from_secs(left as u64)));
        }
    }
    Err("Outside connect times".into())
}

impl AccountJwt {
    fn from_claims(p: &Json, strict: bool) -> AccountJwt {
        let nats = p.get("nats").cloned().unwrap_or(Json::Null);
        let sub = s(p.get("sub"));
        let mut signers = HashMap::new();
        if let Some(keys) = nats.get("signing_keys").and_then(Json::as_array) {
            for k in keys {
                match k {
                    Json::String(s) => {
                        signers.insert(s.clone(), None);
                    }
                    Json::Object(o) => {
                        if let Some(key) = o.get("key").and_then(Json::as_str) {
                            let template = o.get("template").cloned().unwrap_or(Json::Null);
                            signers.insert(key.to_string(), Some(Scope { template }));
                        }
                    }
                    _ => {}
                }
            }
        }
        if !strict {
            signers.insert(sub, None);
        }
        let revoked = nats
            .get("revocations")
            .and_then(Json::as_object)
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| v.as_i64().map(|t| (k.clone(), t)))
                    .collect()
            })
            .unwrap_or_default();
        AccountJwt {
            issuer: s(p.get("iss")),
            name: s(p.get("name")),
            signers,
            revoked,
            disallow_bearer: nats
                .get("limits")
                .and_then(|l| l.get("disallow_bearer"))
                .and_then(Json::as_bool)
                .unwrap_or(false),
            default_perms: nats.get("default_permissions").and_then(permissions),
            expires: p.get("exp").and_then(Json::as_i64).unwrap_or(0),
            tags: strings(nats.get("tags")),
            max_conns: limit(&nats, "conn"),
            max_payload: limit(&nats, "payload"),
            max_subs: limit(&nats, "subs"),
            exports: nats
                .get("exports")
                .and_then(Json::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|e| {
                            let kind = export_kind(e.get("type"))?;
                            let subject = e.get("subject")?.as_str()?.to_string();
                            let token = e.get("token_req").and_then(Json::as_bool);
                            Some((kind, subject, token.unwrap_or(false)))
                        })
                        .collect()
                })
                .unwrap_or_default(),
            key: s(p.get("sub")),
            imports: nats
                .get("imports")
                .and_then(Json::as_array)
                .map(|a| a.iter().filter_map(jwt_import).collect())
                .unwrap_or_default(),
        }
    }

    /// nats-io/jwt's validation of the activation tokens in this account's
    /// imports (part of validating the account JWT): each must decode, be
    /// issued by (or for) the account imported from, to this account, for
    /// the import's kind and a subject containing the import's.
    fn import_tokens_valid(&self) -> Result<(), String> {
        for (i, token) in &self.imports {
            let Some(t) = token else { continue };
            let Ok(c) = decode_jwt(t) else {
                return Err(format!(
                    "import {:?} contains an invalid activation token",
                    i.subject
                ));
            };
            let p = &c.payload;
            let nats = p.get("nats").cloned().unwrap_or(Json::Null);
            if s(p.get("iss")) != i.account && s(nats.get("issuer_account")) != i.account {
                return Err(format!(
                    "activation token doesn't match account for import {:?}",
                    i.subject
                ));
            }
            if s(p.get("sub")) != self.key {
                return Err(format!(
                    "activation token doesn't match account it is being included in, {:?}",
                    i.subject
                ));
            }
            if export_kind(nats.get("kind")) != Some(i.kind) {
                return Err(format!(
                    "mismatch between token import type and type of import {:?}",
                    i.subject
                ));
            }
            if !subset(&i.subject, &s(nats.get("subject"))) {
                return Err(format!(
                    "activation token import subject doesn't match import {:?}",
                    i.subject
                ));
            }
        }
        Ok(())
    }

    /// nats-server's activation check: `token` is an activation JWT this
    /// (exporting) account issued, directly or through one of its signing
    /// keys, to account `importer` for `import`'s kind and a subject that
    /// contains the import's, and it is in force.
    fn activates(&self, token: &str, import: &Import, importer: &str) -> bool {
        let Ok(c) = decode_jwt(token) else {
            return false;
        };
        let p = &c.payload;
        let nats = p.get("nats").cloned().unwrap_or(Json::Null);
        let (iss, issuer_account) = (s(p.get("iss")), s(nats.get("issuer_account")));
        let trusted = if issuer_account.is_empty() {
            iss == self.key
        } else {
            issuer_account == self.key && self.signers.contains_key(&iss)
        };
        let now = now_unix();
        let exp = p.get("exp").and_then(Json::as_i64).unwrap_or(0);
        let nbf = p.get("nbf").and_then(Json::as_i64).unwrap_or(0);
        c.kind == "activation"
            && trusted
            && s(p.get("sub")) == importer
            && export_kind(nats.get("kind")) == Some(import.kind)
            && subset(&import.subject, &s(nats.get("subject")))
            && (exp == 0 || exp >= now)
            && nbf <= now
    }

    /// nats-server's `isRevoked`.
    fn revoked(&self, user: &str, issued_at: i64) -> bool {
        let hit = |k: &str| self.revoked.get(k).is_some_and(|t| *t >= issued_at);
        hit(user) || hit("*")
    }
}

impl Trust {
    /// The trust chain of `o`, or `None` when the server is not in operator
    /// mode. Account JWTs that do not decode are logged and left out.
    pub fn from_options(o: &Options) -> Option<Trust> {
        if o.operators.is_empty() && o.trusted_keys.is_empty() {
            return None;
        }
        let mut keys: HashSet<String> = o.trusted_keys.iter().cloned().collect();
        let mut strict_keys = HashSet::new();
        for op in &o.operators {
            keys.insert(op.subject.clone());
            keys.extend(op.signing_keys.iter().cloned());
            if op.strict_signing_key_usage {
                strict_keys.extend(op.signing_keys.iter().cloned());
            }
        }
        let mut jwts: Vec<(String, String)> = o.resolver_preload.clone();
        match &o.resolver {
            Some(ResolverOpts::Url(url)) => crate::warn!(
                "Account resolver URL {url} is not queried: only preloaded accounts can connect"
            ),
            Some(ResolverOpts::Full { dir, .. } | ResolverOpts::Cache { dir, .. }) => crate::warn!(
                "Account JWTs are read from {dir} at start and reload only; the system account protocol to update them is not served"
            ),
            _ => {}
        }
        if let Some(ResolverOpts::Full { dir, .. } | ResolverOpts::Cache { dir, .. }) = &o.resolver
        {
            if let Ok(rd) = std::fs::read_dir(dir) {
                for e in rd.flatten() {
                    let name = e.file_name().to_string_lossy().into_owned();
                    if let Some(key) = name.strip_suffix(".jwt") {
                        if let Ok(text) = std::fs::read_to_string(e.path()) {
                            jwts.push((key.to_string(), text.trim().to_string()));
                        }
                    }
                }
            }
        }
        let mut accounts = HashMap::new();
        for (key, jwt) in jwts {
            match decode_jwt(&jwt) {
                Ok(c) if c.kind == "account" => {
                    let sub = c.payload.get("sub").and_then(Json::as_str).unwrap_or("");
                    if sub != key {
                        crate::warn!("Account JWT for {key} has subject {sub:?}: ignored");
                        continue;
                    }
                    let iss = c.payload.get("iss").and_then(Json::as_str).unwrap_or("");
                    let acc = AccountJwt::from_claims(&c.payload, strict_keys.contains(iss));
                    if let Err(e) = acc.import_tokens_valid() {
                        crate::warn!("Account JWT for {key} not valid: {e}");
                        continue;
                    }
                    accounts.insert(key, acc);
                }
                Ok(_) => crate::warn!("Account JWT for {key} is not an account claim: ignored"),
                Err(e) => crate::warn!("Account JWT for {key} not valid: {e}"),
            }
        }
        let pinned = (!o.resolver_pinned_accounts.is_empty())
            .then(|| o.resolver_pinned_accounts.iter().cloned().collect());
        Some(Trust {
            keys,
            accounts,
            pinned,
        })
    }

    /// Public keys of the accounts this server knows.
    pub fn account_keys(&self) -> impl Iterator<Item = &String> {
        self.accounts.keys()
    }

    /// The claim name of account `key`, if known.
    pub fn account_name(&self, key: &str) -> Option<&str> {
        self.accounts.get(key).map(|a| a.name.as_str())
    }

    /// The imports of account `key` that its exporters allow: a public
    /// export of the same kind covering the subject in the exporter.
    pub fn imports(&self, key: &str) -> Vec<Import> {
        let Some(acc) = self.accounts.get(key) else {
            return Vec::new();
        };
        acc.imports
            .iter()
            .filter(|(i, token)| {
                let Some(exporter) = self.accounts.get(&i.account) else {
                    crate::error!(
                        "Can't locate account [{}] for import of [{}] {:?}",
                        i.account,
                        i.subject,
                        i.kind
                    );
                    return false;
                };
                let activated = || {
                    token
                        .as_deref()
                        .is_some_and(|t| exporter.activates(t, i, &acc.key))
                };
                let ok = exporter.exports.iter().any(|(kind, subject, token_req)| {
                    *kind == i.kind && subset(&i.subject, subject) && (!token_req || activated())
                });
                if !ok {
                    crate::debug!(
                        "Import of [{}] from {} not authorized by its exports",
                        i.subject,
                        i.account
                    );
                }
                ok
            })
            .map(|(i, _)| i.clone())
            .collect()
    }

    /// The connection limit of account `key` (`None`: not a JWT account).
    pub fn max_conns(&self, key: &str) -> Option<i64> {
        self.accounts.get(key).map(|a| a.max_conns)
    }

    /// nats-server's JWT path of client authentication. `Err` holds the
    /// reason (logged at debug level, as nats-server does).
    pub fn authenticate(
        &self,
        jwt: &str,
        sig: Option<&str>,
        nonce: &str,
        kind: ConnType,
        host: IpAddr,
    ) -> Result<JwtUser, String> {
        if jwt.is_empty() {
            return Err("Authentication requires a user JWT".into());
        }
        let claims = decode_jwt(jwt).map_err(|e| format!("User JWT not valid: {e}"))?;
        if claims.kind != "user" {
            return Err("User JWT not valid: not user claim".into());
        }
        let p = &claims.payload;
        let now = now_unix();
        let exp = p.get("exp").and_then(Json::as_i64).unwrap_or(0);
        if exp > 0 && exp < now {
            return Err("User JWT no longer valid: claim is expired".into());
        }
        if p.get("nbf").and_then(Json::as_i64).is_some_and(|n| n > now) {
            return Err("User JWT no longer valid: claim is not yet valid".into());
        }
        let nats = p.get("nats").cloned().unwrap_or(Json::Null);
        let types = strings(nats.get("allowed_connection_types"));
        if !types.is_empty() {
            let known: Vec<&String> = types
                .iter()
                .filter(|t| {
                    matches!(
                        t.as_str(),
                        "STANDARD" | "WEBSOCKET" | "LEAFNODE" | "LEAFNODE_WS" | "MQTT" | "MQTT_WS"
                    )
                })
                .collect();
            if known.is_empty() {
                return Err("unknown connection types".into());
            }
            let mine = match kind {
                ConnType::Standard => "STANDARD",
                ConnType::Websocket => "WEBSOCKET",
            };
            if !known.iter().any(|t| *t == mine) {
                return Err("Connection type not allowed".into());
            }
        }
        let subject = s(p.get("sub"));
        let user_issuer = s(p.get("iss"));
        let issuer = nats
            .get("issuer_account")
            .and_then(Json::as_str)
            .filter(|s| !s.is_empty())
            .unwrap_or(&user_issuer)
            .to_string();
        if let Some(pinned) = &self.pinned {
            if !pinned.contains(&issuer) {
                return Err(format!(
                    "Account {issuer} not listed as operator pinned account"
                ));
            }
        }
        let acc = self
            .accounts
            .get(&issuer)
            .ok_or_else(|| "Account JWT lookup error: account not found".to_string())?;
        if !self.keys.contains(&acc.issuer) {
            return Err("Account JWT not signed by trusted operator".into());
        }
        let mut perms_src = nats.clone();
        // The user's limits; a scoped key's template has its own (absent
        // there means no limit).
        let (mut max_payload, mut max_subs) = if claims.version <= 1 {
            // nats-io/jwt migrates a v1 user with no limit for what it omits.
            (
                limit_or(&nats, "payload", NO_LIMIT),
                limit_or(&nats, "subs", NO_LIMIT),
            )
        } else {
            (limit(&nats, "payload"), limit(&nats, "subs"))
        };
        match acc.signers.get(&user_issuer) {
            None => return Err("User JWT issuer is not known".into()),
            Some(Some(scope)) => {
                if !no_own_limits(&nats) {
                    return Err(
                        "User JWT is not valid: scoped users require no permissions or limits set"
                            .into(),
                    );
                }
                let vars = TemplateVars {
                    name: p.get("name").and_then(Json::as_str).unwrap_or(""),
                    subject: &subject,
                    account_name: &acc.name,
                    account_subject: nats
                        .get("issuer_account")
                        .and_then(Json::as_str)
                        .unwrap_or(""),
                    tags: strings(nats.get("tags")),
                    account_tags: acc.tags.clone(),
                };
                perms_src = fill_perms(&scope.template, &vars)
                    .ok_or("User JWT generated invalid permissions")?;
                let scoped = |k: &str| {
                    scope
                        .template
                        .get(k)
                        .and_then(Json::as_i64)
                        .unwrap_or(NO_LIMIT)
                };
                (max_payload, max_subs) = (scoped("payload"), scoped("subs"));
            }
            Some(None) => {}
        }
        if acc.expires > 0 && acc.expires <= now {
            return Err("Account JWT has expired".into());
        }
        let bearer = nats
            .get("bearer_token")
            .and_then(Json::as_bool)
            .unwrap_or(false);
        if bearer && acc.disallow_bearer {
            return Err("Account does not allow bearer token".into());
        }
        if !bearer {
            let Some(sig) = sig.filter(|s| !s.is_empty()) else {
                return Err("Signature missing".into());
            };
            if !crate::auth::verify_nonce(&subject, nonce, sig) {
                return Err("Signature not verified".into());
            }
        }
        let iat = p.get("iat").and_then(Json::as_i64).unwrap_or(0);
        if acc.revoked(&subject, iat) {
            return Err("User authentication revoked".into());
        }
        if !src_allowed(&strings(perms_src.get("src")), host) {
            return Err(format!("Bad src Ip {host}"));
        }
        let location = perms_src
            .get("times_location")
            .and_then(Json::as_str)
            .unwrap_or("");
        let valid_for = match perms_src.get("times") {
            Some(t) => times_allowed(t, location)?,
            None => None,
        };
        let until_exp = (exp > 0).then(|| Duration::from_secs((exp - now).max(0) as u64));
        let expires_in = match (until_exp, valid_for) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let perms = permissions(&perms_src).or_else(|| acc.default_perms.clone());
        min_limit(&mut max_payload, acc.max_payload);
        min_limit(&mut max_subs, acc.max_subs);
        Ok(JwtUser {
            subject,
            account: issuer,
            perms,
            expires_in,
            max_payload,
            max_subs,
            max_conns: acc.max_conns,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_subsets() {
        assert!(subset("a.b", "a.>"));
        assert!(subset("a.*", "a.*"));
        assert!(subset("a.b", "a.*"));
        assert!(!subset("a.*", "a.b"));
        assert!(!subset("a.>", "a.*"));
        assert!(subset("a.b.c", "a.>"));
        assert!(!subset("a", "a.>"));
        assert!(!subset("a.b.c", "a.*"));
        assert!(subset("x", "x"));
    }

    #[test]
    fn limits() {
        let mut v = NO_LIMIT;
        assert!(min_limit(&mut v, 10));
        assert_eq!(v, 10);
        assert!(!min_limit(&mut v, NO_LIMIT));
        assert!(!min_limit(&mut v, 20));
        assert!(min_limit(&mut v, 0));
        assert_eq!(v, 0);
        let acc = serde_json::json!({"limits": {"conn": 2}});
        assert_eq!(limit(&acc, "conn"), 2);
        assert_eq!(limit(&acc, "subs"), 0);
        let user = serde_json::json!({"subs": -1});
        assert_eq!(limit(&user, "subs"), NO_LIMIT);
    }

    #[test]
    fn cidr() {
        let ip: IpAddr = "10.1.2.3".parse().unwrap();
        assert_eq!(cidr_contains("10.0.0.0/8", ip), Some(true));
        assert_eq!(cidr_contains("10.2.0.0/16", ip), Some(false));
        assert_eq!(cidr_contains("0.0.0.0/0", ip), Some(true));
        assert_eq!(cidr_contains("::1/128", "::1".parse().unwrap()), Some(true));
        assert_eq!(cidr_contains("bogus", ip), None);
        assert!(src_allowed(&[], ip));
        assert!(!src_allowed(&["192.168.0.0/16".into()], ip));
        assert!(!src_allowed(&["10.0.0.0/8".into(), "x/1".into()], ip));
    }

    #[test]
    fn templates() {
        let v = TemplateVars {
            name: "bob",
            subject: "UABC",
            account_name: "A",
            account_subject: "AKEY",
            tags: vec!["dept:eng".into(), "dept:ops".into(), "x:y".into()],
            account_tags: vec![],
        };
        let t = |l: &[&str], strict| {
            apply_template(l.iter().map(|s| s.to_string()).collect(), &v, strict)
        };
        assert_eq!(
            t(&["a.{{name()}}.{{Subject()}}", "{{account-name()}}"], false).unwrap(),
            vec!["a.bob.UABC", "A"]
        );
        assert_eq!(
            t(&["d.{{tag(dept)}}"], false).unwrap(),
            vec!["d.eng", "d.ops"]
        );
        // Unknown functions and spaces give invalid subjects: dropped from
        // allow lists, fatal in deny lists.
        assert_eq!(t(&["a.{{ name() }}", "b"], false).unwrap(), vec!["b"]);
        assert!(t(&["a.{{nope()}}"], true).is_err());
        assert_eq!(t(&["plain"], true).unwrap(), vec!["plain"]);
        let tpl = serde_json::json!({"pub": {"allow": ["{{bad()}}"]}});
        let f = fill_perms(&tpl, &v).unwrap();
        assert_eq!(f["pub"]["deny"], serde_json::json!([">"]));
    }

    #[test]
    fn jwt_permissions() {
        let p: Json = serde_json::json!({"pub": {"allow": ["a.>"]}, "sub": {"deny": ["b"]}});
        let perms = permissions(&p).unwrap();
        assert_eq!(perms.publish.unwrap().allow.unwrap(), vec!["a.>"]);
        assert_eq!(perms.subscribe.unwrap().deny.unwrap(), vec!["b"]);
        assert!(permissions(&serde_json::json!({"pub": {}, "sub": {}})).is_none());
        let r = permissions(&serde_json::json!({"resp": {"max": 0, "ttl": 0}})).unwrap();
        assert_eq!(r.response, Some(ResponsePermission::default()));
        assert_eq!(r.publish.unwrap().allow, Some(Vec::new()));
    }
}
