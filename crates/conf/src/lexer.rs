//! Tokenizer for the configuration format.
//!
//! A state machine with an explicit stack of return states, modelled on Go's
//! `conf/lex.go` so that the same inputs are accepted, the same tokens come
//! out and positions are computed the same way. States never recurse, so
//! deeply nested input cannot overflow the call stack.

use std::collections::VecDeque;

use crate::chars::{
    decode, escape_special, go_lower, is_digit, is_key_separator, is_nl, is_number_suffix,
    is_space, is_whitespace, EOF,
};

/// Kinds of tokens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Error,
    Eof,
    Key,
    Text,
    String,
    Bool,
    Integer,
    Float,
    Datetime,
    ArrayStart,
    ArrayEnd,
    MapStart,
    MapEnd,
    CommentStart,
    Variable,
    Include,
}

/// A token with its (Go-compatible) position.
#[derive(Clone, Debug)]
pub(crate) struct Item {
    pub kind: Kind,
    pub val: String,
    pub line: usize,
    pub col: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Top,
    TopValueEnd,
    BlockStart,
    BlockValueEnd,
    BlockEnd,
    KeyStart,
    DubQuotedKey,
    QuotedKey,
    IncludeStart,
    IncludeQuotedString,
    IncludeDubQuotedString,
    IncludeString,
    Include,
    Key,
    KeyEnd,
    Value,
    ArrayValue,
    ArrayValueEnd,
    ArrayEnd,
    MapKeyStart,
    MapQuotedKey,
    MapDubQuotedKey,
    MapKey,
    MapKeyEnd,
    MapValue,
    MapValueEnd,
    MapEnd,
    QuotedString,
    DubQuotedString,
    String,
    Block,
    StringEscape,
    StringBinary,
    NumberStart,
    Number,
    ConvenientNumber,
    DateAfterYear,
    NegNumberStart,
    NegNumber,
    FloatStart,
    Float,
    IpAddr,
    CommentStart,
    Comment,
}

type Next = Option<State>;

pub(crate) struct Lexer<'a> {
    input: &'a [u8],
    /// Start of the pending token.
    start: usize,
    /// Current read offset.
    pos: usize,
    /// Width of the last rune read (0 at end of input).
    width: usize,
    line: usize,
    state: Next,
    stack: Vec<State>,
    items: VecDeque<Item>,
    /// Decoded pieces of a string containing escapes (`None`: no escapes).
    parts: Option<Vec<u8>>,
    /// String state to return to after an escape sequence.
    string_state: State,
    /// Offset of the `'\n'` that starts the current line (0 on line 1).
    lstart: usize,
    /// `lstart` as of the last emitted or ignored token.
    ilstart: usize,
}

impl<'a> Lexer<'a> {
    pub(crate) fn new(input: &'a [u8]) -> Self {
        Lexer {
            input,
            start: 0,
            pos: 0,
            width: 0,
            line: 1,
            state: Some(State::Top),
            stack: Vec::new(),
            items: VecDeque::new(),
            parts: None,
            string_state: State::String,
            lstart: 0,
            ilstart: 0,
        }
    }

    /// Produces the next token. After an `Error` or `Eof` token, keeps
    /// returning `Eof`.
    pub(crate) fn next_item(&mut self) -> Item {
        loop {
            if let Some(item) = self.items.pop_front() {
                return item;
            }
            match self.state {
                Some(state) => self.state = self.step(state),
                None => {
                    return Item {
                        kind: Kind::Eof,
                        val: String::new(),
                        line: self.line,
                        col: 0,
                    }
                }
            }
        }
    }

    fn next(&mut self) -> char {
        if self.pos >= self.input.len() {
            self.width = 0;
            return EOF;
        }
        if self.input[self.pos] == b'\n' {
            self.line += 1;
            self.lstart = self.pos;
        }
        let (r, w) = decode(&self.input[self.pos..]);
        self.width = w;
        self.pos += w;
        r
    }

    fn backup(&mut self) {
        self.pos = self.pos.saturating_sub(self.width);
        if self.pos < self.input.len() && self.input[self.pos] == b'\n' {
            self.line = self.line.saturating_sub(1);
        }
    }

