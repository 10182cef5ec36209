use super::*;
use proptest::prelude::*;

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::from_toml_str(text, &ConfigTypes::default())
}

/// Parses `text`, expects an error on `line` whose text mentions every one of `words`.
#[track_caller]
fn expect_err(text: &str, line: usize, words: &[&str]) {
    let e = parse(text).expect_err("accepted a bad config");
    let s = e.to_string();
    assert_eq!(e.line, line, "wrong line in: {s}");
    for w in words {
        assert!(s.contains(w), "{s:?} does not mention {w:?}");
    }
}

const SAMPLE: &str = r#"
[open_vswitch]
other_config = { flow-limit = "200000", pmd-cpu-mask = "0x3" }

[[bridge]]
name = "br0"
datapath_type = "netdev"        # "netdev": userspace datapath; "system": kernel datapath
fail_mode = "standalone"        # default; "secure" too
other_config = { mac-aging-time = "300", mac-table-size = "8192", flow-limit = "200000" }

[[bridge.port]]
name = "p1"                     # one interface of the same name, type "system", unless given
ofport_request = 1              # optional
tag = 10                        # optional access VLAN; trunks = [10, 20] for a trunk port
interface = { type = "system", options = {}, mtu_request = 1500 }   # optional

[[bridge.port]]
name = "p2"
trunks = [10, 20]
vlan_mode = "native-untagged"

[[bridge.port]]
name = "bond0"
interfaces = [ { name = "eth1", ofport_request = 7 }, { name = "eth2", mac = "02:00:00:00:00:02" } ]

[[bridge]]
name = "br1"
fail_mode = "secure"
protocols = ["OpenFlow10", "OpenFlow13"]
controller = ["tcp:127.0.0.1:6653"]

[[bridge.port]]
name = "patch-a"
interface = { type = "patch", options = { peer = "patch-b" } }
"#;

#[test]
fn sample_parses() {
    let c = parse(SAMPLE).unwrap();
    assert_eq!(c.open_vswitch.other_config["pmd-cpu-mask"], "0x3");
    assert_eq!(c.bridges.len(), 2);
    let br0 = &c.bridges[0];
    assert_eq!(br0.name, "br0");
    assert_eq!(br0.datapath_type, "netdev");
    assert_eq!(br0.fail_mode, FailMode::Standalone);
    assert_eq!(br0.other_config["mac-table-size"], "8192");
    let p1 = &br0.ports[0];
    assert_eq!(p1.tag, Some(10));
    assert_eq!(p1.interfaces.len(), 1);
    assert_eq!(p1.interfaces[0].name, "p1");
    assert_eq!(p1.interfaces[0].type_, "system");
    assert_eq!(p1.interfaces[0].ofport_request, Some(1));
    assert_eq!(p1.interfaces[0].mtu_request, Some(1500));
    let p2 = &br0.ports[1];
    assert_eq!(p2.trunks, vec![10, 20]);
    assert_eq!(p2.vlan_mode, Some(VlanMode::NativeUntagged));
    assert_eq!(p2.interfaces, vec![InterfaceConfig::new("p2")]);
    let bond = &br0.ports[2];
    assert_eq!(bond.interfaces.len(), 2);
    assert_eq!(bond.interfaces[0].ofport_request, Some(7));
    assert_eq!(bond.interfaces[1].mac, Some(EthAddr([2, 0, 0, 0, 0, 2])));
    let br1 = &c.bridges[1];
    assert_eq!(br1.datapath_type, "system");
    assert_eq!(br1.fail_mode, FailMode::Secure);
    assert_eq!(br1.protocols, vec!["OpenFlow10", "OpenFlow13"]);
    assert_eq!(br1.controllers, vec!["tcp:127.0.0.1:6653"]);
    assert_eq!(br1.ports[0].interfaces[0].options["peer"], "patch-b");
    assert_eq!(c.n_ports(), 4);
}

