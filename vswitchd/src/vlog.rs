//! Logging in OVS's `vlog` style on top of `tracing`.
//!
//! # Modules, destinations, levels
//!
//! Every log message belongs to a *module*, derived from its `tracing` target (a module path):
//! `netdev::linux::foo` logs as `netdev_linux` if that module is registered, else as `netdev`;
//! the daemon's own modules drop the crate name (`vswitchd::unixctl` is `unixctl`, other
//! `vswitchd::*` paths are `vswitchd`). Targets of other crates that match no module use the
//! settings of "every module" and print their crate name.
//!
//! Each module has a level per destination: `console` (standard error), `syslog` (`/dev/log`,
//! facility daemon; silently nothing if there is no syslog socket) and `file` (`--log-file`).
//! Levels are OVS's: `off`, `emer`, `err`, `warn`, `info`, `dbg`; `tracing`'s ERROR is `err`,
//! WARN `warn`, INFO `info`, DEBUG and TRACE `dbg`. As in OVS, every module starts at `info`
//! for every destination; Debian's `ovs-ctl` passes `-vconsole:emer -vsyslog:err -vfile:info`.
//!
//! # Specs
//!
//! `-v`/`--verbose` and `ovs-appctl vlog/set` take OVS's spec: words separated by spaces,
//! commas or colons, at most one module, one destination and one level (`any` is accepted and
//! means nothing); a missing module means every module, a missing destination every
//! destination, a missing level `dbg`. `PATTERN:destination:pattern` sets a destination's
//! line format.
//!
//! # Patterns
//!
//! `%A` program name, `%B` syslog priority, `%c` module, `%d{fmt}`/`%D{fmt}` date (both UTC
//! here; `fmt` takes `%Y %m %d %e %H %M %S %T %F %b %h %j %y %%` and `.###` for
//! milliseconds), `%E` host name, `%m` message, `%N` message number, `%n` newline, `%p` level,
//! `%P` pid, `%r` milliseconds since start, `%t` thread name (`main` for the main thread),
//! `%T` thread name in parentheses (empty for the main thread), `%%`; each may have a width,
//! `-` for left-justified and `0` for zero-padded (`%05N`). The defaults are OVS's:
//!
//! ```text
//! console: %D{%Y-%m-%dT%H:%M:%SZ}|%05N|%c%T|%p|%m
//! file:    %D{%Y-%m-%dT%H:%M:%S.###Z}|%05N|%c%T|%p|%m
//! syslog:  ovs|%05N|%c%T|%p|%m
//! ```
//!
//! # Run-time changes
//!
//! [`Vlog`] is a cheap handle to the shared settings; [`Vlog::layer`] is the
//! `tracing-subscriber` layer that filters and writes. Level changes rebuild `tracing`'s
//! callsite interest, so disabled messages cost nothing.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use parking_lot::RwLock;
use tracing::field::{Field, Visit};
use tracing::subscriber::Interest;
use tracing::{Event, Metadata, Subscriber};
use tracing_subscriber::layer::{Context, Layer};

use crate::unixctl::{UNLIMITED, Unixctl};

/// A log level, from least to most verbose.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// Nothing is logged.
    Off,
    /// Emergencies: the daemon cannot go on.
    Emer,
    /// Errors.
    Err,
    /// Warnings.
    Warn,
    /// Information.
    Info,
    /// Debugging.
    Dbg,
}

impl Level {
    const ALL: [Level; 6] = [
        Level::Off,
        Level::Emer,
        Level::Err,
        Level::Warn,
        Level::Info,
        Level::Dbg,
    ];

    /// The name as `vlog/list` and log lines print it: `OFF`, `EMER`, `ERR`, `WARN`, `INFO`,
    /// `DBG`.
    pub fn name(self) -> &'static str {
        match self {
            Level::Off => "OFF",
            Level::Emer => "EMER",
            Level::Err => "ERR",
            Level::Warn => "WARN",
            Level::Info => "INFO",
            Level::Dbg => "DBG",
        }
    }

    /// Parses a level name, ignoring case.
    pub fn parse(s: &str) -> Option<Level> {
        Level::ALL
            .into_iter()
            .find(|l| l.name().eq_ignore_ascii_case(s))
    }

    /// The OVS level of a `tracing` level.
    pub fn from_tracing(l: tracing::Level) -> Level {
        match l {
            tracing::Level::ERROR => Level::Err,
            tracing::Level::WARN => Level::Warn,
            tracing::Level::INFO => Level::Info,
            _ => Level::Dbg,
        }
    }

    fn syslog_severity(self) -> u8 {
        match self {
            Level::Off | Level::Emer => 0,
            Level::Err => 3,
            Level::Warn => 4,
            Level::Info => 6,
            Level::Dbg => 7,
        }
    }
}

