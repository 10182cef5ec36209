//! The bridge layer as a main-loop component: [`BridgeComponent`] owns the running
//! [`bridge::Switch`] and its configuration [`Source`]: the [`ConfigWatcher`] of a
//! configuration file, or an OVSDB [`bridge::ovsdb::Driver`].
//!
//! # What it does
//!
//! * With a file, on its first `run` it applies the configuration read at startup; with
//!   OVSDB, once it holds the `ovs_vswitchd` lock and has the database's contents. Only then
//!   is it [`Component::ready`], so `--detach` returns once the bridges exist (with OVSDB,
//!   like `ovs-vswitchd`, it waits for the server however long that takes).
//! * With OVSDB, each change in the database is applied as it arrives and what the switch
//!   did is written back (`cur_cfg`, `ofport`, `error`, status, statistics), so that
//!   `ovs-vsctl` returns; a server that goes away is reconnected to with backoff while the
//!   switch keeps forwarding with its configuration. `reload` reapplies the configuration
//!   in force, which retries interfaces that failed.
//! * When the file changes (checked from the main loop) or on `ovs-appctl reload`, it
//!   reads the file again and reconfigures; a file that does not parse is refused, logged,
//!   and the running configuration stays. `reload` reconfigures even when the file did not
//!   change, which retries interfaces that failed.
//! * Every iteration it runs the switch (ofprotos, device link notifications), which also
//!   notices interfaces that vanish underneath and records their error.
//! * It answers the bridge layer's `ovs-appctl` commands: `reload`, `bridge/show`,
//!   `bridge/dump-flows`, `ofproto/list`, `ofproto/trace`, `fdb/show`, `fdb/flush`,
//!   `dpif/show`, `dpif/dump-flows`, `dpctl/show`, `dpctl/dump-flows`, `upcall/show`,
//!   `revalidator/wait`.
//! * It adds `bridges`, `ports`, `rules` and the ofproto class's numbers to `memory/show`,
//!   and counts `bridge_reconfigure`, `config_reload` and `config_error` in coverage.
//! * On exit it destroys the bridges; `exit --cleanup` also deletes what they made in their
//!   datapaths.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bridge::{Config, ReconfigureReport, Switch};
use netdev::poll::PollSet;

use crate::config_file::{ConfigWatcher, summary};
use crate::coverage::{Counter, Coverage};
use crate::main_loop::{Component, Ctx, MemoryReport};
use crate::unixctl::{CommandQueue, Request, UNLIMITED, Unixctl};

/// How long `revalidator/wait` waits at most.
pub const REVALIDATOR_WAIT_TIMEOUT: Duration = Duration::from_secs(10);

/// The commands answered from the component's `run`: name, usage, min and max arguments.
const QUEUED: [(&str, &str, usize, usize); 12] = [
    ("reload", "(re-read the configuration file)", 0, 0),
    ("bridge/show", "", 0, 0),
    ("bridge/dump-flows", "[--offload-stats] bridge", 1, 2),
    ("ofproto/list", "", 0, 0),
    (
        "ofproto/trace",
        "{[dp_name] odp_flow | bridge br_flow} [OPTIONS...] [-generate|packet]",
        1,
        UNLIMITED,
    ),
    ("fdb/show", "bridge", 1, 1),
    ("fdb/flush", "[bridge]", 0, 1),
    ("dpif/show", "", 0, 0),
    (
        "dpif/dump-flows",
        "[-m] [--names | --no-names] bridge",
        1,
        3,
    ),
    ("dpctl/show", "[-s] [dp...]", 0, UNLIMITED),
    (
        "dpctl/dump-flows",
        "[-m] [--names] [dp] [filter=..] [type=..] [pmd=..]",
        0,
        UNLIMITED,
    ),
    ("upcall/show", "", 0, 0),
];

/// Where the configuration comes from.
#[derive(Debug)]
pub enum Source {
    /// A TOML file.
    File(ConfigWatcher),
    /// An OVSDB server.
    Ovsdb(Box<bridge::ovsdb::Driver>),
}

/// The bridge layer's main-loop component. See the [module docs](self).
pub struct BridgeComponent {
    switch: Switch,
    source: Source,
    /// The configuration in force (the last valid one read).
    current: Config,
    /// The first configuration has been applied.
    started: bool,
    queue: CommandQueue,
    reconfigures: Counter,
    reloads: Counter,
    errors: Counter,
}

