//! Checksums for packet rewriting: the Internet checksum (RFC 1071) with incremental updates
//! (RFC 1624), and CRC32c for SCTP (RFC 4960 appendix B).
//!
//! Two states of a TCP/UDP checksum field matter here:
//!
//! * *full*: the field holds the one's complement of the one's complement sum of the pseudo
//!   header and the L4 segment. Changing covered data updates it with [`update`]
//!   (RFC 1624 equation 3: `HC' = ~(~HC + ~m + m')`).
//! * *partial* ([`crate::Checksum::Partial`], Linux's `CHECKSUM_PARTIAL`): the field holds the
//!   folded, **not** complemented, sum of the pseudo header only; whoever sends the packet
//!   sums the segment and writes the complement. Changing the pseudo header (an address)
//!   updates it with [`update_partial`] (`S' = S + ~m + m'`); changing the segment itself
//!   (ports, ICMP type) needs nothing, since that data is summed later.
//!
//! Values are 16-bit words in host order, as read with `u16::from_be_bytes` from the packet.
//! Nothing here panics.

/// The one's complement sum of `data`, read as big-endian 16-bit words (an odd last byte is
/// padded with zero), folded to 16 bits. The result is never 0 unless every byte is 0.
pub fn sum(data: &[u8]) -> u16 {
    let mut acc: u64 = 0;
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        if let Ok(w) = <[u8; 8]>::try_from(c) {
            // Add the 64-bit word as four 16-bit words: fold the two halves with carries.
            let w = u64::from_be_bytes(w);
            let (s, carry) = acc.overflowing_add(w);
            acc = s + u64::from(carry);
        }
    }
    let mut rest = chunks.remainder().chunks_exact(2);
    for c in &mut rest {
        acc = add64(acc, u64::from(u16::from_be_bytes([c[0], c[1]])));
    }
    if let [b] = rest.remainder() {
        acc = add64(acc, u64::from(*b) << 8);
    }
    fold64(acc)
}

#[inline(always)]
fn add64(a: u64, b: u64) -> u64 {
    let (s, carry) = a.overflowing_add(b);
    s + u64::from(carry)
}

/// Folds a 64-bit one's complement accumulator to 16 bits.
#[inline]
fn fold64(mut acc: u64) -> u16 {
    acc = (acc & 0xffff_ffff) + (acc >> 32);
    acc = (acc & 0xffff_ffff) + (acc >> 32);
    let mut s = (acc & 0xffff) + (acc >> 16);
    s = (s & 0xffff) + (s >> 16);
    s = (s & 0xffff) + (s >> 16);
    // Folding twice more leaves at most 16 bits.
    u16::try_from(s & 0xffff).unwrap_or(0)
}

/// One's complement addition of two 16-bit words.
#[inline]
pub fn add(a: u16, b: u16) -> u16 {
    let (s, carry) = a.overflowing_add(b);
    s.wrapping_add(u16::from(carry))
}

/// The Internet checksum of `data`: the complement of [`sum`].
#[inline]
pub fn checksum(data: &[u8]) -> u16 {
    !sum(data)
}

/// Adds the words of `old` complemented and the words of `new` to `acc`. `old` and `new`
/// have the same, even length (addresses: 4, 6 or 16 bytes).
#[inline]
fn swap_words(mut acc: u16, old: &[u8], new: &[u8]) -> u16 {
    for (o, n) in old.chunks_exact(2).zip(new.chunks_exact(2)) {
        acc = add(acc, !u16::from_be_bytes([o[0], o[1]]));
        acc = add(acc, u16::from_be_bytes([n[0], n[1]]));
    }
    acc
}

/// Updates a full checksum `csum` after the covered 16-bit word `old` became `new`
/// (RFC 1624 equation 3).
#[inline]
pub fn update16(csum: u16, old: u16, new: u16) -> u16 {
    !add(add(!csum, !old), new)
}

/// Updates a full checksum `csum` after the covered bytes `old` became `new` (same even
/// length, starting at an even offset of the covered data).
#[inline]
pub fn update(csum: u16, old: &[u8], new: &[u8]) -> u16 {
    !swap_words(!csum, old, new)
}

