//! The workspace: building our `vswitchd`, finding the target directory, and the private
//! working directories of a run.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, anyhow, bail};

use crate::cleanup::{self, Guard};
use crate::cmd::Cmd;

/// The `cargo` that runs us (`$CARGO`), or `cargo` from `PATH`.
pub fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned())
}

/// The workspace root and target directory, from `cargo metadata`.
///
/// # Errors
///
/// If cargo cannot run or prints something unexpected.
pub fn metadata() -> Result<(PathBuf, PathBuf)> {
    let out = Command::new(cargo())
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .output()
        .context("running cargo metadata")?;
    if !out.status.success() {
        bail!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).context("parsing cargo metadata")?;
    let get = |k: &str| {
        v.get(k)
            .and_then(|p| p.as_str())
            .map(PathBuf::from)
            .ok_or_else(|| anyhow!("cargo metadata has no {k}"))
    };
    Ok((get("workspace_root")?, get("target_directory")?))
}

/// Builds `vswitchd` in release mode and returns its path.
///
/// # Errors
///
/// If the build fails.
pub fn build_vswitchd() -> Result<PathBuf> {
    build_vswitchd_with(&[])
}

/// [`build_vswitchd`] with cargo `features` (e.g. `dpdk`).
///
/// # Errors
///
/// As [`build_vswitchd`].
pub fn build_vswitchd_with(features: &[&str]) -> Result<PathBuf> {
    let (_, target) = metadata()?;
    let mut c = Cmd::new(cargo()).args(["build", "--release", "-p", "vswitchd"]);
    if !features.is_empty() {
        c = c.args(["--features", &features.join(",")]);
    }
    c.timeout(std::time::Duration::from_secs(3600))
        .run_shown()
        .context("building vswitchd")?;
    let bin = target.join("release").join("vswitchd");
    if !bin.is_file() {
        bail!("{} is missing after the build", bin.display());
    }
    Ok(bin)
}

/// The short commit of the workspace, if it is a git checkout.
pub fn git_commit(root: &Path) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["rev-parse", "--short", "HEAD"])
        .output()
        .ok()?;
    let s = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    (out.status.success() && !s.is_empty()).then_some(s)
}

/// Copies the `*.log` files of `src` to `dest` (made if needed) as `<prefix>-<name>`, so a
/// failed switch's logs outlive the run's private directory. Returns the copies.
pub fn keep_logs(src: &Path, dest: &Path, prefix: &str) -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(src) else {
        return Vec::new();
    };
    let mut kept = Vec::new();
    for e in rd.filter_map(|e| e.ok()) {
        let p = e.path();
        if p.extension().is_some_and(|x| x == "log")
            && let Some(name) = p.file_name().and_then(|n| n.to_str())
        {
            let to = dest.join(format!("{prefix}-{name}"));
            if std::fs::create_dir_all(dest).is_ok() && std::fs::copy(&p, &to).is_ok() {
                kept.push(to);
            }
        }
    }
    kept.sort();
    kept
}

/// A private directory for one run (`/tmp/<prefix>`), removed on drop.
pub struct WorkDir {
    /// Its path.
    pub path: PathBuf,
    _guard: Guard,
}

impl WorkDir {
    /// Makes `<tmp>/<prefix>`.
    ///
    /// # Errors
    ///
    /// If it exists already or cannot be made.
    pub fn create(prefix: &str) -> Result<WorkDir> {
        let path = std::env::temp_dir().join(prefix);
        std::fs::create_dir(&path).with_context(|| {
            format!(
                "creating {} (left over from an earlier run? `cargo xtask clean` removes it)",
                path.display()
            )
        })?;
        let p = path.clone();
        let guard = cleanup::register(format!("directory {}", path.display()), move || {
            if let Err(e) = std::fs::remove_dir_all(&p)
                && e.kind() != std::io::ErrorKind::NotFound
            {
                eprintln!("xtask: cleanup: removing {}: {e}", p.display());
            }
        });
        let guard = match guard {
            Ok(g) => g,
            Err(e) => {
                let _ = std::fs::remove_dir(&path);
                return Err(e);
            }
        };
        Ok(WorkDir {
            path,
            _guard: guard,
        })
    }
}
