//! The config parser never panics, loops or overflows on any input.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = conf::parse_bytes(data);
});