#[test]
fn empty_file_is_empty_config() {
    assert_eq!(parse("").unwrap(), Config::default());
    assert_eq!(parse("# nothing\n").unwrap(), Config::default());
}

#[test]
fn scalars_in_maps_become_strings() {
    let c = parse("[[bridge]]\nname = \"b\"\nother_config = { mac-table-size = 10, x = true }\n")
        .unwrap();
    assert_eq!(c.bridges[0].other_config["mac-table-size"], "10");
    assert_eq!(c.bridges[0].other_config["x"], "true");
    expect_err(
        "[[bridge]]\nname = \"b\"\nother_config = { x = [1] }\n",
        3,
        &["string, integer or boolean"],
    );
}

#[test]
fn syntax_error_names_line() {
    expect_err("[[bridge]]\nname = \"br0\"\nfail_mode = \n", 3, &["line 3"]);
}

#[test]
fn unknown_key() {
    expect_err(
        "[[bridge]]\nname = \"br0\"\ncolour = \"red\"\n",
        3,
        &["colour"],
    );
    expect_err(
        "[[bridge]]\nname = \"br0\"\n[[bridge.port]]\nname = \"p\"\nvlan = 3\n",
        5,
        &["vlan"],
    );
    expect_err("[something]\n", 1, &["something"]);
}

#[test]
fn missing_name() {
    let e = parse("[[bridge]]\ndatapath_type = \"netdev\"\n").unwrap_err();
    assert!(e.to_string().contains("name"), "{e}");
}

#[test]
fn unknown_datapath_type() {
    expect_err(
        "[[bridge]]\nname = \"br0\"\ndatapath_type = \"warp\"\n",
        3,
        &["datapath_type", "warp", "line 3, column 17"],
    );
}

#[test]
fn datapath_types_come_from_caller() {
    let types = ConfigTypes {
        datapath_types: vec!["dummy".into()],
        interface_types: vec!["dummy".into()],
    };
    let c = Config::from_toml_str(
        "[[bridge]]\nname = \"br0\"\ndatapath_type = \"dummy\"\n[[bridge.port]]\nname = \"p\"\ninterface = { type = \"dummy\" }\n",
        &types,
    )
    .unwrap();
    assert_eq!(c.bridges[0].datapath_type, "dummy");
    let e = Config::from_toml_str(
        "[[bridge]]\nname = \"br0\"\ndatapath_type = \"netdev\"\n",
        &types,
    )
    .unwrap_err();
    assert!(e.to_string().contains("netdev"), "{e}");
}

#[test]
fn unknown_interface_type() {
    expect_err(
        "[[bridge]]\nname = \"br0\"\n[[bridge.port]]\nname = \"p1\"\ninterface = { type = \"vxlan9\" }\n",
        5,
        &["type", "vxlan9", "port \"p1\""],
    );
}

#[test]
fn duplicate_names() {
    expect_err(
        "[[bridge]]\nname = \"br0\"\n[[bridge]]\nname = \"br0\"\n",
        4,
        &["duplicate bridge", "line 1"],
    );
    expect_err(
        "[[bridge]]\nname = \"a\"\n[[bridge.port]]\nname = \"p\"\n[[bridge]]\nname = \"b\"\n[[bridge.port]]\nname = \"p\"\n",
        8,
        &["duplicate port \"p\""],
    );
    // Interface names are global across bridges, also when the port names differ.
    expect_err(
        "[[bridge]]\nname = \"a\"\n[[bridge.port]]\nname = \"p\"\ninterfaces = [{name = \"eth0\"}]\n[[bridge]]\nname = \"b\"\n[[bridge.port]]\nname = \"q\"\ninterface = {name = \"eth0\"}\n",
        10,
        &["duplicate interface \"eth0\"", "bridge \"b\""],
    );
}

