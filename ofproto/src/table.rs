//! OpenFlow tables ([`TableSet`]) and the semantics of flow-mods on them ([`FlowMod`]).
//!
//! # Tables
//!
//! A switch has [`N_TABLES`] (255) tables, each an [`OfTable`]: a [`Classifier`] of
//! [`Rule`]s. As in OVS, the last one, [`TABLE_INTERNAL`] (254), is *hidden* and
//! *read-only*: OpenFlow sees 254 tables, cannot change table 254, and a dump of all tables
//! leaves it out unless asked; the switch itself keeps internal rules there
//! ([`Origin::Internal`]).
//!
//! # Flow-mods
//!
//! [`TableSet::flow_mod`] applies the OpenFlow 1.3 semantics (section 6.4 of the spec, with
//! OVS's extensions):
//!
//! * **add** inserts a rule; one with an identical match and priority in the same table is
//!   replaced (its counters carried over unless `reset_counts`); with `check_overlap` an add
//!   that overlaps another rule (not an identical one) of the same priority fails with
//!   `OFPFMFC_OVERLAP`. Table 255 means table 0.
//! * **modify** changes the actions of every rule the match covers (loose); **modify
//!   strict** only that of the rule with the same match and priority. Both keep the rules'
//!   timeouts, flags and creation time and can be restricted by `cookie`/`cookie_mask`;
//!   `new_cookie` changes the cookie, and when nothing matched a modify with `new_cookie`
//!   adds the flow (OpenFlow 1.0 semantics).
//! * **delete** and **delete strict** remove the rules selected the same way, also filtered
//!   by `out_port` and `out_group`.
//! * For modify and delete, table 255 means every (visible) table.
//!
//! Every flow-mod is validated completely before anything changes: either it applies
//! whole or it fails and the tables are as before. The [`FlowModResult`] lists what was
//! added, modified and removed (for flow-removed messages and revalidation), and
//! [`TableSet::version`] goes up on every change.
//!
//! # Sharing with readers
//!
//! Lookups take `&self`; flow-mods take `&mut self`. A [`TableSet`] is cheap to clone
//! (rules and classifier subtables are shared by `Arc`; a change copies only the subtables
//! it touches), so the intended use from threads is read-copy-update: readers hold an
//! `Arc<TableSet>`; the writer clones it, applies a batch of flow-mods to the clone, and
//! publishes the clone. [`TableSet::version`] tells readers (revalidators) that something
//! changed. Rules' counters are atomics shared across versions, so statistics pushed to a
//! rule through an old version still count.
//!
//! # Time
//!
//! Time is the caller's: a monotonic count of milliseconds passed in as `now_ms`. Nothing
//! here reads a clock, so tests step time as they please. [`TableSet::expired`] lists the
//! rules whose idle or hard timeout passed; the caller removes them with
//! [`TableSet::remove_rules`] (and sends flow-removed messages).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bitflags::bitflags;

use crate::actions::{self, Action, check_actions};
use crate::classifier::Classifier;
use crate::error::Error;
use crate::flow::{Flow, FlowWildcards, OfpPort};
use crate::matching::Match;
use crate::ofctl::format::DEFAULT_PRIORITY;
use crate::rule::{FlowModFlags, RemovedReason, Rule, RuleStats};

/// Number of tables of a switch (OVS's `N_TABLES`).
pub const N_TABLES: usize = 255;
/// The hidden, read-only table of internal rules.
pub const TABLE_INTERNAL: u8 = 254;
/// "All tables" in flow-mods and requests (`OFPTT_ALL`).
pub const TABLE_ALL: u8 = 255;
/// "Any group" in `out_group` (`OFPG_ANY`).
pub const GROUP_ANY: u32 = u32::MAX;

bitflags! {
    /// Properties of a table.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub struct TableFlags: u8 {
        /// Left out of OpenFlow's view (dumps of all tables, table counts).
        const HIDDEN = 1 << 0;
        /// OpenFlow may not change it.
        const READONLY = 1 << 1;
    }
}

