//! The packet-in queue of a bridge: handler threads push [`PacketIn`]s, the main loop takes
//! them ([`Ofproto::take_packet_ins`](crate::Ofproto::take_packet_ins)) and hands them to
//! the connection manager.
//!
//! The queue is bounded ([`PACKET_IN_QUEUE_MAX`]) and its storage allocated once, so a
//! flood of packets for the controller costs each handler one packet copy and a short
//! lock of this bridge's queue, never unbounded memory; what does not fit is dropped and
//! counted. An optional token bucket (OVS's `controller_rate_limit` and
//! `controller_burst_limit`, off by default as in OVS) limits the rate further. Pushing
//! wakes the main loop through an eventfd that [`PinQueue::wait`] registers.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};

use netdev::poll::{Interest, Notifier, PollSet};
use parking_lot::Mutex;

use crate::error::{Error, Result};
use crate::packet_in::PacketIn;

/// Most packet-ins a bridge queues for the main loop.
pub const PACKET_IN_QUEUE_MAX: usize = 256;

/// A token bucket: `rate` packets per second, at most `burst` at once.
#[derive(Clone, Copy, Debug)]
struct TokenBucket {
    rate: u32,
    burst: u32,
    /// Tokens, in thousandths of a packet.
    tokens_milli: u64,
    last_ms: u64,
}

impl TokenBucket {
    fn allow(&mut self, now_ms: u64) -> bool {
        let elapsed = now_ms.saturating_sub(self.last_ms);
        self.last_ms = now_ms.max(self.last_ms);
        let cap = u64::from(self.burst) * 1000;
        self.tokens_milli = self
            .tokens_milli
            .saturating_add(elapsed.saturating_mul(u64::from(self.rate)))
            .min(cap);
        if self.tokens_milli >= 1000 {
            self.tokens_milli -= 1000;
            true
        } else {
            false
        }
    }
}

struct Inner {
    q: VecDeque<PacketIn>,
    limit: Option<TokenBucket>,
}

/// See the module docs.
pub(crate) struct PinQueue {
    inner: Mutex<Inner>,
    notifier: Notifier,
    /// Packet-ins queued.
    pub queued: AtomicU64,
    /// Packet-ins dropped because the queue was full.
    pub dropped_full: AtomicU64,
    /// Packet-ins dropped by the rate limit.
    pub dropped_rate: AtomicU64,
}

impl std::fmt::Debug for PinQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PinQueue")
            .field("queued", &self.queued)
            .field("dropped_full", &self.dropped_full)
            .finish()
    }
}

impl PinQueue {
    /// An empty queue.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] if the eventfd could not be created.
    pub(crate) fn new() -> Result<PinQueue> {
        Ok(PinQueue {
            inner: Mutex::new(Inner {
                q: VecDeque::with_capacity(PACKET_IN_QUEUE_MAX),
                limit: None,
            }),
            notifier: Notifier::new()
                .map_err(|e| Error::Invalid(format!("packet-in eventfd: {e}")))?,
            queued: AtomicU64::new(0),
            dropped_full: AtomicU64::new(0),
            dropped_rate: AtomicU64::new(0),
        })
    }

    /// Queues `pin` unless the queue is full or the rate limit says no; wakes the main
    /// loop. Returns whether it was queued.
    #[cfg(test)]
    pub(crate) fn push(&self, pin: PacketIn, now_ms: u64) -> bool {
        self.push_with(now_ms, || pin)
    }

    /// Queues the packet-in `make` builds, unless the queue is full or the rate limit says
    /// no, in which case `make` is not called (a flood copies no packets it would drop);
    /// wakes the main loop. Returns whether it was queued.
    pub(crate) fn push_with(&self, now_ms: u64, make: impl FnOnce() -> PacketIn) -> bool {
        {
            let mut g = self.inner.lock();
            if let Some(tb) = g.limit.as_mut()
                && !tb.allow(now_ms)
            {
                drop(g);
                self.dropped_rate.fetch_add(1, Ordering::Relaxed);
                return false;
            }
            if g.q.len() >= PACKET_IN_QUEUE_MAX {
                drop(g);
                self.dropped_full.fetch_add(1, Ordering::Relaxed);
                return false;
            }
        }
        // The copy happens outside the lock; another handler may fill the queue meanwhile.
        let pin = make();
        {
            let mut g = self.inner.lock();
            if g.q.len() >= PACKET_IN_QUEUE_MAX {
                drop(g);
                self.dropped_full.fetch_add(1, Ordering::Relaxed);
                return false;
            }
            g.q.push_back(pin);
        }
        self.queued.fetch_add(1, Ordering::Relaxed);
        self.notifier.notify();
        true
    }

    /// Takes everything queued.
    pub(crate) fn take(&self) -> Vec<PacketIn> {
        self.notifier.drain();
        let mut g = self.inner.lock();
        g.q.drain(..).collect()
    }

    /// Registers in `poll` what wakes the main loop when a packet-in arrives.
    pub(crate) fn wait(&self, poll: &mut PollSet) {
        if self.inner.lock().q.is_empty() {
            poll.fd_wait(self.notifier.fd(), Interest::Read);
        } else {
            poll.immediate_wake();
        }
    }

    /// Limits packet-ins to `rate` per second with bursts of `burst` (`None`: no limit).
    pub(crate) fn set_rate_limit(&self, limit: Option<(u32, u32)>, now_ms: u64) {
        self.inner.lock().limit = limit.map(|(rate, burst)| {
            let burst = burst.max(1);
            TokenBucket {
                rate,
                burst,
                tokens_milli: u64::from(burst) * 1000,
                last_ms: now_ms,
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::PacketInReason;
    use crate::flow::Flow;

    fn pin(n: u8) -> PacketIn {
        PacketIn {
            packet: vec![n; 60],
            reason: PacketInReason::Action,
            table_id: 0,
            cookie: 0,
            metadata: Flow::zero(),
            max_len: u16::MAX,
            controller_id: 0,
            userdata: None,
        }
    }

    #[test]
    fn bounded_and_wakes() {
        let q = PinQueue::new().unwrap();
        let mut poll = PollSet::new();
        q.wait(&mut poll);
        assert_eq!(poll.n_fds(), 1);
        for i in 0..PACKET_IN_QUEUE_MAX + 10 {
            q.push(pin(u8::try_from(i % 256).unwrap()), 0);
        }
        assert_eq!(q.dropped_full.load(Ordering::Relaxed), 10);
        // A full queue does not even build the packet-in.
        let mut built = false;
        assert!(!q.push_with(0, || {
            built = true;
            pin(0)
        }));
        assert!(!built);
        let mut poll = PollSet::new();
        q.wait(&mut poll);
        assert_eq!(poll.deadline().map(|_| ()), Some(()));
        let got = q.take();
        assert_eq!(got.len(), PACKET_IN_QUEUE_MAX);
        assert_eq!(got[1].packet[0], 1);
        assert!(q.take().is_empty());
    }

    #[test]
    fn rate_limit() {
        let q = PinQueue::new().unwrap();
        q.set_rate_limit(Some((10, 2)), 1000);
        assert!(q.push(pin(0), 1000));
        assert!(q.push(pin(0), 1000));
        assert!(!q.push(pin(0), 1000));
        // 10 per second: one more after 100 ms.
        assert!(q.push(pin(0), 1100));
        assert!(!q.push(pin(0), 1100));
        assert_eq!(q.dropped_rate.load(Ordering::Relaxed), 2);
        q.set_rate_limit(None, 1100);
        assert!(q.push(pin(0), 1100));
    }
}
