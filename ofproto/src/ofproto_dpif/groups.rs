//! The group table of a bridge (OpenFlow 1.1+ groups, OVS's `ofproto` group table and
//! `ofproto-dpif`'s group translation helpers).
//!
//! # Semantics
//!
//! [`GroupTable::group_mod`] applies a [`GroupMod`] with OpenFlow 1.3 semantics:
//!
//! * **add** fails with `OFPGMFC_GROUP_EXISTS` if the id is taken, **modify** with
//!   `OFPGMFC_UNKNOWN_GROUP` if it is not; ids above `OFPG_MAX` are `OFPGMFC_INVALID_GROUP`.
//!   An indirect group has exactly one bucket (`OFPGMFC_INVALID_GROUP` otherwise); a fast
//!   failover bucket watches a port or a group (`OFPGMFC_BAD_WATCH` otherwise).
//! * Bucket actions are plain actions (an instruction is `OFPGMFC_BAD_BUCKET`); a `group`
//!   action in a bucket must name an existing group (`OFPBAC_BAD_OUT_GROUP`) and must not
//!   lead back to the group being changed (`OFPGMFC_LOOP`). Field prerequisites are checked
//!   per packet by translation, as OVS does, since a group has no match.
//! * **delete** removes the group (`OFPG_ALL`: every group); deleting a group that does not
//!   exist is no error; deleting a group another group's bucket forwards to fails with
//!   `OFPGMFC_CHAINED_GROUP`. The caller removes the rules that send to deleted groups.
//! * A modify keeps the group's age and its group counters; bucket counters start again,
//!   since the buckets are new.
//!
//! Like the rule tables, the table is cloned, changed and published whole: translation
//! reads the `Arc<GroupTable>` of its snapshot without a lock. Counters are atomics shared
//! by all versions of a group.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::actions::{Action, InstructionKind, check_actions};
use crate::error::{Error, OfpError, Result};
use crate::flow::OfpPort;
use crate::group::{
    Bucket, GROUP_ALL, GROUP_MAX, GROUP_NONE, GroupDesc, GroupMod, GroupModCommand, GroupStats,
    GroupType,
};
use crate::matching::Match;
use crate::rule::RuleStats;

const fn gmfc(code: u16, name: &'static str) -> OfpError {
    OfpError {
        type_: 6,
        code,
        name,
    }
}

impl OfpError {
    /// `OFPET_BAD_ACTION` / `OFPBAC_BAD_OUT_GROUP`: a `group` action names a group that
    /// does not exist.
    pub const BAC_BAD_OUT_GROUP: OfpError = OfpError {
        type_: 2,
        code: 9,
        name: "OFPBAC_BAD_OUT_GROUP",
    };
    /// `OFPET_GROUP_MOD_FAILED` / `OFPGMFC_GROUP_EXISTS`.
    pub const GMFC_GROUP_EXISTS: OfpError = gmfc(0, "OFPGMFC_GROUP_EXISTS");
    /// `OFPET_GROUP_MOD_FAILED` / `OFPGMFC_INVALID_GROUP`.
    pub const GMFC_INVALID_GROUP: OfpError = gmfc(1, "OFPGMFC_INVALID_GROUP");
    /// `OFPET_GROUP_MOD_FAILED` / `OFPGMFC_OUT_OF_GROUPS`.
    pub const GMFC_OUT_OF_GROUPS: OfpError = gmfc(3, "OFPGMFC_OUT_OF_GROUPS");
    /// `OFPET_GROUP_MOD_FAILED` / `OFPGMFC_OUT_OF_BUCKETS`.
    pub const GMFC_OUT_OF_BUCKETS: OfpError = gmfc(4, "OFPGMFC_OUT_OF_BUCKETS");
    /// `OFPET_GROUP_MOD_FAILED` / `OFPGMFC_LOOP`.
    pub const GMFC_LOOP: OfpError = gmfc(7, "OFPGMFC_LOOP");
    /// `OFPET_GROUP_MOD_FAILED` / `OFPGMFC_UNKNOWN_GROUP`.
    pub const GMFC_UNKNOWN_GROUP: OfpError = gmfc(8, "OFPGMFC_UNKNOWN_GROUP");
    /// `OFPET_GROUP_MOD_FAILED` / `OFPGMFC_CHAINED_GROUP`.
    pub const GMFC_CHAINED_GROUP: OfpError = gmfc(9, "OFPGMFC_CHAINED_GROUP");
    /// `OFPET_GROUP_MOD_FAILED` / `OFPGMFC_BAD_BUCKET`.
    pub const GMFC_BAD_BUCKET: OfpError = gmfc(12, "OFPGMFC_BAD_BUCKET");
    /// `OFPET_GROUP_MOD_FAILED` / `OFPGMFC_BAD_WATCH`.
    pub const GMFC_BAD_WATCH: OfpError = gmfc(13, "OFPGMFC_BAD_WATCH");
}

