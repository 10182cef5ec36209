//! Unit tests of reconfigure against a recording ofproto class (every call is logged, so
//! the tests see exactly what reconfigure touched) over dummy devices.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use netdev::poll::PollSet;
use netdev::{Netdev, NetdevStats, Options, Packet};
use ofproto::{
    Action, BundleSettings, FdbEntry, Flow, FlowMod, FlowModResult, MacTableConfig, OfpPort,
    Ofproto, OfprotoClass, OfprotoPort, Rule, RuleQuery,
};

use super::*;
use crate::config::ConfigTypes;

type Log = Arc<Mutex<Vec<String>>>;

/// Ports reported by `port_poll`, by bridge.
type Vanish = Arc<Mutex<BTreeMap<String, Vec<String>>>>;

struct FakeClass {
    log: Log,
    vanish: Vanish,
}

impl OfprotoClass for FakeClass {
    fn enumerate_types(&self) -> Vec<String> {
        vec!["dummy".into(), "netdev".into()]
    }
    fn port_open_type(&self, dp_type: &str, port_type: &str) -> String {
        match (dp_type, port_type) {
            // No TAP devices in unit tests: they would appear on the host as root.
            (_, "internal") => "dummy-internal".into(),
            (_, t) => t.into(),
        }
    }
    fn set_global_config(&self, other_config: &Options) -> ofproto::Result<()> {
        if other_config.get("flow-limit").is_some_and(|v| v == "bad") {
            return Err(ofproto::Error::Invalid("flow-limit: bad".into()));
        }
        self.log
            .lock()
            .unwrap()
            .push(format!("global {other_config:?}"));
        Ok(())
    }
    fn construct(&self, name: &str, dp_type: &str) -> ofproto::Result<Box<dyn Ofproto>> {
        if dp_type == "system" {
            return Err(ofproto::Error::NotSupported {
                op: "open system datapath",
            });
        }
        self.log
            .lock()
            .unwrap()
            .push(format!("construct {name} {dp_type}"));
        Ok(Box::new(FakeOfproto {
            name: name.into(),
            dp_type: dp_type.into(),
            log: self.log.clone(),
            vanish: self.vanish.clone(),
            ports: BTreeMap::new(),
        }))
    }
}

struct FakeOfproto {
    name: String,
    dp_type: String,
    log: Log,
    vanish: Vanish,
    ports: BTreeMap<u32, Arc<dyn Netdev>>,
}

impl FakeOfproto {
    fn log(&self, s: String) {
        self.log.lock().unwrap().push(format!("{}: {s}", self.name));
    }
}

