//! Conversion between [`FlowKey`] (and its mask) and [`KeyAttr`] lists, as OVS's
//! `odp_flow_key_from_flow`, `odp_flow_key_from_mask`, `odp_flow_key_to_flow` and
//! `odp_flow_key_to_mask` do.
//!
//! Which attributes a key produces depends on the packet: `packet_type` decides whether
//! there is an Ethernet header, VLAN tags nest the rest in `OVS_KEY_ATTR_ENCAP`, the
//! ethertype picks `ipv4`/`ipv6`/`arp`, `nw_proto` picks the L4 attribute, and later
//! fragments carry none. A mask has the same attributes as its key, so it is always
//! converted together with the key.
//!
//! The metadata that [`FlowKey`] does not hold (conntrack state, zone, mark and labels) is
//! emitted as zero, as OVS emits it for a packet that conntrack has not seen: the verbose
//! text form then prints `ct_state(0/0),ct_zone(0/0),...` exactly as OVS does.

use super::attr::{ArpKey, EthKey, IcmpKey, Ipv4Key, Ipv6Key, KeyAttr, L4Key, NdKey};
use super::key::{FlowKey, eth_type, frag, ip_proto, vlan};
use super::uapi::*;
use crate::error::{Error, Result};

/// `PT_ETH`: the packet type of an Ethernet frame (namespace 0, type 0).
pub const PT_ETH: u32 = 0;
/// `OFPHTN_ETHERTYPE`: the packet-type namespace whose types are ethertypes.
pub const OFPHTN_ETHERTYPE: u32 = 1;

/// How well a key's attributes fit what a [`FlowKey`] holds (OVS's `enum odp_key_fitness`,
/// without `ODP_FIT_ERROR`, which is an `Err` here).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Fitness {
    /// Every attribute was expected and understood.
    Perfect,
    /// Attributes are present that the key cannot hold (attributes this crate does not
    /// model, types above the maximum, non-zero conntrack metadata, MPLS labels): a flow
    /// installed from this key would match more than the datapath's key says.
    TooMuch,
    /// Attributes that the packet's headers call for are missing (say, an IPv4 key without
    /// `ipv4()`).
    TooLittle,
}

impl Fitness {
    /// The name OVS's `odp_key_fitness_to_string` gives.
    pub fn as_str(self) -> &'static str {
        match self {
            Fitness::Perfect => "OK",
            Fitness::TooMuch => "too_much",
            Fitness::TooLittle => "too_little",
        }
    }
}

fn eth_type_vlan(t: u16) -> bool {
    t == eth_type::VLAN || t == eth_type::VLAN_8021AD
}

fn eth_type_mpls(t: u16) -> bool {
    t == eth_type::MPLS || t == eth_type::MPLS_MCAST
}

fn low_byte(v: u16) -> u8 {
    v.to_be_bytes()[1]
}

/// Whether `key` is an IPv6 neighbor solicitation or advertisement (OVS's `is_nd`).
fn is_nd(key: &FlowKey) -> bool {
    key.eth_type == eth_type::IPV6
        && key.nw_proto == ip_proto::ICMPV6
        && key.tp_dst == 0
        && (key.tp_src == 135 || key.tp_src == 136)
}

/// The attributes of `key` (OVS's `odp_flow_key_from_flow`).
///
/// `mask`, when given, only decides whether `OVS_KEY_ATTR_TCP_FLAGS` appears (it does when
/// the key or the mask has TCP flags), so that the key and the mask from
/// [`mask_to_attrs`] have the same attributes.
pub fn key_to_attrs(key: &FlowKey, mask: Option<&FlowKey>) -> Vec<KeyAttr> {
    let mut out = Vec::with_capacity(16);
    from_flow(key, key, mask, false, &mut out);
    out
}

/// The attributes of `mask`, the mask of a flow whose key is `key` (OVS's
/// `odp_flow_key_from_mask`). The structure (which attributes appear) follows `key`; the
/// values are `mask`'s.
pub fn mask_to_attrs(mask: &FlowKey, key: &FlowKey) -> Vec<KeyAttr> {
    let mut out = Vec::with_capacity(16);
    from_flow(key, mask, Some(mask), true, &mut out);
    out
}

fn to_odp_frag(nw_frag: u8, is_mask: bool) -> u8 {
    if is_mask {
        if nw_frag & frag::ANY != 0 { u8::MAX } else { 0 }
    } else if nw_frag & frag::ANY == 0 {
        OVS_FRAG_TYPE_NONE
    } else if nw_frag & frag::LATER != 0 {
        OVS_FRAG_TYPE_LATER
    } else {
        OVS_FRAG_TYPE_FIRST
    }
}

/// `flow` decides the structure, `data` gives the values (the key itself, or the mask).
fn from_flow(
    flow: &FlowKey,
    data: &FlowKey,
    mask: Option<&FlowKey>,
    export_mask: bool,
    out: &mut Vec<KeyAttr>,
) {
    out.push(KeyAttr::Priority(data.skb_priority));
    out.push(KeyAttr::SkbMark(data.skb_mark));
    out.push(KeyAttr::CtState(0));
    out.push(KeyAttr::CtZone(0));
    out.push(KeyAttr::CtMark(0));
    out.push(KeyAttr::CtLabels([0; 16]));
    out.push(KeyAttr::RecircId(data.recirc_id));
    out.push(KeyAttr::DpHash(data.dp_hash));
    if export_mask || flow.in_port != u32::MAX {
        out.push(KeyAttr::InPort(data.in_port));
    }
    out.push(KeyAttr::PacketType(data.packet_type));
    if flow.packet_type == PT_ETH {
        out.push(KeyAttr::Ethernet(EthKey {
            src: data.eth_src,
            dst: data.eth_dst,
        }));
        vlans_onward(flow, data, mask, export_mask, 0, out);
    } else {
        l3_onward(flow, data, mask, export_mask, out);
    }
}

fn vlans_onward(
    flow: &FlowKey,
    data: &FlowKey,
    mask: Option<&FlowKey>,
    export_mask: bool,
    idx: usize,
    out: &mut Vec<KeyAttr>,
) {
    let (Some(fv), Some(dv)) = (flow.vlans.get(idx), data.vlans.get(idx)) else {
        return l3_onward(flow, data, mask, export_mask, out);
    };
    let present = fv.tci != 0;
    let tpid = if present {
        fv.tpid
    } else if eth_type_vlan(flow.eth_type) {
        // A truncated tag: the TPID is in the ethertype.
        flow.eth_type
    } else {
        return l3_onward(flow, data, mask, export_mask, out);
    };
    out.push(KeyAttr::Ethertype(if export_mask {
        u16::MAX
    } else {
        tpid
    }));
    out.push(KeyAttr::Vlan(dv.tci));
    let mut inner = Vec::with_capacity(8);
    if present {
        vlans_onward(flow, data, mask, export_mask, idx + 1, &mut inner);
    }
    out.push(KeyAttr::Encap(inner));
}

