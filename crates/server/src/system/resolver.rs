//! The NATS account resolver of `resolver { type: full | cache, dir }`, as
//! nats-server 2.12.4 serves it over the system account: account JWTs
//! pushed with `$SYS.REQ.CLAIMS.UPDATE` (or `$SYS.REQ.ACCOUNT.<key>.CLAIMS.UPDATE`,
//! or the older `$SYS.ACCOUNT.<key>.CLAIMS.UPDATE`) are checked, written to
//! `dir` atomically (a temporary file, `fdatasync`, rename, directory sync)
//! before the answer, and apply at once: the account exists for new logins
//! without a restart. `$SYS.REQ.ACCOUNT.<key>.CLAIMS.LOOKUP` answers with the
//! stored JWT and `$SYS.REQ.CLAIMS.LIST` with the stored keys;
//! `$SYS.REQ.CLAIMS.DELETE` (an operator-signed list, with `allow_delete`)
//! removes accounts. Servers keep their stores alike with
//! `$SYS.REQ.CLAIMS.PACK`: at start and every `interval` each asks with the
//! hash of its store, and one server whose hash differs sends its JWTs,
//! which are merged when newer.

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
    sys.subscribe(srv, "$SYS.REQ.CLAIMS.DELETE", Arc::new(delete));
    sys.subscribe_queue(srv, "$SYS.REQ.CLAIMS.PACK", "responder", Arc::new(pack));
    let inbox = format!(
        "$SYS._INBOX.{}.{}",
        super::requests::server_hash(&srv.name),
        super::events::event_id()
    );
    sys.subscribe(srv, &inbox, Arc::new(merge));
    let every = match &srv.opts().resolver {
        Some(ResolverOpts::Full {
            interval: Some(d), ..
        }) if !d.is_zero() => *d,
        _ => std::time::Duration::from_secs(60),
    };
    let srv = srv.clone();
    let Some(sys) = super::get(&srv) else {
        return;
    };
    tokio::spawn(async move {
        // Once at start (a server that was away catches up), then at every
        // interval.
        let mut wait = std::time::Duration::from_secs(1);
        loop {
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = srv.shutdown.cancelled() => return,
            }
            wait = every;
            if let Some(dir) = dir(&srv) {
                sys.send_raw(
                    &srv,
                    b"$SYS.REQ.CLAIMS.PACK",
                    Some(inbox.as_bytes()),
                    &store_hash(&dir),
                );
            }
        }
    });
}

/// The stored JWTs: (key, JWT), in key order.
fn stored(dir: &Path) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let key = name.strip_suffix(".jwt").filter(|k| !k.starts_with('.'))?;
            let jwt = std::fs::read_to_string(e.path()).ok()?;
            (!jwt.is_empty()).then(|| (key.to_string(), jwt))
        })
        .collect();
    out.sort();
    out
}

/// nats-server's store hash: the XOR of every stored JWT's SHA-256.
fn store_hash(dir: &Path) -> Vec<u8> {
    let mut h = [0u8; 32];
    for (_, jwt) in stored(dir) {
        let d = ring::digest::digest(&ring::digest::SHA256, jwt.as_bytes());
        for (a, b) in h.iter_mut().zip(d.as_ref()) {
            *a ^= b;
        }
    }
    h.to_vec()
}

/// `$SYS.REQ.CLAIMS.PACK`: when the asker's hash differs, every stored JWT
/// as `key|jwt`, one per message, then an empty message.
fn pack(srv: &Arc<Server>, sys: &System, m: &InternalMsg<'_>) {
    let (Some(reply), Some(dir)) = (m.reply, dir(srv)) else {
        return;
    };
    if store_hash(&dir) != m.payload {
        for (key, jwt) in stored(&dir) {
            sys.send_raw(srv, reply, None, format!("{key}|{jwt}").as_bytes());
        }
    }
    sys.send_raw(srv, reply, None, b"");
}

/// A part of another server's pack: its JWTs, kept when they are newer
/// than the stored ones (and trusted).
fn merge(srv: &Arc<Server>, _: &System, m: &InternalMsg<'_>) {
    let Some(dir) = dir(srv) else {
        return;
    };
    for line in String::from_utf8_lossy(m.payload).split('\n') {
        let Some((key, jwt)) = line.split_once('|') else {
            continue;
        };
        if !newer(&dir, key, jwt) {
            continue;
        }
        let Some(trust) = srv.trust() else {
            return;
        };
        match trust.with_account(jwt) {
            Ok((t, k)) if k == key => {
                if let Err(e) = store(&dir, key, jwt) {
                    crate::error!("DirResolver - Merging resulted in error: {e}");
                    continue;
                }
                apply(srv, t, key);
            }
            Ok(_) => crate::error!("DirResolver - Merging resulted in error: jwt subject nkey and provided nkey do not match"),
            Err(e) => crate::error!("DirResolver - Merging resulted in error: {e}"),
        }
    }
}

