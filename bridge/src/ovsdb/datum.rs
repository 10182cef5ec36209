//! OVSDB values (RFC 7047 section 5.1): atoms, sets, maps, UUIDs and named UUIDs, to and from
//! their JSON form, checked against a column's type; and the `update2` diff rules.
//!
//! # JSON forms
//!
//! | value | JSON |
//! |---|---|
//! | integer, real, boolean, string | a JSON number, boolean or string |
//! | UUID | `["uuid", "550e8400-e29b-41d4-a716-446655440000"]` |
//! | named UUID (inside a transaction) | `["named-uuid", "row1"]` |
//! | set | `["set", [atom, ...]]`, or the bare atom for a set of one |
//! | map | `["map", [[key, value], ...]]` |
//!
//! A [`Datum`] is kept normalized: set elements sorted and unique, map entries sorted by
//! key with unique keys, so that two equal values compare equal. Nothing here panics on any
//! input: malformed JSON values are a [`DatumError`].
//!
//! # `update2` diffs
//!
//! For a column that can hold more than one element, `modify` carries a diff: set elements
//! to add or remove (symmetric difference), map entries to add, remove (same value) or
//! change (new value). For every other column (scalars, and optional values with at most
//! one element) it carries the new value.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value;

/// Why a JSON value is not the OVSDB value wanted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DatumError(pub String);

impl fmt::Display for DatumError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DatumError {}

fn err<T>(msg: impl Into<String>) -> Result<T, DatumError> {
    Err(DatumError(msg.into()))
}

/// A UUID, as a 128-bit number; displayed in the 8-4-4-4-12 hex form.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Uuid(pub u128);

impl Uuid {
    /// Parses the 8-4-4-4-12 hex form (either case).
    ///
    /// # Errors
    ///
    /// Anything else.
    pub fn parse(s: &str) -> Result<Uuid, DatumError> {
        let b = s.as_bytes();
        let well_formed = b.len() == 36
            && b.iter().enumerate().all(|(i, c)| match i {
                8 | 13 | 18 | 23 => *c == b'-',
                _ => c.is_ascii_hexdigit(),
            });
        if !well_formed {
            return err(format!("\"{s}\" is not a valid UUID"));
        }
        let hex: String = s.chars().filter(|c| *c != '-').collect();
        u128::from_str_radix(&hex, 16)
            .map(Uuid)
            .map_err(|_| DatumError(format!("\"{s}\" is not a valid UUID")))
    }
}

impl fmt::Display for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let h = format!("{:032x}", self.0);
        write!(
            f,
            "{}-{}-{}-{}-{}",
            &h[0..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..32]
        )
    }
}

/// The type of an atom (RFC 7047 `<atomic-type>`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AtomicType {
    /// A 64-bit signed integer.
    Integer,
    /// A floating-point number.
    Real,
    /// `true` or `false`.
    Boolean,
    /// A UTF-8 string.
    String,
    /// A UUID (or, in a transaction, a named UUID).
    Uuid,
}

impl AtomicType {
    fn parse(s: &str) -> Result<AtomicType, DatumError> {
        Ok(match s {
            "integer" => AtomicType::Integer,
            "real" => AtomicType::Real,
            "boolean" => AtomicType::Boolean,
            "string" => AtomicType::String,
            "uuid" => AtomicType::Uuid,
            _ => return err(format!("unknown atomic type \"{s}\"")),
        })
    }

    /// The name as the schema spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            AtomicType::Integer => "integer",
            AtomicType::Real => "real",
            AtomicType::Boolean => "boolean",
            AtomicType::String => "string",
            AtomicType::Uuid => "uuid",
        }
    }
}

/// One OVSDB atom.
#[derive(Clone, Debug)]
pub enum Atom {
    /// An integer.
    Integer(i64),
    /// A real (never NaN once parsed from JSON).
    Real(f64),
    /// A boolean.
    Boolean(bool),
    /// A string.
    String(String),
    /// A row reference.
    Uuid(Uuid),
    /// A reference to a row inserted by the same transaction.
    NamedUuid(String),
}

impl Atom {
    fn rank(&self) -> u8 {
        match self {
            Atom::Integer(_) => 0,
            Atom::Real(_) => 1,
            Atom::Boolean(_) => 2,
            Atom::String(_) => 3,
            Atom::Uuid(_) => 4,
            Atom::NamedUuid(_) => 5,
        }
    }

