//! [`FlowKey`]: the fixed-layout flow key of the datapath, also used as a mask.

use std::net::{Ipv4Addr, Ipv6Addr};

use netdev::EthAddr;

/// Ethertypes.
pub mod eth_type {
    /// IPv4.
    pub const IPV4: u16 = 0x0800;
    /// ARP.
    pub const ARP: u16 = 0x0806;
    /// RARP.
    pub const RARP: u16 = 0x8035;
    /// 802.1Q VLAN tag.
    pub const VLAN: u16 = 0x8100;
    /// 802.1ad service VLAN tag.
    pub const VLAN_8021AD: u16 = 0x88a8;
    /// IPv6.
    pub const IPV6: u16 = 0x86dd;
    /// MPLS unicast.
    pub const MPLS: u16 = 0x8847;
    /// MPLS multicast.
    pub const MPLS_MCAST: u16 = 0x8848;
    /// Values below this are 802.3 lengths, not ethertypes.
    pub const MIN: u16 = 0x0600;
    /// The ethertype OVS gives an 802.3 frame without SNAP (`FLOW_DL_TYPE_NONE`).
    pub const NONE: u16 = 0x05ff;
}

/// Bits of a VLAN TCI. In a [`FlowKey`] the CFI bit (`0x1000`) means "a tag is present", as
/// in OVS's `struct flow`.
pub mod vlan {
    /// The tag is present (in a key), the CFI/DEI bit (on the wire).
    pub const CFI: u16 = 0x1000;
    /// The VLAN id.
    pub const VID_MASK: u16 = 0x0fff;
    /// The priority.
    pub const PCP_MASK: u16 = 0xe000;
    /// Shift of the priority.
    pub const PCP_SHIFT: u16 = 13;
}

/// Fragment bits of [`FlowKey::nw_frag`] (OVS's `FLOW_NW_FRAG_*`).
pub mod frag {
    /// The packet is a fragment (first or later).
    pub const ANY: u8 = 1;
    /// The packet is a fragment other than the first.
    pub const LATER: u8 = 2;
    /// Both bits.
    pub const MASK: u8 = ANY | LATER;
}

/// IP protocol numbers.
pub mod ip_proto {
    /// ICMP.
    pub const ICMP: u8 = 1;
    /// IGMP.
    pub const IGMP: u8 = 2;
    /// TCP.
    pub const TCP: u8 = 6;
    /// UDP.
    pub const UDP: u8 = 17;
    /// IPv6 hop-by-hop options.
    pub const HOPOPTS: u8 = 0;
    /// IPv6 routing header.
    pub const ROUTING: u8 = 43;
    /// IPv6 fragment header.
    pub const FRAGMENT: u8 = 44;
    /// GRE.
    pub const GRE: u8 = 47;
    /// ESP.
    pub const ESP: u8 = 50;
    /// AH.
    pub const AH: u8 = 51;
    /// ICMPv6.
    pub const ICMPV6: u8 = 58;
    /// No next header (IPv6).
    pub const NONE: u8 = 59;
    /// IPv6 destination options.
    pub const DSTOPTS: u8 = 60;
    /// SCTP.
    pub const SCTP: u8 = 132;
}

/// TCP flag bits of [`FlowKey::tcp_flags`] (the low 12 bits of the TCP header's offset
/// word).
pub mod tcp_flags {
    /// FIN.
    pub const FIN: u16 = 0x001;
    /// SYN.
    pub const SYN: u16 = 0x002;
    /// RST.
    pub const RST: u16 = 0x004;
    /// PSH.
    pub const PSH: u16 = 0x008;
    /// ACK.
    pub const ACK: u16 = 0x010;
    /// URG.
    pub const URG: u16 = 0x020;
    /// ECE.
    pub const ECE: u16 = 0x040;
    /// CWR.
    pub const CWR: u16 = 0x080;
    /// NS.
    pub const NS: u16 = 0x100;
    /// All flag bits.
    pub const MASK: u16 = 0x0fff;
}

/// One VLAN header of a [`FlowKey`]: `tpid` and `tci` in host byte order; `tci` has
/// [`vlan::CFI`] set when the tag is present.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Vlan {
    /// The tag protocol id (0x8100 or 0x88a8), 0 when absent.
    pub tpid: u16,
    /// The tag control information, with [`vlan::CFI`] meaning "present".
    pub tci: u16,
}

