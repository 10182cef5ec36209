//! netdev-linux against the real kernel: `system`, `tap` and `internal` devices on veth
//! pairs and TAP devices, each test in its own network namespace.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use netdev::linux::{LinuxConfig, classes_with};
use netdev::poll::{Interest, PollSet};
use netdev::{
    Checksum, Error, EthAddr, LinkFeatures, Netdev, NetdevFlags, Packet, PacketBatch, Registry, Rxq,
};
use tests::{NetNs, ip, require_root, unique_name};

/// A local experimental ethertype, so frames the kernel sends on its own (IPv6 neighbour
/// discovery, MLD) are told apart from ours.
const ETH_TEST: [u8; 2] = [0x88, 0xb5];

fn frame(dst: EthAddr, src: EthAddr, seq: u32, len: usize) -> Vec<u8> {
    let mut f = Vec::with_capacity(len);
    f.extend_from_slice(&dst.0);
    f.extend_from_slice(&src.0);
    f.extend_from_slice(&ETH_TEST);
    f.extend_from_slice(&seq.to_be_bytes());
    while f.len() < len {
        f.push(u8::try_from((f.len() + seq as usize) % 251).unwrap());
    }
    f
}

fn is_ours(p: &[u8]) -> bool {
    p.len() >= 14 && p[12..14] == ETH_TEST || p.len() >= 18 && p[16..18] == ETH_TEST
}

/// Receives on `rxq` until `want` test frames arrived or `timeout` passed.
fn recv_frames(rxq: &mut dyn Rxq, want: usize, timeout: Duration) -> Vec<Vec<u8>> {
    let deadline = Instant::now() + timeout;
    let mut got = Vec::new();
    let mut batch = PacketBatch::new();
    while got.len() < want && Instant::now() < deadline {
        batch.clear();
        rxq.recv(&mut batch).unwrap();
        if batch.is_empty() {
            let mut ps = PollSet::new();
            ps.fd_wait(rxq.fd().unwrap(), Interest::Read);
            ps.timer_wait(deadline);
            ps.block().unwrap();
            continue;
        }
        got.extend(
            batch
                .drain()
                .map(|p| p.data().to_vec())
                .filter(|p| is_ours(p)),
        );
    }
    got
}

fn send_all(dev: &dyn Netdev, frames: &[Vec<u8>]) {
    for chunk in frames.chunks(netdev::MAX_BURST) {
        let mut batch = PacketBatch::new();
        for f in chunk {
            batch.push(Packet::from_slice(f)).unwrap();
        }
        dev.send(0, &mut batch, false).unwrap();
        assert!(batch.is_empty());
    }
}

fn link_show(name: &str) -> String {
    ip(&["-o", "link", "show", name])
}

#[test]
fn system_moves_batches_both_ways() {
    require_root!();
    let ns = NetNs::new();
    let (a, b) = (unique_name("va"), unique_name("vb"));
    ns.veth(&a, &b);
    let reg = Registry::with_default_classes();
    let da = reg.open(&a, "system").unwrap();
    let db = reg.open(&b, "").unwrap();
    assert_eq!(db.type_name(), "system");
    let mut ra = da.rxq_open(0).unwrap();
    let mut rb = db.rxq_open(0).unwrap();
    let (ma, mb) = (da.etheraddr().unwrap(), db.etheraddr().unwrap());
    for (sender, rx, ms, md) in [(&da, &mut rb, ma, mb), (&db, &mut ra, mb, ma)] {
        let frames: Vec<Vec<u8>> = (0..200u32)
            .map(|i| frame(md, ms, i, 60 + (i as usize * 37) % 1455))
            .collect();
        send_all(sender.as_ref(), &frames);
        let got = recv_frames(rx.as_mut(), frames.len(), Duration::from_secs(5));
        assert_eq!(got.len(), frames.len(), "every frame arrives");
        assert!(got == frames, "every byte arrives, in order");
    }
    // Our own transmissions are not received back on the sending device.
    let again = recv_frames(ra.as_mut(), 1, Duration::from_millis(100));
    assert!(again.is_empty(), "outgoing frames are ignored");
    let st = da.stats().unwrap();
    assert!(st.tx_packets >= 200 && st.rx_packets >= 200, "{st:?}");
}

