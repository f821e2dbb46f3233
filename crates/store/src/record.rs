//! The record format of segment files.
//!
//! ```text
//! magic u16 | kind u8 | flags u8 | body_len u32 | seq u64 | ts i64 |
//! subj_len u16 | reserved u16 | hdr_len u32 | header_crc u32 |
//! body (subject, headers, payload) | crc u32 (header and body)
//! ```
//!
//! Little endian. The header has its own checksum so a damaged length is
//! never trusted; the trailing checksum covers the whole record.

/// Bytes before the body.
pub const HEADER_LEN: usize = 36;
/// Bytes of a record besides its body.
pub const OVERHEAD: usize = HEADER_LEN + 4;
const MAGIC: u16 = 0x4e52;
/// Sequences above this are never written and never read back as good records,
/// so arithmetic on sequences cannot overflow.
pub const MAX_SEQ: u64 = 1 << 62;
/// Largest body accepted when decoding (guards against absurd lengths).
pub const MAX_BODY: usize = 64 << 20;

/// What a record says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A message.
    Msg = 1,
    /// The message at `seq` was removed.
    Tomb = 2,
    /// Every message in `seq..=ts as u64` was removed (purge, compaction).
    Range = 3,
    /// Sequences up to `seq` were used (written when a segment starts).
    Mark = 4,
    /// The message at `seq` was erased in place.
    Erased = 5,
    /// A segment starts; `seq` was the last sequence then.
    Start = 6,
}

impl Kind {
    fn from(b: u8) -> Option<Kind> {
        Some(match b {
            1 => Kind::Msg,
            2 => Kind::Tomb,
            3 => Kind::Range,
            4 => Kind::Mark,
            5 => Kind::Erased,
            6 => Kind::Start,
            _ => return None,
        })
    }
}

/// A decoded record, with offsets of its parts within the decoded buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rec {
    pub kind: Kind,
    pub seq: u64,
    pub ts: i64,
    /// Offset of the subject from the record start.
    pub subj_len: usize,
    pub hdr_len: usize,
    pub body_len: usize,
    /// The whole record's length.
    pub len: usize,
}

impl Rec {
    /// The range of the subject within the record.
    pub fn subject(&self) -> std::ops::Range<usize> {
        HEADER_LEN..HEADER_LEN + self.subj_len
    }
    /// The range of headers and payload within the record.
    pub fn data(&self) -> std::ops::Range<usize> {
        HEADER_LEN + self.subj_len..HEADER_LEN + self.body_len
    }
}

/// The result of decoding at a position.
#[derive(Debug, PartialEq, Eq)]
pub enum Decoded {
    /// A good record.
    Ok(Rec),
    /// A good header whose body runs past the end of the buffer.
    Short,
    /// Not a good record.
    Bad,
}

/// Appends an encoded record to `out`.
pub fn encode(
    out: &mut Vec<u8>,
    kind: Kind,
    seq: u64,
    ts: i64,
    subj: &[u8],
    hdr: &[u8],
    msg: &[u8],
) {
    let start = out.len();
    let body_len = subj.len() + hdr.len() + msg.len();
    out.extend_from_slice(&MAGIC.to_le_bytes());
    out.push(kind as u8);
    out.push(0);
    out.extend_from_slice(&(body_len as u32).to_le_bytes());
    out.extend_from_slice(&seq.to_le_bytes());
    out.extend_from_slice(&ts.to_le_bytes());
    out.extend_from_slice(&(subj.len() as u16).to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&(hdr.len() as u32).to_le_bytes());
    let hcrc = crc32fast::hash(&out[start..]);
    out.extend_from_slice(&hcrc.to_le_bytes());
    out.extend_from_slice(subj);
    out.extend_from_slice(hdr);
    out.extend_from_slice(msg);
    let crc = crc32fast::hash(&out[start..]);
    out.extend_from_slice(&crc.to_le_bytes());
}

/// The encoded length of a record with this body.
pub fn encoded_len(subj: usize, hdr: usize, msg: usize) -> usize {
    OVERHEAD + subj + hdr + msg
}

