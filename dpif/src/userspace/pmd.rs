//! Poll threads: the fast path.
//!
//! Each poll thread owns its rx queues (no two threads share one), its exact-match cache,
//! and its own copy of the megaflow classifier (one [`Dpcls`] per input port), which only
//! it reads and writes: lookups take no lock. The slow path changes a thread's tables by
//! sending it [`Cmd`]s; the thread applies them between batches and acknowledges the
//! datapath's command generation, which is how flow operations stay synchronous.
//!
//! One iteration: for each rx queue, receive up to 32 packets, extract their keys, look
//! them up in the EMC, then the classifier (subtable by subtable for the whole batch); on
//! a miss, apply pending commands and look up once more; update each hit flow's counters
//! once; execute the actions packet by packet, gathering outputs in one batch per port,
//! sent once per rx batch; misses go into the datapath's bounded upcall queue, or are
//! dropped and counted lost when it is full. Idle threads sleep in `poll(2)` on their rx
//! queues and their command notifier, unless a queue must be busy-polled.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender};
use netdev::poll::{Interest, Notifier, PollSet};
use netdev::{MAX_BURST, Netdev, Packet, PacketBatch, Rxq};

use super::dpcls::{Dpcls, RuleId};
use super::emc::{Emc, key_hash};
use super::flow::{DpFlow, UfidMap};
use super::shared::DpShared;
use super::stats::{AtomicPmdStats, PmdStats};
use super::upcall::UpcallItem;
use crate::odp::execute::{ExecuteCallbacks, execute};
use crate::odp::extract::extract;
use crate::odp::{Action, FlowKey, OdpPort, Ufid, Userspace};
use crate::provider::{UpcallKind, monotonic_ms};

/// Most times a packet recirculates (OVS's `MAX_RECIRC_DEPTH`).
pub(crate) const MAX_RECIRC_DEPTH: usize = 8;
/// How often the classifiers are re-ranked (OVS's `DPCLS_OPTIMIZATION_INTERVAL`).
const OPTIMIZE_INTERVAL_MS: u64 = 1000;
/// EMC entries swept for dead rules per optimization round.
const EMC_SWEEP: usize = 1024;
/// Shorter frames are dropped before extraction (an Ethernet header).
const MIN_FRAME: usize = 14;

const MISS: u32 = u32::MAX;
const DROP: u32 = u32::MAX - 1;

/// A change to a poll thread's tables, sent by the slow path.
pub(crate) enum Cmd {
    /// A new flow with its actions.
    FlowAdd(Arc<DpFlow>, Arc<[Action]>),
    /// A flow is gone.
    FlowDel(Ufid),
    /// A flow's actions changed.
    FlowActions(Ufid, Arc<[Action]>),
    /// Every flow is gone.
    FlowFlush,
    /// A port that outputs may go to.
    TxPortAdd(OdpPort, Arc<dyn Netdev>),
    /// An rx queue for this thread to poll.
    RxqAdd(RxqEntry),
    /// A port's rx queues are being reopened: drop the ones of this port.
    RxqDel(OdpPort),
    /// A port is gone: drop its rx queues and stop sending to it.
    PortDel(OdpPort),
    /// The EMC insertion inverse probability (0 disables the EMC).
    EmcInsert(u32),
    /// Exit, giving back the rx queues.
    Exit,
}

/// What the slow path keeps of a poll thread.
pub(crate) struct PmdShared {
    /// The thread's id (`pmd_id`).
    pub id: u32,
    /// The CPU it is pinned to, if any.
    pub core_id: Option<usize>,
    acked: AtomicU64,
    exited: AtomicBool,
    pub(crate) stats: AtomicPmdStats,
    n_rxqs: AtomicU64,
}

impl PmdShared {
    /// Whether the thread has applied every command published up to `target`, or exited.
    pub(crate) fn has_acked(&self, target: u64) -> bool {
        self.acked.load(Ordering::Acquire) >= target || self.exited.load(Ordering::Acquire)
    }

