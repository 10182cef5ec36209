//! NXM and OXM match TLVs, and the OpenFlow 1.1+ `ofp_match` (type `OFPMT_OXM`) that wraps
//! them (work in progress).

use crate::error::OfpError;
use crate::fields::Field;
use crate::matching::Match;

/// Decodes bare NXM/OXM TLVs into a match.
///
/// # Errors
///
/// An `OFPBMC_*` error naming what is wrong.
pub fn decode(b: &[u8]) -> Result<Match, OfpError> {
    if b.is_empty() {
        Ok(Match::catchall())
    } else {
        Err(OfpError::BMC_BAD_VALUE)
    }
}

/// Encodes `m` as bare TLVs (no padding); returns the bytes written.
pub fn encode(m: &Match, oxm: bool, out: &mut Vec<u8>) -> usize {
    let _ = (m, oxm, out);
    0
}

/// Decodes an OpenFlow 1.1+ `ofp_match` of type `OFPMT_OXM`; returns the match and the
/// bytes consumed, padding included.
///
/// # Errors
///
/// An `OFPBMC_*` error.
pub fn decode_ofp11_match(b: &[u8]) -> Result<(Match, usize), OfpError> {
    let _ = b;
    Err(OfpError::BMC_BAD_VALUE)
}

/// Encodes `m` as an OpenFlow 1.1+ `ofp_match` of type `OFPMT_OXM`, padded to 8 bytes.
pub fn encode_ofp11_match(m: &Match, out: &mut Vec<u8>) {
    let _ = (m, out);
}

/// Decodes one TLV: field, value, mask (all ones if unmasked) and bytes consumed.
///
/// # Errors
///
/// An `OFPBMC_*` error.
pub fn decode_field(b: &[u8]) -> Result<(Field, u128, u128, usize), OfpError> {
    let _ = b;
    Err(OfpError::BMC_BAD_VALUE)
}

/// Encodes one TLV.
///
/// # Errors
///
/// `OFPBMC_BAD_FIELD` if the field has no NXM/OXM code.
pub fn encode_field(
    field: Field,
    value: u128,
    mask: Option<u128>,
    oxm: bool,
    out: &mut Vec<u8>,
) -> Result<(), OfpError> {
    let _ = (field, value, mask, oxm, out);
    Err(OfpError::BMC_BAD_VALUE)
}
