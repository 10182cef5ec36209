//! The attributes of the `ovs_datapath`, `ovs_vport`, `ovs_flow` and `ovs_packet` messages
//! (`OVS_DP_ATTR_*`, `OVS_VPORT_ATTR_*`, `OVS_FLOW_ATTR_*`, `OVS_PACKET_ATTR_*`), as typed
//! enums implementing `netlink-packet-core`'s `Nla` and `Parseable`.
//!
//! Flow keys, masks and actions are carried here as their already-encoded nested attribute
//! bytes; `crate::odp` owns their codecs. Unknown attributes survive as `Other`.
//!
//! Parsing never panics: a payload of the wrong size is a `DecodeError`. Emitting follows
//! the usual `Emitable` contract (the buffer must be `buffer_len()` long); lengths are
//! checked by [`super::nl::emit_attrs`] before emitting.

use netlink_packet_core::{
    DecodeError, DefaultNla, Nla, NlaBuffer, Parseable, parse_string, parse_u16, parse_u32,
    parse_u64,
};

use crate::odp::uapi::*;

fn u64s<const N: usize>(b: &[u8], ctx: &str) -> Result<[u64; N], DecodeError> {
    if b.len() < 8 * N {
        return Err(DecodeError::from(format!(
            "{ctx}: {} bytes, want {}",
            b.len(),
            8 * N
        )));
    }
    let mut out = [0u64; N];
    for (i, o) in out.iter_mut().enumerate() {
        *o = parse_u64(&b[8 * i..8 * i + 8])?;
    }
    Ok(out)
}

fn u32_array(b: &[u8], ctx: &str) -> Result<Vec<u32>, DecodeError> {
    if !b.len().is_multiple_of(4) {
        return Err(DecodeError::from(format!("{ctx}: {} bytes", b.len())));
    }
    b.chunks_exact(4).map(parse_u32).collect()
}

fn emit_u32s(buf: &mut [u8], v: &[u32]) {
    for (chunk, x) in buf.chunks_exact_mut(4).zip(v) {
        chunk.copy_from_slice(&x.to_ne_bytes());
    }
}

fn emit_u64s(buf: &mut [u8], v: &[u64]) {
    for (chunk, x) in buf.chunks_exact_mut(8).zip(v) {
        chunk.copy_from_slice(&x.to_ne_bytes());
    }
}

fn emit_str(buf: &mut [u8], s: &str) {
    buf[..s.len()].copy_from_slice(s.as_bytes());
    buf[s.len()] = 0;
}

/// `struct ovs_dp_stats`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct DpStatsRaw {
    pub n_hit: u64,
    pub n_missed: u64,
    pub n_lost: u64,
    pub n_flows: u64,
}

/// `struct ovs_dp_megaflow_stats`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct MegaflowStats {
    pub n_mask_hit: u64,
    pub n_masks: u32,
    /// Absent (0) on kernels older than the field.
    pub n_cache_hit: u64,
}

/// `OVS_DP_ATTR_*`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum DpAttr {
    Name(String),
    UpcallPid(u32),
    Stats(DpStatsRaw),
    MegaflowStats(MegaflowStats),
    UserFeatures(u32),
    MasksCacheSize(u32),
    PerCpuPids(Vec<u32>),
    Other(DefaultNla),
}

impl Nla for DpAttr {
    fn value_len(&self) -> usize {
        match self {
            DpAttr::Name(s) => s.len() + 1,
            DpAttr::UpcallPid(_) | DpAttr::UserFeatures(_) | DpAttr::MasksCacheSize(_) => 4,
            DpAttr::Stats(_) | DpAttr::MegaflowStats(_) => 32,
            DpAttr::PerCpuPids(v) => 4 * v.len(),
            DpAttr::Other(o) => o.value_len(),
        }
    }

    fn kind(&self) -> u16 {
        match self {
            DpAttr::Name(_) => OVS_DP_ATTR_NAME,
            DpAttr::UpcallPid(_) => OVS_DP_ATTR_UPCALL_PID,
            DpAttr::Stats(_) => OVS_DP_ATTR_STATS,
            DpAttr::MegaflowStats(_) => OVS_DP_ATTR_MEGAFLOW_STATS,
            DpAttr::UserFeatures(_) => OVS_DP_ATTR_USER_FEATURES,
            DpAttr::MasksCacheSize(_) => OVS_DP_ATTR_MASKS_CACHE_SIZE,
            DpAttr::PerCpuPids(_) => OVS_DP_ATTR_PER_CPU_PIDS,
            DpAttr::Other(o) => o.kind(),
        }
    }

