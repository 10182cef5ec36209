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

/// Adds `data` as big-endian 16-bit words to a one's complement sum (not yet folded).
fn sum16(data: &[u8], init: u64) -> u64 {
    let mut sum = init;
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        let w = u64::from_be_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        sum += (w >> 48) + ((w >> 32) & 0xffff) + ((w >> 16) & 0xffff) + (w & 0xffff);
    }
    let mut words = chunks.remainder().chunks_exact(2);
    for w in &mut words {
        sum += u64::from(u16::from_be_bytes([w[0], w[1]]));
    }
    if let [last] = words.remainder() {
        sum += u64::from(*last) << 8;
    }
    sum
}

/// Folds a one's complement sum to 16 bits.
fn fold(mut sum: u64) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    // The loop leaves at most 16 bits.
    u16::try_from(sum).unwrap_or(0xffff)
}

/// The one's complement checksum of `data` on top of `init`, as written in a header.
fn checksum(data: &[u8], init: u64) -> u16 {
    !fold(sum16(data, init))
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

/// The pseudo-header sum of an L4 segment of `l4_len` bytes.
fn pseudo_sum(d: &[u8], lay: &Layout, proto: u8, l4_len: usize) -> Result<u64, OffloadError> {
    let addrs = if lay.ipv4 {
        d.get(lay.l3 + 12..lay.l3 + 20)
    } else {
        d.get(lay.l3 + 8..lay.l3 + 40)
    }
    .ok_or(OffloadError::Truncated)?;
    let len = u64::try_from(l4_len).map_err(|_| OffloadError::Truncated)?;
    Ok(sum16(
        addrs,
        u64::from(proto) + (len & 0xffff) + (len >> 16),
    ))
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
}
