//! Message bodies: the dispatch on (version, type) and the fixed-layout messages.
//! Multipart messages live in `multipart`, Nicira vendor messages in `nx`.

use crate::actions::PacketInReason;
use crate::error::OfpError;
use crate::flow::loc;

use crate::group::{Bucket, GroupMod, GroupModCommand, GroupType};
use crate::matching::Match;
use crate::packet_in::PacketIn;
use crate::rule::{FlowModFlags, RemovedReason};
use crate::table::{FlowMod, FlowModCommand, TABLE_ALL};

use super::super::{Version, actions, match10, oxm, port};
use super::wire::{Put, Rd, len16, patch_u16};
use super::{
    DecodeOptions, FeaturesReply, FlowModMsg, FlowRemoved, Header, Hello, Msg, NO_BUFFER,
    PacketInMsg, PacketOut, PortDesc, PortMod, PortReason, PortStatus, Role, RoleMsg, SwitchConfig,
    errors, multipart, nx,
};

/// Message types common to 1.0 and 1.3.
pub(crate) mod t {
    pub const HELLO: u8 = 0;
    pub const ERROR: u8 = 1;
    pub const ECHO_REQUEST: u8 = 2;
    pub const ECHO_REPLY: u8 = 3;
    pub const VENDOR: u8 = 4;
    pub const FEATURES_REQUEST: u8 = 5;
    pub const FEATURES_REPLY: u8 = 6;
    pub const GET_CONFIG_REQUEST: u8 = 7;
    pub const GET_CONFIG_REPLY: u8 = 8;
    pub const SET_CONFIG: u8 = 9;
    pub const PACKET_IN: u8 = 10;
    pub const FLOW_REMOVED: u8 = 11;
    pub const PORT_STATUS: u8 = 12;
    pub const PACKET_OUT: u8 = 13;
    pub const FLOW_MOD: u8 = 14;
    // OpenFlow 1.0.
    pub const PORT_MOD10: u8 = 15;
    pub const STATS_REQUEST10: u8 = 16;
    pub const STATS_REPLY10: u8 = 17;
    pub const BARRIER_REQUEST10: u8 = 18;
    pub const BARRIER_REPLY10: u8 = 19;
    // OpenFlow 1.3.
    pub const GROUP_MOD: u8 = 15;
    pub const PORT_MOD13: u8 = 16;
    pub const MULTIPART_REQUEST13: u8 = 18;
    pub const MULTIPART_REPLY13: u8 = 19;
    pub const BARRIER_REQUEST13: u8 = 20;
    pub const BARRIER_REPLY13: u8 = 21;
    pub const ROLE_REQUEST13: u8 = 24;
    pub const ROLE_REPLY13: u8 = 25;
}

/// `OFPHET_VERSIONBITMAP`.
const HELLO_ELEM_VERSIONBITMAP: u16 = 1;
/// Size of a 1.0 `ofp_phy_port`.
pub(crate) const PORT10_LEN: usize = 48;
/// Size of a 1.3 `ofp_port`.
pub(crate) const PORT13_LEN: usize = 64;
/// The most packet data a message can carry after its fixed part, whatever it is.
const OFP_MAX: usize = super::MAX_MSG_LEN;

/// Fails with `OFPBRC_BAD_LEN` unless the body was read to its end.
pub(crate) fn done(r: &Rd<'_>) -> Result<(), OfpError> {
    if r.is_empty() {
        Ok(())
    } else {
        Err(OfpError::BRC_BAD_LEN)
    }
}

/// A version this layer decodes and encodes beyond `HELLO`.
pub(crate) fn supported(v: u8) -> Result<Version, OfpError> {
    match Version::from_wire(v) {
        Some(v @ (Version::Of10 | Version::Of13)) => Ok(v),
        _ => Err(OfpError::BRC_BAD_VERSION),
    }
}