    fn emit_value(&self, buf: &mut [u8]) {
        match self {
            DpAttr::Name(s) => emit_str(buf, s),
            DpAttr::UpcallPid(v) | DpAttr::UserFeatures(v) | DpAttr::MasksCacheSize(v) => {
                emit_u32s(buf, &[*v])
            }
            DpAttr::Stats(s) => emit_u64s(buf, &[s.n_hit, s.n_missed, s.n_lost, s.n_flows]),
            DpAttr::MegaflowStats(m) => {
                emit_u64s(buf, &[m.n_mask_hit, 0, m.n_cache_hit, 0]);
                emit_u32s(&mut buf[8..12], &[m.n_masks]);
            }
            DpAttr::PerCpuPids(v) => emit_u32s(buf, v),
            DpAttr::Other(o) => o.emit_value(buf),
        }
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Parseable<NlaBuffer<&'a T>> for DpAttr {
    fn parse(buf: &NlaBuffer<&'a T>) -> Result<Self, DecodeError> {
        let v = buf.value();
        Ok(match buf.kind() {
            OVS_DP_ATTR_NAME => DpAttr::Name(parse_string(v)?),
            OVS_DP_ATTR_UPCALL_PID => DpAttr::UpcallPid(parse_u32(v)?),
            OVS_DP_ATTR_STATS => {
                let [n_hit, n_missed, n_lost, n_flows] = u64s::<4>(v, "OVS_DP_ATTR_STATS")?;
                DpAttr::Stats(DpStatsRaw {
                    n_hit,
                    n_missed,
                    n_lost,
                    n_flows,
                })
            }
            OVS_DP_ATTR_MEGAFLOW_STATS => {
                let [n_mask_hit, masks] = u64s::<2>(v, "OVS_DP_ATTR_MEGAFLOW_STATS")?;
                let n_cache_hit = if v.len() >= 24 {
                    parse_u64(&v[16..24])?
                } else {
                    0
                };
                DpAttr::MegaflowStats(MegaflowStats {
                    n_mask_hit,
                    n_masks: parse_u32(&masks.to_ne_bytes()[..4])?,
                    n_cache_hit,
                })
            }
            OVS_DP_ATTR_USER_FEATURES => DpAttr::UserFeatures(parse_u32(v)?),
            OVS_DP_ATTR_MASKS_CACHE_SIZE => DpAttr::MasksCacheSize(parse_u32(v)?),
            OVS_DP_ATTR_PER_CPU_PIDS => {
                DpAttr::PerCpuPids(u32_array(v, "OVS_DP_ATTR_PER_CPU_PIDS")?)
            }
            _ => DpAttr::Other(DefaultNla::parse(buf)?),
        })
    }
}

/// `struct ovs_vport_stats`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VportStats {
    /// Packets received.
    pub rx_packets: u64,
    /// Packets sent.
    pub tx_packets: u64,
    /// Bytes received.
    pub rx_bytes: u64,
    /// Bytes sent.
    pub tx_bytes: u64,
    /// Receive errors.
    pub rx_errors: u64,
    /// Send errors.
    pub tx_errors: u64,
    /// Received packets dropped.
    pub rx_dropped: u64,
    /// Packets to send dropped.
    pub tx_dropped: u64,
}

/// `OVS_VPORT_ATTR_*`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum VportAttr {
    PortNo(u32),
    Type(u32),
    Name(String),
    /// Nested options, raw.
    Options(Vec<u8>),
    UpcallPids(Vec<u32>),
    Stats(VportStats),
    IfIndex(i32),
    NetnsId(i32),
    Other(DefaultNla),
}

impl Nla for VportAttr {
    fn value_len(&self) -> usize {
        match self {
            VportAttr::PortNo(_)
            | VportAttr::Type(_)
            | VportAttr::IfIndex(_)
            | VportAttr::NetnsId(_) => 4,
            VportAttr::Name(s) => s.len() + 1,
            VportAttr::Options(b) => b.len(),
            VportAttr::UpcallPids(v) => 4 * v.len(),
            VportAttr::Stats(_) => 64,
            VportAttr::Other(o) => o.value_len(),
        }
    }

