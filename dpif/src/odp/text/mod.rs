//! The text form of datapath flows, as `ovs-dpctl dump-flows` and `ovs-appctl
//! dpctl/dump-flows` print them, in both directions, byte for byte like OVS.
//!
//! * Keys with masks: the terse form omits what is wildcarded
//!   (`recirc_id(0),in_port(2),...,ipv4(src=10.99.0.1/192.0.0.0,...,frag=no)`); the verbose
//!   form (`-m`) prints every attribute with its mask (`skb_priority(0/0),...`).
//! * Actions: `3`, `drop`, `userspace(pid=0,userdata(...))`, `set(eth(...))`,
//!   `push_vlan(vid=10,pcp=0)`, `sample(sample=50.0%,actions(...))` ...
//! * Whole dump lines from a [`DpifFlow`]: [`format_dpif_flow`].
//!
//! Attributes and actions this crate does not model print in a generic form that it also
//! parses back: `key16(01 02 03)` and `action12(04 00 01 00)` (OVS names some of them,
//! such as `ct_tuple4(...)` and `push_nsh(...)`; those forms are not parsed).
//!
//! [`KeyAttrs`], [`MaskedKey`] and [`Actions`] implement `Display` and `FromStr`;
//! [`format_flow`] and [`parse_flow`] work on [`FlowKey`] with its mask.

mod format;
mod parse;

use std::fmt;
use std::str::FromStr;

use super::OdpPort;
use super::action::Action;
use super::attr::KeyAttr;
use super::convert::{Fitness, attrs_to_key, attrs_to_mask, key_to_attrs, mask_to_attrs};
use super::key::FlowKey;
use crate::error::{Error, Result};
use crate::provider::DpifFlow;

/// Names datapath ports for printing (`None`: print the number).
pub type PortNameFn<'a> = &'a dyn Fn(OdpPort) -> Option<String>;
/// Prints a `userspace` action's userdata (`None`: print it as `userdata(<hex>)`).
pub type UserdataFn<'a> = &'a dyn Fn(&[u8]) -> Option<String>;
/// Numbers datapath ports named in text (`None`: no such port).
pub type PortNumberFn<'a> = &'a dyn Fn(&str) -> Option<OdpPort>;

/// How to print keys and actions.
#[derive(Clone, Copy, Default)]
pub struct FormatOptions<'a> {
    /// The `-m` form: every attribute and field, with masks, even wildcarded ones.
    pub verbose: bool,
    /// Names for datapath ports (in `in_port(NAME)`, output actions and
    /// `tunnel_out_port=NAME`); a port without a name prints as its number.
    pub port_names: Option<PortNameFn<'a>>,
    /// Text for a `userspace` action's userdata (say `controller(reason=6,...)` for a cookie
    /// the caller can decode); `None`, or a `None` answer, prints `userdata(<hex>)`.
    pub userdata: Option<UserdataFn<'a>>,
    /// The datapath layer that verbose dump lines print as `dp:<layer>` (OVS prints `ovs`
    /// for both of its datapaths); `None` prints nothing.
    pub dp_layer: Option<&'a str>,
}

impl fmt::Debug for FormatOptions<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FormatOptions")
            .field("verbose", &self.verbose)
            .field("port_names", &self.port_names.is_some())
            .field("userdata", &self.userdata.is_some())
            .field("dp_layer", &self.dp_layer)
            .finish()
    }
}

impl<'a> FormatOptions<'a> {
    /// The terse form with no port names.
    pub fn terse() -> Self {
        FormatOptions::default()
    }

    /// The verbose (`-m`) form with no port names, and `dp:ovs` in dump lines.
    pub fn verbose() -> Self {
        FormatOptions {
            verbose: true,
            dp_layer: Some("ovs"),
            ..FormatOptions::default()
        }
    }

    /// These options with port names from `names`.
    pub fn with_port_names(mut self, names: PortNameFn<'a>) -> Self {
        self.port_names = Some(names);
        self
    }
}

/// How to parse keys and actions.
#[derive(Clone, Copy, Default)]
pub struct ParseOptions<'a> {
    /// Port numbers for names used in `in_port(NAME)` and output actions.
    pub port_names: Option<PortNumberFn<'a>>,
}

impl fmt::Debug for ParseOptions<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ParseOptions")
            .field("port_names", &self.port_names.is_some())
            .finish()
    }
}