#[test]
fn vlan_ranges() {
    let port =
        |body: &str| format!("[[bridge]]\nname = \"br0\"\n[[bridge.port]]\nname = \"p\"\n{body}\n");
    expect_err(&port("tag = 4096"), 5, &["tag", "4096", "0..=4095"]);
    expect_err(&port("tag = -1"), 5, &["tag", "-1"]);
    expect_err(&port("trunks = [1, 5000]"), 5, &["trunks", "5000"]);
    assert_eq!(
        parse(&port("tag = 4095")).unwrap().bridges[0].ports[0].tag,
        Some(4095)
    );
    assert_eq!(
        parse(&port("tag = 0")).unwrap().bridges[0].ports[0].tag,
        Some(0)
    );
    expect_err(&port("vlan_mode = \"hybrid\""), 5, &["vlan_mode", "hybrid"]);
}

#[test]
fn ofport_request_range() {
    let port =
        |body: &str| format!("[[bridge]]\nname = \"br0\"\n[[bridge.port]]\nname = \"p\"\n{body}\n");
    expect_err(
        &port("ofport_request = 0"),
        5,
        &["ofport_request", "1..=65279"],
    );
    expect_err(&port("ofport_request = 65280"), 5, &["ofport_request"]);
    expect_err(
        &port("interface = { ofport_request = 70000 }"),
        5,
        &["ofport_request", "70000"],
    );
    let c = parse(&port("ofport_request = 65279")).unwrap();
    assert_eq!(
        c.bridges[0].ports[0].interfaces[0].ofport_request,
        Some(65279)
    );
    expect_err(
        &port("ofport_request = 3\ninterface = { ofport_request = 4 }"),
        5,
        &["both"],
    );
    expect_err(
        &port("ofport_request = 3\ninterfaces = [{ name = \"a\" }, { name = \"b\" }]"),
        5,
        &["several interfaces"],
    );
}

#[test]
fn fail_mode_values() {
    expect_err(
        "[[bridge]]\nname = \"br0\"\nfail_mode = \"open\"\n",
        3,
        &["fail_mode", "open", "standalone or secure"],
    );
}

#[test]
fn names_with_slash() {
    expect_err("[[bridge]]\nname = \"br/0\"\n", 2, &["'/'", "bridge"]);
    expect_err(
        "[[bridge]]\nname = \"br0\"\n[[bridge.port]]\nname = \"p/1\"\n",
        4,
        &["'/'", "port name"],
    );
    expect_err("[[bridge]]\nname = \"\"\n", 2, &["empty"]);
}

#[test]
fn interface_forms() {
    let port =
        |body: &str| format!("[[bridge]]\nname = \"br0\"\n[[bridge.port]]\nname = \"p\"\n{body}\n");
    expect_err(&port("interface = {}\ninterfaces = [{}]"), 6, &["not both"]);
    expect_err(&port("interfaces = []"), 5, &["at least one"]);
    expect_err(
        &port("interfaces = [{ name = \"a\" }, { type = \"internal\" }]"),
        5,
        &["needs a name"],
    );
    let c = parse(&port("interfaces = [{ type = \"internal\" }]")).unwrap();
    assert_eq!(c.bridges[0].ports[0].interfaces[0].name, "p");
    expect_err(
        &port("interface = { name = \"a-very-long-interface-name\" }"),
        5,
        &["15 bytes"],
    );
    expect_err(
        &port("interface = { mac = \"02:00\" }"),
        5,
        &["mac", "02:00"],
    );
    expect_err(
        &port("interface = { mtu_request = 0 }"),
        5,
        &["mtu_request"],
    );
    expect_err(&port("interface = { type = \"patch\" }"), 5, &["peer"]);
    expect_err(
        &port("interface = { type = \"patch\", options = { peer = \"p\" } }"),
        5,
        &["own peer"],
    );
}

