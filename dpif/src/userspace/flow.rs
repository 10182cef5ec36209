//! Datapath flows and the authoritative flow table.
//!
//! [`DpFlow`] is one megaflow: its UFID, masked key and mask never change; its actions can
//! be replaced by a modify (OVS swaps `netdev_flow->actions` the same way, so the flow, and
//! its counters, stay one object); its counters are relaxed atomics that poll threads bump
//! once per flow per batch.
//!
//! [`Flows`] is the table the slow path owns (behind the datapath's flow mutex): UFID →
//! flow, a classifier over all flows (to find an existing flow that matches a new one's
//! key, as OVS does before installing, and to look recirculated packets up in the slow
//! path), and the command links to the poll threads, each of which keeps its own copy of
//! the classifier.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use parking_lot::Mutex;

use super::dpcls::{Dpcls, RuleId};
use super::pmd::{Cmd, PmdLink};
use crate::error::{Error, Result};
use crate::odp::{Action, FlowKey, Ufid};
use crate::provider::{DpifFlow, FlowPut, FlowStats, PutFlags};

/// The counters of one flow.
#[derive(Debug, Default)]
pub(crate) struct FlowCounters {
    packets: AtomicU64,
    bytes: AtomicU64,
    used_ms: AtomicU64,
    tcp_flags: AtomicU32,
}

impl FlowCounters {
    /// Adds `packets` packets of `bytes` bytes seen at `now_ms` with `tcp_flags`.
    #[inline]
    pub(crate) fn add(&self, packets: u64, bytes: u64, now_ms: u64, tcp_flags: u16) {
        self.packets.fetch_add(packets, Ordering::Relaxed);
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
        if self.used_ms.load(Ordering::Relaxed) < now_ms {
            self.used_ms.fetch_max(now_ms, Ordering::Relaxed);
        }
        if tcp_flags != 0 {
            self.tcp_flags
                .fetch_or(u32::from(tcp_flags), Ordering::Relaxed);
        }
    }

    /// Reads the packet count (to bring the counters into cache ahead of an update).
    #[inline(always)]
    pub(crate) fn peek(&self) -> u64 {
        self.packets.load(Ordering::Relaxed)
    }

    pub(crate) fn get(&self) -> FlowStats {
        FlowStats {
            n_packets: self.packets.load(Ordering::Relaxed),
            n_bytes: self.bytes.load(Ordering::Relaxed),
            used_ms: self.used_ms.load(Ordering::Relaxed),
            tcp_flags: u16::try_from(self.tcp_flags.load(Ordering::Relaxed) & 0xffff).unwrap_or(0),
        }
    }

    fn zero(&self) {
        self.packets.store(0, Ordering::Relaxed);
        self.bytes.store(0, Ordering::Relaxed);
        self.used_ms.store(0, Ordering::Relaxed);
        self.tcp_flags.store(0, Ordering::Relaxed);
    }
}

/// One datapath flow.
#[derive(Debug)]
pub(crate) struct DpFlow {
    /// Counters, first so that the poll threads touch one cache line.
    pub counters: FlowCounters,
    /// The UFID it is indexed by.
    pub ufid: Ufid,
    /// The key, masked.
    pub key: FlowKey,
    /// The mask (`in_port` always exact).
    pub mask: FlowKey,
    actions: Mutex<Arc<[Action]>>,
}

impl DpFlow {
    /// A flow that stands in for deleted ones in the poll threads' rule slots, so that
    /// deleting releases the real flow without allocating.
    pub(crate) fn tombstone() -> DpFlow {
        DpFlow {
            counters: FlowCounters::default(),
            ufid: Ufid(0),
            key: FlowKey::zero(),
            mask: FlowKey::zero(),
            actions: Mutex::new(Arc::from(Vec::new())),
        }
    }

    /// The current actions.
    pub(crate) fn actions(&self) -> Arc<[Action]> {
        self.actions.lock().clone()
    }

    /// The flow as [`crate::Dpif::flow_dump`] gives it.
    pub(crate) fn to_dpif_flow(&self, terse: bool) -> DpifFlow {
        DpifFlow {
            ufid: self.ufid,
            key: (!terse).then_some(self.key),
            mask: (!terse).then_some(self.mask),
            actions: (!terse).then(|| self.actions().to_vec()),
            stats: self.counters.get(),
            pmd_id: None,
        }
    }
}

/// A hasher for maps keyed by [`Ufid`]: UFIDs are hashes already, so their bits are
/// used as they are (folded to 64), which costs nothing next to SipHash.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct UfidHasher(u64);

impl std::hash::Hasher for UfidHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u128(&mut self, v: u128) {
        let lo = u64::try_from(v & u128::from(u64::MAX)).unwrap_or(0);
        let hi = u64::try_from(v >> 64).unwrap_or(0);
        self.0 ^= lo ^ hi.rotate_left(32);
    }
}

/// A map keyed by [`Ufid`].
pub(crate) type UfidMap<V> = HashMap<Ufid, V, std::hash::BuildHasherDefault<UfidHasher>>;

/// The mask a flow is installed with: the caller's, with `in_port` forced exact (as
/// dpif-netdev does: every datapath flow matches one input port).
pub(crate) fn install_mask(mask: &FlowKey) -> FlowKey {
    let mut m = *mask;
    m.in_port = u32::MAX;
    m
}

/// The authoritative flow table, guarded by the datapath's flow mutex.
#[derive(Default)]
pub(crate) struct Flows {
    by_ufid: UfidMap<RuleId>,
    slab: Vec<Option<Arc<DpFlow>>>,
    free: Vec<RuleId>,
    cls: Dpcls,
    /// The poll threads' command links.
    pub pmds: Vec<PmdLink>,
}

