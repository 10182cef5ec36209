//! The raw system calls of netdev-linux, each wrapped in a safe function.
//!
//! Every `unsafe` block of the Linux classes lives here: `setsockopt`, `bind` on an
//! `AF_PACKET` socket, `recvmmsg`/`sendmmsg` over caller-owned buffers, and the `ioctl`s of
//! TAP devices and ethtool. The wrappers keep the kernel's view of memory inside buffers
//! that Rust borrows for the length of the call, so no caller can hand the kernel a dangling
//! or too-short buffer.

use std::marker::PhantomData;
use std::mem;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};

use nix::errno::Errno;
use nix::sys::socket::{AddressFamily, SockFlag, SockType};

/// The most messages one `recvmmsg`/`sendmmsg` call moves.
pub(crate) const BURST: usize = crate::batch::MAX_BURST;

/// `ETH_P_ALL` (3) in network byte order, as `sockaddr_ll.sll_protocol` wants it.
const ETH_P_ALL_BE: u16 = 0x0003u16.to_be();

/// `sizeof(T)` as a `socklen_t` (every type passed here is a few dozen bytes).
fn socklen<T>() -> libc::socklen_t {
    libc::socklen_t::try_from(mem::size_of::<T>()).unwrap_or(libc::socklen_t::MAX)
}

/// `CMSG_ALIGN(sizeof(struct cmsghdr))` on 64-bit Linux.
const CMSG_HDR: usize = 16;
/// `sizeof(struct tpacket_auxdata)`.
const AUXDATA_LEN: usize = 20;
/// Room for one `PACKET_AUXDATA` control message, in `u64`s (so it is aligned).
const CTRL_WORDS: usize = 8;

fn check(rc: libc::c_int) -> Result<libc::c_int, Errno> {
    if rc < 0 { Err(Errno::last()) } else { Ok(rc) }
}

/// Makes a non-blocking `AF_PACKET`/`SOCK_RAW` socket that receives nothing until bound
/// with a protocol.
pub(crate) fn packet_socket() -> Result<OwnedFd, Errno> {
    nix::sys::socket::socket(
        AddressFamily::Packet,
        SockType::Raw,
        SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC,
        None,
    )
}

/// Makes a datagram `AF_INET` socket for interface `ioctl`s.
pub(crate) fn ioctl_socket() -> Result<OwnedFd, Errno> {
    nix::sys::socket::socket(
        AddressFamily::Inet,
        SockType::Datagram,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
}

/// `setsockopt(fd, level, name, &value, sizeof(int))`.
pub(crate) fn set_int_opt(
    fd: BorrowedFd<'_>,
    level: libc::c_int,
    name: libc::c_int,
    value: libc::c_int,
) -> Result<(), Errno> {
    let len = socklen::<libc::c_int>();
    // SAFETY: `value` is a live c_int and `len` is its size; the kernel only reads it.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (&raw const value).cast::<libc::c_void>(),
            len,
        )
    };
    check(rc).map(drop)
}

/// Attaches a classic BPF program (`SO_ATTACH_FILTER`).
pub(crate) fn attach_filter(fd: BorrowedFd<'_>, prog: &[libc::sock_filter]) -> Result<(), Errno> {
    let len = u16::try_from(prog.len()).map_err(|_| Errno::EINVAL)?;
    let fprog = libc::sock_fprog {
        len,
        filter: prog.as_ptr().cast_mut(),
    };
    let size = socklen::<libc::sock_fprog>();
    // SAFETY: `fprog` points at `prog`, which outlives the call; the kernel copies the
    // program and never writes through the pointer.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_ATTACH_FILTER,
            (&raw const fprog).cast::<libc::c_void>(),
            size,
        )
    };
    check(rc).map(drop)
}

fn sockaddr_ll(ifindex: u32, protocol_be: u16) -> Result<libc::sockaddr_ll, Errno> {
    Ok(libc::sockaddr_ll {
        sll_family: libc::c_ushort::try_from(libc::AF_PACKET).map_err(|_| Errno::EINVAL)?,
        sll_protocol: protocol_be,
        sll_ifindex: libc::c_int::try_from(ifindex).map_err(|_| Errno::EINVAL)?,
        sll_hatype: 0,
        sll_pkttype: 0,
        sll_halen: 0,
        sll_addr: [0; 8],
    })
}

