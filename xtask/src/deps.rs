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

/// The os-ken version the controller tests run (interop.md section 4).
pub const OSKEN_VERSION: &str = "4.2.2";

/// Where the os-ken virtualenv lives: `$ROVS_OSKEN_VENV`, else
/// `$HOME/.cache/rovs/osken-<version>`. The controller tests
/// (`vswitchd/tests/osken.rs`) look in the same place.
pub fn osken_venv_dir() -> std::path::PathBuf {
    if let Some(d) = std::env::var_os("ROVS_OSKEN_VENV") {
        return d.into();
    }
    let home = std::env::var_os("HOME").unwrap_or_else(|| "/root".into());
    std::path::Path::new(&home)
        .join(".cache/rovs")
        .join(format!("osken-{OSKEN_VERSION}"))
}

/// Whether the venv at `dir` imports os-ken of [`OSKEN_VERSION`].
fn osken_ok(dir: &std::path::Path) -> bool {
    let check = format!(
        "import os_ken, importlib.metadata as m; assert m.version('os-ken') == '{OSKEN_VERSION}'"
    );
    Command::new(dir.join("bin/python"))
        .args(["-c", &check])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Makes the Python virtualenv with os-ken from PyPI that the controller tests use
/// (installing `python3-venv` with apt-get when `python3 -m venv` is missing), and returns
/// its directory. Idempotent: a venv that already imports os-ken is left alone, which costs
/// one Python start.
///
/// # Errors
///
/// No python3, apt-get or pip failures.
pub fn ensure_osken_venv() -> Result<std::path::PathBuf> {
    let dir = osken_venv_dir();
    if osken_ok(&dir) {
        return Ok(dir);
    }
    ensure(&[Tool {
        command: "python3",
        package: "python3",
    }])?;
    let venv_works = Command::new("python3")
        .args(["-c", "import venv, ensurepip"])
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !venv_works {
        if !is_root() {
            bail!("python3 -m venv does not work: sudo apt-get install python3-venv");
        }
        eprintln!("xtask: installing python3-venv");
        for args in [
            &["update"][..],
            &["install", "-y", "--no-install-recommends", "python3-venv"][..],
        ] {
            let status = Command::new("apt-get")
                .args(args)
                .env("DEBIAN_FRONTEND", "noninteractive")
                .status()
                .context("running apt-get")?;
            if !status.success() {
                bail!("apt-get {} failed", args.join(" "));
            }
        }
    }
    eprintln!(
        "xtask: making the os-ken {OSKEN_VERSION} venv in {}",
        dir.display()
    );
    if let Some(parent) = dir.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    let status = Command::new("python3")
        .args(["-m", "venv", "--clear"])
        .arg(&dir)
        .status()
        .context("running python3 -m venv")?;
    if !status.success() {
        bail!("python3 -m venv {} failed", dir.display());
    }
    let status = Command::new(dir.join("bin/pip"))
        .args(["install", "--quiet", "--disable-pip-version-check"])
        .arg(format!("os-ken=={OSKEN_VERSION}"))
        .status()
        .context("running pip install os-ken")?;
    if !status.success() || !osken_ok(&dir) {
        bail!(
            "pip install os-ken=={OSKEN_VERSION} into {} failed",
            dir.display()
        );
    }
    Ok(dir)
}
