//! The daemon's main loop, in the shape of `ovs-vswitchd`'s: every iteration runs each part,
//! lets each register what it waits for in a [`PollSet`], and sleeps in [`PollSet::block`].
//!
//! # Plugging in
//!
//! The parts are [`Component`]s. The main loop owns them in the order they were added and,
//! per iteration:
//!
//! 1. handles signals (SIGTERM/SIGINT: exit as `ovs-appctl exit`; SIGHUP: reopen the log
//!    file);
//! 2. runs the unixctl server, which calls command handlers (queued commands wait for their
//!    component);
//! 3. answers its own queued commands (`exit`, `memory/show`);
//! 4. calls every component's [`Component::run`];
//! 5. samples coverage counters;
//! 6. once every component is [`Component::ready`], runs the `on_ready` hooks (with
//!    `--detach`, this lets the parent process exit);
//! 7. stops if an exit was asked for; otherwise calls every [`Component::wait`] and blocks.
//!
//! On exit it calls [`Component::exit`] in reverse order (with `cleanup` from
//! `exit --cleanup`: whoever owns datapaths deletes them), closes the control socket, runs
//! the `on_exit` hooks (pidfile removal), and only then answers the `exit` callers.
//!
//! The bridge layer plugs in as one component that owns the bridges (and their ofprotos),
//! registers its commands (`fdb/show`, `dpif/show`, ...) in
//! [`Component::register_commands`], reconfigures on new [`bridge::Config`]s from an OVSDB
//! server (`bridge::ovsdb::Driver`) or a [`crate::config_file::ConfigWatcher`], runs and waits
//! its ofprotos, and deletes datapaths in `exit(true)`.
//!
//! A component that answers a command with its own state takes requests from a
//! [`CommandQueue`], so it needs no `Rc<RefCell<..>>` around itself:
//!
//! ```
//! use std::time::Instant;
//! use netdev::poll::PollSet;
//! use vswitchd::coverage::Coverage;
//! use vswitchd::main_loop::{Component, Ctx, MainLoop, MemoryReport};
//! use vswitchd::unixctl::{CommandQueue, Unixctl};
//!
//! struct Bridges {
//!     names: Vec<String>,
//!     queue: CommandQueue,
//! }
//!
//! impl Component for Bridges {
//!     fn name(&self) -> &str {
//!         "bridges"
//!     }
//!     fn register_commands(&mut self, unixctl: &mut Unixctl) {
//!         unixctl.register_queued("ofproto/list", "", 0, 0, &self.queue);
//!     }
//!     fn run(&mut self, _now: Instant, _cx: &mut Ctx<'_>) {
//!         while let Some(req) = self.queue.pop() {
//!             let mut out = String::new();
//!             for n in &self.names {
//!                 out.push_str(n);
//!                 out.push('\n');
//!             }
//!             req.reply(Ok(out));
//!         }
//!     }
//!     fn wait(&mut self, poll: &mut PollSet) {
//!         if !self.queue.is_empty() {
//!             poll.immediate_wake();
//!         }
//!     }
//!     fn memory_report(&self, report: &mut MemoryReport) {
//!         report.insert("bridges".into(), self.names.len() as u64);
//!     }
//!     fn exit(&mut self, cleanup: bool) {
//!         if cleanup { /* delete datapaths */ }
//!     }
//! }
//!
//! let unixctl = Unixctl::new(None, "version text").unwrap();
//! let mut main_loop = MainLoop::new(unixctl, Coverage::new());
//! main_loop.add_component(Box::new(Bridges {
//!     names: vec!["br0".into()],
//!     queue: CommandQueue::new(),
//! }));
//! assert!(main_loop.run_once());
//! ```

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use netdev::poll::{Interest, PollSet};
use nix::sys::signal::Signal;

use crate::coverage::Coverage;
use crate::signals::SignalPipe;
use crate::unixctl::{CommandQueue, Responder, Unixctl};
use crate::vlog::Vlog;

/// Memory use reported by `memory/show`: `name:value` pairs, printed sorted by name.
pub type MemoryReport = BTreeMap<String, u64>;

/// What a component's `run` can reach.
#[derive(Debug)]
pub struct Ctx<'a> {
    coverage: &'a Coverage,
    exit: &'a mut Option<bool>,
}

impl Ctx<'_> {
    /// The coverage registry, to make counters.
    pub fn coverage(&self) -> &Coverage {
        self.coverage
    }

    /// Asks the main loop to stop after this iteration, as `exit` (`--cleanup` if `cleanup`).
    pub fn request_exit(&mut self, cleanup: bool) {
        let c = self.exit.get_or_insert(cleanup);
        *c |= cleanup;
    }
}

/// A part of the daemon driven by the main loop. Nothing in it may block.
pub trait Component {
    /// A short name for logs.
    fn name(&self) -> &str;

