use proto::{ClientOp, ParseError, Parsed, Parser, PubOp};

/// Parses a whole buffer, feeding it in pieces of `chunk` bytes, and returns
/// the ops rendered as strings (so borrowed ops can outlive the buffer).
fn parse_chunked(input: &[u8], chunk: usize) -> Result<Vec<String>, ParseError> {
    let mut p = Parser::new(4096, 1 << 20);
    let mut buf: Vec<u8> = Vec::new();
    let mut out = Vec::new();
    for piece in input.chunks(chunk.max(1)) {
        buf.extend_from_slice(piece);
        let mut pos = 0;
        while let Parsed::Op(op, n) = p.parse(&buf[pos..])? {
            out.push(format!("{op:?}"));
            pos += n;
        }
        buf.drain(..pos);
    }
    assert!(
        buf.is_empty(),
        "left over: {:?}",
        String::from_utf8_lossy(&buf)
    );
    Ok(out)
}

fn one(input: &[u8]) -> Result<String, ParseError> {
    let v = parse_chunked(input, input.len())?;
    assert_eq!(v.len(), 1, "{v:?}");
    Ok(v.into_iter().next().unwrap())
}

#[test]
fn every_op() {
    let mut p = Parser::default();
    let cases: Vec<(&[u8], ClientOp)> = vec![
        (b"PING\r\n", ClientOp::Ping),
        (b"pong\r\n", ClientOp::Pong),
        (b"PING\n", ClientOp::Ping),
        (
            b"CONNECT {\"verbose\":false}\r\n",
            ClientOp::Connect(b"{\"verbose\":false}"),
        ),
        (
            b"SUB foo 1\r\n",
            ClientOp::Sub {
                subject: b"foo",
                queue: None,
                sid: b"1",
            },
        ),
        (
            b"sub foo  q\t 22\r\n",
            ClientOp::Sub {
                subject: b"foo",
                queue: Some(b"q"),
                sid: b"22",
            },
        ),
        (
            b"UNSUB 1\r\n",
            ClientOp::Unsub {
                sid: b"1",
                max: None,
            },
        ),
        (
            b"UNSUB 1 5\r\n",
            ClientOp::Unsub {
                sid: b"1",
                max: Some(5),
            },
        ),
        (
            b"UNSUB 1 x\r\n",
            ClientOp::Unsub {
                sid: b"1",
                max: None,
            },
        ),
        (b"+OK\r\n", ClientOp::Ok),
        (b"-ERR 'x'\r\n", ClientOp::Err(b"'x'")),
        (b"INFO {}\r\n", ClientOp::Info(b"{}")),
        (
            b"PUB foo 2\r\nhi\r\n",
            ClientOp::Pub(PubOp {
                subject: b"foo",
                reply: None,
                header_len: None,
                payload: b"hi",
            }),
        ),
        (
            b"pub foo bar 0\r\n\r\n",
            ClientOp::Pub(PubOp {
                subject: b"foo",
                reply: Some(b"bar"),
                header_len: None,
                payload: b"",
            }),
        ),
        (
            b"HPUB foo r 12 14\r\nNATS/1.0\r\n\r\nhi\r\n",
            ClientOp::Pub(PubOp {
                subject: b"foo",
                reply: Some(b"r"),
                header_len: Some(12),
                payload: b"NATS/1.0\r\n\r\nhi",
            }),
        ),
    ];
    for (input, want) in cases {
        match p.parse(input).unwrap() {
            Parsed::Op(op, n) => {
                assert_eq!(op, want, "{:?}", String::from_utf8_lossy(input));
                assert_eq!(n, input.len());
            }
            Parsed::Incomplete => panic!("incomplete: {:?}", String::from_utf8_lossy(input)),
        }
    }
}

