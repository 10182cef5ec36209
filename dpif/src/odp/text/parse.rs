//! Parsing the text of keys, masks and actions, accepting what OVS's
//! `odp_flow_from_string` and `odp_actions_from_string` accept for them.

use netlink_packet_core::DefaultNla;

use super::ParseOptions;
use super::format::{
    TNL_F_CSUM, TNL_F_DONT_FRAGMENT, TNL_F_OAM, ct_state_name, tcp_flag_name, tun_flag_name,
};
use crate::error::{Error, Result};
use crate::odp::OdpPort;
use crate::odp::action::{Action, Ct, HashAlg, Nat, Userspace};
use crate::odp::attr::{
    ArpKey, CtTupleIpv4Key, CtTupleIpv6Key, EthKey, IcmpKey, Ipv4Key, Ipv6Key, KeyAttr, L4Key,
    MAX_NEST_DEPTH, NdKey,
};
use crate::odp::key::vlan;
use crate::odp::tunnel::TunnelKey;
use crate::odp::uapi::*;

/// Characters that separate attributes or actions.
const DELIMITERS: &[u8] = b", \t\r\n";

/// A cursor over the text being parsed.
pub(crate) struct Cur<'a> {
    s: &'a str,
    pos: usize,
    op: &'static str,
}

impl<'a> Cur<'a> {
    pub(crate) fn new(s: &'a str, op: &'static str) -> Self {
        Cur { s, pos: 0, op }
    }

    pub(crate) fn rest(&self) -> &'a str {
        self.s.get(self.pos..).unwrap_or("")
    }

    pub(crate) fn at_end(&self) -> bool {
        self.pos >= self.s.len()
    }

    fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.pos).copied()
    }

    pub(crate) fn err(&self) -> Error {
        let rest: String = self.rest().chars().take(60).collect();
        Error::invalid(self.op, format!("syntax error at {rest}"))
    }

    fn err_msg(&self, msg: impl std::fmt::Display) -> Error {
        let rest: String = self.rest().chars().take(60).collect();
        Error::invalid(self.op, format!("{msg} at {rest}"))
    }

    pub(crate) fn eat(&mut self, lit: &str) -> bool {
        if self.rest().starts_with(lit) {
            self.pos += lit.len();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, lit: &str) -> Result<()> {
        if self.eat(lit) {
            Ok(())
        } else {
            Err(self.err())
        }
    }

    pub(crate) fn skip_delims(&mut self) {
        while self.peek().is_some_and(|b| DELIMITERS.contains(&b)) {
            self.pos += 1;
        }
    }

    /// Takes bytes while `f` holds.
    fn take_while(&mut self, f: impl Fn(u8) -> bool) -> &'a str {
        let start = self.pos;
        while self.peek().is_some_and(&f) {
            self.pos += 1;
        }
        self.s.get(start..self.pos).unwrap_or("")
    }

    /// An unsigned integer as C's `%i` reads it: `0x` hex, leading-zero octal, or decimal.
    fn uint(&mut self, max: u64) -> Result<u64> {
        let start = self.pos;
        let rest = self.rest();
        let (radix, skip) = if rest.starts_with("0x") || rest.starts_with("0X") {
            (16, 2)
        } else if rest.starts_with('0') && rest.as_bytes().get(1).is_some_and(u8::is_ascii_digit) {
            (8, 1)
        } else {
            (10, 0)
        };
        self.pos += skip;
        let digits = self.take_while(|b| (b as char).is_digit(radix));
        if digits.is_empty() {
            self.pos = start;
            return Err(self.err());
        }
        match u64::from_str_radix(digits, radix) {
            Ok(v) if v <= max => Ok(v),
            _ => {
                self.pos = start;
                Err(self.err_msg("number out of range"))
            }
        }
    }

    fn u8(&mut self) -> Result<u8> {
        self.uint(u64::from(u8::MAX))
            .map(|v| u8::try_from(v).unwrap_or(u8::MAX))
    }

    fn u16(&mut self) -> Result<u16> {
        self.uint(u64::from(u16::MAX))
            .map(|v| u16::try_from(v).unwrap_or(u16::MAX))
    }

    fn u32(&mut self) -> Result<u32> {
        self.uint(u64::from(u32::MAX))
            .map(|v| u32::try_from(v).unwrap_or(u32::MAX))
    }

    fn hex_byte(&mut self) -> Result<u8> {
        let h = self.take_while(|b| b.is_ascii_hexdigit());
        if h.is_empty() || h.len() > 2 {
            return Err(self.err());
        }
        u8::from_str_radix(h, 16).map_err(|_| self.err())
    }

    fn mac(&mut self) -> Result<[u8; 6]> {
        let mut m = [0u8; 6];
        for (i, b) in m.iter_mut().enumerate() {
            if i != 0 {
                self.expect(":")?;
            }
            *b = self.hex_byte()?;
        }
        Ok(m)
    }

    fn ipv4(&mut self) -> Result<[u8; 4]> {
        let mut a = [0u8; 4];
        for (i, b) in a.iter_mut().enumerate() {
            if i != 0 {
                self.expect(".")?;
            }
            let d = self.take_while(|c| c.is_ascii_digit());
            *b = d.parse().map_err(|_| self.err())?;
        }
        Ok(a)
    }

    fn ipv6(&mut self) -> Result<[u8; 16]> {
        let start = self.pos;
        let t = self.take_while(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.');
        match t.parse::<std::net::Ipv6Addr>() {
            Ok(a) => Ok(a.octets()),
            Err(_) => {
                self.pos = start;
                Err(self.err())
            }
        }
    }

    /// A value with an optional `/mask`; an omitted mask is `full`.
    fn masked<T>(&mut self, mut f: impl FnMut(&mut Self) -> Result<T>, full: T) -> Result<(T, T)> {
        let v = f(self)?;
        let m = if self.eat("/") { f(self)? } else { full };
        Ok((v, m))
    }

    /// Hex bytes separated by spaces (the generic form of attributes and actions), up to
    /// `)` or `/`.
    fn spaced_hex(&mut self) -> Result<Vec<u8>> {
        let mut v = Vec::new();
        loop {
            while self.eat(" ") {}
            if matches!(self.peek(), Some(b')' | b'/') | None) {
                return Ok(v);
            }
            v.push(self.hex_byte()?);
        }
    }

    /// Fields `name=value` separated by commas up to the closing `)`: calls `f` with each
    /// name; `f` returns false for a name it does not know.
    fn fields(&mut self, mut f: impl FnMut(&str, &mut Self) -> Result<bool>) -> Result<()> {
        if self.eat(")") {
            return Ok(());
        }
        loop {
            let name = self.take_while(|b| b.is_ascii_alphanumeric() || b == b'_');
            if !self.eat("=") || !f(name, self)? {
                return Err(self.err_msg(format!("unknown or bad field \"{name}\"")));
            }
            if self.eat(")") {
                return Ok(());
            }
            self.expect(",")?;
        }
    }
}