    fn peek(&mut self) -> char {
        let r = self.next();
        self.backup();
        r
    }

    /// Offset of the rune returned by the last `next`.
    fn last(&self) -> usize {
        self.pos.saturating_sub(self.width)
    }

    fn ignore(&mut self) {
        self.start = self.pos;
        self.ilstart = self.lstart;
    }

    fn pending(&self) -> &'a [u8] {
        let end = self.pos.min(self.input.len());
        if self.start <= end {
            &self.input[self.start..end]
        } else {
            &[]
        }
    }

    fn push_item(&mut self, kind: Kind, val: Vec<u8>) {
        // Go: position of the item in the line where it started.
        let col = self
            .pos
            .saturating_sub(self.ilstart)
            .saturating_sub(val.len());
        let val = match String::from_utf8(val) {
            Ok(s) => s,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        };
        self.items.push_back(Item {
            kind,
            val,
            line: self.line,
            col,
        });
        self.start = self.pos;
        self.ilstart = self.lstart;
    }

    fn emit(&mut self, kind: Kind) {
        let mut val = self.parts.clone().unwrap_or_default();
        val.extend_from_slice(self.pending());
        self.push_item(kind, val);
    }

    fn emit_string(&mut self) {
        let mut val = self.parts.take().unwrap_or_default();
        val.extend_from_slice(self.pending());
        self.push_item(Kind::String, val);
    }

    fn add_current_string_part(&mut self, offset: usize) {
        let end = self.pos.saturating_sub(offset).max(self.start);
        let piece = &self.input[self.start.min(end)..end];
        self.parts.get_or_insert_with(Vec::new).extend_from_slice(piece);
        self.start = self.pos;
    }

    fn add_string_part(&mut self, s: &[u8]) -> Next {
        self.parts.get_or_insert_with(Vec::new).extend_from_slice(s);
        self.start = self.pos;
        Some(self.string_state)
    }

    /// Reports an error located at byte offset `at` and stops lexing.
    fn error(&mut self, message: String, at: usize) -> Next {
        let at = at.min(self.input.len());
        let before = &self.input[..at];
        let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
        let col = match before.iter().rposition(|&b| b == b'\n') {
            Some(nl) => at - nl,
            None => at,
        };
        self.items.push_back(Item {
            kind: Kind::Error,
            val: message,
            line,
            col,
        });
        None
    }

    fn push(&mut self, state: State) {
        self.stack.push(state);
    }

    fn pop(&mut self) -> Next {
        match self.stack.pop() {
            Some(state) => Some(state),
            None => self.error("BUG in lexer: no states to pop.".into(), self.pos),
        }
    }

    /// End of input where a key or top-level item could start.
    fn eof_or_error(&mut self) -> Next {
        if self.pos > self.start {
            return self.error("Unexpected EOF.".into(), self.start);
        }
        self.emit(Kind::Eof);
        None
    }

    /// Handles a `/` that has just been read: a `//` comment returns to
    /// `ret`; a lone slash is backed out and `None` is returned.
    fn slash_comment(&mut self, ret: State) -> Option<Next> {
        if self.next() == '/' {
            self.push(ret);
            return Some(Some(State::CommentStart));
        }
        self.backup();
        None
    }

    fn step(&mut self, state: State) -> Next {
        use State as S;
        match state {
            S::Top => self.top(),
            S::TopValueEnd => self.top_value_end(),
            S::BlockStart => self.block_start(),
            S::BlockValueEnd => self.block_value_end(),
            S::BlockEnd => self.block_end(),
            S::KeyStart => self.key_start(),
            S::DubQuotedKey => self.quoted_key('"', S::DubQuotedKey),
            S::QuotedKey => self.quoted_key('\'', S::QuotedKey),
            S::IncludeStart => {
                if is_whitespace(self.next()) {
                    self.ignore();
                    return Some(S::IncludeStart);
                }
                self.backup();
                Some(S::Include)
            }
            S::IncludeQuotedString => self.include_quoted('\'', S::IncludeQuotedString),
            S::IncludeDubQuotedString => self.include_quoted('"', S::IncludeDubQuotedString),
            S::IncludeString => self.include_string(),
            S::Include => self.include(),
            S::Key => self.key(),
            S::KeyEnd => self.key_end(),
            S::Value => self.value(),
            S::ArrayValue => self.array_value(),
            S::ArrayValueEnd => self.array_value_end(),
            S::ArrayEnd => {
                self.ignore();
                self.emit(Kind::ArrayEnd);
                self.pop()
            }
            S::MapKeyStart => self.map_key_start(),
            S::MapQuotedKey => self.map_quoted_key('\'', S::MapQuotedKey),
            S::MapDubQuotedKey => self.map_quoted_key('"', S::MapDubQuotedKey),
            S::MapKey => self.map_key(),
            S::MapKeyEnd => {
                let r = self.next();
                if is_space(r) {
                    self.ignore();
                    return Some(S::MapKeyEnd);
                }
                if is_key_separator(r) {
                    self.ignore();
                    return Some(S::MapValue);
                }
                self.backup();
                Some(S::MapValue)
            }
            S::MapValue => self.map_value(),
            S::MapValueEnd => self.map_value_end(),
            S::MapEnd => {
                self.ignore();
                self.emit(Kind::MapEnd);
                self.pop()
            }
            S::QuotedString => self.quoted_string(),
            S::DubQuotedString => self.dub_quoted_string(),
            S::String => self.string(),
            S::Block => self.block(),
            S::StringEscape => self.string_escape(),
            S::StringBinary => self.string_binary(),
            S::NumberStart | S::NegNumberStart => {
                let r = self.next();
                if !is_digit(r) {
                    return self.digit_error(r);
                }
                Some(if state == S::NumberStart {
                    S::Number
                } else {
                    S::NegNumber
                })
            }
            S::Number => self.number(),
            S::ConvenientNumber => self.convenient_number(),
            S::DateAfterYear => self.date_after_year(),
            S::NegNumber => {
                let r = self.next();
                if is_digit(r) {
                    return Some(S::NegNumber);
                }
                if r == '.' {
                    return Some(S::FloatStart);
                }
                if is_number_suffix(r) {
                    return Some(S::ConvenientNumber);
                }
                self.backup();
                self.emit(Kind::Integer);
                self.pop()
            }
            S::FloatStart => {
                let r = self.next();
                if !is_digit(r) {
                    let msg = format!(
                        "Floats must have a digit after the '.', but got '{}' instead.",
                        escape_special(r)
                    );
                    return self.error(msg, self.last());
                }
                Some(S::Float)
            }
            S::Float => {
                let r = self.next();
                if is_digit(r) {
                    return Some(S::Float);
                }
                if r == '.' {
                    return Some(S::IpAddr);
                }
                self.backup();
                self.emit(Kind::Float);
                self.pop()
            }
            S::IpAddr => {
                let r = self.next();
                if is_digit(r) || matches!(r, '.' | ':' | '-') {
                    return Some(S::IpAddr);
                }
                self.backup();
                self.emit(Kind::String);
                self.pop()
            }
            S::CommentStart => {
                self.ignore();
                self.emit(Kind::CommentStart);
                Some(S::Comment)
            }
            S::Comment => {
                let r = self.peek();
                if is_nl(r) || r == EOF {
                    self.emit(Kind::Text);
                    return self.pop();
                }
                self.next();
                Some(S::Comment)
            }
        }
    }

    fn digit_error(&mut self, r: char) -> Next {
        let msg = if r == '.' {
            "Floats must start with a digit, not '.'.".to_string()
        } else {
            format!("Expected a digit but got '{}'.", escape_special(r))
        };
        self.error(msg, self.last())
    }

    fn top(&mut self) -> Next {
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

    fn top_value_end(&mut self) -> Next {
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

    fn block_start(&mut self) -> Next {
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

    fn block_value_end(&mut self) -> Next {
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

    fn block_end(&mut self) -> Next {
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

    fn key_start(&mut self) -> Next {
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

    fn quoted_key(&mut self, quote: char, this: State) -> Next {
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
    fn key_check_keyword(&mut self, fall_through: State, push: Option<State>) -> Next {
        let key = String::from_utf8_lossy(self.pending());
        let mut lower = key.chars().map(go_lower);
        let is_include = "include".chars().all(|c| lower.next() == Some(c)) && lower.next().is_none();
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

    fn include_quoted(&mut self, quote: char, this: State) -> Next {
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

    fn include_string(&mut self) -> Next {
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

    fn include(&mut self) -> Next {
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
        self.error(format!("Expected include value but found {what}"), self.last())
    }

    fn key(&mut self) -> Next {
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

    fn key_end(&mut self) -> Next {
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

    fn value(&mut self) -> Next {
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

    fn array_value(&mut self) -> Next {
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

    fn array_value_end(&mut self) -> Next {
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

    fn map_key_start(&mut self) -> Next {
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

    fn map_quoted_key(&mut self, quote: char, this: State) -> Next {
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

    fn map_key(&mut self) -> Next {
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

    fn map_value(&mut self) -> Next {
        let r = self.next();
        if is_space(r) {
            self.ignore();
            return Some(State::MapValue);
        }
        match r {
            ',' => self.error(
                "Unexpected map value terminator \",\".".into(),
                self.last(),
            ),
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

    fn map_value_end(&mut self) -> Next {
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

    fn is_bool(&self) -> bool {
        let s = self.pending();
        ["true", "false", "on", "off", "yes", "no"]
            .iter()
            .any(|w| s.eq_ignore_ascii_case(w.as_bytes()))
    }

    fn is_variable(&mut self) -> bool {
        if self.input.get(self.start) == Some(&b'$') {
            self.start += 1;
            return true;
        }
        false
    }

    /// Unterminated quoted value: Go stops quietly if nothing is pending.
    fn string_eof(&mut self) -> Next {
        if self.pos > self.start {
            return self.error("Unexpected EOF.".into(), self.start);
        }
        self.emit(Kind::Eof);
        None
    }

    fn quoted_string(&mut self) -> Next {
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

    fn dub_quoted_string(&mut self) -> Next {
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

    fn string(&mut self) -> Next {
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
    fn block(&mut self) -> Next {
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

    fn string_escape(&mut self) -> Next {
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

    fn string_binary(&mut self) -> Next {
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
    fn ends_number(r: char) -> bool {
        is_nl(r) || is_whitespace(r) || is_digit(r) || matches!(r, EOF | '}' | ';' | ',')
    }

    fn number(&mut self) -> Next {
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

    fn convenient_number(&mut self) -> Next {
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

    fn date_after_year(&mut self) -> Next {
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
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<(Kind, String)> {
        let mut lx = Lexer::new(src.as_bytes());
        let mut out = Vec::new();
        loop {
            let it = lx.next_item();
            let stop = matches!(it.kind, Kind::Eof | Kind::Error);
            out.push((it.kind, it.val));
            if stop {
                return out;
            }
        }
    }

    #[test]
    fn simple_tokens() {
        use Kind::*;
        let got = kinds("foo = [1, 'a', \"b\\tc\", yes, $v, 1.5, 2m]\n");
        let want = [
            (Key, "foo"),
            (ArrayStart, ""),
            (Integer, "1"),
            (String, "a"),
            (String, "b\tc"),
            (Bool, "yes"),
            (Variable, "v"),
            (Float, "1.5"),
            (Integer, "2m"),
            (ArrayEnd, ""),
            (Eof, ""),
        ];
        let want: Vec<_> = want.iter().map(|(k, v)| (*k, v.to_string())).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn positions_follow_go() {
        let mut lx = Lexer::new(b"a = 1\n  bb = 2\n");
        let a = lx.next_item();
        assert_eq!((a.line, a.col), (1, 0));
        let one = lx.next_item();
        assert_eq!((one.line, one.col), (1, 4));
        let bb = lx.next_item();
        assert_eq!((bb.kind, bb.line, bb.col), (Kind::Key, 2, 3));
    }
}
