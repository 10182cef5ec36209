//! dpif-netdev end to end, through the `dummy` class and dummy devices.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use netdev::dummy::DummyNetdev;
use netdev::{Netdev, NetdevFlags, Options, Packet, Registry, downcast};
use parking_lot::Mutex;

use super::{DpifNetdev, DpifNetdevClass};
use crate::error::Error;
use crate::odp::{Action, FlowKey, OdpPort, Ufid, Userspace, extract, tcp_flags};
use crate::provider::{
    Dpif, DpifClass, DpifOp, Execute, FlowDel, FlowGet, FlowPut, PortChange, PutFlags, Upcall,
    UpcallCallback, UpcallKind, UpcallReply,
};

const MAC1: [u8; 6] = [0x50, 0x54, 0, 0, 0, 1];
const MAC2: [u8; 6] = [0x50, 0x54, 0, 0, 0, 2];

fn ip_csum(h: &[u8]) -> u16 {
    let mut s = 0u32;
    for c in h.chunks(2) {
        s += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    while s > 0xffff {
        s = (s & 0xffff) + (s >> 16);
    }
    !u16::try_from(s).unwrap()
}

/// An Ethernet/IPv4 frame with an L4 header of protocol `proto` and 20 bytes of payload.
fn ip_frame(src: [u8; 4], dst: [u8; 4], proto: u8, l4: &[u8]) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(&MAC2);
    f.extend_from_slice(&MAC1);
    f.extend_from_slice(&0x0800u16.to_be_bytes());
    let total = u16::try_from(20 + l4.len() + 20).unwrap();
    let mut ip = vec![0x45, 0];
    ip.extend_from_slice(&total.to_be_bytes());
    ip.extend_from_slice(&[0, 0, 0x40, 0, 64, proto, 0, 0]);
    ip.extend_from_slice(&src);
    ip.extend_from_slice(&dst);
    let c = ip_csum(&ip);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    f.extend_from_slice(&ip);
    f.extend_from_slice(l4);
    f.extend_from_slice(&[0xab; 20]);
    f
}

fn udp(dst: [u8; 4], sport: u16, dport: u16) -> Packet {
    let mut l4 = Vec::new();
    l4.extend_from_slice(&sport.to_be_bytes());
    l4.extend_from_slice(&dport.to_be_bytes());
    l4.extend_from_slice(&28u16.to_be_bytes());
    l4.extend_from_slice(&[0, 0]);
    Packet::from_slice(&ip_frame([10, 0, 0, 1], dst, 17, &l4))
}

fn tcp(dst: [u8; 4], flags: u8) -> Packet {
    let mut l4 = Vec::new();
    l4.extend_from_slice(&1234u16.to_be_bytes());
    l4.extend_from_slice(&80u16.to_be_bytes());
    l4.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
    Packet::from_slice(&ip_frame([10, 0, 0, 1], dst, 6, &l4))
}

/// The key the datapath extracts from `pkt` arriving on `in_port`.
fn key_of(pkt: &Packet, in_port: u32) -> FlowKey {
    let mut p = pkt.clone_packet();
    p.md.in_port = in_port;
    let mut k = FlowKey::zero();
    extract(&mut p, &mut k);
    k
}

fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let t = Instant::now();
    while !cond() {
        assert!(t.elapsed() < Duration::from_secs(10), "timed out: {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

struct Env {
    reg: Arc<Registry>,
    _class: DpifNetdevClass,
    dp: Arc<DpifNetdev>,
}

impl Env {
    fn new() -> Env {
        let reg = Arc::new(Registry::with_default_classes());
        let class = DpifNetdevClass::new_dummy(reg.clone());
        let dp = class.open_netdev("ovs-dummy", true).unwrap();
        Env {
            reg,
            _class: class,
            dp,
        }
    }

    fn dpif(&self) -> &(dyn Dpif + 'static) {
        &*self.dp
    }

    /// Adds dummy port `name` (with `opts`) and returns its device.
    fn port(&self, name: &str, opts: &[(&str, &str)]) -> (OdpPort, Arc<DummyNetdev>) {
        let dev = self.reg.open(name, "dummy").unwrap();
        let o: Options = opts
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        dev.set_config(&o).unwrap();
        let dummy = downcast::<DummyNetdev>(&dev).unwrap();
        let no = self.dp.port_add(dev, None).unwrap();
        (no, dummy)
    }
}

fn in_port_mask() -> FlowKey {
    let mut m = FlowKey::zero();
    m.in_port = u32::MAX;
    m
}

fn put(key: FlowKey, mask: FlowKey, actions: Vec<Action>) -> FlowPut {
    FlowPut {
        flags: PutFlags::CREATE,
        ufid: Ufid::from_key(&key.masked(&mask)),
        key,
        mask,
        actions,
    }
}

fn sent(d: &DummyNetdev) -> u64 {
    d.stats().unwrap().tx_packets
}

#[test]
fn put_flow_forwards_to_the_right_port() {
    let env = Env::new();
    let (p1, d1) = env.port("p1", &[]);
    let (p2, d2) = env.port("p2", &[]);
    let (_p3, d3) = env.port("p3", &[]);
    let pkt = udp([10, 0, 0, 2], 1, 2);
    let key = key_of(&pkt, p1.0);
    let dpif = env.dpif();
    let r = dpif.operate(vec![DpifOp::Put(put(
        key,
        in_port_mask(),
        vec![Action::Output(p2)],
    ))]);
    assert!(matches!(r[0], Ok(crate::OpReply::Put(None))), "{r:?}");
    for _ in 0..100 {
        assert!(d1.receive(pkt.clone_packet()));
    }
    wait_until("100 packets out of p2", || sent(&d2) == 100);
    let out = d2.take_sent();
    assert_eq!(out[0].data(), pkt.data());
    assert_eq!(sent(&d3), 0);
    assert_eq!(sent(&d1), 0);
    let st = dpif.stats().unwrap();
    assert_eq!(
        (st.n_hit, st.n_missed, st.n_lost, st.n_flows),
        (100, 0, 0, 1)
    );
    assert_eq!(st.n_masks, Some(1));
    assert!(
        st.n_cache_hit.unwrap() > 0,
        "the EMC caught the flow: {st:?}"
    );
}

type Seen = (UpcallKind, FlowKey, Ufid, Option<Vec<u8>>);

struct Recorder {
    upcalls: Mutex<Vec<Seen>>,
    reply: UpcallReply,
    block: AtomicBool,
    entered: AtomicUsize,
}

impl Recorder {
    fn new(reply: UpcallReply) -> Arc<Recorder> {
        Arc::new(Recorder {
            upcalls: Mutex::new(Vec::new()),
            reply,
            block: AtomicBool::new(false),
            entered: AtomicUsize::new(0),
        })
    }
    fn n(&self) -> usize {
        self.upcalls.lock().len()
    }
}

impl UpcallCallback for Recorder {
    fn upcall(&self, u: &Upcall) -> crate::Result<UpcallReply> {
        self.entered.fetch_add(1, Ordering::SeqCst);
        while self.block.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(1));
        }
        self.upcalls
            .lock()
            .push((u.kind, u.key, u.ufid, u.userdata.clone()));
        Ok(self.reply.clone())
    }
}

#[test]
fn miss_upcalls_with_the_exact_key_and_the_reply_installs_a_flow() {
    let env = Env::new();
    let (p1, d1) = env.port("p1", &[]);
    let (p2, d2) = env.port("p2", &[]);
    let mut mask = in_port_mask();
    mask.eth_type = u16::MAX;
    mask.ipv4_dst = [255; 4];
    let rec = Recorder::new(UpcallReply {
        actions: vec![Action::Output(p2)],
        mask,
        put_actions: None,
        install: true,
    });
    env.dp.register_upcall_cb(rec.clone()).unwrap();
    let pkt = udp([10, 0, 0, 2], 1, 2);
    assert!(d1.receive(pkt.clone_packet()));
    wait_until("upcall", || rec.n() == 1);
    wait_until("first packet executed", || sent(&d2) == 1);
    let (kind, key, ufid, _) = rec.upcalls.lock()[0];
    assert_eq!(kind, UpcallKind::Miss);
    assert_eq!(key, key_of(&pkt, p1.0));
    assert_eq!(ufid, Ufid::from_key(&key));
    // Other packets of the megaflow (other UDP ports) hit the installed flow.
    for i in 0..50 {
        assert!(d1.receive(udp([10, 0, 0, 2], 100 + i, 7)));
    }
    wait_until("51 out", || sent(&d2) == 51);
    assert_eq!(rec.n(), 1, "no more upcalls");
    let flows: Vec<_> = env.dpif().flow_dump(false).unwrap().collect();
    assert_eq!(flows.len(), 1);
    let f = flows[0].as_ref().unwrap();
    assert_eq!(f.ufid, ufid);
    assert_eq!(f.mask, Some(mask));
    assert_eq!(f.key, Some(key.masked(&mask)));
    assert_eq!(f.stats.n_packets, 50, "the upcalled packet is not counted");
    let st = env.dpif().stats().unwrap();
    assert_eq!((st.n_hit, st.n_missed, st.n_lost), (50, 1, 0));
}

