//! The command line, parsed the way `ovs-vswitchd` parses it (`getopt_long`).
//!
//! ```text
//! vswitchd [DATABASE] [--pidfile[=FILE]] [--overwrite-pidfile] [--detach] [--no-chdir]
//!          [--monitor] [--mlockall] [--no-self-confinement] [--log-file[=FILE]]
//!          [--unixctl=SOCKET] [-v[SPEC]]... [--verbose[=SPEC]] [-V|--version] [-h|--help]
//!          [--enable-dummy[=override|system]]
//! ```
//!
//! As with `getopt_long`: options and the one non-option argument may come in any order;
//! `--` ends the options; a long option may be abbreviated to any unambiguous prefix; an
//! optional argument must be attached (`--pidfile=FILE`, `-vSPEC`), a required one may also
//! be the next word (`--unixctl SOCKET`).
//!
//! `DATABASE` is where the configuration comes from: an OVSDB server (`unix:PATH` or
//! `tcp:IP:PORT`, as `ovs-vswitchd` takes it; `bridge::ovsdb`), or `file:PATH`, a TOML
//! configuration file (`bridge::config`). Without it, the default is `ovs-vswitchd`'s:
//! `unix:<rundir>/db.sock`. `ssl:` and the passive forms are refused with a clear error.

use std::fmt;
use std::path::{Path, PathBuf};

/// The name that OVS tools know the daemon by: `ovs-appctl` finds
/// `<rundir>/ovs-vswitchd.pid` and `<rundir>/ovs-vswitchd.<pid>.ctl`.
pub const PROGRAM_NAME: &str = "ovs-vswitchd";

/// The Open vSwitch release whose interfaces this daemon matches.
pub const OVS_VERSION: &str = "3.1.0";

/// The version line of `--version` and of `ovs-appctl version`.
///
/// It contains "Open vSwitch" and ends with the OVS version, which is what Debian's `ovs-ctl`
/// reads (the last word of the line that mentions Open vSwitch).
pub fn version_line() -> String {
    format!(
        "vswitchd (rovs {}) compatible with Open vSwitch {OVS_VERSION}",
        env!("CARGO_PKG_VERSION")
    )
}

/// A command-line error: print it after the program name and exit with status 1.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CliError(pub String);

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CliError {}

fn err<T>(msg: impl Into<String>) -> Result<T, CliError> {
    Err(CliError(msg.into()))
}

/// What the command line asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Run the daemon.
    Run,
    /// Print the usage text and exit.
    Help,
    /// Print the version line and exit.
    Version,
}

/// The options as given, before paths are resolved against the run and log directories.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// What to do.
    pub action: Action,
    /// The `DATABASE` argument, if given.
    pub database: Option<String>,
    /// `--pidfile` (`Some(None)`) or `--pidfile=FILE` (`Some(Some(FILE))`).
    pub pidfile: Option<Option<String>>,
    /// `--overwrite-pidfile`: start even if the pidfile is locked by a running daemon.
    pub overwrite_pidfile: bool,
    /// `--detach`: run in the background.
    pub detach: bool,
    /// `--no-chdir`: with `--detach`, keep the working directory.
    pub no_chdir: bool,
    /// `--monitor`: accepted for `ovs-ctl`; no monitor process is started.
    pub monitor: bool,
    /// `--mlockall`: lock all present and future memory.
    pub mlockall: bool,
    /// `--no-self-confinement`: accepted for `ovs-ctl`; this daemon never confines itself.
    pub no_self_confinement: bool,
    /// `--log-file` (`Some(None)`) or `--log-file=FILE`.
    pub log_file: Option<Option<String>>,
    /// `--unixctl=SOCKET`.
    pub unixctl: Option<String>,
    /// Every `-v`/`--verbose` in order; an empty string is a bare `-v` (everything to `dbg`).
    pub verbose: Vec<String>,
    /// `--syslog-method` and `--syslog-target`: accepted and ignored.
    pub ignored: Vec<String>,
    /// `--enable-dummy[=VALUE]`: allow the `dummy` datapath type (in-memory devices and
    /// datapath, for tests), with the value given, if any.
    pub enable_dummy: Option<Option<String>>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            action: Action::Run,
            database: None,
            pidfile: None,
            overwrite_pidfile: false,
            detach: false,
            no_chdir: false,
            monitor: false,
            mlockall: false,
            no_self_confinement: false,
            log_file: None,
            unixctl: None,
            verbose: Vec::new(),
            ignored: Vec::new(),
            enable_dummy: None,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum HasArg {
    No,
    Required,
    Optional,
}

