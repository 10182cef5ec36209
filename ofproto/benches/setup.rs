//! ofproto-dpif benchmarks.
//!
//! * `flow_setup/normal`: new megaflows per second end to end over the userspace datapath
//!   with dummy ports: each packet has a new destination MAC, so it misses, goes up
//!   (upcall queue, handler thread), is translated (NORMAL: learn, flood), its megaflow is
//!   installed and the packet executed. Timed from injecting a batch of 64 packets until
//!   the output port has sent all of them.
//! * `xlate/normal` and `xlate/three_tables`: the translation an upcall makes, alone:
//!   NORMAL between two learned hosts (with learning, as an upcall does), and a pipeline
//!   of three tables (goto_table, a prefix match among 100 rules, a rewrite, an L4 match).
//! * `flow_mods/add_1000`: 1000 OpenFlow flow-mods (adds of distinct prefix rules) applied
//!   as one batch and published, as the connection manager does for `ovs-ofctl add-flows`.
//!   The batch copies the table set once, not once per flow-mod (measured before: 0.38 ms
//!   per flow-mod with 3000 rules, quadratic in the batch).
//!
//! `cargo bench -p ofproto --bench setup`. On the 2-core development VM (shared with other
//! builds): about 134,000 flow setups/s, 0.51 us per NORMAL translation, 0.79 us per
//! three-table translation.

// A benchmark is not library code: a failed setup may abort it.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use dpif::DpifRegistry;
use dpif::userspace::DpifNetdevClass;
use netdev::dummy::DummyNetdev;
use netdev::{Netdev, Options, Packet, Registry, downcast};
use ofproto::ofctl::{self, FlowModCommand};
use ofproto::ofproto_dpif::{OfprotoDpif, OfprotoDpifClass};
use ofproto::{BundleSettings, FailMode, OfpPort, Ofproto, VlanMode};

struct Rig {
    _netdevs: Arc<Registry>,
    _class: OfprotoDpifClass,
    br: OfprotoDpif,
    ports: Vec<Arc<DummyNetdev>>,
    n_flows: u64,
}

fn rig(n_ports: u32) -> Rig {
    let netdevs = Arc::new(Registry::with_default_classes());
    let mut reg = DpifRegistry::new();
    reg.register(Arc::new(DpifNetdevClass::new_dummy(netdevs.clone())))
        .unwrap();
    let class = OfprotoDpifClass::new(netdevs.clone(), Arc::new(reg));
    let mut br = class.construct_dpif("br0", "dummy").unwrap();
    let mut ports = Vec::new();
    for i in 1..=n_ports {
        let name = format!("p{i}");
        let dev = netdevs.open(&name, "dummy").unwrap();
        let mut o = Options::new();
        o.insert("tx_capture".into(), "false".into());
        dev.set_config(&o).unwrap();
        ports.push(downcast::<DummyNetdev>(&dev).unwrap());
        br.port_add(dev, Some(OfpPort(i))).unwrap();
        br.bundle_set(
            &name,
            Some(BundleSettings {
                name: name.clone(),
                members: vec![OfpPort(i)],
                vlan_mode: VlanMode::Trunk,
                vlan: None,
                trunks: None,
            }),
        )
        .unwrap();
    }
    Rig {
        _netdevs: netdevs,
        _class: class,
        br,
        ports,
        n_flows: 0,
    }
}

fn frame(dst: [u8; 6], src: [u8; 6]) -> Vec<u8> {
    let mut f = Vec::with_capacity(64);
    f.extend_from_slice(&dst);
    f.extend_from_slice(&src);
    f.extend_from_slice(&0x0800u16.to_be_bytes());
    f.extend_from_slice(&[
        0x45, 0, 0, 46, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
    ]);
    f.extend_from_slice(&[0, 1, 0, 2, 0, 26, 0, 0]);
    f.resize(64, 0xab);
    f
}

const SRC: [u8; 6] = [2, 0, 0, 0, 1, 1];
/// Flows per datapath before the rig is rebuilt (below the initial flow limit of 10,000).
const FLOWS_PER_RIG: u64 = 8000;
const BATCH: u64 = 64;

