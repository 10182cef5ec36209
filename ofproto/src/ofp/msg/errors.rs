//! OpenFlow error numbering per version. [`OfpError`] is in OpenFlow 1.3 numbering; the
//! table below gives, for each error, its OpenFlow 1.0 encoding as Open vSwitch 3.1 sends
//! it (measured with `ovs-ofctl print-error NAME` for every error name): the same
//! type/code, another standard type/code, a Nicira vendor error (`NXET_VENDOR`), or none
//! (then `NXBRC_UNENCODABLE_ERROR` goes out, as `ovs-ofctl encode-error-reply` shows).

use crate::error::OfpError;

use super::super::Version;
use super::wire::{Put, Rd};
use super::{ErrorMsg, NX_VENDOR_ID};

/// `OFPET10_*`'s Nicira vendor error type (`NXET_VENDOR`), followed by `nx_vendor_error`.
const NXET_VENDOR: u16 = 0xb0c2;
/// `OFPET12_EXPERIMENTER`.
const OFPET_EXPERIMENTER: u16 = 0xffff;
/// `NXBRC_UNENCODABLE_ERROR` in OpenFlow 1.0 (Nicira type 1, code 521).
const NX_UNENCODABLE: (u16, u16) = (1, 521);

/// The errors the message layer itself reports.
impl OfpError {
    /// `OFPET_HELLO_FAILED` / `OFPHFC_INCOMPATIBLE`: no common version.
    pub const HFC_INCOMPATIBLE: OfpError = err(0, 0, "OFPHFC_INCOMPATIBLE");
    /// `OFPET_BAD_REQUEST` / `OFPBRC_BAD_VERSION`.
    pub const BRC_BAD_VERSION: OfpError = err(1, 0, "OFPBRC_BAD_VERSION");
    /// `OFPET_BAD_REQUEST` / `OFPBRC_BAD_TYPE`.
    pub const BRC_BAD_TYPE: OfpError = err(1, 1, "OFPBRC_BAD_TYPE");
    /// `OFPET_BAD_REQUEST` / `OFPBRC_BAD_STAT` (1.3 `OFPBRC_BAD_MULTIPART`).
    pub const BRC_BAD_STAT: OfpError = err(1, 2, "OFPBRC_BAD_STAT");
    /// `OFPET_BAD_REQUEST` / `OFPBRC_BAD_VENDOR` (1.3 `OFPBRC_BAD_EXPERIMENTER`).
    pub const BRC_BAD_VENDOR: OfpError = err(1, 3, "OFPBRC_BAD_VENDOR");
    /// `OFPET_BAD_REQUEST` / `OFPBRC_BAD_SUBTYPE` (1.3 `OFPBRC_BAD_EXP_TYPE`).
    pub const BRC_BAD_SUBTYPE: OfpError = err(1, 4, "OFPBRC_BAD_SUBTYPE");
    /// `OFPET_BAD_REQUEST` / `OFPBRC_BAD_LEN`.
    pub const BRC_BAD_LEN: OfpError = err(1, 6, "OFPBRC_BAD_LEN");
    /// `OFPET_BAD_REQUEST` / `OFPBRC_BUFFER_UNKNOWN`.
    pub const BRC_BUFFER_UNKNOWN: OfpError = err(1, 8, "OFPBRC_BUFFER_UNKNOWN");
    /// `OFPET_BAD_REQUEST` / `OFPBRC_IS_SECONDARY` (1.3 `OFPBRC_IS_SLAVE`).
    pub const BRC_IS_SECONDARY: OfpError = err(1, 10, "OFPBRC_IS_SECONDARY");
    /// `OFPET_BAD_REQUEST` / `OFPBRC_BAD_PORT`.
    pub const BRC_BAD_PORT: OfpError = err(1, 11, "OFPBRC_BAD_PORT");
    /// `OFPET_BAD_REQUEST` / `OFPBRC_BAD_PACKET`.
    pub const BRC_BAD_PACKET: OfpError = err(1, 12, "OFPBRC_BAD_PACKET");
}

