//! Tests of [`execute`]: each action on hand-built frames, checksums after random rewrites
//! (full and partial states) checked by etherparse, VLAN push/pop round trips, and "never
//! panics" on arbitrary packets with arbitrary actions.

use super::*;
use crate::odp::extract::tests::{eth, ipv4, ipv6, tcp, udp};
use etherparse::{
    IpHeaders, IpNumber, Ipv4Header, Ipv6FlowLabel, Ipv6Header, NetSlice, PacketBuilder,
    SlicedPacket, TransportSlice,
};
use netdev::{Gso, GsoType};
use proptest::prelude::*;

const MAC_A: [u8; 6] = [0x00, 0x11, 0x22, 0x33, 0x44, 0x55];
const MAC_B: [u8; 6] = [0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb];

#[derive(Default)]
struct Rec {
    out: Vec<(u32, Packet)>,
    up: Vec<(Vec<u8>, Userspace)>,
    recirc: Vec<(u32, Packet)>,
    meters: Vec<u32>,
    meter_drops: bool,
}

impl ExecuteCallbacks for Rec {
    fn output(&mut self, port: OdpPort, pkt: Packet) {
        self.out.push((port.0, pkt));
    }
    fn userspace(&mut self, pkt: &Packet, action: &Userspace) {
        self.up.push((pkt.data().to_vec(), action.clone()));
    }
    fn recirc(&mut self, pkt: Packet, recirc_id: u32) {
        self.recirc.push((recirc_id, pkt));
    }
    fn meter(&mut self, _pkt: &Packet, meter_id: u32) -> bool {
        self.meters.push(meter_id);
        !self.meter_drops
    }
}

fn packet(bytes: &[u8]) -> (Packet, FlowKey) {
    let mut p = Packet::from_slice(bytes);
    let mut k = FlowKey::zero();
    extract(&mut p, &mut k);
    (p, k)
}

fn run_on(bytes: &[u8], actions: &[Action]) -> Rec {
    let (p, k) = packet(bytes);
    let mut rec = Rec::default();
    execute(p, &k, actions, &mut rec);
    rec
}

/// The bytes that came out of port 1 after `actions` then `output(1)`.
fn rewrite(bytes: &[u8], actions: &[Action]) -> Vec<u8> {
    let mut acts = actions.to_vec();
    acts.push(Action::Output(OdpPort(1)));
    let rec = run_on(bytes, &acts);
    assert_eq!(rec.out.len(), 1);
    rec.out[0].1.data().to_vec()
}

/// A TCP/IPv4 frame with correct checksums, built by etherparse.
fn tcp4(src: [u8; 4], dst: [u8; 4], sp: u16, dp: u16, ttl: u8, payload: &[u8]) -> Vec<u8> {
    let ip = Ipv4Header::new(0, ttl, IpNumber::TCP, src, dst).unwrap();
    let mut v = Vec::new();
    PacketBuilder::ethernet2(MAC_A, MAC_B)
        .ip(IpHeaders::Ipv4(ip, Default::default()))
        .tcp(sp, dp, 7, 1000)
        .write(&mut v, payload)
        .unwrap();
    v
}

/// A UDP/IPv4 frame with correct checksums, built by etherparse.
fn udp4(src: [u8; 4], dst: [u8; 4], sp: u16, dp: u16, payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    PacketBuilder::ethernet2(MAC_A, MAC_B)
        .ipv4(src, dst, 64)
        .udp(sp, dp)
        .write(&mut v, payload)
        .unwrap();
    v
}

fn v6hdr(src: [u8; 16], dst: [u8; 16], tclass: u8, label: u32, hlim: u8) -> Ipv6Header {
    Ipv6Header {
        traffic_class: tclass,
        flow_label: Ipv6FlowLabel::try_new(label).unwrap(),
        payload_length: 0,
        next_header: IpNumber(0),
        hop_limit: hlim,
        source: src,
        destination: dst,
    }
}

/// A TCP/IPv6 frame with correct checksums, built by etherparse.
fn tcp6(h: Ipv6Header, sp: u16, dp: u16, payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    PacketBuilder::ethernet2(MAC_A, MAC_B)
        .ip(IpHeaders::Ipv6(h, Default::default()))
        .tcp(sp, dp, 7, 1000)
        .write(&mut v, payload)
        .unwrap();
    v
}

const A4: [u8; 4] = [10, 0, 0, 1];
const B4: [u8; 4] = [10, 0, 0, 2];
const C4: [u8; 4] = [172, 16, 99, 200];

fn full_ipv4(src: [u8; 4], dst: [u8; 4], tos: u8, ttl: u8) -> KeyAttr {
    KeyAttr::Ipv4(Ipv4Key {
        src,
        dst,
        proto: 0,
        tos,
        ttl,
        frag: 0,
    })
}

// ---------------------------------------------------------------------------------------
// Control actions.

#[test]
fn output_moves_last_and_copies_otherwise() {
    let f = tcp4(A4, B4, 1, 2, 64, b"hi");
    let rec = run_on(&f, &[Action::Output(OdpPort(3))]);
    assert_eq!(rec.out.len(), 1);
    assert_eq!((rec.out[0].0, rec.out[0].1.data()), (3, &f[..]));

    let rec = run_on(
        &f,
        &[
            Action::Output(OdpPort(1)),
            Action::Set(KeyAttr::Ethernet(EthKey {
                src: [2; 6],
                dst: [4; 6],
            })),
            Action::Output(OdpPort(2)),
        ],
    );
    assert_eq!(rec.out.len(), 2);
    assert_eq!(
        rec.out[0].1.data(),
        &f[..],
        "the copy went out before the set"
    );
    assert_eq!(&rec.out[1].1.data()[..12], &[[4u8; 6], [2; 6]].concat()[..]);
    // Metadata travels with the copy.
    assert_eq!(rec.out[0].1.md.l3_ofs, 14);
}

#[test]
fn no_actions_drops() {
    let rec = run_on(&tcp4(A4, B4, 1, 2, 64, b""), &[]);
    assert!(rec.out.is_empty() && rec.up.is_empty() && rec.recirc.is_empty());
}

#[test]
fn trunc_applies_to_the_next_output_only() {
    let f = tcp4(A4, B4, 1, 2, 64, &[0xab; 100]);
    let rec = run_on(
        &f,
        &[
            Action::Trunc(60),
            Action::Output(OdpPort(1)),
            Action::Output(OdpPort(2)),
            Action::Trunc(10_000),
            Action::Output(OdpPort(3)),
            Action::Trunc(20),
            Action::Output(OdpPort(4)),
        ],
    );
    let lens: Vec<_> = rec.out.iter().map(|(p, k)| (*p, k.len())).collect();
    assert_eq!(lens, [(1, 60), (2, f.len()), (3, f.len()), (4, 20)]);
    assert_eq!(rec.out[0].1.data(), &f[..60]);
}

