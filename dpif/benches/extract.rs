//! Flow key extraction and action execution, per packet.
//!
//! `cargo bench -p dpif --bench extract`. Frames are built by hand (valid checksums are not
//! needed to parse); each measurement is one packet.
//!
//! Times are the benchmark thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`), not wall time: the
//! development machines are shared, and time spent running other processes is not ours.

use std::hint::black_box;

use criterion::measurement::{Measurement, ValueFormatter};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use dpif::OdpPort;
use dpif::odp::{
    Action, ExecuteCallbacks, FlowKey, Ipv4Key, KeyAttr, Userspace, execute, extract, hash_5tuple,
};
use netdev::Packet;

/// Thread CPU time in nanoseconds, as a criterion measurement.
struct CpuTime;

fn thread_cpu_ns() -> u64 {
    nix::time::clock_gettime(nix::time::ClockId::CLOCK_THREAD_CPUTIME_ID)
        .map(|t| {
            u64::try_from(t.tv_sec()).unwrap_or(0) * 1_000_000_000
                + u64::try_from(t.tv_nsec()).unwrap_or(0)
        })
        .unwrap_or(0)
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
        &NsFormatter
    }
}

/// Prints CPU nanoseconds as they are, and throughput in elements per second.
struct NsFormatter;

impl ValueFormatter for NsFormatter {
    fn scale_values(&self, typical: f64, values: &mut [f64]) -> &'static str {
        let (div, unit) = if typical < 1e3 {
            (1.0, "ns")
        } else if typical < 1e6 {
            (1e3, "µs")
        } else {
            (1e6, "ms")
        };
        values.iter_mut().for_each(|v| *v /= div);
        unit
    }
    fn scale_throughputs(&self, _typical: f64, t: &Throughput, values: &mut [f64]) -> &'static str {
        let n = match t {
            Throughput::Elements(n) | Throughput::Bytes(n) | Throughput::BytesDecimal(n) => *n,
            Throughput::Bits(n) => *n,
            _ => 1,
        } as f64;
        values.iter_mut().for_each(|v| *v = n * 1e3 / *v);
        "M/s"
    }
    fn scale_for_machines(&self, _values: &mut [f64]) -> &'static str {
        "ns"
    }
}

fn eth(tags: &[[u8; 4]], ethertype: u16) -> Vec<u8> {
    let mut v = vec![
        0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55,
    ];
    for t in tags {
        v.extend_from_slice(t);
    }
    v.extend_from_slice(&ethertype.to_be_bytes());
    v
}

fn ipv4(proto: u8, l4: &[u8]) -> Vec<u8> {
    let tot = u16::try_from(20 + l4.len())
        .unwrap_or(u16::MAX)
        .to_be_bytes();
    let mut v = vec![0x45, 0, tot[0], tot[1], 0, 1, 0x40, 0, 64, proto, 0, 0];
    v.extend_from_slice(&[10, 0, 0, 1, 10, 0, 0, 2]);
    v.extend_from_slice(l4);
    v
}

fn tcp() -> Vec<u8> {
    let mut v = vec![
        0x30, 0x39, 0x00, 0x50, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x18, 0xff, 0xff,
    ];
    v.extend_from_slice(&[0; 4]);
    v.extend_from_slice(&[0xab; 6]); // payload up to 60 bytes in all
    v
}

fn tcp4() -> Vec<u8> {
    [eth(&[], 0x0800), ipv4(6, &tcp())].concat()
}

fn tcp4_vlan() -> Vec<u8> {
    [eth(&[[0x81, 0x00, 0x20, 0x64]], 0x0800), ipv4(6, &tcp())].concat()
}

fn udp6() -> Vec<u8> {
    let udp = [
        0x13, 0x88, 0x00, 0x35, 0x00, 0x10, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8,
    ];
    let mut ip = vec![0x60, 0x01, 0x23, 0x45, 0x00, 0x10, 17, 64];
    ip.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    ip.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
    [eth(&[], 0x86dd), ip, udp.to_vec()].concat()
}

fn arp() -> Vec<u8> {
    let mut a = vec![0, 1, 8, 0, 6, 4, 0, 1];
    a.extend_from_slice(&[0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 10, 0, 0, 1]);
    a.extend_from_slice(&[0, 0, 0, 0, 0, 0, 10, 0, 0, 2]);
    let mut f = [eth(&[], 0x0806), a].concat();
    f.resize(60, 0);
    f
}

fn bench_extract(c: &mut Criterion<CpuTime>) {
    let mut g = c.benchmark_group("extract");
    g.throughput(Throughput::Elements(1));
    for (name, frame) in [
        ("tcp4", tcp4()),
        ("udp6", udp6()),
        ("arp", arp()),
        ("vlan_tcp4", tcp4_vlan()),
    ] {
        let mut pkt = Packet::from_slice(&frame);
        let mut key = FlowKey::zero();
        g.bench_function(name, |b| {
            b.iter(|| {
                extract(black_box(&mut pkt), &mut key);
                black_box(&key);
            })
        });
    }
    let mut pkt = Packet::from_slice(&tcp4());
    let mut key = FlowKey::zero();
    extract(&mut pkt, &mut key);
    g.bench_function("hash_5tuple", |b| {
        b.iter(|| black_box(hash_5tuple(black_box(&key), 0)))
    });
    g.finish();
}

/// Keeps the packet that went out, so that the next run can take it again: the benchmark
/// measures the actions, not packet copies or cold buffers.
struct Sink(Option<Packet>);

impl ExecuteCallbacks for Sink {
    fn output(&mut self, _port: OdpPort, pkt: Packet) {
        self.0 = Some(pkt);
    }
    fn userspace(&mut self, _pkt: &Packet, _action: &Userspace) {}
    fn recirc(&mut self, _pkt: Packet, _recirc_id: u32) {}
}

fn set_dst(dst: [u8; 4]) -> [Action; 2] {
    [
        Action::SetMasked {
            value: KeyAttr::Ipv4(Ipv4Key {
                dst,
                ..Default::default()
            }),
            mask: KeyAttr::Ipv4(Ipv4Key {
                dst: [0xff; 4],
                ..Default::default()
            }),
        },
        Action::Output(OdpPort(2)),
    ]
}

fn bench_execute(c: &mut Criterion<CpuTime>) {
    let mut g = c.benchmark_group("execute");
    // Each iteration executes twice, alternating two destinations so that every set
    // really rewrites the address and both checksums.
    g.throughput(Throughput::Elements(2));
    let mut pkt = Packet::from_slice(&tcp4());
    let mut key = FlowKey::zero();
    extract(&mut pkt, &mut key);
    let mut sink = Sink(Some(pkt));
    for (name, a, b) in [
        (
            "set_masked_ipv4_dst_output_x2",
            set_dst([192, 168, 1, 1]).to_vec(),
            set_dst([10, 0, 0, 2]).to_vec(),
        ),
        (
            "output_x2",
            vec![Action::Output(OdpPort(2))],
            vec![Action::Output(OdpPort(2))],
        ),
    ] {
        g.bench_function(name, |bench| {
            bench.iter(|| {
                for acts in [&a, &b] {
                    if let Some(p) = sink.0.take() {
                        execute(p, black_box(&key), acts, &mut sink);
                    }
                }
            })
        });
    }
    g.finish();
    black_box(sink.0.map(|p| p.len()));
}

criterion_group! {
    name = benches;
    config = Criterion::default().with_measurement(CpuTime);
    targets = bench_extract, bench_execute
}
criterion_main!(benches);
