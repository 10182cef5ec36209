//! The provider traits: [`OfprotoClass`] and [`Ofproto`] (OVS's `ofproto/ofproto-provider.h`),
//! and the settings the bridge layer passes through them.
//!
//! An *ofproto* is one OpenFlow switch (one bridge): its ports with OpenFlow port numbers,
//! its OpenFlow tables, its MAC learning table, and whatever it uses to forward packets.
//! `ofproto-dpif` implements it over any [`dpif::Dpif`].
//!
//! # Thread-safety
//!
//! The bridge layer owns each `Box<dyn Ofproto>` and calls it from the main thread only
//! (`&mut self`). An implementation may run threads of its own (upcall handlers,
//! revalidators); [`Ofproto::run`] and [`Ofproto::wait`] are where the main thread picks up
//! their results. Nothing here blocks for long: no method waits on the network.

use std::sync::Arc;

use netdev::poll::PollSet;
use netdev::{EthAddr, Netdev, NetdevStats, Options, Packet};

use crate::actions::Action;
use crate::error::{Error, Result};
use crate::flow::{Flow, OfpPort};
use crate::group::{GroupDesc, GroupMod, GroupStats};
use crate::packet_in::PacketIn;
use crate::rule::{RemovedReason, Rule};
use crate::table::{FlowMod, FlowModResult, RuleQuery};

/// What an ofproto does with packets when no controller tells it otherwise (the bridge's
/// `fail_mode`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum FailMode {
    /// With no controller, a `priority=0 actions=NORMAL` rule makes the bridge a learning
    /// switch (OVS's default).
    #[default]
    Standalone,
    /// With no controller, the tables hold only what was added: no rule, no forwarding.
    Secure,
}

/// How a port treats VLANs (OVS's `Port.vlan_mode`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum VlanMode {
    /// Untagged frames belong to the port's VLAN (`tag`); tagged frames are dropped. Frames
    /// leave untagged.
    Access,
    /// Frames carry their VLAN in a tag; untagged frames belong to VLAN 0.
    #[default]
    Trunk,
    /// Like trunk, but untagged frames belong to the native VLAN (`tag`), and frames of the
    /// native VLAN leave tagged.
    NativeTagged,
    /// Like trunk, but untagged frames belong to the native VLAN (`tag`), and frames of the
    /// native VLAN leave untagged.
    NativeUntagged,
}

/// A *bundle*: what the bridge layer knows about one configured port (OVS's
/// `ofproto_bundle_settings`, one row of the OVSDB `Port` table): its member interfaces and
/// its VLAN configuration, which NORMAL switching obeys.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BundleSettings {
    /// The port's name.
    pub name: String,
    /// The OpenFlow ports of its interfaces (one, until bonds come).
    pub members: Vec<OfpPort>,
    /// How it treats VLANs. When `vlan` is set and the mode was not given, the bridge layer
    /// passes [`VlanMode::Access`], as OVS does.
    pub vlan_mode: VlanMode,
    /// The access VLAN (access mode) or native VLAN (native modes), 0..=4095.
    pub vlan: Option<u16>,
    /// The VLANs a trunk carries; `None` means all of them.
    pub trunks: Option<Vec<u16>>,
}

/// A port of an ofproto.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OfprotoPort {
    /// The device name.
    pub name: String,
    /// The netdev type the device was opened as.
    pub type_name: String,
    /// The OpenFlow port number.
    pub ofp_port: OfpPort,
}

/// One entry of the MAC learning table, as `fdb/show` prints it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FdbEntry {
    /// The OpenFlow port the MAC was learned on.
    pub port: OfpPort,
    /// The VLAN.
    pub vlan: u16,
    /// The address.
    pub mac: EthAddr,
    /// Seconds since the entry was last refreshed; `None` for a static entry.
    pub age_s: Option<u64>,
}

/// MAC learning settings (`Bridge.other_config:mac-aging-time` and `mac-table-size`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MacTableConfig {
    /// Seconds an entry lives without being refreshed (OVS: 300, clamped to 15..=3600).
    pub idle_time_s: u32,
    /// Most entries; the oldest goes first when full (OVS: 8192, clamped to 10..=1,000,000).
    pub max_entries: usize,
}

