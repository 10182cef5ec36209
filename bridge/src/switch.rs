//! [`Switch`]: the running bridges, and [`Switch::reconfigure`], which turns a [`Config`]
//! into them (OVS's `vswitchd/bridge.c`).
//!
//! # Overview
//!
//! A [`Switch`] owns the device and datapath [`Registries`], an [`OfprotoClass`], and per
//! bridge its [`Ofproto`] and the state of every interface: the network device it opened,
//! its OpenFlow port number, and the error that kept it from working, if any.
//!
//! # Reconfiguration
//!
//! [`Switch::reconfigure`] follows the order of OVS's `bridge_reconfigure`:
//!
//! 1. the global `other_config` goes to the device classes
//!    ([`netdev::Registry::set_global_config`]: `dpdk-init` starts DPDK) and to
//!    [`OfprotoClass::set_global_config`];
//! 2. bridges that are gone, or whose datapath type changed, are destroyed (their datapath
//!    ports deleted);
//! 3. in each remaining bridge, ports and interfaces that are gone are deleted, and so are
//!    interfaces whose netdev type changed, whose options the device refuses, or whose
//!    `ofport_request` changed (with the interface holding the wanted number, unless that
//!    one requested it); options and MTU changes are applied in place; interfaces that
//!    failed before, or vanished, are forgotten so that they are tried again;
//! 4. missing ofprotos are constructed;
//! 5. missing interfaces are added: each bridge's own port first, then those with an
//!    `ofport_request`, then the others, so automatic numbers never take requested ones.
//!    An interface that fails (no such device, refused options, refused by the datapath)
//!    gets no port number (`ofport` -1 in OVS's terms) and an error string, logged at WARN;
//!    the rest of the bridge works;
//! 6. each port's bundle (members, VLAN settings), each bridge's fail mode, MAC table
//!    settings, local MAC and datapath id are set, each only when it changed.
//!
//! Nothing that did not change is touched: an unchanged port keeps its device, its number,
//! its datapath port and its flows.
//!
//! Every bridge has its local port, an `internal` interface named after the bridge
//! (OpenFlow port `LOCAL`), whether the configuration lists it or not.
//!
//! # Running
//!
//! [`Switch::run`] runs the ofproto class, every ofproto and the device classes (link
//! notifications), and notices interfaces that vanished underneath (reported by
//! [`Ofproto::port_poll`], or whose device reports that it is gone): it reconfigures with the
//! last configuration, which removes them and records their error; and, every
//! [`PRESENCE_CHECK_MS`], whether a kernel device that was missing has appeared, in which case
//! it reconfigures too, adding it (as OVS's interface notifier does). [`Switch::wait`]
//! registers what the next `run` waits for; [`Switch::exit`] destroys every ofproto.
//!
//! # OpenFlow connections
//!
//! Every bridge has a [`ConnMgr`]: its management socket `<rundir>/<bridge>.mgmt` (where
//! `ovs-ofctl` looks; [`Switch::set_rundir`]) and snoop socket `<rundir>/<bridge>.snoop`
//! (`ovs-ofctl snoop`), and its controllers and allowed OpenFlow
//! versions from [`BridgeConfig::controllers`] and [`BridgeConfig::protocols`], applied in
//! step 6 of reconfiguration. [`Switch::run`] runs it after the bridge's ofproto, with the
//! bridge's working ports; deleting a bridge closes its connections and removes its socket.
//! [`Switch::controller_status`] gives each controller's state for OVSDB's `Controller`
//! table.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use netdev::poll::PollSet;
use netdev::{EthAddr, Netdev};
use ofproto::connmgr::{ConnMgr, ControllerStatus};
use ofproto::ofp::Version;
use ofproto::{BundleSettings, MacTableConfig, OfpPort, Ofproto, OfprotoClass};

use crate::config::{
    BridgeConfig, Config, ConfigTypes, FailMode, InterfaceConfig, OFPORT_MAX, PortConfig, VlanMode,
};
use crate::registries::Registries;

/// OVS's default MAC learning idle time, in seconds, and its bounds.
const MAC_AGING_DEFAULT: u32 = 300;
const MAC_AGING_MIN: u32 = 15;
const MAC_AGING_MAX: u32 = 3600;
/// OVS's default MAC table size and its bounds.
const MAC_TABLE_DEFAULT: usize = 8192;
const MAC_TABLE_MIN: usize = 10;
const MAC_TABLE_MAX: usize = 1_000_000;

/// How often [`Switch::run`] looks for kernel devices that were missing when their
/// interface was added, in ms.
pub const PRESENCE_CHECK_MS: u64 = 1000;

/// What one [`Switch::reconfigure`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReconfigureReport {
    /// Bridges created.
    pub bridges_added: Vec<String>,
    /// Bridges destroyed (gone from the configuration, or recreated for a new datapath type).
    pub bridges_deleted: Vec<String>,
    /// Interfaces added, as `(bridge, interface, OpenFlow port)`.
    pub ifaces_added: Vec<(String, String, OfpPort)>,
    /// Interfaces deleted from their bridge, as `(bridge, interface)`.
    pub ifaces_deleted: Vec<(String, String)>,
    /// What failed, one message each (also logged).
    pub errors: Vec<String>,
}

impl ReconfigureReport {
    /// Whether nothing was added or deleted and nothing failed.
    pub fn is_empty(&self) -> bool {
        self.bridges_added.is_empty()
            && self.bridges_deleted.is_empty()
            && self.ifaces_added.is_empty()
            && self.ifaces_deleted.is_empty()
            && self.errors.is_empty()
    }

    /// A one-line summary: `2 bridges added, 3 interfaces added, 1 error`; `no change` if
    /// empty.
    pub fn summary(&self) -> String {
        let mut parts = Vec::new();
        let mut count = |n: usize, what: &str, verb: &str| {
            if n > 0 {
                let plural = if n == 1 { "" } else { "s" };
                parts.push(format!("{n} {what}{plural} {verb}"));
            }
        };
        count(self.bridges_added.len(), "bridge", "added");
        count(self.bridges_deleted.len(), "bridge", "deleted");
        count(self.ifaces_added.len(), "interface", "added");
        count(self.ifaces_deleted.len(), "interface", "deleted");
        if !self.errors.is_empty() {
            let n = self.errors.len();
            parts.push(format!("{n} error{}", if n == 1 { "" } else { "s" }));
        }
        if parts.is_empty() {
            "no change".to_owned()
        } else {
            parts.join(", ")
        }
    }
}