#[test]
fn trunc_drops_offloads_that_no_longer_fit() {
    let (mut p, k) = packet(&tcp4(A4, B4, 1, 2, 64, &[0; 100]));
    p.offload.csum = Checksum::Partial {
        start: 34,
        offset: 16,
    };
    p.offload.gso = Some(Gso {
        kind: GsoType::TcpV4,
        size: 50,
        hdr_len: 54,
        ecn: false,
    });
    let mut rec = Rec::default();
    execute(
        p,
        &k,
        &[Action::Trunc(40), Action::Output(OdpPort(1))],
        &mut rec,
    );
    let o = rec.out[0].1.offload;
    assert_eq!((o.csum, o.gso), (Checksum::Unknown, None));
}

#[test]
fn userspace_recirc_meter_drop() {
    let f = tcp4(A4, B4, 1, 2, 64, b"");
    let up = Userspace {
        pid: 9,
        userdata: Some(vec![1, 2]),
        ..Default::default()
    };
    let rec = run_on(
        &f,
        &[
            Action::Userspace(up.clone()),
            Action::Recirc(5),
            Action::Meter(3),
            Action::Recirc(6),
        ],
    );
    assert_eq!(rec.up, [(f.clone(), up)]);
    let ids: Vec<_> = rec
        .recirc
        .iter()
        .map(|(id, p)| (*id, p.md.recirc_id))
        .collect();
    assert_eq!(ids, [(5, 5), (6, 6)]);
    assert_eq!(rec.meters, [3]);

    // A meter that says "drop" stops everything after it.
    let (p, k) = packet(&f);
    let mut rec = Rec {
        meter_drops: true,
        ..Default::default()
    };
    execute(
        p,
        &k,
        &[Action::Meter(1), Action::Output(OdpPort(1))],
        &mut rec,
    );
    assert!(rec.out.is_empty());

    // An explicit drop too; ct_clear and unknown actions do nothing.
    let rec = run_on(
        &f,
        &[
            Action::CtClear,
            Action::PopMpls(0x0800),
            Action::Output(OdpPort(1)),
            Action::Drop(0),
            Action::Output(OdpPort(2)),
        ],
    );
    assert_eq!(rec.out.len(), 1);
    assert_eq!(rec.out[0].1.data(), &f[..]);
}

#[test]
fn clone_and_sample_isolate_their_changes() {
    let f = tcp4(A4, B4, 1, 2, 64, b"");
    let set_ttl = Action::SetMasked {
        value: full_ipv4([0; 4], [0; 4], 0, 5),
        mask: full_ipv4([0; 4], [0; 4], 0, 0xff),
    };
    let rec = run_on(
        &f,
        &[
            Action::Clone(vec![set_ttl.clone(), Action::Output(OdpPort(1))]),
            Action::Sample {
                probability: u32::MAX,
                actions: vec![set_ttl.clone(), Action::Output(OdpPort(2))],
            },
            Action::Sample {
                probability: 0,
                actions: vec![Action::Output(OdpPort(99))],
            },
            Action::Output(OdpPort(3)),
            // Last: runs on the packet itself.
            Action::Clone(vec![set_ttl, Action::Output(OdpPort(4))]),
        ],
    );
    let got: Vec<_> = rec
        .out
        .iter()
        .map(|(port, p)| (*port, p.data()[22]))
        .collect();
    assert_eq!(got, [(1, 5), (2, 5), (3, 64), (4, 5)]);
}

#[test]
fn sample_probability_is_roughly_right() {
    let f = tcp4(A4, B4, 1, 2, 64, b"");
    let (p, k) = packet(&f);
    let mut rec = Rec::default();
    let acts = [Action::Sample {
        probability: u32::MAX / 4,
        actions: vec![Action::Output(OdpPort(1))],
    }];
    for _ in 0..4000 {
        execute(p.clone_packet(), &k, &acts, &mut rec);
    }
    let n = rec.out.len();
    assert!((800..1200).contains(&n), "{n} of 4000 sampled at 25%");
}

#[test]
fn nesting_is_bounded() {
    let mut acts = vec![Action::Output(OdpPort(1))];
    for _ in 0..MAX_NESTING {
        acts = vec![Action::Clone(acts)];
    }
    let f = tcp4(A4, B4, 1, 2, 64, b"");
    assert_eq!(run_on(&f, &acts).out.len(), 1);
    let rec = run_on(&f, &[Action::Clone(acts)]);
    assert!(rec.out.is_empty());
}

#[test]
fn hash_sets_dp_hash() {
    let f = tcp4(A4, B4, 1000, 80, 64, b"");
    let r = tcp4(B4, A4, 80, 1000, 64, b"");
    let dp_hash = |bytes: &[u8], alg| {
        let rec = run_on(bytes, &[Action::Hash { alg, basis: 7 }, Action::Recirc(1)]);
        rec.recirc[0].1.md.dp_hash
    };
    let (_, k) = packet(&f);
    assert_eq!(dp_hash(&f, HashAlg::L4), hash_5tuple(&k, 7));
    assert_ne!(dp_hash(&f, HashAlg::L4), dp_hash(&r, HashAlg::L4));
    assert_eq!(dp_hash(&f, HashAlg::SymL4), dp_hash(&r, HashAlg::SymL4));
    // The hash sees fields that an earlier set action rewrote.
    let rec = run_on(
        &f,
        &[
            Action::Set(full_ipv4(B4, A4, 0, 64)),
            Action::Set(KeyAttr::Tcp(L4Key { src: 80, dst: 1000 })),
            Action::Hash {
                alg: HashAlg::L4,
                basis: 7,
            },
            Action::Recirc(1),
        ],
    );
    assert_eq!(rec.recirc[0].1.md.dp_hash, dp_hash(&r, HashAlg::L4));
}

#[test]
fn metadata_sets() {
    let f = tcp4(A4, B4, 1, 2, 64, b"");
    let rec = run_on(
        &f,
        &[
            Action::Set(KeyAttr::Priority(0x1234)),
            Action::SetMasked {
                value: KeyAttr::SkbMark(0xff00),
                mask: KeyAttr::SkbMark(0x0f00),
            },
            Action::Set(KeyAttr::DpHash(77)),
            Action::Output(OdpPort(1)),
        ],
    );
    let md = rec.out[0].1.md;
    assert_eq!(
        (md.skb_priority, md.skb_mark, md.dp_hash),
        (0x1234, 0x0f00, 77)
    );
    assert_eq!(rec.out[0].1.data(), &f[..]);
}

