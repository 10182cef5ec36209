//! Tests of [`extract`]: hand-built frames per protocol, a cross-check against etherparse on
//! random valid packets, and "never panics" on arbitrary and truncated bytes.

use super::*;
use crate::odp::csum;
use crate::odp::key::tcp_flags;
use netdev::{PacketMeta, PacketType};
use proptest::prelude::*;

const MAC_A: [u8; 6] = [0x00, 0x11, 0x22, 0x33, 0x44, 0x55];
const MAC_B: [u8; 6] = [0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb];
const IP_A: [u8; 4] = [10, 0, 0, 1];
const IP_B: [u8; 4] = [192, 168, 7, 254];
const IP6_A: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
const IP6_B: [u8; 16] = [
    0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x02, 0x11, 0x22, 0xff, 0xfe, 0x33, 0, 2,
];

/// Ethernet header: dst, src, then each `(tpid, tci)` tag, then the ethertype.
pub(crate) fn eth(tags: &[(u16, u16)], ethertype: u16) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&MAC_B); // dst
    v.extend_from_slice(&MAC_A); // src
    for (tpid, tci) in tags {
        v.extend_from_slice(&tpid.to_be_bytes());
        v.extend_from_slice(&tci.to_be_bytes());
    }
    v.extend_from_slice(&ethertype.to_be_bytes());
    v
}

/// An IPv4 header with a correct checksum. `frag` is the flags+offset word.
pub(crate) fn ipv4(proto: u8, payload_len: usize, frag: u16, options: &[u8]) -> Vec<u8> {
    let hl = 20 + options.len();
    let tot = (hl + payload_len) as u16;
    let mut v = vec![
        0x40 | (hl / 4) as u8, // version 4, IHL
        0xb8,                  // tos: DSCP 46, ECN 0
    ];
    v.extend_from_slice(&tot.to_be_bytes()); // total length
    v.extend_from_slice(&[0x12, 0x34]); // id
    v.extend_from_slice(&frag.to_be_bytes()); // flags, fragment offset
    v.extend_from_slice(&[64, proto, 0, 0]); // ttl, protocol, checksum
    v.extend_from_slice(&IP_A);
    v.extend_from_slice(&IP_B);
    v.extend_from_slice(options);
    let c = csum::checksum(&v);
    v[10..12].copy_from_slice(&c.to_be_bytes());
    v
}

/// An IPv6 header: tclass 0x2a, label 0x12345, hop limit 33.
pub(crate) fn ipv6(nh: u8, plen: usize) -> Vec<u8> {
    let mut v = vec![0x62, 0xa1, 0x23, 0x45]; // version 6, tclass 0x2a, label 0x12345
    v.extend_from_slice(&(plen as u16).to_be_bytes());
    v.extend_from_slice(&[nh, 33]);
    v.extend_from_slice(&IP6_A);
    v.extend_from_slice(&IP6_B);
    v
}

/// A 20-byte TCP header with `flags` and a zero checksum.
pub(crate) fn tcp(sp: u16, dp: u16, flags: u16) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&sp.to_be_bytes());
    v.extend_from_slice(&dp.to_be_bytes());
    v.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0]); // seq, ack
    v.extend_from_slice(&(0x5000 | flags).to_be_bytes()); // data offset 5, flags
    v.extend_from_slice(&[0xff, 0xff, 0, 0, 0, 0]); // window, checksum, urgent
    v
}

/// An 8-byte UDP header.
pub(crate) fn udp(sp: u16, dp: u16, len: usize) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&sp.to_be_bytes());
    v.extend_from_slice(&dp.to_be_bytes());
    v.extend_from_slice(&(len as u16).to_be_bytes());
    v.extend_from_slice(&[0, 0]);
    v
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

fn key_of(bytes: &[u8]) -> (FlowKey, PacketMeta) {
    let mut p = Packet::from_slice(bytes);
    p.md.in_port = 7;
    let mut k = FlowKey::exact_mask(); // garbage that extract must overwrite
    extract(&mut p, &mut k);
    (k, p.md)
}

fn tcp4_frame() -> Vec<u8> {
    let t = tcp(12345, 80, tcp_flags::SYN | tcp_flags::ACK);
    cat(&[&eth(&[], 0x0800), &ipv4(6, t.len(), 0, &[]), &t])
}

#[test]
fn runt_frame_has_metadata_only() {
    let mut p = Packet::from_slice(&[0xff; 13]);
    p.md.in_port = 3;
    p.md.recirc_id = 4;
    p.md.dp_hash = 5;
    p.md.skb_priority = 6;
    p.md.skb_mark = 7;
    let mut k = FlowKey::exact_mask();
    extract(&mut p, &mut k);
    let mut want = FlowKey::zero();
    (want.in_port, want.recirc_id, want.dp_hash) = (3, 4, 5);
    (want.skb_priority, want.skb_mark) = (6, 7);
    assert_eq!(k, want);
    assert_eq!(
        (p.md.l2_ofs, p.md.l3_ofs, p.md.l4_ofs),
        (OFS_UNSET, OFS_UNSET, OFS_UNSET)
    );
}

