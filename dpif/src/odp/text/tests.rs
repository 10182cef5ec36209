//! Text vectors: the `dpctl/dump-flows` lines OVS 3.1 printed for the reference run in
//! `shared/reference/prototypes/appctl-outputs.txt`, and lines from OVS's `tests/odp.at`
//! ("OVS datapath key parsing and formatting", "... wildcarded key parsing and formatting",
//! "OVS datapath actions parsing and formatting").

use super::*;
use crate::odp::Ufid;
use crate::odp::action::Userspace;
use crate::provider::FlowStats;

const TERSE: &[&str] = &[
    "recirc_id(0),in_port(3),packet_type(ns=0,id=0),eth(src=02:00:00:00:02:02,dst=02:00:00:00:01:01),eth_type(0x0806),arp(sip=10.99.0.2,tip=10.99.0.1,op=2), packets:0, bytes:0, used:never, actions:2",
    "recirc_id(0),in_port(2),packet_type(ns=0,id=0),eth(src=02:00:00:00:01:01,dst=02:00:00:00:02:02),eth_type(0x0800),ipv4(src=10.99.0.1/192.0.0.0,dst=10.99.0.2/192.0.0.0,frag=no), packets:6, bytes:588, used:0.017s, actions:3",
    "recirc_id(0),in_port(3),packet_type(ns=0,id=0),eth(src=02:00:00:00:02:02,dst=02:00:00:00:01:01),eth_type(0x0800),ipv4(src=10.99.0.2/192.0.0.0,dst=10.99.0.1/192.0.0.0,frag=no), packets:6, bytes:588, used:0.017s, actions:2",
    "recirc_id(0),in_port(3),packet_type(ns=0,id=0),eth(src=02:00:00:00:02:02,dst=33:33:00:00:00:02),eth_type(0x86dd),ipv6(frag=no), packets:0, bytes:0, used:never, actions:userspace(pid=0,controller(reason=6,dont_send=0,continuation=0,recirc_id=3,rule_cookie=0,controller_id=0,max_len=65535))",
    "recirc_id(0),in_port(2),packet_type(ns=0,id=0),eth(src=02:00:00:00:01:01,dst=ff:ff:ff:ff:ff:ff),eth_type(0x0806),arp(sip=10.99.0.1,tip=10.99.0.2,op=1), packets:0, bytes:0, used:never, actions:userspace(pid=0,controller(reason=6,dont_send=0,continuation=0,recirc_id=1,rule_cookie=0,controller_id=0,max_len=65535))",
];

const VERBOSE: &[&str] = &[
    "ufid:c5a795cf-885f-4cb4-a858-6153781dd262, skb_priority(0/0),skb_mark(0/0),ct_state(0/0),ct_zone(0/0),ct_mark(0/0),ct_label(0/0),recirc_id(0),dp_hash(0/0),in_port(iov2),packet_type(ns=0,id=0),eth(src=02:00:00:00:02:02,dst=02:00:00:00:01:01),eth_type(0x0806),arp(sip=10.99.0.2,tip=10.99.0.1,op=2,sha=02:00:00:00:02:02/00:00:00:00:00:00,tha=02:00:00:00:01:01/00:00:00:00:00:00), packets:0, bytes:0, used:never, dp:ovs, actions:iov1, dp-extra-info:miniflow_bits(5,2)",
    "ufid:65cf8d9f-8f4f-4679-8bc2-f065ea23ad08, skb_priority(0/0),skb_mark(0/0),ct_state(0/0),ct_zone(0/0),ct_mark(0/0),ct_label(0/0),recirc_id(0),dp_hash(0/0),in_port(iov1),packet_type(ns=0,id=0),eth(src=02:00:00:00:01:01,dst=02:00:00:00:02:02),eth_type(0x0800),ipv4(src=10.99.0.1/192.0.0.0,dst=10.99.0.2/192.0.0.0,proto=1/0,tos=0/0,ttl=64/0,frag=no),icmp(type=8/0,code=0/0), packets:6, bytes:588, used:0.024s, dp:ovs, actions:iov2, dp-extra-info:miniflow_bits(5,2)",
    "ufid:2721bdbe-2438-4fe4-90d4-921f170e471a, skb_priority(0/0),skb_mark(0/0),ct_state(0/0),ct_zone(0/0),ct_mark(0/0),ct_label(0/0),recirc_id(0),dp_hash(0/0),in_port(iov2),packet_type(ns=0,id=0),eth(src=02:00:00:00:02:02,dst=33:33:00:00:00:02),eth_type(0x86dd),ipv6(src=fe80::ff:fe00:202/::,dst=ff02::2/::,label=0/0,proto=58/0,tclass=0/0,hlimit=255/0,frag=no),icmpv6(type=133/0,code=0/0), packets:0, bytes:0, used:never, dp:ovs, actions:userspace(pid=0,controller(reason=6,dont_send=0,continuation=0,recirc_id=3,rule_cookie=0,controller_id=0,max_len=65535)), dp-extra-info:miniflow_bits(5,1)",
    "ufid:67431933-5626-4218-9a38-0f7120571b8c, skb_priority(0/0),skb_mark(0/0),ct_state(0/0),ct_zone(0/0),ct_mark(0/0),ct_label(0/0),recirc_id(0),dp_hash(0/0),in_port(iov1),packet_type(ns=0,id=0),eth(src=02:00:00:00:01:01,dst=ff:ff:ff:ff:ff:ff),eth_type(0x0806),arp(sip=10.99.0.1,tip=10.99.0.2,op=1,sha=02:00:00:00:01:01/00:00:00:00:00:00,tha=00:00:00:00:00:00/00:00:00:00:00:00), packets:0, bytes:0, used:never, dp:ovs, actions:userspace(pid=0,controller(reason=6,dont_send=0,continuation=0,recirc_id=1,rule_cookie=0,controller_id=0,max_len=65535)), dp-extra-info:miniflow_bits(5,2)",
];

