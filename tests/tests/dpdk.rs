//! netdev-dpdk against real DPDK (`--features dpdk`, root): `net_af_packet` vdevs on veth
//! pairs in a private network namespace per test, the other end read and written through
//! a `system` device. One EAL for the whole test process (it cannot start twice), with no
//! hugepages and no PCI.

#![cfg(feature = "dpdk")]

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use netdev::dpdk::eal;
use netdev::{EthAddr, Netdev, NetdevFlags, Options, Packet, PacketBatch, Registry, Rxq};
use tests::{NetNs, ip, require_root, unique_name};

/// A local experimental ethertype: frames the kernel sends on its own are told apart.
const ETH_TEST: [u8; 2] = [0x88, 0xb5];

fn frame(seq: u32, len: usize) -> Vec<u8> {
    let mut f = vec![0xff; 6];
    f.extend_from_slice(&[0x02, 0, 0, 0, 0, 1]);
    f.extend_from_slice(&ETH_TEST);
    f.extend_from_slice(&seq.to_be_bytes());
    while f.len() < len {
        f.push(u8::try_from(f.len() % 251).unwrap());
    }
    f
}

fn ours(p: &[u8]) -> bool {
    p.len() >= 14 && p[12..14] == ETH_TEST
}

/// The registry, with the EAL started once for the process.
fn registry() -> Registry {
    let reg = Registry::with_default_classes();
    let oc: Options = [
        ("dpdk-init", "true"),
        ("dpdk-extra", "--no-huge -m 128 --no-pci"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let errs = reg.set_global_config(&oc);
    assert!(errs.is_empty(), "{errs:?}");
    assert!(matches!(eal::state(), eal::EalState::Running(_)));
    reg
}

/// A vdev name no other test of this process uses.
fn vdev() -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!("net_af_packet{}", N.fetch_add(1, Ordering::Relaxed))
}

fn opts(pairs: &[(&str, &str)]) -> Options {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// Receives on `rxq` (busy-polled) until `want` test frames arrived or 5 s passed.
fn recv_frames(rxq: &mut dyn Rxq, want: usize) -> Vec<Vec<u8>> {
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut got = Vec::new();
    let mut batch = PacketBatch::new();
    while got.len() < want && Instant::now() < deadline {
        batch.clear();
        rxq.recv(&mut batch).unwrap();
        if batch.is_empty() {
            std::thread::sleep(Duration::from_millis(1));
        }
        got.extend(batch.drain().map(|p| p.data().to_vec()).filter(|p| ours(p)));
    }
    got
}

fn send_all(dev: &dyn Netdev, frames: &[Vec<u8>]) {
    for chunk in frames.chunks(netdev::MAX_BURST) {
        let mut batch = PacketBatch::new();
        for f in chunk {
            batch.push(Packet::from_slice(f)).unwrap();
        }
        dev.send(0, &mut batch, true).unwrap();
        assert!(batch.is_empty());
    }
}

fn kernel_mtu(name: &str) -> u32 {
    let out = ip(&["-o", "link", "show", name]);
    let mut w = out.split_whitespace();
    w.find(|x| *x == "mtu").unwrap();
    w.next().unwrap().parse().unwrap()
}

fn kernel_mac(name: &str) -> EthAddr {
    let out = ip(&["-o", "link", "show", name]);
    let mut w = out.split_whitespace();
    w.find(|x| *x == "link/ether").unwrap();
    w.next().unwrap().parse().unwrap()
}

/// A `dpdk` device on vdev `vdev` over kernel interface `iface`, up and promiscuous.
fn open_dpdk(
    reg: &Registry,
    name: &str,
    vdev: &str,
    iface: &str,
    extra: &[(&str, &str)],
) -> Arc<dyn Netdev> {
    let dev = reg.open(name, "dpdk").unwrap();
    let devargs = format!("{vdev},iface={iface}");
    let mut o = opts(&[("dpdk-devargs", &devargs)]);
    o.extend(opts(extra));
    dev.set_config(&o).unwrap();
    dev.update_flags(NetdevFlags::empty(), NetdevFlags::UP | NetdevFlags::PROMISC)
        .unwrap();
    dev
}

/// A `dpdk` device on `devargs`, up.
fn open_dpdk_devargs(reg: &Registry, name: &str, devargs: &str) -> Arc<dyn Netdev> {
    let dev = reg.open(name, "dpdk").unwrap();
    dev.set_config(&opts(&[("dpdk-devargs", devargs)])).unwrap();
    dev.update_flags(NetdevFlags::empty(), NetdevFlags::UP)
        .unwrap();
    dev
}

#[test]
fn frames_cross_both_ways_and_are_counted() {
    require_root!();
    let ns = NetNs::new();
    let (a, b) = (unique_name("dpa"), unique_name("dpb"));
    ns.veth(&a, &b);
    let reg = registry();
    let dev = open_dpdk(&reg, "d0", &vdev(), &a, &[]);
    let peer = reg.open(&b, "system").unwrap();
    peer.update_flags(NetdevFlags::empty(), NetdevFlags::UP | NetdevFlags::PROMISC)
        .unwrap();
    let mut dev_rx = dev.rxq_open(0).unwrap();
    assert!(dev_rx.fd().is_none(), "a dpdk queue is busy-polled");
    let mut peer_rx = peer.rxq_open(0).unwrap();

    // Kernel -> DPDK: 100 frames of every size from 60 to 1514 bytes arrive intact.
    let frames: Vec<Vec<u8>> = (0..100u32)
        .map(|i| frame(i, 60 + (i as usize * 37) % 1455))
        .collect();
    send_all(&*peer, &frames);
    assert_eq!(recv_frames(&mut *dev_rx, frames.len()), frames);

    // DPDK -> kernel.
    let back: Vec<Vec<u8>> = (0..100u32)
        .map(|i| frame(1000 + i, 64 + i as usize))
        .collect();
    send_all(&*dev, &back);
    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut batch = PacketBatch::new();
    while got.len() < back.len() && Instant::now() < deadline {
        batch.clear();
        let _ = peer_rx.recv(&mut batch);
        got.extend(batch.drain().map(|p| p.data().to_vec()).filter(|p| ours(p)));
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(got, back);

    let st = dev.stats().unwrap();
    assert!(st.rx_packets >= 100, "{st:?}");
    assert!(st.tx_packets >= 100, "{st:?}");
    assert_eq!(st.tx_dropped, 0, "{st:?}");
    let status = dev.status().unwrap();
    assert_eq!(status["driver_name"], "net_af_packet", "{status:?}");
    assert_eq!(status["n_rxq"], "1", "{status:?}");
    // The extended counters are in the status too.
    let xrx: u64 = status["rx_good_packets"].parse().unwrap();
    assert!(xrx >= 100, "{status:?}");
    assert!(dev.carrier().unwrap());
}

#[test]
fn mtu_and_mac_are_the_devices() {
    require_root!();
    let ns = NetNs::new();
    let (a, b) = (unique_name("dpa"), unique_name("dpb"));
    ns.veth(&a, &b);
    let reg = registry();
    let dev = open_dpdk(&reg, "d1", &vdev(), &a, &[]);
    assert_eq!(dev.etheraddr().unwrap(), kernel_mac(&a));
    assert_eq!(dev.mtu().unwrap(), 1500);
    dev.set_mtu(1400).unwrap();
    assert_eq!(dev.mtu().unwrap(), 1400);
    assert_eq!(kernel_mtu(&a), 1400, "net_af_packet sets the kernel's MTU");
    let err = dev.set_mtu(100_000).unwrap_err();
    assert!(err.to_string().contains("MTU 100000"), "{err}");
    assert_eq!(dev.mtu().unwrap(), 1400, "a refused MTU changes nothing");
}

#[test]
fn bad_devargs_and_a_shared_device_are_refused() {
    require_root!();
    let ns = NetNs::new();
    let (a, b) = (unique_name("dpa"), unique_name("dpb"));
    ns.veth(&a, &b);
    let reg = registry();
    let bad = reg.open("d2", "dpdk").unwrap();
    let v = vdev();
    let err = bad
        .set_config(&opts(&[("dpdk-devargs", &format!("{v},iface=nosuchif0"))]))
        .unwrap_err();
    assert!(
        err.to_string().contains(&format!(
            "Error attaching device '{v},iface=nosuchif0' to DPDK"
        )),
        "{err}"
    );
    assert_eq!(bad.n_rxq(), 0);

    // The vdev name is free again: the good one takes it. A second interface cannot.
    let dev = open_dpdk(&reg, "d3", &v, &a, &[]);
    let other = reg.open("d4", "dpdk").unwrap();
    let err = other
        .set_config(&opts(&[("dpdk-devargs", &format!("{v},iface={b}"))]))
        .unwrap_err();
    assert!(
        err.to_string().contains("already in use by interface d3"),
        "{err}"
    );

    // Closing the device removes it from DPDK: it can be probed again.
    drop(dev);
    let again = open_dpdk(&reg, "d5", &v, &a, &[]);
    assert_eq!(again.n_rxq(), 1);
}

#[test]
fn receive_queues_follow_n_rxq() {
    require_root!();
    let ns = NetNs::new();
    let (a, b) = (unique_name("dpa"), unique_name("dpb"));
    ns.veth(&a, &b);
    let reg = registry();
    let v = vdev();
    let devargs = format!("{v},iface={a},qpairs=2");
    let dev = reg.open("d6", "dpdk").unwrap();
    dev.set_config(&opts(&[("dpdk-devargs", &devargs), ("n_rxq", "2")]))
        .unwrap();
    assert_eq!(dev.n_rxq(), 2);
    let q0 = dev.rxq_open(0).unwrap();
    let q1 = dev.rxq_open(1).unwrap();
    assert!(dev.rxq_open(2).is_err());

    // A new count waits until the open queues are closed, as the datapath does.
    dev.set_config(&opts(&[("dpdk-devargs", &devargs), ("n_rxq", "1")]))
        .unwrap();
    assert_eq!(dev.n_rxq(), 1);
    drop((q0, q1));
    let _q = dev.rxq_open(0).unwrap();
    assert_eq!(dev.status().unwrap()["n_rxq"], "1");

    // More than the device has is clamped.
    dev.set_config(&opts(&[("dpdk-devargs", &devargs), ("n_rxq", "8")]))
        .unwrap();
    drop(_q);
    let _q = dev.rxq_open(0).unwrap();
    assert_eq!(dev.status().unwrap()["n_rxq"], "2");
}

#[test]
fn link_changes_are_noticed_by_the_class() {
    require_root!();
    let _ns = NetNs::new();
    let reg = registry();
    static N: AtomicU32 = AtomicU32::new(0);
    // net_tap makes a TAP device whose state is the port's link.
    let tap = unique_name("dtp");
    let vdev = format!("net_tap{}", N.fetch_add(1, Ordering::Relaxed));
    let dev = open_dpdk_devargs(&reg, "d7", &format!("{vdev},iface={tap}"));
    ip(&["link", "set", &tap, "up"]);
    reg.run();
    assert!(dev.carrier().unwrap());
    let seq = dev.change_seq();
    ip(&["link", "set", &tap, "down"]);
    std::thread::sleep(netdev::dpdk::LINK_CHECK_INTERVAL + Duration::from_millis(100));
    reg.run();
    assert!(!dev.carrier().unwrap());
    assert!(dev.change_seq() > seq, "a link change bumps change_seq");
    assert_eq!(dev.carrier_resets(), 1);
}
