//! A simulated disk for tests: it keeps what was synced apart from what was
//! only written, and can lose power.
//!
//! On a power cut every file falls back to its synced content plus, for
//! appended data, a random prefix of what was written after the last sync
//! (a torn write). Overwrites that were not synced survive sector by sector
//! at random. Directory operations (create, remove, atomic replace) are
//! durable at once.

use crate::fs::Fs;
use std::collections::BTreeMap;
use std::io;
use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
struct File {
    /// What reads see.
    data: Vec<u8>,
    /// What survives a power cut.
    durable: Vec<u8>,
}

#[derive(Default)]
struct Disk {
    files: BTreeMap<String, File>,
    dirs: BTreeMap<String, ()>,
    writes: u64,
    syncs: u64,
    /// Fail every operation after this many more writes.
    fail_after: Option<u64>,
}

/// A shared handle on one simulated disk; clones see the same disk.
#[derive(Clone, Default)]
pub struct SimFs {
    disk: Arc<Mutex<Disk>>,
}

fn not_found(path: &str) -> io::Error {
    io::Error::new(io::ErrorKind::NotFound, format!("{path}: no such file"))
}

impl SimFs {
    /// An empty disk.
    pub fn new() -> Self {
        SimFs::default()
    }

    fn with<T>(&self, f: impl FnOnce(&mut Disk) -> T) -> T {
        f(&mut self.disk.lock().expect("sim disk"))
    }

    /// Loses power: unsynced data is dropped, torn at a random point.
    pub fn power_cut(&self, rng: &mut fastrand::Rng) {
        self.with(|d| {
            for f in d.files.values_mut() {
                f.data = torn(f, rng);
                f.durable = f.data.clone();
            }
            d.fail_after = None;
        })
    }

    /// Makes operations fail (as a full or dying disk) after `n` more writes.
    pub fn fail_after(&self, n: Option<u64>) {
        self.with(|d| d.fail_after = n)
    }

    /// Counts of writes and syncs so far.
    pub fn counters(&self) -> (u64, u64) {
        self.with(|d| (d.writes, d.syncs))
    }

    /// The paths of every file.
    pub fn paths(&self) -> Vec<String> {
        self.with(|d| d.files.keys().cloned().collect())
    }

    /// A file's current content.
    pub fn content(&self, path: &str) -> Option<Vec<u8>> {
        self.with(|d| d.files.get(path).map(|f| f.data.clone()))
    }

    /// Replaces a file's content, durably (to damage it in tests).
    pub fn set_content(&self, path: &str, data: Vec<u8>) {
        self.with(|d| {
            d.files.insert(
                path.to_string(),
                File {
                    durable: data.clone(),
                    data,
                },
            );
        })
    }

    fn write_op(d: &mut Disk) -> io::Result<()> {
        if let Some(n) = d.fail_after.as_mut() {
            if *n == 0 {
                return Err(io::Error::other("simulated disk failure"));
            }
            *n -= 1;
        }
        d.writes += 1;
        Ok(())
    }
}

fn torn(f: &File, rng: &mut fastrand::Rng) -> Vec<u8> {
    let (data, durable) = (&f.data, &f.durable);
    if data.len() >= durable.len() && data[..durable.len()] == durable[..] {
        let extra = data.len() - durable.len();
        let keep = if extra == 0 { 0 } else { rng.usize(..=extra) };
        return data[..durable.len() + keep].to_vec();
    }
    // Overwritten in place: each 512-byte sector is old or new.
    let mut out = durable.clone();
    out.resize(data.len(), 0);
    for (i, chunk) in data.chunks(512).enumerate() {
        if rng.bool() {
            out[i * 512..i * 512 + chunk.len()].copy_from_slice(chunk);
        }
    }
    out
}

fn parent(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(p, _)| p)
}

impl Fs for SimFs {
    fn create_dir_all(&mut self, dir: &str) -> io::Result<()> {
        self.with(|d| {
            let mut p = String::new();
            for part in dir.split('/') {
                if !p.is_empty() || dir.starts_with('/') {
                    p.push('/');
                }
                p.push_str(part);
                d.dirs.insert(p.clone(), ());
            }
            Ok(())
        })
    }

    fn list(&mut self, dir: &str) -> io::Result<Vec<String>> {
        self.with(|d| {
            Ok(d.files
                .keys()
                .filter(|k| parent(k) == dir)
                .map(|k| k[dir.len() + 1..].to_string())
                .collect())
        })
    }

    fn exists(&mut self, path: &str) -> bool {
        self.with(|d| d.files.contains_key(path))
    }

    fn read(&mut self, path: &str) -> io::Result<Vec<u8>> {
        self.with(|d| {
            d.files
                .get(path)
                .map(|f| f.data.clone())
                .ok_or_else(|| not_found(path))
        })
    }

    fn read_at(&mut self, path: &str, off: u64, buf: &mut [u8]) -> io::Result<()> {
        self.with(|d| {
            let f = d.files.get(path).ok_or_else(|| not_found(path))?;
            let off = off as usize;
            let src = f
                .data
                .get(off..off + buf.len())
                .ok_or_else(|| io::Error::from(io::ErrorKind::UnexpectedEof))?;
            buf.copy_from_slice(src);
            Ok(())
        })
    }

    fn append(&mut self, path: &str, data: &[u8]) -> io::Result<()> {
        self.with(|d| {
            SimFs::write_op(d)?;
            d.files
                .entry(path.to_string())
                .or_default()
                .data
                .extend_from_slice(data);
            Ok(())
        })
    }

    fn write_at(&mut self, path: &str, off: u64, data: &[u8]) -> io::Result<()> {
        self.with(|d| {
            SimFs::write_op(d)?;
            let f = d.files.get_mut(path).ok_or_else(|| not_found(path))?;
            let off = off as usize;
            if f.data.len() < off + data.len() {
                f.data.resize(off + data.len(), 0);
            }
            f.data[off..off + data.len()].copy_from_slice(data);
            Ok(())
        })
    }

    fn sync(&mut self, path: &str) -> io::Result<()> {
        self.with(|d| {
            SimFs::write_op(d)?;
            d.syncs += 1;
            let f = d.files.get_mut(path).ok_or_else(|| not_found(path))?;
            f.durable = f.data.clone();
            Ok(())
        })
    }

    fn truncate(&mut self, path: &str, len: u64) -> io::Result<()> {
        self.with(|d| {
            SimFs::write_op(d)?;
            let f = d.files.get_mut(path).ok_or_else(|| not_found(path))?;
            f.data.truncate(len as usize);
            f.durable = f.data.clone();
            Ok(())
        })
    }

    fn write_atomic(&mut self, path: &str, data: &[u8]) -> io::Result<()> {
        self.with(|d| {
            SimFs::write_op(d)?;
            d.syncs += 1;
            d.files.insert(
                path.to_string(),
                File {
                    data: data.to_vec(),
                    durable: data.to_vec(),
                },
            );
            Ok(())
        })
    }

    fn remove(&mut self, path: &str) -> io::Result<()> {
        self.with(|d| {
            SimFs::write_op(d)?;
            d.files.remove(path);
            Ok(())
        })
    }

    fn remove_dir_all(&mut self, dir: &str) -> io::Result<()> {
        self.with(|d| {
            let prefix = format!("{dir}/");
            d.files.retain(|k, _| !k.starts_with(&prefix));
            d.dirs.retain(|k, _| k != dir && !k.starts_with(&prefix));
            Ok(())
        })
    }
}
