//! The OVSDB client's input: JSON-RPC messages split from a byte stream, and the table
//! updates (`update`/`update2`) applied to a replica of the `Open_vSwitch` schema.
#![no_main]

use bridge::ovsdb::{JsonReader, Message, Replica, Schema, UpdateKind};
use libfuzzer_sys::fuzz_target;

/// The monitored part of the schema, enough to type every column the replica keeps.
const SCHEMA: &str = r#"{"tables":{
 "Open_vSwitch":{"columns":{"bridges":{"type":{"key":"uuid","min":0,"max":"unlimited"}},
   "cur_cfg":{"type":"integer"},"next_cfg":{"type":"integer"},
   "other_config":{"type":{"key":"string","value":"string","min":0,"max":"unlimited"}}}},
 "Bridge":{"columns":{"name":{"type":"string"},"ports":{"type":{"key":"uuid","min":0,"max":"unlimited"}},
   "datapath_type":{"type":"string"},"fail_mode":{"type":{"key":"string","min":0,"max":1}}}},
 "Port":{"columns":{"name":{"type":"string"},"interfaces":{"type":{"key":"uuid","min":1,"max":"unlimited"}},
   "tag":{"type":{"key":"integer","min":0,"max":1}},"trunks":{"type":{"key":"integer","min":0,"max":4096}}}},
 "Interface":{"columns":{"name":{"type":"string"},"type":{"type":"string"},
   "ofport":{"type":{"key":"integer","min":0,"max":1}},
   "options":{"type":{"key":"string","value":"string","min":0,"max":"unlimited"}}}},
 "Controller":{"columns":{"target":{"type":"string"}}}}}"#;

fuzz_target!(|data: &[u8]| {
    let Ok(schema_json) = serde_json::from_str(SCHEMA) else {
        return;
    };
    let Ok(schema) = Schema::from_json(&schema_json) else {
        return;
    };
    let mut replica = Replica::new(schema);
    let mut reader = JsonReader::new();
    // Feed in two pieces, as a socket might deliver it.
    let (a, b) = data.split_at(data.len() / 2);
    for piece in [a, b] {
        reader.feed(piece);
        while let Ok(Some(v)) = reader.next_value() {
            if let Ok(Message::Notify { params, .. }) = Message::from_json(v.clone())
                && let Some(updates) = params.get(1)
            {
                let _ = replica.apply(updates, UpdateKind::Update2);
                let _ = replica.apply(updates, UpdateKind::Update);
                let _ = replica.to_config();
            }
            let _ = replica.reset(&v, UpdateKind::Update2);
        }
    }
});
