//! A raw websocket client for tests: the HTTP upgrade, then frames built
//! and parsed by hand.

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// A client frame (`masked` as clients must, or not, to test refusals).
pub fn frame(fin: bool, op: u8, payload: &[u8], masked: bool) -> Vec<u8> {
    let mut out = vec![(if fin { 0x80 } else { 0 }) | op];
    let m = if masked { 0x80 } else { 0 };
    let len = payload.len();
    if len <= 125 {
        out.push(m | len as u8);
    } else if len <= 0xFFFF {
        out.push(m | 126);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(m | 127);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
    if masked {
        let mask = [7u8, 0x42, 0x99, 3];
        out.extend_from_slice(&mask);
        out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i & 3]));
    } else {
        out.extend_from_slice(payload);
    }
    out
}

/// A raw websocket client: the upgrade request, then frames.
pub struct WsRaw {
    pub s: TcpStream,
    buf: Vec<u8>,
}

impl WsRaw {
    /// Upgrades with `extra_headers`; returns the client and the response
    /// head (whatever arrived if there was no complete head).
    pub fn connect(port: u16, extra_headers: &str) -> (WsRaw, String) {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_nodelay(true).unwrap();
        write!(
            s,
            "GET /nats HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{extra_headers}\r\n"
        )
        .unwrap();
        let mut w = WsRaw { s, buf: Vec::new() };
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if let Some(i) = w.buf.windows(4).position(|x| x == b"\r\n\r\n") {
                let head: Vec<u8> = w.buf.drain(..i + 4).collect();
                return (w, String::from_utf8_lossy(&head).into_owned());
            }
            if !w.fill(deadline) {
                let head = String::from_utf8_lossy(&w.buf).into_owned();
                return (w, head);
            }
        }
    }

    fn fill(&mut self, deadline: Instant) -> bool {
        super::fill(&mut self.s, &mut self.buf, deadline)
    }

    /// Next server frame: (first byte, payload). Server frames are unmasked.
    pub fn next_frame(&mut self) -> Option<(u8, Vec<u8>)> {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if self.buf.len() >= 2 {
                assert_eq!(self.buf[1] & 0x80, 0, "server frames are not masked");
                let (len, off) = match self.buf[1] & 0x7F {
                    126 if self.buf.len() >= 4 => {
                        (u16::from_be_bytes([self.buf[2], self.buf[3]]) as usize, 4)
                    }
                    127 if self.buf.len() >= 10 => {
                        let mut a = [0u8; 8];
                        a.copy_from_slice(&self.buf[2..10]);
                        (u64::from_be_bytes(a) as usize, 10)
                    }
                    n if n < 126 => (n as usize, 2),
                    _ => (usize::MAX, 0),
                };
                if len != usize::MAX && self.buf.len() >= off + len {
                    let b0 = self.buf[0];
                    let payload = self.buf[off..off + len].to_vec();
                    self.buf.drain(..off + len);
                    return Some((b0, payload));
                }
            }
            if !self.fill(deadline) {
                return None;
            }
        }
    }

    /// Protocol bytes from binary frames until `want` has been seen.
    pub fn read_until(&mut self, want: &str) -> String {
        let mut text = String::new();
        while !text.contains(want) {
            let (b0, p) = self
                .next_frame()
                .unwrap_or_else(|| panic!("no {want:?} in {text:?}"));
            assert_eq!(b0 & 0x0F, 2, "binary frames");
            text.push_str(&String::from_utf8_lossy(&p));
        }
        text
    }

    /// Protocol text from text and binary frames until `want` appears or
    /// the connection ends.
    pub fn text_until(&mut self, want: &str) -> String {
        let mut text = String::new();
        while !text.contains(want) {
            let Some((b0, p)) = self.next_frame() else {
                break;
            };
            if matches!(b0 & 0x0F, 1 | 2) {
                text.push_str(&String::from_utf8_lossy(&p));
            }
        }
        text
    }

    /// Sends raw bytes (frames made with [`frame`]).
    pub fn send(&mut self, b: &[u8]) {
        self.s.write_all(b).unwrap();
    }

    /// Sends `payload` as one masked binary frame.
    pub fn send_binary(&mut self, payload: &[u8]) {
        self.send(&frame(true, 2, payload, true));
    }
}
