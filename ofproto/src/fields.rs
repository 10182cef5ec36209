//! [`Field`]: the matchable and settable fields of a [`Flow`] (OVS's "meta-flow",
//! `ovs-fields(7)`), with their names, widths, prerequisites and value formats.
//!
//! A field's value is handled as a `u128` holding its `n_bits` low bits: an Ethernet address
//! is its 48-bit big-endian value, an IPv6 address its 128-bit value. Several fields are views
//! of the same storage (`dl_vlan`, `vlan_vid`, `dl_vlan_pcp` and `vlan_tci`; `nw_tos`,
//! `ip_dscp` and `nw_ecn`; `tcp_src`, `udp_src`, `sctp_src` and `icmp_type`), as in OVS.

use std::fmt;

use crate::flow::{Flow, FlowWildcards, Loc, N_REGS, OfpPort, loc};

/// One field of a [`Flow`] (`MFF_*` in OVS).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Field {
    /// `recirc_id`.
    RecircId,
    /// `dp_hash`.
    DpHash,
    /// `in_port` (16-bit, NXM_OF_IN_PORT).
    InPort,
    /// `in_port_oxm` (32-bit, OXM_OF_IN_PORT).
    InPortOxm,
    /// `skb_priority`.
    SkbPriority,
    /// `pkt_mark`.
    PktMark,
    /// `metadata`.
    Metadata,
    /// `reg0`..`reg15`.
    Reg(u8),
    /// `xreg0`..`xreg7`: 64-bit views of register pairs.
    Xreg(u8),
    /// `xxreg0`..`xxreg3`: 128-bit views of register quads.
    Xxreg(u8),
    /// `eth_src` / `dl_src`.
    EthSrc,
    /// `eth_dst` / `dl_dst`.
    EthDst,
    /// `eth_type` / `dl_type`.
    EthType,
    /// `vlan_tci` (CFI = tag present).
    VlanTci,
    /// `dl_vlan`: the 12-bit VLAN id (setting it also requires a tag).
    DlVlan,
    /// `vlan_vid` (OXM): VLAN id plus the 0x1000 "present" bit.
    VlanVid,
    /// `dl_vlan_pcp`: the 3-bit priority (setting it also requires a tag).
    DlVlanPcp,
    /// `vlan_pcp` (OXM): same as `dl_vlan_pcp`.
    VlanPcp,
    /// `ip_src` / `nw_src`.
    Ipv4Src,
    /// `ip_dst` / `nw_dst`.
    Ipv4Dst,
    /// `ipv6_src`.
    Ipv6Src,
    /// `ipv6_dst`.
    Ipv6Dst,
    /// `ipv6_label`.
    Ipv6Label,
    /// `nw_proto` / `ip_proto`.
    IpProto,
    /// `nw_tos`: the DSCP bits in their TOS position (low 2 bits zero).
    NwTos,
    /// `ip_dscp`: DSCP shifted right by 2.
    IpDscp,
    /// `nw_ecn` / `ip_ecn`.
    IpEcn,
    /// `nw_ttl`.
    IpTtl,
    /// `ip_frag` / `nw_frag`.
    IpFrag,
    /// `arp_op`.
    ArpOp,
    /// `arp_spa`.
    ArpSpa,
    /// `arp_tpa`.
    ArpTpa,
    /// `arp_sha`.
    ArpSha,
    /// `arp_tha`.
    ArpTha,
    /// `tcp_src` / `tp_src`.
    TcpSrc,
    /// `tcp_dst` / `tp_dst`.
    TcpDst,
    /// `udp_src`.
    UdpSrc,
    /// `udp_dst`.
    UdpDst,
    /// `sctp_src`.
    SctpSrc,
    /// `sctp_dst`.
    SctpDst,
    /// `icmp_type`.
    IcmpType,
    /// `icmp_code`.
    IcmpCode,
    /// `icmpv6_type`.
    Icmpv6Type,
    /// `icmpv6_code`.
    Icmpv6Code,
    /// `nd_target`.
    NdTarget,
    /// `nd_sll`.
    NdSll,
    /// `nd_tll`.
    NdTll,
    /// `tcp_flags`.
    TcpFlags,
}

