//! The OpenFlow connection manager of one bridge (OVS's `ofproto/connmgr.c`): the
//! management socket `ovs-ofctl` talks to, connections to controllers, and what goes over
//! them.
//!
//! # Overview
//!
//! A [`ConnMgr`] belongs to one bridge and is driven from the main loop: [`ConnMgr::wait`]
//! registers its sockets and timers in the [`PollSet`], [`ConnMgr::run`] does whatever is
//! ready without blocking (no thread per connection). It keeps:
//!
//! * the management listener `punix:<rundir>/<bridge>.mgmt` ([`ConnMgr::set_mgmt`]), where
//!   `ovs-ofctl show br0` connects; its connections are *service* connections
//!   ([`ConnKind::Service`]): they get no asynchronous messages unless they set a
//!   non-zero `miss_send_len`, and they do not count as controllers. It accepts every
//!   version the bridge allows, OpenFlow 1.0 (ovs-ofctl's default) included;
//! * the controllers ([`ConnMgr::set_controllers`]): active `tcp:IP:PORT` and `unix:PATH`
//!   targets that connect, and reconnect with a backoff of 1 s doubling to 8 s; passive
//!   `ptcp:` and `punix:` targets whose accepted connections are controllers too. Every
//!   controller connection is probed with an ECHO_REQUEST after 5 s of silence and dropped
//!   after another 5 s without an answer;
//! * the snoop listener `punix:<rundir>/<bridge>.snoop` ([`ConnMgr::set_snoop`]): a
//!   connection there (`ovs-ofctl snoop br0`) gets a copy of every message sent to or
//!   received from the controllers, as they travel (so it must speak their version); what
//!   it sends is ignored but for its HELLO and echo requests.
//!
//! # What each peer sees
//!
//! * HELLO with a version bitmap; the highest version both sides allow wins (OpenFlow 1.0
//!   and 1.3 here, restricted by the bridge's `protocols`). No common version: an
//!   `OFPET_HELLO_FAILED` error and the connection closes.
//! * Requests are answered in order, each completely before the next is read, so a
//!   BARRIER_REQUEST is answered at once. A request that fails gets an ERROR with its xid
//!   and the connection stays up; a message that cannot be framed (length under 8) ends it.
//! * `ovs-ofctl show` / `dump-ports-desc`: FEATURES_REPLY (the bridge's datapath id,
//!   254 tables, the ports for 1.0) and PORT_DESC, ports read from their devices (MAC,
//!   admin state, carrier, link features, speed).
//! * `add-flow`/`mod-flows`/`del-flows` (1.0 FLOW_MOD, Nicira NXT_FLOW_MOD, 1.3 FLOW_MOD):
//!   applied to the ofproto; `dump-flows`: each reply in its request's format, so
//!   `ovs-ofctl`'s default (NXT_SET_FLOW_FORMAT to NXM, then NXST_FLOW) gets NXST_FLOW
//!   with NXM matches, a plain OFPST_FLOW request OFPST_FLOW, and 1.3 OFPMP_FLOW;
//!   `dump-ports`, `dump-tables`, `dump-aggregate`, `dump-desc`, table features, groups
//!   alike; `mod-port` takes a port's device down or up; `monitor` (a management
//!   connection that sets a `miss_send_len`) gets packet-ins and port status.
//! * Flow-mods read in one [`ConnMgr::run`] take effect in forwarding together, at the end
//!   of the run or before a BARRIER_REPLY, whichever comes first
//!   ([`Ofproto::publish_flow_mods`]): `ovs-ofctl add-flows` of thousands of flows copies
//!   the tables once per batch, not once per flow.
//! * Controllers get PACKET_IN (unbuffered, truncated to the action's `max_len` or the
//!   connection's `miss_send_len`), PORT_STATUS when a port is added, deleted or changes
//!   (found by comparing the ports every run), and FLOW_REMOVED for rules with
//!   `send_flow_rem` that expire or are deleted. Slaves get only PORT_STATUS and cannot
//!   change anything (`OFPBRC_IS_SLAVE`, which OVS calls `OFPBRC_IS_SECONDARY`).
//!
//! # Fail mode
//!
//! With controllers configured and none connected, a `standalone` bridge switches as a
//! learning switch (fail-open, through [`Ofproto::set_fail_open`]); a `secure` one keeps
//! its flow table and sends nothing new anywhere. OpenFlow 1.0 controllers (and
//! management connections that asked for packet-ins) get table misses as packet-ins
//! ([`Ofproto::set_packet_in_on_miss`]); 1.3 ones get them only through a table-miss rule.
//!
//! # Status
//!
//! [`ConnMgr::controller_status`] reports each controller's connection state, role and
//! time since it connected, as OVSDB's `Controller` table publishes them.
//!
//! # Example
//!
//! A bridge's manager with its management socket and one controller, as the bridge layer
//! sets it up; the main loop then calls [`ConnMgr::wait`] and [`ConnMgr::run`] with the
//! bridge's ofproto and ports.
//!
//! ```
//! use ofproto::connmgr::{ConnMgr, ConnState};
//!
//! let dir = std::env::temp_dir().join(format!("connmgr-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! let mut mgr = ConnMgr::new("br0");
//! mgr.set_mgmt(Some(&dir.join("br0.mgmt"))).unwrap(); // where `ovs-ofctl show br0` looks
//! let refused = mgr.set_controllers(&["tcp:127.0.0.1:6653".into(), "ssl:10.0.0.1".into()]);
//! assert_eq!(refused, ["ssl:10.0.0.1: SSL connections are not supported"]);
//!
//! let status = mgr.controller_status(0);
//! assert_eq!(status[0].target, "tcp:127.0.0.1:6653");
//! assert!(!status[0].is_connected);
//! assert_eq!(status[0].state, ConnState::Backoff); // connects at the first `run`
//!
//! drop(mgr); // closes the connections and removes the socket
//! assert!(!dir.join("br0.mgmt").exists());
//! # std::fs::remove_dir_all(&dir).unwrap();
//! ```

