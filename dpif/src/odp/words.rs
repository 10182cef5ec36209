//! The word view of [`FlowKey`]: the only `unsafe` code of the flow model.
//!
//! `FlowKey` is `#[repr(C, align(8))]`, 128 bytes, made only of integers and integer arrays
//! laid end to end with no padding (checked field by field below, at compile time). Every
//! byte is therefore initialized, and every bit pattern is a valid `FlowKey`, so viewing it
//! as `[u64; N_WORDS]` (same size, alignment 8) is sound both ways.

use std::mem::{align_of, offset_of, size_of, size_of_val};

use super::key::{FlowKey, Vlan};

const N: usize = FlowKey::N_WORDS;

macro_rules! contiguous {
    ($first:ident $(, $next:ident)*) => {
        contiguous!(@pairs $first $(, $next)*);
    };
    (@pairs $a:ident, $b:ident $(, $rest:ident)*) => {
        const _: () = assert!(
            offset_of!(FlowKey, $a) + size_of_val(&K.$a) == offset_of!(FlowKey, $b)
        );
        contiguous!(@pairs $b $(, $rest)*);
    };
    (@pairs $last:ident) => {
        const _: () = assert!(
            offset_of!(FlowKey, $last) + size_of_val(&K.$last) == size_of::<FlowKey>()
        );
    };
}

const K: FlowKey = FlowKey::zero();

const _: () = assert!(size_of::<FlowKey>() == 8 * N);
const _: () = assert!(align_of::<FlowKey>() == align_of::<[u64; N]>());
const _: () = assert!(offset_of!(FlowKey, recirc_id) == 0);
const _: () = assert!(size_of::<Vlan>() == 4 && offset_of!(Vlan, tci) == 2);
contiguous!(
    recirc_id,
    dp_hash,
    in_port,
    skb_priority,
    skb_mark,
    packet_type,
    eth_src,
    eth_dst,
    vlans,
    eth_type,
    nw_proto,
    nw_tos,
    nw_ttl,
    nw_frag,
    tp_src,
    tp_dst,
    tcp_flags,
    ipv4_src,
    ipv4_dst,
    ipv6_label,
    arp_sha,
    arp_tha,
    ipv6_src,
    ipv6_dst,
    nd_target
);

impl FlowKey {
    /// The key as 64-bit words.
    #[inline]
    pub fn words(&self) -> &[u64; N] {
        // SAFETY: same size and alignment, no padding, every byte initialized (see the module
        // docs and the compile-time checks above).
        unsafe { &*(self as *const FlowKey).cast::<[u64; N]>() }
    }

    /// The key as 64-bit words, writable.
    #[inline]
    pub fn words_mut(&mut self) -> &mut [u64; N] {
        // SAFETY: as for `words`; in addition every bit pattern is a valid `FlowKey`, because
        // all its fields are plain integers, so any write through the words leaves a valid key.
        unsafe { &mut *(self as *mut FlowKey).cast::<[u64; N]>() }
    }

    /// Builds a key from its words.
    #[inline]
    pub fn from_words(words: &[u64; N]) -> FlowKey {
        let mut k = FlowKey::zero();
        *k.words_mut() = *words;
        k
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_see_the_fields() {
        let mut k = FlowKey::zero();
        k.recirc_id = 0x0102_0304;
        assert_eq!(
            k.words()[0].to_ne_bytes()[..4],
            0x0102_0304u32.to_ne_bytes()
        );
        k.nd_target[15] = 0xaa;
        assert_eq!(k.words()[N - 1].to_ne_bytes()[7], 0xaa);
        let back = FlowKey::from_words(k.words());
        assert_eq!(back, k);
    }
}