    /// How many rx queues the thread polls.
    pub(crate) fn n_rxqs(&self) -> usize {
        usize::try_from(self.n_rxqs.load(Ordering::Relaxed)).unwrap_or(0)
    }
}

/// The command link to one poll thread.
pub(crate) struct PmdLink {
    pub shared: Arc<PmdShared>,
    pub notifier: Arc<Notifier>,
    tx: Sender<Cmd>,
}

impl PmdLink {
    /// Sends a command (lost if the thread has exited).
    pub(crate) fn send(&self, cmd: Cmd) {
        let _ = self.tx.send(cmd);
    }
}

/// An rx queue and the port it belongs to.
pub(crate) struct RxqEntry {
    pub port_no: OdpPort,
    pub rxq: Box<dyn Rxq>,
    /// Busy-poll it (its class `is_pmd()`, or it has no descriptor).
    pub busy: bool,
    retry_at_ms: u64,
}

impl RxqEntry {
    pub(crate) fn new(port_no: OdpPort, rxq: Box<dyn Rxq>, is_pmd: bool) -> Self {
        let busy = is_pmd || rxq.fd().is_none();
        RxqEntry {
            port_no,
            rxq,
            busy,
            retry_at_ms: 0,
        }
    }
}

/// What a new poll thread starts with.
pub(crate) struct PmdInit {
    pub id: u32,
    pub index: usize,
    pub n_pmds: usize,
    pub core_id: Option<usize>,
    pub emc_inv_prob: u32,
    pub rxqs: Vec<RxqEntry>,
    pub tx_ports: Vec<(OdpPort, Arc<dyn Netdev>)>,
    pub upcall_tx: Sender<UpcallItem>,
}

/// A running poll thread, as the datapath's control side holds it.
pub(crate) struct PmdThread {
    pub shared: Arc<PmdShared>,
    pub notifier: Arc<Notifier>,
    tx: Sender<Cmd>,
    join: Option<JoinHandle<Vec<RxqEntry>>>,
}

impl PmdThread {
    /// Sends a command (lost if the thread has exited).
    pub(crate) fn send(&self, cmd: Cmd) {
        let _ = self.tx.send(cmd);
    }

    /// Stops the thread and returns its rx queues.
    pub(crate) fn stop(mut self) -> Vec<RxqEntry> {
        let _ = self.tx.send(Cmd::Exit);
        self.notifier.notify();
        match self.join.take().map(JoinHandle::join) {
            Some(Ok(rxqs)) => rxqs,
            _ => Vec::new(),
        }
    }
}

impl Drop for PmdThread {
    fn drop(&mut self) {
        if let Some(j) = self.join.take() {
            let _ = self.tx.send(Cmd::Exit);
            self.notifier.notify();
            let _ = j.join();
        }
    }
}

/// Threshold for EMC insertion with inverse probability `inv` (OVS: `UINT32_MAX / inv`).
fn emc_min(inv: u32) -> u32 {
    u32::MAX.checked_div(inv).unwrap_or(0)
}

/// Starts a poll thread. Registers its command link in the flow table and takes its
/// initial flows from it under the same lock, so that it misses no change.
///
/// # Errors
///
/// Failing to create the notifier or the thread.
pub(crate) fn spawn(dp: &Arc<DpShared>, mut init: PmdInit) -> std::io::Result<PmdThread> {
    let notifier = Arc::new(Notifier::new().map_err(std::io::Error::from)?);
    let (tx, rx) = crossbeam_channel::unbounded();
    let shared = Arc::new(PmdShared {
        id: init.id,
        core_id: init.core_id,
        acked: AtomicU64::new(0),
        exited: AtomicBool::new(false),
        stats: AtomicPmdStats::default(),
        n_rxqs: AtomicU64::new(init.rxqs.len() as u64),
    });
    let mut pmd = Pmd::new(dp.clone(), shared.clone(), notifier.clone(), rx, &init);
    pmd.rxqs = std::mem::take(&mut init.rxqs);
    {
        let mut flows = dp.flows.lock();
        pmd.acked = dp.cmd_gen.load(Ordering::Acquire);
        shared.acked.store(pmd.acked, Ordering::Release);
        for f in flows.snapshot() {
            let actions = f.actions();
            pmd.tables.add_flow(f, actions);
        }
        flows.pmds.push(PmdLink {
            shared: shared.clone(),
            notifier: notifier.clone(),
            tx: tx.clone(),
        });
    }
    let name = match init.core_id {
        Some(c) => format!("pmd-c{c:02}/id:{}", init.id),
        None => format!("pmd-id:{}", init.id),
    };
    let spawned = std::thread::Builder::new()
        .name(name)
        .spawn(move || pmd.run());
    match spawned {
        Ok(join) => Ok(PmdThread {
            shared,
            notifier,
            tx,
            join: Some(join),
        }),
        Err(e) => {
            dp.flows
                .lock()
                .pmds
                .retain(|l| !Arc::ptr_eq(&l.shared, &shared));
            Err(e)
        }
    }
}