#[test]
fn megaflow_with_wildcards_matches_what_it_should_and_nothing_else() {
    let env = Env::new();
    let (p1, d1) = env.port("p1", &[]);
    let (p2, d2) = env.port("p2", &[]);
    let (p3, d3) = env.port("p3", &[]);
    let mut mask = in_port_mask();
    mask.eth_type = u16::MAX;
    mask.ipv4_dst = [255, 255, 255, 0];
    let key = key_of(&udp([10, 1, 2, 0], 0, 0), p1.0);
    env.dpif()
        .flow_put(put(key, mask, vec![Action::Output(p2)]))
        .unwrap();
    let rec = Recorder::new(UpcallReply::default());
    env.dp.register_upcall_cb(rec.clone()).unwrap();
    let inside = [[10, 1, 2, 1], [10, 1, 2, 200], [10, 1, 2, 255]];
    let outside = [[10, 1, 3, 1], [11, 1, 2, 1]];
    for (i, dst) in inside.iter().enumerate() {
        let port = u16::try_from(i).unwrap();
        d1.receive(udp(*dst, port, port));
        d1.receive(tcp(*dst, 0x02));
    }
    for dst in outside {
        d1.receive(udp(dst, 1, 1));
    }
    // Same addresses from another port: the flow matches in_port 1 only.
    d3.receive(udp([10, 1, 2, 1], 1, 1));
    wait_until("6 forwarded", || sent(&d2) == 6);
    wait_until("3 upcalls", || rec.n() == 3);
    let keys: Vec<FlowKey> = rec.upcalls.lock().iter().map(|u| u.1).collect();
    assert!(keys.iter().any(|k| k.in_port == p3.0));
    assert_eq!(
        keys.iter()
            .filter(|k| k.in_port == p1.0 && k.ipv4_dst[..3] != [10, 1, 2])
            .count(),
        2
    );
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(sent(&d2), 6);
}

#[test]
fn del_and_flush_stop_forwarding_when_they_return() {
    let env = Env::new();
    let (p1, d1) = env.port("p1", &[]);
    let (p2, d2) = env.port("p2", &[]);
    let pkt = udp([10, 0, 0, 2], 1, 2);
    let key = key_of(&pkt, p1.0);
    let fp = put(key, in_port_mask(), vec![Action::Output(p2)]);
    let ufid = fp.ufid;
    for round in 0..20 {
        env.dpif().flow_put(fp.clone()).unwrap();
        d1.receive(pkt.clone_packet());
        wait_until("forwarded", || sent(&d2) == round + 1);
        if round % 2 == 0 {
            env.dpif().flow_del(FlowDel { ufid, key: None }).unwrap();
        } else {
            env.dpif().flow_flush().unwrap();
        }
        // Right after return: the next packet is a miss (no callback: lost).
        let lost = env.dpif().stats().unwrap().n_lost;
        d1.receive(pkt.clone_packet());
        wait_until("missed", || env.dpif().stats().unwrap().n_lost == lost + 1);
        assert_eq!(sent(&d2), round + 1);
    }
    assert_eq!(env.dpif().stats().unwrap().n_flows, 0);
}

#[test]
fn execute_sends_a_packet_with_actions() {
    let env = Env::new();
    let (_p1, _d1) = env.port("p1", &[]);
    let (p2, d2) = env.port("p2", &[]);
    let (p3, d3) = env.port("p3", &[]);
    let pkt = udp([10, 0, 0, 2], 1, 2);
    env.dpif()
        .execute(Execute {
            packet: pkt.clone_packet(),
            actions: vec![
                Action::Output(p2),
                Action::Output(p3),
                Action::Output(OdpPort(77)),
            ],
            probe: false,
            mtu: 0,
        })
        .unwrap();
    assert_eq!(d2.take_sent()[0].data(), pkt.data());
    assert_eq!(d3.take_sent().len(), 1);
}