/// Updates a *partial* checksum (the non-complemented pseudo-header sum) after pseudo-header
/// bytes `old` became `new`.
#[inline]
pub fn update_partial(sum: u16, old: &[u8], new: &[u8]) -> u16 {
    swap_words(sum, old, new)
}

/// The folded, non-complemented sum of the IPv4 pseudo header for an L4 segment of `len`
/// bytes with protocol `proto`.
pub fn pseudo_ipv4(src: [u8; 4], dst: [u8; 4], proto: u8, len: u16) -> u16 {
    let mut s = sum(&src);
    s = add(s, sum(&dst));
    s = add(s, u16::from(proto));
    add(s, len)
}

/// The folded, non-complemented sum of the IPv6 pseudo header for an upper-layer packet of
/// `len` bytes with next header `proto`.
pub fn pseudo_ipv6(src: &[u8; 16], dst: &[u8; 16], proto: u8, len: u32) -> u16 {
    let mut s = add(sum(src), sum(dst));
    for w in len.to_be_bytes().chunks_exact(2) {
        s = add(s, u16::from_be_bytes([w[0], w[1]]));
    }
    add(s, u16::from(proto))
}

/// The CRC32c (Castagnoli) lookup table, reflected polynomial 0x82f63b78.
const CRC32C_TABLE: [u32; 256] = {
    let mut t = [0u32; 256];
    let mut i = 0;
    let mut n: u32 = 0;
    while i < 256 {
        let mut c = n;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                (c >> 1) ^ 0x82f6_3b78
            } else {
                c >> 1
            };
            k += 1;
        }
        t[i] = c;
        i += 1;
        n += 1;
    }
    t
};

/// The CRC32c of `data` (initial value and final xor all ones), as SCTP and iSCSI use it.
/// SCTP stores it in the packet in little-endian byte order (`to_le_bytes`).
pub fn crc32c(data: &[u8]) -> u32 {
    let mut c = !0u32;
    for &b in data {
        let i = usize::from(c.to_le_bytes()[0] ^ b);
        c = (c >> 8) ^ CRC32C_TABLE[i];
    }
    !c
}

