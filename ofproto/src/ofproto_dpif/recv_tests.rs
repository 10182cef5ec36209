//! The kernel-style upcall path (`recv_set`, `handlers_set`, handler threads that `recv`
//! and answer with one `operate` batch), over a fake datapath that queues upcalls the way
//! dpif-netlink does.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, Instant};

use dpif::odp::{self, FlowKey, OdpPort, Ufid};
use dpif::{
    DpStats, Dpif, DpifClass, DpifFlow, DpifOp, DpifPort, DpifRegistry, FlowStats, OpReply,
    PutFlags, Upcall, UpcallKind,
};
use netdev::poll::{Interest, Notifier, PollSet};
use netdev::{Netdev, Packet, Registry};
use parking_lot::Mutex;

use super::OfprotoDpifClass;
use super::tests::{A, B, arp, udp};
use crate::flow::OfpPort;
use crate::ofctl::{self, FlowModCommand};
use crate::provider::{BundleSettings, FailMode, OfprotoClass, VlanMode};

#[derive(Default)]
struct FakeState {
    ports: BTreeMap<u32, String>,
    flows: HashMap<Ufid, DpifFlow>,
    executed: Vec<(Vec<u8>, Vec<odp::Action>)>,
}

struct FakeDp {
    st: Mutex<FakeState>,
    queue: Mutex<VecDeque<Upcall>>,
    notifier: Notifier,
    recv_on: AtomicBool,
    n_handlers: AtomicU32,
    destroyed: AtomicBool,
    /// Report masks as the kernel does: through netlink attributes without
    /// `OVS_KEY_ATTR_PACKET_TYPE`.
    kernel_masks: AtomicBool,
}

/// `mask` as the kernel reports it back for a flow with `key`: what the netlink attributes
/// say once `OVS_KEY_ATTR_PACKET_TYPE` is left out (no packet type, no second VLAN).
fn kernel_view_of_mask(key: &FlowKey, mask: &FlowKey) -> FlowKey {
    let mut attrs = odp::mask_to_attrs(mask, key);
    odp::strip_packet_type(&mut attrs);
    odp::attrs_to_mask(&attrs, key).unwrap()
}

impl FakeDp {
    fn new() -> FakeDp {
        FakeDp {
            st: Mutex::default(),
            queue: Mutex::default(),
            notifier: Notifier::new().unwrap(),
            recv_on: AtomicBool::new(false),
            n_handlers: AtomicU32::new(0),
            destroyed: AtomicBool::new(false),
            kernel_masks: AtomicBool::new(false),
        }
    }

    fn inject(&self, port: u32, bytes: &[u8]) {
        let mut p = Packet::from_slice(bytes);
        p.md.in_port = port;
        let mut key = FlowKey::zero();
        odp::extract(&mut p, &mut key);
        if self.st.lock().flows.values().any(|f| {
            let (k, m) = (f.key.unwrap_or_default(), f.mask.unwrap_or_default());
            key.matches(&k, &m)
        }) {
            return;
        }
        self.queue.lock().push_back(Upcall {
            kind: UpcallKind::Miss,
            ufid: Ufid::from_key(&key),
            packet: p,
            key,
            raw_key: None,
            userdata: None,
            pmd_id: None,
        });
        self.notifier.notify();
    }
}

