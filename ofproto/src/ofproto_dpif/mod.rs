//! ofproto-dpif: the OpenFlow switch over any datapath ([`dpif::Dpif`]), OVS's
//! `ofproto/ofproto-dpif*.c`.
//!
//! # Overview
//!
//! [`OfprotoDpifClass`] is the [`OfprotoClass`] the bridge layer constructs bridges with;
//! each bridge is an [`OfprotoDpif`]. Bridges of one datapath type share a *backer*: one
//! datapath named `ovs-<type>` (`ovs-netdev`, `ovs-system`, `ovs-dummy`), opened (or
//! created) on first use, after deleting stale datapaths of that type, with its flows
//! flushed and upcalls enabled.
//!
//! ```text
//! packet miss -> upcall (callback, or handler thread) -> translate through the OpenFlow
//!   tables (xlate: NORMAL, outputs, rewrites, resubmit, goto_table) -> megaflow mask +
//!   datapath actions -> install the flow, execute the packet, remember a ukey
//! revalidator (every 500 ms, or at once after a change): dump flows -> push statistics to
//!   rules -> delete idle flows (10 s) -> re-translate flows whose inputs changed
//! ```
//!
//! # Ports
//!
//! A bridge's ports have OpenFlow numbers mapped to datapath numbers; a port named after
//! its bridge is the bridge's local port (`OFPP_LOCAL`, 65534). The backer maps datapath
//! ports back to (bridge, OpenFlow port), so an upcall finds its bridge; a miss on a port
//! no bridge owns gets a drop flow for its exact key.
//!
//! NORMAL switches only between ports that belong to a *bundle* ([`Ofproto::bundle_set`],
//! one per configured port, with its VLAN mode): as in OVS, a packet from a port without
//! one is dropped ("no input bundle"), and flooding goes to bundles. The bridge layer makes
//! a bundle for every port it adds.
//!
//! # Flow tables
//!
//! Each bridge keeps a [`TableSet`](crate::TableSet) in an `Arc`, replaced on every change
//! (flow-mod, expiry); translation reads the `Arc` it found. Table 254 holds OVS's hidden
//! internal rules; a standalone bridge (the default) has a `priority=0 actions=NORMAL` rule
//! in table 0 (until controllers are configured). MAC learning follows OVS's defaults
//! (300 s, 8192 entries).
//!
//! Groups live in a group table published the same way, next to the rule tables; a group
//! change re-translates every flow. Group and bucket counters are credited from datapath
//! flow statistics, like rule counters.
//!
//! # Upcalls
//!
//! A datapath that calls back (the userspace datapath) gets a callback; one that queues
//! upcalls (the kernel datapath) gets handler threads that `recv` and answer with one
//! `operate` batch per batch of upcalls. Flows are installed while fewer than the flow
//! limit (200,000, adapted down when dumps get slow, as OVS's) exist.
//!
//! An upcall of a `userspace` action that translation emitted for a `controller` action
//! (or a table miss sent to the controller) becomes a [`crate::PacketIn`] on its bridge's
//! bounded queue ([`PACKET_IN_QUEUE_MAX`]); the main loop drains it with
//! [`Ofproto::take_packet_ins`] and is woken when it fills.
//!
//! # Thread-safety / lock order
//!
//! The bridge layer calls [`OfprotoDpif`] from the main thread. Handler threads and one
//! revalidator thread per backer share the backer's state. Read-copy-update snapshots
//! (the port map, the bridge map, each bridge's translation snapshot) are behind locks
//! held only to clone or swap an `Arc`, never while taking another lock. Otherwise the
//! order is: the ukey map, then one ukey's state, then a bridge's MAC table, then the
//! revalidator's `rounds`, then its `ctl`. No lock is held across a datapath call, except
//! one ukey's state while the revalidator decides that ukey's fate, and the class's map
//! of backers while a backer's datapath is opened (so that two bridges constructed at
//! once share one backer; only construction and the `*/show` commands take it).
//!
//! # Time
//!
//! Rule timeouts, MAC ages and datapath flow "used" times all use milliseconds of
//! `CLOCK_MONOTONIC` ([`dpif::monotonic_ms`]); [`Ofproto::run`]'s `now_ms` must be of that
//! clock (a test may pass a later time to make entries age).
//!
//! ```
//! use std::sync::Arc;
//! use ofproto::{Ofproto, OfprotoClass, OfpPort};
//! use ofproto::ofproto_dpif::OfprotoDpifClass;
//!
//! let netdevs = Arc::new(netdev::Registry::with_default_classes());
//! let mut dpifs = dpif::DpifRegistry::new();
//! dpifs.register(Arc::new(dpif::userspace::DpifNetdevClass::new_dummy(netdevs.clone()))).unwrap();
//! let class = OfprotoDpifClass::new(netdevs.clone(), Arc::new(dpifs));
//! let mut br = class.construct("br0", "dummy").unwrap();
//! let p1 = netdevs.open("p1", "dummy").unwrap();
//! assert_eq!(br.port_add(p1, Some(OfpPort(1))).unwrap(), OfpPort(1));
//! assert!(class.dpif_show().contains("p1 1/1: (dummy)"));
//! br.destruct(true);
//! ```

