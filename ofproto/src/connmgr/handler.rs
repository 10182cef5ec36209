//! What the switch does with each OpenFlow message (OVS's `handle_openflow` in
//! `ofproto.c`), and the asynchronous messages it sends (packet-in, port-status,
//! flow-removed).
//!
//! Every request is handled to completion before the next is read, so replies go out in
//! order and a barrier is answered at once. A request that fails is answered with an ERROR
//! carrying its xid; only a failed HELLO exchange closes the connection.

use std::sync::Arc;

use netdev::{Netdev, NetdevFlags, Packet};

use super::conn::{OfConn, Phase, Role};
use super::ports::{OFPPC_PORT_DOWN, PortTable};
use super::transport::Closed;
use crate::actions::PacketInReason;
use crate::error::{Error, OfpError};
use crate::flow::OfpPort;
use crate::ofp::Version;
use crate::ofp::msg::{
    self, AggregateStats, DecodeOptions, ErrorMsg, FeaturesReply, FlowRemoved, FlowStats,
    FlowStatsRequest, Hello, Msg, MultipartReply, MultipartReplyBody, MultipartRequest, NO_BUFFER,
    PacketInMsg, PortDesc, PortReason, PortStats, PortStatus, RoleMsg, SwitchConfig, SwitchDesc,
    TableFeatureSet, TableFeatures, TableStats, capabilities,
};
use crate::packet_in::PacketIn;
use crate::provider::Ofproto;
use crate::rule::{FlowModFlags, RemovedReason, Rule};
use crate::table::RuleQuery;

/// Tables a features reply announces (OVS: 254, table 254 being hidden).
pub(crate) const N_TABLES: u8 = 254;
/// `OFPRRFC_STALE`: a master/slave role request with an old generation id.
const RRFC_STALE: OfpError = OfpError {
    type_: 11,
    code: 0,
    name: "OFPRRFC_STALE",
};
/// `OFPPMFC_BAD_PORT`: a port-mod for a port that does not exist.
const PMFC_BAD_PORT: OfpError = OfpError {
    type_: 7,
    code: 0,
    name: "OFPPMFC_BAD_PORT",
};
/// `OFPPMFC_BAD_HW_ADDR`: a port-mod whose hardware address is not the port's.
const PMFC_BAD_HW_ADDR: OfpError = OfpError {
    type_: 7,
    code: 1,
    name: "OFPPMFC_BAD_HW_ADDR",
};
/// `OFPBRC_EPERM`, for failures that have no better code.
const EPERM: OfpError = OfpError::BRC_EPERM;
/// `OFPCML_NO_BUFFER`: send the whole packet.
const NO_TRUNCATE: u16 = 0xffff;
/// All `OFPFW10_*` wildcard bits.
const OFPFW10_ALL: u32 = (1 << 22) - 1;

/// What message handling needs from the bridge.
pub(crate) struct Ctx<'a> {
    pub(crate) ofproto: &'a mut dyn Ofproto,
    pub(crate) ports: &'a PortTable,
    pub(crate) netdevs: &'a [(OfpPort, Arc<dyn Netdev>)],
    /// The greatest master-election generation id seen.
    pub(crate) generation_id: &'a mut Option<u64>,
    pub(crate) now_ms: u64,
}

/// What handling a message did that concerns other connections.
#[derive(Debug, Default)]
pub(crate) struct Effects {
    /// This connection became master: the others that are master become slaves.
    pub(crate) new_master: Option<u64>,
    /// Rules a flow-mod removed (for flow-removed messages).
    pub(crate) removed: Vec<(Arc<Rule>, RemovedReason)>,
}

/// Encodes `m` in the connection's version and queues it. A message the version cannot
/// express is logged and dropped.
fn send(conn: &mut OfConn, xid: u32, m: &Msg) -> Result<(), Closed> {
    let Some(v) = conn.version() else {
        return Ok(());
    };
    let mut buf = Vec::new();
    match msg::encode(v, xid, m, &mut buf) {
        Ok(()) => conn.send(&buf),
        Err(e) => {
            tracing::warn!("{}: cannot encode {}: {e}", conn.name, m.name());
            Ok(())
        }
    }
}

