//! Flow-mod semantics on a [`TableSet`].

use super::*;
use crate::ofctl::{self, FlowModCommand as C};

fn fm(s: &str, c: C) -> FlowMod {
    ofctl::parse_flow_mod(s, c, None).unwrap()
}

fn apply(t: &mut TableSet, s: &str, c: C, now: u64) -> FlowModResult {
    t.flow_mod(&fm(s, c), now, Origin::OpenFlow).unwrap()
}

fn dump(t: &TableSet) -> Vec<String> {
    t.all_rules(true)
        .iter()
        .map(|r| ofctl::format::bridge_dump_flow_line(r, 0))
        .collect()
}

#[test]
fn add_replaces_identical_match_and_priority() {
    let mut t = TableSet::new();
    let r1 = apply(&mut t, "priority=5,in_port=1,actions=output:2", C::Add, 0);
    r1.added[0].credit(3, 300, 10);
    let r2 = apply(&mut t, "priority=5,in_port=1,actions=output:3", C::Add, 100);
    assert_eq!(r2.removed.len(), 1);
    assert_eq!(r2.removed[0].1, RemovedReason::Replaced);
    assert_eq!(t.n_rules(), 1);
    let rules = t.all_rules(false);
    assert_eq!(rules[0].stats().packets, 3, "counters carried over");
    assert_eq!(rules[0].created_ms, 100, "duration restarts");
    // Same match, another priority: a second rule.
    apply(&mut t, "priority=6,in_port=1,actions=output:3", C::Add, 0);
    assert_eq!(t.n_rules(), 2);
    // reset_counts.
    apply(
        &mut t,
        "priority=5,in_port=1,reset_counts,actions=drop",
        C::Add,
        0,
    );
    let r = t
        .rules(&RuleQuery {
            strict: true,
            priority: 5,
            match_: fm("in_port=1", C::Delete).match_,
            ..RuleQuery::default()
        })
        .pop()
        .unwrap();
    assert_eq!(r.stats().packets, 0);
}

#[test]
fn check_overlap() {
    let mut t = TableSet::new();
    apply(
        &mut t,
        "priority=5,ip,nw_dst=10.0.0.0/8,actions=drop",
        C::Add,
        0,
    );
    let overlapping = fm(
        "priority=5,ip,nw_dst=10.1.0.0/16,check_overlap,actions=drop",
        C::Add,
    );
    let e = t.flow_mod(&overlapping, 0, Origin::OpenFlow).unwrap_err();
    assert_eq!(e, Error::Overlap);
    assert_eq!(e.ofp_error().map(|o| o.name), Some("OFPFMFC_OVERLAP"));
    // An identical rule is replaced, not an overlap (as Open vSwitch 3.1 does).
    apply(
        &mut t,
        "priority=5,ip,nw_dst=10.0.0.0/8,check_overlap,actions=NORMAL",
        C::Add,
        0,
    );
    // Other priority or disjoint: fine.
    apply(
        &mut t,
        "priority=6,ip,nw_dst=10.1.0.0/16,check_overlap,actions=drop",
        C::Add,
        0,
    );
    apply(
        &mut t,
        "priority=5,ip,nw_dst=11.0.0.0/8,check_overlap,actions=drop",
        C::Add,
        0,
    );
    assert_eq!(t.n_rules(), 3);
}

