//! Bridges of a virtual switch built with the architecture of Open vSwitch: the desired
//! configuration and `reconfigure`.
