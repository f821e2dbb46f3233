//! The file-system interface the file store does all its IO through.
//!
//! Paths are relative to the store's root, `/`-separated. The real disk is
//! [`crate::os::OsFs`]; tests use [`crate::sim::SimFs`].

use std::io;

/// The few file operations a file store needs.
pub trait Fs: Send {
    /// Creates a directory and its parents.
    fn create_dir_all(&mut self, dir: &str) -> io::Result<()>;
    /// The names of the files in a directory (not their paths), unsorted.
    fn list(&mut self, dir: &str) -> io::Result<Vec<String>>;
    /// Whether a file exists.
    fn exists(&mut self, path: &str) -> bool;
    /// A file's whole content.
    fn read(&mut self, path: &str) -> io::Result<Vec<u8>>;
    /// Reads exactly `buf.len()` bytes at `off`.
    fn read_at(&mut self, path: &str, off: u64, buf: &mut [u8]) -> io::Result<()>;
    /// Appends to a file, creating it when missing. Not durable until `sync`.
    fn append(&mut self, path: &str, data: &[u8]) -> io::Result<()>;
    /// Overwrites bytes in place. Not durable until `sync`.
    fn write_at(&mut self, path: &str, off: u64, data: &[u8]) -> io::Result<()>;
    /// Makes a file's data durable (`fdatasync`).
    fn sync(&mut self, path: &str) -> io::Result<()>;
    /// Cuts a file to `len` bytes, durably.
    fn truncate(&mut self, path: &str, len: u64) -> io::Result<()>;
    /// Replaces a file's content atomically and durably: after a crash the
    /// file holds either the old or the new content.
    fn write_atomic(&mut self, path: &str, data: &[u8]) -> io::Result<()>;
    /// Removes a file; missing files are not an error.
    fn remove(&mut self, path: &str) -> io::Result<()>;
    /// Removes a directory and everything in it; missing is not an error.
    fn remove_dir_all(&mut self, dir: &str) -> io::Result<()>;
}
