//! JSON-RPC 1.0 as OVSDB speaks it (RFC 7047 section 4): bare JSON objects concatenated on a
//! stream socket, with no framing.
//!
//! [`JsonReader`] finds where each object ends as bytes arrive (a scanner that tracks
//! nesting and strings, so each byte is looked at once however the input is split), then
//! parses that object with serde_json. [`Message`] is one JSON-RPC message: a request, a
//! notification (a request with a `null` id), a reply or an error reply.
//!
//! Nothing here panics on any input: bad bytes are a [`CodecError`], after which the caller
//! drops the connection (there is no way to find the next message in a broken stream).

use std::fmt;

use serde_json::{Map, Value};

/// The largest message accepted, in bytes. A full `Open_vSwitch` replica of a big switch is
/// a few megabytes; anything beyond this is taken as a broken peer.
pub const MAX_MESSAGE: usize = 64 << 20;

/// Why the bytes or a message are not valid JSON-RPC.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodecError(pub String);

impl fmt::Display for CodecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CodecError {}

/// Splits a byte stream into JSON objects. See the [module docs](self).
#[derive(Debug, Default)]
pub struct JsonReader {
    buf: Vec<u8>,
    /// Bytes of `buf` already scanned.
    scanned: usize,
    /// Where the current object starts in `buf`, once its `{` was seen.
    start: Option<usize>,
    depth: usize,
    in_string: bool,
    escape: bool,
    /// A broken stream stays broken.
    failed: Option<CodecError>,
}

impl JsonReader {
    /// An empty reader.
    pub fn new() -> JsonReader {
        JsonReader::default()
    }

    /// Appends bytes received.
    pub fn feed(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Whether bytes of an incomplete object are buffered.
    pub fn has_partial(&self) -> bool {
        self.buf.iter().any(|b| !b.is_ascii_whitespace())
    }

    /// The next complete object, `Ok(None)` if more bytes are needed.
    ///
    /// # Errors
    ///
    /// The stream holds something other than JSON objects, a malformed object, or one
    /// larger than [`MAX_MESSAGE`]. Every later call returns the same error.
    pub fn next_value(&mut self) -> Result<Option<Value>, CodecError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let r = self.scan();
        if let Err(e) = &r {
            self.failed = Some(e.clone());
        }
        r
    }

    fn scan(&mut self) -> Result<Option<Value>, CodecError> {
        while self.scanned < self.buf.len() {
            let i = self.scanned;
            let c = self.buf[i];
            self.scanned += 1;
            if self.start.is_none() {
                match c {
                    b' ' | b'\t' | b'\r' | b'\n' => continue,
                    b'{' => {
                        self.start = Some(i);
                        self.depth = 1;
                        continue;
                    }
                    _ => {
                        return Err(CodecError(format!(
                            "byte 0x{c:02x} where a JSON object should start"
                        )));
                    }
                }
            }
            if self.in_string {
                if self.escape {
                    self.escape = false;
                } else if c == b'\\' {
                    self.escape = true;
                } else if c == b'"' {
                    self.in_string = false;
                }
                continue;
            }
            match c {
                b'"' => self.in_string = true,
                b'{' | b'[' => self.depth += 1,
                b'}' | b']' => {
                    self.depth = self.depth.saturating_sub(1);
                    if self.depth == 0 {
                        let start = self.start.take().unwrap_or(0);
                        let end = self.scanned;
                        let parsed = serde_json::from_slice::<Value>(&self.buf[start..end]);
                        self.buf.drain(..end);
                        self.scanned = 0;
                        return match parsed {
                            Ok(v) => Ok(Some(v)),
                            Err(e) => Err(CodecError(format!("invalid JSON: {e}"))),
                        };
                    }
                }
                _ => {}
            }
        }
        // Whitespace between objects is not kept.
        if self.start.is_none() {
            self.buf.clear();
            self.scanned = 0;
        } else if self.buf.len() > MAX_MESSAGE {
            return Err(CodecError(format!(
                "message longer than {MAX_MESSAGE} bytes"
            )));
        }
        Ok(None)
    }
}

/// One JSON-RPC 1.0 message.
#[derive(Clone, Debug, PartialEq)]
pub enum Message {
    /// A request that wants a reply with the same `id`.
    Request {
        /// The method name.
        method: String,
        /// The parameters (always an array in OVSDB).
        params: Vec<Value>,
        /// The request id (never `null`).
        id: Value,
    },
    /// A request without a reply (`"id": null`).
    Notify {
        /// The method name.
        method: String,
        /// The parameters.
        params: Vec<Value>,
    },
    /// A successful reply.
    Reply {
        /// The result.
        result: Value,
        /// The id of the request answered.
        id: Value,
    },
    /// An error reply.
    Error {
        /// The error (any non-null JSON value; OVSDB sends an object with `"error"`).
        error: Value,
        /// The id of the request answered.
        id: Value,
    },
}

impl Message {
    /// Interprets a JSON value as a JSON-RPC message.
    ///
    /// # Errors
    ///
    /// It is not an object shaped like a request, notification or reply.
    pub fn from_json(v: Value) -> Result<Message, CodecError> {
        let Value::Object(mut o) = v else {
            return Err(CodecError("a JSON-RPC message must be an object".into()));
        };
        let id = o.remove("id");
        if let Some(m) = o.remove("method") {
            let Value::String(method) = m else {
                return Err(CodecError("\"method\" is not a string".into()));
            };
            let params = match o.remove("params") {
                Some(Value::Array(p)) => p,
                _ => {
                    return Err(CodecError(format!(
                        "\"{method}\": \"params\" is missing or not an array"
                    )));
                }
            };
            return Ok(match id {
                None | Some(Value::Null) => Message::Notify { method, params },
                Some(id) => Message::Request { method, params, id },
            });
        }
        let Some(id) = id else {
            return Err(CodecError("a reply without \"id\"".into()));
        };
        match (o.remove("result"), o.remove("error")) {
            (_, Some(error)) if !error.is_null() => Ok(Message::Error { error, id }),
            (Some(result), _) => Ok(Message::Reply { result, id }),
            _ => Err(CodecError(
                "neither \"method\", \"result\" nor \"error\"".into(),
            )),
        }
    }

