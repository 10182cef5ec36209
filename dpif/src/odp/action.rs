//! [`Action`]: one datapath action (`OVS_ACTION_ATTR_*`), and its netlink encoding.
//!
//! # Panics
//!
//! Parsing never panics: a malformed action is a [`DecodeError`] naming it. Emitting panics
//! only if the buffer is shorter than [`Emitable::buffer_len`]; encode through
//! [`encode_actions`], which checks every length first.

use netlink_packet_core::{
    DecodeError, DefaultNla, Emitable, NLA_HEADER_SIZE, Nla, NlaBuffer, NlasIterator, Parseable,
};

use std::net::IpAddr;

use super::OdpPort;
use super::attr::{
    KeyAttr, MAX_NEST_DEPTH, check_nla_len, emit_list, encode_list_into, exact, key_attr_c_name,
    list_len, parse_key_nla, raw_kind,
};
use super::uapi::*;
use crate::error::{Error, Result};

/// The `userspace` action: send the packet up to the process listening on `pid`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Userspace {
    /// Netlink port id to send to (0 for the userspace datapath).
    pub pid: u32,
    /// Opaque cookie for the upper layer (`OVS_USERSPACE_ATTR_USERDATA`).
    pub userdata: Option<Vec<u8>>,
    /// Tunnel port the packet will leave by (`OVS_USERSPACE_ATTR_EGRESS_TUN_PORT`).
    pub egress_tun_port: Option<u32>,
    /// Whether to include the actions in the upcall (`OVS_USERSPACE_ATTR_ACTIONS`).
    pub actions: bool,
}

/// The algorithm of a `hash` action (`enum ovs_hash_alg`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HashAlg {
    /// `OVS_HASH_ALG_L4` (0): hash of the 5-tuple.
    L4,
    /// `OVS_HASH_ALG_SYM_L4` (1): symmetric hash of the 5-tuple.
    SymL4,
    /// Any other value.
    Other(u32),
}

impl HashAlg {
    /// The `ovs_hash_alg` value.
    pub fn to_u32(self) -> u32 {
        match self {
            HashAlg::L4 => OVS_HASH_ALG_L4,
            HashAlg::SymL4 => OVS_HASH_ALG_SYM_L4,
            HashAlg::Other(v) => v,
        }
    }

    /// The algorithm of value `v`.
    pub fn from_u32(v: u32) -> HashAlg {
        match v {
            OVS_HASH_ALG_L4 => HashAlg::L4,
            OVS_HASH_ALG_SYM_L4 => HashAlg::SymL4,
            v => HashAlg::Other(v),
        }
    }
}

/// The `nat` part of a `ct` action (nested `OVS_NAT_ATTR_*`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Nat {
    /// `OVS_NAT_ATTR_SRC`: source NAT.
    pub src: bool,
    /// `OVS_NAT_ATTR_DST`: destination NAT.
    pub dst: bool,
    /// `OVS_NAT_ATTR_IP_MIN`: the first address of the range.
    pub ip_min: Option<IpAddr>,
    /// `OVS_NAT_ATTR_IP_MAX`: the last address of the range.
    pub ip_max: Option<IpAddr>,
    /// `OVS_NAT_ATTR_PROTO_MIN`: the first port of the range.
    pub proto_min: Option<u16>,
    /// `OVS_NAT_ATTR_PROTO_MAX`: the last port of the range.
    pub proto_max: Option<u16>,
    /// `OVS_NAT_ATTR_PERSISTENT`.
    pub persistent: bool,
    /// `OVS_NAT_ATTR_PROTO_HASH`.
    pub proto_hash: bool,
    /// `OVS_NAT_ATTR_PROTO_RANDOM`.
    pub proto_random: bool,
}

/// The `ct` action: send the packet through connection tracking (nested `OVS_CT_ATTR_*`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ct {
    /// `OVS_CT_ATTR_COMMIT`: commit the connection.
    pub commit: bool,
    /// `OVS_CT_ATTR_FORCE_COMMIT`: commit, replacing a connection in the other direction.
    pub force_commit: bool,
    /// `OVS_CT_ATTR_ZONE`.
    pub zone: Option<u16>,
    /// `OVS_CT_ATTR_MARK`: value and mask to set.
    pub mark: Option<(u32, u32)>,
    /// `OVS_CT_ATTR_LABELS`: value and mask to set.
    pub labels: Option<(u128, u128)>,
    /// `OVS_CT_ATTR_HELPER`: an ALG helper name (`ftp`, `tftp`).
    pub helper: Option<String>,
    /// `OVS_CT_ATTR_TIMEOUT`: a timeout policy name.
    pub timeout: Option<String>,
    /// `OVS_CT_ATTR_NAT`.
    pub nat: Option<Nat>,
    /// `OVS_CT_ATTR_EVENTMASK`: which conntrack events to report.
    pub eventmask: Option<u32>,
}

/// One datapath action.
///
/// Actions this crate does not model (NSH, `dec_ttl`, `psample`, tunnel push/pop ...) are
/// kept as [`Action::Other`] so that they survive a parse/emit round trip.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Action {
    /// `OVS_ACTION_ATTR_OUTPUT` (1): send a copy out of a port.
    Output(OdpPort),
    /// `OVS_ACTION_ATTR_USERSPACE` (2).
    Userspace(Userspace),
    /// `OVS_ACTION_ATTR_SET` (3): set the fields of one key attribute (whole attribute).
    Set(KeyAttr),
    /// `OVS_ACTION_ATTR_PUSH_VLAN` (4).
    PushVlan {
        /// Tag protocol id (0x8100 or 0x88a8).
        tpid: u16,
        /// TCI; the CFI bit must be set.
        tci: u16,
    },
    /// `OVS_ACTION_ATTR_POP_VLAN` (5).
    PopVlan,
    /// `OVS_ACTION_ATTR_SAMPLE` (6): run `actions` with probability `probability / u32::MAX`.
    Sample {
        /// Probability as a fraction of `u32::MAX`.
        probability: u32,
        /// The nested actions.
        actions: Vec<Action>,
    },
    /// `OVS_ACTION_ATTR_RECIRC` (7): run the packet through the datapath again with this
    /// recirculation id.
    Recirc(u32),
    /// `OVS_ACTION_ATTR_HASH` (8): compute `dp_hash`.
    Hash {
        /// The algorithm.
        alg: HashAlg,
        /// The basis.
        basis: u32,
    },
    /// `OVS_ACTION_ATTR_PUSH_MPLS` (9).
    PushMpls {
        /// The label stack entry.
        lse: u32,
        /// The MPLS ethertype.
        ethertype: u16,
    },
    /// `OVS_ACTION_ATTR_POP_MPLS` (10): the ethertype of what is inside.
    PopMpls(u16),
    /// `OVS_ACTION_ATTR_SET_MASKED` (11): set the bits of `mask` to those of `value` (two
    /// attributes of the same kind and size).
    SetMasked {
        /// New values.
        value: KeyAttr,
        /// Which bits to set.
        mask: KeyAttr,
    },
    /// `OVS_ACTION_ATTR_CT` (12): connection tracking.
    Ct(Ct),
    /// `OVS_ACTION_ATTR_TRUNC` (13): truncate the packet to at most this many bytes for the
    /// following outputs.
    Trunc(u32),
    /// `OVS_ACTION_ATTR_PUSH_ETH` (14): push an Ethernet header.
    PushEth {
        /// Source MAC.
        src: [u8; 6],
        /// Destination MAC.
        dst: [u8; 6],
    },
    /// `OVS_ACTION_ATTR_POP_ETH` (15).
    PopEth,
    /// `OVS_ACTION_ATTR_CT_CLEAR` (16).
    CtClear,
    /// `OVS_ACTION_ATTR_METER` (19).
    Meter(u32),
    /// `OVS_ACTION_ATTR_CLONE` (20): run the nested actions on a copy.
    Clone(Vec<Action>),
    /// `OVS_ACTION_ATTR_CHECK_PKT_LEN` (21): run one of two action lists depending on the
    /// packet's length.
    CheckPktLen {
        /// The length to compare with.
        pkt_len: u16,
        /// Actions for packets longer than `pkt_len`.
        if_greater: Vec<Action>,
        /// Actions for the others.
        if_less_equal: Vec<Action>,
    },
    /// `OVS_ACTION_ATTR_DROP` (24): drop explicitly, with an `xlate_error` reason.
    Drop(u32),
    /// Any other action, kept as it came.
    Other(DefaultNla),
}