mod conn;
mod handler;
mod ports;
pub mod rconn;
mod stream;
#[cfg(test)]
mod tests;
mod transport;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use netdev::Netdev;
use netdev::poll::{Interest, PollSet};

pub use conn::{ConnKind, DEFAULT_MISS_SEND_LEN, Role, allowed_versions};
pub use ports::port_desc;
pub use stream::{OFP_PORT, Target};
pub use transport::{TX_ASYNC_LIMIT, TX_LIMIT};

use crate::flow::OfpPort;
use crate::ofp::Version;
use crate::provider::{FailMode, Ofproto};
use conn::OfConn;
use handler::Effects;
use ports::PortTable;
use rconn::{Backoff, CONNECT_TIMEOUT_MS, PROBE_INTERVAL_MS, ProbeAction};
use stream::{Listener, Stream};
use transport::{Closed, Transport};

/// Most connections one listener keeps at once; more are refused.
pub const MAX_CONNS_PER_LISTENER: usize = 64;

/// The connection state of a controller, as OVS's `rconn` names it (`Controller.status:state`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ConnState {
    /// Not connected and not trying (a passive target with no connection).
    Void,
    /// Waiting before the next connection attempt.
    Backoff,
    /// Connecting.
    Connecting,
    /// Connected, and the peer spoke recently.
    Active,
    /// Connected, an echo request is out and unanswered.
    Idle,
}

impl ConnState {
    /// The name OVSDB shows (`ACTIVE`, `BACKOFF`, ...).
    pub fn name(self) -> &'static str {
        match self {
            ConnState::Void => "VOID",
            ConnState::Backoff => "BACKOFF",
            ConnState::Connecting => "CONNECTING",
            ConnState::Active => "ACTIVE",
            ConnState::Idle => "IDLE",
        }
    }
}

/// One controller's status, for OVSDB's `Controller` row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ControllerStatus {
    /// The target as configured.
    pub target: String,
    /// Whether a connection is up (HELLO exchanged).
    pub is_connected: bool,
    /// The role of the (first) connection.
    pub role: Role,
    /// The connection state.
    pub state: ConnState,
    /// Seconds since the connection came up, while it is up.
    pub sec_since_connect: Option<u64>,
    /// Seconds since it went down, once it has been up and is down.
    pub sec_since_disconnect: Option<u64>,
    /// The last error (a failed connect, a closed connection).
    pub last_error: Option<String>,
}

/// The state of an active controller link.
#[derive(Debug)]
enum Active {
    /// Waiting for the backoff to pass.
    Backoff,
    /// A connect in progress since `started_ms`.
    Connecting { stream: Stream, started_ms: u64 },
    /// Connected.
    Up(Box<OfConn>),
}

#[derive(Debug)]
enum Link {
    Active {
        state: Active,
        backoff: Backoff,
        disconnected_ms: Option<u64>,
    },
    Passive {
        listener: Option<Listener>,
        conns: Vec<OfConn>,
    },
}

/// One configured controller.
#[derive(Debug)]
struct Controller {
    /// As configured.
    target_str: String,
    target: Target,
    link: Link,
    last_error: Option<String>,
}

