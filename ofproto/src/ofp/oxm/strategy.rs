//! proptest strategies for valid matches: a protocol stack first, then fields of that stack
//! with random values and masks, so that every generated match has its prerequisites.

use proptest::prelude::*;

use crate::fields::Field;
use crate::flow::OfpPort;
use crate::matching::Match;

/// A field to match, its value and its mask (`None`: exact).
type Item = (Field, u128, Option<u128>);

/// A value of `field` and a mask: `None` for an exact match, a random mask for a maskable
/// field.
fn vm(field: Field) -> impl Strategy<Value = Item> {
    let valid = field.valid_bits();
    let maskable = field.info().maskable;
    (any::<u128>(), any::<u128>(), any::<bool>()).prop_map(move |(v, m, masked)| {
        let mask = (maskable && masked).then_some(m & valid);
        (field, v & valid & mask.unwrap_or(u128::MAX), mask)
    })
}

fn opt(field: Field) -> impl Strategy<Value = Option<Item>> {
    prop::option::weighted(0.4, vm(field))
}

fn apply(m: &mut Match, items: impl IntoIterator<Item = Option<Item>>) {
    for (f, v, mask) in items.into_iter().flatten() {
        // Only valid values are generated; a zero mask simply leaves the field wildcarded.
        let _ = m.set_masked(f, v, mask.unwrap_or(u128::MAX));
    }
}

/// The VLAN part: nothing, a VLAN id, id and priority, "no tag", or any TCI and mask.
fn vlan() -> impl Strategy<Value = Option<(u16, u16)>> {
    prop_oneof![
        Just(None),
        (0u16..4096).prop_map(|vid| Some((0x1000 | vid, 0x1fff))),
        (0u16..4096, 0u16..8).prop_map(|(vid, pcp)| Some((0x1000 | vid | pcp << 13, 0xffff))),
        Just(Some((0, 0xffff))),
        Just(Some((0x1000, 0x1000))),
        (any::<u16>(), any::<u16>()).prop_map(|(t, m)| Some((t & m, m))),
    ]
}

/// VLAN matches OpenFlow 1.0 (and OXM) can write: nothing, an id, an id and a priority, a
/// priority, or no tag (OXM cannot say "no tag" exactly; see `oxm_vlan`).
fn of10_vlan() -> impl Strategy<Value = Option<(u16, u16)>> {
    prop_oneof![
        Just(None),
        (0u16..4096).prop_map(|vid| Some((0x1000 | vid, 0x1fff))),
        (0u16..4096, 0u16..8).prop_map(|(vid, pcp)| Some((0x1000 | vid | pcp << 13, 0xffff))),
        (0u16..8).prop_map(|pcp| Some((0x1000 | pcp << 13, 0xf000))),
        Just(Some((0, 0xffff))),
    ]
}

/// VLAN matches OXM can write: any `vlan_vid` mask, and the priority only exactly with a
/// tag.
fn oxm_vlan() -> impl Strategy<Value = Option<(u16, u16)>> {
    prop_oneof![
        Just(None),
        (any::<u16>(), any::<u16>()).prop_map(|(t, m)| Some((t & m & 0x1fff, m & 0x1fff))),
        (0u16..4096, 0u16..8).prop_map(|(vid, pcp)| Some((0x1000 | vid | pcp << 13, 0xffff))),
        Just(Some((0, 0x1fff))),
    ]
}

/// Packet metadata, ports, Ethernet and VLAN fields.
fn base(vlan: BoxedStrategy<Option<(u16, u16)>>) -> impl Strategy<Value = Match> {
    (
        prop::option::weighted(0.5, any::<u16>()),
        opt(Field::EthSrc),
        opt(Field::EthDst),
        vlan,
        prop::collection::vec(opt(Field::Reg(0)), 0..3),
        (0u8..16),
        opt(Field::Metadata),
        opt(Field::PktMark),
        opt(Field::RecircId),
        opt(Field::DpHash),
    )
        .prop_map(|(port, src, dst, vlan, regs, r, md, mark, recirc, hash)| {
            let mut m = Match::catchall();
            if let Some(p) = port {
                m.set_in_port(OfpPort(u32::from(p)));
            }
            apply(&mut m, [src, dst, md, mark, recirc, hash]);
            if let Some((t, k)) = vlan {
                m.set_vlan_tci_masked(t, k);
            }
            for (i, x) in regs.into_iter().enumerate() {
                let reg = Field::Reg((r + u8::try_from(i).unwrap_or(0) * 5) % 16);
                apply(&mut m, [x.map(|(_, v, k)| (reg, v, k))]);
            }
            m
        })
}

/// Transport fields for IP protocol `proto` over IPv4 (`v6` false) or IPv6.
fn l4(proto: u8, v6: bool) -> BoxedStrategy<Vec<Option<Item>>> {
    match (proto, v6) {
        (6, _) => (opt(Field::TcpSrc), opt(Field::TcpDst), opt(Field::TcpFlags))
            .prop_map(|(a, b, c)| vec![a, b, c])
            .boxed(),
        (17, _) => (opt(Field::UdpSrc), opt(Field::UdpDst))
            .prop_map(|(a, b)| vec![a, b])
            .boxed(),
        (132, _) => (opt(Field::SctpSrc), opt(Field::SctpDst))
            .prop_map(|(a, b)| vec![a, b])
            .boxed(),
        (1, false) => (opt(Field::IcmpType), opt(Field::IcmpCode))
            .prop_map(|(a, b)| vec![a, b])
            .boxed(),
        (58, true) => prop_oneof![
            (opt(Field::Icmpv6Type), opt(Field::Icmpv6Code)).prop_map(|(a, b)| vec![a, b]),
            (opt(Field::NdTarget), opt(Field::NdSll)).prop_map(|(a, b)| vec![
                Some((Field::Icmpv6Type, 135, None)),
                Some((Field::Icmpv6Code, 0, None)),
                a,
                b
            ]),
            (opt(Field::NdTarget), opt(Field::NdTll)).prop_map(|(a, b)| vec![
                Some((Field::Icmpv6Type, 136, None)),
                Some((Field::Icmpv6Code, 0, None)),
                a,
                b
            ]),
        ]
        .boxed(),
        _ => Just(vec![]).boxed(),
    }
}

