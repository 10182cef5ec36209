//! Cross-checks of the OpenFlow message layer with Debian's real `ovs-ofctl ofp-print`:
//! what we encode, Open vSwitch decodes to what we meant (and never to a decode error).

use std::process::Command;

use ofproto::ofctl::{self, FlowModCommand};
use ofproto::ofp::Version;
use ofproto::ofp::msg::{
    self, AggregateStats, ErrorMsg, FeaturesReply, FlowRemoved, FlowStats, Hello, Msg,
    MultipartReply, MultipartReplyBody, PacketInMsg, PortDesc, PortReason, PortStats, PortStatus,
    Role, RoleMsg, SwitchConfig, SwitchDesc, TableFeatureSet, TableFeatures, TableStats,
};
use ofproto::{
    Bucket, FlowModFlags, GroupDesc, GroupStats, GroupType, OfpError, OfpPort, PacketInReason,
    RemovedReason,
};
use tests::{have, require};

/// What `ovs-ofctl ofp-print` prints for each message in `bytes` (several for a split
/// multipart reply), stdout and stderr together.
fn ofp_print(bytes: &[u8]) -> String {
    let mut out = String::new();
    let mut rest = bytes;
    while let Some(n) = msg::frame_len(rest).unwrap() {
        let hex: String = rest[..n].iter().map(|b| format!("{b:02x}")).collect();
        let o = Command::new("ovs-ofctl")
            .args(["ofp-print", &hex])
            .output()
            .unwrap();
        out.push_str(&String::from_utf8_lossy(&o.stdout));
        out.push_str(&String::from_utf8_lossy(&o.stderr));
        rest = &rest[n..];
    }
    assert!(rest.is_empty());
    out
}

fn print(v: Version, m: &Msg) -> String {
    let mut b = Vec::new();
    msg::encode(v, 1, m, &mut b).unwrap_or_else(|e| panic!("encoding {}: {e}", m.name()));
    let s = ofp_print(&b);
    assert!(!s.contains("decode error"), "{s}");
    assert!(!s.contains("WARN"), "{s}");
    assert!(!s.contains("ERR|"), "{s}");
    s
}

/// Asserts that `out` contains every line of `want` (each trimmed), in order.
#[track_caller]
fn assert_lines(out: &str, want: &[&str]) {
    let lines: Vec<&str> = out.lines().map(str::trim).collect();
    let mut at = 0;
    for w in want {
        match lines[at..].iter().position(|l| l == w) {
            Some(i) => at += i + 1,
            None => panic!("missing (in order) line {w:?} in:\n{out}"),
        }
    }
}

macro_rules! require_ofctl {
    () => {
        require!(
            have("ovs-ofctl"),
            "needs Debian's ovs-ofctl (openvswitch-common)"
        );
    };
}

fn port(no: u32, name: &str, mac: u8) -> PortDesc {
    PortDesc {
        port_no: OfpPort(no),
        hw_addr: [2, 0, 0, 0, 0, mac],
        name: name.into(),
        config: 0,
        state: 0,
        curr: 1 << 5 | 1 << 11, // 1GB_FD, COPPER
        advertised: 0,
        supported: 0,
        peer: 0,
        curr_speed: 1_000_000,
        max_speed: 0,
    }
}

fn flow(s: &str) -> (ofproto::Match, u32, Vec<ofproto::Action>) {
    let fm = ofctl::parse_flow_mod(s, FlowModCommand::Add, None).unwrap();
    (fm.match_, fm.priority, fm.actions)
}

#[test]
fn features_reply_and_port_desc() {
    require_ofctl!();
    let ports = vec![port(1, "p1", 1), port(0xfffe, "br0", 0xee)];
    let reply = FeaturesReply {
        datapath_id: 0x101,
        n_buffers: 0,
        n_tables: 254,
        auxiliary_id: 0,
        capabilities: 0xc7,
        actions: 0xfff,
        ports: ports.clone(),
    };
    let out = print(Version::Of10, &Msg::FeaturesReply(reply.clone()));
    assert_lines(
        &out,
        &[
            "OFPT_FEATURES_REPLY (xid=0x1): dpid:0000000000000101",
            "n_tables:254, n_buffers:0",
            "capabilities: FLOW_STATS TABLE_STATS PORT_STATS QUEUE_STATS ARP_MATCH_IP",
            "1(p1): addr:02:00:00:00:00:01",
            "current:    1GB-FD COPPER",
            "LOCAL(br0): addr:02:00:00:00:00:ee",
        ],
    );
    let out = print(Version::Of13, &Msg::FeaturesReply(reply));
    assert_lines(
        &out,
        &[
            "OFPT_FEATURES_REPLY (OF1.3) (xid=0x1): dpid:0000000000000101",
            "n_tables:254, n_buffers:0",
        ],
    );
    for v in [Version::Of10, Version::Of13] {
        let out = print(
            v,
            &Msg::MultipartReply(MultipartReply {
                more: false,
                body: MultipartReplyBody::PortDesc(ports.clone()),
            }),
        );
        assert_lines(
            &out,
            &[
                "1(p1): addr:02:00:00:00:00:01",
                "current:    1GB-FD COPPER",
                "LOCAL(br0): addr:02:00:00:00:00:ee",
            ],
        );
    }
}

