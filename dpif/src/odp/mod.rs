//! The datapath flow model ("ODP", OVS's `lib/odp-util.h`): flow keys and masks, actions,
//! their netlink encoding (`OVS_KEY_ATTR_*`, `OVS_ACTION_ATTR_*`) and the text form that
//! `ovs-dpctl dump-flows` prints.
//!
//! * [`FlowKey`] is the fixed-layout key of one packet, and also the mask of a megaflow (a 1
//!   bit must match, a 0 bit is wildcarded). The datapath's hot path works on it directly.
//! * [`KeyAttr`] is the netlink attribute form of a key (and mask), lossless: attributes this
//!   crate does not model survive a parse/emit round trip as [`KeyAttr::Other`].
//! * [`Action`] is one datapath action.
//! * [`extract()`] parses a packet into its [`FlowKey`]; [`execute()`] runs actions on it;
//!   [`csum`] holds the checksum helpers that packet rewriting uses.
//! * [`uapi`] holds the constants of `include/linux/openvswitch.h`.
//! * `strategies` (with the `proptest` feature, and in this crate's tests): proptest
//!   strategies for keys with masks, key attributes and actions.
//!
//! # Netlink
//!
//! [`KeyAttr`] and [`Action`] implement netlink-packet-core's `Nla` and `Parseable`;
//! [`encode_key_attrs`]/[`decode_key_attrs`] and [`encode_actions`]/[`decode_actions`] work
//! on whole payloads (of `OVS_FLOW_ATTR_KEY`, `_MASK`, `_ACTIONS`), checking every length.
//! [`key_to_attrs`], [`mask_to_attrs`], [`attrs_to_key`] and [`attrs_to_mask`] convert
//! between [`FlowKey`] and attributes the way OVS's `odp_flow_key_from_flow` and friends do,
//! with a [`Fitness`] verdict; [`encode_flow_key`]/[`decode_flow_key`] do both steps.
//! A [`FlowKey`] holds no tunnel metadata, conntrack state or MPLS labels yet: keys that
//! carry them decode as [`Fitness::TooMuch`].
//!
//! # Text
//!
//! [`format_flow`], [`format_key_attrs`], [`format_actions`] and [`format_dpif_flow`] print
//! what `ovs-appctl dpctl/dump-flows [-m]` prints, byte for byte; [`parse_flow`],
//! [`parse_key_attrs`] and [`parse_actions`] read it back. [`KeyAttrs`], [`MaskedKey`] and
//! [`Actions`] implement `Display` and `FromStr`.
//!
//! ```
//! use dpif::odp::*;
//!
//! let mut key = FlowKey::zero();
//! key.in_port = 2;
//! key.eth_type = eth_type::IPV4;
//! key.ipv4_dst = [10, 0, 0, 2];
//! let mut mask = FlowKey::zero();
//! mask.recirc_id = u32::MAX;
//! mask.in_port = u32::MAX;
//! mask.eth_type = u16::MAX;
//! mask.ipv4_dst = [255, 255, 255, 0];
//! mask.nw_frag = frag::MASK;
//!
//! // To the kernel and back.
//! let (k, m) = encode_flow_key(&key, Some(&mask))?;
//! let (key2, mask2, fitness) = decode_flow_key(&k, m.as_deref())?;
//! assert_eq!((key2, fitness), (key, Fitness::Perfect));
//!
//! // As dpctl/dump-flows prints it.
//! let text = format_flow(&key, Some(&mask2), &FormatOptions::terse());
//! assert_eq!(
//!     text,
//!     "recirc_id(0),in_port(2),eth_type(0x0800),ipv4(dst=10.0.0.2/255.255.255.0,frag=no)"
//! );
//! let actions: Actions = "push_vlan(vid=10,pcp=0),3".parse()?;
//! assert_eq!(encode_actions(&actions.0)?.len(), 16);
//! # Ok::<(), dpif::Error>(())
//! ```

mod action;
mod attr;
mod convert;
pub mod execute;
pub mod extract;
pub mod hash;
mod key;
#[cfg(test)]
mod proptests;
#[cfg(any(test, feature = "proptest"))]
pub mod strategies;
mod text;
mod tunnel;
pub mod uapi;
mod ufid;
mod words;

pub use action::{
    Action, Ct, HashAlg, Nat, Userspace, decode_actions, encode_actions, encode_actions_into,
};
pub use attr::{
    ArpKey, CtTupleIpv4Key, CtTupleIpv6Key, EthKey, IcmpKey, Ipv4Key, Ipv6Key, KeyAttr, L4Key,
    NdKey, OVS_FRAG_TYPE_FIRST, OVS_FRAG_TYPE_LATER, OVS_FRAG_TYPE_NONE, decode_key_attrs,
    encode_key_attrs, encode_key_attrs_into,
};
pub use convert::{
    Fitness, OFPHTN_ETHERTYPE, PT_ETH, attrs_to_key, attrs_to_mask, decode_flow_key,
    encode_flow_key, key_to_attrs, mask_to_attrs, strip_packet_type,
};
pub use execute::{ExecuteCallbacks, execute};
pub use extract::{extract, hash_5tuple, hash_5tuple_symmetric};
pub use key::{FlowKey, Vlan, eth_type, frag, ip_proto, tcp_flags, vlan};
pub use text::{
    Actions, FlowLine, FormatOptions, KeyAttrs, MaskedKey, ParseOptions, PortNameFn, PortNumberFn,
    UserdataFn, format_actions, format_dpif_flow, format_flow, format_flow_line, format_key_attrs,
    parse_actions, parse_flow, parse_flow_line, parse_key_attrs,
};
pub use tunnel::TunnelKey;
pub use ufid::Ufid;

/// The checksum helpers packet rewriting uses (they live in the netdev crate, which needs
/// them for its software offload fallback).
pub use netdev::csum;

use std::fmt;

/// A datapath port number.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OdpPort(pub u32);

impl OdpPort {
    /// The datapath's local port (`OVSP_LOCAL`).
    pub const LOCAL: OdpPort = OdpPort(0);
    /// No port (`ODPP_NONE`).
    pub const NONE: OdpPort = OdpPort(u32::MAX);
}

impl fmt::Display for OdpPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl From<u32> for OdpPort {
    fn from(n: u32) -> Self {
        OdpPort(n)
    }
}