/// Sends the reply `m` to request `raw`; if the version cannot express it, an ERROR
/// instead.
fn reply(conn: &mut OfConn, xid: u32, m: &Msg, raw: &[u8]) -> Result<(), Closed> {
    let Some(v) = conn.version() else {
        return Ok(());
    };
    let mut buf = Vec::new();
    match msg::encode(v, xid, m, &mut buf) {
        Ok(()) => conn.send(&buf),
        Err(e) => {
            tracing::debug!("{}: cannot encode {}: {e}", conn.name, m.name());
            send_error(conn, xid, e, raw)
        }
    }
}

/// Sends an ERROR for request `raw`.
fn send_error(conn: &mut OfConn, xid: u32, e: OfpError, raw: &[u8]) -> Result<(), Closed> {
    tracing::debug!("{}: replying {} (xid {xid:#x})", conn.name, e.name);
    send(conn, xid, &Msg::Error(ErrorMsg::reply_to(e, raw)))
}

/// Sends the ERROR a message that could not be framed deserves (its header as data).
pub(crate) fn send_decode_error(conn: &mut OfConn, e: &msg::DecodeError) {
    let v = conn
        .version()
        .unwrap_or_else(|| Hello::for_versions(&conn.allowed).0);
    let mut buf = Vec::new();
    let m = Msg::Error(ErrorMsg {
        error: e.error,
        data: Vec::new(),
    });
    if msg::encode(v, e.xid, &m, &mut buf).is_ok() {
        let _ = conn.send(&buf);
    }
}

/// The OpenFlow error for an ofproto error.
fn ofp_error(e: &Error) -> OfpError {
    e.ofp_error().unwrap_or(EPERM)
}

/// Queues our HELLO (in the highest allowed version, with a bitmap for 1.1+).
pub(crate) fn send_hello(conn: &mut OfConn) {
    let (v, hello) = Hello::for_versions(&conn.allowed);
    let xid = conn.alloc_xid();
    let mut buf = Vec::new();
    if msg::encode(v, xid, &Msg::Hello(hello), &mut buf).is_ok() {
        // A fresh connection has an empty queue: this cannot overflow.
        let _ = conn.send(&buf);
    }
}

/// Queues an ECHO_REQUEST (the inactivity probe).
pub(crate) fn send_echo_request(conn: &mut OfConn) {
    tracing::debug!("{}: idle, sending inactivity probe", conn.name);
    let xid = conn.alloc_xid();
    let _ = send(conn, xid, &Msg::EchoRequest(Vec::new()));
}

/// Queues a PORT_STATUS.
pub(crate) fn send_port_status(conn: &mut OfConn, reason: PortReason, desc: &PortDesc) {
    let Some(v) = conn.version() else { return };
    let xid = conn.alloc_xid();
    let mut buf = Vec::new();
    let m = Msg::PortStatus(PortStatus {
        reason,
        desc: desc.clone(),
    });
    if msg::encode(v, xid, &m, &mut buf).is_ok() {
        conn.send_async(&buf);
    }
}

/// Queues a FLOW_REMOVED for `rule` if the connection wants one: the rule asked for it
/// (`send_flow_rem`), and the connection gets packet-ins (not a slave, and a controller or
/// a management connection that asked).
pub(crate) fn send_flow_removed(
    conn: &mut OfConn,
    rule: &Rule,
    reason: RemovedReason,
    now_ms: u64,
) {
    if reason == RemovedReason::Replaced
        || !rule.flags.contains(FlowModFlags::SEND_FLOW_REM)
        || !conn.wants_packet_in()
    {
        return;
    }
    let Some(v) = conn.version() else { return };
    if v == Version::Of10 && reason == RemovedReason::GroupDelete {
        return;
    }
    let st = rule.stats();
    let age = now_ms.saturating_sub(rule.created_ms);
    let m = Msg::FlowRemoved(FlowRemoved {
        match_: rule.match_,
        cookie: rule.cookie,
        priority: u16::try_from(rule.priority).unwrap_or(u16::MAX),
        reason,
        table_id: rule.table_id,
        duration_sec: u32::try_from(age / 1000).unwrap_or(u32::MAX),
        duration_nsec: u32::try_from((age % 1000) * 1_000_000).unwrap_or(0),
        idle_timeout: rule.idle_timeout,
        hard_timeout: rule.hard_timeout,
        packet_count: st.packets,
        byte_count: st.bytes,
    });
    let xid = conn.alloc_xid();
    let mut buf = Vec::new();
    match msg::encode(v, xid, &m, &mut buf) {
        Ok(()) => conn.send_async(&buf),
        Err(e) => tracing::debug!("{}: cannot encode flow-removed: {e}", conn.name),
    }
}