/// The text of key attributes `key` with optional mask attributes `mask` (OVS's
/// `odp_flow_format`). With a mask and not verbose, wildcarded attributes and fields are
/// left out.
pub fn format_key_attrs(
    key: &[KeyAttr],
    mask: Option<&[KeyAttr]>,
    opts: &FormatOptions<'_>,
) -> String {
    let mut out = String::with_capacity(256);
    format::write_key_attrs(&mut out, key, mask, opts);
    out
}

/// Parses key attributes with their masks (OVS's `odp_flow_from_string`): a field without
/// `/mask` is exact, a field left out is wildcarded (value 0, mask 0), `recirc_id` is always
/// exact. Numbers are decimal, `0x` hex or `0` octal. A leading `ufid:...` is skipped.
///
/// # Errors
///
/// [`Error::Invalid`] with the text where parsing stopped.
pub fn parse_key_attrs(s: &str, opts: &ParseOptions<'_>) -> Result<(Vec<KeyAttr>, Vec<KeyAttr>)> {
    parse::key_attrs(s, opts)
}

/// The text of actions, or `drop` for none (OVS's `format_odp_actions`).
pub fn format_actions(actions: &[Action], opts: &FormatOptions<'_>) -> String {
    let mut out = String::with_capacity(64);
    format::write_actions(&mut out, actions, opts);
    out
}

/// Parses actions (OVS's `odp_actions_from_string`): `drop` alone is no actions.
///
/// # Errors
///
/// [`Error::Invalid`] with the text where parsing stopped.
pub fn parse_actions(s: &str, opts: &ParseOptions<'_>) -> Result<Vec<Action>> {
    parse::actions(s, opts)
}

/// The text of a flow key with its mask, as `dump-flows` prints it: the attributes of
/// [`key_to_attrs`] and [`mask_to_attrs`]. Without a mask every field prints.
pub fn format_flow(key: &FlowKey, mask: Option<&FlowKey>, opts: &FormatOptions<'_>) -> String {
    let k = key_to_attrs(key, mask);
    let m = mask.map(|m| mask_to_attrs(m, key));
    format_key_attrs(&k, m.as_deref(), opts)
}

/// Parses the text of a flow key with its mask into a [`FlowKey`], its mask, and how well
/// the key's attributes fit a [`FlowKey`].
///
/// # Errors
///
/// [`Error::Invalid`] for text that does not parse; [`Error::Decode`] for attributes that
/// do not make a key (see [`attrs_to_key`] and [`attrs_to_mask`]).
pub fn parse_flow(s: &str, opts: &ParseOptions<'_>) -> Result<(FlowKey, FlowKey, Fitness)> {
    let (mut k, mut m) = parse_key_attrs(s, opts)?;
    drop_8023_trailer(&mut k, &mut m);
    let (key, fitness) = attrs_to_key(&k)?;
    let mask = attrs_to_mask(&m, &key)?;
    Ok((key, mask, fitness))
}

/// Undoes OVS's way of printing the ethertype of 802.3 frames: the key has none and the mask
/// an exact one, printed as `eth_type(0/0xffff)`, which parses as a key ethertype of 0.
fn drop_8023_trailer(key: &mut Vec<KeyAttr>, mask: &mut [KeyAttr]) {
    let trailer = key
        .iter()
        .zip(mask.iter())
        .position(|pair| matches!(pair, (KeyAttr::Ethertype(0), KeyAttr::Ethertype(u16::MAX))));
    if let Some(i) = trailer {
        key.remove(i);
    }
    for (k, m) in key.iter_mut().zip(mask.iter_mut()) {
        if let (KeyAttr::Encap(k), KeyAttr::Encap(m)) = (k, m) {
            drop_8023_trailer(k, m);
        }
    }
}

/// One line of `dpctl/dump-flows` for `flow` at time `now_ms` (milliseconds of the clock of
/// [`crate::FlowStats::used_ms`]):
/// `[ufid:<ufid>, ]<key>, packets:N, bytes:N, used:<s>s|never[, flags:<f>][, dp:<layer>],
/// actions:<actions>`, the UFID and `dp:` only when verbose.
pub fn format_dpif_flow(flow: &DpifFlow, now_ms: u64, opts: &FormatOptions<'_>) -> String {
    let key = flow
        .key
        .as_ref()
        .map(|k| key_to_attrs(k, flow.mask.as_ref()));
    let mask = flow
        .key
        .as_ref()
        .and_then(|k| flow.mask.as_ref().map(|m| mask_to_attrs(m, k)));
    format_flow_line(
        Some(flow.ufid),
        key.as_deref().unwrap_or(&[]),
        mask.as_deref(),
        &flow.stats,
        flow.actions.as_deref(),
        now_ms,
        opts,
    )
}