/// Binds an `AF_PACKET` socket to interface `ifindex`, receiving every protocol
/// (`ETH_P_ALL`).
pub(crate) fn bind_packet(fd: BorrowedFd<'_>, ifindex: u32) -> Result<(), Errno> {
    let sll = sockaddr_ll(ifindex, ETH_P_ALL_BE)?;
    let len = socklen::<libc::sockaddr_ll>();
    // SAFETY: `sll` is a valid sockaddr_ll of `len` bytes that the kernel only reads.
    let rc = unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (&raw const sll).cast::<libc::sockaddr>(),
            len,
        )
    };
    check(rc).map(drop)
}

/// What `recvmmsg` said about one received message.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct RxInfo {
    /// Bytes the message had (the sum over its parts; more than fit if `trunc`).
    pub len: usize,
    /// The message did not fit in the buffers (`MSG_TRUNC`).
    pub trunc: bool,
    /// The VLAN tag the kernel took off the frame, as `(tpid, tci)`, from
    /// `PACKET_AUXDATA`.
    pub vlan: Option<(u16, u16)>,
}

/// Reads the VLAN tag out of the control messages of one received message.
///
/// `ctrl` holds the first `ctrl_len` bytes the kernel wrote; anything malformed is ignored.
pub(crate) fn parse_auxdata_vlan(ctrl: &[u8]) -> Option<(u16, u16)> {
    let mut off = 0usize;
    while off + CMSG_HDR <= ctrl.len() {
        let word = ctrl.get(off..off + 8)?;
        let cmsg_len = usize::try_from(u64::from_ne_bytes(word.try_into().ok()?)).ok()?;
        let level = i32::from_ne_bytes(ctrl.get(off + 8..off + 12)?.try_into().ok()?);
        let kind = i32::from_ne_bytes(ctrl.get(off + 12..off + 16)?.try_into().ok()?);
        if cmsg_len < CMSG_HDR || off + cmsg_len > ctrl.len() {
            return None;
        }
        if level == libc::SOL_PACKET
            && kind == libc::PACKET_AUXDATA
            && cmsg_len >= CMSG_HDR + AUXDATA_LEN
        {
            let d = &ctrl[off + CMSG_HDR..off + CMSG_HDR + AUXDATA_LEN];
            let status = u32::from_ne_bytes([d[0], d[1], d[2], d[3]]);
            let tci = u16::from_ne_bytes([d[16], d[17]]);
            let tpid = u16::from_ne_bytes([d[18], d[19]]);
            if status & libc::TP_STATUS_VLAN_VALID == 0 && tci == 0 {
                return None;
            }
            let tpid = if status & libc::TP_STATUS_VLAN_TPID_VALID != 0 && tpid != 0 {
                tpid
            } else {
                0x8100
            };
            return Some((tpid, tci));
        }
        off += cmsg_len.next_multiple_of(8);
    }
    None
}

/// Up to [`BURST`] messages to receive with one `recvmmsg`, each into up to three buffers
/// (a vnet header, the packet's buffer, an overflow buffer), borrowed for `'a`.
pub(crate) struct RxMsgs<'a> {
    iov: [[libc::iovec; 3]; BURST],
    ctrl: [[u64; CTRL_WORDS]; BURST],
    n: usize,
    _bufs: PhantomData<&'a mut [u8]>,
}

const NULL_IOV: libc::iovec = libc::iovec {
    iov_base: std::ptr::null_mut(),
    iov_len: 0,
};

impl<'a> RxMsgs<'a> {
    /// No messages yet.
    pub(crate) fn new() -> Self {
        RxMsgs {
            iov: [[NULL_IOV; 3]; BURST],
            ctrl: [[0; CTRL_WORDS]; BURST],
            n: 0,
            _bufs: PhantomData,
        }
    }

