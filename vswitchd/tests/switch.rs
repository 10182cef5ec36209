//! The switch end to end: `vswitchd` with a NORMAL bridge on the userspace datapath, hosts
//! in network namespaces joined to it by veth pairs, real `ping` and TCP between them.
//!
//! Each test moves its thread into a private network namespace (the switch's: the daemon,
//! its bridge's TAP device and the switch sides of the veth pairs live there) and makes one
//! `ip netns` namespace per host; everything is removed when the test ends, pass or fail.
//! They need root (CI runs them as root; elsewhere they skip with a `SKIP` line).

mod common;

use std::time::Duration;

use common::net::{BackgroundPing, Host, switch_netns, tcp_transfer};
use common::*;

/// A bridge `br0` on the userspace datapath with one port per `(name, extra lines)`.
fn config(ports: &[(&str, &str)]) -> String {
    let mut s = String::from("[[bridge]]\nname = \"br0\"\ndatapath_type = \"netdev\"\n");
    for (name, extra) in ports {
        s.push_str(&format!("\n[[bridge.port]]\nname = \"{name}\"\n{extra}"));
    }
    s
}

fn plain(names: &[&'static str]) -> Vec<(&'static str, &'static str)> {
    names.iter().map(|n| (*n, "")).collect()
}

const SECS_10: Duration = Duration::from_secs(10);

#[test]
fn ping_and_tcp_with_offloads_on_and_off() {
    tests::require_root!();
    tests::require!(tests::have("ping"), "needs ping (iputils-ping)");
    tests::require!(tests::have("ethtool"), "needs ethtool");
    let _ns = switch_netns();
    let h1 = Host::new("sw1", "10.0.0.1");
    let h2 = Host::new("sw2", "10.0.0.2");
    let env = Env::with_config(&config(&plain(&["sw1", "sw2"])));
    let d = env.start(&[]);
    d.wait_ports(&["sw1", "sw2"]);
    h1.wait_reaches("10.0.0.2", SECS_10);

    // Offloads at their defaults (on): partial checksums and GSO super-frames cross.
    assert_eq!(h1.ping("10.0.0.2", 5, "0.05"), (5, 5));
    tcp_transfer(&h1, &h2, 5001, 8 << 20);
    tcp_transfer(&h2, &h1, 5002, 8 << 20);

    // Offloads off on both hosts and both switch ports: every frame carries its checksum.
    h1.offloads_off();
    h2.offloads_off();
    assert_eq!(h2.ping("10.0.0.1", 5, "0.05"), (5, 5));
    tcp_transfer(&h1, &h2, 5003, 4 << 20);
    tcp_transfer(&h2, &h1, 5004, 4 << 20);

    // SIGTERM stops the daemon cleanly.
    let mut d = d;
    d.signal(nix::sys::signal::Signal::SIGTERM);
    assert_eq!(d.wait_exit().0, 0);
    assert!(!env.pidfile().exists());
}

#[test]
fn three_hosts_learning_then_unicast() {
    tests::require_root!();
    tests::require!(tests::have("ping"), "needs ping (iputils-ping)");
    let _ns = switch_netns();
    let h1 = Host::new("sw1", "10.0.0.1");
    let h2 = Host::new("sw2", "10.0.0.2");
    let h3 = Host::new("sw3", "10.0.0.3");
    let env = Env::with_config(&config(&plain(&["sw1", "sw2", "sw3"])));
    let d = env.start(&[]);
    d.wait_ports(&["sw1", "sw2", "sw3"]);
    h1.wait_reaches("10.0.0.2", SECS_10);
    h1.wait_reaches("10.0.0.3", SECS_10);
    h2.wait_reaches("10.0.0.3", SECS_10);

    // Every host's MAC is learned on its port.
    let fdb = d.call("fdb/show", &["br0"]).unwrap();
    assert!(
        fdb.starts_with(" port  VLAN  MAC                Age\n"),
        "{fdb}"
    );
    for (h, iface) in [(&h1, "sw1"), (&h2, "sw2"), (&h3, "sw3")] {
        let port = d.ofport(iface).unwrap();
        let line = fdb
            .lines()
            .find(|l| l.contains(&h.mac()))
            .unwrap_or_else(|| panic!("{} not learned: {fdb}", h.mac()));
        assert_eq!(
            line.split_whitespace().next(),
            Some(port.to_string().as_str()),
            "{fdb}"
        );
    }

    // Then h1 -> h2 is unicast: h3 sees (almost) none of it.
    let h3_rx = h3.counter("rx_packets");
    let h2_rx = h2.counter("rx_packets");
    assert_eq!(h1.ping("10.0.0.2", 100, "0.01"), (100, 100));
    let h3_delta = h3.counter("rx_packets") - h3_rx;
    let h2_delta = h2.counter("rx_packets") - h2_rx;
    assert!(h2_delta >= 100, "h2 received {h2_delta}");
    assert!(
        h3_delta <= 3,
        "h3 received {h3_delta} packets of h1 -> h2 traffic"
    );

    // The flows are in the datapath; fdb/flush empties the table.
    let flows = d.call("dpctl/dump-flows", &[]).unwrap();
    assert!(flows.contains("actions:"), "{flows}");
    assert_eq!(
        d.call("fdb/flush", &["br0"]),
        Ok("table successfully flushed\n".into())
    );
    assert_eq!(
        d.call("fdb/show", &["nosuch"]),
        Err("no such bridge\n".into())
    );
}

#[test]
fn ports_come_and_go_at_run_time() {
    tests::require_root!();
    tests::require!(tests::have("ping"), "needs ping (iputils-ping)");
    let _ns = switch_netns();
    let h1 = Host::new("sw1", "10.0.0.1");
    let _h2 = Host::new("sw2", "10.0.0.2");
    let _h3 = Host::new("sw3", "10.0.0.3");
    let two = config(&plain(&["sw1", "sw2"]));
    let three = config(&plain(&["sw1", "sw2", "sw3"]));
    let env = Env::with_config(&two);
    let d = env.start(&[]);
    d.wait_ports(&["sw1", "sw2"]);
    h1.wait_reaches("10.0.0.2", SECS_10);
    let sw1 = d.ofport("sw1");
    assert!(!h1.reaches("10.0.0.3"));

    let bg = BackgroundPing::start(&h1, "10.0.0.2", 100_000, "0.02");
    // Added to the file: picked up without a restart or reload.
    env.write_config(&three);
    h1.wait_reaches("10.0.0.3", SECS_10);
    assert_eq!(d.ofport("sw1"), sw1, "an unchanged port keeps its number");
    // Removed from the file: it stops forwarding.
    env.write_config(&two);
    wait_until("sw3 to be removed", || !d.show().contains("Interface sw3"));
    assert_eq!(h1.ping("10.0.0.3", 3, "0.2").1, 0, "sw3 still forwards");
    // Added back with reload.
    std::fs::write(env.path("c.toml"), &three).unwrap();
    let r = d.call("reload", &[]).unwrap();
    assert!(r.contains("configuration reloaded"), "{r}");
    h1.wait_reaches("10.0.0.3", SECS_10);
    let (tx, rx) = bg.stop();
    assert!(tx > 50, "only {tx} pings sent");
    assert_eq!(rx, tx, "h1 -> h2 lost pings while ports came and went");
}

#[test]
fn a_bad_edit_is_refused_and_forwarding_goes_on() {
    tests::require_root!();
    tests::require!(tests::have("ping"), "needs ping (iputils-ping)");
    let _ns = switch_netns();
    let h1 = Host::new("sw1", "10.0.0.1");
    let _h2 = Host::new("sw2", "10.0.0.2");
    let good = config(&plain(&["sw1", "sw2"]));
    let env = Env::with_config(&good);
    let d = env.start(&[]);
    d.wait_ports(&["sw1", "sw2"]);
    h1.wait_reaches("10.0.0.2", SECS_10);
    let before = d.show();

    let bg = BackgroundPing::start(&h1, "10.0.0.2", 100_000, "0.02");
    env.write_config(&format!("{good}tag = 5000\n"));
    let e = d.call("reload", &[]).unwrap_err();
    assert!(
        e.contains("tag") && e.contains("keeping the previous configuration"),
        "{e}"
    );
    env.write_config("[[bridge]\nname = ");
    wait_until("the watcher to refuse the file", || {
        env.log()
            .matches("keeping the previous configuration")
            .count()
            >= 2
    });
    assert_eq!(d.show(), before);
    assert_eq!(h1.ping("10.0.0.2", 5, "0.05"), (5, 5));
    let (tx, rx) = bg.stop();
    assert_eq!(rx, tx, "pings lost around a refused edit");
}

#[test]
fn a_deleted_veth_reports_its_error_the_rest_forwards_and_it_comes_back() {
    tests::require_root!();
    tests::require!(tests::have("ping"), "needs ping (iputils-ping)");
    let _ns = switch_netns();
    let h1 = Host::new("sw1", "10.0.0.1");
    let _h2 = Host::new("sw2", "10.0.0.2");
    let h3 = Host::new("sw3", "10.0.0.3");
    let env = Env::with_config(&config(&plain(&["sw1", "sw2", "sw3"])));
    let d = env.start(&[]);
    d.wait_ports(&["sw1", "sw2", "sw3"]);
    h1.wait_reaches("10.0.0.3", SECS_10);

    tests::ip(&["link", "del", "sw3"]);
    wait_until("the error of sw3", || {
        iface_field(&d.show(), "sw3", "error").is_some()
    });
    let show = d.show();
    assert_eq!(
        iface_field(&show, "sw3", "error").as_deref(),
        Some("could not open network device sw3 (No such device)"),
        "{show}"
    );
    assert_eq!(iface_field(&show, "sw3", "ofport").as_deref(), Some("-1"));
    assert!(d.alive());
    assert_eq!(h1.ping("10.0.0.2", 5, "0.05"), (5, 5));

    // A device of that name comes back: the switch adds it again by itself.
    drop(h3);
    let _h3 = Host::new("sw3", "10.0.0.3");
    // The new host has a new MAC: h1 forgets the old one.
    h1.ip(&["neigh", "flush", "all"]);
    h1.wait_reaches("10.0.0.3", SECS_10);
    assert_eq!(iface_field(&d.show(), "sw3", "error"), None);
    assert!(d.ofport("sw3").unwrap() > 0);
}

/// Two bridges joined by a trunk (a veth pair between them): br0 has access ports in VLANs
/// 10 and 20, br1 too. (This kernel has no 802.1Q support, so no host can tag frames
/// itself; the second bridge is the far end of the trunk.)
#[test]
fn vlan_access_ports_are_apart_and_a_trunk_carries_both() {
    tests::require_root!();
    tests::require!(tests::have("ping"), "needs ping (iputils-ping)");
    let ns = switch_netns();
    // h1 in VLAN 10 and h2 in VLAN 20, in the same subnet, yet apart.
    let h1 = Host::new("sw1", "10.0.10.1");
    let h2 = Host::new("sw2", "10.0.10.2");
    h2.ip(&["addr", "add", "10.0.20.2/24", "dev", "eth0"]);
    // Behind the trunk: h3 in VLAN 10, h4 in VLAN 20.
    let h3 = Host::new("sw3", "10.0.10.3");
    let _h4 = Host::new("sw4", "10.0.20.4");
    ns.veth("t0", "t1");
    let cfg = r#"
[[bridge]]
name = "br0"
datapath_type = "netdev"
[[bridge.port]]
name = "sw1"
tag = 10
[[bridge.port]]
name = "sw2"
tag = 20
[[bridge.port]]
name = "t0"
trunks = [10, 20]

[[bridge]]
name = "br1"
datapath_type = "netdev"
[[bridge.port]]
name = "t1"
trunks = [10, 20]
[[bridge.port]]
name = "sw3"
tag = 10
[[bridge.port]]
name = "sw4"
vlan_mode = "access"
tag = 20
"#;
    let env = Env::with_config(cfg);
    let d = env.start(&[]);
    d.wait_ports(&["sw1", "sw2", "t0", "t1", "sw3", "sw4"]);
    h1.wait_reaches("10.0.10.3", SECS_10);
    h2.wait_reaches("10.0.20.4", SECS_10);
    assert_eq!(h1.ping("10.0.10.3", 5, "0.05"), (5, 5));
    assert_eq!(h2.ping("10.0.20.4", 5, "0.05"), (5, 5));
    assert_eq!(
        h1.ping("10.0.10.2", 3, "0.2").1,
        0,
        "VLAN 10 reached VLAN 20"
    );
    assert_eq!(
        h3.ping("10.0.10.2", 3, "0.2").1,
        0,
        "VLAN 10 reached VLAN 20 across the trunk"
    );

    // br1 learned h1 in VLAN 10 and h2 in VLAN 20 on its trunk port: the frames crossed
    // the trunk tagged.
    let t1 = d.ofport("t1").unwrap().to_string();
    let fdb = d.call("fdb/show", &["br1"]).unwrap();
    for (mac, vlan) in [(h1.mac(), "10"), (h2.mac(), "20")] {
        assert!(
            fdb.lines().any(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                f.len() >= 3 && f[0] == t1 && f[1] == vlan && f[2] == mac
            }),
            "{mac} not learned in VLAN {vlan} on port {t1}: {fdb}"
        );
    }
}

