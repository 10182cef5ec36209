//! proptest strategies for the flow model: [`FlowKey`]s of plausible packets with masks,
//! [`KeyAttr`]s and [`Action`]s, for this crate's property tests and other crates' (enable
//! the `proptest` feature).
//!
//! Two flavours of attribute and action strategies: the `*_any` ones cover everything the
//! netlink codec must carry (any field values, unknown types with flag bits); the `*_text`
//! ones stay within what the dpctl text form can say without loss (OVS's text form drops
//! some information: a fragment type above 2, unknown TCP flag bits, a masked set's value
//! bits outside its mask ...), so that `to_string().parse()` gives the value back.

use netlink_packet_core::{DefaultNla, NLA_F_NESTED, NLA_F_NET_BYTEORDER};
use proptest::collection::vec;
use proptest::prelude::*;

use std::net::IpAddr;

use super::action::{Action, Ct, HashAlg, Nat, Userspace};
use super::attr::{
    ArpKey, CtTupleIpv4Key, CtTupleIpv6Key, EthKey, IcmpKey, Ipv4Key, Ipv6Key, KeyAttr, L4Key,
    NdKey, parse_key_nla,
};
use super::convert::{OFPHTN_ETHERTYPE, PT_ETH};
use super::key::{FlowKey, Vlan, eth_type, frag, ip_proto, vlan};
use super::tunnel::TunnelKey;
use super::uapi::*;
use super::{MaskedKey, OdpPort};

/// Key attribute types this crate does not decode (kept as [`KeyAttr::Other`]).
const UNMODELED_KEY_TYPES: &[u16] = &[0, 28, 30, 31, 32, 33, 100, 0x3fff];
/// Action types this crate does not decode (kept as [`Action::Other`]).
const UNMODELED_ACTION_TYPES: &[u16] = &[0, 17, 18, 22, 23, 25, 26, 27, 28, 29, 99];

fn pick<T: Clone + std::fmt::Debug + 'static>(items: &'static [T]) -> impl Strategy<Value = T> {
    proptest::sample::select(items)
}

/// Keys of packets: the fields a packet's headers set, and zero elsewhere (ARP opcode in
/// `nw_proto`, ICMP type and code in the ports, ND addresses in `arp_sha`/`arp_tha`, the CFI
/// bit in present tags). Covers Ethernet and L3 (IPv4/IPv6, `packet_type` namespace 1)
/// packets, up to two VLAN tags, IPv4, IPv6 (with ND), ARP, RARP, 802.3 and other
/// ethertypes, TCP, UDP, SCTP, ICMP, ICMPv6 and other protocols, and fragments. MPLS is left
/// out: [`FlowKey`] holds no label stack.
pub fn flow_key() -> impl Strategy<Value = FlowKey> {
    (
        any::<[u64; FlowKey::N_WORDS]>(),
        0..7u8,
        0..6u8,
        0..3u8,
        0..3usize,
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(words, et, proto, fr, n_vlans, l3_only, nd)| {
            build_key(
                &FlowKey::from_words(&words),
                et,
                proto,
                fr,
                n_vlans,
                l3_only,
                nd,
            )
        })
}

