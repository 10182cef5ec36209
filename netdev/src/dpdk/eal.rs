//! The DPDK Environment Abstraction Layer: initialised once per process, from the
//! `Open_vSwitch` table's `other_config` (`dpdk-init`, `dpdk-extra`), as OVS does.
//!
//! The EAL cannot be initialised twice in one process (a second `rte_eal_init` fails even
//! after `rte_eal_cleanup`), so its outcome lives in one process-wide [`OnceLock`]: the one
//! piece of global state of this crate, because the EAL itself is global.

use std::sync::OnceLock;

use crate::provider::Options;

/// What initialising the EAL gave: `Ok` with the arguments used, or why it failed.
static EAL: OnceLock<Result<Vec<String>, String>> = OnceLock::new();

/// The state of the EAL in this process.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EalState {
    /// Not initialised (no `dpdk-init=true` seen yet).
    Uninitialized,
    /// Running, initialised with these arguments.
    Running(Vec<String>),
    /// Initialisation failed, for this reason; it cannot be retried in this process.
    Failed(String),
}

/// The state of the EAL in this process.
pub fn state() -> EalState {
    match EAL.get() {
        None => EalState::Uninitialized,
        Some(Ok(args)) => EalState::Running(args.clone()),
        Some(Err(e)) => EalState::Failed(e.clone()),
    }
}

/// Whether `other_config` asks for DPDK: `dpdk-init` is `true` or `try`.
pub fn wanted(other_config: &Options) -> bool {
    matches!(
        other_config.get("dpdk-init").map(String::as_str),
        Some("true" | "try")
    )
}

/// Splits `dpdk-extra` into arguments, on white space (as OVS does).
pub fn split_extra(extra: &str) -> Vec<String> {
    extra.split_whitespace().map(str::to_owned).collect()
}

/// Whether `args` holds option `opt` (`--opt`, `--opt=value`, or `-o` given as `opt`).
fn has_opt(args: &[String], opt: &str) -> bool {
    args.iter().any(|a| {
        a == opt
            || a.strip_prefix(opt)
                .is_some_and(|rest| rest.starts_with('=') || (!opt.starts_with("--")))
    })
}

/// CPU list text (`0-1`, `0,2-3`) for a sorted list of CPU numbers.
pub fn cpu_list(cpus: &[usize]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while let Some(&start) = cpus.get(i) {
        let mut end = start;
        while cpus.get(i + 1) == Some(&(end + 1)) {
            end += 1;
            i += 1;
        }
        out.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
        i += 1;
    }
    out.join(",")
}

/// The EAL arguments for `other_config`: the program name, the words of `dpdk-extra`, then
/// what this switch needs and the user did not give: a `--file-prefix` unique to the
/// process (`rovs-<pid>`), `--no-shconf` (no files shared with other DPDK processes), one
/// lcore allowed on every CPU the process may use (`--lcores=0@(<cpus>)`, so the threads
/// started later are not pinned to one CPU), `--no-telemetry`, and EAL logs at `error`.
pub fn args(other_config: &Options, pid: u32, cpus: &[usize]) -> Vec<String> {
    let extra = other_config
        .get("dpdk-extra")
        .map(|s| split_extra(s))
        .unwrap_or_default();
    let mut args = vec!["rovs-vswitchd".to_owned()];
    args.extend(extra.iter().cloned());
    if !has_opt(&extra, "--file-prefix") {
        args.push(format!("--file-prefix=rovs-{pid}"));
    }
    if !has_opt(&extra, "--no-shconf") {
        args.push("--no-shconf".to_owned());
    }
    if !["-l", "-c", "--lcores"].iter().any(|o| has_opt(&extra, o)) && !cpus.is_empty() {
        args.push(format!("--lcores=0@({})", cpu_list(cpus)));
    }
    if !has_opt(&extra, "--no-telemetry") && !has_opt(&extra, "--telemetry") {
        args.push("--no-telemetry".to_owned());
    }
    if !has_opt(&extra, "--log-level") {
        args.push("--log-level=lib.eal:error".to_owned());
    }
    args
}

/// The `--file-prefix` in `args`, if any.
pub fn file_prefix(args: &[String]) -> Option<&str> {
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if let Some(v) = a.strip_prefix("--file-prefix=") {
            return Some(v);
        }
        if a == "--file-prefix" {
            return it.next().map(String::as_str);
        }
    }
    None
}

