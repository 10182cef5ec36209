//! The kernel VM: run host binaries inside a throw-away QEMU guest that boots a stock Debian
//! kernel with `openvswitch.ko` loaded.
//!
//! * `cargo xtask kernel-test [--bench] [--release] [-- TEST-ARGS...]` builds the
//!   kernel-tier test binaries, every test target named `kernel*` in the workspace
//!   (`cargo test --workspace --test 'kernel*' --no-run`: dpif-netlink's `tests/kernel` and
//!   the whole switch's `vswitchd/kernel_switch`, which also builds the `vswitchd` binary it
//!   runs), boots one guest and runs them in it one after another (with `--bench`, also the
//!   ignored `bench_*` tests, which print figures).
//! * `cargo xtask kvm-run BINARY [ARGS...]` runs one binary in a guest and exits with its
//!   status; usable as a cargo runner:
//!   `CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUNNER="$PWD/target/debug/xtask kvm-run"`.
//!
//! The host's root file system is shared read-only over virtio-9p and the binary runs
//! chrooted in it, so dynamically linked test binaries (and Debian's `ovs-dpctl`) work
//! unchanged; `/tmp`, `/run` and `/var/tmp` are fresh tmpfs in the guest. The binary's
//! stdout and stderr stream to ours (the guest's second serial port); the kernel console goes
//! to `console.log` in the job folder, shown when the guest fails.
//!
//! Environment knobs: `KV_TIMEOUT` (guest-side limit for the job, seconds, default 300),
//! `KV_ACCEL` (`kvm`, `tcg` or `auto`), `KV_SMP` (default 2), `KV_MEM` (default 1024M),
//! `KV_CACHE`, `KV_KPKG` (the Debian kernel package), `KV_RW_DIRS` (host folders shared
//! read-write at the same path), `KV_PASS_ENV` (more variables to pass; `RUST_*`, `CARGO_*`
//! and `CI` always are), `KV_KEEP=1` (keep the job folder), `KV_VERBOSE=1`.
//!
//! A guest that brings back no exit status is an error (exit 125 from `kvm-run`), never a
//! pass.

mod cpio;
mod init;
mod provision;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::deps;

/// Tools the VM needs on the host.
const VM_TOOLS: &[deps::Tool] = &[
    deps::Tool {
        command: "qemu-system-x86_64",
        package: "qemu-system-x86",
    },
    deps::Tool {
        command: "busybox",
        package: "busybox-static",
    },
    deps::Tool {
        command: "depmod",
        package: "kmod",
    },
    deps::Tool {
        command: "ovs-dpctl",
        package: "openvswitch-common",
    },
    deps::Tool {
        command: "xz",
        package: "xz-utils",
    },
];

/// How to run a guest.
#[derive(Clone, Debug)]
pub struct VmOptions {
    /// Guest-side limit for the whole job, in seconds (0: none).
    pub timeout_s: u64,
    /// vCPUs.
    pub smp: String,
    /// Memory.
    pub mem: String,
    /// `kvm`, `tcg` or `auto`.
    pub accel: String,
    /// Keep the job folder.
    pub keep: bool,
    /// Print timing and the guest's `KV:` lines.
    pub verbose: bool,
}

impl VmOptions {
    /// Options from the `KV_*` environment variables.
    pub fn from_env() -> Self {
        let var = |k: &str, d: &str| std::env::var(k).unwrap_or_else(|_| d.to_owned());
        VmOptions {
            timeout_s: var("KV_TIMEOUT", "300").parse().unwrap_or(300),
            smp: var("KV_SMP", "2"),
            mem: var("KV_MEM", "1024M"),
            accel: var("KV_ACCEL", "auto"),
            keep: var("KV_KEEP", "0") == "1",
            verbose: var("KV_VERBOSE", "0") == "1",
        }
    }
}

/// The outcome of a guest run.
#[derive(Debug)]
pub struct VmResult {
    /// The job's exit status.
    pub rc: i32,
    /// Wall time of the QEMU run.
    pub elapsed: Duration,
}

/// Runs `commands` (each a program and its arguments) one after another in one guest; the
/// job's status is that of the first command that fails, or 0.
///
/// # Errors
///
/// Provisioning or QEMU failures, and a guest that brought back no exit status.
pub fn run_in_vm(commands: &[Vec<String>], opts: &VmOptions) -> Result<VmResult> {
    if deps::is_root() {
        deps::ensure(VM_TOOLS)?;
    }
    for t in VM_TOOLS {
        if !deps::have(t.command) {
            bail!(
                "the kernel VM needs {} (Debian package {})",
                t.command,
                t.package
            );
        }
    }
    let assets = provision::ensure(opts.verbose)?;
    let job = make_job_dir()?;
    let result = run_job(&job, commands, opts, &assets);
    if opts.keep {
        eprintln!("xtask kvm: job folder kept: {}", job.display());
    } else {
        let _ = fs::remove_dir_all(&job);
    }
    result
}

