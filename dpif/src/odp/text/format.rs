//! Formatting keys, masks and actions the way OVS's `odp_flow_format` and
//! `format_odp_actions` do.

use std::fmt::Write;

use super::FormatOptions;
use crate::odp::OdpPort;
use crate::odp::action::{Action, Ct, HashAlg, Nat, Userspace};
use crate::odp::attr::{KeyAttr, NdKey};
use crate::odp::key::vlan;
use crate::odp::tunnel::TunnelKey;
use crate::odp::uapi::*;

// `write!` into a `String` cannot fail; the results are ignored on purpose below.

/// C's `%#x`: `0` for zero, `0x..` otherwise.
pub(crate) fn hex_alt(v: u64) -> String {
    if v == 0 {
        "0".to_owned()
    } else {
        format!("{v:#x}")
    }
}

fn mac(m: &[u8; 6]) -> String {
    format!(
        "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
        m[0], m[1], m[2], m[3], m[4], m[5]
    )
}

fn ipv4(a: &[u8; 4]) -> String {
    format!("{}.{}.{}.{}", a[0], a[1], a[2], a[3])
}

/// An IPv6 address as glibc's `inet_ntop` writes it (which differs from Rust's `Display`
/// for IPv4-compatible addresses such as `::1.2.3.4`).
pub(crate) fn ipv6(a: &[u8; 16]) -> String {
    let w: [u16; 8] = std::array::from_fn(|i| u16::from_be_bytes([a[2 * i], a[2 * i + 1]]));
    // The longest run of zero words, of length 2 or more; the first one on a tie.
    let (mut best, mut best_len, mut cur, mut cur_len) = (None, 0usize, 0usize, 0usize);
    for (i, &word) in w.iter().enumerate() {
        if word == 0 {
            if cur_len == 0 {
                cur = i;
            }
            cur_len += 1;
            if cur_len > best_len {
                best = Some(cur);
                best_len = cur_len;
            }
        } else {
            cur_len = 0;
        }
    }
    if best_len < 2 {
        best = None;
    }
    let mut out = String::new();
    let mut i = 0;
    while i < 8 {
        if best == Some(i) {
            out.push_str("::");
            i += best_len;
            continue;
        }
        if i != 0 && !out.ends_with(':') {
            out.push(':');
        }
        // An embedded IPv4 address: ::a.b.c.d or ::ffff:a.b.c.d.
        if i == 6 && best == Some(0) && (best_len == 6 || (best_len == 5 && w[5] == 0xffff)) {
            out.push_str(&ipv4(&[a[12], a[13], a[14], a[15]]));
            break;
        }
        let _ = write!(out, "{:x}", w[i]);
        i += 1;
    }
    out
}

/// A mask for `fmt_*` helpers: `None` means exact.
type M<T> = Option<T>;

fn fmt_eth(out: &mut String, name: &str, key: &[u8; 6], mask: M<&[u8; 6]>, verbose: bool) {
    if !verbose && mask.is_some_and(|m| *m == [0; 6]) {
        return;
    }
    let _ = write!(out, "{name}={}", mac(key));
    if let Some(m) = mask.filter(|m| **m != [0xff; 6]) {
        let _ = write!(out, "/{}", mac(m));
    }
    out.push(',');
}

fn fmt_ipv4(out: &mut String, name: &str, key: &[u8; 4], mask: M<&[u8; 4]>, verbose: bool) {
    if !verbose && mask.is_some_and(|m| *m == [0; 4]) {
        return;
    }
    let _ = write!(out, "{name}={}", ipv4(key));
    if let Some(m) = mask.filter(|m| **m != [0xff; 4]) {
        let _ = write!(out, "/{}", ipv4(m));
    }
    out.push(',');
}

fn fmt_in6(out: &mut String, name: &str, key: &[u8; 16], mask: M<&[u8; 16]>, verbose: bool) {
    if !verbose && mask.is_some_and(|m| *m == [0; 16]) {
        return;
    }
    let _ = write!(out, "{name}={}", ipv6(key));
    if let Some(m) = mask.filter(|m| **m != [0xff; 16]) {
        let _ = write!(out, "/{}", ipv6(m));
    }
    out.push(',');
}

/// A number field: `dec` picks `%u` over `%#x` for the value; the mask is always `%#x`.
fn fmt_num(
    out: &mut String,
    name: &str,
    key: u64,
    mask: M<u64>,
    full: u64,
    dec: bool,
    verbose: bool,
) {
    if !verbose && mask == Some(0) {
        return;
    }
    if dec {
        let _ = write!(out, "{name}={key}");
    } else {
        let _ = write!(out, "{name}={}", hex_alt(key));
    }
    if let Some(m) = mask.filter(|&m| m & full != full) {
        let _ = write!(out, "/{}", hex_alt(m));
    }
    out.push(',');
}

fn fmt_frag(out: &mut String, key: u8, mask: M<u8>) {
    match mask {
        Some(0) => {}
        Some(m) if m != u8::MAX => {
            let _ = write!(
                out,
                "error: partial mask not supported for frag ({}),",
                hex_alt(u64::from(m))
            );
        }
        _ => {
            let name = match key {
                OVS_FRAG_TYPE_NONE => "no",
                OVS_FRAG_TYPE_FIRST => "first",
                OVS_FRAG_TYPE_LATER => "later",
                _ => "<error>",
            };
            let _ = write!(out, "frag={name},");
        }
    }
}

fn chomp(out: &mut String) {
    if out.ends_with(',') {
        out.pop();
    }
}

/// The name of a TCP flag bit (OVS's `packet_tcp_flag_to_string`).
pub(crate) fn tcp_flag_name(bit: u32) -> Option<&'static str> {
    Some(match bit {
        0x001 => "fin",
        0x002 => "syn",
        0x004 => "rst",
        0x008 => "psh",
        0x010 => "ack",
        0x020 => "urg",
        0x040 => "ece",
        0x080 => "cwr",
        0x100 => "ns",
        0x200 => "[200]",
        0x400 => "[400]",
        0x800 => "[800]",
        _ => return None,
    })
}

/// The name of a conntrack state bit (OVS's `odp_ct_state_to_string`).
pub(crate) fn ct_state_name(bit: u32) -> Option<&'static str> {
    Some(match bit {
        OVS_CS_F_NEW => "new",
        OVS_CS_F_ESTABLISHED => "est",
        OVS_CS_F_RELATED => "rel",
        OVS_CS_F_REPLY_DIR => "rpl",
        OVS_CS_F_INVALID => "inv",
        OVS_CS_F_TRACKED => "trk",
        OVS_CS_F_SRC_NAT => "snat",
        OVS_CS_F_DST_NAT => "dnat",
        _ => return None,
    })
}