impl std::fmt::Debug for BridgeComponent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BridgeComponent")
            .field("switch", &self.switch)
            .field("source", &self.source)
            .field("started", &self.started)
            .finish_non_exhaustive()
    }
}

/// Logs what a reconfiguration did.
fn log_report(what: &str, report: &ReconfigureReport) {
    if report.is_empty() {
        tracing::debug!("{what}: no change");
    } else {
        tracing::info!("{what}: {}", report.summary());
    }
}

impl BridgeComponent {
    /// A component that runs `switch` with the configuration `initial` (read by `watcher`
    /// at startup and not applied yet: the first `run` applies it).
    pub fn new(
        switch: Switch,
        watcher: ConfigWatcher,
        initial: Config,
        coverage: &Coverage,
    ) -> Self {
        BridgeComponent {
            switch,
            source: Source::File(watcher),
            current: initial,
            started: false,
            queue: CommandQueue::new(),
            reconfigures: coverage.counter("bridge_reconfigure"),
            reloads: coverage.counter("config_reload"),
            errors: coverage.counter("config_error"),
        }
    }

    /// A component that runs `switch` with the configuration of the OVSDB server that
    /// `driver` talks to.
    pub fn with_ovsdb(switch: Switch, driver: bridge::ovsdb::Driver, coverage: &Coverage) -> Self {
        BridgeComponent {
            switch,
            source: Source::Ovsdb(Box::new(driver)),
            current: Config::default(),
            started: false,
            queue: CommandQueue::new(),
            reconfigures: coverage.counter("bridge_reconfigure"),
            reloads: coverage.counter("config_reload"),
            errors: coverage.counter("config_error"),
        }
    }

    /// The configuration source.
    pub fn source(&self) -> &Source {
        &self.source
    }

    /// The running switch.
    pub fn switch(&self) -> &Switch {
        &self.switch
    }

    /// The configuration in force.
    pub fn current(&self) -> &Config {
        &self.current
    }

    fn apply(&mut self, what: &str) -> ReconfigureReport {
        self.reconfigures.inc();
        let report = self.switch.reconfigure(&self.current);
        log_report(what, &report);
        report
    }

    /// Takes a new read of the file: applies a valid configuration (also when unchanged,
    /// if `always`), keeps the running one otherwise. Returns the text for `reload`.
    fn take(
        &mut self,
        result: Result<Config, bridge::Error>,
        always: bool,
    ) -> Result<String, String> {
        let path = match &self.source {
            Source::File(w) => w.path().display().to_string(),
            Source::Ovsdb(d) => d.session().remote().to_string(),
        };
        match result {
            Ok(c) => {
                let changed = c != self.current;
                if !changed && !always {
                    tracing::debug!("{path}: configuration unchanged");
                    return Ok(format!("{path}: configuration unchanged"));
                }
                if changed {
                    self.reloads.inc();
                    self.current = c;
                }
                let report = self.apply(&format!("{path}: reconfigured"));
                let mut msg = if changed {
                    let msg = format!("{path}: configuration reloaded: {}", summary(&self.current));
                    tracing::info!("{msg}");
                    msg
                } else {
                    format!("{path}: configuration unchanged")
                };
                if !report.is_empty() {
                    msg.push_str(&format!(" ({})", report.summary()));
                }
                for e in &report.errors {
                    msg.push_str("\nerror: ");
                    msg.push_str(e);
                }
                Ok(msg)
            }
            Err(e) => {
                self.errors.inc();
                tracing::error!("{e}; keeping the previous configuration");
                Err(format!("{e}; keeping the previous configuration"))
            }
        }
    }

