//! The local copy of the rows the switch monitors ([`Replica`]), kept up to date from
//! `update` (RFC 7047 `monitor`) and `update2` (OVS's `monitor_cond`) notifications, and
//! turned into a [`Config`].
//!
//! # Which tables and columns
//!
//! [`MONITORED`] lists them: the `Open_vSwitch`, `Bridge`, `Port`, `Interface` and
//! `Controller` columns that make a [`Config`], and the columns the switch writes back and
//! compares (`cur_cfg`, `ofport`, `error`, `datapath_id`). [`Schema::from_json`] keeps the
//! types of those that the server's schema has; a column missing from an older schema is
//! left out of the monitor request (as OVS's IDL does).
//!
//! # Bad updates
//!
//! An update is applied whole or not at all: a row of a table or a column that was not
//! monitored, a value of the wrong type, a modification or deletion of a row that does not
//! exist, or an insertion of one that does, makes [`Replica::apply`] return an error and
//! leaves the replica as it was. The caller logs it; the switch keeps its configuration.
//!
//! # Rows to configuration
//!
//! [`Replica::to_config`] follows `Open_vSwitch.bridges` to bridges, ports and interfaces.
//! What OVS would refuse is skipped with a warning, and the rest is used: a reference to a
//! missing row, a bridge or port seen twice, a port without interfaces, a VLAN tag or trunk
//! outside 0..=4095, an `ofport_request` outside 1..=65279, a malformed `mac`.

use std::collections::{BTreeMap, BTreeSet};

use netdev::EthAddr;
use serde_json::{Map, Value};

use super::datum::{Atom, ColumnType, Datum, DatumError, Uuid};
use crate::config::{OFPORT_MAX, VLAN_MAX};
use crate::{BridgeConfig, Config, FailMode, InterfaceConfig, OvsConfig, PortConfig, VlanMode};

/// The database the switch uses.
pub const DATABASE: &str = "Open_vSwitch";

/// The tables and columns monitored.
pub const MONITORED: [(&str, &[&str]); 5] = [
    (
        "Open_vSwitch",
        &["bridges", "cur_cfg", "next_cfg", "other_config"],
    ),
    (
        "Bridge",
        &[
            "name",
            "ports",
            "datapath_type",
            "datapath_id",
            "fail_mode",
            "protocols",
            "controller",
            "other_config",
        ],
    ),
    (
        "Port",
        &[
            "name",
            "interfaces",
            "tag",
            "trunks",
            "vlan_mode",
            "other_config",
        ],
    ),
    (
        "Interface",
        &[
            "name",
            "type",
            "options",
            "ofport",
            "ofport_request",
            "mtu_request",
            "mac",
            "error",
            "other_config",
        ],
    ),
    ("Controller", &["target"]),
];

/// One row: column name to value; a column absent from the map has its default value.
pub type Row = BTreeMap<String, Datum>;

/// The types of the monitored columns the server's schema has.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Schema {
    /// Table name to column name to type.
    pub tables: BTreeMap<String, BTreeMap<String, ColumnType>>,
}

impl Schema {
    /// Reads a `get_schema` result, keeping the [`MONITORED`] tables and columns. A table
    /// missing from the server's schema is an error (the switch cannot work without it); a
    /// column missing is left out.
    ///
    /// # Errors
    ///
    /// The result is not a schema, a monitored table is missing, or a column type is
    /// malformed.
    pub fn from_json(v: &Value) -> Result<Schema, DatumError> {
        let tables = v
            .get("tables")
            .and_then(Value::as_object)
            .ok_or_else(|| DatumError("schema without \"tables\"".into()))?;
        let mut out = BTreeMap::new();
        for (table, columns) in MONITORED {
            let t = tables
                .get(table)
                .and_then(|t| t.get("columns"))
                .and_then(Value::as_object)
                .ok_or_else(|| DatumError(format!("schema has no table {table}")))?;
            let mut cols = BTreeMap::new();
            for c in columns {
                if let Some(def) = t.get(*c) {
                    let ty = def
                        .get("type")
                        .ok_or_else(|| DatumError(format!("{table}.{c}: no type")))?;
                    let ty = ColumnType::from_json(ty)
                        .map_err(|e| DatumError(format!("{table}.{c}: {e}")))?;
                    cols.insert((*c).to_owned(), ty);
                }
            }
            out.insert(table.to_owned(), cols);
        }
        Ok(Schema { tables: out })
    }