/// What the switch knows about one interface, for `bridge/show` and for tests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IfaceStatus {
    /// The interface name.
    pub name: String,
    /// The port it belongs to.
    pub port: String,
    /// The configured type (`system`, `internal`, ...).
    pub type_: String,
    /// The netdev type it was opened as.
    pub open_type: String,
    /// Its OpenFlow port number; `None` when it failed (OVS's `ofport` -1).
    pub ofport: Option<OfpPort>,
    /// Why it does not work, if it does not.
    pub error: Option<String>,
}

/// One interface of a running bridge.
struct Iface {
    /// The port it belongs to.
    port: String,
    /// The configuration last applied (with the effective type).
    cfg: InterfaceConfig,
    /// The netdev type it was opened as.
    open_type: String,
    /// The open device, while it works.
    netdev: Option<Arc<dyn Netdev>>,
    /// Its OpenFlow port, while it is a port of the ofproto.
    ofport: Option<OfpPort>,
    /// Why it does not work.
    error: Option<String>,
    /// The device's `change_seq` when last looked at.
    change_seq: u64,
    /// It vanished underneath (the device went away, or the datapath lost the port).
    vanished: bool,
    /// It failed because its kernel device does not exist: worth trying again once a device
    /// of that name appears.
    absent: bool,
}

impl Iface {
    fn status(&self, name: &str) -> IfaceStatus {
        IfaceStatus {
            name: name.to_owned(),
            port: self.port.clone(),
            type_: self.cfg.type_.clone(),
            open_type: self.open_type.clone(),
            ofport: self.ofport,
            error: self.error.clone(),
        }
    }
}

/// One running bridge.
struct Bridge {
    /// The datapath type (normalized: never empty).
    dp_type: String,
    ofproto: Box<dyn Ofproto>,
    /// The configuration last applied, with the local port included.
    cfg: BridgeConfig,
    /// Interfaces by name.
    ifaces: BTreeMap<String, Iface>,
    /// Bundles last set, by port name.
    bundles: BTreeMap<String, BundleSettings>,
    fail_mode: Option<ofproto::FailMode>,
    mac_table: Option<MacTableConfig>,
    dpid: Option<u64>,
    /// The local port's MAC when it was first added: the bridge's MAC when no other choice
    /// applies.
    default_ea: Option<EthAddr>,
    /// The last error of `Ofproto::run`, so that a repeating error is logged once.
    last_run_error: Option<String>,
    /// The OpenFlow connections: the management socket and the controllers.
    connmgr: ConnMgr,
    /// The controller targets and protocols last given to `connmgr`.
    of_config: Option<(Vec<String>, Vec<String>)>,
}

/// One interface the configuration wants, with its port.
#[derive(Clone, Debug)]
struct Wanted {
    port: String,
    iface: InterfaceConfig,
    local: bool,
}

/// The running switch. See the [module docs](self).
pub struct Switch {
    registries: Registries,
    class: Arc<dyn OfprotoClass>,
    /// The global `other_config` last applied.
    global: Option<BTreeMap<String, String>>,
    bridges: BTreeMap<String, Bridge>,
    /// Bridges that the configuration wants but that could not be created, with why.
    bridge_errors: BTreeMap<String, String>,
    /// The configuration last applied.
    last: Option<Config>,
    /// Something vanished underneath, or a missing device appeared; reconfigure at the next
    /// `run`.
    need_reconfigure: bool,
    /// When to look again for devices that were missing (`now_ms` of `run`).
    next_presence_check_ms: u64,
    /// Where each bridge's management socket `<bridge>.mgmt` goes; `None`: nowhere.
    rundir: Option<PathBuf>,
    /// [`Switch::controller_status_seq`], and the bridges' own sequence numbers it last
    /// saw.
    ctl_seq: u64,
    ctl_seen: Vec<(String, u64)>,
}

