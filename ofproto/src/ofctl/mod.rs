//! The flow syntax of `ovs-ofctl` (`ovs-ofctl(8)`, `ovs-fields(7)`, `ovs-actions(7)`):
//! parsing flows, matches and actions from text ([`parse`]) and printing them back exactly
//! as `ovs-ofctl dump-flows`, `ovs-appctl bridge/dump-flows` and `ofproto/trace` do
//! ([`mod@format`]).
//!
//! ```
//! use ofproto::ofctl::{self, FlowModCommand};
//!
//! let fm = ofctl::parse_flow_mod(
//!     "priority=100,in_port=1,dl_type=0x0800,nw_dst=10.0.0.0/8,actions=output:2",
//!     FlowModCommand::Add,
//!     None,
//! )
//! .unwrap();
//! assert_eq!(fm.priority, 100);
//! assert_eq!(
//!     ofctl::format::match_to_string(&fm.match_, Some(fm.priority), None),
//!     "priority=100,ip,in_port=1,nw_dst=10.0.0.0/8"
//! );
//! assert_eq!(ofctl::format::actions_to_string(&fm.actions, None), "output:2");
//! ```

pub mod format;
pub mod parse;

use std::collections::HashMap;

use crate::flow::OfpPort;

pub use crate::table::{FlowMod, FlowModCommand};
pub use format::{actions_to_string, match_to_string};
pub use parse::{parse_actions, parse_flow, parse_flow_mod, parse_match};

/// A two-way map between port names and OpenFlow port numbers, for `in_port=p1` and
/// `output:p2` (what `ovs-ofctl --names` uses).
#[derive(Clone, Debug, Default)]
pub struct PortNames {
    by_name: HashMap<String, OfpPort>,
    by_port: HashMap<OfpPort, String>,
}

impl PortNames {
    /// An empty map.
    pub fn new() -> PortNames {
        PortNames::default()
    }

    /// Adds (or replaces) the name of `port`.
    pub fn insert(&mut self, name: impl Into<String>, port: OfpPort) {
        let name = name.into();
        if let Some(old) = self.by_port.insert(port, name.clone()) {
            self.by_name.remove(&old);
        }
        self.by_name.insert(name, port);
    }

    /// The port named `name`.
    pub fn port(&self, name: &str) -> Option<OfpPort> {
        self.by_name.get(name).copied()
    }

    /// The name of `port`.
    pub fn name(&self, port: OfpPort) -> Option<&str> {
        self.by_port.get(&port).map(String::as_str)
    }
}