/// Queues a PACKET_IN if the connection wants it: truncated to the action's `max_len`, or
/// for an implicit table miss (OpenFlow 1.0 connections only) to the connection's
/// `miss_send_len`.
pub(crate) fn send_packet_in(conn: &mut OfConn, pin: &PacketIn) {
    if !conn.wants_packet_in() {
        return;
    }
    let Some(v) = conn.version() else { return };
    let (reason, max_len) = match pin.reason {
        PacketInReason::ImplicitMiss => {
            if v >= Version::Of13 {
                return;
            }
            (PacketInReason::NoMatch, conn.miss_send_len)
        }
        PacketInReason::ExplicitMiss => (PacketInReason::NoMatch, pin.max_len),
        r => (r, pin.max_len),
    };
    if max_len == 0 {
        return;
    }
    let n = if max_len == NO_TRUNCATE {
        pin.packet.len()
    } else {
        pin.packet.len().min(usize::from(max_len))
    };
    let m = Msg::PacketIn(PacketInMsg {
        buffer_id: NO_BUFFER,
        total_len: u16::try_from(pin.packet.len()).unwrap_or(u16::MAX),
        reason,
        table_id: pin.table_id,
        cookie: pin.cookie,
        match_: packet_in_match(pin),
        data: pin.packet[..n].to_vec(),
    });
    let xid = conn.alloc_xid();
    let mut buf = Vec::new();
    match msg::encode(v, xid, &m, &mut buf) {
        Ok(()) => conn.send_async(&buf),
        Err(e) => tracing::debug!("{}: cannot encode packet-in: {e}", conn.name),
    }
}

/// The metadata match of a packet-in: in_port, and the other metadata fields that are not
/// zero.
fn packet_in_match(pin: &PacketIn) -> crate::matching::Match {
    let mut m = crate::matching::Match::catchall();
    m.set_in_port(pin.metadata.in_port());
    let md = pin.metadata.metadata();
    if md != 0 {
        m.set_metadata_masked(md, u64::MAX);
    }
    for i in 0..crate::flow::N_REGS {
        let r = pin.metadata.reg(i);
        if r != 0 {
            m.set_reg_masked(i, r, u32::MAX);
        }
    }
    m
}

/// Reads what a snooper sent: its HELLO, and echo requests, which are answered; anything
/// else is dropped. Returns whether more input may be waiting.
///
/// # Errors
///
/// [`Closed`] when the connection must close.
pub(crate) fn snooper_input(conn: &mut OfConn) -> Result<bool, Closed> {
    let filled = conn.transport.fill();
    while let Some(raw) = conn.transport.next_message()? {
        match conn.phase {
            Phase::Hello => handle_hello(conn, &raw)?,
            Phase::Active(_) => {
                if let Ok((h, Msg::EchoRequest(data))) = msg::decode(&raw) {
                    send(conn, h.xid, &Msg::EchoReply(data))?;
                }
            }
        }
    }
    filled?;
    Ok(conn.transport.has_pending_input())
}

/// Handles one whole message `raw` received on `conn`.
///
/// # Errors
///
/// [`Closed`] when the connection must close (a failed HELLO exchange, or the output
/// queue overflowing).
pub(crate) fn handle(
    conn: &mut OfConn,
    raw: &[u8],
    cx: &mut Ctx<'_>,
    effects: &mut Effects,
) -> Result<(), Closed> {
    match conn.phase {
        Phase::Hello => handle_hello(conn, raw),
        Phase::Active(v) => handle_active(conn, v, raw, cx, effects),
    }
}

