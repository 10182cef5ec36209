//! Translation ("xlate"): an OpenFlow pipeline walk that turns a packet's [`Flow`] into
//! datapath actions and the megaflow mask they are valid for (OVS's
//! `ofproto-dpif-xlate.c`).
//!
//! # What it does
//!
//! [`xlate`] looks the flow up in table 0 (or runs the actions of a packet-out), executes
//! the OpenFlow actions on a working copy of the flow, and emits datapath actions:
//!
//! * header rewrites (`set_field`, `mod_*`, `load`, `move`, VLAN push/pop) change the
//!   working flow only; right before each output, the fields that now differ from what the
//!   packet carries are *committed* as datapath `set`/`set_masked`, `push_vlan` and
//!   `pop_vlan` actions ([`commit`]);
//! * `output`, `IN_PORT`, `LOCAL`, `FLOOD`, `ALL`, `NORMAL` ([`normal`]) and `CONTROLLER`
//!   (a `userspace` action whose userdata is a [`ControllerCookie`]);
//! * `group`: every bucket of an `all` group, the one bucket of an `indirect` group, the
//!   first live bucket of a fast failover group, and for a `select` group the live bucket
//!   with the highest weighted score of a symmetric hash of the flow's L2-L4 fields (the
//!   hashed fields go into the megaflow). Each bucket runs on its own copy of the flow
//!   state, as OVS's; buckets count as one nesting level;
//! * a table miss of the first lookup or a `goto_table` runs table 254's miss rule (a
//!   packet-in with reason no_match) when the bridge sends misses to the controller, and
//!   drops otherwise; a bridge in fail-open mode runs a hidden `NORMAL` rule before table 0;
//! * `goto_table` and `resubmit` look up again (depth limit 64, at most 4096 resubmits per
//!   translation, as OVS); `write_actions`/`clear_actions` build the action set, run when
//!   the pipeline ends; `write_metadata` and register writes only change the flow.
//!
//! Every bit a lookup or an action examined is recorded in the wildcards: that is the
//! megaflow. Nothing else is: two packets that differ only in bits no rule looked at get
//! the same datapath flow.
//!
//! # Side effects
//!
//! With `side_effects` (an upcall for a real packet, or a trace of a packet), NORMAL
//! learns source MACs into the bridge's table and lookups count in the tables' statistics.
//! Without (revalidation, a trace of a bare flow) translation only reads. Either way the
//! result lists the rules hit and the MAC entries the packet would refresh, so that the
//! caller can credit statistics and keep entries alive while a megaflow is in use.

mod commit;
pub(crate) mod normal;

use std::collections::BTreeMap;
use std::sync::Arc;

use dpif::odp::{self, OdpPort};
use netdev::EthAddr;
use parking_lot::Mutex;

use super::cookie::{ControllerCookie, reason_number};
use super::groups::{Group, GroupTable};
use super::mac_learning::MacTable;
use super::trace::{NodeKind, Trace};
use crate::actions::{Action, PacketInReason};
use crate::fields::Field;
use crate::flow::{Flow, FlowWildcards, OfpPort, loc};
use crate::group::{Bucket, GROUP_NONE, GroupType};
use crate::provider::VlanMode;
use crate::rule::Rule;
use crate::table::TableSet;

/// Deepest nesting of `resubmit`s that go back to the same or an earlier table (OVS's
/// `MAX_DEPTH`).
pub const MAX_DEPTH: u32 = 64;
/// Most `resubmit`s and `goto_table`s in one translation (OVS's `MAX_RESUBMITS`).
pub const MAX_RESUBMITS: u32 = 4096;

/// A 4096-bit set of VLAN ids.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct VlanBitmap(Box<[u64; 64]>);

impl VlanBitmap {
    pub(crate) fn new() -> VlanBitmap {
        VlanBitmap(Box::new([0; 64]))
    }

    pub(crate) fn all() -> VlanBitmap {
        VlanBitmap(Box::new([u64::MAX; 64]))
    }

    pub(crate) fn set(&mut self, vid: u16, on: bool) {
        let (w, b) = (usize::from(vid >> 6) & 63, vid & 63);
        if on {
            self.0[w] |= 1 << b;
        } else {
            self.0[w] &= !(1 << b);
        }
    }

    pub(crate) fn contains(&self, vid: u16) -> bool {
        let (w, b) = (usize::from(vid >> 6) & 63, vid & 63);
        self.0[w] & (1 << b) != 0
    }
}

