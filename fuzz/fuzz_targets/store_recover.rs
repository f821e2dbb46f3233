//! File store recovery from arbitrary bytes: the segment files of a store are
//! taken from the input. Opening must not panic, must serve only messages whose
//! records check out, and must leave a store that takes new messages and gives
//! back the same state after a restart.
#![no_main]
use libfuzzer_sys::fuzz_target;
use store::sim::SimFs;
use store::{FileStore, FileStoreOptions, MsgStore, StoreConfig};

fuzz_target!(|data: &[u8]| {
    let fs = SimFs::new();
    let mut rest = data;
    let mut n = 1;
    while !rest.is_empty() && n <= 4 {
        let len = if rest.len() >= 2 { u16::from_le_bytes([rest[0], rest[1]]) as usize } else { rest.len() };
        rest = &rest[rest.len().min(2)..];
        let take = len.min(rest.len());
        fs.set_content(&format!("st/msgs/{n:010}.seg"), rest[..take].to_vec());
        rest = &rest[take..];
        n += 1;
    }
    let opts = FileStoreOptions { segment_size: 2048, write_buffer: 256 };
    let Ok(mut s) = FileStore::open(fs.clone(), "st", StoreConfig::default(), opts.clone()) else { return };
    let st = s.state();
    let mut seq = 0;
    while let Ok(m) = s.load_next("", seq + 1) {
        assert!(m.seq > seq);
        seq = m.seq;
    }
    let next = s.store("fuzz.after", b"", b"ok", 1).expect("store after recovery");
    assert!(next > st.last_seq || st.last_seq == u64::MAX);
    s.sync().expect("sync");
    let before = s.state();
    drop(s);
    let mut s = FileStore::open(fs, "st", StoreConfig::default(), opts).expect("reopen");
    assert_eq!(s.state().last_seq, before.last_seq);
    assert_eq!(s.state().msgs, before.msgs);
    assert_eq!(s.load(next).expect("stored message").msg(), b"ok");
});