/// The first message must be a HELLO with a version both sides allow.
fn handle_hello(conn: &mut OfConn, raw: &[u8]) -> Result<(), Closed> {
    let (ours, _) = Hello::for_versions(&conn.allowed);
    let (h, hello) = match msg::decode(raw) {
        Ok((h, Msg::Hello(hello))) => (h, hello),
        Ok((h, other)) => {
            let text = format!("{}: expected HELLO, received {}", conn.name, other.name());
            return fail_hello(conn, ours, h.xid, text);
        }
        Err(e) => {
            let text = format!("{}: expected HELLO: {e}", conn.name);
            return fail_hello(conn, ours, e.xid, text);
        }
    };
    match msg::negotiate(&conn.allowed, h.version, &hello) {
        Ok(v) => {
            tracing::debug!("{}: negotiated {}", conn.name, v.name());
            conn.phase = Phase::Active(v);
            Ok(())
        }
        Err(_) => {
            let err = ErrorMsg::hello_failed(&conn.allowed, h.version, &hello);
            let mut buf = Vec::new();
            if msg::encode(ours, h.xid, &Msg::Error(err.clone()), &mut buf).is_ok() {
                let _ = conn.send(&buf);
                // Best effort: the peer should see why before the close.
                let _ = conn.transport.flush();
            }
            let text = String::from_utf8_lossy(&err.data).into_owned();
            Err(Closed::Io(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("version negotiation failed: {text}"),
            )))
        }
    }
}

fn fail_hello(conn: &mut OfConn, ours: Version, xid: u32, text: String) -> Result<(), Closed> {
    let err = ErrorMsg {
        error: OfpError::HFC_INCOMPATIBLE,
        data: text.clone().into_bytes(),
    };
    let mut buf = Vec::new();
    if msg::encode(ours, xid, &Msg::Error(err), &mut buf).is_ok() {
        let _ = conn.send(&buf);
        let _ = conn.transport.flush();
    }
    Err(Closed::Io(std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        text,
    )))
}

