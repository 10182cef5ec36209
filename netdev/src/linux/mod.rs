//! netdev-linux: the `system`, `tap` and `internal` device classes.
//!
//! * `system`: an existing kernel interface, reached through an `AF_PACKET` socket.
//! * `tap`: a `/dev/net/tun` TAP device, created if missing.
//! * `internal`: the bridge's own port on the userspace datapath, a TAP device named after
//!   the port.

use std::sync::Arc;

use crate::provider::NetdevClass;

/// The Linux classes: `system`, `tap` and `internal`.
pub fn classes() -> Vec<Arc<dyn NetdevClass>> {
    Vec::new()
}