    /// Adds a message received into `parts`, in order (empty parts are allowed). Returns
    /// false when [`BURST`] messages are queued.
    pub(crate) fn push(&mut self, parts: [&'a mut [u8]; 3]) -> bool {
        let Some(iov) = self.iov.get_mut(self.n) else {
            return false;
        };
        for (v, part) in iov.iter_mut().zip(parts) {
            *v = libc::iovec {
                iov_base: part.as_mut_ptr().cast(),
                iov_len: part.len(),
            };
        }
        self.n += 1;
        true
    }

    /// Receives up to the queued number of messages without blocking, describing each in
    /// `info`. Returns how many arrived; `EAGAIN` means none were waiting.
    pub(crate) fn recv(
        &mut self,
        fd: BorrowedFd<'_>,
        info: &mut [RxInfo; BURST],
    ) -> Result<usize, Errno> {
        // SAFETY: an all-zero mmsghdr is valid (null pointers, zero lengths).
        let mut hdrs: [libc::mmsghdr; BURST] = unsafe { mem::zeroed() };
        for ((h, iov), ctrl) in hdrs
            .iter_mut()
            .zip(self.iov.iter_mut())
            .zip(self.ctrl.iter_mut())
            .take(self.n)
        {
            h.msg_hdr.msg_iov = iov.as_mut_ptr();
            h.msg_hdr.msg_iovlen = 3;
            h.msg_hdr.msg_control = ctrl.as_mut_ptr().cast();
            h.msg_hdr.msg_controllen = mem::size_of_val(ctrl);
        }
        let vlen = libc::c_uint::try_from(self.n).map_err(|_| Errno::EINVAL)?;
        // SAFETY: each of the first `n` headers points at 3 iovecs describing buffers
        // mutably borrowed for 'a (alive and unaliased for this call) and at its own
        // control buffer of `msg_controllen` bytes; the kernel writes only within them.
        let rc = unsafe {
            libc::recvmmsg(
                fd.as_raw_fd(),
                hdrs.as_mut_ptr(),
                vlen,
                libc::MSG_DONTWAIT,
                std::ptr::null_mut(),
            )
        };
        let got = usize::try_from(check(rc)?).map_err(|_| Errno::EINVAL)?;
        for i in 0..got.min(self.n) {
            let h = &hdrs[i];
            let mut bytes = [0u8; CTRL_WORDS * 8];
            for (chunk, w) in bytes.chunks_exact_mut(8).zip(self.ctrl[i].iter()) {
                chunk.copy_from_slice(&w.to_ne_bytes());
            }
            let used = h.msg_hdr.msg_controllen.min(bytes.len());
            info[i] = RxInfo {
                len: h.msg_len as usize,
                trunc: h.msg_hdr.msg_flags & libc::MSG_TRUNC != 0,
                vlan: parse_auxdata_vlan(&bytes[..used]),
            };
        }
        Ok(got.min(self.n))
    }
}

/// Up to [`BURST`] messages to send with one `sendmmsg`, each a vnet header (possibly
/// empty) and a frame, borrowed for `'a`.
pub(crate) struct TxMsgs<'a> {
    iov: [[libc::iovec; 2]; BURST],
    n: usize,
    _bufs: PhantomData<&'a [u8]>,
}

impl<'a> TxMsgs<'a> {
    /// No messages yet.
    pub(crate) fn new() -> Self {
        TxMsgs {
            iov: [[NULL_IOV; 2]; BURST],
            n: 0,
            _bufs: PhantomData,
        }
    }

    /// How many messages are queued.
    pub(crate) fn len(&self) -> usize {
        self.n
    }

    /// Adds a message made of `hdr` then `frame`. Returns false when [`BURST`] are queued.
    pub(crate) fn push(&mut self, hdr: &'a [u8], frame: &'a [u8]) -> bool {
        let Some(iov) = self.iov.get_mut(self.n) else {
            return false;
        };
        // The kernel only reads these buffers: the `*mut` is what the C type wants.
        iov[0] = libc::iovec {
            iov_base: hdr.as_ptr().cast_mut().cast(),
            iov_len: hdr.len(),
        };
        iov[1] = libc::iovec {
            iov_base: frame.as_ptr().cast_mut().cast(),
            iov_len: frame.len(),
        };
        self.n += 1;
        true
    }

    /// Sends messages `from..` to interface `ifindex` without blocking and returns how many
    /// the kernel took (at least one on success).
    pub(crate) fn send(
        &mut self,
        fd: BorrowedFd<'_>,
        ifindex: u32,
        from: usize,
    ) -> Result<usize, Errno> {
        if from >= self.n {
            return Ok(0);
        }
        let mut sll = sockaddr_ll(ifindex, 0)?;
        // SAFETY: an all-zero mmsghdr is valid (null pointers, zero lengths).
        let mut hdrs: [libc::mmsghdr; BURST] = unsafe { mem::zeroed() };
        let count = self.n - from;
        for (h, iov) in hdrs.iter_mut().zip(self.iov[from..self.n].iter_mut()) {
            h.msg_hdr.msg_name = (&raw mut sll).cast();
            h.msg_hdr.msg_namelen = socklen::<libc::sockaddr_ll>();
            h.msg_hdr.msg_iov = iov.as_mut_ptr();
            h.msg_hdr.msg_iovlen = 2;
        }
        let vlen = libc::c_uint::try_from(count).map_err(|_| Errno::EINVAL)?;
        // SAFETY: each of the first `count` headers points at `sll` and at 2 iovecs over
        // buffers borrowed for 'a; all outlive the call and the kernel only reads them (it
        // writes only `msg_len` in `hdrs`).
        let rc =
            unsafe { libc::sendmmsg(fd.as_raw_fd(), hdrs.as_mut_ptr(), vlen, libc::MSG_DONTWAIT) };
        usize::try_from(check(rc)?).map_err(|_| Errno::EINVAL)
    }
}

