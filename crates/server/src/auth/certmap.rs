//! `verify_and_map`: the names in a client certificate a user can be
//! mapped from, as nats-server reads them (e-mail addresses, DNS names and
//! URIs of the subject alternative names, then the subject as a
//! distinguished name, in either order of its parts, then as Go prints it).

use x509_parser::prelude::*;

/// The names of a client certificate.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CertNames {
    /// rfc822Name entries.
    pub emails: Vec<String>,
    /// dNSName entries.
    pub dns: Vec<String>,
    /// URI entries.
    pub uris: Vec<String>,
    /// The subject's attributes (lower-case short type, value), most
    /// significant first as in the certificate.
    pub subject: Vec<(String, String)>,
    /// The subject as Go's `pkix.Name.String` prints it (`CN=a,O=b`).
    pub subject_text: String,
}

/// Go's short names of subject attribute types.
fn type_name(oid: &str) -> Option<&'static str> {
    Some(match oid {
        "2.5.4.6" => "C",
        "2.5.4.10" => "O",
        "2.5.4.11" => "OU",
        "2.5.4.3" => "CN",
        "2.5.4.5" => "SERIALNUMBER",
        "2.5.4.7" => "L",
        "2.5.4.8" => "ST",
        "2.5.4.9" => "STREET",
        "2.5.4.17" => "POSTALCODE",
        "0.9.2342.19200300.100.1.25" => "DC",
        "0.9.2342.19200300.100.1.1" => "UID",
        "1.2.840.113549.1.9.1" => "EMAILADDRESS",
        _ => return None,
    })
}

/// Escapes a value as Go's `RDNSequence.String` does.
fn escape(v: &str) -> String {
    let n = v.chars().count();
    let mut out = String::with_capacity(v.len());
    for (k, c) in v.chars().enumerate() {
        let esc = match c {
            ',' | '+' | '"' | '\\' | '<' | '>' | ';' => true,
            ' ' => k == 0 || k + 1 == n,
            '#' => k == 0,
            _ => false,
        };
        if esc {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

impl CertNames {
    /// The names of the DER certificate, `None` when it does not parse.
    pub fn of(der: &[u8]) -> Option<CertNames> {
        let (_, cert) = X509Certificate::from_der(der).ok()?;
        let mut names = CertNames::default();
        if let Ok(Some(san)) = cert.subject_alternative_name() {
            for g in &san.value.general_names {
                match g {
                    GeneralName::RFC822Name(e) => names.emails.push(e.to_string()),
                    GeneralName::DNSName(d) => names.dns.push(d.to_string()),
                    GeneralName::URI(u) => names.uris.push(u.to_string()),
                    _ => {}
                }
            }
        }
        let rdns: Vec<_> = cert.subject().iter_rdn().collect();
        let mut parts = Vec::new();
        for rdn in rdns.iter().rev() {
            let mut attrs = Vec::new();
            for atv in rdn.iter() {
                let oid = atv.attr_type().to_id_string();
                let value = atv
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|_| String::from_utf8_lossy(atv.as_slice()).into_owned());
                match type_name(&oid) {
                    // Go prints the attribute types it does not name (DC,
                    // UID, e-mail among them) as `OID=#hex`; they match
                    // through the distinguished name comparison.
                    Some(t) if !matches!(t, "DC" | "UID" | "EMAILADDRESS") => {
                        attrs.push(format!("{t}={}", escape(&value)));
                    }
                    _ => {
                        let data = atv.as_slice();
                        let mut der = vec![atv.attr_value().tag().0 as u8];
                        if data.len() < 128 {
                            der.push(data.len() as u8);
                        } else {
                            let len = data.len().to_be_bytes();
                            let skip = len.iter().take_while(|&&b| b == 0).count();
                            der.push(0x80 | (len.len() - skip) as u8);
                            der.extend_from_slice(&len[skip..]);
                        }
                        der.extend_from_slice(data);
                        let hex: String = der.iter().map(|b| format!("{b:02x}")).collect();
                        attrs.push(format!("{oid}=#{hex}"));
                    }
                }
                let t = type_name(&oid).map_or(oid.clone(), str::to_string);
                names.subject.push((t.to_ascii_lowercase(), value));
            }
            parts.push(attrs.join("+"));
        }
        names.subject_text = parts.join(",");
        // Most significant first, as written in the certificate.
        names.subject.reverse();
        Some(names)
    }

    /// The configured user this certificate maps to, in nats-server's
    /// order of preference.
    pub fn find_user<'a>(&self, users: &'a [String]) -> Option<&'a str> {
        let lookup = |name: &str| users.iter().find(|u| *u == name).map(String::as_str);
        for n in self.emails.iter().chain(&self.dns).chain(&self.uris) {
            if let Some(u) = lookup(n) {
                return Some(u);
            }
        }
        if !self.subject.is_empty() {
            let mut mine: Vec<_> = self.subject.clone();
            mine.sort();
            for u in users {
                if let Some(mut dn) = parse_dn(u) {
                    dn.sort();
                    if dn == mine {
                        return Some(u.as_str());
                    }
                }
            }
        }
        lookup(&self.subject_text)
    }
}

/// Parses an RFC 4514 distinguished name (`CN=a,O=b`) into (lower-case
/// type, value) pairs; `None` when it is not one.
fn parse_dn(s: &str) -> Option<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut parts = Vec::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => cur.push(chars.next()?),
            ',' | '+' => parts.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    parts.push(cur);
    for p in parts {
        let (t, v) = p.split_once('=')?;
        let t = t.trim();
        if t.is_empty() || t.contains(' ') {
            return None;
        }
        out.push((t.to_ascii_lowercase(), v.trim().to_string()));
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dn_parsing_and_escapes() {
        assert_eq!(
            parse_dn("CN=a\\, b,O=Org").unwrap(),
            [("cn".into(), "a, b".into()), ("o".into(), "Org".into())]
        );
        assert!(parse_dn("just a name").is_none());
        assert_eq!(escape(" #a,b "), "\\ #a\\,b\\ ");
        assert_eq!(escape("#x"), "\\#x");
    }
}
