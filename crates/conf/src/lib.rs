//! Lexer and parser for the NATS server configuration file format.
//!
//! This crate owns everything between the bytes of a configuration file and a
//! tree of typed values: comments, the three key/value separators, quoted,
//! unquoted and block strings, numbers with size suffixes, booleans, ISO 8601
//! datetimes, nested maps and arrays, `include` directives and `$VARIABLE`
//! references (resolved from enclosing maps, then the process environment).
//! It accepts exactly what Go's nats-server `conf` package (`conf/lex.go` and
//! `conf/parse.go`) accepts, including its quirks, so that an existing
//! configuration file means the same thing to `rnatsd` as to `nats-server`.
//! Interpreting the tree (which keys exist, what they mean) is the server's
//! job, not this crate's.
//!
//! Positions follow Go's conventions so that error messages match
//! nats-server's `file:line:col: message` output: see [`Pos`].
//!
//! No input can make the parser panic; nesting depth, variable expansion,
//! include depth and included file size are bounded and reported as errors.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod chars;
mod duration;
mod lexer;
mod parser;
mod value;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use duration::{format_go_duration, parse_go_duration};
pub use value::{Map, Spanned, Value};

/// Maximum nesting depth of maps and arrays (counted across includes and
/// environment-variable values); deeper input is rejected with an [`Error`].
pub const MAX_DEPTH: usize = 256;

/// Maximum number of values a single parse may produce, counting every copy
/// made by variable references (guards against exponential expansion).
pub const MAX_VALUES: usize = 1_000_000;

/// Maximum size in bytes of a configuration or included file.
pub const MAX_FILE_SIZE: u64 = 64 * 1024 * 1024;

/// A location in a configuration source.
///
/// `line` is 1-based. `col` is computed exactly as Go's nats-server computes
/// it: the byte offset of the token from the `'\n'` that ends the previous
/// line, which makes it 1-based on lines 2 and later but 0-based on line 1.
/// For a map entry the position is that of its key (as Go's pedantic parser
/// reports it); for an array element it is that of the element (for a nested
/// map or array, the position just after its closing bracket, again as Go).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Pos {
    /// Line number, starting at 1.
    pub line: usize,
    /// Column as Go reports it (see the type documentation).
    pub col: usize,
    /// File the token came from; `None` for [`parse_str`] input.
    pub file: Option<Arc<PathBuf>>,
}

impl Pos {
    /// A position without a file.
    pub fn new(line: usize, col: usize) -> Self {
        Pos {
            line,
            col,
            file: None,
        }
    }
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.file {
            Some(file) => write!(f, "{}:{}:{}", file.display(), self.line, self.col),
            None => write!(f, "{}:{}", self.line, self.col),
        }
    }
}

/// A configuration error: where it happened and what was expected.
///
/// `message` carries Go's text for the same failure (for example
/// `Expected a top-level value to end with a new line, comment or EOF, but
/// got 'x' instead.` or `variable reference for 'X' on line 3 can not be
/// found`). Displayed as `file:line:col: message`, `line:col: message` when
/// there is no file, or just `message` when there is no position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    /// Where the error was detected, when known.
    pub pos: Option<Pos>,
    /// What went wrong (Go's wording).
    pub message: String,
}

impl Error {
    /// An error at a position.
    pub fn new(pos: Pos, message: impl Into<String>) -> Self {
        Error {
            pos: Some(pos),
            message: message.into(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.pos {
            Some(pos) => write!(f, "{}: {}", pos, self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for Error {}

/// Parses configuration text. `include` paths are resolved relative to the
/// current directory, and positions carry no file.
pub fn parse_str(src: &str) -> Result<Map, Error> {
    parser::parse_source(src.as_bytes(), None)
}

/// Parses configuration bytes that need not be valid UTF-8 (Go reads config
/// files as raw bytes; invalid sequences in values become U+FFFD). Handy as a
/// fuzzing entry point. `include` paths are resolved relative to the current
/// directory.
pub fn parse_bytes(src: &[u8]) -> Result<Map, Error> {
    parser::parse_source(src, None)
}

/// Reads and parses a configuration file. `include` paths are resolved
/// relative to the directory of the including file, and every position
/// records the file it came from.
pub fn parse_file(path: &Path) -> Result<Map, Error> {
    let name = path.to_string_lossy().into_owned();
    let data = parser::read_config(&name).map_err(|message| Error { pos: None, message })?;
    parser::parse_source(&data, Some(name))
}