/// Fills an `ifreq` name, refusing names that do not fit `IFNAMSIZ`.
fn ifreq_for(name: &str) -> Result<libc::ifreq, Errno> {
    let bytes = name.as_bytes();
    if bytes.is_empty() || bytes.len() >= libc::IFNAMSIZ || bytes.contains(&0) {
        return Err(Errno::EINVAL);
    }
    // SAFETY: an all-zero ifreq is valid (an empty name and a zero union).
    let mut ifr: libc::ifreq = unsafe { mem::zeroed() };
    for (d, s) in ifr.ifr_name.iter_mut().zip(bytes) {
        *d = *s as libc::c_char;
    }
    Ok(ifr)
}

/// `TUNSETIFF`: attaches the tun fd to interface `name` (created if missing) with `flags`
/// (`IFF_TAP | IFF_NO_PI | ...`).
pub(crate) fn tun_set_iff(fd: BorrowedFd<'_>, name: &str, flags: libc::c_int) -> Result<(), Errno> {
    let mut ifr = ifreq_for(name)?;
    ifr.ifr_ifru.ifru_flags = libc::c_short::try_from(flags).map_err(|_| Errno::EINVAL)?;
    // SAFETY: TUNSETIFF reads and writes one `struct ifreq`, which `ifr` is.
    let rc = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TUNSETIFF, &raw mut ifr) };
    check(rc).map(drop)
}

/// `TUNSETVNETHDRSZ`: the size of the vnet header in front of each frame.
pub(crate) fn tun_set_vnet_hdr_sz(fd: BorrowedFd<'_>, size: libc::c_int) -> Result<(), Errno> {
    // SAFETY: TUNSETVNETHDRSZ reads one int through the pointer, which `size` is.
    let rc = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TUNSETVNETHDRSZ, &raw const size) };
    check(rc).map(drop)
}

/// `TUNSETOFFLOAD`: the offloads (`TUN_F_*`) this reader accepts in frames it reads.
pub(crate) fn tun_set_offload(fd: BorrowedFd<'_>, flags: libc::c_uint) -> Result<(), Errno> {
    // SAFETY: TUNSETOFFLOAD takes its argument by value; nothing is dereferenced.
    let rc = unsafe {
        libc::ioctl(
            fd.as_raw_fd(),
            libc::TUNSETOFFLOAD,
            libc::c_ulong::from(flags),
        )
    };
    check(rc).map(drop)
}

/// An ethtool command, with what it tells the kernel about the size of its buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EthtoolCmd {
    /// `ETHTOOL_GSET` over a 44-byte `struct ethtool_cmd`.
    Set,
    /// `ETHTOOL_GDRVINFO` over a 196-byte `struct ethtool_drvinfo`.
    DrvInfo,
    /// `ETHTOOL_GLINKSETTINGS` over a 48-byte `struct ethtool_link_settings` followed by
    /// 3 × `nwords` u32 masks, `nwords` being the header's `link_mode_masks_nwords`.
    LinkSettings,
}

/// `ETHTOOL_GSET`.
pub(crate) const ETHTOOL_GSET: u32 = 0x1;
/// `ETHTOOL_GDRVINFO`.
pub(crate) const ETHTOOL_GDRVINFO: u32 = 0x3;
/// `ETHTOOL_GLINKSETTINGS`.
pub(crate) const ETHTOOL_GLINKSETTINGS: u32 = 0x4c;
/// `sizeof(struct ethtool_cmd)`.
pub(crate) const ETHTOOL_CMD_LEN: usize = 44;
/// `sizeof(struct ethtool_drvinfo)`.
pub(crate) const ETHTOOL_DRVINFO_LEN: usize = 196;
/// `sizeof(struct ethtool_link_settings)` without its masks.
pub(crate) const ETHTOOL_LINK_SETTINGS_LEN: usize = 48;
/// The most bytes `ETHTOOL_GLINKSETTINGS` writes: the header and 3 × 128 mask words.
pub(crate) const ETHTOOL_LINK_SETTINGS_MAX: usize = ETHTOOL_LINK_SETTINGS_LEN + 3 * 4 * 128;