impl std::fmt::Debug for Switch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Switch")
            .field("registries", &self.registries)
            .field("bridges", &self.bridges.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// Opens bridge `name`'s management and snoop sockets in `rundir`, logging a failure.
fn set_mgmt(name: &str, connmgr: &mut ConnMgr, rundir: Option<&Path>) {
    let path = rundir.map(|d| d.join(format!("{name}.mgmt")));
    if let Err(e) = connmgr.set_mgmt(path.as_deref()) {
        tracing::error!("bridge {name}: cannot listen for OpenFlow management connections: {e}");
    }
    let path = rundir.map(|d| d.join(format!("{name}.snoop")));
    if let Err(e) = connmgr.set_snoop(path.as_deref()) {
        tracing::error!("bridge {name}: cannot listen for OpenFlow snoopers: {e}");
    }
}

/// The datapath type with `""` meaning `system`.
fn normalize_dp_type(t: &str) -> &str {
    if t.is_empty() { "system" } else { t }
}

/// Why a device failed, as OVS words it: the errno's text (`No such device`) for a failed
/// system call, the error itself for anything with more to say.
fn netdev_reason(e: &netdev::Error) -> String {
    match e {
        netdev::Error::NoSuchDevice { .. } => nix::errno::Errno::ENODEV.desc().to_owned(),
        netdev::Error::Io { source, .. } => source.desc().to_owned(),
        other => other.to_string(),
    }
}

/// Why an ofproto refused a port, as OVS words it.
fn ofproto_reason(e: &ofproto::Error) -> String {
    match e {
        ofproto::Error::Netdev(e) | ofproto::Error::Dpif(dpif::Error::Netdev(e)) => {
            netdev_reason(e)
        }
        ofproto::Error::Dpif(dpif::Error::Kernel { source, .. }) => source.desc().to_owned(),
        other => other.to_string(),
    }
}

/// The error string of a device that could not be opened, as OVS writes it.
fn open_error(name: &str, e: &netdev::Error) -> String {
    format!(
        "could not open network device {name} ({})",
        netdev_reason(e)
    )
}

/// The type an interface runs as: `internal` for the bridge's own port, `system` when empty.
fn effective_type(w: &Wanted) -> &str {
    if w.local {
        "internal"
    } else if w.iface.type_.is_empty() {
        "system"
    } else {
        w.iface.type_.as_str()
    }
}

fn to_ofproto_vlan_mode(m: VlanMode) -> ofproto::VlanMode {
    match m {
        VlanMode::Access => ofproto::VlanMode::Access,
        VlanMode::Trunk => ofproto::VlanMode::Trunk,
        VlanMode::NativeTagged => ofproto::VlanMode::NativeTagged,
        VlanMode::NativeUntagged => ofproto::VlanMode::NativeUntagged,
    }
}

fn to_ofproto_fail_mode(m: FailMode) -> ofproto::FailMode {
    match m {
        FailMode::Standalone => ofproto::FailMode::Standalone,
        FailMode::Secure => ofproto::FailMode::Secure,
    }
}

/// The bundle settings of a port (OVS's `port_configure`): the tag, the trunks, and the
/// VLAN mode, which defaults to access when a tag is set and to trunk otherwise.
fn bundle_settings(port: &PortConfig, members: Vec<OfpPort>) -> BundleSettings {
    let vlan_mode = match port.vlan_mode {
        Some(m) => to_ofproto_vlan_mode(m),
        None if port.tag.is_some() => {
            if !port.trunks.is_empty() {
                tracing::warn!(
                    "port {}: ignoring trunks in favor of implicit vlan",
                    port.name
                );
            }
            ofproto::VlanMode::Access
        }
        None => ofproto::VlanMode::Trunk,
    };
    BundleSettings {
        name: port.name.clone(),
        members,
        vlan_mode,
        vlan: port.tag,
        trunks: if port.trunks.is_empty() {
            None
        } else {
            Some(port.trunks.clone())
        },
    }
}

/// The MAC table settings of a bridge's `other_config`, clamped as OVS clamps them.
fn mac_table_config(other: &BTreeMap<String, String>) -> MacTableConfig {
    let idle = other
        .get("mac-aging-time")
        .and_then(|v| v.parse::<u32>().ok())
        .unwrap_or(MAC_AGING_DEFAULT)
        .clamp(MAC_AGING_MIN, MAC_AGING_MAX);
    let size = other
        .get("mac-table-size")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(MAC_TABLE_DEFAULT)
        .clamp(MAC_TABLE_MIN, MAC_TABLE_MAX);
    MacTableConfig {
        idle_time_s: idle,
        max_entries: size,
    }
}

/// `other_config:datapath-id`: exactly 16 hex digits, not all zero (OVS's
/// `dpid_from_string`).
fn parse_dpid(s: &str) -> Option<u64> {
    if s.len() != 16 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u64::from_str_radix(s, 16).ok().filter(|d| *d != 0)
}

/// A MAC as the low 48 bits of a datapath id.
fn mac_to_u64(mac: EthAddr) -> u64 {
    mac.0.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b))
}

/// Whether a MAC may be a bridge's MAC when taken from one of its interfaces: unicast,
/// globally administered, not zero.
fn usable_bridge_mac(mac: EthAddr) -> bool {
    let first = mac.0[0];
    first & 1 == 0 && first & 2 == 0 && mac.0 != [0; 6]
}

/// The ports of a bridge as the switch runs them: the configured ports with the bridge's
/// own port first (made up when the configuration does not list it; its interface is always
/// of type `internal`).
fn effective_ports(bc: &BridgeConfig) -> Vec<PortConfig> {
    let mut ports = Vec::with_capacity(bc.ports.len() + 1);
    let mut local = None;
    for p in &bc.ports {
        if local.is_none() && p.interfaces.iter().any(|i| i.name == bc.name) {
            let mut p = p.clone();
            for i in &mut p.interfaces {
                if i.name == bc.name {
                    i.type_ = "internal".to_owned();
                }
            }
            local = Some(p);
        } else {
            ports.push(p.clone());
        }
    }
    let local_iface = || {
        let mut iface = InterfaceConfig::new(bc.name.clone());
        iface.type_ = "internal".to_owned();
        iface
    };
    match local {
        Some(p) => ports.insert(0, p),
        None => match ports.iter_mut().find(|p| p.name == bc.name) {
            // A port named like the bridge without the bridge's interface: it gets it.
            Some(p) => p.interfaces.push(local_iface()),
            None => ports.insert(
                0,
                PortConfig {
                    name: bc.name.clone(),
                    tag: None,
                    trunks: Vec::new(),
                    vlan_mode: None,
                    other_config: BTreeMap::new(),
                    interfaces: vec![local_iface()],
                },
            ),
        },
    }
    ports
}

impl Switch {
    /// A switch with no bridges, on `registries`, running bridges with `class`.
    pub fn new(registries: Registries, class: Arc<dyn OfprotoClass>) -> Switch {
        Switch {
            registries,
            class,
            global: None,
            bridges: BTreeMap::new(),
            bridge_errors: BTreeMap::new(),
            last: None,
            need_reconfigure: false,
            next_presence_check_ms: 0,
            rundir: None,
            ctl_seq: 0,
            ctl_seen: Vec::new(),
        }
    }

    /// Sets the directory of the bridges' OpenFlow management sockets
    /// (`<rundir>/<bridge>.mgmt`, where `ovs-ofctl` looks for them); `None` for none.
    /// Existing bridges move their sockets.
    pub fn set_rundir(&mut self, rundir: Option<PathBuf>) {
        self.rundir = rundir;
        for (name, br) in &mut self.bridges {
            set_mgmt(name, &mut br.connmgr, self.rundir.as_deref());
        }
    }

    /// The directory of the management sockets.
    pub fn rundir(&self) -> Option<&Path> {
        self.rundir.as_deref()
    }

    /// The controllers of bridge `bridge` with their connection status, in configuration
    /// order (for OVSDB's `Controller` table).
    pub fn controller_status(&self, bridge: &str) -> Vec<ControllerStatus> {
        self.bridges.get(bridge).map_or_else(Vec::new, |b| {
            b.connmgr.controller_status(dpif::monotonic_ms())
        })
    }

