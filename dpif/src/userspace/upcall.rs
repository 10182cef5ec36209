//! Upcalls and the slow path.
//!
//! Poll threads put missed packets (and packets of `userspace` actions) into the
//! datapath's one bounded queue with `try_send`: when it is full the packet is dropped and
//! counted lost, so a flood of new flows costs neither memory nor time to the packets
//! that hit existing flows. Handler threads take up to [`UPCALL_BATCH`] upcalls at a time,
//! call the registered [`UpcallCallback`], install the flows the replies ask for (without
//! waiting for the poll threads: a poll thread that misses applies pending changes before
//! it upcalls), then execute each reply's actions on its packet.
//!
//! [`SlowPath`] executes actions outside the poll threads (handlers and the execute
//! operation): outputs are sent with `concurrent_txq`, recirculated packets are looked up
//! in the authoritative flow table.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender, select};
use netdev::{Netdev, Packet, PacketBatch};

use super::pmd::MAX_RECIRC_DEPTH;
use super::shared::DpShared;
use crate::odp::execute::{ExecuteCallbacks, execute};
use crate::odp::extract::extract;
use crate::odp::{Action, FlowKey, OdpPort, Ufid, Userspace};
use crate::provider::{FlowPut, PutFlags, Upcall, UpcallKind, monotonic_ms};

/// Most upcalls a handler takes at once (OVS's `UPCALL_MAX_BATCH`).
pub(crate) const UPCALL_BATCH: usize = 64;

/// One queued upcall.
pub(crate) struct UpcallItem {
    pub kind: UpcallKind,
    pub packet: Packet,
    pub key: FlowKey,
    pub userdata: Option<Vec<u8>>,
    pub pmd_id: Option<u32>,
    /// The datapath's flush epoch when it was queued.
    pub epoch: u64,
}

/// A running handler thread.
pub(crate) struct HandlerThread {
    stop: Option<Sender<()>>,
    join: Option<JoinHandle<()>>,
}

impl HandlerThread {
    /// Starts handler `id` on the datapath's current upcall queue.
    pub(crate) fn spawn(dp: Arc<DpShared>, id: u32) -> std::io::Result<HandlerThread> {
        let (stop_tx, stop_rx) = crossbeam_channel::bounded(1);
        let rx = dp.upcalls.read().rx.clone();
        let join = std::thread::Builder::new()
            .name(format!("handler{id}"))
            .spawn(move || handler_main(&dp, &rx, &stop_rx))?;
        Ok(HandlerThread {
            stop: Some(stop_tx),
            join: Some(join),
        })
    }
}

impl Drop for HandlerThread {
    fn drop(&mut self) {
        // Dropping the sender disconnects the stop channel, which ends the loop.
        self.stop.take();
        if let Some(j) = self.join.take() {
            let _ = j.join();
        }
    }
}

fn handler_main(dp: &DpShared, rx: &Receiver<UpcallItem>, stop: &Receiver<()>) {
    let mut items = Vec::with_capacity(UPCALL_BATCH);
    loop {
        select! {
            recv(stop) -> _ => return,
            recv(rx) -> item => match item {
                Ok(item) => items.push(item),
                Err(_) => return,
            },
        }
        while items.len() < UPCALL_BATCH {
            match rx.try_recv() {
                Ok(item) => items.push(item),
                Err(_) => break,
            }
        }
        handle_batch(dp, &mut items);
    }
}