/// A port as translation sees it.
#[derive(Clone, Debug)]
pub(crate) struct XPort {
    pub ofp: OfpPort,
    pub odp: OdpPort,
    /// Index of its bundle in [`XBridge::bundles`].
    pub bundle: Option<usize>,
    /// The netlink pid for `userspace` actions of packets from this port.
    pub pid: u32,
    /// Left out of `FLOOD` (OpenFlow `OFPPC_NO_FLOOD`).
    pub no_flood: bool,
    /// Up and with carrier: a fast failover bucket watching it may run.
    pub live: bool,
}

/// A bundle (an OVSDB `Port`) as NORMAL sees it.
#[derive(Clone, Debug)]
pub(crate) struct XBundle {
    pub name: String,
    pub members: Vec<OfpPort>,
    pub vlan_mode: VlanMode,
    /// The access or native VLAN (0 for a trunk).
    pub vlan: u16,
    /// The VLANs a non-access bundle carries; `None`: all.
    pub trunks: Option<VlanBitmap>,
    pub floodable: bool,
}

impl XBundle {
    pub(crate) fn trunks_vlan(&self, vid: u16) -> bool {
        self.vlan_mode != VlanMode::Access && self.trunks.as_ref().is_none_or(|t| t.contains(vid))
    }
}

/// What translation reads of one bridge: a snapshot, replaced as a whole on any change.
#[derive(Clone, Debug)]
pub(crate) struct XBridge {
    pub name: String,
    pub tables: Arc<TableSet>,
    pub ports: BTreeMap<OfpPort, XPort>,
    pub bundles: Vec<XBundle>,
    pub forward_bpdu: bool,
    /// The bridge's number within its datapath (packet-ins find their bridge by it).
    pub id: u32,
    /// The groups.
    pub groups: Arc<GroupTable>,
    /// Table 254's miss rule, when table misses go to the controller.
    pub miss_rule: Option<Arc<Rule>>,
    /// The hidden fail-open rule (`NORMAL` above everything in table 0), when active.
    pub fail_open: Option<Arc<Rule>>,
}

/// A group (`bucket: None`) or one of its buckets that a translation ran, to credit.
#[derive(Clone, Debug)]
pub(crate) struct GroupHit {
    pub group: Arc<Group>,
    pub bucket: Option<usize>,
}

/// A MAC address a translated packet would teach the bridge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Learn {
    pub vlan: u16,
    pub mac: EthAddr,
    pub port: OfpPort,
}

/// Why translation failed (OVS's `enum xlate_error`); the packet is dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum XlateError {
    /// Resubmits nested deeper than [`MAX_DEPTH`].
    RecursionTooDeep,
    /// More than [`MAX_RESUBMITS`] resubmits.
    TooManyResubmits,
}

impl std::fmt::Display for XlateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            XlateError::RecursionTooDeep => "Recursion too deep",
            XlateError::TooManyResubmits => "Too many resubmits",
        })
    }
}

/// The input of a translation.
pub(crate) struct XlateIn<'a> {
    pub bridge: &'a XBridge,
    pub ml: &'a Mutex<MacTable>,
    /// The packet's flow, with the OpenFlow in_port.
    pub flow: Flow,
    /// Learn MACs and count lookups.
    pub side_effects: bool,
    /// The time to learn at.
    pub now_ms: u64,
    /// Actions to run instead of looking up table 0 (packet-out).
    pub actions: Option<&'a [Action]>,
    /// Where to report what happens, for `ofproto/trace`.
    pub trace: Option<&'a mut Trace>,
}

/// The result of a translation.
#[derive(Clone, Debug)]
pub(crate) struct XlateOut {
    /// The datapath actions (empty: drop).
    pub actions: Vec<odp::Action>,
    /// Every bit examined.
    pub wc: FlowWildcards,
    /// The flow after the actions.
    pub final_flow: Flow,
    /// The rules hit, in order (a rule hit twice appears twice).
    pub rules: Vec<Arc<Rule>>,
    /// The groups and buckets run.
    pub groups: Vec<GroupHit>,
    /// The MAC entries the packet refreshes.
    pub learned: Vec<Learn>,
    /// Whether learning changed the MAC table (new or moved entries).
    pub mac_changed: bool,
    /// Why translation failed, if it did (the actions are then empty).
    pub error: Option<XlateError>,
}

impl XlateOut {
    /// The megaflow mask for the datapath: the wildcards, plus the VLAN presence bits and
    /// TPIDs (a datapath flow always tells tagged from untagged packets and 802.1Q from
    /// 802.1ad, as OVS's netlink masks and dpif-netdev do), the input port and the packet
    /// type.
    pub(crate) fn dp_mask(&self) -> odp::FlowKey {
        let mut m = self.wc.to_dp_mask();
        for v in &mut m.vlans {
            v.tci |= odp::vlan::CFI;
            v.tpid = u16::MAX;
        }
        m.in_port = u32::MAX;
        m
    }
}

