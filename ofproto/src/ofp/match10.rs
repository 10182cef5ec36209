//! OpenFlow 1.0's fixed `ofp10_match` (work in progress).

use crate::error::OfpError;
use crate::matching::Match;

/// The size of `ofp10_match`.
pub const MATCH10_LEN: usize = 40;

/// Decodes an `ofp10_match`.
///
/// # Errors
///
/// `OFPBMC_BAD_LEN` if `b` is too short.
pub fn decode(b: &[u8]) -> Result<Match, OfpError> {
    let _ = b;
    Err(OfpError::BMC_BAD_VALUE)
}

/// Encodes `m` as an `ofp10_match`, or `None` if OpenFlow 1.0 cannot express it.
pub fn encode(m: &Match) -> Option<[u8; MATCH10_LEN]> {
    let _ = m;
    None
}
