//! TLS (rustls with the ring provider): the server configuration built
//! from `tls { cert_file, key_file, ca_file, verify }` (or the `--tls*`
//! flags), the client configuration a server uses to dial TLS routes, and
//! the per-connection session that the reader decrypts through and the
//! writer encrypts through.
//!
//! As nats-server does by default, the server sends `INFO` in plaintext
//! (with `tls_required`) and the client then starts the TLS handshake; a
//! client that sends plaintext instead is closed (a TLS handshake error).

use crate::config::types::TlsOpts;
use parking_lot::Mutex;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::io::{Read, Write};
use std::sync::Arc;

/// The TLS record type of a handshake: the first byte a TLS client sends.
pub const HANDSHAKE_RECORD: u8 = 0x16;

/// The ring provider restricted to `cipher_suites` and
/// `curve_preferences` where rustls has them (nats-server's names; the TLS
/// 1.3 suites always stay, as in Go). Names rustls lacks are skipped.
fn provider(t: &TlsOpts) -> Arc<rustls::crypto::CryptoProvider> {
    let mut p = rustls::crypto::ring::default_provider();
    if !t.cipher_suites.is_empty() {
        let wanted = &t.cipher_suites;
        p.cipher_suites.retain(|s| match s {
            rustls::SupportedCipherSuite::Tls13(_) => true,
            rustls::SupportedCipherSuite::Tls12(_) => s
                .suite()
                .as_str()
                .is_some_and(|n| wanted.iter().any(|w| w == n)),
        });
    }
    if !t.curve_preferences.is_empty() {
        let mut groups = Vec::new();
        for c in &t.curve_preferences {
            let name = match c.as_str() {
                "X25519" => rustls::NamedGroup::X25519,
                "CurveP256" => rustls::NamedGroup::secp256r1,
                "CurveP384" => rustls::NamedGroup::secp384r1,
                _ => continue,
            };
            if let Some(g) = p.kx_groups.iter().find(|g| g.name() == name) {
                groups.push(*g);
            }
        }
        if !groups.is_empty() {
            p.kx_groups = groups;
        }
    }
    Arc::new(p)
}

/// The protocol versions `min_version` allows (TLS 1.2 and 1.3 by default).
fn versions(t: &TlsOpts) -> &'static [&'static rustls::SupportedProtocolVersion] {
    static TLS13_ONLY: [&rustls::SupportedProtocolVersion; 1] = [&rustls::version::TLS13];
    if t.min_version.as_deref() == Some("1.3") {
        &TLS13_ONLY
    } else {
        rustls::DEFAULT_VERSIONS
    }
}

/// Builds the server's TLS configuration.
pub fn server_config(t: &TlsOpts) -> Result<Arc<rustls::ServerConfig>, String> {
    let provider = provider(t);
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(versions(t))
        .map_err(|e| e.to_string())?;
    let builder = if t.verify || t.map {
        let ca = t.ca_file.as_deref().ok_or("tls: verify needs ca_file")?;
        let roots = roots(ca)?;
        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
            Arc::new(roots),
            provider.clone(),
        )
        .build()
        .map_err(|e| e.to_string())?;
        builder.with_client_cert_verifier(verifier)
    } else {
        builder.with_no_client_auth()
    };
    let config = if t.cert_file.is_none() && !t.certs.is_empty() {
        builder.with_cert_resolver(Arc::new(ByName::new(&t.certs, &provider)?))
    } else {
        let (certs, key) = cert_and_key(t)?;
        builder
            .with_single_cert(certs, key)
            .map_err(|e| format!("error parsing X509 certificate/key pair: {e}"))?
    };
    Ok(Arc::new(config))
}

/// `tls { certs: [...] }`: the certificate whose DNS names match the
/// client's server name (SNI), else the first (as Go's `tls.Config` with
/// several certificates).
#[derive(Debug)]
struct ByName {
    certs: Vec<(Vec<String>, Arc<rustls::sign::CertifiedKey>)>,
}