mod backer;
mod bridge;
pub mod cookie;
mod groups;
pub mod mac_learning;
mod pinq;
mod ports;
mod revalidator;
mod show;
pub mod trace;
mod upcall;
mod xlate;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use dpif::{DpifRegistry, Error as DpifError};
use netdev::Options;
use parking_lot::{Condvar, Mutex, RwLock};

use crate::error::{Error, Result};
use crate::provider::{Ofproto, OfprotoClass};
use backer::{Backer, BackerShared, DumpStats, RevalCtl, Rounds, UpcallCounters};

pub use bridge::{OfprotoDpif, Translation};
pub use groups::{MAX_BUCKETS, MAX_GROUPS};
pub use pinq::PACKET_IN_QUEUE_MAX;
pub use show::format_fdb;
pub use upcall::UPCALL_MAX_BATCH;
pub use xlate::{MAX_DEPTH, MAX_RESUBMITS, XlateError};

/// Default `flow-limit` (OVS's `OFPROTO_FLOW_LIMIT_DEFAULT`).
pub const DEFAULT_FLOW_LIMIT: u32 = 200_000;
/// Default `max-idle`, ms (OVS's `OFPROTO_MAX_IDLE_DEFAULT`).
pub const DEFAULT_MAX_IDLE_MS: u64 = 10_000;
/// Default `max-revalidator`, ms (OVS's `OFPROTO_MAX_REVALIDATOR_DEFAULT`).
pub const DEFAULT_MAX_REVALIDATOR_MS: u64 = 500;
/// The flow limit a backer starts with: `min(flow-limit, 10000)`, as OVS.
pub const INITIAL_FLOW_LIMIT: u32 = 10_000;

/// Switch-wide knobs (`Open_vSwitch.other_config`), shared with every backer.
#[derive(Debug)]
pub(crate) struct GlobalConfig {
    flow_limit: AtomicU32,
    max_idle_ms: AtomicU64,
    max_revalidator_ms: AtomicU64,
    n_handlers: AtomicU32,
    /// The whole `other_config`, for datapaths opened later.
    other_config: Mutex<Options>,
}

impl Default for GlobalConfig {
    fn default() -> Self {
        GlobalConfig {
            flow_limit: AtomicU32::new(DEFAULT_FLOW_LIMIT),
            max_idle_ms: AtomicU64::new(DEFAULT_MAX_IDLE_MS),
            max_revalidator_ms: AtomicU64::new(DEFAULT_MAX_REVALIDATOR_MS),
            n_handlers: AtomicU32::new(0),
            other_config: Mutex::new(Options::new()),
        }
    }
}

impl GlobalConfig {
    pub(crate) fn flow_limit(&self) -> u32 {
        self.flow_limit.load(Ordering::Relaxed)
    }

    pub(crate) fn max_idle_ms(&self) -> u64 {
        self.max_idle_ms.load(Ordering::Relaxed)
    }

    /// How often the revalidator starts a round: `min(max-idle, max-revalidator)`.
    pub(crate) fn revalidate_interval_ms(&self) -> u64 {
        self.max_idle_ms
            .load(Ordering::Relaxed)
            .min(self.max_revalidator_ms.load(Ordering::Relaxed))
    }
}