/// A flow as a poll thread holds it.
struct Rule {
    flow: Arc<DpFlow>,
    actions: Arc<[Action]>,
    seq: u32,
    live: bool,
}

/// A poll thread's flow tables: rules, classifiers, EMC.
struct Tables {
    rules: Vec<Rule>,
    free: Vec<RuleId>,
    by_ufid: UfidMap<RuleId>,
    /// One classifier per input port.
    cls: Vec<(u32, Dpcls)>,
    emc: Emc,
    emc_min: u32,
    rng: u32,
    emc_sweep_at: usize,
    /// The sequence number of the next rule added: unique (until it wraps), so an id and
    /// sequence number seen before a change never name a rule added after it.
    next_seq: u32,
    /// What deleted rules hold instead of their flow and actions.
    tombstone: Arc<DpFlow>,
    no_actions: Arc<[Action]>,
}

#[inline(always)]
fn idx(id: u32) -> usize {
    usize::try_from(id).unwrap_or(usize::MAX)
}

#[inline]
fn alive(rules: &[Rule], r: u32, seq: u32) -> bool {
    rules
        .get(idx(r))
        .is_some_and(|rule| rule.live && rule.seq == seq)
}

impl Tables {
    fn new(emc_inv_prob: u32, seed: u32) -> Self {
        Tables {
            rules: Vec::new(),
            free: Vec::new(),
            by_ufid: UfidMap::default(),
            cls: Vec::new(),
            emc: Emc::new(),
            emc_min: emc_min(emc_inv_prob),
            rng: seed | 1,
            emc_sweep_at: 0,
            next_seq: 1,
            tombstone: Arc::new(DpFlow::tombstone()),
            no_actions: Arc::from(Vec::new()),
        }
    }

    fn cls_mut(&mut self, in_port: u32) -> Option<&mut Dpcls> {
        self.cls
            .iter_mut()
            .find(|(p, _)| *p == in_port)
            .map(|(_, c)| c)
    }