pub(crate) fn decode_body(h: &Header, b: &[u8], opts: DecodeOptions) -> Result<Msg, OfpError> {
    if h.type_ == t::HELLO {
        return decode_hello(b);
    }
    let v = supported(h.version)?;
    let of10 = v == Version::Of10;
    let mut r = Rd::new(b);
    let msg = match h.type_ {
        t::ERROR => Msg::Error(errors::decode_error(v, b)?),
        t::ECHO_REQUEST => Msg::EchoRequest(b.to_vec()),
        t::ECHO_REPLY => Msg::EchoReply(b.to_vec()),
        t::VENDOR => nx::decode_vendor(v, b, opts)?,
        t::FEATURES_REQUEST => empty(&r, Msg::FeaturesRequest)?,
        t::FEATURES_REPLY => Msg::FeaturesReply(decode_features_reply(v, &mut r)?),
        t::GET_CONFIG_REQUEST => empty(&r, Msg::GetConfigRequest)?,
        t::GET_CONFIG_REPLY => Msg::GetConfigReply(decode_config(&mut r)?),
        t::SET_CONFIG => Msg::SetConfig(decode_config(&mut r)?),
        t::PACKET_IN => Msg::PacketIn(decode_packet_in(v, &mut r)?),
        t::FLOW_REMOVED => Msg::FlowRemoved(decode_flow_removed(v, &mut r)?),
        t::PORT_STATUS => Msg::PortStatus(decode_port_status(v, &mut r)?),
        t::PACKET_OUT => Msg::PacketOut(decode_packet_out(v, &mut r)?),
        t::FLOW_MOD if of10 => Msg::FlowMod(decode_flow_mod10(&mut r, opts)?),
        t::FLOW_MOD => Msg::FlowMod(decode_flow_mod13(&mut r)?),
        t::PORT_MOD10 if of10 => Msg::PortMod(decode_port_mod(v, &mut r)?),
        t::STATS_REQUEST10 if of10 => Msg::MultipartRequest(multipart::decode_request(v, b)?),
        t::STATS_REPLY10 if of10 => Msg::MultipartReply(multipart::decode_reply(v, b)?),
        t::BARRIER_REQUEST10 if of10 => empty(&r, Msg::BarrierRequest)?,
        t::BARRIER_REPLY10 if of10 => empty(&r, Msg::BarrierReply)?,
        t::GROUP_MOD if !of10 => Msg::GroupMod(decode_group_mod(&mut r)?),
        t::PORT_MOD13 if !of10 => Msg::PortMod(decode_port_mod(v, &mut r)?),
        t::MULTIPART_REQUEST13 if !of10 => Msg::MultipartRequest(multipart::decode_request(v, b)?),
        t::MULTIPART_REPLY13 if !of10 => Msg::MultipartReply(multipart::decode_reply(v, b)?),
        t::BARRIER_REQUEST13 if !of10 => empty(&r, Msg::BarrierRequest)?,
        t::BARRIER_REPLY13 if !of10 => empty(&r, Msg::BarrierReply)?,
        t::ROLE_REQUEST13 if !of10 => Msg::RoleRequest(decode_role13(&mut r)?),
        t::ROLE_REPLY13 if !of10 => Msg::RoleReply(decode_role13(&mut r)?),
        _ => return Err(OfpError::BRC_BAD_TYPE),
    };
    Ok(msg)
}

fn empty(r: &Rd<'_>, m: Msg) -> Result<Msg, OfpError> {
    done(r)?;
    Ok(m)
}

/// Writes a header with a zero length at the end of `out`; returns where it starts.
pub(crate) fn start(v: Version, type_: u8, xid: u32, out: &mut Vec<u8>) -> usize {
    let at = out.len();
    out.u8(v.wire());
    out.u8(type_);
    out.u16(0);
    out.u32(xid);
    at
}

/// Sets the length of the message that starts at `at` and runs to the end of `out`.
pub(crate) fn finish(out: &mut [u8], at: usize) -> Result<(), OfpError> {
    let len = len16(out, at)?;
    patch_u16(out, at + 2, len);
    Ok(())
}

pub(crate) fn encode_msg(
    v: Version,
    xid: u32,
    msg: &Msg,
    out: &mut Vec<u8>,
) -> Result<(), OfpError> {
    if let Msg::Hello(hello) = msg {
        let at = start(v, t::HELLO, xid, out);
        if let Some(bitmap) = hello.bitmap {
            out.u16(HELLO_ELEM_VERSIONBITMAP);
            out.u16(8);
            out.u32(bitmap);
        }
        return finish(out, at);
    }
    let v = supported(v.wire())?;
    let of10 = v == Version::Of10;
    let pick = |a: u8, b: u8| if of10 { a } else { b };
    match msg {
        Msg::Hello(_) => Ok(()),
        Msg::MultipartRequest(req) => multipart::encode_request(v, xid, req, out),
        Msg::MultipartReply(rep) => multipart::encode_reply(v, xid, rep, out),
        Msg::SetFlowFormat(_) | Msg::FlowModTableId(_) => nx::encode_vendor(v, xid, msg, out),
        Msg::RoleRequest(_) | Msg::RoleReply(_) if of10 => nx::encode_vendor(v, xid, msg, out),
        Msg::FlowMod(fm) if of10 && match10::encode(&fm.fm.match_).is_none() => {
            nx::encode_vendor(v, xid, msg, out)
        }
        _ => {
            let type_ = match msg {
                Msg::Error(_) => t::ERROR,
                Msg::EchoRequest(_) => t::ECHO_REQUEST,
                Msg::EchoReply(_) => t::ECHO_REPLY,
                Msg::FeaturesRequest => t::FEATURES_REQUEST,
                Msg::FeaturesReply(_) => t::FEATURES_REPLY,
                Msg::GetConfigRequest => t::GET_CONFIG_REQUEST,
                Msg::GetConfigReply(_) => t::GET_CONFIG_REPLY,
                Msg::SetConfig(_) => t::SET_CONFIG,
                Msg::PacketIn(_) => t::PACKET_IN,
                Msg::FlowRemoved(_) => t::FLOW_REMOVED,
                Msg::PortStatus(_) => t::PORT_STATUS,
                Msg::PacketOut(_) => t::PACKET_OUT,
                Msg::FlowMod(_) => t::FLOW_MOD,
                Msg::GroupMod(_) if of10 => return Err(OfpError::BRC_BAD_VERSION),
                Msg::GroupMod(_) => t::GROUP_MOD,
                Msg::PortMod(_) => pick(t::PORT_MOD10, t::PORT_MOD13),
                Msg::BarrierRequest => pick(t::BARRIER_REQUEST10, t::BARRIER_REQUEST13),
                Msg::BarrierReply => pick(t::BARRIER_REPLY10, t::BARRIER_REPLY13),
                Msg::RoleRequest(_) => t::ROLE_REQUEST13,
                Msg::RoleReply(_) => t::ROLE_REPLY13,
                _ => return Err(OfpError::BRC_BAD_TYPE),
            };
            let at = start(v, type_, xid, out);
            match msg {
                Msg::Error(e) => errors::encode_error(v, e, out),
                Msg::EchoRequest(d) | Msg::EchoReply(d) => out.extend_from_slice(d),
                Msg::FeaturesReply(f) => encode_features_reply(v, f, out),
                Msg::GetConfigReply(c) | Msg::SetConfig(c) => {
                    out.u16(c.flags);
                    out.u16(c.miss_send_len);
                }
                Msg::PacketIn(p) => encode_packet_in(v, p, at, out),
                Msg::FlowRemoved(f) => encode_flow_removed(v, f, out)?,
                Msg::PortStatus(p) => {
                    out.u8(port_reason_wire(p.reason));
                    out.zeros(7);
                    encode_port(v, &p.desc, out);
                }
                Msg::PacketOut(p) => encode_packet_out(v, p, out)?,
                Msg::FlowMod(fm) if of10 => encode_flow_mod10(fm, out)?,
                Msg::FlowMod(fm) => encode_flow_mod13(fm, out)?,
                Msg::GroupMod(g) => encode_group_mod(g, out)?,
                Msg::PortMod(p) => encode_port_mod(v, p, out),
                Msg::RoleRequest(r) | Msg::RoleReply(r) => {
                    out.u32(role13_wire(r.role));
                    out.zeros(4);
                    out.u64(r.generation_id);
                }
                _ => {}
            }
            finish(out, at)
        }
    }
}

