//! The route protocol parser never panics, always makes progress, gives
//! the same operations however the input is split, and what the encoders
//! write parses back to the same operation.
#![no_main]
use libfuzzer_sys::fuzz_target;
use proto::route::{self, RouteOp, RouteParsed, RouteParser};

fn run(chunks: &[&[u8]]) -> (Vec<String>, bool) {
    let mut p = RouteParser::new(256);
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

/// Re-encodes a parsed operation and checks it parses back the same.
fn round_trip(op: &RouteOp<'_>) {
    let mut out = Vec::new();
    match op {
        RouteOp::Sub {
            origin,
            account,
            subject,
            queue,
        } if !origin.is_empty() => route::leaf_origin_sub(&mut out, origin, account, subject, *queue),
        RouteOp::Sub {
            account,
            subject,
            queue,
            ..
        } => route::sub(&mut out, account, subject, *queue),
        RouteOp::Unsub {
            origin,
            account,
            subject,
            queue,
        } if !origin.is_empty() => {
            route::leaf_origin_unsub(&mut out, origin, account, subject, *queue)
        }
        RouteOp::Unsub {
            account,
            subject,
            queue,
            ..
        } => route::unsub(&mut out, account, subject, *queue),
        RouteOp::Msg(m) if !m.origin.is_empty() => route::leaf_origin_msg(
            &mut out,
            m.origin,
            m.account,
            m.subject,
            m.reply,
            m.queues,
            m.header_len,
            m.payload,
        ),
        RouteOp::Msg(m) => route::msg(
            &mut out,
            m.account,
            m.subject,
            m.reply,
            m.queues,
            m.header_len,
            m.payload,
        ),
        _ => return,
    }
    let mut p = RouteParser::new(1 << 20);
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
    let mut p = RouteParser::new(256);
    if let Ok(RouteParsed::Op(op, _)) = p.parse(body) {
        round_trip(&op);
    }
});