/// Where log messages go.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Destination {
    /// Standard error.
    Console,
    /// The system log (`/dev/log`).
    Syslog,
    /// The `--log-file`.
    File,
}

impl Destination {
    /// Every destination, in `vlog/list` column order.
    pub const ALL: [Destination; 3] =
        [Destination::Console, Destination::Syslog, Destination::File];

    /// The name: `console`, `syslog`, `file`.
    pub fn name(self) -> &'static str {
        match self {
            Destination::Console => "console",
            Destination::Syslog => "syslog",
            Destination::File => "file",
        }
    }

    /// Parses a destination name, ignoring case.
    pub fn parse(s: &str) -> Option<Destination> {
        Destination::ALL
            .into_iter()
            .find(|d| d.name().eq_ignore_ascii_case(s))
    }

    fn index(self) -> usize {
        match self {
            Destination::Console => 0,
            Destination::Syslog => 1,
            Destination::File => 2,
        }
    }
}

/// The modules known from the start: the daemon's own and the workspace crates'.
pub const DEFAULT_MODULES: &[&str] = &[
    "bridge",
    "coverage",
    "daemon",
    "dpif",
    "dpif_netdev",
    "dpif_netlink",
    "memory",
    "netdev",
    "netdev_dummy",
    "netdev_linux",
    "ofproto",
    "ofproto_dpif",
    "pidfile",
    "unixctl",
    "vlog",
    "vswitchd",
];

const DEFAULT_PATTERNS: [&str; 3] = [
    "%D{%Y-%m-%dT%H:%M:%SZ}|%05N|%c%T|%p|%m",
    "ovs|%05N|%c%T|%p|%m",
    "%D{%Y-%m-%dT%H:%M:%S.###Z}|%05N|%c%T|%p|%m",
];

/// The prefix put before the syslog pattern (shown by `vlog/list-pattern`).
const SYSLOG_PREFIX: &str = "<%B>%A:";

const PROGRAM: &str = crate::cli::PROGRAM_NAME;

// ---------------------------------------------------------------------------------------
// Patterns.

#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    Lit(String),
    Conv {
        c: char,
        left: bool,
        zero: bool,
        width: usize,
        arg: Option<String>,
    },
}

#[derive(Clone, Debug)]
struct Pattern {
    text: String,
    tokens: Vec<Token>,
}

impl Pattern {
    fn parse(text: &str) -> Pattern {
        let mut tokens = Vec::new();
        let mut lit = String::new();
        let mut chars = text.chars().peekable();
        while let Some(ch) = chars.next() {
            if ch != '%' {
                lit.push(ch);
                continue;
            }
            let mut left = false;
            let mut zero = false;
            let mut width = 0usize;
            if chars.peek() == Some(&'-') {
                left = true;
                chars.next();
            }
            if chars.peek() == Some(&'0') {
                zero = true;
                chars.next();
            }
            while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
                width = width
                    .saturating_mul(10)
                    .saturating_add(usize::try_from(d).unwrap_or(0))
                    .min(1000);
                chars.next();
            }
            let Some(c) = chars.next() else {
                lit.push('%');
                break;
            };
            if c == '%' {
                lit.push('%');
                continue;
            }
            let mut arg = None;
            if matches!(c, 'd' | 'D') && chars.peek() == Some(&'{') {
                chars.next();
                let mut a = String::new();
                for x in chars.by_ref() {
                    if x == '}' {
                        break;
                    }
                    a.push(x);
                }
                arg = Some(a);
            }
            if !lit.is_empty() {
                tokens.push(Token::Lit(std::mem::take(&mut lit)));
            }
            tokens.push(Token::Conv {
                c,
                left,
                zero,
                width,
                arg,
            });
        }
        if !lit.is_empty() {
            tokens.push(Token::Lit(lit));
        }
        Pattern {
            text: text.to_owned(),
            tokens,
        }
    }
}

