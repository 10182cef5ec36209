//! OpenFlow port numbering (OVS's `alloc_ofp_port`).
//!
//! A port gets the number it asks for when that number is free and usable (`1..0xff00`).
//! Otherwise it gets the lowest free number in `1..=32767` that no port of this bridge
//! ever had, so that a controller does not mistake a new port for an old one; when every
//! number has been used, the lowest free one. The upper half of the range is left to
//! controllers' requests, as in OVS. A port named like its bridge is the local port
//! (`OFPP_LOCAL`, 65534).

use std::collections::{BTreeSet, HashSet};

use crate::flow::OfpPort;

/// The highest number allocated automatically.
pub const MAX_AUTO_PORT: u32 = 32767;

/// Tracks the numbers in use and ever used.
#[derive(Debug, Default)]
pub(crate) struct PortNumbers {
    in_use: BTreeSet<u32>,
    ever_used: HashSet<u32>,
    /// No number below this one is never-used (the set of used numbers only grows).
    fresh_from: u32,
}

impl PortNumbers {
    /// Whether `p` is taken.
    pub(crate) fn is_used(&self, p: OfpPort) -> bool {
        self.in_use.contains(&p.0)
    }

    /// Picks a number for a new port that asks for `request` (see the module docs);
    /// `None` when every number is taken.
    pub(crate) fn alloc(&mut self, request: Option<OfpPort>) -> Option<OfpPort> {
        if let Some(r) = request
            && r.0 >= 1
            && r.0 < OfpPort::MAX.0
            && !self.in_use.contains(&r.0)
        {
            self.take(r);
            return Some(r);
        }
        self.fresh_from = self.fresh_from.max(1);
        while self.fresh_from <= MAX_AUTO_PORT && self.ever_used.contains(&self.fresh_from) {
            self.fresh_from += 1;
        }
        let fresh = if self.fresh_from <= MAX_AUTO_PORT {
            self.fresh_from
        } else {
            (1..=MAX_AUTO_PORT).find(|n| !self.in_use.contains(n))?
        };
        self.take(OfpPort(fresh));
        Some(OfpPort(fresh))
    }

    /// Marks `p` as taken (the local port, or a number chosen elsewhere).
    pub(crate) fn take(&mut self, p: OfpPort) {
        self.in_use.insert(p.0);
        self.ever_used.insert(p.0);
    }

    /// Frees `p`.
    pub(crate) fn free(&mut self, p: OfpPort) {
        self.in_use.remove(&p.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_then_fresh_numbers() {
        let mut n = PortNumbers::default();
        assert_eq!(n.alloc(Some(OfpPort(5))), Some(OfpPort(5)));
        assert_eq!(n.alloc(Some(OfpPort(5))), Some(OfpPort(1)));
        assert_eq!(n.alloc(None), Some(OfpPort(2)));
        n.free(OfpPort(1));
        // 1 was used: a never-used number comes first.
        assert_eq!(n.alloc(None), Some(OfpPort(3)));
        assert_eq!(n.alloc(Some(OfpPort(0xff00))), Some(OfpPort(4)));
        assert!(n.is_used(OfpPort(4)));
        assert!(!n.is_used(OfpPort(1)));
    }

    #[test]
    fn reuse_when_all_used() {
        let mut n = PortNumbers::default();
        for _ in 1..=MAX_AUTO_PORT {
            assert!(n.alloc(None).is_some());
        }
        assert_eq!(n.alloc(None), None);
        n.free(OfpPort(7));
        assert_eq!(n.alloc(None), Some(OfpPort(7)));
    }
}
