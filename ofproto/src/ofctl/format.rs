//! Printing matches, actions and flows exactly as `ovs-ofctl` (and `ovs-appctl
//! bridge/dump-flows`, `ofproto/trace`) print them.
//!
//! Field order and value formats follow `ovs-ofctl dump-flows`: `priority` first, then packet
//! metadata (`pkt_mark`, `recirc_id`, `dp_hash`, `skb_priority`), the protocol shorthand
//! (`ip`, `tcp`, `arp`, ...) when `dl_type`/`nw_proto` imply it, registers, `metadata`,
//! `in_port`, VLAN, Ethernet, L3, L4. Vectors in this crate's tests were captured from
//! Debian's `ovs-ofctl` 3.1.0.

use std::fmt::{self, Write as _};
use std::net::{Ipv4Addr, Ipv6Addr};

use dpif::odp::{frag, vlan};

use super::PortNames;
use crate::actions::{Action, Controller, PacketInReason, SubField};
use crate::fields::{Field, ValueFormat};
use crate::flow::{Flow, Loc, OfpPort, loc};
use crate::matching::Match;
use crate::rule::{FlowModFlags, Rule};

/// The priority OpenFlow gives a flow that does not say (`OFP_DEFAULT_PRIORITY`).
pub const DEFAULT_PRIORITY: u32 = 32768;

/// Hexadecimal as C's `%#x` prints it: `0x` and the digits, but plain `0` for zero.
pub fn chex(v: u128) -> String {
    if v == 0 {
        "0".to_string()
    } else {
        format!("{v:#x}")
    }
}

/// Names of the TCP flag bits, least significant first.
const TCP_FLAG_NAMES: [&str; 9] = ["fin", "syn", "rst", "psh", "ack", "urg", "ece", "cwr", "ns"];

/// Writes a port number or name.
pub fn format_port(out: &mut String, p: OfpPort, names: Option<&PortNames>) {
    if p.reserved_name().is_none()
        && let Some(n) = names.and_then(|m| m.name(p))
    {
        if needs_quotes(n) {
            let _ = write!(out, "\"{n}\"");
        } else {
            out.push_str(n);
        }
        return;
    }
    let _ = write!(out, "{p}");
}

fn needs_quotes(n: &str) -> bool {
    n.is_empty()
        || n.parse::<u64>().is_ok()
        || OfpPort::RESERVED
            .iter()
            .any(|(_, r)| r.eq_ignore_ascii_case(n))
        || n.eq_ignore_ascii_case("none")
        || !n
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

fn eth_string(v: u128) -> String {
    let b = u64::try_from(v & 0xffff_ffff_ffff)
        .unwrap_or_default()
        .to_be_bytes();
    format!(
        "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
        b[2], b[3], b[4], b[5], b[6], b[7]
    )
}

fn ipv4_of(v: u128) -> Ipv4Addr {
    Ipv4Addr::from(u32::try_from(v & 0xffff_ffff).unwrap_or_default())
}

/// The prefix length of `mask` if it is a CIDR mask of `width` bits.
fn cidr_len(mask: u128, width: u32) -> Option<u32> {
    let ones = mask.count_ones();
    if ones > width {
        return None;
    }
    let full = if width >= 128 {
        u128::MAX
    } else {
        (1u128 << width) - 1
    };
    let expect = if ones == 0 {
        0
    } else {
        full & !((1u128 << (width - ones)) - 1)
    };
    (mask == expect).then_some(ones)
}

/// Writes TCP flags in `ovs-ofctl` style: `syn|ack` for an exact match, `+syn-ack` under a
/// partial mask, unnamed bits as `[200]`.
fn format_tcp_flags(out: &mut String, v: u16, mask: u16) {
    let name = |bit: u32| -> String {
        match TCP_FLAG_NAMES.get(usize::try_from(bit).unwrap_or(usize::MAX)) {
            Some(n) => (*n).to_string(),
            None => format!("[{:x}]", 1u32 << bit),
        }
    };
    if mask & 0x0fff == 0x0fff {
        if v == 0 {
            out.push('0');
            return;
        }
        let mut first = true;
        for bit in 0..12 {
            if v & (1 << bit) != 0 {
                if !first {
                    out.push('|');
                }
                first = false;
                out.push_str(&name(bit));
            }
        }
    } else {
        for bit in 0..12 {
            if mask & (1 << bit) != 0 {
                out.push(if v & (1 << bit) != 0 { '+' } else { '-' });
                out.push_str(&name(bit));
            }
        }
    }
}

/// The name of a fragment match, as `nw_frag=` prints it.
fn frag_name(v: u8, mask: u8) -> Option<&'static str> {
    const A: u8 = frag::ANY;
    const L: u8 = frag::LATER;
    [
        ("no", A | L, 0),
        ("first", A | L, A),
        ("later", A | L, A | L),
        ("no", A, 0),
        ("yes", A, A),
        ("not_later", L, 0),
        ("later", L, L),
    ]
    .into_iter()
    .find(|(_, m, val)| *m == mask && *val == v)
    .map(|(n, _, _)| n)
}

