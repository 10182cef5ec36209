//! The kernel tier: dpif-netlink against the real `openvswitch.ko`, inside the kernel VM
//! (`cargo xtask kernel-test`). On a host without the module every test skips loudly.
//!
//! Each test runs in its own network namespace: kernel datapaths are per namespace, so tests
//! cannot see each other's datapaths, and everything a test made goes with its namespace.
//! Results are cross-checked with Debian's `ovs-dpctl`.
//!
//! The whole switch (vswitchd bridges) on the kernel datapath is tested later, once vswitchd
//! runs bridges.

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
