//! The file store on the real disk (feature `os`).
#![cfg(feature = "os")]

use store::os::OsFs;
use store::{FileStore, FileStoreOptions, MsgStore, StoreConfig};

fn tmp(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("rnatsd-store-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn segment_bytes(root: &std::path::Path) -> Vec<u8> {
    let mut all = Vec::new();
    for e in std::fs::read_dir(root.join("s/msgs")).unwrap() {
        all.extend(std::fs::read(e.unwrap().path()).unwrap());
    }
    all
}

#[test]
fn real_disk_round_trip_erase_and_torn_tail() {
    let root = tmp("os");
    let opts = FileStoreOptions {
        segment_size: 64 << 10,
        write_buffer: 4096,
    };
    let mut s =
        FileStore::open(OsFs::new(&root), "s", StoreConfig::default(), opts.clone()).unwrap();
    for i in 1..=2000u64 {
        s.store(
            &format!("o.{}", i % 7),
            b"",
            format!("payload-{i:06}").as_bytes(),
            i as i64,
        )
        .unwrap();
    }
    s.erase(1500).unwrap();
    s.remove(10).unwrap();
    s.store("o.last", b"", b"payload-002001", 2001).unwrap();
    s.sync().unwrap();
    let before = s.state();
    drop(s);
    let raw = segment_bytes(&root);
    assert!(
        !raw.windows(14).any(|w| w == b"payload-001500"),
        "erased bytes are gone from disk"
    );
    assert!(raw.windows(14).any(|w| w == b"payload-001499"));

    let mut s =
        FileStore::open(OsFs::new(&root), "s", StoreConfig::default(), opts.clone()).unwrap();
    assert_eq!(s.state(), before);
    assert_eq!(s.load(1999).unwrap().msg(), b"payload-001999");
    assert!(s.load(1500).is_err() && s.load(10).is_err());
    drop(s);

    // A partial record at the end of the newest segment is cut on open.
    let mut segs: Vec<_> = std::fs::read_dir(root.join("s/msgs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    segs.sort();
    let last = segs.last().unwrap();
    let len = std::fs::metadata(last).unwrap().len();
    let f = std::fs::OpenOptions::new().write(true).open(last).unwrap();
    f.set_len(len - 5).unwrap();
    let mut s = FileStore::open(OsFs::new(&root), "s", StoreConfig::default(), opts).unwrap();
    let st = s.state();
    assert_eq!(st.last_seq, 2001, "the cut message's sequence stays used");
    assert_eq!(st.lost.as_ref().map(|l| l.msgs.clone()), Some(vec![2001]));
    assert_eq!(s.store("o.x", b"", b"next", 1).unwrap(), 2002);
    s.sync().unwrap();
    std::fs::remove_dir_all(&root).unwrap();
}
