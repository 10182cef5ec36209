//! Executing datapath actions on a packet, as OVS's `lib/odp-execute.c` does.
//!
//! [`execute`] runs a list of [`Action`]s on one packet whose [`FlowKey`] was extracted
//! with [`extract`](super::extract()) (so `pkt.md`'s layer offsets are set). Actions that
//! leave the datapath (output, userspace, recirculation, meters) go through
//! [`ExecuteCallbacks`]; everything else rewrites the packet in place.
//!
//! # Ownership
//!
//! The packet is moved in. An `output` (or `recirc`) that is the last action moves it out;
//! one followed by more actions sends a copy. `clone` and `sample` run their nested actions
//! on a copy unless they are last. When the actions end without handing the packet out, it
//! is dropped (its buffer returns to the thread's pool).
//!
//! # Checksums and offloads
//!
//! Set actions update checksums incrementally: the IPv4 header checksum, and the TCP, UDP
//! and ICMPv6 checksums for changes to their pseudo header (IP addresses) or to the covered
//! bytes (ports, ICMP type and code, ND target and link-layer options). A UDP checksum of 0
//! (none) stays 0; one that would become 0 is written as `0xffff`. SCTP's CRC32c is
//! recomputed so that a wrong checksum stays exactly as wrong.
//!
//! When `pkt.offload.csum` is [`Checksum::Partial`], the L4 checksum field holds the
//! pseudo-header sum: address changes update it with the partial rule, and changes to the
//! segment leave it alone, since the output netdev (or the receiving host) sums the segment
//! later. Nothing here finishes a partial checksum. VLAN push and pop move the partial
//! checksum start and the GSO header length with the data ([`netdev::Offload::shift`]).
//!
//! # Panics
//!
//! Never, whatever the packet, key and actions: an action whose header is missing or
//! truncated does nothing, as in OVS.

use std::cell::Cell;

use netdev::{Checksum, OFS_UNSET, Packet, PacketType};

use super::OdpPort;
use super::action::{Action, HashAlg, Userspace};
use super::attr::{ArpKey, EthKey, IcmpKey, Ipv4Key, Ipv6Key, KeyAttr, L4Key, NdKey};
use super::csum;
use super::extract::{
    ARP_ETH_LEN, ETH_HEADER_LEN, ETH_TYPE_OFS, ICMP_HEADER_LEN, IPV6_HEADER_LEN,
    ND_NEIGHBOR_ADVERT, ND_NEIGHBOR_SOLICIT, ND_OPT_SOURCE_LINKADDR, ND_OPT_TARGET_LINKADDR,
    SCTP_HEADER_LEN, TCP_HEADER_LEN, UDP_HEADER_LEN, arr, be16, be32, extract, hash_5tuple,
    hash_5tuple_symmetric, ipv4_lengths, ipv6_payload_len, is_vlan_tpid, walk_ipv6_exts,
};
use super::hash;
use super::key::{FlowKey, Vlan, eth_type, frag, ip_proto, vlan};

/// What [`execute`] needs from the datapath: the actions that hand the packet (or a copy)
/// to something outside the packet itself.
pub trait ExecuteCallbacks {
    /// Send `pkt` out of datapath port `port`.
    fn output(&mut self, port: OdpPort, pkt: Packet);
    /// A `userspace` action: send a copy of the packet up.
    fn userspace(&mut self, pkt: &Packet, action: &Userspace);
    /// A `recirc` action: run the packet through the datapath again. `pkt.md.recirc_id` is
    /// already `recirc_id`.
    fn recirc(&mut self, pkt: Packet, recirc_id: u32);
    /// A `meter` action: return false to drop the packet.
    fn meter(&mut self, _pkt: &Packet, _meter_id: u32) -> bool {
        true
    }
}

/// Deepest nesting of `clone` and `sample` actions executed; deeper nested lists are
/// skipped (their copy is dropped), so a hostile action list cannot exhaust the stack.
pub const MAX_NESTING: u32 = 16;