fn build_key(
    r: &FlowKey,
    et: u8,
    proto: u8,
    fr: u8,
    n_vlans: usize,
    l3_only: bool,
    nd: bool,
) -> FlowKey {
    let mut k = FlowKey::zero();
    k.recirc_id = r.recirc_id;
    k.dp_hash = r.dp_hash;
    k.in_port = r.in_port;
    k.skb_priority = r.skb_priority;
    k.skb_mark = r.skb_mark;
    k.eth_type = match et {
        0 => eth_type::IPV4,
        1 => eth_type::IPV6,
        2 => eth_type::ARP,
        3 => eth_type::RARP,
        4 => eth_type::NONE,
        5 => 0x9000 | (r.eth_type & 0xff),
        _ => eth_type::IPV4,
    };
    if l3_only && k.is_ip() {
        k.packet_type = (OFPHTN_ETHERTYPE << 16) | u32::from(k.eth_type);
    } else {
        k.packet_type = PT_ETH;
        k.eth_src = r.eth_src;
        k.eth_dst = r.eth_dst;
        for i in 0..n_vlans {
            let tpid = if n_vlans == 2 && i == 0 {
                eth_type::VLAN_8021AD
            } else {
                eth_type::VLAN
            };
            k.vlans[i] = Vlan {
                tpid,
                tci: r.vlans[i].tci | vlan::CFI,
            };
        }
    }
    match k.eth_type {
        eth_type::IPV4 | eth_type::IPV6 => {
            let v6 = k.eth_type == eth_type::IPV6;
            if v6 {
                k.ipv6_src = r.ipv6_src;
                k.ipv6_dst = r.ipv6_dst;
                k.ipv6_label = r.ipv6_label & 0xfffff;
            } else {
                k.ipv4_src = r.ipv4_src;
                k.ipv4_dst = r.ipv4_dst;
            }
            k.nw_proto = match proto {
                0 => ip_proto::TCP,
                1 => ip_proto::UDP,
                2 => ip_proto::SCTP,
                3 if v6 => ip_proto::ICMPV6,
                3 => ip_proto::ICMP,
                4 => [0, 2, 47, 50, 89][usize::from(r.nw_proto % 5)],
                _ => r.nw_proto,
            };
            k.nw_tos = r.nw_tos;
            k.nw_ttl = r.nw_ttl;
            k.nw_frag = [0, frag::ANY, frag::ANY | frag::LATER][usize::from(fr)];
            if k.nw_frag & frag::LATER == 0 {
                match k.nw_proto {
                    ip_proto::TCP | ip_proto::UDP | ip_proto::SCTP => {
                        k.tp_src = r.tp_src;
                        k.tp_dst = r.tp_dst;
                        if k.nw_proto == ip_proto::TCP {
                            k.tcp_flags = r.tcp_flags & 0x0fff;
                        }
                    }
                    ip_proto::ICMP if !v6 => {
                        k.tp_src = r.tp_src & 0xff;
                        k.tp_dst = r.tp_dst & 0xff;
                    }
                    ip_proto::ICMPV6 if v6 => {
                        if nd {
                            k.tp_src = if r.tp_src & 1 == 0 { 135 } else { 136 };
                            k.nd_target = r.nd_target;
                            k.arp_sha = r.arp_sha;
                            k.arp_tha = r.arp_tha;
                        } else {
                            k.tp_src = r.tp_src & 0xff;
                            k.tp_dst = r.tp_dst & 0xff;
                            if (k.tp_src == 135 || k.tp_src == 136) && k.tp_dst == 0 {
                                k.tp_dst = 1;
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        eth_type::ARP | eth_type::RARP => {
            k.ipv4_src = r.ipv4_src;
            k.ipv4_dst = r.ipv4_dst;
            k.nw_proto = r.nw_proto;
            k.arp_sha = r.arp_sha;
            k.arp_tha = r.arp_tha;
        }
        _ => {}
    }
    k
}

/// A mask for `key` that survives the trip through attributes unchanged: random where the
/// key's attributes carry the field, and what OVS's mask rules imply elsewhere (exact "no
/// VLAN" for untagged keys, exact TPIDs and ethertypes, an exact protocol under masked
/// ports, fragment masks all or nothing, ND only under exact ICMP type and code).
pub fn flow_mask(key: FlowKey) -> impl Strategy<Value = FlowKey> {
    (any::<[u64; FlowKey::N_WORDS]>(), any::<bool>())
        .prop_map(move |(words, nd)| build_mask(&key, &FlowKey::from_words(&words), nd))
}

/// A key with a mask from [`flow_key`] and [`flow_mask`].
pub fn flow_key_and_mask() -> impl Strategy<Value = (FlowKey, FlowKey)> {
    flow_key().prop_flat_map(|k| (Just(k), flow_mask(k)))
}

fn build_mask(key: &FlowKey, r: &FlowKey, nd: bool) -> FlowKey {
    let mut m = FlowKey::zero();
    m.recirc_id = r.recirc_id;
    m.dp_hash = r.dp_hash;
    m.in_port = r.in_port;
    m.skb_priority = r.skb_priority;
    m.skb_mark = r.skb_mark;
    m.packet_type = r.packet_type;
    m.eth_type = u16::MAX;
    if key.packet_type == PT_ETH {
        m.eth_src = r.eth_src;
        m.eth_dst = r.eth_dst;
    }
    if key.vlans[0].present() {
        for i in 0..2 {
            if key.vlans[i].present() {
                m.vlans[i] = Vlan {
                    tpid: u16::MAX,
                    tci: r.vlans[i].tci | vlan::CFI,
                };
            }
        }
    } else {
        m.vlans[0] = Vlan {
            tpid: u16::MAX,
            tci: u16::MAX,
        };
    }
    match key.eth_type {
        eth_type::IPV4 | eth_type::IPV6 => {
            if key.eth_type == eth_type::IPV6 {
                m.ipv6_src = r.ipv6_src;
                m.ipv6_dst = r.ipv6_dst;
                m.ipv6_label = r.ipv6_label & 0xfffff;
            } else {
                m.ipv4_src = r.ipv4_src;
                m.ipv4_dst = r.ipv4_dst;
            }
            m.nw_proto = u8::MAX;
            m.nw_tos = r.nw_tos;
            m.nw_ttl = r.nw_ttl;
            m.nw_frag = if r.nw_frag & 1 != 0 { frag::MASK } else { 0 };
            if key.nw_frag & frag::LATER == 0 {
                match key.nw_proto {
                    ip_proto::TCP | ip_proto::UDP | ip_proto::SCTP => {
                        m.tp_src = r.tp_src;
                        m.tp_dst = r.tp_dst;
                        if key.nw_proto == ip_proto::TCP {
                            m.tcp_flags = r.tcp_flags;
                        }
                    }
                    ip_proto::ICMP | ip_proto::ICMPV6 => {
                        let is_nd = key.eth_type == eth_type::IPV6
                            && key.nw_proto == ip_proto::ICMPV6
                            && key.tp_dst == 0
                            && (key.tp_src == 135 || key.tp_src == 136);
                        let icmp = (key.eth_type == eth_type::IPV4) == (key.nw_proto == 1);
                        if icmp && is_nd && nd {
                            m.tp_src = 0xff;
                            m.tp_dst = 0xff;
                            m.nd_target = r.nd_target;
                            m.arp_sha = r.arp_sha;
                            m.arp_tha = r.arp_tha;
                        } else if icmp {
                            m.tp_src = r.tp_src & 0xff;
                            m.tp_dst = r.tp_dst & 0xff;
                            if is_nd && m.tp_src == 0xff && m.tp_dst == 0xff {
                                m.tp_dst = 0x7f;
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        eth_type::ARP | eth_type::RARP => {
            m.ipv4_src = r.ipv4_src;
            m.ipv4_dst = r.ipv4_dst;
            m.nw_proto = r.nw_proto;
            m.arp_sha = r.arp_sha;
            m.arp_tha = r.arp_tha;
        }
        _ => {}
    }
    m
}

/// Adjusts a mask from [`flow_mask`] so that the text form of the key and mask says all of
/// it: OVS prints a wildcarded fragment type as nothing (losing the key's), and masked TCP
/// flags as `+syn-ack` (losing key bits outside the mask).
pub fn text_safe_mask(key: &FlowKey, mask: &FlowKey) -> FlowKey {
    let mut m = *mask;
    if key.is_ip() {
        m.nw_frag = frag::MASK;
    }
    if m.tcp_flags != 0 || key.tcp_flags != 0 {
        m.tcp_flags = u16::MAX;
    }
    m
}

fn unmodeled_other(types: &'static [u16], flags: bool) -> impl Strategy<Value = DefaultNla> {
    let flag_bits: &'static [u16] = if flags {
        &[0, NLA_F_NESTED, NLA_F_NET_BYTEORDER]
    } else {
        &[0]
    };
    (pick(types), pick(flag_bits), vec(any::<u8>(), 0..24))
        .prop_map(|(t, f, v)| DefaultNla::new(t | f, v))
}

/// Well-formed Geneve options: class, type, zero reserved bits, length in words, data.
fn geneve_opts() -> impl Strategy<Value = Vec<u8>> {
    vec(
        (
            any::<(u16, u8)>(),
            vec(any::<u8>(), 0..=3).prop_map(|w| w.len()),
            any::<[u8; 12]>(),
        ),
        0..3,
    )
    .prop_map(|opts| {
        let mut v = Vec::new();
        for ((class, typ), words, data) in opts {
            v.extend_from_slice(&class.to_be_bytes());
            v.push(typ);
            v.push(u8::try_from(words).unwrap_or(0));
            v.extend_from_slice(&data[..4 * words]);
        }
        v
    })
}

/// A tunnel key: `text` keeps the VXLAN policy to its 24 bits and the Geneve options
/// well-formed.
fn tunnel_key(text: bool) -> impl Strategy<Value = TunnelKey> {
    use proptest::option::of;
    let gbp_max = if text { 0x00ff_ffffu32 } else { u32::MAX };
    let geneve = if text {
        geneve_opts().boxed()
    } else {
        vec(any::<u8>(), 0..24).boxed()
    };
    (
        (of(any::<u64>()), of(any::<[u8; 4]>()), of(any::<[u8; 4]>())),
        (of(any::<[u8; 16]>()), of(any::<[u8; 16]>())),
        (of(any::<u8>()), of(any::<u8>()), any::<[bool; 3]>()),
        (of(any::<u16>()), of(any::<u16>())),
        (of(0..=gbp_max), of(geneve)),
    )
        .prop_map(
            |(
                (id, ipv4_src, ipv4_dst),
                (ipv6_src, ipv6_dst),
                (tos, ttl, f),
                (tp_src, tp_dst),
                (vxlan_gbp, geneve_opts),
            )| {
                TunnelKey {
                    id,
                    ipv4_src,
                    ipv4_dst,
                    ipv6_src,
                    ipv6_dst,
                    tos,
                    ttl,
                    dont_fragment: f[0],
                    csum: f[1],
                    tp_src,
                    tp_dst,
                    oam: f[2],
                    vxlan_gbp,
                    geneve_opts,
                }
            },
        )
}

/// A mask for tunnel key `k` that its text says without loss: the same fields present,
/// the key's flags within the mask's, Geneve masks with zero reserved bits.
fn tunnel_mask(k: &TunnelKey, r: &[u8; 64], b: [bool; 3]) -> TunnelKey {
    let word = |i: usize| {
        u64::from_ne_bytes([
            r[i],
            r[i + 1],
            r[i + 2],
            r[i + 3],
            r[i + 4],
            r[i + 5],
            r[i + 6],
            r[i + 7],
        ])
    };
    let a4 = |i: usize| [r[i], r[i + 1], r[i + 2], r[i + 3]];
    let a16 = |i: usize| {
        let mut a = [0u8; 16];
        a.copy_from_slice(&r[i..i + 16]);
        a
    };
    TunnelKey {
        id: k.id.map(|_| word(0)),
        ipv4_src: k.ipv4_src.map(|_| a4(8)),
        ipv4_dst: k.ipv4_dst.map(|_| a4(12)),
        ipv6_src: k.ipv6_src.map(|_| a16(16)),
        ipv6_dst: k.ipv6_dst.map(|_| a16(32)),
        tos: k.tos.map(|_| r[48]),
        ttl: k.ttl.map(|_| r[49]),
        dont_fragment: k.dont_fragment || b[0],
        csum: k.csum || b[1],
        tp_src: k.tp_src.map(|_| u16::from_ne_bytes([r[50], r[51]])),
        tp_dst: k.tp_dst.map(|_| u16::from_ne_bytes([r[52], r[53]])),
        oam: k.oam || b[2],
        vxlan_gbp: k
            .vxlan_gbp
            .map(|_| u32::from_ne_bytes(a4(54)) & 0x00ff_ffff),
        geneve_opts: k.geneve_opts.as_ref().map(|g| {
            let mut m: Vec<u8> = r.iter().copied().cycle().skip(58).take(g.len()).collect();
            // Option headers: reserved bits zero, the length bits of the key's layout.
            let mut off = 0;
            while off + 4 <= g.len() {
                m[off + 3] &= 0x1f;
                off += 4 + 4 * usize::from(g[off + 3] & 0x1f);
            }
            m
        }),
    }
}

/// One fixed-layout key attribute; `text` keeps to what the text form says without loss.
fn key_attr_leaf(text: bool) -> BoxedStrategy<KeyAttr> {
    let frag_max = if text { 2u8 } else { u8::MAX };
    let tcp_flags_max = if text { 0x0fffu16 } else { u16::MAX };
    let label_max = if text { 0xfffffu32 } else { u32::MAX };
    prop_oneof![
        any::<u32>().prop_map(KeyAttr::Priority),
        any::<u32>().prop_map(KeyAttr::InPort),
        any::<([u8; 6], [u8; 6])>().prop_map(|(src, dst)| KeyAttr::Ethernet(EthKey { src, dst })),
        any::<u16>().prop_map(KeyAttr::Vlan),
        any::<u16>().prop_map(KeyAttr::Ethertype),
        (any::<([u8; 4], [u8; 4], u8, u8, u8)>(), 0..=frag_max).prop_map(
            |((src, dst, proto, tos, ttl), frag)| KeyAttr::Ipv4(Ipv4Key {
                src,
                dst,
                proto,
                tos,
                ttl,
                frag
            })
        ),
        (
            any::<([u8; 16], [u8; 16], u8, u8, u8)>(),
            0..=label_max,
            0..=frag_max
        )
            .prop_map(|((src, dst, proto, tclass, hlimit), label, frag)| {
                KeyAttr::Ipv6(Ipv6Key {
                    src,
                    dst,
                    label,
                    proto,
                    tclass,
                    hlimit,
                    frag,
                })
            }),
        any::<(u16, u16)>().prop_map(|(src, dst)| KeyAttr::Tcp(L4Key { src, dst })),
        any::<(u16, u16)>().prop_map(|(src, dst)| KeyAttr::Udp(L4Key { src, dst })),
        any::<(u16, u16)>().prop_map(|(src, dst)| KeyAttr::Sctp(L4Key { src, dst })),
        any::<(u8, u8)>().prop_map(|(icmp_type, icmp_code)| KeyAttr::Icmp(IcmpKey {
            icmp_type,
            icmp_code
        })),
        any::<(u8, u8)>().prop_map(|(icmp_type, icmp_code)| KeyAttr::Icmpv6(IcmpKey {
            icmp_type,
            icmp_code
        })),
        any::<([u8; 4], [u8; 4], u16, [u8; 6], [u8; 6])>().prop_map(|(sip, tip, op, sha, tha)| {
            KeyAttr::Arp(ArpKey {
                sip,
                tip,
                op,
                sha,
                tha,
            })
        }),
        any::<([u8; 16], [u8; 6], [u8; 6])>().prop_map(|(target, sll, tll)| KeyAttr::Nd(NdKey {
            target,
            sll,
            tll
        })),
        any::<u32>().prop_map(KeyAttr::SkbMark),
        tunnel_key(text).prop_map(KeyAttr::Tunnel),
        (0..=tcp_flags_max).prop_map(KeyAttr::TcpFlags),
        any::<u32>().prop_map(KeyAttr::DpHash),
        any::<u32>().prop_map(KeyAttr::RecircId),
        vec(any::<u32>(), 1..=3).prop_map(KeyAttr::Mpls),
        any::<u32>().prop_map(KeyAttr::CtState),
        any::<u16>().prop_map(KeyAttr::CtZone),
        any::<u32>().prop_map(KeyAttr::CtMark),
        any::<[u8; 16]>().prop_map(KeyAttr::CtLabels),
        any::<u32>().prop_map(KeyAttr::PacketType),
        any::<([u8; 4], [u8; 4], u16, u16, u8)>().prop_map(|(src, dst, sp, dp, proto)| {
            KeyAttr::CtTupleIpv4(CtTupleIpv4Key {
                src,
                dst,
                src_port: sp,
                dst_port: dp,
                proto,
            })
        }),
        any::<([u8; 16], [u8; 16], u16, u16, u8)>().prop_map(|(src, dst, sp, dp, proto)| {
            KeyAttr::CtTupleIpv6(CtTupleIpv6Key {
                src,
                dst,
                src_port: sp,
                dst_port: dp,
                proto,
            })
        }),
        unmodeled_other(UNMODELED_KEY_TYPES, !text).prop_map(KeyAttr::Other),
    ]
    .boxed()
}

/// Any key attribute, nested `encap` included, with any field values and unknown types
/// (with netlink flag bits): what the netlink codec must carry unchanged.
pub fn key_attr_any() -> impl Strategy<Value = KeyAttr> {
    key_attr_leaf(false).prop_recursive(3, 24, 6, |inner| vec(inner, 0..6).prop_map(KeyAttr::Encap))
}

/// Key attributes whose dpctl text (verbose, without masks) says all of them.
pub fn key_attr_text() -> impl Strategy<Value = KeyAttr> {
    key_attr_leaf(true).prop_recursive(3, 24, 6, |inner| vec(inner, 0..6).prop_map(KeyAttr::Encap))
}

/// A list of key attributes for the netlink codec.
pub fn key_attrs_any() -> impl Strategy<Value = Vec<KeyAttr>> {
    vec(key_attr_any(), 0..12)
}

/// ANDs `value`'s payload with `mask`'s (same type and length).
fn and_payload(value: &KeyAttr, mask: &KeyAttr) -> KeyAttr {
    let v: Vec<u8> = value
        .payload()
        .iter()
        .zip(mask.payload())
        .map(|(a, b)| a & b)
        .collect();
    let t = value.attr_type();
    let raw = match value {
        KeyAttr::Other(nla) => netlink_packet_core::Nla::kind(nla),
        _ => t,
    };
    parse_key_nla(t, raw, &v, 0).unwrap_or_else(|_| value.clone())
}

/// A key attribute with a mask attribute of the same type and size, both valid for the
/// verbose text form: fragment masks all or nothing (with a zero value under a zero mask),
/// VLAN masks with the CFI bit, TCP flag masks exact or within the named bits.
fn masked_leaf() -> impl Strategy<Value = (KeyAttr, KeyAttr)> {
    (key_attr_leaf(true), any::<[u8; 64]>(), any::<bool>()).prop_map(|(k, bytes, b)| {
        let t = k.attr_type();
        let len = k.payload().len();
        let mbytes: Vec<u8> = bytes.iter().copied().cycle().take(len).collect();
        let raw = match &k {
            KeyAttr::Other(nla) => netlink_packet_core::Nla::kind(nla),
            _ => t,
        };
        let mut m = match &k {
            KeyAttr::Mpls(l) => KeyAttr::Mpls(
                mbytes
                    .chunks_exact(4)
                    .take(l.len())
                    .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
                    .collect(),
            ),
            KeyAttr::Tunnel(_) => k.clone(),
            _ => parse_key_nla(t, raw, &mbytes, 0).unwrap_or_else(|_| k.clone()),
        };
        let mut k = k;
        match (&mut k, &mut m) {
            (KeyAttr::Ipv4(kk), KeyAttr::Ipv4(mm)) => {
                mm.frag = if b { u8::MAX } else { 0 };
                if !b {
                    kk.frag = 0;
                }
            }
            (KeyAttr::Ipv6(kk), KeyAttr::Ipv6(mm)) => {
                mm.frag = if b { u8::MAX } else { 0 };
                if !b {
                    kk.frag = 0;
                }
                mm.label &= 0xfffff;
            }
            (KeyAttr::Vlan(_), KeyAttr::Vlan(mm)) => *mm |= vlan::CFI,
            (KeyAttr::Tunnel(kk), mm @ KeyAttr::Tunnel(_)) => {
                let mut r = [0u8; 64];
                for (i, x) in r.iter_mut().enumerate() {
                    *x = bytes[i].wrapping_add(u8::try_from(i).unwrap_or(0));
                }
                *mm = KeyAttr::Tunnel(tunnel_mask(kk, &r, [b, !b, b]));
            }
            (KeyAttr::TcpFlags(kk), KeyAttr::TcpFlags(mm)) => {
                if b {
                    *mm = u16::MAX;
                } else {
                    *mm &= 0x0fff;
                    if *mm == 0x0fff {
                        *mm = 0x0ffe;
                    }
                    *kk &= *mm;
                }
            }
            _ => {}
        }
        (k, m)
    })
}

/// Key attributes with aligned mask attributes (one mask per key attribute, same types, in
/// the same order, no type twice at one level) whose verbose text parses back unchanged.
pub fn masked_key_text() -> impl Strategy<Value = MaskedKey> {
    let pair = masked_leaf().prop_recursive(2, 16, 5, |inner| {
        vec(inner, 0..5).prop_map(|pairs| {
            let pairs = dedup_types(pairs);
            let (k, m): (Vec<_>, Vec<_>) = pairs.into_iter().unzip();
            (KeyAttr::Encap(k), KeyAttr::Encap(m))
        })
    });
    vec(pair, 0..10).prop_map(|pairs| {
        let (key, mask) = dedup_types(pairs).into_iter().unzip();
        MaskedKey { key, mask }
    })
}

fn dedup_types(pairs: Vec<(KeyAttr, KeyAttr)>) -> Vec<(KeyAttr, KeyAttr)> {
    let mut seen = std::collections::HashSet::new();
    pairs
        .into_iter()
        .filter(|(k, _)| seen.insert(k.attr_type()))
        .collect()
}

fn userspace() -> impl Strategy<Value = Userspace> {
    (
        any::<u32>(),
        proptest::option::of(vec(any::<u8>(), 0..20)),
        proptest::option::of(any::<u32>()),
        any::<bool>(),
    )
        .prop_map(|(pid, userdata, egress_tun_port, actions)| Userspace {
            pid,
            userdata,
            egress_tun_port,
            actions,
        })
}

fn ip_addr() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        any::<[u8; 4]>().prop_map(IpAddr::from),
        any::<[u8; 16]>().prop_map(IpAddr::from),
    ]
}

/// Any `nat` (for the netlink codec).
fn nat_any() -> impl Strategy<Value = Nat> {
    (
        any::<[bool; 5]>(),
        proptest::option::of(ip_addr()),
        proptest::option::of(ip_addr()),
        proptest::option::of(any::<u16>()),
        proptest::option::of(any::<u16>()),
    )
        .prop_map(|(f, ip_min, ip_max, proto_min, proto_max)| Nat {
            src: f[0],
            dst: f[1],
            ip_min,
            ip_max,
            proto_min,
            proto_max,
            persistent: f[2],
            proto_hash: f[3],
            proto_random: f[4],
        })
}

/// A `nat` as OVS's parser would encode it: one direction; ranges, ports and flags only
/// with an address; maxima above minima; not both hash and random.
fn nat_text() -> impl Strategy<Value = Nat> {
    (
        0..3u8,
        proptest::option::of(ip_addr()),
        any::<(bool, u128)>(),
        any::<(u16, u16)>(),
        any::<(bool, u8)>(),
    )
        .prop_map(
            |(dir, min, (with_max, bump), (pmin, pmax), (persistent, hr))| {
                let mut n = Nat {
                    src: dir == 1,
                    dst: dir == 2,
                    ..Default::default()
                };
                if dir == 0 {
                    return n;
                }
                let Some(min) = min else { return n };
                n.ip_min = Some(min);
                if with_max {
                    n.ip_max = match min {
                        IpAddr::V4(a) => u32::from(a)
                            .checked_add(u32::try_from(bump % 1000).unwrap_or(1) + 1)
                            .map(|b| IpAddr::from(std::net::Ipv4Addr::from(b))),
                        IpAddr::V6(a) => u128::from(a)
                            .checked_add(bump % 100_000 + 1)
                            .map(|b| IpAddr::from(std::net::Ipv6Addr::from(b))),
                    };
                }
                if pmin != 0 {
                    n.proto_min = Some(pmin);
                    n.proto_max = (pmax > pmin).then_some(pmax);
                }
                n.persistent = persistent;
                n.proto_hash = hr % 3 == 1;
                n.proto_random = hr % 3 == 2;
                n
            },
        )
}

fn helper_name() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9_]{0,14}"
}

/// Any `ct` (for the netlink codec).
fn ct_any() -> impl Strategy<Value = Ct> {
    (
        any::<(bool, bool)>(),
        proptest::option::of(any::<u16>()),
        proptest::option::of(any::<(u32, u32)>()),
        proptest::option::of(any::<(u128, u128)>()),
        proptest::option::of(helper_name()),
        proptest::option::of(helper_name()),
        proptest::option::of(nat_any()),
        proptest::option::of(any::<u32>()),
    )
        .prop_map(
            |((commit, force_commit), zone, mark, labels, helper, timeout, nat, eventmask)| Ct {
                commit,
                force_commit,
                zone,
                mark,
                labels,
                helper,
                timeout,
                nat,
                eventmask,
            },
        )
}

/// A `ct` that its text says all of: no zone 0, no mark or label with a zero mask, no
/// eventmask (OVS prints none of these), not both commit and force_commit.
fn ct_text() -> impl Strategy<Value = Ct> {
    (
        0..3u8,
        proptest::option::of(1..=u16::MAX),
        proptest::option::of((any::<u32>(), 1..=u32::MAX)),
        proptest::option::of((any::<u128>(), 1..=u128::MAX)),
        proptest::option::of(helper_name()),
        proptest::option::of(helper_name()),
        proptest::option::of(nat_text()),
    )
        .prop_map(|(c, zone, mark, labels, helper, timeout, nat)| Ct {
            commit: c == 1,
            force_commit: c == 2,
            zone,
            mark,
            labels,
            helper,
            timeout,
            nat,
            eventmask: None,
        })
}

fn action_leaf(text: bool) -> BoxedStrategy<Action> {
    let set_attr = if text {
        key_attr_leaf(true)
            .prop_filter("text form of set() turns these into masked sets", |k| {
                !matches!(
                    k,
                    KeyAttr::Ipv6(_)
                        | KeyAttr::Arp(_)
                        | KeyAttr::CtTupleIpv4(_)
                        | KeyAttr::CtTupleIpv6(_)
                )
            })
            .boxed()
    } else {
        key_attr_any().boxed()
    };
    let set_masked = masked_leaf()
        .prop_filter("masked set needs a partial mask", |(_, m)| {
            !m.payload().iter().all(|&b| b == 0xff)
        })
        .prop_filter("no masked set of a tunnel key", |(k, _)| {
            !matches!(k, KeyAttr::Tunnel(_))
        })
        .prop_filter("the text form cannot say these masked", move |(k, m)| {
            !text
                || !(matches!(
                    k,
                    KeyAttr::CtZone(_)
                        | KeyAttr::CtMark(_)
                        | KeyAttr::CtLabels(_)
                        | KeyAttr::CtState(_)
                ) || (matches!(k, KeyAttr::Other(_)) && m.payload().is_empty()))
        })
        .prop_map(|(k, m)| Action::SetMasked {
            value: and_payload(&k, &m),
            mask: m,
        });
    let hash = prop_oneof![
        any::<u32>().prop_map(|basis| Action::Hash {
            alg: HashAlg::L4,
            basis
        }),
        any::<u32>().prop_map(|basis| Action::Hash {
            alg: HashAlg::SymL4,
            basis
        }),
        (2..u32::MAX).prop_map(|n| Action::Hash {
            alg: HashAlg::Other(n),
            basis: 0
        }),
    ];
    prop_oneof![
        any::<u32>().prop_map(|p| Action::Output(OdpPort(p))),
        userspace().prop_map(Action::Userspace),
        set_attr.prop_map(Action::Set),
        set_masked,
        any::<(u16, u16)>().prop_map(|(tpid, tci)| Action::PushVlan { tpid, tci }),
        Just(Action::PopVlan),
        any::<u32>().prop_map(Action::Recirc),
        hash,
        any::<(u32, u16)>().prop_map(|(lse, ethertype)| Action::PushMpls { lse, ethertype }),
        any::<u16>().prop_map(Action::PopMpls),
        any::<u32>().prop_map(Action::Trunc),
        any::<([u8; 6], [u8; 6])>().prop_map(|(src, dst)| Action::PushEth { src, dst }),
        Just(Action::PopEth),
        Just(Action::CtClear),
        any::<u32>().prop_map(Action::Meter),
        if text {
            ct_text().prop_map(Action::Ct).boxed()
        } else {
            ct_any().prop_map(Action::Ct).boxed()
        },
        if text {
            Just(Action::Drop(XLATE_OK)).boxed()
        } else {
            any::<u32>().prop_map(Action::Drop).boxed()
        },
        unmodeled_other(UNMODELED_ACTION_TYPES, !text).prop_map(Action::Other),
    ]
    .boxed()
}

/// The probability OVS's parser gives `tenths / 10` percent.
fn probability_of_tenths(tenths: u32) -> u32 {
    let p = (f64::from(u32::MAX) * (f64::from(tenths) / 1000.0) + 0.5).floor();
    // In [0, u32::MAX] for tenths <= 1000.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let p = p as u32;
    p
}

fn action_tree(text: bool) -> impl Strategy<Value = Action> {
    action_leaf(text).prop_recursive(3, 24, 4, move |inner| {
        // Text: nested lists are never empty (an empty one prints "drop").
        let min = usize::from(text);
        prop_oneof![
            (0..=1000u32, vec(inner.clone(), min..4)).prop_map(move |(t, actions)| {
                Action::Sample {
                    probability: if text {
                        probability_of_tenths(t)
                    } else {
                        t.wrapping_mul(4_294_967)
                    },
                    actions,
                }
            }),
            vec(inner.clone(), min..4).prop_map(Action::Clone),
            (any::<u16>(), vec(inner.clone(), min..3), vec(inner, min..3)).prop_map(
                |(pkt_len, if_greater, if_less_equal)| Action::CheckPktLen {
                    pkt_len,
                    if_greater,
                    if_less_equal,
                }
            ),
        ]
    })
}

/// Any action, nested ones included, for the netlink codec.
pub fn action_any() -> impl Strategy<Value = Action> {
    action_tree(false)
}

/// Actions whose dpctl text says all of them.
pub fn action_text() -> impl Strategy<Value = Action> {
    action_tree(true)
}

/// A list of actions for the netlink codec.
pub fn actions_any() -> impl Strategy<Value = Vec<Action>> {
    vec(action_any(), 0..8)
}

/// A list of actions whose text parses back unchanged (a lone explicit `drop` is left out:
/// it prints as `drop`, which parses as no actions, as in OVS).
pub fn actions_text() -> impl Strategy<Value = Vec<Action>> {
    vec(action_text(), 0..8).prop_filter("a lone drop reads back as no actions", |a| {
        a.as_slice() != [Action::Drop(XLATE_OK)]
    })
}
