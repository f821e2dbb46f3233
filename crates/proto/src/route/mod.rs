//! Zero-copy parser and encoders for the route protocol spoken between
//! servers of one cluster (nats-server 2.9's `RS+`, `RS-`, `RMSG`, `HMSG`,
//! plus `INFO`, `CONNECT`, `PING`, `PONG`, `+OK`, `-ERR`).
//!
//! Like [`crate::parser`], the parser works on the unconsumed read buffer and
//! returns operations borrowing from it; an incomplete operation yields
//! [`RouteParsed::Incomplete`].

use crate::parser::{parse_size, scan_line, snippet, split_args, Line, Scan};

/// One operation received from a route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteOp<'a> {
    /// `INFO {json}`.
    Info(&'a [u8]),
    /// `CONNECT {json}`.
    Connect(&'a [u8]),
    /// `PING`.
    Ping,
    /// `PONG`.
    Pong,
    /// `+OK`.
    Ok,
    /// `-ERR <text>`.
    Err(&'a [u8]),
    /// `RS+ <account> <subject> [<queue> <weight>]` (also `LS+ <origin> ...`).
    Sub {
        /// The leafnode cluster the interest comes from (`LS+` on a route;
        /// empty otherwise).
        origin: &'a [u8],
        /// Account name.
        account: &'a [u8],
        /// Subject (may contain wildcards).
        subject: &'a [u8],
        /// Queue group and its weight (members on the remote server).
        queue: Option<(&'a [u8], u32)>,
    },
    /// `RS- <account> <subject> [<queue>]` (also `LS-`).
    Unsub {
        /// The leafnode cluster (`LS-` on a route; empty otherwise).
        origin: &'a [u8],
        /// Account name.
        account: &'a [u8],
        /// Subject.
        subject: &'a [u8],
        /// Queue group.
        queue: Option<&'a [u8]>,
    },
    /// `RMSG`, `HMSG` or `LMSG`.
    Msg(RouteMsg<'a>),
    /// An operation that needs no action here (`A+`, `A-`).
    Ignored,
}

/// A message routed from another server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteMsg<'a> {
    /// The leafnode cluster it came from (`LMSG` on a route; empty
    /// otherwise).
    pub origin: &'a [u8],
    /// Account the message was published in.
    pub account: &'a [u8],
    /// Subject.
    pub subject: &'a [u8],
    /// Reply subject.
    pub reply: Option<&'a [u8]>,
    /// Space-separated queue groups that should get one copy each (empty:
    /// plain subscribers only).
    pub queues: &'a [u8],
    /// Length of the header block at the start of `payload`.
    pub header_len: Option<usize>,
    /// Headers and body.
    pub payload: &'a [u8],
}

impl<'a> RouteMsg<'a> {
    /// The queue group names.
    pub fn queue_names(&self) -> impl Iterator<Item = &'a [u8]> {
        self.queues
            .split(|&b| b == b' ' || b == b'\t')
            .filter(|q| !q.is_empty())
    }
}

/// The result of one parse step.
#[derive(Debug, PartialEq, Eq)]
pub enum RouteParsed<'a> {
    /// A whole operation and how many bytes of the buffer it used.
    Op(RouteOp<'a>, usize),
    /// More bytes are needed.
    Incomplete,
}

/// Why a route's input was rejected; the route is closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteParseError(pub String);

impl std::fmt::Display for RouteParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RouteParseError {}

/// Route protocol parser. One per route connection.
#[derive(Debug, Clone)]
pub struct RouteParser {
    max_control_line: usize,
    need: usize,
    scanned: usize,
    pinned: bool,
    leaf: bool,
}

impl RouteParser {
    /// A parser with the given control line limit. Routed payloads have no
    /// size limit (the publishing server checked it).
    pub fn new(max_control_line: usize) -> Self {
        RouteParser {
            max_control_line,
            need: 0,
            scanned: 0,
            pinned: false,
            leaf: false,
        }
    }

    /// The connection carries one account (a pinned route): `RS+`, `RS-`
    /// and `RMSG` come without the account, and the parsed operations have
    /// an empty `account` for the connection to fill in.
    pub fn set_pinned(&mut self, pinned: bool) {
        self.pinned = pinned;
    }

    /// The connection is a leafnode: `LS+ <subject> [<queue> <weight>]`,
    /// `LS- <subject> [<queue>]`, `LMSG`/`HMSG <subject> ...` carry neither
    /// account nor origin (the connection is bound to one account).
    pub fn set_leaf(&mut self) {
        self.pinned = true;
        self.leaf = true;
    }

    /// Parses every complete operation at the start of `buf`, hands each
    /// to `f`, then removes what was consumed from `buf`. Stops at the
    /// first error of `f` (`Err(Ok(e))`) or of the input (`Err(Err(e))`).
    pub fn drain<E>(
        &mut self,
        buf: &mut Vec<u8>,
        mut f: impl FnMut(RouteOp<'_>) -> Result<(), E>,
    ) -> Result<(), Result<E, RouteParseError>> {
        let mut off = 0;
        let res = loop {
            match self.parse(&buf[off..]) {
                Ok(RouteParsed::Op(op, n)) => {
                    if let Err(e) = f(op) {
                        break Err(Ok(e));
                    }
                    off += n;
                }
                Ok(RouteParsed::Incomplete) => break Ok(()),
                Err(e) => break Err(Err(e)),
            }
        };
        buf.drain(..off);
        res
    }

    /// Bytes the pending operation needs in total, or 0.
    pub fn pending_need(&self) -> usize {
        self.need
    }

    /// Parses the next operation at the start of `buf`.
    pub fn parse<'a>(&mut self, buf: &'a [u8]) -> Result<RouteParsed<'a>, RouteParseError> {
        if self.need > buf.len() {
            return Ok(RouteParsed::Incomplete);
        }
        let Line {
            word,
            arg,
            len: line_len,
            ..
        } = match scan_line(buf, &mut self.scanned, self.max_control_line) {
            Scan::Line(l) => l,
            Scan::Incomplete => return Ok(RouteParsed::Incomplete),
            Scan::TooLong(len) => {
                return Err(RouteParseError(format!(
                    "maximum control line exceeded: max_control_line {}, line len {len}",
                    self.max_control_line
                )))
            }
        };
        let upper = |w: &[u8], op: &[u8]| w.eq_ignore_ascii_case(op);
        let leaf = self.leaf;
        let op = match word {
            w if leaf && upper(w, b"LMSG") => {
                return self.parse_msg(buf, arg, line_len, false, false)
            }
            w if leaf && upper(w, b"LS+") => parse_sub(arg, false, true)?,
            w if leaf && upper(w, b"LS-") => parse_unsub(arg, false, true)?,
            w if upper(w, b"RMSG") => return self.parse_msg(buf, arg, line_len, false, false),
            w if upper(w, b"HMSG") => return self.parse_msg(buf, arg, line_len, true, false),
            w if upper(w, b"LMSG") => return self.parse_msg(buf, arg, line_len, true, true),
            w if upper(w, b"RS+") => parse_sub(arg, false, self.pinned)?,
            w if upper(w, b"LS+") => parse_sub(arg, true, self.pinned)?,
            w if upper(w, b"RS-") => parse_unsub(arg, false, self.pinned)?,
            // With `lnocu` announced, nats-server writes `LS-` with the origin.
            w if upper(w, b"LS-") => parse_unsub(arg, true, self.pinned)?,
            w if upper(w, b"A+") || upper(w, b"A-") => RouteOp::Ignored,
            w if w.len() >= 4 && upper(&w[..4], b"PING") => RouteOp::Ping,
            w if w.len() >= 4 && upper(&w[..4], b"PONG") => RouteOp::Pong,
            w if upper(w, b"CONNECT") => RouteOp::Connect(arg),
            w if upper(w, b"INFO") => RouteOp::Info(arg),
            w if upper(w, b"+OK") => RouteOp::Ok,
            w if upper(w, b"-ERR") => RouteOp::Err(arg),
            _ => {
                return Err(RouteParseError(format!(
                    "Route parser ERROR: proto='{:?}...'",
                    snippet(buf)
                )))
            }
        };
        self.scanned = 0;
        Ok(RouteParsed::Op(op, line_len))
    }

    fn parse_msg<'a>(
        &mut self,
        buf: &'a [u8],
        arg: &'a [u8],
        line_len: usize,
        with_headers: bool,
        with_origin: bool,
    ) -> Result<RouteParsed<'a>, RouteParseError> {
        let name = if self.leaf {
            if with_headers {
                "processLeafHeaderMsgArgs"
            } else {
                "processLeafMsgArgs"
            }
        } else if with_origin {
            "processRoutedOriginClusterMsgArgs"
        } else if with_headers {
            "processRoutedHeaderMsgArgs"
        } else {
            "processRoutedMsgArgs"
        };
        let bad = |what: &str| {
            RouteParseError(format!("{name} {what}: '{}'", String::from_utf8_lossy(arg)))
        };
        // Any number of queue names: past the fixed array, collect them.
        // A pinned route leaves the account out: an empty one stands in.
        let mut a: [&[u8]; 17] = [&[]; 17];
        let n = split_args_pinned(arg, &mut a, with_origin, self.pinned);
        let mut many: Vec<&[u8]>;
        let all: &[&[u8]] = if n <= a.len() {
            &a[..n]
        } else {
            many = arg
                .split(|&b| b == b' ' || b == b'\t')
                .filter(|t| !t.is_empty())
                .collect();
            if self.pinned {
                many.insert(usize::from(with_origin).min(many.len()), b"");
            }
            &many
        };
        let origin = if with_origin {
            all.first().copied().unwrap_or_default()
        } else {
            &b""[..]
        };
        let args = &all[usize::from(with_origin).min(all.len())..];
        let sizes = if with_headers { 2 } else { 1 };
        if args.len() < 2 + sizes {
            return Err(bad("Parse Error"));
        }
        let (account, subject) = (args[0], args[1]);
        let rest = &args[2..args.len() - sizes];
        let (reply, queues) = match rest.len() {
            0 => (None, &b""[..]),
            1 => (Some(rest[0]), &b""[..]),
            _ => {
                let (reply, qs) = match rest[0] {
                    b"+" => (Some(rest[1]), &rest[2..]),
                    b"|" => (None, &rest[1..]),
                    _ => return Err(bad("Bad or Missing Reply Indicator")),
                };
                (reply, span(arg, qs))
            }
        };
        let size = parse_size(args[args.len() - 1]).ok_or_else(|| bad("Bad or Missing Size"))?;
        let header_len = if with_headers {
            let h = parse_size(args[args.len() - 2])
                .ok_or_else(|| bad("Bad or Missing Header Size"))?;
            if h > size {
                return Err(bad("Header Size larger then TotalSize"));
            }
            Some(h)
        } else {
            None
        };
        let end = line_len + size;
        let total = end + 2;
        if buf.len() < total {
            self.need = total;
            self.scanned = 0;
            return Ok(RouteParsed::Incomplete);
        }
        self.need = 0;
        self.scanned = 0;
        if buf[end] != b'\r' || buf[end + 1] != b'\n' {
            return Err(RouteParseError(format!(
                "Route parser ERROR: proto='{:?}...'",
                snippet(&buf[end..])
            )));
        }
        Ok(RouteParsed::Op(
            RouteOp::Msg(RouteMsg {
                origin,
                account,
                subject,
                reply,
                queues,
                header_len,
                payload: &buf[line_len..end],
            }),
            total,
        ))
    }
}