/// `OFPET_FLOW_MOD_FAILED` / `OFPFMFC_BAD_FLAGS`.
pub(crate) const FMFC_BAD_FLAGS: OfpError = err(5, 7, "OFPFMFC_BAD_FLAGS");
/// `OFPET_GROUP_MOD_FAILED` / `OFPGMFC_BAD_TYPE`.
pub(crate) const GMFC_BAD_TYPE: OfpError = err(6, 10, "OFPGMFC_BAD_TYPE");
/// `OFPET_GROUP_MOD_FAILED` / `OFPGMFC_BAD_COMMAND`.
pub(crate) const GMFC_BAD_COMMAND: OfpError = err(6, 11, "OFPGMFC_BAD_COMMAND");
/// `OFPET_GROUP_MOD_FAILED` / `OFPGMFC_BAD_BUCKET`.
pub(crate) const GMFC_BAD_BUCKET: OfpError = err(6, 12, "OFPGMFC_BAD_BUCKET");
/// `OFPET_GROUP_MOD_FAILED` / `OFPGMFC_BAD_WATCH`.
pub(crate) const GMFC_BAD_WATCH: OfpError = err(6, 13, "OFPGMFC_BAD_WATCH");
/// `OFPET_BAD_MATCH` / `OFPBMC_BAD_FIELD`.
pub(crate) const BMC_BAD_FIELD: OfpError = err(4, 6, "OFPBMC_BAD_FIELD");
/// `OFPET_PORT_MOD_FAILED` / `OFPPMFC_BAD_PORT`.
pub(crate) const PMFC_BAD_PORT: OfpError = err(7, 0, "OFPPMFC_BAD_PORT");
/// `OFPET_ROLE_REQUEST_FAILED` / `OFPRRFC_BAD_ROLE`.
pub(crate) const RRFC_BAD_ROLE: OfpError = err(11, 2, "OFPRRFC_BAD_ROLE");
/// `OFPET_TABLE_FEATURES_FAILED` / `OFPTFFC_EPERM`.
pub(crate) const TFFC_EPERM: OfpError = err(13, 5, "OFPTFFC_EPERM");

pub(crate) const fn err(type_: u16, code: u16, name: &'static str) -> OfpError {
    OfpError { type_, code, name }
}

/// An error's OpenFlow 1.0 encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Of10 {
    /// A standard `ofp_error_msg` type and code.
    Std(u16, u16),
    /// A Nicira vendor error: `NXET_VENDOR` + `nx_vendor_error` with this type and code.
    Nx(u16, u16),
}

const fn e(
    type_: u16,
    code: u16,
    name: &'static str,
    of10: Option<Of10>,
) -> (OfpError, Option<Of10>) {
    (err(type_, code, name), of10)
}

