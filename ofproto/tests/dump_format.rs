//! The printed forms of rules and flows, against output captured from Debian's Open vSwitch
//! 3.1.0 (`ovs-vswitchd --enable-dummy` with `ovs-ofctl dump-flows` in OpenFlow 1.0, 1.3
//! and 1.5, `--names`, `--no-stats`, and `ovs-appctl bridge/dump-flows` / `ofproto/trace`;
//! the last two also in `shared/reference/prototypes/appctl-outputs.txt`).

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use ofproto::actions::Controller;
use ofproto::ofctl::format::{
    DumpOptions, bridge_dump_flow_line, dump_flow_line, flow_to_string, format_duration_ms,
    megaflow_to_string, trace_rule_string,
};
use ofproto::ofctl::{self, FlowModCommand, PortNames};
use ofproto::{
    Action, FlowMod, FlowWildcards, Match, OfpPort, Origin, PacketInReason, Rule, TableSet,
};

fn add(t: &mut TableSet, s: &str, now: u64) -> Arc<Rule> {
    let fm = ofctl::parse_flow_mod(s, FlowModCommand::Add, None).unwrap();
    t.flow_mod(&fm, now, Origin::OpenFlow)
        .unwrap()
        .added
        .pop()
        .unwrap()
}

const NXM: DumpOptions = DumpOptions {
    flags: false,
    importance: false,
    ages: true,
    no_stats: false,
};
const OF13: DumpOptions = DumpOptions {
    flags: true,
    importance: false,
    ages: false,
    no_stats: false,
};
const OF15: DumpOptions = DumpOptions {
    flags: true,
    importance: true,
    ages: true,
    no_stats: false,
};

#[test]
fn ovs_ofctl_dump_flows_lines() {
    let mut t = TableSet::new();
    let r1 = add(
        &mut t,
        "priority=100,in_port=1,idle_timeout=10,actions=output:2",
        1000,
    );
    assert_eq!(
        dump_flow_line(&r1, 1014, NXM, None),
        " cookie=0x0, duration=0.014s, table=0, n_packets=0, n_bytes=0, idle_timeout=10, \
         idle_age=0, priority=100,in_port=1 actions=output:2"
    );
    let r2 = add(
        &mut t,
        "table=1,cookie=0x5,hard_timeout=20,send_flow_rem,reset_counts,tcp,\
         actions=load:0x1->NXM_NX_REG0[],resubmit(,2)",
        1000,
    );
    assert_eq!(
        dump_flow_line(&r2, 1013, OF13, None),
        " cookie=0x5, duration=0.013s, table=1, n_packets=0, n_bytes=0, hard_timeout=20, \
         send_flow_rem reset_counts tcp actions=load:0x1->NXM_NX_REG0[],resubmit(,2)"
    );
    let r3 = add(
        &mut t,
        "table=3,importance=7,idle_timeout=5,check_overlap,no_packet_counts,no_byte_counts,\
         reset_counts,actions=drop",
        1000,
    );
    assert_eq!(
        dump_flow_line(&r3, 1016, OF15, None),
        " cookie=0x0, duration=0.016s, table=3, n_packets=0, n_bytes=0, idle_timeout=5, \
         check_overlap reset_counts no_packet_counts no_byte_counts importance=7, idle_age=0, \
         actions=drop"
    );
    let r4 = add(
        &mut t,
        "table=2,priority=0,reset_counts,actions=NORMAL",
        1000,
    );
    assert_eq!(
        dump_flow_line(&r4, 1036, OF15, None),
        " cookie=0x0, duration=0.036s, table=2, n_packets=0, n_bytes=0, reset_counts \
         idle_age=0, priority=0 actions=NORMAL"
    );
    let r5 = add(&mut t, "table=2,actions=drop", 1000);
    assert_eq!(
        dump_flow_line(&r5, 1054, NXM, None),
        " cookie=0x0, duration=0.054s, table=2, n_packets=0, n_bytes=0, idle_age=0, actions=drop"
    );

    // --names.
    let mut names = PortNames::new();
    names.insert("p1", OfpPort(1));
    names.insert("p2", OfpPort(2));
    assert_eq!(
        dump_flow_line(&r1, 1035, DumpOptions::default(), Some(&names)),
        " cookie=0x0, duration=0.035s, table=0, n_packets=0, n_bytes=0, idle_timeout=10, \
         priority=100,in_port=p1 actions=output:p2"
    );
    // --no-stats.
    let no_stats = DumpOptions {
        no_stats: true,
        ..DumpOptions::default()
    };
    assert_eq!(
        dump_flow_line(&r1, 0, no_stats, None),
        " idle_timeout=10, priority=100,in_port=1 actions=output:2"
    );
    assert_eq!(
        dump_flow_line(&r2, 0, no_stats, None),
        " cookie=0x5, table=1, hard_timeout=20, tcp actions=load:0x1->NXM_NX_REG0[],resubmit(,2)"
    );

    // Counters and ages.
    r1.credit(7, 630, 5000);
    assert_eq!(
        dump_flow_line(&r1, 11_500, NXM, None),
        " cookie=0x0, duration=10.5s, table=0, n_packets=7, n_bytes=630, idle_timeout=10, \
         idle_age=6, priority=100,in_port=1 actions=output:2"
    );
    // Dump lines parse back.
    let line = dump_flow_line(&r1, 11_500, OF15, None);
    let back = ofctl::parse_flow_mod(&line, FlowModCommand::Add, None).unwrap();
    assert_eq!(back.match_, r1.match_);
    assert_eq!(back.idle_timeout, 10);
}