fn l3_onward(
    flow: &FlowKey,
    data: &FlowKey,
    mask: Option<&FlowKey>,
    export_mask: bool,
    out: &mut Vec<KeyAttr>,
) {
    if flow.eth_type < eth_type::MIN {
        // 802.3 frames: the key has no ethertype, the mask an exact one.
        if export_mask {
            out.push(KeyAttr::Ethertype(u16::MAX));
        }
        return;
    }
    out.push(KeyAttr::Ethertype(data.eth_type));
    if eth_type_vlan(flow.eth_type) {
        return;
    }
    match flow.eth_type {
        eth_type::IPV4 => out.push(KeyAttr::Ipv4(Ipv4Key {
            src: data.ipv4_src,
            dst: data.ipv4_dst,
            proto: data.nw_proto,
            tos: data.nw_tos,
            ttl: data.nw_ttl,
            frag: to_odp_frag(data.nw_frag, export_mask),
        })),
        eth_type::IPV6 => out.push(KeyAttr::Ipv6(Ipv6Key {
            src: data.ipv6_src,
            dst: data.ipv6_dst,
            label: data.ipv6_label,
            proto: data.nw_proto,
            tclass: data.nw_tos,
            hlimit: data.nw_ttl,
            frag: to_odp_frag(data.nw_frag, export_mask),
        })),
        eth_type::ARP | eth_type::RARP => out.push(KeyAttr::Arp(ArpKey {
            sip: data.ipv4_src,
            tip: data.ipv4_dst,
            op: if export_mask && data.nw_proto == u8::MAX {
                u16::MAX
            } else {
                u16::from(data.nw_proto)
            },
            sha: data.arp_sha,
            tha: data.arp_tha,
        })),
        _ => {}
    }
    if !flow.is_ip() || flow.nw_frag & frag::LATER != 0 {
        return;
    }
    let ports = L4Key {
        src: data.tp_src,
        dst: data.tp_dst,
    };
    let icmp = IcmpKey {
        icmp_type: low_byte(data.tp_src),
        icmp_code: low_byte(data.tp_dst),
    };
    match flow.nw_proto {
        ip_proto::TCP => {
            out.push(KeyAttr::Tcp(ports));
            if data.tcp_flags != 0 || mask.is_some_and(|m| m.tcp_flags != 0) {
                out.push(KeyAttr::TcpFlags(data.tcp_flags));
            }
        }
        ip_proto::UDP => out.push(KeyAttr::Udp(ports)),
        ip_proto::SCTP => out.push(KeyAttr::Sctp(ports)),
        ip_proto::ICMP if flow.eth_type == eth_type::IPV4 => out.push(KeyAttr::Icmp(icmp)),
        ip_proto::ICMPV6 if flow.eth_type == eth_type::IPV6 => {
            out.push(KeyAttr::Icmpv6(icmp));
            // OVS wants the ICMP type and code masks exactly 0xff here; any mask whose low
            // byte is all ones is accepted.
            if is_nd(flow) && (!export_mask || (icmp.icmp_type == 0xff && icmp.icmp_code == 0xff)) {
                out.push(KeyAttr::Nd(NdKey {
                    target: data.nd_target,
                    sll: data.arp_sha,
                    tll: data.arp_tha,
                }));
            }
        }
        _ => {}
    }
}

/// Encodes a flow's key and mask as the payloads of `OVS_FLOW_ATTR_KEY` and
/// `OVS_FLOW_ATTR_MASK` ([`key_to_attrs`], [`mask_to_attrs`], then
/// [`encode_key_attrs`](super::encode_key_attrs)).
///
/// # Errors
///
/// [`Error::TooBig`] if the attributes do not fit (they always do for a [`FlowKey`]).
pub fn encode_flow_key(
    key: &FlowKey,
    mask: Option<&FlowKey>,
) -> Result<(Vec<u8>, Option<Vec<u8>>)> {
    let k = super::attr::encode_key_attrs(&key_to_attrs(key, mask))?;
    let m = match mask {
        Some(m) => Some(super::attr::encode_key_attrs(&mask_to_attrs(m, key))?),
        None => None,
    };
    Ok((k, m))
}

/// Decodes the payloads of `OVS_FLOW_ATTR_KEY` and (if present) `OVS_FLOW_ATTR_MASK` into a
/// key, its mask (exact when there is none) and the key's fitness.
///
/// # Errors
///
/// [`Error::Decode`] for malformed attributes or a key or mask OVS would reject.
pub fn decode_flow_key(key: &[u8], mask: Option<&[u8]>) -> Result<(FlowKey, FlowKey, Fitness)> {
    let (k, fitness) = attrs_to_key(&super::attr::decode_key_attrs(key)?)?;
    let m = match mask {
        Some(bytes) => attrs_to_mask(&super::attr::decode_key_attrs(bytes)?, &k)?,
        None => FlowKey::exact_mask(),
    };
    Ok((k, m, fitness))
}

/// Removes `OVS_KEY_ATTR_PACKET_TYPE` (top level), which the kernel datapath does not know,
/// as OVS's dpif-netlink does before sending a key or mask to the kernel. A key without it
/// reads back as an Ethernet packet, or as an L3 packet when it has an ethertype but no
/// Ethernet attribute.
pub fn strip_packet_type(attrs: &mut Vec<KeyAttr>) {
    attrs.retain(|a| !matches!(a, KeyAttr::PacketType(_)));
}

// ---------------------------------------------------------------------------------------
// Attributes to key.

const N_TYPES: usize = OVS_KEY_ATTR_MAX as usize + 1;

/// The attributes of one nesting level, indexed by type.
struct Level<'a> {
    attrs: [Option<&'a KeyAttr>; N_TYPES],
    present: u64,
    out_of_range: bool,
}

fn bit(t: u16) -> u64 {
    1u64 << t
}

