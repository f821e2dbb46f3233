//! `tls { ... }` blocks: nats-server's `parseTLS` plus the file checks its
//! `GenTLSConfig` makes when the config is loaded.

use super::auth::go_value;
use super::types::TlsOpts;
use super::value::{go_duration, go_quote, Ctx, R};
use conf::{Spanned, Value};
use std::time::Duration;

/// Where a `tls` block sits: `verify_cert_and_check_known_urls` is only
/// accepted for routes and gateways.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum TlsContext {
    /// Client-facing listeners and outgoing leafnode connections.
    Client,
    /// Routes and gateways.
    Server,
}

/// Cipher suite names nats-server 2.12 accepts: Go's `tls.CipherSuites()`
/// (`cipherMap`)...
const CIPHERS: &[&str] = &[
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
];

/// ...and `tls.InsecureCipherSuites()`, which need
/// `allow_insecure_cipher_suites`.
const INSECURE_CIPHERS: &[&str] = &[
    "TLS_RSA_WITH_RC4_128_SHA",
    "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
    "TLS_RSA_WITH_AES_128_CBC_SHA",
    "TLS_RSA_WITH_AES_256_CBC_SHA",
    "TLS_RSA_WITH_AES_128_CBC_SHA256",
    "TLS_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA",
    "TLS_ECDHE_RSA_WITH_RC4_128_SHA",
    "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
];

/// Curve names Go accepts (`curvePreferenceMap`).
const CURVES: &[&str] = &["X25519", "CurveP256", "CurveP384", "CurveP521"];

