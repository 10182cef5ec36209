//! Flow extraction: from a packet's bytes to its [`FlowKey`] in one pass, as OVS's
//! `miniflow_extract` (`lib/flow.c`) does it.
//!
//! [`extract`] overwrites the whole key: metadata from [`netdev::PacketMeta`], then the
//! headers it understands, outermost first: Ethernet (Ethernet II, 802.3 with LLC/SNAP, plain
//! 802.3), up to two VLAN tags, an MPLS label stack (its ethertype only), IPv4, IPv6 with its
//! extension headers, TCP, UDP, SCTP, ICMP, ICMPv6 with Neighbor Discovery, and ARP/RARP.
//! It also records the offsets of the L2, L3 and L4 headers in the packet's metadata.
//!
//! A truncated or malformed header ends parsing there: the fields parsed so far stay in the
//! key, the rest is zero, exactly as OVS leaves them. Extraction reads every byte through a
//! bounds check, allocates nothing and never panics, whatever the bytes.
//!
//! [`hash_5tuple`] and [`hash_5tuple_symmetric`] hash a key's addresses, protocol and ports
//! for the `hash` action and for RSS.

use netdev::{OFS_UNSET, Packet};

use super::hash;
use super::key::{FlowKey, Vlan, eth_type, frag, ip_proto, vlan};

/// Most VLAN tags parsed into a key (OVS's `FLOW_MAX_VLAN_HEADERS`); a third tag stays in
/// the payload and its TPID becomes the key's ethertype.
pub const MAX_VLAN_HEADERS: usize = 2;

/// Length of an Ethernet header without tags.
pub(crate) const ETH_HEADER_LEN: usize = 14;
/// Offset of the first ethertype/TPID in an Ethernet frame (after the two MACs).
pub(crate) const ETH_TYPE_OFS: usize = 12;
/// Length of an IPv4 header without options.
pub(crate) const IPV4_HEADER_LEN: usize = 20;
/// Length of the fixed IPv6 header.
pub(crate) const IPV6_HEADER_LEN: usize = 40;
/// Length of a TCP header without options.
pub(crate) const TCP_HEADER_LEN: usize = 20;
/// Length of a UDP header.
pub(crate) const UDP_HEADER_LEN: usize = 8;
/// Length of an SCTP common header.
pub(crate) const SCTP_HEADER_LEN: usize = 12;
/// Length of an ICMP header (type, code, checksum and 4 bytes of data).
pub(crate) const ICMP_HEADER_LEN: usize = 8;
/// Length of an ICMPv6 header as OVS reads it (with the 4-byte data word).
pub(crate) const ICMP6_HEADER_LEN: usize = 8;
/// Length of an ARP packet for Ethernet and IPv4.
pub(crate) const ARP_ETH_LEN: usize = 28;

/// ICMPv6 Neighbor Solicitation.
pub(crate) const ND_NEIGHBOR_SOLICIT: u8 = 135;
/// ICMPv6 Neighbor Advertisement.
pub(crate) const ND_NEIGHBOR_ADVERT: u8 = 136;
/// ND option: source link-layer address.
pub(crate) const ND_OPT_SOURCE_LINKADDR: u8 = 1;
/// ND option: target link-layer address.
pub(crate) const ND_OPT_TARGET_LINKADDR: u8 = 2;

/// Reads `N` bytes at `at`, if they are there.
#[inline(always)]
pub(crate) fn arr<const N: usize>(d: &[u8], at: usize) -> Option<[u8; N]> {
    d.get(at..)?.first_chunk::<N>().copied()
}

/// Reads a big-endian `u16` at `at`, if it is there.
#[inline(always)]
pub(crate) fn be16(d: &[u8], at: usize) -> Option<u16> {
    arr::<2>(d, at).map(u16::from_be_bytes)
}

/// Reads a big-endian `u32` at `at`, if it is there.
#[inline(always)]
pub(crate) fn be32(d: &[u8], at: usize) -> Option<u32> {
    arr::<4>(d, at).map(u32::from_be_bytes)
}