/// How a table is reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Via {
    /// The first lookup.
    Start,
    /// `goto_table`.
    Goto,
    /// `resubmit` (or `output:TABLE`).
    Resubmit,
}

pub(crate) struct Ctx<'a> {
    br: &'a XBridge,
    ml: &'a Mutex<MacTable>,
    side_effects: bool,
    now_ms: u64,
    trace: Option<&'a mut Trace>,
    /// The working flow.
    flow: Flow,
    /// What the packet in the datapath carries now (the flow as of the last commit).
    base: Flow,
    wc: FlowWildcards,
    odp: Vec<odp::Action>,
    depth: u32,
    resubmits: u32,
    table_id: u8,
    rule: Option<Arc<Rule>>,
    rules: Vec<Arc<Rule>>,
    groups: Vec<GroupHit>,
    action_set: Vec<Action>,
    /// Stop everything (an error).
    exit: bool,
    /// Stop the current action list (a `dec_ttl` exception).
    stop_list: bool,
    error: Option<XlateError>,
    learned: Vec<Learn>,
    mac_changed: bool,
    in_action_set: bool,
    in_packet_out: bool,
    /// Nesting of group buckets being run.
    in_group: u32,
}

/// Translates `xin` (see the module docs).
pub(crate) fn xlate(xin: XlateIn<'_>) -> XlateOut {
    let flow = xin.flow;
    let mut ctx = Ctx {
        br: xin.bridge,
        ml: xin.ml,
        side_effects: xin.side_effects,
        now_ms: xin.now_ms,
        trace: xin.trace,
        flow,
        base: flow,
        wc: FlowWildcards::catchall(),
        odp: Vec::new(),
        depth: 0,
        resubmits: 0,
        table_id: 0,
        rule: None,
        rules: Vec::new(),
        groups: Vec::new(),
        action_set: Vec::new(),
        exit: false,
        stop_list: false,
        error: None,
        learned: Vec::new(),
        mac_changed: false,
        in_action_set: false,
        in_packet_out: false,
        in_group: 0,
    };
    // Fields every megaflow matches (OVS's xlate_wc_init).
    ctx.wc.unwildcard_loc(loc::IN_PORT);
    ctx.wc.unwildcard_loc(loc::DL_TYPE);
    ctx.wc.unwildcard_loc(loc::RECIRC_ID);
    if flow.is_ip() {
        ctx.wc
            .unwildcard_loc_bits(loc::NW_FRAG, u128::from(odp::frag::MASK));
    }
    let mark = ctx.enter(NodeKind::Bridge, || {
        format!("bridge(\"{}\")", xin.bridge.name)
    });
    match xin.actions {
        Some(list) => {
            ctx.in_packet_out = true;
            ctx.do_actions(list);
        }
        None => ctx.xlate_table(None, 0, Via::Start),
    }
    if ctx.error.is_none() {
        ctx.run_action_set();
    }
    ctx.restore(mark);
    if ctx.error.is_some() {
        ctx.odp.clear();
    }
    ctx.finish_wc(&flow);
    XlateOut {
        actions: ctx.odp,
        wc: ctx.wc,
        final_flow: ctx.flow,
        rules: ctx.rules,
        groups: ctx.groups,
        learned: ctx.learned,
        mac_changed: ctx.mac_changed,
        error: ctx.error,
    }
}

impl<'a> Ctx<'a> {
    fn tracing(&self) -> bool {
        self.trace.is_some()
    }

    fn report(&mut self, kind: NodeKind, text: impl FnOnce() -> String) {
        if let Some(t) = self.trace.as_deref_mut() {
            t.report(kind, text());
        }
    }

    fn enter(&mut self, kind: NodeKind, text: impl FnOnce() -> String) -> usize {
        match self.trace.as_deref_mut() {
            Some(t) => t.enter(kind, text()),
            None => 0,
        }
    }

    fn restore(&mut self, mark: usize) {
        if let Some(t) = self.trace.as_deref_mut() {
            t.restore(mark);
        }
    }

    /// Records an error (OVS's `xlate_report_error`): in a trace as an error line.
    fn report_error(&mut self, text: impl FnOnce() -> String) {
        if self.tracing() {
            self.report(NodeKind::Error, text);
        } else {
            tracing::debug!(bridge = %self.br.name, "{}", text());
        }
    }

