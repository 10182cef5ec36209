//! The exact-match cache (EMC) of a poll thread.
//!
//! [`EMC_ENTRIES`] entries, each holding a whole [`FlowKey`] and the rule it hit. A key may
//! live in two slots, chosen by two 13-bit pieces of its hash; a lookup compares the stored
//! hash, then the key word by word. Entries name a rule by id and generation; the poll
//! thread checks that the rule still lives before trusting a hit, so deleting a flow never
//! has to visit the cache.

use crate::odp::FlowKey;
use crate::odp::hash::{finish, mix};

/// Entries per poll thread (OVS's `EM_FLOW_HASH_ENTRIES`).
pub const EMC_ENTRIES: usize = 1 << 13;
const SHIFT: u32 = 13;
const MASK: u32 = (1 << SHIFT) - 1;
const NO_RULE: u32 = u32::MAX;

/// A 32-bit hash of a whole key, in four independent lanes so that it costs a quarter of a
/// sequential hash's latency.
#[inline]
pub fn key_hash(key: &FlowKey) -> u32 {
    let w = key.words();
    let mut a = 0x243f_6a88_85a3_08d3u64;
    let mut b = 0x1319_8a2e_0370_7344u64;
    let mut c = 0xa409_3822_299f_31d0u64;
    let mut d = 0x082e_fa98_ec4e_6c89u64;
    for q in w.chunks_exact(4) {
        a = mix(a, q[0]);
        b = mix(b, q[1]);
        c = mix(c, q[2]);
        d = mix(d, q[3]);
    }
    let h = finish(a ^ b.rotate_left(16) ^ c.rotate_left(32) ^ d.rotate_left(48));
    u32::try_from((h ^ (h >> 32)) & 0xffff_ffff).unwrap_or(0)
}

/// The small part of an entry, in a dense array (96 KiB) so that a probe that does not
/// match never touches the key.
#[derive(Clone, Copy)]
struct Meta {
    hash: u32,
    rule: u32,
    seq: u32,
}

const EMPTY_META: Meta = Meta {
    hash: 0,
    rule: NO_RULE,
    seq: 0,
};

/// A key on its own two cache lines.
#[derive(Clone, Copy)]
#[repr(align(64))]
struct Key(FlowKey);

/// The cache. About 1.1 MiB.
pub struct Emc {
    meta: Box<[Meta]>,
    keys: Box<[Key]>,
}

impl std::fmt::Debug for Emc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let used = self.meta.iter().filter(|m| m.rule != NO_RULE).count();
        f.debug_struct("Emc").field("used", &used).finish()
    }
}

impl Default for Emc {
    fn default() -> Self {
        Emc::new()
    }
}

#[inline(always)]
fn slots(hash: u32) -> [usize; 2] {
    let a = usize::try_from(hash & MASK).unwrap_or(0);
    let b = usize::try_from((hash >> SHIFT) & MASK).unwrap_or(0);
    [a, b]
}

impl Emc {
    /// Makes an empty cache.
    pub fn new() -> Self {
        Emc {
            meta: vec![EMPTY_META; EMC_ENTRIES].into_boxed_slice(),
            keys: vec![Key(FlowKey::zero()); EMC_ENTRIES].into_boxed_slice(),
        }
    }

    #[inline(always)]
    fn key_eq(&self, i: usize, key: &FlowKey) -> bool {
        self.keys.get(i).is_some_and(|k| k.0.words() == key.words())
    }

    /// Starts loading the key that a later [`Emc::lookup`] of `hash` will compare, so that
    /// the lookups of a batch wait for memory together rather than one after another.
    #[inline]
    pub fn prefetch(&self, hash: u32) {
        for i in slots(hash) {
            if self.meta.get(i).is_some_and(|m| m.hash == hash)
                && let Some(k) = self.keys.get(i)
            {
                let w = k.0.words();
                std::hint::black_box((w[0], w[FlowKey::N_WORDS - 1]));
            }
        }
    }

    /// The rule id and sequence number cached for `key` (whose [`key_hash`] is `hash`).
    #[inline]
    pub fn lookup(&self, hash: u32, key: &FlowKey) -> Option<(u32, u32)> {
        for i in slots(hash) {
            if let Some(m) = self.meta.get(i)
                && m.hash == hash
                && m.rule != NO_RULE
                && self.key_eq(i, key)
            {
                return Some((m.rule, m.seq));
            }
        }
        None
    }

