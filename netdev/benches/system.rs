//! 64-byte frames through a `system` netdev over a veth pair, batched (32 frames per
//! `sendmmsg`/`recvmmsg`) against one frame per system call, in the same run.
//!
//! Needs root: the bench moves its main thread into a private network namespace, makes the
//! veth pair there, and the namespace (with the pair) vanishes when the process exits.
//! Without root it prints a SKIP line and does nothing.
//!
//! After criterion's figures it prints a summary measured over interleaved passes (on a
//! shared 2-core machine the ratio inside one run is the figure to trust).

// A benchmark binary, not library code: a failed setup step ends it with a message.
#![allow(clippy::expect_used, clippy::panic)]

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use netdev::linux::{LinuxConfig, classes_with};
use netdev::poll::{Interest, PollSet};
use netdev::{MAX_BURST, Netdev, Packet, PacketBatch, Registry, Rxq};

const ETH_TEST: [u8; 2] = [0x88, 0xb5];

fn ip(args: &[&str]) {
    let ok = Command::new("ip")
        .args(args)
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "ip {} failed", args.join(" "));
}

struct Pair {
    tx: Arc<dyn Netdev>,
    rx: Box<dyn Rxq>,
    frame: Vec<u8>,
    batch: PacketBatch,
    /// A batch with room for exactly one frame, for one-per-call receive.
    one: PacketBatch,
    lost: u64,
}

impl Pair {
    fn new(reg: &Registry, a: &str, b: &str) -> Pair {
        let tx = reg.open(a, "system").expect("open sender");
        let rxdev = reg.open(b, "system").expect("open receiver");
        let rx = rxdev.rxq_open(0).expect("open rx queue");
        let mut frame = Vec::with_capacity(64);
        frame.extend_from_slice(&rxdev.etheraddr().expect("mac").0);
        frame.extend_from_slice(&tx.etheraddr().expect("mac").0);
        frame.extend_from_slice(&ETH_TEST);
        frame.resize(64, 0x5a);
        let mut one = PacketBatch::new();
        while one.room() > 1 {
            let _ = one.push(Packet::new());
        }
        Pair {
            tx,
            rx,
            frame,
            batch: PacketBatch::new(),
            one,
            lost: 0,
        }
    }

    fn wait_rx(&self) -> bool {
        let mut ps = PollSet::new();
        let Some(fd) = self.rx.fd() else { return false };
        ps.fd_wait(fd, Interest::Read);
        ps.timer_wait_after(Duration::from_millis(50));
        let t = Instant::now();
        let _ = ps.block();
        t.elapsed() < Duration::from_millis(50)
    }

    /// Sends 32 frames in one call and receives them, 32 per call.
    fn batched(&mut self) {
        for _ in 0..MAX_BURST {
            let _ = self.batch.push(Packet::from_slice(&self.frame));
        }
        let _ = self.tx.send(0, &mut self.batch, false);
        let mut got = 0;
        while got < MAX_BURST {
            self.batch.clear();
            match self.rx.recv(&mut self.batch) {
                Ok(0) | Err(_) => {
                    if !self.wait_rx() {
                        self.lost += (MAX_BURST - got) as u64;
                        break;
                    }
                }
                Ok(_) => {
                    got += self
                        .batch
                        .iter()
                        .filter(|p| p.data().get(12..14) == Some(&ETH_TEST[..]))
                        .count()
                }
            }
        }
        self.batch.clear();
    }

    /// Sends one frame per call and receives one frame per call.
    fn single(&mut self) {
        let _ = self.batch.push(Packet::from_slice(&self.frame));
        let _ = self.tx.send(0, &mut self.batch, false);
        loop {
            match self.rx.recv(&mut self.one) {
                Ok(0) | Err(_) => {
                    if !self.wait_rx() {
                        self.lost += 1;
                        return;
                    }
                }
                Ok(_) => {
                    let ours = self
                        .one
                        .pop()
                        .is_some_and(|p| p.data().get(12..14) == Some(&ETH_TEST[..]));
                    if ours {
                        return;
                    }
                }
            }
        }
    }
}