/// OVS's `format_flags`: names joined by `|`, unknown bits as one hex number, `0` for none.
fn fmt_flags(out: &mut String, names: fn(u32) -> Option<&'static str>, flags: u32) {
    if flags == 0 {
        out.push('0');
        return;
    }
    let mut bad = 0;
    let mut first = true;
    for i in 0..32 {
        let bit = 1u32 << i;
        if flags & bit == 0 {
            continue;
        }
        match names(bit) {
            Some(n) => {
                if !first {
                    out.push('|');
                }
                out.push_str(n);
                first = false;
            }
            None => bad |= bit,
        }
    }
    if bad != 0 {
        if !first {
            out.push('|');
        }
        let _ = write!(out, "0x{bad:x}");
    }
}

/// OVS's `format_flags_masked`: `+name-name` for the bits of the mask.
fn fmt_flags_masked(
    out: &mut String,
    names: fn(u32) -> Option<&'static str>,
    flags: u32,
    mask: u32,
    max_mask: u32,
) {
    if mask == max_mask {
        return fmt_flags(out, names, flags);
    }
    if mask == 0 {
        out.push_str("0/0");
        return;
    }
    for i in 0..32 {
        let bit = 1u32 << i;
        if mask & bit != 0 {
            out.push(if flags & bit != 0 { '+' } else { '-' });
            out.push_str(names(bit).unwrap_or("[Unknown]"));
        }
    }
}

/// OVS's `format_vlan_tci`.
fn fmt_vlan_tci(out: &mut String, tci: u16, mask: u16, verbose: bool) {
    let vid = |t: u16| t & vlan::VID_MASK;
    let pcp = |t: u16| t >> vlan::PCP_SHIFT;
    if verbose || vid(tci) != 0 || vid(mask) != 0 {
        let _ = write!(out, "vid={}", vid(tci));
        if vid(mask) != vlan::VID_MASK {
            let _ = write!(out, "/0x{:x}", vid(mask));
        }
        out.push(',');
    }
    if verbose || pcp(tci) != 0 || pcp(mask) != 0 {
        let _ = write!(out, "pcp={}", pcp(tci));
        if pcp(mask) != 7 {
            let _ = write!(out, "/0x{:x}", pcp(mask));
        }
        out.push(',');
    }
    if tci & vlan::CFI == 0 {
        out.push_str("cfi=0,");
    }
    chomp(out);
}

fn fmt_mpls_lse(out: &mut String, lse: u32) {
    let _ = write!(
        out,
        "label={},tc={},ttl={},bos={}",
        lse >> 12,
        (lse >> 9) & 7,
        lse & 0xff,
        (lse >> 8) & 1
    );
}

/// The 128-bit number a `ct_label` attribute holds (OVS keeps it as host-order `ovs_u128`).
pub(crate) fn ct_label_value(b: &[u8; 16]) -> u128 {
    let lo = u64::from_ne_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
    let hi = u64::from_ne_bytes([b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]]);
    (u128::from(hi) << 64) | u128::from(lo)
}

fn hex128(v: u128) -> String {
    if v == 0 {
        "0".to_owned()
    } else {
        format!("{v:#x}")
    }
}

fn hex_bytes(out: &mut String, bytes: &[u8]) {
    for (i, b) in bytes.iter().enumerate() {
        if i != 0 {
            out.push(' ');
        }
        let _ = write!(out, "{b:02x}");
    }
}

/// The name OVS prints for a key attribute.
pub(crate) fn key_attr_text_name(a: &KeyAttr) -> std::borrow::Cow<'static, str> {
    std::borrow::Cow::Borrowed(match a {
        KeyAttr::Encap(_) => "encap",
        KeyAttr::Priority(_) => "skb_priority",
        KeyAttr::InPort(_) => "in_port",
        KeyAttr::Ethernet(_) => "eth",
        KeyAttr::Vlan(_) => "vlan",
        KeyAttr::Ethertype(_) => "eth_type",
        KeyAttr::Ipv4(_) => "ipv4",
        KeyAttr::Ipv6(_) => "ipv6",
        KeyAttr::Tcp(_) => "tcp",
        KeyAttr::Udp(_) => "udp",
        KeyAttr::Icmp(_) => "icmp",
        KeyAttr::Icmpv6(_) => "icmpv6",
        KeyAttr::Arp(_) => "arp",
        KeyAttr::Nd(_) => "nd",
        KeyAttr::SkbMark(_) => "skb_mark",
        KeyAttr::Tunnel(_) => "tunnel",
        KeyAttr::Sctp(_) => "sctp",
        KeyAttr::TcpFlags(_) => "tcp_flags",
        KeyAttr::DpHash(_) => "dp_hash",
        KeyAttr::RecircId(_) => "recirc_id",
        KeyAttr::Mpls(_) => "mpls",
        KeyAttr::CtState(_) => "ct_state",
        KeyAttr::CtZone(_) => "ct_zone",
        KeyAttr::CtMark(_) => "ct_mark",
        KeyAttr::CtLabels(_) => "ct_label",
        KeyAttr::PacketType(_) => "packet_type",
        KeyAttr::CtTupleIpv4(_) => "ct_tuple4",
        KeyAttr::CtTupleIpv6(_) => "ct_tuple6",
        KeyAttr::Other(_) => return std::borrow::Cow::Owned(format!("key{}", a.attr_type())),
    })
}

/// Whether mask attribute `m` is all zeros (OVS's `odp_mask_attr_is_wildcard`). Nested and
/// unknown attributes never are.
fn mask_is_wildcard(m: &KeyAttr) -> bool {
    mask_is_constant(m, false)
}

/// Whether mask attribute `m` is all ones (OVS's `odp_mask_attr_is_exact`).
fn mask_is_exact(m: &KeyAttr) -> bool {
    mask_is_constant(m, true)
}

