//! `cargo xtask ci`: everything CI runs, in order, stopping at the first failure.

use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::deps;

/// The `dpdk` feature of every crate that has it.
const DPDK_FEATURES: &str = "netdev/dpdk,bridge/dpdk,vswitchd/dpdk,tests/dpdk";

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()))
}

fn step(name: &str, mut cmd: Command) -> Result<()> {
    eprintln!("\n==== xtask ci: {name}");
    let t = std::time::Instant::now();
    let status = cmd.status().with_context(|| format!("starting {name}"))?;
    if !status.success() {
        bail!("{name} failed ({status})");
    }
    eprintln!("==== xtask ci: {name}: ok ({:.0?})", t.elapsed());
    Ok(())
}

/// Runs the CI steps. With `--quick`, skips the slow tiers (for a developer's inner loop).
pub fn run(args: &[String]) -> Result<()> {
    let quick = args.iter().any(|a| a == "--quick");
    if deps::is_root() {
        deps::ensure(deps::TEST_TOOLS)?;
    }
    // The OpenFlow controller tests drive the switch with os-ken from PyPI.
    let venv = deps::ensure_osken_venv()?;
    eprintln!("xtask ci: os-ken venv in {}", venv.display());
    // The dpdk tier builds on Debian's libdpdk-dev: CI installs it, and a machine without
    // it fails here rather than skipping the tier.
    deps::ensure_dpdk()?;

    let mut c = cargo();
    c.args(["fmt", "--all", "--", "--check"]);
    step("cargo fmt --check", c)?;

    let mut c = cargo();
    c.args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]);
    step("cargo clippy", c)?;

    let mut c = cargo();
    c.args(["doc", "--workspace", "--no-deps"])
        .env("RUSTDOCFLAGS", "-D warnings");
    step("cargo doc", c)?;

    let mut c = cargo();
    c.args(["test", "--workspace"])
        .env("ROVS_OSKEN_VENV", &venv);
    step("cargo test (unit, property, namespace tiers)", c)?;

    // The dpdk tier: the feature's code linted, its unit tests, and the switch on
    // net_af_packet ports (no hugepages, no NIC; root, as CI is, where a test that cannot
    // run fails).
    let mut c = cargo();
    c.args([
        "clippy",
        "-p",
        "netdev",
        "-p",
        "bridge",
        "-p",
        "vswitchd",
        "-p",
        "tests",
        "--features",
        DPDK_FEATURES,
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]);
    step("cargo clippy --features dpdk", c)?;
    let mut c = cargo();
    c.args(["doc", "-p", "netdev", "--no-deps", "--features", "dpdk"])
        .env("RUSTDOCFLAGS", "-D warnings");
    step("cargo doc --features dpdk", c)?;
    for (what, args) in [
        ("netdev-dpdk unit tests", ["-p", "netdev", "--lib", "dpdk"]),
        ("netdev-dpdk on veth", ["-p", "tests", "--test", "dpdk"]),
        (
            "the switch on dpdk ports",
            ["-p", "vswitchd", "--test", "dpdk"],
        ),
    ] {
        let mut c = cargo();
        c.arg("test")
            .args(args)
            .args(["--features", "dpdk"])
            .env("CI", "true");
        step(&format!("cargo test --features dpdk ({what})"), c)?;
    }

    // The kernel tier: dpif-netlink and the whole switch against openvswitch.ko in a QEMU
    // guest. A guest that cannot run fails CI.
    eprintln!("\n==== xtask ci: kernel-test (kernel VM)");
    let t = std::time::Instant::now();
    crate::kvm::kernel_test(&[])?;
    eprintln!("==== xtask ci: kernel-test: ok ({:.0?})", t.elapsed());

    if !quick {
        let mut c = cargo();
        c.args(["bench", "--workspace", "--no-run"]);
        step("cargo bench --no-run", c)?;

        // The fuzz targets are built, not run: fuzzing happens by hand (`cargo fuzz run`).
        let mut c = cargo();
        c.args(["build", "-p", "rovs-fuzz"]);
        step("fuzz targets built", c)?;
    }
    eprintln!("\nxtask ci: all steps passed");
    Ok(())
}
