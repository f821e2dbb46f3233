//! Authentication with real clients, against rnatsd and the reference
//! nats-server side by side.

mod common;
use common::{reference_bin, ServerProc};
use futures::StreamExt;
use std::time::Duration;

/// Both servers, started with the same config.
fn both(config: &str) -> Vec<(&'static str, ServerProc)> {
    vec![
        ("rnatsd", ServerProc::start(Some(config))),
        (
            "nats-server",
            ServerProc::start_bin(&reference_bin(), Some(config), &[]),
        ),
    ]
}

/// The CREDEBL layout: `authorization { users: [ {nkey: U...}, ... ] }`.
fn nkeys_config(keys: &[nkeys::KeyPair]) -> String {
    let users: Vec<String> = keys
        .iter()
        .map(|k| format!("    {{ nkey:{}}}", k.public_key()))
        .collect();
    format!(
        "authorization: {{\n  users: [\n{}\n    ]\n}}\n",
        users.join(",\n")
    )
}

async fn nkey_connect(url: &str, seed: &str) -> Result<async_nats::Client, String> {
    async_nats::ConnectOptions::with_nkey(seed.to_string())
        .max_reconnects(Some(0))
        .connection_timeout(Duration::from_secs(2))
        .connect(url)
        .await
        .map_err(|e| e.to_string())
}

