//! OpenFlow match and action codecs: NXM/OXM TLVs, `ofp_match`, `ofp10_match`, action lists
//! and instructions of OpenFlow 1.0 and 1.3. The first byte picks the decoder.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ofproto::ofp::{Version, actions, match10, oxm};

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    match sel % 8 {
        0 => {
            if let Ok(m) = oxm::decode(rest) {
                // What decodes must encode and decode again to the same match.
                let mut out = Vec::new();
                oxm::encode(&m, false, &mut out);
                assert_eq!(oxm::decode(&out), Ok(m));
            }
        }
        1 => {
            let _ = oxm::decode_ofp11_match(rest);
        }
        2 => {
            let _ = oxm::decode_field(rest);
        }
        3 => {
            // What decodes is normalized, so OpenFlow 1.0 can write it again.
            if let Ok(m) = match10::decode(rest) {
                let b = match10::encode(&m);
                assert_eq!(b.map(|b| match10::decode(&b)), Some(Ok(m)));
            }
        }
        4 => {
            let _ = actions::decode_actions(Version::Of10, rest);
        }
        5 => {
            let _ = actions::decode_actions(Version::Of13, rest);
        }
        6 => {
            let _ = actions::decode_instructions(Version::Of13, rest);
        }
        _ => {
            if let Ok(list) = actions::decode_actions(Version::Of10, rest) {
                let mut out = Vec::new();
                if actions::encode_actions(Version::Of10, &list, &mut out).is_ok() {
                    assert_eq!(actions::decode_actions(Version::Of10, &out), Ok(list));
                }
            }
        }
    }
});