#[test]
fn flow_and_datapath_counters() {
    let env = Env::new();
    let (p1, d1) = env.port("p1", &[]);
    let (p2, d2) = env.port("p2", &[]);
    let mut mask = in_port_mask();
    mask.eth_type = u16::MAX;
    mask.nw_proto = u8::MAX;
    let key = key_of(&tcp([10, 0, 0, 2], 0x02), p1.0);
    let fp = put(key, mask, vec![Action::Output(p2)]);
    let ufid = fp.ufid;
    env.dpif().flow_put(fp).unwrap();
    let mut udp_mask = in_port_mask();
    udp_mask.eth_type = u16::MAX;
    udp_mask.ipv4_dst = [255; 4];
    udp_mask.nw_proto = u8::MAX;
    env.dpif()
        .flow_put(put(
            key_of(&udp([10, 0, 0, 3], 0, 0), p1.0),
            udp_mask,
            vec![],
        ))
        .unwrap();
    let t0 = crate::monotonic_ms();
    let syn = tcp([10, 0, 0, 2], 0x02);
    let ack = tcp([10, 0, 0, 9], 0x10);
    let len = u64::try_from(syn.len()).unwrap();
    d1.receive(syn);
    for _ in 0..9 {
        d1.receive(ack.clone_packet());
    }
    d1.receive(udp([10, 0, 0, 3], 5, 5)); // dropped by the second flow
    d1.receive(udp([10, 0, 0, 4], 5, 5)); // miss, no callback: lost
    wait_until("10 out", || sent(&d2) == 10);
    wait_until("1 lost", || env.dpif().stats().unwrap().n_lost == 1);
    let f = env.dpif().flow_get(FlowGet { ufid, key: None }).unwrap();
    assert_eq!(f.stats.n_packets, 10);
    assert_eq!(f.stats.n_bytes, 10 * len);
    assert_eq!(f.stats.tcp_flags, tcp_flags::SYN | tcp_flags::ACK);
    assert!(f.stats.used_ms >= t0);
    let st = env.dpif().stats().unwrap();
    assert_eq!(
        (st.n_hit, st.n_missed, st.n_lost, st.n_flows),
        (11, 1, 1, 2)
    );
    assert_eq!(st.n_masks, Some(2));
    let hits = st.n_cache_hit.unwrap();
    let masked = st.n_mask_hit.unwrap();
    assert!(
        masked >= 11 - hits,
        "each megaflow hit searched a subtable: {st:?}"
    );
    let per: u64 = env.dp.pmd_stats().iter().map(|p| p.stats.rx_packets).sum();
    assert_eq!(per, 12);
    env.dp.pmd_stats_clear();
    assert_eq!(env.dp.pmd_stats()[0].stats.rx_packets, 0);
    assert_eq!(env.dpif().stats().unwrap().n_hit, 11, "totals are kept");
}

#[test]
fn full_upcall_queue_loses_packets_not_memory_and_hits_keep_flowing() {
    let env = Env::new();
    let cfg: Options = [("upcall-queue-size".to_owned(), "16".to_owned())].into();
    env.dpif().set_config(&cfg).unwrap();
    let (p1, d1) = env.port("p1", &[]);
    let (p2, d2) = env.port("p2", &[]);
    let (p3, d3) = env.port("p3", &[]);
    env.dpif()
        .flow_put(put(
            key_of(&udp([1, 1, 1, 1], 1, 1), p3.0),
            in_port_mask(),
            vec![Action::Output(p2)],
        ))
        .unwrap();
    let rec = Recorder::new(UpcallReply::default());
    rec.block.store(true, Ordering::SeqCst);
    env.dp.register_upcall_cb(rec.clone()).unwrap();
    d1.receive(udp([10, 0, 0, 1], 1, 1));
    wait_until("handler blocked in the callback", || {
        rec.entered.load(Ordering::SeqCst) == 1
    });
    for round in 0..20u16 {
        let forwarded = u64::from(round) + 1;
        for i in 0..100u16 {
            let [a, b] = (round * 100 + i).to_be_bytes();
            d1.receive(udp([10, 9, a, b], i, i));
        }
        d3.receive(udp([1, 1, 1, 1], 1, 1));
        wait_until("pre-installed flow forwards", || sent(&d2) == forwarded);
    }
    wait_until("misses processed", || {
        env.dpif().stats().unwrap().n_missed == 2001
    });
    let st = env.dpif().stats().unwrap();
    assert!(st.n_lost >= 2001 - 16 - 64 - 1, "{st:?}");
    rec.block.store(false, Ordering::SeqCst);
    wait_until("queue drained", || {
        rec.n() + usize::try_from(env.dpif().stats().unwrap().n_lost).unwrap() == 2001
    });
    let _ = p1;
}

#[test]
fn userspace_action_upcalls_with_userdata() {
    let env = Env::new();
    let (p1, d1) = env.port("p1", &[]);
    let (p2, d2) = env.port("p2", &[]);
    let rec = Recorder::new(UpcallReply::default());
    env.dp.register_upcall_cb(rec.clone()).unwrap();
    let pkt = udp([10, 0, 0, 2], 1, 2);
    env.dpif()
        .flow_put(put(
            key_of(&pkt, p1.0),
            in_port_mask(),
            vec![
                Action::Userspace(Userspace {
                    pid: 0,
                    userdata: Some(vec![1, 2, 3]),
                    egress_tun_port: None,
                    actions: false,
                }),
                Action::Output(p2),
            ],
        ))
        .unwrap();
    d1.receive(pkt);
    wait_until("action upcall", || rec.n() == 1);
    wait_until("forwarded", || sent(&d2) == 1);
    let u = rec.upcalls.lock()[0].clone();
    assert_eq!(u.0, UpcallKind::Action);
    assert_eq!(u.3, Some(vec![1, 2, 3]));
    let st = env.dpif().stats().unwrap();
    assert_eq!((st.n_hit, st.n_missed, st.n_lost), (1, 0, 0), "not a miss");
}

