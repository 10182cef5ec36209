//! OpenFlow actions and instructions ([`Action`]), as one flat list in the style of OVS's
//! "ofpacts": plain actions form the apply-actions instruction; [`Action::ClearActions`],
//! [`Action::WriteActions`], [`Action::WriteMetadata`], [`Action::GotoTable`] and
//! [`Action::Meter`] are the other OpenFlow 1.1+ instructions. An empty list drops the
//! packet (`actions=drop`).
//!
//! The variants keep the spelling family they came from, as OVS does, so that a rule prints
//! back the way it was written: `mod_dl_src:...` ([`Action::SetEthSrc`]),
//! `set_field:...->eth_src` ([`Action::SetField`]) and `load:...->NXM_OF_ETH_SRC[]`
//! ([`Action::Load`]) all set the Ethernet source.
//!
//! [`check_actions`] validates a list against the rule it belongs to (instruction order,
//! `goto_table` targets, output ports, field prerequisites), as a switch must before
//! accepting a flow-mod.

use std::net::Ipv4Addr;

use dpif::odp::vlan;
use netdev::EthAddr;

use crate::error::Error;
use crate::fields::Field;
use crate::flow::{Flow, FlowWildcards, OfpPort};
use crate::matching::Match;

/// A range of bits of a field (`NXM_NX_REG0[0..15]`), as used by `load`, `move` and
/// `output:<field>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SubField {
    /// The field.
    pub field: Field,
    /// The first bit (0 = least significant).
    pub ofs: u32,
    /// The number of bits (at least 1).
    pub n_bits: u32,
}

impl SubField {
    /// The whole of `field`.
    pub fn whole(field: Field) -> SubField {
        SubField {
            field,
            ofs: 0,
            n_bits: field.n_bits(),
        }
    }

    /// Bits `ofs .. ofs + n_bits` of `field`.
    ///
    /// # Errors
    ///
    /// [`Error::BadSubfield`] if the range is empty or does not fit the field.
    pub fn new(field: Field, ofs: u32, n_bits: u32) -> Result<SubField, Error> {
        let width = field.n_bits();
        if n_bits == 0 || ofs >= width || n_bits > width - ofs {
            return Err(Error::BadSubfield(format!(
                "bits {ofs}..{} do not fit {} ({width} bits)",
                u64::from(ofs) + u64::from(n_bits).max(1) - 1,
                field.nxm_name()
            )));
        }
        Ok(SubField { field, ofs, n_bits })
    }

    /// Whether this is the whole field.
    pub fn is_whole(&self) -> bool {
        self.ofs == 0 && self.n_bits == self.field.n_bits()
    }

    /// The mask of the bits, aligned to the field's value.
    pub fn mask(&self) -> u128 {
        let m = if self.n_bits >= 128 {
            u128::MAX
        } else {
            (1u128 << self.n_bits) - 1
        };
        m.checked_shl(self.ofs).unwrap_or(0)
    }

    /// The bits' value in `flow` (shifted down to bit 0).
    pub fn get(&self, flow: &Flow) -> u128 {
        (self.field.get(flow) & self.mask())
            .checked_shr(self.ofs)
            .unwrap_or(0)
    }

    /// Writes `v` (its low `n_bits` bits) into the bits in `flow`.
    pub fn set(&self, flow: &mut Flow, v: u128) {
        self.field
            .set_masked(flow, v.checked_shl(self.ofs).unwrap_or(0), self.mask());
    }

    /// Un-wildcards the bits in `wc` (a read of them).
    pub fn unwildcard(&self, wc: &mut FlowWildcards) {
        let l = self.field.info().loc;
        let bits = self.mask() >> self.field.info().vshift;
        wc.unwildcard_loc_bits(l, bits);
    }
}

/// Why a packet goes to the controller (`ofp_packet_in_reason`, plus OVS's internal miss
/// reasons).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PacketInReason {
    /// No matching flow (`no_match`, OFPR_NO_MATCH).
    NoMatch,
    /// An explicit controller action (`action`, OFPR_ACTION).
    Action,
    /// TTL expired (`invalid_ttl`).
    InvalidTtl,
    /// Output in the action set (`action_set`, OF1.4).
    ActionSet,
    /// Output in a group (`group`, OF1.4).
    Group,
    /// Output in a packet-out (`packet_out`, OF1.4).
    PacketOut,
    /// OVS's internal "explicit miss" (the table-miss flow sent it; reported as `no_match`).
    ExplicitMiss,
    /// OVS's internal "implicit miss" (no table-miss flow: table 254's miss rule).
    ImplicitMiss,
}

