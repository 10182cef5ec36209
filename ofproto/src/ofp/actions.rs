//! OpenFlow actions and instructions on the wire, to and from the flat [`Action`] list a
//! rule keeps.
//!
//! # Formats
//!
//! Every action starts with `type:16 len:16`; `len` covers the whole action and is a
//! multiple of 8. OpenFlow 1.0 ([`Version::Of10`]) has its own action types (`output` with a
//! 16-bit port, `set_vlan_vid`, `strip_vlan`, `set_dl_src`, `set_nw_tos`, `enqueue`, ...);
//! OpenFlow 1.1 and later (here written as 1.3) have 32-bit ports, `push_vlan`/`pop_vlan`,
//! `set_queue`, `group`, `set_nw_ttl`, `dec_nw_ttl` and `set_field` with an OXM TLV, which
//! replaces the 1.0 header rewrites. Both carry Nicira extension actions (type `0xffff`,
//! vendor `0x00002320`, a 16-bit subtype): `resubmit`, `reg_load`, `reg_move`, `note`,
//! `output_reg`, `controller`, `dec_ttl`, ... OpenFlow 1.1+ instructions
//! (`goto_table`, `write_metadata`, `write_actions`, `apply_actions`, `clear_actions`,
//! `meter`) wrap action lists; [`decode_instructions`] flattens them into the rule's list, in
//! the order the instructions take effect.
//!
//! # Spelling families
//!
//! The flat [`Action`] list keeps the spelling an action was written in (`mod_dl_src`,
//! `set_field`, `load`). A version without that spelling gets the equivalent one, byte for
//! byte as OVS writes it (the vectors in `actions/ovs_vectors.txt` were captured from
//! `ovs-ofctl`):
//!
//! * OpenFlow 1.3 writes `mod_dl_src:A` as `set_field:A->eth_src`, `mod_nw_tos` as
//!   `set_field` of `ip_dscp`, `strip_vlan` as `pop_vlan`, `enqueue` as `set_queue`,
//!   `output`, `pop_queue`, and a masked `set_field` as Nicira `reg_load`s;
//! * OpenFlow 1.0 writes a whole-field `set_field` as the 1.0 action for the field where
//!   there is one (`set_field:A->eth_src` as `mod_dl_src:A`), any other as Nicira
//!   `reg_load`s of at most 64 contiguous bits each (`reg_load2` for a field without a
//!   32-bit header), `pop_vlan` as `strip_vlan`, `goto_table` as `resubmit(,T)` and
//!   `mod_nw_ecn`/`mod_nw_ttl` as `reg_load`s;
//! * every `resubmit` is written as Nicira `resubmit_table` (table 255 for "this table"),
//!   and plain `dec_ttl` as OpenFlow 1.3's `dec_nw_ttl` or Nicira `dec_ttl`.
//!
//! So decoding what was encoded gives the same actions, except for those respellings; a
//! second round gives the same bytes.
//!
//! `mod_vlan_vid`/`mod_vlan_pcp` push a tag when there is none; OpenFlow 1.3 writes them
//! as `push_vlan` plus `set_field` unless a tag is known to be there (after an earlier
//! push, or when the match given to [`encode_actions_for`] requires one), exactly as OVS
//! decides. `mod_tp_src`/`mod_tp_dst` become `set_field` of the transport protocol the match
//! names (TCP when unknown).
//!
//! # Errors
//!
//! Decoding reports the error the OpenFlow spec names for what is wrong (`OFPBAC_BAD_TYPE`,
//! `OFPBAC_BAD_LEN`, `OFPBAC_BAD_EXPERIMENTER`, `OFPBAC_BAD_EXP_TYPE`,
//! `OFPBAC_BAD_OUT_PORT`, `OFPBAC_BAD_ARGUMENT`, `OFPBAC_BAD_SET_*`; `OFPBIC_*` for
//! instructions) and never panics. Where OVS reports another error for the same bytes, we
//! report OVS's (a read-only `set_field` is `OFPBAC_BAD_SET_ARGUMENT`, a masked one in 1.3
//! `OFPBAC_BAD_SET_MASK`). Encoding fails only for an action the version cannot express
//! (`group` and `push_vlan` in OpenFlow 1.0, instructions other than `write_metadata` in an
//! action list).
//!
//! ```
//! use ofproto::ofctl;
//! use ofproto::ofp::{Version, actions};
//!
//! let list = ofctl::parse_actions("mod_dl_src:00:11:22:33:44:55,output:2", None).unwrap();
//! let mut of13 = Vec::new();
//! actions::encode_instructions(Version::Of13, &list, &mut of13).unwrap();
//! let back = actions::decode_instructions(Version::Of13, &of13).unwrap();
//! assert_eq!(
//!     ofctl::format::actions_to_string(&back, None),
//!     "set_field:00:11:22:33:44:55->eth_src,output:2"
//! );
//! let mut of10 = Vec::new();
//! actions::encode_actions(Version::Of10, &list, &mut of10).unwrap();
//! assert_eq!(actions::decode_actions(Version::Of10, &of10), Ok(list));
//! ```

use std::net::Ipv4Addr;

use netdev::EthAddr;

use super::Version;
use super::oxm;
use super::port;
use crate::actions::{Action, Controller, PacketInReason, SubField};
use crate::error::OfpError;
use crate::fields::Field;
use crate::flow::OfpPort;
use crate::matching::Match;

impl OfpError {
    /// `OFPET_BAD_ACTION` / `OFPBAC_BAD_TYPE`.
    pub const BAC_BAD_TYPE: OfpError = OfpError {
        type_: 2,
        code: 0,
        name: "OFPBAC_BAD_TYPE",
    };
    /// `OFPET_BAD_ACTION` / `OFPBAC_BAD_LEN`.
    pub const BAC_BAD_LEN: OfpError = OfpError {
        type_: 2,
        code: 1,
        name: "OFPBAC_BAD_LEN",
    };
    /// `OFPET_BAD_ACTION` / `OFPBAC_BAD_EXPERIMENTER` (`OFPBAC_BAD_VENDOR` in 1.0).
    pub const BAC_BAD_EXPERIMENTER: OfpError = OfpError {
        type_: 2,
        code: 2,
        name: "OFPBAC_BAD_EXPERIMENTER",
    };
    /// `OFPET_BAD_ACTION` / `OFPBAC_BAD_EXP_TYPE` (`OFPBAC_BAD_VENDOR_TYPE` in 1.0).
    pub const BAC_BAD_EXP_TYPE: OfpError = OfpError {
        type_: 2,
        code: 3,
        name: "OFPBAC_BAD_EXP_TYPE",
    };
    /// `OFPET_BAD_ACTION` / `OFPBAC_UNSUPPORTED_ORDER`.
    pub const BAC_UNSUPPORTED_ORDER: OfpError = OfpError {
        type_: 2,
        code: 11,
        name: "OFPBAC_UNSUPPORTED_ORDER",
    };
    /// `OFPET_BAD_ACTION` / `OFPBAC_BAD_SET_TYPE`.
    pub const BAC_BAD_SET_TYPE: OfpError = OfpError {
        type_: 2,
        code: 13,
        name: "OFPBAC_BAD_SET_TYPE",
    };
    /// `OFPET_BAD_ACTION` / `OFPBAC_BAD_SET_LEN`.
    pub const BAC_BAD_SET_LEN: OfpError = OfpError {
        type_: 2,
        code: 14,
        name: "OFPBAC_BAD_SET_LEN",
    };
    /// `OFPET_BAD_ACTION` / `OFPBAC_BAD_SET_MASK` (OpenFlow 1.5's code, which OVS also
    /// sends for a masked `set_field` in 1.3).
    pub const BAC_BAD_SET_MASK: OfpError = OfpError {
        type_: 2,
        code: 16,
        name: "OFPBAC_BAD_SET_MASK",
    };
    /// `OFPET_BAD_INSTRUCTION` / `OFPBIC_UNKNOWN_INST`.
    pub const BIC_UNKNOWN_INST: OfpError = OfpError {
        type_: 3,
        code: 0,
        name: "OFPBIC_UNKNOWN_INST",
    };
    /// `OFPET_BAD_INSTRUCTION` / `OFPBIC_BAD_EXPERIMENTER`.
    pub const BIC_BAD_EXPERIMENTER: OfpError = OfpError {
        type_: 3,
        code: 5,
        name: "OFPBIC_BAD_EXPERIMENTER",
    };
    /// `OFPET_BAD_INSTRUCTION` / `OFPBIC_BAD_LEN`.
    pub const BIC_BAD_LEN: OfpError = OfpError {
        type_: 3,
        code: 7,
        name: "OFPBIC_BAD_LEN",
    };
    /// `OFPET_BAD_INSTRUCTION` / `OFPBIC_DUP_INST`: code 9 as OpenFlow 1.4 numbers it
    /// (OpenFlow 1.3 has no standard code; OVS sends it as an ONF extension error there).
    pub const BIC_DUP_INST: OfpError = OfpError {
        type_: 3,
        code: 9,
        name: "OFPBIC_DUP_INST",
    };
}

