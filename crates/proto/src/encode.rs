//! Encoders for what the server writes to clients. All of them append to a
//! caller-owned `Vec<u8>` so the outbound path can reuse one buffer.

/// `PING\r\n`.
pub const PING: &[u8] = b"PING\r\n";
/// `PONG\r\n`.
pub const PONG: &[u8] = b"PONG\r\n";
/// `+OK\r\n`.
pub const OK: &[u8] = b"+OK\r\n";
/// Appends the no-responders status message for a request on `subject`:
/// `HMSG reply sid n n\r\nNATS/1.0 503\r\nNats-Subject: subject\r\n\r\n\r\n`.
pub fn no_responders(out: &mut Vec<u8>, reply: &[u8], sid: &[u8], subject: &[u8]) {
    const HEAD: &[u8] = b"NATS/1.0 503\r\nNats-Subject: ";
    let n = HEAD.len() + subject.len() + 4;
    out.extend_from_slice(b"HMSG ");
    out.extend_from_slice(reply);
    out.push(b' ');
    out.extend_from_slice(sid);
    out.push(b' ');
    push_num(out, n);
    out.push(b' ');
    push_num(out, n);
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(HEAD);
    out.extend_from_slice(subject);
    out.extend_from_slice(b"\r\n\r\n\r\n");
}

/// Appends a decimal number.
#[inline]
pub fn push_num(out: &mut Vec<u8>, n: usize) {
    let mut b = itoa::Buffer::new();
    out.extend_from_slice(b.format(n).as_bytes());
}

/// Appends `MSG subject sid [reply] size\r\npayload\r\n`, or the `HMSG` form
/// when `header_len` is given.
#[inline]
pub fn msg(
    out: &mut Vec<u8>,
    subject: &[u8],
    sid: &[u8],
    reply: Option<&[u8]>,
    header_len: Option<usize>,
    payload: &[u8],
) {
    out.reserve(subject.len() + sid.len() + payload.len() + 48);
    match header_len {
        Some(_) => out.extend_from_slice(b"HMSG "),
        None => out.extend_from_slice(b"MSG "),
    }
    out.extend_from_slice(subject);
    out.push(b' ');
    out.extend_from_slice(sid);
    out.push(b' ');
    if let Some(r) = reply {
        out.extend_from_slice(r);
        out.push(b' ');
    }
    if let Some(h) = header_len {
        push_num(out, h);
        out.push(b' ');
    }
    push_num(out, payload.len());
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(payload);
    out.extend_from_slice(b"\r\n");
}

/// Appends `-ERR 'text'\r\n`.
pub fn err(out: &mut Vec<u8>, text: &str) {
    out.extend_from_slice(b"-ERR '");
    out.extend_from_slice(text.as_bytes());
    out.extend_from_slice(b"'\r\n");
}

/// Appends `INFO {json} \r\n` exactly as nats-server formats it.
pub fn info(out: &mut Vec<u8>, json: &[u8]) {
    out.extend_from_slice(b"INFO ");
    out.extend_from_slice(json);
    out.extend_from_slice(b" \r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn msg_forms() {
        let mut v = Vec::new();
        msg(&mut v, b"foo", b"1", None, None, b"hi");
        assert_eq!(v, b"MSG foo 1 2\r\nhi\r\n");
        v.clear();
        msg(&mut v, b"foo", b"22", Some(b"in.1"), None, b"");
        assert_eq!(v, b"MSG foo 22 in.1 0\r\n\r\n");
        v.clear();
        no_responders(&mut v, b"in", b"1", b"foo");
        assert_eq!(
            v,
            b"HMSG in 1 35 35\r\nNATS/1.0 503\r\nNats-Subject: foo\r\n\r\n\r\n"
        );
        v.clear();
        err(&mut v, "Invalid Subject");
        assert_eq!(v, b"-ERR 'Invalid Subject'\r\n");
    }
}