impl PacketInReason {
    /// The name in `controller(reason=...)`; the internal miss reasons have none.
    pub fn name(self) -> &'static str {
        match self {
            PacketInReason::NoMatch => "no_match",
            PacketInReason::Action => "action",
            PacketInReason::InvalidTtl => "invalid_ttl",
            PacketInReason::ActionSet => "action_set",
            PacketInReason::Group => "group",
            PacketInReason::PacketOut => "packet_out",
            PacketInReason::ExplicitMiss | PacketInReason::ImplicitMiss => "",
        }
    }

    /// Parses a reason name.
    pub fn from_name(s: &str) -> Option<PacketInReason> {
        [
            PacketInReason::NoMatch,
            PacketInReason::Action,
            PacketInReason::InvalidTtl,
            PacketInReason::ActionSet,
            PacketInReason::Group,
            PacketInReason::PacketOut,
        ]
        .into_iter()
        .find(|r| r.name() == s)
    }
}

/// The `controller` action.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Controller {
    /// Bytes of the packet to send (65535 = all; `OFPCML_NO_BUFFER`).
    pub max_len: u16,
    /// The reason to report.
    pub reason: PacketInReason,
    /// The controller connection id to send to (0 = all).
    pub controller_id: u16,
    /// Opaque data for the controller (`userdata=`).
    pub userdata: Option<Vec<u8>>,
    /// Whether to pause the pipeline (a continuation).
    pub pause: bool,
}

impl Default for Controller {
    fn default() -> Self {
        Controller {
            max_len: u16::MAX,
            reason: PacketInReason::Action,
            controller_id: 0,
            userdata: None,
            pause: false,
        }
    }
}

/// One OpenFlow action or instruction (see the module docs).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Action {
    /// `output:<port>`, or a reserved port by name (`NORMAL`, `FLOOD`, `ALL`, `LOCAL`,
    /// `IN_PORT`, `TABLE`).
    Output(OfpPort),
    /// `output:<subfield>`: output to the port number held in a field.
    OutputReg {
        /// Where the port number is.
        src: SubField,
        /// Bytes to send to the controller if the port is `CONTROLLER`.
        max_len: u16,
    },
    /// `controller(...)` / `CONTROLLER:<max_len>`.
    Controller(Controller),
    /// `enqueue:<port>:<queue>`.
    Enqueue {
        /// The port.
        port: OfpPort,
        /// The queue.
        queue: u32,
    },
    /// `set_queue:<queue>`.
    SetQueue(u32),
    /// `pop_queue`.
    PopQueue,
    /// `set_field:<value>[/<mask>]-><field>` (mask all ones = whole field).
    SetField {
        /// The field.
        field: Field,
        /// The value.
        value: u128,
        /// The bits to set.
        mask: u128,
    },
    /// `load:<value>-><subfield>`.
    Load {
        /// The destination bits.
        dst: SubField,
        /// The value (fits `dst.n_bits`).
        value: u128,
    },
    /// `move:<subfield>-><subfield>`.
    Move {
        /// Source bits.
        src: SubField,
        /// Destination bits (same width).
        dst: SubField,
    },
    /// `mod_dl_src:<mac>`.
    SetEthSrc(EthAddr),
    /// `mod_dl_dst:<mac>`.
    SetEthDst(EthAddr),
    /// `mod_nw_src:<ip>`.
    SetIpv4Src(Ipv4Addr),
    /// `mod_nw_dst:<ip>`.
    SetIpv4Dst(Ipv4Addr),
    /// `mod_nw_tos:<tos>`: the DSCP bits, in their TOS position.
    SetIpDscp(u8),
    /// `mod_nw_ecn:<ecn>`.
    SetIpEcn(u8),
    /// `mod_nw_ttl:<ttl>`.
    SetIpTtl(u8),
    /// `mod_tp_src:<port>`.
    SetL4Src(u16),
    /// `mod_tp_dst:<port>`.
    SetL4Dst(u16),
    /// `mod_vlan_vid:<vid>`: set the VLAN id, pushing a tag first if there is none (OpenFlow
    /// 1.0 semantics).
    SetVlanVid(u16),
    /// `mod_vlan_pcp:<pcp>`: set the VLAN priority, pushing a tag first if there is none.
    SetVlanPcp(u8),
    /// `strip_vlan`: remove the outer tag (OpenFlow 1.0 spelling).
    StripVlan,
    /// `pop_vlan`: remove the outer tag.
    PopVlan,
    /// `push_vlan:<tpid>`.
    PushVlan(u16),
    /// `dec_ttl` or `dec_ttl(<id>,...)`: decrement the TTL; at zero send to the listed
    /// controllers (reason `invalid_ttl`). An empty list (plain `dec_ttl`) means controller
    /// id 0, but prints differently from `dec_ttl(0)`, as in OVS.
    DecTtl(Vec<u16>),
    /// `resubmit:<port>`, `resubmit(<port>,<table>)`, `resubmit(,<table>)`: look the packet up
    /// again, as if from `port` (`None`: the actual in_port), in `table` (`None`: the current
    /// table).
    Resubmit {
        /// The in_port to look up with.
        port: Option<OfpPort>,
        /// The table.
        table: Option<u8>,
    },
    /// `group:<id>`.
    Group(u32),
    /// `note:<hex bytes>`: a comment, no effect.
    Note(Vec<u8>),
    /// `meter:<id>` instruction.
    Meter(u32),
    /// `clear_actions` instruction.
    ClearActions,
    /// `write_actions(...)` instruction.
    WriteActions(Vec<Action>),
    /// `write_metadata:<value>[/<mask>]` instruction.
    WriteMetadata {
        /// The value.
        value: u64,
        /// The bits to write.
        mask: u64,
    },
    /// `goto_table:<table>` instruction.
    GotoTable(u8),
}

