//! The fast path of dpif-netdev allocates nothing per packet in steady state: with a
//! counting global allocator, forwarding thousands of packets through a warmed-up datapath
//! (receive, extract, EMC and classifier lookup, execute, send) allocates nothing in any
//! thread (bar one-time lazy set-up, see the assertion). One test per binary, so no other
//! test's allocations are counted.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use dpif::odp::{Action, FlowKey, Ufid, extract};
use dpif::userspace::DpifNetdevClass;
use dpif::{Dpif, FlowPut, PutFlags};
use netdev::dummy::DummyNetdev;
use netdev::{Options, Packet, Registry, downcast};

static ALLOCS: AtomicU64 = AtomicU64::new(0);

struct Counting;

// SAFETY: every method forwards to the system allocator with the caller's arguments
// unchanged; counting touches only an atomic.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract, which we pass on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` with `layout` (we allocate only there).
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: as for `dealloc`; the caller upholds `realloc`'s contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn frame(flow: u8) -> Vec<u8> {
    let mut f = vec![0u8; 60];
    f[0..6].copy_from_slice(&[0x50, 0x54, 0, 0, 0, 2]);
    f[6..12].copy_from_slice(&[0x50, 0x54, 0, 0, 0, 1]);
    f[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
    f[14] = 0x45;
    f[16..18].copy_from_slice(&46u16.to_be_bytes());
    f[22] = 64;
    f[23] = 17;
    f[26..30].copy_from_slice(&[10, 0, 0, 1]);
    f[30..34].copy_from_slice(&[10, 0, 1, flow]);
    f[34..36].copy_from_slice(&1000u16.to_be_bytes());
    f[36..38].copy_from_slice(&2000u16.to_be_bytes());
    f
}

fn wait_sent(dev: &DummyNetdev, n: u64) {
    let t = Instant::now();
    while netdev::Netdev::stats(dev).map_or(0, |s| s.tx_packets) < n {
        assert!(t.elapsed() < Duration::from_secs(20), "packets lost");
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn forwarding_allocates_nothing_per_packet() {
    let reg = Arc::new(Registry::with_default_classes());
    let class = DpifNetdevClass::new_dummy(reg.clone());
    let dp = class.open_netdev("ovs-dummy", true).unwrap();
    let dpif: &(dyn Dpif + 'static) = &*dp;
    let p1 = reg.open("p1", "dummy").unwrap();
    let p2 = reg.open("p2", "dummy").unwrap();
    let opts: Options = [("tx_capture".to_owned(), "false".to_owned())].into();
    p2.set_config(&opts).unwrap();
    let (d1, d2) = (
        downcast::<DummyNetdev>(&p1).unwrap(),
        downcast::<DummyNetdev>(&p2).unwrap(),
    );
    // The dummy class numbers ports after their names.
    let (in_port, out) = (dpif::OdpPort(1), dpif::OdpPort(2));
    assert_eq!(dpif.port_add(p2.clone(), None).unwrap(), out);
    // 16 megaflows on the IPv4 destination; packets cycle over them.
    let mut mask = FlowKey::zero();
    mask.in_port = u32::MAX;
    mask.eth_type = u16::MAX;
    mask.ipv4_dst = [0xff; 4];
    for f in 0..16u8 {
        let mut p = Packet::from_slice(&frame(f));
        p.md.in_port = in_port.0;
        let mut key = FlowKey::zero();
        extract(&mut p, &mut key);
        dpif.flow_put(FlowPut {
            flags: PutFlags::CREATE,
            key,
            mask,
            actions: vec![Action::Output(out)],
            ufid: Ufid::from_key(&key.masked(&mask)),
        })
        .unwrap();
    }
    let inject = |n: usize| {
        let pkts: Vec<Packet> = (0..n)
            .map(|i| Packet::from_slice(&frame(u8::try_from(i % 16).unwrap())))
            .collect();
        pkts
    };
    // Warm up: pools, batches, queues and the EMC reach their steady size. First fill
    // p1's receive queue before the datapath polls it, so that the queue (the test's
    // injector, not the datapath) has grown to its largest.
    p1.update_flags(netdev::NetdevFlags::empty(), netdev::NetdevFlags::UP)
        .unwrap();
    for p in inject(4000) {
        assert!(d1.receive(p));
    }
    assert_eq!(dpif.port_add(p1.clone(), None).unwrap(), in_port);
    let mut sent = 4000;
    wait_sent(&d2, sent);
    for _ in 0..4 {
        for p in inject(3000) {
            assert!(d1.receive(p));
        }
        sent += 3000;
        wait_sent(&d2, sent);
    }
    let pkts = inject(3000);
    assert!(ALLOCS.load(Ordering::SeqCst) > 3000, "the allocator counts");
    let before = ALLOCS.load(Ordering::SeqCst);
    for p in pkts {
        assert!(d1.receive(p));
    }
    sent += 3000;
    wait_sent(&d2, sent);
    let allocs = ALLOCS.load(Ordering::SeqCst) - before;
    // Per-packet allocation would show as thousands. A handful can come, rarely, from
    // one-time lazy set-up outside the datapath: the first time a thread ever waits on a
    // contended lock (the dummy device's queue lock, shared with this injector),
    // parking_lot creates its per-thread data.
    assert!(
        allocs < 16,
        "{allocs} allocations while forwarding 3000 packets"
    );
    assert_eq!(dpif.stats().unwrap().n_hit, sent);
}
