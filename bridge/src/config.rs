//! The desired configuration of the switch ([`Config`]) and its TOML file source.
//!
//! # Overview
//!
//! [`Config`] is shaped like OVS's `Open_vSwitch` database schema: one [`OvsConfig`] for the
//! global knobs (the `Open_vSwitch` table's `other_config`), a list of [`BridgeConfig`]s, each
//! with its [`PortConfig`]s, each with one or more [`InterfaceConfig`]s. Two sources produce
//! it: a TOML file ([`Config::from_toml_str`], [`Config::load`]) and OVSDB
//! ([`crate::ovsdb::Replica::to_config`]).
//!
//! # The file
//!
//! ```toml
//! [open_vswitch]
//! other_config = { flow-limit = "200000", max-idle = "10000" }
//! # (or `other_config = { ... }` at the top of the file, before any table)
//!
//! [[bridge]]
//! name = "br0"
//! datapath_type = "netdev"        # "netdev": userspace datapath; "system" (default): kernel
//! fail_mode = "standalone"        # the default; or "secure"
//! protocols = ["OpenFlow10", "OpenFlow13"]
//! controller = ["tcp:127.0.0.1:6653"]
//! other_config = { mac-aging-time = "300", mac-table-size = "8192" }
//!
//! [[bridge.port]]
//! name = "p1"                     # one interface of the same name, type "system", unless given
//! ofport_request = 1              # optional, 1..=65279
//! tag = 10                        # optional access VLAN; trunks = [10, 20] for a trunk port
//! vlan_mode = "access"            # access, trunk, native-tagged, native-untagged
//! interface = { type = "system", options = {}, mtu_request = 1500, mac = "02:00:00:00:00:01" }
//!
//! [[bridge.port]]
//! name = "bond0"                  # several interfaces: give each its name
//! interfaces = [ { name = "eth1" }, { name = "eth2" } ]
//! ```
//!
//! Values in `other_config` and `options` maps are strings, as in OVSDB; integers and
//! booleans are accepted and kept as their decimal text (`mtu = 1500` is `"1500"`).
//!
//! # Validation
//!
//! A file is accepted whole or not at all. [`ConfigError`] names the line and column and the
//! field of the first problem: TOML syntax, an unknown key, a missing `name`, an unknown
//! datapath or interface type (the caller passes the known ones in [`ConfigTypes`]), a bridge,
//! port or interface name used twice (port and interface names are global across bridges, as
//! in OVSDB), a name containing `/` or `\`, a VLAN tag or trunk outside 0..=4095, an
//! `ofport_request` outside 1..=65279, an unknown `fail_mode`, `vlan_mode` or OpenFlow version,
//! a malformed MAC address or controller target, or a patch port without a `peer`.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::ops::Range;
use std::path::Path;

use netdev::EthAddr;
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use toml::Spanned;

/// Highest OpenFlow port number that a configuration may request (`OFPP_MAX`, 0xfeff).
pub const OFPORT_MAX: u16 = 0xfeff;

/// Highest VLAN ID in a tag or trunk list.
pub const VLAN_MAX: u16 = 4095;

/// The OpenFlow version names accepted in a bridge's `protocols`, as OVSDB spells them.
pub const OPENFLOW_VERSIONS: [&str; 6] = [
    "OpenFlow10",
    "OpenFlow11",
    "OpenFlow12",
    "OpenFlow13",
    "OpenFlow14",
    "OpenFlow15",
];

/// Controller target schemes accepted in a bridge's `controller` list.
const CONTROLLER_SCHEMES: [&str; 6] = ["tcp", "ssl", "unix", "ptcp", "pssl", "punix"];

/// `other_config` keys whose values must be non-negative integers.
const NUMERIC_OTHER_CONFIG: [&str; 9] = [
    "flow-limit",
    "max-idle",
    "max-revalidator",
    "min-revalidate-pps",
    "n-handler-threads",
    "n-revalidator-threads",
    "mac-aging-time",
    "mac-table-size",
    "vlan-limit",
];

