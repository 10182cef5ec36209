//! One userspace datapath and the [`Dpif`] handles to it.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};

use netdev::poll::{Interest, Notifier, PollSet};
use netdev::{Netdev, NetdevFlags, Options, Registry};
use parking_lot::Mutex;

use super::config::{Config, choose_port_no};
use super::flow::{DpFlow, PutOutcome};
use super::pmd::{self, Cmd, PmdInit, PmdThread, RxqEntry};
use super::shared::{DpShared, UpcallQueue, wait_acked};
use super::stats::PmdStats;
use super::upcall::{HandlerThread, SlowPath};
use crate::error::{Error, Result};
use crate::odp::extract::extract;
use crate::odp::{FlowKey, OdpPort};
use crate::provider::{
    DpStats, Dpif, DpifFlow, DpifOp, DpifPort, OpReply, PortChange, UpcallCallback,
};

/// Port changes remembered for [`Dpif::port_poll`]; a reader further behind gets
/// [`PortChange::Unknown`].
const PORT_LOG_MAX: usize = 64;

/// The datapaths of one class, by name.
pub(crate) type DpMap = Mutex<BTreeMap<String, Arc<DpNetdev>>>;

struct Port {
    name: String,
    type_name: String,
    netdev: Arc<dyn Netdev>,
    restore_promisc: bool,
    /// How many rx queues are open (to notice a device that changed its count).
    n_rxq: usize,
}

struct Ctl {
    ports: BTreeMap<u32, Port>,
    pmds: Vec<PmdThread>,
    handlers: Vec<HandlerThread>,
    n_handlers: usize,
    cfg: Config,
    next_pmd_id: u32,
}

#[derive(Default)]
struct PortLog {
    seq: u64,
    ring: VecDeque<(u64, String)>,
    waiters: Vec<Weak<Notifier>>,
}

impl PortLog {
    fn record(&mut self, name: &str) {
        self.seq += 1;
        self.ring.push_back((self.seq, name.to_owned()));
        while self.ring.len() > PORT_LOG_MAX {
            self.ring.pop_front();
        }
        self.waiters.retain(|w| match w.upgrade() {
            Some(n) => {
                n.notify();
                true
            }
            None => false,
        });
    }
}

/// One poll thread as `dpif-netdev/pmd-stats-show` reports it.
#[derive(Clone, Debug, PartialEq)]
pub struct PmdInfo {
    /// The thread's id.
    pub pmd_id: u32,
    /// The CPU it is pinned to, if any.
    pub core_id: Option<usize>,
    /// How many rx queues it polls.
    pub n_rxqs: usize,
    /// Its counters since the last [`DpifNetdev::pmd_stats_clear`].
    pub stats: PmdStats,
}

/// One userspace datapath.
pub(crate) struct DpNetdev {
    sh: Arc<DpShared>,
    ctl: Mutex<Ctl>,
    dummy: bool,
    type_name: &'static str,
    destroyed: AtomicBool,
    log: Mutex<PortLog>,
    stats_base: Mutex<HashMap<u32, PmdStats>>,
    class_map: Weak<DpMap>,
    registry: Arc<Registry>,
}

fn op_err(op: &'static str, msg: impl Into<String>) -> Error {
    Error::invalid(op, msg)
}

impl DpNetdev {
    /// Creates datapath `name` with its local port, a `local_type` device named `name`,
    /// one poll thread and one handler thread.
    pub(crate) fn create(
        name: &str,
        type_name: &'static str,
        dummy: bool,
        registry: &Arc<Registry>,
        local_type: &str,
        class_map: Weak<DpMap>,
    ) -> Result<Arc<DpNetdev>> {
        let cfg = Config::default();
        let dp = Arc::new(DpNetdev {
            sh: Arc::new(DpShared::new(name, cfg.queue_size)),
            ctl: Mutex::new(Ctl {
                ports: BTreeMap::new(),
                pmds: Vec::new(),
                handlers: Vec::new(),
                n_handlers: 1,
                cfg,
                next_pmd_id: 0,
            }),
            dummy,
            type_name,
            destroyed: AtomicBool::new(false),
            log: Mutex::new(PortLog::default()),
            stats_base: Mutex::new(HashMap::new()),
            class_map,
            registry: registry.clone(),
        });
        {
            let mut ctl = dp.ctl.lock();
            dp.restart_pmds(&mut ctl)?;
            dp.restart_handlers(&mut ctl)?;
            let local = registry.open(name, local_type)?;
            dp.port_add_locked(&mut ctl, local, Some(OdpPort::LOCAL))?;
        }
        Ok(dp)
    }