/// Writes `value` (under `mask`, when it is not the full field) in the field's format, as
/// `set_field` and matches print it.
pub fn format_value(
    out: &mut String,
    field: Field,
    value: u128,
    mask: Option<u128>,
    names: Option<&PortNames>,
) {
    let info = field.info();
    let full = if info.n_bits >= 128 {
        u128::MAX
    } else {
        (1u128 << info.n_bits) - 1
    };
    let valid = field.valid_bits();
    let mask = mask.filter(|m| *m & full != full && *m & valid != valid);
    match info.format {
        ValueFormat::Decimal => {
            let _ = write!(out, "{value}");
            if let Some(m) = mask {
                let _ = write!(out, "/{m}");
            }
        }
        ValueFormat::Hex => {
            out.push_str(&chex(value));
            if let Some(m) = mask {
                out.push('/');
                out.push_str(&chex(m));
            }
        }
        ValueFormat::Ethernet => {
            out.push_str(&eth_string(value));
            if let Some(m) = mask {
                out.push('/');
                out.push_str(&eth_string(m));
            }
        }
        ValueFormat::Ipv4 => {
            let _ = write!(out, "{}", ipv4_of(value));
            if let Some(m) = mask {
                match cidr_len(m, 32) {
                    Some(n) => {
                        let _ = write!(out, "/{n}");
                    }
                    None => {
                        let _ = write!(out, "/{}", ipv4_of(m));
                    }
                }
            }
        }
        ValueFormat::Ipv6 => {
            let _ = write!(out, "{}", Ipv6Addr::from(value));
            if let Some(m) = mask {
                match cidr_len(m, 128) {
                    Some(n) => {
                        let _ = write!(out, "/{n}");
                    }
                    None => {
                        let _ = write!(out, "/{}", Ipv6Addr::from(m));
                    }
                }
            }
        }
        ValueFormat::Port => format_port(out, crate::fields::port_of(value), names),
        ValueFormat::Frag => {
            let v = u8::try_from(value & 3).unwrap_or_default();
            let m = u8::try_from(mask.unwrap_or(3) & 3).unwrap_or_default();
            match frag_name(v, m) {
                Some(n) => out.push_str(n),
                None => {
                    let _ = write!(out, "{v:#x}/{m:#x}");
                }
            }
        }
        ValueFormat::TcpFlags => format_tcp_flags(
            out,
            u16::try_from(value & 0xfff).unwrap_or_default(),
            u16::try_from(mask.unwrap_or(0xfff) & 0xfff).unwrap_or_default(),
        ),
    }
}

struct MatchWriter<'a> {
    out: String,
    m: &'a Match,
    names: Option<&'a PortNames>,
}

