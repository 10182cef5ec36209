//! Unit tests of translation: a bridge snapshot built by hand, flows in, datapath actions
//! and megaflow masks out. OpenFlow port `n` is datapath port `n + 10`, so that a mix-up
//! of the two shows.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::sync::Arc;

use dpif::odp::{self, FormatOptions, format_actions};
use netdev::EthAddr;
use parking_lot::Mutex;

use super::super::mac_learning::MacTable;
use super::super::trace::Trace;
use super::*;
use crate::ofctl::{self, FlowModCommand};
use crate::table::{Origin, TableSet};

fn bridge(rules: &[&str], n_ports: u32, with_bundles: bool) -> XBridge {
    let mut t = TableSet::new();
    for r in rules {
        let fm = ofctl::parse_flow_mod(r, FlowModCommand::Add, None).unwrap();
        t.flow_mod(&fm, 0, Origin::OpenFlow).unwrap();
    }
    let mut ports = BTreeMap::new();
    let mut bundles = Vec::new();
    for i in 1..=n_ports {
        ports.insert(
            OfpPort(i),
            XPort {
                ofp: OfpPort(i),
                odp: OdpPort(i + 10),
                bundle: with_bundles.then_some(bundles.len()),
                pid: 0,
                no_flood: i == 4,
                live: true,
            },
        );
        if with_bundles {
            bundles.push(XBundle {
                name: format!("p{i}"),
                members: vec![OfpPort(i)],
                vlan_mode: VlanMode::Trunk,
                vlan: 0,
                trunks: None,
                floodable: true,
            });
        }
    }
    XBridge {
        name: "br0".to_owned(),
        tables: Arc::new(t),
        ports,
        bundles,
        forward_bpdu: false,
        id: 1,
        groups: Arc::default(),
        miss_rule: None,
        fail_open: None,
    }
}

fn flow(s: &str) -> Flow {
    ofctl::parse_flow(s, None).unwrap()
}

fn run(br: &XBridge, f: Flow) -> XlateOut {
    let ml = Mutex::new(MacTable::default());
    xlate(XlateIn {
        bridge: br,
        ml: &ml,
        flow: f,
        side_effects: false,
        now_ms: 0,
        actions: None,
        trace: None,
    })
}

fn acts(out: &XlateOut) -> String {
    let ud = |b: &[u8]| super::super::cookie::userdata_text(b);
    let opts = FormatOptions {
        userdata: Some(&ud),
        ..FormatOptions::terse()
    };
    format_actions(&out.actions, &opts)
}

fn megaflow(f: &Flow, out: &XlateOut) -> String {
    crate::ofctl::format::megaflow_to_string(&crate::Match::from_wildcards(f, &out.wc), None)
}

#[test]
fn outputs_map_ports_and_skip_the_input() {
    let br = bridge(
        &[
            "in_port=1,actions=output:2,output:1,IN_PORT,output:9",
            "in_port=2,actions=FLOOD",
            "in_port=3,actions=ALL",
        ],
        4,
        false,
    );
    let out = run(&br, flow("in_port=1"));
    assert_eq!(acts(&out), "12,11");
    let out = run(&br, flow("in_port=2"));
    assert_eq!(
        acts(&out),
        "11,13",
        "FLOOD leaves out the input and no-flood ports"
    );
    let out = run(&br, flow("in_port=3"));
    assert_eq!(acts(&out), "11,12,14");
    let f = flow("in_port=5");
    let out = run(&br, f);
    assert_eq!(acts(&out), "drop");
    assert_eq!(
        megaflow(&f, &out),
        "recirc_id=0,eth,in_port=5,dl_type=0x0000"
    );
}

