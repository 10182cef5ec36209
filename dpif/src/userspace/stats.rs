//! Per-poll-thread counters: written by their thread only, read by anyone.

use std::sync::atomic::{AtomicU64, Ordering};

/// The counters of one poll thread (what `dpif-netdev/pmd-stats-show` prints).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PmdStats {
    /// Packets received from the thread's rx queues.
    pub rx_packets: u64,
    /// Packets that hit the exact-match cache.
    pub emc_hits: u64,
    /// Packets that hit the megaflow classifier.
    pub megaflow_hits: u64,
    /// Subtables searched by megaflow hits, in total: divided by `megaflow_hits`, the
    /// average number of subtable lookups per hit.
    pub subtable_lookups: u64,
    /// Packets that matched no flow (each one an upcall, or lost).
    pub misses: u64,
    /// Missed packets dropped because the upcall queue was full.
    pub lost: u64,
}

impl PmdStats {
    /// Adds `o`'s counters.
    pub fn add(&mut self, o: &PmdStats) {
        self.rx_packets += o.rx_packets;
        self.emc_hits += o.emc_hits;
        self.megaflow_hits += o.megaflow_hits;
        self.subtable_lookups += o.subtable_lookups;
        self.misses += o.misses;
        self.lost += o.lost;
    }

    /// These counters minus `base` (saturating), for counters cleared at `base`.
    pub fn since(&self, base: &PmdStats) -> PmdStats {
        PmdStats {
            rx_packets: self.rx_packets.saturating_sub(base.rx_packets),
            emc_hits: self.emc_hits.saturating_sub(base.emc_hits),
            megaflow_hits: self.megaflow_hits.saturating_sub(base.megaflow_hits),
            subtable_lookups: self.subtable_lookups.saturating_sub(base.subtable_lookups),
            misses: self.misses.saturating_sub(base.misses),
            lost: self.lost.saturating_sub(base.lost),
        }
    }

    /// Average subtables searched per megaflow hit.
    pub fn avg_subtable_lookups(&self) -> f64 {
        if self.megaflow_hits == 0 {
            0.0
        } else {
            self.subtable_lookups as f64 / self.megaflow_hits as f64
        }
    }
}

/// [`PmdStats`] as single-writer atomics on their own cache line(s).
#[repr(align(128))]
#[derive(Debug, Default)]
pub(crate) struct AtomicPmdStats {
    rx_packets: AtomicU64,
    emc_hits: AtomicU64,
    megaflow_hits: AtomicU64,
    subtable_lookups: AtomicU64,
    misses: AtomicU64,
    lost: AtomicU64,
}

#[inline(always)]
fn bump(c: &AtomicU64, n: u64) {
    if n != 0 {
        // Single writer: a load and a store, no locked instruction.
        c.store(c.load(Ordering::Relaxed).wrapping_add(n), Ordering::Relaxed);
    }
}

impl AtomicPmdStats {
    /// Adds `d` (only the owning thread calls this).
    #[inline]
    pub(crate) fn add(&self, d: &PmdStats) {
        bump(&self.rx_packets, d.rx_packets);
        bump(&self.emc_hits, d.emc_hits);
        bump(&self.megaflow_hits, d.megaflow_hits);
        bump(&self.subtable_lookups, d.subtable_lookups);
        bump(&self.misses, d.misses);
        bump(&self.lost, d.lost);
    }

    /// The current values.
    pub(crate) fn get(&self) -> PmdStats {
        PmdStats {
            rx_packets: self.rx_packets.load(Ordering::Relaxed),
            emc_hits: self.emc_hits.load(Ordering::Relaxed),
            megaflow_hits: self.megaflow_hits.load(Ordering::Relaxed),
            subtable_lookups: self.subtable_lookups.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            lost: self.lost.load(Ordering::Relaxed),
        }
    }
}
