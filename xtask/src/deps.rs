//! Installing what the tasks need on a fresh Debian machine.

use std::process::Command;

use anyhow::{Context, Result, bail};

/// A tool a task needs, and the Debian package that brings it.
pub struct Tool {
    /// The command looked up on `PATH`.
    pub command: &'static str,
    /// The package that provides it.
    pub package: &'static str,
}

/// Tools every test tier needs.
pub const TEST_TOOLS: &[Tool] = &[
    Tool {
        command: "ip",
        package: "iproute2",
    },
    Tool {
        command: "ping",
        package: "iputils-ping",
    },
    Tool {
        command: "ethtool",
        package: "ethtool",
    },
    Tool {
        command: "iperf3",
        package: "iperf3",
    },
    Tool {
        command: "ovs-appctl",
        package: "openvswitch-switch",
    },
    Tool {
        command: "ovs-vswitchd",
        package: "openvswitch-switch",
    },
    Tool {
        command: "qemu-system-x86_64",
        package: "qemu-system-x86",
    },
    Tool {
        command: "busybox",
        package: "busybox-static",
    },
    Tool {
        command: "depmod",
        package: "kmod",
    },
];

/// Tools of the namespace topologies (demo and bench).
pub const TOPO_TOOLS: &[Tool] = &[
    Tool {
        command: "ip",
        package: "iproute2",
    },
    Tool {
        command: "ping",
        package: "iputils-ping",
    },
    Tool {
        command: "iperf3",
        package: "iperf3",
    },
];

/// Extra tools of the benchmark (offloads on and off).
pub const BENCH_TOOLS: &[Tool] = &[Tool {
    command: "ethtool",
    package: "ethtool",
}];

/// Tools to drive our `vswitchd`: Debian's `ovs-appctl`.
pub const ROVS_TOOLS: &[Tool] = &[Tool {
    command: "ovs-appctl",
    package: "openvswitch-common",
}];

/// Tools to run Debian's Open vSwitch.
pub const OVS_TOOLS: &[Tool] = &[
    Tool {
        command: "ovs-appctl",
        package: "openvswitch-common",
    },
    Tool {
        command: "ovsdb-tool",
        package: "openvswitch-common",
    },
    Tool {
        command: "ovsdb-server",
        package: "openvswitch-common",
    },
    Tool {
        command: "ovs-vsctl",
        package: "openvswitch-switch",
    },
    Tool {
        command: "ovs-vswitchd",
        package: "openvswitch-switch",
    },
];

/// Tools of the Linux bridge.
pub const LINUX_BRIDGE_TOOLS: &[Tool] = &[Tool {
    command: "bridge",
    package: "iproute2",
}];

/// Whether `command` is on `PATH`.
pub fn have(command: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(command).is_file()))
        || ["/usr/sbin", "/sbin"]
            .iter()
            .any(|d| std::path::Path::new(d).join(command).is_file())
}

/// Whether this process runs as root.
pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Installs the packages of the missing `tools` with apt-get (as root), or says which are
/// missing.
pub fn ensure(tools: &[Tool]) -> Result<()> {
    ensure_refs(&tools.iter().collect::<Vec<_>>())
}

/// Fails with a clear message unless this process runs as root, which `task` needs for
/// network namespaces.
///
/// # Errors
///
/// When not root.
pub fn require_root(task: &str) -> Result<()> {
    if !is_root() {
        bail!(
            "`cargo xtask {task}` needs root (network namespaces, veth pairs, packet sockets): \
             run `sudo cargo xtask {task}`"
        );
    }
    Ok(())
}

/// [`ensure`] for a list of references.
///
/// # Errors
///
/// As [`ensure`].
pub fn ensure_refs(tools: &[&Tool]) -> Result<()> {
    let mut missing: Vec<&str> = tools
        .iter()
        .filter(|t| !have(t.command))
        .map(|t| t.package)
        .collect();
    missing.sort_unstable();
    missing.dedup();
    if missing.is_empty() {
        return Ok(());
    }
    if !is_root() {
        bail!(
            "missing packages: {} (install them with: sudo apt-get install {})",
            missing.join(" "),
            missing.join(" ")
        );
    }
    apt_install(&missing)?;
    // Debian starts the OVS services when they are installed; our tests run their own.
    let _ = Command::new("sh")
        .args(["-c", "command -v ovs-ctl >/dev/null && /usr/share/openvswitch/scripts/ovs-ctl stop >/dev/null 2>&1 || true"])
        .status();
    Ok(())
}

/// Runs `apt-get update` and `apt-get install` of `packages` (as root).
fn apt_install(packages: &[&str]) -> Result<()> {
    eprintln!("xtask: installing {}", packages.join(" "));
    let status = Command::new("apt-get")
        .arg("update")
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status()
        .context("running apt-get update")?;
    if !status.success() {
        bail!("apt-get update failed");
    }
    let status = Command::new("apt-get")
        .args(["install", "-y", "--no-install-recommends"])
        .args(packages)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status()
        .context("running apt-get install")?;
    if !status.success() {
        bail!("apt-get install {} failed", packages.join(" "));
    }
    Ok(())
}

/// The Debian packages a `--features dpdk` build needs: DPDK's development files (its
/// drivers come along) and `pkg-config`, which the build script asks for them.
pub const DPDK_PACKAGES: &[&str] = &["libdpdk-dev", "pkg-config"];

/// Whether `pkg-config` finds DPDK's development files.
pub fn have_dpdk() -> bool {
    Command::new("pkg-config")
        .args(["--exists", "libdpdk"])
        .status()
        .is_ok_and(|s| s.success())
}

/// Installs [`DPDK_PACKAGES`] unless DPDK is found already.
///
/// # Errors
///
/// When they are missing and cannot be installed (not root, apt-get failed).
pub fn ensure_dpdk() -> Result<()> {
    if have_dpdk() {
        return Ok(());
    }
    if !is_root() {
        bail!(
            "missing DPDK development files (install them with: sudo apt-get install {})",
            DPDK_PACKAGES.join(" ")
        );
    }
    apt_install(DPDK_PACKAGES)?;
    if !have_dpdk() {
        bail!(
            "pkg-config does not find libdpdk after installing {}",
            DPDK_PACKAGES.join(" ")
        );
    }
    Ok(())
}