#[test]
fn flow_stats_replies() {
    require_ofctl!();
    let (match_, priority, actions) = flow("priority=10,in_port=1,tcp,tp_dst=80,actions=output:2");
    let stats = FlowStats {
        table_id: 0,
        duration_sec: 1,
        duration_nsec: 500_000_000,
        priority: u16::try_from(priority).unwrap(),
        idle_timeout: 0,
        hard_timeout: 0,
        flags: FlowModFlags::empty(),
        cookie: 0x5,
        packet_count: 3,
        byte_count: 180,
        idle_age: None,
        hard_age: None,
        match_,
        actions,
    };
    let line = "cookie=0x5, duration=1.500s, table=0, n_packets=3, n_bytes=180, \
                priority=10,tcp,in_port=1,tp_dst=80 actions=output:2";
    let reply = |body| Msg::MultipartReply(MultipartReply { more: false, body });
    let out = print(
        Version::Of10,
        &reply(MultipartReplyBody::Flow(vec![stats.clone()])),
    );
    assert_lines(&out, &["OFPST_FLOW reply (xid=0x1):", line]);
    let out = print(
        Version::Of13,
        &reply(MultipartReplyBody::Flow(vec![stats.clone()])),
    );
    assert_lines(&out, &["OFPST_FLOW reply (OF1.3) (xid=0x1):", line]);
    let nx = FlowStats {
        idle_age: Some(4),
        hard_age: Some(9),
        ..stats
    };
    let out = print(Version::Of10, &reply(MultipartReplyBody::NxFlow(vec![nx])));
    assert_lines(
        &out,
        &[
            "NXST_FLOW reply (xid=0x1):",
            "cookie=0x5, duration=1.500s, table=0, n_packets=3, n_bytes=180, idle_age=4, \
             hard_age=9, priority=10,tcp,in_port=1,tp_dst=80 actions=output:2",
        ],
    );
    let agg = AggregateStats {
        packet_count: 3,
        byte_count: 180,
        flow_count: 1,
    };
    let want = "packet_count=3 byte_count=180 flow_count=1";
    let out = print(Version::Of10, &reply(MultipartReplyBody::Aggregate(agg)));
    assert!(
        out.contains(&format!("OFPST_AGGREGATE reply (xid=0x1): {want}")),
        "{out}"
    );
    let out = print(Version::Of10, &reply(MultipartReplyBody::NxAggregate(agg)));
    assert!(
        out.contains(&format!("NXST_AGGREGATE reply (xid=0x1): {want}")),
        "{out}"
    );
    let out = print(Version::Of13, &reply(MultipartReplyBody::Aggregate(agg)));
    assert!(
        out.contains(&format!("OFPST_AGGREGATE reply (OF1.3) (xid=0x1): {want}")),
        "{out}"
    );
}

#[test]
fn a_flow_dump_longer_than_64k_is_split_and_each_part_decodes() {
    require_ofctl!();
    let (match_, _, actions) = flow("in_port=1,actions=output:2");
    let stats: Vec<FlowStats> = (0..1000)
        .map(|i| FlowStats {
            table_id: 0,
            duration_sec: 1,
            duration_nsec: 0,
            priority: i,
            idle_timeout: 0,
            hard_timeout: 0,
            flags: FlowModFlags::empty(),
            cookie: 0,
            packet_count: 0,
            byte_count: 0,
            idle_age: None,
            hard_age: None,
            match_,
            actions: actions.clone(),
        })
        .collect();
    let out = print(
        Version::Of13,
        &Msg::MultipartReply(MultipartReply {
            more: false,
            body: MultipartReplyBody::Flow(stats),
        }),
    );
    let n = out
        .lines()
        .filter(|l| l.contains("in_port=1 actions=output:2"))
        .count();
    assert_eq!(n, 1000, "{out}");
    assert!(
        out.contains("OFPST_FLOW reply (OF1.3) (xid=0x1): flags=[more]"),
        "{out}"
    );
}