#[test]
fn modify_loose_strict_and_cookies() {
    let mut t = TableSet::new();
    apply(
        &mut t,
        "priority=5,cookie=0x1,in_port=1,actions=output:2",
        C::Add,
        0,
    );
    apply(
        &mut t,
        "priority=6,cookie=0x2,in_port=1,ip,actions=output:2",
        C::Add,
        0,
    );
    apply(
        &mut t,
        "priority=7,cookie=0x1,in_port=2,actions=output:2",
        C::Add,
        0,
    );
    let v0 = t.version();

    // Loose: everything in_port=1 covers.
    let r = apply(&mut t, "in_port=1,actions=output:9", C::Modify, 50);
    assert_eq!(r.modified.len(), 2);
    assert!(t.version() > v0);
    for (old, new) in &r.modified {
        assert_eq!(old.cookie, new.cookie);
        assert_eq!(old.created_ms, new.created_ms);
        assert_eq!(new.modified_ms, 50);
        assert!(Arc::ptr_eq(&old.counters, &new.counters));
    }

    // Cookie filter.
    let r = apply(&mut t, "cookie=0x1/-1,actions=output:8", C::Modify, 60);
    let mut prios: Vec<u32> = r.modified.iter().map(|(_, n)| n.priority).collect();
    prios.sort();
    assert_eq!(prios, vec![5, 7]);

    // Strict: match and priority must be equal.
    let r = apply(
        &mut t,
        "priority=5,in_port=1,ip,actions=output:7",
        C::ModifyStrict,
        70,
    );
    assert!(r.is_empty());
    let r = apply(
        &mut t,
        "priority=6,in_port=1,ip,actions=output:7",
        C::ModifyStrict,
        70,
    );
    assert_eq!(r.modified.len(), 1);

    // A modify that matches nothing and sets a cookie adds (OpenFlow 1.0).
    let r = apply(
        &mut t,
        "in_port=5,cookie=0x9,actions=output:1",
        C::Modify,
        80,
    );
    assert_eq!(r.added.len(), 1);
    assert_eq!(r.added[0].cookie, 9);
    // Without a cookie it does nothing.
    let r = apply(&mut t, "in_port=6,actions=output:1", C::Modify, 80);
    assert!(r.is_empty());
    // A modify with a new cookie changes it.
    let r = apply(
        &mut t,
        "in_port=5,cookie=0xa,actions=output:1",
        C::Modify,
        90,
    );
    assert_eq!(r.modified[0].1.cookie, 0xa);
}

#[test]
fn delete_filters() {
    let mut t = TableSet::new();
    apply(
        &mut t,
        "priority=5,cookie=0x1,in_port=1,actions=output:2",
        C::Add,
        0,
    );
    apply(
        &mut t,
        "priority=6,cookie=0x2,in_port=1,ip,actions=output:3",
        C::Add,
        0,
    );
    apply(
        &mut t,
        "table=1,priority=7,cookie=0x1,in_port=2,actions=output:2",
        C::Add,
        0,
    );
    apply(
        &mut t,
        "table=2,priority=7,in_port=2,actions=write_actions(output:3)",
        C::Add,
        0,
    );

    // out_port.
    let r = apply(&mut t, "out_port=3", C::Delete, 0);
    assert_eq!(r.removed.len(), 2);
    assert!(
        r.removed
            .iter()
            .all(|(_, why)| *why == RemovedReason::Delete)
    );
    assert_eq!(t.n_rules(), 2);

    // Strict needs the exact priority.
    let r = apply(&mut t, "priority=4,in_port=1", C::DeleteStrict, 0);
    assert!(r.is_empty());
    // Cookie mask across all tables.
    let r = apply(&mut t, "cookie=0x1/0xff", C::Delete, 0);
    assert_eq!(r.removed.len(), 2);
    assert_eq!(t.n_rules(), 0);
}

#[test]
fn table_254_is_hidden_and_read_only() {
    let mut t = TableSet::new();
    assert_eq!(t.n_visible_tables(), 254);
    let internal = fm(
        "table=254,priority=0,reg0=0x1,actions=controller(reason=no_match)",
        C::Add,
    );
    assert_eq!(
        t.flow_mod(&internal, 0, Origin::OpenFlow).unwrap_err(),
        Error::TableReadOnly(254)
    );
    t.flow_mod(&internal, 0, Origin::Internal).unwrap();
    apply(&mut t, "priority=0,actions=NORMAL", C::Add, 0);
    assert_eq!(t.all_rules(false).len(), 1);
    assert_eq!(t.all_rules(true).len(), 2);
    // Delete-all from OpenFlow leaves table 254 alone.
    apply(&mut t, "", C::Delete, 0);
    assert_eq!(
        dump(&t),
        vec![
            "table_id=254, duration=0s, n_packets=0, n_bytes=0, priority=0,reg0=0x1,actions=controller(reason=no_match)"
        ]
    );
    // OpenFlow cannot goto table 254.
    let goto = fm("actions=goto_table:254", C::Add);
    assert!(matches!(
        t.flow_mod(&goto, 0, Origin::OpenFlow),
        Err(Error::BadGotoTable { .. })
    ));
}