/// Executes `actions` on `pkt`, whose extracted key is `key` (see the module documentation
/// for ownership, checksums and offloads). Set actions keep a private copy of the key up
/// to date, so that a later `hash` sees rewritten fields. Allocates only to copy a packet
/// that must go to two places; never panics.
pub fn execute(pkt: Packet, key: &FlowKey, actions: &[Action], cb: &mut impl ExecuteCallbacks) {
    let mut key = *key;
    run(pkt, &mut key, actions, cb, 0, None);
}

/// Runs the nested actions of a `sample` or `clone` (`what`) on `pkt`, one level deeper, on
/// a copy of the key: what they change stays inside them. Past [`MAX_NESTING`] levels the
/// nested actions are skipped.
fn nested<C: ExecuteCallbacks>(
    what: &str,
    pkt: Packet,
    key: &FlowKey,
    actions: &[Action],
    cb: &mut C,
    depth: u32,
    trunc: Option<u32>,
) {
    if depth >= MAX_NESTING {
        tracing::debug!("{what} nested deeper than {MAX_NESTING}: skipped");
        return;
    }
    let mut k = *key;
    run(pkt, &mut k, actions, cb, depth + 1, trunc);
}

fn run<C: ExecuteCallbacks>(
    mut pkt: Packet,
    key: &mut FlowKey,
    actions: &[Action],
    cb: &mut C,
    depth: u32,
    mut trunc: Option<u32>,
) {
    let n = actions.len();
    for (i, action) in actions.iter().enumerate() {
        let last = i + 1 == n;
        match action {
            Action::Output(port) => {
                if last {
                    if let Some(max) = trunc {
                        apply_trunc(&mut pkt, max);
                    }
                    cb.output(*port, pkt);
                    return;
                }
                let mut copy = pkt.clone_packet();
                if let Some(max) = trunc.take() {
                    apply_trunc(&mut copy, max);
                }
                cb.output(*port, copy);
            }
            Action::Userspace(u) => cb.userspace(&pkt, u),
            Action::Set(value) => set_field(&mut pkt, key, value, None),
            Action::SetMasked { value, mask } => set_field(&mut pkt, key, value, Some(mask)),
            Action::PushVlan { tpid, tci } => push_vlan(&mut pkt, key, *tpid, *tci),
            Action::PopVlan => pop_vlan(&mut pkt, key),
            Action::Sample {
                probability,
                actions,
            } => {
                if !sample_hit(*probability) {
                    continue;
                }
                if last {
                    nested("sample", pkt, key, actions, cb, depth, trunc);
                    return;
                }
                nested(
                    "sample",
                    pkt.clone_packet(),
                    key,
                    actions,
                    cb,
                    depth,
                    trunc.take(),
                );
            }
            Action::Clone(actions) => {
                if last {
                    nested("clone", pkt, key, actions, cb, depth, trunc);
                    return;
                }
                nested(
                    "clone",
                    pkt.clone_packet(),
                    key,
                    actions,
                    cb,
                    depth,
                    trunc.take(),
                );
            }
            Action::Recirc(id) => {
                if last {
                    pkt.md.recirc_id = *id;
                    cb.recirc(pkt, *id);
                    return;
                }
                let mut copy = pkt.clone_packet();
                copy.md.recirc_id = *id;
                cb.recirc(copy, *id);
            }
            Action::Hash { alg, basis } => {
                let h = match alg {
                    // A hash from the device is as good for a flow and cheaper, as in OVS.
                    HashAlg::L4 => match pkt.md.rss_hash {
                        Some(rss) => hash_int(rss, *basis),
                        None => hash_5tuple(key, *basis),
                    },
                    HashAlg::SymL4 => hash_5tuple_symmetric(key, *basis),
                    HashAlg::Other(alg) => {
                        tracing::debug!("hash action with unknown algorithm {alg}: ignored");
                        continue;
                    }
                };
                pkt.md.dp_hash = h;
                key.dp_hash = h;
            }
            Action::Trunc(max) => trunc = Some(*max),
            Action::CtClear => {}
            Action::Meter(id) => {
                if !cb.meter(&pkt, *id) {
                    return;
                }
            }
            Action::Drop(_) => return,
            other => tracing::debug!("datapath action not executed here: {other:?}"),
        }
    }
}