    /// The `monitor_cond` request body (each table maps to a list of requests) if `cond`,
    /// else the plain `monitor` one.
    pub fn monitor_request(&self, cond: bool) -> Value {
        let mut o = Map::new();
        for (table, cols) in &self.tables {
            let mut req = Map::new();
            req.insert(
                "columns".into(),
                Value::Array(cols.keys().map(|c| Value::from(c.as_str())).collect()),
            );
            let req = Value::Object(req);
            o.insert(
                table.clone(),
                if cond { Value::Array(vec![req]) } else { req },
            );
        }
        Value::Object(o)
    }

    /// The type of `table.column`, if monitored.
    pub fn column(&self, table: &str, column: &str) -> Option<&ColumnType> {
        self.tables.get(table).and_then(|t| t.get(column))
    }
}

/// The notification format of an update.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpdateKind {
    /// RFC 7047 `<table-updates>`: rows with `old` and `new`.
    Update,
    /// OVS `<table-updates2>`: rows with `initial`, `insert`, `modify` (diffs) or `delete`.
    Update2,
}

/// The monitored rows. See the [module docs](self).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Replica {
    schema: Schema,
    /// Table name to row UUID to row.
    tables: BTreeMap<String, BTreeMap<Uuid, Row>>,
}

impl Replica {
    /// An empty replica of `schema`'s tables.
    pub fn new(schema: Schema) -> Replica {
        let tables = schema
            .tables
            .keys()
            .map(|t| (t.clone(), BTreeMap::new()))
            .collect();
        Replica { schema, tables }
    }

    /// The schema.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// The rows of `table`.
    pub fn rows(&self, table: &str) -> impl Iterator<Item = (&Uuid, &Row)> {
        self.tables.get(table).into_iter().flat_map(|t| t.iter())
    }

    /// Row `uuid` of `table`.
    pub fn row(&self, table: &str, uuid: &Uuid) -> Option<&Row> {
        self.tables.get(table).and_then(|t| t.get(uuid))
    }

    /// The value of `column` in `row` of `table`: the stored value, or the column's default.
    pub fn get(&self, table: &str, row: &Row, column: &str) -> Datum {
        match row.get(column) {
            Some(d) => d.clone(),
            None => self
                .schema
                .column(table, column)
                .map_or_else(Datum::empty, ColumnType::default_datum),
        }
    }

    /// Applies one `<table-updates>` (`kind` says which format), whole or not at all.
    ///
    /// # Errors
    ///
    /// See the [module docs](self); the replica is unchanged.
    pub fn apply(&mut self, updates: &Value, kind: UpdateKind) -> Result<(), DatumError> {
        let mut next = self.tables.clone();
        let updates = updates
            .as_object()
            .ok_or_else(|| DatumError("table updates are not an object".into()))?;
        for (table, rows) in updates {
            let cols =
                self.schema.tables.get(table).ok_or_else(|| {
                    DatumError(format!("update for table {table}, not monitored"))
                })?;
            let rows = rows
                .as_object()
                .ok_or_else(|| DatumError(format!("{table}: rows are not an object")))?;
            let t = next.entry(table.clone()).or_default();
            for (uuid, change) in rows {
                let uuid = Uuid::parse(uuid).map_err(|e| DatumError(format!("{table}: {e}")))?;
                let ctx = |e: DatumError| DatumError(format!("{table} row {uuid}: {e}"));
                apply_row(t, cols, uuid, change, kind).map_err(ctx)?;
            }
        }
        self.tables = next;
        Ok(())
    }

