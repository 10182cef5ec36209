//! [`Driver`]: the OVSDB configuration source of a [`Switch`], as OVS's `bridge_run` does
//! it: apply the database's configuration, and write back what the switch did.
//!
//! # Applying
//!
//! While the session holds the `ovs_vswitchd` lock and has a replica of the current
//! connection, each change of the replica is turned into a [`Config`] and, if it differs
//! from the one in force, applied with [`Switch::reconfigure`]. Without the lock, or while
//! the server is away, nothing is applied: the switch keeps running with what it has.
//!
//! # Writing back
//!
//! After each change, and every [`STATUS_INTERVAL`], the driver compares what the switch
//! has with the database and sends one transaction of the differences (never more than one
//! in flight; each ends with `{"op": "assert", "lock": "ovs_vswitchd"}`):
//!
//! * `Open_vSwitch.cur_cfg = next_cfg`, in the same transaction as each new interface's
//!   `ofport` (`-1` and `error` when it failed), so that `ovs-vsctl` (which waits for
//!   `cur_cfg` and then reads `ofport`) sees both;
//! * `Open_vSwitch.datapath_types` and `iface_types` once per connection;
//! * `Bridge.datapath_id` (16 hex digits);
//! * `Interface.ifindex`, `mac_in_use`, `mtu`, `link_state`, `admin_state`, `status` when
//!   they change, and `statistics` every `other_config:stats-update-interval` ms (default
//!   and minimum 5000);
//! * `Controller.is_connected`, `role` and `status` (`state`, `sec_since_connect`, ...)
//!   from the bridges' OpenFlow connection managers ([`switch_controller_status`]; another
//!   source can be set with [`Driver::set_controller_status`]); the seconds counters are
//!   refreshed with the statistics.
//!
//! A transaction that fails (a row deleted meanwhile, the lock lost, the connection lost)
//! is not resent as it was: the differences are computed again against the fresh replica
//! after [`RETRY_INTERVAL`].

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use netdev::poll::PollSet;
use netdev::{Netdev, NetdevFlags};
use serde_json::{Map, Value, json};

use super::datum::{Atom, Datum, Uuid};
use super::replica::Replica;
use super::session::{Remote, Session};
use crate::{Config, ReconfigureReport, Switch};

/// How often interface status is compared with the database.
pub const STATUS_INTERVAL: Duration = Duration::from_secs(1);

/// The default and least statistics interval (`stats-update-interval`).
pub const STATS_INTERVAL: Duration = Duration::from_millis(5000);

/// How long after a failed transaction the write-back is tried again.
pub const RETRY_INTERVAL: Duration = Duration::from_millis(500);

/// What the switch knows of one controller connection, for the `Controller` row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ControllerStatus {
    /// `is_connected`.
    pub is_connected: bool,
    /// `role` while connected: `other`, `master` or `slave`.
    pub role: Option<String>,
    /// `status`: `state`, `sec_since_connect`, `last_error`, ...
    pub status: BTreeMap<String, String>,
}

/// Gives a controller's status from the switch: `(switch, bridge, target)`. `None` leaves
/// its row alone.
pub type ControllerStatusFn = Box<dyn Fn(&Switch, &str, &str) -> Option<ControllerStatus>>;

/// The default [`ControllerStatusFn`]: the bridge's OpenFlow connection manager
/// ([`Switch::controller_status`]), as OVS writes it: `status` holds `state` (`ACTIVE`,
/// `IDLE`, `BACKOFF`, `CONNECTING`, `VOID`), `sec_since_connect` or `sec_since_disconnect`,
/// and `last_error`.
pub fn switch_controller_status(
    switch: &Switch,
    bridge: &str,
    target: &str,
) -> Option<ControllerStatus> {
    let c = switch
        .controller_status(bridge)
        .into_iter()
        .find(|c| c.target == target)?;
    let mut status = BTreeMap::new();
    status.insert("state".to_owned(), c.state.name().to_owned());
    if let Some(s) = c.sec_since_connect {
        status.insert("sec_since_connect".to_owned(), s.to_string());
    }
    if let Some(s) = c.sec_since_disconnect {
        status.insert("sec_since_disconnect".to_owned(), s.to_string());
    }
    if let Some(e) = c.last_error {
        status.insert("last_error".to_owned(), e);
    }
    Some(ControllerStatus {
        is_connected: c.is_connected,
        role: c.is_connected.then(|| c.role.name().to_owned()),
        status,
    })
}

