//! Route and leafnode parser and encoder tests.
use super::*;

fn one(input: &[u8]) -> RouteOp<'_> {
    match RouteParser::new(4096).parse(input).unwrap() {
        RouteParsed::Op(op, n) => {
            assert_eq!(n, input.len());
            op
        }
        RouteParsed::Incomplete => panic!("incomplete"),
    }
}

fn pinned(input: &[u8]) -> RouteOp<'_> {
    let mut p = RouteParser::new(4096);
    p.set_pinned(true);
    match p.parse(input).unwrap() {
        RouteParsed::Op(op, n) => {
            assert_eq!(n, input.len());
            op
        }
        RouteParsed::Incomplete => panic!("incomplete"),
    }
}

#[test]
fn pinned_routes_leave_the_account_out() {
    assert_eq!(
        pinned(b"RS+ foo q 2\r\n"),
        RouteOp::Sub {
            origin: b"",
            account: b"",
            subject: b"foo",
            queue: Some((b"q", 2))
        }
    );
    assert_eq!(
        pinned(b"LS+ c1 foo\r\n"),
        RouteOp::Sub {
            origin: b"c1",
            account: b"",
            subject: b"foo",
            queue: None
        }
    );
    assert_eq!(
        pinned(b"RS- foo\r\n"),
        RouteOp::Unsub {
            origin: b"",
            account: b"",
            subject: b"foo",
            queue: None
        }
    );
    let RouteOp::Msg(m) = pinned(b"RMSG foo + r q1 q2 2\r\nhi\r\n") else {
        panic!()
    };
    assert_eq!(
        (m.account, m.subject, m.reply, m.queues, m.payload),
        (
            &b""[..],
            &b"foo"[..],
            Some(&b"r"[..]),
            &b"q1 q2"[..],
            &b"hi"[..]
        )
    );
    let RouteOp::Msg(m) = pinned(b"HMSG foo 2 3\r\nab1\r\n") else {
        panic!()
    };
    assert_eq!(
        (m.account, m.header_len, m.reply),
        (&b""[..], Some(2), None)
    );
    let RouteOp::Msg(m) = pinned(b"LMSG c1 foo r 0 1\r\nx\r\n") else {
        panic!()
    };
    assert_eq!(
        (m.account, m.subject, m.reply),
        (&b""[..], &b"foo"[..], Some(&b"r"[..]))
    );
    let many = b"RMSG foo | q1 q2 q3 q4 q5 q6 q7 q8 q9 q10 q11 q12 q13 q14 q15 q16 1\r\nx\r\n";
    let RouteOp::Msg(m) = pinned(many) else {
        panic!()
    };
    assert_eq!(
        (m.account, m.subject, m.queue_names().count()),
        (&b""[..], &b"foo"[..], 16)
    );
    assert!(RouteParser::new(4096).parse(b"RS+ foo\r\n").is_err());
    let mut out = Vec::new();
    sub(&mut out, b"", b"foo", Some((b"q", 3)));
    unsub(&mut out, b"", b"foo", None);
    msg(&mut out, b"", b"foo", Some(b"r"), b"", None, b"hi");
    assert_eq!(out, b"RS+ foo q 3\r\nRS- foo\r\nRMSG foo r 2\r\nhi\r\n");
}

#[test]
fn leafnode_lines_carry_no_account() {
    let mut p = RouteParser::new(4096);
    p.set_leaf();
    let mut all = b"LS+ foo\r\nLS+ foo q 3\r\nLS- foo q\r\nLMSG foo + r q 2\r\nhi\r\nHMSG foo r 12 14\r\nNATS/1.0\r\n\r\nhi\r\nLMSG bar 0\r\n\r\n".to_vec();
    let mut ops = Vec::new();
    let mut off = 0;
    while let RouteParsed::Op(op, n) = p.parse(&all[off..]).unwrap() {
        ops.push(format!("{op:?}"));
        off += n;
    }
    assert_eq!(off, all.len());
    assert_eq!(ops.len(), 6);
    assert!(ops[0].contains("subject: [102, 111, 111], queue: None"));
    assert!(ops[1].contains("queue: Some(([113], 3))"));
    assert!(ops[2].starts_with("Unsub"));
    all.clear();
    leaf_sub(&mut all, b"foo", Some(b"q"), 3);
    leaf_sub(&mut all, b"foo", Some(b"q"), 0);
    leaf_sub(&mut all, b"bar", None, 1);
    leaf_msg(&mut all, b"foo", Some(b"r"), b"q", None, b"hi");
    leaf_msg(&mut all, b"foo", None, b"", Some(0), b"");
    leaf_origin_sub(&mut all, b"C", b"A", b"foo", None);
    leaf_origin_unsub(&mut all, b"C", b"A", b"foo", Some(b"q"));
    leaf_origin_msg(&mut all, b"C", b"A", b"foo", None, b"", None, b"x");
    assert_eq!(
        String::from_utf8(all).unwrap(),
        "LS+ foo q 3\r\nLS- foo q\r\nLS+ bar\r\nLMSG foo + r q 2\r\nhi\r\nHMSG foo 0 0\r\n\r\n\
         LS+ C A foo\r\nLS- C A foo q\r\nLMSG C A foo 0 1\r\nx\r\n"
    );
    let RouteOp::Msg(m) = one(b"LMSG C A foo 0 1\r\nx\r\n") else {
        panic!()
    };
    assert_eq!(
        (m.origin, m.account, m.subject),
        (&b"C"[..], &b"A"[..], &b"foo"[..])
    );
}