/// Interface types whose names are Linux interface names (at most 15 bytes).
const KERNEL_NAMED_TYPES: [&str; 3] = ["system", "internal", "tap"];

/// The datapath and interface types a configuration may name.
///
/// The caller passes what its registries know (`dpif` classes, `netdev` classes); the
/// default lists the types that this workspace provides (`dpdk` with the `dpdk` feature).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigTypes {
    /// Valid `datapath_type` values, e.g. `system`, `netdev`.
    pub datapath_types: Vec<String>,
    /// Valid interface `type` values, e.g. `system`, `internal`, `tap`, `dummy`, `patch`.
    pub interface_types: Vec<String>,
}

impl Default for ConfigTypes {
    fn default() -> Self {
        let s = |v: &[&str]| v.iter().map(|t| (*t).to_owned()).collect::<Vec<String>>();
        #[allow(unused_mut)]
        let mut interface_types = s(&[
            "system",
            "internal",
            "tap",
            "dummy",
            "dummy-internal",
            "dummy-pmd",
            "patch",
        ]);
        #[cfg(feature = "dpdk")]
        interface_types.push("dpdk".to_owned());
        ConfigTypes {
            datapath_types: s(&["system", "netdev"]),
            interface_types,
        }
    }
}

/// The whole desired configuration: global settings and bridges.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Config {
    /// Global settings (the `Open_vSwitch` table).
    pub open_vswitch: OvsConfig,
    /// The bridges, in file order.
    pub bridges: Vec<BridgeConfig>,
}

/// Global settings, like the `Open_vSwitch` table.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OvsConfig {
    /// `flow-limit`, `max-idle`, `n-handler-threads`, `n-revalidator-threads`,
    /// `pmd-cpu-mask`, ... as strings.
    pub other_config: BTreeMap<String, String>,
}

/// One bridge, like a row of the `Bridge` table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BridgeConfig {
    /// The bridge name (also the name of its local port).
    pub name: String,
    /// The datapath type: `system` (kernel datapath, the default) or `netdev` (userspace).
    pub datapath_type: String,
    /// What the bridge does without a controller.
    pub fail_mode: FailMode,
    /// Allowed OpenFlow versions (`OpenFlow10` ... `OpenFlow15`); empty means the default.
    pub protocols: Vec<String>,
    /// Controller targets, e.g. `tcp:127.0.0.1:6653`.
    pub controllers: Vec<String>,
    /// `mac-aging-time`, `mac-table-size`, `datapath-id`, ... as strings.
    pub other_config: BTreeMap<String, String>,
    /// The bridge's ports, in file order.
    pub ports: Vec<PortConfig>,
}

/// A bridge's `fail_mode`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum FailMode {
    /// Act as a learning switch when no controller is connected (OVS's default).
    #[default]
    Standalone,
    /// Never set up flows on its own.
    Secure,
}

impl FailMode {
    /// The name as OVSDB spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            FailMode::Standalone => "standalone",
            FailMode::Secure => "secure",
        }
    }
}

/// One port, like a row of the `Port` table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortConfig {
    /// The port name.
    pub name: String,
    /// Access VLAN (or native VLAN for the native modes).
    pub tag: Option<u16>,
    /// Trunked VLANs; empty means all VLANs for a trunk port.
    pub trunks: Vec<u16>,
    /// The VLAN mode; `None` picks it from `tag` and `trunks` as OVS does.
    pub vlan_mode: Option<VlanMode>,
    /// Port `other_config`, as strings.
    pub other_config: BTreeMap<String, String>,
    /// The interfaces: one for an ordinary port, several for a bond. Never empty.
    pub interfaces: Vec<InterfaceConfig>,
}

/// A port's `vlan_mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum VlanMode {
    /// Untagged port in VLAN `tag`.
    Access,
    /// Tagged port carrying `trunks`.
    Trunk,
    /// Trunk whose native VLAN `tag` is sent tagged.
    NativeTagged,
    /// Trunk whose native VLAN `tag` is sent untagged.
    NativeUntagged,
}