/// The bytes of `arg` from the first to the last of `parts` (all slices of
/// `arg`).
fn span<'a>(arg: &'a [u8], parts: &[&'a [u8]]) -> &'a [u8] {
    let (Some(first), Some(last)) = (parts.first(), parts.last()) else {
        return b"";
    };
    let base = arg.as_ptr() as usize;
    let start = first.as_ptr() as usize - base;
    let end = last.as_ptr() as usize - base + last.len();
    &arg[start..end]
}

fn parse_sub(arg: &[u8], with_origin: bool, pinned: bool) -> Result<RouteOp<'_>, RouteParseError> {
    let mut a: [&[u8]; 6] = [&[]; 6];
    let n = split_args_pinned(arg, &mut a, with_origin, pinned);
    let off = usize::from(with_origin);
    let err = || {
        RouteParseError(format!(
            "processRemoteSub Parse Error: '{}'",
            String::from_utf8_lossy(arg)
        ))
    };
    let queue = match n.checked_sub(off) {
        Some(2) => None,
        Some(4) => {
            let w = parse_size(a[3 + off]).ok_or_else(err)?;
            Some((a[2 + off], u32::try_from(w).map_err(|_| err())?))
        }
        _ => return Err(err()),
    };
    Ok(RouteOp::Sub {
        origin: if with_origin { a[0] } else { b"" },
        account: a[off],
        subject: a[1 + off],
        queue,
    })
}

