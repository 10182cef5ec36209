//! The part of a datapath that its threads share: the flow table, the command generation,
//! the upcall queue, the ports' devices for the slow path, and counters.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use netdev::Netdev;
use parking_lot::{Mutex, RwLock};

use super::flow::Flows;
use super::pmd::PmdShared;
use super::stats::PmdStats;
use super::upcall::UpcallItem;
use crate::provider::UpcallCallback;

/// How long a synchronous operation waits for the poll threads to apply it.
pub(crate) const SYNC_TIMEOUT: Duration = Duration::from_secs(2);

/// The bounded upcall queue: poll threads `try_send`, handler threads receive.
#[derive(Clone)]
pub(crate) struct UpcallQueue {
    pub tx: Sender<UpcallItem>,
    pub rx: Receiver<UpcallItem>,
}

impl UpcallQueue {
    pub(crate) fn new(capacity: usize) -> Self {
        let (tx, rx) = crossbeam_channel::bounded(capacity.max(1));
        UpcallQueue { tx, rx }
    }
}

/// The shared part of one datapath.
pub(crate) struct DpShared {
    /// The datapath's name.
    pub name: String,
    /// The authoritative flow table and the poll threads' command links. Lock order: after
    /// the datapath's control mutex.
    pub flows: Mutex<Flows>,
    /// Bumped after commands are sent to the poll threads; a poll thread that has applied
    /// every command sent before generation `g` acknowledges `g`.
    pub cmd_gen: AtomicU64,
    /// Bumped by a flush: upcalls queued before it are dropped.
    pub flush_epoch: AtomicU64,
    /// The ports' devices, for outputs from handler threads and the execute operation.
    pub ports: RwLock<BTreeMap<u32, Arc<dyn Netdev>>>,
    /// The upcall queue.
    pub upcalls: RwLock<UpcallQueue>,
    /// The registered upcall callback.
    pub callback: RwLock<Option<Arc<dyn UpcallCallback>>>,
    /// Packets lost outside the poll threads: upcalls with no callback or whose callback
    /// failed, upcalls from the slow path that found the queue full.
    pub lost: AtomicU64,
    /// Counters of poll threads that have exited, so that totals survive a restart.
    pub retired: Mutex<PmdStats>,
}

impl DpShared {
    pub(crate) fn new(name: &str, queue_size: usize) -> Self {
        DpShared {
            name: name.to_owned(),
            flows: Mutex::new(Flows::default()),
            cmd_gen: AtomicU64::new(0),
            flush_epoch: AtomicU64::new(0),
            ports: RwLock::new(BTreeMap::new()),
            upcalls: RwLock::new(UpcallQueue::new(queue_size)),
            callback: RwLock::new(None),
            lost: AtomicU64::new(0),
            retired: Mutex::new(PmdStats::default()),
        }
    }

    /// Publishes the commands sent so far: returns the generation the poll threads must
    /// acknowledge.
    pub(crate) fn publish(&self) -> u64 {
        self.cmd_gen.fetch_add(1, Ordering::AcqRel) + 1
    }

    /// Publishes the commands sent so far, wakes the poll threads and waits (at most
    /// [`SYNC_TIMEOUT`]) until each has applied them. Call without holding the flow mutex.
    pub(crate) fn sync(&self, pmds: &[(Arc<PmdShared>, Arc<netdev::poll::Notifier>)]) {
        let target = self.publish();
        for (_, n) in pmds {
            n.notify();
        }
        wait_acked(pmds.iter().map(|(p, _)| p), target);
    }

    /// The poll threads' shared state and notifiers, for [`DpShared::sync`].
    pub(crate) fn pmd_handles(flows: &Flows) -> Vec<(Arc<PmdShared>, Arc<netdev::poll::Notifier>)> {
        flows
            .pmds
            .iter()
            .map(|l| (l.shared.clone(), l.notifier.clone()))
            .collect()
    }
}

/// Waits until every poll thread of `pmds` acknowledged `target` or exited, at most
/// [`SYNC_TIMEOUT`] in all.
pub(crate) fn wait_acked<'a>(pmds: impl Iterator<Item = &'a Arc<PmdShared>>, target: u64) {
    let deadline = Instant::now() + SYNC_TIMEOUT;
    for p in pmds {
        let mut spins = 0u32;
        while !p.has_acked(target) {
            if spins < 100 {
                std::hint::spin_loop();
                std::thread::yield_now();
            } else {
                if Instant::now() > deadline {
                    tracing::warn!(
                        pmd = p.id,
                        "poll thread did not apply a datapath change within {:?}",
                        SYNC_TIMEOUT
                    );
                    return;
                }
                std::thread::sleep(Duration::from_micros(20));
            }
            spins += 1;
        }
    }
}
