//! [`OfprotoDpif`]: one bridge over a backer's datapath (OVS's `struct ofproto_dpif`).
//!
//! The bridge layer owns it and calls it from the main thread. Its state is authoritative
//! here (ports, bundles, the OpenFlow tables); every change publishes a fresh translation
//! snapshot ([`XBridge`]) that handler and revalidator threads read, and bumps the backer's
//! revalidation sequence, so the datapath's flows follow within one round.
//!
//! # Controllers
//!
//! The connection manager drives three knobs: [`Ofproto::set_controllers_configured`]
//! (adding or removing controllers flushes the flows; only a standalone bridge without
//! controllers keeps the `priority=0 actions=NORMAL` rule), [`Ofproto::set_packet_in_on_miss`]
//! (table misses become packet-ins through table 254's miss rule) and
//! [`Ofproto::set_fail_open`] (a hidden rule, priority 15790320 in table 0 as OVS's
//! `FAIL_OPEN_PRIORITY`, does `NORMAL` while a standalone bridge has no controller
//! connected). Packet-ins arrive on the bridge's bounded queue from the handler threads;
//! rules that expire or lose their group wait in a bounded list; both are drained by the
//! main loop.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use dpif::odp::{self, FlowKey, OdpPort};
use dpif::{DpifOp, Execute, monotonic_ms};
use netdev::poll::PollSet;
use netdev::{Netdev, NetdevFlags, NetdevStats, Packet};

use super::backer::{Backer, BridgeShared, PortOwner};
use super::groups::GroupTable;
use super::mac_learning::MacTable;
use super::pinq::PinQueue;
use super::ports::PortNumbers;
use super::trace::Trace;
use super::xlate::{VlanBitmap, XBridge, XBundle, XPort, XlateError, XlateIn, xlate};
use crate::actions::{Action, check_actions};
use crate::error::{Error, Result};
use crate::flow::{Flow, FlowWildcards, OfpPort};
use crate::group::{GroupDesc, GroupMod, GroupStats};
use crate::matching::Match;
use crate::packet_in::PacketIn;
use crate::provider::{
    BundleSettings, FailMode, FdbEntry, MacTableConfig, Ofproto, OfprotoPort, VlanMode,
};
use crate::rule::{FlowModFlags, RemovedReason, Rule, RuleStats};
use crate::table::{
    FlowMod, FlowModCommand, FlowModResult, Origin, RuleQuery, TABLE_INTERNAL, TableSet,
};

/// The outcome of [`OfprotoDpif::translate`].
#[derive(Clone, Debug)]
pub struct Translation {
    /// The datapath actions (empty: drop).
    pub actions: Vec<odp::Action>,
    /// The megaflow mask a datapath flow with these actions is installed with.
    pub mask: FlowKey,
    /// Every bit of the OpenFlow flow that translation looked at.
    pub wildcards: FlowWildcards,
    /// The flow after the OpenFlow actions.
    pub final_flow: Flow,
    /// The rules hit, in order.
    pub rules: Vec<Arc<Rule>>,
    /// Why translation failed, if it did (the actions are then empty).
    pub error: Option<XlateError>,
}

/// How often rule timeouts are checked at least.
const EXPIRE_INTERVAL_MS: u64 = 1000;
/// The priority of the fail-open rule (OVS's `FAIL_OPEN_PRIORITY`, above any OpenFlow
/// priority, so the rule is hidden from OpenFlow).
pub const FAIL_OPEN_PRIORITY: u32 = 0xf0_f0f0;
/// Most removed rules kept for [`Ofproto::take_flow_removed`]; beyond, they are dropped.
const REMOVED_MAX: usize = 65_536;

/// A port of the bridge.
struct PortRec {
    netdev: Arc<dyn Netdev>,
    odp: OdpPort,
    /// The device's change counter when `live` was computed.
    change_seq: u64,
    /// Up and with carrier (fast failover liveness).
    live: bool,
}

fn netdev_live(n: &dyn Netdev) -> bool {
    n.flags().is_ok_and(|f| f.contains(NetdevFlags::UP)) && n.carrier().unwrap_or(false)
}