#[test]
fn bridge_dump_flows_lines() {
    let mut t = TableSet::new();
    let r = add(&mut t, "priority=100,in_port=1,actions=output:2", 0);
    assert_eq!(
        bridge_dump_flow_line(&r, 500),
        "duration=0s, n_packets=0, n_bytes=0, priority=100,in_port=1,actions=output:2"
    );
    let r = add(
        &mut t,
        "table=1,tcp,actions=load:0x1->NXM_NX_REG0[],resubmit(,2)",
        0,
    );
    assert_eq!(
        bridge_dump_flow_line(&r, 0),
        "table_id=1, duration=0s, n_packets=0, n_bytes=0, tcp,actions=load:0x1->NXM_NX_REG0[],resubmit(,2)"
    );
    let r = add(&mut t, "table=2,actions=drop", 0);
    assert_eq!(
        bridge_dump_flow_line(&r, 0),
        "table_id=2, duration=0s, n_packets=0, n_bytes=0, ,actions=drop"
    );
    let r = add(&mut t, "priority=0,actions=CONTROLLER:65535", 0);
    r.credit(5, 322, 9000);
    assert_eq!(
        bridge_dump_flow_line(&r, 10_200),
        "duration=10s, n_packets=5, n_bytes=322, priority=0,actions=CONTROLLER:65535"
    );
    // In-band rules use priorities above OpenFlow's 16 bits.
    let mut fm = ofctl::parse_flow_mod(
        "tcp,nw_src=127.0.0.1,tp_src=6653,actions=NORMAL",
        FlowModCommand::Add,
        None,
    )
    .unwrap();
    fm.priority = 180_008;
    let r = t
        .flow_mod(&fm, 0, Origin::Internal)
        .unwrap()
        .added
        .pop()
        .unwrap();
    assert_eq!(
        bridge_dump_flow_line(&r, 10_000),
        "duration=10s, n_packets=0, n_bytes=0, priority=180008,tcp,nw_src=127.0.0.1,tp_src=6653,actions=NORMAL"
    );

    // The internal rules of table 254, as ofproto-dpif installs them.
    let mut m = Match::catchall();
    m.set_reg_masked(0, 1, u32::MAX);
    let mut fm = FlowMod::new(FlowModCommand::Add, m);
    fm.table_id = 254;
    fm.priority = 0;
    fm.actions = vec![Action::Controller(Controller {
        reason: PacketInReason::ImplicitMiss,
        ..Controller::default()
    })];
    let r = t
        .flow_mod(&fm, 0, Origin::Internal)
        .unwrap()
        .added
        .pop()
        .unwrap();
    assert_eq!(
        bridge_dump_flow_line(&r, 10_000),
        "table_id=254, duration=10s, n_packets=0, n_bytes=0, priority=0,reg0=0x1,actions=controller(reason=)"
    );
    let mut m = Match::catchall();
    m.set_recirc_id(0);
    let mut fm = FlowMod::new(FlowModCommand::Add, m);
    fm.table_id = 254;
    fm.priority = 2;
    let r = t
        .flow_mod(&fm, 0, Origin::Internal)
        .unwrap()
        .added
        .pop()
        .unwrap();
    assert_eq!(
        bridge_dump_flow_line(&r, 10_000),
        "table_id=254, duration=10s, n_packets=0, n_bytes=0, priority=2,recirc_id=0,actions=drop"
    );
    // Priority 180008 is only possible internally (OpenFlow priorities are 16 bits).
    assert!(
        ofctl::parse_flow_mod("priority=180008,actions=drop", FlowModCommand::Add, None).is_err()
    );
}

