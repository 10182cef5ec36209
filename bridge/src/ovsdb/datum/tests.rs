//! Datum vectors from RFC 7047 section 5.1 and the `update2` diff rules of OVS's
//! `ovsdb-server(7)` ("update2 notification"), both directions, and properties.

use super::*;
use proptest::prelude::*;
use serde_json::json;

const U1: &str = "550e8400-e29b-41d4-a716-446655440000";
const U2: &str = "00000000-0000-0000-0000-0000000000ff";

fn ty(v: Value) -> ColumnType {
    ColumnType::from_json(&v).unwrap()
}

#[test]
fn uuid_text() {
    let u = Uuid::parse(U1).unwrap();
    assert_eq!(u.0, 0x550e8400_e29b_41d4_a716_446655440000);
    assert_eq!(u.to_string(), U1);
    assert_eq!(Uuid::parse(&U1.to_uppercase()).unwrap(), u);
    for bad in [
        "",
        "550e8400e29b41d4a716446655440000",
        "550e8400-e29b-41d4-a716-44665544000g",
    ] {
        assert!(Uuid::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn values_both_ways() {
    let cases = [
        (json!(5), Datum::scalar(5)),
        (json!("br0"), Datum::scalar("br0")),
        (json!(true), Datum::scalar(Atom::Boolean(true))),
        (json!(1.5), Datum::scalar(Atom::Real(1.5))),
        (
            json!(["uuid", U1]),
            Datum::scalar(Atom::Uuid(Uuid::parse(U1).unwrap())),
        ),
        (
            json!(["named-uuid", "row1"]),
            Datum::scalar(Atom::NamedUuid("row1".into())),
        ),
        (json!(["set", []]), Datum::empty()),
        (
            json!(["set", [1, 2]]),
            Datum::set([Atom::Integer(2), Atom::Integer(1)]),
        ),
        (
            json!(["map", [["a", "1"], ["b", "2"]]]),
            Datum::string_map([("b", "2"), ("a", "1")]),
        ),
        (json!(["map", []]), Datum::Map(Vec::new())),
    ];
    for (j, d) in cases {
        assert_eq!(Datum::from_json(&j).unwrap(), d, "{j}");
        assert_eq!(d.to_json(), j);
    }
}

#[test]
fn typed_parsing_checks_types_and_sizes() {
    let string = ty(json!("string"));
    let opt_int = ty(json!({"key": "integer", "min": 0, "max": 1}));
    let uuids =
        ty(json!({"key": {"type": "uuid", "refTable": "Port"}, "min": 0, "max": "unlimited"}));
    let smap = ty(json!({"key": "string", "value": "string", "min": 0, "max": "unlimited"}));
    let real = ty(json!("real"));
    assert!(string.is_scalar() && !opt_int.is_scalar());
    assert!(Datum::from_json_typed(&json!("x"), &string).is_ok());
    assert!(Datum::from_json_typed(&json!(5), &string).is_err());
    assert!(Datum::from_json_typed(&json!(["set", []]), &string).is_err());
    assert!(Datum::from_json_typed(&json!(["set", []]), &opt_int).is_ok());
    assert!(Datum::from_json_typed(&json!(["set", [1, 2]]), &opt_int).is_err());
    assert!(Datum::from_json_typed(&json!(["uuid", U1]), &uuids).is_ok());
    assert!(Datum::from_json_typed(&json!(["set", [["uuid", U1], "x"]]), &uuids).is_err());
    assert!(Datum::from_json_typed(&json!(["map", [["a", "b"]]]), &smap).is_ok());
    assert!(Datum::from_json_typed(&json!(["map", [["a", 1]]]), &smap).is_err());
    assert!(Datum::from_json_typed(&json!(["set", []]), &smap).is_err());
    assert!(Datum::from_json_typed(&json!(["map", []]), &uuids).is_err());
    assert!(Datum::from_json_typed(&json!(["map", [["a", "b"], ["a", "c"]]]), &smap).is_err());
    assert!(
        Datum::from_json_typed(
            &json!(["set", [1, 1]]),
            &ty(json!({"key": "integer", "max": 4}))
        )
        .is_err()
    );
    // An integer is a real too.
    assert_eq!(
        Datum::from_json_typed(&json!(2), &real).unwrap(),
        Datum::scalar(Atom::Real(2.0))
    );
    // Malformed values never panic.
    for bad in [
        json!(null),
        json!({}),
        json!(["set"]),
        json!(["map", [1]]),
        json!(["uuid", 5]),
        json!([1, 2]),
    ] {
        assert!(Datum::from_json(&bad).is_err(), "{bad}");
    }
}

#[test]
fn schema_types() {
    let t = ty(
        json!({"key": {"type": "integer", "minInteger": 1, "maxInteger": 65279}, "min": 0, "max": 1}),
    );
    assert_eq!(
        t,
        ColumnType {
            key: AtomicType::Integer,
            value: None,
            min: 0,
            max: Some(1)
        }
    );
    assert_eq!(t.default_datum(), Datum::empty());
    assert_eq!(ty(json!("integer")).default_datum(), Datum::scalar(0));
    assert_eq!(
        ty(json!({"key": "string"})).default_datum(),
        Datum::scalar("")
    );
    for bad in [
        json!("int"),
        json!({"key": "string", "min": 2}),
        json!({"key": "string", "max": 0}),
        json!(3),
    ] {
        assert!(ColumnType::from_json(&bad).is_err(), "{bad}");
    }
}

#[test]
fn update2_diffs() {
    // Scalar: the diff is the new value.
    let name = ty(json!("string"));
    assert_eq!(
        name.apply_diff_json(&Datum::scalar("a"), &json!("b"))
            .unwrap(),
        Datum::scalar("b")
    );
    // Optional scalar (a set of 0 or 1): the new value too, as ovsdb-server 3.1.0 sends it
    // (clearing fail_mode arrived as `"fail_mode": ["set", []]`).
    let ofport = ty(json!({"key": "integer", "min": 0, "max": 1}));
    assert!(!ofport.is_composite());
    assert_eq!(
        ofport.apply_diff_json(&Datum::empty(), &json!(1)).unwrap(),
        Datum::scalar(1)
    );
    assert_eq!(
        ofport
            .apply_diff_json(&Datum::scalar(1), &json!(2))
            .unwrap(),
        Datum::scalar(2)
    );
    assert_eq!(
        ofport
            .apply_diff_json(&Datum::scalar(1), &json!(1))
            .unwrap(),
        Datum::scalar(1)
    );
    assert_eq!(
        ofport
            .apply_diff_json(&Datum::scalar(1), &json!(["set", []]))
            .unwrap(),
        Datum::empty()
    );
    // Too many elements.
    assert!(
        ofport
            .apply_diff_json(&Datum::scalar(1), &json!(["set", [1, 2]]))
            .is_err()
    );
    // Set of references.
    let ports = ty(json!({"key": "uuid", "min": 0, "max": "unlimited"}));
    let u = |s: &str| Atom::Uuid(Uuid::parse(s).unwrap());
    let old = Datum::set([u(U1)]);
    assert_eq!(
        ports
            .apply_diff_json(&old, &json!(["set", [["uuid", U1], ["uuid", U2]]]))
            .unwrap(),
        Datum::set([u(U2)])
    );
    // Map: add, remove (same value), change (new value).
    let smap = ty(json!({"key": "string", "value": "string", "min": 0, "max": "unlimited"}));
    let old = Datum::string_map([("a", "1"), ("b", "2")]);
    let diff = json!(["map", [["a", "1"], ["b", "3"], ["c", "4"]]]);
    assert_eq!(
        smap.apply_diff_json(&old, &diff).unwrap(),
        Datum::string_map([("b", "3"), ("c", "4")])
    );
    // Wrong type in a diff.
    assert!(smap.apply_diff_json(&old, &json!(["set", ["a"]])).is_err());
    assert!(ports.apply_diff_json(&Datum::empty(), &json!("x")).is_err());
}

fn arb_atom() -> impl Strategy<Value = Atom> {
    prop_oneof![
        any::<i64>().prop_map(Atom::Integer),
        (-1e9f64..1e9).prop_map(Atom::Real),
        any::<bool>().prop_map(Atom::Boolean),
        "[ -~é]{0,8}".prop_map(Atom::String),
        any::<u128>().prop_map(|u| Atom::Uuid(Uuid(u))),
        "[a-z][a-z0-9_]{0,6}".prop_map(Atom::NamedUuid),
    ]
}

fn arb_string_atom() -> impl Strategy<Value = Atom> {
    "[a-z0-9-]{0,6}".prop_map(Atom::String)
}

fn arb_datum() -> impl Strategy<Value = Datum> {
    prop_oneof![
        prop::collection::vec(arb_atom(), 0..5).prop_map(Datum::set),
        prop::collection::vec((arb_atom(), arb_atom()), 0..5).prop_map(Datum::map),
    ]
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        prop_oneof![
            Just("set"),
            Just("map"),
            Just("uuid"),
            Just("named-uuid"),
            Just(U1)
        ]
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z]{0,3}", inner, 0..3)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn datum_round_trip(d in arb_datum()) {
        prop_assert_eq!(Datum::from_json(&d.to_json()).unwrap(), d);
    }

    #[test]
    fn diff_round_trip(
        a in prop::collection::vec(arb_string_atom(), 0..6),
        b in prop::collection::vec(arb_string_atom(), 0..6),
        ma in prop::collection::vec((arb_string_atom(), arb_string_atom()), 0..6),
        mb in prop::collection::vec((arb_string_atom(), arb_string_atom()), 0..6),
    ) {
        let (a, b) = (Datum::set(a), Datum::set(b));
        prop_assert_eq!(a.apply_diff(&a.diff_to(&b), false), b.clone());
        let (ma, mb) = (Datum::map(ma), Datum::map(mb));
        prop_assert_eq!(ma.apply_diff(&ma.diff_to(&mb), false), mb.clone());
        // Through JSON, typed, as the server sends it.
        let smap = ColumnType { key: AtomicType::String, value: Some(AtomicType::String), min: 0, max: None };
        prop_assert_eq!(smap.apply_diff_json(&ma, &ma.diff_to(&mb).to_json()).unwrap(), mb);
    }

    #[test]
    fn no_panic_on_arbitrary_json(v in arb_json(), d in arb_datum()) {
        let _ = Datum::from_json(&v);
        let _ = ColumnType::from_json(&v);
        for t in [
            ColumnType::scalar(AtomicType::String),
            ColumnType { key: AtomicType::Uuid, value: None, min: 0, max: None },
            ColumnType { key: AtomicType::String, value: Some(AtomicType::Integer), min: 0, max: None },
        ] {
            let _ = Datum::from_json_typed(&v, &t);
            let _ = t.apply_diff_json(&d, &v);
        }
    }
}