/// The ports of the reference run: `iov1` is datapath port 2, `iov2` port 3.
fn port_name(p: OdpPort) -> Option<String> {
    match p.0 {
        2 => Some("iov1".to_owned()),
        3 => Some("iov2".to_owned()),
        _ => None,
    }
}

fn port_no(name: &str) -> Option<OdpPort> {
    match name {
        "iov1" => Some(OdpPort(2)),
        "iov2" => Some(OdpPort(3)),
        _ => None,
    }
}

/// A stand-in for the ofproto layer's cookie decoder: userdata `[reason, recirc_id]`.
fn controller_cookie(data: &[u8]) -> Option<String> {
    match data {
        [reason, recirc] => Some(format!(
            "controller(reason={reason},dont_send=0,continuation=0,recirc_id={recirc},\
             rule_cookie=0,controller_id=0,max_len=65535)"
        )),
        _ => None,
    }
}

/// Splits a dump line into its key text, packets, bytes, used (ms ago, `None` for never)
/// and actions text.
fn split_line(line: &str) -> (String, u64, u64, Option<u64>, String) {
    let (key, rest) = line.split_once(", packets:").unwrap();
    let (packets, rest) = rest.split_once(", bytes:").unwrap();
    let (bytes, rest) = rest.split_once(", used:").unwrap();
    let (used, rest) = rest.split_once(", ").unwrap();
    let actions = rest.split_once("actions:").unwrap().1;
    let actions = actions.split(", dp-extra-info").next().unwrap();
    let used = used
        .strip_suffix('s')
        .map(|s| s.replace('.', "").parse::<u64>().unwrap());
    let key = key.split(", ").last().unwrap().to_owned();
    (
        key,
        packets.parse().unwrap(),
        bytes.parse().unwrap(),
        used,
        actions.to_owned(),
    )
}

/// Builds a flow from a dump line, as the datapath would hold it, with the controller
/// action's userdata as `[reason, recirc_id]`.
fn flow_from_line(line: &str, now: u64) -> DpifFlow {
    let popts = ParseOptions {
        port_names: Some(&port_no),
    };
    let (key_text, packets, bytes, used, actions_text) = split_line(line);
    let (key, mask, fitness) = parse_flow(&key_text, &popts).unwrap();
    assert_eq!(fitness, Fitness::Perfect, "{key_text}");
    let actions = if let Some(c) = actions_text.strip_prefix("userspace(pid=0,controller(") {
        let recirc: u8 = c.split("recirc_id=").nth(1).unwrap()[..1].parse().unwrap();
        vec![Action::Userspace(Userspace {
            pid: 0,
            userdata: Some(vec![6, recirc]),
            ..Default::default()
        })]
    } else {
        parse_actions(&actions_text, &popts).unwrap()
    };
    let ufid = line
        .strip_prefix("ufid:")
        .map(|u| u[..36].parse::<Ufid>().unwrap())
        .unwrap_or_else(|| Ufid::from_key(&key));
    DpifFlow {
        ufid,
        key: Some(key),
        mask: Some(mask),
        actions: Some(actions),
        stats: FlowStats {
            n_packets: packets,
            n_bytes: bytes,
            used_ms: used.map_or(0, |ago| now - ago),
            tcp_flags: 0,
        },
        pmd_id: None,
    }
}