    fn kind(&self) -> u16 {
        match self {
            VportAttr::PortNo(_) => OVS_VPORT_ATTR_PORT_NO,
            VportAttr::Type(_) => OVS_VPORT_ATTR_TYPE,
            VportAttr::Name(_) => OVS_VPORT_ATTR_NAME,
            VportAttr::Options(_) => OVS_VPORT_ATTR_OPTIONS,
            VportAttr::UpcallPids(_) => OVS_VPORT_ATTR_UPCALL_PID,
            VportAttr::Stats(_) => OVS_VPORT_ATTR_STATS,
            VportAttr::IfIndex(_) => OVS_VPORT_ATTR_IFINDEX,
            VportAttr::NetnsId(_) => OVS_VPORT_ATTR_NETNSID,
            VportAttr::Other(o) => o.kind(),
        }
    }

    fn emit_value(&self, buf: &mut [u8]) {
        match self {
            VportAttr::PortNo(v) | VportAttr::Type(v) => emit_u32s(buf, &[*v]),
            VportAttr::IfIndex(v) | VportAttr::NetnsId(v) => {
                buf[..4].copy_from_slice(&v.to_ne_bytes())
            }
            VportAttr::Name(s) => emit_str(buf, s),
            VportAttr::Options(b) => buf.copy_from_slice(b),
            VportAttr::UpcallPids(v) => emit_u32s(buf, v),
            VportAttr::Stats(s) => emit_u64s(
                buf,
                &[
                    s.rx_packets,
                    s.tx_packets,
                    s.rx_bytes,
                    s.tx_bytes,
                    s.rx_errors,
                    s.tx_errors,
                    s.rx_dropped,
                    s.tx_dropped,
                ],
            ),
            VportAttr::Other(o) => o.emit_value(buf),
        }
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Parseable<NlaBuffer<&'a T>> for VportAttr {
    fn parse(buf: &NlaBuffer<&'a T>) -> Result<Self, DecodeError> {
        let v = buf.value();
        Ok(match buf.kind() {
            OVS_VPORT_ATTR_PORT_NO => VportAttr::PortNo(parse_u32(v)?),
            OVS_VPORT_ATTR_TYPE => VportAttr::Type(parse_u32(v)?),
            OVS_VPORT_ATTR_NAME => VportAttr::Name(parse_string(v)?),
            OVS_VPORT_ATTR_OPTIONS => VportAttr::Options(v.to_vec()),
            OVS_VPORT_ATTR_UPCALL_PID => {
                VportAttr::UpcallPids(u32_array(v, "OVS_VPORT_ATTR_UPCALL_PID")?)
            }
            OVS_VPORT_ATTR_STATS => {
                let s = u64s::<8>(v, "OVS_VPORT_ATTR_STATS")?;
                VportAttr::Stats(VportStats {
                    rx_packets: s[0],
                    tx_packets: s[1],
                    rx_bytes: s[2],
                    tx_bytes: s[3],
                    rx_errors: s[4],
                    tx_errors: s[5],
                    rx_dropped: s[6],
                    tx_dropped: s[7],
                })
            }
            OVS_VPORT_ATTR_IFINDEX => {
                VportAttr::IfIndex(i32::from_ne_bytes(parse_u32(v)?.to_ne_bytes()))
            }
            OVS_VPORT_ATTR_NETNSID => {
                VportAttr::NetnsId(i32::from_ne_bytes(parse_u32(v)?.to_ne_bytes()))
            }
            _ => VportAttr::Other(DefaultNla::parse(buf)?),
        })
    }
}

/// `OVS_FLOW_ATTR_*`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum FlowAttr {
    /// Nested `OVS_KEY_ATTR_*`, already encoded.
    Key(Vec<u8>),
    /// Nested `OVS_ACTION_ATTR_*`, already encoded (may be empty: drop).
    Actions(Vec<u8>),
    /// `struct ovs_flow_stats`: packets and bytes.
    Stats {
        n_packets: u64,
        n_bytes: u64,
    },
    TcpFlags(u8),
    Used(u64),
    Clear,
    /// Nested `OVS_KEY_ATTR_*` of the mask, already encoded.
    Mask(Vec<u8>),
    Probe,
    Ufid(Vec<u8>),
    UfidFlags(u32),
    Other(DefaultNla),
}

