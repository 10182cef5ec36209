//! Megaflow classifier (dpcls) lookups: 100,000 flows spread over 1, 8 and 32 subtables
//! (distinct masks), batches of 32 keys as the poll threads look them up, hits and misses.
//!
//! `cargo bench -p dpif --bench classifier`. One element is one key looked up. Subtables
//! get equal shares of the flows and of the hits, so a hit searches (n + 1) / 2 subtables
//! on average and a miss all n.
//!
//! Times are the benchmark thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`): the development
//! machines are shared, and time spent running other processes is not ours.

// A benchmark harness, not library code: a failed setup step must stop it loudly.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::hint::black_box;

use criterion::measurement::{Measurement, ValueFormatter};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use dpif::odp::FlowKey;
use dpif::userspace::dpcls::{BATCH, Dpcls};

const FLOWS: u32 = 100_000;

/// Thread CPU time in nanoseconds.
struct CpuTime;

fn thread_cpu_ns() -> u64 {
    let t = nix::time::clock_gettime(nix::time::ClockId::CLOCK_THREAD_CPUTIME_ID).unwrap();
    u64::try_from(t.tv_sec()).unwrap() * 1_000_000_000 + u64::try_from(t.tv_nsec()).unwrap()
}

impl Measurement for CpuTime {
    type Intermediate = u64;
    type Value = u64;
    fn start(&self) -> u64 {
        thread_cpu_ns()
    }
    fn end(&self, start: u64) -> u64 {
        thread_cpu_ns().saturating_sub(start)
    }
    fn add(&self, a: &u64, b: &u64) -> u64 {
        a + b
    }
    fn zero(&self) -> u64 {
        0
    }
    fn to_f64(&self, v: &u64) -> f64 {
        *v as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        &PerElement
    }
}

/// Prints CPU nanoseconds per batch, and throughput as nanoseconds per element.
struct PerElement;

impl ValueFormatter for PerElement {
    fn scale_values(&self, _typical: f64, _values: &mut [f64]) -> &'static str {
        "ns/batch"
    }
    fn scale_throughputs(&self, _typical: f64, t: &Throughput, values: &mut [f64]) -> &'static str {
        let n = match t {
            Throughput::Elements(n) => *n as f64,
            _ => 1.0,
        };
        values.iter_mut().for_each(|v| *v /= n);
        "ns/lookup"
    }
    fn scale_for_machines(&self, _values: &mut [f64]) -> &'static str {
        "ns"
    }
}

/// The mask of subtable `i`: in_port, eth_type and IPv4 source exact, plus a pattern of
/// TCP destination port bits that is different for each subtable.
fn mask(i: u16) -> FlowKey {
    let mut m = FlowKey::zero();
    m.in_port = u32::MAX;
    m.eth_type = u16::MAX;
    m.ipv4_src = [0xff; 4];
    m.tp_dst = i + 1;
    m
}

fn key(flow: u32) -> FlowKey {
    let mut k = FlowKey::zero();
    k.in_port = 1;
    k.eth_type = 0x0800;
    k.nw_proto = 6;
    k.ipv4_src = flow.to_be_bytes();
    k.ipv4_dst = [10, 0, 0, 1];
    k.tp_src = 40000;
    k.tp_dst = 0xffff;
    k
}

fn build(n_subtables: u16) -> Dpcls {
    let mut c = Dpcls::new();
    for f in 0..FLOWS {
        let s = u16::try_from(f % u32::from(n_subtables)).unwrap();
        assert!(c.insert(&key(f), &mask(s), f));
    }
    assert_eq!(c.n_subtables(), usize::from(n_subtables));
    c
}

/// 4096 keys in a scrambled order: hits (flows that exist) or misses (ones that do not).
fn keys(hit: bool) -> Vec<FlowKey> {
    (0..4096u32)
        .map(|i| {
            let f = i.wrapping_mul(2_654_435_761) % FLOWS;
            key(if hit { f } else { f + FLOWS })
        })
        .collect()
}

fn bench(c: &mut Criterion<CpuTime>) {
    let mut g = c.benchmark_group("dpcls_lookup_100k_flows");
    g.throughput(Throughput::Elements(BATCH as u64));
    for n in [1u16, 8, 32] {
        let mut cls = build(n);
        for hit in [true, false] {
            let ks = keys(hit);
            let name = if hit { "hit" } else { "miss" };
            let mut at = 0;
            let mut out = [0u32; BATCH];
            g.bench_function(BenchmarkId::new(name, format!("{n}_subtables")), |b| {
                b.iter(|| {
                    let batch = &ks[at..at + BATCH];
                    at = (at + BATCH) % ks.len();
                    let mut missing = u32::MAX;
                    cls.lookup_batch(black_box(batch), &mut missing, &mut out);
                    black_box((missing, out[0]))
                })
            });
        }
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().with_measurement(CpuTime);
    targets = bench
}
criterion_main!(benches);