// ---------------------------------------------------------------------------------------
// Header rewrites with expected bytes.

#[test]
fn set_ethernet() {
    let f = tcp4(A4, B4, 1, 2, 64, b"");
    let out = rewrite(
        &f,
        &[Action::SetMasked {
            value: KeyAttr::Ethernet(EthKey {
                src: [0xee; 6],
                dst: [0x01, 0, 0, 0, 0, 0x02],
            }),
            mask: KeyAttr::Ethernet(EthKey {
                src: [0; 6],
                dst: [0xff, 0, 0, 0, 0, 0x0f],
            }),
        }],
    );
    // etherparse's frames go from MAC_A to MAC_B.
    assert_eq!(&out[..6], &[0x01, 0x77, 0x88, 0x99, 0xaa, 0xb2]);
    assert_eq!(&out[6..12], &MAC_A, "source untouched by a zero mask");
    assert_eq!(&out[12..], &f[12..]);
}

#[test]
fn set_ipv4_fields_updates_checksums() {
    let f = tcp4(A4, B4, 1000, 80, 64, b"payload");
    let want = tcp4(C4, B4, 1000, 80, 64, b"payload");
    assert_eq!(rewrite(&f, &[Action::Set(full_ipv4(C4, B4, 0, 64))]), want);

    let want = tcp4(A4, C4, 1000, 80, 17, b"payload");
    let out = rewrite(
        &f,
        &[Action::SetMasked {
            value: full_ipv4([0; 4], C4, 0, 17),
            mask: full_ipv4([0; 4], [0xff; 4], 0, 0xff),
        }],
    );
    assert_eq!(out, want);

    // TOS: DSCP 46, ECN 1, checked against etherparse's header checksum.
    let out = rewrite(&f, &[Action::Set(full_ipv4(A4, B4, 0xb9, 64))]);
    let ip = Ipv4Header::from_slice(&out[14..]).unwrap().0;
    assert_eq!((ip.dscp.value(), ip.ecn.value()), (46, 1));
    assert_eq!(ip.header_checksum, ip.calc_header_checksum());

    // UDP with a checksum, and without one (0 stays 0).
    let u = udp4(A4, B4, 53, 53, b"q");
    assert_eq!(
        rewrite(&u, &[Action::Set(full_ipv4(C4, B4, 0, 64))]),
        udp4(C4, B4, 53, 53, b"q")
    );
    let mut u0 = u.clone();
    u0[40..42].copy_from_slice(&[0, 0]);
    let out = rewrite(&u0, &[Action::Set(full_ipv4(C4, B4, 0, 64))]);
    assert_eq!(&out[40..42], &[0, 0]);
    assert_eq!(&out[26..30], &C4);

    // ICMP has no pseudo header: only the IP checksum changes.
    let icmp = [8, 0, 0xf7, 0xff, 0, 0, 0, 0];
    let f = [&eth(&[], 0x0800)[..], &ipv4(1, 8, 0, &[]), &icmp].concat();
    let out = rewrite(&f, &[Action::Set(full_ipv4(C4, B4, 0, 64))]);
    assert_eq!(&out[34..], &icmp);
    assert_eq!(csum::sum(&out[14..34]), 0xffff);
}

#[test]
fn set_ipv4_on_a_later_fragment_leaves_the_payload() {
    // A later fragment: what follows the IP header is payload, not a TCP header.
    let payload = tcp(1, 2, 0);
    let f = [&eth(&[], 0x0800)[..], &ipv4(6, 20, 0x0010, &[]), &payload].concat();
    let out = rewrite(&f, &[Action::Set(full_ipv4(C4, C4, 0xb8, 64))]);
    assert_eq!(&out[34..], &payload[..]);
    assert_eq!(csum::sum(&out[14..34]), 0xffff);
    // A set of TCP ports does nothing there either.
    let out = rewrite(&f, &[Action::Set(KeyAttr::Tcp(L4Key { src: 9, dst: 9 }))]);
    assert_eq!(out, f);
}