#[test]
fn table_stats_and_features() {
    require_ofctl!();
    let reply = |body| Msg::MultipartReply(MultipartReply { more: false, body });
    let ts = TableStats {
        table_id: 0,
        name: "classifier".into(),
        wildcards: 0x3fffff,
        max_entries: 1_000_000,
        active_count: 2,
        lookup_count: 10,
        matched_count: 8,
    };
    let out = print(
        Version::Of10,
        &reply(MultipartReplyBody::Table(vec![ts.clone()])),
    );
    assert_lines(
        &out,
        &[
            "OFPST_TABLE reply (xid=0x1):",
            "table 0 (\"classifier\"):",
            "active=2, lookup=10, matched=8",
        ],
    );
    let out = print(Version::Of13, &reply(MultipartReplyBody::Table(vec![ts])));
    assert_lines(
        &out,
        &[
            "OFPST_TABLE reply (OF1.3) (xid=0x1):",
            "table 0:",
            "active=2, lookup=10, matched=8",
        ],
    );
    // A table with all 8 properties ovs-ofctl requires (interop.md 2.3).
    let set = TableFeatureSet {
        instructions: vec![1, 4], // goto_table, apply_actions
        next_tables: vec![1, 2],
        write_actions: vec![0],     // output
        apply_actions: vec![0, 17], // output, push_vlan
        write_setfield: vec![],
        apply_setfield: vec![0x8000_0606], // eth_dst
    };
    let tf = TableFeatures {
        table_id: 0,
        name: "classifier".into(),
        metadata_match: u64::MAX,
        metadata_write: u64::MAX,
        config: 0,
        max_entries: 1_000_000,
        features: set,
        miss: None,
        match_: vec![0x8000_0004, 0x8000_0606], // in_port, eth_dst
        wildcards: vec![0x8000_0606],
    };
    let out = print(
        Version::Of13,
        &reply(MultipartReplyBody::TableFeatures(vec![tf])),
    );
    assert_lines(
        &out,
        &[
            "OFPST_TABLE_FEATURES reply (OF1.3) (xid=0x1):",
            "table 0 (\"classifier\"):",
            "metadata: match=0xffffffffffffffff write=0xffffffffffffffff",
            "max_entries=1000000",
            "instructions (table miss and others):",
            "next tables: 1-2",
            "instructions: apply_actions goto_table",
            "Write-Actions features:",
            "actions: output",
            "Apply-Actions features:",
            "actions: output push_vlan",
            "supported on Set-Field: eth_dst",
            "matching:",
            "exact match or wildcard: eth_dst",
            "must exact match: in_port_oxm",
        ],
    );
}

#[test]
fn port_stats_desc_config_role() {
    require_ofctl!();
    let reply = |body| Msg::MultipartReply(MultipartReply { more: false, body });
    let ps = PortStats {
        port_no: OfpPort(1),
        rx_packets: 5,
        tx_packets: 6,
        rx_bytes: 300,
        tx_bytes: 400,
        ..PortStats::default()
    };
    for v in [Version::Of10, Version::Of13] {
        let out = print(v, &reply(MultipartReplyBody::PortStats(vec![ps])));
        assert_lines(
            &out,
            &[
                "port  1: rx pkts=5, bytes=300, drop=0, errs=0, frame=0, over=0, crc=0",
                "tx pkts=6, bytes=400, drop=0, errs=0, coll=0",
            ],
        );
        let out = print(
            v,
            &reply(MultipartReplyBody::Desc(SwitchDesc {
                mfr_desc: "rovs".into(),
                hw_desc: "virtual".into(),
                sw_desc: "0.1.0".into(),
                serial_num: "None".into(),
                dp_desc: "br0".into(),
            })),
        );
        assert_lines(
            &out,
            &[
                "Manufacturer: rovs",
                "Hardware: virtual",
                "Software: 0.1.0",
                "Serial Num: None",
                "DP Description: br0",
            ],
        );
        let out = print(
            v,
            &Msg::GetConfigReply(SwitchConfig {
                flags: 0,
                miss_send_len: 128,
            }),
        );
        assert!(out.contains("frags=normal miss_send_len=128"), "{out}");
        let out = print(
            v,
            &Msg::RoleReply(RoleMsg {
                role: Role::Master,
                generation_id: 0,
            }),
        );
        assert!(out.contains("role=primary"), "{out}");
    }
}

