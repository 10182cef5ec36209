//! Nicira vendor messages (`NXT_*`) of OpenFlow 1.0, and the answer to every other
//! vendor/experimenter message.

use crate::error::OfpError;

use super::super::{Version, actions, oxm};
use super::body::{self, FlowMod10Fields, done, finish, start, t};
use super::wire::{Put, Rd, pad8, patch_u16};
use super::{DecodeOptions, FlowFormat, Msg, NX_VENDOR_ID, Role, RoleMsg, errors};

/// Nicira message subtypes.
const NXT_ROLE_REQUEST: u32 = 10;
const NXT_ROLE_REPLY: u32 = 11;
const NXT_SET_FLOW_FORMAT: u32 = 12;
const NXT_FLOW_MOD: u32 = 13;
const NXT_FLOW_MOD_TABLE_ID: u32 = 15;

/// `NXFF_OPENFLOW10`, `NXFF_NXM`.
const NXFF_OPENFLOW10: u32 = 0;
const NXFF_NXM: u32 = 2;

/// Decodes the body of a 1.0 `OFPT_VENDOR` or 1.3 `OFPT_EXPERIMENTER` message.
///
/// Only Nicira messages of OpenFlow 1.0 decode: another vendor is `OFPBRC_BAD_VENDOR`
/// (1.3's `OFPBRC_BAD_EXPERIMENTER`, the same numbers), an unknown subtype
/// `OFPBRC_BAD_SUBTYPE` (`OFPBRC_BAD_EXP_TYPE`).
pub(crate) fn decode_vendor(v: Version, b: &[u8], opts: DecodeOptions) -> Result<Msg, OfpError> {
    let mut r = Rd::new(b);
    let vendor = r.u32()?;
    if vendor != NX_VENDOR_ID {
        return Err(OfpError::BRC_BAD_VENDOR);
    }
    let subtype = r.u32()?;
    if v != Version::Of10 {
        return Err(OfpError::BRC_BAD_SUBTYPE);
    }
    let msg = match subtype {
        NXT_ROLE_REQUEST => Msg::RoleRequest(decode_role(&mut r)?),
        NXT_ROLE_REPLY => Msg::RoleReply(decode_role(&mut r)?),
        NXT_SET_FLOW_FORMAT => {
            let f = match r.u32()? {
                NXFF_OPENFLOW10 => FlowFormat::OpenFlow10,
                NXFF_NXM => FlowFormat::Nxm,
                _ => return Err(OfpError::BRC_EPERM),
            };
            Msg::SetFlowFormat(f)
        }
        NXT_FLOW_MOD => {
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
            let match_len = usize::from(r.u16()?);
            r.skip(6)?;
            let m = oxm::decode(r.bytes(match_len)?)?;
            r.skip(pad8(match_len))?;
            let acts = actions::decode_actions(Version::Of10, r.rest())?;
            Msg::FlowMod(body::flow_mod10(&w, m, acts, opts)?)
        }
        NXT_FLOW_MOD_TABLE_ID => {
            let set = r.u8()? != 0;
            r.skip(7)?;
            Msg::FlowModTableId(set)
        }
        _ => return Err(OfpError::BRC_BAD_SUBTYPE),
    };
    done(&r)?;
    Ok(msg)
}

fn decode_role(r: &mut Rd<'_>) -> Result<RoleMsg, OfpError> {
    let role = match r.u32()? {
        0 => Role::Equal,
        1 => Role::Master,
        2 => Role::Slave,
        _ => return Err(errors::RRFC_BAD_ROLE),
    };
    Ok(RoleMsg {
        role,
        generation_id: 0,
    })
}

/// Encodes a Nicira message (1.0 only).
pub(crate) fn encode_vendor(
    v: Version,
    xid: u32,
    msg: &Msg,
    out: &mut Vec<u8>,
) -> Result<(), OfpError> {
    if v != Version::Of10 {
        return Err(OfpError::BRC_BAD_VERSION);
    }
    let subtype = match msg {
        Msg::RoleRequest(_) => NXT_ROLE_REQUEST,
        Msg::RoleReply(_) => NXT_ROLE_REPLY,
        Msg::SetFlowFormat(_) => NXT_SET_FLOW_FORMAT,
        Msg::FlowMod(_) => NXT_FLOW_MOD,
        Msg::FlowModTableId(_) => NXT_FLOW_MOD_TABLE_ID,
        _ => return Err(OfpError::BRC_BAD_TYPE),
    };
    let at = start(v, t::VENDOR, xid, out);
    out.u32(NX_VENDOR_ID);
    out.u32(subtype);
    match msg {
        Msg::RoleRequest(r) | Msg::RoleReply(r) => out.u32(match r.role {
            Role::Equal | Role::NoChange => 0,
            Role::Master => 1,
            Role::Slave => 2,
        }),
        Msg::SetFlowFormat(f) => out.u32(match f {
            FlowFormat::OpenFlow10 => NXFF_OPENFLOW10,
            FlowFormat::Nxm => NXFF_NXM,
        }),
        Msg::FlowModTableId(set) => {
            out.u8(u8::from(*set));
            out.zeros(7);
        }
        Msg::FlowMod(m) => {
            let w = body::flow_mod10_fields(m);
            out.u64(w.cookie);
            out.u16(w.command);
            out.u16(w.idle_timeout);
            out.u16(w.hard_timeout);
            out.u16(w.priority);
            out.u32(w.buffer_id);
            out.u16(w.out_port);
            out.u16(w.flags);
            let len_at = out.len();
            out.u16(0);
            out.zeros(6);
            let n = oxm::encode(&m.fm.match_, false, out);
            out.zeros(pad8(n));
            patch_u16(
                out,
                len_at,
                u16::try_from(n).map_err(|_| OfpError::BRC_BAD_LEN)?,
            );
            actions::encode_actions(Version::Of10, &m.fm.actions, out)?;
        }
        _ => {}
    }
    finish(out, at)
}