impl MatchWriter<'_> {
    fn mask(&self, l: Loc) -> u128 {
        self.m.mask().get_loc(l)
    }

    fn val(&self, l: Loc) -> u128 {
        self.m.flow().get_loc(l)
    }

    /// `name=value[/mask]` in hex (`%#x`, so zero is `0`).
    fn hex(&mut self, name: &str, l: Loc) {
        let m = self.mask(l);
        if m == 0 {
            return;
        }
        let v = self.val(l);
        let _ = write!(self.out, "{name}={}", chex(v));
        if m != l.value_mask() {
            let _ = write!(self.out, "/{}", chex(m));
        }
        self.out.push(',');
    }

    /// `name=value` in decimal for an exact 16-bit match, `0x../0x..` otherwise.
    fn be16(&mut self, name: &str, l: Loc) {
        let m = self.mask(l);
        if m == 0 {
            return;
        }
        let v = self.val(l);
        if m == l.value_mask() {
            let _ = write!(self.out, "{name}={v},");
        } else {
            let _ = write!(self.out, "{name}={v:#x}/{m:#x},");
        }
    }

    fn dec(&mut self, name: &str, v: u128) {
        let _ = write!(self.out, "{name}={v},");
    }

    fn field(&mut self, name: &str, f: Field, l: Loc) {
        let m = self.mask(l);
        if m == 0 {
            return;
        }
        let _ = write!(self.out, "{name}=");
        let mut s = String::new();
        format_value(&mut s, f, self.val(l), Some(m), self.names);
        self.out.push_str(&s);
        self.out.push(',');
    }

    fn write(mut self, priority: Option<u32>, eth: bool) -> String {
        let m = self.m;
        let f = m.flow();
        let mk = m.mask();
        if let Some(p) = priority
            && p != DEFAULT_PRIORITY
        {
            let _ = write!(self.out, "priority={p},");
        }
        self.hex("pkt_mark", loc::PKT_MARK);
        self.hex("recirc_id", loc::RECIRC_ID);
        self.hex("dp_hash", loc::DP_HASH);
        if self.mask(loc::SKB_PRIORITY) != 0 {
            let v = self.val(loc::SKB_PRIORITY);
            let _ = write!(self.out, "skb_priority={},", chex(v));
        }
        if eth {
            self.out.push_str("eth,");
        }
        let dl_type = f.dl_type();
        let proto_exact = mk.nw_proto() == 0xff;
        let mut skip_type = false;
        let mut skip_proto = false;
        if mk.dl_type() == 0xffff {
            skip_type = true;
            let short = match dl_type {
                0x0800 => Some(match (proto_exact, f.nw_proto()) {
                    (true, 1) => "icmp",
                    (true, 6) => "tcp",
                    (true, 17) => "udp",
                    (true, 132) => "sctp",
                    _ => "ip",
                }),
                0x86dd => Some(match (proto_exact, f.nw_proto()) {
                    (true, 58) => "icmp6",
                    (true, 6) => "tcp6",
                    (true, 17) => "udp6",
                    (true, 132) => "sctp6",
                    _ => "ipv6",
                }),
                0x0806 => Some("arp"),
                0x8035 => Some("rarp"),
                0x8847 => Some("mpls"),
                0x8848 => Some("mplsm"),
                _ => None,
            };
            match short {
                Some(s) => {
                    skip_proto = f.is_ip() && proto_exact && !matches!(s, "ip" | "ipv6");
                    self.out.push_str(s);
                    self.out.push(',');
                }
                None => skip_type = false,
            }
        }
        for i in 0..crate::flow::N_REGS {
            self.hex(&format!("reg{i}"), loc::reg(i));
        }
        self.hex("metadata", loc::METADATA);
        if self.mask(loc::IN_PORT) != 0 {
            self.out.push_str("in_port=");
            let mut s = String::new();
            format_port(&mut s, f.in_port(), self.names);
            self.out.push_str(&s);
            self.out.push(',');
        }
        let tci_m = mk.vlan_tci();
        if tci_m != 0 {
            let tci = f.vlan_tci();
            let vid_m = tci_m & vlan::VID_MASK;
            let pcp_m = tci_m & vlan::PCP_MASK;
            if tci_m & vlan::CFI != 0
                && tci & vlan::CFI != 0
                && (vid_m == 0 || vid_m == vlan::VID_MASK)
                && (pcp_m == 0 || pcp_m == vlan::PCP_MASK)
                && (vid_m != 0 || pcp_m != 0)
            {
                if vid_m != 0 {
                    let _ = write!(self.out, "dl_vlan={},", tci & vlan::VID_MASK);
                }
                if pcp_m != 0 {
                    let _ = write!(self.out, "dl_vlan_pcp={},", tci >> vlan::PCP_SHIFT);
                }
            } else if tci_m == 0xffff {
                let _ = write!(self.out, "vlan_tci={tci:#06x},");
            } else {
                let _ = write!(self.out, "vlan_tci={tci:#06x}/{tci_m:#06x},");
            }
        }
        self.field("dl_src", Field::EthSrc, loc::ETH_SRC);
        self.field("dl_dst", Field::EthDst, loc::ETH_DST);
        if !skip_type && mk.dl_type() != 0 {
            let _ = write!(self.out, "dl_type={dl_type:#06x},");
        }
        let is_arp = f.is_arp();
        if dl_type == 0x86dd {
            self.field("ipv6_src", Field::Ipv6Src, loc::IPV6_SRC);
            self.field("ipv6_dst", Field::Ipv6Dst, loc::IPV6_DST);
            let lm = self.mask(loc::IPV6_LABEL);
            if lm != 0 {
                let lv = self.val(loc::IPV6_LABEL);
                if lm == 0xf_ffff {
                    let _ = write!(self.out, "ipv6_label={lv:#07x},");
                } else {
                    let _ = write!(self.out, "ipv6_label={lv:#07x}/{lm:#07x},");
                }
            }
        } else if is_arp {
            self.field("arp_spa", Field::ArpSpa, loc::NW_SRC);
            self.field("arp_tpa", Field::ArpTpa, loc::NW_DST);
        } else {
            self.field("nw_src", Field::Ipv4Src, loc::NW_SRC);
            self.field("nw_dst", Field::Ipv4Dst, loc::NW_DST);
        }
        if !skip_proto && mk.nw_proto() != 0 {
            let name = if is_arp { "arp_op" } else { "nw_proto" };
            self.dec(name, u128::from(f.nw_proto()));
        }
        if is_arp {
            self.field("arp_sha", Field::ArpSha, loc::ARP_SHA);
            self.field("arp_tha", Field::ArpTha, loc::ARP_THA);
        }
        if mk.nw_tos() & 0xfc != 0 {
            self.dec("nw_tos", u128::from(f.nw_tos() & 0xfc));
        }
        if mk.nw_tos() & 0x03 != 0 {
            self.dec("nw_ecn", u128::from(f.nw_tos() & 0x03));
        }
        if mk.nw_ttl() != 0 {
            self.dec("nw_ttl", u128::from(f.nw_ttl()));
        }
        let frag_m = mk.nw_frag() & frag::MASK;
        if frag_m != 0 {
            self.field("nw_frag", Field::IpFrag, loc::NW_FRAG);
        }
        let proto = f.nw_proto();
        let icmp4 = dl_type == 0x0800 && proto == 1;
        let icmp6 = dl_type == 0x86dd && proto == 58;
        if icmp4 || icmp6 {
            self.be16("icmp_type", loc::TP_SRC);
            self.be16("icmp_code", loc::TP_DST);
            if icmp6 {
                self.field("nd_target", Field::NdTarget, loc::ND_TARGET);
                self.field("nd_sll", Field::NdSll, loc::ARP_SHA);
                self.field("nd_tll", Field::NdTll, loc::ARP_THA);
            }
        } else {
            self.be16("tp_src", loc::TP_SRC);
            self.be16("tp_dst", loc::TP_DST);
        }
        if mk.tcp_flags() & 0x0fff != 0 {
            self.field("tcp_flags", Field::TcpFlags, loc::TCP_FLAGS);
        }
        if self.out.ends_with(',') {
            self.out.pop();
        }
        self.out
    }
}