#[test]
fn groups() {
    require_ofctl!();
    let reply = |body| Msg::MultipartReply(MultipartReply { more: false, body });
    let (_, _, out1) = flow("actions=output:1");
    let (_, _, out2) = flow("actions=output:2");
    let desc = GroupDesc {
        group_id: 1,
        type_: GroupType::Select,
        buckets: vec![
            Bucket {
                weight: 10,
                actions: out1,
                ..Bucket::default()
            },
            Bucket {
                weight: 20,
                actions: out2,
                ..Bucket::default()
            },
        ],
    };
    let out = print(
        Version::Of13,
        &reply(MultipartReplyBody::GroupDesc(vec![desc])),
    );
    assert_lines(
        &out,
        &[
            "OFPST_GROUP_DESC reply (OF1.3) (xid=0x1):",
            "group_id=1,type=select,bucket=weight:10,actions=output:1,bucket=weight:20,actions=output:2",
        ],
    );
    let stats = GroupStats {
        group_id: 1,
        ref_count: 2,
        packet_count: 7,
        byte_count: 700,
        duration_ms: 2500,
        buckets: vec![(3, 300), (4, 400)],
    };
    let out = print(
        Version::Of13,
        &reply(MultipartReplyBody::Group(vec![stats])),
    );
    assert_lines(
        &out,
        &[
            "OFPST_GROUP reply (OF1.3) (xid=0x1):",
            "group_id=1,duration=2.500s,ref_count=2,packet_count=7,byte_count=700,\
             bucket0:packet_count=3,byte_count=300,bucket1:packet_count=4,byte_count=400",
        ],
    );
}

#[test]
fn packet_in_port_status_flow_removed() {
    require_ofctl!();
    let mut md = ofproto::Flow::zero();
    md.set_in_port(OfpPort(3));
    md.set_metadata(0x77);
    let frame = {
        // An ARP request from 02:00:00:00:00:01.
        let mut f = vec![0xff; 6];
        f.extend_from_slice(&[2, 0, 0, 0, 0, 1, 0x08, 0x06]);
        f.extend_from_slice(&[0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 1, 10, 0, 0, 1]);
        f.extend_from_slice(&[0, 0, 0, 0, 0, 0, 10, 0, 0, 2]);
        f
    };
    let pi = ofproto::PacketIn {
        packet: frame,
        reason: PacketInReason::NoMatch,
        table_id: 4,
        cookie: 0x99,
        metadata: md,
        max_len: u16::MAX,
        controller_id: 0,
        userdata: None,
    };
    let m = Msg::PacketIn(PacketInMsg::from_packet_in(&pi, 128));
    let out = print(Version::Of13, &m);
    assert_lines(
        &out,
        &[
            "OFPT_PACKET_IN (OF1.3) (xid=0x1): table_id=4 cookie=0x99 total_len=42 metadata=0x77,in_port=3 (via no_match) data_len=42 (unbuffered)",
        ],
    );
    assert!(
        out.contains("arp,vlan_tci=0x0000,dl_src=02:00:00:00:00:01"),
        "{out}"
    );
    let out = print(Version::Of10, &m);
    assert_lines(
        &out,
        &[
            "OFPT_PACKET_IN (xid=0x1): total_len=42 in_port=3 (via no_match) data_len=42 (unbuffered)",
        ],
    );
    for (v, prefix) in [
        (Version::Of10, "OFPT_PORT_STATUS (xid=0x1):"),
        (Version::Of13, "OFPT_PORT_STATUS (OF1.3) (xid=0x1):"),
    ] {
        let out = print(
            v,
            &Msg::PortStatus(PortStatus {
                reason: PortReason::Add,
                desc: port(1, "p1", 1),
            }),
        );
        assert_lines(
            &out,
            &[&format!("{prefix} ADD: 1(p1): addr:02:00:00:00:00:01")],
        );
    }
    let (match_, priority, _) = flow("priority=10,in_port=1,actions=drop");
    let fr = FlowRemoved {
        match_,
        cookie: 0x5,
        priority: u16::try_from(priority).unwrap(),
        reason: RemovedReason::IdleTimeout,
        table_id: 0,
        duration_sec: 1,
        duration_nsec: 500_000_000,
        idle_timeout: 5,
        hard_timeout: 0,
        packet_count: 3,
        byte_count: 180,
    };
    let out = print(Version::Of10, &Msg::FlowRemoved(fr.clone()));
    assert_lines(
        &out,
        &[
            "OFPT_FLOW_REMOVED (xid=0x1): priority=10,in_port=1 reason=idle cookie:0x5 duration1.500s idle5 pkts3 bytes180",
        ],
    );
    let out = print(Version::Of13, &Msg::FlowRemoved(fr));
    assert_lines(
        &out,
        &[
            "OFPT_FLOW_REMOVED (OF1.3) (xid=0x1): priority=10,in_port=1 reason=idle table_id=0 cookie:0x5 duration1.500s idle5 pkts3 bytes180",
        ],
    );
}