/// One message being formatted.
struct Record<'a> {
    module: &'a str,
    level: Level,
    message: &'a str,
    seq: u64,
    time: SystemTime,
    elapsed_ms: u128,
    pid: u32,
    hostname: &'a str,
    thread: Option<&'a str>,
}

/// A UTC calendar time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Tm {
    year: i64,
    mon: u32,
    mday: u32,
    yday: u32,
    hour: u32,
    min: u32,
    sec: u32,
    ms: u32,
}

fn utc(t: SystemTime) -> Tm {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = u32::try_from(secs % 86_400).unwrap_or(0);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let mday = doy - (153 * mp + 2) / 5 + 1;
    let mon = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(mon <= 2);
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    const CUM: [u32; 12] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
    let mon = u32::try_from(mon).unwrap_or(1);
    let mday = u32::try_from(mday).unwrap_or(1);
    let idx = usize::try_from(mon.saturating_sub(1)).unwrap_or(0).min(11);
    let yday = CUM[idx] + mday + u32::from(leap && mon > 2);
    Tm {
        year,
        mon,
        mday,
        yday,
        hour: rem / 3600,
        min: rem / 60 % 60,
        sec: rem % 60,
        ms: d.subsec_millis(),
    }
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

fn strftime(fmt: &str, tm: &Tm) -> String {
    let mut out = String::new();
    let mut chars = fmt.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '.' && chars.peek() == Some(&'#') {
            let mut n = 0;
            while chars.peek() == Some(&'#') {
                chars.next();
                n += 1;
            }
            let frac = format!("{:03}000", tm.ms);
            out.push('.');
            out.push_str(frac.get(..n.min(6)).unwrap_or(""));
            continue;
        }
        if c != '%' {
            out.push(c);
            continue;
        }
        let month = MONTHS[usize::try_from(tm.mon.saturating_sub(1))
            .unwrap_or(0)
            .min(11)];
        let _ = match chars.next() {
            Some('Y') => write!(out, "{:04}", tm.year),
            Some('y') => write!(out, "{:02}", tm.year.rem_euclid(100)),
            Some('m') => write!(out, "{:02}", tm.mon),
            Some('d') => write!(out, "{:02}", tm.mday),
            Some('e') => write!(out, "{:2}", tm.mday),
            Some('j') => write!(out, "{:03}", tm.yday),
            Some('H') => write!(out, "{:02}", tm.hour),
            Some('M') => write!(out, "{:02}", tm.min),
            Some('S') => write!(out, "{:02}", tm.sec),
            Some('T') => write!(out, "{:02}:{:02}:{:02}", tm.hour, tm.min, tm.sec),
            Some('F') => write!(out, "{:04}-{:02}-{:02}", tm.year, tm.mon, tm.mday),
            Some('b' | 'h') => write!(out, "{month}"),
            Some('%') => write!(out, "%"),
            Some(other) => write!(out, "%{other}"),
            None => write!(out, "%"),
        };
    }
    out
}