    fn add_flow(&mut self, flow: Arc<DpFlow>, actions: Arc<[Action]>) {
        if self.by_ufid.contains_key(&flow.ufid) {
            return;
        }
        let id = match self.free.pop() {
            Some(id) => id,
            None => match RuleId::try_from(self.rules.len()) {
                Ok(id) if id < DROP => {
                    self.rules.push(Rule {
                        flow: flow.clone(),
                        actions: actions.clone(),
                        seq: 0,
                        live: false,
                    });
                    id
                }
                _ => return,
            },
        };
        let in_port = flow.key.in_port;
        let cls = match self.cls.iter().position(|(p, _)| *p == in_port) {
            Some(i) => &mut self.cls[i].1,
            None => {
                self.cls.push((in_port, Dpcls::new()));
                let last = self.cls.len() - 1;
                &mut self.cls[last].1
            }
        };
        if !cls.insert(&flow.key, &flow.mask, id) {
            self.free.push(id);
            return;
        }
        let Some(rule) = self.rules.get_mut(idx(id)) else {
            return;
        };
        rule.seq = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1);
        rule.live = true;
        rule.actions = actions;
        self.by_ufid.insert(flow.ufid, id);
        rule.flow = flow;
    }

    fn del_flow(&mut self, ufid: &Ufid) {
        let Some(id) = self.by_ufid.remove(ufid) else {
            return;
        };
        let Some(rule) = self.rules.get_mut(idx(id)) else {
            return;
        };
        rule.live = false;
        rule.seq = rule.seq.wrapping_add(1);
        let (key, mask, in_port) = (rule.flow.key, rule.flow.mask, rule.flow.key.in_port);
        rule.actions = self.no_actions.clone();
        rule.flow = self.tombstone.clone();
        if let Some(cls) = self.cls_mut(in_port) {
            cls.remove(&key, &mask, id);
            if cls.is_empty() {
                self.cls.retain(|(p, _)| *p != in_port);
            }
        }
        self.free.push(id);
    }

    fn set_actions(&mut self, ufid: &Ufid, actions: Arc<[Action]>) {
        if let Some(&id) = self.by_ufid.get(ufid)
            && let Some(rule) = self.rules.get_mut(idx(id))
        {
            rule.actions = actions;
        }
    }

    fn flush(&mut self) {
        // Every rule id becomes unknown (rule ids in flight fail `alive`), and the EMC,
        // which names rules by id, is emptied too.
        self.rules.clear();
        self.free.clear();
        self.by_ufid.clear();
        self.cls.clear();
        self.emc.clear();
    }

    #[inline]
    fn random(&mut self) -> u32 {
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.rng = x;
        x
    }

    fn optimize(&mut self) {
        for (_, c) in &mut self.cls {
            c.optimize();
        }
        let rules = &self.rules;
        self.emc_sweep_at = self
            .emc
            .sweep(self.emc_sweep_at, EMC_SWEEP, |r, s| alive(rules, r, s));
    }
}

/// A port outputs go to, with its pending batch.
struct TxPort {
    port_no: u32,
    netdev: Arc<dyn Netdev>,
    batch: PacketBatch,
    qid: usize,
    concurrent: bool,
    dirty: bool,
}

/// The output side of a poll thread: it implements [`ExecuteCallbacks`].
struct Io {
    tx: Vec<TxPort>,
    dirty: Vec<usize>,
    recirc: PacketBatch,
    upcall_tx: Sender<UpcallItem>,
    pmd_id: u32,
    epoch: u64,
    index: usize,
    n_pmds: usize,
    /// `userspace` action upcalls lost to a full queue, folded into the stats per batch.
    action_lost: u64,
}

impl Io {
    fn send(t: &mut TxPort) {
        if !t.batch.is_empty() {
            // A failed send drops and counts the packets in the device.
            let _ = t.netdev.send(t.qid, &mut t.batch, t.concurrent);
            t.batch.clear();
        }
    }

    fn flush(&mut self) {
        for i in self.dirty.drain(..) {
            if let Some(t) = self.tx.get_mut(i) {
                t.dirty = false;
                Self::send(t);
            }
        }
    }

    fn add_port(&mut self, port_no: OdpPort, netdev: Arc<dyn Netdev>) {
        self.flush();
        let n_txq = netdev.n_txq().max(1);
        let (qid, concurrent) = if n_txq > self.n_pmds {
            (self.index, false)
        } else {
            (self.index % n_txq, true)
        };
        let t = TxPort {
            port_no: port_no.0,
            netdev,
            batch: PacketBatch::new(),
            qid,
            concurrent,
            dirty: false,
        };
        match self.tx.binary_search_by_key(&port_no.0, |t| t.port_no) {
            Ok(i) => self.tx[i] = t,
            Err(i) => self.tx.insert(i, t),
        }
        self.dirty.reserve(self.tx.len());
    }

    fn del_port(&mut self, port_no: OdpPort) {
        self.flush();
        self.tx.retain(|t| t.port_no != port_no.0);
    }

    fn enqueue_upcall(&mut self, item: UpcallItem) -> bool {
        self.upcall_tx.try_send(item).is_ok()
    }
}