#[test]
fn tcp_ipv4() {
    let (k, md) = key_of(&tcp4_frame());
    assert_eq!(k.in_port, 7);
    assert_eq!((k.eth_src, k.eth_dst), (MAC_A, MAC_B));
    assert_eq!(k.vlans, [Vlan::default(); 2]);
    assert_eq!(k.eth_type, 0x0800);
    assert_eq!((k.ipv4_src, k.ipv4_dst), (IP_A, IP_B));
    assert_eq!(
        (k.nw_proto, k.nw_tos, k.nw_ttl, k.nw_frag),
        (6, 0xb8, 64, 0)
    );
    assert_eq!((k.tp_src, k.tp_dst), (12345, 80));
    assert_eq!(k.tcp_flags, tcp_flags::SYN | tcp_flags::ACK);
    assert_eq!((md.l2_ofs, md.l3_ofs, md.l4_ofs), (0, 14, 34));
}

#[test]
fn ethernet_only_frame() {
    let (k, md) = key_of(&eth(&[], 0x88cc)); // LLDP, nothing after
    assert_eq!(k.eth_type, 0x88cc);
    assert_eq!((md.l2_ofs, md.l3_ofs, md.l4_ofs), (0, 14, OFS_UNSET));
}

#[test]
fn ieee_802_3_frames() {
    // LLC/SNAP with the Ethernet OUI: the SNAP ethertype, L3 after the 8 LLC/SNAP bytes.
    let snap = cat(&[
        &eth(&[], 46),
        &[0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00],
        &ipv4(17, 8, 0, &[]),
        &udp(1, 2, 8),
    ]);
    let (k, md) = key_of(&snap);
    assert_eq!(k.eth_type, 0x0800);
    assert_eq!(md.l3_ofs, 22);
    assert_eq!((k.tp_src, k.tp_dst), (1, 2));

    // SNAP with a length in the type field: no ethertype.
    let (k, md) = key_of(&cat(&[
        &eth(&[], 46),
        &[0xaa, 0xaa, 0x03, 0, 0, 0, 0x00, 0x10],
    ]));
    assert_eq!((k.eth_type, md.l3_ofs), (eth_type::NONE, 22));

    // Plain 802.3 (STP's LLC): no ethertype, L3 right after the length.
    let (k, md) = key_of(&cat(&[&eth(&[], 38), &[0x42, 0x42, 0x03, 0, 0, 0, 0, 0]]));
    assert_eq!((k.eth_type, md.l3_ofs), (eth_type::NONE, 14));

    // 802.3 too short for LLC/SNAP.
    let (k, _) = key_of(&cat(&[&eth(&[], 3), &[0xaa, 0xaa, 0x03]]));
    assert_eq!(k.eth_type, eth_type::NONE);
}

#[test]
fn vlan_tags() {
    let u = udp(5, 6, 8);
    let ip = ipv4(17, 8, 0, &[]);
    // One 802.1Q tag, PCP 5, VID 100.
    let (k, md) = key_of(&cat(&[&eth(&[(0x8100, 0xa064)], 0x0800), &ip, &u]));
    assert_eq!(
        k.vlans[0],
        Vlan {
            tpid: 0x8100,
            tci: 0xa064 | vlan::CFI
        }
    );
    assert!(!k.vlans[1].present());
    assert_eq!((k.eth_type, md.l3_ofs, md.l4_ofs), (0x0800, 18, 38));
    assert_eq!(k.tp_dst, 6);

    // 802.1ad outer + 802.1Q inner; the DEI bit on the wire is kept.
    let (k, md) = key_of(&cat(&[
        &eth(&[(0x88a8, 0x1005), (0x8100, 0x0007)], 0x0800),
        &ip,
        &u,
    ]));
    assert_eq!(
        k.vlans[0],
        Vlan {
            tpid: 0x88a8,
            tci: 0x1005
        }
    );
    assert_eq!(
        k.vlans[1],
        Vlan {
            tpid: 0x8100,
            tci: 0x1007
        }
    );
    assert_eq!((k.eth_type, md.l3_ofs), (0x0800, 22));
    assert_eq!(k.ipv4_dst, IP_B);

    // A third tag stays in the payload: its TPID is the ethertype.
    let (k, md) = key_of(&cat(&[
        &eth(&[(0x88a8, 1), (0x8100, 2), (0x8100, 3)], 0x0800),
        &ip,
    ]));
    assert!(k.vlans[1].present());
    assert_eq!((k.eth_type, md.l3_ofs), (0x8100, 22));
    assert_eq!(k.ipv4_src, [0; 4]);

    // A tag without room for the ethertype after it is not a tag.
    let mut f = eth(&[], 0x8100);
    f.extend_from_slice(&[0x00, 0x05, 0x08]);
    let (k, md) = key_of(&f);
    assert!(!k.vlans[0].present());
    assert_eq!((k.eth_type, md.l3_ofs), (0x8100, 14));

    // Exactly a tag and its ethertype.
    let (k, _) = key_of(&eth(&[(0x8100, 9)], 0x86dd));
    assert_eq!(k.vlans[0].vid(), 9);
    assert_eq!(k.eth_type, 0x86dd);
    assert_eq!(k.ipv6_src, [0; 16]);
}

#[test]
fn mpls_stack() {
    // Two labels, bottom of stack on the second; IPv4 after it is not parsed.
    let f = cat(&[
        &eth(&[], 0x8847),
        &[0x00, 0x01, 0x40, 0x40, 0x00, 0x02, 0x41, 0x40],
        &ipv4(17, 8, 0, &[]),
        &udp(1, 2, 8),
    ]);
    let (k, md) = key_of(&f);
    assert_eq!(k.eth_type, 0x8847);
    assert_eq!(k.ipv4_src, [0; 4]);
    assert_eq!((md.l3_ofs, md.l4_ofs), (22, OFS_UNSET));
}

