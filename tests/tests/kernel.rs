//! The kernel tier: dpif-netlink against the real `openvswitch.ko`, inside the kernel VM
//! (`cargo xtask kernel-test`). On a host without the module every test skips loudly.
//!
//! Each test runs in its own network namespace: kernel datapaths are per namespace, so tests
//! cannot see each other's datapaths, and everything a test made goes with its namespace.
//! Results are cross-checked with Debian's `ovs-dpctl`.
//!
//! The whole switch on the kernel datapath (`vswitchd` with a `system` bridge: NORMAL
//! forwarding, megaflows in the kernel, ports and rules that go take their flows with them)
//! is tested in `vswitchd/tests/kernel_switch.rs`; `cargo xtask kernel-test` runs both in one
//! guest (every test target named `kernel*`).

use std::sync::Arc;

use dpif::kernel::{DpifNetlink, DpifNetlinkClass};
use dpif::{Dpif, DpifClass, Error, OdpPort, PortChange};
use tests::{NetNs, require_kernel_datapath};

fn dpctl(args: &[&str]) -> String {
    String::from_utf8_lossy(&tests::run("ovs-dpctl", args).stdout).into_owned()
}

fn open(class: &DpifNetlinkClass, name: &str) -> Arc<DpifNetlink> {
    class.open_netlink(name, true).expect("create datapath")
}

#[test]
fn datapath_lifecycle() {
    require_kernel_datapath!();
    let _ns = NetNs::new();
    let class = DpifNetlinkClass::new();
    assert_eq!(class.type_name(), "system");
    assert!(class.enumerate().unwrap().is_empty());
    assert!(matches!(
        class.open("kvdp0", false),
        Err(Error::NotFound { .. })
    ));

    let dp = open(&class, "kvdp0");
    assert_eq!(dp.name(), "kvdp0");
    assert!(dp.dp_ifindex() > 0);
    eprintln!(
        "dispatch: {}, features {:#x}",
        if dp.per_cpu_dispatch() {
            "per-cpu"
        } else {
            "per-vport"
        },
        dp.user_features()
    );
    assert_eq!(class.enumerate().unwrap(), vec!["kvdp0".to_owned()]);
    // Opening again (with or without create) gives the same datapath.
    let again = class.open("kvdp0", false).unwrap();
    let again2 = class.open("kvdp0", true).unwrap();
    assert_eq!(again.name(), "kvdp0");
    assert_eq!(again2.name(), "kvdp0");
    let st = dp.stats().unwrap();
    assert_eq!((st.n_hit, st.n_missed, st.n_lost, st.n_flows), (0, 0, 0, 0));
    assert_eq!(st.n_masks, Some(0));

    let show = dpctl(&["show"]);
    assert!(show.contains("system@kvdp0:"), "{show}");
    assert!(show.contains("port 0: kvdp0 (internal)"), "{show}");
    assert_eq!(dpctl(&["dump-dps"]).trim(), "system@kvdp0");

    dp.destroy().unwrap();
    assert!(class.enumerate().unwrap().is_empty());
    assert!(
        matches!(dp.stats(), Err(Error::NotFound { .. })),
        "stats after destroy"
    );
}

#[test]
fn datapath_made_by_ovs_dpctl_opens() {
    require_kernel_datapath!();
    let _ns = NetNs::new();
    dpctl(&["add-dp", "kvdpctl"]);
    let class = DpifNetlinkClass::new();
    assert_eq!(class.enumerate().unwrap(), vec!["kvdpctl".to_owned()]);
    let dp = class.open("kvdpctl", false).unwrap();
    let ports = dp.port_dump().unwrap();
    assert_eq!(ports.len(), 1);
    assert_eq!(ports[0].name, "kvdpctl");
    assert_eq!(ports[0].type_name, "internal");
    assert_eq!(ports[0].port_no, OdpPort::LOCAL);
    dp.destroy().unwrap();
    assert_eq!(dpctl(&["dump-dps"]).trim(), "");
}

