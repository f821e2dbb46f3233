//! Client authentication: token and user/password (plain or bcrypt).

use crate::options::Options;
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

/// True when the client's CONNECT satisfies the server's auth settings.
pub fn check(opts: &Options, c: &ConnectOptions) -> bool {
    if let Some(token) = &opts.token {
        return c
            .auth_token
            .as_deref()
            .is_some_and(|t| secret_matches(token, t));
    }
    if !opts.users.is_empty() {
        let (Some(user), pass) = (c.user.as_deref(), c.pass.as_deref().unwrap_or("")) else {
            return false;
        };
        return opts
            .users
            .iter()
            .any(|u| u.username == user && secret_matches(&u.password, pass));
    }
    true
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
    use crate::options::User;

    #[test]
    fn token_and_users() {
        let mut o = Options {
            token: Some("s3cr3t".into()),
            ..Default::default()
        };
        let mut c = ConnectOptions::default();
        assert!(!check(&o, &c));
        c.auth_token = Some("s3cr3t".into());
        assert!(check(&o, &c));
        o.token = None;
        o.users = vec![User {
            username: "a".into(),
            password: bcrypt::hash("pw", 4).unwrap(),
        }];
        c.user = Some("a".into());
        c.pass = Some("pw".into());
        assert!(check(&o, &c));
        c.pass = Some("nope".into());
        assert!(!check(&o, &c));
        assert!(!redact(r#"{"user":"a","pass":"pw"}"#).contains("pw"));
    }
}