/// Most groups a bridge holds (OVS's default `max_groups` for every type).
pub const MAX_GROUPS: usize = 65_535;
/// Most buckets a group holds.
pub const MAX_BUCKETS: usize = 1024;

fn group_err(error: OfpError, reason: impl Into<String>) -> Error {
    Error::Group {
        error,
        reason: reason.into(),
    }
}

/// One group as the switch keeps it.
#[derive(Debug)]
pub(crate) struct Group {
    pub id: u32,
    pub type_: GroupType,
    pub buckets: Vec<Bucket>,
    pub created_ms: u64,
    /// Packets and bytes the group processed (shared across modifies).
    pub stats: Arc<RuleStats>,
    /// Per bucket, in bucket order.
    pub bucket_stats: Arc<[RuleStats]>,
}

impl Group {
    /// Credits traffic to the group (`bucket: None`) or to one of its buckets.
    pub(crate) fn credit(&self, bucket: Option<usize>, packets: u64, bytes: u64, used_ms: u64) {
        match bucket {
            None => self.stats.credit(packets, bytes, used_ms),
            Some(i) => {
                if let Some(s) = self.bucket_stats.get(i) {
                    s.credit(packets, bytes, used_ms);
                }
            }
        }
    }

    fn desc(&self) -> GroupDesc {
        GroupDesc {
            group_id: self.id,
            type_: self.type_,
            buckets: self.buckets.clone(),
        }
    }

    fn group_refs(&self) -> impl Iterator<Item = u32> + '_ {
        self.buckets.iter().flat_map(bucket_group_refs)
    }
}

fn bucket_group_refs(b: &Bucket) -> impl Iterator<Item = u32> + '_ {
    b.actions.iter().filter_map(|a| match a {
        Action::Group(g) => Some(*g),
        _ => None,
    })
}

/// Every group id `actions` send to (`group` actions, also inside `write_actions`).
pub(crate) fn action_group_refs(actions: &[Action], out: &mut Vec<u32>) {
    for a in actions {
        match a {
            Action::Group(g) => out.push(*g),
            Action::WriteActions(list) => action_group_refs(list, out),
            _ => {}
        }
    }
}

/// The groups of one bridge (see the module docs).
#[derive(Clone, Debug, Default)]
pub(crate) struct GroupTable {
    groups: BTreeMap<u32, Arc<Group>>,
}

impl GroupTable {
    /// Group `id`.
    pub(crate) fn get(&self, id: u32) -> Option<&Arc<Group>> {
        self.groups.get(&id)
    }

    /// Whether there are no groups.
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// Checks that every group `actions` send to exists.
    ///
    /// # Errors
    ///
    /// [`Error::Group`] with `OFPBAC_BAD_OUT_GROUP`.
    pub(crate) fn check_refs(&self, actions: &[Action]) -> Result<()> {
        let mut ids = Vec::new();
        action_group_refs(actions, &mut ids);
        match ids.into_iter().find(|g| !self.groups.contains_key(g)) {
            Some(g) => Err(group_err(
                OfpError::BAC_BAD_OUT_GROUP,
                format!("group {g} does not exist"),
            )),
            None => Ok(()),
        }
    }