fn make_job_dir() -> Result<PathBuf> {
    let base = std::env::temp_dir();
    for n in 0..1000u32 {
        let d = base.join(format!("kvjob.{}.{n}", std::process::id()));
        match fs::create_dir(&d) {
            Ok(()) => return Ok(d),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e).with_context(|| format!("creating {}", d.display())),
        }
    }
    bail!("cannot create a job folder in {}", base.display())
}

/// The job script: the environment, then each command; the first failure's status wins.
fn job_script(commands: &[Vec<String>]) -> Result<String> {
    use init::sh_quote;
    let mut s = String::from(
        "export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n\
         export HOME=/root TMPDIR=/var/tmp KV_IN_GUEST=1\n",
    );
    let extra = std::env::var("KV_PASS_ENV").unwrap_or_default();
    let mut vars: Vec<(String, String)> = std::env::vars()
        .filter(|(k, _)| {
            k.starts_with("RUST_")
                || k.starts_with("CARGO_")
                || k.starts_with("NEXTEST_")
                || k == "CI"
                || extra.split_whitespace().any(|x| x == k)
        })
        .collect();
    vars.sort();
    for (k, v) in vars {
        s.push_str(&format!("export {k}={}\n", sh_quote(&v)));
    }
    let cwd = std::env::current_dir()?;
    let cwd = cwd.to_str().context("non-UTF-8 current folder")?;
    s.push_str(&format!("cd {} 2>/dev/null || cd /\nrc=0\n", sh_quote(cwd)));
    for cmd in commands {
        let line: Vec<String> = cmd.iter().map(|a| sh_quote(a)).collect();
        s.push_str(&format!(
            "{}\nr=$?; [ \"$rc\" = 0 ] && rc=$r\n",
            line.join(" ")
        ));
    }
    s.push_str("exit $rc\n");
    Ok(s)
}

/// The folders under the guest's fresh tmpfs mounts (`/tmp`, `/run`, `/var/tmp`) that the
/// job needs from the host: the current folder and those of the programs it runs. One per
/// line, outermost first, without duplicates or folders inside another listed one.
fn keep_dirs(commands: &[Vec<String>]) -> Result<String> {
    let mut dirs: Vec<PathBuf> = vec![std::env::current_dir()?];
    for cmd in commands {
        if let Some(prog) = cmd.first() {
            let p = Path::new(prog);
            if let Some(parent) = p.parent().filter(|d| d.is_absolute()) {
                dirs.push(fs::canonicalize(parent).unwrap_or_else(|_| parent.to_owned()));
            }
        }
    }
    Ok(keep_list(dirs))
}

fn keep_list(mut dirs: Vec<PathBuf>) -> String {
    let volatile = [Path::new("/tmp"), Path::new("/run"), Path::new("/var/tmp")];
    dirs.retain(|d| volatile.iter().any(|v| d.starts_with(v) && d != v));
    dirs.sort();
    let mut kept: Vec<PathBuf> = Vec::new();
    for d in dirs {
        if !kept.iter().any(|k| d.starts_with(k)) {
            kept.push(d);
        }
    }
    kept.iter()
        .filter_map(|d| d.to_str())
        .map(|d| format!("{d}\n"))
        .collect()
}

fn accel_args(accel: &str) -> Result<Vec<&'static str>> {
    let accel = if accel == "auto" {
        let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let virt = cpuinfo.split_whitespace().any(|w| w == "vmx" || w == "svm");
        let kvm_rw = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/kvm")
            .is_ok();
        if virt && kvm_rw { "kvm" } else { "tcg" }
    } else {
        accel
    };
    Ok(match accel {
        "kvm" => vec!["-accel", "kvm", "-cpu", "host"],
        "tcg" => vec!["-accel", "tcg,thread=multi", "-cpu", "max"],
        other => bail!("bad KV_ACCEL={other} (kvm, tcg or auto)"),
    })
}