    /// A number that goes up (at a [`Switch::run`]) whenever a bridge's controllers
    /// change state or role, or bridges with controllers come and go (see
    /// [`ConnMgr::status_seq`]): the OVSDB writer publishes [`Switch::controller_status`]
    /// again when it moved.
    pub fn controller_status_seq(&self) -> u64 {
        self.ctl_seq
    }

    /// The connection manager of bridge `bridge`.
    pub fn connmgr(&self, bridge: &str) -> Option<&ConnMgr> {
        self.bridges.get(bridge).map(|b| &b.connmgr)
    }

    /// A switch with no bridges on `registries`, running bridges with ofproto-dpif (the
    /// OpenFlow switch over the registries' datapaths).
    pub fn with_ofproto_dpif(registries: Registries) -> Switch {
        let class = Arc::new(ofproto::ofproto_dpif::OfprotoDpifClass::new(
            registries.netdev.clone(),
            registries.dpif.clone(),
        ));
        Switch::new(registries, class)
    }

    /// The registries.
    pub fn registries(&self) -> &Registries {
        &self.registries
    }

    /// The ofproto class.
    pub fn class(&self) -> &Arc<dyn OfprotoClass> {
        &self.class
    }

    /// The types a configuration for this switch may name: the ofproto class's datapath
    /// types, and the registered device types plus `internal` and `patch`.
    pub fn config_types(&self) -> ConfigTypes {
        let mut dp: BTreeSet<String> = self.class.enumerate_types().into_iter().collect();
        dp.insert("system".to_owned());
        let mut ifaces: BTreeSet<String> = self
            .registries
            .netdev
            .types()
            .into_iter()
            .map(str::to_owned)
            .collect();
        ifaces.insert("internal".to_owned());
        ifaces.insert("patch".to_owned());
        ConfigTypes {
            datapath_types: dp.into_iter().collect(),
            interface_types: ifaces.into_iter().collect(),
        }
    }

    /// The configuration last applied.
    pub fn config(&self) -> Option<&Config> {
        self.last.as_ref()
    }

    /// The names of the running bridges, sorted.
    pub fn bridge_names(&self) -> Vec<String> {
        self.bridges.keys().cloned().collect()
    }

    /// The ofproto of bridge `name`.
    pub fn ofproto(&self, name: &str) -> Option<&dyn Ofproto> {
        self.bridges.get(name).map(|b| &*b.ofproto)
    }

    /// The ofproto of bridge `name`, mutable.
    pub fn ofproto_mut(&mut self, name: &str) -> Option<&mut (dyn Ofproto + 'static)> {
        self.bridges.get_mut(name).map(|b| &mut *b.ofproto)
    }

    /// The ofprotos, by bridge name.
    pub fn ofprotos(&self) -> impl Iterator<Item = (&str, &dyn Ofproto)> {
        self.bridges
            .iter()
            .map(|(n, b)| (n.as_str(), &*b.ofproto as &dyn Ofproto))
    }

    /// Why bridge `name` could not be created, if it could not.
    pub fn bridge_error(&self, name: &str) -> Option<&str> {
        self.bridge_errors.get(name).map(String::as_str)
    }

    /// The interfaces of bridge `bridge`, sorted by name.
    pub fn ifaces(&self, bridge: &str) -> Vec<IfaceStatus> {
        self.bridges.get(bridge).map_or_else(Vec::new, |b| {
            b.ifaces.iter().map(|(n, i)| i.status(n)).collect()
        })
    }

    /// Interface `name` of bridge `bridge`.
    pub fn iface(&self, bridge: &str, name: &str) -> Option<IfaceStatus> {
        self.bridges
            .get(bridge)
            .and_then(|b| b.ifaces.get(name))
            .map(|i| i.status(name))
    }

    /// The device of interface `name` of bridge `bridge`, while it works.
    pub fn iface_netdev(&self, bridge: &str, name: &str) -> Option<Arc<dyn Netdev>> {
        self.bridges
            .get(bridge)
            .and_then(|b| b.ifaces.get(name))
            .and_then(|i| i.netdev.clone())
    }