/// The connection manager of one bridge. See the [module docs](self).
#[derive(Debug)]
pub struct ConnMgr {
    bridge: String,
    /// Allowed versions, lowest first.
    allowed: Vec<Version>,
    mgmt: Option<Listener>,
    mgmt_path: Option<PathBuf>,
    service: Vec<OfConn>,
    snoop: Option<Listener>,
    snoop_path: Option<PathBuf>,
    /// Connections on the snoop socket: they see every message of the controllers.
    snoopers: Vec<OfConn>,
    controllers: Vec<Controller>,
    /// Targets that did not parse, with why.
    bad_targets: Vec<String>,
    fail_mode: FailMode,
    ports: PortTable,
    /// The ports were looked at once (the first look sends no PORT_STATUS).
    ports_seen: bool,
    /// The greatest generation id seen in a master or slave role request.
    generation_id: Option<u64>,
    probe_interval_ms: u64,
    /// What the ofproto was last told (to tell it only changes).
    told_fail_open: Option<bool>,
    told_packet_in_on_miss: Option<bool>,
    told_controllers: Option<bool>,
    /// Something is left to do at once (unread input, a state change).
    wake: bool,
    /// The id of the next connection.
    next_conn_id: u64,
    /// Bumped whenever a controller's connection state or role changes.
    status_seq: u64,
    /// The state and role of every controller at the end of the last run.
    last_status: Vec<(ConnState, Role)>,
}

impl ConnMgr {
    /// A connection manager for bridge `bridge` with no listener and no controller,
    /// allowing every supported version.
    pub fn new(bridge: &str) -> ConnMgr {
        ConnMgr {
            bridge: bridge.to_owned(),
            allowed: allowed_versions(&[]),
            mgmt: None,
            mgmt_path: None,
            service: Vec::new(),
            snoop: None,
            snoop_path: None,
            snoopers: Vec::new(),
            controllers: Vec::new(),
            bad_targets: Vec::new(),
            fail_mode: FailMode::Standalone,
            ports: PortTable::default(),
            ports_seen: false,
            generation_id: None,
            probe_interval_ms: PROBE_INTERVAL_MS,
            told_fail_open: None,
            told_packet_in_on_miss: None,
            told_controllers: None,
            wake: true,
            next_conn_id: 1,
            status_seq: 0,
            last_status: Vec::new(),
        }
    }

    /// The bridge's name.
    pub fn bridge(&self) -> &str {
        &self.bridge
    }

    /// Listens on `punix:PATH` for management connections (`None`: no listener). A stale
    /// socket file there is replaced; the file is removed when the listener goes (this call
    /// with another path, or the manager dropped).
    ///
    /// # Errors
    ///
    /// The socket error, as a message; there is no listener then.
    pub fn set_mgmt(&mut self, path: Option<&Path>) -> Result<(), String> {
        if self.mgmt_path.as_deref() == path && (self.mgmt.is_some() || path.is_none()) {
            return Ok(());
        }
        self.mgmt = None;
        self.mgmt_path = path.map(Path::to_path_buf);
        let Some(path) = path else { return Ok(()) };
        match Listener::bind(&Target::PUnix(path.to_path_buf())) {
            Ok(l) => {
                tracing::info!("{}: listening on punix:{}", self.bridge, path.display());
                self.mgmt = Some(l);
                Ok(())
            }
            Err(e) => Err(format!("{}: {e}", path.display())),
        }
    }

    /// Listens on `punix:PATH` for snoopers (`ovs-ofctl snoop`), who see a copy of every
    /// message exchanged with the controllers; `None`: no listener. Like
    /// [`ConnMgr::set_mgmt`].
    ///
    /// # Errors
    ///
    /// The socket error, as a message; there is no listener then.
    pub fn set_snoop(&mut self, path: Option<&Path>) -> Result<(), String> {
        if self.snoop_path.as_deref() == path && (self.snoop.is_some() || path.is_none()) {
            return Ok(());
        }
        self.snoop = None;
        self.snoopers.clear();
        self.snoop_path = path.map(Path::to_path_buf);
        let Some(path) = path else { return Ok(()) };
        match Listener::bind(&Target::PUnix(path.to_path_buf())) {
            Ok(l) => {
                self.snoop = Some(l);
                Ok(())
            }
            Err(e) => Err(format!("{}: {e}", path.display())),
        }
    }

    /// The management socket's path, while listening.
    pub fn mgmt_path(&self) -> Option<&Path> {
        self.mgmt.as_ref().and(self.mgmt_path.as_deref())
    }

    /// Sets the allowed OpenFlow versions (`Bridge.protocols`; empty: every supported
    /// one). Connections already up keep their version.
    pub fn set_protocols(&mut self, protocols: &[Version]) {
        self.allowed = allowed_versions(protocols);
    }

    /// Sets the fail mode (see the [module docs](self#fail-mode)).
    pub fn set_fail_mode(&mut self, mode: FailMode) {
        self.fail_mode = mode;
        self.told_fail_open = None;
        self.wake = true;
    }

    /// Sets the inactivity probe interval of controller connections (0 = never probe).
    pub fn set_probe_interval(&mut self, ms: u64) {
        self.probe_interval_ms = ms;
    }

