//! [`MacTable`]: the MAC learning table of one bridge (OVS's `lib/mac-learning.c`).
//!
//! An entry says that Ethernet address `mac` in VLAN `vlan` was last seen on OpenFlow port
//! `port`. Entries age out after the idle time (default 300 s) unless traffic refreshes
//! them; the table holds at most `max_entries` (default 8192). When it is full, a new
//! entry evicts the least recently refreshed entry of the port that has the most entries,
//! as OVS's `evict_mac_entry_fairly` does, so one port flooding the table with addresses
//! cannot push out every other port's hosts.
//!
//! Refreshing an entry that was refreshed less than a second ago on the same port does
//! nothing (as OVS's `is_mac_learning_update_needed`), so the common case of translation,
//! a host that keeps talking, costs one lookup.
//!
//! Time is the caller's (milliseconds of one monotonic clock): nothing here reads a clock.
//! Changes that should make translated flows be looked at again (OVS's `need_revalidate`)
//! are reported two ways: [`MacTable::learn`] says whether it added or moved an entry, and
//! [`MacTable::changed`] whether entries were removed (aged out, evicted, flushed) since it
//! was last asked.

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};

use netdev::EthAddr;

use crate::flow::OfpPort;
use crate::provider::{FdbEntry, MacTableConfig};

/// The shortest idle time OVS accepts (`MAC_ENTRY_MIN_IDLE_TIME`-like clamp), seconds.
pub const MIN_IDLE_TIME_S: u32 = 15;
/// The longest idle time OVS accepts, seconds.
pub const MAX_IDLE_TIME_S: u32 = 3600;
/// The smallest table size accepted.
pub const MIN_MAX_ENTRIES: usize = 10;
/// The largest table size accepted.
pub const MAX_MAX_ENTRIES: usize = 1_000_000;

/// `config` with its values clamped to what OVS accepts (idle time 15..=3600 s, size
/// 10..=1,000,000).
pub fn clamp_config(config: MacTableConfig) -> MacTableConfig {
    MacTableConfig {
        idle_time_s: config.idle_time_s.clamp(MIN_IDLE_TIME_S, MAX_IDLE_TIME_S),
        max_entries: config.max_entries.clamp(MIN_MAX_ENTRIES, MAX_MAX_ENTRIES),
    }
}

/// What [`MacTable::learn`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LearnOutcome {
    /// The address cannot be learned (a multicast source).
    NotLearnable,
    /// The entry existed on this port; it was refreshed.
    Refreshed,
    /// A new entry.
    Learned,
    /// The entry moved from another port to this one.
    Moved(OfpPort),
}

impl LearnOutcome {
    /// Whether the table changed in a way that matters to forwarding.
    pub fn is_change(self) -> bool {
        matches!(self, LearnOutcome::Learned | LearnOutcome::Moved(_))
    }
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    port: OfpPort,
    last_seen_ms: u64,
    /// Position in the LRU orders (larger = more recently refreshed).
    seq: u64,
}

type Key = (u16, EthAddr);

/// A refresh within this many milliseconds of the last one is skipped.
const REFRESH_MS: u64 = 1000;

/// The key packed in 64 bits: VLAN above the 48-bit address.
fn pack(k: &Key) -> u64 {
    let m = k.1.0;
    (u64::from(k.0) << 48) | u64::from_be_bytes([0, 0, m[0], m[1], m[2], m[3], m[4], m[5]])
}

/// A multiplicative hasher for packed keys (they are not attacker-chosen in a way that
/// matters more than the table's size limit).
#[derive(Default, Clone, Copy)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }

    fn write_u64(&mut self, n: u64) {
        let h = n.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        self.0 = h ^ (h >> 29);
    }
}

type KeyMap<V> = HashMap<u64, V, BuildHasherDefault<KeyHasher>>;

/// The MAC learning table of a bridge (see the module docs).
#[derive(Debug)]
pub struct MacTable {
    entries: KeyMap<(Key, Entry)>,
    /// Every entry by refresh order, oldest first.
    lru: BTreeMap<u64, Key>,
    /// Each port's entries by refresh order, oldest first.
    by_port: HashMap<OfpPort, BTreeMap<u64, Key>>,
    idle_ms: u64,
    max_entries: usize,
    next_seq: u64,
    changed: bool,
}

impl Default for MacTable {
    fn default() -> Self {
        MacTable::new(MacTableConfig::default())
    }
}

impl MacTable {
    /// An empty table with `config` (clamped, see [`clamp_config`]).
    pub fn new(config: MacTableConfig) -> MacTable {
        let c = clamp_config(config);
        MacTable {
            entries: KeyMap::default(),
            lru: BTreeMap::new(),
            by_port: HashMap::new(),
            idle_ms: u64::from(c.idle_time_s) * 1000,
            max_entries: c.max_entries,
            next_seq: 1,
            changed: false,
        }
    }

