//! dpcls: the megaflow classifier of the userspace datapath (tuple space search).
//!
//! A megaflow is a key and a mask ([`FlowKey`] both). Flows that share a mask live in one
//! *subtable*: a hash table keyed by the masked key. A subtable knows which 64-bit words of
//! its mask are not zero, and hashes and compares only those words. Looking a packet up
//! means looking it up in each subtable in turn, until one holds its masked key.
//!
//! The datapath never holds two flows that both match one packet (the upper layer installs
//! non-overlapping megaflows, and the datapath refuses a flow whose key an existing flow
//! matches), so the first hit is *the* answer and the order of the subtables only decides
//! how fast it is found: subtables are ranked by how many hits they had since the last
//! [`Dpcls::optimize`], which the poll threads call every second, as OVS does.
//!
//! Rules are identified by a [`RuleId`] that the owner of the classifier chooses; the
//! classifier stores the masked key words next to each id, so a lookup reads no other
//! memory.
//!
//! Nothing here allocates during a lookup, and nothing panics.

use crate::odp::FlowKey;
use crate::odp::hash::{finish, mix};

const N: usize = FlowKey::N_WORDS;

/// The identifier of a rule in a [`Dpcls`], chosen by its owner.
pub type RuleId = u32;

/// The most keys [`Dpcls::lookup_batch`] looks up at once.
pub const BATCH: usize = 32;

/// An empty slot of a subtable's hash table.
const EMPTY: u64 = 0;

#[inline(always)]
fn lo32(x: u64) -> u32 {
    u32::try_from(x & 0xffff_ffff).unwrap_or(0)
}

#[inline(always)]
fn to_usize(x: u32) -> usize {
    usize::try_from(x).unwrap_or(usize::MAX)
}

/// One mask and the rules that use it.
///
/// The hash table is open addressing with linear probing, at most half full. A slot is one
/// `u64`: the low 32 bits of the rule's hash (which also give its home position), and in
/// the high 32 bits the index of the rule's entry plus one (0 is an empty slot). Entries
/// are dense arrays: the masked key words (`n` per entry), the hash, the rule id.
#[derive(Clone, Debug)]
struct Subtable {
    mask: FlowKey,
    /// Indices of the non-zero mask words (first `n`).
    idx: [u8; N],
    /// The non-zero mask words (first `n`).
    mw: [u64; N],
    n: usize,
    slots: Vec<u64>,
    keys: Vec<u64>,
    hashes: Vec<u32>,
    ids: Vec<RuleId>,
    hits: u64,
}

impl Subtable {
    fn new(mask: &FlowKey) -> Self {
        let mut idx = [0u8; N];
        let mut mw = [0u64; N];
        let mut n = 0;
        for (i, &w) in mask.words().iter().enumerate() {
            if w != 0 {
                idx[n] = u8::try_from(i).unwrap_or(0);
                mw[n] = w;
                n += 1;
            }
        }
        Subtable {
            mask: *mask,
            idx,
            mw,
            n,
            slots: vec![EMPTY; 8],
            keys: Vec::new(),
            hashes: Vec::new(),
            ids: Vec::new(),
            hits: 0,
        }
    }

    #[inline(always)]
    fn word(&self, words: &[u64; N], j: usize) -> u64 {
        words[usize::from(self.idx[j] & 15)] & self.mw[j]
    }

    /// The hash of `words` masked by this subtable's mask.
    #[inline]
    fn hash(&self, words: &[u64; N]) -> u64 {
        let mut h = self.n as u64;
        for j in 0..self.n {
            h = mix(h, self.word(words, j));
        }
        finish(h)
    }

    #[inline(always)]
    fn cap_mask(&self) -> usize {
        self.slots.len() - 1
    }

    #[inline]
    fn entry_matches(&self, e: usize, words: &[u64; N]) -> bool {
        let base = e * self.n;
        match self.keys.get(base..base + self.n) {
            Some(stored) => stored
                .iter()
                .enumerate()
                .all(|(j, &s)| s == self.word(words, j)),
            None => false,
        }
    }

    /// The rule whose masked key equals `words` masked, given `h = self.hash(words)`.
    #[inline]
    fn find(&self, h: u64, words: &[u64; N]) -> Option<RuleId> {
        let tag = lo32(h);
        let cap_mask = self.cap_mask();
        let mut pos = to_usize(tag) & cap_mask;
        loop {
            let s = *self.slots.get(pos)?;
            if s == EMPTY {
                return None;
            }
            if lo32(s) == tag {
                let e = to_usize(lo32(s >> 32)).wrapping_sub(1);
                if self.entry_matches(e, words) {
                    return self.ids.get(e).copied();
                }
            }
            pos = (pos + 1) & cap_mask;
        }
    }

