//! NATS over WebSocket (RFC 6455), as nats-server serves it: the HTTP
//! upgrade (any path), masked client frames in (text or binary,
//! fragmented or not, control frames between fragments), unmasked binary
//! frames out, and permessage-deflate without context takeover when the
//! server enables `compression` and the client offers it. The decoded
//! bytes are ordinary client protocol; the connection is served by the
//! client layer like any other.

use base64::Engine;
use sha1::{Digest, Sha1};

const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
const OP_CONT: u8 = 0x0;
const OP_TEXT: u8 = 0x1;
const OP_BINARY: u8 = 0x2;
const OP_CLOSE: u8 = 0x8;
const OP_PING: u8 = 0x9;
const OP_PONG: u8 = 0xA;
/// Close status: normal closure.
pub const CLOSE_NORMAL: u16 = 1000;
/// Close status: protocol error.
pub const CLOSE_PROTOCOL: u16 = 1002;
/// Close status: message too big.
pub const CLOSE_TOO_BIG: u16 = 1009;
/// Largest HTTP upgrade request accepted.
pub const MAX_REQUEST: usize = 16 * 1024;
/// The tail a sender strips from a deflated message (and a reader adds back).
const DEFLATE_TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// What the upgrade request asked for, once accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upgrade {
    /// permessage-deflate was offered and is enabled.
    pub compress: bool,
    /// The `Origin` header.
    pub origin: Option<String>,
    /// The `Cookie` headers, joined with `; `.
    pub cookies: String,
    /// The request path.
    pub path: String,
    /// A leafnode asked to send unmasked frames (`Nats-No-Masking`).
    pub no_masking: bool,
    /// The response to send (101 Switching Protocols).
    pub response: Vec<u8>,
}

/// A refused upgrade: the HTTP status and text to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// HTTP status code.
    pub status: u16,
    /// Reason, sent as the body.
    pub reason: String,
}

impl Refusal {
    fn new(status: u16, reason: &str) -> Refusal {
        Refusal {
            status,
            reason: reason.to_string(),
        }
    }

    /// The HTTP response bytes.
    pub fn response(&self) -> Vec<u8> {
        let text = match self.status {
            403 => "Forbidden",
            405 => "Method Not Allowed",
            _ => "Bad Request",
        };
        format!(
            "HTTP/1.1 {} {}\r\nSec-Websocket-Version: 13\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\n\r\n{}",
            self.status,
            text,
            self.reason.len(),
            self.reason
        )
        .into_bytes()
    }
}

/// Origin policy of the websocket listener.
#[derive(Debug, Clone, Default)]
pub struct OriginPolicy {
    /// Only the listener's own host:port is accepted.
    pub same_origin: bool,
    /// Accepted origins (scheme://host[:port]).
    pub allowed: Vec<String>,
}

/// Where the request's headers end (index after `\r\n\r\n`), if they do.
pub fn request_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4)
}