fn mask_is_constant(m: &KeyAttr, ones: bool) -> bool {
    let byte = if ones { 0xff } else { 0 };
    match m {
        KeyAttr::Encap(_) | KeyAttr::Tunnel(_) => false,
        KeyAttr::TcpFlags(f) => f & 0x0fff == if ones { 0x0fff } else { 0 },
        KeyAttr::Ipv6(k) => {
            let label = if ones { 0xfffff } else { 0 };
            k.label & 0xfffff == label
                && k.proto == byte
                && k.tclass == byte
                && k.hlimit == byte
                && k.frag == byte
                && k.src == [byte; 16]
                && k.dst == [byte; 16]
        }
        KeyAttr::Arp(k) => {
            k.sip == [byte; 4]
                && k.tip == [byte; 4]
                && k.op == u16::from_be_bytes([byte, byte])
                && k.sha == [byte; 6]
                && k.tha == [byte; 6]
        }
        KeyAttr::CtTupleIpv4(t) => {
            t.src == [byte; 4]
                && t.dst == [byte; 4]
                && t.src_port == u16::from_be_bytes([byte, byte])
                && t.dst_port == u16::from_be_bytes([byte, byte])
                && t.proto == byte
        }
        KeyAttr::CtTupleIpv6(t) => {
            t.src == [byte; 16]
                && t.dst == [byte; 16]
                && t.src_port == u16::from_be_bytes([byte, byte])
                && t.dst_port == u16::from_be_bytes([byte, byte])
                && t.proto == byte
        }
        KeyAttr::Other(_) if m.attr_type() > OVS_KEY_ATTR_MAX => false,
        other => other.payload().iter().all(|&b| b == byte),
    }
}

/// An all-zero mask shaped like `key` (OVS's `generate_all_wildcard_mask`).
fn wildcard_mask(key: &KeyAttr) -> KeyAttr {
    match key {
        KeyAttr::Encap(inner) => KeyAttr::Encap(inner.iter().map(wildcard_mask).collect()),
        // Zero values; the flags (attributes with no payload) stay present, as in OVS.
        KeyAttr::Tunnel(t) => KeyAttr::Tunnel(TunnelKey {
            id: t.id.map(|_| 0),
            ipv4_src: t.ipv4_src.map(|_| [0; 4]),
            ipv4_dst: t.ipv4_dst.map(|_| [0; 4]),
            ipv6_src: t.ipv6_src.map(|_| [0; 16]),
            ipv6_dst: t.ipv6_dst.map(|_| [0; 16]),
            tos: t.tos.map(|_| 0),
            ttl: t.ttl.map(|_| 0),
            tp_src: t.tp_src.map(|_| 0),
            tp_dst: t.tp_dst.map(|_| 0),
            vxlan_gbp: t.vxlan_gbp.map(|_| 0),
            geneve_opts: t.geneve_opts.as_ref().map(|g| vec![0; g.len()]),
            ..t.clone()
        }),
        KeyAttr::Mpls(l) => KeyAttr::Mpls(vec![0; l.len()]),
        KeyAttr::Other(nla) => {
            use netlink_packet_core::Nla;
            KeyAttr::Other(netlink_packet_core::DefaultNla::new(
                nla.kind(),
                vec![0; nla.value_len()],
            ))
        }
        other => zeroed(other),
    }
}

fn zeroed(a: &KeyAttr) -> KeyAttr {
    match a {
        KeyAttr::Priority(_) => KeyAttr::Priority(0),
        KeyAttr::InPort(_) => KeyAttr::InPort(0),
        KeyAttr::Ethernet(_) => KeyAttr::Ethernet(Default::default()),
        KeyAttr::Vlan(_) => KeyAttr::Vlan(0),
        KeyAttr::Ethertype(_) => KeyAttr::Ethertype(0),
        KeyAttr::Ipv4(_) => KeyAttr::Ipv4(Default::default()),
        KeyAttr::Ipv6(_) => KeyAttr::Ipv6(Default::default()),
        KeyAttr::Tcp(_) => KeyAttr::Tcp(Default::default()),
        KeyAttr::Udp(_) => KeyAttr::Udp(Default::default()),
        KeyAttr::Icmp(_) => KeyAttr::Icmp(Default::default()),
        KeyAttr::Icmpv6(_) => KeyAttr::Icmpv6(Default::default()),
        KeyAttr::Arp(_) => KeyAttr::Arp(Default::default()),
        KeyAttr::Nd(_) => KeyAttr::Nd(Default::default()),
        KeyAttr::SkbMark(_) => KeyAttr::SkbMark(0),
        KeyAttr::Sctp(_) => KeyAttr::Sctp(Default::default()),
        KeyAttr::TcpFlags(_) => KeyAttr::TcpFlags(0),
        KeyAttr::DpHash(_) => KeyAttr::DpHash(0),
        KeyAttr::RecircId(_) => KeyAttr::RecircId(0),
        KeyAttr::CtState(_) => KeyAttr::CtState(0),
        KeyAttr::CtZone(_) => KeyAttr::CtZone(0),
        KeyAttr::CtMark(_) => KeyAttr::CtMark(0),
        KeyAttr::CtLabels(_) => KeyAttr::CtLabels([0; 16]),
        KeyAttr::PacketType(_) => KeyAttr::PacketType(0),
        KeyAttr::CtTupleIpv4(_) => KeyAttr::CtTupleIpv4(Default::default()),
        KeyAttr::CtTupleIpv6(_) => KeyAttr::CtTupleIpv6(Default::default()),
        other => wildcard_mask(other),
    }
}

fn port(out: &mut String, p: u32, opts: &FormatOptions<'_>) {
    match opts.port_names.and_then(|f| f(OdpPort(p))) {
        Some(name) => out.push_str(&name),
        None => {
            let _ = write!(out, "{p}");
        }
    }
}

/// Appends the text of key attributes `key` with their mask attributes `mask` (OVS's
/// `odp_flow_format`).
pub(crate) fn write_key_attrs(
    out: &mut String,
    key: &[KeyAttr],
    mask: Option<&[KeyAttr]>,
    opts: &FormatOptions<'_>,
) {
    if key.is_empty() {
        out.push_str("<empty>");
        return;
    }
    let mask = mask.filter(|m| !m.is_empty());
    let mut first = true;
    let mut has_ethtype = false;
    let mut has_packet_type = false;
    for a in key {
        let t = a.attr_type();
        if t == OVS_KEY_ATTR_ETHERTYPE {
            has_ethtype = true;
        } else if t == OVS_KEY_ATTR_PACKET_TYPE {
            has_packet_type = true;
        }
        let nested = matches!(a, KeyAttr::Encap(_) | KeyAttr::Tunnel(_))
            || (matches!(a, KeyAttr::Other(_))
                && (t == OVS_KEY_ATTR_TUNNEL || t == OVS_KEY_ATTR_NSH));
        let ma = mask.and_then(|m| m.iter().find(|x| x.attr_type() == t));
        let wildcard = mask.is_some() && ma.is_none_or(mask_is_wildcard);
        if opts.verbose || !wildcard || nested {
            let generated;
            let ma = match ma {
                None if wildcard => {
                    generated = wildcard_mask(a);
                    Some(&generated)
                }
                other => other,
            };
            if !first {
                out.push(',');
            }
            write_key_attr(out, a, ma, opts);
            first = false;
        } else if t == OVS_KEY_ATTR_ETHERNET && !has_packet_type {
            if !first {
                out.push(',');
            }
            out.push_str("eth()");
            first = false;
        }
    }
    if !has_ethtype
        && let Some(KeyAttr::Ethertype(m)) =
            mask.and_then(|m| m.iter().find(|x| x.attr_type() == OVS_KEY_ATTR_ETHERTYPE))
    {
        let _ = write!(out, ",eth_type(0/0x{m:04x})");
    }
}

