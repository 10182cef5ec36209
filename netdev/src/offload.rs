//! Offload state that travels with a packet: a checksum left for someone else to finish,
//! and GSO super-frames that someone must cut into MTU-sized segments.
//!
//! Linux hands these to an `AF_PACKET` socket or a TAP device with `PACKET_VNET_HDR` /
//! `IFF_VNET_HDR` as a `struct virtio_net_hdr` ([`VnetHdr`]) in front of each frame, and
//! takes them back the same way on transmit. Carrying them through the switch is what lets
//! TCP cross it with the hosts' default offloads on: the sender's checksums arrive unfilled
//! and its segments arrive as 64 KiB super-frames, and the output port (or the receiving
//! host's stack) finishes the job.
//!
//! A device that cannot take some offload finishes it in software before transmitting:
//! [`finish_offloads`] does that for a whole batch, with [`finish_checksum`] (a partial
//! L4 checksum) and [`segment`] (a TCP or UDP GSO super-frame cut into segments). Nothing
//! here panics on malformed frames: they give an [`OffloadError`] and are dropped.

use crate::batch::PacketBatch;
use crate::csum;
use crate::packet::Packet;
use crate::provider::OffloadCaps;

/// What is known about a packet's L4 checksum.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Checksum {
    /// Nothing is known: the checksum fields hold whatever the sender put there.
    #[default]
    Unknown,
    /// The L4 checksum is *partial* (`VIRTIO_NET_HDR_F_NEEDS_CSUM`): the field at
    /// `start + offset` holds the folded pseudo-header sum, and the one's complement sum of
    /// everything from `start` to the end of the frame must still be written there.
    Partial {
        /// Offset of the L4 header from the start of the frame.
        start: u16,
        /// Offset of the checksum field from `start`.
        offset: u16,
    },
    /// The checksum was verified by the device (`VIRTIO_NET_HDR_F_DATA_VALID`).
    Valid,
}

/// The kind of a GSO super-frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GsoType {
    /// TCP over IPv4 (`VIRTIO_NET_HDR_GSO_TCPV4`).
    TcpV4,
    /// TCP over IPv6 (`VIRTIO_NET_HDR_GSO_TCPV6`).
    TcpV6,
    /// UDP fragmentation offload (`VIRTIO_NET_HDR_GSO_UDP`).
    Udp,
    /// UDP segmentation (`VIRTIO_NET_HDR_GSO_UDP_L4`).
    UdpL4,
}

/// A GSO super-frame: its payload must be cut into segments of `size` bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Gso {
    /// The kind of segmentation.
    pub kind: GsoType,
    /// Payload bytes per segment (the MSS for TCP).
    pub size: u16,
    /// Length of the headers copied into every segment (L2 + L3 + L4), as the sender said;
    /// may be 0 or a hint only.
    pub hdr_len: u16,
    /// Whether the TCP ECN bit (CWR) must be handled per segment (`VIRTIO_NET_HDR_GSO_ECN`).
    pub ecn: bool,
}

/// The offload state of one packet.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Offload {
    /// The L4 checksum's state.
    pub csum: Checksum,
    /// Set when the packet is a GSO super-frame.
    pub gso: Option<Gso>,
}

impl Offload {
    /// Whether nothing is left to do: no partial checksum and no segmentation.
    pub fn is_done(&self) -> bool {
        !matches!(self.csum, Checksum::Partial { .. }) && self.gso.is_none()
    }

    /// Moves the checksum start by `delta` bytes, after `delta` bytes were inserted in front
    /// of the L4 header (negative when bytes were removed). The result saturates at 0.
    pub fn shift(&mut self, delta: isize) {
        if let Checksum::Partial { start, .. } = &mut self.csum {
            *start = u16::try_from((*start as isize + delta).max(0)).unwrap_or(u16::MAX);
        }
        if let Some(gso) = &mut self.gso
            && gso.hdr_len != 0
        {
            gso.hdr_len = u16::try_from((gso.hdr_len as isize + delta).max(0)).unwrap_or(u16::MAX);
        }
    }

    /// Reads the state from a `virtio_net_hdr`. Returns `None` for a header Linux would not
    /// produce (an unknown GSO type), which callers treat as a malformed packet.
    pub fn from_vnet(h: &VnetHdr) -> Option<Offload> {
        let csum = if h.flags & VnetHdr::F_NEEDS_CSUM != 0 {
            Checksum::Partial {
                start: h.csum_start,
                offset: h.csum_offset,
            }
        } else if h.flags & VnetHdr::F_DATA_VALID != 0 {
            Checksum::Valid
        } else {
            Checksum::Unknown
        };
        let kind = match h.gso_type & !VnetHdr::GSO_ECN {
            VnetHdr::GSO_NONE => None,
            VnetHdr::GSO_TCPV4 => Some(GsoType::TcpV4),
            VnetHdr::GSO_TCPV6 => Some(GsoType::TcpV6),
            VnetHdr::GSO_UDP => Some(GsoType::Udp),
            VnetHdr::GSO_UDP_L4 => Some(GsoType::UdpL4),
            _ => return None,
        };
        let gso = kind.map(|kind| Gso {
            kind,
            size: h.gso_size,
            hdr_len: h.hdr_len,
            ecn: h.gso_type & VnetHdr::GSO_ECN != 0,
        });
        Some(Offload { csum, gso })
    }

