//! The flow syntax of `ovs-ofctl`: flow-mods and trace flows.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ofproto::ofctl::{self, FlowModCommand};

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = ofctl::parse_flow_mod(s, FlowModCommand::Add, None);
        let _ = ofctl::parse_flow(s, None);
    }
});