/// A `dpctl/dump-flows` line from attributes as a datapath sent them (for keys with what a
/// [`FlowKey`] does not hold, such as tunnel metadata): as [`format_dpif_flow`], the UFID
/// printed when given and verbose, `<empty>` for a missing key or actions.
pub fn format_flow_line(
    ufid: Option<crate::odp::Ufid>,
    key: &[KeyAttr],
    mask: Option<&[KeyAttr]>,
    stats: &crate::provider::FlowStats,
    actions: Option<&[Action]>,
    now_ms: u64,
    opts: &FormatOptions<'_>,
) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(512);
    if opts.verbose
        && let Some(ufid) = ufid
    {
        let _ = write!(out, "ufid:{ufid}, ");
    }
    format::write_key_attrs(&mut out, key, mask, opts);
    let _ = write!(
        out,
        ", packets:{}, bytes:{}, used:",
        stats.n_packets, stats.n_bytes
    );
    if stats.used_ms == 0 {
        out.push_str("never");
    } else {
        let ago = i128::from(now_ms) - i128::from(stats.used_ms);
        // Milliseconds to seconds; any precision lost is far below what is printed.
        #[allow(clippy::cast_precision_loss)]
        let secs = ago as f64 / 1000.0;
        let _ = write!(out, "{secs:.3}s");
    }
    if stats.tcp_flags != 0 {
        out.push_str(", flags:");
        format::write_tcp_flags_short(&mut out, stats.tcp_flags);
    }
    if opts.verbose
        && let Some(layer) = opts.dp_layer
    {
        let _ = write!(out, ", dp:{layer}");
    }
    out.push_str(", actions:");
    match actions {
        Some(a) => format::write_actions(&mut out, a, opts),
        None => out.push_str("<empty>"),
    }
    out
}

/// One `dpctl/dump-flows` line, read back by [`parse_flow_line`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FlowLine {
    /// The `ufid:` prefix, if any.
    pub ufid: Option<crate::odp::Ufid>,
    /// The key attributes.
    pub key: Vec<KeyAttr>,
    /// The mask attributes (see [`parse_key_attrs`]).
    pub mask: Vec<KeyAttr>,
    /// `packets:`.
    pub packets: u64,
    /// `bytes:`.
    pub bytes: u64,
    /// `used:` in milliseconds ago, `None` for `never`.
    pub used_ms_ago: Option<u64>,
    /// `flags:` (TCP flags), 0 when absent.
    pub tcp_flags: u16,
    /// `dp:`, if any.
    pub dp_layer: Option<String>,
    /// `actions:`.
    pub actions: Vec<Action>,
    /// `dp-extra-info:`, if any.
    pub dp_extra_info: Option<String>,
}

/// Reads a line that [`format_dpif_flow`] (or OVS's `dpctl/dump-flows`, terse or `-m`)
/// prints.
///
/// # Errors
///
/// [`Error::Invalid`] when a part is missing or does not parse.
pub fn parse_flow_line(line: &str, opts: &ParseOptions<'_>) -> Result<FlowLine> {
    let bad = |what: &str| Error::invalid("parse flow line", format!("{what} in \"{line}\""));
    let line = line.trim_end();
    let mut out = FlowLine::default();
    let mut rest = line;
    if let Some(r) = rest.strip_prefix("ufid:") {
        let (u, r) = r
            .split_once(", ")
            .ok_or_else(|| bad("no key after the UFID"))?;
        out.ufid = Some(u.parse().map_err(|_| bad("bad UFID"))?);
        rest = r;
    }
    let (key, r) = rest
        .split_once(", packets:")
        .ok_or_else(|| bad("no packets:"))?;
    (out.key, out.mask) = parse_key_attrs(key, opts)?;
    let (packets, r) = r.split_once(", bytes:").ok_or_else(|| bad("no bytes:"))?;
    out.packets = packets.parse().map_err(|_| bad("bad packets:"))?;
    let (bytes, r) = r.split_once(", used:").ok_or_else(|| bad("no used:"))?;
    out.bytes = bytes.parse().map_err(|_| bad("bad bytes:"))?;
    let (used, mut r) = r
        .split_once(", ")
        .ok_or_else(|| bad("nothing after used:"))?;
    out.used_ms_ago = match used {
        "never" => None,
        secs => {
            let secs = secs.strip_suffix('s').ok_or_else(|| bad("bad used:"))?;
            let (whole, frac) = secs.split_once('.').unwrap_or((secs, "0"));
            let whole: u64 = whole.parse().map_err(|_| bad("bad used:"))?;
            let frac3: String = frac.chars().chain(std::iter::repeat('0')).take(3).collect();
            let ms: u64 = frac3.parse().map_err(|_| bad("bad used:"))?;
            Some(whole * 1000 + ms)
        }
    };
    if let Some(f) = r.strip_prefix("flags:") {
        let (flags, r2) = f
            .split_once(", ")
            .ok_or_else(|| bad("nothing after flags:"))?;
        out.tcp_flags = parse_tcp_flags_short(flags).ok_or_else(|| bad("bad flags:"))?;
        r = r2;
    }
    while let Some(other) = r.strip_prefix("offloaded:") {
        r = other
            .split_once(", ")
            .map(|x| x.1)
            .ok_or_else(|| bad("nothing after offloaded:"))?;
    }
    if let Some(d) = r.strip_prefix("dp:") {
        let (dp, r2) = d.split_once(", ").ok_or_else(|| bad("nothing after dp:"))?;
        out.dp_layer = Some(dp.to_owned());
        r = r2;
    }
    let actions = r
        .strip_prefix("actions:")
        .ok_or_else(|| bad("no actions:"))?;
    let actions = match actions.split_once(", dp-extra-info:") {
        Some((a, extra)) => {
            out.dp_extra_info = Some(extra.to_owned());
            a
        }
        None => actions,
    };
    out.actions = parse_actions(actions, opts)?;
    Ok(out)
}