    /// Writes the state as a `virtio_net_hdr` for a device that accepts offloads.
    pub fn to_vnet(&self) -> VnetHdr {
        let mut h = VnetHdr::default();
        match self.csum {
            Checksum::Unknown => {}
            Checksum::Partial { start, offset } => {
                h.flags = VnetHdr::F_NEEDS_CSUM;
                h.csum_start = start;
                h.csum_offset = offset;
            }
            Checksum::Valid => h.flags = VnetHdr::F_DATA_VALID,
        }
        if let Some(gso) = self.gso {
            h.gso_type = match gso.kind {
                GsoType::TcpV4 => VnetHdr::GSO_TCPV4,
                GsoType::TcpV6 => VnetHdr::GSO_TCPV6,
                GsoType::Udp => VnetHdr::GSO_UDP,
                GsoType::UdpL4 => VnetHdr::GSO_UDP_L4,
            } | if gso.ecn { VnetHdr::GSO_ECN } else { 0 };
            h.gso_size = gso.size;
            h.hdr_len = gso.hdr_len;
        }
        h
    }
}

/// Linux's `struct virtio_net_hdr` (10 bytes, native byte order), as exchanged with an
/// `AF_PACKET` socket that has `PACKET_VNET_HDR` set or a TAP device with `IFF_VNET_HDR`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VnetHdr {
    /// `VIRTIO_NET_HDR_F_*`.
    pub flags: u8,
    /// `VIRTIO_NET_HDR_GSO_*`.
    pub gso_type: u8,
    /// Length of the headers to copy into each segment.
    pub hdr_len: u16,
    /// Payload bytes per segment.
    pub gso_size: u16,
    /// Where checksumming starts, from the start of the frame.
    pub csum_start: u16,
    /// Where the checksum goes, from `csum_start`.
    pub csum_offset: u16,
}

impl VnetHdr {
    /// Size of the header on the wire.
    pub const LEN: usize = 10;
    /// `VIRTIO_NET_HDR_F_NEEDS_CSUM`.
    pub const F_NEEDS_CSUM: u8 = 1;
    /// `VIRTIO_NET_HDR_F_DATA_VALID`.
    pub const F_DATA_VALID: u8 = 2;
    /// `VIRTIO_NET_HDR_GSO_NONE`.
    pub const GSO_NONE: u8 = 0;
    /// `VIRTIO_NET_HDR_GSO_TCPV4`.
    pub const GSO_TCPV4: u8 = 1;
    /// `VIRTIO_NET_HDR_GSO_UDP`.
    pub const GSO_UDP: u8 = 3;
    /// `VIRTIO_NET_HDR_GSO_TCPV6`.
    pub const GSO_TCPV6: u8 = 4;
    /// `VIRTIO_NET_HDR_GSO_UDP_L4`.
    pub const GSO_UDP_L4: u8 = 5;
    /// `VIRTIO_NET_HDR_GSO_ECN`.
    pub const GSO_ECN: u8 = 0x80;

    /// Reads a header from its 10 wire bytes.
    pub fn from_bytes(b: &[u8; Self::LEN]) -> Self {
        let u16_at = |i: usize| u16::from_ne_bytes([b[i], b[i + 1]]);
        VnetHdr {
            flags: b[0],
            gso_type: b[1],
            hdr_len: u16_at(2),
            gso_size: u16_at(4),
            csum_start: u16_at(6),
            csum_offset: u16_at(8),
        }
    }

    /// Writes the header's 10 wire bytes.
    pub fn to_bytes(&self) -> [u8; Self::LEN] {
        let mut b = [0u8; Self::LEN];
        b[0] = self.flags;
        b[1] = self.gso_type;
        b[2..4].copy_from_slice(&self.hdr_len.to_ne_bytes());
        b[4..6].copy_from_slice(&self.gso_size.to_ne_bytes());
        b[6..8].copy_from_slice(&self.csum_start.to_ne_bytes());
        b[8..10].copy_from_slice(&self.csum_offset.to_ne_bytes());
        b
    }
}