#[test]
fn ipv4_options_and_sanity() {
    // IHL 6 with 4 bytes of options: L4 at 14 + 24.
    let u = udp(53, 5353, 8);
    let (k, md) = key_of(&cat(&[
        &eth(&[], 0x0800),
        &ipv4(17, 8, 0, &[1, 1, 1, 0]),
        &u,
    ]));
    assert_eq!(md.l4_ofs, 38);
    assert_eq!((k.tp_src, k.tp_dst), (53, 5353));

    // Total length larger than the data: no L3 fields at all.
    let mut ip = ipv4(17, 8, 0, &[]);
    ip[2..4].copy_from_slice(&100u16.to_be_bytes());
    let (k, md) = key_of(&cat(&[&eth(&[], 0x0800), &ip, &u]));
    assert_eq!((k.eth_type, k.ipv4_src, k.nw_proto), (0x0800, [0; 4], 0));
    assert_eq!((md.l3_ofs, md.l4_ofs), (14, OFS_UNSET));

    // IHL below 5.
    let mut ip = ipv4(17, 8, 0, &[]);
    ip[0] = 0x44;
    let (k, _) = key_of(&cat(&[&eth(&[], 0x0800), &ip, &u]));
    assert_eq!(k.ipv4_src, [0; 4]);

    // Total length shorter than the header.
    let mut ip = ipv4(17, 8, 0, &[]);
    ip[2..4].copy_from_slice(&19u16.to_be_bytes());
    let (k, _) = key_of(&cat(&[&eth(&[], 0x0800), &ip, &u]));
    assert_eq!(k.ipv4_src, [0; 4]);

    // Truncated header.
    let (k, md) = key_of(&cat(&[&eth(&[], 0x0800), &ipv4(17, 8, 0, &[])[..19]]));
    assert_eq!((k.ipv4_src, md.l3_ofs), ([0; 4], 14));

    // Ethernet padding after the datagram is not parsed as L4: the total length says the
    // UDP header is cut short, so there are no ports even though padding bytes follow.
    let mut ip = ipv4(17, 4, 0, &[]);
    ip[2..4].copy_from_slice(&24u16.to_be_bytes());
    let (k, md) = key_of(&cat(&[&eth(&[], 0x0800), &ip, &u]));
    assert_eq!((k.nw_proto, k.tp_src, k.tp_dst), (17, 0, 0));
    assert_eq!(md.l4_ofs, 34);

    // A header that fits but a TCP header that does not: L3 only.
    let t = tcp(1, 2, 0);
    let (k, _) = key_of(&cat(&[&eth(&[], 0x0800), &ipv4(6, 19, 0, &[]), &t[..19]]));
    assert_eq!((k.nw_proto, k.tp_src, k.tcp_flags), (6, 0, 0));
}

#[test]
fn ipv4_fragments() {
    let u = udp(1000, 2000, 16);
    // First fragment (MF, offset 0): a fragment, L4 parsed.
    let (k, _) = key_of(&cat(&[&eth(&[], 0x0800), &ipv4(17, 8, 0x2000, &[]), &u]));
    assert_eq!(k.nw_frag, frag::ANY);
    assert_eq!((k.tp_src, k.tp_dst), (1000, 2000));
    // Later fragment (offset 1, i.e. 8 bytes): no L4 fields, L4 offset still set.
    let (k, md) = key_of(&cat(&[&eth(&[], 0x0800), &ipv4(17, 8, 0x0001, &[]), &u]));
    assert_eq!(k.nw_frag, frag::ANY | frag::LATER);
    assert_eq!((k.nw_proto, k.tp_src, k.tp_dst), (17, 0, 0));
    assert_eq!(md.l4_ofs, 34);
    // Last fragment (no MF, offset set).
    let (k, _) = key_of(&cat(&[&eth(&[], 0x0800), &ipv4(17, 8, 0x00b9, &[]), &u]));
    assert_eq!(k.nw_frag, frag::ANY | frag::LATER);
    // DF alone is not a fragment.
    let (k, _) = key_of(&cat(&[&eth(&[], 0x0800), &ipv4(17, 8, 0x4000, &[]), &u]));
    assert_eq!(k.nw_frag, 0);
}

#[test]
fn other_l4_protocols_over_ipv4() {
    // SCTP: 12-byte common header.
    let sctp = [0x0b, 0xb8, 0x0f, 0xa0, 0, 0, 0, 1, 0, 0, 0, 0];
    let (k, _) = key_of(&cat(&[&eth(&[], 0x0800), &ipv4(132, 12, 0, &[]), &sctp]));
    assert_eq!((k.nw_proto, k.tp_src, k.tp_dst), (132, 3000, 4000));
    // SCTP cut short.
    let (k, _) = key_of(&cat(&[
        &eth(&[], 0x0800),
        &ipv4(132, 11, 0, &[]),
        &sctp[..11],
    ]));
    assert_eq!((k.tp_src, k.tp_dst), (0, 0));
    // ICMP echo request: type 8, code 0.
    let icmp = [8, 0, 0xf7, 0xff, 0, 0, 0, 0];
    let (k, _) = key_of(&cat(&[&eth(&[], 0x0800), &ipv4(1, 8, 0, &[]), &icmp]));
    assert_eq!((k.nw_proto, k.tp_src, k.tp_dst), (1, 8, 0));
    // ICMP needs its 8 bytes.
    let (k, _) = key_of(&cat(&[&eth(&[], 0x0800), &ipv4(1, 4, 0, &[]), &icmp[..4]]));
    assert_eq!((k.tp_src, k.tp_dst), (0, 0));
    // GRE: protocol only.
    let (k, md) = key_of(&cat(&[
        &eth(&[], 0x0800),
        &ipv4(47, 4, 0, &[]),
        &[0, 0, 0x65, 0x58],
    ]));
    assert_eq!((k.nw_proto, k.tp_src, md.l4_ofs), (47, 0, 34));
}

