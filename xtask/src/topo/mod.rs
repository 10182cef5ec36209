//! Test topologies: hosts in network namespaces, each joined by a veth pair to a switch
//! whose ports live in a namespace of their own, and the switches under test.
//!
//! ```text
//!   ns PREFIX-h1          ns PREFIX-sw                      ns PREFIX-h2
//!   eth0 10.0.0.1/24 ---- p1 [ switch under test: br0 ] p2 ---- eth0 10.0.0.2/24
//!   02:00:00:00:01:01                                           02:00:00:00:02:02
//! ```
//!
//! Host `i` (from 1) lives in namespace `PREFIX-hI`, has device `eth0` with MAC
//! `02:00:00:00:II:II` and address `10.0.0.I/24`; its peer is `pI` in `PREFIX-sw`. Nothing is
//! made in the caller's namespace: the veth pairs are created with both ends already in
//! their namespaces. IPv6 is disabled in every namespace, so no router solicitations or
//! multicast listener reports cross the switch unasked.
//!
//! Every namespace is registered with [`crate::cleanup`] before it is made; removing it
//! first stops the processes still inside, then deletes it (with its devices).

pub mod linux;
pub mod ovs;
pub mod probe;
pub mod rovs;
pub mod switch;
pub mod traffic;

use std::net::Ipv4Addr;
use std::time::Duration;

use anyhow::{Result, bail};

use crate::cleanup::{self, Guard};
use crate::cmd::Cmd;
use crate::pktgen::Mac;
use crate::procfs;

pub use switch::{PortSpec, SwitchKind};

/// Prefix of every namespace, directory and daemon the harness makes, so that
/// `cargo xtask clean` can find leftovers.
pub const PREFIX: &str = "rovs-";

/// The name prefix for one run of `task` (`demo`, `bench`): `rovs-<task>-<pid>`.
pub fn run_prefix(task: &str) -> String {
    format!("{PREFIX}{task}-{}", std::process::id())
}

/// A named network namespace (`ip netns add`), deleted with everything in it on drop.
#[derive(Debug)]
pub struct Netns {
    name: String,
    _guard: Guard,
}

impl Netns {
    /// Makes namespace `name` with `lo` up and IPv6 off.
    ///
    /// # Errors
    ///
    /// If `ip netns add` fails (not root, or the name exists).
    pub fn create(name: &str) -> Result<Netns> {
        let n = name.to_owned();
        let guard = cleanup::register(format!("network namespace {name}"), move || {
            delete_netns(&n);
        })?;
        Cmd::new("ip").args(["netns", "add", name]).run()?;
        let ns = Netns {
            name: name.to_owned(),
            _guard: guard,
        };
        Cmd::new("ip")
            .args(["-n", name, "link", "set", "lo", "up"])
            .run()?;
        // Best effort: a kernel without IPv6 has nothing to disable.
        let _ = Cmd::new("sh")
            .args([
                "-c",
                "echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6; \
                 echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6",
            ])
            .netns(name)
            .quiet()
            .output();
        Ok(ns)
    }

    /// The namespace's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// Stops every process in namespace `name` (SIGTERM, then SIGKILL), then deletes it.
/// Errors are printed, not returned: this runs during cleanup.
pub fn delete_netns(name: &str) {
    if !std::path::Path::new("/run/netns").join(name).exists() {
        return;
    }
    let pids = |sig: Option<nix::sys::signal::Signal>| -> usize {
        let out = Cmd::new("ip")
            .args(["netns", "pids", name])
            .quiet()
            .output();
        let mut n = 0;
        for pid in out
            .map(|o| o.stdout)
            .unwrap_or_default()
            .split_whitespace()
            .filter_map(|p| p.parse::<i32>().ok())
        {
            if procfs::pid_alive(pid) {
                n += 1;
                if let Some(sig) = sig {
                    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), sig);
                }
            }
        }
        n
    };
    if pids(Some(nix::sys::signal::Signal::SIGTERM)) > 0 {
        for _ in 0..30 {
            if pids(None) == 0 {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        pids(Some(nix::sys::signal::Signal::SIGKILL));
    }
    if let Err(e) = Cmd::new("ip").args(["netns", "del", name]).run() {
        eprintln!("xtask: cleanup: {e:#}");
    }
}

/// One host of a topology.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Host {
    /// Its namespace.
    pub ns: String,
    /// Its device (`eth0`).
    pub dev: String,
    /// Its MAC address.
    pub mac: Mac,
    /// Its IPv4 address (in a /24).
    pub ip: Ipv4Addr,
    /// The switch port it is plugged into (`pI`, in the switch namespace).
    pub port: String,
    /// The access VLAN of that port, if any.
    pub tag: Option<u16>,
}

