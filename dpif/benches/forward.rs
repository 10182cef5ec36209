//! Forwarding through dpif-netdev, end to end, one poll thread: inject N packets on one
//! port, wait until the output port has counted them all.
//!
//! `cargo bench -p dpif --bench forward`. Two setups:
//!
//! * `dummy`: netdev-dummy ports, as the brief says (`tx_capture=false` on the output). The
//!   benchmark thread injects each packet through `DummyNetdev::receive` (a lock and an
//!   eventfd write per packet), which is slower than the datapath itself, so this measures
//!   the injector as much as the switch.
//! * `gen`: a generator port whose rx queue makes packets from templates in the poll thread
//!   (no syscall, buffers recycled through the thread's pool) and a sink port that counts
//!   them: the datapath's own ceiling.
//!
//! With 1 flow (in_port only) and with 10,000 flows (exact IPv4 destination, one
//! subtable), each packet of a run going to the next flow. `upcall/new_flows` is the slow
//! path: the flow table is flushed before each run and every packet of the run belongs
//! to a new flow, so each one goes up to the handler thread, whose callback answers
//! "output, install" (upcall queue large enough that none is lost). After the criterion
//! groups, each setup prints the CPU time the whole process spent per packet.

// A benchmark harness, not library code: a failed setup step must stop it loudly.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::os::fd::RawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use dpif::odp::{Action, FlowKey, OdpPort, Ufid, extract};
use dpif::userspace::{DpifNetdev, DpifNetdevClass};
use dpif::{Dpif, FlowPut, PutFlags, Upcall, UpcallCallback, UpcallReply};
use netdev::dummy::DummyNetdev;
use netdev::poll::Notifier;
use netdev::{
    EthAddr, MAX_BURST, Netdev, NetdevClass, NetdevFlags, Options, Packet, PacketBatch, Registry,
    Rxq, downcast,
};

/// Packets per measured run.
const RUN: u64 = 20_000;

fn frame(flow: u32) -> Vec<u8> {
    let mut f = vec![0u8; 60];
    f[0..6].copy_from_slice(&[0x50, 0x54, 0, 0, 0, 2]);
    f[6..12].copy_from_slice(&[0x50, 0x54, 0, 0, 0, 1]);
    f[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
    let ip = &mut f[14..34];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&46u16.to_be_bytes());
    ip[8] = 64;
    ip[9] = 17;
    ip[12..16].copy_from_slice(&[10, 0, 0, 1]);
    ip[16..20].copy_from_slice(&(0x0b00_0000 | flow).to_be_bytes());
    f[34..36].copy_from_slice(&1000u16.to_be_bytes());
    f[36..38].copy_from_slice(&2000u16.to_be_bytes());
    f[38..40].copy_from_slice(&26u16.to_be_bytes());
    f
}

fn key_of(frame: &[u8], in_port: u32) -> FlowKey {
    let mut p = Packet::from_slice(frame);
    p.md.in_port = in_port;
    let mut k = FlowKey::zero();
    extract(&mut p, &mut k);
    k
}