    /// Registers the component's unixctl commands; called once, when it is added.
    fn register_commands(&mut self, _unixctl: &mut Unixctl) {}

    /// Does whatever work is ready, without blocking. `now` is this iteration's time.
    fn run(&mut self, now: Instant, cx: &mut Ctx<'_>);

    /// Registers in `poll` what the next `run` waits for: descriptors, deadlines, or an
    /// immediate wake-up if work is pending.
    fn wait(&mut self, poll: &mut PollSet);

    /// Whether startup is complete (first configuration applied). `--detach` returns once
    /// every component is ready.
    fn ready(&self) -> bool {
        true
    }

    /// Adds the component's numbers to `memory/show`.
    fn memory_report(&self, _report: &mut MemoryReport) {}

    /// The daemon is exiting; with `cleanup` (`exit --cleanup`), delete datapaths and other
    /// state that would otherwise outlive the process.
    fn exit(&mut self, _cleanup: bool) {}
}

type Hook = Box<dyn FnOnce()>;

/// The main loop. See the [module docs](self).
pub struct MainLoop {
    unixctl: Unixctl,
    components: Vec<Box<dyn Component>>,
    coverage: Coverage,
    vlog: Option<Vlog>,
    signals: Option<SignalPipe>,
    queue: CommandQueue,
    /// `Some(cleanup)` once an exit is asked for.
    exit: Option<bool>,
    exit_responders: Vec<Responder>,
    ready_hooks: Vec<Hook>,
    exit_hooks: Vec<Hook>,
    ready: bool,
    stopped: bool,
}

impl std::fmt::Debug for MainLoop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MainLoop")
            .field("unixctl", &self.unixctl)
            .field(
                "components",
                &self.components.iter().map(|c| c.name()).collect::<Vec<_>>(),
            )
            .field("exit", &self.exit)
            .finish_non_exhaustive()
    }
}

impl MainLoop {
    /// A main loop around `unixctl`; registers `exit`, `memory/show`, `coverage/show` and
    /// `coverage/read-counter`.
    pub fn new(mut unixctl: Unixctl, coverage: Coverage) -> MainLoop {
        let queue = CommandQueue::new();
        unixctl.register_queued("exit", "[--cleanup]", 0, 1, &queue);
        unixctl.register_queued("memory/show", "", 0, 0, &queue);
        let cov = coverage.clone();
        unixctl.register("coverage/show", "", 0, 0, move |_| Ok(cov.show()));
        let cov = coverage.clone();
        unixctl.register("coverage/read-counter", "COUNTER", 1, 1, move |a| {
            cov.read(&a[0])
                .map(|n| format!("{n}\n"))
                .ok_or_else(|| format!("No such counter \"{}\"", a[0]))
        });
        MainLoop {
            unixctl,
            components: Vec::new(),
            coverage,
            vlog: None,
            signals: None,
            queue,
            exit: None,
            exit_responders: Vec::new(),
            ready_hooks: Vec::new(),
            exit_hooks: Vec::new(),
            ready: false,
            stopped: false,
        }
    }

    /// The unixctl server, e.g. to register more commands.
    pub fn unixctl_mut(&mut self) -> &mut Unixctl {
        &mut self.unixctl
    }

    /// The coverage registry.
    pub fn coverage(&self) -> &Coverage {
        &self.coverage
    }

    /// Adds a component (after those added before) and lets it register its commands.
    pub fn add_component(&mut self, mut c: Box<dyn Component>) {
        c.register_commands(&mut self.unixctl);
        self.components.push(c);
    }

    /// The logging settings, for SIGHUP (reopen the log file).
    pub fn set_vlog(&mut self, vlog: Vlog) {
        self.vlog = Some(vlog);
    }

    /// Signals to handle: SIGTERM and SIGINT exit, SIGHUP reopens the log file.
    pub fn set_signals(&mut self, signals: SignalPipe) {
        self.signals = Some(signals);
    }

    /// Runs `f` once, when every component is first ready.
    pub fn on_ready(&mut self, f: impl FnOnce() + 'static) {
        self.ready_hooks.push(Box::new(f));
    }

    /// Runs `f` on exit, after the components' `exit` and before answering `exit` callers.
    pub fn on_exit(&mut self, f: impl FnOnce() + 'static) {
        self.exit_hooks.push(Box::new(f));
    }

    /// Asks the loop to stop, as `exit` would.
    pub fn request_exit(&mut self, cleanup: bool) {
        let c = self.exit.get_or_insert(cleanup);
        *c |= cleanup;
    }

    /// Whether an exit was asked for, and with `--cleanup`.
    pub fn exit_requested(&self) -> Option<bool> {
        self.exit
    }