/// IPv4 or IPv6 fields, the protocol, and its transport fields.
fn ip(v6: bool) -> impl Strategy<Value = Vec<Option<Item>>> {
    let addrs = if v6 {
        (
            opt(Field::Ipv6Src),
            opt(Field::Ipv6Dst),
            opt(Field::Ipv6Label),
        )
            .prop_map(|(a, b, c)| vec![a, b, c])
            .boxed()
    } else {
        (opt(Field::Ipv4Src), opt(Field::Ipv4Dst))
            .prop_map(|(a, b)| vec![a, b])
            .boxed()
    };
    let protos: Vec<u8> = vec![6, 17, 132, 1, 58, 47];
    (
        addrs,
        opt(Field::NwTos),
        opt(Field::IpEcn),
        opt(Field::IpTtl),
        prop::option::weighted(0.3, 0u128..3),
        prop::option::weighted(0.8, prop::sample::select(protos)),
    )
        .prop_flat_map(move |(addrs, tos, ecn, ttl, frag, proto)| {
            let mut v = addrs;
            v.extend([tos, ecn, ttl]);
            // Fragments other than "later" ones keep their transport header.
            v.push(frag.map(|f| (Field::IpFrag, f & 1, Some(3))));
            if let Some(p) = proto {
                v.push(Some((Field::IpProto, u128::from(p), None)));
            }
            let rest = proto.map_or_else(|| Just(vec![]).boxed(), |p| l4(p, v6));
            (Just(v), rest).prop_map(|(mut a, b)| {
                a.extend(b);
                a
            })
        })
}

/// ARP or RARP fields.
fn arp() -> impl Strategy<Value = Vec<Option<Item>>> {
    (
        prop::option::weighted(0.5, 0u128..256),
        opt(Field::ArpSpa),
        opt(Field::ArpTpa),
        opt(Field::ArpSha),
        opt(Field::ArpTha),
    )
        .prop_map(|(op, a, b, c, d)| vec![op.map(|o| (Field::ArpOp, o, None)), a, b, c, d])
}

/// Any valid match (prerequisites hold).
pub(crate) fn any_match() -> impl Strategy<Value = Match> {
    match_with(vlan().boxed())
}

/// Any valid match that OXM can write without loss.
pub(crate) fn oxm_match() -> impl Strategy<Value = Match> {
    match_with(oxm_vlan().boxed())
}

fn match_with(vlan: BoxedStrategy<Option<(u16, u16)>>) -> impl Strategy<Value = Match> {
    let l3 = prop_oneof![
        Just((None, vec![])),
        ip(false).prop_map(|v| (Some(0x0800u16), v)),
        ip(true).prop_map(|v| (Some(0x86dd), v)),
        arp().prop_map(|v| (Some(0x0806), v)),
        arp().prop_map(|v| (Some(0x8035), v)),
        any::<u16>().prop_map(|t| (Some(t), vec![])),
    ];
    (base(vlan), l3).prop_map(|(mut m, (dl_type, fields))| {
        if let Some(t) = dl_type {
            m.set_dl_type(t);
            apply(&mut m, fields);
        }
        m.normalize();
        m
    })
}

/// Matches that OpenFlow 1.0 can mostly express: only its fields, exact or CIDR.
pub(crate) fn of10_match() -> impl Strategy<Value = Match> {
    (
        prop::option::of(any::<u16>()),
        prop::option::of(any::<[u8; 6]>()),
        prop::option::of(any::<[u8; 6]>()),
        of10_vlan(),
        prop::option::of(prop::sample::select(vec![
            0x0800u16, 0x0806, 0x86dd, 0x88cc,
        ])),
        prop::option::of(prop::sample::select(vec![1u8, 6, 17, 2])),
        (any::<u32>(), 0u32..=32, any::<u32>(), 0u32..=32),
        prop::option::of(0u8..64),
        (
            prop::option::of(any::<u16>()),
            prop::option::of(any::<u16>()),
        ),
    )
        .prop_map(
            |(port, src, dst, vlan, dl_type, proto, (s, sl, d, dl), tos, (tps, tpd))| {
                let mut m = Match::catchall();
                if let Some(p) = port {
                    m.set_in_port(OfpPort(u32::from(p)));
                }
                if let Some(a) = src {
                    m.set_dl_src(netdev::EthAddr(a));
                }
                if let Some(a) = dst {
                    m.set_dl_dst(netdev::EthAddr(a));
                }
                if let Some((t, k)) = vlan {
                    m.set_vlan_tci_masked(t, k);
                }
                if let Some(t) = dl_type {
                    m.set_dl_type(t);
                }
                if let Some(p) = proto {
                    m.set_nw_proto(p);
                }
                let cidr = |l: u32| if l == 0 { 0 } else { u32::MAX << (32 - l) };
                m.set_nw_src_masked(s.into(), cidr(sl).into());
                m.set_nw_dst_masked(d.into(), cidr(dl).into());
                if let Some(t) = tos {
                    let _ = m.set(Field::NwTos, u128::from(t) << 2);
                }
                if let Some(p) = tps {
                    m.set_tp_src(p);
                }
                if let Some(p) = tpd {
                    m.set_tp_dst(p);
                }
                m.normalize();
                m
            },
        )
}