impl Vlan {
    /// Whether the tag is present.
    pub fn present(&self) -> bool {
        self.tci & vlan::CFI != 0
    }

    /// The VLAN id.
    pub fn vid(&self) -> u16 {
        self.tci & vlan::VID_MASK
    }

    /// The priority code point.
    pub fn pcp(&self) -> u8 {
        // The shift leaves 3 bits.
        (self.tci >> vlan::PCP_SHIFT) as u8
    }
}

/// The flow key of a packet: every field the datapath matches on, in a fixed layout of
/// [`FlowKey::N_WORDS`] 64-bit words, so that masking, hashing and comparing are loops over
/// words.
///
/// The same type is the *mask* of a megaflow: a 1 bit must match, a 0 bit is wildcarded.
///
/// Integer fields are in host byte order; addresses are in network byte order. Fields that
/// do not apply to a packet are zero (an ARP packet has no TCP ports). Following OVS's
/// `struct flow`, ARP's sender and target IP live in `ipv4_src`/`ipv4_dst` and its opcode in
/// `nw_proto`; ICMP type and code live in `tp_src`/`tp_dst`; the IPv6 ND link-layer
/// addresses live in `arp_sha`/`arp_tha`.
///
/// Tunnel metadata will be added as further words.
#[repr(C, align(8))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct FlowKey {
    /// Recirculation id; 0 for a packet fresh from a port.
    pub recirc_id: u32,
    /// Hash computed by a `hash` action.
    pub dp_hash: u32,
    /// Datapath input port number.
    pub in_port: u32,
    /// `skb_priority`.
    pub skb_priority: u32,
    /// `skb_mark`.
    pub skb_mark: u32,
    /// Packet type, namespace in the high 16 bits (0 = Ethernet).
    pub packet_type: u32,
    /// Ethernet source.
    pub eth_src: [u8; 6],
    /// Ethernet destination.
    pub eth_dst: [u8; 6],
    /// Up to two VLAN tags, outermost first.
    pub vlans: [Vlan; 2],
    /// The ethertype after the VLAN tags ([`eth_type::NONE`] for 802.3 frames).
    pub eth_type: u16,
    /// IP protocol, or the ARP opcode (its low 8 bits, as OVS keeps it).
    pub nw_proto: u8,
    /// IP TOS/traffic class (DSCP and ECN).
    pub nw_tos: u8,
    /// IP TTL/hop limit.
    pub nw_ttl: u8,
    /// Fragment bits ([`frag`]).
    pub nw_frag: u8,
    /// L4 source port, or ICMP type.
    pub tp_src: u16,
    /// L4 destination port, or ICMP code.
    pub tp_dst: u16,
    /// TCP flags ([`tcp_flags`]).
    pub tcp_flags: u16,
    /// IPv4 source, or ARP sender IP.
    pub ipv4_src: [u8; 4],
    /// IPv4 destination, or ARP target IP.
    pub ipv4_dst: [u8; 4],
    /// IPv6 flow label (20 bits).
    pub ipv6_label: u32,
    /// ARP sender MAC, or IPv6 ND source link-layer address.
    pub arp_sha: [u8; 6],
    /// ARP target MAC, or IPv6 ND target link-layer address.
    pub arp_tha: [u8; 6],
    /// IPv6 source.
    pub ipv6_src: [u8; 16],
    /// IPv6 destination.
    pub ipv6_dst: [u8; 16],
    /// IPv6 ND target address.
    pub nd_target: [u8; 16],
}

impl FlowKey {
    /// Number of 64-bit words in a key.
    pub const N_WORDS: usize = std::mem::size_of::<FlowKey>() / 8;

    /// A key (or mask) with every bit zero: as a mask, it matches every packet.
    pub const fn zero() -> FlowKey {
        FlowKey {
            recirc_id: 0,
            dp_hash: 0,
            in_port: 0,
            skb_priority: 0,
            skb_mark: 0,
            packet_type: 0,
            eth_src: [0; 6],
            eth_dst: [0; 6],
            vlans: [Vlan { tpid: 0, tci: 0 }; 2],
            eth_type: 0,
            nw_proto: 0,
            nw_tos: 0,
            nw_ttl: 0,
            nw_frag: 0,
            tp_src: 0,
            tp_dst: 0,
            tcp_flags: 0,
            ipv4_src: [0; 4],
            ipv4_dst: [0; 4],
            ipv6_label: 0,
            arp_sha: [0; 6],
            arp_tha: [0; 6],
            ipv6_src: [0; 16],
            ipv6_dst: [0; 16],
            nd_target: [0; 16],
        }
    }

