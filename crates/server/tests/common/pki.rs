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
