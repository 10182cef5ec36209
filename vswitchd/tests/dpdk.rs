//! `dpdk` interfaces end to end (`--features dpdk`): `vswitchd` with a userspace-datapath
//! bridge whose ports are DPDK `net_af_packet` vdevs on the switch sides of veth pairs,
//! hosts in network namespaces on the other sides, real `ping` and TCP between them.
//!
//! The EAL runs without hugepages or PCI (`--no-huge -m 128 --no-pci`), so the tests need
//! root and Debian's DPDK libraries and drivers, nothing else. Everything is removed when
//! a test ends, pass or fail: namespaces, veths, and the daemon with its EAL directory.

#![cfg(feature = "dpdk")]
// Test helpers: failing loudly is what they are for.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::net::{Host, switch_netns, tcp_transfer};
use common::*;

const SECS_10: Duration = Duration::from_secs(10);

/// The global settings that start DPDK with no hugepages and no PCI device.
const DPDK_ON: &str = "[open_vswitch]\nother_config = { dpdk-init = \"true\", dpdk-extra = \
                       \"--no-huge -m 128 --no-pci\" }\n";

/// A port of `br0`: `(name, TOML interface table)`.
type PortSpec = (&'static str, String);

/// A `dpdk` port `name` on an `net_af_packet` vdev over kernel interface `iface`.
fn dpdk_port(name: &'static str, vdev: u32, iface: &str, extra: &str) -> PortSpec {
    (
        name,
        format!(
            "{{ type = \"dpdk\", options = {{ dpdk-devargs = \
             \"net_af_packet{vdev},iface={iface}\" }}{extra} }}"
        ),
    )
}

/// `global`, then bridge `br0` on the userspace datapath with `ports`.
fn config(global: &str, ports: &[PortSpec]) -> String {
    let mut s = format!("{global}\n[[bridge]]\nname = \"br0\"\ndatapath_type = \"netdev\"\n");
    for (name, iface) in ports {
        s.push_str(&format!(
            "\n[[bridge.port]]\nname = \"{name}\"\ninterface = {iface}\n"
        ));
    }
    s
}

/// A host whose `eth0` computes its own checksums: frames a host sends to an
/// `net_af_packet` port must be complete (see `reference/dpdk.md`).
fn host(sw_port: &str, ip: &str) -> Host {
    let h = Host::new(sw_port, ip);
    h.exec_ok("ethtool", &["-K", "eth0", "tx", "off"]);
    h
}

/// The `RX packets:` and `TX packets:` of port `name` in `dpctl/show -s`.
fn port_counters(d: &Daemon, name: &str) -> (u64, u64) {
    let show = d.call("dpctl/show", &["-s"]).unwrap();
    let mut lines = show
        .lines()
        .skip_while(|l| !(l.contains(&format!(": {name} (")) || l.ends_with(&format!(": {name}"))));
    let header = lines
        .next()
        .unwrap_or_else(|| panic!("{name} not in {show}"));
    assert!(header.contains("(dpdk: dpdk-devargs="), "{header}");
    let num = |l: &str, key: &str| -> u64 {
        l.split_whitespace()
            .find_map(|w| w.strip_prefix(key))
            .unwrap_or_else(|| panic!("no {key} in {l}"))
            .parse()
            .unwrap()
    };
    let rx = num(lines.next().unwrap(), "packets:");
    let tx = num(lines.next().unwrap(), "packets:");
    (rx, tx)
}

fn require_dpdk() -> bool {
    tests::is_root() && tests::have("ping") && tests::have("ethtool")
}

/// The MTU of kernel interface `iface` in the calling thread's namespace (`ip link`: the
/// `/sys/class/net` of this process belongs to another namespace).
fn kernel_mtu(iface: &str) -> u32 {
    let out = tests::ip(&["-o", "link", "show", iface]);
    let mut words = out.split_whitespace();
    words
        .find(|w| *w == "mtu")
        .and_then(|_| words.next())
        .unwrap_or_else(|| panic!("no mtu in {out}"))
        .parse()
        .unwrap()
}

#[test]
fn ping_and_tcp_cross_dpdk_ports() {
    tests::require_root!();
    tests::require!(require_dpdk(), "needs ping and ethtool");
    let _ns = switch_netns();
    let h1 = host("swd1", "10.0.0.1");
    let h2 = host("swd2", "10.0.0.2");
    let env = Env::with_config(&config(
        DPDK_ON,
        &[
            dpdk_port("dpdk1", 1, "swd1", ""),
            dpdk_port("dpdk2", 2, "swd2", ""),
        ],
    ));
    let d = env.start(&[]);
    d.wait_ports(&["dpdk1", "dpdk2"]);
    h1.wait_reaches("10.0.0.2", SECS_10);
    assert_eq!(h1.ping("10.0.0.2", 5, "0.05"), (5, 5));
    tcp_transfer(&h1, &h2, 5001, 8 << 20);
    tcp_transfer(&h2, &h1, 5002, 8 << 20);

    // Both ports counted what crossed them (8 MiB each way is thousands of frames).
    for p in ["dpdk1", "dpdk2"] {
        let (rx, tx) = port_counters(&d, p);
        assert!(rx > 1000 && tx > 1000, "{p}: rx {rx} tx {tx}");
    }

    // The EAL's runtime directory does not outlive initialisation.
    let prefix = format!("/var/run/dpdk/rovs-{}", d.pid);
    assert!(
        !std::path::Path::new(&prefix).exists(),
        "{prefix} left behind"
    );

    let mut d = d;
    d.signal(nix::sys::signal::Signal::SIGTERM);
    assert_eq!(d.wait_exit().0, 0);
}

#[test]
fn a_dpdk_port_comes_and_goes_with_its_counters_and_mtu() {
    tests::require_root!();
    tests::require!(require_dpdk(), "needs ping and ethtool");
    tests::require!(
        tests::have("ovs-appctl"),
        "needs ovs-appctl (openvswitch-common)"
    );
    let _ns = switch_netns();
    let h1 = host("swd1", "10.0.0.1");
    let _h2 = host("swd2", "10.0.0.2");
    let one = config(DPDK_ON, &[dpdk_port("dpdk1", 1, "swd1", "")]);
    let two = config(
        DPDK_ON,
        &[
            dpdk_port("dpdk1", 1, "swd1", ""),
            dpdk_port("dpdk2", 2, "swd2", ", mtu_request = 1400"),
        ],
    );
    let env = Env::with_config(&one);
    let d = env.start(&[]);
    d.wait_ports(&["dpdk1"]);
    assert!(!h1.reaches("10.0.0.2"));
    assert_eq!(kernel_mtu("swd2"), 1500);

    // Added at run time, by editing the file: it forwards, counts, and has its MTU.
    env.write_config(&two);
    d.wait_ports(&["dpdk2"]);
    h1.wait_reaches("10.0.0.2", SECS_10);
    let (rx0, tx0) = port_counters(&d, "dpdk2");
    assert_eq!(h1.ping("10.0.0.2", 20, "0.01"), (20, 20));
    let (rx1, tx1) = port_counters(&d, "dpdk2");
    assert!(
        rx1 >= rx0 + 20 && tx1 >= tx0 + 20,
        "{rx0}->{rx1} {tx0}->{tx1}"
    );
    // The af_packet driver sets the MTU of the kernel interface under it.
    assert_eq!(kernel_mtu("swd2"), 1400);
    let big = h1.exec(
        "ping",
        &["-c", "1", "-W", "1", "-M", "do", "-s", "1450", "10.0.0.2"],
    );
    assert!(
        !big.status.success(),
        "a 1478-byte frame crossed an MTU of 1400"
    );

    // Removed: it stops forwarding and DPDK lets go of the device.
    env.write_config(&one);
    wait_until("dpdk2 to be removed", || {
        !d.show().contains("Interface dpdk2")
    });
    assert_eq!(h1.ping("10.0.0.2", 3, "0.2").1, 0, "dpdk2 still forwards");
    wait_until("the device to be removed from DPDK", || {
        env.log()
            .contains("device net_af_packet2,iface=swd2 removed")
    });

    // Back with Debian's `ovs-appctl reload`: probed again, forwarding again.
    std::fs::write(env.path("c.toml"), &two).unwrap();
    let r = env.appctl(&["reload"]);
    assert!(
        r.rc == 0 && r.stdout.contains("configuration reloaded"),
        "{r:?}"
    );
    d.wait_ports(&["dpdk2"]);
    h1.wait_reaches("10.0.0.2", SECS_10);
}

#[test]
fn a_bad_devargs_is_an_interface_error_and_the_rest_forwards() {
    tests::require_root!();
    tests::require!(require_dpdk(), "needs ping and ethtool");
    let _ns = switch_netns();
    let h1 = host("swd1", "10.0.0.1");
    let _h2 = host("swd2", "10.0.0.2");
    let env = Env::with_config(&config(
        DPDK_ON,
        &[
            dpdk_port("dpdk1", 1, "swd1", ""),
            dpdk_port("dpdk2", 2, "swd2", ""),
            dpdk_port("dpdk3", 3, "nosuchif0", ""),
        ],
    ));
    let d = env.start(&[]);
    d.wait_ports(&["dpdk1", "dpdk2"]);
    h1.wait_reaches("10.0.0.2", SECS_10);
    let show = d.show();
    assert_eq!(
        iface_field(&show, "dpdk3", "ofport").as_deref(),
        Some("-1"),
        "{show}"
    );
    let err = iface_field(&show, "dpdk3", "error").unwrap_or_default();
    assert!(
        err.contains("Error attaching device 'net_af_packet3,iface=nosuchif0' to DPDK"),
        "{show}"
    );
    assert!(
        env.log().contains("net_af_packet3"),
        "the failure is logged"
    );
    assert_eq!(h1.ping("10.0.0.2", 10, "0.02"), (10, 10));
}

#[test]
fn a_failed_eal_init_is_the_dpdk_interfaces_error_and_system_ports_forward() {
    tests::require_root!();
    tests::require!(require_dpdk(), "needs ping and ethtool");
    let _ns = switch_netns();
    let h1 = Host::new("sw1", "10.0.0.1");
    let _h2 = Host::new("sw2", "10.0.0.2");
    let bad = "[open_vswitch]\nother_config = { dpdk-init = \"true\", dpdk-extra = \
               \"--no-huge -m 128 --no-pci --no-such-eal-option\" }\n";
    let env = Env::with_config(&config(
        bad,
        &[
            ("sw1", "{ type = \"system\" }".to_owned()),
            ("sw2", "{ type = \"system\" }".to_owned()),
            dpdk_port("dpdk1", 1, "swd1", ""),
        ],
    ));
    let d = env.start(&[]);
    d.wait_ports(&["sw1", "sw2"]);
    h1.wait_reaches("10.0.0.2", SECS_10);
    let show = d.show();
    assert_eq!(
        iface_field(&show, "dpdk1", "ofport").as_deref(),
        Some("-1"),
        "{show}"
    );
    let err = iface_field(&show, "dpdk1", "error").unwrap_or_default();
    assert!(err.contains("DPDK initialization failed"), "{show}");
    assert!(err.contains("--no-such-eal-option"), "{show}");
    assert!(env.log().contains("DPDK initialization failed"));
}