/// `ioctl(SIOCETHTOOL)` on interface `name`: `buf` holds the command's structure, command
/// word first, and gets the kernel's answer.
///
/// # Errors
///
/// `EINVAL` if `buf` is shorter than the command needs; the kernel's errno.
pub(crate) fn ethtool(
    fd: BorrowedFd<'_>,
    name: &str,
    cmd: EthtoolCmd,
    buf: &mut [u32],
) -> Result<(), Errno> {
    let (word, need) = match cmd {
        EthtoolCmd::Set => (ETHTOOL_GSET, ETHTOOL_CMD_LEN),
        EthtoolCmd::DrvInfo => (ETHTOOL_GDRVINFO, ETHTOOL_DRVINFO_LEN),
        // Byte 15 is link_mode_masks_nwords, a signed byte: the kernel writes at most
        // 3 * 128 words of masks after the header.
        EthtoolCmd::LinkSettings => (ETHTOOL_GLINKSETTINGS, ETHTOOL_LINK_SETTINGS_MAX),
    };
    if buf.len() * 4 < need {
        return Err(Errno::EINVAL);
    }
    if let Some(first) = buf.first_mut() {
        *first = word;
    }
    let mut ifr = ifreq_for(name)?;
    ifr.ifr_ifru.ifru_data = buf.as_mut_ptr().cast();
    // SAFETY: SIOCETHTOOL reads the ifreq, whose data pointer is `buf`; for the command in
    // its first word the kernel reads and writes at most `need` bytes, which `buf` holds
    // (for GLINKSETTINGS, room for the largest mask count a signed byte allows).
    let rc = unsafe { libc::ioctl(fd.as_raw_fd(), libc::SIOCETHTOOL, &raw mut ifr) };
    check(rc).map(drop)
}

/// `PACKET_RX_RING` with a `struct tpacket_req3` (the socket must use `TPACKET_V3`).
pub(crate) fn set_rx_ring(fd: BorrowedFd<'_>, req: &libc::tpacket_req3) -> Result<(), Errno> {
    // SAFETY: `req` is a live tpacket_req3 of the size passed; the kernel only reads it.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_PACKET,
            libc::PACKET_RX_RING,
            std::ptr::from_ref(req).cast::<libc::c_void>(),
            socklen::<libc::tpacket_req3>(),
        )
    };
    check(rc).map(drop)
}

/// A packet ring mapped from an `AF_PACKET` socket, shared with the kernel.
///
/// The kernel owns a block while its status word has no `TP_STATUS_USER` bit; we read a
/// block only after seeing that bit (acquire), and hand it back by storing
/// `TP_STATUS_KERNEL` (release). All access is bounds-checked against the mapping.
pub(crate) struct Ring {
    ptr: std::ptr::NonNull<u8>,
    len: usize,
}

// SAFETY: the mapping is plain shared memory owned by this value; the kernel synchronises
// with us through the status words, which are accessed atomically.
unsafe impl Send for Ring {}

impl Ring {
    /// Maps `len` bytes of the ring set up on `fd`.
    pub(crate) fn map(fd: BorrowedFd<'_>, len: usize) -> Result<Ring, Errno> {
        // SAFETY: a fresh shared mapping of the socket's ring; the kernel validates `len`
        // against the ring it set up and we never touch memory outside [ptr, ptr + len).
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd.as_raw_fd(),
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(Errno::last());
        }
        let ptr = std::ptr::NonNull::new(p.cast::<u8>()).ok_or(Errno::ENOMEM)?;
        Ok(Ring { ptr, len })
    }

    fn status_word(&self, off: usize) -> Option<&std::sync::atomic::AtomicU32> {
        if !off.is_multiple_of(4) || off.checked_add(4)? > self.len {
            return None;
        }
        // SAFETY: `off` is 4-aligned (the mapping is page-aligned) and within the mapping,
        // which lives as long as `self`; the word is only ever accessed atomically by us
        // and by the kernel.
        Some(unsafe { std::sync::atomic::AtomicU32::from_ptr(self.ptr.as_ptr().add(off).cast()) })
    }

    /// Reads the status word at `off` (acquire); 0 (kernel's) if out of range.
    pub(crate) fn status(&self, off: usize) -> u32 {
        self.status_word(off)
            .map_or(0, |w| w.load(std::sync::atomic::Ordering::Acquire))
    }

    /// Gives the block whose status word is at `off` back to the kernel (release).
    pub(crate) fn release(&self, off: usize) {
        if let Some(w) = self.status_word(off) {
            w.store(libc::TP_STATUS_KERNEL, std::sync::atomic::Ordering::Release);
        }
    }

    /// The bytes `[off, off + len)` of a block we own, or `None` if out of range.
    pub(crate) fn bytes(&self, off: usize, len: usize) -> Option<&[u8]> {
        if off.checked_add(len)? > self.len {
            return None;
        }
        // SAFETY: in range of the live mapping; the caller reads only blocks the kernel
        // handed over (status USER), which the kernel does not write until released.
        Some(unsafe { std::slice::from_raw_parts(self.ptr.as_ptr().add(off), len) })
    }
}