const LONG_OPTIONS: &[(&str, HasArg)] = &[
    ("detach", HasArg::No),
    ("no-chdir", HasArg::No),
    ("monitor", HasArg::No),
    ("mlockall", HasArg::No),
    ("no-self-confinement", HasArg::No),
    ("pidfile", HasArg::Optional),
    ("overwrite-pidfile", HasArg::No),
    ("log-file", HasArg::Optional),
    ("unixctl", HasArg::Required),
    ("verbose", HasArg::Optional),
    ("version", HasArg::No),
    ("help", HasArg::No),
    ("user", HasArg::Required),
    ("syslog-method", HasArg::Required),
    ("syslog-target", HasArg::Required),
    ("enable-dummy", HasArg::Optional),
];

impl Options {
    /// Parses the arguments after the program name.
    ///
    /// # Errors
    ///
    /// An unknown or ambiguous option, a missing or unexpected option argument, more than one
    /// non-option argument, or an option that this daemon refuses (`--user`).
    pub fn parse<I, S>(args: I) -> Result<Options, CliError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let args: Vec<String> = args.into_iter().map(Into::into).collect();
        let mut o = Options::default();
        let mut positional = Vec::new();
        let mut i = 0;
        while i < args.len() {
            let arg = &args[i];
            i += 1;
            if arg == "--" {
                positional.extend(args[i..].iter().cloned());
                break;
            }
            if let Some(long) = arg.strip_prefix("--") {
                let (name, value) = match long.split_once('=') {
                    Some((n, v)) => (n, Some(v.to_owned())),
                    None => (long, None),
                };
                let (name, has_arg) = lookup_long(name, arg)?;
                let value = match (has_arg, value) {
                    (HasArg::No, Some(_)) => {
                        return err(format!("option '--{name}' doesn't allow an argument"));
                    }
                    (HasArg::Required, None) => match args.get(i) {
                        Some(v) => {
                            i += 1;
                            Some(v.clone())
                        }
                        None => return err(format!("option '--{name}' requires an argument")),
                    },
                    (_, v) => v,
                };
                o.apply_long(name, value)?;
            } else if let Some(shorts) = arg.strip_prefix('-').filter(|s| !s.is_empty()) {
                for (at, c) in shorts.char_indices() {
                    match c {
                        'v' => {
                            o.verbose.push(shorts[at + 1..].to_owned());
                            break;
                        }
                        'h' => o.action = Action::Help,
                        'V' => o.action = Action::Version,
                        _ => return err(format!("invalid option -- '{c}'")),
                    }
                }
            } else {
                positional.push(arg.clone());
            }
        }
        match positional.len() {
            0 => {}
            1 => o.database = positional.pop(),
            _ => return err("at most one non-option argument accepted; use --help for usage"),
        }
        Ok(o)
    }

    fn apply_long(&mut self, name: &str, value: Option<String>) -> Result<(), CliError> {
        match name {
            "detach" => self.detach = true,
            "no-chdir" => self.no_chdir = true,
            "monitor" => self.monitor = true,
            "mlockall" => self.mlockall = true,
            "no-self-confinement" => self.no_self_confinement = true,
            "pidfile" => self.pidfile = Some(value),
            "overwrite-pidfile" => self.overwrite_pidfile = true,
            "log-file" => self.log_file = Some(value),
            "unixctl" => self.unixctl = value,
            "verbose" => self.verbose.push(value.unwrap_or_default()),
            "version" => self.action = Action::Version,
            "help" => self.action = Action::Help,
            "enable-dummy" => self.enable_dummy = Some(value),
            "user" => {
                return err(
                    "--user is not supported yet: start the daemon as the user it should run as",
                );
            }
            _ => self.ignored.push(format!("--{name}")),
        }
        Ok(())
    }
}

