//! [`TunnelKey`]: the payload of `OVS_KEY_ATTR_TUNNEL` (nested `OVS_TUNNEL_KEY_ATTR_*`), in
//! a key, a mask, or a `set(tunnel(...))` action.
//!
//! # Panics
//!
//! Parsing never panics; emitting panics only if the buffer is shorter than its length.

use netlink_packet_core::{DecodeError, DefaultNla, NlasIterator};

use super::attr::{emit_list, exact, list_len};
use super::uapi::*;

/// A tunnel key (or its mask): the outer headers of a tunneled packet.
///
/// Flags are attributes with no payload; in a mask, a flag present means "match it". The
/// `key` flag of OVS's text is the presence of `id`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct TunnelKey {
    /// `OVS_TUNNEL_KEY_ATTR_ID`: the tunnel id (VNI, GRE key).
    pub id: Option<u64>,
    /// `OVS_TUNNEL_KEY_ATTR_IPV4_SRC`.
    pub ipv4_src: Option<[u8; 4]>,
    /// `OVS_TUNNEL_KEY_ATTR_IPV4_DST`.
    pub ipv4_dst: Option<[u8; 4]>,
    /// `OVS_TUNNEL_KEY_ATTR_IPV6_SRC`.
    pub ipv6_src: Option<[u8; 16]>,
    /// `OVS_TUNNEL_KEY_ATTR_IPV6_DST`.
    pub ipv6_dst: Option<[u8; 16]>,
    /// `OVS_TUNNEL_KEY_ATTR_TOS`.
    pub tos: Option<u8>,
    /// `OVS_TUNNEL_KEY_ATTR_TTL`.
    pub ttl: Option<u8>,
    /// `OVS_TUNNEL_KEY_ATTR_DONT_FRAGMENT`.
    pub dont_fragment: bool,
    /// `OVS_TUNNEL_KEY_ATTR_CSUM`.
    pub csum: bool,
    /// `OVS_TUNNEL_KEY_ATTR_TP_SRC`: outer UDP source port.
    pub tp_src: Option<u16>,
    /// `OVS_TUNNEL_KEY_ATTR_TP_DST`: outer UDP destination port.
    pub tp_dst: Option<u16>,
    /// `OVS_TUNNEL_KEY_ATTR_OAM`.
    pub oam: bool,
    /// `OVS_TUNNEL_KEY_ATTR_VXLAN_OPTS` holding `OVS_VXLAN_EXT_GBP`: the group policy
    /// (flags in bits 16..24, id in bits 0..16).
    pub vxlan_gbp: Option<u32>,
    /// `OVS_TUNNEL_KEY_ATTR_GENEVE_OPTS`: the Geneve options as on the wire.
    pub geneve_opts: Option<Vec<u8>>,
}

fn flag(kind: u16) -> DefaultNla {
    DefaultNla::new(kind, Vec::new())
}

impl TunnelKey {
    /// The nested attributes, in the order OVS writes them.
    pub(crate) fn attrs(&self) -> Vec<DefaultNla> {
        let mut v = Vec::with_capacity(8);
        let mut put = |kind: u16, bytes: &[u8]| v.push(DefaultNla::new(kind, bytes.to_vec()));
        if let Some(id) = self.id {
            put(OVS_TUNNEL_KEY_ATTR_ID, &id.to_be_bytes());
        }
        if let Some(a) = &self.ipv4_src {
            put(OVS_TUNNEL_KEY_ATTR_IPV4_SRC, a);
        }
        if let Some(a) = &self.ipv4_dst {
            put(OVS_TUNNEL_KEY_ATTR_IPV4_DST, a);
        }
        if let Some(a) = &self.ipv6_src {
            put(OVS_TUNNEL_KEY_ATTR_IPV6_SRC, a);
        }
        if let Some(a) = &self.ipv6_dst {
            put(OVS_TUNNEL_KEY_ATTR_IPV6_DST, a);
        }
        if let Some(t) = self.tos {
            put(OVS_TUNNEL_KEY_ATTR_TOS, &[t]);
        }
        if let Some(t) = self.ttl {
            put(OVS_TUNNEL_KEY_ATTR_TTL, &[t]);
        }
        if self.dont_fragment {
            v.push(flag(OVS_TUNNEL_KEY_ATTR_DONT_FRAGMENT));
        }
        if self.csum {
            v.push(flag(OVS_TUNNEL_KEY_ATTR_CSUM));
        }
        let mut put = |kind: u16, bytes: &[u8]| v.push(DefaultNla::new(kind, bytes.to_vec()));
        if let Some(p) = self.tp_src {
            put(OVS_TUNNEL_KEY_ATTR_TP_SRC, &p.to_be_bytes());
        }
        if let Some(p) = self.tp_dst {
            put(OVS_TUNNEL_KEY_ATTR_TP_DST, &p.to_be_bytes());
        }
        if self.oam {
            v.push(flag(OVS_TUNNEL_KEY_ATTR_OAM));
        }
        if let Some(gbp) = self.vxlan_gbp {
            let inner = [DefaultNla::new(
                OVS_VXLAN_EXT_GBP,
                gbp.to_ne_bytes().to_vec(),
            )];
            let mut b = vec![0u8; list_len(&inner)];
            emit_list(&inner, &mut b);
            v.push(DefaultNla::new(OVS_TUNNEL_KEY_ATTR_VXLAN_OPTS, b));
        }
        if let Some(opts) = &self.geneve_opts {
            v.push(DefaultNla::new(
                OVS_TUNNEL_KEY_ATTR_GENEVE_OPTS,
                opts.clone(),
            ));
        }
        v
    }