impl ExecuteCallbacks for Io {
    #[inline]
    fn output(&mut self, port: OdpPort, pkt: Packet) {
        let Ok(i) = self.tx.binary_search_by_key(&port.0, |t| t.port_no) else {
            return;
        };
        let t = &mut self.tx[i];
        if !t.dirty {
            t.dirty = true;
            self.dirty.push(i);
        }
        if let Err(pkt) = t.batch.push(pkt) {
            Self::send(t);
            let _ = t.batch.push(pkt);
        }
        if t.batch.is_full() {
            Self::send(t);
        }
    }

    fn userspace(&mut self, pkt: &Packet, action: &Userspace) {
        let mut packet = pkt.clone_packet();
        let mut key = FlowKey::zero();
        extract(&mut packet, &mut key);
        let item = UpcallItem {
            kind: UpcallKind::Action,
            packet,
            key,
            userdata: action.userdata.clone(),
            pmd_id: Some(self.pmd_id),
            epoch: self.epoch,
        };
        if !self.enqueue_upcall(item) {
            self.action_lost += 1;
        }
    }

    fn recirc(&mut self, mut pkt: Packet, recirc_id: u32) {
        pkt.md.recirc_id = recirc_id;
        // A full recirculation batch drops the packet.
        let _ = self.recirc.push(pkt);
    }
}

/// Per-batch scratch space, allocated once.
struct Scratch {
    keys: Box<[FlowKey; MAX_BURST]>,
    hashes: [u32; MAX_BURST],
    rule_of: [u32; MAX_BURST],
    seq_of: [u32; MAX_BURST],
    rx: PacketBatch,
    work: PacketBatch,
}

struct Pmd {
    sh: Arc<PmdShared>,
    dp: Arc<DpShared>,
    cmds: Receiver<Cmd>,
    notifier: Arc<Notifier>,
    rxqs: Vec<RxqEntry>,
    tables: Tables,
    io: Io,
    scratch: Scratch,
    acked: u64,
    exit: bool,
    poll: PollSet,
    next_optimize_ms: u64,
}

impl Pmd {
    fn new(
        dp: Arc<DpShared>,
        sh: Arc<PmdShared>,
        notifier: Arc<Notifier>,
        cmds: Receiver<Cmd>,
        init: &PmdInit,
    ) -> Self {
        let mut io = Io {
            tx: Vec::new(),
            dirty: Vec::new(),
            recirc: PacketBatch::new(),
            upcall_tx: init.upcall_tx.clone(),
            pmd_id: init.id,
            epoch: dp.flush_epoch.load(Ordering::Acquire),
            index: init.index,
            n_pmds: init.n_pmds.max(1),
            action_lost: 0,
        };
        for (port_no, netdev) in &init.tx_ports {
            io.add_port(*port_no, netdev.clone());
        }
        Pmd {
            sh,
            dp,
            cmds,
            notifier,
            rxqs: Vec::new(),
            tables: Tables::new(init.emc_inv_prob, init.id.wrapping_mul(0x9e37_79b9) | 1),
            io,
            scratch: Scratch {
                keys: Box::new([FlowKey::zero(); MAX_BURST]),
                hashes: [0; MAX_BURST],
                rule_of: [MISS; MAX_BURST],
                seq_of: [0; MAX_BURST],
                rx: PacketBatch::new(),
                work: PacketBatch::new(),
            },
            acked: 0,
            exit: false,
            poll: PollSet::new(),
            next_optimize_ms: 0,
        }
    }

