//! The NATS account resolver of `resolver { type: full | cache, dir }`, as
//! nats-server 2.12.4 serves it over the system account: account JWTs
//! pushed with `$SYS.REQ.CLAIMS.UPDATE` (or `$SYS.REQ.ACCOUNT.<key>.CLAIMS.UPDATE`,
//! or the older `$SYS.ACCOUNT.<key>.CLAIMS.UPDATE`) are checked, written to
//! `dir` atomically (a temporary file, `fdatasync`, rename, directory sync)
//! before the answer, and apply at once: the account exists for new logins
//! without a restart. `$SYS.REQ.ACCOUNT.<key>.CLAIMS.LOOKUP` answers with the
//! stored JWT and `$SYS.REQ.CLAIMS.LIST` with the stored keys.

use super::{Handler, System};
use crate::config::types::ResolverOpts;
use crate::delivery::internal::InternalMsg;
use crate::server::Server;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The directory of a `full` or `cache` resolver, when the server has one.
pub fn dir(srv: &Server) -> Option<PathBuf> {
    match &srv.opts().resolver {
        Some(ResolverOpts::Full { dir, .. } | ResolverOpts::Cache { dir, .. }) => {
            Some(PathBuf::from(dir))
        }
        _ => None,
    }
}

/// Subscribes the resolver's subjects (only with a `dir` resolver).
pub(super) fn subscribe(srv: &Arc<Server>, sys: &System) {
    if dir(srv).is_none() || srv.trust().is_none() {
        return;
    }
    let update = |account_token: Option<usize>| -> Handler {
        Arc::new(move |srv, sys, m| claims_update(srv, sys, m, account_token))
    };
    sys.subscribe(srv, "$SYS.ACCOUNT.*.CLAIMS.UPDATE", update(Some(2)));
    sys.subscribe(srv, "$SYS.REQ.ACCOUNT.*.CLAIMS.UPDATE", update(Some(3)));
    sys.subscribe(srv, "$SYS.REQ.CLAIMS.UPDATE", update(None));
    sys.subscribe(srv, "$SYS.REQ.ACCOUNT.*.CLAIMS.LOOKUP", Arc::new(lookup));
    sys.subscribe(srv, "$SYS.REQ.CLAIMS.LIST", Arc::new(list));
}

/// Answers a claims update as nats-server's `respondToUpdate`.
fn respond_update(
    srv: &Arc<Server>,
    sys: &System,
    reply: Option<&[u8]>,
    account: &str,
    message: &str,
    err: Option<String>,
) {
    match &err {
        None => crate::debug!("{message} - {account}"),
        Some(e) => crate::error!("{message} - {account} - {e}"),
    }
    let Some(reply) = reply else {
        return;
    };
    let server = sys.server_info(srv);
    let doc = match err {
        None => json!({
            "server": server,
            "data": {"account": account, "code": 200, "message": message},
        }),
        Some(e) => json!({
            "server": server,
            "error": {"account": account, "code": 500, "description": format!("{message} - {e}")},
        }),
    };
    sys.send_raw(
        srv,
        reply,
        None,
        &serde_json::to_vec(&doc).unwrap_or_default(),
    );
}

fn claims_update(
    srv: &Arc<Server>,
    sys: &System,
    m: &InternalMsg<'_>,
    account_token: Option<usize>,
) {
    let jwt = String::from_utf8_lossy(m.payload).trim().to_string();
    let named = account_token.and_then(|i| {
        m.subject
            .split(|&b| b == b'.')
            .nth(i)
            .map(|t| String::from_utf8_lossy(t).into_owned())
    });
    let Some(trust) = srv.trust() else {
        return;
    };
    let (trust, key) = match trust.with_account(&jwt) {
        Ok(r) => r,
        Err(e) => {
            return respond_update(
                srv,
                sys,
                m.reply,
                named.as_deref().unwrap_or("n/a"),
                "jwt update resulted in error",
                Some(e),
            )
        }
    };
    if named.as_ref().is_some_and(|n| *n != key) {
        return respond_update(
            srv,
            sys,
            m.reply,
            named.as_deref().unwrap_or_default(),
            "jwt update resulted in error",
            Some("subject does not match jwt content".into()),
        );
    }
    let Some(dir) = dir(srv) else {
        return;
    };
    if let Err(e) = store(&dir, &key, &jwt) {
        return respond_update(
            srv,
            sys,
            m.reply,
            &key,
            "jwt update resulted in error",
            Some(e.to_string()),
        );
    }
    // In force from now on: new logins of its users find the account.
    let imports = trust.imports(&key);
    srv.set_trust(trust);
    srv.accounts.add(&key, &imports);
    close_revoked(srv, &key);
    respond_update(srv, sys, m.reply, &key, "jwt updated", None);
}