impl Dpif for FakeDp {
    fn name(&self) -> &str {
        "ovs-system"
    }
    fn type_name(&self) -> &'static str {
        "system"
    }
    fn destroy(&self) -> dpif::Result<()> {
        self.destroyed.store(true, Ordering::Release);
        Ok(())
    }
    fn stats(&self) -> dpif::Result<DpStats> {
        Ok(DpStats {
            n_flows: u64::try_from(self.st.lock().flows.len()).unwrap(),
            ..DpStats::default()
        })
    }
    fn port_add(&self, netdev: Arc<dyn Netdev>, _: Option<OdpPort>) -> dpif::Result<OdpPort> {
        let mut st = self.st.lock();
        let n = (1..).find(|n| !st.ports.contains_key(n)).unwrap_or(0);
        st.ports.insert(n, netdev.name().to_owned());
        Ok(OdpPort(n))
    }
    fn port_del(&self, p: OdpPort) -> dpif::Result<()> {
        self.st.lock().ports.remove(&p.0);
        Ok(())
    }
    fn port_query_by_number(&self, p: OdpPort) -> dpif::Result<DpifPort> {
        let st = self.st.lock();
        st.ports
            .get(&p.0)
            .map(|n| DpifPort {
                name: n.clone(),
                type_name: "system".into(),
                port_no: p,
            })
            .ok_or_else(|| dpif::Error::not_found("port query", "port", p))
    }
    fn port_query_by_name(&self, name: &str) -> dpif::Result<DpifPort> {
        let st = self.st.lock();
        st.ports
            .iter()
            .find(|(_, n)| *n == name)
            .map(|(k, n)| DpifPort {
                name: n.clone(),
                type_name: "system".into(),
                port_no: OdpPort(*k),
            })
            .ok_or_else(|| dpif::Error::not_found("port query", "port", name))
    }
    fn port_dump(&self) -> dpif::Result<Vec<DpifPort>> {
        let st = self.st.lock();
        Ok(st
            .ports
            .iter()
            .map(|(k, n)| DpifPort {
                name: n.clone(),
                type_name: "system".into(),
                port_no: OdpPort(*k),
            })
            .collect())
    }
    fn flow_flush(&self) -> dpif::Result<()> {
        self.st.lock().flows.clear();
        Ok(())
    }
    fn operate(&self, ops: Vec<DpifOp>) -> Vec<dpif::Result<OpReply>> {
        let mut st = self.st.lock();
        ops.into_iter()
            .map(|op| match op {
                DpifOp::Put(p) => {
                    let exists = st.flows.contains_key(&p.ufid);
                    if exists && !p.flags.contains(PutFlags::MODIFY) {
                        return Err(dpif::Error::exists("flow put", "flow", p.ufid));
                    }
                    if !exists && !p.flags.contains(PutFlags::CREATE) {
                        return Err(dpif::Error::not_found("flow put", "flow", p.ufid));
                    }
                    let stats = st.flows.get(&p.ufid).map(|f| f.stats);
                    st.flows.insert(
                        p.ufid,
                        DpifFlow {
                            ufid: p.ufid,
                            key: Some(p.key.masked(&p.mask)),
                            mask: Some(p.mask),
                            actions: Some(p.actions),
                            stats: stats.unwrap_or_default(),
                            pmd_id: None,
                        },
                    );
                    Ok(OpReply::Put(stats))
                }
                DpifOp::Del(d) => st
                    .flows
                    .remove(&d.ufid)
                    .map(|f| OpReply::Del(f.stats))
                    .ok_or_else(|| dpif::Error::not_found("flow del", "flow", d.ufid)),
                DpifOp::Execute(e) => {
                    st.executed.push((e.packet.data().to_vec(), e.actions));
                    Ok(OpReply::Execute)
                }
                DpifOp::Get(g) => st
                    .flows
                    .get(&g.ufid)
                    .map(|f| OpReply::Get(Box::new(f.clone())))
                    .ok_or_else(|| dpif::Error::not_found("flow get", "flow", g.ufid)),
            })
            .collect()
    }
    fn flow_dump(
        &self,
        _terse: bool,
    ) -> dpif::Result<Box<dyn Iterator<Item = dpif::Result<DpifFlow>> + '_>> {
        let mut v: Vec<DpifFlow> = self.st.lock().flows.values().cloned().collect();
        if self.kernel_masks.load(Ordering::Acquire) {
            for f in &mut v {
                if let (Some(k), Some(m)) = (f.key, f.mask) {
                    f.mask = Some(kernel_view_of_mask(&k, &m));
                }
            }
        }
        Ok(Box::new(v.into_iter().map(Ok)))
    }
    fn recv_set(&self, enable: bool) -> dpif::Result<()> {
        self.recv_on.store(enable, Ordering::Release);
        Ok(())
    }
    fn handlers_set(&self, n: u32) -> dpif::Result<()> {
        self.n_handlers.store(n, Ordering::Release);
        Ok(())
    }
    fn recv(&self, _h: u32, out: &mut Vec<Upcall>, max: usize) -> dpif::Result<usize> {
        let mut q = self.queue.lock();
        let mut n = 0;
        while n < max {
            match q.pop_front() {
                Some(u) => {
                    out.push(u);
                    n += 1;
                }
                None => break,
            }
        }
        if q.is_empty() {
            self.notifier.drain();
        }
        Ok(n)
    }
    fn recv_wait(&self, _h: u32, poll: &mut PollSet) {
        poll.fd_wait(self.notifier.fd(), Interest::Read);
    }
}