/// What must hold of a flow before a field is meaningful (`enum mf_prereqs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Prereq {
    /// Always meaningful.
    None,
    /// A VLAN tag is present.
    Vlan,
    /// ARP or RARP.
    Arp,
    /// IPv4.
    Ipv4,
    /// IPv6.
    Ipv6,
    /// IPv4 or IPv6.
    Ip,
    /// TCP over IP, not a later fragment.
    Tcp,
    /// UDP over IP, not a later fragment.
    Udp,
    /// SCTP over IP, not a later fragment.
    Sctp,
    /// ICMP over IPv4, not a later fragment.
    Icmpv4,
    /// ICMPv6 over IPv6, not a later fragment.
    Icmpv6,
    /// IPv6 neighbor solicitation or advertisement.
    Nd,
    /// IPv6 neighbor solicitation.
    NdSolicit,
    /// IPv6 neighbor advertisement.
    NdAdvert,
    /// TCP, UDP or SCTP (the legacy `tp_src`/`tp_dst` in a match).
    L4,
    /// ICMP or ICMPv6 (`icmp_type`/`icmp_code` in a match, which print for both).
    Icmp,
}

impl Prereq {
    /// A short description for error messages.
    pub fn describe(self) -> &'static str {
        match self {
            Prereq::None => "nothing",
            Prereq::Vlan => "a VLAN tag (vlan_tci=0x1000/0x1000)",
            Prereq::Arp => "arp or rarp",
            Prereq::Ipv4 => "ip (dl_type=0x0800)",
            Prereq::Ipv6 => "ipv6 (dl_type=0x86dd)",
            Prereq::Ip => "ip or ipv6",
            Prereq::Tcp => "tcp or tcp6",
            Prereq::Udp => "udp or udp6",
            Prereq::Sctp => "sctp or sctp6",
            Prereq::Icmpv4 => "icmp",
            Prereq::Icmpv6 => "icmp6",
            Prereq::Nd => "icmp6 with icmp_type=135 or 136 and icmp_code=0",
            Prereq::NdSolicit => "icmp6 with icmp_type=135 and icmp_code=0",
            Prereq::NdAdvert => "icmp6 with icmp_type=136 and icmp_code=0",
            Prereq::L4 => "tcp, udp or sctp",
            Prereq::Icmp => "icmp or icmp6",
        }
    }

    /// Whether `flow` satisfies the prerequisite. When `wc` is given, the fields examined to
    /// decide are un-wildcarded (as translation must when it acts on the answer).
    pub fn ok(self, flow: &Flow, mut wc: Option<&mut FlowWildcards>) -> bool {
        let mut look = |l: Loc| {
            if let Some(w) = wc.as_deref_mut() {
                w.unwildcard_loc(l);
            }
        };
        let dl_type = |look: &mut dyn FnMut(Loc)| {
            look(loc::DL_TYPE);
            flow.dl_type()
        };
        let l4 = |look: &mut dyn FnMut(Loc), v4: bool, v6: bool, protos: &[u8]| {
            let t = dl_type(look);
            if !((v4 && t == 0x0800) || (v6 && t == 0x86dd)) {
                return false;
            }
            look(loc::NW_PROTO);
            if !protos.contains(&flow.nw_proto()) {
                return false;
            }
            look(loc::NW_FRAG);
            flow.nw_frag() & dpif::odp::frag::LATER == 0
        };
        let nd = |look: &mut dyn FnMut(Loc), types: &[u16]| {
            if !l4(look, false, true, &[58]) {
                return false;
            }
            look(loc::TP_SRC);
            look(loc::TP_DST);
            types.contains(&flow.tp_src()) && flow.tp_dst() == 0
        };
        match self {
            Prereq::None => true,
            Prereq::Vlan => {
                look(loc::VLAN0_TCI);
                flow.vlan_tci() & dpif::odp::vlan::CFI != 0
            }
            Prereq::Arp => matches!(dl_type(&mut look), 0x0806 | 0x8035),
            Prereq::Ipv4 => dl_type(&mut look) == 0x0800,
            Prereq::Ipv6 => dl_type(&mut look) == 0x86dd,
            Prereq::Ip => matches!(dl_type(&mut look), 0x0800 | 0x86dd),
            Prereq::Tcp => l4(&mut look, true, true, &[6]),
            Prereq::Udp => l4(&mut look, true, true, &[17]),
            Prereq::Sctp => l4(&mut look, true, true, &[132]),
            Prereq::L4 => l4(&mut look, true, true, &[6, 17, 132]),
            Prereq::Icmpv4 => l4(&mut look, true, false, &[1]),
            Prereq::Icmpv6 => l4(&mut look, false, true, &[58]),
            Prereq::Icmp => l4(&mut look, true, false, &[1]) || l4(&mut look, false, true, &[58]),
            Prereq::Nd => nd(&mut look, &[135, 136]),
            Prereq::NdSolicit => nd(&mut look, &[135]),
            Prereq::NdAdvert => nd(&mut look, &[136]),
        }
    }
}

