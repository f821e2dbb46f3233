//! Sublist insert/remove/match agree with a naive model of subject matching.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sublist::{is_valid_subject, subject_matches, Sublist};

const TOKENS: [&[u8]; 6] = [b"a", b"b", b"*", b">", b"c", b"{\"x\":1}"];

fn subject(bytes: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    for (i, b) in bytes.iter().take(4).enumerate() {
        if i > 0 {
            v.push(b'.');
        }
        v.extend_from_slice(TOKENS[*b as usize % TOKENS.len()]);
    }
    v
}

fuzz_target!(|data: &[u8]| {
    let mut s: Sublist<u32> = Sublist::new();
    let mut model: Vec<(Vec<u8>, u32)> = Vec::new();
    for (id, op) in data.chunks(5).enumerate() {
        let id = id as u32;
        let subj = subject(&op[1..]);
        match op[0] % 3 {
            0 => {
                let ok = s.insert(&subj, None, id).is_ok();
                assert_eq!(ok, is_valid_subject(&subj));
                if ok {
                    model.push((subj, id));
                }
            }
            1 => {
                if !model.is_empty() {
                    let (f, i) = model.remove(op[0] as usize % model.len());
                    assert!(s.remove(&f, None, &i));
                }
            }
            _ => {
                let lit: Vec<u8> = subj
                    .split(|&b| b == b'.')
                    .map(|t| if t == b"*" || t == b">" { &b"z"[..] } else { t })
                    .collect::<Vec<_>>()
                    .join(&b'.');
                if lit.is_empty() {
                    continue;
                }
                let mut got = s.match_subject(&lit).psubs.clone();
                got.sort();
                let mut want: Vec<u32> = model
                    .iter()
                    .filter(|(f, _)| subject_matches(f, &lit))
                    .map(|(_, i)| *i)
                    .collect();
                want.sort();
                assert_eq!(got, want);
            }
        }
    }
});
