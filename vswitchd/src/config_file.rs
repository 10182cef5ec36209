//! The configuration file source: watch a TOML file and re-read it when it changes or on
//! `ovs-appctl reload`.
//!
//! [`ConfigWatcher`] checks the file's identity and metadata (device, inode, size, mtime,
//! ctime) every [`CHECK_INTERVAL`] from the main loop and parses it again when any of them
//! changed, so editors that write in place and editors that replace the file are both seen.
//! A file modified less than [`SETTLE`] ago is left alone until it has settled, so that a
//! file caught in the middle of being written (truncated, half written) is not applied.
//! A file that fails to parse is reported once per change; the caller keeps its previous
//! configuration.
//!
//! [`ConfigFileComponent`] is a main-loop component for a daemon without bridges: it hands
//! each valid new configuration to a callback (or only logs a summary) and answers `reload`.
//! The `vswitchd` daemon uses [`crate::bridges::BridgeComponent`] instead, which owns a
//! watcher and reconfigures its bridges.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use bridge::{Config, ConfigTypes};
use netdev::poll::PollSet;

use crate::coverage::{Counter, Coverage};
use crate::main_loop::{Component, Ctx};
use crate::unixctl::{CommandQueue, Unixctl};

/// How often the file's metadata is checked.
pub const CHECK_INTERVAL: Duration = Duration::from_secs(1);

/// How long a changed file must stay unmodified before the watcher reads it.
pub const SETTLE: Duration = Duration::from_millis(300);

/// What identifies one version of the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Stamp {
    dev: u64,
    ino: u64,
    size: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
    modified: Option<SystemTime>,
}

fn stamp(path: &Path) -> Option<Stamp> {
    std::fs::metadata(path).ok().map(|m| Stamp {
        dev: m.dev(),
        ino: m.ino(),
        size: m.size(),
        mtime: (m.mtime(), m.mtime_nsec()),
        ctime: (m.ctime(), m.ctime_nsec()),
        modified: m.modified().ok(),
    })
}

/// Watches one configuration file.
#[derive(Debug)]
pub struct ConfigWatcher {
    path: PathBuf,
    types: ConfigTypes,
    /// The version last read (`None`: missing, or never read).
    stamp: Option<Stamp>,
    next_check: Option<Instant>,
}

impl ConfigWatcher {
    /// Watches `path`, validating with `types`. Nothing is read until [`ConfigWatcher::load`]
    /// or [`ConfigWatcher::poll`].
    pub fn new(path: impl Into<PathBuf>, types: ConfigTypes) -> ConfigWatcher {
        ConfigWatcher {
            path: path.into(),
            types,
            stamp: None,
            next_check: None,
        }
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads and parses the file now, whether it changed or not.
    ///
    /// # Errors
    ///
    /// The file cannot be read, or is not a valid configuration.
    pub fn load(&mut self) -> Result<Config, bridge::Error> {
        // Stat before reading: a change racing with the read is seen again at the next check.
        self.stamp = stamp(&self.path);
        Config::load(&self.path, &self.types)
    }

    /// If a check is due at `now` and the file changed since it was last read, reads it:
    /// `Some(result)`; otherwise `None`.
    pub fn poll(&mut self, now: Instant) -> Option<Result<Config, bridge::Error>> {
        match self.next_check {
            Some(t) if now < t => return None,
            _ => self.next_check = Some(now + CHECK_INTERVAL),
        }
        let current = stamp(&self.path);
        if current == self.stamp {
            return None;
        }
        let fresh = current
            .and_then(|s| s.modified)
            .and_then(|m| SystemTime::now().duration_since(m).ok())
            .is_some_and(|age| age < SETTLE);
        if fresh {
            self.next_check = Some(now + SETTLE);
            return None;
        }
        Some(self.load())
    }

    /// Wakes the poll loop for the next check.
    pub fn wait(&self, poll: &mut PollSet) {
        match self.next_check {
            Some(t) => poll.timer_wait(t),
            None => poll.immediate_wake(),
        }
    }
}

/// What to do with each new valid configuration.
pub type ApplyFn = Box<dyn FnMut(&Config)>;

/// A component that keeps the current configuration from a file up to date and hands each
/// new one to a callback.
pub struct ConfigFileComponent {
    watcher: ConfigWatcher,
    current: Config,
    queue: CommandQueue,
    apply: ApplyFn,
    reloads: Counter,
    errors: Counter,
}

impl std::fmt::Debug for ConfigFileComponent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfigFileComponent")
            .field("watcher", &self.watcher)
            .finish_non_exhaustive()
    }
}

