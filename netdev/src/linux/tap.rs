//! TAP devices on `/dev/net/tun`: open (creating the device if missing), read and write.
//!
//! The device is not persistent: it goes away when the last descriptor closes, that is
//! when the [`super::LinuxNetdev`] and its receive queue are dropped. With the vnet header
//! (`IFF_VNET_HDR`, `TUNSETVNETHDRSZ`, `TUNSETOFFLOAD`) the kernel hands us partial
//! checksums and GSO super-frames and takes them back on write.

use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd, RawFd};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::stat::Mode;

use super::device::DevState;
use super::packet_socket::{RxSlots, deliver};
use super::sys::{self, BURST, RxInfo};
use crate::batch::PacketBatch;
use crate::error::{Error, Result};
use crate::offload::finish_offloads;
use crate::provider::{OffloadCaps, Rxq};

/// `TUN_F_*` offloads we accept from the kernel: checksums, TSO (v4, v6, ECN), USO.
const OFFLOADS_ALL: libc::c_uint = libc::TUN_F_CSUM
    | libc::TUN_F_TSO4
    | libc::TUN_F_TSO6
    | libc::TUN_F_TSO_ECN
    | libc::TUN_F_USO4
    | libc::TUN_F_USO6;
/// The same without USO, for kernels before 6.2.
const OFFLOADS_TSO: libc::c_uint =
    libc::TUN_F_CSUM | libc::TUN_F_TSO4 | libc::TUN_F_TSO6 | libc::TUN_F_TSO_ECN;

/// The vnet header's size, as `TUNSETVNETHDRSZ` takes it.
const VNET_HDR_LEN: libc::c_int = 10;

/// An open TAP device.
pub(crate) struct TapFd {
    fd: OwnedFd,
    vnet: bool,
}

fn open_err(name: &str, op: &'static str, e: Errno) -> Error {
    Error::Io {
        op,
        name: name.to_owned(),
        source: e,
    }
}

impl TapFd {
    /// Opens (creating if missing) TAP device `name`.
    pub(crate) fn open(name: &str, want_vnet: bool) -> Result<Self> {
        let fd = nix::fcntl::open(
            "/dev/net/tun",
            OFlag::O_RDWR | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| open_err(name, "open /dev/net/tun", e))?;
        let base = libc::IFF_TAP | libc::IFF_NO_PI;
        let mut vnet = false;
        if want_vnet && sys::tun_set_iff(fd.as_fd(), name, base | libc::IFF_VNET_HDR).is_ok() {
            vnet = sys::tun_set_vnet_hdr_sz(fd.as_fd(), VNET_HDR_LEN).is_ok();
            if vnet
                && sys::tun_set_offload(fd.as_fd(), OFFLOADS_ALL).is_err()
                && sys::tun_set_offload(fd.as_fd(), OFFLOADS_TSO).is_err()
            {
                // The kernel will send plain frames; we still may write offloaded ones.
                tracing::info!("{name}: TAP device takes no receive offloads");
            }
        } else {
            sys::tun_set_iff(fd.as_fd(), name, base)
                .map_err(|e| open_err(name, "create TAP device (TUNSETIFF)", e))?;
        }
        Ok(TapFd { fd, vnet })
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

    /// Writes the frames of `batch` (see `Netdev::send`).
    pub(crate) fn send(&self, state: &DevState, batch: &mut PacketBatch) -> Result<()> {
        let mut first_err: Option<Error> = None;
        let dropped = finish_offloads(batch, self.caps(), &mut |b| {
            for (i, p) in b.iter().enumerate() {
                if matches!(first_err, Some(Error::WouldBlock { .. })) {
                    state
                        .tx_dropped
                        .fetch_add((b.len() - i) as u64, Ordering::Relaxed);
                    break;
                }
                let hdr = p.offload.to_vnet().to_bytes();
                let h: &[u8] = if self.vnet { &hdr } else { &[] };
                let r = loop {
                    match nix::sys::uio::writev(
                        &self.fd,
                        &[IoSlice::new(h), IoSlice::new(p.data())],
                    ) {
                        Err(Errno::EINTR) => {}
                        r => break r,
                    }
                };
                match r {
                    Ok(_) => {}
                    // The device is down: as OVS, a silent drop.
                    Err(Errno::EIO) => {
                        state.tx_dropped.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => {
                        state.tx_dropped.fetch_add(1, Ordering::Relaxed);
                        let err = match e {
                            Errno::EAGAIN | Errno::ENOBUFS => Error::WouldBlock {
                                op: "send",
                                name: state.name().to_owned(),
                            },
                            Errno::EBADFD => Error::NoSuchDevice {
                                name: state.name().to_owned(),
                            },
                            e => Error::io("send", state.name(), e),
                        };
                        first_err.get_or_insert(err);
                    }
                }
            }
            b.clear();
        });
        if dropped > 0 {
            state
                .tx_dropped
                .fetch_add(dropped as u64, Ordering::Relaxed);
        }
        first_err.map_or(Ok(()), Err)
    }
}

/// The receive queue of a TAP device: reads on the tun descriptor.
pub(crate) struct TapRxq {
    qid: usize,
    tap: Arc<TapFd>,
    slots: RxSlots,
    state: Arc<DevState>,
}

impl TapRxq {
    pub(crate) fn new(qid: usize, tap: Arc<TapFd>, state: Arc<DevState>) -> Self {
        TapRxq {
            qid,
            tap,
            slots: RxSlots::new(),
            state,
        }
    }
}

impl Rxq for TapRxq {
    fn queue_id(&self) -> usize {
        self.qid
    }

    fn recv(&mut self, batch: &mut PacketBatch) -> Result<usize> {
        let room = batch.room().min(BURST);
        let vnet = self.tap.vnet;
        let mut info = [RxInfo::default(); BURST];
        let mut n = 0;
        let mut err = None;
        for parts in self.slots.parts(vnet, room) {
            let [h, s, t] = parts;
            let cap = h.len() + s.len() + t.len();
            let mut iov = [IoSliceMut::new(h), IoSliceMut::new(s), IoSliceMut::new(t)];
            match nix::sys::uio::readv(&self.tap.fd, &mut iov) {
                Ok(len) => {
                    // A read fills at most the buffers; a frame that filled them all may
                    // have been cut (tun truncates silently).
                    info[n] = RxInfo {
                        len,
                        trunc: len >= cap,
                        vlan: None,
                    };
                    n += 1;
                }
                Err(Errno::EAGAIN | Errno::EINTR) => break,
                Err(e) => {
                    err = Some(e);
                    break;
                }
            }
        }
        let got = deliver(&mut self.slots, &info[..n], vnet, &self.state, batch);
        match err {
            Some(e) if got == 0 => Err(match e {
                Errno::EBADFD | Errno::ENODEV | Errno::ENXIO => Error::NoSuchDevice {
                    name: self.state.name().to_owned(),
                },
                e => Error::io("receive", self.state.name(), e),
            }),
            _ => Ok(got),
        }
    }

    fn fd(&self) -> Option<RawFd> {
        use std::os::fd::AsRawFd;
        Some(self.tap.fd.as_raw_fd())
    }
}
