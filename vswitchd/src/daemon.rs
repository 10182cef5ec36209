//! `--detach`: run in the background the way OVS daemons do (`lib/daemon-unix.c`).
//!
//! [`detach`] forks. The parent blocks until the child reports that startup finished (the
//! first configuration applied, the control socket listening) and then exits 0; if the child
//! dies first, the parent exits with the child's status, so `vswitchd --detach` returns
//! only once the daemon is usable, or fails. The child starts a new session; once ready,
//! [`Detached::complete`] tells the parent, changes to `/` (unless `--no-chdir`) and points
//! standard input, output and error at `/dev/null` (logs go to `--log-file`).
//!
//! The fork must happen before any thread starts: this module checks that the process has
//! one thread and refuses otherwise.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::OwnedFd;

use nix::fcntl::OFlag;
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{ForkResult, Pid, fork, pipe2, setsid};

/// The child's side of a detach: call [`Detached::complete`] when ready.
#[derive(Debug)]
pub struct Detached {
    ready: Option<File>,
}

/// How many threads this process has, from `/proc/self/status`.
fn thread_count() -> io::Result<usize> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|n| n.trim().parse().ok())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no Threads: line"))
}

/// Forks into the background. Returns in the child only; the parent waits for the child's
/// [`Detached::complete`] (then exits 0) or death (then exits with its status).
///
/// # Errors
///
/// More than one thread is running, or `pipe2`, `fork` or `setsid` failed.
pub fn detach() -> io::Result<Detached> {
    if thread_count()? != 1 {
        return Err(io::Error::other(
            "cannot detach: other threads are already running",
        ));
    }
    let (rd, wr) = pipe2(OFlag::O_CLOEXEC).map_err(io::Error::from)?;
    // SAFETY: the process has a single thread (checked above), so the child is a full copy
    // of a consistent process: no other thread can hold a lock (allocator, stdio) at the time
    // of the fork, and the child may go on to run arbitrary code.
    match unsafe { fork() }.map_err(io::Error::from)? {
        ForkResult::Parent { child } => {
            drop(wr);
            parent_wait(rd, child)
        }
        ForkResult::Child => {
            drop(rd);
            setsid().map_err(io::Error::from)?;
            Ok(Detached {
                ready: Some(File::from(wr)),
            })
        }
    }
}

/// The parent: wait for a byte from the child, or its exit.
fn parent_wait(rd: OwnedFd, child: Pid) -> ! {
    let mut rd = File::from(rd);
    let mut byte = [0u8; 1];
    loop {
        match rd.read(&mut byte) {
            Ok(1..) => std::process::exit(0),
            Ok(0) => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        }
    }
    // The child closed the pipe without reporting readiness: it died (or is dying).
    let code = loop {
        match waitpid(child, None) {
            Ok(WaitStatus::Exited(_, code)) => {
                eprintln!("vswitchd: fork child died before signaling startup (exit code {code})");
                break if code == 0 { 1 } else { code };
            }
            Ok(WaitStatus::Signaled(_, sig, _)) => {
                eprintln!("vswitchd: fork child died before signaling startup (killed by {sig})");
                break 1;
            }
            Ok(_) => continue,
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => {
                eprintln!("vswitchd: waitpid failed: {e}");
                break 1;
            }
        }
    };
    std::process::exit(code)
}

impl Detached {
    /// Tells the waiting parent that startup finished, changes to `/` unless `no_chdir`, and
    /// redirects standard input, output and error to `/dev/null`. Calling it again does
    /// nothing.
    ///
    /// # Errors
    ///
    /// `/dev/null` cannot be opened or `dup2` failed; the parent has been told anyway.
    pub fn complete(&mut self, no_chdir: bool) -> io::Result<()> {
        let Some(mut ready) = self.ready.take() else {
            return Ok(());
        };
        // The parent exits as soon as it reads this byte; an error here means the parent is
        // gone already, and there is nobody left to tell.
        let _ = ready.write_all(&[0]);
        drop(ready);
        if !no_chdir {
            std::env::set_current_dir("/")?;
        }
        let null = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/null")?;
        nix::unistd::dup2_stdin(&null).map_err(io::Error::from)?;
        nix::unistd::dup2_stdout(&null).map_err(io::Error::from)?;
        nix::unistd::dup2_stderr(&null).map_err(io::Error::from)?;
        Ok(())
    }
}
