//! The switch under test: one trait, three implementations (our `vswitchd`, Debian's
//! `ovs-vswitchd` with the userspace datapath, the Linux bridge), and the daemon plumbing
//! they share (pidfiles, stopping with `ovs-appctl exit`, then signals).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::cmd::Cmd;
use crate::deps::{self, Tool};
use crate::procfs;

/// Which switch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SwitchKind {
    /// Our `vswitchd`, userspace datapath.
    Rovs,
    /// Our `vswitchd`, userspace datapath, its ports of type `dpdk` (`net_af_packet` vdevs
    /// on the same veths; a `--features dpdk` build).
    RovsDpdk,
    /// Debian's Open vSwitch, userspace datapath (`datapath_type=netdev`).
    Ovs,
    /// The Linux bridge.
    Linux,
}

impl SwitchKind {
    /// Every kind, in table order.
    pub const ALL: [SwitchKind; 4] = [
        SwitchKind::Rovs,
        SwitchKind::RovsDpdk,
        SwitchKind::Ovs,
        SwitchKind::Linux,
    ];

    /// The name used on the command line (`rovs`, `rovs-dpdk`, `ovs`, `linux`).
    pub fn name(self) -> &'static str {
        match self {
            SwitchKind::Rovs => "rovs",
            SwitchKind::RovsDpdk => "rovs-dpdk",
            SwitchKind::Ovs => "ovs",
            SwitchKind::Linux => "linux",
        }
    }

    /// The column title in reports.
    pub fn title(self) -> &'static str {
        match self {
            SwitchKind::Rovs => "rovs",
            SwitchKind::RovsDpdk => "rovs dpdk",
            SwitchKind::Ovs => "OVS",
            SwitchKind::Linux => "Linux bridge",
        }
    }

    /// One line saying what it is.
    pub fn description(self) -> &'static str {
        match self {
            SwitchKind::Rovs => "rovs vswitchd, userspace datapath (datapath_type = \"netdev\")",
            SwitchKind::RovsDpdk => {
                "rovs vswitchd, userspace datapath, ports of type dpdk (net_af_packet vdevs)"
            }
            SwitchKind::Ovs => "Debian's Open vSwitch, userspace datapath (datapath_type=netdev)",
            SwitchKind::Linux => "the Linux bridge",
        }
    }

    /// Parses one name.
    ///
    /// # Errors
    ///
    /// If it is not `rovs`, `rovs-dpdk`, `ovs` or `linux`.
    pub fn parse(s: &str) -> Result<SwitchKind> {
        Ok(match s.trim() {
            "rovs" => SwitchKind::Rovs,
            "rovs-dpdk" => SwitchKind::RovsDpdk,
            "ovs" => SwitchKind::Ovs,
            "linux" | "bridge" | "linux-bridge" => SwitchKind::Linux,
            other => bail!("unknown switch {other:?} (expected rovs, rovs-dpdk, ovs or linux)"),
        })
    }

    /// Parses a comma-separated list (`ovs,linux`), keeping table order, without repeats.
    ///
    /// # Errors
    ///
    /// On an unknown name or an empty list.
    pub fn parse_list(s: &str) -> Result<Vec<SwitchKind>> {
        let mut v = s
            .split(',')
            .filter(|w| !w.trim().is_empty())
            .map(SwitchKind::parse)
            .collect::<Result<Vec<_>>>()?;
        v.sort();
        v.dedup();
        if v.is_empty() {
            bail!("no switch named in {s:?}");
        }
        Ok(v)
    }

    /// The tools this switch needs besides the topology's.
    pub fn tools(self) -> &'static [Tool] {
        match self {
            SwitchKind::Rovs | SwitchKind::RovsDpdk => deps::ROVS_TOOLS,
            SwitchKind::Ovs => deps::OVS_TOOLS,
            SwitchKind::Linux => deps::LINUX_BRIDGE_TOOLS,
        }
    }
}

/// A port of the switch: a device in the switch namespace, optionally an access port of a
/// VLAN.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortSpec {
    /// Device name.
    pub name: String,
    /// Access VLAN.
    pub tag: Option<u16>,
}