impl Nla for FlowAttr {
    fn value_len(&self) -> usize {
        match self {
            FlowAttr::Key(b) | FlowAttr::Actions(b) | FlowAttr::Mask(b) | FlowAttr::Ufid(b) => {
                b.len()
            }
            FlowAttr::Stats { .. } => 16,
            FlowAttr::TcpFlags(_) => 1,
            FlowAttr::Used(_) => 8,
            FlowAttr::Clear | FlowAttr::Probe => 0,
            FlowAttr::UfidFlags(_) => 4,
            FlowAttr::Other(o) => o.value_len(),
        }
    }

    fn kind(&self) -> u16 {
        match self {
            FlowAttr::Key(_) => OVS_FLOW_ATTR_KEY,
            FlowAttr::Actions(_) => OVS_FLOW_ATTR_ACTIONS,
            FlowAttr::Stats { .. } => OVS_FLOW_ATTR_STATS,
            FlowAttr::TcpFlags(_) => OVS_FLOW_ATTR_TCP_FLAGS,
            FlowAttr::Used(_) => OVS_FLOW_ATTR_USED,
            FlowAttr::Clear => OVS_FLOW_ATTR_CLEAR,
            FlowAttr::Mask(_) => OVS_FLOW_ATTR_MASK,
            FlowAttr::Probe => OVS_FLOW_ATTR_PROBE,
            FlowAttr::Ufid(_) => OVS_FLOW_ATTR_UFID,
            FlowAttr::UfidFlags(_) => OVS_FLOW_ATTR_UFID_FLAGS,
            FlowAttr::Other(o) => o.kind(),
        }
    }

    fn emit_value(&self, buf: &mut [u8]) {
        match self {
            FlowAttr::Key(b) | FlowAttr::Actions(b) | FlowAttr::Mask(b) | FlowAttr::Ufid(b) => {
                buf.copy_from_slice(b)
            }
            FlowAttr::Stats { n_packets, n_bytes } => emit_u64s(buf, &[*n_packets, *n_bytes]),
            FlowAttr::TcpFlags(f) => buf[0] = *f,
            FlowAttr::Used(u) => emit_u64s(buf, &[*u]),
            FlowAttr::Clear | FlowAttr::Probe => {}
            FlowAttr::UfidFlags(f) => emit_u32s(buf, &[*f]),
            FlowAttr::Other(o) => o.emit_value(buf),
        }
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Parseable<NlaBuffer<&'a T>> for FlowAttr {
    fn parse(buf: &NlaBuffer<&'a T>) -> Result<Self, DecodeError> {
        let v = buf.value();
        Ok(match buf.kind() {
            OVS_FLOW_ATTR_KEY => FlowAttr::Key(v.to_vec()),
            OVS_FLOW_ATTR_ACTIONS => FlowAttr::Actions(v.to_vec()),
            OVS_FLOW_ATTR_STATS => {
                let [n_packets, n_bytes] = u64s::<2>(v, "OVS_FLOW_ATTR_STATS")?;
                FlowAttr::Stats { n_packets, n_bytes }
            }
            OVS_FLOW_ATTR_TCP_FLAGS => FlowAttr::TcpFlags(
                *v.first()
                    .ok_or_else(|| DecodeError::from("OVS_FLOW_ATTR_TCP_FLAGS: empty"))?,
            ),
            OVS_FLOW_ATTR_USED => FlowAttr::Used(parse_u64(v)?),
            OVS_FLOW_ATTR_CLEAR => FlowAttr::Clear,
            OVS_FLOW_ATTR_MASK => FlowAttr::Mask(v.to_vec()),
            OVS_FLOW_ATTR_PROBE => FlowAttr::Probe,
            OVS_FLOW_ATTR_UFID => FlowAttr::Ufid(v.to_vec()),
            OVS_FLOW_ATTR_UFID_FLAGS => FlowAttr::UfidFlags(parse_u32(v)?),
            _ => FlowAttr::Other(DefaultNla::parse(buf)?),
        })
    }
}

/// `OVS_PACKET_ATTR_*`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum PacketAttr {
    Packet(Vec<u8>),
    /// Nested `OVS_KEY_ATTR_*`, raw.
    Key(Vec<u8>),
    /// Nested `OVS_ACTION_ATTR_*`, raw.
    Actions(Vec<u8>),
    Userdata(Vec<u8>),
    EgressTunKey(Vec<u8>),
    Probe,
    Mru(u16),
    Len(u32),
    Hash(u64),
    UpcallPid(u32),
    Other(DefaultNla),
}