/// The match in `ovs-ofctl` syntax, with `priority=` first when `priority` is given and is
/// not the default (32768). Empty for a catch-all match.
pub fn match_to_string(m: &Match, priority: Option<u32>, names: Option<&PortNames>) -> String {
    MatchWriter {
        out: String::new(),
        m,
        names,
    }
    .write(priority, false)
}

/// A datapath megaflow's match as `ofproto/trace` prints it on its `Megaflow:` line: as
/// [`match_to_string`], with the Ethernet packet type shown as `eth` after the packet
/// metadata (`recirc_id=0,eth,in_port=1,...`).
pub fn megaflow_to_string(m: &Match, names: Option<&PortNames>) -> String {
    MatchWriter {
        out: String::new(),
        m,
        names,
    }
    .write(None, true)
}

/// A packet's flow as `ofproto/trace` prints it on its `Flow:` line (see
/// [`Match::for_packet`]).
pub fn flow_to_string(flow: &Flow, names: Option<&PortNames>) -> String {
    match_to_string(&Match::for_packet(flow), None, names)
}

pub(crate) fn format_flow_debug(flow: &Flow, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    f.write_str(&flow_to_string(flow, None))
}

/// Writes a subfield: `NXM_NX_REG0[]`, `NXM_NX_REG0[5]`, `NXM_NX_REG0[0..15]`.
pub fn format_subfield(out: &mut String, s: &SubField) {
    out.push_str(s.field.nxm_name());
    if s.is_whole() {
        out.push_str("[]");
    } else if s.n_bits == 1 {
        let _ = write!(out, "[{}]", s.ofs);
    } else {
        let _ = write!(out, "[{}..{}]", s.ofs, s.ofs + s.n_bits - 1);
    }
}