    /// Applies `cfg`: see the [module docs](self) for the order. Never fails as a whole:
    /// what fails is logged, recorded (in [`Switch::iface`], [`Switch::bridge_error`]) and
    /// listed in the report, and everything else is applied.
    pub fn reconfigure(&mut self, cfg: &Config) -> ReconfigureReport {
        let mut report = ReconfigureReport::default();
        self.need_reconfigure = false;

        // 1. Global knobs: the device classes first (DPDK's EAL starts here), then the
        // ofproto class.
        if self.global.as_ref() != Some(&cfg.open_vswitch.other_config) {
            for (class, e) in self
                .registries
                .netdev
                .set_global_config(&cfg.open_vswitch.other_config)
            {
                let msg = format!("open_vswitch other_config: {class} interfaces: {e}");
                tracing::error!("{msg}");
                report.errors.push(msg);
            }
            match self.class.set_global_config(&cfg.open_vswitch.other_config) {
                Ok(()) => self.global = Some(cfg.open_vswitch.other_config.clone()),
                Err(e) => {
                    let msg = format!("open_vswitch other_config: {e}");
                    tracing::warn!("{msg}");
                    report.errors.push(msg);
                }
            }
        }

        // The wanted bridges and their interfaces; an interface name wanted twice (a
        // bridge's own port named like another bridge's port) goes to the first.
        let mut plans: BTreeMap<String, (BridgeConfig, Vec<Wanted>)> = BTreeMap::new();
        let mut claimed: BTreeMap<String, String> = BTreeMap::new();
        for bc in &cfg.bridges {
            if plans.contains_key(&bc.name) {
                let msg = format!("bridge {} specified twice", bc.name);
                tracing::warn!("{msg}");
                report.errors.push(msg);
                continue;
            }
            let mut ports = effective_ports(bc);
            let mut wanted = Vec::new();
            for p in &mut ports {
                p.interfaces.retain(|i| {
                    if let Some(owner) = claimed.get(&i.name) {
                        let msg = format!(
                            "bridge {}: interface {} is already in bridge {owner}, ignoring it",
                            bc.name, i.name
                        );
                        tracing::warn!("{msg}");
                        report.errors.push(msg);
                        return false;
                    }
                    claimed.insert(i.name.clone(), bc.name.clone());
                    true
                });
                for i in &p.interfaces {
                    wanted.push(Wanted {
                        port: p.name.clone(),
                        iface: i.clone(),
                        local: i.name == bc.name,
                    });
                }
            }
            ports.retain(|p| !p.interfaces.is_empty());
            let mut eff = bc.clone();
            eff.datapath_type = normalize_dp_type(&bc.datapath_type).to_owned();
            eff.ports = ports;
            plans.insert(bc.name.clone(), (eff, wanted));
        }

        // 2. Bridges that are gone or changed datapath type.
        let doomed: Vec<String> = self
            .bridges
            .iter()
            .filter(|(name, br)| {
                plans
                    .get(*name)
                    .is_none_or(|(bc, _)| bc.datapath_type != br.dp_type)
            })
            .map(|(name, _)| name.clone())
            .collect();
        for name in doomed {
            if let Some(br) = self.bridges.remove(&name) {
                tracing::info!("bridge {name}: deleted");
                drop(br.connmgr);
                br.ofproto.destruct(true);
                report.bridges_deleted.push(name);
            }
        }
        self.bridge_errors.retain(|n, _| plans.contains_key(n));

        // 3. Ports and interfaces that are gone or changed.
        for (name, br) in &mut self.bridges {
            if let Some((_, wanted)) = plans.get(name) {
                br.delete_or_reconfigure_ports(name, wanted, &mut report);
            }
        }

        // 4. New ofprotos.
        for (name, (bc, _)) in &plans {
            if self.bridges.contains_key(name) {
                continue;
            }
            match self.class.construct(name, &bc.datapath_type) {
                Ok(ofproto) => {
                    tracing::info!("bridge {name}: added (datapath type {})", bc.datapath_type);
                    self.bridge_errors.remove(name);
                    let mut connmgr = ConnMgr::new(name);
                    set_mgmt(name, &mut connmgr, self.rundir.as_deref());
                    self.bridges.insert(
                        name.clone(),
                        Bridge {
                            dp_type: bc.datapath_type.clone(),
                            ofproto,
                            cfg: bc.clone(),
                            ifaces: BTreeMap::new(),
                            bundles: BTreeMap::new(),
                            fail_mode: None,
                            mac_table: None,
                            dpid: None,
                            default_ea: None,
                            last_run_error: None,
                            connmgr,
                            of_config: None,
                        },
                    );
                    report.bridges_added.push(name.clone());
                }
                Err(e) => {
                    let msg = format!("failed to create bridge {name}: {e}");
                    tracing::error!("{msg}");
                    self.bridge_errors.insert(name.clone(), msg.clone());
                    report.errors.push(msg);
                }
            }
        }

        // 5. Missing interfaces: the local port, then requested numbers, then the rest.
        for (name, br) in &mut self.bridges {
            if let Some((_, wanted)) = plans.get(name) {
                br.add_ifaces(name, wanted, &self.registries, &*self.class, &mut report);
            }
        }

        // 6. Configure.
        for (name, br) in &mut self.bridges {
            if let Some((bc, _)) = plans.get(name) {
                br.configure(name, bc);
            }
        }

        self.last = Some(cfg.clone());
        report
    }

    /// Does periodic work: the ofproto class's `type_run`, every ofproto's `run`, the device
    /// classes' `run` (link notifications); then, if an interface vanished underneath,
    /// reconfigures with the last configuration (which records its error) and returns
    /// that report.
    pub fn run(&mut self, now_ms: u64) -> Option<ReconfigureReport> {
        self.class.type_run();
        for (name, br) in &mut self.bridges {
            match br.ofproto.run(now_ms) {
                Ok(()) => br.last_run_error = None,
                Err(e) => {
                    let msg = e.to_string();
                    if br.last_run_error.as_deref() != Some(&msg) {
                        tracing::warn!("bridge {name}: {msg}");
                        br.last_run_error = Some(msg);
                    }
                }
            }
        }
        self.registries.netdev.run();
        for br in self.bridges.values_mut() {
            let ports: Vec<(OfpPort, Arc<dyn Netdev>)> = br
                .ifaces
                .values()
                .filter_map(|i| Some((i.ofport?, i.netdev.clone()?)))
                .collect();
            br.connmgr.run(&mut *br.ofproto, &ports, now_ms);
        }
        let seen: Vec<(String, u64)> = self
            .bridges
            .iter()
            .filter(|(_, b)| b.connmgr.has_controllers())
            .map(|(n, b)| (n.clone(), b.connmgr.status_seq()))
            .collect();
        if seen != self.ctl_seen {
            self.ctl_seq += 1;
            self.ctl_seen = seen;
        }
        for (name, br) in &mut self.bridges {
            if br.poll_vanished(name) {
                self.need_reconfigure = true;
            }
        }
        if now_ms >= self.next_presence_check_ms {
            self.next_presence_check_ms = now_ms.saturating_add(PRESENCE_CHECK_MS);
            for (name, br) in &self.bridges {
                for (iname, _) in br.ifaces.iter().filter(|(_, st)| st.absent) {
                    if nix::net::if_::if_nametoindex(iname.as_str()).is_ok() {
                        tracing::info!("bridge {name}: network device {iname} appeared");
                        self.need_reconfigure = true;
                    }
                }
            }
        }
        if self.need_reconfigure
            && let Some(cfg) = self.last.take()
        {
            let report = self.reconfigure(&cfg);
            self.last = Some(cfg);
            return Some(report);
        }
        None
    }

    /// Registers in `poll` what the next [`Switch::run`] waits for.
    pub fn wait(&mut self, poll: &mut PollSet) {
        self.class.type_wait(poll);
        let now_ms = dpif::monotonic_ms();
        for br in self.bridges.values_mut() {
            br.ofproto.wait(poll);
            br.connmgr.wait(poll, now_ms);
        }
        self.registries.netdev.wait(poll);
        if self.need_reconfigure {
            poll.immediate_wake();
        }
        if self
            .bridges
            .values()
            .any(|b| b.ifaces.values().any(|i| i.absent))
        {
            poll.timer_wait_after(std::time::Duration::from_millis(PRESENCE_CHECK_MS));
        }
    }