/// How a field's value is written in flow syntax.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueFormat {
    /// Decimal (`tp_dst=80`).
    Decimal,
    /// Hexadecimal with `0x` (`reg0=0x5`).
    Hex,
    /// Ethernet address.
    Ethernet,
    /// IPv4 address.
    Ipv4,
    /// IPv6 address.
    Ipv6,
    /// An OpenFlow port (number or reserved name).
    Port,
    /// Fragment keywords (`no`, `yes`, `first`, `later`, `not_later`).
    Frag,
    /// TCP flag names (`+syn-ack`).
    TcpFlags,
}

/// The static description of a [`Field`].
#[derive(Clone, Copy, Debug)]
pub struct FieldInfo {
    /// The name `ovs-fields(7)` gives the field, used when printing `set_field`.
    pub name: &'static str,
    /// Another accepted name (`dl_src` for `eth_src`), if any.
    pub alias: Option<&'static str>,
    /// The NXM or OXM name printed in `load`/`move` (`NXM_OF_ETH_SRC`), if any.
    pub nxm: Option<&'static str>,
    /// Another accepted NXM/OXM name (`OXM_OF_ETH_SRC`), if any.
    pub oxm: Option<&'static str>,
    /// Width in bits of the field's value.
    pub n_bits: u32,
    /// Where the field is stored.
    pub loc: Loc,
    /// The value is the stored bits shifted left by this many bits (`nw_tos`).
    pub vshift: u32,
    /// Whether matches may use an arbitrary bitwise mask.
    pub maskable: bool,
    /// Whether `set_field`/`load` may write it.
    pub writable: bool,
    /// The prerequisite.
    pub prereq: Prereq,
    /// The value format.
    pub format: ValueFormat,
}

const REG_NAMES: [&str; N_REGS] = [
    "reg0", "reg1", "reg2", "reg3", "reg4", "reg5", "reg6", "reg7", "reg8", "reg9", "reg10",
    "reg11", "reg12", "reg13", "reg14", "reg15",
];
const REG_NXM: [&str; N_REGS] = [
    "NXM_NX_REG0",
    "NXM_NX_REG1",
    "NXM_NX_REG2",
    "NXM_NX_REG3",
    "NXM_NX_REG4",
    "NXM_NX_REG5",
    "NXM_NX_REG6",
    "NXM_NX_REG7",
    "NXM_NX_REG8",
    "NXM_NX_REG9",
    "NXM_NX_REG10",
    "NXM_NX_REG11",
    "NXM_NX_REG12",
    "NXM_NX_REG13",
    "NXM_NX_REG14",
    "NXM_NX_REG15",
];
const XREG_NAMES: [&str; 8] = [
    "xreg0", "xreg1", "xreg2", "xreg3", "xreg4", "xreg5", "xreg6", "xreg7",
];
const XREG_OXM: [&str; 8] = [
    "OXM_OF_PKT_REG0",
    "OXM_OF_PKT_REG1",
    "OXM_OF_PKT_REG2",
    "OXM_OF_PKT_REG3",
    "OXM_OF_PKT_REG4",
    "OXM_OF_PKT_REG5",
    "OXM_OF_PKT_REG6",
    "OXM_OF_PKT_REG7",
];
const XXREG_NAMES: [&str; 4] = ["xxreg0", "xxreg1", "xxreg2", "xxreg3"];
const XXREG_NXM: [&str; 4] = [
    "NXM_NX_XXREG0",
    "NXM_NX_XXREG1",
    "NXM_NX_XXREG2",
    "NXM_NX_XXREG3",
];