fn format_controller(out: &mut String, c: &Controller) {
    if c.reason == PacketInReason::Action
        && c.controller_id == 0
        && c.userdata.is_none()
        && !c.pause
    {
        let _ = write!(out, "CONTROLLER:{}", c.max_len);
        return;
    }
    let mut parts: Vec<String> = vec![];
    if c.reason != PacketInReason::Action {
        parts.push(format!("reason={}", c.reason.name()));
    }
    if c.max_len != u16::MAX {
        parts.push(format!("max_len={}", c.max_len));
    }
    if c.controller_id != 0 {
        parts.push(format!("id={}", c.controller_id));
    }
    if let Some(u) = &c.userdata {
        let hex: Vec<String> = u.iter().map(|b| format!("{b:02x}")).collect();
        parts.push(format!("userdata={}", hex.join(".")));
    }
    if c.pause {
        parts.push("pause".to_string());
    }
    let _ = write!(out, "controller({})", parts.join(","));
}

/// Writes one action.
pub fn format_action(out: &mut String, a: &Action, names: Option<&PortNames>) {
    match a {
        Action::Output(p) => {
            if p.0 < OfpPort::MAX.0 {
                out.push_str("output:");
            }
            format_port(out, *p, names);
        }
        Action::OutputReg { src, .. } => {
            out.push_str("output:");
            format_subfield(out, src);
        }
        Action::Controller(c) => format_controller(out, c),
        Action::Enqueue { port, queue } => {
            out.push_str("enqueue:");
            format_port(out, *port, names);
            let _ = write!(out, ":{queue}");
        }
        Action::SetQueue(q) => {
            let _ = write!(out, "set_queue:{q}");
        }
        Action::PopQueue => out.push_str("pop_queue"),
        Action::SetField { field, value, mask } => {
            out.push_str("set_field:");
            format_value(out, *field, *value, Some(*mask), names);
            let _ = write!(out, "->{}", field.name());
        }
        Action::Load { dst, value } => {
            let _ = write!(out, "load:{}->", chex(*value));
            format_subfield(out, dst);
        }
        Action::Move { src, dst } => {
            out.push_str("move:");
            format_subfield(out, src);
            out.push_str("->");
            format_subfield(out, dst);
        }
        Action::SetEthSrc(a) => {
            let _ = write!(out, "mod_dl_src:{a}");
        }
        Action::SetEthDst(a) => {
            let _ = write!(out, "mod_dl_dst:{a}");
        }
        Action::SetIpv4Src(a) => {
            let _ = write!(out, "mod_nw_src:{a}");
        }
        Action::SetIpv4Dst(a) => {
            let _ = write!(out, "mod_nw_dst:{a}");
        }
        Action::SetIpDscp(t) => {
            let _ = write!(out, "mod_nw_tos:{t}");
        }
        Action::SetIpEcn(e) => {
            let _ = write!(out, "mod_nw_ecn:{e}");
        }
        Action::SetIpTtl(t) => {
            let _ = write!(out, "mod_nw_ttl:{t}");
        }
        Action::SetL4Src(p) => {
            let _ = write!(out, "mod_tp_src:{p}");
        }
        Action::SetL4Dst(p) => {
            let _ = write!(out, "mod_tp_dst:{p}");
        }
        Action::SetVlanVid(v) => {
            let _ = write!(out, "mod_vlan_vid:{v}");
        }
        Action::SetVlanPcp(p) => {
            let _ = write!(out, "mod_vlan_pcp:{p}");
        }
        Action::StripVlan => out.push_str("strip_vlan"),
        Action::PopVlan => out.push_str("pop_vlan"),
        Action::PushVlan(t) => {
            let _ = write!(out, "push_vlan:{t:#06x}");
        }
        Action::DecTtl(ids) => {
            if ids.is_empty() {
                out.push_str("dec_ttl");
            } else {
                let s: Vec<String> = ids.iter().map(|i| i.to_string()).collect();
                let _ = write!(out, "dec_ttl({})", s.join(","));
            }
        }
        Action::Resubmit { port, table } => match table {
            None => {
                out.push_str("resubmit:");
                format_port(out, port.unwrap_or(OfpPort::IN_PORT), names);
            }
            Some(t) => {
                out.push_str("resubmit(");
                if let Some(p) = port.filter(|p| *p != OfpPort::IN_PORT) {
                    format_port(out, p, names);
                }
                let _ = write!(out, ",{t})");
            }
        },
        Action::Group(g) => {
            let _ = write!(out, "group:{g}");
        }
        Action::Note(bytes) => {
            let hex: Vec<String> = bytes.iter().map(|b| format!("{b:02x}")).collect();
            let _ = write!(out, "note:{}", hex.join("."));
        }
        Action::Meter(m) => {
            let _ = write!(out, "meter:{m}");
        }
        Action::ClearActions => out.push_str("clear_actions"),
        Action::WriteActions(list) => {
            out.push_str("write_actions(");
            format_action_list(out, list, names);
            out.push(')');
        }
        Action::WriteMetadata { value, mask } => {
            let _ = write!(out, "write_metadata:{}", chex(u128::from(*value)));
            if *mask != u64::MAX {
                let _ = write!(out, "/{}", chex(u128::from(*mask)));
            }
        }
        Action::GotoTable(t) => {
            let _ = write!(out, "goto_table:{t}");
        }
    }
}

