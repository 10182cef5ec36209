//! OpenFlow 1.0 `ofp10_match` (to be written).
