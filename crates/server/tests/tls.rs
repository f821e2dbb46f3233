//! TLS for clients, with certificates made at test time (rcgen).

mod common;
use common::pki::{make_pki, tls_config, Pki};
use common::ServerProc;
use futures::StreamExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

async fn tls_client(
    srv: &ServerProc,
    ca: &str,
    client_cert: Option<(&str, &str)>,
) -> Result<async_nats::Client, String> {
    let mut o = async_nats::ConnectOptions::new()
        .add_root_certificates(PathBuf::from(ca))
        .require_tls(true)
        .max_reconnects(Some(0))
        .connection_timeout(Duration::from_secs(3));
    if let Some((c, k)) = client_cert {
        o = o.add_client_certificate(PathBuf::from(c), PathBuf::from(k));
    }
    o.connect(format!("tls://127.0.0.1:{}", srv.port))
        .await
        .map_err(|e| e.to_string())
}

#[tokio::test]
async fn tls_clients_pub_sub_and_request_reply() {
    let pki = make_pki("tls-basic");
    let srv = ServerProc::start_args(Some(&tls_config(&pki, false)), &["-m", "-1"]);
    let raw = srv.raw();
    assert!(raw.info.contains("\"tls_required\":true"), "{}", raw.info);
    let a = tls_client(&srv, &pki.path("ca.pem"), None).await.unwrap();
    let b = tls_client(&srv, &pki.path("ca.pem"), None).await.unwrap();
    let mut sub = a.subscribe("secure.>").await.unwrap();
    a.flush().await.unwrap();
    let _ = a.request("_sync", "".into()).await;
    let big: bytes::Bytes = vec![7u8; 600_000].into();
    b.publish("secure.x", big.clone()).await.unwrap();
    b.flush().await.unwrap();
    let m = tokio::time::timeout(Duration::from_secs(5), sub.next())
        .await
        .unwrap()
        .unwrap();
    assert!(m.payload == big);
    // /connz shows the negotiated TLS version and cipher suite.
    let connz = common::http_json(srv.http_port, "/connz");
    let c = connz["connections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["lang"] == "rust")
        .unwrap();
    assert_eq!(c["tls_version"], "1.3", "{connz}");
    let suite = c["tls_cipher_suite"].as_str().unwrap_or_default();
    assert!(
        [
            "TLS_AES_128_GCM_SHA256",
            "TLS_AES_256_GCM_SHA384",
            "TLS_CHACHA20_POLY1305_SHA256"
        ]
        .contains(&suite),
        "{connz}"
    );
    let err = b
        .request("nobody", "x".into())
        .await
        .expect_err("no responders");
    assert_eq!(err.kind(), async_nats::RequestErrorKind::NoResponders);
    // A client that trusts another CA refuses the server.
    assert!(tls_client(&srv, &pki.path("other-ca.pem"), None)
        .await
        .is_err());
}

#[tokio::test]
async fn mutual_tls_requires_a_client_certificate() {
    let pki = make_pki("tls-verify");
    let srv = ServerProc::start(Some(&tls_config(&pki, true)));
    assert!(srv.raw().info.contains("\"tls_verify\":true"));
    let ok = tls_client(
        &srv,
        &pki.path("ca.pem"),
        Some((&pki.path("client.pem"), &pki.path("client-key.pem"))),
    )
    .await
    .unwrap();
    ok.publish("x", "y".into()).await.unwrap();
    ok.flush().await.unwrap();
    assert!(tls_client(&srv, &pki.path("ca.pem"), None).await.is_err());
}

/// A plaintext client where TLS is required is closed with no reply,
/// as nats-server does.
#[test]
fn plaintext_client_is_closed_like_nats_server() {
    let pki = make_pki("tls-plain");
    for bin in [common::rnatsd_bin(), common::reference_bin()] {
        let srv = ServerProc::start_bin(&bin, Some(&tls_config(&pki, false)), &[]);
        let mut r = srv.raw();
        assert!(r.info.contains("\"tls_required\":true"), "{bin}");
        r.send(b"CONNECT {\"verbose\":false}\r\nPING\r\n");
        r.expect_closed();
        assert!(
            srv.wait_log(
                "first record does not look like a TLS handshake",
                Duration::from_secs(5)
            )
            .is_some(),
            "{bin}"
        );
    }
}

#[test]
fn tls_flags_turn_tls_on() {
    let pki = make_pki("tls-flags");
    let srv = ServerProc::start_args(
        None,
        &[
            "--tlscert",
            &pki.path("server.pem"),
            "--tlskey",
            &pki.path("server-key.pem"),
        ],
    );
    assert!(srv.raw().info.contains("\"tls_required\":true"));
    let bad = std::process::Command::new(common::rnatsd_bin())
        .args([
            "-p",
            "-1",
            "--tlscert",
            "/nonexistent.pem",
            "--tlskey",
            "/nonexistent.pem",
        ])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(Path::new(&pki.path("ca.pem")).exists());
}

/// SIGHUP reads the certificates again: new connections get the new
/// certificate, existing ones keep working.
#[tokio::test]
async fn certificates_reload_on_sighup() {
    let first = make_pki("tls-reload-1");
    let second = make_pki("tls-reload-2");
    let srv = ServerProc::start(Some(&tls_config(&first, false)));
    let old = tls_client(&srv, &first.path("ca.pem"), None).await.unwrap();
    std::fs::write(srv.dir.join("server.conf"), tls_config(&second, false)).unwrap();
    let st = std::process::Command::new("kill")
        .args(["-HUP", &srv.child.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    assert!(srv
        .wait_log("Reloaded server configuration", Duration::from_secs(5))
        .is_some());
    let new = tls_client(&srv, &second.path("ca.pem"), None)
        .await
        .unwrap();
    assert!(tls_client(&srv, &first.path("ca.pem"), None).await.is_err());
    let mut sub = new.subscribe("after.reload").await.unwrap();
    new.flush().await.unwrap();
    let _ = new.request("_sync", "".into()).await;
    old.publish("after.reload", "still here".into())
        .await
        .unwrap();
    old.flush().await.unwrap();
    let m = tokio::time::timeout(Duration::from_secs(5), sub.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(m.payload, "still here");
}

/// An expired server certificate is refused by the client.
#[tokio::test]
async fn expired_certificate_is_refused() {
    let pki = make_pki("tls-expired");
    let config = format!(
        "tls {{\n  cert_file: \"{}\"\n  key_file: \"{}\"\n}}\n",
        pki.path("expired.pem"),
        pki.path("expired-key.pem")
    );
    let srv = ServerProc::start(Some(&config));
    let err = tls_client(&srv, &pki.path("ca.pem"), None)
        .await
        .expect_err("expired certificate refused");
    assert!(!err.is_empty());
    // The same CA with a valid certificate works.
    let ok = ServerProc::start(Some(&tls_config(&pki, false)));
    tls_client(&ok, &pki.path("ca.pem"), None).await.unwrap();
}

/// A cluster member with `cluster { tls }` from `pki` (mutual TLS),
/// dialing `routes`. Returns the process and its route port.
fn tls_node(bin: &str, pki: &Pki, name: &str, routes: &[u16]) -> (ServerProc, u16) {
    let cport = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let routes: Vec<String> = routes
        .iter()
        .map(|p| format!("\"nats-route://127.0.0.1:{p}\""))
        .collect();
    let conf = format!(
        "server_name: {name}\ncluster {{\n  name: T\n  listen: 127.0.0.1:{cport}\n  routes: [{}]\n  tls {{\n    cert_file: \"{}\"\n    key_file: \"{}\"\n    ca_file: \"{}\"\n    verify: true\n    timeout: 2\n  }}\n}}\n",
        routes.join(", "),
        pki.path("server.pem"),
        pki.path("server-key.pem"),
        pki.path("ca.pem")
    );
    (ServerProc::start_bin(bin, Some(&conf), &[]), cport)
}

/// Publishes on `from` until `to`'s subscriber gets a message (the route
/// is up and carries traffic), within 15 s.
async fn route_carries(from: &ServerProc, to: &ServerProc) -> bool {
    let a = async_nats::connect(from.url()).await.unwrap();
    let b = async_nats::connect(to.url()).await.unwrap();
    let mut sub = b.subscribe("over.tls").await.unwrap();
    b.flush().await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while std::time::Instant::now() < deadline {
        a.publish("over.tls", "x".into()).await.unwrap();
        a.flush().await.unwrap();
        if let Ok(Some(m)) = tokio::time::timeout(Duration::from_millis(200), sub.next()).await {
            return m.payload == "x";
        }
    }
    false
}

#[tokio::test]
async fn tls_routes_between_rnatsd_and_nats_server() {
    let pki = make_pki("tls-routes");
    let rn = common::rnatsd_bin();
    let go = common::reference_bin();
    // rnatsd dials rnatsd; the reference dials rnatsd; rnatsd dials the
    // reference.
    let (a, pa) = tls_node(&rn, &pki, "A", &[]);
    let (b, _) = tls_node(&rn, &pki, "B", &[pa]);
    assert!(
        route_carries(&a, &b).await && route_carries(&b, &a).await,
        "rnatsd-rnatsd"
    );
    let (g, pg) = tls_node(&go, &pki, "G", &[pa]);
    assert!(
        route_carries(&g, &a).await && route_carries(&a, &g).await,
        "nats-server dials rnatsd"
    );
    let (c, _) = tls_node(&rn, &pki, "C", &[pg]);
    assert!(
        route_carries(&c, &g).await && route_carries(&g, &c).await,
        "rnatsd dials nats-server"
    );
    // A node without TLS cannot join the TLS cluster.
    let plain_conf =
        format!(
        "cluster {{ name: T, listen: 127.0.0.1:{}, routes: [\"nats-route://127.0.0.1:{pa}\"] }}\n",
        std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
    );
    let plain = ServerProc::start(Some(&plain_conf));
    let joined = {
        let p = async_nats::connect(plain.url()).await.unwrap();
        let x = async_nats::connect(a.url()).await.unwrap();
        let mut sub = x.subscribe("plain.try").await.unwrap();
        x.flush().await.unwrap();
        let mut got = false;
        for _ in 0..10 {
            p.publish("plain.try", "y".into()).await.unwrap();
            p.flush().await.unwrap();
            if let Ok(Some(_)) = tokio::time::timeout(Duration::from_millis(200), sub.next()).await
            {
                got = true;
                break;
            }
        }
        got
    };
    assert!(!joined, "a plaintext route joined a TLS cluster");
    drop((b, c, g));
}

#[tokio::test]
async fn wss_websocket_clients() {
    let pki = make_pki("tls-wss");
    let conf = format!(
        "websocket {{\n  port: -1\n  tls {{\n    cert_file: \"{}\"\n    key_file: \"{}\"\n  }}\n}}\n",
        pki.path("server.pem"),
        pki.path("server-key.pem")
    );
    let srv = ServerProc::start(Some(&conf));
    let port = srv
        .logged_port("Listening for websocket clients on wss://")
        .expect("wss listener");
    let ws = async_nats::ConnectOptions::new()
        .add_root_certificates(PathBuf::from(pki.path("ca.pem")))
        .connect(format!("wss://127.0.0.1:{port}"))
        .await
        .expect("wss connect");
    let tcp = async_nats::connect(srv.url()).await.unwrap();
    let mut sub = ws.subscribe("wss.>").await.unwrap();
    ws.flush().await.unwrap();
    let _ = ws.request("_sync", "".into()).await;
    let big: bytes::Bytes = vec![3u8; 900_000].into();
    tcp.publish("wss.big", big.clone()).await.unwrap();
    tcp.flush().await.unwrap();
    let m = tokio::time::timeout(Duration::from_secs(5), sub.next())
        .await
        .unwrap()
        .unwrap();
    assert!(m.payload == big);
    // Websocket requester, TCP responder.
    let mut svc = tcp.subscribe("svc").await.unwrap();
    let t2 = tcp.clone();
    tokio::spawn(async move {
        while let Some(m) = svc.next().await {
            let _ = t2.publish(m.reply.unwrap(), m.payload).await;
        }
    });
    let _ = tcp.request("_sync", "".into()).await;
    let r = ws.request("svc", "over wss".into()).await.unwrap();
    assert_eq!(r.payload, "over wss");
    // A plaintext websocket client gets no upgrade.
    let plain = async_nats::ConnectOptions::new().connection_timeout(Duration::from_millis(500));
    let plain = tokio::time::timeout(
        Duration::from_secs(2),
        plain.connect(format!("ws://127.0.0.1:{port}")),
    )
    .await;
    assert!(
        !matches!(plain, Ok(Ok(_))),
        "plain ws connected to a wss port"
    );
}

/// GET `path` over HTTPS on `port`, trusting `ca`; returns status line and
/// body.
fn https_get(port: u16, ca: &str, path: &str) -> (String, String) {
    use rustls::pki_types::pem::PemObject;
    use std::io::{Read, Write};
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls::pki_types::CertificateDer::pem_file_iter(ca).unwrap() {
        roots.add(c.unwrap()).unwrap();
    }
    let cfg = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let conn =
        rustls::ClientConnection::new(Arc::new(cfg), "127.0.0.1".try_into().unwrap()).unwrap();
    let sock = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut tls = rustls::StreamOwned::new(conn, sock);
    write!(tls, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").unwrap();
    let mut text = String::new();
    let _ = tls.read_to_string(&mut text);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    (
        head.lines().next().unwrap_or_default().to_string(),
        body.to_string(),
    )
}

#[test]
fn https_monitoring_as_nats_server() {
    let pki = make_pki("tls-https");
    for bin in [common::reference_bin(), common::rnatsd_bin()] {
        // The client TLS block may verify clients; monitoring does not ask.
        let srv =
            ServerProc::start_bin(&bin, Some(&tls_config(&pki, true)), &["--https_port", "-1"]);
        let port = srv
            .logged_port("Starting https monitor on")
            .unwrap_or_else(|| panic!("{bin}: {:#?}", srv.startup_log));
        let (status, body) = https_get(port, &pki.path("ca.pem"), "/varz");
        assert!(status.contains("200"), "{bin}: {status}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["https_port"], -1, "{bin}");
        let (status, body) = https_get(port, &pki.path("ca.pem"), "/healthz");
        assert!(
            status.contains("200") && body.contains("ok"),
            "{bin}: {status} {body}"
        );
    }
}

#[test]
fn https_monitoring_needs_tls_and_excludes_http() {
    for bin in [common::reference_bin(), common::rnatsd_bin()] {
        for (args, want) in [
            (
                &["--https_port", "-1"][..],
                "TLS cert and key required for HTTPS",
            ),
            (
                &["-m", "-1", "--https_port", "-1"][..],
                "can't specify both HTTP (-1) and HTTPs (-1) ports",
            ),
        ] {
            let mut child = std::process::Command::new(&bin)
                .args(["-a", "127.0.0.1", "-p", "-1"])
                .args(args)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            let deadline = std::time::Instant::now() + Duration::from_secs(5);
            while child.try_wait().unwrap().is_none() {
                if std::time::Instant::now() > deadline {
                    let _ = child.kill();
                    panic!("{bin} {args:?} kept running");
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let out = child.wait_with_output().unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(!out.status.success(), "{bin} {args:?}");
            assert!(err.contains(want), "{bin} {args:?}: {err}");
        }
    }
}

/// Client certificates for `verify_and_map`: one named by a DNS SAN, one
/// by its subject only, one unknown; signed by the test CA.
fn map_certs(pki: &Pki) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
    // The test CA again (same key and name), to sign with.
    let ca_key =
        KeyPair::from_pem(&std::fs::read_to_string(pki.path("ca-key.pem")).unwrap()).unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let make = |file: &str, sans: Vec<String>, dn: &[(DnType, &str)]| {
        let key = KeyPair::generate().unwrap();
        let mut p = CertificateParams::new(sans).unwrap();
        p.distinguished_name = rcgen::DistinguishedName::new();
        for (t, v) in dn {
            p.distinguished_name.push(t.clone(), *v);
        }
        let cert = p.signed_by(&key, &ca, &ca_key).unwrap();
        std::fs::write(pki.dir.join(format!("{file}.pem")), cert.pem()).unwrap();
        std::fs::write(pki.dir.join(format!("{file}-key.pem")), key.serialize_pem()).unwrap();
    };
    make(
        "by-san",
        vec!["app.example".into()],
        &[(DnType::CommonName, "ignored")],
    );
    make(
        "by-dn",
        vec![],
        &[
            (DnType::OrganizationName, "Acme"),
            (DnType::CommonName, "dn-user"),
        ],
    );
    make(
        "unknown",
        vec!["stranger.example".into()],
        &[(DnType::CommonName, "stranger")],
    );
}

#[tokio::test]
async fn verify_and_map_picks_the_user_as_nats_server() {
    let pki = make_pki("tls-map");
    map_certs(&pki);
    let conf = format!(
        "tls {{\n  cert_file: \"{}\"\n  key_file: \"{}\"\n  ca_file: \"{}\"\n  verify_and_map: true\n}}\nauthorization {{\n  users: [\n    {{ user: \"app.example\" }}\n    {{ user: \"CN=dn-user,O=Acme\" }}\n  ]\n}}\n",
        pki.path("server.pem"),
        pki.path("server-key.pem"),
        pki.path("ca.pem")
    );
    for bin in [common::reference_bin(), common::rnatsd_bin()] {
        let srv = ServerProc::start_bin(&bin, Some(&conf), &["-m", "-1"]);
        let ca = pki.path("ca.pem");
        let mut users = Vec::new();
        for who in ["by-san", "by-dn"] {
            let c = tls_client(
                &srv,
                &ca,
                Some((
                    &pki.path(&format!("{who}.pem")),
                    &pki.path(&format!("{who}-key.pem")),
                )),
            )
            .await
            .unwrap_or_else(|e| panic!("{bin}: {who}: {e}"));
            c.flush().await.unwrap();
            users.push(c);
        }
        let connz = common::http_json(srv.http_port, "/connz?auth=1");
        let mut mapped: Vec<String> = connz["connections"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                c["authorized_user"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string()
            })
            .collect();
        mapped.sort();
        assert_eq!(
            mapped,
            ["CN=dn-user,O=Acme", "app.example"],
            "{bin}: {connz}"
        );
        let refused = tls_client(
            &srv,
            &ca,
            Some((&pki.path("unknown.pem"), &pki.path("unknown-key.pem"))),
        )
        .await;
        assert!(refused.is_err(), "{bin}: an unmapped certificate got in");
        drop(users);
    }
}

/// Lower-case hex SHA-256 of a PEM certificate's SubjectPublicKeyInfo.
fn spki_sha256(pem_file: &str) -> String {
    use rustls::pki_types::pem::PemObject;
    let der = rustls::pki_types::CertificateDer::from_pem_file(pem_file).unwrap();
    let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref()).unwrap();
    let d = ring::digest::digest(&ring::digest::SHA256, cert.public_key().raw);
    d.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test]
async fn pinned_client_certificates_as_nats_server() {
    let pki = make_pki("tls-pinned");
    map_certs(&pki);
    let conf = format!(
        "tls {{\n  cert_file: \"{}\"\n  key_file: \"{}\"\n  ca_file: \"{}\"\n  verify: true\n  pinned_certs: [\"{}\"]\n}}\n",
        pki.path("server.pem"),
        pki.path("server-key.pem"),
        pki.path("ca.pem"),
        spki_sha256(&pki.path("client.pem"))
    );
    for bin in [common::reference_bin(), common::rnatsd_bin()] {
        let srv = ServerProc::start_bin(&bin, Some(&conf), &[]);
        let ca = pki.path("ca.pem");
        let pinned = tls_client(
            &srv,
            &ca,
            Some((&pki.path("client.pem"), &pki.path("client-key.pem"))),
        )
        .await;
        let c = pinned.unwrap_or_else(|e| panic!("{bin}: pinned certificate refused: {e}"));
        c.flush().await.unwrap();
        let other = tls_client(
            &srv,
            &ca,
            Some((&pki.path("by-san.pem"), &pki.path("by-san-key.pem"))),
        )
        .await;
        assert!(
            other.is_err(),
            "{bin}: a certificate that is not pinned got in"
        );
    }
}

/// A TLS 1.2-only handshake after INFO, then CONNECT/PING; returns the
/// connection (kept open).
fn tls12_client(
    port: u16,
    ca: &str,
) -> rustls::StreamOwned<rustls::ClientConnection, std::net::TcpStream> {
    raw_tls_client(port, ca, &rustls::version::TLS12)
}

/// A handshake in one TLS `version` after INFO, then CONNECT/PING;
/// returns the connection (kept open).
fn raw_tls_client(
    port: u16,
    ca: &str,
    version: &'static rustls::SupportedProtocolVersion,
) -> rustls::StreamOwned<rustls::ClientConnection, std::net::TcpStream> {
    common::pki::try_tls_client(port, ca, version).unwrap()
}

#[test]
fn cipher_suites_and_curves_as_nats_server() {
    let pki = make_pki("tls-ciphers");
    let conf = format!(
        "tls {{\n  cert_file: \"{}\"\n  key_file: \"{}\"\n  cipher_suites: [\"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256\"]\n  curve_preferences: [\"CurveP384\"]\n}}\n",
        pki.path("server.pem"),
        pki.path("server-key.pem"),
    );
    let mut seen = Vec::new();
    for bin in [common::reference_bin(), common::rnatsd_bin()] {
        let srv = ServerProc::start_bin(&bin, Some(&conf), &["-m", "-1"]);
        let _c = tls12_client(srv.port, &pki.path("ca.pem"));
        let connz = common::http_json(srv.http_port, "/connz");
        let c = &connz["connections"][0];
        seen.push((
            c["tls_version"].as_str().unwrap_or_default().to_string(),
            c["tls_cipher_suite"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        ));
    }
    assert_eq!(seen[0], seen[1]);
    assert_eq!(
        seen[1],
        (
            "1.2".to_string(),
            "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256".to_string()
        )
    );
}

/// A client that sends its close_notify gets the server's close_notify
/// back at once, and no application data after it (a server PING or
/// message there is what OpenSSL reports as "application data after close
/// notify").
#[test]
fn close_notify_ends_the_session_as_nats_server() {
    use std::io::{Read, Write};
    let pki = make_pki("tls-close-notify");
    let conf = tls_config(&pki, false);
    for bin in [common::reference_212_bin(), common::rnatsd_bin()] {
        let srv = ServerProc::start_bin(&bin, Some(&conf), &[]);
        for version in [&rustls::version::TLS12, &rustls::version::TLS13] {
            let mut tls = raw_tls_client(srv.port, &pki.path("ca.pem"), version);
            tls.write_all(b"SUB x 1\r\n").unwrap();
            tls.conn.send_close_notify();
            tls.flush().unwrap();
            let start = std::time::Instant::now();
            let mut rest = Vec::new();
            let r = tls.read_to_end(&mut rest);
            assert!(
                r.is_ok(),
                "{bin} {version:?}: no close_notify back: {r:?} after {:?}",
                start.elapsed()
            );
            assert!(
                rest.is_empty(),
                "{bin} {version:?}: data after close_notify: {:?}",
                String::from_utf8_lossy(&rest)
            );
            assert!(start.elapsed() < Duration::from_secs(1), "{bin}");
        }
    }
}

/// async-nats over TLS: connect, subscribe, request, close. Neither side
/// reports an error, and both servers record a clean client close.
#[tokio::test]
async fn async_nats_tls_session_closes_cleanly() {
    let pki = make_pki("tls-clean-close");
    for bin in [common::reference_212_bin(), common::rnatsd_bin()] {
        let srv = ServerProc::start_bin(&bin, Some(&tls_config(&pki, false)), &["-m", "-1"]);
        let events = Arc::new(std::sync::Mutex::new(Vec::new()));
        let connect = || {
            let seen = events.clone();
            async_nats::ConnectOptions::new()
                .add_root_certificates(PathBuf::from(pki.path("ca.pem")))
                .require_tls(true)
                .max_reconnects(Some(0))
                .event_callback(move |e| {
                    let seen = seen.clone();
                    async move { seen.lock().unwrap().push(e.to_string()) }
                })
                .connect(format!("tls://127.0.0.1:{}", srv.port))
        };
        let svc = connect().await.unwrap();
        let cli = connect().await.unwrap();
        let mut reqs = svc.subscribe("tls.echo").await.unwrap();
        svc.flush().await.unwrap();
        let _ = svc.request("_sync", "".into()).await;
        let responder = tokio::spawn({
            let svc = svc.clone();
            async move {
                let m = reqs.next().await.unwrap();
                svc.publish(m.reply.unwrap(), m.payload).await.unwrap();
                svc.flush().await.unwrap();
            }
        });
        let r = tokio::time::timeout(Duration::from_secs(5), cli.request("tls.echo", "hi".into()))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(&r.payload[..], b"hi");
        responder.await.unwrap();
        cli.drain().await.unwrap();
        svc.drain().await.unwrap();
        drop((cli, svc));
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        let closed = loop {
            let c = common::http_json(srv.http_port, "/connz?state=closed");
            if c["num_connections"].as_u64() == Some(2) || std::time::Instant::now() > deadline {
                break c;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let reasons: Vec<&str> = closed["connections"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["reason"].as_str().unwrap_or_default())
            .collect();
        assert_eq!(
            reasons,
            ["Client Closed", "Client Closed"],
            "{bin}: {closed}"
        );
        let events = events.lock().unwrap().clone();
        assert!(
            events
                .iter()
                .all(|e| ["connected", "draining", "disconnected", "closed"].contains(&e.as_str())),
            "{bin}: {events:?}"
        );
    }
}
