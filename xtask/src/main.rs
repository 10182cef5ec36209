//! Developer tasks, run as `cargo xtask <task>`.
//!
//! * `ci`: everything CI runs: formatting, clippy, docs, every test tier, benchmarks built.
//! * `kernel-test`: the kernel tier, run inside a QEMU guest with `openvswitch.ko`.
//! * `kvm-run`: run one binary inside that guest (usable as a cargo runner).

mod ci;
mod deps;
mod kvm;

use anyhow::{Result, bail};

const USAGE: &str = "usage: cargo xtask <task>

tasks:
  ci            format check, clippy, docs, all tests (root tiers included), benches built
  kernel-test [--bench] [--release] [--keep] [--verbose] [-- TEST-ARGS...]
                build the kernel-tier tests and run them in a QEMU guest whose kernel has
                openvswitch.ko (the guest is provisioned once and cached)
  kvm-run BINARY [ARGS...]
                run BINARY in that guest; exit with its status (125: the guest failed)
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
    match task.as_str() {
        "ci" => ci::run(&args[1..]),
        "kernel-test" => kvm::kernel_test(&args[1..]),
        "kvm-run" => kvm::kvm_run(&args[1..]),
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
