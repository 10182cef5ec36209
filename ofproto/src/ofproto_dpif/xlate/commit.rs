//! Committing header changes as datapath actions (OVS's `commit_odp_actions`).
//!
//! Translation rewrites a working [`Flow`]; the datapath packet still carries the *base*
//! flow (as of the last commit). Before an output, each datapath key attribute whose fields
//! differ between the two becomes one action: a `set_masked` that sets only the fields
//! that changed (masked by what translation un-wildcarded of them), or a plain `set` when
//! every field of the attribute is covered. VLAN tags that differ are popped from the base
//! and the working flow's pushed. The base then equals the working flow.
//!
//! Order, as OVS: Ethernet, then L3 (IPv4, IPv6 or ARP), L4 ports, ICMP type and code,
//! VLAN tags, `skb_priority`, `skb_mark`.

use dpif::odp::{
    self, ArpKey, EthKey, IcmpKey, Ipv4Key, Ipv6Key, KeyAttr, L4Key, eth_type, frag, ip_proto,
};

use crate::flow::{Flow, FlowWildcards, Loc, loc};

fn octets4(v: u128) -> [u8; 4] {
    u32::try_from(v & 0xffff_ffff).unwrap_or(0).to_be_bytes()
}

fn mac6(v: u128) -> [u8; 6] {
    let b = u64::try_from(v & 0xffff_ffff_ffff)
        .unwrap_or(0)
        .to_be_bytes();
    [b[2], b[3], b[4], b[5], b[6], b[7]]
}

fn u8_of(v: u128) -> u8 {
    u8::try_from(v & 0xff).unwrap_or(0)
}

fn u16_of(v: u128) -> u16 {
    u16::try_from(v & 0xffff).unwrap_or(0)
}

fn u32_of(v: u128) -> u32 {
    u32::try_from(v & 0xffff_ffff).unwrap_or(0)
}

/// The fields of one key attribute, their values in a flow, and the attribute they build.
struct Attr {
    locs: &'static [Loc],
    /// Builds the attribute from one value per location (a flow's or a mask's).
    build: fn(&[u128]) -> KeyAttr,
    /// Whether a masked set may be used (OVS never masks ICMP sets).
    maskable: bool,
    /// Number of leading locations that are writable; the rest (IPv4's proto and frag)
    /// ride along in the attribute with a zero mask.
    writable: usize,
}

const ETH_LOCS: [Loc; 2] = [loc::ETH_SRC, loc::ETH_DST];
const IPV4_LOCS: [Loc; 6] = [
    loc::NW_SRC,
    loc::NW_DST,
    loc::NW_TOS,
    loc::NW_TTL,
    loc::NW_PROTO,
    loc::NW_FRAG,
];
const IPV6_LOCS: [Loc; 7] = [
    loc::IPV6_SRC,
    loc::IPV6_DST,
    loc::IPV6_LABEL,
    loc::NW_TOS,
    loc::NW_TTL,
    loc::NW_PROTO,
    loc::NW_FRAG,
];
const ARP_LOCS: [Loc; 5] = [
    loc::NW_SRC,
    loc::NW_DST,
    loc::NW_PROTO,
    loc::ARP_SHA,
    loc::ARP_THA,
];
const L4_LOCS: [Loc; 2] = [loc::TP_SRC, loc::TP_DST];

fn eth(v: &[u128]) -> KeyAttr {
    KeyAttr::Ethernet(EthKey {
        src: mac6(v[0]),
        dst: mac6(v[1]),
    })
}

fn ipv4(v: &[u128]) -> KeyAttr {
    KeyAttr::Ipv4(Ipv4Key {
        src: octets4(v[0]),
        dst: octets4(v[1]),
        tos: u8_of(v[2]),
        ttl: u8_of(v[3]),
        proto: u8_of(v[4]),
        frag: u8_of(v[5]),
    })
}

