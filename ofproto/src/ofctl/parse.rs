//! Parsing the flow syntax of `ovs-ofctl`: `key=value` (or `key:value`, `key(value)`)
//! items separated by commas or white space, with everything after `actions=` being the
//! action list.
//!
//! Every error names the offending token. The parser never panics, whatever the input.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use netdev::EthAddr;

use super::PortNames;
use crate::actions::{Action, Controller, PacketInReason, SubField};
use crate::error::Error;
use crate::fields::{Field, Prereq, ValueFormat};
use crate::flow::{Flow, OfpPort};
use crate::matching::Match;
use crate::rule::FlowModFlags;
use crate::table::{FlowMod, FlowModCommand};

const SEPARATORS: &[char] = &[',', ' ', '\t', '\r', '\n'];

/// How a key was followed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Delim {
    /// Nothing (`ip`, `NORMAL`).
    None,
    /// `=` or `:`.
    Eq,
    /// `(...)`.
    Paren,
}

/// One `key[=value]` item.
struct Item<'a> {
    key: &'a str,
    value: &'a str,
    delim: Delim,
    /// The whole item as written, for error messages.
    raw: &'a str,
}

/// Splits `key=value` items (see the module docs).
struct Tokenizer<'a> {
    rest: &'a str,
}

impl<'a> Tokenizer<'a> {
    fn new(s: &'a str) -> Tokenizer<'a> {
        Tokenizer { rest: s }
    }

    /// The text not yet consumed.
    fn remainder(&self) -> &'a str {
        self.rest
    }

    fn next_item(&mut self) -> Result<Option<Item<'a>>, Error> {
        let s = self.rest.trim_start_matches(SEPARATORS);
        if s.is_empty() {
            self.rest = s;
            return Ok(None);
        }
        let key_end = if let Some(q) = s.strip_prefix('"') {
            // A quoted port name standing alone (`"my port"` as an action).
            let close = q
                .find('"')
                .ok_or_else(|| Error::parse(item_text(s), "missing closing `\"`"))?;
            close + 2
        } else {
            s.find(|c: char| matches!(c, '=' | ':' | '(') || SEPARATORS.contains(&c))
                .unwrap_or(s.len())
        };
        let key = &s[..key_end];
        let after = &s[key_end..];
        let (delim, value, rest) = match after.chars().next() {
            Some('=') | Some(':') => {
                let v = &after[1..];
                let end = value_end(v).ok_or_else(|| {
                    Error::parse(item_text(s), "unbalanced parentheses or quotes")
                })?;
                (Delim::Eq, &v[..end], &v[end..])
            }
            Some('(') => {
                let v = &after[1..];
                let close =
                    matching_paren(v).ok_or_else(|| Error::parse(item_text(s), "missing `)`"))?;
                (Delim::Paren, &v[..close], &v[close + 1..])
            }
            _ => (Delim::None, "", after),
        };
        if key.is_empty() {
            return Err(Error::parse(item_text(s), "missing keyword"));
        }
        let raw = &s[..s.len() - rest.len()];
        self.rest = rest;
        Ok(Some(Item {
            key,
            value,
            delim,
            raw,
        }))
    }

    /// Skips separators and returns the rest, if it starts with `key=` for the given key.
    fn take_actions(&mut self) -> Option<&'a str> {
        let s = self.rest.trim_start_matches(SEPARATORS);
        for k in ["actions=", "action=", "actions:", "action:"] {
            if let Some(r) = s.strip_prefix(k) {
                self.rest = "";
                return Some(r);
            }
        }
        None
    }
}

/// The first few characters of `s`, for error messages.
fn item_text(s: &str) -> String {
    s.chars().take(40).collect()
}

/// Where a value starting at `v` ends: at the first separator outside parentheses and
/// quotes. `None` if parentheses or quotes do not balance.
fn value_end(v: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut quoted = false;
    for (i, c) in v.char_indices() {
        match c {
            '"' => quoted = !quoted,
            _ if quoted => {}
            '(' => depth += 1,
            ')' => depth = depth.checked_sub(1)?,
            c if depth == 0 && SEPARATORS.contains(&c) => return Some(i),
            _ => {}
        }
    }
    (depth == 0 && !quoted).then_some(v.len())
}