    /// Parses an atom of any type.
    ///
    /// # Errors
    ///
    /// `value` is not an atom (an object, `null`, a set or a map...).
    pub fn from_json(value: &Value) -> Result<Atom, DatumError> {
        match value {
            Value::Bool(b) => Ok(Atom::Boolean(*b)),
            Value::String(s) => Ok(Atom::String(s.clone())),
            Value::Number(n) => {
                if let Some(i) = n.as_i64() {
                    Ok(Atom::Integer(i))
                } else {
                    match n.as_f64() {
                        Some(f) if f.is_finite() => Ok(Atom::Real(f)),
                        _ => err(format!("{n} is out of range")),
                    }
                }
            }
            Value::Array(a) => match (a.first().and_then(Value::as_str), a.get(1), a.len()) {
                (Some("uuid"), Some(Value::String(s)), 2) => Ok(Atom::Uuid(Uuid::parse(s)?)),
                (Some("named-uuid"), Some(Value::String(s)), 2) => Ok(Atom::NamedUuid(s.clone())),
                _ => err(format!("{} is not an atom", short(value))),
            },
            _ => err(format!("{} is not an atom", short(value))),
        }
    }

    /// Parses an atom of type `ty` (an integer is accepted for a real).
    ///
    /// # Errors
    ///
    /// `value` is not an atom of that type.
    pub fn from_json_typed(value: &Value, ty: AtomicType) -> Result<Atom, DatumError> {
        let a = Atom::from_json(value)?;
        match (&a, ty) {
            (Atom::Integer(i), AtomicType::Real) => {
                // Precision loss is how OVSDB reads an integer as a real too.
                #[allow(clippy::cast_precision_loss)]
                let f = *i as f64;
                Ok(Atom::Real(f))
            }
            (Atom::Integer(_), AtomicType::Integer)
            | (Atom::Real(_), AtomicType::Real)
            | (Atom::Boolean(_), AtomicType::Boolean)
            | (Atom::String(_), AtomicType::String)
            | (Atom::Uuid(_) | Atom::NamedUuid(_), AtomicType::Uuid) => Ok(a),
            _ => err(format!("{} is not of type {}", short(value), ty.as_str())),
        }
    }

    /// The JSON form.
    pub fn to_json(&self) -> Value {
        match self {
            Atom::Integer(i) => Value::from(*i),
            Atom::Real(f) => Value::from(*f),
            Atom::Boolean(b) => Value::Bool(*b),
            Atom::String(s) => Value::String(s.clone()),
            Atom::Uuid(u) => Value::Array(vec!["uuid".into(), u.to_string().into()]),
            Atom::NamedUuid(n) => Value::Array(vec!["named-uuid".into(), n.clone().into()]),
        }
    }

    /// The string, if this is a string atom.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Atom::String(s) => Some(s),
            _ => None,
        }
    }

    /// The integer, if this is an integer atom.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Atom::Integer(i) => Some(*i),
            _ => None,
        }
    }

    /// The UUID, if this is a UUID atom.
    pub fn as_uuid(&self) -> Option<Uuid> {
        match self {
            Atom::Uuid(u) => Some(*u),
            _ => None,
        }
    }
}

impl PartialEq for Atom {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Atom {}

impl PartialOrd for Atom {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Atom {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Atom::Integer(a), Atom::Integer(b)) => a.cmp(b),
            (Atom::Real(a), Atom::Real(b)) => a.total_cmp(b),
            (Atom::Boolean(a), Atom::Boolean(b)) => a.cmp(b),
            (Atom::String(a), Atom::String(b)) => a.cmp(b),
            (Atom::Uuid(a), Atom::Uuid(b)) => a.cmp(b),
            (Atom::NamedUuid(a), Atom::NamedUuid(b)) => a.cmp(b),
            _ => self.rank().cmp(&other.rank()),
        }
    }
}

impl From<&str> for Atom {
    fn from(s: &str) -> Atom {
        Atom::String(s.to_owned())
    }
}

impl From<String> for Atom {
    fn from(s: String) -> Atom {
        Atom::String(s)
    }
}

impl From<i64> for Atom {
    fn from(i: i64) -> Atom {
        Atom::Integer(i)
    }
}

/// A column value: a set of atoms (a scalar is a set of one) or a map.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Datum {
    /// Sorted, unique atoms.
    Set(Vec<Atom>),
    /// Entries sorted by key, keys unique.
    Map(Vec<(Atom, Atom)>),
}

