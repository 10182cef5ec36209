//! `cargo xtask clean`: removes what earlier demo or bench runs left behind (after `--keep`,
//! or after being killed with SIGKILL): their daemons, namespaces and directories. It only
//! touches names that start with `rovs-<task>-<pid>` where process `<pid>` is gone, so a
//! demo or bench that is still running is left alone.

use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::cmd;
use crate::deps;
use crate::procfs;
use crate::topo::{self, switch::Daemon};

/// The harness directories in `dir` whose owner process is gone.
fn stale_dirs(dir: &Path) -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut v: Vec<PathBuf> = rd
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_str()
                .and_then(topo::owner_pid)
                .is_some_and(|pid| {
                    pid != std::process::id() && !procfs::pid_alive(i32::try_from(pid).unwrap_or(0))
                })
        })
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    v.sort();
    v
}

/// Pidfiles (`*.pid`) under `dir`, at most `depth` levels down.
fn pidfiles(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.filter_map(|e| e.ok()) {
        let p = e.path();
        if p.is_dir() && depth > 0 {
            pidfiles(&p, depth - 1, out);
        } else if p.extension().is_some_and(|x| x == "pid") {
            out.push(p);
        }
    }
}

/// The `clean` task.
///
/// # Errors
///
/// When not root.
pub fn run(_args: &[String]) -> Result<()> {
    deps::require_root("clean")?;
    cmd::set_echo(true);
    let dirs = stale_dirs(&std::env::temp_dir());
    let mut n = 0;
    for d in &dirs {
        let mut pids = Vec::new();
        pidfiles(d, 4, &mut pids);
        // Switches before their databases.
        pids.sort_by_key(|p| p.file_name().is_some_and(|f| f == "ovsdb-server.pid"));
        for p in pids {
            let (Some(stem), Some(rundir)) = (p.file_stem().and_then(|s| s.to_str()), p.parent())
            else {
                continue;
            };
            let daemon = Daemon::new(stem, rundir);
            if let Some(pid) = daemon.pid() {
                println!("  stopping {stem} (pid {pid}, {})", p.display());
                daemon.stop();
                n += 1;
            }
        }
    }
    for ns in topo::stale_namespaces() {
        topo::delete_netns(&ns);
        n += 1;
    }
    for d in &dirs {
        println!("  $ rm -rf {}", d.display());
        if let Err(e) = std::fs::remove_dir_all(d) {
            eprintln!("xtask: removing {}: {e}", d.display());
        }
        n += 1;
    }
    if n == 0 {
        println!("nothing to clean");
    }
    Ok(())
}
