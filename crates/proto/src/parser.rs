//! Zero-copy parser for the operations a client sends to the server.
//!
//! The parser works on the connection's unconsumed read buffer. It never
//! copies: every returned [`ClientOp`] borrows from that buffer. A control
//! line or payload that is not complete yet yields [`Parsed::Incomplete`]; the
//! caller reads more bytes onto the same buffer and calls again. While a large
//! payload is arriving the parser remembers how many bytes it needs, so it
//! does not rescan the control line on every read.

use memchr::memchr;

/// One operation sent by a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientOp<'a> {
    /// `CONNECT {json}`: the raw JSON argument.
    Connect(&'a [u8]),
    /// `PUB` or `HPUB`.
    Pub(PubOp<'a>),
    /// `SUB <subject> [queue] <sid>`.
    Sub {
        /// Subject (may contain wildcards).
        subject: &'a [u8],
        /// Queue group name.
        queue: Option<&'a [u8]>,
        /// Client-chosen subscription id.
        sid: &'a [u8],
    },
    /// `UNSUB <sid> [max]`. `max` is `None` when absent or not a number.
    Unsub {
        /// Subscription id.
        sid: &'a [u8],
        /// Auto-unsubscribe after this many messages.
        max: Option<u64>,
    },
    /// `PING`.
    Ping,
    /// `PONG`.
    Pong,
    /// `INFO {json}` (ignored by the server for clients).
    Info(&'a [u8]),
    /// `+OK`.
    Ok,
    /// `-ERR <text>`.
    Err(&'a [u8]),
}

/// A `PUB` or `HPUB` operation with its payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PubOp<'a> {
    /// Destination subject.
    pub subject: &'a [u8],
    /// Reply subject.
    pub reply: Option<&'a [u8]>,
    /// Length of the header block at the start of `payload` (`HPUB` only).
    pub header_len: Option<usize>,
    /// The message body, headers included for `HPUB`.
    pub payload: &'a [u8],
}

impl PubOp<'_> {
    /// The header block (empty for `PUB`).
    pub fn headers(&self) -> &[u8] {
        &self.payload[..self.header_len.unwrap_or(0)]
    }
    /// The payload after the header block.
    pub fn body(&self) -> &[u8] {
        &self.payload[self.header_len.unwrap_or(0)..]
    }
}

/// The result of one parse step.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed<'a> {
    /// A whole operation and how many bytes of the buffer it used.
    Op(ClientOp<'a>, usize),
    /// More bytes are needed.
    Incomplete,
}

/// Why a client's input was rejected. Every variant closes the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// Not a known operation, or a payload not followed by CRLF.
    UnknownOp {
        /// Up to 32 bytes of the offending input, for the log.
        snippet: String,
    },
    /// The control line is longer than `max_control_line`.
    MaxControlLine {
        /// Length seen so far.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The declared payload size is over `max_payload`.
    MaxPayload {
        /// Declared size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// Arguments of an operation are malformed (`processPub Parse Error: "..."`).
    Args {
        /// Which operation: `processPub`, `processHeaderPub`, `processSub`, `processUnsub`.
        op: &'static str,
        /// What is wrong: `Parse Error`, `Bad or Missing Size`, ...
        what: &'static str,
        /// The argument text.
        arg: String,
    },
}

impl ParseError {
    /// The text to send to the client as `-ERR '<text>'`, if Go sends one.
    pub fn client_error(&self) -> Option<&'static str> {
        match self {
            ParseError::UnknownOp { .. } => Some("Unknown Protocol Operation"),
            ParseError::MaxControlLine { .. } => Some("maximum control line exceeded"),
            ParseError::MaxPayload { .. } => Some("Maximum Payload Violation"),
            ParseError::Args { .. } => None,
        }
    }
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParseError::UnknownOp { snippet } => {
                write!(f, "Client parser ERROR: proto='{snippet:?}...'")
            }
            ParseError::MaxControlLine { len, max } => write!(
                f,
                "maximum control line exceeded: max_control_line {max}, line len {len}"
            ),
            ParseError::MaxPayload { size, max } => {
                write!(f, "maximum payload exceeded: {size} vs {max}")
            }
            ParseError::Args { op, what, arg } => write!(f, "{op} {what}: {arg:?}"),
        }
    }
}

impl std::error::Error for ParseError {}

/// Default limit on a control line's argument length.
pub const DEFAULT_MAX_CONTROL_LINE: usize = 4096;
/// Default limit on a message payload.
pub const DEFAULT_MAX_PAYLOAD: usize = 1024 * 1024;

/// Client protocol parser. One per connection.
#[derive(Debug, Clone)]
pub struct Parser {
    max_control_line: usize,
    max_payload: usize,
    /// Bytes needed (from the start of the buffer) before the pending
    /// operation is complete; 0 when nothing is pending.
    need: usize,
    /// How far the buffer was already searched for a newline.
    scanned: usize,
}

