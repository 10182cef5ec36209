//! `AF_PACKET` receive and transmit for `system` and `internal` devices, batched with
//! `recvmmsg`/`sendmmsg`.
//!
//! Receive buffers: each of the 32 slots of a queue holds a small packet (a standard frame
//! fits) and a spare large one. A frame is received into `[vnet header, small buffer,
//! tail of the large buffer]`; one that fits the small buffer is handed up as is, and a
//! larger one (a GSO super-frame, a jumbo frame) has its first part copied in front of its
//! tail and the large packet is handed up instead. Spent slots are refilled from the
//! per-thread packet pool, so a steady stream allocates nothing.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd, RawFd};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use nix::errno::Errno;

use super::Shared;
use super::device::DevState;
use super::sys::{self, BURST, RxInfo, RxMsgs, TxMsgs};
use crate::batch::PacketBatch;
use crate::error::{Error, Result};
use crate::offload::{Offload, VnetHdr, finish_offloads};
use crate::packet::Packet;
use crate::provider::{OffloadCaps, Rxq};

/// Receive buffer asked of the kernel per socket: room for a few dozen GSO super-frames.
const RCVBUF: libc::c_int = 4 << 20;

/// Receive slots: per slot a small packet, a spare large one, and the vnet header bytes.
pub(crate) struct RxSlots {
    small: Vec<Packet>,
    large: Vec<Packet>,
    hdrs: [[u8; VnetHdr::LEN]; BURST],
    small_len: [usize; BURST],
}

/// Why a received frame was dropped.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum RxDrop {
    /// The frame did not fit (`MSG_TRUNC`) or was shorter than its vnet header.
    Truncated,
    /// The vnet header holds a GSO type Linux does not make.
    BadVnetHdr,
}

impl RxSlots {
    pub(crate) fn new() -> Self {
        RxSlots {
            small: (0..BURST).map(|_| Packet::new()).collect(),
            large: (0..BURST).map(|_| Packet::new_large()).collect(),
            hdrs: [[0; VnetHdr::LEN]; BURST],
            small_len: [0; BURST],
        }
    }

    /// The buffers of slot `i`: `[vnet header or nothing, small buffer, large tail]`.
    pub(crate) fn parts(&mut self, vnet: bool, n: usize) -> impl Iterator<Item = [&mut [u8]; 3]> {
        self.small
            .iter_mut()
            .zip(self.large.iter_mut())
            .zip(self.hdrs.iter_mut())
            .zip(self.small_len.iter_mut())
            .take(n)
            .map(move |(((small, large), hdr), small_len)| {
                let s = small.recv_space();
                *small_len = s.len();
                let tail = large.recv_space();
                let tail = tail.get_mut(s.len()..).unwrap_or_default();
                let hdr: &mut [u8] = if vnet { hdr } else { &mut [] };
                [hdr, s, tail]
            })
    }

    /// Takes the frame received in slot `i` (`len` bytes including the vnet header if
    /// `vnet`), refilling the slot.
    pub(crate) fn take(
        &mut self,
        i: usize,
        len: usize,
        trunc: bool,
        vnet: bool,
    ) -> std::result::Result<Packet, RxDrop> {
        let hdr_len = if vnet { VnetHdr::LEN } else { 0 };
        if trunc || len < hdr_len || i >= self.small.len() {
            return Err(RxDrop::Truncated);
        }
        let offload = if vnet {
            Offload::from_vnet(&VnetHdr::from_bytes(&self.hdrs[i])).ok_or(RxDrop::BadVnetHdr)?
        } else {
            Offload::default()
        };
        let len = len - hdr_len;
        let small_len = self.small_len[i];
        let mut pkt = if len <= small_len {
            let mut p = std::mem::take(&mut self.small[i]);
            p.set_len(len);
            p
        } else {
            let small = &mut self.small[i];
            small.set_len(small_len);
            let large = &mut self.large[i];
            large.set_len(len);
            large.data_mut()[..small_len].copy_from_slice(small.data());
            small.set_len(0);
            std::mem::replace(&mut self.large[i], Packet::new_large())
        };
        pkt.offload = offload;
        Ok(pkt)
    }
}

/// Puts back the VLAN tag `(tpid, tci)` that the kernel took off, after the MACs.
pub(crate) fn restore_vlan(pkt: &mut Packet, tpid: u16, tci: u16) {
    if pkt.len() < 12 {
        return;
    }
    let tag = pkt.insert_at(12, 4);
    tag[..2].copy_from_slice(&tpid.to_be_bytes());
    tag[2..].copy_from_slice(&tci.to_be_bytes());
    pkt.offload.shift(4);
}

