//! The Linux bridge, in the switch namespace (removed with it).

use std::path::PathBuf;

use anyhow::Result;

use super::switch::{PortSpec, SwitchEnv, SwitchKind, SwitchUnderTest};
use crate::cmd::Cmd;

/// The `ip`/`bridge` commands (arguments after the program) that make bridge `bridge` in
/// namespace `ns` with `ports`; VLAN filtering is on when a port has a tag.
pub fn setup_commands(ns: &str, bridge: &str, ports: &[PortSpec]) -> Vec<Cmd> {
    let ip = |args: &[&str]| Cmd::new("ip").args(["-n", ns]).args(args);
    let vlans = ports.iter().any(|p| p.tag.is_some());
    let mut v = vec![ip(&["link", "add", bridge, "type", "bridge"])];
    if vlans {
        v.push(ip(&[
            "link",
            "set",
            bridge,
            "type",
            "bridge",
            "vlan_filtering",
            "1",
        ]));
    }
    for p in ports {
        v.push(ip(&["link", "set", &p.name, "master", bridge]));
        if let Some(tag) = p.tag {
            let bridge_cmd = |args: &[&str]| Cmd::new("bridge").args(["-n", ns]).args(args);
            v.push(bridge_cmd(&["vlan", "del", "dev", &p.name, "vid", "1"]));
            v.push(bridge_cmd(&[
                "vlan",
                "add",
                "dev",
                &p.name,
                "vid",
                &tag.to_string(),
                "pvid",
                "untagged",
            ]));
        }
    }
    v.push(ip(&["link", "set", bridge, "up"]));
    v
}

/// A Linux bridge.
pub struct LinuxBridge {
    ns: String,
    bridge: String,
}

impl LinuxBridge {
    /// Makes the bridge and enslaves the ports.
    ///
    /// # Errors
    ///
    /// If a command fails.
    pub fn start(env: &SwitchEnv) -> Result<LinuxBridge> {
        for c in setup_commands(&env.ns, &env.bridge, &env.ports) {
            c.run()?;
        }
        Ok(LinuxBridge {
            ns: env.ns.clone(),
            bridge: env.bridge.clone(),
        })
    }
}

impl SwitchUnderTest for LinuxBridge {
    fn kind(&self) -> SwitchKind {
        SwitchKind::Linux
    }

    fn pids(&self) -> Vec<i32> {
        Vec::new()
    }

    fn datapath_pid(&self) -> Option<i32> {
        None
    }

    fn inspect(&self) -> Vec<(String, Cmd)> {
        vec![(
            "MAC learning table (learned entries)".into(),
            Cmd::new("bridge").args(["-n", &self.ns, "fdb", "show", "br", &self.bridge, "dynamic"]),
        )]
    }

    fn log_file(&self) -> Option<PathBuf> {
        None
    }

    fn stop_hint(&self) -> Vec<String> {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands() {
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
        let v: Vec<String> = setup_commands("sw", "br0", &ports)
            .iter()
            .map(Cmd::display)
            .collect();
        assert_eq!(
            v,
            [
                "ip -n sw link add br0 type bridge",
                "ip -n sw link set br0 type bridge vlan_filtering 1",
                "ip -n sw link set p1 master br0",
                "ip -n sw link set p2 master br0",
                "bridge -n sw vlan del dev p2 vid 1",
                "bridge -n sw vlan add dev p2 vid 10 pvid untagged",
                "ip -n sw link set br0 up",
            ]
        );
        assert_eq!(setup_commands("sw", "br0", &ports[..1]).len(), 3);
    }
}
