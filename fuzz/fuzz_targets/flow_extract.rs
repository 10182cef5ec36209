//! Flow extraction from packet bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut pkt = netdev::Packet::from_slice(data);
    let mut key = dpif::odp::FlowKey::zero();
    dpif::odp::extract(&mut pkt, &mut key);
});
