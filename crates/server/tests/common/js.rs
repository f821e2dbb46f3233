//! Helpers of the JetStream differential tests.

use serde_json::Value;
use std::time::Duration;

/// A JetStream API request (a null `body` sends nothing) and its JSON answer.
pub async fn req(c: &async_nats::Client, subject: &str, body: Value) -> Value {
    let body = if body.is_null() {
        Vec::new()
    } else {
        serde_json::to_vec(&body).unwrap()
    };
    let r = tokio::time::timeout(
        Duration::from_secs(5),
        c.request(subject.to_string(), body.into()),
    )
    .await
    .unwrap_or_else(|_| panic!("{subject}: no reply in time"))
    .unwrap_or_else(|e| panic!("{subject}: {e}"));
    serde_json::from_slice(&r.payload).unwrap()
}

/// The answers that differ between nats-server 2.12.4 (`go`) and rnatsd,
/// one line pair each; panics when their numbers differ.
pub fn diffs(go: &[Value], rn: &[Value]) -> Vec<String> {
    assert_eq!(go.len(), rn.len(), "2.12.4: {go:?}\nrnatsd: {rn:?}");
    go.iter()
        .zip(rn)
        .enumerate()
        .filter(|(_, (a, b))| a != b)
        .map(|(i, (a, b))| format!("answer {i}:\n  2.12.4: {a}\n  rnatsd: {b}"))
        .collect()
}
