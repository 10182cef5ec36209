//! The provider traits: [`DpifClass`] and [`Dpif`] (OVS's `lib/dpif-provider.h`), and the
//! types their operations exchange.
//!
//! # Thread-safety
//!
//! A [`Dpif`] is shared as `Arc<dyn Dpif>` between the main thread, handler threads and
//! revalidator threads; every method takes `&self` and may be called concurrently. Every
//! operation is synchronous (OVS: never `EAGAIN`), except [`Dpif::recv`], which never blocks.

use std::sync::Arc;

use bitflags::bitflags;
use netdev::poll::PollSet;
use netdev::{Netdev, Options, Packet};

use crate::error::{Error, Result};
use crate::odp::{Action, FlowKey, OdpPort, Ufid};

/// A type of datapath: `netdev` (userspace) or `system` (the kernel module).
pub trait DpifClass: Send + Sync {
    /// The type name, as in `Bridge.datapath_type`.
    fn type_name(&self) -> &'static str;

    /// The names of the datapaths of this type that exist.
    ///
    /// # Errors
    ///
    /// Errors of asking the kernel, for the kernel datapath.
    fn enumerate(&self) -> Result<Vec<String>>;

    /// Opens datapath `name`, creating it first if `create` is true and it does not exist.
    ///
    /// Opening the same name twice gives handles to the same datapath.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] if it does not exist and `create` is false; any error of creating
    /// it.
    fn open(&self, name: &str, create: bool) -> Result<Arc<dyn Dpif>>;

    /// The netdev type to open for a port of interface type `port_type` in this datapath:
    /// the userspace datapath makes an `internal` port a `tap` device; the kernel datapath
    /// keeps types as they are.
    fn port_open_type(&self, port_type: &str) -> String {
        port_type.to_owned()
    }

    /// Whether the datapath's ports must be destroyed when the switch that made them is
    /// (true for the userspace datapath, whose ports live in this process).
    fn cleanup_required(&self) -> bool {
        false
    }
}

/// A port of a datapath.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DpifPort {
    /// The device name.
    pub name: String,
    /// The netdev type.
    pub type_name: String,
    /// The datapath port number.
    pub port_no: OdpPort,
}

/// What [`Dpif::port_poll`] reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PortChange {
    /// The port of this name was added, deleted or changed.
    Changed(String),
    /// Something changed but the datapath lost track of what (OVS: `ENOBUFS`): rescan all
    /// ports.
    Unknown,
}

/// Datapath statistics (OVS's `struct dpif_dp_stats`), as `dpif/show` prints them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DpStats {
    /// Packets that matched a flow.
    pub n_hit: u64,
    /// Packets that matched no flow and went up.
    pub n_missed: u64,
    /// Packets that matched no flow and were dropped because the upcall queue was full.
    pub n_lost: u64,
    /// Flows in the table.
    pub n_flows: u64,
    /// Packets that hit the exact-match (or megaflow mask) cache, if kept.
    pub n_cache_hit: Option<u64>,
    /// Subtables (masks) visited by all hits, if kept: `n_mask_hit / n_hit` is the average
    /// number of masks a packet is looked up in.
    pub n_mask_hit: Option<u64>,
    /// Distinct masks in the table, if kept.
    pub n_masks: Option<u64>,
}

bitflags! {
    /// Flags of a flow put (OVS's `enum dpif_flow_put_flags`).
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
    pub struct PutFlags: u32 {
        /// Create the flow if it does not exist.
        const CREATE = 1;
        /// Modify the flow if it exists.
        const MODIFY = 2;
        /// Zero the flow's counters on modify.
        const ZERO_STATS = 4;
        /// Probe: expected to fail; do not log failures.
        const PROBE = 8;
    }
}

/// Counters of one datapath flow.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FlowStats {
    /// Packets that matched.
    pub n_packets: u64,
    /// Bytes of those packets.
    pub n_bytes: u64,
    /// When the flow was last used, in milliseconds of `CLOCK_MONOTONIC`
    /// ([`monotonic_ms`]); 0 for never.
    pub used_ms: u64,
    /// OR of the TCP flags of the packets that matched.
    pub tcp_flags: u16,
}

impl FlowStats {
    /// Adds `other`'s counters to these (taking the later `used_ms`).
    pub fn add(&mut self, other: &FlowStats) {
        self.n_packets += other.n_packets;
        self.n_bytes += other.n_bytes;
        self.used_ms = self.used_ms.max(other.used_ms);
        self.tcp_flags |= other.tcp_flags;
    }
}