/// The [`OfprotoClass`] of ofproto-dpif: bridges over the datapath types of a
/// [`DpifRegistry`] (see the module docs).
pub struct OfprotoDpifClass {
    netdevs: Arc<netdev::Registry>,
    dpifs: Arc<DpifRegistry>,
    config: Arc<GlobalConfig>,
    backers: Mutex<BTreeMap<String, Weak<Backer>>>,
    next_thread_id: AtomicU32,
}

impl std::fmt::Debug for OfprotoDpifClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OfprotoDpifClass")
            .field("types", &self.dpifs.types())
            .finish()
    }
}

fn parse_u64(other: &Options, key: &str) -> Result<Option<u64>> {
    match other.get(key) {
        None => Ok(None),
        Some(v) => v
            .trim()
            .parse::<u64>()
            .map(Some)
            .map_err(|_| Error::Invalid(format!("{key}: \"{v}\" is not a number"))),
    }
}

impl OfprotoDpifClass {
    /// A class that opens devices through `netdevs` and datapaths through `dpifs`.
    pub fn new(netdevs: Arc<netdev::Registry>, dpifs: Arc<DpifRegistry>) -> OfprotoDpifClass {
        OfprotoDpifClass {
            netdevs,
            dpifs,
            config: Arc::new(GlobalConfig::default()),
            backers: Mutex::new(BTreeMap::new()),
            next_thread_id: AtomicU32::new(1),
        }
    }

    /// As [`OfprotoClass::construct`], but returns the concrete bridge (for
    /// [`OfprotoDpif::translate`] and other ofproto-dpif specifics).
    ///
    /// # Errors
    ///
    /// Errors of opening or creating the datapath and starting its threads;
    /// [`Error::Invalid`] if a bridge of that name exists on the datapath.
    pub fn construct_dpif(&self, name: &str, dp_type: &str) -> Result<OfprotoDpif> {
        let backer = self.open_backer(dp_type)?;
        OfprotoDpif::new(name, dp_type, backer)
    }

    fn live_backers(&self) -> Vec<Arc<Backer>> {
        let mut m = self.backers.lock();
        m.retain(|_, w| w.strong_count() > 0);
        m.values().filter_map(Weak::upgrade).collect()
    }

    fn backer_by_dp_name(&self, dp_name: Option<&str>) -> Result<Vec<Arc<Backer>>> {
        let all = self.live_backers();
        match dp_name {
            None => Ok(all),
            Some(n) => {
                let found: Vec<Arc<Backer>> = all
                    .into_iter()
                    .filter(|b| {
                        let d = &b.shared.dpif;
                        d.name() == n || show::dp_full_name(&b.shared) == n
                    })
                    .collect();
                if found.is_empty() {
                    Err(Error::Invalid(format!("{n}: no such datapath")))
                } else {
                    Ok(found)
                }
            }
        }
    }