/// Who is changing the tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// An OpenFlow controller or `ovs-ofctl`: hidden tables are off limits.
    OpenFlow,
    /// The switch itself (internal rules in table 254).
    Internal,
}

/// A flow-mod command (`ofp_flow_mod_command`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FlowModCommand {
    /// `OFPFC_ADD`.
    Add,
    /// `OFPFC_MODIFY`.
    Modify,
    /// `OFPFC_MODIFY_STRICT`.
    ModifyStrict,
    /// `OFPFC_DELETE`.
    Delete,
    /// `OFPFC_DELETE_STRICT`.
    DeleteStrict,
}

impl FlowModCommand {
    fn is_strict(self) -> bool {
        matches!(
            self,
            FlowModCommand::ModifyStrict | FlowModCommand::DeleteStrict
        )
    }
}

/// A flow-mod: a change to the tables (see the module docs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlowMod {
    /// The command.
    pub command: FlowModCommand,
    /// The table; [`TABLE_ALL`] means table 0 for add and every table otherwise.
    pub table_id: u8,
    /// The match.
    pub match_: Match,
    /// The priority (add and strict commands).
    pub priority: u32,
    /// Modify/delete: select rules whose cookie equals this under `cookie_mask`.
    pub cookie: u64,
    /// Modify/delete: the cookie bits to compare (0 = any cookie).
    pub cookie_mask: u64,
    /// Add: the new rule's cookie (`None` = 0). Modify: the cookie to give the rules
    /// (`None` = keep theirs).
    pub new_cookie: Option<u64>,
    /// Idle timeout in seconds (add).
    pub idle_timeout: u16,
    /// Hard timeout in seconds (add).
    pub hard_timeout: u16,
    /// Importance (add).
    pub importance: u16,
    /// Flags (add; `reset_counts` also for modify).
    pub flags: FlowModFlags,
    /// Delete: only rules that output to this port ([`OfpPort::NONE`] = any).
    pub out_port: OfpPort,
    /// Delete: only rules that send to this group ([`GROUP_ANY`] = any).
    pub out_group: u32,
    /// The actions (add, modify).
    pub actions: Vec<Action>,
}

impl FlowMod {
    /// A flow-mod with OpenFlow's defaults: all tables (table 0 for add), priority 32768,
    /// no cookie, no timeouts, no flags, no filters, no actions.
    pub fn new(command: FlowModCommand, match_: Match) -> FlowMod {
        FlowMod {
            command,
            table_id: TABLE_ALL,
            match_,
            priority: DEFAULT_PRIORITY,
            cookie: 0,
            cookie_mask: 0,
            new_cookie: None,
            idle_timeout: 0,
            hard_timeout: 0,
            importance: 0,
            flags: FlowModFlags::empty(),
            out_port: OfpPort::NONE,
            out_group: GROUP_ANY,
            actions: vec![],
        }
    }
}

/// What a flow-mod changed.
#[derive(Clone, Debug, Default)]
pub struct FlowModResult {
    /// Rules added.
    pub added: Vec<Arc<Rule>>,
    /// Rules modified, as (old, new).
    pub modified: Vec<(Arc<Rule>, Arc<Rule>)>,
    /// Rules removed, with why ([`RemovedReason::Delete`], or [`RemovedReason::Replaced`]
    /// for a rule an add replaced).
    pub removed: Vec<(Arc<Rule>, RemovedReason)>,
}

impl FlowModResult {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.modified.is_empty() && self.removed.is_empty()
    }
}

/// One OpenFlow table.
#[derive(Clone, Debug, Default)]
pub struct OfTable {
    /// The table's name, if it has one.
    pub name: Option<String>,
    /// Hidden / read-only.
    pub flags: TableFlags,
    /// The most rules the table may hold (`None` = no limit).
    pub max_flows: Option<usize>,
    cls: Classifier<Arc<Rule>>,
    /// Lookup counters, shared by the clones of a table (see [`OfTable::count_lookup`]).
    counters: Arc<TableCounters>,
}