/// Appends one key attribute with its optional mask (OVS's `format_odp_key_attr__`).
pub(crate) fn write_key_attr(
    out: &mut String,
    a: &KeyAttr,
    ma: Option<&KeyAttr>,
    opts: &FormatOptions<'_>,
) {
    let verbose = opts.verbose;
    let exact = ma.is_none_or(mask_is_exact);
    let empty = ma.is_none_or(mask_is_wildcard);
    out.push_str(&key_attr_text_name(a));
    out.push('(');
    // A mask of another variant than the key (only possible when built by hand) is ignored.
    macro_rules! mask_of {
        ($var:path) => {
            match ma {
                Some($var(m)) => Some(m),
                _ => None,
            }
        };
    }
    match a {
        KeyAttr::Encap(inner) => {
            let inner_mask = mask_of!(KeyAttr::Encap).filter(|m| !m.is_empty());
            if !inner.is_empty() {
                let mut sub = FormatOptions { ..*opts };
                sub.port_names = None;
                write_key_attrs(out, inner, inner_mask.map(Vec::as_slice), &sub);
            }
        }
        KeyAttr::Priority(v) | KeyAttr::SkbMark(v) | KeyAttr::DpHash(v) | KeyAttr::RecircId(v) => {
            out.push_str(&hex_alt(u64::from(*v)));
            if !exact {
                let m = match ma {
                    Some(
                        KeyAttr::Priority(m)
                        | KeyAttr::SkbMark(m)
                        | KeyAttr::DpHash(m)
                        | KeyAttr::RecircId(m),
                    ) => *m,
                    _ => 0,
                };
                let _ = write!(out, "/{}", hex_alt(u64::from(m)));
            }
        }
        KeyAttr::CtMark(v) => {
            if verbose || !empty {
                out.push_str(&hex_alt(u64::from(*v)));
                if !exact {
                    let m = mask_of!(KeyAttr::CtMark).copied().unwrap_or(0);
                    let _ = write!(out, "/{}", hex_alt(u64::from(m)));
                }
            }
        }
        KeyAttr::CtState(v) => {
            let m = mask_of!(KeyAttr::CtState).copied().unwrap_or(0);
            if verbose {
                out.push_str(&hex_alt(u64::from(*v)));
                if !exact {
                    let _ = write!(out, "/{}", hex_alt(u64::from(m)));
                }
            } else if !exact {
                fmt_flags_masked(out, ct_state_name, *v, m, u32::MAX);
            } else {
                fmt_flags(out, ct_state_name, *v);
            }
        }
        KeyAttr::CtZone(v) => {
            if verbose || !empty {
                out.push_str(&hex_alt(u64::from(*v)));
                if !exact {
                    let m = mask_of!(KeyAttr::CtZone).copied().unwrap_or(0);
                    let _ = write!(out, "/{}", hex_alt(u64::from(m)));
                }
            }
        }
        KeyAttr::CtLabels(v) => {
            let m = mask_of!(KeyAttr::CtLabels).map(ct_label_value);
            if verbose || m.is_some_and(|m| m != 0) {
                out.push_str(&hex128(ct_label_value(v)));
                if let Some(m) = m.filter(|&m| m != u128::MAX) {
                    let _ = write!(out, "/{}", hex128(m));
                }
            }
        }
        KeyAttr::InPort(v) => {
            if exact {
                port(out, *v, opts);
            } else {
                let m = mask_of!(KeyAttr::InPort).copied().unwrap_or(0);
                let _ = write!(out, "{v}/{}", hex_alt(u64::from(m)));
            }
        }
        KeyAttr::PacketType(v) => {
            let m = mask_of!(KeyAttr::PacketType).copied().unwrap_or(u32::MAX);
            fmt_num(
                out,
                "ns",
                u64::from(v >> 16),
                Some(u64::from(m >> 16)),
                0xffff,
                true,
                verbose,
            );
            fmt_num(
                out,
                "id",
                u64::from(v & 0xffff),
                Some(u64::from(m & 0xffff)),
                0xffff,
                false,
                verbose,
            );
            chomp(out);
        }
        KeyAttr::Ethernet(k) => {
            let m = mask_of!(KeyAttr::Ethernet);
            fmt_eth(out, "src", &k.src, m.map(|m| &m.src), verbose);
            fmt_eth(out, "dst", &k.dst, m.map(|m| &m.dst), verbose);
            chomp(out);
        }
        KeyAttr::Vlan(tci) => {
            let m = mask_of!(KeyAttr::Vlan).copied().unwrap_or(u16::MAX);
            fmt_vlan_tci(out, *tci, m, verbose);
        }
        KeyAttr::Mpls(lses) => {
            let masks = if exact { None } else { mask_of!(KeyAttr::Mpls) };
            match masks {
                Some(m) if m.len() != lses.len() => {
                    let _ = write!(
                        out,
                        "(key length {} != mask length {})",
                        4 * lses.len(),
                        4 * m.len()
                    );
                }
                Some(m) => {
                    for (i, (k, m)) in lses.iter().zip(m).enumerate() {
                        if i != 0 {
                            out.push(',');
                        }
                        let _ = write!(
                            out,
                            "label={}/0x{:x},tc={}/{:x},ttl={}/0x{:x},bos={}/{:x}",
                            k >> 12,
                            m >> 12,
                            (k >> 9) & 7,
                            (m >> 9) & 7,
                            k & 0xff,
                            m & 0xff,
                            (k >> 8) & 1,
                            (m >> 8) & 1
                        );
                    }
                }
                None => {
                    for (i, k) in lses.iter().enumerate() {
                        if i != 0 {
                            out.push(',');
                        }
                        fmt_mpls_lse(out, *k);
                    }
                }
            }
        }
        KeyAttr::Ethertype(t) => {
            let _ = write!(out, "0x{t:04x}");
            if !exact {
                let m = mask_of!(KeyAttr::Ethertype).copied().unwrap_or(0);
                let _ = write!(out, "/0x{m:04x}");
            }
        }
        KeyAttr::Ipv4(k) => {
            let m = mask_of!(KeyAttr::Ipv4);
            fmt_ipv4(out, "src", &k.src, m.map(|m| &m.src), verbose);
            fmt_ipv4(out, "dst", &k.dst, m.map(|m| &m.dst), verbose);
            let b = |f: fn(&crate::odp::attr::Ipv4Key) -> u8| m.map(|m| u64::from(f(m)));
            fmt_num(
                out,
                "proto",
                u64::from(k.proto),
                b(|m| m.proto),
                0xff,
                true,
                verbose,
            );
            fmt_num(
                out,
                "tos",
                u64::from(k.tos),
                b(|m| m.tos),
                0xff,
                false,
                verbose,
            );
            fmt_num(
                out,
                "ttl",
                u64::from(k.ttl),
                b(|m| m.ttl),
                0xff,
                true,
                verbose,
            );
            fmt_frag(out, k.frag, m.map(|m| m.frag));
            chomp(out);
        }
        KeyAttr::Ipv6(k) => {
            let m = mask_of!(KeyAttr::Ipv6);
            fmt_in6(out, "src", &k.src, m.map(|m| &m.src), verbose);
            fmt_in6(out, "dst", &k.dst, m.map(|m| &m.dst), verbose);
            let b = |f: fn(&crate::odp::attr::Ipv6Key) -> u8| m.map(|m| u64::from(f(m)));
            fmt_num(
                out,
                "label",
                u64::from(k.label),
                m.map(|m| u64::from(m.label)),
                0xfffff,
                false,
                verbose,
            );
            fmt_num(
                out,
                "proto",
                u64::from(k.proto),
                b(|m| m.proto),
                0xff,
                true,
                verbose,
            );
            fmt_num(
                out,
                "tclass",
                u64::from(k.tclass),
                b(|m| m.tclass),
                0xff,
                false,
                verbose,
            );
            fmt_num(
                out,
                "hlimit",
                u64::from(k.hlimit),
                b(|m| m.hlimit),
                0xff,
                true,
                verbose,
            );
            fmt_frag(out, k.frag, m.map(|m| m.frag));
            chomp(out);
        }
        KeyAttr::Tcp(k) | KeyAttr::Udp(k) | KeyAttr::Sctp(k) => {
            let m = match ma {
                Some(KeyAttr::Tcp(m) | KeyAttr::Udp(m) | KeyAttr::Sctp(m)) => Some(m),
                _ => None,
            };
            fmt_num(
                out,
                "src",
                u64::from(k.src),
                m.map(|m| u64::from(m.src)),
                0xffff,
                true,
                verbose,
            );
            fmt_num(
                out,
                "dst",
                u64::from(k.dst),
                m.map(|m| u64::from(m.dst)),
                0xffff,
                true,
                verbose,
            );
            chomp(out);
        }
        KeyAttr::TcpFlags(f) => {
            if exact {
                fmt_flags(out, tcp_flag_name, u32::from(*f));
            } else {
                let m = mask_of!(KeyAttr::TcpFlags).copied().unwrap_or(0);
                fmt_flags_masked(
                    out,
                    tcp_flag_name,
                    u32::from(*f),
                    u32::from(m & 0x0fff),
                    0x0fff,
                );
            }
        }
        KeyAttr::Icmp(k) | KeyAttr::Icmpv6(k) => {
            let m = match ma {
                Some(KeyAttr::Icmp(m) | KeyAttr::Icmpv6(m)) => Some(m),
                _ => None,
            };
            let t = m.map(|m| u64::from(m.icmp_type));
            let c = m.map(|m| u64::from(m.icmp_code));
            fmt_num(out, "type", u64::from(k.icmp_type), t, 0xff, true, verbose);
            fmt_num(out, "code", u64::from(k.icmp_code), c, 0xff, true, verbose);
            chomp(out);
        }
        KeyAttr::Arp(k) => {
            let m = mask_of!(KeyAttr::Arp);
            fmt_ipv4(out, "sip", &k.sip, m.map(|m| &m.sip), verbose);
            fmt_ipv4(out, "tip", &k.tip, m.map(|m| &m.tip), verbose);
            fmt_num(
                out,
                "op",
                u64::from(k.op),
                m.map(|m| u64::from(m.op)),
                0xffff,
                true,
                verbose,
            );
            fmt_eth(out, "sha", &k.sha, m.map(|m| &m.sha), verbose);
            fmt_eth(out, "tha", &k.tha, m.map(|m| &m.tha), verbose);
            chomp(out);
        }
        KeyAttr::Nd(k) => {
            let m: Option<&NdKey> = mask_of!(KeyAttr::Nd);
            fmt_in6(out, "target", &k.target, m.map(|m| &m.target), verbose);
            fmt_eth(out, "sll", &k.sll, m.map(|m| &m.sll), verbose);
            fmt_eth(out, "tll", &k.tll, m.map(|m| &m.tll), verbose);
            chomp(out);
        }
        KeyAttr::Tunnel(t) => write_tunnel(out, t, mask_of!(KeyAttr::Tunnel), verbose),
        KeyAttr::CtTupleIpv4(k) => {
            let m = mask_of!(KeyAttr::CtTupleIpv4);
            fmt_ipv4(out, "src", &k.src, m.map(|m| &m.src), verbose);
            fmt_ipv4(out, "dst", &k.dst, m.map(|m| &m.dst), verbose);
            let p = m.map(|m| u64::from(m.proto));
            fmt_num(out, "proto", u64::from(k.proto), p, 0xff, true, verbose);
            let (s, d) = (
                m.map(|m| u64::from(m.src_port)),
                m.map(|m| u64::from(m.dst_port)),
            );
            fmt_num(
                out,
                "tp_src",
                u64::from(k.src_port),
                s,
                0xffff,
                true,
                verbose,
            );
            fmt_num(
                out,
                "tp_dst",
                u64::from(k.dst_port),
                d,
                0xffff,
                true,
                verbose,
            );
            chomp(out);
        }
        KeyAttr::CtTupleIpv6(k) => {
            // OVS prints src_port/dst_port here but parses tp_src/tp_dst; both parse.
            let m = mask_of!(KeyAttr::CtTupleIpv6);
            fmt_in6(out, "src", &k.src, m.map(|m| &m.src), verbose);
            fmt_in6(out, "dst", &k.dst, m.map(|m| &m.dst), verbose);
            let p = m.map(|m| u64::from(m.proto));
            fmt_num(out, "proto", u64::from(k.proto), p, 0xff, true, verbose);
            let (s, d) = (
                m.map(|m| u64::from(m.src_port)),
                m.map(|m| u64::from(m.dst_port)),
            );
            fmt_num(
                out,
                "src_port",
                u64::from(k.src_port),
                s,
                0xffff,
                true,
                verbose,
            );
            fmt_num(
                out,
                "dst_port",
                u64::from(k.dst_port),
                d,
                0xffff,
                true,
                verbose,
            );
            chomp(out);
        }
        KeyAttr::Other(_) => {
            hex_bytes(out, &a.payload());
            if let Some(m) = ma.filter(|_| !exact) {
                out.push('/');
                hex_bytes(out, &m.payload());
            }
        }
    }
    out.push(')');
}