/// Why a packet's offloads could not be finished in software. The packet is dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OffloadError {
    /// The frame ends inside a header, or a length field points past its end.
    #[error("frame truncated inside its headers")]
    Truncated,
    /// Not an IPv4 or IPv6 packet (after at most two VLAN tags).
    #[error("not an IPv4 or IPv6 packet")]
    NotIp,
    /// The L4 protocol is not the one the offload is for (TCP for TSO, UDP for USO), or
    /// the IPv6 extension headers cannot be walked.
    #[error("L4 protocol does not match the offload")]
    WrongProtocol,
    /// An IP fragment cannot be segmented.
    #[error("IP fragment cannot be segmented")]
    Fragment,
    /// The partial checksum's start or offset lie outside the frame.
    #[error("partial checksum offsets outside the frame")]
    BadChecksumOffsets,
    /// A GSO super-frame with a segment size of 0.
    #[error("GSO segment size is 0")]
    ZeroSegmentSize,
    /// UDP fragmentation offload (`VIRTIO_NET_HDR_GSO_UDP`), which no software path does.
    #[error("UDP fragmentation offload is not supported in software")]
    Unsupported,
}

/// The one's complement checksum of `data` on top of the folded sum `init`, as written in a
/// header.
fn checksum(data: &[u8], init: u16) -> u16 {
    !csum::add(csum::sum(data), init)
}

fn be16(d: &[u8], at: usize) -> Result<u16, OffloadError> {
    let b = d.get(at..at + 2).ok_or(OffloadError::Truncated)?;
    Ok(u16::from_be_bytes([b[0], b[1]]))
}

fn put16(d: &mut [u8], at: usize, v: u16) {
    if let Some(b) = d.get_mut(at..at + 2) {
        b.copy_from_slice(&v.to_be_bytes());
    }
}

/// Where the layers of an IP packet in an Ethernet frame start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Layout {
    /// Offset of the IP header.
    l3: usize,
    /// Offset of the L4 header.
    l4: usize,
    /// Offset of the L4 payload (the end of the headers every segment repeats).
    payload: usize,
    /// IPv4 (true) or IPv6.
    ipv4: bool,
}

const ETH_P_IP: u16 = 0x0800;
const ETH_P_IPV6: u16 = 0x86dd;
const IPPROTO_TCP: u8 = 6;
const IPPROTO_UDP: u8 = 17;

/// Finds the layers of `data`, an Ethernet frame carrying `proto` over IPv4 or IPv6.
fn layout(data: &[u8], proto: u8) -> Result<Layout, OffloadError> {
    let mut l3 = 14;
    let mut ethertype = be16(data, 12)?;
    for _ in 0..2 {
        if ethertype == 0x8100 || ethertype == 0x88a8 {
            ethertype = be16(data, l3 + 2)?;
            l3 += 4;
        }
    }
    let (l4, ipv4, next) = match ethertype {
        ETH_P_IP => {
            let vihl = *data.get(l3).ok_or(OffloadError::Truncated)?;
            let ihl = usize::from(vihl & 0x0f) * 4;
            if vihl >> 4 != 4 || ihl < 20 {
                return Err(OffloadError::NotIp);
            }
            if be16(data, l3 + 6)? & 0x3fff != 0 {
                return Err(OffloadError::Fragment);
            }
            let next = *data.get(l3 + 9).ok_or(OffloadError::Truncated)?;
            (l3 + ihl, true, next)
        }
        ETH_P_IPV6 => {
            let mut next = *data.get(l3 + 6).ok_or(OffloadError::Truncated)?;
            let mut off = l3 + 40;
            // Hop-by-hop, routing and destination options may precede the L4 header.
            for _ in 0..8 {
                match next {
                    0 | 43 | 60 => {
                        next = *data.get(off).ok_or(OffloadError::Truncated)?;
                        let len = *data.get(off + 1).ok_or(OffloadError::Truncated)?;
                        off += (usize::from(len) + 1) * 8;
                    }
                    44 => return Err(OffloadError::Fragment),
                    _ => break,
                }
            }
            (off, false, next)
        }
        _ => return Err(OffloadError::NotIp),
    };
    if next != proto {
        return Err(OffloadError::WrongProtocol);
    }
    let l4_len = if proto == IPPROTO_TCP {
        let doff = usize::from(*data.get(l4 + 12).ok_or(OffloadError::Truncated)? >> 4) * 4;
        if doff < 20 {
            return Err(OffloadError::Truncated);
        }
        doff
    } else {
        8
    };
    let payload = l4 + l4_len;
    if payload > data.len() {
        return Err(OffloadError::Truncated);
    }
    Ok(Layout {
        l3,
        l4,
        payload,
        ipv4,
    })
}

/// The folded pseudo-header sum of an L4 segment of `l4_len` bytes.
fn pseudo_sum(d: &[u8], lay: &Layout, proto: u8, l4_len: usize) -> Result<u16, OffloadError> {
    let addrs = if lay.ipv4 {
        d.get(lay.l3 + 12..lay.l3 + 20)
    } else {
        d.get(lay.l3 + 8..lay.l3 + 40)
    }
    .ok_or(OffloadError::Truncated)?;
    let len = u32::try_from(l4_len).map_err(|_| OffloadError::Truncated)?;
    let mut s = csum::add(csum::sum(addrs), u16::from(proto));
    for w in len.to_be_bytes().chunks_exact(2) {
        s = csum::add(s, u16::from_be_bytes([w[0], w[1]]));
    }
    Ok(s)
}

