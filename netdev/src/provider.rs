//! The provider traits: [`NetdevClass`], [`Netdev`] and [`Rxq`].
//!
//! They mirror the function tables of OVS's `lib/netdev-provider.h`. Operations OVS marks
//! "may be null" are default methods returning [`Error::NotSupported`].

use std::any::Any;
use std::collections::BTreeMap;
use std::os::fd::RawFd;
use std::sync::Arc;

use bitflags::bitflags;

use crate::batch::PacketBatch;
use crate::error::{Error, Result};
use crate::ethaddr::EthAddr;
use crate::poll::PollSet;

/// Key-value options, as in OVS's `Interface.options` and `Interface.status` columns.
pub type Options = BTreeMap<String, String>;

bitflags! {
    /// Administrative flags of a device (OVS's `enum netdev_flags`).
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
    pub struct NetdevFlags: u32 {
        /// The device is administratively up (`IFF_UP`).
        const UP = 1;
        /// The device receives every frame (`IFF_PROMISC`).
        const PROMISC = 2;
        /// The device is a loopback device (`IFF_LOOPBACK`).
        const LOOPBACK = 4;
    }
}

bitflags! {
    /// Link features (OVS's `NETDEV_F_*`, the OpenFlow port feature bits).
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
    pub struct LinkFeatures: u32 {
        /// 10 Mb half duplex.
        const F_10MB_HD = 1 << 0;
        /// 10 Mb full duplex.
        const F_10MB_FD = 1 << 1;
        /// 100 Mb half duplex.
        const F_100MB_HD = 1 << 2;
        /// 100 Mb full duplex.
        const F_100MB_FD = 1 << 3;
        /// 1 Gb half duplex.
        const F_1GB_HD = 1 << 4;
        /// 1 Gb full duplex.
        const F_1GB_FD = 1 << 5;
        /// 10 Gb full duplex.
        const F_10GB_FD = 1 << 6;
        /// 40 Gb full duplex.
        const F_40GB_FD = 1 << 7;
        /// 100 Gb full duplex.
        const F_100GB_FD = 1 << 8;
        /// 1 Tb full duplex.
        const F_1TB_FD = 1 << 9;
        /// Another rate, not listed.
        const OTHER = 1 << 10;
        /// Copper medium.
        const COPPER = 1 << 11;
        /// Fiber medium.
        const FIBER = 1 << 12;
        /// Auto-negotiation.
        const AUTONEG = 1 << 13;
        /// Pause.
        const PAUSE = 1 << 14;
        /// Asymmetric pause.
        const PAUSE_ASYM = 1 << 15;
    }
}

/// The link features of a device: current, advertised, supported, and the peer's.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Features {
    /// Features in use now.
    pub current: LinkFeatures,
    /// Features being advertised.
    pub advertised: LinkFeatures,
    /// Features the device supports.
    pub supported: LinkFeatures,
    /// Features the link peer advertises.
    pub peer: LinkFeatures,
    /// Current speed in Mbit/s, 0 if unknown.
    pub speed_mbps: u32,
    /// Highest speed in Mbit/s, 0 if unknown.
    pub max_speed_mbps: u32,
    /// Whether the link is full duplex, if known.
    pub full_duplex: Option<bool>,
}

/// Device counters (OVS's `struct netdev_stats`). A counter the device does not keep is
/// `u64::MAX`, as in OVS.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct NetdevStats {
    pub rx_packets: u64,
    pub tx_packets: u64,
    pub rx_bytes: u64,
    pub tx_bytes: u64,
    pub rx_errors: u64,
    pub tx_errors: u64,
    pub rx_dropped: u64,
    pub tx_dropped: u64,
    pub multicast: u64,
    pub collisions: u64,
    pub rx_length_errors: u64,
    pub rx_over_errors: u64,
    pub rx_crc_errors: u64,
    pub rx_frame_errors: u64,
    pub rx_fifo_errors: u64,
    pub rx_missed_errors: u64,
    pub tx_aborted_errors: u64,
    pub tx_carrier_errors: u64,
    pub tx_fifo_errors: u64,
    pub tx_heartbeat_errors: u64,
    pub tx_window_errors: u64,
}