/// Whether `t` is a VLAN TPID that OVS parses as a tag (802.1Q or 802.1ad).
#[inline(always)]
pub(crate) fn is_vlan_tpid(t: u16) -> bool {
    t == eth_type::VLAN || t == eth_type::VLAN_8021AD
}

/// Whether `t` is an MPLS ethertype.
#[inline(always)]
pub(crate) fn is_mpls(t: u16) -> bool {
    t == eth_type::MPLS || t == eth_type::MPLS_MCAST
}

/// The header length and total length of the IPv4 header at `l3`, if it passes OVS's
/// sanity checks: at least 20 bytes, IHL >= 5, header and total length within the data,
/// total length >= header length, and at most 64 KiB of L2 padding after it.
#[inline]
pub(crate) fn ipv4_lengths(d: &[u8], l3: usize) -> Option<(usize, usize)> {
    let ip = d.get(l3..)?;
    let ihl_ver = *ip.first()?;
    if ip.len() < IPV4_HEADER_LEN {
        return None;
    }
    let ip_len = usize::from(ihl_ver & 0x0f) * 4;
    if ip_len < IPV4_HEADER_LEN || ip.len() < ip_len {
        return None;
    }
    let tot_len = usize::from(be16(ip, 2)?);
    if tot_len > ip.len() || ip_len > tot_len || ip.len() - tot_len > usize::from(u16::MAX) {
        return None;
    }
    Some((ip_len, tot_len))
}

/// The payload length of the IPv6 header at `l3`, if it passes OVS's sanity checks: a whole
/// fixed header, the payload within the data, at most 64 KiB of L2 padding after it.
#[inline]
pub(crate) fn ipv6_payload_len(d: &[u8], l3: usize) -> Option<usize> {
    let ip = d.get(l3..)?;
    if ip.len() < IPV6_HEADER_LEN {
        return None;
    }
    let plen = usize::from(be16(ip, 4)?);
    let avail = ip.len() - IPV6_HEADER_LEN;
    if plen > avail || avail - plen > usize::from(u16::MAX) {
        return None;
    }
    Some(plen)
}

/// What a walk over IPv6 extension headers found.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Ipv6Exts {
    /// The upper-layer protocol (or the header where the walk stopped; `FRAGMENT` for a later
    /// fragment, as OVS reports it).
    pub proto: u8,
    /// Offset of the upper-layer header in the IPv6 payload.
    pub ofs: usize,
    /// [`frag`] bits.
    pub frag: u8,
    /// Whether a routing header with segments left was seen (then the L4 pseudo header uses
    /// the final destination, not the header's destination).
    pub rh_active: bool,
}

/// Walks the IPv6 extension headers of `payload` (the bytes after the fixed header, bounded
/// by the payload length), starting from next header `nh`. Hop-by-hop, routing, destination
/// options, AH and fragment headers are skipped; anything else (ESP, unknown, upper layers)
/// ends the walk. Returns `None` if a header is truncated, as OVS's
/// `parse_ipv6_ext_hdrs__`.
#[inline]
pub(crate) fn walk_ipv6_exts(payload: &[u8], mut nh: u8) -> Option<Ipv6Exts> {
    let mut ofs = 0usize;
    let mut fr = 0u8;
    let mut rh_active = false;
    loop {
        match nh {
            ip_proto::HOPOPTS | ip_proto::ROUTING | ip_proto::DSTOPTS | ip_proto::AH => {
                // Every extension header is at least 8 bytes; the fields read lie in those.
                let h = arr::<8>(payload, ofs)?;
                let len = if nh == ip_proto::AH {
                    (usize::from(h[1]) + 2) * 4
                } else {
                    (usize::from(h[1]) + 1) * 8
                };
                if nh == ip_proto::ROUTING && h[3] != 0 {
                    rh_active = true;
                }
                if payload.len() - ofs < len {
                    return None;
                }
                nh = h[0];
                ofs += len;
            }
            ip_proto::FRAGMENT => {
                let h = arr::<8>(payload, ofs)?;
                nh = h[0];
                ofs += 8;
                let offlg = u16::from_be_bytes([h[2], h[3]]);
                if offlg != 0 {
                    fr = frag::ANY;
                    if offlg & 0xfff8 != 0 {
                        // A later fragment: no upper-layer header here.
                        return Some(Ipv6Exts {
                            proto: ip_proto::FRAGMENT,
                            ofs,
                            frag: frag::ANY | frag::LATER,
                            rh_active,
                        });
                    }
                }
            }
            _ => {
                return Some(Ipv6Exts {
                    proto: nh,
                    ofs,
                    frag: fr,
                    rh_active,
                });
            }
        }
    }
}

