//! Lexer states for the structure of a file: top level, `{ }` blocks, keys,
//! maps and arrays.

use super::{Kind, Lexer, Next, State};
use crate::chars::{
    escape_special, go_lower, is_digit, is_key_separator, is_nl, is_space, is_whitespace, EOF,
};

impl Lexer<'_> {
    pub(super) fn top(&mut self) -> Next {
        let r = self.next();
        if is_space(r) {
            self.ignore();
            return Some(State::Top);
        }
        match r {
            '{' => {
                self.push(State::Top);
                self.ignore();
                Some(State::BlockStart)
            }
            '#' => {
                self.push(State::Top);
                Some(State::CommentStart)
            }
            '/' => match self.slash_comment(State::Top) {
                Some(next) => next,
                None => self.eof_or_error(),
            },
            EOF => self.eof_or_error(),
            _ => {
                self.backup();
                self.push(State::TopValueEnd);
                Some(State::KeyStart)
            }
        }
    }

    pub(super) fn top_value_end(&mut self) -> Next {
        let r = self.next();
        match r {
            '#' => {
                self.push(State::Top);
                Some(State::CommentStart)
            }
            '/' => self
                .slash_comment(State::Top)
                .unwrap_or(Some(State::TopValueEnd)),
            ' ' | '\t' => Some(State::TopValueEnd),
            '\n' | '\r' | EOF | ';' | ',' | '}' => {
                self.ignore();
                Some(State::Top)
            }
            _ => {
                let msg = format!(
                    "Expected a top-level value to end with a new line, comment or EOF, but got '{}' instead.",
                    escape_special(r)
                );
                self.error(msg, self.last())
            }
        }
    }

    pub(super) fn block_start(&mut self) -> Next {
        let r = self.next();
        if is_space(r) {
            self.ignore();
            return Some(State::BlockStart);
        }
        match r {
            '{' => {
                self.push(State::BlockEnd);
                self.ignore();
                Some(State::BlockStart)
            }
            '}' => {
                self.ignore();
                self.pop()
            }
            '#' => {
                self.push(State::BlockStart);
                Some(State::CommentStart)
            }
            '/' => match self.slash_comment(State::BlockStart) {
                Some(next) => next,
                None => self.eof_or_error(),
            },
            EOF => self.eof_or_error(),
            _ => {
                self.backup();
                self.push(State::BlockValueEnd);
                Some(State::KeyStart)
            }
        }
    }

    pub(super) fn block_value_end(&mut self) -> Next {
        let r = self.next();
        match r {
            '#' => {
                self.push(State::BlockValueEnd);
                Some(State::CommentStart)
            }
            '/' => self
                .slash_comment(State::BlockValueEnd)
                .unwrap_or(Some(State::BlockValueEnd)),
            ' ' | '\t' => Some(State::BlockValueEnd),
            '\n' | '\r' | ';' | ',' => {
                self.ignore();
                Some(State::BlockStart)
            }
            '}' => {
                self.backup();
                Some(State::BlockEnd)
            }
            _ => {
                let msg = format!(
                    "Expected a block-level value to end with a new line, comment or EOF, but got '{}' instead.",
                    escape_special(r)
                );
                self.error(msg, self.last())
            }
        }
    }

    pub(super) fn block_end(&mut self) -> Next {
        let r = self.next();
        match r {
            '#' => {
                self.push(State::BlockStart);
                Some(State::CommentStart)
            }
            '/' => self
                .slash_comment(State::BlockStart)
                .unwrap_or(Some(State::BlockEnd)),
            '\n' | '\r' | ' ' | '\t' => Some(State::BlockEnd),
            ';' | ',' => {
                self.ignore();
                Some(State::BlockStart)
            }
            '}' => {
                self.ignore();
                self.pop()
            }
            _ => {
                let msg = format!(
                    "Expected a block-level to end with a '}}', but got '{}' instead.",
                    escape_special(r)
                );
                self.error(msg, self.last())
            }
        }
    }

    pub(super) fn key_start(&mut self) -> Next {
        let r = self.peek();
        if is_key_separator(r) {
            let msg = format!("Unexpected key separator '{}'", escape_special(r));
            return self.error(msg, self.pos);
        }
        if is_space(r) || r == '"' || r == '\'' {
            self.next();
            self.ignore();
            return Some(match r {
                '"' => State::DubQuotedKey,
                '\'' => State::QuotedKey,
                _ => State::KeyStart,
            });
        }
        self.ignore();
        self.next();
        Some(State::Key)
    }

    pub(super) fn quoted_key(&mut self, quote: char, this: State) -> Next {
        let r = self.peek();
        if r == quote {
            self.emit(Kind::Key);
            self.next();
            self.ignore();
            return Some(State::KeyEnd);
        }
        if r == EOF {
            return self.eof_or_error();
        }
        self.next();
        Some(this)
    }

    /// Go's `keyCheckKeyword`: a key followed by a space may be `include`.
    pub(super) fn key_check_keyword(&mut self, fall_through: State, push: Option<State>) -> Next {
        let key = String::from_utf8_lossy(self.pending());
        let mut lower = key.chars().map(go_lower);
        let is_include =
            "include".chars().all(|c| lower.next() == Some(c)) && lower.next().is_none();
        if is_include {
            self.ignore();
            if let Some(state) = push {
                self.push(state);
            }
            return Some(State::IncludeStart);
        }
        self.emit(Kind::Key);
        Some(fall_through)
    }

    pub(super) fn key(&mut self) -> Next {
        let r = self.peek();
        if is_space(r) {
            return self.key_check_keyword(State::KeyEnd, None);
        }
        if is_key_separator(r) || r == EOF {
            self.emit(Kind::Key);
            return Some(State::KeyEnd);
        }
        self.next();
        Some(State::Key)
    }

    pub(super) fn key_end(&mut self) -> Next {
        let r = self.next();
        if is_space(r) {
            self.ignore();
            return Some(State::KeyEnd);
        }
        if is_key_separator(r) {
            self.ignore();
            return Some(State::Value);
        }
        if r == EOF {
            self.emit(Kind::Eof);
            return None;
        }
        self.backup();
        Some(State::Value)
    }

    pub(super) fn value(&mut self) -> Next {
        let r = self.next();
        if is_whitespace(r) {
            self.ignore();
            return Some(State::Value);
        }
        match r {
            '[' => {
                self.ignore();
                self.emit(Kind::ArrayStart);
                Some(State::ArrayValue)
            }
            '{' => {
                self.ignore();
                self.emit(Kind::MapStart);
                Some(State::MapKeyStart)
            }
            '\'' => {
                self.ignore();
                Some(State::QuotedString)
            }
            '"' => {
                self.ignore();
                self.string_state = State::DubQuotedString;
                Some(State::DubQuotedString)
            }
            '-' => Some(State::NegNumberStart),
            '(' => {
                self.ignore();
                Some(State::Block)
            }
            _ if is_digit(r) => {
                self.backup();
                Some(State::NumberStart)
            }
            '.' => self.error("Floats must start with a digit".into(), self.last()),
            _ if is_nl(r) => self.error("Expected value but found new line".into(), self.last()),
            _ => {
                self.backup();
                self.string_state = State::String;
                Some(State::String)
            }
        }
    }

    pub(super) fn array_value(&mut self) -> Next {
        let r = self.next();
        if is_space(r) {
            self.ignore();
            return Some(State::ArrayValue);
        }
        match r {
            '#' => {
                self.push(State::ArrayValue);
                Some(State::CommentStart)
            }
            '/' | ',' => {
                if r == '/' {
                    if let Some(next) = self.slash_comment(State::ArrayValue) {
                        return next;
                    }
                }
                self.error(
                    "Unexpected array value terminator ','.".into(),
                    self.pos.saturating_sub(1),
                )
            }
            ']' => Some(State::ArrayEnd),
            _ => {
                self.backup();
                self.push(State::ArrayValueEnd);
                Some(State::Value)
            }
        }
    }

    pub(super) fn array_value_end(&mut self) -> Next {
        let r = self.next();
        match r {
            ' ' | '\t' => {
                self.ignore();
                Some(State::ArrayValueEnd)
            }
            '#' => {
                self.push(State::ArrayValueEnd);
                Some(State::CommentStart)
            }
            '/' | ',' | '\n' | '\r' => {
                if r == '/' {
                    if let Some(next) = self.slash_comment(State::ArrayValueEnd) {
                        return next;
                    }
                }
                self.ignore();
                Some(State::ArrayValue)
            }
            ']' => Some(State::ArrayEnd),
            _ => {
                let msg = format!(
                    "Expected an array value terminator \",\" or an array terminator \"]\", but got '{}' instead.",
                    escape_special(r)
                );
                self.error(msg, self.last())
            }
        }
    }

    pub(super) fn map_key_start(&mut self) -> Next {
        let r = self.peek();
        if is_key_separator(r) {
            let msg = format!("Unexpected key separator '{}'.", escape_special(r));
            return self.error(msg, self.pos);
        }
        if r == ']' {
            return self.error("Unexpected array end ']' processing map.".into(), self.pos);
        }
        if is_space(r) {
            self.next();
            self.ignore();
            return Some(State::MapKeyStart);
        }
        match r {
            '}' => {
                self.next();
                self.ignore();
                return Some(State::MapEnd);
            }
            '#' => {
                self.next();
                self.push(State::MapKeyStart);
                return Some(State::CommentStart);
            }
            '/' => {
                self.next();
                if let Some(next) = self.slash_comment(State::MapKeyStart) {
                    return next;
                }
                // A lone '/' is dropped and the key starts after it (as Go).
            }
            '\'' | '"' => {
                self.next();
                self.ignore();
                return Some(if r == '"' {
                    State::MapDubQuotedKey
                } else {
                    State::MapQuotedKey
                });
            }
            EOF => return self.error("Unexpected EOF processing map.".into(), self.pos),
            _ => {}
        }
        self.ignore();
        self.next();
        Some(State::MapKey)
    }

    pub(super) fn map_quoted_key(&mut self, quote: char, this: State) -> Next {
        let r = self.peek();
        if r == EOF {
            let msg = if quote == '"' {
                "Unexpected EOF processing double quoted map key."
            } else {
                "Unexpected EOF processing quoted map key."
            };
            return self.error(msg.into(), self.start);
        }
        if r == quote {
            self.emit(Kind::Key);
            self.next();
            self.ignore();
            return Some(State::MapKeyEnd);
        }
        self.next();
        Some(this)
    }

    pub(super) fn map_key(&mut self) -> Next {
        let r = self.peek();
        if r == EOF {
            return self.error("Unexpected EOF processing map key.".into(), self.pos);
        }
        if is_space(r) {
            return self.key_check_keyword(State::MapKeyEnd, Some(State::MapValueEnd));
        }
        if is_key_separator(r) {
            self.emit(Kind::Key);
            return Some(State::MapKeyEnd);
        }
        self.next();
        Some(State::MapKey)
    }

    pub(super) fn map_value(&mut self) -> Next {
        let r = self.next();
        if is_space(r) {
            self.ignore();
            return Some(State::MapValue);
        }
        match r {
            ',' => self.error("Unexpected map value terminator \",\".".into(), self.last()),
            '}' => {
                self.ignore();
                Some(State::MapEnd)
            }
            _ => {
                self.backup();
                self.push(State::MapValueEnd);
                Some(State::Value)
            }
        }
    }

    pub(super) fn map_value_end(&mut self) -> Next {
        let r = self.next();
        match r {
            ' ' | '\t' => {
                self.ignore();
                Some(State::MapValueEnd)
            }
            '#' => {
                self.push(State::MapValueEnd);
                Some(State::CommentStart)
            }
            '/' | ';' | ',' | '\n' | '\r' => {
                if r == '/' {
                    if let Some(next) = self.slash_comment(State::MapValueEnd) {
                        return next;
                    }
                }
                self.ignore();
                Some(State::MapKeyStart)
            }
            '}' => {
                self.ignore();
                Some(State::MapEnd)
            }
            _ => {
                let msg = format!(
                    "Expected a map value terminator \",\" or a map terminator \"}}\", but got '{}' instead.",
                    escape_special(r)
                );
                self.error(msg, self.last())
            }
        }
    }
}
