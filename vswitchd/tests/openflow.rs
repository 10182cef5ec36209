//! OpenFlow end to end: Debian's `ovs-ofctl` against our daemon's management socket
//! `<rundir>/<bridge>.mgmt` (the run directory is the test's own, through `OVS_RUNDIR`),
//! with its default OpenFlow 1.0 and with `-O OpenFlow13`; hosts in network namespaces that
//! ping only through flows added that way; malformed messages written raw on the socket;
//! and a controller connection the test itself plays.
//!
//! The tests that need no devices run the bridge on the in-memory datapath (`dummy`); those
//! with hosts need root (CI runs them as root; elsewhere they skip with a `SKIP` line).

// Test helpers: failing loudly is what they are for.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::os::unix::net::UnixStream;
use std::process::Command;
use std::time::{Duration, Instant};

use common::net::{Host, switch_netns};
use common::*;

/// Two dummy ports with fixed OpenFlow numbers on the in-memory datapath.
const DUMMY: &str = r#"
[[bridge]]
name = "br0"
datapath_type = "dummy"

[[bridge.port]]
name = "p1"
interface = { type = "dummy", ofport_request = 1 }

[[bridge.port]]
name = "p2"
interface = { type = "dummy", ofport_request = 2 }
"#;

/// Runs `ovs-ofctl [-O VERSION] ARGS` with the test's run directory; (rc, stdout, stderr).
fn ofctl(env: &Env, version: Option<&str>, args: &[&str]) -> (i32, String, String) {
    let mut c = Command::new("ovs-ofctl");
    if let Some(v) = version {
        c.args(["-O", v]);
    }
    c.args(args).env("OVS_RUNDIR", env.dir.path());
    let out = run_bounded(c, Duration::from_secs(20));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `ovs-ofctl` that must succeed; its stdout.
fn ofctl_ok(env: &Env, version: Option<&str>, args: &[&str]) -> String {
    let (rc, out, err) = ofctl(env, version, args);
    assert_eq!(
        rc, 0,
        "ovs-ofctl {version:?} {args:?} failed: {err}\nstdout: {out}"
    );
    out
}

/// The flow lines of `dump-flows` (without the reply header), with the cookie, counters
/// and ages (which change between dumps) removed, sorted: `table=0, priority=...`.
fn flow_lines(dump: &str) -> Vec<String> {
    let mut v: Vec<String> = dump
        .lines()
        .filter(|l| l.starts_with(' '))
        .map(|l| {
            l.split(", ")
                .filter(|f| {
                    ![
                        "cookie=",
                        "duration=",
                        "n_packets=",
                        "n_bytes=",
                        "idle_age=",
                        "hard_age=",
                    ]
                    .iter()
                    .any(|k| f.trim_start().starts_with(k))
                })
                .collect::<Vec<_>>()
                .join(", ")
                .trim()
                .to_owned()
        })
        .collect();
    v.sort();
    v
}

/// `n_packets=` of the flow line of `dump` that contains `needle`.
fn n_packets(dump: &str, needle: &str) -> u64 {
    let line = dump
        .lines()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no flow with {needle:?} in:\n{dump}"));
    let v = line
        .split(", ")
        .find_map(|f| f.trim().strip_prefix("n_packets="))
        .unwrap_or_else(|| panic!("no n_packets in {line}"));
    v.parse().unwrap()
}

#[test]
fn ofctl_commands_in_openflow10_and_13() {
    tests::require!(
        tests::have("ovs-ofctl"),
        "needs ovs-ofctl (openvswitch-common)"
    );
    let env = Env::with_config(DUMMY);
    let _d = env.start(&[]);
    wait_until("the management socket", || env.path("br0.mgmt").exists());

    for version in [None, Some("OpenFlow13")] {
        let tag = version.unwrap_or("OpenFlow10");
        // show: the datapath, 254 tables, every port with its name, LOCAL included.
        let show = ofctl_ok(&env, version, &["show", "br0"]);
        assert!(show.contains("n_tables:254"), "{tag}: {show}");
        for port in [" 1(p1): addr:", " 2(p2): addr:", " LOCAL(br0): addr:"] {
            assert!(show.contains(port), "{tag}: {port} missing in {show}");
        }
        assert!(show.contains("OFPT_GET_CONFIG_REPLY"), "{tag}: {show}");

        // dump-ports-desc: the same ports.
        let desc = ofctl_ok(&env, version, &["dump-ports-desc", "br0"]);
        assert!(desc.contains(" 1(p1): addr:"), "{tag}: {desc}");
        assert!(desc.contains(" LOCAL(br0): addr:"), "{tag}: {desc}");

        // Start from an empty table.
        ofctl_ok(&env, version, &["del-flows", "br0"]);
        assert_eq!(
            flow_lines(&ofctl_ok(&env, version, &["dump-flows", "br0"])),
            Vec::<String>::new(),
            "{tag}"
        );

        // add-flow, and add-flows from a file.
        ofctl_ok(
            &env,
            version,
            &["add-flow", "br0", "priority=10,in_port=1,actions=output:2"],
        );
        let file = env.path("flows.txt");
        std::fs::write(
            &file,
            "priority=20,ip,nw_dst=10.0.0.2,actions=output:2\n\
             # a comment\n\
             priority=20,ip,nw_dst=10.0.0.1,actions=output:1\n\
             priority=5,actions=drop\n",
        )
        .unwrap();
        ofctl_ok(&env, version, &["add-flows", "br0", file.to_str().unwrap()]);
        let dump = ofctl_ok(&env, version, &["dump-flows", "br0"]);
        assert_eq!(
            flow_lines(&dump),
            [
                "table=0, priority=10,in_port=1 actions=output:2",
                "table=0, priority=20,ip,nw_dst=10.0.0.1 actions=output:1",
                "table=0, priority=20,ip,nw_dst=10.0.0.2 actions=output:2",
                "table=0, priority=5 actions=drop",
            ],
            "{tag}: {dump}"
        );
        assert!(dump.contains("n_packets=0"), "{tag}: {dump}");

        // mod-flows changes the actions of every flow it matches.
        ofctl_ok(&env, version, &["mod-flows", "br0", "ip,actions=output:1"]);
        let lines = flow_lines(&ofctl_ok(&env, version, &["dump-flows", "br0"]));
        assert!(
            lines.contains(&"table=0, priority=20,ip,nw_dst=10.0.0.2 actions=output:1".to_owned()),
            "{tag}: {lines:?}"
        );

        // del-flows --strict takes exactly one flow; plain del-flows every match.
        ofctl_ok(
            &env,
            version,
            &[
                "--strict",
                "del-flows",
                "br0",
                "priority=20,ip,nw_dst=10.0.0.1",
            ],
        );
        let lines = flow_lines(&ofctl_ok(&env, version, &["dump-flows", "br0"]));
        assert_eq!(lines.len(), 3, "{tag}: {lines:?}");
        assert!(
            !lines.iter().any(|l| l.contains("10.0.0.1")),
            "{tag}: {lines:?}"
        );
        // Not strict: `ip` covers the remaining ip flow, not the others.
        ofctl_ok(&env, version, &["del-flows", "br0", "ip"]);
        let lines = flow_lines(&ofctl_ok(&env, version, &["dump-flows", "br0"]));
        assert_eq!(
            lines,
            [
                "table=0, priority=10,in_port=1 actions=output:2",
                "table=0, priority=5 actions=drop"
            ],
            "{tag}"
        );
        // Strict with a priority that no flow has: nothing goes.
        ofctl_ok(
            &env,
            version,
            &["--strict", "del-flows", "br0", "priority=11,in_port=1"],
        );
        assert_eq!(
            flow_lines(&ofctl_ok(&env, version, &["dump-flows", "br0"])).len(),
            2,
            "{tag}"
        );

        // dump-ports: counters of every port; dump-tables: the tables with active counts.
        let ports = ofctl_ok(&env, version, &["dump-ports", "br0"]);
        assert!(ports.contains("3 ports"), "{tag}: {ports}");
        assert!(ports.contains("port  1: rx pkts="), "{tag}: {ports}");
        assert!(ports.contains("port LOCAL: rx pkts="), "{tag}: {ports}");
        let tables = ofctl_ok(&env, version, &["dump-tables", "br0"]);
        assert!(tables.contains("active=2"), "{tag}: {tables}");

        // A flow-mod the switch refuses: the error comes back and ovs-ofctl fails.
        let (rc, _, err) = ofctl(
            &env,
            version,
            &["add-flow", "br0", "table=254,actions=drop"],
        );
        assert_ne!(rc, 0, "{tag}: a flow in the hidden table was accepted");
        assert!(
            err.contains("OFPT_ERROR") || err.contains("OFPBRC"),
            "{tag}: {err}"
        );
    }

    // dump-aggregate sums the flows; dump-desc says who we are.
    let agg = ofctl_ok(&env, None, &["dump-aggregate", "br0"]);
    assert!(agg.contains("flow_count=2"), "{agg}");
    let agg = ofctl_ok(&env, Some("OpenFlow13"), &["dump-aggregate", "br0"]);
    assert!(agg.contains("flow_count=2"), "{agg}");
    let desc = ofctl_ok(&env, None, &["dump-desc", "br0"]);
    assert!(desc.contains("Hardware: rovs"), "{desc}");

    // mod-port takes a port down and up again, and the port description follows.
    for v in [None, Some("OpenFlow13")] {
        ofctl_ok(&env, v, &["mod-port", "br0", "p1", "down"]);
        let desc = ofctl_ok(&env, v, &["dump-ports-desc", "br0"]);
        let p1 = desc.split(" 2(p2)").next().unwrap();
        assert!(p1.contains("config:     PORT_DOWN"), "{v:?}: {desc}");
        ofctl_ok(&env, v, &["mod-port", "br0", "p1", "up"]);
        let desc = ofctl_ok(&env, v, &["dump-ports-desc", "br0"]);
        assert!(!desc.contains("PORT_DOWN"), "{v:?}: {desc}");
    }
    let (rc, _, err) = ofctl(&env, None, &["mod-port", "br0", "99", "down"]);
    assert_ne!(rc, 0, "mod-port of a missing port succeeded");
    assert!(!err.is_empty());

    // Groups (1.3): add, dump, stats, delete.
    let v13 = Some("OpenFlow13");
    ofctl_ok(
        &env,
        v13,
        &[
            "add-group",
            "br0",
            "group_id=1,type=all,bucket=output:1,bucket=output:2",
        ],
    );
    let groups = ofctl_ok(&env, v13, &["dump-groups", "br0"]);
    assert!(
        groups.contains("group_id=1,type=all,bucket=actions=output:1,bucket=actions=output:2"),
        "{groups}"
    );
    let stats = ofctl_ok(&env, v13, &["dump-group-stats", "br0"]);
    assert!(stats.contains("group_id=1,"), "{stats}");
    let (rc, _, err) = ofctl(&env, v13, &["add-group", "br0", "group_id=1,type=all"]);
    assert_ne!(rc, 0);
    assert!(err.contains("OFPGMFC_GROUP_EXISTS"), "{err}");
    ofctl_ok(&env, v13, &["del-groups", "br0"]);
    let groups = ofctl_ok(&env, v13, &["dump-groups", "br0"]);
    assert!(!groups.contains("group_id=1"), "{groups}");

    // The default version and 1.3 see the same table.
    let a = flow_lines(&ofctl_ok(&env, None, &["dump-flows", "br0"]));
    let b = flow_lines(&ofctl_ok(&env, Some("OpenFlow13"), &["dump-flows", "br0"]));
    assert_eq!(a, b);
}

/// `ovs-ofctl monitor` (or `snoop`) in the background, what it prints collected; killed
/// when dropped.
struct Monitor {
    child: std::process::Child,
    out: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Monitor {
    fn start(env: &Env, version: Option<&str>, args: &[&str]) -> Monitor {
        let mut c = Command::new("ovs-ofctl");
        if let Some(v) = version {
            c.args(["-O", v]);
        }
        let mut child = c
            .args(args)
            .env("OVS_RUNDIR", env.dir.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // It prints what it receives on stderr (unbuffered), like its log.
        let mut stdout = child.stderr.take().unwrap();
        let out = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let o = out.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 {
                    break;
                }
                o.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        Monitor { child, out }
    }

    /// Waits until the output contains `needle`; the output.
    fn wait_for(&self, needle: &str) -> String {
        let t = Instant::now();
        loop {
            let out = self.out.lock().unwrap().clone();
            if out.contains(needle) {
                return out;
            }
            assert!(
                t.elapsed() < Duration::from_secs(10),
                "monitor never printed {needle:?}; it printed:\n{out}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn ofctl_monitor_sees_packet_ins_and_port_status() {
    tests::require!(
        tests::have("ovs-ofctl"),
        "needs ovs-ofctl (openvswitch-common)"
    );
    let one_port = DUMMY
        .split("\n[[bridge.port]]\nname = \"p2\"")
        .next()
        .unwrap()
        .to_owned();
    let env = Env::with_config(&one_port);
    let d = env.start(&[]);
    wait_until("the management socket", || env.path("br0.mgmt").exists());

    for (version, tag) in [(None, ""), (Some("OpenFlow13"), " (OF1.3)")] {
        let mon = Monitor::start(&env, version, &["monitor", "br0", "65534"]);
        // Connected (memory/show counts OpenFlow connections), then a moment for its
        // SET_CONFIG that asks for packet-ins.
        wait_until("the monitor to connect", || {
            d.call("memory/show", &[]).unwrap().contains("ofconns:1")
        });
        std::thread::sleep(Duration::from_millis(300));

        // A packet-out to CONTROLLER comes back as an unbuffered packet-in.
        let frame = "ffffffffffff0000000000010800450000140000000040000000000000000000000000";
        ofctl_ok(
            &env,
            None,
            &["packet-out", "br0", "LOCAL", "controller", frame],
        );
        let out = mon.wait_for("OFPT_PACKET_IN");
        assert!(out.contains(&format!("OFPT_PACKET_IN{tag} (xid=")), "{out}");
        assert!(
            out.contains("(via action)") || out.contains("reason=action"),
            "{out}"
        );
        assert!(out.contains("(unbuffered)"), "{out}");

        // A port taken down: PORT_STATUS MOD.
        ofctl_ok(&env, None, &["mod-port", "br0", "p1", "down"]);
        let out = mon.wait_for("MOD: 1(p1)");
        assert!(out.contains(&format!("OFPT_PORT_STATUS{tag}")), "{out}");
        assert!(out.contains("PORT_DOWN"), "{out}");
        ofctl_ok(&env, None, &["mod-port", "br0", "p1", "up"]);

        // A port added and deleted in the configuration: ADD, then DELETE.
        env.write_config(DUMMY);
        mon.wait_for("ADD: 2(p2)");
        env.write_config(&one_port);
        mon.wait_for("DEL: 2(p2)");
    }
}

#[test]
fn protocols_limit_the_versions_and_the_socket_goes_with_the_bridge() {
    tests::require!(
        tests::have("ovs-ofctl"),
        "needs ovs-ofctl (openvswitch-common)"
    );
    let only13 = DUMMY.replace(
        "datapath_type = \"dummy\"",
        "datapath_type = \"dummy\"\nprotocols = [\"OpenFlow13\"]",
    );
    let env = Env::with_config(&only13);
    let d = env.start(&[]);
    wait_until("the management socket", || env.path("br0.mgmt").exists());
    let (rc, _, err) = ofctl(&env, None, &["show", "br0"]);
    assert_ne!(rc, 0);
    assert!(err.contains("version negotiation failed"), "{err}");
    ofctl_ok(&env, Some("OpenFlow13"), &["show", "br0"]);

    // A bridge deleted from the configuration takes its socket with it.
    env.write_config("");
    wait_until("the socket to go", || !env.path("br0.mgmt").exists());
    assert!(!env.path("br0.snoop").exists());
    let (rc, _, err) = ofctl(&env, None, &["show", "br0"]);
    assert_ne!(rc, 0);
    assert!(err.contains("is not a bridge or a socket"), "{err}");

    // So does a daemon that exits.
    env.write_config(DUMMY);
    wait_until("the socket to come back", || env.path("br0.mgmt").exists());
    assert_eq!(d.call("exit", &[]), Ok(String::new()));
    let mut d = d;
    assert_eq!(d.wait_exit().0, 0);
    assert!(!env.path("br0.mgmt").exists());
    assert!(!env.path("br0.snoop").exists());
}

/// A raw OpenFlow peer on the management socket.
struct Raw {
    s: UnixStream,
}

impl Raw {
    fn connect(env: &Env, version: u8) -> Raw {
        let s = UnixStream::connect(env.path("br0.mgmt")).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut r = Raw { s };
        // Our hello: no bitmap, so the header's version is what we speak.
        r.send(&[version, 0, 0, 8, 0, 0, 0, 1]);
        let (h, _) = r.recv().expect("the switch's HELLO");
        assert_eq!(h[1], 0, "expected HELLO first");
        r
    }

    fn send(&mut self, bytes: &[u8]) {
        self.s.write_all(bytes).unwrap();
    }

    /// The next message: its header and body; `None` when the switch closed.
    fn recv(&mut self) -> Option<([u8; 8], Vec<u8>)> {
        let mut h = [0u8; 8];
        match self.s.read_exact(&mut h) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return None,
            Err(e) => panic!("reading from the switch: {e}"),
        }
        let len = usize::from(u16::from_be_bytes([h[2], h[3]]));
        let mut body = vec![0u8; len - 8];
        self.s.read_exact(&mut body).unwrap();
        Some((h, body))
    }

    /// Sends `msg` and returns the (type, code, xid) of the ERROR that answers it.
    fn expect_error(&mut self, msg: &[u8]) -> (u16, u16, u32) {
        self.send(msg);
        let (h, body) = self.recv().expect("an error reply");
        assert_eq!(h[1], 1, "expected OFPT_ERROR, got type {}", h[1]);
        let xid = u32::from_be_bytes([h[4], h[5], h[6], h[7]]);
        let t = u16::from_be_bytes([body[0], body[1]]);
        let c = u16::from_be_bytes([body[2], body[3]]);
        // The error carries the start of the offending message.
        let n = msg.len().min(64).min(body.len() - 4);
        assert_eq!(&body[4..4 + n], &msg[..n]);
        (t, c, xid)
    }

    /// An echo round trip: the reply has the request's xid and data.
    fn echo(&mut self, version: u8, xid: u8) {
        let req = [version, 2, 0, 12, 0, 0, 0, xid, 0xde, 0xad, 0xbe, 0xef];
        self.send(&req);
        let (h, body) = self.recv().expect("an echo reply");
        assert_eq!((h[0], h[1], h[7]), (version, 3, xid));
        assert_eq!(body, [0xde, 0xad, 0xbe, 0xef]);
    }
}

#[test]
fn malformed_messages_get_the_right_error_and_the_connection_survives() {
    let env = Env::with_config(DUMMY);
    let _d = env.start(&[]);
    wait_until("the management socket", || env.path("br0.mgmt").exists());

    // OpenFlow 1.0.
    let mut c = Raw::connect(&env, 1);
    c.echo(1, 0x10);
    // An unknown message type: OFPET_BAD_REQUEST / OFPBRC_BAD_TYPE, with the xid.
    assert_eq!(
        c.expect_error(&[1, 0x63, 0, 8, 0, 0, 0, 0x21]),
        (1, 1, 0x21)
    );
    // Another version than negotiated: OFPBRC_BAD_VERSION.
    assert_eq!(c.expect_error(&[4, 2, 0, 8, 0, 0, 0, 0x22]), (1, 0, 0x22));
    // A stats request of an unknown type: OFPBRC_BAD_STAT.
    assert_eq!(
        c.expect_error(&[1, 16, 0, 12, 0, 0, 0, 0x23, 0x7f, 0x00, 0, 0]),
        (1, 2, 0x23)
    );
    // A vendor message of an unknown vendor: OFPBRC_BAD_VENDOR.
    assert_eq!(
        c.expect_error(&[1, 4, 0, 16, 0, 0, 0, 0x24, 0, 0, 0x12, 0x34, 0, 0, 0, 0]),
        (1, 3, 0x24)
    );
    // A flow-mod cut short: OFPBRC_BAD_LEN.
    assert_eq!(
        c.expect_error(&[1, 14, 0, 16, 0, 0, 0, 0x25, 0, 0, 0, 0, 0, 0, 0, 0]),
        (1, 6, 0x25)
    );
    // A features reply (something only a switch sends): OFPBRC_BAD_TYPE.
    let mut fr = vec![1, 6, 0, 32, 0, 0, 0, 0x26];
    fr.resize(32, 0);
    assert_eq!(c.expect_error(&fr), (1, 1, 0x26));
    // Still up: echo works, and so does a real request.
    c.echo(1, 0x11);
    c.send(&[1, 18, 0, 8, 0, 0, 0, 0x27]); // BARRIER_REQUEST
    let (h, _) = c.recv().unwrap();
    assert_eq!((h[1], h[7]), (19, 0x27));
    // A length under 8 cannot be framed: an error, then the switch closes.
    c.send(&[1, 2, 0, 4, 0, 0, 0, 0x28]);
    let (h, body) = c.recv().expect("an error before the close");
    assert_eq!(h[1], 1);
    assert_eq!(&body[..4], &[0, 1, 0, 6]);
    assert!(c.recv().is_none(), "the connection should be closed");

    // OpenFlow 1.3: the same checks in its numbering.
    let mut c = Raw::connect(&env, 4);
    c.echo(4, 0x30);
    assert_eq!(
        c.expect_error(&[4, 0x63, 0, 8, 0, 0, 0, 0x31]),
        (1, 1, 0x31)
    );
    // Multipart request of an unknown type: OFPBRC_BAD_MULTIPART.
    assert_eq!(
        c.expect_error(&[4, 18, 0, 16, 0, 0, 0, 0x32, 0x7f, 0x00, 0, 0, 0, 0, 0, 0]),
        (1, 2, 0x32)
    );
    // Experimenter message of an unknown experimenter: OFPBRC_BAD_EXPERIMENTER.
    assert_eq!(
        c.expect_error(&[4, 4, 0, 16, 0, 0, 0, 0x33, 0, 0, 0x12, 0x34, 0, 0, 0, 0]),
        (1, 3, 0x33)
    );
    c.echo(4, 0x34);

    // A first message that is not a HELLO: HELLO_FAILED and the connection closes.
    let mut s = UnixStream::connect(env.path("br0.mgmt")).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(&[1, 2, 0, 8, 0, 0, 0, 9]).unwrap();
    let mut r = Raw { s };
    let (h, _) = r.recv().unwrap();
    assert_eq!(h[1], 0, "the switch's HELLO");
    let (h, body) = r.recv().expect("HELLO_FAILED");
    assert_eq!(h[1], 1);
    assert_eq!(&body[..2], &[0, 0]);
    assert!(r.recv().is_none());
}

/// Reads one OpenFlow message from a blocking stream.
fn read_msg(s: &mut impl Read) -> Option<([u8; 8], Vec<u8>)> {
    let mut h = [0u8; 8];
    s.read_exact(&mut h).ok()?;
    let len = usize::from(u16::from_be_bytes([h[2], h[3]]));
    let mut body = vec![0u8; len.checked_sub(8)?];
    s.read_exact(&mut body).ok()?;
    Some((h, body))
}

#[test]
fn controller_connection_reconnects_and_answers() {
    tests::require!(
        tests::have("ovs-ofctl"),
        "needs ovs-ofctl (openvswitch-common)"
    );
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let config = DUMMY.replace(
        "datapath_type = \"dummy\"",
        &format!("datapath_type = \"dummy\"\ncontroller = [\"tcp:127.0.0.1:{port}\"]"),
    );
    let env = Env::with_config(&config);
    let d = env.start(&[]);
    wait_until("the snoop socket", || env.path("br0.snoop").exists());
    let snoop = Monitor::start(&env, Some("OpenFlow13"), &["snoop", "br0"]);
    // The controller connection (already in the listener's backlog) and the snooper.
    wait_until("the snooper to connect", || {
        d.call("memory/show", &[]).unwrap().contains("ofconns:2")
    });

    // The switch connects and says HELLO with a version bitmap.
    listener.set_nonblocking(false).unwrap();
    let (mut s, _) = listener.accept().unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let (h, _) = read_msg(&mut s).unwrap();
    assert_eq!(h[1], 0);
    // We speak 1.3 only.
    s.write_all(&[4, 0, 0, 16, 0, 0, 0, 1, 0, 1, 0, 8, 0, 0, 0, 0x10])
        .unwrap();
    // FEATURES_REQUEST.
    s.write_all(&[4, 5, 0, 8, 0, 0, 0, 2]).unwrap();
    let reply = loop {
        let (h, body) = read_msg(&mut s).expect("a features reply");
        // PORT_STATUS and other async messages may come first.
        if h[1] == 6 {
            break (h, body);
        }
    };
    assert_eq!((reply.0[0], reply.0[7]), (4, 2));
    assert_eq!(reply.1[12], 254, "n_tables");
    // `ovs-ofctl snoop` saw both directions.
    snoop.wait_for("OFPT_FEATURES_REQUEST (OF1.3) (xid=0x2)");
    snoop.wait_for("OFPT_FEATURES_REPLY (OF1.3) (xid=0x2)");

    // Idle: an echo request within 5 s (and a bit).
    let t = Instant::now();
    let echo = loop {
        let (h, body) = read_msg(&mut s).expect("an echo request");
        if h[1] == 2 {
            break (h, body);
        }
    };
    assert!(t.elapsed() < Duration::from_secs(8));
    // Answered: no disconnect.
    let mut rep = echo.0;
    rep[1] = 3;
    s.write_all(&rep).unwrap();

    // Dropped by us: the switch reconnects after its backoff.
    drop(s);
    let t = Instant::now();
    let (mut s, _) = listener.accept().unwrap();
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let (h, _) = read_msg(&mut s).unwrap();
    assert_eq!(h[1], 0);
}

#[test]
fn secure_bridge_forwards_only_through_ofctl_flows() {
    tests::require_root!();
    tests::require!(tests::have("ping"), "needs ping (iputils-ping)");
    tests::require!(
        tests::have("ovs-ofctl"),
        "needs ovs-ofctl (openvswitch-common)"
    );
    let _ns = switch_netns();
    let h1 = Host::new("of1", "10.0.0.1");
    let _h2 = Host::new("of2", "10.0.0.2");
    let config = "[[bridge]]\nname = \"br0\"\ndatapath_type = \"netdev\"\nfail_mode = \"secure\"\n\n\
                  [[bridge.port]]\nname = \"of1\"\ninterface = { ofport_request = 1 }\n\n\
                  [[bridge.port]]\nname = \"of2\"\ninterface = { ofport_request = 2 }\n";
    let env = Env::with_config(config);
    let d = env.start(&[]);
    d.wait_ports(&["of1", "of2"]);

    // Secure with an empty table: nothing crosses.
    assert_eq!(
        flow_lines(&ofctl_ok(&env, None, &["dump-flows", "br0"])),
        Vec::<String>::new()
    );
    assert!(!h1.reaches("10.0.0.2"));

    // Flows added with ovs-ofctl (one each way, one per version): pings cross.
    ofctl_ok(
        &env,
        None,
        &["add-flow", "br0", "in_port=1,actions=output:2"],
    );
    ofctl_ok(
        &env,
        Some("OpenFlow13"),
        &["add-flow", "br0", "in_port=2,actions=output:1"],
    );
    h1.wait_reaches("10.0.0.2", Duration::from_secs(10));
    assert_eq!(h1.ping("10.0.0.2", 5, "0.05"), (5, 5));

    // The counters move with the traffic (the datapath's are collected every 500 ms),
    // in both versions' dumps.
    let mut before = 0;
    wait_until("the counters to count the pings", || {
        before = n_packets(&ofctl_ok(&env, None, &["dump-flows", "br0"]), "in_port=1");
        before >= 5
    });
    assert_eq!(h1.ping("10.0.0.2", 5, "0.05"), (5, 5));
    wait_until("the counters to move", || {
        n_packets(
            &ofctl_ok(&env, Some("OpenFlow13"), &["dump-flows", "br0"]),
            "in_port=1",
        ) >= before + 5
    });
    let ports = ofctl_ok(&env, None, &["dump-ports", "br0", "1"]);
    assert!(!ports.contains("rx pkts=0,"), "{ports}");

    // One direction deleted (strict): nothing crosses any more.
    ofctl_ok(&env, None, &["--strict", "del-flows", "br0", "in_port=2"]);
    wait_until("the path to close", || !h1.reaches("10.0.0.2"));
    // Back through mod-flows: a drop flow, then its actions changed.
    ofctl_ok(&env, None, &["add-flow", "br0", "in_port=2,actions=drop"]);
    ofctl_ok(
        &env,
        None,
        &["mod-flows", "br0", "in_port=2,actions=output:1"],
    );
    h1.wait_reaches("10.0.0.2", Duration::from_secs(10));
    ofctl_ok(&env, None, &["del-flows", "br0"]);
    wait_until("the path to close", || !h1.reaches("10.0.0.2"));
}

#[test]
fn standalone_bridge_fails_open_while_its_controller_is_away() {
    tests::require_root!();
    tests::require!(tests::have("ping"), "needs ping (iputils-ping)");
    let _ns = switch_netns();
    let h1 = Host::new("fo1", "10.0.0.1");
    let _h2 = Host::new("fo2", "10.0.0.2");
    // A controller nobody listens on.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = format!(
        "[[bridge]]\nname = \"br0\"\ndatapath_type = \"netdev\"\n\
         controller = [\"tcp:127.0.0.1:{port}\"]\n\n\
         [[bridge.port]]\nname = \"fo1\"\n\n[[bridge.port]]\nname = \"fo2\"\n"
    );
    let env = Env::with_config(&config);
    let d = env.start(&[]);
    d.wait_ports(&["fo1", "fo2"]);
    h1.wait_reaches("10.0.0.2", Duration::from_secs(10));

    // Secure: the same bridge forwards nothing without its controller.
    env.write_config(&config.replace(
        "datapath_type = \"netdev\"\n",
        "datapath_type = \"netdev\"\nfail_mode = \"secure\"\n",
    ));
    wait_until("the path to close", || !h1.reaches("10.0.0.2"));
}