    /// Destroys every bridge; with `cleanup` (`exit --cleanup`) also deletes what they made
    /// in their datapaths.
    pub fn exit(&mut self, cleanup: bool) {
        for (name, br) in std::mem::take(&mut self.bridges) {
            tracing::debug!("bridge {name}: destroying (cleanup: {cleanup})");
            // Closes the OpenFlow connections and removes the management socket first.
            drop(br.connmgr);
            br.ofproto.destruct(cleanup);
        }
    }

    /// `name:value` pairs for `memory/show`: bridges, ports, rules, and the ofproto class's
    /// own (udpif keys, handlers, revalidators).
    pub fn memory_usage(&self) -> Vec<(String, u64)> {
        let count = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
        let mut ports = 0u64;
        let mut rules = 0u64;
        for br in self.bridges.values() {
            ports = ports.saturating_add(count(br.ofproto.port_dump().len()));
            rules = rules.saturating_add(count(br.ofproto.all_rules(true).len()));
        }
        let ofconns: usize = self.bridges.values().map(|b| b.connmgr.n_conns()).sum();
        let mut out = vec![
            ("bridges".to_owned(), count(self.bridges.len())),
            ("ofconns".to_owned(), count(ofconns)),
            ("ports".to_owned(), ports),
            ("rules".to_owned(), rules),
        ];
        out.extend(self.class.memory_usage());
        out
    }

    /// `bridge/show`: every bridge with its ports and interfaces, their OpenFlow port
    /// numbers and errors, laid out as `ovs-vsctl show` lays them out.
    pub fn show(&self) -> String {
        let mut out = String::new();
        let Some(cfg) = &self.last else {
            return out;
        };
        let mut names: Vec<&str> = cfg.bridges.iter().map(|b| b.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        for name in names {
            let _ = writeln!(out, "Bridge {name}");
            let Some(br) = self.bridges.get(name) else {
                if let Some(e) = self.bridge_errors.get(name) {
                    let _ = writeln!(out, "    error: {e:?}");
                }
                continue;
            };
            if br.cfg.fail_mode != FailMode::Standalone {
                let _ = writeln!(out, "    fail_mode: {}", br.cfg.fail_mode.as_str());
            }
            let _ = writeln!(out, "    datapath_type: {}", br.dp_type);
            if let Some(dpid) = br.dpid {
                let _ = writeln!(out, "    datapath_id: {dpid:016x}");
            }
            let mut ports: Vec<&PortConfig> = br.cfg.ports.iter().collect();
            ports.sort_by(|a, b| a.name.cmp(&b.name));
            for p in ports {
                let _ = writeln!(out, "    Port {}", p.name);
                if let Some(tag) = p.tag {
                    let _ = writeln!(out, "        tag: {tag}");
                }
                if !p.trunks.is_empty() {
                    let t: Vec<String> = p.trunks.iter().map(u16::to_string).collect();
                    let _ = writeln!(out, "        trunks: [{}]", t.join(", "));
                }
                if let Some(m) = p.vlan_mode {
                    let _ = writeln!(out, "        vlan_mode: {}", m.as_str());
                }
                let mut ifaces: Vec<&InterfaceConfig> = p.interfaces.iter().collect();
                ifaces.sort_by(|a, b| a.name.cmp(&b.name));
                for i in ifaces {
                    let _ = writeln!(out, "        Interface {}", i.name);
                    if i.type_ != "system" && !i.type_.is_empty() {
                        let _ = writeln!(out, "            type: {}", i.type_);
                    }
                    if !i.options.is_empty() {
                        let o: Vec<String> =
                            i.options.iter().map(|(k, v)| format!("{k}={v}")).collect();
                        let _ = writeln!(out, "            options: {{{}}}", o.join(", "));
                    }
                    let state = br.ifaces.get(&i.name);
                    // As OVSDB's Interface.ofport: the number, or -1 for a failed interface.
                    let ofport = state.and_then(|s| s.ofport).map_or(-1, |p| i64::from(p.0));
                    let _ = writeln!(out, "            ofport: {ofport}");
                    if let Some(e) = state.and_then(|s| s.error.as_ref()) {
                        let _ = writeln!(out, "            error: {e:?}");
                    }
                }
            }
        }
        out
    }
}

impl Bridge {
    /// Step 3 of reconfigure for one bridge: deletes what is gone or must be re-added,
    /// applies option and MTU changes in place, forgets interfaces to retry.
    fn delete_or_reconfigure_ports(
        &mut self,
        name: &str,
        wanted: &[Wanted],
        report: &mut ReconfigureReport,
    ) {
        let by_name: BTreeMap<&str, &Wanted> =
            wanted.iter().map(|w| (w.iface.name.as_str(), w)).collect();
        let wanted_ports: BTreeSet<&str> = wanted.iter().map(|w| w.port.as_str()).collect();

        // Bundles of ports that are gone.
        let gone_bundles: Vec<String> = self
            .bundles
            .keys()
            .filter(|p| !wanted_ports.contains(p.as_str()))
            .cloned()
            .collect();
        for p in gone_bundles {
            self.bundles.remove(&p);
            if let Err(e) = self.ofproto.bundle_set(&p, None) {
                tracing::warn!("bridge {name}: port {p}: could not remove: {e}");
            }
        }

        let mut delete: BTreeSet<String> = BTreeSet::new();
        let mut forget: BTreeSet<String> = BTreeSet::new();
        for (iname, st) in &mut self.ifaces {
            let Some(w) = by_name.get(iname.as_str()) else {
                if st.ofport.is_some() {
                    delete.insert(iname.clone());
                } else {
                    forget.insert(iname.clone());
                }
                continue;
            };
            if st.ofport.is_none() {
                // Failed before: try again.
                forget.insert(iname.clone());
                continue;
            }
            if st.vanished {
                delete.insert(iname.clone());
                continue;
            }
            if effective_type(w) != st.cfg.type_ {
                tracing::info!(
                    "bridge {name}: interface {iname}: type changed from {} to {}",
                    st.cfg.type_,
                    effective_type(w)
                );
                delete.insert(iname.clone());
                continue;
            }
            if w.iface.options != st.cfg.options
                && let Some(dev) = &st.netdev
                && let Err(e) = dev.set_config(&w.iface.options)
            {
                tracing::warn!(
                    "bridge {name}: interface {iname}: could not configure network device \
                     {iname} ({e})"
                );
                delete.insert(iname.clone());
                continue;
            }
            if w.iface.mtu_request != st.cfg.mtu_request
                && let (Some(mtu), Some(dev)) = (w.iface.mtu_request, &st.netdev)
                && let Err(e) = dev.set_mtu(mtu)
            {
                tracing::warn!("interface {iname}: could not set MTU {mtu}: {e}");
            }
            if w.iface.ofport_request != st.cfg.ofport_request
                && let Some(req) = w.iface.ofport_request
                && st.ofport != Some(OfpPort(u32::from(req)))
            {
                delete.insert(iname.clone());
            }
            st.cfg = w.iface.clone();
            st.cfg.type_ = effective_type(w).to_owned();
            st.port = w.port.clone();
        }

        // An interface re-added for its new request takes the number from whoever holds it,
        // unless that one requested it too.
        let victims: Vec<String> = delete
            .iter()
            .filter_map(|n| by_name.get(n.as_str()))
            .filter_map(|w| w.iface.ofport_request)
            .filter_map(|req| {
                let req = OfpPort(u32::from(req));
                self.ifaces.iter().find_map(|(vn, v)| {
                    let v_req = by_name
                        .get(vn.as_str())
                        .and_then(|vw| vw.iface.ofport_request);
                    (v.ofport == Some(req) && v_req.map(|r| OfpPort(u32::from(r))) != Some(req))
                        .then(|| vn.clone())
                })
            })
            .collect();
        delete.extend(victims);

        for iname in forget {
            self.ifaces.remove(&iname);
        }
        for iname in delete {
            let Some(st) = self.ifaces.remove(&iname) else {
                continue;
            };
            if let Some(ofport) = st.ofport {
                match self.ofproto.port_del(ofport) {
                    Ok(()) => {}
                    // Already gone underneath: nothing to delete.
                    Err(ofproto::Error::NoSuchPort { .. }) => {}
                    Err(e) => tracing::warn!("bridge {name}: could not delete port {iname}: {e}"),
                }
            }
            tracing::info!(
                "bridge {name}: deleted interface {iname} on port {:?}",
                st.ofport.map(|p| p.0)
            );
            report.ifaces_deleted.push((name.to_owned(), iname));
        }
    }

