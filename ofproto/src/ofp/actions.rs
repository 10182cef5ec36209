//! OpenFlow actions and instructions on the wire (to be written).