#[test]
fn megaflow_has_what_was_looked_at_only() {
    let br = bridge(
        &[
            "priority=10,ip,nw_dst=10.0.0.0/8,actions=output:2",
            "priority=5,actions=output:3",
        ],
        3,
        false,
    );
    let f = flow("in_port=1,tcp,nw_src=1.2.3.4,nw_dst=10.1.2.3,tp_src=5,tp_dst=80");
    let out = run(&br, f);
    assert_eq!(acts(&out), "12");
    let m = out.dp_mask();
    assert_eq!(m.ipv4_dst, [255, 0, 0, 0]);
    assert_eq!(m.ipv4_src, [0; 4]);
    assert_eq!((m.tp_src, m.tp_dst), (0, 0));
    assert_eq!(m.eth_src, [0; 6]);
    assert_eq!(m.nw_frag, odp::frag::MASK);
    assert_eq!(m.in_port, u32::MAX);
    assert_eq!(m.recirc_id, u32::MAX);
    let out = run(&br, flow("in_port=1,arp"));
    assert_eq!(acts(&out), "13");
    assert_eq!(
        out.dp_mask().ipv4_dst,
        [0; 4],
        "ARP never reached the IP subtable's bits"
    );
}

#[test]
fn rewrites_are_committed_before_each_output() {
    let br = bridge(
        &[
            "in_port=1,tcp,actions=output:2,mod_nw_dst:192.168.0.1,mod_tp_dst:8080,output:3,set_field:10.0.0.9->ip_src,output:2",
            "in_port=2,actions=mod_vlan_vid:10,output:3,strip_vlan,output:1",
            "in_port=3,dl_vlan=20,actions=pop_vlan,output:1",
        ],
        3,
        false,
    );
    let f = flow("in_port=1,tcp,nw_src=10.0.0.1,nw_dst=10.0.0.2,tp_src=1,tp_dst=80,nw_ttl=64");
    let out = run(&br, f);
    assert_eq!(
        acts(&out),
        "12,set(ipv4(dst=192.168.0.1)),set(tcp(dst=8080)),13,set(ipv4(src=10.0.0.9)),12"
    );
    assert_eq!(out.final_flow.nw_dst(), Ipv4Addr::new(192, 168, 0, 1));
    let m = out.dp_mask();
    assert_eq!(m.ipv4_dst, [255; 4], "a set field is pinned");
    assert_eq!(m.tp_src, 0);
    let out = run(&br, flow("in_port=2"));
    assert_eq!(acts(&out), "push_vlan(vid=10,pcp=0),13,pop_vlan,11");
    let out = run(&br, flow("in_port=3,dl_vlan=20"));
    assert_eq!(acts(&out), "pop_vlan,11");
}

#[test]
fn goto_write_actions_and_metadata() {
    let br = bridge(
        &[
            "table=0,in_port=1,actions=write_actions(output:2),write_metadata:0x5/0xff,goto_table:1",
            "table=1,metadata=0x5,actions=set_field:7->reg3,write_actions(output:3),goto_table:2",
            "table=2,reg3=7,actions=mod_dl_dst:02:00:00:00:00:09",
            "table=0,in_port=2,actions=write_actions(output:3),goto_table:3",
            "table=3,actions=clear_actions",
        ],
        3,
        false,
    );
    let f = flow("in_port=1");
    let out = run(&br, f);
    assert_eq!(acts(&out), "set(eth(dst=02:00:00:00:00:09)),13");
    assert_eq!(out.rules.len(), 3);
    // Metadata and registers were matched but never reach the datapath mask.
    assert_eq!(
        megaflow(&f, &out),
        "recirc_id=0,eth,in_port=1,dl_dst=00:00:00:00:00:00,dl_type=0x0000"
    );
    let out = run(&br, flow("in_port=2"));
    assert_eq!(acts(&out), "drop", "cleared action set: nothing runs");
}

#[test]
fn resubmit_changes_in_port_for_the_lookup_only() {
    let br = bridge(
        &[
            "table=0,in_port=1,actions=resubmit:2,output:3",
            "table=0,in_port=2,actions=output:1,IN_PORT",
        ],
        3,
        false,
    );
    // Output to port 1 from the resubmit is output to the real input port: skipped.
    let out = run(&br, flow("in_port=1"));
    assert_eq!(acts(&out), "11,13");
}

#[test]
fn output_reg_and_controller() {
    let br = bridge(
        &[
            "in_port=1,actions=load:0x3->NXM_NX_REG0[],output:NXM_NX_REG0[]",
            "in_port=2,actions=controller(max_len=128,id=7)",
            "priority=0,actions=CONTROLLER:65535",
        ],
        3,
        false,
    );
    assert_eq!(acts(&run(&br, flow("in_port=1"))), "13");
    assert_eq!(
        acts(&run(&br, flow("in_port=2"))),
        "userspace(pid=0,controller(reason=1,dont_send=0,continuation=0,recirc_id=0,rule_cookie=0,controller_id=7,max_len=128))"
    );
    // The table-miss flow reports an explicit miss.
    assert_eq!(
        acts(&run(&br, flow("in_port=3"))),
        "userspace(pid=0,controller(reason=6,dont_send=0,continuation=0,recirc_id=0,rule_cookie=0,controller_id=0,max_len=65535))"
    );
}