#[test]
fn set_ipv6_fields() {
    let s6 = [0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    let d6 = [0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];
    let n6 = [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9];
    let f = tcp6(v6hdr(s6, d6, 0, 0x12345, 64), 1, 2, b"x");
    let want = tcp6(v6hdr(n6, d6, 0x2a, 0x54321, 3), 1, 2, b"x");
    let out = rewrite(
        &f,
        &[Action::Set(KeyAttr::Ipv6(Ipv6Key {
            src: n6,
            dst: d6,
            label: 0x54321,
            proto: 0,
            tclass: 0x2a,
            hlimit: 3,
            frag: 0,
        }))],
    );
    assert_eq!(out, want);
    // Masked: only the destination's last byte and the label's low nibble.
    let mut d2 = n6;
    d2[15] = 2;
    let f2 = tcp6(v6hdr(s6, d2, 0, 0x12345, 64), 1, 2, b"x");
    let mut dmask = [0u8; 16];
    dmask[15] = 0xff;
    let mut dval = [0u8; 16];
    dval[15] = 9;
    let out = rewrite(
        &f2,
        &[Action::SetMasked {
            value: KeyAttr::Ipv6(Ipv6Key {
                dst: dval,
                label: 0x9,
                ..Default::default()
            }),
            mask: KeyAttr::Ipv6(Ipv6Key {
                dst: dmask,
                label: 0xf,
                ..Default::default()
            }),
        }],
    );
    assert_eq!(out, tcp6(v6hdr(s6, n6, 0, 0x12349, 64), 1, 2, b"x"));
    assert!(transport_checksum_ok(&out));
}

#[test]
fn ipv6_routing_header_keeps_the_l4_checksum_on_dst_change() {
    // hop limit etc. from the extract tests' builder; a routing header with 1 segment left.
    let mut t = tcp(1, 2, 0);
    let rh = [6u8, 0, 0, 1, 0, 0, 0, 0];
    // Checksum over the pseudo header with the *final* destination (pretend it is 0::1).
    let final_dst = {
        let mut a = [0u8; 16];
        a[15] = 1;
        a
    };
    let h = ipv6(43, 28);
    let src: [u8; 16] = h[8..24].try_into().unwrap();
    let c = !csum::add(csum::pseudo_ipv6(&src, &final_dst, 6, 20), csum::sum(&t));
    t[16..18].copy_from_slice(&c.to_be_bytes());
    let f = [&eth(&[], 0x86dd)[..], &h, &rh, &t].concat();
    let out = rewrite(
        &f,
        &[Action::SetMasked {
            value: KeyAttr::Ipv6(Ipv6Key {
                dst: [0x55; 16],
                ..Default::default()
            }),
            mask: KeyAttr::Ipv6(Ipv6Key {
                dst: [0xff; 16],
                ..Default::default()
            }),
        }],
    );
    assert_eq!(&out[38..54], &[0x55; 16]);
    assert_eq!(&out[62..], &t[..], "the TCP checksum did not move");
    // Without segments left the checksum follows the destination.
    let mut f0 = f.clone();
    f0[57] = 0;
    let out = rewrite(
        &f0,
        &[Action::SetMasked {
            value: KeyAttr::Ipv6(Ipv6Key {
                dst: [0x55; 16],
                ..Default::default()
            }),
            mask: KeyAttr::Ipv6(Ipv6Key {
                dst: [0xff; 16],
                ..Default::default()
            }),
        }],
    );
    assert_ne!(&out[78..80], &t[16..18]);
}

#[test]
fn set_ports() {
    let f = tcp4(A4, B4, 1000, 80, 64, b"data");
    assert_eq!(
        rewrite(
            &f,
            &[Action::Set(KeyAttr::Tcp(L4Key {
                src: 4242,
                dst: 8080
            }))]
        ),
        tcp4(A4, B4, 4242, 8080, 64, b"data")
    );
    let out = rewrite(
        &f,
        &[Action::SetMasked {
            value: KeyAttr::Tcp(L4Key {
                src: 0,
                dst: 0x1f00,
            }),
            mask: KeyAttr::Tcp(L4Key {
                src: 0,
                dst: 0xff00,
            }),
        }],
    );
    assert_eq!(out, tcp4(A4, B4, 1000, 0x1f50, 64, b"data"));

    let u = udp4(A4, B4, 53, 5353, b"q");
    assert_eq!(
        rewrite(&u, &[Action::Set(KeyAttr::Udp(L4Key { src: 1, dst: 2 }))]),
        udp4(A4, B4, 1, 2, b"q")
    );
    let mut u0 = u.clone();
    u0[40..42].copy_from_slice(&[0, 0]);
    let out = rewrite(&u0, &[Action::Set(KeyAttr::Udp(L4Key { src: 1, dst: 2 }))]);
    assert_eq!(
        (&out[34..38], &out[40..42]),
        (&[0, 1, 0, 2][..], &[0u8, 0][..])
    );

    // The wrong protocol: nothing.
    assert_eq!(
        rewrite(&u, &[Action::Set(KeyAttr::Tcp(L4Key { src: 1, dst: 2 }))]),
        u
    );
}

fn sctp_frame(sp: u16, dp: u16) -> Vec<u8> {
    let mut s = Vec::new();
    s.extend_from_slice(&sp.to_be_bytes());
    s.extend_from_slice(&dp.to_be_bytes());
    s.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0]); // tag, checksum
    s.extend_from_slice(&[1, 0, 0, 8, 0xaa, 0xbb, 0xcc, 0xdd]); // a chunk
    let c = csum::crc32c(&s);
    s[8..12].copy_from_slice(&c.to_le_bytes());
    [&eth(&[], 0x0800)[..], &ipv4(132, s.len(), 0, &[]), &s].concat()
}

#[test]
fn set_sctp_recomputes_crc() {
    let f = sctp_frame(3000, 4000);
    let out = rewrite(&f, &[Action::Set(KeyAttr::Sctp(L4Key { src: 5, dst: 6 }))]);
    assert_eq!(out, sctp_frame(5, 6));
    // A wrong CRC stays wrong by the same difference.
    let mut bad = f.clone();
    bad[42] ^= 0x5a;
    let out = rewrite(
        &bad,
        &[Action::Set(KeyAttr::Sctp(L4Key { src: 5, dst: 6 }))],
    );
    let mut want = sctp_frame(5, 6);
    want[42] ^= 0x5a;
    assert_eq!(out, want);
}

#[test]
fn set_icmp_type_code() {
    let icmp = |t: u8, c: u8| {
        let mut m = vec![t, c, 0, 0, 0, 1, 0, 2, b'p', b'i', b'n', b'g'];
        let s = csum::checksum(&m);
        m[2..4].copy_from_slice(&s.to_be_bytes());
        [&eth(&[], 0x0800)[..], &ipv4(1, m.len(), 0, &[]), &m].concat()
    };
    let out = rewrite(
        &icmp(8, 0),
        &[Action::Set(KeyAttr::Icmp(IcmpKey {
            icmp_type: 0,
            icmp_code: 3,
        }))],
    );
    assert_eq!(out, icmp(0, 3));
    // ICMPv6 echo: type changes, checksum (with its pseudo header) follows.
    let s6 = [1u8; 16];
    let d6 = [2u8; 16];
    let e6 = |t: u8| {
        let mut v = Vec::new();
        PacketBuilder::ethernet2(MAC_A, MAC_B)
            .ipv6(s6, d6, 9)
            .icmpv6_raw(t, 0, [0, 1, 0, 2])
            .write(&mut v, b"x")
            .unwrap();
        v
    };
    let out = rewrite(
        &e6(128),
        &[Action::SetMasked {
            value: KeyAttr::Icmpv6(IcmpKey {
                icmp_type: 129,
                icmp_code: 0,
            }),
            mask: KeyAttr::Icmpv6(IcmpKey {
                icmp_type: 0xff,
                icmp_code: 0,
            }),
        }],
    );
    assert_eq!(out, e6(129));
}

fn arp_frame(op: u16, sha: [u8; 6], spa: [u8; 4], tha: [u8; 6], tpa: [u8; 4]) -> Vec<u8> {
    let mut v = eth(&[], 0x0806);
    v.extend_from_slice(&[0, 1, 8, 0, 6, 4]);
    v.extend_from_slice(&op.to_be_bytes());
    v.extend_from_slice(&sha);
    v.extend_from_slice(&spa);
    v.extend_from_slice(&tha);
    v.extend_from_slice(&tpa);
    v
}

#[test]
fn set_arp() {
    let f = arp_frame(1, MAC_A, A4, [0; 6], B4);
    let out = rewrite(
        &f,
        &[Action::Set(KeyAttr::Arp(ArpKey {
            sip: B4,
            tip: A4,
            op: 2,
            sha: MAC_B,
            tha: MAC_A,
        }))],
    );
    assert_eq!(out, arp_frame(2, MAC_B, B4, MAC_A, A4));
    let out = rewrite(
        &f,
        &[Action::SetMasked {
            value: KeyAttr::Arp(ArpKey {
                tip: C4,
                ..Default::default()
            }),
            mask: KeyAttr::Arp(ArpKey {
                tip: [0xff; 4],
                ..Default::default()
            }),
        }],
    );
    assert_eq!(out, arp_frame(1, MAC_A, A4, [0; 6], C4));
}

