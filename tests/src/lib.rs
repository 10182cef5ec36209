//! Helpers for the end-to-end tests in `tests/tests/`: a private network namespace per test,
//! veth pairs, and the `require!` macro that skips loudly outside CI and fails in CI.

use std::fs::File;
use std::os::fd::AsFd;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

use nix::sched::{CloneFlags, setns, unshare};

/// Whether the tests run in CI (`CI=true`), where a test that cannot run must fail.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Whether this process runs as root.
pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// Skips the test (returns from it) with a loud `SKIP` line when `cond` is false; in CI
/// (`CI=true`) fails it instead, because there a test that cannot run is a failure.
#[macro_export]
macro_rules! require {
    ($cond:expr, $($reason:tt)+) => {
        if !$cond {
            let reason = format!($($reason)+);
            if $crate::in_ci() {
                panic!("test cannot run in CI: {reason}");
            }
            eprintln!("SKIP {}: {reason}", module_path!());
            return;
        }
    };
}

/// Skips (or, in CI, fails) unless running as root with network namespaces available.
#[macro_export]
macro_rules! require_root {
    () => {
        $crate::require!($crate::is_root(), "needs root (network namespaces, veth)");
        $crate::require!(
            std::path::Path::new("/proc/self/ns/net").exists(),
            "needs network namespaces"
        );
        $crate::require!($crate::have("ip"), "needs the ip command (iproute2)");
    };
}

/// Whether `command` is on `PATH` (or in `/usr/sbin`, `/sbin`).
pub fn have(command: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(command).is_file()))
        || ["/usr/sbin", "/sbin"]
            .iter()
            .any(|d| std::path::Path::new(d).join(command).is_file())
}

/// Whether this process runs inside the kernel VM of `cargo xtask kernel-test` (the guest
/// sets `KV_IN_GUEST=1`).
pub fn in_kernel_vm() -> bool {
    std::env::var("KV_IN_GUEST").is_ok_and(|v| v == "1")
}

/// Whether the kernel datapath (`openvswitch.ko`) is loaded in this kernel: its
/// `ovs_datapath` generic netlink family resolves.
pub fn have_kernel_datapath() -> bool {
    dpif::kernel::available()
}

/// Skips a kernel-tier test loudly unless the kernel datapath is there and this is root.
///
/// The kernel tier runs inside the kernel VM through `cargo xtask kernel-test` (CI runs that
/// too, and fails if the VM cannot run). Outside the VM, on a host without `openvswitch.ko`,
/// the test skips even in CI, because `kernel-test` is where CI runs it; inside the VM a
/// missing datapath is a failure.
#[macro_export]
macro_rules! require_kernel_datapath {
    () => {
        if $crate::in_kernel_vm() {
            assert!($crate::is_root(), "the kernel VM runs tests as root");
            assert!(
                $crate::have_kernel_datapath(),
                "openvswitch.ko is not loaded in the kernel VM"
            );
        } else if !($crate::is_root() && $crate::have_kernel_datapath()) {
            eprintln!(
                "SKIP {}: needs root and the kernel datapath (openvswitch.ko); run the kernel \
                 tier with `cargo xtask kernel-test`",
                module_path!()
            );
            return;
        }
    };
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A unique interface or namespace name: `<prefix><pid mod 10^5>x<n>`, at most 15 bytes for
/// a prefix of up to 4 bytes.
pub fn unique_name(prefix: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}{}x{n}", std::process::id() % 100_000)
}

/// Runs a command and returns its output; panics with the command line and its stderr if it
/// cannot start or exits non-zero.
pub fn run(cmd: &str, args: &[&str]) -> Output {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd}: {e}"));
    assert!(
        out.status.success(),
        "{cmd} {} failed ({}): {}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs `ip` with `args`, panicking on failure.
pub fn ip(args: &[&str]) -> String {
    String::from_utf8_lossy(&run("ip", args).stdout).into_owned()
}

/// The calling thread moved into a fresh, private network namespace, for as long as the
/// guard lives.
///
/// Everything the test makes in it (veth pairs, TAP devices) disappears with the namespace
/// when the guard drops and the thread returns to its original namespace, also when the test
/// fails. Child processes the thread starts (`ip`, `ping`) run in the namespace too, and so do
/// threads it spawns.
///
/// `!Send`: a network namespace belongs to a thread.
pub struct NetNs {
    original: File,
    _not_send: std::marker::PhantomData<*const ()>,
}

impl NetNs {
    /// Moves the calling thread into a new network namespace with `lo` up.
    ///
    /// # Panics
    ///
    /// If the namespace cannot be made (not root).
    pub fn new() -> NetNs {
        let original =
            File::open("/proc/thread-self/ns/net").expect("open /proc/thread-self/ns/net");
        unshare(CloneFlags::CLONE_NEWNET).expect("unshare(CLONE_NEWNET) (needs root)");
        let ns = NetNs {
            original,
            _not_send: std::marker::PhantomData,
        };
        ip(&["link", "set", "lo", "up"]);
        ns
    }

    /// Makes a veth pair `a`–`b`, both up.
    pub fn veth(&self, a: &str, b: &str) {
        ip(&["link", "add", a, "type", "veth", "peer", "name", b]);
        ip(&["link", "set", a, "up"]);
        ip(&["link", "set", b, "up"]);
    }
}

impl Default for NetNs {
    fn default() -> Self {
        NetNs::new()
    }
}

impl Drop for NetNs {
    fn drop(&mut self) {
        // Returning to the original namespace drops the last reference to ours, and the
        // kernel deletes it with every device in it.
        if let Err(e) = setns(self.original.as_fd(), CloneFlags::CLONE_NEWNET) {
            eprintln!("NetNs: cannot return to the original namespace: {e}");
        }
    }
}
