//! `Switch::reconfigure` over the real ofproto-dpif and the in-memory (`dummy`) datapath and
//! devices: port numbers, what reconfiguration leaves alone, failing interfaces, and VLAN
//! settings seen in the frames the bridge forwards.

// Test helpers: failing loudly is what they are for.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use bridge::{Config, Registries, Switch};
use netdev::dummy::DummyNetdev;
use netdev::{Packet, downcast};
use ofproto::OfpPort;

fn switch() -> Switch {
    Switch::with_ofproto_dpif(Registries::new())
}

fn apply(sw: &mut Switch, toml: &str) -> bridge::ReconfigureReport {
    let cfg = Config::from_toml_str(toml, &sw.config_types()).unwrap();
    sw.reconfigure(&cfg)
}

fn ofport(sw: &Switch, br: &str, iface: &str) -> Option<u32> {
    sw.iface(br, iface).and_then(|i| i.ofport).map(|p| p.0)
}

fn dummy(sw: &Switch, br: &str, iface: &str) -> Arc<DummyNetdev> {
    downcast::<DummyNetdev>(&sw.iface_netdev(br, iface).unwrap()).unwrap()
}

/// The datapath port number of `iface` in `dpif/show` (`    p1 1/3: (dummy)`).
fn odp_port(sw: &Switch, iface: &str) -> String {
    let show = sw.cmd_dpif_show().unwrap();
    let prefix = format!("    {iface} ");
    let line = show
        .lines()
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("{iface} not in {show}"));
    line.split_whitespace().nth(1).unwrap().to_owned()
}

fn port(name: &str, extra: &str) -> String {
    format!("[[bridge.port]]\nname = \"{name}\"\n{extra}interface = {{ type = \"dummy\" }}\n")
}

fn bridge(ports: &[String]) -> String {
    let mut s = String::from("[[bridge]]\nname = \"br0\"\ndatapath_type = \"dummy\"\n");
    for p in ports {
        s.push_str(p);
    }
    s
}

/// A broadcast frame from `src` (an IPv4 payload of `len` zero bytes).
fn frame(src: [u8; 6], len: usize) -> Packet {
    let mut b = vec![0xff; 6];
    b.extend_from_slice(&src);
    b.extend_from_slice(&[0x08, 0x00]);
    b.extend(std::iter::repeat_n(0u8, len));
    Packet::from_slice(&b)
}

