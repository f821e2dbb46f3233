//! Lexer states for values: strings, blocks, numbers, datetimes, include
//! paths and comments.

use super::{Kind, Lexer, Next, State};
use crate::chars::{escape_special, is_digit, is_nl, is_number_suffix, is_whitespace, EOF};

impl Lexer<'_> {
    pub(super) fn digit_error(&mut self, r: char) -> Next {
        let msg = if r == '.' {
            "Floats must start with a digit, not '.'.".to_string()
        } else {
            format!("Expected a digit but got '{}'.", escape_special(r))
        };
        self.error(msg, self.last())
    }

    pub(super) fn include_quoted(&mut self, quote: char, this: State) -> Next {
        let r = self.next();
        if r == quote {
            self.backup();
            self.emit(Kind::Include);
            self.next();
            self.ignore();
            return self.pop();
        }
        if r == EOF {
            let msg = if quote == '"' {
                "Unexpected EOF in double quoted include"
            } else {
                "Unexpected EOF in quoted include"
            };
            return self.error(msg.into(), self.start);
        }
        Some(this)
    }

    pub(super) fn include_string(&mut self) -> Next {
        let r = self.next();
        if is_nl(r) || r == EOF || r == ';' || r == '}' || is_whitespace(r) {
            self.backup();
            self.emit(Kind::Include);
            return self.pop();
        }
        if r == '\'' {
            self.backup();
            self.emit(Kind::Include);
            self.next();
            self.ignore();
            return self.pop();
        }
        Some(State::IncludeString)
    }

    pub(super) fn include(&mut self) -> Next {
        let r = self.next();
        let what = match r {
            '\'' => {
                self.ignore();
                return Some(State::IncludeQuotedString);
            }
            '"' => {
                self.ignore();
                return Some(State::IncludeDubQuotedString);
            }
            '[' => "start of an array",
            '{' => "start of a map",
            '(' => "start of a block",
            '-' => "start of a number",
            '\\' => "escape sequence",
            _ if is_digit(r) => "start of a number",
            _ if is_nl(r) => "new line",
            _ => {
                self.backup();
                return Some(State::IncludeString);
            }
        };
        self.error(
            format!("Expected include value but found {what}"),
            self.last(),
        )
    }

    pub(super) fn is_bool(&self) -> bool {
        let s = self.pending();
        ["true", "false", "on", "off", "yes", "no"]
            .iter()
            .any(|w| s.eq_ignore_ascii_case(w.as_bytes()))
    }

    pub(super) fn is_variable(&mut self) -> bool {
        if self.input.get(self.start) == Some(&b'$') {
            self.start += 1;
            return true;
        }
        false
    }

    /// Unterminated quoted value: Go stops quietly if nothing is pending.
    pub(super) fn string_eof(&mut self) -> Next {
        if self.pos > self.start {
            return self.error("Unexpected EOF.".into(), self.start);
        }
        self.emit(Kind::Eof);
        None
    }

    pub(super) fn quoted_string(&mut self) -> Next {
        let r = self.next();
        if r == '\'' {
            self.backup();
            self.emit(Kind::String);
            self.next();
            self.ignore();
            return self.pop();
        }
        if r == EOF {
            return self.string_eof();
        }
        Some(State::QuotedString)
    }

    pub(super) fn dub_quoted_string(&mut self) -> Next {
        let r = self.next();
        match r {
            '\\' => {
                self.add_current_string_part(1);
                Some(State::StringEscape)
            }
            '"' => {
                self.backup();
                self.emit_string();
                self.next();
                self.ignore();
                self.pop()
            }
            EOF => self.string_eof(),
            _ => Some(State::DubQuotedString),
        }
    }

    pub(super) fn string(&mut self) -> Next {
        let r = self.next();
        match r {
            '\\' => {
                self.add_current_string_part(1);
                Some(State::StringEscape)
            }
            _ if is_nl(r) || is_whitespace(r) || matches!(r, EOF | ';' | ',' | ']' | '}') => {
                self.backup();
                if self.parts.is_some() {
                    self.emit_string();
                } else if self.is_bool() {
                    self.emit(Kind::Bool);
                } else if self.is_variable() {
                    self.emit(Kind::Variable);
                } else {
                    self.emit_string();
                }
                self.pop()
            }
            '\'' => {
                self.backup();
                self.emit_string();
                self.next();
                self.ignore();
                self.pop()
            }
            _ => Some(State::String),
        }
    }

    /// Block string: raw text up to a `)` alone on its line.
    pub(super) fn block(&mut self) -> Next {
        let r = self.next();
        if r == ')' {
            // Look at the byte before the ')', as Go does with two backups.
            self.backup();
            self.backup();
            if self.next() != '\n' {
                self.next();
                return Some(State::Block);
            }
            self.next();
            let after = self.next();
            if after == '\n' || after == EOF {
                self.backup();
                self.backup();
                self.emit(Kind::String);
                self.next();
                self.ignore();
                return self.pop();
            }
            self.backup();
            return Some(State::Block);
        }
        if r == EOF {
            return self.error("Unexpected EOF processing block.".into(), self.start);
        }
        Some(State::Block)
    }

    pub(super) fn string_escape(&mut self) -> Next {
        let r = self.next();
        let piece: &[u8] = match r {
            'x' => return Some(State::StringBinary),
            't' => b"\t",
            'n' => b"\n",
            'r' => b"\r",
            '"' => b"\"",
            '\\' => b"\\",
            _ => {
                let msg = format!(
                    "Invalid escape character '{}'. Only the following escape characters are allowed: \\xXX, \\t, \\n, \\r, \\\", \\\\.",
                    escape_special(r)
                );
                return self.error(msg, self.last());
            }
        };
        self.add_string_part(piece)
    }

    pub(super) fn string_binary(&mut self) -> Next {
        for _ in 0..2 {
            if is_nl(self.next()) {
                return self.error(
                    "Expected two hexadecimal digits after '\\x', but hit end of line".into(),
                    self.last(),
                );
            }
        }
        let offset = self.pos.saturating_sub(2);
        let digits = &self.input[offset..self.pos];
        let hex = |b: u8| (b as char).to_digit(16);
        match (hex(digits[0]), hex(digits[1])) {
            (Some(hi), Some(lo)) => {
                self.add_string_part(&[(hi * 16 + lo) as u8]);
                Some(self.string_state)
            }
            _ => {
                let msg = format!(
                    "Expected two hexadecimal digits after '\\x', but got '{}'",
                    String::from_utf8_lossy(digits)
                );
                self.error(msg, offset)
            }
        }
    }

    /// Whether `r` ends a number (anything else turns it into a string).
    pub(super) fn ends_number(r: char) -> bool {
        is_nl(r) || is_whitespace(r) || is_digit(r) || matches!(r, EOF | '}' | ';' | ',')
    }

    pub(super) fn number(&mut self) -> Next {
        let r = self.next();
        if r == '-' {
            if self.pos - self.start != 5 {
                return self.error(
                    "All ISO8601 dates must be in full Zulu form.".into(),
                    self.last(),
                );
            }
            return Some(State::DateAfterYear);
        }
        if is_digit(r) {
            return Some(State::Number);
        }
        if r == '.' {
            return Some(State::FloatStart);
        }
        if is_number_suffix(r) {
            return Some(State::ConvenientNumber);
        }
        if !Self::ends_number(r) {
            self.string_state = State::String;
            return Some(State::String);
        }
        self.backup();
        self.emit(Kind::Integer);
        self.pop()
    }

    pub(super) fn convenient_number(&mut self) -> Next {
        let r = self.next();
        if matches!(r, 'b' | 'B' | 'i' | 'I') {
            return Some(State::ConvenientNumber);
        }
        self.backup();
        if Self::ends_number(r) {
            self.emit(Kind::Integer);
            return self.pop();
        }
        self.string_state = State::String;
        Some(State::String)
    }

    pub(super) fn date_after_year(&mut self) -> Next {
        for f in "00-00T00:00:00Z".chars() {
            let r = self.next();
            if f == '0' {
                if !is_digit(r) {
                    let msg = format!(
                        "Expected digit in ISO8601 datetime, but found '{}' instead.",
                        escape_special(r)
                    );
                    return self.error(msg, self.last());
                }
            } else if f != r {
                let msg = format!(
                    "Expected '{}' in ISO8601 datetime, but found '{}' instead.",
                    f,
                    escape_special(r)
                );
                return self.error(msg, self.last());
            }
        }
        self.emit(Kind::Datetime);
        self.pop()
    }

    pub(super) fn include_start(&mut self) -> Next {
        if is_whitespace(self.next()) {
            self.ignore();
            return Some(State::IncludeStart);
        }
        self.backup();
        Some(State::Include)
    }

    pub(super) fn neg_number(&mut self) -> Next {
        let r = self.next();
        if is_digit(r) {
            return Some(State::NegNumber);
        }
        if r == '.' {
            return Some(State::FloatStart);
        }
        if is_number_suffix(r) {
            return Some(State::ConvenientNumber);
        }
        self.backup();
        self.emit(Kind::Integer);
        self.pop()
    }

    pub(super) fn float_start(&mut self) -> Next {
        let r = self.next();
        if !is_digit(r) {
            let msg = format!(
                "Floats must have a digit after the '.', but got '{}' instead.",
                escape_special(r)
            );
            return self.error(msg, self.last());
        }
        Some(State::Float)
    }

    pub(super) fn float(&mut self) -> Next {
        let r = self.next();
        if is_digit(r) {
            return Some(State::Float);
        }
        if r == '.' {
            return Some(State::IpAddr);
        }
        self.backup();
        self.emit(Kind::Float);
        self.pop()
    }

    pub(super) fn ip_addr(&mut self) -> Next {
        let r = self.next();
        if is_digit(r) || matches!(r, '.' | ':' | '-') {
            return Some(State::IpAddr);
        }
        self.backup();
        self.emit(Kind::String);
        self.pop()
    }

    pub(super) fn comment_start(&mut self) -> Next {
        self.ignore();
        self.emit(Kind::CommentStart);
        Some(State::Comment)
    }

    pub(super) fn comment(&mut self) -> Next {
        let r = self.peek();
        if is_nl(r) || r == EOF {
            self.emit(Kind::Text);
            return self.pop();
        }
        self.next();
        Some(State::Comment)
    }

    pub(super) fn number_start(&mut self, then: State) -> Next {
        let r = self.next();
        if !is_digit(r) {
            return self.digit_error(r);
        }
        Some(then)
    }
}
