//! Subject and queue name validation, as nats-server applies it.
//!
//! A subject is a non-empty sequence of non-empty tokens separated by `.`.
//! A token that is exactly `*` matches one token; a token that is exactly
//! `>` matches the rest and must be last. Other characters, including `{`,
//! `"` and `:`, are ordinary: `{"cmd":"agent-spinup"}` is a valid subject.
//! Whitespace is never allowed.

/// Token separator.
pub const SEP: u8 = b'.';
/// Single-token wildcard.
pub const PWC: u8 = b'*';
/// Full (tail) wildcard.
pub const FWC: u8 = b'>';

#[inline]
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0c)
}

/// A valid subscription subject (wildcards allowed).
pub fn is_valid_subject(subject: &[u8]) -> bool {
    if subject.is_empty() {
        return false;
    }
    let mut saw_fwc = false;
    for t in subject.split(|&b| b == SEP) {
        if t.is_empty() || saw_fwc {
            return false;
        }
        if t.len() > 1 {
            if t.iter().any(|&b| is_space(b)) {
                return false;
            }
            continue;
        }
        match t[0] {
            FWC => saw_fwc = true,
            b if is_space(b) => return false,
            _ => {}
        }
    }
    true
}

/// A valid subject without wildcard tokens (what may be published to).
pub fn is_valid_literal_subject(subject: &[u8]) -> bool {
    is_valid_subject(subject) && is_literal(subject)
}

/// True when no token is exactly `*` or `>`.
pub fn is_literal(subject: &[u8]) -> bool {
    subject
        .split(|&b| b == SEP)
        .all(|t| !(t.len() == 1 && (t[0] == PWC || t[0] == FWC)))
}

/// True when the literal `subject` is matched by the pattern `filter`.
pub fn subject_matches(filter: &[u8], subject: &[u8]) -> bool {
    let mut f = filter.split(|&b| b == SEP);
    let mut s = subject.split(|&b| b == SEP);
    loop {
        match (f.next(), s.next()) {
            (None, None) => return true,
            (Some([FWC]), Some(_)) => return true,
            (Some([PWC]), Some(_)) => {}
            (Some(a), Some(b)) if a == b => {}
            _ => return false,
        }
    }
}

/// True when the two patterns can match at least one common subject.
pub fn subjects_collide(a: &[u8], b: &[u8]) -> bool {
    let mut x = a.split(|&c| c == SEP);
    let mut y = b.split(|&c| c == SEP);
    loop {
        match (x.next(), y.next()) {
            (None, None) => return true,
            (Some([FWC]), Some(_)) | (Some(_), Some([FWC])) => return true,
            (Some([PWC]), Some(_)) | (Some(_), Some([PWC])) => {}
            (Some(p), Some(q)) if p == q => {}
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validity() {
        for ok in [
            &b"foo"[..],
            b"foo.bar",
            b"foo.*",
            b"foo.>",
            b">",
            b"*",
            b"foo*.bar",
            b"foo>",
            br#"{"cmd":"agent-spinup"}"#,
            b"_INBOX.abc.*",
            b"$JS.API.>",
        ] {
            assert!(is_valid_subject(ok), "{}", String::from_utf8_lossy(ok));
        }
        for bad in [
            &b""[..],
            b".",
            b"foo.",
            b".foo",
            b"foo..bar",
            b"foo.>.bar",
            b"> .x",
            b"foo bar",
            b"foo\tbar",
            b"a.\r",
        ] {
            assert!(!is_valid_subject(bad), "{}", String::from_utf8_lossy(bad));
        }
        assert!(is_valid_literal_subject(b"foo.bar"));
        assert!(is_valid_literal_subject(b"foo*.bar>"));
        assert!(!is_valid_literal_subject(b"foo.*"));
        assert!(!is_valid_literal_subject(b">"));
    }

    #[test]
    fn matching() {
        assert!(subject_matches(b"foo.*", b"foo.bar"));
        assert!(!subject_matches(b"foo.*", b"foo.bar.baz"));
        assert!(subject_matches(b"foo.>", b"foo.bar.baz"));
        assert!(!subject_matches(b"foo.>", b"foo"));
        assert!(subject_matches(b">", b"foo"));
        assert!(subject_matches(b"*.bar", b"foo.bar"));
        assert!(!subject_matches(b"foo", b"foo.bar"));
        assert!(subjects_collide(b"foo.*", b"*.bar"));
        assert!(subjects_collide(b"foo.>", b"foo.bar.*"));
        assert!(!subjects_collide(b"foo.*", b"bar.*"));
        assert!(!subjects_collide(b"foo.*", b"foo.a.b"));
    }
}