fn is_hex64(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Go's `parseTLS` followed by `GenTLSConfig`'s checks. `Ok(None)`: an
/// error was recorded.
pub(crate) fn parse_tls(cx: &mut Ctx, item: &Spanned, ctx: TlsContext) -> R<Option<TlsOpts>> {
    let m = cx.map(item)?;
    let mut t = TlsOpts::default();
    for (k, v) in m.iter() {
        let lk = k.to_ascii_lowercase();
        let want_file = |cx: &mut Ctx, name: &str| -> Option<String> {
            match &v.value {
                Value::String(s) => Some(s.clone()),
                _ => {
                    cx.err(
                        &v.pos,
                        format!("error parsing tls config, expected '{name}' to be filename"),
                    );
                    None
                }
            }
        };
        let want_bool = |cx: &mut Ctx, name: &str| -> Option<bool> {
            match &v.value {
                Value::Bool(b) => Some(*b),
                _ => {
                    cx.err(
                        &v.pos,
                        format!("error parsing tls config, expected '{name}' to be a boolean"),
                    );
                    None
                }
            }
        };
        match lk.as_str() {
            "cert_file" => match want_file(cx, "cert_file") {
                Some(s) => t.cert_file = Some(s),
                None => return Ok(None),
            },
            "key_file" => match want_file(cx, "key_file") {
                Some(s) => t.key_file = Some(s),
                None => return Ok(None),
            },
            "ca_file" => match want_file(cx, "ca_file") {
                Some(s) => t.ca_file = Some(s),
                None => return Ok(None),
            },
            "insecure" => match want_bool(cx, "insecure") {
                Some(b) => t.insecure = b,
                None => return Ok(None),
            },
            "verify" => match want_bool(cx, "verify") {
                Some(b) => t.verify = b,
                None => return Ok(None),
            },
            "verify_and_map" => match want_bool(cx, "verify_and_map") {
                Some(b) => {
                    if b {
                        t.verify = true;
                    }
                    t.map = b;
                }
                None => return Ok(None),
            },
            "verify_cert_and_check_known_urls" => {
                match want_bool(cx, "verify_cert_and_check_known_urls") {
                    Some(b) => {
                        if b && ctx == TlsContext::Client {
                            cx.err(
                                &v.pos,
                                "verify_cert_and_check_known_urls not supported in this context",
                            );
                            return Ok(None);
                        }
                        if b {
                            t.verify = true;
                        }
                        t.check_known_urls = b;
                    }
                    None => return Ok(None),
                }
            }
            "cipher_suites" | "curve_preferences" => {
                let list = cx.array(v)?;
                if list.is_empty() {
                    cx.err(
                        &v.pos,
                        format!("error parsing tls config, '{lk}' cannot be empty"),
                    );
                    return Ok(None);
                }
                let (known, what, out) = if lk == "cipher_suites" {
                    (CIPHERS, "cipher", &mut t.cipher_suites)
                } else {
                    (CURVES, "curve preference", &mut t.curve_preferences)
                };
                let insecure: &[&str] = if lk == "cipher_suites" {
                    INSECURE_CIPHERS
                } else {
                    &[]
                };
                for e in list {
                    let s = cx.str(e)?;
                    if !known.contains(&s.as_str()) && !insecure.contains(&s.as_str()) {
                        cx.err(&e.pos, format!("unrecognized {what} {s}"));
                        return Ok(None);
                    }
                    out.push(s);
                }
            }
            "timeout" => {
                t.timeout = match &v.value {
                    Value::Int(n) => *n as f64,
                    Value::Float(f) => *f,
                    Value::String(s) => match go_duration(s) {
                        Ok(d) => d as f64 / 1e9,
                        Err(e) => {
                            cx.err(&v.pos, format!("error parsing tls config, 'timeout' {e}"));
                            return Ok(None);
                        }
                    },
                    _ => {
                        cx.err(&v.pos, "error parsing tls config, 'timeout' wrong type");
                        return Ok(None);
                    }
                }
            }
            "connection_rate_limit" => match &v.value {
                Value::Int(n) => t.rate_limit = *n,
                _ => {
                    cx.err(
                        &v.pos,
                        "error parsing tls config, 'connection_rate_limit' wrong type",
                    );
                    return Ok(None);
                }
            },
            "pinned_certs" => {
                let Value::Array(list) = &v.value else {
                    cx.err(&v.pos, "error parsing tls config, expected 'pinned_certs' to be a list of hex-encoded sha256 of DER encoded SubjectPublicKeyInfo");
                    return Ok(None);
                };
                for e in list {
                    let s = cx.str(e)?.to_lowercase();
                    if !is_hex64(&s) {
                        cx.err(&e.pos, format!("error parsing tls config, 'pinned_certs' key {s} does not look like hex-encoded sha256 of DER encoded SubjectPublicKeyInfo"));
                        return Ok(None);
                    }
                    if !t.pinned_certs.contains(&s) {
                        t.pinned_certs.push(s);
                    }
                }
            }
            "handshake_first" | "first" | "immediate" => match &v.value {
                Value::Bool(b) => t.handshake_first = *b,
                Value::String(s) => match s.to_lowercase().as_str() {
                    "true" | "on" => t.handshake_first = true,
                    "false" | "off" => t.handshake_first = false,
                    "auto" | "auto_fallback" => {
                        t.handshake_first = true;
                        t.handshake_first_fallback = Some(Duration::from_millis(50));
                    }
                    _ => match go_duration(s) {
                        Ok(ns) => {
                            t.handshake_first = true;
                            t.handshake_first_fallback =
                                Some(Duration::from_nanos(ns.max(0) as u64));
                        }
                        Err(_) => {
                            cx.err(
                                &v.pos,
                                format!("field {}'s value {} is invalid", go_quote(k), go_quote(s)),
                            );
                            return Ok(None);
                        }
                    },
                },
                other => {
                    cx.err(
                        &v.pos,
                        format!(
                            "field {} should be a boolean or a string, got {}",
                            go_quote(k),
                            other.type_name()
                        ),
                    );
                    return Ok(None);
                }
            },
            "min_version" => {
                let msg = match &v.value {
                    Value::String(s) => match s.as_str() {
                        "1.2" | "1.3" => {
                            t.min_version = Some(s.clone());
                            None
                        }
                        "1.0" | "1.1" => Some(format!("unsupported TLS version: TLS {s}")),
                        _ => Some(format!("unknown version: {s}")),
                    },
                    other => Some(format!("'min_version' wrong type: {}", go_value(other))),
                };
                if let Some(m) = msg {
                    cx.err(&v.pos, format!("error parsing tls config: {m}"));
                    return Ok(None);
                }
            }
            "cert_store"
            | "cert_match_by"
            | "cert_match"
            | "cert_match_skip_invalid"
            | "ca_certs_match" => {
                if let Some(e) = cert_store_key(&lk, &v.value) {
                    cx.err(&v.pos, e);
                    return Ok(None);
                }
            }
            "ocsp_peer" => match &v.value {
                Value::Bool(b) => t.ocsp_peer = Some(*b),
                Value::Map(om) => match ocsp_peer(om) {
                    Ok(verify) => t.ocsp_peer = Some(verify),
                    // nats-server wraps the error in one at `ocsp_peer`.
                    Err((pos, msg)) => {
                        cx.err(&v.pos, format!("{pos}: {msg}"));
                        return Ok(None);
                    }
                },
                other => {
                    cx.err(
                        &v.pos,
                        format!(
                            "error parsing ocsp peer config: unsupported type {}",
                            other.type_name()
                        ),
                    );
                    return Ok(None);
                }
            },
            "certs" | "certificates" => {
                let Value::Array(list) = &v.value else {
                    cx.err(
                        &v.pos,
                        format!(
                            "error parsing certificates config: unsupported type {}",
                            v.value.type_name()
                        ),
                    );
                    return Ok(None);
                };
                for e in list {
                    let Value::Map(pair) = &e.value else {
                        cx.err(
                            &e.pos,
                            format!(
                                "error parsing certificates config: unsupported type {}",
                                e.value.type_name()
                            ),
                        );
                        return Ok(None);
                    };
                    let (mut cert, mut key) = (String::new(), String::new());
                    // Go reports a missing half at the last value it read.
                    let mut last = &e.pos;
                    for (pk, pv) in pair.iter() {
                        last = &pv.pos;
                        let Value::String(file) = &pv.value else {
                            cx.err(
                                &pv.pos,
                                format!(
                                    "error parsing certificates config: unsupported type {}",
                                    pv.value.type_name()
                                ),
                            );
                            return Ok(None);
                        };
                        match pk {
                            "cert_file" => cert = file.clone(),
                            "key_file" => key = file.clone(),
                            _ => {
                                cx.err(
                                    &pv.pos,
                                    format!(
                                        "error parsing tls certs config, unknown field {}",
                                        go_quote(pk)
                                    ),
                                );
                                return Ok(None);
                            }
                        }
                    }
                    if cert.is_empty() || key.is_empty() {
                        cx.err(last, "error parsing certificates config: both 'cert_file' and 'cert_key' options are required");
                        return Ok(None);
                    }
                    t.certs.push((cert, key));
                }
            }
            "allow_insecure_cipher_suites" => match want_bool(cx, "allow_insecure_cipher_suites") {
                Some(b) => t.allow_insecure_ciphers = b,
                None => return Ok(None),
            },
            _ => {
                cx.err(
                    &v.pos,
                    format!("error parsing tls config, unknown field {}", go_quote(k)),
                );
                return Ok(None);
            }
        }
    }
    if !t.certs.is_empty() && t.cert_file.is_some() {
        cx.err(
            &item.pos,
            "error parsing tls config, cannot combine 'cert_file' option with 'certs' option",
        );
        return Ok(None);
    }
    let insecure: Vec<&str> = t
        .cipher_suites
        .iter()
        .map(String::as_str)
        .filter(|c| INSECURE_CIPHERS.contains(c))
        .collect();
    if !t.allow_insecure_ciphers && !insecure.is_empty() {
        cx.err(
            &item.pos,
            format!(
                "insecure cipher suites configured without 'allow_insecure_cipher_suites' option set: {}",
                insecure.join(", ")
            ),
        );
        return Ok(None);
    }
    if let Err(e) = check_files(&t) {
        cx.err(&item.pos, e);
        return Ok(None);
    }
    Ok(Some(t))
}

/// The Windows certificate store keys: checked as nats-server checks them
/// on Linux, where no store exists. `Some(error)` when refused.
fn cert_store_key(key: &str, v: &Value) -> Option<String> {
    let text = |v: &Value| match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        _ => None,
    };
    match key {
        "cert_store" => Some(match text(v) {
            None => "expected 'cert_store' to be a valid non-empty string".into(),
            Some(s) if matches!(s.to_lowercase().as_str(), "windowscurrentuser" | "windowslocalmachine") => {
                "cert_store not compatible with current operating system".into()
            }
            Some(_) => "cert store type not implemented".into(),
        }),
        "cert_match_by" => match text(v) {
            None => Some("expected 'cert_match_by' to be a valid non-empty string".into()),
            Some(s) if matches!(s.to_lowercase().as_str(), "issuer" | "subject" | "thumbprint") => None,
            Some(_) => Some("cert match by type not implemented".into()),
        },
        "cert_match" => match text(v) {
            None => Some("expected 'cert_match' to be a valid non-empty string".into()),
            Some(_) => None,
        },
        "cert_match_skip_invalid" => match v {
            Value::Bool(_) => None,
            _ => Some("expected 'cert_match_skip_invalid' to be a boolean".into()),
        },
        _ => match v {
            Value::Array(a) => a
                .iter()
                .find(|e| !matches!(e.value, Value::String(_)))
                .map(|_| "error parsing ca_cert_match: unsupported type *conf.token where string is expected".into()),
            _ => None,
        },
    }
}