impl Default for NetdevStats {
    /// Every counter unknown (`u64::MAX`).
    fn default() -> Self {
        NetdevStats {
            rx_packets: u64::MAX,
            tx_packets: u64::MAX,
            rx_bytes: u64::MAX,
            tx_bytes: u64::MAX,
            rx_errors: u64::MAX,
            tx_errors: u64::MAX,
            rx_dropped: u64::MAX,
            tx_dropped: u64::MAX,
            multicast: u64::MAX,
            collisions: u64::MAX,
            rx_length_errors: u64::MAX,
            rx_over_errors: u64::MAX,
            rx_crc_errors: u64::MAX,
            rx_frame_errors: u64::MAX,
            rx_fifo_errors: u64::MAX,
            rx_missed_errors: u64::MAX,
            tx_aborted_errors: u64::MAX,
            tx_carrier_errors: u64::MAX,
            tx_fifo_errors: u64::MAX,
            tx_heartbeat_errors: u64::MAX,
            tx_window_errors: u64::MAX,
        }
    }
}

impl NetdevStats {
    /// All counters zero.
    pub fn zero() -> Self {
        NetdevStats {
            rx_packets: 0,
            tx_packets: 0,
            rx_bytes: 0,
            tx_bytes: 0,
            rx_errors: 0,
            tx_errors: 0,
            rx_dropped: 0,
            tx_dropped: 0,
            multicast: 0,
            collisions: 0,
            rx_length_errors: 0,
            rx_over_errors: 0,
            rx_crc_errors: 0,
            rx_frame_errors: 0,
            rx_fifo_errors: 0,
            rx_missed_errors: 0,
            tx_aborted_errors: 0,
            tx_carrier_errors: 0,
            tx_fifo_errors: 0,
            tx_heartbeat_errors: 0,
            tx_window_errors: 0,
        }
    }
}

bitflags! {
    /// What a device can take on transmit without the sender finishing it in software.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
    pub struct OffloadCaps: u32 {
        /// Packets whose L4 checksum is partial ([`crate::Checksum::Partial`]).
        const TX_CSUM = 1;
        /// TCP GSO super-frames (IPv4 and IPv6).
        const TX_TSO = 2;
        /// UDP GSO super-frames.
        const TX_USO = 4;
    }
}

/// A type of network device, such as `system`, `tap`, `internal` or `dummy`
/// (OVS's `struct netdev_class`).
///
/// A class is registered once in a [`crate::Registry`] under [`NetdevClass::type_name`].
pub trait NetdevClass: Send + Sync {
    /// The type name: the value of `Interface.type` that selects this class.
    fn type_name(&self) -> &'static str;

    /// Whether devices of this class want busy-polling poll threads (DPDK-style) rather than
    /// waiting on a file descriptor.
    fn is_pmd(&self) -> bool {
        false
    }

    /// Applies the switch-wide settings of the `Open_vSwitch` table's `other_config` that
    /// concern this class (for `dpdk`: `dpdk-init`, `dpdk-extra`). Called from the main
    /// thread on every change of the map, before interfaces are added. The default ignores
    /// the map.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] saying why the class cannot work with these settings; the
    /// class's devices then fail to open or configure with that reason, and the other
    /// classes work on.
    fn set_global_config(&self, _other_config: &Options) -> Result<()> {
        Ok(())
    }

    /// Opens the device `name`.
    ///
    /// Registries call this only for names that are not open yet; a class need not share
    /// devices itself.
    ///
    /// # Errors
    ///
    /// [`Error::NoSuchDevice`] when the device must exist and does not; any error of the
    /// system calls that open it.
    fn open(&self, name: &str) -> Result<Arc<dyn Netdev>>;

    /// Does periodic work for the whole class, such as reading link notifications and
    /// updating the cached state of open devices. Called from the main loop; never blocks.
    fn run(&self) {}

    /// Registers in `poll` what makes [`NetdevClass::run`] worth calling again.
    fn wait(&self, _poll: &mut PollSet) {}
}