/// Shortens `pkt` to `max` bytes for a `trunc` action. A truncated packet is no longer a GSO
/// super-frame, and a partial checksum whose field was cut off is forgotten.
fn apply_trunc(pkt: &mut Packet, max: u32) {
    let max = usize::try_from(max).unwrap_or(usize::MAX);
    if pkt.len() <= max {
        return;
    }
    pkt.truncate(max);
    pkt.offload.gso = None;
    if let Checksum::Partial { start, offset } = pkt.offload.csum
        && usize::from(start) + usize::from(offset) + 2 > max
    {
        pkt.offload.csum = Checksum::Unknown;
    }
}

#[inline]
fn hash_int(x: u32, basis: u32) -> u32 {
    let h = hash::finish(hash::mix(u64::from(basis), u64::from(x)));
    let b = h.to_le_bytes();
    u32::from_le_bytes([b[0], b[1], b[2], b[3]]) ^ u32::from_le_bytes([b[4], b[5], b[6], b[7]])
}

thread_local! {
    static RNG: Cell<u64> = const { Cell::new(0) };
}

/// A cheap per-thread pseudo-random `u32` (xorshift64*), seeded from the process's random
/// hasher keys on first use. Not for cryptography; for sampling.
fn random_u32() -> u32 {
    use std::hash::BuildHasher;
    let x = RNG
        .try_with(|s| {
            let mut x = s.get();
            if x == 0 {
                let rs = std::collections::hash_map::RandomState::new();
                x = rs.hash_one(s as *const Cell<u64> as usize) | 1;
            }
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            s.set(x);
            x
        })
        .unwrap_or(0x9e37_79b9_7f4a_7c15);
    let b = x.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes();
    u32::from_le_bytes([b[4], b[5], b[6], b[7]])
}

/// Whether a `sample` with `probability` (a fraction of `u32::MAX`) runs its actions.
fn sample_hit(probability: u32) -> bool {
    match probability {
        0 => false,
        u32::MAX => true,
        p => random_u32() < p,
    }
}

// ---------------------------------------------------------------------------------------
// Helpers over packet bytes.

#[inline]
fn ofs(o: u16) -> Option<usize> {
    (o != OFS_UNSET).then_some(usize::from(o))
}

#[inline]
fn put(d: &mut [u8], at: usize, bytes: &[u8]) {
    if let Some(s) = at
        .checked_add(bytes.len())
        .and_then(|end| d.get_mut(at..end))
    {
        s.copy_from_slice(bytes);
    }
}

#[inline]
fn put16(d: &mut [u8], at: usize, v: u16) {
    put(d, at, &v.to_be_bytes());
}

/// `value` where `mask` is 1, `old` where it is 0, byte by byte.
#[inline]
fn mix_bytes<const N: usize>(old: [u8; N], value: &[u8; N], mask: &[u8; N]) -> [u8; N] {
    let mut out = old;
    for ((o, v), m) in out.iter_mut().zip(value).zip(mask) {
        *o = (v & m) | (*o & !m);
    }
    out
}

macro_rules! mix_int {
    ($old:expr, $value:expr, $mask:expr) => {
        ($value & $mask) | ($old & !$mask)
    };
}

/// Where an L4 checksum that covers changed bytes lives, and in which state.
#[derive(Clone, Copy, Debug)]
enum L4Csum {
    /// No checksum to update.
    None,
    /// A full checksum at this offset; `udp` for UDP's "0 means none" rule.
    Full { at: usize, udp: bool },
    /// A partial checksum (pseudo-header sum) at this offset.
    Partial { at: usize },
}

impl L4Csum {
    /// Updates the checksum after covered bytes `old` became `new`: for pseudo-header
    /// bytes when `pseudo`, for segment bytes otherwise (a partial checksum ignores those).
    fn update(self, d: &mut [u8], old: &[u8], new: &[u8], pseudo: bool) {
        match self {
            L4Csum::None => {}
            L4Csum::Full { at, udp } => {
                let Some(c) = be16(d, at) else { return };
                if udp && c == 0 {
                    return;
                }
                let mut c = csum::update(c, old, new);
                if udp && c == 0 {
                    c = 0xffff;
                }
                put16(d, at, c);
            }
            L4Csum::Partial { at } => {
                if pseudo && let Some(c) = be16(d, at) {
                    put16(d, at, csum::update_partial(c, old, new));
                }
            }
        }
    }
}