/// The Nicira vendor (experimenter) id.
pub const NX_VENDOR_ID: u32 = 0x0000_2320;
/// The action type of vendor/experimenter actions (`OFPAT_VENDOR`, `OFPAT_EXPERIMENTER`).
pub const OFPAT_VENDOR: u16 = 0xffff;

/// OpenFlow 1.0 action types (`OFPAT10_*`).
pub mod of10 {
    /// `OFPAT10_OUTPUT`.
    pub const OUTPUT: u16 = 0;
    /// `OFPAT10_SET_VLAN_VID`.
    pub const SET_VLAN_VID: u16 = 1;
    /// `OFPAT10_SET_VLAN_PCP`.
    pub const SET_VLAN_PCP: u16 = 2;
    /// `OFPAT10_STRIP_VLAN`.
    pub const STRIP_VLAN: u16 = 3;
    /// `OFPAT10_SET_DL_SRC`.
    pub const SET_DL_SRC: u16 = 4;
    /// `OFPAT10_SET_DL_DST`.
    pub const SET_DL_DST: u16 = 5;
    /// `OFPAT10_SET_NW_SRC`.
    pub const SET_NW_SRC: u16 = 6;
    /// `OFPAT10_SET_NW_DST`.
    pub const SET_NW_DST: u16 = 7;
    /// `OFPAT10_SET_NW_TOS`.
    pub const SET_NW_TOS: u16 = 8;
    /// `OFPAT10_SET_TP_SRC`.
    pub const SET_TP_SRC: u16 = 9;
    /// `OFPAT10_SET_TP_DST`.
    pub const SET_TP_DST: u16 = 10;
    /// `OFPAT10_ENQUEUE`.
    pub const ENQUEUE: u16 = 11;
}

/// OpenFlow 1.1+ action types (`OFPAT11_*`, `OFPAT12_*`) and instruction types
/// (`OFPIT11_*`, `OFPIT13_*`).
pub mod of13 {
    /// `OFPAT11_OUTPUT`.
    pub const OUTPUT: u16 = 0;
    /// `OFPAT11_PUSH_VLAN`.
    pub const PUSH_VLAN: u16 = 17;
    /// `OFPAT11_POP_VLAN`.
    pub const POP_VLAN: u16 = 18;
    /// `OFPAT11_SET_QUEUE`.
    pub const SET_QUEUE: u16 = 21;
    /// `OFPAT11_GROUP`.
    pub const GROUP: u16 = 22;
    /// `OFPAT11_SET_NW_TTL`.
    pub const SET_NW_TTL: u16 = 23;
    /// `OFPAT11_DEC_NW_TTL`.
    pub const DEC_NW_TTL: u16 = 24;
    /// `OFPAT12_SET_FIELD`.
    pub const SET_FIELD: u16 = 25;
    /// `OFPIT11_GOTO_TABLE`.
    pub const IT_GOTO_TABLE: u16 = 1;
    /// `OFPIT11_WRITE_METADATA`.
    pub const IT_WRITE_METADATA: u16 = 2;
    /// `OFPIT11_WRITE_ACTIONS`.
    pub const IT_WRITE_ACTIONS: u16 = 3;
    /// `OFPIT11_APPLY_ACTIONS`.
    pub const IT_APPLY_ACTIONS: u16 = 4;
    /// `OFPIT11_CLEAR_ACTIONS`.
    pub const IT_CLEAR_ACTIONS: u16 = 5;
    /// `OFPIT13_METER`.
    pub const IT_METER: u16 = 6;
    /// `OFPIT_EXPERIMENTER`.
    pub const IT_EXPERIMENTER: u16 = 0xffff;
}

/// Nicira extension action subtypes (`NXAST_*`).
pub mod nxast {
    /// `NXAST_RESUBMIT`.
    pub const RESUBMIT: u16 = 1;
    /// `NXAST_SET_QUEUE`.
    pub const SET_QUEUE: u16 = 4;
    /// `NXAST_POP_QUEUE`.
    pub const POP_QUEUE: u16 = 5;
    /// `NXAST_REG_MOVE`.
    pub const REG_MOVE: u16 = 6;
    /// `NXAST_REG_LOAD`.
    pub const REG_LOAD: u16 = 7;
    /// `NXAST_NOTE`.
    pub const NOTE: u16 = 8;
    /// `NXAST_RESUBMIT_TABLE`.
    pub const RESUBMIT_TABLE: u16 = 14;
    /// `NXAST_OUTPUT_REG`.
    pub const OUTPUT_REG: u16 = 15;
    /// `NXAST_DEC_TTL`.
    pub const DEC_TTL: u16 = 18;
    /// `NXAST_CONTROLLER`.
    pub const CONTROLLER: u16 = 20;
    /// `NXAST_DEC_TTL_CNT_IDS`.
    pub const DEC_TTL_CNT_IDS: u16 = 21;
    /// `NXAST_WRITE_METADATA`.
    pub const WRITE_METADATA: u16 = 22;
    /// `NXAST_REG_LOAD2`.
    pub const REG_LOAD2: u16 = 33;
    /// `NXAST_CONTROLLER2`.
    pub const CONTROLLER2: u16 = 37;
    /// `NXAST_GROUP`: OpenFlow 1.0 has no group action of its own.
    pub const GROUP: u16 = 40;
}

