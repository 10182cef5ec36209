//! The switch driven from a real `ovsdb-server` with Debian's `ovs-vsctl`, as operators do,
//! and from a fake server that sends what a real one never should.
//!
//! Each test makes its own database from `/usr/share/openvswitch/vswitch.ovsschema` in a
//! temporary directory that is also the run directory, starts `ovsdb-server` there (in the
//! foreground, as a child killed when the test ends, pass or fail), then `vswitchd
//! unix:<dir>/db.sock`. `ovs-vsctl` runs without `--no-wait`: each command returns only once
//! our switch wrote `cur_cfg` back. Tests with hosts need root (network namespaces).

// Test helpers: failing loudly is what they are for.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::net::{BackgroundPing, Host, sh, switch_netns};
use common::*;
use serde_json::{Value, json};

const SCHEMA: &str = "/usr/share/openvswitch/vswitch.ovsschema";
const SECS_10: Duration = Duration::from_secs(10);

fn require_ovs_tools() -> bool {
    tests::have("ovsdb-server") && tests::have("ovsdb-tool") && tests::have("ovs-vsctl")
}

/// A real `ovsdb-server` on `<dir>/db.sock`, with its database `<dir>/conf.db`.
struct OvsdbServer {
    dir: PathBuf,
    child: Option<Child>,
}

impl OvsdbServer {
    /// Creates the database and starts the server.
    fn new(dir: &Path) -> OvsdbServer {
        let db = dir.join("conf.db");
        let out = sh("ovsdb-tool", &["create", db.to_str().unwrap(), SCHEMA]);
        assert!(out.status.success(), "ovsdb-tool create: {out:?}");
        let mut s = OvsdbServer {
            dir: dir.to_owned(),
            child: None,
        };
        s.start();
        s
    }

    fn sock(&self) -> PathBuf {
        self.dir.join("db.sock")
    }