/// A sender thread streams 32-frame batches for `secs` while this thread receives;
/// returns the frames per second received.
fn stream(p: &mut Pair, secs: f64) -> f64 {
    let tx = p.tx.clone();
    let frame = p.frame.clone();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop2 = stop.clone();
    let sender = std::thread::spawn(move || {
        let mut b = PacketBatch::new();
        while !stop2.load(std::sync::atomic::Ordering::Relaxed) {
            for _ in 0..MAX_BURST {
                let _ = b.push(Packet::from_slice(&frame));
            }
            let _ = tx.send(0, &mut b, false);
        }
    });
    let t = Instant::now();
    let mut got = 0u64;
    while t.elapsed().as_secs_f64() < secs {
        p.batch.clear();
        match p.rx.recv(&mut p.batch) {
            Ok(0) | Err(_) => {
                p.wait_rx();
            }
            Ok(n) => got += n as u64,
        }
    }
    let rate = pps(got, t.elapsed());
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = sender.join();
    // Drain what is left.
    while p.wait_rx() {
        p.batch.clear();
        let _ = p.rx.recv(&mut p.batch);
    }
    p.batch.clear();
    rate
}

fn pps(n: u64, t: Duration) -> f64 {
    n as f64 / t.as_secs_f64()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("SKIP system bench: needs root (network namespaces, veth)");
        return;
    }
    nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET).expect("unshare(CLONE_NEWNET)");
    ip(&["link", "set", "lo", "up"]);
    let (a, b) = ("bench0", "bench1");
    ip(&["link", "add", a, "type", "veth", "peer", "name", b]);
    ip(&["link", "set", a, "up"]);
    ip(&["link", "set", b, "up"]);
    // No IPv6 chatter on the pair.
    let _ = std::fs::write("/proc/sys/net/ipv6/conf/all/disable_ipv6", "1");

    let (c0, c1) = ("bench2", "bench3");
    ip(&["link", "add", c0, "type", "veth", "peer", "name", c1]);
    ip(&["link", "set", c0, "up"]);
    ip(&["link", "set", c1, "up"]);

    let registry = |rx_ring| {
        let reg = Registry::new();
        for c in classes_with(LinuxConfig {
            rx_ring,
            ..LinuxConfig::default()
        }) {
            reg.register(c).expect("register");
        }
        reg
    };
    let (reg, ring_reg) = (registry(false), registry(true));
    let mut pair = Pair::new(&reg, a, b);
    let mut ring = Pair::new(&ring_reg, c0, c1);

    let mut c = Criterion::default()
        .configure_from_args()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    {
        let mut g = c.benchmark_group("system_veth_64B");
        g.throughput(Throughput::Elements(MAX_BURST as u64));
        g.bench_function("mmsg_batch_32", |bn| bn.iter(|| pair.batched()));
        g.bench_function("ring_rx_mmsg_tx_32", |bn| bn.iter(|| ring.batched()));
        g.throughput(Throughput::Elements(1));
        g.bench_function("one_per_syscall", |bn| bn.iter(|| pair.single()));
        g.finish();
    }
    c.final_summary();

    // Interleaved passes for the summary.
    const N: u64 = 64 * 1024;
    let (mut batched, mut ringed, mut single) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..4 {
        let t = Instant::now();
        for _ in 0..N / MAX_BURST as u64 {
            pair.batched();
        }
        batched.push(pps(N, t.elapsed()));
        let t = Instant::now();
        for _ in 0..N / MAX_BURST as u64 {
            ring.batched();
        }
        ringed.push(pps(N, t.elapsed()));
        let t = Instant::now();
        for _ in 0..N / 8 {
            pair.single();
        }
        single.push(pps(N / 8, t.elapsed()));
    }
    let (bp, rp, sp) = (median(batched), median(ringed), median(single));
    println!(
        "system veth 64B: recvmmsg/sendmmsg 32 {bp:.0} pps ({:.2}x), TPACKET_V3 ring rx + sendmmsg 32 {rp:.0} pps ({:.2}x), one per syscall {sp:.0} pps (1x); {} frames lost",
        bp / sp,
        rp / sp,
        pair.lost + ring.lost
    );
    let (mut sm, mut sr) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        sm.push(stream(&mut pair, 1.0));
        sr.push(stream(&mut ring, 1.0));
    }
    let (sm, sr) = (median(sm), median(sr));
    println!(
        "system veth 64B streaming (sender thread, receiver counts): recvmmsg {sm:.0} pps, TPACKET_V3 ring {sr:.0} pps ({:.2}x)",
        sr / sm
    );
    drop((pair, ring));
    ip(&["link", "del", a]);
    ip(&["link", "del", c0]);
}