/// Flags as OVS's `parse_flags` reads them: a number with an optional `/mask`, names joined
/// by `|` (exact), or `+name-name` (masked); up to the closing `)`, which is not consumed.
fn flags(
    cur: &mut Cur<'_>,
    names: fn(u32) -> Option<&'static str>,
    full: u32,
) -> Result<(u32, u32)> {
    let name_bit = |n: &str| (0..32).map(|i| 1u32 << i).find(|&b| names(b) == Some(n));
    if cur.peek().is_some_and(|b| b.is_ascii_digit()) {
        return cur.masked(|c| c.u32(), full);
    }
    let (mut v, mut m) = (0u32, 0u32);
    if matches!(cur.peek(), Some(b'+' | b'-')) {
        while let Some(sign) = cur.peek().filter(|b| matches!(b, b'+' | b'-')) {
            cur.pos += 1;
            let n = cur.take_while(|b| b != b'+' && b != b'-' && b != b')');
            let bit = name_bit(n).ok_or_else(|| cur.err_msg(format!("unknown flag {n}")))?;
            m |= bit;
            if sign == b'+' {
                v |= bit;
            }
        }
        return Ok((v, m));
    }
    loop {
        let n = cur.take_while(|b| b != b'|' && b != b')');
        let bit = name_bit(n).ok_or_else(|| cur.err_msg(format!("unknown flag {n}")))?;
        v |= bit;
        if !cur.eat("|") {
            return Ok((v, full));
        }
    }
}

/// Reads a bit field of a VLAN TCI (or MPLS LSE): the value goes to bits `shift..shift+bits`
/// of `key`; an explicit `/mask` to the same bits of `mask`, else those bits are set.
fn bitfield(cur: &mut Cur<'_>, key: &mut u32, mask: &mut u32, bits: u32, shift: u32) -> Result<()> {
    let field = ((1u32 << bits) - 1) << shift;
    let v = cur.u32()?;
    if v >> bits != 0 {
        return Err(cur.err_msg("field value out of range"));
    }
    *key = (*key & !field) | (v << shift);
    if cur.eat("/") {
        let m = cur.u32()?;
        if m >> bits != 0 {
            return Err(cur.err_msg("field mask out of range"));
        }
        *mask = (*mask & !field) | (m << shift);
    } else {
        *mask |= field;
    }
    Ok(())
}

fn lo16(v: u32) -> u16 {
    u16::try_from(v & 0xffff).unwrap_or(0)
}

