//! Certificates made at test time (rcgen): a CA, server and client
//! certificates, an expired one and an unrelated CA.

use std::path::PathBuf;

/// Where a test's certificates are.
pub struct Pki {
    pub dir: PathBuf,
}

impl Pki {
    /// Path of one of the files.
    pub fn path(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }
}

/// A CA, a server certificate for 127.0.0.1/localhost, a client
/// certificate, and an unrelated CA.
pub fn make_pki(name: &str) -> Pki {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
    let dir = super::scratch(name);
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let server_key = KeyPair::generate().unwrap();
    let server = CertificateParams::new(vec!["127.0.0.1".into(), "localhost".into()])
        .unwrap()
        .signed_by(&server_key, &ca, &ca_key)
        .unwrap();
    let client_key = KeyPair::generate().unwrap();
    let client = CertificateParams::new(vec!["client.example".into()])
        .unwrap()
        .signed_by(&client_key, &ca, &ca_key)
        .unwrap();
    // A server certificate that expired yesterday.
    let expired_key = KeyPair::generate().unwrap();
    let mut expired_params =
        CertificateParams::new(vec!["127.0.0.1".into(), "localhost".into()]).unwrap();
    let now = time::OffsetDateTime::now_utc();
    expired_params.not_before = now - time::Duration::days(30);
    expired_params.not_after = now - time::Duration::days(1);
    let expired = expired_params
        .signed_by(&expired_key, &ca, &ca_key)
        .unwrap();
    let other_key = KeyPair::generate().unwrap();
    let mut other_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    other_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let other = other_params.self_signed(&other_key).unwrap();
    let write = |n: &str, s: String| std::fs::write(dir.join(n), s).unwrap();
    write("ca.pem", ca.pem());
    write("ca-key.pem", ca_key.serialize_pem());
    write("server.pem", server.pem());
    write("server-key.pem", server_key.serialize_pem());
    write("client.pem", client.pem());
    write("client-key.pem", client_key.serialize_pem());
    write("other-ca.pem", other.pem());
    write("expired.pem", expired.pem());
    write("expired-key.pem", expired_key.serialize_pem());
    Pki { dir }
}

/// A client `tls {}` block with the server certificate, optionally
/// verifying client certificates.
pub fn tls_config(pki: &Pki, verify: bool) -> String {
    format!(
        "tls {{\n  cert_file: \"{}\"\n  key_file: \"{}\"\n  ca_file: \"{}\"\n  verify: {verify}\n  timeout: 2\n}}\n",
        pki.path("server.pem"),
        pki.path("server-key.pem"),
        pki.path("ca.pem")
    )
}

/// A handshake in one TLS `version` after INFO, then CONNECT/PING and its
/// PONG; the connection stays open. `Err` when the handshake or the PING
/// fails.
pub fn try_tls_client(
    port: u16,
    ca: &str,
    version: &'static rustls::SupportedProtocolVersion,
) -> Result<rustls::StreamOwned<rustls::ClientConnection, std::net::TcpStream>, String> {
    use rustls::pki_types::pem::PemObject;
    use std::io::{BufRead, Read, Write};
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls::pki_types::CertificateDer::pem_file_iter(ca).unwrap() {
        roots.add(c.unwrap()).unwrap();
    }
    let cfg = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_protocol_versions(&[version])
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let mut sock = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    sock.set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(&mut sock)
        .read_line(&mut line)
        .unwrap();
    assert!(line.starts_with("INFO "), "{line}");
    let conn =
        rustls::ClientConnection::new(std::sync::Arc::new(cfg), "127.0.0.1".try_into().unwrap())
            .unwrap();
    let mut tls = rustls::StreamOwned::new(conn, sock);
    tls.write_all(b"CONNECT {\"verbose\":false,\"name\":\"raw-tls\"}\r\nPING\r\n")
        .map_err(|e| e.to_string())?;
    let mut got = Vec::new();
    let mut b = [0u8; 256];
    while !got.windows(4).any(|w| w == b"PONG") {
        match tls.read(&mut b) {
            Ok(n) if n > 0 => got.extend_from_slice(&b[..n]),
            Ok(_) => return Err("closed before PONG".into()),
            Err(e) => return Err(e.to_string()),
        }
    }
    Ok(tls)
}
