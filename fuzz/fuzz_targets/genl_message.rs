//! Generic netlink datagrams as the kernel datapath's families send them.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = dpif::kernel::fuzzing::parse_datagram_all(data);
});