/// The OVSDB source of a switch. See the [module docs](self).
pub struct Driver {
    session: Session,
    /// The datapath types a bridge may have (`None`: any); others are skipped with a
    /// warning, as `dummy` is without `--enable-dummy`.
    datapath_types: Option<Vec<String>>,
    /// The configuration applied from the database.
    current: Option<Config>,
    applied_seqno: u64,
    conn_seqno: u64,
    /// The transaction in flight and the status values it writes.
    txn: Option<(u64, Written)>,
    dirty: bool,
    retry_at: Option<Instant>,
    next_status: Option<Instant>,
    next_stats: Option<Instant>,
    /// Columns written on this connection that are not monitored: table, row, column.
    written: Written,
    controller_status: ControllerStatusFn,
    /// The rows skipped when the configuration was last built, logged once each time they
    /// change.
    warnings: Vec<String>,
}

/// Values written per row and column; [`STATUS_VERSION`] records which device state the
/// status columns were taken from.
type Written = HashMap<(&'static str, Uuid), BTreeMap<&'static str, Datum>>;

/// The pseudo-column of [`Written`] holding the device and `change_seq` of the status
/// last written (never sent).
const STATUS_VERSION: &str = "_status_version";

/// The pseudo-column of [`Written`] holding a controller's status without its seconds
/// counters (never sent).
const CONTROLLER_VERSION: &str = "_controller_version";

impl std::fmt::Debug for Driver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Driver")
            .field("session", &self.session)
            .field("configured", &self.current.is_some())
            .finish_non_exhaustive()
    }
}

/// One `update` operation on row `uuid` of `table`.
fn update_op(table: &str, uuid: Uuid, row: Map<String, Value>) -> Value {
    json!({
        "op": "update",
        "table": table,
        "where": [["_uuid", "==", ["uuid", uuid.to_string()]]],
        "row": Value::Object(row),
    })
}

fn opt_int(v: Option<i64>) -> Datum {
    v.map_or_else(Datum::empty, Datum::scalar)
}

fn opt_str(v: Option<&str>) -> Datum {
    v.map_or_else(Datum::empty, Datum::scalar)
}

impl Driver {
    /// A driver for the database at `remote`; nothing happens before [`Driver::run`].
    pub fn new(remote: Remote) -> Driver {
        Driver {
            session: Session::new(remote),
            datapath_types: None,
            current: None,
            applied_seqno: 0,
            conn_seqno: 0,
            txn: None,
            dirty: false,
            retry_at: None,
            next_status: None,
            next_stats: None,
            written: HashMap::new(),
            controller_status: Box::new(switch_controller_status),
            warnings: Vec::new(),
        }
    }

    /// Limits bridges to datapath types `types`: a bridge of another type is skipped and
    /// logged (as `ovs-vswitchd` fails to create a `dummy` datapath without
    /// `--enable-dummy`). By default any type the switch has is taken.
    pub fn set_datapath_types(&mut self, types: Vec<String>) {
        self.datapath_types = Some(types);
    }

    /// The session.
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// The configuration applied from the database, once one was.
    pub fn current(&self) -> Option<&Config> {
        self.current.as_ref()
    }

    /// Whether a configuration from the database has been applied (with `--detach`, the
    /// daemon is ready then).
    pub fn is_configured(&self) -> bool {
        self.current.is_some()
    }

    /// Sets where controller status comes from (by default
    /// [`switch_controller_status`], the bridges' OpenFlow connection managers).
    pub fn set_controller_status(&mut self, f: ControllerStatusFn) {
        self.controller_status = f;
    }

    /// Says that the switch changed on its own (an interface vanished): the write-back is
    /// computed again at the next [`Driver::run`].
    pub fn switch_changed(&mut self) {
        self.dirty = true;
    }