fn lookup_long(name: &str, arg: &str) -> Result<(&'static str, HasArg), CliError> {
    if let Some(&(n, h)) = LONG_OPTIONS.iter().find(|(n, _)| *n == name) {
        return Ok((n, h));
    }
    let matches: Vec<_> = LONG_OPTIONS
        .iter()
        .filter(|(n, _)| !name.is_empty() && n.starts_with(name))
        .collect();
    match matches.as_slice() {
        [(n, h)] => Ok((n, *h)),
        [] => err(format!("unrecognized option '{arg}'")),
        _ => err(format!("option '{arg}' is ambiguous")),
    }
}

/// Where OVS keeps its runtime and log files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dirs {
    /// `$OVS_RUNDIR`, else `/var/run/openvswitch`.
    pub rundir: PathBuf,
    /// `$OVS_LOGDIR`, else `/var/log/openvswitch`.
    pub logdir: PathBuf,
}

impl Dirs {
    /// The directories from the environment, as OVS's `lib/dirs.c` picks them.
    pub fn from_env() -> Dirs {
        let get = |var: &str, default: &str| {
            std::env::var_os(var)
                .filter(|v| !v.is_empty())
                .map_or_else(|| PathBuf::from(default), PathBuf::from)
        };
        Dirs {
            rundir: get("OVS_RUNDIR", "/var/run/openvswitch"),
            logdir: get("OVS_LOGDIR", "/var/log/openvswitch"),
        }
    }
}

/// The configuration source named by `DATABASE`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Database {
    /// `file:PATH`: a TOML configuration file (absolute path).
    File(PathBuf),
    /// An OVSDB server: `unix:PATH` (absolute path) or `tcp:IP:PORT`.
    Ovsdb(bridge::ovsdb::Remote),
}

/// The unixctl socket wanted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UnixctlPath {
    /// `<rundir>/ovs-vswitchd.<pid>.ctl` for the daemon's pid.
    Default,
    /// `--unixctl=none`: no control socket.
    None,
    /// An explicit absolute path.
    Path(PathBuf),
}

/// The options with every path resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// The configuration source.
    pub database: Database,
    /// The pidfile to create, if any.
    pub pidfile: Option<PathBuf>,
    /// Start even if the pidfile is held by a running daemon.
    pub overwrite_pidfile: bool,
    /// Run in the background.
    pub detach: bool,
    /// With `detach`, keep the working directory.
    pub no_chdir: bool,
    /// Lock memory.
    pub mlockall: bool,
    /// The log file, if any.
    pub log_file: Option<PathBuf>,
    /// The unixctl socket.
    pub unixctl: UnixctlPath,
    /// Log level specs in order.
    pub verbose: Vec<String>,
    /// The run and log directories.
    pub dirs: Dirs,
    /// Notes about accepted-but-ignored options, to log once logging is up.
    pub notes: Vec<String>,
    /// `--enable-dummy`: the `dummy` datapath type may be configured.
    pub enable_dummy: bool,
}

/// `path` made absolute against `base` (which is itself absolute or relative to `cwd`).
fn absolute_in(base: &Path, path: &str, cwd: &Path) -> PathBuf {
    let p = Path::new(path);
    if p.is_absolute() {
        p.to_owned()
    } else {
        cwd.join(base).join(p)
    }
}