    /// The slot that holds entry `e`, whose hash is `tag`.
    fn slot_of(&self, tag: u32, e: usize) -> Option<usize> {
        let cap_mask = self.cap_mask();
        let mut pos = to_usize(tag) & cap_mask;
        for _ in 0..self.slots.len() {
            let s = self.slots[pos];
            if s == EMPTY {
                return None;
            }
            if to_usize(lo32(s >> 32)) == e + 1 {
                return Some(pos);
            }
            pos = (pos + 1) & cap_mask;
        }
        None
    }

    fn place(slots: &mut [u64], tag: u32, e: usize) {
        let cap_mask = slots.len() - 1;
        let mut pos = to_usize(tag) & cap_mask;
        while slots[pos] != EMPTY {
            pos = (pos + 1) & cap_mask;
        }
        slots[pos] = u64::from(tag) | ((e as u64 + 1) << 32);
    }

    fn grow_if_needed(&mut self) {
        if (self.ids.len() + 1) * 2 <= self.slots.len() {
            return;
        }
        let mut slots = vec![EMPTY; self.slots.len() * 2];
        for (e, &tag) in self.hashes.iter().enumerate() {
            Self::place(&mut slots, tag, e);
        }
        self.slots = slots;
    }

    /// Adds a rule. Returns false (adding nothing) if a rule with the same masked key is
    /// here already, or the subtable is full (2^32 - 2 rules).
    fn insert(&mut self, words: &[u64; N], id: RuleId) -> bool {
        let h = self.hash(words);
        if self.find(h, words).is_some() || self.ids.len() >= (u32::MAX - 1) as usize {
            return false;
        }
        self.grow_if_needed();
        let e = self.ids.len();
        for j in 0..self.n {
            let w = self.word(words, j);
            self.keys.push(w);
        }
        let tag = lo32(h);
        self.hashes.push(tag);
        self.ids.push(id);
        Self::place(&mut self.slots, tag, e);
        true
    }

    /// Removes rule `id` whose key is `words`. Returns whether it was here.
    fn remove(&mut self, words: &[u64; N], id: RuleId) -> bool {
        let tag = lo32(self.hash(words));
        let cap_mask = self.cap_mask();
        let mut pos = to_usize(tag) & cap_mask;
        let mut found = None;
        for _ in 0..self.slots.len() {
            let s = self.slots[pos];
            if s == EMPTY {
                break;
            }
            let e = to_usize(lo32(s >> 32)).wrapping_sub(1);
            if lo32(s) == tag && self.ids.get(e) == Some(&id) && self.entry_matches(e, words) {
                found = Some((pos, e));
                break;
            }
            pos = (pos + 1) & cap_mask;
        }
        let Some((pos, e)) = found else {
            return false;
        };
        self.delete_slot(pos);
        // Move the last entry into the hole and repoint its slot.
        let last = self.ids.len() - 1;
        if e != last {
            let last_tag = self.hashes[last];
            if let Some(p) = self.slot_of(last_tag, last) {
                self.slots[p] = u64::from(last_tag) | ((e as u64 + 1) << 32);
            }
            let n = self.n;
            self.keys.copy_within(last * n..last * n + n, e * n);
        }
        self.keys.truncate(last * self.n);
        self.hashes.swap_remove(e);
        self.ids.swap_remove(e);
        true
    }

    /// Empties slot `pos` by shifting back the slots after it that are not at home
    /// (deletion without tombstones in linear probing).
    fn delete_slot(&mut self, mut hole: usize) {
        let cap_mask = self.cap_mask();
        let mut pos = hole;
        loop {
            pos = (pos + 1) & cap_mask;
            let s = self.slots[pos];
            if s == EMPTY {
                break;
            }
            let home = to_usize(lo32(s)) & cap_mask;
            // Move `s` into the hole if its home is not in (hole, pos] (cyclically).
            let dist_home = pos.wrapping_sub(home) & cap_mask;
            let dist_hole = pos.wrapping_sub(hole) & cap_mask;
            if dist_home >= dist_hole {
                self.slots[hole] = s;
                hole = pos;
            }
        }
        self.slots[hole] = EMPTY;
    }

    fn len(&self) -> usize {
        self.ids.len()
    }
}