fn ipv6(v: &[u128]) -> KeyAttr {
    KeyAttr::Ipv6(Ipv6Key {
        src: v[0].to_be_bytes(),
        dst: v[1].to_be_bytes(),
        label: u32_of(v[2]),
        tclass: u8_of(v[3]),
        hlimit: u8_of(v[4]),
        proto: u8_of(v[5]),
        frag: u8_of(v[6]),
    })
}

fn arp(v: &[u128]) -> KeyAttr {
    KeyAttr::Arp(ArpKey {
        sip: octets4(v[0]),
        tip: octets4(v[1]),
        op: u16_of(v[2]),
        sha: mac6(v[3]),
        tha: mac6(v[4]),
    })
}

fn tcp(v: &[u128]) -> KeyAttr {
    KeyAttr::Tcp(L4Key {
        src: u16_of(v[0]),
        dst: u16_of(v[1]),
    })
}

fn udp(v: &[u128]) -> KeyAttr {
    KeyAttr::Udp(L4Key {
        src: u16_of(v[0]),
        dst: u16_of(v[1]),
    })
}

fn sctp(v: &[u128]) -> KeyAttr {
    KeyAttr::Sctp(L4Key {
        src: u16_of(v[0]),
        dst: u16_of(v[1]),
    })
}

fn icmp(v: &[u128]) -> KeyAttr {
    KeyAttr::Icmp(IcmpKey {
        icmp_type: u8_of(v[0]),
        icmp_code: u8_of(v[1]),
    })
}

fn icmpv6(v: &[u128]) -> KeyAttr {
    KeyAttr::Icmpv6(IcmpKey {
        icmp_type: u8_of(v[0]),
        icmp_code: u8_of(v[1]),
    })
}

/// Commits one attribute (OVS's `commit()`): returns whether an action was emitted.
fn commit_attr(
    a: &Attr,
    flow: &Flow,
    base: &mut Flow,
    wc: &mut FlowWildcards,
    out: &mut Vec<odp::Action>,
) -> bool {
    let n = a.locs.len();
    let mut key = [0u128; 8];
    let mut mask = [0u128; 8];
    let mut differ = false;
    for (i, l) in a.locs.iter().enumerate() {
        key[i] = flow.get_loc(*l);
        if i >= a.writable {
            continue;
        }
        let diff = key[i] ^ base.get_loc(*l);
        if diff != 0 {
            differ = true;
            // What translation pinned of the field, which covers what it wrote; a field
            // that changed without being pinned is set whole.
            let pinned = wc.masks.get_loc(*l);
            mask[i] = if pinned & diff == diff {
                pinned
            } else {
                l.value_mask()
            };
        }
    }
    if !differ {
        return false;
    }
    let exact = (0..n).all(|i| mask[i] == a.locs[i].value_mask());
    if a.maskable && !exact {
        // Values outside the mask are zeroed, so that every packet of the megaflow gets
        // the same actions.
        let mut value = [0u128; 8];
        for i in 0..n {
            value[i] = key[i] & mask[i];
        }
        out.push(odp::Action::SetMasked {
            value: (a.build)(&value[..n]),
            mask: (a.build)(&mask[..n]),
        });
    } else {
        for (i, l) in a.locs.iter().enumerate().take(a.writable) {
            mask[i] = l.value_mask();
        }
        out.push(odp::Action::Set((a.build)(&key[..n])));
    }
    for (i, l) in a.locs.iter().enumerate().take(a.writable) {
        base.set_loc(*l, key[i]);
        wc.unwildcard_loc_bits(*l, mask[i]);
    }
    true
}