fn run_job(
    job: &Path,
    commands: &[Vec<String>],
    opts: &VmOptions,
    assets: &provision::Assets,
) -> Result<VmResult> {
    let job_str = job.to_str().context("non-UTF-8 job folder")?;
    fs::write(job.join("cmd.sh"), job_script(commands)?)?;
    fs::write(job.join("timeout"), format!("{}\n", opts.timeout_s))?;
    let mut rwdirs = String::new();
    let mut rw_args: Vec<String> = Vec::new();
    for (n, d) in std::env::var("KV_RW_DIRS")
        .unwrap_or_default()
        .split_whitespace()
        .enumerate()
    {
        let d = fs::canonicalize(d).with_context(|| format!("KV_RW_DIRS: {d}"))?;
        if !d.is_dir() {
            bail!("KV_RW_DIRS: not a folder: {}", d.display());
        }
        let d = d.to_str().context("non-UTF-8 folder")?.to_owned();
        rw_args.extend([
            "-fsdev".into(),
            format!("local,id=kvrw{n},path={d},security_model=none"),
            "-device".into(),
            format!("virtio-9p-pci,fsdev=kvrw{n},mount_tag=kvrw{n}"),
        ]);
        rwdirs.push_str(&format!("kvrw{n} {d}\n"));
    }
    fs::write(job.join("rwdirs"), rwdirs)?;
    fs::write(job.join("keepdirs"), keep_dirs(commands)?)?;
    let console = job.join("console.log");

    let mut q = Command::new("qemu-system-x86_64");
    q.args(accel_args(&opts.accel)?)
        .args(["-smp", &opts.smp, "-m", &opts.mem])
        .args(["-nodefaults", "-display", "none", "-no-reboot"])
        .arg("-kernel")
        .arg(&assets.kernel)
        .arg("-initrd")
        .arg(&assets.initrd)
        .arg("-append")
        .arg(format!(
            "console=ttyS0 panic=-1 oops=panic quiet kv.mode=run kv.job={job_str}"
        ))
        .arg("-chardev")
        .arg(format!("file,id=kvcon,path={}", console.display()))
        .args(["-serial", "chardev:kvcon"])
        .args([
            "-chardev",
            "stdio,id=kvout,signal=off",
            "-serial",
            "chardev:kvout",
        ])
        .args([
            "-fsdev",
            "local,id=kvroot,path=/,security_model=none,readonly=on,multidevs=remap",
            "-device",
            "virtio-9p-pci,fsdev=kvroot,mount_tag=kvroot",
        ])
        .arg("-fsdev")
        .arg(format!("local,id=kvjob,path={job_str},security_model=none"))
        .args(["-device", "virtio-9p-pci,fsdev=kvjob,mount_tag=kvjob"])
        .args(&rw_args)
        .stdin(Stdio::null());
    if opts.verbose {
        eprintln!(
            "xtask kvm: booting {} (smp {}, mem {})",
            assets.description, opts.smp, opts.mem
        );
    }
    let t0 = Instant::now();
    let mut child = q.spawn().context("starting qemu-system-x86_64")?;
    // The guest enforces the job's timeout; this one catches a guest that hangs.
    let host_limit = Duration::from_secs(opts.timeout_s.max(1) + 120);
    let qstatus = loop {
        if let Some(st) = child.try_wait()? {
            break Some(st);
        }
        if opts.timeout_s > 0 && t0.elapsed() > host_limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let elapsed = t0.elapsed();
    if opts.verbose {
        eprintln!("xtask kvm: qemu exited ({qstatus:?}) after {elapsed:.2?}");
        if let Ok(log) = fs::read_to_string(&console) {
            for l in log.lines().filter(|l| l.starts_with("KV:")) {
                eprintln!("{}", l.trim_end());
            }
        }
    }
    let rc = fs::read_to_string(job.join("rc"))
        .ok()
        .and_then(|s| s.trim().parse::<i32>().ok());
    match rc {
        Some(rc) => {
            if rc == 137 {
                eprintln!(
                    "xtask kvm: the job was killed after KV_TIMEOUT={}s",
                    opts.timeout_s
                );
            }
            Ok(VmResult { rc, elapsed })
        }
        None => {
            let log = fs::read(&console).unwrap_or_default();
            let tail = &log[log.len().saturating_sub(4000)..];
            eprintln!(
                "xtask kvm: guest console tail:\n{}",
                String::from_utf8_lossy(tail).replace('\r', "")
            );
            match qstatus {
                None => bail!("the guest hung: killed after {host_limit:?}"),
                Some(st) => bail!("the guest brought back no exit status (qemu: {st})"),
            }
        }
    }
}

/// `cargo xtask kvm-run BINARY [ARGS...]`: exits with the binary's status, 125 when the guest
/// failed.
pub fn kvm_run(args: &[String]) -> Result<()> {
    let Some(bin) = args.first() else {
        bail!("usage: cargo xtask kvm-run BINARY [ARGS...]");
    };
    let path = if bin.contains('/') {
        PathBuf::from(bin)
    } else {
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
            .map(|d| d.join(bin))
            .find(|p| p.is_file())
            .with_context(|| format!("not found: {bin}"))?
    };
    let path = fs::canonicalize(&path).with_context(|| format!("not found: {bin}"))?;
    let mut cmd = vec![path.to_str().context("non-UTF-8 path")?.to_owned()];
    cmd.extend(args[1..].iter().cloned());
    match run_in_vm(&[cmd], &VmOptions::from_env()) {
        Ok(r) => std::process::exit(r.rc),
        Err(e) => {
            eprintln!("xtask kvm-run: {e:#}");
            std::process::exit(125);
        }
    }
}

/// The test binaries `cargo test ARGS --no-run --message-format=json` builds.
fn build_test_binaries(cargo_args: &[&str]) -> Result<Vec<String>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let out = Command::new(cargo)
        .arg("test")
        .args(cargo_args)
        .args(["--no-run", "--message-format=json-render-diagnostics"])
        .stderr(Stdio::inherit())
        .output()
        .context("starting cargo test --no-run")?;
    if !out.status.success() {
        bail!("building the kernel-tier tests failed ({})", out.status);
    }
    let mut bins = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if v["reason"] == "compiler-artifact"
            && v["profile"]["test"] == true
            && let Some(exe) = v["executable"].as_str()
        {
            bins.push(exe.to_owned());
        }
    }
    if bins.is_empty() {
        bail!("cargo built no test binary for {cargo_args:?}");
    }
    Ok(bins)
}