    fn answer(&mut self, req: Request) {
        let args = req.args.clone();
        let arg = |i: usize| args.get(i).map(String::as_str);
        let reply = match req.command.as_str() {
            "reload" => {
                let result = match &mut self.source {
                    Source::File(w) => w.load(),
                    Source::Ovsdb(_) => Ok(self.current.clone()),
                };
                self.take(result, true)
            }
            "bridge/show" => self.switch.cmd_bridge_show(),
            "bridge/dump-flows" => {
                let bridge = match args.as_slice() {
                    [b] => Some(b.as_str()),
                    [flag, b] if flag == "--offload-stats" => Some(b.as_str()),
                    _ => None,
                };
                match bridge {
                    Some(b) => self.switch.cmd_bridge_dump_flows(b, dpif::monotonic_ms()),
                    None => Err("usage: bridge/dump-flows [--offload-stats] bridge".to_owned()),
                }
            }
            "ofproto/list" => self.switch.cmd_ofproto_list(),
            "ofproto/trace" => self.switch.cmd_trace(&args),
            "fdb/show" => self.switch.cmd_fdb_show(arg(0).unwrap_or_default()),
            "fdb/flush" => self.switch.cmd_fdb_flush(arg(0)),
            "dpif/show" => self.switch.cmd_dpif_show(),
            "dpif/dump-flows" => self.switch.cmd_dpif_dump_flows(&args),
            "dpctl/show" => self.switch.cmd_dpctl_show(&args),
            "dpctl/dump-flows" => self.switch.cmd_dpctl_dump_flows(&args),
            "upcall/show" => self.switch.cmd_upcall_show(),
            other => Err(format!("\"{other}\" is not handled")),
        };
        req.reply(reply);
    }
}

impl Component for BridgeComponent {
    fn name(&self) -> &str {
        "bridge"
    }

    fn register_commands(&mut self, unixctl: &mut Unixctl) {
        for (name, usage, min, max) in QUEUED {
            unixctl.register_queued(name, usage, min, max, &self.queue);
        }
        // Waiting for the revalidators would stall the main loop: a thread waits and
        // answers.
        let class = Arc::clone(self.switch.class());
        unixctl.register_deferred("revalidator/wait", "", 0, 0, move |_, responder| {
            let class = Arc::clone(&class);
            let spawned = std::thread::Builder::new()
                .name("revalidator-wait".to_owned())
                .spawn(move || {
                    class.revalidator_wait(REVALIDATOR_WAIT_TIMEOUT);
                    responder.reply(Ok(String::new()));
                });
            if let Err(e) = spawned {
                tracing::warn!("revalidator/wait: cannot start a thread: {e}");
            }
        });
    }

    fn run(&mut self, now: Instant, _cx: &mut Ctx<'_>) {
        if let Source::Ovsdb(db) = &mut self.source {
            if let Some(report) = db.run(&mut self.switch, now) {
                self.reconfigures.inc();
                if let Some(c) = db.current() {
                    if !self.started {
                        tracing::info!(
                            "{}: configuration applied: {} ({})",
                            db.session().remote(),
                            summary(c),
                            report.summary()
                        );
                    }
                    self.current = c.clone();
                }
            }
            if db.is_configured() {
                self.started = true;
            }
        }
        if !self.started
            && let Source::File(w) = &self.source
        {
            let path = w.path().display().to_string();
            self.reconfigures.inc();
            let report = self.switch.reconfigure(&self.current);
            tracing::info!(
                "{path}: configuration applied: {} ({})",
                summary(&self.current),
                report.summary()
            );
            self.started = true;
        }
        while let Some(req) = self.queue.pop() {
            self.answer(req);
        }
        if let Source::File(w) = &mut self.source
            && let Some(result) = w.poll(now)
        {
            let _ = self.take(result, false);
        }
        if let Some(report) = self.switch.run(dpif::monotonic_ms()) {
            self.reconfigures.inc();
            log_report("interfaces changed underneath", &report);
            if let Source::Ovsdb(db) = &mut self.source {
                db.switch_changed();
            }
        }
    }

    fn wait(&mut self, poll: &mut PollSet) {
        if (!self.started && matches!(self.source, Source::File(_))) || !self.queue.is_empty() {
            poll.immediate_wake();
        }
        match &self.source {
            Source::File(w) => w.wait(poll),
            Source::Ovsdb(db) => db.wait(poll),
        }
        self.switch.wait(poll);
    }

    fn ready(&self) -> bool {
        self.started
    }

    fn memory_report(&self, report: &mut MemoryReport) {
        for (k, v) in self.switch.memory_usage() {
            *report.entry(k).or_default() += v;
        }
        if let Source::Ovsdb(db) = &self.source {
            let cells = db.session().replica().n_cells();
            report.insert("idl-cells-Open_vSwitch".to_owned(), cells as u64);
        }
    }

    fn exit(&mut self, cleanup: bool) {
        self.switch.exit(cleanup);
    }
}
