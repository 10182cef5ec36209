//! A poll loop in OVS's style: each component's `wait` registers the file descriptors and
//! deadlines it cares about in a [`PollSet`], then [`PollSet::block`] sleeps in `poll(2)`
//! until one of them is ready, and every component's `run` does its work.
//!
//! [`Notifier`] is an `eventfd` that one thread signals to wake another that waits on it.

use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::eventfd::{EfdFlags, EventFd};

/// What to wait for on a file descriptor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interest {
    /// Readable (`POLLIN`).
    Read,
    /// Writable (`POLLOUT`).
    Write,
}

/// The file descriptors and deadline one iteration of a poll loop waits for.
#[derive(Debug, Default)]
pub struct PollSet {
    fds: Vec<libc::pollfd>,
    deadline: Option<Instant>,
}

impl PollSet {
    /// Makes an empty set: blocking on it sleeps forever.
    pub fn new() -> Self {
        PollSet::default()
    }

    /// Wakes the next [`PollSet::block`] when `fd` becomes ready for `interest`.
    ///
    /// The descriptor must stay open until `block` returns.
    pub fn fd_wait(&mut self, fd: RawFd, interest: Interest) {
        let events = match interest {
            Interest::Read => libc::POLLIN,
            Interest::Write => libc::POLLOUT,
        };
        self.fds.push(libc::pollfd {
            fd,
            events,
            revents: 0,
        });
    }

    /// Wakes the next [`PollSet::block`] no later than `deadline`.
    pub fn timer_wait(&mut self, deadline: Instant) {
        self.deadline = Some(self.deadline.map_or(deadline, |d| d.min(deadline)));
    }

    /// Wakes the next [`PollSet::block`] no later than `timeout` from now.
    pub fn timer_wait_after(&mut self, timeout: Duration) {
        self.timer_wait(Instant::now() + timeout);
    }

    /// Makes the next [`PollSet::block`] return at once.
    pub fn immediate_wake(&mut self) {
        self.deadline = Some(Instant::now());
    }

    /// The earliest deadline registered, if any.
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// How many descriptors are registered.
    pub fn n_fds(&self) -> usize {
        self.fds.len()
    }

    /// Sleeps until a registered descriptor is ready or the deadline passes, then empties
    /// the set for the next iteration. A signal (`EINTR`) ends the sleep early, as a wakeup.
    ///
    /// # Errors
    ///
    /// The errno of `poll(2)` other than `EINTR`.
    pub fn block(&mut self) -> Result<(), Errno> {
        let timeout_ms: libc::c_int = match self.deadline {
            None => -1,
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                // Round up so a deadline 0.3 ms away does not spin.
                let ms = left.as_micros().div_ceil(1000);
                libc::c_int::try_from(ms).unwrap_or(libc::c_int::MAX)
            }
        };
        let nfds = libc::nfds_t::try_from(self.fds.len()).unwrap_or(libc::nfds_t::MAX);
        // SAFETY: `fds` is a valid, writable array of `nfds` pollfd structs for the whole call;
        // poll(2) only writes their `revents` fields.
        let rc = unsafe { libc::poll(self.fds.as_mut_ptr(), nfds, timeout_ms) };
        self.fds.clear();
        self.deadline = None;
        if rc < 0 {
            let e = Errno::last();
            if e != Errno::EINTR {
                return Err(e);
            }
        }
        Ok(())
    }
}

/// An `eventfd` for waking a thread that waits on it in a [`PollSet`].
#[derive(Debug)]
pub struct Notifier {
    fd: EventFd,
}

impl Notifier {
    /// Makes a non-blocking eventfd.
    ///
    /// # Errors
    ///
    /// The errno of `eventfd(2)`, e.g. `EMFILE`.
    pub fn new() -> Result<Self, Errno> {
        let fd = EventFd::from_value_and_flags(0, EfdFlags::EFD_NONBLOCK | EfdFlags::EFD_CLOEXEC)?;
        Ok(Notifier { fd })
    }

    /// Makes the descriptor readable, waking whoever waits on it.
    pub fn notify(&self) {
        // EAGAIN means the counter is saturated: the waiter is awake anyway.
        let _ = self.fd.write(1);
    }

    /// Resets the descriptor to not readable.
    pub fn drain(&self) {
        let _ = self.fd.read();
    }

    /// The descriptor to wait on with [`Interest::Read`].
    pub fn fd(&self) -> RawFd {
        self.fd.as_fd().as_raw_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadline_ends_the_sleep() {
        let mut ps = PollSet::new();
        let t = Instant::now();
        ps.timer_wait_after(Duration::from_millis(20));
        ps.timer_wait_after(Duration::from_secs(10));
        ps.block().unwrap();
        let took = t.elapsed();
        assert!(took >= Duration::from_millis(19), "{took:?}");
        assert!(took < Duration::from_secs(5), "{took:?}");
    }

    #[test]
    fn notifier_wakes_and_drains() {
        let n = Notifier::new().unwrap();
        n.notify();
        let mut ps = PollSet::new();
        ps.fd_wait(n.fd(), Interest::Read);
        ps.timer_wait_after(Duration::from_secs(10));
        let t = Instant::now();
        ps.block().unwrap();
        assert!(t.elapsed() < Duration::from_secs(5));
        n.drain();
        let mut ps = PollSet::new();
        ps.fd_wait(n.fd(), Interest::Read);
        ps.timer_wait_after(Duration::from_millis(10));
        let t = Instant::now();
        ps.block().unwrap();
        assert!(
            t.elapsed() >= Duration::from_millis(9),
            "drained fd is not readable"
        );
    }
}
