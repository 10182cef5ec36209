//! Offload state that travels with a packet: a checksum left for someone else to finish,
//! and GSO super-frames that someone must cut into MTU-sized segments.
//!
//! Linux hands these to an `AF_PACKET` socket or a TAP device with `PACKET_VNET_HDR` /
//! `IFF_VNET_HDR` as a `struct virtio_net_hdr` ([`VnetHdr`]) in front of each frame, and
//! takes them back the same way on transmit. Carrying them through the switch is what lets
//! TCP cross it with the hosts' default offloads on: the sender's checksums arrive unfilled
//! and its segments arrive as 64 KiB super-frames, and the output port (or the receiving
//! host's stack) finishes the job.

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