impl<'a> Level<'a> {
    fn collect(list: &'a [KeyAttr]) -> Result<Level<'a>> {
        let mut level = Level {
            attrs: [None; N_TYPES],
            present: 0,
            out_of_range: false,
        };
        for a in list {
            let t = a.attr_type();
            match level.attrs.get_mut(usize::from(t)) {
                None => level.out_of_range = true,
                Some(Some(_)) => {
                    return Err(Error::decode(
                        key_attr_name(t).unwrap_or("flow key"),
                        "duplicate attribute in flow key",
                    ));
                }
                Some(slot) => {
                    *slot = Some(a);
                    level.present |= bit(t);
                }
            }
        }
        Ok(level)
    }

    fn get(&self, t: u16) -> Option<&'a KeyAttr> {
        self.attrs.get(usize::from(t)).copied().flatten()
    }

    fn has(&self, t: u16) -> bool {
        self.present & bit(t) != 0
    }

    fn check(&self, expected: u64) -> Fitness {
        if expected & !self.present != 0 {
            Fitness::TooLittle
        } else if self.present & !expected != 0 || self.out_of_range {
            Fitness::TooMuch
        } else {
            Fitness::Perfect
        }
    }
}

/// An attribute of a known type that is not the variant that type decodes to (say,
/// `KeyAttr::Other` built by hand with type 7).
fn undecoded(a: &KeyAttr) -> Error {
    Error::decode(
        key_attr_name(a.attr_type()).unwrap_or("flow key"),
        "attribute of a known type not in its decoded form",
    )
}

/// Takes the attribute of type `$t` as variant `$var`'s payload, `None` if absent.
macro_rules! take {
    ($level:expr, $t:expr, $var:path) => {
        match $level.get($t) {
            None => None,
            Some($var(v)) => Some(v),
            Some(other) => return Err(undecoded(other)),
        }
    };
}

fn from_odp_frag(odp: u8, is_mask: bool, name: &str) -> Result<u8> {
    if is_mask {
        return Ok(if odp != 0 { frag::MASK } else { 0 });
    }
    match odp {
        OVS_FRAG_TYPE_NONE => Ok(0),
        OVS_FRAG_TYPE_FIRST => Ok(frag::ANY),
        OVS_FRAG_TYPE_LATER => Ok(frag::ANY | frag::LATER),
        other => Err(Error::decode(
            name,
            format!("invalid frag {other} in flow key"),
        )),
    }
}

/// The key that `attrs` describe, and how well they fit it (OVS's `odp_flow_key_to_flow`).
///
/// An absent `in_port` gives `u32::MAX` (`ODPP_NONE`); an absent packet type, Ethernet.
///
/// # Errors
///
/// [`Error::Decode`] for keys OVS rejects: duplicate attributes, an ethertype below 0x600,
/// an invalid fragment type, an ARP opcode above 255, a VLAN TCI without the CFI bit.
pub fn attrs_to_key(attrs: &[KeyAttr]) -> Result<(FlowKey, Fitness)> {
    let level = Level::collect(attrs)?;
    let mut k = FlowKey::zero();
    let mut expected = 0u64;

    if let Some(v) = take!(level, OVS_KEY_ATTR_RECIRC_ID, KeyAttr::RecircId) {
        k.recirc_id = *v;
        expected |= bit(OVS_KEY_ATTR_RECIRC_ID);
    }
    if let Some(v) = take!(level, OVS_KEY_ATTR_DP_HASH, KeyAttr::DpHash) {
        k.dp_hash = *v;
        expected |= bit(OVS_KEY_ATTR_DP_HASH);
    }
    if let Some(v) = take!(level, OVS_KEY_ATTR_PRIORITY, KeyAttr::Priority) {
        k.skb_priority = *v;
        expected |= bit(OVS_KEY_ATTR_PRIORITY);
    }
    if let Some(v) = take!(level, OVS_KEY_ATTR_SKB_MARK, KeyAttr::SkbMark) {
        k.skb_mark = *v;
        expected |= bit(OVS_KEY_ATTR_SKB_MARK);
    }
    // Conntrack metadata: the key cannot hold it, so only zero fits.
    if take!(level, OVS_KEY_ATTR_CT_STATE, KeyAttr::CtState) == Some(&0) {
        expected |= bit(OVS_KEY_ATTR_CT_STATE);
    }
    if take!(level, OVS_KEY_ATTR_CT_ZONE, KeyAttr::CtZone) == Some(&0) {
        expected |= bit(OVS_KEY_ATTR_CT_ZONE);
    }
    if take!(level, OVS_KEY_ATTR_CT_MARK, KeyAttr::CtMark) == Some(&0) {
        expected |= bit(OVS_KEY_ATTR_CT_MARK);
    }
    if take!(level, OVS_KEY_ATTR_CT_LABELS, KeyAttr::CtLabels) == Some(&[0; 16]) {
        expected |= bit(OVS_KEY_ATTR_CT_LABELS);
    }
    if take!(level, OVS_KEY_ATTR_CT_ORIG_TUPLE_IPV4, KeyAttr::CtTupleIpv4)
        .is_some_and(|t| *t == Default::default())
    {
        expected |= bit(OVS_KEY_ATTR_CT_ORIG_TUPLE_IPV4);
    }
    if take!(level, OVS_KEY_ATTR_CT_ORIG_TUPLE_IPV6, KeyAttr::CtTupleIpv6)
        .is_some_and(|t| *t == Default::default())
    {
        expected |= bit(OVS_KEY_ATTR_CT_ORIG_TUPLE_IPV6);
    }
    if let Some(v) = take!(level, OVS_KEY_ATTR_IN_PORT, KeyAttr::InPort) {
        k.in_port = *v;
        expected |= bit(OVS_KEY_ATTR_IN_PORT);
    } else {
        k.in_port = u32::MAX;
    }
    if let Some(v) = take!(level, OVS_KEY_ATTR_PACKET_TYPE, KeyAttr::PacketType) {
        k.packet_type = *v;
        expected |= bit(OVS_KEY_ATTR_PACKET_TYPE);
        if *v >> 16 == OFPHTN_ETHERTYPE {
            k.eth_type = low16(*v);
        }
    } else {
        k.packet_type = PT_ETH;
    }
    if let Some(e) = take!(level, OVS_KEY_ATTR_ETHERNET, KeyAttr::Ethernet) {
        k.eth_src = e.src;
        k.eth_dst = e.dst;
        k.packet_type = PT_ETH;
        expected |= bit(OVS_KEY_ATTR_ETHERNET);
    } else if let Some(t) = take!(level, OVS_KEY_ATTR_ETHERTYPE, KeyAttr::Ethertype) {
        k.packet_type = (OFPHTN_ETHERTYPE << 16) | u32::from(*t);
        expected |= bit(OVS_KEY_ATTR_ETHERTYPE);
    }

    key_ethertype(&level, &mut expected, &mut k)?;
    let fitness = if eth_type_vlan(k.eth_type) {
        key_8021q_onward(level, expected, &mut k)?
    } else {
        let f = key_l2_5_onward(&level, &mut expected, &mut k)?;
        worst(f, level.check(expected))
    };
    Ok((k, fitness))
}