/// The checksum of the L4 header at `l4` (with `l4_len` bytes to the end of the IP
/// payload) for the key's protocol, if it covers a pseudo header and the header is there.
fn l4_csum(pkt: &Packet, key: &FlowKey, l4: usize, l4_len: usize) -> L4Csum {
    if key.nw_frag & frag::LATER != 0 {
        return L4Csum::None;
    }
    let v6 = key.eth_type == eth_type::IPV6;
    let (field, min, udp) = match key.nw_proto {
        ip_proto::TCP => (16, TCP_HEADER_LEN, false),
        ip_proto::UDP => (6, UDP_HEADER_LEN, true),
        ip_proto::ICMPV6 if v6 => (2, 4, false),
        _ => return L4Csum::None,
    };
    if l4_len < min {
        return L4Csum::None;
    }
    if let Checksum::Partial { start, offset } = pkt.offload.csum {
        let at = usize::from(start) + usize::from(offset);
        return if at + 2 <= pkt.len() {
            L4Csum::Partial { at }
        } else {
            L4Csum::None
        };
    }
    L4Csum::Full {
        at: l4 + field,
        udp,
    }
}

/// The end of the IP payload (where L2 padding starts), for a sane IP header at `l3`.
fn ip_end(d: &[u8], key: &FlowKey, l3: usize) -> Option<usize> {
    match key.eth_type {
        eth_type::IPV4 => ipv4_lengths(d, l3).map(|(_, tot)| l3 + tot),
        eth_type::IPV6 => ipv6_payload_len(d, l3).map(|p| l3 + IPV6_HEADER_LEN + p),
        _ => None,
    }
}

/// The L4 offset and the end of the IP payload, when the key says the packet has an L4
/// header of `proto` (not in a later fragment) and at least `min` bytes of it are there.
fn l4_span(pkt: &Packet, key: &FlowKey, proto: u8, min: usize) -> Option<(usize, usize)> {
    if key.nw_proto != proto || key.nw_frag & frag::LATER != 0 {
        return None;
    }
    let l3 = ofs(pkt.md.l3_ofs)?;
    let l4 = ofs(pkt.md.l4_ofs)?;
    let end = ip_end(pkt.data(), key, l3)?;
    (l4 + min <= end).then_some((l4, end))
}

// ---------------------------------------------------------------------------------------
// Set actions.

macro_rules! mask_or_full {
    ($mask:expr, $variant:ident, $full:expr) => {
        match $mask {
            None => $full,
            Some(KeyAttr::$variant(m)) => *m,
            Some(other) => {
                tracing::debug!("set_masked with a mismatched mask {other:?}: ignored");
                return;
            }
        }
    };
}