fn decode_hello(b: &[u8]) -> Result<Msg, OfpError> {
    let mut r = Rd::new(b);
    let mut bitmap = None;
    while r.remaining() >= 4 {
        let type_ = r.u16()?;
        let len = usize::from(r.u16()?);
        if len < 4 {
            return Err(OfpError::BRC_BAD_LEN);
        }
        let data = r.bytes(len - 4)?;
        if type_ == HELLO_ELEM_VERSIONBITMAP {
            let mut words = Rd::new(data);
            bitmap = Some(words.u32()?);
        }
        // Elements are padded to 8 bytes; the padding may be missing after the last one.
        let pad = super::wire::pad8(len).min(r.remaining());
        r.skip(pad)?;
    }
    Ok(Msg::Hello(Hello { bitmap }))
}

fn decode_config(r: &mut Rd<'_>) -> Result<SwitchConfig, OfpError> {
    let c = SwitchConfig {
        flags: r.u16()?,
        miss_send_len: r.u16()?,
    };
    done(r)?;
    Ok(c)
}

fn decode_features_reply(v: Version, r: &mut Rd<'_>) -> Result<FeaturesReply, OfpError> {
    let datapath_id = r.u64()?;
    let n_buffers = r.u32()?;
    let n_tables = r.u8()?;
    let auxiliary_id = r.u8()?;
    r.skip(2)?;
    let capabilities = r.u32()?;
    let actions = r.u32()?;
    let mut ports = Vec::new();
    if v == Version::Of10 {
        if !r.remaining().is_multiple_of(PORT10_LEN) {
            return Err(OfpError::BRC_BAD_LEN);
        }
        while !r.is_empty() {
            ports.push(decode_port(v, r)?);
        }
    }
    done(r)?;
    Ok(FeaturesReply {
        datapath_id,
        n_buffers,
        n_tables,
        auxiliary_id: if v == Version::Of10 { 0 } else { auxiliary_id },
        capabilities,
        actions,
        ports,
    })
}

fn encode_features_reply(v: Version, f: &FeaturesReply, out: &mut Vec<u8>) {
    out.u64(f.datapath_id);
    out.u32(f.n_buffers);
    out.u8(f.n_tables);
    out.u8(if v == Version::Of10 {
        0
    } else {
        f.auxiliary_id
    });
    out.zeros(2);
    out.u32(f.capabilities);
    out.u32(f.actions);
    if v == Version::Of10 {
        for p in &f.ports {
            encode_port(v, p, out);
        }
    }
}

/// OpenFlow 1.3 port feature bits (`OFPPF_*`) as 1.0 numbers them: the speeds up to 10G
/// are the same, 1.3's 40G/100G/1T/OTHER do not exist, and COPPER..PAUSE_ASYM move down
/// from bits 11-15 to 7-11.
fn features13_to_10(f: u32) -> u32 {
    (f & 0x7f) | ((f >> 4) & 0xf80)
}

fn features10_to_13(f: u32) -> u32 {
    (f & 0x7f) | ((f & 0xf80) << 4)
}