impl Default for Datum {
    fn default() -> Self {
        Datum::Set(Vec::new())
    }
}

/// At most this much of a value is quoted in an error message.
fn short(v: &Value) -> String {
    let s = v.to_string();
    match s.char_indices().nth(60) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s,
    }
}

impl Datum {
    /// A set of one atom.
    pub fn scalar(a: impl Into<Atom>) -> Datum {
        Datum::Set(vec![a.into()])
    }

    /// The empty set.
    pub fn empty() -> Datum {
        Datum::Set(Vec::new())
    }

    /// A normalized set of `atoms`.
    pub fn set(atoms: impl IntoIterator<Item = Atom>) -> Datum {
        let mut v: Vec<Atom> = atoms.into_iter().collect();
        v.sort();
        v.dedup();
        Datum::Set(v)
    }

    /// A normalized map of `entries`; the last of equal keys wins.
    pub fn map(entries: impl IntoIterator<Item = (Atom, Atom)>) -> Datum {
        let m: BTreeMap<Atom, Atom> = entries.into_iter().collect();
        Datum::Map(m.into_iter().collect())
    }

    /// A map of strings to strings.
    pub fn string_map<'a>(entries: impl IntoIterator<Item = (&'a str, &'a str)>) -> Datum {
        Datum::map(entries.into_iter().map(|(k, v)| (k.into(), v.into())))
    }

    /// Parses any datum, without a type: `["set",...]`, `["map",...]` or a bare atom.
    ///
    /// # Errors
    ///
    /// `value` is none of these.
    pub fn from_json(value: &Value) -> Result<Datum, DatumError> {
        Datum::parse(value, None, None)
    }

    /// Parses a datum of column type `ty`, checking atom types and the number of elements.
    ///
    /// # Errors
    ///
    /// `value` is not a value of that type.
    pub fn from_json_typed(value: &Value, ty: &ColumnType) -> Result<Datum, DatumError> {
        let d = Datum::parse(value, Some(ty.key), Some(ty.value))?;
        ty.check_size(&d)?;
        Ok(d)
    }

    /// Parses an `update2` diff for a column of type `ty`: like a value of that type, with
    /// any number of elements.
    fn diff_from_json(value: &Value, ty: &ColumnType) -> Result<Datum, DatumError> {
        Datum::parse(value, Some(ty.key), Some(ty.value))
    }

    /// `key`/`value`: `None` for untyped; `Some(None)` as value type means "not a map".
    fn parse(
        value: &Value,
        key: Option<AtomicType>,
        value_ty: Option<Option<AtomicType>>,
    ) -> Result<Datum, DatumError> {
        let atom = |v: &Value, t: Option<AtomicType>| match t {
            Some(t) => Atom::from_json_typed(v, t),
            None => Atom::from_json(v),
        };
        let tag = match value {
            Value::Array(a) if a.len() == 2 => a[0].as_str().map(|t| (t, &a[1])),
            _ => None,
        };
        match tag {
            Some(("set", Value::Array(elems))) => {
                if matches!(value_ty, Some(Some(_))) {
                    return err(format!("{} is a set, not a map", short(value)));
                }
                let atoms = elems
                    .iter()
                    .map(|e| atom(e, key))
                    .collect::<Result<Vec<_>, _>>()?;
                let n = atoms.len();
                let d = Datum::set(atoms);
                if matches!(&d, Datum::Set(v) if v.len() != n) {
                    return err(format!("{} has duplicate elements", short(value)));
                }
                Ok(d)
            }
            Some(("map", Value::Array(pairs))) => {
                let vt = match value_ty {
                    Some(None) => return err(format!("{} is a map, not a set", short(value))),
                    Some(Some(t)) => Some(t),
                    None => None,
                };
                let mut m = BTreeMap::new();
                for p in pairs {
                    match p {
                        Value::Array(kv) if kv.len() == 2 => {
                            let k = atom(&kv[0], key)?;
                            let v = atom(&kv[1], vt)?;
                            if m.insert(k, v).is_some() {
                                return err(format!("{} has duplicate keys", short(value)));
                            }
                        }
                        _ => return err(format!("{} is not a map entry", short(p))),
                    }
                }
                Ok(Datum::Map(m.into_iter().collect()))
            }
            Some(("set" | "map", _)) => err(format!("{} is malformed", short(value))),
            _ => {
                if matches!(value_ty, Some(Some(_))) {
                    return err(format!("{} is not a map", short(value)));
                }
                Ok(Datum::Set(vec![atom(value, key)?]))
            }
        }
    }

    /// The JSON form: a set of one is written as its bare atom.
    pub fn to_json(&self) -> Value {
        match self {
            Datum::Set(v) if v.len() == 1 => v[0].to_json(),
            Datum::Set(v) => Value::Array(vec![
                "set".into(),
                Value::Array(v.iter().map(Atom::to_json).collect()),
            ]),
            Datum::Map(m) => Value::Array(vec![
                "map".into(),
                Value::Array(
                    m.iter()
                        .map(|(k, v)| Value::Array(vec![k.to_json(), v.to_json()]))
                        .collect(),
                ),
            ]),
        }
    }

    /// The atoms of a set (empty for a map).
    pub fn atoms(&self) -> &[Atom] {
        match self {
            Datum::Set(v) => v,
            Datum::Map(_) => &[],
        }
    }

    /// The entries of a map (empty for a set).
    pub fn entries(&self) -> &[(Atom, Atom)] {
        match self {
            Datum::Map(m) => m,
            Datum::Set(_) => &[],
        }
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        match self {
            Datum::Set(v) => v.len(),
            Datum::Map(m) => m.len(),
        }
    }

    /// Whether the value has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Applies an `update2` diff: if `scalar` (a column of at most one element) the diff is
    /// the new value; for a set,
    /// each element of the diff is removed if present, added if not; for a map, an entry
    /// whose key is absent is added, one equal to the current entry is removed, and one
    /// with a new value replaces it.
    pub fn apply_diff(&self, diff: &Datum, scalar: bool) -> Datum {
        if scalar {
            return diff.clone();
        }
        match (self, diff) {
            (Datum::Map(old), Datum::Map(d)) => {
                let mut m: BTreeMap<Atom, Atom> = old.iter().cloned().collect();
                for (k, v) in d {
                    match m.get(k) {
                        Some(cur) if cur == v => {
                            m.remove(k);
                        }
                        _ => {
                            m.insert(k.clone(), v.clone());
                        }
                    }
                }
                Datum::Map(m.into_iter().collect())
            }
            // An empty current value of a map column is stored as an empty set.
            (Datum::Set(old), Datum::Map(_)) if old.is_empty() => {
                Datum::Map(Vec::new()).apply_diff(diff, false)
            }
            (Datum::Set(old), Datum::Set(d)) => {
                let mut out: Vec<Atom> = old
                    .iter()
                    .filter(|a| d.binary_search(a).is_err())
                    .cloned()
                    .collect();
                out.extend(d.iter().filter(|a| old.binary_search(a).is_err()).cloned());
                Datum::set(out)
            }
            _ => diff.clone(),
        }
    }

    /// The diff that [`Datum::apply_diff`] turns `self` into `new` with (not scalar).
    pub fn diff_to(&self, new: &Datum) -> Datum {
        match (self, new) {
            (Datum::Set(a), Datum::Set(b)) => {
                let mut out: Vec<Atom> = a
                    .iter()
                    .filter(|x| b.binary_search(x).is_err())
                    .cloned()
                    .collect();
                out.extend(b.iter().filter(|x| a.binary_search(x).is_err()).cloned());
                Datum::set(out)
            }
            _ => {
                let a: BTreeMap<&Atom, &Atom> =
                    self.entries().iter().map(|(k, v)| (k, v)).collect();
                let b: BTreeMap<&Atom, &Atom> = new.entries().iter().map(|(k, v)| (k, v)).collect();
                let mut out = Vec::new();
                for (k, v) in &a {
                    if !b.contains_key(k) {
                        out.push(((*k).clone(), (*v).clone()));
                    }
                }
                for (k, v) in &b {
                    if a.get(k) != Some(v) {
                        out.push(((*k).clone(), (*v).clone()));
                    }
                }
                Datum::map(out)
            }
        }
    }
}