    /// Sets the controller targets. Unchanged targets keep their connections; removed ones
    /// are closed; new ones start connecting (or listening) at the next `run`. Returns the
    /// targets refused, each with why.
    pub fn set_controllers(&mut self, targets: &[String]) -> Vec<String> {
        let mut old = std::mem::take(&mut self.controllers);
        let mut errors = Vec::new();
        for t in targets {
            if self.controllers.iter().any(|c| &c.target_str == t) {
                continue;
            }
            if let Some(i) = old.iter().position(|c| &c.target_str == t) {
                self.controllers.push(old.swap_remove(i));
                continue;
            }
            match Target::parse(t) {
                Ok(target) => {
                    let link = if target.is_passive() {
                        Link::Passive {
                            listener: None,
                            conns: Vec::new(),
                        }
                    } else {
                        Link::Active {
                            state: Active::Backoff,
                            backoff: Backoff::new(),
                            disconnected_ms: None,
                        }
                    };
                    tracing::info!("{}: added controller {t}", self.bridge);
                    self.controllers.push(Controller {
                        target_str: t.clone(),
                        target,
                        link,
                        last_error: None,
                    });
                }
                Err(e) => {
                    tracing::warn!("{}: controller {e}", self.bridge);
                    errors.push(e);
                }
            }
        }
        for c in old {
            tracing::info!("{}: removed controller {}", self.bridge, c.target_str);
        }
        self.bad_targets = errors.clone();
        self.told_fail_open = None;
        self.wake = true;
        errors
    }

    /// Whether any controller is configured.
    pub fn has_controllers(&self) -> bool {
        !self.controllers.is_empty()
    }

    /// Whether any controller connection is up.
    pub fn any_controller_connected(&self) -> bool {
        self.controllers.iter().any(|c| match &c.link {
            Link::Active { state, .. } => {
                matches!(state, Active::Up(conn) if conn.version().is_some())
            }
            Link::Passive { conns, .. } => conns.iter().any(|c| c.version().is_some()),
        })
    }

    /// Every controller's status, in configuration order.
    pub fn controller_status(&self, now_ms: u64) -> Vec<ControllerStatus> {
        let secs = |ms: u64| now_ms.saturating_sub(ms) / 1000;
        self.controllers
            .iter()
            .map(|c| {
                let (is_connected, role, state, since, down) = match &c.link {
                    Link::Active {
                        state,
                        disconnected_ms,
                        ..
                    } => match state {
                        Active::Backoff => (
                            false,
                            Role::Equal,
                            ConnState::Backoff,
                            None,
                            disconnected_ms.map(secs),
                        ),
                        Active::Connecting { .. } => (
                            false,
                            Role::Equal,
                            ConnState::Connecting,
                            None,
                            disconnected_ms.map(secs),
                        ),
                        Active::Up(conn) => (
                            conn.version().is_some(),
                            conn.role,
                            if conn.probe.idle_ms(now_ms) >= self.probe_interval_ms
                                && self.probe_interval_ms > 0
                            {
                                ConnState::Idle
                            } else {
                                ConnState::Active
                            },
                            Some(secs(conn.connected_ms)),
                            None,
                        ),
                    },
                    Link::Passive { conns, .. } => match conns.first() {
                        Some(conn) => (
                            conn.version().is_some(),
                            conn.role,
                            ConnState::Active,
                            Some(secs(conn.connected_ms)),
                            None,
                        ),
                        None => (false, Role::Equal, ConnState::Void, None, None),
                    },
                };
                ControllerStatus {
                    target: c.target_str.clone(),
                    is_connected,
                    role,
                    state,
                    sec_since_connect: since,
                    sec_since_disconnect: down,
                    last_error: c.last_error.clone(),
                }
            })
            .collect()
    }

    /// How many connections are up (management and controllers), for `memory/show`'s
    /// `ofconns`.
    pub fn n_conns(&self) -> usize {
        let ctrl: usize = self
            .controllers
            .iter()
            .map(|c| match &c.link {
                Link::Active { state, .. } => usize::from(matches!(state, Active::Up(_))),
                Link::Passive { conns, .. } => conns.len(),
            })
            .sum();
        ctrl + self.service.len() + self.snoopers.len()
    }

