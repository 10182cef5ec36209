//! The replica against the real `vswitch.ovsschema` types (the column types below are
//! copied from schema 8.3.1 as shipped by Debian's openvswitch-common 3.1.0), with updates
//! shaped like those `ovsdb-server` 3.1.0 sent in `reference/interop.md` section 1.4.

use super::*;
use proptest::prelude::*;
use serde_json::json;

const O: &str = "11111111-1111-1111-1111-111111111111";
const B: &str = "22222222-2222-2222-2222-222222222222";
const P: &str = "33333333-3333-3333-3333-333333333333";
const I: &str = "44444444-4444-4444-4444-444444444444";
const P2: &str = "55555555-5555-5555-5555-555555555555";
const I2: &str = "66666666-6666-6666-6666-666666666666";
const C: &str = "77777777-7777-7777-7777-777777777777";

fn schema_json() -> Value {
    let uuids = |t: &str| json!({"type": {"key": {"type": "uuid", "refTable": t}, "min": 0, "max": "unlimited"}});
    let smap = json!({"type": {"key": "string", "value": "string", "min": 0, "max": "unlimited"}});
    let string = json!({"type": "string"});
    let opt_int = json!({"type": {"key": "integer", "min": 0, "max": 1}});
    let opt_str = json!({"type": {"key": "string", "min": 0, "max": 1}});
    json!({"name": "Open_vSwitch", "version": "8.3.1", "tables": {
        "Open_vSwitch": {"columns": {
            "bridges": uuids("Bridge"), "cur_cfg": {"type": "integer"},
            "next_cfg": {"type": "integer"}, "other_config": smap,
            "ovs_version": opt_str}},
        "Bridge": {"columns": {
            "name": string, "ports": uuids("Port"), "datapath_type": string,
            "datapath_id": opt_str, "fail_mode": opt_str,
            "protocols": {"type": {"key": "string", "min": 0, "max": "unlimited"}},
            "controller": uuids("Controller"), "other_config": smap}},
        "Port": {"columns": {
            "name": string, "interfaces": {"type": {"key": {"type": "uuid", "refTable": "Interface"}, "min": 1, "max": "unlimited"}},
            "tag": {"type": {"key": {"type": "integer", "minInteger": 0, "maxInteger": 4095}, "min": 0, "max": 1}},
            "trunks": {"type": {"key": "integer", "min": 0, "max": 4096}},
            "vlan_mode": opt_str, "other_config": smap}},
        "Interface": {"columns": {
            "name": string, "type": string, "options": smap, "ofport": opt_int,
            "ofport_request": opt_int, "mtu_request": opt_int, "mac": opt_str,
            "error": opt_str, "other_config": smap}},
        "Controller": {"columns": {"target": string}},
        "Manager": {"columns": {"target": string}},
    }})
}

fn initial() -> Value {
    json!({
        "Open_vSwitch": {O: {"initial": {"bridges": ["uuid", B], "next_cfg": 2, "cur_cfg": 1}}},
        "Bridge": {B: {"initial": {"name": "br0", "datapath_type": "netdev",
            "ports": ["uuid", P], "fail_mode": "secure", "controller": ["uuid", C],
            "other_config": ["map", [["mac-aging-time", "60"]]]}}},
        "Controller": {C: {"initial": {"target": "tcp:127.0.0.1:6653"}}},
        "Port": {P: {"initial": {"name": "p1", "interfaces": ["uuid", I], "tag": 10}}},
        "Interface": {I: {"initial": {"name": "p1", "ofport_request": 3, "mtu_request": 9000,
            "mac": "02:00:00:00:00:01", "options": ["map", [["k", "v"]]]}}},
    })
}

fn replica() -> Replica {
    let schema = Schema::from_json(&schema_json()).unwrap();
    let mut r = Replica::new(schema);
    r.reset(&initial(), UpdateKind::Update2).unwrap();
    r
}

