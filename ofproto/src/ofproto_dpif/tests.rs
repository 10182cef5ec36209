//! ofproto-dpif end to end: dummy devices on the userspace datapath (`dummy` type), no
//! root needed.

use std::sync::Arc;
use std::time::{Duration, Instant};

use dpif::odp::FlowKey;
use dpif::userspace::DpifNetdevClass;
use dpif::{Dpif, DpifClass, DpifFlow, DpifRegistry, monotonic_ms};
use netdev::dummy::DummyNetdev;
use netdev::{EthAddr, Packet, Registry, downcast};

use super::OfprotoDpifClass;
use crate::actions::PacketInReason;
use crate::flow::OfpPort;
use crate::group::{Bucket, GROUP_ALL, GroupMod, GroupModCommand, GroupType};
use crate::ofctl::{self, FlowModCommand};
use crate::packet_in::PacketIn;
use crate::provider::{BundleSettings, FailMode, MacTableConfig, Ofproto, OfprotoClass, VlanMode};
use crate::rule::RemovedReason;
use crate::table::RuleQuery;

pub(crate) const A: [u8; 6] = [0x02, 0, 0, 0, 0x01, 0x01];
pub(crate) const B: [u8; 6] = [0x02, 0, 0, 0, 0x02, 0x02];
pub(crate) const C: [u8; 6] = [0x02, 0, 0, 0, 0x03, 0x03];
pub(crate) const BCAST: [u8; 6] = [0xff; 6];

/// An Ethernet frame; `vid` adds an 802.1Q tag.
pub(crate) fn frame(
    dst: [u8; 6],
    src: [u8; 6],
    vid: Option<u16>,
    ethertype: u16,
    payload: &[u8],
) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(&dst);
    f.extend_from_slice(&src);
    if let Some(v) = vid {
        f.extend_from_slice(&0x8100u16.to_be_bytes());
        f.extend_from_slice(&v.to_be_bytes());
    }
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    while f.len() < 60 {
        f.push(0);
    }
    f
}

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

/// An IPv4/UDP frame from 10.0.0.1 to `dst_ip`.
pub(crate) fn udp(dst: [u8; 6], src: [u8; 6], dst_ip: [u8; 4], sport: u16, dport: u16) -> Vec<u8> {
    let mut ip = vec![0x45, 0, 0, 48, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 0, 0, 1];
    ip.extend_from_slice(&dst_ip);
    let c = ip_csum(&ip);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    ip.extend_from_slice(&sport.to_be_bytes());
    ip.extend_from_slice(&dport.to_be_bytes());
    ip.extend_from_slice(&28u16.to_be_bytes());
    ip.extend_from_slice(&[0, 0]);
    ip.extend_from_slice(&[0xab; 20]);
    frame(dst, src, None, 0x0800, &ip)
}

/// An ARP request from `src`.
pub(crate) fn arp(src: [u8; 6]) -> Vec<u8> {
    let mut a = vec![0, 1, 8, 0, 6, 4, 0, 1];
    a.extend_from_slice(&src);
    a.extend_from_slice(&[10, 0, 0, 1]);
    a.extend_from_slice(&[0; 6]);
    a.extend_from_slice(&[10, 0, 0, 2]);
    frame(BCAST, src, None, 0x0806, &a)
}

pub(crate) struct Env {
    pub netdevs: Arc<Registry>,
    pub dpclass: Arc<DpifNetdevClass>,
    pub class: OfprotoDpifClass,
    pub br: Box<dyn Ofproto>,
    pub ports: Vec<Arc<DummyNetdev>>,
}

impl Env {
    /// Bridge `br0` on the dummy datapath with dummy ports `p1..=pn` (OpenFlow = datapath
    /// numbers), each its own trunk bundle.
    pub(crate) fn new(n: u32) -> Env {
        let netdevs = Arc::new(Registry::with_default_classes());
        let dpclass = Arc::new(DpifNetdevClass::new_dummy(netdevs.clone()));
        let mut reg = DpifRegistry::new();
        reg.register(dpclass.clone()).unwrap();
        let class = OfprotoDpifClass::new(netdevs.clone(), Arc::new(reg));
        let br = class.construct("br0", "dummy").unwrap();
        let mut env = Env {
            netdevs,
            dpclass,
            class,
            br,
            ports: Vec::new(),
        };
        for i in 1..=n {
            env.add_port(i, VlanMode::Trunk, None, None);
        }
        env
    }

    pub(crate) fn add_port(
        &mut self,
        i: u32,
        mode: VlanMode,
        vlan: Option<u16>,
        trunks: Option<Vec<u16>>,
    ) {
        let name = format!("p{i}");
        let dev = self.netdevs.open(&name, "dummy").unwrap();
        let d = downcast::<DummyNetdev>(&dev).unwrap();
        assert_eq!(self.br.port_add(dev, Some(OfpPort(i))).unwrap(), OfpPort(i));
        self.br
            .bundle_set(
                &name,
                Some(BundleSettings {
                    name: name.clone(),
                    members: vec![OfpPort(i)],
                    vlan_mode: mode,
                    vlan,
                    trunks,
                }),
            )
            .unwrap();
        self.ports.push(d);
    }

    pub(crate) fn port(&self, i: u32) -> &DummyNetdev {
        &self.ports[usize::try_from(i - 1).unwrap()]
    }

    pub(crate) fn dpif(&self) -> Arc<dyn Dpif> {
        self.dpclass.open("ovs-dummy", false).unwrap()
    }

