//! Debian's real `ovs-ofctl` holds whole conversations with a tiny switch made of nothing
//! but the OpenFlow message layer (`ofproto::ofp::msg`): negotiation, the helper
//! connections, requests and replies of both versions, flow-mods it sends, errors.

use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::process::Command;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use ofproto::ofctl::format::{actions_to_string, match_to_string};
use ofproto::ofctl::{self, FlowModCommand};
use ofproto::ofp::Version;
use ofproto::ofp::msg::{
    self, DecodeOptions, ErrorMsg, FeaturesReply, FlowStats, Hello, Msg, MultipartReply,
    MultipartReplyBody, MultipartRequest, PortDesc, SwitchConfig, TableFeatureSet, TableFeatures,
    TableStats,
};
use ofproto::{FlowModFlags, OfpPort};
use tests::{have, require};

fn ports() -> Vec<PortDesc> {
    [(1, "p1"), (2, "p2"), (0xfffe, "br0")]
        .into_iter()
        .map(|(no, name)| PortDesc {
            port_no: OfpPort(no),
            hw_addr: [2, 0, 0, 0, 0, u8::try_from(no & 0xff).unwrap()],
            name: name.into(),
            ..PortDesc::default()
        })
        .collect()
}

fn the_flow() -> FlowStats {
    let fm = ofctl::parse_flow_mod(
        "priority=10,in_port=1,actions=output:2",
        FlowModCommand::Add,
        None,
    )
    .unwrap();
    FlowStats {
        table_id: 0,
        duration_sec: 3,
        duration_nsec: 0,
        priority: 10,
        idle_timeout: 0,
        hard_timeout: 0,
        flags: FlowModFlags::empty(),
        cookie: 0,
        packet_count: 7,
        byte_count: 420,
        idle_age: Some(1),
        hard_age: Some(3),
        match_: fm.match_,
        actions: fm.actions,
    }
}

/// The answer of the tiny switch to `m`.
fn answer(v: Version, m: &Msg) -> Option<Msg> {
    let reply = |body| Some(Msg::MultipartReply(MultipartReply { more: false, body }));
    match m {
        Msg::EchoRequest(d) => Some(Msg::EchoReply(d.clone())),
        Msg::BarrierRequest => Some(Msg::BarrierReply),
        Msg::FeaturesRequest => Some(Msg::FeaturesReply(FeaturesReply {
            datapath_id: 0xabc,
            n_tables: 254,
            capabilities: 0x47,
            ports: if v == Version::Of10 { ports() } else { vec![] },
            ..FeaturesReply::default()
        })),
        Msg::GetConfigRequest => Some(Msg::GetConfigReply(SwitchConfig {
            flags: 0,
            miss_send_len: 128,
        })),
        Msg::MultipartRequest(r) => match r {
            MultipartRequest::PortDesc => reply(MultipartReplyBody::PortDesc(ports())),
            MultipartRequest::Table => reply(MultipartReplyBody::Table(vec![TableStats {
                table_id: 0,
                name: "classifier".into(),
                active_count: 1,
                ..TableStats::default()
            }])),
            MultipartRequest::TableFeatures => reply(MultipartReplyBody::TableFeatures(
                (0..254u8)
                    .map(|t| TableFeatures {
                        table_id: t,
                        name: format!("table{t}"),
                        max_entries: 1_000_000,
                        features: TableFeatureSet {
                            instructions: vec![1, 2, 3, 4, 5, 6],
                            next_tables: (t + 1..254).collect(),
                            apply_actions: vec![0],
                            write_actions: vec![0],
                            ..TableFeatureSet::default()
                        },
                        match_: vec![0x8000_0004],
                        ..TableFeatures::default()
                    })
                    .collect(),
            )),
            MultipartRequest::Flow(_) => reply(MultipartReplyBody::Flow(vec![FlowStats {
                idle_age: None,
                hard_age: None,
                ..the_flow()
            }])),
            MultipartRequest::NxFlow(_) => reply(MultipartReplyBody::NxFlow(vec![the_flow()])),
            _ => None,
        },
        _ => None,
    }
}

