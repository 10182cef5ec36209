//! netdev-linux: the `system`, `tap` and `internal` device classes.
//!
//! # Overview
//!
//! * `system`: an existing kernel interface. Frames are received on an `AF_PACKET` raw
//!   socket bound to the interface (inbound frames only, `PACKET_IGNORE_OUTGOING`, or a
//!   classic BPF filter on older kernels), 32 per `recvmmsg`, and sent 32 per `sendmmsg` on
//!   an unbound `AF_PACKET` socket addressed to the interface's index. VLAN tags the kernel
//!   took off are put back from `PACKET_AUXDATA`.
//! * `tap`: a `/dev/net/tun` TAP device (`IFF_TAP | IFF_NO_PI`), created if missing and gone
//!   when the device is closed; frames are read and written on the tun descriptor.
//! * `internal`: a kernel device that the kernel datapath creates when the port is added
//!   (vport type `INTERNAL`). Opening one creates nothing and does not need the device to
//!   exist yet: every operation fails with [`Error::NoSuchDevice`] until it appears, then
//!   it behaves as a `system` device. The userspace datapath never opens this class: its
//!   `DpifClass::port_open_type` maps `internal` to `tap`, so there a bridge's own port is
//!   a TAP device named after the port, as in OVS.
//!
//! # Offloads
//!
//! With the vnet header on ([`LinuxConfig::vnet_hdr`], the default) every frame crosses the
//! kernel boundary with a `struct virtio_net_hdr` (`PACKET_VNET_HDR`, `IFF_VNET_HDR`):
//! received frames keep their partial checksums and arrive as GSO super-frames of up to
//! 64 KiB ([`crate::Offload`]), and sent frames hand the same state back to the kernel, so
//! TCP crosses the switch unsplit with the hosts' default offloads on. Where the vnet header
//! is off (by configuration, or because the kernel refused it) the devices take no
//! offloads and [`crate::finish_offloads`] does the work in software before sending.
//!
//! # Link state
//!
//! The three classes share one rtnetlink socket subscribed to `RTNLGRP_LINK`.
//! [`NetdevClass::run`] reads its notifications and updates the cached state (carrier, MTU,
//! MAC, flags, whether the device still exists) of every open device, bumping its
//! [`Netdev::change_seq`]; [`NetdevClass::wait`] registers the socket in the
//! [`PollSet`]. Nothing polls the kernel in a loop. If notifications were lost (`ENOBUFS`)
//! every open device is read again. Statistics, link features and driver information are
//! read from the kernel when asked for.
//!
//! # Thread-safety and lock order
//!
//! Devices are `Send + Sync`; an [`Rxq`](crate::Rxq) belongs to one thread. Sending takes no lock
//! (`sendmmsg` and `writev` are thread-safe on one descriptor). Locks, in the order they
//! may be taken: the class's monitor, the class's list of open devices, one device's
//! cache. The request socket's lock is never held together with another lock.

mod device;
mod ethtool;
mod packet_socket;
mod ring;
mod rtnl;
mod sys;
mod tap;

use std::os::fd::RawFd;
use std::sync::{Arc, Weak};

use parking_lot::Mutex;

use crate::error::{Error, Result};
use crate::poll::{Interest, PollSet};
use crate::provider::{Netdev, NetdevClass};

use device::DevState;
pub use device::LinuxNetdev;
use rtnl::{LinkEvent, LinkMonitor, NlError, Rtnl};

/// How the Linux classes move frames; [`classes_with`] takes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LinuxConfig {
    /// Exchange a `virtio_net_hdr` with the kernel on every frame, so offload state
    /// (partial checksums, GSO super-frames) passes through. On by default; when off, or
    /// when the kernel refuses it, devices take no offloads and frames are finished in
    /// software before they are sent.
    pub vnet_hdr: bool,
    /// Receive `system` and `internal` frames through a memory-mapped `TPACKET_V3` ring
    /// instead of `recvmmsg`.
    pub rx_ring: bool,
}

impl Default for LinuxConfig {
    fn default() -> Self {
        LinuxConfig {
            vnet_hdr: true,
            rx_ring: false,
        }
    }
}

/// The kind of a Linux device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// An existing interface.
    System,
    /// A TAP device on `/dev/net/tun`.
    Tap,
    /// A device the kernel datapath creates.
    Internal,
}

impl Kind {
    fn type_name(self) -> &'static str {
        match self {
            Kind::System => "system",
            Kind::Tap => "tap",
            Kind::Internal => "internal",
        }
    }
}

