//! Upcall handling, in the two styles datapaths use (OVS's `ofproto-dpif-upcall.c`).
//!
//! * A datapath that calls back (the userspace datapath) gets an [`UpcallCb`]: it
//!   translates each upcall and answers with the actions, the megaflow mask and whether to
//!   install the flow (no, once the flow limit is reached); the datapath installs the flow
//!   and executes the packet itself.
//! * A datapath that queues upcalls (the kernel datapath) gets handler threads of our own:
//!   each waits on [`dpif::Dpif::recv_wait`], takes up to [`UPCALL_MAX_BATCH`] upcalls with
//!   [`dpif::Dpif::recv`], translates them, and sends one [`dpif::Dpif::operate`] batch with a flow put
//!   (create) and an execute per upcall.
//!
//! Either way the work is [`BackerShared::handle_upcall`]; a miss on a port no bridge owns
//! gets a drop flow for its exact key.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::Duration;

use dpif::{DpifOp, Execute, FlowPut, PutFlags, Upcall, UpcallCallback, UpcallKind, UpcallReply};
use netdev::poll::{Interest, Notifier, PollSet};

use super::backer::BackerShared;

/// Most upcalls a handler thread takes at once (OVS's `UPCALL_MAX_BATCH`).
pub const UPCALL_MAX_BATCH: usize = 64;

/// The upcall callback registered with a datapath that calls back.
pub(crate) struct UpcallCb {
    pub backer: Weak<BackerShared>,
}

impl UpcallCallback for UpcallCb {
    fn upcall(&self, upcall: &Upcall) -> dpif::Result<UpcallReply> {
        let Some(b) = self.backer.upgrade() else {
            return Err(dpif::Error::NotSupported {
                op: "upcall on a closed switch",
            });
        };
        let d = b.handle_upcall(upcall);
        Ok(UpcallReply {
            actions: d.actions,
            mask: d.mask,
            put_actions: None,
            install: d.install && upcall.kind == UpcallKind::Miss,
        })
    }
}

/// The body of kernel-style handler thread `id`.
pub(crate) fn handler_main(b: &BackerShared, id: u32, wake: &Notifier) {
    let mut batch: Vec<Upcall> = Vec::with_capacity(UPCALL_MAX_BATCH);
    while !b.stop.load(Ordering::Acquire) {
        batch.clear();
        match b.dpif.recv(id, &mut batch, UPCALL_MAX_BATCH) {
            Ok(0) => {
                let mut poll = PollSet::new();
                b.dpif.recv_wait(id, &mut poll);
                poll.fd_wait(wake.fd(), Interest::Read);
                // Also wake now and then, in case the datapath has nothing to wait on.
                poll.timer_wait_after(Duration::from_millis(100));
                if let Err(e) = poll.block() {
                    tracing::debug!("handler {id}: poll: {e}");
                }
                continue;
            }
            Ok(_) => {}
            Err(e) => {
                tracing::debug!("handler {id}: recv: {e}");
                std::thread::sleep(Duration::from_millis(10));
                continue;
            }
        }
        handle_batch(b, &mut batch);
    }
}

/// Translates a batch of received upcalls and sends one operate batch: a put (when the
/// flow is to be installed) and an execute for each.
pub(crate) fn handle_batch(b: &BackerShared, batch: &mut Vec<Upcall>) {
    let mut ops = Vec::with_capacity(batch.len() * 2);
    for up in batch.drain(..) {
        let d = b.handle_upcall(&up);
        if up.kind == UpcallKind::Miss && d.install {
            ops.push(DpifOp::Put(FlowPut {
                flags: PutFlags::CREATE,
                key: up.key,
                mask: d.mask,
                actions: d.actions.clone(),
                ufid: up.ufid,
            }));
        }
        if !d.actions.is_empty() {
            let mut packet = up.packet;
            packet.md.in_port = up.key.in_port;
            packet.md.recirc_id = up.key.recirc_id;
            packet.md.skb_priority = up.key.skb_priority;
            packet.md.skb_mark = up.key.skb_mark;
            packet.md.dp_hash = up.key.dp_hash;
            ops.push(DpifOp::Execute(Execute {
                packet,
                actions: d.actions,
                probe: false,
                mtu: 0,
            }));
        }
    }
    if ops.is_empty() {
        return;
    }
    let what: Vec<&'static str> = ops
        .iter()
        .map(|o| match o {
            DpifOp::Put(_) => "put",
            _ => "execute",
        })
        .collect();
    for (r, what) in b.dpif.operate(ops).into_iter().zip(what) {
        // Another handler installing the same flow first is no failure.
        if let Err(e) = r
            && !matches!(e, dpif::Error::Exists { .. })
            && b.op_warn_limit.allow(dpif::monotonic_ms())
        {
            tracing::warn!("{}: failed to {what} upcall: {e}", b.dpif.name());
        }
    }
}

/// Spawns `n` handler threads for a datapath that delivers upcalls through `recv`.
pub(crate) fn spawn_handlers(
    b: &Arc<BackerShared>,
    n: u32,
    wake: &Arc<Notifier>,
) -> std::io::Result<Vec<std::thread::JoinHandle<()>>> {
    let mut v = Vec::new();
    for id in 0..n {
        let b = b.clone();
        let wake = wake.clone();
        v.push(
            std::thread::Builder::new()
                .name(format!("handler{}", id + 1))
                .spawn(move || handler_main(&b, id, &wake))?,
        );
    }
    Ok(v)
}

/// The number of handler threads OVS uses without a per-CPU dispatch: `max(cores, 2)`
/// threads, of which `threads / 4 + 1` revalidate and the rest (at least one) handle.
pub(crate) fn default_n_handlers() -> u32 {
    let cores = std::thread::available_parallelism()
        .map(|n| u32::try_from(n.get()).unwrap_or(u32::MAX))
        .unwrap_or(1);
    let threads = cores.max(2);
    let revalidators = threads / 4 + 1;
    threads.saturating_sub(revalidators).max(1)
}
