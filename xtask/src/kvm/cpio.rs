//! A writer of `newc` cpio archives, the format the kernel unpacks an initramfs from.
//!
//! Each entry is a 110-byte ASCII header ("070701" and thirteen 8-digit hex fields), the
//! NUL-terminated name padded to 4 bytes, then the data padded to 4 bytes; the archive ends
//! with the entry `TRAILER!!!`. Everything is owned by root; hard links are stored as copies.

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use anyhow::{Context, Result, bail};

const S_IFDIR: u32 = 0o040_000;
const S_IFREG: u32 = 0o100_000;
const S_IFLNK: u32 = 0o120_000;

/// Writes entries one after another into `out`.
pub struct Writer<W: Write> {
    out: W,
    ino: u32,
}

impl<W: Write> Writer<W> {
    /// Starts an archive.
    pub fn new(out: W) -> Self {
        Writer { out, ino: 1 }
    }

    fn entry(&mut self, name: &str, mode: u32, data: &[u8]) -> Result<()> {
        let namesize = u32::try_from(name.len() + 1).context("cpio: name too long")?;
        let filesize = u32::try_from(data.len()).context("cpio: file over 4 GiB")?;
        let nlink = if mode & S_IFDIR == S_IFDIR { 2 } else { 1 };
        let fields = [
            self.ino, mode, 0, 0, nlink, 0, filesize, 0, 0, 0, 0, namesize, 0,
        ];
        self.ino += 1;
        let mut header = String::with_capacity(110);
        header.push_str("070701");
        for f in fields {
            header.push_str(&format!("{f:08x}"));
        }
        self.out.write_all(header.as_bytes())?;
        self.out.write_all(name.as_bytes())?;
        self.out.write_all(&[0])?;
        self.pad(110 + name.len() + 1)?;
        self.out.write_all(data)?;
        self.pad(data.len())?;
        Ok(())
    }

    fn pad(&mut self, len: usize) -> io::Result<()> {
        let n = (4 - len % 4) % 4;
        self.out.write_all(&[0u8; 3][..n])
    }

    /// Adds a directory.
    pub fn dir(&mut self, name: &str) -> Result<()> {
        self.entry(name, S_IFDIR | 0o755, &[])
    }

    /// Adds a regular file with permission bits `perm`.
    pub fn file(&mut self, name: &str, perm: u32, data: &[u8]) -> Result<()> {
        self.entry(name, S_IFREG | (perm & 0o7777), data)
    }

    /// Adds a symbolic link to `target`.
    pub fn symlink(&mut self, name: &str, target: &str) -> Result<()> {
        self.entry(name, S_IFLNK | 0o777, target.as_bytes())
    }

    /// Adds everything under `root` (directories before their contents, names sorted), named
    /// relative to `root`.
    pub fn tree(&mut self, root: &Path) -> Result<()> {
        self.walk(root, root)
    }

    fn walk(&mut self, root: &Path, dir: &Path) -> Result<()> {
        let mut entries: Vec<_> = fs::read_dir(dir)
            .with_context(|| format!("reading {}", dir.display()))?
            .collect::<io::Result<_>>()?;
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let path = e.path();
            let rel = path
                .strip_prefix(root)
                .context("cpio: path outside the tree")?
                .to_str()
                .context("cpio: non-UTF-8 name")?
                .to_owned();
            let meta = fs::symlink_metadata(&path)?;
            let ft = meta.file_type();
            if ft.is_dir() {
                self.dir(&rel)?;
                self.walk(root, &path)?;
            } else if ft.is_symlink() {
                let target = fs::read_link(&path)?;
                let target = target.to_str().context("cpio: non-UTF-8 link")?;
                self.symlink(&rel, target)?;
            } else if ft.is_file() {
                let data =
                    fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
                self.file(
                    &rel,
                    meta.permissions().mode() | (meta.mode() & 0o7000),
                    &data,
                )?;
            } else {
                bail!("cpio: unsupported file type at {}", path.display());
            }
        }
        Ok(())
    }

    /// Writes the trailer and returns the output.
    pub fn finish(mut self) -> Result<W> {
        self.entry("TRAILER!!!", 0, &[])?;
        self.out.flush()?;
        Ok(self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newc_layout() {
        let mut w = Writer::new(Vec::new());
        w.file("a", 0o644, b"hello").unwrap();
        let out = w.finish().unwrap();
        // header 110 + "a\0" = 112 (aligned), data 5 -> padded to 8
        assert_eq!(&out[..6], b"070701");
        assert_eq!(&out[6 + 8..6 + 16], b"000081a4"); // S_IFREG | 0644
        assert_eq!(&out[6 + 48..6 + 56], b"00000005"); // filesize
        assert_eq!(&out[110..112], b"a\0");
        assert_eq!(&out[112..117], b"hello");
        assert_eq!(&out[117..120], &[0, 0, 0]);
        assert_eq!(&out[120..126], b"070701");
        assert_eq!(out.len() % 4, 0);
    }
}