    /// OVS's `xlate_wc_finish`.
    fn finish_wc(&mut self, initial: &Flow) {
        let m = &mut self.wc.masks;
        // Registers and metadata never reach the datapath.
        for i in 0..crate::flow::N_REGS {
            m.set_reg(i, 0);
        }
        m.set_metadata(0);
        // ICMP type and code are 8 bits in the datapath.
        let icmp = (initial.dl_type() == odp::eth_type::IPV4 && initial.nw_proto() == 1)
            || (initial.dl_type() == odp::eth_type::IPV6 && initial.nw_proto() == 58);
        if icmp {
            let (s, d) = (m.tp_src() & 0xff, m.tp_dst() & 0xff);
            m.set_tp_src(s);
            m.set_tp_dst(d);
        }
        // Later fragments have no L4 header.
        if initial.nw_frag() & odp::frag::LATER != 0 {
            m.set_tp_src(0);
            m.set_tp_dst(0);
        }
        for i in 0..2 {
            let mut v = m.vlan(i);
            if v.tci != 0 {
                v.tci |= odp::vlan::CFI;
            }
            // Tags the packet did not have cannot be matched on.
            if !initial.vlan(i).present() {
                v = odp::Vlan::default();
            }
            m.set_vlan(i, v);
        }
    }

    fn lookup(&mut self, table_id: u8) -> Option<Arc<Rule>> {
        let br = self.br;
        let t = br.tables.table(table_id)?;
        let r = t.lookup(&self.flow, Some(&mut self.wc)).cloned();
        if self.side_effects {
            t.count_lookup(r.is_some());
        }
        r
    }

    /// Looks up `table_id` (with `in_port` as the input port, if given) and runs the
    /// rule's actions (OVS's `xlate_table_action`).
    fn xlate_table(&mut self, in_port: Option<OfpPort>, table_id: u8, via: Via) {
        if via != Via::Start {
            if self.depth >= MAX_DEPTH {
                self.report_error(|| format!("over max translation depth {MAX_DEPTH}"));
                self.error = Some(XlateError::RecursionTooDeep);
                self.exit = true;
                return;
            }
            if self.resubmits >= MAX_RESUBMITS {
                self.report_error(|| format!("over {MAX_RESUBMITS} resubmit actions"));
                self.error = Some(XlateError::TooManyResubmits);
                self.exit = true;
                return;
            }
            self.resubmits += 1;
        }
        let old_in_port = self.flow.in_port();
        if let Some(p) = in_port {
            self.flow.set_in_port(p);
        }
        let rule = match &self.br.fail_open {
            Some(r) if via == Via::Start => Some(r.clone()),
            _ => self.lookup(table_id),
        };
        self.flow.set_in_port(old_in_port);
        let old_table = self.table_id;
        self.table_id = table_id;
        match rule {
            Some(rule) => {
                let deepens = via == Via::Resubmit && table_id <= old_table;
                let mark = self.enter(NodeKind::Table, || table_text(table_id, &rule));
                if deepens {
                    self.depth += 1;
                }
                let old_rule = self.rule.replace(rule.clone());
                self.rules.push(rule.clone());
                self.do_actions(&rule.actions);
                self.stop_list = false;
                self.rule = old_rule;
                if deepens {
                    self.depth -= 1;
                }
                self.restore(mark);
            }
            None => {
                // A miss of the first lookup or of a goto_table runs table 254's miss rule
                // (packet-in) when a controller asks for misses, its "no packet-in" rule
                // (drop) otherwise; a resubmit that misses does nothing.
                let mark = self.enter(NodeKind::Table, || format!("{table_id:2}. No match."));
                match &self.br.miss_rule {
                    Some(miss) if via != Via::Resubmit => {
                        let miss = miss.clone();
                        let old_rule = self.rule.replace(miss.clone());
                        self.rules.push(miss.clone());
                        self.do_actions(&miss.actions);
                        self.stop_list = false;
                        self.rule = old_rule;
                    }
                    _ => self.report(NodeKind::Action, || "drop".to_owned()),
                }
                self.restore(mark);
            }
        }
        self.table_id = old_table;
    }

    fn do_actions(&mut self, list: &[Action]) {
        if list.is_empty() {
            self.report(NodeKind::Action, || "drop".to_owned());
        }
        for a in list {
            if self.exit || self.stop_list {
                break;
            }
            if self.tracing() {
                self.report(NodeKind::Action, || {
                    let mut s = String::new();
                    crate::ofctl::format::format_action(&mut s, a, None);
                    s
                });
            }
            self.do_action(a);
        }
    }