#[test]
fn ports_add_query_dump_delete() {
    require_kernel_datapath!();
    let ns = NetNs::new();
    ns.veth("kvv0", "kvv0p");
    ns.veth("kvv1", "kvv1p");
    let class = DpifNetlinkClass::new();
    let dp = open(&class, "kvdp1");
    let dpif: &dyn Dpif = &*dp;

    // port_poll: the first call subscribes and asks for a rescan.
    assert_eq!(dpif.port_poll().unwrap(), Some(PortChange::Unknown));
    assert_eq!(dpif.port_poll().unwrap(), None);

    let p1 = dp.port_add_named("kvv0", "system", None).unwrap();
    assert_eq!(p1, OdpPort(1));
    let p7 = dp
        .port_add_named("kvv1", "system", Some(OdpPort(7)))
        .unwrap();
    assert_eq!(p7, OdpPort(7));
    let pi = dp.port_add_named("kvint0", "internal", None).unwrap();
    assert_eq!(pi, OdpPort(2));
    // The kernel made the internal device.
    assert!(tests::ip(&["link", "show", "kvint0"]).contains("kvint0"));

    let q = dpif.port_query_by_name("kvv1").unwrap();
    assert_eq!((q.port_no, q.type_name.as_str()), (OdpPort(7), "system"));
    let q = dpif.port_query_by_number(OdpPort(2)).unwrap();
    assert_eq!(
        (q.name.as_str(), q.type_name.as_str()),
        ("kvint0", "internal")
    );
    let names: Vec<(u32, String)> = dpif
        .port_dump()
        .unwrap()
        .into_iter()
        .map(|p| (p.port_no.0, p.name))
        .collect();
    assert_eq!(
        names,
        vec![
            (0, "kvdp1".into()),
            (1, "kvv0".into()),
            (2, "kvint0".into()),
            (7, "kvv1".into())
        ]
    );

    // ovs-dpctl sees the same ports.
    let show = dpctl(&["show", "kvdp1"]);
    for want in ["port 1: kvv0", "port 2: kvint0 (internal)", "port 7: kvv1"] {
        assert!(show.contains(want), "{want:?} not in {show}");
    }

    // Notifications of our own changes.
    let mut changed = Vec::new();
    while let Some(c) = dpif.port_poll().unwrap() {
        changed.push(c);
    }
    for n in ["kvv0", "kvv1", "kvint0"] {
        assert!(
            changed.contains(&PortChange::Changed(n.into())),
            "{n}: {changed:?}"
        );
    }

    // Errors callers branch on.
    let e = dp
        .port_add_named("kvv0p", "system", Some(OdpPort(7)))
        .unwrap_err();
    assert!(matches!(e, Error::Busy { .. }), "{e}");
    let e = dp.port_add_named("nosuchdev", "system", None).unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }), "{e}");
    let e = dpif.port_query_by_name("nosuchdev").unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }), "{e}");
    assert_eq!(e.errno(), Some(nix::errno::Errno::ENODEV));
    let e = dpif.port_query_by_number(OdpPort(99)).unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }), "{e}");
    let e = dp.port_add_named("kvvx", "vxlan", None).unwrap_err();
    assert!(matches!(e, Error::NotSupported { .. }), "{e}");

    dpif.port_del(OdpPort(7)).unwrap();
    assert!(matches!(
        dpif.port_del(OdpPort(7)),
        Err(Error::NotFound { .. })
    ));
    assert_eq!(
        dpif.port_poll().unwrap(),
        Some(PortChange::Changed("kvv1".into()))
    );
    // A port that ovs-dpctl adds shows up in our dump and our notifications.
    dpctl(&["add-if", "kvdp1", "kvv1"]);
    assert_eq!(
        dpif.port_poll().unwrap(),
        Some(PortChange::Changed("kvv1".into()))
    );
    assert!(dpif.port_query_by_name("kvv1").is_ok());
    dp.destroy().unwrap();
}

// ---- flows, upcalls, execute -------------------------------------------------------------

use std::time::{Duration, Instant};

use dpif::odp::{Action, FlowKey, Userspace, eth_type};
use dpif::{DpifOp, Execute, FlowDel, FlowGet, FlowPut, OpReply, PutFlags, Ufid, UpcallKind};
use netdev::poll::PollSet;

/// Network namespaces standing for hosts, each with one end of a veth pair whose other end
/// stays in the test's namespace (to become a datapath port). Deleted on drop.
#[derive(Default)]
struct Hosts {
    names: Vec<String>,
}