impl Default for MacTableConfig {
    fn default() -> Self {
        MacTableConfig {
            idle_time_s: 300,
            max_entries: 8192,
        }
    }
}

/// A type of OpenFlow switch implementation (OVS's `struct ofproto_class`), shared by all
/// the bridges it runs.
pub trait OfprotoClass: Send + Sync {
    /// The datapath types this class can run bridges on, e.g. `["netdev", "system"]`.
    fn enumerate_types(&self) -> Vec<String>;

    /// The netdev type to open for an interface of type `port_type` on a bridge of datapath
    /// type `dp_type` (e.g. `internal` becomes `tap` on the userspace datapath).
    fn port_open_type(&self, dp_type: &str, port_type: &str) -> String;

    /// Applies the switch-wide knobs of `Open_vSwitch.other_config` (`flow-limit`,
    /// `max-idle`, `max-revalidator`, `n-handler-threads`, `n-revalidator-threads`, the
    /// datapath's own such as `pmd-cpu-mask`); unknown keys are ignored.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] naming a known key with a bad value; nothing changes then.
    fn set_global_config(&self, other_config: &Options) -> Result<()>;

    /// Makes the ofproto of bridge `name` on datapath type `dp_type` (OVS's `construct`).
    ///
    /// # Errors
    ///
    /// Errors of opening or creating the datapath.
    fn construct(&self, name: &str, dp_type: &str) -> Result<Box<dyn Ofproto>>;

    /// Does periodic per-datapath-type work (OVS's `type_run`). Called once per main-loop
    /// iteration, before the ofprotos' [`Ofproto::run`].
    fn type_run(&self) {}

    /// Registers in `poll` what makes [`OfprotoClass::type_run`] worth calling.
    fn type_wait(&self, _poll: &mut PollSet) {}

    /// Text for `dpif/show`: every datapath with its statistics and, under it, every bridge
    /// and port.
    fn dpif_show(&self) -> String {
        String::new()
    }

    /// Text for `dpctl/dump-flows [-m] [dp]`.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] for an unknown datapath name.
    fn dump_dp_flows(&self, _dp_name: Option<&str>, _verbose: bool) -> Result<String> {
        Err(Error::NotSupported {
            op: "dpctl/dump-flows",
        })
    }

    /// Text for `dpif/dump-flows [-m] BRIDGE`: the datapath flows whose input port belongs
    /// to bridge `bridge`, one per line as `dpctl/dump-flows` prints them.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] for an unknown bridge.
    fn dump_bridge_flows(&self, _bridge: &str, _verbose: bool) -> Result<String> {
        Err(Error::NotSupported {
            op: "dpif/dump-flows",
        })
    }

    /// Text for `dpctl/show [dp]`.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] for an unknown datapath name.
    fn dp_show(&self, _dp_name: Option<&str>, _with_stats: bool) -> Result<String> {
        Err(Error::NotSupported { op: "dpctl/show" })
    }

    /// Text for `upcall/show`.
    fn upcall_show(&self) -> String {
        String::new()
    }

    /// `key:value` pairs for `memory/show`.
    fn memory_usage(&self) -> Vec<(String, u64)> {
        Vec::new()
    }

    /// Waits until every flow change made so far has been revalidated (`revalidator/wait`),
    /// at most `timeout`.
    fn revalidator_wait(&self, _timeout: std::time::Duration) {}
}

/// One OpenFlow switch (OVS's `struct ofproto`). See the module docs for thread-safety.
pub trait Ofproto: Send {
    /// The bridge name.
    fn name(&self) -> &str;

    /// The datapath type.
    fn dp_type(&self) -> &str;

    /// Does periodic work: ages MAC entries, expires rules by their timeouts, picks up
    /// port changes, drives revalidation. `now_ms` is the caller's monotonic clock.
    ///
    /// # Errors
    ///
    /// Errors that the bridge should log; the ofproto keeps running.
    fn run(&mut self, now_ms: u64) -> Result<()>;