    fn do_action(&mut self, a: &Action) {
        match a {
            Action::Output(p) => self.output(*p, u16::MAX),
            Action::OutputReg { src, max_len } => {
                src.unwildcard(&mut self.wc);
                let v = src.get(&self.flow);
                let port = OfpPort(u32::try_from(v & 0xffff).unwrap_or(0));
                self.output(port, *max_len);
            }
            Action::Controller(c) => {
                self.controller(c.reason, c.max_len, c.controller_id, c.userdata.as_deref());
            }
            Action::Enqueue { port, .. } => self.output(*port, u16::MAX),
            Action::DecTtl(ids) => self.dec_ttl(ids),
            Action::Resubmit { port, table } => {
                let t = table.unwrap_or(self.table_id);
                let p = port.filter(|p| *p != OfpPort::IN_PORT);
                self.xlate_table(p, t, Via::Resubmit);
            }
            Action::GotoTable(t) => self.xlate_table(None, *t, Via::Goto),
            Action::ClearActions => self.action_set.clear(),
            Action::WriteActions(list) => self.write_actions(list),
            Action::WriteMetadata { value, mask } => {
                let m = self.flow.metadata();
                self.flow.set_metadata((m & !mask) | (value & mask));
            }
            Action::Group(g) => self.xlate_group(*g),
            Action::Meter(_) | Action::Note(_) | Action::SetQueue(_) | Action::PopQueue => {}
            other => self.rewrite(other),
        }
    }

    /// A header or metadata rewrite: un-wildcard what it writes (so that the megaflow pins
    /// the value the commit compares against), then apply it.
    fn rewrite(&mut self, a: &Action) {
        let wc = &mut self.wc;
        let flow = &self.flow;
        match a {
            Action::SetField { field, mask, .. } if field.prereqs_ok(flow, None) => {
                unwildcard_field(wc, *field, *mask);
            }
            Action::Load { dst, .. } | Action::Move { dst, .. }
                if dst.field.prereqs_ok(flow, None) =>
            {
                dst.unwildcard(wc);
            }
            Action::SetEthSrc(_) => Field::EthSrc.unwildcard(wc),
            Action::SetEthDst(_) => Field::EthDst.unwildcard(wc),
            Action::SetIpv4Src(_) if flow.dl_type() == odp::eth_type::IPV4 => {
                wc.unwildcard_loc(loc::NW_SRC);
            }
            Action::SetIpv4Dst(_) if flow.dl_type() == odp::eth_type::IPV4 => {
                wc.unwildcard_loc(loc::NW_DST);
            }
            Action::SetIpDscp(_) => unwildcard_field(wc, Field::NwTos, 0xfc),
            Action::SetIpEcn(_) => unwildcard_field(wc, Field::IpEcn, 0x3),
            Action::SetIpTtl(_) => unwildcard_field(wc, Field::IpTtl, 0xff),
            Action::SetL4Src(_) => wc.unwildcard_loc(loc::TP_SRC),
            Action::SetL4Dst(_) => wc.unwildcard_loc(loc::TP_DST),
            Action::SetVlanVid(_) => wc.unwildcard_loc_bits(
                loc::VLAN0_TCI,
                u128::from(odp::vlan::VID_MASK | odp::vlan::CFI),
            ),
            Action::SetVlanPcp(_) => wc.unwildcard_loc_bits(
                loc::VLAN0_TCI,
                u128::from(odp::vlan::PCP_MASK | odp::vlan::CFI),
            ),
            Action::StripVlan | Action::PopVlan | Action::PushVlan(_) => {
                // Popping or pushing moves the tags: all of them are looked at.
                for (tpid, tci) in [
                    (loc::VLAN0_TPID, loc::VLAN0_TCI),
                    (loc::VLAN1_TPID, loc::VLAN1_TCI),
                ] {
                    wc.unwildcard_loc(tpid);
                    wc.unwildcard_loc(tci);
                }
            }
            _ => {}
        }
        if !a.apply_to_flow(&mut self.flow, Some(&mut self.wc)) {
            self.report(NodeKind::Warn, || "unsupported action, ignored".to_owned());
        }
    }

    fn write_actions(&mut self, list: &[Action]) {
        for a in list {
            let k = set_slot(a);
            self.action_set.retain(|x| set_slot(x) != k);
            self.action_set.push(a.clone());
        }
        if self.tracing() {
            let s = crate::ofctl::format::actions_to_string(
                &ordered_action_set(&self.action_set),
                None,
            );
            self.report(NodeKind::Detail, || format!("action set is now: {s}"));
        }
    }