/// A `set` (`mask` is `None`: every field the action can set) or `set_masked`.
fn set_field(pkt: &mut Packet, key: &mut FlowKey, value: &KeyAttr, mask: Option<&KeyAttr>) {
    match value {
        KeyAttr::Priority(v) => {
            let m = mask_or_full!(mask, Priority, u32::MAX);
            pkt.md.skb_priority = mix_int!(pkt.md.skb_priority, v, m);
            key.skb_priority = pkt.md.skb_priority;
        }
        KeyAttr::SkbMark(v) => {
            let m = mask_or_full!(mask, SkbMark, u32::MAX);
            pkt.md.skb_mark = mix_int!(pkt.md.skb_mark, v, m);
            key.skb_mark = pkt.md.skb_mark;
        }
        KeyAttr::DpHash(v) => {
            let m = mask_or_full!(mask, DpHash, u32::MAX);
            pkt.md.dp_hash = mix_int!(pkt.md.dp_hash, v, m);
            key.dp_hash = pkt.md.dp_hash;
        }
        KeyAttr::RecircId(v) => {
            let m = mask_or_full!(mask, RecircId, u32::MAX);
            pkt.md.recirc_id = mix_int!(pkt.md.recirc_id, v, m);
            key.recirc_id = pkt.md.recirc_id;
        }
        KeyAttr::Ethernet(v) => {
            let full = EthKey {
                src: [0xff; 6],
                dst: [0xff; 6],
            };
            let m = mask_or_full!(mask, Ethernet, full);
            set_eth(pkt, key, v, &m);
        }
        KeyAttr::Ipv4(v) => {
            let full = Ipv4Key {
                src: [0xff; 4],
                dst: [0xff; 4],
                proto: 0,
                tos: 0xff,
                ttl: 0xff,
                frag: 0,
            };
            let m = mask_or_full!(mask, Ipv4, full);
            set_ipv4(pkt, key, v, &m);
        }
        KeyAttr::Ipv6(v) => {
            let full = Ipv6Key {
                src: [0xff; 16],
                dst: [0xff; 16],
                label: 0x000f_ffff,
                proto: 0,
                tclass: 0xff,
                hlimit: 0xff,
                frag: 0,
            };
            let m = mask_or_full!(mask, Ipv6, full);
            set_ipv6(pkt, key, v, &m);
        }
        KeyAttr::Tcp(v) => {
            let m = mask_or_full!(mask, Tcp, L4Key { src: !0, dst: !0 });
            set_ports(pkt, key, ip_proto::TCP, v, &m);
        }
        KeyAttr::Udp(v) => {
            let m = mask_or_full!(mask, Udp, L4Key { src: !0, dst: !0 });
            set_ports(pkt, key, ip_proto::UDP, v, &m);
        }
        KeyAttr::Sctp(v) => {
            let m = mask_or_full!(mask, Sctp, L4Key { src: !0, dst: !0 });
            set_ports(pkt, key, ip_proto::SCTP, v, &m);
        }
        KeyAttr::Icmp(v) => {
            let full = IcmpKey {
                icmp_type: 0xff,
                icmp_code: 0xff,
            };
            let m = mask_or_full!(mask, Icmp, full);
            set_icmp(pkt, key, ip_proto::ICMP, v, &m);
        }
        KeyAttr::Icmpv6(v) => {
            let full = IcmpKey {
                icmp_type: 0xff,
                icmp_code: 0xff,
            };
            let m = mask_or_full!(mask, Icmpv6, full);
            set_icmp(pkt, key, ip_proto::ICMPV6, v, &m);
        }
        KeyAttr::Arp(v) => {
            let full = ArpKey {
                sip: [0xff; 4],
                tip: [0xff; 4],
                op: 0xffff,
                sha: [0xff; 6],
                tha: [0xff; 6],
            };
            let m = mask_or_full!(mask, Arp, full);
            set_arp(pkt, key, v, &m);
        }
        KeyAttr::Nd(v) => {
            let full = NdKey {
                target: [0xff; 16],
                sll: [0xff; 6],
                tll: [0xff; 6],
            };
            let m = mask_or_full!(mask, Nd, full);
            set_nd(pkt, key, v, &m);
        }
        other => tracing::debug!("set of {other:?} not executed here: ignored"),
    }
}

fn set_eth(pkt: &mut Packet, key: &mut FlowKey, v: &EthKey, m: &EthKey) {
    if pkt.md.packet_type != PacketType::ETHERNET {
        return;
    }
    let d = pkt.data_mut();
    let (Some(dst), Some(src)) = (arr::<6>(d, 0), arr::<6>(d, 6)) else {
        return;
    };
    let dst = mix_bytes(dst, &v.dst, &m.dst);
    let src = mix_bytes(src, &v.src, &m.src);
    put(d, 0, &dst);
    put(d, 6, &src);
    key.eth_dst = dst;
    key.eth_src = src;
}