impl Hosts {
    /// Makes host `i` (address 10.77.0.i/24) behind switch-side device `dev`; returns the
    /// host's namespace name and its device name.
    fn add(&mut self, dev: &str, i: u8) -> (String, String) {
        let ns = tests::unique_name("kvh");
        let peer = tests::unique_name("kvp");
        tests::ip(&["netns", "add", &ns]);
        self.names.push(ns.clone());
        tests::ip(&[
            "link", "add", dev, "type", "veth", "peer", "name", &peer, "netns", &ns,
        ]);
        // No IPv6: its neighbor discovery and MLD packets would be noise in the counters and
        // upcalls the tests look at.
        let no_v6 = format!("/proc/sys/net/ipv6/conf/{dev}/disable_ipv6");
        std::fs::write(&no_v6, "1").expect("disable IPv6 on the switch side");
        let host_no_v6 = format!("echo 1 > /proc/sys/net/ipv6/conf/{peer}/disable_ipv6");
        assert!(netns_exec(&ns, &["sh", "-c", &host_no_v6]).status.success());
        let addr = format!("10.77.0.{i}/24");
        tests::ip(&["-n", &ns, "addr", "add", &addr, "dev", &peer]);
        tests::ip(&["-n", &ns, "link", "set", &peer, "up"]);
        tests::ip(&["-n", &ns, "link", "set", "lo", "up"]);
        tests::ip(&["link", "set", dev, "up"]);
        (ns, peer)
    }
}

impl Drop for Hosts {
    fn drop(&mut self) {
        for n in &self.names {
            let _ = std::process::Command::new("ip")
                .args(["netns", "del", n])
                .status();
        }
    }
}

fn netns_exec(ns: &str, args: &[&str]) -> std::process::Output {
    let mut all = vec!["netns", "exec", ns];
    all.extend_from_slice(args);
    std::process::Command::new("ip")
        .args(&all)
        .output()
        .expect("ip netns exec")
}

fn mac_of(ns: &str, dev: &str) -> [u8; 6] {
    let out = netns_exec(ns, &["cat", &format!("/sys/class/net/{dev}/address")]);
    let s = String::from_utf8_lossy(&out.stdout);
    let mut mac = [0u8; 6];
    for (m, part) in mac.iter_mut().zip(s.trim().split(':')) {
        *m = u8::from_str_radix(part, 16).expect("MAC");
    }
    mac
}

/// A flow matching in_port and ethertype only, sending to `out`.
fn l2_flow(in_port: u32, ethertype: u16, actions: Vec<Action>) -> FlowPut {
    let mut key = FlowKey::zero();
    key.in_port = in_port;
    key.eth_type = ethertype;
    let mut mask = FlowKey::zero();
    mask.in_port = u32::MAX;
    mask.eth_type = u16::MAX;
    mask.recirc_id = u32::MAX;
    FlowPut {
        flags: PutFlags::CREATE,
        key,
        mask,
        actions,
        ufid: Ufid::from_key(&key),
    }
}

fn out(port: u32) -> Vec<Action> {
    vec![Action::Output(OdpPort(port))]
}

