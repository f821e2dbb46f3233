//! TLS options of nats-server 2.10+, on rnatsd and on nats-server 2.12.4:
//! `handshake_first` (the TLS handshake before INFO, with and without the
//! fallback delay) and `min_version`.

mod common;
use common::pki::{make_pki, Pki};
use common::ServerProc;
use futures::StreamExt;
use std::io::Read;
use std::path::PathBuf;
use std::time::{Duration, Instant};

fn conf(pki: &Pki, first: &str) -> String {
    format!(
        "tls {{\n  cert_file: \"{}\"\n  key_file: \"{}\"\n  handshake_first: {first}\n}}\n",
        pki.path("server.pem"),
        pki.path("server-key.pem"),
    )
}

async fn client(
    srv: &ServerProc,
    pki: &Pki,
    tls_first: bool,
) -> Result<async_nats::Client, String> {
    let mut o = async_nats::ConnectOptions::new()
        .add_root_certificates(PathBuf::from(pki.path("ca.pem")))
        .require_tls(true)
        .max_reconnects(Some(0))
        .connection_timeout(Duration::from_secs(3));
    if tls_first {
        o = o.tls_first();
    }
    o.connect(format!("tls://127.0.0.1:{}", srv.port))
        .await
        .map_err(|e| e.to_string())
}

/// What a plaintext TCP client receives in `wait` without sending a byte.
fn silent_client_gets(port: u16, wait: Duration) -> Vec<u8> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let end = Instant::now() + wait;
    let mut got = Vec::new();
    let mut b = [0u8; 4096];
    while let Some(left) = end.checked_duration_since(Instant::now()) {
        s.set_read_timeout(Some(left.max(Duration::from_millis(1))))
            .unwrap();
        match s.read(&mut b) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&b[..n]),
        }
    }
    got
}

async fn round_trip(c: &async_nats::Client) {
    let mut sub = c.subscribe("tf.x").await.unwrap();
    c.flush().await.unwrap();
    c.publish("tf.x", "hi".into()).await.unwrap();
    let m = tokio::time::timeout(Duration::from_secs(5), sub.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&m.payload[..], b"hi");
}

#[tokio::test]
async fn handshake_first_sends_info_after_the_handshake() {
    let pki = make_pki("tls-first");
    for bin in [common::reference_212_bin(), common::rnatsd_bin()] {
        let srv = ServerProc::start_bin(&bin, Some(&conf(&pki, "true")), &[]);
        assert!(
            srv.logged(
                "Clients that are not using \"TLS Handshake First\" option will fail to connect"
            ),
            "{bin}: {:#?}",
            srv.startup_log
        );
        // No INFO for a client that waits for one.
        let got = silent_client_gets(srv.port, Duration::from_millis(400));
        assert!(got.is_empty(), "{bin}: {}", String::from_utf8_lossy(&got));
        // A TLS-first client works; one that waits for INFO does not.
        let c = client(&srv, &pki, true).await.unwrap();
        round_trip(&c).await;
        let info = c.server_info();
        assert!(info.tls_required, "{bin}");
        assert!(client(&srv, &pki, false).await.is_err(), "{bin}");
    }
}

#[tokio::test]
async fn handshake_first_auto_falls_back_to_info_first() {
    let pki = make_pki("tls-first-auto");
    for (bin, first) in [
        (common::reference_212_bin(), "auto"),
        (common::rnatsd_bin(), "auto"),
        (common::reference_212_bin(), "\"300ms\""),
        (common::rnatsd_bin(), "\"300ms\""),
    ] {
        let srv = ServerProc::start_bin(&bin, Some(&conf(&pki, first)), &[]);
        assert!(
            !srv.logged("TLS Handshake First"),
            "{bin} {first}: {:#?}",
            srv.startup_log
        );
        // A silent client gets INFO once the delay has passed.
        let t = Instant::now();
        let got = silent_client_gets(srv.port, Duration::from_millis(900));
        let text = String::from_utf8_lossy(&got);
        assert!(text.starts_with("INFO {"), "{bin} {first}: {text}");
        assert!(text.contains("\"tls_required\":true"), "{bin}: {text}");
        assert!(t.elapsed() >= Duration::from_millis(40), "{bin}");
        // Both kinds of client connect.
        let a = client(&srv, &pki, true).await.unwrap();
        let b = client(&srv, &pki, false).await.unwrap();
        round_trip(&a).await;
        round_trip(&b).await;
    }
}

/// Bad `handshake_first` values are refused with nats-server's message.
#[test]
fn handshake_first_values_are_checked_as_nats_server() {
    let pki = make_pki("tls-first-conf");
    let dir = common::scratch("tls-first-conf-files");
    for (value, want) in [
        (
            "\"sometimes\"",
            "field \"handshake_first\"'s value \"sometimes\" is invalid",
        ),
        (
            "12",
            "field \"handshake_first\" should be a boolean or a string, got int64",
        ),
    ] {
        let f = dir.join("c.conf");
        std::fs::write(&f, conf(&pki, value)).unwrap();
        for bin in [common::reference_212_bin(), common::rnatsd_bin()] {
            let out = std::process::Command::new(&bin)
                .args(["-t", "-c"])
                .arg(&f)
                .output()
                .unwrap();
            let err = String::from_utf8_lossy(&out.stderr).into_owned()
                + &String::from_utf8_lossy(&out.stdout);
            assert!(!out.status.success(), "{bin} {value}");
            assert!(err.contains(want), "{bin} {value}: {err}");
        }
    }
}

/// Whether a handshake in TLS `version` succeeds after INFO.
fn handshake(port: u16, ca: &str, version: &'static rustls::SupportedProtocolVersion) -> bool {
    common::pki::try_tls_client(port, ca, version).is_ok()
}

#[test]
fn min_version_refuses_older_handshakes_as_nats_server() {
    let pki = make_pki("tls-min-version");
    let conf = format!(
        "tls {{\n  cert_file: \"{}\"\n  key_file: \"{}\"\n  min_version: \"1.3\"\n}}\n",
        pki.path("server.pem"),
        pki.path("server-key.pem"),
    );
    for bin in [common::reference_212_bin(), common::rnatsd_bin()] {
        let srv = ServerProc::start_bin(&bin, Some(&conf), &[]);
        let ca = pki.path("ca.pem");
        assert!(handshake(srv.port, &ca, &rustls::version::TLS13), "{bin}");
        assert!(!handshake(srv.port, &ca, &rustls::version::TLS12), "{bin}");
    }
}

/// `tls { certs: [...] }` instead of `cert_file`/`key_file`.
#[tokio::test]
async fn certs_list_serves_tls_as_nats_server() {
    let pki = make_pki("tls-certs-list");
    let conf = format!(
        "tls {{\n  certs: [ {{ cert_file: \"{}\", key_file: \"{}\" }} ]\n}}\n",
        pki.path("server.pem"),
        pki.path("server-key.pem"),
    );
    for bin in [common::reference_212_bin(), common::rnatsd_bin()] {
        let srv = ServerProc::start_bin(&bin, Some(&conf), &[]);
        let c = client(&srv, &pki, false).await.unwrap();
        round_trip(&c).await;
    }
}