/// Every standard OpenFlow 1.3 error Open vSwitch knows, sorted by (type, code), with its
/// OpenFlow 1.0 encoding (from `ovs-ofctl print-error`, Open vSwitch 3.1.0).
static ERRORS: &[(OfpError, Option<Of10>)] = &[
    e(0, 0, "OFPHFC_INCOMPATIBLE", Some(Of10::Std(0, 0))),
    e(0, 1, "OFPHFC_EPERM", Some(Of10::Std(0, 1))),
    e(1, 0, "OFPBRC_BAD_VERSION", Some(Of10::Std(1, 0))),
    e(1, 1, "OFPBRC_BAD_TYPE", Some(Of10::Std(1, 1))),
    e(1, 2, "OFPBRC_BAD_STAT", Some(Of10::Std(1, 2))),
    e(1, 3, "OFPBRC_BAD_VENDOR", Some(Of10::Std(1, 3))),
    e(1, 4, "OFPBRC_BAD_SUBTYPE", Some(Of10::Std(1, 4))),
    e(1, 5, "OFPBRC_EPERM", Some(Of10::Std(1, 5))),
    e(1, 6, "OFPBRC_BAD_LEN", Some(Of10::Std(1, 6))),
    e(1, 7, "OFPBRC_BUFFER_EMPTY", Some(Of10::Std(1, 7))),
    e(1, 8, "OFPBRC_BUFFER_UNKNOWN", Some(Of10::Std(1, 8))),
    e(1, 9, "OFPBRC_BAD_TABLE_ID", Some(Of10::Nx(1, 512))),
    e(1, 10, "OFPBRC_IS_SECONDARY", Some(Of10::Std(1, 5))),
    e(1, 11, "OFPBRC_BAD_PORT", Some(Of10::Nx(1, 514))),
    e(1, 12, "OFPBRC_BAD_PACKET", None),
    e(1, 13, "OFPBRC_MULTIPART_BUFFER_OVERFLOW", None),
    e(2, 0, "OFPBAC_BAD_TYPE", Some(Of10::Std(2, 0))),
    e(2, 1, "OFPBAC_BAD_LEN", Some(Of10::Std(2, 1))),
    e(2, 2, "OFPBAC_BAD_VENDOR", Some(Of10::Std(2, 2))),
    e(2, 3, "OFPBAC_BAD_VENDOR_TYPE", Some(Of10::Std(2, 3))),
    e(2, 4, "OFPBAC_BAD_OUT_PORT", Some(Of10::Std(2, 4))),
    e(2, 5, "OFPBAC_BAD_ARGUMENT", Some(Of10::Std(2, 5))),
    e(2, 6, "OFPBAC_EPERM", Some(Of10::Std(2, 6))),
    e(2, 7, "OFPBAC_TOO_MANY", Some(Of10::Std(2, 7))),
    e(2, 8, "OFPBAC_BAD_QUEUE", Some(Of10::Std(2, 8))),
    e(2, 9, "OFPBAC_BAD_OUT_GROUP", Some(Of10::Nx(2, 9))),
    e(2, 10, "OFPBAC_MATCH_INCONSISTENT", Some(Of10::Nx(1, 522))),
    e(2, 11, "OFPBAC_UNSUPPORTED_ORDER", None),
    e(2, 12, "OFPBAC_BAD_TAG", None),
    e(2, 13, "OFPBAC_BAD_SET_TYPE", Some(Of10::Nx(1, 523))),
    e(2, 14, "OFPBAC_BAD_SET_LEN", Some(Of10::Nx(1, 524))),
    e(2, 15, "OFPBAC_BAD_SET_ARGUMENT", Some(Of10::Nx(1, 525))),
    e(3, 0, "OFPBIC_UNKNOWN_INST", None),
    e(3, 1, "OFPBIC_UNSUP_INST", Some(Of10::Nx(2, 257))),
    e(3, 2, "OFPBIC_BAD_TABLE_ID", None),
    e(3, 3, "OFPBIC_UNSUP_METADATA", None),
    e(3, 4, "OFPBIC_UNSUP_METADATA_MASK", None),
    e(3, 5, "OFPBIC_BAD_EXPERIMENTER", None),
    e(3, 6, "OFPBIC_BAD_EXP_TYPE", None),
    e(3, 7, "OFPBIC_BAD_LEN", None),
    e(3, 8, "OFPBIC_EPERM", None),
    e(4, 0, "OFPBMC_BAD_TYPE", None),
    e(4, 1, "OFPBMC_BAD_LEN", None),
    e(4, 2, "OFPBMC_BAD_TAG", None),
    e(4, 3, "OFPBMC_BAD_DL_ADDR_MASK", None),
    e(4, 4, "OFPBMC_BAD_NW_ADDR_MASK", None),
    e(4, 5, "OFPBMC_BAD_WILDCARDS", Some(Of10::Nx(1, 262))),
    e(4, 6, "OFPBMC_BAD_FIELD", Some(Of10::Nx(0, 263))),
    e(4, 7, "OFPBMC_BAD_VALUE", Some(Of10::Nx(1, 258))),
    e(4, 8, "OFPBMC_BAD_MASK", Some(Of10::Nx(1, 259))),
    e(4, 9, "OFPBMC_BAD_PREREQ", Some(Of10::Nx(1, 260))),
    e(4, 10, "OFPBMC_DUP_FIELD", Some(Of10::Nx(1, 261))),
    e(4, 11, "OFPBMC_EPERM", None),
    e(5, 0, "OFPFMFC_UNKNOWN", None),
    e(5, 1, "OFPFMFC_TABLE_FULL", Some(Of10::Std(3, 0))),
    e(5, 2, "OFPFMFC_BAD_TABLE_ID", None),
    e(5, 3, "OFPFMFC_OVERLAP", Some(Of10::Std(3, 1))),
    e(5, 4, "OFPFMFC_EPERM", Some(Of10::Std(3, 2))),
    e(5, 5, "OFPFMFC_BAD_TIMEOUT", None),
    e(5, 6, "OFPFMFC_BAD_COMMAND", Some(Of10::Std(3, 4))),
    e(5, 7, "OFPFMFC_BAD_FLAGS", Some(Of10::Nx(3, 258))),
    e(6, 0, "OFPGMFC_GROUP_EXISTS", Some(Of10::Nx(6, 0))),
    e(6, 1, "OFPGMFC_INVALID_GROUP", Some(Of10::Nx(6, 1))),
    e(6, 2, "OFPGMFC_WEIGHT_UNSUPPORTED", Some(Of10::Nx(6, 2))),
    e(6, 3, "OFPGMFC_OUT_OF_GROUPS", Some(Of10::Nx(6, 3))),
    e(6, 4, "OFPGMFC_OUT_OF_BUCKETS", Some(Of10::Nx(6, 4))),
    e(6, 5, "OFPGMFC_CHAINING_UNSUPPORTED", Some(Of10::Nx(6, 5))),
    e(6, 6, "OFPGMFC_WATCH_UNSUPPORTED", Some(Of10::Nx(6, 6))),
    e(6, 7, "OFPGMFC_LOOP", Some(Of10::Nx(6, 7))),
    e(6, 8, "OFPGMFC_UNKNOWN_GROUP", Some(Of10::Nx(6, 8))),
    e(6, 9, "OFPGMFC_CHAINED_GROUP", Some(Of10::Nx(6, 9))),
    e(6, 10, "OFPGMFC_BAD_TYPE", Some(Of10::Nx(6, 10))),
    e(6, 11, "OFPGMFC_BAD_COMMAND", Some(Of10::Nx(6, 11))),
    e(6, 12, "OFPGMFC_BAD_BUCKET", Some(Of10::Nx(6, 12))),
    e(6, 13, "OFPGMFC_BAD_WATCH", Some(Of10::Nx(6, 13))),
    e(6, 14, "OFPGMFC_EPERM", Some(Of10::Nx(6, 14))),
    e(7, 0, "OFPPMFC_BAD_PORT", Some(Of10::Std(4, 0))),
    e(7, 1, "OFPPMFC_BAD_HW_ADDR", Some(Of10::Std(4, 1))),
    e(7, 2, "OFPPMFC_BAD_CONFIG", None),
    e(7, 3, "OFPPMFC_BAD_ADVERTISE", None),
    e(7, 4, "OFPPMFC_EPERM", None),
    e(8, 0, "OFPTMFC_BAD_TABLE", None),
    e(8, 1, "OFPTMFC_BAD_CONFIG", None),
    e(8, 2, "OFPTMFC_EPERM", None),
    e(9, 0, "OFPQOFC_BAD_PORT", Some(Of10::Std(5, 0))),
    e(9, 1, "OFPQOFC_BAD_QUEUE", Some(Of10::Std(5, 1))),
    e(9, 2, "OFPQOFC_EPERM", Some(Of10::Std(5, 2))),
    e(10, 0, "OFPSCFC_BAD_FLAGS", None),
    e(10, 1, "OFPSCFC_BAD_LEN", None),
    e(10, 2, "OFPSCFC_EPERM", None),
    e(11, 0, "OFPRRFC_STALE", None),
    e(11, 1, "OFPRRFC_UNSUP", None),
    e(11, 2, "OFPRRFC_BAD_ROLE", Some(Of10::Nx(1, 513))),
    e(12, 0, "OFPMMFC_UNKNOWN", None),
    e(12, 1, "OFPMMFC_METER_EXISTS", None),
    e(12, 2, "OFPMMFC_INVALID_METER", None),
    e(12, 3, "OFPMMFC_UNKNOWN_METER", None),
    e(12, 4, "OFPMMFC_BAD_COMMAND", None),
    e(12, 5, "OFPMMFC_BAD_FLAGS", None),
    e(12, 6, "OFPMMFC_BAD_RATE", None),
    e(12, 7, "OFPMMFC_BAD_BURST", None),
    e(12, 8, "OFPMMFC_BAD_BAND", None),
    e(12, 9, "OFPMMFC_BAD_BAND_VALUE", None),
    e(12, 10, "OFPMMFC_OUT_OF_METERS", None),
    e(12, 11, "OFPMMFC_OUT_OF_BANDS", None),
    e(13, 0, "OFPTFFC_BAD_TABLE", None),
    e(13, 1, "OFPTFFC_BAD_METADATA", None),
    e(13, 2, "OFPBPC_BAD_TYPE", Some(Of10::Nx(13, 2))),
    e(13, 3, "OFPBPC_BAD_LEN", Some(Of10::Nx(13, 3))),
    e(13, 4, "OFPBPC_BAD_VALUE", Some(Of10::Nx(13, 4))),
    e(13, 5, "OFPTFFC_EPERM", None),
];