    fn check_alive(&self, op: &'static str) -> Result<()> {
        if self.destroyed.load(Ordering::Acquire) {
            Err(Error::not_found(op, "datapath", &self.sh.name))
        } else {
            Ok(())
        }
    }

    /// Stops the poll threads and starts the configured number, with every rx queue
    /// reassigned round-robin.
    fn restart_pmds(&self, ctl: &mut Ctl) -> Result<()> {
        let mut rxqs: Vec<RxqEntry> = Vec::new();
        for t in ctl.pmds.drain(..) {
            let shared = t.shared.clone();
            rxqs.extend(t.stop());
            self.sh
                .flows
                .lock()
                .pmds
                .retain(|l| !Arc::ptr_eq(&l.shared, &shared));
        }
        rxqs.sort_by_key(|r| (r.port_no, r.rxq.queue_id()));
        let n = ctl.cfg.n_pmds.max(1);
        let mut per: Vec<Vec<RxqEntry>> = (0..n).map(|_| Vec::new()).collect();
        for (i, r) in rxqs.into_iter().enumerate() {
            per[i % n].push(r);
        }
        let tx_ports: Vec<(OdpPort, Arc<dyn Netdev>)> = ctl
            .ports
            .iter()
            .map(|(&no, p)| (OdpPort(no), p.netdev.clone()))
            .collect();
        let upcall_tx = self.sh.upcalls.read().tx.clone();
        for (index, rxqs) in per.into_iter().enumerate() {
            let id = ctl.next_pmd_id;
            ctl.next_pmd_id = ctl.next_pmd_id.wrapping_add(1);
            let init = PmdInit {
                id,
                index,
                n_pmds: n,
                core_id: ctl.cfg.cpus.as_ref().and_then(|c| c.get(index).copied()),
                emc_inv_prob: ctl.cfg.emc_inv_prob,
                rxqs,
                tx_ports: tx_ports.clone(),
                upcall_tx: upcall_tx.clone(),
            };
            let t = pmd::spawn(&self.sh, init)
                .map_err(|e| op_err("start poll thread", format!("{}: {e}", self.sh.name)))?;
            ctl.pmds.push(t);
        }
        Ok(())
    }

    fn restart_handlers(&self, ctl: &mut Ctl) -> Result<()> {
        ctl.handlers.clear();
        for id in 0..ctl.n_handlers.max(1) {
            let id = u32::try_from(id).unwrap_or(u32::MAX);
            let h = HandlerThread::spawn(self.sh.clone(), id)
                .map_err(|e| op_err("start handler thread", format!("{}: {e}", self.sh.name)))?;
            ctl.handlers.push(h);
        }
        Ok(())
    }

    fn sync_ctl(&self, ctl: &Ctl) {
        let target = self.sh.publish();
        for t in &ctl.pmds {
            t.notifier.notify();
        }
        wait_acked(ctl.pmds.iter().map(|t| &t.shared), target);
    }