impl Ofproto for FakeOfproto {
    fn name(&self) -> &str {
        &self.name
    }
    fn dp_type(&self) -> &str {
        &self.dp_type
    }
    fn run(&mut self, _now_ms: u64) -> ofproto::Result<()> {
        Ok(())
    }
    fn wait(&mut self, _poll: &mut PollSet) {}
    fn destruct(self: Box<Self>, delete_dp: bool) {
        self.log(format!("destruct {delete_dp}"));
    }
    fn set_datapath_id(&mut self, dpid: u64) {
        self.log(format!("dpid {dpid:016x}"));
    }
    fn set_fail_mode(&mut self, mode: ofproto::FailMode) {
        self.log(format!("fail_mode {mode:?}"));
    }
    fn set_mac_table_config(&mut self, c: MacTableConfig) {
        self.log(format!("mac_table {} {}", c.idle_time_s, c.max_entries));
    }
    fn port_add(
        &mut self,
        netdev: Arc<dyn Netdev>,
        ofp_port: Option<OfpPort>,
    ) -> ofproto::Result<OfpPort> {
        let name = netdev.name().to_owned();
        if name.starts_with("refuse") {
            return Err(ofproto::Error::Netdev(netdev::Error::NoSuchDevice { name }));
        }
        let n = match ofp_port {
            Some(p) if !self.ports.contains_key(&p.0) => p.0,
            _ => (1..).find(|n| !self.ports.contains_key(n)).unwrap(),
        };
        self.ports.insert(n, netdev);
        self.log(format!(
            "port_add {name} {:?} -> {n}",
            ofp_port.map(|p| p.0)
        ));
        Ok(OfpPort(n))
    }
    fn port_del(&mut self, ofp_port: OfpPort) -> ofproto::Result<()> {
        let dev = self
            .ports
            .remove(&ofp_port.0)
            .ok_or(ofproto::Error::NoSuchPort {
                op: "port_del",
                port: ofp_port.0.to_string(),
            })?;
        self.log(format!("port_del {} {}", dev.name(), ofp_port.0));
        Ok(())
    }
    fn port_query_by_name(&self, name: &str) -> ofproto::Result<OfprotoPort> {
        self.port_dump()
            .into_iter()
            .find(|p| p.name == name)
            .ok_or(ofproto::Error::NoSuchPort {
                op: "query",
                port: name.into(),
            })
    }
    fn port_dump(&self) -> Vec<OfprotoPort> {
        self.ports
            .iter()
            .map(|(n, d)| OfprotoPort {
                name: d.name().into(),
                type_name: d.type_name().into(),
                ofp_port: OfpPort(*n),
            })
            .collect()
    }
    fn port_stats(&self, _ofp_port: OfpPort) -> ofproto::Result<NetdevStats> {
        Ok(NetdevStats::zero())
    }
    fn port_poll(&mut self) -> Vec<String> {
        let gone = self
            .vanish
            .lock()
            .unwrap()
            .remove(&self.name)
            .unwrap_or_default();
        for g in &gone {
            self.ports.retain(|_, d| d.name() != g);
        }
        gone
    }
    fn bundle_set(&mut self, name: &str, settings: Option<BundleSettings>) -> ofproto::Result<()> {
        match settings {
            None => self.log(format!("bundle_del {name}")),
            Some(s) => self.log(format!(
                "bundle_set {name} {:?} {:?} vlan={:?} trunks={:?}",
                s.members.iter().map(|p| p.0).collect::<Vec<_>>(),
                s.vlan_mode,
                s.vlan,
                s.trunks
            )),
        }
        Ok(())
    }
    fn flow_mod(&mut self, _fm: &FlowMod) -> ofproto::Result<FlowModResult> {
        Err(ofproto::Error::NotSupported { op: "flow_mod" })
    }
    fn rules(&self, _query: &RuleQuery) -> Vec<Arc<Rule>> {
        Vec::new()
    }
    fn all_rules(&self, _include_hidden: bool) -> Vec<Arc<Rule>> {
        Vec::new()
    }
    fn packet_out(
        &mut self,
        _packet: Packet,
        _in_port: OfpPort,
        _actions: &[Action],
    ) -> ofproto::Result<()> {
        Ok(())
    }
    fn fdb(&self) -> Vec<FdbEntry> {
        Vec::new()
    }
    fn fdb_flush(&mut self) {}
    fn trace(&self, _flow: &Flow, _packet: Option<&Packet>) -> ofproto::Result<String> {
        Ok(String::new())
    }
}

struct Harness {
    switch: Switch,
    log: Log,
    vanish: Vanish,
}

impl Harness {
    fn new() -> Harness {
        let log = Log::default();
        let vanish = Vanish::default();
        let class = Arc::new(FakeClass {
            log: log.clone(),
            vanish: vanish.clone(),
        });
        Harness {
            switch: Switch::new(Registries::new(), class),
            log,
            vanish,
        }
    }

    /// Applies a TOML configuration and returns the report and the calls it made.
    fn apply(&mut self, toml: &str) -> (ReconfigureReport, Vec<String>) {
        let types = self.switch.config_types();
        let cfg = Config::from_toml_str(toml, &types).unwrap();
        let report = self.switch.reconfigure(&cfg);
        (report, self.take_log())
    }

    fn take_log(&self) -> Vec<String> {
        std::mem::take(&mut *self.log.lock().unwrap())
    }

    fn ofport(&self, br: &str, iface: &str) -> Option<u32> {
        self.switch
            .iface(br, iface)
            .and_then(|i| i.ofport)
            .map(|p| p.0)
    }
}

fn has(log: &[String], s: &str) -> bool {
    log.iter().any(|l| l == s)
}

fn count_matching(log: &[String], s: &str) -> usize {
    log.iter().filter(|l| l.contains(s)).count()
}