/// Every field with a fixed name (registers are added by [`Field::all`]).
const FIXED: [Field; 45] = [
    Field::RecircId,
    Field::DpHash,
    Field::InPort,
    Field::InPortOxm,
    Field::SkbPriority,
    Field::PktMark,
    Field::Metadata,
    Field::EthSrc,
    Field::EthDst,
    Field::EthType,
    Field::VlanTci,
    Field::DlVlan,
    Field::VlanVid,
    Field::DlVlanPcp,
    Field::VlanPcp,
    Field::Ipv4Src,
    Field::Ipv4Dst,
    Field::Ipv6Src,
    Field::Ipv6Dst,
    Field::Ipv6Label,
    Field::IpProto,
    Field::NwTos,
    Field::IpDscp,
    Field::IpEcn,
    Field::IpTtl,
    Field::IpFrag,
    Field::ArpOp,
    Field::ArpSpa,
    Field::ArpTpa,
    Field::ArpSha,
    Field::ArpTha,
    Field::TcpSrc,
    Field::TcpDst,
    Field::UdpSrc,
    Field::UdpDst,
    Field::SctpSrc,
    Field::SctpDst,
    Field::IcmpType,
    Field::IcmpCode,
    Field::Icmpv6Type,
    Field::Icmpv6Code,
    Field::NdTarget,
    Field::NdSll,
    Field::NdTll,
    Field::TcpFlags,
];

#[allow(clippy::too_many_arguments)]
const fn info(
    name: &'static str,
    alias: Option<&'static str>,
    nxm: Option<&'static str>,
    oxm: Option<&'static str>,
    n_bits: u32,
    loc: Loc,
    maskable: bool,
    writable: bool,
    prereq: Prereq,
    format: ValueFormat,
) -> FieldInfo {
    FieldInfo {
        name,
        alias,
        nxm,
        oxm,
        n_bits,
        loc,
        vshift: 0,
        maskable,
        writable,
        prereq,
        format,
    }
}

/// A sub-location of `l`: `bits` bits starting `offset` bits above its least significant bit.
const fn sub(l: Loc, offset: u32, bits: u32) -> Loc {
    Loc {
        word: l.word,
        shift: l.shift + offset,
        bits,
    }
}

impl Field {
    /// Every field, registers included.
    pub fn all() -> impl Iterator<Item = Field> {
        let regs = (0..16u8).map(Field::Reg);
        let xregs = (0..8u8).map(Field::Xreg);
        let xxregs = (0..4u8).map(Field::Xxreg);
        FIXED.iter().copied().chain(regs).chain(xregs).chain(xxregs)
    }

    /// Looks a field up by any of its names (`eth_src`, `dl_src`, `NXM_OF_ETH_SRC`,
    /// `OXM_OF_ETH_SRC`); names are case-sensitive, as in OVS.
    pub fn from_name(name: &str) -> Option<Field> {
        Field::all().find(|f| {
            let i = f.info();
            i.name == name || i.alias == Some(name) || i.nxm == Some(name) || i.oxm == Some(name)
        })
    }