/// True when `jwt` should replace what is stored for `key`: nothing is,
/// or it is another JWT issued no earlier.
fn newer(dir: &Path, key: &str, jwt: &str) -> bool {
    let Some(existing) = load(dir, key) else {
        return true;
    };
    let claims = |t: &str| crate::auth::jwt::issued(t);
    match (claims(&existing), claims(jwt)) {
        (Some((old_id, old_iat)), Some((new_id, new_iat))) => {
            old_id != new_id && new_iat >= old_iat
        }
        (None, _) => true,
        _ => false,
    }
}

/// `$SYS.REQ.CLAIMS.DELETE`: an operator-signed JWT listing accounts to
/// remove; needs `allow_delete`. Their users are closed.
fn delete(srv: &Arc<Server>, sys: &System, m: &InternalMsg<'_>) {
    let allowed = matches!(
        &srv.opts().resolver,
        Some(ResolverOpts::Full {
            allow_delete: true,
            ..
        })
    );
    let Some(trust) = srv.trust() else {
        return;
    };
    let req = String::from_utf8_lossy(m.payload).trim().to_string();
    let sys_acc = sys.account.name.clone();
    let checked = crate::auth::jwt::delete_request(&trust, &req).and_then(|(by, keys)| {
        if !allowed {
            return Err((by, "delete must be enabled in server config".to_string()));
        }
        if keys.contains(&sys_acc) {
            return Err((by, "not allowed to delete system account".to_string()));
        }
        Ok((by, keys))
    });
    let (_by, keys) = match checked {
        Ok(r) => r,
        Err((by, e)) => {
            return respond_update(
                srv,
                sys,
                m.reply,
                "",
                &format!("delete accounts request by {by} failed"),
                Some(e),
            )
        }
    };
    let Some(dir) = dir(srv) else {
        return;
    };
    let mut errs = Vec::new();
    let mut done = 0;
    let mut t = (*trust).clone();
    for k in &keys {
        match std::fs::remove_file(dir.join(format!("{k}.jwt"))) {
            Ok(()) => {
                done += 1;
                t.remove_account(k);
            }
            Err(e) => errs.push(e.to_string()),
        }
    }
    srv.set_trust(t);
    for k in &keys {
        close_account(srv, k);
    }
    if errs.is_empty() {
        respond_update(
            srv,
            sys,
            m.reply,
            "",
            &format!("deleted {done} accounts"),
            None,
        );
    } else {
        respond_update(
            srv,
            sys,
            m.reply,
            "",
            &format!("deleted {done} accounts, failed for {}", errs.len()),
            Some(errs.join("\n")),
        );
    }
}

/// Closes every connection of a removed account.
fn close_account(srv: &Server, key: &str) {
    let clients: Vec<_> = srv.clients.lock().values().cloned().collect();
    for c in clients {
        if c.shared.meta.lock().account == key {
            c.shared.mark_closed(
                crate::delivery::closed::ClosedReason::AuthenticationExpired,
                false,
            );
        }
    }
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
    match (&err, account.is_empty()) {
        (None, true) => crate::debug!("{message}"),
        (None, false) => crate::debug!("{message} - {account}"),
        (Some(e), true) => crate::error!("{message} - {e}"),
        (Some(e), false) => crate::error!("{message} - {account} - {e}"),
    }
    let Some(reply) = reply else {
        return;
    };
    let server = sys.server_info(srv);
    let mut part = serde_json::Map::new();
    if !account.is_empty() {
        part.insert("account".into(), account.into());
    }
    let doc = match err {
        None => {
            part.insert("code".into(), 200.into());
            part.insert("message".into(), message.into());
            json!({"server": server, "data": part})
        }
        Some(e) => {
            part.insert("code".into(), 500.into());
            part.insert("description".into(), format!("{message} - {e}").into());
            json!({"server": server, "error": part})
        }
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
    apply(srv, trust, &key);
    respond_update(srv, sys, m.reply, &key, "jwt updated", None);
}

/// Puts an account JWT in force: new logins of its users find the account,
/// JetStream serves it if the JWT enables it, revoked users are closed.
fn apply(srv: &Arc<Server>, trust: crate::auth::jwt::Trust, key: &str) {
    let imports = trust.imports(key);
    let js = trust.jetstream(key);
    srv.set_trust(trust);
    let opts = srv.opts();
    let domain = opts
        .jetstream
        .domain
        .as_deref()
        .filter(|d| !d.is_empty() && js.is_some() && crate::jetstream::get(srv).is_some());
    srv.accounts.add(key, &imports, domain);
    crate::jetstream::account_updated(srv, key, js);
    close_revoked(srv, key);
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