impl Default for Parser {
    fn default() -> Self {
        Parser::new(DEFAULT_MAX_CONTROL_LINE, DEFAULT_MAX_PAYLOAD)
    }
}

pub(crate) fn snippet(b: &[u8]) -> String {
    String::from_utf8_lossy(&b[..b.len().min(32)]).into_owned()
}

/// Splits arguments on spaces and tabs, like Go's parser. Returns how many
/// were found; at most `out.len()` are stored, extra ones are counted.
pub(crate) fn split_args<'a>(line: &'a [u8], out: &mut [&'a [u8]]) -> usize {
    let cap = out.len();
    let mut n = 0;
    let mut start = None;
    for (i, &b) in line.iter().enumerate() {
        if b == b' ' || b == b'\t' {
            if let Some(s) = start.take() {
                if n < cap {
                    out[n] = &line[s..i];
                }
                n += 1;
            }
        } else if start.is_none() {
            start = Some(i);
        }
    }
    if let Some(s) = start {
        if n < cap {
            out[n] = &line[s..];
        }
        n += 1;
    }
    n
}

/// Parses a decimal size as Go's `parseSize`: digits only, no sign, no overflow.
pub fn parse_size(b: &[u8]) -> Option<usize> {
    if b.is_empty() || b.len() > 18 {
        return None;
    }
    let mut n: usize = 0;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        n = n * 10 + (c - b'0') as usize;
    }
    Some(n)
}

fn eq_op(word: &[u8], op: &[u8]) -> bool {
    word.eq_ignore_ascii_case(op)
}

pub(crate) fn trim(mut b: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = b {
        b = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = b {
        b = rest;
    }
    b
}

/// A control line: its operation word and trimmed argument.
pub(crate) struct Line<'a> {
    /// The operation name.
    pub word: &'a [u8],
    /// The argument, without surrounding blanks.
    pub arg: &'a [u8],
    /// Bytes of the line, newline included.
    pub len: usize,
    /// A blank followed the operation name.
    pub has_arg_sep: bool,
}

/// What [`scan_line`] found.
pub(crate) enum Scan<'a> {
    /// A whole line.
    Line(Line<'a>),
    /// No newline yet.
    Incomplete,
    /// No newline within the control line limit: this many bytes wait.
    TooLong(usize),
}

/// Finds the control line at the start of `buf`. `scanned` remembers how
/// far earlier calls searched for the newline, so a line arriving in pieces
/// is not rescanned; callers reset it once they consume the line.
pub(crate) fn scan_line<'a>(
    buf: &'a [u8],
    scanned: &mut usize,
    max_control_line: usize,
) -> Scan<'a> {
    let nl = match memchr(b'\n', &buf[(*scanned).min(buf.len())..]) {
        Some(i) => *scanned + i,
        None => {
            // Op name plus a space, then the argument limit.
            if buf.len() > max_control_line.saturating_add(16) {
                return Scan::TooLong(buf.len());
            }
            *scanned = buf.len();
            return Scan::Incomplete;
        }
    };
    let mut line = &buf[..nl];
    if let [rest @ .., b'\r'] = line {
        line = rest;
    }
    let op_end = line
        .iter()
        .position(|&b| b == b' ' || b == b'\t')
        .unwrap_or(line.len());
    Scan::Line(Line {
        word: &line[..op_end],
        arg: trim(&line[op_end..]),
        len: nl + 1,
        has_arg_sep: op_end < line.len(),
    })
}

impl Parser {
    /// A parser with the given limits.
    pub fn new(max_control_line: usize, max_payload: usize) -> Self {
        Parser {
            max_control_line,
            max_payload,
            need: 0,
            scanned: 0,
        }
    }

    /// Changes the payload limit (e.g. after a reload).
    pub fn set_max_payload(&mut self, max: usize) {
        self.max_payload = max;
    }

    /// Changes the control line limit.
    pub fn set_max_control_line(&mut self, max: usize) {
        self.max_control_line = max;
    }

    /// Bytes the pending operation needs in total (from the start of the
    /// unconsumed buffer), or 0 when no payload is awaited.
    pub fn pending_need(&self) -> usize {
        self.need
    }