/// The inverse of OVS's `packet_format_tcp_flags` (`S`, `F`, `P`, `R`, `U`, `.`, `E`, `C`,
/// `N`, `[200]`...; `none`).
fn parse_tcp_flags_short(s: &str) -> Option<u16> {
    if s == "none" {
        return Some(0);
    }
    let mut flags = 0u16;
    let mut rest = s;
    while !rest.is_empty() {
        let (bit, len) = match rest.as_bytes().first()? {
            b'S' => (0x002, 1),
            b'F' => (0x001, 1),
            b'P' => (0x008, 1),
            b'R' => (0x004, 1),
            b'U' => (0x020, 1),
            b'.' => (0x010, 1),
            b'E' => (0x040, 1),
            b'C' => (0x080, 1),
            b'N' => (0x100, 1),
            b'[' => match rest.get(..5)? {
                "[200]" => (0x200, 5),
                "[400]" => (0x400, 5),
                "[800]" => (0x800, 5),
                _ => return None,
            },
            _ => return None,
        };
        flags |= bit;
        rest = rest.get(len..)?;
    }
    Some(flags)
}

/// A list of key attributes with `Display` and `FromStr` in dpctl syntax: displayed as OVS's
/// `odp_flow_key_format` does (every field, no masks); parsed ignoring any `/mask`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyAttrs(pub Vec<KeyAttr>);

impl fmt::Display for KeyAttrs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_key_attrs(&self.0, None, &FormatOptions::verbose()))
    }
}

impl FromStr for KeyAttrs {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        parse_key_attrs(s, &ParseOptions::default()).map(|(k, _)| KeyAttrs(k))
    }
}

/// Key attributes with their mask attributes. Displays in the terse form, or the verbose
/// (`-m`) form with `{:#}`; parses either. `to_string().parse()` gives back the same value
/// for the verbose form when every key attribute has a mask attribute of the same type, in
/// the same order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MaskedKey {
    /// The key attributes.
    pub key: Vec<KeyAttr>,
    /// The mask attributes.
    pub mask: Vec<KeyAttr>,
}

impl fmt::Display for MaskedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let opts = if f.alternate() {
            FormatOptions::verbose()
        } else {
            FormatOptions::terse()
        };
        f.write_str(&format_key_attrs(&self.key, Some(&self.mask), &opts))
    }
}

impl FromStr for MaskedKey {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        parse_key_attrs(s, &ParseOptions::default()).map(|(key, mask)| MaskedKey { key, mask })
    }
}

/// A list of actions with `Display` and `FromStr` in dpctl syntax.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Actions(pub Vec<Action>);

impl fmt::Display for Actions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_actions(&self.0, &FormatOptions::default()))
    }
}

impl FromStr for Actions {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        parse_actions(s, &ParseOptions::default()).map(Actions)
    }
}

impl fmt::Display for KeyAttr {
    /// The attribute alone, every field, as in `set(...)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::new();
        format::write_key_attr(&mut out, self, None, &FormatOptions::verbose());
        f.write_str(&out)
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::new();
        format::write_action(&mut out, self, &FormatOptions::default());
        f.write_str(&out)
    }
}

#[cfg(test)]
mod tests;