impl Host {
    /// Host number `i` (1..=254) of namespace prefix `prefix`.
    pub fn numbered(prefix: &str, i: u8, tag: Option<u16>) -> Host {
        Host {
            ns: format!("{prefix}-h{i}"),
            dev: "eth0".into(),
            mac: [2, 0, 0, 0, i, i],
            ip: Ipv4Addr::new(10, 0, 0, i),
            port: format!("p{i}"),
            tag,
        }
    }

    /// A command run in this host's namespace.
    pub fn cmd(&self, program: &str) -> Cmd {
        Cmd::new(program).netns(self.ns.clone())
    }
}

/// Hosts joined by veth pairs to a switch namespace (the switch itself comes separately).
pub struct Topology {
    /// The switch namespace's name.
    pub switch_ns: String,
    /// The hosts, host 1 first.
    pub hosts: Vec<Host>,
    // Dropped last (fields drop in order): the switch namespace after the hosts'.
    host_ns: Vec<Netns>,
    sw: Netns,
}

impl Topology {
    /// Makes `tags.len()` hosts (host `i` on access VLAN `tags[i-1]`, or untagged) and the
    /// switch namespace `PREFIX-sw`, and joins them.
    ///
    /// # Errors
    ///
    /// If a namespace or device cannot be made; what was made is removed.
    pub fn create(prefix: &str, tags: &[Option<u16>]) -> Result<Topology> {
        if tags.is_empty() || tags.len() > 254 {
            bail!("a topology has 1 to 254 hosts");
        }
        let sw = Netns::create(&format!("{prefix}-sw"))?;
        let mut hosts = Vec::new();
        let mut host_ns = Vec::new();
        for (i, tag) in (1..=254u8).zip(tags) {
            let h = Host::numbered(prefix, i, *tag);
            host_ns.push(Netns::create(&h.ns)?);
            Cmd::new("ip")
                .args(["-n", sw.name(), "link", "add", &h.port, "type", "veth"])
                .args(["peer", "name", &h.dev, "netns", &h.ns])
                .run()?;
            let ip_n = |args: &[&str]| Cmd::new("ip").args(["-n", &h.ns]).args(args).run();
            ip_n(&[
                "link",
                "set",
                &h.dev,
                "address",
                &crate::pktgen::fmt_mac(&h.mac),
            ])?;
            ip_n(&["addr", "add", &format!("{}/24", h.ip), "dev", &h.dev])?;
            ip_n(&["link", "set", &h.dev, "up"])?;
            Cmd::new("ip")
                .args(["-n", sw.name(), "link", "set", &h.port, "up"])
                .run()?;
            hosts.push(h);
        }
        Ok(Topology {
            switch_ns: sw.name().to_owned(),
            hosts,
            host_ns,
            sw,
        })
    }

    /// The switch's ports, in host order.
    pub fn ports(&self) -> Vec<PortSpec> {
        self.hosts
            .iter()
            .map(|h| PortSpec {
                name: h.port.clone(),
                tag: h.tag,
            })
            .collect()
    }

    /// Host `i` (from 1).
    ///
    /// # Errors
    ///
    /// If there is no such host.
    pub fn host(&self, i: usize) -> Result<&Host> {
        i.checked_sub(1)
            .and_then(|k| self.hosts.get(k))
            .ok_or_else(|| anyhow::anyhow!("no host {i}"))
    }