#[test]
fn errors_leave_tables_unchanged() {
    let mut t = TableSet::new();
    apply(&mut t, "table=3,in_port=1,actions=output:2", C::Add, 0);
    let v = t.version();
    // goto_table backwards from table 3 fails for the modify as a whole.
    let bad = fm("in_port=1,actions=goto_table:2", C::Modify);
    assert!(t.flow_mod(&bad, 0, Origin::OpenFlow).is_err());
    assert_eq!(t.version(), v);
    let mut m = Match::catchall();
    m.set_tp_dst(80);
    let no_prereq = FlowMod::new(C::Add, m);
    assert!(matches!(
        t.flow_mod(&no_prereq, 0, Origin::OpenFlow),
        Err(Error::BadPrereq { .. })
    ));
    t.table_mut(5).unwrap().max_flows = Some(1);
    apply(&mut t, "table=5,in_port=1,actions=drop", C::Add, 0);
    let full = fm("table=5,in_port=2,actions=drop", C::Add);
    assert_eq!(
        t.flow_mod(&full, 0, Origin::OpenFlow).unwrap_err(),
        Error::TableFull(5)
    );
}

#[test]
fn timeouts_expire_with_simulated_time() {
    let mut t = TableSet::new();
    apply(
        &mut t,
        "in_port=1,idle_timeout=10,actions=drop",
        C::Add,
        1_000,
    );
    apply(
        &mut t,
        "in_port=2,hard_timeout=5,actions=drop",
        C::Add,
        1_000,
    );
    apply(&mut t, "in_port=3,actions=drop", C::Add, 1_000);
    assert!(t.expired(6_000).is_empty());
    let e = t.expired(6_001);
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].1, RemovedReason::HardTimeout);
    // Traffic keeps the idle rule alive.
    let idle = t
        .all_rules(false)
        .into_iter()
        .find(|r| r.idle_timeout == 10)
        .unwrap();
    idle.credit(1, 64, 8_000);
    let e = t.expired(11_001);
    assert_eq!(e.len(), 1, "only the hard-timeout rule");
    let e = t.expired(18_001);
    assert_eq!(e.len(), 2);
    let v = t.version();
    let victims: Vec<Arc<Rule>> = e.into_iter().map(|(r, _)| r).collect();
    assert_eq!(t.remove_rules(&victims).len(), 2);
    assert!(t.version() > v);
    assert!(t.expired(u64::MAX / 2).is_empty());
    assert_eq!(t.n_rules(), 1);
    // A stale rule (already removed) is not removed twice.
    assert!(t.remove_rules(&victims).is_empty());
}

#[test]
fn lookup_through_tables() {
    let mut t = TableSet::new();
    apply(
        &mut t,
        "priority=10,in_port=1,actions=goto_table:1",
        C::Add,
        0,
    );
    apply(
        &mut t,
        "table=1,priority=10,dl_dst=00:00:00:00:00:02,actions=output:2",
        C::Add,
        0,
    );
    let mut f = Flow::zero();
    f.set_in_port(OfpPort(1));
    f.set_dl_dst(netdev::EthAddr([0, 0, 0, 0, 0, 2]));
    let mut wc = FlowWildcards::catchall();
    let r0 = t.lookup(0, &f, Some(&mut wc)).unwrap();
    assert_eq!(r0.actions[0], Action::GotoTable(1));
    let r1 = t.lookup(1, &f, Some(&mut wc)).unwrap();
    assert_eq!(r1.actions[0], Action::Output(OfpPort(2)));
    let dp = wc.to_dp_mask();
    assert_eq!(dp.in_port, u32::MAX);
    assert_eq!(dp.eth_dst, [0xff; 6]);
    assert_eq!(dp.eth_src, [0; 6]);
    assert!(t.lookup(200, &f, None).is_none());
}

#[test]
fn rule_query_from_a_dump_filter() {
    let mut t = TableSet::new();
    apply(
        &mut t,
        "table=2,cookie=0x5,in_port=1,actions=output:3",
        C::Add,
        0,
    );
    apply(
        &mut t,
        "table=2,cookie=0x6,in_port=1,ip,actions=output:3",
        C::Add,
        0,
    );
    apply(
        &mut t,
        "table=1,cookie=0x5,in_port=1,actions=output:3",
        C::Add,
        0,
    );
    let q = RuleQuery::from_flow_mod(&fm("table=2,cookie=0x5/-1,out_port=3", C::Delete));
    let got = t.rules(&q);
    assert_eq!(got.len(), 1);
    assert_eq!((got[0].table_id, got[0].cookie), (2, 5));
    assert_eq!(
        t.rules(&RuleQuery::from_flow_mod(&fm("in_port=1", C::Delete)))
            .len(),
        3
    );
}

#[test]
fn lookup_counters_are_shared_by_clones() {
    let t = TableSet::new();
    let copy = t.clone();
    copy.table(0).unwrap().count_lookup(true);
    copy.table(0).unwrap().count_lookup(false);
    assert_eq!(t.table(0).unwrap().lookup_counts(), (2, 1));
    assert_eq!(t.table(1).unwrap().lookup_counts(), (0, 0));
}

