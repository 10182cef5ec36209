//! [`Flow`]: the OpenFlow view of a packet, and [`FlowWildcards`], a mask of the same shape.
//!
//! # Layout
//!
//! A [`Flow`] is [`Flow::N_WORDS`] 64-bit words. Every field lives at a fixed bit position of
//! one word (or, for 128-bit fields, of two consecutive words), so that masking, hashing and
//! comparing flows are loops over words, exactly like the datapath's
//! [`FlowKey`]. The same type serves as a mask: in a [`FlowWildcards`] a
//! 1 bit means "this bit was (or must be) looked at", a 0 bit means "wildcarded".
//!
//! Fields are stored as numbers: Ethernet addresses as the 48-bit big-endian value of their
//! six bytes, IPv4 addresses as their `u32` value, IPv6 addresses as their `u128` value.
//! A CIDR prefix is therefore a run of high bits, in a mask as in an address.
//!
//! The words are grouped in *stages* (metadata, L2, L3, L4; [`STAGE_ENDS`]) so that the
//! classifier can stop looking at a rule as soon as an earlier stage rules it out, and then
//! un-wildcard only the stages it looked at.
//!
//! As in OVS's `struct flow`, some fields share storage: ARP's sender and target IP are
//! `nw_src`/`nw_dst`, ARP's opcode is `nw_proto`, ICMP type and code are `tp_src`/`tp_dst`,
//! IPv6 ND's source and target link-layer addresses are `arp_sha`/`arp_tha`.
//!
//! New fields (tunnel metadata, connection tracking, MPLS) are added as further words: give
//! them a [`Loc`] in [`loc`], keep [`STAGE_ENDS`] grouping words by layer, and extend the
//! datapath conversions; everything else works on words and follows.
//!
//! # Ports
//!
//! OpenFlow port numbers ([`OfpPort`]) are kept as OVS keeps them internally: the OpenFlow
//! 1.0 16-bit space, with the reserved ports at `0xfff8..=0xffff` (`OFPP_LOCAL` = 65534).
//! The OpenFlow 1.1+ encodings (`0xffffff00 + n`) are converted at the wire by
//! [`OfpPort::from_of11`] / [`OfpPort::to_of11`].

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use dpif::odp::{FlowKey, OdpPort, Vlan};
use netdev::EthAddr;

/// Number of 64-bit words of a [`Flow`].
pub const N_WORDS: usize = 26;

/// The end (exclusive word index) of each lookup stage: metadata, L2, L3, L4.
pub const STAGE_ENDS: [usize; 4] = [12, 15, 25, N_WORDS];

/// The location of a field in a [`Flow`]: `bits` bits at bit `shift` of word `word`, or,
/// when `bits` is 128, the whole of words `word` (high half) and `word + 1` (low half).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Loc {
    pub(crate) word: usize,
    pub(crate) shift: u32,
    pub(crate) bits: u32,
}

impl Loc {
    /// Word index.
    pub const fn word(&self) -> usize {
        self.word
    }

    /// Bit position of the least significant bit within the word.
    pub const fn shift(&self) -> u32 {
        self.shift
    }

    /// Width in bits (1..=64, or 128).
    pub const fn bits(&self) -> u32 {
        self.bits
    }

    const fn new(word: usize, shift: u32, bits: u32) -> Loc {
        Loc { word, shift, bits }
    }

    /// The mask of the field's value (`bits` low bits set).
    #[inline]
    pub const fn value_mask(&self) -> u128 {
        if self.bits >= 128 {
            u128::MAX
        } else {
            (1u128 << self.bits) - 1
        }
    }
}

/// Storage locations of the fields of a [`Flow`] (see the module docs).
pub mod loc {
    use super::Loc;