fn format_record(p: &Pattern, r: &Record<'_>) -> String {
    let mut out = String::with_capacity(r.message.len() + 64);
    for t in &p.tokens {
        let (c, left, zero, width, arg) = match t {
            Token::Lit(s) => {
                out.push_str(s);
                continue;
            }
            Token::Conv {
                c,
                left,
                zero,
                width,
                arg,
            } => (*c, *left, *zero, *width, arg),
        };
        let value: String = match c {
            'A' => PROGRAM.to_owned(),
            'B' => (24 + u32::from(r.level.syslog_severity())).to_string(),
            'c' => r.module.to_owned(),
            'd' | 'D' => strftime(arg.as_deref().unwrap_or("%Y-%m-%d %H:%M:%S"), &utc(r.time)),
            'E' => r.hostname.to_owned(),
            'm' => r.message.to_owned(),
            'N' => r.seq.to_string(),
            'n' => "\n".to_owned(),
            'p' => r.level.name().to_owned(),
            'P' => r.pid.to_string(),
            'r' => r.elapsed_ms.to_string(),
            't' => r.thread.unwrap_or("main").to_owned(),
            'T' => r.thread.map(|t| format!("({t})")).unwrap_or_default(),
            other => format!("%{other}"),
        };
        let len = value.chars().count();
        if len >= width {
            out.push_str(&value);
        } else if left {
            out.push_str(&value);
            out.extend(std::iter::repeat_n(' ', width - len));
        } else {
            out.extend(std::iter::repeat_n(
                if zero { '0' } else { ' ' },
                width - len,
            ));
            out.push_str(&value);
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// Shared state.

struct State {
    modules: BTreeMap<String, [Level; 3]>,
    /// Levels for targets that match no module.
    other: [Level; 3],
    patterns: [Pattern; 3],
    log_path: Option<PathBuf>,
    log_file: Option<File>,
    syslog: Option<UnixDatagram>,
}

impl State {
    /// The module a target logs as, and whether it is registered.
    fn module_of<'t>(&self, target: &'t str) -> (std::borrow::Cow<'t, str>, bool) {
        let mut parts = target.split("::");
        let first = parts.next().unwrap_or(target);
        if let Some(second) = parts.next() {
            if first == "vswitchd" && self.modules.contains_key(second) {
                return (second.into(), true);
            }
            let joined = format!("{first}_{second}");
            if self.modules.contains_key(&joined) {
                return (joined.into(), true);
            }
        }
        let known = self.modules.contains_key(first);
        (first.into(), known)
    }

    fn levels(&self, module: &str, known: bool) -> [Level; 3] {
        if known {
            self.modules.get(module).copied().unwrap_or(self.other)
        } else {
            self.other
        }
    }

    fn active(&self, d: Destination) -> bool {
        match d {
            Destination::Console => true,
            Destination::Syslog => self.syslog.is_some(),
            Destination::File => self.log_file.is_some(),
        }
    }

    /// Whether a message of `level` from `target` goes anywhere.
    fn would_log(&self, target: &str, level: Level) -> bool {
        let (module, known) = self.module_of(target);
        let levels = self.levels(&module, known);
        Destination::ALL
            .into_iter()
            .any(|d| self.active(d) && levels[d.index()] >= level)
    }

    fn max_level(&self) -> Level {
        let mut max = Level::Off;
        for levels in self.modules.values().chain(std::iter::once(&self.other)) {
            for d in Destination::ALL {
                if self.active(d) {
                    max = max.max(levels[d.index()]);
                }
            }
        }
        max
    }
}

struct Inner {
    state: RwLock<State>,
    seq: AtomicU64,
    start: Instant,
    hostname: String,
}

/// Handle to the logging settings (levels, patterns, log file). Cloning gives another handle
/// to the same settings. See the [module docs](self).
#[derive(Clone)]
pub struct Vlog(Arc<Inner>);

impl std::fmt::Debug for Vlog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vlog").finish_non_exhaustive()
    }
}

impl Default for Vlog {
    fn default() -> Self {
        Vlog::new()
    }
}

/// Parsed `[module][:destination][:level]` spec.
#[derive(Debug, PartialEq, Eq)]
struct Spec {
    module: Option<String>,
    destination: Option<Destination>,
    level: Level,
}

