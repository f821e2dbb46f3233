//! The websocket frame decoder never panics, always consumes complete
//! frames, and gives the same bytes however the input is split.
#![no_main]
use libfuzzer_sys::fuzz_target;
use rnatsd::transport::ws::{Control, Decoder};

fn run(chunks: &[&[u8]], compress: bool) -> Option<(Vec<u8>, Vec<Control>)> {
    let mut d = Decoder::new(compress, 1 << 16);
    let mut raw = Vec::new();
    let mut out = Vec::new();
    let mut events = Vec::new();
    for c in chunks {
        raw.extend_from_slice(c);
        d.decode(&mut raw, &mut out, &mut events).ok()?;
    }
    Some((out, events))
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let compress = data[0] & 1 == 1;
    let body = &data[2..];
    let cut = (data[1] as usize).min(body.len());
    let whole = run(&[body], compress);
    let split = run(&[&body[..cut], &body[cut..]], compress);
    if let (Some(a), Some(b)) = (whole, split) {
        assert_eq!(a, b);
    }
});