#[test]
fn ports_numbering_and_queries() {
    let env = Env::new();
    let dp = env.dpif();
    let local = dp.port_query_by_number(OdpPort(0)).unwrap();
    assert_eq!(
        (local.name.as_str(), local.type_name.as_str()),
        ("ovs-dummy", "dummy-internal")
    );
    let (p1, d1) = env.port("p1", &[]);
    assert_eq!(p1, OdpPort(1));
    assert!(
        d1.flags()
            .unwrap()
            .contains(NetdevFlags::UP | NetdevFlags::PROMISC)
    );
    let (br0, _) = env.port("br0", &[]);
    assert_eq!(br0, OdpPort(100));
    let (eth, _) = env.port("eth", &[]);
    assert_eq!(eth, OdpPort(2), "no digits: lowest free");
    let x = env.reg.open("x5", "dummy").unwrap();
    assert_eq!(
        dp.port_add(x.clone(), Some(OdpPort(7))).unwrap(),
        OdpPort(7)
    );
    let y = env.reg.open("y", "dummy").unwrap();
    let e = dp.port_add(y.clone(), Some(OdpPort(7))).unwrap_err();
    assert!(matches!(e, Error::Busy { .. }), "{e}");
    let e = dp.port_add(x, None).unwrap_err();
    assert!(matches!(e, Error::Exists { .. }), "{e}");
    let names: Vec<(u32, String)> = dp
        .port_dump()
        .unwrap()
        .into_iter()
        .map(|p| (p.port_no.0, p.name))
        .collect();
    assert_eq!(
        names,
        [
            (0, "ovs-dummy"),
            (1, "p1"),
            (2, "eth"),
            (7, "x5"),
            (100, "br0")
        ]
        .map(|(n, s)| (n, s.to_owned()))
    );
    assert_eq!(dp.port_query_by_name("br0").unwrap().port_no, OdpPort(100));
    let e = dp.port_query_by_name("nope").unwrap_err();
    assert_eq!(e.errno(), Some(nix::errno::Errno::ENODEV));
    assert!(matches!(
        dp.port_query_by_number(OdpPort(9)),
        Err(Error::NotFound { .. })
    ));
    dp.port_del(p1).unwrap();
    assert!(
        !d1.flags().unwrap().contains(NetdevFlags::PROMISC),
        "restored"
    );
    assert!(matches!(dp.port_del(p1), Err(Error::NotFound { .. })));
    assert!(matches!(
        dp.port_del(OdpPort(0)),
        Err(Error::Invalid { .. })
    ));
    // The number is free again, and the name too.
    let (again, _) = env.port("p1", &[]);
    assert_eq!(again, OdpPort(1));
}

#[test]
fn port_poll_reports_changes_then_overflow() {
    let env = Env::new();
    let dp = env.dpif();
    assert_eq!(dp.port_poll().unwrap(), None);
    let (p1, _) = env.port("p1", &[]);
    dp.port_del(p1).unwrap();
    assert_eq!(
        dp.port_poll().unwrap(),
        Some(PortChange::Changed("p1".into()))
    );
    assert_eq!(
        dp.port_poll().unwrap(),
        Some(PortChange::Changed("p1".into()))
    );
    assert_eq!(dp.port_poll().unwrap(), None);
    let mut ps = netdev::poll::PollSet::new();
    dp.port_poll_wait(&mut ps);
    assert_eq!(ps.n_fds(), 1);
    for i in 0..70 {
        env.port(&format!("q{i}"), &[]);
    }
    let mut ps = netdev::poll::PollSet::new();
    dp.port_poll_wait(&mut ps);
    assert!(ps.deadline().is_some(), "changes pending: wake at once");
    assert_eq!(dp.port_poll().unwrap(), Some(PortChange::Unknown));
    assert_eq!(dp.port_poll().unwrap(), None);
}