impl Vlog {
    /// Settings with [`DEFAULT_MODULES`] at `info` everywhere, OVS's patterns, no log file,
    /// and syslog through `/dev/log` if it exists.
    pub fn new() -> Vlog {
        let syslog = UnixDatagram::unbound()
            .and_then(|s| {
                s.connect("/dev/log")?;
                s.set_nonblocking(true)?;
                Ok(s)
            })
            .ok();
        let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_owned())
            .unwrap_or_default();
        Vlog(Arc::new(Inner {
            state: RwLock::new(State {
                modules: DEFAULT_MODULES
                    .iter()
                    .map(|m| ((*m).to_owned(), [Level::Info; 3]))
                    .collect(),
                other: [Level::Info; 3],
                patterns: DEFAULT_PATTERNS.map(Pattern::parse),
                log_path: None,
                log_file: None,
                syslog,
            }),
            seq: AtomicU64::new(0),
            start: Instant::now(),
            hostname,
        }))
    }

    /// Adds module `name` (with the levels of "every module" so far), so `vlog/set` and
    /// `vlog/list` know it and targets `name` / `crate::name` log under it.
    pub fn register_module(&self, name: &str) {
        let mut st = self.0.state.write();
        let levels = st.other;
        st.modules.entry(name.to_owned()).or_insert(levels);
        drop(st);
        tracing::callsite::rebuild_interest_cache();
    }

    /// The level of `module` (or of unregistered targets, for `None`) for `destination`.
    pub fn level(&self, module: Option<&str>, destination: Destination) -> Option<Level> {
        let st = self.0.state.read();
        match module {
            None => Some(st.other[destination.index()]),
            Some(m) => st.modules.get(m).map(|l| l[destination.index()]),
        }
    }

    /// Sets the level of `module` (every module, for `None`) in `destination` (every
    /// destination, for `None`).
    ///
    /// # Errors
    ///
    /// The module is not registered.
    pub fn set_level(
        &self,
        module: Option<&str>,
        destination: Option<Destination>,
        level: Level,
    ) -> Result<(), String> {
        {
            let mut st = self.0.state.write();
            let dests: Vec<Destination> =
                destination.map_or(Destination::ALL.to_vec(), |d| vec![d]);
            match module {
                Some(m) => {
                    let Some(levels) = st.modules.get_mut(m) else {
                        return Err(format!("no module named \"{m}\""));
                    };
                    for d in &dests {
                        levels[d.index()] = level;
                    }
                }
                None => {
                    for levels in st.modules.values_mut() {
                        for d in &dests {
                            levels[d.index()] = level;
                        }
                    }
                    for d in &dests {
                        st.other[d.index()] = level;
                    }
                }
            }
        }
        tracing::callsite::rebuild_interest_cache();
        Ok(())
    }

    fn parse_spec(&self, spec: &str) -> Result<Spec, String> {
        let st = self.0.state.read();
        let mut out = Spec {
            module: None,
            destination: None,
            level: Level::Dbg,
        };
        let mut level = None;
        for word in spec.split([' ', ',', ':', '\t']).filter(|w| !w.is_empty()) {
            if word.eq_ignore_ascii_case("any") {
                continue;
            }
            if let Some(d) = Destination::parse(word) {
                if out.destination.is_some() {
                    return Err("cannot specify multiple destinations".to_owned());
                }
                out.destination = Some(d);
            } else if let Some(l) = Level::parse(word) {
                if level.is_some() {
                    return Err("cannot specify multiple levels".to_owned());
                }
                level = Some(l);
            } else if let Some(m) = st.modules.keys().find(|m| m.eq_ignore_ascii_case(word)) {
                if out.module.is_some() {
                    return Err("cannot specify multiple modules".to_owned());
                }
                out.module = Some(m.clone());
            } else {
                return Err(format!("no destination, level, or module \"{word}\""));
            }
        }
        if let Some(l) = level {
            out.level = l;
        }
        Ok(out)
    }

    /// Applies one spec: `[module][:destination][:level]` (see the module docs) or
    /// `PATTERN:destination:pattern`.
    ///
    /// # Errors
    ///
    /// OVS's messages: `no destination, level, or module "x"`, `cannot specify multiple
    /// levels`, `unknown destination "x"`, ...
    pub fn set_from_string(&self, spec: &str) -> Result<(), String> {
        if spec.len() >= 8
            && spec
                .get(..8)
                .is_some_and(|p| p.eq_ignore_ascii_case("PATTERN:"))
        {
            let rest = spec.get(8..).unwrap_or("");
            let Some((dest, pattern)) = rest.split_once(':') else {
                return Err("missing destination or pattern (PATTERN:destination:pattern)".into());
            };
            let dests = if dest.eq_ignore_ascii_case("any") {
                Destination::ALL.to_vec()
            } else {
                vec![
                    Destination::parse(dest)
                        .ok_or_else(|| format!("unknown destination \"{dest}\""))?,
                ]
            };
            let mut st = self.0.state.write();
            for d in dests {
                st.patterns[d.index()] = Pattern::parse(pattern);
            }
            return Ok(());
        }
        let s = self.parse_spec(spec)?;
        self.set_level(s.module.as_deref(), s.destination, s.level)
    }

    /// The `vlog/list` table.
    pub fn list(&self) -> String {
        let st = self.0.state.read();
        let mut out = String::from(
            "                 console    syslog    file\n                 -------    ------    ------\n",
        );
        for (name, l) in &st.modules {
            let _ = writeln!(
                out,
                "{name:<16}  {:>4}       {:>4}       {:>4}",
                l[0].name(),
                l[1].name(),
                l[2].name()
            );
        }
        out
    }

    /// The `vlog/list-pattern` table.
    pub fn list_patterns(&self) -> String {
        let st = self.0.state.read();
        let mut out = String::from(
            "         prefix                            format\n         ------                            ------\n",
        );
        for (name, d, prefix) in [
            ("SYSLOG", Destination::Syslog, SYSLOG_PREFIX),
            ("CONSOLE", Destination::Console, "none"),
            ("FILE", Destination::File, "none"),
        ] {
            let _ = writeln!(out, "{name:<9}{prefix:<34}{}", st.patterns[d.index()].text);
        }
        out
    }

    /// Logs to `path` from now on (appending), replacing any earlier log file.
    ///
    /// # Errors
    ///
    /// The file cannot be opened; logging to a file is then off until `vlog/reopen` succeeds.
    pub fn set_log_file(&self, path: &Path) -> io::Result<()> {
        {
            let mut st = self.0.state.write();
            st.log_path = Some(path.to_owned());
            st.log_file = None;
        }
        self.reopen_log_file()
    }

    /// The log file's path, if one is configured.
    pub fn log_file(&self) -> Option<PathBuf> {
        self.0.state.read().log_path.clone()
    }

    /// Closes and reopens the log file (for logrotate).
    ///
    /// # Errors
    ///
    /// No log file is configured (`NotFound`), or it cannot be opened.
    pub fn reopen_log_file(&self) -> io::Result<()> {
        let path = {
            let mut st = self.0.state.write();
            let Some(path) = st.log_path.clone() else {
                return Err(io::Error::new(
                    io::ErrorKind::NotFound,
                    "Logging to file not configured",
                ));
            };
            st.log_file = None;
            let f = OpenOptions::new()
                .append(true)
                .create(true)
                .mode(0o660)
                .open(&path);
            match f {
                Ok(f) => st.log_file = Some(f),
                Err(e) => {
                    drop(st);
                    tracing::callsite::rebuild_interest_cache();
                    return Err(e);
                }
            }
            path
        };
        tracing::callsite::rebuild_interest_cache();
        tracing::info!(target: "vswitchd::vlog", "opened log file {}", path.display());
        Ok(())
    }

    /// Closes the log file; `vlog/reopen` opens it again.
    pub fn close_log_file(&self) {
        self.0.state.write().log_file = None;
        tracing::callsite::rebuild_interest_cache();
    }

    /// Whether a message of `level` from `target` would be written anywhere.
    pub fn would_log(&self, target: &str, level: Level) -> bool {
        self.0.state.read().would_log(target, level)
    }

    /// Writes `message` from `target` at `level` to every destination whose level allows it.
    pub fn log(&self, target: &str, level: Level, message: &str) {
        self.log_to(&Destination::ALL, target, level, message);
    }

    /// Like [`Vlog::log`], limited to `destinations` (e.g. a fatal error that is also printed
    /// to stderr by other means).
    pub fn log_to(&self, destinations: &[Destination], target: &str, level: Level, message: &str) {
        let st = self.0.state.read();
        let (module, known) = st.module_of(target);
        let levels = st.levels(&module, known);
        let dests: Vec<Destination> = destinations
            .iter()
            .copied()
            .filter(|d| st.active(*d) && levels[d.index()] >= level && level > Level::Off)
            .collect();
        if dests.is_empty() {
            return;
        }
        let thread = std::thread::current();
        let thread_name = thread.name().filter(|n| *n != "main");
        let record = Record {
            module: &module,
            level,
            message,
            seq: self.0.seq.fetch_add(1, Ordering::Relaxed) + 1,
            time: SystemTime::now(),
            elapsed_ms: self.0.start.elapsed().as_millis(),
            pid: std::process::id(),
            hostname: &self.0.hostname,
            thread: thread_name,
        };
        for d in dests {
            let mut line = format_record(&st.patterns[d.index()], &record);
            match d {
                Destination::Console => {
                    line.push('\n');
                    let _ = io::stderr().lock().write_all(line.as_bytes());
                }
                Destination::File => {
                    line.push('\n');
                    if let Some(mut f) = st.log_file.as_ref() {
                        let _ = f.write_all(line.as_bytes());
                    }
                }
                Destination::Syslog => {
                    if let Some(s) = &st.syslog {
                        let pri = 24 + u32::from(level.syslog_severity());
                        let _ = s.send(format!("<{pri}>{PROGRAM}: {line}").as_bytes());
                    }
                }
            }
        }
    }

    /// The `tracing-subscriber` layer that filters and writes through these settings.
    pub fn layer(&self) -> VlogLayer {
        VlogLayer(self.clone())
    }

    /// Registers `vlog/set`, `vlog/list`, `vlog/list-pattern`, `vlog/reopen` and
    /// `vlog/close`.
    pub fn register_commands(&self, unixctl: &mut Unixctl) {
        let v = self.clone();
        unixctl.register(
            "vlog/set",
            "{spec | PATTERN:destination:pattern}",
            0,
            UNLIMITED,
            move |args| {
                if args.is_empty() {
                    v.set_level(None, None, Level::Dbg)?;
                }
                for a in args {
                    v.set_from_string(a)?;
                }
                Ok(String::new())
            },
        );
        let v = self.clone();
        unixctl.register("vlog/list", "", 0, 0, move |_| Ok(v.list()));
        let v = self.clone();
        unixctl.register(
            "vlog/list-pattern",
            "",
            0,
            0,
            move |_| Ok(v.list_patterns()),
        );
        let v = self.clone();
        unixctl.register("vlog/reopen", "", 0, 0, move |_| {
            match v.reopen_log_file() {
                Ok(()) => Ok(String::new()),
                Err(e) if e.kind() == io::ErrorKind::NotFound && v.log_file().is_none() => {
                    Err(e.to_string())
                }
                Err(e) => Err(format!("could not reopen log file: {e}")),
            }
        });
        let v = self.clone();
        unixctl.register("vlog/close", "", 0, 0, move |_| {
            v.close_log_file();
            Ok(String::new())
        });
    }
}