    fn port_add_locked(
        &self,
        ctl: &mut Ctl,
        netdev: Arc<dyn Netdev>,
        req: Option<OdpPort>,
    ) -> Result<OdpPort> {
        let name = netdev.name().to_owned();
        if ctl.ports.values().any(|p| p.name == name) {
            return Err(Error::exists("port add", "port", &name));
        }
        let no = match req.filter(|p| *p != OdpPort::NONE) {
            Some(p) => {
                if ctl.ports.contains_key(&p.0) {
                    return Err(Error::Busy {
                        op: "port add",
                        what: "port number",
                        name: p.0.to_string(),
                    });
                }
                p.0
            }
            None => choose_port_no(&name, self.dummy, |n| ctl.ports.contains_key(&n)).ok_or(
                Error::NoSpace {
                    op: "port add",
                    msg: "no free port number".to_owned(),
                },
            )?,
        };
        let old =
            netdev.update_flags(NetdevFlags::empty(), NetdevFlags::UP | NetdevFlags::PROMISC)?;
        let restore_promisc = !old.contains(NetdevFlags::PROMISC);
        let restore = |netdev: &Arc<dyn Netdev>| {
            if restore_promisc {
                let _ = netdev.update_flags(NetdevFlags::PROMISC, NetdevFlags::empty());
            }
        };
        if old.contains(NetdevFlags::LOOPBACK) {
            restore(&netdev);
            return Err(op_err(
                "port add",
                format!("{name}: cannot add a loopback device"),
            ));
        }
        let rxqs = match self.open_rxqs(&netdev, no) {
            Ok(r) => r,
            Err(e) => {
                restore(&netdev);
                return Err(e);
            }
        };
        let n_rxq = rxqs.len();
        ctl.ports.insert(
            no,
            Port {
                name: name.clone(),
                type_name: netdev.type_name().to_owned(),
                netdev: netdev.clone(),
                restore_promisc,
                n_rxq,
            },
        );
        self.sh.ports.write().insert(no, netdev.clone());
        for t in &ctl.pmds {
            t.send(Cmd::TxPortAdd(OdpPort(no), netdev.clone()));
        }
        Self::assign_rxqs(ctl, rxqs);
        self.sync_ctl(ctl);
        self.log.lock().record(&name);
        Ok(OdpPort(no))
    }

    fn open_rxqs(&self, netdev: &Arc<dyn Netdev>, no: u32) -> Result<Vec<RxqEntry>> {
        let is_pmd = self
            .registry
            .class(netdev.type_name())
            .is_some_and(|c| c.is_pmd());
        (0..netdev.n_rxq())
            .map(|q| {
                netdev
                    .rxq_open(q)
                    .map(|rxq| RxqEntry::new(OdpPort(no), rxq, is_pmd))
                    .map_err(Error::from)
            })
            .collect()
    }

    /// Gives each rx queue to the poll thread with the fewest.
    fn assign_rxqs(ctl: &Ctl, rxqs: Vec<RxqEntry>) {
        let mut load: Vec<usize> = ctl.pmds.iter().map(|t| t.shared.n_rxqs()).collect();
        for r in rxqs {
            let Some((i, _)) = load.iter().enumerate().min_by_key(|(_, l)| **l) else {
                break;
            };
            load[i] += 1;
            ctl.pmds[i].send(Cmd::RxqAdd(r));
        }
    }

    /// Reopens the rx queues of ports whose devices changed their number of queues.
    fn reconfigure_rxqs(&self) {
        let mut ctl = self.ctl.lock();
        if self.destroyed.load(Ordering::Acquire) {
            return;
        }
        let changed: Vec<u32> = ctl
            .ports
            .iter()
            .filter(|(_, p)| p.netdev.n_rxq() != p.n_rxq)
            .map(|(&no, _)| no)
            .collect();
        for no in changed {
            for t in &ctl.pmds {
                t.send(Cmd::RxqDel(OdpPort(no)));
            }
            self.sync_ctl(&ctl);
            let Some(netdev) = ctl.ports.get(&no).map(|p| p.netdev.clone()) else {
                continue;
            };
            match self.open_rxqs(&netdev, no) {
                Ok(rxqs) => {
                    if let Some(p) = ctl.ports.get_mut(&no) {
                        p.n_rxq = rxqs.len();
                    }
                    Self::assign_rxqs(&ctl, rxqs);
                    self.sync_ctl(&ctl);
                }
                Err(e) => {
                    tracing::warn!(
                        port = no,
                        "{}: could not reopen rx queues: {e}",
                        netdev.name()
                    );
                    if let Some(p) = ctl.ports.get_mut(&no) {
                        p.n_rxq = netdev.n_rxq();
                    }
                }
            }
        }
    }