/// Parses one key attribute with its mask (OVS's `parse_odp_key_mask_attr`).
pub(crate) fn key_attr(
    cur: &mut Cur<'_>,
    opts: &ParseOptions<'_>,
    depth: usize,
) -> Result<(KeyAttr, KeyAttr)> {
    macro_rules! single {
        ($name:literal, $var:path, $scan:ident, $full:expr) => {
            if cur.eat(concat!($name, "(")) {
                let (v, m) = cur.masked(|c| c.$scan(), $full)?;
                cur.expect(")")?;
                return Ok(($var(v), $var(m)));
            }
        };
    }
    single!("skb_priority", KeyAttr::Priority, u32, u32::MAX);
    single!("skb_mark", KeyAttr::SkbMark, u32, u32::MAX);
    // OVS accepts no mask here (recirc_id is always matched exactly); one is accepted so
    // that whatever this crate prints parses back.
    single!("recirc_id", KeyAttr::RecircId, u32, u32::MAX);
    single!("dp_hash", KeyAttr::DpHash, u32, u32::MAX);
    if cur.eat("ct_state(") {
        let (v, m) = flags(cur, ct_state_name, u32::MAX)?;
        cur.expect(")")?;
        return Ok((KeyAttr::CtState(v), KeyAttr::CtState(m)));
    }
    single!("ct_zone", KeyAttr::CtZone, u16, u16::MAX);
    single!("ct_mark", KeyAttr::CtMark, u32, u32::MAX);
    if cur.eat("ct_label(") {
        let (v, m) = cur.masked(u128_value, u128::MAX)?;
        cur.expect(")")?;
        return Ok((
            KeyAttr::CtLabels(ct_label_bytes(v)),
            KeyAttr::CtLabels(ct_label_bytes(m)),
        ));
    }
    if cur.eat("tunnel(") {
        let (k, m) = tunnel(cur)?;
        return Ok((KeyAttr::Tunnel(k), KeyAttr::Tunnel(m)));
    }
    if cur.eat("ct_tuple4(") {
        let (mut k, mut m) = (CtTupleIpv4Key::default(), CtTupleIpv4Key::default());
        cur.fields(|name, c| {
            match name {
                "src" => (k.src, m.src) = c.masked(|c| c.ipv4(), [0xff; 4])?,
                "dst" => (k.dst, m.dst) = c.masked(|c| c.ipv4(), [0xff; 4])?,
                "proto" => (k.proto, m.proto) = c.masked(|c| c.u8(), u8::MAX)?,
                "tp_src" | "src_port" => {
                    (k.src_port, m.src_port) = c.masked(|c| c.u16(), u16::MAX)?
                }
                "tp_dst" | "dst_port" => {
                    (k.dst_port, m.dst_port) = c.masked(|c| c.u16(), u16::MAX)?
                }
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        return Ok((KeyAttr::CtTupleIpv4(k), KeyAttr::CtTupleIpv4(m)));
    }
    if cur.eat("ct_tuple6(") {
        let (mut k, mut m) = (CtTupleIpv6Key::default(), CtTupleIpv6Key::default());
        cur.fields(|name, c| {
            match name {
                "src" => (k.src, m.src) = c.masked(|c| c.ipv6(), [0xff; 16])?,
                "dst" => (k.dst, m.dst) = c.masked(|c| c.ipv6(), [0xff; 16])?,
                "proto" => (k.proto, m.proto) = c.masked(|c| c.u8(), u8::MAX)?,
                "tp_src" | "src_port" => {
                    (k.src_port, m.src_port) = c.masked(|c| c.u16(), u16::MAX)?
                }
                "tp_dst" | "dst_port" => {
                    (k.dst_port, m.dst_port) = c.masked(|c| c.u16(), u16::MAX)?
                }
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        return Ok((KeyAttr::CtTupleIpv6(k), KeyAttr::CtTupleIpv6(m)));
    }
    if cur.eat("in_port(") {
        let (v, m) = if cur.peek().is_some_and(|b| b.is_ascii_digit()) {
            cur.masked(|c| c.u32(), u32::MAX)?
        } else {
            let name = cur.take_while(|b| b != b')');
            let port = opts
                .port_names
                .and_then(|f| f(name))
                .ok_or_else(|| cur.err_msg(format!("unknown port \"{name}\"")))?;
            (port.0, u32::MAX)
        };
        cur.expect(")")?;
        return Ok((KeyAttr::InPort(v), KeyAttr::InPort(m)));
    }
    if cur.eat("eth(") {
        let (mut k, mut m) = (EthKey::default(), EthKey::default());
        cur.fields(|name, c| {
            let (v, mm) = c.masked(|c| c.mac(), [0xff; 6])?;
            match name {
                "src" => (k.src, m.src) = (v, mm),
                "dst" => (k.dst, m.dst) = (v, mm),
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        return Ok((KeyAttr::Ethernet(k), KeyAttr::Ethernet(m)));
    }
    if cur.eat("vlan(") {
        let (mut k, mut m) = (u32::from(vlan::CFI), u32::from(vlan::CFI));
        cur.fields(|name, c| {
            match name {
                "vid" => bitfield(c, &mut k, &mut m, 12, 0)?,
                "pcp" => bitfield(c, &mut k, &mut m, 3, 13)?,
                "cfi" => bitfield(c, &mut k, &mut m, 1, 12)?,
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        return Ok((KeyAttr::Vlan(lo16(k)), KeyAttr::Vlan(lo16(m))));
    }
    single!("eth_type", KeyAttr::Ethertype, u16, u16::MAX);
    if cur.eat("mpls(") {
        let (mut k, mut m) = (vec![0u32], vec![0u32]);
        let mut seen = 0u32;
        cur.fields(|name, c| {
            let (bit, bits, shift) = match name {
                "label" => (1, 20, 12),
                "tc" => (2, 3, 9),
                "ttl" => (4, 8, 0),
                "bos" => (8, 1, 8),
                _ => return Ok(false),
            };
            // A field seen again starts the next label stack entry.
            if seen & bit != 0 {
                if k.len() == 3 {
                    return Ok(false);
                }
                k.push(0);
                m.push(0);
                seen = 0;
            }
            seen |= bit;
            let (Some(kk), Some(mm)) = (k.last_mut(), m.last_mut()) else {
                return Ok(false);
            };
            bitfield(c, kk, mm, bits, shift)?;
            Ok(true)
        })?;
        return Ok((KeyAttr::Mpls(k), KeyAttr::Mpls(m)));
    }
    if cur.eat("ipv4(") {
        let (mut k, mut m) = (Ipv4Key::default(), Ipv4Key::default());
        cur.fields(|name, c| {
            match name {
                "src" => (k.src, m.src) = c.masked(|c| c.ipv4(), [0xff; 4])?,
                "dst" => (k.dst, m.dst) = c.masked(|c| c.ipv4(), [0xff; 4])?,
                "proto" => (k.proto, m.proto) = c.masked(|c| c.u8(), u8::MAX)?,
                "tos" => (k.tos, m.tos) = c.masked(|c| c.u8(), u8::MAX)?,
                "ttl" => (k.ttl, m.ttl) = c.masked(|c| c.u8(), u8::MAX)?,
                "frag" => (k.frag, m.frag) = (frag_type(c)?, u8::MAX),
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        return Ok((KeyAttr::Ipv4(k), KeyAttr::Ipv4(m)));
    }
    if cur.eat("ipv6(") {
        let (mut k, mut m) = (Ipv6Key::default(), Ipv6Key::default());
        cur.fields(|name, c| {
            match name {
                "src" => (k.src, m.src) = c.masked(|c| c.ipv6(), [0xff; 16])?,
                "dst" => (k.dst, m.dst) = c.masked(|c| c.ipv6(), [0xff; 16])?,
                "label" => {
                    (k.label, m.label) = c.masked(|c| c.u32(), 0xfffff)?;
                    if k.label > 0xfffff || m.label > 0xfffff {
                        return Ok(false);
                    }
                }
                "proto" => (k.proto, m.proto) = c.masked(|c| c.u8(), u8::MAX)?,
                "tclass" => (k.tclass, m.tclass) = c.masked(|c| c.u8(), u8::MAX)?,
                "hlimit" => (k.hlimit, m.hlimit) = c.masked(|c| c.u8(), u8::MAX)?,
                "frag" => (k.frag, m.frag) = (frag_type(c)?, u8::MAX),
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        return Ok((KeyAttr::Ipv6(k), KeyAttr::Ipv6(m)));
    }
    for (name, var) in [
        ("tcp(", KeyAttr::Tcp as fn(L4Key) -> KeyAttr),
        ("udp(", KeyAttr::Udp),
        ("sctp(", KeyAttr::Sctp),
    ] {
        if cur.eat(name) {
            let (mut k, mut m) = (L4Key::default(), L4Key::default());
            cur.fields(|name, c| {
                match name {
                    "src" => (k.src, m.src) = c.masked(|c| c.u16(), u16::MAX)?,
                    "dst" => (k.dst, m.dst) = c.masked(|c| c.u16(), u16::MAX)?,
                    _ => return Ok(false),
                }
                Ok(true)
            })?;
            return Ok((var(k), var(m)));
        }
    }
    if cur.eat("tcp_flags(") {
        let (v, m) = flags(cur, tcp_flag_name, u32::from(u16::MAX))?;
        cur.expect(")")?;
        return Ok((KeyAttr::TcpFlags(lo16(v)), KeyAttr::TcpFlags(lo16(m))));
    }
    for (name, var) in [
        ("icmp(", KeyAttr::Icmp as fn(IcmpKey) -> KeyAttr),
        ("icmpv6(", KeyAttr::Icmpv6),
    ] {
        if cur.eat(name) {
            let (mut k, mut m) = (IcmpKey::default(), IcmpKey::default());
            cur.fields(|name, c| {
                match name {
                    "type" => (k.icmp_type, m.icmp_type) = c.masked(|c| c.u8(), u8::MAX)?,
                    "code" => (k.icmp_code, m.icmp_code) = c.masked(|c| c.u8(), u8::MAX)?,
                    _ => return Ok(false),
                }
                Ok(true)
            })?;
            return Ok((var(k), var(m)));
        }
    }
    if cur.eat("arp(") {
        let (mut k, mut m) = (ArpKey::default(), ArpKey::default());
        cur.fields(|name, c| {
            match name {
                "sip" => (k.sip, m.sip) = c.masked(|c| c.ipv4(), [0xff; 4])?,
                "tip" => (k.tip, m.tip) = c.masked(|c| c.ipv4(), [0xff; 4])?,
                "op" => (k.op, m.op) = c.masked(|c| c.u16(), u16::MAX)?,
                "sha" => (k.sha, m.sha) = c.masked(|c| c.mac(), [0xff; 6])?,
                "tha" => (k.tha, m.tha) = c.masked(|c| c.mac(), [0xff; 6])?,
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        return Ok((KeyAttr::Arp(k), KeyAttr::Arp(m)));
    }
    if cur.eat("nd(") {
        let (mut k, mut m) = (NdKey::default(), NdKey::default());
        cur.fields(|name, c| {
            match name {
                "target" => (k.target, m.target) = c.masked(|c| c.ipv6(), [0xff; 16])?,
                "sll" => (k.sll, m.sll) = c.masked(|c| c.mac(), [0xff; 6])?,
                "tll" => (k.tll, m.tll) = c.masked(|c| c.mac(), [0xff; 6])?,
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        return Ok((KeyAttr::Nd(k), KeyAttr::Nd(m)));
    }
    if cur.eat("packet_type(") {
        let (mut k, mut m) = (0u32, 0u32);
        cur.fields(|name, c| {
            let (v, mm) = c.masked(|c| c.u16(), u16::MAX)?;
            let (v, mm) = (u32::from(v), u32::from(mm));
            match name {
                "ns" => (k, m) = ((k & 0xffff) | (v << 16), (m & 0xffff) | (mm << 16)),
                "id" => (k, m) = ((k & !0xffff) | v, (m & !0xffff) | mm),
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        return Ok((KeyAttr::PacketType(k), KeyAttr::PacketType(m)));
    }
    if cur.eat("encap(") {
        if depth + 1 >= MAX_NEST_DEPTH {
            return Err(cur.err_msg("encap nested too deep"));
        }
        let (mut k, mut m) = (Vec::new(), Vec::new());
        loop {
            cur.skip_delims();
            if cur.eat(")") {
                break;
            }
            if cur.at_end() {
                return Err(cur.err());
            }
            let (ka, ma) = key_attr(cur, opts, depth + 1)?;
            k.push(ka);
            m.push(ma);
        }
        return Ok((KeyAttr::Encap(k), KeyAttr::Encap(m)));
    }
    // The generic form this crate prints for attributes it does not model: keyN(xx xx/yy yy).
    if cur.eat("key") {
        let kind = cur.u16()?;
        cur.expect("(")?;
        let v = cur.spaced_hex()?;
        let m = if cur.eat("/") {
            cur.spaced_hex()?
        } else {
            vec![0xff; v.len()]
        };
        cur.expect(")")?;
        return Ok((
            KeyAttr::Other(DefaultNla::new(kind, v)),
            KeyAttr::Other(DefaultNla::new(kind, m)),
        ));
    }
    Err(cur.err())
}

/// Bytes of a number as OVS's `parse_int_string` reads it (`0x` hex or decimal), right
/// aligned in `n` big-endian bytes.
fn int_bytes(cur: &mut Cur<'_>, n: usize) -> Result<Vec<u8>> {
    let mut out = vec![0u8; n];
    if cur.eat("0x") || cur.eat("0X") {
        let h = cur.take_while(|b| b.is_ascii_hexdigit());
        let digits: Vec<u8> = h
            .bytes()
            .filter_map(|b| (b as char).to_digit(16))
            .filter_map(|d| u8::try_from(d).ok())
            .collect();
        if digits.is_empty() || digits.len().div_ceil(2) > n {
            return Err(cur.err_msg("bad hex number"));
        }
        // Fill from the right, two digits a byte.
        for (i, pair) in digits.rchunks(2).enumerate() {
            let b = pair.iter().fold(0u8, |acc, d| (acc << 4) | d);
            out[n - 1 - i] = b;
        }
    } else {
        let v = u128_value(cur)?;
        let be = v.to_be_bytes();
        let used = be.iter().position(|&b| b != 0).map_or(0, |i| 16 - i);
        if used > n {
            return Err(cur.err_msg("number too big"));
        }
        out.copy_from_slice(&be[16 - n.min(16)..]);
    }
    Ok(out)
}

/// Geneve options as OVS's `scan_geneve` reads them: `{class=C,type=T,len=L,DATA}`...
fn geneve(cur: &mut Cur<'_>) -> Result<(Vec<u8>, Vec<u8>)> {
    let (mut k, mut m) = (Vec::new(), Vec::new());
    while cur.eat("{") {
        let (mut class, mut class_m, mut typ, mut typ_m) = (0u16, 0u16, 0u8, 0u8);
        let (mut len, mut len_m) = (0u8, 0u8);
        if cur.eat("class=") {
            (class, class_m) = cur.masked(|c| c.u16(), u16::MAX)?;
        }
        cur.eat(",");
        if cur.eat("type=") {
            (typ, typ_m) = cur.masked(|c| c.u8(), u8::MAX)?;
        }
        cur.eat(",");
        if cur.eat("len=") {
            (len, len_m) = cur.masked(|c| c.u8(), u8::MAX)?;
            if len > 124 || len % 4 != 0 {
                return Err(cur.err_msg("bad geneve option length"));
            }
        }
        let n = usize::from(len);
        let mut data = vec![0u8; n];
        let mut data_m = vec![0xffu8; n];
        if cur.eat(",") {
            data = int_bytes(cur, n)?;
        }
        if cur.eat("/") {
            data_m = int_bytes(cur, n)?;
        }
        cur.expect("}")?;
        k.extend_from_slice(&class.to_be_bytes());
        k.push(typ);
        k.push(len / 4);
        k.extend_from_slice(&data);
        m.extend_from_slice(&class_m.to_be_bytes());
        m.push(typ_m);
        m.push(len_m & 0x1f);
        m.extend_from_slice(&data_m);
    }
    cur.expect(")")?;
    Ok((k, m))
}

/// The inside of `tunnel(...)` (OVS's nested tunnel scan), up to and with the `)`.
fn tunnel(cur: &mut Cur<'_>) -> Result<(TunnelKey, TunnelKey)> {
    let (mut k, mut m) = (TunnelKey::default(), TunnelKey::default());
    loop {
        if cur.eat(")") {
            return Ok((k, m));
        }
        if cur.eat("tun_id=") {
            let (v, mm) = cur.masked(|c| c.uint(u64::MAX), u64::MAX)?;
            (k.id, m.id) = (Some(v), Some(mm));
        } else if cur.eat("src=") {
            let (v, mm) = cur.masked(|c| c.ipv4(), [0xff; 4])?;
            (k.ipv4_src, m.ipv4_src) = (Some(v), Some(mm));
        } else if cur.eat("dst=") {
            let (v, mm) = cur.masked(|c| c.ipv4(), [0xff; 4])?;
            (k.ipv4_dst, m.ipv4_dst) = (Some(v), Some(mm));
        } else if cur.eat("ipv6_src=") {
            let (v, mm) = cur.masked(|c| c.ipv6(), [0xff; 16])?;
            (k.ipv6_src, m.ipv6_src) = (Some(v), Some(mm));
        } else if cur.eat("ipv6_dst=") {
            let (v, mm) = cur.masked(|c| c.ipv6(), [0xff; 16])?;
            (k.ipv6_dst, m.ipv6_dst) = (Some(v), Some(mm));
        } else if cur.eat("tos=") {
            let (v, mm) = cur.masked(|c| c.u8(), u8::MAX)?;
            (k.tos, m.tos) = (Some(v), Some(mm));
        } else if cur.eat("ttl=") {
            let (v, mm) = cur.masked(|c| c.u8(), u8::MAX)?;
            (k.ttl, m.ttl) = (Some(v), Some(mm));
        } else if cur.eat("tp_src=") {
            let (v, mm) = cur.masked(|c| c.u16(), u16::MAX)?;
            (k.tp_src, m.tp_src) = (Some(v), Some(mm));
        } else if cur.eat("tp_dst=") {
            let (v, mm) = cur.masked(|c| c.u16(), u16::MAX)?;
            (k.tp_dst, m.tp_dst) = (Some(v), Some(mm));
        } else if cur.eat("vxlan(gbp(") {
            let (mut id, mut id_m, mut fl, mut fl_m) = (0u16, 0u16, 0u8, 0u8);
            if cur.eat("id=") {
                (id, id_m) = cur.masked(|c| c.u16(), u16::MAX)?;
            }
            cur.eat(",");
            if cur.eat("flags=") {
                (fl, fl_m) = cur.masked(|c| c.u8(), u8::MAX)?;
            }
            cur.expect("))")?;
            k.vxlan_gbp = Some((u32::from(fl) << 16) | u32::from(id));
            m.vxlan_gbp = Some((u32::from(fl_m) << 16) | u32::from(id_m));
        } else if cur.eat("geneve(") {
            let (g, gm) = geneve(cur)?;
            (k.geneve_opts, m.geneve_opts) = (Some(g), Some(gm));
        } else if cur.eat("flags(") {
            let (f, fm) = flags(cur, tun_flag_name, 0xf)?;
            cur.expect(")")?;
            k.oam = f & TNL_F_OAM != 0;
            k.dont_fragment = f & TNL_F_DONT_FRAGMENT != 0;
            k.csum = f & TNL_F_CSUM != 0;
            m.oam = fm & TNL_F_OAM != 0;
            m.dont_fragment = fm & TNL_F_DONT_FRAGMENT != 0;
            m.csum = fm & TNL_F_CSUM != 0;
        } else {
            return Err(cur.err());
        }
        if !cur.eat(",") && !cur.rest().starts_with(')') {
            return Err(cur.err());
        }
    }
}

fn frag_type(cur: &mut Cur<'_>) -> Result<u8> {
    if cur.eat("no") {
        Ok(OVS_FRAG_TYPE_NONE)
    } else if cur.eat("first") {
        Ok(OVS_FRAG_TYPE_FIRST)
    } else if cur.eat("later") {
        Ok(OVS_FRAG_TYPE_LATER)
    } else {
        Err(cur.err())
    }
}

fn u128_value(cur: &mut Cur<'_>) -> Result<u128> {
    let start = cur.pos;
    let (radix, digits) = if cur.eat("0x") || cur.eat("0X") {
        (16, cur.take_while(|b| b.is_ascii_hexdigit()))
    } else {
        (10, cur.take_while(|b| b.is_ascii_digit()))
    };
    u128::from_str_radix(digits, radix).map_err(|_| {
        cur.pos = start;
        cur.err()
    })
}

fn ct_label_bytes(v: u128) -> [u8; 16] {
    let lo = u64::try_from(v & u128::from(u64::MAX)).unwrap_or(0);
    let hi = u64::try_from(v >> 64).unwrap_or(0);
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&lo.to_ne_bytes());
    b[8..].copy_from_slice(&hi.to_ne_bytes());
    b
}

/// Parses key attributes with masks (OVS's `odp_flow_from_string`); a leading
/// `ufid:<uuid>` is skipped.
pub(crate) fn key_attrs(s: &str, opts: &ParseOptions<'_>) -> Result<(Vec<KeyAttr>, Vec<KeyAttr>)> {
    if s.trim() == "<empty>" {
        return Ok((Vec::new(), Vec::new()));
    }
    let mut cur = Cur::new(s, "parse flow key");
    let (mut key, mut mask) = (Vec::new(), Vec::new());
    loop {
        cur.skip_delims();
        if cur.at_end() {
            return Ok((key, mask));
        }
        if cur.eat("ufid:") {
            let id = cur.take_while(|b| b.is_ascii_hexdigit() || b == b'-');
            if id.parse::<crate::odp::Ufid>().is_err() {
                return Err(cur.err());
            }
            continue;
        }
        let (k, m) = key_attr(&mut cur, opts, 0)?;
        key.push(k);
        mask.push(m);
    }
}

/// Parses one action (OVS's `parse_odp_action`).
fn action(cur: &mut Cur<'_>, opts: &ParseOptions<'_>, depth: usize) -> Result<Action> {
    if cur.peek().is_some_and(|b| b.is_ascii_digit()) {
        return Ok(Action::Output(OdpPort(cur.u32()?)));
    }
    macro_rules! number_in {
        ($name:literal, $build:expr) => {
            if cur.eat(concat!($name, "(")) {
                let v = cur.u32()?;
                cur.expect(")")?;
                return Ok($build(v));
            }
        };
    }
    number_in!("trunc", Action::Trunc);
    number_in!("recirc", Action::Recirc);
    number_in!("meter", Action::Meter);
    if cur.eat("userspace(") {
        return userspace(cur);
    }
    if cur.eat("set(") {
        if depth + 1 >= MAX_NEST_DEPTH {
            return Err(cur.err_msg("actions nested too deep"));
        }
        let (k, m) = key_attr(cur, opts, depth + 1)?;
        cur.expect(")")?;
        let kp = k.payload();
        let mp = m.payload();
        // (Never a masked set of a tunnel key: the kernel has none.)
        let masked = !matches!(k, KeyAttr::Tunnel(_));
        return Ok(
            if masked && kp.len() == mp.len() && !mp.iter().all(|&b| b == 0xff) {
                Action::SetMasked { value: k, mask: m }
            } else {
                Action::Set(k)
            },
        );
    }
    if cur.eat("push_vlan(") {
        let (mut tpid, mut vid, mut pcp, mut cfi) = (0x8100u32, None, None, 1u32);
        cur.fields(|name, c| {
            match name {
                "tpid" => tpid = c.uint(0xffff).map(|v| u32::try_from(v).unwrap_or(0))?,
                "vid" => vid = Some(c.uint(0xfff)?),
                "pcp" => pcp = Some(c.uint(7)?),
                "cfi" => cfi = c.uint(1).map(|v| u32::try_from(v).unwrap_or(0))?,
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        let (Some(vid), Some(pcp)) = (vid, pcp) else {
            return Err(cur.err_msg("push_vlan needs vid and pcp"));
        };
        let tci = (pcp << 13) | (u64::from(cfi) << 12) | vid;
        return Ok(Action::PushVlan {
            tpid: lo16(tpid),
            tci: u16::try_from(tci).unwrap_or(0),
        });
    }
    if cur.eat("sample(sample=") {
        let num = cur.take_while(|b| b.is_ascii_digit() || b == b'.');
        let pct: f64 = num.parse().map_err(|_| cur.err())?;
        if !(0.0..=100.0).contains(&pct) {
            return Err(cur.err_msg("sample percentage out of range"));
        }
        cur.expect("%,actions(")?;
        let actions = action_list(cur, opts, depth + 1)?;
        cur.expect("))")?;
        let p = (f64::from(u32::MAX) * (pct / 100.0) + 0.5).floor();
        // In range by the check above; `as` saturates and cannot wrap.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let probability = p.clamp(0.0, f64::from(u32::MAX)) as u32;
        return Ok(Action::Sample {
            probability,
            actions,
        });
    }
    if cur.eat("clone(") {
        let actions = action_list(cur, opts, depth + 1)?;
        cur.expect(")")?;
        return Ok(Action::Clone(actions));
    }
    if cur.eat("hash(") {
        let alg = if cur.eat("l4(") {
            HashAlg::L4
        } else if cur.eat("sym_l4(") {
            HashAlg::SymL4
        } else if cur.eat("Unknown hash algorithm(") {
            HashAlg::Other(0)
        } else {
            return Err(cur.err());
        };
        let n = cur.u32()?;
        cur.expect("))")?;
        return Ok(match alg {
            HashAlg::Other(_) => Action::Hash {
                alg: HashAlg::Other(n),
                basis: 0,
            },
            alg => Action::Hash { alg, basis: n },
        });
    }
    if cur.eat("push_mpls(") {
        let (mut lse, mut lse_mask, mut ethertype) = (0u32, 0u32, None);
        cur.fields(|name, c| {
            match name {
                "label" => bitfield(c, &mut lse, &mut lse_mask, 20, 12)?,
                "tc" => bitfield(c, &mut lse, &mut lse_mask, 3, 9)?,
                "ttl" => bitfield(c, &mut lse, &mut lse_mask, 8, 0)?,
                "bos" => bitfield(c, &mut lse, &mut lse_mask, 1, 8)?,
                "eth_type" => ethertype = Some(c.u16()?),
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        let ethertype = ethertype.ok_or_else(|| cur.err_msg("push_mpls needs eth_type"))?;
        return Ok(Action::PushMpls { lse, ethertype });
    }
    if cur.eat("pop_mpls(eth_type=") {
        let t = cur.u16()?;
        cur.expect(")")?;
        return Ok(Action::PopMpls(t));
    }
    if cur.eat("push_eth(") {
        let (mut src, mut dst) = ([0u8; 6], [0u8; 6]);
        cur.fields(|name, c| {
            match name {
                "src" => src = c.mac()?,
                "dst" => dst = c.mac()?,
                _ => return Ok(false),
            }
            Ok(true)
        })?;
        return Ok(Action::PushEth { src, dst });
    }
    for (word, a) in [
        ("pop_vlan", Action::PopVlan),
        ("pop_eth", Action::PopEth),
        ("ct_clear", Action::CtClear),
        ("drop", Action::Drop(XLATE_OK)),
    ] {
        if cur.eat(word) {
            return Ok(a);
        }
    }
    if cur.eat("check_pkt_len(size=") {
        let pkt_len = cur.u16()?;
        cur.expect(",gt(")?;
        let if_greater = action_list(cur, opts, depth + 1)?;
        cur.expect("),le(")?;
        let if_less_equal = action_list(cur, opts, depth + 1)?;
        cur.expect("))")?;
        return Ok(Action::CheckPktLen {
            pkt_len,
            if_greater,
            if_less_equal,
        });
    }
    if cur.rest().starts_with("ct") && !cur.rest().starts_with("ct_") {
        cur.pos += 2;
        return ct(cur).map(Action::Ct);
    }
    // The generic form for actions this crate does not model: actionN(xx xx).
    if cur.eat("action") {
        let kind = cur.u16()?;
        let v = if cur.eat("(") {
            let v = cur.spaced_hex()?;
            cur.expect(")")?;
            v
        } else {
            Vec::new()
        };
        return Ok(Action::Other(DefaultNla::new(kind, v)));
    }
    if let Some(f) = opts.port_names {
        let start = cur.pos;
        let name = cur.take_while(|b| !DELIMITERS.contains(&b) && b != b')');
        if let Some(p) = f(name) {
            return Ok(Action::Output(p));
        }
        cur.pos = start;
    }
    Err(cur.err())
}

/// A name up to a delimiter or `)`, of 1 to `max` bytes.
fn name_up_to(cur: &mut Cur<'_>, max: usize) -> Result<String> {
    let n = cur.take_while(|b| !DELIMITERS.contains(&b) && b != b')');
    if n.is_empty() || n.len() > max {
        return Err(cur.err_msg("bad name"));
    }
    Ok(n.to_owned())
}

/// The `ct` action after its name (OVS's `parse_conntrack_action`): nothing, or
/// `(commit,force_commit,zone=N,mark=V[/M],label=V[/M],helper=H,timeout=T,nat(...))`.
fn ct(cur: &mut Cur<'_>) -> Result<Ct> {
    let mut ct = Ct::default();
    if !cur.eat("(") {
        return Ok(ct);
    }
    loop {
        cur.skip_delims();
        if cur.eat(")") {
            break;
        }
        if cur.eat("commit") {
            ct.commit = true;
        } else if cur.eat("force_commit") {
            ct.force_commit = true;
        } else if cur.eat("zone=") {
            let z = cur.u16()?;
            ct.zone = (z != 0).then_some(z);
        } else if cur.eat("mark=") {
            let hex = |c: &mut Cur<'_>| {
                c.eat("0x");
                let h = c.take_while(|b| b.is_ascii_hexdigit());
                u32::from_str_radix(h, 16).map_err(|_| c.err())
            };
            let (v, m) = cur.masked(hex, u32::MAX)?;
            ct.mark = (m != 0).then_some((v, m));
        } else if cur.eat("label=") {
            let (v, m) = cur.masked(u128_value, u128::MAX)?;
            ct.labels = (m != 0).then_some((v, m));
        } else if cur.eat("helper=") {
            ct.helper = Some(name_up_to(cur, 15)?);
        } else if cur.eat("timeout=") {
            ct.timeout = Some(name_up_to(cur, 31)?);
        } else if cur.eat("nat") {
            ct.nat = Some(nat(cur)?);
        } else {
            return Err(cur.err());
        }
    }
    if ct.commit && ct.force_commit {
        return Err(cur.err_msg("commit and force_commit together"));
    }
    Ok(ct)
}

fn ip_any(cur: &mut Cur<'_>) -> Result<std::net::IpAddr> {
    let start = cur.pos;
    if cur.eat("[") {
        let a = cur.ipv6()?;
        cur.expect("]")?;
        return Ok(a.into());
    }
    // An IPv4 address (a port may follow after ':'), or an IPv6 address (which a port
    // cannot follow without brackets).
    let t = cur.take_while(|b| b.is_ascii_digit() || b == b'.');
    if let Ok(a) = t.parse::<std::net::Ipv4Addr>()
        && !cur.peek().is_some_and(|b| b.is_ascii_hexdigit())
    {
        return Ok(a.into());
    }
    cur.pos = start;
    let t = cur.take_while(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.');
    if let Ok(a) = t.parse::<std::net::Ipv6Addr>() {
        return Ok(a.into());
    }
    cur.pos = start;
    Err(cur.err())
}

/// The `nat` part of `ct` after its name: nothing, or `(src|dst[=RANGE],persistent,hash,
/// random)`, encoded as OVS's `nl_msg_put_ct_nat` would (the range, ports and flags only
/// with an address; a maximum only above its minimum).
fn nat(cur: &mut Cur<'_>) -> Result<Nat> {
    let mut n = Nat::default();
    if !cur.eat("(") {
        return Ok(n);
    }
    let (mut min, mut max, mut pmin, mut pmax) = (None, None, 0u16, 0u16);
    loop {
        cur.skip_delims();
        if cur.eat(")") {
            break;
        }
        let which = if cur.eat("src") {
            Some(true)
        } else if cur.eat("dst") {
            Some(false)
        } else {
            None
        };
        if let Some(src) = which {
            if src {
                n.src = true;
            } else {
                n.dst = true;
            }
            if cur.eat("=") {
                min = Some(ip_any(cur)?);
                if cur.eat("-") {
                    max = Some(ip_any(cur)?);
                }
                if cur.eat(":") {
                    pmin = cur.u16()?;
                    if cur.eat("-") {
                        pmax = cur.u16()?;
                    }
                }
            }
        } else if cur.eat("persistent") {
            n.persistent = true;
        } else if cur.eat("hash") {
            n.proto_hash = true;
        } else if cur.eat("random") {
            n.proto_random = true;
        } else {
            return Err(cur.err());
        }
    }
    let bad_range = matches!((&min, &max), (Some(a), Some(b)) if a.is_ipv4() != b.is_ipv4() || b < a)
        || (pmax != 0 && pmax < pmin);
    if (n.src && n.dst) || bad_range || (n.proto_hash && n.proto_random) {
        return Err(cur.err_msg("bad nat"));
    }
    if !(n.src || n.dst) {
        return Ok(Nat::default());
    }
    match min {
        Some(a) => {
            n.ip_min = Some(a);
            n.ip_max = max.filter(|b| *b > a);
            n.proto_min = (pmin != 0).then_some(pmin);
            n.proto_max = (pmin != 0 && pmax > pmin).then_some(pmax);
        }
        None => {
            n.persistent = false;
            n.proto_hash = false;
            n.proto_random = false;
        }
    }
    Ok(n)
}

fn userspace(cur: &mut Cur<'_>) -> Result<Action> {
    cur.expect("pid=")?;
    let mut u = Userspace {
        pid: cur.u32()?,
        ..Default::default()
    };
    if cur.eat(",userdata(") {
        let mut data = Vec::new();
        while cur.peek().is_some_and(|b| b.is_ascii_hexdigit()) {
            let start = cur.pos;
            let two = cur.rest().get(..2).unwrap_or("");
            let b = u8::from_str_radix(two, 16).map_err(|_| {
                cur.pos = start;
                cur.err()
            })?;
            cur.pos += 2;
            data.push(b);
        }
        cur.expect(")")?;
        u.userdata = Some(data);
    }
    if cur.eat(",actions") {
        u.actions = true;
    }
    if cur.eat(",tunnel_out_port=") {
        u.egress_tun_port = Some(cur.u32()?);
    }
    cur.expect(")")?;
    Ok(Action::Userspace(u))
}

/// Parses actions up to a closing `)` (not consumed), for `sample` and `clone`.
fn action_list(cur: &mut Cur<'_>, opts: &ParseOptions<'_>, depth: usize) -> Result<Vec<Action>> {
    if depth >= MAX_NEST_DEPTH {
        return Err(cur.err_msg("actions nested too deep"));
    }
    let mut out = Vec::new();
    loop {
        cur.skip_delims();
        if cur.rest().starts_with(')') {
            return Ok(out);
        }
        if cur.at_end() {
            return Err(cur.err());
        }
        out.push(action(cur, opts, depth)?);
    }
}

/// Parses an action list (OVS's `odp_actions_from_string`): `drop` alone is no actions.
pub(crate) fn actions(s: &str, opts: &ParseOptions<'_>) -> Result<Vec<Action>> {
    if s.trim().eq_ignore_ascii_case("drop") {
        return Ok(Vec::new());
    }
    let mut cur = Cur::new(s, "parse actions");
    let mut out = Vec::new();
    loop {
        cur.skip_delims();
        if cur.at_end() {
            return Ok(out);
        }
        out.push(action(&mut cur, opts, 0)?);
        if !cur.at_end() && !cur.peek().is_some_and(|b| DELIMITERS.contains(&b)) {
            return Err(cur.err());
        }
    }
}
