//! The hash used for flow keys, UFIDs and hash tables of the datapath.
//!
//! A multiply-rotate word mixer with a strong finalizer: fast on 64-bit words, good enough
//! spread for hash tables and 1/2^64 collision odds between two random keys. Not keyed and
//! not for adversaries: the classifier copes with collisions by comparing whole keys.

/// Mixes one word into a running hash.
#[inline(always)]
pub fn mix(h: u64, w: u64) -> u64 {
    (h ^ w).wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(29)
}

/// Finishes a running hash (the murmur3 64-bit finalizer).
#[inline(always)]
pub fn finish(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// Hashes a slice of words with a basis.
#[inline]
pub fn hash_words(words: &[u64], basis: u64) -> u64 {
    let mut h = basis ^ (words.len() as u64);
    for &w in words {
        h = mix(h, w);
    }
    finish(h)
}

/// Hashes bytes (in 8-byte little-endian words, the tail zero-padded) with a basis.
pub fn hash_bytes(bytes: &[u8], basis: u64) -> u64 {
    let mut h = basis ^ (bytes.len() as u64);
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        h = mix(h, u64::from_le_bytes(w));
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut w = [0u8; 8];
        w[..rest.len()].copy_from_slice(rest);
        h = mix(h, u64::from_le_bytes(w));
    }
    finish(h)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn distinct_inputs_spread() {
        let mut seen = HashSet::new();
        let mut buckets = [0u32; 256];
        for i in 0..65_536u64 {
            let h = hash_words(&[i, 0, 0], 0);
            assert!(seen.insert(h));
            buckets[(h & 0xff) as usize] += 1;
        }
        // 256 expected per bucket; a decent hash stays well within +-40%.
        assert!(
            buckets.iter().all(|&n| (154..=358).contains(&n)),
            "{buckets:?}"
        );
    }

    #[test]
    fn basis_and_length_matter() {
        assert_ne!(hash_words(&[1], 0), hash_words(&[1], 1));
        assert_ne!(hash_words(&[0], 0), hash_words(&[0, 0], 0));
        assert_ne!(hash_bytes(b"abc", 0), hash_bytes(b"abd", 0));
    }
}