    fn start(&mut self) {
        let d = |n: &str| self.dir.join(n).display().to_string();
        let child = Command::new("ovsdb-server")
            .arg(d("conf.db"))
            .arg(format!("--remote=punix:{}", d("db.sock")))
            .arg(format!("--unixctl={}", d("ovsdb-server.ctl")))
            .arg(format!("--log-file={}", d("ovsdb-server.log")))
            .args(["--no-chdir", "-vconsole:off"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("ovsdb-server");
        self.child = Some(child);
        let sock = self.sock();
        wait_until("ovsdb-server to listen", || {
            UnixStream::connect(&sock).is_ok()
        });
    }

    /// Kills the server at once (SIGKILL), as a crash would.
    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// `ovs-vsctl --db=unix:<dir>/db.sock ARGS` (without `--no-wait`), bounded in time.
    fn vsctl(&self, args: &[&str]) -> Output {
        let mut c = Command::new("ovs-vsctl");
        c.arg(format!("--db=unix:{}", self.sock().display()))
            .arg("--timeout=20")
            .args(args);
        run_bounded(c, Duration::from_secs(30))
    }

    /// Runs `ovs-vsctl ARGS`, asserting that it succeeded and printed no error; its stdout.
    fn vsctl_ok(&self, args: &[&str]) -> String {
        let out = self.vsctl(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && err.is_empty(),
            "ovs-vsctl {args:?}: {}, stderr: {err}",
            out.status
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }
}

impl Drop for OvsdbServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Starts `vswitchd DB --pidfile --log-file` in the foreground in `env`'s directory (no
/// DATABASE argument if `db` is empty).
fn start_vswitchd(env: &Env, db: &str) -> Daemon {
    let mut args = vec!["--pidfile", "--log-file", "-vconsole:off", "-vsyslog:off"];
    if !db.is_empty() {
        args.insert(0, db);
    }
    env.spawn(env.command(&args), Stdio::null())
}

/// The OpenFlow port number of `iface` in Debian's `ovs-appctl dpif/show` (`    p1 1/2:
/// (system)`).
fn dpif_show_ofport(env: &Env, iface: &str) -> Option<String> {
    let out = env.appctl(&["dpif/show"]);
    assert_eq!(out.rc, 0, "{out:?}");
    let show = out.stdout;
    show.lines().find_map(|l| {
        let mut w = l.split_whitespace();
        if w.next() == Some(iface) {
            w.next()
                .and_then(|p| p.split('/').next())
                .map(str::to_owned)
        } else {
            None
        }
    })
}

/// The `Port NAME` block of `bridge/show`.
fn port_block(show: &str, port: &str) -> String {
    let header = format!("Port {port}");
    let mut out = String::new();
    let mut inside = false;
    for l in show.lines() {
        let t = l.trim();
        if t.starts_with("Port ") || t.starts_with("Bridge ") {
            inside = t == header;
        }
        if inside {
            out.push_str(t);
            out.push('\n');
        }
    }
    out
}

#[test]
fn vsctl_commands_return_and_do_what_they_say() {
    tests::require_root!();
    tests::require!(
        require_ovs_tools(),
        "needs ovsdb-server, ovsdb-tool, ovs-vsctl"
    );
    tests::require!(tests::have("ping"), "needs ping (iputils-ping)");
    let _ns = switch_netns();
    let h1 = Host::new("sw1", "10.0.0.1");
    let _h2 = Host::new("sw2", "10.0.0.2");
    let env = Env::new();
    let db = OvsdbServer::new(env.dir.path());
    db.vsctl_ok(&["--no-wait", "init"]);
    let d = start_vswitchd(&env, &format!("unix:{}", db.sock().display()));

    db.vsctl_ok(&[
        "add-br",
        "br0",
        "--",
        "set",
        "bridge",
        "br0",
        "datapath_type=netdev",
    ]);
    let show = d.show();
    assert!(show.contains("Bridge br0"), "{show}");
    assert!(show.contains("datapath_type: netdev"), "{show}");
    // The switch wrote the bridge's local port number and its datapath id.
    assert_eq!(db.vsctl_ok(&["get", "interface", "br0", "ofport"]), "65534");
    let mem = env.appctl(&["memory/show"]).stdout;
    assert!(mem.contains("idl-cells-Open_vSwitch:"), "{mem}");
    let dpid = db.vsctl_ok(&["get", "bridge", "br0", "datapath_id"]);
    assert_eq!(dpid.trim_matches('"').len(), 16, "{dpid}");

    db.vsctl_ok(&["add-port", "br0", "sw1"]);
    db.vsctl_ok(&[
        "add-port",
        "br0",
        "sw2",
        "--",
        "set",
        "interface",
        "sw2",
        "ofport_request=7",
    ]);
    assert_eq!(db.vsctl_ok(&["get", "interface", "sw2", "ofport"]), "7");
    for p in ["sw1", "sw2"] {
        let ofport = db.vsctl_ok(&["get", "interface", p, "ofport"]);
        assert!(ofport.parse::<u32>().unwrap() > 0, "{p}: {ofport}");
        assert_eq!(
            dpif_show_ofport(&env, p).as_deref(),
            Some(ofport.as_str()),
            "{p}"
        );
    }
    assert_eq!(
        db.vsctl_ok(&["get", "open_vswitch", ".", "cur_cfg"]),
        db.vsctl_ok(&["get", "open_vswitch", ".", "next_cfg"])
    );
    h1.wait_reaches("10.0.0.2", SECS_10);
    assert_eq!(h1.ping("10.0.0.2", 3, "0.1"), (3, 3));

    // Status written back: the veth is up, with its ifindex and MAC.
    wait_until("link_state to be written", || {
        db.vsctl_ok(&["get", "interface", "sw1", "link_state"]) == "up"
    });
    let mac = db.vsctl_ok(&["get", "interface", "sw1", "mac_in_use"]);
    let ip_link =
        String::from_utf8_lossy(&sh("ip", &["-o", "link", "show", "sw1"]).stdout).into_owned();
    assert!(ip_link.contains(mac.trim_matches('"')), "{mac} {ip_link}");
    let ifindex = db.vsctl_ok(&["get", "interface", "sw1", "ifindex"]);
    assert!(
        ip_link.starts_with(&format!("{ifindex}: sw1")),
        "{ifindex} {ip_link}"
    );
    assert_eq!(
        db.vsctl_ok(&["get", "interface", "sw1", "admin_state"]),
        "up"
    );
    assert_eq!(db.vsctl_ok(&["get", "interface", "sw1", "mtu"]), "1500");
    // A change of the device shows: sw1 set down, then up again.
    assert!(sh("ip", &["link", "set", "sw1", "down"]).status.success());
    wait_until("admin_state down to be written", || {
        db.vsctl_ok(&["get", "interface", "sw1", "admin_state"]) == "down"
            && db.vsctl_ok(&["get", "interface", "sw1", "link_state"]) == "down"
    });
    assert!(sh("ip", &["link", "set", "sw1", "up"]).status.success());
    wait_until("admin_state up to be written", || {
        db.vsctl_ok(&["get", "interface", "sw1", "admin_state"]) == "up"
    });
    h1.wait_reaches("10.0.0.2", SECS_10);
    // Statistics (every 5 s): the pings show in sw1's counters.
    wait_until("statistics to count the pings", || {
        let out = db.vsctl(&["get", "interface", "sw1", "statistics:rx_packets"]);
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse::<u64>()
            .is_ok_and(|n| n >= 3)
    });

    // A port that cannot work: ovs-vsctl prints the error our switch wrote, and the bridge
    // keeps forwarding.
    let out = db.vsctl(&["add-port", "br0", "nosuchdev"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{out:?}");
    assert!(
        err.contains(
            "Error detected while setting up 'nosuchdev': could not open network device \
             nosuchdev (No such device)"
        ),
        "{err}"
    );
    assert_eq!(
        db.vsctl_ok(&["get", "interface", "nosuchdev", "ofport"]),
        "-1"
    );
    assert_eq!(h1.ping("10.0.0.2", 3, "0.1"), (3, 3));
    // Made an internal port, the same interface works: the switch makes its device and
    // clears the error.
    db.vsctl_ok(&["set", "interface", "nosuchdev", "type=internal"]);
    assert!(sh("ip", &["link", "show", "nosuchdev"]).status.success());
    let ofport = db.vsctl_ok(&["get", "interface", "nosuchdev", "ofport"]);
    assert!(ofport.parse::<u32>().unwrap() > 0, "{ofport}");
    assert_eq!(
        db.vsctl_ok(&["get", "interface", "nosuchdev", "error"]),
        "[]"
    );
    assert!(port_block(&d.show(), "nosuchdev").contains("type: internal"));
    db.vsctl_ok(&["del-port", "nosuchdev"]);
    assert!(!sh("ip", &["link", "show", "nosuchdev"]).status.success());

    // fail_mode=secure: no controller, so no flows and no traffic; back to standalone.
    db.vsctl_ok(&["set-fail-mode", "br0", "secure"]);
    wait_until("secure mode to stop traffic", || !h1.reaches("10.0.0.2"));
    db.vsctl_ok(&["del-fail-mode", "br0"]);
    h1.wait_reaches("10.0.0.2", SECS_10);

    // mtu_request: the device's MTU changes, and the mtu column follows.
    db.vsctl_ok(&["set", "interface", "sw1", "mtu_request=1400"]);
    let ip_link =
        String::from_utf8_lossy(&sh("ip", &["-o", "link", "show", "sw1"]).stdout).into_owned();
    assert!(ip_link.contains("mtu 1400"), "{ip_link}");
    wait_until("mtu 1400 to be written", || {
        db.vsctl_ok(&["get", "interface", "sw1", "mtu"]) == "1400"
    });

    // VLAN tags: sw1 alone in VLAN 10 cannot reach sw2, then both in VLAN 10 can.
    db.vsctl_ok(&["set", "port", "sw1", "tag=10"]);
    assert!(
        port_block(&d.show(), "sw1").contains("tag: 10"),
        "{}",
        d.show()
    );
    wait_until("VLAN 10 to isolate sw1", || !h1.reaches("10.0.0.2"));
    db.vsctl_ok(&["set", "port", "sw2", "tag=10"]);
    h1.wait_reaches("10.0.0.2", SECS_10);

    // An internal port: the switch makes its device.
    db.vsctl_ok(&[
        "add-port",
        "br0",
        "int0",
        "--",
        "set",
        "interface",
        "int0",
        "type=internal",
    ]);
    assert!(sh("ip", &["link", "show", "int0"]).status.success());
    let show = d.show();
    assert!(
        port_block(&show, "int0").contains("type: internal"),
        "{show}"
    );
    assert!(
        db.vsctl_ok(&["get", "interface", "int0", "ofport"])
            .parse::<u32>()
            .unwrap()
            > 0
    );

    // del-port: the port is gone from the bridge and traffic stops.
    db.vsctl_ok(&["del-port", "br0", "sw2"]);
    assert!(dpif_show_ofport(&env, "sw2").is_none(), "{}", d.show());
    assert!(!h1.reaches("10.0.0.2"));

    // del-br: the bridge is gone.
    db.vsctl_ok(&["del-br", "br0"]);
    let show = d.show();
    assert!(!show.contains("Bridge br0"), "{show}");
    assert!(dpif_show_ofport(&env, "sw1").is_none());
}

#[test]
fn server_restart_under_running_switch() {
    tests::require_root!();
    tests::require!(
        require_ovs_tools(),
        "needs ovsdb-server, ovsdb-tool, ovs-vsctl"
    );
    tests::require!(tests::have("ping"), "needs ping (iputils-ping)");
    let _ns = switch_netns();
    let h1 = Host::new("sw1", "10.0.0.1");
    let _h2 = Host::new("sw2", "10.0.0.2");
    let _h3 = Host::new("sw3", "10.0.0.3");
    let env = Env::new();
    let mut db = OvsdbServer::new(env.dir.path());
    db.vsctl_ok(&["--no-wait", "init"]);
    let d = start_vswitchd(&env, &format!("unix:{}", db.sock().display()));
    db.vsctl_ok(&[
        "add-br",
        "br0",
        "--",
        "set",
        "bridge",
        "br0",
        "datapath_type=netdev",
        "--",
        "add-port",
        "br0",
        "sw1",
        "--",
        "add-port",
        "br0",
        "sw2",
    ]);
    h1.wait_reaches("10.0.0.2", SECS_10);

    // Pings go on while the server is down and comes back.
    let ping = BackgroundPing::start(&h1, "10.0.0.2", 30, "0.1");
    std::thread::sleep(Duration::from_millis(500));
    db.kill();
    std::thread::sleep(Duration::from_millis(1500));
    assert!(d.alive());
    assert!(d.show().contains("Port sw2"));
    db.start();
    let (sent, received) = ping.finish();
    assert_eq!(
        (sent, received),
        (30, 30),
        "pings lost while the server restarted"
    );

    // A change made after the restart is applied (the switch reconnected and resynced).
    db.vsctl_ok(&["add-port", "br0", "sw3"]);
    h1.wait_reaches("10.0.0.3", SECS_10);
    assert!(env.log().contains("connection dropped"), "{}", env.log());
}

#[test]
fn detach_waits_for_the_server_like_ovs_vswitchd() {
    tests::require!(
        require_ovs_tools(),
        "needs ovsdb-server, ovsdb-tool, ovs-vsctl"
    );
    // Measured with Debian's ovs-vswitchd 3.1.0: `ovs-vswitchd unix:<absent> --detach` keeps
    // the parent waiting (still waiting when killed after 20 s) while the daemon retries
    // with backoff; it returns once the server answered. The same here.
    let env = Env::new();
    let sock = env.path("db.sock");
    let db_arg = format!("unix:{}", sock.display());
    let mut parent = env
        .command(&[
            &db_arg,
            "--pidfile",
            "--detach",
            "--log-file",
            "-vconsole:off",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let guard = DetachedGuard(env.pidfile());
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        parent.try_wait().unwrap().is_none(),
        "--detach returned without a server"
    );
    let db = OvsdbServer::new(env.dir.path());
    db.vsctl_ok(&["--no-wait", "init"]);
    let t = std::time::Instant::now();
    let status = loop {
        if let Some(s) = parent.try_wait().unwrap() {
            break s;
        }
        assert!(
            t.elapsed() < Duration::from_secs(15),
            "--detach did not return"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status}");
    // The daemon is configured from the server now.
    db.vsctl_ok(&[
        "add-br",
        "br0",
        "--",
        "set",
        "bridge",
        "br0",
        "datapath_type=dummy",
    ]);
    assert_eq!(db.vsctl_ok(&["get", "interface", "br0", "ofport"]), "65534");
    drop(guard);
}

/// Kills the detached daemon named by a pidfile, also when the test fails.
struct DetachedGuard(PathBuf);

impl Drop for DetachedGuard {
    fn drop(&mut self) {
        if let Ok(Some(pid)) = vswitchd::pidfile::read_pidfile(&self.0) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}

/// A fake OVSDB server on a Unix socket: it answers `get_schema` with the real schema,
/// grants the lock, answers `monitor_cond` with `initial`, acknowledges transactions (and
/// records them), and sends each notification the test hands it.
struct FakeServer {
    push: mpsc::Sender<Value>,
    txns: Arc<Mutex<Vec<Value>>>,
    /// Every message received that is not a request (replies to the fake's requests).
    replies: Arc<Mutex<Vec<Value>>>,
    _thread: std::thread::JoinHandle<()>,
}

impl FakeServer {
    fn start(sock: &Path, initial: Value) -> FakeServer {
        FakeServer::with(sock, initial, false, 0)
    }

    /// With `old`, the server refuses `monitor_cond` and answers plain `monitor` (give
    /// `initial` in `update` format then); the first `failing` transactions fail (their last
    /// operation gets an error, as when a row is gone).
    fn with(sock: &Path, initial: Value, old: bool, mut failing: usize) -> FakeServer {
        let listener = UnixListener::bind(sock).unwrap();
        let schema: Value =
            serde_json::from_str(&std::fs::read_to_string(SCHEMA).unwrap()).unwrap();
        let (push, rx) = mpsc::channel::<Value>();
        let txns = Arc::new(Mutex::new(Vec::new()));
        let t = Arc::clone(&txns);
        let replies = Arc::new(Mutex::new(Vec::new()));
        let r = Arc::clone(&replies);
        let thread = std::thread::spawn(move || {
            let Ok((mut s, _)) = listener.accept() else {
                return;
            };
            s.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
            let mut buf = Vec::new();
            loop {
                while let Ok(v) = rx.try_recv() {
                    if s.write_all(v.to_string().as_bytes()).is_err() {
                        return;
                    }
                }
                let mut chunk = [0u8; 65536];
                match s.read(&mut chunk) {
                    Ok(0) => return,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    Err(e)
                        if e.kind() == std::io::ErrorKind::WouldBlock
                            || e.kind() == std::io::ErrorKind::TimedOut =>
                    {
                        continue;
                    }
                    Err(_) => return,
                }
                let mut it = serde_json::Deserializer::from_slice(&buf).into_iter::<Value>();
                let mut msgs = Vec::new();
                let mut consumed = 0;
                while let Some(Ok(v)) = it.next() {
                    consumed = it.byte_offset();
                    msgs.push(v);
                }
                buf.drain(..consumed);
                for m in msgs {
                    if m.get("method").is_none() {
                        r.lock().unwrap().push(m);
                        continue;
                    }
                    let id = m["id"].clone();
                    let result = match m["method"].as_str() {
                        Some("get_schema") => schema.clone(),
                        Some("lock") => json!({"locked": true}),
                        Some("monitor_cond") if old => {
                            let e = json!({"id": id, "result": null, "error": {"error": "unknown method"}});
                            if s.write_all(e.to_string().as_bytes()).is_err() {
                                return;
                            }
                            continue;
                        }
                        Some("monitor_cond" | "monitor") => initial.clone(),
                        Some("transact") => {
                            let n = m["params"].as_array().map_or(1, Vec::len) - 1;
                            t.lock().unwrap().push(m["params"].clone());
                            let mut r = vec![json!({"count": 1}); n];
                            if failing > 0 {
                                failing -= 1;
                                if let Some(last) = r.last_mut() {
                                    *last = json!({"error": "constraint violation", "details": "row gone"});
                                }
                            }
                            Value::Array(r)
                        }
                        Some("echo") => m["params"].clone(),
                        _ => continue,
                    };
                    let reply = json!({"id": id, "result": result, "error": null});
                    if s.write_all(reply.to_string().as_bytes()).is_err() {
                        return;
                    }
                }
            }
        });
        FakeServer {
            push,
            txns,
            replies,
            _thread: thread,
        }
    }

    fn update2(&self, updates: Value) {
        self.push
            .send(json!({"id": null, "method": "update2", "params": ["rovs", updates]}))
            .unwrap();
    }

    /// Whether a transaction set `Open_vSwitch.cur_cfg` to `n`.
    fn wrote_cur_cfg(&self, n: i64) -> bool {
        self.cur_cfg_writes(n) > 0
    }

    /// How many transactions set `Open_vSwitch.cur_cfg` to `n`.
    fn cur_cfg_writes(&self, n: i64) -> usize {
        self.txns
            .lock()
            .unwrap()
            .iter()
            .filter(|t| {
                t.as_array()
                    .into_iter()
                    .flatten()
                    .any(|op| op["table"] == "Open_vSwitch" && op["row"]["cur_cfg"] == json!(n))
            })
            .count()
    }
}

#[test]
fn malformed_updates_are_logged_and_ignored() {
    tests::require!(
        Path::new(SCHEMA).exists(),
        "needs {SCHEMA} (openvswitch-common)"
    );
    let env = Env::new();
    let sock = env.path("fake.sock");
    let (o, b, p, i) = (
        "11111111-1111-1111-1111-111111111111",
        "22222222-2222-2222-2222-222222222222",
        "33333333-3333-3333-3333-333333333333",
        "44444444-4444-4444-4444-444444444444",
    );
    let initial = json!({
        "Open_vSwitch": {o: {"initial": {"bridges": ["uuid", b], "next_cfg": 1}}},
        "Bridge": {b: {"initial": {"name": "br0", "datapath_type": "dummy", "ports": ["uuid", p]}}},
        "Port": {p: {"initial": {"name": "p1", "interfaces": ["uuid", i]}}},
        "Interface": {i: {"initial": {"name": "p1", "type": "dummy"}}},
    });
    let fake = FakeServer::start(&sock, initial);
    let d = start_vswitchd(&env, &format!("unix:{}", sock.display()));
    d.wait_ports(&["p1"]);
    wait_until("cur_cfg 1 to be written", || fake.wrote_cur_cfg(1));
    let good = d.show();
    assert!(port_block(&good, "p1").contains("ofport: 1"), "{good}");

    let missing = "55555555-5555-5555-5555-555555555555";
    let bad = [
        // Wrong type.
        json!({"Interface": {i: {"modify": {"name": 5}}}}),
        json!({"Port": {p: {"modify": {"tag": "ten"}}}}),
        // Unknown column.
        json!({"Port": {p: {"modify": {"nosuchcolumn": "x"}}}}),
        // Missing row.
        json!({"Port": {missing: {"modify": {"tag": 10}}}}),
        json!({"Interface": {missing: {"delete": null}}}),
        // Unknown table.
        json!({"NoSuchTable": {missing: {"insert": {}}}}),
        // A valid change together with a bad one: neither is applied.
        json!({
            "Port": {p: {"modify": {"tag": 20}}},
            "Interface": {missing: {"modify": {"type": "internal"}}},
            "Open_vSwitch": {o: {"modify": {"next_cfg": 2}}},
        }),
    ];
    for u in &bad {
        fake.update2(u.clone());
    }
    // Not an update at all.
    fake.push
        .send(json!({"id": null, "method": "update2", "params": ["not-our-monitor", {}]}))
        .unwrap();
    fake.push.send(json!({"hello": 1})).unwrap();
    wait_until("the bad updates to be logged", || {
        env.log().matches("ignoring a malformed update").count() >= bad.len()
    });
    assert!(env.log().contains("column nosuchcolumn was not monitored"));
    assert!(env.log().contains("modified, but it does not exist"));
    // The switch keeps its configuration.
    assert_eq!(d.show(), good);
    assert!(!fake.wrote_cur_cfg(2));

    // The session still works: a good update is applied and acknowledged.
    fake.update2(json!({
        "Port": {p: {"modify": {"tag": 30}}},
        "Open_vSwitch": {o: {"modify": {"next_cfg": 3}}},
    }));
    wait_until("tag 30 to be applied", || {
        port_block(&d.show(), "p1").contains("tag: 30")
    });
    wait_until("cur_cfg 3 to be written", || fake.wrote_cur_cfg(3));

    // The server's echo is answered with the same parameters.
    fake.push
        .send(json!({"id": "e1", "method": "echo", "params": ["x", 1]}))
        .unwrap();
    wait_until("the echo reply", || {
        fake.replies
            .lock()
            .unwrap()
            .iter()
            .any(|m| m["id"] == "e1" && m["result"] == json!(["x", 1]) && m["error"].is_null())
    });
    assert!(!port_block(&d.show(), "p1").contains("tag: 20"));
}

const O: &str = "11111111-1111-1111-1111-111111111111";
const B: &str = "22222222-2222-2222-2222-222222222222";
const P: &str = "33333333-3333-3333-3333-333333333333";
const I: &str = "44444444-4444-4444-4444-444444444444";

#[test]
fn falls_back_to_monitor_on_an_older_server() {
    tests::require!(
        Path::new(SCHEMA).exists(),
        "needs {SCHEMA} (openvswitch-common)"
    );
    let env = Env::new();
    let sock = env.path("fake.sock");
    // RFC 7047 `monitor` format: full rows in "new".
    let initial = json!({
        "Open_vSwitch": {O: {"new": {"bridges": ["uuid", B], "next_cfg": 1, "cur_cfg": 0}}},
        "Bridge": {B: {"new": {"name": "br0", "datapath_type": "dummy", "ports": ["uuid", P]}}},
        "Port": {P: {"new": {"name": "p1", "interfaces": ["uuid", I]}}},
        "Interface": {I: {"new": {"name": "p1", "type": "dummy"}}},
    });
    let fake = FakeServer::with(&sock, initial, true, 0);
    let d = start_vswitchd(&env, &format!("unix:{}", sock.display()));
    d.wait_ports(&["p1"]);
    wait_until("cur_cfg 1 to be written", || fake.wrote_cur_cfg(1));
    assert!(
        env.log().contains("falling back to monitor"),
        "{}",
        env.log()
    );
    // A plain `update` notification (new and old) is applied.
    fake.push
        .send(json!({"id": null, "method": "update", "params": ["rovs", {
            "Port": {P: {"new": {"name": "p1", "interfaces": ["uuid", I], "tag": 7},
                         "old": {"tag": ["set", []]}}},
            "Open_vSwitch": {O: {"new": {"bridges": ["uuid", B], "next_cfg": 2, "cur_cfg": 1},
                                 "old": {"next_cfg": 1}}},
        }]}))
        .unwrap();
    wait_until("tag 7 to be applied", || {
        port_block(&d.show(), "p1").contains("tag: 7")
    });
    wait_until("cur_cfg 2 to be written", || fake.wrote_cur_cfg(2));
}

#[test]
fn a_failed_write_back_is_retried() {
    tests::require!(
        Path::new(SCHEMA).exists(),
        "needs {SCHEMA} (openvswitch-common)"
    );
    let env = Env::new();
    let sock = env.path("fake.sock");
    let initial = json!({
        "Open_vSwitch": {O: {"initial": {"bridges": ["uuid", B], "next_cfg": 1}}},
        "Bridge": {B: {"initial": {"name": "br0", "datapath_type": "dummy", "ports": ["uuid", P]}}},
        "Port": {P: {"initial": {"name": "p1", "interfaces": ["uuid", I]}}},
        "Interface": {I: {"initial": {"name": "p1", "type": "dummy"}}},
    });
    // The fake never echoes our writes back as updates, so the replica keeps saying that
    // cur_cfg is 0: after the two failures the switch writes it again and again succeeds.
    let fake = FakeServer::with(&sock, initial, false, 2);
    let _d = start_vswitchd(&env, &format!("unix:{}", sock.display()));
    wait_until("cur_cfg to be written three times", || {
        fake.cur_cfg_writes(1) >= 3
    });
    assert!(
        env.log().matches("write-back transaction failed").count() >= 2,
        "{}",
        env.log()
    );
}

#[test]
fn tcp_remote_with_echo_both_ways() {
    tests::require!(
        require_ovs_tools(),
        "needs ovsdb-server, ovsdb-tool, ovs-vsctl"
    );
    let env = Env::new();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let db = OvsdbServer::new(env.dir.path());
    // A second remote on TCP, added at run time as `ovs-appctl` would.
    let ctl = env.path("ovsdb-server.ctl");
    let out = sh(
        "ovs-appctl",
        &[
            "-t",
            ctl.to_str().unwrap(),
            "ovsdb-server/add-remote",
            &format!("ptcp:{port}:127.0.0.1"),
        ],
    );
    assert!(out.status.success(), "{out:?}");
    db.vsctl_ok(&["--no-wait", "init"]);
    let d = start_vswitchd(&env, &format!("tcp:127.0.0.1:{port}"));
    db.vsctl_ok(&[
        "add-br",
        "br0",
        "--",
        "set",
        "bridge",
        "br0",
        "datapath_type=dummy",
    ]);
    assert!(d.show().contains("Bridge br0"));
    // Over TCP ovsdb-server probes an idle client every 5 s and drops it after 10 s without
    // an answer; the switch probes the server likewise. 11 s idle: still connected.
    std::thread::sleep(Duration::from_secs(11));
    assert!(!env.log().contains("connection dropped"), "{}", env.log());
    db.vsctl_ok(&[
        "add-port",
        "br0",
        "p1",
        "--",
        "set",
        "interface",
        "p1",
        "type=dummy",
    ]);
    assert!(
        db.vsctl_ok(&["get", "interface", "p1", "ofport"])
            .parse::<u32>()
            .unwrap()
            > 0
    );
    assert_eq!(
        env.log().matches("connecting...").count(),
        1,
        "{}",
        env.log()
    );
}

#[test]
fn a_second_switch_waits_for_the_lock() {
    tests::require!(
        require_ovs_tools(),
        "needs ovsdb-server, ovsdb-tool, ovs-vsctl"
    );
    let env1 = Env::new();
    let env2 = Env::new();
    let db = OvsdbServer::new(env1.dir.path());
    db.vsctl_ok(&["--no-wait", "init"]);
    let remote = format!("unix:{}", db.sock().display());
    let d1 = start_vswitchd(&env1, &remote);
    // The first switch holds the lock (it configures only then) before the second starts.
    wait_until("the first switch to take the lock and configure", || {
        env1.log().contains("reconfigured from the database")
    });
    let d2 = start_vswitchd(&env2, &remote);
    db.vsctl_ok(&[
        "add-br",
        "br0",
        "--",
        "set",
        "bridge",
        "br0",
        "datapath_type=dummy",
    ]);
    assert!(d1.show().contains("Bridge br0"));
    wait_until("the second switch to see the lock held", || {
        env2.log()
            .contains("another ovs-vswitchd process is running")
    });
    assert!(!d2.show().contains("Bridge br0"), "{}", d2.show());

    // The first switch goes away: the second gets the lock and takes over.
    drop(d1);
    wait_until("the second switch to configure br0", || {
        d2.show().contains("Bridge br0")
    });
    db.vsctl_ok(&[
        "add-port",
        "br0",
        "p1",
        "--",
        "set",
        "interface",
        "p1",
        "type=dummy",
    ]);
    d2.wait_ports(&["p1"]);
    assert!(
        env2.log().contains("acquired the ovs_vswitchd lock"),
        "{}",
        env2.log()
    );
}

#[test]
fn set_and_map_changes_arrive_intact() {
    tests::require!(
        require_ovs_tools(),
        "needs ovsdb-server, ovsdb-tool, ovs-vsctl"
    );
    // update2 carries diffs for sets and maps: each step's result must match the database.
    let env = Env::new();
    let db = OvsdbServer::new(env.dir.path());
    db.vsctl_ok(&["--no-wait", "init"]);
    // No DATABASE argument: the default, unix:$OVS_RUNDIR/db.sock, as ovs-vswitchd.
    let d = start_vswitchd(&env, "");
    db.vsctl_ok(&[
        "add-br",
        "br0",
        "--",
        "set",
        "bridge",
        "br0",
        "datapath_type=dummy",
        "--",
        "add-port",
        "br0",
        "p1",
        "--",
        "set",
        "interface",
        "p1",
        "type=dummy",
    ]);
    let steps: [(&[&str], &str, bool); 9] = [
        (
            &["set", "port", "p1", "trunks=1,2,3"],
            "trunks: [1, 2, 3]",
            true,
        ),
        (
            &["set", "port", "p1", "trunks=2,3,4"],
            "trunks: [2, 3, 4]",
            true,
        ),
        (
            &["add", "port", "p1", "trunks", "9"],
            "trunks: [2, 3, 4, 9]",
            true,
        ),
        (&["clear", "port", "p1", "trunks"], "trunks:", false),
        (
            &["set", "interface", "p1", "options:a=1", "options:b=2"],
            "options: {a=1, b=2}",
            true,
        ),
        (
            &["set", "interface", "p1", "options:a=5"],
            "options: {a=5, b=2}",
            true,
        ),
        (
            &["remove", "interface", "p1", "options", "b"],
            "options: {a=5}",
            true,
        ),
        (
            &["set", "port", "p1", "vlan_mode=native-untagged", "tag=5"],
            "vlan_mode: native-untagged",
            true,
        ),
        (&["clear", "port", "p1", "vlan_mode"], "vlan_mode:", false),
    ];
    for (args, text, present) in steps {
        db.vsctl_ok(args);
        let block = port_block(&d.show(), "p1");
        assert_eq!(block.contains(text), present, "after {args:?}: {block}");
    }
    assert!(port_block(&d.show(), "p1").contains("tag: 5"));
    db.vsctl_ok(&["clear", "port", "p1", "tag"]);
    assert!(!port_block(&d.show(), "p1").contains("tag:"));
    assert!(!env.log().contains("malformed"), "{}", env.log());
}

#[test]
fn controller_status_is_written_back() {
    tests::require!(
        require_ovs_tools(),
        "needs ovsdb-server, ovsdb-tool, ovs-vsctl"
    );
    let env = Env::new();
    let db = OvsdbServer::new(env.dir.path());
    db.vsctl_ok(&["--no-wait", "init"]);
    let _d = start_vswitchd(&env, &format!("unix:{}", db.sock().display()));
    // A controller that answers HELLO (OpenFlow 1.3) and reads whatever comes.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let controller = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.write_all(&[4, 0, 0, 8, 0, 0, 0, 1]).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut buf = [0u8; 4096];
        while matches!(s.read(&mut buf), Ok(n) if n > 0) {}
    });
    let target = format!("tcp:127.0.0.1:{port}");
    db.vsctl_ok(&[
        "add-br",
        "br0",
        "--",
        "set",
        "bridge",
        "br0",
        "datapath_type=dummy",
        "--",
        "set-controller",
        "br0",
        &target,
    ]);
    wait_until("is_connected to be written", || {
        db.vsctl_ok(&["get", "controller", "br0", "is_connected"]) == "true"
    });
    assert_eq!(db.vsctl_ok(&["get", "controller", "br0", "role"]), "other");
    let status = db.vsctl_ok(&["get", "controller", "br0", "status"]);
    assert!(status.contains("state=ACTIVE"), "{status}");
    let show = db.vsctl_ok(&["show"]);
    assert!(show.contains("is_connected: true"), "{show}");

    // A controller nobody listens on: not connected, with its state.
    db.vsctl_ok(&["set-controller", "br0", "tcp:127.0.0.1:1"]);
    wait_until("the new controller's status", || {
        let s = db.vsctl_ok(&["get", "controller", "br0", "status"]);
        s.contains("state=") && !s.contains("state=ACTIVE")
    });
    assert_eq!(
        db.vsctl_ok(&["get", "controller", "br0", "is_connected"]),
        "false"
    );
    assert_eq!(db.vsctl_ok(&["get", "controller", "br0", "role"]), "[]");
    drop(controller);
}

/// Without `--enable-dummy`, a bridge of datapath type `dummy` from the database is skipped
/// and logged (ovs-vswitchd cannot create that datapath either); `ovs-vsctl` still returns,
/// and a bridge of an available type next to it works.
#[test]
fn a_dummy_bridge_needs_enable_dummy() {
    tests::require!(
        require_ovs_tools(),
        "needs ovsdb-server, ovsdb-tool, ovs-vsctl"
    );
    let env = Env::new();
    let db = OvsdbServer::new(env.dir.path());
    db.vsctl_ok(&["--no-wait", "init"]);
    let remote = format!("unix:{}", db.sock().display());
    let d = env.spawn(
        env.command_without_dummy(&[
            &remote,
            "--pidfile",
            "--log-file",
            "-vconsole:off",
            "-vsyslog:off",
        ]),
        Stdio::null(),
    );
    // ovs-vsctl returns, and says the bridge's interface was not set up (as with OVS).
    let out = db.vsctl(&[
        "add-br",
        "brd",
        "--",
        "set",
        "bridge",
        "brd",
        "datapath_type=dummy",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{out:?}");
    assert!(
        err.contains("Error detected while setting up 'brd'"),
        "{err}"
    );
    db.vsctl_ok(&[
        "add-br",
        "brn",
        "--",
        "set",
        "bridge",
        "brn",
        "datapath_type=netdev",
    ]);
    let show = d.show();
    assert!(!show.contains("Bridge brd"), "{show}");
    assert!(show.contains("Bridge brn"), "{show}");
    let log = env.log();
    assert!(
        log.contains("bridge brd: datapath type \"dummy\" is not available"),
        "{log}"
    );
}