/// Runs the switch until `cond` holds (up to 5 s).
fn run_until(sw: &mut Switch, what: &str, mut cond: impl FnMut(&Switch) -> bool) {
    let t = Instant::now();
    while !cond(sw) {
        assert!(t.elapsed() < Duration::from_secs(5), "timed out: {what}");
        sw.run(dpif::monotonic_ms());
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn requested_numbers_first_and_the_local_port() {
    let mut sw = switch();
    let r = apply(
        &mut sw,
        &bridge(&[port("a", ""), port("b", "ofport_request = 1\n")]),
    );
    assert!(r.errors.is_empty(), "{r:?}");
    assert_eq!(ofport(&sw, "br0", "b"), Some(1));
    assert_eq!(ofport(&sw, "br0", "a"), Some(2));
    assert_eq!(ofport(&sw, "br0", "br0"), Some(OfpPort::LOCAL.0));
    let ports = sw.ofproto("br0").unwrap().port_dump();
    assert_eq!(ports.len(), 3);
    // A new unrequested port listed first does not take a newly requested number.
    apply(
        &mut sw,
        &bridge(&[
            port("c", ""),
            port("a", ""),
            port("b", "ofport_request = 1\n"),
            port("d", "ofport_request = 3\n"),
        ]),
    );
    assert_eq!(ofport(&sw, "br0", "d"), Some(3));
    assert_eq!(ofport(&sw, "br0", "c"), Some(4));
    sw.exit(true);
}

#[test]
fn unchanged_ports_keep_device_and_numbers() {
    let mut sw = switch();
    let two = bridge(&[port("p1", ""), port("p2", "")]);
    apply(&mut sw, &two);
    let dev = sw.iface_netdev("br0", "p1").unwrap();
    let odp = odp_port(&sw, "p1");
    let r = apply(
        &mut sw,
        &bridge(&[port("p1", ""), port("p2", ""), port("p3", "")]),
    );
    assert_eq!(r.ifaces_added.len(), 1, "{r:?}");
    assert!(r.ifaces_deleted.is_empty());
    let r = apply(&mut sw, &two);
    assert_eq!(r.ifaces_deleted, vec![("br0".to_owned(), "p3".to_owned())]);
    assert!(Arc::ptr_eq(&dev, &sw.iface_netdev("br0", "p1").unwrap()));
    assert_eq!(odp_port(&sw, "p1"), odp, "p1 was re-added to the datapath");
    assert_eq!(ofport(&sw, "br0", "p1"), Some(1));
    assert!(!sw.cmd_dpif_show().unwrap().contains("p3"));
    sw.exit(true);
}

#[test]
fn a_failing_interface_leaves_the_others_forwarding() {
    let mut sw = switch();
    let r = apply(
        &mut sw,
        &bridge(&[
            port("p1", ""),
            port("p2", ""),
            "[[bridge.port]]\nname = \"p3\"\ninterface = { type = \"dummy\", options = { n_rxq = \"0\" } }\n"
                .to_owned(),
        ]),
    );
    assert_eq!(r.errors.len(), 1, "{r:?}");
    let p3 = sw.iface("br0", "p3").unwrap();
    assert_eq!(p3.ofport, None);
    assert!(
        p3.error
            .as_deref()
            .unwrap()
            .starts_with("could not configure network device p3"),
        "{p3:?}"
    );
    assert!(
        sw.show()
            .contains("ofport: -1\n            error: \"could not configure")
    );

    // p1 floods to p2 (and the local port).
    let (p1, p2) = (dummy(&sw, "br0", "p1"), dummy(&sw, "br0", "p2"));
    assert!(p1.receive(frame([2, 0, 0, 0, 0, 1], 50)));
    run_until(&mut sw, "p2 to send the flooded frame", |_| {
        p2.n_sent_waiting() > 0
    });
    let sent = p2.take_sent();
    assert_eq!(&sent[0].data()[6..12], &[2, 0, 0, 0, 0, 1]);
    let fdb = sw.cmd_fdb_show("br0").unwrap();
    assert!(fdb.contains("    1     0  02:00:00:00:00:01"), "{fdb}");
    sw.exit(true);
}

#[test]
fn vlan_settings_shape_the_forwarded_frames() {
    let mut sw = switch();
    let r = apply(
        &mut sw,
        &bridge(&[
            port("a10", "tag = 10\n"),
            port("a20", "tag = 20\n"),
            port("t", "trunks = [10, 20]\n"),
            port("b10", "tag = 10\nvlan_mode = \"access\"\n"),
        ]),
    );
    assert!(r.errors.is_empty(), "{r:?}");
    let (a10, a20, t, b10) = (
        dummy(&sw, "br0", "a10"),
        dummy(&sw, "br0", "a20"),
        dummy(&sw, "br0", "t"),
        dummy(&sw, "br0", "b10"),
    );
    assert!(a10.receive(frame([2, 0, 0, 0, 0, 10], 50)));
    run_until(&mut sw, "the trunk and b10 to send", |_| {
        t.n_sent_waiting() > 0 && b10.n_sent_waiting() > 0
    });
    // On the trunk the frame carries VLAN 10; on the other access port of VLAN 10 none;
    // VLAN 20 sees nothing.
    let on_trunk = t.take_sent();
    let d = on_trunk[0].data();
    assert_eq!(&d[12..14], &[0x81, 0x00], "untagged on the trunk: {d:02x?}");
    assert_eq!(u16::from_be_bytes([d[14], d[15]]) & 0x0fff, 10);
    let on_b10 = b10.take_sent();
    assert_eq!(&on_b10[0].data()[12..14], &[0x08, 0x00]);
    std::thread::sleep(Duration::from_millis(50));
    sw.run(dpif::monotonic_ms());
    assert_eq!(a20.n_sent_waiting(), 0, "VLAN 10 leaked into VLAN 20");

    // Retagging a20 to 10 changes only its bundle: it now gets VLAN 10 floods.
    let r = apply(
        &mut sw,
        &bridge(&[
            port("a10", "tag = 10\n"),
            port("a20", "tag = 10\n"),
            port("t", "trunks = [10, 20]\n"),
            port("b10", "tag = 10\nvlan_mode = \"access\"\n"),
        ]),
    );
    assert!(r.is_empty(), "{r:?}");
    assert!(a10.receive(frame([2, 0, 0, 0, 0, 11], 50)));
    run_until(&mut sw, "a20 to get the VLAN 10 flood", |_| {
        a20.n_sent_waiting() > 0
    });
    sw.exit(true);
}

#[test]
fn datapath_type_change_and_a_bridge_that_cannot_be_made() {
    let mut sw = switch();
    let cfg = bridge(&[port("p1", "")]);
    apply(&mut sw, &cfg);
    // The kernel datapath is not there (no openvswitch module, or no root): the bridge is
    // destroyed, its error recorded, and made again when the type goes back.
    let r = apply(&mut sw, &cfg.replace("\"dummy\"\n[[", "\"system\"\n[["));
    assert_eq!(r.bridges_deleted, vec!["br0"]);
    if r.bridges_added.is_empty() {
        assert!(
            sw.bridge_error("br0")
                .unwrap()
                .contains("failed to create bridge br0")
        );
        assert!(sw.cmd_fdb_show("br0").is_err());
    } else {
        sw.exit(true);
        return;
    }
    let r = apply(&mut sw, &cfg);
    assert_eq!(r.bridges_added, vec!["br0"]);
    assert_eq!(ofport(&sw, "br0", "p1"), Some(1));
    assert!(sw.bridge_error("br0").is_none());
    sw.exit(true);
}

#[test]
fn commands_over_ofproto_dpif() {
    let mut sw = switch();
    apply(&mut sw, &bridge(&[port("p1", ""), port("p2", "")]));
    let dpif = sw.cmd_dpif_show().unwrap();
    assert!(dpif.contains("  br0:\n"), "{dpif}");
    let flows = sw
        .cmd_bridge_dump_flows("br0", dpif::monotonic_ms())
        .unwrap();
    assert!(flows.contains("priority=0,actions=NORMAL"), "{flows}");
    let trace = sw
        .cmd_trace(&[
            "br0".into(),
            "in_port=p1,dl_src=02:00:00:00:00:01,dl_dst=02:00:00:00:00:02".into(),
        ])
        .unwrap();
    assert!(trace.starts_with("Flow: in_port=1,"), "{trace}");
    assert!(trace.contains("Datapath actions: "), "{trace}");
    // OVS's datapath-flow forms: the input port (number or name) picks the bridge.
    let odp = "in_port(2),eth(src=02:00:00:00:00:01,dst=ff:ff:ff:ff:ff:ff),eth_type(0x0806)";
    for args in [
        vec![odp.to_owned()],
        vec!["dummy@ovs-dummy".to_owned(), odp.to_owned()],
        vec![
            "ovs-dummy".to_owned(),
            odp.replace("in_port(2)", "in_port(p2)"),
        ],
    ] {
        let t = sw.cmd_trace(&args).unwrap();
        assert!(t.starts_with("Flow: arp,in_port=2,"), "{args:?}: {t}");
    }
    assert_eq!(
        sw.cmd_trace(&["netdev".into(), odp.into()]),
        Err("Cannot find the datapath".into())
    );
    let e = sw
        .cmd_trace(&[odp.replace("in_port(2)", "in_port(9)")])
        .unwrap_err();
    assert!(e.starts_with("Invalid datapath flow"), "{e}");
    let e = sw.cmd_trace(&["in_port=1".into()]).unwrap_err();
    assert!(e.ends_with("(or the bridge name was omitted)"), "{e}");
    assert!(sw.cmd_dpctl_dump_flows(&[]).is_ok());
    assert!(sw.cmd_dpctl_show(&["-s".into()]).is_ok());
    assert!(sw.cmd_upcall_show().is_ok());
    let mem: std::collections::BTreeMap<String, u64> = sw.memory_usage().into_iter().collect();
    assert_eq!(mem["ports"], 3);
    assert!(mem["rules"] >= 1);
    sw.exit(true);
}