/// A megaflow classifier: rules (a key, a mask and a [`RuleId`]) looked up by tuple space
/// search.
///
/// ```
/// use dpif::odp::FlowKey;
/// use dpif::userspace::dpcls::Dpcls;
///
/// let mut cls = Dpcls::new();
/// let mut mask = FlowKey::zero();
/// mask.in_port = u32::MAX;
/// let mut key = FlowKey::zero();
/// key.in_port = 3;
/// assert!(cls.insert(&key, &mask, 7));
/// key.tp_dst = 80; // not in the mask: still matches
/// assert_eq!(cls.lookup(&key), Some(7));
/// key.in_port = 4;
/// assert_eq!(cls.lookup(&key), None);
/// ```
#[derive(Clone, Debug, Default)]
pub struct Dpcls {
    subtables: Vec<Subtable>,
    n_rules: usize,
}

impl Dpcls {
    /// Makes an empty classifier.
    pub fn new() -> Self {
        Dpcls::default()
    }

    /// How many rules it holds.
    pub fn len(&self) -> usize {
        self.n_rules
    }

    /// Whether it holds no rule.
    pub fn is_empty(&self) -> bool {
        self.n_rules == 0
    }

    /// How many subtables (distinct masks) it has.
    pub fn n_subtables(&self) -> usize {
        self.subtables.len()
    }

    /// The masks of the subtables, in lookup order.
    pub fn masks(&self) -> impl Iterator<Item = &FlowKey> {
        self.subtables.iter().map(|s| &s.mask)
    }

    fn subtable_index(&self, mask: &FlowKey) -> Option<usize> {
        self.subtables
            .iter()
            .position(|s| s.mask.words() == mask.words())
    }

    /// Adds rule `id` matching `key` under `mask` (`key` need not be masked). Returns false,
    /// adding nothing, if a rule with the same mask and masked key exists already.
    pub fn insert(&mut self, key: &FlowKey, mask: &FlowKey, id: RuleId) -> bool {
        let i = match self.subtable_index(mask) {
            Some(i) => i,
            None => {
                self.subtables.push(Subtable::new(mask));
                self.subtables.len() - 1
            }
        };
        let ok = self.subtables[i].insert(key.words(), id);
        if ok {
            self.n_rules += 1;
        } else if self.subtables[i].len() == 0 {
            self.subtables.swap_remove(i);
        }
        ok
    }

    /// Removes rule `id` that was inserted with `key` and `mask`. Returns whether it was
    /// there. An emptied subtable goes away.
    pub fn remove(&mut self, key: &FlowKey, mask: &FlowKey, id: RuleId) -> bool {
        let Some(i) = self.subtable_index(mask) else {
            return false;
        };
        let ok = self.subtables[i].remove(key.words(), id);
        if ok {
            self.n_rules -= 1;
            if self.subtables[i].len() == 0 {
                // Keep the ranking order of the others.
                self.subtables.remove(i);
            }
        }
        ok
    }

    /// Removes every rule.
    pub fn clear(&mut self) {
        self.subtables.clear();
        self.n_rules = 0;
    }

    /// Looks `key` up without counting hits: the rule that matches it, if any.
    pub fn find(&self, key: &FlowKey) -> Option<RuleId> {
        let w = key.words();
        self.subtables.iter().find_map(|s| s.find(s.hash(w), w))
    }

    /// Looks `key` up, counting the hit for the ranking. Returns the rule and how many
    /// subtables were searched to find it.
    pub fn lookup_counted(&mut self, key: &FlowKey) -> Option<(RuleId, usize)> {
        let w = key.words();
        for (i, s) in self.subtables.iter_mut().enumerate() {
            if let Some(id) = s.find(s.hash(w), w) {
                s.hits += 1;
                return Some((id, i + 1));
            }
        }
        None
    }

    /// Looks `key` up, counting the hit for the ranking.
    pub fn lookup(&mut self, key: &FlowKey) -> Option<RuleId> {
        self.lookup_counted(key).map(|(id, _)| id)
    }

