//! Formatting keys, masks and actions the way OVS's `odp_flow_format` and
//! `format_odp_actions` do.

use std::fmt::Write;

use super::FormatOptions;
use crate::odp::OdpPort;
use crate::odp::action::{Action, HashAlg, Userspace};
use crate::odp::attr::{KeyAttr, NdKey};
use crate::odp::key::vlan;
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
        KeyAttr::Encap(_) => false,
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
        KeyAttr::Other(_) if m.attr_type() > OVS_KEY_ATTR_MAX => false,
        other => other.payload().iter().all(|&b| b == byte),
    }
}

/// An all-zero mask shaped like `key` (OVS's `generate_all_wildcard_mask`).
fn wildcard_mask(key: &KeyAttr) -> KeyAttr {
    match key {
        KeyAttr::Encap(inner) => KeyAttr::Encap(inner.iter().map(wildcard_mask).collect()),
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
        let nested = matches!(a, KeyAttr::Encap(_))
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