impl VlanMode {
    /// The name as OVSDB spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            VlanMode::Access => "access",
            VlanMode::Trunk => "trunk",
            VlanMode::NativeTagged => "native-tagged",
            VlanMode::NativeUntagged => "native-untagged",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<VlanMode> {
        Some(match s {
            "access" => VlanMode::Access,
            "trunk" => VlanMode::Trunk,
            "native-tagged" => VlanMode::NativeTagged,
            "native-untagged" => VlanMode::NativeUntagged,
            _ => return None,
        })
    }
}

/// One interface, like a row of the `Interface` table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InterfaceConfig {
    /// The interface (network device) name.
    pub name: String,
    /// The netdev type: `system` (the default), `internal`, `tap`, `dummy`, `patch`, ...
    pub type_: String,
    /// Type-specific options, e.g. `peer` for a patch port.
    pub options: BTreeMap<String, String>,
    /// The OpenFlow port number wanted, 1..=65279.
    pub ofport_request: Option<u16>,
    /// The MTU wanted.
    pub mtu_request: Option<u32>,
    /// The MAC address wanted (internal ports).
    pub mac: Option<EthAddr>,
    /// Interface `other_config`, as strings.
    pub other_config: BTreeMap<String, String>,
}

impl InterfaceConfig {
    /// An interface named `name` of type `system` with nothing else set.
    pub fn new(name: impl Into<String>) -> Self {
        InterfaceConfig {
            name: name.into(),
            type_: "system".to_owned(),
            options: BTreeMap::new(),
            ofport_request: None,
            mtu_request: None,
            mac: None,
            other_config: BTreeMap::new(),
        }
    }
}

/// Why a configuration text was rejected: where, which field, and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// 1-based line of the offending text (0 if unknown).
    pub line: usize,
    /// 1-based column, in characters (0 if unknown).
    pub column: usize,
    /// Where in the model: `bridge "br0", port "p1"`; empty at top level.
    pub context: String,
    /// The field, e.g. `tag`; empty for a syntax error.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(f, "line {}, column {}: ", self.line, self.column)?;
        }
        if !self.context.is_empty() {
            write!(f, "{}: ", self.context)?;
        }
        if !self.field.is_empty() {
            write!(f, "{}: ", self.field)?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// Parses and validates a TOML configuration.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming the line, column and field of the first problem.
    pub fn from_toml_str(text: &str, types: &ConfigTypes) -> Result<Config, ConfigError> {
        let raw: RawFile = toml::from_str(text).map_err(|e| {
            let (line, column) = e.span().map_or((0, 0), |s| line_col(text, s.start));
            ConfigError {
                line,
                column,
                context: String::new(),
                field: String::new(),
                message: e.message().trim_end().to_owned(),
            }
        })?;
        Validator {
            text,
            types,
            ports: HashMap::new(),
            ifaces: HashMap::new(),
        }
        .file(raw)
    }

    /// Reads and validates the TOML configuration file at `path`.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Io`] if the file cannot be read, [`crate::Error::Config`] if it is not
    /// a valid configuration.
    pub fn load(path: &Path, types: &ConfigTypes) -> Result<Config, crate::Error> {
        let text = std::fs::read_to_string(path).map_err(|source| crate::Error::Io {
            op: "read",
            path: path.to_owned(),
            source,
        })?;
        Config::from_toml_str(&text, types).map_err(|error| crate::Error::Config {
            path: path.to_owned(),
            error,
        })
    }

    /// Writes the configuration as TOML that [`Config::from_toml_str`] reads back to an equal
    /// `Config`. Every port is written with an explicit `interfaces` list.
    pub fn to_toml_string(&self) -> String {
        let mut root = toml::Table::new();
        if !self.open_vswitch.other_config.is_empty() {
            let mut ovs = toml::Table::new();
            ovs.insert(
                "other_config".into(),
                map_value(&self.open_vswitch.other_config),
            );
            root.insert("open_vswitch".into(), toml::Value::Table(ovs));
        }
        let bridges: Vec<toml::Value> = self.bridges.iter().map(bridge_value).collect();
        if !bridges.is_empty() {
            root.insert("bridge".into(), toml::Value::Array(bridges));
        }
        // Serializing a table of strings, integers, arrays and tables cannot fail.
        toml::to_string(&root).unwrap_or_default()
    }

    /// The number of ports over all bridges.
    pub fn n_ports(&self) -> usize {
        self.bridges.iter().map(|b| b.ports.len()).sum()
    }
}