/// Where and how to start a switch.
#[derive(Clone, Debug)]
pub struct SwitchEnv {
    /// The namespace that holds the ports; the switch runs there.
    pub ns: String,
    /// The ports.
    pub ports: Vec<PortSpec>,
    /// A private directory for the switch's files (run, log, database, config).
    pub workdir: PathBuf,
    /// The bridge's name.
    pub bridge: String,
    /// Our `vswitchd` binary (needed for [`SwitchKind::Rovs`]; built with the `dpdk`
    /// feature for [`SwitchKind::RovsDpdk`]).
    pub vswitchd: Option<PathBuf>,
}

/// A running switch. Dropping it stops it and removes what it made (its namespace goes
/// with the topology).
pub trait SwitchUnderTest {
    /// Which switch this is.
    fn kind(&self) -> SwitchKind;

    /// Processes to pin to the switch CPU (all of the switch's daemons).
    fn pids(&self) -> Vec<i32>;

    /// The process whose CPU time is the switch's forwarding cost, if it is a process.
    fn datapath_pid(&self) -> Option<i32>;

    /// Commands that show the switch's state (MAC table, datapath flows), with a title.
    fn inspect(&self) -> Vec<(String, Cmd)>;

    /// The switch's log file, if it has one.
    fn log_file(&self) -> Option<PathBuf>;

    /// Shell commands that stop the switch by hand (for `--keep`).
    fn stop_hint(&self) -> Vec<String>;
}

/// Starts switch `kind` in `env`.
///
/// # Errors
///
/// If it cannot start; the message names the failing command and, where there is one, the
/// switch's log.
pub fn start(kind: SwitchKind, env: &SwitchEnv) -> Result<Box<dyn SwitchUnderTest>> {
    std::fs::create_dir_all(&env.workdir)
        .with_context(|| format!("creating {}", env.workdir.display()))?;
    Ok(match kind {
        SwitchKind::Rovs => Box::new(super::rovs::Rovs::start(env)?),
        SwitchKind::RovsDpdk => Box::new(super::rovs::Rovs::start_dpdk(env)?),
        SwitchKind::Ovs => Box::new(super::ovs::Ovs::start(env)?),
        SwitchKind::Linux => Box::new(super::linux::LinuxBridge::start(env)?),
    })
}

/// The last `n` lines of a log file, or a note that it cannot be read.
pub fn log_tail(path: &Path, n: usize) -> String {
    match std::fs::read_to_string(path) {
        Ok(s) => {
            let lines: Vec<&str> = s.lines().collect();
            lines[lines.len().saturating_sub(n)..].join("\n")
        }
        Err(e) => format!("({}: {e})", path.display()),
    }
}

/// Reads the pid in an OVS-style pidfile.
///
/// # Errors
///
/// If the file is missing or does not hold a pid.
pub fn read_pidfile(path: &Path) -> Result<i32> {
    let s = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    s.trim()
        .parse()
        .with_context(|| format!("{} does not hold a pid", path.display()))
}

/// Waits up to `limit` for process `pid` to end (or become a zombie).
pub fn wait_gone(pid: i32, limit: Duration) -> bool {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        if !procfs::pid_alive(pid) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    !procfs::pid_alive(pid)
}

/// A daemon we started with `--pidfile --detach`: how to find and stop it.
#[derive(Clone, Debug)]
pub struct Daemon {
    /// Its program name as OVS tools know it (`ovs-vswitchd`, `ovsdb-server`): the control
    /// socket is `<rundir>/<name>.<pid>.ctl`.
    pub name: String,
    /// Its pidfile.
    pub pidfile: PathBuf,
    /// The directory its control socket lives in.
    pub rundir: PathBuf,
}

impl Daemon {
    /// The daemon `name` with pidfile `<rundir>/<name>.pid`.
    pub fn new(name: &str, rundir: &Path) -> Daemon {
        Daemon {
            name: name.to_owned(),
            pidfile: rundir.join(format!("{name}.pid")),
            rundir: rundir.to_owned(),
        }
    }