/// A column's type (RFC 7047 `<type>`): atom types and the number of elements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ColumnType {
    /// The type of a set's elements or a map's keys.
    pub key: AtomicType,
    /// The type of a map's values; `None` for a set or scalar.
    pub value: Option<AtomicType>,
    /// The least number of elements.
    pub min: u64,
    /// The most; `None` for unlimited.
    pub max: Option<u64>,
}

impl ColumnType {
    /// A scalar (exactly one atom) of type `key`.
    pub fn scalar(key: AtomicType) -> ColumnType {
        ColumnType {
            key,
            value: None,
            min: 1,
            max: Some(1),
        }
    }

    /// Whether a value is exactly one atom.
    pub fn is_scalar(&self) -> bool {
        self.value.is_none() && self.min == 1 && self.max == Some(1)
    }

    /// Whether a value can hold more than one element. Only such columns get a real diff
    /// in `update2`; for the others (scalars, and optional values such as `ofport` or
    /// `fail_mode`) the "diff" is the new value: clearing `fail_mode` arrives as
    /// `"fail_mode": ["set", []]` (measured with ovsdb-server 3.1.0).
    pub fn is_composite(&self) -> bool {
        self.max.is_none_or(|m| m > 1)
    }

    /// Parses a schema `type`: `"integer"` or `{"key": ..., "value": ..., "min": ..,
    /// "max": ..}`, where `key`/`value` are an atomic type name or `{"type": name, ...}`
    /// (constraints such as `enum` and ranges are the server's to enforce, and ignored).
    ///
    /// # Errors
    ///
    /// Anything else.
    pub fn from_json(v: &Value) -> Result<ColumnType, DatumError> {
        fn base(v: &Value) -> Result<AtomicType, DatumError> {
            match v {
                Value::String(s) => AtomicType::parse(s),
                Value::Object(o) => match o.get("type") {
                    Some(Value::String(s)) => AtomicType::parse(s),
                    _ => err("base type without \"type\""),
                },
                _ => err(format!("{} is not a base type", short(v))),
            }
        }
        match v {
            Value::String(s) => Ok(ColumnType::scalar(AtomicType::parse(s)?)),
            Value::Object(o) => {
                let key = base(o.get("key").unwrap_or(&Value::Null))?;
                let value = o.get("value").map(base).transpose()?;
                let min = match o.get("min") {
                    None => 1,
                    Some(m) => m
                        .as_u64()
                        .filter(|m| *m <= 1)
                        .ok_or_else(|| DatumError(format!("bad \"min\" {}", short(m))))?,
                };
                let max = match o.get("max") {
                    None => Some(1),
                    Some(Value::String(s)) if s == "unlimited" => None,
                    Some(m) => Some(
                        m.as_u64()
                            .filter(|m| *m >= 1 && *m >= min)
                            .ok_or_else(|| DatumError(format!("bad \"max\" {}", short(m))))?,
                    ),
                };
                Ok(ColumnType {
                    key,
                    value,
                    min,
                    max,
                })
            }
            _ => err(format!("{} is not a column type", short(v))),
        }
    }