    /// Applies `gm` at `now_ms` (see the module docs) and returns the ids of the groups it
    /// deleted. `n_tables` is the number of tables OpenFlow sees. On error nothing changed.
    ///
    /// # Errors
    ///
    /// [`Error::Group`] with the `OFPGMFC_*` (or `OFPBAC_*`) code; other action errors of
    /// the buckets.
    pub(crate) fn group_mod(
        &mut self,
        gm: &GroupMod,
        now_ms: u64,
        n_tables: u8,
    ) -> Result<Vec<u32>> {
        match gm.command {
            GroupModCommand::Delete => self.delete(gm.group_id),
            GroupModCommand::Add | GroupModCommand::Modify => {
                let id = gm.group_id;
                if id > GROUP_MAX {
                    return Err(group_err(
                        OfpError::GMFC_INVALID_GROUP,
                        format!("group id {id:#x} is reserved"),
                    ));
                }
                let old = self.groups.get(&id).cloned();
                match (gm.command, &old) {
                    (GroupModCommand::Add, Some(_)) => {
                        return Err(group_err(
                            OfpError::GMFC_GROUP_EXISTS,
                            format!("group {id} already exists"),
                        ));
                    }
                    (GroupModCommand::Modify, None) => {
                        return Err(group_err(
                            OfpError::GMFC_UNKNOWN_GROUP,
                            format!("group {id} does not exist"),
                        ));
                    }
                    _ => {}
                }
                if old.is_none() && self.groups.len() >= MAX_GROUPS {
                    return Err(group_err(
                        OfpError::GMFC_OUT_OF_GROUPS,
                        format!("the bridge holds {MAX_GROUPS} groups already"),
                    ));
                }
                self.check_buckets(gm, n_tables)?;
                let bucket_stats: Vec<RuleStats> =
                    gm.buckets.iter().map(|_| RuleStats::default()).collect();
                let (created_ms, stats) = match &old {
                    Some(o) => (o.created_ms, o.stats.clone()),
                    None => (now_ms, Arc::new(RuleStats::default())),
                };
                self.groups.insert(
                    id,
                    Arc::new(Group {
                        id,
                        type_: gm.type_,
                        buckets: gm.buckets.clone(),
                        created_ms,
                        stats,
                        bucket_stats: Arc::from(bucket_stats),
                    }),
                );
                Ok(Vec::new())
            }
        }
    }

