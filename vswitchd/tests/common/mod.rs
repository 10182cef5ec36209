//! Helpers for the daemon's end-to-end tests: a temporary run directory, a configuration
//! file, the `vswitchd` binary started in it, and `ovs-appctl` pointed at it.

#![allow(dead_code)]
// Test helpers: failing loudly is what they are for.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod net;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_vswitchd");

/// A bridge on the in-memory datapath (`--enable-dummy`), so that tests outside a network
/// namespace make no device on the host.
pub const CONFIG: &str = r#"
[[bridge]]
name = "br0"
datapath_type = "dummy"

[[bridge.port]]
name = "p1"
tag = 10
interface = { type = "dummy" }
"#;

/// A temporary run/log directory with a config file `c.toml`.
pub struct Env {
    pub dir: tempfile::TempDir,
}

impl Env {
    pub fn new() -> Env {
        Env::with_config(CONFIG)
    }

    /// An environment whose `c.toml` is `config`.
    pub fn with_config(config: &str) -> Env {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("c.toml"), config).unwrap();
        Env { dir }
    }

    /// Replaces `c.toml` at once (write and rename, as editors do).
    pub fn write_config(&self, config: &str) {
        let tmp = self.path("c.toml.tmp");
        std::fs::write(&tmp, config).unwrap();
        std::fs::rename(&tmp, self.path("c.toml")).unwrap();
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn config_arg(&self) -> String {
        format!("file:{}", self.path("c.toml").display())
    }

    pub fn pidfile(&self) -> PathBuf {
        self.path("ovs-vswitchd.pid")
    }

    pub fn ctl(&self, pid: u32) -> PathBuf {
        self.path(&format!("ovs-vswitchd.{pid}.ctl"))
    }

    /// A `vswitchd` command with `OVS_RUNDIR` and `OVS_LOGDIR` set to the directory, and
    /// `--enable-dummy`.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = self.command_without_dummy(args);
        c.arg("--enable-dummy");
        c
    }

    /// [`Env::command`] without `--enable-dummy`.
    pub fn command_without_dummy(&self, args: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        c.args(args)
            .env("OVS_RUNDIR", self.dir.path())
            .env("OVS_LOGDIR", self.dir.path())
            .stdin(Stdio::null());
        c
    }

    /// Starts `command` (made by [`Env::command`]) in the foreground and waits until its
    /// control socket answers.
    pub fn spawn(&self, mut command: Command, stderr: Stdio) -> Daemon {
        let child = command
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .unwrap();
        let pid = child.id();
        let d = Daemon {
            child: Some(child),
            pid,
            ctl: self.ctl(pid),
        };
        d.wait_ready();
        d
    }

    /// Runs `vswitchd` to completion.
    pub fn run(&self, args: &[&str]) -> Output {
        run_bounded(self.command(args), Duration::from_secs(20))
    }

    /// Starts `vswitchd file:c.toml --pidfile --log-file ARGS...` in the foreground and waits
    /// until its control socket answers.
    pub fn start(&self, extra: &[&str]) -> Daemon {
        let cfg = self.config_arg();
        let mut args = vec![
            cfg.as_str(),
            "--pidfile",
            "--log-file",
            "-vconsole:off",
            "-vsyslog:off",
        ];
        args.extend_from_slice(extra);
        self.spawn(self.command(&args), Stdio::piped())
    }

    /// Runs Debian's `ovs-appctl` against the daemon through the pidfile, as a user would.
    pub fn appctl(&self, args: &[&str]) -> Appctl {
        let mut c = Command::new("ovs-appctl");
        c.arg("-T")
            .arg("10")
            .args(args)
            .env("OVS_RUNDIR", self.dir.path());
        let out = run_bounded(c, Duration::from_secs(20));
        Appctl {
            rc: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.path("ovs-vswitchd.log")).unwrap_or_default()
    }
}