/// The spec name of the 1.3 error `type_`/`code`, if it is a known one.
pub fn error_name(type_: u16, code: u16) -> Option<&'static str> {
    lookup13(type_, code).map(|(e, _)| e.name)
}

fn lookup13(type_: u16, code: u16) -> Option<&'static (OfpError, Option<Of10>)> {
    ERRORS
        .binary_search_by_key(&(type_, code), |(e, _)| (e.type_, e.code))
        .ok()
        .and_then(|i| ERRORS.get(i))
}

/// Every standard error this layer knows (OpenFlow 1.3 numbering), each with whether
/// OpenFlow 1.0 can carry it (natively or as a Nicira vendor error; the others go out as
/// `NXBRC_UNENCODABLE_ERROR` in 1.0).
pub fn known_errors() -> impl Iterator<Item = (OfpError, bool)> {
    ERRORS.iter().map(|(e, o)| (*e, o.is_some()))
}

/// Appends the body (after the header) of `OFPT_ERROR` in `version`.
pub(crate) fn encode_error(version: Version, m: &ErrorMsg, out: &mut Vec<u8>) {
    let e = m.error;
    if version == Version::Of10 {
        // Only an error of the table (same name too): a raw error decoded from a peer
        // goes back as it came.
        let of10 = lookup13(e.type_, e.code)
            .filter(|(k, _)| *k == e)
            .map(|(_, o)| *o);
        match of10 {
            Some(Some(Of10::Std(t, c))) => {
                out.u16(t);
                out.u16(c);
            }
            Some(Some(Of10::Nx(t, c))) => nx_vendor(out, t, c),
            Some(None) => nx_vendor(out, NX_UNENCODABLE.0, NX_UNENCODABLE.1),
            // Not an error this table knows: the raw type and code as received.
            None => {
                out.u16(e.type_);
                out.u16(e.code);
            }
        }
    } else {
        out.u16(e.type_);
        out.u16(e.code);
    }
    out.extend_from_slice(&m.data);
}