    /// A mask with every bit one: it matches exactly one key.
    pub fn exact_mask() -> FlowKey {
        let mut m = FlowKey::zero();
        m.words_mut().fill(u64::MAX);
        m
    }

    /// This key with the bits that are 0 in `mask` cleared.
    #[inline]
    pub fn masked(&self, mask: &FlowKey) -> FlowKey {
        let mut out = *self;
        for (w, m) in out.words_mut().iter_mut().zip(mask.words()) {
            *w &= m;
        }
        out
    }

    /// Whether this key, masked by `mask`, equals `other` masked by `mask`.
    #[inline]
    pub fn matches(&self, other: &FlowKey, mask: &FlowKey) -> bool {
        self.words()
            .iter()
            .zip(other.words())
            .zip(mask.words())
            .all(|((a, b), m)| (a ^ b) & m == 0)
    }

    /// Whether every bit is zero.
    pub fn is_zero(&self) -> bool {
        self.words().iter().all(|&w| w == 0)
    }

    /// A 64-bit hash of the whole key.
    #[inline]
    pub fn hash(&self, basis: u64) -> u64 {
        super::hash::hash_words(self.words(), basis)
    }

    /// The Ethernet source as an [`EthAddr`].
    pub fn eth_src(&self) -> EthAddr {
        EthAddr(self.eth_src)
    }

    /// The Ethernet destination as an [`EthAddr`].
    pub fn eth_dst(&self) -> EthAddr {
        EthAddr(self.eth_dst)
    }

    /// The IPv4 source (or ARP sender IP).
    pub fn ipv4_src(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.ipv4_src)
    }

    /// The IPv4 destination (or ARP target IP).
    pub fn ipv4_dst(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.ipv4_dst)
    }

    /// The IPv6 source.
    pub fn ipv6_src(&self) -> Ipv6Addr {
        Ipv6Addr::from(self.ipv6_src)
    }

    /// The IPv6 destination.
    pub fn ipv6_dst(&self) -> Ipv6Addr {
        Ipv6Addr::from(self.ipv6_dst)
    }

    /// Whether the ethertype is IPv4 or IPv6.
    pub fn is_ip(&self) -> bool {
        self.eth_type == eth_type::IPV4 || self.eth_type == eth_type::IPV6
    }

    /// Whether the ethertype is ARP or RARP.
    pub fn is_arp(&self) -> bool {
        self.eth_type == eth_type::ARP || self.eth_type == eth_type::RARP
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_is_sixteen_words() {
        assert_eq!(FlowKey::N_WORDS, 16);
        assert_eq!(FlowKey::default(), FlowKey::zero());
    }

    #[test]
    fn masking_and_matching() {
        let mut a = FlowKey::zero();
        a.in_port = 1;
        a.eth_type = eth_type::IPV4;
        a.ipv4_dst = [10, 1, 2, 3];
        let mut b = a;
        b.ipv4_dst = [10, 9, 9, 9];
        let mut mask = FlowKey::zero();
        mask.in_port = u32::MAX;
        mask.ipv4_dst = [255, 0, 0, 0];
        assert!(a.matches(&b, &mask));
        assert_eq!(a.masked(&mask), b.masked(&mask));
        mask.ipv4_dst = [255, 255, 0, 0];
        assert!(!a.matches(&b, &mask));
        assert!(a.matches(&a, &FlowKey::exact_mask()));
        assert!(FlowKey::zero().is_zero());
        assert!(!FlowKey::exact_mask().is_zero());
    }

    #[test]
    fn vlan_fields() {
        let v = Vlan {
            tpid: eth_type::VLAN,
            tci: vlan::CFI | (5 << 13) | 100,
        };
        assert!(v.present());
        assert_eq!((v.vid(), v.pcp()), (100, 5));
        assert!(!Vlan::default().present());
    }
}