#[test]
fn trace_lines() {
    let mut t = TableSet::new();
    let r = add(
        &mut t,
        "priority=1,in_port=1,dl_src=02:00:00:00:01:01,dl_dst=02:00:00:00:02:02,actions=output:2",
        0,
    );
    assert_eq!(
        trace_rule_string(&r, None),
        "in_port=1,dl_src=02:00:00:00:01:01,dl_dst=02:00:00:00:02:02, priority 1"
    );
    let miss = add(&mut t, "priority=0,actions=CONTROLLER:65535", 0);
    assert_eq!(trace_rule_string(&miss, None), "priority 0");

    // ofproto/trace iobr0 in_port=1,dl_src=02:00:00:00:01:01,dl_dst=02:00:00:00:02:02
    let flow = ofctl::parse_flow(
        "in_port=1,dl_src=02:00:00:00:01:01,dl_dst=02:00:00:00:02:02",
        None,
    )
    .unwrap();
    assert_eq!(
        flow_to_string(&flow, None),
        "in_port=1,vlan_tci=0x0000,dl_src=02:00:00:00:01:01,dl_dst=02:00:00:00:02:02,dl_type=0x0000"
    );
    let mut wc = FlowWildcards::catchall();
    let hit = t.lookup(0, &flow, Some(&mut wc)).unwrap();
    assert!(Arc::ptr_eq(hit, &r));
    // What translation adds for any packet: recirc_id and dl_type exact.
    wc.unwildcard_loc(ofproto::flow::loc::RECIRC_ID);
    wc.unwildcard_loc(ofproto::flow::loc::DL_TYPE);
    assert_eq!(
        megaflow_to_string(&Match::from_wildcards(&flow, &wc), None),
        "recirc_id=0,eth,in_port=1,dl_src=02:00:00:00:01:01,dl_dst=02:00:00:00:02:02,dl_type=0x0000"
    );
    assert_eq!(
        ofctl::format::actions_to_string(&hit.actions, None),
        "output:2"
    );
}

#[test]
fn trace_flow_of_ip_packets() {
    let flow = ofctl::parse_flow(
        "in_port=2,tcp,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_ttl=64,tp_src=1234,tp_dst=80,\
         dl_src=02:00:00:00:00:01,dl_dst=02:00:00:00:00:02",
        None,
    )
    .unwrap();
    assert_eq!(
        flow_to_string(&flow, None),
        "tcp,in_port=2,vlan_tci=0x0000,dl_src=02:00:00:00:00:01,dl_dst=02:00:00:00:00:02,\
         nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_tos=0,nw_ecn=0,nw_ttl=64,nw_frag=no,tp_src=1234,\
         tp_dst=80,tcp_flags=0"
    );
    let arp = ofctl::parse_flow("arp,arp_op=1,in_port=1", None).unwrap();
    assert_eq!(
        flow_to_string(&arp, None),
        "arp,in_port=1,vlan_tci=0x0000,dl_src=00:00:00:00:00:00,dl_dst=00:00:00:00:00:00,\
         arp_spa=0.0.0.0,arp_tpa=0.0.0.0,arp_op=1,arp_sha=00:00:00:00:00:00,\
         arp_tha=00:00:00:00:00:00"
    );
    let mut wc = FlowWildcards::catchall();
    wc.unwildcard_loc(ofproto::flow::loc::RECIRC_ID);
    wc.unwildcard_loc(ofproto::flow::loc::DL_TYPE);
    wc.unwildcard_loc(ofproto::flow::loc::IN_PORT);
    assert_eq!(
        megaflow_to_string(&Match::from_wildcards(&arp, &wc), None),
        "recirc_id=0,eth,arp,in_port=1"
    );
    assert!(ofctl::parse_flow("in_port=1,nw_dst=10.0.0.0/8,ip", None).is_err());
    assert_eq!(
        ofctl::parse_flow("dl_type=0x0806", None).unwrap().in_port(),
        OfpPort::NONE
    );
}

#[test]
fn durations() {
    assert_eq!(format_duration_ms(0), "0s");
    assert_eq!(format_duration_ms(10_000), "10s");
    assert_eq!(format_duration_ms(10_500), "10.5s");
    assert_eq!(format_duration_ms(44), "0.044s");
    assert_eq!(format_duration_ms(8_878), "8.878s");
}