    /// Step 5 of reconfigure for one bridge: adds every wanted interface that is missing.
    fn add_ifaces(
        &mut self,
        name: &str,
        wanted: &[Wanted],
        registries: &Registries,
        class: &dyn OfprotoClass,
        report: &mut ReconfigureReport,
    ) {
        let missing: Vec<&Wanted> = wanted
            .iter()
            .filter(|w| !self.ifaces.contains_key(&w.iface.name))
            .collect();
        let requested = |w: &&Wanted| {
            w.iface
                .ofport_request
                .is_some_and(|r| (1..=OFPORT_MAX).contains(&r))
        };
        let order = missing
            .iter()
            .filter(|w| w.local)
            .chain(missing.iter().filter(|w| !w.local && requested(w)))
            .chain(missing.iter().filter(|w| !w.local && !requested(w)));
        for w in order {
            self.add_iface(name, w, registries, class, report);
        }
    }

    /// Opens, configures and adds one interface (OVS's `iface_do_create`); on failure
    /// records it with its error.
    fn add_iface(
        &mut self,
        name: &str,
        w: &Wanted,
        registries: &Registries,
        class: &dyn OfprotoClass,
        report: &mut ReconfigureReport,
    ) {
        let iname = w.iface.name.as_str();
        let type_ = effective_type(w);
        let open_type = class.port_open_type(&self.dp_type, type_);
        let request = if w.local {
            Some(OfpPort::LOCAL)
        } else {
            w.iface.ofport_request.map(|r| OfpPort(u32::from(r)))
        };
        let absent = std::cell::Cell::new(false);
        let no_device = |e: &netdev::Error| {
            absent.set(e.is_no_device());
            open_error(iname, e)
        };
        let result = (|| {
            let dev = registries
                .netdev
                .open(iname, &open_type)
                .map_err(|e| no_device(&e))?;
            // A device the kernel datapath makes appears only when the port is added.
            if open_type != "internal"
                && let Err(e) = dev.flags()
                && e.is_no_device()
            {
                return Err(no_device(&e));
            }
            dev.set_config(&w.iface.options).map_err(|e| {
                format!(
                    "could not configure network device {iname} ({})",
                    netdev_reason(&e)
                )
            })?;
            if let Some(mtu) = w.iface.mtu_request
                && let Err(e) = dev.set_mtu(mtu)
            {
                tracing::warn!("interface {iname}: could not set MTU {mtu}: {e}");
            }
            let ofport = self.ofproto.port_add(dev.clone(), request).map_err(|e| {
                format!(
                    "could not add network device {iname} to ofproto ({})",
                    ofproto_reason(&e)
                )
            })?;
            Ok((dev, ofport))
        })();
        let mut cfg = w.iface.clone();
        cfg.type_ = type_.to_owned();
        let st = match result {
            Ok((dev, ofport)) => {
                tracing::info!(
                    "bridge {name}: added interface {iname} on port {}",
                    ofport.0
                );
                if w.local && self.default_ea.is_none() {
                    self.default_ea = dev.etheraddr().ok();
                }
                report
                    .ifaces_added
                    .push((name.to_owned(), iname.to_owned(), ofport));
                Iface {
                    port: w.port.clone(),
                    cfg,
                    open_type,
                    change_seq: dev.change_seq(),
                    netdev: Some(dev),
                    ofport: Some(ofport),
                    error: None,
                    vanished: false,
                    absent: false,
                }
            }
            Err(msg) => {
                tracing::warn!("bridge {name}: {msg}");
                report.errors.push(format!("bridge {name}: {msg}"));
                let absent = matches!(type_, "system" | "internal") && absent.get();
                Iface {
                    port: w.port.clone(),
                    cfg,
                    open_type,
                    netdev: None,
                    ofport: None,
                    error: Some(msg),
                    change_seq: 0,
                    vanished: false,
                    absent,
                }
            }
        };
        self.ifaces.insert(iname.to_owned(), st);
    }

