//! The revalidator: a thread per backer that keeps the datapath's flows true to the
//! OpenFlow tables and the MAC tables (OVS's `revalidate` and `revalidator_sweep`).
//!
//! A round starts every `min(max-idle, max-revalidator)` ms (500 ms by default), at once
//! when kicked (a table, port, bundle or MAC change), but never within 5 ms of the last
//! start. It dumps every datapath flow and, per flow:
//!
//! * without a ukey (a flow this switch did not make, or forgot), deletes it;
//! * credits the packets and bytes counted since the last round to the rules the flow's
//!   translation hit, and refreshes the MAC entries its packets teach;
//! * deletes it if unused for longer than `max-idle` (10 s by default; 100 ms while the
//!   datapath holds more flows than the flow limit, 0 above twice the limit);
//! * if anything translation reads changed since the flow was translated, translates its
//!   key again: same actions → keep; other actions with a mask the flow already covers →
//!   modify the flow's actions in place; a mask that needs bits the flow was not installed
//!   with → delete (the next packet makes a new one). The comparison is with the mask the
//!   flow was installed with, never the one a dump reports, which a datapath may spell its
//!   own way.
//!
//! Deleted flows' last counters go to their rules too. Ukeys whose flow was missing from
//! four dumps in a row are dropped. After the round the flow limit adapts to how long the
//! dump took, as OVS's does, and waiters of `revalidator/wait` are woken.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use dpif::odp::FlowKey;
use dpif::{DpifFlow, DpifOp, FlowDel, FlowPut, FlowStats, OpReply, PutFlags, monotonic_ms};

use super::backer::{BackerShared, Ukey};
use super::xlate::{XlateIn, xlate};
use crate::flow::Flow;

/// Flows per datapath operation batch (OVS's `REVALIDATE_MAX_BATCH`).
pub const REVALIDATE_MAX_BATCH: usize = 50;
/// Dumps a ukey's flow may be missing from before the ukey goes.
pub const UKEY_MAX_MISSED_DUMPS: u32 = 4;
/// Shortest time between the starts of two rounds.
pub const MIN_ROUND_GAP: Duration = Duration::from_millis(5);
/// The flow limit never goes below this.
pub const MIN_FLOW_LIMIT: u32 = 1000;

/// The body of the revalidator thread.
pub(crate) fn revalidator_main(b: &BackerShared) {
    let mut last_start: Option<Instant> = None;
    loop {
        {
            let mut c = b.ctl.lock();
            loop {
                if c.stop {
                    return;
                }
                let interval = Duration::from_millis(b.config.revalidate_interval_ms());
                let now = Instant::now();
                let due = last_start.map_or(now, |t| t + interval);
                let gap_ok = last_start.is_none_or(|t| now >= t + MIN_ROUND_GAP);
                if (c.kicked && gap_ok) || now >= due {
                    c.kicked = false;
                    break;
                }
                let wake = if c.kicked {
                    last_start.map_or(now, |t| t + MIN_ROUND_GAP)
                } else {
                    due
                };
                b.ctl_cv.wait_until(&mut c, wake);
            }
        }
        last_start = Some(Instant::now());
        round(b);
    }
}

/// What to do with one dumped flow.
enum Verdict {
    Keep,
    Delete,
    Modify(Vec<dpif::odp::Action>),
}

