use super::*;
use std::cell::RefCell;
use std::rc::Rc;

// ---------------------------------------------------------------------------------------
// Framing and encoding.

#[test]
fn frames() {
    assert_eq!(next_frame(b""), Frame::Incomplete);
    assert_eq!(next_frame(b"  \n "), Frame::Incomplete);
    assert_eq!(next_frame(br#"{"id":0,"meth"#), Frame::Incomplete);
    let two = br#" {"id":0,"method":"a","params":[]}{"id":1"#;
    match next_frame(two) {
        Frame::Message(v, used) => {
            assert_eq!(v["method"], "a");
            assert_eq!(&two[used..], br#"{"id":1"#);
        }
        f => panic!("{f:?}"),
    }
    assert!(matches!(next_frame(b"garbage{"), Frame::Bad(_)));
    assert!(matches!(next_frame(b"}"), Frame::Bad(_)));
    // A string cut in the middle of a UTF-8 sequence is incomplete, not garbage.
    let s = "{\"id\":0,\"method\":\"é".as_bytes();
    assert_eq!(next_frame(&s[..s.len() - 1]), Frame::Incomplete);
}

#[test]
fn reply_encoding() {
    let id = Value::from(0);
    assert_eq!(
        encode_reply(&id, &Ok("ovs-vswitchd (Open vSwitch) 3.1.0".into())),
        r#"{"id":0,"result":"ovs-vswitchd (Open vSwitch) 3.1.0\n","error":null}"#
    );
    assert_eq!(
        encode_reply(&id, &Ok(String::new())),
        r#"{"id":0,"result":"","error":null}"#
    );
    assert_eq!(
        encode_reply(&Value::from("abc"), &Err("bad \"x\"\n".into())),
        r#"{"id":"abc","result":null,"error":"bad \"x\"\n"}"#
    );
}

#[test]
fn request_validation() {
    let p = |s: &str| parse_request(serde_json::from_str(s).unwrap());
    let (id, m, params) = p(r#"{"id":7,"method":"x","params":["a"]}"#).unwrap();
    assert_eq!((id, m.as_str(), params.len()), (Value::from(7), "x", 1));
    assert!(p("[1,2]").unwrap_err().1.contains("not a JSON object"));
    assert!(
        p(r#"{"id":0,"method":"x"}"#)
            .unwrap_err()
            .1
            .contains("params")
    );
    assert!(
        p(r#"{"id":0,"params":[]}"#)
            .unwrap_err()
            .1
            .contains("method")
    );
    assert!(
        p(r#"{"id":0,"method":3,"params":[]}"#)
            .unwrap_err()
            .1
            .contains("method")
    );
    assert!(
        p(r#"{"id":null,"method":"x","params":[]}"#)
            .unwrap_err()
            .1
            .contains("notification")
    );
    assert!(
        p(r#"{"method":"x","params":[]}"#)
            .unwrap_err()
            .1
            .contains("notification")
    );
    assert!(
        p(r#"{"id":0,"result":"x","error":null}"#)
            .unwrap_err()
            .1
            .contains("reply")
    );
    let (id, msg) = p(r#"{"id":5,"method":"x","params":[],"extra":1}"#).unwrap_err();
    assert_eq!(id, Value::from(5));
    assert!(msg.contains("\"extra\""));
}

// ---------------------------------------------------------------------------------------
// Commands without a socket.

fn server() -> Unixctl {
    Unixctl::new(None, "vswitchd (rovs) compatible with Open vSwitch 3.1.0").unwrap()
}

#[test]
fn builtins_and_arg_counts() {
    let mut u = server();
    u.register("fdb/show", "bridge", 1, 1, |a| Ok(format!("show {}", a[0])));
    u.register("any", "[x]...", 0, UNLIMITED, |a| Ok(a.len().to_string()));
    assert_eq!(
        u.call("version", &[]).unwrap().unwrap(),
        "vswitchd (rovs) compatible with Open vSwitch 3.1.0"
    );
    assert_eq!(
        u.call("version", &["x"]).unwrap().unwrap_err(),
        "\"version\" command takes at most 0 arguments"
    );
    assert_eq!(
        u.call("fdb/show", &[]).unwrap().unwrap_err(),
        "\"fdb/show\" command requires at least 1 arguments"
    );
    assert_eq!(u.call("fdb/show", &["br0"]).unwrap().unwrap(), "show br0");
    assert_eq!(u.call("any", &["1", "2", "3"]).unwrap().unwrap(), "3");
    assert_eq!(
        u.call("nosuch/cmd", &[]).unwrap().unwrap_err(),
        "\"nosuch/cmd\" is not a valid command (use \"list-commands\" to see a list of valid \
         commands)"
    );
    assert_eq!(
        u.call("list-commands", &[]).unwrap().unwrap(),
        "The available commands are:\n  any                     [x]...\n  fdb/show                bridge\n  list-commands           \n  version                 \n"
    );
    assert!(u.unregister("any"));
    assert!(!u.unregister("any"));
    assert_eq!(
        u.command_names(),
        vec!["fdb/show", "list-commands", "version"]
    );
}

#[test]
fn panicking_handler_is_an_error() {
    let mut u = server();
    #[allow(clippy::panic)]
    u.register("boom", "", 0, 0, |_| panic!("handler bug"));
    let e = u.call("boom", &[]).unwrap().unwrap_err();
    assert!(e.contains("internal error"), "{e}");
    assert!(u.call("version", &[]).unwrap().is_ok());
}

// ---------------------------------------------------------------------------------------
// Over a socket.

struct Fixture {
    _dir: tempfile::TempDir,
    path: PathBuf,
    u: Unixctl,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.ctl");
    let mut u = Unixctl::new(Some(&path), "v1").unwrap();
    u.register("echo", "[arg]...", 0, UNLIMITED, |a| Ok(a.join(" ")));
    u.register("big", "", 0, 0, |_| Ok("x".repeat(1 << 20)));
    Fixture { _dir: dir, path, u }
}

impl Fixture {
    fn connect(&self) -> UnixStream {
        let s = UnixStream::connect(&self.path).unwrap();
        s.set_nonblocking(true).unwrap();
        s
    }

    /// Runs the server until `client` has received `n` complete JSON values (or EOF).
    fn replies(&mut self, client: &mut UnixStream, n: usize) -> (Vec<Value>, bool) {
        let mut buf = Vec::new();
        let mut eof = false;
        for _ in 0..2000 {
            self.u.run();
            let mut chunk = [0u8; 65536];
            match client.read(&mut chunk) {
                Ok(0) => eof = true,
                Ok(k) => buf.extend_from_slice(&chunk[..k]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == io::ErrorKind::ConnectionReset => eof = true,
                Err(e) => panic!("{e}"),
            }
            let values: Vec<Value> = serde_json::Deserializer::from_slice(&buf)
                .into_iter::<Value>()
                .filter_map(Result::ok)
                .collect();
            if values.len() >= n || eof {
                return (values, eof);
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        panic!("no reply; got {:?}", String::from_utf8_lossy(&buf));
    }
}

#[test]
fn socket_round_trip_in_pieces() {
    let mut f = fixture();
    let mut c = f.connect();
    let req = br#"{"id":0,"method":"echo","params":["a","b"]}"#;
    c.write_all(&req[..10]).unwrap();
    f.u.run();
    c.write_all(&req[10..]).unwrap();
    let (v, _) = f.replies(&mut c, 1);
    assert_eq!(
        v[0],
        serde_json::json!({"id":0,"result":"a b\n","error":null})
    );
    // The connection stays open for more requests, also several in one write.
    c.write_all(br#"{"id":1,"method":"version","params":[]} {"id":2,"method":"nope","params":[]}"#)
        .unwrap();
    let (v, eof) = f.replies(&mut c, 2);
    assert!(!eof);
    assert_eq!(v[0]["result"], "v1\n");
    assert_eq!(v[1]["id"], 2);
    assert!(
        v[1]["error"]
            .as_str()
            .unwrap()
            .contains("is not a valid command")
    );
    assert_eq!(v[1]["result"], Value::Null);
}

#[test]
fn garbage_gets_an_error_and_a_close() {
    let mut f = fixture();
    let mut c = f.connect();
    c.write_all(b"garbage{").unwrap();
    let (v, eof) = f.replies(&mut c, 2);
    assert!(eof);
    assert_eq!(v.len(), 1);
    assert_eq!(v[0]["id"], Value::Null);
    assert!(
        v[0]["error"]
            .as_str()
            .unwrap()
            .contains("error parsing stream")
    );
    // The server goes on serving others.
    let mut c2 = f.connect();
    c2.write_all(br#"{"id":0,"method":"version","params":[]}"#)
        .unwrap();
    assert_eq!(f.replies(&mut c2, 1).0[0]["result"], "v1\n");
    assert_eq!(f.u.n_connections(), 1);
}

#[test]
fn bad_requests() {
    let mut f = fixture();
    for (req, word) in [
        (r#"[1,2]"#, "not a JSON object"),
        (r#"{"id":0,"method":"echo"}"#, "params"),
        (
            r#"{"id":0,"method":"echo","params":[],"x":1}"#,
            "unexpected member",
        ),
        (r#"{"method":"echo","params":[]}"#, "notification"),
    ] {
        let mut c = f.connect();
        c.write_all(req.as_bytes()).unwrap();
        let (v, eof) = f.replies(&mut c, 2);
        assert!(eof, "{req}");
        assert!(
            v[0]["error"].as_str().unwrap().contains(word),
            "{req}: {v:?}"
        );
    }
    // A non-string argument is an ordinary command error: the connection stays.
    let mut c = f.connect();
    c.write_all(br#"{"id":3,"method":"echo","params":[1]}"#)
        .unwrap();
    let (v, eof) = f.replies(&mut c, 1);
    assert!(!eof);
    assert_eq!(v[0]["error"], "\"echo\" command has non-string argument\n");
}

#[test]
fn huge_request_is_cut_off() {
    let mut f = fixture();
    let mut c = f.connect();
    let mut sent = 0;
    let mut chunk = b"{\"id\":0,\"method\":\"echo\",\"params\":[\"".to_vec();
    chunk.extend(std::iter::repeat_n(b'a', 64 * 1024));
    let mut eof = false;
    let mut got = Vec::new();
    for _ in 0..10_000 {
        if sent <= MAX_REQUEST_BYTES + 128 * 1024 {
            match c.write(&chunk) {
                Ok(n) => sent += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(_) => {}
            }
            chunk = vec![b'a'; 64 * 1024];
        }
        f.u.run();
        let mut buf = [0u8; 4096];
        match c.read(&mut buf) {
            Ok(0) => {
                eof = true;
                break;
            }
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {
                eof = true;
                break;
            }
            Err(_) => {}
        }
    }
    assert!(eof, "connection not closed");
    let text = String::from_utf8_lossy(&got);
    assert!(text.contains("longer than"), "{text}");
    assert_eq!(f.u.n_connections(), 0);
}

#[test]
fn client_that_leaves_mid_reply() {
    let mut f = fixture();
    let mut c = f.connect();
    c.write_all(br#"{"id":0,"method":"big","params":[]}"#)
        .unwrap();
    f.u.run();
    drop(c);
    for _ in 0..10 {
        f.u.run();
    }
    assert_eq!(f.u.n_connections(), 0);
    // Still serving.
    let mut c = f.connect();
    c.write_all(br#"{"id":0,"method":"version","params":[]}"#)
        .unwrap();
    assert_eq!(f.replies(&mut c, 1).0[0]["result"], "v1\n");
}

#[test]
fn big_reply_arrives_whole() {
    let mut f = fixture();
    let mut c = f.connect();
    c.write_all(br#"{"id":0,"method":"big","params":[]}"#)
        .unwrap();
    let (v, _) = f.replies(&mut c, 1);
    assert_eq!(v[0]["result"].as_str().unwrap().len(), (1 << 20) + 1);
}

#[test]
fn many_clients_at_once() {
    let mut f = fixture();
    let mut clients: Vec<UnixStream> = (0..10).map(|_| f.connect()).collect();
    for (i, c) in clients.iter_mut().enumerate() {
        let req = format!(r#"{{"id":{i},"method":"echo","params":["c{i}"]}}"#);
        c.write_all(req.as_bytes()).unwrap();
    }
    for (i, c) in clients.iter_mut().enumerate() {
        let (v, _) = f.replies(c, 1);
        assert_eq!(v[0]["result"], format!("c{i}\n"));
        assert_eq!(v[0]["id"], i);
    }
}

#[test]
fn deferred_replies_keep_order() {
    let mut f = fixture();
    let held: Rc<RefCell<Option<Responder>>> = Rc::default();
    let h = Rc::clone(&held);
    f.u.register_deferred("later", "", 0, 0, move |_, r| *h.borrow_mut() = Some(r));
    let mut c = f.connect();
    c.write_all(br#"{"id":1,"method":"later","params":[]}{"id":2,"method":"version","params":[]}"#)
        .unwrap();
    for _ in 0..50 {
        f.u.run();
        std::thread::sleep(Duration::from_millis(1));
    }
    let mut buf = [0u8; 100];
    assert!(
        c.read(&mut buf).is_err(),
        "answered before the deferred reply"
    );
    // Reply from another thread: the notifier wakes the server.
    let r = held.borrow_mut().take().unwrap();
    std::thread::spawn(move || r.reply(Ok("done".into())))
        .join()
        .unwrap();
    let (v, _) = f.replies(&mut c, 2);
    assert_eq!(v[0]["id"], 1);
    assert_eq!(v[0]["result"], "done\n");
    assert_eq!(v[1]["id"], 2);
}

#[test]
fn panicking_deferred_handler_answers_once() {
    let mut f = fixture();
    #[allow(clippy::panic)]
    f.u.register_deferred("boom", "", 0, 0, |_, _r| panic!("handler bug"));
    let mut c = f.connect();
    c.write_all(br#"{"id":1,"method":"boom","params":[]}{"id":2,"method":"version","params":[]}"#)
        .unwrap();
    let (v, _) = f.replies(&mut c, 2);
    assert_eq!(v.len(), 2, "{v:?}");
    assert_eq!(v[0]["id"], 1);
    assert!(v[0]["error"].is_string());
    assert_eq!(v[1]["id"], 2);
    assert_eq!(v[1]["result"], "v1\n");
}

#[test]
fn dropped_responder_answers_with_an_error() {
    let mut f = fixture();
    f.u.register_deferred("forget", "", 0, 0, |_, r| drop(r));
    let mut c = f.connect();
    c.write_all(br#"{"id":1,"method":"forget","params":[]}"#)
        .unwrap();
    let (v, _) = f.replies(&mut c, 1);
    assert!(v[0]["error"].as_str().unwrap().contains("without a reply"));
}

#[test]
fn queued_commands() {
    let mut f = fixture();
    let q = CommandQueue::new();
    f.u.register_queued("reload", "", 0, 1, &q);
    let mut c = f.connect();
    c.write_all(br#"{"id":9,"method":"reload","params":["now"]}"#)
        .unwrap();
    let mut req = None;
    for _ in 0..1000 {
        f.u.run();
        if let Some(r) = q.pop() {
            req = Some(r);
            break;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let req = req.unwrap();
    assert_eq!(req.command, "reload");
    assert_eq!(req.args, vec!["now"]);
    assert!(q.is_empty());
    req.reply(Err("cannot".into()));
    let (v, _) = f.replies(&mut c, 1);
    assert_eq!(
        v[0],
        serde_json::json!({"id":9,"result":null,"error":"cannot\n"})
    );
}

#[test]
fn wait_registers_descriptors() {
    let mut f = fixture();
    let mut poll = PollSet::new();
    f.u.wait(&mut poll);
    assert_eq!(poll.n_fds(), 2); // listener + notifier
    let _c = f.connect();
    f.u.run();
    let mut poll = PollSet::new();
    f.u.wait(&mut poll);
    assert_eq!(poll.n_fds(), 3);
}

#[test]
fn close_removes_socket_and_stale_socket_is_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.ctl");
    // A socket file left behind by a dead daemon.
    drop(UnixListener::bind(&path).unwrap());
    assert!(path.exists());
    let mut u = Unixctl::new(Some(&path), "v").unwrap();
    assert_eq!(u.path(), Some(path.as_path()));
    UnixStream::connect(&path).unwrap();
    u.close_listener();
    assert!(!path.exists());
    assert_eq!(u.path(), None);
    // A regular file in the way is not removed.
    std::fs::write(&path, "x").unwrap();
    assert!(Unixctl::new(Some(&path), "v").is_err());
    assert!(path.exists());
}