fn flow_setup(c: &mut Criterion) {
    let mut g = c.benchmark_group("flow_setup");
    g.throughput(Throughput::Elements(1));
    g.sample_size(20);
    g.measurement_time(Duration::from_secs(10));
    g.bench_function("normal", |b| {
        let mut r = rig(2);
        let mut next: u64 = 1;
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            let mut left = iters;
            while left > 0 {
                if r.n_flows >= FLOWS_PER_RIG {
                    r = rig(2);
                }
                let n = left.min(BATCH).min(FLOWS_PER_RIG - r.n_flows);
                let frames: Vec<Packet> = (0..n)
                    .map(|i| {
                        let d = (next + i).to_be_bytes();
                        Packet::from_slice(&frame([2, 1, d[4], d[5], d[6], d[7]], SRC))
                    })
                    .collect();
                next += n;
                let out = &r.ports[1];
                let target = out.stats().unwrap().tx_packets + n;
                let t = Instant::now();
                for f in frames {
                    r.ports[0].receive(f);
                }
                while out.stats().unwrap().tx_packets < target {
                    if t.elapsed() > Duration::from_secs(10) {
                        panic!("flow setup stalled");
                    }
                    std::thread::yield_now();
                }
                total += t.elapsed();
                r.n_flows += n;
                left -= n;
            }
            total
        });
    });
    g.finish();
}

fn parse_flow(s: &str) -> ofproto::Flow {
    ofctl::parse_flow(s, None).unwrap()
}

fn xlate(c: &mut Criterion) {
    let mut g = c.benchmark_group("xlate");
    g.throughput(Throughput::Elements(1));

    let r = rig(4);
    // Learn both hosts first.
    let ab = parse_flow(
        "in_port=1,udp,dl_src=02:00:00:00:01:01,dl_dst=02:00:00:00:02:02,nw_src=10.0.0.1,nw_dst=10.0.0.2,tp_src=1,tp_dst=2",
    );
    let ba = parse_flow("in_port=2,dl_src=02:00:00:00:02:02,dl_dst=02:00:00:00:01:01");
    r.br.translate(&ab, true);
    r.br.translate(&ba, true);
    assert_eq!(r.br.translate(&ab, true).actions.len(), 1);
    g.bench_function("normal", |b| {
        b.iter(|| black_box(r.br.translate(black_box(&ab), true)));
    });

    let mut p = rig(4);
    p.br.set_fail_mode(FailMode::Secure);
    let mut add = |s: &str| {
        let fm = ofctl::parse_flow_mod(s, FlowModCommand::Add, None).unwrap();
        p.br.flow_mod(&fm).unwrap();
    };
    for i in 1..=4 {
        add(&format!("table=0,in_port={i},actions=goto_table:1"));
    }
    for i in 0..100 {
        add(&format!(
            "table=1,priority=100,ip,nw_dst=10.{i}.0.0/16,actions=set_field:{i}->reg0,goto_table:2"
        ));
    }
    add("table=1,priority=1,actions=drop");
    add("table=2,priority=10,udp,tp_dst=2,actions=mod_dl_dst:02:00:00:00:09:09,output:3");
    add("table=2,priority=1,actions=output:2");
    p.br.publish_flow_mods();
    let t = p.br.translate(&ab, true);
    assert_eq!(t.rules.len(), 3);
    g.bench_function("three_tables", |b| {
        b.iter(|| black_box(p.br.translate(black_box(&ab), true)));
    });
    g.finish();
}

fn flow_mods(c: &mut Criterion) {
    let mut g = c.benchmark_group("flow_mods");
    g.throughput(Throughput::Elements(1000));
    let fms: Vec<_> = (0..1000u32)
        .map(|i| {
            let s = format!(
                "priority=100,ip,nw_dst=10.{}.{}.0/24,actions=output:2",
                i >> 8,
                i & 255
            );
            ofctl::parse_flow_mod(&s, FlowModCommand::Add, None).unwrap()
        })
        .collect();
    let mut p = rig(2);
    p.br.set_fail_mode(FailMode::Secure);
    let mut del = fms[0].clone();
    del.command = FlowModCommand::Delete;
    del.match_ = ofproto::Match::catchall();
    g.bench_function("add_1000", |b| {
        b.iter(|| {
            for fm in &fms {
                p.br.flow_mod(fm).unwrap();
            }
            p.br.publish_flow_mods();
            p.br.flow_mod(&del).unwrap();
            p.br.publish_flow_mods();
        });
    });
    g.finish();
}

criterion_group!(benches, xlate, flow_setup, flow_mods);
criterion_main!(benches);