fn str_value(s: &str) -> toml::Value {
    toml::Value::String(s.to_owned())
}

fn map_value(map: &BTreeMap<String, String>) -> toml::Value {
    toml::Value::Table(map.iter().map(|(k, v)| (k.clone(), str_value(v))).collect())
}

fn bridge_value(b: &BridgeConfig) -> toml::Value {
    let mut t = toml::Table::new();
    t.insert("name".into(), str_value(&b.name));
    t.insert("datapath_type".into(), str_value(&b.datapath_type));
    t.insert("fail_mode".into(), str_value(b.fail_mode.as_str()));
    if !b.protocols.is_empty() {
        let v = b.protocols.iter().map(|p| str_value(p)).collect();
        t.insert("protocols".into(), toml::Value::Array(v));
    }
    if !b.controllers.is_empty() {
        let v = b.controllers.iter().map(|c| str_value(c)).collect();
        t.insert("controller".into(), toml::Value::Array(v));
    }
    if !b.other_config.is_empty() {
        t.insert("other_config".into(), map_value(&b.other_config));
    }
    let ports: Vec<toml::Value> = b.ports.iter().map(port_value).collect();
    if !ports.is_empty() {
        t.insert("port".into(), toml::Value::Array(ports));
    }
    toml::Value::Table(t)
}

fn port_value(p: &PortConfig) -> toml::Value {
    let mut t = toml::Table::new();
    t.insert("name".into(), str_value(&p.name));
    if let Some(tag) = p.tag {
        t.insert("tag".into(), toml::Value::Integer(i64::from(tag)));
    }
    if !p.trunks.is_empty() {
        let v = p
            .trunks
            .iter()
            .map(|v| toml::Value::Integer(i64::from(*v)))
            .collect();
        t.insert("trunks".into(), toml::Value::Array(v));
    }
    if let Some(mode) = p.vlan_mode {
        t.insert("vlan_mode".into(), str_value(mode.as_str()));
    }
    if !p.other_config.is_empty() {
        t.insert("other_config".into(), map_value(&p.other_config));
    }
    let ifaces = p.interfaces.iter().map(iface_value).collect();
    t.insert("interfaces".into(), toml::Value::Array(ifaces));
    toml::Value::Table(t)
}

fn iface_value(i: &InterfaceConfig) -> toml::Value {
    let mut t = toml::Table::new();
    t.insert("name".into(), str_value(&i.name));
    t.insert("type".into(), str_value(&i.type_));
    if !i.options.is_empty() {
        t.insert("options".into(), map_value(&i.options));
    }
    if let Some(o) = i.ofport_request {
        t.insert("ofport_request".into(), toml::Value::Integer(i64::from(o)));
    }
    if let Some(m) = i.mtu_request {
        t.insert("mtu_request".into(), toml::Value::Integer(i64::from(m)));
    }
    if let Some(mac) = i.mac {
        t.insert("mac".into(), str_value(&mac.to_string()));
    }
    if !i.other_config.is_empty() {
        t.insert("other_config".into(), map_value(&i.other_config));
    }
    toml::Value::Table(t)
}

/// 1-based line and character column of byte `offset` in `text`.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