fn low16(v: u32) -> u16 {
    let b = v.to_be_bytes();
    u16::from_be_bytes([b[2], b[3]])
}

/// Combines a fitness found early (MPLS: `TooMuch`) with the final check.
fn worst(early: Fitness, check: Fitness) -> Fitness {
    if early == Fitness::Perfect {
        check
    } else {
        early
    }
}

fn key_ethertype(level: &Level<'_>, expected: &mut u64, k: &mut FlowKey) -> Result<()> {
    if let Some(t) = take!(level, OVS_KEY_ATTR_ETHERTYPE, KeyAttr::Ethertype) {
        if *t < eth_type::MIN {
            return Err(Error::decode(
                "OVS_KEY_ATTR_ETHERTYPE",
                format!("invalid Ethertype {t} in flow key"),
            ));
        }
        k.eth_type = *t;
        *expected |= bit(OVS_KEY_ATTR_ETHERTYPE);
    } else if level.has(OVS_KEY_ATTR_IPV4) {
        k.eth_type = eth_type::IPV4;
    } else if level.has(OVS_KEY_ATTR_IPV6) {
        k.eth_type = eth_type::IPV6;
    } else if level.has(OVS_KEY_ATTR_MPLS) {
        k.eth_type = eth_type::MPLS;
    } else {
        k.eth_type = eth_type::NONE;
    }
    Ok(())
}

/// L2.5 (MPLS), L3 and L4 of a key. Returns `TooMuch` early for what the key cannot hold;
/// the caller checks expectations.
fn key_l2_5_onward(level: &Level<'_>, expected: &mut u64, k: &mut FlowKey) -> Result<Fitness> {
    if eth_type_mpls(k.eth_type) {
        // FlowKey has no MPLS label stack: labels present cannot be kept.
        *expected |= bit(OVS_KEY_ATTR_MPLS);
        return Ok(if level.has(OVS_KEY_ATTR_MPLS) {
            Fitness::TooMuch
        } else {
            Fitness::Perfect
        });
    }
    match k.eth_type {
        eth_type::IPV4 => {
            *expected |= bit(OVS_KEY_ATTR_IPV4);
            if let Some(ip) = take!(level, OVS_KEY_ATTR_IPV4, KeyAttr::Ipv4) {
                k.ipv4_src = ip.src;
                k.ipv4_dst = ip.dst;
                k.nw_proto = ip.proto;
                k.nw_tos = ip.tos;
                k.nw_ttl = ip.ttl;
                k.nw_frag = from_odp_frag(ip.frag, false, "OVS_KEY_ATTR_IPV4")?;
            }
        }
        eth_type::IPV6 => {
            *expected |= bit(OVS_KEY_ATTR_IPV6);
            if let Some(ip) = take!(level, OVS_KEY_ATTR_IPV6, KeyAttr::Ipv6) {
                k.ipv6_src = ip.src;
                k.ipv6_dst = ip.dst;
                k.ipv6_label = ip.label;
                k.nw_proto = ip.proto;
                k.nw_tos = ip.tclass;
                k.nw_ttl = ip.hlimit;
                k.nw_frag = from_odp_frag(ip.frag, false, "OVS_KEY_ATTR_IPV6")?;
            }
        }
        eth_type::ARP | eth_type::RARP => {
            *expected |= bit(OVS_KEY_ATTR_ARP);
            if let Some(arp) = take!(level, OVS_KEY_ATTR_ARP, KeyAttr::Arp) {
                let [hi, lo] = arp.op.to_be_bytes();
                if hi != 0 {
                    return Err(Error::decode(
                        "OVS_KEY_ATTR_ARP",
                        format!("unsupported ARP opcode {} in flow key", arp.op),
                    ));
                }
                k.ipv4_src = arp.sip;
                k.ipv4_dst = arp.tip;
                k.nw_proto = lo;
                k.arp_sha = arp.sha;
                k.arp_tha = arp.tha;
            }
            return Ok(Fitness::Perfect);
        }
        _ => return Ok(Fitness::Perfect),
    }
    if k.nw_frag & frag::LATER != 0 {
        return Ok(Fitness::Perfect);
    }
    match k.nw_proto {
        ip_proto::TCP | ip_proto::UDP | ip_proto::SCTP => {
            let (t, ports) = match k.nw_proto {
                ip_proto::TCP => (
                    OVS_KEY_ATTR_TCP,
                    take!(level, OVS_KEY_ATTR_TCP, KeyAttr::Tcp),
                ),
                ip_proto::UDP => (
                    OVS_KEY_ATTR_UDP,
                    take!(level, OVS_KEY_ATTR_UDP, KeyAttr::Udp),
                ),
                _ => (
                    OVS_KEY_ATTR_SCTP,
                    take!(level, OVS_KEY_ATTR_SCTP, KeyAttr::Sctp),
                ),
            };
            *expected |= bit(t);
            if let Some(p) = ports {
                k.tp_src = p.src;
                k.tp_dst = p.dst;
            }
            if k.nw_proto == ip_proto::TCP
                && let Some(f) = take!(level, OVS_KEY_ATTR_TCP_FLAGS, KeyAttr::TcpFlags)
            {
                k.tcp_flags = *f;
                *expected |= bit(OVS_KEY_ATTR_TCP_FLAGS);
            }
        }
        ip_proto::ICMP if k.eth_type == eth_type::IPV4 => {
            *expected |= bit(OVS_KEY_ATTR_ICMP);
            if let Some(icmp) = take!(level, OVS_KEY_ATTR_ICMP, KeyAttr::Icmp) {
                k.tp_src = u16::from(icmp.icmp_type);
                k.tp_dst = u16::from(icmp.icmp_code);
            }
        }
        ip_proto::ICMPV6 if k.eth_type == eth_type::IPV6 => {
            *expected |= bit(OVS_KEY_ATTR_ICMPV6);
            if let Some(icmp) = take!(level, OVS_KEY_ATTR_ICMPV6, KeyAttr::Icmpv6) {
                k.tp_src = u16::from(icmp.icmp_type);
                k.tp_dst = u16::from(icmp.icmp_code);
                if is_nd(k) {
                    *expected |= bit(OVS_KEY_ATTR_ND);
                    if let Some(nd) = take!(level, OVS_KEY_ATTR_ND, KeyAttr::Nd) {
                        k.nd_target = nd.target;
                        k.arp_sha = nd.sll;
                        k.arp_tha = nd.tll;
                    }
                }
            }
        }
        _ => {}
    }
    Ok(Fitness::Perfect)
}