/// One open network device (OVS's `struct netdev`).
///
/// # Thread-safety
///
/// Every method takes `&self` and may be called from any thread. [`Netdev::send`] may be
/// called by several threads at once on different queues, or on the same queue when
/// `concurrent_txq` is true.
///
/// `Netdev: Any`, so a builder who knows a device's concrete type can get it back with
/// [`downcast`].
pub trait Netdev: Any + Send + Sync {
    /// The device name.
    fn name(&self) -> &str;

    /// The type name of the device's class.
    fn type_name(&self) -> &'static str;

    /// Applies `Interface.options`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfig`] naming the option that is wrong; the device keeps its
    /// previous configuration. The default refuses any option.
    fn set_config(&self, options: &Options) -> Result<()> {
        match options.keys().next() {
            None => Ok(()),
            Some(key) => Err(Error::InvalidConfig {
                name: self.name().to_owned(),
                msg: format!(
                    "{} interface does not support option \"{key}\"",
                    self.type_name()
                ),
            }),
        }
    }

    /// The options in effect, as [`Netdev::set_config`] took them.
    fn get_config(&self) -> Options {
        Options::new()
    }

    /// The device's Ethernet address.
    ///
    /// # Errors
    ///
    /// [`Error::NoSuchDevice`] if the device has gone.
    fn etheraddr(&self) -> Result<EthAddr>;

    /// Sets the device's Ethernet address.
    ///
    /// # Errors
    ///
    /// The kernel's refusal, e.g. `EADDRNOTAVAIL` for a multicast address.
    fn set_etheraddr(&self, mac: EthAddr) -> Result<()>;

    /// The MTU in bytes (the L3 payload size).
    ///
    /// # Errors
    ///
    /// [`Error::NotSupported`] if the device has no MTU.
    fn mtu(&self) -> Result<u32> {
        Err(Error::not_supported("get MTU", self.name()))
    }

    /// Sets the MTU.
    ///
    /// # Errors
    ///
    /// [`Error::NotSupported`] if the device has no MTU; the kernel's refusal (e.g.
    /// `EINVAL` for a value out of the device's range), in which case the MTU is unchanged.
    fn set_mtu(&self, _mtu: u32) -> Result<()> {
        Err(Error::not_supported("set MTU", self.name()))
    }

    /// The kernel interface index.
    ///
    /// # Errors
    ///
    /// [`Error::NotSupported`] for a device that is not a kernel interface.
    fn ifindex(&self) -> Result<u32> {
        Err(Error::not_supported("get ifindex", self.name()))
    }

    /// Whether the link is up. The default follows the administrative state, as OVS does
    /// for a class without a carrier operation.
    ///
    /// # Errors
    ///
    /// [`Error::NoSuchDevice`] if the device has gone.
    fn carrier(&self) -> Result<bool> {
        Ok(self.flags()?.contains(NetdevFlags::UP))
    }

    /// How many times the carrier has gone down since the device was opened.
    fn carrier_resets(&self) -> u64 {
        0
    }

    /// The administrative flags.
    ///
    /// # Errors
    ///
    /// [`Error::NoSuchDevice`] if the device has gone.
    fn flags(&self) -> Result<NetdevFlags>;

    /// Turns `off` flags off and then `on` flags on, and returns the flags as they were.
    ///
    /// # Errors
    ///
    /// The kernel's refusal; the flags are unchanged.
    fn update_flags(&self, off: NetdevFlags, on: NetdevFlags) -> Result<NetdevFlags>;

    /// The device counters; a counter the device does not keep is `u64::MAX`.
    ///
    /// # Errors
    ///
    /// [`Error::NotSupported`] if the device keeps no counters.
    fn stats(&self) -> Result<NetdevStats> {
        Err(Error::not_supported("get statistics", self.name()))
    }

    /// Link features and speed.
    ///
    /// # Errors
    ///
    /// [`Error::NotSupported`] if the device cannot tell.
    fn features(&self) -> Result<Features> {
        Err(Error::not_supported("get features", self.name()))
    }

