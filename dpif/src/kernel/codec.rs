//! Adapters between dpif-netlink's messages and `crate::odp`'s flow key and action codecs:
//! the nested `OVS_FLOW_ATTR_KEY`/`MASK`/`ACTIONS` and `OVS_PACKET_ATTR_KEY` payloads.
//!
//! The codecs themselves live in `crate::odp`; nothing here encodes a key or action field.

use netdev::PacketMeta;

use crate::error::Result;
use crate::odp::{self, Action, FlowKey, KeyAttr};

/// The attributes without `OVS_KEY_ATTR_PACKET_TYPE`, which the kernel datapath refuses (it
/// tells the packet type from the presence of `OVS_KEY_ATTR_ETHERNET`).
fn for_kernel(mut attrs: Vec<KeyAttr>) -> Vec<KeyAttr> {
    odp::strip_packet_type(&mut attrs);
    attrs
}

/// The nested key attributes of `key` (a flow's key, with its `mask` when it has one, so
/// that key and mask carry the same attributes).
pub(crate) fn key_bytes(key: &FlowKey, mask: Option<&FlowKey>) -> Result<Vec<u8>> {
    odp::encode_key_attrs(&for_kernel(odp::key_to_attrs(key, mask)))
}

/// The nested mask attributes of `mask` for a flow whose key is `key`.
pub(crate) fn mask_bytes(key: &FlowKey, mask: &FlowKey) -> Result<Vec<u8>> {
    odp::encode_key_attrs(&for_kernel(odp::mask_to_attrs(mask, key)))
}

/// The nested action attributes of `actions`.
pub(crate) fn actions_bytes(actions: &[Action]) -> Result<Vec<u8>> {
    odp::encode_actions(actions)
}

/// The key of nested key attributes. Attributes the key cannot hold are ignored (the
/// fitness is the upper layer's business: it has the raw key).
pub(crate) fn key_from_bytes(raw: &[u8]) -> Result<FlowKey> {
    let attrs = odp::decode_key_attrs(raw)?;
    Ok(odp::attrs_to_key(&attrs)?.0)
}

/// The mask of nested mask attributes, for a flow whose key is `key`.
pub(crate) fn mask_from_bytes(raw: &[u8], key: &FlowKey) -> Result<FlowKey> {
    odp::attrs_to_mask(&odp::decode_key_attrs(raw)?, key)
}

/// The actions of nested action attributes.
pub(crate) fn actions_from_bytes(raw: &[u8]) -> Result<Vec<Action>> {
    odp::decode_actions(raw)
}

/// The metadata-only key of a packet to execute (`OVS_PACKET_ATTR_KEY`): the kernel
/// re-parses the headers and takes only the metadata from the key, as OVS's
/// `odp_key_from_dp_packet` sends it.
pub(crate) fn packet_md_bytes(md: &PacketMeta) -> Result<Vec<u8>> {
    odp::encode_key_attrs(&[
        KeyAttr::Priority(md.skb_priority),
        KeyAttr::SkbMark(md.skb_mark),
        KeyAttr::RecircId(md.recirc_id),
        KeyAttr::DpHash(md.dp_hash),
        KeyAttr::InPort(md.in_port),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::odp::eth_type;

    #[test]
    fn key_mask_and_actions_round_trip() {
        let mut key = FlowKey::zero();
        key.in_port = 3;
        key.eth_type = eth_type::IPV4;
        key.ipv4_dst = [10, 0, 0, 1];
        key.nw_ttl = 64;
        let mut mask = FlowKey::zero();
        mask.in_port = u32::MAX;
        mask.recirc_id = u32::MAX;
        mask.eth_type = u16::MAX;
        mask.ipv4_dst = [255, 255, 255, 0];
        let k = key_bytes(&key, Some(&mask)).unwrap();
        assert_eq!(key_from_bytes(&k).unwrap(), key);
        let m = mask_bytes(&key, &mask).unwrap();
        // Netlink cannot say "any VLAN": a mask without a VLAN attribute means "no tag",
        // exactly (as OVS's odp_flow_key_to_mask decodes it).
        let mut want = mask;
        want.vlans[0] = odp::Vlan {
            tpid: u16::MAX,
            tci: u16::MAX,
        };
        assert_eq!(mask_from_bytes(&m, &key).unwrap(), want);
        let actions = vec![Action::Output(odp::OdpPort(2))];
        assert_eq!(
            actions_from_bytes(&actions_bytes(&actions).unwrap()).unwrap(),
            actions
        );
    }

    #[test]
    fn packet_type_is_left_out() {
        let mut key = FlowKey::zero();
        key.in_port = 1;
        key.eth_type = eth_type::ARP;
        let attrs = odp::key_to_attrs(&key, None);
        assert!(attrs.iter().any(|a| matches!(a, KeyAttr::PacketType(_))));
        let kept = for_kernel(attrs.clone());
        assert_eq!(kept.len(), attrs.len() - 1);
        let raw = key_bytes(&key, None).unwrap();
        let back = odp::decode_key_attrs(&raw).unwrap();
        assert!(!back.iter().any(|a| matches!(a, KeyAttr::PacketType(_))));
        assert_eq!(key_from_bytes(&raw).unwrap(), key, "reads back as Ethernet");
    }

    #[test]
    fn packet_metadata_golden() {
        // Written from the uAPI: PRIORITY (2), SKB_MARK (15), RECIRC_ID (20), DP_HASH (19),
        // IN_PORT (3), each a u32 attribute.
        let md = PacketMeta {
            in_port: 7,
            ..PacketMeta::default()
        };
        let b = packet_md_bytes(&md).unwrap();
        #[rustfmt::skip]
        let want: Vec<u8> = [
            &[8, 0, 2, 0][..], &0u32.to_ne_bytes(),
            &[8, 0, 15, 0], &0u32.to_ne_bytes(),
            &[8, 0, 20, 0], &0u32.to_ne_bytes(),
            &[8, 0, 19, 0], &0u32.to_ne_bytes(),
            &[8, 0, 3, 0], &7u32.to_ne_bytes(),
        ].concat();
        assert_eq!(b, want);
    }
}
