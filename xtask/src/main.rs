//! Developer tasks, run as `cargo xtask <task>`.
//!
//! * `ci`: everything CI runs: formatting, clippy, docs, every test tier, benchmarks built.
//! * `kernel-test`: the kernel tier, run inside a QEMU guest with `openvswitch.ko`.
//! * `kvm-run`: run one binary inside that guest (usable as a cargo runner).
//! * `demo`: hosts in network namespaces, ping and TCP across the switch (needs root).
//! * `bench`: the same traffic through our vswitchd, Open vSwitch and the Linux bridge, one
//!   table (needs root).
//! * `clean`: removes what a killed or `--keep` demo or bench left behind.
//! * `osken-venv`: makes (once) the Python venv with os-ken that the controller tests use.

mod bench;
mod ci;
mod clean;
mod cleanup;
mod cmd;
mod demo;
mod deps;
mod kvm;
mod pktgen;
mod procfs;
mod topo;
mod workspace;

use anyhow::{Result, bail};

const USAGE: &str = "usage: cargo xtask <task> [options]

tasks:
  ci            format check, clippy, docs, all tests (root tiers included), benches built
  kernel-test [--bench] [--release] [--keep] [--verbose] [-- TEST-ARGS...]
                build the kernel-tier tests (test targets named kernel*: dpif-netlink,
                and vswitchd on the kernel datapath) and run them in one QEMU guest whose
                kernel has openvswitch.ko (the guest is provisioned once and cached)
  kvm-run BINARY [ARGS...]
                run BINARY in that guest; exit with its status (125: the guest failed)
  demo          3 hosts in network namespaces, ping and TCP across our vswitchd (root;
                --switch ovs|linux for Open vSwitch or the Linux bridge, --keep)
  bench         UDP packet rates, CPU per packet, TCP and ping through rovs, Open vSwitch
                and the Linux bridge, one table (root; --quick, --switch LIST, --help)
  clean         remove namespaces, daemons and directories left by a killed or --keep run
  osken-venv    make the Python venv with os-ken from PyPI for the controller tests (ci
                does it too) and print its directory
";

fn main() {
    if let Err(e) = run() {
        eprintln!("xtask: {e:#}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(task) = args.first() else {
        eprint!("{USAGE}");
        bail!("no task given");
    };
    let rest = &args[1..];
    match task.as_str() {
        "ci" => ci::run(rest),
        "kernel-test" => kvm::kernel_test(rest),
        "kvm-run" => kvm::kvm_run(rest),
        "osken-venv" => {
            println!("{}", deps::ensure_osken_venv()?.display());
            Ok(())
        }
        "demo" | "bench" | "clean" => {
            // Before any thread starts, so that every thread inherits the blocked signals.
            cleanup::install_signal_handler()?;
            match task.as_str() {
                "demo" => demo::run(rest),
                "bench" => bench::run(rest),
                _ => clean::run(rest),
            }
        }
        // The packet generator, run by `bench` inside the sender's namespace.
        "__pktgen" => pktgen::run(rest),
        "-h" | "--help" | "help" => {
            print!("{USAGE}");
            Ok(())
        }
        other => {
            eprint!("{USAGE}");
            bail!("unknown task {other:?}")
        }
    }
}
