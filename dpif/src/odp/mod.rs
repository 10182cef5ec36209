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

mod action;
mod attr;
mod convert;
pub mod csum;
pub mod execute;
pub mod extract;
pub mod hash;
mod key;
#[cfg(test)]
mod proptests;
#[cfg(any(test, feature = "proptest"))]
pub mod strategies;
mod text;
pub mod uapi;
mod ufid;
mod words;

pub use action::{Action, HashAlg, Userspace, decode_actions, encode_actions, encode_actions_into};
pub use attr::{
    ArpKey, EthKey, IcmpKey, Ipv4Key, Ipv6Key, KeyAttr, L4Key, NdKey, OVS_FRAG_TYPE_FIRST,
    OVS_FRAG_TYPE_LATER, OVS_FRAG_TYPE_NONE, decode_key_attrs, encode_key_attrs,
    encode_key_attrs_into,
};
pub use convert::{
    Fitness, OFPHTN_ETHERTYPE, PT_ETH, attrs_to_key, attrs_to_mask, key_to_attrs, mask_to_attrs,
};
pub use execute::{ExecuteCallbacks, execute};
pub use extract::{extract, hash_5tuple, hash_5tuple_symmetric};
pub use key::{FlowKey, Vlan, eth_type, frag, ip_proto, tcp_flags, vlan};
pub use text::{
    Actions, FormatOptions, KeyAttrs, MaskedKey, ParseOptions, PortNameFn, PortNumberFn,
    UserdataFn, format_actions, format_dpif_flow, format_flow, format_key_attrs, parse_actions,
    parse_flow, parse_key_attrs,
};
pub use ufid::Ufid;

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
