//! The client protocol parser never panics, always makes progress, and
//! gives the same operations however the input is split.
#![no_main]
use libfuzzer_sys::fuzz_target;
use proto::{Parsed, Parser};

fn run(chunks: &[&[u8]]) -> (Vec<String>, bool) {
    let mut p = Parser::new(256, 4096);
    let mut buf = Vec::new();
    let mut ops = Vec::new();
    for c in chunks {
        buf.extend_from_slice(c);
        let mut pos = 0;
        loop {
            match p.parse(&buf[pos..]) {
                Ok(Parsed::Op(op, n)) => {
                    assert!(n > 0 && pos + n <= buf.len());
                    ops.push(format!("{op:?}"));
                    pos += n;
                }
                Ok(Parsed::Incomplete) => break,
                Err(_) => return (ops, true),
            }
        }
        buf.drain(..pos);
    }
    (ops, false)
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
});