    /// The field's description.
    pub fn info(self) -> FieldInfo {
        use Prereq as P;
        use ValueFormat as V;
        let idx = |i: u8, n: usize| usize::from(i).min(n - 1);
        match self {
            Field::RecircId => info(
                "recirc_id",
                None,
                Some("NXM_NX_RECIRC_ID"),
                None,
                32,
                loc::RECIRC_ID,
                false,
                false,
                P::None,
                V::Decimal,
            ),
            Field::DpHash => info(
                "dp_hash",
                None,
                Some("NXM_NX_DP_HASH"),
                None,
                32,
                loc::DP_HASH,
                true,
                false,
                P::None,
                V::Hex,
            ),
            Field::InPort => info(
                "in_port",
                None,
                Some("NXM_OF_IN_PORT"),
                None,
                16,
                loc::IN_PORT,
                false,
                true,
                P::None,
                V::Port,
            ),
            Field::InPortOxm => info(
                "in_port_oxm",
                None,
                Some("OXM_OF_IN_PORT"),
                None,
                32,
                loc::IN_PORT,
                false,
                true,
                P::None,
                V::Port,
            ),
            Field::SkbPriority => info(
                "skb_priority",
                None,
                None,
                None,
                32,
                loc::SKB_PRIORITY,
                false,
                false,
                P::None,
                V::Hex,
            ),
            Field::PktMark => info(
                "pkt_mark",
                None,
                Some("NXM_NX_PKT_MARK"),
                None,
                32,
                loc::PKT_MARK,
                true,
                true,
                P::None,
                V::Hex,
            ),
            Field::Metadata => info(
                "metadata",
                None,
                Some("OXM_OF_METADATA"),
                None,
                64,
                loc::METADATA,
                true,
                true,
                P::None,
                V::Hex,
            ),
            Field::Reg(i) => {
                let i = idx(i, N_REGS);
                info(
                    REG_NAMES[i],
                    None,
                    Some(REG_NXM[i]),
                    None,
                    32,
                    loc::reg(i),
                    true,
                    true,
                    P::None,
                    V::Hex,
                )
            }
            Field::Xreg(i) => {
                let i = idx(i, 8);
                info(
                    XREG_NAMES[i],
                    None,
                    Some(XREG_OXM[i]),
                    None,
                    64,
                    loc::xreg(i),
                    true,
                    true,
                    P::None,
                    V::Hex,
                )
            }
            Field::Xxreg(i) => {
                let i = idx(i, 4);
                info(
                    XXREG_NAMES[i],
                    None,
                    Some(XXREG_NXM[i]),
                    None,
                    128,
                    loc::xxreg(i),
                    true,
                    true,
                    P::None,
                    V::Hex,
                )
            }
            Field::EthSrc => info(
                "eth_src",
                Some("dl_src"),
                Some("NXM_OF_ETH_SRC"),
                Some("OXM_OF_ETH_SRC"),
                48,
                loc::ETH_SRC,
                true,
                true,
                P::None,
                V::Ethernet,
            ),
            Field::EthDst => info(
                "eth_dst",
                Some("dl_dst"),
                Some("NXM_OF_ETH_DST"),
                Some("OXM_OF_ETH_DST"),
                48,
                loc::ETH_DST,
                true,
                true,
                P::None,
                V::Ethernet,
            ),
            Field::EthType => info(
                "eth_type",
                Some("dl_type"),
                Some("NXM_OF_ETH_TYPE"),
                Some("OXM_OF_ETH_TYPE"),
                16,
                loc::DL_TYPE,
                false,
                false,
                P::None,
                V::Hex,
            ),
            Field::VlanTci => info(
                "vlan_tci",
                None,
                Some("NXM_OF_VLAN_TCI"),
                None,
                16,
                loc::VLAN0_TCI,
                true,
                true,
                P::None,
                V::Hex,
            ),
            Field::DlVlan => info(
                "dl_vlan",
                None,
                None,
                None,
                12,
                sub(loc::VLAN0_TCI, 0, 12),
                false,
                true,
                P::None,
                V::Decimal,
            ),
            Field::VlanVid => info(
                "vlan_vid",
                None,
                Some("OXM_OF_VLAN_VID"),
                None,
                13,
                sub(loc::VLAN0_TCI, 0, 13),
                true,
                true,
                P::None,
                V::Decimal,
            ),
            Field::DlVlanPcp => info(
                "dl_vlan_pcp",
                None,
                None,
                None,
                3,
                sub(loc::VLAN0_TCI, 13, 3),
                false,
                true,
                P::None,
                V::Decimal,
            ),
            Field::VlanPcp => info(
                "vlan_pcp",
                None,
                Some("OXM_OF_VLAN_PCP"),
                None,
                3,
                sub(loc::VLAN0_TCI, 13, 3),
                false,
                true,
                P::Vlan,
                V::Decimal,
            ),
            Field::Ipv4Src => info(
                "ip_src",
                Some("nw_src"),
                Some("NXM_OF_IP_SRC"),
                Some("OXM_OF_IPV4_SRC"),
                32,
                loc::NW_SRC,
                true,
                true,
                P::Ipv4,
                V::Ipv4,
            ),
            Field::Ipv4Dst => info(
                "ip_dst",
                Some("nw_dst"),
                Some("NXM_OF_IP_DST"),
                Some("OXM_OF_IPV4_DST"),
                32,
                loc::NW_DST,
                true,
                true,
                P::Ipv4,
                V::Ipv4,
            ),
            Field::Ipv6Src => info(
                "ipv6_src",
                None,
                Some("NXM_NX_IPV6_SRC"),
                Some("OXM_OF_IPV6_SRC"),
                128,
                loc::IPV6_SRC,
                true,
                true,
                P::Ipv6,
                V::Ipv6,
            ),
            Field::Ipv6Dst => info(
                "ipv6_dst",
                None,
                Some("NXM_NX_IPV6_DST"),
                Some("OXM_OF_IPV6_DST"),
                128,
                loc::IPV6_DST,
                true,
                true,
                P::Ipv6,
                V::Ipv6,
            ),
            Field::Ipv6Label => info(
                "ipv6_label",
                None,
                Some("NXM_NX_IPV6_LABEL"),
                Some("OXM_OF_IPV6_FLABEL"),
                20,
                sub(loc::IPV6_LABEL, 0, 20),
                true,
                true,
                P::Ipv6,
                V::Hex,
            ),
            Field::IpProto => info(
                "nw_proto",
                Some("ip_proto"),
                Some("NXM_OF_IP_PROTO"),
                Some("OXM_OF_IP_PROTO"),
                8,
                loc::NW_PROTO,
                false,
                false,
                P::Ip,
                V::Decimal,
            ),
            Field::NwTos => FieldInfo {
                vshift: 2,
                ..info(
                    "nw_tos",
                    None,
                    Some("NXM_OF_IP_TOS"),
                    None,
                    8,
                    sub(loc::NW_TOS, 2, 6),
                    false,
                    true,
                    P::Ip,
                    V::Decimal,
                )
            },
            Field::IpDscp => info(
                "ip_dscp",
                None,
                Some("OXM_OF_IP_DSCP"),
                None,
                6,
                sub(loc::NW_TOS, 2, 6),
                false,
                true,
                P::Ip,
                V::Decimal,
            ),
            Field::IpEcn => info(
                "nw_ecn",
                Some("ip_ecn"),
                Some("NXM_NX_IP_ECN"),
                Some("OXM_OF_IP_ECN"),
                2,
                sub(loc::NW_TOS, 0, 2),
                false,
                true,
                P::Ip,
                V::Decimal,
            ),
            Field::IpTtl => info(
                "nw_ttl",
                None,
                Some("NXM_NX_IP_TTL"),
                None,
                8,
                loc::NW_TTL,
                false,
                true,
                P::Ip,
                V::Decimal,
            ),
            Field::IpFrag => info(
                "ip_frag",
                Some("nw_frag"),
                Some("NXM_NX_IP_FRAG"),
                None,
                2,
                sub(loc::NW_FRAG, 0, 2),
                true,
                false,
                P::Ip,
                V::Frag,
            ),
            Field::ArpOp => info(
                "arp_op",
                None,
                Some("NXM_OF_ARP_OP"),
                Some("OXM_OF_ARP_OP"),
                16,
                loc::NW_PROTO,
                false,
                true,
                P::Arp,
                V::Decimal,
            ),
            Field::ArpSpa => info(
                "arp_spa",
                None,
                Some("NXM_OF_ARP_SPA"),
                Some("OXM_OF_ARP_SPA"),
                32,
                loc::NW_SRC,
                true,
                true,
                P::Arp,
                V::Ipv4,
            ),
            Field::ArpTpa => info(
                "arp_tpa",
                None,
                Some("NXM_OF_ARP_TPA"),
                Some("OXM_OF_ARP_TPA"),
                32,
                loc::NW_DST,
                true,
                true,
                P::Arp,
                V::Ipv4,
            ),
            Field::ArpSha => info(
                "arp_sha",
                None,
                Some("NXM_NX_ARP_SHA"),
                Some("OXM_OF_ARP_SHA"),
                48,
                loc::ARP_SHA,
                true,
                true,
                P::Arp,
                V::Ethernet,
            ),
            Field::ArpTha => info(
                "arp_tha",
                None,
                Some("NXM_NX_ARP_THA"),
                Some("OXM_OF_ARP_THA"),
                48,
                loc::ARP_THA,
                true,
                true,
                P::Arp,
                V::Ethernet,
            ),
            Field::TcpSrc => info(
                "tcp_src",
                Some("tp_src"),
                Some("NXM_OF_TCP_SRC"),
                Some("OXM_OF_TCP_SRC"),
                16,
                loc::TP_SRC,
                true,
                true,
                P::Tcp,
                V::Decimal,
            ),
            Field::TcpDst => info(
                "tcp_dst",
                Some("tp_dst"),
                Some("NXM_OF_TCP_DST"),
                Some("OXM_OF_TCP_DST"),
                16,
                loc::TP_DST,
                true,
                true,
                P::Tcp,
                V::Decimal,
            ),
            Field::UdpSrc => info(
                "udp_src",
                None,
                Some("NXM_OF_UDP_SRC"),
                Some("OXM_OF_UDP_SRC"),
                16,
                loc::TP_SRC,
                true,
                true,
                P::Udp,
                V::Decimal,
            ),
            Field::UdpDst => info(
                "udp_dst",
                None,
                Some("NXM_OF_UDP_DST"),
                Some("OXM_OF_UDP_DST"),
                16,
                loc::TP_DST,
                true,
                true,
                P::Udp,
                V::Decimal,
            ),
            Field::SctpSrc => info(
                "sctp_src",
                None,
                Some("OXM_OF_SCTP_SRC"),
                None,
                16,
                loc::TP_SRC,
                true,
                true,
                P::Sctp,
                V::Decimal,
            ),
            Field::SctpDst => info(
                "sctp_dst",
                None,
                Some("OXM_OF_SCTP_DST"),
                None,
                16,
                loc::TP_DST,
                true,
                true,
                P::Sctp,
                V::Decimal,
            ),
            Field::IcmpType => info(
                "icmp_type",
                None,
                Some("NXM_OF_ICMP_TYPE"),
                Some("OXM_OF_ICMPV4_TYPE"),
                8,
                loc::TP_SRC,
                false,
                true,
                P::Icmpv4,
                V::Decimal,
            ),
            Field::IcmpCode => info(
                "icmp_code",
                None,
                Some("NXM_OF_ICMP_CODE"),
                Some("OXM_OF_ICMPV4_CODE"),
                8,
                loc::TP_DST,
                false,
                true,
                P::Icmpv4,
                V::Decimal,
            ),
            Field::Icmpv6Type => info(
                "icmpv6_type",
                None,
                Some("NXM_NX_ICMPV6_TYPE"),
                Some("OXM_OF_ICMPV6_TYPE"),
                8,
                loc::TP_SRC,
                false,
                true,
                P::Icmpv6,
                V::Decimal,
            ),
            Field::Icmpv6Code => info(
                "icmpv6_code",
                None,
                Some("NXM_NX_ICMPV6_CODE"),
                Some("OXM_OF_ICMPV6_CODE"),
                8,
                loc::TP_DST,
                false,
                true,
                P::Icmpv6,
                V::Decimal,
            ),
            Field::NdTarget => info(
                "nd_target",
                None,
                Some("NXM_NX_ND_TARGET"),
                Some("OXM_OF_IPV6_ND_TARGET"),
                128,
                loc::ND_TARGET,
                true,
                true,
                P::Nd,
                V::Ipv6,
            ),
            Field::NdSll => info(
                "nd_sll",
                None,
                Some("NXM_NX_ND_SLL"),
                Some("OXM_OF_IPV6_ND_SLL"),
                48,
                loc::ARP_SHA,
                true,
                true,
                P::NdSolicit,
                V::Ethernet,
            ),
            Field::NdTll => info(
                "nd_tll",
                None,
                Some("NXM_NX_ND_TLL"),
                Some("OXM_OF_IPV6_ND_TLL"),
                48,
                loc::ARP_THA,
                true,
                true,
                P::NdAdvert,
                V::Ethernet,
            ),
            Field::TcpFlags => info(
                "tcp_flags",
                None,
                Some("NXM_NX_TCP_FLAGS"),
                Some("ONFOXM_ET_TCP_FLAGS"),
                12,
                sub(loc::TCP_FLAGS, 0, 12),
                true,
                false,
                P::Tcp,
                V::TcpFlags,
            ),
        }
    }