fn set_ipv4(pkt: &mut Packet, key: &mut FlowKey, v: &Ipv4Key, m: &Ipv4Key) {
    if key.eth_type != eth_type::IPV4 {
        return;
    }
    let Some(l3) = ofs(pkt.md.l3_ofs) else { return };
    let Some((ip_len, tot_len)) = ipv4_lengths(pkt.data(), l3) else {
        return;
    };
    let l4c = l4_csum(pkt, key, l3 + ip_len, tot_len - ip_len);
    let d = pkt.data_mut();
    let (Some(mut ipsum), Some(w0), Some(w8)) =
        (be16(d, l3 + 10), arr::<2>(d, l3), arr::<2>(d, l3 + 8))
    else {
        return;
    };
    for (at, value, mask, field) in [
        (l3 + 12, &v.src, &m.src, &mut key.ipv4_src),
        (l3 + 16, &v.dst, &m.dst, &mut key.ipv4_dst),
    ] {
        let Some(old) = arr::<4>(d, at) else { return };
        let new = mix_bytes(old, value, mask);
        if new != old {
            ipsum = csum::update(ipsum, &old, &new);
            l4c.update(d, &old, &new, true);
            put(d, at, &new);
        }
        *field = new;
    }
    let tos = mix_int!(w0[1], v.tos, m.tos);
    if tos != w0[1] {
        ipsum = csum::update(ipsum, &w0, &[w0[0], tos]);
        put(d, l3 + 1, &[tos]);
    }
    let ttl = mix_int!(w8[0], v.ttl, m.ttl);
    if ttl != w8[0] {
        ipsum = csum::update(ipsum, &w8, &[ttl, w8[1]]);
        put(d, l3 + 8, &[ttl]);
    }
    put16(d, l3 + 10, ipsum);
    key.nw_tos = tos;
    key.nw_ttl = ttl;
}

fn set_ipv6(pkt: &mut Packet, key: &mut FlowKey, v: &Ipv6Key, m: &Ipv6Key) {
    if key.eth_type != eth_type::IPV6 {
        return;
    }
    let Some(l3) = ofs(pkt.md.l3_ofs) else { return };
    let d = pkt.data();
    let Some(plen) = ipv6_payload_len(d, l3) else {
        return;
    };
    let end = l3 + IPV6_HEADER_LEN + plen;
    let nh = d.get(l3 + 6).copied().unwrap_or(ip_proto::NONE);
    let exts = d
        .get(l3 + IPV6_HEADER_LEN..end)
        .and_then(|p| walk_ipv6_exts(p, nh));
    let (l4c, rh_active) = match (exts, ofs(pkt.md.l4_ofs)) {
        (Some(x), Some(l4)) if l4 <= end => (l4_csum(pkt, key, l4, end - l4), x.rh_active),
        _ => (L4Csum::None, false),
    };
    let d = pkt.data_mut();
    let (Some(src), Some(dst), Some(w0), Some(hlim)) = (
        arr::<16>(d, l3 + 8),
        arr::<16>(d, l3 + 24),
        be32(d, l3),
        d.get(l3 + 7).copied(),
    ) else {
        return;
    };
    let new_src = mix_bytes(src, &v.src, &m.src);
    if new_src != src {
        l4c.update(d, &src, &new_src, true);
        put(d, l3 + 8, &new_src);
    }
    let new_dst = mix_bytes(dst, &v.dst, &m.dst);
    if new_dst != dst {
        // With segments left in a routing header, the pseudo header has the final
        // destination, which this does not change.
        if !rh_active {
            l4c.update(d, &dst, &new_dst, true);
        }
        put(d, l3 + 24, &new_dst);
    }
    let tclass = (w0 >> 20).to_be_bytes()[3];
    let tclass = mix_int!(tclass, v.tclass, m.tclass);
    let label = mix_int!(w0 & 0x000f_ffff, v.label, m.label) & 0x000f_ffff;
    let w = (w0 & 0xf000_0000) | (u32::from(tclass) << 20) | label;
    put(d, l3, &w.to_be_bytes());
    let hlim = mix_int!(hlim, v.hlimit, m.hlimit);
    put(d, l3 + 7, &[hlim]);
    key.ipv6_src = new_src;
    key.ipv6_dst = new_dst;
    key.nw_tos = tclass;
    key.ipv6_label = label;
    key.nw_ttl = hlim;
}

