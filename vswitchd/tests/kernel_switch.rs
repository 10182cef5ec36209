//! The kernel tier of the whole switch: `vswitchd` with a NORMAL bridge on the kernel
//! datapath (`openvswitch.ko`), run inside the kernel VM by `cargo xtask kernel-test` (which
//! builds and runs every test target named `kernel*`). Outside the VM, on a host without the
//! module, the tests skip loudly.
//!
//! Each test moves its thread into a private network namespace: the daemon it starts, the
//! kernel datapath `ovs-system` (kernel datapaths belong to a namespace), the bridge's
//! internal port and the switch sides of the veth pairs all live there; each host is an
//! `ip netns` namespace of its own. What the daemon says (`ovs-appctl`) is cross-checked with
//! what the kernel says (Debian's `ovs-dpctl`).
//!
//! The daemon uses the dispatch mode the kernel offers (per-CPU on the guest's kernel). There
//! is no per-vport variant: nothing in the configuration forces that mode, and when it was
//! forced for a try, upcalls were lost as soon as Debian's `ovs-dpctl` had opened the
//! datapath (it renegotiates the datapath's features, presumably back to per-CPU dispatch,
//! which leaves no PID for the upcalls). dpif-netlink's per-vport dispatch is tested in
//! `tests/tests/kernel.rs`.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::net::{Host, switch_netns, tcp_transfer};
use common::*;

const SECS_10: Duration = Duration::from_secs(10);

/// A bridge `br0` on the kernel datapath in `fail_mode`, with one port per name.
///
/// Datapath flows idle for a minute before they expire (not 10 s), so that on a slow guest a
/// flow found gone was deleted by revalidation, not by expiry.
fn config(fail_mode: &str, ports: &[&str]) -> String {
    let mut s = format!(
        "[open_vswitch]\nother_config = {{ max-idle = \"60000\" }}\n\n\
         [[bridge]]\nname = \"br0\"\ndatapath_type = \"system\"\nfail_mode = \"{fail_mode}\"\n"
    );
    for p in ports {
        s.push_str(&format!("\n[[bridge.port]]\nname = \"{p}\"\n"));
    }
    s
}