/// Pings `dst` from namespace `ns` `count` times; whether every ping was answered. The
/// output goes to stderr (shown when the test fails).
fn ping(ns: &str, dst: &str, count: &str) -> bool {
    let out = netns_exec(ns, &["ping", "-c", count, "-i", "0.2", "-W", "2", dst]);
    eprintln!(
        "ping {dst} from {ns}: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let all = format!("{count} received");
    out.status.success() && String::from_utf8_lossy(&out.stdout).contains(&all)
}

#[test]
fn flows_forward_between_namespaces() {
    require_kernel_datapath!();
    let _ns = NetNs::new();
    let mut hosts = Hosts::default();
    let (h1, _) = hosts.add("kvs1", 1);
    let (_h2, _) = hosts.add("kvs2", 2);
    let class = DpifNetlinkClass::new();
    let dp = open(&class, "kvdp2");
    let dpif: &dyn Dpif = &*dp;
    assert_eq!(
        dp.port_add_named("kvs1", "system", None).unwrap(),
        OdpPort(1)
    );
    assert_eq!(
        dp.port_add_named("kvs2", "system", None).unwrap(),
        OdpPort(2)
    );

    let flows = vec![
        l2_flow(1, eth_type::ARP, out(2)),
        l2_flow(2, eth_type::ARP, out(1)),
        l2_flow(1, eth_type::IPV4, out(2)),
        l2_flow(2, eth_type::IPV4, out(1)),
    ];
    let ops = flows.iter().cloned().map(DpifOp::Put).collect();
    for r in dpif.operate(ops) {
        assert_eq!(r.unwrap(), OpReply::Put(None));
    }
    assert!(
        ping(&h1, "10.77.0.2", "3"),
        "ping through the kernel datapath"
    );

    // Dump: our four flows, with counters.
    let dumped: Vec<_> = dpif.flow_dump(false).unwrap().map(|f| f.unwrap()).collect();
    assert_eq!(dumped.len(), 4, "{dumped:#?}");
    for f in &flows {
        let d = dumped
            .iter()
            .find(|d| d.ufid == f.ufid)
            .expect("flow dumped by UFID");
        assert_eq!(d.key.as_ref().map(|k| k.in_port), Some(f.key.in_port));
        assert_eq!(d.key.as_ref().map(|k| k.eth_type), Some(f.key.eth_type));
        assert_eq!(d.actions.as_ref(), Some(&f.actions));
        if f.key.eth_type == eth_type::IPV4 {
            assert!(d.stats.n_packets >= 3, "{d:?}");
            assert!(d.stats.n_bytes >= 3 * 98, "{d:?}");
            assert!(d.stats.used_ms > 0, "{d:?}");
        }
    }
    let terse: Vec<_> = dpif.flow_dump(true).unwrap().map(|f| f.unwrap()).collect();
    assert_eq!(terse.len(), 4);
    assert!(terse.iter().all(|f| f.key.is_none() && f.actions.is_none()));
    assert!(terse.iter().any(|f| f.stats.n_packets >= 3));

    let st = dpif.stats().unwrap();
    assert_eq!(st.n_flows, 4);
    // Three echo requests and replies, an ARP request and reply at least.
    assert!(st.n_hit >= 8, "{st:?}");
    assert_eq!(st.n_masks, Some(1), "one mask: in_port and ethertype");

    // ovs-dpctl sees them.
    let dump = dpctl(&["dump-flows", "kvdp2"]);
    assert_eq!(dump.lines().count(), 4, "{dump}");
    assert!(
        dump.contains("in_port(1)") && dump.contains("actions:2"),
        "{dump}"
    );
    assert!(dump.contains("eth_type(0x0800)"), "{dump}");

    // Get, modify (returns the counters from before), errors callers branch on.
    let ip12 = flows[2].clone();
    let got = dpif
        .flow_get(FlowGet {
            ufid: ip12.ufid,
            key: None,
        })
        .unwrap();
    assert!(got.stats.n_packets >= 3);
    let e = dpif.flow_put(ip12.clone()).unwrap_err();
    assert!(matches!(e, Error::Exists { .. }), "{e}");
    let mut modify = ip12.clone();
    modify.flags = PutFlags::MODIFY | PutFlags::ZERO_STATS;
    modify.actions = vec![];
    let before = dpif.flow_put(modify).unwrap().expect("stats on modify");
    assert!(before.n_packets >= 3, "{before:?}");
    let got = dpif
        .flow_get(FlowGet {
            ufid: ip12.ufid,
            key: None,
        })
        .unwrap();
    assert_eq!(got.stats.n_packets, 0, "zeroed");
    assert_eq!(got.actions, Some(vec![]));
    assert!(!ping(&h1, "10.77.0.2", "1"), "the flow drops now");
    let mut missing = l2_flow(9, eth_type::IPV4, out(1));
    missing.flags = PutFlags::MODIFY;
    assert!(matches!(
        dpif.flow_put(missing.clone()),
        Err(Error::NotFound { .. })
    ));
    let del = dpif
        .flow_del(FlowDel {
            ufid: ip12.ufid,
            key: None,
        })
        .unwrap();
    assert!(del.n_packets >= 1, "{del:?}");
    let e = dpif
        .flow_del(FlowDel {
            ufid: ip12.ufid,
            key: None,
        })
        .unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }), "{e}");
    assert!(matches!(
        dpif.flow_get(FlowGet {
            ufid: missing.ufid,
            key: None
        }),
        Err(Error::NotFound { .. })
    ));

    // A flow ovs-dpctl adds, we dump.
    dpctl(&[
        "add-flow",
        "kvdp2",
        "in_port(1),eth(),eth_type(0x86dd),ipv6()",
        "2",
    ]);
    let v6: Vec<_> = dpif
        .flow_dump(false)
        .unwrap()
        .map(|f| f.unwrap())
        .filter(|f| f.key.as_ref().is_some_and(|k| k.eth_type == eth_type::IPV6))
        .collect();
    assert_eq!(v6.len(), 1);
    assert_eq!(v6[0].actions, Some(out(2)));
    assert_eq!(v6[0].key.as_ref().map(|k| k.in_port), Some(1));

    dpif.flow_flush().unwrap();
    assert_eq!(dpif.flow_dump(false).unwrap().count(), 0);
    assert_eq!(dpctl(&["dump-flows", "kvdp2"]).trim(), "");
    dp.destroy().unwrap();
}