fn key_8021q_onward(mut level: Level<'_>, mut expected: u64, k: &mut FlowKey) -> Result<Fitness> {
    let mut encaps = 0;
    while encaps < k.vlans.len() && eth_type_vlan(k.eth_type) {
        expected |= bit(OVS_KEY_ATTR_VLAN) | bit(OVS_KEY_ATTR_ENCAP);
        let fitness = level.check(expected);
        let tci = take!(level, OVS_KEY_ATTR_VLAN, KeyAttr::Vlan).copied();
        let encap = take!(level, OVS_KEY_ATTR_ENCAP, KeyAttr::Encap);
        k.vlans[encaps].tpid = k.eth_type;
        k.eth_type = 0;
        k.vlans[encaps].tci = tci.unwrap_or(0);
        let (Some(tci), Some(encap)) = (tci, encap) else {
            return Ok(Fitness::TooLittle);
        };
        if tci == 0 {
            // A truncated 802.1Q header.
            if fitness == Fitness::Perfect && !encap.is_empty() {
                return Ok(Fitness::TooMuch);
            }
            return Ok(fitness);
        }
        if tci & vlan::CFI == 0 {
            return Err(Error::decode(
                "OVS_KEY_ATTR_VLAN",
                format!("0x{tci:04x} is nonzero but CFI bit is not set"),
            ));
        }
        level = Level::collect(encap)?;
        expected = 0;
        key_ethertype(&level, &mut expected, k)?;
        let f = key_l2_5_onward(&level, &mut expected, k)?;
        if f != Fitness::Perfect {
            return Ok(f);
        }
        encaps += 1;
    }
    Ok(level.check(expected))
}

// ---------------------------------------------------------------------------------------
// Attributes to mask.

/// The mask that `attrs` describe for a flow whose key is `key` (OVS's
/// `odp_flow_key_to_mask`), with OVS's rules: no attributes at all means an exact-match flow
/// ([`FlowKey::exact_mask`]); an absent `RECIRC_ID` means exact match on it; an absent VLAN
/// mask means exactly "no VLAN"; attributes above the maximum, and the conntrack metadata
/// the key cannot hold, are ignored.
///
/// # Errors
///
/// [`Error::Decode`] for masks OVS rejects: duplicate attributes, a partially masked
/// ethertype of an 802.3 frame (or a missing one), L3 fields matched under a wildcarded
/// ethertype, L4 ports matched under a wildcarded protocol, ND matched without exact ICMP
/// type and code.
pub fn attrs_to_mask(attrs: &[KeyAttr], key: &FlowKey) -> Result<FlowKey> {
    if attrs.is_empty() {
        return Ok(FlowKey::exact_mask());
    }
    let level = Level::collect(attrs)?;
    let mut m = FlowKey::zero();

    m.recirc_id = take!(level, OVS_KEY_ATTR_RECIRC_ID, KeyAttr::RecircId)
        .copied()
        .unwrap_or(u32::MAX);
    if let Some(v) = take!(level, OVS_KEY_ATTR_DP_HASH, KeyAttr::DpHash) {
        m.dp_hash = *v;
    }
    if let Some(v) = take!(level, OVS_KEY_ATTR_PRIORITY, KeyAttr::Priority) {
        m.skb_priority = *v;
    }
    if let Some(v) = take!(level, OVS_KEY_ATTR_SKB_MARK, KeyAttr::SkbMark) {
        m.skb_mark = *v;
    }
    if let Some(v) = take!(level, OVS_KEY_ATTR_IN_PORT, KeyAttr::InPort) {
        m.in_port = *v;
    }
    if let Some(v) = take!(level, OVS_KEY_ATTR_PACKET_TYPE, KeyAttr::PacketType) {
        m.packet_type = *v;
        if key.packet_type >> 16 == OFPHTN_ETHERTYPE {
            m.eth_type = low16(*v);
        }
    }
    if let Some(e) = take!(level, OVS_KEY_ATTR_ETHERNET, KeyAttr::Ethernet) {
        m.eth_src = e.src;
        m.eth_dst = e.dst;
    }
    mask_ethertype(&level, key, &mut m)?;
    if key.vlans[0].tci & vlan::CFI != 0 {
        mask_8021q_onward(level, key, &mut m)?;
    } else {
        // No VLAN in the key: the flow matches exactly "no VLAN" unless told otherwise.
        m.vlans[0].tpid = u16::MAX;
        m.vlans[0].tci = u16::MAX;
        if let Some(tci) = take!(level, OVS_KEY_ATTR_VLAN, KeyAttr::Vlan) {
            m.vlans[0].tci = *tci;
        }
        mask_l2_5_onward(&level, key, &mut m)?;
    }
    Ok(m)
}

fn mask_ethertype(level: &Level<'_>, key: &FlowKey, m: &mut FlowKey) -> Result<()> {
    if let Some(t) = take!(level, OVS_KEY_ATTR_ETHERTYPE, KeyAttr::Ethertype) {
        if key.eth_type < eth_type::MIN && *t != u16::MAX {
            return Err(Error::decode(
                "OVS_KEY_ATTR_ETHERTYPE",
                format!(
                    "can't bitwise match non-Ethernet II \"Ethertype\" {:#x} (with mask {t:#x})",
                    key.eth_type
                ),
            ));
        }
        m.eth_type = *t;
    } else if key.packet_type != PT_ETH {
        m.eth_type = u16::MAX;
    } else if key.eth_type < eth_type::MIN {
        return Err(Error::decode(
            "OVS_KEY_ATTR_ETHERTYPE",
            "mask expected for non-Ethernet II frame",
        ));
    }
    Ok(())
}