pub(crate) fn decode_port(v: Version, r: &mut Rd<'_>) -> Result<PortDesc, OfpError> {
    if v == Version::Of10 {
        let port_no = port::from_of10(r.u16()?);
        let hw_addr = r.array()?;
        let name = r.string(16)?;
        let config = r.u32()?;
        let state = r.u32()?;
        let mut f = [0u32; 4];
        for x in &mut f {
            *x = features10_to_13(r.u32()?);
        }
        Ok(PortDesc {
            port_no,
            hw_addr,
            name,
            config,
            state,
            curr: f[0],
            advertised: f[1],
            supported: f[2],
            peer: f[3],
            curr_speed: 0,
            max_speed: 0,
        })
    } else {
        let port_no = port::from_of11(r.u32()?)?;
        r.skip(4)?;
        let hw_addr = r.array()?;
        r.skip(2)?;
        let name = r.string(16)?;
        Ok(PortDesc {
            port_no,
            hw_addr,
            name,
            config: r.u32()?,
            state: r.u32()?,
            curr: r.u32()?,
            advertised: r.u32()?,
            supported: r.u32()?,
            peer: r.u32()?,
            curr_speed: r.u32()?,
            max_speed: r.u32()?,
        })
    }
}

pub(crate) fn encode_port(v: Version, p: &PortDesc, out: &mut Vec<u8>) {
    if v == Version::Of10 {
        out.u16(port::to_of10(p.port_no));
        out.extend_from_slice(&p.hw_addr);
        out.string(&p.name, 16);
        out.u32(p.config);
        out.u32(p.state);
        for f in [p.curr, p.advertised, p.supported, p.peer] {
            out.u32(features13_to_10(f));
        }
    } else {
        out.u32(port::to_of11(p.port_no));
        out.zeros(4);
        out.extend_from_slice(&p.hw_addr);
        out.zeros(2);
        out.string(&p.name, 16);
        for x in [
            p.config,
            p.state,
            p.curr,
            p.advertised,
            p.supported,
            p.peer,
            p.curr_speed,
            p.max_speed,
        ] {
            out.u32(x);
        }
    }
}

fn port_reason_wire(r: PortReason) -> u8 {
    match r {
        PortReason::Add => 0,
        PortReason::Delete => 1,
        PortReason::Modify => 2,
    }
}

fn decode_port_status(v: Version, r: &mut Rd<'_>) -> Result<PortStatus, OfpError> {
    let reason = match r.u8()? {
        0 => PortReason::Add,
        1 => PortReason::Delete,
        2 => PortReason::Modify,
        _ => return Err(OfpError::BRC_BAD_PACKET),
    };
    r.skip(7)?;
    let desc = decode_port(v, r)?;
    done(r)?;
    Ok(PortStatus { reason, desc })
}

fn reason_wire(v: Version, r: PacketInReason) -> u8 {
    match r {
        PacketInReason::NoMatch | PacketInReason::ExplicitMiss | PacketInReason::ImplicitMiss => 0,
        PacketInReason::InvalidTtl if v != Version::Of10 => 2,
        _ => 1,
    }
}

fn reason_from_wire(r: u8) -> PacketInReason {
    match r {
        0 => PacketInReason::NoMatch,
        2 => PacketInReason::InvalidTtl,
        3 => PacketInReason::ActionSet,
        4 => PacketInReason::Group,
        5 => PacketInReason::PacketOut,
        _ => PacketInReason::Action,
    }
}

impl PacketInMsg {
    /// The wire packet-in for the switch's `pi`, its data cut to `max_len` bytes (the
    /// `controller` action's `max_len`, or the connection's `miss_send_len` for a table
    /// miss; 65535 = all). Unbuffered: `buffer_id` is [`NO_BUFFER`].
    pub fn from_packet_in(pi: &PacketIn, max_len: u16) -> PacketInMsg {
        let n = pi.packet.len().min(usize::from(max_len));
        let md = &pi.metadata;
        let mut m = Match::catchall();
        m.set_in_port(md.in_port());
        if md.metadata() != 0 {
            m.set_metadata_masked(md.metadata(), u64::MAX);
        }
        for i in 0..crate::flow::N_REGS {
            if md.reg(i) != 0 {
                m.set_reg_masked(i, md.reg(i), u32::MAX);
            }
        }
        PacketInMsg {
            buffer_id: NO_BUFFER,
            total_len: u16::try_from(pi.packet.len()).unwrap_or(u16::MAX),
            reason: pi.reason,
            table_id: pi.table_id,
            cookie: pi.cookie,
            match_: m,
            data: pi.packet[..n].to_vec(),
        }
    }
}

fn decode_packet_in(v: Version, r: &mut Rd<'_>) -> Result<PacketInMsg, OfpError> {
    let buffer_id = r.u32()?;
    let total_len = r.u16()?;
    if v == Version::Of10 {
        let in_port = port::from_of10(r.u16()?);
        let reason = reason_from_wire(r.u8()?);
        r.skip(1)?;
        let mut match_ = Match::catchall();
        match_.set_in_port(in_port);
        Ok(PacketInMsg {
            buffer_id,
            total_len,
            reason,
            table_id: 0,
            cookie: 0,
            match_,
            data: r.rest().to_vec(),
        })
    } else {
        let reason = reason_from_wire(r.u8()?);
        let table_id = r.u8()?;
        let cookie = r.u64()?;
        let rest = r.rest();
        let (match_, used) = oxm::decode_ofp11_match(rest)?;
        let mut r2 = Rd::new(rest.get(used..).ok_or(OfpError::BRC_BAD_LEN)?);
        r2.skip(2)?;
        Ok(PacketInMsg {
            buffer_id,
            total_len,
            reason,
            table_id,
            cookie,
            match_,
            data: r2.rest().to_vec(),
        })
    }
}

