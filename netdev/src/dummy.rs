//! netdev-dummy: in-memory devices for testing the layers above without root or a kernel.
//!
//! As OVS's `lib/netdev-dummy.c`: a test *injects* frames that the device then receives
//! ([`DummyNetdev::receive`]), *reads back* the frames the switch sent
//! ([`DummyNetdev::take_sent`]), sets the carrier, and reads the counters.
//!
//! Three classes: `dummy`, `dummy-internal` (a bridge's local port on the dummy datapath) and
//! `dummy-pmd` (a device that asks for busy-polling poll threads). Options (through
//! [`Netdev::set_config`]): `n_rxq` (receive queues, default 1) and `tx_capture`
//! (`"true"`, the default, keeps sent frames for [`DummyNetdev::take_sent`]; `"false"` only
//! counts them, for benchmarks).

use std::collections::VecDeque;
use std::os::fd::RawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;

use crate::batch::PacketBatch;
use crate::error::{Error, Result};
use crate::ethaddr::EthAddr;
use crate::packet::Packet;
use crate::poll::Notifier;
use crate::provider::{Netdev, NetdevClass, NetdevFlags, NetdevStats, OffloadCaps, Options, Rxq};

/// The most frames one receive queue holds; more are dropped and counted in `rx_dropped`.
pub const RXQ_MAX: usize = 4096;
/// The most sent frames kept for [`DummyNetdev::take_sent`]; the oldest go first.
pub const TXQ_MAX: usize = 65536;

/// The dummy classes: `dummy`, `dummy-internal` and `dummy-pmd`.
pub fn classes() -> Vec<Arc<dyn NetdevClass>> {
    let counter = Arc::new(AtomicU64::new(0));
    vec![
        Arc::new(DummyClass {
            type_name: "dummy",
            pmd: false,
            counter: counter.clone(),
        }),
        Arc::new(DummyClass {
            type_name: "dummy-internal",
            pmd: false,
            counter: counter.clone(),
        }),
        Arc::new(DummyClass {
            type_name: "dummy-pmd",
            pmd: true,
            counter,
        }),
    ]
}

/// A dummy device class.
#[derive(Debug)]
pub struct DummyClass {
    type_name: &'static str,
    pmd: bool,
    counter: Arc<AtomicU64>,
}

impl NetdevClass for DummyClass {
    fn type_name(&self) -> &'static str {
        self.type_name
    }

    fn is_pmd(&self) -> bool {
        self.pmd
    }

    fn open(&self, name: &str) -> Result<Arc<dyn Netdev>> {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        Ok(Arc::new(DummyNetdev::new(name, self.type_name, n)?))
    }
}

struct RxQueue {
    frames: Mutex<VecDeque<Packet>>,
    notifier: Notifier,
}

struct State {
    mac: EthAddr,
    mtu: u32,
    flags: NetdevFlags,
    carrier: bool,
    carrier_resets: u64,
    stats: NetdevStats,
    tx_capture: bool,
    options: Options,
    rxqs: Vec<Arc<RxQueue>>,
}

/// An in-memory network device.
pub struct DummyNetdev {
    name: String,
    type_name: &'static str,
    state: Mutex<State>,
    sent: Mutex<VecDeque<Packet>>,
    change_seq: AtomicU64,
    rx_rr: AtomicU64,
}

impl DummyNetdev {
    fn new(name: &str, type_name: &'static str, n: u64) -> Result<Self> {
        let b = n.to_be_bytes();
        let rxq = Self::new_rxq(name)?;
        Ok(DummyNetdev {
            name: name.to_owned(),
            type_name,
            state: Mutex::new(State {
                mac: EthAddr([0xaa, 0x55, 0xaa, 0x55, b[6], b[7]]),
                mtu: 1500,
                flags: NetdevFlags::empty(),
                carrier: true,
                carrier_resets: 0,
                stats: NetdevStats::zero(),
                tx_capture: true,
                options: Options::new(),
                rxqs: vec![rxq],
            }),
            sent: Mutex::new(VecDeque::new()),
            change_seq: AtomicU64::new(1),
            rx_rr: AtomicU64::new(0),
        })
    }

    fn new_rxq(name: &str) -> Result<Arc<RxQueue>> {
        let notifier = Notifier::new().map_err(|e| Error::io("create rx queue", name, e))?;
        Ok(Arc::new(RxQueue {
            frames: Mutex::new(VecDeque::new()),
            notifier,
        }))
    }