/// Fills in `pkt`'s partial L4 checksum (see [`Checksum::Partial`]) and marks it done.
/// Does nothing to a packet whose checksum is not partial.
///
/// # Errors
///
/// [`OffloadError::BadChecksumOffsets`] if the offsets lie outside the frame; the packet is
/// then unchanged.
pub fn finish_checksum(pkt: &mut Packet) -> Result<(), OffloadError> {
    let Checksum::Partial { start, offset } = pkt.offload.csum else {
        return Ok(());
    };
    let start = usize::from(start);
    let field = start + usize::from(offset);
    let data = pkt.data_mut();
    if field + 2 > data.len() {
        return Err(OffloadError::BadChecksumOffsets);
    }
    // The field holds the pseudo-header sum already.
    let mut c = checksum(&data[start..], 0);
    if c == 0 {
        // As Linux does (CSUM_MANGLED_0): 0 means "no checksum" for UDP.
        c = 0xffff;
    }
    put16(data, field, c);
    pkt.offload.csum = Checksum::Unknown;
    Ok(())
}

/// Cuts a GSO super-frame into segments of at most `gso.size` payload bytes, with full
/// headers and checksums, and hands them to `out` in order. A frame whose payload fits in
/// one segment comes out as one packet with its checksums filled in.
///
/// TCP (IPv4 and IPv6): the IPv4 total length, identification (incremented per segment) and
/// header checksum, or the IPv6 payload length, are rewritten; the sequence number advances
/// by the payload already sent; FIN and PSH stay only on the last segment and CWR only on
/// the first; the TCP checksum is computed in full. UDP L4 segmentation likewise, with each
/// segment's UDP length and checksum.
///
/// # Errors
///
/// [`OffloadError`] if the frame is not what its GSO type says; nothing is handed to `out`.
/// [`OffloadError::Unsupported`] for UDP fragmentation offload.
pub fn segment(pkt: &Packet, gso: &Gso, out: &mut dyn FnMut(Packet)) -> Result<(), OffloadError> {
    let proto = match gso.kind {
        GsoType::TcpV4 | GsoType::TcpV6 => IPPROTO_TCP,
        GsoType::UdpL4 => IPPROTO_UDP,
        GsoType::Udp => return Err(OffloadError::Unsupported),
    };
    let data = pkt.data();
    let lay = layout(data, proto)?;
    let mss = usize::from(gso.size);
    if mss == 0 {
        return Err(OffloadError::ZeroSegmentSize);
    }
    // The IP header's own length bounds the packet (Ethernet padding is not payload).
    let ip_end = if lay.ipv4 {
        lay.l3 + usize::from(be16(data, lay.l3 + 2)?)
    } else {
        lay.l3 + 40 + usize::from(be16(data, lay.l3 + 4)?)
    };
    // A super-frame's length fields may be 0 or stale; only a shorter value is believed.
    let end = if ip_end >= lay.payload && ip_end < data.len() {
        ip_end
    } else {
        data.len()
    };
    let payload = &data[lay.payload..end];
    let hdr = &data[..lay.payload];
    let n = payload.len().div_ceil(mss).max(1);
    let seq = if proto == IPPROTO_TCP {
        u32::from_be_bytes(
            data.get(lay.l4 + 4..lay.l4 + 8)
                .and_then(|b| b.try_into().ok())
                .ok_or(OffloadError::Truncated)?,
        )
    } else {
        0
    };
    let ip_id = if lay.ipv4 { be16(data, lay.l3 + 4)? } else { 0 };
    // Check the largest segment's length fields up front, so that nothing is handed to
    // `out` for a frame that fails half-way.
    let max_len = hdr.len() + mss.min(payload.len());
    if u16::try_from(max_len - lay.l3).is_err() {
        return Err(OffloadError::Truncated);
    }
    let ihl_end = if lay.ipv4 { lay.l4 } else { lay.l3 };
    let len16 = |v: usize| u16::try_from(v).unwrap_or(u16::MAX);
    let tail = [&payload[..0]];
    let chunks = payload
        .chunks(mss)
        .chain(tail.into_iter().filter(|_| payload.is_empty()));
    for (i, chunk) in chunks.enumerate() {
        let mut seg = Packet::with_capacity(hdr.len() + chunk.len());
        seg.extend_from_slice(hdr);
        seg.extend_from_slice(chunk);
        seg.md = pkt.md;
        seg.offload = Offload::default();
        let len = seg.len();
        let d = seg.data_mut();
        let l4_len = len - lay.l4;
        if lay.ipv4 {
            put16(d, lay.l3 + 2, len16(len - lay.l3));
            // The id wraps as in the kernel.
            let step = u16::try_from(i & 0xffff).unwrap_or(0);
            put16(d, lay.l3 + 4, ip_id.wrapping_add(step));
            put16(d, lay.l3 + 10, 0);
            let c = checksum(&d[lay.l3..ihl_end], 0);
            put16(d, lay.l3 + 10, c);
        } else {
            put16(d, lay.l3 + 4, len16(len - lay.l3 - 40));
        }
        let csum_at = if proto == IPPROTO_TCP {
            let off = u32::try_from(i.saturating_mul(mss) & 0xffff_ffff).unwrap_or(0);
            d[lay.l4 + 4..lay.l4 + 8].copy_from_slice(&seq.wrapping_add(off).to_be_bytes());
            let flags = &mut d[lay.l4 + 13];
            if i + 1 < n {
                *flags &= !(0x01 | 0x08); // FIN, PSH: last segment only
            }
            if i > 0 {
                *flags &= !0x80; // CWR: first segment only
            }
            lay.l4 + 16
        } else {
            put16(d, lay.l4 + 4, len16(l4_len));
            lay.l4 + 6
        };
        put16(d, csum_at, 0);
        let mut c = checksum(&d[lay.l4..], pseudo_sum(d, &lay, proto, l4_len)?);
        if c == 0 && proto == IPPROTO_UDP {
            c = 0xffff;
        }
        put16(d, csum_at, c);
        out(seg);
    }
    Ok(())
}

