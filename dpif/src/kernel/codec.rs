//! Adapters between dpif-netlink's messages and `crate::odp`'s flow key and action codecs:
//! the nested `OVS_FLOW_ATTR_KEY`/`MASK`/`ACTIONS` and `OVS_PACKET_ATTR_KEY` payloads.
//!
//! The codecs themselves live in `crate::odp`; nothing here encodes a key or action field.

use netdev::PacketMeta;

use crate::error::{Error, Result};
use crate::odp::{Action, FlowKey};

fn pending(op: &'static str) -> Error {
    Error::NotSupported { op }
}

/// The nested key attributes of `key`.
pub(crate) fn key_bytes(_key: &FlowKey) -> Result<Vec<u8>> {
    Err(pending("encode flow key"))
}

/// The nested mask attributes of `mask` for a flow whose key is `key`.
pub(crate) fn mask_bytes(_key: &FlowKey, _mask: &FlowKey) -> Result<Vec<u8>> {
    Err(pending("encode flow mask"))
}

/// The nested action attributes of `actions`.
pub(crate) fn actions_bytes(_actions: &[Action]) -> Result<Vec<u8>> {
    Err(pending("encode actions"))
}

/// The key of nested key attributes.
pub(crate) fn key_from_bytes(_raw: &[u8]) -> Result<FlowKey> {
    Err(pending("decode flow key"))
}

/// The mask of nested mask attributes, for a flow whose key is `key`.
pub(crate) fn mask_from_bytes(_raw: &[u8], _key: &FlowKey) -> Result<FlowKey> {
    Err(pending("decode flow mask"))
}

/// The actions of nested action attributes.
pub(crate) fn actions_from_bytes(_raw: &[u8]) -> Result<Vec<Action>> {
    Err(pending("decode actions"))
}

/// The metadata-only key of a packet to execute (`OVS_PACKET_ATTR_KEY`): the kernel
/// re-parses the headers and uses only in_port, priority, mark, recirc_id and dp_hash.
pub(crate) fn packet_md_bytes(_md: &PacketMeta) -> Result<Vec<u8>> {
    Err(pending("encode packet metadata"))
}