/// Lookup counters of a table (`ofp_table_stats`).
#[derive(Debug, Default)]
struct TableCounters {
    lookups: AtomicU64,
    matched: AtomicU64,
}

impl OfTable {
    /// The classifier of the table's rules.
    pub fn classifier(&self) -> &Classifier<Arc<Rule>> {
        &self.cls
    }

    /// Number of rules.
    pub fn n_rules(&self) -> usize {
        self.cls.len()
    }

    /// The highest-priority rule matching `flow`; the bits examined are OR-ed into `wc`.
    #[inline]
    pub fn lookup(&self, flow: &Flow, wc: Option<&mut FlowWildcards>) -> Option<&Arc<Rule>> {
        self.cls.lookup(flow, wc).map(|(r, _)| r)
    }

    /// Every rule, in no particular order.
    pub fn rules(&self) -> impl Iterator<Item = &Arc<Rule>> + '_ {
        self.cls.iter().map(|(_, _, r)| r)
    }

    /// Counts one lookup (and whether it matched) in the table's statistics. Lookups do
    /// not count themselves: translation counts packets, `ofproto/trace` does not. Safe to
    /// call from any thread.
    pub fn count_lookup(&self, matched: bool) {
        self.counters.lookups.fetch_add(1, Ordering::Relaxed);
        if matched {
            self.counters.matched.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The lookup counters: (lookups, matched).
    pub fn lookup_counts(&self) -> (u64, u64) {
        (
            self.counters.lookups.load(Ordering::Relaxed),
            self.counters.matched.load(Ordering::Relaxed),
        )
    }
}

/// Which rules a flow-stats request (or `dump-flows`) wants.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleQuery {
    /// A table, or [`TABLE_ALL`].
    pub table_id: u8,
    /// Rules this match covers (or, when `strict`, rules with exactly this match).
    pub match_: Match,
    /// Compare match and priority exactly.
    pub strict: bool,
    /// The priority, when `strict`.
    pub priority: u32,
    /// Cookie to compare under `cookie_mask`.
    pub cookie: u64,
    /// Cookie bits to compare.
    pub cookie_mask: u64,
    /// Only rules that output to this port ([`OfpPort::NONE`] = any).
    pub out_port: OfpPort,
    /// Only rules that send to this group ([`GROUP_ANY`] = any).
    pub out_group: u32,
    /// Include hidden tables when `table_id` is [`TABLE_ALL`].
    pub include_hidden: bool,
}

impl Default for RuleQuery {
    fn default() -> Self {
        RuleQuery {
            table_id: TABLE_ALL,
            match_: Match::catchall(),
            strict: false,
            priority: DEFAULT_PRIORITY,
            cookie: 0,
            cookie_mask: 0,
            out_port: OfpPort::NONE,
            out_group: GROUP_ANY,
            include_hidden: false,
        }
    }
}

impl RuleQuery {
    /// The rules a flow-mod's match, priority (if strict), cookie filter, table,
    /// `out_port` and `out_group` select: a `dump-flows` filter parsed with
    /// [`crate::ofctl::parse_flow_mod`] and [`FlowModCommand::Delete`] (or `DeleteStrict`)
    /// becomes a query this way.
    pub fn from_flow_mod(fm: &FlowMod) -> RuleQuery {
        RuleQuery {
            table_id: fm.table_id,
            match_: fm.match_,
            strict: fm.command.is_strict(),
            priority: fm.priority,
            cookie: fm.cookie,
            cookie_mask: fm.cookie_mask,
            out_port: fm.out_port,
            out_group: fm.out_group,
            include_hidden: false,
        }
    }
}

/// The tables of one switch (see the module docs).
#[derive(Clone, Debug)]
pub struct TableSet {
    tables: Vec<OfTable>,
    version: u64,
    next_rule_id: u64,
    /// Rules with a timeout, by id.
    expirable: BTreeMap<u64, Arc<Rule>>,
}

impl Default for TableSet {
    fn default() -> Self {
        TableSet::new()
    }
}