const TWO_PORTS: &str = r#"
[[bridge]]
name = "br0"
datapath_type = "dummy"
[[bridge.port]]
name = "p1"
interface = { type = "dummy" }
[[bridge.port]]
name = "p2"
interface = { type = "dummy" }
"#;

#[test]
fn config_types_come_from_the_class_and_registry() {
    let h = Harness::new();
    let t: ConfigTypes = h.switch.config_types();
    assert!(t.datapath_types.contains(&"dummy".to_owned()));
    assert!(t.datapath_types.contains(&"system".to_owned()));
    assert!(t.interface_types.contains(&"dummy".to_owned()));
    assert!(t.interface_types.contains(&"internal".to_owned()));
}

#[test]
fn local_port_first_then_requested_then_others() {
    let mut h = Harness::new();
    let (report, log) = h.apply(
        r#"
[[bridge]]
name = "br0"
datapath_type = "dummy"
[[bridge.port]]
name = "auto"
interface = { type = "dummy" }
[[bridge.port]]
name = "req"
ofport_request = 1
interface = { type = "dummy" }
"#,
    );
    let adds: Vec<&String> = log.iter().filter(|l| l.contains("port_add")).collect();
    assert_eq!(
        adds,
        vec![
            "br0: port_add br0 Some(65534) -> 65534",
            "br0: port_add req Some(1) -> 1",
            "br0: port_add auto None -> 2",
        ]
    );
    assert_eq!(log[..2], ["global {}", "construct br0 dummy"]);
    assert_eq!(report.bridges_added, vec!["br0"]);
    assert_eq!(report.ifaces_added.len(), 3);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(h.ofport("br0", "req"), Some(1));
    assert_eq!(h.ofport("br0", "auto"), Some(2));
    assert_eq!(h.ofport("br0", "br0"), Some(65534));
    let local = h.switch.iface("br0", "br0").unwrap();
    assert_eq!(local.type_, "internal");
    assert_eq!(local.open_type, "dummy-internal");

    // A new unrequested port listed before a new requested one still leaves it its number.
    let (_, log) = h.apply(
        r#"
[[bridge]]
name = "br0"
datapath_type = "dummy"
[[bridge.port]]
name = "auto"
interface = { type = "dummy" }
[[bridge.port]]
name = "auto2"
interface = { type = "dummy" }
[[bridge.port]]
name = "req"
ofport_request = 1
interface = { type = "dummy" }
[[bridge.port]]
name = "req3"
ofport_request = 3
interface = { type = "dummy" }
"#,
    );
    let adds: Vec<&String> = log.iter().filter(|l| l.contains("port_add")).collect();
    assert_eq!(
        adds,
        vec![
            "br0: port_add req3 Some(3) -> 3",
            "br0: port_add auto2 None -> 4"
        ]
    );
}

#[test]
fn unchanged_ports_are_not_touched() {
    let mut h = Harness::new();
    let (report, _) = h.apply(TWO_PORTS);
    assert_eq!(report.ifaces_added.len(), 3);
    let p1 = h.switch.iface_netdev("br0", "p1").unwrap();
    let p1_port = h.ofport("br0", "p1");

    // The same configuration again: nothing at all.
    let (report, log) = h.apply(TWO_PORTS);
    assert!(report.is_empty(), "{report:?}");
    assert!(log.is_empty(), "{log:?}");
    assert_eq!(report.summary(), "no change");

    // A third port: only it is added; p1 keeps its device and number, no bundle of p1 or
    // p2 is set again.
    let three =
        format!("{TWO_PORTS}[[bridge.port]]\nname = \"p3\"\ninterface = {{ type = \"dummy\" }}\n");
    let (report, log) = h.apply(&three);
    assert_eq!(
        report.ifaces_added,
        vec![("br0".to_owned(), "p3".to_owned(), OfpPort(3))]
    );
    assert!(
        log.iter()
            .all(|l| !l.contains(" p1 ") && !l.contains(" p2 ")),
        "{log:?}"
    );
    assert!(has(
        &log,
        "br0: bundle_set p3 [3] Trunk vlan=None trunks=None"
    ));
    assert!(Arc::ptr_eq(
        &p1,
        &h.switch.iface_netdev("br0", "p1").unwrap()
    ));
    assert_eq!(h.ofport("br0", "p1"), p1_port);
    assert_eq!(report.summary(), "1 interface added");
}