    fn run_action_set(&mut self) {
        if self.action_set.is_empty() {
            return;
        }
        let list = ordered_action_set(&std::mem::take(&mut self.action_set));
        self.in_action_set = true;
        let mark = self.enter(NodeKind::Table, || "--. Executing action set:".to_owned());
        self.do_actions(&list);
        self.restore(mark);
        self.in_action_set = false;
    }

    /// Output to an OpenFlow port, reserved ports included (OVS's `xlate_output_action`).
    fn output(&mut self, port: OfpPort, max_len: u16) {
        let in_port = self.flow.in_port();
        match port {
            OfpPort::IN_PORT => self.compose_output(in_port),
            OfpPort::TABLE => {
                if self.in_packet_out {
                    self.xlate_table(Some(in_port), 0, Via::Resubmit);
                } else {
                    self.report(NodeKind::Warn, || {
                        "output to TABLE outside a packet-out, ignored".to_owned()
                    });
                }
            }
            OfpPort::NORMAL => normal::xlate_normal(self),
            OfpPort::FLOOD => self.flood(false),
            OfpPort::ALL => self.flood(true),
            OfpPort::CONTROLLER => {
                self.controller(PacketInReason::Action, max_len, 0, None);
            }
            OfpPort::NONE => {}
            p => {
                if p == in_port {
                    self.report(NodeKind::Warn, || {
                        "skipping output to input port".to_owned()
                    });
                } else {
                    self.compose_output(p);
                }
            }
        }
    }

    /// Commits the pending header changes and outputs to `ofp` (OVS's
    /// `compose_output_action`).
    pub(crate) fn compose_output(&mut self, ofp: OfpPort) {
        let br = self.br;
        let Some(xp) = br.ports.get(&ofp) else {
            self.report(NodeKind::Warn, || "Nonexistent output port".to_owned());
            return;
        };
        self.commit();
        self.odp.push(odp::Action::Output(xp.odp));
    }

    fn commit(&mut self) {
        commit::commit(&self.flow, &mut self.base, &mut self.wc, &mut self.odp);
    }

    fn flood(&mut self, all: bool) {
        let br = self.br;
        let in_port = self.flow.in_port();
        for xp in br.ports.values() {
            if xp.ofp != in_port && (all || !xp.no_flood) {
                self.compose_output(xp.ofp);
            }
        }
    }

    /// Sends the packet to the controllers: a `userspace` action carrying a
    /// [`ControllerCookie`].
    fn controller(
        &mut self,
        reason: PacketInReason,
        max_len: u16,
        controller_id: u16,
        userdata: Option<&[u8]>,
    ) {
        let reason = if self.in_packet_out {
            PacketInReason::PacketOut
        } else if self.in_group > 0 && reason == PacketInReason::Action {
            PacketInReason::Group
        } else if self.in_action_set && reason == PacketInReason::Action {
            PacketInReason::ActionSet
        } else if reason == PacketInReason::Action
            && self
                .rule
                .as_ref()
                .is_some_and(|r| r.priority == 0 && r.match_.is_catchall())
        {
            // A table-miss flow's controller action reports a miss.
            PacketInReason::ExplicitMiss
        } else {
            reason
        };
        // A miss has no OpenFlow rule: its packet-in carries cookie all-ones.
        let rule_cookie = match (&self.rule, reason) {
            (_, PacketInReason::ImplicitMiss) | (None, _) => u64::MAX,
            (Some(r), _) => r.cookie,
        };
        let cookie = ControllerCookie {
            reason: reason_number(reason),
            dont_send: false,
            continuation: false,
            recirc_id: 0,
            rule_cookie,
            controller_id,
            max_len,
            table_id: self.table_id,
            bridge_id: self.br.id,
            in_port: self.flow.in_port().0,
        };
        self.commit();
        let br = self.br;
        let pid = br.ports.get(&self.flow.in_port()).map_or(0, |p| p.pid);
        self.odp.push(odp::Action::Userspace(odp::Userspace {
            pid,
            userdata: Some(cookie.encode(userdata.unwrap_or_default())),
            egress_tun_port: None,
            actions: false,
        }));
    }

