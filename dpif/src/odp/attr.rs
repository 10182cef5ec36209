//! [`KeyAttr`]: the netlink attribute form of a flow key or mask (`OVS_KEY_ATTR_*`).
//!
//! Fixed-layout attribute payloads are plain structs with fields in host byte order
//! (addresses in network order), as `include/linux/openvswitch.h` lays them out.

use netlink_packet_core::DefaultNla;

/// `OVS_FRAG_TYPE_NONE`: not a fragment.
pub const OVS_FRAG_TYPE_NONE: u8 = 0;
/// `OVS_FRAG_TYPE_FIRST`: the first fragment.
pub const OVS_FRAG_TYPE_FIRST: u8 = 1;
/// `OVS_FRAG_TYPE_LATER`: a later fragment.
pub const OVS_FRAG_TYPE_LATER: u8 = 2;

/// `struct ovs_key_ethernet` (note: source first).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct EthKey {
    /// Source MAC.
    pub src: [u8; 6],
    /// Destination MAC.
    pub dst: [u8; 6],
}

/// `struct ovs_key_ipv4`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Ipv4Key {
    /// Source address.
    pub src: [u8; 4],
    /// Destination address.
    pub dst: [u8; 4],
    /// Protocol.
    pub proto: u8,
    /// TOS.
    pub tos: u8,
    /// TTL.
    pub ttl: u8,
    /// `OVS_FRAG_TYPE_*` (in a mask: a bit mask).
    pub frag: u8,
}

/// `struct ovs_key_ipv6`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Ipv6Key {
    /// Source address.
    pub src: [u8; 16],
    /// Destination address.
    pub dst: [u8; 16],
    /// Flow label (20 bits).
    pub label: u32,
    /// Next header after the extension headers.
    pub proto: u8,
    /// Traffic class.
    pub tclass: u8,
    /// Hop limit.
    pub hlimit: u8,
    /// `OVS_FRAG_TYPE_*` (in a mask: a bit mask).
    pub frag: u8,
}

/// `struct ovs_key_tcp`, `ovs_key_udp`, `ovs_key_sctp`: source and destination ports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct L4Key {
    /// Source port.
    pub src: u16,
    /// Destination port.
    pub dst: u16,
}

/// `struct ovs_key_icmp` and `ovs_key_icmpv6`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct IcmpKey {
    /// Type.
    pub icmp_type: u8,
    /// Code.
    pub icmp_code: u8,
}

/// `struct ovs_key_arp`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ArpKey {
    /// Sender IP.
    pub sip: [u8; 4],
    /// Target IP.
    pub tip: [u8; 4],
    /// Opcode.
    pub op: u16,
    /// Sender MAC.
    pub sha: [u8; 6],
    /// Target MAC.
    pub tha: [u8; 6],
}

/// `struct ovs_key_nd`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct NdKey {
    /// Target address.
    pub target: [u8; 16],
    /// Source link-layer address option.
    pub sll: [u8; 6],
    /// Target link-layer address option.
    pub tll: [u8; 6],
}

/// One flow key attribute (`OVS_KEY_ATTR_*`), in a key or in a mask.
///
/// Attributes this crate does not model, and attributes above the highest type it knows,
/// are kept as [`KeyAttr::Other`] so that they survive a parse/emit round trip.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyAttr {
    /// `OVS_KEY_ATTR_ENCAP` (1): the attributes inside a VLAN tag.
    Encap(Vec<KeyAttr>),
    /// `OVS_KEY_ATTR_PRIORITY` (2).
    Priority(u32),
    /// `OVS_KEY_ATTR_IN_PORT` (3).
    InPort(u32),
    /// `OVS_KEY_ATTR_ETHERNET` (4).
    Ethernet(EthKey),
    /// `OVS_KEY_ATTR_VLAN` (5): the TCI, with the CFI bit meaning "present".
    Vlan(u16),
    /// `OVS_KEY_ATTR_ETHERTYPE` (6).
    Ethertype(u16),
    /// `OVS_KEY_ATTR_IPV4` (7).
    Ipv4(Ipv4Key),
    /// `OVS_KEY_ATTR_IPV6` (8).
    Ipv6(Ipv6Key),
    /// `OVS_KEY_ATTR_TCP` (9).
    Tcp(L4Key),
    /// `OVS_KEY_ATTR_UDP` (10).
    Udp(L4Key),
    /// `OVS_KEY_ATTR_ICMP` (11).
    Icmp(IcmpKey),
    /// `OVS_KEY_ATTR_ICMPV6` (12).
    Icmpv6(IcmpKey),
    /// `OVS_KEY_ATTR_ARP` (13).
    Arp(ArpKey),
    /// `OVS_KEY_ATTR_ND` (14).
    Nd(NdKey),
    /// `OVS_KEY_ATTR_SKB_MARK` (15).
    SkbMark(u32),
    /// `OVS_KEY_ATTR_SCTP` (17).
    Sctp(L4Key),
    /// `OVS_KEY_ATTR_TCP_FLAGS` (18).
    TcpFlags(u16),
    /// `OVS_KEY_ATTR_DP_HASH` (19).
    DpHash(u32),
    /// `OVS_KEY_ATTR_RECIRC_ID` (20).
    RecircId(u32),
    /// `OVS_KEY_ATTR_MPLS` (21): label stack entries.
    Mpls(Vec<u32>),
    /// `OVS_KEY_ATTR_CT_STATE` (22).
    CtState(u32),
    /// `OVS_KEY_ATTR_CT_ZONE` (23).
    CtZone(u16),
    /// `OVS_KEY_ATTR_CT_MARK` (24).
    CtMark(u32),
    /// `OVS_KEY_ATTR_CT_LABELS` (25).
    CtLabels([u8; 16]),
    /// `OVS_KEY_ATTR_PACKET_TYPE` (29): namespace in the high 16 bits.
    PacketType(u32),
    /// Any other attribute (tunnel keys, NSH, conntrack tuples, types newer than this crate),
    /// kept as it came.
    Other(DefaultNla),
}
