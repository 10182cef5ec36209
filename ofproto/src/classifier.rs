//! [`Classifier`]: a table of prioritized, wildcarded entries, searched by tuple space
//! search, that records which bits of the packet each lookup had to examine.
//!
//! # Model
//!
//! Entries with the same mask share a *subtable*: a hash table keyed by the masked flow.
//! A lookup visits subtables in order of decreasing maximum priority and stops as soon as
//! the next subtable cannot hold an entry of higher priority than the best found so far
//! (ties are decided by that order, which is deterministic: subtables of equal maximum
//! priority in order of creation).
//!
//! # Wildcards
//!
//! Whatever a lookup decides, it decides from the bits it examined: the matched entry's
//! mask and the masks of the higher-priority subtables it tried and missed. Those bits are
//! OR-ed into the caller's [`FlowWildcards`]; every packet that agrees with this one on
//! them gets the same answer, which is what makes a megaflow built from the wildcards
//! correct. Subtables skipped by the priority cut-off are not examined and add nothing.
//!
//! Lookups are *staged* (as in OVS): each subtable also keeps the set of hashes of its
//! entries' masked metadata, L2 and L3 words ([`crate::flow::STAGE_ENDS`]). A packet
//! whose masked metadata (say, its in_port) matches no entry stops there, and only the
//! metadata bits of that subtable are un-wildcarded; its L3 and L4 bits stay wildcarded.
//!
//! # Concurrency
//!
//! Lookups take `&self`. Subtables sit behind `Arc`s, so cloning a classifier is cheap and
//! a change to a clone copies only the subtables it touches: a writer can update a clone
//! and publish it (read-copy-update) while readers keep using the old one.

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use dpif::odp::hash::{finish, mix};

use crate::flow::{Flow, FlowWildcards, N_WORDS, STAGE_ENDS};
use crate::matching::Match;

/// A hasher for keys that already are good 64-bit hashes.
#[derive(Default, Clone, Copy)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type IdMap<V> = HashMap<u64, V, BuildHasherDefault<IdHasher>>;

const BASIS: u64 = 0x5bd1_e995_2f0c_3a7d;

/// One entry.
#[derive(Clone, Debug)]
struct Entry<T> {
    priority: u32,
    value: T,
}

/// Entries whose masked flows are equal, by decreasing priority.
#[derive(Clone, Debug)]
struct Bucket<T> {
    key: Flow,
    entries: Vec<Entry<T>>,
}

/// One stage of a subtable: the mask words up to `n_words` of `words` (the words before
/// the stage's end in [`STAGE_ENDS`]); they are what a lookup un-wildcards when the stage
/// rules a packet out.
#[derive(Clone, Debug)]
struct Stage {
    n_words: usize,
    /// Hashes of the entries' masked words up to this stage, with their counts. Empty for
    /// the last stage (the buckets serve).
    hashes: IdMap<u32>,
}

#[derive(Clone, Debug)]
struct Subtable<T> {
    mask: Flow,
    /// Indices of the mask's nonzero words, in order.
    words: Vec<usize>,
    stages: Vec<Stage>,
    buckets: IdMap<Vec<Bucket<T>>>,
    priorities: BTreeMap<u32, usize>,
    /// Cached maximum of `priorities`.
    max_prio: u32,
    n_entries: usize,
    /// Creation order, for deterministic tie-breaking.
    seq: u64,
}

impl<T: Clone> Subtable<T> {
    fn new(mask: Flow, seq: u64) -> Subtable<T> {
        let w = mask.words();
        let words: Vec<usize> = (0..N_WORDS).filter(|&i| w[i] != 0).collect();
        let mut stages = vec![];
        for &end in &STAGE_ENDS {
            let n = words.iter().filter(|&&i| i < end).count();
            if n > stages.last().map_or(0, |s: &Stage| s.n_words) {
                stages.push(Stage {
                    n_words: n,
                    hashes: IdMap::default(),
                });
            }
        }
        Subtable {
            mask,
            words,
            stages,
            buckets: IdMap::default(),
            priorities: BTreeMap::new(),
            max_prio: 0,
            n_entries: 0,
            seq,
        }
    }

    #[inline]
    fn max_priority(&self) -> u32 {
        self.max_prio
    }