/// Emits the actions that turn a packet carrying `base` into one carrying `flow` (for the
/// fields the datapath can set), and makes `base` equal to `flow` in those fields.
pub(super) fn commit(
    flow: &Flow,
    base: &mut Flow,
    wc: &mut FlowWildcards,
    out: &mut Vec<odp::Action>,
) {
    commit_attr(
        &Attr {
            locs: &ETH_LOCS,
            build: eth,
            maskable: true,
            writable: 2,
        },
        flow,
        base,
        wc,
        out,
    );
    let l3 = match base.dl_type() {
        eth_type::IPV4 => Some(Attr {
            locs: &IPV4_LOCS,
            build: ipv4,
            maskable: true,
            writable: 4,
        }),
        eth_type::IPV6 => Some(Attr {
            locs: &IPV6_LOCS,
            build: ipv6,
            maskable: true,
            writable: 5,
        }),
        eth_type::ARP | eth_type::RARP => Some(Attr {
            locs: &ARP_LOCS,
            build: arp,
            maskable: true,
            writable: 5,
        }),
        _ => None,
    };
    if let Some(a) = l3 {
        commit_attr(&a, flow, base, wc, out);
    }
    if base.is_ip() && base.nw_frag() & frag::LATER == 0 {
        let (build, maskable): (fn(&[u128]) -> KeyAttr, bool) = match base.nw_proto() {
            ip_proto::TCP => (tcp, true),
            ip_proto::UDP => (udp, true),
            ip_proto::SCTP => (sctp, true),
            ip_proto::ICMP if base.dl_type() == eth_type::IPV4 => (icmp, false),
            ip_proto::ICMPV6 if base.dl_type() == eth_type::IPV6 => (icmpv6, false),
            _ => (tcp, false),
        };
        let known = matches!(
            base.nw_proto(),
            ip_proto::TCP | ip_proto::UDP | ip_proto::SCTP | ip_proto::ICMP | ip_proto::ICMPV6
        );
        if known {
            commit_attr(
                &Attr {
                    locs: &L4_LOCS,
                    build,
                    maskable,
                    writable: 2,
                },
                flow,
                base,
                wc,
                out,
            );
        }
    }
    commit_vlans(flow, base, wc, out);
    if flow.skb_priority() != base.skb_priority() {
        out.push(odp::Action::Set(KeyAttr::Priority(flow.skb_priority())));
        base.set_skb_priority(flow.skb_priority());
        wc.unwildcard_loc(loc::SKB_PRIORITY);
    }
    if flow.pkt_mark() != base.pkt_mark() {
        out.push(odp::Action::Set(KeyAttr::SkbMark(flow.pkt_mark())));
        base.set_pkt_mark(flow.pkt_mark());
        wc.unwildcard_loc(loc::PKT_MARK);
    }
}

/// The present VLAN tags of a flow, outermost first.
fn tags(f: &Flow) -> Vec<odp::Vlan> {
    (0..2)
        .map(|i| f.vlan(i))
        .take_while(|v| v.present())
        .collect()
}

/// Pops the base's tags that differ and pushes the flow's (OVS's `commit_vlan_action`):
/// tags common to both on the inner side stay.
fn commit_vlans(flow: &Flow, base: &mut Flow, wc: &mut FlowWildcards, out: &mut Vec<odp::Action>) {
    let b = tags(base);
    let f = tags(flow);
    let same = |x: &odp::Vlan, y: &odp::Vlan| {
        x.tci == y.tci && (x.tpid == y.tpid || x.tpid == 0 || y.tpid == 0)
    };
    let mut common = 0;
    while common < b.len()
        && common < f.len()
        && same(&b[b.len() - 1 - common], &f[f.len() - 1 - common])
    {
        common += 1;
    }
    let n_pop = b.len() - common;
    let n_push = f.len() - common;
    if n_pop == 0 && n_push == 0 {
        return;
    }
    for i in 0..n_pop {
        out.push(odp::Action::PopVlan);
        let (tpid, tci) = if i == 0 {
            (loc::VLAN0_TPID, loc::VLAN0_TCI)
        } else {
            (loc::VLAN1_TPID, loc::VLAN1_TCI)
        };
        wc.unwildcard_loc(tpid);
        wc.unwildcard_loc(tci);
    }
    for v in f[..n_push].iter().rev() {
        let tpid = if v.tpid == 0 { eth_type::VLAN } else { v.tpid };
        out.push(odp::Action::PushVlan { tpid, tci: v.tci });
    }
    base.set_vlan(0, flow.vlan(0));
    base.set_vlan(1, flow.vlan(1));
}