    /// Looks up the keys of `keys` whose bit is set in `*missing` (bit `i` for `keys[i]`,
    /// at most [`BATCH`] keys), subtable by subtable. For each hit, sets `out[i]` and clears
    /// the bit. Returns how many subtables the hits searched in total (OVS's masked-lookup
    /// count). Keys beyond `BATCH`, or beyond `out`, are left alone.
    pub fn lookup_batch(&mut self, keys: &[FlowKey], missing: &mut u32, out: &mut [RuleId]) -> u64 {
        let n = keys.len().min(out.len()).min(BATCH);
        if n < BATCH {
            *missing &= (1u32 << n) - 1;
        }
        let mut visited = 0u64;
        let mut hashes = [0u64; BATCH];
        for (rank, s) in self.subtables.iter_mut().enumerate() {
            if *missing == 0 {
                break;
            }
            let mut bits = *missing;
            while bits != 0 {
                let i = to_usize(bits.trailing_zeros());
                bits &= bits - 1;
                hashes[i] = s.hash(keys[i].words());
            }
            let mut bits = *missing;
            while bits != 0 {
                let i = to_usize(bits.trailing_zeros());
                bits &= bits - 1;
                if let Some(id) = s.find(hashes[i], keys[i].words()) {
                    out[i] = id;
                    *missing &= !(1u32 << i);
                    s.hits += 1;
                    visited += rank as u64 + 1;
                }
            }
        }
        visited
    }