    fn handle_signals(&mut self) {
        let Some(signals) = &self.signals else {
            return;
        };
        for sig in signals.drain() {
            match sig {
                Signal::SIGHUP => {
                    if let Some(v) = &self.vlog
                        && v.log_file().is_some()
                        && let Err(e) = v.reopen_log_file()
                    {
                        tracing::warn!("SIGHUP: could not reopen log file: {e}");
                    }
                }
                other => {
                    tracing::info!("received {other}, exiting");
                    self.request_exit(false);
                }
            }
        }
    }

    fn handle_queue(&mut self) {
        while let Some(req) = self.queue.pop() {
            let command = req.command.clone();
            let arg = req.args.first().cloned();
            match command.as_str() {
                "exit" => match arg.as_deref() {
                    None => {
                        self.request_exit(false);
                        self.exit_responders.push(req.responder);
                    }
                    Some("--cleanup") => {
                        self.request_exit(true);
                        self.exit_responders.push(req.responder);
                    }
                    Some(other) => req.reply(Err(format!(
                        "\"exit\": unknown option \"{other}\" (use --cleanup or nothing)"
                    ))),
                },
                "memory/show" => {
                    let mut report = MemoryReport::new();
                    for c in &self.components {
                        c.memory_report(&mut report);
                    }
                    let mut out = String::new();
                    for (k, v) in &report {
                        if !out.is_empty() {
                            out.push(' ');
                        }
                        let _ = write!(out, "{k}:{v}");
                    }
                    req.reply(Ok(out));
                }
                other => req.reply(Err(format!("\"{other}\" is not handled"))),
            }
        }
    }

    /// One iteration without blocking: signals, unixctl, commands, components, coverage,
    /// readiness. Returns `false` once an exit was asked for.
    pub fn run_once(&mut self) -> bool {
        let now = Instant::now();
        self.handle_signals();
        self.unixctl.run();
        self.handle_queue();
        let mut exit = None;
        for c in &mut self.components {
            let mut cx = Ctx {
                coverage: &self.coverage,
                exit: &mut exit,
            };
            c.run(now, &mut cx);
        }
        if let Some(cleanup) = exit {
            self.request_exit(cleanup);
        }
        self.coverage.run(now);
        if !self.ready && self.components.iter().all(|c| c.ready()) {
            self.ready = true;
            for hook in std::mem::take(&mut self.ready_hooks) {
                hook();
            }
        }
        self.exit.is_none()
    }

    /// Registers everything the next iteration waits for.
    pub fn wait(&mut self, poll: &mut PollSet) {
        self.unixctl.wait(poll);
        if let Some(s) = &self.signals {
            poll.fd_wait(s.fd(), Interest::Read);
        }
        if !self.queue.is_empty() {
            poll.immediate_wake();
        }
        for c in &mut self.components {
            c.wait(poll);
        }
        if let Some(t) = self.coverage.next_sample() {
            poll.timer_wait(t);
        }
    }