#[cfg(test)]
#[allow(clippy::cast_possible_truncation)] // Test packets are far below 64 KiB.
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A plain RFC 1071 sum, word by word, for cross-checking.
    fn naive_sum(data: &[u8]) -> u16 {
        let mut acc: u32 = 0;
        for c in data.chunks(2) {
            let w = u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]);
            acc += u32::from(w);
            acc = (acc & 0xffff) + (acc >> 16);
        }
        acc as u16
    }

    #[test]
    fn rfc1071_example() {
        // RFC 1071 section 3: the sum of 00 01 f2 03 f4 f5 f6 f7 is ddf2.
        assert_eq!(
            sum(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]),
            0xddf2
        );
        assert_eq!(
            checksum(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]),
            0x220d
        );
        assert_eq!(sum(&[]), 0);
        assert_eq!(sum(&[0xab]), 0xab00);
    }

    #[test]
    fn ipv4_header_checksum_matches_etherparse() {
        let mut h = etherparse::Ipv4Header::new(
            100,
            64,
            etherparse::IpNumber::TCP,
            [192, 168, 1, 1],
            [10, 0, 0, 255],
        )
        .unwrap();
        h.identification = 0x1234;
        let expect = h.calc_header_checksum();
        h.header_checksum = 0;
        assert_eq!(checksum(&h.to_bytes()), expect);
    }

    #[test]
    fn crc32c_vectors() {
        // RFC 3720 B.4: 32 bytes of zeros, of ones, and "123456789" (the standard check).
        assert_eq!(crc32c(&[0u8; 32]), 0x8a91_36aa);
        assert_eq!(crc32c(&[0xffu8; 32]), 0x62a8_ab43);
        assert_eq!(crc32c(b"123456789"), 0xe306_9283);
        let inc: Vec<u8> = (0..32).collect();
        assert_eq!(crc32c(&inc), 0x46dd_794e);
    }

    proptest! {
        #[test]
        fn sum_matches_naive(data in proptest::collection::vec(any::<u8>(), 0..300)) {
            let a = sum(&data);
            let b = naive_sum(&data);
            // 0x0000 and 0xffff are the same number in one's complement; only all-zero data
            // sums to 0.
            prop_assert!(a == b || (a == 0xffff && b == 0) || (a == 0 && b == 0xffff), "{a:#x} {b:#x}");
        }

        #[test]
        fn incremental_update_matches_recompute(
            mut data in proptest::collection::vec(any::<u8>(), 2..200),
            at in any::<prop::sample::Index>(),
            new in any::<[u8; 4]>(),
        ) {
            let len = data.len() & !1;
            let i = at.index(len.max(2) / 2).min(len.saturating_sub(4) / 2) * 2;
            let n = 4.min(len - i);
            let csum = checksum(&data);
            let old = data[i..i + n].to_vec();
            data[i..i + n].copy_from_slice(&new[..n]);
            let c2 = update(csum, &old, &new[..n]);
            // The updated checksum verifies: summing data and checksum gives all ones.
            prop_assert_eq!(add(sum(&data), c2), 0xffff);
        }

        #[test]
        fn partial_update_matches_recompute(
            src in any::<[u8; 4]>(), dst in any::<[u8; 4]>(), new in any::<[u8; 4]>(),
            len in any::<u16>(),
        ) {
            let s = pseudo_ipv4(src, dst, 6, len);
            let s2 = update_partial(s, &src, &new);
            let want = pseudo_ipv4(new, dst, 6, len);
            prop_assert!(s2 == want || (s2 ^ want) == 0xffff, "{s2:#x} {want:#x}");
        }

        #[test]
        fn tcp_checksum_matches_etherparse(
            src in any::<[u8; 4]>(), dst in any::<[u8; 4]>(),
            sp in any::<u16>(), dp in any::<u16>(), seq in any::<u32>(),
            payload in proptest::collection::vec(any::<u8>(), 0..100),
        ) {
            let ip = etherparse::Ipv4Header::new(
                (20 + payload.len()) as u16, 64, etherparse::IpNumber::TCP, src, dst).unwrap();
            let mut tcp = etherparse::TcpHeader::new(sp, dp, seq, 1000);
            let expect = tcp.calc_checksum_ipv4(&ip, &payload).unwrap();
            tcp.checksum = 0;
            let mut seg = tcp.to_bytes().to_vec();
            seg.extend_from_slice(&payload);
            let pseudo = pseudo_ipv4(src, dst, 6, seg.len() as u16);
            prop_assert_eq!(!add(pseudo, sum(&seg)), expect);
        }

        #[test]
        fn udp6_checksum_matches_etherparse(
            src in any::<[u8; 16]>(), dst in any::<[u8; 16]>(),
            sp in any::<u16>(), dp in any::<u16>(),
            payload in proptest::collection::vec(any::<u8>(), 0..100),
        ) {
            let ip = etherparse::Ipv6Header {
                traffic_class: 0,
                flow_label: Default::default(),
                payload_length: (8 + payload.len()) as u16,
                next_header: etherparse::IpNumber::UDP,
                hop_limit: 64,
                source: src,
                destination: dst,
            };
            let udp = etherparse::UdpHeader::with_ipv6_checksum(sp, dp, &ip, &payload).unwrap();
            let mut seg = udp.to_bytes().to_vec();
            seg[6] = 0;
            seg[7] = 0;
            seg.extend_from_slice(&payload);
            let pseudo = pseudo_ipv6(&src, &dst, 17, seg.len() as u32);
            let mut c = !add(pseudo, sum(&seg));
            if c == 0 {
                c = 0xffff;
            }
            prop_assert_eq!(c, udp.checksum);
        }

        #[test]
        fn crc32c_matches_bitwise(data in proptest::collection::vec(any::<u8>(), 0..100)) {
            let mut c = !0u32;
            for &b in &data {
                c ^= u32::from(b);
                for _ in 0..8 {
                    c = if c & 1 != 0 { (c >> 1) ^ 0x82f6_3b78 } else { c >> 1 };
                }
            }
            prop_assert_eq!(crc32c(&data), !c);
        }
    }
}