/// Waits up to `timeout` for an upcall that `want` accepts on any of `n` handlers (skipping
/// others); returns the handler and the upcall.
fn wait_upcall(
    dpif: &dyn Dpif,
    n: u32,
    want: impl Fn(&dpif::Upcall) -> bool,
) -> Option<(u32, dpif::Upcall)> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        for h in 0..n {
            let mut v = Vec::new();
            dpif.recv(h, &mut v, 64).unwrap();
            if let Some(u) = v.into_iter().find(|u| want(u)) {
                return Some((h, u));
            }
        }
        let mut ps = PollSet::new();
        for h in 0..n {
            dpif.recv_wait(h, &mut ps);
        }
        ps.timer_wait(deadline);
        ps.block().unwrap();
    }
    None
}

/// Sends one ping from namespace `ns` to `dst`, on CPU `cpu` if given; the answer does not
/// matter.
fn send_ping(ns: &str, dst: &str, cpu: Option<&str>) {
    let mut cmd = match cpu {
        Some(c) => {
            let mut c0 = std::process::Command::new("taskset");
            c0.args(["-c", c, "ip"]);
            c0
        }
        None => std::process::Command::new("ip"),
    };
    let _ = cmd
        .args(["netns", "exec", ns, "ping", "-c", "1", "-W", "1", dst])
        .output();
}

fn is_icmp(u: &dpif::Upcall) -> bool {
    u.key.eth_type == eth_type::IPV4 && u.key.nw_proto == 1
}

#[test]
fn upcalls_per_cpu_dispatch() {
    require_kernel_datapath!();
    check_upcalls(DpifNetlinkClass::new());
}

#[test]
fn upcalls_per_vport_dispatch() {
    require_kernel_datapath!();
    check_upcalls(DpifNetlinkClass::per_vport_dispatch());
}