    pub(crate) fn flows(&self) -> Vec<DpifFlow> {
        self.dpif()
            .flow_dump(false)
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    pub(crate) fn send(&self, i: u32, bytes: &[u8]) {
        assert!(self.port(i).receive(Packet::from_slice(bytes)));
    }

    /// Waits until port `i` has sent `n` frames and returns them.
    pub(crate) fn expect(&self, i: u32, n: usize) -> Vec<Vec<u8>> {
        let t = Instant::now();
        while self.port(i).n_sent_waiting() < n {
            assert!(
                t.elapsed() < Duration::from_secs(10),
                "p{i}: timed out waiting for {n} frames"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        self.port(i)
            .take_sent()
            .into_iter()
            .map(|p| p.data().to_vec())
            .collect()
    }

    /// Gives stray frames time to show up, then asserts that port `i` sent nothing.
    pub(crate) fn expect_none(&self, i: u32) {
        std::thread::sleep(Duration::from_millis(50));
        let got = self.port(i).take_sent();
        assert!(got.is_empty(), "p{i} sent {} unexpected frames", got.len());
    }

    pub(crate) fn add_flow(&mut self, s: &str) {
        let fm = ofctl::parse_flow_mod(s, FlowModCommand::Add, None).unwrap();
        self.br.flow_mod(&fm).unwrap();
        self.br.publish_flow_mods();
    }

    pub(crate) fn mod_flows(&mut self, s: &str, cmd: FlowModCommand) -> usize {
        let fm = ofctl::parse_flow_mod(s, cmd, None).unwrap();
        let r = self.br.flow_mod(&fm).unwrap();
        self.br.publish_flow_mods();
        r.modified.len() + r.removed.len()
    }

    pub(crate) fn reval(&self) {
        self.class.revalidator_wait(Duration::from_secs(5));
    }

    pub(crate) fn fdb(&self) -> String {
        super::format_fdb(&self.br.fdb())
    }

    /// Waits until the bridge has queued `n` packet-ins and takes them.
    pub(crate) fn packet_ins(&mut self, n: usize) -> Vec<PacketIn> {
        let t = Instant::now();
        let mut got = Vec::new();
        while got.len() < n {
            assert!(
                t.elapsed() < Duration::from_secs(10),
                "timed out waiting for {n} packet-ins, got {}",
                got.len()
            );
            got.extend(self.br.take_packet_ins());
            std::thread::sleep(Duration::from_millis(1));
        }
        got
    }

    pub(crate) fn group_mod(&mut self, cmd: GroupModCommand, t: GroupType, id: u32, b: &[&str]) {
        let gm = GroupMod {
            command: cmd,
            type_: t,
            group_id: id,
            buckets: b
                .iter()
                .map(|a| {
                    let (a, watch) = match a.split_once('@') {
                        Some((a, w)) => (a, OfpPort(w.parse().unwrap())),
                        None => (*a, OfpPort::ANY),
                    };
                    Bucket {
                        weight: 1,
                        watch_port: watch,
                        actions: ofctl::parse_actions(a, None).unwrap(),
                        ..Bucket::default()
                    }
                })
                .collect(),
        };
        self.br.group_mod(&gm).unwrap();
    }

    pub(crate) fn trace(&self, flow: &str) -> String {
        let f = ofctl::parse_flow(flow, None).unwrap();
        self.br.trace(&f, None).unwrap()
    }
}

fn ages_to_q(s: &str) -> String {
    s.lines()
        .map(|l| match l.get(..30) {
            Some(head) if !l.starts_with(" port") => format!("{head}    ?"),
            _ => l.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn normal_floods_learns_and_unicasts() {
    let env = Env::new(3);
    // A (on p1) to B: unknown, flooded to p2 and p3.
    let f1 = udp(B, A, [10, 0, 0, 2], 1, 2);
    env.send(1, &f1);
    assert_eq!(env.expect(2, 1), vec![f1.clone()]);
    assert_eq!(env.expect(3, 1), vec![f1.clone()]);
    env.expect_none(1);
    // B replies: A is known, unicast to p1.
    let f2 = udp(A, B, [10, 0, 0, 1], 2, 1);
    env.send(2, &f2);
    assert_eq!(env.expect(1, 1), vec![f2]);
    env.expect_none(3);
    assert_eq!(
        ages_to_q(&env.fdb()),
        " port  VLAN  MAC                Age\n    1     0  02:00:00:00:01:01    ?\n    2     0  02:00:00:00:02:02    ?"
    );
    // Once revalidated, A's flow to B no longer floods.
    env.reval();
    env.send(1, &f1);
    assert_eq!(env.expect(2, 1), vec![f1]);
    env.expect_none(3);
}

#[test]
fn mac_entries_age_out_and_move() {
    let mut env = Env::new(3);
    env.br.set_mac_table_config(MacTableConfig {
        idle_time_s: 20,
        max_entries: 100,
    });
    env.send(1, &arp(A));
    env.expect(2, 1);
    env.expect(3, 1);
    assert_eq!(env.br.fdb().len(), 1);
    assert_eq!(env.br.fdb()[0].port, OfpPort(1));
    // A moves to p3: relearned there.
    env.reval();
    env.send(3, &arp(A));
    env.expect(1, 1);
    env.expect(2, 1);
    let fdb = env.br.fdb();
    assert_eq!(fdb.len(), 1);
    assert_eq!(fdb[0].port, OfpPort(3));
    // Ages out after 20 s without traffic.
    env.br.run(monotonic_ms() + 19_000).unwrap();
    assert_eq!(env.br.fdb().len(), 1);
    env.br.run(monotonic_ms() + 21_000).unwrap();
    assert!(env.br.fdb().is_empty());
}

#[test]
fn access_vlans_do_not_leak() {
    let mut env = Env::new(0);
    env.add_port(1, VlanMode::Access, Some(10), None);
    env.add_port(2, VlanMode::Access, Some(10), None);
    env.add_port(3, VlanMode::Access, Some(20), None);
    env.add_port(4, VlanMode::Trunk, None, None);
    // Broadcast in VLAN 10: to p2 untagged and to the trunk tagged, not to VLAN 20.
    let f = arp(A);
    env.send(1, &f);
    assert_eq!(env.expect(2, 1), vec![f.clone()]);
    let tagged = env.expect(4, 1);
    assert_eq!(&tagged[0][12..16], &[0x81, 0x00, 0x00, 0x0a]);
    assert_eq!(tagged[0][16..], f[12..]);
    env.expect_none(3);
    // A tagged frame on an access port is dropped.
    env.send(2, &frame(BCAST, B, Some(10), 0x0806, &[0; 28]));
    env.expect_none(1);
    env.expect_none(4);
    // VLAN 20 from the trunk reaches p3 untagged only.
    let t20 = frame(BCAST, C, Some(20), 0x0806, &[1; 28]);
    env.send(4, &t20);
    let got = env.expect(3, 1);
    assert_eq!(got[0][12..], t20[16..]);
    env.expect_none(1);
    env.expect_none(2);
    // The unicast reply from p2 to A stays in VLAN 10.
    let r = udp(A, B, [10, 0, 0, 1], 5, 6);
    env.send(2, &r);
    assert_eq!(env.expect(1, 1), vec![r]);
    env.expect_none(3);
    env.expect_none(4);
    let fdb = env.br.fdb();
    assert!(
        fdb.iter()
            .any(|e| e.mac == EthAddr(A) && e.vlan == 10 && e.port == OfpPort(1))
    );
    assert!(
        fdb.iter()
            .any(|e| e.mac == EthAddr(C) && e.vlan == 20 && e.port == OfpPort(4))
    );
}

#[test]
fn trunks_carry_tags_and_filter() {
    let mut env = Env::new(0);
    env.add_port(1, VlanMode::Trunk, None, Some(vec![10]));
    env.add_port(2, VlanMode::Trunk, None, None);
    env.add_port(3, VlanMode::NativeUntagged, Some(10), None);
    // Tagged 10 from p2: to p1 tagged, to p3 untagged (its native VLAN).
    let f = frame(BCAST, A, Some(10), 0x0806, &[2; 28]);
    env.send(2, &f);
    assert_eq!(env.expect(1, 1), vec![f.clone()]);
    assert_eq!(env.expect(3, 1)[0][12..], f[16..]);
    // VLAN 30 is not trunked by p1 (and not p3's either).
    let g = frame(BCAST, B, Some(30), 0x0806, &[3; 28]);
    env.send(2, &g);
    env.expect(3, 1);
    env.expect_none(1);
    // Untagged from the native port goes out tagged 10 on the trunks.
    let h = arp(C);
    env.send(3, &h);
    assert_eq!(env.expect(1, 1)[0][12..16], [0x81, 0x00, 0x00, 0x0a]);
    assert_eq!(env.expect(2, 1)[0][12..16], [0x81, 0x00, 0x00, 0x0a]);
    // p1 drops untagged frames (VLAN 0 is not in its trunks).
    env.send(1, &arp(B));
    env.expect_none(2);
    env.expect_none(3);
}

#[test]
fn explicit_flows_priority_and_goto_table() {
    let mut env = Env::new(3);
    env.br.set_fail_mode(FailMode::Secure);
    assert!(env.br.rules(&RuleQuery::default()).is_empty());
    env.add_flow("priority=10,in_port=1,actions=output:2");
    env.add_flow("priority=20,in_port=1,dl_type=0x0800,actions=goto_table:1");
    env.add_flow("table=1,priority=5,actions=output:3");
    let ip = udp(B, A, [10, 0, 0, 2], 1, 2);
    env.send(1, &ip);
    assert_eq!(env.expect(3, 1), vec![ip]);
    env.expect_none(2);
    let a = arp(A);
    env.send(1, &a);
    assert_eq!(env.expect(2, 1), vec![a]);
    env.expect_none(3);
    // Nothing matches p2's packets: dropped.
    env.send(2, &arp(B));
    env.expect_none(1);
    env.expect_none(3);
    // Overlap checking and bad actions are refused with an error; nothing changes.
    let fm = ofctl::parse_flow_mod(
        "priority=10,dl_type=0x0800,check_overlap,actions=output:3",
        FlowModCommand::Add,
        None,
    )
    .unwrap();
    assert_eq!(env.br.flow_mod(&fm).unwrap_err(), crate::Error::Overlap);
    let fm =
        ofctl::parse_flow_mod("table=1,actions=goto_table:0", FlowModCommand::Add, None).unwrap();
    assert!(matches!(
        env.br.flow_mod(&fm),
        Err(crate::Error::BadGotoTable { .. })
    ));
    assert_eq!(env.br.rules(&RuleQuery::default()).len(), 3);
    // Counters reach the rules.
    env.reval();
    let r = env.br.rules(&RuleQuery::default());
    let t1 = r.iter().find(|r| r.table_id == 1).unwrap();
    assert_eq!(t1.stats().packets, 1);
}

#[test]
fn modify_and_delete_with_cookies() {
    let mut env = Env::new(3);
    env.br.set_fail_mode(FailMode::Secure);
    env.add_flow("cookie=0x1,priority=10,in_port=1,actions=output:2");
    env.add_flow("cookie=0x2,priority=10,in_port=2,actions=output:1");
    let f = arp(A);
    env.send(1, &f);
    env.expect(2, 1);
    // A modify whose cookie filter selects nothing changes nothing.
    assert_eq!(
        env.mod_flows("cookie=0x5/0xff,actions=output:3", FlowModCommand::Modify),
        0
    );
    // Strict modify needs the exact match and priority.
    assert_eq!(
        env.mod_flows("in_port=1,actions=output:3", FlowModCommand::ModifyStrict),
        0
    );
    assert_eq!(
        env.mod_flows(
            "priority=10,in_port=1,actions=output:3",
            FlowModCommand::ModifyStrict
        ),
        1
    );
    env.reval();
    env.send(1, &f);
    assert_eq!(env.expect(3, 1), vec![f.clone()]);
    env.expect_none(2);
    // Loose delete by cookie.
    assert_eq!(
        env.mod_flows("cookie=0x1/0xffffffffffffffff", FlowModCommand::Delete),
        1
    );
    env.reval();
    env.send(1, &f);
    env.expect_none(3);
    env.expect_none(2);
    assert_eq!(env.br.rules(&RuleQuery::default()).len(), 1);
    // Strict delete.
    assert_eq!(
        env.mod_flows("priority=10,in_port=2", FlowModCommand::DeleteStrict),
        1
    );
    assert!(env.br.rules(&RuleQuery::default()).is_empty());
}

#[test]
fn deleted_rule_flows_go_within_one_round() {
    let mut env = Env::new(2);
    env.br.set_fail_mode(FailMode::Secure);
    env.add_flow("priority=10,in_port=1,actions=output:2");
    let f = udp(B, A, [10, 0, 0, 2], 1, 2);
    env.send(1, &f);
    env.expect(2, 1);
    let flows = env.flows();
    assert_eq!(flows.len(), 1);
    assert_eq!(
        flows[0].actions.as_deref(),
        Some(&[dpif::odp::Action::Output(dpif::OdpPort(2))][..])
    );
    env.mod_flows("in_port=1", FlowModCommand::Delete);
    env.reval();
    assert!(
        env.flows()
            .iter()
            .all(|f| f.actions.as_deref().is_none_or(<[_]>::is_empty)),
        "{:?}",
        env.flows()
    );
    env.send(1, &f);
    env.expect_none(2);
}

#[test]
fn rule_timeouts_expire() {
    let mut env = Env::new(2);
    env.br.set_fail_mode(FailMode::Secure);
    env.add_flow("hard_timeout=2,priority=10,in_port=1,actions=output:2");
    env.add_flow("idle_timeout=2,priority=10,in_port=2,actions=output:1");
    let now = monotonic_ms();
    env.br.run(now + 1000).unwrap();
    assert_eq!(env.br.rules(&RuleQuery::default()).len(), 2);
    // Traffic 400 ms later keeps the idle one alive past the hard timeout.
    std::thread::sleep(Duration::from_millis(400));
    env.send(2, &arp(B));
    env.expect(1, 1);
    env.reval();
    env.br.run(now + 2200).unwrap();
    let left = env.br.rules(&RuleQuery::default());
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].idle_timeout, 2);
    env.br.run(now + 60_000).unwrap();
    assert!(env.br.rules(&RuleQuery::default()).is_empty());
}

#[test]
fn megaflows_share_unlooked_fields() {
    let mut env = Env::new(3);
    env.br.set_fail_mode(FailMode::Secure);
    env.add_flow("priority=10,in_port=1,actions=output:2");
    env.send(1, &udp(B, A, [10, 0, 0, 2], 1000, 53));
    env.expect(2, 1);
    env.send(1, &udp(B, A, [10, 0, 0, 9], 2000, 80));
    env.expect(2, 1);
    assert_eq!(
        env.flows().len(),
        1,
        "one megaflow: no rule looked past in_port"
    );
    // Now a rule looks at the UDP port: packets differing there get different flows.
    env.add_flow("priority=20,in_port=1,udp,tp_dst=80,actions=output:3");
    env.reval();
    env.send(1, &udp(B, A, [10, 0, 0, 2], 1000, 53));
    env.expect(2, 1);
    env.send(1, &udp(B, A, [10, 0, 0, 9], 2000, 80));
    env.expect(3, 1);
    let flows = env.flows();
    assert_eq!(flows.len(), 2, "{flows:?}");
    for f in &flows {
        let m = f.mask.unwrap();
        assert_eq!(m.tp_dst, 0xffff);
        assert_eq!(m.tp_src, 0, "the source port was never looked at");
        assert_eq!(m.ipv4_src, [0; 4]);
    }
}

#[test]
fn normal_megaflow_mask() {
    let env = Env::new(2);
    env.send(1, &udp(B, A, [10, 0, 0, 2], 1000, 53));
    env.expect(2, 1);
    let flows = env.flows();
    assert_eq!(flows.len(), 1);
    let m: FlowKey = flows[0].mask.unwrap();
    assert_eq!(m.eth_src, [0xff; 6]);
    assert_eq!(m.eth_dst, [0xff; 6]);
    assert_eq!(m.eth_type, 0xffff);
    assert_eq!(m.ipv4_dst, [0; 4]);
    assert_eq!(m.tp_src, 0);
    let text = env.class.dump_dp_flows(None, false).unwrap();
    assert!(
        text.starts_with("flow-dump from the main thread:\n"),
        "{text}"
    );
    assert!(
        text.contains("recirc_id(0),in_port(1),packet_type(ns=0,id=0),eth(src=02:00:00:00:01:01,dst=02:00:00:00:02:02),eth_type(0x0800),ipv4(frag=no), packets:0, bytes:0, used:never, actions:2"),
        "{text}"
    );
}

#[test]
fn trace_explicit_rule() {
    let mut env = Env::new(2);
    env.br.set_fail_mode(FailMode::Secure);
    env.add_flow(
        "priority=1,in_port=1,dl_src=02:00:00:00:01:01,dl_dst=02:00:00:00:02:02,actions=output:2",
    );
    assert_eq!(
        env.trace("in_port=1,dl_src=02:00:00:00:01:01,dl_dst=02:00:00:00:02:02"),
        "Flow: in_port=1,vlan_tci=0x0000,dl_src=02:00:00:00:01:01,dl_dst=02:00:00:00:02:02,dl_type=0x0000\n\
         \n\
         bridge(\"br0\")\n\
         -------------\n\
         \x200. in_port=1,dl_src=02:00:00:00:01:01,dl_dst=02:00:00:00:02:02, priority 1\n\
         \x20   output:2\n\
         \n\
         Final flow: unchanged\n\
         Megaflow: recirc_id=0,eth,in_port=1,dl_src=02:00:00:00:01:01,dl_dst=02:00:00:00:02:02,dl_type=0x0000\n\
         Datapath actions: 2\n"
    );
}

#[test]
fn trace_normal_and_miss() {
    let mut env = Env::new(2);
    // Standalone: NORMAL floods an unknown destination.
    assert_eq!(
        env.trace("in_port=1,dl_src=02:00:00:00:01:01,dl_dst=02:00:00:00:02:02"),
        "Flow: in_port=1,vlan_tci=0x0000,dl_src=02:00:00:00:01:01,dl_dst=02:00:00:00:02:02,dl_type=0x0000\n\
         \n\
         bridge(\"br0\")\n\
         -------------\n\
         \x200. priority 0\n\
         \x20   NORMAL\n\
         \x20    -> no learned MAC for destination, flooding\n\
         \n\
         Final flow: unchanged\n\
         Megaflow: recirc_id=0,eth,in_port=1,dl_src=02:00:00:00:01:01,dl_dst=02:00:00:00:02:02,dl_type=0x0000\n\
         Datapath actions: 2\n"
    );
    // After B is learned on p2, NORMAL forwards to it.
    env.send(2, &arp(B));
    env.expect(1, 1);
    let t = env.trace("in_port=1,dl_src=02:00:00:00:01:01,dl_dst=02:00:00:00:02:02");
    assert!(
        t.contains("    NORMAL\n     -> forwarding to learned port\n"),
        "{t}"
    );
    assert!(t.ends_with("Datapath actions: 2\n"), "{t}");
    // Secure mode, no rules: a miss.
    env.br.set_fail_mode(FailMode::Secure);
    let t = env.trace("in_port=1,dl_src=02:00:00:00:01:01,dl_dst=02:00:00:00:02:02");
    assert!(t.contains("\n 0. No match.\n    drop\n"), "{t}");
    assert!(t.ends_with("Datapath actions: drop\n"), "{t}");
    // A bad in_port is an error, not a panic.
    let f = ofctl::parse_flow("in_port=9", None).unwrap();
    assert!(env.br.trace(&f, None).is_err());
}

#[test]
fn trace_resubmit_set_field_and_loops() {
    let mut env = Env::new(3);
    env.br.set_fail_mode(FailMode::Secure);
    env.add_flow("priority=1,in_port=1,actions=mod_dl_dst:02:00:00:00:03:03,resubmit(,2),output:3");
    env.add_flow("table=2,cookie=0x7,actions=output:2");
    let t = env.trace("in_port=1,dl_src=02:00:00:00:01:01,dl_dst=02:00:00:00:02:02");
    assert_eq!(
        t,
        "Flow: in_port=1,vlan_tci=0x0000,dl_src=02:00:00:00:01:01,dl_dst=02:00:00:00:02:02,dl_type=0x0000\n\
         \n\
         bridge(\"br0\")\n\
         -------------\n\
         \x200. in_port=1, priority 1\n\
         \x20   mod_dl_dst:02:00:00:00:03:03\n\
         \x20   resubmit(,2)\n\
         \x20    2. priority 32768, cookie 0x7\n\
         \x20           output:2\n\
         \x20   output:3\n\
         \n\
         Final flow: in_port=1,vlan_tci=0x0000,dl_src=02:00:00:00:01:01,dl_dst=02:00:00:00:03:03,dl_type=0x0000\n\
         Megaflow: recirc_id=0,eth,in_port=1,dl_dst=02:00:00:00:02:02,dl_type=0x0000\n\
         Datapath actions: set(eth(dst=02:00:00:00:03:03)),2,3\n"
    );
    // A resubmit loop stops at the depth limit and drops.
    env.add_flow("table=5,actions=resubmit(,5)");
    env.add_flow("priority=2,in_port=2,actions=resubmit(,5)");
    let t = env.trace("in_port=2");
    assert!(t.contains(">>>> over max translation depth 64 <<<<"), "{t}");
    assert!(
        t.ends_with(
            "Datapath actions: drop\nTranslation failed (Recursion too deep), packet is dropped.\n"
        ),
        "{t}"
    );
    // And the switch still forwards.
    env.send(2, &arp(B));
    env.expect_none(1);
    env.send(1, &arp(A));
    env.expect(2, 1);
}

#[test]
fn controller_action_upcalls_become_packet_ins() {
    let mut env = Env::new(2);
    env.br.set_fail_mode(FailMode::Secure);
    env.add_flow("priority=0,actions=CONTROLLER:65535");
    env.send(1, &arp(A));
    let pins = env.packet_ins(1);
    assert_eq!(pins[0].packet, arp(A));
    assert_eq!(pins[0].reason, PacketInReason::ExplicitMiss);
    assert_eq!(pins[0].metadata.in_port(), OfpPort(1));
    assert_eq!(pins[0].cookie, 0);
    let t = Instant::now();
    while env.flows().is_empty() {
        assert!(t.elapsed() < Duration::from_secs(10));
        std::thread::sleep(Duration::from_millis(2));
    }
    let text = env.class.dump_dp_flows(None, false).unwrap();
    assert!(
        text.contains("actions:userspace(pid=0,controller(reason=6,dont_send=0,continuation=0,recirc_id=0,rule_cookie=0,controller_id=0,max_len=65535))"),
        "{text}"
    );
    env.expect_none(2);
}

#[test]
fn ports_and_shows() {
    let mut env = Env::new(2);
    let local = env.netdevs.open("br0", "dummy-internal").unwrap();
    assert_eq!(env.br.port_add(local, None).unwrap(), OfpPort::LOCAL);
    let p5 = env.netdevs.open("p5", "dummy").unwrap();
    // Port 1 is taken: the lowest never-used number.
    assert_eq!(
        env.br.port_add(p5.clone(), Some(OfpPort(1))).unwrap(),
        OfpPort(3)
    );
    assert!(env.br.port_add(p5, None).is_err(), "same name twice");
    let names: Vec<String> = env.br.port_dump().into_iter().map(|p| p.name).collect();
    assert_eq!(names, ["p1", "p2", "p5", "br0"]);
    assert_eq!(
        env.br.port_query_by_name("p5").unwrap().ofp_port,
        OfpPort(3)
    );
    let show = env.class.dpif_show();
    assert_eq!(
        show,
        "dummy@ovs-dummy: hit:0 missed:0\n  br0:\n    br0 65534/100: (dummy-internal)\n    p1 1/1: (dummy)\n    p2 2/2: (dummy)\n    p5 3/5: (dummy)\n"
    );
    env.br.port_del(OfpPort(3)).unwrap();
    assert!(env.br.port_del(OfpPort(3)).is_err());
    let dp = env.class.dp_show(None, false).unwrap();
    assert!(
        dp.starts_with("dummy@ovs-dummy:\n  lookups: hit:0 missed:0 lost:0\n  flows: 0\n"),
        "{dp}"
    );
    assert!(dp.contains("  port 1: p1 (dummy)\n"), "{dp}");
    assert!(!dp.contains("p5"), "{dp}");
    let up = env.class.upcall_show();
    assert!(
        up.starts_with(
            "dummy@ovs-dummy:\n  flows         : (current 0) (avg 0) (max 0) (limit 10000)\n"
        ),
        "{up}"
    );
    assert!(up.contains("  ufid enabled : true\n\n"), "{up}");
}

#[test]
fn vanished_ports_are_reported() {
    let mut env = Env::new(2);
    env.dpif().port_del(dpif::OdpPort(2)).unwrap();
    env.br.run(monotonic_ms()).unwrap();
    assert_eq!(env.br.port_poll(), vec!["p2".to_owned()]);
    assert!(env.br.port_query_by_name("p2").is_err());
    assert!(env.br.port_poll().is_empty());
}

#[test]
fn unknown_port_gets_exact_drop_flow() {
    let env = Env::new(1);
    // A port added to the datapath behind the bridge's back.
    let dev = env.netdevs.open("p7", "dummy").unwrap();
    let d = downcast::<DummyNetdev>(&dev).unwrap();
    env.dpif().port_add(dev, None).unwrap();
    assert!(d.receive(Packet::from_slice(&arp(C))));
    let t = Instant::now();
    while env.flows().is_empty() {
        assert!(t.elapsed() < Duration::from_secs(10));
        std::thread::sleep(Duration::from_millis(2));
    }
    let f = &env.flows()[0];
    assert_eq!(f.mask, Some(FlowKey::exact_mask()));
    assert_eq!(f.actions.as_deref(), Some(&[][..]));
    env.expect_none(1);
}

#[test]
fn packet_out_runs_actions() {
    let mut env = Env::new(3);
    let f = arp(A);
    env.br
        .packet_out(
            Packet::from_slice(&f),
            OfpPort::CONTROLLER,
            &[crate::actions::Action::Output(OfpPort(3))],
        )
        .unwrap();
    assert_eq!(env.expect(3, 1), vec![f.clone()]);
    env.br
        .packet_out(
            Packet::from_slice(&f),
            OfpPort(1),
            &[crate::actions::Action::Output(OfpPort::FLOOD)],
        )
        .unwrap();
    env.expect(2, 1);
    env.expect(3, 1);
    env.expect_none(1);
    assert!(
        env.br
            .packet_out(Packet::from_slice(&f), OfpPort(9), &[])
            .is_err()
    );
}

#[test]
fn flow_limit_stops_installs_not_forwarding() {
    let env = Env::new(2);
    let mut o = netdev::Options::new();
    o.insert("flow-limit".to_owned(), "1".to_owned());
    env.class.set_global_config(&o).unwrap();
    o.insert("flow-limit".to_owned(), "x".to_owned());
    assert!(env.class.set_global_config(&o).is_err());
    env.send(1, &udp(B, A, [10, 0, 0, 2], 1, 2));
    env.expect(2, 1);
    env.send(1, &udp(C, A, [10, 0, 0, 3], 1, 2));
    env.expect(2, 1);
    assert_eq!(env.flows().len(), 1);
}

#[test]
fn idle_datapath_flows_are_deleted() {
    let env = Env::new(2);
    let mut o = netdev::Options::new();
    o.insert("max-idle".to_owned(), "500".to_owned());
    o.insert("max-revalidator".to_owned(), "100".to_owned());
    env.class.set_global_config(&o).unwrap();
    env.send(1, &arp(A));
    env.expect(2, 1);
    assert_eq!(env.flows().len(), 1);
    let t = Instant::now();
    while !env.flows().is_empty() {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "idle flow not deleted"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let mem = env.class.memory_usage();
    assert!(mem.iter().any(|(k, _)| k == "udpif keys"));
}

#[test]
fn destruct_deletes_the_datapath() {
    let env = Env::new(2);
    let Env { br, dpclass, .. } = env;
    br.destruct(true);
    assert!(dpclass.open("ovs-dummy", false).is_err());
}

#[test]
fn verbose_dump_names_ports() {
    let env = Env::new(2);
    env.send(1, &arp(A));
    env.expect(2, 1);
    let text = env.class.dump_dp_flows(Some("ovs-dummy"), true).unwrap();
    let line = text.lines().nth(1).unwrap();
    assert!(line.starts_with("ufid:"), "{line}");
    assert!(
        line.contains(", skb_priority(0/0),skb_mark(0/0),ct_state(0/0),ct_zone(0/0),ct_mark(0/0),ct_label(0/0),recirc_id(0),dp_hash(0/0),in_port(p1),packet_type(ns=0,id=0),eth(src=02:00:00:00:01:01,dst=ff:ff:ff:ff:ff:ff),eth_type(0x0806),"),
        "{line}"
    );
    assert!(line.ends_with(", dp:ovs, actions:p2"), "{line}");
    assert!(env.class.dump_dp_flows(Some("nosuch"), false).is_err());
    let br = env.class.dump_bridge_flows("br0", false).unwrap();
    assert!(br.starts_with("recirc_id(0),in_port(1),"), "{br}");
    assert_eq!(br.lines().count(), 1);
    assert!(env.class.dump_bridge_flows("br9", false).is_err());
    assert!(
        env.class
            .dump_dp_flows(Some("dummy@ovs-dummy"), false)
            .is_ok()
    );
}

#[test]
fn trace_with_a_packet_learns() {
    let env = Env::new(2);
    let f = ofctl::parse_flow(
        "in_port=1,dl_src=02:00:00:00:01:01,dl_dst=02:00:00:00:02:02",
        None,
    )
    .unwrap();
    let pkt = Packet::from_slice(&arp(A));
    let t = env.br.trace(&f, Some(&pkt)).unwrap();
    assert!(
        t.contains("    NORMAL\n     -> learned that 02:00:00:00:01:01 is on port p1 in VLAN 0\n     -> no learned MAC for destination, flooding\n"),
        "{t}"
    );
    assert_eq!(env.br.fdb().len(), 1);
    // Without a packet, nothing is learned and no flow is installed.
    let g = ofctl::parse_flow("in_port=2,dl_src=02:00:00:00:02:02", None).unwrap();
    let t = env.br.trace(&g, None).unwrap();
    assert!(!t.contains("learned that"), "{t}");
    assert_eq!(env.br.fdb().len(), 1);
    assert!(env.flows().is_empty());
}

#[test]
fn hidden_rules_are_as_old_as_the_bridge() {
    let before = monotonic_ms();
    let env = Env::new(1);
    let rules = env.br.all_rules(true);
    assert!(
        rules
            .iter()
            .any(|r| r.table_id == crate::table::TABLE_INTERNAL)
    );
    for r in rules {
        assert!(
            r.created_ms >= before,
            "rule in table {} created at {} ms, before the bridge ({before} ms)",
            r.table_id,
            r.created_ms
        );
    }
}

#[test]
fn packet_ins_carry_rule_table_cookie_and_userdata() {
    let mut env = Env::new(2);
    env.br.set_fail_mode(FailMode::Secure);
    env.add_flow("table=0,in_port=1,actions=goto_table:2");
    env.add_flow(
        "table=2,cookie=0x55,in_port=1,actions=controller(max_len=100,id=3,userdata=01.02.03)",
    );
    env.send(1, &arp(A));
    let p = env.packet_ins(1).remove(0);
    assert_eq!(p.packet, arp(A));
    assert_eq!(p.reason, PacketInReason::Action);
    assert_eq!(
        (p.table_id, p.cookie, p.max_len, p.controller_id),
        (2, 0x55, 100, 3)
    );
    assert_eq!(p.userdata.as_deref(), Some(&[1u8, 2, 3][..]));
    assert_eq!(p.metadata.in_port(), OfpPort(1));
    // Packet-out to the controller: reason packet_out, from the in_port given.
    env.br
        .packet_out(
            Packet::from_slice(&arp(B)),
            OfpPort::CONTROLLER,
            &[crate::actions::Action::Output(OfpPort::CONTROLLER)],
        )
        .unwrap();
    let p = env.packet_ins(1).remove(0);
    assert_eq!(
        (p.reason, p.packet.clone()),
        (PacketInReason::PacketOut, arp(B))
    );
    assert_eq!(p.metadata.in_port(), OfpPort::CONTROLLER);
}

#[test]
fn table_misses_go_to_the_controller_only_when_asked() {
    let mut env = Env::new(2);
    env.br.set_fail_mode(FailMode::Secure);
    env.send(1, &arp(A));
    env.expect_none(2);
    assert!(env.br.take_packet_ins().is_empty());
    env.br.set_packet_in_on_miss(true);
    env.reval();
    env.send(1, &arp(A));
    let p = env.packet_ins(1).remove(0);
    assert_eq!(p.reason, PacketInReason::ImplicitMiss);
    assert_eq!((p.table_id, p.cookie), (0, u64::MAX));
    // The main loop is woken while packet-ins wait.
    env.send(2, &arp(B));
    let t = Instant::now();
    loop {
        let mut poll = netdev::poll::PollSet::new();
        env.br.wait(&mut poll);
        poll.block().unwrap();
        let got = env.br.take_packet_ins();
        if !got.is_empty() {
            assert_eq!(got[0].metadata.in_port(), OfpPort(2));
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(10));
    }
    env.br.set_packet_in_on_miss(false);
    env.reval();
    env.send(1, &arp(A));
    std::thread::sleep(Duration::from_millis(50));
    assert!(env.br.take_packet_ins().is_empty());
}

#[test]
fn controllers_flush_flows_and_fail_open_does_normal() {
    let mut env = Env::new(2);
    assert_eq!(env.br.rules(&RuleQuery::default()).len(), 1);
    // Controllers configured: the NORMAL rule goes; nothing is forwarded.
    env.br.set_controllers_configured(true);
    assert!(env.br.rules(&RuleQuery::default()).is_empty());
    env.reval();
    env.send(1, &arp(A));
    env.expect_none(2);
    // Fail-open: NORMAL again, through a hidden rule OpenFlow does not see.
    env.br.set_fail_open(true);
    env.reval();
    env.send(1, &arp(A));
    assert_eq!(env.expect(2, 1), vec![arp(A)]);
    assert!(env.br.rules(&RuleQuery::default()).is_empty());
    let hidden = env.br.all_rules(true);
    assert_eq!(hidden[0].priority, super::bridge::FAIL_OPEN_PRIORITY);
    // A secure bridge never fails open.
    env.br.set_fail_mode(FailMode::Secure);
    env.reval();
    env.send(1, &arp(A));
    env.expect_none(2);
    env.br.set_fail_mode(FailMode::Standalone);
    env.br.set_fail_open(false);
    env.reval();
    env.send(1, &arp(A));
    env.expect_none(2);
    // Controllers removed: the standalone NORMAL rule is back.
    env.br.set_controllers_configured(false);
    assert_eq!(env.br.rules(&RuleQuery::default()).len(), 1);
    env.reval();
    env.send(1, &arp(A));
    env.expect(2, 1);
}

#[test]
fn groups_forward_count_and_take_their_rules_along() {
    let mut env = Env::new(4);
    env.br.set_fail_mode(FailMode::Secure);
    // A flow naming a group that does not exist fails with OFPBAC_BAD_OUT_GROUP.
    let fm = ofctl::parse_flow_mod("in_port=1,actions=group:1", FlowModCommand::Add, None).unwrap();
    let e = env.br.flow_mod(&fm).unwrap_err();
    assert_eq!(e.ofp_error().map(|o| o.name), Some("OFPBAC_BAD_OUT_GROUP"));
    env.group_mod(
        GroupModCommand::Add,
        GroupType::All,
        1,
        &["output:2", "output:3"],
    );
    env.add_flow("send_flow_rem,in_port=1,actions=group:1");
    env.send(1, &arp(A));
    env.expect(2, 1);
    env.expect(3, 1);
    env.expect_none(4);
    env.send(1, &arp(A));
    env.expect(2, 1);
    env.expect(3, 1);
    env.reval();
    let st = env.br.group_stats(1);
    assert_eq!(st.len(), 1);
    assert_eq!((st[0].ref_count, st[0].packet_count), (1, 2));
    assert_eq!(st[0].buckets, vec![(2, 120), (2, 120)]);
    assert_eq!(env.br.group_stats(GROUP_ALL).len(), 1);
    // Modify: the flows in the datapath follow.
    env.group_mod(
        GroupModCommand::Modify,
        GroupType::Indirect,
        1,
        &["output:4"],
    );
    env.reval();
    env.send(1, &arp(A));
    env.expect(4, 1);
    env.expect_none(2);
    assert_eq!(env.br.group_descs()[0].type_, GroupType::Indirect);
    // Delete: the rule goes too, reported as group_delete.
    env.group_mod(GroupModCommand::Delete, GroupType::All, 1, &[]);
    assert!(env.br.rules(&RuleQuery::default()).is_empty());
    let removed = env.br.take_flow_removed();
    assert_eq!(removed.len(), 1);
    assert_eq!(removed[0].1, RemovedReason::GroupDelete);
    assert!(env.br.group_descs().is_empty());
    env.reval();
    env.send(1, &arp(A));
    env.expect_none(4);
}

#[test]
fn fast_failover_follows_carrier() {
    let mut env = Env::new(3);
    env.br.set_fail_mode(FailMode::Secure);
    env.group_mod(
        GroupModCommand::Add,
        GroupType::FastFailover,
        9,
        &["output:2@2", "output:3@3"],
    );
    env.add_flow("in_port=1,actions=group:9");
    env.send(1, &arp(A));
    env.expect(2, 1);
    env.port(2).set_carrier(false);
    env.br.run(monotonic_ms()).unwrap();
    env.reval();
    env.send(1, &arp(A));
    env.expect(3, 1);
    env.expect_none(2);
    assert!(
        env.trace("in_port=1").contains("bucket 1"),
        "{}",
        env.trace("in_port=1")
    );
}

#[test]
fn expired_rules_are_reported() {
    let mut env = Env::new(2);
    env.br.set_fail_mode(FailMode::Secure);
    env.add_flow("hard_timeout=1,priority=10,in_port=1,actions=output:2");
    env.add_flow("idle_timeout=1,priority=10,in_port=2,actions=output:1");
    env.br.run(monotonic_ms() + 5000).unwrap();
    let mut r: Vec<RemovedReason> = env
        .br
        .take_flow_removed()
        .into_iter()
        .map(|(_, w)| w)
        .collect();
    r.sort_by_key(|w| format!("{w:?}"));
    assert_eq!(
        r,
        vec![RemovedReason::HardTimeout, RemovedReason::IdleTimeout]
    );
    assert!(env.br.take_flow_removed().is_empty());
}

#[test]
fn a_packet_in_flood_is_bounded_and_does_not_stop_forwarding() {
    let mut env = Env::new(3);
    env.br.set_fail_mode(FailMode::Secure);
    env.add_flow("in_port=1,actions=CONTROLLER:65535");
    env.add_flow("in_port=2,actions=output:3");
    // Nobody drains the queue while p1 floods the controller.
    let n = 4 * super::PACKET_IN_QUEUE_MAX;
    for i in 0..n {
        let f = udp(B, A, [10, 0, 0, 2], u16::try_from(i % 50_000).unwrap(), 7);
        env.send(1, &f);
        if i % 64 == 63 {
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    // Other traffic still crosses.
    let f = udp(C, B, [10, 0, 0, 3], 1, 2);
    env.send(2, &f);
    assert_eq!(env.expect(3, 1), vec![f]);
    std::thread::sleep(Duration::from_millis(200));
    let got = env.br.take_packet_ins();
    assert!(!got.is_empty());
    assert!(
        got.len() <= super::PACKET_IN_QUEUE_MAX,
        "{} packet-ins queued",
        got.len()
    );
}

#[test]
fn staged_flow_mods_take_effect_when_published() {
    let mut env = Env::new(3);
    env.br.set_fail_mode(FailMode::Secure);
    env.add_flow("in_port=1,actions=output:2");
    let fm = ofctl::parse_flow_mod(
        "priority=40000,in_port=1,actions=output:3",
        FlowModCommand::Add,
        None,
    )
    .unwrap();
    env.br.flow_mod(&fm).unwrap();
    // OpenFlow sees the staged rule at once...
    assert_eq!(env.br.rules(&RuleQuery::default()).len(), 2);
    // ...forwarding only once the batch is published.
    let pkt = udp([2, 0, 0, 0, 0, 2], [2, 0, 0, 0, 0, 1], [10, 0, 0, 2], 1, 2);
    env.send(1, &pkt);
    env.expect(2, 1);
    env.expect_none(3);
    env.br.publish_flow_mods();
    env.reval();
    env.send(1, &pkt);
    env.expect(3, 1);
    env.expect_none(2);
}