#[test]
fn a_failing_interface_gets_no_port_and_an_error() {
    let mut h = Harness::new();
    let (report, log) = h.apply(
        r#"
[[bridge]]
name = "br0"
datapath_type = "dummy"
[[bridge.port]]
name = "p1"
interface = { type = "dummy" }
[[bridge.port]]
name = "p2"
interface = { type = "dummy", options = { bogus = "1" } }
[[bridge.port]]
name = "refuse3"
interface = { type = "dummy" }
"#,
    );
    assert_eq!(report.errors.len(), 2, "{report:?}");
    let p2 = h.switch.iface("br0", "p2").unwrap();
    assert_eq!(p2.ofport, None);
    assert_eq!(
        p2.error.as_deref(),
        Some(
            "could not configure network device p2 (p2: dummy interface does not support \
             option \"bogus\")"
        )
    );
    let r3 = h.switch.iface("br0", "refuse3").unwrap();
    assert_eq!(
        r3.error.as_deref(),
        Some("could not add network device refuse3 to ofproto (No such device)")
    );
    assert_eq!(h.ofport("br0", "p1"), Some(1));
    assert!(has(
        &log,
        "br0: bundle_set p1 [1] Trunk vlan=None trunks=None"
    ));
    assert_eq!(count_matching(&log, "bundle_set p2"), 0);
    let show = h.switch.show();
    assert!(
        show.contains(
            "    Port p2\n        Interface p2\n            type: dummy\n            \
             options: {bogus=1}\n            ofport: -1\n            error: \"could not \
             configure network device p2"
        ),
        "{show}"
    );

    // Every reconfigure tries a failed interface again; fixed, it works.
    let (report, log) = h.apply(TWO_PORTS);
    assert!(report.errors.is_empty(), "{report:?}");
    assert_eq!(h.ofport("br0", "p2"), Some(2));
    assert!(h.switch.iface("br0", "p2").unwrap().error.is_none());
    assert!(h.switch.iface("br0", "refuse3").is_none());
    assert_eq!(count_matching(&log, "port_add"), 1, "{log:?}");
}

#[test]
fn an_unknown_interface_type_fails_alone() {
    let mut h = Harness::new();
    let mut cfg = Config::from_toml_str(TWO_PORTS, &h.switch.config_types()).unwrap();
    cfg.bridges[0].ports[1].interfaces[0].type_ = "warp".into();
    let report = h.switch.reconfigure(&cfg);
    assert_eq!(report.errors.len(), 1);
    let p2 = h.switch.iface("br0", "p2").unwrap();
    assert_eq!(p2.ofport, None);
    assert!(
        p2.error
            .unwrap()
            .starts_with("could not open network device p2 (unknown network device type")
    );
    assert_eq!(h.ofport("br0", "p1"), Some(1));
}

#[test]
fn removal_deletes_the_port_and_its_bundle() {
    let mut h = Harness::new();
    h.apply(TWO_PORTS);
    let one = r#"
[[bridge]]
name = "br0"
datapath_type = "dummy"
[[bridge.port]]
name = "p1"
interface = { type = "dummy" }
"#;
    let (report, log) = h.apply(one);
    assert_eq!(report.ifaces_deleted, vec![("br0".into(), "p2".into())]);
    assert_eq!(
        log,
        vec!["br0: bundle_del p2", "br0: port_del p2 2"],
        "{log:?}"
    );
    assert!(h.switch.iface("br0", "p2").is_none());
    assert!(
        h.switch.registries().netdev.lookup("p2").is_none(),
        "device closed"
    );

    // And the bridge: destroyed with its datapath ports.
    let (report, log) = h.apply("");
    assert_eq!(report.bridges_deleted, vec!["br0"]);
    assert_eq!(log, vec!["br0: destruct true"]);
    assert!(h.switch.bridge_names().is_empty());
}

#[test]
fn datapath_type_change_recreates_the_bridge() {
    let mut h = Harness::new();
    h.apply(TWO_PORTS);
    let (report, log) = h.apply(&TWO_PORTS.replace("\"dummy\"\n[[", "\"netdev\"\n[["));
    assert_eq!(report.bridges_deleted, vec!["br0"]);
    assert_eq!(report.bridges_added, vec!["br0"]);
    assert_eq!(log[0], "br0: destruct true");
    assert_eq!(log[1], "construct br0 netdev");
    assert_eq!(report.ifaces_added.len(), 3);
}