    fn port_del_locked(&self, ctl: &mut Ctl, no: u32) -> Result<()> {
        let port = ctl
            .ports
            .remove(&no)
            .ok_or_else(|| Error::not_found("port del", "port", no))?;
        self.sh.ports.write().remove(&no);
        for t in &ctl.pmds {
            t.send(Cmd::PortDel(OdpPort(no)));
        }
        self.sync_ctl(ctl);
        if port.restore_promisc {
            let _ = port
                .netdev
                .update_flags(NetdevFlags::PROMISC, NetdevFlags::empty());
        }
        self.log.lock().record(&port.name);
        Ok(())
    }

    fn flows_sync(&self) {
        let handles = {
            let flows = self.sh.flows.lock();
            DpShared::pmd_handles(&flows)
        };
        self.sh.sync(&handles);
    }

    fn pmd_infos(&self) -> Vec<PmdInfo> {
        let ctl = self.ctl.lock();
        let base = self.stats_base.lock();
        ctl.pmds
            .iter()
            .map(|t| {
                let s = t.shared.stats.get();
                PmdInfo {
                    pmd_id: t.shared.id,
                    core_id: t.shared.core_id,
                    n_rxqs: t.shared.n_rxqs(),
                    stats: base.get(&t.shared.id).map_or(s, |b| s.since(b)),
                }
            })
            .collect()
    }

    fn shutdown(&self, ctl: &mut Ctl) {
        ctl.handlers.clear();
        for t in ctl.pmds.drain(..) {
            drop(t.stop());
        }
        self.sh.flows.lock().pmds.clear();
        for (_, port) in std::mem::take(&mut ctl.ports) {
            if port.restore_promisc {
                let _ = port
                    .netdev
                    .update_flags(NetdevFlags::PROMISC, NetdevFlags::empty());
            }
        }
        self.sh.ports.write().clear();
        self.sh.flows.lock().flush();
    }
}

impl Drop for DpNetdev {
    fn drop(&mut self) {
        let mut ctl = self.ctl.lock();
        self.shutdown(&mut ctl);
    }
}

/// A handle to a userspace datapath: what [`crate::DpifClass::open`] returns for the
/// `netdev` and `dummy` types.
///
/// Besides [`Dpif`], it reports per-poll-thread counters ([`DpifNetdev::pmd_stats`]).
pub struct DpifNetdev {
    dp: Arc<DpNetdev>,
    seen: Mutex<u64>,
    notifier: Arc<Notifier>,
}

impl std::fmt::Debug for DpifNetdev {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DpifNetdev")
            .field("name", &self.dp.sh.name)
            .field("type", &self.dp.type_name)
            .finish()
    }
}

impl DpifNetdev {
    pub(crate) fn new(dp: Arc<DpNetdev>) -> Result<Self> {
        let notifier = Arc::new(
            Notifier::new().map_err(|e| Error::from_errno("open datapath", "notifier", "", e))?,
        );
        let seen = {
            let mut log = dp.log.lock();
            log.waiters.push(Arc::downgrade(&notifier));
            log.seq
        };
        Ok(DpifNetdev {
            dp,
            seen: Mutex::new(seen),
            notifier,
        })
    }

    /// The counters of each poll thread, since the last [`DpifNetdev::pmd_stats_clear`].
    pub fn pmd_stats(&self) -> Vec<PmdInfo> {
        self.dp.pmd_infos()
    }

    /// Clears the per-thread counters that [`DpifNetdev::pmd_stats`] reports (the
    /// datapath totals of [`Dpif::stats`] are kept).
    pub fn pmd_stats_clear(&self) {
        let ctl = self.dp.ctl.lock();
        let mut base = self.dp.stats_base.lock();
        base.clear();
        for t in &ctl.pmds {
            base.insert(t.shared.id, t.shared.stats.get());
        }
    }
}

