//! The *backer*: one datapath per datapath type (`ovs-netdev`, `ovs-system`, `ovs-dummy`),
//! shared by every bridge of that type (OVS's `struct dpif_backer` and `struct udpif`).
//!
//! It owns what the threads share: the datapath handle, the map from datapath port to
//! (bridge, OpenFlow port) that lets an upcall find its bridge, the *ukeys* (one per
//! installed datapath flow: its key, mask, actions, the rules it hit, the MAC entries it
//! refreshes, the statistics pushed so far), the revalidation sequence number, and the
//! counters `upcall/show` prints.
//!
//! # Lock order
//!
//! `ports`, `bridges` and each bridge's `xbridge` are read-copy-update snapshots: their
//! locks are held only to clone or swap an `Arc`, never while taking another lock.
//! Otherwise: `ukeys` (the map) → one ukey's `state` → a bridge's MAC table → `rounds` →
//! `ctl`. No lock is held across a datapath call, except one ukey's `state` while the
//! revalidator decides that ukey's fate (no datapath callback takes it).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use dpif::odp::{self, FlowKey, OdpPort, Ufid};
use dpif::{Dpif, FlowStats, Upcall, UpcallKind, monotonic_ms};
use netdev::Netdev;
use parking_lot::{Condvar, Mutex, RwLock};

use super::GlobalConfig;
use super::cookie::{ControllerCookie, reason_from_number};
use super::mac_learning::MacTable;
use super::pinq::PinQueue;
use super::xlate::{GroupHit, Learn, XBridge, XlateIn, xlate};
use crate::actions::PacketInReason;
use crate::flow::{Flow, OfpPort};
use crate::packet_in::PacketIn;
use crate::rule::Rule;

/// Who owns a datapath port.
#[derive(Clone)]
pub(crate) struct PortOwner {
    pub bridge: Arc<BridgeShared>,
    pub ofp: OfpPort,
    pub name: String,
    pub netdev: Arc<dyn Netdev>,
}

/// The part of a bridge that handler and revalidator threads use.
pub(crate) struct BridgeShared {
    pub name: String,
    /// A number unique among the bridges of the backer (packet-ins name their bridge by it).
    pub id: u32,
    /// Packet-ins for the main loop.
    pub pins: PinQueue,
    /// What translation reads; replaced as a whole.
    pub xbridge: RwLock<Arc<XBridge>>,
    pub ml: Mutex<MacTable>,
    /// Ports that vanished from the datapath, for the bridge's `port_poll`.
    pub vanished: Mutex<Vec<String>>,
}

impl BridgeShared {
    pub(crate) fn snapshot(&self) -> Arc<XBridge> {
        self.xbridge.read().clone()
    }
}

/// One installed (or about to be installed) datapath flow (OVS's `struct udpif_key`).
pub(crate) struct Ukey {
    pub ufid: Ufid,
    /// The key of the packet that made it.
    pub key: FlowKey,
    pub created_ms: u64,
    pub state: Mutex<UkeyState>,
}

/// The changing part of a [`Ukey`].
pub(crate) struct UkeyState {
    /// The mask it was installed with.
    pub mask: FlowKey,
    /// The actions of its last translation.
    pub actions: Vec<odp::Action>,
    /// The rules that translation hit (statistics go to them).
    pub rules: Vec<Arc<Rule>>,
    /// The groups and buckets it ran (statistics go to them too).
    pub groups: Vec<GroupHit>,
    /// The MAC entries its packets refresh.
    pub learned: Vec<Learn>,
    /// The bridge's name (`None`: a drop flow for an unknown port).
    pub bridge: Option<String>,
    /// [`BackerShared::reval_seq`] when it was translated.
    pub reval_seq: u64,
    /// The datapath counters already credited to the rules.
    pub pushed: FlowStats,
    /// Consecutive dumps that did not show its flow.
    pub missed_dumps: u32,
}

/// Counters for `upcall/show` and `memory/show`.
#[derive(Debug, Default)]
pub(crate) struct UpcallCounters {
    pub misses: AtomicU64,
    pub action_upcalls: AtomicU64,
    pub controller: AtomicU64,
    pub bad: AtomicU64,
    pub unknown_port: AtomicU64,
    pub not_installed: AtomicU64,
}