/// A one-line summary of a configuration for logs and `reload`.
pub fn summary(c: &Config) -> String {
    format!("{} bridges, {} ports", c.bridges.len(), c.n_ports())
}

impl ConfigFileComponent {
    /// A component around `watcher` whose configuration is `initial` (already applied by the
    /// caller); `apply` is called with each later valid configuration that differs.
    pub fn new(
        watcher: ConfigWatcher,
        initial: Config,
        coverage: &Coverage,
        apply: ApplyFn,
    ) -> Self {
        ConfigFileComponent {
            watcher,
            current: initial,
            queue: CommandQueue::new(),
            apply,
            reloads: coverage.counter("config_reload"),
            errors: coverage.counter("config_error"),
        }
    }

    /// A component whose `apply` only logs what it would configure.
    pub fn logging_only(watcher: ConfigWatcher, initial: Config, coverage: &Coverage) -> Self {
        let path = watcher.path().display().to_string();
        Self::new(
            watcher,
            initial,
            coverage,
            Box::new(move |c| {
                tracing::info!("{path}: new configuration: {}", summary(c));
            }),
        )
    }

    /// The configuration in force.
    pub fn current(&self) -> &Config {
        &self.current
    }

    /// Re-reads the file now (`reload`): applies it if valid and different, keeps the old
    /// configuration otherwise. Returns the text for `ovs-appctl reload`.
    ///
    /// # Errors
    ///
    /// The file could not be read or is not valid; the message says so.
    pub fn reload(&mut self) -> Result<String, String> {
        let result = self.watcher.load();
        self.take(result)
    }

    /// Takes `result` of a read: applies a new valid configuration, keeps the old one on
    /// error. Returns the text for `reload`.
    fn take(&mut self, result: Result<Config, bridge::Error>) -> Result<String, String> {
        let path = self.watcher.path().display().to_string();
        match result {
            Ok(c) if c == self.current => {
                tracing::debug!("{path}: configuration unchanged");
                Ok(format!("{path}: configuration unchanged"))
            }
            Ok(c) => {
                self.reloads.inc();
                (self.apply)(&c);
                let msg = format!("{path}: configuration reloaded: {}", summary(&c));
                self.current = c;
                Ok(msg)
            }
            Err(e) => {
                self.errors.inc();
                tracing::error!("{e}; keeping the previous configuration");
                Err(format!("{e}; keeping the previous configuration"))
            }
        }
    }
}

impl Component for ConfigFileComponent {
    fn name(&self) -> &str {
        "config-file"
    }

    fn register_commands(&mut self, unixctl: &mut Unixctl) {
        unixctl.register_queued(
            "reload",
            "(re-read the configuration file)",
            0,
            0,
            &self.queue,
        );
    }

    fn run(&mut self, now: Instant, _cx: &mut Ctx<'_>) {
        while let Some(req) = self.queue.pop() {
            let reply = self.reload();
            req.reply(reply);
        }
        if let Some(result) = self.watcher.poll(now) {
            let _ = self.take(result);
        }
    }