#[test]
fn vlan_settings_reach_bundle_set() {
    let mut h = Harness::new();
    let (_, log) = h.apply(
        r#"
[[bridge]]
name = "br0"
datapath_type = "dummy"
[[bridge.port]]
name = "a10"
tag = 10
interface = { type = "dummy" }
[[bridge.port]]
name = "t"
trunks = [10, 20]
interface = { type = "dummy" }
[[bridge.port]]
name = "n"
tag = 5
vlan_mode = "native-untagged"
interface = { type = "dummy" }
"#,
    );
    assert!(
        has(
            &log,
            "br0: bundle_set a10 [1] Access vlan=Some(10) trunks=None"
        ),
        "{log:?}"
    );
    assert!(has(
        &log,
        "br0: bundle_set t [2] Trunk vlan=None trunks=Some([10, 20])"
    ));
    assert!(has(
        &log,
        "br0: bundle_set n [3] NativeUntagged vlan=Some(5) trunks=None"
    ));
    assert!(has(
        &log,
        "br0: bundle_set br0 [65534] Trunk vlan=None trunks=None"
    ));

    // Changing a tag sets that bundle again, and touches nothing else.
    let (report, log) = h.apply(
        r#"
[[bridge]]
name = "br0"
datapath_type = "dummy"
[[bridge.port]]
name = "a10"
tag = 20
interface = { type = "dummy" }
[[bridge.port]]
name = "t"
trunks = [10, 20]
interface = { type = "dummy" }
[[bridge.port]]
name = "n"
tag = 5
vlan_mode = "native-untagged"
interface = { type = "dummy" }
"#,
    );
    assert!(report.is_empty());
    assert_eq!(
        log,
        vec!["br0: bundle_set a10 [1] Access vlan=Some(20) trunks=None"]
    );
}

#[test]
fn ofport_request_change_readds_and_evicts_the_holder() {
    let mut h = Harness::new();
    h.apply(TWO_PORTS);
    assert_eq!(h.ofport("br0", "p1"), Some(1));
    assert_eq!(h.ofport("br0", "p2"), Some(2));
    // p2 now wants 1, which p1 holds without having asked for it.
    let (_, log) =
        h.apply(&TWO_PORTS.replace("name = \"p2\"\n", "name = \"p2\"\nofport_request = 1\n"));
    assert!(has(&log, "br0: port_del p1 1"), "{log:?}");
    assert!(has(&log, "br0: port_del p2 2"), "{log:?}");
    assert_eq!(h.ofport("br0", "p2"), Some(1));
    assert_eq!(h.ofport("br0", "p1"), Some(2));
}

#[test]
fn options_and_mtu_change_in_place() {
    let mut h = Harness::new();
    h.apply(TWO_PORTS);
    let dev = h.switch.iface_netdev("br0", "p1").unwrap();
    let (report, log) = h.apply(&TWO_PORTS.replacen(
        "interface = { type = \"dummy\" }",
        "interface = { type = \"dummy\", options = { n_rxq = \"2\" }, mtu_request = 9000 }",
        1,
    ));
    assert!(report.is_empty(), "{report:?}");
    assert!(log.is_empty(), "{log:?}");
    assert_eq!(dev.n_rxq(), 2);
    assert_eq!(dev.mtu().unwrap(), 9000);
    // Options the device refuses: the port goes, and comes back with the error.
    let (report, _) = h.apply(&TWO_PORTS.replacen(
        "interface = { type = \"dummy\" }",
        "interface = { type = \"dummy\", options = { n_rxq = \"0\" } }",
        1,
    ));
    assert_eq!(report.ifaces_deleted, vec![("br0".into(), "p1".into())]);
    assert_eq!(h.ofport("br0", "p1"), None);
    assert!(h.switch.iface("br0", "p1").unwrap().error.is_some());
}

