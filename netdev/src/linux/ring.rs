//! A `TPACKET_V3` receive ring: the kernel writes frames into blocks of a memory-mapped
//! ring and hands over whole blocks; we copy each frame into a pooled [`Packet`] and give
//! the block back. No system call per batch while frames wait, only `poll` when idle.
//!
//! Frames keep their vnet header (`PACKET_VNET_HDR`, just before the frame) and VLAN tag
//! (in the frame header), as on the `recvmmsg` path.

use std::os::fd::{AsFd, OwnedFd, RawFd};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use nix::errno::Errno;

use super::Shared;
use super::device::DevState;
use super::packet_socket::{restore_vlan, rx_socket_opts};
use super::sys::{self, Ring};
use crate::batch::PacketBatch;
use crate::error::{Error, Result};
use crate::offload::{Offload, VnetHdr};
use crate::packet::Packet;
use crate::provider::Rxq;

/// Bytes per block: a 64 KiB GSO super-frame and its headers fit in one.
const BLOCK_SIZE: usize = 256 * 1024;
/// Blocks in the ring (4 MiB in all).
const BLOCK_NR: usize = 16;
/// The nominal frame size the kernel wants for V3 (frames are variable within blocks).
const FRAME_SIZE: usize = 2048;
/// How long (ms) the kernel keeps a partly filled block before handing it over.
const RETIRE_TOV_MS: u32 = 1;

// Offsets in `struct tpacket_block_desc` (version, offset_to_priv, then tpacket_hdr_v1).
const BLK_STATUS: usize = 8;
const BLK_NUM_PKTS: usize = 12;
const BLK_FIRST: usize = 16;
// Offsets in `struct tpacket3_hdr`.
const PKT_NEXT: usize = 0;
const PKT_SNAPLEN: usize = 12;
const PKT_LEN: usize = 16;
const PKT_STATUS: usize = 20;
const PKT_MAC: usize = 24;
const PKT_VLAN_TCI: usize = 32;
const PKT_VLAN_TPID: usize = 36;
const PKT_HDR_LEN: usize = 48;

fn u32_at(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4)
        .and_then(|s| s.try_into().ok())
        .map_or(0, u32::from_ne_bytes)
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    b.get(at..at + 2)
        .and_then(|s| s.try_into().ok())
        .map_or(0, u16::from_ne_bytes)
}

/// A receive queue on a `TPACKET_V3` ring.
pub(crate) struct RingRxq {
    qid: usize,
    fd: OwnedFd,
    ring: Ring,
    vnet: bool,
    /// The block we read next.
    block: usize,
    /// Within an open block: offset of the next frame and frames left.
    next: usize,
    left: u32,
    open: bool,
    state: Arc<DevState>,
    shared: Arc<Shared>,
    gone: bool,
}

impl RingRxq {
    pub(crate) fn open(
        qid: usize,
        ifindex: u32,
        vnet: bool,
        state: Arc<DevState>,
        shared: Arc<Shared>,
    ) -> Result<Self> {
        let err = |op, e| Error::io(op, state.name(), e);
        let fd = sys::packet_socket().map_err(|e| err("open receive socket", e))?;
        sys::set_int_opt(fd.as_fd(), libc::SOL_PACKET, libc::PACKET_VERSION, 2)
            .map_err(|e| err("set TPACKET_V3", e))?;
        let vnet = rx_socket_opts(fd.as_fd(), vnet).map_err(|e| err("set up receive socket", e))?;
        let c = |v: usize| libc::c_uint::try_from(v).unwrap_or(libc::c_uint::MAX);
        let req = libc::tpacket_req3 {
            tp_block_size: c(BLOCK_SIZE),
            tp_block_nr: c(BLOCK_NR),
            tp_frame_size: c(FRAME_SIZE),
            tp_frame_nr: c(BLOCK_SIZE / FRAME_SIZE * BLOCK_NR),
            tp_retire_blk_tov: RETIRE_TOV_MS,
            tp_sizeof_priv: 0,
            tp_feature_req_word: 0,
        };
        sys::set_rx_ring(fd.as_fd(), &req).map_err(|e| err("set up receive ring", e))?;
        let ring =
            Ring::map(fd.as_fd(), BLOCK_SIZE * BLOCK_NR).map_err(|e| err("map receive ring", e))?;
        sys::bind_packet(fd.as_fd(), ifindex).map_err(|e| err("bind receive socket", e))?;
        Ok(RingRxq {
            qid,
            fd,
            ring,
            vnet,
            block: 0,
            next: 0,
            left: 0,
            open: false,
            state,
            shared,
            gone: false,
        })
    }