#[test]
fn vlan_tag_is_restored() {
    require_root!();
    let ns = NetNs::new();
    let (a, b) = (unique_name("va"), unique_name("vb"));
    ns.veth(&a, &b);
    let reg = Registry::with_default_classes();
    let da = reg.open(&a, "system").unwrap();
    let db = reg.open(&b, "system").unwrap();
    let mut rb = db.rxq_open(0).unwrap();
    let (ma, mb) = (da.etheraddr().unwrap(), db.etheraddr().unwrap());
    let mut frames = Vec::new();
    for (i, tpid) in [[0x81u8, 0x00], [0x88, 0xa8]].into_iter().enumerate() {
        let inner = frame(mb, ma, u32::try_from(i).unwrap(), 100);
        let mut f = inner[..12].to_vec();
        f.extend_from_slice(&tpid);
        f.extend_from_slice(&[0x20, 0x64]); // PCP 1, VID 100
        f.extend_from_slice(&inner[12..]);
        frames.push(f);
    }
    send_all(da.as_ref(), &frames);
    let got = recv_frames(rb.as_mut(), 2, Duration::from_secs(5));
    assert_eq!(got, frames, "the tags the kernel took off are back");
}

#[test]
fn mtu_and_mac_are_what_ip_link_shows() {
    require_root!();
    let ns = NetNs::new();
    let (a, b) = (unique_name("va"), unique_name("vb"));
    ns.veth(&a, &b);
    let reg = Registry::with_default_classes();
    let da = reg.open(&a, "system").unwrap();
    let seq = da.change_seq();
    da.set_mtu(1400).unwrap();
    assert_eq!(da.mtu().unwrap(), 1400);
    assert!(link_show(&a).contains(" mtu 1400 "), "{}", link_show(&a));
    let mac: EthAddr = "02:aa:bb:cc:dd:01".parse().unwrap();
    da.set_etheraddr(mac).unwrap();
    assert_eq!(da.etheraddr().unwrap(), mac);
    assert!(
        link_show(&a).contains("02:aa:bb:cc:dd:01"),
        "{}",
        link_show(&a)
    );
    assert!(da.change_seq() > seq);
    assert!(da.ifindex().unwrap() > 0);
    // Flags: promiscuous on and off, down and up.
    let old = da
        .update_flags(NetdevFlags::empty(), NetdevFlags::PROMISC)
        .unwrap();
    assert!(old.contains(NetdevFlags::UP) && !old.contains(NetdevFlags::PROMISC));
    assert!(link_show(&a).contains("PROMISC"), "{}", link_show(&a));
    da.update_flags(NetdevFlags::PROMISC | NetdevFlags::UP, NetdevFlags::empty())
        .unwrap();
    assert!(!link_show(&a).contains("PROMISC"));
    assert!(!da.flags().unwrap().contains(NetdevFlags::UP));
    da.update_flags(NetdevFlags::empty(), NetdevFlags::UP)
        .unwrap();
    assert!(da.flags().unwrap().contains(NetdevFlags::UP));
    // veth says 10 Gb/s full duplex; the driver is named.
    let f = da.features().unwrap();
    assert_eq!(f.speed_mbps, 10_000, "{f:?}");
    assert!(f.current.contains(LinkFeatures::F_10GB_FD), "{f:?}");
    let status = da.status().unwrap();
    assert_eq!(status.get("driver_name").map(String::as_str), Some("veth"));
    assert!(status.contains_key("driver_version"));
}

#[test]
fn refused_mtu_leaves_it_unchanged_and_says_why() {
    require_root!();
    let ns = NetNs::new();
    let (a, b) = (unique_name("va"), unique_name("vb"));
    ns.veth(&a, &b);
    let reg = Registry::with_default_classes();
    let da = reg.open(&a, "system").unwrap();
    let err = da.set_mtu(70_000).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains(&a) && msg.contains("70000"), "{msg}");
    assert!(msg.contains("maximum") || msg.contains("takes"), "{msg}");
    assert_eq!(da.mtu().unwrap(), 1500);
    assert!(link_show(&a).contains(" mtu 1500 "));
}