/// Runs Debian's `ovs-dpctl` (it talks to the kernel, not to the daemon).
fn dpctl(args: &[&str]) -> String {
    let out = run_bounded(
        {
            let mut c = std::process::Command::new("ovs-dpctl");
            c.args(args);
            c
        },
        SECS_10,
    );
    assert!(
        out.status.success(),
        "ovs-dpctl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The kernel's ports of `ovs-system` by name, from `ovs-dpctl show`.
fn kernel_ports() -> BTreeMap<String, u32> {
    let show = dpctl(&["show"]);
    show.lines()
        .filter_map(|l| {
            let rest = l.trim().strip_prefix("port ")?;
            let (no, name) = rest.split_once(": ")?;
            let name = name.split_whitespace().next()?;
            Some((name.to_owned(), no.parse().ok()?))
        })
        .collect()
}

/// The kernel's flows (`ovs-dpctl dump-flows`), one line each.
fn kernel_flows() -> Vec<String> {
    dpctl(&["dump-flows"]).lines().map(str::to_owned).collect()
}

/// The match part of a flow line (before the counters).
fn match_part(line: &str) -> &str {
    line.split(", packets:").next().unwrap_or(line)
}

/// The output ports of a flow line's actions (`actions:2,1` → [2, 1]; `drop` → []).
fn outputs(line: &str) -> Vec<u32> {
    let actions = line.rsplit("actions:").next().unwrap_or("");
    actions
        .split(',')
        .filter_map(|a| a.trim().parse().ok())
        .collect()
}

/// The packet counter of a flow line.
fn packets(line: &str) -> u64 {
    line.split("packets:")
        .nth(1)
        .and_then(|s| s.split(',').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// Whether `line` is a flow coming in on datapath port `port`.
fn from_port(line: &str, port: u32) -> bool {
    line.contains(&format!("in_port({port}),"))
}

/// On a failure, prints what the daemon logged and what the kernel has (the test's files
/// go with it, and the guest with them).
struct ShowOnFailure<'a>(&'a Env);

impl Drop for ShowOnFailure<'_> {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            return;
        }
        eprintln!("---- vswitchd log ----\n{}", self.0.log());
        for args in [&["show"][..], &["dump-flows"]] {
            if let Ok(out) = std::process::Command::new("ovs-dpctl").args(args).output() {
                eprintln!(
                    "---- ovs-dpctl {} ----\n{}{}",
                    args.join(" "),
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        }
    }
}

#[test]
fn normal_bridge_on_the_kernel_datapath() {
    tests::require_kernel_datapath!();
    tests::require!(tests::have("ping"), "needs ping (iputils-ping)");
    tests::require!(
        tests::have("ovs-dpctl") && tests::have("ovs-appctl"),
        "needs ovs-dpctl and ovs-appctl (Debian's openvswitch-common)"
    );
    let t0 = std::time::Instant::now();
    // Progress with timestamps (shown when the test fails, and with --nocapture).
    let step = |what: &str| eprintln!("[{:6.2?}] {what}", t0.elapsed());
    let _ns = switch_netns();
    let h1 = Host::new("ksw1", "10.0.0.1");
    let h2 = Host::new("ksw2", "10.0.0.2");
    let _h3 = Host::new("ksw3", "10.0.0.3");
    let env = Env::with_config(&config("standalone", &["ksw1", "ksw2", "ksw3"]));
    let _diag = ShowOnFailure(&env);
    step("hosts made");
    let mut d = env.start(&[]);
    d.wait_ports(&["ksw1", "ksw2", "ksw3"]);
    step("daemon started");

    // The kernel has the datapath with its own port, the bridge's internal port and ours.
    let show = dpctl(&["show"]);
    assert!(show.starts_with("system@ovs-system:\n"), "{show}");
    assert!(show.contains("port 0: ovs-system (internal)"), "{show}");
    assert!(show.contains(": br0 (internal)"), "{show}");
    let ports = kernel_ports();
    let (p1, p2, p3) = (ports["ksw1"], ports["ksw2"], ports["ksw3"]);
    assert!(tests::ip(&["link", "show", "br0"]).contains("br0"));

    // NORMAL forwards both ways; the first packets go up to the handlers and are executed.
    h1.wait_reaches("10.0.0.2", SECS_10);
    assert_eq!(h1.ping("10.0.0.2", 5, "0.05"), (5, 5));
    assert_eq!(h2.ping("10.0.0.1", 5, "0.05"), (5, 5));
    assert_eq!(h1.ping("10.0.0.3", 3, "0.05"), (3, 3));
    tcp_transfer(&h1, &h2, 5001, 1 << 20);

    step("pinged");

    // Megaflows for the pings are in the kernel: matching on the MACs, not the addresses.
    let flows = kernel_flows();
    let ip_flow = |from: u32, to: u32, src: &str, dst: &str| {
        flows.iter().find(|l| {
            from_port(l, from)
                && l.contains(&format!("eth(src={src},dst={dst})"))
                && l.contains("eth_type(0x0800)")
                && outputs(l) == [to]
        })
    };
    let (m1, m2) = (h1.mac(), h2.mac());
    for (from, to, src, dst) in [(p1, p2, &m1, &m2), (p2, p1, &m2, &m1)] {
        let f = ip_flow(from, to, src, dst)
            .unwrap_or_else(|| panic!("no flow {from} -> {to} in {flows:#?}"));
        assert!(f.contains("ipv4(frag=no)"), "not a megaflow: {f}");
        assert!(packets(f) >= 4, "{f}");
    }

    // The daemon says the same.
    let r = env.appctl(&["dpif/show"]);
    assert_eq!(r.rc, 0, "{r:?}");
    assert!(r.stdout.starts_with("system@ovs-system: hit:"), "{r:?}");
    assert!(r.stdout.contains("  br0:\n"), "{r:?}");
    let br0 = ports["br0"];
    assert!(
        r.stdout
            .contains(&format!("    br0 65534/{br0}: (internal)\n")),
        "{r:?}"
    );
    for (name, dp) in [("ksw1", p1), ("ksw2", p2), ("ksw3", p3)] {
        let ofp = d.ofport(name).unwrap();
        assert!(
            r.stdout
                .contains(&format!("    {name} {ofp}/{dp}: (system)\n")),
            "{r:?}"
        );
    }
    let r = env.appctl(&["fdb/show", "br0"]);
    assert_eq!(r.rc, 0, "{r:?}");
    for (mac, iface) in [(&m1, "ksw1"), (&m2, "ksw2")] {
        let port = d.ofport(iface).unwrap().to_string();
        assert!(
            r.stdout.lines().any(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                f.len() >= 3 && f[0] == port && f[1] == "0" && f[2] == mac.as_str()
            }),
            "{mac} not learned on {iface}: {r:?}"
        );
    }
    let r = env.appctl(&["dpctl/dump-flows"]);
    assert_eq!(r.rc, 0, "{r:?}");
    let ours: Vec<&str> = r
        .stdout
        .lines()
        .filter(|l| l.contains("eth_type(0x0800)"))
        .collect();
    assert!(ours.len() >= 2, "{r:?}");
    let kernel = kernel_flows();
    for l in &ours {
        assert!(
            kernel.iter().any(|k| match_part(k) == match_part(l)),
            "{l} is not in the kernel: {kernel:#?}"
        );
    }
    let r = env.appctl(&["upcall/show"]);
    assert_eq!(r.rc, 0, "{r:?}");
    assert!(r.stdout.starts_with("system@ovs-system:\n"), "{r:?}");

    step("checked flows and appctl");

    // A plain exit leaves the datapath and its ports in the kernel (as OVS does, so that a
    // restart does not disturb the ports); the next daemon takes them over as they are.
    let r = env.appctl(&["exit"]);
    assert_eq!(r.rc, 0, "{r:?}");
    assert_eq!(d.wait_exit().0, 0);
    assert_eq!(kernel_ports(), ports, "{}", dpctl(&["show"]));
    d = env.start(&[]);
    d.wait_ports(&["ksw1", "ksw2", "ksw3"]);
    assert_eq!(kernel_ports(), ports, "{}", dpctl(&["show"]));
    assert_eq!(h1.ping("10.0.0.2", 3, "0.05"), (3, 3));
    assert_eq!(h1.ping("10.0.0.3", 3, "0.05"), (3, 3));
    let flows = kernel_flows();
    let h1_h2 = flows
        .iter()
        .find(|l| {
            from_port(l, p1)
                && l.contains(&format!("eth(src={m1},dst={m2})"))
                && l.contains("eth_type(0x0800)")
                && outputs(l) == [p2]
        })
        .unwrap_or_else(|| panic!("no flow h1 -> h2 after the restart: {flows:#?}"))
        .clone();

    step("restarted over the datapath");

    // A port deleted from the configuration takes its flows with it, within one round.
    env.write_config(&config("standalone", &["ksw1", "ksw2"]));
    let r = env.appctl(&["reload"]);
    assert_eq!(r.rc, 0, "{r:?}");
    assert!(!d.show().contains("Interface ksw3"), "{}", d.show());
    assert_eq!(env.appctl(&["revalidator/wait"]).rc, 0);
    assert!(!kernel_ports().contains_key("ksw3"), "{}", dpctl(&["show"]));
    let flows = kernel_flows();
    assert!(
        flows
            .iter()
            .all(|l| !from_port(l, p3) && !outputs(l).contains(&p3)),
        "flows of the deleted port {p3} stay: {flows:#?}"
    );
    // Flows the change does not concern stay as they were, counters and all.
    assert!(
        flows
            .iter()
            .any(|l| match_part(l) == match_part(&h1_h2) && packets(l) >= packets(&h1_h2)),
        "{h1_h2} did not survive: {flows:#?}"
    );
    // The others still forward.
    assert_eq!(h1.ping("10.0.0.2", 3, "0.05"), (3, 3));
    assert_eq!(
        h1.ping("10.0.0.3", 1, "0.05").1,
        0,
        "the deleted port forwards"
    );

    step("deleted a port");

    // Secure mode without a controller has no NORMAL rule: no flow forwards any more.
    env.write_config(&config("secure", &["ksw1", "ksw2"]));
    let r = env.appctl(&["reload"]);
    assert_eq!(r.rc, 0, "{r:?}");
    let r = env.appctl(&["bridge/dump-flows", "br0"]);
    assert!(!r.stdout.contains("NORMAL"), "{r:?}");
    assert_eq!(env.appctl(&["revalidator/wait"]).rc, 0);
    let flows = kernel_flows();
    assert!(
        flows.iter().all(|l| outputs(l).is_empty()),
        "flows still forward: {flows:#?}"
    );
    assert_eq!(h1.ping("10.0.0.2", 1, "0.05").1, 0, "secure mode forwards");

    step("secure mode");

    // exit --cleanup takes the datapath and the bridge's internal port with it.
    let r = env.appctl(&["exit", "--cleanup"]);
    assert_eq!((r.rc, r.stdout.as_str()), (0, ""), "{r:?}");
    assert_eq!(d.wait_exit().0, 0);
    assert_eq!(dpctl(&["show"]), "");
    let gone = std::process::Command::new("ip")
        .args(["link", "show", "br0"])
        .output()
        .unwrap();
    assert!(!gone.status.success(), "br0 is still there");
    step("exited");
    let log = env.log();
    assert!(!log.contains("|WARN|"), "warnings in the log:\n{log}");
}
