use super::*;

/// A client frame: masked, with the given first byte flags.
fn client_frame(fin: bool, rsv1: bool, op: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![(if fin { 0x80 } else { 0 }) | (if rsv1 { 0x40 } else { 0 }) | op];
    let len = payload.len();
    if len <= 125 {
        out.push(0x80 | len as u8);
    } else if len <= 0xFFFF {
        out.push(0x80 | 126);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(0x80 | 127);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
    let mask = [0x12, 0x34, 0x56, 0x78];
    out.extend_from_slice(&mask);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i & 3]));
    out
}

fn decode_all(d: &mut Decoder, bytes: &[u8]) -> Result<(Vec<u8>, Vec<Control>), WsError> {
    let mut raw = bytes.to_vec();
    let mut out = Vec::new();
    let mut ev = Vec::new();
    d.decode(&mut raw, &mut out, &mut ev)?;
    assert!(raw.is_empty());
    Ok((out, ev))
}

#[test]
fn rfc_accept_key() {
    assert_eq!(
        accept_key("dGhlIHNhbXBsZSBub25jZQ=="),
        "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    );
}

fn req(extra: &str) -> Vec<u8> {
    format!(
        "GET /any/path HTTP/1.1\r\nHost: localhost:8080\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
    )
    .into_bytes()
}

#[test]
fn upgrade_checks() {
    let none = OriginPolicy::default();
    let u = check_upgrade(&req(""), false, &none).unwrap();
    let text = String::from_utf8(u.response).unwrap();
    assert!(text.starts_with("HTTP/1.1 101 Switching Protocols\r\n"));
    assert!(text.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
    assert!(!u.compress);
    let u = check_upgrade(
        &req("Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"),
        true,
        &none,
    )
    .unwrap();
    assert!(u.compress);
    let bad = String::from_utf8(req("")).unwrap().replace("GET", "POST");
    assert_eq!(
        check_upgrade(bad.as_bytes(), false, &none)
            .unwrap_err()
            .status,
        405
    );
    let bad = String::from_utf8(req(""))
        .unwrap()
        .replace("Version: 13", "Version: 8");
    assert_eq!(
        check_upgrade(bad.as_bytes(), false, &none)
            .unwrap_err()
            .status,
        400
    );
    let same = OriginPolicy {
        same_origin: true,
        allowed: vec![],
    };
    assert!(check_upgrade(&req("Origin: http://localhost:8080\r\n"), false, &same).is_ok());
    assert_eq!(
        check_upgrade(&req("Origin: http://evil.example:8080\r\n"), false, &same)
            .unwrap_err()
            .status,
        403
    );
    let listed = OriginPolicy {
        same_origin: false,
        allowed: vec!["https://wallet.example.com".into()],
    };
    assert!(check_upgrade(
        &req("Origin: https://wallet.example.com\r\n"),
        false,
        &listed
    )
    .is_ok());
    assert!(check_upgrade(
        &req("Origin: http://wallet.example.com\r\n"),
        false,
        &listed
    )
    .is_err());
    assert!(
        check_upgrade(&req(""), false, &listed).is_ok(),
        "no Origin is accepted"
    );
}

#[test]
fn frames_fragments_and_controls() {
    let mut d = Decoder::new(false, 1 << 20);
    let mut bytes = client_frame(true, false, OP_BINARY, b"PING\r\n");
    bytes.extend(client_frame(false, false, OP_TEXT, b"PUB a 2\r\n"));
    bytes.extend(client_frame(true, false, OP_PING, b"hey"));
    bytes.extend(client_frame(true, false, OP_CONT, b"hi\r\n"));
    let (out, ev) = decode_all(&mut d, &bytes).unwrap();
    assert_eq!(out, b"PING\r\nPUB a 2\r\nhi\r\n");
    assert_eq!(ev, vec![Control::Ping(b"hey".to_vec())]);
    let (_, ev) = decode_all(
        &mut d,
        &client_frame(true, false, OP_CLOSE, &1000u16.to_be_bytes()),
    )
    .unwrap();
    assert_eq!(ev, vec![Control::Close(1000)]);
}

#[test]
fn split_frames_wait_for_more() {
    let mut d = Decoder::new(false, 1 << 20);
    let frame = client_frame(true, false, OP_BINARY, &vec![b'x'; 70_000]);
    let mut raw = frame[..1000].to_vec();
    let mut out = Vec::new();
    let mut ev = Vec::new();
    let need = d.decode(&mut raw, &mut out, &mut ev).unwrap();
    assert_eq!(need, frame.len() - 1000);
    assert!(out.is_empty());
    raw.extend_from_slice(&frame[1000..]);
    assert_eq!(d.decode(&mut raw, &mut out, &mut ev).unwrap(), 0);
    assert_eq!(out.len(), 70_000);
}

#[test]
fn protocol_errors() {
    let mut unmasked = client_frame(true, false, OP_BINARY, b"x");
    unmasked[1] &= 0x7F;
    assert_eq!(
        decode_all(&mut Decoder::new(false, 100), &unmasked)
            .unwrap_err()
            .code,
        CLOSE_PROTOCOL
    );
    let big = client_frame(true, false, OP_BINARY, &[0u8; 200]);
    assert_eq!(
        decode_all(&mut Decoder::new(false, 100), &big)
            .unwrap_err()
            .code,
        CLOSE_TOO_BIG
    );
    let cont = client_frame(true, false, OP_CONT, b"x");
    assert!(decode_all(&mut Decoder::new(false, 100), &cont).is_err());
    let long_ping = client_frame(true, false, OP_PING, &[0u8; 126]);
    assert!(decode_all(&mut Decoder::new(false, 1000), &long_ping).is_err());
    let compressed = client_frame(true, true, OP_BINARY, b"x");
    assert!(decode_all(&mut Decoder::new(false, 100), &compressed).is_err());
}

#[test]
fn deflate_round_trip() {
    let payload: Vec<u8> = b"MSG foo 1 100\r\n"
        .iter()
        .chain([b'a'; 100].iter())
        .chain(b"\r\n".iter())
        .copied()
        .collect();
    let mut server = Vec::new();
    encode_binary(&mut server, &payload, true);
    assert_eq!(
        server[0],
        0x80 | 0x40 | OP_BINARY,
        "compressed binary frame"
    );
    assert!(server.len() < payload.len());
    // Re-frame the compressed body as a masked client frame and decode it.
    let body = &server[2..];
    let mut d = Decoder::new(true, 1 << 20);
    let half = body.len() / 2;
    let mut bytes = client_frame(false, true, OP_BINARY, &body[..half]);
    bytes.extend(client_frame(true, false, OP_CONT, &body[half..]));
    let (out, _) = decode_all(&mut d, &bytes).unwrap();
    assert_eq!(out, payload);
    let mut plain = Vec::new();
    encode_binary(&mut plain, b"PONG\r\n", true);
    assert_eq!(
        plain,
        [&[0x82u8, 6][..], b"PONG\r\n"].concat(),
        "small payloads stay plain"
    );
}