/// What the three classes share: configuration, the link monitor, the request socket and
/// the open devices' caches.
pub(crate) struct Shared {
    cfg: LinuxConfig,
    monitor: Mutex<Option<LinkMonitor>>,
    devices: Mutex<Vec<Weak<DevState>>>,
    rtnl: Mutex<Option<Rtnl>>,
}

impl Shared {
    fn new(cfg: LinuxConfig) -> Self {
        Shared {
            cfg,
            monitor: Mutex::new(None),
            devices: Mutex::new(Vec::new()),
            rtnl: Mutex::new(None),
        }
    }

    /// Runs `f` on the request socket, opening it first if needed (in the calling thread's
    /// network namespace).
    pub(crate) fn rtnl<T>(
        &self,
        f: impl FnOnce(&mut Rtnl) -> std::result::Result<T, NlError>,
    ) -> std::result::Result<T, NlError> {
        let mut guard = self.rtnl.lock();
        let sock = match guard.as_mut() {
            Some(s) => s,
            None => guard.insert(Rtnl::new()?),
        };
        f(sock)
    }

    /// Opens the link monitor if it is not open yet, and adds `dev` to the devices whose
    /// cache it keeps.
    fn track(&self, name: &str, dev: &Arc<DevState>) -> Result<()> {
        {
            let mut mon = self.monitor.lock();
            if mon.is_none() {
                let m = LinkMonitor::new().map_err(|e| Error::Netlink {
                    op: "open rtnetlink monitor",
                    name: name.to_owned(),
                    msg: e.msg,
                    errno: e.errno,
                })?;
                *mon = Some(m);
            }
        }
        let mut devs = self.devices.lock();
        devs.retain(|w| w.strong_count() > 0);
        devs.push(Arc::downgrade(dev));
        Ok(())
    }

    fn monitor_fd(&self) -> Option<RawFd> {
        self.monitor.lock().as_ref().map(LinkMonitor::fd)
    }

    /// Reads the link notifications and updates the open devices' caches.
    fn run(&self) {
        let overrun = {
            let mut mon = self.monitor.lock();
            let Some(m) = mon.as_mut() else { return };
            let devs = self.devices.lock();
            let r = m.poll(|ev| {
                for d in devs.iter().filter_map(Weak::upgrade) {
                    match &ev {
                        LinkEvent::New(info) => d.on_new_link(info),
                        LinkEvent::Del(info) => d.on_del_link(info),
                    }
                }
            });
            match r {
                Ok(rtnl::Poll::Empty) => false,
                Ok(rtnl::Poll::Overrun) => true,
                Err(e) => {
                    tracing::warn!("netdev-linux: reading link notifications: {e}");
                    false
                }
            }
        };
        if overrun {
            tracing::info!("netdev-linux: link notifications lost, re-reading every device");
            let devs: Vec<Arc<DevState>> = self
                .devices
                .lock()
                .iter()
                .filter_map(Weak::upgrade)
                .collect();
            for d in devs {
                if let Err(e) = d.refresh(self) {
                    tracing::warn!("netdev-linux: re-reading {}: {e}", d.name());
                }
            }
        }
    }
}

/// One of the Linux classes.
pub struct LinuxClass {
    kind: Kind,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for LinuxClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinuxClass")
            .field("type", &self.kind.type_name())
            .field("cfg", &self.shared.cfg)
            .finish()
    }
}

impl NetdevClass for LinuxClass {
    fn type_name(&self) -> &'static str {
        self.kind.type_name()
    }

    fn open(&self, name: &str) -> Result<Arc<dyn Netdev>> {
        Ok(Arc::new(LinuxNetdev::open(
            self.kind,
            name,
            self.shared.clone(),
        )?))
    }

    fn run(&self) {
        self.shared.run();
    }

    fn wait(&self, poll: &mut PollSet) {
        if let Some(fd) = self.shared.monitor_fd() {
            poll.fd_wait(fd, Interest::Read);
        }
    }
}

/// The Linux classes, `system`, `tap` and `internal`, with the default [`LinuxConfig`],
/// sharing one link monitor.
pub fn classes() -> Vec<Arc<dyn NetdevClass>> {
    classes_with(LinuxConfig::default())
}

/// The Linux classes with configuration `cfg`.
pub fn classes_with(cfg: LinuxConfig) -> Vec<Arc<dyn NetdevClass>> {
    let shared = Arc::new(Shared::new(cfg));
    [Kind::System, Kind::Tap, Kind::Internal]
        .into_iter()
        .map(|kind| {
            Arc::new(LinuxClass {
                kind,
                shared: shared.clone(),
            }) as Arc<dyn NetdevClass>
        })
        .collect()
}