/// Appends a packet-in's body to the message that starts at `at`; the data is cut to what
/// fits in one message (`total_len` still tells the packet's length).
fn encode_packet_in(v: Version, p: &PacketInMsg, at: usize, out: &mut Vec<u8>) {
    out.u32(p.buffer_id);
    out.u16(p.total_len);
    if v == Version::Of10 {
        out.u16(port::to_of10(p.match_.flow().in_port()));
        out.u8(reason_wire(v, p.reason));
        out.u8(0);
    } else {
        out.u8(reason_wire(v, p.reason));
        out.u8(p.table_id);
        out.u64(p.cookie);
        oxm::encode_ofp11_match(&p.match_, out);
        out.zeros(2);
    }
    let room = OFP_MAX.saturating_sub(out.len() - at);
    out.extend_from_slice(&p.data[..p.data.len().min(room)]);
}

fn removed_reason_wire(r: RemovedReason) -> u8 {
    match r {
        RemovedReason::IdleTimeout => 0,
        RemovedReason::HardTimeout => 1,
        RemovedReason::Delete | RemovedReason::Replaced => 2,
        RemovedReason::GroupDelete => 3,
    }
}

fn removed_reason(r: u8) -> Result<RemovedReason, OfpError> {
    Ok(match r {
        0 => RemovedReason::IdleTimeout,
        1 => RemovedReason::HardTimeout,
        2 => RemovedReason::Delete,
        3 => RemovedReason::GroupDelete,
        _ => return Err(OfpError::BRC_BAD_PACKET),
    })
}

fn decode_flow_removed(v: Version, r: &mut Rd<'_>) -> Result<FlowRemoved, OfpError> {
    if v == Version::Of10 {
        let match_ = match10::decode(r.bytes(match10::MATCH10_LEN)?)?;
        let cookie = r.u64()?;
        let priority = r.u16()?;
        let reason = removed_reason(r.u8()?)?;
        r.skip(1)?;
        let duration_sec = r.u32()?;
        let duration_nsec = r.u32()?;
        let idle_timeout = r.u16()?;
        r.skip(2)?;
        let packet_count = r.u64()?;
        let byte_count = r.u64()?;
        done(r)?;
        Ok(FlowRemoved {
            match_,
            cookie,
            priority,
            reason,
            table_id: 0,
            duration_sec,
            duration_nsec,
            idle_timeout,
            hard_timeout: 0,
            packet_count,
            byte_count,
        })
    } else {
        let cookie = r.u64()?;
        let priority = r.u16()?;
        let reason = removed_reason(r.u8()?)?;
        let table_id = r.u8()?;
        let duration_sec = r.u32()?;
        let duration_nsec = r.u32()?;
        let idle_timeout = r.u16()?;
        let hard_timeout = r.u16()?;
        let packet_count = r.u64()?;
        let byte_count = r.u64()?;
        let rest = r.rest();
        let (match_, used) = oxm::decode_ofp11_match(rest)?;
        if used != rest.len() {
            return Err(OfpError::BRC_BAD_LEN);
        }
        Ok(FlowRemoved {
            match_,
            cookie,
            priority,
            reason,
            table_id,
            duration_sec,
            duration_nsec,
            idle_timeout,
            hard_timeout,
            packet_count,
            byte_count,
        })
    }
}

/// `ofp10_match` of `m`, or `OFPBMC_BAD_FIELD` when 1.0 cannot express it.
pub(crate) fn match10_bytes(m: &Match) -> Result<[u8; match10::MATCH10_LEN], OfpError> {
    match10::encode(m).ok_or(errors::BMC_BAD_FIELD)
}

/// `ofp10_match` of what OpenFlow 1.0 can say of `m`, for reports (flow stats, flow
/// removed) as Open vSwitch does: fields 1.0 lacks are left out, a partial mask on a field
/// 1.0 only matches exactly drops the field, and an address mask shrinks to its leading
/// ones. The result matches a superset of `m`'s packets.
pub(crate) fn match10_lossy(m: &Match) -> Result<[u8; match10::MATCH10_LEN], OfpError> {
    if let Some(b) = match10::encode(m) {
        return Ok(b);
    }
    let (f, k) = (m.flow(), m.mask());
    let mut mask = crate::flow::Flow::zero();
    for l in [
        loc::IN_PORT,
        loc::ETH_SRC,
        loc::ETH_DST,
        loc::DL_TYPE,
        loc::NW_PROTO,
        loc::TP_SRC,
        loc::TP_DST,
    ] {
        // Exact or nothing.
        if k.get_loc(l) == l.value_mask() {
            mask.set_loc(l, l.value_mask());
        }
    }
    for l in [loc::NW_SRC, loc::NW_DST] {
        let bits = u32::try_from(k.get_loc(l)).unwrap_or(0);
        let prefix = u32::MAX.checked_shl(32 - bits.leading_ones()).unwrap_or(0);
        mask.set_loc(l, u128::from(prefix));
    }
    mask.set_loc(loc::NW_TOS, k.get_loc(loc::NW_TOS) & 0xfc);
    mask.set_loc(loc::VLAN0_TCI, k.get_loc(loc::VLAN0_TCI));
    let mut reduced = Match::from_parts(f, &mask);
    reduced.normalize();
    match10::encode(&reduced)
        .or_else(|| {
            // A VLAN match 1.0 cannot say: leave it out too.
            mask.set_loc(loc::VLAN0_TCI, 0);
            let mut r = Match::from_parts(f, &mask);
            r.normalize();
            match10::encode(&r)
        })
        .ok_or(errors::BMC_BAD_FIELD)
}