    fn update_max(&mut self) {
        self.max_prio = self.priorities.keys().next_back().copied().unwrap_or(0);
    }

    /// The stage hashes (all but the last) and the full hash of `flow` under the mask.
    fn hashes(&self, flow: &Flow) -> (Vec<u64>, u64) {
        let fw = flow.words();
        let mw = self.mask.words();
        let mut h = BASIS;
        let mut out = Vec::with_capacity(self.stages.len());
        let mut wi = 0;
        for st in &self.stages {
            for &i in &self.words[wi..st.n_words] {
                h = mix(h, fw[i] & mw[i]);
            }
            wi = st.n_words;
            out.push(finish(h));
        }
        let full = out.pop().unwrap_or_else(|| finish(h));
        (out, full)
    }

    fn key_eq(&self, key: &Flow, flow: &Flow) -> bool {
        let (kw, fw, mw) = (key.words(), flow.words(), self.mask.words());
        self.words.iter().all(|&i| kw[i] == fw[i] & mw[i])
    }

    fn insert(&mut self, key: Flow, priority: u32, value: T) -> Option<T> {
        let (stage_hashes, full) = self.hashes(&key);
        let list = self.buckets.entry(full).or_default();
        let b = match list.iter().position(|b| b.key == key) {
            Some(i) => &mut list[i],
            None => {
                list.push(Bucket {
                    key,
                    entries: vec![],
                });
                let last = list.len() - 1;
                &mut list[last]
            }
        };
        if let Some(e) = b.entries.iter_mut().find(|e| e.priority == priority) {
            return Some(std::mem::replace(&mut e.value, value));
        }
        let pos = b
            .entries
            .iter()
            .position(|e| e.priority < priority)
            .unwrap_or(b.entries.len());
        b.entries.insert(pos, Entry { priority, value });
        for (st, h) in self.stages.iter_mut().zip(stage_hashes) {
            *st.hashes.entry(h).or_insert(0) += 1;
        }
        *self.priorities.entry(priority).or_insert(0) += 1;
        self.update_max();
        self.n_entries += 1;
        None
    }

    fn remove(&mut self, key: &Flow, priority: u32) -> Option<T> {
        let (stage_hashes, full) = self.hashes(key);
        let list = self.buckets.get_mut(&full)?;
        let bi = list.iter().position(|b| b.key == *key)?;
        let ei = list[bi]
            .entries
            .iter()
            .position(|e| e.priority == priority)?;
        let e = list[bi].entries.remove(ei);
        if list[bi].entries.is_empty() {
            list.swap_remove(bi);
            if list.is_empty() {
                self.buckets.remove(&full);
            }
        }
        for (st, h) in self.stages.iter_mut().zip(stage_hashes) {
            if let Some(c) = st.hashes.get_mut(&h) {
                *c -= 1;
                if *c == 0 {
                    st.hashes.remove(&h);
                }
            }
        }
        if let Some(c) = self.priorities.get_mut(&priority) {
            *c -= 1;
            if *c == 0 {
                self.priorities.remove(&priority);
            }
        }
        self.update_max();
        self.n_entries -= 1;
        Some(e.value)
    }

    fn find(&self, key: &Flow, priority: u32) -> Option<&T> {
        let (_, full) = self.hashes(key);
        self.buckets
            .get(&full)?
            .iter()
            .find(|b| b.key == *key)?
            .entries
            .iter()
            .find(|e| e.priority == priority)
            .map(|e| &e.value)
    }

    /// The best entry of this subtable for `flow`, un-wildcarding what it examined.
    #[inline]
    fn lookup(&self, flow: &Flow, wc: &mut Option<&mut FlowWildcards>) -> Option<&Entry<T>> {
        let fw = flow.words();
        let mw = self.mask.words();
        let mut h = BASIS;
        let mut wi = 0;
        let last = self.stages.len().saturating_sub(1);
        for (si, st) in self.stages.iter().enumerate() {
            for &i in &self.words[wi..st.n_words] {
                h = mix(h, fw[i] & mw[i]);
            }
            wi = st.n_words;
            if si < last && !st.hashes.contains_key(&finish(h)) {
                if let Some(w) = wc.as_deref_mut() {
                    // The stages up to and including this one.
                    let ww = w.masks.words_mut();
                    for &i in &self.words[..st.n_words] {
                        ww[i] |= mw[i];
                    }
                }
                return None;
            }
        }
        if let Some(w) = wc.as_deref_mut() {
            let ww = w.masks.words_mut();
            for &i in &self.words {
                ww[i] |= mw[i];
            }
        }
        self.buckets
            .get(&finish(h))?
            .iter()
            .find(|b| self.key_eq(&b.key, flow))?
            .entries
            .first()
    }
}

