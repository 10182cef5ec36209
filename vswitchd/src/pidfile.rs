//! The pidfile, made and locked the way OVS does (`lib/daemon-unix.c`), so that `ovs-appctl`
//! and `ovs-ctl` find and trust it.
//!
//! The file holds `<pid>\n` and is held under a whole-file `fcntl` write lock by the daemon
//! for its lifetime: readers (`ovs-appctl`) check with `F_GETLK` that the lock holder is the
//! pid in the file and refuse stale files. It is written to `<file>.tmp<pid>`, locked, then
//! renamed into place, so a reader never sees a partial file.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::fd::AsFd;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use nix::fcntl::{FcntlArg, fcntl};

/// Pidfile errors.
#[derive(Debug, thiserror::Error)]
pub enum PidfileError {
    /// Another live process holds the lock on the pidfile.
    #[error("{}: already running as pid {pid}, aborting", path.display())]
    AlreadyRunning {
        /// The pidfile.
        path: PathBuf,
        /// The process holding the lock.
        pid: i32,
    },
    /// A system call failed.
    #[error("{}: {op} failed: {source}", path.display())]
    Io {
        /// What failed, e.g. `"open"`, `"fcntl(F_SETLK)"`.
        op: &'static str,
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: io::Error,
    },
}

fn io_err<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> PidfileError + 'a {
    move |source| PidfileError::Io {
        op,
        path: path.to_owned(),
        source,
    }
}

fn whole_file_lock(l_type: libc::c_int) -> io::Result<libc::flock> {
    let l_type =
        libc::c_short::try_from(l_type).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    let whence = libc::c_short::try_from(libc::SEEK_SET)
        .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    Ok(libc::flock {
        l_type,
        l_whence: whence,
        l_start: 0,
        l_len: 0,
        l_pid: 0,
    })
}

/// The pid of the process holding a write lock on `file`, if any (`F_GETLK`).
fn lock_holder(file: &File) -> io::Result<Option<i32>> {
    let mut lock = whole_file_lock(libc::F_WRLCK)?;
    fcntl(file.as_fd(), FcntlArg::F_GETLK(&mut lock)).map_err(io::Error::from)?;
    if i32::from(lock.l_type) == libc::F_UNLCK {
        Ok(None)
    } else {
        Ok(Some(lock.l_pid))
    }
}

/// Reads the pid of the daemon running under `path`, as `ovs-appctl` does: `Ok(None)` if the
/// file does not exist or is not locked (a stale file).
///
/// # Errors
///
/// The file cannot be opened (other than not existing) or read, or holds no pid.
pub fn read_pidfile(path: &Path) -> Result<Option<i32>, PidfileError> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err("open", path)(e)),
    };
    let Some(holder) = lock_holder(&file).map_err(io_err("fcntl(F_GETLK)", path))? else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(path).map_err(io_err("read", path))?;
    let pid = text.trim().parse::<i32>().map_err(|_| PidfileError::Io {
        op: "parse",
        path: path.to_owned(),
        source: io::Error::new(io::ErrorKind::InvalidData, "no pid in pidfile"),
    })?;
    // If another process locked the file than the one named in it, report the lock holder:
    // that is the process that keeps us from starting.
    Ok(Some(if pid == holder { pid } else { holder }))
}

/// A pidfile written and locked by this process; removed by [`Pidfile::remove`] or on drop.
#[derive(Debug)]
pub struct Pidfile {
    path: PathBuf,
    file: Option<File>,
    dev: u64,
    ino: u64,
}