fn encode_flow_removed(v: Version, f: &FlowRemoved, out: &mut Vec<u8>) -> Result<(), OfpError> {
    if v == Version::Of10 {
        out.extend_from_slice(&match10_lossy(&f.match_)?);
        out.u64(f.cookie);
        out.u16(f.priority);
        out.u8(removed_reason_wire(f.reason));
        out.u8(0);
        out.u32(f.duration_sec);
        out.u32(f.duration_nsec);
        out.u16(f.idle_timeout);
        out.zeros(2);
        out.u64(f.packet_count);
        out.u64(f.byte_count);
    } else {
        out.u64(f.cookie);
        out.u16(f.priority);
        out.u8(removed_reason_wire(f.reason));
        out.u8(f.table_id);
        out.u32(f.duration_sec);
        out.u32(f.duration_nsec);
        out.u16(f.idle_timeout);
        out.u16(f.hard_timeout);
        out.u64(f.packet_count);
        out.u64(f.byte_count);
        oxm::encode_ofp11_match(&f.match_, out);
    }
    Ok(())
}

fn decode_packet_out(v: Version, r: &mut Rd<'_>) -> Result<PacketOut, OfpError> {
    let buffer_id = r.u32()?;
    let in_port = if v == Version::Of10 {
        port::from_of10(r.u16()?)
    } else {
        port::from_of11(r.u32()?).map_err(|_| OfpError::BRC_BAD_PORT)?
    };
    let actions_len = usize::from(r.u16()?);
    if v != Version::Of10 {
        r.skip(6)?;
    }
    let actions = actions::decode_actions(v, r.bytes(actions_len)?)?;
    Ok(PacketOut {
        buffer_id,
        in_port,
        actions,
        data: r.rest().to_vec(),
    })
}

fn encode_packet_out(v: Version, p: &PacketOut, out: &mut Vec<u8>) -> Result<(), OfpError> {
    out.u32(p.buffer_id);
    if v == Version::Of10 {
        out.u16(port::to_of10(p.in_port));
    } else {
        out.u32(port::to_of11(p.in_port));
    }
    let len_at = out.len();
    out.u16(0);
    if v != Version::Of10 {
        out.zeros(6);
    }
    let acts = out.len();
    actions::encode_actions(v, &p.actions, out)?;
    let n = u16::try_from(out.len() - acts).map_err(|_| OfpError::BRC_BAD_LEN)?;
    patch_u16(out, len_at, n);
    out.extend_from_slice(&p.data);
    Ok(())
}

pub(crate) fn command_from_wire(c: u8) -> Result<FlowModCommand, OfpError> {
    Ok(match c {
        0 => FlowModCommand::Add,
        1 => FlowModCommand::Modify,
        2 => FlowModCommand::ModifyStrict,
        3 => FlowModCommand::Delete,
        4 => FlowModCommand::DeleteStrict,
        _ => return Err(OfpError::FMFC_BAD_COMMAND),
    })
}

pub(crate) fn command_wire(c: FlowModCommand) -> u8 {
    match c {
        FlowModCommand::Add => 0,
        FlowModCommand::Modify => 1,
        FlowModCommand::ModifyStrict => 2,
        FlowModCommand::Delete => 3,
        FlowModCommand::DeleteStrict => 4,
    }
}

/// The flow-mod flags OpenFlow 1.0 (and NXT_FLOW_MOD) has.
pub(crate) const FLAGS10: FlowModFlags =
    FlowModFlags::SEND_FLOW_REM.union(FlowModFlags::CHECK_OVERLAP);

pub(crate) fn flags_from_wire(v: Version, f: u16) -> Result<FlowModFlags, OfpError> {
    let flags = FlowModFlags::from_bits(f).ok_or(errors::FMFC_BAD_FLAGS)?;
    if v == Version::Of10 && !FLAGS10.contains(flags) {
        return Err(errors::FMFC_BAD_FLAGS);
    }
    Ok(flags)
}

/// The 1.0 (and NXT_FLOW_MOD) fields of a flow-mod after the match, which both share.
pub(crate) struct FlowMod10Fields {
    pub cookie: u64,
    pub command: u16,
    pub idle_timeout: u16,
    pub hard_timeout: u16,
    pub priority: u16,
    pub buffer_id: u32,
    pub out_port: u16,
    pub flags: u16,
}