/// Serves one connection: hello, then answers; flow-mods go to `seen`.
fn serve(mut s: UnixStream, seen: mpsc::Sender<(Version, Msg)>) {
    let mut out = Vec::new();
    let (hv, hello) = Hello::for_versions(&Version::SUPPORTED);
    msg::encode(hv, 0, &Msg::Hello(hello), &mut out).unwrap();
    s.write_all(&out).unwrap();
    let mut buf = Vec::new();
    let mut version = None;
    let mut opts = DecodeOptions::default();
    let mut chunk = [0u8; 65536];
    loop {
        while let Ok(Some(n)) = msg::frame_len(&buf) {
            if buf.len() < n {
                break;
            }
            let raw: Vec<u8> = buf.drain(..n).collect();
            let mut out = Vec::new();
            match msg::decode_with(&raw, opts) {
                Ok((h, Msg::Hello(hello))) => {
                    version = Some(msg::negotiate(&Version::SUPPORTED, h.version, &hello).unwrap());
                }
                Ok((h, m)) => {
                    let v = version.unwrap();
                    if let Msg::FlowModTableId(set) = m {
                        opts.flow_mod_table_id = set;
                    }
                    if matches!(m, Msg::FlowMod(_)) {
                        seen.send((v, m.clone())).unwrap();
                    }
                    if let Some(a) = answer(v, &m) {
                        msg::encode(v, h.xid, &a, &mut out).unwrap();
                    }
                }
                Err(e) => {
                    let v = version.unwrap_or(Version::Of10);
                    let m = Msg::Error(ErrorMsg::reply_to(e.error, &raw));
                    msg::encode(v, e.xid, &m, &mut out).unwrap();
                }
            }
            if s.write_all(&out).is_err() {
                return;
            }
        }
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

fn ofctl(sock: &str, args: &[&str]) -> String {
    let o = Command::new("ovs-ofctl")
        .args(args)
        .arg(sock)
        .args(["--timeout", "5"])
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(o.status.success(), "ovs-ofctl {args:?}: {text}");
    text
}

fn ofctl_flow(sock: &str, args: &[&str], flow: &str) -> String {
    let mut all: Vec<&str> = args.to_vec();
    all.push(sock);
    all.push(flow);
    let o = Command::new("ovs-ofctl").args(&all).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(o.status.success(), "ovs-ofctl {all:?}: {text}");
    text
}

/// A directory removed when the test ends, passed or failed.
struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn ovs_ofctl_talks_to_the_message_layer() {
    require!(
        have("ovs-ofctl"),
        "needs Debian's ovs-ofctl (openvswitch-common)"
    );
    let dir = TempDir(std::env::temp_dir().join(format!("rovs-ofmsg-{}", std::process::id())));
    std::fs::create_dir_all(&dir.0).unwrap();
    let path = dir.0.join("br0.mgmt");
    let _ = std::fs::remove_file(&path);
    let listener = UnixListener::bind(&path).unwrap();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for s in listener.incoming() {
            let Ok(s) = s else { return };
            let tx = tx.clone();
            thread::spawn(move || serve(s, tx));
        }
    });
    let sock = format!("unix:{}", path.display());

    let out = ofctl(&sock, &["show"]);
    assert!(
        out.contains("OFPT_FEATURES_REPLY (xid=0x2): dpid:0000000000000abc"),
        "{out}"
    );
    assert!(out.contains(" 2(p2): addr:02:00:00:00:00:02"), "{out}");
    assert!(out.contains(" LOCAL(br0): addr:02:00:00:00:00:fe"), "{out}");
    assert!(
        out.contains("OFPT_GET_CONFIG_REPLY (xid=0x4): frags=normal miss_send_len=128"),
        "{out}"
    );
    let out = ofctl(&sock, &["-O", "OpenFlow13", "show"]);
    assert!(
        out.contains("OFPT_FEATURES_REPLY (OF1.3) (xid=0x2): dpid:0000000000000abc"),
        "{out}"
    );
    assert!(out.contains(" 1(p1): addr:02:00:00:00:00:01"), "{out}");

    // dump-flows: NXST_FLOW by default, OFPST_FLOW in 1.3.
    let out = ofctl(&sock, &["dump-flows"]);
    assert!(
        out.contains(
            " cookie=0x0, duration=3s, table=0, n_packets=7, n_bytes=420, idle_age=1, \
             priority=10,in_port=1 actions=output:2"
        ),
        "{out}"
    );
    let out = ofctl(&sock, &["-O", "OpenFlow13", "dump-flows"]);
    assert!(
        out.contains(
            " cookie=0x0, duration=3s, table=0, n_packets=7, n_bytes=420, \
             priority=10,in_port=1 actions=output:2"
        ),
        "{out}"
    );
    let out = ofctl(&sock, &["-O", "OpenFlow13", "dump-tables"]);
    assert!(out.contains("table 0"), "{out}");

    // add-flow in both versions (with the helper connections for the port and table
    // names): the flow-mods arrive as meant.
    ofctl_flow(
        &sock,
        &["add-flow"],
        "table=3,priority=7,in_port=p1,tcp,tp_dst=80,actions=p2",
    );
    ofctl_flow(
        &sock,
        &["-O", "OpenFlow13", "add-flow"],
        "in_port=2,actions=output:1",
    );
    ofctl_flow(&sock, &["add-flow"], "ipv6,ipv6_dst=::1,actions=drop");
    let mut got = Vec::new();
    while let Ok((v, Msg::FlowMod(m))) = rx.recv_timeout(Duration::from_secs(5)) {
        got.push(format!(
            "{v:?} table={} {} actions={}",
            m.fm.table_id,
            match_to_string(&m.fm.match_, Some(m.fm.priority), None),
            actions_to_string(&m.fm.actions, None)
        ));
        if got.len() == 3 {
            break;
        }
    }
    assert_eq!(
        got,
        [
            "Of10 table=3 priority=7,tcp,in_port=1,tp_dst=80 actions=output:2",
            "Of13 table=0 in_port=2 actions=output:1",
            "Of10 table=255 ipv6,ipv6_dst=::1 actions=drop",
        ]
    );
}