fn format_action_list(out: &mut String, list: &[Action], names: Option<&PortNames>) {
    for (i, a) in list.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        format_action(out, a, names);
    }
}

/// The action list as `actions=` prints it: comma-separated, `drop` when empty.
pub fn actions_to_string(actions: &[Action], names: Option<&PortNames>) -> String {
    if actions.is_empty() {
        return "drop".to_string();
    }
    let mut out = String::new();
    format_action_list(&mut out, actions, names);
    out
}

/// Formats a duration in milliseconds as `ovs-ofctl` does: seconds with the fraction's
/// trailing zeros removed (`10s`, `10.5s`, `0.044s`).
pub fn format_duration_ms(ms: u64) -> String {
    let (s, frac) = (ms / 1000, ms % 1000);
    if frac == 0 {
        return format!("{s}s");
    }
    let f = format!("{frac:03}");
    format!("{s}.{}s", f.trim_end_matches('0'))
}

/// Writes flow-mod flags as `ovs-ofctl` prints them in flow stats: each name followed by a
/// space (`send_flow_rem reset_counts `).
pub fn format_flags(out: &mut String, flags: FlowModFlags) {
    for (name, flag) in FlowModFlags::NAMES {
        if flags.contains(flag) {
            out.push_str(name);
            out.push(' ');
        }
    }
}