    /// `recirc_id`.
    pub const RECIRC_ID: Loc = Loc::new(0, 32, 32);
    /// `dp_hash`.
    pub const DP_HASH: Loc = Loc::new(0, 0, 32);
    /// `in_port` (OpenFlow port number).
    pub const IN_PORT: Loc = Loc::new(1, 32, 32);
    /// `skb_priority`.
    pub const SKB_PRIORITY: Loc = Loc::new(1, 0, 32);
    /// `pkt_mark`.
    pub const PKT_MARK: Loc = Loc::new(2, 32, 32);
    /// `metadata`.
    pub const METADATA: Loc = Loc::new(3, 0, 64);
    /// First word of the registers: `reg(2k)` is the high half of word `REGS_WORD + k`,
    /// `reg(2k+1)` the low half, so `xreg(k)` is the whole word.
    pub const REGS_WORD: usize = 4;
    /// Ethernet source.
    pub const ETH_SRC: Loc = Loc::new(12, 16, 48);
    /// Ethertype.
    pub const DL_TYPE: Loc = Loc::new(12, 0, 16);
    /// Ethernet destination.
    pub const ETH_DST: Loc = Loc::new(13, 16, 48);
    /// Outer VLAN TPID.
    pub const VLAN0_TPID: Loc = Loc::new(14, 48, 16);
    /// Outer VLAN TCI (CFI = present).
    pub const VLAN0_TCI: Loc = Loc::new(14, 32, 16);
    /// Inner VLAN TPID.
    pub const VLAN1_TPID: Loc = Loc::new(14, 16, 16);
    /// Inner VLAN TCI.
    pub const VLAN1_TCI: Loc = Loc::new(14, 0, 16);
    /// IPv4 source or ARP sender IP.
    pub const NW_SRC: Loc = Loc::new(15, 32, 32);
    /// IPv4 destination or ARP target IP.
    pub const NW_DST: Loc = Loc::new(15, 0, 32);
    /// IPv6 flow label.
    pub const IPV6_LABEL: Loc = Loc::new(16, 32, 32);
    /// IP protocol or ARP opcode.
    pub const NW_PROTO: Loc = Loc::new(16, 24, 8);
    /// IP TOS (DSCP and ECN).
    pub const NW_TOS: Loc = Loc::new(16, 16, 8);
    /// IP TTL.
    pub const NW_TTL: Loc = Loc::new(16, 8, 8);
    /// Fragment bits.
    pub const NW_FRAG: Loc = Loc::new(16, 0, 8);
    /// IPv6 source.
    pub const IPV6_SRC: Loc = Loc::new(17, 0, 128);
    /// IPv6 destination.
    pub const IPV6_DST: Loc = Loc::new(19, 0, 128);
    /// ARP sender MAC or ND source link-layer address.
    pub const ARP_SHA: Loc = Loc::new(21, 16, 48);
    /// ARP target MAC or ND target link-layer address.
    pub const ARP_THA: Loc = Loc::new(22, 16, 48);
    /// ND target.
    pub const ND_TARGET: Loc = Loc::new(23, 0, 128);
    /// L4 source port or ICMP type.
    pub const TP_SRC: Loc = Loc::new(25, 48, 16);
    /// L4 destination port or ICMP code.
    pub const TP_DST: Loc = Loc::new(25, 32, 16);
    /// TCP flags.
    pub const TCP_FLAGS: Loc = Loc::new(25, 16, 16);

    /// Register `i` (0..16; larger values are taken modulo 16).
    pub const fn reg(i: usize) -> Loc {
        let i = i % 16;
        Loc::new(REGS_WORD + i / 2, if i & 1 == 0 { 32 } else { 0 }, 32)
    }

    /// 64-bit register `i` (0..8, modulo 8): `reg(2i)` (high) and `reg(2i+1)`.
    pub const fn xreg(i: usize) -> Loc {
        Loc::new(REGS_WORD + i % 8, 0, 64)
    }

    /// 128-bit register `i` (0..4, modulo 4): `reg(4i)` (most significant) to `reg(4i+3)`.
    pub const fn xxreg(i: usize) -> Loc {
        Loc::new(REGS_WORD + 2 * (i % 4), 0, 128)
    }
}

/// Number of 32-bit registers.
pub const N_REGS: usize = 16;

/// An OpenFlow port number, in OVS's internal 16-bit space (see the module docs).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OfpPort(pub u32);

impl OfpPort {
    /// Ports `1..MAX` are physical or logical ports (`OFPP_MAX`, 0xff00).
    pub const MAX: OfpPort = OfpPort(0xff00);
    /// Output to the input port (`OFPP_IN_PORT`).
    pub const IN_PORT: OfpPort = OfpPort(0xfff8);
    /// Submit to the first flow table (`OFPP_TABLE`, packet-out only).
    pub const TABLE: OfpPort = OfpPort(0xfff9);
    /// The traditional L2/L3 switch (`OFPP_NORMAL`).
    pub const NORMAL: OfpPort = OfpPort(0xfffa);
    /// All ports but the input port and those with flooding disabled (`OFPP_FLOOD`).
    pub const FLOOD: OfpPort = OfpPort(0xfffb);
    /// All ports but the input port (`OFPP_ALL`).
    pub const ALL: OfpPort = OfpPort(0xfffc);
    /// Send to the controller (`OFPP_CONTROLLER`).
    pub const CONTROLLER: OfpPort = OfpPort(0xfffd);
    /// The local port, the bridge's own interface (`OFPP_LOCAL`).
    pub const LOCAL: OfpPort = OfpPort(0xfffe);
    /// No port (`OFPP_NONE`, also `OFPP_ANY` in filters).
    pub const NONE: OfpPort = OfpPort(0xffff);
    /// Alias of [`OfpPort::NONE`] used in filters.
    pub const ANY: OfpPort = OfpPort::NONE;