/// Closes the connections of account `key` whose users the account now
/// revokes (as nats-server: `-ERR 'User Authentication Revoked'`).
fn close_revoked(srv: &Server, key: &str) {
    let Some(trust) = srv.trust() else {
        return;
    };
    let clients: Vec<_> = srv.clients.lock().values().cloned().collect();
    for c in clients {
        let (acc, user, iat) = {
            let m = c.shared.meta.lock();
            (m.account.clone(), m.user.clone(), m.jwt_issued_at)
        };
        let Some(iat) = iat else { continue };
        if acc == key && trust.is_revoked(key, &user, iat) {
            let mut b = Vec::new();
            proto::encode::err(&mut b, "User Authentication Revoked");
            c.shared.send_now(&b);
            c.shared
                .mark_closed(crate::delivery::closed::ClosedReason::Revocation, false);
        }
    }
}

/// Writes `dir/<key>.jwt` so that a crash leaves the old file or the new
/// one, never a torn one, and the new one is on disk before this returns.
fn store(dir: &Path, key: &str, jwt: &str) -> std::io::Result<()> {
    use std::io::Write;
    std::fs::create_dir_all(dir)?;
    let path = dir.join(format!("{key}.jwt"));
    let tmp = dir.join(format!(".{key}.jwt.tmp"));
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(jwt.as_bytes())?;
        f.sync_data()?;
    }
    std::fs::rename(&tmp, &path)?;
    std::fs::File::open(dir)?.sync_all()?;
    Ok(())
}

/// The stored JWT of `key`, if any.
fn load(dir: &Path, key: &str) -> Option<String> {
    if !nkeys::KeyPair::from_public_key(key)
        .is_ok_and(|k| k.key_pair_type() == nkeys::KeyPairType::Account)
    {
        return None;
    }
    std::fs::read_to_string(dir.join(format!("{key}.jwt")))
        .ok()
        .map(|s| s.trim().to_string())
}

/// `$SYS.REQ.ACCOUNT.<key>.CLAIMS.LOOKUP`: the stored JWT, or an empty
/// answer.
fn lookup(srv: &Arc<Server>, sys: &System, m: &InternalMsg<'_>) {
    let Some(reply) = m.reply else {
        return;
    };
    let tokens: Vec<&[u8]> = m.subject.split(|&b| b == b'.').collect();
    if tokens.len() != 6 {
        return;
    }
    let key = String::from_utf8_lossy(tokens[3]).into_owned();
    let Some(dir) = dir(srv) else {
        return;
    };
    let jwt = load(&dir, &key).unwrap_or_default();
    sys.send_raw(srv, reply, None, jwt.as_bytes());
}

/// `$SYS.REQ.CLAIMS.LIST`: the keys of every stored account JWT.
fn list(srv: &Arc<Server>, sys: &System, m: &InternalMsg<'_>) {
    let Some(reply) = m.reply else {
        return;
    };
    let Some(dir) = dir(srv) else {
        return;
    };
    let mut keys: Vec<String> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            e.file_name()
                .to_string_lossy()
                .strip_suffix(".jwt")
                .filter(|k| !k.starts_with('.'))
                .map(str::to_string)
        })
        .collect();
    keys.sort();
    let doc = json!({"server": sys.server_info(srv), "data": keys});
    sys.send_raw(
        srv,
        reply,
        None,
        &serde_json::to_vec(&doc).unwrap_or_default(),
    );
}
