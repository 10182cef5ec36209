//! The daemon's bridge layer on the in-memory datapath (`--enable-dummy`), through its
//! control socket: no root, no namespaces, no device on the host.

mod common;

use common::*;

const CFG: &str = r#"
[[bridge]]
name = "br0"
datapath_type = "dummy"

[[bridge.port]]
name = "p1"
interface = { type = "dummy" }

[[bridge.port]]
name = "p2"
tag = 10
interface = { type = "dummy" }

[[bridge.port]]
name = "p3"
interface = { type = "dummy", options = { bogus = "1" } }
"#;

#[test]
fn detach_returns_with_the_bridges_made() {
    let env = Env::with_config(CFG);
    let o = env.run(&[
        &env.config_arg(),
        "--pidfile",
        "--detach",
        "--log-file",
        "-vconsole:off",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let pid = u32::try_from(
        vswitchd::pidfile::read_pidfile(&env.pidfile())
            .unwrap()
            .unwrap(),
    )
    .unwrap();
    let d = Daemon {
        child: None,
        pid,
        ctl: env.ctl(pid),
    };
    // Ready means configured: no waiting needed.
    assert_eq!(d.ofport("p1"), Some(1));
    assert_eq!(d.ofport("p2"), Some(2));
    assert_eq!(d.ofport("br0"), Some(65534));
    assert_eq!(d.call("exit", &["--cleanup"]), Ok(String::new()));
    wait_until("the daemon to exit", || !d.alive());
}

#[test]
fn bridge_commands_and_their_errors() {
    let env = Env::with_config(CFG);
    let d = env.start(&[]);
    d.wait_ports(&["p1", "p2"]);

    let show = d.show();
    assert!(
        show.starts_with("Bridge br0\n    datapath_type: dummy\n"),
        "{show}"
    );
    assert!(show.contains("    Port p2\n        tag: 10\n"), "{show}");
    assert_eq!(iface_field(&show, "p3", "ofport").as_deref(), Some("-1"));
    let err = iface_field(&show, "p3", "error").unwrap();
    assert!(
        err.starts_with("could not configure network device p3"),
        "{err}"
    );
    assert!(
        env.log()
            .contains("|bridge|WARN|bridge br0: could not configure network device p3")
    );

    assert_eq!(d.call("ofproto/list", &[]), Ok("br0\n".into()));
    let dpif = d.call("dpif/show", &[]).unwrap();
    assert!(dpif.starts_with("dummy@ovs-dummy: hit:"), "{dpif}");
    assert!(dpif.contains("    p1 1/1: (dummy)\n"), "{dpif}");
    assert_eq!(
        d.call("fdb/show", &["br0"]),
        Ok(" port  VLAN  MAC                Age\n".into())
    );
    assert_eq!(
        d.call("fdb/show", &["nosuch"]),
        Err("no such bridge\n".into())
    );
    assert_eq!(
        d.call("fdb/flush", &["nosuch"]),
        Err("no such bridge\n".into())
    );
    assert_eq!(
        d.call("fdb/flush", &[]),
        Ok("table successfully flushed\n".into())
    );
    assert_eq!(
        d.call("bridge/dump-flows", &["nosuch"]),
        Err("Unknown bridge\n".into())
    );
    let flows = d.call("bridge/dump-flows", &["br0"]).unwrap();
    assert!(flows.contains("priority=0,actions=NORMAL\n"), "{flows}");
    assert_eq!(
        d.call("ofproto/trace", &["nosuch", "in_port=1"]),
        Err("nosuch: unknown bridge\n".into())
    );
    let e = d
        .call("ofproto/trace", &["br0", "in_port=1,bogus=2"])
        .unwrap_err();
    assert!(e.starts_with("Bad openflow flow syntax: "), "{e}");
    let t = d
        .call(
            "ofproto/trace",
            &["br0", "in_port=p2,dl_dst=ff:ff:ff:ff:ff:ff"],
        )
        .unwrap();
    assert!(t.starts_with("Flow: in_port=2,"), "{t}");
    assert!(t.contains("\nDatapath actions: "), "{t}");
    let flows = d.call("dpctl/dump-flows", &["-m"]).unwrap();
    assert!(flows.starts_with("flow-dump from "), "{flows}");
    assert!(d.call("dpctl/dump-flows", &["--bogus"]).is_err());
    assert!(d.call("dpif/dump-flows", &["br0"]).is_ok());
    assert_eq!(
        d.call("dpif/dump-flows", &["-m", "nosuch"]),
        Err("no such bridge\n".into())
    );
    assert!(
        d.call("dpctl/show", &["-s"])
            .unwrap()
            .starts_with("dummy@ovs-dummy:")
    );
    assert!(
        d.call("upcall/show", &[])
            .unwrap()
            .starts_with("dummy@ovs-dummy:")
    );
    assert_eq!(d.call("revalidator/wait", &[]), Ok(String::new()));
    let mem = d.call("memory/show", &[]).unwrap();
    assert!(
        mem.contains("bridges:1") && mem.contains("ports:3"),
        "{mem}"
    );

    // reload of an unchanged file retries the failed interface (and reports it again).
    let r = d.call("reload", &[]).unwrap();
    assert!(
        r.contains("configuration unchanged") && r.contains("error: "),
        "{r}"
    );
    // Fixed in the file: p3 works.
    env.write_config(&CFG.replace(", options = { bogus = \"1\" }", ""));
    let r = d.call("reload", &[]).unwrap();
    assert!(
        r.contains("configuration reloaded: 1 bridges, 3 ports"),
        "{r}"
    );
    assert_eq!(d.ofport("p3"), Some(3));
    assert_eq!(iface_field(&d.show(), "p3", "error"), None);
    let cov = d
        .call("coverage/read-counter", &["bridge_reconfigure"])
        .unwrap();
    assert_eq!(cov, "3\n");
}

#[test]
fn bridges_come_and_go() {
    let env = Env::with_config(CFG);
    let d = env.start(&[]);
    d.wait_ports(&["p1", "p2"]);
    let two = format!(
        "{CFG}\n[[bridge]]\nname = \"br1\"\ndatapath_type = \"dummy\"\n[[bridge.port]]\nname = \"q1\"\ninterface = {{ type = \"dummy\" }}\n"
    );
    env.write_config(&two);
    d.call("reload", &[]).unwrap();
    assert_eq!(d.call("ofproto/list", &[]), Ok("br0\nbr1\n".into()));
    assert_eq!(d.ofport("q1"), Some(1));
    assert_eq!(d.ofport("p1"), Some(1));
    // A port moves from br0 to br1, br0 goes.
    env.write_config(
        "[[bridge]]\nname = \"br1\"\ndatapath_type = \"dummy\"\n[[bridge.port]]\nname = \"q1\"\ninterface = { type = \"dummy\" }\n[[bridge.port]]\nname = \"p1\"\ninterface = { type = \"dummy\" }\n",
    );
    d.call("reload", &[]).unwrap();
    assert_eq!(d.call("ofproto/list", &[]), Ok("br1\n".into()));
    assert_eq!(d.ofport("p1"), Some(2));
    assert!(!d.call("dpif/show", &[]).unwrap().contains("br0"));
}