/// A generic 8-byte extension header (hop-by-hop, routing, destination options).
fn ext8(nh: u8, b2: u8, b3: u8) -> Vec<u8> {
    vec![nh, 0, b2, b3, 1, 2, 0, 0]
}

#[test]
fn ipv6_tcp() {
    let t = tcp(443, 50000, tcp_flags::FIN | tcp_flags::PSH);
    let (k, md) = key_of(&cat(&[&eth(&[], 0x86dd), &ipv6(6, t.len()), &t]));
    assert_eq!((k.ipv6_src, k.ipv6_dst), (IP6_A, IP6_B));
    assert_eq!((k.ipv6_label, k.nw_tos, k.nw_ttl), (0x12345, 0x2a, 33));
    assert_eq!((k.nw_proto, k.nw_frag), (6, 0));
    assert_eq!((k.tp_src, k.tp_dst), (443, 50000));
    assert_eq!(k.tcp_flags, tcp_flags::FIN | tcp_flags::PSH);
    assert_eq!((md.l3_ofs, md.l4_ofs), (14, 54));
}

#[test]
fn ipv6_extension_headers() {
    // hop-by-hop -> routing (16 bytes, segments left 0) -> dst opts -> fragment (first,
    // M set) -> AH (12 bytes: len field 1) -> UDP.
    let u = udp(7, 9, 8);
    let mut rh = ext8(60, 4, 0);
    rh[1] = 1; // (1 + 1) * 8 = 16 bytes
    rh.extend_from_slice(&[0; 8]);
    let frag_first = [51, 0, 0x00, 0x01, 0, 0, 0, 42];
    let ah = [17, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2];
    let exts = cat(&[&ext8(43, 0, 0), &rh, &ext8(44, 0, 0), &frag_first, &ah]);
    let f = cat(&[&eth(&[], 0x86dd), &ipv6(0, exts.len() + u.len()), &exts, &u]);
    let (k, md) = key_of(&f);
    assert_eq!((k.nw_proto, k.nw_frag), (17, frag::ANY));
    assert_eq!((k.tp_src, k.tp_dst), (7, 9));
    assert_eq!(usize::from(md.l4_ofs), 14 + 40 + exts.len());

    // A later fragment: protocol reads "fragment", no L4.
    let frag_later = [17, 0, 0x00, 0x08, 0, 0, 0, 42];
    let f = cat(&[&eth(&[], 0x86dd), &ipv6(44, 16), &frag_later, &u]);
    let (k, md) = key_of(&f);
    assert_eq!((k.nw_proto, k.nw_frag), (44, frag::ANY | frag::LATER));
    assert_eq!((k.tp_src, k.ipv6_label), (0, 0x12345));
    assert_eq!(md.l4_ofs, 14 + 48);

    // An atomic fragment (offset 0, no M) is not a fragment.
    let frag_atomic = [17, 0, 0, 0, 0, 0, 0, 42];
    let (k, _) = key_of(&cat(&[&eth(&[], 0x86dd), &ipv6(44, 16), &frag_atomic, &u]));
    assert_eq!((k.nw_proto, k.nw_frag, k.tp_src), (17, 0, 7));

    // ESP ends the walk.
    let (k, md) = key_of(&cat(&[
        &eth(&[], 0x86dd),
        &ipv6(0, 16),
        &ext8(50, 0, 0),
        &[0; 8],
    ]));
    assert_eq!((k.nw_proto, md.l4_ofs), (50, 62));

    // A truncated extension header: addresses only, as OVS.
    let (k, md) = key_of(&cat(&[&eth(&[], 0x86dd), &ipv6(0, 6), &[6, 0, 0, 0, 0, 0]]));
    assert_eq!(k.ipv6_src, IP6_A);
    assert_eq!((k.nw_proto, k.nw_ttl, k.ipv6_label), (0, 0, 0));
    assert_eq!((md.l3_ofs, md.l4_ofs), (14, OFS_UNSET));

    // An extension header longer than the payload.
    let mut big = ext8(6, 0, 0);
    big[1] = 3;
    let (k, _) = key_of(&cat(&[&eth(&[], 0x86dd), &ipv6(0, 8), &big]));
    assert_eq!(k.nw_proto, 0);

    // Payload length beyond the data: nothing from L3.
    let (k, md) = key_of(&cat(&[&eth(&[], 0x86dd), &ipv6(17, 9), &u]));
    assert_eq!((k.ipv6_src, md.l4_ofs), ([0; 16], OFS_UNSET));
}

/// An ICMPv6 ND message: type, the target, then options.
fn nd(ty: u8, code: u8, opts: &[u8]) -> Vec<u8> {
    let mut v = vec![ty, code, 0, 0, 0x60, 0, 0, 0];
    v.extend_from_slice(&IP6_B);
    v.extend_from_slice(opts);
    v
}

fn nd_key(msg: &[u8]) -> FlowKey {
    key_of(&cat(&[&eth(&[], 0x86dd), &ipv6(58, msg.len()), msg])).0
}

