//! Character classes and UTF-8 decoding with Go's semantics.

/// Go's lexer uses rune 0 both for end of input and for a NUL character.
pub(crate) const EOF: char = '\0';

/// Decodes the rune at the start of `b` like Go's `utf8.DecodeRune`: invalid
/// or truncated sequences decode as U+FFFD with width 1. `b` must not be empty.
pub(crate) fn decode(b: &[u8]) -> (char, usize) {
    match b.first() {
        None => (EOF, 0),
        Some(&c) if c < 0x80 => (c as char, 1),
        Some(_) => {
            let n = b.len().min(4);
            let valid = match std::str::from_utf8(&b[..n]) {
                Ok(s) => s,
                Err(e) => std::str::from_utf8(&b[..e.valid_up_to()]).unwrap_or(""),
            };
            match valid.chars().next() {
                Some(ch) => (ch, ch.len_utf8()),
                None => ('\u{FFFD}', 1),
            }
        }
    }
}

/// Go's `unicode.IsSpace` (the Unicode White_Space property, which is also
/// what Rust's `char::is_whitespace` implements).
pub(crate) fn is_space(r: char) -> bool {
    r.is_whitespace()
}

/// The lexer's narrower notion of whitespace: space and tab.
pub(crate) fn is_whitespace(r: char) -> bool {
    r == ' ' || r == '\t'
}

/// New line characters.
pub(crate) fn is_nl(r: char) -> bool {
    r == '\n' || r == '\r'
}

/// `=` or `:`.
pub(crate) fn is_key_separator(r: char) -> bool {
    r == '=' || r == ':'
}

/// Size suffix letters that may follow the digits of a number.
pub(crate) fn is_number_suffix(r: char) -> bool {
    matches!(
        r,
        'k' | 'K' | 'm' | 'M' | 'g' | 'G' | 't' | 'T' | 'p' | 'P' | 'e' | 'E'
    )
}

/// Go's `unicode.IsDigit`: ASCII digits plus every Unicode decimal digit
/// (general category Nd, Unicode 15.0 as in current Go releases).
pub(crate) fn is_digit(r: char) -> bool {
    if (r as u32) < 0x100 {
        return r.is_ascii_digit();
    }
    let c = r as u32;
    ND_RANGES.iter().any(|&(lo, hi)| lo <= c && c <= hi)
}

const ND_RANGES: &[(u32, u32)] = &[
    (0x660, 0x669),
    (0x6F0, 0x6F9),
    (0x7C0, 0x7C9),
    (0x966, 0x96F),
    (0x9E6, 0x9EF),
    (0xA66, 0xA6F),
    (0xAE6, 0xAEF),
    (0xB66, 0xB6F),
    (0xBE6, 0xBEF),
    (0xC66, 0xC6F),
    (0xCE6, 0xCEF),
    (0xD66, 0xD6F),
    (0xDE6, 0xDEF),
    (0xE50, 0xE59),
    (0xED0, 0xED9),
    (0xF20, 0xF29),
    (0x1040, 0x1049),
    (0x1090, 0x1099),
    (0x17E0, 0x17E9),
    (0x1810, 0x1819),
    (0x1946, 0x194F),
    (0x19D0, 0x19D9),
    (0x1A80, 0x1A89),
    (0x1A90, 0x1A99),
    (0x1B50, 0x1B59),
    (0x1BB0, 0x1BB9),
    (0x1C40, 0x1C49),
    (0x1C50, 0x1C59),
    (0xA620, 0xA629),
    (0xA8D0, 0xA8D9),
    (0xA900, 0xA909),
    (0xA9D0, 0xA9D9),
    (0xA9F0, 0xA9F9),
    (0xAA50, 0xAA59),
    (0xABF0, 0xABF9),
    (0xFF10, 0xFF19),
    (0x104A0, 0x104A9),
    (0x10D30, 0x10D39),
    (0x11066, 0x1106F),
    (0x110F0, 0x110F9),
    (0x11136, 0x1113F),
    (0x111D0, 0x111D9),
    (0x112F0, 0x112F9),
    (0x11450, 0x11459),
    (0x114D0, 0x114D9),
    (0x11650, 0x11659),
    (0x116C0, 0x116C9),
    (0x11730, 0x11739),
    (0x118E0, 0x118E9),
    (0x11950, 0x11959),
    (0x11C50, 0x11C59),
    (0x11D50, 0x11D59),
    (0x11DA0, 0x11DA9),
    (0x11F50, 0x11F59),
    (0x16A60, 0x16A69),
    (0x16AC0, 0x16AC9),
    (0x16B50, 0x16B59),
    (0x1D7CE, 0x1D7FF),
    (0x1E140, 0x1E149),
    (0x1E2F0, 0x1E2F9),
    (0x1E4F0, 0x1E4F9),
    (0x1E950, 0x1E959),
    (0x1FBF0, 0x1FBF9),
];

/// Go's `unicode.ToLower` for one rune (simple case mapping; unlike Rust's
/// full mapping, U+0130 lowers to a plain `i`).
pub(crate) fn go_lower(c: char) -> char {
    if c == '\u{130}' {
        return 'i';
    }
    let mut it = c.to_lowercase();
    match (it.next(), it.next()) {
        (Some(l), None) => l,
        _ => c,
    }
}

/// Case-insensitive comparison with Go's `strings.ToLower` semantics.
pub(crate) fn eq_fold(a: &str, b: &str) -> bool {
    let mut x = a.chars().map(go_lower);
    let mut y = b.chars().map(go_lower);
    loop {
        match (x.next(), y.next()) {
            (None, None) => return true,
            (Some(p), Some(q)) if p == q => {}
            _ => return false,
        }
    }
}

/// How Go's lexer prints a rune inside an error message.
pub(crate) fn escape_special(r: char) -> String {
    if r == '\n' {
        "\\n".to_string()
    } else {
        r.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_like_go() {
        assert_eq!(decode(b"a"), ('a', 1));
        assert_eq!(decode("é!".as_bytes()), ('é', 2));
        assert_eq!(decode(b"\xff"), ('\u{FFFD}', 1));
        assert_eq!(decode(b"\xe2\x82"), ('\u{FFFD}', 1));
        assert_eq!(decode(b"\xed\xa0\x80"), ('\u{FFFD}', 1));
    }

    #[test]
    fn digits_and_case() {
        assert!(is_digit('7'));
        assert!(is_digit('\u{663}'));
        assert!(!is_digit('a'));
        assert!(!is_digit('\u{B2}'));
        assert!(eq_fold("PORT", "port"));
        assert!(eq_fold("\u{130}nclude", "include"));
        assert!(!eq_fold("port", "ports"));
    }
}