/// Runs one revalidation round (see the module docs).
pub(crate) fn round(b: &BackerShared) {
    let round_no = {
        let mut r = b.rounds.lock();
        r.started += 1;
        r.started
    };
    let start = Instant::now();
    let seq = b.reval_seq.load(Ordering::Acquire);
    let flows: Vec<DpifFlow> = match b.dpif.flow_dump(false) {
        Ok(it) => it.filter_map(Result::ok).collect(),
        Err(e) => {
            tracing::debug!("{}: flow dump: {e}", b.dpif.name());
            Vec::new()
        }
    };
    let n_flows = u64::try_from(flows.len()).unwrap_or(u64::MAX);
    let limit = u64::from(b.flow_limit.load(Ordering::Relaxed));
    let max_idle = if n_flows > 2 * limit {
        0
    } else if n_flows > limit {
        100
    } else {
        b.config.max_idle_ms()
    };
    let now = monotonic_ms();
    let mut seen = HashSet::with_capacity(flows.len());
    let mut ops: Vec<DpifOp> = Vec::new();
    let mut pending: Vec<Option<Arc<Ukey>>> = Vec::new();
    for f in &flows {
        seen.insert(f.ufid);
        let ukey = b.ukeys.lock().get(&f.ufid).cloned();
        match ukey {
            None => {
                ops.push(DpifOp::Del(FlowDel {
                    ufid: f.ufid,
                    key: f.key,
                }));
                pending.push(None);
            }
            Some(uk) => match judge(b, &uk, f, seq, now, max_idle) {
                Verdict::Keep => {}
                Verdict::Delete => {
                    ops.push(DpifOp::Del(FlowDel {
                        ufid: f.ufid,
                        key: Some(uk.key),
                    }));
                    pending.push(Some(uk));
                }
                Verdict::Modify(actions) => {
                    let mask = uk.state.lock().mask;
                    ops.push(DpifOp::Put(FlowPut {
                        flags: PutFlags::MODIFY,
                        key: uk.key,
                        mask,
                        actions,
                        ufid: f.ufid,
                    }));
                    pending.push(None);
                }
            },
        }
        if ops.len() >= REVALIDATE_MAX_BATCH {
            flush(b, &mut ops, &mut pending);
        }
    }
    flush(b, &mut ops, &mut pending);
    sweep(b, &seen);

    let duration = u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX);
    {
        let mut d = b.dump_stats.lock();
        d.duration_ms = duration;
        d.n_flows = n_flows;
        d.max_n_flows = d.max_n_flows.max(n_flows);
        d.avg_n_flows = (d.avg_n_flows + n_flows) / 2;
    }
    adapt_flow_limit(b, duration, n_flows);
    b.dump_seq.fetch_add(1, Ordering::AcqRel);
    let mut r = b.rounds.lock();
    r.completed = r.completed.max(round_no);
    b.rounds_cv.notify_all();
}

/// OVS's dynamic flow limit: shrink when dumps are slow, grow when they are fast.
fn adapt_flow_limit(b: &BackerShared, duration_ms: u64, n_flows: u64) {
    let cfg = b.config.flow_limit();
    let mut limit = u64::from(b.flow_limit.load(Ordering::Relaxed));
    let d = duration_ms.max(1);
    if d > 2000 {
        limit /= d / 1000;
    } else if d > 1300 {
        limit = limit * 3 / 4;
    } else if d < 1000 && limit < n_flows.saturating_mul(1000) / d {
        limit += 1000;
    }
    let floor = u64::from(MIN_FLOW_LIMIT.min(cfg));
    let limit = limit.clamp(floor, u64::from(cfg));
    b.flow_limit
        .store(u32::try_from(limit).unwrap_or(u32::MAX), Ordering::Relaxed);
}

