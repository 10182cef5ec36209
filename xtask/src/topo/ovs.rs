//! Debian's Open vSwitch with the userspace datapath: a private `ovsdb-server` and
//! `ovs-vswitchd` with their own database, run and log directory.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};

use super::switch::{Daemon, PortSpec, SwitchEnv, SwitchKind, SwitchUnderTest, log_tail};
use crate::cleanup::{self, Guard};
use crate::cmd::Cmd;

/// The OVSDB schema that Debian's `openvswitch-common` installs.
pub const SCHEMA: &str = "/usr/share/openvswitch/vswitch.ovsschema";

/// The `ovs-vsctl` arguments that make bridge `bridge` with the userspace datapath, NORMAL
/// switching, and `ports`.
pub fn add_bridge_args(bridge: &str, ports: &[PortSpec]) -> Vec<String> {
    let mut v: Vec<String> = [
        "--",
        "add-br",
        bridge,
        "--",
        "set",
        "Bridge",
        bridge,
        "datapath_type=netdev",
        "fail_mode=standalone",
    ]
    .map(String::from)
    .to_vec();
    for p in ports {
        v.extend([
            "--".into(),
            "add-port".into(),
            bridge.into(),
            p.name.clone(),
        ]);
        if let Some(tag) = p.tag {
            v.push(format!("tag={tag}"));
        }
    }
    v
}

/// `ovsdb-server` and `ovs-vswitchd`, detached, in the switch namespace.
pub struct Ovs {
    vswitchd: Daemon,
    ovsdb: Daemon,
    dir: PathBuf,
    bridge: String,
    // Dropped in this order: the switch before its database.
    _vswitchd_guard: Guard,
    _ovsdb_guard: Guard,
}

impl Ovs {
    /// Creates the database, starts `ovsdb-server` and `ovs-vswitchd` (with
    /// `userspace-tso-enable=true`, so TCP crosses with the hosts' default offloads), and
    /// adds the bridge and its ports.
    ///
    /// # Errors
    ///
    /// If OVS is not installed or a step fails (with the daemon's log's last lines).
    pub fn start(env: &SwitchEnv) -> Result<Ovs> {
        if !Path::new(SCHEMA).exists() {
            bail!("{SCHEMA} is missing: install openvswitch-common and openvswitch-switch");
        }
        let dir = env.workdir.clone();
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let db = dir.join("conf.db");
        let sock = format!("unix:{}", dir.join("db.sock").display());
        let ovsdb = Daemon::new("ovsdb-server", &dir);
        let vswitchd = Daemon::new("ovs-vswitchd", &dir);
        let d = ovsdb.clone();
        let ovsdb_guard = cleanup::register("OVS ovsdb-server", move || d.stop())?;
        let d = vswitchd.clone();
        let vswitchd_guard = cleanup::register("OVS ovs-vswitchd", move || d.stop())?;

        let daemon_cmd = |program: &str| {
            Cmd::new(program)
                .netns(env.ns.clone())
                .env("OVS_RUNDIR", &dir)
                .env("OVS_LOGDIR", &dir)
                .env("OVS_DBDIR", &dir)
        };
        let vsctl = || Cmd::new("ovs-vsctl").arg(format!("--db={sock}"));

        Cmd::new("ovsdb-tool")
            .arg("create")
            .arg(&db)
            .arg(SCHEMA)
            .run()?;
        daemon_cmd("ovsdb-server")
            .arg(&db)
            .arg(format!("--remote=p{sock}"))
            .arg(format!("--pidfile={}", ovsdb.pidfile.display()))
            .arg(format!(
                "--log-file={}",
                dir.join("ovsdb-server.log").display()
            ))
            .args(["--detach", "--no-chdir"])
            .run()
            .map_err(|e| with_log(e, &dir.join("ovsdb-server.log")))?;
        vsctl().args(["--no-wait", "init"]).run()?;
        vsctl()
            .args(["--no-wait", "set", "Open_vSwitch", "."])
            .arg("other_config:userspace-tso-enable=true")
            .run()?;
        let log = dir.join("ovs-vswitchd.log");
        daemon_cmd("ovs-vswitchd")
            .arg(&sock)
            .arg(format!("--pidfile={}", vswitchd.pidfile.display()))
            .arg(format!("--log-file={}", log.display()))
            .args(["--detach", "--no-chdir"])
            .run()
            .map_err(|e| with_log(e, &log))?;
        vsctl()
            .arg("--timeout=20")
            .args(add_bridge_args(&env.bridge, &env.ports))
            .timeout(Duration::from_secs(25))
            .run()
            .map_err(|e| with_log(e, &log))?;
        Ok(Ovs {
            vswitchd,
            ovsdb,
            dir,
            bridge: env.bridge.clone(),
            _vswitchd_guard: vswitchd_guard,
            _ovsdb_guard: ovsdb_guard,
        })
    }
}

fn with_log(e: anyhow::Error, log: &Path) -> anyhow::Error {
    e.context(format!("{} ends:\n{}", log.display(), log_tail(log, 15)))
}

impl SwitchUnderTest for Ovs {
    fn kind(&self) -> SwitchKind {
        SwitchKind::Ovs
    }

    fn pids(&self) -> Vec<i32> {
        self.vswitchd
            .pid()
            .into_iter()
            .chain(self.ovsdb.pid())
            .collect()
    }

    fn datapath_pid(&self) -> Option<i32> {
        self.vswitchd.pid()
    }

    fn inspect(&self) -> Vec<(String, Cmd)> {
        vec![
            (
                "MAC learning table".into(),
                self.vswitchd.appctl().args(["fdb/show", &self.bridge]),
            ),
            (
                "OpenFlow flows".into(),
                self.vswitchd.ofctl().args(["dump-flows", &self.bridge]),
            ),
            (
                "Datapath flows".into(),
                self.vswitchd.appctl().arg("dpctl/dump-flows"),
            ),
        ]
    }

    fn log_file(&self) -> Option<PathBuf> {
        Some(self.dir.join("ovs-vswitchd.log"))
    }

    fn stop_hint(&self) -> Vec<String> {
        vec![self.vswitchd.stop_hint(), self.ovsdb.stop_hint()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vsctl_args() {
        let ports = [
            PortSpec {
                name: "p1".into(),
                tag: None,
            },
            PortSpec {
                name: "p2".into(),
                tag: Some(20),
            },
        ];
        assert_eq!(
            add_bridge_args("br0", &ports).join(" "),
            "-- add-br br0 -- set Bridge br0 datapath_type=netdev fail_mode=standalone \
             -- add-port br0 p1 -- add-port br0 p2 tag=20"
        );
    }
}