#[test]
fn dec_ttl_exception_stops_the_list() {
    let br = bridge(&["in_port=1,actions=dec_ttl,output:2"], 2, false);
    let out = run(&br, flow("in_port=1,ip,nw_ttl=5"));
    assert_eq!(acts(&out), "set(ipv4(ttl=4)),12");
    let out = run(&br, flow("in_port=1,ip,nw_ttl=1"));
    assert!(
        acts(&out).starts_with("userspace(pid=0,controller(reason=2,"),
        "{}",
        acts(&out)
    );
    assert!(!acts(&out).contains(",12"));
    // Not IP: dec_ttl does nothing.
    assert_eq!(acts(&run(&br, flow("in_port=1,arp"))), "12");
}

#[test]
fn resubmit_limits() {
    // A loop: depth.
    let br = bridge(&["table=0,actions=resubmit(,0)"], 1, false);
    let out = run(&br, flow("in_port=1"));
    assert_eq!(out.error, Some(XlateError::RecursionTooDeep));
    assert!(out.actions.is_empty());
    // A tree that goes forward only: too many resubmits.
    let mut rules: Vec<String> = (1..14)
        .map(|t| {
            format!(
                "table={t},actions=resubmit(,{}),resubmit(,{})",
                t + 1,
                t + 1
            )
        })
        .collect();
    rules.push("table=0,actions=resubmit(,1)".to_owned());
    let refs: Vec<&str> = rules.iter().map(String::as_str).collect();
    let br = bridge(&refs, 1, false);
    let out = run(&br, flow("in_port=1"));
    assert_eq!(out.error, Some(XlateError::TooManyResubmits));
}

#[test]
fn normal_needs_a_bundle_and_learns() {
    let br = bridge(&["actions=NORMAL"], 3, false);
    let mut trace = Trace::new();
    let ml = Mutex::new(MacTable::default());
    let out = xlate(XlateIn {
        bridge: &br,
        ml: &ml,
        flow: flow("in_port=1"),
        side_effects: true,
        now_ms: 0,
        actions: None,
        trace: Some(&mut trace),
    });
    assert_eq!(acts(&out), "drop");
    assert!(trace.format().contains(" >> no input bundle, dropping\n"));
    assert!(ml.lock().is_empty());

    let br = bridge(&["actions=NORMAL"], 3, true);
    let f = flow("in_port=1,dl_src=02:00:00:00:00:01,dl_dst=02:00:00:00:00:02");
    let mut trace = Trace::new();
    let out = xlate(XlateIn {
        bridge: &br,
        ml: &ml,
        flow: f,
        side_effects: true,
        now_ms: 0,
        actions: None,
        trace: Some(&mut trace),
    });
    assert_eq!(acts(&out), "12,13");
    assert!(out.mac_changed);
    assert!(
        trace
            .format()
            .contains("     -> learned that 02:00:00:00:00:01 is on port p1 in VLAN 0\n"),
        "{}",
        trace.format()
    );
    assert_eq!(
        ml.lock().lookup(EthAddr([2, 0, 0, 0, 0, 1]), 0),
        Some(OfpPort(1))
    );
    assert_eq!(
        megaflow(&f, &out),
        "recirc_id=0,eth,in_port=1,dl_src=02:00:00:00:00:01,dl_dst=02:00:00:00:00:02,dl_type=0x0000"
    );
    // Reserved multicast is not forwarded.
    let out = run(&br, flow("in_port=1,dl_dst=01:80:c2:00:00:00"));
    assert_eq!(acts(&out), "drop");
}