/// The test targets of the kernel tier: every one whose name starts with `kernel` (a cargo
/// target pattern).
const KERNEL_TIER_TESTS: &str = "kernel*";

/// `cargo xtask kernel-test [--bench] [--release] [--keep] [--verbose] [-- TEST-ARGS...]`.
pub fn kernel_test(args: &[String]) -> Result<()> {
    let (flags, test_args) = match args.iter().position(|a| a == "--") {
        Some(i) => (&args[..i], &args[i + 1..]),
        None => (args, &[][..]),
    };
    let mut opts = VmOptions::from_env();
    let mut bench = false;
    let mut release = false;
    for f in flags {
        match f.as_str() {
            "--bench" => bench = true,
            "--release" => release = true,
            "--keep" => opts.keep = true,
            "--verbose" | "-v" => opts.verbose = true,
            other => bail!("kernel-test: unknown flag {other:?}"),
        }
    }
    let t = Instant::now();
    let mut cargo_args = vec!["--workspace", "--test", KERNEL_TIER_TESTS];
    if release {
        cargo_args.push("--release");
    }
    let bins = build_test_binaries(&cargo_args)?;
    let mut commands = Vec::new();
    for b in &bins {
        let mut c = vec![b.clone()];
        c.extend(test_args.iter().cloned());
        commands.push(c);
        if bench {
            commands.push(vec![
                b.clone(),
                "--ignored".into(),
                "--nocapture".into(),
                "--test-threads=1".into(),
                "bench_".into(),
            ]);
        }
    }
    eprintln!(
        "xtask kernel-test: running {} in the kernel VM",
        bins.join(" ")
    );
    let r = run_in_vm(&commands, &opts)?;
    eprintln!(
        "xtask kernel-test: guest exited with {} after {:.1?} (total {:.1?})",
        r.rc,
        r.elapsed,
        t.elapsed()
    );
    if r.rc != 0 {
        bail!(
            "the kernel-tier tests failed in the VM (exit status {})",
            r.rc
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_script_runs_every_command_and_keeps_the_first_failure() {
        let s = job_script(&[vec!["/bin/a".into(), "x y".into()], vec!["/bin/b".into()]]).unwrap();
        assert!(s.contains("KV_IN_GUEST=1"));
        assert!(s.contains("/bin/a 'x y'\nr=$?; [ \"$rc\" = 0 ] && rc=$r\n"));
        assert!(s.contains("/bin/b\n"));
        assert!(s.ends_with("exit $rc\n"));
    }

    #[test]
    fn folders_under_the_guest_tmpfs_are_kept() {
        let list = keep_list(vec![
            PathBuf::from("/tmp/ci/target/debug/deps"),
            PathBuf::from("/tmp/ci"),
            PathBuf::from("/work/main"),
            PathBuf::from("/var/tmp/x"),
            PathBuf::from("/tmp"),
        ]);
        assert_eq!(list, "/tmp/ci\n/var/tmp/x\n");
    }
}
