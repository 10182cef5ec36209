//! A real OpenFlow controller drives the switch: an os-ken learning-switch app (written
//! here, like the classic `simple_switch_13`) controls `br0` over TCP on loopback, hosts in
//! network namespaces ping through it, the app's flows show in
//! `ovs-ofctl -O OpenFlow13 dump-flows`, and when the controller stops a standalone bridge
//! falls back to NORMAL switching while a secure one forwards nothing new.
//!
//! os-ken comes from PyPI, in the venv that `cargo xtask ci` (or `cargo xtask osken-venv`)
//! makes: `$ROVS_OSKEN_VENV`, else `~/.cache/rovs/osken-4.2.2`. The controller runs in the
//! switch's network namespace, so `127.0.0.1` is private to the test. Root needed (CI runs
//! these as root; elsewhere they skip with a `SKIP` line).

// Test helpers: failing loudly is what they are for.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::net::{Host, switch_netns};
use common::*;

/// The os-ken version `cargo xtask` installs.
const OSKEN_VERSION: &str = "4.2.2";

/// The learning switch: a table-miss flow to the controller, the source MAC learned per
/// in_port, a flow per known (in_port, src, dst), and the packet sent on with PACKET_OUT.
const APP: &str = r#"
from os_ken.base import app_manager
from os_ken.controller import ofp_event
from os_ken.controller.handler import CONFIG_DISPATCHER, MAIN_DISPATCHER, set_ev_cls
from os_ken.lib.packet import ethernet, packet
from os_ken.ofproto import ofproto_v1_3


class LearningSwitch(app_manager.OSKenApp):
    OFP_VERSIONS = [ofproto_v1_3.OFP_VERSION]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.ports_of = {}

    def flow(self, dp, priority, match, actions):
        ofp, parser = dp.ofproto, dp.ofproto_parser
        inst = [parser.OFPInstructionActions(ofp.OFPIT_APPLY_ACTIONS, actions)]
        dp.send_msg(parser.OFPFlowMod(datapath=dp, priority=priority,
                                      match=match, instructions=inst))

    @set_ev_cls(ofp_event.EventOFPSwitchFeatures, CONFIG_DISPATCHER)
    def on_features(self, ev):
        dp = ev.msg.datapath
        ofp, parser = dp.ofproto, dp.ofproto_parser
        self.flow(dp, 0, parser.OFPMatch(),
                  [parser.OFPActionOutput(ofp.OFPP_CONTROLLER, ofp.OFPCML_NO_BUFFER)])
        print("switch %016x connected" % dp.id, flush=True)

    @set_ev_cls(ofp_event.EventOFPErrorMsg, [CONFIG_DISPATCHER, MAIN_DISPATCHER])
    def on_error(self, ev):
        print("error type=%d code=%d" % (ev.msg.type, ev.msg.code), flush=True)

    @set_ev_cls(ofp_event.EventOFPPacketIn, MAIN_DISPATCHER)
    def on_packet_in(self, ev):
        msg = ev.msg
        dp = msg.datapath
        ofp, parser = dp.ofproto, dp.ofproto_parser
        in_port = msg.match['in_port']
        eth = packet.Packet(msg.data).get_protocols(ethernet.ethernet)[0]
        table = self.ports_of.setdefault(dp.id, {})
        table[eth.src] = in_port
        out = table.get(eth.dst, ofp.OFPP_FLOOD)
        actions = [parser.OFPActionOutput(out)]
        if out != ofp.OFPP_FLOOD:
            self.flow(dp, 1, parser.OFPMatch(in_port=in_port, eth_src=eth.src,
                                             eth_dst=eth.dst), actions)
        dp.send_msg(parser.OFPPacketOut(datapath=dp, buffer_id=ofp.OFP_NO_BUFFER,
                                        in_port=in_port, actions=actions, data=msg.data))
        print("packet-in reason=%d in_port=%d %s -> %s out=%d"
              % (msg.reason, in_port, eth.src, eth.dst, out), flush=True)
"#;

/// Runs the app (os-ken 4.2.2 ships no `osken-manager`): `launch.py PORT APP_DIR`.
const LAUNCHER: &str = r#"
from os_ken.lib import hub
hub.patch(thread=False)
import sys
from os_ken import cfg
from os_ken.base.app_manager import AppManager  # registers the --ofp-* options too

cfg.CONF(args=['--ofp-listen-host', '127.0.0.1', '--ofp-tcp-listen-port', sys.argv[1]],
         project='os_ken')
sys.path.insert(0, sys.argv[2])
AppManager.run_apps(['os_ken.controller.ofp_handler', 'learning_switch'])
"#;