    /// The JSON form.
    pub fn to_json(&self) -> Value {
        let mut o = Map::new();
        match self {
            Message::Request { method, params, id } => {
                o.insert("method".into(), method.clone().into());
                o.insert("params".into(), Value::Array(params.clone()));
                o.insert("id".into(), id.clone());
            }
            Message::Notify { method, params } => {
                o.insert("method".into(), method.clone().into());
                o.insert("params".into(), Value::Array(params.clone()));
                o.insert("id".into(), Value::Null);
            }
            Message::Reply { result, id } => {
                o.insert("result".into(), result.clone());
                o.insert("error".into(), Value::Null);
                o.insert("id".into(), id.clone());
            }
            Message::Error { error, id } => {
                o.insert("result".into(), Value::Null);
                o.insert("error".into(), error.clone());
                o.insert("id".into(), id.clone());
            }
        }
        Value::Object(o)
    }

    /// The bytes to send.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.to_json().to_string().into_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn all(r: &mut JsonReader) -> Vec<Value> {
        let mut out = Vec::new();
        while let Some(v) = r.next_value().unwrap() {
            out.push(v);
        }
        out
    }

    #[test]
    fn concatenated_objects_split_anywhere() {
        // As ovsdb-server sends them: no separators, strings with braces and escapes.
        let text = br#"{"id":1,"result":{"locked":true},"error":null}{"id":null,"method":"update2","params":["x",{"T":{"a}":{"s":"q\"}{"}}}]} {"id":2,"result":[],"error":null}"#;
        for split in 0..text.len() {
            let mut r = JsonReader::new();
            r.feed(&text[..split]);
            let mut got = all(&mut r);
            r.feed(&text[split..]);
            got.extend(all(&mut r));
            assert_eq!(got.len(), 3, "split at {split}");
            assert_eq!(got[1]["params"][1]["T"]["a}"]["s"], "q\"}{");
        }
    }

    #[test]
    fn garbage_is_an_error_that_sticks() {
        let mut r = JsonReader::new();
        r.feed(b"[1,2]");
        assert!(r.next_value().is_err());
        assert!(r.next_value().is_err());
        let mut r = JsonReader::new();
        r.feed(br#"{"a":tru}"#);
        assert!(r.next_value().unwrap_err().0.contains("invalid JSON"));
    }

    #[test]
    fn messages_both_ways() {
        let cases = [
            json!({"method":"echo","params":[],"id":"echo"}),
            json!({"method":"update2","params":["x",{}],"id":null}),
            json!({"result":{"locked":false},"error":null,"id":3}),
            json!({"result":null,"error":{"error":"unknown method"},"id":4}),
        ];
        for c in cases {
            let m = Message::from_json(c.clone()).unwrap();
            assert_eq!(m.to_json(), c);
        }
        assert!(matches!(
            Message::from_json(json!({"id":1,"error":null,"result":5})),
            Ok(Message::Reply { .. })
        ));
        for bad in [
            json!([1]),
            json!({"method":1,"params":[]}),
            json!({"method":"x","params":{}}),
            json!({"result":1}),
            json!({"id":1}),
        ] {
            assert!(Message::from_json(bad).is_err());
        }
    }

    fn arb_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            "[ -~{}\\[\\]\"\\\\é]{0,8}".prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 32, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map("[a-z{}\"]{0,4}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn stream_round_trip(
            objs in prop::collection::vec(
                prop::collection::btree_map("[a-z]{1,4}", arb_json(), 0..4), 1..4),
            cut in any::<prop::sample::Index>(),
        ) {
            let values: Vec<Value> =
                objs.into_iter().map(|m| Value::Object(m.into_iter().collect())).collect();
            let mut bytes = Vec::new();
            for v in &values {
                bytes.extend(v.to_string().into_bytes());
            }
            let cut = cut.index(bytes.len() + 1);
            let mut r = JsonReader::new();
            r.feed(&bytes[..cut]);
            let mut got = all(&mut r);
            r.feed(&bytes[cut..]);
            got.extend(all(&mut r));
            prop_assert_eq!(got, values);
        }

        #[test]
        fn no_panic_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
            let mut r = JsonReader::new();
            r.feed(&bytes);
            while let Ok(Some(v)) = r.next_value() {
                let _ = Message::from_json(v);
            }
        }

        #[test]
        fn message_round_trip(method in "[a-z_]{1,10}", id in any::<i64>(), p in arb_json()) {
            for m in [
                Message::Request { method: method.clone(), params: vec![p.clone()], id: id.into() },
                Message::Notify { method: method.clone(), params: vec![p.clone()] },
                Message::Reply { result: p.clone(), id: id.into() },
            ] {
                let mut r = JsonReader::new();
                r.feed(&m.to_bytes());
                let v = r.next_value().unwrap().unwrap();
                prop_assert_eq!(Message::from_json(v).unwrap(), m);
            }
        }
    }
}