/// A classifier (see the module docs) of values `T` (for OpenFlow tables, `Arc<Rule>`).
#[derive(Clone, Debug)]
pub struct Classifier<T> {
    subtables: Vec<Arc<Subtable<T>>>,
    by_mask: HashMap<Flow, usize>,
    n_entries: usize,
    next_seq: u64,
}

impl<T: Clone> Default for Classifier<T> {
    fn default() -> Self {
        Classifier::new()
    }
}

impl<T: Clone> Classifier<T> {
    /// An empty classifier.
    pub fn new() -> Classifier<T> {
        Classifier {
            subtables: vec![],
            by_mask: HashMap::new(),
            n_entries: 0,
            next_seq: 0,
        }
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.n_entries
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.n_entries == 0
    }

    /// Number of distinct masks (subtables).
    pub fn n_subtables(&self) -> usize {
        self.subtables.len()
    }

    fn resort(&mut self) {
        self.subtables.sort_by(|a, b| {
            b.max_priority()
                .cmp(&a.max_priority())
                .then(a.seq.cmp(&b.seq))
        });
        self.by_mask = self
            .subtables
            .iter()
            .enumerate()
            .map(|(i, s)| (s.mask, i))
            .collect();
    }

    /// Inserts `value` with match `m` and `priority`; an entry with the same match and
    /// priority is replaced and its value returned.
    pub fn insert(&mut self, m: &Match, priority: u32, value: T) -> Option<T> {
        let idx = match self.by_mask.get(m.mask()) {
            Some(&i) => i,
            None => {
                let st = Subtable::new(*m.mask(), self.next_seq);
                self.next_seq += 1;
                self.subtables.push(Arc::new(st));
                let i = self.subtables.len() - 1;
                self.by_mask.insert(*m.mask(), i);
                i
            }
        };
        let st = Arc::make_mut(&mut self.subtables[idx]);
        let before = st.max_priority();
        let old = st.insert(*m.flow(), priority, value);
        let after = st.max_priority();
        if old.is_none() {
            self.n_entries += 1;
        }
        if before != after || st.n_entries == 1 {
            self.resort();
        }
        old
    }

    /// Removes the entry with match `m` and `priority`, returning its value.
    pub fn remove(&mut self, m: &Match, priority: u32) -> Option<T> {
        let idx = *self.by_mask.get(m.mask())?;
        let st = Arc::make_mut(&mut self.subtables[idx]);
        let before = st.max_priority();
        let v = st.remove(m.flow(), priority)?;
        self.n_entries -= 1;
        if st.n_entries == 0 {
            self.subtables.remove(idx);
            self.resort();
        } else if st.max_priority() != before {
            self.resort();
        }
        Some(v)
    }

    /// The entry with exactly match `m` and `priority`.
    pub fn find_exact(&self, m: &Match, priority: u32) -> Option<&T> {
        let idx = *self.by_mask.get(m.mask())?;
        self.subtables[idx].find(m.flow(), priority)
    }

    /// The highest-priority entry matching `flow`, with its priority. Every bit the lookup
    /// examined is OR-ed into `wc` (see the module docs).
    #[inline]
    pub fn lookup(&self, flow: &Flow, mut wc: Option<&mut FlowWildcards>) -> Option<(&T, u32)> {
        let mut best: Option<&Entry<T>> = None;
        for st in &self.subtables {
            if let Some(b) = best
                && st.max_priority() <= b.priority
            {
                break;
            }
            if let Some(e) = st.lookup(flow, &mut wc)
                && best.is_none_or(|b| e.priority > b.priority)
            {
                best = Some(e);
            }
        }
        best.map(|e| (&e.value, e.priority))
    }