    /// The backer of `dp_type`, opened on first use (OVS's `open_dpif_backer`).
    fn open_backer(&self, dp_type: &str) -> Result<Arc<Backer>> {
        let ty = DpifRegistry::normalize(dp_type).to_owned();
        let mut backers = self.backers.lock();
        if let Some(b) = backers.get(&ty).and_then(Weak::upgrade) {
            return Ok(b);
        }
        let class = self.dpifs.class(&ty)?;
        let dp_name = format!("ovs-{ty}");
        // Datapaths of this type other than ours are stale: delete them, as OVS does.
        match class.enumerate() {
            Ok(names) => {
                for n in names.iter().filter(|n| **n != dp_name) {
                    match class.open(n, false).and_then(|d| d.destroy()) {
                        Ok(()) => tracing::info!("deleted stale datapath {ty}@{n}"),
                        Err(e) => tracing::warn!("deleting stale datapath {ty}@{n}: {e}"),
                    }
                }
            }
            Err(e) => tracing::warn!("listing {ty} datapaths: {e}"),
        }
        let dpif = class.open(&dp_name, true)?;
        dpif.flow_flush()?;
        let other = self.config.other_config.lock().clone();
        if let Err(e) = dpif.set_config(&other) {
            tracing::warn!("{ty}@{dp_name}: {e}");
        }
        let limit = self.config.flow_limit().min(INITIAL_FLOW_LIMIT);
        let shared = Arc::new(BackerShared {
            dpif: dpif.clone(),
            config: self.config.clone(),
            ports: RwLock::new(Arc::default()),
            bridges: RwLock::new(Arc::default()),
            ukeys: Mutex::new(Default::default()),
            reval_seq: AtomicU64::new(1),
            dump_seq: AtomicU64::new(0),
            flow_limit: AtomicU32::new(limit),
            counters: UpcallCounters::default(),
            op_warn_limit: backer::LogLimit::default(),
            dump_stats: Mutex::new(DumpStats::default()),
            ctl: Mutex::new(RevalCtl::default()),
            ctl_cv: Condvar::new(),
            rounds: Mutex::new(Rounds::default()),
            rounds_cv: Condvar::new(),
            stop: AtomicBool::new(false),
            callback_mode: AtomicBool::new(true),
            n_handlers: AtomicU32::new(0),
            revalidator_id: self.next_thread_id.fetch_add(1, Ordering::Relaxed),
            next_bridge_id: AtomicU32::new(1),
        });
        let mut threads = Vec::new();
        let mut handler_wake = None;
        let cb = Arc::new(upcall::UpcallCb {
            backer: Arc::downgrade(&shared),
        });
        match dpif.register_upcall_cb(cb) {
            Ok(()) => {}
            Err(DpifError::NotSupported { .. }) => {
                shared.callback_mode.store(false, Ordering::Release);
                let n = match self.config.n_handlers.load(Ordering::Relaxed) {
                    0 => upcall::default_n_handlers(),
                    n => n,
                };
                dpif.recv_set(true)?;
                dpif.handlers_set(n)?;
                shared.n_handlers.store(n, Ordering::Relaxed);
                let wake = Arc::new(
                    netdev::poll::Notifier::new()
                        .map_err(|e| Error::Invalid(format!("handler wakeup eventfd: {e}")))?,
                );
                threads.extend(
                    upcall::spawn_handlers(&shared, n, &wake)
                        .map_err(|e| Error::Invalid(format!("starting handler threads: {e}")))?,
                );
                handler_wake = Some(wake);
            }
            Err(e) => return Err(e.into()),
        }
        let s = shared.clone();
        let reval = std::thread::Builder::new()
            .name("revalidator".to_owned())
            .spawn(move || revalidator::revalidator_main(&s))
            .map_err(|e| Error::Invalid(format!("starting the revalidator thread: {e}")))?;
        threads.push(reval);
        let backer = Arc::new(Backer {
            shared,
            threads: Mutex::new(threads),
            handler_wake,
        });
        backers.insert(ty, Arc::downgrade(&backer));
        Ok(backer)
    }
}

impl OfprotoClass for OfprotoDpifClass {
    fn enumerate_types(&self) -> Vec<String> {
        self.dpifs.types().iter().map(|t| (*t).to_owned()).collect()
    }

    fn port_open_type(&self, dp_type: &str, port_type: &str) -> String {
        match self.dpifs.class(dp_type) {
            Ok(c) => c.port_open_type(port_type),
            Err(_) => port_type.to_owned(),
        }
    }