mod model {
    //! Random flow-mod sequences against a naive model of the tables.
    use super::*;
    use proptest::prelude::*;

    #[derive(Clone, Debug)]
    enum Op {
        Add(u8, u32, u32, u64),
        Del(bool, u8, u32, u32),
        Mod(bool, u8, u32, u32, u64),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0u8..3, 0u32..4, 0u32..3, 0u64..3).prop_map(|(t, p, prio, c)| Op::Add(t, p, prio, c)),
            (any::<bool>(), 0u8..4, 0u32..5, 0u32..3)
                .prop_map(|(s, t, p, prio)| Op::Del(s, t, p, prio)),
            (any::<bool>(), 0u8..4, 0u32..5, 0u32..3, 0u64..3)
                .prop_map(|(s, t, p, prio, c)| Op::Mod(s, t, p, prio, c)),
        ]
    }

    /// in_port=0 stands for "no in_port" (a catch-all match).
    fn m(port: u32) -> Match {
        let mut m = Match::catchall();
        if port != 0 {
            m.set_in_port(OfpPort(port));
        }
        m
    }

    /// Model rule: (table, port, priority) -> (cookie, output port).
    type ModelKey = (u8, u32, u32);
    type ModelVal = (u64, u32);
    type Model = std::collections::BTreeMap<ModelKey, ModelVal>;

    fn covered(sel_port: u32, port: u32) -> bool {
        sel_port == 0 || sel_port == port
    }

    proptest! {
        #[test]
        fn tables_follow_the_model(ops in proptest::collection::vec(op(), 1..40)) {
            let mut t = TableSet::new();
            let mut model = Model::new();
            for (i, o) in ops.iter().enumerate() {
                let out = u32::try_from(i).unwrap() + 1;
                match *o {
                    Op::Add(table, port, prio, cookie) => {
                        let mut f = FlowMod::new(C::Add, m(port));
                        f.table_id = table;
                        f.priority = prio;
                        f.new_cookie = Some(cookie);
                        f.actions = vec![Action::Output(OfpPort(out))];
                        t.flow_mod(&f, 0, Origin::OpenFlow).unwrap();
                        model.insert((table, port, prio), (cookie, out));
                    }
                    Op::Del(strict, table, port, prio) => {
                        let mut f = FlowMod::new(
                            if strict { C::DeleteStrict } else { C::Delete },
                            m(port),
                        );
                        f.table_id = if table == 3 { TABLE_ALL } else { table };
                        f.priority = prio;
                        let r = t.flow_mod(&f, 0, Origin::OpenFlow).unwrap();
                        let before = model.len();
                        model.retain(|&(tb, p, pr), _| {
                            let tmatch = table == 3 || tb == table;
                            let hit = if strict { p == port && pr == prio } else { covered(port, p) };
                            !(tmatch && hit)
                        });
                        prop_assert_eq!(r.removed.len(), before - model.len());
                    }
                    Op::Mod(strict, table, port, prio, cookie) => {
                        let mut f = FlowMod::new(
                            if strict { C::ModifyStrict } else { C::Modify },
                            m(port),
                        );
                        f.table_id = if table == 3 { TABLE_ALL } else { table };
                        f.priority = prio;
                        f.cookie = cookie;
                        f.cookie_mask = u64::MAX;
                        f.actions = vec![Action::Output(OfpPort(out))];
                        let r = t.flow_mod(&f, 0, Origin::OpenFlow).unwrap();
                        let mut n = 0;
                        for (&(tb, p, pr), v) in model.iter_mut() {
                            let tmatch = table == 3 || tb == table;
                            let hit = if strict { p == port && pr == prio } else { covered(port, p) };
                            if tmatch && hit && v.0 == cookie {
                                v.1 = out;
                                n += 1;
                            }
                        }
                        prop_assert_eq!(r.modified.len(), n);
                    }
                }
            }
            let mut got: Vec<(ModelKey, ModelVal)> = t
                .all_rules(false)
                .iter()
                .map(|r| {
                    let port = if r.match_.is_catchall() { 0 } else { r.match_.flow().in_port().0 };
                    let out = match r.actions.first() {
                        Some(Action::Output(p)) => p.0,
                        _ => 0,
                    };
                    ((r.table_id, port, r.priority), (r.cookie, out))
                })
                .collect();
            got.sort();
            let want: Vec<_> = model.into_iter().collect();
            prop_assert_eq!(got, want);
        }
    }
}