// ---------------------------------------------------------------------------------------
// The file as written, with spans, before validation.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    /// The same map as `[open_vswitch] other_config`, written at the top level.
    other_config: Option<RawMap>,
    open_vswitch: Option<RawOvs>,
    #[serde(default)]
    bridge: Vec<Spanned<RawBridge>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOvs {
    other_config: Option<RawMap>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBridge {
    name: Spanned<String>,
    datapath_type: Option<Spanned<String>>,
    fail_mode: Option<Spanned<String>>,
    #[serde(default)]
    protocols: Vec<Spanned<String>>,
    #[serde(default)]
    controller: Vec<Spanned<String>>,
    other_config: Option<RawMap>,
    #[serde(default)]
    port: Vec<Spanned<RawPort>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPort {
    name: Spanned<String>,
    ofport_request: Option<Spanned<i64>>,
    tag: Option<Spanned<i64>>,
    trunks: Option<Vec<Spanned<i64>>>,
    vlan_mode: Option<Spanned<String>>,
    other_config: Option<RawMap>,
    interface: Option<Spanned<RawIface>>,
    interfaces: Option<Spanned<Vec<Spanned<RawIface>>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIface {
    name: Option<Spanned<String>>,
    #[serde(rename = "type")]
    type_: Option<Spanned<String>>,
    options: Option<RawMap>,
    ofport_request: Option<Spanned<i64>>,
    mtu_request: Option<Spanned<i64>>,
    mac: Option<Spanned<String>>,
    other_config: Option<RawMap>,
}

type RawMap = Spanned<BTreeMap<String, Spanned<Scalar>>>;

/// A map value: a string, or an integer, float or boolean kept as its text.
struct Scalar(String);

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string, integer or boolean")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar(v.to_owned()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

// ---------------------------------------------------------------------------------------
// Validation: raw -> model.

struct Validator<'a> {
    text: &'a str,
    types: &'a ConfigTypes,
    /// Port name -> line of its first use.
    ports: HashMap<String, usize>,
    /// Interface name -> line of its first use.
    ifaces: HashMap<String, usize>,
}

impl Validator<'_> {
    fn err(&self, span: Range<usize>, context: &str, field: &str, msg: String) -> ConfigError {
        let (line, column) = line_col(self.text, span.start);
        ConfigError {
            line,
            column,
            context: context.to_owned(),
            field: field.to_owned(),
            message: msg,
        }
    }

    fn line(&self, span: &Range<usize>) -> usize {
        line_col(self.text, span.start).0
    }

    fn file(mut self, raw: RawFile) -> Result<Config, ConfigError> {
        let mut config = Config::default();
        if let Some(ovs) = raw.open_vswitch {
            config.open_vswitch.other_config =
                self.map(ovs.other_config, "open_vswitch", "other_config", true)?;
        }
        if let Some(top) = raw.other_config {
            let span = top.span();
            for (k, v) in self.map(Some(top), "", "other_config", true)? {
                if config.open_vswitch.other_config.contains_key(&k) {
                    return Err(self.err(
                        span,
                        "",
                        &format!("other_config:{k}"),
                        "given both at the top level and in [open_vswitch]".to_owned(),
                    ));
                }
                config.open_vswitch.other_config.insert(k, v);
            }
        }
        let mut bridges: HashMap<String, usize> = HashMap::new();
        for b in raw.bridge {
            let span = b.span();
            let b = b.into_inner();
            let name = self.name(&b.name, "", "bridge", "name")?;
            if let Some(first) = bridges.get(&name) {
                return Err(self.err(
                    b.name.span(),
                    "",
                    "bridge name",
                    format!("duplicate bridge \"{name}\" (first defined at line {first})"),
                ));
            }
            bridges.insert(name.clone(), self.line(&span));
            let bridge = self.bridge(name, b)?;
            config.bridges.push(bridge);
        }
        Ok(config)
    }

    fn name(
        &self,
        name: &Spanned<String>,
        context: &str,
        what: &str,
        field: &str,
    ) -> Result<String, ConfigError> {
        let n = name.get_ref();
        let bad = if n.is_empty() {
            Some(format!("{what} name must not be empty"))
        } else if n.contains('/') || n.contains('\\') {
            Some(format!("{what} name \"{n}\" must not contain '/' or '\\'"))
        } else if n.chars().any(char::is_control) {
            Some(format!(
                "{what} name {n:?} must not contain control characters"
            ))
        } else {
            None
        };
        match bad {
            Some(msg) => Err(self.err(name.span(), context, field, msg)),
            None => Ok(n.clone()),
        }
    }

    fn map(
        &self,
        map: Option<RawMap>,
        context: &str,
        field: &str,
        check_numeric: bool,
    ) -> Result<BTreeMap<String, String>, ConfigError> {
        let Some(map) = map else {
            return Ok(BTreeMap::new());
        };
        let mut out = BTreeMap::new();
        for (k, v) in map.into_inner() {
            let span = v.span();
            let value = v.into_inner().0;
            if check_numeric
                && NUMERIC_OTHER_CONFIG.contains(&k.as_str())
                && value.parse::<u32>().is_err()
            {
                return Err(self.err(
                    span,
                    context,
                    &format!("{field}:{k}"),
                    format!("\"{value}\" is not a non-negative integer"),
                ));
            }
            out.insert(k, value);
        }
        Ok(out)
    }

    fn bridge(&mut self, name: String, b: RawBridge) -> Result<BridgeConfig, ConfigError> {
        let ctx = format!("bridge \"{name}\"");
        let datapath_type = match &b.datapath_type {
            None => "system".to_owned(),
            Some(t) if t.get_ref().is_empty() => "system".to_owned(),
            Some(t) => {
                let t_str = t.get_ref();
                if !self.types.datapath_types.iter().any(|x| x == t_str) {
                    return Err(self.err(
                        t.span(),
                        &ctx,
                        "datapath_type",
                        format!(
                            "unknown datapath type \"{t_str}\" (known: {})",
                            self.types.datapath_types.join(", ")
                        ),
                    ));
                }
                t_str.clone()
            }
        };
        let fail_mode = match &b.fail_mode {
            None => FailMode::Standalone,
            Some(m) => match m.get_ref().as_str() {
                "standalone" | "" => FailMode::Standalone,
                "secure" => FailMode::Secure,
                other => {
                    return Err(self.err(
                        m.span(),
                        &ctx,
                        "fail_mode",
                        format!("unknown fail mode \"{other}\" (use standalone or secure)"),
                    ));
                }
            },
        };
        let mut protocols = Vec::new();
        for p in &b.protocols {
            if !OPENFLOW_VERSIONS.contains(&p.get_ref().as_str()) {
                return Err(self.err(
                    p.span(),
                    &ctx,
                    "protocols",
                    format!(
                        "unknown OpenFlow version \"{}\" (known: {})",
                        p.get_ref(),
                        OPENFLOW_VERSIONS.join(", ")
                    ),
                ));
            }
            protocols.push(p.get_ref().clone());
        }
        let mut controllers = Vec::new();
        for c in &b.controller {
            let target = c.get_ref();
            let ok = target
                .split_once(':')
                .is_some_and(|(scheme, _)| CONTROLLER_SCHEMES.contains(&scheme));
            if !ok {
                return Err(self.err(
                    c.span(),
                    &ctx,
                    "controller",
                    format!(
                        "\"{target}\" is not a controller target \
                         (tcp:IP[:PORT], ssl:IP[:PORT], unix:FILE, ptcp:..., pssl:..., punix:FILE)"
                    ),
                ));
            }
            controllers.push(target.clone());
        }
        let other_config = self.map(b.other_config, &ctx, "other_config", true)?;
        let mut ports = Vec::new();
        for p in b.port {
            let span = p.span();
            let p = p.into_inner();
            let pname = self.name(&p.name, &ctx, "port", "port name")?;
            if let Some(first) = self.ports.get(&pname) {
                return Err(self.err(
                    p.name.span(),
                    &ctx,
                    "port name",
                    format!("duplicate port \"{pname}\" (first defined at line {first})"),
                ));
            }
            self.ports.insert(pname.clone(), self.line(&span));
            ports.push(self.port(&ctx, pname, p)?);
        }
        Ok(BridgeConfig {
            name,
            datapath_type,
            fail_mode,
            protocols,
            controllers,
            other_config,
            ports,
        })
    }

    fn vlan(&self, v: &Spanned<i64>, ctx: &str, field: &str) -> Result<u16, ConfigError> {
        u16::try_from(*v.get_ref())
            .ok()
            .filter(|x| *x <= VLAN_MAX)
            .ok_or_else(|| {
                self.err(
                    v.span(),
                    ctx,
                    field,
                    format!("VLAN {} is out of range 0..=4095", v.get_ref()),
                )
            })
    }

    fn ofport(&self, v: &Spanned<i64>, ctx: &str) -> Result<u16, ConfigError> {
        u16::try_from(*v.get_ref())
            .ok()
            .filter(|x| (1..=OFPORT_MAX).contains(x))
            .ok_or_else(|| {
                self.err(
                    v.span(),
                    ctx,
                    "ofport_request",
                    format!("{} is out of range 1..=65279", v.get_ref()),
                )
            })
    }

    fn port(&mut self, bctx: &str, name: String, p: RawPort) -> Result<PortConfig, ConfigError> {
        let ctx = format!("{bctx}, port \"{name}\"");
        let tag = p
            .tag
            .as_ref()
            .map(|t| self.vlan(t, &ctx, "tag"))
            .transpose()?;
        let mut trunks = Vec::new();
        for t in p.trunks.iter().flatten() {
            trunks.push(self.vlan(t, &ctx, "trunks")?);
        }
        let vlan_mode = match &p.vlan_mode {
            None => None,
            Some(m) => Some(VlanMode::parse(m.get_ref()).ok_or_else(|| {
                self.err(
                    m.span(),
                    &ctx,
                    "vlan_mode",
                    format!(
                        "unknown VLAN mode \"{}\" (use access, trunk, native-tagged or \
                         native-untagged)",
                        m.get_ref()
                    ),
                )
            })?),
        };
        let other_config = self.map(p.other_config, &ctx, "other_config", false)?;
        let raw_ifaces: Vec<Spanned<RawIface>> = match (p.interface, p.interfaces) {
            (Some(_), Some(list)) => {
                return Err(self.err(
                    list.span(),
                    &ctx,
                    "interfaces",
                    "give either \"interface\" or \"interfaces\", not both".to_owned(),
                ));
            }
            (Some(one), None) => vec![one],
            (None, Some(list)) => {
                if list.get_ref().is_empty() {
                    return Err(self.err(
                        list.span(),
                        &ctx,
                        "interfaces",
                        "a port needs at least one interface".to_owned(),
                    ));
                }
                list.into_inner()
            }
            (None, None) => Vec::new(),
        };
        let port_ofport = p
            .ofport_request
            .as_ref()
            .map(|o| self.ofport(o, &ctx))
            .transpose()?;
        if let (Some(o), true) = (&p.ofport_request, raw_ifaces.len() > 1) {
            return Err(self.err(
                o.span(),
                &ctx,
                "ofport_request",
                "a port with several interfaces takes ofport_request on each interface".to_owned(),
            ));
        }
        let mut interfaces = Vec::new();
        if raw_ifaces.is_empty() {
            let mut iface = InterfaceConfig::new(name.clone());
            iface.ofport_request = port_ofport;
            self.claim_iface(&iface.name, p.name.span(), &ctx)?;
            interfaces.push(iface);
        } else {
            let single = raw_ifaces.len() == 1;
            for ri in raw_ifaces {
                let span = ri.span();
                let ri = ri.into_inner();
                let mut iface = self.iface(&ctx, &name, single, span, ri)?;
                if let Some(o) = port_ofport {
                    if iface.ofport_request.is_some() {
                        let span = p.ofport_request.as_ref().map_or(0..0, Spanned::span);
                        return Err(self.err(
                            span,
                            &ctx,
                            "ofport_request",
                            "given both on the port and on its interface".to_owned(),
                        ));
                    }
                    iface.ofport_request = Some(o);
                }
                interfaces.push(iface);
            }
        }
        Ok(PortConfig {
            name,
            tag,
            trunks,
            vlan_mode,
            other_config,
            interfaces,
        })
    }

    fn claim_iface(
        &mut self,
        name: &str,
        span: Range<usize>,
        ctx: &str,
    ) -> Result<(), ConfigError> {
        if let Some(first) = self.ifaces.get(name) {
            return Err(self.err(
                span,
                ctx,
                "interface name",
                format!("duplicate interface \"{name}\" (first defined at line {first})"),
            ));
        }
        let line = self.line(&span);
        self.ifaces.insert(name.to_owned(), line);
        Ok(())
    }

    fn iface(
        &mut self,
        pctx: &str,
        port_name: &str,
        single: bool,
        span: Range<usize>,
        ri: RawIface,
    ) -> Result<InterfaceConfig, ConfigError> {
        let (name, name_span) = match &ri.name {
            Some(n) => (self.name(n, pctx, "interface", "interface name")?, n.span()),
            None if single => (port_name.to_owned(), span.clone()),
            None => {
                return Err(self.err(
                    span,
                    pctx,
                    "interfaces",
                    "each interface of a port with several interfaces needs a name".to_owned(),
                ));
            }
        };
        let ctx = format!("{pctx}, interface \"{name}\"");
        let type_ = match &ri.type_ {
            None => "system".to_owned(),
            Some(t) if t.get_ref().is_empty() => "system".to_owned(),
            Some(t) => {
                let t_str = t.get_ref();
                if !self.types.interface_types.iter().any(|x| x == t_str) {
                    return Err(self.err(
                        t.span(),
                        &ctx,
                        "type",
                        format!(
                            "unknown interface type \"{t_str}\" (known: {})",
                            self.types.interface_types.join(", ")
                        ),
                    ));
                }
                t_str.clone()
            }
        };
        if KERNEL_NAMED_TYPES.contains(&type_.as_str()) && name.len() > 15 {
            return Err(self.err(
                name_span,
                &ctx,
                "interface name",
                format!("\"{name}\" is longer than 15 bytes, the limit of a Linux device name"),
            ));
        }
        self.claim_iface(&name, name_span, &ctx)?;
        let options_span = ri.options.as_ref().map_or(span.clone(), Spanned::span);
        let options = self.map(ri.options, &ctx, "options", false)?;
        if type_ == "patch" {
            match options.get("peer") {
                None => {
                    return Err(self.err(
                        options_span,
                        &ctx,
                        "options",
                        "a patch interface needs options:peer".to_owned(),
                    ));
                }
                Some(peer) if *peer == name => {
                    return Err(self.err(
                        options_span,
                        &ctx,
                        "options:peer",
                        "a patch interface cannot be its own peer".to_owned(),
                    ));
                }
                Some(_) => {}
            }
        }
        let ofport_request = ri
            .ofport_request
            .as_ref()
            .map(|o| self.ofport(o, &ctx))
            .transpose()?;
        let mtu_request = match &ri.mtu_request {
            None => None,
            Some(m) => Some(
                u32::try_from(*m.get_ref())
                    .ok()
                    .filter(|x| (1..=65535).contains(x))
                    .ok_or_else(|| {
                        self.err(
                            m.span(),
                            &ctx,
                            "mtu_request",
                            format!("{} is out of range 1..=65535", m.get_ref()),
                        )
                    })?,
            ),
        };
        let mac = match &ri.mac {
            None => None,
            Some(m) => Some(
                m.get_ref()
                    .parse::<EthAddr>()
                    .map_err(|e| self.err(m.span(), &ctx, "mac", e.to_string()))?,
            ),
        };
        let other_config = self.map(ri.other_config, &ctx, "other_config", false)?;
        Ok(InterfaceConfig {
            name,
            type_,
            options,
            ofport_request,
            mtu_request,
            mac,
            other_config,
        })
    }
}

#[cfg(test)]
mod tests;