/// Milliseconds of `CLOCK_MONOTONIC`: the clock of [`FlowStats::used_ms`], the same one the
/// kernel datapath reports.
pub fn monotonic_ms() -> u64 {
    nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC)
        .map(|ts| {
            let secs = u64::try_from(ts.tv_sec()).unwrap_or(0);
            let nanos = u64::try_from(ts.tv_nsec()).unwrap_or(0);
            secs * 1000 + nanos / 1_000_000
        })
        .unwrap_or(0)
}

/// A datapath flow as dumped or got.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DpifFlow {
    /// The flow's UFID.
    pub ufid: Ufid,
    /// The key (absent in terse dumps).
    pub key: Option<FlowKey>,
    /// The mask (absent in terse dumps).
    pub mask: Option<FlowKey>,
    /// The actions (absent in terse dumps).
    pub actions: Option<Vec<Action>>,
    /// The counters.
    pub stats: FlowStats,
    /// Which poll thread holds the flow, for datapaths that keep flows per thread.
    pub pmd_id: Option<u32>,
}

/// Put (create or modify) a flow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlowPut {
    /// Create, modify, or both; zero stats on modify.
    pub flags: PutFlags,
    /// The key.
    pub key: FlowKey,
    /// The mask; `FlowKey::exact_mask()` for an exact-match flow.
    pub mask: FlowKey,
    /// The actions; empty means drop.
    pub actions: Vec<Action>,
    /// The UFID the flow is indexed by.
    pub ufid: Ufid,
}

/// Delete a flow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlowDel {
    /// The UFID of the flow.
    pub ufid: Ufid,
    /// The key, for datapaths that index by key.
    pub key: Option<FlowKey>,
}

/// Get a flow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlowGet {
    /// The UFID of the flow.
    pub ufid: Ufid,
    /// The key, for datapaths that index by key.
    pub key: Option<FlowKey>,
}

/// Execute actions on one packet.
#[derive(Debug)]
pub struct Execute {
    /// The packet; its `md.in_port` and other metadata are the packet's metadata.
    pub packet: Packet,
    /// The actions.
    pub actions: Vec<Action>,
    /// Probe: expected to fail; do not log failures.
    pub probe: bool,
    /// If non-zero, the MTU to fragment to (OVS's `mtu`).
    pub mtu: u16,
}

/// One operation of a [`Dpif::operate`] batch (OVS's `struct dpif_op`).
#[derive(Debug)]
pub enum DpifOp {
    /// `DPIF_OP_FLOW_PUT`.
    Put(FlowPut),
    /// `DPIF_OP_FLOW_DEL`.
    Del(FlowDel),
    /// `DPIF_OP_EXECUTE`.
    Execute(Execute),
    /// `DPIF_OP_FLOW_GET`.
    Get(FlowGet),
}

/// The outcome of one successful [`DpifOp`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OpReply {
    /// A put: the flow's counters before the put, if it existed.
    Put(Option<FlowStats>),
    /// A delete: the deleted flow's counters.
    Del(FlowStats),
    /// An execute.
    Execute,
    /// A get: the flow.
    Get(Box<DpifFlow>),
}

/// The kind of an upcall.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpcallKind {
    /// The packet matched no flow (`DPIF_UC_MISS`).
    Miss,
    /// A `userspace` action sent it (`DPIF_UC_ACTION`).
    Action,
}

/// A packet the datapath sends up to the switch.
#[derive(Debug)]
pub struct Upcall {
    /// Why it came up.
    pub kind: UpcallKind,
    /// The packet.
    pub packet: Packet,
    /// Its flow key, metadata (in_port, recirc_id ...) included.
    pub key: FlowKey,
    /// The key exactly as the kernel sent it (netlink attributes), for the kernel datapath.
    pub raw_key: Option<Vec<u8>>,
    /// The UFID of a flow for this key ([`Ufid::from_key`]).
    pub ufid: Ufid,
    /// The `userspace` action's userdata, for [`UpcallKind::Action`].
    pub userdata: Option<Vec<u8>>,
    /// The poll thread or handler that raised it.
    pub pmd_id: Option<u32>,
}