impl Action {
    /// The attribute type (`OVS_ACTION_ATTR_*`), without netlink flag bits.
    pub fn attr_type(&self) -> u16 {
        match self {
            Action::Output(_) => OVS_ACTION_ATTR_OUTPUT,
            Action::Userspace(_) => OVS_ACTION_ATTR_USERSPACE,
            Action::Set(_) => OVS_ACTION_ATTR_SET,
            Action::PushVlan { .. } => OVS_ACTION_ATTR_PUSH_VLAN,
            Action::PopVlan => OVS_ACTION_ATTR_POP_VLAN,
            Action::Sample { .. } => OVS_ACTION_ATTR_SAMPLE,
            Action::Recirc(_) => OVS_ACTION_ATTR_RECIRC,
            Action::Hash { .. } => OVS_ACTION_ATTR_HASH,
            Action::PushMpls { .. } => OVS_ACTION_ATTR_PUSH_MPLS,
            Action::PopMpls(_) => OVS_ACTION_ATTR_POP_MPLS,
            Action::SetMasked { .. } => OVS_ACTION_ATTR_SET_MASKED,
            Action::Ct(_) => OVS_ACTION_ATTR_CT,
            Action::CheckPktLen { .. } => OVS_ACTION_ATTR_CHECK_PKT_LEN,
            Action::Trunc(_) => OVS_ACTION_ATTR_TRUNC,
            Action::PushEth { .. } => OVS_ACTION_ATTR_PUSH_ETH,
            Action::PopEth => OVS_ACTION_ATTR_POP_ETH,
            Action::CtClear => OVS_ACTION_ATTR_CT_CLEAR,
            Action::Meter(_) => OVS_ACTION_ATTR_METER,
            Action::Clone(_) => OVS_ACTION_ATTR_CLONE,
            Action::Drop(_) => OVS_ACTION_ATTR_DROP,
            Action::Other(nla) => nla.kind() & netlink_packet_core::NLA_TYPE_MASK,
        }
    }