fn rx_socket(ifindex: u32, vnet: bool) -> std::result::Result<(OwnedFd, bool), Errno> {
    let fd = sys::packet_socket()?;
    let vnet = rx_socket_opts(fd.as_fd(), vnet)?;
    sys::bind_packet(fd.as_fd(), ifindex)?;
    Ok((fd, vnet))
}

/// Sets up a receive socket before it is bound: VLAN auxdata, the vnet header if `vnet`
/// (returns whether the kernel took it), inbound frames only, a large receive buffer.
pub(crate) fn rx_socket_opts(fd: BorrowedFd<'_>, vnet: bool) -> std::result::Result<bool, Errno> {
    sys::set_int_opt(fd, libc::SOL_PACKET, libc::PACKET_AUXDATA, 1)?;
    let vnet =
        vnet && sys::set_int_opt(fd.as_fd(), libc::SOL_PACKET, libc::PACKET_VNET_HDR, 1).is_ok();
    if sys::set_int_opt(
        fd.as_fd(),
        libc::SOL_PACKET,
        libc::PACKET_IGNORE_OUTGOING,
        1,
    )
    .is_err()
    {
        // Older kernels: drop outgoing frames with a filter on the packet type.
        let prog = [
            // ldb [pkttype]
            libc::sock_filter {
                code: 0x30,
                jt: 0,
                jf: 0,
                k: (libc::SKF_AD_OFF + libc::SKF_AD_PKTTYPE) as u32,
            },
            // jeq #PACKET_OUTGOING, drop, accept
            libc::sock_filter {
                code: 0x15,
                jt: 0,
                jf: 1,
                k: u32::from(libc::PACKET_OUTGOING),
            },
            // ret #0
            libc::sock_filter {
                code: 0x06,
                jt: 0,
                jf: 0,
                k: 0,
            },
            // ret #-1
            libc::sock_filter {
                code: 0x06,
                jt: 0,
                jf: 0,
                k: u32::MAX,
            },
        ];
        sys::attach_filter(fd, &prog)?;
    }
    if sys::set_int_opt(fd, libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, RCVBUF).is_err() {
        let _ = sys::set_int_opt(fd, libc::SOL_SOCKET, libc::SO_RCVBUF, RCVBUF);
    }
    Ok(vnet)
}

/// A receive queue on an `AF_PACKET` socket bound to the device.
pub(crate) struct PacketRxq {
    qid: usize,
    fd: OwnedFd,
    vnet: bool,
    slots: RxSlots,
    state: Arc<DevState>,
    shared: Arc<Shared>,
    gone: bool,
}

impl PacketRxq {
    pub(crate) fn open(
        qid: usize,
        ifindex: u32,
        vnet: bool,
        state: Arc<DevState>,
        shared: Arc<Shared>,
    ) -> Result<Self> {
        let (fd, vnet) = rx_socket(ifindex, vnet)
            .map_err(|e| Error::io("open receive socket", state.name(), e))?;
        Ok(PacketRxq {
            qid,
            fd,
            vnet,
            slots: RxSlots::new(),
            state,
            shared,
            gone: false,
        })
    }

    /// A receive error that may mean the device is gone: find out.
    fn on_down(&mut self, e: Errno) -> Result<usize> {
        // ENETDOWN also comes when the device is merely set down.
        let _ = self.state.refresh(&self.shared);
        if self.state.present() && e == Errno::ENETDOWN {
            return Ok(0);
        }
        self.gone = true;
        Err(Error::NoSuchDevice {
            name: self.state.name().to_owned(),
        })
    }
}

impl Rxq for PacketRxq {
    fn queue_id(&self) -> usize {
        self.qid
    }

    fn recv(&mut self, batch: &mut PacketBatch) -> Result<usize> {
        if self.gone {
            return Err(Error::NoSuchDevice {
                name: self.state.name().to_owned(),
            });
        }
        let room = batch.room().min(BURST);
        if room == 0 {
            return Ok(0);
        }
        let mut info = [RxInfo::default(); BURST];
        let r = {
            let mut msgs = RxMsgs::new();
            for parts in self.slots.parts(self.vnet, room) {
                msgs.push(parts);
            }
            msgs.recv(self.fd.as_fd(), &mut info)
        };
        let n = match r {
            Ok(n) => n,
            Err(Errno::EAGAIN | Errno::EINTR) => return Ok(0),
            Err(e @ (Errno::ENETDOWN | Errno::ENXIO | Errno::ENODEV)) => return self.on_down(e),
            Err(e) => return Err(Error::io("receive", self.state.name(), e)),
        };
        Ok(deliver(
            &mut self.slots,
            &info[..n],
            self.vnet,
            &self.state,
            batch,
        ))
    }