    /// The configuration in force.
    pub fn config(&self) -> MacTableConfig {
        MacTableConfig {
            idle_time_s: u32::try_from(self.idle_ms / 1000).unwrap_or(u32::MAX),
            max_entries: self.max_entries,
        }
    }

    /// Changes the idle time and size (clamped); a smaller size evicts entries at once.
    pub fn set_config(&mut self, config: MacTableConfig) {
        let c = clamp_config(config);
        self.idle_ms = u64::from(c.idle_time_s) * 1000;
        self.max_entries = c.max_entries;
        while self.entries.len() > self.max_entries {
            if !self.evict_fairly() {
                break;
            }
        }
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The port `mac` was learned on in `vlan`, if any.
    pub fn lookup(&self, mac: EthAddr, vlan: u16) -> Option<OfpPort> {
        self.entries.get(&pack(&(vlan, mac))).map(|(_, e)| e.port)
    }

    /// Whether `mac` may be learned: not a multicast (or broadcast) address.
    pub fn may_learn(mac: EthAddr) -> bool {
        !mac.is_multicast()
    }

    /// Records that `mac` in `vlan` was seen on `port` at `now_ms`.
    pub fn learn(&mut self, mac: EthAddr, vlan: u16, port: OfpPort, now_ms: u64) -> LearnOutcome {
        if !Self::may_learn(mac) {
            return LearnOutcome::NotLearnable;
        }
        let key = (vlan, mac);
        if let Some((_, e)) = self.entries.get(&pack(&key)).copied() {
            if e.port == port && now_ms < e.last_seen_ms.saturating_add(REFRESH_MS) {
                return LearnOutcome::Refreshed;
            }
            let seq = self.next_seq;
            self.next_seq += 1;
            self.unlink(&key, &e);
            let outcome = if e.port == port {
                LearnOutcome::Refreshed
            } else {
                LearnOutcome::Moved(e.port)
            };
            let entry = Entry {
                port,
                last_seen_ms: now_ms.max(e.last_seen_ms),
                seq,
            };
            self.link(key, entry);
            return outcome;
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        while self.entries.len() >= self.max_entries {
            if !self.evict_fairly() {
                break;
            }
        }
        self.link(
            key,
            Entry {
                port,
                last_seen_ms: now_ms,
                seq,
            },
        );
        LearnOutcome::Learned
    }

    fn link(&mut self, key: Key, e: Entry) {
        self.lru.insert(e.seq, key);
        self.by_port.entry(e.port).or_default().insert(e.seq, key);
        self.entries.insert(pack(&key), (key, e));
    }

    fn unlink(&mut self, key: &Key, e: &Entry) {
        self.lru.remove(&e.seq);
        if let Some(m) = self.by_port.get_mut(&e.port) {
            m.remove(&e.seq);
            if m.is_empty() {
                self.by_port.remove(&e.port);
            }
        }
        self.entries.remove(&pack(key));
    }

    fn remove(&mut self, key: &Key) {
        if let Some((_, e)) = self.entries.get(&pack(key)).copied() {
            self.unlink(key, &e);
            self.changed = true;
        }
    }

    /// Evicts the least recently refreshed entry of the port with the most entries.
    fn evict_fairly(&mut self) -> bool {
        let victim = self
            .by_port
            .iter()
            .max_by(|(pa, a), (pb, b)| a.len().cmp(&b.len()).then(pb.cmp(pa)))
            .and_then(|(_, m)| m.values().next().copied());
        match victim {
            Some(key) => {
                self.remove(&key);
                true
            }
            None => false,
        }
    }

    /// Ages out entries not refreshed within the idle time before `now_ms`. Returns whether
    /// entries were removed since the last call (see [`MacTable::changed`]).
    pub fn run(&mut self, now_ms: u64) -> bool {
        let expired: Vec<Key> = self
            .lru
            .values()
            .filter(|k| {
                self.entries
                    .get(&pack(k))
                    .is_some_and(|(_, e)| now_ms >= e.last_seen_ms.saturating_add(self.idle_ms))
            })
            .copied()
            .collect();
        for k in &expired {
            self.remove(k);
        }
        self.changed()
    }

    /// The earliest time at which [`MacTable::run`] will expire something, if any entry
    /// exists.
    pub fn next_expiry_ms(&self) -> Option<u64> {
        self.entries
            .values()
            .map(|(_, e)| e.last_seen_ms.saturating_add(self.idle_ms))
            .min()
    }

    /// Whether entries were removed (expired, evicted, flushed) since the last call; clears
    /// the flag.
    pub fn changed(&mut self) -> bool {
        std::mem::take(&mut self.changed)
    }

    /// Removes every entry.
    pub fn flush(&mut self) {
        if !self.entries.is_empty() {
            self.changed = true;
        }
        self.entries.clear();
        self.lru.clear();
        self.by_port.clear();
    }

    /// Removes the entries learned on `port`.
    pub fn flush_port(&mut self, port: OfpPort) {
        let keys: Vec<Key> = self
            .by_port
            .get(&port)
            .map(|m| m.values().copied().collect())
            .unwrap_or_default();
        for k in &keys {
            self.remove(k);
        }
    }

    /// Every entry, least recently refreshed first (the order of `fdb/show`), with its age
    /// at `now_ms`.
    pub fn entries(&self, now_ms: u64) -> Vec<FdbEntry> {
        self.lru
            .values()
            .filter_map(|k| {
                self.entries.get(&pack(k)).map(|(_, e)| FdbEntry {
                    port: e.port,
                    vlan: k.0,
                    mac: k.1,
                    age_s: Some(now_ms.saturating_sub(e.last_seen_ms) / 1000),
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mac(n: u8) -> EthAddr {
        EthAddr([2, 0, 0, 0, 0, n])
    }

    #[test]
    fn learn_lookup_move() {
        let mut t = MacTable::default();
        assert_eq!(t.learn(mac(1), 0, OfpPort(1), 0), LearnOutcome::Learned);
        assert!(!t.changed());
        assert_eq!(t.learn(mac(1), 0, OfpPort(1), 10), LearnOutcome::Refreshed);
        assert_eq!(t.entries(10)[0].age_s, Some(0));
        // A refresh within a second is skipped; a later one counts.
        assert_eq!(
            t.learn(mac(1), 0, OfpPort(1), 5000),
            LearnOutcome::Refreshed
        );
        assert_eq!(t.entries(6000)[0].age_s, Some(1));
        assert!(!t.changed());
        assert_eq!(t.lookup(mac(1), 0), Some(OfpPort(1)));
        assert_eq!(t.lookup(mac(1), 10), None);
        assert_eq!(
            t.learn(mac(1), 0, OfpPort(3), 20),
            LearnOutcome::Moved(OfpPort(1))
        );
        assert_eq!(t.lookup(mac(1), 0), Some(OfpPort(3)));
        assert!(!t.changed());
        assert_eq!(
            t.learn(EthAddr::BROADCAST, 0, OfpPort(1), 0),
            LearnOutcome::NotLearnable
        );
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn aging() {
        let mut t = MacTable::new(MacTableConfig {
            idle_time_s: 20,
            max_entries: 100,
        });
        t.learn(mac(1), 0, OfpPort(1), 1000);
        t.learn(mac(2), 0, OfpPort(2), 5000);
        t.changed();
        assert!(!t.run(20_999));
        assert_eq!(t.next_expiry_ms(), Some(21_000));
        assert!(t.run(21_000));
        assert_eq!(t.lookup(mac(1), 0), None);
        assert_eq!(t.lookup(mac(2), 0), Some(OfpPort(2)));
        let e = t.entries(10_000);
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].age_s, Some(5));
    }

    #[test]
    fn config_is_clamped() {
        let t = MacTable::new(MacTableConfig {
            idle_time_s: 1,
            max_entries: 1,
        });
        assert_eq!(
            t.config(),
            MacTableConfig {
                idle_time_s: 15,
                max_entries: 10
            }
        );
        let t = MacTable::new(MacTableConfig {
            idle_time_s: 99_999,
            max_entries: usize::MAX,
        });
        assert_eq!(t.config().idle_time_s, 3600);
        assert_eq!(t.config().max_entries, 1_000_000);
    }

    #[test]
    fn eviction_is_fair() {
        let mut t = MacTable::new(MacTableConfig {
            idle_time_s: 300,
            max_entries: 10,
        });
        // Port 1 has two hosts, port 2 floods eight addresses.
        t.learn(mac(1), 0, OfpPort(1), 0);
        t.learn(mac(2), 0, OfpPort(1), 0);
        for i in 10..18 {
            t.learn(mac(i), 0, OfpPort(2), 0);
        }
        assert_eq!(t.len(), 10);
        // A new address evicts port 2's oldest, not port 1's.
        t.learn(mac(30), 0, OfpPort(2), 0);
        assert_eq!(t.len(), 10);
        assert_eq!(t.lookup(mac(1), 0), Some(OfpPort(1)));
        assert_eq!(t.lookup(mac(10), 0), None);
        assert_eq!(t.lookup(mac(30), 0), Some(OfpPort(2)));
        // Shrinking evicts at once.
        t.set_config(MacTableConfig {
            idle_time_s: 300,
            max_entries: 10,
        });
        t.flush_port(OfpPort(2));
        assert_eq!(t.len(), 2);
        t.flush();
        assert!(t.is_empty());
    }

    #[test]
    fn entries_in_lru_order() {
        let mut t = MacTable::default();
        t.learn(mac(1), 0, OfpPort(1), 0);
        t.learn(mac(2), 5, OfpPort(2), 0);
        t.learn(mac(1), 0, OfpPort(1), 2000);
        let e = t.entries(2000);
        assert_eq!(
            e.iter().map(|e| e.mac).collect::<Vec<_>>(),
            [mac(2), mac(1)]
        );
        assert_eq!(e[0].vlan, 5);
    }
}