fn install(dp: &Arc<DpifNetdev>, in_port: OdpPort, out: OdpPort, n_flows: u32) {
    let dpif: &(dyn Dpif + 'static) = &**dp;
    let mut mask = FlowKey::zero();
    mask.in_port = u32::MAX;
    if n_flows > 1 {
        mask.eth_type = u16::MAX;
        mask.ipv4_dst = [0xff; 4];
    }
    for f in 0..n_flows {
        let key = key_of(&frame(f), in_port.0);
        dpif.flow_put(FlowPut {
            flags: PutFlags::CREATE,
            key,
            mask,
            actions: vec![Action::Output(out)],
            ufid: Ufid::from_key(&key.masked(&mask)),
        })
        .unwrap();
    }
}

fn process_cpu_ns() -> u64 {
    nix::time::clock_gettime(nix::time::ClockId::CLOCK_PROCESS_CPUTIME_ID)
        .map(|t| {
            u64::try_from(t.tv_sec()).unwrap() * 1_000_000_000 + u64::try_from(t.tv_nsec()).unwrap()
        })
        .unwrap()
}

fn wait_for(mut done: impl FnMut() -> bool) {
    let t = Instant::now();
    while !done() {
        assert!(t.elapsed() < Duration::from_secs(30), "packets lost");
        std::thread::sleep(Duration::from_micros(50));
    }
}

// ---- the dummy setup -------------------------------------------------------------------

struct DummySetup {
    _class: DpifNetdevClass,
    _dp: Arc<DpifNetdev>,
    rx: Arc<DummyNetdev>,
    tx: Arc<dyn Netdev>,
    frames: Vec<Vec<u8>>,
}

impl DummySetup {
    fn new(n_flows: u32) -> Self {
        let reg = Arc::new(Registry::with_default_classes());
        let class = DpifNetdevClass::new_dummy(reg.clone());
        let dp = class.open_netdev("ovs-dummy", true).unwrap();
        let rx = reg.open("p1", "dummy").unwrap();
        let tx = reg.open("p2", "dummy").unwrap();
        let opts: Options = [("tx_capture".to_owned(), "false".to_owned())].into();
        tx.set_config(&opts).unwrap();
        let p1 = dp.port_add(rx.clone(), None).unwrap();
        let p2 = dp.port_add(tx.clone(), None).unwrap();
        install(&dp, p1, p2, n_flows);
        DummySetup {
            _class: class,
            _dp: dp,
            rx: downcast::<DummyNetdev>(&rx).unwrap(),
            tx,
            frames: (0..n_flows).map(frame).collect(),
        }
    }

    /// Injects `n` packets (made before the clock starts) and waits for them; returns the
    /// time taken.
    fn run(&self, n: u64) -> Duration {
        let mut pkts: Vec<Packet> = (0..n)
            .map(|i| {
                let f = usize::try_from(i).unwrap() % self.frames.len();
                Packet::from_slice(&self.frames[f])
            })
            .collect();
        let target = self.tx.stats().unwrap().tx_packets + n;
        let t = Instant::now();
        for p in pkts.drain(..) {
            while self.rx.rx_waiting(0) > 3000 {
                std::thread::yield_now();
            }
            assert!(self.rx.receive(p));
        }
        wait_for(|| self.tx.stats().unwrap().tx_packets >= target);
        t.elapsed()
    }
}

// ---- the generator/sink setup ----------------------------------------------------------

struct GenShared {
    budget: AtomicU64,
    notifier: Notifier,
    sunk: AtomicU64,
    frames: parking_lot::Mutex<Arc<Vec<Vec<u8>>>>,
}

struct GenClass {
    type_name: &'static str,
    shared: Arc<GenShared>,
}

struct GenDev {
    name: String,
    type_name: &'static str,
    shared: Arc<GenShared>,
    flags: parking_lot::Mutex<NetdevFlags>,
}

struct GenRxq {
    shared: Arc<GenShared>,
    frames: Arc<Vec<Vec<u8>>>,
    at: usize,
}

impl NetdevClass for GenClass {
    fn type_name(&self) -> &'static str {
        self.type_name
    }
    fn open(&self, name: &str) -> netdev::Result<Arc<dyn Netdev>> {
        Ok(Arc::new(GenDev {
            name: name.to_owned(),
            type_name: self.type_name,
            shared: self.shared.clone(),
            flags: parking_lot::Mutex::new(NetdevFlags::empty()),
        }))
    }
}

impl Netdev for GenDev {
    fn name(&self) -> &str {
        &self.name
    }
    fn type_name(&self) -> &'static str {
        self.type_name
    }
    fn etheraddr(&self) -> netdev::Result<EthAddr> {
        Ok(EthAddr([2, 0, 0, 0, 0, 1]))
    }
    fn set_etheraddr(&self, _mac: EthAddr) -> netdev::Result<()> {
        Ok(())
    }
    fn flags(&self) -> netdev::Result<NetdevFlags> {
        Ok(*self.flags.lock())
    }
    fn update_flags(&self, off: NetdevFlags, on: NetdevFlags) -> netdev::Result<NetdevFlags> {
        let mut f = self.flags.lock();
        let old = *f;
        *f = (old - off) | on;
        Ok(old)
    }
    fn change_seq(&self) -> u64 {
        1
    }
    fn n_rxq(&self) -> usize {
        usize::from(self.type_name == "gen")
    }
    fn rxq_open(&self, _qid: usize) -> netdev::Result<Box<dyn Rxq>> {
        let frames = self.shared.frames.lock().clone();
        Ok(Box::new(GenRxq {
            shared: self.shared.clone(),
            frames,
            at: 0,
        }))
    }
    fn send(&self, _qid: usize, batch: &mut PacketBatch, _c: bool) -> netdev::Result<()> {
        self.shared
            .sunk
            .fetch_add(batch.len() as u64, Ordering::Relaxed);
        batch.clear();
        Ok(())
    }
}

impl Rxq for GenRxq {
    fn queue_id(&self) -> usize {
        0
    }
    fn recv(&mut self, batch: &mut PacketBatch) -> netdev::Result<usize> {
        let budget = self.shared.budget.load(Ordering::Acquire);
        let n = budget.min(MAX_BURST as u64);
        if n == 0 {
            self.shared.notifier.drain();
            return Ok(0);
        }
        self.shared.budget.fetch_sub(n, Ordering::AcqRel);
        for _ in 0..n {
            let p = Packet::from_slice(&self.frames[self.at]);
            self.at = (self.at + 1) % self.frames.len();
            let _ = batch.push(p);
        }
        Ok(batch.len())
    }
    fn fd(&self) -> Option<RawFd> {
        Some(self.shared.notifier.fd())
    }
}

