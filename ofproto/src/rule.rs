//! [`Rule`]: one OpenFlow flow entry, shared by `Arc` between the tables, translation caches
//! and flow dumps.
//!
//! Everything in a rule is immutable once it is in a table except its counters
//! ([`RuleStats`]), which revalidators credit concurrently. A flow-mod that modifies a rule
//! replaces it by a new `Rule` (new actions, same identity fields) that shares the old
//! rule's counters unless `reset_counts` is asked for, so statistics pushed to either one
//! land in the same place.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bitflags::bitflags;

use crate::actions::Action;
use crate::matching::Match;

bitflags! {
    /// Flow-mod flags (`OFPFF_*`), as kept in a rule.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
    pub struct FlowModFlags: u16 {
        /// Send a flow-removed message when the rule expires or is deleted.
        const SEND_FLOW_REM = 1 << 0;
        /// Refuse an add that overlaps an existing rule of the same priority.
        const CHECK_OVERLAP = 1 << 1;
        /// Reset the counters of a replaced or modified rule.
        const RESET_COUNTS = 1 << 2;
        /// Do not count packets.
        const NO_PACKET_COUNTS = 1 << 3;
        /// Do not count bytes.
        const NO_BYTE_COUNTS = 1 << 4;
    }
}

impl FlowModFlags {
    /// The flags' names in flow syntax, in the order `ovs-ofctl` prints them.
    pub const NAMES: [(&'static str, FlowModFlags); 5] = [
        ("send_flow_rem", FlowModFlags::SEND_FLOW_REM),
        ("check_overlap", FlowModFlags::CHECK_OVERLAP),
        ("reset_counts", FlowModFlags::RESET_COUNTS),
        ("no_packet_counts", FlowModFlags::NO_PACKET_COUNTS),
        ("no_byte_counts", FlowModFlags::NO_BYTE_COUNTS),
    ];
}

/// Why a rule left its table (`ofp_flow_removed_reason`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RemovedReason {
    /// Its idle timeout passed (`OFPRR_IDLE_TIMEOUT`).
    IdleTimeout,
    /// Its hard timeout passed (`OFPRR_HARD_TIMEOUT`).
    HardTimeout,
    /// A delete flow-mod removed it (`OFPRR_DELETE`).
    Delete,
    /// A group it used was deleted (`OFPRR_GROUP_DELETE`).
    GroupDelete,
    /// An add replaced it by an identical rule (no flow-removed message is due).
    Replaced,
}

/// A snapshot of a rule's counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StatsSnapshot {
    /// Packets matched.
    pub packets: u64,
    /// Bytes matched.
    pub bytes: u64,
    /// When the rule last matched a packet, in the caller's milliseconds (0 = never).
    pub used_ms: u64,
}

/// The counters of a rule, shared by the versions of a rule that a modify produces.
#[derive(Debug, Default)]
pub struct RuleStats {
    packets: AtomicU64,
    bytes: AtomicU64,
    used_ms: AtomicU64,
}

impl RuleStats {
    /// Adds `packets` and `bytes`, and moves the last-used time forward to `used_ms`.
    /// Safe to call from any thread.
    pub fn credit(&self, packets: u64, bytes: u64, used_ms: u64) {
        self.packets.fetch_add(packets, Ordering::Relaxed);
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
        self.used_ms.fetch_max(used_ms, Ordering::Relaxed);
    }

    /// The current counters.
    pub fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            packets: self.packets.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
            used_ms: self.used_ms.load(Ordering::Relaxed),
        }
    }

    /// New counters starting from `s`.
    pub fn from_snapshot(s: StatsSnapshot) -> RuleStats {
        RuleStats {
            packets: AtomicU64::new(s.packets),
            bytes: AtomicU64::new(s.bytes),
            used_ms: AtomicU64::new(s.used_ms),
        }
    }
}

/// One OpenFlow flow entry (see the module docs).
#[derive(Debug)]
pub struct Rule {
    /// A number unique among the rules of one table set, never reused; a modified rule
    /// gets a new id.
    pub id: u64,
    /// The table it is in.
    pub table_id: u8,
    /// The match (its prerequisites hold).
    pub match_: Match,
    /// The priority; OpenFlow uses 0..=65535, internal rules may use more.
    pub priority: u32,
    /// The cookie.
    pub cookie: u64,
    /// Idle timeout in seconds (0 = none).
    pub idle_timeout: u16,
    /// Hard timeout in seconds (0 = none), counted from `modified_ms`.
    pub hard_timeout: u16,
    /// Eviction importance (OpenFlow 1.4).
    pub importance: u16,
    /// Flow-mod flags.
    pub flags: FlowModFlags,
    /// When the rule was added, in the caller's milliseconds.
    pub created_ms: u64,
    /// When the rule was added or last modified.
    pub modified_ms: u64,
    /// The actions and instructions (empty = drop).
    pub actions: Arc<[Action]>,
    /// The counters (shared with the rule this one replaced by a modify).
    pub counters: Arc<RuleStats>,
}

impl Rule {
    /// The counters now.
    pub fn stats(&self) -> StatsSnapshot {
        self.counters.snapshot()
    }

    /// Credits the rule with traffic (see [`RuleStats::credit`]).
    pub fn credit(&self, packets: u64, bytes: u64, used_ms: u64) {
        self.counters.credit(packets, bytes, used_ms);
    }

    /// Whether the rule's idle or hard timeout has passed at `now_ms`, and which; the hard
    /// timeout wins when both have. The hard timeout counts from the last add or modify,
    /// the idle timeout from the last packet (or the add).
    pub fn expired(&self, now_ms: u64) -> Option<RemovedReason> {
        if self.hard_timeout != 0 && now_ms > self.modified_ms + u64::from(self.hard_timeout) * 1000
        {
            return Some(RemovedReason::HardTimeout);
        }
        if self.idle_timeout != 0 {
            // A modify restarts the hard timeout (it counts from `modified_ms`) but not the
            // idle timeout, as in OVS.
            let used = self.stats().used_ms.max(self.created_ms);
            if now_ms > used + u64::from(self.idle_timeout) * 1000 {
                return Some(RemovedReason::IdleTimeout);
            }
        }
        None
    }

    /// Whether the rule has a timeout at all.
    pub fn is_expirable(&self) -> bool {
        self.idle_timeout != 0 || self.hard_timeout != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(idle: u16, hard: u16) -> Rule {
        Rule {
            id: 1,
            table_id: 0,
            match_: Match::catchall(),
            priority: 0,
            cookie: 0,
            idle_timeout: idle,
            hard_timeout: hard,
            importance: 0,
            flags: FlowModFlags::empty(),
            created_ms: 1000,
            modified_ms: 1000,
            actions: Arc::from(vec![]),
            counters: Arc::new(RuleStats::default()),
        }
    }

    #[test]
    fn timeouts() {
        let r = rule(10, 0);
        assert_eq!(r.expired(11_000), None);
        assert_eq!(r.expired(11_001), Some(RemovedReason::IdleTimeout));
        r.credit(1, 60, 5000);
        assert_eq!(r.expired(11_001), None);
        assert_eq!(r.expired(15_001), Some(RemovedReason::IdleTimeout));
        let h = rule(10, 5);
        assert_eq!(h.expired(6_001), Some(RemovedReason::HardTimeout));
        assert!(!rule(0, 0).is_expirable());
        assert_eq!(rule(0, 0).expired(u64::MAX / 2), None);
    }
}