fn set_ports(pkt: &mut Packet, key: &mut FlowKey, proto: u8, v: &L4Key, m: &L4Key) {
    if !key.is_ip() {
        return;
    }
    let min = match proto {
        ip_proto::TCP => TCP_HEADER_LEN,
        ip_proto::UDP => UDP_HEADER_LEN,
        _ => SCTP_HEADER_LEN,
    };
    let Some((l4, end)) = l4_span(pkt, key, proto, min) else {
        return;
    };
    let partial = matches!(pkt.offload.csum, Checksum::Partial { .. });
    let d = pkt.data_mut();
    let Some(old) = arr::<4>(d, l4) else { return };
    let sp = mix_int!(u16::from_be_bytes([old[0], old[1]]), v.src, m.src);
    let dp = mix_int!(u16::from_be_bytes([old[2], old[3]]), v.dst, m.dst);
    let [a, b] = sp.to_be_bytes();
    let [c, e] = dp.to_be_bytes();
    let new = [a, b, c, e];
    key.tp_src = sp;
    key.tp_dst = dp;
    if new == old {
        return;
    }
    match proto {
        ip_proto::TCP | ip_proto::UDP => {
            if !partial {
                let at = if proto == ip_proto::TCP {
                    l4 + 16
                } else {
                    l4 + 6
                };
                let udp = proto == ip_proto::UDP;
                L4Csum::Full { at, udp }.update(d, &old, &new, false);
            }
            put(d, l4, &new);
        }
        _ => {
            // SCTP: keep the checksum exactly as right or wrong as it was.
            let Some(seg) = d.get_mut(l4..end) else {
                return;
            };
            let Some(stored) = arr::<4>(seg, 8) else {
                return;
            };
            put(seg, 8, &[0; 4]);
            let before = csum::crc32c(seg);
            put(seg, 0, &new);
            let after = csum::crc32c(seg);
            let fixed = u32::from_le_bytes(stored) ^ before ^ after;
            put(seg, 8, &fixed.to_le_bytes());
        }
    }
}

fn set_icmp(pkt: &mut Packet, key: &mut FlowKey, proto: u8, v: &IcmpKey, m: &IcmpKey) {
    let ok_l3 = match proto {
        ip_proto::ICMP => key.eth_type == eth_type::IPV4,
        _ => key.eth_type == eth_type::IPV6,
    };
    if !ok_l3 {
        return;
    }
    let Some((l4, _)) = l4_span(pkt, key, proto, ICMP_HEADER_LEN) else {
        return;
    };
    let partial = matches!(pkt.offload.csum, Checksum::Partial { .. });
    let d = pkt.data_mut();
    let Some(old) = arr::<2>(d, l4) else { return };
    let new = [
        mix_int!(old[0], v.icmp_type, m.icmp_type),
        mix_int!(old[1], v.icmp_code, m.icmp_code),
    ];
    if new != old {
        if !partial {
            L4Csum::Full {
                at: l4 + 2,
                udp: false,
            }
            .update(d, &old, &new, false);
        }
        put(d, l4, &new);
    }
    key.tp_src = u16::from(new[0]);
    key.tp_dst = u16::from(new[1]);
}

fn set_arp(pkt: &mut Packet, key: &mut FlowKey, v: &ArpKey, m: &ArpKey) {
    if !key.is_arp() {
        return;
    }
    let Some(l3) = ofs(pkt.md.l3_ofs) else { return };
    let d = pkt.data_mut();
    let Some(a) = arr::<ARP_ETH_LEN>(d, l3) else {
        return;
    };
    let op = mix_int!(u16::from_be_bytes([a[6], a[7]]), v.op, m.op);
    let sha = mix_bytes([a[8], a[9], a[10], a[11], a[12], a[13]], &v.sha, &m.sha);
    let spa = mix_bytes([a[14], a[15], a[16], a[17]], &v.sip, &m.sip);
    let tha = mix_bytes([a[18], a[19], a[20], a[21], a[22], a[23]], &v.tha, &m.tha);
    let tpa = mix_bytes([a[24], a[25], a[26], a[27]], &v.tip, &m.tip);
    put16(d, l3 + 6, op);
    put(d, l3 + 8, &sha);
    put(d, l3 + 14, &spa);
    put(d, l3 + 18, &tha);
    put(d, l3 + 24, &tpa);
    key.nw_proto = u8::try_from(op).unwrap_or(0);
    key.arp_sha = sha;
    key.ipv4_src = spa;
    key.arp_tha = tha;
    key.ipv4_dst = tpa;
}