fn uuid(s: &str) -> Uuid {
    Uuid::parse(s).unwrap()
}

#[test]
fn schema_keeps_monitored_columns() {
    let s = Schema::from_json(&schema_json()).unwrap();
    assert!(s.column("Open_vSwitch", "ovs_version").is_none());
    assert!(!s.tables.contains_key("Manager"));
    assert!(s.column("Port", "tag").is_some());
    let req = s.monitor_request(true);
    assert_eq!(req["Controller"], json!([{"columns": ["target"]}]));
    assert_eq!(
        s.monitor_request(false)["Controller"],
        json!({"columns": ["target"]})
    );
    let mut no_ctl = schema_json();
    no_ctl["tables"]
        .as_object_mut()
        .unwrap()
        .remove("Controller");
    assert!(
        Schema::from_json(&no_ctl)
            .unwrap_err()
            .0
            .contains("Controller")
    );
    assert!(Schema::from_json(&json!({})).is_err());
}

#[test]
fn initial_contents_to_config() {
    let (cfg, warnings) = replica().to_config().unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(cfg.bridges.len(), 1);
    let b = &cfg.bridges[0];
    assert_eq!(b.name, "br0");
    assert_eq!(b.datapath_type, "netdev");
    assert_eq!(b.fail_mode, FailMode::Secure);
    assert_eq!(b.controllers, vec!["tcp:127.0.0.1:6653".to_owned()]);
    assert_eq!(b.other_config["mac-aging-time"], "60");
    let p = &b.ports[0];
    assert_eq!((p.name.as_str(), p.tag), ("p1", Some(10)));
    let i = &p.interfaces[0];
    assert_eq!(i.type_, "system");
    assert_eq!(i.ofport_request, Some(3));
    assert_eq!(i.mtu_request, Some(9000));
    assert_eq!(i.mac, Some("02:00:00:00:00:01".parse().unwrap()));
    assert_eq!(i.options["k"], "v");
}

#[test]
fn update2_insert_modify_delete() {
    let mut r = replica();
    r.apply(
        &json!({
            "Bridge": {B: {"modify": {"ports": ["uuid", P2]}}},
            "Port": {P2: {"insert": {"name": "p2", "interfaces": ["uuid", I2]}}},
            "Interface": {I2: {"insert": {"name": "p2", "type": "internal"}},
                          I: {"modify": {"ofport": 3}}},
            "Open_vSwitch": {O: {"modify": {"next_cfg": 3}}},
        }),
        UpdateKind::Update2,
    )
    .unwrap();
    let (cfg, _) = r.to_config().unwrap();
    let names: Vec<_> = cfg.bridges[0]
        .ports
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(names, ["p1", "p2"]);
    assert_eq!(cfg.bridges[0].ports[1].interfaces[0].type_, "internal");
    let i = r.row("Interface", &uuid(I)).unwrap();
    assert_eq!(r.get("Interface", i, "ofport"), Datum::scalar(3));
    let o = r.row("Open_vSwitch", &uuid(O)).unwrap();
    assert_eq!(r.get("Open_vSwitch", o, "next_cfg"), Datum::scalar(3));

    r.apply(
        &json!({
            "Bridge": {B: {"modify": {"ports": ["uuid", P]}}},
            "Port": {P: {"delete": null}},
            "Interface": {I: {"delete": null}},
        }),
        UpdateKind::Update2,
    )
    .unwrap();
    let (cfg, _) = r.to_config().unwrap();
    let names: Vec<_> = cfg.bridges[0]
        .ports
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(names, ["p2"]);
}