#[test]
fn appctl_terse_lines_byte_for_byte() {
    let now = 1_000_000;
    for line in TERSE {
        let flow = flow_from_line(line, now);
        let opts = FormatOptions {
            userdata: Some(&controller_cookie),
            ..FormatOptions::terse()
        };
        assert_eq!(format_dpif_flow(&flow, now, &opts), *line);
    }
}

#[test]
fn appctl_verbose_lines_byte_for_byte() {
    let now = 5_000_000;
    for line in VERBOSE {
        let flow = flow_from_line(line, now);
        let opts = FormatOptions {
            userdata: Some(&controller_cookie),
            ..FormatOptions::verbose().with_port_names(&port_name)
        };
        let expected = line.split(", dp-extra-info").next().unwrap();
        assert_eq!(format_dpif_flow(&flow, now, &opts), expected);
    }
}

#[test]
fn verbose_and_terse_lines_agree() {
    // The terse form of a flow parsed from its verbose line is what OVS printed tersely.
    let popts = ParseOptions {
        port_names: Some(&port_no),
    };
    let (key_text, ..) = split_line(VERBOSE[1]);
    let (key, mask, _) = parse_flow(&key_text, &popts).unwrap();
    let terse = format_flow(&key, Some(&mask), &FormatOptions::terse());
    assert_eq!(
        terse,
        "recirc_id(0),in_port(2),packet_type(ns=0,id=0),eth(src=02:00:00:00:01:01,dst=02:00:00:00:02:02),eth_type(0x0800),ipv4(src=10.99.0.1/192.0.0.0,dst=10.99.0.2/192.0.0.0,frag=no)"
    );
}

#[test]
fn dump_line_used_and_flags() {
    let mut flow = flow_from_line(TERSE[1], 1000);
    flow.stats.used_ms = 1000;
    flow.stats.tcp_flags = 0x012;
    let line = format_dpif_flow(&flow, 3500, &FormatOptions::terse());
    assert!(
        line.ends_with(", packets:6, bytes:588, used:2.500s, flags:S., actions:3"),
        "{line}"
    );
    flow.actions = Some(vec![]);
    let line = format_dpif_flow(&flow, 3500, &FormatOptions::terse());
    assert!(line.ends_with(", actions:drop"), "{line}");
}

/// The odp.at base keys (without the tunnel, VLAN and MPLS variants).
const ODP_BASE: &[&str] = &[
    "in_port(1),eth(src=00:01:02:03:04:05,dst=10:11:12:13:14:15)",
    "in_port(1),eth(src=00:01:02:03:04:05,dst=10:11:12:13:14:15),eth_type(0x1234)",
    "in_port(1),eth(src=00:01:02:03:04:05,dst=10:11:12:13:14:15),eth_type(0x0800),ipv4(src=35.8.2.41,dst=172.16.0.20,proto=5,tos=0x80,ttl=128,frag=no)",
    "in_port(1),eth(src=00:01:02:03:04:05,dst=10:11:12:13:14:15),eth_type(0x0800),ipv4(src=35.8.2.41,dst=172.16.0.20,proto=5,tos=0x81,ttl=128,frag=no)",
    "in_port(1),eth(src=00:01:02:03:04:05,dst=10:11:12:13:14:15),eth_type(0x0800),ipv4(src=35.8.2.41,dst=172.16.0.20,proto=5,tos=0x80,ttl=128,frag=first)",
    "in_port(1),eth(src=00:01:02:03:04:05,dst=10:11:12:13:14:15),eth_type(0x0800),ipv4(src=35.8.2.41,dst=172.16.0.20,proto=5,tos=0x80,ttl=128,frag=later)",
    "in_port(1),eth(src=00:01:02:03:04:05,dst=10:11:12:13:14:15),eth_type(0x0800),ipv4(src=35.8.2.41,dst=172.16.0.20,proto=6,tos=0,ttl=128,frag=no),tcp(src=80,dst=8080)",
    "in_port(1),eth(src=00:01:02:03:04:05,dst=10:11:12:13:14:15),eth_type(0x0800),ipv4(src=35.8.2.41,dst=172.16.0.20,proto=17,tos=0,ttl=128,frag=no),udp(src=81,dst=6632)",
    "in_port(1),eth(src=00:01:02:03:04:05,dst=10:11:12:13:14:15),eth_type(0x0800),ipv4(src=35.8.2.41,dst=172.16.0.20,proto=1,tos=0,ttl=128,frag=no),icmp(type=1,code=2)",
    "in_port(1),eth(src=00:01:02:03:04:05,dst=10:11:12:13:14:15),eth_type(0x86dd),ipv6(src=::1,dst=::2,label=0,proto=10,tclass=0x70,hlimit=128,frag=no)",
    "in_port(1),eth(src=00:01:02:03:04:05,dst=10:11:12:13:14:15),eth_type(0x86dd),ipv6(src=::1,dst=::2,label=0,proto=10,tclass=0x70,hlimit=128,frag=later)",
    "in_port(1),eth(src=00:01:02:03:04:05,dst=10:11:12:13:14:15),eth_type(0x86dd),ipv6(src=::1,dst=::2,label=0,proto=6,tclass=0,hlimit=128,frag=no),tcp(src=80,dst=8080)",
    "in_port(1),eth(src=00:01:02:03:04:05,dst=10:11:12:13:14:15),eth_type(0x86dd),ipv6(src=::1,dst=::2,label=0,proto=17,tclass=0,hlimit=128,frag=no),udp(src=6630,dst=22)",
    "in_port(1),eth(src=00:01:02:03:04:05,dst=10:11:12:13:14:15),eth_type(0x86dd),ipv6(src=::1,dst=::2,label=0,proto=58,tclass=0,hlimit=128,frag=no),icmpv6(type=1,code=2)",
    "in_port(1),eth(src=00:01:02:03:04:05,dst=10:11:12:13:14:15),eth_type(0x86dd),ipv6(src=::1,dst=::2,label=0,proto=58,tclass=0,hlimit=128,frag=no),icmpv6(type=136,code=0),nd(target=::3,sll=00:05:06:07:08:09,tll=00:0a:0b:0c:0d:0e)",
    "in_port(1),eth(src=00:01:02:03:04:05,dst=10:11:12:13:14:15),eth_type(0x0806),arp(sip=1.2.3.4,tip=5.6.7.8,op=1,sha=00:0f:10:11:12:13,tha=00:14:15:16:17:18)",
];