/// A log rate limit: at most [`LogLimit::BURST`] messages per [`LogLimit::WINDOW_MS`].
#[derive(Debug, Default)]
pub(crate) struct LogLimit {
    /// The window's start (ms) and the messages logged in it.
    window: Mutex<(u64, u32)>,
}

impl LogLimit {
    const BURST: u32 = 5;
    const WINDOW_MS: u64 = 10_000;

    /// Whether a message may be logged at `now_ms`.
    pub(crate) fn allow(&self, now_ms: u64) -> bool {
        let mut w = self.window.lock();
        if now_ms.saturating_sub(w.0) >= Self::WINDOW_MS {
            *w = (now_ms, 0);
        }
        w.1 += 1;
        w.1 <= Self::BURST
    }
}

/// Statistics of the revalidator's dumps.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct DumpStats {
    pub duration_ms: u64,
    pub avg_n_flows: u64,
    pub max_n_flows: u64,
    pub n_flows: u64,
}

/// Revalidator signalling.
#[derive(Debug, Default)]
pub(crate) struct RevalCtl {
    pub kicked: bool,
    pub stop: bool,
}

/// Rounds started and completed, for `revalidator/wait`.
#[derive(Debug, Default)]
pub(crate) struct Rounds {
    pub started: u64,
    pub completed: u64,
}

/// What the threads of a backer share (see the module docs).
pub(crate) struct BackerShared {
    pub dpif: Arc<dyn Dpif>,
    pub config: Arc<GlobalConfig>,
    pub ports: RwLock<Arc<HashMap<u32, PortOwner>>>,
    pub bridges: RwLock<Arc<BTreeMap<String, Arc<BridgeShared>>>>,
    pub ukeys: Mutex<HashMap<Ufid, Arc<Ukey>>>,
    /// Goes up whenever something translation reads changed.
    pub reval_seq: AtomicU64,
    /// Goes up after every revalidation round.
    pub dump_seq: AtomicU64,
    /// The flow limit in force (OVS's dynamic limit).
    pub flow_limit: AtomicU32,
    pub counters: UpcallCounters,
    /// Limits the warnings of handler threads about refused operations.
    pub op_warn_limit: LogLimit,
    pub dump_stats: Mutex<DumpStats>,
    pub ctl: Mutex<RevalCtl>,
    pub ctl_cv: Condvar,
    pub rounds: Mutex<Rounds>,
    pub rounds_cv: Condvar,
    /// Handler threads stop when set.
    pub stop: AtomicBool,
    /// Whether the datapath calls a callback (userspace) rather than `recv`.
    pub callback_mode: AtomicBool,
    /// Number of handler threads (kernel style).
    pub n_handlers: AtomicU32,
    /// A small id of the revalidator thread, for `upcall/show`.
    pub revalidator_id: u32,
    /// The id the next bridge gets.
    pub next_bridge_id: AtomicU32,
}

/// What to do with an upcall's packet.
#[derive(Clone, Debug)]
pub(crate) struct Decision {
    pub actions: Vec<odp::Action>,
    pub mask: FlowKey,
    pub install: bool,
}

impl BackerShared {
    /// Makes everything translation reads look new: every flow is re-translated in the
    /// next revalidation round, which starts at once.
    pub(crate) fn revalidate(&self) {
        self.reval_seq.fetch_add(1, Ordering::AcqRel);
        self.kick();
    }

    /// Wakes the revalidator for a round now.
    pub(crate) fn kick(&self) {
        let mut c = self.ctl.lock();
        c.kicked = true;
        self.ctl_cv.notify_all();
    }

    pub(crate) fn owner(&self, odp_port: u32) -> Option<PortOwner> {
        self.ports.read().get(&odp_port).cloned()
    }

    pub(crate) fn bridge(&self, name: &str) -> Option<Arc<BridgeShared>> {
        self.bridges.read().get(name).cloned()
    }

    fn bridge_by_id(&self, id: u32) -> Option<Arc<BridgeShared>> {
        self.bridges.read().values().find(|b| b.id == id).cloned()
    }

    /// Replaces the port map with `f` applied to a copy of it.
    pub(crate) fn update_ports(&self, f: impl FnOnce(&mut HashMap<u32, PortOwner>)) {
        let mut guard = self.ports.write();
        let mut m = (**guard).clone();
        f(&mut m);
        *guard = Arc::new(m);
    }