/// One bridge (see the module docs).
pub struct OfprotoDpif {
    name: String,
    dp_type: String,
    backer: Arc<Backer>,
    shared: Arc<BridgeShared>,
    ports: BTreeMap<OfpPort, PortRec>,
    numbers: PortNumbers,
    /// Bundles in creation order.
    bundles: Vec<BundleSettings>,
    /// The tables translation sees (published in the snapshot).
    tables: Arc<TableSet>,
    /// Flow-mods applied since the last publication: a working copy of `tables`, made
    /// once per batch, so a batch of n flow-mods costs one copy instead of n.
    staged: Option<TableSet>,
    fail_mode: FailMode,
    datapath_id: u64,
    forward_bpdu: bool,
    now_ms: u64,
    last_dump_seq: u64,
    next_expire_ms: u64,
    vanished: Vec<String>,
    groups: Arc<GroupTable>,
    /// Table 254's miss rule (packet-in with reason no_match).
    miss_rule: Option<Arc<Rule>>,
    /// The hidden fail-open rule.
    fail_open_rule: Arc<Rule>,
    packet_in_on_miss: bool,
    controllers: bool,
    fail_open: bool,
    /// Rules removed by expiry or group deletion, for the connection manager.
    removed: Vec<(Arc<Rule>, RemovedReason)>,
    removed_dropped: u64,
}