    /// Runs until an exit is asked for, then shuts down (see the module docs). Returns
    /// whether `--cleanup` was asked for.
    pub fn run(&mut self) -> bool {
        while self.run_once() {
            let mut poll = PollSet::new();
            self.wait(&mut poll);
            if let Err(e) = poll.block() {
                tracing::error!("poll failed: {e}");
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        self.shutdown()
    }

    /// Stops the components, closes the control socket, runs the exit hooks and answers
    /// the `exit` callers. Returns whether `--cleanup` was asked for. Only the first call
    /// does anything.
    pub fn shutdown(&mut self) -> bool {
        let cleanup = self.exit.unwrap_or(false);
        if std::mem::replace(&mut self.stopped, true) {
            return cleanup;
        }
        for c in self.components.iter_mut().rev() {
            c.exit(cleanup);
        }
        self.unixctl.close_listener();
        for hook in std::mem::take(&mut self.exit_hooks) {
            hook();
        }
        for r in std::mem::take(&mut self.exit_responders) {
            r.reply(Ok(String::new()));
        }
        self.unixctl.flush_all(Duration::from_secs(1));
        cleanup
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::io::{Read, Write};
    use std::os::unix::net::UnixStream;
    use std::rc::Rc;

    #[derive(Default)]
    struct Log(Rc<RefCell<Vec<String>>>);

    struct Probe {
        name: &'static str,
        log: Rc<RefCell<Vec<String>>>,
        runs: u32,
        ready_after: u32,
    }

    impl Component for Probe {
        fn name(&self) -> &str {
            self.name
        }
        fn register_commands(&mut self, unixctl: &mut Unixctl) {
            let name = self.name;
            unixctl.register(&format!("{name}/hello"), "", 0, 0, move |_| Ok(name.into()));
        }
        fn run(&mut self, _now: Instant, cx: &mut Ctx<'_>) {
            self.runs += 1;
            cx.coverage().counter("probe_runs").inc();
        }
        fn wait(&mut self, poll: &mut PollSet) {
            poll.timer_wait_after(Duration::from_millis(5));
        }
        fn ready(&self) -> bool {
            self.runs >= self.ready_after
        }
        fn memory_report(&self, report: &mut MemoryReport) {
            report.insert(format!("{}-runs", self.name), u64::from(self.runs.min(1)));
        }
        fn exit(&mut self, cleanup: bool) {
            self.log
                .borrow_mut()
                .push(format!("{} exit {cleanup}", self.name));
        }
    }

    fn main_loop(log: &Log) -> MainLoop {
        let mut m = MainLoop::new(Unixctl::new(None, "v").unwrap(), Coverage::new());
        for (name, ready_after) in [("a", 1), ("b", 3)] {
            m.add_component(Box::new(Probe {
                name,
                log: Rc::clone(&log.0),
                runs: 0,
                ready_after,
            }));
        }
        m
    }

    #[test]
    fn commands_and_readiness() {
        let log = Log::default();
        let mut m = main_loop(&log);
        assert_eq!(m.unixctl_mut().call("a/hello", &[]), Some(Ok("a".into())));
        assert_eq!(m.unixctl_mut().call("b/hello", &[]), Some(Ok("b".into())));
        let l = Rc::clone(&log.0);
        m.on_ready(move || l.borrow_mut().push("ready".into()));
        assert!(m.run_once());
        assert!(m.run_once());
        assert!(log.0.borrow().is_empty(), "ready before b is");
        assert!(m.run_once());
        assert_eq!(*log.0.borrow(), vec!["ready"]);
        assert!(m.run_once());
        assert_eq!(log.0.borrow().len(), 1, "ready hooks run once");
        assert_eq!(m.coverage().read("probe_runs"), Some(8));
        let cov = m.unixctl_mut().call("coverage/show", &[]).unwrap().unwrap();
        assert!(cov.contains("probe_runs"), "{cov}");
        assert_eq!(
            m.unixctl_mut()
                .call("coverage/read-counter", &["probe_runs"]),
            Some(Ok("8\n".into()))
        );
        assert!(
            m.unixctl_mut()
                .call("coverage/read-counter", &["x"])
                .unwrap()
                .is_err()
        );
    }

    #[test]
    fn exit_order() {
        let log = Log::default();
        let mut m = main_loop(&log);
        let l = Rc::clone(&log.0);
        m.on_exit(move || l.borrow_mut().push("hook".into()));
        assert!(m.run_once());
        m.request_exit(true);
        assert!(!m.run_once());
        assert!(m.shutdown());
        assert_eq!(*log.0.borrow(), vec!["b exit true", "a exit true", "hook"]);
    }

    /// Sends one request and reads one reply while the loop runs in this thread.
    fn ask(m: &mut MainLoop, c: &mut UnixStream, req: &str) -> serde_json::Value {
        c.write_all(req.as_bytes()).unwrap();
        let mut buf = Vec::new();
        for _ in 0..2000 {
            if !m.run_once() {
                m.shutdown();
            }
            let mut chunk = [0u8; 4096];
            match c.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                Err(_) => {}
            }
            if let Ok(v) = serde_json::from_slice(&buf) {
                return v;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        panic!("no reply: {:?}", String::from_utf8_lossy(&buf));
    }

    #[test]
    fn exit_and_memory_over_the_socket() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.ctl");
        let log = Log::default();
        let mut m = MainLoop::new(Unixctl::new(Some(&path), "v").unwrap(), Coverage::new());
        m.add_component(Box::new(Probe {
            name: "a",
            log: Rc::clone(&log.0),
            runs: 0,
            ready_after: 0,
        }));
        let mut c = UnixStream::connect(&path).unwrap();
        c.set_nonblocking(true).unwrap();
        let v = ask(
            &mut m,
            &mut c,
            r#"{"id":1,"method":"memory/show","params":[]}"#,
        );
        assert!(v["result"].as_str().unwrap().starts_with("a-runs:"), "{v}");
        let v = ask(
            &mut m,
            &mut c,
            r#"{"id":2,"method":"exit","params":["--bogus"]}"#,
        );
        assert!(v["error"].as_str().unwrap().contains("--bogus"));
        assert!(m.exit_requested().is_none());
        let v = ask(
            &mut m,
            &mut c,
            r#"{"id":3,"method":"exit","params":["--cleanup"]}"#,
        );
        assert_eq!(v, serde_json::json!({"id":3,"result":"","error":null}));
        assert_eq!(m.exit_requested(), Some(true));
        assert!(!path.exists(), "socket removed before the exit reply");
        assert_eq!(*log.0.borrow(), vec!["a exit true"]);
    }
}
