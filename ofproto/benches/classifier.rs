//! OpenFlow table lookup with wildcard recording: 1,000 and 100,000 rules spread over ten
//! masks (in_port, MACs, IPv4 prefixes, L4 ports, registers) and priorities, looked up with
//! packets of which about half hit a specific rule.

// A benchmark is not library code: a failed setup may abort it.
#![allow(clippy::unwrap_used)]

use std::hint::black_box;
use std::net::Ipv4Addr;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use netdev::EthAddr;
use ofproto::{
    Action, Flow, FlowMod, FlowModCommand, FlowWildcards, Match, OfpPort, Origin, TableSet,
};

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn mac(n: u64) -> EthAddr {
    let b = n.to_be_bytes();
    EthAddr([0x02, b[3], b[4], b[5], b[6], b[7]])
}

fn ip(n: u64) -> Ipv4Addr {
    Ipv4Addr::from(0x0a00_0000 | u32::try_from(n & 0x00ff_ffff).unwrap())
}

/// A random packet; `i` seeds the fields rules are built from.
fn packet(rng: &mut Rng, space: u64) -> Flow {
    let mut f = Flow::zero();
    f.set_in_port(OfpPort(u32::try_from(1 + rng.below(64)).unwrap()));
    f.set_dl_src(mac(rng.below(space)));
    f.set_dl_dst(mac(rng.below(space)));
    f.set_reg(0, u32::try_from(rng.below(space)).unwrap());
    f.set_metadata(rng.below(4));
    f.set_dl_type(0x0800);
    f.set_nw_src(ip(rng.below(space)));
    f.set_nw_dst(ip(rng.below(space)));
    f.set_nw_proto(if rng.below(2) == 0 { 6 } else { 17 });
    f.set_nw_ttl(64);
    f.set_tp_src(u16::try_from(1024 + rng.below(30_000)).unwrap());
    f.set_tp_dst(u16::try_from(rng.below(space.min(65_535))).unwrap());
    f
}

/// The match of rule kind `k` (0..10) built from `p`.
fn rule_match(k: u64, p: &Flow) -> Match {
    let mut m = Match::catchall();
    let prefix = |bits: u32| Ipv4Addr::from(!0u32 << (32 - bits));
    match k {
        0 => m.set_in_port(p.in_port()),
        1 => {
            m.set_in_port(p.in_port());
            m.set_dl_dst(p.dl_dst());
        }
        2 => m.set_dl_dst(p.dl_dst()),
        3 => {
            m.set_dl_type(0x0800);
            m.set_nw_dst_masked(p.nw_dst(), prefix(24));
        }
        4 => {
            m.set_dl_type(0x0800);
            m.set_nw_dst_masked(p.nw_dst(), prefix(16));
        }
        5 => {
            m.set_dl_type(0x0800);
            m.set_nw_src_masked(p.nw_src(), Ipv4Addr::BROADCAST);
            m.set_nw_dst_masked(p.nw_dst(), Ipv4Addr::BROADCAST);
        }
        6 => {
            m.set_dl_type(0x0800);
            m.set_nw_proto(6);
            m.set_tp_dst(p.tp_dst());
        }
        7 => {
            m.set_dl_type(0x0800);
            m.set_nw_proto(6);
            m.set_nw_dst_masked(p.nw_dst(), Ipv4Addr::BROADCAST);
            m.set_tp_dst(p.tp_dst());
        }
        8 => {
            m.set_dl_type(0x0800);
            m.set_nw_proto(17);
            m.set_tp_dst(p.tp_dst());
        }
        _ => {
            m.set_reg_masked(0, p.reg(0), u32::MAX);
            m.set_metadata_masked(p.metadata(), u64::MAX);
        }
    }
    m
}

fn build(n_rules: usize) -> (TableSet, Vec<Flow>) {
    let mut rng = Rng(0x1234_5678_9abc_def1);
    let space = u64::try_from(n_rules).unwrap() * 4;
    let mut t = TableSet::new();
    let mut seeds = vec![];
    let mut added = 0;
    while added < n_rules {
        let p = packet(&mut rng, space);
        let k = rng.below(10);
        let mut fm = FlowMod::new(FlowModCommand::Add, rule_match(k, &p));
        fm.table_id = 0;
        fm.priority = u32::try_from(100 + k * 100 + rng.below(50)).unwrap();
        fm.actions = vec![Action::Output(OfpPort(u32::try_from(1 + k).unwrap()))];
        if t.flow_mod(&fm, 0, Origin::OpenFlow).is_ok() {
            added += 1;
            seeds.push(p);
        }
    }
    let mut miss = FlowMod::new(FlowModCommand::Add, Match::catchall());
    miss.table_id = 0;
    miss.priority = 0;
    miss.actions = vec![Action::Output(OfpPort::NORMAL)];
    t.flow_mod(&miss, 0, Origin::OpenFlow).unwrap();
    // Half the packets are the ones rules were built from (they hit), half random.
    let mut packets = vec![];
    for i in 0..1024 {
        if i % 2 == 0 {
            let s = usize::try_from(rng.below(u64::try_from(seeds.len()).unwrap())).unwrap();
            packets.push(seeds[s]);
        } else {
            packets.push(packet(&mut rng, space));
        }
    }
    (t, packets)
}

fn bench(c: &mut Criterion) {
    for n in [1_000usize, 100_000] {
        let (t, packets) = build(n);
        let table = t.table(0).unwrap();
        eprintln!(
            "{n} rules in {} subtables",
            table.classifier().n_subtables()
        );
        let mut g = c.benchmark_group(format!("classifier/{n}_rules"));
        g.throughput(Throughput::Elements(u64::try_from(packets.len()).unwrap()));
        g.bench_function("lookup_with_wildcards", |b| {
            b.iter(|| {
                let mut hits = 0u32;
                for p in &packets {
                    let mut wc = FlowWildcards::catchall();
                    if let Some(r) = table.lookup(black_box(p), Some(&mut wc)) {
                        hits += r.priority;
                    }
                    black_box(&wc);
                }
                hits
            })
        });
        g.bench_function("lookup_no_wildcards", |b| {
            b.iter(|| {
                let mut hits = 0u32;
                for p in &packets {
                    if let Some(r) = table.lookup(black_box(p), None) {
                        hits += r.priority;
                    }
                }
                hits
            })
        });
        g.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench
}
criterion_main!(benches);