/// What to include in a `dump-flows` line beyond the match and actions (what the
/// OpenFlow version in use can report).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DumpOptions {
    /// Print the flow-mod flags (OpenFlow 1.3+ flow stats carry them).
    pub flags: bool,
    /// Print `importance=` (OpenFlow 1.4+).
    pub importance: bool,
    /// Print `idle_age=` (and `hard_age=` when the rule was modified): NXM and OpenFlow 1.5.
    pub ages: bool,
    /// Leave out duration and counters (`--no-stats`).
    pub no_stats: bool,
}

/// One rule as an `ovs-ofctl dump-flows` line (with its leading space):
/// ` cookie=0x0, duration=10.5s, table=0, n_packets=0, n_bytes=0, idle_timeout=10,
/// priority=100,in_port=1 actions=output:2`.
pub fn dump_flow_line(
    rule: &Rule,
    now_ms: u64,
    opts: DumpOptions,
    names: Option<&PortNames>,
) -> String {
    let mut s = String::from(" ");
    let st = rule.stats();
    if !opts.no_stats || rule.cookie != 0 {
        let _ = write!(s, "cookie={:#x}, ", rule.cookie);
    }
    if !opts.no_stats {
        let _ = write!(
            s,
            "duration={}, ",
            format_duration_ms(now_ms.saturating_sub(rule.created_ms))
        );
    }
    if !opts.no_stats || rule.table_id != 0 {
        let _ = write!(s, "table={}, ", rule.table_id);
    }
    if !opts.no_stats {
        let _ = write!(s, "n_packets={}, n_bytes={}, ", st.packets, st.bytes);
    }
    if rule.idle_timeout != 0 {
        let _ = write!(s, "idle_timeout={}, ", rule.idle_timeout);
    }
    if rule.hard_timeout != 0 {
        let _ = write!(s, "hard_timeout={}, ", rule.hard_timeout);
    }
    if opts.flags {
        format_flags(&mut s, rule.flags);
    }
    if opts.importance && rule.importance != 0 {
        let _ = write!(s, "importance={}, ", rule.importance);
    }
    if opts.ages && !opts.no_stats {
        let used = st.used_ms.max(rule.created_ms);
        let _ = write!(s, "idle_age={}, ", now_ms.saturating_sub(used) / 1000);
        let hard_age = now_ms.saturating_sub(rule.modified_ms) / 1000;
        if hard_age != now_ms.saturating_sub(rule.created_ms) / 1000 {
            let _ = write!(s, "hard_age={hard_age}, ");
        }
    }
    s.push_str(&match_to_string(&rule.match_, Some(rule.priority), names));
    if !s.ends_with(' ') {
        s.push(' ');
    }
    s.push_str("actions=");
    s.push_str(&actions_to_string(&rule.actions, names));
    s
}

/// One rule as `ovs-appctl bridge/dump-flows` prints it:
/// `[table_id=N, ]duration=10s, n_packets=0, n_bytes=0, priority=...,actions=...`.
pub fn bridge_dump_flow_line(rule: &Rule, now_ms: u64) -> String {
    let mut s = String::new();
    if rule.table_id != 0 {
        let _ = write!(s, "table_id={}, ", rule.table_id);
    }
    let st = rule.stats();
    let _ = write!(
        s,
        "duration={}s, n_packets={}, n_bytes={}, ",
        now_ms.saturating_sub(rule.created_ms) / 1000,
        st.packets,
        st.bytes
    );
    s.push_str(&match_to_string(&rule.match_, Some(rule.priority), None));
    s.push_str(",actions=");
    s.push_str(&actions_to_string(&rule.actions, None));
    s
}

/// A rule's match as `ofproto/trace` prints it for each table it visits:
/// `in_port=1,dl_src=..., priority 1` (`priority 0` alone for a catch-all rule).
pub fn trace_rule_string(rule: &Rule, names: Option<&PortNames>) -> String {
    let m = match_to_string(&rule.match_, None, names);
    if m.is_empty() {
        format!("priority {}", rule.priority)
    } else {
        format!("{m}, priority {}", rule.priority)
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::new();
        format_action(&mut s, self, None);
        f.write_str(&s)
    }
}