    /// Registers in `poll` what makes [`Ofproto::run`] worth calling (timers, fds).
    fn wait(&mut self, poll: &mut PollSet);

    /// Destroys the ofproto. With `delete_dp`, also deletes what it created in the datapath
    /// (its ports, and the datapath if no other bridge uses it), as `exit --cleanup` does;
    /// without, kernel datapath ports stay so a restart finds them.
    fn destruct(self: Box<Self>, delete_dp: bool);

    /// Sets the datapath id (OpenFlow `datapath_id`) and the MAC of the local port.
    fn set_datapath_id(&mut self, _dpid: u64) {}

    /// The datapath id.
    fn datapath_id(&self) -> u64 {
        0
    }

    /// Sets the fail mode (see [`FailMode`]); in standalone mode with no controller, the
    /// ofproto keeps a `priority=0 actions=NORMAL` rule in table 0.
    fn set_fail_mode(&mut self, mode: FailMode);

    /// Sets the MAC learning table's aging time and size.
    fn set_mac_table_config(&mut self, config: MacTableConfig);

    /// Adds `netdev` as a port, numbered `ofp_port` if given and free, else with a free
    /// number (1..=32767, preferring numbers never used). Returns the number.
    ///
    /// # Errors
    ///
    /// [`Error::PortExists`] if a port has that name; datapath or device errors (the port
    /// is not added then).
    fn port_add(&mut self, netdev: Arc<dyn Netdev>, ofp_port: Option<OfpPort>) -> Result<OfpPort>;

    /// Deletes port `ofp_port`.
    ///
    /// # Errors
    ///
    /// [`Error::NoSuchPort`].
    fn port_del(&mut self, ofp_port: OfpPort) -> Result<()>;

    /// Looks a port up by name.
    ///
    /// # Errors
    ///
    /// [`Error::NoSuchPort`].
    fn port_query_by_name(&self, name: &str) -> Result<OfprotoPort>;

    /// Every port, sorted by number (the local port included).
    fn port_dump(&self) -> Vec<OfprotoPort>;

    /// Counters of a port.
    ///
    /// # Errors
    ///
    /// [`Error::NoSuchPort`]; device errors.
    fn port_stats(&self, ofp_port: OfpPort) -> Result<NetdevStats>;

    /// Names of ports that vanished underneath the ofproto since the last call (deleted
    /// from the datapath by someone else, or whose device went away), so the bridge can
    /// report them and try to add them back.
    fn port_poll(&mut self) -> Vec<String> {
        Vec::new()
    }

    /// Creates, changes (`Some`) or removes (`None`) the bundle named `name`.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] for settings that make no sense (a VLAN out of range, a member
    /// that is not a port).
    fn bundle_set(&mut self, name: &str, settings: Option<BundleSettings>) -> Result<()>;

    /// Applies a flow-mod from OpenFlow ([`crate::Origin::OpenFlow`]) or from the switch
    /// itself, with OpenFlow semantics. [`Ofproto::rules`] sees the change at once;
    /// forwarding may see it only after [`Ofproto::publish_flow_mods`] or the next
    /// [`Ofproto::run`] (an implementation may stage a batch of flow-mods and publish them
    /// together), and flows in the datapath follow within one revalidation round after
    /// that.
    ///
    /// # Errors
    ///
    /// The flow-mod's error (overlap, bad table, bad actions); nothing changes then.
    fn flow_mod(&mut self, fm: &FlowMod) -> Result<FlowModResult>;

    /// Makes every flow-mod applied so far take effect in forwarding. The connection
    /// manager calls it after each batch of OpenFlow messages and before it answers a
    /// barrier; anyone else applying flow-mods calls it when the batch is done.
    fn publish_flow_mods(&mut self) {}

    /// The rules a query selects, for `dump-flows`-like output.
    fn rules(&self, query: &RuleQuery) -> Vec<Arc<Rule>>;

