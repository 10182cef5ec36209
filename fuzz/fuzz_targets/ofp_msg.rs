//! Whole OpenFlow messages: `ofproto::ofp::msg::decode` of arbitrary bytes must not panic,
//! and a message that decodes re-encodes into bytes that decode to a fixed point. The
//! first byte sets the decode options.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ofproto::ofp::Version;
use ofproto::ofp::msg::{self, DecodeOptions};

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let opts = DecodeOptions {
        flow_mod_table_id: sel & 1 != 0,
    };
    let _ = msg::frame_len(rest);
    let Ok((h, m)) = msg::decode_with(rest, opts) else {
        return;
    };
    let Some(v) = Version::from_wire(h.version) else {
        return;
    };
    let mut once = Vec::new();
    if msg::encode(v, h.xid, &m, &mut once).is_err() {
        return;
    }
    // What we wrote must decode (as one or more messages, for a split reply) and, decoded
    // once more, stay the same.
    let mut at = 0;
    while let Ok(Some(n)) = msg::frame_len(&once[at..]) {
        let r2 = msg::decode_with(&once[at..at + n], opts);
        assert!(r2.is_ok(), "our own bytes do not decode: {r2:?}");
        let Ok((_, m2)) = r2 else { return };
        let mut twice = Vec::new();
        let e = msg::encode(v, h.xid, &m2, &mut twice);
        assert!(e.is_ok(), "a decoded message does not encode: {e:?}");
        assert_eq!(msg::decode_with(&twice, opts).map(|(_, m)| m), Ok(m2));
        at += n;
    }
});