    /// Runs group `id` (OVS's `xlate_group_action`).
    fn xlate_group(&mut self, id: u32) {
        let br = self.br;
        let Some(g) = br.groups.get(id) else {
            self.report(NodeKind::Warn, || format!("group {id} does not exist"));
            return;
        };
        if self.depth >= MAX_DEPTH {
            self.report_error(|| format!("over max translation depth {MAX_DEPTH}"));
            self.error = Some(XlateError::RecursionTooDeep);
            self.exit = true;
            return;
        }
        self.groups.push(GroupHit {
            group: g.clone(),
            bucket: None,
        });
        self.depth += 1;
        self.in_group += 1;
        match g.type_ {
            GroupType::All => {
                for i in 0..g.buckets.len() {
                    if self.exit {
                        break;
                    }
                    self.xlate_bucket(g, i);
                }
            }
            GroupType::Indirect => {
                if !g.buckets.is_empty() {
                    self.xlate_bucket(g, 0);
                }
            }
            GroupType::Select => match self.select_bucket(g) {
                Some(i) => self.xlate_bucket(g, i),
                None => self.report(NodeKind::Warn, || "no live bucket, dropping".to_owned()),
            },
            GroupType::FastFailover => {
                match g.buckets.iter().position(|b| self.bucket_live(b, 0)) {
                    Some(i) => self.xlate_bucket(g, i),
                    None => {
                        self.report(NodeKind::Warn, || "no live bucket, dropping".to_owned());
                    }
                }
            }
        }
        self.in_group -= 1;
        self.depth -= 1;
    }

    /// Runs bucket `i` of `g` on a copy of the flow state: whatever it changes is undone
    /// afterwards, as if each bucket had its own copy of the packet.
    fn xlate_bucket(&mut self, g: &'a Arc<Group>, i: usize) {
        let Some(b) = g.buckets.get(i) else { return };
        self.groups.push(GroupHit {
            group: g.clone(),
            bucket: Some(i),
        });
        let mark = self.enter(NodeKind::Bucket, || format!("bucket {i}"));
        let saved = self.flow;
        self.do_actions(&b.actions);
        self.stop_list = false;
        self.flow = saved;
        self.restore(mark);
    }

    /// Whether bucket `b` may run: it watches nothing, or a live port, or a live group.
    fn bucket_live(&self, b: &Bucket, depth: u32) -> bool {
        if b.watch_port == OfpPort::ANY && b.watch_group == GROUP_NONE {
            return true;
        }
        let port_live = b.watch_port != OfpPort::ANY
            && self.br.ports.get(&b.watch_port).is_some_and(|p| p.live);
        port_live
            || (b.watch_group != GROUP_NONE
                && depth < MAX_DEPTH
                && self
                    .br
                    .groups
                    .get(b.watch_group)
                    .is_some_and(|g| g.buckets.iter().any(|x| self.bucket_live(x, depth + 1))))
    }

    /// The bucket a select group runs for this flow: among live buckets, the highest score
    /// of a per-bucket hash of the flow's symmetric L2-L4 hash times the bucket's weight
    /// (rendezvous hashing, as OVS's default selection method), so that a bucket going
    /// down only moves the flows that used it.
    fn select_bucket(&mut self, g: &Group) -> Option<usize> {
        let basis = symmetric_l4_hash(&self.flow, &mut self.wc);
        let mut best: Option<(usize, u64)> = None;
        for (i, b) in g.buckets.iter().enumerate() {
            if !self.bucket_live(b, 0) {
                continue;
            }
            let h = odp::hash::hash_words(&[u64::try_from(i).unwrap_or(u64::MAX)], basis);
            let score = (h & 0xffff) * u64::from(b.weight);
            if best.is_none_or(|(_, s)| score >= s) {
                best = Some((i, score));
            }
        }
        best.map(|(i, _)| i)
    }

    fn dec_ttl(&mut self, ids: &[u16]) {
        if !self.flow.is_ip() {
            return;
        }
        self.wc.unwildcard_loc(loc::NW_TTL);
        let ttl = self.flow.nw_ttl();
        if ttl > 1 {
            self.flow.set_nw_ttl(ttl - 1);
            return;
        }
        let ids: Vec<u16> = if ids.is_empty() {
            vec![0]
        } else {
            ids.to_vec()
        };
        for id in ids {
            self.controller(PacketInReason::InvalidTtl, u16::MAX, id, None);
        }
        let v = if self.flow.dl_type() == odp::eth_type::IPV4 {
            4
        } else {
            6
        };
        self.report(NodeKind::Warn, || format!("IPv{v} decrement TTL exception"));
        self.stop_list = true;
    }
}