/// Builds the model flow-mod from 1.0 wire fields (OpenFlow 1.0 semantics: the cookie is
/// the new cookie for add and modify; modify and delete do not filter on cookies).
pub(crate) fn flow_mod10(
    w: &FlowMod10Fields,
    match_: Match,
    actions: Vec<crate::actions::Action>,
    opts: DecodeOptions,
) -> Result<FlowModMsg, OfpError> {
    let [hi, lo] = w.command.to_be_bytes();
    let command = command_from_wire(lo)?;
    let table_id = if opts.flow_mod_table_id {
        hi
    } else if hi == 0 {
        TABLE_ALL
    } else {
        return Err(OfpError::FMFC_BAD_COMMAND);
    };
    let mut fm = FlowMod::new(command, match_);
    fm.table_id = table_id;
    fm.priority = u32::from(w.priority);
    fm.new_cookie = match command {
        FlowModCommand::Delete | FlowModCommand::DeleteStrict => None,
        _ => (w.cookie != u64::MAX).then_some(w.cookie),
    };
    fm.idle_timeout = w.idle_timeout;
    fm.hard_timeout = w.hard_timeout;
    fm.flags = flags_from_wire(Version::Of10, w.flags)?;
    fm.out_port = port::from_of10(w.out_port);
    fm.actions = actions;
    Ok(FlowModMsg {
        fm,
        buffer_id: w.buffer_id,
    })
}

/// The 1.0 wire fields of `m` (the inverse of [`flow_mod10`]).
pub(crate) fn flow_mod10_fields(m: &FlowModMsg) -> FlowMod10Fields {
    let fm = &m.fm;
    let hi = if fm.table_id == TABLE_ALL {
        0
    } else {
        fm.table_id
    };
    let cookie = match fm.command {
        FlowModCommand::Delete | FlowModCommand::DeleteStrict => 0,
        _ => fm.new_cookie.unwrap_or(u64::MAX),
    };
    FlowMod10Fields {
        cookie,
        command: u16::from_be_bytes([hi, command_wire(fm.command)]),
        idle_timeout: fm.idle_timeout,
        hard_timeout: fm.hard_timeout,
        priority: u16::try_from(fm.priority).unwrap_or(u16::MAX),
        buffer_id: m.buffer_id,
        out_port: port::to_of10(fm.out_port),
        flags: (fm.flags & FLAGS10).bits(),
    }
}

fn decode_flow_mod10(r: &mut Rd<'_>, opts: DecodeOptions) -> Result<FlowModMsg, OfpError> {
    let match_ = match10::decode(r.bytes(match10::MATCH10_LEN)?)?;
    let w = FlowMod10Fields {
        cookie: r.u64()?,
        command: r.u16()?,
        idle_timeout: r.u16()?,
        hard_timeout: r.u16()?,
        priority: r.u16()?,
        buffer_id: r.u32()?,
        out_port: r.u16()?,
        flags: r.u16()?,
    };
    let actions = actions::decode_actions(Version::Of10, r.rest())?;
    flow_mod10(&w, match_, actions, opts)
}

fn encode_flow_mod10(m: &FlowModMsg, out: &mut Vec<u8>) -> Result<(), OfpError> {
    out.extend_from_slice(&match10_bytes(&m.fm.match_)?);
    let w = flow_mod10_fields(m);
    out.u64(w.cookie);
    out.u16(w.command);
    out.u16(w.idle_timeout);
    out.u16(w.hard_timeout);
    out.u16(w.priority);
    out.u32(w.buffer_id);
    out.u16(w.out_port);
    out.u16(w.flags);
    actions::encode_actions(Version::Of10, &m.fm.actions, out)
}

fn decode_flow_mod13(r: &mut Rd<'_>) -> Result<FlowModMsg, OfpError> {
    let cookie = r.u64()?;
    let cookie_mask = r.u64()?;
    let table_id = r.u8()?;
    let command = command_from_wire(r.u8()?)?;
    let idle_timeout = r.u16()?;
    let hard_timeout = r.u16()?;
    let priority = r.u16()?;
    let buffer_id = r.u32()?;
    let out_port = port::from_of11(r.u32()?)?;
    let out_group = r.u32()?;
    let flags = flags_from_wire(Version::Of13, r.u16()?)?;
    r.skip(2)?;
    let rest = r.rest();
    let (match_, used) = oxm::decode_ofp11_match(rest)?;
    let insts = rest.get(used..).ok_or(OfpError::BRC_BAD_LEN)?;
    let actions = actions::decode_instructions(Version::Of13, insts)?;
    let mut fm = FlowMod::new(command, match_);
    fm.table_id = table_id;
    fm.priority = u32::from(priority);
    if command == FlowModCommand::Add {
        fm.new_cookie = Some(cookie);
    } else {
        fm.cookie = cookie;
        fm.cookie_mask = cookie_mask;
    }
    fm.idle_timeout = idle_timeout;
    fm.hard_timeout = hard_timeout;
    fm.flags = flags;
    fm.out_port = out_port;
    fm.out_group = out_group;
    fm.actions = actions;
    Ok(FlowModMsg { fm, buffer_id })
}

fn encode_flow_mod13(m: &FlowModMsg, out: &mut Vec<u8>) -> Result<(), OfpError> {
    let fm = &m.fm;
    if fm.command == FlowModCommand::Add {
        out.u64(fm.new_cookie.unwrap_or(0));
        out.u64(0);
    } else {
        out.u64(fm.cookie);
        out.u64(fm.cookie_mask);
    }
    out.u8(fm.table_id);
    out.u8(command_wire(fm.command));
    out.u16(fm.idle_timeout);
    out.u16(fm.hard_timeout);
    out.u16(u16::try_from(fm.priority).unwrap_or(u16::MAX));
    out.u32(m.buffer_id);
    out.u32(port::to_of11(fm.out_port));
    out.u32(fm.out_group);
    out.u16(fm.flags.bits());
    out.zeros(2);
    oxm::encode_ofp11_match(&fm.match_, out);
    actions::encode_instructions(Version::Of13, &fm.actions, out)
}

