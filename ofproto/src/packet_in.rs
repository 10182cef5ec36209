//! [`PacketIn`]: a packet the switch hands to its controllers, before any wire encoding.

use crate::actions::PacketInReason;
use crate::flow::Flow;

/// A packet for the controllers (OVS's `ofputil_packet_in`): a table miss that the
/// table-miss rule sends to the controller, or a `controller` action.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PacketIn {
    /// The packet as it was when sent, whole (the connection manager truncates it to
    /// `max_len` or the connection's `miss_send_len`).
    pub packet: Vec<u8>,
    /// Why it was sent.
    pub reason: PacketInReason,
    /// The table of the rule that sent it.
    pub table_id: u8,
    /// The cookie of that rule (`u64::MAX` when none).
    pub cookie: u64,
    /// The packet's metadata fields (in_port, metadata, registers, tunnel) at the time: a
    /// packet-in's `match` carries the non-zero ones.
    pub metadata: Flow,
    /// Most bytes to send (`controller(max_len=...)`; 65535 = all).
    pub max_len: u16,
    /// The controller connection id to send to (0 = all).
    pub controller_id: u16,
    /// Opaque data of the `controller` action (`userdata=`).
    pub userdata: Option<Vec<u8>>,
}
