//! The OpenFlow switch layer of a virtual switch built with the architecture of Open vSwitch:
//! OpenFlow tables, the `Ofproto` provider trait and ofproto-dpif.