fn decode_port_mod(v: Version, r: &mut Rd<'_>) -> Result<PortMod, OfpError> {
    let p = if v == Version::Of10 {
        let port_no = port::from_of10(r.u16()?);
        let hw_addr = r.array()?;
        let config = r.u32()?;
        let mask = r.u32()?;
        let advertise = features10_to_13(r.u32()?);
        r.skip(4)?;
        PortMod {
            port_no,
            hw_addr,
            config,
            mask,
            advertise,
        }
    } else {
        let port_no = port::from_of11(r.u32()?).map_err(|_| errors::PMFC_BAD_PORT)?;
        r.skip(4)?;
        let hw_addr = r.array()?;
        r.skip(2)?;
        let config = r.u32()?;
        let mask = r.u32()?;
        let advertise = r.u32()?;
        r.skip(4)?;
        PortMod {
            port_no,
            hw_addr,
            config,
            mask,
            advertise,
        }
    };
    done(r)?;
    Ok(p)
}

fn encode_port_mod(v: Version, p: &PortMod, out: &mut Vec<u8>) {
    if v == Version::Of10 {
        out.u16(port::to_of10(p.port_no));
        out.extend_from_slice(&p.hw_addr);
        out.u32(p.config);
        out.u32(p.mask);
        out.u32(features13_to_10(p.advertise));
        out.zeros(4);
    } else {
        out.u32(port::to_of11(p.port_no));
        out.zeros(4);
        out.extend_from_slice(&p.hw_addr);
        out.zeros(2);
        out.u32(p.config);
        out.u32(p.mask);
        out.u32(p.advertise);
        out.zeros(4);
    }
}

fn role13_wire(r: Role) -> u32 {
    match r {
        Role::NoChange => 0,
        Role::Equal => 1,
        Role::Master => 2,
        Role::Slave => 3,
    }
}

fn decode_role13(r: &mut Rd<'_>) -> Result<RoleMsg, OfpError> {
    let role = match r.u32()? {
        0 => Role::NoChange,
        1 => Role::Equal,
        2 => Role::Master,
        3 => Role::Slave,
        _ => return Err(errors::RRFC_BAD_ROLE),
    };
    r.skip(4)?;
    let generation_id = r.u64()?;
    done(r)?;
    Ok(RoleMsg {
        role,
        generation_id,
    })
}

/// Size of `ofp_bucket` before its actions.
const BUCKET_LEN: usize = 16;

pub(crate) fn decode_buckets(r: &mut Rd<'_>) -> Result<Vec<Bucket>, OfpError> {
    let mut buckets = Vec::new();
    while !r.is_empty() {
        let len = usize::from(r.u16()?);
        if len < BUCKET_LEN || !len.is_multiple_of(8) {
            return Err(errors::GMFC_BAD_BUCKET);
        }
        let weight = r.u16()?;
        let watch_port = port::from_of11(r.u32()?).map_err(|_| errors::GMFC_BAD_WATCH)?;
        let watch_group = r.u32()?;
        r.skip(4)?;
        let actions = actions::decode_actions(Version::Of13, r.bytes(len - BUCKET_LEN)?)?;
        buckets.push(Bucket {
            weight,
            watch_port,
            watch_group,
            actions,
        });
    }
    Ok(buckets)
}

pub(crate) fn encode_buckets(buckets: &[Bucket], out: &mut Vec<u8>) -> Result<(), OfpError> {
    for b in buckets {
        let at = out.len();
        out.u16(0);
        out.u16(b.weight);
        out.u32(port::to_of11(b.watch_port));
        out.u32(b.watch_group);
        out.zeros(4);
        actions::encode_actions(Version::Of13, &b.actions, out)?;
        let len = len16(out, at)?;
        patch_u16(out, at, len);
    }
    Ok(())
}

fn decode_group_mod(r: &mut Rd<'_>) -> Result<GroupMod, OfpError> {
    let command = match r.u16()? {
        0 => GroupModCommand::Add,
        1 => GroupModCommand::Modify,
        2 => GroupModCommand::Delete,
        _ => return Err(errors::GMFC_BAD_COMMAND),
    };
    let type_ = GroupType::from_wire(r.u8()?).ok_or(errors::GMFC_BAD_TYPE)?;
    r.skip(1)?;
    let group_id = r.u32()?;
    let buckets = decode_buckets(r)?;
    Ok(GroupMod {
        command,
        type_,
        group_id,
        buckets,
    })
}

fn encode_group_mod(g: &GroupMod, out: &mut Vec<u8>) -> Result<(), OfpError> {
    out.u16(match g.command {
        GroupModCommand::Add => 0,
        GroupModCommand::Modify => 1,
        GroupModCommand::Delete => 2,
    });
    out.u8(g.type_.wire());
    out.u8(0);
    out.u32(g.group_id);
    encode_buckets(&g.buckets, out)
}
