//! dpif-netlink: the `system` datapath, Linux's `openvswitch.ko`, driven over generic
//! netlink (OVS's `lib/dpif-netlink.c`).
//!
//! # Overview
//!
//! [`DpifNetlinkClass`] (type `system`) resolves the generic netlink families
//! `ovs_datapath`, `ovs_vport`, `ovs_flow` and `ovs_packet` (and the `ovs_vport` multicast
//! group) on first use; [`DpifClass::enumerate`](crate::DpifClass::enumerate) lists the
//! kernel's datapaths and [`DpifClass::open`](crate::DpifClass::open) opens or creates one
//! as a [`DpifNetlink`]. Opening negotiates the datapath's user features the way OVS does:
//! unaligned keys, and per-CPU upcall dispatch where the kernel has it, else per-vport
//! upcall PIDs.
//!
//! # Ports
//!
//! `system` and `tap` devices become `OVS_VPORT_TYPE_NETDEV` vports, `internal` ones
//! `OVS_VPORT_TYPE_INTERNAL` (the kernel makes the device). Port changes come from the
//! `ovs_vport` multicast group through [`Dpif::port_poll`](crate::Dpif::port_poll).
//!
//! # Flow Table
//!
//! [`Dpif::operate`](crate::Dpif::operate) sends its whole batch of flow puts, deletes, gets
//! and executes as batches of netlink messages (up to 64 per `send`) and matches the
//! kernel's acknowledgements by sequence number. Flows are indexed by UFID; deletes and terse
//! dumps ask the kernel to omit keys, masks and actions. A put with [`PutFlags::MODIFY`]
//! asks for the kernel's echo to return the counters from before it; with
//! [`PutFlags::CREATE`] too, a flow it created reports zero counters (the kernel's reply does
//! not say which happened). Keys sent to the kernel leave out `OVS_KEY_ATTR_PACKET_TYPE`,
//! which it does not know.
//!
//! [`PutFlags::MODIFY`]: crate::PutFlags::MODIFY
//! [`PutFlags::CREATE`]: crate::PutFlags::CREATE
//!
//! # Upcalls
//!
//! See [`upcall`](self) internals: one netlink socket per handler, each in its own epoll set.
//! In per-CPU mode the handlers' PIDs go to the kernel in `OVS_DP_ATTR_PER_CPU_PIDS`; in
//! per-vport mode every vport lists every handler's PID and the kernel picks one by flow
//! hash. [`Dpif::port_get_pid`](crate::Dpif::port_get_pid) gives the PID for `userspace`
//! actions (`u32::MAX` in per-CPU mode, where the kernel ignores it but refuses 0).
//!
//! # Thread-safety / lock order
//!
//! See [`DpifNetlink`].

mod codec;
mod dp;
mod msg;
mod nl;
mod upcall;

pub use dp::{DpifNetlink, DpifNetlinkClass, VportInfo, available};
pub use msg::VportStats;

/// Entry points for the fuzz targets in `fuzz/`: not an API.
#[doc(hidden)]
pub mod fuzzing {
    use super::msg::{DpAttr, FlowAttr, PacketAttr, VportAttr};
    use super::nl::{Msg, parse_attrs, parse_datagram};

    /// Parses `buf` as a datagram from the kernel, and every reply in it as each of the
    /// datapath, vport, flow and packet attribute sets, as replies and upcalls are parsed.
    /// Returns how many messages parsed; never panics.
    pub fn parse_datagram_all(buf: &[u8]) -> usize {
        let Ok(msgs) = parse_datagram(buf) else {
            return 0;
        };
        for m in &msgs {
            if let Msg::Reply(r) = m {
                let _ = parse_attrs::<DpAttr>("fuzz", &r.attrs);
                let _ = parse_attrs::<VportAttr>("fuzz", &r.attrs);
                let _ = parse_attrs::<FlowAttr>("fuzz", &r.attrs);
                let _ = parse_attrs::<PacketAttr>("fuzz", &r.attrs);
            }
        }
        msgs.len()
    }
}
