//! Our `vswitchd`, configured by a generated TOML file, with a private run directory.

use std::path::PathBuf;

use anyhow::{Context, Result, anyhow};

use super::switch::{Daemon, PortSpec, SwitchEnv, SwitchKind, SwitchUnderTest, log_tail};
use crate::cleanup::{self, Guard};
use crate::cmd::Cmd;

/// The configuration file for one bridge with the userspace datapath, NORMAL switching
/// (`fail_mode = "standalone"`), and `ports` (access ports where tagged).
pub fn config_toml(bridge: &str, ports: &[PortSpec]) -> String {
    let mut s = format!(
        "# Written by cargo xtask: one bridge, userspace datapath, learning switch.\n\
         [[bridge]]\n\
         name = \"{bridge}\"\n\
         datapath_type = \"netdev\"\n\
         fail_mode = \"standalone\"\n"
    );
    for p in ports {
        s.push_str(&format!("\n[[bridge.port]]\nname = \"{}\"\n", p.name));
        if let Some(tag) = p.tag {
            s.push_str(&format!("tag = {tag}\n"));
        }
    }
    s
}

/// Our `vswitchd`, running detached in the switch namespace.
pub struct Rovs {
    daemon: Daemon,
    log: PathBuf,
    bridge: String,
    _guard: Guard,
}

impl Rovs {
    /// Writes the configuration and starts `vswitchd file:CONFIG --pidfile --detach
    /// --log-file=...` with `OVS_RUNDIR` set to a private directory.
    ///
    /// # Errors
    ///
    /// If the binary is missing or the daemon does not start (with its log's last lines).
    pub fn start(env: &SwitchEnv) -> Result<Rovs> {
        let bin = env
            .vswitchd
            .clone()
            .ok_or_else(|| anyhow!("the vswitchd binary was not built"))?;
        let dir = env.workdir.clone();
        let rundir = dir.join("run");
        std::fs::create_dir_all(&rundir)
            .with_context(|| format!("creating {}", rundir.display()))?;
        let config = dir.join("vswitchd.toml");
        std::fs::write(&config, config_toml(&env.bridge, &env.ports))
            .with_context(|| format!("writing {}", config.display()))?;
        let log = dir.join("vswitchd.log");
        let daemon = Daemon::new("ovs-vswitchd", &rundir);
        let d = daemon.clone();
        let guard = cleanup::register("rovs vswitchd", move || d.stop())?;
        let started = Cmd::new(bin.to_string_lossy())
            .netns(env.ns.clone())
            .env("OVS_RUNDIR", &rundir)
            .env("OVS_LOGDIR", &dir)
            .arg(format!("file:{}", config.display()))
            .args(["--pidfile", "--detach"])
            .arg(format!("--log-file={}", log.display()))
            .run();
        if let Err(e) = started {
            return Err(e.context(format!(
                "vswitchd did not start; its log ends:\n{}",
                log_tail(&log, 15)
            )));
        }
        daemon.pid().ok_or_else(|| {
            anyhow!(
                "vswitchd started but {} has no live pid",
                daemon.pidfile.display()
            )
        })?;
        Ok(Rovs {
            daemon,
            log,
            bridge: env.bridge.clone(),
            _guard: guard,
        })
    }
}

impl SwitchUnderTest for Rovs {
    fn kind(&self) -> SwitchKind {
        SwitchKind::Rovs
    }

    fn pids(&self) -> Vec<i32> {
        self.daemon.pid().into_iter().collect()
    }

    fn datapath_pid(&self) -> Option<i32> {
        self.daemon.pid()
    }

    fn inspect(&self) -> Vec<(String, Cmd)> {
        vec![
            (
                "MAC learning table".into(),
                self.daemon.appctl().args(["fdb/show", &self.bridge]),
            ),
            (
                "Datapath flows".into(),
                self.daemon.appctl().arg("dpctl/dump-flows"),
            ),
        ]
    }

    fn log_file(&self) -> Option<PathBuf> {
        Some(self.log.clone())
    }

    fn stop_hint(&self) -> Vec<String> {
        vec![self.daemon.stop_hint()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_is_what_the_daemon_reads() {
        let ports = [
            PortSpec {
                name: "p1".into(),
                tag: None,
            },
            PortSpec {
                name: "p2".into(),
                tag: Some(10),
            },
        ];
        let text = config_toml("br0", &ports);
        let c = bridge::Config::from_toml_str(&text, &bridge::ConfigTypes::default())
            .unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(c.bridges.len(), 1);
        let b = &c.bridges[0];
        assert_eq!(b.name, "br0");
        assert_eq!(b.datapath_type, "netdev");
        assert_eq!(b.fail_mode, bridge::FailMode::Standalone);
        assert_eq!(b.ports.len(), 2);
        assert_eq!(b.ports[0].name, "p1");
        assert_eq!(b.ports[0].tag, None);
        assert_eq!(b.ports[0].interfaces[0].name, "p1");
        assert_eq!(b.ports[0].interfaces[0].type_, "system");
        assert_eq!(b.ports[1].tag, Some(10));
    }
}