    /// The reserved ports and their names, as `ovs-ofctl` prints them.
    pub const RESERVED: [(OfpPort, &'static str); 8] = [
        (OfpPort::IN_PORT, "IN_PORT"),
        (OfpPort::TABLE, "TABLE"),
        (OfpPort::NORMAL, "NORMAL"),
        (OfpPort::FLOOD, "FLOOD"),
        (OfpPort::ALL, "ALL"),
        (OfpPort::CONTROLLER, "CONTROLLER"),
        (OfpPort::LOCAL, "LOCAL"),
        (OfpPort::NONE, "ANY"),
    ];

    /// The name of a reserved port (`"LOCAL"`, ...), or `None` for an ordinary port.
    pub fn reserved_name(self) -> Option<&'static str> {
        OfpPort::RESERVED
            .iter()
            .find(|(p, _)| *p == self)
            .map(|(_, n)| *n)
    }

    /// Whether this is a usable port number (`1..0xff00`) or a reserved port.
    pub fn is_valid(self) -> bool {
        (self.0 < OfpPort::MAX.0) || (OfpPort::IN_PORT.0..=OfpPort::NONE.0).contains(&self.0)
    }

    /// Converts an OpenFlow 1.1+ 32-bit port number (reserved ports at `0xffffff00 + n`).
    pub fn from_of11(n: u32) -> Option<OfpPort> {
        if n < OfpPort::MAX.0 {
            Some(OfpPort(n))
        } else if n >= 0xffff_ff00 {
            Some(OfpPort(n - 0xffff_0000))
        } else {
            None
        }
    }

    /// The OpenFlow 1.1+ 32-bit encoding of this port.
    pub fn to_of11(self) -> u32 {
        if self.0 >= OfpPort::MAX.0 && self.0 <= 0xffff {
            self.0 + 0xffff_0000
        } else {
            self.0
        }
    }
}

impl fmt::Display for OfpPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.reserved_name() {
            Some(n) => f.write_str(n),
            None => write!(f, "{}", self.0),
        }
    }
}

impl From<u16> for OfpPort {
    fn from(n: u16) -> Self {
        OfpPort(u32::from(n))
    }
}

/// The OpenFlow view of a packet, in [`N_WORDS`] words (see the module docs); also the
/// shape of a mask ([`FlowWildcards`]).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Flow {
    w: [u64; N_WORDS],
}

#[inline]
fn get_bits(w: u64, shift: u32, bits: u32) -> u64 {
    if bits >= 64 {
        w
    } else {
        (w >> shift) & ((1u64 << bits) - 1)
    }
}

#[inline]
fn set_bits(w: &mut u64, shift: u32, bits: u32, v: u64) {
    if bits >= 64 {
        *w = v;
    } else {
        let m = ((1u64 << bits) - 1) << shift;
        *w = (*w & !m) | ((v << shift) & m);
    }
}

/// Narrows a value already masked to the width of `T`.
#[inline]
fn narrow<T: TryFrom<u64> + Default>(v: u64) -> T {
    T::try_from(v).unwrap_or_default()
}

fn mac_to_u64(a: EthAddr) -> u64 {
    let b = a.0;
    u64::from_be_bytes([0, 0, b[0], b[1], b[2], b[3], b[4], b[5]])
}

fn u64_to_mac(v: u64) -> EthAddr {
    let b = v.to_be_bytes();
    EthAddr([b[2], b[3], b[4], b[5], b[6], b[7]])
}