#[test]
fn a_vanished_port_reports_its_error_at_the_next_run() {
    let mut h = Harness::new();
    h.apply(TWO_PORTS);
    // The device goes away under the datapath.
    let p2 = h.switch.iface_netdev("br0", "p2").unwrap();
    h.vanish
        .lock()
        .unwrap()
        .insert("br0".into(), vec!["p2".into()]);
    drop(p2);
    // Dummy devices never vanish; the test's stand-in is a type that cannot be opened.
    let mut cfg = h.switch.config().unwrap().clone();
    cfg.bridges[0].ports[1].interfaces[0].type_ = "gone".into();
    h.switch.last = Some(cfg);
    let report = h.switch.run(0).expect("reconfigured");
    assert_eq!(report.ifaces_deleted, vec![("br0".into(), "p2".into())]);
    let p2 = h.switch.iface("br0", "p2").unwrap();
    assert_eq!(p2.ofport, None);
    assert!(
        p2.error
            .unwrap()
            .starts_with("could not open network device p2")
    );
    assert_eq!(h.ofport("br0", "p1"), Some(1));
    assert!(h.switch.run(0).is_none(), "once");
}

#[test]
fn a_bridge_that_cannot_be_created_leaves_the_others() {
    let mut h = Harness::new();
    let (report, _) = h.apply(&format!(
        "{TWO_PORTS}[[bridge]]\nname = \"brk\"\ndatapath_type = \"system\"\n"
    ));
    assert_eq!(report.errors.len(), 1);
    assert!(
        h.switch
            .bridge_error("brk")
            .unwrap()
            .contains("failed to create bridge brk")
    );
    assert_eq!(h.switch.bridge_names(), vec!["br0"]);
    assert!(
        h.switch
            .show()
            .contains("Bridge brk\n    error: \"failed to create bridge brk")
    );
}

#[test]
fn bridge_settings_fail_mode_mac_table_dpid_global() {
    let mut h = Harness::new();
    let (_, log) = h.apply(
        r#"
[open_vswitch]
other_config = { flow-limit = "1000" }
[[bridge]]
name = "br0"
datapath_type = "dummy"
fail_mode = "secure"
other_config = { mac-aging-time = "5", mac-table-size = "2000000", datapath-id = "00000000000000ab" }
"#,
    );
    assert!(
        log[0].starts_with("global {\"flow-limit\": \"1000\"}"),
        "{log:?}"
    );
    assert!(has(&log, "br0: fail_mode Secure"));
    assert!(has(&log, "br0: mac_table 15 1000000"));
    assert!(has(&log, "br0: dpid 00000000000000ab"));
    // Without a datapath-id, the id comes from the local port's MAC.
    let (_, log) = h.apply(
        r#"
[[bridge]]
name = "br0"
datapath_type = "dummy"
"#,
    );
    let mac = h
        .switch
        .iface_netdev("br0", "br0")
        .unwrap()
        .etheraddr()
        .unwrap();
    assert!(has(&log, "br0: fail_mode Standalone"));
    assert!(has(&log, "br0: mac_table 300 8192"));
    assert!(
        has(&log, &format!("br0: dpid {:016x}", mac_to_u64(mac))),
        "{log:?}"
    );
    assert!(has(&log, "global {}"));
}

#[test]
fn a_bad_global_setting_is_reported_and_retried() {
    let mut h = Harness::new();
    let mut cfg = Config::default();
    cfg.open_vswitch
        .other_config
        .insert("flow-limit".into(), "bad".into());
    let report = h.switch.reconfigure(&cfg);
    assert_eq!(report.errors.len(), 1);
    let report = h.switch.reconfigure(&cfg);
    assert_eq!(report.errors.len(), 1, "tried again");
}

#[test]
fn the_local_port_may_be_listed_and_interfaces_may_move() {
    let mut h = Harness::new();
    let (report, _) = h.apply(
        r#"
[[bridge]]
name = "br0"
datapath_type = "dummy"
[[bridge.port]]
name = "br0"
interface = { type = "internal", mac = "02:00:00:00:00:01" }
[[bridge.port]]
name = "p1"
interface = { type = "dummy" }
[[bridge]]
name = "br1"
datapath_type = "dummy"
"#,
    );
    assert_eq!(report.ifaces_added.len(), 3, "{report:?}");
    assert_eq!(h.ofport("br0", "br0"), Some(65534));
    // p1 moves to br1.
    let (report, log) = h.apply(
        r#"
[[bridge]]
name = "br0"
datapath_type = "dummy"
[[bridge]]
name = "br1"
datapath_type = "dummy"
[[bridge.port]]
name = "p1"
interface = { type = "dummy" }
"#,
    );
    assert_eq!(report.ifaces_deleted, vec![("br0".into(), "p1".into())]);
    assert_eq!(
        report.ifaces_added,
        vec![("br1".into(), "p1".into(), OfpPort(1))]
    );
    assert!(
        log.iter().position(|l| l == "br0: port_del p1 1")
            < log.iter().position(|l| l.starts_with("br1: port_add p1"))
    );
}