#[derive(Debug)]
pub struct Appctl {
    pub rc: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs a command with a time limit (kills it after `limit`).
pub fn run_bounded(mut c: Command, limit: Duration) -> Output {
    let mut child = c
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {c:?}: {e}"));
    let t = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if t.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "{c:?} did not finish in {limit:?}; stderr: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Waits until `cond` holds, up to 10 s.
pub fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let t = Instant::now();
    while !cond() {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Sends one unixctl request directly and returns the reply.
pub fn request(ctl: &Path, method: &str, params: &[&str]) -> serde_json::Value {
    let mut s = UnixStream::connect(ctl).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let req = serde_json::json!({"id": 0, "method": method, "params": params});
    s.write_all(req.to_string().as_bytes()).unwrap();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = s.read(&mut chunk).unwrap();
        assert!(n > 0, "connection closed without a reply");
        buf.extend_from_slice(&chunk[..n]);
        if let Ok(v) = serde_json::from_slice(&buf) {
            return v;
        }
    }
}

/// A running daemon (our child when started in the foreground).
pub struct Daemon {
    pub child: Option<Child>,
    pub pid: u32,
    pub ctl: PathBuf,
}

impl Daemon {
    /// Calls a unixctl command directly: the result text, or the error text.
    pub fn call(&self, method: &str, params: &[&str]) -> Result<String, String> {
        let v = request(&self.ctl, method, params);
        match v["error"].as_str() {
            Some(e) => Err(e.to_owned()),
            None => Ok(v["result"].as_str().unwrap_or_default().to_owned()),
        }
    }

    /// `bridge/show`.
    pub fn show(&self) -> String {
        self.call("bridge/show", &[]).unwrap()
    }

    /// The `ofport:` of interface `iface` in `bridge/show`, if listed.
    pub fn ofport(&self, iface: &str) -> Option<i64> {
        iface_field(&self.show(), iface, "ofport").map(|s| s.parse().unwrap())
    }

    /// Waits until every interface of `ifaces` has a port number.
    pub fn wait_ports(&self, ifaces: &[&str]) {
        wait_until("the ports to be added", || {
            let show = self.show();
            ifaces.iter().all(|i| {
                iface_field(&show, i, "ofport").is_some_and(|p| p.parse::<i64>().unwrap() > 0)
            })
        });
    }

    pub fn wait_ready(&self) {
        let ctl = self.ctl.clone();
        wait_until("the control socket", || UnixStream::connect(&ctl).is_ok());
    }

    /// Waits for a foreground daemon to exit and returns its exit code and stderr.
    pub fn wait_exit(&mut self) -> (i32, String) {
        let mut child = self.child.take().expect("not our child");
        let t = Instant::now();
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                let mut err = String::new();
                if let Some(mut e) = child.stderr.take() {
                    let _ = e.read_to_string(&mut err);
                }
                return (status.code().unwrap_or(-1), err);
            }
            assert!(t.elapsed() < Duration::from_secs(10), "daemon did not exit");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn signal(&self, sig: nix::sys::signal::Signal) {
        let pid = nix::unistd::Pid::from_raw(i32::try_from(self.pid).unwrap());
        nix::sys::signal::kill(pid, sig).unwrap();
    }

    pub fn alive(&self) -> bool {
        let pid = nix::unistd::Pid::from_raw(i32::try_from(self.pid).unwrap());
        nix::sys::signal::kill(pid, None).is_ok()
            && !std::fs::read_to_string(format!("/proc/{}/stat", self.pid))
                .is_ok_and(|s| s.contains(") Z "))
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        // Never leave a daemon behind, also when a test fails.
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        } else if self.alive() {
            self.signal(nix::sys::signal::Signal::SIGKILL);
        }
    }
}

/// The value of `field:` under `Interface NAME` in `bridge/show` output.
pub fn iface_field(show: &str, iface: &str, field: &str) -> Option<String> {
    let header = format!("Interface {iface}");
    let mut lines = show.lines().skip_while(|l| l.trim() != header);
    lines.next()?;
    let key = format!("{field}: ");
    for l in lines {
        let t = l.trim();
        if t.starts_with("Interface ") || t.starts_with("Port ") || t.starts_with("Bridge ") {
            return None;
        }
        if let Some(v) = t.strip_prefix(&key) {
            return Some(v.trim_matches('"').to_owned());
        }
    }
    None
}