    /// Keys: `flow-limit` (default 200000), `max-idle` (ms, default 10000, at least 500),
    /// `max-revalidator` (ms, default 500, at least 100), `n-handler-threads` (kernel-style
    /// datapaths opened afterwards); `n-revalidator-threads` is ignored (one revalidator per
    /// datapath). The whole map also goes to every datapath's `set_config`.
    fn set_global_config(&self, other_config: &Options) -> Result<()> {
        let flow_limit = parse_u64(other_config, "flow-limit")?;
        let max_idle = parse_u64(other_config, "max-idle")?;
        let max_reval = parse_u64(other_config, "max-revalidator")?;
        let n_handlers = parse_u64(other_config, "n-handler-threads")?;
        if flow_limit == Some(0) {
            return Err(Error::Invalid("flow-limit: must be positive".to_owned()));
        }
        let c = &self.config;
        let flow_limit =
            flow_limit.map_or(DEFAULT_FLOW_LIMIT, |v| u32::try_from(v).unwrap_or(u32::MAX));
        c.flow_limit.store(flow_limit, Ordering::Relaxed);
        c.max_idle_ms.store(
            max_idle.map_or(DEFAULT_MAX_IDLE_MS, |v| v.max(500)),
            Ordering::Relaxed,
        );
        c.max_revalidator_ms.store(
            max_reval.map_or(DEFAULT_MAX_REVALIDATOR_MS, |v| v.max(100)),
            Ordering::Relaxed,
        );
        c.n_handlers.store(
            n_handlers.map_or(0, |v| u32::try_from(v).unwrap_or(u32::MAX)),
            Ordering::Relaxed,
        );
        *c.other_config.lock() = other_config.clone();
        for b in self.live_backers() {
            let s = &b.shared;
            let cur = s.flow_limit.load(Ordering::Relaxed);
            s.flow_limit.store(cur.min(flow_limit), Ordering::Relaxed);
            s.dpif.set_config(other_config)?;
            s.kick();
        }
        Ok(())
    }

    fn construct(&self, name: &str, dp_type: &str) -> Result<Box<dyn Ofproto>> {
        Ok(Box::new(self.construct_dpif(name, dp_type)?))
    }

    fn type_run(&self) {
        for b in self.live_backers() {
            if b.shared.dpif.run() {
                b.shared.revalidate();
            }
            b.shared.poll_ports();
        }
    }

    fn type_wait(&self, poll: &mut netdev::poll::PollSet) {
        for b in self.live_backers() {
            b.shared.dpif.wait(poll);
            b.shared.dpif.port_poll_wait(poll);
        }
    }

    fn dpif_show(&self) -> String {
        let mut out = String::new();
        for b in self.live_backers() {
            show::dpif_show(&b.shared, &mut out);
        }
        out
    }

    fn dump_dp_flows(&self, dp_name: Option<&str>, verbose: bool) -> Result<String> {
        let bs = self.backer_by_dp_name(dp_name)?;
        if dp_name.is_none() && bs.len() > 1 {
            return Err(Error::Invalid(
                "more than one datapath: name the one to dump".to_owned(),
            ));
        }
        Ok(bs
            .iter()
            .map(|b| show::dump_flows(&b.shared, verbose, None))
            .collect())
    }

    fn dump_bridge_flows(&self, bridge: &str, verbose: bool) -> Result<String> {
        self.live_backers()
            .iter()
            .find(|b| b.shared.bridge(bridge).is_some())
            .map(|b| show::dump_flows(&b.shared, verbose, Some(bridge)))
            .ok_or_else(|| Error::Invalid(format!("{bridge}: no such bridge")))
    }

    fn dp_show(&self, dp_name: Option<&str>, with_stats: bool) -> Result<String> {
        let mut out = String::new();
        for b in self.backer_by_dp_name(dp_name)? {
            show::dp_show(&b.shared, &self.netdevs, with_stats, &mut out);
        }
        Ok(out)
    }

    fn upcall_show(&self) -> String {
        let mut out = String::new();
        for b in self.live_backers() {
            show::upcall_show(&b.shared, &mut out);
        }
        out
    }

    fn memory_usage(&self) -> Vec<(String, u64)> {
        let bs = self.live_backers();
        let handlers: u64 = bs
            .iter()
            .map(|b| u64::from(b.shared.n_handlers.load(Ordering::Relaxed)))
            .sum();
        let ukeys: u64 = bs
            .iter()
            .map(|b| u64::try_from(b.shared.n_ukeys()).unwrap_or(u64::MAX))
            .sum();
        vec![
            ("handlers".to_owned(), handlers),
            (
                "revalidators".to_owned(),
                u64::try_from(bs.len()).unwrap_or(u64::MAX),
            ),
            ("udpif keys".to_owned(), ukeys),
        ]
    }

    fn revalidator_wait(&self, timeout: Duration) {
        for b in self.live_backers() {
            b.shared.wait_round(timeout);
        }
    }
}

#[cfg(test)]
mod recv_tests;
#[cfg(test)]
pub(crate) mod tests;