    /// The field's width in bits.
    pub fn n_bits(self) -> u32 {
        self.info().n_bits
    }

    /// The mask of every valid value bit of this field (`n_bits` ones, except fields whose
    /// storage is narrower, such as `arp_op`, and `nw_tos`, whose low 2 bits are ECN).
    pub fn valid_bits(self) -> u128 {
        let i = self.info();
        let stored = i.loc.value_mask() << i.vshift;
        let width = if i.n_bits >= 128 {
            u128::MAX
        } else {
            (1u128 << i.n_bits) - 1
        };
        stored & width
    }

    /// The field's value in `flow`.
    #[inline]
    pub fn get(self, flow: &Flow) -> u128 {
        let i = self.info();
        flow.get_loc(i.loc) << i.vshift
    }

    /// Sets the field's value in `flow` (bits beyond the field are ignored). Setting
    /// `dl_vlan`, `vlan_vid` without its 0x1000 bit aside, or `dl_vlan_pcp`/`vlan_pcp` also
    /// marks a VLAN tag present, as OVS's `set_field` does.
    #[inline]
    pub fn set(self, flow: &mut Flow, v: u128) {
        let i = self.info();
        flow.set_loc(i.loc, v >> i.vshift);
        if matches!(self, Field::DlVlan | Field::DlVlanPcp | Field::VlanPcp) {
            let tci = flow.vlan_tci() | dpif::odp::vlan::CFI;
            flow.set_vlan_tci(tci);
        }
    }

