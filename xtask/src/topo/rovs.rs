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

/// The EAL arguments of the `dpdk` configuration: no hugepages, no PCI device.
pub const DPDK_EXTRA: &str = "--no-huge -m 256 --no-pci";

/// [`config_toml`] with DPDK started (`dpdk-init`) and every port an interface of type
/// `dpdk` on an `net_af_packet` vdev over the port's kernel device.
pub fn config_toml_dpdk(bridge: &str, ports: &[PortSpec]) -> String {
    let mut s = format!(
        "# Written by cargo xtask: one bridge, userspace datapath, learning switch, DPDK ports.\n\
         [open_vswitch]\n\
         other_config = {{ dpdk-init = \"true\", dpdk-extra = \"{DPDK_EXTRA}\" }}\n\n\
         [[bridge]]\n\
         name = \"{bridge}\"\n\
         datapath_type = \"netdev\"\n\
         fail_mode = \"standalone\"\n"
    );
    for (i, p) in ports.iter().enumerate() {
        s.push_str(&format!("\n[[bridge.port]]\nname = \"{}\"\n", p.name));
        if let Some(tag) = p.tag {
            s.push_str(&format!("tag = {tag}\n"));
        }
        s.push_str(&format!(
            "interface = {{ type = \"dpdk\", options = {{ dpdk-devargs = \
             \"net_af_packet{i},iface={}\" }} }}\n",
            p.name
        ));
    }
    s
}

/// Our `vswitchd`, running detached in the switch namespace.
pub struct Rovs {
    kind: SwitchKind,
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
        Self::start_with(env, SwitchKind::Rovs, config_toml(&env.bridge, &env.ports))
    }

    /// As [`Rovs::start`], with every port of type `dpdk` ([`config_toml_dpdk`]); the binary
    /// must be built with the `dpdk` feature.
    ///
    /// # Errors
    ///
    /// As [`Rovs::start`]; also when a port does not come up (DPDK missing or failing).
    pub fn start_dpdk(env: &SwitchEnv) -> Result<Rovs> {
        let r = Self::start_with(
            env,
            SwitchKind::RovsDpdk,
            config_toml_dpdk(&env.bridge, &env.ports),
        )?;
        // An interface error shows in bridge/show: wait for every port to get a number.
        let t = std::time::Instant::now();
        loop {
            let show = r
                .daemon
                .appctl()
                .arg("bridge/show")
                .quiet()
                .output()?
                .stdout;
            let ready = env.ports.iter().all(|p| {
                show.split(&format!("Interface {}\n", p.name))
                    .nth(1)
                    .and_then(|rest| rest.lines().find(|l| l.trim().starts_with("ofport:")))
                    .is_some_and(|l| !l.contains("-1"))
            });
            if ready {
                return Ok(r);
            }
            if t.elapsed() > std::time::Duration::from_secs(10) {
                return Err(anyhow!(
                    "the dpdk ports did not come up:\n{show}\nthe log ends:\n{}",
                    log_tail(&r.log, 15)
                ));
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }

    fn start_with(env: &SwitchEnv, kind: SwitchKind, config_text: String) -> Result<Rovs> {
        let bin = env
            .vswitchd
            .clone()
            .ok_or_else(|| anyhow!("the vswitchd binary was not built"))?;
        let dir = env.workdir.clone();
        let rundir = dir.join("run");
        std::fs::create_dir_all(&rundir)
            .with_context(|| format!("creating {}", rundir.display()))?;
        let config = dir.join("vswitchd.toml");
        std::fs::write(&config, config_text)
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
            kind,
            daemon,
            log,
            bridge: env.bridge.clone(),
            _guard: guard,
        })
    }
}

impl SwitchUnderTest for Rovs {
    fn kind(&self) -> SwitchKind {
        self.kind
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
                "OpenFlow flows".into(),
                self.daemon.ofctl().args(["dump-flows", &self.bridge]),
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

    #[test]
    fn dpdk_config_is_what_the_daemon_reads() {
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
        let text = config_toml_dpdk("br0", &ports);
        let mut types = bridge::ConfigTypes::default();
        types.interface_types.push("dpdk".into());
        let c =
            bridge::Config::from_toml_str(&text, &types).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(c.open_vswitch.other_config["dpdk-init"], "true");
        assert_eq!(c.open_vswitch.other_config["dpdk-extra"], DPDK_EXTRA);
        let b = &c.bridges[0];
        assert_eq!(b.datapath_type, "netdev");
        let i = &b.ports[1].interfaces[0];
        assert_eq!((i.name.as_str(), i.type_.as_str()), ("p2", "dpdk"));
        assert_eq!(i.options["dpdk-devargs"], "net_af_packet1,iface=p2");
        assert_eq!(b.ports[1].tag, Some(10));
    }
}
