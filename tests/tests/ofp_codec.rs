//! Our OpenFlow match and action encodings, read by Debian's real `ovs-ofctl`: its developer
//! commands decode our bytes and print what OVS understood, which must be what our own
//! ofctl formatting prints for the same match or actions. This proves OVS reads our bytes
//! as we meant them (and, where OVS re-encodes, that it writes the very same bytes).
//!
//! Needs `ovs-ofctl` (Debian's openvswitch-common); skips loudly without it, fails in CI.

use std::io::Write;
use std::process::{Command, Stdio};

use ofproto::Match;
use ofproto::ofctl::{self, format};
use ofproto::ofp::{Version, actions, match10, oxm};
use tests::{have, require};

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Runs `ovs-ofctl ARGS` with `input` on stdin; returns stdout (stderr is OVS's log).
fn ofctl_stdin(args: &[&str], input: &str) -> String {
    let mut child = Command::new("ovs-ofctl")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run ovs-ofctl");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{input}\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "ovs-ofctl {args:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

fn m(s: &str) -> Match {
    ofctl::parse_match(s, None).unwrap().0
}

const MATCHES: &[&str] = &[
    "",
    "in_port=1",
    "in_port=LOCAL,dl_src=00:11:22:33:44:55,dl_dst=01:00:00:00:00:00/01:00:00:00:00:00",
    "ip,nw_src=10.0.0.0/8,nw_dst=1.2.3.4",
    "tcp,tp_dst=80,tcp_flags=+syn-ack",
    "tcp,tp_src=0x1000/0xf000",
    "udp6,ipv6_src=2001:db8::/32,udp_src=53",
    "ipv6,ipv6_label=0x12345,nw_tos=32,nw_ecn=1,nw_ttl=64",
    "ip,nw_frag=later",
    "arp,arp_op=2,arp_spa=1.2.3.4,arp_tpa=5.6.7.0/24,arp_sha=00:11:22:33:44:55",
    "icmp6,icmp_type=135,icmp_code=0,nd_target=fe80::1,nd_sll=00:11:22:33:44:55",
    "icmp6,icmp_type=136,icmp_code=0,nd_tll=00:11:22:33:44:55",
    "icmp,icmp_type=8,icmp_code=0",
    "sctp,tp_src=5,tp_dst=6",
    "dl_vlan=10",
    "dl_vlan=10,dl_vlan_pcp=3",
    "dl_vlan_pcp=5",
    "vlan_tci=0x0000",
    "vlan_tci=0x1000/0x1000",
    "reg0=0x5/0xff,reg15=0x1,metadata=0x1234/0xffff,pkt_mark=0x7",
    "recirc_id=5,dp_hash=0x3/0xf",
    "tcp,in_port=3,nw_dst=10.0.0.0/8,tp_dst=80",
];

/// NXM and OXM: `ovs-ofctl parse-nxm` / `parse-oxm` decode our TLVs and print OVS's own
/// re-encoding, which must be ours, TLV for TLV.
#[test]
fn ovs_reencodes_our_tlvs_identically() {
    require!(have("ovs-ofctl"), "needs ovs-ofctl (openvswitch-common)");
    for s in MATCHES {
        let mt = m(s);
        let mut nxm = Vec::new();
        oxm::encode(&mt, false, &mut nxm);
        let text = oxm::tlvs_to_string(&nxm).unwrap();
        let ovs = ofctl_stdin(&["parse-nxm"], &text);
        assert_eq!(ovs.trim(), text, "NXM of {s:?}");
        if oxm::oxm_can_express(&mt) {
            let mut ox = Vec::new();
            oxm::encode(&mt, true, &mut ox);
            let text = oxm::tlvs_to_string(&ox).unwrap();
            let ovs = ofctl_stdin(&["parse-oxm", "OpenFlow13"], &text);
            assert_eq!(ovs.trim(), text, "OXM of {s:?}");
        }
    }
}

/// OpenFlow 1.0: `ovs-ofctl parse-ofp10-match` prints the match our bytes mean and lists
/// every byte it would have written differently (none).
#[test]
fn ovs_reads_our_of10_matches() {
    require!(have("ovs-ofctl"), "needs ovs-ofctl (openvswitch-common)");
    let mut n = 0;
    for s in MATCHES {
        let mt = m(s);
        let Some(b) = match10::encode(&mt) else {
            continue;
        };
        n += 1;
        let ovs = ofctl_stdin(&["parse-ofp10-match"], &hex(&b));
        let mut lines = ovs.lines();
        assert_eq!(lines.next(), Some(mt.to_string().as_str()), "{s:?}");
        let diffs: Vec<&str> = lines.filter(|l| !l.trim().is_empty()).collect();
        assert!(diffs.is_empty(), "{s:?}: OVS normalizes {diffs:?}");
    }
    assert!(n >= 10, "too few OpenFlow 1.0 matches were tested ({n})");
}

/// Action lists: `ovs-ofctl parse-actions` / `parse-instructions` decode our bytes and
/// print them as we print what we decode from them; where the version keeps the spelling,
/// that is the list as written.
#[test]
fn ovs_reads_our_actions() {
    require!(have("ovs-ofctl"), "needs ovs-ofctl (openvswitch-common)");
    // (version, actions as written, how they print after the version's respelling).
    let cases: &[(Version, &str, Option<&str>)] = &[
        (
            Version::Of10,
            "output:2,NORMAL,FLOOD,ALL,LOCAL,IN_PORT",
            None,
        ),
        (Version::Of10, "CONTROLLER:100", None),
        (Version::Of10, "controller(reason=no_match,id=3)", None),
        (Version::Of10, "controller(userdata=01.02,pause)", None),
        (
            Version::Of10,
            "mod_vlan_vid:5,mod_vlan_pcp:2,strip_vlan",
            None,
        ),
        (
            Version::Of10,
            "mod_dl_src:00:11:22:33:44:55,mod_dl_dst:01:02:03:04:05:06",
            None,
        ),
        (
            Version::Of10,
            "mod_nw_src:1.2.3.4,mod_nw_dst:5.6.7.8,mod_nw_tos:16",
            None,
        ),
        (Version::Of10, "mod_tp_src:1,mod_tp_dst:2", None),
        (Version::Of10, "enqueue:1:2,set_queue:3,pop_queue", None),
        (Version::Of10, "resubmit:3,resubmit(,4),resubmit(5,6)", None),
        (
            Version::Of10,
            "load:0x5->NXM_NX_REG0[0..7],move:NXM_NX_REG0[0..7]->NXM_NX_REG1[8..15]",
            None,
        ),
        (Version::Of10, "load:0x1->NXM_NX_XXREG0[100..120]", None),
        (
            Version::Of10,
            "move:NXM_OF_VLAN_TCI[0..11]->NXM_NX_REG2[0..11],output:NXM_NX_REG0[0..15]",
            None,
        ),
        (Version::Of10, "note:01.02.03.04.05.06", None),
        (Version::Of10, "dec_ttl,dec_ttl(1,2)", None),
        (
            Version::Of10,
            "set_field:00:11:22:33:44:55->eth_dst",
            Some("mod_dl_dst:00:11:22:33:44:55"),
        ),
        (
            Version::Of10,
            "set_field:0x5->reg1",
            Some("load:0x5->NXM_NX_REG1[]"),
        ),
        (
            Version::Of10,
            "mod_nw_ttl:9",
            Some("load:0x9->NXM_NX_IP_TTL[]"),
        ),
        (Version::Of10, "load:0x1->OXM_OF_PKT_REG0[]", None),
        (
            Version::Of10,
            "load:0x1->NXM_NX_XXREG1[]",
            Some("load:0x1->NXM_NX_XXREG1[0..63],load:0->NXM_NX_XXREG1[64..127]"),
        ),
        (
            Version::Of10,
            "set_field:0x5->in_port",
            Some("load:0x5->NXM_OF_IN_PORT[]"),
        ),
        (
            Version::Of13,
            "set_field:5->in_port,set_field:0x1->pkt_mark",
            None,
        ),
        (Version::Of13, "output:2,CONTROLLER:65535", None),
        (Version::Of13, "group:5,set_queue:2,pop_queue", None),
        (
            Version::Of13,
            "push_vlan:0x8100,set_field:4101->vlan_vid,pop_vlan",
            None,
        ),
        (
            Version::Of13,
            "mod_vlan_vid:5",
            Some("push_vlan:0x8100,set_field:4101->vlan_vid"),
        ),
        (
            Version::Of13,
            "set_field:0x2->reg1,set_field:0x5->metadata",
            None,
        ),
        (
            Version::Of13,
            "set_field:1/1->reg0",
            Some("load:0x1->NXM_NX_REG0[0]"),
        ),
        (
            Version::Of13,
            "mod_dl_src:00:11:22:33:44:55",
            Some("set_field:00:11:22:33:44:55->eth_src"),
        ),
        (Version::Of13, "meter:1,output:2", None),
        (
            Version::Of13,
            "clear_actions,write_actions(output:3,group:1),write_metadata:0x1/0xff,goto_table:2",
            None,
        ),
        (Version::Of13, "resubmit(,2),note:aa.bb.00.00.00.00", None),
        (
            Version::Of13,
            "controller(reason=no_match,max_len=128)",
            None,
        ),
        (
            Version::Of13,
            "enqueue:1:2",
            Some("set_queue:2,output:1,pop_queue"),
        ),
    ];
    for (v, written, printed) in cases {
        let list = ofctl::parse_actions(written, None).unwrap();
        let mut b = Vec::new();
        actions::encode_instructions(*v, &list, &mut b).unwrap();
        let ours = actions::decode_instructions(*v, &b).unwrap();
        let ours = format::actions_to_string(&ours, None);
        assert_eq!(ours, printed.unwrap_or(written), "{v:?} {written}");
        let cmd = if *v == Version::Of10 {
            ["parse-actions", "OpenFlow10"]
        } else {
            ["parse-instructions", "OpenFlow13"]
        };
        let ovs = ofctl_stdin(&cmd, &hex(&b));
        assert_eq!(ovs.trim(), format!("actions={ours}"), "{v:?} {written}");
    }
}

/// Whole flow-mods built from our match and action bytes, printed by `ovs-ofctl
/// ofp-print` exactly as our ofctl formatting prints the match and actions: OpenFlow 1.0
/// (`ofp10_match`), Nicira (`NXT_FLOW_MOD`, NXM) and OpenFlow 1.3 (OXM, instructions).
#[test]
fn ovs_prints_flow_mods_as_we_do() {
    require!(have("ovs-ofctl"), "needs ovs-ofctl (openvswitch-common)");
    let mut flows: Vec<(&str, &str)> = MATCHES.iter().map(|s| (*s, "output:2")).collect();
    flows.extend([
        ("tcp", "mod_tp_src:5,mod_tp_dst:6"),
        ("udp", "mod_tp_dst:7"),
        (
            "ip",
            "mod_nw_ttl:5,dec_ttl,mod_nw_tos:8,mod_nw_ecn:2,mod_nw_dst:1.2.3.4",
        ),
        ("dl_vlan=3", "mod_vlan_vid:5,mod_vlan_pcp:2"),
        ("ipv6", "set_field:::1->ipv6_src"),
    ]);
    for (ms, acts) in flows {
        let mt = m(ms);
        let list = ofctl::parse_actions(acts, None).unwrap();
        let want_match = format::match_to_string(&mt, None, None);
        let line = |prefix: &str, decoded: &[ofproto::Action]| {
            let a = format::actions_to_string(decoded, None);
            if want_match.is_empty() {
                format!("{prefix}: ADD actions={a}")
            } else {
                format!("{prefix}: ADD {want_match} actions={a}")
            }
        };

        // OpenFlow 1.0 flow-mod, when ofp10_match can say it.
        if let Some(m10) = match10::encode(&mt) {
            let mut a = Vec::new();
            actions::encode_actions_for(Version::Of10, &list, Some(&mt), &mut a).unwrap();
            let mut body = m10.to_vec();
            body.extend_from_slice(&[0; 8]); // cookie
            body.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0x80, 0, 0xff, 0xff, 0xff, 0xff]);
            body.extend_from_slice(&[0xff, 0xff, 0, 0]); // out_port NONE, flags
            body.extend_from_slice(&a);
            let msg = message(1, 14, &body);
            let dec = actions::decode_actions(Version::Of10, &a).unwrap();
            assert_eq!(
                ofp_print(&msg),
                line("OFPT_FLOW_MOD (xid=0x1)", &dec),
                "{ms} {acts}"
            );
        }

        // NXT_FLOW_MOD with an NXM match.
        let mut nxm = Vec::new();
        let n = oxm::encode(&mt, false, &mut nxm);
        nxm.resize(n.div_ceil(8) * 8, 0);
        let mut a = Vec::new();
        actions::encode_actions_for(Version::Of10, &list, Some(&mt), &mut a).unwrap();
        let mut body = vec![0, 0, 0x23, 0x20, 0, 0, 0, 13]; // Nicira, NXT_FLOW_MOD
        body.extend_from_slice(&[0; 8]); // cookie
        body.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0x80, 0, 0xff, 0xff, 0xff, 0xff]);
        body.extend_from_slice(&[0xff, 0xff, 0, 0]); // out_port, flags
        body.extend_from_slice(&u16::try_from(n).unwrap().to_be_bytes());
        body.extend_from_slice(&[0; 6]);
        body.extend_from_slice(&nxm);
        body.extend_from_slice(&a);
        let dec = actions::decode_actions(Version::Of10, &a).unwrap();
        assert_eq!(
            ofp_print(&message(1, 4, &body)),
            line("NXT_FLOW_MOD (xid=0x1)", &dec),
            "{ms} {acts}"
        );

        // OpenFlow 1.3 flow-mod.
        if oxm::oxm_can_express(&mt) {
            let mut ins = Vec::new();
            actions::encode_instructions_for(Version::Of13, &list, Some(&mt), &mut ins).unwrap();
            let mut body = vec![0; 16]; // cookie, cookie_mask
            body.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0x80, 0, 0xff, 0xff, 0xff, 0xff]);
            body.extend_from_slice(&[0xff; 8]); // out_port, out_group ANY
            body.extend_from_slice(&[0; 4]); // flags, pad
            oxm::encode_ofp11_match(&mt, &mut body);
            body.extend_from_slice(&ins);
            let dec = actions::decode_instructions(Version::Of13, &ins).unwrap();
            assert_eq!(
                ofp_print(&message(4, 14, &body)),
                line("OFPT_FLOW_MOD (OF1.3) (xid=0x1)", &dec),
                "{ms} {acts}"
            );
        }
    }
}

fn message(version: u8, typ: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![version, typ];
    m.extend_from_slice(&u16::try_from(8 + body.len()).unwrap().to_be_bytes());
    m.extend_from_slice(&1u32.to_be_bytes());
    m.extend_from_slice(body);
    m
}

fn ofp_print(msg: &[u8]) -> String {
    let out = Command::new("ovs-ofctl")
        .args(["ofp-print", &hex(msg)])
        .output()
        .expect("run ovs-ofctl");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}