/// What the switch decides for an upcall (for [`UpcallCallback`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UpcallReply {
    /// Actions to run on this packet.
    pub actions: Vec<Action>,
    /// The megaflow mask to install the flow with.
    pub mask: FlowKey,
    /// Actions to install in the flow, if they differ from `actions` (slow-path flows).
    pub put_actions: Option<Vec<Action>>,
    /// Whether to install a flow at all (false when the flow limit is reached or for
    /// action upcalls; OVS's `ENOSPC`).
    pub install: bool,
}

/// The callback a userspace datapath calls for each upcall (OVS's `upcall_callback`).
///
/// Called from the datapath's handler threads, several at once.
pub trait UpcallCallback: Send + Sync {
    /// Decides what to do with `upcall`'s packet.
    ///
    /// # Errors
    ///
    /// Any error drops the packet and installs nothing; the datapath counts it.
    fn upcall(&self, upcall: &Upcall) -> Result<UpcallReply>;
}

/// One open datapath (OVS's `struct dpif`).
///
/// See the module docs for thread-safety.
pub trait Dpif: Send + Sync {
    /// The datapath's name, e.g. `ovs-netdev`.
    fn name(&self) -> &str;

    /// The datapath's type name.
    fn type_name(&self) -> &'static str;

    /// Destroys the datapath: its ports and flows go; other handles become unusable.
    ///
    /// # Errors
    ///
    /// Errors of deleting it.
    fn destroy(&self) -> Result<()>;

    /// Does periodic work. Returns true if the flows should be revalidated (something
    /// changed beneath them).
    fn run(&self) -> bool {
        false
    }

    /// Registers in `poll` what makes [`Dpif::run`] worth calling.
    fn wait(&self, _poll: &mut PollSet) {}

    /// The datapath's statistics.
    ///
    /// # Errors
    ///
    /// Errors of asking the datapath.
    fn stats(&self) -> Result<DpStats>;

    /// Applies `Open_vSwitch.other_config` knobs the datapath understands (such as the number
    /// of poll threads); unknown keys are ignored.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] for a known key with a bad value; nothing changes then.
    fn set_config(&self, _other_config: &Options) -> Result<()> {
        Ok(())
    }

    /// Adds `netdev` as a port, numbered `port_no` if given (and free), else with the lowest
    /// free number. Returns the number.
    ///
    /// # Errors
    ///
    /// [`Error::Busy`] if `port_no` is taken; [`Error::Exists`] if a port of that name
    /// exists; device errors.
    fn port_add(&self, netdev: Arc<dyn Netdev>, port_no: Option<OdpPort>) -> Result<OdpPort>;

    /// Deletes port `port_no`.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] if there is no such port.
    fn port_del(&self, port_no: OdpPort) -> Result<()>;

    /// Looks up a port by number.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] if there is no such port.
    fn port_query_by_number(&self, port_no: OdpPort) -> Result<DpifPort>;

    /// Looks up a port by name.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] if there is no such port.
    fn port_query_by_name(&self, name: &str) -> Result<DpifPort>;

    /// All ports, sorted by number.
    ///
    /// # Errors
    ///
    /// Errors of asking the datapath.
    fn port_dump(&self) -> Result<Vec<DpifPort>>;

    /// Reports one change to the set of ports, if any happened since the last call.
    ///
    /// # Errors
    ///
    /// Errors of reading notifications.
    fn port_poll(&self) -> Result<Option<PortChange>> {
        Ok(None)
    }

    /// Registers in `poll` what makes [`Dpif::port_poll`] worth calling.
    fn port_poll_wait(&self, _poll: &mut PollSet) {}

    /// Deletes every flow (and drops upcalls queued for them).
    ///
    /// # Errors
    ///
    /// Errors of asking the datapath.
    fn flow_flush(&self) -> Result<()>;

    /// Runs a batch of operations, in order, and returns one result per operation.
    ///
    /// Put: a missing flow without [`PutFlags::CREATE`] is [`Error::NotFound`]; an existing
    /// flow without [`PutFlags::MODIFY`] is [`Error::Exists`]. Del and Get: a missing flow is
    /// [`Error::NotFound`].
    fn operate(&self, ops: Vec<DpifOp>) -> Vec<Result<OpReply>>;

    /// Dumps every flow, full or terse (UFID and counters only), while traffic flows.
    ///
    /// # Errors
    ///
    /// Errors of starting the dump; errors met during the dump come through the iterator.
    fn flow_dump(&self, terse: bool) -> Result<Box<dyn Iterator<Item = Result<DpifFlow>> + '_>>;

