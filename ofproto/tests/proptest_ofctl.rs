//! Property tests of the flow syntax and the classifier:
//! * `parse(format(x)) == x` for random matches, actions and flow-mods;
//! * `format(parse(s))` is a fixed point;
//! * the parser returns (never panics) on arbitrary strings;
//! * classifier lookups agree with a linear search, and the wildcards they record are
//!   sound: any packet that agrees on the recorded bits gets the same answer.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::net::{Ipv4Addr, Ipv6Addr};

use netdev::EthAddr;
use ofproto::actions::Controller;
use ofproto::ofctl::{self, FlowModCommand};
use ofproto::{
    Action, Classifier, Field, Flow, FlowMod, FlowModFlags, FlowWildcards, Match, OfpPort,
    PacketInReason, SubField,
};
use proptest::prelude::*;

fn eth() -> impl Strategy<Value = EthAddr> {
    any::<[u8; 6]>().prop_map(EthAddr)
}

fn port() -> impl Strategy<Value = OfpPort> {
    prop_oneof![
        (1u32..0xff00).prop_map(OfpPort),
        Just(OfpPort::LOCAL),
        Just(OfpPort::IN_PORT),
    ]
}

/// A random match whose prerequisites hold.
fn a_match() -> impl Strategy<Value = Match> {
    (
        0u8..8,
        proptest::option::of(port()),
        proptest::option::of((any::<u32>(), any::<u32>())),
        proptest::option::of((eth(), eth())),
        proptest::option::of(0u16..4096),
        (any::<u32>(), 0u32..=32, any::<u32>(), 0u32..=32),
        (
            any::<u16>(),
            any::<u16>(),
            any::<u8>(),
            any::<u128>(),
            0u32..=128,
        ),
        (any::<u64>(), any::<u64>(), any::<u32>()),
    )
        .prop_map(|(proto, inp, reg, macs, vlan, v4, l4, meta)| {
            let mut m = Match::catchall();
            if let Some(p) = inp {
                m.set_in_port(p);
            }
            if let Some((v, mask)) = reg {
                m.set_reg_masked(3, v, mask);
            }
            if let Some((s, d)) = macs {
                m.set_dl_src(s);
                m.set_dl_dst_masked(d, EthAddr([0xff, 0xff, 0xff, 0, 0, 0]));
            }
            if let Some(v) = vlan {
                m.set_dl_vlan(v);
            }
            let (src, slen, dst, dlen) = v4;
            let prefix = |l: u32| Ipv4Addr::from(if l == 0 { 0 } else { !0u32 << (32 - l) });
            let (sp, dp, ttl, v6, v6len) = l4;
            let (metadata, mmask, mark) = meta;
            if mmask != 0 {
                m.set_metadata_masked(metadata, mmask);
            }
            m.set(Field::PktMark, u128::from(mark)).unwrap();
            match proto {
                0 => {}
                1..=3 => {
                    m.set_dl_type(0x0800);
                    m.set_nw_src_masked(Ipv4Addr::from(src), prefix(slen));
                    m.set_nw_dst_masked(Ipv4Addr::from(dst), prefix(dlen));
                    m.set(Field::IpTtl, u128::from(ttl)).unwrap();
                    if proto > 1 {
                        m.set_nw_proto(if proto == 2 { 6 } else { 17 });
                        m.set_tp_src(sp);
                        m.set_masked(Field::TcpDst, u128::from(dp), 0xff00).unwrap();
                    }
                    if proto == 2 {
                        m.set_masked(Field::TcpFlags, 0x12, 0x12).unwrap();
                    }
                }
                4 => {
                    m.set_dl_type(0x0806);
                    m.set_nw_src_masked(Ipv4Addr::from(src), Ipv4Addr::BROADCAST);
                    m.set_nw_proto(2);
                }
                5 => {
                    m.set_dl_type(0x86dd);
                    let mask = if v6len == 0 {
                        0
                    } else {
                        u128::MAX << (128 - v6len)
                    };
                    m.set_masked(Field::Ipv6Src, v6, mask).unwrap();
                    m.set(Field::Ipv6Label, v6 & 0xfffff).unwrap();
                }
                6 => {
                    m.set_dl_type(0x86dd);
                    m.set_nw_proto(58);
                    m.set(Field::Icmpv6Type, 135).unwrap();
                    m.set(Field::Icmpv6Code, 0).unwrap();
                    m.set(Field::NdTarget, v6).unwrap();
                }
                _ => {
                    m.set_dl_type(0x0800);
                    m.set_nw_proto(1);
                    m.set(Field::IcmpType, u128::from(ttl)).unwrap();
                    m.set_masked(Field::IpFrag, 1, 1).unwrap();
                }
            }
            m
        })
}