    /// Runs the session; applies a changed configuration to `switch` (returning what that
    /// did); sends the write-back when due. Never blocks.
    pub fn run(&mut self, switch: &mut Switch, now: Instant) -> Option<ReconfigureReport> {
        self.session.run(now);
        for (id, outcome) in self.session.take_txn_results() {
            let Some((txn_id, written)) = self.txn.take() else {
                continue;
            };
            if txn_id != id {
                self.txn = Some((txn_id, written));
                continue;
            }
            let failure = match &outcome {
                Err(e) => Some(e.clone()),
                Ok(results) => results
                    .iter()
                    .find(|r| r.get("error").is_some_and(|e| !e.is_null()))
                    .map(Value::to_string),
            };
            match failure {
                None => {
                    for (k, cols) in written {
                        self.written.entry(k).or_default().extend(cols);
                    }
                }
                Some(e) => {
                    tracing::warn!(
                        "{}: write-back transaction failed ({e}); retrying",
                        self.session.remote()
                    );
                    self.dirty = true;
                    self.retry_at = Some(now + RETRY_INTERVAL);
                }
            }
        }
        if self.session.connection_seqno() != self.conn_seqno {
            self.conn_seqno = self.session.connection_seqno();
            self.written.clear();
            self.txn = None;
            self.dirty = true;
        }
        if !(self.session.has_lock() && self.session.is_synced()) {
            return None;
        }
        let replica = self.session.replica();
        self.written
            .retain(|(table, uuid), _| replica.row(table, uuid).is_some());
        let mut report = None;
        if self.session.seqno() != self.applied_seqno {
            self.applied_seqno = self.session.seqno();
            self.dirty = true;
            let (mut cfg, mut warnings) = self.session.replica().to_config().unwrap_or_default();
            if let Some(types) = &self.datapath_types {
                cfg.bridges.retain(|b| {
                    let ok = types.contains(&b.datapath_type);
                    if !ok {
                        warnings.push(format!(
                            "bridge {}: datapath type \"{}\" is not available (one of {})",
                            b.name,
                            b.datapath_type,
                            types.join(", ")
                        ));
                    }
                    ok
                });
            }
            if warnings != self.warnings {
                for w in &warnings {
                    tracing::warn!("database: {w}; skipped");
                }
                self.warnings = warnings;
            }
            if self.current.as_ref() != Some(&cfg) {
                let r = switch.reconfigure(&cfg);
                tracing::info!(
                    "{}: reconfigured from the database: {}",
                    self.session.remote(),
                    r.summary()
                );
                self.current = Some(cfg);
                report = Some(r);
            }
        }
        if self.next_status.is_none_or(|t| now >= t) {
            self.next_status = Some(now + STATUS_INTERVAL);
            self.dirty = true;
        }
        let stats_due = self.next_stats.is_none_or(|t| now >= t);
        let can_send = self.txn.is_none() && self.retry_at.is_none_or(|t| now >= t);
        if (self.dirty || stats_due) && can_send {
            self.dirty = false;
            self.retry_at = None;
            if stats_due {
                self.next_stats = Some(now + self.stats_interval());
            }
            let (ops, written) = self.write_back(switch, stats_due);
            if !ops.is_empty() {
                if let Some(id) = self.session.transact(ops) {
                    self.txn = Some((id, written));
                }
                // The socket may take the transaction at once.
                self.session.run(now);
            }
        }
        report
    }

    fn stats_interval(&self) -> Duration {
        let ms = self
            .current
            .as_ref()
            .and_then(|c| c.open_vswitch.other_config.get("stats-update-interval"))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
        Duration::from_millis(ms).max(STATS_INTERVAL)
    }

    /// Registers what the next [`Driver::run`] waits for.
    pub fn wait(&self, poll: &mut PollSet) {
        self.session.wait(poll);
        if self.session.has_lock() && self.session.is_synced() {
            if self.session.seqno() != self.applied_seqno
                || (self.dirty && self.txn.is_none() && self.retry_at.is_none())
            {
                poll.immediate_wake();
            }
            for t in [self.next_status, self.next_stats, self.retry_at]
                .into_iter()
                .flatten()
            {
                poll.timer_wait(t);
            }
        }
    }