#[test]
fn odp_at_keys_parse_and_format() {
    // test-odp parse-keys: text -> attributes -> flow -> attributes -> text; the output
    // gains ct_state(0),ct_zone(0),ct_mark(0),ct_label(0) and packet_type(ns=0,id=0).
    let prefix = "skb_priority(0),skb_mark(0),recirc_id(0),dp_hash(0),";
    for base in ODP_BASE {
        let input = format!("{prefix}{base}");
        let attrs: KeyAttrs = input.parse().unwrap();
        assert_eq!(attrs.to_string(), input, "attribute-level round trip");
        let (key, fitness) = attrs_to_key(&attrs.0).unwrap();
        assert_eq!(fitness, Fitness::Perfect, "{input}");
        let expected = input
            .replace(
                "skb_mark(0),recirc",
                "skb_mark(0),ct_state(0),ct_zone(0),ct_mark(0),ct_label(0),recirc",
            )
            .replace("in_port(1),eth", "in_port(1),packet_type(ns=0,id=0),eth");
        assert_eq!(KeyAttrs(key_to_attrs(&key, None)).to_string(), expected);
    }
}

#[test]
fn odp_at_vlan_keys() {
    // "Valid forms with VLAN header": the base keys wrapped in 802.1Q.
    let prefix = "skb_priority(0),skb_mark(0),recirc_id(0),dp_hash(0),";
    for base in ODP_BASE {
        let close =
            base.find("eth(").unwrap() + base[base.find("eth(").unwrap()..].find(')').unwrap();
        let (l2, rest) = base.split_at(close + 1);
        let rest = rest.trim_start_matches(',');
        let input = format!("{prefix}{l2},eth_type(0x8100),vlan(vid=99,pcp=7),encap({rest})");
        let attrs: KeyAttrs = input.parse().unwrap();
        assert_eq!(attrs.to_string(), input);
        let (key, fitness) = attrs_to_key(&attrs.0).unwrap();
        if rest.is_empty() {
            // No ethertype inside the tag: an 802.3 frame, which has no attributes inside.
            assert_eq!(fitness, Fitness::Perfect, "{input}");
            continue;
        }
        assert_eq!(fitness, Fitness::Perfect, "{input}");
        assert_eq!(key.vlans[0].tci, 0x1000 | (7 << 13) | 99);
        let back = attrs_to_key(&key_to_attrs(&key, None)).unwrap();
        assert_eq!(back, (key, Fitness::Perfect));
    }
}