    /// Replaces the whole content with the `monitor`/`monitor_cond` reply `initial`.
    ///
    /// # Errors
    ///
    /// As [`Replica::apply`]; the replica is unchanged.
    pub fn reset(&mut self, initial: &Value, kind: UpdateKind) -> Result<(), DatumError> {
        let mut fresh = Replica::new(self.schema.clone());
        fresh.apply(initial, kind)?;
        *self = fresh;
        Ok(())
    }

    /// The number of values held (rows times columns present), as `memory/show` reports
    /// `idl-cells`.
    pub fn n_cells(&self) -> usize {
        self.tables
            .values()
            .flat_map(|t| t.values())
            .map(Row::len)
            .sum()
    }

    /// The one `Open_vSwitch` row, if there is exactly one.
    pub fn ovs_row(&self) -> Option<(&Uuid, &Row)> {
        let mut it = self.rows("Open_vSwitch");
        match (it.next(), it.next()) {
            (Some(r), None) => Some(r),
            _ => None,
        }
    }

    fn string(&self, table: &str, row: &Row, column: &str) -> String {
        self.get(table, row, column)
            .atoms()
            .first()
            .and_then(Atom::as_str)
            .unwrap_or_default()
            .to_owned()
    }

    fn opt_int(&self, table: &str, row: &Row, column: &str) -> Option<i64> {
        self.get(table, row, column)
            .atoms()
            .first()
            .and_then(Atom::as_i64)
    }

    fn uuids(&self, table: &str, row: &Row, column: &str) -> Vec<Uuid> {
        self.get(table, row, column)
            .atoms()
            .iter()
            .filter_map(Atom::as_uuid)
            .collect()
    }

    fn smap(&self, table: &str, row: &Row, column: &str) -> BTreeMap<String, String> {
        self.get(table, row, column)
            .entries()
            .iter()
            .filter_map(|(k, v)| Some((k.as_str()?.to_owned(), v.as_str()?.to_owned())))
            .collect()
    }

    /// The configuration the rows describe, and a warning for each thing skipped. `None`
    /// when there is no single `Open_vSwitch` row (an empty database).
    pub fn to_config(&self) -> Option<(Config, Vec<String>)> {
        let (_, ovs) = self.ovs_row()?;
        let mut warnings = Vec::new();
        let mut cfg = Config {
            open_vswitch: OvsConfig {
                other_config: self.smap("Open_vSwitch", ovs, "other_config"),
            },
            bridges: Vec::new(),
        };
        let mut bridge_names = BTreeSet::new();
        let mut port_names = BTreeSet::new();
        let mut iface_names = BTreeSet::new();
        for br_uuid in self.uuids("Open_vSwitch", ovs, "bridges") {
            let Some(br) = self.row("Bridge", &br_uuid) else {
                warnings.push(format!("Open_vSwitch.bridges: no bridge row {br_uuid}"));
                continue;
            };
            let name = self.string("Bridge", br, "name");
            if name.is_empty() || !bridge_names.insert(name.clone()) {
                warnings.push(format!("bridge {name:?} is named twice or not at all"));
                continue;
            }
            let mut b = BridgeConfig {
                datapath_type: match self.string("Bridge", br, "datapath_type") {
                    t if t.is_empty() => "system".to_owned(),
                    t => t,
                },
                fail_mode: if self.string("Bridge", br, "fail_mode") == "secure" {
                    FailMode::Secure
                } else {
                    FailMode::Standalone
                },
                protocols: self
                    .get("Bridge", br, "protocols")
                    .atoms()
                    .iter()
                    .filter_map(|a| a.as_str().map(str::to_owned))
                    .collect(),
                controllers: self
                    .uuids("Bridge", br, "controller")
                    .iter()
                    .filter_map(|u| self.row("Controller", u))
                    .map(|c| self.string("Controller", c, "target"))
                    .filter(|t| !t.is_empty())
                    .collect(),
                other_config: self.smap("Bridge", br, "other_config"),
                ports: Vec::new(),
                name,
            };
            b.controllers.sort();
            for p_uuid in self.uuids("Bridge", br, "ports") {
                match self.port(&p_uuid, &mut iface_names) {
                    Ok(p) if !port_names.insert(p.name.clone()) => {
                        warnings.push(format!("bridge {}: port {} is named twice", b.name, p.name));
                    }
                    Ok(p) => b.ports.push(p),
                    Err(w) => warnings.push(format!("bridge {}: {w}", b.name)),
                }
            }
            b.ports.sort_by(|x, y| x.name.cmp(&y.name));
            cfg.bridges.push(b);
        }
        cfg.bridges.sort_by(|x, y| x.name.cmp(&y.name));
        Some((cfg, warnings))
    }

