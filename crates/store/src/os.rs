//! The real disk: [`Fs`] on `std::fs`, rooted at a directory.

use crate::fs::Fs;
use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// Files under `root`; handles of files in use are kept open.
pub struct OsFs {
    root: PathBuf,
    open: HashMap<String, File>,
}

impl OsFs {
    /// A file system rooted at `root` (paths given to it are relative).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        OsFs {
            root: root.into(),
            open: HashMap::new(),
        }
    }

    fn path(&self, p: &str) -> PathBuf {
        self.root.join(p.trim_start_matches('/'))
    }

    fn handle(&mut self, p: &str) -> io::Result<&mut File> {
        if !self.open.contains_key(p) {
            if self.open.len() >= 64 {
                self.open.clear();
            }
            let f = OpenOptions::new()
                .read(true)
                .append(true)
                .create(true)
                .open(self.path(p))?;
            self.open.insert(p.to_string(), f);
        }
        Ok(self.open.get_mut(p).expect("just opened"))
    }
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

impl Fs for OsFs {
    fn create_dir_all(&mut self, dir: &str) -> io::Result<()> {
        let p = self.path(dir);
        fs::create_dir_all(&p)?;
        if let Some(parent) = p.parent() {
            sync_dir(parent)?;
        }
        Ok(())
    }

    fn list(&mut self, dir: &str) -> io::Result<Vec<String>> {
        let mut out = Vec::new();
        for e in fs::read_dir(self.path(dir))? {
            out.push(e?.file_name().to_string_lossy().into_owned());
        }
        Ok(out)
    }

    fn exists(&mut self, path: &str) -> bool {
        self.path(path).exists()
    }

    fn read(&mut self, path: &str) -> io::Result<Vec<u8>> {
        fs::read(self.path(path))
    }

    fn read_at(&mut self, path: &str, off: u64, buf: &mut [u8]) -> io::Result<()> {
        self.handle(path)?.read_exact_at(buf, off)
    }

    fn append(&mut self, path: &str, data: &[u8]) -> io::Result<()> {
        self.handle(path)?.write_all(data)
    }

    fn write_at(&mut self, path: &str, off: u64, data: &[u8]) -> io::Result<()> {
        // Append-mode handles ignore offsets; overwrite through a separate handle.
        let f = OpenOptions::new().write(true).open(self.path(path))?;
        f.write_all_at(data, off)?;
        f.sync_data()
    }

    fn sync(&mut self, path: &str) -> io::Result<()> {
        self.handle(path)?.sync_data()
    }

    fn truncate(&mut self, path: &str, len: u64) -> io::Result<()> {
        self.open.remove(path);
        let f = OpenOptions::new().write(true).open(self.path(path))?;
        f.set_len(len)?;
        f.sync_all()
    }

    fn write_atomic(&mut self, path: &str, data: &[u8]) -> io::Result<()> {
        self.open.remove(path);
        let p = self.path(path);
        let tmp = p.with_extension("tmp");
        {
            let mut f = File::create(&tmp)?;
            f.write_all(data)?;
            f.sync_data()?;
        }
        fs::rename(&tmp, &p)?;
        if let Some(parent) = p.parent() {
            sync_dir(parent)?;
        }
        Ok(())
    }

    fn remove(&mut self, path: &str) -> io::Result<()> {
        self.open.remove(path);
        match fs::remove_file(self.path(path)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    fn remove_dir_all(&mut self, dir: &str) -> io::Result<()> {
        let prefix = format!("{}/", dir.trim_end_matches('/'));
        self.open.retain(|k, _| !k.starts_with(&prefix));
        match fs::remove_dir_all(self.path(dir)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}
