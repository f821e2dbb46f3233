//! JWTs for operator-mode tests: claims minted and signed with nkeys as
//! nats-io/jwt would (v2, and the v1 layout older tools wrote), creds
//! files and nonce signatures.

use base64::Engine;
use nkeys::KeyPair;
use serde_json::{json, Value};
use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the epoch.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// URL-safe base64 without padding, as JWTs use it.
pub fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(1);
    N.fetch_add(1, Ordering::Relaxed)
}

/// A v2 JWT of `kind` for `sub`, signed by `signer`, with `nats` claims
/// (and `extra` top-level claims).
pub fn mint(
    signer: &KeyPair,
    sub: &str,
    name: &str,
    kind: &str,
    mut nats: Value,
    extra: Value,
) -> String {
    nats["type"] = json!(kind);
    nats["version"] = json!(2);
    let mut claims = json!({
        "jti": format!("J{}{}", now(), unique()),
        "iat": now(),
        "iss": signer.public_key(),
        "name": name,
        "sub": sub,
        "nats": nats,
    });
    if let Value::Object(m) = extra {
        for (k, v) in m {
            claims[k] = v;
        }
    }
    let head = b64(br#"{"typ":"JWT","alg":"ed25519-nkey"}"#);
    let body = b64(claims.to_string().as_bytes());
    let sig = signer.sign(format!("{head}.{body}").as_bytes()).unwrap();
    format!("{head}.{body}.{}", b64(&sig))
}

/// A JWT in the v1 layout: `type` at the top level, no `version`, the
/// `ed25519` algorithm, and the signature over the payload alone.
pub fn mint_v1(signer: &KeyPair, sub: &str, name: &str, kind: &str, nats: Value) -> String {
    let claims = json!({
        "jti": format!("J{}{}", now(), unique()),
        "iat": now(),
        "iss": signer.public_key(),
        "name": name,
        "sub": sub,
        "type": kind,
        "nats": nats,
    });
    let head = b64(br#"{"typ":"jwt","alg":"ed25519"}"#);
    let body = b64(claims.to_string().as_bytes());
    let sig = signer.sign(body.as_bytes()).unwrap();
    format!("{head}.{body}.{}", b64(&sig))
}

/// A creds file holding `jwt` and the seed of `user`.
pub fn creds(jwt: &str, user: &KeyPair) -> String {
    format!(
        "-----BEGIN NATS USER JWT-----\n{jwt}\n------END NATS USER JWT------\n\n\
         -----BEGIN USER NKEY SEED-----\n{}\n------END USER NKEY SEED------\n",
        user.seed().unwrap()
    )
}

/// The nonce of an INFO line ("" when none).
pub fn nonce_of(info: &str) -> String {
    let v: Value = serde_json::from_str(info.trim_start_matches("INFO ")).unwrap();
    v["nonce"].as_str().unwrap_or("").to_string()
}

/// `user`'s signature of `nonce`, as CONNECT's `sig`.
pub fn sign(user: &KeyPair, nonce: &str) -> String {
    b64(&user.sign(nonce.as_bytes()).unwrap())
}

/// An async-nats client logged in with a creds file's text.
pub async fn connect_creds(url: String, creds: String) -> async_nats::Client {
    async_nats::ConnectOptions::with_credentials(&creds)
        .unwrap()
        .connect(url)
        .await
        .unwrap()
}