/// Go's `parseOCSPPeer`: the `verify` setting, or the error and where.
fn ocsp_peer(m: &conf::Map) -> Result<bool, (conf::Pos, String)> {
    let mut verify = false;
    for (k, v) in m.iter() {
        let lk = k.to_lowercase();
        let bad_field = format!(
            "error parsing tls peer config, unknown field [{}]",
            go_quote(k)
        );
        match lk.as_str() {
            "verify" | "warn_only" | "unknown_is_good" | "allow_when_ca_unreachable" => {
                match &v.value {
                    Value::Bool(b) => {
                        if lk == "verify" {
                            verify = *b;
                        }
                    }
                    _ => return Err((v.pos.clone(), bad_field)),
                }
            }
            "allowed_clockskew" | "ca_timeout" | "cache_ttl_when_next_update_unset" => {
                let why = match &v.value {
                    Value::Int(_) | Value::Float(_) => None,
                    Value::String(s) => match go_duration(s) {
                        Ok(_) => None,
                        Err(_) if lk == "allowed_clockskew" => Some("unexpected type".into()),
                        Err(e) => Some(e),
                    },
                    _ => Some("unexpected type".to_string()),
                };
                if let Some(why) = why {
                    return Err((
                        v.pos.clone(),
                        format!("error parsing tls peer config, conversion error: {why}"),
                    ));
                }
            }
            _ => return Err((v.pos.clone(), bad_field)),
        }
    }
    Ok(verify)
}