/// The `Sec-WebSocket-Accept` value for a key.
pub fn accept_key(key: &str) -> String {
    let mut h = Sha1::new();
    h.update(key.as_bytes());
    h.update(GUID.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(h.finalize())
}

fn origin_host_port(origin: &str) -> Option<(String, String, u16)> {
    let (scheme, rest) = origin.split_once("://")?;
    let rest = rest.trim_end_matches('/');
    let default = if scheme.eq_ignore_ascii_case("https") {
        443
    } else {
        80
    };
    match rest.rsplit_once(':') {
        Some((h, p)) if p.chars().all(|c| c.is_ascii_digit()) => Some((
            scheme.to_ascii_lowercase(),
            h.to_ascii_lowercase(),
            p.parse().ok()?,
        )),
        _ => Some((
            scheme.to_ascii_lowercase(),
            rest.to_ascii_lowercase(),
            default,
        )),
    }
}

/// Checks an HTTP upgrade request (`req` up to the blank line).
pub fn check_upgrade(
    req: &[u8],
    compression: bool,
    origins: &OriginPolicy,
) -> Result<Upgrade, Refusal> {
    let text = std::str::from_utf8(req).map_err(|_| Refusal::new(400, "invalid request"))?;
    let mut lines = text.split("\r\n");
    let first = lines.next().unwrap_or("");
    let mut parts = first.split(' ');
    let method = parts.next().unwrap_or("");
    let path = parts.next().unwrap_or("").to_string();
    let leaf = path.split('?').next().unwrap_or("").ends_with("/leafnode");
    let mut no_masking = false;
    if method != "GET" {
        return Err(Refusal::new(
            405,
            "websocket handshake: request method must be GET",
        ));
    }
    let mut host = None;
    let mut upgrade = false;
    let mut connection = false;
    let mut version = None;
    let mut key = None;
    let mut origin = None;
    let mut deflate = false;
    let mut cookies = String::new();
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match name.trim().to_ascii_lowercase().as_str() {
            "host" => host = Some(value.to_string()),
            "upgrade" => {
                upgrade |= value
                    .split(',')
                    .any(|v| v.trim().eq_ignore_ascii_case("websocket"))
            }
            "connection" => {
                connection |= value
                    .split(',')
                    .any(|v| v.trim().eq_ignore_ascii_case("upgrade"))
            }
            "sec-websocket-version" => version = Some(value.to_string()),
            "sec-websocket-key" => key = Some(value.to_string()),
            "nats-no-masking" => no_masking = leaf && value.eq_ignore_ascii_case("true"),
            "origin" => origin = Some(value.to_string()),
            "cookie" => {
                if !cookies.is_empty() {
                    cookies.push_str("; ");
                }
                cookies.push_str(value);
            }
            "sec-websocket-extensions" => {
                deflate |= value
                    .split(',')
                    .any(|e| e.split(';').next().unwrap_or("").trim() == "permessage-deflate")
            }
            _ => {}
        }
    }
    if host.as_deref().is_none_or(str::is_empty) {
        return Err(Refusal::new(
            400,
            "websocket handshake: 'Host' missing in request",
        ));
    }
    if !upgrade {
        return Err(Refusal::new(
            400,
            "websocket handshake: invalid value for header 'Upgrade'",
        ));
    }
    if !connection {
        return Err(Refusal::new(
            400,
            "websocket handshake: invalid value for header 'Connection'",
        ));
    }
    let Some(key) = key.filter(|k| !k.is_empty()) else {
        return Err(Refusal::new(400, "websocket handshake: key missing"));
    };
    if version.as_deref() != Some("13") {
        return Err(Refusal::new(400, "websocket handshake: invalid version"));
    }
    if let Some(o) = &origin {
        check_origin(o, host.as_deref().unwrap_or(""), origins)?;
    }
    let compress = compression && deflate;
    let mut response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n",
        accept_key(&key)
    );
    if compress {
        response.push_str(
            "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_no_context_takeover\r\n",
        );
    }
    if no_masking {
        response.push_str("Nats-No-Masking: true\r\n");
    }
    response.push_str("\r\n");
    Ok(Upgrade {
        compress,
        origin,
        cookies,
        path,
        no_masking,
        response: response.into_bytes(),
    })
}

/// The upgrade request a leafnode sends to `host` (as nats-server's
/// `leafNodeSolicitWSConnection`), asking to send unmasked frames.
pub fn leaf_request(host: &str, path: &str, key: &str) -> Vec<u8> {
    format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: Go-http-client/1.1\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nUpgrade: websocket\r\nNats-No-Masking: true\r\n\r\n"
    )
    .into_bytes()
}

/// Checks the hub's answer to [`leaf_request`] (`resp` up to the blank
/// line): a 101 with the right accept key, agreeing to unmasked frames.
pub fn check_leaf_response(resp: &[u8], key: &str) -> Result<(), String> {
    let text = std::str::from_utf8(resp).map_err(|_| "invalid websocket connection".to_string())?;
    let mut lines = text.split("\r\n");
    let status = lines.next().unwrap_or("");
    if status.split(' ').nth(1) != Some("101") {
        return Err(format!("invalid websocket connection: {status}"));
    }
    let mut accept = None;
    let mut no_masking = false;
    for line in lines {
        if let Some((n, v)) = line.split_once(':') {
            match n.trim().to_ascii_lowercase().as_str() {
                "sec-websocket-accept" => accept = Some(v.trim().to_string()),
                "nats-no-masking" => no_masking = v.trim().eq_ignore_ascii_case("true"),
                _ => {}
            }
        }
    }
    if accept.as_deref() != Some(accept_key(key).as_str()) {
        return Err("invalid websocket connection: bad accept key".into());
    }
    if !no_masking {
        return Err("invalid websocket connection: the hub requires masked frames".into());
    }
    Ok(())
}

/// The value of cookie `name` in `Cookie` header text (Go's
/// `Request.Cookie`: the first valid pair of that name, quotes removed).
pub fn cookie(cookies: &str, name: &str) -> Option<String> {
    for part in cookies.split(';') {
        let Some((k, v)) = part.trim().split_once('=') else {
            continue;
        };
        if k != name {
            continue;
        }
        let v = v
            .strip_prefix('"')
            .and_then(|x| x.strip_suffix('"'))
            .unwrap_or(v);
        let valid = v
            .bytes()
            .all(|b| (0x20..0x7f).contains(&b) && !matches!(b, b'"' | b';' | b'\\'));
        if valid {
            return Some(v.to_string());
        }
    }
    None
}