const ODP_WC: &[&str] = &[
    "in_port(1/0xff),eth(src=00:01:02:03:04:05/ff:ff:ff:ff:ff:f0,dst=10:11:12:13:14:15/ff:ff:ff:ff:ff:f0)",
    "in_port(1),eth(src=00:01:02:03:04:05,dst=10:11:12:13:14:15),eth_type(0x1234/0xfff0)",
    "in_port(1),eth(src=00:01:02:03:04:05,dst=10:11:12:13:14:15),eth_type(0x0800),ipv4(src=35.8.2.41/255.255.255.0,dst=172.16.0.20/255.255.255.0,proto=5/0xf0,tos=0x80/0xf0,ttl=128/0xf0,frag=no)",
    "in_port(1),eth(src=00:01:02:03:04:05,dst=10:11:12:13:14:15),eth_type(0x0800),ipv4(src=35.8.2.41,dst=172.16.0.20,proto=6,tos=0,ttl=128,frag=no),tcp(src=80/0xff00,dst=8080/0xff)",
    "in_port(1),eth(src=00:01:02:03:04:05,dst=10:11:12:13:14:15),eth_type(0x0800),ipv4(src=35.8.2.41,dst=172.16.0.20,proto=1,tos=0,ttl=128,frag=no),icmp(type=1/0xf0,code=2)",
    "in_port(1),eth(src=00:01:02:03:04:05,dst=10:11:12:13:14:15),eth_type(0x86dd),ipv6(src=::1/::255,dst=::2/::255,label=0/0xf0,proto=10/0xf0,tclass=0x70/0xf0,hlimit=128/0xf0,frag=no)",
    "in_port(1),eth(src=00:01:02:03:04:05,dst=10:11:12:13:14:15),eth_type(0x86dd),ipv6(src=::1,dst=::2,label=0,proto=58,tclass=0,hlimit=128,frag=no),icmpv6(type=135,code=0),nd(target=::3/::250,sll=00:05:06:07:08:09/ff:ff:ff:ff:ff:00)",
    "in_port(1),eth(src=00:01:02:03:04:05,dst=10:11:12:13:14:15),eth_type(0x86dd),ipv6(src=::1,dst=::2,label=0,proto=58,tclass=0,hlimit=128,frag=no),icmpv6(type=136,code=0),nd(target=::3/::250,tll=00:0a:0b:0c:0d:0e/ff:ff:ff:ff:ff:00)",
    "in_port(1),eth(src=00:01:02:03:04:05,dst=10:11:12:13:14:15),eth_type(0x0806),arp(sip=1.2.3.4/255.255.255.250,tip=5.6.7.8/255.255.255.250,op=1/0xf0,sha=00:0f:10:11:12:13/ff:ff:ff:ff:ff:00,tha=00:14:15:16:17:18/ff:ff:ff:ff:ff:00)",
    "skb_mark(0x1234/0xfff0),in_port(1),eth(src=00:01:02:03:04:05,dst=10:11:12:13:14:15),eth_type(0x86dd),ipv6(src=::1,dst=::2,label=0,proto=58,tclass=0,hlimit=128,frag=no),icmpv6(type=136,code=0),nd(target=::3,sll=00:05:06:07:08:09,tll=00:0a:0b:0c:0d:0e)",
    "skb_priority(0x1234/0xff),in_port(1),eth(src=00:01:02:03:04:05,dst=10:11:12:13:14:15),eth_type(0x8847),mpls(label=100/0xff,tc=7/7,ttl=64/0xff,bos=1/1)",
    "in_port(1),eth(src=00:01:02:03:04:05,dst=10:11:12:13:14:15),ct_state(+trk),ct_zone(0x5/0xff),ct_mark(0x10305070/0xf0f0f0f0),ct_label(0x1234567890abcdef1234567890abcdef/0x102030405060708090a0b0c0d0e0f0),ct_tuple4(src=10.10.10.10,dst=20.20.20.20,proto=17,tp_src=1,tp_dst=2),eth_type(0x0800),ipv4(src=35.8.2.41,dst=172.16.0.20,proto=5,tos=0x80,ttl=128,frag=first)",
    "in_port(1),eth(src=00:01:02:03:04:05,dst=10:11:12:13:14:15),eth_type(0x8100),vlan(vid=99,pcp=7),encap(eth_type(0x0800),ipv4(src=35.8.2.41,dst=172.16.0.20,proto=6,tos=0,ttl=128,frag=no),tcp(src=80/0xff00,dst=8080/0xff))",
    // "Valid forms with tunnel header", "... (wildcard flag)", "... with Geneve header".
    "tunnel(tun_id=0x7f10354/0xff,src=10.10.10.10/255.255.255.0,dst=20.20.20.20/255.255.255.0,ttl=64,vxlan(gbp(id=10/0xff,flags=0xb)),flags(oam|csum|key)),in_port(1),eth(src=00:01:02:03:04:05,dst=10:11:12:13:14:15)",
    "tunnel(tun_id=0x7f10354/0xff,src=10.10.10.10/255.255.255.0,dst=20.20.20.20/255.255.255.0,ttl=64,flags(-df+csum+key)),in_port(1),eth(src=00:01:02:03:04:05,dst=10:11:12:13:14:15)",
    "tunnel(tun_id=0x7f10354/0xff,src=10.10.10.10/255.255.255.0,dst=20.20.20.20/255.255.255.0,ttl=64,geneve({class=0,type=0,len=4,0xa/0xff}{class=0xffff,type=0x1,len=4,0xffffffff}),flags(csum|key)),in_port(1),eth(src=00:01:02:03:04:05,dst=10:11:12:13:14:15)",
    "tunnel(tun_id=0xfedcba9876543210,src=10.0.0.1,dst=10.0.0.2,tos=0x8,ttl=128,flags(key)),in_port(1),eth(src=00:01:02:03:04:05,dst=10:11:12:13:14:15)",
];