#[test]
fn subs() {
    assert_eq!(
        one(b"RS+ $G foo.*\r\n"),
        RouteOp::Sub {
            origin: b"",
            account: b"$G",
            subject: b"foo.*",
            queue: None
        }
    );
    assert_eq!(
        one(b"RS+ $G foo q 3\r\n"),
        RouteOp::Sub {
            origin: b"",
            account: b"$G",
            subject: b"foo",
            queue: Some((b"q", 3))
        }
    );
    assert_eq!(
        one(b"LS+ c1 A foo\r\n"),
        RouteOp::Sub {
            origin: b"c1",
            account: b"A",
            subject: b"foo",
            queue: None
        }
    );
    assert_eq!(
        one(b"RS- $G foo q\r\n"),
        RouteOp::Unsub {
            origin: b"",
            account: b"$G",
            subject: b"foo",
            queue: Some(b"q")
        }
    );
    assert_eq!(
        one(b"LS- c1 A foo\r\n"),
        RouteOp::Unsub {
            origin: b"c1",
            account: b"A",
            subject: b"foo",
            queue: None
        }
    );
    assert!(RouteParser::new(4096).parse(b"RS+ $G\r\n").is_err());
    assert!(RouteParser::new(4096).parse(b"RS+ $G foo q x\r\n").is_err());
}

#[test]
fn msgs() {
    let RouteOp::Msg(m) = one(b"RMSG $G foo 2\r\nhi\r\n") else {
        panic!()
    };
    assert_eq!(
        (m.subject, m.reply, m.payload),
        (&b"foo"[..], None, &b"hi"[..])
    );
    let RouteOp::Msg(m) = one(b"RMSG $G foo + in.1 q1 q2 2\r\nhi\r\n") else {
        panic!()
    };
    assert_eq!(m.reply, Some(&b"in.1"[..]));
    assert_eq!(m.queue_names().collect::<Vec<_>>(), [&b"q1"[..], b"q2"]);
    let RouteOp::Msg(m) = one(b"RMSG $G foo | q1 0\r\n\r\n") else {
        panic!()
    };
    assert_eq!((m.reply, m.queues), (None, &b"q1"[..]));
    let RouteOp::Msg(m) = one(b"HMSG A foo r 12 14\r\nNATS/1.0\r\n\r\nhi\r\n") else {
        panic!()
    };
    assert_eq!((m.account, m.header_len), (&b"A"[..], Some(12)));
    let many: Vec<String> = (0..100).map(|i| format!("q{i}")).collect();
    let line = format!("RMSG $G foo | {} 2\r\nhi\r\n", many.join(" "));
    let RouteOp::Msg(m) = one(line.as_bytes()) else {
        panic!()
    };
    assert_eq!(m.queue_names().count(), 100);
    let RouteOp::Msg(m) = one(b"LMSG c1 A foo 0 2\r\nhi\r\n") else {
        panic!()
    };
    assert_eq!((m.account, m.subject), (&b"A"[..], &b"foo"[..]));
    assert!(RouteParser::new(4096)
        .parse(b"RMSG $G foo x r q 2\r\nhi\r\n")
        .is_err());
    assert!(RouteParser::new(4096)
        .parse(b"RMSG $G foo 2\r\nhiX\n")
        .is_err());
}

#[test]
fn split_payload() {
    let input = b"RMSG $G foo 5\r\nhello\r\nPING\r\n";
    let mut p = RouteParser::new(4096);
    for cut in 1..input.len() {
        let mut p2 = p.clone();
        match p2.parse(&input[..cut]).unwrap() {
            RouteParsed::Incomplete => {}
            RouteParsed::Op(_, n) => assert!(n <= cut),
        }
    }
    let RouteParsed::Op(_, n) = p.parse(input).unwrap() else {
        panic!()
    };
    assert_eq!(&input[n..], b"PING\r\n");
}

#[test]
fn encoders_round_trip() {
    let mut v = Vec::new();
    sub(&mut v, b"$G", b"foo", Some((b"q", 2)));
    unsub(&mut v, b"$G", b"foo", Some(b"q"));
    msg(&mut v, b"$G", b"foo", Some(b"r"), b"q1 q2", None, b"hi");
    msg(&mut v, b"$G", b"foo", None, b"q1", Some(2), b"h:hi");
    msg(&mut v, b"$G", b"foo", Some(b"r"), b"", None, b"");
    assert_eq!(
        String::from_utf8_lossy(&v),
        "RS+ $G foo q 2\r\nRS- $G foo q\r\nRMSG $G foo + r q1 q2 2\r\nhi\r\n\
         HMSG $G foo | q1 2 4\r\nh:hi\r\nRMSG $G foo r 0\r\n\r\n"
    );
    let mut p = RouteParser::new(4096);
    let mut rest = &v[..];
    let mut n_ops = 0;
    while !rest.is_empty() {
        let RouteParsed::Op(_, n) = p.parse(rest).unwrap() else {
            panic!()
        };
        rest = &rest[n..];
        n_ops += 1;
    }
    assert_eq!(n_ops, 5);
}