    fn bump(&self) {
        self.change_seq.fetch_add(1, Ordering::Release);
    }

    /// Injects a frame that the device receives on queue `qid` (modulo the number of
    /// queues). Returns false, counting an `rx_dropped`, if the device is down or the queue
    /// is full.
    pub fn receive_on(&self, qid: usize, pkt: Packet) -> bool {
        let rxq = {
            let mut st = self.state.lock();
            if !st.flags.contains(NetdevFlags::UP) || !st.carrier {
                st.stats.rx_dropped += 1;
                return false;
            }
            let n = st.rxqs.len().max(1);
            match st.rxqs.get(qid % n) {
                Some(q) => q.clone(),
                None => return false,
            }
        };
        let mut frames = rxq.frames.lock();
        if frames.len() >= RXQ_MAX {
            drop(frames);
            self.state.lock().stats.rx_dropped += 1;
            return false;
        }
        frames.push_back(pkt);
        drop(frames);
        rxq.notifier.notify();
        true
    }

    /// Injects a frame, spreading frames over the receive queues round-robin.
    pub fn receive(&self, pkt: Packet) -> bool {
        let qid = usize::try_from(self.rx_rr.fetch_add(1, Ordering::Relaxed)).unwrap_or(0);
        self.receive_on(qid, pkt)
    }

    /// Takes the frames sent so far, oldest first.
    pub fn take_sent(&self) -> Vec<Packet> {
        self.sent.lock().drain(..).collect()
    }

    /// How many sent frames are waiting in [`DummyNetdev::take_sent`].
    pub fn n_sent_waiting(&self) -> usize {
        self.sent.lock().len()
    }

    /// Sets the carrier (link) state.
    pub fn set_carrier(&self, up: bool) {
        let mut st = self.state.lock();
        if st.carrier != up {
            st.carrier = up;
            if !up {
                st.carrier_resets += 1;
            }
            drop(st);
            self.bump();
        }
    }

    /// How many frames wait in receive queue `qid`.
    pub fn rx_waiting(&self, qid: usize) -> usize {
        let st = self.state.lock();
        st.rxqs.get(qid).map_or(0, |q| q.frames.lock().len())
    }
}

impl std::fmt::Debug for DummyNetdev {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DummyNetdev")
            .field("name", &self.name)
            .field("type", &self.type_name)
            .finish()
    }
}

fn parse_bool(name: &str, key: &str, value: &str) -> Result<bool> {
    match value {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(Error::InvalidConfig {
            name: name.to_owned(),
            msg: format!("option {key} must be \"true\" or \"false\", not \"{value}\""),
        }),
    }
}

impl Netdev for DummyNetdev {
    fn name(&self) -> &str {
        &self.name
    }

