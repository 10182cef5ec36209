//! Datapaths for a virtual switch built with the architecture of Open vSwitch.
//!
//! # Overview
//!
//! A *datapath* forwards packets between ports by a table of *megaflows*: a flow key with a
//! mask (which bits must match) and a list of actions. Packets that match no flow go up to
//! the switch (an *upcall*), which decides what to do and usually installs a flow so that
//! the next packets stay in the datapath.
//!
//! * [`odp`]: the datapath flow model: [`odp::FlowKey`] (also the mask), [`odp::Action`],
//!   their netlink encoding and the text form of `ovs-dpctl dump-flows`, and
//!   flow extraction from packet bytes to key.
//! * [`DpifClass`] and [`Dpif`]: the provider traits (OVS's `lib/dpif-provider.h`).
//! * [`userspace`]: dpif-netdev, the userspace datapath (type `netdev`).
//! * [`kernel`]: dpif-netlink, the Linux kernel datapath `openvswitch.ko` (type `system`).
//!
//! # Ports
//!
//! Each port is a [`::netdev::Netdev`] with a datapath port number ([`OdpPort`]); port 0 is the
//! datapath's local port.
//!
//! # Flow Table
//!
//! Flows are put, got and deleted in batches through [`Dpif::operate`], identified by a
//! [`Ufid`], and dumped with [`Dpif::flow_dump`].
//!
//! # Upcalls
//!
//! A datapath delivers misses either to a callback the upper layer registers
//! ([`Dpif::register_upcall_cb`], the userspace datapath's way) or through
//! [`Dpif::recv`] (the kernel datapath's way).

#[cfg(not(target_os = "linux"))]
compile_error!("the dpif crate supports Linux only");

mod error;
pub mod kernel;
pub mod odp;
mod provider;
mod registry;
pub mod userspace;

pub use error::{Error, Result};
pub use odp::{OdpPort, Ufid};
pub use provider::*;
pub use registry::DpifRegistry;