#[test]
fn errors_of_both_versions() {
    require_ofctl!();
    let offending = [1u8, 0x12, 0, 8, 0, 0, 0, 5];
    let cases = [
        (OfpError::FMFC_OVERLAP, "OFPFMFC_OVERLAP"),
        (OfpError::BRC_BAD_TYPE, "OFPBRC_BAD_TYPE"),
        (OfpError::BRC_BAD_LEN, "OFPBRC_BAD_LEN"),
        (OfpError::BRC_BAD_VENDOR, "OFPBRC_BAD_VENDOR"),
        (OfpError::BRC_BAD_SUBTYPE, "OFPBRC_BAD_SUBTYPE"),
        (OfpError::BRC_BAD_STAT, "OFPBRC_BAD_STAT"),
        (OfpError::BMC_BAD_PREREQ, "OFPBMC_BAD_PREREQ"),
        (OfpError::BAC_BAD_OUT_PORT, "OFPBAC_BAD_OUT_PORT"),
    ];
    for (e, name) in cases {
        for (v, prefix) in [
            (Version::Of10, "OFPT_ERROR (xid=0x1):"),
            (Version::Of13, "OFPT_ERROR (OF1.3) (xid=0x1):"),
        ] {
            let out = print(v, &Msg::Error(ErrorMsg::reply_to(e, &offending)));
            assert_lines(
                &out,
                &[
                    &format!("{prefix} {name}"),
                    "OFPT_BARRIER_REQUEST (xid=0x5):",
                ],
            );
        }
    }
    // Every error we know, in both versions: ovs-ofctl names it (or, for an error 1.0
    // cannot carry, names the error Open vSwitch sends instead).
    for (e, in10) in msg::known_errors() {
        let out = print(
            Version::Of13,
            &Msg::Error(ErrorMsg::reply_to(e, &offending)),
        );
        assert!(
            out.contains(&format!("(OF1.3) (xid=0x1): {}\n", e.name)),
            "{out}"
        );
        let out = print(
            Version::Of10,
            &Msg::Error(ErrorMsg::reply_to(e, &offending)),
        );
        let name = if in10 {
            e.name
        } else {
            "NXBRC_UNENCODABLE_ERROR"
        };
        // 1.0 numbers OFPBRC_IS_SECONDARY like OFPBRC_EPERM.
        let name = if e == OfpError::BRC_IS_SECONDARY {
            "OFPBRC_EPERM"
        } else {
            name
        };
        assert!(
            out.contains(&format!("OFPT_ERROR (xid=0x1): {name}\n")),
            "{out}"
        );
    }
    // An error 1.0 cannot carry.
    let out = print(
        Version::Of10,
        &Msg::Error(ErrorMsg::reply_to(OfpError::BIC_UNSUP_INST, &offending)),
    );
    assert!(
        out.contains("OFPT_ERROR (xid=0x1): OFPBIC_UNSUP_INST"),
        "{out}"
    );
    // Version negotiation failure.
    let hello = Hello { bitmap: Some(0x60) };
    let e = ErrorMsg::hello_failed(&Version::SUPPORTED, 6, &hello);
    let out = print(Version::Of10, &Msg::Error(e));
    assert_lines(
        &out,
        &[
            "OFPT_ERROR (xid=0x1): OFPHFC_INCOMPATIBLE",
            "We support version(s) 0x01, 0x04, you support version(s) 0x05, 0x06.",
        ],
    );
}