    fn check_size(&self, d: &Datum) -> Result<(), DatumError> {
        let n = d.len() as u64;
        if n < self.min || self.max.is_some_and(|m| n > m) {
            let max = self
                .max
                .map_or_else(|| "unlimited".to_owned(), |m| m.to_string());
            return err(format!(
                "{n} elements where {}..{max} are allowed",
                self.min
            ));
        }
        Ok(())
    }

    /// The value a column of this type has when a row omits it.
    pub fn default_datum(&self) -> Datum {
        if self.min == 0 {
            return if self.value.is_some() {
                Datum::Map(Vec::new())
            } else {
                Datum::empty()
            };
        }
        let atom = match self.key {
            AtomicType::Integer => Atom::Integer(0),
            AtomicType::Real => Atom::Real(0.0),
            AtomicType::Boolean => Atom::Boolean(false),
            AtomicType::String => Atom::String(String::new()),
            AtomicType::Uuid => Atom::Uuid(Uuid(0)),
        };
        match self.value {
            None => Datum::Set(vec![atom]),
            Some(_) => Datum::Map(Vec::new()),
        }
    }

    /// Parses an `update2` diff for this column and applies it to `old`.
    ///
    /// # Errors
    ///
    /// The diff is not of this type, or the result has too few or too many elements.
    pub fn apply_diff_json(&self, old: &Datum, diff: &Value) -> Result<Datum, DatumError> {
        let d = Datum::diff_from_json(diff, self)?;
        let new = old.apply_diff(&d, !self.is_composite());
        self.check_size(&new)?;
        Ok(new)
    }
}

#[cfg(test)]
mod tests;