fn u16_at(b: &[u8], i: usize) -> u16 {
    u16::from_le_bytes([b[i], b[i + 1]])
}
fn u32_at(b: &[u8], i: usize) -> u32 {
    u32::from_le_bytes(b[i..i + 4].try_into().expect("4 bytes"))
}
fn u64_at(b: &[u8], i: usize) -> u64 {
    u64::from_le_bytes(b[i..i + 8].try_into().expect("8 bytes"))
}

/// Decodes the record at the start of `b`.
pub fn decode(b: &[u8]) -> Decoded {
    if b.len() < HEADER_LEN {
        return if b.len() >= 2 && u16_at(b, 0) != MAGIC {
            Decoded::Bad
        } else {
            Decoded::Short
        };
    }
    if u16_at(b, 0) != MAGIC || crc32fast::hash(&b[..HEADER_LEN - 4]) != u32_at(b, HEADER_LEN - 4) {
        return Decoded::Bad;
    }
    let Some(kind) = Kind::from(b[2]) else {
        return Decoded::Bad;
    };
    let body_len = u32_at(b, 4) as usize;
    let subj_len = u16_at(b, 24) as usize;
    let hdr_len = u32_at(b, 28) as usize;
    if body_len > MAX_BODY || subj_len + hdr_len > body_len {
        return Decoded::Bad;
    }
    let len = OVERHEAD + body_len;
    if b.len() < len {
        return Decoded::Short;
    }
    if crc32fast::hash(&b[..len - 4]) != u32_at(b, len - 4) {
        return Decoded::Bad;
    }
    let (seq, ts) = (u64_at(b, 8), u64_at(b, 16) as i64);
    if seq > MAX_SEQ || kind == Kind::Range && (ts as u64 > MAX_SEQ || seq > ts as u64) {
        return Decoded::Bad;
    }
    Decoded::Ok(Rec {
        kind,
        seq,
        ts,
        subj_len,
        hdr_len,
        body_len,
        len,
    })
}

/// The kind and sequence of a record whose header is intact, even when its body is not.
pub fn peek(b: &[u8]) -> Option<(Kind, u64)> {
    if b.len() < HEADER_LEN
        || u16_at(b, 0) != MAGIC
        || crc32fast::hash(&b[..HEADER_LEN - 4]) != u32_at(b, HEADER_LEN - 4)
    {
        return None;
    }
    if u32_at(b, 4) as usize > MAX_BODY {
        return None;
    }
    if u32_at(b, 4) as usize > MAX_BODY || u64_at(b, 8) > MAX_SEQ {
        return None;
    }
    Some((Kind::from(b[2])?, u64_at(b, 8)))
}

/// The next offset after `from` where a good record starts, if any.
pub fn resync(b: &[u8], from: usize) -> Option<usize> {
    let magic = MAGIC.to_le_bytes();
    let mut i = from;
    while i + 1 < b.len() {
        let rel = memchr_pair(&b[i..], magic)?;
        i += rel;
        if let Decoded::Ok(_) = decode(&b[i..]) {
            return Some(i);
        }
        i += 1;
    }
    None
}

fn memchr_pair(b: &[u8], pair: [u8; 2]) -> Option<usize> {
    b.windows(2).position(|w| w == pair)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_damage() {
        let mut out = Vec::new();
        encode(
            &mut out,
            Kind::Msg,
            7,
            99,
            b"a.b",
            b"NATS/1.0\r\n\r\n",
            b"hello",
        );
        let Decoded::Ok(r) = decode(&out) else {
            panic!("decodes")
        };
        assert_eq!((r.kind, r.seq, r.ts, r.len), (Kind::Msg, 7, 99, out.len()));
        assert_eq!(&out[r.subject()], b"a.b");
        assert_eq!(&out[r.data()], b"NATS/1.0\r\n\r\nhello");
        assert_eq!(decode(&out[..out.len() - 1]), Decoded::Short);
        for i in 0..out.len() {
            let mut bad = out.clone();
            bad[i] ^= 0x40;
            assert!(
                !matches!(decode(&bad), Decoded::Ok(_)),
                "flip at {i} detected"
            );
        }
        let mut two = vec![0xAA; 5];
        two.extend_from_slice(&out);
        assert_eq!(resync(&two, 0), Some(5));
    }
}
