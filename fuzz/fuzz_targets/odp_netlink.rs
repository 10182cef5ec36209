//! Flow keys, masks and actions from netlink attribute bytes (what the kernel sends).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let split = data.first().map_or(0, |&b| usize::from(b)).min(data.len());
    let (key, mask) = data.split_at(split);
    let _ = dpif::odp::decode_key_attrs(key);
    let _ = dpif::odp::decode_actions(data);
    if let Ok((k, m, _)) = dpif::odp::decode_flow_key(key, Some(mask)) {
        // What decodes must encode again.
        let _ = dpif::odp::encode_flow_key(&k, Some(&m));
    }
});