impl Nla for PacketAttr {
    fn value_len(&self) -> usize {
        match self {
            PacketAttr::Packet(b)
            | PacketAttr::Key(b)
            | PacketAttr::Actions(b)
            | PacketAttr::Userdata(b)
            | PacketAttr::EgressTunKey(b) => b.len(),
            PacketAttr::Probe => 0,
            PacketAttr::Mru(_) => 2,
            PacketAttr::Len(_) | PacketAttr::UpcallPid(_) => 4,
            PacketAttr::Hash(_) => 8,
            PacketAttr::Other(o) => o.value_len(),
        }
    }

    fn kind(&self) -> u16 {
        match self {
            PacketAttr::Packet(_) => OVS_PACKET_ATTR_PACKET,
            PacketAttr::Key(_) => OVS_PACKET_ATTR_KEY,
            PacketAttr::Actions(_) => OVS_PACKET_ATTR_ACTIONS,
            PacketAttr::Userdata(_) => OVS_PACKET_ATTR_USERDATA,
            PacketAttr::EgressTunKey(_) => OVS_PACKET_ATTR_EGRESS_TUN_KEY,
            PacketAttr::Probe => OVS_PACKET_ATTR_PROBE,
            PacketAttr::Mru(_) => OVS_PACKET_ATTR_MRU,
            PacketAttr::Len(_) => OVS_PACKET_ATTR_LEN,
            PacketAttr::Hash(_) => OVS_PACKET_ATTR_HASH,
            PacketAttr::UpcallPid(_) => OVS_PACKET_ATTR_UPCALL_PID,
            PacketAttr::Other(o) => o.kind(),
        }
    }