    /// Sets the bits of `mask` of the field in `flow` to those of `v`.
    pub fn set_masked(self, flow: &mut Flow, v: u128, mask: u128) {
        let old = self.get(flow);
        self.set(flow, (old & !mask) | (v & mask));
    }

    /// The field's bits in a mask (`flow` used as a mask).
    #[inline]
    pub fn get_mask(self, mask: &Flow) -> u128 {
        self.get(mask)
    }

    /// Un-wildcards the whole field in `wc`.
    pub fn unwildcard(self, wc: &mut FlowWildcards) {
        let i = self.info();
        wc.unwildcard_loc(i.loc);
    }

    /// Whether `flow` satisfies the field's prerequisite; see [`Prereq::ok`].
    pub fn prereqs_ok(self, flow: &Flow, wc: Option<&mut FlowWildcards>) -> bool {
        self.info().prereq.ok(flow, wc)
    }

    /// The name printed in `set_field` actions.
    pub fn name(self) -> &'static str {
        self.info().name
    }

    /// The name printed in `load`/`move` actions (NXM or OXM name, falling back to the
    /// field name).
    pub fn nxm_name(self) -> &'static str {
        let i = self.info();
        i.nxm.unwrap_or(i.name)
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Formats a port number as a field value (reserved ports by name).
pub(crate) fn port_of(v: u128) -> OfpPort {
    OfpPort(u32::try_from(v).unwrap_or(u32::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_resolve() {
        let mut seen = std::collections::HashSet::new();
        for f in Field::all() {
            let i = f.info();
            for n in [Some(i.name), i.alias, i.nxm, i.oxm].into_iter().flatten() {
                assert!(seen.insert(n), "duplicate name {n}");
                assert_eq!(Field::from_name(n), Some(f), "{n}");
            }
            assert!(i.n_bits >= 1 && i.n_bits <= 128);
        }
        assert_eq!(Field::from_name("dl_src"), Some(Field::EthSrc));
        assert_eq!(Field::from_name("NXM_NX_REG3"), Some(Field::Reg(3)));
        assert_eq!(Field::from_name("nope"), None);
    }

    #[test]
    fn views_share_storage() {
        let mut f = Flow::zero();
        Field::NwTos.set(&mut f, 0xff);
        assert_eq!(f.nw_tos(), 0xfc);
        assert_eq!(Field::IpDscp.get(&f), 0x3f);
        Field::IpEcn.set(&mut f, 2);
        assert_eq!(f.nw_tos(), 0xfe);
        Field::DlVlan.set(&mut f, 100);
        assert_eq!(f.vlan_tci(), 0x1000 | 100);
        Field::VlanPcp.set(&mut f, 5);
        assert_eq!(f.vlan_tci(), 0xb000 | 100);
        assert_eq!(Field::VlanVid.get(&f), 0x1000 | 100);
        Field::Xreg(0).set(&mut f, 0xaaaa_bbbb_cccc_dddd);
        assert_eq!((f.reg(0), f.reg(1)), (0xaaaa_bbbb, 0xcccc_dddd));
        assert_eq!(Field::NwTos.valid_bits(), 0xfc);
        assert_eq!(Field::ArpOp.valid_bits(), 0xff);
    }

    #[test]
    fn prereqs_unwildcard_what_they_read() {
        let mut f = Flow::zero();
        f.set_dl_type(0x0800);
        f.set_nw_proto(6);
        let mut wc = FlowWildcards::catchall();
        assert!(Field::TcpDst.prereqs_ok(&f, Some(&mut wc)));
        assert_eq!(wc.masks.dl_type(), 0xffff);
        assert_eq!(wc.masks.nw_proto(), 0xff);
        assert!(!Field::UdpDst.prereqs_ok(&f, None));
        assert!(!Field::Ipv6Src.prereqs_ok(&f, None));
        f.set_nw_frag(3);
        assert!(!Field::TcpDst.prereqs_ok(&f, None));
    }
}