/// `NXAC2PT_*`: properties of `NXAST_CONTROLLER2`.
mod nxac2pt {
    pub const MAX_LEN: u16 = 0;
    pub const CONTROLLER_ID: u16 = 1;
    pub const REASON: u16 = 2;
    pub const USERDATA: u16 = 3;
    pub const PAUSE: u16 = 4;
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at + 4)?;
    Some(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

fn be64(b: &[u8], at: usize) -> Option<u64> {
    let s = b.get(at..at + 8)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(s);
    Some(u64::from_be_bytes(a))
}

fn is_of10(v: Version) -> bool {
    v == Version::Of10
}

// ---------------------------------------------------------------------------------------
// Decoding.

/// Splits the first action or instruction (`type:16 len:16`, `len` a multiple of 8 within
/// `b`) off `b`.
fn split(b: &[u8], bad_len: OfpError) -> Result<(u16, &[u8], &[u8]), OfpError> {
    let typ = be16(b, 0).ok_or(bad_len)?;
    let len = usize::from(be16(b, 2).ok_or(bad_len)?);
    if len < 8 || len % 8 != 0 || len > b.len() {
        return Err(bad_len);
    }
    Ok((typ, &b[..len], &b[len..]))
}

/// Requires `a` to be exactly `n` bytes long.
fn exact(a: &[u8], n: usize) -> Result<(), OfpError> {
    if a.len() == n {
        Ok(())
    } else {
        Err(OfpError::BAC_BAD_LEN)
    }
}

fn out_port10(p: u16) -> Result<OfpPort, OfpError> {
    let port = port::from_of10(p);
    if port == OfpPort::NONE || (port.0 >= OfpPort::MAX.0 && port.0 < OfpPort::IN_PORT.0) {
        return Err(OfpError::BAC_BAD_OUT_PORT);
    }
    Ok(port)
}

fn out_port11(p: u32) -> Result<OfpPort, OfpError> {
    let port = port::from_of11(p)?;
    if port == OfpPort::NONE || (port.0 >= OfpPort::MAX.0 && port.0 < OfpPort::IN_PORT.0) {
        return Err(OfpError::BAC_BAD_OUT_PORT);
    }
    Ok(port)
}

fn output(port: OfpPort, max_len: u16) -> Action {
    if port == OfpPort::CONTROLLER {
        Action::Controller(Controller {
            max_len,
            ..Controller::default()
        })
    } else {
        Action::Output(port)
    }
}

fn mac_at(a: &[u8], at: usize) -> Result<EthAddr, OfpError> {
    let s = a.get(at..at + 6).ok_or(OfpError::BAC_BAD_LEN)?;
    let mut m = [0u8; 6];
    m.copy_from_slice(s);
    Ok(EthAddr(m))
}

/// Decodes an action list of version `v` (OpenFlow 1.0, or 1.1+ for any later version).
///
/// # Errors
///
/// `OFPBAC_BAD_LEN` for a length that is not a multiple of 8, runs past `b` or does not
/// fit the action; `OFPBAC_BAD_TYPE` for an unknown action type (or one of the other
/// version); `OFPBAC_BAD_EXPERIMENTER`/`OFPBAC_BAD_EXP_TYPE` for an unknown vendor or
/// Nicira subtype; `OFPBAC_BAD_OUT_PORT`, `OFPBAC_BAD_ARGUMENT`, `OFPBAC_BAD_SET_TYPE`,
/// `OFPBAC_BAD_SET_LEN`, `OFPBAC_BAD_SET_ARGUMENT` for bad contents.
pub fn decode_actions(v: Version, b: &[u8]) -> Result<Vec<Action>, OfpError> {
    let mut list = Vec::new();
    let mut rest = b;
    while !rest.is_empty() {
        let (typ, a, r) = split(rest, OfpError::BAC_BAD_LEN)?;
        rest = r;
        if typ == OFPAT_VENDOR {
            list.push(decode_vendor(a)?);
        } else if is_of10(v) {
            list.push(decode_of10(typ, a)?);
        } else {
            list.push(decode_of11(typ, a)?);
        }
    }
    Ok(list)
}

fn decode_of10(typ: u16, a: &[u8]) -> Result<Action, OfpError> {
    let bad = OfpError::BAC_BAD_LEN;
    let u16_at = |at| be16(a, at).ok_or(bad);
    let len8 = || exact(a, 8);
    Ok(match typ {
        of10::OUTPUT => {
            len8()?;
            output(out_port10(u16_at(4)?)?, u16_at(6)?)
        }
        of10::SET_VLAN_VID => {
            len8()?;
            let vid = u16_at(4)?;
            if vid & !0x0fff != 0 {
                return Err(OfpError::BAC_BAD_ARGUMENT);
            }
            Action::SetVlanVid(vid)
        }
        of10::SET_VLAN_PCP => {
            len8()?;
            let pcp = a[4];
            if pcp > 7 {
                return Err(OfpError::BAC_BAD_ARGUMENT);
            }
            Action::SetVlanPcp(pcp)
        }
        of10::STRIP_VLAN => {
            len8()?;
            Action::StripVlan
        }
        of10::SET_DL_SRC | of10::SET_DL_DST => {
            exact(a, 16)?;
            let m = mac_at(a, 4)?;
            if typ == of10::SET_DL_SRC {
                Action::SetEthSrc(m)
            } else {
                Action::SetEthDst(m)
            }
        }
        of10::SET_NW_SRC | of10::SET_NW_DST => {
            len8()?;
            let ip = Ipv4Addr::from(be32(a, 4).ok_or(bad)?);
            if typ == of10::SET_NW_SRC {
                Action::SetIpv4Src(ip)
            } else {
                Action::SetIpv4Dst(ip)
            }
        }
        of10::SET_NW_TOS => {
            len8()?;
            let tos = a[4];
            if tos & 0x03 != 0 {
                return Err(OfpError::BAC_BAD_ARGUMENT);
            }
            Action::SetIpDscp(tos)
        }
        of10::SET_TP_SRC => {
            len8()?;
            Action::SetL4Src(u16_at(4)?)
        }
        of10::SET_TP_DST => {
            len8()?;
            Action::SetL4Dst(u16_at(4)?)
        }
        of10::ENQUEUE => {
            exact(a, 16)?;
            let port = port::from_of10(u16_at(4)?);
            if port.0 >= OfpPort::MAX.0 && port != OfpPort::IN_PORT && port != OfpPort::LOCAL {
                return Err(OfpError::BAC_BAD_OUT_PORT);
            }
            Action::Enqueue {
                port,
                queue: be32(a, 12).ok_or(bad)?,
            }
        }
        _ => return Err(OfpError::BAC_BAD_TYPE),
    })
}

fn decode_of11(typ: u16, a: &[u8]) -> Result<Action, OfpError> {
    let bad = OfpError::BAC_BAD_LEN;
    let len8 = || exact(a, 8);
    Ok(match typ {
        of13::OUTPUT => {
            exact(a, 16)?;
            let p = out_port11(be32(a, 4).ok_or(bad)?)?;
            output(p, be16(a, 8).ok_or(bad)?)
        }
        of13::PUSH_VLAN => {
            len8()?;
            let tpid = be16(a, 4).ok_or(bad)?;
            if tpid != 0x8100 && tpid != 0x88a8 {
                return Err(OfpError::BAC_BAD_ARGUMENT);
            }
            Action::PushVlan(tpid)
        }
        of13::POP_VLAN => {
            len8()?;
            Action::PopVlan
        }
        of13::SET_QUEUE => {
            len8()?;
            Action::SetQueue(be32(a, 4).ok_or(bad)?)
        }
        of13::GROUP => {
            len8()?;
            Action::Group(be32(a, 4).ok_or(bad)?)
        }
        of13::SET_NW_TTL => {
            len8()?;
            Action::SetIpTtl(a[4])
        }
        of13::DEC_NW_TTL => {
            len8()?;
            Action::DecTtl(vec![])
        }
        of13::SET_FIELD => {
            let (field, value, mask) = decode_set_field(&a[4..])?;
            if mask != field.valid_bits() {
                // OpenFlow 1.2 to 1.4 set whole fields only.
                return Err(OfpError::BAC_BAD_SET_MASK);
            }
            if field == Field::VlanVid && value & 0x1000 == 0 {
                // Setting a VLAN id needs OFPVID_PRESENT.
                return Err(OfpError::BAC_BAD_SET_ARGUMENT);
            }
            Action::SetField { field, value, mask }
        }
        _ => return Err(OfpError::BAC_BAD_TYPE),
    })
}

/// Decodes the TLV of a `set_field` or `reg_load2` (`b` runs to the end of the action: the
/// TLV, then zero padding).
fn decode_set_field(b: &[u8]) -> Result<(Field, u128, u128), OfpError> {
    let (field, value, mask, n) = oxm::decode_set_field_tlv(b)
        .map_err(|e| match e {
            oxm::TlvError::Unknown => OfpError::BAC_BAD_SET_TYPE,
            oxm::TlvError::Truncated | oxm::TlvError::WrongLen => OfpError::BAC_BAD_SET_LEN,
        })?
        .map_err(|e| {
            if e == OfpError::BMC_BAD_WILDCARDS {
                // As OVS reports it.
                e
            } else {
                OfpError::BAC_BAD_SET_ARGUMENT
            }
        })?;
    if b[n..].iter().any(|&x| x != 0) {
        return Err(OfpError::BAC_BAD_SET_ARGUMENT);
    }
    if !field.info().writable {
        // OVS reports a read-only field as a bad argument.
        return Err(OfpError::BAC_BAD_SET_ARGUMENT);
    }
    Ok((field, value & mask, mask))
}

/// The field a 32-bit NXM/OXM header names, for `reg_load`, `reg_move` and `output_reg`.
fn field_of_header(h: u32) -> Result<Field, OfpError> {
    let mut b = Vec::with_capacity(64);
    b.extend_from_slice(&(h & !0x100).to_be_bytes());
    b.resize(
        4 + usize::from(u8::try_from(h & 0xff).unwrap_or_default()),
        0,
    );
    oxm::decode_field(&b)
        .map(|(f, ..)| f)
        .map_err(|_| OfpError::BAC_BAD_ARGUMENT)
}

/// A subfield from `ofs_nbits` (`ofs << 6 | (n_bits - 1)`) and a header.
fn subfield(ofs_nbits: u16, header: u32) -> Result<SubField, OfpError> {
    let field = field_of_header(header)?;
    SubField::new(
        field,
        u32::from(ofs_nbits >> 6),
        u32::from(ofs_nbits & 0x3f) + 1,
    )
    .map_err(|_| OfpError::BAC_BAD_ARGUMENT)
}

fn reason_from_wire(r: u8) -> Result<PacketInReason, OfpError> {
    Ok(match r {
        0 => PacketInReason::NoMatch,
        1 => PacketInReason::Action,
        2 => PacketInReason::InvalidTtl,
        3 => PacketInReason::ActionSet,
        4 => PacketInReason::Group,
        5 => PacketInReason::PacketOut,
        _ => return Err(OfpError::BAC_BAD_ARGUMENT),
    })
}

fn reason_to_wire(r: PacketInReason) -> u8 {
    match r {
        PacketInReason::NoMatch | PacketInReason::ExplicitMiss | PacketInReason::ImplicitMiss => 0,
        PacketInReason::Action => 1,
        PacketInReason::InvalidTtl => 2,
        PacketInReason::ActionSet => 3,
        PacketInReason::Group => 4,
        PacketInReason::PacketOut => 5,
    }
}

fn resubmit_port(p: u16) -> Option<OfpPort> {
    let port = port::from_of10(p);
    (port != OfpPort::IN_PORT).then_some(port)
}

fn decode_vendor(a: &[u8]) -> Result<Action, OfpError> {
    let bad = OfpError::BAC_BAD_LEN;
    if a.len() < 16 {
        // Every Nicira action is at least 16 bytes; shorter ones cannot name a subtype.
        return Err(if be32(a, 4) == Some(NX_VENDOR_ID) || a.len() < 8 {
            bad
        } else {
            OfpError::BAC_BAD_EXPERIMENTER
        });
    }
    if be32(a, 4) != Some(NX_VENDOR_ID) {
        return Err(OfpError::BAC_BAD_EXPERIMENTER);
    }
    let sub = be16(a, 8).ok_or(bad)?;
    let u16_at = |at| be16(a, at).ok_or(bad);
    let u32_at = |at| be32(a, at).ok_or(bad);
    Ok(match sub {
        nxast::RESUBMIT => {
            exact(a, 16)?;
            Action::Resubmit {
                port: resubmit_port(u16_at(10)?),
                table: None,
            }
        }
        nxast::RESUBMIT_TABLE => {
            exact(a, 16)?;
            let t = a[12];
            Action::Resubmit {
                port: resubmit_port(u16_at(10)?),
                table: (t != 255).then_some(t),
            }
        }
        nxast::SET_QUEUE => {
            exact(a, 16)?;
            Action::SetQueue(u32_at(12)?)
        }
        nxast::POP_QUEUE => {
            exact(a, 16)?;
            Action::PopQueue
        }
        nxast::REG_MOVE => {
            exact(a, 24)?;
            let n_bits = u32::from(u16_at(10)?);
            let src = field_of_header(u32_at(16)?)?;
            let dst = field_of_header(u32_at(20)?)?;
            let sub =
                |f, ofs| SubField::new(f, ofs, n_bits).map_err(|_| OfpError::BAC_BAD_ARGUMENT);
            Action::Move {
                src: sub(src, u32::from(u16_at(12)?))?,
                dst: sub(dst, u32::from(u16_at(14)?))?,
            }
        }
        nxast::REG_LOAD => {
            exact(a, 24)?;
            // As OVS reports them: a range past the field is a bad length, a read-only
            // field a bad argument.
            let dst = subfield(u16_at(10)?, u32_at(12)?).map_err(|_| OfpError::BAC_BAD_SET_LEN)?;
            let value = u128::from(be64(a, 16).ok_or(bad)?);
            if dst.n_bits < 64 && value >> dst.n_bits != 0 {
                return Err(OfpError::BAC_BAD_ARGUMENT);
            }
            if !dst.field.info().writable {
                return Err(OfpError::BAC_BAD_SET_ARGUMENT);
            }
            Action::Load { dst, value }
        }
        nxast::REG_LOAD2 => {
            let (field, value, mask) = decode_set_field(&a[10..])?;
            Action::SetField { field, value, mask }
        }
        nxast::NOTE => Action::Note(a[10..].to_vec()),
        nxast::OUTPUT_REG => {
            exact(a, 24)?;
            if a[18..24].iter().any(|&x| x != 0) {
                return Err(OfpError::BAC_BAD_ARGUMENT);
            }
            Action::OutputReg {
                src: subfield(u16_at(10)?, u32_at(12)?)?,
                max_len: u16_at(16)?,
            }
        }
        nxast::DEC_TTL => {
            exact(a, 16)?;
            Action::DecTtl(vec![])
        }
        nxast::DEC_TTL_CNT_IDS => {
            let n = usize::from(u16_at(10)?);
            if a.len() != 16 + (2 * n).div_ceil(8) * 8 {
                return Err(bad);
            }
            let ids = (0..n)
                .map(|i| u16_at(16 + 2 * i))
                .collect::<Result<Vec<u16>, _>>()?;
            Action::DecTtl(ids)
        }
        nxast::CONTROLLER => {
            exact(a, 16)?;
            Action::Controller(Controller {
                max_len: u16_at(10)?,
                controller_id: u16_at(12)?,
                reason: reason_from_wire(a[14])?,
                userdata: None,
                pause: false,
            })
        }
        nxast::CONTROLLER2 => Action::Controller(decode_controller2(&a[16..])?),
        nxast::GROUP => {
            exact(a, 16)?;
            Action::Group(u32_at(12)?)
        }
        nxast::WRITE_METADATA => {
            exact(a, 32)?;
            Action::WriteMetadata {
                value: be64(a, 16).ok_or(bad)?,
                mask: be64(a, 24).ok_or(bad)?,
            }
        }
        _ => return Err(OfpError::BAC_BAD_EXP_TYPE),
    })
}

fn decode_controller2(mut b: &[u8]) -> Result<Controller, OfpError> {
    let mut c = Controller::default();
    let bad = OfpError::BAC_BAD_LEN;
    while !b.is_empty() {
        let typ = be16(b, 0).ok_or(bad)?;
        let len = usize::from(be16(b, 2).ok_or(bad)?);
        let padded = len.div_ceil(8) * 8;
        if len < 4 || padded > b.len() {
            return Err(bad);
        }
        let body = &b[4..len];
        let want = |n: usize| {
            if body.len() == n {
                Ok(())
            } else {
                Err(OfpError::BAC_BAD_ARGUMENT)
            }
        };
        match typ {
            nxac2pt::MAX_LEN | nxac2pt::CONTROLLER_ID => {
                // A 16-bit value, with or without 2 bytes of padding in the length.
                if body.len() != 2 && body.len() != 4 {
                    return Err(OfpError::BAC_BAD_ARGUMENT);
                }
                let v = u16::from_be_bytes([body[0], body[1]]);
                if typ == nxac2pt::MAX_LEN {
                    c.max_len = v;
                } else {
                    c.controller_id = v;
                }
            }
            nxac2pt::REASON => {
                want(1)?;
                c.reason = reason_from_wire(body[0])?;
            }
            nxac2pt::USERDATA => c.userdata = Some(body.to_vec()),
            nxac2pt::PAUSE => {
                want(0)?;
                c.pause = true;
            }
            _ => return Err(OfpError::BAC_BAD_ARGUMENT),
        }
        b = &b[padded..];
    }
    Ok(c)
}

/// Decodes OpenFlow 1.1+ instructions into the flat action list of a rule, in the order
/// they take effect: `meter`, the applied actions, `clear_actions`, `write_actions`,
/// `write_metadata`, `goto_table`, whatever order they had on the wire. For OpenFlow 1.0,
/// which has no instructions, `b` is an action list.
///
/// # Errors
///
/// `OFPBIC_BAD_LEN`, `OFPBIC_UNKNOWN_INST`, `OFPBIC_BAD_EXPERIMENTER`, `OFPBIC_DUP_INST`
/// (an instruction twice), and the errors of [`decode_actions`] for the actions inside.
pub fn decode_instructions(v: Version, b: &[u8]) -> Result<Vec<Action>, OfpError> {
    if is_of10(v) {
        return decode_actions(v, b);
    }
    // Slots in the order instructions take effect (their types 6, 4, 5, 3, 2, 1).
    let mut slots: [Option<Vec<Action>>; 6] = Default::default();
    let mut rest = b;
    while !rest.is_empty() {
        let (typ, ins, r) = split(rest, OfpError::BIC_BAD_LEN)?;
        rest = r;
        let (slot, actions) = match typ {
            of13::IT_METER => {
                exact(ins, 8).map_err(|_| OfpError::BIC_BAD_LEN)?;
                (0, vec![Action::Meter(be32(ins, 4).unwrap_or_default())])
            }
            of13::IT_APPLY_ACTIONS => (1, decode_actions(v, &ins[8..])?),
            of13::IT_CLEAR_ACTIONS => {
                exact(ins, 8).map_err(|_| OfpError::BIC_BAD_LEN)?;
                (2, vec![Action::ClearActions])
            }
            of13::IT_WRITE_ACTIONS => {
                (3, vec![Action::WriteActions(decode_actions(v, &ins[8..])?)])
            }
            of13::IT_WRITE_METADATA => {
                exact(ins, 24).map_err(|_| OfpError::BIC_BAD_LEN)?;
                (
                    4,
                    vec![Action::WriteMetadata {
                        value: be64(ins, 8).unwrap_or_default(),
                        mask: be64(ins, 16).unwrap_or_default(),
                    }],
                )
            }
            of13::IT_GOTO_TABLE => {
                exact(ins, 8).map_err(|_| OfpError::BIC_BAD_LEN)?;
                (5, vec![Action::GotoTable(ins[4])])
            }
            of13::IT_EXPERIMENTER => return Err(OfpError::BIC_BAD_EXPERIMENTER),
            _ => return Err(OfpError::BIC_UNKNOWN_INST),
        };
        if slots[slot].is_some() {
            return Err(OfpError::BIC_DUP_INST);
        }
        slots[slot] = Some(actions);
    }
    Ok(slots.into_iter().flatten().flatten().collect())
}

// ---------------------------------------------------------------------------------------
// Encoding.

/// What the encoder knows of the packet at each action: whether it has a VLAN tag and its
/// IP protocol (for OpenFlow 1.3's `mod_vlan_*` and `mod_tp_*`).
#[derive(Clone, Copy)]
struct Ctx {
    v: Version,
    has_vlan: bool,
    nw_proto: u8,
}

/// Starts an action of type `typ`; [`finish`] pads it and writes its length.
fn begin(out: &mut Vec<u8>, typ: u16) -> usize {
    let start = out.len();
    out.extend_from_slice(&typ.to_be_bytes());
    out.extend_from_slice(&[0, 0]);
    start
}

fn begin_nx(out: &mut Vec<u8>, subtype: u16) -> usize {
    let start = begin(out, OFPAT_VENDOR);
    out.extend_from_slice(&NX_VENDOR_ID.to_be_bytes());
    out.extend_from_slice(&subtype.to_be_bytes());
    start
}

/// Pads the action (or instruction, or property) begun at `start` to a multiple of 8
/// bytes and writes its length; `unpadded` writes the length before padding (properties).
fn finish_with(out: &mut Vec<u8>, start: usize, unpadded: bool) -> Result<(), OfpError> {
    let raw = out.len() - start;
    let padded = raw.div_ceil(8) * 8;
    out.resize(start + padded, 0);
    let len =
        u16::try_from(if unpadded { raw } else { padded }).map_err(|_| OfpError::BAC_BAD_LEN)?;
    out[start + 2..start + 4].copy_from_slice(&len.to_be_bytes());
    Ok(())
}

fn finish(out: &mut Vec<u8>, start: usize) -> Result<(), OfpError> {
    finish_with(out, start, false)
}

/// The 32-bit header a `reg_load`/`reg_move`/`output_reg` names a field with, and the
/// offset to add to bit positions (for views such as `dl_vlan` of `vlan_tci`).
fn header_of(field: Field) -> Result<(u32, u32), OfpError> {
    let (field, shift) = match field {
        Field::DlVlan => (Field::VlanTci, 0),
        Field::DlVlanPcp => (Field::VlanTci, 13),
        f => (f, 0),
    };
    let code = oxm::nxm_code(field)
        .or_else(|| oxm::oxm_code(field).filter(|c| c.experimenter.is_none()))
        .ok_or(OfpError::BAC_BAD_ARGUMENT)?;
    Ok((code.header(false), shift))
}

fn ofs_nbits(ofs: u32, n_bits: u32) -> u16 {
    u16::try_from((ofs << 6) | (n_bits.saturating_sub(1) & 0x3f)).unwrap_or(u16::MAX)
}

fn put_output(out: &mut Vec<u8>, v: Version, port: OfpPort, max_len: u16) -> Result<(), OfpError> {
    if is_of10(v) {
        let p = u16::try_from(port.0).map_err(|_| OfpError::BAC_BAD_OUT_PORT)?;
        let s = begin(out, of10::OUTPUT);
        out.extend_from_slice(&p.to_be_bytes());
        out.extend_from_slice(&max_len.to_be_bytes());
        finish(out, s)
    } else {
        let s = begin(out, of13::OUTPUT);
        out.extend_from_slice(&port::to_of11(port).to_be_bytes());
        out.extend_from_slice(&max_len.to_be_bytes());
        out.extend_from_slice(&[0; 6]);
        finish(out, s)
    }
}

/// The OpenFlow 1.0 action that sets the whole of `field` to `value`, if there is one.
fn legacy_set(field: Field, value: u128) -> Option<Action> {
    let u16v = u16::try_from(value & 0xffff).unwrap_or_default();
    let u8v = u8::try_from(value & 0xff).unwrap_or_default();
    let ip = || Ipv4Addr::from(u32::try_from(value & 0xffff_ffff).unwrap_or_default());
    let mac = || {
        let b = value.to_be_bytes();
        let mut m = [0u8; 6];
        m.copy_from_slice(&b[10..16]);
        EthAddr(m)
    };
    Some(match field {
        Field::EthSrc => Action::SetEthSrc(mac()),
        Field::EthDst => Action::SetEthDst(mac()),
        Field::Ipv4Src => Action::SetIpv4Src(ip()),
        Field::Ipv4Dst => Action::SetIpv4Dst(ip()),
        Field::NwTos => Action::SetIpDscp(u8v & 0xfc),
        Field::IpDscp => Action::SetIpDscp((u8v << 2) & 0xfc),
        Field::TcpSrc | Field::UdpSrc | Field::SctpSrc => Action::SetL4Src(u16v),
        Field::TcpDst | Field::UdpDst | Field::SctpDst => Action::SetL4Dst(u16v),
        Field::VlanVid if u16v & 0x1000 == 0 => Action::StripVlan,
        Field::VlanVid | Field::DlVlan => Action::SetVlanVid(u16v & 0x0fff),
        Field::VlanPcp | Field::DlVlanPcp => Action::SetVlanPcp(u8v & 7),
        _ => return None,
    })
}

/// Writes `reg_load`s of the bits of `mask` in `field` (at most 64 contiguous bits each,
/// lowest first), as OVS writes a `set_field` that has no other form.
fn put_reg_loads(out: &mut Vec<u8>, field: Field, value: u128, mask: u128) -> Result<(), OfpError> {
    let mut rest = mask;
    while rest != 0 {
        let ofs = rest.trailing_zeros();
        let run = (rest >> ofs).trailing_ones().min(64);
        let dst = SubField::new(field, ofs, run).map_err(|_| OfpError::BAC_BAD_ARGUMENT)?;
        put_reg_load(out, &dst, (value & dst.mask()) >> ofs)?;
        rest &= !dst.mask();
    }
    Ok(())
}

/// One `reg_load` (`dst` at most 64 bits wide).
fn put_reg_load(out: &mut Vec<u8>, dst: &SubField, value: u128) -> Result<(), OfpError> {
    let (h, shift) = header_of(dst.field)?;
    let v = u64::try_from(value).map_err(|_| OfpError::BAC_BAD_ARGUMENT)?;
    let s = begin_nx(out, nxast::REG_LOAD);
    out.extend_from_slice(&ofs_nbits(dst.ofs + shift, dst.n_bits).to_be_bytes());
    out.extend_from_slice(&h.to_be_bytes());
    out.extend_from_slice(&v.to_be_bytes());
    finish(out, s)
}

/// `set_field` as OVS writes it: in OpenFlow 1.0 the 1.0 action for the field when there
/// is one; in 1.3 `OFPAT_SET_FIELD` for a whole field; otherwise `reg_load`s of the masked
/// bits, or a Nicira `reg_load2` for a field `reg_load` cannot name.
fn put_set_field(
    out: &mut Vec<u8>,
    ctx: &mut Ctx,
    field: Field,
    value: u128,
    mask: u128,
) -> Result<(), OfpError> {
    let of10 = is_of10(ctx.v);
    let (field, value, mask) = match (field, of10) {
        // Views without a code of their own.
        (Field::DlVlan, false) => (Field::VlanVid, value | 0x1000, 0x1fff & (mask | 0x1000)),
        (Field::DlVlanPcp, false) => (Field::VlanPcp, value, mask),
        (f, _) => (f, value, mask),
    };
    let valid = field.valid_bits();
    let whole = mask & valid == valid;
    if whole
        && of10
        && let Some(a) = legacy_set(field, value)
    {
        return encode_one(out, &a, ctx);
    }
    if whole && !of10 && oxm::code_for(field, true).is_some() {
        let s = begin(out, of13::SET_FIELD);
        oxm::encode_field(field, value & valid, None, true, out)
            .map_err(|_| OfpError::BAC_BAD_SET_TYPE)?;
        return finish(out, s);
    }
    if header_of(field).is_ok() {
        return put_reg_loads(out, field, value, mask & valid);
    }
    let s = begin_nx(out, nxast::REG_LOAD2);
    let m = (!whole).then_some(mask);
    oxm::encode_field(field, value & mask, m, !of10, out)
        .map_err(|_| OfpError::BAC_BAD_SET_TYPE)?;
    finish(out, s)
}

fn put_vlan_push_if_needed(out: &mut Vec<u8>, ctx: &mut Ctx) -> Result<(), OfpError> {
    if !ctx.has_vlan {
        let s = begin(out, of13::PUSH_VLAN);
        out.extend_from_slice(&0x8100u16.to_be_bytes());
        finish(out, s)?;
        ctx.has_vlan = true;
    }
    Ok(())
}

fn encode_one(out: &mut Vec<u8>, a: &Action, ctx: &mut Ctx) -> Result<(), OfpError> {
    let v = ctx.v;
    let of10 = is_of10(v);
    match a {
        Action::Output(p) => put_output(out, v, *p, 0)?,
        Action::Controller(c) => {
            let plain = c.reason == PacketInReason::Action
                && c.controller_id == 0
                && c.userdata.is_none()
                && !c.pause;
            if plain {
                put_output(out, v, OfpPort::CONTROLLER, c.max_len)?;
            } else if c.userdata.is_none() && !c.pause {
                let s = begin_nx(out, nxast::CONTROLLER);
                out.extend_from_slice(&c.max_len.to_be_bytes());
                out.extend_from_slice(&c.controller_id.to_be_bytes());
                out.extend_from_slice(&[reason_to_wire(c.reason), 0]);
                finish(out, s)?;
            } else {
                put_controller2(out, c)?;
            }
        }
        Action::OutputReg { src, max_len } => {
            let (h, shift) = header_of(src.field)?;
            let s = begin_nx(out, nxast::OUTPUT_REG);
            out.extend_from_slice(&ofs_nbits(src.ofs + shift, src.n_bits).to_be_bytes());
            out.extend_from_slice(&h.to_be_bytes());
            out.extend_from_slice(&max_len.to_be_bytes());
            out.extend_from_slice(&[0; 6]);
            finish(out, s)?;
        }
        Action::Enqueue { port, queue } => {
            if of10 {
                let p = u16::try_from(port.0).map_err(|_| OfpError::BAC_BAD_OUT_PORT)?;
                let s = begin(out, of10::ENQUEUE);
                out.extend_from_slice(&p.to_be_bytes());
                out.extend_from_slice(&[0; 6]);
                out.extend_from_slice(&queue.to_be_bytes());
                finish(out, s)?;
            } else {
                // OpenFlow 1.1+ has no enqueue: set the queue, output, restore it.
                // (OVS gives this output a max_len of 65535.)
                encode_one(out, &Action::SetQueue(*queue), ctx)?;
                put_output(out, v, *port, u16::MAX)?;
                encode_one(out, &Action::PopQueue, ctx)?;
            }
        }
        Action::SetQueue(q) => {
            if of10 {
                let s = begin_nx(out, nxast::SET_QUEUE);
                out.extend_from_slice(&[0; 2]);
                out.extend_from_slice(&q.to_be_bytes());
                finish(out, s)?;
            } else {
                let s = begin(out, of13::SET_QUEUE);
                out.extend_from_slice(&q.to_be_bytes());
                finish(out, s)?;
            }
        }
        Action::PopQueue => {
            let s = begin_nx(out, nxast::POP_QUEUE);
            finish(out, s)?;
        }
        Action::SetField { field, value, mask } => {
            put_set_field(out, ctx, *field, *value, *mask)?;
            if matches!(field, Field::VlanVid | Field::VlanTci) {
                ctx.has_vlan = value & 0x1000 != 0;
            }
        }
        Action::Load { dst, value } => {
            if dst.n_bits <= 64 {
                put_reg_load(out, dst, *value)?;
            } else {
                let v = value.checked_shl(dst.ofs).unwrap_or(0);
                put_reg_loads(out, dst.field, v, dst.mask())?;
            }
        }
        Action::Move { src, dst } => {
            let (hs, ss) = header_of(src.field)?;
            let (hd, sd) = header_of(dst.field)?;
            let n = u16::try_from(src.n_bits).map_err(|_| OfpError::BAC_BAD_ARGUMENT)?;
            let s = begin_nx(out, nxast::REG_MOVE);
            out.extend_from_slice(&n.to_be_bytes());
            for ofs in [src.ofs + ss, dst.ofs + sd] {
                let o = u16::try_from(ofs).map_err(|_| OfpError::BAC_BAD_ARGUMENT)?;
                out.extend_from_slice(&o.to_be_bytes());
            }
            out.extend_from_slice(&hs.to_be_bytes());
            out.extend_from_slice(&hd.to_be_bytes());
            finish(out, s)?;
        }
        Action::SetEthSrc(m) | Action::SetEthDst(m) => {
            let src = matches!(a, Action::SetEthSrc(_));
            if of10 {
                let s = begin(
                    out,
                    if src {
                        of10::SET_DL_SRC
                    } else {
                        of10::SET_DL_DST
                    },
                );
                out.extend_from_slice(&m.0);
                finish(out, s)?;
            } else {
                let f = if src { Field::EthSrc } else { Field::EthDst };
                let val = m.0.iter().fold(0u128, |acc, &x| (acc << 8) | u128::from(x));
                put_set_field(out, ctx, f, val, f.valid_bits())?;
            }
        }
        Action::SetIpv4Src(ip) | Action::SetIpv4Dst(ip) => {
            let src = matches!(a, Action::SetIpv4Src(_));
            if of10 {
                let s = begin(
                    out,
                    if src {
                        of10::SET_NW_SRC
                    } else {
                        of10::SET_NW_DST
                    },
                );
                out.extend_from_slice(&ip.octets());
                finish(out, s)?;
            } else {
                let f = if src { Field::Ipv4Src } else { Field::Ipv4Dst };
                put_set_field(out, ctx, f, u128::from(u32::from(*ip)), f.valid_bits())?;
            }
        }
        Action::SetIpDscp(tos) => {
            if of10 {
                let s = begin(out, of10::SET_NW_TOS);
                out.push(tos & 0xfc);
                finish(out, s)?;
            } else {
                put_set_field(out, ctx, Field::IpDscp, u128::from(tos >> 2), 0x3f)?;
            }
        }
        Action::SetIpEcn(e) => put_set_field(out, ctx, Field::IpEcn, u128::from(e & 3), 3)?,
        Action::SetIpTtl(t) => {
            if of10 {
                put_set_field(out, ctx, Field::IpTtl, u128::from(*t), 0xff)?;
            } else {
                let s = begin(out, of13::SET_NW_TTL);
                out.push(*t);
                finish(out, s)?;
            }
        }
        Action::SetL4Src(p) | Action::SetL4Dst(p) => {
            let src = matches!(a, Action::SetL4Src(_));
            if of10 {
                let s = begin(
                    out,
                    if src {
                        of10::SET_TP_SRC
                    } else {
                        of10::SET_TP_DST
                    },
                );
                out.extend_from_slice(&p.to_be_bytes());
                finish(out, s)?;
            } else {
                let f = match (ctx.nw_proto, src) {
                    (17, true) => Field::UdpSrc,
                    (17, false) => Field::UdpDst,
                    (132, true) => Field::SctpSrc,
                    (132, false) => Field::SctpDst,
                    (_, true) => Field::TcpSrc,
                    (_, false) => Field::TcpDst,
                };
                put_set_field(out, ctx, f, u128::from(*p), 0xffff)?;
            }
        }
        Action::SetVlanVid(vid) => {
            if of10 {
                let s = begin(out, of10::SET_VLAN_VID);
                out.extend_from_slice(&(vid & 0x0fff).to_be_bytes());
                finish(out, s)?;
            } else {
                put_vlan_push_if_needed(out, ctx)?;
                put_set_field(
                    out,
                    ctx,
                    Field::VlanVid,
                    u128::from(0x1000 | (vid & 0x0fff)),
                    0x1fff,
                )?;
            }
            ctx.has_vlan = true;
        }
        Action::SetVlanPcp(pcp) => {
            if of10 {
                let s = begin(out, of10::SET_VLAN_PCP);
                out.push(pcp & 7);
                finish(out, s)?;
            } else {
                put_vlan_push_if_needed(out, ctx)?;
                put_set_field(out, ctx, Field::VlanPcp, u128::from(pcp & 7), 7)?;
            }
            ctx.has_vlan = true;
        }
        Action::StripVlan | Action::PopVlan => {
            let s = begin(
                out,
                if of10 {
                    of10::STRIP_VLAN
                } else {
                    of13::POP_VLAN
                },
            );
            finish(out, s)?;
            ctx.has_vlan = false;
        }
        Action::PushVlan(tpid) => {
            if of10 {
                return Err(OfpError::BAC_BAD_TYPE);
            }
            let s = begin(out, of13::PUSH_VLAN);
            out.extend_from_slice(&tpid.to_be_bytes());
            finish(out, s)?;
            ctx.has_vlan = true;
        }
        Action::DecTtl(ids) => {
            if !ids.is_empty() {
                let n = u16::try_from(ids.len()).map_err(|_| OfpError::BAC_BAD_LEN)?;
                let s = begin_nx(out, nxast::DEC_TTL_CNT_IDS);
                out.extend_from_slice(&n.to_be_bytes());
                out.extend_from_slice(&[0; 4]);
                for id in ids {
                    out.extend_from_slice(&id.to_be_bytes());
                }
                finish(out, s)?;
            } else if of10 {
                let s = begin_nx(out, nxast::DEC_TTL);
                finish(out, s)?;
            } else {
                let s = begin(out, of13::DEC_NW_TTL);
                finish(out, s)?;
            }
        }
        Action::Resubmit { port, table } => {
            // OVS writes every resubmit as resubmit_table (table 255: the current one).
            let p = port::to_of10(port.unwrap_or(OfpPort::IN_PORT));
            let s = begin_nx(out, nxast::RESUBMIT_TABLE);
            out.extend_from_slice(&p.to_be_bytes());
            out.push(table.unwrap_or(255));
            finish(out, s)?;
        }
        Action::Group(g) => {
            let s = if of10 {
                let s = begin_nx(out, nxast::GROUP);
                out.extend_from_slice(&[0; 2]);
                s
            } else {
                begin(out, of13::GROUP)
            };
            out.extend_from_slice(&g.to_be_bytes());
            finish(out, s)?;
        }
        Action::Note(bytes) => {
            let s = begin_nx(out, nxast::NOTE);
            out.extend_from_slice(bytes);
            // A note is at least 16 bytes: 6 bytes of note in the first 16.
            if out.len() - s < 16 {
                out.resize(s + 16, 0);
            }
            finish(out, s)?;
        }
        Action::WriteMetadata { value, mask } => {
            let s = begin_nx(out, nxast::WRITE_METADATA);
            out.extend_from_slice(&[0; 6]);
            out.extend_from_slice(&value.to_be_bytes());
            out.extend_from_slice(&mask.to_be_bytes());
            finish(out, s)?;
        }
        Action::GotoTable(t) => {
            if !of10 {
                return Err(OfpError::BAC_BAD_TYPE);
            }
            // OpenFlow 1.0 has no goto_table; a resubmit to the table is the same at the
            // end of the list, where goto_table always is.
            encode_one(
                out,
                &Action::Resubmit {
                    port: None,
                    table: Some(*t),
                },
                ctx,
            )?;
        }
        Action::Meter(_) | Action::ClearActions | Action::WriteActions(_) => {
            return Err(OfpError::BAC_BAD_TYPE);
        }
    }
    Ok(())
}

fn put_controller2(out: &mut Vec<u8>, c: &Controller) -> Result<(), OfpError> {
    let s = begin_nx(out, nxast::CONTROLLER2);
    out.extend_from_slice(&[0; 6]);
    let prop = |out: &mut Vec<u8>, typ: u16, body: &[u8]| {
        let p = begin(out, typ);
        out.extend_from_slice(body);
        finish_with(out, p, true)
    };
    // OVS writes 16-bit properties with 2 bytes of padding counted in their length.
    let u16_body = |v: u16| {
        let [a, b] = v.to_be_bytes();
        [a, b, 0, 0]
    };
    if c.max_len != u16::MAX {
        prop(out, nxac2pt::MAX_LEN, &u16_body(c.max_len))?;
    }
    if c.controller_id != 0 {
        prop(out, nxac2pt::CONTROLLER_ID, &u16_body(c.controller_id))?;
    }
    if c.reason != PacketInReason::Action {
        prop(out, nxac2pt::REASON, &[reason_to_wire(c.reason)])?;
    }
    if let Some(u) = &c.userdata {
        prop(out, nxac2pt::USERDATA, u)?;
    }
    if c.pause {
        prop(out, nxac2pt::PAUSE, &[])?;
    }
    finish(out, s)
}

fn ctx_for(v: Version, m: Option<&Match>) -> Ctx {
    let (has_vlan, nw_proto) = m.map_or((false, 0), |m| {
        let (tci, mask) = m.get(Field::VlanTci);
        (tci & mask & 0x1000 != 0, m.flow().nw_proto())
    });
    Ctx {
        v,
        has_vlan,
        nw_proto,
    }
}

/// Encodes `actions` as an action list of version `v`.
///
/// # Errors
///
/// `OFPBAC_BAD_TYPE` for an action `v` cannot express (instructions other than
/// `write_metadata` and, in OpenFlow 1.0, `goto_table`; `group` and `push_vlan` in
/// OpenFlow 1.0), `OFPBAC_BAD_OUT_PORT` for a port beyond OpenFlow 1.0's 16 bits,
/// `OFPBAC_BAD_ARGUMENT`/`OFPBAC_BAD_SET_TYPE` for a field without an NXM/OXM code.
pub fn encode_actions(v: Version, actions: &[Action], out: &mut Vec<u8>) -> Result<(), OfpError> {
    encode_actions_for(v, actions, None, out)
}

/// [`encode_actions`] for the actions of a rule with match `m`, which tells whether the
/// packet has a VLAN tag and its IP protocol (see the module docs); `None` knows neither.
///
/// # Errors
///
/// As [`encode_actions`].
pub fn encode_actions_for(
    v: Version,
    actions: &[Action],
    m: Option<&Match>,
    out: &mut Vec<u8>,
) -> Result<(), OfpError> {
    let mut ctx = ctx_for(v, m);
    for a in actions {
        encode_one(out, a, &mut ctx)?;
    }
    Ok(())
}

/// Encodes a rule's flat action list as OpenFlow 1.1+ instructions: `meter`, one
/// `apply_actions` holding the plain actions, `clear_actions`, `write_actions`,
/// `write_metadata`, `goto_table`.
///
/// For OpenFlow 1.0, which has no instructions, this is the rule's actions as a 1.0 flow
/// carries them, as OVS writes them in a 1.0 flow-mod or flow-stats reply: `goto_table` as
/// `resubmit(,T)`, `write_metadata` as the Nicira action, and `meter`, `clear_actions` and
/// `write_actions`, which 1.0 cannot carry, left out (use this, not [`encode_actions`],
/// for a rule's actions).
///
/// # Errors
///
/// `OFPBIC_DUP_INST` if an instruction repeats, `OFPBAC_UNSUPPORTED_ORDER` if the list is
/// not in instruction order, and the errors of [`encode_actions`].
pub fn encode_instructions(
    v: Version,
    actions: &[Action],
    out: &mut Vec<u8>,
) -> Result<(), OfpError> {
    encode_instructions_for(v, actions, None, out)
}

/// [`encode_instructions`] for a rule with match `m` (see [`encode_actions_for`]).
///
/// # Errors
///
/// As [`encode_instructions`].
pub fn encode_instructions_for(
    v: Version,
    actions: &[Action],
    m: Option<&Match>,
    out: &mut Vec<u8>,
) -> Result<(), OfpError> {
    if is_of10(v) {
        let mut ctx = ctx_for(v, m);
        for a in actions {
            if !matches!(
                a,
                Action::Meter(_) | Action::ClearActions | Action::WriteActions(_)
            ) {
                encode_one(out, a, &mut ctx)?;
            }
        }
        return Ok(());
    }
    let mut ctx = ctx_for(v, m);
    let mut last = None;
    let mut i = 0;
    while let Some(a) = actions.get(i) {
        let kind = a.instruction();
        if let Some(prev) = last {
            if kind < prev {
                return Err(OfpError::BAC_UNSUPPORTED_ORDER);
            }
            if kind == prev {
                return Err(OfpError::BIC_DUP_INST);
            }
        }
        last = Some(kind);
        match a {
            Action::Meter(id) => {
                let s = begin(out, of13::IT_METER);
                out.extend_from_slice(&id.to_be_bytes());
                finish(out, s)?;
            }
            Action::ClearActions => {
                let s = begin(out, of13::IT_CLEAR_ACTIONS);
                out.extend_from_slice(&[0; 4]);
                finish(out, s)?;
            }
            Action::WriteActions(list) => {
                let s = begin(out, of13::IT_WRITE_ACTIONS);
                out.extend_from_slice(&[0; 4]);
                let mut inner = ctx;
                for x in list {
                    encode_one(out, x, &mut inner)?;
                }
                finish(out, s)?;
            }
            Action::WriteMetadata { value, mask } => {
                let s = begin(out, of13::IT_WRITE_METADATA);
                out.extend_from_slice(&[0; 4]);
                out.extend_from_slice(&value.to_be_bytes());
                out.extend_from_slice(&mask.to_be_bytes());
                finish(out, s)?;
            }
            Action::GotoTable(t) => {
                let s = begin(out, of13::IT_GOTO_TABLE);
                out.push(*t);
                finish(out, s)?;
            }
            _ => {
                let s = begin(out, of13::IT_APPLY_ACTIONS);
                out.extend_from_slice(&[0; 4]);
                while let Some(x) = actions.get(i) {
                    if x.instruction() != kind {
                        break;
                    }
                    encode_one(out, x, &mut ctx)?;
                    i += 1;
                }
                finish(out, s)?;
                continue;
            }
        }
        i += 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