/// The OpenFlow 1.1+ instructions, in the order they must appear.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum InstructionKind {
    /// `meter`.
    Meter,
    /// `apply_actions` (any plain action).
    ApplyActions,
    /// `clear_actions`.
    ClearActions,
    /// `write_actions`.
    WriteActions,
    /// `write_metadata`.
    WriteMetadata,
    /// `goto_table`.
    GotoTable,
}

impl InstructionKind {
    /// The instruction's name.
    pub fn name(self) -> &'static str {
        match self {
            InstructionKind::Meter => "meter",
            InstructionKind::ApplyActions => "apply_actions",
            InstructionKind::ClearActions => "clear_actions",
            InstructionKind::WriteActions => "write_actions",
            InstructionKind::WriteMetadata => "write_metadata",
            InstructionKind::GotoTable => "goto_table",
        }
    }
}

impl Action {
    /// The instruction this action belongs to.
    pub fn instruction(&self) -> InstructionKind {
        match self {
            Action::Meter(_) => InstructionKind::Meter,
            Action::ClearActions => InstructionKind::ClearActions,
            Action::WriteActions(_) => InstructionKind::WriteActions,
            Action::WriteMetadata { .. } => InstructionKind::WriteMetadata,
            Action::GotoTable(_) => InstructionKind::GotoTable,
            _ => InstructionKind::ApplyActions,
        }
    }

    /// Whether this action outputs to `port` (`output`, `enqueue`, `controller` for
    /// `OFPP_CONTROLLER`, and those inside `write_actions`): the `out_port` filter of flow
    /// stats and deletes.
    pub fn outputs_to(&self, port: OfpPort) -> bool {
        match self {
            Action::Output(p) => *p == port,
            Action::Enqueue { port: p, .. } => *p == port,
            Action::Controller(_) => port == OfpPort::CONTROLLER,
            Action::WriteActions(list) => list.iter().any(|a| a.outputs_to(port)),
            _ => false,
        }
    }

    /// Whether this action (or one in `write_actions`) sends to group `group`.
    pub fn outputs_to_group(&self, group: u32) -> bool {
        match self {
            Action::Group(g) => *g == group,
            Action::WriteActions(list) => list.iter().any(|a| a.outputs_to_group(group)),
            _ => false,
        }
    }

