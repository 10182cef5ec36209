//! The OVSDB configuration source: a small client of a real `ovsdb-server` (RFC 7047 plus
//! the OVS extensions a switch uses), so that `ovs-vsctl` drives the switch unchanged.
//!
//! # Overview
//!
//! * [`codec`]: JSON-RPC 1.0 messages as bare JSON objects on a stream, split as bytes
//!   arrive.
//! * [`datum`]: OVSDB values (atoms, sets, maps, UUIDs, named UUIDs) to and from JSON, checked
//!   against column types, and the `update2` diff rules.
//! * [`replica`]: the monitored rows of the `Open_vSwitch`, `Bridge`, `Port`, `Interface`
//!   and `Controller` tables, updated whole-or-nothing, and turned into the same
//!   [`crate::Config`] as the TOML file gives.
//! * [`session`]: the connection (`unix:PATH`, `tcp:IP:PORT`): `get_schema`, the
//!   `ovs_vswitchd` lock, `monitor_cond` (or `monitor`), echo both ways, transactions,
//!   reconnection with backoff and full resynchronization.
//! * [`driver`]: the glue with a [`crate::Switch`], as OVS's `bridge_run`: reconfigure on
//!   each change while holding the lock, then write back `cur_cfg`, `ofport`/`error`, status,
//!   statistics and `datapath_id` in transactions that assert the lock.
//!
//! # Example
//!
//! ```no_run
//! use std::time::Instant;
//! use bridge::ovsdb::{Driver, Remote};
//! use netdev::poll::PollSet;
//!
//! let mut switch = bridge::Switch::with_ofproto_dpif(bridge::Registries::new());
//! let mut db = Driver::new(Remote::parse("unix:/var/run/openvswitch/db.sock")?);
//! loop {
//!     if let Some(report) = db.run(&mut switch, Instant::now()) {
//!         println!("reconfigured: {}", report.summary());
//!     }
//!     if switch.run(dpif::monotonic_ms()).is_some() {
//!         db.switch_changed();
//!     }
//!     let mut poll = PollSet::new();
//!     db.wait(&mut poll);
//!     switch.wait(&mut poll);
//!     poll.block()?;
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod codec;
pub mod datum;
pub mod driver;
pub mod replica;
pub mod session;

pub use codec::{CodecError, JsonReader, Message};
pub use datum::{Atom, AtomicType, ColumnType, Datum, DatumError, Uuid};
pub use driver::{ControllerStatus, ControllerStatusFn, Driver, switch_controller_status};
pub use replica::{Replica, Schema, UpdateKind};
pub use session::{Remote, Session};
