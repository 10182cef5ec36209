//! [`OfConn`]: one OpenFlow connection once its stream is up: HELLO exchange and version
//! negotiation, the inactivity probe, and the per-connection OpenFlow state (role,
//! `miss_send_len`, flow format) that message handling reads and changes.

use super::rconn::{Probe, ProbeAction};
use super::transport::{Closed, TX_ASYNC_LIMIT, Transport};
use crate::ofp::Version;
use crate::ofp::msg::FlowFormat;

/// What kind of connection this is (OVS's `enum ofconn_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ConnKind {
    /// A controller: from `BridgeConfig.controllers` (active, or accepted on a `ptcp:` or
    /// `punix:` controller target). Gets asynchronous messages; counts for fail-open.
    Primary,
    /// A management connection (the bridge's `.mgmt` socket, used by `ovs-ofctl`): gets
    /// asynchronous messages only after setting a non-zero `miss_send_len`.
    Service,
}

/// A controller role (OpenFlow 1.2+ `ofp_controller_role`, Nicira role for 1.0).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Role {
    /// Full access, shared with other equal controllers (`OFPCR_ROLE_EQUAL`, OVS's
    /// `other`).
    #[default]
    Equal,
    /// Full access; at most one master at a time (`OFPCR_ROLE_MASTER`).
    Master,
    /// Read-only, no packet-ins or flow-removed (`OFPCR_ROLE_SLAVE`).
    Slave,
}

impl Role {
    /// The name OVSDB's `Controller.role` uses.
    pub fn name(self) -> &'static str {
        match self {
            Role::Equal => "other",
            Role::Master => "master",
            Role::Slave => "slave",
        }
    }
}

/// OpenFlow's default `miss_send_len` (`OFP_DEFAULT_MISS_SEND_LEN`).
pub const DEFAULT_MISS_SEND_LEN: u16 = 128;

/// Where the HELLO exchange stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Our HELLO is sent; waiting for the peer's.
    Hello,
    /// Negotiated.
    Active(Version),
}

/// One OpenFlow connection. See the [module docs](self).
#[derive(Debug)]
pub(crate) struct OfConn {
    pub(crate) transport: Transport,
    pub(crate) kind: ConnKind,
    pub(crate) phase: Phase,
    /// Versions this side allows.
    pub(crate) allowed: Vec<Version>,
    pub(crate) probe: Probe,
    pub(crate) role: Role,
    pub(crate) miss_send_len: u16,
    /// The flow format the peer set (`NXT_SET_FLOW_FORMAT`). Replies follow their
    /// request's format (NXST_FLOW for NXST_FLOW); this is what Nicira flow-removed
    /// messages would follow, which the message layer does not encode yet.
    pub(crate) flow_format: FlowFormat,
    /// 1.0 flow-mods carry a table id (Nicira `NXT_FLOW_MOD_TABLE_ID`).
    pub(crate) flow_mod_table_id: bool,
    /// Unique within the process, to tell connections apart.
    id: u64,
    /// For logs: `br0<->unix`, `br0<->tcp:127.0.0.1:6653`.
    pub(crate) name: String,
    /// The next xid for messages this side starts (echo requests, async messages).
    next_xid: u32,
    /// Asynchronous messages dropped because the peer is slow.
    pub(crate) async_dropped: u64,
    /// When it came up.
    pub(crate) connected_ms: u64,
    /// While someone snoops: copies of the messages sent and received since the last run.
    pub(crate) tap: Option<Vec<u8>>,
}

impl OfConn {
    /// A connection over `transport` that came up at `now_ms`.
    pub(crate) fn new(
        id: u64,
        transport: Transport,
        kind: ConnKind,
        allowed: Vec<Version>,
        probe_interval_ms: u64,
        name: String,
        now_ms: u64,
    ) -> OfConn {
        OfConn {
            transport,
            kind,
            phase: Phase::Hello,
            allowed,
            probe: Probe::new(probe_interval_ms, now_ms),
            role: Role::Equal,
            miss_send_len: match kind {
                ConnKind::Primary => DEFAULT_MISS_SEND_LEN,
                ConnKind::Service => 0,
            },
            flow_format: FlowFormat::OpenFlow10,
            flow_mod_table_id: false,
            id,
            name,
            next_xid: 1,
            async_dropped: 0,
            connected_ms: now_ms,
            tap: None,
        }
    }

    /// The connection's id.
    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// The negotiated version, once the HELLOs are exchanged.
    pub(crate) fn version(&self) -> Option<Version> {
        match self.phase {
            Phase::Hello => None,
            Phase::Active(v) => Some(v),
        }
    }

    /// A fresh xid for a message this side starts.
    pub(crate) fn alloc_xid(&mut self) -> u32 {
        let x = self.next_xid;
        self.next_xid = self.next_xid.wrapping_add(1);
        x
    }

    /// Queues an encoded message.
    ///
    /// # Errors
    ///
    /// [`Closed::Overflow`] when the peer does not read.
    pub(crate) fn send(&mut self, bytes: &[u8]) -> Result<(), Closed> {
        self.transport.send(bytes)?;
        self.tap_copy(bytes);
        Ok(())
    }

    /// Copies `bytes` (whole messages sent or received) for the snoopers, while tapped.
    pub(crate) fn tap_copy(&mut self, bytes: &[u8]) {
        if let Some(t) = &mut self.tap
            && t.len() < TX_ASYNC_LIMIT
        {
            t.extend_from_slice(bytes);
        }
    }

    /// Queues an asynchronous message unless the peer is already behind, in which case it
    /// is dropped (and counted).
    pub(crate) fn send_async(&mut self, bytes: &[u8]) {
        if self.transport.queued() + bytes.len() > TX_ASYNC_LIMIT {
            self.async_dropped += 1;
            return;
        }
        // Cannot overflow: the async limit is below the hard limit.
        let _ = self.transport.send(bytes);
        self.tap_copy(bytes);
    }

    /// Whether asynchronous messages go to this connection at all (OVS's
    /// `ofconn_receives_async_msg`, simplified): negotiated, and a controller, or a
    /// management connection that asked for them with a non-zero `miss_send_len`.
    pub(crate) fn wants_async(&self) -> bool {
        self.version().is_some() && (self.kind == ConnKind::Primary || self.miss_send_len > 0)
    }

    /// Whether packet-ins and flow-removed go to this connection: it wants async
    /// messages and is not a slave.
    pub(crate) fn wants_packet_in(&self) -> bool {
        self.wants_async() && self.role != Role::Slave
    }

    /// The inactivity probe at `now_ms`.
    pub(crate) fn probe_check(&mut self, now_ms: u64) -> ProbeAction {
        self.probe.check(now_ms)
    }
}

/// The versions a `protocols` list allows, lowest first; empty means every supported one.
/// Versions this switch does not speak are left out.
pub fn allowed_versions(protocols: &[Version]) -> Vec<Version> {
    Version::SUPPORTED
        .into_iter()
        .filter(|v| protocols.is_empty() || protocols.contains(v))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocols_restrict_the_supported_versions() {
        assert_eq!(allowed_versions(&[]), [Version::Of10, Version::Of13]);
        assert_eq!(allowed_versions(&[Version::Of13]), [Version::Of13]);
        // Versions we do not speak are dropped from the list.
        assert!(allowed_versions(&[Version::Of14]).is_empty());
    }
}
