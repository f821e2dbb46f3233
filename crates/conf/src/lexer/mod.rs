//! Tokenizer for the configuration format.
//!
//! A state machine with an explicit stack of return states, modelled on Go's
//! `conf/lex.go` so that the same inputs are accepted, the same tokens come
//! out and positions are computed the same way. States never recurse, so
//! deeply nested input cannot overflow the call stack.

mod scalar;
mod structure;
#[cfg(test)]
mod tests;

use std::collections::VecDeque;

use crate::chars::{decode, is_key_separator, is_space, EOF};

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
    /// The line Go's lexer would name in its message for an `Error` item.
    pub go_line: usize,
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
                        go_line: self.line,
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
            go_line: self.line,
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
        self.parts
            .get_or_insert_with(Vec::new)
            .extend_from_slice(piece);
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
            go_line: self.line,
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
            S::IncludeStart => self.include_start(),
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
            S::NumberStart => self.number_start(State::Number),
            S::NegNumberStart => self.number_start(State::NegNumber),
            S::Number => self.number(),
            S::ConvenientNumber => self.convenient_number(),
            S::DateAfterYear => self.date_after_year(),
            S::NegNumber => self.neg_number(),
            S::FloatStart => self.float_start(),
            S::Float => self.float(),
            S::IpAddr => self.ip_addr(),
            S::CommentStart => self.comment_start(),
            S::Comment => self.comment(),
        }
    }
}
