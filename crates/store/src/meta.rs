//! Checksummed metadata files, replaced atomically.
//!
//! ```text
//! "RNM1" | len u32 | crc32 u32 | content
//! ```

use crate::fs::Fs;
use std::fmt;

const MAGIC: &[u8; 4] = b"RNM1";

/// Why a metadata file could not be read.
#[derive(Debug, PartialEq, Eq)]
pub enum MetaError {
    /// There is no such file.
    Missing,
    /// The file is there but fails its checksum or framing.
    Damaged(String),
    /// The file system failed.
    Io(String),
}

impl fmt::Display for MetaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MetaError::Missing => f.write_str("metadata file missing"),
            MetaError::Damaged(why) => write!(f, "metadata file damaged: {why}"),
            MetaError::Io(e) => write!(f, "metadata file unreadable: {e}"),
        }
    }
}

impl std::error::Error for MetaError {}

/// Frames `content` with its length and checksum.
pub fn encode(content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 12);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(content.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(content).to_le_bytes());
    out.extend_from_slice(content);
    out
}

/// Checks a framed file and returns its content.
pub fn decode(data: &[u8]) -> Result<Vec<u8>, MetaError> {
    if data.len() < 12 || &data[..4] != MAGIC {
        return Err(MetaError::Damaged("bad header".into()));
    }
    let len = u32::from_le_bytes(data[4..8].try_into().expect("4 bytes")) as usize;
    let crc = u32::from_le_bytes(data[8..12].try_into().expect("4 bytes"));
    let content = &data[12..];
    if content.len() != len {
        return Err(MetaError::Damaged(format!(
            "length {} where {len} was written",
            content.len()
        )));
    }
    if crc32fast::hash(content) != crc {
        return Err(MetaError::Damaged("checksum mismatch".into()));
    }
    Ok(content.to_vec())
}

/// Writes `content` to `path` atomically and durably.
pub fn write(fs: &mut dyn Fs, path: &str, content: &[u8]) -> std::io::Result<()> {
    fs.write_atomic(path, &encode(content))
}

/// Reads and checks the metadata at `path`.
pub fn read(fs: &mut dyn Fs, path: &str) -> Result<Vec<u8>, MetaError> {
    if !fs.exists(path) {
        return Err(MetaError::Missing);
    }
    let data = fs.read(path).map_err(|e| MetaError::Io(e.to_string()))?;
    decode(&data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::SimFs;

    #[test]
    fn damage_is_reported() {
        let mut fs = SimFs::new();
        write(&mut fs, "s/meta", b"{\"name\":\"S\"}").unwrap();
        assert_eq!(read(&mut fs, "s/meta").unwrap(), b"{\"name\":\"S\"}");
        assert_eq!(read(&mut fs, "s/none"), Err(MetaError::Missing));
        let mut bytes = fs.content("s/meta").unwrap();
        for i in 0..bytes.len() {
            bytes[i] ^= 1;
            assert!(decode(&bytes).is_err(), "flip at {i}");
            bytes[i] ^= 1;
        }
        assert!(decode(&bytes[..bytes.len() - 1]).is_err());
    }
}