#[tokio::test]
async fn nkey_users_as_credebl_configures_them() {
    let keys: Vec<nkeys::KeyPair> = (0..3).map(|_| nkeys::KeyPair::new_user()).collect();
    let config = nkeys_config(&keys);
    for (name, srv) in both(&config) {
        let raw = srv.raw();
        let info: serde_json::Value =
            serde_json::from_str(raw.info.trim_start_matches("INFO ").trim()).unwrap();
        assert_eq!(info["auth_required"], true, "{name}");
        assert!(
            info["nonce"].as_str().is_some_and(|n| !n.is_empty()),
            "{name}: nonce"
        );
        let issuance = nkey_connect(&srv.url(), &keys[0].seed().unwrap())
            .await
            .unwrap();
        let user = nkey_connect(&srv.url(), &keys[1].seed().unwrap())
            .await
            .unwrap();
        let mut sub = issuance
            .queue_subscribe("{\"cmd\":\"issue\"}", "issuance".into())
            .await
            .unwrap();
        issuance.flush().await.unwrap();
        tokio::spawn(async move {
            if let Some(m) = sub.next().await {
                issuance
                    .publish(m.reply.unwrap(), "issued".into())
                    .await
                    .unwrap();
                issuance.flush().await.unwrap();
            }
        });
        let mut reply = None;
        for _ in 0..50 {
            match user.request("{\"cmd\":\"issue\"}", "x".into()).await {
                Ok(m) => {
                    reply = Some(m);
                    break;
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
        assert_eq!(reply.expect("reply").payload, "issued", "{name}");
        // A key that is not configured is refused.
        let stranger = nkeys::KeyPair::new_user();
        let err = nkey_connect(&srv.url(), &stranger.seed().unwrap())
            .await
            .expect_err("unknown nkey refused");
        assert!(err.to_lowercase().contains("authoriz"), "{name}: {err}");
        // No credentials at all are refused.
        let err = async_nats::ConnectOptions::new()
            .max_reconnects(Some(0))
            .connect(srv.url())
            .await
            .expect_err("anonymous refused")
            .to_string();
        assert!(err.to_lowercase().contains("authoriz"), "{name}: {err}");
    }
}

#[test]
fn nkey_signature_must_match_the_nonce() {
    let key = nkeys::KeyPair::new_user();
    let config = nkeys_config(std::slice::from_ref(&key));
    for (name, srv) in both(&config) {
        // A signature of some other nonce is refused.
        let mut r = srv.raw();
        let sig = {
            use base64::Engine;
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(key.sign(b"not-the-nonce").unwrap())
        };
        r.send(
            format!(
                "CONNECT {{\"verbose\":false,\"nkey\":\"{}\",\"sig\":\"{sig}\"}}\r\nPING\r\n",
                key.public_key()
            )
            .as_bytes(),
        );
        r.expect(b"-ERR 'Authorization Violation'\r\n");
        r.expect_closed();
        // The right signature works.
        let mut r = srv.raw();
        let info: serde_json::Value =
            serde_json::from_str(r.info.trim_start_matches("INFO ").trim()).unwrap();
        let nonce = info["nonce"].as_str().unwrap().to_string();
        let sig = {
            use base64::Engine;
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(key.sign(nonce.as_bytes()).unwrap())
        };
        r.send(
            format!(
                "CONNECT {{\"verbose\":false,\"nkey\":\"{}\",\"sig\":\"{sig}\"}}\r\nPING\r\n",
                key.public_key()
            )
            .as_bytes(),
        );
        r.expect(b"PONG\r\n");
        assert_eq!(nonce.len(), 15, "{name}");
    }
}

/// A request from account APP reaches a service in account SVC through a
/// service import, and the reply returns; accounts stay isolated otherwise.
#[tokio::test]
async fn cross_account_request_reply_through_service_import() {
    let config = "accounts {\n  SVC: { users: [ {user: s, password: s} ], exports: [ {service: \"svc.issue\"} ] }\n  APP: { users: [ {user: c, password: c} ], imports: [ {service: {account: SVC, subject: \"svc.issue\"}, to: \"issue\"} ] }\n}\n";
    for (name, srv) in both(config) {
        let login = |u: &str| {
            async_nats::ConnectOptions::with_user_and_password(u.into(), u.into())
                .connect(srv.url())
        };
        let svc = login("s").await.unwrap();
        let app = login("c").await.unwrap();
        let mut requests = svc.subscribe("svc.issue").await.unwrap();
        svc.flush().await.unwrap();
        let responder = svc.clone();
        let task = tokio::spawn(async move {
            let m = requests.next().await.unwrap();
            assert!(m.reply.as_ref().unwrap().as_str().starts_with("_R_."));
            responder
                .publish(m.reply.unwrap(), "issued".into())
                .await
                .unwrap();
            responder.flush().await.unwrap();
        });
        let mut reply = None;
        for _ in 0..50 {
            match app.request("issue", "cred".into()).await {
                Ok(m) => {
                    reply = Some(m);
                    break;
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
        assert_eq!(reply.expect("reply").payload, "issued", "{name}");
        task.await.unwrap();
        // Without an import, the subject spaces are separate.
        let err = app
            .request("svc.issue", "x".into())
            .await
            .expect_err("isolated");
        assert_eq!(
            err.kind(),
            async_nats::RequestErrorKind::NoResponders,
            "{name}"
        );
    }
}

fn http_get_json(port: u16, path: &str) -> serde_json::Value {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("");
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{path}: {e}: {text}"))
}

/// `/connz?auth=1` names each client's account and `acc=` filters by it,
/// as nats-server shows them.
#[test]
fn connz_shows_accounts() {
    let config = "accounts {\n  A: { users: [ {user: a, password: a} ] }\n  B: { users: [ {user: b, password: b} ] }\n}\n";
    for bin in [common::rnatsd_bin(), reference_bin()] {
        let srv = ServerProc::start_bin(&bin, Some(config), &["-m", "-1"]);
        let mut conns = Vec::new();
        for u in ["a", "b", "b"] {
            let mut r = srv.raw();
            r.send(
                format!(
                    "CONNECT {{\"verbose\":false,\"user\":\"{u}\",\"pass\":\"{u}\"}}\r\nPING\r\n"
                )
                .as_bytes(),
            );
            r.expect(b"PONG\r\n");
            conns.push(r);
        }
        let all = http_get_json(srv.http_port, "/connz?auth=1");
        let mut accs: Vec<(String, String)> = all["connections"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["authorized_user"].as_str().unwrap_or("").to_string(),
                    c["account"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect();
        accs.sort();
        let want: Vec<(String, String)> = [("a", "A"), ("b", "B"), ("b", "B")]
            .iter()
            .map(|(u, a)| (u.to_string(), a.to_string()))
            .collect();
        assert_eq!(accs, want, "{bin}");
        let only_b = http_get_json(srv.http_port, "/connz?acc=B");
        assert_eq!(only_b["num_connections"], 2, "{bin}");
    }
}