    /// The daemon's pid, if it is running.
    pub fn pid(&self) -> Option<i32> {
        read_pidfile(&self.pidfile)
            .ok()
            .filter(|&p| procfs::pid_alive(p))
    }

    /// Its control socket.
    pub fn ctl(&self, pid: i32) -> PathBuf {
        self.rundir.join(format!("{}.{pid}.ctl", self.name))
    }

    /// `OVS_RUNDIR=<rundir> ovs-appctl [-t <name>]`: talks to it the way an operator would.
    pub fn appctl(&self) -> Cmd {
        let c = Cmd::new("ovs-appctl").env("OVS_RUNDIR", &self.rundir);
        if self.name == "ovs-vswitchd" {
            c
        } else {
            c.args(["-t", &self.name])
        }
    }

    /// `ovs-ofctl` with this daemon's rundir, where it finds `<bridge>.mgmt`.
    pub fn ofctl(&self) -> Cmd {
        Cmd::new("ovs-ofctl").env("OVS_RUNDIR", &self.rundir)
    }

    /// Stops it: `ovs-appctl exit`, then SIGTERM, then SIGKILL. Errors are printed: this
    /// runs during cleanup.
    pub fn stop(&self) {
        let Some(pid) = self.pid() else {
            return;
        };
        let exit = Cmd::new("ovs-appctl")
            .arg("-t")
            .arg(self.ctl(pid))
            .args(["-T", "5", "exit"])
            .timeout(Duration::from_secs(8))
            .output();
        if exit.is_ok_and(|o| o.status.success()) && wait_gone(pid, Duration::from_secs(5)) {
            return;
        }
        eprintln!("xtask: {} (pid {pid}) did not exit: SIGTERM", self.name);
        let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
        if wait_gone(pid, Duration::from_secs(3)) {
            return;
        }
        eprintln!("xtask: {} (pid {pid}) still running: SIGKILL", self.name);
        let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        wait_gone(pid, Duration::from_secs(2));
    }

    /// The shell commands that stop it by hand.
    pub fn stop_hint(&self) -> String {
        format!(
            "ovs-appctl -t {}/{}.$(cat {}).ctl exit",
            self.rundir.display(),
            self.name,
            self.pidfile.display()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_parse() {
        assert_eq!(
            SwitchKind::parse_list("linux,ovs,linux").unwrap(),
            [SwitchKind::Ovs, SwitchKind::Linux]
        );
        assert_eq!(SwitchKind::parse_list("rovs").unwrap(), [SwitchKind::Rovs]);
        assert!(SwitchKind::parse_list("ovs,dpdk").is_err());
        assert!(SwitchKind::parse_list(",").is_err());
        for k in SwitchKind::ALL {
            assert_eq!(SwitchKind::parse(k.name()).unwrap(), k);
        }
    }

    #[test]
    fn pidfile_and_ctl() {
        let dir = std::env::temp_dir().join(format!("rovs-test-{}-pid", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("x.pid");
        std::fs::write(&p, "1234\n").unwrap();
        assert_eq!(read_pidfile(&p).unwrap(), 1234);
        std::fs::write(&p, "x\n").unwrap();
        assert!(read_pidfile(&p).is_err());
        assert!(read_pidfile(&dir.join("none")).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
        let d = Daemon::new("ovsdb-server", Path::new("/r"));
        assert_eq!(d.ctl(8), PathBuf::from("/r/ovsdb-server.8.ctl"));
        assert_eq!(d.pidfile, PathBuf::from("/r/ovsdb-server.pid"));
        assert_eq!(
            d.appctl().arg("exit").display(),
            "OVS_RUNDIR=/r ovs-appctl -t ovsdb-server exit"
        );
        let v = Daemon::new("ovs-vswitchd", Path::new("/r"));
        assert_eq!(
            v.appctl().arg("version").display(),
            "OVS_RUNDIR=/r ovs-appctl version"
        );
    }
}