    /// The payload's length.
    pub(crate) fn value_len(&self) -> usize {
        list_len(&self.attrs())
    }

    /// Writes the payload into `buf` ([`TunnelKey::value_len`] bytes).
    pub(crate) fn emit_value(&self, buf: &mut [u8]) {
        emit_list(&self.attrs(), buf)
    }

    /// Decodes the payload of `OVS_KEY_ATTR_TUNNEL`; `None` if it holds something this type
    /// does not model (ERSPAN options, padding, newer attributes), for the caller to keep
    /// the attribute as it came.
    pub(crate) fn parse(value: &[u8]) -> Result<Option<TunnelKey>, DecodeError> {
        let name = "OVS_KEY_ATTR_TUNNEL";
        let mut t = TunnelKey::default();
        for nla in NlasIterator::new(value) {
            let nla = nla.map_err(|e| DecodeError::from(format!("{name}: {e}")))?;
            let v = nla.value();
            let set = |b: &mut bool, n: &str| {
                if v.is_empty() {
                    *b = true;
                    Ok(())
                } else {
                    Err(DecodeError::from(format!("{n}: a flag with a payload")))
                }
            };
            match nla.kind() {
                OVS_TUNNEL_KEY_ATTR_ID => {
                    t.id = Some(exact::<8>("OVS_TUNNEL_KEY_ATTR_ID", v).map(u64::from_be_bytes)?)
                }
                OVS_TUNNEL_KEY_ATTR_IPV4_SRC => {
                    t.ipv4_src = Some(exact::<4>("OVS_TUNNEL_KEY_ATTR_IPV4_SRC", v)?)
                }
                OVS_TUNNEL_KEY_ATTR_IPV4_DST => {
                    t.ipv4_dst = Some(exact::<4>("OVS_TUNNEL_KEY_ATTR_IPV4_DST", v)?)
                }
                OVS_TUNNEL_KEY_ATTR_IPV6_SRC => {
                    t.ipv6_src = Some(exact::<16>("OVS_TUNNEL_KEY_ATTR_IPV6_SRC", v)?)
                }
                OVS_TUNNEL_KEY_ATTR_IPV6_DST => {
                    t.ipv6_dst = Some(exact::<16>("OVS_TUNNEL_KEY_ATTR_IPV6_DST", v)?)
                }
                OVS_TUNNEL_KEY_ATTR_TOS => {
                    t.tos = Some(exact::<1>("OVS_TUNNEL_KEY_ATTR_TOS", v)?[0])
                }
                OVS_TUNNEL_KEY_ATTR_TTL => {
                    t.ttl = Some(exact::<1>("OVS_TUNNEL_KEY_ATTR_TTL", v)?[0])
                }
                OVS_TUNNEL_KEY_ATTR_DONT_FRAGMENT => {
                    set(&mut t.dont_fragment, "OVS_TUNNEL_KEY_ATTR_DONT_FRAGMENT")?
                }
                OVS_TUNNEL_KEY_ATTR_CSUM => set(&mut t.csum, "OVS_TUNNEL_KEY_ATTR_CSUM")?,
                OVS_TUNNEL_KEY_ATTR_OAM => set(&mut t.oam, "OVS_TUNNEL_KEY_ATTR_OAM")?,
                OVS_TUNNEL_KEY_ATTR_TP_SRC => {
                    t.tp_src =
                        Some(exact::<2>("OVS_TUNNEL_KEY_ATTR_TP_SRC", v).map(u16::from_be_bytes)?)
                }
                OVS_TUNNEL_KEY_ATTR_TP_DST => {
                    t.tp_dst =
                        Some(exact::<2>("OVS_TUNNEL_KEY_ATTR_TP_DST", v).map(u16::from_be_bytes)?)
                }
                OVS_TUNNEL_KEY_ATTR_VXLAN_OPTS => {
                    let mut gbp = None;
                    for ext in NlasIterator::new(v) {
                        let ext = ext.map_err(|e| {
                            DecodeError::from(format!("OVS_TUNNEL_KEY_ATTR_VXLAN_OPTS: {e}"))
                        })?;
                        if ext.kind() != OVS_VXLAN_EXT_GBP || gbp.is_some() {
                            return Ok(None);
                        }
                        gbp = Some(
                            exact::<4>("OVS_VXLAN_EXT_GBP", ext.value()).map(u32::from_ne_bytes)?,
                        );
                    }
                    match gbp {
                        Some(g) => t.vxlan_gbp = Some(g),
                        None => return Ok(None),
                    }
                }
                OVS_TUNNEL_KEY_ATTR_GENEVE_OPTS => t.geneve_opts = Some(v.to_vec()),
                _ => return Ok(None),
            }
        }
        // Re-emitting must give these bytes back: attributes out of OVS's order, or twice,
        // are kept raw by the caller.
        let mut again = vec![0u8; t.value_len()];
        t.emit_value(&mut again);
        Ok((again == value).then_some(t))
    }
}