/// Offsets found by parsing, relative to the start of the frame.
#[derive(Clone, Copy)]
struct Offsets {
    l2: usize,
    l3: usize,
    l4: usize,
}

const UNSET: usize = usize::MAX;

#[inline(always)]
fn ofs16(o: usize) -> u16 {
    u16::try_from(o).unwrap_or(OFS_UNSET)
}

/// Extracts the flow key of `pkt` into `key`, overwriting all of it, and sets
/// `pkt.md.l2_ofs`, `l3_ofs` and `l4_ofs` (to [`OFS_UNSET`] for layers not found).
///
/// Metadata (`in_port`, `recirc_id`, `dp_hash`, `skb_priority`, `skb_mark`, `packet_type`)
/// comes from `pkt.md`. An Ethernet frame shorter than 14 bytes gets a key with metadata
/// only. A packet of type `(ns=1, id=ethertype)` (an L3 packet) is parsed from its L3 header.
/// See the module documentation for what is parsed; allocation-free and never panics.
pub fn extract(pkt: &mut Packet, key: &mut FlowKey) {
    *key = FlowKey::zero();
    let md = &pkt.md;
    key.recirc_id = md.recirc_id;
    key.dp_hash = md.dp_hash;
    key.in_port = md.in_port;
    key.skb_priority = md.skb_priority;
    key.skb_mark = md.skb_mark;
    key.packet_type = md.packet_type.0;
    let ofs = parse(pkt.data(), md.packet_type, key);
    let md = &mut pkt.md;
    md.l2_ofs = ofs16(ofs.l2);
    md.l3_ofs = ofs16(ofs.l3);
    md.l4_ofs = ofs16(ofs.l4);
}

#[inline(always)]
fn parse(d: &[u8], pt: netdev::PacketType, key: &mut FlowKey) -> Offsets {
    let mut ofs = Offsets {
        l2: UNSET,
        l3: UNSET,
        l4: UNSET,
    };
    let (dl_type, l3) = if pt == netdev::PacketType::ETHERNET {
        match parse_l2(d, key) {
            Some(x) => x,
            None => return ofs,
        }
    } else if pt.ns() == 1 {
        // OFPHTN_ETHERTYPE: an L3 packet whose type is its ethertype.
        (pt.id(), 0)
    } else {
        return ofs;
    };
    if pt == netdev::PacketType::ETHERNET {
        ofs.l2 = 0;
    }
    key.eth_type = dl_type;

    let mut l3 = l3;
    if is_mpls(dl_type) {
        // Skip the label stack up to the bottom-of-stack bit (or the end of the data).
        while let Some(lse) = be32(d, l3) {
            l3 += 4;
            if lse & 0x100 != 0 {
                break;
            }
        }
        ofs.l3 = l3;
        return ofs;
    }
    ofs.l3 = l3;

    match dl_type {
        eth_type::IPV4 => {
            if let Some(l4) = parse_ipv4(d, l3, key) {
                ofs.l4 = l4;
            }
        }
        eth_type::IPV6 => {
            if let Some(l4) = parse_ipv6(d, l3, key) {
                ofs.l4 = l4;
            }
        }
        eth_type::ARP | eth_type::RARP => parse_arp(d, l3, key),
        _ => {}
    }
    ofs
}