#[test]
fn debian_ovs_appctl_drives_the_switch() {
    tests::require_root!();
    tests::require!(tests::have("ping"), "needs ping (iputils-ping)");
    tests::require!(
        tests::have("ovs-appctl"),
        "needs ovs-appctl (Debian's openvswitch-common)"
    );
    let _ns = switch_netns();
    let h1 = Host::new("sw1", "10.0.0.1");
    let _h2 = Host::new("sw2", "10.0.0.2");
    let env = Env::with_config(&config(&plain(&["sw1", "sw2"])));
    let mut d = env.start(&[]);
    d.wait_ports(&["sw1", "sw2"]);
    h1.wait_reaches("10.0.0.2", SECS_10);

    let r = env.appctl(&["list-commands"]);
    assert_eq!(r.rc, 0, "{r:?}");
    for cmd in [
        "dpif/show",
        "dpctl/dump-flows",
        "dpctl/show",
        "fdb/show",
        "fdb/flush",
        "ofproto/trace",
        "ofproto/list",
        "upcall/show",
        "revalidator/wait",
        "bridge/dump-flows",
        "bridge/show",
        "reload",
        "memory/show",
        "coverage/show",
        "exit",
    ] {
        assert!(
            r.stdout.contains(&format!("\n  {cmd} ")),
            "{cmd} missing: {}",
            r.stdout
        );
    }
    let r = env.appctl(&["version"]);
    assert_eq!(r.rc, 0, "{r:?}");
    assert!(r.stdout.contains("Open vSwitch"), "{r:?}");

    let r = env.appctl(&["dpif/show"]);
    assert_eq!(r.rc, 0, "{r:?}");
    assert!(r.stdout.contains("  br0:\n"), "{r:?}");
    assert!(r.stdout.contains("    sw1 "), "{r:?}");

    let r = env.appctl(&["fdb/show", "br0"]);
    assert_eq!(r.rc, 0, "{r:?}");
    assert!(
        r.stdout
            .starts_with(" port  VLAN  MAC                Age\n"),
        "{r:?}"
    );
    assert!(r.stdout.contains(&h1.mac()), "{r:?}");
    let r = env.appctl(&["fdb/show", "nosuch"]);
    assert_eq!(r.rc, 2, "{r:?}");
    assert!(r.stderr.starts_with("no such bridge\n"), "{r:?}");

    let r = env.appctl(&["dpctl/dump-flows"]);
    assert_eq!(r.rc, 0, "{r:?}");
    assert!(r.stdout.contains("actions:"), "{r:?}");

    let r = env.appctl(&["ofproto/list"]);
    assert_eq!((r.rc, r.stdout.as_str()), (0, "br0\n"), "{r:?}");
    let port1 = d.ofport("sw1").unwrap().to_string();
    let r = env.appctl(&[
        "ofproto/trace",
        "br0",
        &format!("in_port={port1},dl_src=02:00:00:00:00:01,dl_dst=02:00:00:00:00:02"),
    ]);
    assert_eq!(r.rc, 0, "{r:?}");
    assert!(r.stdout.starts_with("Flow: "), "{r:?}");
    assert!(r.stdout.contains("Datapath actions: "), "{r:?}");
    let r = env.appctl(&["bridge/dump-flows", "br0"]);
    assert_eq!(r.rc, 0, "{r:?}");
    assert!(r.stdout.contains("actions=NORMAL"), "{r:?}");
    let r = env.appctl(&["memory/show"]);
    assert!(
        r.stdout.contains("bridges:1") && r.stdout.contains("ports:3"),
        "{r:?}"
    );
    assert_eq!(env.appctl(&["upcall/show"]).rc, 0);
    assert_eq!(env.appctl(&["revalidator/wait"]).rc, 0);

    // exit --cleanup removes what the daemon made: the bridge's TAP device goes.
    assert!(tests::run("ip", &["link", "show", "br0"]).status.success());
    let r = env.appctl(&["exit", "--cleanup"]);
    assert_eq!((r.rc, r.stdout.as_str()), (0, ""), "{r:?}");
    assert_eq!(d.wait_exit().0, 0);
    let gone = std::process::Command::new("ip")
        .args(["link", "show", "br0"])
        .output()
        .unwrap();
    assert!(!gone.status.success(), "br0 still exists");
}