fn handle_active(
    conn: &mut OfConn,
    v: Version,
    raw: &[u8],
    cx: &mut Ctx<'_>,
    effects: &mut Effects,
) -> Result<(), Closed> {
    let opts = DecodeOptions {
        flow_mod_table_id: conn.flow_mod_table_id,
    };
    let (h, m) = match msg::decode_with(raw, opts) {
        Ok(x) => x,
        Err(e) => {
            tracing::debug!("{}: {e}", conn.name);
            return send_error(conn, e.xid, e.error, raw);
        }
    };
    let xid = h.xid;
    if h.version != v.wire() && !matches!(m, Msg::Hello(_)) {
        return send_error(conn, xid, OfpError::BRC_BAD_VERSION, raw);
    }
    let slave = conn.role == Role::Slave;
    match m {
        Msg::Hello(_) | Msg::EchoReply(_) | Msg::BarrierReply => Ok(()),
        Msg::Error(e) => {
            tracing::info!("{}: received error {}", conn.name, e.error.name);
            Ok(())
        }
        Msg::EchoRequest(data) => send(conn, xid, &Msg::EchoReply(data)),
        Msg::BarrierRequest => {
            // Everything before the barrier takes effect before it is answered.
            cx.ofproto.publish_flow_mods();
            send(conn, xid, &Msg::BarrierReply)
        }
        Msg::FeaturesRequest => {
            let features = features_reply(v, cx);
            reply(conn, xid, &Msg::FeaturesReply(features), raw)
        }
        Msg::GetConfigRequest => {
            let c = SwitchConfig {
                flags: 0,
                miss_send_len: conn.miss_send_len,
            };
            send(conn, xid, &Msg::GetConfigReply(c))
        }
        Msg::SetConfig(c) => {
            conn.miss_send_len = c.miss_send_len;
            Ok(())
        }
        Msg::SetFlowFormat(f) => {
            conn.flow_format = f;
            Ok(())
        }
        Msg::FlowModTableId(on) => {
            conn.flow_mod_table_id = on;
            Ok(())
        }
        Msg::FlowMod(_) | Msg::PacketOut(_) | Msg::GroupMod(_) | Msg::PortMod(_) if slave => {
            send_error(conn, xid, OfpError::BRC_IS_SECONDARY, raw)
        }
        Msg::FlowMod(fm) => match cx.ofproto.flow_mod(&fm.fm) {
            Ok(result) => {
                effects.removed.extend(
                    result
                        .removed
                        .into_iter()
                        .filter(|(_, r)| *r != RemovedReason::Replaced),
                );
                if fm.buffer_id != NO_BUFFER {
                    return send_error(conn, xid, OfpError::BRC_BUFFER_UNKNOWN, raw);
                }
                Ok(())
            }
            Err(e) => {
                tracing::debug!("{}: flow-mod failed: {e}", conn.name);
                send_error(conn, xid, ofp_error(&e), raw)
            }
        },
        Msg::PacketOut(po) => {
            if po.buffer_id != NO_BUFFER {
                return send_error(conn, xid, OfpError::BRC_BUFFER_UNKNOWN, raw);
            }
            if po.in_port != OfpPort::CONTROLLER
                && po.in_port != OfpPort::NONE
                && po.in_port != OfpPort::LOCAL
                && cx.ports.get(po.in_port).is_none()
            {
                return send_error(conn, xid, OfpError::BRC_BAD_PORT, raw);
            }
            let packet = Packet::from_slice(&po.data);
            match cx.ofproto.packet_out(packet, po.in_port, &po.actions) {
                Ok(()) => Ok(()),
                Err(e) => {
                    tracing::debug!("{}: packet-out failed: {e}", conn.name);
                    send_error(conn, xid, ofp_error(&e), raw)
                }
            }
        }
        Msg::GroupMod(gm) => match cx.ofproto.group_mod(&gm) {
            Ok(()) => Ok(()),
            Err(e) => {
                let err = match &e {
                    Error::NotSupported { .. } => OfpError::BRC_BAD_TYPE,
                    e => ofp_error(e),
                };
                send_error(conn, xid, err, raw)
            }
        },
        Msg::PortMod(pm) => port_mod(conn, xid, &pm, raw, cx),
        Msg::RoleRequest(r) => role_request(conn, v, xid, r, raw, cx, effects),
        Msg::MultipartRequest(req) => multipart(conn, v, xid, req, raw, cx),
        // Messages a switch sends, not receives.
        Msg::FeaturesReply(_)
        | Msg::GetConfigReply(_)
        | Msg::PacketIn(_)
        | Msg::FlowRemoved(_)
        | Msg::PortStatus(_)
        | Msg::RoleReply(_)
        | Msg::MultipartReply(_) => send_error(conn, xid, OfpError::BRC_BAD_TYPE, raw),
        #[allow(unreachable_patterns)]
        _ => send_error(conn, xid, OfpError::BRC_BAD_TYPE, raw),
    }
}

/// FEATURES_REPLY: the datapath id, 254 tables, no buffers; in 1.0, the ports.
fn features_reply(v: Version, cx: &Ctx<'_>) -> FeaturesReply {
    let common = capabilities::FLOW_STATS | capabilities::TABLE_STATS | capabilities::PORT_STATS;
    let (caps, actions, ports) = if v == Version::Of10 {
        (
            common | capabilities::QUEUE_STATS | capabilities::ARP_MATCH_IP_10,
            // output, enqueue, set_vlan_vid, set_vlan_pcp, strip_vlan, mod_dl_src/dst,
            // mod_nw_src/dst/tos, mod_tp_src/dst: OFPAT10_* 0..=11.
            0xfff,
            cx.ports.descs().cloned().collect(),
        )
    } else {
        (
            common | capabilities::GROUP_STATS_13 | capabilities::QUEUE_STATS,
            0,
            Vec::new(),
        )
    };
    FeaturesReply {
        datapath_id: cx.ofproto.datapath_id(),
        n_buffers: 0,
        n_tables: N_TABLES,
        auxiliary_id: 0,
        capabilities: caps,
        actions,
        ports,
    }
}