    /// Status for `Interface.status`, such as `driver_name` and `driver_version`.
    ///
    /// # Errors
    ///
    /// [`Error::NoSuchDevice`] if the device has gone.
    fn status(&self) -> Result<Options> {
        Ok(Options::new())
    }

    /// A number that changes whenever the device's flags, carrier, MAC, MTU or features
    /// change (never 0). Upper layers compare it with the value they saw last.
    fn change_seq(&self) -> u64;

    /// How many receive queues the device has (0 if it cannot receive).
    fn n_rxq(&self) -> usize {
        0
    }

    /// How many transmit queues the device has.
    fn n_txq(&self) -> usize {
        1
    }

    /// Opens receive queue `qid` (`0..n_rxq()`).
    ///
    /// # Errors
    ///
    /// [`Error::NotSupported`] if the device cannot receive; system call errors.
    fn rxq_open(&self, qid: usize) -> Result<Box<dyn Rxq>> {
        let _ = qid;
        Err(Error::not_supported("receive", self.name()))
    }

    /// Sends every packet of `batch` on transmit queue `qid` (taken modulo
    /// [`Netdev::n_txq`]). `concurrent_txq` says other threads may send on the same queue
    /// at once, so the device must lock it.
    ///
    /// The batch is consumed even on error: on return it is empty. Packets that could not
    /// be sent are dropped and counted in the device's `tx_dropped`. A packet carrying
    /// offloads the device does not take ([`Netdev::offload_caps`]) is finished in software
    /// first: its checksum filled in, a GSO super-frame cut into segments.
    ///
    /// Never blocks.
    ///
    /// # Errors
    ///
    /// The first error met; [`Error::WouldBlock`] if the device's queue was full.
    fn send(&self, qid: usize, batch: &mut PacketBatch, concurrent_txq: bool) -> Result<()>;

    /// Registers in `poll` what makes [`Netdev::send`] on `qid` worth retrying after
    /// [`Error::WouldBlock`].
    fn send_wait(&self, _qid: usize, poll: &mut PollSet) {
        poll.immediate_wake();
    }

    /// What offloads the device takes on transmit.
    fn offload_caps(&self) -> OffloadCaps {
        OffloadCaps::empty()
    }
}

/// One receive queue of a device (OVS's `struct netdev_rxq`).
///
/// An `Rxq` is owned by one thread; it is `Send` so that it can be handed to that thread.
pub trait Rxq: Send {
    /// The queue number.
    fn queue_id(&self) -> usize;

    /// Receives up to [`crate::MAX_BURST`] packets, appending them to `batch` (which the caller
    /// passes empty), and returns how many arrived. `Ok(0)` means nothing was waiting.
    ///
    /// Packets arrive with [`crate::PacketMeta`] defaults (the caller sets `in_port`) and
    /// the device's offload state. Never blocks.
    ///
    /// # Errors
    ///
    /// [`Error::NoSuchDevice`] if the device has gone; other system call errors.
    fn recv(&mut self, batch: &mut PacketBatch) -> Result<usize>;

    /// A descriptor that is readable while packets are waiting, or `None` for a queue that
    /// must be busy-polled.
    fn fd(&self) -> Option<RawFd>;
}

/// Gets the concrete device behind `dev`, if it is a `T`.
///
/// ```
/// use netdev::{Netdev, Registry, dummy::DummyNetdev, downcast};
/// let reg = Registry::with_default_classes();
/// let dev = reg.open("p1", "dummy").unwrap();
/// let dummy = downcast::<DummyNetdev>(&dev).unwrap();
/// assert_eq!(dummy.name(), "p1");
/// ```
pub fn downcast<T: Netdev>(dev: &Arc<dyn Netdev>) -> Option<Arc<T>> {
    let any: Arc<dyn Any + Send + Sync> = dev.clone();
    any.downcast::<T>().ok()
}

impl std::fmt::Debug for dyn Netdev {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Netdev")
            .field("name", &self.name())
            .field("type", &self.type_name())
            .finish()
    }
}

impl std::fmt::Debug for dyn Rxq {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rxq")
            .field("queue_id", &self.queue_id())
            .finish()
    }
}