#[test]
fn put_modify_del_get_errors() {
    let env = Env::new();
    let (p1, d1) = env.port("p1", &[]);
    let (p2, d2) = env.port("p2", &[]);
    let (p3, d3) = env.port("p3", &[]);
    let pkt = udp([10, 0, 0, 2], 1, 2);
    let key = key_of(&pkt, p1.0);
    let mut fp = put(key, in_port_mask(), vec![Action::Output(p2)]);
    let dp = env.dpif();
    // Modify of a missing flow without CREATE.
    fp.flags = PutFlags::MODIFY;
    assert!(matches!(
        dp.flow_put(fp.clone()),
        Err(Error::NotFound { .. })
    ));
    fp.flags = PutFlags::CREATE;
    assert_eq!(dp.flow_put(fp.clone()).unwrap(), None);
    assert!(matches!(dp.flow_put(fp.clone()), Err(Error::Exists { .. })));
    // Another UFID whose key the existing flow matches: exists too.
    let mut other = fp.clone();
    other.ufid = Ufid(42);
    assert!(matches!(dp.flow_put(other), Err(Error::Exists { .. })));
    for _ in 0..3 {
        d1.receive(pkt.clone_packet());
    }
    wait_until("3 out of p2", || sent(&d2) == 3);
    // Modify: new actions, old counters returned, counters kept.
    fp.flags = PutFlags::MODIFY | PutFlags::CREATE;
    fp.actions = vec![Action::Output(p3)];
    let before = dp.flow_put(fp.clone()).unwrap().unwrap();
    assert_eq!(before.n_packets, 3);
    d1.receive(pkt.clone_packet());
    wait_until("now out of p3", || sent(&d3) == 1);
    assert_eq!(sent(&d2), 3);
    let got = dp
        .flow_get(FlowGet {
            ufid: fp.ufid,
            key: None,
        })
        .unwrap();
    assert_eq!(got.stats.n_packets, 4);
    assert_eq!(got.actions, Some(vec![Action::Output(p3)]));
    fp.flags = PutFlags::MODIFY | PutFlags::ZERO_STATS;
    assert_eq!(dp.flow_put(fp.clone()).unwrap().unwrap().n_packets, 4);
    let got = dp
        .flow_get(FlowGet {
            ufid: fp.ufid,
            key: None,
        })
        .unwrap();
    assert_eq!(got.stats.n_packets, 0);
    // Del returns the counters; a second del and a get fail.
    d1.receive(pkt.clone_packet());
    wait_until("out of p3", || sent(&d3) == 2);
    let st = dp
        .flow_del(FlowDel {
            ufid: fp.ufid,
            key: None,
        })
        .unwrap();
    assert_eq!(st.n_packets, 1);
    assert!(matches!(
        dp.flow_del(FlowDel {
            ufid: fp.ufid,
            key: None
        }),
        Err(Error::NotFound { .. })
    ));
    let e = dp
        .flow_get(FlowGet {
            ufid: fp.ufid,
            key: None,
        })
        .unwrap_err();
    assert_eq!(e.errno(), Some(nix::errno::Errno::ENOENT));
    // Results come in order, one per op. An unknown UFID with a key finds the flow only
    // by its exact (masked) key.
    let masked = key.masked(&in_port_mask());
    let get = |key| FlowGet { ufid: Ufid(1), key };
    let del = |key| FlowDel { ufid: Ufid(1), key };
    let r = dp.operate(vec![
        DpifOp::Put(put(key, in_port_mask(), vec![])),
        DpifOp::Get(get(None)),
        DpifOp::Del(del(Some(key))),
        DpifOp::Get(get(Some(masked))),
        DpifOp::Del(del(Some(masked))),
    ]);
    assert!(r[0].is_ok() && r[1].is_err(), "{r:?}");
    assert!(r[2].is_err(), "the full key is not the flow's key: {r:?}");
    assert!(r[3].is_ok() && r[4].is_ok(), "{r:?}");
    assert_eq!(dp.stats().unwrap().n_flows, 0);
}

