//! Removing everything a task made: on success, on failure, and on Ctrl-C or SIGTERM.
//!
//! Every resource (a network namespace, a daemon, a temporary directory) is registered here
//! *before* it is made, as a cleanup action that tolerates the resource not existing. The
//! registration returns a [`Guard`]; dropping the guard runs the action. So an early return
//! with `?` or a panic cleans up through the guards, in reverse order of creation.
//!
//! [`install_signal_handler`] blocks SIGINT, SIGTERM and SIGHUP in the calling thread (call it
//! first in `main`, before any thread exists, so that every later thread inherits the mask)
//! and starts a thread that waits for them. On a signal that thread closes the registry (no
//! new resource may be registered, so the main thread cannot make one after the cleanup ran),
//! runs every remaining action, newest first, and exits with 128 + the signal number.
//! Children started with `std::process::Command` get an empty signal mask, so Ctrl-C still
//! reaches the tools running in the foreground.
//!
//! Actions run while the registry lock is held, so one action never runs twice or at the same
//! time as another; an action must therefore not register or drop guards itself.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};

use anyhow::{Result, bail};
use nix::sys::signal::{SigSet, Signal};

type Action = Box<dyn FnOnce() + Send>;

struct Entry {
    id: u64,
    what: String,
    action: Action,
}

struct Registry {
    next_id: u64,
    closed: bool,
    entries: Vec<Entry>,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    next_id: 1,
    closed: false,
    entries: Vec::new(),
});

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

fn registry() -> MutexGuard<'static, Registry> {
    // A panic inside an action must not stop the other actions from running.
    REGISTRY.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs its cleanup action when dropped (unless the action already ran, or [`keep_all`] was
/// called).
#[must_use = "dropping the guard runs the cleanup at once"]
#[derive(Debug)]
pub struct Guard {
    id: u64,
}

impl Drop for Guard {
    fn drop(&mut self) {
        let mut reg = registry();
        if let Some(pos) = reg.entries.iter().position(|e| e.id == self.id) {
            let entry = reg.entries.remove(pos);
            (entry.action)();
        }
    }
}

/// Registers `action` (described by `what`, for `--keep`'s listing) to run when the returned
/// guard drops, or when the process is interrupted.
///
/// # Errors
///
/// Once an interrupt started the cleanup: then the caller must not make the resource.
pub fn register(what: impl Into<String>, action: impl FnOnce() + Send + 'static) -> Result<Guard> {
    let mut reg = registry();
    if reg.closed {
        bail!("interrupted");
    }
    let id = reg.next_id;
    reg.next_id += 1;
    reg.entries.push(Entry {
        id,
        what: what.into(),
        action: Box::new(action),
    });
    Ok(Guard { id })
}

/// Forgets every registered action without running it (for `--keep`), and returns their
/// descriptions, oldest first.
pub fn keep_all() -> Vec<String> {
    let mut reg = registry();
    reg.entries.drain(..).map(|e| e.what).collect()
}

/// Whether SIGINT, SIGTERM or SIGHUP arrived.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Fails with "interrupted" once a signal arrived: call it between the steps of long tasks.
pub fn check() -> Result<()> {
    if interrupted() {
        bail!("interrupted");
    }
    Ok(())
}

/// Sleeps for `d`, waking early (with an error) on an interrupt.
pub fn sleep(d: std::time::Duration) -> Result<()> {
    let end = std::time::Instant::now() + d;
    loop {
        check()?;
        let now = std::time::Instant::now();
        if now >= end {
            return Ok(());
        }
        std::thread::sleep((end - now).min(std::time::Duration::from_millis(50)));
    }
}

fn run_all() {
    let mut reg = registry();
    reg.closed = true;
    while let Some(entry) = reg.entries.pop() {
        (entry.action)();
    }
}

/// Blocks SIGINT, SIGTERM and SIGHUP in the calling thread and starts the thread that cleans
/// up and exits when one arrives. Call it once, first thing in `main`.
///
/// # Errors
///
/// If the signal mask cannot be changed or the thread cannot start.
pub fn install_signal_handler() -> Result<()> {
    let mut set = SigSet::empty();
    set.add(Signal::SIGINT);
    set.add(Signal::SIGTERM);
    set.add(Signal::SIGHUP);
    set.thread_block()?;
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            let Ok(sig) = set.wait() else {
                return;
            };
            INTERRUPTED.store(true, Ordering::SeqCst);
            eprintln!(
                "\nxtask: {sig} received: cleaning up (further signals are ignored until done)"
            );
            run_all();
            eprintln!("xtask: cleanup done");
            std::process::exit(128 + sig as i32);
        })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn guards_run_once_in_reverse_order_and_keep_forgets() {
        let log = Arc::new(Mutex::new(Vec::new()));
        {
            let l = log.clone();
            let _a = register("a", move || l.lock().unwrap().push("a")).unwrap();
            let l = log.clone();
            let _b = register("b", move || l.lock().unwrap().push("b")).unwrap();
        }
        assert_eq!(*log.lock().unwrap(), ["b", "a"]);

        let n = Arc::new(AtomicUsize::new(0));
        let n2 = n.clone();
        let g = register("kept thing", move || {
            n2.fetch_add(1, Ordering::SeqCst);
        })
        .unwrap();
        let kept = keep_all();
        assert!(kept.iter().any(|w| w == "kept thing"));
        drop(g);
        assert_eq!(n.load(Ordering::SeqCst), 0);
    }
}