    /// Replaces the bridge map with `f` applied to a copy of it.
    pub(crate) fn update_bridges(&self, f: impl FnOnce(&mut BTreeMap<String, Arc<BridgeShared>>)) {
        let mut guard = self.bridges.write();
        let mut m = (**guard).clone();
        f(&mut m);
        *guard = Arc::new(m);
    }

    /// The number of ukeys (installed flows, as far as the switch knows).
    pub(crate) fn n_ukeys(&self) -> usize {
        self.ukeys.lock().len()
    }

    /// Handles one upcall (both styles): translates a miss, credits the packet to the rules
    /// it hits, records a ukey when the flow is to be installed, and returns the actions
    /// (OVS's `upcall_cb` / `process_upcall`).
    pub(crate) fn handle_upcall(&self, up: &Upcall) -> Decision {
        match up.kind {
            UpcallKind::Miss => self.handle_miss(up),
            UpcallKind::Action => {
                self.counters.action_upcalls.fetch_add(1, Ordering::Relaxed);
                match up
                    .userdata
                    .as_deref()
                    .and_then(ControllerCookie::decode_with_userdata)
                {
                    Some((cookie, userdata)) => {
                        self.counters.controller.fetch_add(1, Ordering::Relaxed);
                        self.packet_in(up, &cookie, userdata);
                    }
                    None => {
                        self.counters.bad.fetch_add(1, Ordering::Relaxed);
                    }
                }
                Decision {
                    actions: Vec::new(),
                    mask: FlowKey::exact_mask(),
                    install: false,
                }
            }
        }
    }

    /// Queues the packet of a `controller` action upcall for its bridge's controllers (OVS's
    /// `process_upcall` for `CONTROLLER_UPCALL`): the packet as it was when sent, the rule's
    /// table and cookie, and the metadata the flow key knows (in_port, pkt_mark).
    fn packet_in(&self, up: &Upcall, cookie: &ControllerCookie, userdata: &[u8]) {
        if cookie.dont_send {
            return;
        }
        let Some(br) = self.bridge_by_id(cookie.bridge_id) else {
            self.counters.bad.fetch_add(1, Ordering::Relaxed);
            return;
        };
        br.pins.push_with(monotonic_ms(), || {
            let mut metadata = Flow::zero();
            metadata.set_in_port(OfpPort(cookie.in_port));
            metadata.set_pkt_mark(up.key.skb_mark);
            PacketIn {
                packet: up.packet.data().to_vec(),
                reason: reason_from_number(cookie.reason).unwrap_or(PacketInReason::Action),
                table_id: cookie.table_id,
                cookie: cookie.rule_cookie,
                metadata,
                max_len: cookie.max_len,
                controller_id: cookie.controller_id,
                userdata: (!userdata.is_empty()).then(|| userdata.to_vec()),
            }
        });
    }