    fn type_name(&self) -> &'static str {
        self.type_name
    }

    fn set_config(&self, options: &Options) -> Result<()> {
        let mut n_rxq = 1usize;
        let mut tx_capture = true;
        for (key, value) in options {
            match key.as_str() {
                "n_rxq" => {
                    n_rxq = value
                        .parse()
                        .ok()
                        .filter(|n| (1..=1024).contains(n))
                        .ok_or_else(|| Error::InvalidConfig {
                            name: self.name.clone(),
                            msg: format!("n_rxq must be a number from 1 to 1024, not \"{value}\""),
                        })?;
                }
                "tx_capture" => tx_capture = parse_bool(&self.name, key, value)?,
                _ => {
                    return Err(Error::InvalidConfig {
                        name: self.name.clone(),
                        msg: format!("dummy interface does not support option \"{key}\""),
                    });
                }
            }
        }
        let mut st = self.state.lock();
        while st.rxqs.len() < n_rxq {
            let q = Self::new_rxq(&self.name)?;
            st.rxqs.push(q);
        }
        st.rxqs.truncate(n_rxq);
        st.tx_capture = tx_capture;
        st.options = options.clone();
        drop(st);
        if !tx_capture {
            self.sent.lock().clear();
        }
        Ok(())
    }

    fn get_config(&self) -> Options {
        self.state.lock().options.clone()
    }

    fn etheraddr(&self) -> Result<EthAddr> {
        Ok(self.state.lock().mac)
    }

    fn set_etheraddr(&self, mac: EthAddr) -> Result<()> {
        if mac.is_multicast() {
            return Err(Error::io(
                "set MAC",
                &self.name,
                nix::errno::Errno::EADDRNOTAVAIL,
            ));
        }
        self.state.lock().mac = mac;
        self.bump();
        Ok(())
    }

    fn mtu(&self) -> Result<u32> {
        Ok(self.state.lock().mtu)
    }

    fn set_mtu(&self, mtu: u32) -> Result<()> {
        if !(68..=65535).contains(&mtu) {
            return Err(Error::InvalidConfig {
                name: self.name.clone(),
                msg: format!("MTU {mtu} is out of range 68..65535"),
            });
        }
        self.state.lock().mtu = mtu;
        self.bump();
        Ok(())
    }

    fn carrier(&self) -> Result<bool> {
        Ok(self.state.lock().carrier)
    }

    fn carrier_resets(&self) -> u64 {
        self.state.lock().carrier_resets
    }

    fn flags(&self) -> Result<NetdevFlags> {
        Ok(self.state.lock().flags)
    }

    fn update_flags(&self, off: NetdevFlags, on: NetdevFlags) -> Result<NetdevFlags> {
        let mut st = self.state.lock();
        let old = st.flags;
        st.flags = (old - off) | on;
        let changed = st.flags != old;
        drop(st);
        if changed {
            self.bump();
        }
        Ok(old)
    }

    fn stats(&self) -> Result<NetdevStats> {
        Ok(self.state.lock().stats)
    }

    fn status(&self) -> Result<Options> {
        Ok(Options::new())
    }

    fn change_seq(&self) -> u64 {
        self.change_seq.load(Ordering::Acquire)
    }

    fn n_rxq(&self) -> usize {
        self.state.lock().rxqs.len()
    }

    fn rxq_open(&self, qid: usize) -> Result<Box<dyn Rxq>> {
        let st = self.state.lock();
        let q = st
            .rxqs
            .get(qid)
            .cloned()
            .ok_or_else(|| Error::InvalidConfig {
                name: self.name.clone(),
                msg: format!("no receive queue {qid}"),
            })?;
        Ok(Box::new(DummyRxq {
            qid,
            queue: q,
            dev: self.name.clone(),
        }))
    }

    fn send(&self, _qid: usize, batch: &mut PacketBatch, _concurrent_txq: bool) -> Result<()> {
        let n = batch.len() as u64;
        let bytes = batch.bytes() as u64;
        let (up, capture) = {
            let mut st = self.state.lock();
            let up = st.flags.contains(NetdevFlags::UP);
            if up {
                st.stats.tx_packets += n;
                st.stats.tx_bytes += bytes;
            } else {
                st.stats.tx_dropped += n;
            }
            (up, st.tx_capture)
        };
        if up && capture {
            let mut sent = self.sent.lock();
            for pkt in batch.drain() {
                if sent.len() >= TXQ_MAX {
                    sent.pop_front();
                }
                sent.push_back(pkt);
            }
        }
        batch.clear();
        Ok(())
    }

    fn offload_caps(&self) -> OffloadCaps {
        OffloadCaps::all()
    }
}

/// A receive queue of a [`DummyNetdev`].
pub struct DummyRxq {
    qid: usize,
    queue: Arc<RxQueue>,
    dev: String,
}

impl std::fmt::Debug for DummyRxq {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DummyRxq")
            .field("dev", &self.dev)
            .field("qid", &self.qid)
            .finish()
    }
}

impl Rxq for DummyRxq {
    fn queue_id(&self) -> usize {
        self.qid
    }

    fn recv(&mut self, batch: &mut PacketBatch) -> Result<usize> {
        let mut frames = self.queue.frames.lock();
        let mut n = 0;
        while !batch.is_full() {
            let Some(pkt) = frames.pop_front() else { break };
            if let Err(pkt) = batch.push(pkt) {
                frames.push_front(pkt);
                break;
            }
            n += 1;
        }
        if frames.is_empty() {
            self.queue.notifier.drain();
        }
        Ok(n)
    }