fn nx_vendor(out: &mut Vec<u8>, t: u16, c: u16) {
    out.u16(NXET_VENDOR);
    out.u16(0);
    out.u32(NX_VENDOR_ID);
    out.u16(t);
    out.u16(c);
}

/// Decodes the body of `OFPT_ERROR` in `version`.
///
/// An error this table does not know keeps its raw type and code, and its data keeps
/// every byte after them (a vendor or experimenter header included), so that it is sent
/// on exactly as received.
pub(crate) fn decode_error(version: Version, b: &[u8]) -> Result<ErrorMsg, OfpError> {
    let mut r = Rd::new(b);
    let type_ = r.u16()?;
    let code = r.u16()?;
    let after_code = r;
    let raw = |name| ErrorMsg {
        error: err(type_, code, name),
        data: after_code.rest_copy(),
    };
    if version == Version::Of10 && type_ == NXET_VENDOR {
        let vendor = r.u32()?;
        let (t, c) = (r.u16()?, r.u16()?);
        if vendor == NX_VENDOR_ID {
            if let Some((e, _)) = ERRORS.iter().find(|(_, o)| *o == Some(Of10::Nx(t, c))) {
                return Ok(ErrorMsg {
                    error: *e,
                    data: r.rest().to_vec(),
                });
            }
            if (t, c) == NX_UNENCODABLE {
                return Ok(raw("NXBRC_UNENCODABLE_ERROR"));
            }
        }
        return Ok(raw("unknown"));
    }
    let known = if version == Version::Of10 {
        ERRORS
            .iter()
            .find(|(_, o)| *o == Some(Of10::Std(type_, code)))
            .map(|(e, _)| *e)
    } else if type_ == OFPET_EXPERIMENTER {
        None
    } else {
        lookup13(type_, code).map(|(e, _)| *e)
    };
    Ok(match known {
        Some(error) => ErrorMsg {
            error,
            data: r.rest().to_vec(),
        },
        None => raw("unknown"),
    })
}
