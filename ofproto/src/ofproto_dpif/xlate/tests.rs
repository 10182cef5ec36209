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