#[test]
fn numeric_other_config() {
    expect_err(
        "[open_vswitch]\nother_config = { flow-limit = \"lots\" }\n",
        2,
        &["flow-limit", "lots"],
    );
    expect_err(
        "[[bridge]]\nname = \"b\"\nother_config = { mac-aging-time = \"-5\" }\n",
        3,
        &["mac-aging-time"],
    );
}

#[test]
fn protocols_and_controllers() {
    expect_err(
        "[[bridge]]\nname = \"b\"\nprotocols = [\"OpenFlow13\", \"OpenFlow99\"]\n",
        3,
        &["OpenFlow99"],
    );
    expect_err(
        "[[bridge]]\nname = \"b\"\ncontroller = [\"127.0.0.1:6653\"]\n",
        3,
        &["controller"],
    );
}

#[test]
fn error_columns_count_characters() {
    // A multi-byte character before the error must not shift the column.
    let e =
        parse("[[bridge]]\nname = \"b\"\nother_config = { \"é\" = \"x\", flow-limit = \"z\" }\n")
            .unwrap_err();
    assert_eq!((e.line, e.column), (3, 42), "{e}");
}

#[test]
fn load_names_the_file() {
    let dir = std::env::temp_dir().join(format!("bridge-config-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bad.toml");
    std::fs::write(&path, "[[bridge]]\nname = \"b\"\nfail_mode = \"x\"\n").unwrap();
    let e = Config::load(&path, &ConfigTypes::default()).unwrap_err();
    let s = e.to_string();
    assert!(s.starts_with(&path.display().to_string()), "{s}");
    assert!(s.contains("line 3"), "{s}");
    let missing = Config::load(&dir.join("missing.toml"), &ConfigTypes::default()).unwrap_err();
    assert!(matches!(missing, crate::Error::Io { .. }), "{missing}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn sample_round_trips() {
    let c = parse(SAMPLE).unwrap();
    let text = c.to_toml_string();
    assert_eq!(parse(&text).unwrap(), c, "{text}");
}

// ------------------------------------------------------------------------------------
// Property tests.

fn map_strategy() -> impl Strategy<Value = BTreeMap<String, String>> {
    prop::collection::btree_map("[a-z][a-z0-9-]{0,8}", "\\PC{0,12}", 0..3)
}

fn iface_strategy() -> impl Strategy<Value = InterfaceConfig> {
    (
        prop::sample::select(vec!["system", "internal", "tap", "dummy"]),
        map_strategy(),
        prop::option::of(1u16..=OFPORT_MAX),
        prop::option::of(1u32..=65535),
        prop::option::of(any::<[u8; 6]>()),
        map_strategy(),
    )
        .prop_map(|(t, options, ofport, mtu, mac, other)| InterfaceConfig {
            name: String::new(),
            type_: t.to_owned(),
            options,
            ofport_request: ofport,
            mtu_request: mtu,
            mac: mac.map(EthAddr),
            other_config: other,
        })
}

fn port_strategy() -> impl Strategy<Value = PortConfig> {
    (
        prop::option::of(0u16..=VLAN_MAX),
        prop::collection::vec(0u16..=VLAN_MAX, 0..4),
        prop::option::of(prop::sample::select(vec![
            VlanMode::Access,
            VlanMode::Trunk,
            VlanMode::NativeTagged,
            VlanMode::NativeUntagged,
        ])),
        map_strategy(),
        prop::collection::vec(iface_strategy(), 1..3),
    )
        .prop_map(
            |(tag, trunks, vlan_mode, other_config, interfaces)| PortConfig {
                name: String::new(),
                tag,
                trunks,
                vlan_mode,
                other_config,
                interfaces,
            },
        )
}

fn bridge_strategy() -> impl Strategy<Value = BridgeConfig> {
    (
        prop::sample::select(vec!["system", "netdev"]),
        prop::sample::select(vec![FailMode::Standalone, FailMode::Secure]),
        prop::sample::subsequence(OPENFLOW_VERSIONS.to_vec(), 0..3),
        prop::collection::vec("(tcp|ssl|punix):[a-z0-9.:]{1,12}", 0..2),
        prop::collection::btree_map("[a-z][a-z0-9-]{0,8}", "\\PC{0,12}", 0..3),
        prop::collection::vec(port_strategy(), 0..4),
    )
        .prop_map(
            |(dp, fail_mode, protocols, controllers, other_config, ports)| {
                BridgeConfig {
                    name: String::new(),
                    datapath_type: dp.to_owned(),
                    fail_mode,
                    protocols: protocols.into_iter().map(str::to_owned).collect(),
                    controllers,
                    // Keep numeric keys out: their values must be integers.
                    other_config: other_config
                        .into_iter()
                        .filter(|(k, _)| !NUMERIC_OTHER_CONFIG.contains(&k.as_str()))
                        .collect(),
                    ports,
                }
            },
        )
}

fn config_strategy() -> impl Strategy<Value = Config> {
    (
        prop::collection::vec(bridge_strategy(), 0..3),
        prop::collection::btree_map("x-[a-z]{1,6}", "\\PC{0,12}", 0..3),
    )
        .prop_map(|(mut bridges, other_config)| {
            // Make names unique, as a valid config needs.
            for (b, bridge) in bridges.iter_mut().enumerate() {
                bridge.name = format!("br{b}");
                for (p, port) in bridge.ports.iter_mut().enumerate() {
                    port.name = format!("p{b}x{p}");
                    let n = port.interfaces.len();
                    for (i, iface) in port.interfaces.iter_mut().enumerate() {
                        iface.name = if n == 1 {
                            port.name.clone()
                        } else {
                            format!("e{b}x{p}x{i}")
                        };
                    }
                }
            }
            Config {
                open_vswitch: OvsConfig { other_config },
                bridges,
            }
        })
}

proptest! {
    #[test]
    fn parser_never_panics(text in "\\PC{0,200}") {
        let _ = parse(&text);
    }

    #[test]
    fn parser_never_panics_on_near_toml(
        lines in prop::collection::vec(
            prop::sample::select(vec![
                "[[bridge]]", "[[bridge.port]]", "name = \"b\"", "name = \"p\"", "tag = 99999",
                "interface = { type = \"system\" }", "interfaces = [{}]", "ofport_request = -3",
                "trunks = [1, 2", "[open_vswitch]", "other_config = {a = 1}", "mac = \"zz\"",
                "fail_mode = \"secure\"", "datapath_type = 7", "= =", "\"é\" = 1",
            ]),
            0..12,
        )
    ) {
        let _ = parse(&lines.join("\n"));
    }

    #[test]
    fn round_trip(c in config_strategy()) {
        let text = c.to_toml_string();
        let back = parse(&text);
        prop_assert_eq!(back.as_ref(), Ok(&c), "{}", text);
    }
}

#[test]
fn top_level_other_config_is_the_global_map() {
    let c = parse(
        "other_config = { dpdk-init = \"true\", dpdk-extra = \"--no-huge\" }\n\
         [open_vswitch]\nother_config = { flow-limit = \"1000\" }\n",
    )
    .unwrap();
    let m = &c.open_vswitch.other_config;
    assert_eq!(m.get("dpdk-init").map(String::as_str), Some("true"));
    assert_eq!(m.get("dpdk-extra").map(String::as_str), Some("--no-huge"));
    assert_eq!(m.get("flow-limit").map(String::as_str), Some("1000"));
    expect_err(
        "other_config = { flow-limit = \"1\" }\n[open_vswitch]\nother_config = { flow-limit = \"2\" }\n",
        1,
        &["other_config:flow-limit", "both"],
    );
    expect_err(
        "other_config = { flow-limit = \"x\" }\n",
        1,
        &["flow-limit", "integer"],
    );
}