#[test]
fn packet_out_actions_and_table() {
    let br = bridge(&["in_port=1,actions=output:3"], 3, false);
    let ml = Mutex::new(MacTable::default());
    let list = [Action::Output(OfpPort(2)), Action::Output(OfpPort::TABLE)];
    let out = xlate(XlateIn {
        bridge: &br,
        ml: &ml,
        flow: flow("in_port=1"),
        side_effects: false,
        now_ms: 0,
        actions: Some(&list),
        trace: None,
    });
    assert_eq!(acts(&out), "12,13");
}

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

    fn pick<T: Copy>(&mut self, v: &[T]) -> T {
        v[usize::try_from(self.below(v.len() as u64)).unwrap()]
    }

    fn chance(&mut self, pct: u64) -> bool {
        self.below(100) < pct
    }
}

const MACS: [&str; 4] = [
    "02:00:00:00:00:01",
    "02:00:00:00:00:02",
    "02:00:00:00:00:03",
    "ff:ff:ff:ff:ff:ff",
];

fn random_rule(r: &mut Rng) -> String {
    let table = r.pick(&[0u8, 0, 0, 1, 2]);
    let mut m = vec![
        format!("table={table}"),
        format!("priority={}", r.below(4) * 10),
    ];
    if r.chance(50) {
        m.push(format!("in_port={}", 1 + r.below(4)));
    }
    let l3 = r.pick(&["", "", "ip", "tcp", "arp"]);
    if !l3.is_empty() {
        m.push(l3.to_owned());
    }
    if (l3 == "ip" || l3 == "tcp") && r.chance(60) {
        let plen = r.pick(&[8, 16, 24, 32]);
        m.push(format!(
            "nw_dst=10.{}.{}.{}/{plen}",
            r.below(2),
            r.below(3),
            r.below(3)
        ));
    }
    if l3 == "tcp" && r.chance(50) {
        m.push(format!("tp_dst={}", r.pick(&[80, 443])));
    }
    if r.chance(25) {
        m.push(format!("dl_dst={}", r.pick(&MACS)));
    }
    if r.chance(20) {
        m.push(format!("dl_vlan={}", r.pick(&[10, 20])));
    }
    if table > 0 && r.chance(30) {
        m.push(format!("reg0={}", r.below(3)));
    }
    let mut acts = Vec::new();
    for _ in 0..1 + r.below(3) {
        let a = match r.below(10) {
            0 | 1 => format!("output:{}", 1 + r.below(4)),
            2 => "NORMAL".to_owned(),
            3 => format!("mod_dl_dst:{}", r.pick(&MACS[..3])),
            4 => format!("set_field:{}->reg0", r.below(3)),
            5 => format!("resubmit(,{})", r.below(3)),
            6 => format!("mod_vlan_vid:{}", r.pick(&[10, 20])),
            7 => "strip_vlan".to_owned(),
            8 if l3 == "ip" || l3 == "tcp" => "mod_nw_dst:10.9.9.9".to_owned(),
            8 => "FLOOD".to_owned(),
            _ if l3 == "tcp" => "mod_tp_dst:8080".to_owned(),
            _ => "IN_PORT".to_owned(),
        };
        acts.push(a);
    }
    if table < 2 && r.chance(30) {
        acts.push(format!(
            "goto_table:{}",
            table + 1 + u8::try_from(r.below(2)).unwrap()
        ));
    }
    format!("{},actions={}", m.join(","), acts.join(","))
}

fn random_flow(r: &mut Rng) -> Flow {
    let mut s = vec![
        format!("in_port={}", 1 + r.below(4)),
        format!("dl_src={}", r.pick(&MACS[..3])),
        format!("dl_dst={}", r.pick(&MACS)),
    ];
    if r.chance(30) {
        s.push(format!("dl_vlan={}", r.pick(&[10, 20, 30])));
    }
    match r.below(4) {
        0 | 1 => {
            s.push(r.pick(&["tcp", "udp"]).to_owned());
            s.push(format!(
                "nw_src=10.{}.{}.{},nw_dst=10.{}.{}.{}",
                r.below(2),
                r.below(3),
                r.below(3),
                r.below(2),
                r.below(3),
                r.below(3)
            ));
            s.push(format!(
                "tp_src={},tp_dst={}",
                r.pick(&[1, 2]),
                r.pick(&[80, 443, 22])
            ));
        }
        2 => s.push("arp,arp_spa=10.0.0.1,arp_tpa=10.0.0.2".to_owned()),
        _ => s.push("ipv6".to_owned()),
    }
    flow(&s.join(","))
}