    fn block_off(&self) -> usize {
        self.block * BLOCK_SIZE
    }

    /// Copies the frame at `off` (inside the open block) into a packet.
    fn frame(&self, off: usize) -> Option<std::result::Result<Packet, ()>> {
        let hdr = self.ring.bytes(off, PKT_HDR_LEN)?;
        let snaplen = usize::try_from(u32_at(hdr, PKT_SNAPLEN)).ok()?;
        let len = usize::try_from(u32_at(hdr, PKT_LEN)).ok()?;
        let status = u32_at(hdr, PKT_STATUS);
        let mac = usize::from(u16_at(hdr, PKT_MAC));
        let tci = u16::try_from(u32_at(hdr, PKT_VLAN_TCI) & 0xffff).unwrap_or(0);
        let tpid = u16_at(hdr, PKT_VLAN_TPID);
        if snaplen < len {
            return Some(Err(()));
        }
        let offload = if self.vnet {
            let v = self
                .ring
                .bytes(off + mac.checked_sub(VnetHdr::LEN)?, VnetHdr::LEN)?;
            let v: &[u8; VnetHdr::LEN] = v.try_into().ok()?;
            match Offload::from_vnet(&VnetHdr::from_bytes(v)) {
                Some(o) => o,
                None => return Some(Err(())),
            }
        } else {
            Offload::default()
        };
        let data = self.ring.bytes(off + mac, snaplen)?;
        let mut pkt = Packet::from_slice(data);
        pkt.offload = offload;
        if status & libc::TP_STATUS_VLAN_VALID != 0 || tci != 0 {
            let tpid = if status & libc::TP_STATUS_VLAN_TPID_VALID != 0 && tpid != 0 {
                tpid
            } else {
                0x8100
            };
            restore_vlan(&mut pkt, tpid, tci);
        }
        Some(Ok(pkt))
    }

    fn close_block(&mut self) {
        if self.open {
            self.ring.release(self.block_off() + BLK_STATUS);
            self.open = false;
            self.block = (self.block + 1) % BLOCK_NR;
        }
    }
}

impl Rxq for RingRxq {
    fn queue_id(&self) -> usize {
        self.qid
    }

    fn recv(&mut self, batch: &mut PacketBatch) -> Result<usize> {
        if self.gone {
            return Err(Error::NoSuchDevice {
                name: self.state.name().to_owned(),
            });
        }
        let mut got = 0;
        while !batch.is_full() {
            if self.left == 0 {
                self.close_block();
                let b = self.block_off();
                if self.ring.status(b + BLK_STATUS) & libc::TP_STATUS_USER == 0 {
                    break;
                }
                let hdr = self.ring.bytes(b, BLK_FIRST + 4).unwrap_or(&[]);
                self.left = u32_at(hdr, BLK_NUM_PKTS);
                self.next = b + usize::try_from(u32_at(hdr, BLK_FIRST)).unwrap_or(BLOCK_SIZE);
                self.open = true;
                continue;
            }
            self.left -= 1;
            let off = self.next;
            let step = self.ring.bytes(off, 4).map_or(0, |h| u32_at(h, PKT_NEXT));
            self.next = off + usize::try_from(step).unwrap_or(BLOCK_SIZE);
            match self.frame(off) {
                Some(Ok(pkt)) => {
                    if batch.push(pkt).is_ok() {
                        got += 1;
                    }
                }
                Some(Err(())) => {
                    self.state.rx_dropped.fetch_add(1, Ordering::Relaxed);
                }
                None => {
                    // A frame header pointing outside the block: skip the block.
                    self.state.rx_dropped.fetch_add(1, Ordering::Relaxed);
                    self.left = 0;
                }
            }
            if step == 0 {
                self.left = 0;
            }
        }
        if got == 0 && !self.open {
            // The ring reports a vanished device only through the socket's error.
            match nix::sys::socket::getsockopt(&self.fd, nix::sys::socket::sockopt::SocketError) {
                Ok(0) | Err(_) => {}
                Ok(e) => {
                    let e = Errno::from_raw(e);
                    let _ = self.state.refresh(&self.shared);
                    if !(self.state.present() && e == Errno::ENETDOWN) {
                        self.gone = true;
                        return Err(Error::NoSuchDevice {
                            name: self.state.name().to_owned(),
                        });
                    }
                }
            }
        }
        Ok(got)
    }

    fn fd(&self) -> Option<RawFd> {
        use std::os::fd::AsRawFd;
        Some(self.fd.as_raw_fd())
    }
}