#[test]
fn odp_at_wildcarded_keys_round_trip() {
    // test-odp parse-wc-keys: text -> key and mask attributes -> text, unchanged.
    for line in ODP_WC {
        let mk: MaskedKey = line.parse().unwrap();
        assert_eq!(mk.to_string(), *line);
        // The verbose form parses back to the same attributes.
        let verbose = format!("{mk:#}");
        assert_eq!(verbose.parse::<MaskedKey>().unwrap(), mk, "{verbose}");
    }
}

const ODP_ACTIONS: &[&str] = &[
    "1,2,3",
    "userspace(pid=1234567,userdata(0102030405060708090a0b0c0d0e0f),actions)",
    "userspace(pid=1234567,userdata(0102030405060708090a0b0c0d0e0f),tunnel_out_port=10)",
    "set(in_port(2))",
    "set(eth(src=00:01:02:03:04:05,dst=10:11:12:13:14:15))",
    "set(eth(src=00:01:02:03:04:05,dst=10:11:12:13:14:15/ff:ff:ff:00:00:00))",
    "set(eth_type(0x1234))",
    "set(ipv4(src=35.8.2.41,dst=172.16.0.20,proto=5,tos=0x80,ttl=128,frag=no))",
    "set(ipv4(src=35.8.2.41,dst=172.16.0.20,proto=5,ttl=128,frag=no))",
    "set(ipv4(src=35.8.2.41/255.255.255.0,dst=172.16.0.20,proto=5,tos=0x80,ttl=128,frag=no))",
    "set(ipv4(src=35.8.2.41/255.255.255.0,tos=0x80,ttl=128,frag=no))",
    "set(ipv4(tos=0/0x3))",
    "set(ipv4(tos=0x80/0xfc))",
    "set(ipv4(ttl=128,frag=no))",
    "set(ipv4(frag=no))",
    "set(tcp(src=80,dst=8080))",
    "set(tcp(src=80/0xff00,dst=8080))",
    "set(tcp(src=80))",
    "set(tcp(dst=8080))",
    "set(udp(src=81,dst=6632))",
    "set(udp(src=81/0xff00,dst=6632))",
    "set(udp(src=81))",
    "set(udp(dst=6633))",
    "set(sctp(src=82,dst=6633))",
    "set(sctp(src=82/0xff00,dst=6633))",
    "set(sctp(src=82))",
    "set(sctp(dst=6632))",
    "set(icmp(type=1,code=2))",
    "set(ipv6(src=::1,dst=::2,label=0,proto=10,tclass=0x70,hlimit=128,frag=no))",
    "set(ipv6(src=::1,dst=::2))",
    "set(ipv6(label=0,proto=10,tclass=0x70,hlimit=128,frag=no))",
    "set(ipv6(label=0,proto=10,hlimit=128))",
    "set(ipv6(label=0/0xfff,proto=10,tclass=0x70/0x70))",
    "set(ipv6(label=0))",
    "set(icmpv6(type=1,code=2))",
    "set(vlan(vid=5))",
    "set(vlan(vid=3,pcp=5))",
    "set(vlan(vid=3,pcp=5,cfi=0))",
    "set(vlan(vid=5/0x3))",
    "set(vlan(vid=5/0x1)),3",
    "push_vlan(vid=12,pcp=0)",
    "push_vlan(vid=13,pcp=5,cfi=0)",
    "push_vlan(tpid=0x9100,vid=13,pcp=5)",
    "push_vlan(tpid=0x9100,vid=13,pcp=5,cfi=0)",
    "pop_vlan",
    "sample(sample=9.7%,actions(1,2,3,push_vlan(vid=1,pcp=2)))",
    "ct_clear",
    "trunc(100)",
    "clone(1)",
    "clone(clone(push_vlan(vid=12,pcp=0),2),1)",
    "ct",
    "ct(commit)",
    "ct(commit,zone=5)",
    "ct(commit,mark=0xa0a0a0a0/0xfefefefe)",
    "ct(commit,label=0x1234567890abcdef1234567890abcdef/0xf1f2f3f4f5f6f7f8f9f0fafbfcfdfeff)",
    "ct(commit,helper=ftp)",
    "ct(commit,helper=tftp)",
    "ct(nat)",
    "ct(commit,nat(src))",
    "ct(commit,nat(dst))",
    "ct(commit,nat(src=10.0.0.240,random))",
    "ct(commit,nat(src=10.0.0.240:32768-65535,random))",
    "ct(commit,nat(dst=10.0.0.128-10.0.0.254,hash))",
    "ct(commit,nat(src=10.0.0.240-10.0.0.254:32768-65535,persistent))",
    "ct(commit,nat(src=fe80::20c:29ff:fe88:a18b,random))",
    "ct(commit,nat(src=fe80::20c:29ff:fe88:1-fe80::20c:29ff:fe88:a18b,random))",
    "ct(commit,nat(src=[fe80::20c:29ff:fe88:1]-[fe80::20c:29ff:fe88:a18b]:255-4096,random))",
    "ct(commit,helper=ftp,nat(src=10.1.1.240-10.1.1.255))",
    "ct(force_commit)",
    "ct(force_commit,zone=5)",
    "ct(force_commit,mark=0xa0a0a0a0/0xfefefefe)",
    "ct_clear",
    "set(tunnel(tun_id=0xabcdef1234567890,src=1.1.1.1,dst=2.2.2.2,ttl=64,flags(df|csum|key)))",
    "set(tunnel(tun_id=0xabcdef1234567890,src=1.1.1.1,dst=2.2.2.2,ttl=64,flags(key)))",
    "check_pkt_len(size=200,gt(4),le(5))",
    "check_pkt_len(size=200,gt(drop),le(5))",
    "check_pkt_len(size=200,gt(ct(nat),recirc(0x1)),le(drop))",
];