/// Whether `pkt` carries work that a device with `caps` cannot take.
pub fn needs_software(pkt: &Packet, caps: OffloadCaps) -> bool {
    match pkt.offload.gso {
        Some(gso) => {
            let need = match gso.kind {
                GsoType::TcpV4 | GsoType::TcpV6 => OffloadCaps::TX_TSO,
                GsoType::UdpL4 => OffloadCaps::TX_USO,
                // No device here takes UDP fragmentation offload; it is dropped.
                GsoType::Udp => return true,
            };
            !caps.contains(need | OffloadCaps::TX_CSUM)
        }
        None => {
            matches!(pkt.offload.csum, Checksum::Partial { .. })
                && !caps.contains(OffloadCaps::TX_CSUM)
        }
    }
}

/// Finishes in software, for a device that takes only `caps`, every offload the packets of
/// `batch` carry, and hands the result to `flush` in batches of at most
/// [`crate::MAX_BURST`] packets, in order. `flush` must empty the batch it is given.
///
/// When no packet needs work (the common case for a device that takes every offload),
/// `flush` gets `batch` itself and nothing is copied. A GSO super-frame becomes many
/// segments, so `flush` may be called several times.
///
/// Returns how many packets were dropped because their offloads could not be finished
/// (malformed frames); the caller counts them in `tx_dropped`. `batch` is empty on return.
pub fn finish_offloads(
    batch: &mut PacketBatch,
    caps: OffloadCaps,
    flush: &mut dyn FnMut(&mut PacketBatch),
) -> usize {
    if !batch.iter().any(|p| needs_software(p, caps)) {
        if !batch.is_empty() {
            flush(batch);
        }
        batch.clear();
        return 0;
    }
    let mut dropped = 0;
    let mut out = PacketBatch::new();
    let mut push = |pkt: Packet, out: &mut PacketBatch| {
        if let Err(pkt) = out.push(pkt) {
            flush(out);
            out.clear();
            let _ = out.push(pkt);
        }
    };
    for mut pkt in batch.drain() {
        if !needs_software(&pkt, caps) {
            push(pkt, &mut out);
            continue;
        }
        match pkt.offload.gso {
            Some(gso) => {
                let r = segment(&pkt, &gso, &mut |seg| push(seg, &mut out));
                match r {
                    Ok(()) => {}
                    Err(e) => {
                        tracing::debug!("dropping GSO frame: {e}");
                        dropped += 1;
                    }
                }
            }
            None => match finish_checksum(&mut pkt) {
                Ok(()) => push(pkt, &mut out),
                Err(e) => {
                    tracing::debug!("dropping frame: {e}");
                    dropped += 1;
                }
            },
        }
    }
    if !out.is_empty() {
        flush(&mut out);
    }
    dropped
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn tcp_gso_round_trip() {
        let h = VnetHdr {
            flags: VnetHdr::F_NEEDS_CSUM,
            gso_type: VnetHdr::GSO_TCPV4,
            hdr_len: 66,
            gso_size: 1448,
            csum_start: 34,
            csum_offset: 16,
        };
        let o = Offload::from_vnet(&h).unwrap();
        assert_eq!(
            o.csum,
            Checksum::Partial {
                start: 34,
                offset: 16
            }
        );
        assert_eq!(o.gso.unwrap().size, 1448);
        assert_eq!(o.to_vnet(), h);
        assert!(!o.is_done());
    }

    #[test]
    fn shift_moves_checksum_start() {
        let mut o = Offload {
            csum: Checksum::Partial {
                start: 34,
                offset: 16,
            },
            gso: None,
        };
        o.shift(4);
        assert_eq!(
            o.csum,
            Checksum::Partial {
                start: 38,
                offset: 16
            }
        );
        o.shift(-100);
        assert_eq!(
            o.csum,
            Checksum::Partial {
                start: 0,
                offset: 16
            }
        );
    }

    proptest! {
        #[test]
        fn vnet_bytes_round_trip(b in any::<[u8; 10]>()) {
            let h = VnetHdr::from_bytes(&b);
            prop_assert_eq!(h.to_bytes(), b);
            // Any header either parses to a state that writes back a header Linux accepts, or
            // is refused; never a panic.
            if let Some(o) = Offload::from_vnet(&h) {
                let again = Offload::from_vnet(&o.to_vnet());
                prop_assert_eq!(again, Some(o));
            }
        }
    }

    // ---- software offload fallback ----

    use crate::batch::PacketBatch;
    use crate::packet::Packet;
    use crate::provider::OffloadCaps;
    use etherparse::{NetSlice, SlicedPacket, TransportSlice};

    /// Builds an Ethernet frame carrying TCP (or UDP) over IPv4 or IPv6, with the L4
    /// checksum left partial as Linux leaves it (the pseudo-header sum in the field).
    #[allow(clippy::too_many_arguments)]
    fn build(
        ipv6: bool,
        vlan: bool,
        udp: bool,
        tcp_opts: usize,
        flags: u8,
        seq: u32,
        id: u16,
        payload: &[u8],
    ) -> (Vec<u8>, u16) {
        let mut f = vec![0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1];
        if vlan {
            f.extend_from_slice(&[0x81, 0x00, 0x00, 0x0a]);
        }
        f.extend_from_slice(if ipv6 { &[0x86, 0xdd] } else { &[0x08, 0x00] });
        let l3 = f.len();
        let l4_hdr = if udp { 8 } else { 20 + tcp_opts };
        let l4_len = l4_hdr + payload.len();
        let proto = if udp { 17 } else { 6 };
        if ipv6 {
            f.extend_from_slice(&[0x60, 0, 0, 0]);
            f.extend_from_slice(&u16::try_from(l4_len).unwrap().to_be_bytes());
            f.extend_from_slice(&[proto, 64]);
            f.extend_from_slice(&[0xfd; 16]);
            f.extend_from_slice(&[0xfe; 16]);
        } else {
            f.extend_from_slice(&[0x45, 0]);
            f.extend_from_slice(&u16::try_from(20 + l4_len).unwrap_or(0).to_be_bytes());
            f.extend_from_slice(&id.to_be_bytes());
            f.extend_from_slice(&[0x40, 0, 64, proto, 0, 0]);
            f.extend_from_slice(&[10, 0, 0, 1, 10, 0, 0, 2]);
        }
        let l4 = f.len();
        if udp {
            f.extend_from_slice(&[0x30, 0x39, 0x00, 0x35]);
            f.extend_from_slice(&u16::try_from(l4_len).unwrap_or(0).to_be_bytes());
            f.extend_from_slice(&[0, 0]);
        } else {
            f.extend_from_slice(&[0x30, 0x39, 0x00, 0x50]);
            f.extend_from_slice(&seq.to_be_bytes());
            f.extend_from_slice(&[0, 0, 0, 1]);
            f.push(u8::try_from((l4_hdr / 4) << 4).unwrap());
            f.push(flags);
            f.extend_from_slice(&[0xff, 0xff, 0, 0, 0, 0]);
            f.extend(std::iter::repeat_n(1u8, tcp_opts)); // NOPs
        }
        f.extend_from_slice(payload);
        // The pseudo-header sum, folded, not inverted: what CHECKSUM_PARTIAL leaves.
        let lay = layout(&f, proto).unwrap();
        let ps = pseudo_sum(&f, &lay, proto, l4_len).unwrap();
        let at = l4 + if udp { 6 } else { 16 };
        f[at..at + 2].copy_from_slice(&ps.to_be_bytes());
        if !ipv6 {
            let c = checksum(&f[l3..l3 + 20], 0);
            f[l3 + 10..l3 + 12].copy_from_slice(&c.to_be_bytes());
        }
        (f, u16::try_from(l4).unwrap())
    }

    /// Checks one segment with etherparse: IPv4 header checksum, L4 checksum, lengths.
    fn verify(seg: &[u8]) -> (Vec<u8>, Option<(u32, u8)>, Option<u16>) {
        let p = SlicedPacket::from_ethernet(seg).expect("segment parses");
        let (src4, dst4, src6, dst6, id) = match p.net.as_ref().expect("IP") {
            NetSlice::Ipv4(v4) => {
                let h = v4.header();
                assert_eq!(
                    h.to_header().calc_header_checksum(),
                    h.header_checksum(),
                    "IPv4 header checksum"
                );
                (
                    h.source(),
                    h.destination(),
                    [0; 16],
                    [0; 16],
                    Some(h.identification()),
                )
            }
            NetSlice::Ipv6(v6) => {
                let h = v6.header();
                (
                    Default::default(),
                    Default::default(),
                    h.source(),
                    h.destination(),
                    None,
                )
            }
            NetSlice::Arp(_) => panic!("not IP"),
        };
        match p.transport.expect("L4") {
            TransportSlice::Tcp(t) => {
                let want = if id.is_some() {
                    t.calc_checksum_ipv4(src4, dst4).unwrap()
                } else {
                    t.calc_checksum_ipv6(src6, dst6).unwrap()
                };
                assert_eq!(t.checksum(), want, "TCP checksum");
                (
                    t.payload().to_vec(),
                    Some((t.sequence_number(), seg_flags(&t))),
                    id,
                )
            }
            TransportSlice::Udp(u) => {
                let h = u.to_header();
                let want = if id.is_some() {
                    h.calc_checksum_ipv4_raw(src4, dst4, u.payload()).unwrap()
                } else {
                    h.calc_checksum_ipv6_raw(src6, dst6, u.payload()).unwrap()
                };
                assert_eq!(u.checksum(), want, "UDP checksum");
                assert_eq!(usize::from(u.length()), 8 + u.payload().len());
                (u.payload().to_vec(), None, id)
            }
            _ => panic!("not TCP or UDP"),
        }
    }

    fn seg_flags(t: &etherparse::TcpSlice<'_>) -> u8 {
        u8::from(t.fin()) | (u8::from(t.psh()) << 3) | (u8::from(t.cwr()) << 7)
    }

    #[test]
    fn partial_checksum_is_finished() {
        let (f, l4) = build(false, true, false, 0, 0x18, 1, 7, b"hello, world");
        let mut p = Packet::from_slice(&f);
        p.offload.csum = Checksum::Partial {
            start: l4,
            offset: 16,
        };
        finish_checksum(&mut p).unwrap();
        assert_eq!(p.offload.csum, Checksum::Unknown);
        verify(p.data());
        let mut bad = Packet::from_slice(&f[..30]);
        bad.offload.csum = Checksum::Partial {
            start: l4,
            offset: 16,
        };
        assert_eq!(
            finish_checksum(&mut bad),
            Err(OffloadError::BadChecksumOffsets)
        );
    }

    #[test]
    fn batch_without_work_is_passed_through() {
        let mut b = PacketBatch::new();
        b.push(Packet::from_slice(&[0; 60])).unwrap();
        let mut calls = 0;
        let dropped = finish_offloads(&mut b, OffloadCaps::empty(), &mut |out| {
            calls += 1;
            assert_eq!(out.len(), 1);
            out.clear();
        });
        assert_eq!((dropped, calls), (0, 1));
        assert!(b.is_empty());
    }

    #[test]
    fn super_frame_becomes_many_batches() {
        let payload: Vec<u8> = (0..60_000u32).map(|i| (i % 251) as u8).collect();
        let (f, l4) = build(false, false, false, 12, 0x19, 1000, 0xfffe, &payload);
        let mut p = Packet::from_slice(&f);
        p.offload = Offload {
            csum: Checksum::Partial {
                start: l4,
                offset: 16,
            },
            gso: Some(Gso {
                kind: GsoType::TcpV4,
                size: 1448,
                hdr_len: 0,
                ecn: false,
            }),
        };
        let mut b = PacketBatch::new();
        b.push(p).unwrap();
        b.push(Packet::from_slice(&[0xee; 60])).unwrap();
        let mut segs = Vec::new();
        let dropped = finish_offloads(&mut b, OffloadCaps::TX_CSUM, &mut |out| {
            assert!(out.len() <= crate::MAX_BURST);
            segs.extend(out.drain().map(|p| p.data().to_vec()));
        });
        assert_eq!(dropped, 0);
        assert_eq!(segs.len(), 60_000usize.div_ceil(1448) + 1);
        assert_eq!(segs.last().unwrap(), &vec![0xee; 60]);
        let mut all = Vec::new();
        for (i, s) in segs[..segs.len() - 1].iter().enumerate() {
            let (pl, tcp, id) = verify(s);
            let (seq, flags) = tcp.unwrap();
            assert_eq!(seq, 1000 + 1448 * u32::try_from(i).unwrap());
            assert_eq!(id, Some(0xfffeu16.wrapping_add(u16::try_from(i).unwrap())));
            let last = i == segs.len() - 2;
            assert_eq!(flags & 0x09 != 0, last, "FIN/PSH on the last segment only");
            all.extend(pl);
        }
        assert!(all == payload);
    }

    #[test]
    fn udp_fragmentation_offload_is_dropped() {
        let (f, _) = build(false, false, true, 0, 0, 0, 0, &[1; 3000]);
        let mut p = Packet::from_slice(&f);
        p.offload.gso = Some(Gso {
            kind: GsoType::Udp,
            size: 1400,
            hdr_len: 0,
            ecn: false,
        });
        let mut b = PacketBatch::new();
        b.push(p).unwrap();
        let dropped = finish_offloads(&mut b, OffloadCaps::all(), &mut |out| {
            assert!(out.is_empty(), "nothing is sent");
        });
        assert_eq!(dropped, 1);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn segments_reassemble_and_verify(
            ipv6 in any::<bool>(),
            vlan in any::<bool>(),
            udp in any::<bool>(),
            opts in prop::sample::select(vec![0usize, 4, 12, 40]),
            flags in any::<u8>(),
            seq in any::<u32>(),
            id in any::<u16>(),
            payload in prop::collection::vec(any::<u8>(), 0..6000),
            mss in 1u16..2000,
        ) {
            let (f, l4) = build(ipv6, vlan, udp, opts, flags, seq, id, &payload);
            let kind = match (udp, ipv6) {
                (true, _) => GsoType::UdpL4,
                (false, false) => GsoType::TcpV4,
                (false, true) => GsoType::TcpV6,
            };
            let mut p = Packet::from_slice(&f);
            p.offload = Offload {
                csum: Checksum::Partial { start: l4, offset: if udp { 6 } else { 16 } },
                gso: Some(Gso { kind, size: mss, hdr_len: 0, ecn: false }),
            };
            let mut segs = Vec::new();
            segment(&p, &p.offload.gso.unwrap(), &mut |s| segs.push(s)).unwrap();
            let n = segs.len();
            prop_assert_eq!(n, payload.len().div_ceil(usize::from(mss)).max(1));
            let mut all = Vec::new();
            for (i, s) in segs.iter().enumerate() {
                prop_assert!(s.offload.is_done());
                let (pl, tcp, ip_id) = verify(s.data());
                prop_assert!(pl.len() <= usize::from(mss));
                if i + 1 < n {
                    prop_assert_eq!(pl.len(), usize::from(mss));
                }
                if let Some((sseq, sflags)) = tcp {
                    let off = u32::try_from(i * usize::from(mss)).unwrap();
                    prop_assert_eq!(sseq, seq.wrapping_add(off));
                    let last = i + 1 == n;
                    prop_assert_eq!(sflags & 0x01 != 0, last && flags & 0x01 != 0, "FIN");
                    prop_assert_eq!(sflags & 0x08 != 0, last && flags & 0x08 != 0, "PSH");
                    prop_assert_eq!(sflags & 0x80 != 0, i == 0 && flags & 0x80 != 0, "CWR");
                }
                if let Some(ip_id) = ip_id {
                    prop_assert_eq!(ip_id, id.wrapping_add(u16::try_from(i).unwrap()));
                }
                all.extend(pl);
            }
            prop_assert!(all == payload, "segments reassemble to the payload");
        }

        #[test]
        fn arbitrary_bytes_never_panic(
            bytes in prop::collection::vec(any::<u8>(), 0..300),
            csum in any::<Option<(u16, u16)>>(),
            gso in any::<Option<(u8, u16, u16)>>(),
            caps in any::<u32>(),
        ) {
            let mut p = Packet::from_slice(&bytes);
            if let Some((start, offset)) = csum {
                p.offload.csum = Checksum::Partial { start: start % 400, offset: offset % 400 };
            }
            p.offload.gso = gso.map(|(k, size, hdr_len)| Gso {
                kind: [GsoType::TcpV4, GsoType::TcpV6, GsoType::Udp, GsoType::UdpL4][usize::from(k % 4)],
                size,
                hdr_len,
                ecn: k & 0x80 != 0,
            });
            let mut b = PacketBatch::new();
            b.push(p).unwrap();
            let mut out = 0;
            let _ = finish_offloads(&mut b, OffloadCaps::from_bits_truncate(caps), &mut |o| {
                out += o.len();
                o.clear();
            });
            prop_assert!(b.is_empty());
        }

        #[test]
        fn arbitrary_headers_with_real_shape_never_panic(
            ipv6 in any::<bool>(),
            udp in any::<bool>(),
            payload in prop::collection::vec(any::<u8>(), 0..200),
            corrupt in prop::collection::vec((0usize..120, any::<u8>()), 0..6),
            cut in 0usize..400,
            mss in 0u16..100,
        ) {
            let (mut f, l4) = build(ipv6, false, udp, 0, 0x10, 1, 1, &payload);
            for (at, v) in corrupt {
                if let Some(b) = f.get_mut(at) {
                    *b = v;
                }
            }
            f.truncate(cut.max(1));
            let mut p = Packet::from_slice(&f);
            let kind = if udp { GsoType::UdpL4 } else if ipv6 { GsoType::TcpV6 } else { GsoType::TcpV4 };
            p.offload = Offload {
                csum: Checksum::Partial { start: l4, offset: 16 },
                gso: Some(Gso { kind, size: mss, hdr_len: 0, ecn: false }),
            };
            let _ = segment(&p, &p.offload.gso.unwrap(), &mut |_| {});
            let _ = finish_checksum(&mut p);
        }
    }
}