/// The name of a tunnel flag bit (OVS's `flow_tun_flag_to_string`).
pub(crate) fn tun_flag_name(bit: u32) -> Option<&'static str> {
    Some(match bit {
        TNL_F_OAM => "oam",
        TNL_F_DONT_FRAGMENT => "df",
        TNL_F_CSUM => "csum",
        TNL_F_KEY => "key",
        _ => return None,
    })
}

/// OVS's `FLOW_TNL_F_*` bits, as the text form of tunnel flags numbers them.
pub(crate) const TNL_F_OAM: u32 = 1 << 0;
/// `FLOW_TNL_F_DONT_FRAGMENT`.
pub(crate) const TNL_F_DONT_FRAGMENT: u32 = 1 << 1;
/// `FLOW_TNL_F_CSUM`.
pub(crate) const TNL_F_CSUM: u32 = 1 << 2;
/// `FLOW_TNL_F_KEY`.
pub(crate) const TNL_F_KEY: u32 = 1 << 3;

fn tun_flags(t: &TunnelKey) -> u32 {
    let mut f = 0;
    if t.oam {
        f |= TNL_F_OAM;
    }
    if t.dont_fragment {
        f |= TNL_F_DONT_FRAGMENT;
    }
    if t.csum {
        f |= TNL_F_CSUM;
    }
    f
}