    /// The field this action writes, if it is a set-field of some spelling.
    pub fn written_field(&self) -> Option<Field> {
        Some(match self {
            Action::SetField { field, .. } => *field,
            Action::Load { dst, .. } => dst.field,
            Action::Move { dst, .. } => dst.field,
            Action::SetEthSrc(_) => Field::EthSrc,
            Action::SetEthDst(_) => Field::EthDst,
            Action::SetIpv4Src(_) => Field::Ipv4Src,
            Action::SetIpv4Dst(_) => Field::Ipv4Dst,
            Action::SetIpDscp(_) => Field::NwTos,
            Action::SetIpEcn(_) => Field::IpEcn,
            Action::SetIpTtl(_) => Field::IpTtl,
            _ => return None,
        })
    }
}

impl Action {
    /// Applies this action to `flow` if it is one that only rewrites header or metadata
    /// fields (`set_field`, `load`, `move`, the `mod_*` actions, VLAN push/pop/strip, queue
    /// and TTL-free rewrites), and returns whether it was such an action. Other actions
    /// (output, resubmit, controller, `dec_ttl`, instructions) are left to translation and
    /// return `false`.
    ///
    /// A field write whose prerequisites `flow` does not meet is skipped, as OVS skips it.
    /// When `wc` is given, the bits read to decide (prerequisites, `move` sources) are
    /// un-wildcarded; which written bits to un-wildcard is translation's policy.
    pub fn apply_to_flow(&self, flow: &mut Flow, mut wc: Option<&mut FlowWildcards>) -> bool {
        match self {
            Action::SetField { field, value, mask } => {
                set_checked(*field, *value, *mask, flow, wc.as_deref_mut())
            }
            Action::Load { dst, value } => set_checked(
                dst.field,
                value.checked_shl(dst.ofs).unwrap_or(0),
                dst.mask(),
                flow,
                wc.as_deref_mut(),
            ),
            Action::Move { src, dst } => {
                if src.field.prereqs_ok(flow, wc.as_deref_mut()) {
                    if let Some(w) = wc.as_deref_mut() {
                        src.unwildcard(w);
                    }
                    let v = src.get(flow);
                    set_checked(
                        dst.field,
                        v.checked_shl(dst.ofs).unwrap_or(0),
                        dst.mask(),
                        flow,
                        wc.as_deref_mut(),
                    );
                }
            }
            Action::SetEthSrc(a) => set_checked(
                Field::EthSrc,
                eth_value(*a),
                u128::MAX,
                flow,
                wc.as_deref_mut(),
            ),
            Action::SetEthDst(a) => set_checked(
                Field::EthDst,
                eth_value(*a),
                u128::MAX,
                flow,
                wc.as_deref_mut(),
            ),
            Action::SetIpv4Src(a) => {
                set_checked(
                    Field::Ipv4Src,
                    u128::from(u32::from(*a)),
                    u128::MAX,
                    flow,
                    wc.as_deref_mut(),
                );
            }
            Action::SetIpv4Dst(a) => {
                set_checked(
                    Field::Ipv4Dst,
                    u128::from(u32::from(*a)),
                    u128::MAX,
                    flow,
                    wc.as_deref_mut(),
                );
            }
            Action::SetIpDscp(t) => {
                set_checked(Field::NwTos, u128::from(*t), 0xfc, flow, wc.as_deref_mut())
            }
            Action::SetIpEcn(e) => {
                set_checked(Field::IpEcn, u128::from(*e), 0x3, flow, wc.as_deref_mut())
            }
            Action::SetIpTtl(t) => {
                set_checked(Field::IpTtl, u128::from(*t), 0xff, flow, wc.as_deref_mut())
            }
            Action::SetL4Src(p) => {
                if crate::fields::Prereq::L4.ok(flow, wc) {
                    flow.set_tp_src(*p);
                }
            }
            Action::SetL4Dst(p) => {
                if crate::fields::Prereq::L4.ok(flow, wc) {
                    flow.set_tp_dst(*p);
                }
            }
            Action::SetVlanVid(vid) => {
                if flow.vlan_tci() & vlan::CFI == 0 {
                    push_vlan(flow, dpif::odp::eth_type::VLAN);
                }
                let tci = (flow.vlan_tci() & !vlan::VID_MASK) | (vid & vlan::VID_MASK);
                flow.set_vlan_tci(tci);
            }
            Action::SetVlanPcp(pcp) => {
                if flow.vlan_tci() & vlan::CFI == 0 {
                    push_vlan(flow, dpif::odp::eth_type::VLAN);
                }
                let tci = (flow.vlan_tci() & !vlan::PCP_MASK)
                    | ((u16::from(*pcp) << vlan::PCP_SHIFT) & vlan::PCP_MASK);
                flow.set_vlan_tci(tci);
            }
            Action::PushVlan(tpid) => push_vlan(flow, *tpid),
            Action::PopVlan | Action::StripVlan => {
                let inner = flow.vlan(1);
                flow.set_vlan(0, inner);
                flow.set_vlan(1, dpif::odp::Vlan::default());
            }
            Action::SetQueue(_) | Action::PopQueue | Action::Note(_) => {}
            _ => return false,
        }
        true
    }
}