fn check_origin(origin: &str, host: &str, p: &OriginPolicy) -> Result<(), Refusal> {
    let refused = || Refusal::new(403, "websocket handshake: origin not allowed");
    let Some((scheme, ohost, oport)) = origin_host_port(origin) else {
        return Err(refused());
    };
    if p.same_origin {
        let (h, port) = match host.rsplit_once(':') {
            Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) => {
                (h.to_ascii_lowercase(), port.parse::<u16>().unwrap_or(80))
            }
            _ => (
                host.to_ascii_lowercase(),
                if scheme == "https" { 443 } else { 80 },
            ),
        };
        if h != ohost || port != oport {
            return Err(refused());
        }
    }
    if !p.allowed.is_empty() {
        let ok = p.allowed.iter().any(|a| {
            origin_host_port(a)
                .is_some_and(|(s, h, port)| s == scheme && h == ohost && port == oport)
        });
        if !ok {
            return Err(refused());
        }
    }
    Ok(())
}

/// Why a frame stream was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WsError {
    /// Close status to send.
    pub code: u16,
    /// Reason, for the close frame and the log.
    pub reason: String,
}

fn werr(code: u16, reason: &str) -> WsError {
    WsError {
        code,
        reason: reason.to_string(),
    }
}

/// A control frame the client sent, for the connection to answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Control {
    /// Answer with a pong carrying this payload.
    Ping(Vec<u8>),
    /// The client closes, with this status.
    Close(u16),
}

/// Decodes client frames into protocol bytes.
pub struct Decoder {
    compress: bool,
    max_frame: usize,
    /// Inside a fragmented message.
    fragmented: bool,
    /// The fragmented message is compressed.
    frag_compressed: bool,
    /// Compressed message bytes collected until its last fragment.
    deflated: Vec<u8>,
    /// Frames may come unmasked (from a server, or a leafnode that said
    /// `Nats-No-Masking`).
    unmasked: bool,
}

impl Decoder {
    /// A decoder; `compress` when permessage-deflate was negotiated, and
    /// `max_frame` the largest frame payload accepted.
    pub fn new(compress: bool, max_frame: usize) -> Decoder {
        Decoder {
            compress,
            max_frame,
            fragmented: false,
            frag_compressed: false,
            deflated: Vec::new(),
            unmasked: false,
        }
    }

    /// Accepts unmasked frames too.
    pub fn allow_unmasked(mut self) -> Decoder {
        self.unmasked = true;
        self
    }

    /// Decodes every complete frame at the start of `raw` (and removes
    /// them), appending message bytes to `out` and control frames to
    /// `events`. Returns how many more bytes the next frame needs (0 when
    /// unknown).
    pub fn decode(
        &mut self,
        raw: &mut Vec<u8>,
        out: &mut Vec<u8>,
        events: &mut Vec<Control>,
    ) -> Result<usize, WsError> {
        let mut pos = 0;
        let need = loop {
            let b = &raw[pos..];
            if b.len() < 2 {
                break 0;
            }
            let fin = b[0] & 0x80 != 0;
            let rsv1 = b[0] & 0x40 != 0;
            if b[0] & 0x30 != 0 {
                return Err(werr(CLOSE_PROTOCOL, "RSV2 and RSV3 must be clear"));
            }
            let op = b[0] & 0x0F;
            let masked = b[1] & 0x80 != 0;
            if !masked && !self.unmasked {
                return Err(werr(CLOSE_PROTOCOL, "mask bit missing"));
            }
            let mask_len = if masked { 4 } else { 0 };
            let (len, mut off) = match b[1] & 0x7F {
                126 => {
                    if b.len() < 4 {
                        break 0;
                    }
                    (u16::from_be_bytes([b[2], b[3]]) as usize, 4)
                }
                127 => {
                    if b.len() < 10 {
                        break 0;
                    }
                    let mut a = [0u8; 8];
                    a.copy_from_slice(&b[2..10]);
                    (u64::from_be_bytes(a).min(u64::MAX >> 1) as usize, 10)
                }
                n => (n as usize, 2),
            };
            let control = op & 0x8 != 0;
            if control && (len > 125 || !fin) {
                return Err(werr(CLOSE_PROTOCOL, "control frame too long or fragmented"));
            }
            if len > self.max_frame {
                return Err(werr(CLOSE_TOO_BIG, "frame too large"));
            }
            if b.len() < off + mask_len + len {
                break off + mask_len + len - b.len();
            }
            if masked {
                let mask = [b[off], b[off + 1], b[off + 2], b[off + 3]];
                off += 4;
                let start = pos + off;
                let payload = &mut raw[start..start + len];
                for (i, byte) in payload.iter_mut().enumerate() {
                    *byte ^= mask[i & 3];
                }
            }
            let start = pos + off;
            let payload = &raw[start..start + len];
            match op {
                OP_PING => events.push(Control::Ping(payload.to_vec())),
                OP_PONG => {}
                OP_CLOSE => {
                    let code = if len >= 2 {
                        u16::from_be_bytes([payload[0], payload[1]])
                    } else {
                        CLOSE_NORMAL
                    };
                    events.push(Control::Close(code));
                }
                OP_TEXT | OP_BINARY => {
                    if self.fragmented {
                        return Err(werr(CLOSE_PROTOCOL, "new message before end of previous"));
                    }
                    if rsv1 && !self.compress {
                        return Err(werr(CLOSE_PROTOCOL, "compression not negotiated"));
                    }
                    self.frag_compressed = rsv1;
                    self.data(payload, fin, out)?;
                }
                OP_CONT => {
                    if !self.fragmented {
                        return Err(werr(CLOSE_PROTOCOL, "continuation without a message"));
                    }
                    self.data(payload, fin, out)?;
                }
                _ => return Err(werr(CLOSE_PROTOCOL, "unknown opcode")),
            }
            pos = start + len;
        };
        raw.drain(..pos);
        Ok(need)
    }