    /// Adds `col = value` to `row` if `value` differs from what was last written.
    fn status_col(
        &self,
        key: (&'static str, Uuid),
        col: &'static str,
        value: Datum,
        row: &mut Map<String, Value>,
        written: &mut Written,
    ) {
        if self.written.get(&key).and_then(|c| c.get(col)) == Some(&value) {
            return;
        }
        row.insert(col.to_owned(), value.to_json());
        written.entry(key).or_default().insert(col, value);
    }

    /// Adds an interface's changed status columns to `row`. Nothing is asked of the device
    /// while its `change_seq` is the one whose status was written.
    fn iface_status(
        &self,
        key: (&'static str, Uuid),
        nd: Option<&dyn Netdev>,
        row: &mut Map<String, Value>,
        written: &mut Written,
    ) {
        let version = Datum::scalar(match nd {
            Some(d) => {
                let addr = std::ptr::from_ref(d).cast::<()>() as usize;
                format!("{addr:x}:{}", d.change_seq())
            }
            None => String::new(),
        });
        if self.written.get(&key).and_then(|c| c.get(STATUS_VERSION)) == Some(&version) {
            return;
        }
        written
            .entry(key)
            .or_default()
            .insert(STATUS_VERSION, version);
        let ifindex = opt_int(
            nd.and_then(|d| d.ifindex().ok())
                .filter(|i| *i > 0)
                .map(i64::from),
        );
        self.status_col(key, "ifindex", ifindex, row, written);
        let mac = nd.and_then(|d| d.etheraddr().ok()).map(|m| m.to_string());
        self.status_col(key, "mac_in_use", opt_str(mac.as_deref()), row, written);
        let mtu = opt_int(nd.and_then(|d| d.mtu().ok()).map(i64::from));
        self.status_col(key, "mtu", mtu, row, written);
        let up = |b: bool| if b { "up" } else { "down" };
        let link = nd.and_then(|d| d.carrier().ok()).map(up);
        self.status_col(key, "link_state", opt_str(link), row, written);
        let admin = nd
            .and_then(|d| d.flags().ok())
            .map(|f| up(f.contains(NetdevFlags::UP)));
        self.status_col(key, "admin_state", opt_str(admin), row, written);
        let status = nd.and_then(|d| d.status().ok()).unwrap_or_default();
        let status = Datum::string_map(status.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        self.status_col(key, "status", status, row, written);
    }

    /// Adds an interface's `statistics` to `row` if they changed.
    fn iface_stats(
        &self,
        key: (&'static str, Uuid),
        d: &dyn Netdev,
        row: &mut Map<String, Value>,
        written: &mut Written,
    ) {
        let s = d.stats().unwrap_or_default();
        let counters = [
            ("collisions", s.collisions),
            ("rx_bytes", s.rx_bytes),
            ("rx_crc_err", s.rx_crc_errors),
            ("rx_dropped", s.rx_dropped),
            ("rx_errors", s.rx_errors),
            ("rx_frame_err", s.rx_frame_errors),
            ("rx_missed_errors", s.rx_missed_errors),
            ("rx_over_err", s.rx_over_errors),
            ("rx_packets", s.rx_packets),
            ("tx_bytes", s.tx_bytes),
            ("tx_dropped", s.tx_dropped),
            ("tx_errors", s.tx_errors),
            ("tx_packets", s.tx_packets),
        ];
        // Unknown counters (u64::MAX) are left out, as OVS does.
        let map = Datum::map(counters.iter().filter_map(|(k, v)| {
            i64::try_from(*v)
                .ok()
                .map(|v| (Atom::from(*k), Atom::Integer(v)))
        }));
        self.status_col(key, "statistics", map, row, written);
    }

    /// The operations that bring the database in line with the switch, and the status
    /// values they write.
    fn write_back(&self, switch: &Switch, stats: bool) -> (Vec<Value>, Written) {
        let replica = self.session.replica();
        let mut ops = Vec::new();
        let mut written = Written::new();
        let Some((ovs_uuid, ovs)) = replica.ovs_row() else {
            return (ops, written);
        };
        let t = "Interface";
        for br_uuid in uuids(replica, "Open_vSwitch", ovs, "bridges") {
            let Some(br) = replica.row("Bridge", &br_uuid) else {
                continue;
            };
            let br_name = string(replica, "Bridge", br, "name");
            let mut brow = Map::new();
            if let Some(ofproto) = switch.ofproto(&br_name) {
                let dpid = format!("{:016x}", ofproto.datapath_id());
                if string(replica, "Bridge", br, "datapath_id") != dpid {
                    brow.insert("datapath_id".into(), dpid.into());
                }
            }
            if !brow.is_empty() {
                ops.push(update_op("Bridge", br_uuid, brow));
            }
            for c_uuid in uuids(replica, "Bridge", br, "controller") {
                let Some(c) = replica.row("Controller", &c_uuid) else {
                    continue;
                };
                let target = string(replica, "Controller", c, "target");
                let Some(st) = (self.controller_status)(switch, &br_name, &target) else {
                    continue;
                };
                let key = ("Controller", c_uuid);
                let mut row = Map::new();
                let connected = Datum::scalar(Atom::Boolean(st.is_connected));
                self.status_col(key, "is_connected", connected, &mut row, &mut written);
                let role = opt_str(st.role.as_deref());
                self.status_col(key, "role", role, &mut row, &mut written);
                // The seconds since (dis)connection tick: written with the statistics, or
                // when something else in the status changed.
                let stable = Datum::string_map(
                    st.status
                        .iter()
                        .filter(|(k, _)| !k.starts_with("sec_since_"))
                        .map(|(k, v)| (k.as_str(), v.as_str())),
                );
                if stats
                    || self
                        .written
                        .get(&key)
                        .and_then(|c| c.get(CONTROLLER_VERSION))
                        != Some(&stable)
                {
                    written
                        .entry(key)
                        .or_default()
                        .insert(CONTROLLER_VERSION, stable);
                    let status =
                        Datum::string_map(st.status.iter().map(|(k, v)| (k.as_str(), v.as_str())));
                    self.status_col(key, "status", status, &mut row, &mut written);
                }
                if !row.is_empty() {
                    ops.push(update_op("Controller", c_uuid, row));
                }
            }
            let bridge_error = switch.bridge_error(&br_name).map(str::to_owned);
            for p_uuid in uuids(replica, "Bridge", br, "ports") {
                let Some(p) = replica.row("Port", &p_uuid) else {
                    continue;
                };
                for i_uuid in uuids(replica, "Port", p, "interfaces") {
                    let Some(i) = replica.row(t, &i_uuid) else {
                        continue;
                    };
                    let name = string(replica, t, i, "name");
                    let mut row = Map::new();
                    let (ofport, error) = match switch.iface(&br_name, &name) {
                        Some(s) => (
                            s.ofport.map_or(-1, |p| i64::from(p.0)),
                            if s.ofport.is_some() { None } else { s.error },
                        ),
                        None => (
                            -1,
                            Some(bridge_error.clone().unwrap_or_else(|| {
                                format!(
                                    "interface {name} is not configured (see the \
                                     ovs-vswitchd log)"
                                )
                            })),
                        ),
                    };
                    let ofport = Datum::scalar(ofport);
                    if replica.get(t, i, "ofport") != ofport {
                        row.insert("ofport".into(), ofport.to_json());
                    }
                    let error = opt_str(error.as_deref());
                    if replica.get(t, i, "error") != error {
                        row.insert("error".into(), error.to_json());
                    }
                    let key = (t, i_uuid);
                    let nd = switch.iface_netdev(&br_name, &name);
                    let nd = nd.as_deref();
                    self.iface_status(key, nd, &mut row, &mut written);
                    if stats && let Some(d) = nd {
                        self.iface_stats(key, d, &mut row, &mut written);
                    }
                    if !row.is_empty() {
                        ops.push(update_op(t, i_uuid, row));
                    }
                }
            }
        }
        let mut orow = Map::new();
        let next_cfg = replica.get("Open_vSwitch", ovs, "next_cfg");
        if replica.get("Open_vSwitch", ovs, "cur_cfg") != next_cfg {
            orow.insert("cur_cfg".into(), next_cfg.to_json());
        }
        let types = switch.config_types();
        let key = ("Open_vSwitch", *ovs_uuid);
        let set = |v: &[String]| Datum::set(v.iter().map(|s| Atom::from(s.as_str())));
        self.status_col(
            key,
            "datapath_types",
            set(&types.datapath_types),
            &mut orow,
            &mut written,
        );
        self.status_col(
            key,
            "iface_types",
            set(&types.interface_types),
            &mut orow,
            &mut written,
        );
        if !orow.is_empty() {
            ops.push(update_op("Open_vSwitch", *ovs_uuid, orow));
        }
        (ops, written)
    }
}

fn uuids(r: &Replica, table: &str, row: &super::replica::Row, col: &str) -> Vec<Uuid> {
    r.get(table, row, col)
        .atoms()
        .iter()
        .filter_map(Atom::as_uuid)
        .collect()
}

fn string(r: &Replica, table: &str, row: &super::replica::Row, col: &str) -> String {
    r.get(table, row, col)
        .atoms()
        .first()
        .and_then(Atom::as_str)
        .unwrap_or_default()
        .to_owned()
}