/// The CPUs this process may run on.
fn allowed_cpus() -> Vec<usize> {
    match nix::sched::sched_getaffinity(nix::unistd::Pid::from_raw(0)) {
        Ok(set) => (0..nix::sched::CpuSet::count())
            .filter(|&c| set.is_set(c).unwrap_or(false))
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// The EAL's runtime directory for `prefix` (`/var/run/dpdk/<prefix>` for root).
fn runtime_dir(prefix: &str) -> std::path::PathBuf {
    let base = if nix::unistd::geteuid().is_root() {
        std::path::PathBuf::from("/var/run")
    } else {
        std::env::var_os("XDG_RUNTIME_DIR").map_or_else(
            || std::path::PathBuf::from("/tmp"),
            std::path::PathBuf::from,
        )
    };
    base.join("dpdk").join(prefix)
}

/// Initialises the EAL from `other_config` if it asks for DPDK and this process has not
/// tried yet. With `--no-shconf` nothing in the EAL's runtime directory is used after
/// initialisation, so the directory is removed at once (it would otherwise stay behind
/// after the process exits).
///
/// # Errors
///
/// Why initialisation failed, now or at the first try (it cannot be retried).
pub fn init(other_config: &Options) -> Result<(), String> {
    if !wanted(other_config) {
        if let Some(Ok(_)) = EAL.get() {
            tracing::info!("DPDK stays initialized until the process restarts");
        }
        return match EAL.get() {
            Some(Err(e)) => Err(e.clone()),
            _ => Ok(()),
        };
    }
    let result = EAL.get_or_init(|| {
        let args = args(other_config, std::process::id(), &allowed_cpus());
        tracing::info!("DPDK: initializing EAL with {}", args.join(" "));
        let rc = super::sys::eal_init(&args);
        let prefix = file_prefix(&args).map(str::to_owned);
        if let Some(prefix) = prefix.filter(|p| !p.is_empty() && !p.contains('/')) {
            let _ = std::fs::remove_dir_all(runtime_dir(&prefix));
        }
        match rc {
            Ok(()) => {
                tracing::info!("DPDK: EAL initialized");
                Ok(args)
            }
            Err(errno) => {
                let msg = format!(
                    "DPDK initialization failed ({}) with EAL arguments \"{}\"",
                    nix::errno::Errno::from_raw(errno).desc(),
                    args.get(1..).unwrap_or_default().join(" ")
                );
                tracing::error!("{msg}");
                Err(msg)
            }
        }
    });
    match result {
        Ok(used) => {
            let now = args(other_config, std::process::id(), &allowed_cpus());
            if *used != now {
                tracing::warn!(
                    "DPDK: other_config changed; the EAL keeps its arguments until restart"
                );
            }
            Ok(())
        }
        Err(e) => Err(e.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn oc(pairs: &[(&str, &str)]) -> Options {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn defaults_are_added() {
        let a = args(
            &oc(&[
                ("dpdk-init", "true"),
                ("dpdk-extra", "--no-huge -m 64 --no-pci"),
            ]),
            42,
            &[0, 1],
        );
        assert_eq!(
            a,
            [
                "rovs-vswitchd",
                "--no-huge",
                "-m",
                "64",
                "--no-pci",
                "--file-prefix=rovs-42",
                "--no-shconf",
                "--lcores=0@(0-1)",
                "--no-telemetry",
                "--log-level=lib.eal:error",
            ]
        );
        assert_eq!(file_prefix(&a), Some("rovs-42"));
    }

    #[test]
    fn user_choices_win() {
        let a = args(
            &oc(&[(
                "dpdk-extra",
                "-l 1 --file-prefix=mine --no-shconf --telemetry --log-level=debug",
            )]),
            7,
            &[0, 1],
        );
        assert_eq!(
            a,
            [
                "rovs-vswitchd",
                "-l",
                "1",
                "--file-prefix=mine",
                "--no-shconf",
                "--telemetry",
                "--log-level=debug"
            ]
        );
        assert_eq!(file_prefix(&a), Some("mine"));
    }

    #[test]
    fn cpu_lists() {
        assert_eq!(cpu_list(&[0, 1]), "0-1");
        assert_eq!(cpu_list(&[0, 2, 3, 4, 7]), "0,2-4,7");
        assert_eq!(cpu_list(&[]), "");
    }

    #[test]
    fn init_is_wanted_only_when_asked() {
        assert!(wanted(&oc(&[("dpdk-init", "true")])));
        assert!(wanted(&oc(&[("dpdk-init", "try")])));
        assert!(!wanted(&oc(&[("dpdk-init", "false")])));
        assert!(!wanted(&oc(&[])));
    }

    proptest! {
        #[test]
        fn extra_words_survive(words in proptest::collection::vec("[!-~]{1,12}", 0..8)) {
            let extra = words.join(" ");
            prop_assert_eq!(split_extra(&extra), words.clone());
            let a = args(&oc(&[("dpdk-extra", &extra)]), 1, &[0]);
            prop_assert_eq!(&a[1..=words.len()], &words[..]);
            prop_assert!(file_prefix(&a).is_some());
        }

        #[test]
        fn arbitrary_extra_never_panics(extra in any::<String>(), cpus in proptest::collection::vec(0usize..1024, 0..8)) {
            let mut cpus = cpus;
            cpus.sort_unstable();
            cpus.dedup();
            let a = args(&oc(&[("dpdk-extra", &extra)]), 1, &cpus);
            prop_assert!(!a.is_empty());
            let _ = file_prefix(&a);
        }
    }
}