#[test]
fn icmpv6_and_neighbor_discovery() {
    // Echo request: type/code only.
    let k = nd_key(&[128, 0, 0, 0, 0, 1, 0, 1]);
    assert_eq!((k.nw_proto, k.tp_src, k.tp_dst), (58, 128, 0));
    assert_eq!(k.nd_target, [0; 16]);
    // Less than 8 bytes of ICMPv6: nothing.
    let k = nd_key(&[128, 0, 0, 0]);
    assert_eq!((k.nw_proto, k.tp_src), (58, 0));

    let sll = [1, 1, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0x01];
    let tll = [2, 1, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0x02];
    // NS with SLL.
    let k = nd_key(&nd(135, 0, &sll));
    assert_eq!((k.tp_src, k.tp_dst), (135, 0));
    assert_eq!(k.nd_target, IP6_B);
    assert_eq!(k.arp_sha, [0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0x01]);
    assert_eq!(k.arp_tha, [0; 6]);
    // NA with an unknown option (skipped) then TLL.
    let k = nd_key(&nd(136, 0, &cat(&[&[14, 1, 0, 0, 0, 0, 0, 0], &tll])));
    assert_eq!(k.nd_target, IP6_B);
    assert_eq!((k.arp_sha, k.arp_tha[5]), ([0; 6], 0x02));
    // Both options.
    let k = nd_key(&nd(135, 0, &cat(&[&sll, &tll])));
    assert_eq!((k.arp_sha[5], k.arp_tha[5]), (0x01, 0x02));
    // Duplicate SLL: invalid, target and addresses all zero.
    let k = nd_key(&nd(135, 0, &cat(&[&sll, &sll])));
    assert_eq!((k.nd_target, k.arp_sha), ([0; 16], [0; 6]));
    assert_eq!(k.tp_src, 135);
    // A zero-length option ends the walk; what was found stays.
    let k = nd_key(&nd(135, 0, &cat(&[&sll, &[2, 0, 0, 0, 0, 0, 0, 0], &tll])));
    assert_eq!((k.arp_sha[5], k.arp_tha), (0x01, [0; 6]));
    // An option longer than the message ends the walk.
    let k = nd_key(&nd(135, 0, &[1, 2, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0x01]));
    assert_eq!((k.nd_target, k.arp_sha), (IP6_B, [0; 6]));
    // An SLL option of 16 bytes is not an Ethernet address: skipped.
    let k = nd_key(&nd(
        135,
        0,
        &[1, 2, 9, 9, 9, 9, 9, 9, 0, 0, 0, 0, 0, 0, 0, 0],
    ));
    assert_eq!(k.arp_sha, [0; 6]);
    // No room for the target: type and code only.
    let k = nd_key(&nd(135, 0, &[])[..20]);
    assert_eq!((k.tp_src, k.nd_target), (135, [0; 16]));
    // Non-zero code: not ND.
    let k = nd_key(&nd(135, 1, &sll));
    assert_eq!((k.tp_dst, k.nd_target), (1, [0; 16]));
}

fn arp(htype: u16, op: u16) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&htype.to_be_bytes());
    v.extend_from_slice(&[0x08, 0x00, 6, 4]);
    v.extend_from_slice(&op.to_be_bytes());
    v.extend_from_slice(&MAC_A); // sha
    v.extend_from_slice(&IP_A); // spa
    v.extend_from_slice(&[0; 6]); // tha
    v.extend_from_slice(&IP_B); // tpa
    v
}

#[test]
fn arp_and_rarp() {
    let (k, md) = key_of(&cat(&[&eth(&[], 0x0806), &arp(1, 1)]));
    assert_eq!(k.eth_type, 0x0806);
    assert_eq!(k.nw_proto, 1);
    assert_eq!((k.ipv4_src, k.ipv4_dst), (IP_A, IP_B));
    assert_eq!((k.arp_sha, k.arp_tha), (MAC_A, [0; 6]));
    assert_eq!((md.l3_ofs, md.l4_ofs), (14, OFS_UNSET));

    let (k, _) = key_of(&cat(&[&eth(&[], 0x8035), &arp(1, 3)]));
    assert_eq!((k.eth_type, k.nw_proto, k.ipv4_src), (0x8035, 3, IP_A));

    // An opcode above 255 is not kept; the addresses are.
    let (k, _) = key_of(&cat(&[&eth(&[], 0x0806), &arp(1, 0x0101)]));
    assert_eq!((k.nw_proto, k.ipv4_src), (0, IP_A));

    // Not Ethernet hardware: no ARP fields.
    let (k, _) = key_of(&cat(&[&eth(&[], 0x0806), &arp(6, 1)]));
    assert_eq!((k.nw_proto, k.ipv4_src, k.arp_sha), (0, [0; 4], [0; 6]));

    // Truncated.
    let (k, _) = key_of(&cat(&[&eth(&[], 0x0806), &arp(1, 1)[..27]]));
    assert_eq!(k.ipv4_src, [0; 4]);
}

#[test]
fn l3_packet_type() {
    let t = tcp(1, 2, 0);
    let mut p = Packet::from_slice(&cat(&[&ipv4(6, 20, 0, &[]), &t]));
    p.md.packet_type = PacketType::new(1, 0x0800);
    let mut k = FlowKey::zero();
    extract(&mut p, &mut k);
    assert_eq!(k.packet_type, 0x0001_0800);
    assert_eq!((k.eth_type, k.ipv4_src, k.tp_dst), (0x0800, IP_A, 2));
    assert_eq!((p.md.l2_ofs, p.md.l3_ofs, p.md.l4_ofs), (OFS_UNSET, 0, 20));

    // An unknown packet type namespace: metadata only.
    p.md.packet_type = PacketType::new(7, 1);
    extract(&mut p, &mut k);
    assert_eq!(k.eth_type, 0);
}