fn mask_l2_5_onward(level: &Level<'_>, key: &FlowKey, m: &mut FlowKey) -> Result<()> {
    let l3_nonzero = match key.eth_type {
        eth_type::IPV4 => match take!(level, OVS_KEY_ATTR_IPV4, KeyAttr::Ipv4) {
            Some(ip) => {
                m.ipv4_src = ip.src;
                m.ipv4_dst = ip.dst;
                m.nw_proto = ip.proto;
                m.nw_tos = ip.tos;
                m.nw_ttl = ip.ttl;
                m.nw_frag = from_odp_frag(ip.frag, true, "OVS_KEY_ATTR_IPV4")?;
                *ip != Ipv4Key::default()
            }
            None => false,
        },
        eth_type::IPV6 => match take!(level, OVS_KEY_ATTR_IPV6, KeyAttr::Ipv6) {
            Some(ip) => {
                m.ipv6_src = ip.src;
                m.ipv6_dst = ip.dst;
                m.ipv6_label = ip.label;
                m.nw_proto = ip.proto;
                m.nw_tos = ip.tclass;
                m.nw_ttl = ip.hlimit;
                m.nw_frag = from_odp_frag(ip.frag, true, "OVS_KEY_ATTR_IPV6")?;
                *ip != Ipv6Key::default()
            }
            None => false,
        },
        eth_type::ARP | eth_type::RARP => match take!(level, OVS_KEY_ATTR_ARP, KeyAttr::Arp) {
            Some(arp) => {
                m.ipv4_src = arp.sip;
                m.ipv4_dst = arp.tip;
                m.nw_proto = low_byte(arp.op);
                m.arp_sha = arp.sha;
                m.arp_tha = arp.tha;
                *arp != ArpKey::default()
            }
            None => false,
        },
        _ => return Ok(()),
    };
    if l3_nonzero && m.eth_type != u16::MAX {
        return Err(Error::decode(
            "flow mask",
            format!(
                "unexpected L3 matching with masked Ethertype {:#x}/{:#x}",
                key.eth_type, m.eth_type
            ),
        ));
    }
    if !key.is_ip() || key.nw_frag & frag::LATER != 0 {
        return Ok(());
    }
    let mut l4 = false;
    match key.nw_proto {
        ip_proto::TCP | ip_proto::UDP | ip_proto::SCTP => {
            let ports = match key.nw_proto {
                ip_proto::TCP => take!(level, OVS_KEY_ATTR_TCP, KeyAttr::Tcp),
                ip_proto::UDP => take!(level, OVS_KEY_ATTR_UDP, KeyAttr::Udp),
                _ => take!(level, OVS_KEY_ATTR_SCTP, KeyAttr::Sctp),
            };
            if let Some(p) = ports {
                m.tp_src = p.src;
                m.tp_dst = p.dst;
                l4 = true;
            }
            if key.nw_proto == ip_proto::TCP
                && let Some(f) = take!(level, OVS_KEY_ATTR_TCP_FLAGS, KeyAttr::TcpFlags)
            {
                m.tcp_flags = *f;
            }
        }
        ip_proto::ICMP if key.eth_type == eth_type::IPV4 => {
            if let Some(icmp) = take!(level, OVS_KEY_ATTR_ICMP, KeyAttr::Icmp) {
                m.tp_src = u16::from(icmp.icmp_type);
                m.tp_dst = u16::from(icmp.icmp_code);
                l4 = true;
            }
        }
        ip_proto::ICMPV6 if key.eth_type == eth_type::IPV6 => {
            if let Some(icmp) = take!(level, OVS_KEY_ATTR_ICMPV6, KeyAttr::Icmpv6) {
                m.tp_src = u16::from(icmp.icmp_type);
                m.tp_dst = u16::from(icmp.icmp_code);
                l4 = true;
                if is_nd(key)
                    && let Some(nd) = take!(level, OVS_KEY_ATTR_ND, KeyAttr::Nd)
                {
                    m.nd_target = nd.target;
                    m.arp_sha = nd.sll;
                    m.arp_tha = nd.tll;
                    if *nd != NdKey::default() && (m.tp_src != 0xff || m.tp_dst != 0xff) {
                        return Err(Error::decode(
                            "OVS_KEY_ATTR_ND",
                            format!(
                                "ICMP (src,dst) masks should be (0xff,0xff) but are \
                                 actually ({:#x},{:#x})",
                                m.tp_src, m.tp_dst
                            ),
                        ));
                    }
                }
            }
        }
        _ => {}
    }
    if l4 && (m.tp_src != 0 || m.tp_dst != 0) && m.nw_proto != u8::MAX {
        return Err(Error::decode(
            "flow mask",
            "flow matches on L4 ports but does not define an L4 protocol",
        ));
    }
    Ok(())
}