#[test]
fn two_poll_threads_with_several_rx_queues() {
    let env = Env::new();
    let cfg: Options = [("pmd-threads".to_owned(), "2".to_owned())].into();
    env.dpif().set_config(&cfg).unwrap();
    let (p1, d1) = env.port("p1", &[("n_rxq", "4")]);
    let (p2, d2) = env.port("p2", &[("n_rxq", "2")]);
    let infos = env.dp.pmd_stats();
    assert_eq!(infos.len(), 2);
    let rxqs: Vec<usize> = infos.iter().map(|i| i.n_rxqs).collect();
    assert_eq!(rxqs.iter().sum::<usize>(), 1 + 4 + 2, "{rxqs:?}");
    assert!(rxqs.iter().all(|&n| n >= 3), "balanced: {rxqs:?}");
    env.dpif()
        .flow_put(put(
            key_of(&udp([1, 1, 1, 1], 1, 1), p1.0),
            in_port_mask(),
            vec![Action::Output(p2)],
        ))
        .unwrap();
    env.dpif()
        .flow_put(put(
            key_of(&udp([1, 1, 1, 1], 1, 1), p2.0),
            in_port_mask(),
            vec![Action::Output(p1)],
        ))
        .unwrap();
    for i in 0..400u16 {
        d1.receive(udp([10, 0, 0, 1], i, 1));
        d2.receive(udp([10, 0, 0, 1], i, 1));
    }
    wait_until("all forwarded", || sent(&d2) == 400 && sent(&d1) == 400);
    let infos = env.dp.pmd_stats();
    assert!(infos.iter().all(|i| i.stats.rx_packets > 0), "{infos:?}");
    // Back to one thread: every queue still polled.
    env.dpif().set_config(&Options::new()).unwrap();
    let infos = env.dp.pmd_stats();
    assert_eq!(infos.len(), 1);
    assert_eq!(infos[0].n_rxqs, 7);
    for i in 0..100u16 {
        d1.receive(udp([10, 0, 0, 1], i, 1));
    }
    wait_until("forwarded after restart", || sent(&d2) == 500);
    assert_eq!(env.dpif().stats().unwrap().n_hit, 900);
}

#[test]
fn class_shares_datapaths_by_name() {
    let reg = Arc::new(Registry::with_default_classes());
    let class = DpifNetdevClass::new_dummy(reg.clone());
    assert_eq!(class.type_name(), "dummy");
    assert_eq!(class.port_open_type("internal"), "dummy-internal");
    assert_eq!(class.port_open_type("system"), "system");
    assert!(class.cleanup_required());
    let netdev_class = DpifNetdevClass::new(reg.clone());
    assert_eq!(netdev_class.type_name(), "netdev");
    assert_eq!(netdev_class.port_open_type("internal"), "tap");
    assert!(matches!(
        class.open("dp0", false),
        Err(Error::NotFound { .. })
    ));
    let a = class.open("dp0", true).unwrap();
    let b = class.open("dp0", false).unwrap();
    let p1 = reg.open("p1", "dummy").unwrap();
    a.port_add(p1, None).unwrap();
    assert_eq!(b.port_query_by_name("p1").unwrap().port_no, OdpPort(1));
    assert_eq!(class.enumerate().unwrap(), vec!["dp0".to_owned()]);
    drop(a);
    assert!(class.open("dp0", false).is_ok(), "closing handles keeps it");
    b.destroy().unwrap();
    assert!(class.enumerate().unwrap().is_empty());
    assert!(b.port_add(reg.open("p2", "dummy").unwrap(), None).is_err());
}

#[test]
fn dump_runs_while_traffic_flows() {
    let env = Env::new();
    let (p1, d1) = env.port("p1", &[]);
    let (p2, d2) = env.port("p2", &[("tx_capture", "false")]);
    let mut mask = in_port_mask();
    mask.eth_type = u16::MAX;
    mask.ipv4_dst = [255; 4];
    for i in 0..200u8 {
        env.dpif()
            .flow_put(put(
                key_of(&udp([10, 0, 1, i], 1, 1), p1.0),
                mask,
                vec![Action::Output(p2)],
            ))
            .unwrap();
    }
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    let feeder = std::thread::spawn(move || {
        let mut n = 0u64;
        while !s.load(Ordering::Relaxed) {
            let i = u8::try_from(n % 200).unwrap();
            if d1.receive(udp([10, 0, 1, i], 1, 1)) {
                n += 1;
            }
            if n.is_multiple_of(512) {
                std::thread::yield_now();
            }
        }
        n
    });
    for _ in 0..20 {
        let flows: Vec<_> = env.dpif().flow_dump(true).unwrap().collect();
        assert_eq!(flows.len(), 200);
        assert!(flows.iter().all(|f| f.as_ref().unwrap().key.is_none()));
    }
    stop.store(true, Ordering::Relaxed);
    let n = feeder.join().unwrap();
    wait_until("all forwarded", || sent(&d2) == n);
    let total: u64 = env
        .dpif()
        .flow_dump(false)
        .unwrap()
        .map(|f| f.unwrap().stats.n_packets)
        .sum();
    assert_eq!(total, n);
}