fn set_nd(pkt: &mut Packet, key: &mut FlowKey, v: &NdKey, m: &NdKey) {
    if key.eth_type != eth_type::IPV6
        || key.tp_dst != 0
        || (key.tp_src != u16::from(ND_NEIGHBOR_SOLICIT)
            && key.tp_src != u16::from(ND_NEIGHBOR_ADVERT))
    {
        return;
    }
    // ICMPv6 header (8 bytes) and the target address.
    let Some((l4, end)) = l4_span(pkt, key, ip_proto::ICMPV6, 24) else {
        return;
    };
    let l4c = if matches!(pkt.offload.csum, Checksum::Partial { .. }) {
        L4Csum::None
    } else {
        L4Csum::Full {
            at: l4 + 2,
            udp: false,
        }
    };
    let d = pkt.data_mut();
    let Some(target) = arr::<16>(d, l4 + 8) else {
        return;
    };
    let new = mix_bytes(target, &v.target, &m.target);
    if new != target {
        l4c.update(d, &target, &new, false);
        put(d, l4 + 8, &new);
    }
    key.nd_target = new;
    // The first source or target link-layer address option of 8 bytes, as OVS.
    let mut at = l4 + 24;
    while let Some(o) = arr::<8>(d, at).filter(|_| at + 8 <= end) {
        let len = usize::from(o[1]) * 8;
        if len == 0 {
            break;
        }
        if len == 8 && (o[0] == ND_OPT_SOURCE_LINKADDR || o[0] == ND_OPT_TARGET_LINKADDR) {
            let old = [o[2], o[3], o[4], o[5], o[6], o[7]];
            let (value, mask, field) = if o[0] == ND_OPT_SOURCE_LINKADDR {
                (&v.sll, &m.sll, &mut key.arp_sha)
            } else {
                (&v.tll, &m.tll, &mut key.arp_tha)
            };
            let mac = mix_bytes(old, value, mask);
            if mac != old {
                l4c.update(d, &old, &mac, false);
                put(d, at + 2, &mac);
            }
            *field = mac;
            break;
        }
        at += len;
    }
}

// ---------------------------------------------------------------------------------------
// VLAN push and pop.

#[inline]
fn shift_ofs(o: &mut u16, delta: isize) {
    if *o != OFS_UNSET {
        *o = usize::from(*o)
            .checked_add_signed(delta)
            .and_then(|v| u16::try_from(v).ok())
            .filter(|&v| v != OFS_UNSET)
            .unwrap_or(OFS_UNSET);
    }
}

fn push_vlan(pkt: &mut Packet, key: &mut FlowKey, tpid: u16, tci: u16) {
    if pkt.md.packet_type != PacketType::ETHERNET || pkt.len() < ETH_HEADER_LEN {
        return;
    }
    let gap = pkt.insert_at(ETH_TYPE_OFS, 4);
    put16(gap, 0, tpid);
    // On the wire the CFI bit is the DEI bit, which the "present" marker must not set.
    put16(gap, 2, tci & !vlan::CFI);
    shift_ofs(&mut pkt.md.l3_ofs, 4);
    shift_ofs(&mut pkt.md.l4_ofs, 4);
    pkt.offload.shift(4);
    if key.vlans[1].present() {
        // The inner tag moves out of the key into the payload: parse again.
        extract(pkt, key);
    } else {
        key.vlans[1] = key.vlans[0];
        key.vlans[0] = Vlan {
            tpid,
            tci: tci | vlan::CFI,
        };
    }
}

fn pop_vlan(pkt: &mut Packet, key: &mut FlowKey) {
    if pkt.md.packet_type != PacketType::ETHERNET || pkt.len() < ETH_HEADER_LEN + 4 {
        return;
    }
    if !be16(pkt.data(), ETH_TYPE_OFS).is_some_and(is_vlan_tpid) {
        return;
    }
    pkt.remove_at(ETH_TYPE_OFS, 4);
    shift_ofs(&mut pkt.md.l3_ofs, -4);
    shift_ofs(&mut pkt.md.l4_ofs, -4);
    pkt.offload.shift(-4);
    if key.vlans[1].present() && is_vlan_tpid(key.eth_type) {
        // A third tag comes into the key: parse again.
        extract(pkt, key);
    } else {
        key.vlans[0] = key.vlans[1];
        key.vlans[1] = Vlan::default();
    }
}

#[cfg(test)]
#[allow(clippy::cast_possible_truncation)] // Test packets are far below 64 KiB.
#[path = "execute_tests.rs"]
mod tests;
