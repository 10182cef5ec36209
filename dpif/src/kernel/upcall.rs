//! Upcall channels: one netlink socket per handler thread, each in the handler's own epoll
//! set.
//!
//! How packets reach a handler depends on the datapath's dispatch mode:
//!
//! * **Per-CPU** (`OVS_DP_F_DISPATCH_UPCALL_PER_CPU`, Linux 5.15+): the handlers' PIDs,
//!   repeated to cover every possible CPU, go to the kernel in `OVS_DP_ATTR_PER_CPU_PIDS`; the
//!   kernel sends a packet's upcall (miss or `userspace` action) to the PID of the CPU that
//!   received it.
//! * **Per-vport** (older kernels): every vport's `OVS_VPORT_ATTR_UPCALL_PID` array lists
//!   every handler's PID, and the kernel picks one by the packet's flow hash
//!   (`OVS_DP_F_VPORT_PIDS`), so each handler still owns exactly one socket and the packets
//!   of one flow always reach the same handler. (OVS instead gives each vport one socket
//!   that every handler polls; sharing sockets between threads buys nothing here.)
//!
//! A handler's socket is non-blocking: [`Handlers::recv`] never waits; [`Handlers::wait`]
//! registers the handler's epoll descriptor, which is readable while any of its sockets is.

use std::os::fd::AsRawFd;

use netdev::poll::{Interest, PollSet};
use nix::errno::Errno;
use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags, EpollTimeout};
use parking_lot::Mutex;

use super::nl::{self, NlSock};
use crate::error::{Error, Result};
use crate::provider::Upcall;

/// How the kernel chooses the socket of an upcall.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dispatch {
    /// By the CPU that received the packet.
    PerCpu,
    /// By the input vport's PID array (hash-selected).
    PerVport,
}

/// One handler's channel: its socket and the epoll set watching it.
struct Handler {
    sock: Mutex<NlSock>,
    pid: u32,
    epoll: Epoll,
}

/// The handlers' channels.
pub(crate) struct Handlers {
    handlers: Vec<Handler>,
}

/// How many CPU slots the per-CPU PID array must cover: one more than the highest possible
/// CPU id (from `/sys/devices/system/cpu/possible`), at least the available parallelism.
pub(crate) fn n_cpu_slots() -> usize {
    let from_sys = std::fs::read_to_string("/sys/devices/system/cpu/possible")
        .ok()
        .and_then(|s| {
            s.trim()
                .split(',')
                .filter_map(|r| r.rsplit('-').next()?.trim().parse::<usize>().ok())
                .max()
        })
        .map(|m| m + 1);
    let avail = std::thread::available_parallelism().map_or(1, usize::from);
    from_sys.unwrap_or(avail).max(avail)
}