impl std::fmt::Debug for OfprotoDpif {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OfprotoDpif")
            .field("name", &self.name)
            .field("dp_type", &self.dp_type)
            .field("ports", &self.ports.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// The hidden rules of table 254 (OVS's `add_internal_flows`), created at `now_ms`.
fn add_internal_rules(t: &mut TableSet, now_ms: u64) -> Result<()> {
    let mut add = |m: Match, priority: u32, actions: Vec<Action>| -> Result<()> {
        let mut fm = FlowMod::new(FlowModCommand::Add, m);
        fm.table_id = TABLE_INTERNAL;
        fm.priority = priority;
        fm.actions = actions;
        t.flow_mod(&fm, now_ms, Origin::Internal).map(|_| ())
    };
    let reg0 = |v: u32| {
        let mut m = Match::catchall();
        m.set_reg_masked(0, v, u32::MAX);
        m
    };
    // The miss rule: "packet-in" for table misses a controller asks for.
    add(
        reg0(1),
        0,
        vec![Action::Controller(crate::actions::Controller {
            reason: crate::actions::PacketInReason::ImplicitMiss,
            ..crate::actions::Controller::default()
        })],
    )?;
    // The no-packet-in rule and the drop-fragments rule.
    add(reg0(2), 0, vec![])?;
    add(reg0(3), 0, vec![])?;
    // Catches lookups that recirculation would otherwise run away with.
    let mut m = Match::catchall();
    m.set_recirc_id(0);
    add(m, 2, vec![])
}

/// The `priority=0 actions=NORMAL` rule of a standalone bridge without controller.
fn normal_flow_mod() -> FlowMod {
    let mut fm = FlowMod::new(FlowModCommand::Add, Match::catchall());
    fm.table_id = 0;
    fm.priority = 0;
    fm.actions = vec![Action::Output(OfpPort::NORMAL)];
    fm
}

impl OfprotoDpif {
    pub(crate) fn new(name: &str, dp_type: &str, backer: Arc<Backer>) -> Result<OfprotoDpif> {
        let now = monotonic_ms();
        let mut tables = TableSet::new();
        add_internal_rules(&mut tables, now)?;
        tables.flow_mod(&normal_flow_mod(), now, Origin::OpenFlow)?;
        let miss_rule = tables.table(TABLE_INTERNAL).and_then(|t| {
            t.rules()
                .find(|r| r.actions.iter().any(|a| matches!(a, Action::Controller(_))))
                .cloned()
        });
        let fail_open_rule = Arc::new(Rule {
            // Ids of the tables count up from 1; this rule is in none of them.
            id: u64::MAX,
            table_id: 0,
            match_: Match::catchall(),
            priority: FAIL_OPEN_PRIORITY,
            cookie: 0,
            idle_timeout: 0,
            hard_timeout: 0,
            importance: 0,
            flags: FlowModFlags::empty(),
            created_ms: now,
            modified_ms: now,
            actions: Arc::from(vec![Action::Output(OfpPort::NORMAL)]),
            counters: Arc::new(RuleStats::default()),
        });
        let tables = Arc::new(tables);
        let groups = Arc::new(GroupTable::default());
        let id = backer.shared.next_bridge_id.fetch_add(1, Ordering::Relaxed);
        let shared = Arc::new(BridgeShared {
            name: name.to_owned(),
            id,
            pins: PinQueue::new()?,
            xbridge: parking_lot::RwLock::new(Arc::new(XBridge {
                name: name.to_owned(),
                tables: tables.clone(),
                ports: BTreeMap::new(),
                bundles: Vec::new(),
                forward_bpdu: false,
                id,
                groups: groups.clone(),
                miss_rule: None,
                fail_open: None,
            })),
            ml: parking_lot::Mutex::new(MacTable::new(MacTableConfig::default())),
            vanished: parking_lot::Mutex::new(Vec::new()),
        });
        let b = &backer.shared;
        if b.bridge(name).is_some() {
            return Err(Error::Invalid(format!("bridge {name} already exists")));
        }
        b.update_bridges(|m| {
            m.insert(name.to_owned(), shared.clone());
        });
        Ok(OfprotoDpif {
            name: name.to_owned(),
            dp_type: dp_type.to_owned(),
            backer,
            shared,
            ports: BTreeMap::new(),
            numbers: PortNumbers::default(),
            bundles: Vec::new(),
            tables,
            staged: None,
            fail_mode: FailMode::Standalone,
            datapath_id: 0,
            forward_bpdu: false,
            now_ms: now,
            last_dump_seq: 0,
            next_expire_ms: 0,
            vanished: Vec::new(),
            groups,
            miss_rule,
            fail_open_rule,
            packet_in_on_miss: false,
            controllers: false,
            fail_open: false,
            removed: Vec::new(),
            removed_dropped: 0,
        })
    }

    /// Limits the packet-ins this bridge queues to `rate` per second with bursts of
    /// `burst` (OVS's `controller_rate_limit` and `controller_burst_limit`); `None` (the
    /// default, as in OVS) leaves only the queue's bound
    /// ([`PACKET_IN_QUEUE_MAX`](super::PACKET_IN_QUEUE_MAX)).
    pub fn set_packet_in_rate_limit(&self, limit: Option<(u32, u32)>) {
        self.shared.pins.set_rate_limit(limit, self.now());
    }

    /// Packet-ins queued so far, and dropped because the queue was full or by the rate
    /// limit.
    pub fn packet_in_counts(&self) -> (u64, u64, u64) {
        let p = &self.shared.pins;
        (
            p.queued.load(Ordering::Relaxed),
            p.dropped_full.load(Ordering::Relaxed),
            p.dropped_rate.load(Ordering::Relaxed),
        )
    }

    /// Whether the fail-open rule is in force.
    fn fail_open_active(&self) -> bool {
        self.fail_open && self.controllers && self.fail_mode == FailMode::Standalone
    }

    /// Queues removed rules for [`Ofproto::take_flow_removed`], within its bound.
    fn queue_removed(&mut self, rules: impl IntoIterator<Item = (Arc<Rule>, RemovedReason)>) {
        for r in rules {
            if self.removed.len() < REMOVED_MAX {
                self.removed.push(r);
            } else {
                self.removed_dropped += 1;
            }
        }
    }

    /// Recomputes the ports' liveness where their devices changed; republishes if any
    /// liveness changed.
    fn check_liveness(&mut self) {
        let mut changed = false;
        for p in self.ports.values_mut() {
            let seq = p.netdev.change_seq();
            if seq != p.change_seq {
                p.change_seq = seq;
                let live = netdev_live(p.netdev.as_ref());
                changed |= live != p.live;
                p.live = live;
            }
        }
        if changed {
            self.publish();
        }
    }

    /// Translates `flow` (its in_port an OpenFlow port of this bridge) through the tables as
    /// an upcall would, without touching the datapath: the datapath actions and megaflow
    /// mask, the rules hit. With `learn`, NORMAL learns source MACs as for a real packet;
    /// statistics are never credited. For tools and benchmarks; the upcall path does the
    /// same on the handler threads.
    pub fn translate(&self, flow: &Flow, learn: bool) -> Translation {
        let xb = self.shared.snapshot();
        let out = xlate(XlateIn {
            bridge: &xb,
            ml: &self.shared.ml,
            flow: *flow,
            side_effects: learn,
            now_ms: self.now(),
            actions: None,
            trace: None,
        });
        if out.mac_changed {
            self.backer.shared.revalidate();
        }
        Translation {
            mask: out.dp_mask(),
            actions: out.actions,
            wildcards: out.wc,
            final_flow: out.final_flow,
            rules: out.rules,
            error: out.error,
        }
    }

    /// The time: the caller's clock as of the last `run`, or the monotonic clock if later.
    fn now(&self) -> u64 {
        self.now_ms.max(monotonic_ms())
    }

    /// The tables as OpenFlow sees them: with the staged flow-mods.
    fn tables(&self) -> &TableSet {
        self.staged.as_ref().unwrap_or(&self.tables)
    }

    /// The working copy flow-mods change, made from the published tables on first use.
    fn tables_mut(&mut self) -> &mut TableSet {
        let published = &self.tables;
        self.staged.get_or_insert_with(|| (**published).clone())
    }

    /// Publishes staged flow-mods, if any.
    fn publish_staged(&mut self) {
        if self.staged.is_some() {
            self.publish();
        }
    }

    /// Builds and publishes the translation snapshot (with any staged flow-mods), and
    /// has the flows revalidated.
    fn publish(&mut self) {
        if let Some(t) = self.staged.take() {
            self.tables = Arc::new(t);
        }
        let mut ports: BTreeMap<OfpPort, XPort> = BTreeMap::new();
        for (ofp, p) in &self.ports {
            ports.insert(
                *ofp,
                XPort {
                    ofp: *ofp,
                    odp: p.odp,
                    bundle: None,
                    pid: self.backer.shared.dpif.port_get_pid(p.odp),
                    no_flood: false,
                    live: p.live,
                },
            );
        }
        let mut bundles = Vec::with_capacity(self.bundles.len());
        for s in &self.bundles {
            let members: Vec<OfpPort> = s
                .members
                .iter()
                .copied()
                .filter(|m| ports.contains_key(m))
                .collect();
            let idx = bundles.len();
            for m in &members {
                if let Some(xp) = ports.get_mut(m) {
                    xp.bundle = Some(idx);
                }
            }
            bundles.push(xbundle(s, members));
        }
        let xb = XBridge {
            name: self.name.clone(),
            tables: self.tables.clone(),
            ports,
            bundles,
            forward_bpdu: self.forward_bpdu,
            id: self.shared.id,
            groups: self.groups.clone(),
            miss_rule: if self.packet_in_on_miss {
                self.miss_rule.clone()
            } else {
                None
            },
            fail_open: self.fail_open_active().then(|| self.fail_open_rule.clone()),
        };
        *self.shared.xbridge.write() = Arc::new(xb);
        self.backer.shared.revalidate();
    }

    fn set_tables(&mut self, t: TableSet) {
        self.staged = Some(t);
        self.publish();
    }

    /// Forgets a port (already gone from the datapath, or being deleted).
    fn forget_port(&mut self, ofp: OfpPort) -> Option<PortRec> {
        let rec = self.ports.remove(&ofp)?;
        self.numbers.free(ofp);
        let odp = rec.odp.0;
        self.backer.shared.update_ports(|m| {
            m.remove(&odp);
        });
        for b in &mut self.bundles {
            b.members.retain(|m| *m != ofp);
        }
        self.shared.ml.lock().flush_port(ofp);
        self.publish();
        Some(rec)
    }

    fn port_by_name(&self, name: &str) -> Option<(OfpPort, &PortRec)> {
        self.ports
            .iter()
            .find(|(_, p)| p.netdev.name() == name)
            .map(|(o, p)| (*o, p))
    }

    fn expire_rules(&mut self, now: u64) {
        let expired = self.tables().expired(now);
        if expired.is_empty() {
            return;
        }
        let victims: Vec<Arc<Rule>> = expired.iter().map(|(r, _)| r.clone()).collect();
        let mut t = self.tables().clone();
        let gone = t.remove_rules(&victims);
        if gone.is_empty() {
            return;
        }
        let why: BTreeMap<u64, RemovedReason> = expired.iter().map(|(r, w)| (r.id, *w)).collect();
        self.queue_removed(gone.into_iter().map(|r| {
            let w = why
                .get(&r.id)
                .copied()
                .unwrap_or(RemovedReason::IdleTimeout);
            (r, w)
        }));
        self.set_tables(t);
    }

    /// Flushes every OpenFlow rule (tables 0..=253) and, in standalone mode without
    /// controllers, adds back the NORMAL rule (OVS's `ofproto_flush_flows` with
    /// `connmgr_flushed`).
    fn flush_flows(&mut self) -> Result<()> {
        let mut t = self.tables().clone();
        let mut del = FlowMod::new(FlowModCommand::Delete, Match::catchall());
        del.table_id = crate::table::TABLE_ALL;
        t.flow_mod(&del, self.now(), Origin::OpenFlow)?;
        if self.fail_mode == FailMode::Standalone && !self.controllers {
            t.flow_mod(&normal_flow_mod(), self.now(), Origin::OpenFlow)?;
        }
        self.set_tables(t);
        Ok(())
    }
}

fn xbundle(s: &BundleSettings, members: Vec<OfpPort>) -> XBundle {
    let vlan = match s.vlan_mode {
        VlanMode::Trunk => 0,
        _ => s.vlan.unwrap_or(0),
    };
    let trunks = match s.vlan_mode {
        VlanMode::Access => None,
        VlanMode::Trunk => s.trunks.as_ref().map(|t| bitmap(t)),
        VlanMode::NativeTagged | VlanMode::NativeUntagged => {
            // The native VLAN is always carried, VLAN 0 never (as OVS forces it).
            let mut b = match &s.trunks {
                Some(t) => bitmap(t),
                None => VlanBitmap::all(),
            };
            if vlan != 0 {
                b.set(vlan, true);
                b.set(0, false);
            }
            Some(b)
        }
    };
    XBundle {
        name: s.name.clone(),
        members,
        vlan_mode: s.vlan_mode,
        vlan,
        trunks,
        floodable: true,
    }
}

fn bitmap(vids: &[u16]) -> VlanBitmap {
    let mut b = VlanBitmap::new();
    for v in vids {
        b.set(*v, true);
    }
    b
}

impl Ofproto for OfprotoDpif {
    fn name(&self) -> &str {
        &self.name
    }

    fn dp_type(&self) -> &str {
        &self.dp_type
    }

    fn run(&mut self, now_ms: u64) -> Result<()> {
        self.publish_staged();
        self.now_ms = self.now_ms.max(now_ms);
        let now = self.now_ms;
        let b = self.backer.shared.clone();
        b.poll_ports();
        let gone: Vec<String> = std::mem::take(&mut *self.shared.vanished.lock());
        for name in gone {
            if let Some((ofp, _)) = self.port_by_name(&name) {
                tracing::info!("{}: port {name} vanished from the datapath", self.name);
                self.forget_port(ofp);
                self.vanished.push(name);
            }
        }
        if self.shared.ml.lock().run(now) {
            b.revalidate();
        }
        self.check_liveness();
        let dump_seq = b.dump_seq.load(Ordering::Acquire);
        if dump_seq != self.last_dump_seq || now >= self.next_expire_ms {
            self.last_dump_seq = dump_seq;
            self.next_expire_ms = now + EXPIRE_INTERVAL_MS;
            self.expire_rules(now);
        }
        Ok(())
    }

    fn wait(&mut self, poll: &mut PollSet) {
        let now = self.now();
        let mut next = self.next_expire_ms.max(now);
        if let Some(t) = self.shared.ml.lock().next_expiry_ms() {
            next = next.min(t.max(now));
        }
        poll.timer_wait_after(std::time::Duration::from_millis(
            next.saturating_sub(now).min(EXPIRE_INTERVAL_MS),
        ));
        self.backer.shared.dpif.port_poll_wait(poll);
        self.shared.pins.wait(poll);
        if !self.shared.vanished.lock().is_empty() {
            poll.immediate_wake();
        }
    }

    fn destruct(mut self: Box<Self>, delete_dp: bool) {
        let b = self.backer.shared.clone();
        let ofps: Vec<OfpPort> = self.ports.keys().copied().collect();
        for ofp in ofps {
            if let Some(rec) = self.forget_port(ofp)
                && delete_dp
                && let Err(e) = b.dpif.port_del(rec.odp)
            {
                tracing::warn!("{}: deleting port {}: {e}", self.name, rec.netdev.name());
            }
        }
        let name = self.name.clone();
        b.update_bridges(|m| {
            m.remove(&name);
        });
        b.revalidate();
        if delete_dp && Arc::strong_count(&self.backer) == 1 {
            // The last bridge on this datapath: the datapath goes too.
            let dpif = b.dpif.clone();
            drop(self);
            if let Err(e) = dpif.destroy() {
                tracing::warn!("destroying datapath {}: {e}", dpif.name());
            }
        }
    }

    fn set_datapath_id(&mut self, dpid: u64) {
        self.datapath_id = dpid;
    }

    fn datapath_id(&self) -> u64 {
        self.datapath_id
    }

    fn set_fail_mode(&mut self, mode: FailMode) {
        if mode == self.fail_mode {
            return;
        }
        self.fail_mode = mode;
        // With no controller, a fail-mode change flushes the flows (OVS's
        // connmgr_set_fail_mode); with controllers it only changes fail-open.
        if self.controllers {
            self.publish();
        } else if let Err(e) = self.flush_flows() {
            tracing::warn!("{}: flushing flows: {e}", self.name);
        }
    }

    fn set_mac_table_config(&mut self, config: MacTableConfig) {
        let changed = {
            let mut ml = self.shared.ml.lock();
            ml.set_config(config);
            ml.changed()
        };
        if changed {
            self.backer.shared.revalidate();
        }
    }

    fn port_add(&mut self, netdev: Arc<dyn Netdev>, ofp_port: Option<OfpPort>) -> Result<OfpPort> {
        let name = netdev.name().to_owned();
        if self.port_by_name(&name).is_some() {
            return Err(Error::PortExists {
                op: "port add",
                port: name,
            });
        }
        let b = self.backer.shared.clone();
        if b.ports.read().values().any(|o| o.name == name) {
            return Err(Error::PortExists {
                op: "port add",
                port: name,
            });
        }
        let local = name == self.name;
        if local && self.numbers.is_used(OfpPort::LOCAL) {
            return Err(Error::PortExists {
                op: "port add",
                port: "LOCAL".to_owned(),
            });
        }
        if !local
            && let Some(r) = ofp_port
            && r == OfpPort::LOCAL
        {
            return Err(Error::Invalid(format!(
                "{name}: port number 65534 (LOCAL) is the bridge's own port"
            )));
        }
        // A port the datapath already has (a restart over the kernel datapath) is reused.
        let odp = match b.dpif.port_query_by_name(&name) {
            Ok(p) => p.port_no,
            Err(_) => b.dpif.port_add(netdev.clone(), None)?,
        };
        let ofp = if local {
            self.numbers.take(OfpPort::LOCAL);
            OfpPort::LOCAL
        } else {
            match self.numbers.alloc(ofp_port) {
                Some(p) => p,
                None => {
                    let _ = b.dpif.port_del(odp);
                    return Err(Error::Invalid(format!("{name}: no free port number")));
                }
            }
        };
        self.ports.insert(
            ofp,
            PortRec {
                netdev: netdev.clone(),
                odp,
                change_seq: netdev.change_seq(),
                live: netdev_live(netdev.as_ref()),
            },
        );
        let owner = PortOwner {
            bridge: self.shared.clone(),
            ofp,
            name,
            netdev,
        };
        b.update_ports(|m| {
            m.insert(odp.0, owner);
        });
        self.publish();
        Ok(ofp)
    }

    fn port_del(&mut self, ofp_port: OfpPort) -> Result<()> {
        let Some(rec) = self.forget_port(ofp_port) else {
            return Err(Error::NoSuchPort {
                op: "port del",
                port: ofp_port.to_string(),
            });
        };
        match self.backer.shared.dpif.port_del(rec.odp) {
            Ok(()) | Err(dpif::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    fn port_query_by_name(&self, name: &str) -> Result<OfprotoPort> {
        self.port_by_name(name)
            .map(|(ofp, p)| OfprotoPort {
                name: name.to_owned(),
                type_name: p.netdev.type_name().to_owned(),
                ofp_port: ofp,
            })
            .ok_or_else(|| Error::NoSuchPort {
                op: "port query",
                port: name.to_owned(),
            })
    }

    fn port_dump(&self) -> Vec<OfprotoPort> {
        self.ports
            .iter()
            .map(|(ofp, p)| OfprotoPort {
                name: p.netdev.name().to_owned(),
                type_name: p.netdev.type_name().to_owned(),
                ofp_port: *ofp,
            })
            .collect()
    }

    fn port_stats(&self, ofp_port: OfpPort) -> Result<NetdevStats> {
        let p = self.ports.get(&ofp_port).ok_or_else(|| Error::NoSuchPort {
            op: "port stats",
            port: ofp_port.to_string(),
        })?;
        Ok(p.netdev.stats()?)
    }

    fn port_poll(&mut self) -> Vec<String> {
        std::mem::take(&mut self.vanished)
    }

    fn bundle_set(&mut self, name: &str, settings: Option<BundleSettings>) -> Result<()> {
        let pos = self.bundles.iter().position(|b| b.name == name);
        let Some(mut s) = settings else {
            if let Some(i) = pos {
                let old = self.bundles.remove(i);
                {
                    let mut ml = self.shared.ml.lock();
                    for m in &old.members {
                        ml.flush_port(*m);
                    }
                }
                self.publish();
            }
            return Ok(());
        };
        if let Some(v) = s.vlan
            && v > 4095
        {
            return Err(Error::Invalid(format!("{name}: VLAN {v} out of range")));
        }
        if let Some(bad) = s.trunks.iter().flatten().find(|v| **v > 4095) {
            return Err(Error::Invalid(format!(
                "{name}: trunk VLAN {bad} out of range"
            )));
        }
        if let Some(m) = s.members.iter().find(|m| !self.ports.contains_key(m)) {
            return Err(Error::Invalid(format!("{name}: member {m} is not a port")));
        }
        s.name = name.to_owned();
        // A port belongs to one bundle: take the members away from the others.
        for (i, b) in self.bundles.iter_mut().enumerate() {
            if Some(i) != pos {
                b.members.retain(|m| !s.members.contains(m));
            }
        }
        let changed_members: Vec<OfpPort> = match pos {
            Some(i) => {
                let old = &self.bundles[i];
                let mut v: Vec<OfpPort> = old
                    .members
                    .iter()
                    .filter(|m| !s.members.contains(m))
                    .copied()
                    .collect();
                if old.vlan_mode != s.vlan_mode || old.vlan != s.vlan || old.trunks != s.trunks {
                    v.extend(s.members.iter().copied());
                }
                v
            }
            None => Vec::new(),
        };
        if !changed_members.is_empty() {
            let mut ml = self.shared.ml.lock();
            for m in changed_members {
                ml.flush_port(m);
            }
        }
        match pos {
            Some(i) => self.bundles[i] = s,
            None => self.bundles.push(s),
        }
        self.publish();
        Ok(())
    }

    fn flow_mod(&mut self, fm: &FlowMod) -> Result<FlowModResult> {
        if !matches!(
            fm.command,
            FlowModCommand::Delete | FlowModCommand::DeleteStrict
        ) {
            self.groups.check_refs(&fm.actions)?;
        }
        // Staged: published by `publish_flow_mods` (after each batch of OpenFlow
        // messages, before a barrier reply) or the next `run`.
        let now = self.now();
        self.tables_mut().flow_mod(fm, now, Origin::OpenFlow)
    }

    fn rules(&self, query: &RuleQuery) -> Vec<Arc<Rule>> {
        self.tables().rules(query)
    }

    fn publish_flow_mods(&mut self) {
        self.publish_staged();
    }

    fn all_rules(&self, include_hidden: bool) -> Vec<Arc<Rule>> {
        let mut v = self.tables().rules(&RuleQuery {
            include_hidden,
            ..RuleQuery::default()
        });
        if include_hidden && self.fail_open_active() {
            v.insert(0, self.fail_open_rule.clone());
        }
        v
    }

    fn packet_out(
        &mut self,
        mut packet: Packet,
        in_port: OfpPort,
        actions: &[Action],
    ) -> Result<()> {
        self.publish_staged();
        let n_tables = self.tables.n_visible_tables();
        check_actions(actions, &Match::catchall(), 0, n_tables)?;
        self.groups.check_refs(actions)?;
        let odp = match in_port {
            OfpPort::CONTROLLER | OfpPort::NONE => OdpPort::NONE,
            p => self
                .ports
                .get(&p)
                .map(|r| r.odp)
                .ok_or_else(|| Error::NoSuchPort {
                    op: "packet out",
                    port: p.to_string(),
                })?,
        };
        packet.md.in_port = odp.0;
        let mut key = FlowKey::zero();
        odp::extract(&mut packet, &mut key);
        let flow = Flow::from_dp_key(&key, in_port);
        let xb = self.shared.snapshot();
        let out = xlate(XlateIn {
            bridge: &xb,
            ml: &self.shared.ml,
            flow,
            side_effects: true,
            now_ms: self.now(),
            actions: Some(actions),
            trace: None,
        });
        if out.mac_changed {
            self.backer.shared.revalidate();
        }
        if out.actions.is_empty() {
            return Ok(());
        }
        let r = self
            .backer
            .shared
            .dpif
            .operate(vec![DpifOp::Execute(Execute {
                packet,
                actions: out.actions,
                probe: false,
                mtu: 0,
            })]);
        match r.into_iter().next() {
            Some(Err(e)) => Err(e.into()),
            _ => Ok(()),
        }
    }

    fn fdb(&self) -> Vec<FdbEntry> {
        self.shared.ml.lock().entries(self.now())
    }

    fn fdb_flush(&mut self) {
        self.shared.ml.lock().flush();
        self.backer.shared.revalidate();
    }

    fn trace(&self, flow: &Flow, packet: Option<&Packet>) -> Result<String> {
        let xb = self.shared.snapshot();
        let in_port = flow.in_port();
        let pseudo = [OfpPort::NONE, OfpPort::CONTROLLER];
        if !xb.ports.contains_key(&in_port) && !pseudo.contains(&in_port) {
            return Err(Error::Invalid(format!(
                "{in_port}: no such port on bridge {}",
                self.name
            )));
        }
        let mut trace = Trace::new();
        let out = xlate(XlateIn {
            bridge: &xb,
            ml: &self.shared.ml,
            flow: *flow,
            side_effects: packet.is_some(),
            now_ms: self.now(),
            actions: None,
            trace: Some(&mut trace),
        });
        if out.mac_changed {
            self.backer.shared.revalidate();
        }
        Ok(super::show::format_trace(flow, &trace, &out))
    }

    fn group_mod(&mut self, gm: &GroupMod) -> Result<()> {
        let mut groups = (*self.groups).clone();
        let deleted = groups.group_mod(gm, self.now(), self.tables().n_visible_tables())?;
        if !deleted.is_empty() {
            // Rules that send to a deleted group go with it (OFPRR_GROUP_DELETE).
            let mut t = self.tables().clone();
            let mut victims: Vec<Arc<Rule>> = Vec::new();
            for id in &deleted {
                for r in t.rules(&RuleQuery {
                    out_group: *id,
                    ..RuleQuery::default()
                }) {
                    if !victims.iter().any(|v| v.id == r.id) {
                        victims.push(r);
                    }
                }
            }
            let gone = t.remove_rules(&victims);
            self.queue_removed(gone.into_iter().map(|r| (r, RemovedReason::GroupDelete)));
            self.staged = Some(t);
        }
        self.groups = Arc::new(groups);
        self.publish();
        Ok(())
    }

    fn group_descs(&self) -> Vec<GroupDesc> {
        self.groups.descs()
    }

    fn group_stats(&self, group_id: u32) -> Vec<GroupStats> {
        let tables = self.tables();
        self.groups.stats(group_id, self.now(), |id| {
            let n = tables
                .rules(&RuleQuery {
                    out_group: id,
                    ..RuleQuery::default()
                })
                .len();
            u32::try_from(n).unwrap_or(u32::MAX)
        })
    }

    fn take_packet_ins(&mut self) -> Vec<PacketIn> {
        self.shared.pins.take()
    }

    fn take_flow_removed(&mut self) -> Vec<(Arc<Rule>, RemovedReason)> {
        if self.removed_dropped > 0 {
            tracing::warn!(
                "{}: {} removed rules were not reported (nobody took them)",
                self.name,
                self.removed_dropped
            );
            self.removed_dropped = 0;
        }
        std::mem::take(&mut self.removed)
    }

    fn set_packet_in_on_miss(&mut self, on: bool) {
        if on != self.packet_in_on_miss {
            self.packet_in_on_miss = on;
            self.publish();
        }
    }

    fn set_controllers_configured(&mut self, configured: bool) {
        if configured == self.controllers {
            return;
        }
        self.controllers = configured;
        // OVS flushes the flows when controllers come or go (connmgr_set_controllers).
        if let Err(e) = self.flush_flows() {
            tracing::warn!("{}: flushing flows: {e}", self.name);
        }
    }

    fn set_fail_open(&mut self, on: bool) {
        if on == self.fail_open {
            return;
        }
        let was = self.fail_open_active();
        self.fail_open = on;
        if was != self.fail_open_active() {
            tracing::info!(
                "{}: {} fail-open mode",
                self.name,
                if on { "entering" } else { "leaving" }
            );
            self.publish();
        }
    }
}
