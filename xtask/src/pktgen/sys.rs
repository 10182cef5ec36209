//! The generator's system calls: an AF_PACKET socket bound to one device, and `sendmmsg` of
//! prebuilt frames. This is the only `unsafe` code in xtask.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// `PACKET_QDISC_BYPASS` from `<linux/if_packet.h>` (not in the libc crate).
const PACKET_QDISC_BYPASS: libc::c_int = 20;

/// An AF_PACKET raw socket that only sends (protocol 0: the kernel delivers nothing to it).
pub struct TxSocket {
    fd: OwnedFd,
}

fn check(rc: libc::c_int) -> io::Result<libc::c_int> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

fn to_socklen(n: usize) -> io::Result<libc::socklen_t> {
    libc::socklen_t::try_from(n).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))
}

impl TxSocket {
    /// Opens a socket that sends whole Ethernet frames out of `ifname`, bypassing the qdisc.
    ///
    /// # Errors
    ///
    /// If the device does not exist or the caller lacks CAP_NET_RAW.
    pub fn bind(ifname: &str) -> io::Result<TxSocket> {
        let ifindex = nix::net::if_::if_nametoindex(ifname).map_err(io::Error::from)?;
        // SAFETY: socket(2) takes no pointers; the result is checked.
        let raw = check(unsafe {
            libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0)
        })?;
        // SAFETY: `raw` is a descriptor that socket(2) just returned and nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };

        // SAFETY: sockaddr_ll is plain data for which all-zero bytes are a valid value.
        let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        sll.sll_family = libc::sa_family_t::try_from(libc::AF_PACKET)
            .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        sll.sll_ifindex = libc::c_int::try_from(ifindex)
            .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        let len = to_socklen(std::mem::size_of::<libc::sockaddr_ll>())?;
        // SAFETY: the pointer and length describe `sll`, which outlives the call; bind(2)
        // only reads it.
        check(unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&raw const sll).cast::<libc::sockaddr>(),
                len,
            )
        })?;

        let one: libc::c_int = 1;
        let len = to_socklen(std::mem::size_of::<libc::c_int>())?;
        // SAFETY: the pointer and length describe `one`, which outlives the call. A kernel
        // without the option refuses it; sending works either way, so the result is ignored.
        let _ = unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_PACKET,
                PACKET_QDISC_BYPASS,
                (&raw const one).cast::<libc::c_void>(),
                len,
            )
        };
        Ok(TxSocket { fd })
    }
}

/// Frames of one length laid out once for `sendmmsg`: the frame bytes, one `iovec` per frame
/// and one `mmsghdr` per frame, all allocated up front and never moved.
pub struct FrameRing {
    // The headers point into `iovs`, the iovecs into `bytes`: both are boxed slices that are
    // never resized or moved out, so the pointers stay valid as long as `self` lives.
    bytes: Box<[u8]>,
    iovs: Box<[libc::iovec]>,
    hdrs: Box<[libc::mmsghdr]>,
}

impl FrameRing {
    /// Lays out `bytes`, which holds frames of `frame_len` bytes back to back.
    ///
    /// # Panics
    ///
    /// Never; an empty or ragged `bytes` gives fewer frames (the trailing part is unused).
    pub fn new(bytes: Vec<u8>, frame_len: usize) -> FrameRing {
        let bytes = bytes.into_boxed_slice();
        let n = bytes.len().checked_div(frame_len).unwrap_or(0);
        let iovs: Box<[libc::iovec]> = bytes
            .chunks_exact(frame_len.max(1))
            .take(n)
            .map(|f| libc::iovec {
                // The kernel only reads from a send buffer.
                iov_base: f.as_ptr().cast_mut().cast::<libc::c_void>(),
                iov_len: f.len(),
            })
            .collect();
        let hdrs: Box<[libc::mmsghdr]> = iovs
            .iter()
            .map(|iov| {
                // SAFETY: msghdr is plain data for which all-zero bytes are a valid value
                // (null name and control, zero lengths and flags).
                let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
                msg.msg_iov = std::ptr::from_ref(iov).cast_mut();
                msg.msg_iovlen = 1;
                libc::mmsghdr {
                    msg_hdr: msg,
                    msg_len: 0,
                }
            })
            .collect();
        FrameRing { bytes, iovs, hdrs }
    }

    /// The number of frames.
    pub fn len(&self) -> usize {
        self.hdrs.len()
    }

    /// Whether there are no frames.
    pub fn is_empty(&self) -> bool {
        self.hdrs.is_empty()
    }

    /// Sends frames `start..start + n` (clamped to the ring's end) with one `sendmmsg`.
    /// Returns how many the kernel took.
    ///
    /// # Errors
    ///
    /// The error of `sendmmsg` (e.g. `ENOBUFS` under pressure).
    pub fn send(&mut self, sock: &TxSocket, start: usize, n: usize) -> io::Result<usize> {
        debug_assert_eq!(self.iovs.len(), self.hdrs.len());
        debug_assert!(!self.bytes.is_empty() || self.hdrs.is_empty());
        if start >= self.hdrs.len() {
            return Ok(0);
        }
        let n = n.min(self.hdrs.len() - start);
        let vlen = libc::c_uint::try_from(n).unwrap_or(libc::c_uint::MAX);
        // SAFETY: `start < len`, so the pointer is inside `hdrs`, and `vlen <= len - start`
        // headers follow it. Each header points to one iovec in `iovs`, which points to one
        // frame in `bytes`; all three live in `self`, unmoved, for the duration of the call.
        // The kernel writes only the headers' `msg_len`, which we borrow mutably.
        let rc = unsafe {
            libc::sendmmsg(
                sock.fd.as_raw_fd(),
                self.hdrs.as_mut_ptr().add(start),
                vlen,
                0,
            )
        };
        let sent = check(rc)?;
        Ok(usize::try_from(sent).unwrap_or(0))
    }
}