fn parse_unsub(
    arg: &[u8],
    with_origin: bool,
    pinned: bool,
) -> Result<RouteOp<'_>, RouteParseError> {
    let mut a: [&[u8]; 5] = [&[]; 5];
    let n = split_args_pinned(arg, &mut a, with_origin, pinned);
    let off = usize::from(with_origin);
    let queue = match n.checked_sub(off) {
        Some(2) => None,
        Some(3) => Some(a[2 + off]),
        _ => {
            return Err(RouteParseError(format!(
                "processRemoteUnsub parse error: '{}'",
                String::from_utf8_lossy(arg)
            )))
        }
    };
    Ok(RouteOp::Unsub {
        origin: if with_origin { a[0] } else { b"" },
        account: a[off],
        subject: a[1 + off],
        queue,
    })
}

/// Splits `arg` into `a`, leaving an empty account (after the origin, if
/// any) when the route is pinned. Returns the number of parts.
fn split_args_pinned<'a>(
    arg: &'a [u8],
    a: &mut [&'a [u8]],
    with_origin: bool,
    pinned: bool,
) -> usize {
    if !pinned {
        return split_args(arg, a);
    }
    let n = split_args(arg, &mut a[1..]) + 1;
    if with_origin && n > 1 {
        a.swap(0, 1);
    }
    n
}