/// A Neighbor Solicitation with a correct checksum, and options `opts`.
fn ns_frame(target: [u8; 16], opts: &[u8]) -> Vec<u8> {
    let s6 = [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    let d6 = [0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0, 0, 2];
    let mut m = vec![135, 0, 0, 0, 0, 0, 0, 0];
    m.extend_from_slice(&target);
    m.extend_from_slice(opts);
    let c = !csum::add(
        csum::pseudo_ipv6(&s6, &d6, 58, m.len() as u32),
        csum::sum(&m),
    );
    m[2..4].copy_from_slice(&c.to_be_bytes());
    let mut v = Vec::new();
    PacketBuilder::ethernet2(MAC_A, MAC_B)
        .ipv6(s6, d6, 255)
        .write(&mut v, IpNumber::IPV6_ICMP, &m)
        .unwrap();
    v
}

#[test]
fn set_nd() {
    let t1 = [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];
    let t2 = [0x20, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];
    let sll = |m: [u8; 6]| [&[1u8, 1][..], &m].concat();
    let f = ns_frame(t1, &sll(MAC_A));
    let out = rewrite(
        &f,
        &[Action::Set(KeyAttr::Nd(NdKey {
            target: t2,
            sll: MAC_B,
            tll: [0; 6],
        }))],
    );
    assert_eq!(out, ns_frame(t2, &sll(MAC_B)));
    // The key follows: a later hash or set sees the new target.
    let (p, k) = packet(&out);
    drop(p);
    assert_eq!((k.nd_target, k.arp_sha), (t2, MAC_B));
    // Masked sll only, with an unknown option first.
    let unk = [14u8, 1, 0, 0, 0, 0, 0, 0];
    let f = ns_frame(t1, &[&unk[..], &sll(MAC_A)].concat());
    let out = rewrite(
        &f,
        &[Action::SetMasked {
            value: KeyAttr::Nd(NdKey {
                sll: [0, 0, 0, 0, 0, 0x99],
                ..Default::default()
            }),
            mask: KeyAttr::Nd(NdKey {
                sll: [0, 0, 0, 0, 0, 0xff],
                ..Default::default()
            }),
        }],
    );
    let mut mac = MAC_A;
    mac[5] = 0x99;
    assert_eq!(out, ns_frame(t1, &[&unk[..], &sll(mac)].concat()));
}

// ---------------------------------------------------------------------------------------
// VLANs.

#[test]
fn push_and_pop_vlan() {
    let f = tcp4(A4, B4, 1, 2, 64, b"abc");
    let out = rewrite(
        &f,
        &[Action::PushVlan {
            tpid: 0x8100,
            tci: 0x1000 | (3 << 13) | 10,
        }],
    );
    assert_eq!(&out[..12], &f[..12]);
    assert_eq!(
        &out[12..16],
        &[0x81, 0x00, 0x60, 0x0a],
        "CFI is not put on the wire"
    );
    assert_eq!(&out[16..], &f[12..]);

    // Offsets, offloads and the key move with it; push then pop restores everything.
    let (mut p, k) = packet(&f);
    p.offload.csum = Checksum::Partial {
        start: 34,
        offset: 16,
    };
    let mut rec = Rec::default();
    execute(
        p,
        &k,
        &[
            Action::PushVlan {
                tpid: 0x88a8,
                tci: 0x1005,
            },
            Action::Output(OdpPort(1)),
            Action::PushVlan {
                tpid: 0x8100,
                tci: 0x1006,
            },
            Action::Output(OdpPort(2)),
            Action::PopVlan,
            Action::PopVlan,
            Action::Output(OdpPort(3)),
        ],
        &mut rec,
    );
    let (_, one) = &rec.out[0];
    assert_eq!((one.md.l3_ofs, one.md.l4_ofs), (18, 38));
    assert_eq!(
        one.offload.csum,
        Checksum::Partial {
            start: 38,
            offset: 16
        }
    );
    let (_, two) = &rec.out[1];
    assert_eq!(
        &two.data()[12..20],
        &[0x81, 0x00, 0x00, 0x06, 0x88, 0xa8, 0x00, 0x05]
    );
    assert_eq!((two.md.l3_ofs, two.md.l4_ofs), (22, 42));
    let (_, three) = &rec.out[2];
    assert_eq!(three.data(), &f[..]);
    assert_eq!((three.md.l3_ofs, three.md.l4_ofs), (14, 34));
    assert_eq!(
        three.offload.csum,
        Checksum::Partial {
            start: 34,
            offset: 16
        }
    );

    // Pop on an untagged frame does nothing.
    assert_eq!(rewrite(&f, &[Action::PopVlan]), f);
}

/// The key that `execute` keeps must match the packet after VLAN changes: checked through a
/// set that needs the right offsets and a hash of the key, against a fresh extraction.
#[test]
fn key_follows_vlan_changes() {
    // Push onto a double-tagged frame, then pop three times: the key must be re-derived
    // when a tag moves between the key and the payload.
    let u = udp(1, 2, 8);
    let f = [
        &eth(&[(0x88a8, 1), (0x8100, 2)], 0x0800)[..],
        &ipv4(17, 8, 0, &[]),
        &u,
    ]
    .concat();
    for n_pops in 0..4 {
        let mut acts = vec![Action::PushVlan {
            tpid: 0x8100,
            tci: 0x1003,
        }];
        acts.extend(std::iter::repeat_n(Action::PopVlan, n_pops));
        // A set of the UDP ports must find the header at the right place after all that.
        acts.push(Action::Set(KeyAttr::Udp(L4Key { src: 7, dst: 8 })));
        acts.push(Action::Hash {
            alg: HashAlg::L4,
            basis: 0,
        });
        acts.push(Action::Output(OdpPort(1)));
        let (p, k) = packet(&f);
        let mut rec = Rec::default();
        execute(p, &k, &acts, &mut rec);
        let mut out = rec.out.pop().unwrap().1;
        let dp_hash = out.md.dp_hash;
        let mut fresh = FlowKey::zero();
        extract(&mut out, &mut fresh);
        // Three tags before any pop: the third is payload, so no UDP to set.
        if n_pops == 0 {
            assert_eq!((fresh.tp_src, fresh.eth_type), (0, 0x8100));
        } else {
            assert_eq!((fresh.tp_src, fresh.tp_dst), (7, 8), "after {n_pops} pops");
        }
        fresh.dp_hash = 0;
        assert_eq!(dp_hash, hash_5tuple(&fresh, 0), "after {n_pops} pops");
    }
}

// ---------------------------------------------------------------------------------------
// Partial checksums.

/// Writes the final checksum of a partial packet as a device would.
fn finish_partial(d: &mut [u8], start: usize, offset: usize) {
    let s = csum::sum(&d[start..]);
    let c = !s;
    d[start + offset..start + offset + 2].copy_from_slice(&c.to_be_bytes());
}

/// Whether the TCP/UDP checksum of a frame verifies, by etherparse's computation.
fn transport_checksum_ok(frame: &[u8]) -> bool {
    let sp = SlicedPacket::from_ethernet(frame).unwrap();
    let payload_of = |t: &TransportSlice| match t {
        TransportSlice::Tcp(t) => t.payload().to_vec(),
        TransportSlice::Udp(u) => u.payload().to_vec(),
        _ => unreachable!(),
    };
    let t = sp.transport.as_ref().unwrap();
    let payload = payload_of(t);
    match (&sp.net, t) {
        (Some(NetSlice::Ipv4(ip)), TransportSlice::Tcp(tcp)) => {
            let want = tcp
                .to_header()
                .calc_checksum_ipv4(&ip.header().to_header(), &payload)
                .unwrap();
            want == tcp.checksum()
        }
        (Some(NetSlice::Ipv4(ip)), TransportSlice::Udp(u)) => {
            let want = u
                .to_header()
                .calc_checksum_ipv4(&ip.header().to_header(), &payload)
                .unwrap();
            u.checksum() == 0 || want == u.checksum()
        }
        (Some(NetSlice::Ipv6(ip)), TransportSlice::Tcp(tcp)) => {
            let want = tcp
                .to_header()
                .calc_checksum_ipv6(&ip.header().to_header(), &payload)
                .unwrap();
            want == tcp.checksum()
        }
        (Some(NetSlice::Ipv6(ip)), TransportSlice::Udp(u)) => {
            let want = u
                .to_header()
                .calc_checksum_ipv6(&ip.header().to_header(), &payload)
                .unwrap();
            u.checksum() == 0 || want == u.checksum()
        }
        _ => unreachable!(),
    }
}

/// Whether the IPv4 header checksum of a frame (if IPv4) verifies, by etherparse.
fn ip_checksum_ok(frame: &[u8]) -> bool {
    let sp = SlicedPacket::from_ethernet(frame).unwrap();
    match &sp.net {
        Some(NetSlice::Ipv4(ip)) => {
            let h = ip.header().to_header();
            h.header_checksum == h.calc_header_checksum()
        }
        _ => true,
    }
}

#[test]
fn partial_checksum_follows_address_changes_only() {
    let f = tcp4(A4, B4, 1000, 80, 64, b"payload!");
    // Make the TCP checksum partial: the field holds the pseudo-header sum.
    let mut partial = f.clone();
    let pseudo = csum::pseudo_ipv4(A4, B4, 6, 28);
    partial[50..52].copy_from_slice(&pseudo.to_be_bytes());
    let (mut p, k) = packet(&partial);
    p.offload.csum = Checksum::Partial {
        start: 34,
        offset: 16,
    };
    let mut rec = Rec::default();
    execute(
        p,
        &k,
        &[
            Action::Set(full_ipv4(C4, B4, 0, 64)),
            Action::Set(KeyAttr::Tcp(L4Key { src: 1, dst: 2 })),
            Action::Output(OdpPort(1)),
        ],
        &mut rec,
    );
    let out = &mut rec.out[0].1;
    assert_eq!(
        out.offload.csum,
        Checksum::Partial {
            start: 34,
            offset: 16
        },
        "still partial: never finished here"
    );
    let d = out.data_mut();
    // The field is the new pseudo-header sum, untouched by the port change.
    assert_eq!(
        u16::from_be_bytes([d[50], d[51]]),
        csum::pseudo_ipv4(C4, B4, 6, 28)
    );
    finish_partial(d, 34, 16);
    assert_eq!(d, &tcp4(C4, B4, 1, 2, 64, b"payload!")[..]);
}

// ---------------------------------------------------------------------------------------
// Properties.

#[derive(Debug, Clone)]
struct Flow {
    v6: bool,
    udp: bool,
    udp_zero: bool,
    src: [u8; 16],
    dst: [u8; 16],
    sp: u16,
    dp: u16,
    tos: u8,
    ttl: u8,
    label: u32,
    payload: Vec<u8>,
}

fn flow_strategy() -> impl Strategy<Value = Flow> {
    (
        (any::<bool>(), any::<bool>(), prop::bool::weighted(0.2)),
        any::<[u8; 16]>(),
        any::<[u8; 16]>(),
        (
            any::<u16>(),
            any::<u16>(),
            any::<u8>(),
            any::<u8>(),
            0u32..(1 << 20),
        ),
        prop::collection::vec(any::<u8>(), 0..40),
    )
        .prop_map(
            |((v6, udp, udp_zero), src, dst, (sp, dp, tos, ttl, label), payload)| Flow {
                v6,
                udp,
                udp_zero,
                src,
                dst,
                sp,
                dp,
                tos,
                ttl,
                label,
                payload,
            },
        )
}

fn build_flow(f: &Flow) -> Vec<u8> {
    let ip = if f.v6 {
        IpHeaders::Ipv6(
            v6hdr(f.src, f.dst, f.tos, f.label, f.ttl),
            Default::default(),
        )
    } else {
        let s: [u8; 4] = f.src[..4].try_into().unwrap();
        let d: [u8; 4] = f.dst[..4].try_into().unwrap();
        let mut h = Ipv4Header::new(0, f.ttl, IpNumber::TCP, s, d).unwrap();
        h.dscp = etherparse::IpDscp::try_new(f.tos >> 2).unwrap();
        h.ecn = etherparse::IpEcn::try_new(f.tos & 3).unwrap();
        IpHeaders::Ipv4(h, Default::default())
    };
    let b = PacketBuilder::ethernet2(MAC_A, MAC_B).ip(ip);
    let mut v = Vec::new();
    if f.udp {
        b.udp(f.sp, f.dp).write(&mut v, &f.payload).unwrap();
        if f.udp_zero {
            let at = if f.v6 { 60 } else { 40 };
            v[at..at + 2].copy_from_slice(&[0, 0]);
        }
    } else {
        b.tcp(f.sp, f.dp, 1, 100).write(&mut v, &f.payload).unwrap();
    }
    v
}

/// A random set_masked action for a flow's headers: (value, mask).
fn set_strategy() -> impl Strategy<Value = (KeyAttr, KeyAttr)> {
    prop_oneof![
        (
            any::<([u8; 4], [u8; 4], u8, u8)>(),
            any::<([u8; 4], [u8; 4], u8, u8)>()
        )
            .prop_map(|((s, d, tos, ttl), (ms, md, mtos, mttl))| (
                full_ipv4(s, d, tos, ttl),
                full_ipv4(ms, md, mtos, mttl)
            )),
        (
            any::<([u8; 16], [u8; 16], u32, u8, u8)>(),
            any::<([u8; 16], [u8; 16], u32, u8, u8)>()
        )
            .prop_map(|((s, d, l, tc, hl), (ms, md, ml, mtc, mhl))| (
                KeyAttr::Ipv6(Ipv6Key {
                    src: s,
                    dst: d,
                    label: l,
                    tclass: tc,
                    hlimit: hl,
                    ..Default::default()
                }),
                KeyAttr::Ipv6(Ipv6Key {
                    src: ms,
                    dst: md,
                    label: ml,
                    tclass: mtc,
                    hlimit: mhl,
                    ..Default::default()
                })
            )),
        (any::<(u16, u16)>(), any::<(u16, u16)>()).prop_map(|((s, d), (ms, md))| (
            KeyAttr::Tcp(L4Key { src: s, dst: d }),
            KeyAttr::Tcp(L4Key { src: ms, dst: md })
        )),
        (any::<(u16, u16)>(), any::<(u16, u16)>()).prop_map(|((s, d), (ms, md))| (
            KeyAttr::Udp(L4Key { src: s, dst: d }),
            KeyAttr::Udp(L4Key { src: ms, dst: md })
        )),
    ]
}

fn masked<const N: usize>(old: [u8; N], v: [u8; N], m: [u8; N]) -> [u8; N] {
    std::array::from_fn(|i| (v[i] & m[i]) | (old[i] & !m[i]))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn checksums_verify_after_random_rewrites(
        f in flow_strategy(),
        sets in prop::collection::vec(set_strategy(), 1..4),
        partial in any::<bool>(),
    ) {
        let frame = build_flow(&f);
        let (mut p, k) = packet(&frame);
        let l4 = usize::from(p.md.l4_ofs);
        let field = l4 + if f.udp { 6 } else { 16 };
        let partial = partial && !(f.udp && f.udp_zero);
        if partial {
            // Put the pseudo-header sum in the field, as a sender with offloads would.
            let len = frame.len() - l4;
            let proto = if f.udp { 17 } else { 6 };
            let s = if f.v6 {
                csum::pseudo_ipv6(&f.src, &f.dst, proto, len as u32)
            } else {
                let s: [u8; 4] = f.src[..4].try_into().unwrap();
                let d: [u8; 4] = f.dst[..4].try_into().unwrap();
                csum::pseudo_ipv4(s, d, proto, len as u16)
            };
            p.data_mut()[field..field + 2].copy_from_slice(&s.to_be_bytes());
            p.offload.csum = Checksum::Partial { start: l4 as u16, offset: (field - l4) as u16 };
        }
        let mut acts: Vec<Action> = sets
            .iter()
            .map(|(value, mask)| Action::SetMasked { value: value.clone(), mask: mask.clone() })
            .collect();
        acts.push(Action::Output(OdpPort(1)));
        let mut rec = Rec::default();
        execute(p, &k, &acts, &mut rec);
        let mut out = rec.out.pop().unwrap().1;
        if partial {
            finish_partial(out.data_mut(), l4, field - l4);
        }
        let d = out.data();
        prop_assert!(ip_checksum_ok(d));
        prop_assert!(transport_checksum_ok(d));
        if f.udp && f.udp_zero {
            prop_assert_eq!(&d[field..field + 2], &[0u8, 0][..]);
        }
        // The fields are the masked values, applied in order.
        let mut want = frame.clone();
        for (value, mask) in &sets {
            match (value, mask) {
                (KeyAttr::Ipv4(v), KeyAttr::Ipv4(m)) if !f.v6 => {
                    let s: [u8; 4] = want[26..30].try_into().unwrap();
                    want[26..30].copy_from_slice(&masked(s, v.src, m.src));
                    let t: [u8; 4] = want[30..34].try_into().unwrap();
                    want[30..34].copy_from_slice(&masked(t, v.dst, m.dst));
                    want[15] = masked([want[15]], [v.tos], [m.tos])[0];
                    want[22] = masked([want[22]], [v.ttl], [m.ttl])[0];
                }
                (KeyAttr::Ipv6(v), KeyAttr::Ipv6(m)) if f.v6 => {
                    let s: [u8; 16] = want[22..38].try_into().unwrap();
                    want[22..38].copy_from_slice(&masked(s, v.src, m.src));
                    let t: [u8; 16] = want[38..54].try_into().unwrap();
                    want[38..54].copy_from_slice(&masked(t, v.dst, m.dst));
                    let w = u32::from_be_bytes(want[14..18].try_into().unwrap());
                    let tc = masked([(w >> 20) as u8], [v.tclass], [m.tclass])[0];
                    let lbl = ((v.label & m.label) | (w & !m.label)) & 0xfffff;
                    let w = 0x6000_0000 | (u32::from(tc) << 20) | lbl;
                    want[14..18].copy_from_slice(&w.to_be_bytes());
                    want[21] = masked([want[21]], [v.hlimit], [m.hlimit])[0];
                }
                (KeyAttr::Tcp(v), KeyAttr::Tcp(m)) | (KeyAttr::Udp(v), KeyAttr::Udp(m))
                    if matches!(value, KeyAttr::Udp(_)) == f.udp =>
                {
                    let sp = u16::from_be_bytes(want[l4..l4 + 2].try_into().unwrap());
                    let dp = u16::from_be_bytes(want[l4 + 2..l4 + 4].try_into().unwrap());
                    let sp = (v.src & m.src) | (sp & !m.src);
                    let dp = (v.dst & m.dst) | (dp & !m.dst);
                    want[l4..l4 + 2].copy_from_slice(&sp.to_be_bytes());
                    want[l4 + 2..l4 + 4].copy_from_slice(&dp.to_be_bytes());
                }
                _ => {}
            }
        }
        // Compare everything but the checksums, which were verified above.
        let mut got = d.to_vec();
        for v in [&mut got, &mut want] {
            v[field..field + 2].fill(0);
            if !f.v6 {
                v[24..26].fill(0);
            }
        }
        prop_assert_eq!(got, want);
    }

    #[test]
    fn push_then_pop_vlan_is_identity(
        f in flow_strategy(),
        tags in prop::collection::vec((prop::sample::select(vec![0x8100u16, 0x88a8]), any::<u16>()), 0..3),
        tpid in prop::sample::select(vec![0x8100u16, 0x88a8]),
        tci in any::<u16>(),
    ) {
        let mut frame = build_flow(&f);
        for (t, c) in tags.iter().rev() {
            let mut tag = t.to_be_bytes().to_vec();
            tag.extend_from_slice(&c.to_be_bytes());
            frame.splice(12..12, tag);
        }
        let (p, k) = packet(&frame);
        let md = p.md;
        let mut rec = Rec::default();
        execute(p, &k, &[
            Action::PushVlan { tpid, tci: tci | vlan::CFI },
            Action::PopVlan,
            Action::Output(OdpPort(1)),
        ], &mut rec);
        let out = &rec.out[0].1;
        prop_assert_eq!(out.data(), &frame[..]);
        prop_assert_eq!((out.md.l3_ofs, out.md.l4_ofs), (md.l3_ofs, md.l4_ofs));
    }
}

// Arbitrary actions on arbitrary packets.

fn key_attr() -> impl Strategy<Value = KeyAttr> {
    prop_oneof![
        any::<u32>().prop_map(KeyAttr::Priority),
        any::<u32>().prop_map(KeyAttr::SkbMark),
        any::<u32>().prop_map(KeyAttr::DpHash),
        any::<u32>().prop_map(KeyAttr::RecircId),
        any::<u16>().prop_map(KeyAttr::Vlan),
        any::<([u8; 6], [u8; 6])>().prop_map(|(src, dst)| KeyAttr::Ethernet(EthKey { src, dst })),
        any::<([u8; 4], [u8; 4], u8, u8, u8, u8)>().prop_map(
            |(src, dst, proto, tos, ttl, frag)| {
                KeyAttr::Ipv4(Ipv4Key {
                    src,
                    dst,
                    proto,
                    tos,
                    ttl,
                    frag,
                })
            }
        ),
        any::<([u8; 16], [u8; 16], u32, u8, u8)>().prop_map(|(src, dst, label, tclass, hlimit)| {
            KeyAttr::Ipv6(Ipv6Key {
                src,
                dst,
                label,
                tclass,
                hlimit,
                ..Default::default()
            })
        }),
        any::<(u16, u16)>().prop_map(|(src, dst)| KeyAttr::Tcp(L4Key { src, dst })),
        any::<(u16, u16)>().prop_map(|(src, dst)| KeyAttr::Udp(L4Key { src, dst })),
        any::<(u16, u16)>().prop_map(|(src, dst)| KeyAttr::Sctp(L4Key { src, dst })),
        any::<(u8, u8)>().prop_map(|(t, c)| KeyAttr::Icmp(IcmpKey {
            icmp_type: t,
            icmp_code: c
        })),
        any::<(u8, u8)>().prop_map(|(t, c)| KeyAttr::Icmpv6(IcmpKey {
            icmp_type: t,
            icmp_code: c
        })),
        any::<([u8; 4], [u8; 4], u16, [u8; 6], [u8; 6])>().prop_map(|(sip, tip, op, sha, tha)| {
            KeyAttr::Arp(ArpKey {
                sip,
                tip,
                op,
                sha,
                tha,
            })
        }),
        any::<([u8; 16], [u8; 6], [u8; 6])>().prop_map(|(target, sll, tll)| KeyAttr::Nd(NdKey {
            target,
            sll,
            tll
        })),
    ]
}

fn action_strategy() -> impl Strategy<Value = Action> {
    let leaf = prop_oneof![
        (0u32..4).prop_map(|p| Action::Output(OdpPort(p))),
        Just(Action::Userspace(Userspace::default())),
        key_attr().prop_map(Action::Set),
        (key_attr(), key_attr()).prop_map(|(value, mask)| Action::SetMasked { value, mask }),
        // Same-kind value and mask pairs, so that masked sets really run.
        set_strategy().prop_map(|(value, mask)| Action::SetMasked { value, mask }),
        (
            prop::sample::select(vec![0x8100u16, 0x88a8, 0x0800]),
            any::<u16>()
        )
            .prop_map(|(tpid, tci)| Action::PushVlan { tpid, tci }),
        Just(Action::PopVlan),
        Just(Action::PopVlan),
        any::<u32>().prop_map(Action::Recirc),
        (0u32..3, any::<u32>()).prop_map(|(a, basis)| Action::Hash {
            alg: match a {
                0 => HashAlg::L4,
                1 => HashAlg::SymL4,
                n => HashAlg::Other(n),
            },
            basis
        }),
        (0u32..200).prop_map(Action::Trunc),
        Just(Action::CtClear),
        any::<u32>().prop_map(Action::Meter),
        any::<u32>().prop_map(Action::Drop),
        any::<(u32, u16)>().prop_map(|(lse, ethertype)| Action::PushMpls { lse, ethertype }),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Action::Clone),
            (any::<u32>(), prop::collection::vec(inner, 0..6)).prop_map(
                |(probability, actions)| Action::Sample {
                    probability,
                    actions
                }
            ),
        ]
    })
}