/// The venv's python, if it imports os-ken.
fn osken_python() -> Option<PathBuf> {
    let dir: PathBuf = match std::env::var_os("ROVS_OSKEN_VENV") {
        Some(d) => d.into(),
        None => PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| "/root".into()))
            .join(".cache/rovs")
            .join(format!("osken-{OSKEN_VERSION}")),
    };
    let py = dir.join("bin/python");
    Command::new(&py)
        .args(["-c", "import os_ken"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
        .then_some(py)
}

/// The os-ken process; killed when dropped, also when the test fails.
struct Controller {
    child: Option<Child>,
    log: PathBuf,
}

impl Controller {
    fn start(py: &PathBuf, env: &Env, port: u16) -> Controller {
        let app_dir = env.path("app");
        std::fs::create_dir_all(&app_dir).unwrap();
        std::fs::write(app_dir.join("learning_switch.py"), APP).unwrap();
        std::fs::write(env.path("launch.py"), LAUNCHER).unwrap();
        let log = env.path("osken.log");
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new(py)
            .arg(env.path("launch.py"))
            .arg(port.to_string())
            .arg(&app_dir)
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap();
        let mut c = Controller {
            child: Some(child),
            log,
        };
        // Listening before the switch starts, so the switch's first attempt connects.
        let t = Instant::now();
        while !listening(port) {
            if let Some(st) = c.child.as_mut().and_then(|ch| ch.try_wait().unwrap()) {
                panic!("os-ken exited ({st}): {}", c.log());
            }
            assert!(
                t.elapsed() < Duration::from_secs(30),
                "os-ken did not listen on port {port}: {}",
                c.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        c
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Controller {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Whether something listens on TCP `127.0.0.1:port` in this thread's network namespace.
fn listening(port: u16) -> bool {
    let want = format!("0100007F:{port:04X}");
    std::fs::read_to_string("/proc/thread-self/net/tcp").is_ok_and(|t| {
        t.lines().skip(1).any(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            f.get(1) == Some(&want.as_str()) && f.get(3) == Some(&"0A")
        })
    })
}

/// A TCP port free on loopback in this namespace.
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// `ovs-ofctl ARGS` against the daemon's management socket: (status, stdout + stderr).
fn ofctl(env: &Env, args: &[&str]) -> (bool, String) {
    let mut c = Command::new("ovs-ofctl");
    c.args(args).env("OVS_RUNDIR", env.dir.path());
    let out = run_bounded(c, Duration::from_secs(20));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn dump_flows(env: &Env) -> String {
    let (ok, text) = ofctl(env, &["-O", "OpenFlow13", "dump-flows", "br0"]);
    assert!(ok, "ovs-ofctl dump-flows failed: {text}");
    text
}

/// Waits up to `limit` for `cond`, with `what` and `detail()` in the failure.
fn wait_for(
    what: &str,
    limit: Duration,
    mut cond: impl FnMut() -> bool,
    detail: impl Fn() -> String,
) {
    let t = Instant::now();
    while !cond() {
        assert!(
            t.elapsed() < limit,
            "timed out waiting for {what}: {}",
            detail()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn config(fail_mode: &str, port: u16) -> String {
    let mut s = format!(
        "[[bridge]]\nname = \"br0\"\ndatapath_type = \"netdev\"\nfail_mode = \"{fail_mode}\"\n\
         controller = [\"tcp:127.0.0.1:{port}\"]\n"
    );
    for (i, name) in ["sw1", "sw2", "sw3"].iter().enumerate() {
        s.push_str(&format!(
            "\n[[bridge.port]]\nname = \"{name}\"\nofport_request = {}\n",
            i + 1
        ));
    }
    s
}

/// Starts the hosts, os-ken, and the switch under it; pings h1 -> h2 through the controller
/// and checks the app's flows. Returns everything, for the part after the controller stops.
fn controlled_switch(
    fail_mode: &str,
    py: &PathBuf,
) -> (tests::NetNs, [Host; 3], Env, Controller, Daemon) {
    let ns = switch_netns();
    let hosts = [
        Host::new("sw1", "10.0.0.1"),
        Host::new("sw2", "10.0.0.2"),
        Host::new("sw3", "10.0.0.3"),
    ];
    let port = free_port();
    let env = Env::with_config(&config(fail_mode, port));
    let ctl = Controller::start(py, &env, port);
    let d = env.start(&[]);
    d.wait_ports(&["sw1", "sw2", "sw3"]);

    // The app's table-miss flow shows once the switch is connected and configured.
    wait_for(
        "the controller's table-miss flow",
        Duration::from_secs(30),
        || dump_flows(&env).contains("priority=0 actions=CONTROLLER:65535"),
        || {
            format!(
                "{}\nos-ken log:\n{}\nswitch log:\n{}",
                dump_flows(&env),
                ctl.log(),
                env.log()
            )
        },
    );
    assert!(ctl.log().contains("switch 0"), "{}", ctl.log());

    // h1 pings h2 through the controller: the first packets as packet-ins and packet-outs,
    // then through the flows the app installs.
    let [h1, h2, _] = &hosts;
    wait_for(
        "h1 to reach h2 through the controller",
        Duration::from_secs(20),
        || h1.reaches("10.0.0.2"),
        || format!("os-ken log:\n{}\nswitch log:\n{}", ctl.log(), env.log()),
    );
    assert_eq!(h1.ping("10.0.0.2", 5, "0.2"), (5, 5));
    let log = ctl.log();
    assert!(log.contains("packet-in reason=0 in_port=1"), "{log}");

    // The app's flows, as ovs-ofctl shows them, counting the later pings (once the
    // revalidator has pushed the datapath's counters to them).
    let wanted: Vec<String> = [(1, h1.mac(), h2.mac(), 2), (2, h2.mac(), h1.mac(), 1)]
        .iter()
        .map(|(from, src, dst, out)| {
            format!("priority=1,in_port={from},dl_src={src},dl_dst={dst} actions=output:{out}")
        })
        .collect();
    let counted = |flows: &str| {
        wanted.iter().all(|w| {
            flows
                .lines()
                .any(|l| l.contains(w.as_str()) && !l.contains("n_packets=0,"))
        })
    };
    wait_for(
        "the app's flows with traffic counted",
        Duration::from_secs(10),
        || counted(&dump_flows(&env)),
        || format!("want {wanted:?} in:\n{}", dump_flows(&env)),
    );
    (ns, hosts, env, ctl, d)
}

#[test]
fn osken_learning_switch_then_standalone_falls_back_to_normal() {
    tests::require_root!();
    tests::require!(tests::have("ping"), "needs ping (iputils-ping)");
    tests::require!(
        tests::have("ovs-ofctl"),
        "needs ovs-ofctl (openvswitch-common)"
    );
    let py = osken_python();
    tests::require!(
        py.is_some(),
        "needs os-ken {OSKEN_VERSION} in a venv (run `cargo xtask osken-venv`)"
    );
    let py = py.unwrap();
    let (_ns, hosts, env, mut ctl, _d) = controlled_switch("standalone", &py);
    let [h1, _, h3] = &hosts;

    // Controller gone: the bridge fails open and switches by itself, also new traffic.
    ctl.stop();
    wait_for(
        "h1 to reach h3 with NORMAL switching",
        Duration::from_secs(20),
        || h1.reaches(&h3.ip),
        || format!("{}\nswitch log:\n{}", dump_flows(&env), env.log()),
    );
    assert_eq!(h1.ping(&h3.ip, 3, "0.2"), (3, 3));
    assert_eq!(h1.ping("10.0.0.2", 3, "0.2"), (3, 3));
    // The controller's flows stay in the table (fail-open is a hidden rule above them).
    assert!(dump_flows(&env).contains("actions=CONTROLLER:65535"));
}

#[test]
fn osken_learning_switch_then_secure_forwards_nothing_new() {
    tests::require_root!();
    tests::require!(tests::have("ping"), "needs ping (iputils-ping)");
    tests::require!(
        tests::have("ovs-ofctl"),
        "needs ovs-ofctl (openvswitch-common)"
    );
    let py = osken_python();
    tests::require!(
        py.is_some(),
        "needs os-ken {OSKEN_VERSION} in a venv (run `cargo xtask osken-venv`)"
    );
    let py = py.unwrap();
    let (_ns, hosts, env, mut ctl, _d) = controlled_switch("secure", &py);
    let [h1, _, h3] = &hosts;

    ctl.stop();
    // Give the switch time to notice the controller is gone.
    std::thread::sleep(Duration::from_secs(2));
    // New traffic (h1 to h3, never seen by the controller) goes nowhere.
    assert_eq!(h1.ping(&h3.ip, 3, "0.2").1, 0);
    // The flows the controller installed keep working.
    assert_eq!(h1.ping("10.0.0.2", 3, "0.2"), (3, 3));
    let flows = dump_flows(&env);
    assert!(flows.contains("priority=1,in_port=1"), "{flows}");
}