    /// Step 6 of reconfigure for one bridge: bundles, fail mode, MAC table, interface MACs,
    /// bridge MAC and datapath id, each only when it changed.
    fn configure(&mut self, name: &str, bc: &BridgeConfig) {
        // Bundles.
        for p in &bc.ports {
            let members: Vec<OfpPort> = p
                .interfaces
                .iter()
                .filter_map(|i| self.ifaces.get(&i.name).and_then(|s| s.ofport))
                .collect();
            if members.is_empty() {
                if self.bundles.remove(&p.name).is_some()
                    && let Err(e) = self.ofproto.bundle_set(&p.name, None)
                {
                    tracing::warn!("bridge {name}: port {}: {e}", p.name);
                }
                continue;
            }
            let s = bundle_settings(p, members);
            if self.bundles.get(&p.name) == Some(&s) {
                continue;
            }
            match self.ofproto.bundle_set(&p.name, Some(s.clone())) {
                Ok(()) => {
                    self.bundles.insert(p.name.clone(), s);
                }
                Err(e) => {
                    tracing::warn!("bridge {name}: port {}: {e}", p.name);
                    self.bundles.remove(&p.name);
                }
            }
        }

        // OpenFlow connections: controllers and allowed versions. Controllers go first so
        // that a standalone bridge given its first controller drops its NORMAL rule only
        // once.
        let of_config = (bc.controllers.clone(), bc.protocols.clone());
        if self.of_config.as_ref() != Some(&of_config) {
            let versions: Vec<Version> = bc
                .protocols
                .iter()
                .filter_map(|p| Version::from_name(p))
                .collect();
            self.connmgr.set_protocols(&versions);
            for e in self.connmgr.set_controllers(&bc.controllers) {
                tracing::warn!("bridge {name}: {e}");
            }
            self.ofproto
                .set_controllers_configured(self.connmgr.has_controllers());
            self.of_config = Some(of_config);
        }

        // Fail mode and MAC table.
        let fail_mode = to_ofproto_fail_mode(bc.fail_mode);
        if self.fail_mode != Some(fail_mode) {
            self.ofproto.set_fail_mode(fail_mode);
            self.connmgr.set_fail_mode(fail_mode);
            self.fail_mode = Some(fail_mode);
        }
        let mac_table = mac_table_config(&bc.other_config);
        if self.mac_table != Some(mac_table) {
            self.ofproto.set_mac_table_config(mac_table);
            self.mac_table = Some(mac_table);
        }

        // MACs of internal interfaces (the local port's comes from the bridge below).
        for (iname, st) in &mut self.ifaces {
            let Some(mac) = st.cfg.mac else { continue };
            if iname.as_str() == name {
                continue;
            }
            let Some(dev) = &st.netdev else { continue };
            if st.cfg.type_ != "internal" {
                continue;
            }
            if dev.etheraddr().ok() != Some(mac)
                && let Err(e) = dev.set_etheraddr(mac)
            {
                tracing::warn!("interface {iname}: could not set MAC {mac}: {e}");
            }
        }

        // The bridge's MAC (OVS's bridge_pick_local_hw_addr) and datapath id.
        let hwaddr = bc
            .other_config
            .get("hwaddr")
            .and_then(|s| s.parse::<EthAddr>().ok())
            .filter(|m| m.0[0] & 1 == 0 && m.0 != [0; 6]);
        let local_mac = |c: &BridgeConfig| {
            c.ports
                .iter()
                .flat_map(|p| &p.interfaces)
                .find(|i| i.name == name)
                .and_then(|i| i.mac)
        };
        if local_mac(bc).is_some() && local_mac(&self.cfg) != local_mac(bc) {
            tracing::warn!(
                "interface {name}: ignoring mac in Interface record (use Bridge record to \
                 set local port's mac)"
            );
        }
        let from_ports = || {
            self.ifaces
                .iter()
                .filter(|(n, st)| *n != name && st.cfg.type_ != "internal")
                .filter_map(|(_, st)| st.netdev.as_ref()?.etheraddr().ok())
                .filter(|m| usable_bridge_mac(*m))
                .min_by_key(|m| m.0)
        };
        let bridge_mac = hwaddr.or_else(from_ports).or(self.default_ea);
        if let (Some(mac), Some(local)) = (
            bridge_mac,
            self.ifaces.get(name).and_then(|s| s.netdev.clone()),
        ) && local.etheraddr().ok() != Some(mac)
            && let Err(e) = local.set_etheraddr(mac)
        {
            tracing::warn!("bridge {name}: could not set MAC {mac} on the local port: {e}");
        }
        let configured = bc.other_config.get("datapath-id");
        let dpid = match configured.map(|s| (s, parse_dpid(s))) {
            Some((_, Some(d))) => Some(d),
            Some((s, None)) => {
                tracing::warn!(
                    "bridge {name}: other_config:datapath-id \"{s}\" is not 16 hex digits, \
                     ignoring it"
                );
                bridge_mac.map(mac_to_u64)
            }
            None => bridge_mac.map(mac_to_u64),
        };
        if let Some(dpid) = dpid
            && self.dpid != Some(dpid)
        {
            tracing::info!("bridge {name}: using datapath ID {dpid:016x}");
            self.ofproto.set_datapath_id(dpid);
            self.dpid = Some(dpid);
        }
        self.cfg = bc.clone();
    }

    /// Notices interfaces that vanished underneath; whether any did.
    fn poll_vanished(&mut self, name: &str) -> bool {
        let mut any = false;
        for pname in self.ofproto.port_poll() {
            if let Some(st) = self.ifaces.get_mut(&pname)
                && st.ofport.is_some()
                && !st.vanished
            {
                tracing::warn!("bridge {name}: interface {pname} vanished from the datapath");
                st.vanished = true;
                any = true;
            }
        }
        for (iname, st) in &mut self.ifaces {
            if st.vanished || st.ofport.is_none() {
                continue;
            }
            let Some(dev) = &st.netdev else { continue };
            let seq = dev.change_seq();
            if seq == st.change_seq {
                continue;
            }
            st.change_seq = seq;
            if let Err(e) = dev.flags()
                && e.is_no_device()
            {
                tracing::warn!("bridge {name}: interface {iname}: network device is gone");
                st.vanished = true;
                any = true;
            }
        }
        any
    }
}

#[cfg(test)]
mod tests;