    fn fd(&self) -> Option<RawFd> {
        Some(self.queue.notifier.fd())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{MAX_BURST, Registry, downcast};

    fn open(reg: &Registry, name: &str) -> (Arc<dyn Netdev>, Arc<DummyNetdev>) {
        let dev = reg.open(name, "dummy").unwrap();
        let dummy = downcast::<DummyNetdev>(&dev).unwrap();
        dev.update_flags(NetdevFlags::empty(), NetdevFlags::UP)
            .unwrap();
        (dev, dummy)
    }

    #[test]
    fn injected_frames_are_received_in_batches() {
        let reg = Registry::with_default_classes();
        let (dev, dummy) = open(&reg, "p1");
        let mut rxq = dev.rxq_open(0).unwrap();
        for i in 0..40u8 {
            assert!(dummy.receive(Packet::from_slice(&[i; 60])));
        }
        let mut batch = PacketBatch::new();
        assert_eq!(rxq.recv(&mut batch).unwrap(), MAX_BURST);
        assert_eq!(batch.packets()[0].data()[0], 0);
        batch.clear();
        assert_eq!(rxq.recv(&mut batch).unwrap(), 8);
        assert_eq!(batch.packets()[7].data()[0], 39);
        batch.clear();
        assert_eq!(rxq.recv(&mut batch).unwrap(), 0);
    }

    #[test]
    fn sent_frames_are_read_back_and_counted() {
        let reg = Registry::with_default_classes();
        let (dev, dummy) = open(&reg, "p2");
        let mut batch = PacketBatch::new();
        batch.push(Packet::from_slice(&[1; 64])).unwrap();
        batch.push(Packet::from_slice(&[2; 100])).unwrap();
        dev.send(0, &mut batch, false).unwrap();
        assert!(batch.is_empty(), "send consumes the batch");
        let sent = dummy.take_sent();
        assert_eq!(sent.len(), 2);
        assert_eq!(sent[1].data(), &[2; 100][..]);
        let st = dev.stats().unwrap();
        assert_eq!((st.tx_packets, st.tx_bytes), (2, 164));
    }

    #[test]
    fn down_device_drops() {
        let reg = Registry::with_default_classes();
        let dev = reg.open("p3", "dummy").unwrap();
        let dummy = downcast::<DummyNetdev>(&dev).unwrap();
        assert!(!dummy.receive(Packet::from_slice(&[0; 60])));
        assert_eq!(dev.stats().unwrap().rx_dropped, 1);
    }

    #[test]
    fn carrier_and_change_seq() {
        let reg = Registry::with_default_classes();
        let (dev, dummy) = open(&reg, "p4");
        let seq = dev.change_seq();
        dummy.set_carrier(false);
        assert!(!dev.carrier().unwrap());
        assert!(dev.change_seq() > seq);
        assert_eq!(dev.carrier_resets(), 1);
        assert!(!dummy.receive(Packet::from_slice(&[0; 60])));
    }

    #[test]
    fn several_rx_queues() {
        let reg = Registry::with_default_classes();
        let (dev, dummy) = open(&reg, "p5");
        let opts: Options = [("n_rxq".to_owned(), "4".to_owned())].into();
        dev.set_config(&opts).unwrap();
        assert_eq!(dev.n_rxq(), 4);
        for i in 0..8u8 {
            dummy.receive(Packet::from_slice(&[i]));
        }
        for q in 0..4 {
            assert_eq!(dummy.rx_waiting(q), 2);
        }
        let bad: Options = [("n_rxq".to_owned(), "zero".to_owned())].into();
        let err = dev.set_config(&bad).unwrap_err();
        assert!(err.to_string().contains("n_rxq"), "{err}");
        assert_eq!(dev.n_rxq(), 4, "a refused config changes nothing");
    }

    #[test]
    fn mtu_and_mac() {
        let reg = Registry::with_default_classes();
        let (dev, _) = open(&reg, "p6");
        dev.set_mtu(9000).unwrap();
        assert_eq!(dev.mtu().unwrap(), 9000);
        assert!(dev.set_mtu(10).is_err());
        assert_eq!(dev.mtu().unwrap(), 9000);
        let mac: EthAddr = "02:00:00:00:00:01".parse().unwrap();
        dev.set_etheraddr(mac).unwrap();
        assert_eq!(dev.etheraddr().unwrap(), mac);
        assert!(dev.set_etheraddr(EthAddr::BROADCAST).is_err());
    }
}