    /// Does whatever is ready: accepts connections, connects controllers, reads and answers
    /// messages, probes idle controllers, sends PORT_STATUS for port changes, and
    /// packet-ins and flow-removed from `ofproto`. `ports` are the bridge's working ports
    /// (local port included) with their devices. `now_ms` is the caller's monotonic clock.
    pub fn run(
        &mut self,
        ofproto: &mut dyn Ofproto,
        ports: &[(OfpPort, Arc<dyn Netdev>)],
        now_ms: u64,
    ) {
        self.wake = false;

        // Ports: diff against the last look; the first look only records.
        let changes = self.ports.update(ports, now_ms);
        if self.ports_seen {
            for (reason, desc) in &changes {
                self.for_each_conn(|conn| {
                    if conn.wants_async() {
                        handler::send_port_status(conn, *reason, desc);
                    }
                });
            }
        }
        self.ports_seen = true;

        self.accept_all(now_ms);
        self.connect_controllers(now_ms);
        let tapping = !self.snoopers.is_empty();
        self.for_each_controller_conn(|conn| {
            if tapping {
                conn.tap.get_or_insert_with(Vec::new);
            } else {
                conn.tap = None;
            }
        });

        // Connections: read, answer, probe.
        let mut effects = Effects::default();
        let probe_ms = self.probe_interval_ms;
        let ctx_bridge = self.bridge.clone();
        let mut cx = handler::Ctx {
            ofproto: &mut *ofproto,
            ports: &self.ports,
            netdevs: ports,
            generation_id: &mut self.generation_id,
            now_ms,
        };
        let mut wake = false;
        self.service.retain_mut(|conn| {
            match service_one(conn, &mut cx, &mut effects, now_ms, false) {
                Ok(more) => {
                    wake |= more;
                    true
                }
                Err(e) => {
                    log_close(&ctx_bridge, conn, &e);
                    false
                }
            }
        });
        for c in &mut self.controllers {
            match &mut c.link {
                Link::Passive { conns, .. } => conns.retain_mut(|conn| {
                    match service_one(conn, &mut cx, &mut effects, now_ms, probe_ms > 0) {
                        Ok(more) => {
                            wake |= more;
                            true
                        }
                        Err(e) => {
                            log_close(&ctx_bridge, conn, &e);
                            false
                        }
                    }
                }),
                Link::Active {
                    state,
                    backoff,
                    disconnected_ms,
                } => {
                    let Active::Up(conn) = state else { continue };
                    match service_one(conn, &mut cx, &mut effects, now_ms, probe_ms > 0) {
                        Ok(more) => wake |= more,
                        Err(e) => {
                            log_close(&ctx_bridge, conn, &e);
                            c.last_error = Some(e.to_string());
                            backoff.failed(now_ms, Some(conn.connected_ms));
                            *disconnected_ms = Some(now_ms);
                            *state = Active::Backoff;
                        }
                    }
                }
            }
        }
        self.wake |= wake;

        // One master at a time: a new master demotes the others.
        if let Some(id) = effects.new_master {
            self.for_each_conn(|conn| {
                if conn.role == conn::Role::Master && conn.id() != id {
                    conn.role = conn::Role::Slave;
                }
            });
        }
        // Rules deleted by a flow-mod: flow-removed to whoever wants it.
        for (rule, reason) in &effects.removed {
            self.for_each_conn(|conn| handler::send_flow_removed(conn, rule, *reason, now_ms));
        }
        // The batch of flow-mods just read takes effect together.
        ofproto.publish_flow_mods();
        handler::async_from_ofproto(self, ofproto, now_ms);
        self.run_snoopers(&mut wake);
        self.wake |= wake;

        self.tell_ofproto(ofproto);
        self.flush_all(now_ms);
        self.update_status_seq(now_ms);
    }

    /// A number that changes whenever a controller connects, disconnects, changes state
    /// or role, or controllers are added or removed: the OVSDB writer publishes
    /// [`ConnMgr::controller_status`] again when it moved.
    pub fn status_seq(&self) -> u64 {
        self.status_seq
    }

    fn update_status_seq(&mut self, now_ms: u64) {
        let now: Vec<(ConnState, Role)> = self
            .controller_status(now_ms)
            .into_iter()
            .map(|s| (s.state, s.role))
            .collect();
        if now != self.last_status {
            self.status_seq += 1;
            self.last_status = now;
        }
    }

    /// Tells the ofproto what depends on the connections: whether controllers are
    /// configured, fail-open, and whether table misses go to the controllers.
    fn tell_ofproto(&mut self, ofproto: &mut dyn Ofproto) {
        let configured = self.has_controllers();
        if self.told_controllers != Some(configured) {
            ofproto.set_controllers_configured(configured);
            self.told_controllers = Some(configured);
        }
        let fail_open = configured
            && self.fail_mode == FailMode::Standalone
            && !self.any_controller_connected();
        if self.told_fail_open != Some(fail_open) {
            if fail_open {
                tracing::info!(
                    "{}: no controller connected, failing open (standalone)",
                    self.bridge
                );
            }
            ofproto.set_fail_open(fail_open);
            self.told_fail_open = Some(fail_open);
        }
        let mut on_miss = false;
        self.for_each_conn_ref(|conn| {
            on_miss |= conn.wants_packet_in() && conn.version() == Some(Version::Of10);
        });
        if self.told_packet_in_on_miss != Some(on_miss) {
            ofproto.set_packet_in_on_miss(on_miss);
            self.told_packet_in_on_miss = Some(on_miss);
        }
    }