#[cfg(test)]
mod tests {
    use super::*;
    use netdev::EthAddr;
    use std::net::Ipv4Addr;

    fn ip_flow() -> Flow {
        let mut f = Flow::zero();
        f.set_dl_type(eth_type::IPV4);
        f.set_nw_proto(ip_proto::TCP);
        f.set_nw_src(Ipv4Addr::new(10, 0, 0, 1));
        f.set_nw_dst(Ipv4Addr::new(10, 0, 0, 2));
        f.set_tp_dst(80);
        f
    }

    #[test]
    fn nothing_changed_nothing_emitted() {
        let f = ip_flow();
        let mut base = f;
        let mut wc = FlowWildcards::catchall();
        let mut out = vec![];
        commit(&f, &mut base, &mut wc, &mut out);
        assert!(out.is_empty());
        assert!(wc.masks.is_zero());
    }

    #[test]
    fn masked_sets_for_changed_fields() {
        let mut base = ip_flow();
        let mut f = base;
        f.set_dl_dst(EthAddr([0, 0, 0, 0, 0, 2]));
        f.set_nw_dst(Ipv4Addr::new(192, 168, 0, 1));
        f.set_tp_dst(8080);
        let mut wc = FlowWildcards::catchall();
        let mut out = vec![];
        commit(&f, &mut base, &mut wc, &mut out);
        assert_eq!(out.len(), 3, "{out:?}");
        let text = dpif::odp::format_actions(&out, &dpif::odp::FormatOptions::terse());
        assert_eq!(
            text,
            "set(eth(dst=00:00:00:00:00:02)),set(ipv4(dst=192.168.0.1)),set(tcp(dst=8080))"
        );
        assert_eq!(base.tp_dst(), 8080);
        assert_eq!(wc.masks.tp_dst(), 0xffff);
        assert_eq!(wc.masks.tp_src(), 0);
        // Committing again emits nothing.
        let mut out2 = vec![];
        commit(&f, &mut base, &mut wc, &mut out2);
        assert!(out2.is_empty());
    }

    #[test]
    fn whole_ethernet_is_a_plain_set() {
        let mut base = ip_flow();
        let mut f = base;
        f.set_dl_src(EthAddr([0, 0, 0, 0, 0, 1]));
        f.set_dl_dst(EthAddr([0, 0, 0, 0, 0, 2]));
        let mut wc = FlowWildcards::catchall();
        let mut out = vec![];
        commit(&f, &mut base, &mut wc, &mut out);
        assert!(matches!(out[..], [odp::Action::Set(KeyAttr::Ethernet(_))]));
    }

    #[test]
    fn vlan_push_pop_modify() {
        let untagged = ip_flow();
        let mut tagged = untagged;
        tagged.set_vlan(
            0,
            odp::Vlan {
                tpid: eth_type::VLAN,
                tci: odp::vlan::CFI | 10,
            },
        );
        let mut wc = FlowWildcards::catchall();
        let mut out = vec![];
        let mut base = untagged;
        commit(&tagged, &mut base, &mut wc, &mut out);
        assert_eq!(
            out,
            vec![odp::Action::PushVlan {
                tpid: eth_type::VLAN,
                tci: odp::vlan::CFI | 10
            }]
        );
        out.clear();
        commit(&untagged, &mut base, &mut wc, &mut out);
        assert_eq!(out, vec![odp::Action::PopVlan]);
        let mut other = tagged;
        other.set_vlan_tci(odp::vlan::CFI | 20);
        let mut base = tagged;
        out.clear();
        commit(&other, &mut base, &mut wc, &mut out);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0], odp::Action::PopVlan);
    }
}