impl Handlers {
    /// Opens `n` channels.
    ///
    /// # Errors
    ///
    /// Errors of opening sockets or epoll sets.
    pub(crate) fn new(n: u32) -> Result<Handlers> {
        let mut handlers = Vec::new();
        for _ in 0..n {
            let sock = NlSock::new()?;
            sock.set_nonblocking(true)?;
            let epoll = Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC)
                .map_err(|e| Error::from_errno("create epoll set", "handler", handlers.len(), e))?;
            let token = u64::try_from(handlers.len()).unwrap_or(0);
            epoll
                .add(&sock, EpollEvent::new(EpollFlags::EPOLLIN, token))
                .map_err(|e| {
                    Error::from_errno("watch upcall socket", "handler", handlers.len(), e)
                })?;
            handlers.push(Handler {
                pid: sock.pid(),
                sock: Mutex::new(sock),
                epoll,
            });
        }
        Ok(Handlers { handlers })
    }

    /// The handlers' PIDs, in handler order.
    pub(crate) fn pids(&self) -> Vec<u32> {
        self.handlers.iter().map(|h| h.pid).collect()
    }

    /// The per-CPU PID array: handler PIDs repeated over `slots` CPUs.
    pub(crate) fn per_cpu_pids(&self, slots: usize) -> Vec<u32> {
        let pids = self.pids();
        (0..slots)
            .map(|i| pids.get(i % pids.len().max(1)).copied().unwrap_or(0))
            .collect()
    }

    /// The PID `userspace` actions for packets from port `port_no` carry (per-vport mode).
    pub(crate) fn pid_for_port(&self, port_no: u32) -> u32 {
        let n = u32::try_from(self.handlers.len()).unwrap_or(1).max(1);
        usize::try_from(port_no % n)
            .ok()
            .and_then(|i| self.handlers.get(i))
            .map_or(0, |h| h.pid)
    }

    /// Receives up to `max` upcalls for `handler_id`; never blocks.
    ///
    /// Upcalls whose message does not decode are dropped (and logged); a receive queue
    /// overflow (`ENOBUFS`, upcalls lost, counted by the kernel in `n_lost`) is skipped.
    pub(crate) fn recv(
        &self,
        handler_id: u32,
        packet_family: u16,
        dp_ifindex: i32,
        out: &mut Vec<Upcall>,
        max: usize,
    ) -> Result<usize> {
        let Some(h) = usize::try_from(handler_id)
            .ok()
            .and_then(|i| self.handlers.get(i))
        else {
            return Ok(0);
        };
        // Ask epoll which sockets are ready (one per handler today).
        let mut events = [EpollEvent::empty(); 1];
        match h.epoll.wait(&mut events, EpollTimeout::ZERO) {
            Ok(0) => return Ok(0),
            Ok(_) => {}
            Err(Errno::EINTR) => {}
            Err(e) => return Err(Error::from_errno("recv upcalls", "handler", handler_id, e)),
        }
        let mut sock = h.sock.lock();
        let mut n = 0;
        while n < max {
            let buf = match sock.recv_raw() {
                Ok(Some(b)) => b,
                Ok(None) => break,
                Err(Errno::ENOBUFS) => continue,
                Err(e) if n == 0 => {
                    return Err(Error::from_errno("recv upcalls", "handler", handler_id, e));
                }
                Err(_) => break,
            };
            let msgs = match nl::parse_datagram(buf) {
                Ok(m) => m,
                Err(e) => {
                    tracing::warn!(handler = handler_id, "dropping malformed upcall: {e}");
                    continue;
                }
            };
            for m in msgs {
                let nl::Msg::Reply(r) = m else { continue };
                if r.family != packet_family || r.dp_ifindex != dp_ifindex {
                    continue;
                }
                match super::dp::parse_upcall(&r, handler_id) {
                    Ok(u) => {
                        out.push(u);
                        n += 1;
                    }
                    Err(e) => tracing::warn!(handler = handler_id, "dropping upcall: {e}"),
                }
            }
        }
        Ok(n)
    }

    /// Registers `handler_id`'s epoll descriptor in `poll`.
    pub(crate) fn wait(&self, handler_id: u32, poll: &mut PollSet) {
        if let Some(h) = usize::try_from(handler_id)
            .ok()
            .and_then(|i| self.handlers.get(i))
        {
            poll.fd_wait(h.epoll.0.as_raw_fd(), Interest::Read);
        }
    }

    /// Throws away every queued upcall.
    pub(crate) fn purge(&self) {
        for h in &self.handlers {
            let mut sock = h.sock.lock();
            while let Ok(Some(_)) | Err(Errno::ENOBUFS) = sock.recv_raw() {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_slots_cover_the_cpus() {
        assert!(n_cpu_slots() >= 1);
    }

    #[test]
    fn per_cpu_pids_repeat_handlers() {
        // Netlink sockets need no privileges: this runs anywhere.
        let h = Handlers::new(2).unwrap();
        let pids = h.pids();
        assert_eq!(pids.len(), 2);
        assert_ne!(pids[0], pids[1]);
        assert_eq!(
            h.per_cpu_pids(5),
            vec![pids[0], pids[1], pids[0], pids[1], pids[0]]
        );
        assert_eq!(h.pid_for_port(3), pids[1]);
        let mut out = Vec::new();
        assert_eq!(h.recv(0, 0x20, 1, &mut out, 10).unwrap(), 0);
        assert_eq!(h.recv(7, 0x20, 1, &mut out, 10).unwrap(), 0);
        h.purge();
    }
}