    /// Accepts pending connections on the management socket and passive controllers.
    fn accept_all(&mut self, now_ms: u64) {
        let allowed = &self.allowed;
        let ids = &mut self.next_conn_id;
        if let Some(l) = &self.mgmt {
            accept_into(
                l,
                &mut self.service,
                ConnKind::Service,
                allowed,
                0,
                &self.bridge,
                ids,
                now_ms,
            );
        }
        for c in &mut self.controllers {
            let Link::Passive { listener, conns } = &mut c.link else {
                continue;
            };
            if listener.is_none() {
                match Listener::bind(&c.target) {
                    Ok(l) => {
                        tracing::info!("{}: listening on {}", self.bridge, c.target);
                        c.last_error = None;
                        *listener = Some(l);
                    }
                    Err(e) => {
                        let msg = format!("{}: {e}", c.target);
                        if c.last_error.as_deref() != Some(&msg) {
                            tracing::warn!("{}: cannot listen: {msg}", self.bridge);
                        }
                        c.last_error = Some(msg);
                        continue;
                    }
                }
            }
            if let Some(l) = listener {
                accept_into(
                    l,
                    conns,
                    ConnKind::Primary,
                    allowed,
                    self.probe_interval_ms,
                    &self.bridge,
                    ids,
                    now_ms,
                );
            }
        }
    }

    /// Starts connects whose backoff passed and completes connects in progress.
    fn connect_controllers(&mut self, now_ms: u64) {
        for c in &mut self.controllers {
            let Link::Active {
                state,
                backoff,
                disconnected_ms,
            } = &mut c.link
            else {
                continue;
            };
            if matches!(state, Active::Backoff) && backoff.ready(now_ms) {
                match Stream::connect(&c.target) {
                    Ok((stream, _)) => {
                        tracing::debug!("{}: connecting to {}", self.bridge, c.target);
                        *state = Active::Connecting {
                            stream,
                            started_ms: now_ms,
                        };
                    }
                    Err(e) => {
                        fail_connect(
                            &self.bridge,
                            c.target_str.as_str(),
                            &mut c.last_error,
                            &e.to_string(),
                        );
                        backoff.failed(now_ms, None);
                        *disconnected_ms = disconnected_ms.or(Some(now_ms));
                    }
                }
            }
            let Active::Connecting { stream, started_ms } = state else {
                continue;
            };
            let result = stream.poll_connect();
            match result {
                Ok(true) => {
                    let Active::Connecting { stream, .. } =
                        std::mem::replace(state, Active::Backoff)
                    else {
                        continue;
                    };
                    tracing::info!("{}: connected to {}", self.bridge, c.target);
                    c.last_error = None;
                    let mut conn = OfConn::new(
                        self.next_conn_id,
                        Transport::new(stream),
                        ConnKind::Primary,
                        self.allowed.clone(),
                        self.probe_interval_ms,
                        format!("{}<->{}", self.bridge, c.target),
                        now_ms,
                    );
                    self.next_conn_id += 1;
                    handler::send_hello(&mut conn);
                    *state = Active::Up(Box::new(conn));
                    self.wake = true;
                }
                Ok(false) if now_ms.saturating_sub(*started_ms) < CONNECT_TIMEOUT_MS => {}
                Ok(false) => {
                    fail_connect(
                        &self.bridge,
                        c.target_str.as_str(),
                        &mut c.last_error,
                        "connection timed out",
                    );
                    backoff.failed(now_ms, None);
                    *state = Active::Backoff;
                }
                Err(e) => {
                    fail_connect(
                        &self.bridge,
                        c.target_str.as_str(),
                        &mut c.last_error,
                        &e.to_string(),
                    );
                    backoff.failed(now_ms, None);
                    *disconnected_ms = disconnected_ms.or(Some(now_ms));
                    *state = Active::Backoff;
                }
            }
        }
    }

    /// Writes what every connection has queued; drops those that fail.
    fn flush_all(&mut self, now_ms: u64) {
        let bridge = self.bridge.clone();
        for conns in [&mut self.service, &mut self.snoopers] {
            conns.retain_mut(|conn| match conn.transport.flush() {
                Ok(()) => true,
                Err(e) => {
                    log_close(&bridge, conn, &e);
                    false
                }
            });
        }
        for c in &mut self.controllers {
            match &mut c.link {
                Link::Passive { conns, .. } => {
                    conns.retain_mut(|conn| match conn.transport.flush() {
                        Ok(()) => true,
                        Err(e) => {
                            log_close(&bridge, conn, &e);
                            false
                        }
                    })
                }
                Link::Active {
                    state,
                    backoff,
                    disconnected_ms,
                } => {
                    let Active::Up(conn) = state else { continue };
                    if let Err(e) = conn.transport.flush() {
                        log_close(&bridge, conn, &e);
                        c.last_error = Some(e.to_string());
                        backoff.failed(now_ms, Some(conn.connected_ms));
                        *disconnected_ms = Some(now_ms);
                        *state = Active::Backoff;
                    }
                }
            }
        }
    }