/// Parses the Ethernet header and VLAN tags into `key`; returns the ethertype and the
/// offset of what follows (the L2.5 or L3 header), or `None` for a runt frame.
#[inline(always)]
fn parse_l2(d: &[u8], key: &mut FlowKey) -> Option<(u16, usize)> {
    if d.len() < ETH_HEADER_LEN {
        return None;
    }
    key.eth_dst = arr::<6>(d, 0)?;
    key.eth_src = arr::<6>(d, 6)?;
    let mut p = ETH_TYPE_OFS;
    for v in key.vlans.iter_mut() {
        // A tag counts only if its ethertype after it is there too.
        match (be16(d, p), be16(d, p + 2), d.len() >= p + 6) {
            (Some(tpid), Some(tci), true) if is_vlan_tpid(tpid) => {
                *v = Vlan {
                    tpid,
                    tci: tci | vlan::CFI,
                };
                p += 4;
            }
            _ => break,
        }
    }
    let t = be16(d, p)?;
    p += 2;
    if t >= eth_type::MIN {
        return Some((t, p));
    }
    // 802.3: LLC/SNAP with the Ethernet OUI carries an ethertype; anything else has none.
    match arr::<8>(d, p) {
        Some([0xaa, 0xaa, 0x03, 0, 0, 0, t1, t2]) => {
            let t = u16::from_be_bytes([t1, t2]);
            let t = if t >= eth_type::MIN {
                t
            } else {
                eth_type::NONE
            };
            Some((t, p + 8))
        }
        _ => Some((eth_type::NONE, p)),
    }
}

/// Parses an IPv4 header and what follows; returns the L4 offset if the header is sane.
#[inline(always)]
fn parse_ipv4(d: &[u8], l3: usize, key: &mut FlowKey) -> Option<usize> {
    let (ip_len, tot_len) = ipv4_lengths(d, l3)?;
    let ip = d.get(l3..l3 + tot_len)?;
    let h = ip.first_chunk::<IPV4_HEADER_LEN>()?;
    key.ipv4_src = [h[12], h[13], h[14], h[15]];
    key.ipv4_dst = [h[16], h[17], h[18], h[19]];
    key.nw_tos = h[1];
    key.nw_ttl = h[8];
    key.nw_proto = h[9];
    let frag_off = u16::from_be_bytes([h[6], h[7]]);
    // MF set or a non-zero offset makes a fragment; a non-zero offset a later one.
    if frag_off & 0x3fff != 0 {
        key.nw_frag = frag::ANY;
        if frag_off & 0x1fff != 0 {
            key.nw_frag |= frag::LATER;
        }
    }
    let l4 = ip.get(ip_len..)?;
    if key.nw_frag & frag::LATER == 0 {
        parse_l4(l4, key);
    }
    Some(l3 + ip_len)
}

/// Parses an IPv6 header, its extension headers and what follows; returns the L4 offset if
/// the headers are sane.
#[inline(always)]
fn parse_ipv6(d: &[u8], l3: usize, key: &mut FlowKey) -> Option<usize> {
    let plen = ipv6_payload_len(d, l3)?;
    let h = arr::<IPV6_HEADER_LEN>(d, l3)?;
    key.ipv6_src = h[8..24].try_into().ok()?;
    key.ipv6_dst = h[24..40].try_into().ok()?;
    let payload = d.get(l3 + IPV6_HEADER_LEN..l3 + IPV6_HEADER_LEN + plen)?;
    // A truncated extension header leaves only the addresses in the key, as in OVS.
    let ext = walk_ipv6_exts(payload, h[6])?;
    let tc_flow = u32::from_be_bytes([h[0], h[1], h[2], h[3]]);
    key.ipv6_label = tc_flow & 0x000f_ffff;
    key.nw_tos = (tc_flow >> 20).to_be_bytes()[3];
    key.nw_ttl = h[7];
    key.nw_proto = ext.proto;
    key.nw_frag = ext.frag;
    let l4 = payload.get(ext.ofs..)?;
    if key.nw_frag & frag::LATER == 0 {
        parse_l4(l4, key);
    }
    Some(l3 + IPV6_HEADER_LEN + ext.ofs)
}