    fn handle_miss(&self, up: &Upcall) -> Decision {
        self.counters.misses.fetch_add(1, Ordering::Relaxed);
        let seq = self.reval_seq.load(Ordering::Acquire);
        let now = monotonic_ms();
        let (actions, mask, rules, groups, learned, bridge) = match self.owner(up.key.in_port) {
            None => {
                // A port nobody owns (just deleted, or added behind our back): drop its
                // packets with an exact-match flow, as OVS does.
                self.counters.unknown_port.fetch_add(1, Ordering::Relaxed);
                (
                    Vec::new(),
                    FlowKey::exact_mask(),
                    Vec::new(),
                    Vec::new(),
                    Vec::new(),
                    None,
                )
            }
            Some(owner) => {
                let xb = owner.bridge.snapshot();
                let flow = Flow::from_dp_key(&up.key, owner.ofp);
                let out = xlate(XlateIn {
                    bridge: &xb,
                    ml: &owner.bridge.ml,
                    flow,
                    side_effects: true,
                    now_ms: now,
                    actions: None,
                    trace: None,
                });
                let len = u64::try_from(up.packet.len()).unwrap_or(u64::MAX);
                for r in &out.rules {
                    r.credit(1, len, now);
                }
                for g in &out.groups {
                    g.group.credit(g.bucket, 1, len, now);
                }
                if out.mac_changed {
                    self.revalidate();
                }
                let mask = out.dp_mask();
                (
                    out.actions,
                    mask,
                    out.rules,
                    out.groups,
                    out.learned,
                    Some(owner.bridge.name.clone()),
                )
            }
        };
        let limit = usize::try_from(self.flow_limit.load(Ordering::Relaxed)).unwrap_or(usize::MAX);
        let mut ukeys = self.ukeys.lock();
        let install = ukeys.len() < limit || ukeys.contains_key(&up.ufid);
        if install {
            let ukey = Arc::new(Ukey {
                ufid: up.ufid,
                key: up.key,
                created_ms: now,
                state: Mutex::new(UkeyState {
                    mask,
                    actions: actions.clone(),
                    rules,
                    groups,
                    learned,
                    bridge,
                    // A ukey that replaces another may describe a flow installed with the
                    // other's actions: have the next round look at it.
                    reval_seq: if ukeys.contains_key(&up.ufid) { 0 } else { seq },
                    pushed: FlowStats::default(),
                    missed_dumps: 0,
                }),
            });
            ukeys.insert(up.ufid, ukey);
        } else {
            self.counters.not_installed.fetch_add(1, Ordering::Relaxed);
        }
        drop(ukeys);
        Decision {
            actions,
            mask,
            install,
        }
    }

    /// Picks up port changes in the datapath: a port a bridge owns that is gone (or now has
    /// another number) goes to that bridge's `vanished` list.
    pub(crate) fn poll_ports(&self) {
        let mut all = false;
        let mut names = Vec::new();
        for _ in 0..1024 {
            match self.dpif.port_poll() {
                Ok(Some(dpif::PortChange::Changed(n))) => names.push(n),
                Ok(Some(dpif::PortChange::Unknown)) => all = true,
                Ok(None) => break,
                Err(e) => {
                    tracing::debug!("{}: port poll: {e}", self.dpif.name());
                    all = true;
                    break;
                }
            }
        }
        if !all && names.is_empty() {
            return;
        }
        let ports = self.ports.read().clone();
        let mut gone = Vec::new();
        for (odp_no, o) in ports.iter() {
            if !all && !names.contains(&o.name) {
                continue;
            }
            let still = matches!(self.dpif.port_query_by_name(&o.name), Ok(p) if p.port_no == OdpPort(*odp_no));
            if !still {
                gone.push(o.clone());
            }
        }
        for o in gone {
            let mut v = o.bridge.vanished.lock();
            if !v.contains(&o.name) {
                v.push(o.name.clone());
            }
        }
    }

    /// Blocks until a revalidation round that starts after this call has completed, or
    /// `timeout` passed.
    pub(crate) fn wait_round(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        let mut r = self.rounds.lock();
        let target = r.started + 1;
        self.kick();
        while r.completed < target {
            if self.rounds_cv.wait_until(&mut r, deadline).timed_out() {
                break;
            }
        }
    }
}

/// The handle a bridge holds: the shared state and the threads. Dropping the last handle
/// stops the threads.
pub(crate) struct Backer {
    pub shared: Arc<BackerShared>,
    pub threads: Mutex<Vec<JoinHandle<()>>>,
    /// Wakes kernel-style handler threads to stop.
    pub handler_wake: Option<Arc<netdev::poll::Notifier>>,
}

impl Drop for Backer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        {
            let mut c = self.shared.ctl.lock();
            c.stop = true;
            self.shared.ctl_cv.notify_all();
        }
        if let Some(n) = &self.handler_wake {
            n.notify();
        }
        for t in self.threads.lock().drain(..) {
            let _ = t.join();
        }
        if !self.shared.callback_mode.load(Ordering::Acquire) {
            let _ = self.shared.dpif.recv_set(false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::LogLimit;

    #[test]
    fn log_limit_allows_a_burst_per_window() {
        let l = LogLimit::default();
        let t0 = 1_000_000;
        assert!((0..5).all(|i| l.allow(t0 + i)));
        assert!(!l.allow(t0 + 10));
        assert!(!l.allow(t0 + 9_999));
        assert!(l.allow(t0 + 10_000));
    }
}