#[test]
fn odp_at_actions_round_trip() {
    for line in ODP_ACTIONS {
        let a: Actions = line.parse().unwrap();
        assert_eq!(a.to_string(), *line);
        // And through netlink.
        let raw = crate::odp::encode_actions(&a.0).unwrap();
        assert_eq!(crate::odp::decode_actions(&raw).unwrap(), a.0);
    }
}

#[test]
fn more_action_forms() {
    for line in [
        "drop",
        "recirc(0x1)",
        "recirc(0)",
        "hash(l4(0))",
        "hash(sym_l4(42))",
        "meter(0)",
        "push_mpls(label=100,tc=0,ttl=64,bos=1,eth_type=0x8847)",
        "pop_mpls(eth_type=0x800)",
        "push_eth(src=00:01:02:03:04:05,dst=10:11:12:13:14:15)",
        "pop_eth",
        "userspace(pid=0,userdata(01020304))",
        "sample(sample=50.0%,actions(3))",
        "push_vlan(tpid=0x88a8,vid=10,pcp=0),push_vlan(vid=20,pcp=3),2",
        "action99(de ad be ef),action98",
        "1,drop",
    ] {
        let a: Actions = line.parse().unwrap();
        assert_eq!(a.to_string(), line);
    }
    let a: Actions = "drop".parse().unwrap();
    assert!(a.0.is_empty());
    let sample = &"sample(sample=50.0%,actions(3))"
        .parse::<Actions>()
        .unwrap()
        .0[0];
    assert!(matches!(
        sample,
        Action::Sample {
            probability: 0x8000_0000,
            ..
        }
    ));
    // Output by port name.
    let popts = ParseOptions {
        port_names: Some(&port_no),
    };
    let a = parse_actions("iov1,iov2", &popts).unwrap();
    assert_eq!(
        a,
        vec![Action::Output(OdpPort(2)), Action::Output(OdpPort(3))]
    );
    let names = FormatOptions::terse().with_port_names(&port_name);
    assert_eq!(format_actions(&a, &names), "iov1,iov2");
}

#[test]
fn bad_text_is_an_error() {
    for bad in [
        "ipv4(src=1.2.3)",
        "eth(src=00:01:02:03:04:05",
        "tcp(src=99999)",
        "ipv4(foo=1)",
        "frobnicate(1)",
        "in_port(nosuch)",
        "vlan(vid=5000)",
        "encap(encap(",
    ] {
        assert!(bad.parse::<MaskedKey>().is_err(), "{bad}");
    }
    for bad in [
        "set(",
        "userspace(pid=x)",
        "sample(sample=200.0%,actions(1))",
        "1;2",
        "push_vlan(vid=1)",
    ] {
        assert!(bad.parse::<Actions>().is_err(), "{bad}");
    }
    let deep = format!("{}{}", "encap(".repeat(40), ")".repeat(40));
    assert!(deep.parse::<MaskedKey>().is_err());
}