impl Pidfile {
    /// Creates `path` holding this process's pid, locked for as long as the `Pidfile` lives.
    ///
    /// Unless `overwrite`, refuses to start if a live process holds the lock on an existing
    /// pidfile; a stale (unlocked) file is replaced.
    ///
    /// # Errors
    ///
    /// [`PidfileError::AlreadyRunning`], or a failing system call.
    pub fn create(path: &Path, overwrite: bool) -> Result<Pidfile, PidfileError> {
        if !overwrite && let Some(pid) = read_pidfile(path)? {
            return Err(PidfileError::AlreadyRunning {
                path: path.to_owned(),
                pid,
            });
        }
        let pid = std::process::id();
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(format!(".tmp{pid}"));
        let tmp = PathBuf::from(tmp);
        match std::fs::remove_file(&tmp) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err("unlink", &tmp)(e)),
        }
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o644)
            .open(&tmp)
            .map_err(io_err("create", &tmp))?;
        let result = (|| {
            let lock = whole_file_lock(libc::F_WRLCK).map_err(io_err("fcntl(F_SETLK)", &tmp))?;
            fcntl(file.as_fd(), FcntlArg::F_SETLK(&lock))
                .map_err(|e| io_err("fcntl(F_SETLK)", &tmp)(e.into()))?;
            file.write_all(format!("{pid}\n").as_bytes())
                .and_then(|()| file.flush())
                .map_err(io_err("write", &tmp))?;
            std::fs::rename(&tmp, path).map_err(io_err("rename", path))?;
            file.metadata().map_err(io_err("fstat", path))
        })();
        match result {
            Ok(meta) => Ok(Pidfile {
                path: path.to_owned(),
                file: Some(file),
                dev: meta.dev(),
                ino: meta.ino(),
            }),
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                Err(e)
            }
        }
    }

    /// The pidfile's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Removes the pidfile if it is still ours (another daemon started with
    /// `--overwrite-pidfile` may have replaced it), then releases the lock.
    pub fn remove(mut self) {
        self.remove_now();
    }

    fn remove_now(&mut self) {
        if self.file.take().is_none() {
            return;
        }
        let ours =
            std::fs::metadata(&self.path).is_ok_and(|m| m.dev() == self.dev && m.ino() == self.ino);
        if ours && let Err(e) = std::fs::remove_file(&self.path) {
            tracing::warn!("{}: could not remove pidfile: {e}", self.path.display());
        }
    }
}

impl Drop for Pidfile {
    fn drop(&mut self) {
        self.remove_now();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    fn tmpdir() -> tempfile::TempDir {
        tempfile::tempdir().unwrap()
    }

    #[test]
    fn create_lock_and_remove() {
        let dir = tmpdir();
        let path = dir.path().join("d.pid");
        let pf = Pidfile::create(&path, false).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text, format!("{}\n", std::process::id()));
        // No temporary file is left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        // fcntl locks never conflict within one process: lock_is_visible_to_other_processes
        // checks the lock from another one.
        pf.remove();
        assert!(!path.exists());
    }

    #[test]
    fn lock_is_visible_to_other_processes() {
        // Another process (python3, if present) probes the lock with F_GETLK.
        let dir = tmpdir();
        let path = dir.path().join("d.pid");
        let _pf = Pidfile::create(&path, false).unwrap();
        let probe = "import fcntl,struct,sys\n\
            f=open(sys.argv[1])\n\
            l=struct.pack('hhqqi',fcntl.F_WRLCK,0,0,0,0)\n\
            r=fcntl.fcntl(f,fcntl.F_GETLK,l)\n\
            t,_,_,_,pid=struct.unpack('hhqqi',r)\n\
            print(pid if t!=fcntl.F_UNLCK else 0)";
        match Command::new("python3")
            .arg("-c")
            .arg(probe)
            .arg(&path)
            .output()
        {
            Ok(out) if out.status.success() => {
                let pid: u32 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
                assert_eq!(pid, std::process::id());
            }
            _ => eprintln!("SKIP lock probe: python3 not available"),
        }
    }

    #[test]
    fn stale_file_is_replaced() {
        let dir = tmpdir();
        let path = dir.path().join("d.pid");
        std::fs::write(&path, "999999\n").unwrap();
        assert_eq!(read_pidfile(&path).unwrap(), None);
        let pf = Pidfile::create(&path, false).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap().trim(),
            std::process::id().to_string()
        );
        drop(pf);
        assert!(!path.exists());
    }

    #[test]
    fn missing_file_reads_as_none() {
        let dir = tmpdir();
        assert_eq!(read_pidfile(&dir.path().join("none.pid")).unwrap(), None);
    }

    #[test]
    fn not_removed_when_replaced() {
        let dir = tmpdir();
        let path = dir.path().join("d.pid");
        let pf = Pidfile::create(&path, false).unwrap();
        // Another daemon took over with --overwrite-pidfile: a new file at the same path.
        std::fs::remove_file(&path).unwrap();
        std::fs::write(&path, "1\n").unwrap();
        pf.remove();
        assert!(path.exists());
    }

    #[test]
    fn unwritable_directory_is_an_error() {
        let e = Pidfile::create(Path::new("/nonexistent-dir/x.pid"), false).unwrap_err();
        assert!(e.to_string().contains("/nonexistent-dir/x.pid"), "{e}");
    }
}
