//! The `ovs-dpctl dump-flows` text form: flows and actions.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = s.parse::<dpif::odp::KeyAttrs>();
        let _ = s.parse::<dpif::odp::Actions>();
        let _ = s.parse::<dpif::odp::MaskedKey>();
    }
});