/// C's `ds_put_hex`: `0x` and the bytes without leading zero bytes, `0` for all zeros.
fn put_hex(out: &mut String, bytes: &[u8]) {
    match bytes.iter().position(|&b| b != 0) {
        None => out.push('0'),
        Some(i) => {
            let _ = write!(out, "0x{:x}", bytes[i]);
            for b in &bytes[i + 1..] {
                let _ = write!(out, "{b:02x}");
            }
        }
    }
}

/// OVS's `format_geneve_opts`.
fn write_geneve(out: &mut String, opts: &[u8], mask: Option<&[u8]>, verbose: bool) {
    if mask.is_some_and(|m| m.len() != opts.len()) {
        let _ = write!(
            out,
            "value len {} different from mask len {}",
            opts.len(),
            mask.map_or(0, <[u8]>::len)
        );
        return;
    }
    let mut off = 0;
    while off < opts.len() {
        let remaining = opts.len() - off;
        if remaining < 4 {
            let _ = write!(out, "opt len {remaining} less than minimum 4");
            return;
        }
        let hdr = &opts[off..off + 4];
        let data_len = usize::from(hdr[3] & 0x1f) * 4;
        let len = 4 + data_len;
        if len > remaining {
            let _ = write!(out, "opt len {len} greater than remaining {remaining}");
            return;
        }
        let m = mask.map(|m| &m[off..off + len]);
        out.push('{');
        fmt_num(
            out,
            "class",
            u64::from(u16::from_be_bytes([hdr[0], hdr[1]])),
            m.map(|m| u64::from(u16::from_be_bytes([m[0], m[1]]))),
            0xffff,
            false,
            verbose,
        );
        fmt_num(
            out,
            "type",
            u64::from(hdr[2]),
            m.map(|m| u64::from(m[2])),
            0xff,
            false,
            verbose,
        );
        let len_mask = m.map(|m| {
            if m[3] & 0x1f == 0x1f {
                0xff
            } else {
                u64::from(m[3] & 0x1f)
            }
        });
        fmt_num(out, "len", data_len as u64, len_mask, 0xff, true, verbose);
        let data = &opts[off + 4..off + len];
        let mdata = m.map(|m| &m[4..]);
        if data_len != 0 && (verbose || mdata.is_none_or(|md| md.iter().any(|&b| b != 0))) {
            put_hex(out, data);
            if let Some(md) = mdata.filter(|md| md.iter().any(|&b| b != 0xff)) {
                out.push('/');
                put_hex(out, md);
            }
        } else {
            chomp(out);
        }
        out.push('}');
        off += len;
    }
}