/// Parses the L4 header in `l4` (bounded by the end of the IP payload) for `key.nw_proto`.
#[inline(always)]
fn parse_l4(l4: &[u8], key: &mut FlowKey) {
    match key.nw_proto {
        ip_proto::TCP => {
            if let Some(h) = l4.first_chunk::<TCP_HEADER_LEN>() {
                key.tp_src = u16::from_be_bytes([h[0], h[1]]);
                key.tp_dst = u16::from_be_bytes([h[2], h[3]]);
                key.tcp_flags = u16::from_be_bytes([h[12], h[13]]) & 0x0fff;
            }
        }
        ip_proto::UDP => {
            if let Some(h) = l4.first_chunk::<UDP_HEADER_LEN>() {
                key.tp_src = u16::from_be_bytes([h[0], h[1]]);
                key.tp_dst = u16::from_be_bytes([h[2], h[3]]);
            }
        }
        ip_proto::SCTP => {
            if let Some(h) = l4.first_chunk::<SCTP_HEADER_LEN>() {
                key.tp_src = u16::from_be_bytes([h[0], h[1]]);
                key.tp_dst = u16::from_be_bytes([h[2], h[3]]);
            }
        }
        ip_proto::ICMP => {
            if key.eth_type == eth_type::IPV4
                && let Some(h) = l4.first_chunk::<ICMP_HEADER_LEN>()
            {
                key.tp_src = u16::from(h[0]);
                key.tp_dst = u16::from(h[1]);
            }
        }
        ip_proto::ICMPV6 => {
            if key.eth_type == eth_type::IPV6
                && let Some(h) = l4.first_chunk::<ICMP6_HEADER_LEN>()
            {
                key.tp_src = u16::from(h[0]);
                key.tp_dst = u16::from(h[1]);
                if h[1] == 0 && (h[0] == ND_NEIGHBOR_SOLICIT || h[0] == ND_NEIGHBOR_ADVERT) {
                    parse_nd(l4.get(ICMP6_HEADER_LEN..).unwrap_or(&[]), key);
                }
            }
        }
        _ => {}
    }
}

/// Parses a Neighbor Solicitation/Advertisement body (after the 8-byte ICMPv6 header): the
/// target address, then the first source and target link-layer address options. A second
/// option of the same kind makes the message invalid: then target and addresses are zero,
/// as in OVS. A zero-length or overlong option ends the walk, keeping what was found.
#[inline]
fn parse_nd(body: &[u8], key: &mut FlowKey) {
    let Some(target) = arr::<16>(body, 0) else {
        return;
    };
    let mut sll = [0u8; 6];
    let mut tll = [0u8; 6];
    let mut opts = body.get(16..).unwrap_or(&[]);
    while let Some(o) = opts.first_chunk::<8>() {
        let len = usize::from(o[1]) * 8;
        if len == 0 || len > opts.len() {
            break;
        }
        if len == 8 && (o[0] == ND_OPT_SOURCE_LINKADDR || o[0] == ND_OPT_TARGET_LINKADDR) {
            let slot = if o[0] == ND_OPT_SOURCE_LINKADDR {
                &mut sll
            } else {
                &mut tll
            };
            if *slot != [0; 6] {
                // The same option twice: invalid, keep nothing.
                return;
            }
            slot.copy_from_slice(&o[2..8]);
        }
        opts = opts.get(len..).unwrap_or(&[]);
    }
    key.nd_target = target;
    key.arp_sha = sll;
    key.arp_tha = tll;
}