    /// Calls `f` on every controller connection.
    fn for_each_controller_conn(&mut self, mut f: impl FnMut(&mut OfConn)) {
        for c in &mut self.controllers {
            match &mut c.link {
                Link::Passive { conns, .. } => conns.iter_mut().for_each(&mut f),
                Link::Active { state, .. } => {
                    if let Active::Up(conn) = state {
                        f(conn);
                    }
                }
            }
        }
    }

    /// Hands the controllers' tapped messages to the snoopers, and reads what the snoopers
    /// send (their HELLO and echo requests; anything else is ignored, as OVS ignores it).
    fn run_snoopers(&mut self, wake: &mut bool) {
        if let Some(l) = &self.snoop {
            let allowed = self.allowed.clone();
            accept_into(
                l,
                &mut self.snoopers,
                ConnKind::Service,
                &allowed,
                0,
                &self.bridge,
                &mut self.next_conn_id,
                0,
            );
        }
        let mut copies = Vec::new();
        self.for_each_controller_conn(|conn| {
            if let Some(t) = &mut conn.tap
                && !t.is_empty()
            {
                copies.push(std::mem::take(t));
            }
        });
        let bridge = self.bridge.clone();
        self.snoopers.retain_mut(|conn| {
            match handler::snooper_input(conn) {
                Ok(more) => *wake |= more,
                Err(e) => {
                    log_close(&bridge, conn, &e);
                    return false;
                }
            }
            if conn.version().is_some() {
                for c in &copies {
                    conn.send_async(c);
                }
            }
            true
        });
    }

    /// Calls `f` on every connection (management and controllers).
    fn for_each_conn(&mut self, mut f: impl FnMut(&mut OfConn)) {
        for conn in &mut self.service {
            f(conn);
        }
        for c in &mut self.controllers {
            match &mut c.link {
                Link::Passive { conns, .. } => conns.iter_mut().for_each(&mut f),
                Link::Active { state, .. } => {
                    if let Active::Up(conn) = state {
                        f(conn);
                    }
                }
            }
        }
    }

    /// Calls `f` on every connection, read-only.
    fn for_each_conn_ref(&self, mut f: impl FnMut(&OfConn)) {
        for conn in &self.service {
            f(conn);
        }
        for c in &self.controllers {
            match &c.link {
                Link::Passive { conns, .. } => conns.iter().for_each(&mut f),
                Link::Active { state, .. } => {
                    if let Active::Up(conn) = state {
                        f(conn);
                    }
                }
            }
        }
    }

    /// Registers in `poll` what the next [`ConnMgr::run`] waits for: the listeners, every
    /// connection (readable; writable while output is queued), connects in progress, and
    /// the backoff and probe deadlines.
    pub fn wait(&self, poll: &mut PollSet, now_ms: u64) {
        if self.wake {
            poll.immediate_wake();
        }
        let mut deadline: Option<u64> = None;
        let mut at = |t: u64| deadline = Some(deadline.map_or(t, |d| d.min(t)));
        if let Some(l) = &self.mgmt {
            poll.fd_wait(l.fd(), Interest::Read);
        }
        let conn_wait = |conn: &OfConn, poll: &mut PollSet, at: &mut dyn FnMut(u64)| {
            poll.fd_wait(conn.transport.fd(), Interest::Read);
            if conn.transport.queued() > 0 {
                poll.fd_wait(conn.transport.fd(), Interest::Write);
            }
            // Input left unread waits for the peer to read its replies first.
            if conn.transport.has_pending_input() && conn.transport.queued() <= TX_ASYNC_LIMIT {
                poll.immediate_wake();
            }
            if let Some(d) = conn.probe.deadline_ms() {
                at(d);
            }
        };
        if let Some(l) = &self.snoop {
            poll.fd_wait(l.fd(), Interest::Read);
        }
        for conn in self.service.iter().chain(&self.snoopers) {
            conn_wait(conn, poll, &mut at);
        }
        for c in &self.controllers {
            match &c.link {
                Link::Passive { listener, conns } => {
                    match listener {
                        Some(l) => poll.fd_wait(l.fd(), Interest::Read),
                        // Retry binding with the backoff's first delay.
                        None => at(now_ms.saturating_add(rconn::MIN_BACKOFF_MS)),
                    }
                    for conn in conns {
                        conn_wait(conn, poll, &mut at);
                    }
                }
                Link::Active { state, backoff, .. } => match state {
                    Active::Backoff => at(backoff.next_ms()),
                    Active::Connecting { stream, started_ms } => {
                        poll.fd_wait(stream.fd(), Interest::Write);
                        at(started_ms.saturating_add(CONNECT_TIMEOUT_MS));
                    }
                    Active::Up(conn) => conn_wait(conn, poll, &mut at),
                },
            }
        }
        if let Some(d) = deadline {
            poll.timer_wait_after(Duration::from_millis(d.saturating_sub(now_ms)));
        }
    }
}