struct GenSetup {
    _class: DpifNetdevClass,
    _dp: Arc<DpifNetdev>,
    shared: Arc<GenShared>,
}

impl GenSetup {
    fn new(n_flows: u32) -> Self {
        let shared = Arc::new(GenShared {
            budget: AtomicU64::new(0),
            notifier: Notifier::new().unwrap(),
            sunk: AtomicU64::new(0),
            frames: parking_lot::Mutex::new(Arc::new((0..n_flows).map(frame).collect())),
        });
        let reg = Arc::new(Registry::with_default_classes());
        for t in ["gen", "sink"] {
            reg.register(Arc::new(GenClass {
                type_name: t,
                shared: shared.clone(),
            }))
            .unwrap();
        }
        let class = DpifNetdevClass::new_dummy(reg.clone());
        let dp = class.open_netdev("ovs-dummy", true).unwrap();
        let g = dp.port_add(reg.open("g1", "gen").unwrap(), None).unwrap();
        let s = dp.port_add(reg.open("s2", "sink").unwrap(), None).unwrap();
        install(&dp, g, s, n_flows);
        GenSetup {
            _class: class,
            _dp: dp,
            shared,
        }
    }

    /// No flows: every packet is an upcall, answered "output to the sink, install a flow
    /// on the exact IPv4 destination".
    fn new_upcall(n_flows: u32) -> Self {
        let s = GenSetup::new(n_flows);
        let dpif: &(dyn Dpif + 'static) = &*s._dp;
        dpif.flow_flush().unwrap();
        let cfg: Options = [("upcall-queue-size".to_owned(), "65536".to_owned())].into();
        dpif.set_config(&cfg).unwrap();
        let mut mask = FlowKey::zero();
        mask.in_port = u32::MAX;
        mask.eth_type = u16::MAX;
        mask.ipv4_dst = [0xff; 4];
        dpif.register_upcall_cb(Arc::new(Answer(UpcallReply {
            actions: vec![Action::Output(OdpPort(2))],
            mask,
            put_actions: None,
            install: true,
        })))
        .unwrap();
        s
    }

    fn run_fresh(&self, n: u64) -> Duration {
        let dpif: &(dyn Dpif + 'static) = &*self._dp;
        dpif.flow_flush().unwrap();
        self.run(n)
    }

    fn run(&self, n: u64) -> Duration {
        let target = self.shared.sunk.load(Ordering::Acquire) + n;
        let t = Instant::now();
        self.shared.budget.fetch_add(n, Ordering::AcqRel);
        self.shared.notifier.notify();
        wait_for(|| self.shared.sunk.load(Ordering::Acquire) >= target);
        t.elapsed()
    }
}

struct Answer(UpcallReply);

impl UpcallCallback for Answer {
    fn upcall(&self, _upcall: &Upcall) -> dpif::Result<UpcallReply> {
        Ok(self.0.clone())
    }
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("forward");
    g.throughput(Throughput::Elements(RUN));
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(5));
    let mut cpu = Vec::new();
    for flows in [1u32, 10_000] {
        let d = DummySetup::new(flows);
        d.run(RUN);
        g.bench_function(BenchmarkId::new("dummy", format!("{flows}_flows")), |b| {
            b.iter_custom(|iters| (0..iters).map(|_| d.run(RUN)).sum())
        });
        let c0 = process_cpu_ns();
        let w = d.run(RUN * 5);
        cpu.push((format!("dummy/{flows}_flows"), process_cpu_ns() - c0, w));
        drop(d);
        let s = GenSetup::new(flows);
        s.run(RUN);
        g.bench_function(BenchmarkId::new("gen", format!("{flows}_flows")), |b| {
            b.iter_custom(|iters| (0..iters).map(|_| s.run(RUN)).sum())
        });
        let c0 = process_cpu_ns();
        let w = s.run(RUN * 5);
        cpu.push((format!("gen/{flows}_flows"), process_cpu_ns() - c0, w));
    }
    let u = GenSetup::new_upcall(u32::try_from(RUN).unwrap());
    u.run_fresh(RUN);
    g.bench_function(BenchmarkId::new("upcall", "new_flows"), |b| {
        b.iter_custom(|iters| (0..iters).map(|_| u.run_fresh(RUN)).sum())
    });
    let mut ns = 0;
    let mut wall = Duration::ZERO;
    for _ in 0..5 {
        u._dp.flow_flush().unwrap();
        let c0 = process_cpu_ns();
        wall += u.run(RUN);
        ns += process_cpu_ns() - c0;
    }
    cpu.push(("upcall/new_flows".to_owned(), ns, wall));
    g.finish();
    for (name, ns, wall) in cpu {
        let n = (RUN * 5) as f64;
        eprintln!(
            "forward/{name}: {:.0} ns CPU per packet (all threads), {:.2} Mpps",
            ns as f64 / n,
            n / wall.as_secs_f64() / 1e6
        );
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