#[test]
fn exit_destructs_every_bridge() {
    let mut h = Harness::new();
    h.apply(TWO_PORTS);
    h.take_log();
    h.switch.exit(false);
    assert_eq!(h.take_log(), vec!["br0: destruct false"]);
    assert!(h.switch.bridge_names().is_empty());
}

#[test]
fn memory_usage_counts_bridges_and_ports() {
    let mut h = Harness::new();
    h.apply(TWO_PORTS);
    let m: BTreeMap<String, u64> = h.switch.memory_usage().into_iter().collect();
    assert_eq!(m["bridges"], 1);
    assert_eq!(m["ports"], 3);
}

#[test]
fn dpid_parsing() {
    assert_eq!(parse_dpid("00000000000000ab"), Some(0xab));
    assert_eq!(parse_dpid("0000000000000000"), None);
    assert_eq!(parse_dpid("ab"), None);
    assert_eq!(parse_dpid("000000000000000g"), None);
    assert!(usable_bridge_mac(EthAddr([0, 1, 2, 3, 4, 5])));
    assert!(!usable_bridge_mac(EthAddr([2, 1, 2, 3, 4, 5])));
    assert!(!usable_bridge_mac(EthAddr([1, 1, 2, 3, 4, 5])));
}

#[test]
fn commands_and_their_errors() {
    let mut h = Harness::new();
    h.apply(TWO_PORTS);
    assert_eq!(h.switch.cmd_ofproto_list(), Ok("br0\n".into()));
    assert_eq!(
        h.switch.cmd_fdb_show("br0"),
        Ok(" port  VLAN  MAC                Age\n".into())
    );
    assert_eq!(
        h.switch.cmd_fdb_show("nosuch"),
        Err("no such bridge".into())
    );
    assert_eq!(
        h.switch.cmd_fdb_flush(Some("nosuch")),
        Err("no such bridge".into())
    );
    assert_eq!(
        h.switch.cmd_fdb_flush(None),
        Ok("table successfully flushed".into())
    );
    assert_eq!(
        h.switch.cmd_bridge_dump_flows("nosuch", 0),
        Err("Unknown bridge".into())
    );
    let args = |a: &[&str]| a.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    assert_eq!(
        h.switch.cmd_trace(&args(&["nosuch", "in_port=1"])),
        Err("nosuch: unknown bridge".into())
    );
    let e = h
        .switch
        .cmd_trace(&args(&["br0", "in_port=1,nonsense=3"]))
        .unwrap_err();
    assert!(e.starts_with("Bad openflow flow syntax: "), "{e}");
    assert!(
        h.switch
            .cmd_trace(&args(&["br0", "in_port=p2,dl_src=02:00:00:00:00:01"]))
            .is_ok()
    );
    assert!(
        h.switch
            .cmd_trace(&args(&["in_port=1"]))
            .unwrap_err()
            .ends_with("(or the bridge name was omitted)")
    );
    assert!(h.switch.cmd_dpctl_dump_flows(&args(&["-x"])).is_err());
    let show = h.switch.cmd_bridge_show().unwrap();
    assert!(
        show.starts_with("Bridge br0\n    datapath_type: dummy\n    datapath_id: 0000aa55aa55"),
        "{show}"
    );
    assert!(
        show.contains(
            "    Port br0\n        Interface br0\n            type: internal\n            \
             ofport: 65534\n    Port p1\n        Interface p1\n            type: dummy\n            \
             ofport: 1\n"
        ),
        "{show}"
    );
}