#[test]
fn plain_monitor_updates() {
    let mut r = Replica::new(Schema::from_json(&schema_json()).unwrap());
    r.reset(
        &json!({"Open_vSwitch": {O: {"new": {"bridges": ["set", []], "cur_cfg": 0, "next_cfg": 2}}}}),
        UpdateKind::Update,
    )
    .unwrap();
    r.apply(
        &json!({"Open_vSwitch": {O: {"new": {"bridges": ["set", []], "cur_cfg": 0, "next_cfg": 3},
                                    "old": {"next_cfg": 2}}}}),
        UpdateKind::Update,
    )
    .unwrap();
    let o = r.row("Open_vSwitch", &uuid(O)).unwrap();
    assert_eq!(r.get("Open_vSwitch", o, "next_cfg"), Datum::scalar(3));
    r.apply(
        &json!({"Open_vSwitch": {O: {"old": {}}}}),
        UpdateKind::Update,
    )
    .unwrap();
    assert!(r.to_config().is_none());
}

#[test]
fn bad_updates_change_nothing() {
    let good = replica();
    let bad = [
        json!({"Interface": {I: {"modify": {"name": 5}}}}),
        json!({"Port": {P: {"modify": {"nosuchcolumn": 1}}}}),
        json!({"Port": {P2: {"modify": {"tag": 1}}}}),
        json!({"Port": {P2: {"delete": null}}}),
        json!({"Port": {P: {"insert": {"name": "again"}}}}),
        json!({"Manager": {P2: {"insert": {}}}}),
        json!({"Port": {"not-a-uuid": {"delete": null}}}),
        json!({"Port": {P: {"modify": {"tag": 1}, "delete": null}}}),
        json!({"Port": {P: "x"}}),
        json!({"Port": {P: {"modify": {"interfaces": ["uuid", I]}}}}),
        json!([1]),
        // A good part and a bad part: the good part is not applied either.
        json!({"Port": {P: {"modify": {"tag": 20}}}, "Interface": {I2: {"modify": {"type": "x"}}}}),
    ];
    for u in bad {
        let mut r = good.clone();
        assert!(r.apply(&u, UpdateKind::Update2).is_err(), "{u}");
        assert_eq!(r, good, "{u}");
    }
}

#[test]
fn invalid_rows_are_skipped_with_a_warning() {
    let mut r = replica();
    r.apply(
        &json!({
            "Bridge": {B: {"modify": {"ports": ["set", [["uuid", P2], ["uuid", I2]]]}}},
            "Port": {P2: {"insert": {"name": "p2", "interfaces": ["uuid", I2], "vlan_mode": "weird"}}},
            "Interface": {I2: {"insert": {"name": "p2", "mac": "nope"}}},
        }),
        UpdateKind::Update2,
    )
    .unwrap();
    let (cfg, warnings) = r.to_config().unwrap();
    assert_eq!(cfg.bridges[0].ports.len(), 1, "{cfg:?}");
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(
        warnings.iter().any(|w| w.contains("vlan_mode")),
        "{warnings:?}"
    );
    assert!(
        warnings.iter().any(|w| w.contains("no port row")),
        "{warnings:?}"
    );
}

proptest! {
    #[test]
    fn no_panic_on_arbitrary_updates(
        table in prop_oneof![Just("Port"), Just("Interface"), Just("Bridge"), Just("X")],
        row in prop_oneof![Just(P), Just(P2), Just("bad")],
        op in prop_oneof![Just("initial"), Just("insert"), Just("modify"), Just("delete"), Just("new"), Just("old")],
        col in prop_oneof![Just("name"), Just("tag"), Just("interfaces"), Just("other_config"), Just("zz")],
        value in prop_oneof![
            Just(json!(1)), Just(json!("s")), Just(json!(["set", []])), Just(json!(["map", [["a", "b"]]])),
            Just(json!(["uuid", I])), Just(json!(null)), Just(json!({})), Just(json!(["set", [1, 2, 3]])),
        ],
    ) {
        let before = replica();
        let u = json!({table: {row: {op: {col: value}}}});
        for kind in [UpdateKind::Update, UpdateKind::Update2] {
            let mut r = before.clone();
            if r.apply(&u, kind).is_err() {
                prop_assert_eq!(&r, &before);
            }
            let _ = r.to_config();
        }
    }
}