/// Decides one flow's fate, pushing its statistics on the way.
fn judge(b: &BackerShared, uk: &Ukey, f: &DpifFlow, seq: u64, now: u64, max_idle: u64) -> Verdict {
    let mut st = uk.state.lock();
    push_stats(b, uk, &mut st, &f.stats);
    let used = if f.stats.used_ms == 0 {
        uk.created_ms
    } else {
        f.stats.used_ms
    };
    if now.saturating_sub(used) > max_idle {
        return Verdict::Delete;
    }
    if st.reval_seq == seq {
        return Verdict::Keep;
    }
    // Translate the key again, without side effects.
    let owner = b.owner(uk.key.in_port);
    let (actions, wc_mask, rules, groups, learned, bridge) = match owner {
        None => (
            Vec::new(),
            FlowKey::exact_mask(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
            None,
        ),
        Some(o) => {
            let xb = o.bridge.snapshot();
            let out = xlate(XlateIn {
                bridge: &xb,
                ml: &o.bridge.ml,
                flow: Flow::from_dp_key(&uk.key, o.ofp),
                side_effects: false,
                now_ms: now,
                actions: None,
                trace: None,
            });
            let m = out.dp_mask();
            (
                out.actions,
                m,
                out.rules,
                out.groups,
                out.learned,
                Some(o.bridge.name.clone()),
            )
        }
    };
    // Against the mask this switch installed, not the one the datapath reports: a datapath
    // may say the same mask its own way (the kernel has no packet type for Ethernet flows, nor
    // a second VLAN header for untagged ones), and a flow it narrowed matches at least as much
    // as it was asked to (OVS compares with the ukey's mask too).
    let needs_more = wc_mask
        .words()
        .iter()
        .zip(st.mask.words())
        .any(|(n, d)| n & !d != 0);
    st.reval_seq = seq;
    st.rules = rules;
    st.groups = groups;
    st.learned = learned;
    st.bridge = bridge;
    if needs_more {
        return Verdict::Delete;
    }
    let current = f.actions.as_ref().unwrap_or(&st.actions);
    let verdict = if *current == actions {
        Verdict::Keep
    } else {
        Verdict::Modify(actions.clone())
    };
    st.actions = actions;
    verdict
}

/// Credits the counters the datapath gained since the last push to the ukey's rules and
/// refreshes its MAC entries.
fn push_stats(b: &BackerShared, uk: &Ukey, st: &mut super::backer::UkeyState, s: &FlowStats) {
    let (dp, db) = if s.n_packets >= st.pushed.n_packets {
        (
            s.n_packets - st.pushed.n_packets,
            s.n_bytes.saturating_sub(st.pushed.n_bytes),
        )
    } else {
        // The counters were reset (a modify with zeroed stats): all of them are new.
        (s.n_packets, s.n_bytes)
    };
    st.pushed = *s;
    if dp == 0 {
        return;
    }
    let used = if s.used_ms == 0 {
        uk.created_ms
    } else {
        s.used_ms
    };
    for r in &st.rules {
        r.credit(dp, db, used);
    }
    for g in &st.groups {
        g.group.credit(g.bucket, dp, db, used);
    }
    if st.learned.is_empty() {
        return;
    }
    let Some(br) = st.bridge.as_ref().and_then(|n| b.bridge(n)) else {
        return;
    };
    let mut changed = false;
    {
        let mut ml = br.ml.lock();
        for l in &st.learned {
            changed |= ml.learn(l.mac, l.vlan, l.port, used).is_change();
        }
    }
    if changed {
        b.revalidate();
    }
}

/// Sends a batch of operations and settles the deleted flows' last statistics and ukeys.
fn flush(b: &BackerShared, ops: &mut Vec<DpifOp>, pending: &mut Vec<Option<Arc<Ukey>>>) {
    if ops.is_empty() {
        return;
    }
    let deleting: Vec<bool> = ops.iter().map(|o| matches!(o, DpifOp::Del(_))).collect();
    let results = b.dpif.operate(std::mem::take(ops));
    for ((r, uk), del) in results.into_iter().zip(pending.drain(..)).zip(deleting) {
        if !del {
            continue;
        }
        let Some(uk) = uk else { continue };
        if let Ok(OpReply::Del(stats)) = &r {
            let mut st = uk.state.lock();
            push_stats(b, &uk, &mut st, stats);
        }
        let mut map = b.ukeys.lock();
        if map.get(&uk.ufid).is_some_and(|u| Arc::ptr_eq(u, &uk)) {
            map.remove(&uk.ufid);
        }
    }
}

/// Drops ukeys whose flows have been missing from [`UKEY_MAX_MISSED_DUMPS`] dumps.
fn sweep(b: &BackerShared, seen: &HashSet<dpif::Ufid>) {
    let ukeys: Vec<Arc<Ukey>> = b.ukeys.lock().values().cloned().collect();
    let mut dead = Vec::new();
    for uk in ukeys {
        let mut st = uk.state.lock();
        if seen.contains(&uk.ufid) {
            st.missed_dumps = 0;
        } else {
            st.missed_dumps += 1;
            if st.missed_dumps >= UKEY_MAX_MISSED_DUMPS {
                dead.push(uk.clone());
            }
        }
    }
    if dead.is_empty() {
        return;
    }
    let mut map = b.ukeys.lock();
    for uk in dead {
        if map.get(&uk.ufid).is_some_and(|u| Arc::ptr_eq(u, &uk)) {
            map.remove(&uk.ufid);
        }
    }
}