    /// Registers the upcall callback of a datapath that calls one (the userspace datapath).
    ///
    /// # Errors
    ///
    /// [`Error::NotSupported`] for datapaths that deliver upcalls through [`Dpif::recv`].
    fn register_upcall_cb(&self, _cb: Arc<dyn UpcallCallback>) -> Result<()> {
        Err(Error::NotSupported {
            op: "register upcall callback",
        })
    }

    /// Starts (or stops) delivering upcalls through [`Dpif::recv`].
    ///
    /// # Errors
    ///
    /// [`Error::NotSupported`] for datapaths that call a callback instead.
    fn recv_set(&self, _enable: bool) -> Result<()> {
        Err(Error::NotSupported { op: "recv_set" })
    }

    /// Sets the number of handler threads that will call [`Dpif::recv`].
    ///
    /// # Errors
    ///
    /// [`Error::NotSupported`] for datapaths that call a callback instead.
    fn handlers_set(&self, _n_handlers: u32) -> Result<()> {
        Err(Error::NotSupported { op: "handlers_set" })
    }

    /// Receives up to `max` upcalls for handler `handler_id` into `out`, and returns how
    /// many. Never blocks: `Ok(0)` when none are waiting.
    ///
    /// # Errors
    ///
    /// [`Error::NotSupported`] for datapaths that call a callback instead.
    fn recv(&self, _handler_id: u32, _out: &mut Vec<Upcall>, _max: usize) -> Result<usize> {
        Err(Error::NotSupported { op: "recv" })
    }

    /// Registers in `poll` what makes [`Dpif::recv`] for `handler_id` worth calling.
    fn recv_wait(&self, _handler_id: u32, _poll: &mut PollSet) {}

    /// Throws away upcalls waiting to be received.
    fn recv_purge(&self) {}

    /// The netlink port id that `userspace` actions for packets from `port_no` should carry.
    fn port_get_pid(&self, _port_no: OdpPort) -> u32 {
        0
    }
}

impl dyn Dpif {
    /// Puts one flow; see [`Dpif::operate`]. Returns the counters from before the put.
    ///
    /// # Errors
    ///
    /// As [`Dpif::operate`] for a put.
    pub fn flow_put(&self, put: FlowPut) -> Result<Option<FlowStats>> {
        match self.operate(vec![DpifOp::Put(put)]).pop() {
            Some(Ok(OpReply::Put(stats))) => Ok(stats),
            Some(Err(e)) => Err(e),
            _ => Err(Error::invalid("flow put", "datapath gave no result")),
        }
    }

    /// Deletes one flow; see [`Dpif::operate`]. Returns its counters.
    ///
    /// # Errors
    ///
    /// As [`Dpif::operate`] for a delete.
    pub fn flow_del(&self, del: FlowDel) -> Result<FlowStats> {
        match self.operate(vec![DpifOp::Del(del)]).pop() {
            Some(Ok(OpReply::Del(stats))) => Ok(stats),
            Some(Err(e)) => Err(e),
            _ => Err(Error::invalid("flow del", "datapath gave no result")),
        }
    }

    /// Gets one flow; see [`Dpif::operate`].
    ///
    /// # Errors
    ///
    /// As [`Dpif::operate`] for a get.
    pub fn flow_get(&self, get: FlowGet) -> Result<DpifFlow> {
        match self.operate(vec![DpifOp::Get(get)]).pop() {
            Some(Ok(OpReply::Get(flow))) => Ok(*flow),
            Some(Err(e)) => Err(e),
            _ => Err(Error::invalid("flow get", "datapath gave no result")),
        }
    }

    /// Executes actions on one packet; see [`Dpif::operate`].
    ///
    /// # Errors
    ///
    /// As [`Dpif::operate`] for an execute.
    pub fn execute(&self, execute: Execute) -> Result<()> {
        match self.operate(vec![DpifOp::Execute(execute)]).pop() {
            Some(Ok(_)) => Ok(()),
            Some(Err(e)) => Err(e),
            None => Err(Error::invalid("execute", "datapath gave no result")),
        }
    }
}

impl std::fmt::Debug for dyn Dpif {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dpif")
            .field("name", &self.name())
            .field("type", &self.type_name())
            .finish()
    }
}