/// Runs the netdev poll loop (wait, block, run) until `cond` holds or `timeout` passes.
fn run_until(reg: &Registry, timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        reg.run();
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        let mut ps = PollSet::new();
        reg.wait(&mut ps);
        assert!(ps.n_fds() > 0, "the link monitor registers its socket");
        ps.timer_wait(deadline);
        ps.block().unwrap();
    }
}

#[test]
fn peer_down_is_seen_as_carrier_down_through_run() {
    require_root!();
    let ns = NetNs::new();
    let (a, b) = (unique_name("va"), unique_name("vb"));
    ns.veth(&a, &b);
    let reg = Registry::with_default_classes();
    let da = reg.open(&a, "system").unwrap();
    assert!(da.carrier().unwrap());
    let seq = da.change_seq();
    ip(&["link", "set", &b, "down"]);
    let t = Instant::now();
    assert!(
        run_until(&reg, Duration::from_secs(1), || !da.carrier().unwrap()),
        "carrier down seen within a second"
    );
    eprintln!("carrier down seen after {:?}", t.elapsed());
    assert!(da.change_seq() > seq);
    assert_eq!(da.carrier_resets(), 1);
    ip(&["link", "set", &b, "up"]);
    assert!(run_until(&reg, Duration::from_secs(1), || da
        .carrier()
        .unwrap()));
    // A change made behind our back (MTU) shows up too.
    ip(&["link", "set", &a, "mtu", "1280"]);
    assert!(run_until(&reg, Duration::from_secs(1), || da
        .mtu()
        .unwrap()
        == 1280));
}

#[test]
fn deleted_interface_gives_errors_not_panics() {
    require_root!();
    let ns = NetNs::new();
    let (a, b) = (unique_name("va"), unique_name("vb"));
    ns.veth(&a, &b);
    let reg = Registry::with_default_classes();
    let da = reg.open(&a, "system").unwrap();
    let mut ra = da.rxq_open(0).unwrap();
    ip(&["link", "del", &a]);
    let mut batch = PacketBatch::new();
    batch
        .push(Packet::from_slice(&frame(
            EthAddr::BROADCAST,
            EthAddr::ZERO,
            0,
            60,
        )))
        .unwrap();
    let err = da.send(0, &mut batch, false).unwrap_err();
    assert!(err.is_no_device(), "{err}");
    assert!(batch.is_empty());
    let mut rx = PacketBatch::new();
    let err = ra.recv(&mut rx).unwrap_err();
    assert!(err.is_no_device(), "{err}");
    assert!(ra.recv(&mut rx).unwrap_err().is_no_device());
    assert!(run_until(&reg, Duration::from_secs(1), || da
        .mtu()
        .is_err()));
    let err = da.mtu().unwrap_err();
    assert!(matches!(err, Error::NoSuchDevice { .. }), "{err}");
    assert!(err.to_string().contains(&a));
    assert!(da.set_mtu(1400).unwrap_err().is_no_device());
    assert!(da.stats().unwrap_err().is_no_device());
}

#[test]
fn missing_interface_and_unknown_type_are_clear_errors() {
    require_root!();
    let _ns = NetNs::new();
    let reg = Registry::with_default_classes();
    let name = unique_name("nx");
    let err = reg.open(&name, "system").unwrap_err();
    assert!(matches!(err, Error::NoSuchDevice { .. }), "{err}");
    assert!(err.to_string().contains(&name), "{err}");
    let err = reg.open(&name, "warp-drive").unwrap_err();
    assert!(matches!(err, Error::UnknownType { .. }), "{err}");
    assert!(err.to_string().contains("warp-drive"));
    assert_eq!(
        reg.types()
            .into_iter()
            .filter(|t| ["system", "tap", "internal"].contains(t))
            .count(),
        3
    );
}