/// OVS's `format_odp_tun_attr`.
fn write_tunnel(out: &mut String, t: &TunnelKey, m: Option<&TunnelKey>, verbose: bool) {
    let mut flags = tun_flags(t);
    let mut mask_flags = m.map_or(0, tun_flags);
    if let Some(id) = t.id {
        let mid = m.map(|m| m.id.unwrap_or(0));
        if verbose || mid != Some(0) {
            let _ = write!(out, "tun_id=0x{id:x}");
            if let Some(mm) = mid.filter(|&mm| mm != u64::MAX) {
                let _ = write!(out, "/{}", hex_alt(mm));
            }
            out.push(',');
        }
        flags |= TNL_F_KEY;
        if m.is_some() {
            mask_flags |= TNL_F_KEY;
        }
    }
    let zero4 = [0u8; 4];
    let zero16 = [0u8; 16];
    if let Some(a) = &t.ipv4_src {
        fmt_ipv4(
            out,
            "src",
            a,
            m.map(|m| m.ipv4_src.as_ref().unwrap_or(&zero4)),
            verbose,
        );
    }
    if let Some(a) = &t.ipv4_dst {
        fmt_ipv4(
            out,
            "dst",
            a,
            m.map(|m| m.ipv4_dst.as_ref().unwrap_or(&zero4)),
            verbose,
        );
    }
    if let Some(a) = &t.ipv6_src {
        let mm = m.map(|m| m.ipv6_src.as_ref().unwrap_or(&zero16));
        fmt_in6(out, "ipv6_src", a, mm, verbose);
    }
    if let Some(a) = &t.ipv6_dst {
        let mm = m.map(|m| m.ipv6_dst.as_ref().unwrap_or(&zero16));
        fmt_in6(out, "ipv6_dst", a, mm, verbose);
    }
    let byte = |f: fn(&TunnelKey) -> Option<u8>| m.map(|m| u64::from(f(m).unwrap_or(0)));
    if let Some(v) = t.tos {
        fmt_num(
            out,
            "tos",
            u64::from(v),
            byte(|m| m.tos),
            0xff,
            false,
            verbose,
        );
    }
    if let Some(v) = t.ttl {
        fmt_num(
            out,
            "ttl",
            u64::from(v),
            byte(|m| m.ttl),
            0xff,
            true,
            verbose,
        );
    }
    let port = |f: fn(&TunnelKey) -> Option<u16>| m.map(|m| u64::from(f(m).unwrap_or(0)));
    if let Some(v) = t.tp_src {
        fmt_num(
            out,
            "tp_src",
            u64::from(v),
            port(|m| m.tp_src),
            0xffff,
            true,
            verbose,
        );
    }
    if let Some(v) = t.tp_dst {
        fmt_num(
            out,
            "tp_dst",
            u64::from(v),
            port(|m| m.tp_dst),
            0xffff,
            true,
            verbose,
        );
    }
    if let Some(gbp) = t.vxlan_gbp {
        let mg = m.map(|m| m.vxlan_gbp.unwrap_or(0));
        out.push_str("vxlan(gbp(");
        fmt_num(
            out,
            "id",
            u64::from(gbp & 0xffff),
            mg.map(|g| u64::from(g & 0xffff)),
            0xffff,
            true,
            verbose,
        );
        fmt_num(
            out,
            "flags",
            u64::from((gbp >> 16) & 0xff),
            mg.map(|g| u64::from((g >> 16) & 0xff)),
            0xff,
            false,
            verbose,
        );
        chomp(out);
        out.push_str(")),");
    }
    if let Some(g) = &t.geneve_opts {
        out.push_str("geneve(");
        let zeros;
        let mg = match m {
            Some(m) => Some(match &m.geneve_opts {
                Some(mg) => mg.as_slice(),
                None => {
                    zeros = vec![0u8; g.len()];
                    zeros.as_slice()
                }
            }),
            None => None,
        };
        write_geneve(out, g, mg, verbose);
        out.push_str("),");
    }
    let mask_flags = m.map(|_| mask_flags);
    if verbose || mask_flags != Some(0) {
        out.push_str("flags(");
        match mask_flags {
            Some(mf) => fmt_flags_masked(out, tun_flag_name, flags, mf & 0xf, 0xf),
            None => fmt_flags(out, tun_flag_name, flags),
        }
        out.push_str("),");
    }
    chomp(out);
}

/// Appends one action (OVS's `format_odp_action`).
pub(crate) fn write_action(out: &mut String, a: &Action, opts: &FormatOptions<'_>) {
    match a {
        Action::Output(p) => port(out, p.0, opts),
        Action::Userspace(u) => write_userspace(out, u, opts),
        Action::Set(k) => {
            out.push_str("set(");
            let sub = FormatOptions {
                verbose: true,
                port_names: None,
                ..*opts
            };
            write_key_attr(out, k, None, &sub);
            out.push(')');
        }
        Action::SetMasked { value, mask } => {
            out.push_str("set(");
            let sub = FormatOptions {
                verbose: false,
                port_names: None,
                ..*opts
            };
            write_key_attr(out, value, Some(mask), &sub);
            out.push(')');
        }
        Action::PushVlan { tpid, tci } => {
            out.push_str("push_vlan(");
            if *tpid != 0x8100 {
                let _ = write!(out, "tpid=0x{tpid:04x},");
            }
            fmt_vlan_tci(out, *tci, u16::MAX, false);
            out.push(')');
        }
        Action::PopVlan => out.push_str("pop_vlan"),
        Action::Sample {
            probability,
            actions,
        } => {
            let pct = 100.0 * f64::from(*probability) / f64::from(u32::MAX);
            let _ = write!(out, "sample(sample={pct:.1}%,actions(");
            write_actions(out, actions, opts);
            out.push_str("))");
        }
        Action::Recirc(id) => {
            let _ = write!(out, "recirc({})", hex_alt(u64::from(*id)));
        }
        Action::Hash { alg, basis } => {
            let _ = match alg {
                HashAlg::L4 => write!(out, "hash(l4({basis}))"),
                HashAlg::SymL4 => write!(out, "hash(sym_l4({basis}))"),
                HashAlg::Other(n) => write!(out, "hash(Unknown hash algorithm({n}))"),
            };
        }
        Action::PushMpls { lse, ethertype } => {
            out.push_str("push_mpls(");
            fmt_mpls_lse(out, *lse);
            let _ = write!(out, ",eth_type=0x{ethertype:x})");
        }
        Action::PopMpls(t) => {
            let _ = write!(out, "pop_mpls(eth_type=0x{t:x})");
        }
        Action::Trunc(n) => {
            let _ = write!(out, "trunc({n})");
        }
        Action::PushEth { src, dst } => {
            let _ = write!(out, "push_eth(src={},dst={})", mac(src), mac(dst));
        }
        Action::PopEth => out.push_str("pop_eth"),
        Action::CtClear => out.push_str("ct_clear"),
        Action::Meter(n) => {
            let _ = write!(out, "meter({n})");
        }
        Action::Clone(actions) => {
            out.push_str("clone(");
            write_actions(out, actions, opts);
            out.push(')');
        }
        Action::Ct(ct) => write_ct(out, ct),
        Action::CheckPktLen {
            pkt_len,
            if_greater,
            if_less_equal,
        } => {
            let _ = write!(out, "check_pkt_len(size={pkt_len},gt(");
            write_actions(out, if_greater, opts);
            out.push_str("),le(");
            write_actions(out, if_less_equal, opts);
            out.push_str("))");
        }
        Action::Drop(_) => out.push_str("drop"),
        Action::Other(nla) => {
            use netlink_packet_core::Nla;
            let mut v = vec![0u8; nla.value_len()];
            nla.emit_value(&mut v);
            let _ = write!(out, "action{}", a.attr_type());
            if !v.is_empty() {
                out.push('(');
                hex_bytes(out, &v);
                out.push(')');
            }
        }
    }
}

/// OVS's `format_odp_conntrack_action` (with a comma after `timeout=`, which OVS forgets
/// when `nat` follows). The eventmask is not printed, as in OVS.
fn write_ct(out: &mut String, ct: &Ct) {
    out.push_str("ct");
    let zone = ct.zone.filter(|&z| z != 0);
    if !(ct.commit
        || ct.force_commit
        || zone.is_some()
        || ct.mark.is_some()
        || ct.labels.is_some()
        || ct.helper.is_some()
        || ct.timeout.is_some()
        || ct.nat.is_some())
    {
        return;
    }
    out.push('(');
    if ct.commit {
        out.push_str("commit,");
    }
    if ct.force_commit {
        out.push_str("force_commit,");
    }
    if let Some(z) = zone {
        let _ = write!(out, "zone={z},");
    }
    if let Some((v, m)) = ct.mark {
        let _ = write!(
            out,
            "mark={}/{},",
            hex_alt(u64::from(v)),
            hex_alt(u64::from(m))
        );
    }
    if let Some((v, m)) = ct.labels {
        let _ = write!(out, "label={}", hex128(v));
        if m != u128::MAX {
            let _ = write!(out, "/{}", hex128(m));
        }
        out.push(',');
    }
    if let Some(h) = &ct.helper {
        let _ = write!(out, "helper={h},");
    }
    if let Some(t) = &ct.timeout {
        let _ = write!(out, "timeout={t},");
    }
    if let Some(n) = &ct.nat {
        write_nat(out, n);
    }
    chomp(out);
    out.push(')');
}