/// PEM blocks of a file: (label, base64 body).
fn pem_blocks(data: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut lines = data.lines();
    while let Some(line) = lines.next() {
        let Some(label) = line
            .trim()
            .strip_prefix("-----BEGIN ")
            .and_then(|l| l.strip_suffix("-----"))
        else {
            continue;
        };
        let mut body = String::new();
        let end = format!("-----END {label}-----");
        let mut closed = false;
        for l in lines.by_ref() {
            if l.trim() == end {
                closed = true;
                break;
            }
            if !l.contains(':') {
                body.push_str(l.trim());
            }
        }
        if closed {
            out.push((label.to_string(), body));
        }
    }
    out
}

fn looks_like_der(b64: &str) -> bool {
    let valid = !b64.is_empty()
        && b64
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'='));
    // A DER SEQUENCE starts with 0x30, which base64-encodes to 'M'.
    valid && b64.starts_with('M')
}

fn read(path: &str) -> Result<String, String> {
    std::fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .map_err(|e| format!("open {path}: {}", io_text(&e)))
}

/// Go's wording of common IO errors.
fn io_text(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => {
            let s = e.to_string();
            match s.find(" (os error") {
                Some(i) => s[..i].to_lowercase(),
                None => s,
            }
        }
    }
}

/// What `GenTLSConfig` checks: both or neither of cert and key, readable
/// PEM certificate and key, a parseable CA bundle.
fn check_files(t: &TlsOpts) -> Result<(), String> {
    match (&t.cert_file, &t.key_file) {
        (Some(_), None) => return Err("missing 'key_file' in TLS configuration".into()),
        (None, Some(_)) => return Err("missing 'cert_file' in TLS configuration".into()),
        (Some(c), Some(k)) => {
            let pair = |e: String| format!("error parsing X509 certificate/key pair: {e}");
            let cert = read(c).map_err(pair)?;
            let blocks = pem_blocks(&cert);
            let certs: Vec<_> = blocks.iter().filter(|(l, _)| l == "CERTIFICATE").collect();
            if certs.is_empty() {
                let msg = if blocks.is_empty() {
                    "tls: failed to find any PEM data in certificate input"
                } else {
                    "tls: failed to find \"CERTIFICATE\" PEM block in certificate input after skipping PEM blocks of the following types: [PRIVATE KEY]"
                };
                return Err(pair(msg.into()));
            }
            if !certs.iter().all(|(_, b)| looks_like_der(b)) {
                return Err(pair("x509: malformed certificate".into()));
            }
            let key = read(k).map_err(pair)?;
            let kb = pem_blocks(&key);
            if kb.is_empty() {
                return Err(pair("tls: failed to find any PEM data in key input".into()));
            }
            if !kb.iter().any(|(l, b)| {
                (l == "PRIVATE KEY" || l.ends_with(" PRIVATE KEY")) && looks_like_der(b)
            }) {
                return Err(pair(
                    "tls: failed to find PEM block with type ending in \"PRIVATE KEY\" in key input"
                        .into(),
                ));
            }
        }
        (None, None) => {}
    }
    if let Some(ca) = &t.ca_file {
        let data = std::fs::read(ca).map_err(|e| format!("open {ca}: {}", io_text(&e)))?;
        let text = String::from_utf8_lossy(&data);
        if !pem_blocks(&text)
            .iter()
            .any(|(l, b)| l == "CERTIFICATE" && looks_like_der(b))
        {
            return Err("failed to parse root ca certificate".into());
        }
    }
    Ok(())
}