#[test]
fn hashes() {
    let (k, _) = key_of(&tcp4_frame());
    let mut r = k;
    std::mem::swap(&mut r.ipv4_src, &mut r.ipv4_dst);
    std::mem::swap(&mut r.tp_src, &mut r.tp_dst);
    assert_eq!(hash_5tuple_symmetric(&k, 1), hash_5tuple_symmetric(&r, 1));
    assert_ne!(hash_5tuple(&k, 1), hash_5tuple(&r, 1));
    assert_ne!(hash_5tuple(&k, 1), hash_5tuple(&k, 2));
    // Fields outside the 5-tuple do not matter.
    let mut m = k;
    m.in_port = 99;
    m.eth_src = [9; 6];
    m.nw_ttl = 1;
    assert_eq!(hash_5tuple(&k, 0), hash_5tuple(&m, 0));
    m.tp_dst = 81;
    assert_ne!(hash_5tuple(&k, 0), hash_5tuple(&m, 0));
}

// ---------------------------------------------------------------------------------------
// Cross-check against etherparse.

#[derive(Debug, Clone)]
enum NetGen {
    V4 {
        src: [u8; 4],
        dst: [u8; 4],
        dscp: u8,
        ecn: u8,
        ttl: u8,
        df: bool,
        mf: bool,
        frag_off: u16,
        options: usize,
    },
    V6 {
        src: [u8; 16],
        dst: [u8; 16],
        tclass: u8,
        label: u32,
        hlim: u8,
        hop: bool,
        dst_opts: bool,
        routing: Option<u8>,
        frag: Option<(u16, bool)>,
        auth: bool,
    },
}

#[derive(Debug, Clone)]
enum L4Gen {
    Tcp { sp: u16, dp: u16, flags: u16 },
    Udp { sp: u16, dp: u16 },
    Icmp { ty: u8, code: u8 },
    Other(u8),
}

#[derive(Debug, Clone)]
struct Gen {
    src: [u8; 6],
    dst: [u8; 6],
    vlans: Vec<(bool, u16, u8, bool)>,
    net: NetGen,
    l4: L4Gen,
    payload: Vec<u8>,
}

fn frag_off_strategy() -> impl Strategy<Value = u16> {
    prop_oneof![4 => Just(0u16), 1 => 1u16..4, 1 => 0u16..8192]
}

fn net_strategy() -> impl Strategy<Value = NetGen> {
    let v4 = (
        any::<[u8; 4]>(),
        any::<[u8; 4]>(),
        0u8..64,
        0u8..4,
        any::<u8>(),
        any::<bool>(),
        prop::bool::weighted(0.2),
        frag_off_strategy(),
        0usize..=10,
    )
        .prop_map(
            |(src, dst, dscp, ecn, ttl, df, mf, frag_off, options)| NetGen::V4 {
                src,
                dst,
                dscp,
                ecn,
                ttl,
                df,
                mf,
                frag_off,
                options,
            },
        );
    let v6 = (
        any::<[u8; 16]>(),
        any::<[u8; 16]>(),
        any::<u8>(),
        0u32..(1 << 20),
        any::<u8>(),
        any::<bool>(),
        any::<bool>(),
        prop::option::of(any::<u8>()),
        prop::option::weighted(0.3, (frag_off_strategy(), any::<bool>())),
        any::<bool>(),
    )
        .prop_map(
            |(src, dst, tclass, label, hlim, hop, dst_opts, routing, frag, auth)| NetGen::V6 {
                src,
                dst,
                tclass,
                label,
                hlim,
                hop,
                dst_opts,
                routing,
                frag,
                auth,
            },
        );
    prop_oneof![v4, v6]
}

fn l4_strategy() -> impl Strategy<Value = L4Gen> {
    prop_oneof![
        (any::<u16>(), any::<u16>(), 0u16..0x200).prop_map(|(sp, dp, flags)| L4Gen::Tcp {
            sp,
            dp,
            flags
        }),
        (any::<u16>(), any::<u16>()).prop_map(|(sp, dp)| L4Gen::Udp { sp, dp }),
        (any::<u8>(), any::<u8>()).prop_map(|(ty, code)| L4Gen::Icmp { ty, code }),
        prop::sample::select(vec![4u8, 41, 47, 50, 59, 89, 103, 112, 115, 136, 255])
            .prop_map(L4Gen::Other),
    ]
}

fn gen_strategy() -> impl Strategy<Value = Gen> {
    (
        any::<[u8; 6]>(),
        any::<[u8; 6]>(),
        prop::collection::vec((any::<bool>(), 0u16..4096, 0u8..8, any::<bool>()), 0..=2),
        net_strategy(),
        l4_strategy(),
        prop::collection::vec(any::<u8>(), 0..64),
    )
        .prop_map(|(src, dst, vlans, net, l4, payload)| Gen {
            src,
            dst,
            vlans,
            net,
            l4,
            payload,
        })
}