fn ip_text(ip: &std::net::IpAddr, bracket: bool) -> String {
    match ip {
        std::net::IpAddr::V4(a) => ipv4(&a.octets()),
        std::net::IpAddr::V6(a) if bracket => format!("[{}]", ipv6(&a.octets())),
        std::net::IpAddr::V6(a) => ipv6(&a.octets()),
    }
}

/// OVS's `format_odp_ct_nat`, its error texts included.
fn write_nat(out: &mut String, n: &Nat) {
    let options = n.ip_min.is_some()
        || n.ip_max.is_some()
        || n.proto_min.is_some()
        || n.proto_max.is_some()
        || n.persistent
        || n.proto_hash
        || n.proto_random;
    let error = if !(n.src || n.dst) && options {
        Some("nat(error: options allowed only with \"src\" or \"dst\")")
    } else if n.src && n.dst {
        Some("nat(error: Only one of \"src\" or \"dst\" may be present.)")
    } else if n.ip_min.is_none() && n.proto_min.is_some() {
        Some("nat(error: proto but no IP.)")
    } else if (n.ip_min.is_none() && n.ip_max.is_some())
        || (n.proto_min.is_none() && n.proto_max.is_some())
    {
        Some("nat(error: range max without min.)")
    } else if matches!((&n.ip_min, &n.ip_max), (Some(a), Some(b)) if a.is_ipv4() != b.is_ipv4()) {
        Some("nat(error: IP address sizes do not match)")
    } else if matches!((&n.ip_min, &n.ip_max), (Some(a), Some(b)) if !ip_is_zero(b) && a > b)
        || matches!((n.proto_min, n.proto_max), (Some(a), Some(b)) if b != 0 && a > b)
    {
        Some("nat(range error)")
    } else {
        None
    };
    if let Some(e) = error {
        out.push_str(e);
        return;
    }
    out.push_str("nat");
    if !(n.src || n.dst) {
        return;
    }
    out.push('(');
    out.push_str(if n.src { "src" } else { "dst" });
    if let Some(min) = &n.ip_min {
        let bracket = n.proto_min.is_some_and(|p| p != 0);
        let _ = write!(out, "={}", ip_text(min, bracket));
        if let Some(max) = n.ip_max.as_ref().filter(|m| !ip_is_zero(m) && *m != min) {
            let _ = write!(out, "-{}", ip_text(max, bracket));
        }
        if let Some(p) = n.proto_min.filter(|&p| p != 0) {
            let _ = write!(out, ":{p}");
            if let Some(q) = n.proto_max.filter(|&q| q != 0 && q != p) {
                let _ = write!(out, "-{q}");
            }
        }
    }
    out.push(',');
    if n.persistent {
        out.push_str("persistent,");
    }
    if n.proto_hash {
        out.push_str("hash,");
    }
    if n.proto_random {
        out.push_str("random,");
    }
    chomp(out);
    out.push(')');
}

fn ip_is_zero(ip: &std::net::IpAddr) -> bool {
    ip.is_unspecified()
}

fn write_userspace(out: &mut String, u: &Userspace, opts: &FormatOptions<'_>) {
    let _ = write!(out, "userspace(pid={}", u.pid);
    if let Some(data) = &u.userdata {
        match opts.userdata.and_then(|f| f(data)) {
            Some(text) => {
                out.push(',');
                out.push_str(&text);
            }
            None => {
                out.push_str(",userdata(");
                for b in data {
                    let _ = write!(out, "{b:02x}");
                }
                out.push(')');
            }
        }
    }
    if u.actions {
        out.push_str(",actions");
    }
    if let Some(p) = u.egress_tun_port {
        out.push_str(",tunnel_out_port=");
        port(out, p, opts);
    }
    out.push(')');
}

/// Appends actions, comma-separated, or `drop` for none (OVS's `format_odp_actions`).
pub(crate) fn write_actions(out: &mut String, actions: &[Action], opts: &FormatOptions<'_>) {
    if actions.is_empty() {
        out.push_str("drop");
        return;
    }
    for (i, a) in actions.iter().enumerate() {
        if i != 0 {
            out.push(',');
        }
        write_action(out, a, opts);
    }
}

/// OVS's `packet_format_tcp_flags`, as `dump-flows` prints `flags:`.
pub(crate) fn write_tcp_flags_short(out: &mut String, f: u16) {
    if f == 0 {
        out.push_str("none");
        return;
    }
    for (bit, s) in [
        (0x002, "S"),
        (0x001, "F"),
        (0x008, "P"),
        (0x004, "R"),
        (0x020, "U"),
        (0x010, "."),
        (0x040, "E"),
        (0x080, "C"),
        (0x100, "N"),
        (0x200, "[200]"),
        (0x400, "[400]"),
        (0x800, "[800]"),
    ] {
        if f & bit != 0 {
            out.push_str(s);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv6Addr;

    #[test]
    fn ipv6_like_inet_ntop() {
        let p = |s: &str| s.parse::<Ipv6Addr>().unwrap().octets();
        for (addr, text) in [
            ("::", "::"),
            ("::1", "::1"),
            ("fe80::ff:fe00:202", "fe80::ff:fe00:202"),
            ("ff02::2", "ff02::2"),
            ("::ffff:1.2.3.4", "::ffff:1.2.3.4"),
            ("::102:304", "::1.2.3.4"),
            ("1:0:0:2:0:0:0:3", "1:0:0:2::3"),
            ("1:0:2:0:3:0:4:0", "1:0:2:0:3:0:4:0"),
            ("2001:db8::", "2001:db8::"),
            ("::255", "::255"),
        ] {
            assert_eq!(ipv6(&p(addr)), text, "{addr}");
        }
    }

    #[test]
    fn hex_alt_is_c_hash_x() {
        assert_eq!(hex_alt(0), "0");
        assert_eq!(hex_alt(0x80), "0x80");
    }
}