    /// Every rule, the hidden ones (table 254) included if asked (`bridge/dump-flows`).
    fn all_rules(&self, include_hidden: bool) -> Vec<Arc<Rule>>;

    /// Runs `actions` on `packet` as if it had arrived on `in_port` (OpenFlow packet-out).
    ///
    /// # Errors
    ///
    /// Bad actions or an unknown port.
    fn packet_out(&mut self, packet: Packet, in_port: OfpPort, actions: &[Action]) -> Result<()>;

    /// The MAC learning table (`fdb/show`).
    fn fdb(&self) -> Vec<FdbEntry>;

    /// Empties the MAC learning table (`fdb/flush`).
    fn fdb_flush(&mut self);

    /// Traces `flow` (and `packet`, if given) through the tables, in the text format of
    /// OVS's `ofproto/trace`.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] for a flow that cannot be traced (an unknown in_port).
    fn trace(&self, flow: &Flow, packet: Option<&Packet>) -> Result<String>;

    /// Applies a group-mod with OpenFlow semantics. Deleting a group also deletes the rules
    /// that send to it; they come out of [`Ofproto::take_flow_removed`] with
    /// [`RemovedReason::GroupDelete`]. Datapath flows follow within one revalidation round.
    ///
    /// # Errors
    ///
    /// [`Error::Group`] carrying the `OFPGMFC_*` (or `OFPBAC_BAD_OUT_GROUP`) code that
    /// [`Error::ofp_error`] reports; other action errors of the buckets;
    /// [`Error::NotSupported`] from an implementation without groups. Nothing changes on
    /// error.
    fn group_mod(&mut self, _gm: &GroupMod) -> Result<()> {
        Err(Error::NotSupported { op: "group-mod" })
    }

    /// Every group, by id (group-desc replies, `dump-groups`).
    fn group_descs(&self) -> Vec<GroupDesc> {
        Vec::new()
    }

    /// The counters of group `group_id`, or of every group for
    /// [`GROUP_ALL`](crate::group::GROUP_ALL); empty for a group that does not exist.
    fn group_stats(&self, _group_id: u32) -> Vec<GroupStats> {
        Vec::new()
    }

    /// The packets for the controllers queued since the last call (table misses while
    /// [`Ofproto::set_packet_in_on_miss`] is on, `controller` actions, packet-outs to
    /// `CONTROLLER`). The queue is bounded: what a flood adds beyond it is dropped and
    /// counted. [`Ofproto::wait`] wakes the main loop when the queue fills. `reason` keeps
    /// OVS's internal miss reasons ([`crate::PacketInReason::ExplicitMiss`] for a table-miss
    /// rule, [`crate::PacketInReason::ImplicitMiss`] for a miss without one): the
    /// connection manager encodes them per OpenFlow version.
    fn take_packet_ins(&mut self) -> Vec<PacketIn> {
        Vec::new()
    }

    /// The rules removed since the last call other than by a flow-mod (whose result lists
    /// its removals): idle and hard timeouts, and deleted groups.
    fn take_flow_removed(&mut self) -> Vec<(Arc<Rule>, RemovedReason)> {
        Vec::new()
    }

    /// Whether a table miss (of table 0 or of a `goto_table`) sends a packet-in with reason
    /// `no_match` (on while an OpenFlow 1.0-1.2 controller is connected, as OVS does) or
    /// drops (off, the default).
    fn set_packet_in_on_miss(&mut self, _on: bool) {}

    /// Tells whether the bridge has controllers configured. A change flushes the OpenFlow
    /// rules, as OVS does when controllers are added or removed; a standalone bridge
    /// without controllers then gets its `priority=0 actions=NORMAL` rule back, one with
    /// controllers does not.
    fn set_controllers_configured(&mut self, _configured: bool) {}

    /// Turns standalone fail-open on or off: while on, a hidden rule above every rule of
    /// table 0 does `NORMAL` (the connection manager turns it on while a standalone bridge
    /// with controllers has none connected). Only takes effect on a standalone bridge with
    /// controllers configured.
    fn set_fail_open(&mut self, _on: bool) {}
}