    /// Steers receive processing (RPS) of the switch's ports to `switch_cpu` and of the
    /// hosts' devices to `host_cpu`, so that everything the switch does, including the
    /// kernel's delivery of packets to it, runs on the switch's CPU, and the hosts' stacks
    /// run on the generator's.
    ///
    /// # Errors
    ///
    /// If the kernel has no RPS (`rps_cpus` cannot be written).
    pub fn steer_rps(&self, switch_cpu: usize, host_cpu: usize) -> Result<()> {
        let set = |ns: &str, dev: &str, cpu: usize| -> Result<()> {
            let mask = format!("{:x}", 1u64 << cpu.min(63));
            Cmd::new("sh")
                .args([
                    "-c",
                    &format!(
                        "for q in /sys/class/net/{dev}/queues/rx-*/rps_cpus; \
                         do echo {mask} > $q || exit 1; done"
                    ),
                ])
                .netns(ns)
                .run()
                .map(drop)
        };
        for h in &self.hosts {
            set(&self.switch_ns, &h.port, switch_cpu)?;
            set(&h.ns, &h.dev, host_cpu)?;
        }
        Ok(())
    }

    /// The names of every namespace, switch first.
    pub fn namespaces(&self) -> Vec<String> {
        std::iter::once(self.sw.name().to_owned())
            .chain(self.host_ns.iter().map(|n| n.name().to_owned()))
            .collect()
    }
}

/// Pings `to` from `from`: `count` pings `interval` seconds apart, each waiting at most 1 s.
/// Returns the output and the round-trip times of the replies, in milliseconds.
///
/// # Errors
///
/// If ping cannot run (not whether replies came).
pub fn ping(from: &Host, to: Ipv4Addr, count: u32, interval: f64) -> Result<(String, Vec<f64>)> {
    let limit = Duration::from_secs_f64(f64::from(count) * interval + 5.0);
    let out = from
        .cmd("ping")
        .args(["-n", "-c", &count.to_string(), "-i", &interval.to_string()])
        .args(["-W", "1", &to.to_string()])
        .timeout(limit)
        .output()?;
    let rtts = parse_ping_times(&out.stdout);
    Ok((out.both(), rtts))
}

/// The `time=X ms` values of ping's reply lines.
pub fn parse_ping_times(out: &str) -> Vec<f64> {
    out.lines()
        .filter_map(|l| l.split_once("time=").map(|(_, t)| t))
        .filter_map(|t| t.split_whitespace().next()?.parse().ok())
        .collect()
}

/// The names of leftover namespaces of earlier runs (`rovs-*`) whose process is gone.
pub fn stale_namespaces() -> Vec<String> {
    let Ok(dir) = std::fs::read_dir("/run/netns") else {
        return Vec::new();
    };
    let mut v: Vec<String> = dir
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| {
            owner_pid(n).is_some_and(|pid| {
                pid != std::process::id() && !procfs::pid_alive(i32::try_from(pid).unwrap_or(0))
            })
        })
        .collect();
    v.sort();
    v
}

/// The pid in a harness name `rovs-<task>-<pid>-...`.
pub fn owner_pid(name: &str) -> Option<u32> {
    name.strip_prefix(PREFIX)?.split('-').nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_and_names() {
        let h = Host::numbered("rovs-demo-42", 3, Some(10));
        assert_eq!(h.ns, "rovs-demo-42-h3");
        assert_eq!(h.mac, [2, 0, 0, 0, 3, 3]);
        assert_eq!(h.ip, Ipv4Addr::new(10, 0, 0, 3));
        assert_eq!(h.port, "p3");
        assert_eq!(owner_pid("rovs-demo-42-h3"), Some(42));
        assert_eq!(owner_pid("rovs-bench-7-ovs-sw"), Some(7));
        assert_eq!(owner_pid("other-demo-42-h3"), None);
        assert_eq!(owner_pid("rovs-demo"), None);
        assert!(run_prefix("bench").starts_with("rovs-bench-"));
    }

    #[test]
    fn ping_times() {
        let out = "PING 10.0.0.2 (10.0.0.2) 56(84) bytes of data.\n\
                   64 bytes from 10.0.0.2: icmp_seq=1 ttl=64 time=2.32 ms\n\
                   64 bytes from 10.0.0.2: icmp_seq=2 ttl=64 time=0.412 ms\n\
                   \n--- 10.0.0.2 ping statistics ---\n\
                   2 packets transmitted, 2 received, 0% packet loss, time 403ms\n\
                   rtt min/avg/max/mdev = 0.318/1.319/2.320/1.001 ms\n";
        assert_eq!(parse_ping_times(out), vec![2.32, 0.412]);
        assert!(
            parse_ping_times("From 10.0.0.1 icmp_seq=1 Destination Host Unreachable").is_empty()
        );
    }
}