    /// Re-ranks the subtables by their hits since the last call (most first) and resets
    /// the counts (OVS's `dpcls_sort_subtable_vector`, every second).
    pub fn optimize(&mut self) {
        self.subtables.sort_by_key(|s| std::cmp::Reverse(s.hits));
        for s in &mut self.subtables {
            s.hits = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key(in_port: u32, dst: [u8; 4], tp_dst: u16) -> FlowKey {
        let mut k = FlowKey::zero();
        k.in_port = in_port;
        k.eth_type = 0x0800;
        k.ipv4_dst = dst;
        k.tp_dst = tp_dst;
        k
    }

    fn mask_dst(prefix: u32) -> FlowKey {
        let mut m = FlowKey::zero();
        m.in_port = u32::MAX;
        m.eth_type = u16::MAX;
        m.ipv4_dst = (u32::MAX.checked_shl(32 - prefix).unwrap_or(0)).to_be_bytes();
        m
    }

    #[test]
    fn insert_lookup_remove() {
        let mut c = Dpcls::new();
        let m24 = mask_dst(24);
        let m32 = mask_dst(32);
        assert!(c.insert(&key(1, [10, 0, 0, 0], 0), &m24, 1));
        assert!(c.insert(&key(1, [10, 0, 1, 5], 0), &m32, 2));
        assert!(
            !c.insert(&key(1, [10, 0, 0, 99], 7), &m24, 3),
            "same masked key"
        );
        assert_eq!((c.len(), c.n_subtables()), (2, 2));
        assert_eq!(c.lookup(&key(1, [10, 0, 0, 77], 80)), Some(1));
        assert_eq!(c.lookup(&key(1, [10, 0, 1, 5], 80)), Some(2));
        assert_eq!(c.lookup(&key(1, [10, 0, 1, 6], 80)), None);
        assert_eq!(c.lookup(&key(2, [10, 0, 0, 1], 80)), None);
        assert!(!c.remove(&key(1, [10, 0, 0, 0], 0), &m24, 9), "wrong id");
        assert!(c.remove(&key(1, [10, 0, 0, 0], 0), &m24, 1));
        assert_eq!(c.lookup(&key(1, [10, 0, 0, 77], 80)), None);
        assert_eq!(c.n_subtables(), 1, "empty subtable goes");
        assert!(c.remove(&key(1, [10, 0, 1, 5], 0), &m32, 2));
        assert!(c.is_empty());
    }

    #[test]
    fn many_rules_grow_and_shrink() {
        let mut c = Dpcls::new();
        let m = mask_dst(32);
        let k = |i: u32| key(1, i.to_be_bytes(), 0);
        for i in 0..5000 {
            assert!(c.insert(&k(i), &m, i));
        }
        for i in 0..5000 {
            assert_eq!(c.find(&k(i)), Some(i));
        }
        for i in (0..5000).step_by(2) {
            assert!(c.remove(&k(i), &m, i));
        }
        for i in 0..5000 {
            let want = (i % 2 == 1).then_some(i);
            assert_eq!(c.find(&k(i)), want, "{i}");
        }
        assert_eq!(c.len(), 2500);
    }

    #[test]
    fn batch_lookup_and_ranking() {
        let mut c = Dpcls::new();
        let m24 = mask_dst(24);
        let m32 = mask_dst(32);
        c.insert(&key(1, [10, 0, 0, 0], 0), &m24, 1);
        c.insert(&key(1, [10, 0, 1, 5], 0), &m32, 2);
        let keys = [
            key(1, [10, 0, 1, 5], 1),
            key(1, [10, 0, 0, 4], 1),
            key(1, [9, 0, 0, 4], 1),
        ];
        let mut missing = 0b111;
        let mut out = [0; 3];
        let visited = c.lookup_batch(&keys, &mut missing, &mut out);
        assert_eq!(missing, 0b100);
        assert_eq!(&out[..2], &[2, 1]);
        // /24 first: its hit visited 1 subtable, the /32 hit 2.
        assert_eq!(visited, 3);
        // Make /32 hot, re-rank: it comes first.
        for _ in 0..5 {
            c.lookup(&keys[0]);
        }
        c.optimize();
        let mut missing = 0b1;
        assert_eq!(c.lookup_batch(&keys[..1], &mut missing, &mut out), 1);
    }

    /// Strategy pieces: a few masks over different words, keys drawn from a small space so
    /// that rules and packets collide often.
    fn masks() -> Vec<FlowKey> {
        let mut v = Vec::new();
        for prefix in [8, 16, 24, 32] {
            v.push(mask_dst(prefix));
        }
        let mut m = mask_dst(16);
        m.tp_dst = u16::MAX;
        v.push(m);
        let mut m = FlowKey::zero();
        m.in_port = u32::MAX;
        m.eth_src = [0xff; 6];
        v.push(m);
        let mut m = FlowKey::zero();
        m.in_port = u32::MAX;
        m.nd_target[15] = 0x0f;
        m.eth_type = u16::MAX;
        v.push(m);
        v
    }

    fn small_key(r: (u32, u8, u8, u16, u8, u8)) -> FlowKey {
        let (in_port, a, b, tp, mac, nd) = r;
        let mut k = key(in_port % 2, [10, a % 4, b % 4, 0], tp % 4);
        k.eth_src[5] = mac % 4;
        k.nd_target[15] = nd % 32;
        k
    }

    fn overlaps(k1: &FlowKey, m1: &FlowKey, k2: &FlowKey, m2: &FlowKey) -> bool {
        k1.words()
            .iter()
            .zip(k2.words())
            .zip(m1.words().iter().zip(m2.words()))
            .all(|((a, b), (x, y))| (a ^ b) & x & y == 0)
    }

    proptest! {
        #[test]
        fn lookup_equals_linear_scan(
            rules in prop::collection::vec((any::<(u32, u8, u8, u16, u8, u8)>(), 0usize..7), 1..80),
            pkts in prop::collection::vec(any::<(u32, u8, u8, u16, u8, u8)>(), 1..64),
            dels in prop::collection::vec(any::<bool>(), 80),
        ) {
            let ms = masks();
            let mut c = Dpcls::new();
            let mut table: Vec<(FlowKey, FlowKey, u32)> = Vec::new();
            for (i, (r, mi)) in rules.into_iter().enumerate() {
                let k = small_key(r);
                let m = ms[mi];
                if table.iter().any(|(k2, m2, _)| overlaps(&k, &m, k2, m2)) {
                    continue;
                }
                let id = u32::try_from(i).unwrap();
                prop_assert!(c.insert(&k, &m, id));
                table.push((k.masked(&m), m, id));
            }
            // Delete some, to exercise removal.
            let mut kept = Vec::new();
            for (j, (k, m, id)) in table.into_iter().enumerate() {
                if dels[j % dels.len()] {
                    prop_assert!(c.remove(&k, &m, id));
                } else {
                    kept.push((k, m, id));
                }
            }
            prop_assert_eq!(c.len(), kept.len());
            let keys: Vec<FlowKey> = pkts.iter().map(|&p| small_key(p)).collect();
            for chunk in keys.chunks(BATCH) {
                let mut missing = u32::MAX;
                let mut out = [u32::MAX; BATCH];
                c.lookup_batch(chunk, &mut missing, &mut out);
                for (i, pk) in chunk.iter().enumerate() {
                    let want = kept.iter().find(|(k, m, _)| pk.matches(k, m)).map(|r| r.2);
                    let got = (missing & (1 << i) == 0).then_some(out[i]);
                    prop_assert_eq!(got, want);
                    prop_assert_eq!(c.find(pk), want);
                }
            }
            c.optimize();
            for pk in &keys {
                let want = kept.iter().find(|(k, m, _)| pk.matches(k, m)).map(|r| r.2);
                prop_assert_eq!(c.lookup(pk), want);
            }
        }
    }
}
