//! dpif-netdev: the userspace datapath (types `netdev` and `dummy`).
//!
//! # Overview
//!
//! [`DpifNetdevClass`] makes and shares datapaths by name. A datapath forwards packets
//! between its ports in this process, in *poll threads*; packets that match no flow go up
//! through a bounded queue to *handler threads*, which call the [`UpcallCallback`] that the
//! upper layer registered, install the flow it asks for and execute its actions.
//!
//! ```text
//! rxq.recv(32) -> extract keys -> EMC -> megaflow classifier (dpcls) -> counters
//!   -> execute actions -> per-port tx batches, one send per port per rx batch
//!   miss -> bounded upcall queue (full: dropped, n_lost) -> handler thread
//!        -> callback -> put flow (CREATE) -> execute the packet
//! ```
//!
//! # Ports
//!
//! Port 0 is the local port: a `tap` device (`dummy-internal` for the `dummy` class)
//! named after the datapath. [`crate::Dpif::port_add`] honours a requested number, else
//! (for the `dummy` class) the number in the port's name (`p1` → 1, `br0` → 100), else the
//! lowest free number. Each rx queue of a port belongs to exactly one poll thread.
//!
//! # Flow Table
//!
//! The authoritative table (UFID → flow) lives behind a mutex on the slow path. Each poll
//! thread has its own classifier (one per input port: tuple space search, subtables
//! ranked by hits every second) and exact-match cache ([`emc`], 8192 entries, insertion
//! with probability 1/`emc-insert-inv-prob`), which it alone reads and writes. Flow puts,
//! deletes and flushes are sent to every poll thread as commands and, as OVS's contract
//! says, are synchronous: they return once every poll thread has applied them (bounded
//! wait of 2 s), so a packet that arrives afterwards sees the new table.
//!
//! # Upcalls
//!
//! A miss, or a `userspace` action, puts the packet in the datapath's one upcall queue
//! (`upcall-queue-size`, default 1024), without ever blocking the poll thread: when the
//! queue is full the packet is dropped and counted in `n_lost`. Handler threads (1 unless
//! [`crate::Dpif::handlers_set`] says otherwise) call the callback; for a miss whose reply
//! says `install`, they put the flow with the reply's mask (`in_port` always exact) and
//! `put_actions` (or `actions`), then execute `actions` on the packet. With no callback
//! registered, misses are dropped and counted lost.
//!
//! # Configuration
//!
//! [`crate::Dpif::set_config`] reads `pmd-threads` (default 1), `pmd-cpu-mask` (one
//! thread pinned per set bit), `emc-insert-inv-prob` (default 100) and
//! `upcall-queue-size` (default 1024).
//!
//! # Thread-safety / lock order
//!
//! Every operation may be called from any thread. Locks: the datapath's control mutex
//! (ports, threads, configuration), then the flow mutex (flow table and command links),
//! then the port-change log. Poll threads take no lock on the packet path; they never
//! wait for the slow path, and the slow path waits for them only with a bound.
//!
//! ```
//! use std::sync::Arc;
//! use dpif::{DpifClass, Dpif};
//! use dpif::userspace::DpifNetdevClass;
//!
//! let registry = Arc::new(netdev::Registry::with_default_classes());
//! let class = DpifNetdevClass::new_dummy(registry.clone());
//! let dp = class.open("ovs-dummy", true).unwrap();
//! let p1 = registry.open("p1", "dummy").unwrap();
//! assert_eq!(dp.port_add(p1, None).unwrap().0, 1);
//! assert_eq!(dp.port_dump().unwrap().len(), 2); // with the local port
//! dp.destroy().unwrap();
//! ```
//!
//! [`UpcallCallback`]: crate::UpcallCallback

mod config;
mod dp;
pub mod dpcls;
pub mod emc;
mod flow;
mod pmd;
mod shared;
mod stats;
mod upcall;

#[cfg(test)]
mod tests;

use std::sync::Arc;

pub use config::{
    DEFAULT_EMC_INSERT_INV_PROB, DEFAULT_PMD_THREADS, DEFAULT_UPCALL_QUEUE_SIZE, MAX_PMD_THREADS,
    MAX_UPCALL_QUEUE_SIZE,
};
pub use dp::{DpifNetdev, PmdInfo};
pub use stats::PmdStats;

use dp::{DpMap, DpNetdev};

use crate::error::{Error, Result};
use crate::provider::{Dpif, DpifClass};

/// The userspace datapath class: type `netdev`, or `dummy` (OVS's `--enable-dummy` copy,
/// for tests: local port of type `dummy-internal`, port numbers from port names).
pub struct DpifNetdevClass {
    registry: Arc<netdev::Registry>,
    dummy: bool,
    dps: Arc<DpMap>,
}

impl std::fmt::Debug for DpifNetdevClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DpifNetdevClass")
            .field("type", &self.type_name())
            .field("datapaths", &self.dps.lock().keys().collect::<Vec<_>>())
            .finish()
    }
}

impl DpifNetdevClass {
    /// The `netdev` class: devices are opened through `registry`; the local port is a
    /// `tap` device (which needs root).
    pub fn new(registry: Arc<netdev::Registry>) -> Self {
        DpifNetdevClass {
            registry,
            dummy: false,
            dps: Arc::default(),
        }
    }

    /// The `dummy` class: as `netdev`, but the local port is a `dummy-internal` device and
    /// ports are numbered after their names, as OVS's test suite expects.
    pub fn new_dummy(registry: Arc<netdev::Registry>) -> Self {
        DpifNetdevClass {
            registry,
            dummy: true,
            dps: Arc::default(),
        }
    }

    fn local_type(&self) -> &'static str {
        if self.dummy { "dummy-internal" } else { "tap" }
    }

    /// As [`DpifClass::open`], but returns the concrete handle, which also reports
    /// per-poll-thread counters.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] if the datapath does not exist and `create` is false; errors of
    /// opening the local port's device or starting the threads.
    pub fn open_netdev(&self, name: &str, create: bool) -> Result<Arc<DpifNetdev>> {
        let mut dps = self.dps.lock();
        let dp = match dps.get(name) {
            Some(dp) => dp.clone(),
            None if create => {
                let dp = DpNetdev::create(
                    name,
                    self.type_name(),
                    self.dummy,
                    &self.registry,
                    self.local_type(),
                    Arc::downgrade(&self.dps),
                )?;
                dps.insert(name.to_owned(), dp.clone());
                dp
            }
            None => return Err(Error::not_found("open datapath", "datapath", name)),
        };
        drop(dps);
        Ok(Arc::new(DpifNetdev::new(dp)?))
    }
}

impl DpifClass for DpifNetdevClass {
    fn type_name(&self) -> &'static str {
        if self.dummy { "dummy" } else { "netdev" }
    }

    fn enumerate(&self) -> Result<Vec<String>> {
        Ok(self.dps.lock().keys().cloned().collect())
    }

    fn open(&self, name: &str, create: bool) -> Result<Arc<dyn Dpif>> {
        Ok(self.open_netdev(name, create)?)
    }

    /// `internal` ports are `tap` devices (`dummy-internal` for the `dummy` class).
    fn port_open_type(&self, port_type: &str) -> String {
        if port_type == "internal" {
            self.local_type().to_owned()
        } else {
            port_type.to_owned()
        }
    }

    fn cleanup_required(&self) -> bool {
        true
    }
}