fn subfield() -> impl Strategy<Value = SubField> {
    (0u8..16, 0u32..32, 1u32..=32).prop_map(|(r, ofs, n)| {
        let n = n.min(32 - ofs);
        SubField::new(Field::Reg(r), ofs, n).unwrap()
    })
}

fn plain_action() -> impl Strategy<Value = Action> {
    prop_oneof![
        port().prop_map(Action::Output),
        prop_oneof![
            Just(OfpPort::NORMAL),
            Just(OfpPort::FLOOD),
            Just(OfpPort::ALL)
        ]
        .prop_map(Action::Output),
        (any::<u16>(), 0u16..3, any::<bool>()).prop_map(|(max_len, id, pause)| {
            Action::Controller(Controller {
                max_len,
                reason: if id == 2 {
                    PacketInReason::NoMatch
                } else {
                    PacketInReason::Action
                },
                controller_id: id,
                userdata: None,
                pause,
            })
        }),
        (1u32..0xff00, any::<u32>()).prop_map(|(p, q)| Action::Enqueue {
            port: OfpPort(p),
            queue: q
        }),
        eth().prop_map(Action::SetEthSrc),
        eth().prop_map(Action::SetEthDst),
        any::<u32>().prop_map(|a| Action::SetIpv4Dst(Ipv4Addr::from(a))),
        (0u8..64).prop_map(|d| Action::SetIpDscp(d << 2)),
        (0u16..4096).prop_map(Action::SetVlanVid),
        (0u8..8).prop_map(Action::SetVlanPcp),
        Just(Action::StripVlan),
        Just(Action::PopVlan),
        prop_oneof![Just(0x8100u16), Just(0x88a8)].prop_map(Action::PushVlan),
        (subfield(), any::<u32>()).prop_map(|(dst, v)| {
            let v = u128::from(v) & ((1u128 << dst.n_bits) - 1);
            Action::Load { dst, value: v }
        }),
        (subfield(), 0u8..16).prop_map(|(src, r)| Action::Move {
            src,
            dst: SubField::new(Field::Reg(r), 0, src.n_bits).unwrap()
        }),
        (any::<u32>(), any::<u32>()).prop_map(|(v, m)| Action::SetField {
            field: Field::Reg(1),
            value: u128::from(v & m),
            mask: u128::from(m)
        }),
        eth().prop_map(|a| Action::SetField {
            field: Field::EthDst,
            value: u128::from(u64::from_be_bytes([
                0, 0, a.0[0], a.0[1], a.0[2], a.0[3], a.0[4], a.0[5]
            ])),
            mask: 0xffff_ffff_ffff
        }),
        proptest::collection::vec(0u16..100, 0..3).prop_map(Action::DecTtl),
        (
            proptest::option::of(1u32..100),
            proptest::option::of(0u8..255)
        )
            .prop_map(|(p, t)| Action::Resubmit {
                port: p.map(OfpPort),
                table: t
            }),
        any::<u32>().prop_map(Action::Group),
        proptest::collection::vec(any::<u8>(), 1..6).prop_map(Action::Note),
        any::<u32>().prop_map(Action::SetQueue),
    ]
}

fn action_list() -> impl Strategy<Value = Vec<Action>> {
    (
        proptest::collection::vec(plain_action(), 0..5),
        any::<bool>(),
        proptest::collection::vec(plain_action(), 0..3),
        proptest::option::of((any::<u64>(), any::<u64>())),
        proptest::option::of(1u8..254),
    )
        .prop_map(|(apply, clear, write, meta, goto)| {
            let mut v = apply;
            if clear {
                v.push(Action::ClearActions);
            }
            if !write.is_empty() {
                v.push(Action::WriteActions(write));
            }
            if let Some((value, mask)) = meta {
                v.push(Action::WriteMetadata { value, mask });
            }
            if let Some(t) = goto {
                v.push(Action::GotoTable(t));
            }
            v
        })
}