    fn port(&self, uuid: &Uuid, iface_names: &mut BTreeSet<String>) -> Result<PortConfig, String> {
        let row = self
            .row("Port", uuid)
            .ok_or_else(|| format!("no port row {uuid}"))?;
        let t = "Port";
        let name = self.string(t, row, "name");
        let ctx = |m: String| format!("port {name}: {m}");
        let vlan = |v: i64| u16::try_from(v).ok().filter(|v| *v <= VLAN_MAX);
        let tag = match self.opt_int(t, row, "tag") {
            None => None,
            Some(v) => Some(vlan(v).ok_or_else(|| ctx(format!("tag {v} is not a VLAN")))?),
        };
        let mut trunks = Vec::new();
        for a in self.get(t, row, "trunks").atoms() {
            let v = a.as_i64().unwrap_or(-1);
            trunks.push(vlan(v).ok_or_else(|| ctx(format!("trunk {v} is not a VLAN")))?);
        }
        let vlan_mode = match self.string(t, row, "vlan_mode").as_str() {
            "" => None,
            m => Some(VlanMode::parse(m).ok_or_else(|| ctx(format!("unknown vlan_mode {m}")))?),
        };
        let mut interfaces = Vec::new();
        for i_uuid in self.uuids(t, row, "interfaces") {
            let i = self
                .row("Interface", &i_uuid)
                .ok_or_else(|| ctx(format!("no interface row {i_uuid}")))?;
            interfaces.push(self.iface(i).map_err(ctx)?);
        }
        if interfaces.is_empty() {
            return Err(ctx("has no interfaces".into()));
        }
        for i in &interfaces {
            if !iface_names.insert(i.name.clone()) {
                return Err(ctx(format!("interface {} is named twice", i.name)));
            }
        }
        interfaces.sort_by(|x, y| x.name.cmp(&y.name));
        Ok(PortConfig {
            tag,
            trunks,
            vlan_mode,
            other_config: self.smap(t, row, "other_config"),
            interfaces,
            name,
        })
    }

    fn iface(&self, row: &Row) -> Result<InterfaceConfig, String> {
        let t = "Interface";
        let name = self.string(t, row, "name");
        if name.is_empty() || name.contains('/') {
            return Err(format!("interface name {name:?} is not valid"));
        }
        let ofport_request = match self.opt_int(t, row, "ofport_request") {
            None => None,
            Some(v) => Some(
                u16::try_from(v)
                    .ok()
                    .filter(|v| (1..=OFPORT_MAX).contains(v))
                    .ok_or_else(|| {
                        format!("interface {name}: ofport_request {v} is out of range")
                    })?,
            ),
        };
        let mtu_request = match self.opt_int(t, row, "mtu_request") {
            None => None,
            Some(v) => Some(
                u32::try_from(v)
                    .ok()
                    .filter(|v| *v > 0)
                    .ok_or_else(|| format!("interface {name}: mtu_request {v} is out of range"))?,
            ),
        };
        let mac = match self.string(t, row, "mac").as_str() {
            "" => None,
            m => Some(
                m.parse::<EthAddr>()
                    .map_err(|_| format!("interface {name}: mac {m:?} is not a MAC address"))?,
            ),
        };
        Ok(InterfaceConfig {
            type_: match self.string(t, row, "type") {
                ty if ty.is_empty() => "system".to_owned(),
                ty => ty,
            },
            options: self.smap(t, row, "options"),
            ofport_request,
            mtu_request,
            mac,
            other_config: self.smap(t, row, "other_config"),
            name,
        })
    }
}