    fn wait(&mut self, poll: &mut PollSet) {
        self.watcher.wait(poll);
        if !self.queue.is_empty() {
            poll.immediate_wake();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::rc::Rc;

    const GOOD: &str = "[[bridge]]\nname = \"br0\"\n[[bridge.port]]\nname = \"p1\"\n";
    const GOOD2: &str = "[[bridge]]\nname = \"br0\"\n[[bridge.port]]\nname = \"p1\"\n[[bridge.port]]\nname = \"p2\"\n";
    const BAD: &str = "[[bridge]]\nname = \"br0\"\nfail_mode = \"sometimes\"\n";

    /// Writes `text` to `path` and makes it look written 10 s ago (settled).
    fn write_old(path: &Path, text: &str) {
        std::fs::write(path, text).unwrap();
        let f = std::fs::File::options().write(true).open(path).unwrap();
        f.set_modified(SystemTime::now() - Duration::from_secs(10))
            .unwrap();
    }

    #[test]
    fn fresh_files_settle_first() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        write_old(&path, GOOD);
        let mut w = ConfigWatcher::new(&path, ConfigTypes::default());
        w.load().unwrap();
        let t0 = Instant::now();
        // Truncated by an editor that is about to write: too fresh to read.
        std::fs::write(&path, "").unwrap();
        assert!(w.poll(t0).is_none());
        let mut poll = PollSet::new();
        w.wait(&mut poll);
        assert_eq!(poll.deadline(), Some(t0 + SETTLE));
        write_old(&path, GOOD2);
        assert_eq!(w.poll(t0 + SETTLE).unwrap().unwrap().n_ports(), 2);
    }

    #[test]
    fn watcher_sees_changes_and_replacements() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        write_old(&path, GOOD);
        let mut w = ConfigWatcher::new(&path, ConfigTypes::default());
        assert_eq!(w.load().unwrap().n_ports(), 1);
        let t0 = Instant::now();
        assert!(w.poll(t0).is_none(), "unchanged");
        // Rewritten in place with a different size.
        write_old(&path, GOOD2);
        assert!(w.poll(t0).is_none(), "not due yet");
        let r = w.poll(t0 + CHECK_INTERVAL).unwrap();
        assert_eq!(r.unwrap().n_ports(), 2);
        // Replaced by rename (new inode) with a bad file: an error, reported once.
        let tmp = dir.path().join("c.toml.new");
        write_old(&tmp, BAD);
        std::fs::rename(&tmp, &path).unwrap();
        let e = w.poll(t0 + CHECK_INTERVAL * 2).unwrap().unwrap_err();
        assert!(e.to_string().contains("line 3"), "{e}");
        assert!(w.poll(t0 + CHECK_INTERVAL * 3).is_none());
        // Removed: an error once.
        std::fs::remove_file(&path).unwrap();
        assert!(w.poll(t0 + CHECK_INTERVAL * 4).unwrap().is_err());
        assert!(w.poll(t0 + CHECK_INTERVAL * 5).is_none());
        let mut poll = PollSet::new();
        w.wait(&mut poll);
        assert_eq!(poll.deadline(), Some(t0 + CHECK_INTERVAL * 6));
    }

    #[test]
    fn component_keeps_old_config_on_error_and_answers_reload() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, GOOD).unwrap();
        let mut w = ConfigWatcher::new(&path, ConfigTypes::default());
        let initial = w.load().unwrap();
        let applied: Rc<RefCell<Vec<usize>>> = Rc::default();
        let a = Rc::clone(&applied);
        let cov = Coverage::new();
        let mut c = ConfigFileComponent::new(
            w,
            initial,
            &cov,
            Box::new(move |c| a.borrow_mut().push(c.n_ports())),
        );
        let mut u = Unixctl::new(None, "v").unwrap();
        c.register_commands(&mut u);
        assert!(
            u.list_commands()
                .contains("  reload                  (re-read the configuration file)\n")
        );

        std::fs::write(&path, BAD).unwrap();
        let r = c.reload();
        assert!(
            r.unwrap_err()
                .contains("keeping the previous configuration")
        );
        assert_eq!(c.current().n_ports(), 1);
        std::fs::write(&path, GOOD2).unwrap();
        let r = c.reload().unwrap();
        assert!(
            r.contains("configuration reloaded: 1 bridges, 2 ports"),
            "{r}"
        );
        assert_eq!(*applied.borrow(), vec![2]);
        let r = c.reload().unwrap();
        assert!(r.contains("unchanged"), "{r}");
        assert_eq!(*applied.borrow(), vec![2]);
        assert_eq!(cov.read("config_reload"), Some(1));
        assert_eq!(cov.read("config_error"), Some(1));
    }
}