/// Our add-flow syntax for a flow-mod.
fn flow_mod_text(fm: &FlowMod) -> String {
    let mut s = String::new();
    if fm.table_id != 255 {
        s.push_str(&format!("table={},", fm.table_id));
    }
    if let Some(c) = fm.new_cookie {
        s.push_str(&format!("cookie={c:#x},"));
    }
    if fm.idle_timeout != 0 {
        s.push_str(&format!("idle_timeout={},", fm.idle_timeout));
    }
    if fm.hard_timeout != 0 {
        s.push_str(&format!("hard_timeout={},", fm.hard_timeout));
    }
    if fm.importance != 0 {
        s.push_str(&format!("importance={},", fm.importance));
    }
    for (n, f) in FlowModFlags::NAMES {
        if fm.flags.contains(f) {
            s.push_str(n);
            s.push(',');
        }
    }
    let m = ofctl::format::match_to_string(&fm.match_, Some(fm.priority), None);
    if !m.is_empty() {
        s.push_str(&m);
        s.push(',');
    }
    s.push_str("actions=");
    s.push_str(&ofctl::format::actions_to_string(&fm.actions, None));
    s
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn match_round_trips(m in a_match(), prio in 0u32..65536) {
        let text = ofctl::format::match_to_string(&m, Some(prio), None);
        let (back, p) = ofctl::parse_match(&text, None)
            .map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
        prop_assert_eq!(back, m, "{}", text);
        let expect_p = if prio == 32768 { None } else { Some(prio) };
        prop_assert_eq!(p, expect_p);
        prop_assert_eq!(ofctl::format::match_to_string(&back, p, None), text);
    }

    #[test]
    fn actions_round_trip(a in action_list()) {
        let text = ofctl::format::actions_to_string(&a, None);
        let back = ofctl::parse_actions(&text, None)
            .map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
        prop_assert_eq!(&back, &a, "{}", text);
    }

    #[test]
    fn flow_mods_round_trip(
        m in a_match(),
        prio in 0u32..65536,
        a in action_list(),
        table in 0u8..254,
        cookie in proptest::option::of(any::<u64>()),
        idle in any::<u16>(),
        hard in any::<u16>(),
        importance in any::<u16>(),
        flags in 0u16..32,
    ) {
        let mut fm = FlowMod::new(FlowModCommand::Add, m);
        fm.priority = prio;
        fm.actions = a;
        fm.table_id = table;
        fm.new_cookie = cookie;
        fm.idle_timeout = idle;
        fm.hard_timeout = hard;
        fm.importance = importance;
        fm.flags = FlowModFlags::from_bits_truncate(flags);
        let text = flow_mod_text(&fm);
        let back = ofctl::parse_flow_mod(&text, FlowModCommand::Add, None)
            .map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
        prop_assert_eq!(&back, &fm, "{}", text);
        prop_assert_eq!(flow_mod_text(&back), text);
    }

    #[test]
    fn parser_never_panics(s in ".{0,200}") {
        let _ = ofctl::parse_flow_mod(&s, FlowModCommand::Add, None);
        let _ = ofctl::parse_flow_mod(&s, FlowModCommand::Delete, None);
        let _ = ofctl::parse_match(&s, None);
        let _ = ofctl::parse_actions(&s, None);
        let _ = ofctl::parse_flow(&s, None);
    }

    #[test]
    fn parser_never_panics_on_flowish_text(
        s in "[a-z_0-9=,:()\\[\\]./>\\- +x]{0,120}"
    ) {
        if let Ok(fm) = ofctl::parse_flow_mod(&s, FlowModCommand::Add, None) {
            // Whatever parses prints to a fixed point.
            let text = flow_mod_text(&fm);
            let again = ofctl::parse_flow_mod(&text, FlowModCommand::Add, None)
                .map_err(|e| TestCaseError::fail(format!("{s} -> {text}: {e}")))?;
            prop_assert_eq!(flow_mod_text(&again), text);
        }
        let _ = ofctl::parse_actions(&s, None);
        let _ = ofctl::parse_match(&s, None);
    }

    #[test]
    fn actions_with_prefixes_never_panic(
        kw in prop_oneof![
            Just("output:"), Just("load:"), Just("move:"), Just("set_field:"),
            Just("resubmit("), Just("controller("), Just("enqueue:"), Just("note:"),
            Just("write_actions("), Just("dec_ttl("), Just("write_metadata:"),
            Just("push_vlan:"), Just("goto_table:"), Just("in_port="), Just("nw_dst="),
            Just("ipv6_src="), Just("tcp_flags="), Just("dl_src="), Just("nw_frag="),
        ],
        rest in "[a-zA-Z_0-9=,:()\\[\\]./>\\-+\"]{0,40}",
    ) {
        let s = format!("{kw}{rest}");
        let _ = ofctl::parse_actions(&s, None);
        let _ = ofctl::parse_match(&s, None);
        let _ = ofctl::parse_flow_mod(&format!("{s},actions=drop"), FlowModCommand::Add, None);
    }
}