    fn data(&mut self, payload: &[u8], fin: bool, out: &mut Vec<u8>) -> Result<(), WsError> {
        self.fragmented = !fin;
        if !self.frag_compressed {
            out.extend_from_slice(payload);
            return Ok(());
        }
        self.deflated.extend_from_slice(payload);
        if fin {
            self.deflated.extend_from_slice(&DEFLATE_TAIL);
            let mut d = flate2::Decompress::new(false);
            let limit = self.max_frame.saturating_mul(4).max(1 << 20);
            let start = out.len();
            loop {
                out.reserve(64 * 1024);
                let before_in = d.total_in() as usize;
                let status = d
                    .decompress_vec(
                        &self.deflated[before_in..],
                        out,
                        flate2::FlushDecompress::Sync,
                    )
                    .map_err(|_| werr(CLOSE_PROTOCOL, "invalid compressed data"))?;
                if out.len() - start > limit {
                    return Err(werr(CLOSE_TOO_BIG, "message too large"));
                }
                if d.total_in() as usize >= self.deflated.len()
                    || status == flate2::Status::StreamEnd
                {
                    break;
                }
            }
            self.deflated.clear();
        }
        Ok(())
    }
}

/// Appends a frame header (server frames are never masked).
pub fn frame_header(out: &mut Vec<u8>, opcode: u8, len: usize, compressed: bool) {
    out.push(0x80 | if compressed { 0x40 } else { 0 } | opcode);
    if len <= 125 {
        out.push(len as u8);
    } else if len <= 0xFFFF {
        out.push(126);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(127);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
}

/// Appends `payload` as one binary frame, deflated when `compress`.
pub fn encode_binary(out: &mut Vec<u8>, payload: &[u8], compress: bool) {
    if compress && payload.len() > 64 {
        let mut c = flate2::Compress::new(flate2::Compression::fast(), false);
        let mut z = Vec::with_capacity(payload.len() / 2 + 64);
        loop {
            z.reserve(payload.len() / 2 + 64);
            let consumed = c.total_in() as usize;
            if c.compress_vec(&payload[consumed..], &mut z, flate2::FlushCompress::Sync)
                .is_err()
            {
                break;
            }
            if c.total_in() as usize >= payload.len() && z.ends_with(&DEFLATE_TAIL) {
                z.truncate(z.len() - 4);
                frame_header(out, OP_BINARY, z.len(), true);
                out.extend_from_slice(&z);
                return;
            }
        }
    }
    frame_header(out, OP_BINARY, payload.len(), false);
    out.extend_from_slice(payload);
}

/// Appends a pong frame.
pub fn encode_pong(out: &mut Vec<u8>, payload: &[u8]) {
    frame_header(out, OP_PONG, payload.len(), false);
    out.extend_from_slice(payload);
}

/// Appends a close frame with a status and reason.
pub fn encode_close(out: &mut Vec<u8>, code: u16, reason: &str) {
    let reason = &reason.as_bytes()[..reason.len().min(123)];
    frame_header(out, OP_CLOSE, 2 + reason.len(), false);
    out.extend_from_slice(&code.to_be_bytes());
    out.extend_from_slice(reason);
}

#[cfg(test)]
mod tests;
