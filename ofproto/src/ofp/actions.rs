//! OpenFlow actions and instructions on the wire (work in progress).

use super::Version;
use crate::actions::Action;
use crate::error::OfpError;

/// Decodes an action list of version `v`.
///
/// # Errors
///
/// An `OFPBAC_*` error.
pub fn decode_actions(v: Version, b: &[u8]) -> Result<Vec<Action>, OfpError> {
    let _ = v;
    if b.is_empty() {
        Ok(vec![])
    } else {
        Err(OfpError::BAC_BAD_ARGUMENT)
    }
}

/// Encodes `actions` as an action list of version `v`.
///
/// # Errors
///
/// An `OFPBAC_*` error if an action cannot be expressed in `v`.
pub fn encode_actions(v: Version, actions: &[Action], out: &mut Vec<u8>) -> Result<(), OfpError> {
    let _ = (v, out);
    if actions.is_empty() {
        Ok(())
    } else {
        Err(OfpError::BAC_BAD_ARGUMENT)
    }
}

/// Decodes OpenFlow 1.1+ instructions into the flat action list of a rule.
///
/// # Errors
///
/// An `OFPBIC_*` or `OFPBAC_*` error.
pub fn decode_instructions(v: Version, b: &[u8]) -> Result<Vec<Action>, OfpError> {
    let _ = v;
    if b.is_empty() {
        Ok(vec![])
    } else {
        Err(OfpError::BIC_UNSUP_INST)
    }
}

/// Encodes a rule's flat action list as OpenFlow 1.1+ instructions.
///
/// # Errors
///
/// An `OFPBAC_*` error if an action cannot be expressed in `v`.
pub fn encode_instructions(
    v: Version,
    actions: &[Action],
    out: &mut Vec<u8>,
) -> Result<(), OfpError> {
    let _ = (v, out);
    if actions.is_empty() {
        Ok(())
    } else {
        Err(OfpError::BIC_UNSUP_INST)
    }
}