    /// Checks that this action, and everything nested in it, fits netlink attributes, and
    /// that a [`Action::SetMasked`]'s value and mask agree.
    ///
    /// # Errors
    ///
    /// [`Error::TooBig`] naming what does not fit; [`Error::Invalid`] for a masked set whose
    /// value and mask differ in type or size.
    pub fn check_size(&self) -> Result<()> {
        let name = action_attr_name(self.attr_type()).unwrap_or("OVS_ACTION_ATTR (unknown)");
        check_nla_len(self, "encode actions", name)?;
        match self {
            Action::Set(k) => k.check_size(),
            Action::SetMasked { value, mask } => {
                if value.attr_type() != mask.attr_type() || value.value_len() != mask.value_len() {
                    return Err(Error::invalid(
                        "encode actions",
                        format!(
                            "OVS_ACTION_ATTR_SET_MASKED: value {} and mask {} differ",
                            key_attr_c_name(value.attr_type()),
                            key_attr_c_name(mask.attr_type())
                        ),
                    ));
                }
                value.check_size()?;
                mask.check_size()
            }
            Action::Sample { actions, .. } => {
                check_nla_len(
                    &Nested(OVS_SAMPLE_ATTR_ACTIONS, actions),
                    "encode actions",
                    "OVS_SAMPLE_ATTR_ACTIONS",
                )?;
                actions.iter().try_for_each(Action::check_size)
            }
            Action::Clone(actions) => actions.iter().try_for_each(Action::check_size),
            Action::CheckPktLen {
                if_greater,
                if_less_equal,
                ..
            } => {
                for (list, name) in [
                    (if_greater, "OVS_CHECK_PKT_LEN_ATTR_ACTIONS_IF_GREATER"),
                    (
                        if_less_equal,
                        "OVS_CHECK_PKT_LEN_ATTR_ACTIONS_IF_LESS_EQUAL",
                    ),
                ] {
                    check_nla_len(&Nested(0, list), "encode actions", name)?;
                    list.iter().try_for_each(Action::check_size)?;
                }
                Ok(())
            }
            Action::Userspace(u) => {
                if let Some(data) = &u.userdata {
                    check_nla_len(
                        &DefaultNla::new(OVS_USERSPACE_ATTR_USERDATA, data.clone()),
                        "encode actions",
                        "OVS_USERSPACE_ATTR_USERDATA",
                    )?;
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

/// A nested list of actions under attribute type `.0` (sample's actions).
struct Nested<'a>(u16, &'a [Action]);

impl Nla for Nested<'_> {
    fn value_len(&self) -> usize {
        list_len(self.1)
    }
    fn kind(&self) -> u16 {
        self.0
    }
    fn emit_value(&self, buf: &mut [u8]) {
        emit_list(self.1, buf)
    }
}

/// The attributes nested in a `userspace` action, in the order OVS writes them.
fn userspace_attrs(u: &Userspace) -> Vec<DefaultNla> {
    let mut v = vec![DefaultNla::new(
        OVS_USERSPACE_ATTR_PID,
        u.pid.to_ne_bytes().to_vec(),
    )];
    if let Some(data) = &u.userdata {
        v.push(DefaultNla::new(OVS_USERSPACE_ATTR_USERDATA, data.clone()));
    }
    if let Some(port) = u.egress_tun_port {
        v.push(DefaultNla::new(
            OVS_USERSPACE_ATTR_EGRESS_TUN_PORT,
            port.to_ne_bytes().to_vec(),
        ));
    }
    if u.actions {
        v.push(DefaultNla::new(OVS_USERSPACE_ATTR_ACTIONS, Vec::new()));
    }
    v
}

fn flag(kind: u16) -> DefaultNla {
    DefaultNla::new(kind, Vec::new())
}

fn c_string(kind: u16, s: &str) -> DefaultNla {
    let mut v = s.as_bytes().to_vec();
    v.push(0);
    DefaultNla::new(kind, v)
}

fn ip_bytes(ip: &IpAddr) -> Vec<u8> {
    match ip {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    }
}

/// The attributes nested in `OVS_CT_ATTR_NAT`, in the order OVS writes them.
fn nat_attrs(n: &Nat) -> Vec<DefaultNla> {
    let mut v = Vec::new();
    if n.src {
        v.push(flag(OVS_NAT_ATTR_SRC));
    }
    if n.dst {
        v.push(flag(OVS_NAT_ATTR_DST));
    }
    if let Some(ip) = &n.ip_min {
        v.push(DefaultNla::new(OVS_NAT_ATTR_IP_MIN, ip_bytes(ip)));
    }
    if let Some(ip) = &n.ip_max {
        v.push(DefaultNla::new(OVS_NAT_ATTR_IP_MAX, ip_bytes(ip)));
    }
    if let Some(p) = n.proto_min {
        v.push(DefaultNla::new(
            OVS_NAT_ATTR_PROTO_MIN,
            p.to_ne_bytes().to_vec(),
        ));
    }
    if let Some(p) = n.proto_max {
        v.push(DefaultNla::new(
            OVS_NAT_ATTR_PROTO_MAX,
            p.to_ne_bytes().to_vec(),
        ));
    }
    if n.persistent {
        v.push(flag(OVS_NAT_ATTR_PERSISTENT));
    }
    if n.proto_hash {
        v.push(flag(OVS_NAT_ATTR_PROTO_HASH));
    }
    if n.proto_random {
        v.push(flag(OVS_NAT_ATTR_PROTO_RANDOM));
    }
    v
}

fn u128_ne(v: u128) -> [u8; 16] {
    let lo = u64::try_from(v & u128::from(u64::MAX)).unwrap_or(0);
    let hi = u64::try_from(v >> 64).unwrap_or(0);
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&lo.to_ne_bytes());
    b[8..].copy_from_slice(&hi.to_ne_bytes());
    b
}

fn u128_from_ne(b: &[u8]) -> u128 {
    let mut lo = [0u8; 8];
    let mut hi = [0u8; 8];
    lo.copy_from_slice(&b[..8]);
    hi.copy_from_slice(&b[8..16]);
    (u128::from(u64::from_ne_bytes(hi)) << 64) | u128::from(u64::from_ne_bytes(lo))
}

/// The attributes nested in a `ct` action, in the order OVS writes them.
fn ct_attrs(ct: &Ct) -> Vec<DefaultNla> {
    let mut v = Vec::new();
    if ct.commit {
        v.push(flag(OVS_CT_ATTR_COMMIT));
    }
    if ct.force_commit {
        v.push(flag(OVS_CT_ATTR_FORCE_COMMIT));
    }
    if let Some(z) = ct.zone {
        v.push(DefaultNla::new(OVS_CT_ATTR_ZONE, z.to_ne_bytes().to_vec()));
    }
    if let Some((value, mask)) = ct.mark {
        let mut b = value.to_ne_bytes().to_vec();
        b.extend_from_slice(&mask.to_ne_bytes());
        v.push(DefaultNla::new(OVS_CT_ATTR_MARK, b));
    }
    if let Some((value, mask)) = ct.labels {
        let mut b = u128_ne(value).to_vec();
        b.extend_from_slice(&u128_ne(mask));
        v.push(DefaultNla::new(OVS_CT_ATTR_LABELS, b));
    }
    if let Some(h) = &ct.helper {
        v.push(c_string(OVS_CT_ATTR_HELPER, h));
    }
    if let Some(t) = &ct.timeout {
        v.push(c_string(OVS_CT_ATTR_TIMEOUT, t));
    }
    if let Some(n) = &ct.nat {
        let inner = nat_attrs(n);
        let mut b = vec![0u8; list_len(&inner)];
        emit_list(&inner, &mut b);
        v.push(DefaultNla::new(OVS_CT_ATTR_NAT, b));
    }
    if let Some(m) = ct.eventmask {
        v.push(DefaultNla::new(
            OVS_CT_ATTR_EVENTMASK,
            m.to_ne_bytes().to_vec(),
        ));
    }
    v
}

/// Decodes a `ct` action's payload; `None` if it holds something this crate does not model
/// (the caller keeps the action as [`Action::Other`]).
fn parse_ct(value: &[u8]) -> std::result::Result<Option<Ct>, DecodeError> {
    let name = "OVS_ACTION_ATTR_CT";
    let mut ct = Ct::default();
    for nla in NlasIterator::new(value) {
        let nla = nla.map_err(|e| DecodeError::from(format!("{name}: {e}")))?;
        let v = nla.value();
        let is_flag = |n: &str| {
            if v.is_empty() {
                Ok(true)
            } else {
                Err(DecodeError::from(format!("{n}: a flag with a payload")))
            }
        };
        let string = |n: &str| -> std::result::Result<Option<String>, DecodeError> {
            match v.split_last() {
                Some((0, s)) if !s.is_empty() => Ok(std::str::from_utf8(s).ok().map(str::to_owned)),
                Some(_) => Ok(None),
                None => Err(DecodeError::from(format!("{n}: empty string"))),
            }
        };
        match nla.kind() {
            OVS_CT_ATTR_COMMIT => ct.commit = is_flag("OVS_CT_ATTR_COMMIT")?,
            OVS_CT_ATTR_FORCE_COMMIT => ct.force_commit = is_flag("OVS_CT_ATTR_FORCE_COMMIT")?,
            OVS_CT_ATTR_ZONE => {
                ct.zone = Some(exact::<2>("OVS_CT_ATTR_ZONE", v).map(u16::from_ne_bytes)?)
            }
            OVS_CT_ATTR_MARK => {
                let b = exact::<8>("OVS_CT_ATTR_MARK", v)?;
                ct.mark = Some((
                    u32::from_ne_bytes([b[0], b[1], b[2], b[3]]),
                    u32::from_ne_bytes([b[4], b[5], b[6], b[7]]),
                ));
            }
            OVS_CT_ATTR_LABELS => {
                let b = exact::<32>("OVS_CT_ATTR_LABELS", v)?;
                ct.labels = Some((u128_from_ne(&b[..16]), u128_from_ne(&b[16..])));
            }
            OVS_CT_ATTR_HELPER => match string("OVS_CT_ATTR_HELPER")? {
                Some(h) => ct.helper = Some(h),
                None => return Ok(None),
            },
            OVS_CT_ATTR_TIMEOUT => match string("OVS_CT_ATTR_TIMEOUT")? {
                Some(t) => ct.timeout = Some(t),
                None => return Ok(None),
            },
            OVS_CT_ATTR_EVENTMASK => {
                ct.eventmask = Some(exact::<4>("OVS_CT_ATTR_EVENTMASK", v).map(u32::from_ne_bytes)?)
            }
            OVS_CT_ATTR_NAT => match parse_nat(v)? {
                Some(n) => ct.nat = Some(n),
                None => return Ok(None),
            },
            _ => return Ok(None),
        }
    }
    Ok(Some(ct))
}

fn parse_nat(value: &[u8]) -> std::result::Result<Option<Nat>, DecodeError> {
    let name = "OVS_CT_ATTR_NAT";
    let mut n = Nat::default();
    for nla in NlasIterator::new(value) {
        let nla = nla.map_err(|e| DecodeError::from(format!("{name}: {e}")))?;
        let v = nla.value();
        let ip = |v: &[u8]| -> std::result::Result<IpAddr, DecodeError> {
            match v.len() {
                4 => Ok(IpAddr::from(<[u8; 4]>::try_from(v).unwrap_or_default())),
                16 => Ok(IpAddr::from(<[u8; 16]>::try_from(v).unwrap_or_default())),
                len => Err(DecodeError::from(format!(
                    "{name}: address of {len} bytes, expected 4 or 16"
                ))),
            }
        };
        let set = |b: &mut bool| {
            if v.is_empty() {
                *b = true;
                Ok(())
            } else {
                Err(DecodeError::from(format!("{name}: a flag with a payload")))
            }
        };
        match nla.kind() {
            OVS_NAT_ATTR_SRC => set(&mut n.src)?,
            OVS_NAT_ATTR_DST => set(&mut n.dst)?,
            OVS_NAT_ATTR_PERSISTENT => set(&mut n.persistent)?,
            OVS_NAT_ATTR_PROTO_HASH => set(&mut n.proto_hash)?,
            OVS_NAT_ATTR_PROTO_RANDOM => set(&mut n.proto_random)?,
            OVS_NAT_ATTR_IP_MIN => n.ip_min = Some(ip(v)?),
            OVS_NAT_ATTR_IP_MAX => n.ip_max = Some(ip(v)?),
            OVS_NAT_ATTR_PROTO_MIN => {
                n.proto_min = Some(exact::<2>("OVS_NAT_ATTR_PROTO_MIN", v).map(u16::from_ne_bytes)?)
            }
            OVS_NAT_ATTR_PROTO_MAX => {
                n.proto_max = Some(exact::<2>("OVS_NAT_ATTR_PROTO_MAX", v).map(u16::from_ne_bytes)?)
            }
            _ => return Ok(None),
        }
    }
    Ok(Some(n))
}

/// The attributes nested in `check_pkt_len` (the action lists as [`Nested`]).
fn check_pkt_len_len(if_greater: &[Action], if_less_equal: &[Action]) -> usize {
    NLA_HEADER_SIZE + 4 + 2 * NLA_HEADER_SIZE + list_len(if_greater) + list_len(if_less_equal)
}

fn userspace_len(u: &Userspace) -> usize {
    let mut len = NLA_HEADER_SIZE + 4;
    if let Some(data) = &u.userdata {
        len += NLA_HEADER_SIZE + data.len().next_multiple_of(4);
    }
    if u.egress_tun_port.is_some() {
        len += NLA_HEADER_SIZE + 4;
    }
    if u.actions {
        len += NLA_HEADER_SIZE;
    }
    len
}

impl Nla for Action {
    fn value_len(&self) -> usize {
        match self {
            Action::Output(_)
            | Action::Recirc(_)
            | Action::Trunc(_)
            | Action::Meter(_)
            | Action::Drop(_) => 4,
            Action::Userspace(u) => userspace_len(u),
            Action::Set(k) => k.buffer_len(),
            Action::PushVlan { .. } => OVS_ACTION_PUSH_VLAN_LEN,
            Action::PopVlan | Action::PopEth | Action::CtClear => 0,
            Action::Sample { actions, .. } => {
                NLA_HEADER_SIZE + 4 + NLA_HEADER_SIZE + list_len(actions)
            }
            Action::Hash { .. } => OVS_ACTION_HASH_LEN,
            Action::PushMpls { .. } => OVS_ACTION_PUSH_MPLS_LEN,
            Action::PopMpls(_) => 2,
            Action::SetMasked { value, mask } => {
                (NLA_HEADER_SIZE + value.value_len() + mask.value_len()).next_multiple_of(4)
            }
            Action::PushEth { .. } => OVS_ACTION_PUSH_ETH_LEN,
            Action::Clone(actions) => list_len(actions),
            Action::Ct(ct) => list_len(&ct_attrs(ct)),
            Action::CheckPktLen {
                if_greater,
                if_less_equal,
                ..
            } => check_pkt_len_len(if_greater, if_less_equal),
            Action::Other(nla) => nla.value_len(),
        }
    }

    fn kind(&self) -> u16 {
        match self {
            Action::Other(nla) => nla.kind(),
            other => other.attr_type(),
        }
    }

    fn emit_value(&self, buf: &mut [u8]) {
        match self {
            Action::Output(port) => buf[..4].copy_from_slice(&port.0.to_ne_bytes()),
            Action::Recirc(v) | Action::Trunc(v) | Action::Meter(v) | Action::Drop(v) => {
                buf[..4].copy_from_slice(&v.to_ne_bytes())
            }
            Action::Userspace(u) => emit_list(&userspace_attrs(u), buf),
            Action::Set(k) => k.emit(buf),
            Action::PushVlan { tpid, tci } => {
                buf[..2].copy_from_slice(&tpid.to_be_bytes());
                buf[2..4].copy_from_slice(&tci.to_be_bytes());
            }
            Action::PopVlan | Action::PopEth | Action::CtClear => {}
            Action::Sample {
                probability,
                actions,
            } => {
                let prob = DefaultNla::new(
                    OVS_SAMPLE_ATTR_PROBABILITY,
                    probability.to_ne_bytes().to_vec(),
                );
                let plen = prob.buffer_len();
                prob.emit(&mut buf[..plen]);
                Nested(OVS_SAMPLE_ATTR_ACTIONS, actions).emit(&mut buf[plen..]);
            }
            Action::Hash { alg, basis } => {
                buf[..4].copy_from_slice(&alg.to_u32().to_ne_bytes());
                buf[4..8].copy_from_slice(&basis.to_ne_bytes());
            }
            Action::PushMpls { lse, ethertype } => {
                buf[..4].copy_from_slice(&lse.to_be_bytes());
                buf[4..6].copy_from_slice(&ethertype.to_be_bytes());
                buf[6..8].fill(0);
            }
            Action::PopMpls(ethertype) => buf[..2].copy_from_slice(&ethertype.to_be_bytes()),
            Action::SetMasked { value, mask } => {
                let vlen = value.value_len();
                let mlen = mask.value_len();
                let len = NLA_HEADER_SIZE + vlen + mlen;
                // check_size() keeps this within u16 for encode_actions(); saturate otherwise.
                let len16 = u16::try_from(len).unwrap_or(u16::MAX);
                buf[..2].copy_from_slice(&len16.to_ne_bytes());
                buf[2..4].copy_from_slice(&value.kind().to_ne_bytes());
                value.emit_value(&mut buf[NLA_HEADER_SIZE..NLA_HEADER_SIZE + vlen]);
                mask.emit_value(&mut buf[NLA_HEADER_SIZE + vlen..len]);
                buf[len..].fill(0);
            }
            Action::PushEth { src, dst } => {
                buf[..6].copy_from_slice(src);
                buf[6..12].copy_from_slice(dst);
            }
            Action::Clone(actions) => emit_list(actions, buf),
            Action::Ct(ct) => emit_list(&ct_attrs(ct), buf),
            Action::CheckPktLen {
                pkt_len,
                if_greater,
                if_less_equal,
            } => {
                let len = DefaultNla::new(
                    OVS_CHECK_PKT_LEN_ATTR_PKT_LEN,
                    pkt_len.to_ne_bytes().to_vec(),
                );
                let g = Nested(OVS_CHECK_PKT_LEN_ATTR_ACTIONS_IF_GREATER, if_greater);
                let le = Nested(OVS_CHECK_PKT_LEN_ATTR_ACTIONS_IF_LESS_EQUAL, if_less_equal);
                let (a, b) = (len.buffer_len(), g.buffer_len());
                len.emit(&mut buf[..a]);
                g.emit(&mut buf[a..a + b]);
                le.emit(&mut buf[a + b..]);
            }
            Action::Other(nla) => nla.emit_value(buf),
        }
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Parseable<NlaBuffer<&'a T>> for Action {
    fn parse(buf: &NlaBuffer<&'a T>) -> std::result::Result<Self, DecodeError> {
        parse_action_nla(buf.kind(), raw_kind(buf), buf.value(), 0)
    }
}

/// Decodes one action of type `kind` with payload `value` at nesting `depth`.
fn parse_action_nla(
    kind: u16,
    raw_kind: u16,
    value: &[u8],
    depth: usize,
) -> std::result::Result<Action, DecodeError> {
    let name = action_attr_name(kind).unwrap_or("OVS_ACTION_ATTR (unknown)");
    let u32_ne = |v: &[u8]| exact::<4>(name, v).map(u32::from_ne_bytes);
    let empty = |v: &[u8]| {
        if v.is_empty() {
            Ok(())
        } else {
            Err(DecodeError::from(format!(
                "{name}: payload is {} bytes, expected 0",
                v.len()
            )))
        }
    };
    let nested_depth = || {
        if depth >= MAX_NEST_DEPTH {
            Err(DecodeError::from(format!(
                "{name}: nested more than {MAX_NEST_DEPTH} deep"
            )))
        } else {
            Ok(depth + 1)
        }
    };
    let other = || Action::Other(DefaultNla::new(raw_kind, value.to_vec()));
    Ok(match kind {
        OVS_ACTION_ATTR_OUTPUT => Action::Output(OdpPort(u32_ne(value)?)),
        OVS_ACTION_ATTR_RECIRC => Action::Recirc(u32_ne(value)?),
        OVS_ACTION_ATTR_TRUNC => Action::Trunc(u32_ne(value)?),
        OVS_ACTION_ATTR_METER => Action::Meter(u32_ne(value)?),
        OVS_ACTION_ATTR_DROP => Action::Drop(u32_ne(value)?),
        OVS_ACTION_ATTR_POP_VLAN => {
            empty(value)?;
            Action::PopVlan
        }
        OVS_ACTION_ATTR_POP_ETH => {
            empty(value)?;
            Action::PopEth
        }
        OVS_ACTION_ATTR_CT_CLEAR => {
            empty(value)?;
            Action::CtClear
        }
        OVS_ACTION_ATTR_PUSH_VLAN => {
            let b = exact::<OVS_ACTION_PUSH_VLAN_LEN>(name, value)?;
            Action::PushVlan {
                tpid: u16::from_be_bytes([b[0], b[1]]),
                tci: u16::from_be_bytes([b[2], b[3]]),
            }
        }
        OVS_ACTION_ATTR_HASH => {
            let b = exact::<OVS_ACTION_HASH_LEN>(name, value)?;
            Action::Hash {
                alg: HashAlg::from_u32(u32::from_ne_bytes([b[0], b[1], b[2], b[3]])),
                basis: u32::from_ne_bytes([b[4], b[5], b[6], b[7]]),
            }
        }
        OVS_ACTION_ATTR_PUSH_MPLS => {
            let b = exact::<OVS_ACTION_PUSH_MPLS_LEN>(name, value)?;
            Action::PushMpls {
                lse: u32::from_be_bytes([b[0], b[1], b[2], b[3]]),
                ethertype: u16::from_be_bytes([b[4], b[5]]),
            }
        }
        OVS_ACTION_ATTR_POP_MPLS => {
            Action::PopMpls(exact::<2>(name, value).map(u16::from_be_bytes)?)
        }
        OVS_ACTION_ATTR_PUSH_ETH => {
            let b = exact::<OVS_ACTION_PUSH_ETH_LEN>(name, value)?;
            let mut src = [0u8; 6];
            let mut dst = [0u8; 6];
            src.copy_from_slice(&b[..6]);
            dst.copy_from_slice(&b[6..]);
            Action::PushEth { src, dst }
        }
        OVS_ACTION_ATTR_SET | OVS_ACTION_ATTR_SET_MASKED => {
            let depth = nested_depth()?;
            let mut iter = NlasIterator::new(value);
            let nla = match iter.next() {
                Some(nla) => nla.map_err(|e| DecodeError::from(format!("{name}: {e}")))?,
                None => return Err(format!("{name}: holds no key attribute").into()),
            };
            if iter.next().is_some() {
                return Err(format!("{name}: holds more than one key attribute").into());
            }
            let (k, rk, v) = (nla.kind(), super::attr::raw_kind(&nla), nla.value());
            let wrap = |e: DecodeError| DecodeError::from(format!("{name}: {e}"));
            if kind == OVS_ACTION_ATTR_SET {
                Action::Set(parse_key_nla(k, rk, v, depth).map_err(wrap)?)
            } else {
                if !v.len().is_multiple_of(2) {
                    return Err(format!(
                        "{name}: {} payload of {} bytes is not a value and a mask",
                        key_attr_c_name(k),
                        v.len()
                    )
                    .into());
                }
                let (val, mask) = v.split_at(v.len() / 2);
                Action::SetMasked {
                    value: parse_key_nla(k, rk, val, depth).map_err(wrap)?,
                    mask: parse_key_nla(k, rk, mask, depth).map_err(wrap)?,
                }
            }
        }
        OVS_ACTION_ATTR_USERSPACE => {
            let mut u = Userspace::default();
            let mut pid = false;
            for nla in NlasIterator::new(value) {
                let nla = nla.map_err(|e| DecodeError::from(format!("{name}: {e}")))?;
                match nla.kind() {
                    OVS_USERSPACE_ATTR_PID => {
                        u.pid = exact::<4>("OVS_USERSPACE_ATTR_PID", nla.value())
                            .map(u32::from_ne_bytes)?;
                        pid = true;
                    }
                    OVS_USERSPACE_ATTR_USERDATA => u.userdata = Some(nla.value().to_vec()),
                    OVS_USERSPACE_ATTR_EGRESS_TUN_PORT => {
                        u.egress_tun_port = Some(
                            exact::<4>("OVS_USERSPACE_ATTR_EGRESS_TUN_PORT", nla.value())
                                .map(u32::from_ne_bytes)?,
                        )
                    }
                    OVS_USERSPACE_ATTR_ACTIONS => u.actions = true,
                    // Something this crate does not know: keep the action's bytes.
                    _ => return Ok(other()),
                }
            }
            if !pid {
                return Err(format!("{name}: OVS_USERSPACE_ATTR_PID missing").into());
            }
            Action::Userspace(u)
        }
        OVS_ACTION_ATTR_SAMPLE => {
            let depth = nested_depth()?;
            let mut probability = None;
            let mut actions = None;
            for nla in NlasIterator::new(value) {
                let nla = nla.map_err(|e| DecodeError::from(format!("{name}: {e}")))?;
                match nla.kind() {
                    OVS_SAMPLE_ATTR_PROBABILITY => {
                        probability = Some(
                            exact::<4>("OVS_SAMPLE_ATTR_PROBABILITY", nla.value())
                                .map(u32::from_ne_bytes)?,
                        )
                    }
                    OVS_SAMPLE_ATTR_ACTIONS => {
                        actions = Some(
                            parse_action_list(nla.value(), depth)
                                .map_err(|e| DecodeError::from(format!("{name}: {e}")))?,
                        )
                    }
                    _ => return Ok(other()),
                }
            }
            match (probability, actions) {
                (Some(probability), Some(actions)) => Action::Sample {
                    probability,
                    actions,
                },
                _ => return Err(format!("{name}: probability or actions missing").into()),
            }
        }
        OVS_ACTION_ATTR_CT => match parse_ct(value)? {
            Some(ct) => Action::Ct(ct),
            None => other(),
        },
        OVS_ACTION_ATTR_CHECK_PKT_LEN => {
            let depth = nested_depth()?;
            let (mut len, mut gt, mut le) = (None, None, None);
            for nla in NlasIterator::new(value) {
                let nla = nla.map_err(|e| DecodeError::from(format!("{name}: {e}")))?;
                let list = || {
                    parse_action_list(nla.value(), depth)
                        .map_err(|e| DecodeError::from(format!("{name}: {e}")))
                };
                match nla.kind() {
                    OVS_CHECK_PKT_LEN_ATTR_PKT_LEN => {
                        len = Some(
                            exact::<2>("OVS_CHECK_PKT_LEN_ATTR_PKT_LEN", nla.value())
                                .map(u16::from_ne_bytes)?,
                        )
                    }
                    OVS_CHECK_PKT_LEN_ATTR_ACTIONS_IF_GREATER => gt = Some(list()?),
                    OVS_CHECK_PKT_LEN_ATTR_ACTIONS_IF_LESS_EQUAL => le = Some(list()?),
                    _ => return Ok(other()),
                }
            }
            match (len, gt, le) {
                (Some(pkt_len), Some(if_greater), Some(if_less_equal)) => Action::CheckPktLen {
                    pkt_len,
                    if_greater,
                    if_less_equal,
                },
                _ => return Err(format!("{name}: length or an action list missing").into()),
            }
        }
        OVS_ACTION_ATTR_CLONE => Action::Clone(
            parse_action_list(value, nested_depth()?)
                .map_err(|e| DecodeError::from(format!("{name}: {e}")))?,
        ),
        _ => other(),
    })
}

/// Decodes consecutive actions.
fn parse_action_list(bytes: &[u8], depth: usize) -> std::result::Result<Vec<Action>, DecodeError> {
    let mut out = Vec::new();
    for nla in NlasIterator::new(bytes) {
        let nla = nla?;
        out.push(parse_action_nla(
            nla.kind(),
            raw_kind(&nla),
            nla.value(),
            depth,
        )?);
    }
    Ok(out)
}

/// Encodes actions as the payload of `OVS_FLOW_ATTR_ACTIONS` (or `OVS_PACKET_ATTR_ACTIONS`).
///
/// # Errors
///
/// [`Error::TooBig`] if an action, or the whole list, does not fit a netlink attribute;
/// [`Error::Invalid`] for a masked set whose value and mask disagree.
pub fn encode_actions(actions: &[Action]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    encode_actions_into(actions, &mut out)?;
    Ok(out)
}

/// Like [`encode_actions`], appending to `out`.
///
/// # Errors
///
/// As [`encode_actions`]; `out` is unchanged then.
pub fn encode_actions_into(actions: &[Action], out: &mut Vec<u8>) -> Result<()> {
    encode_list_into(
        actions,
        Action::check_size,
        "encode actions",
        "actions",
        out,
    )
}

/// Decodes the payload of `OVS_FLOW_ATTR_ACTIONS` (or `OVS_PACKET_ATTR_ACTIONS`).
///
/// Unknown action types are kept as [`Action::Other`].
///
/// # Errors
///
/// [`Error::Decode`] if an action is truncated or malformed (the message names it).
pub fn decode_actions(bytes: &[u8]) -> Result<Vec<Action>> {
    parse_action_list(bytes, 0).map_err(|e| Error::decode("actions", e.to_string()))
}

#[cfg(test)]
#[cfg(target_endian = "little")]
mod tests {
    use super::*;
    use crate::odp::attr::{EthKey, Ipv4Key};

    fn round_trip(raw: &[u8], expected: &[Action]) {
        assert_eq!(decode_actions(raw).unwrap(), expected, "parse");
        assert_eq!(encode_actions(expected).unwrap(), raw, "emit");
    }

    // Vectors written from the layouts in include/linux/openvswitch.h (struct
    // ovs_action_*, the nested OVS_USERSPACE_ATTR_* and OVS_SAMPLE_ATTR_* attributes).

    #[test]
    fn simple_actions() {
        #[rustfmt::skip]
        let raw = [
            0x08, 0x00, 0x01, 0x00, // len 8, OVS_ACTION_ATTR_OUTPUT
            0x03, 0x00, 0x00, 0x00, //   port 3
            0x08, 0x00, 0x04, 0x00, // len 8, OVS_ACTION_ATTR_PUSH_VLAN
            0x81, 0x00, 0x10, 0x0a, //   tpid 0x8100, tci 0x100a
            0x04, 0x00, 0x05, 0x00, // len 4, OVS_ACTION_ATTR_POP_VLAN
            0x08, 0x00, 0x07, 0x00, // len 8, OVS_ACTION_ATTR_RECIRC
            0x01, 0x00, 0x00, 0x00, //   id 1
            0x0c, 0x00, 0x08, 0x00, // len 12, OVS_ACTION_ATTR_HASH
            0x00, 0x00, 0x00, 0x00, //   alg OVS_HASH_ALG_L4
            0x2a, 0x00, 0x00, 0x00, //   basis 42
            0x0c, 0x00, 0x09, 0x00, // len 12, OVS_ACTION_ATTR_PUSH_MPLS
            0x00, 0x06, 0x41, 0x40, //   lse: label 100, bos, ttl 64
            0x88, 0x47, 0x00, 0x00, //   ethertype 0x8847, padding
            0x06, 0x00, 0x0a, 0x00, // len 6, OVS_ACTION_ATTR_POP_MPLS
            0x08, 0x00, 0x00, 0x00, //   0x0800, padding
            0x08, 0x00, 0x0d, 0x00, // len 8, OVS_ACTION_ATTR_TRUNC
            0x64, 0x00, 0x00, 0x00, //   100
            0x04, 0x00, 0x10, 0x00, // len 4, OVS_ACTION_ATTR_CT_CLEAR
            0x08, 0x00, 0x13, 0x00, // len 8, OVS_ACTION_ATTR_METER
            0x00, 0x00, 0x00, 0x00, //   meter 0
            0x08, 0x00, 0x18, 0x00, // len 8, OVS_ACTION_ATTR_DROP
            0x02, 0x00, 0x00, 0x00, //   XLATE_RECURSION_TOO_DEEP
            0x10, 0x00, 0x0e, 0x00, // len 16, OVS_ACTION_ATTR_PUSH_ETH
            1, 2, 3, 4, 5, 6,       //   src
            7, 8, 9, 10, 11, 12,    //   dst
            0x04, 0x00, 0x0f, 0x00, // len 4, OVS_ACTION_ATTR_POP_ETH
        ];
        round_trip(
            &raw,
            &[
                Action::Output(OdpPort(3)),
                Action::PushVlan {
                    tpid: 0x8100,
                    tci: 0x100a,
                },
                Action::PopVlan,
                Action::Recirc(1),
                Action::Hash {
                    alg: HashAlg::L4,
                    basis: 42,
                },
                Action::PushMpls {
                    lse: 0x0006_4140,
                    ethertype: 0x8847,
                },
                Action::PopMpls(0x0800),
                Action::Trunc(100),
                Action::CtClear,
                Action::Meter(0),
                Action::Drop(XLATE_RECURSION_TOO_DEEP),
                Action::PushEth {
                    src: [1, 2, 3, 4, 5, 6],
                    dst: [7, 8, 9, 10, 11, 12],
                },
                Action::PopEth,
            ],
        );
    }

    #[test]
    fn userspace_action() {
        #[rustfmt::skip]
        let raw = [
            0x1c, 0x00, 0x02, 0x00, // len 28, OVS_ACTION_ATTR_USERSPACE
            0x08, 0x00, 0x01, 0x00, //   len 8, OVS_USERSPACE_ATTR_PID
            0x39, 0x30, 0x00, 0x00, //     pid 12345
            0x09, 0x00, 0x02, 0x00, //   len 9, OVS_USERSPACE_ATTR_USERDATA
            0x01, 0x02, 0x03, 0x04, //     five bytes of cookie
            0x05, 0x00, 0x00, 0x00, //     and padding
            0x04, 0x00, 0x04, 0x00, //   len 4, OVS_USERSPACE_ATTR_ACTIONS (flag)
            0x0c, 0x00, 0x02, 0x00, // len 12, OVS_ACTION_ATTR_USERSPACE
            0x08, 0x00, 0x01, 0x00, //   len 8, OVS_USERSPACE_ATTR_PID
            0x00, 0x00, 0x00, 0x00, //     pid 0
        ];
        round_trip(
            &raw,
            &[
                Action::Userspace(Userspace {
                    pid: 12345,
                    userdata: Some(vec![1, 2, 3, 4, 5]),
                    egress_tun_port: None,
                    actions: true,
                }),
                Action::Userspace(Userspace::default()),
            ],
        );
    }

    #[test]
    fn set_and_set_masked() {
        #[rustfmt::skip]
        let raw = [
            0x14, 0x00, 0x03, 0x00, // len 20, OVS_ACTION_ATTR_SET
            0x10, 0x00, 0x04, 0x00, //   len 16, OVS_KEY_ATTR_ETHERNET
            0, 1, 2, 3, 4, 5,       //     src
            0x10, 0x11, 0x12, 0x13, 0x14, 0x15, // dst
            0x20, 0x00, 0x0b, 0x00, // len 32, OVS_ACTION_ATTR_SET_MASKED
            0x1c, 0x00, 0x07, 0x00, //   len 28, OVS_KEY_ATTR_IPV4 (value then mask)
            1, 2, 3, 0,             //     src 1.2.3.0
            0, 0, 0, 0,             //     dst
            0, 0, 0, 0,             //     proto, tos, ttl, frag
            255, 255, 255, 0,       //     mask src 255.255.255.0
            0, 0, 0, 0,             //     mask dst
            0, 0, 0, 0,             //     mask proto, tos, ttl, frag
        ];
        round_trip(
            &raw,
            &[
                Action::Set(KeyAttr::Ethernet(EthKey {
                    src: [0, 1, 2, 3, 4, 5],
                    dst: [0x10, 0x11, 0x12, 0x13, 0x14, 0x15],
                })),
                Action::SetMasked {
                    value: KeyAttr::Ipv4(Ipv4Key {
                        src: [1, 2, 3, 0],
                        ..Default::default()
                    }),
                    mask: KeyAttr::Ipv4(Ipv4Key {
                        src: [255, 255, 255, 0],
                        ..Default::default()
                    }),
                },
            ],
        );
    }

    #[test]
    fn set_masked_small_payloads() {
        // A masked set of an ethertype: 2 + 2 bytes, no padding inside.
        #[rustfmt::skip]
        let raw = [
            0x0c, 0x00, 0x0b, 0x00, // len 12, OVS_ACTION_ATTR_SET_MASKED
            0x08, 0x00, 0x06, 0x00, //   len 8, OVS_KEY_ATTR_ETHERTYPE
            0x12, 0x34, 0xff, 0x00, //     0x1234 / 0xff00
        ];
        round_trip(
            &raw,
            &[Action::SetMasked {
                value: KeyAttr::Ethertype(0x1234),
                mask: KeyAttr::Ethertype(0xff00),
            }],
        );
        #[rustfmt::skip]
        let raw = [
            0x10, 0x00, 0x0b, 0x00, // len 16, OVS_ACTION_ATTR_SET_MASKED
            0x0a, 0x00, 0x11, 0x00, //   len 10, OVS_KEY_ATTR_SCTP: 6 bytes, not 4 + 4
            0x00, 0x50, 0x00, 0x00, //     src 80, dst 0
            0xff, 0xff, 0x00, 0x00, //     mask, cut short by the length above
        ];
        assert!(
            decode_actions(&raw).is_err(),
            "a 6-byte payload is not two SCTP keys"
        );
    }

    #[test]
    fn sample_and_clone_nest() {
        #[rustfmt::skip]
        let raw = [
            0x20, 0x00, 0x06, 0x00, // len 32, OVS_ACTION_ATTR_SAMPLE
            0x08, 0x00, 0x01, 0x00, //   len 8, OVS_SAMPLE_ATTR_PROBABILITY
            0xff, 0xff, 0xff, 0x7f, //     0x7fffffff (50%)
            0x14, 0x00, 0x02, 0x00, //   len 20, OVS_SAMPLE_ATTR_ACTIONS
            0x08, 0x00, 0x01, 0x00, //     len 8, OVS_ACTION_ATTR_OUTPUT
            0x01, 0x00, 0x00, 0x00, //       port 1
            0x08, 0x00, 0x07, 0x00, //     len 8, OVS_ACTION_ATTR_RECIRC
            0x02, 0x00, 0x00, 0x00, //       id 2
            0x10, 0x00, 0x14, 0x00, // len 16, OVS_ACTION_ATTR_CLONE
            0x04, 0x00, 0x05, 0x00, //   len 4, OVS_ACTION_ATTR_POP_VLAN
            0x08, 0x00, 0x01, 0x00, //   len 8, OVS_ACTION_ATTR_OUTPUT
            0x02, 0x00, 0x00, 0x00, //     port 2
        ];
        round_trip(
            &raw,
            &[
                Action::Sample {
                    probability: 0x7fff_ffff,
                    actions: vec![Action::Output(OdpPort(1)), Action::Recirc(2)],
                },
                Action::Clone(vec![Action::PopVlan, Action::Output(OdpPort(2))]),
            ],
        );
    }

    #[test]
    fn ct_and_check_pkt_len() {
        #[rustfmt::skip]
        let raw = [
            0x28, 0x00, 0x0c, 0x00, // len 40, OVS_ACTION_ATTR_CT
            0x04, 0x00, 0x01, 0x00, //   len 4, OVS_CT_ATTR_COMMIT
            0x06, 0x00, 0x02, 0x00, //   len 6, OVS_CT_ATTR_ZONE
            0x05, 0x00, 0x00, 0x00, //     zone 5 (host order), padding
            0x18, 0x00, 0x06, 0x00, //   len 24, OVS_CT_ATTR_NAT
            0x04, 0x00, 0x01, 0x00, //     len 4, OVS_NAT_ATTR_SRC
            0x08, 0x00, 0x03, 0x00, //     len 8, OVS_NAT_ATTR_IP_MIN
            0x0a, 0x00, 0x00, 0x01, //       10.0.0.1
            0x06, 0x00, 0x05, 0x00, //     len 6, OVS_NAT_ATTR_PROTO_MIN
            0xe8, 0x03, 0x00, 0x00, //       1000 (host order), padding
            0x24, 0x00, 0x15, 0x00, // len 36, OVS_ACTION_ATTR_CHECK_PKT_LEN
            0x06, 0x00, 0x01, 0x00, //   len 6, OVS_CHECK_PKT_LEN_ATTR_PKT_LEN
            0xc8, 0x00, 0x00, 0x00, //     200, padding
            0x0c, 0x00, 0x02, 0x00, //   len 12, ..._ACTIONS_IF_GREATER
            0x08, 0x00, 0x01, 0x00, //     len 8, OVS_ACTION_ATTR_OUTPUT
            0x04, 0x00, 0x00, 0x00, //       port 4
            0x0c, 0x00, 0x03, 0x00, //   len 12, ..._ACTIONS_IF_LESS_EQUAL
            0x08, 0x00, 0x01, 0x00, //     len 8, OVS_ACTION_ATTR_OUTPUT
            0x05, 0x00, 0x00, 0x00, //       port 5
        ];
        round_trip(
            &raw,
            &[
                Action::Ct(Ct {
                    commit: true,
                    zone: Some(5),
                    nat: Some(Nat {
                        src: true,
                        ip_min: Some(IpAddr::from([10, 0, 0, 1])),
                        proto_min: Some(1000),
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
                Action::CheckPktLen {
                    pkt_len: 200,
                    if_greater: vec![Action::Output(OdpPort(4))],
                    if_less_equal: vec![Action::Output(OdpPort(5))],
                },
            ],
        );
        assert_eq!(
            crate::odp::Actions(decode_actions(&raw).unwrap()).to_string(),
            "ct(commit,zone=5,nat(src=10.0.0.1:1000)),check_pkt_len(size=200,gt(4),le(5))"
        );
    }

    #[test]
    fn unknown_actions_survive() {
        #[rustfmt::skip]
        let raw = [
            0x0c, 0x00, 0x0c, 0x00, // len 12, OVS_ACTION_ATTR_CT
            0x04, 0x00, 0x01, 0x00, //   len 4, OVS_CT_ATTR_COMMIT
            0x04, 0x00, 0x63, 0x00, //   len 4, type 99: unknown, so the whole ct is kept raw
            0x08, 0x00, 0x1b, 0x00, // len 8, OVS_ACTION_ATTR_TUNNEL_POP
            0x04, 0x00, 0x00, 0x00, //   port 4
            0x08, 0x00, 0x63, 0x00, // len 8, type 99 (unknown)
            0xde, 0xad, 0xbe, 0xef,
        ];
        round_trip(
            &raw,
            &[
                Action::Other(DefaultNla::new(
                    OVS_ACTION_ATTR_CT,
                    vec![0x04, 0x00, 0x01, 0x00, 0x04, 0x00, 0x63, 0x00],
                )),
                Action::Other(DefaultNla::new(
                    OVS_ACTION_ATTR_TUNNEL_POP,
                    vec![4, 0, 0, 0],
                )),
                Action::Other(DefaultNla::new(99, vec![0xde, 0xad, 0xbe, 0xef])),
            ],
        );
    }

    #[test]
    fn malformed_actions_are_errors() {
        let err = decode_actions(&[0x06, 0x00, 0x01, 0x00, 1, 2, 0, 0])
            .unwrap_err()
            .to_string();
        assert!(err.contains("OVS_ACTION_ATTR_OUTPUT"), "{err}");
        // Userspace without a PID.
        let err = decode_actions(&[0x04, 0x00, 0x02, 0x00])
            .unwrap_err()
            .to_string();
        assert!(err.contains("OVS_USERSPACE_ATTR_PID"), "{err}");
        // Set holding nothing.
        assert!(decode_actions(&[0x04, 0x00, 0x03, 0x00]).is_err());
        // Pop VLAN with a payload.
        assert!(decode_actions(&[0x08, 0x00, 0x05, 0x00, 0, 0, 0, 0]).is_err());
    }

    #[test]
    fn too_big_and_mismatched_are_refused() {
        let big = Action::Userspace(Userspace {
            userdata: Some(vec![0; 65_530]),
            ..Default::default()
        });
        assert!(matches!(encode_actions(&[big]), Err(Error::TooBig { .. })));
        let many = vec![Action::Output(OdpPort(1)); 9000];
        assert!(matches!(encode_actions(&many), Err(Error::TooBig { .. })));
        let nested = Action::Clone(vec![Action::Clone(vec![Action::Output(OdpPort(1)); 8200])]);
        assert!(matches!(
            encode_actions(&[nested]),
            Err(Error::TooBig { .. })
        ));
        let bad = Action::SetMasked {
            value: KeyAttr::Ethertype(1),
            mask: KeyAttr::InPort(1),
        };
        assert!(matches!(encode_actions(&[bad]), Err(Error::Invalid { .. })));
    }

    #[test]
    fn deep_nesting_is_refused() {
        let mut a = Action::PopVlan;
        for _ in 0..40 {
            a = Action::Clone(vec![a]);
        }
        let raw = encode_actions(&[a]).unwrap();
        assert!(decode_actions(&raw).is_err());
    }
}