impl Options {
    /// Resolves paths: `--pidfile` and `--unixctl` relative to the rundir, `--log-file`
    /// relative to the log directory, the `file:` database relative to `cwd`.
    ///
    /// # Errors
    ///
    /// A malformed or unsupported `DATABASE`.
    pub fn resolve(&self, dirs: Dirs, cwd: &Path) -> Result<Settings, CliError> {
        let database = match self.database.as_deref() {
            None => Database::Ovsdb(bridge::ovsdb::Remote::Unix(
                cwd.join(&dirs.rundir).join("db.sock"),
            )),
            Some(db) => parse_database(db, cwd)?,
        };
        let pidfile = self
            .pidfile
            .as_ref()
            .map(|p| match p.as_deref().filter(|f| !f.is_empty()) {
                None => cwd.join(&dirs.rundir).join(format!("{PROGRAM_NAME}.pid")),
                Some(f) => absolute_in(&dirs.rundir, f, cwd),
            });
        let log_file =
            self.log_file
                .as_ref()
                .map(|p| match p.as_deref().filter(|f| !f.is_empty()) {
                    None => cwd.join(&dirs.logdir).join(format!("{PROGRAM_NAME}.log")),
                    Some(f) => absolute_in(&dirs.logdir, f, cwd),
                });
        let unixctl = match self.unixctl.as_deref() {
            None => UnixctlPath::Default,
            Some("none") => UnixctlPath::None,
            Some(p) => UnixctlPath::Path(absolute_in(&dirs.rundir, p, cwd)),
        };
        let mut notes = Vec::new();
        if self.monitor {
            notes.push(
                "--monitor: no monitor process is started; a supervisor (systemd) should \
                 restart the daemon"
                    .to_owned(),
            );
        }
        for o in &self.ignored {
            notes.push(format!("{o}: ignored (syslog goes to /dev/log)"));
        }
        if let Some(Some(v)) = &self.enable_dummy
            && !v.is_empty()
        {
            notes.push(format!(
                "--enable-dummy={v}: the dummy datapath type is enabled; system classes are \
                 not replaced"
            ));
        }
        let dirs = Dirs {
            rundir: cwd.join(&dirs.rundir),
            logdir: cwd.join(&dirs.logdir),
        };
        Ok(Settings {
            database,
            pidfile,
            overwrite_pidfile: self.overwrite_pidfile,
            detach: self.detach,
            no_chdir: self.no_chdir,
            mlockall: self.mlockall,
            log_file,
            unixctl,
            verbose: self.verbose.clone(),
            dirs,
            notes,
            enable_dummy: self.enable_dummy.is_some(),
        })
    }
}

fn parse_database(db: &str, cwd: &Path) -> Result<Database, CliError> {
    let Some((kind, rest)) = db.split_once(':') else {
        return err(format!(
            "\"{db}\": DATABASE must be unix:PATH or tcp:IP:PORT (OVSDB), or file:PATH (a \
             TOML configuration file)"
        ));
    };
    match kind {
        "file" if !rest.is_empty() => Ok(Database::File(cwd.join(rest))),
        "file" => err("file: needs a PATH (file:PATH)"),
        "unix" if !rest.is_empty() => {
            Ok(Database::Ovsdb(bridge::ovsdb::Remote::Unix(cwd.join(rest))))
        }
        "unix" | "tcp" => bridge::ovsdb::Remote::parse(db)
            .map(Database::Ovsdb)
            .map_err(CliError),
        "ssl" | "punix" | "ptcp" | "pssl" => err(format!(
            "\"{db}\": {kind}: is not supported; use unix:PATH or tcp:IP:PORT"
        )),
        _ => err(format!(
            "\"{db}\": unknown database type \"{kind}\" (use unix:PATH, tcp:IP:PORT or \
             file:PATH)"
        )),
    }
}