    fn emit_value(&self, buf: &mut [u8]) {
        match self {
            PacketAttr::Packet(b)
            | PacketAttr::Key(b)
            | PacketAttr::Actions(b)
            | PacketAttr::Userdata(b)
            | PacketAttr::EgressTunKey(b) => buf.copy_from_slice(b),
            PacketAttr::Probe => {}
            PacketAttr::Mru(m) => buf[..2].copy_from_slice(&m.to_ne_bytes()),
            PacketAttr::Len(v) | PacketAttr::UpcallPid(v) => emit_u32s(buf, &[*v]),
            PacketAttr::Hash(h) => emit_u64s(buf, &[*h]),
            PacketAttr::Other(o) => o.emit_value(buf),
        }
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Parseable<NlaBuffer<&'a T>> for PacketAttr {
    fn parse(buf: &NlaBuffer<&'a T>) -> Result<Self, DecodeError> {
        let v = buf.value();
        Ok(match buf.kind() {
            OVS_PACKET_ATTR_PACKET => PacketAttr::Packet(v.to_vec()),
            OVS_PACKET_ATTR_KEY => PacketAttr::Key(v.to_vec()),
            OVS_PACKET_ATTR_ACTIONS => PacketAttr::Actions(v.to_vec()),
            OVS_PACKET_ATTR_USERDATA => PacketAttr::Userdata(v.to_vec()),
            OVS_PACKET_ATTR_EGRESS_TUN_KEY => PacketAttr::EgressTunKey(v.to_vec()),
            OVS_PACKET_ATTR_PROBE => PacketAttr::Probe,
            OVS_PACKET_ATTR_MRU => PacketAttr::Mru(parse_u16(v)?),
            OVS_PACKET_ATTR_LEN => PacketAttr::Len(parse_u32(v)?),
            OVS_PACKET_ATTR_HASH => PacketAttr::Hash(parse_u64(v)?),
            OVS_PACKET_ATTR_UPCALL_PID => PacketAttr::UpcallPid(parse_u32(v)?),
            _ => PacketAttr::Other(DefaultNla::parse(buf)?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::nl::{emit_attrs, parse_attrs};
    use super::*;
    use proptest::prelude::*;

    fn ne32(v: u32) -> [u8; 4] {
        v.to_ne_bytes()
    }

    #[test]
    fn dp_attrs_golden() {
        // Written from the uAPI layouts: struct nlattr {u16 len; u16 type}, value, padding.
        let attrs = vec![
            DpAttr::Name("dp0".into()),
            DpAttr::UpcallPid(0),
            DpAttr::UserFeatures(OVS_DP_F_UNALIGNED | OVS_DP_F_DISPATCH_UPCALL_PER_CPU),
            DpAttr::PerCpuPids(vec![100, 200]),
        ];
        let bytes = emit_attrs("t", &attrs).unwrap();
        #[rustfmt::skip]
        let want: Vec<u8> = [
            &[8, 0, 1, 0][..], b"dp0\0",            // OVS_DP_ATTR_NAME, len 4+4
            &[8, 0, 2, 0], &ne32(0),                  // OVS_DP_ATTR_UPCALL_PID
            &[8, 0, 5, 0], &ne32(9),                  // OVS_DP_ATTR_USER_FEATURES 1|8
            &[12, 0, 8, 0], &ne32(100), &ne32(200),   // OVS_DP_ATTR_PER_CPU_PIDS
        ].concat();
        assert_eq!(bytes, want);
        assert_eq!(parse_attrs::<DpAttr>("t", &bytes).unwrap(), attrs);
    }

    #[test]
    fn dp_stats_decode() {
        // struct ovs_dp_stats (4 x u64) then struct ovs_dp_megaflow_stats
        // {u64 n_mask_hit; u32 n_masks; u32 pad0; u64 n_cache_hit; u64 pad1}.
        let mut raw = vec![36, 0, 3, 0];
        for v in [1u64, 2, 3, 4] {
            raw.extend_from_slice(&v.to_ne_bytes());
        }
        raw.extend_from_slice(&[36, 0, 4, 0]);
        raw.extend_from_slice(&10u64.to_ne_bytes());
        raw.extend_from_slice(&ne32(5));
        raw.extend_from_slice(&ne32(0));
        raw.extend_from_slice(&7u64.to_ne_bytes());
        raw.extend_from_slice(&0u64.to_ne_bytes());
        let attrs: Vec<DpAttr> = parse_attrs("t", &raw).unwrap();
        assert_eq!(
            attrs,
            vec![
                DpAttr::Stats(DpStatsRaw {
                    n_hit: 1,
                    n_missed: 2,
                    n_lost: 3,
                    n_flows: 4
                }),
                DpAttr::MegaflowStats(MegaflowStats {
                    n_mask_hit: 10,
                    n_masks: 5,
                    n_cache_hit: 7
                }),
            ]
        );
        assert_eq!(emit_attrs("t", &attrs).unwrap(), raw);
        // A short stats payload is a decode error, not a panic.
        assert!(parse_attrs::<DpAttr>("t", &[12, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0]).is_err());
    }

    #[test]
    fn vport_new_golden() {
        let attrs = vec![
            VportAttr::Name("veth0".into()),
            VportAttr::Type(OVS_VPORT_TYPE_NETDEV),
            VportAttr::UpcallPids(vec![0x1234]),
        ];
        let bytes = emit_attrs("t", &attrs).unwrap();
        #[rustfmt::skip]
        let want: Vec<u8> = [
            &[10, 0, 3, 0][..], b"veth0\0", &[0, 0],  // OVS_VPORT_ATTR_NAME + 2 pad
            &[8, 0, 2, 0], &ne32(1),                    // OVS_VPORT_ATTR_TYPE netdev
            &[8, 0, 5, 0], &ne32(0x1234),               // OVS_VPORT_ATTR_UPCALL_PID
        ].concat();
        assert_eq!(bytes, want);
        assert_eq!(parse_attrs::<VportAttr>("t", &bytes).unwrap(), attrs);
    }

    #[test]
    fn flow_and_packet_attrs_golden() {
        let attrs = vec![
            FlowAttr::Ufid(vec![0xaa; 16]),
            FlowAttr::Key(vec![8, 0, 3, 0, 1, 0, 0, 0]),
            FlowAttr::Actions(vec![]),
            FlowAttr::Clear,
            FlowAttr::UfidFlags(OVS_UFID_F_OMIT_KEY | OVS_UFID_F_OMIT_ACTIONS),
        ];
        let bytes = emit_attrs("t", &attrs).unwrap();
        #[rustfmt::skip]
        let want: Vec<u8> = [
            &[20, 0, 9, 0][..], &[0xaa; 16],       // OVS_FLOW_ATTR_UFID
            &[12, 0, 1, 0], &[8, 0, 3, 0, 1, 0, 0, 0], // OVS_FLOW_ATTR_KEY { IN_PORT 1 }
            &[4, 0, 2, 0],                          // OVS_FLOW_ATTR_ACTIONS (empty: drop)
            &[4, 0, 6, 0],                          // OVS_FLOW_ATTR_CLEAR
            &[8, 0, 10, 0], &ne32(5),               // OVS_FLOW_ATTR_UFID_FLAGS
        ].concat();
        assert_eq!(bytes, want);
        assert_eq!(parse_attrs::<FlowAttr>("t", &bytes).unwrap(), attrs);

        let p = vec![
            PacketAttr::Packet(vec![1, 2, 3]),
            PacketAttr::Mru(1500),
            PacketAttr::Probe,
        ];
        let bytes = emit_attrs("t", &p).unwrap();
        #[rustfmt::skip]
        let want: Vec<u8> = [
            &[7, 0, 1, 0][..], &[1, 2, 3, 0],        // OVS_PACKET_ATTR_PACKET + 1 pad
            &[6, 0, 9, 0], &1500u16.to_ne_bytes(), &[0, 0], // OVS_PACKET_ATTR_MRU
            &[4, 0, 8, 0],                            // OVS_PACKET_ATTR_PROBE
        ].concat();
        assert_eq!(bytes, want);
        assert_eq!(parse_attrs::<PacketAttr>("t", &bytes).unwrap(), p);
    }

    fn flow_attr() -> impl Strategy<Value = FlowAttr> {
        let bytes = || proptest::collection::vec(any::<u8>(), 0..40);
        prop_oneof![
            bytes().prop_map(FlowAttr::Key),
            bytes().prop_map(FlowAttr::Actions),
            bytes().prop_map(FlowAttr::Mask),
            proptest::collection::vec(any::<u8>(), 1..17).prop_map(FlowAttr::Ufid),
            (any::<u64>(), any::<u64>())
                .prop_map(|(n_packets, n_bytes)| FlowAttr::Stats { n_packets, n_bytes }),
            any::<u8>().prop_map(FlowAttr::TcpFlags),
            any::<u64>().prop_map(FlowAttr::Used),
            Just(FlowAttr::Clear),
            Just(FlowAttr::Probe),
            any::<u32>().prop_map(FlowAttr::UfidFlags),
            (12u16..100, bytes()).prop_map(|(k, v)| FlowAttr::Other(DefaultNla::new(k, v))),
        ]
    }

    fn vport_attr() -> impl Strategy<Value = VportAttr> {
        prop_oneof![
            any::<u32>().prop_map(VportAttr::PortNo),
            any::<u32>().prop_map(VportAttr::Type),
            "[a-z0-9]{1,15}".prop_map(VportAttr::Name),
            proptest::collection::vec(any::<u32>(), 0..8).prop_map(VportAttr::UpcallPids),
            any::<i32>().prop_map(VportAttr::IfIndex),
            proptest::collection::vec(any::<u64>(), 8).prop_map(|s| VportAttr::Stats(VportStats {
                rx_packets: s[0],
                tx_packets: s[1],
                rx_bytes: s[2],
                tx_bytes: s[3],
                rx_errors: s[4],
                tx_errors: s[5],
                rx_dropped: s[6],
                tx_dropped: s[7],
            })),
        ]
    }

    proptest! {
        #[test]
        fn flow_attrs_round_trip(attrs in proptest::collection::vec(flow_attr(), 0..8)) {
            let bytes = emit_attrs("t", &attrs).unwrap();
            prop_assert_eq!(parse_attrs::<FlowAttr>("t", &bytes).unwrap(), attrs);
        }

        #[test]
        fn vport_attrs_round_trip(attrs in proptest::collection::vec(vport_attr(), 0..8)) {
            let bytes = emit_attrs("t", &attrs).unwrap();
            prop_assert_eq!(parse_attrs::<VportAttr>("t", &bytes).unwrap(), attrs);
        }

        #[test]
        fn parsing_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = parse_attrs::<FlowAttr>("t", &bytes);
            let _ = parse_attrs::<VportAttr>("t", &bytes);
            let _ = parse_attrs::<DpAttr>("t", &bytes);
            let _ = parse_attrs::<PacketAttr>("t", &bytes);
            let _ = super::super::nl::parse_datagram(&bytes);
        }
    }
}