    /// Caches `key` → (`rule`, `seq`). An entry for the same key is updated; otherwise an
    /// empty slot, or one whose rule `alive` says is gone, or else the slot with the lower
    /// stored hash (a cheap coin) is replaced.
    pub fn insert(
        &mut self,
        hash: u32,
        key: &FlowKey,
        rule: u32,
        seq: u32,
        alive: impl Fn(u32, u32) -> bool,
    ) {
        let [a, b] = slots(hash);
        for i in [a, b] {
            let same =
                self.meta[i].rule != NO_RULE && self.meta[i].hash == hash && self.key_eq(i, key);
            if same {
                self.meta[i].rule = rule;
                self.meta[i].seq = seq;
                return;
            }
        }
        let (ma, mb) = (self.meta[a], self.meta[b]);
        let dead = |m: &Meta| m.rule == NO_RULE || !alive(m.rule, m.seq);
        let victim = if dead(&ma) {
            a
        } else if dead(&mb) || mb.hash < ma.hash {
            b
        } else {
            a
        };
        self.meta[victim] = Meta { hash, rule, seq };
        self.keys[victim] = Key(*key);
    }

    /// Drops the entry for `key`, if cached.
    pub fn remove(&mut self, hash: u32, key: &FlowKey) {
        for i in slots(hash) {
            if self.meta[i].hash == hash && self.key_eq(i, key) {
                self.meta[i] = EMPTY_META;
            }
        }
    }

    /// Empties entries `start..start + n` whose rule `alive` says is gone (a slow sweep,
    /// a slice at a time). Returns where the next sweep should start.
    pub fn sweep(&mut self, start: usize, n: usize, alive: impl Fn(u32, u32) -> bool) -> usize {
        let start = start % EMC_ENTRIES;
        let end = (start + n).min(EMC_ENTRIES);
        for m in &mut self.meta[start..end] {
            if m.rule != NO_RULE && !alive(m.rule, m.seq) {
                *m = EMPTY_META;
            }
        }
        end % EMC_ENTRIES
    }

    /// Empties the cache.
    pub fn clear(&mut self) {
        self.meta.fill(EMPTY_META);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(i: u32) -> FlowKey {
        let mut k = FlowKey::zero();
        k.in_port = 1;
        k.ipv4_dst = i.to_be_bytes();
        k
    }

    #[test]
    fn insert_lookup_replace() {
        let mut emc = Emc::new();
        let all = |_, _| true;
        let h = key_hash(&k(1));
        assert_eq!(emc.lookup(h, &k(1)), None);
        emc.insert(h, &k(1), 5, 1, all);
        assert_eq!(emc.lookup(h, &k(1)), Some((5, 1)));
        assert_eq!(emc.lookup(h, &k(2)), None, "same hash, other key");
        emc.insert(h, &k(1), 6, 2, all);
        assert_eq!(emc.lookup(h, &k(1)), Some((6, 2)));
        emc.remove(h, &k(1));
        assert_eq!(emc.lookup(h, &k(1)), None);
    }

    #[test]
    fn two_ways_then_eviction_prefers_dead() {
        let mut emc = Emc::new();
        // Three keys forced onto the same two slots.
        let h = 0x0000_2001; // slots 1 and 1
        let h2 = (2 << SHIFT) | 1; // slots 1 and 2
        emc.insert(h, &k(1), 1, 0, |_, _| true);
        emc.insert(h2, &k(2), 2, 0, |_, _| true);
        assert_eq!(
            emc.lookup(h, &k(1)),
            Some((1, 0)),
            "k2 took its empty slot 2"
        );
        assert_eq!(emc.lookup(h2, &k(2)), Some((2, 0)));
        emc.insert(h2, &k(3), 3, 0, |r, _| r != 2);
        assert_eq!(emc.lookup(h2, &k(3)), Some((3, 0)));
        assert_eq!(
            emc.lookup(h, &k(1)),
            Some((1, 0)),
            "the dead entry went, not k1"
        );
        assert_eq!(emc.sweep(0, EMC_ENTRIES, |r, _| r != 3), 0);
        assert_eq!(emc.lookup(h2, &k(3)), None);
    }

    #[test]
    fn hash_spreads() {
        let mut seen = std::collections::HashSet::new();
        for i in 0..10_000 {
            seen.insert(key_hash(&k(i)) & MASK);
        }
        assert!(seen.len() > 5000, "{}", seen.len());
    }
}