/// Parses the columns of a full row (`initial`, `insert`, `new`).
fn parse_row(cols: &BTreeMap<String, ColumnType>, v: &Value) -> Result<Row, DatumError> {
    let o = v
        .as_object()
        .ok_or_else(|| DatumError("row is not an object".into()))?;
    let mut row = Row::new();
    for (c, val) in o {
        let ty = cols
            .get(c)
            .ok_or_else(|| DatumError(format!("column {c} was not monitored")))?;
        let d = Datum::from_json_typed(val, ty).map_err(|e| DatumError(format!("{c}: {e}")))?;
        row.insert(c.clone(), d);
    }
    Ok(row)
}

fn apply_row(
    t: &mut BTreeMap<Uuid, Row>,
    cols: &BTreeMap<String, ColumnType>,
    uuid: Uuid,
    change: &Value,
    kind: UpdateKind,
) -> Result<(), DatumError> {
    let o = change
        .as_object()
        .ok_or_else(|| DatumError("row update is not an object".into()))?;
    match kind {
        UpdateKind::Update => {
            match (o.get("old"), o.get("new")) {
                (old, Some(new)) if !new.is_null() => {
                    if old.is_none() && t.contains_key(&uuid) {
                        return Err(DatumError("inserted, but it exists".into()));
                    }
                    if old.is_some() && !t.contains_key(&uuid) {
                        return Err(DatumError("modified, but it does not exist".into()));
                    }
                    if let Some(old) = old {
                        parse_row(cols, old)?;
                    }
                    t.insert(uuid, parse_row(cols, new)?);
                }
                (Some(_), _) => {
                    if t.remove(&uuid).is_none() {
                        return Err(DatumError("deleted, but it does not exist".into()));
                    }
                }
                _ => return Err(DatumError("neither \"old\" nor \"new\"".into())),
            }
            Ok(())
        }
        UpdateKind::Update2 => {
            if o.len() != 1 {
                return Err(DatumError(
                    "a row update2 must have exactly one of initial, insert, modify, delete".into(),
                ));
            }
            if let Some(row) = o.get("initial").or_else(|| o.get("insert")) {
                if t.contains_key(&uuid) {
                    return Err(DatumError("inserted, but it exists".into()));
                }
                t.insert(uuid, parse_row(cols, row)?);
            } else if let Some(diff) = o.get("modify") {
                let row = t
                    .get_mut(&uuid)
                    .ok_or_else(|| DatumError("modified, but it does not exist".into()))?;
                let diff = diff
                    .as_object()
                    .ok_or_else(|| DatumError("modify is not an object".into()))?;
                for (c, d) in diff {
                    let ty = cols
                        .get(c)
                        .ok_or_else(|| DatumError(format!("column {c} was not monitored")))?;
                    let old = row.get(c).cloned().unwrap_or_else(|| ty.default_datum());
                    let new = ty
                        .apply_diff_json(&old, d)
                        .map_err(|e| DatumError(format!("{c}: {e}")))?;
                    row.insert(c.clone(), new);
                }
            } else if o.contains_key("delete") {
                if t.remove(&uuid).is_none() {
                    return Err(DatumError("deleted, but it does not exist".into()));
                }
            } else {
                return Err(DatumError("unknown row update2".into()));
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests;