impl Dpif for DpifNetdev {
    fn name(&self) -> &str {
        &self.dp.sh.name
    }

    fn type_name(&self) -> &'static str {
        self.dp.type_name
    }

    /// Stops the datapath's threads, deletes its ports and flows and forgets its name;
    /// other handles to it fail with [`Error::NotFound`] from then on.
    fn destroy(&self) -> Result<()> {
        let mut ctl = self.dp.ctl.lock();
        if self.dp.destroyed.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        self.dp.shutdown(&mut ctl);
        drop(ctl);
        if let Some(map) = self.dp.class_map.upgrade() {
            let mut map = map.lock();
            if map
                .get(&self.dp.sh.name)
                .is_some_and(|d| Arc::ptr_eq(d, &self.dp))
            {
                map.remove(&self.dp.sh.name);
            }
        }
        Ok(())
    }

    /// `n_hit` counts EMC and megaflow hits, `n_missed` every packet that matched no flow
    /// (including those then lost, as dpif-netdev counts), `n_lost` the missed packets
    /// dropped (upcall queue full, no callback, callback error), `n_cache_hit` the EMC
    /// hits, `n_mask_hit` the subtables searched by megaflow hits, `n_masks` the distinct
    /// masks.
    /// Reopens the rx queues of ports whose devices changed their number of queues (as
    /// OVS's `reconfigure_datapath`). Returns false: nothing here calls for revalidation.
    fn run(&self) -> bool {
        self.dp.reconfigure_rxqs();
        false
    }

    fn stats(&self) -> Result<DpStats> {
        let (n_flows, n_masks, mut total) = {
            let flows = self.dp.sh.flows.lock();
            let mut total = PmdStats::default();
            for l in &flows.pmds {
                total.add(&l.shared.stats.get());
            }
            (flows.len(), flows.n_masks(), total)
        };
        total.add(&self.dp.sh.retired.lock());
        Ok(DpStats {
            n_hit: total.emc_hits + total.megaflow_hits,
            n_missed: total.misses,
            n_lost: total.lost + self.dp.sh.lost.load(Ordering::Relaxed),
            n_flows: n_flows as u64,
            n_cache_hit: Some(total.emc_hits),
            n_mask_hit: Some(total.subtable_lookups),
            n_masks: Some(n_masks as u64),
        })
    }

    /// Keys: `pmd-threads` (number of poll threads, default 1), `pmd-cpu-mask` (hex: one
    /// poll thread pinned to each CPU whose bit is set; overrides `pmd-threads`),
    /// `emc-insert-inv-prob` (default 100; 0 disables the EMC), `upcall-queue-size`
    /// (default 1024). Absent keys go back to their defaults. Changing the thread count,
    /// mask or queue size restarts the poll threads, rx queues reassigned round-robin.
    fn set_config(&self, other_config: &Options) -> Result<()> {
        let cfg = Config::from_options(other_config)?;
        let mut ctl = self.dp.ctl.lock();
        self.dp.check_alive("set datapath config")?;
        if cfg == ctl.cfg {
            return Ok(());
        }
        let old = std::mem::replace(&mut ctl.cfg, cfg.clone());
        let queue_changed = old.queue_size != cfg.queue_size;
        if queue_changed {
            *self.dp.sh.upcalls.write() = UpcallQueue::new(cfg.queue_size);
        }
        if queue_changed || old.n_pmds != cfg.n_pmds || old.cpus != cfg.cpus {
            self.dp.restart_pmds(&mut ctl)?;
        } else if old.emc_inv_prob != cfg.emc_inv_prob {
            for t in &ctl.pmds {
                t.send(Cmd::EmcInsert(cfg.emc_inv_prob));
            }
            self.dp.sync_ctl(&ctl);
        }
        if queue_changed {
            self.dp.restart_handlers(&mut ctl)?;
        }
        Ok(())
    }

    /// The number: `port_no` if given (and free); else for the `dummy` class the number
    /// in the name (`p1` → 1, `br0` → 100) if free; else the lowest free from 1. The device
    /// is turned up and promiscuous, its rx queues opened and given to the poll threads
    /// with the fewest. Synchronous: its packets are polled when this returns.
    ///
    /// # Errors
    ///
    /// [`Error::Busy`] if `port_no` is taken; [`Error::Exists`] if a port has the device's
    /// name; [`Error::NoSpace`] if no number is free; [`Error::Invalid`] for a loopback
    /// device; device errors.
    fn port_add(&self, netdev: Arc<dyn Netdev>, port_no: Option<OdpPort>) -> Result<OdpPort> {
        let mut ctl = self.dp.ctl.lock();
        self.dp.check_alive("port add")?;
        self.dp.port_add_locked(&mut ctl, netdev, port_no)
    }

    /// Synchronous: no poll thread receives from or sends to the port once this returns
    /// (a handler thread may still finish sending a batch it was executing).
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] if there is no such port; [`Error::Invalid`] for the local
    /// port 0.
    fn port_del(&self, port_no: OdpPort) -> Result<()> {
        let mut ctl = self.dp.ctl.lock();
        self.dp.check_alive("port del")?;
        if port_no == OdpPort::LOCAL {
            return Err(op_err("port del", "the local port cannot be deleted"));
        }
        self.dp.port_del_locked(&mut ctl, port_no.0)
    }

    fn port_query_by_number(&self, port_no: OdpPort) -> Result<DpifPort> {
        let ctl = self.dp.ctl.lock();
        ctl.ports
            .get(&port_no.0)
            .map(|p| DpifPort {
                name: p.name.clone(),
                type_name: p.type_name.clone(),
                port_no,
            })
            .ok_or_else(|| Error::not_found("port query", "port", port_no))
    }

    fn port_query_by_name(&self, name: &str) -> Result<DpifPort> {
        let ctl = self.dp.ctl.lock();
        ctl.ports
            .iter()
            .find(|(_, p)| p.name == name)
            .map(|(&no, p)| DpifPort {
                name: p.name.clone(),
                type_name: p.type_name.clone(),
                port_no: OdpPort(no),
            })
            .ok_or_else(|| Error::not_found("port query", "port", name))
    }

    fn port_dump(&self) -> Result<Vec<DpifPort>> {
        let ctl = self.dp.ctl.lock();
        Ok(ctl
            .ports
            .iter()
            .map(|(&no, p)| DpifPort {
                name: p.name.clone(),
                type_name: p.type_name.clone(),
                port_no: OdpPort(no),
            })
            .collect())
    }

    /// Reports ports added and deleted since this handle last looked, one per call; a
    /// handle more than 64 changes behind gets [`PortChange::Unknown`] once.
    fn port_poll(&self) -> Result<Option<PortChange>> {
        let log = self.dp.log.lock();
        let mut seen = self.seen.lock();
        if *seen >= log.seq {
            self.notifier.drain();
            return Ok(None);
        }
        let next = *seen + 1;
        match log.ring.iter().find(|(s, _)| *s == next) {
            Some((_, name)) => {
                *seen = next;
                Ok(Some(PortChange::Changed(name.clone())))
            }
            None => {
                *seen = log.seq;
                Ok(Some(PortChange::Unknown))
            }
        }
    }

    fn port_poll_wait(&self, poll: &mut PollSet) {
        let log = self.dp.log.lock();
        if *self.seen.lock() < log.seq {
            poll.immediate_wake();
        } else {
            poll.fd_wait(self.notifier.fd(), Interest::Read);
        }
    }

    /// Synchronous: no packet matches a flow once this returns. Queued upcalls are
    /// dropped.
    fn flow_flush(&self) -> Result<()> {
        {
            let mut flows = self.dp.sh.flows.lock();
            flows.flush();
            self.dp.sh.flush_epoch.fetch_add(1, Ordering::AcqRel);
        }
        let rx = self.dp.sh.upcalls.read().rx.clone();
        while rx.try_recv().is_ok() {}
        self.dp.flows_sync();
        Ok(())
    }

    /// Puts, deletes and gets are synchronous: once this returns, every poll thread
    /// forwards by the new table. A put's flow exists if one has its UFID or matches its
    /// key; its `in_port` is always matched exactly. A modify replaces the actions and
    /// keeps the flow's counters (zeroed with [`crate::PutFlags::ZERO_STATS`]), returning
    /// them as they were. An execute runs in the calling thread; outputs are sent with
    /// `concurrent_txq`.
    fn operate(&self, ops: Vec<DpifOp>) -> Vec<Result<OpReply>> {
        let mut results: Vec<Result<OpReply>> = Vec::with_capacity(ops.len());
        let mut deleted: Vec<(usize, Arc<DpFlow>)> = Vec::new();
        let mut changed = false;
        for op in ops {
            let r = match op {
                DpifOp::Put(put) => {
                    let r = self.dp.sh.flows.lock().put(put);
                    changed |= r.is_ok();
                    r.map(|o| match o {
                        PutOutcome::Created => OpReply::Put(None),
                        PutOutcome::Modified(s) => OpReply::Put(Some(s)),
                    })
                }
                DpifOp::Del(del) => {
                    match self.dp.sh.flows.lock().del(&del.ufid, del.key.as_ref()) {
                        Ok(flow) => {
                            changed = true;
                            let stats = flow.counters.get();
                            deleted.push((results.len(), flow));
                            Ok(OpReply::Del(stats))
                        }
                        Err(e) => Err(e),
                    }
                }
                DpifOp::Get(get) => {
                    let flows = self.dp.sh.flows.lock();
                    flows
                        .find(&get.ufid, get.key.as_ref())
                        .map(|f| OpReply::Get(Box::new(f.to_dpif_flow(false))))
                        .ok_or_else(|| Error::not_found("flow get", "flow", get.ufid))
                }
                DpifOp::Execute(mut ex) => {
                    let mut key = FlowKey::zero();
                    extract(&mut ex.packet, &mut key);
                    let mut sp = SlowPath::new(&self.dp.sh);
                    sp.run(ex.packet, &key, &ex.actions);
                    sp.flush();
                    Ok(OpReply::Execute)
                }
            };
            results.push(r);
        }
        if changed {
            self.dp.flows_sync();
            // Counters as they are once no poll thread can bump them any more.
            for (i, flow) in deleted {
                if let Some(Ok(OpReply::Del(s))) = results.get_mut(i) {
                    *s = flow.counters.get();
                }
            }
        }
        results
    }

    fn flow_dump(&self, terse: bool) -> Result<Box<dyn Iterator<Item = Result<DpifFlow>> + '_>> {
        let flows = self.dp.sh.flows.lock().snapshot();
        Ok(Box::new(
            flows.into_iter().map(move |f| Ok(f.to_dpif_flow(terse))),
        ))
    }

    /// Handler threads call `cb` for each upcall; registering again replaces it.
    fn register_upcall_cb(&self, cb: Arc<dyn UpcallCallback>) -> Result<()> {
        *self.dp.sh.callback.write() = Some(cb);
        let mut ctl = self.dp.ctl.lock();
        self.dp.check_alive("register upcall callback")?;
        if ctl.handlers.is_empty() {
            self.dp.restart_handlers(&mut ctl)?;
        }
        Ok(())
    }

    /// Sets the number of handler threads that call the upcall callback (at least 1; 0
    /// keeps 1).
    fn handlers_set(&self, n_handlers: u32) -> Result<()> {
        let n = usize::try_from(n_handlers).unwrap_or(1).clamp(1, 256);
        let mut ctl = self.dp.ctl.lock();
        self.dp.check_alive("handlers_set")?;
        if n != ctl.n_handlers || ctl.handlers.len() != n {
            ctl.n_handlers = n;
            self.dp.restart_handlers(&mut ctl)?;
        }
        Ok(())
    }
}