macro_rules! int_field {
    ($(#[$doc:meta])* $get:ident, $set:ident, $ty:ty, $loc:expr) => {
        $(#[$doc])*
        #[inline]
        pub fn $get(&self) -> $ty {
            narrow(self.get_loc64($loc))
        }

        #[doc = concat!("Sets [`Flow::", stringify!($get), "`].")]
        #[inline]
        pub fn $set(&mut self, v: $ty) {
            self.set_loc64($loc, u64::from(v));
        }
    };
}

macro_rules! mac_field {
    ($(#[$doc:meta])* $get:ident, $set:ident, $loc:expr) => {
        $(#[$doc])*
        #[inline]
        pub fn $get(&self) -> EthAddr {
            u64_to_mac(self.get_loc64($loc))
        }

        #[doc = concat!("Sets [`Flow::", stringify!($get), "`].")]
        #[inline]
        pub fn $set(&mut self, v: EthAddr) {
            self.set_loc64($loc, mac_to_u64(v));
        }
    };
}

impl Flow {
    /// Number of 64-bit words.
    pub const N_WORDS: usize = N_WORDS;

    /// A flow (or mask) with every bit zero: as a mask, it wildcards everything.
    pub const fn zero() -> Flow {
        Flow { w: [0; N_WORDS] }
    }

    /// A mask with every bit one.
    pub const fn ones() -> Flow {
        Flow {
            w: [u64::MAX; N_WORDS],
        }
    }

    /// The words.
    #[inline]
    pub fn words(&self) -> &[u64; N_WORDS] {
        &self.w
    }

    /// The words, writable.
    #[inline]
    pub fn words_mut(&mut self) -> &mut [u64; N_WORDS] {
        &mut self.w
    }

    /// Builds a flow from its words.
    #[inline]
    pub const fn from_words(w: [u64; N_WORDS]) -> Flow {
        Flow { w }
    }

    /// This flow with the bits that are 0 in `mask` cleared.
    #[inline]
    pub fn masked(&self, mask: &Flow) -> Flow {
        let mut out = *self;
        for (a, m) in out.w.iter_mut().zip(mask.w.iter()) {
            *a &= m;
        }
        out
    }

    /// Whether `self` and `other` agree on every bit set in `mask`.
    #[inline]
    pub fn matches(&self, other: &Flow, mask: &Flow) -> bool {
        self.w
            .iter()
            .zip(other.w.iter())
            .zip(mask.w.iter())
            .all(|((a, b), m)| (a ^ b) & m == 0)
    }

    /// Whether every bit is zero.
    pub fn is_zero(&self) -> bool {
        self.w.iter().all(|&w| w == 0)
    }

    /// A 64-bit hash of the whole flow.
    #[inline]
    pub fn hash(&self, basis: u64) -> u64 {
        dpif::odp::hash::hash_words(&self.w, basis)
    }

    /// Reads the value at `loc` (see [`Loc`]).
    #[inline]
    pub fn get_loc(&self, loc: Loc) -> u128 {
        if loc.bits >= 128 {
            (u128::from(self.w[loc.word]) << 64) | u128::from(self.w[loc.word + 1])
        } else {
            u128::from(get_bits(self.w[loc.word], loc.shift, loc.bits))
        }
    }

    /// Writes the value at `loc`; bits of `v` beyond the field's width are ignored.
    #[inline]
    pub fn set_loc(&mut self, loc: Loc, v: u128) {
        if loc.bits >= 128 {
            self.w[loc.word] = u64::try_from(v >> 64).unwrap_or_default();
            self.w[loc.word + 1] = u64::try_from(v & u128::from(u64::MAX)).unwrap_or_default();
        } else {
            let low = u64::try_from(v & u128::from(u64::MAX)).unwrap_or_default();
            set_bits(&mut self.w[loc.word], loc.shift, loc.bits, low);
        }
    }

    #[inline]
    fn get_loc64(&self, loc: Loc) -> u64 {
        get_bits(self.w[loc.word], loc.shift, loc.bits)
    }

    #[inline]
    fn set_loc64(&mut self, loc: Loc, v: u64) {
        set_bits(&mut self.w[loc.word], loc.shift, loc.bits, v);
    }

    /// The input port.
    #[inline]
    pub fn in_port(&self) -> OfpPort {
        OfpPort(narrow(self.get_loc64(loc::IN_PORT)))
    }

    /// Sets the input port.
    #[inline]
    pub fn set_in_port(&mut self, p: OfpPort) {
        self.set_loc64(loc::IN_PORT, u64::from(p.0));
    }

    int_field!(
        /// Recirculation id (0 for a packet fresh from a port).
        recirc_id, set_recirc_id, u32, loc::RECIRC_ID
    );
    int_field!(
        /// Datapath hash.
        dp_hash, set_dp_hash, u32, loc::DP_HASH
    );
    int_field!(
        /// `skb_priority` (QoS queue selection).
        skb_priority, set_skb_priority, u32, loc::SKB_PRIORITY
    );
    int_field!(
        /// Packet mark (`skb_mark` in the datapath).
        pkt_mark, set_pkt_mark, u32, loc::PKT_MARK
    );
    int_field!(
        /// OpenFlow metadata.
        metadata, set_metadata, u64, loc::METADATA
    );

    /// Register `i` (`reg0`..`reg15`); 0 for `i >= 16`.
    #[inline]
    pub fn reg(&self, i: usize) -> u32 {
        if i < N_REGS {
            narrow(self.get_loc64(loc::reg(i)))
        } else {
            0
        }
    }

    /// Sets register `i`; ignored for `i >= 16`.
    #[inline]
    pub fn set_reg(&mut self, i: usize, v: u32) {
        if i < N_REGS {
            self.set_loc64(loc::reg(i), u64::from(v));
        }
    }

    mac_field!(
        /// Ethernet source.
        dl_src, set_dl_src, loc::ETH_SRC
    );
    mac_field!(
        /// Ethernet destination.
        dl_dst, set_dl_dst, loc::ETH_DST
    );
    int_field!(
        /// Ethertype after the VLAN tags (`0x05ff` for an 802.3 frame without SNAP).
        dl_type, set_dl_type, u16, loc::DL_TYPE
    );
    int_field!(
        /// Outer VLAN TCI, with CFI (`0x1000`) meaning "a tag is present" (OVS's `vlan_tci`).
        vlan_tci, set_vlan_tci, u16, loc::VLAN0_TCI
    );

    /// VLAN header `i` (0 = outer, 1 = inner); a default (absent) header for `i >= 2`.
    pub fn vlan(&self, i: usize) -> Vlan {
        let (tpid, tci) = match i {
            0 => (loc::VLAN0_TPID, loc::VLAN0_TCI),
            1 => (loc::VLAN1_TPID, loc::VLAN1_TCI),
            _ => return Vlan::default(),
        };
        Vlan {
            tpid: narrow(self.get_loc64(tpid)),
            tci: narrow(self.get_loc64(tci)),
        }
    }

    /// Sets VLAN header `i` (0 or 1; others are ignored).
    pub fn set_vlan(&mut self, i: usize, v: Vlan) {
        let (tpid, tci) = match i {
            0 => (loc::VLAN0_TPID, loc::VLAN0_TCI),
            1 => (loc::VLAN1_TPID, loc::VLAN1_TCI),
            _ => return,
        };
        self.set_loc64(tpid, u64::from(v.tpid));
        self.set_loc64(tci, u64::from(v.tci));
    }

    /// IPv4 source, or ARP sender IP.
    #[inline]
    pub fn nw_src(&self) -> Ipv4Addr {
        Ipv4Addr::from(narrow::<u32>(self.get_loc64(loc::NW_SRC)))
    }

    /// Sets [`Flow::nw_src`].
    #[inline]
    pub fn set_nw_src(&mut self, a: Ipv4Addr) {
        self.set_loc64(loc::NW_SRC, u64::from(u32::from(a)));
    }

    /// IPv4 destination, or ARP target IP.
    #[inline]
    pub fn nw_dst(&self) -> Ipv4Addr {
        Ipv4Addr::from(narrow::<u32>(self.get_loc64(loc::NW_DST)))
    }

    /// Sets [`Flow::nw_dst`].
    #[inline]
    pub fn set_nw_dst(&mut self, a: Ipv4Addr) {
        self.set_loc64(loc::NW_DST, u64::from(u32::from(a)));
    }

    /// IPv6 source.
    pub fn ipv6_src(&self) -> Ipv6Addr {
        Ipv6Addr::from(self.get_loc(loc::IPV6_SRC))
    }

    /// Sets [`Flow::ipv6_src`].
    pub fn set_ipv6_src(&mut self, a: Ipv6Addr) {
        self.set_loc(loc::IPV6_SRC, u128::from(a));
    }

    /// IPv6 destination.
    pub fn ipv6_dst(&self) -> Ipv6Addr {
        Ipv6Addr::from(self.get_loc(loc::IPV6_DST))
    }

    /// Sets [`Flow::ipv6_dst`].
    pub fn set_ipv6_dst(&mut self, a: Ipv6Addr) {
        self.set_loc(loc::IPV6_DST, u128::from(a));
    }

    /// IPv6 ND target.
    pub fn nd_target(&self) -> Ipv6Addr {
        Ipv6Addr::from(self.get_loc(loc::ND_TARGET))
    }

    /// Sets [`Flow::nd_target`].
    pub fn set_nd_target(&mut self, a: Ipv6Addr) {
        self.set_loc(loc::ND_TARGET, u128::from(a));
    }

    int_field!(
        /// IPv6 flow label (20 bits).
        ipv6_label, set_ipv6_label, u32, loc::IPV6_LABEL
    );
    int_field!(
        /// IP protocol, or the ARP opcode's low 8 bits.
        nw_proto, set_nw_proto, u8, loc::NW_PROTO
    );
    int_field!(
        /// IP TOS / traffic class byte (DSCP in the high 6 bits, ECN in the low 2).
        nw_tos, set_nw_tos, u8, loc::NW_TOS
    );
    int_field!(
        /// IP TTL / hop limit.
        nw_ttl, set_nw_ttl, u8, loc::NW_TTL
    );
    int_field!(
        /// Fragment bits ([`dpif::odp::frag`]).
        nw_frag, set_nw_frag, u8, loc::NW_FRAG
    );
    mac_field!(
        /// ARP sender MAC, or ND source link-layer address.
        arp_sha, set_arp_sha, loc::ARP_SHA
    );
    mac_field!(
        /// ARP target MAC, or ND target link-layer address.
        arp_tha, set_arp_tha, loc::ARP_THA
    );
    int_field!(
        /// L4 source port, or ICMP type.
        tp_src, set_tp_src, u16, loc::TP_SRC
    );
    int_field!(
        /// L4 destination port, or ICMP code.
        tp_dst, set_tp_dst, u16, loc::TP_DST
    );
    int_field!(
        /// TCP flags (12 bits).
        tcp_flags, set_tcp_flags, u16, loc::TCP_FLAGS
    );

    /// Whether the ethertype is IPv4 or IPv6.
    pub fn is_ip(&self) -> bool {
        matches!(self.dl_type(), 0x0800 | 0x86dd)
    }

    /// Whether the ethertype is ARP or RARP.
    pub fn is_arp(&self) -> bool {
        matches!(self.dl_type(), 0x0806 | 0x8035)
    }

    /// The OpenFlow flow of a datapath key, whose datapath in_port has OpenFlow number
    /// `ofp_in_port`. Registers and metadata start at zero.
    pub fn from_dp_key(key: &FlowKey, ofp_in_port: OfpPort) -> Flow {
        let mut f = Flow::zero();
        f.set_recirc_id(key.recirc_id);
        f.set_dp_hash(key.dp_hash);
        f.set_in_port(ofp_in_port);
        f.set_skb_priority(key.skb_priority);
        f.set_pkt_mark(key.skb_mark);
        f.set_dl_src(EthAddr(key.eth_src));
        f.set_dl_dst(EthAddr(key.eth_dst));
        f.set_vlan(0, key.vlans[0]);
        f.set_vlan(1, key.vlans[1]);
        f.set_dl_type(key.eth_type);
        f.set_nw_proto(key.nw_proto);
        f.set_nw_tos(key.nw_tos);
        f.set_nw_ttl(key.nw_ttl);
        f.set_nw_frag(key.nw_frag);
        f.set_tp_src(key.tp_src);
        f.set_tp_dst(key.tp_dst);
        f.set_tcp_flags(key.tcp_flags);
        f.set_nw_src(Ipv4Addr::from(key.ipv4_src));
        f.set_nw_dst(Ipv4Addr::from(key.ipv4_dst));
        f.set_ipv6_label(key.ipv6_label);
        f.set_arp_sha(EthAddr(key.arp_sha));
        f.set_arp_tha(EthAddr(key.arp_tha));
        f.set_ipv6_src(Ipv6Addr::from(key.ipv6_src));
        f.set_ipv6_dst(Ipv6Addr::from(key.ipv6_dst));
        f.set_nd_target(Ipv6Addr::from(key.nd_target));
        f
    }

    /// The datapath key of this flow; `odp_port` maps the OpenFlow in_port to a datapath
    /// port (`None` gives [`OdpPort::NONE`]). Registers and metadata have no datapath
    /// counterpart and are dropped; the packet type is Ethernet.
    pub fn to_dp_key(&self, odp_port: impl FnOnce(OfpPort) -> Option<OdpPort>) -> FlowKey {
        let mut k = self.dp_fields();
        k.in_port = odp_port(self.in_port()).unwrap_or(OdpPort::NONE).0;
        k
    }

    /// The datapath fields shared by keys and masks (all but in_port and packet_type).
    fn dp_fields(&self) -> FlowKey {
        let mut k = FlowKey::zero();
        k.recirc_id = self.recirc_id();
        k.dp_hash = self.dp_hash();
        k.skb_priority = self.skb_priority();
        k.skb_mark = self.pkt_mark();
        k.eth_src = self.dl_src().0;
        k.eth_dst = self.dl_dst().0;
        k.vlans = [self.vlan(0), self.vlan(1)];
        k.eth_type = self.dl_type();
        k.nw_proto = self.nw_proto();
        k.nw_tos = self.nw_tos();
        k.nw_ttl = self.nw_ttl();
        k.nw_frag = self.nw_frag();
        k.tp_src = self.tp_src();
        k.tp_dst = self.tp_dst();
        k.tcp_flags = self.tcp_flags();
        k.ipv4_src = self.nw_src().octets();
        k.ipv4_dst = self.nw_dst().octets();
        k.ipv6_label = self.ipv6_label();
        k.arp_sha = self.arp_sha().0;
        k.arp_tha = self.arp_tha().0;
        k.ipv6_src = self.ipv6_src().octets();
        k.ipv6_dst = self.ipv6_dst().octets();
        k.nd_target = self.nd_target().octets();
        k
    }
}

impl fmt::Display for Flow {
    /// The flow as `ofproto/trace` prints it on its `Flow:` line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::ofctl::format::format_flow_debug(self, f)
    }
}

impl fmt::Debug for Flow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Flow(")?;
        crate::ofctl::format::format_flow_debug(self, f)?;
        f.write_str(")")
    }
}

/// A mask shaped like a [`Flow`]: the bits a lookup or translation looked at (1) and the bits
/// it did not care about (0). Megaflows are built from it with [`FlowWildcards::to_dp_mask`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct FlowWildcards {
    /// The mask.
    pub masks: Flow,
}

impl FlowWildcards {
    /// Wildcards everything (no bit looked at).
    pub const fn catchall() -> FlowWildcards {
        FlowWildcards {
            masks: Flow::zero(),
        }
    }

    /// Looks at every bit.
    pub const fn exact() -> FlowWildcards {
        FlowWildcards {
            masks: Flow::ones(),
        }
    }

    /// Marks every bit of `mask` as looked at.
    #[inline]
    pub fn or_mask(&mut self, mask: &Flow) {
        for (a, m) in self.masks.words_mut().iter_mut().zip(mask.words()) {
            *a |= m;
        }
    }

    /// Marks the bits of `mask` in words `range` as looked at.
    #[inline]
    pub fn or_mask_words(&mut self, mask: &Flow, range: std::ops::Range<usize>) {
        let dst = &mut self.masks.words_mut()[range.clone()];
        for (a, m) in dst.iter_mut().zip(&mask.words()[range]) {
            *a |= m;
        }
    }

    /// Marks every bit at `loc` as looked at.
    #[inline]
    pub fn unwildcard_loc(&mut self, loc: Loc) {
        let v = self.masks.get_loc(loc) | loc.value_mask();
        self.masks.set_loc(loc, v);
    }

    /// Marks the bits `bits` (a value-aligned mask) of `loc` as looked at.
    #[inline]
    pub fn unwildcard_loc_bits(&mut self, loc: Loc, bits: u128) {
        let v = self.masks.get_loc(loc) | bits;
        self.masks.set_loc(loc, v);
    }

    /// The datapath megaflow mask for these wildcards: every field the OpenFlow pipeline
    /// looked at; a looked-at in_port makes the datapath in_port exact. Metadata and
    /// registers have no datapath counterpart and are dropped (translation resolved them).
    /// The packet type is always exact.
    pub fn to_dp_mask(&self) -> FlowKey {
        let mut k = self.masks.dp_fields();
        k.in_port = if self.masks.get_loc(loc::IN_PORT) != 0 {
            u32::MAX
        } else {
            0
        };
        k.packet_type = u32::MAX;
        k
    }

    /// Wildcards for a datapath mask (the reverse of [`FlowWildcards::to_dp_mask`]); an
    /// exact datapath in_port makes the OpenFlow in_port exact.
    pub fn from_dp_mask(mask: &FlowKey) -> FlowWildcards {
        let in_port = if mask.in_port != 0 {
            OfpPort(u32::MAX)
        } else {
            OfpPort(0)
        };
        FlowWildcards {
            masks: Flow::from_dp_key(mask, in_port),
        }
    }
}

impl fmt::Debug for FlowWildcards {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FlowWildcards({:?})", self.masks)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dpif::odp::{eth_type, vlan};

    #[test]
    fn locations_do_not_overlap() {
        let mut locs = vec![
            loc::RECIRC_ID,
            loc::DP_HASH,
            loc::IN_PORT,
            loc::SKB_PRIORITY,
            loc::PKT_MARK,
            loc::METADATA,
            loc::ETH_SRC,
            loc::DL_TYPE,
            loc::ETH_DST,
            loc::VLAN0_TPID,
            loc::VLAN0_TCI,
            loc::VLAN1_TPID,
            loc::VLAN1_TCI,
            loc::NW_SRC,
            loc::NW_DST,
            loc::IPV6_LABEL,
            loc::NW_PROTO,
            loc::NW_TOS,
            loc::NW_TTL,
            loc::NW_FRAG,
            loc::IPV6_SRC,
            loc::IPV6_DST,
            loc::ARP_SHA,
            loc::ARP_THA,
            loc::ND_TARGET,
            loc::TP_SRC,
            loc::TP_DST,
            loc::TCP_FLAGS,
        ];
        locs.extend((0..N_REGS).map(loc::reg));
        let mut seen = Flow::zero();
        for l in locs {
            let mut one = Flow::zero();
            one.set_loc(l, u128::MAX);
            assert!(!one.is_zero(), "{l:?}");
            assert!(seen.masked(&one).is_zero(), "{l:?} overlaps");
            for (a, b) in seen.words_mut().iter_mut().zip(one.words()) {
                *a |= b;
            }
        }
    }

    #[test]
    fn registers_compose_xregs() {
        let mut f = Flow::zero();
        f.set_reg(2, 0x1111_2222);
        f.set_reg(3, 0x3333_4444);
        assert_eq!(f.get_loc(loc::xreg(1)), 0x1111_2222_3333_4444);
        f.set_loc(loc::xxreg(0), 0x1_0000_0002_0000_0003_0000_0004);
        assert_eq!((f.reg(0), f.reg(1), f.reg(2), f.reg(3)), (1, 2, 3, 4));
        assert_eq!(f.reg(16), 0);
    }

    #[test]
    fn dp_key_round_trip() {
        let mut k = FlowKey::zero();
        k.recirc_id = 7;
        k.dp_hash = 9;
        k.in_port = 3;
        k.skb_priority = 4;
        k.skb_mark = 5;
        k.eth_src = [1, 2, 3, 4, 5, 6];
        k.eth_dst = [0xff; 6];
        k.vlans[0] = Vlan {
            tpid: eth_type::VLAN_8021AD,
            tci: vlan::CFI | 10,
        };
        k.vlans[1] = Vlan {
            tpid: eth_type::VLAN,
            tci: vlan::CFI | 20,
        };
        k.eth_type = eth_type::IPV6;
        k.nw_proto = 6;
        k.nw_tos = 0xb8;
        k.nw_ttl = 64;
        k.nw_frag = 1;
        k.tp_src = 1234;
        k.tp_dst = 80;
        k.tcp_flags = 0x12;
        k.ipv4_src = [10, 0, 0, 1];
        k.ipv4_dst = [10, 0, 0, 2];
        k.ipv6_label = 0x12345;
        k.arp_sha = [7; 6];
        k.arp_tha = [8; 6];
        k.ipv6_src = [1; 16];
        k.ipv6_dst = [2; 16];
        k.nd_target = [3; 16];
        let f = Flow::from_dp_key(&k, OfpPort(1));
        assert_eq!(f.in_port(), OfpPort(1));
        assert_eq!(f.vlan_tci(), vlan::CFI | 10);
        assert_eq!(f.nw_src(), Ipv4Addr::new(10, 0, 0, 1));
        let back = f.to_dp_key(|p| (p == OfpPort(1)).then_some(OdpPort(3)));
        assert_eq!(back, k);
        let none = f.to_dp_key(|_| None);
        assert_eq!(none.in_port, OdpPort::NONE.0);
    }

    #[test]
    fn wildcards_to_dp_mask() {
        let mut wc = FlowWildcards::catchall();
        wc.unwildcard_loc(loc::IN_PORT);
        wc.unwildcard_loc(loc::reg(0));
        wc.unwildcard_loc_bits(loc::NW_DST, 0xff00_0000);
        let m = wc.to_dp_mask();
        assert_eq!(m.in_port, u32::MAX);
        assert_eq!(m.ipv4_dst, [255, 0, 0, 0]);
        assert_eq!(m.packet_type, u32::MAX);
        let mut only = m;
        only.in_port = 0;
        only.ipv4_dst = [0; 4];
        only.packet_type = 0;
        assert!(only.is_zero(), "registers must not reach the datapath");
        let back = FlowWildcards::from_dp_mask(&m);
        assert_eq!(back.masks.get_loc(loc::NW_DST), 0xff00_0000);
    }

    #[test]
    fn of11_ports() {
        assert_eq!(OfpPort::from_of11(0xffff_fffe), Some(OfpPort::LOCAL));
        assert_eq!(OfpPort::LOCAL.to_of11(), 0xffff_fffe);
        assert_eq!(OfpPort::from_of11(5), Some(OfpPort(5)));
        assert_eq!(OfpPort::from_of11(0x1_0000), None);
        assert_eq!(OfpPort::LOCAL.to_string(), "LOCAL");
        assert_eq!(OfpPort::NONE.to_string(), "ANY");
        assert!(!OfpPort(0xff01).is_valid());
    }
}