fn set_checked(
    field: Field,
    value: u128,
    mask: u128,
    flow: &mut Flow,
    wc: Option<&mut FlowWildcards>,
) {
    if field.prereqs_ok(flow, wc) {
        field.set_masked(flow, value, mask);
    }
}

fn eth_value(a: EthAddr) -> u128 {
    let b = a.0;
    u128::from(u64::from_be_bytes([
        0, 0, b[0], b[1], b[2], b[3], b[4], b[5],
    ]))
}

/// Pushes a VLAN tag: the outer tag moves inward, and the new tag copies its id and
/// priority (OpenFlow 1.1+ `push_vlan`), or is 0 when there was none.
fn push_vlan(flow: &mut Flow, tpid: u16) {
    let outer = flow.vlan(0);
    flow.set_vlan(1, outer);
    let tci = if outer.present() { outer.tci } else { 0 } | vlan::CFI;
    flow.set_vlan(0, dpif::odp::Vlan { tpid, tci });
}

/// Whether any action of `actions` outputs to `port` (see [`Action::outputs_to`]).
pub fn outputs_to(actions: &[Action], port: OfpPort) -> bool {
    actions.iter().any(|a| a.outputs_to(port))
}

/// Whether any action of `actions` sends to `group`.
pub fn outputs_to_group(actions: &[Action], group: u32) -> bool {
    actions.iter().any(|a| a.outputs_to_group(group))
}

fn check_port(p: OfpPort, what: &str) -> Result<(), Error> {
    if p == OfpPort::NONE || !p.is_valid() || p.0 == 0 {
        return Err(Error::BadOutPort(format!("{what}:{p}")));
    }
    Ok(())
}

/// Validates `actions` for a rule with `m` in table `table_id` of a switch with `n_tables`
/// tables: instruction order and uniqueness, `goto_table` going forward, usable output
/// ports, writable fields, and set-field prerequisites given the match (tracking VLAN
/// push/pop, as OVS does).
///
/// # Errors
///
/// [`Error::BadInstructionOrder`], [`Error::BadGotoTable`], [`Error::BadOutPort`],
/// [`Error::ReadOnlyField`], [`Error::BadPrereq`] (OFPBAC_MATCH_INCONSISTENT on the wire).
pub fn check_actions(
    actions: &[Action],
    m: &Match,
    table_id: u8,
    n_tables: u8,
) -> Result<(), Error> {
    let mut last: Option<InstructionKind> = None;
    let mut flow = *m.flow();
    for a in actions {
        let k = a.instruction();
        if let Some(prev) = last {
            if k < prev {
                return Err(Error::BadInstructionOrder(format!(
                    "{} must appear before {}, for OpenFlow 1.1+ compatibility",
                    k.name(),
                    prev.name()
                )));
            }
            if k == prev && k != InstructionKind::ApplyActions {
                return Err(Error::BadInstructionOrder(format!(
                    "instruction {} may be specified only once",
                    k.name()
                )));
            }
        }
        last = Some(k);
        match a {
            Action::GotoTable(t) => {
                if *t <= table_id || *t >= n_tables {
                    return Err(Error::BadGotoTable {
                        from: table_id,
                        target: *t,
                    });
                }
            }
            Action::WriteActions(list) => {
                if let Some(bad) = list
                    .iter()
                    .find(|x| x.instruction() != InstructionKind::ApplyActions)
                {
                    return Err(Error::BadInstructionOrder(format!(
                        "{} is not allowed inside write_actions",
                        bad.instruction().name()
                    )));
                }
                let mut inner = flow;
                for x in list {
                    check_one(x, &mut inner)?;
                }
            }
            _ => check_one(a, &mut flow)?,
        }
    }
    Ok(())
}