/// PORT_MOD: the port must exist and the address match; `OFPPC_PORT_DOWN` in the mask
/// takes the device down or up.
fn port_mod(
    conn: &mut OfConn,
    xid: u32,
    pm: &msg::PortMod,
    raw: &[u8],
    cx: &mut Ctx<'_>,
) -> Result<(), Closed> {
    let Some(desc) = cx.ports.get(pm.port_no) else {
        return send_error(conn, xid, PMFC_BAD_PORT, raw);
    };
    if desc.hw_addr != pm.hw_addr {
        return send_error(conn, xid, PMFC_BAD_HW_ADDR, raw);
    }
    if pm.mask & OFPPC_PORT_DOWN != 0 {
        let Some((_, dev)) = cx.netdevs.iter().find(|(p, _)| *p == pm.port_no) else {
            return send_error(conn, xid, PMFC_BAD_PORT, raw);
        };
        let down = pm.config & OFPPC_PORT_DOWN != 0;
        let r = if down {
            dev.update_flags(NetdevFlags::UP, NetdevFlags::empty())
        } else {
            dev.update_flags(NetdevFlags::empty(), NetdevFlags::UP)
        };
        if let Err(e) = r {
            tracing::warn!(
                "{}: port-mod: cannot take {} {}: {e}",
                conn.name,
                desc.name,
                if down { "down" } else { "up" }
            );
            return send_error(conn, xid, EPERM, raw);
        }
    }
    Ok(())
}

/// ROLE_REQUEST: master/slave requests carry a generation id that must not go back
/// (1.3); a new master demotes the old one.
fn role_request(
    conn: &mut OfConn,
    v: Version,
    xid: u32,
    r: RoleMsg,
    raw: &[u8],
    cx: &mut Ctx<'_>,
    effects: &mut Effects,
) -> Result<(), Closed> {
    let new = match r.role {
        msg::Role::NoChange => None,
        msg::Role::Equal => Some(Role::Equal),
        msg::Role::Master => Some(Role::Master),
        msg::Role::Slave => Some(Role::Slave),
    };
    if matches!(new, Some(Role::Master | Role::Slave)) && v >= Version::Of13 {
        if let Some(g) = *cx.generation_id {
            // Stale if older than the newest seen, in wrap-around order.
            let diff = r.generation_id.wrapping_sub(g);
            if diff != 0 && diff >= (1u64 << 63) {
                return send_error(conn, xid, RRFC_STALE, raw);
            }
        }
        *cx.generation_id = Some(r.generation_id);
    }
    if let Some(role) = new {
        if role == Role::Master {
            effects.new_master = Some(conn.id());
        }
        conn.role = role;
    }
    let role = match conn.role {
        Role::Equal => msg::Role::Equal,
        Role::Master => msg::Role::Master,
        Role::Slave => msg::Role::Slave,
    };
    let generation_id = if v >= Version::Of13 {
        cx.generation_id.unwrap_or(0)
    } else {
        0
    };
    send(
        conn,
        xid,
        &Msg::RoleReply(RoleMsg {
            role,
            generation_id,
        }),
    )
}

/// The rules a flow or aggregate stats request selects.
fn query(req: &FlowStatsRequest) -> RuleQuery {
    RuleQuery {
        table_id: req.table_id,
        match_: req.match_,
        strict: false,
        priority: 0,
        cookie: req.cookie,
        cookie_mask: req.cookie_mask,
        out_port: req.out_port,
        out_group: req.out_group,
        include_hidden: false,
    }
}