impl TableSet {
    /// 255 empty tables, table 254 hidden and read-only.
    pub fn new() -> TableSet {
        let mut tables: Vec<OfTable> = (0..N_TABLES).map(|_| OfTable::default()).collect();
        if let Some(t) = tables.get_mut(usize::from(TABLE_INTERNAL)) {
            t.flags = TableFlags::HIDDEN | TableFlags::READONLY;
        }
        TableSet {
            tables,
            version: 0,
            next_rule_id: 1,
            expirable: BTreeMap::new(),
        }
    }

    /// The change counter: goes up by one on every flow-mod or removal that changed
    /// something.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The table `id`, if it exists.
    pub fn table(&self, id: u8) -> Option<&OfTable> {
        self.tables.get(usize::from(id))
    }

    /// The table `id`, writable (to name it, limit it, or change its flags).
    pub fn table_mut(&mut self, id: u8) -> Option<&mut OfTable> {
        self.tables.get_mut(usize::from(id))
    }

    /// Number of tables OpenFlow sees (254: the tables before the first hidden one).
    pub fn n_visible_tables(&self) -> u8 {
        let n = self
            .tables
            .iter()
            .position(|t| t.flags.contains(TableFlags::HIDDEN))
            .unwrap_or(self.tables.len());
        u8::try_from(n).unwrap_or(u8::MAX)
    }

    /// Total number of rules, hidden tables included.
    pub fn n_rules(&self) -> usize {
        self.tables.iter().map(OfTable::n_rules).sum()
    }

    /// Looks `flow` up in table `table_id` (see [`Classifier::lookup`]).
    #[inline]
    pub fn lookup(
        &self,
        table_id: u8,
        flow: &Flow,
        wc: Option<&mut FlowWildcards>,
    ) -> Option<&Arc<Rule>> {
        self.table(table_id)?.lookup(flow, wc)
    }

    fn tables_in_scope(&self, table_id: u8, include_hidden: bool) -> Vec<u8> {
        if table_id == TABLE_ALL {
            (0..N_TABLES)
                .filter_map(|i| u8::try_from(i).ok())
                .filter(|&i| {
                    include_hidden
                        || !self.tables[usize::from(i)]
                            .flags
                            .contains(TableFlags::HIDDEN)
                })
                .collect()
        } else {
            vec![table_id]
        }
    }

    fn select(&self, q: &RuleQuery) -> Vec<Arc<Rule>> {
        let mut out = vec![];
        for t in self.tables_in_scope(q.table_id, q.include_hidden) {
            let Some(table) = self.table(t) else { continue };
            let keep = |r: &Arc<Rule>| {
                (r.cookie ^ q.cookie) & q.cookie_mask == 0
                    && (q.out_port == OfpPort::NONE || actions::outputs_to(&r.actions, q.out_port))
                    && (q.out_group == GROUP_ANY
                        || actions::outputs_to_group(&r.actions, q.out_group))
            };
            if q.strict {
                if let Some(r) = table.cls.find_exact(&q.match_, q.priority)
                    && keep(r)
                {
                    out.push(r.clone());
                }
            } else {
                out.extend(
                    table
                        .cls
                        .iter_covered(&q.match_)
                        .map(|(_, _, r)| r)
                        .filter(|r| keep(r))
                        .cloned(),
                );
            }
        }
        out
    }

    /// The rules `q` selects, by table, then decreasing priority, then age.
    pub fn rules(&self, q: &RuleQuery) -> Vec<Arc<Rule>> {
        let mut v = self.select(q);
        v.sort_by(|a, b| {
            a.table_id
                .cmp(&b.table_id)
                .then(b.priority.cmp(&a.priority))
                .then(a.id.cmp(&b.id))
        });
        v
    }

    /// Every rule of the visible tables (or of all tables with `include_hidden`), sorted as
    /// [`TableSet::rules`].
    pub fn all_rules(&self, include_hidden: bool) -> Vec<Arc<Rule>> {
        self.rules(&RuleQuery {
            include_hidden,
            ..RuleQuery::default()
        })
    }