/// A hash of the flow's Ethernet addresses, ethertype, VLAN id, IP addresses and protocol,
/// and L4 ports, the same for both directions of a connection (OVS's
/// `flow_hash_symmetric_l4`); un-wildcards what it hashes.
fn symmetric_l4_hash(f: &Flow, wc: &mut FlowWildcards) -> u64 {
    let low = |v: u128| u64::try_from(v & u128::from(u64::MAX)).unwrap_or(0);
    let high = |v: u128| u64::try_from(v >> 64).unwrap_or(0);
    let mut w = [0u64; 6];
    wc.unwildcard_loc(loc::ETH_SRC);
    wc.unwildcard_loc(loc::ETH_DST);
    wc.unwildcard_loc(loc::DL_TYPE);
    let vid_bits = u128::from(odp::vlan::VID_MASK | odp::vlan::CFI);
    wc.unwildcard_loc_bits(loc::VLAN0_TCI, vid_bits);
    w[0] = low(f.get_loc(loc::ETH_SRC) ^ f.get_loc(loc::ETH_DST));
    w[1] = low(f.get_loc(loc::DL_TYPE)) | (low(f.get_loc(loc::VLAN0_TCI) & vid_bits) << 16);
    let l4 = match f.dl_type() {
        odp::eth_type::IPV4 => {
            wc.unwildcard_loc(loc::NW_SRC);
            wc.unwildcard_loc(loc::NW_DST);
            w[2] = low(f.get_loc(loc::NW_SRC) ^ f.get_loc(loc::NW_DST));
            true
        }
        odp::eth_type::IPV6 => {
            wc.unwildcard_loc(loc::IPV6_SRC);
            wc.unwildcard_loc(loc::IPV6_DST);
            let x = f.get_loc(loc::IPV6_SRC) ^ f.get_loc(loc::IPV6_DST);
            w[2] = high(x);
            w[3] = low(x);
            true
        }
        _ => false,
    };
    if l4 {
        wc.unwildcard_loc(loc::NW_PROTO);
        let proto = f.nw_proto();
        w[4] = u64::from(proto);
        if matches!(proto, 6 | 17 | 132) {
            wc.unwildcard_loc(loc::TP_SRC);
            wc.unwildcard_loc(loc::TP_DST);
            w[5] = u64::from(f.tp_src() ^ f.tp_dst());
        }
    }
    odp::hash::hash_words(&w, 0)
}

/// Un-wildcards the bits `mask` (in value space) of `field`.
fn unwildcard_field(wc: &mut FlowWildcards, field: Field, mask: u128) {
    let i = field.info();
    let bits = (mask & field.valid_bits()) >> i.vshift;
    wc.unwildcard_loc_bits(i.loc, bits);
}

/// The text of a table node: ` 0. in_port=1, priority 10, cookie 0x5`.
fn table_text(table_id: u8, rule: &Rule) -> String {
    let mut s = format!(
        "{table_id:2}. {}",
        crate::ofctl::format::trace_rule_string(rule, None)
    );
    if rule.cookie != 0 {
        s.push_str(&format!(", cookie {:#x}", rule.cookie));
    }
    s
}

/// The slot an action takes in the action set: one per kind, one per field written.
fn set_slot(a: &Action) -> (u8, Option<Field>) {
    match a {
        Action::Output(_)
        | Action::OutputReg { .. }
        | Action::Enqueue { .. }
        | Action::Controller(_) => (0, None),
        Action::Group(_) => (1, None),
        Action::PopVlan | Action::StripVlan => (2, None),
        Action::PushVlan(_) => (3, None),
        Action::DecTtl(_) => (4, None),
        Action::SetQueue(_) => (5, None),
        Action::SetVlanVid(_) => (6, Some(Field::DlVlan)),
        Action::SetVlanPcp(_) => (6, Some(Field::DlVlanPcp)),
        Action::SetL4Src(_) => (6, Some(Field::TcpSrc)),
        Action::SetL4Dst(_) => (6, Some(Field::TcpDst)),
        other => (6, other.written_field()),
    }
}

/// The action set in the order OpenFlow runs it: pop, push, dec_ttl, sets, queue, then
/// group or output (a group wins over an output).
fn ordered_action_set(set: &[Action]) -> Vec<Action> {
    let rank = |a: &Action| match set_slot(a).0 {
        2 => 0,
        3 => 1,
        4 => 2,
        6 => 3,
        5 => 4,
        1 => 5,
        _ => 6,
    };
    let has_group = set.iter().any(|a| matches!(a, Action::Group(_)));
    let mut v: Vec<Action> = set
        .iter()
        .filter(|a| !(has_group && set_slot(a).0 == 0))
        .cloned()
        .collect();
    v.sort_by_key(rank);
    v
}

#[cfg(test)]
mod tests;