fn flow_stats(rules: &[Arc<Rule>], now_ms: u64, nx: bool) -> Vec<FlowStats> {
    rules
        .iter()
        .map(|r| {
            let st = r.stats();
            let age = now_ms.saturating_sub(r.created_ms);
            let secs =
                |ms: u64| u16::try_from(now_ms.saturating_sub(ms) / 1000).unwrap_or(u16::MAX);
            FlowStats {
                table_id: r.table_id,
                duration_sec: u32::try_from(age / 1000).unwrap_or(u32::MAX),
                duration_nsec: u32::try_from((age % 1000) * 1_000_000).unwrap_or(0),
                priority: u16::try_from(r.priority).unwrap_or(u16::MAX),
                idle_timeout: r.idle_timeout,
                hard_timeout: r.hard_timeout,
                flags: if nx { FlowModFlags::empty() } else { r.flags },
                cookie: r.cookie,
                packet_count: st.packets,
                byte_count: st.bytes,
                idle_age: nx.then(|| secs(st.used_ms.max(r.created_ms))),
                hard_age: (nx && r.modified_ms != r.created_ms).then(|| secs(r.modified_ms)),
                match_: r.match_,
                actions: r.actions.to_vec(),
            }
        })
        .collect()
}

fn aggregate(rules: &[Arc<Rule>]) -> AggregateStats {
    let mut a = AggregateStats::default();
    for r in rules {
        let st = r.stats();
        a.packet_count = a.packet_count.saturating_add(st.packets);
        a.byte_count = a.byte_count.saturating_add(st.bytes);
        a.flow_count = a.flow_count.saturating_add(1);
    }
    a
}

/// The description this switch gives of itself (`ovs-ofctl dump-desc`).
fn switch_desc(bridge_dpid: u64) -> SwitchDesc {
    SwitchDesc {
        mfr_desc: "The rovs developers".to_owned(),
        hw_desc: "rovs".to_owned(),
        sw_desc: env!("CARGO_PKG_VERSION").to_owned(),
        serial_num: "None".to_owned(),
        dp_desc: format!("{bridge_dpid:016x}"),
    }
}

fn table_stats(v: Version, cx: &Ctx<'_>) -> Vec<TableStats> {
    let mut counts = [0u32; 256];
    for r in cx.ofproto.all_rules(false) {
        let c = &mut counts[usize::from(r.table_id)];
        *c = c.saturating_add(1);
    }
    (0..N_TABLES)
        .map(|t| TableStats {
            table_id: t,
            name: if v == Version::Of10 {
                if t == 0 {
                    "classifier".to_owned()
                } else {
                    format!("table{t}")
                }
            } else {
                String::new()
            },
            wildcards: if v == Version::Of10 { OFPFW10_ALL } else { 0 },
            max_entries: if v == Version::Of10 { 1_000_000 } else { 0 },
            active_count: counts[usize::from(t)],
            lookup_count: 0,
            matched_count: 0,
        })
        .collect()
}

/// Table features of every table: any instruction, every action in both lists,
/// `goto_table` to any later table.
fn table_features() -> Vec<TableFeatures> {
    // OFPIT_GOTO_TABLE, WRITE_METADATA, WRITE_ACTIONS, APPLY_ACTIONS, CLEAR_ACTIONS.
    let instructions = vec![1, 2, 3, 4, 5];
    // OFPAT_OUTPUT, COPY_TTL_OUT/IN, SET_MPLS_TTL, DEC_MPLS_TTL, PUSH/POP_VLAN,
    // PUSH/POP_MPLS, SET_QUEUE, GROUP, SET_NW_TTL, DEC_NW_TTL, SET_FIELD.
    let actions: Vec<u16> = vec![0, 11, 12, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25];
    (0..N_TABLES)
        .map(|t| {
            let set = TableFeatureSet {
                instructions: instructions.clone(),
                next_tables: (t.saturating_add(1)..N_TABLES).collect(),
                write_actions: actions.clone(),
                apply_actions: actions.clone(),
                write_setfield: Vec::new(),
                apply_setfield: Vec::new(),
            };
            TableFeatures {
                table_id: t,
                name: format!("table{t}"),
                metadata_match: u64::MAX,
                metadata_write: u64::MAX,
                config: 0,
                max_entries: 1_000_000,
                features: set,
                miss: None,
                match_: Vec::new(),
                wildcards: Vec::new(),
            }
        })
        .collect()
}