#[test]
fn unknown_attributes_print_generically_and_parse_back() {
    use netlink_packet_core::DefaultNla;
    let key = vec![
        KeyAttr::InPort(1),
        KeyAttr::Other(DefaultNla::new(32, vec![1, 2])),
    ];
    let text = KeyAttrs(key.clone()).to_string();
    assert_eq!(text, "in_port(1),key32(01 02)");
    assert_eq!(text.parse::<KeyAttrs>().unwrap().0, key);
}

#[test]
fn eth_type_trailer_for_8023_frames() {
    // An 802.3 frame: the key has no ethertype, the mask an exact one, printed as OVS does.
    let mut key = FlowKey::zero();
    key.in_port = 1;
    key.eth_type = crate::odp::eth_type::NONE;
    let mut mask = FlowKey::zero();
    mask.in_port = u32::MAX;
    mask.eth_type = u16::MAX;
    mask.recirc_id = u32::MAX;
    mask.packet_type = u32::MAX;
    let text = format_flow(&key, Some(&mask), &FormatOptions::terse());
    assert_eq!(
        text,
        "recirc_id(0),in_port(1),packet_type(ns=0,id=0),eth_type(0/0xffff)"
    );
}

#[test]
fn lines_from_raw_attributes() {
    use netlink_packet_core::DefaultNla;
    // A kernel key with tunnel metadata a FlowKey does not hold: printed generically.
    let key = vec![
        KeyAttr::Other(DefaultNla::new(16, vec![5, 0, 4, 0, 64, 0, 0, 0])),
        KeyAttr::InPort(1),
        KeyAttr::Ethertype(0x0800),
    ];
    let mask = vec![
        KeyAttr::Other(DefaultNla::new(16, vec![5, 0, 4, 0, 0, 0, 0, 0])),
        KeyAttr::InPort(u32::MAX),
        KeyAttr::Ethertype(u16::MAX),
    ];
    let stats = FlowStats {
        n_packets: 1,
        n_bytes: 60,
        used_ms: 0,
        tcp_flags: 0,
    };
    let line = format_flow_line(
        None,
        &key,
        Some(&mask),
        &stats,
        Some(&[Action::Output(OdpPort(2))]),
        0,
        &FormatOptions::terse(),
    );
    assert_eq!(
        line,
        "key16(05 00 04 00 40 00 00 00/05 00 04 00 00 00 00 00),in_port(1),eth_type(0x0800), \
         packets:1, bytes:60, used:never, actions:2"
    );
    assert_eq!(
        KeyAttr::Ipv4(crate::odp::Ipv4Key {
            src: [1, 2, 3, 4],
            ..Default::default()
        })
        .to_string(),
        "ipv4(src=1.2.3.4,dst=0.0.0.0,proto=0,tos=0,ttl=0,frag=no)"
    );
}

#[test]
fn dump_lines_parse_back() {
    let popts = ParseOptions {
        port_names: Some(&port_no),
    };
    let l = parse_flow_line(VERBOSE[1], &popts).unwrap();
    assert_eq!(
        l.ufid,
        Some("65cf8d9f-8f4f-4679-8bc2-f065ea23ad08".parse().unwrap())
    );
    assert_eq!((l.packets, l.bytes, l.used_ms_ago), (6, 588, Some(24)));
    assert_eq!(l.dp_layer.as_deref(), Some("ovs"));
    assert_eq!(l.dp_extra_info.as_deref(), Some("miniflow_bits(5,2)"));
    assert_eq!(l.actions, vec![Action::Output(OdpPort(3))]);
    assert_eq!(attrs_to_key(&l.key).unwrap().1, Fitness::Perfect);
    let l = parse_flow_line(TERSE[0], &popts).unwrap();
    assert_eq!((l.ufid, l.used_ms_ago, l.dp_layer), (None, None, None));
    // Our own lines, flags included, read back.
    let mut flow = flow_from_line(TERSE[1], 1000);
    flow.stats.tcp_flags = 0x0812;
    flow.stats.used_ms = 100;
    let text = format_dpif_flow(&flow, 2100, &FormatOptions::verbose());
    let l = parse_flow_line(&text, &ParseOptions::default()).unwrap();
    assert_eq!((l.tcp_flags, l.used_ms_ago), (0x0812, Some(2000)));
    assert_eq!(l.ufid, Some(flow.ufid));
    assert!(parse_flow_line("in_port(1), packets:x", &popts).is_err());
}