/// Builds the frame: our own Ethernet and VLAN bytes, etherparse's builder from IP on.
fn build(g: &Gen) -> Vec<u8> {
    use etherparse::*;
    let ip = match &g.net {
        NetGen::V4 {
            src,
            dst,
            dscp,
            ecn,
            ttl,
            df,
            mf,
            frag_off,
            options,
        } => {
            let mut h = Ipv4Header::new(0, *ttl, IpNumber(0), *src, *dst).unwrap();
            h.dscp = IpDscp::try_new(*dscp).unwrap();
            h.ecn = IpEcn::try_new(*ecn).unwrap();
            h.dont_fragment = *df;
            h.more_fragments = *mf;
            h.fragment_offset = IpFragOffset::try_new(*frag_off).unwrap();
            let opts: Vec<u8> = (0..options * 4)
                .map(|i| if i % 4 == 3 { 0 } else { 1 })
                .collect();
            h.options = Ipv4Options::try_from(&opts[..]).unwrap();
            IpHeaders::Ipv4(h, Default::default())
        }
        NetGen::V6 {
            src,
            dst,
            tclass,
            label,
            hlim,
            hop,
            dst_opts,
            routing,
            frag,
            auth,
        } => {
            let h = Ipv6Header {
                traffic_class: *tclass,
                flow_label: Ipv6FlowLabel::try_new(*label).unwrap(),
                payload_length: 0,
                next_header: IpNumber(0),
                hop_limit: *hlim,
                source: *src,
                destination: *dst,
            };
            let raw = |len: usize| Ipv6RawExtHeader::new_raw(IpNumber(0), &vec![1; len]).unwrap();
            let mut x = Ipv6Extensions::default();
            if *hop {
                x.hop_by_hop_options = Some(raw(6));
            }
            if *dst_opts {
                x.destination_options = Some(raw(14));
            }
            if let Some(segs) = routing {
                let mut r = raw(6);
                let mut p = r.payload().to_vec();
                p[0] = 0; // routing type
                p[1] = *segs; // segments left
                r.set_payload(&p).unwrap();
                x.routing = Some(Ipv6RoutingExtensions {
                    routing: r,
                    final_destination_options: None,
                });
            }
            if let Some((off, more)) = frag {
                x.fragment = Some(Ipv6FragmentHeader::new(
                    IpNumber(0),
                    IpFragOffset::try_new(*off).unwrap(),
                    *more,
                    0x1234,
                ));
            }
            if *auth {
                x.auth = Some(IpAuthHeader::new(IpNumber(0), 1, 2, &[0; 12]).unwrap());
            }
            IpHeaders::Ipv6(h, x)
        }
    };
    let v6 = matches!(g.net, NetGen::V6 { .. });
    let b = PacketBuilder::ip(ip);
    let mut out = Vec::new();
    match g.l4 {
        L4Gen::Tcp { sp, dp, flags } => {
            let mut t = TcpHeader::new(sp, dp, 1, 1000);
            t.fin = flags & 0x001 != 0;
            t.syn = flags & 0x002 != 0;
            t.rst = flags & 0x004 != 0;
            t.psh = flags & 0x008 != 0;
            t.ack = flags & 0x010 != 0;
            t.urg = flags & 0x020 != 0;
            t.ece = flags & 0x040 != 0;
            t.cwr = flags & 0x080 != 0;
            t.ns = flags & 0x100 != 0;
            b.tcp_header(t).write(&mut out, &g.payload).unwrap();
        }
        L4Gen::Udp { sp, dp } => b.udp(sp, dp).write(&mut out, &g.payload).unwrap(),
        L4Gen::Icmp { ty, code } if v6 => {
            // ND messages are checked by hand; keep them out of the cross-check.
            let ty = if ty == 135 || ty == 136 { 128 } else { ty };
            b.icmpv6_raw(ty, code, [1, 2, 3, 4])
                .write(&mut out, &g.payload)
                .unwrap()
        }
        L4Gen::Icmp { ty, code } => b
            .icmpv4_raw(ty, code, [1, 2, 3, 4])
            .write(&mut out, &g.payload)
            .unwrap(),
        L4Gen::Other(p) => b.write(&mut out, IpNumber(p), &g.payload).unwrap(),
    }
    let mut frame = Vec::new();
    frame.extend_from_slice(&g.dst);
    frame.extend_from_slice(&g.src);
    let n = g.vlans.len();
    for (i, (ad, vid, pcp, dei)) in g.vlans.iter().enumerate() {
        let tpid: u16 = if *ad && i + 1 < n { 0x88a8 } else { 0x8100 };
        let tci = (u16::from(*pcp) << 13) | (u16::from(*dei) << 12) | vid;
        frame.extend_from_slice(&tpid.to_be_bytes());
        frame.extend_from_slice(&tci.to_be_bytes());
    }
    frame.extend_from_slice(&(if v6 { 0x86ddu16 } else { 0x0800 }).to_be_bytes());
    frame.extend_from_slice(&out);
    frame
}