#[test]
fn openflow_sockets_and_controllers_follow_the_configuration() {
    let mut h = Harness::new();
    let dir = std::env::temp_dir().join(format!("rovs-switch-of-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    h.switch.set_rundir(Some(dir.clone()));
    h.apply(TWO_PORTS);
    assert!(dir.join("br0.mgmt").exists());
    assert!(dir.join("br0.snoop").exists());
    assert_eq!(
        h.switch.connmgr("br0").unwrap().mgmt_path(),
        Some(dir.join("br0.mgmt").as_path())
    );
    assert!(h.switch.controller_status("br0").is_empty());

    // A controller nobody listens on: configured, not connected, retried after a backoff.
    let with_ctl = TWO_PORTS.replace(
        "datapath_type = \"dummy\"",
        "datapath_type = \"dummy\"\ncontroller = [\"tcp:127.0.0.1:1\"]",
    );
    let seq = h.switch.controller_status_seq();
    h.apply(&with_ctl);
    let now = dpif::monotonic_ms();
    h.switch.run(now);
    h.switch.run(now + 10);
    let seq2 = h.switch.controller_status_seq();
    assert!(seq2 > seq);
    h.switch.run(now + 20);
    assert_eq!(h.switch.controller_status_seq(), seq2, "nothing changed");
    let st = h.switch.controller_status("br0");
    assert_eq!(st.len(), 1);
    assert_eq!(st[0].target, "tcp:127.0.0.1:1");
    assert!(!st[0].is_connected);
    assert!(matches!(
        st[0].state,
        ofproto::connmgr::ConnState::Backoff | ofproto::connmgr::ConnState::Connecting
    ));
    assert_eq!(st[0].role.name(), "other");
    assert!(h.switch.memory_usage().contains(&("ofconns".to_owned(), 0)));

    // The bridge goes: so do its sockets and controllers.
    h.apply("");
    assert!(!dir.join("br0.mgmt").exists());
    assert!(!dir.join("br0.snoop").exists());
    assert!(h.switch.controller_status("br0").is_empty());

    // And on exit.
    h.apply(TWO_PORTS);
    assert!(dir.join("br0.mgmt").exists());
    h.switch.exit(false);
    assert!(!dir.join("br0.mgmt").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A device class that wants a global setting (as `dpdk` wants `dpdk-init`).
struct PickyClass {
    log: Log,
}

impl netdev::NetdevClass for PickyClass {
    fn type_name(&self) -> &'static str {
        "picky"
    }
    fn set_global_config(&self, other_config: &Options) -> netdev::Result<()> {
        let v = other_config.get("picky-init").cloned().unwrap_or_default();
        self.log.lock().unwrap().push(format!("picky global {v}"));
        if v == "bad" {
            return Err(netdev::Error::InvalidConfig {
                name: "picky".into(),
                msg: "picky-init is bad".into(),
            });
        }
        Ok(())
    }
    fn open(&self, name: &str) -> netdev::Result<Arc<dyn Netdev>> {
        Err(netdev::Error::not_supported("open", name))
    }
}

#[test]
fn global_other_config_reaches_the_device_classes_first() {
    let mut h = Harness::new();
    h.switch
        .registries()
        .netdev
        .register(Arc::new(PickyClass { log: h.log.clone() }))
        .unwrap();
    let cfg =
        |v: &str| format!("[open_vswitch]\nother_config = {{ picky-init = \"{v}\" }}\n{TWO_PORTS}");
    let (report, log) = h.apply(&cfg("bad"));
    // The class saw the map before any bridge was made, and its refusal is reported; the
    // rest of the switch runs.
    let picky = log.iter().position(|l| l == "picky global bad").unwrap();
    let construct = log.iter().position(|l| l.starts_with("construct")).unwrap();
    assert!(picky < construct, "{log:?}");
    assert_eq!(
        report.errors,
        ["open_vswitch other_config: picky interfaces: picky: picky-init is bad"]
    );
    assert_eq!(h.ofport("br0", "p2"), Some(2));
    // Unchanged, the map is not handed over again; changed, it is.
    let (report, log) = h.apply(&cfg("bad"));
    assert!(report.errors.is_empty(), "{report:?}");
    assert!(
        !log.iter().any(|l| l.starts_with("picky global")),
        "{log:?}"
    );
    let (report, log) = h.apply(&cfg("good"));
    assert!(report.errors.is_empty(), "{report:?}");
    assert!(has(&log, "picky global good"), "{log:?}");
}