    /// Every entry as (match, priority, value), subtable by subtable (highest maximum
    /// priority first); within a subtable in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (Match, u32, &T)> + '_ {
        self.subtables.iter().flat_map(|st| {
            st.buckets.values().flatten().flat_map(move |b| {
                let m = Match::from_parts(&b.key, &st.mask);
                b.entries.iter().map(move |e| (m, e.priority, &e.value))
            })
        })
    }

    /// The entries whose match `m` covers (equal or more specific, agreeing with `m` on its
    /// bits): the loose selection of flow-mod modify and delete.
    pub fn iter_covered<'a>(
        &'a self,
        m: &'a Match,
    ) -> impl Iterator<Item = (Match, u32, &'a T)> + 'a {
        let fm = m.mask().words();
        self.subtables
            .iter()
            .filter(move |st| st.mask.words().iter().zip(fm).all(|(s, f)| f & !s == 0))
            .flat_map(move |st| {
                st.buckets
                    .values()
                    .flatten()
                    .filter(move |b| b.key.matches(m.flow(), m.mask()))
                    .flat_map(move |b| {
                        let mm = Match::from_parts(&b.key, &st.mask);
                        b.entries.iter().map(move |e| (mm, e.priority, &e.value))
                    })
            })
    }

    /// Whether an entry of priority `priority` with a match other than `m` overlaps `m`
    /// (some packet could match both). An entry with exactly `m` does not count: an add
    /// replaces it.
    pub fn overlaps(&self, m: &Match, priority: u32) -> bool {
        self.subtables
            .iter()
            .filter(|st| st.priorities.contains_key(&priority))
            .any(|st| {
                st.buckets.values().flatten().any(|b| {
                    let other = Match::from_parts(&b.key, &st.mask);
                    b.entries.iter().any(|e| e.priority == priority)
                        && other != *m
                        && other.overlaps(m)
                })
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::OfpPort;
    use std::net::Ipv4Addr;

    fn m_in_port(p: u32) -> Match {
        let mut m = Match::catchall();
        m.set_in_port(OfpPort(p));
        m
    }

    #[test]
    fn priority_wins_and_replace() {
        let mut c: Classifier<&str> = Classifier::new();
        assert_eq!(c.insert(&Match::catchall(), 0, "miss"), None);
        assert_eq!(c.insert(&m_in_port(1), 10, "p1"), None);
        let mut ip = m_in_port(1);
        ip.set_dl_type(0x0800);
        assert_eq!(c.insert(&ip, 20, "p1ip"), None);
        let mut f = Flow::zero();
        f.set_in_port(OfpPort(1));
        assert_eq!(c.lookup(&f, None), Some((&"p1", 10)));
        f.set_dl_type(0x0800);
        assert_eq!(c.lookup(&f, None), Some((&"p1ip", 20)));
        f.set_in_port(OfpPort(2));
        assert_eq!(c.lookup(&f, None), Some((&"miss", 0)));
        assert_eq!(c.insert(&m_in_port(1), 10, "p1b"), Some("p1"));
        assert_eq!(c.len(), 3);
        assert_eq!(c.remove(&ip, 20), Some("p1ip"));
        assert_eq!(c.remove(&ip, 20), None);
        assert_eq!(c.len(), 2);
        assert_eq!(c.n_subtables(), 2);
        assert_eq!(c.find_exact(&m_in_port(1), 10), Some(&"p1b"));
    }

    #[test]
    fn same_match_different_priorities() {
        let mut c: Classifier<u32> = Classifier::new();
        c.insert(&m_in_port(1), 5, 5);
        c.insert(&m_in_port(1), 50, 50);
        c.insert(&m_in_port(1), 7, 7);
        let mut f = Flow::zero();
        f.set_in_port(OfpPort(1));
        assert_eq!(c.lookup(&f, None), Some((&50, 50)));
        c.remove(&m_in_port(1), 50);
        assert_eq!(c.lookup(&f, None), Some((&7, 7)));
    }

    #[test]
    fn wildcards_record_examined_fields() {
        let mut c: Classifier<&str> = Classifier::new();
        // High priority: in_port=1,tcp,tp_dst=80. Low priority: ip,nw_dst=10/8.
        let mut web = m_in_port(1);
        web.set_dl_type(0x0800);
        web.set_nw_proto(6);
        web.set_tp_dst(80);
        c.insert(&web, 100, "web");
        let mut net = Match::catchall();
        net.set_dl_type(0x0800);
        net.set_nw_dst_masked(Ipv4Addr::new(10, 0, 0, 0), Ipv4Addr::new(255, 0, 0, 0));
        c.insert(&net, 10, "net");

        // A packet from port 2: the web subtable is ruled out by in_port (metadata stage),
        // so tp_dst stays wildcarded; the net rule matches.
        let mut f = Flow::zero();
        f.set_in_port(OfpPort(2));
        f.set_dl_type(0x0800);
        f.set_nw_proto(6);
        f.set_nw_dst(Ipv4Addr::new(10, 1, 2, 3));
        f.set_tp_dst(22);
        let mut wc = FlowWildcards::catchall();
        assert_eq!(c.lookup(&f, Some(&mut wc)), Some((&"net", 10)));
        assert_eq!(wc.masks.in_port(), OfpPort(u32::MAX));
        assert_eq!(wc.masks.tp_dst(), 0, "tp_dst was never examined");
        assert_eq!(wc.masks.nw_dst(), Ipv4Addr::new(255, 0, 0, 0));
        assert_eq!(wc.masks.nw_src(), Ipv4Addr::UNSPECIFIED);

        // Two packets differing only in a field no rule examined give the same wildcards.
        let mut g = f;
        g.set_nw_src(Ipv4Addr::new(192, 168, 0, 1));
        g.set_tp_src(1234);
        let mut wc2 = FlowWildcards::catchall();
        assert_eq!(c.lookup(&g, Some(&mut wc2)), Some((&"net", 10)));
        assert_eq!(wc, wc2);

        // From port 1 the higher-priority subtable is examined to the end: tp_dst becomes
        // exact even though the rule does not match.
        f.set_in_port(OfpPort(1));
        let mut wc3 = FlowWildcards::catchall();
        assert_eq!(c.lookup(&f, Some(&mut wc3)), Some((&"net", 10)));
        assert_eq!(wc3.masks.tp_dst(), 0xffff);

        // A match in the high-priority subtable skips the low one entirely.
        f.set_tp_dst(80);
        let mut wc4 = FlowWildcards::catchall();
        assert_eq!(c.lookup(&f, Some(&mut wc4)), Some((&"web", 100)));
        assert_eq!(wc4.masks.nw_dst(), Ipv4Addr::UNSPECIFIED);
    }

    #[test]
    fn covered_and_overlap() {
        let mut c: Classifier<u32> = Classifier::new();
        for p in 1..=4 {
            let mut m = m_in_port(p);
            m.set_dl_type(0x0800);
            c.insert(&m, 1, p);
        }
        c.insert(&m_in_port(1), 1, 100);
        let sel = m_in_port(1);
        let mut got: Vec<u32> = c.iter_covered(&sel).map(|(_, _, v)| *v).collect();
        got.sort();
        assert_eq!(got, vec![1, 100]);
        assert_eq!(c.iter_covered(&Match::catchall()).count(), 5);
        assert_eq!(c.iter().count(), 5);
        assert!(c.overlaps(&Match::catchall(), 1));
        let mut one: Classifier<u32> = Classifier::new();
        one.insert(&m_in_port(1), 1, 1);
        assert!(
            !one.overlaps(&m_in_port(1), 1),
            "identical matches do not count"
        );
        assert!(one.overlaps(&Match::catchall(), 1));
        assert!(!c.overlaps(&Match::catchall(), 2));
        assert!(!c.overlaps(&m_in_port(9), 1));
    }

    #[test]
    fn clones_are_independent() {
        let mut a: Classifier<u32> = Classifier::new();
        a.insert(&m_in_port(1), 1, 1);
        let mut b = a.clone();
        b.insert(&m_in_port(2), 1, 2);
        b.remove(&m_in_port(1), 1);
        assert_eq!(a.len(), 1);
        assert_eq!(b.len(), 1);
        let mut f = Flow::zero();
        f.set_in_port(OfpPort(1));
        assert_eq!(a.lookup(&f, None), Some((&1, 1)));
        assert_eq!(b.lookup(&f, None), None);
    }
}
