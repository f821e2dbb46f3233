//! The leafnode protocol parser (`LS+`, `LS-`, `LMSG`, `HMSG` without an
//! account) never panics, always makes progress, gives the same operations
//! however the input is split, and what the leafnode encoders write parses
//! back to the same operation.
#![no_main]
use libfuzzer_sys::fuzz_target;
use proto::route::{self, RouteOp, RouteParsed, RouteParser};

fn parser() -> RouteParser {
    let mut p = RouteParser::new(256);
    p.set_leaf();
    p
}

fn run(chunks: &[&[u8]]) -> (Vec<String>, bool) {
    let mut p = parser();
    let mut buf = Vec::new();
    let mut ops = Vec::new();
    for c in chunks {
        buf.extend_from_slice(c);
        let mut pos = 0;
        loop {
            match p.parse(&buf[pos..]) {
                Ok(RouteParsed::Op(op, n)) => {
                    assert!(n > 0 && pos + n <= buf.len());
                    ops.push(format!("{op:?}"));
                    pos += n;
                }
                Ok(RouteParsed::Incomplete) => break,
                Err(_) => return (ops, true),
            }
        }
        buf.drain(..pos);
    }
    (ops, false)
}

/// Re-encodes a parsed operation with the leafnode encoders and checks it
/// parses back the same.
fn round_trip(op: &RouteOp<'_>) {
    let mut out = Vec::new();
    match op {
        RouteOp::Sub { subject, queue, .. } => match queue {
            Some((q, w)) if *w > 0 => route::leaf_sub(&mut out, subject, Some(q), *w),
            Some(_) => return,
            None => route::leaf_sub(&mut out, subject, None, 1),
        },
        RouteOp::Unsub { subject, queue, .. } => route::leaf_sub(&mut out, subject, *queue, 0),
        RouteOp::Msg(m) => route::leaf_msg(
            &mut out,
            m.subject,
            m.reply,
            m.queues,
            m.header_len,
            m.payload,
        ),
        _ => return,
    }
    let mut p = RouteParser::new(1 << 20);
    p.set_leaf();
    match p.parse(&out) {
        Ok(RouteParsed::Op(back, n)) => {
            assert_eq!(n, out.len());
            assert_eq!(&back, op);
        }
        other => panic!("{other:?} for {:?}", String::from_utf8_lossy(&out)),
    }
}

fuzz_target!(|data: &[u8]| {
    if data.is_empty() {
        return;
    }
    let cut = data[0] as usize % data.len();
    let body = &data[1..];
    let cut = cut.min(body.len());
    let (whole, whole_err) = run(&[body]);
    let (split, split_err) = run(&[&body[..cut], &body[cut..]]);
    if !whole_err && !split_err {
        assert_eq!(whole, split);
    }
    if let Ok(RouteParsed::Op(op, _)) = parser().parse(body) {
        round_trip(&op);
    }
});