#[test]
fn recirculation_in_the_poll_thread_and_in_execute() {
    let env = Env::new();
    let (p1, d1) = env.port("p1", &[]);
    let (p2, d2) = env.port("p2", &[]);
    let pkt = udp([10, 0, 0, 2], 1, 2);
    let mut mask = in_port_mask();
    mask.recirc_id = u32::MAX;
    let first = key_of(&pkt, p1.0);
    env.dpif()
        .flow_put(put(first, mask, vec![Action::Recirc(5)]))
        .unwrap();
    let mut second = first;
    second.recirc_id = 5;
    env.dpif()
        .flow_put(put(second, mask, vec![Action::Output(p2)]))
        .unwrap();
    for _ in 0..10 {
        d1.receive(pkt.clone_packet());
    }
    wait_until("recirculated and forwarded", || sent(&d2) == 10);
    assert_eq!(env.dpif().stats().unwrap().n_hit, 20, "two passes each");
    // The same from the execute operation (slow path).
    let mut p = pkt.clone_packet();
    p.md.in_port = p1.0;
    env.dpif()
        .execute(Execute {
            packet: p,
            actions: vec![Action::Recirc(5)],
            probe: false,
            mtu: 0,
        })
        .unwrap();
    assert_eq!(sent(&d2), 11);
    // A loop is cut after 8 recirculations, without a hang.
    env.dpif()
        .flow_put(FlowPut {
            flags: PutFlags::MODIFY,
            ..put(second, mask, vec![Action::Recirc(5)])
        })
        .unwrap();
    d1.receive(pkt.clone_packet());
    wait_until("looped packet dropped", || {
        env.dp.pmd_stats()[0].stats.rx_packets == 11
    });
    assert_eq!(sent(&d2), 11);
}

#[test]
fn run_reopens_rx_queues_when_a_device_changes_their_number() {
    let env = Env::new();
    let (p1, d1) = env.port("p1", &[]);
    let (p2, d2) = env.port("p2", &[]);
    env.dpif()
        .flow_put(put(
            key_of(&udp([1, 1, 1, 1], 1, 1), p1.0),
            in_port_mask(),
            vec![Action::Output(p2)],
        ))
        .unwrap();
    let opts: Options = [("n_rxq".to_owned(), "3".to_owned())].into();
    d1.set_config(&opts).unwrap();
    assert!(!env.dpif().run());
    assert_eq!(env.dp.pmd_stats()[0].n_rxqs, 1 + 3 + 1);
    for i in 0..30 {
        d1.receive(udp([10, 0, 0, 1], i, 1));
    }
    wait_until("every queue polled", || sent(&d2) == 30);
}

#[test]
fn cpu_mask_pins_one_thread_per_bit_and_bad_config_changes_nothing() {
    let env = Env::new();
    let (p1, d1) = env.port("p1", &[]);
    let (p2, d2) = env.port("p2", &[]);
    let cfg: Options = [("pmd-cpu-mask".to_owned(), "0x1".to_owned())].into();
    env.dpif().set_config(&cfg).unwrap();
    let infos = env.dp.pmd_stats();
    assert_eq!(infos.len(), 1);
    assert_eq!(infos[0].core_id, Some(0));
    let bad: Options = [("pmd-threads".to_owned(), "zero".to_owned())].into();
    assert!(matches!(
        env.dpif().set_config(&bad),
        Err(Error::Invalid { .. })
    ));
    assert_eq!(env.dp.pmd_stats()[0].core_id, Some(0), "unchanged");
    env.dpif()
        .flow_put(put(
            key_of(&udp([1, 1, 1, 1], 1, 1), p1.0),
            in_port_mask(),
            vec![Action::Output(p2)],
        ))
        .unwrap();
    d1.receive(udp([1, 1, 1, 1], 1, 1));
    wait_until("forwarded by the pinned thread", || sent(&d2) == 1);
}

#[test]
fn emc_can_be_disabled() {
    let env = Env::new();
    let cfg: Options = [("emc-insert-inv-prob".to_owned(), "0".to_owned())].into();
    env.dpif().set_config(&cfg).unwrap();
    let (p1, d1) = env.port("p1", &[]);
    let (p2, d2) = env.port("p2", &[]);
    env.dpif()
        .flow_put(put(
            key_of(&udp([1, 1, 1, 1], 1, 1), p1.0),
            in_port_mask(),
            vec![Action::Output(p2)],
        ))
        .unwrap();
    for _ in 0..200 {
        d1.receive(udp([1, 1, 1, 1], 1, 1));
    }
    wait_until("forwarded", || sent(&d2) == 200);
    let st = env.dpif().stats().unwrap();
    assert_eq!(
        (st.n_hit, st.n_cache_hit, st.n_mask_hit),
        (200, Some(0), Some(200))
    );
    // Back to the default: the EMC takes hits again.
    env.dpif().set_config(&Options::new()).unwrap();
    for _ in 0..1000 {
        d1.receive(udp([1, 1, 1, 1], 1, 1));
    }
    wait_until("forwarded", || sent(&d2) == 1200);
    assert!(env.dpif().stats().unwrap().n_cache_hit.unwrap() > 0);
}