// ---- Classifier soundness ----------------------------------------------------------------

/// A small universe so that random packets often hit rules.
fn small_flow() -> impl Strategy<Value = Flow> {
    (1u32..4, 0u8..3, 0u8..4, 0u16..3, 0u16..3, 0u32..4).prop_map(|(inp, src, dst, sp, dp, reg)| {
        let mut f = Flow::zero();
        f.set_in_port(OfpPort(inp));
        f.set_dl_type(0x0800);
        f.set_nw_proto(6);
        f.set_nw_src(Ipv4Addr::new(10, 0, 0, src));
        f.set_nw_dst(Ipv4Addr::new(10, 0, dst, 1));
        f.set_tp_src(sp);
        f.set_tp_dst(dp);
        f.set_reg(0, reg);
        f.set_ipv6_src(Ipv6Addr::UNSPECIFIED);
        f
    })
}

/// A rule matching `f` on a random subset of its fields.
fn rule_from(f: &Flow, bits: u8) -> Match {
    let mut m = Match::catchall();
    if bits & 1 != 0 {
        m.set_in_port(f.in_port());
    }
    if bits & 2 != 0 {
        m.set_dl_type(0x0800);
        m.set_nw_src_masked(f.nw_src(), Ipv4Addr::BROADCAST);
    }
    if bits & 4 != 0 {
        m.set_dl_type(0x0800);
        m.set_nw_dst_masked(f.nw_dst(), Ipv4Addr::new(255, 255, 255, 0));
    }
    if bits & 8 != 0 {
        m.set_dl_type(0x0800);
        m.set_nw_proto(6);
        m.set_tp_dst(f.tp_dst());
    }
    if bits & 16 != 0 {
        m.set_reg_masked(0, f.reg(0), 1);
    }
    if bits & 32 != 0 {
        m.set_dl_type(0x0800);
        m.set_nw_proto(6);
        m.set_tp_src(f.tp_src());
    }
    m
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn lookup_agrees_with_linear_search_and_wildcards_are_sound(
        rules in proptest::collection::vec((small_flow(), 0u8..64, 0u32..6), 1..40),
        packets in proptest::collection::vec((small_flow(), small_flow()), 1..20),
    ) {
        let mut c: Classifier<usize> = Classifier::new();
        let mut list: Vec<(Match, u32)> = vec![];
        for (i, (f, bits, prio)) in rules.iter().enumerate() {
            let m = rule_from(f, *bits);
            if c.find_exact(&m, *prio).is_none() {
                c.insert(&m, *prio, i);
                list.push((m, *prio));
            }
        }
        let best_prio = |p: &Flow| {
            list.iter().filter(|(m, _)| m.matches_flow(p)).map(|(_, pr)| *pr).max()
        };
        for (p, noise) in &packets {
            let mut wc = FlowWildcards::catchall();
            let got = c.lookup(p, Some(&mut wc));
            prop_assert_eq!(got.map(|(_, pr)| pr), best_prio(p));
            // A packet equal to `p` on the examined bits and random elsewhere.
            let mut q = Flow::zero();
            for ((qw, (pw, nw)), mw) in q
                .words_mut()
                .iter_mut()
                .zip(p.words().iter().zip(noise.words()))
                .zip(wc.masks.words())
            {
                *qw = (pw & mw) | (nw & !mw);
            }
            let got_q = c.lookup(&q, None);
            prop_assert_eq!(
                got_q.map(|(v, pr)| (*v, pr)),
                got.map(|(v, pr)| (*v, pr)),
                "packet agreeing on the wildcards got another rule"
            );
        }
    }
}