    fn check_table(&self, id: u8, origin: Origin) -> Result<(), Error> {
        let t = self.table(id).ok_or(Error::BadTableId(id))?;
        if origin == Origin::OpenFlow && t.flags.contains(TableFlags::READONLY) {
            return Err(Error::TableReadOnly(id));
        }
        Ok(())
    }

    fn n_tables_for(&self, origin: Origin) -> u8 {
        match origin {
            Origin::OpenFlow => self.n_visible_tables(),
            Origin::Internal => u8::try_from(N_TABLES).unwrap_or(u8::MAX),
        }
    }

    fn insert_rule(&mut self, rule: Arc<Rule>) -> Option<Arc<Rule>> {
        let table = usize::from(rule.table_id);
        if rule.is_expirable() {
            self.expirable.insert(rule.id, rule.clone());
        }
        let old = self
            .tables
            .get_mut(table)?
            .cls
            .insert(&rule.match_, rule.priority, rule.clone());
        if let Some(o) = &old {
            self.expirable.remove(&o.id);
        }
        old
    }

    fn remove_rule(&mut self, rule: &Rule) -> Option<Arc<Rule>> {
        let t = self.tables.get_mut(usize::from(rule.table_id))?;
        match t.cls.find_exact(&rule.match_, rule.priority) {
            Some(r) if r.id == rule.id => {}
            _ => return None,
        }
        let r = t.cls.remove(&rule.match_, rule.priority)?;
        self.expirable.remove(&r.id);
        Some(r)
    }

    fn new_id(&mut self) -> u64 {
        let id = self.next_rule_id;
        self.next_rule_id += 1;
        id
    }

    /// Applies a flow-mod at time `now_ms` (see the module docs).
    ///
    /// # Errors
    ///
    /// [`Error::BadTableId`], [`Error::TableReadOnly`] (OpenFlow changing table 254),
    /// [`Error::BadPrereq`] and other match errors, action errors from
    /// [`check_actions`], [`Error::Overlap`], [`Error::TableFull`]. On error nothing
    /// changed.
    pub fn flow_mod(
        &mut self,
        fm: &FlowMod,
        now_ms: u64,
        origin: Origin,
    ) -> Result<FlowModResult, Error> {
        fm.match_.check_prereqs()?;
        let res = match fm.command {
            FlowModCommand::Add => self.add(fm, now_ms, origin)?,
            FlowModCommand::Modify | FlowModCommand::ModifyStrict => {
                self.modify(fm, now_ms, origin)?
            }
            FlowModCommand::Delete | FlowModCommand::DeleteStrict => self.delete(fm, origin)?,
        };
        if !res.is_empty() {
            self.version += 1;
        }
        Ok(res)
    }

    fn add(&mut self, fm: &FlowMod, now_ms: u64, origin: Origin) -> Result<FlowModResult, Error> {
        let table_id = if fm.table_id == TABLE_ALL {
            0
        } else {
            fm.table_id
        };
        self.check_table(table_id, origin)?;
        check_actions(&fm.actions, &fm.match_, table_id, self.n_tables_for(origin))?;
        let table = self.table(table_id).ok_or(Error::BadTableId(table_id))?;
        if fm.flags.contains(FlowModFlags::CHECK_OVERLAP)
            && table.cls.overlaps(&fm.match_, fm.priority)
        {
            return Err(Error::Overlap);
        }
        let old = table.cls.find_exact(&fm.match_, fm.priority).cloned();
        if old.is_none()
            && let Some(max) = table.max_flows
            && table.n_rules() >= max
        {
            return Err(Error::TableFull(table_id));
        }
        let counters = match &old {
            Some(o) if !fm.flags.contains(FlowModFlags::RESET_COUNTS) => o.counters.clone(),
            _ => Arc::new(RuleStats::default()),
        };
        let rule = Arc::new(Rule {
            id: self.new_id(),
            table_id,
            match_: fm.match_,
            priority: fm.priority,
            cookie: fm.new_cookie.unwrap_or(0),
            idle_timeout: fm.idle_timeout,
            hard_timeout: fm.hard_timeout,
            importance: fm.importance,
            flags: fm.flags,
            created_ms: now_ms,
            modified_ms: now_ms,
            actions: Arc::from(fm.actions.clone()),
            counters,
        });
        let replaced = self.insert_rule(rule.clone());
        let mut res = FlowModResult {
            added: vec![rule],
            ..FlowModResult::default()
        };
        if let Some(o) = replaced {
            res.removed.push((o, RemovedReason::Replaced));
        }
        Ok(res)
    }

