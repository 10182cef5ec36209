//! Whole OpenFlow messages (to be written).