/// Misses and `userspace` actions come up as upcalls, with the right key, on the right
/// handler.
fn check_upcalls(class: DpifNetlinkClass) {
    let _ns = NetNs::new();
    let mut hosts = Hosts::default();
    let (h1, dev1) = hosts.add("kvs3", 1);
    let dp = open(&class, "kvdp3");
    let dpif: &dyn Dpif = &*dp;
    dpif.handlers_set(2).unwrap();
    dpif.recv_set(true).unwrap();
    assert_eq!(
        dp.port_add_named("kvs3", "system", None).unwrap(),
        OdpPort(1)
    );
    let mac1 = mac_of(&h1, &dev1);
    // A static neighbour: pings to 10.77.0.9 leave at once, from the sending CPU, without
    // ARP.
    let gw_mac = [0x02, 0, 0, 0, 0, 0x09];
    tests::ip(&[
        "-n",
        &h1,
        "neigh",
        "add",
        "10.77.0.9",
        "lladdr",
        "02:00:00:00:00:09",
        "dev",
        &dev1,
        "nud",
        "permanent",
    ]);

    // A miss: the host's ARP request for 10.77.0.8 reaches the datapath with no flow.
    send_ping(&h1, "10.77.0.8", None);
    let (handler, up) =
        wait_upcall(dpif, 2, |u| u.key.eth_type == eth_type::ARP).expect("an ARP miss upcall");
    assert_eq!(up.kind, UpcallKind::Miss);
    assert_eq!(up.key.in_port, 1);
    assert_eq!(up.key.eth_src, mac1);
    assert_eq!(up.key.ipv4_dst, [10, 77, 0, 8], "ARP target IP");
    assert_eq!(up.key.ipv4_src, [10, 77, 0, 1], "ARP sender IP");
    assert_eq!(up.key.arp_sha, mac1);
    assert_eq!(up.packet.md.in_port, 1);
    assert_eq!(&up.packet.data()[6..12], &mac1);
    assert!(up.raw_key.as_ref().is_some_and(|k| !k.is_empty()));
    assert_eq!(up.ufid, Ufid::from_key(&up.key));
    assert_eq!(up.pmd_id, Some(handler));

    // An IPv4 miss.
    dpif.recv_purge();
    send_ping(&h1, "10.77.0.9", None);
    let (_, up) = wait_upcall(dpif, 2, is_icmp).expect("an ICMP miss upcall");
    assert_eq!(up.kind, UpcallKind::Miss);
    assert_eq!(
        (up.key.ipv4_src, up.key.ipv4_dst),
        ([10, 77, 0, 1], [10, 77, 0, 9])
    );
    assert_eq!((up.key.eth_src, up.key.eth_dst), (mac1, gw_mac));
    assert_eq!((up.key.tp_src, up.key.tp_dst), (8, 0), "ICMP echo request");
    assert_eq!(up.key.nw_ttl, 64);
    let st = dpif.stats().unwrap();
    assert!(st.n_missed >= 2, "{st:?}");

    if dp.per_cpu_dispatch() {
        // The right handler: a packet received on CPU c goes to handler c % 2 (veth
        // delivers on the sending CPU).
        assert_eq!(dpif.port_get_pid(OdpPort(1)), u32::MAX);
        if std::thread::available_parallelism().map_or(1, usize::from) >= 2 {
            for (cpu, want) in [("0", 0), ("1", 1), ("1", 1), ("0", 0)] {
                dpif.recv_purge();
                send_ping(&h1, "10.77.0.9", Some(cpu));
                let (handler, _) = wait_upcall(dpif, 2, is_icmp).expect("an upcall per CPU");
                assert_eq!(handler, want, "upcall of a packet sent on CPU {cpu}");
            }
        }
    } else {
        // Per-vport dispatch: the port lists both handlers' PIDs.
        let v = dp.vport_get(OdpPort(1)).unwrap();
        assert_eq!(v.upcall_pids.len(), 2, "{v:?}");
        assert!(v.upcall_pids.contains(&dpif.port_get_pid(OdpPort(1))));
    }

    // An action upcall: a flow whose action sends the packet up with a cookie.
    let pid = dpif.port_get_pid(OdpPort(1));
    assert_ne!(pid, 0);
    let flow = l2_flow(
        1,
        eth_type::IPV4,
        vec![Action::Userspace(Userspace {
            pid,
            userdata: Some(b"cookie42".to_vec()),
            ..Userspace::default()
        })],
    );
    dpif.flow_put(flow).unwrap();
    dpif.recv_purge();
    send_ping(&h1, "10.77.0.9", None);
    let (_, up) = wait_upcall(dpif, 2, |u| u.kind == UpcallKind::Action).expect("an action upcall");
    assert_eq!(up.userdata.as_deref(), Some(&b"cookie42"[..]));
    assert!(is_icmp(&up));

    // Purge drops what is queued.
    send_ping(&h1, "10.77.0.9", None);
    dpif.recv_purge();
    let mut v = Vec::new();
    assert_eq!(
        dpif.recv(0, &mut v, 64).unwrap() + dpif.recv(1, &mut v, 64).unwrap(),
        0
    );

    // Disabled: no more upcalls.
    dpif.recv_set(false).unwrap();
    send_ping(&h1, "10.77.0.9", None);
    assert_eq!(dpif.recv(0, &mut v, 64).unwrap(), 0);
    dp.destroy().unwrap();
}