/// Appends `account ` unless it is empty (a pinned route's lines carry
/// no account).
fn push_account(out: &mut Vec<u8>, account: &[u8]) {
    if !account.is_empty() {
        out.extend_from_slice(account);
        out.push(b' ');
    }
}

/// Appends `RS+ account subject [queue weight]\r\n` (no account when
/// `account` is empty).
pub fn sub(out: &mut Vec<u8>, account: &[u8], subject: &[u8], queue: Option<(&[u8], u32)>) {
    out.extend_from_slice(b"RS+ ");
    push_account(out, account);
    out.extend_from_slice(subject);
    if let Some((q, w)) = queue {
        out.push(b' ');
        out.extend_from_slice(q);
        out.push(b' ');
        crate::encode::push_num(out, w as usize);
    }
    out.extend_from_slice(b"\r\n");
}

/// Appends `LS+ origin account subject [queue weight]\r\n`: interest a
/// server has on behalf of a leafnode of cluster `origin`.
pub fn leaf_origin_sub(
    out: &mut Vec<u8>,
    origin: &[u8],
    account: &[u8],
    subject: &[u8],
    queue: Option<(&[u8], u32)>,
) {
    let start = out.len();
    sub(out, account, subject, queue);
    out[start] = b'L';
    out.splice(start + 4..start + 4, origin.iter().copied().chain([b' ']));
}