/// The key etherparse's view of `bytes` implies, under OVS's conventions.
fn etherparse_key(bytes: &[u8]) -> FlowKey {
    use etherparse::*;
    let sp = SlicedPacket::from_ethernet(bytes).unwrap();
    let ph = PacketHeaders::from_ethernet_slice(bytes).unwrap();
    let mut k = FlowKey::zero();
    let Some(LinkSlice::Ethernet2(e)) = &sp.link else {
        panic!("no ethernet")
    };
    k.eth_src = e.source();
    k.eth_dst = e.destination();
    let mut t = e.ether_type().0;
    for (i, x) in sp.link_exts.iter().enumerate() {
        let LinkExtSlice::Vlan(v) = x else {
            panic!("not a vlan")
        };
        let tci = (u16::from(v.priority_code_point().value()) << 13)
            | (u16::from(v.drop_eligible_indicator()) << 12)
            | v.vlan_identifier().value();
        k.vlans[i] = Vlan {
            tpid: t,
            tci: tci | vlan::CFI,
        };
        t = v.ether_type().0;
    }
    k.eth_type = t;
    let l4 = |k: &mut FlowKey, proto: u8, p: &[u8]| match proto {
        6 => {
            if let Ok(s) = TcpSlice::from_slice(p) {
                k.tp_src = s.source_port();
                k.tp_dst = s.destination_port();
                let f = [
                    s.fin(),
                    s.syn(),
                    s.rst(),
                    s.psh(),
                    s.ack(),
                    s.urg(),
                    s.ece(),
                    s.cwr(),
                    s.ns(),
                ];
                k.tcp_flags = f.iter().enumerate().map(|(i, &b)| u16::from(b) << i).sum();
            }
        }
        17 => {
            if let Ok(s) = UdpSlice::from_slice(p) {
                k.tp_src = s.source_port();
                k.tp_dst = s.destination_port();
            }
        }
        1 if k.eth_type == 0x0800 => {
            if let Ok(s) = Icmpv4Slice::from_slice(p) {
                k.tp_src = u16::from(s.type_u8());
                k.tp_dst = u16::from(s.code_u8());
            }
        }
        58 if k.eth_type == 0x86dd => {
            if let Ok(s) = Icmpv6Slice::from_slice(p) {
                k.tp_src = u16::from(s.type_u8());
                k.tp_dst = u16::from(s.code_u8());
            }
        }
        _ => {}
    };
    match &sp.net {
        Some(NetSlice::Ipv4(ip)) => {
            let h = ip.header();
            k.ipv4_src = h.source();
            k.ipv4_dst = h.destination();
            k.nw_tos = (h.dcp().value() << 2) | h.ecn().value();
            k.nw_ttl = h.ttl();
            k.nw_proto = h.protocol().0;
            let off = h.fragments_offset().value();
            if off != 0 || h.more_fragments() {
                k.nw_frag = frag::ANY;
            }
            if off != 0 {
                k.nw_frag |= frag::LATER;
            } else {
                let proto = k.nw_proto;
                l4(&mut k, proto, ip.payload().payload);
            }
        }
        Some(NetSlice::Ipv6(ip)) => {
            let h = ip.header();
            k.ipv6_src = h.source();
            k.ipv6_dst = h.destination();
            k.ipv6_label = h.flow_label().value();
            k.nw_tos = h.traffic_class();
            k.nw_ttl = h.hop_limit();
            k.nw_proto = ip.payload().ip_number.0;
            let Some(NetHeaders::Ipv6(_, x)) = &ph.net else {
                panic!("no ipv6")
            };
            let (off, more) = x
                .fragment
                .as_ref()
                .map(|f| (f.fragment_offset.value(), f.more_fragments))
                .unwrap_or((0, false));
            if off != 0 || more {
                k.nw_frag = frag::ANY;
            }
            if off != 0 {
                k.nw_frag |= frag::LATER;
                k.nw_proto = 44;
            } else {
                let proto = k.nw_proto;
                l4(&mut k, proto, ip.payload().payload);
            }
        }
        _ => panic!("no ip"),
    }
    k
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn matches_etherparse(g in gen_strategy()) {
        let bytes = build(&g);
        let want = etherparse_key(&bytes);
        let mut p = Packet::from_slice(&bytes);
        let mut got = FlowKey::exact_mask();
        extract(&mut p, &mut got);
        prop_assert_eq!(got, want);
        prop_assert_eq!(usize::from(p.md.l3_ofs), 14 + 4 * g.vlans.len());
    }

    #[test]
    fn truncated_packets_never_panic(g in gen_strategy(), cut in any::<prop::sample::Index>()) {
        let bytes = build(&g);
        let n = cut.index(bytes.len() + 1);
        let mut p = Packet::from_slice(&bytes[..n]);
        let mut k = FlowKey::zero();
        extract(&mut p, &mut k);
        for o in [p.md.l2_ofs, p.md.l3_ofs, p.md.l4_ofs] {
            prop_assert!(o == OFS_UNSET || usize::from(o) <= n);
        }
        // The full packet's key agrees with the cut one on everything the cut one found
        // before the L3 header.
        let mut full = Packet::from_slice(&bytes);
        let mut fk = FlowKey::zero();
        extract(&mut full, &mut fk);
        if n >= 14 {
            prop_assert_eq!((k.eth_src, k.eth_dst), (fk.eth_src, fk.eth_dst));
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(
        bytes in prop::collection::vec(any::<u8>(), 0..300),
        ns in 0u16..3,
        id in any::<u16>(),
        ethertype in prop::sample::select(vec![0x0800u16, 0x86dd, 0x0806, 0x8035, 0x8100, 0x88a8, 0x8847, 0x0004]),
        tags in 0usize..4,
    ) {
        // Raw bytes, and the same bytes behind a plausible L2 header to get deeper.
        for framed in [false, true] {
            let mut data = Vec::new();
            if framed {
                data.extend_from_slice(&[0; 12]);
                for _ in 0..tags {
                    data.extend_from_slice(&[0x81, 0x00, 0x00, 0x01]);
                }
                data.extend_from_slice(&ethertype.to_be_bytes());
            }
            data.extend_from_slice(&bytes);
            let mut p = Packet::from_slice(&data);
            p.md.packet_type = if framed { PacketType::ETHERNET } else { PacketType::new(ns, id) };
            let mut k = FlowKey::zero();
            extract(&mut p, &mut k);
            for o in [p.md.l2_ofs, p.md.l3_ofs, p.md.l4_ofs] {
                prop_assert!(o == OFS_UNSET || usize::from(o) <= data.len());
            }
        }
    }
}