    fn modify(
        &mut self,
        fm: &FlowMod,
        now_ms: u64,
        origin: Origin,
    ) -> Result<FlowModResult, Error> {
        if fm.table_id != TABLE_ALL {
            self.check_table(fm.table_id, origin)?;
        }
        let q = RuleQuery {
            table_id: fm.table_id,
            match_: fm.match_,
            strict: fm.command.is_strict(),
            priority: fm.priority,
            cookie: fm.cookie,
            cookie_mask: fm.cookie_mask,
            include_hidden: origin == Origin::Internal,
            ..RuleQuery::default()
        };
        let old = self.rules(&q);
        if old.is_empty() {
            if fm.new_cookie.is_some() && fm.cookie_mask == 0 {
                let mut add = fm.clone();
                add.command = FlowModCommand::Add;
                return self.add(&add, now_ms, origin);
            }
            return Ok(FlowModResult::default());
        }
        let n_tables = self.n_tables_for(origin);
        for r in &old {
            check_actions(&fm.actions, &r.match_, r.table_id, n_tables)?;
        }
        let actions: Arc<[Action]> = Arc::from(fm.actions.clone());
        let mut res = FlowModResult::default();
        for o in old {
            let counters = if fm.flags.contains(FlowModFlags::RESET_COUNTS) {
                Arc::new(RuleStats::default())
            } else {
                o.counters.clone()
            };
            let new = Arc::new(Rule {
                id: self.new_id(),
                table_id: o.table_id,
                match_: o.match_,
                priority: o.priority,
                cookie: fm.new_cookie.unwrap_or(o.cookie),
                idle_timeout: o.idle_timeout,
                hard_timeout: o.hard_timeout,
                importance: o.importance,
                flags: o.flags,
                created_ms: o.created_ms,
                modified_ms: now_ms,
                actions: actions.clone(),
                counters,
            });
            self.insert_rule(new.clone());
            res.modified.push((o, new));
        }
        Ok(res)
    }

    fn delete(&mut self, fm: &FlowMod, origin: Origin) -> Result<FlowModResult, Error> {
        if fm.table_id != TABLE_ALL {
            self.check_table(fm.table_id, origin)?;
        }
        let q = RuleQuery {
            table_id: fm.table_id,
            match_: fm.match_,
            strict: fm.command.is_strict(),
            priority: fm.priority,
            cookie: fm.cookie,
            cookie_mask: fm.cookie_mask,
            out_port: fm.out_port,
            out_group: fm.out_group,
            include_hidden: origin == Origin::Internal,
        };
        let victims = self.rules(&q);
        let mut res = FlowModResult::default();
        for v in victims {
            if let Some(r) = self.remove_rule(&v) {
                res.removed.push((r, RemovedReason::Delete));
            }
        }
        Ok(res)
    }

    /// The rules whose idle or hard timeout has passed at `now_ms`, with the reason. The
    /// caller removes them with [`TableSet::remove_rules`].
    pub fn expired(&self, now_ms: u64) -> Vec<(Arc<Rule>, RemovedReason)> {
        self.expirable
            .values()
            .filter_map(|r| r.expired(now_ms).map(|why| (r.clone(), why)))
            .collect()
    }

    /// Removes `rules` (those still in their tables; a rule since replaced or modified is
    /// not removed) and returns the ones removed.
    pub fn remove_rules(&mut self, rules: &[Arc<Rule>]) -> Vec<Arc<Rule>> {
        let out: Vec<Arc<Rule>> = rules.iter().filter_map(|r| self.remove_rule(r)).collect();
        if !out.is_empty() {
            self.version += 1;
        }
        out
    }
}

#[cfg(test)]
mod tests;