    fn fd(&self) -> Option<RawFd> {
        use std::os::fd::AsRawFd;
        Some(self.fd.as_raw_fd())
    }
}

/// Moves the received frames described by `info` from the slots into `batch`, restoring
/// VLAN tags; returns how many were delivered.
pub(crate) fn deliver(
    slots: &mut RxSlots,
    info: &[RxInfo],
    vnet: bool,
    state: &DevState,
    batch: &mut PacketBatch,
) -> usize {
    let mut got = 0;
    for (i, m) in info.iter().enumerate() {
        match slots.take(i, m.len, m.trunc, vnet) {
            Ok(mut pkt) => {
                if let Some((tpid, tci)) = m.vlan {
                    restore_vlan(&mut pkt, tpid, tci);
                }
                if batch.push(pkt).is_ok() {
                    got += 1;
                }
            }
            Err(e) => {
                tracing::debug!("{}: dropping received frame: {e:?}", state.name());
                state.rx_dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
    got
}

/// The transmit side: one unbound `AF_PACKET` socket per device, addressed per call.
pub(crate) struct PacketTx {
    fd: OwnedFd,
    vnet: bool,
}

impl PacketTx {
    pub(crate) fn open(name: &str, vnet: bool) -> Result<Self> {
        let fd = sys::packet_socket().map_err(|e| Error::io("open send socket", name, e))?;
        let vnet = vnet
            && sys::set_int_opt(fd.as_fd(), libc::SOL_PACKET, libc::PACKET_VNET_HDR, 1).is_ok();
        Ok(PacketTx { fd, vnet })
    }

    pub(crate) fn vnet(&self) -> bool {
        self.vnet
    }

    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    fn caps(&self) -> OffloadCaps {
        if self.vnet {
            OffloadCaps::all()
        } else {
            OffloadCaps::empty()
        }
    }

    /// Sends `batch` to interface `ifindex` (see `Netdev::send`).
    pub(crate) fn send(
        &self,
        state: &DevState,
        ifindex: u32,
        batch: &mut PacketBatch,
    ) -> Result<()> {
        let mut first_err = None;
        let dropped = finish_offloads(batch, self.caps(), &mut |b| {
            self.send_burst(state, ifindex, b, &mut first_err);
        });
        if dropped > 0 {
            state
                .tx_dropped
                .fetch_add(dropped as u64, Ordering::Relaxed);
        }
        first_err.map_or(Ok(()), Err)
    }

    fn send_burst(
        &self,
        state: &DevState,
        ifindex: u32,
        batch: &mut PacketBatch,
        first_err: &mut Option<Error>,
    ) {
        let n = batch.len();
        if matches!(
            first_err,
            Some(Error::WouldBlock { .. } | Error::NoSuchDevice { .. })
        ) {
            // The queue is full or the device gone: the rest is dropped.
            state.tx_dropped.fetch_add(n as u64, Ordering::Relaxed);
            batch.clear();
            return;
        }
        let mut hdrs = [[0u8; VnetHdr::LEN]; BURST];
        for (h, p) in hdrs.iter_mut().zip(batch.iter()) {
            *h = p.offload.to_vnet().to_bytes();
        }
        let mut msgs = TxMsgs::new();
        for (h, p) in hdrs.iter().zip(batch.iter()) {
            let h: &[u8] = if self.vnet { h } else { &[] };
            msgs.push(h, p.data());
        }
        let total = msgs.len();
        let mut sent = 0;
        while sent < total {
            match msgs.send(self.fd.as_fd(), ifindex, sent) {
                Ok(0) => break,
                Ok(k) => sent += k,
                Err(Errno::EINTR) => {}
                Err(e @ (Errno::EAGAIN | Errno::ENOBUFS | Errno::ENXIO | Errno::ENODEV)) => {
                    state
                        .tx_dropped
                        .fetch_add((total - sent) as u64, Ordering::Relaxed);
                    sent = total;
                    let err = if matches!(e, Errno::EAGAIN | Errno::ENOBUFS) {
                        Error::WouldBlock {
                            op: "send",
                            name: state.name().to_owned(),
                        }
                    } else {
                        state.mark_deleted();
                        Error::NoSuchDevice {
                            name: state.name().to_owned(),
                        }
                    };
                    first_err.get_or_insert(err);
                }
                Err(e) => {
                    // This one frame was refused (EMSGSIZE, EINVAL, ENETDOWN...): drop it
                    // and go on with the next.
                    state.tx_dropped.fetch_add(1, Ordering::Relaxed);
                    sent += 1;
                    first_err.get_or_insert_with(|| Error::io("send", state.name(), e));
                }
            }
        }
        batch.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::offload::Checksum;
    use crate::packet::SMALL_DATA;

    #[test]
    fn vlan_tag_goes_back_after_the_macs() {
        let frame: Vec<u8> = (0..60).collect();
        let mut p = Packet::from_slice(&frame);
        p.offload.csum = Checksum::Partial {
            start: 34,
            offset: 16,
        };
        restore_vlan(&mut p, 0x8100, 0x0064);
        assert_eq!(p.len(), 64);
        assert_eq!(&p.data()[..12], &frame[..12]);
        assert_eq!(&p.data()[12..16], &[0x81, 0x00, 0x00, 0x64]);
        assert_eq!(&p.data()[16..], &frame[12..]);
        assert_eq!(
            p.offload.csum,
            Checksum::Partial {
                start: 38,
                offset: 16
            }
        );
        // A runt frame is left alone.
        let mut r = Packet::from_slice(&[1, 2, 3]);
        restore_vlan(&mut r, 0x8100, 1);
        assert_eq!(r.data(), &[1, 2, 3]);
    }

    /// Simulates the kernel scattering `frame` (after `hdr`) over a slot's buffers.
    fn fill(slots: &mut RxSlots, vnet: bool, hdr: &[u8], frame: &[u8]) -> usize {
        let mut parts = slots.parts(vnet, 1);
        let [h, s, t] = parts.next().unwrap();
        let mut src = hdr.iter().chain(frame.iter()).copied();
        for dst in [h, s, t] {
            for b in dst.iter_mut() {
                match src.next() {
                    Some(v) => *b = v,
                    None => break,
                }
            }
        }
        hdr.len() + frame.len()
    }

    #[test]
    fn small_frame_stays_in_its_buffer() {
        let mut slots = RxSlots::new();
        let frame: Vec<u8> = (0..100u8).collect();
        let hdr = VnetHdr::default().to_bytes();
        let len = fill(&mut slots, true, &hdr, &frame);
        let p = slots.take(0, len, false, true).unwrap();
        assert_eq!(p.data(), &frame[..]);
        assert_eq!(p.offload, Offload::default());
    }

    #[test]
    fn super_frame_spills_into_the_large_buffer() {
        let mut slots = RxSlots::new();
        let frame: Vec<u8> = (0..60_000u32).map(|i| (i % 251) as u8).collect();
        let h = VnetHdr {
            flags: VnetHdr::F_NEEDS_CSUM,
            gso_type: VnetHdr::GSO_TCPV4,
            hdr_len: 66,
            gso_size: 1448,
            csum_start: 34,
            csum_offset: 16,
        };
        let len = fill(&mut slots, true, &h.to_bytes(), &frame);
        let p = slots.take(0, len, false, true).unwrap();
        assert_eq!(p.len(), frame.len());
        assert!(p.data() == &frame[..], "bytes arrive in order");
        assert_eq!(p.offload.gso.unwrap().size, 1448);
        // The slot is ready again, with a fresh large buffer.
        let len = fill(&mut slots, false, &[], &frame[..SMALL_DATA + 1]);
        let p = slots.take(0, len, false, false).unwrap();
        assert_eq!(p.data(), &frame[..SMALL_DATA + 1]);
    }

    #[test]
    fn bad_frames_are_refused() {
        let mut slots = RxSlots::new();
        assert_eq!(slots.take(0, 5, false, true).err(), Some(RxDrop::Truncated));
        assert_eq!(
            slots.take(0, 100, true, true).err(),
            Some(RxDrop::Truncated)
        );
        let h = VnetHdr {
            gso_type: 42,
            ..VnetHdr::default()
        };
        let len = fill(&mut slots, true, &h.to_bytes(), &[0; 60]);
        assert_eq!(
            slots.take(0, len, false, true).err(),
            Some(RxDrop::BadVnetHdr)
        );
        assert_eq!(
            slots.take(99, 60, false, false).err(),
            Some(RxDrop::Truncated)
        );
    }
}