#[test]
fn execute_sends_a_packet_out_of_a_port() {
    require_kernel_datapath!();
    let _ns = NetNs::new();
    let mut hosts = Hosts::default();
    let (h1, dev1) = hosts.add("kvs4", 1);
    let class = DpifNetlinkClass::new();
    let dp = open(&class, "kvdp4");
    let dpif: &dyn Dpif = &*dp;
    dp.port_add_named("kvs4", "system", None).unwrap();
    let rx = |ns: &str, dev: &str| -> u64 {
        let out = netns_exec(
            ns,
            &[
                "cat",
                &format!("/sys/class/net/{dev}/statistics/rx_packets"),
            ],
        );
        String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
    };
    let before = rx(&h1, &dev1);
    let tx_before = dp.vport_get(OdpPort(1)).unwrap().stats.tx_packets;
    // A broadcast ARP request, as bytes.
    let mut frame = vec![0xff; 6];
    frame.extend_from_slice(&[0x02, 0, 0, 0, 0, 0x01, 0x08, 0x06]);
    frame.extend_from_slice(&[0, 1, 8, 0, 6, 4, 0, 1]);
    frame.extend_from_slice(&[0x02, 0, 0, 0, 0, 0x01, 10, 77, 0, 200]);
    frame.extend_from_slice(&[0, 0, 0, 0, 0, 0, 10, 77, 0, 1]);
    let mut packet = netdev::Packet::from_slice(&frame);
    packet.md.in_port = OdpPort::LOCAL.0;
    for _ in 0..3 {
        dpif.execute(Execute {
            packet: packet.clone_packet(),
            actions: out(1),
            probe: false,
            mtu: 0,
        })
        .unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while rx(&h1, &dev1) < before + 3 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(rx(&h1, &dev1), before + 3, "the host received the packets");
    assert_eq!(
        dp.vport_get(OdpPort(1)).unwrap().stats.tx_packets,
        tx_before + 3
    );
    // A bad action (output to a missing port is silently dropped by the kernel; an empty
    // packet is refused).
    let e = dpif
        .execute(Execute {
            packet: netdev::Packet::from_slice(&[]),
            actions: out(1),
            probe: true,
            mtu: 0,
        })
        .unwrap_err();
    assert!(e.errno().is_some(), "{e}");
    dp.destroy().unwrap();
}

/// Flow installs per second through dpif-netlink: one `operate` with every put (sent as
/// batches of 64 messages per `send`) against one `operate` (one message) per flow.
/// Run by `cargo xtask kernel-test --bench`.
#[test]
#[ignore = "benchmark: cargo xtask kernel-test --bench"]
fn bench_flow_install_rate() {
    require_kernel_datapath!();
    let _ns = NetNs::new();
    let class = DpifNetlinkClass::new();
    let dp = open(&class, "kvbench");
    let dpif: &dyn Dpif = &*dp;
    let n: u32 = std::env::var("KV_BENCH_FLOWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let flows = |base: u32| -> Vec<FlowPut> {
        (0..n)
            .map(|i| {
                let mut key = FlowKey::zero();
                key.in_port = 1;
                key.eth_type = eth_type::IPV4;
                key.nw_proto = 17;
                key.ipv4_dst = (base + i).to_be_bytes();
                let mut mask = FlowKey::zero();
                mask.in_port = u32::MAX;
                mask.recirc_id = u32::MAX;
                mask.eth_type = u16::MAX;
                mask.nw_proto = u8::MAX;
                mask.ipv4_dst = [255; 4];
                FlowPut {
                    flags: PutFlags::CREATE,
                    key,
                    mask,
                    actions: out(0),
                    ufid: Ufid::from_key(&key),
                }
            })
            .collect()
    };
    let mut results = Vec::new();
    for round in 0..2 {
        for batched in [true, false] {
            let puts = flows(0x0a00_0000 + round * 0x0100_0000);
            let t = Instant::now();
            if batched {
                let ops = puts.into_iter().map(DpifOp::Put).collect();
                for r in dpif.operate(ops) {
                    r.unwrap();
                }
            } else {
                for p in puts {
                    dpif.flow_put(p).unwrap();
                }
            }
            let secs = t.elapsed().as_secs_f64();
            assert_eq!(dpif.stats().unwrap().n_flows, u64::from(n));
            let rate = f64::from(n) / secs;
            results.push((batched, rate));
            println!(
                "BENCH flow-install {}: {n} flows in {secs:.3} s = {rate:.0} flows/s",
                if batched {
                    "batched (operate, 64 per sendmsg)"
                } else {
                    "one message per flow"
                }
            );
            dpif.flow_flush().unwrap();
        }
    }
    let best = |b: bool| {
        results
            .iter()
            .filter(|r| r.0 == b)
            .map(|r| r.1)
            .fold(0.0, f64::max)
    };
    println!(
        "BENCH flow-install speedup of batching: {:.2}x",
        best(true) / best(false)
    );
    dp.destroy().unwrap();
}