impl Drop for Ring {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping made in `map`, which nothing borrows any more.
        unsafe {
            libc::munmap(self.ptr.as_ptr().cast(), self.len);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmsg(level: i32, kind: i32, data: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&u64::try_from(CMSG_HDR + data.len()).unwrap().to_ne_bytes());
        v.extend_from_slice(&level.to_ne_bytes());
        v.extend_from_slice(&kind.to_ne_bytes());
        v.extend_from_slice(data);
        while !v.len().is_multiple_of(8) {
            v.push(0);
        }
        v
    }

    fn auxdata(status: u32, tci: u16, tpid: u16) -> Vec<u8> {
        let mut d = Vec::new();
        d.extend_from_slice(&status.to_ne_bytes()); // tp_status
        d.extend_from_slice(&60u32.to_ne_bytes()); // tp_len
        d.extend_from_slice(&60u32.to_ne_bytes()); // tp_snaplen
        d.extend_from_slice(&0u16.to_ne_bytes()); // tp_mac
        d.extend_from_slice(&14u16.to_ne_bytes()); // tp_net
        d.extend_from_slice(&tci.to_ne_bytes()); // tp_vlan_tci
        d.extend_from_slice(&tpid.to_ne_bytes()); // tp_vlan_tpid
        d
    }

    #[test]
    fn auxdata_vlan_is_found() {
        let status =
            libc::TP_STATUS_USER | libc::TP_STATUS_VLAN_VALID | libc::TP_STATUS_VLAN_TPID_VALID;
        let c = cmsg(
            libc::SOL_PACKET,
            libc::PACKET_AUXDATA,
            &auxdata(status, 0x2064, 0x88a8),
        );
        assert_eq!(parse_auxdata_vlan(&c), Some((0x88a8, 0x2064)));
        // No TPID: 802.1Q.
        let c = cmsg(
            libc::SOL_PACKET,
            libc::PACKET_AUXDATA,
            &auxdata(libc::TP_STATUS_VLAN_VALID, 0, 0),
        );
        assert_eq!(parse_auxdata_vlan(&c), Some((0x8100, 0)));
        // No tag.
        let c = cmsg(
            libc::SOL_PACKET,
            libc::PACKET_AUXDATA,
            &auxdata(libc::TP_STATUS_USER, 0, 0),
        );
        assert_eq!(parse_auxdata_vlan(&c), None);
    }

    #[test]
    fn auxdata_after_another_cmsg_and_garbage() {
        let mut c = cmsg(libc::SOL_SOCKET, 29, &[1, 2, 3, 4, 5, 6, 7, 8]);
        c.extend(cmsg(
            libc::SOL_PACKET,
            libc::PACKET_AUXDATA,
            &auxdata(libc::TP_STATUS_VLAN_VALID, 10, 0),
        ));
        assert_eq!(parse_auxdata_vlan(&c), Some((0x8100, 10)));
        // Truncated or lying lengths never panic.
        for cut in 0..c.len() {
            let _ = parse_auxdata_vlan(&c[..cut]);
        }
        let mut bad = c.clone();
        bad[..8].copy_from_slice(&u64::MAX.to_ne_bytes());
        assert_eq!(parse_auxdata_vlan(&bad), None);
    }

    #[test]
    fn ifreq_name_must_fit() {
        assert!(ifreq_for("veth0").is_ok());
        assert_eq!(ifreq_for("").err(), Some(Errno::EINVAL));
        assert_eq!(ifreq_for("a-very-long-name0").err(), Some(Errno::EINVAL));
    }
}