fn port_stats(cx: &Ctx<'_>, port: OfpPort) -> Vec<PortStats> {
    let one = |p: &PortDesc| {
        let s = cx.ofproto.port_stats(p.port_no).ok()?;
        let age = cx
            .now_ms
            .saturating_sub(cx.ports.added_ms(p.port_no).unwrap_or(cx.now_ms));
        Some(PortStats {
            port_no: p.port_no,
            rx_packets: s.rx_packets,
            tx_packets: s.tx_packets,
            rx_bytes: s.rx_bytes,
            tx_bytes: s.tx_bytes,
            rx_dropped: s.rx_dropped,
            tx_dropped: s.tx_dropped,
            rx_errors: s.rx_errors,
            tx_errors: s.tx_errors,
            rx_frame_err: s.rx_frame_errors,
            rx_over_err: s.rx_over_errors,
            rx_crc_err: s.rx_crc_errors,
            collisions: s.collisions,
            duration_sec: u32::try_from(age / 1000).unwrap_or(u32::MAX),
            duration_nsec: u32::try_from((age % 1000) * 1_000_000).unwrap_or(0),
        })
    };
    cx.ports
        .descs()
        .filter(|p| port == OfpPort::ANY || p.port_no == port)
        .filter_map(one)
        .collect()
}

fn multipart(
    conn: &mut OfConn,
    v: Version,
    xid: u32,
    req: MultipartRequest,
    raw: &[u8],
    cx: &mut Ctx<'_>,
) -> Result<(), Closed> {
    let body = match req {
        MultipartRequest::Desc => MultipartReplyBody::Desc(switch_desc(cx.ofproto.datapath_id())),
        MultipartRequest::Flow(r) => {
            MultipartReplyBody::Flow(flow_stats(&cx.ofproto.rules(&query(&r)), cx.now_ms, false))
        }
        MultipartRequest::NxFlow(r) => {
            MultipartReplyBody::NxFlow(flow_stats(&cx.ofproto.rules(&query(&r)), cx.now_ms, true))
        }
        MultipartRequest::Aggregate(r) => {
            MultipartReplyBody::Aggregate(aggregate(&cx.ofproto.rules(&query(&r))))
        }
        MultipartRequest::NxAggregate(r) => {
            MultipartReplyBody::NxAggregate(aggregate(&cx.ofproto.rules(&query(&r))))
        }
        MultipartRequest::Table => MultipartReplyBody::Table(table_stats(v, cx)),
        MultipartRequest::PortStats(p) => {
            if p != OfpPort::ANY && cx.ports.get(p).is_none() {
                return send_error(conn, xid, OfpError::BRC_BAD_PORT, raw);
            }
            MultipartReplyBody::PortStats(port_stats(cx, p))
        }
        MultipartRequest::PortDesc => {
            MultipartReplyBody::PortDesc(cx.ports.descs().cloned().collect())
        }
        MultipartRequest::TableFeatures => MultipartReplyBody::TableFeatures(table_features()),
        MultipartRequest::Group(id) => MultipartReplyBody::Group(cx.ofproto.group_stats(id)),
        MultipartRequest::GroupDesc => MultipartReplyBody::GroupDesc(cx.ofproto.group_descs()),
        #[allow(unreachable_patterns)]
        _ => return send_error(conn, xid, OfpError::BRC_BAD_STAT, raw),
    };
    reply(
        conn,
        xid,
        &Msg::MultipartReply(MultipartReply { more: false, body }),
        raw,
    )
}

/// Sends what the ofproto queued for the controllers: packet-ins and flow-removed for
/// expired rules.
pub(crate) fn async_from_ofproto(mgr: &mut super::ConnMgr, ofproto: &mut dyn Ofproto, now_ms: u64) {
    let pins = ofproto.take_packet_ins();
    for pin in &pins {
        mgr.for_each_conn(|conn| send_packet_in(conn, pin));
    }
    let removed = ofproto.take_flow_removed();
    for (rule, reason) in &removed {
        mgr.for_each_conn(|conn| send_flow_removed(conn, rule, *reason, now_ms));
    }
}