    fn pin(&self) {
        if let Some(cpu) = self.sh.core_id {
            let mut set = nix::sched::CpuSet::new();
            let res = set
                .set(cpu)
                .and_then(|()| nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &set));
            if let Err(e) = res {
                tracing::warn!(pmd = self.sh.id, cpu, "could not pin poll thread: {e}");
            }
        }
    }

    /// Applies every pending command and acknowledges the generation read first.
    fn drain_cmds(&mut self) {
        let g = self.dp.cmd_gen.load(Ordering::Acquire);
        while let Ok(cmd) = self.cmds.try_recv() {
            self.apply(cmd);
        }
        self.io.epoch = self.dp.flush_epoch.load(Ordering::Acquire);
        self.acked = g;
        self.sh.acked.store(g, Ordering::Release);
    }

    #[inline]
    fn cmds_pending(&self) -> bool {
        self.dp.cmd_gen.load(Ordering::Acquire) != self.acked
    }

    fn apply(&mut self, cmd: Cmd) {
        match cmd {
            Cmd::FlowAdd(flow, actions) => self.tables.add_flow(flow, actions),
            Cmd::FlowDel(ufid) => self.tables.del_flow(&ufid),
            Cmd::FlowActions(ufid, actions) => self.tables.set_actions(&ufid, actions),
            Cmd::FlowFlush => self.tables.flush(),
            Cmd::TxPortAdd(port_no, netdev) => self.io.add_port(port_no, netdev),
            Cmd::RxqAdd(entry) => {
                self.rxqs.push(entry);
                self.sh
                    .n_rxqs
                    .store(self.rxqs.len() as u64, Ordering::Relaxed);
            }
            Cmd::RxqDel(port_no) => {
                self.rxqs.retain(|r| r.port_no != port_no);
                self.sh
                    .n_rxqs
                    .store(self.rxqs.len() as u64, Ordering::Relaxed);
            }
            Cmd::PortDel(port_no) => {
                self.rxqs.retain(|r| r.port_no != port_no);
                self.sh
                    .n_rxqs
                    .store(self.rxqs.len() as u64, Ordering::Relaxed);
                self.io.del_port(port_no);
            }
            Cmd::EmcInsert(inv) => {
                self.tables.emc_min = emc_min(inv);
                if inv == 0 {
                    self.tables.emc.clear();
                }
            }
            Cmd::Exit => self.exit = true,
        }
    }

    fn run(mut self) -> Vec<RxqEntry> {
        // Whatever happens (even a bug that unwinds), the slow path stops waiting for us.
        struct Exited(Arc<PmdShared>);
        impl Drop for Exited {
            fn drop(&mut self) {
                self.0.exited.store(true, Ordering::Release);
            }
        }
        let _exited = Exited(self.sh.clone());
        self.pin();
        self.next_optimize_ms = monotonic_ms() + OPTIMIZE_INTERVAL_MS;
        let mut iter = 0u32;
        loop {
            // Commands that need no acknowledgement (exit) come without a new generation.
            if self.cmds_pending() || !self.cmds.is_empty() {
                self.drain_cmds();
            }
            if self.exit {
                break;
            }
            let mut got = 0;
            let mut qi = 0;
            while qi < self.rxqs.len() {
                got += self.poll_rxq(qi);
                qi += 1;
            }
            iter = iter.wrapping_add(1);
            if got == 0 {
                self.idle();
            } else if iter.is_multiple_of(64) {
                self.periodic(monotonic_ms());
            }
        }
        self.io.flush();
        // Hand the counters over so that the datapath's totals survive a restart.
        self.dp.retired.lock().add(&self.sh.stats.get());
        std::mem::take(&mut self.rxqs)
    }

    fn periodic(&mut self, now: u64) {
        if now >= self.next_optimize_ms {
            self.tables.optimize();
            self.next_optimize_ms = now + OPTIMIZE_INTERVAL_MS;
        }
    }

    fn idle(&mut self) {
        let now = monotonic_ms();
        self.periodic(now);
        if self.rxqs.iter().any(|r| r.busy) {
            std::hint::spin_loop();
            return;
        }
        self.poll.fd_wait(self.notifier.fd(), Interest::Read);
        let mut next = self.next_optimize_ms;
        for r in &self.rxqs {
            if r.retry_at_ms > now {
                next = next.min(r.retry_at_ms);
                continue;
            }
            if let Some(fd) = r.rxq.fd() {
                self.poll.fd_wait(fd, Interest::Read);
            }
        }
        self.poll
            .timer_wait_after(Duration::from_millis(next.saturating_sub(now).max(1)));
        let _ = self.poll.block();
        self.notifier.drain();
    }

    /// Receives one batch from rx queue `qi` and processes it. Returns how many packets
    /// arrived.
    fn poll_rxq(&mut self, qi: usize) -> usize {
        let mut rx = std::mem::take(&mut self.scratch.rx);
        let (n, port_no) = {
            let Some(entry) = self.rxqs.get_mut(qi) else {
                self.scratch.rx = rx;
                return 0;
            };
            if entry.retry_at_ms != 0 {
                if monotonic_ms() < entry.retry_at_ms {
                    self.scratch.rx = rx;
                    return 0;
                }
                entry.retry_at_ms = 0;
            }
            match entry.rxq.recv(&mut rx) {
                Ok(n) => (n, entry.port_no),
                Err(e) => {
                    tracing::debug!(port = entry.port_no.0, "receive failed: {e}");
                    entry.retry_at_ms = monotonic_ms() + 100;
                    rx.clear();
                    (0, entry.port_no)
                }
            }
        };
        if n > 0 {
            for p in rx.iter_mut() {
                p.md.in_port = port_no.0;
            }
            let mut d = PmdStats {
                rx_packets: rx.len() as u64,
                ..PmdStats::default()
            };
            let now = monotonic_ms();
            self.process(&mut rx, now, &mut d);
            let mut depth = 0;
            while !self.io.recirc.is_empty() && depth < MAX_RECIRC_DEPTH {
                let mut work = std::mem::take(&mut self.scratch.work);
                std::mem::swap(&mut work, &mut self.io.recirc);
                self.process(&mut work, now, &mut d);
                work.clear();
                self.scratch.work = work;
                depth += 1;
            }
            self.io.recirc.clear();
            d.lost += self.io.action_lost;
            self.io.action_lost = 0;
            // Counted before sent: whoever sees the packets out sees them counted.
            self.sh.stats.add(&d);
            self.io.flush();
        }
        rx.clear();
        self.scratch.rx = rx;
        n
    }

    /// Classifies and executes one batch whose packets carry their metadata.
    fn process(&mut self, batch: &mut PacketBatch, now: u64, d: &mut PmdStats) {
        let n = batch.len().min(MAX_BURST);
        let sc = &mut self.scratch;
        for (i, p) in batch.iter_mut().enumerate().take(n) {
            if p.len() < MIN_FRAME {
                sc.rule_of[i] = DROP;
            } else {
                extract(p, &mut sc.keys[i]);
                sc.rule_of[i] = MISS;
            }
        }
        let mut missing = self.classify(n, d);
        if missing != 0 && self.cmds_pending() {
            // A flow put that returned before these packets arrived must win: apply the
            // pending changes, drop hits on rules they removed, and look up once more.
            self.drain_cmds();
            let sc = &mut self.scratch;
            for i in 0..n {
                let r = sc.rule_of[i];
                if r < DROP && !alive(&self.tables.rules, r, sc.seq_of[i]) {
                    sc.rule_of[i] = MISS;
                    missing |= 1 << i;
                }
            }
            self.megaflow_pass(n, &mut missing, d);
        }
        self.dispatch(batch, n, now, d);
    }

    /// EMC then classifier. Returns the bitmap of packets that missed both.
    fn classify(&mut self, n: usize, d: &mut PmdStats) -> u32 {
        let sc = &mut self.scratch;
        let t = &mut self.tables;
        let use_emc = t.emc_min != 0;
        let mut missing = 0u32;
        if use_emc {
            // Hash the whole batch and start loading the cache entries first, so that the
            // lookups below do not each wait for memory in turn.
            for i in 0..n {
                let h = key_hash(&sc.keys[i]);
                sc.hashes[i] = h;
                t.emc.prefetch(h);
            }
        }
        for i in 0..n {
            if sc.rule_of[i] != MISS {
                continue;
            }
            if use_emc {
                let h = sc.hashes[i];
                if let Some((r, s)) = t.emc.lookup(h, &sc.keys[i])
                    && alive(&t.rules, r, s)
                {
                    sc.rule_of[i] = r;
                    sc.seq_of[i] = s;
                    d.emc_hits += 1;
                    continue;
                }
            }
            missing |= 1 << i;
        }
        if missing != 0 {
            self.megaflow_pass(n, &mut missing, d);
        }
        missing
    }

    /// Looks the packets of `missing` up in their input port's classifier; inserts hits
    /// in the EMC with the configured probability.
    fn megaflow_pass(&mut self, n: usize, missing: &mut u32, d: &mut PmdStats) {
        let sc = &mut self.scratch;
        let t = &mut self.tables;
        let keys = &sc.keys[..n];
        let mut todo = *missing;
        while todo != 0 {
            let first = idx(todo.trailing_zeros());
            let port = keys[first].in_port;
            let mut sub = 0u32;
            let mut bits = todo;
            while bits != 0 {
                let i = idx(bits.trailing_zeros());
                bits &= bits - 1;
                if keys[i].in_port == port {
                    sub |= 1 << i;
                }
            }
            todo &= !sub;
            let before = sub;
            if let Some((_, cls)) = t.cls.iter_mut().find(|(p, _)| *p == port) {
                d.subtable_lookups += cls.lookup_batch(keys, &mut sub, &mut sc.rule_of[..n]);
            }
            let hits = before & !sub;
            *missing &= !hits;
            d.megaflow_hits += u64::from(hits.count_ones());
            let mut bits = hits;
            while bits != 0 {
                let i = idx(bits.trailing_zeros());
                bits &= bits - 1;
                let r = sc.rule_of[i];
                let seq = t.rules.get(idx(r)).map_or(0, |rule| rule.seq);
                sc.seq_of[i] = seq;
                if t.emc_min != 0 && t.random() <= t.emc_min {
                    let rules = &t.rules;
                    t.emc
                        .insert(sc.hashes[i], &keys[i], r, seq, |r, s| alive(rules, r, s));
                }
            }
        }
    }

    /// Updates flow counters once per flow, then executes each packet's actions in order
    /// and queues the misses.
    fn dispatch(&mut self, batch: &mut PacketBatch, n: usize, now: u64, d: &mut PmdStats) {
        let sc = &mut self.scratch;
        let rules = &self.tables.rules;
        // Per-flow counters: (rule, packets, bytes, tcp_flags).
        let mut groups = [(0u32, 0u64, 0u64, 0u16); MAX_BURST];
        let mut ng = 0;
        let mut last = 0;
        for (i, p) in batch.iter().enumerate().take(n) {
            let r = sc.rule_of[i];
            if r >= DROP {
                continue;
            }
            let g = if ng > 0 && groups[last].0 == r {
                last
            } else {
                match groups[..ng].iter().position(|g| g.0 == r) {
                    Some(g) => g,
                    None => {
                        groups[ng] = (r, 0, 0, 0);
                        ng += 1;
                        ng - 1
                    }
                }
            };
            if g + 1 == ng
                && let Some(rule) = rules.get(idx(r))
            {
                // A new flow in this batch: start loading its counters.
                std::hint::black_box(rule.flow.counters.peek());
            }
            last = g;
            let e = &mut groups[g];
            e.1 += 1;
            e.2 += p.len() as u64;
            e.3 |= sc.keys[i].tcp_flags;
        }
        for &(r, pkts, bytes, flags) in &groups[..ng] {
            if let Some(rule) = rules.get(idx(r)) {
                rule.flow.counters.add(pkts, bytes, now, flags);
            }
        }
        for (i, pkt) in batch.drain().enumerate() {
            let r = sc.rule_of.get(i).copied().unwrap_or(DROP);
            match r {
                DROP => drop(pkt),
                MISS => {
                    d.misses += 1;
                    let item = UpcallItem {
                        kind: UpcallKind::Miss,
                        packet: pkt,
                        key: sc.keys[i],
                        userdata: None,
                        pmd_id: Some(self.io.pmd_id),
                        epoch: self.io.epoch,
                    };
                    if !self.io.enqueue_upcall(item) {
                        d.lost += 1;
                    }
                }
                r => match rules.get(idx(r)) {
                    Some(rule) if rule.live => {
                        execute(pkt, &sc.keys[i], &rule.actions, &mut self.io);
                    }
                    _ => drop(pkt),
                },
            }
        }
    }
}
