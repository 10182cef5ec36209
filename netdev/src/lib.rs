//! Network devices for a virtual switch built with the architecture of Open vSwitch.
//!
//! # Overview
//!
//! A *netdev* is a network device that the switch can send packets to and receive packets
//! from: a Linux interface reached through an `AF_PACKET` socket (`system`), a TAP device
//! (`tap`), the bridge's own port (`internal`), an in-memory device for tests (`dummy`), or,
//! with the cargo feature `dpdk`, a DPDK port (module `dpdk`, type `dpdk`).
//!
//! The crate follows OVS's class/instance split (`lib/netdev-provider.h`):
//!
//! * [`NetdevClass`] is a device *type*: a name such as `"system"`, `run`/`wait` hooks for
//!   asynchronous events, and [`NetdevClass::open`].
//! * [`Netdev`] is one open device: MAC, MTU, ifindex, carrier, flags, statistics, features,
//!   status, [`Netdev::send`] and receive queues ([`Netdev::rxq_open`]).
//! * [`Rxq`] is one receive queue: [`Rxq::recv`] fills a [`PacketBatch`], and [`Rxq::fd`]
//!   gives a file descriptor to wait on.
//! * [`Registry`] maps type names to classes and shares open devices by name, so opening a
//!   name that is already open returns the same device.
//!
//! Packets travel in [`PacketBatch`]es of up to [`MAX_BURST`] [`Packet`]s. A packet keeps
//! headroom in front of its data so that a VLAN or tunnel header can be pushed without a
//! copy, carries [`PacketMeta`]data and [`Offload`] state (a checksum left partial, a GSO
//! super-frame), and returns its buffer to a per-thread pool when dropped, so a steady
//! stream of packets allocates nothing.
//!
//! # Thread-safety
//!
//! Classes and devices are `Send + Sync`: configuration calls may come from any thread, and
//! several threads may call [`Netdev::send`] at once (with `concurrent_txq`). An [`Rxq`] is
//! owned by exactly one thread at a time.

#[cfg(not(target_os = "linux"))]
compile_error!("the netdev crate supports Linux only");

mod batch;
pub mod csum;
#[cfg(feature = "dpdk")]
pub mod dpdk;
pub mod dummy;
mod error;
mod ethaddr;
pub mod linux;
mod offload;
mod packet;
pub mod poll;
mod provider;
mod registry;

pub use batch::{MAX_BURST, PacketBatch};
pub use error::{Error, Result};
pub use ethaddr::{EthAddr, ParseEthAddrError};
pub use offload::{
    Checksum, Gso, GsoType, Offload, OffloadError, VnetHdr, finish_checksum, finish_offloads,
    needs_software, segment,
};
pub use packet::{
    DEFAULT_HEADROOM, LARGE_DATA, OFS_UNSET, Packet, PacketMeta, PacketType, SMALL_DATA,
};
pub use provider::{
    Features, LinkFeatures, Netdev, NetdevClass, NetdevFlags, NetdevStats, OffloadCaps, Options,
    Rxq, downcast,
};
pub use registry::Registry;