fn mask_8021q_onward(mut level: Level<'_>, key: &FlowKey, m: &mut FlowKey) -> Result<()> {
    let mut encaps = 0;
    while encaps < key.vlans.len() && key.vlans[encaps].tci & vlan::CFI != 0 {
        m.vlans[encaps].tpid = m.eth_type;
        m.eth_type = 0;
        m.vlans[encaps].tci = take!(level, OVS_KEY_ATTR_VLAN, KeyAttr::Vlan)
            .copied()
            .unwrap_or(0);
        let Some(encap) = take!(level, OVS_KEY_ATTR_ENCAP, KeyAttr::Encap) else {
            return Ok(());
        };
        level = Level::collect(encap)?;
        mask_ethertype(&level, key, m)?;
        mask_l2_5_onward(&level, key, m)?;
        encaps += 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::odp::attr::EthKey;
    use crate::odp::key::Vlan;
    use netlink_packet_core::DefaultNla;

    /// The metadata attributes every key starts with (OVS's order).
    fn meta(in_port: u32) -> Vec<KeyAttr> {
        vec![
            KeyAttr::Priority(0),
            KeyAttr::SkbMark(0),
            KeyAttr::CtState(0),
            KeyAttr::CtZone(0),
            KeyAttr::CtMark(0),
            KeyAttr::CtLabels([0; 16]),
            KeyAttr::RecircId(0),
            KeyAttr::DpHash(0),
            KeyAttr::InPort(in_port),
            KeyAttr::PacketType(PT_ETH),
        ]
    }

    fn tcp_key() -> FlowKey {
        let mut k = FlowKey::zero();
        k.in_port = 2;
        k.eth_src = [2, 0, 0, 0, 1, 1];
        k.eth_dst = [2, 0, 0, 0, 2, 2];
        k.eth_type = eth_type::IPV4;
        k.ipv4_src = [10, 0, 0, 1];
        k.ipv4_dst = [10, 0, 0, 2];
        k.nw_proto = ip_proto::TCP;
        k.nw_ttl = 64;
        k.tp_src = 1000;
        k.tp_dst = 80;
        k
    }

    #[test]
    fn tcp_key_attrs_in_ovs_order() {
        let k = tcp_key();
        let mut expected = meta(2);
        expected.extend([
            KeyAttr::Ethernet(EthKey {
                src: k.eth_src,
                dst: k.eth_dst,
            }),
            KeyAttr::Ethertype(eth_type::IPV4),
            KeyAttr::Ipv4(Ipv4Key {
                src: k.ipv4_src,
                dst: k.ipv4_dst,
                proto: 6,
                tos: 0,
                ttl: 64,
                frag: OVS_FRAG_TYPE_NONE,
            }),
            KeyAttr::Tcp(L4Key { src: 1000, dst: 80 }),
        ]);
        assert_eq!(key_to_attrs(&k, None), expected);
        assert_eq!(attrs_to_key(&expected).unwrap(), (k, Fitness::Perfect));
        // A mask with TCP flags makes the key carry them too.
        let mut m = FlowKey::zero();
        m.tcp_flags = 0x0fff;
        let with_flags = key_to_attrs(&k, Some(&m));
        assert_eq!(with_flags.last(), Some(&KeyAttr::TcpFlags(0)));
    }

    #[test]
    fn later_fragments_have_no_l4() {
        let mut k = tcp_key();
        k.nw_frag = frag::ANY | frag::LATER;
        k.tp_src = 0;
        k.tp_dst = 0;
        let attrs = key_to_attrs(&k, None);
        assert!(matches!(
            attrs.last(),
            Some(KeyAttr::Ipv4(Ipv4Key {
                frag: OVS_FRAG_TYPE_LATER,
                ..
            }))
        ));
        assert_eq!(attrs_to_key(&attrs).unwrap(), (k, Fitness::Perfect));
        // A first fragment has them.
        k.nw_frag = frag::ANY;
        assert!(matches!(
            key_to_attrs(&k, None).last(),
            Some(KeyAttr::Tcp(_))
        ));
    }

    #[test]
    fn two_tags_nest_encaps() {
        let mut k = tcp_key();
        k.vlans = [
            Vlan {
                tpid: eth_type::VLAN_8021AD,
                tci: vlan::CFI | 100,
            },
            Vlan {
                tpid: eth_type::VLAN,
                tci: vlan::CFI | 200,
            },
        ];
        let attrs = key_to_attrs(&k, None);
        let tail = &attrs[meta(2).len() + 1..];
        let KeyAttr::Encap(outer) = &tail[2] else {
            panic!("{tail:?}");
        };
        assert_eq!(tail[0], KeyAttr::Ethertype(0x88a8));
        assert_eq!(tail[1], KeyAttr::Vlan(0x1000 | 100));
        assert_eq!(outer[0], KeyAttr::Ethertype(0x8100));
        assert_eq!(outer[1], KeyAttr::Vlan(0x1000 | 200));
        let KeyAttr::Encap(inner) = &outer[2] else {
            panic!("{outer:?}");
        };
        assert_eq!(inner[0], KeyAttr::Ethertype(eth_type::IPV4));
        assert_eq!(attrs_to_key(&attrs).unwrap(), (k, Fitness::Perfect));
        // The mask: exact TPIDs (ethertype 0xffff at each level), the tags' masks.
        let mut m = FlowKey::exact_mask();
        m.vlans[0].tci = vlan::CFI | vlan::VID_MASK;
        let mattrs = mask_to_attrs(&m, &k);
        let back = attrs_to_mask(&mattrs, &k).unwrap();
        assert_eq!(back.vlans, m.vlans);
        assert_eq!(back.eth_type, u16::MAX);
    }

    #[test]
    fn arp_and_nd() {
        let mut k = FlowKey::zero();
        k.in_port = 1;
        k.eth_type = eth_type::ARP;
        k.ipv4_src = [10, 0, 0, 1];
        k.ipv4_dst = [10, 0, 0, 2];
        k.nw_proto = 2;
        k.arp_sha = [1; 6];
        let attrs = key_to_attrs(&k, None);
        assert!(matches!(
            attrs.last(),
            Some(KeyAttr::Arp(ArpKey { op: 2, .. }))
        ));
        assert_eq!(attrs_to_key(&attrs).unwrap(), (k, Fitness::Perfect));
        // An exact ARP opcode mask goes out as 0xffff.
        let m = FlowKey::exact_mask();
        assert!(matches!(
            mask_to_attrs(&m, &k).last(),
            Some(KeyAttr::Arp(ArpKey { op: 0xffff, .. }))
        ));

        let mut k = FlowKey::zero();
        k.eth_type = eth_type::IPV6;
        k.nw_proto = ip_proto::ICMPV6;
        k.tp_src = 135;
        k.nd_target[15] = 1;
        k.arp_sha = [2; 6];
        let attrs = key_to_attrs(&k, None);
        assert!(matches!(attrs.last(), Some(KeyAttr::Nd(nd)) if nd.sll == [2; 6]));
        assert_eq!(attrs_to_key(&attrs).unwrap(), (k, Fitness::Perfect));
        // In a mask, ND only goes with exact ICMP type and code.
        let mut m = FlowKey::zero();
        m.tp_src = 0xff;
        m.tp_dst = 0xff;
        m.nd_target = [0xff; 16];
        assert!(matches!(mask_to_attrs(&m, &k).last(), Some(KeyAttr::Nd(_))));
        m.tp_dst = 0;
        assert!(matches!(
            mask_to_attrs(&m, &k).last(),
            Some(KeyAttr::Icmpv6(_))
        ));
    }

    #[test]
    fn fitness_verdicts() {
        let k = tcp_key();
        let mut attrs = key_to_attrs(&k, None);
        attrs.push(KeyAttr::Other(DefaultNla::new(
            OVS_KEY_ATTR_IPV6_EXTHDRS,
            vec![0, 0],
        )));
        assert_eq!(attrs_to_key(&attrs).unwrap().1, Fitness::TooMuch);

        let mut attrs = key_to_attrs(&k, None);
        attrs.retain(|a| !matches!(a, KeyAttr::Tcp(_)));
        assert_eq!(attrs_to_key(&attrs).unwrap().1, Fitness::TooLittle);

        let mut attrs = key_to_attrs(&k, None);
        attrs[2] = KeyAttr::CtState(OVS_CS_F_TRACKED);
        assert_eq!(attrs_to_key(&attrs).unwrap().1, Fitness::TooMuch);

        // A VLAN ethertype without the tag's attributes.
        let attrs = vec![KeyAttr::Ethertype(0x8100)];
        assert_eq!(attrs_to_key(&attrs).unwrap().1, Fitness::TooLittle);

        // Three tags: the third is more than a key holds.
        let attrs = vec![
            KeyAttr::Ethernet(EthKey::default()),
            KeyAttr::Ethertype(0x88a8),
            KeyAttr::Vlan(0x1001),
            KeyAttr::Encap(vec![
                KeyAttr::Ethertype(0x8100),
                KeyAttr::Vlan(0x1002),
                KeyAttr::Encap(vec![
                    KeyAttr::Ethertype(0x8100),
                    KeyAttr::Vlan(0x1003),
                    KeyAttr::Encap(vec![]),
                ]),
            ]),
        ];
        assert_eq!(attrs_to_key(&attrs).unwrap().1, Fitness::TooMuch);
    }

    #[test]
    fn bad_keys_are_errors() {
        let dup = vec![KeyAttr::InPort(1), KeyAttr::InPort(2)];
        assert!(attrs_to_key(&dup).is_err());
        assert!(attrs_to_key(&[KeyAttr::Ethertype(0x0100)]).is_err());
        let no_cfi = vec![
            KeyAttr::Ethertype(0x8100),
            KeyAttr::Vlan(5),
            KeyAttr::Encap(vec![]),
        ];
        assert!(attrs_to_key(&no_cfi).is_err());
        let bad_frag = vec![
            KeyAttr::Ethertype(eth_type::IPV4),
            KeyAttr::Ipv4(Ipv4Key {
                frag: 3,
                ..Default::default()
            }),
        ];
        assert!(attrs_to_key(&bad_frag).is_err());
        let bad_op = vec![
            KeyAttr::Ethertype(eth_type::ARP),
            KeyAttr::Arp(ArpKey {
                op: 0x100,
                ..Default::default()
            }),
        ];
        assert!(attrs_to_key(&bad_op).is_err());
        // A hand-built Other of a modeled type.
        let odd = vec![KeyAttr::Other(DefaultNla::new(
            OVS_KEY_ATTR_IN_PORT,
            vec![1, 0, 0, 0],
        ))];
        assert!(attrs_to_key(&odd).is_err());
    }

    #[test]
    fn mask_rules() {
        let k = tcp_key();
        // No mask at all: exact match.
        assert_eq!(attrs_to_mask(&[], &k).unwrap(), FlowKey::exact_mask());
        // No RECIRC_ID: exact; no VLAN: exactly "no VLAN"; unknown types ignored.
        let attrs = vec![
            KeyAttr::InPort(u32::MAX),
            KeyAttr::Ethertype(u16::MAX),
            KeyAttr::Other(DefaultNla::new(OVS_KEY_ATTR_IPV6_EXTHDRS, vec![0xff, 0xff])),
        ];
        let m = attrs_to_mask(&attrs, &k).unwrap();
        assert_eq!(m.recirc_id, u32::MAX);
        assert_eq!(
            m.vlans[0],
            Vlan {
                tpid: u16::MAX,
                tci: u16::MAX
            }
        );
        assert_eq!(m.in_port, u32::MAX);
        assert_eq!((m.ipv4_src, m.tp_dst), ([0; 4], 0));
        // IN_PORT is always in a mask.
        assert!(mask_to_attrs(&FlowKey::zero(), &k).contains(&KeyAttr::InPort(0)));
        // L3 under a wildcarded ethertype, L4 ports under a wildcarded protocol: errors.
        let bad = vec![
            KeyAttr::Ethertype(0),
            KeyAttr::Ipv4(Ipv4Key {
                src: [255; 4],
                ..Default::default()
            }),
        ];
        assert!(attrs_to_mask(&bad, &k).is_err());
        let bad = vec![
            KeyAttr::Ethertype(u16::MAX),
            KeyAttr::Ipv4(Ipv4Key::default()),
            KeyAttr::Tcp(L4Key {
                src: 0,
                dst: 0xffff,
            }),
        ];
        assert!(attrs_to_mask(&bad, &k).is_err());
        // 802.3 frames need an exact ethertype mask.
        let mut k8023 = k;
        k8023.eth_type = eth_type::NONE;
        assert!(attrs_to_mask(&[KeyAttr::InPort(0)], &k8023).is_err());
        assert!(attrs_to_mask(&[KeyAttr::Ethertype(0xff00)], &k8023).is_err());
        assert!(attrs_to_mask(&[KeyAttr::Ethertype(u16::MAX)], &k8023).is_ok());
    }

    #[test]
    fn flow_key_bytes_round_trip() {
        let k = tcp_key();
        let mut m = FlowKey::exact_mask();
        m.ipv4_src = [255, 255, 0, 0];
        let (kb, mb) = encode_flow_key(&k, Some(&m)).unwrap();
        let (k2, m2, fitness) = decode_flow_key(&kb, mb.as_deref()).unwrap();
        assert_eq!((k2, fitness), (k, Fitness::Perfect));
        assert_eq!(m2.ipv4_src, m.ipv4_src);
        assert_eq!(decode_flow_key(&kb, None).unwrap().1, FlowKey::exact_mask());
        // What the kernel gets: no packet type; it reads back the same.
        let mut attrs = key_to_attrs(&k, None);
        strip_packet_type(&mut attrs);
        assert!(!attrs.iter().any(|a| matches!(a, KeyAttr::PacketType(_))));
        assert_eq!(attrs_to_key(&attrs).unwrap(), (k, Fitness::Perfect));
    }

    #[test]
    fn l3_packets_without_ethernet() {
        let mut k = FlowKey::zero();
        k.packet_type = (OFPHTN_ETHERTYPE << 16) | u32::from(eth_type::IPV6);
        k.eth_type = eth_type::IPV6;
        k.nw_proto = ip_proto::UDP;
        k.tp_dst = 4789;
        let attrs = key_to_attrs(&k, None);
        assert!(!attrs.iter().any(|a| matches!(a, KeyAttr::Ethernet(_))));
        assert_eq!(attrs_to_key(&attrs).unwrap(), (k, Fitness::Perfect));
        // Without the packet type attribute, the ethertype alone says it.
        let no_pt: Vec<KeyAttr> = attrs
            .into_iter()
            .filter(|a| !matches!(a, KeyAttr::PacketType(_)))
            .collect();
        assert_eq!(attrs_to_key(&no_pt).unwrap(), (k, Fitness::Perfect));
    }
}