struct FakeClass {
    dp: Arc<FakeDp>,
}

impl DpifClass for FakeClass {
    fn type_name(&self) -> &'static str {
        "system"
    }
    fn enumerate(&self) -> dpif::Result<Vec<String>> {
        Ok(vec!["ovs-system".into()])
    }
    fn open(&self, _name: &str, _create: bool) -> dpif::Result<Arc<dyn Dpif>> {
        Ok(self.dp.clone())
    }
}

fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let t = Instant::now();
    while !f() {
        assert!(t.elapsed() < Duration::from_secs(10), "timed out: {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn recv_style_datapath() {
    let dp = Arc::new(FakeDp::new());
    let netdevs = Arc::new(Registry::with_default_classes());
    let mut reg = DpifRegistry::new();
    reg.register(Arc::new(FakeClass { dp: dp.clone() }))
        .unwrap();
    let class = OfprotoDpifClass::new(netdevs.clone(), Arc::new(reg));
    let mut br = class.construct("br0", "").unwrap();
    assert!(dp.recv_on.load(Ordering::Acquire));
    assert!(dp.n_handlers.load(Ordering::Acquire) >= 1);
    for i in 1..=2 {
        let dev = netdevs.open(&format!("p{i}"), "dummy").unwrap();
        br.port_add(dev, None).unwrap();
        br.bundle_set(
            &format!("p{i}"),
            Some(BundleSettings {
                name: format!("p{i}"),
                members: vec![OfpPort(i)],
                vlan_mode: VlanMode::Trunk,
                vlan: None,
                trunks: None,
            }),
        )
        .unwrap();
    }
    // NORMAL: the miss is translated, the flow put and the packet executed in one batch.
    let f = arp(A);
    dp.inject(1, &f);
    wait_until("execute", || !dp.st.lock().executed.is_empty());
    {
        let st = dp.st.lock();
        assert_eq!(st.executed[0].0, f);
        assert_eq!(st.executed[0].1, vec![odp::Action::Output(OdpPort(2))]);
        assert_eq!(st.flows.len(), 1);
    }
    assert_eq!(br.fdb().len(), 1);
    // A rule change is revalidated into the fake datapath's flow.
    br.set_fail_mode(FailMode::Secure);
    let fm = ofctl::parse_flow_mod("in_port=1,actions=drop", FlowModCommand::Add, None).unwrap();
    br.flow_mod(&fm).unwrap();
    br.publish_flow_mods();
    class.revalidator_wait(Duration::from_secs(5));
    {
        let st = dp.st.lock();
        assert!(
            st.flows
                .values()
                .all(|f| f.actions.as_deref() == Some(&[][..])),
            "{:?}",
            st.flows
        );
    }
    // Counters the datapath reports reach the rule.
    {
        let mut st = dp.st.lock();
        for f in st.flows.values_mut() {
            f.stats = FlowStats {
                n_packets: 5,
                n_bytes: 300,
                used_ms: dpif::monotonic_ms(),
                tcp_flags: 0,
            };
        }
    }
    class.revalidator_wait(Duration::from_secs(5));
    let rules = br.rules(&crate::table::RuleQuery::default());
    assert_eq!(rules.len(), 1);
    assert_eq!(rules[0].stats().packets, 5);
    // An upcall on a port no bridge owns: an exact drop flow.
    dp.st.lock().ports.insert(9, "stranger".into());
    dp.inject(9, &udp(B, A, [10, 0, 0, 2], 1, 2));
    wait_until("drop flow", || {
        dp.st
            .lock()
            .flows
            .values()
            .any(|f| f.mask == Some(FlowKey::exact_mask()))
    });
    br.destruct(true);
    assert!(dp.destroyed.load(Ordering::Acquire));
    assert!(!dp.recv_on.load(Ordering::Acquire));
}

/// A bridge with ports p1..=p`n` (NORMAL, trunks) over `dp`.
fn normal_bridge(
    dp: &Arc<FakeDp>,
    n: u32,
) -> (OfprotoDpifClass, Box<dyn crate::Ofproto>, Arc<Registry>) {
    let netdevs = Arc::new(Registry::with_default_classes());
    let mut reg = DpifRegistry::new();
    reg.register(Arc::new(FakeClass { dp: dp.clone() }))
        .unwrap();
    let class = OfprotoDpifClass::new(netdevs.clone(), Arc::new(reg));
    let mut br = class.construct("br0", "").unwrap();
    for i in 1..=n {
        add_port(&mut *br, &netdevs, i);
    }
    (class, br, netdevs)
}

fn add_port(br: &mut dyn crate::Ofproto, netdevs: &Registry, i: u32) {
    let dev = netdevs.open(&format!("p{i}"), "dummy").unwrap();
    assert_eq!(br.port_add(dev, None).unwrap(), OfpPort(i));
    br.bundle_set(
        &format!("p{i}"),
        Some(BundleSettings {
            name: format!("p{i}"),
            members: vec![OfpPort(i)],
            vlan_mode: VlanMode::Trunk,
            vlan: None,
            trunks: None,
        }),
    )
    .unwrap();
}

/// The kernel reports a flow's mask without the packet type and the second VLAN header the
/// switch installed it with; revalidation must not take that for a mask too wide for the
/// flow's new translation (it deleted every flow on any change, against the real kernel).
#[test]
fn revalidation_keeps_flows_whose_mask_the_datapath_spells_differently() {
    let dp = Arc::new(FakeDp::new());
    dp.kernel_masks.store(true, Ordering::Release);
    let (class, mut br, netdevs) = normal_bridge(&dp, 2);
    // Learn both MACs, then a unicast flow p1 -> p2.
    dp.inject(2, &arp(B));
    wait_until("B learned", || br.fdb().len() == 1);
    let f = udp(B, A, [10, 0, 0, 2], 1, 2);
    dp.inject(1, &f);
    wait_until("A -> B installed", || dp.st.lock().flows.len() == 2);
    let unicast = |dp: &FakeDp| -> Vec<(Ufid, Vec<odp::Action>)> {
        dp.st
            .lock()
            .flows
            .values()
            .filter(|f| f.key.is_some_and(|k| k.eth_type == odp::eth_type::IPV4))
            .map(|f| (f.ufid, f.actions.clone().unwrap()))
            .collect()
    };
    let before = unicast(&dp);
    assert_eq!(before.len(), 1, "{:?}", dp.st.lock().flows);
    assert_eq!(before[0].1, vec![odp::Action::Output(OdpPort(2))]);
    // A change that does not affect this flow: it stays as it is.
    add_port(&mut *br, &netdevs, 3);
    class.revalidator_wait(Duration::from_secs(5));
    class.revalidator_wait(Duration::from_secs(5));
    assert_eq!(unicast(&dp), before, "the flow was deleted or changed");
    // A change that does: B's port goes, so A -> B floods to the ports left, in place.
    br.port_del(OfpPort(2)).unwrap();
    class.revalidator_wait(Duration::from_secs(5));
    let after = unicast(&dp);
    assert_eq!(after.len(), 1, "{:?}", dp.st.lock().flows);
    assert_eq!(after[0].0, before[0].0);
    assert_eq!(after[0].1, vec![odp::Action::Output(OdpPort(3))]);
    // B's ARP flow came in on the deleted port: it is gone.
    assert!(
        dp.st
            .lock()
            .flows
            .values()
            .all(|f| f.key.is_some_and(|k| k.in_port != 2)),
        "{:?}",
        dp.st.lock().flows
    );
    br.destruct(true);
}