impl ByName {
    fn new(
        pairs: &[(String, String)],
        provider: &rustls::crypto::CryptoProvider,
    ) -> Result<ByName, String> {
        let mut certs = Vec::new();
        for (cert_file, key_file) in pairs {
            let t = TlsOpts {
                cert_file: Some(cert_file.clone()),
                key_file: Some(key_file.clone()),
                ..TlsOpts::default()
            };
            let (chain, key) = cert_and_key(&t)?;
            let names = chain
                .first()
                .and_then(|c| x509_parser::parse_x509_certificate(c.as_ref()).ok())
                .and_then(|(_, x)| {
                    x.subject_alternative_name().ok().flatten().map(|san| {
                        san.value
                            .general_names
                            .iter()
                            .filter_map(|n| match n {
                                x509_parser::extensions::GeneralName::DNSName(d) => {
                                    Some(d.to_ascii_lowercase())
                                }
                                _ => None,
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .unwrap_or_default();
            let signer = provider
                .key_provider
                .load_private_key(key)
                .map_err(|e| format!("error parsing X509 certificate/key pair: {e}"))?;
            certs.push((
                names,
                Arc::new(rustls::sign::CertifiedKey::new(chain, signer)),
            ));
        }
        Ok(ByName { certs })
    }
}

impl rustls::server::ResolvesServerCert for ByName {
    fn resolve(
        &self,
        hello: rustls::server::ClientHello<'_>,
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        let wanted = hello.server_name().map(str::to_ascii_lowercase);
        let matches = |names: &[String], host: &str| {
            names.iter().any(|n| match n.strip_prefix("*.") {
                Some(base) => host.split_once('.').is_some_and(|(_, rest)| rest == base),
                None => n == host,
            })
        };
        wanted
            .and_then(|h| self.certs.iter().find(|(names, _)| matches(names, &h)))
            .or(self.certs.first())
            .map(|(_, k)| k.clone())
    }
}

fn roots(ca: &str) -> Result<rustls::RootCertStore, String> {
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(ca).map_err(|e| format!("{ca}: {e}"))? {
        roots
            .add(c.map_err(|e| format!("{ca}: {e}"))?)
            .map_err(|e| format!("{ca}: {e}"))?;
    }
    Ok(roots)
}

fn cert_and_key(
    t: &TlsOpts,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), String> {
    let cert_file = t.cert_file.as_deref().ok_or("tls: cert_file is required")?;
    let key_file = t.key_file.as_deref().ok_or("tls: key_file is required")?;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert_file)
        .map_err(|e| format!("error parsing X509 certificate/key pair: {cert_file}: {e}"))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("error parsing X509 certificate/key pair: {cert_file}: {e}"))?;
    let key = PrivateKeyDer::from_pem_file(key_file)
        .map_err(|e| format!("error parsing X509 certificate/key pair: {key_file}: {e}"))?;
    Ok((certs, key))
}

/// The configuration for dialing TLS routes: the peer's certificate is
/// checked against `ca_file` (the system roots without one), and this
/// server's own certificate is presented for mutual TLS.
pub fn client_config(t: &TlsOpts) -> Result<Arc<rustls::ClientConfig>, String> {
    let provider = provider(t);
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(versions(t))
        .map_err(|e| e.to_string())?;
    let roots = match t.ca_file.as_deref() {
        Some(ca) => roots(ca)?,
        None => rustls::RootCertStore::empty(),
    };
    let builder = builder.with_root_certificates(roots);
    let config = match (t.cert_file.is_some(), t.key_file.is_some()) {
        (true, true) => {
            let (certs, key) = cert_and_key(t)?;
            builder
                .with_client_auth_cert(certs, key)
                .map_err(|e| format!("error parsing X509 certificate/key pair: {e}"))?
        }
        _ => builder.with_no_client_auth(),
    };
    Ok(Arc::new(config))
}

/// One connection's TLS session (server side for clients and accepted
/// routes, client side for dialed routes).
pub struct Session {
    conn: Mutex<rustls::Connection>,
    /// The peer sent its close_notify: the stream ends there.
    peer_closed: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("tls::Session")
    }
}

impl Session {
    /// A session for a new client.
    pub fn new(config: Arc<rustls::ServerConfig>) -> Result<Session, String> {
        let conn = rustls::ServerConnection::new(config).map_err(|e| e.to_string())?;
        Ok(Session::wrap(conn.into()))
    }

    /// A session dialing `host` (checked against its certificate).
    pub fn client(config: Arc<rustls::ClientConfig>, host: &str) -> Result<Session, String> {
        let name = rustls::pki_types::ServerName::try_from(host.to_string())
            .map_err(|e| format!("{host}: {e}"))?;
        let conn = rustls::ClientConnection::new(config, name).map_err(|e| e.to_string())?;
        Ok(Session::wrap(conn.into()))
    }

    fn wrap(mut conn: rustls::Connection) -> Session {
        // The outbound queue (max_pending) bounds what waits; rustls must
        // not drop plaintext past its own default limit.
        conn.set_buffer_limit(None);
        Session {
            conn: Mutex::new(conn),
            peer_closed: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// True when `pinned` is empty or holds the SHA-256 (lower-case hex) of
    /// the peer certificate's SubjectPublicKeyInfo (`pinned_certs`).
    /// `Err` carries the peer's key id for the log.
    pub fn check_pinned(&self, pinned: &[String]) -> Result<(), String> {
        if pinned.is_empty() {
            return Ok(());
        }
        let c = self.conn.lock();
        let Some(cert) = c.peer_certificates().and_then(|p| p.first()) else {
            return Err("no peer certificate".into());
        };
        let spki = x509_parser::parse_x509_certificate(cert.as_ref())
            .map_err(|e| e.to_string())?
            .1
            .public_key()
            .raw
            .to_vec();
        let digest = ring::digest::digest(&ring::digest::SHA256, &spki);
        let id: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
        if pinned.iter().any(|p| p.eq_ignore_ascii_case(&id)) {
            Ok(())
        } else {
            Err(id)
        }
    }

    /// The names in the peer's certificate (for `verify_and_map`).
    pub fn peer_names(&self) -> Option<crate::auth::certmap::CertNames> {
        let c = self.conn.lock();
        let cert = c.peer_certificates()?.first()?;
        crate::auth::certmap::CertNames::of(cert.as_ref())
    }

    /// The negotiated protocol version and cipher suite, once known, in
    /// nats-server's words (`1.3`, `TLS_AES_128_GCM_SHA256`).
    pub fn details(&self) -> Option<(String, String)> {
        let c = self.conn.lock();
        let v = match c.protocol_version()? {
            rustls::ProtocolVersion::TLSv1_3 => "1.3".to_string(),
            rustls::ProtocolVersion::TLSv1_2 => "1.2".to_string(),
            other => format!("{other:?}"),
        };
        let suite = c.negotiated_cipher_suite()?.suite();
        // rustls names TLS 1.3 suites `TLS13_...`; Go's names are `TLS_...`.
        let name = suite.as_str().unwrap_or("unknown");
        let name = name
            .strip_prefix("TLS13_")
            .map_or(name.to_string(), |n| format!("TLS_{n}"));
        Some((v, name))
    }

    /// Feeds received TLS records from `raw` (all of them) and appends the
    /// decrypted bytes to `plain`.
    pub fn decrypt(&self, raw: &mut Vec<u8>, plain: &mut Vec<u8>) -> Result<(), String> {
        let mut c = self.conn.lock();
        let mut input: &[u8] = raw;
        while !input.is_empty() {
            match c.read_tls(&mut input) {
                Ok(0) => break,
                Ok(_) => {
                    let state = c.process_new_packets().map_err(|e| e.to_string())?;
                    if state.peer_has_closed() {
                        self.peer_closed
                            .store(true, std::sync::atomic::Ordering::Relaxed);
                    }
                }
                Err(e) => return Err(e.to_string()),
            }
        }
        let used = raw.len() - input.len();
        raw.drain(..used);
        let mut chunk = [0u8; 16 * 1024];
        loop {
            match c.reader().read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => plain.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) => return Err(e.to_string()),
            }
        }
        Ok(())
    }

    /// Encrypts `plain` (may be empty) and appends every pending TLS record
    /// (handshake included) to `out`.
    pub fn encrypt(&self, plain: &[u8], out: &mut Vec<u8>) {
        let mut c = self.conn.lock();
        if !plain.is_empty() {
            let _ = c.writer().write_all(plain);
        }
        while c.wants_write() {
            if c.write_tls(out).is_err() {
                break;
            }
        }
    }

    /// True once the peer sent its close_notify: what it sent before is
    /// still to be processed, then the connection ends (a clean EOF).
    pub fn peer_closed(&self) -> bool {
        self.peer_closed.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The close_notify alert to send last, after every queued byte
    /// (nothing once a handshake has not completed, as Go's `tls.Conn`).
    pub fn close_notify(&self, out: &mut Vec<u8>) {
        let mut c = self.conn.lock();
        if c.is_handshaking() {
            return;
        }
        c.send_close_notify();
        while c.wants_write() {
            if c.write_tls(out).is_err() {
                break;
            }
        }
    }

    /// True when TLS records (handshake, alerts) wait to be written.
    pub fn wants_write(&self) -> bool {
        self.conn.lock().wants_write()
    }

    /// True once the handshake is done.
    pub fn established(&self) -> bool {
        !self.conn.lock().is_handshaking()
    }
}