/// Handles a batch of upcalls: callback, installs, executes.
pub(crate) fn handle_batch(dp: &DpShared, items: &mut Vec<UpcallItem>) {
    let cb = dp.callback.read().clone();
    let epoch = dp.flush_epoch.load(Ordering::Acquire);
    let mut puts = Vec::new();
    let mut execs = Vec::new();
    for item in items.drain(..) {
        if item.epoch != epoch {
            // Queued before a flush: dropped with the flows.
            continue;
        }
        let Some(cb) = &cb else {
            dp.lost.fetch_add(1, Ordering::Relaxed);
            continue;
        };
        let upcall = Upcall {
            kind: item.kind,
            ufid: Ufid::from_key(&item.key),
            packet: item.packet,
            key: item.key,
            raw_key: None,
            userdata: item.userdata,
            pmd_id: item.pmd_id,
        };
        // A callback that panics loses its packet, not the handler thread.
        let reply = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| cb.upcall(&upcall)))
            .unwrap_or_else(|_| {
                Err(crate::Error::invalid(
                    "upcall",
                    "the upcall callback panicked",
                ))
            });
        match reply {
            Ok(reply) => {
                if upcall.kind == UpcallKind::Miss && reply.install {
                    puts.push(FlowPut {
                        flags: PutFlags::CREATE,
                        key: upcall.key,
                        mask: reply.mask,
                        actions: reply.put_actions.unwrap_or_else(|| reply.actions.clone()),
                        ufid: upcall.ufid,
                    });
                }
                execs.push((upcall.packet, upcall.key, reply.actions));
            }
            Err(e) => {
                tracing::debug!("upcall callback failed: {e}");
                dp.lost.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
    if !puts.is_empty() {
        let mut flows = dp.flows.lock();
        // Flows installed on behalf of another packet of the same megaflow come back as
        // `Exists`: fine.
        if dp.flush_epoch.load(Ordering::Acquire) == epoch {
            for put in puts {
                let _ = flows.put(put);
            }
        }
        drop(flows);
        // No wait: poll threads apply pending changes before they upcall.
        dp.publish();
    }
    if !execs.is_empty() {
        let mut sp = SlowPath::new(dp);
        for (packet, key, actions) in execs {
            sp.run(packet, &key, &actions);
        }
        sp.flush();
    }
}

/// Executes actions outside the poll threads.
pub(crate) struct SlowPath<'a> {
    dp: &'a DpShared,
    ports: BTreeMap<u32, Arc<dyn Netdev>>,
    out: Vec<(u32, PacketBatch)>,
    recirc: Vec<Packet>,
}

impl<'a> SlowPath<'a> {
    pub(crate) fn new(dp: &'a DpShared) -> Self {
        SlowPath {
            dp,
            ports: dp.ports.read().clone(),
            out: Vec::new(),
            recirc: Vec::new(),
        }
    }

    /// Runs `actions` on `pkt` (whose key is `key`), following recirculations.
    pub(crate) fn run(&mut self, pkt: Packet, key: &FlowKey, actions: &[Action]) {
        execute(pkt, key, actions, self);
        let mut depth = 0;
        while !self.recirc.is_empty() && depth < MAX_RECIRC_DEPTH {
            let pkts = std::mem::take(&mut self.recirc);
            for mut p in pkts {
                let mut k = FlowKey::zero();
                extract(&mut p, &mut k);
                let hit = self
                    .dp
                    .flows
                    .lock()
                    .lookup(&k)
                    .map(|f| (f.clone(), f.actions()));
                match hit {
                    Some((flow, acts)) => {
                        flow.counters
                            .add(1, p.len() as u64, monotonic_ms(), k.tcp_flags);
                        execute(p, &k, &acts, self);
                    }
                    None => self.upcall(UpcallKind::Miss, p, k, None),
                }
            }
            depth += 1;
        }
        self.recirc.clear();
    }

    fn upcall(
        &mut self,
        kind: UpcallKind,
        packet: Packet,
        key: FlowKey,
        userdata: Option<Vec<u8>>,
    ) {
        let item = UpcallItem {
            kind,
            packet,
            key,
            userdata,
            pmd_id: None,
            epoch: self.dp.flush_epoch.load(Ordering::Acquire),
        };
        if self.dp.upcalls.read().tx.try_send(item).is_err() {
            self.dp.lost.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Sends the gathered outputs.
    pub(crate) fn flush(&mut self) {
        for (port, batch) in &mut self.out {
            if batch.is_empty() {
                continue;
            }
            if let Some(dev) = self.ports.get(port) {
                let qid = dev.n_txq().max(1) - 1;
                let _ = dev.send(qid, batch, true);
            }
            batch.clear();
        }
    }
}

impl ExecuteCallbacks for SlowPath<'_> {
    fn output(&mut self, port: OdpPort, pkt: Packet) {
        if !self.ports.contains_key(&port.0) {
            return;
        }
        let i = match self.out.iter().position(|(p, _)| *p == port.0) {
            Some(i) => i,
            None => {
                self.out.push((port.0, PacketBatch::new()));
                self.out.len() - 1
            }
        };
        if let Err(pkt) = self.out[i].1.push(pkt) {
            self.flush();
            let _ = self.out[i].1.push(pkt);
        }
    }

    fn userspace(&mut self, pkt: &Packet, action: &Userspace) {
        let mut p = pkt.clone_packet();
        let mut key = FlowKey::zero();
        extract(&mut p, &mut key);
        self.upcall(UpcallKind::Action, p, key, action.userdata.clone());
    }

    fn recirc(&mut self, mut pkt: Packet, recirc_id: u32) {
        pkt.md.recirc_id = recirc_id;
        if self.recirc.len() < netdev::MAX_BURST * 4 {
            self.recirc.push(pkt);
        }
    }
}
