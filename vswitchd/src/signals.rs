//! Signals delivered to the main loop through a self-pipe.
//!
//! [`SignalPipe::install`] sets a handler for the given signals that writes the signal number
//! into a non-blocking pipe; the main loop waits on the pipe's read end like on any other
//! descriptor and calls [`SignalPipe::drain`]. The handler only calls `write(2)`, which is
//! async-signal-safe, and keeps `errno` intact.
//!
//! The write end lives in a process-wide atomic because a signal handler has no other way to
//! find it; only one `SignalPipe` may exist at a time.

use std::io;
use std::os::fd::{AsRawFd, IntoRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicI32, Ordering};

use nix::fcntl::OFlag;
use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};
use nix::unistd::pipe2;

/// The pipe's write end, for the handler; -1 when no `SignalPipe` exists.
static WRITE_FD: AtomicI32 = AtomicI32::new(-1);

extern "C" fn on_signal(sig: libc::c_int) {
    let fd = WRITE_FD.load(Ordering::Relaxed);
    if fd < 0 {
        return;
    }
    let byte = u8::try_from(sig).unwrap_or(0);
    // SAFETY: errno is thread-local and __errno_location always returns a valid pointer for
    // the calling thread; write(2) is async-signal-safe and reads one byte from a live local.
    unsafe {
        let errno = *libc::__errno_location();
        let _ = libc::write(fd, (&raw const byte).cast::<libc::c_void>(), 1);
        *libc::__errno_location() = errno;
    }
}

/// Signals caught into a pipe that a poll loop can wait on.
#[derive(Debug)]
pub struct SignalPipe {
    read: OwnedFd,
    signals: Vec<Signal>,
}

impl SignalPipe {
    /// Catches `signals` from now on.
    ///
    /// # Errors
    ///
    /// Another `SignalPipe` exists (`AlreadyExists`), or `pipe2`/`sigaction` failed.
    pub fn install(signals: &[Signal]) -> io::Result<SignalPipe> {
        let (read, write) = pipe2(OFlag::O_NONBLOCK | OFlag::O_CLOEXEC).map_err(io::Error::from)?;
        let write_fd = write.into_raw_fd();
        if WRITE_FD
            .compare_exchange(-1, write_fd, Ordering::SeqCst, Ordering::SeqCst)
            .is_err()
        {
            // SAFETY: write_fd came from into_raw_fd just above and is owned by nobody else.
            unsafe { libc::close(write_fd) };
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                "signal pipe already installed",
            ));
        }
        let action = SigAction::new(
            SigHandler::Handler(on_signal),
            SaFlags::SA_RESTART,
            SigSet::empty(),
        );
        for &sig in signals {
            // SAFETY: on_signal is async-signal-safe (it only loads an atomic and calls
            // write(2), preserving errno), so it may run at any point in any thread.
            unsafe { sigaction(sig, &action) }.map_err(io::Error::from)?;
        }
        Ok(SignalPipe {
            read,
            signals: signals.to_vec(),
        })
    }

    /// The descriptor to wait on for reading.
    pub fn fd(&self) -> RawFd {
        self.read.as_raw_fd()
    }

    /// The signals caught since the last call, in arrival order.
    pub fn drain(&self) -> Vec<Signal> {
        let mut out = Vec::new();
        let mut buf = [0u8; 64];
        loop {
            match nix::unistd::read(&self.read, &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend(
                    buf.iter()
                        .take(n)
                        .filter_map(|b| Signal::try_from(i32::from(*b)).ok()),
                ),
            }
        }
        out
    }
}

impl Drop for SignalPipe {
    fn drop(&mut self) {
        let default = SigAction::new(SigHandler::SigDfl, SaFlags::empty(), SigSet::empty());
        for &sig in &self.signals {
            // SAFETY: restoring the default disposition installs no handler code.
            let _ = unsafe { sigaction(sig, &default) };
        }
        let fd = WRITE_FD.swap(-1, Ordering::SeqCst);
        if fd >= 0 {
            // SAFETY: fd is the write end this SignalPipe installed; the handler no longer
            // sees it (swapped out above), so nothing else uses it.
            unsafe { libc::close(fd) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caught_signal_shows_up_in_the_pipe() {
        let pipe = SignalPipe::install(&[Signal::SIGUSR2]).unwrap();
        assert!(SignalPipe::install(&[Signal::SIGUSR1]).is_err());
        nix::sys::signal::raise(Signal::SIGUSR2).unwrap();
        assert_eq!(pipe.drain(), vec![Signal::SIGUSR2]);
        assert!(pipe.drain().is_empty());
    }
}
