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
//!
//! `claims` reads what a claim says (limits, permissions, scope
//! templates, source networks and connect times) with nats-io/jwt's
//! defaults.

use crate::config::operator::decode_jwt;
use crate::config::options::Options;
use crate::config::types::ResolverOpts;
use crate::config::types::{ExportKind, Import, Permissions};
use serde_json::Value as Json;
use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::time::Duration;

mod claims;
use claims::*;

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
    /// `limits.leaf`: leafnode connections of the account.
    max_leafs: i64,
    /// The JetStream limits, when the claim enables JetStream.
    jetstream: Option<crate::config::types::JsAccountLimits>,
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
    /// Signing keys of operators with `strict_signing_key_usage`.
    strict: HashSet<String>,
}

/// How the client reached the server, for `allowed_connection_types`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnType {
    /// Plain NATS over TCP (`STANDARD`).
    Standard,
    /// NATS over websocket (`WEBSOCKET`).
    Websocket,
    /// A leafnode connection (`LEAFNODE`).
    Leafnode,
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
    /// When the user JWT was issued (for revocations pushed later).
    pub issued_at: i64,
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
            max_leafs: limit(&nats, "leaf"),
            jetstream: claims::jetstream_limits(&nats),
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
        if let Some(ResolverOpts::Url(url)) = &o.resolver {
            crate::warn!(
                "Account resolver URL {url} is not queried: only preloaded accounts can connect"
            );
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
            strict: strict_keys,
        })
    }

    /// This trust with account JWT `jwt` added (or replacing the one of its
    /// subject): it must be an account claim, signed, and issued by a
    /// trusted operator key. Returns the new trust and the account's key.
    pub fn with_account(&self, jwt: &str) -> Result<(Trust, String), String> {
        let c = decode_jwt(jwt)?;
        if c.kind != "account" {
            return Err("not account claim".into());
        }
        let key = s(c.payload.get("sub"));
        let iss = s(c.payload.get("iss"));
        if !self.keys.contains(&iss) {
            return Err(format!("issuer {iss} is not trusted"));
        }
        let exp = c.payload.get("exp").and_then(Json::as_i64).unwrap_or(0);
        if exp > 0 && exp < now_unix() {
            return Err("claim is expired".into());
        }
        let acc = AccountJwt::from_claims(&c.payload, self.strict.contains(&iss));
        acc.import_tokens_valid()?;
        let mut t = self.clone();
        t.accounts.insert(key.clone(), acc);
        Ok((t, key))
    }

    /// Forgets account `key` (deleted from the resolver).
    pub fn remove_account(&mut self, key: &str) {
        self.accounts.remove(key);
    }

    /// True when `key` is an operator's own key (not a signing key) of a
    /// strict operator: it may not sign accounts.
    pub fn strict_operator(&self, key: &str) -> bool {
        !self.strict.is_empty() && self.keys.contains(key) && !self.strict.contains(key)
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

    /// The JetStream limits account `key`'s JWT gives it (`None`: no JWT,
    /// or JetStream not enabled by it).
    pub fn jetstream(&self, key: &str) -> Option<crate::config::types::JsAccountLimits> {
        self.accounts.get(key).and_then(|a| a.jetstream.clone())
    }

    /// The account's JWT limit on leafnode connections (`None`: no JWT).
    pub fn max_leafs(&self, key: &str) -> Option<i64> {
        self.accounts.get(key).map(|a| a.max_leafs)
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
                ConnType::Leafnode => "LEAFNODE",
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
            issued_at: iat,
        })
    }

    /// True when account `account` revokes user `user` issued at `iat`.
    pub fn is_revoked(&self, account: &str, user: &str, iat: i64) -> bool {
        self.accounts
            .get(account)
            .is_some_and(|a| a.revoked(user, iat))
    }
}

#[cfg(test)]
mod tests;

/// A JWT's id and issue time (`jti`, `iat`), when it decodes.
pub fn issued(token: &str) -> Option<(String, i64)> {
    let c = decode_jwt(token).ok()?;
    Some((
        s(c.payload.get("jti")),
        c.payload.get("iat").and_then(Json::as_i64).unwrap_or(0),
    ))
}

/// A resolver delete request: a JWT the operator signed about itself
/// (subject and issuer the same trusted operator key) listing `accounts`.
/// Returns who asked and the account keys, or who asked and why not.
pub fn delete_request(
    trust: &Trust,
    token: &str,
) -> Result<(String, Vec<String>), (String, String)> {
    let c = decode_jwt(token).map_err(|e| (String::new(), e))?;
    let (sub, iss) = (s(c.payload.get("sub")), s(c.payload.get("iss")));
    if sub != iss {
        return Err((sub, "not self signed".into()));
    }
    if !trust.keys.contains(&iss) {
        return Err((sub, "not trusted".into()));
    }
    let list = c
        .payload
        .get("nats")
        .and_then(|n| n.get("accounts"))
        .or_else(|| c.payload.get("data").and_then(|d| d.get("accounts")))
        .and_then(Json::as_array)
        .ok_or_else(|| (sub.clone(), "malformed request".to_string()))?;
    let mut keys = Vec::new();
    for v in list {
        match v.as_str() {
            Some(k) if nkeys::KeyPair::from_public_key(k).is_ok() && k.starts_with('A') => {
                keys.push(k.to_string())
            }
            _ => return Err((sub, "malformed request".into())),
        }
    }
    Ok((sub, keys))
}