/// The `--help` text.
pub fn usage(dirs: &Dirs) -> String {
    let run = dirs.rundir.display();
    let log = dirs.logdir.display();
    format!(
        "{PROGRAM_NAME}: Open vSwitch daemon (rovs)
usage: vswitchd [OPTIONS] [DATABASE]
where DATABASE is where the configuration comes from:
  unix:FILE, tcp:IP:PORT  an ovsdb-server (default: unix:{run}/db.sock)
  file:PATH               a TOML configuration file, re-read when it changes
                          and on \"ovs-appctl reload\"

Daemon options:
  --detach                run in background as daemon
  --monitor               accepted; no monitor process is started
  --no-chdir              do not chdir to '/'
  --pidfile[=FILE]        create pidfile (default: {run}/{PROGRAM_NAME}.pid)
  --overwrite-pidfile     with --pidfile, start even if already running
  --mlockall              lock all memory (mlockall)
  --no-self-confinement   accepted; the daemon does not confine itself

Logging options:
  -vSPEC, --verbose=SPEC   set logging levels
  -v, --verbose            set maximum verbosity level
  --log-file[=FILE]        enable logging to specified FILE
                           (default: {log}/{PROGRAM_NAME}.log)

Other options:
  --enable-dummy[=VALUE]    allow the dummy datapath type (for testing)
  --unixctl=SOCKET          override default control socket name
                            (default: {run}/{PROGRAM_NAME}.<pid>.ctl)
  -h, --help                display this help message
  -V, --version             display version information
"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<Options, CliError> {
        Options::parse(args.iter().copied())
    }

    fn dirs() -> Dirs {
        Dirs {
            rundir: PathBuf::from("/run/ovs"),
            logdir: PathBuf::from("/log/ovs"),
        }
    }

    #[test]
    fn ovs_ctl_command_line() {
        let o = p(&[
            "unix:/var/run/openvswitch/db.sock",
            "-vconsole:emer",
            "-vsyslog:err",
            "-vfile:info",
            "--mlockall",
            "--no-chdir",
            "--log-file=/var/log/openvswitch/ovs-vswitchd.log",
            "--pidfile=/var/run/openvswitch/ovs-vswitchd.pid",
            "--detach",
            "--monitor",
            "--no-self-confinement",
        ])
        .unwrap();
        assert_eq!(o.verbose, vec!["console:emer", "syslog:err", "file:info"]);
        assert!(o.mlockall && o.no_chdir && o.detach && o.monitor && o.no_self_confinement);
        assert_eq!(
            o.pidfile,
            Some(Some("/var/run/openvswitch/ovs-vswitchd.pid".into()))
        );
        // ovs-ctl names the OVSDB socket.
        let s = o.resolve(dirs(), Path::new("/")).unwrap();
        assert_eq!(
            s.database,
            Database::Ovsdb(bridge::ovsdb::Remote::Unix(
                "/var/run/openvswitch/db.sock".into()
            ))
        );
    }

    #[test]
    fn optional_arguments_must_be_attached() {
        let o = p(&["--pidfile", "file:/x.toml"]).unwrap();
        assert_eq!(o.pidfile, Some(None));
        assert_eq!(o.database.as_deref(), Some("file:/x.toml"));
        let o = p(&["-v", "--verbose", "--verbose=bridge:dbg", "-vfile"]).unwrap();
        assert_eq!(o.verbose, vec!["", "", "bridge:dbg", "file"]);
    }

    #[test]
    fn required_argument_may_be_next_word() {
        assert_eq!(
            p(&["--unixctl", "x.ctl"]).unwrap().unixctl.as_deref(),
            Some("x.ctl")
        );
        assert_eq!(p(&["--unixctl=y"]).unwrap().unixctl.as_deref(), Some("y"));
        assert!(
            p(&["--unixctl"])
                .unwrap_err()
                .0
                .contains("requires an argument")
        );
    }

    #[test]
    fn errors() {
        assert_eq!(
            p(&["--bogus"]).unwrap_err().0,
            "unrecognized option '--bogus'"
        );
        assert_eq!(p(&["-x"]).unwrap_err().0, "invalid option -- 'x'");
        assert!(
            p(&["a", "b"])
                .unwrap_err()
                .0
                .contains("at most one non-option")
        );
        assert!(
            p(&["--detach=yes"])
                .unwrap_err()
                .0
                .contains("doesn't allow")
        );
        assert!(p(&["--user=ovs"]).unwrap_err().0.contains("--user"));
        assert!(p(&["--no"]).unwrap_err().0.contains("ambiguous"));
    }

    #[test]
    fn abbreviations_and_separator() {
        let o = p(&["--det", "--over", "--", "-file:x"]).unwrap();
        assert!(o.detach && o.overwrite_pidfile);
        assert_eq!(o.database.as_deref(), Some("-file:x"));
    }

    #[test]
    fn help_and_version() {
        assert_eq!(p(&["-h"]).unwrap().action, Action::Help);
        assert_eq!(p(&["--help"]).unwrap().action, Action::Help);
        assert_eq!(p(&["-V"]).unwrap().action, Action::Version);
        assert_eq!(p(&["--version"]).unwrap().action, Action::Version);
        let v = version_line();
        assert!(v.contains("Open vSwitch"));
        assert!(v.ends_with(" 3.1.0"), "{v}");
        assert!(usage(&dirs()).contains("/run/ovs/ovs-vswitchd.pid"));
    }

    #[test]
    fn resolve_paths() {
        let cwd = Path::new("/home/u");
        let o = p(&["file:conf.toml", "--pidfile", "--log-file", "--unixctl=ctl"]).unwrap();
        let s = o.resolve(dirs(), cwd).unwrap();
        assert_eq!(s.database, Database::File("/home/u/conf.toml".into()));
        assert_eq!(s.pidfile, Some("/run/ovs/ovs-vswitchd.pid".into()));
        assert_eq!(s.log_file, Some("/log/ovs/ovs-vswitchd.log".into()));
        assert_eq!(s.unixctl, UnixctlPath::Path("/run/ovs/ctl".into()));
        let o = p(&[
            "file:/etc/x.toml",
            "--pidfile=p.pid",
            "--log-file=/tmp/l",
            "--unixctl=none",
        ])
        .unwrap();
        let s = o.resolve(dirs(), cwd).unwrap();
        assert_eq!(s.pidfile, Some("/run/ovs/p.pid".into()));
        assert_eq!(s.log_file, Some("/tmp/l".into()));
        assert_eq!(s.unixctl, UnixctlPath::None);
        let rel = Dirs {
            rundir: "run".into(),
            logdir: "log".into(),
        };
        let s = p(&["file:/x", "--pidfile"])
            .unwrap()
            .resolve(rel, cwd)
            .unwrap();
        assert_eq!(s.pidfile, Some("/home/u/run/ovs-vswitchd.pid".into()));
        assert_eq!(s.dirs.rundir, PathBuf::from("/home/u/run"));
        assert!(!s.enable_dummy);
    }

    #[test]
    fn enable_dummy() {
        let cwd = Path::new("/");
        let s = p(&["file:/x", "--enable-dummy"])
            .unwrap()
            .resolve(dirs(), cwd)
            .unwrap();
        assert!(s.enable_dummy && s.notes.is_empty());
        let s = p(&["file:/x", "--enable-dummy=override"])
            .unwrap()
            .resolve(dirs(), cwd)
            .unwrap();
        assert!(s.enable_dummy);
        assert!(s.notes[0].contains("override"), "{:?}", s.notes);
    }

    #[test]
    fn databases() {
        use bridge::ovsdb::Remote;
        let r = |db: &str| p(&[db]).unwrap().resolve(dirs(), Path::new("/w"));
        assert_eq!(
            r("tcp:127.0.0.1:6640").unwrap().database,
            Database::Ovsdb(Remote::Tcp("127.0.0.1:6640".parse().unwrap()))
        );
        assert_eq!(
            r("unix:/x/db.sock").unwrap().database,
            Database::Ovsdb(Remote::Unix("/x/db.sock".into()))
        );
        assert_eq!(
            r("unix:db.sock").unwrap().database,
            Database::Ovsdb(Remote::Unix("/w/db.sock".into()))
        );
        assert!(r("tcp:nohost").unwrap_err().0.contains("IP:PORT"));
        assert!(
            r("ssl:1.2.3.4:6640")
                .unwrap_err()
                .0
                .contains("not supported")
        );
        assert!(r("conf.toml").unwrap_err().0.contains("file:PATH"));
        assert!(r("http:x").unwrap_err().0.contains("unknown database type"));
        assert!(r("file:").unwrap_err().0.contains("PATH"));
        let s = p(&[]).unwrap().resolve(dirs(), Path::new("/")).unwrap();
        assert_eq!(
            s.database,
            Database::Ovsdb(Remote::Unix("/run/ovs/db.sock".into()))
        );
    }
}