    fn check_buckets(&self, gm: &GroupMod, n_tables: u8) -> Result<()> {
        let id = gm.group_id;
        if gm.buckets.len() > MAX_BUCKETS {
            return Err(group_err(
                OfpError::GMFC_OUT_OF_BUCKETS,
                format!("group {id}: more than {MAX_BUCKETS} buckets"),
            ));
        }
        if gm.type_ == GroupType::Indirect && gm.buckets.len() != 1 {
            return Err(group_err(
                OfpError::GMFC_INVALID_GROUP,
                format!(
                    "group {id}: an indirect group has exactly one bucket, not {}",
                    gm.buckets.len()
                ),
            ));
        }
        for (i, b) in gm.buckets.iter().enumerate() {
            if gm.type_ == GroupType::FastFailover
                && b.watch_port == OfpPort::ANY
                && b.watch_group == GROUP_NONE
            {
                return Err(group_err(
                    OfpError::GMFC_BAD_WATCH,
                    format!("group {id}: fast failover bucket {i} watches no port or group"),
                ));
            }
            if b.watch_group != GROUP_NONE && !self.groups.contains_key(&b.watch_group) {
                return Err(group_err(
                    OfpError::GMFC_BAD_WATCH,
                    format!(
                        "group {id}: bucket {i} watches group {} that does not exist",
                        b.watch_group
                    ),
                ));
            }
            for a in &b.actions {
                if a.instruction() != InstructionKind::ApplyActions {
                    return Err(group_err(
                        OfpError::GMFC_BAD_BUCKET,
                        format!("group {id}: bucket {i} holds an instruction"),
                    ));
                }
                // Prerequisites depend on the packet, which a group does not know: they
                // are checked per packet, as OVS does.
                match check_actions(std::slice::from_ref(a), &Match::catchall(), 0, n_tables) {
                    Ok(()) | Err(Error::BadPrereq { .. }) => {}
                    Err(e) => return Err(e),
                }
            }
            for g in bucket_group_refs(b) {
                if g == id {
                    return Err(group_err(
                        OfpError::GMFC_LOOP,
                        format!("group {id}: bucket {i} sends to the group itself"),
                    ));
                }
                if !self.groups.contains_key(&g) {
                    return Err(group_err(
                        OfpError::BAC_BAD_OUT_GROUP,
                        format!("group {id}: bucket {i} sends to group {g} that does not exist"),
                    ));
                }
                if self.reaches(g, id) {
                    return Err(group_err(
                        OfpError::GMFC_LOOP,
                        format!("group {id}: bucket {i} sends to group {g}, which leads back"),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Whether group `from` sends to `to`, directly or through other groups.
    fn reaches(&self, from: u32, to: u32) -> bool {
        let mut stack = vec![from];
        let mut seen = std::collections::BTreeSet::new();
        while let Some(g) = stack.pop() {
            if g == to {
                return true;
            }
            if !seen.insert(g) {
                continue;
            }
            if let Some(grp) = self.groups.get(&g) {
                stack.extend(grp.group_refs());
            }
        }
        false
    }

    fn delete(&mut self, id: u32) -> Result<Vec<u32>> {
        if id == GROUP_ALL {
            let ids: Vec<u32> = self.groups.keys().copied().collect();
            self.groups.clear();
            return Ok(ids);
        }
        if !self.groups.contains_key(&id) {
            return Ok(Vec::new());
        }
        if let Some(by) = self
            .groups
            .values()
            .find(|g| g.id != id && g.group_refs().any(|r| r == id))
        {
            return Err(group_err(
                OfpError::GMFC_CHAINED_GROUP,
                format!("group {id} is in use by group {}", by.id),
            ));
        }
        self.groups.remove(&id);
        Ok(vec![id])
    }

    /// Every group, by id.
    pub(crate) fn descs(&self) -> Vec<GroupDesc> {
        self.groups.values().map(|g| g.desc()).collect()
    }

    /// The counters of group `id` ([`GROUP_ALL`]: of every group), with `ref_count` from
    /// `ref_count(id)` and durations as of `now_ms`.
    pub(crate) fn stats(
        &self,
        id: u32,
        now_ms: u64,
        ref_count: impl Fn(u32) -> u32,
    ) -> Vec<GroupStats> {
        let one = |g: &Group| {
            let s = g.stats.snapshot();
            GroupStats {
                group_id: g.id,
                ref_count: ref_count(g.id),
                packet_count: s.packets,
                byte_count: s.bytes,
                duration_ms: now_ms.saturating_sub(g.created_ms),
                buckets: g
                    .bucket_stats
                    .iter()
                    .map(|b| {
                        let s = b.snapshot();
                        (s.packets, s.bytes)
                    })
                    .collect(),
            }
        };
        if id == GROUP_ALL {
            self.groups.values().map(|g| one(g)).collect()
        } else {
            self.groups.get(&id).map(|g| one(g)).into_iter().collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gm(
        command: GroupModCommand,
        type_: GroupType,
        id: u32,
        buckets: Vec<Vec<Action>>,
    ) -> GroupMod {
        GroupMod {
            command,
            type_,
            group_id: id,
            buckets: buckets
                .into_iter()
                .map(|actions| Bucket {
                    actions,
                    ..Bucket::default()
                })
                .collect(),
        }
    }

    fn code(r: Result<Vec<u32>>) -> &'static str {
        match r {
            Err(e) => e.ofp_error().map_or("none", |o| o.name),
            Ok(_) => "ok",
        }
    }

    #[test]
    fn add_modify_delete_with_openflow_errors() {
        let mut t = GroupTable::default();
        let out = |p| vec![Action::Output(OfpPort(p))];
        let add = gm(
            GroupModCommand::Add,
            GroupType::All,
            1,
            vec![out(1), out(2)],
        );
        assert_eq!(code(t.group_mod(&add, 10, 254)), "ok");
        assert_eq!(code(t.group_mod(&add, 10, 254)), "OFPGMFC_GROUP_EXISTS");
        let m = gm(GroupModCommand::Modify, GroupType::All, 2, vec![out(1)]);
        assert_eq!(code(t.group_mod(&m, 10, 254)), "OFPGMFC_UNKNOWN_GROUP");
        let big = gm(GroupModCommand::Add, GroupType::All, GROUP_MAX + 1, vec![]);
        assert_eq!(code(t.group_mod(&big, 10, 254)), "OFPGMFC_INVALID_GROUP");
        let ind = gm(
            GroupModCommand::Add,
            GroupType::Indirect,
            3,
            vec![out(1), out(2)],
        );
        assert_eq!(code(t.group_mod(&ind, 10, 254)), "OFPGMFC_INVALID_GROUP");
        let ff = gm(
            GroupModCommand::Add,
            GroupType::FastFailover,
            3,
            vec![out(1)],
        );
        assert_eq!(code(t.group_mod(&ff, 10, 254)), "OFPGMFC_BAD_WATCH");
        let inst = gm(
            GroupModCommand::Add,
            GroupType::All,
            3,
            vec![vec![Action::GotoTable(1)]],
        );
        assert_eq!(code(t.group_mod(&inst, 10, 254)), "OFPGMFC_BAD_BUCKET");
        let dangling = gm(
            GroupModCommand::Add,
            GroupType::All,
            3,
            vec![vec![Action::Group(9)]],
        );
        assert_eq!(
            code(t.group_mod(&dangling, 10, 254)),
            "OFPBAC_BAD_OUT_GROUP"
        );
        let bad_port = gm(GroupModCommand::Add, GroupType::All, 3, vec![out(0)]);
        assert_eq!(code(t.group_mod(&bad_port, 10, 254)), "OFPBAC_BAD_OUT_PORT");
        // Chaining: 3 -> 1; then 1 -> 3 would loop.
        let chain = gm(
            GroupModCommand::Add,
            GroupType::Indirect,
            3,
            vec![vec![Action::Group(1)]],
        );
        assert_eq!(code(t.group_mod(&chain, 20, 254)), "ok");
        let looped = gm(
            GroupModCommand::Modify,
            GroupType::All,
            1,
            vec![vec![Action::Group(3)]],
        );
        assert_eq!(code(t.group_mod(&looped, 20, 254)), "OFPGMFC_LOOP");
        let d1 = gm(GroupModCommand::Delete, GroupType::All, 1, vec![]);
        assert_eq!(code(t.group_mod(&d1, 20, 254)), "OFPGMFC_CHAINED_GROUP");
        // Nothing changed by the failures.
        assert_eq!(t.descs().len(), 2);
        assert_eq!(t.descs()[0].buckets.len(), 2);
        // Modify keeps the age and group counters, resets the buckets'.
        t.get(1).unwrap().credit(None, 3, 300, 15);
        t.get(1).unwrap().credit(Some(1), 3, 300, 15);
        let m1 = gm(
            GroupModCommand::Modify,
            GroupType::Select,
            1,
            vec![out(5), out(6), out(7)],
        );
        assert_eq!(code(t.group_mod(&m1, 30, 254)), "ok");
        let s = t.stats(1, 50, |_| 4);
        assert_eq!(
            s,
            vec![GroupStats {
                group_id: 1,
                ref_count: 4,
                packet_count: 3,
                byte_count: 300,
                duration_ms: 40,
                buckets: vec![(0, 0); 3],
            }]
        );
        assert_eq!(t.stats(GROUP_ALL, 50, |_| 0).len(), 2);
        assert!(t.stats(77, 50, |_| 0).is_empty());
        // Deleting a missing group is fine; ALL deletes everything.
        let d9 = gm(GroupModCommand::Delete, GroupType::All, 9, vec![]);
        assert_eq!(t.group_mod(&d9, 60, 254).unwrap(), Vec::<u32>::new());
        let d3 = gm(GroupModCommand::Delete, GroupType::All, 3, vec![]);
        assert_eq!(t.group_mod(&d3, 60, 254).unwrap(), vec![3]);
        t.group_mod(&chain, 60, 254).unwrap();
        let all = gm(GroupModCommand::Delete, GroupType::All, GROUP_ALL, vec![]);
        assert_eq!(t.group_mod(&all, 60, 254).unwrap(), vec![1, 3]);
        assert!(t.is_empty());
    }

    use proptest::prelude::*;

    fn op() -> impl Strategy<Value = GroupMod> {
        let cmd = prop_oneof![
            Just(GroupModCommand::Add),
            Just(GroupModCommand::Modify),
            Just(GroupModCommand::Delete)
        ];
        let ty = prop_oneof![
            Just(GroupType::All),
            Just(GroupType::Select),
            Just(GroupType::Indirect),
            Just(GroupType::FastFailover)
        ];
        // Bucket actions: output:1..4 or group:1..6; watch port 0 (none) or 1..3.
        let action = prop_oneof![
            (1u32..4).prop_map(|p| Action::Output(OfpPort(p))),
            (1u32..7).prop_map(Action::Group),
        ];
        let bucket = (proptest::collection::vec(action, 0..3), 0u32..3, 0u16..3).prop_map(
            |(actions, watch, weight)| Bucket {
                weight,
                watch_port: if watch == 0 {
                    OfpPort::ANY
                } else {
                    OfpPort(watch)
                },
                actions,
                ..Bucket::default()
            },
        );
        let id = prop_oneof![1u32..7, Just(GROUP_ALL)];
        (cmd, ty, id, proptest::collection::vec(bucket, 0..3)).prop_map(
            |(command, type_, group_id, buckets)| GroupMod {
                command,
                type_,
                group_id,
                buckets,
            },
        )
    }

    proptest! {
        /// Whatever group-mods come, the table never holds a reference to a missing group
        /// nor a loop, and a refused group-mod changes nothing.
        #[test]
        fn references_stay_valid_and_loop_free(ops in proptest::collection::vec(op(), 1..40)) {
            let mut t = GroupTable::default();
            for gm in &ops {
                let before = t.descs();
                if t.group_mod(gm, 0, 254).is_err() {
                    prop_assert_eq!(t.descs(), before);
                }
                for g in t.groups.values() {
                    for r in g.group_refs() {
                        prop_assert!(t.groups.contains_key(&r), "group {} sends to missing {}", g.id, r);
                        prop_assert!(!t.reaches(r, g.id), "group {} loops through {}", g.id, r);
                    }
                    if g.type_ == GroupType::Indirect {
                        prop_assert_eq!(g.buckets.len(), 1);
                    }
                }
            }
        }
    }

    #[test]
    fn refs_in_write_actions_are_checked() {
        let mut t = GroupTable::default();
        let acts = vec![Action::WriteActions(vec![Action::Group(5)])];
        let e = t.check_refs(&acts).unwrap_err();
        assert_eq!(e.ofp_error(), Some(OfpError::BAC_BAD_OUT_GROUP));
        assert_eq!(
            e.to_string(),
            "group 5 does not exist (OFPBAC_BAD_OUT_GROUP)"
        );
        let add = gm(GroupModCommand::Add, GroupType::All, 5, vec![]);
        t.group_mod(&add, 0, 254).unwrap();
        t.check_refs(&acts).unwrap();
    }
}