fn any_packet() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..120),
        (flow_strategy(), any::<prop::sample::Index>()).prop_map(|(f, cut)| {
            let b = build_flow(&f);
            let n = cut.index(b.len() + 1);
            b[..n.max(b.len() / 2)].to_vec()
        }),
        flow_strategy().prop_map(|f| build_flow(&f)),
        Just(sctp_frame(1, 2)),
        Just(ns_frame([1; 16], &[1, 1, 1, 2, 3, 4, 5, 6])),
        Just(arp_frame(1, MAC_A, A4, MAC_B, B4)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn never_panics(
        bytes in any_packet(),
        actions in prop::collection::vec(action_strategy(), 0..8),
        random_key in any::<bool>(),
        key_bytes in any::<[u64; 16]>(),
        partial in any::<Option<(u16, u16)>>(),
        meter_drops in any::<bool>(),
    ) {
        let (mut p, mut k) = packet(&bytes);
        if random_key {
            // A key that does not describe the packet at all.
            *k.words_mut() = key_bytes;
        }
        if let Some((start, offset)) = partial {
            p.offload.csum = Checksum::Partial { start, offset };
        }
        let mut rec = Rec { meter_drops, ..Default::default() };
        execute(p, &k, &actions, &mut rec);
        for (_, out) in &rec.out {
            prop_assert!(out.len() <= bytes.len() + 4 * 256);
        }
    }
}