/// The `tracing-subscriber` [`Layer`] of a [`Vlog`]: filters events by module and level and
/// writes them in OVS's formats.
#[derive(Clone, Debug)]
pub struct VlogLayer(Vlog);

/// Collects an event's message and fields into one line.
#[derive(Default)]
struct MessageVisitor {
    message: String,
    fields: String,
}

impl Visit for MessageVisitor {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            let _ = write!(self.fields, " {}={value}", field.name());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.fields, " {}={value:?}", field.name());
        }
    }
}

impl<S: Subscriber> Layer<S> for VlogLayer {
    fn register_callsite(&self, meta: &'static Metadata<'static>) -> Interest {
        if self
            .0
            .would_log(meta.target(), Level::from_tracing(*meta.level()))
        {
            Interest::always()
        } else {
            Interest::never()
        }
    }

    fn enabled(&self, meta: &Metadata<'_>, _cx: Context<'_, S>) -> bool {
        self.0
            .would_log(meta.target(), Level::from_tracing(*meta.level()))
    }

    fn on_event(&self, event: &Event<'_>, _cx: Context<'_, S>) {
        let meta = event.metadata();
        let mut v = MessageVisitor::default();
        event.record(&mut v);
        v.message.push_str(&v.fields);
        self.0.log(
            meta.target(),
            Level::from_tracing(*meta.level()),
            &v.message,
        );
    }

    fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
        use tracing::level_filters::LevelFilter;
        Some(match self.0.0.state.read().max_level() {
            Level::Off | Level::Emer => LevelFilter::OFF,
            Level::Err => LevelFilter::ERROR,
            Level::Warn => LevelFilter::WARN,
            Level::Info => LevelFilter::INFO,
            Level::Dbg => LevelFilter::TRACE,
        })
    }
}

#[cfg(test)]
mod tests;
