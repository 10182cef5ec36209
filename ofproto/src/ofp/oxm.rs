//! NXM and OXM match TLVs (to be written).
