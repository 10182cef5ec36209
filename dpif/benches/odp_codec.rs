//! Benchmarks of the flow model's codecs on a typical TCP/IPv4 megaflow: key and mask to
//! netlink attributes and bytes, bytes back to a key, and the dpctl text both ways.

// A benchmark, not library code: a codec error should stop it loudly.
#![allow(clippy::unwrap_used)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use dpif::odp::{
    FlowKey, FormatOptions, ParseOptions, attrs_to_key, attrs_to_mask, decode_key_attrs,
    encode_key_attrs, eth_type, format_flow, ip_proto, key_to_attrs, mask_to_attrs, parse_flow,
};

fn megaflow() -> (FlowKey, FlowKey) {
    let mut k = FlowKey::zero();
    k.in_port = 2;
    k.eth_src = [2, 0, 0, 0, 1, 1];
    k.eth_dst = [2, 0, 0, 0, 2, 2];
    k.eth_type = eth_type::IPV4;
    k.ipv4_src = [10, 99, 0, 1];
    k.ipv4_dst = [10, 99, 0, 2];
    k.nw_proto = ip_proto::TCP;
    k.nw_ttl = 64;
    k.tp_src = 34567;
    k.tp_dst = 80;
    k.tcp_flags = 0x010;
    let mut m = FlowKey::zero();
    m.recirc_id = u32::MAX;
    m.in_port = u32::MAX;
    m.packet_type = u32::MAX;
    m.eth_src = [0xff; 6];
    m.eth_dst = [0xff; 6];
    m.vlans[0].tpid = u16::MAX;
    m.vlans[0].tci = u16::MAX;
    m.eth_type = u16::MAX;
    m.ipv4_dst = [255, 255, 255, 0];
    m.nw_proto = u8::MAX;
    m.nw_frag = 3;
    m.tp_dst = u16::MAX;
    (k, m)
}

fn bench(c: &mut Criterion) {
    let (key, mask) = megaflow();
    let key_attrs = key_to_attrs(&key, Some(&mask));
    let mask_attrs = mask_to_attrs(&mask, &key);
    let key_bytes = encode_key_attrs(&key_attrs).unwrap();
    let mask_bytes = encode_key_attrs(&mask_attrs).unwrap();
    let text = format_flow(&key, Some(&mask), &FormatOptions::terse());
    let verbose = format_flow(&key, Some(&mask), &FormatOptions::verbose());

    c.bench_function("key encode (FlowKey+mask -> attrs -> bytes)", |b| {
        b.iter(|| {
            let k = encode_key_attrs(&key_to_attrs(black_box(&key), Some(&mask))).unwrap();
            let m = encode_key_attrs(&mask_to_attrs(black_box(&mask), &key)).unwrap();
            (k, m)
        })
    });
    c.bench_function("key decode (bytes -> attrs -> FlowKey+mask)", |b| {
        b.iter(|| {
            let (k, _) = attrs_to_key(&decode_key_attrs(black_box(&key_bytes)).unwrap()).unwrap();
            let m = attrs_to_mask(&decode_key_attrs(black_box(&mask_bytes)).unwrap(), &k).unwrap();
            (k, m)
        })
    });
    c.bench_function("key attrs emit only", |b| {
        b.iter(|| encode_key_attrs(black_box(&key_attrs)).unwrap())
    });
    c.bench_function("key attrs parse only", |b| {
        b.iter(|| decode_key_attrs(black_box(&key_bytes)).unwrap())
    });
    c.bench_function("text format (terse)", |b| {
        b.iter(|| format_flow(black_box(&key), Some(&mask), &FormatOptions::terse()))
    });
    c.bench_function("text format (verbose)", |b| {
        b.iter(|| format_flow(black_box(&key), Some(&mask), &FormatOptions::verbose()))
    });
    c.bench_function("text parse (terse)", |b| {
        b.iter(|| parse_flow(black_box(&text), &ParseOptions::default()).unwrap())
    });
    c.bench_function("text parse (verbose)", |b| {
        b.iter(|| parse_flow(black_box(&verbose), &ParseOptions::default()).unwrap())
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