/// What changed in a put, for the caller to tell apart.
pub(crate) enum PutOutcome {
    /// A new flow.
    Created,
    /// An existing flow got new actions; its counters as they were before.
    Modified(FlowStats),
}

impl Flows {
    /// How many flows.
    pub(crate) fn len(&self) -> usize {
        self.by_ufid.len()
    }

    /// How many distinct masks.
    pub(crate) fn n_masks(&self) -> usize {
        self.cls.n_subtables()
    }

    fn flow(&self, id: RuleId) -> Option<&Arc<DpFlow>> {
        self.slab
            .get(usize::try_from(id).ok()?)
            .and_then(Option::as_ref)
    }

    /// The flow with this UFID.
    pub(crate) fn get(&self, ufid: &Ufid) -> Option<&Arc<DpFlow>> {
        self.by_ufid.get(ufid).and_then(|&id| self.flow(id))
    }

    /// The flow that matches `key`, if any.
    pub(crate) fn lookup(&self, key: &FlowKey) -> Option<&Arc<DpFlow>> {
        self.cls.find(key).and_then(|id| self.flow(id))
    }

    /// The flow with this UFID or, failing that, the flow whose masked key is exactly
    /// `key` (for callers that know a flow by its dumped key, as `ovs-dpctl` does).
    pub(crate) fn find(&self, ufid: &Ufid, key: Option<&FlowKey>) -> Option<&Arc<DpFlow>> {
        self.get(ufid).or_else(|| {
            let k = key?;
            self.lookup(k).filter(|f| f.key.words() == k.words())
        })
    }

    /// Every flow (for a dump).
    pub(crate) fn snapshot(&self) -> Vec<Arc<DpFlow>> {
        self.slab.iter().flatten().cloned().collect()
    }

    /// Sends a command to every poll thread.
    pub(crate) fn broadcast(&self, mut cmd: impl FnMut() -> Cmd) {
        for link in &self.pmds {
            link.send(cmd());
        }
    }

    /// Creates or modifies a flow as `put` says (see [`crate::Dpif::operate`]), and tells
    /// the poll threads.
    ///
    /// A flow exists if it has `put.ufid`, or if it matches `put.key` (OVS looks the key up
    /// before installing, so a racing upcall for another packet of the same megaflow finds
    /// the first one's flow).
    pub(crate) fn put(&mut self, put: FlowPut) -> Result<PutOutcome> {
        let existing = self
            .get(&put.ufid)
            .or_else(|| self.lookup(&put.key))
            .cloned();
        match existing {
            Some(flow) => {
                if !put.flags.contains(PutFlags::MODIFY) {
                    return Err(Error::exists("flow put", "flow", flow.ufid));
                }
                let before = flow.counters.get();
                let actions: Arc<[Action]> = put.actions.into();
                *flow.actions.lock() = actions.clone();
                if put.flags.contains(PutFlags::ZERO_STATS) {
                    flow.counters.zero();
                }
                let ufid = flow.ufid;
                self.broadcast(|| Cmd::FlowActions(ufid, actions.clone()));
                Ok(PutOutcome::Modified(before))
            }
            None => {
                if !put.flags.contains(PutFlags::CREATE) {
                    return Err(Error::not_found("flow put", "flow", put.ufid));
                }
                let mask = install_mask(&put.mask);
                let actions: Arc<[Action]> = put.actions.into();
                let flow = Arc::new(DpFlow {
                    counters: FlowCounters::default(),
                    ufid: put.ufid,
                    key: put.key.masked(&mask),
                    mask,
                    actions: Mutex::new(actions.clone()),
                });
                let id = match self.free.pop() {
                    Some(id) => id,
                    None => RuleId::try_from(self.slab.len())
                        .map_err(|_| Error::invalid("flow put", "flow table is full"))?,
                };
                if !self.cls.insert(&flow.key, &flow.mask, id) {
                    self.free.push(id);
                    return Err(Error::exists("flow put", "flow", put.ufid));
                }
                let slot = usize::try_from(id).unwrap_or(usize::MAX);
                if slot >= self.slab.len() {
                    self.slab.resize(slot + 1, None);
                }
                self.slab[slot] = Some(flow.clone());
                self.by_ufid.insert(flow.ufid, id);
                self.broadcast(|| Cmd::FlowAdd(flow.clone(), actions.clone()));
                Ok(PutOutcome::Created)
            }
        }
    }

    /// Deletes the flow with `ufid` (or, failing that, the one whose masked key is `key`)
    /// and tells the poll threads. Returns it.
    pub(crate) fn del(&mut self, ufid: &Ufid, key: Option<&FlowKey>) -> Result<Arc<DpFlow>> {
        let found = self
            .find(ufid, key)
            .map(|f| f.ufid)
            .ok_or_else(|| Error::not_found("flow del", "flow", ufid))?;
        let id = self
            .by_ufid
            .get(&found)
            .copied()
            .ok_or_else(|| Error::not_found("flow del", "flow", ufid))?;
        let slot = usize::try_from(id).unwrap_or(usize::MAX);
        let flow = self
            .slab
            .get_mut(slot)
            .and_then(Option::take)
            .ok_or_else(|| Error::not_found("flow del", "flow", ufid))?;
        self.cls.remove(&flow.key, &flow.mask, id);
        self.by_ufid.remove(&flow.ufid);
        self.free.push(id);
        let u = flow.ufid;
        self.broadcast(|| Cmd::FlowDel(u));
        Ok(flow)
    }

    /// Deletes every flow and tells the poll threads.
    pub(crate) fn flush(&mut self) {
        self.by_ufid.clear();
        self.slab.clear();
        self.free.clear();
        self.cls.clear();
        self.broadcast(|| Cmd::FlowFlush);
    }
}