/// Appends `LS- origin account subject [queue]\r\n`.
pub fn leaf_origin_unsub(
    out: &mut Vec<u8>,
    origin: &[u8],
    account: &[u8],
    subject: &[u8],
    queue: Option<&[u8]>,
) {
    let start = out.len();
    unsub(out, account, subject, queue);
    out[start] = b'L';
    out.splice(start + 4..start + 4, origin.iter().copied().chain([b' ']));
}

/// Appends a leafnode's `LS+ subject [queue weight]\r\n` (`weight` > 0) or
/// `LS- subject [queue]\r\n` (`weight` 0).
pub fn leaf_sub(out: &mut Vec<u8>, subject: &[u8], queue: Option<&[u8]>, weight: u32) {
    out.extend_from_slice(if weight > 0 { b"LS+ " } else { b"LS- " });
    out.extend_from_slice(subject);
    if let Some(q) = queue {
        out.push(b' ');
        out.extend_from_slice(q);
        if weight > 0 {
            out.push(b' ');
            crate::encode::push_num(out, weight as usize);
        }
    }
    out.extend_from_slice(b"\r\n");
}

/// Appends a leafnode's `LMSG` (or `HMSG` when `header_len` is given):
/// the route form without an account.
pub fn leaf_msg(
    out: &mut Vec<u8>,
    subject: &[u8],
    reply: Option<&[u8]>,
    queues: &[u8],
    header_len: Option<usize>,
    payload: &[u8],
) {
    let start = out.len();
    msg(out, b"", subject, reply, queues, header_len, payload);
    if header_len.is_none() {
        out[start] = b'L';
    }
}

/// Appends a route `LMSG origin account subject ... hdr size`: a message
/// from a leafnode of cluster `origin` (always with a header size).
#[allow(clippy::too_many_arguments)]
pub fn leaf_origin_msg(
    out: &mut Vec<u8>,
    origin: &[u8],
    account: &[u8],
    subject: &[u8],
    reply: Option<&[u8]>,
    queues: &[u8],
    header_len: Option<usize>,
    payload: &[u8],
) {
    let start = out.len();
    msg(
        out,
        account,
        subject,
        reply,
        queues,
        Some(header_len.unwrap_or(0)),
        payload,
    );
    out[start] = b'L';
    out.splice(start + 5..start + 5, origin.iter().copied().chain([b' ']));
}

/// Appends `RS- account subject [queue]\r\n` (no account when `account`
/// is empty).
pub fn unsub(out: &mut Vec<u8>, account: &[u8], subject: &[u8], queue: Option<&[u8]>) {
    out.extend_from_slice(b"RS- ");
    push_account(out, account);
    out.extend_from_slice(subject);
    if let Some(q) = queue {
        out.push(b' ');
        out.extend_from_slice(q);
    }
    out.extend_from_slice(b"\r\n");
}

/// Appends an `RMSG` (or `HMSG` when `header_len` is given). `queues` is
/// the space-separated list of queue groups the receiver should serve. An
/// empty `account` is left out (a pinned route).
pub fn msg(
    out: &mut Vec<u8>,
    account: &[u8],
    subject: &[u8],
    reply: Option<&[u8]>,
    queues: &[u8],
    header_len: Option<usize>,
    payload: &[u8],
) {
    out.reserve(account.len() + subject.len() + queues.len() + payload.len() + 64);
    out.extend_from_slice(if header_len.is_some() {
        b"HMSG "
    } else {
        b"RMSG "
    });
    push_account(out, account);
    out.extend_from_slice(subject);
    out.push(b' ');
    if !queues.is_empty() {
        match reply {
            Some(r) => {
                out.extend_from_slice(b"+ ");
                out.extend_from_slice(r);
                out.push(b' ');
            }
            None => out.extend_from_slice(b"| "),
        }
        out.extend_from_slice(queues);
        out.push(b' ');
    } else if let Some(r) = reply {
        out.extend_from_slice(r);
        out.push(b' ');
    }
    if let Some(h) = header_len {
        crate::encode::push_num(out, h);
        out.push(b' ');
    }
    crate::encode::push_num(out, payload.len());
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(payload);
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests;