fn check_one(a: &Action, flow: &mut Flow) -> Result<(), Error> {
    let need = |field: Field, flow: &Flow| -> Result<(), Error> {
        let info = field.info();
        if !info.writable {
            return Err(Error::ReadOnlyField { field: info.name });
        }
        if !field.prereqs_ok(flow, None) {
            return Err(Error::BadPrereq {
                field: info.name,
                requires: info.prereq.describe(),
            });
        }
        Ok(())
    };
    match a {
        Action::Output(p) => check_port(*p, "output")?,
        Action::Enqueue { port, .. } => {
            if *port != OfpPort::IN_PORT && *port != OfpPort::LOCAL && port.0 >= OfpPort::MAX.0
                || port.0 == 0
            {
                return Err(Error::BadOutPort(format!("enqueue:{port}")));
            }
        }
        Action::Move { src, dst } => {
            if src.n_bits != dst.n_bits {
                return Err(Error::BadSubfield(format!(
                    "move: source has {} bits but destination has {}",
                    src.n_bits, dst.n_bits
                )));
            }
            if !src.field.prereqs_ok(flow, None) {
                let i = src.field.info();
                return Err(Error::BadPrereq {
                    field: i.name,
                    requires: i.prereq.describe(),
                });
            }
            need(dst.field, flow)?;
        }
        Action::OutputReg { src, .. } => {
            if !src.field.prereqs_ok(flow, None) {
                let i = src.field.info();
                return Err(Error::BadPrereq {
                    field: i.name,
                    requires: i.prereq.describe(),
                });
            }
        }
        Action::SetL4Src(_) | Action::SetL4Dst(_) => {
            if !crate::fields::Prereq::L4.ok(flow, None)
                && !crate::fields::Prereq::Icmpv4.ok(flow, None)
                && !crate::fields::Prereq::Icmpv6.ok(flow, None)
            {
                return Err(Error::BadPrereq {
                    field: "tp_src",
                    requires: crate::fields::Prereq::L4.describe(),
                });
            }
        }
        Action::PushVlan(tpid) => {
            if *tpid != 0x8100 && *tpid != 0x88a8 {
                return Err(Error::BadValue {
                    field: "push_vlan",
                    value: format!("{tpid:#x}"),
                });
            }
            flow.set_vlan_tci(flow.vlan_tci() | vlan::CFI);
        }
        Action::StripVlan | Action::PopVlan => flow.set_vlan_tci(0),
        Action::SetVlanVid(_) | Action::SetVlanPcp(_) => {
            flow.set_vlan_tci(flow.vlan_tci() | vlan::CFI);
        }
        Action::SetField { field, .. }
        | Action::Load {
            dst: SubField { field, .. },
            ..
        } => {
            need(*field, flow)?;
            if *field == Field::VlanVid && flow.vlan_tci() & vlan::CFI == 0 {
                // OpenFlow 1.2+ set-field of the VLAN id needs a tag (push_vlan first).
                return Err(Error::BadPrereq {
                    field: "vlan_vid",
                    requires: crate::fields::Prereq::Vlan.describe(),
                });
            }
            if matches!(field, Field::VlanTci | Field::VlanVid | Field::DlVlan) {
                // Writing the TCI may add or remove the tag; be permissive afterwards.
                flow.set_vlan_tci(flow.vlan_tci() | vlan::CFI);
            }
        }
        other => {
            if let Some(f) = other.written_field() {
                need(f, flow)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applying_rewrites() {
        let mut f = Flow::zero();
        f.set_dl_type(0x0800);
        f.set_nw_proto(6);
        let mut wc = FlowWildcards::catchall();
        for a in [
            Action::SetField {
                field: Field::TcpDst,
                value: 80,
                mask: 0xffff,
            },
            Action::Load {
                dst: SubField::new(Field::Reg(1), 8, 8).unwrap(),
                value: 0xab,
            },
            Action::Move {
                src: SubField::new(Field::Reg(1), 8, 8).unwrap(),
                dst: SubField::new(Field::Reg(2), 0, 8).unwrap(),
            },
            Action::SetIpDscp(0xb8),
            Action::SetVlanVid(10),
            Action::PushVlan(0x88a8),
        ] {
            assert!(a.apply_to_flow(&mut f, Some(&mut wc)), "{a:?}");
        }
        assert_eq!(f.tp_dst(), 80);
        assert_eq!((f.reg(1), f.reg(2)), (0xab00, 0xab));
        assert_eq!(f.nw_tos(), 0xb8);
        assert_eq!(f.vlan(0).tpid, 0x88a8);
        assert_eq!(f.vlan(0).vid(), 10);
        assert_eq!(f.vlan(1).tpid, 0x8100);
        assert_eq!(wc.masks.reg(1), 0xff00, "move read reg1[8..15]");
        assert_eq!(wc.masks.nw_proto(), 0xff, "prerequisite examined");
        assert!(Action::PopVlan.apply_to_flow(&mut f, None));
        assert_eq!(f.vlan(0).tpid, 0x8100);
        assert!(!f.vlan(1).present());
        assert!(!Action::Output(OfpPort(1)).apply_to_flow(&mut f, None));
        // A write without its prerequisites is skipped.
        let mut g = Flow::zero();
        Action::SetField {
            field: Field::Ipv4Dst,
            value: 1,
            mask: u128::MAX,
        }
        .apply_to_flow(&mut g, None);
        assert!(g.is_zero());
    }

    #[test]
    fn subfield_bits() {
        let s = SubField::new(Field::Reg(0), 4, 8).unwrap();
        assert_eq!(s.mask(), 0xff0);
        let mut f = Flow::zero();
        f.set_reg(0, 0xffff_ffff);
        s.set(&mut f, 0x12);
        assert_eq!(f.reg(0), 0xffff_f12f);
        assert_eq!(s.get(&f), 0x12);
        assert!(SubField::new(Field::Reg(0), 30, 3).is_err());
        assert!(SubField::new(Field::Reg(0), 0, 0).is_err());
        assert!(SubField::whole(Field::Metadata).is_whole());
        let mut wc = FlowWildcards::catchall();
        s.unwildcard(&mut wc);
        assert_eq!(wc.masks.reg(0), 0xff0);
    }

    #[test]
    fn instruction_order_and_goto() {
        let m = Match::catchall();
        let ok = [
            Action::Output(OfpPort(1)),
            Action::ClearActions,
            Action::WriteActions(vec![Action::Output(OfpPort(2))]),
            Action::WriteMetadata { value: 1, mask: 1 },
            Action::GotoTable(3),
        ];
        assert_eq!(check_actions(&ok, &m, 0, 254), Ok(()));
        assert!(matches!(
            check_actions(
                &[Action::GotoTable(1), Action::Output(OfpPort(1))],
                &m,
                0,
                254
            ),
            Err(Error::BadInstructionOrder(_))
        ));
        assert!(matches!(
            check_actions(&[Action::GotoTable(1)], &m, 1, 254),
            Err(Error::BadGotoTable { .. })
        ));
        assert!(matches!(
            check_actions(&[Action::Output(OfpPort::NONE)], &m, 0, 254),
            Err(Error::BadOutPort(_))
        ));
    }

    #[test]
    fn set_field_prerequisites() {
        let mut m = Match::catchall();
        let set_tp = [Action::SetField {
            field: Field::TcpDst,
            value: 80,
            mask: 0xffff,
        }];
        assert!(matches!(
            check_actions(&set_tp, &m, 0, 254),
            Err(Error::BadPrereq { .. })
        ));
        m.set_dl_type(0x0800);
        m.set_nw_proto(6);
        assert_eq!(check_actions(&set_tp, &m, 0, 254), Ok(()));
        let ro = [Action::SetField {
            field: Field::EthType,
            value: 1,
            mask: 0xffff,
        }];
        assert!(matches!(
            check_actions(&ro, &m, 0, 254),
            Err(Error::ReadOnlyField { .. })
        ));
        let pcp = [
            Action::PushVlan(0x8100),
            Action::SetField {
                field: Field::VlanPcp,
                value: 3,
                mask: 7,
            },
        ];
        assert_eq!(check_actions(&pcp, &m, 0, 254), Ok(()));
        let vid = Action::SetField {
            field: Field::VlanVid,
            value: 0x1005,
            mask: 0x1fff,
        };
        assert!(check_actions(std::slice::from_ref(&vid), &m, 0, 254).is_err());
        assert_eq!(
            check_actions(&[Action::PushVlan(0x8100), vid], &m, 0, 254),
            Ok(())
        );
        assert!(outputs_to(
            &[Action::WriteActions(vec![Action::Output(OfpPort(4))])],
            OfpPort(4)
        ));
    }
}