/// Megaflow correctness: two packets that agree on every bit of the megaflow mask get the
/// same datapath actions, whatever the rules (tables, priorities, resubmits, rewrites,
/// VLAN actions, NORMAL).
#[test]
fn packets_within_a_megaflow_translate_alike() {
    let ml = Mutex::new(MacTable::default());
    {
        let mut t = ml.lock();
        t.learn(EthAddr([2, 0, 0, 0, 0, 1]), 0, OfpPort(1), 0);
        t.learn(EthAddr([2, 0, 0, 0, 0, 2]), 10, OfpPort(2), 0);
        t.learn(EthAddr([2, 0, 0, 0, 0, 3]), 0, OfpPort(3), 0);
    }
    let mut checked = 0;
    let mut forwarded = 0;
    for seed in 1..300u64 {
        let mut r = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        let rules: Vec<String> = (0..1 + r.below(10)).map(|_| random_rule(&mut r)).collect();
        let mut t = TableSet::new();
        for s in &rules {
            // Rules whose actions do not fit their match are refused, as by a switch.
            let fm = ofctl::parse_flow_mod(s, FlowModCommand::Add, None).unwrap();
            let _ = t.flow_mod(&fm, 0, Origin::OpenFlow);
        }
        let mut br = bridge(&[], 4, true);
        br.tables = Arc::new(t);
        for _ in 0..20 {
            let f1 = random_flow(&mut r);
            let x = |f: Flow| {
                xlate(XlateIn {
                    bridge: &br,
                    ml: &ml,
                    flow: f,
                    side_effects: false,
                    now_ms: 0,
                    actions: None,
                    trace: None,
                })
            };
            let o1 = x(f1);
            forwarded += usize::from(!o1.actions.is_empty());
            let mask = FlowWildcards::from_dp_mask(&o1.dp_mask()).masks;
            for _ in 0..4 {
                let mut f2 = f1;
                for (w, (v, m)) in f2.words_mut().iter_mut().zip(mask.words()).enumerate() {
                    // Metadata and registers start at zero in every packet.
                    if !(3..12).contains(&w) {
                        *v ^= r.next() & !m;
                    }
                }
                let o2 = x(f2);
                assert_eq!(
                    (o1.actions.clone(), o1.error),
                    (o2.actions.clone(), o2.error),
                    "seed {seed}\nrules {rules:#?}\nf1 {f1:?}\nf2 {f2:?}"
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 1000);
    assert!(forwarded > 1000, "too few packets forwarded: {forwarded}");
}

/// A bucket: actions in flow syntax, weight, watched port (0: none).
type B<'s> = (&'s str, u16, u32);

fn with_group(br: &mut XBridge, id: u32, type_: GroupType, buckets: &[B<'_>]) {
    use crate::group::{GroupMod, GroupModCommand};
    let gm = GroupMod {
        command: GroupModCommand::Add,
        type_,
        group_id: id,
        buckets: buckets
            .iter()
            .map(|(a, w, p)| Bucket {
                weight: *w,
                watch_port: if *p == 0 { OfpPort::ANY } else { OfpPort(*p) },
                actions: ofctl::parse_actions(a, None).unwrap(),
                ..Bucket::default()
            })
            .collect(),
    };
    let mut g = (*br.groups).clone();
    g.group_mod(&gm, 0, 254).unwrap();
    br.groups = Arc::new(g);
}

fn hits(out: &XlateOut) -> Vec<(u32, Option<usize>)> {
    out.groups.iter().map(|h| (h.group.id, h.bucket)).collect()
}

#[test]
fn all_group_runs_every_bucket_on_its_own_copy() {
    let mut br = bridge(&["in_port=1,actions=group:1,output:4"], 4, false);
    with_group(
        &mut br,
        1,
        GroupType::All,
        &[
            ("mod_dl_dst:02:00:00:00:00:09,output:2", 0, 0),
            ("output:3", 0, 0),
        ],
    );
    let out = run(&br, flow("in_port=1,dl_dst=02:00:00:00:00:01"));
    // Bucket 1 and the output after the group see the original destination again.
    assert_eq!(
        acts(&out),
        "set(eth(dst=02:00:00:00:00:09)),12,set(eth(dst=02:00:00:00:00:01)),13,14"
    );
    assert_eq!(hits(&out), vec![(1, None), (1, Some(0)), (1, Some(1))]);
    assert_eq!(out.final_flow.dl_dst(), EthAddr([2, 0, 0, 0, 0, 1]));
    // A missing group (deleted under a chained one) drops, without failing.
    let br = bridge(&["in_port=1,actions=group:9,output:2"], 2, false);
    let out = run(&br, flow("in_port=1"));
    assert_eq!(acts(&out), "12");
    assert_eq!(out.error, None);
}

#[test]
fn indirect_group_and_packet_in_reason_group() {
    let mut br = bridge(&["in_port=1,actions=group:7"], 3, false);
    with_group(
        &mut br,
        7,
        GroupType::Indirect,
        &[("output:3,CONTROLLER:64", 0, 0)],
    );
    let out = run(&br, flow("in_port=1"));
    assert_eq!(
        acts(&out),
        "13,userspace(pid=0,controller(reason=4,dont_send=0,continuation=0,recirc_id=0,rule_cookie=0,controller_id=0,max_len=64))"
    );
    assert_eq!(hits(&out), vec![(7, None), (7, Some(0))]);
}

#[test]
fn select_group_hashes_l2_to_l4_symmetrically() {
    let mut br = bridge(
        &["in_port=1,actions=group:2", "in_port=2,actions=group:2"],
        5,
        false,
    );
    with_group(
        &mut br,
        2,
        GroupType::Select,
        &[("output:3", 1, 0), ("output:4", 1, 0), ("output:5", 0, 0)],
    );
    let mut seen = std::collections::BTreeSet::new();
    for sport in 1000..1064u16 {
        let f = flow(&format!(
            "in_port=1,tcp,dl_src=02:00:00:00:00:01,dl_dst=02:00:00:00:00:02,nw_src=10.0.0.1,nw_dst=10.0.0.2,tp_src={sport},tp_dst=80"
        ));
        let out = run(&br, f);
        let a = acts(&out);
        seen.insert(a.clone());
        // The reverse direction picks the same bucket.
        let r = flow(&format!(
            "in_port=2,tcp,dl_src=02:00:00:00:00:02,dl_dst=02:00:00:00:00:01,nw_src=10.0.0.2,nw_dst=10.0.0.1,tp_src=80,tp_dst={sport}"
        ));
        assert_eq!(acts(&run(&br, r)), a);
        // The megaflow pins what was hashed.
        let m = megaflow(&f, &out);
        for field in [
            "dl_src=", "dl_dst=", "nw_src=", "nw_dst=", "tp_src=", "tp_dst=",
        ] {
            assert!(m.contains(field), "{m} lacks {field}");
        }
    }
    // Both weighted buckets get flows; the weight-0 bucket none.
    assert_eq!(
        seen.into_iter().collect::<Vec<_>>(),
        vec!["13".to_owned(), "14".to_owned()]
    );
    // ARP hashes L2 only: no IP fields in the megaflow.
    let f = flow("in_port=1,arp,dl_src=02:00:00:00:00:01,arp_spa=10.0.0.1");
    let m = megaflow(&f, &run(&br, f));
    assert!(m.contains("dl_src=") && !m.contains("arp_spa"), "{m}");
}

#[test]
fn fast_failover_takes_the_first_live_bucket() {
    let mut br = bridge(&["in_port=1,actions=group:3"], 4, false);
    with_group(
        &mut br,
        3,
        GroupType::FastFailover,
        &[("output:2", 0, 2), ("output:3", 0, 3), ("output:4", 0, 4)],
    );
    assert_eq!(acts(&run(&br, flow("in_port=1"))), "12");
    br.ports.get_mut(&OfpPort(2)).unwrap().live = false;
    let out = run(&br, flow("in_port=1"));
    assert_eq!(acts(&out), "13");
    assert_eq!(hits(&out), vec![(3, None), (3, Some(1))]);
    br.ports.get_mut(&OfpPort(3)).unwrap().live = false;
    br.ports.get_mut(&OfpPort(4)).unwrap().live = false;
    assert_eq!(acts(&run(&br, flow("in_port=1"))), "drop");
    // A select group skips dead buckets too.
    with_group(
        &mut br,
        4,
        GroupType::Select,
        &[("output:2", 1, 2), ("output:3", 1, 0)],
    );
    let mut b2 = br.clone();
    b2.tables = bridge(&["in_port=1,actions=group:4"], 0, false).tables;
    assert_eq!(
        acts(&run(&b2, flow("in_port=1,dl_src=02:00:00:00:00:07"))),
        "13"
    );
}

#[test]
fn group_trace_shows_buckets() {
    let mut br = bridge(&["in_port=1,actions=group:1"], 3, false);
    with_group(
        &mut br,
        1,
        GroupType::All,
        &[("output:2", 0, 0), ("output:3", 0, 0)],
    );
    let ml = Mutex::new(MacTable::default());
    let mut trace = Trace::new();
    xlate(XlateIn {
        bridge: &br,
        ml: &ml,
        flow: flow("in_port=1"),
        side_effects: false,
        now_ms: 0,
        actions: None,
        trace: Some(&mut trace),
    });
    assert_eq!(
        trace.format(),
        "\nbridge(\"br0\")\n-------------\n 0. in_port=1, priority 32768\n    group:1\n    bucket 0\n            output:2\n    bucket 1\n            output:3\n"
    );
}

#[test]
fn misses_go_to_the_controller_when_asked_and_fail_open_overrides_table_0() {
    let mut t = TableSet::new();
    let mut fm = crate::table::FlowMod::new(
        crate::table::FlowModCommand::Add,
        crate::matching::Match::catchall(),
    );
    fm.table_id = crate::table::TABLE_INTERNAL;
    fm.priority = 0;
    fm.actions = vec![Action::Controller(crate::actions::Controller {
        reason: PacketInReason::ImplicitMiss,
        ..crate::actions::Controller::default()
    })];
    t.flow_mod(&fm, 0, Origin::Internal).unwrap();
    let miss = t.table(254).unwrap().rules().next().unwrap().clone();
    let mut br = bridge(
        &[
            "in_port=1,actions=goto_table:3",
            "in_port=2,actions=resubmit(,5),output:1",
        ],
        3,
        false,
    );
    br.miss_rule = Some(miss);
    // Table 0 misses (in_port=3): packet-in, reason implicit miss, no rule cookie.
    assert_eq!(
        acts(&run(&br, flow("in_port=3"))),
        "userspace(pid=0,controller(reason=7,dont_send=0,continuation=0,recirc_id=0,rule_cookie=0xffffffffffffffff,controller_id=0,max_len=65535))"
    );
    // So does a miss after goto_table, from table 3.
    let out = run(&br, flow("in_port=1"));
    let ud = match &out.actions[..] {
        [odp::Action::Userspace(u)] => u.userdata.clone().unwrap(),
        other => panic!("{other:?}"),
    };
    let c = super::super::cookie::ControllerCookie::decode(&ud).unwrap();
    assert_eq!((c.table_id, c.in_port, c.bridge_id), (3, 1, 1));
    // A resubmit that misses does nothing.
    assert_eq!(acts(&run(&br, flow("in_port=2"))), "11");
    // Without the miss rule, misses drop.
    br.miss_rule = None;
    assert_eq!(acts(&run(&br, flow("in_port=3"))), "drop");
    // Fail-open: the hidden NORMAL rule wins over table 0.
    let rule = Arc::new(crate::rule::Rule {
        id: u64::MAX,
        table_id: 0,
        match_: crate::matching::Match::catchall(),
        priority: 0xf0f0f0,
        cookie: 0,
        idle_timeout: 0,
        hard_timeout: 0,
        importance: 0,
        flags: crate::rule::FlowModFlags::empty(),
        created_ms: 0,
        modified_ms: 0,
        actions: Arc::from(vec![Action::Output(OfpPort::NORMAL)]),
        counters: Arc::default(),
    });
    let mut fo = bridge(&["in_port=1,actions=output:2"], 3, true);
    fo.fail_open = Some(rule.clone());
    let out = run(&fo, flow("in_port=1,dl_dst=ff:ff:ff:ff:ff:ff"));
    assert_eq!(acts(&out), "12,13");
    assert!(Arc::ptr_eq(&out.rules[0], &rule));
}