#[test]
fn json_subjects_are_plain_tokens() {
    let mut p = Parser::default();
    let input = b"PUB {\"cmd\":\"agent-spinup\"} _INBOX.abc 2\r\nhi\r\n";
    let Parsed::Op(ClientOp::Pub(op), _) = p.parse(input).unwrap() else {
        panic!()
    };
    assert_eq!(op.subject, br#"{"cmd":"agent-spinup"}"#);
    assert_eq!(op.reply, Some(&b"_INBOX.abc"[..]));
}

#[test]
fn pub_header_accessors() {
    let mut p = Parser::default();
    let Parsed::Op(ClientOp::Pub(op), _) =
        p.parse(b"HPUB a 12 14\r\nNATS/1.0\r\n\r\nhi\r\n").unwrap()
    else {
        panic!()
    };
    assert_eq!(op.headers(), b"NATS/1.0\r\n\r\n");
    assert_eq!(op.body(), b"hi");
}

#[test]
fn split_at_every_boundary() {
    let input: &[u8] = b"CONNECT {\"verbose\":false,\"headers\":true}\r\nSUB foo.* q 1\r\nPUB foo.bar reply 5\r\nhello\r\nHPUB a 12 15\r\nNATS/1.0\r\n\r\nabc\r\nPING\r\nUNSUB 1 10\r\nPUB x 0\r\n\r\nPONG\r\n";
    let whole = parse_chunked(input, input.len()).unwrap();
    assert_eq!(whole.len(), 8);
    for chunk in 1..input.len() {
        assert_eq!(parse_chunked(input, chunk).unwrap(), whole, "chunk {chunk}");
    }
    // Split once at every position.
    for cut in 1..input.len() {
        let mut p = Parser::default();
        let mut buf = input[..cut].to_vec();
        let mut seen = Vec::new();
        let mut pos = 0;
        while let Parsed::Op(op, n) = p.parse(&buf[pos..]).unwrap() {
            seen.push(format!("{op:?}"));
            pos += n;
        }
        buf.drain(..pos);
        buf.extend_from_slice(&input[cut..]);
        pos = 0;
        while let Parsed::Op(op, n) = p.parse(&buf[pos..]).unwrap() {
            seen.push(format!("{op:?}"));
            pos += n;
        }
        assert_eq!(seen, whole, "cut {cut}");
    }
}

#[test]
fn errors() {
    let unknown = |b: &[u8]| matches!(one(b), Err(ParseError::UnknownOp { .. }));
    assert!(unknown(b"XYZ\r\n"));
    assert!(unknown(b"MSG foo 1 2\r\nhi\r\n"));
    assert!(unknown(b"UNSUB\r\n"));
    assert!(unknown(b"PUB foo 3\r\nabcd\r\n"));
    let args = |b: &[u8]| match one(b) {
        Err(ParseError::Args { op, what, .. }) => format!("{op} {what}"),
        other => panic!("{other:?}"),
    };
    assert_eq!(args(b"PUB foo\r\n"), "processPub Parse Error");
    assert_eq!(args(b"PUB foo bar baz 3\r\n"), "processPub Parse Error");
    assert_eq!(args(b"PUB foo x\r\n"), "processPub Bad or Missing Size");
    assert_eq!(args(b"PUB foo -1\r\n"), "processPub Bad or Missing Size");
    assert_eq!(args(b"SUB foo\r\n"), "processSub Parse Error");
    assert_eq!(args(b"SUB a b c d\r\n"), "processSub Parse Error");
    assert_eq!(
        args(b"HPUB foo 5 2\r\n"),
        "processHeaderPub Header Size larger then TotalSize"
    );
    let mut p = Parser::new(64, 10);
    assert_eq!(
        p.parse(b"PUB foo 11\r\n"),
        Err(ParseError::MaxPayload { size: 11, max: 10 })
    );
    assert!(matches!(
        p.parse(b"PUB foo 10\r\n0123456789\r\n"),
        Ok(Parsed::Op(..))
    ));
    let long = format!("SUB {} 1\r\n", "a".repeat(100));
    assert!(matches!(
        p.parse(long.as_bytes()),
        Err(ParseError::MaxControlLine { .. })
    ));
    // Without a newline at all the limit still applies.
    let mut p = Parser::new(64, 10);
    let partial = "a".repeat(200);
    assert!(matches!(
        p.parse(partial.as_bytes()),
        Err(ParseError::MaxControlLine { .. })
    ));
    assert_eq!(
        ParseError::MaxPayload { size: 1, max: 0 }.client_error(),
        Some("Maximum Payload Violation")
    );
}

#[test]
fn large_payload_is_not_rescanned() {
    let mut p = Parser::new(4096, 8 << 20);
    let mut buf = b"PUB big 4194304\r\n".to_vec();
    assert_eq!(p.parse(&buf).unwrap(), Parsed::Incomplete);
    buf.resize(buf.len() + 4194304, b'\n');
    assert_eq!(p.parse(&buf).unwrap(), Parsed::Incomplete);
    buf.extend_from_slice(b"\r\n");
    match p.parse(&buf).unwrap() {
        Parsed::Op(ClientOp::Pub(op), n) => {
            assert_eq!(op.payload.len(), 4194304);
            assert_eq!(n, buf.len());
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn garbage_never_panics() {
    let mut seed: u64 = 0x2545F4914F6CDD1D;
    let alphabet = b"PUBSHNCOKGIFXR +-\r\n0123456789 .*>{}\"\t";
    for _ in 0..20000 {
        let len = (seed % 64) as usize;
        let mut v = Vec::with_capacity(len);
        for _ in 0..len {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            v.push(alphabet[(seed % alphabet.len() as u64) as usize]);
        }
        let mut p = Parser::new(32, 16);
        let mut pos = 0;
        while let Ok(Parsed::Op(_, n)) = p.parse(&v[pos..]) {
            assert!(n > 0);
            pos += n;
        }
    }
}