#[test]
fn internal_waits_for_the_datapath_to_create_it() {
    require_root!();
    let _ns = NetNs::new();
    let reg = Registry::with_default_classes();
    let name = unique_name("in");
    let dev = reg.open(&name, "internal").unwrap();
    assert!(!link_show_ok(&name), "opening creates nothing");
    assert!(dev.mtu().unwrap_err().is_no_device());
    assert!(dev.rxq_open(0).unwrap_err().is_no_device());
    // What the kernel datapath would do when the port is added.
    ip(&[
        "link",
        "add",
        &name,
        "type",
        "veth",
        "peer",
        "name",
        &unique_name("ip"),
    ]);
    ip(&["link", "set", &name, "up"]);
    assert!(run_until(&reg, Duration::from_secs(1), || dev
        .mtu()
        .is_ok()));
    assert_eq!(dev.mtu().unwrap(), 1500);
    assert!(dev.flags().unwrap().contains(NetdevFlags::UP));
    dev.rxq_open(0).unwrap();
}

fn link_show_ok(name: &str) -> bool {
    std::process::Command::new("ip")
        .args(["link", "show", name])
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn tap_moves_frames_both_ways() {
    require_root!();
    let _ns = NetNs::new();
    let reg = Registry::with_default_classes();
    let name = unique_name("tp");
    let dev = reg.open(&name, "tap").unwrap();
    assert!(link_show_ok(&name), "the TAP device is created");
    let mut rxq = dev.rxq_open(0).unwrap();
    ip(&["addr", "add", "10.77.0.1/24", "dev", &name]);
    dev.update_flags(NetdevFlags::empty(), NetdevFlags::UP)
        .unwrap();
    let kernel_mac = dev.etheraddr().unwrap();
    let our_mac: EthAddr = "02:00:00:77:00:02".parse().unwrap();
    // Us -> kernel: an ARP request for 10.77.0.1 from 10.77.0.2. Kernel -> us: the reply.
    let mut arp = Vec::new();
    arp.extend_from_slice(&EthAddr::BROADCAST.0);
    arp.extend_from_slice(&our_mac.0);
    arp.extend_from_slice(&[0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 1]);
    arp.extend_from_slice(&our_mac.0);
    arp.extend_from_slice(&[10, 77, 0, 2]);
    arp.extend_from_slice(&[0; 6]);
    arp.extend_from_slice(&[10, 77, 0, 1]);
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut reply = None;
    while reply.is_none() && Instant::now() < deadline {
        let mut b = PacketBatch::new();
        b.push(Packet::from_slice(&arp)).unwrap();
        dev.send(0, &mut b, false).unwrap();
        let mut ps = PollSet::new();
        ps.fd_wait(rxq.fd().unwrap(), Interest::Read);
        ps.timer_wait_after(Duration::from_millis(200));
        ps.block().unwrap();
        let mut rx = PacketBatch::new();
        rxq.recv(&mut rx).unwrap();
        reply = rx
            .drain()
            .map(|p| p.data().to_vec())
            .find(|f| f.len() >= 42 && f[12..14] == [0x08, 0x06] && f[20..22] == [0, 2]);
    }
    let reply = reply.expect("the kernel answers our ARP request");
    assert_eq!(&reply[..6], &our_mac.0);
    assert_eq!(&reply[6..12], &kernel_mac.0);
    assert_eq!(&reply[28..32], &[10, 77, 0, 1]);
    // Stats are from the switch's side: we sent the request, received the reply.
    let st = dev.stats().unwrap();
    assert!(st.tx_packets >= 1 && st.rx_packets >= 1, "{st:?}");
    drop(rxq);
    drop(dev);
    assert!(!link_show_ok(&name), "the TAP device goes away when closed");
}

/// A host: a thread in its own network namespace holding one end of a veth pair.
///
/// The thread keeps its namespace (and so the veth pair) alive until it is told to stop,
/// after its work is done, so the switch side never sees the device vanish mid-test.
struct Host {
    tid: i32,
    go: mpsc::Sender<()>,
    result: mpsc::Receiver<u64>,
    thread: std::thread::JoinHandle<()>,
}

/// Starts a host thread; `f` runs in its namespace once its interface is in place.
fn host(f: impl FnOnce() -> u64 + Send + 'static) -> Host {
    let (tid_tx, tid_rx) = mpsc::channel();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let (res_tx, res_rx) = mpsc::channel();
    let thread = std::thread::spawn(move || {
        nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
        tid_tx.send(nix::unistd::gettid().as_raw()).unwrap();
        go_rx.recv().unwrap();
        res_tx.send(f()).unwrap();
        // Wait for the stop (the sender dropping).
        let _ = go_rx.recv();
    });
    let tid = tid_rx.recv().unwrap();
    Host {
        tid,
        go: go_tx,
        result: res_rx,
        thread,
    }
}

/// Configures `dev` (already moved into the host's namespace) from inside it.
fn host_ip(dev: &str, addr: &str) {
    ip(&["link", "set", "lo", "up"]);
    ip(&["addr", "add", addr, "dev", dev]);
    ip(&["link", "set", dev, "up"]);
}

const TCP_BYTES: u64 = 32 << 20;

/// Two hosts (10.66.0.1 and .2) joined by two veth pairs whose switch-side ends are
/// `system` netdevs; the test thread forwards between them. Returns whether super-frames
/// with partial checksums arrived at the switch.
fn tcp_through_forwarder(rx_reg: &Registry, tx_reg: &Registry, ns: &NetNs) -> bool {
    let (h1, s1) = (unique_name("h"), unique_name("s"));
    let (h2, s2) = (unique_name("h"), unique_name("s"));
    ns.veth(&h1, &s1);
    ns.veth(&h2, &s2);
    let (h1c, h2c) = (h1.clone(), h2.clone());
    let server = host(move || {
        host_ip(&h2c, "10.66.0.2/24");
        let l = TcpListener::bind("10.66.0.2:5201").unwrap();
        let (mut c, _) = l.accept().unwrap();
        let mut buf = vec![0u8; 1 << 16];
        let mut total = 0u64;
        let mut sum = 0u64;
        loop {
            let n = c.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            for (i, b) in buf[..n].iter().enumerate() {
                let pos = total + i as u64;
                assert_eq!(*b, (pos % 253) as u8, "byte {pos} arrives intact");
            }
            total += n as u64;
            sum += n as u64;
        }
        c.write_all(b"ok").unwrap();
        sum
    });
    let client = host(move || {
        host_ip(&h1c, "10.66.0.1/24");
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut c = loop {
            match TcpStream::connect_timeout(
                &"10.66.0.2:5201".parse().unwrap(),
                Duration::from_secs(1),
            ) {
                Ok(c) => break c,
                Err(e) if Instant::now() < deadline => {
                    eprintln!("connect: {e}, retrying");
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(e) => panic!("connect: {e}"),
            }
        };
        let chunk: Vec<u8> = (0..253 * 256).map(|i| (i % 253) as u8).collect();
        let mut sent = 0u64;
        while sent < TCP_BYTES {
            let n = usize::try_from((TCP_BYTES - sent).min(chunk.len() as u64)).unwrap();
            c.write_all(&chunk[..n]).unwrap();
            sent += n as u64;
        }
        c.shutdown(std::net::Shutdown::Write).unwrap();
        let mut ok = [0u8; 2];
        c.read_exact(&mut ok).unwrap();
        assert_eq!(&ok, b"ok");
        sent
    });
    ip(&["link", "set", &h1, "netns", &client.tid.to_string()]);
    ip(&["link", "set", &h2, "netns", &server.tid.to_string()]);
    let rx1 = rx_reg.open(&s1, "system").unwrap();
    let rx2 = rx_reg.open(&s2, "system").unwrap();
    let tx1 = tx_reg.open(&s1, "system").unwrap();
    let tx2 = tx_reg.open(&s2, "system").unwrap();
    let mut q1 = rx1.rxq_open(0).unwrap();
    let mut q2 = rx2.rxq_open(0).unwrap();
    server.go.send(()).unwrap();
    client.go.send(()).unwrap();

    let mut saw_gso = false;
    let mut batch = PacketBatch::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    let (mut sent, mut got) = (None, None);
    while sent.is_none() || got.is_none() {
        assert!(
            !client.thread.is_finished() && !server.thread.is_finished(),
            "a host failed"
        );
        assert!(Instant::now() < deadline, "TCP transfer timed out");
        sent = sent.or_else(|| client.result.try_recv().ok());
        got = got.or_else(|| server.result.try_recv().ok());
        let mut idle = true;
        for (q, out) in [(&mut q1, &tx2), (&mut q2, &tx1)] {
            batch.clear();
            if q.recv(&mut batch).unwrap() > 0 {
                idle = false;
                for p in batch.iter() {
                    if p.offload.gso.is_some()
                        && matches!(p.offload.csum, Checksum::Partial { .. })
                        && p.len() > 3000
                    {
                        saw_gso = true;
                    }
                }
                // WouldBlock drops, as a switch would; TCP recovers.
                let _ = out.send(0, &mut batch, false);
            }
        }
        if idle {
            let mut ps = PollSet::new();
            ps.fd_wait(q1.fd().unwrap(), Interest::Read);
            ps.fd_wait(q2.fd().unwrap(), Interest::Read);
            ps.timer_wait_after(Duration::from_millis(20));
            ps.block().unwrap();
        }
    }
    drop((client.go, server.go));
    client.thread.join().expect("client");
    server.thread.join().expect("server");
    assert_eq!(sent, Some(TCP_BYTES));
    assert_eq!(got, Some(TCP_BYTES));
    saw_gso
}

#[test]
fn tcp_crosses_unsplit_with_offloads_on() {
    require_root!();
    let ns = NetNs::new();
    let reg = Registry::with_default_classes();
    let t = Instant::now();
    let saw_gso = tcp_through_forwarder(&reg, &reg, &ns);
    eprintln!(
        "{} MiB through the forwarder in {:?}",
        TCP_BYTES >> 20,
        t.elapsed()
    );
    assert!(
        saw_gso,
        "the stream arrives as GSO super-frames with partial checksums"
    );
}

#[test]
fn tcp_crosses_with_software_segmentation() {
    require_root!();
    let ns = NetNs::new();
    // Receive with offload metadata, send through devices that take no offloads: every
    // super-frame is segmented and checksummed in software.
    let rx_reg = Registry::with_default_classes();
    let tx_reg = Registry::new();
    for c in classes_with(LinuxConfig {
        vnet_hdr: false,
        ..LinuxConfig::default()
    }) {
        tx_reg.register(c).unwrap();
    }
    let tx_probe: Arc<dyn Netdev> = {
        let (a, b) = (unique_name("pa"), unique_name("pb"));
        ns.veth(&a, &b);
        tx_reg.open(&a, "system").unwrap()
    };
    assert!(tx_probe.offload_caps().is_empty());
    let saw_gso = tcp_through_forwarder(&rx_reg, &tx_reg, &ns);
    assert!(saw_gso);
}

fn ring_registry() -> Registry {
    let reg = Registry::new();
    for c in classes_with(LinuxConfig {
        rx_ring: true,
        ..LinuxConfig::default()
    }) {
        reg.register(c).unwrap();
    }
    reg
}

#[test]
fn ring_receives_batches_vlan_tags_and_tcp_super_frames() {
    require_root!();
    let ns = NetNs::new();
    let (a, b) = (unique_name("va"), unique_name("vb"));
    ns.veth(&a, &b);
    let reg = ring_registry();
    let da = reg.open(&a, "system").unwrap();
    let db = reg.open(&b, "system").unwrap();
    let mut rb = db.rxq_open(0).unwrap();
    let (ma, mb) = (da.etheraddr().unwrap(), db.etheraddr().unwrap());
    let mut frames: Vec<Vec<u8>> = (0..300u32)
        .map(|i| frame(mb, ma, i, 60 + (i as usize * 37) % 1455))
        .collect();
    let inner = frame(mb, ma, 999, 100);
    let mut tagged = inner[..12].to_vec();
    tagged.extend_from_slice(&[0x81, 0x00, 0x20, 0x64]);
    tagged.extend_from_slice(&inner[12..]);
    frames.push(tagged);
    send_all(da.as_ref(), &frames);
    let got = recv_frames(rb.as_mut(), frames.len(), Duration::from_secs(5));
    assert_eq!(got.len(), frames.len(), "every frame arrives");
    assert!(got == frames, "every byte arrives, in order, tags restored");
    drop(rb);
    assert!(
        tcp_through_forwarder(&reg, &reg, &ns),
        "super-frames through the ring"
    );
    // A vanished device is an error on use of the ring too.
    let mut ra = da.rxq_open(0).unwrap();
    ip(&["link", "del", &a]);
    let mut rx = PacketBatch::new();
    let err = ra.recv(&mut rx).unwrap_err();
    assert!(err.is_no_device(), "{err}");
}