    /// Parses the next operation at the start of `buf`.
    pub fn parse<'a>(&mut self, buf: &'a [u8]) -> Result<Parsed<'a>, ParseError> {
        if self.need > buf.len() {
            return Ok(Parsed::Incomplete);
        }
        let Line {
            word,
            arg,
            len: line_len,
            has_arg_sep,
        } = match scan_line(buf, &mut self.scanned, self.max_control_line) {
            Scan::Line(l) => l,
            Scan::Incomplete => return Ok(Parsed::Incomplete),
            Scan::TooLong(len) => {
                return Err(ParseError::MaxControlLine {
                    len,
                    max: self.max_control_line,
                })
            }
        };
        if arg.len() > self.max_control_line {
            return Err(ParseError::MaxControlLine {
                len: arg.len(),
                max: self.max_control_line,
            });
        }
        let op = match word.len() {
            3 if eq_op(word, b"PUB") && has_arg_sep => {
                return self.parse_pub(buf, arg, line_len, false);
            }
            4 if eq_op(word, b"HPUB") && has_arg_sep => {
                return self.parse_pub(buf, arg, line_len, true);
            }
            3 if eq_op(word, b"SUB") && has_arg_sep => {
                let mut a: [&[u8]; 3] = [&[]; 3];
                match split_args(arg, &mut a) {
                    2 => ClientOp::Sub {
                        subject: a[0],
                        queue: None,
                        sid: a[1],
                    },
                    3 => ClientOp::Sub {
                        subject: a[0],
                        queue: Some(a[1]),
                        sid: a[2],
                    },
                    _ => return Err(args_err("processSub", "Parse Error", arg)),
                }
            }
            5 if eq_op(word, b"UNSUB") && has_arg_sep => {
                let mut a: [&[u8]; 2] = [&[]; 2];
                match split_args(arg, &mut a) {
                    1 => ClientOp::Unsub {
                        sid: a[0],
                        max: None,
                    },
                    2 => ClientOp::Unsub {
                        sid: a[0],
                        max: parse_size(a[1]).map(|n| n as u64),
                    },
                    _ => return Err(args_err("processUnsub", "Parse Error", arg)),
                }
            }
            _ if word.len() >= 4 && eq_op(&word[..4], b"PING") => ClientOp::Ping,
            _ if word.len() >= 4 && eq_op(&word[..4], b"PONG") => ClientOp::Pong,
            7 if eq_op(word, b"CONNECT") => ClientOp::Connect(arg),
            4 if eq_op(word, b"INFO") => ClientOp::Info(arg),
            3 if eq_op(word, b"+OK") => ClientOp::Ok,
            4 if eq_op(word, b"-ERR") => ClientOp::Err(arg),
            _ => {
                return Err(ParseError::UnknownOp {
                    snippet: snippet(buf),
                })
            }
        };
        self.scanned = 0;
        Ok(Parsed::Op(op, line_len))
    }

    fn parse_pub<'a>(
        &mut self,
        buf: &'a [u8],
        arg: &'a [u8],
        line_len: usize,
        with_headers: bool,
    ) -> Result<Parsed<'a>, ParseError> {
        let mut a: [&[u8]; 4] = [&[]; 4];
        let n = split_args(arg, &mut a);
        let (op, subject, reply, hdr, size) = if with_headers {
            let op = "processHeaderPub";
            match n {
                3 => (op, a[0], None, a[1], a[2]),
                4 => (op, a[0], Some(a[1]), a[2], a[3]),
                _ => return Err(args_err(op, "Parse Error", arg)),
            }
        } else {
            let op = "processPub";
            match n {
                2 => (op, a[0], None, &b""[..], a[1]),
                3 => (op, a[0], Some(a[1]), &b""[..], a[2]),
                _ => return Err(args_err(op, "Parse Error", arg)),
            }
        };
        let size = parse_size(size).ok_or_else(|| args_err(op, "Bad or Missing Size", arg))?;
        let header_len = if with_headers {
            let h =
                parse_size(hdr).ok_or_else(|| args_err(op, "Bad or Missing Header Size", arg))?;
            if h > size {
                return Err(args_err(op, "Header Size larger then TotalSize", arg));
            }
            Some(h)
        } else {
            None
        };
        if size > self.max_payload {
            return Err(ParseError::MaxPayload {
                size,
                max: self.max_payload,
            });
        }
        let total = line_len + size + 2;
        let end = line_len + size;
        if buf.len() > end && buf[end] != b'\r' {
            self.need = 0;
            return Err(ParseError::UnknownOp {
                snippet: snippet(&buf[end..]),
            });
        }
        if buf.len() < total {
            self.need = total;
            self.scanned = 0;
            return Ok(Parsed::Incomplete);
        }
        self.need = 0;
        self.scanned = 0;
        if buf[end] != b'\r' || buf[end + 1] != b'\n' {
            return Err(ParseError::UnknownOp {
                snippet: snippet(&buf[end..]),
            });
        }
        Ok(Parsed::Op(
            ClientOp::Pub(PubOp {
                subject,
                reply,
                header_len,
                payload: &buf[line_len..end],
            }),
            total,
        ))
    }
}

fn args_err(op: &'static str, what: &'static str, arg: &[u8]) -> ParseError {
    ParseError::Args {
        op,
        what,
        arg: String::from_utf8_lossy(arg).into_owned(),
    }
}