/// Logs a failed connect once per distinct error.
fn fail_connect(bridge: &str, target: &str, last: &mut Option<String>, e: &str) {
    if last.as_deref() != Some(e) {
        tracing::warn!("{bridge}<->{target}: connection failed ({e})");
    }
    *last = Some(e.to_owned());
}

/// Logs a closed connection: at info when the peer closed, at warn otherwise.
fn log_close(bridge: &str, conn: &OfConn, e: &Closed) {
    match e {
        Closed::Eof => tracing::debug!("{}: {e}", conn.name),
        _ => tracing::warn!("{bridge}: {}: {e}", conn.name),
    }
}

/// Accepts what `l` has pending into `conns`, up to [`MAX_CONNS_PER_LISTENER`].
#[allow(clippy::too_many_arguments)]
fn accept_into(
    l: &Listener,
    conns: &mut Vec<OfConn>,
    kind: ConnKind,
    allowed: &[Version],
    probe_ms: u64,
    bridge: &str,
    next_id: &mut u64,
    now_ms: u64,
) {
    loop {
        match l.accept() {
            Ok(Some(stream)) => {
                if conns.len() >= MAX_CONNS_PER_LISTENER {
                    tracing::warn!(
                        "{bridge}: refusing a connection: {MAX_CONNS_PER_LISTENER} already open"
                    );
                    continue;
                }
                let name = format!("{bridge}<->{}", stream.peer_name());
                let mut conn = OfConn::new(
                    *next_id,
                    Transport::new(stream),
                    kind,
                    allowed.to_vec(),
                    probe_ms,
                    name,
                    now_ms,
                );
                *next_id += 1;
                handler::send_hello(&mut conn);
                conns.push(conn);
            }
            Ok(None) => return,
            Err(e) => {
                tracing::warn!("{bridge}: accept failed: {e}");
                return;
            }
        }
    }
}

/// Reads and handles what one connection has, then probes it. Returns whether more input
/// may be waiting.
fn service_one(
    conn: &mut OfConn,
    cx: &mut handler::Ctx<'_>,
    effects: &mut Effects,
    now_ms: u64,
    probe: bool,
) -> Result<bool, Closed> {
    // A peer that does not read its replies gets no more read from it until it does.
    let backlogged = conn.transport.queued() > TX_ASYNC_LIMIT;
    let filled = if backlogged {
        Ok(())
    } else {
        conn.transport.fill()
    };
    // Handle what arrived before an end of stream.
    let mut got = false;
    loop {
        if backlogged {
            break;
        }
        let msg = match conn.transport.next_message() {
            Ok(Some(m)) => m,
            Ok(None) => break,
            Err(Closed::BadLength(e)) => {
                // Say why before closing: the stream cannot be resynchronized.
                handler::send_decode_error(conn, &e);
                let _ = conn.transport.flush();
                return Err(Closed::BadLength(e));
            }
            Err(e) => return Err(e),
        };
        got = true;
        conn.tap_copy(&msg);
        handler::handle(conn, &msg, cx, effects)?;
        if conn.transport.queued() > TX_ASYNC_LIMIT {
            // Let the peer read before answering more.
            break;
        }
    }
    if got {
        conn.probe.received(now_ms);
    }
    filled?;
    if probe {
        match conn.probe_check(now_ms) {
            ProbeAction::None => {}
            ProbeAction::SendEcho => handler::send_echo_request(conn),
            ProbeAction::Disconnect => {
                return Err(Closed::Io(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!(
                        "no response to inactivity probe after {} seconds, disconnecting",
                        conn.probe.idle_ms(now_ms) / 1000
                    ),
                )));
            }
        }
    }
    Ok(conn.transport.has_pending_input() && conn.transport.queued() <= TX_ASYNC_LIMIT)
}

impl Drop for ConnMgr {
    fn drop(&mut self) {
        // The listeners remove their socket files; say so once.
        if let Some(p) = self.mgmt_path() {
            tracing::debug!("{}: removing {}", self.bridge, p.display());
        }
    }
}