/// Parses an ARP/RARP packet for Ethernet and IPv4 (anything else leaves the L3 fields
/// zero). The opcode goes into `nw_proto` when it fits in 8 bits, as in OVS.
#[inline]
fn parse_arp(d: &[u8], l3: usize, key: &mut FlowKey) {
    let Some(a) = arr::<ARP_ETH_LEN>(d, l3) else {
        return;
    };
    // hrd = 1 (Ethernet), pro = 0x0800, hln = 6, pln = 4.
    if a[..6] != [0, 1, 0x08, 0x00, 6, 4] {
        return;
    }
    key.ipv4_src = [a[14], a[15], a[16], a[17]];
    key.ipv4_dst = [a[24], a[25], a[26], a[27]];
    let op = u16::from_be_bytes([a[6], a[7]]);
    if let Ok(op) = u8::try_from(op) {
        key.nw_proto = op;
    }
    key.arp_sha = [a[8], a[9], a[10], a[11], a[12], a[13]];
    key.arp_tha = [a[18], a[19], a[20], a[21], a[22], a[23]];
}

/// Folds a 64-bit hash to 32 bits.
#[inline(always)]
fn fold32(h: u64) -> u32 {
    let b = h.to_le_bytes();
    u32::from_le_bytes([b[0], b[1], b[2], b[3]]) ^ u32::from_le_bytes([b[4], b[5], b[6], b[7]])
}

#[inline(always)]
fn addr_words(key: &FlowKey) -> ([u64; 2], [u64; 2]) {
    if key.eth_type == eth_type::IPV6 {
        let w = |a: &[u8; 16]| {
            let (hi, lo) = a.split_at(8);
            [
                u64::from_ne_bytes(hi.try_into().unwrap_or([0; 8])),
                u64::from_ne_bytes(lo.try_into().unwrap_or([0; 8])),
            ]
        };
        (w(&key.ipv6_src), w(&key.ipv6_dst))
    } else {
        (
            [u64::from(u32::from_ne_bytes(key.ipv4_src)), 0],
            [u64::from(u32::from_ne_bytes(key.ipv4_dst)), 0],
        )
    }
}

/// A hash of the key's 5-tuple: IPv6 addresses for IPv6 (IPv4 addresses otherwise, which
/// are ARP's sender and target for ARP), the IP protocol and the L4 ports, with a `basis`.
/// OVS's `flow_hash_5tuple`; the values differ from OVS's, not the inputs. Packets of one
/// direction of a connection hash alike; see [`hash_5tuple_symmetric`] for both directions.
#[inline]
pub fn hash_5tuple(key: &FlowKey, basis: u32) -> u32 {
    let (src, dst) = addr_words(key);
    let mut h = u64::from(basis);
    h = hash::mix(h, src[0]);
    h = hash::mix(h, src[1]);
    h = hash::mix(h, dst[0]);
    h = hash::mix(h, dst[1]);
    let l4 =
        u64::from(key.nw_proto) | (u64::from(key.tp_src) << 16) | (u64::from(key.tp_dst) << 32);
    h = hash::mix(h, l4);
    fold32(hash::finish(h))
}

/// Like [`hash_5tuple`], but the same for both directions of a connection: source and
/// destination addresses, and ports, are taken in sorted order (OVS's `OVS_HASH_ALG_SYM_L4`).
#[inline]
pub fn hash_5tuple_symmetric(key: &FlowKey, basis: u32) -> u32 {
    let (src, dst) = addr_words(key);
    let (a, b) = if src <= dst { (src, dst) } else { (dst, src) };
    let (pa, pb) = if key.tp_src <= key.tp_dst {
        (key.tp_src, key.tp_dst)
    } else {
        (key.tp_dst, key.tp_src)
    };
    let mut h = u64::from(basis) ^ 0x5a5a_5a5a_0000_0000;
    h = hash::mix(h, a[0]);
    h = hash::mix(h, a[1]);
    h = hash::mix(h, b[0]);
    h = hash::mix(h, b[1]);
    let l4 = u64::from(key.nw_proto) | (u64::from(pa) << 16) | (u64::from(pb) << 32);
    h = hash::mix(h, l4);
    fold32(hash::finish(h))
}

#[cfg(test)]
#[allow(clippy::cast_possible_truncation)] // Test packets are far below 64 KiB.
#[path = "extract_tests.rs"]
pub(crate) mod tests;
