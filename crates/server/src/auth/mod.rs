//! Client authentication: token, user/password (plain or bcrypt), and nkey
//! users (the client signs the nonce sent in INFO).
//!
//! Layer: auth and transport. Owns credentials checks (here), operator-mode JWTs (`jwt`),
//! permissions (`perms`) and certificate names (`certmap`); may use the foundation
//! (`config`, `log`, `util`) only, and keeps no connection state.

pub mod certmap;
pub mod jwt;
pub mod perms;

use crate::config::options::Options;
use crate::config::types::Permissions;
use proto::ConnectOptions;

/// Compares a configured secret with what the client sent. Secrets that
/// look like bcrypt hashes are verified as such.
pub fn secret_matches(configured: &str, given: &str) -> bool {
    if configured.starts_with("$2") {
        bcrypt::verify(given, configured).unwrap_or(false)
    } else {
        constant_time_eq(configured.as_bytes(), given.as_bytes())
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A fresh nonce for INFO: 11 random bytes, base64url without padding
/// (15 characters), as nats-server makes them.
pub fn nonce() -> String {
    use base64::Engine;
    let mut raw = [0u8; 11];
    if getrandom::fill(&mut raw).is_err() {
        // No OS randomness: still unique per connection, never empty.
        for b in raw.iter_mut() {
            *b = fastrand::u8(..);
        }
    }
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
}

/// Verifies that `sig` (base64url or standard base64) is `nkey`'s
/// signature of `nonce`.
pub fn verify_nonce(nkey: &str, nonce: &str, sig: &str) -> bool {
    use base64::Engine;
    let engines = [
        base64::engine::general_purpose::URL_SAFE_NO_PAD,
        base64::engine::general_purpose::STANDARD,
        base64::engine::general_purpose::URL_SAFE,
    ];
    let Some(sig) = engines.iter().find_map(|e| e.decode(sig).ok()) else {
        return false;
    };
    let Ok(kp) = nkeys::KeyPair::from_public_key(nkey) else {
        return false;
    };
    kp.verify(nonce.as_bytes(), &sig).is_ok()
}

/// True when the client's CONNECT satisfies the server's auth settings.
/// `nonce` is the one this client was sent in INFO.
pub fn check(opts: &Options, c: &ConnectOptions, nonce: &str) -> bool {
    authenticate(opts, c, nonce).is_some()
}

/// Who a client proved to be: the permissions and account of its user.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Identity {
    /// Permissions (`None`: unrestricted).
    pub perms: Option<Permissions>,
    /// Account name (`None`: the global account).
    pub account: Option<String>,
    /// The user a TLS certificate mapped to (`verify_and_map`).
    pub mapped_user: Option<String>,
}

/// Authenticates a CONNECT: `None` when refused, otherwise who the client is.
pub fn authenticate(opts: &Options, c: &ConnectOptions, nonce: &str) -> Option<Identity> {
    authenticate_cert(opts, c, nonce, None)
}

/// As [`authenticate`], for a client that presented a TLS certificate:
/// with `verify_and_map` its names pick the user.
pub fn authenticate_cert(
    opts: &Options,
    c: &ConnectOptions,
    nonce: &str,
    cert: Option<&crate::auth::certmap::CertNames>,
) -> Option<Identity> {
    let tls_map = opts.tls.as_ref().is_some_and(|t| t.map);
    let nkey_given = !opts.nkeys.is_empty() && c.nkey.as_deref().is_some_and(|k| !k.is_empty());
    if tls_map && opts.auth_required() && !opts.users.is_empty() && !nkey_given {
        let names: Vec<String> = opts.users.iter().map(|u| u.username.clone()).collect();
        let user = cert?.find_user(&names)?.to_string();
        if c.user.as_deref().is_some_and(|u| !u.is_empty()) {
            crate::warn!(
                "User {:?} found in connect proto, but user required from cert",
                c.user.as_deref().unwrap_or_default()
            );
        }
        let entry = opts.auth_users.iter().find(|u| u.username == user);
        return Some(Identity {
            perms: entry.and_then(|u| u.permissions.clone()),
            account: entry.and_then(|u| u.account.clone()),
            mapped_user: Some(user),
        });
    }
    authenticate_perms(opts, c, nonce).map(|(perms, account)| Identity {
        perms,
        account,
        mapped_user: None,
    })
}

type Verdict = Option<(Option<Permissions>, Option<String>)>;

fn authenticate_perms(opts: &Options, c: &ConnectOptions, nonce: &str) -> Verdict {
    // Without configured auth, whatever credentials a client sends are ignored.
    if !opts.auth_required() {
        return Some((None, None));
    }
    let no_credentials = c.user.as_deref().unwrap_or("").is_empty()
        && c.pass.as_deref().unwrap_or("").is_empty()
        && c.auth_token.as_deref().unwrap_or("").is_empty()
        && c.nkey.as_deref().unwrap_or("").is_empty()
        && c.jwt.as_deref().unwrap_or("").is_empty();
    if no_credentials {
        if let Some(id) = no_auth_user(opts) {
            return Some((id.perms, id.account));
        }
    }
    if !opts.nkeys.is_empty() {
        if let Some(nkey) = c.nkey.as_deref().filter(|k| !k.is_empty()) {
            let user = opts.nkeys.iter().find(|u| u.nkey == nkey)?;
            let ok = !nonce.is_empty()
                && c.sig
                    .as_deref()
                    .is_some_and(|sig| verify_nonce(nkey, nonce, sig));
            return ok.then(|| (user.permissions.clone(), user.account.clone()));
        }
    }
    if let Some(token) = &opts.token {
        let ok = c
            .auth_token
            .as_deref()
            .is_some_and(|t| secret_matches(token, t));
        return ok.then_some((None, None));
    }
    if let Some(user) = c.user.as_deref() {
        let pass = c.pass.as_deref().unwrap_or("");
        if !opts
            .users
            .iter()
            .any(|u| u.username == user && secret_matches(&u.password, pass))
        {
            return None;
        }
        let entry = opts.auth_users.iter().find(|u| u.username == user);
        return Some((
            entry.and_then(|u| u.permissions.clone()),
            entry.and_then(|u| u.account.clone()),
        ));
    }
    // Auth is configured and nothing the client sent matched it.
    None
}

/// The identity a client without credentials gets when `no_auth_user`
/// names a configured user; `None` otherwise.
pub fn no_auth_user(opts: &Options) -> Option<Identity> {
    let name = opts.no_auth_user.as_deref().filter(|n| !n.is_empty())?;
    if !opts.users.iter().any(|u| u.username == name) {
        return None;
    }
    let entry = opts.auth_users.iter().find(|u| u.username == name);
    Some(Identity {
        perms: entry.and_then(|u| u.permissions.clone()),
        account: entry.and_then(|u| u.account.clone()),
        mapped_user: None,
    })
}

/// The options as seen by a websocket client: a `websocket { authorization }`
/// block (user/password or token, timeout) and `websocket.no_auth_user`
/// replace the server-wide ones.
pub fn for_websocket(opts: &Options) -> Options {
    let mut o = opts.clone();
    let w = &opts.websocket;
    if w.username.is_some() || w.token.is_some() {
        o.token = w.token.clone();
        o.users = match &w.username {
            Some(u) => vec![crate::config::options::User {
                username: u.clone(),
                password: w.password.clone().unwrap_or_default(),
            }],
            None => Vec::new(),
        };
        o.nkeys.clear();
    }
    if w.auth_timeout > 0.0 {
        o.auth_timeout = std::time::Duration::from_secs_f64(w.auth_timeout);
    }
    if let Some(u) = &w.no_auth_user {
        o.no_auth_user = Some(u.clone());
    }
    o
}

/// Hides secrets in a CONNECT JSON for logs and traces.
pub fn redact(json: &str) -> String {
    let mut v: serde_json::Value = match serde_json::from_str(json) {
        Ok(v) => v,
        Err(_) => return "[unparseable CONNECT]".into(),
    };
    if let Some(obj) = v.as_object_mut() {
        for key in ["pass", "auth_token", "sig", "jwt"] {
            if obj.contains_key(key) {
                obj.insert(key.into(), "[REDACTED]".into());
            }
        }
    }
    v.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::options::User;

    #[test]
    fn token_and_users() {
        let mut o = Options {
            token: Some("s3cr3t".into()),
            ..Default::default()
        };
        let mut c = ConnectOptions::default();
        assert!(!check(&o, &c, ""));
        c.auth_token = Some("s3cr3t".into());
        assert!(check(&o, &c, ""));
        o.token = None;
        o.users = vec![User {
            username: "a".into(),
            password: bcrypt::hash("pw", 4).unwrap(),
        }];
        c.user = Some("a".into());
        c.pass = Some("pw".into());
        assert!(check(&o, &c, ""));
        c.pass = Some("nope".into());
        assert!(!check(&o, &c, ""));
        assert!(!redact(r#"{"user":"a","pass":"pw"}"#).contains("pw"));
    }

    #[test]
    fn credentials_ignored_without_auth() {
        let o = Options::default();
        let c = ConnectOptions {
            user: Some("js".into()),
            pass: Some("js".into()),
            auth_token: Some("t".into()),
            ..Default::default()
        };
        assert!(check(&o, &c, ""));
    }

    #[test]
    fn nkey_signatures() {
        use base64::Engine;
        let kp = nkeys::KeyPair::new_user();
        let mut o = Options::default();
        o.nkeys.push(crate::config::types::NkeyUser {
            nkey: kp.public_key(),
            ..Default::default()
        });
        let n = nonce();
        assert_eq!(n.len(), 15);
        let sig = kp.sign(n.as_bytes()).unwrap();
        let mut c = ConnectOptions {
            nkey: Some(kp.public_key()),
            sig: Some(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&sig)),
            ..Default::default()
        };
        assert!(check(&o, &c, &n));
        assert!(!check(&o, &c, &nonce()), "another nonce");
        c.sig = Some(base64::engine::general_purpose::STANDARD.encode(&sig));
        assert!(check(&o, &c, &n), "standard base64 accepted too");
        let other = nkeys::KeyPair::new_user();
        c.nkey = Some(other.public_key());
        c.sig = Some(
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(other.sign(n.as_bytes()).unwrap()),
        );
        assert!(!check(&o, &c, &n), "unknown nkey");
    }
}