/// The index of the `)` that closes an already opened parenthesis.
fn matching_paren(v: &str) -> Option<usize> {
    let mut depth = 1usize;
    let mut quoted = false;
    for (i, c) in v.char_indices() {
        match c {
            '"' => quoted = !quoted,
            _ if quoted => {}
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// Parses an unsigned integer: decimal, or hexadecimal with `0x`.
fn parse_u128(s: &str) -> Option<u128> {
    let s = s.trim();
    if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        if h.is_empty() || h.len() > 32 {
            return None;
        }
        u128::from_str_radix(h, 16).ok()
    } else {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    }
}

fn parse_num<T: TryFrom<u128>>(token: &str, s: &str, what: &str) -> Result<T, Error> {
    parse_u128(s)
        .and_then(|v| T::try_from(v).ok())
        .ok_or_else(|| Error::parse(token, format!("{s}: invalid {what}")))
}

/// Parses a port: a reserved name (any case), a number, a quoted name, or a name from
/// `names`.
pub fn parse_port(s: &str, names: Option<&PortNames>) -> Result<OfpPort, Error> {
    let bad = || Error::parse(s, "invalid or unknown port");
    let unq = s
        .strip_prefix('"')
        .and_then(|x| x.strip_suffix('"'))
        .filter(|_| s.len() >= 2);
    if let Some(name) = unq {
        return names.and_then(|m| m.port(name)).ok_or_else(bad);
    }
    if let Some(v) = parse_u128(s) {
        let n = u32::try_from(v).map_err(|_| bad())?;
        let p = if n <= 0xffff {
            Some(OfpPort(n))
        } else {
            OfpPort::from_of11(n)
        };
        return p.filter(|p| p.is_valid()).ok_or_else(bad);
    }
    if let Some(p) = names.and_then(|m| m.port(s)) {
        return Ok(p);
    }
    if s.eq_ignore_ascii_case("none") {
        return Ok(OfpPort::NONE);
    }
    OfpPort::RESERVED
        .iter()
        .find(|(_, n)| n.eq_ignore_ascii_case(s))
        .map(|(p, _)| *p)
        .ok_or_else(bad)
}

fn split_mask(s: &str) -> (&str, Option<&str>) {
    match s.split_once('/') {
        Some((v, m)) => (v, Some(m)),
        None => (s, None),
    }
}

fn eth_to_u128(a: EthAddr) -> u128 {
    let b = a.0;
    u128::from(u64::from_be_bytes([
        0, 0, b[0], b[1], b[2], b[3], b[4], b[5],
    ]))
}

fn prefix_mask(len: u32, width: u32) -> u128 {
    let full = if width >= 128 {
        u128::MAX
    } else {
        (1u128 << width) - 1
    };
    if len == 0 {
        0
    } else {
        full & !((1u128 << (width - len)) - 1)
    }
}

fn parse_tcp_flags(token: &str, s: &str) -> Result<(u128, u128), Error> {
    const NAMES: [&str; 9] = ["fin", "syn", "rst", "psh", "ack", "urg", "ece", "cwr", "ns"];
    let bit_of = |name: &str| -> Result<u128, Error> {
        if let Some(i) = NAMES.iter().position(|n| *n == name) {
            return Ok(1u128 << i);
        }
        if let Some(h) = name.strip_prefix('[').and_then(|x| x.strip_suffix(']'))
            && let Ok(v) = u128::from_str_radix(h, 16)
            && v.is_power_of_two()
            && v < 0x1000
        {
            return Ok(v);
        }
        Err(Error::parse(token, format!("{name}: unknown TCP flag")))
    };
    if s.starts_with('+') || s.starts_with('-') {
        let (mut v, mut m) = (0u128, 0u128);
        let mut rest = s;
        while let Some(sign) = rest.chars().next() {
            let body = &rest[1..];
            let end = body.find(['+', '-']).unwrap_or(body.len());
            let bit = bit_of(&body[..end])?;
            if m & bit != 0 {
                return Err(Error::parse(token, "TCP flag given twice"));
            }
            m |= bit;
            if sign == '+' {
                v |= bit;
            }
            rest = &body[end..];
            if !rest.is_empty() && !rest.starts_with(['+', '-']) {
                return Err(Error::parse(token, "bad TCP flags"));
            }
        }
        return Ok((v, m));
    }
    if let (v, m) = split_mask(s)
        && let Some(val) = parse_u128(v)
    {
        let mask = match m {
            Some(m) => parse_u128(m).ok_or_else(|| Error::parse(token, "bad mask"))?,
            None => 0xfff,
        };
        return Ok((val, mask));
    }
    let mut v = 0;
    for name in s.split('|') {
        v |= bit_of(name)?;
    }
    Ok((v, 0xfff))
}

/// Parses a value (and optional mask) of `field` in its flow-syntax format. The mask is
/// `None` when none was written.
fn parse_field_value(
    token: &str,
    field: Field,
    s: &str,
    names: Option<&PortNames>,
) -> Result<(u128, Option<u128>), Error> {
    let info = field.info();
    let bad = |what: &str| Error::parse(token, format!("{s}: {what}"));
    match info.format {
        ValueFormat::Decimal | ValueFormat::Hex => {
            let (v, m) = split_mask(s);
            let v = parse_u128(v).ok_or_else(|| bad("invalid number"))?;
            let m = m
                .map(|m| parse_u128(m).ok_or_else(|| bad("invalid mask")))
                .transpose()?;
            Ok((v, m))
        }
        ValueFormat::Ethernet => {
            let (v, m) = split_mask(s);
            let v = EthAddr::from_str(v).map_err(|_| bad("invalid Ethernet address"))?;
            let m = m
                .map(|m| EthAddr::from_str(m).map_err(|_| bad("invalid Ethernet mask")))
                .transpose()?;
            Ok((eth_to_u128(v), m.map(eth_to_u128)))
        }
        ValueFormat::Ipv4 => {
            let (v, m) = split_mask(s);
            let v = Ipv4Addr::from_str(v).map_err(|_| bad("invalid IP address"))?;
            let m = match m {
                None => None,
                Some(m) => Some(if let Ok(len) = m.parse::<u32>() {
                    if len > 32 {
                        return Err(bad("invalid prefix length"));
                    }
                    prefix_mask(len, 32)
                } else {
                    u128::from(u32::from(
                        Ipv4Addr::from_str(m).map_err(|_| bad("invalid netmask"))?,
                    ))
                }),
            };
            Ok((u128::from(u32::from(v)), m))
        }
        ValueFormat::Ipv6 => {
            let (v, m) = split_mask(s);
            let v = Ipv6Addr::from_str(v).map_err(|_| bad("invalid IPv6 address"))?;
            let m = match m {
                None => None,
                Some(m) => Some(if let Ok(len) = m.parse::<u32>() {
                    if len > 128 {
                        return Err(bad("invalid prefix length"));
                    }
                    prefix_mask(len, 128)
                } else {
                    u128::from(Ipv6Addr::from_str(m).map_err(|_| bad("invalid IPv6 mask"))?)
                }),
            };
            Ok((u128::from(v), m))
        }
        ValueFormat::Port => {
            let p = parse_port(s, names)
                .map_err(|_| Error::parse(token, format!("{s}: invalid or unknown port")))?;
            Ok((u128::from(p.0), None))
        }
        ValueFormat::Frag => {
            let (v, m) = match s {
                "no" => (0, 3),
                "first" => (1, 3),
                "later" => (3, 3),
                "yes" => (1, 1),
                "not_later" => (0, 2),
                _ => {
                    return Err(bad(
                        "unknown fragment type (valid types are \"no\", \"yes\", \"first\", \
                         \"later\", \"not_later\")",
                    ));
                }
            };
            Ok((v, Some(m)))
        }
        ValueFormat::TcpFlags => {
            let (v, m) = parse_tcp_flags(token, s)?;
            Ok((v, Some(m)))
        }
    }
}

/// Sets `field` in `m` from `value`, giving errors in terms of `token`.
fn set_match_field(
    m: &mut Match,
    token: &str,
    field: Field,
    value: &str,
    names: Option<&PortNames>,
) -> Result<(), Error> {
    let (v, mask) = parse_field_value(token, field, value, names)?;
    let info = field.info();
    if mask.is_some() && !info.maskable && info.format != ValueFormat::Frag {
        return Err(Error::parse(
            token,
            format!("{}: field does not support masking", info.name),
        ));
    }
    if field == Field::DlVlan && v == 0xffff {
        return m.set(field, v);
    }
    let width_ok = if info.n_bits >= 128 {
        true
    } else {
        v >> info.n_bits == 0
    };
    if !width_ok || (v & !field.valid_bits() != 0 && field != Field::NwTos) {
        return Err(Error::parse(
            token,
            format!("{value}: value too large for {}", info.name),
        ));
    }
    m.set_masked(field, v, mask.unwrap_or(u128::MAX))
        .map_err(|e| Error::parse(token, e.to_string()))
}

/// The protocol shorthands: name, dl_type, nw_proto.
const SHORTHANDS: [(&str, u16, Option<u8>); 17] = [
    ("ip", 0x0800, None),
    ("ipv4", 0x0800, None),
    ("ipv6", 0x86dd, None),
    ("icmp", 0x0800, Some(1)),
    ("icmp6", 0x86dd, Some(58)),
    ("tcp", 0x0800, Some(6)),
    ("tcp6", 0x86dd, Some(6)),
    ("udp", 0x0800, Some(17)),
    ("udp6", 0x86dd, Some(17)),
    ("sctp", 0x0800, Some(132)),
    ("sctp6", 0x86dd, Some(132)),
    ("igmp", 0x0800, Some(2)),
    ("arp", 0x0806, None),
    ("rarp", 0x8035, None),
    ("mpls", 0x8847, None),
    ("mplsm", 0x8848, None),
    ("eth", 0, None),
];

/// Match keys seen while parsing, for the final prerequisite check.
struct MatchBuilder {
    m: Match,
    fields: Vec<(Field, Prereq)>,
}

impl MatchBuilder {
    fn new() -> MatchBuilder {
        MatchBuilder {
            m: Match::catchall(),
            fields: vec![],
        }
    }

    /// Handles a match item; returns `Ok(false)` if `item` is not a match item.
    fn item(&mut self, item: &Item<'_>, names: Option<&PortNames>) -> Result<bool, Error> {
        if item.delim == Delim::None {
            if let Some((name, t, p)) = SHORTHANDS.iter().find(|(n, _, _)| *n == item.key) {
                if *name != "eth" {
                    self.m.set_dl_type(*t);
                    if let Some(p) = p {
                        self.m.set_nw_proto(*p);
                    }
                }
                return Ok(true);
            }
            return Ok(false);
        }
        let (field, prereq) = match item.key {
            "tp_src" => (Field::TcpSrc, Prereq::L4),
            "tp_dst" => (Field::TcpDst, Prereq::L4),
            "nw_src" => (Field::Ipv4Src, Prereq::None),
            "nw_dst" => (Field::Ipv4Dst, Prereq::None),
            "nw_proto" | "ip_proto" => (Field::IpProto, Prereq::None),
            "icmp_type" => (Field::IcmpType, Prereq::Icmp),
            "icmp_code" => (Field::IcmpCode, Prereq::Icmp),
            k => match Field::from_name(k) {
                Some(f) => (f, f.info().prereq),
                None => return Ok(false),
            },
        };
        if item.delim != Delim::Eq {
            return Err(Error::parse(item.raw, "expected `=` and a value"));
        }
        if item.value.is_empty() {
            return Err(Error::parse(item.raw, "missing value"));
        }
        set_match_field(&mut self.m, item.raw, field, item.value, names)?;
        self.fields.push((field, prereq));
        Ok(true)
    }

    /// Checks prerequisites of every field given, and of the match as a whole.
    fn finish(self) -> Result<Match, Error> {
        for (f, p) in &self.fields {
            if !p.ok(self.m.flow(), None) {
                return Err(Error::BadPrereq {
                    field: f.info().name,
                    requires: p.describe(),
                });
            }
        }
        self.m.check_prereqs()?;
        Ok(self.m)
    }
}

fn parse_flags_item(key: &str) -> Option<FlowModFlags> {
    FlowModFlags::NAMES
        .iter()
        .find(|(n, _)| *n == key)
        .map(|(_, f)| *f)
}

/// Parses a flow in `ovs-ofctl` syntax for a flow-mod `command` (`add-flow`, `mod-flows`,
/// `del-flows` and their `--strict` forms): match fields, `table`, `priority`, `cookie`
/// (`cookie=V` sets the cookie of added or modified flows; `cookie=V/M` selects flows to
/// modify or delete), timeouts, `importance`, flags, `out_port`, `out_group`, and
/// `actions=`, which must come last. The fields that `dump-flows` prints and a flow-mod
/// cannot carry (`duration`, `n_packets`, `n_bytes`, `idle_age`, `hard_age`) are ignored, so
/// dump output parses back.
///
/// # Errors
///
/// [`Error::Parse`] naming the bad token; [`Error::BadPrereq`] when a field lacks its
/// prerequisites (`tp_dst=80` without `tcp`/`udp`/`sctp`).
pub fn parse_flow_mod(
    s: &str,
    command: FlowModCommand,
    names: Option<&PortNames>,
) -> Result<FlowMod, Error> {
    let mut fm = FlowMod::new(command, Match::catchall());
    let mut mb = MatchBuilder::new();
    let mut tok = Tokenizer::new(s);
    let mut actions: Option<&str> = None;
    loop {
        if let Some(a) = tok.take_actions() {
            actions = Some(a);
            break;
        }
        let Some(item) = tok.next_item()? else {
            break;
        };
        if mb.item(&item, names)? {
            continue;
        }
        if let Some(f) = parse_flags_item(item.key)
            && item.delim == Delim::None
        {
            fm.flags |= f;
            continue;
        }
        let v = item.value;
        let t = item.raw;
        if item.delim == Delim::None {
            return Err(Error::parse(t, "unknown keyword"));
        }
        match item.key {
            "table" => {
                fm.table_id = parse_num(t, v, "table id")?;
            }
            "priority" => {
                fm.priority = u32::from(parse_num::<u16>(t, v, "priority")?);
            }
            "cookie" => {
                let (c, m) = split_mask(v);
                let c: u64 = parse_num(t, c, "cookie")?;
                match m {
                    Some(m) => {
                        if command == FlowModCommand::Add {
                            return Err(Error::parse(t, "flow additions cannot use a cookie mask"));
                        }
                        fm.cookie = c;
                        fm.cookie_mask = if m == "-1" {
                            u64::MAX
                        } else {
                            parse_num(t, m, "cookie mask")?
                        };
                    }
                    None => {
                        if matches!(
                            command,
                            FlowModCommand::Delete | FlowModCommand::DeleteStrict
                        ) {
                            return Err(Error::parse(t, "cannot set cookie"));
                        }
                        fm.new_cookie = Some(c);
                    }
                }
            }
            "idle_timeout" => fm.idle_timeout = parse_num(t, v, "idle timeout")?,
            "hard_timeout" => fm.hard_timeout = parse_num(t, v, "hard timeout")?,
            "importance" => fm.importance = parse_num(t, v, "importance")?,
            "out_port" => fm.out_port = parse_port(v, names)?,
            "out_group" => {
                fm.out_group = match v {
                    "any" | "ANY" => u32::MAX,
                    _ => parse_num(t, v, "group id")?,
                }
            }
            "duration" | "n_packets" | "n_bytes" | "idle_age" | "hard_age" => {}
            _ => return Err(Error::parse(t, "unknown keyword")),
        }
    }
    fm.match_ = mb.finish()?;
    match (actions, command) {
        (Some(a), FlowModCommand::Delete | FlowModCommand::DeleteStrict) => {
            let _ = a;
            return Err(Error::parse("actions", "not allowed when deleting flows"));
        }
        (Some(a), _) => fm.actions = parse_actions(a, names)?,
        (None, FlowModCommand::Add | FlowModCommand::Modify | FlowModCommand::ModifyStrict) => {
            return Err(Error::parse(s.trim(), "must specify an action"));
        }
        (None, _) => {}
    }
    Ok(fm)
}

/// Parses a match (and an optional `priority=`): what `ovs-ofctl dump-flows` takes as a
/// filter and `ofproto/trace` prints. Keys other than match fields and `priority` are
/// errors.
///
/// # Errors
///
/// As [`parse_flow_mod`].
pub fn parse_match(s: &str, names: Option<&PortNames>) -> Result<(Match, Option<u32>), Error> {
    let mut mb = MatchBuilder::new();
    let mut tok = Tokenizer::new(s);
    let mut priority = None;
    while let Some(item) = tok.next_item()? {
        if mb.item(&item, names)? {
            continue;
        }
        if item.key == "priority" && item.delim == Delim::Eq {
            priority = Some(u32::from(parse_num::<u16>(
                item.raw, item.value, "priority",
            )?));
            continue;
        }
        return Err(Error::parse(item.raw, "unknown field"));
    }
    Ok((mb.finish()?, priority))
}

/// Parses a packet's flow (`ofproto/trace` input): match syntax where every given field is
/// exact; fields not given are zero, except `in_port`, which defaults to `NONE`.
///
/// # Errors
///
/// As [`parse_match`]; also an error for a masked field (`wildcarding not allowed`).
pub fn parse_flow(s: &str, names: Option<&PortNames>) -> Result<Flow, Error> {
    let mut mb = MatchBuilder::new();
    let mut tok = Tokenizer::new(s);
    while let Some(item) = tok.next_item()? {
        if item.value.contains('/') && item.delim == Delim::Eq && !item.key.contains("frag") {
            return Err(Error::parse(item.raw, "wildcarding not allowed"));
        }
        if !mb.item(&item, names)? {
            return Err(Error::parse(item.raw, "unknown field"));
        }
    }
    let given_in_port = mb.m.mask().in_port().0 != 0;
    let m = mb.finish()?;
    let mut flow = *m.flow();
    if !given_in_port {
        flow.set_in_port(OfpPort::NONE);
    }
    Ok(flow)
}

fn parse_subfield(token: &str, s: &str) -> Result<SubField, Error> {
    let bad = |why: &str| Error::parse(token, format!("{s}: {why}"));
    let (name, range) = match s.find('[') {
        Some(i) => {
            let r = s[i + 1..]
                .strip_suffix(']')
                .ok_or_else(|| bad("missing `]`"))?;
            (&s[..i], Some(r))
        }
        None => (s, None),
    };
    let field = Field::from_name(name).ok_or_else(|| bad("unknown field"))?;
    let width = field.n_bits();
    let sub = match range {
        None | Some("") => SubField::whole(field),
        Some(r) => {
            let (a, b) = match r.split_once("..") {
                Some((a, b)) => (a, b),
                None => (r, r),
            };
            let a: u32 = a.trim().parse().map_err(|_| bad("invalid bit range"))?;
            let b: u32 = b.trim().parse().map_err(|_| bad("invalid bit range"))?;
            if b < a || b >= width {
                return Err(bad(&format!(
                    "bit range {a}..{b} does not fit {} bits",
                    width
                )));
            }
            SubField::new(field, a, b - a + 1).map_err(|e| bad(&e.to_string()))?
        }
    };
    Ok(sub)
}

fn parse_controller(token: &str, v: &str) -> Result<Controller, Error> {
    let mut c = Controller::default();
    let mut tok = Tokenizer::new(v);
    while let Some(it) = tok.next_item()? {
        match (it.key, it.delim) {
            ("max_len", Delim::Eq) => c.max_len = parse_num(token, it.value, "max_len")?,
            ("reason", Delim::Eq) => {
                c.reason = PacketInReason::from_name(it.value)
                    .ok_or_else(|| Error::parse(token, format!("{}: unknown reason", it.value)))?;
            }
            ("id", Delim::Eq) => c.controller_id = parse_num(token, it.value, "controller id")?,
            ("userdata", Delim::Eq) => c.userdata = Some(parse_hex_bytes(token, it.value)?),
            ("pause", Delim::None) => c.pause = true,
            _ => {
                return Err(Error::parse(
                    token,
                    format!("{}: unknown controller option", it.raw),
                ));
            }
        }
    }
    Ok(c)
}

fn parse_hex_bytes(token: &str, s: &str) -> Result<Vec<u8>, Error> {
    let digits: String = s.chars().filter(|c| *c != '.').collect();
    if !digits.len().is_multiple_of(2) {
        return Err(Error::parse(token, "odd number of hex digits"));
    }
    (0..digits.len())
        .step_by(2)
        .map(|i| {
            digits
                .get(i..i + 2)
                .and_then(|d| u8::from_str_radix(d, 16).ok())
                .ok_or_else(|| Error::parse(token, "invalid hex digits"))
        })
        .collect()
}

fn parse_one_action(item: &Item<'_>, names: Option<&PortNames>) -> Result<Action, Error> {
    let t = item.raw;
    let v = item.value;
    let need_value = || {
        if item.delim == Delim::None || v.is_empty() {
            Err(Error::parse(t, "missing argument"))
        } else {
            Ok(v)
        }
    };
    let no_value = |a: Action| {
        if item.delim == Delim::None {
            Ok(a)
        } else {
            Err(Error::parse(t, "takes no argument"))
        }
    };
    let a = match item.key {
        "output" => {
            let v = need_value()?;
            match parse_port(v, names) {
                Ok(p) if p == OfpPort::CONTROLLER => Action::Controller(Controller::default()),
                Ok(p) => Action::Output(p),
                Err(e) => {
                    if Field::from_name(v.split('[').next().unwrap_or(v)).is_some() {
                        Action::OutputReg {
                            src: parse_subfield(t, v)?,
                            max_len: u16::MAX,
                        }
                    } else {
                        return Err(e);
                    }
                }
            }
        }
        "controller" | "CONTROLLER" => match item.delim {
            Delim::None => Action::Controller(Controller::default()),
            Delim::Paren => Action::Controller(parse_controller(t, v)?),
            Delim::Eq => Action::Controller(Controller {
                max_len: parse_num(t, v, "max_len")?,
                ..Controller::default()
            }),
        },
        "enqueue" => {
            let v = need_value()?;
            let (p, q) = v
                .split_once(':')
                .or_else(|| v.split_once(','))
                .ok_or_else(|| Error::parse(t, "expected enqueue:PORT:QUEUE"))?;
            Action::Enqueue {
                port: parse_port(p, names)?,
                queue: parse_num(t, q, "queue id")?,
            }
        }
        "set_queue" => Action::SetQueue(parse_num(t, need_value()?, "queue id")?),
        "pop_queue" => no_value(Action::PopQueue)?,
        "mod_dl_src" | "mod_dl_dst" => {
            let a = EthAddr::from_str(need_value()?)
                .map_err(|_| Error::parse(t, "invalid Ethernet address"))?;
            if item.key == "mod_dl_src" {
                Action::SetEthSrc(a)
            } else {
                Action::SetEthDst(a)
            }
        }
        "mod_nw_src" | "mod_nw_dst" => {
            let a = Ipv4Addr::from_str(need_value()?)
                .map_err(|_| Error::parse(t, "invalid IP address"))?;
            if item.key == "mod_nw_src" {
                Action::SetIpv4Src(a)
            } else {
                Action::SetIpv4Dst(a)
            }
        }
        "mod_nw_tos" => {
            let tos: u8 = parse_num(t, need_value()?, "TOS")?;
            if tos & 0x03 != 0 {
                return Err(Error::parse(t, "invalid IP_DSCP (low 2 bits must be zero)"));
            }
            Action::SetIpDscp(tos)
        }
        "mod_nw_ecn" => {
            let e: u8 = parse_num(t, need_value()?, "ECN")?;
            if e > 3 {
                return Err(Error::parse(t, "invalid IP_ECN"));
            }
            Action::SetIpEcn(e)
        }
        "mod_nw_ttl" => Action::SetIpTtl(parse_num(t, need_value()?, "TTL")?),
        "mod_tp_src" => Action::SetL4Src(parse_num(t, need_value()?, "port")?),
        "mod_tp_dst" => Action::SetL4Dst(parse_num(t, need_value()?, "port")?),
        "mod_vlan_vid" => {
            let vid: u16 = parse_num(t, need_value()?, "VLAN id")?;
            if vid > 0xfff {
                return Err(Error::parse(t, "VLAN id out of range 0..4095"));
            }
            Action::SetVlanVid(vid)
        }
        "mod_vlan_pcp" => {
            let pcp: u8 = parse_num(t, need_value()?, "VLAN priority")?;
            if pcp > 7 {
                return Err(Error::parse(t, "VLAN priority out of range 0..7"));
            }
            Action::SetVlanPcp(pcp)
        }
        "strip_vlan" => no_value(Action::StripVlan)?,
        "pop_vlan" => no_value(Action::PopVlan)?,
        "push_vlan" => {
            let tpid: u16 = parse_num(t, need_value()?, "ethertype")?;
            if tpid != 0x8100 && tpid != 0x88a8 {
                return Err(Error::parse(
                    t,
                    "push_vlan: ethertype must be 0x8100 or 0x88a8",
                ));
            }
            Action::PushVlan(tpid)
        }
        "set_field" => {
            let v = need_value()?;
            let (val, name) = v
                .rsplit_once("->")
                .ok_or_else(|| Error::parse(t, "expected set_field:VALUE->FIELD"))?;
            let field = match name {
                "tp_src" => Field::TcpSrc,
                "tp_dst" => Field::TcpDst,
                n => Field::from_name(n)
                    .ok_or_else(|| Error::parse(t, format!("{n}: unknown field")))?,
            };
            let info = field.info();
            if !info.writable {
                return Err(Error::ReadOnlyField { field: info.name });
            }
            let (value, mask) = parse_field_value(t, field, val, names)?;
            let full = field.valid_bits();
            if value & !full != 0 && field != Field::NwTos {
                return Err(Error::parse(
                    t,
                    format!("{val}: value too large for {}", info.name),
                ));
            }
            let mask = mask.map(|m| m & full).unwrap_or(full);
            if mask != full && !info.maskable {
                return Err(Error::parse(
                    t,
                    format!("{}: field does not support masking", info.name),
                ));
            }
            Action::SetField {
                field,
                value: value & mask,
                mask,
            }
        }
        "load" => {
            let v = need_value()?;
            let (val, dst) = v
                .split_once("->")
                .ok_or_else(|| Error::parse(t, "expected load:VALUE->DST"))?;
            let dst = parse_subfield(t, dst)?;
            let info = dst.field.info();
            if !info.writable {
                return Err(Error::ReadOnlyField { field: info.name });
            }
            let value = parse_u128(val).ok_or_else(|| Error::parse(t, "invalid value"))?;
            if dst.n_bits < 128 && value >> dst.n_bits != 0 {
                return Err(Error::parse(
                    t,
                    format!("{val}: value does not fit in {} bits", dst.n_bits),
                ));
            }
            Action::Load { dst, value }
        }
        "move" => {
            let v = need_value()?;
            let (src, dst) = v
                .split_once("->")
                .ok_or_else(|| Error::parse(t, "expected move:SRC->DST"))?;
            let src = parse_subfield(t, src)?;
            let dst = parse_subfield(t, dst)?;
            if src.n_bits != dst.n_bits {
                return Err(Error::parse(
                    t,
                    format!(
                        "source field is {} bits wide but destination is {} bits wide",
                        src.n_bits, dst.n_bits
                    ),
                ));
            }
            if !dst.field.info().writable {
                return Err(Error::ReadOnlyField {
                    field: dst.field.info().name,
                });
            }
            Action::Move { src, dst }
        }
        "dec_ttl" => match item.delim {
            Delim::None => Action::DecTtl(vec![]),
            _ => {
                let mut ids = vec![];
                for id in v.split(',') {
                    ids.push(parse_num::<u16>(t, id.trim(), "controller id")?);
                }
                Action::DecTtl(ids)
            }
        },
        "resubmit" => {
            let v = need_value()?;
            let port_of = |p: &str| -> Result<Option<OfpPort>, Error> {
                if p.is_empty() || p.eq_ignore_ascii_case("in_port") {
                    return Ok(None);
                }
                let p = parse_port(p, names)?;
                Ok((p != OfpPort::IN_PORT).then_some(p))
            };
            if item.delim == Delim::Paren {
                let mut parts = v.split(',');
                let port = port_of(parts.next().unwrap_or("").trim())?;
                let table = match parts.next().map(str::trim) {
                    None | Some("") => None,
                    Some(x) => {
                        let tb: u8 = parse_num(t, x, "table id")?;
                        (tb != 255).then_some(tb)
                    }
                };
                if parts.next().is_some() {
                    return Err(Error::parse(t, "too many resubmit arguments"));
                }
                if port.is_none() && table.is_none() && !v.trim().is_empty() && v.contains(',') {
                    return Err(Error::parse(
                        t,
                        "at least one of in_port and table must be given",
                    ));
                }
                Action::Resubmit { port, table }
            } else {
                Action::Resubmit {
                    port: port_of(v)?,
                    table: None,
                }
            }
        }
        "group" => Action::Group(parse_num(t, need_value()?, "group id")?),
        "note" => Action::Note(parse_hex_bytes(t, v)?),
        "meter" => Action::Meter(parse_num(t, need_value()?, "meter id")?),
        "clear_actions" => no_value(Action::ClearActions)?,
        "write_actions" => {
            if item.delim != Delim::Paren {
                return Err(Error::parse(t, "expected write_actions(...)"));
            }
            Action::WriteActions(parse_action_list(v, names)?)
        }
        "write_metadata" => {
            let (val, m) = split_mask(need_value()?);
            Action::WriteMetadata {
                value: parse_num(t, val, "metadata")?,
                mask: match m {
                    Some(m) => parse_num(t, m, "metadata mask")?,
                    None => u64::MAX,
                },
            }
        }
        "goto_table" => Action::GotoTable(parse_num(t, need_value()?, "table id")?),
        "in_port" if item.delim == Delim::None => Action::Output(OfpPort::IN_PORT),
        key => {
            // A bare port: `NORMAL`, `LOCAL`, `2`, a port name; `CONTROLLER:100`.
            let p = parse_port(key, names).map_err(|_| Error::parse(t, "unknown action"))?;
            if p == OfpPort::CONTROLLER {
                let max_len = match item.delim {
                    Delim::None => u16::MAX,
                    _ => parse_num(t, v, "max_len")?,
                };
                Action::Controller(Controller {
                    max_len,
                    ..Controller::default()
                })
            } else if item.delim != Delim::None {
                return Err(Error::parse(t, "unknown action"));
            } else if p == OfpPort::NONE {
                return Err(Error::BadOutPort(key.to_string()));
            } else {
                Action::Output(p)
            }
        }
    };
    Ok(a)
}

fn parse_action_list(s: &str, names: Option<&PortNames>) -> Result<Vec<Action>, Error> {
    let mut tok = Tokenizer::new(s);
    let mut out = vec![];
    let mut saw_drop = false;
    while let Some(item) = tok.next_item()? {
        if item.key == "drop" && item.delim == Delim::None {
            saw_drop = true;
            continue;
        }
        out.push(parse_one_action(&item, names)?);
    }
    if saw_drop && !out.is_empty() {
        return Err(Error::parse(
            "drop",
            "\"drop\" must not be accompanied by any other action or instruction",
        ));
    }
    let _ = tok.remainder();
    Ok(out)
}

/// Parses an action list (`output:2,NORMAL`, `drop`, `resubmit(,1)`, ...): the text after
/// `actions=`. `drop` (alone) is the empty list.
///
/// # Errors
///
/// [`Error::Parse`] naming the bad action; [`Error::ReadOnlyField`] for a `set_field` or
/// `load` to a read-only field.
pub fn parse_actions(s: &str, names: Option<&PortNames>) -> Result<Vec<Action>, Error> {
    parse_action_list(s, names)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ofctl::format::{actions_to_string, match_to_string};

    fn names() -> PortNames {
        let mut n = PortNames::new();
        n.insert("p1", OfpPort(1));
        n.insert("eth0", OfpPort(2));
        n.insert("my port", OfpPort(3));
        n.insert("7", OfpPort(8));
        n
    }

    #[test]
    fn port_names_in_matches_and_actions() {
        let n = names();
        let fm = parse_flow_mod(
            "in_port=p1,actions=output:eth0,\"my port\",enqueue:eth0:3,resubmit(p1,2)",
            FlowModCommand::Add,
            Some(&n),
        )
        .unwrap();
        assert_eq!(fm.match_.flow().in_port(), OfpPort(1));
        assert_eq!(
            actions_to_string(&fm.actions, Some(&n)),
            "output:eth0,output:\"my port\",enqueue:eth0:3,resubmit(p1,2)"
        );
        assert_eq!(
            actions_to_string(&fm.actions, None),
            "output:2,output:3,enqueue:2:3,resubmit(1,2)"
        );
        assert_eq!(match_to_string(&fm.match_, None, Some(&n)), "in_port=p1");
        // A name that looks like a number is quoted when printed, and numbers stay numbers.
        let fm = parse_flow_mod(
            "in_port=\"7\",actions=output:7",
            FlowModCommand::Add,
            Some(&n),
        )
        .unwrap();
        assert_eq!(fm.match_.flow().in_port(), OfpPort(8));
        assert_eq!(match_to_string(&fm.match_, None, Some(&n)), "in_port=\"7\"");
        assert_eq!(fm.actions, vec![Action::Output(OfpPort(7))]);
        assert!(
            parse_flow_mod("in_port=nope,actions=drop", FlowModCommand::Add, Some(&n)).is_err()
        );
    }

    #[test]
    fn separators_and_spellings() {
        let a = parse_flow_mod(
            "  priority=7 in_port=1\ttcp ,tp_dst:80 actions=output:2,NORMAL",
            FlowModCommand::Add,
            None,
        )
        .unwrap();
        let b = parse_flow_mod(
            "priority=7,in_port=1,tcp,tp_dst=80,actions=output:2,NORMAL",
            FlowModCommand::Add,
            None,
        )
        .unwrap();
        assert_eq!(a, b);
        assert_eq!(
            parse_actions("normal,local,Flood,all,in_port,2", None).unwrap(),
            vec![
                Action::Output(OfpPort::NORMAL),
                Action::Output(OfpPort::LOCAL),
                Action::Output(OfpPort::FLOOD),
                Action::Output(OfpPort::ALL),
                Action::Output(OfpPort::IN_PORT),
                Action::Output(OfpPort(2)),
            ]
        );
        assert_eq!(parse_actions("drop", None).unwrap(), vec![]);
        assert_eq!(parse_actions("", None).unwrap(), vec![]);
        assert!(
            parse_actions("output:ANY", None).is_err() || {
                let a = parse_actions("output:ANY", None).unwrap();
                crate::actions::check_actions(&a, &Match::catchall(), 0, 254).is_err()
            }
        );
    }

    #[test]
    fn commands_and_cookies() {
        let m = parse_flow_mod("cookie=0x5,actions=drop", FlowModCommand::Modify, None).unwrap();
        assert_eq!((m.new_cookie, m.cookie_mask), (Some(5), 0));
        let d = parse_flow_mod(
            "cookie=0x5/-1,out_port=2,out_group=3",
            FlowModCommand::Delete,
            None,
        )
        .unwrap();
        assert_eq!((d.cookie, d.cookie_mask), (5, u64::MAX));
        assert_eq!((d.out_port, d.out_group), (OfpPort(2), 3));
        assert!(parse_flow_mod("cookie=0x5", FlowModCommand::Delete, None).is_err());
        assert!(parse_flow_mod("in_port=1,actions=drop", FlowModCommand::Delete, None).is_err());
        assert!(parse_flow_mod("in_port=1", FlowModCommand::DeleteStrict, None).is_ok());
        // Dump output parses back, its statistics ignored.
        let fm = parse_flow_mod(
            " cookie=0x0, duration=0.014s, table=0, n_packets=0, n_bytes=0, idle_timeout=10, \
             idle_age=0, priority=100,in_port=1 actions=output:2",
            FlowModCommand::Add,
            None,
        )
        .unwrap();
        assert_eq!((fm.priority, fm.idle_timeout, fm.table_id), (100, 10, 0));
    }

    #[test]
    fn values() {
        assert_eq!(parse_u128("0x10"), Some(16));
        assert_eq!(parse_u128("10"), Some(10));
        assert_eq!(parse_u128("0x"), None);
        assert_eq!(parse_u128("-1"), None);
        assert_eq!(parse_u128("1e3"), None);
        assert_eq!(parse_u128(&"f".repeat(40)), None);
        assert_eq!(parse_tcp_flags("t", "+syn-ack").unwrap(), (0x2, 0x12));
        assert_eq!(parse_tcp_flags("t", "syn|ack").unwrap(), (0x12, 0xfff));
        assert_eq!(parse_tcp_flags("t", "0x12/0x12").unwrap(), (0x12, 0x12));
        assert_eq!(parse_tcp_flags("t", "+[200]").unwrap(), (0x200, 0x200));
        assert!(parse_tcp_flags("t", "+syn+syn").is_err());
        assert!(parse_tcp_flags("t", "+bogus").is_err());
        let (m, _) = parse_match("ip,nw_dst=10.0.0.0/255.255.0.0", None).unwrap();
        assert_eq!(m.flow().nw_dst(), Ipv4Addr::new(10, 0, 0, 0));
        assert_eq!(m.mask().nw_dst(), Ipv4Addr::new(255, 255, 0, 0));
        assert!(parse_match("ip,nw_dst=10.0.0.0/33", None).is_err());
        assert!(parse_match("ipv6,ipv6_dst=::/129", None).is_err());
    }
}
