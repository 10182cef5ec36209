//! The `vswitchd` binary's command line, pidfile, `--detach` and signals (no OVS tools
//! needed).

mod common;

use common::*;
use nix::sys::signal::Signal;
use vswitchd::pidfile::read_pidfile;

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn version_and_help() {
    let env = Env::new();
    let o = env.run(&["--version"]);
    assert!(o.status.success());
    let v = String::from_utf8_lossy(&o.stdout);
    let line = v.lines().find(|l| l.contains("Open vSwitch")).unwrap();
    // Debian's ovs-ctl takes the last word of this line as the version.
    assert_eq!(line.rsplit(' ').next(), Some("3.1.0"), "{v}");
    let o = env.run(&["-h"]);
    assert!(o.status.success());
    let h = String::from_utf8_lossy(&o.stdout);
    assert!(h.contains("--pidfile[=FILE]"), "{h}");
    assert!(h.contains(&env.pidfile().display().to_string()), "{h}");
}

#[test]
fn command_line_errors() {
    let env = Env::new();
    for (args, want) in [
        (vec!["--bogus"], "unrecognized option '--bogus'"),
        (vec!["ssl:127.0.0.1:6640"], "not supported"),
        (vec!["tcp:localhost"], "tcp: needs IP:PORT"),
        (vec!["http:x"], "unknown database type"),
        (vec!["a", "b"], "at most one non-option argument"),
        (vec!["file:/x.toml", "-vnosuch"], "processing \"nosuch\""),
    ] {
        let o = env.run(&args);
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        assert!(stderr(&o).contains(want), "{args:?}: {}", stderr(&o));
    }
}

#[test]
fn bad_config_file_is_refused_at_startup() {
    let env = Env::new();
    std::fs::write(
        env.path("bad.toml"),
        "[[bridge]]\nname = \"br0\"\ntag = 5\n",
    )
    .unwrap();
    let arg = format!("file:{}", env.path("bad.toml").display());
    let o = env.run(&[&arg, "--pidfile", "--detach"]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(e.contains("bad.toml: line 3") && e.contains("tag"), "{e}");
    assert!(!env.pidfile().exists());
    let o = env.run(&["file:/nonexistent/c.toml"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("/nonexistent/c.toml"), "{}", stderr(&o));
}

#[test]
fn foreground_pidfile_socket_and_sigterm() {
    let env = Env::new();
    let mut d = env.start(&[]);
    // The pidfile holds our pid and is locked by it, as ovs-appctl checks.
    let text = std::fs::read_to_string(env.pidfile()).unwrap();
    assert_eq!(text, format!("{}\n", d.pid));
    assert_eq!(
        read_pidfile(&env.pidfile()).unwrap(),
        Some(i32::try_from(d.pid).unwrap())
    );
    let v = request(&d.ctl, "version", &[]);
    assert!(v["result"].as_str().unwrap().contains("Open vSwitch"));

    // A second daemon refuses to start while the first holds the pidfile.
    let o = env.run(&[&env.config_arg(), "--pidfile"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains(&format!("already running as pid {}", d.pid)),
        "{}",
        stderr(&o)
    );

    d.signal(Signal::SIGTERM);
    let (rc, _) = d.wait_exit();
    assert_eq!(rc, 0);
    assert!(!env.pidfile().exists(), "pidfile left behind");
    assert!(!d.ctl.exists(), "socket left behind");
}

#[test]
fn stale_pidfile_and_overwrite() {
    let env = Env::new();
    std::fs::write(env.pidfile(), "999999\n").unwrap();
    let d = env.start(&[]);
    assert_eq!(
        read_pidfile(&env.pidfile()).unwrap(),
        Some(i32::try_from(d.pid).unwrap())
    );
    // --overwrite-pidfile starts even though d holds the pidfile.
    let d2 = env.start(&["--overwrite-pidfile"]);
    assert_eq!(
        read_pidfile(&env.pidfile()).unwrap(),
        Some(i32::try_from(d2.pid).unwrap())
    );
    // The first daemon does not remove the second one's pidfile when it exits.
    request(&d.ctl, "exit", &[]);
    wait_until("first daemon to exit", || !d.alive());
    assert!(env.pidfile().exists());
    request(&d2.ctl, "exit", &[]);
    wait_until("second daemon to exit", || !d2.alive());
    assert!(!env.pidfile().exists());
}

#[test]
fn detach_returns_when_ready() {
    let env = Env::new();
    let o = env.run(&[
        &env.config_arg(),
        "--pidfile",
        "--detach",
        "--log-file",
        "--no-chdir",
        "--monitor",
        "--mlockall",
        "--no-self-confinement",
        "-vconsole:emer",
        "-vsyslog:off",
        "-vfile:info",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    // Ready means: pidfile written and locked by the daemon, control socket listening.
    let pid = read_pidfile(&env.pidfile())
        .unwrap()
        .expect("pidfile not locked");
    let pid = u32::try_from(pid).unwrap();
    let d = Daemon {
        child: None,
        pid,
        ctl: env.ctl(pid),
    };
    assert!(d.alive());
    let v = request(&d.ctl, "version", &[]);
    assert!(v["error"].is_null());
    // It runs in its own session.
    let sid = nix::unistd::getsid(Some(nix::unistd::Pid::from_raw(
        i32::try_from(pid).unwrap(),
    )))
    .unwrap();
    assert_eq!(sid.as_raw(), i32::try_from(pid).unwrap());
    assert!(env.log().contains("|vswitchd|INFO|"), "{}", env.log());
    let v = request(&d.ctl, "exit", &[]);
    assert_eq!(v["result"], "");
    wait_until("daemon to exit", || !d.alive());
    assert!(!env.pidfile().exists());
    assert!(!d.ctl.exists());
}

#[test]
fn detach_reports_a_failing_child() {
    let env = Env::new();
    let d = env.start(&[]);
    // The child fails on the locked pidfile after the fork; the parent exits non-zero.
    let o = env.run(&[&env.config_arg(), "--pidfile", "--detach"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("already running"), "{}", stderr(&o));
    drop(d);
}

#[test]
fn sighup_reopens_the_log_file() {
    let env = Env::new();
    let mut d = env.start(&[]);
    let log = env.path("ovs-vswitchd.log");
    std::fs::rename(&log, env.path("ovs-vswitchd.log.1")).unwrap();
    d.signal(Signal::SIGHUP);
    wait_until("a new log file", || log.exists());
    assert!(env.log().contains("opened log file"), "{}", env.log());
    d.signal(Signal::SIGINT);
    assert_eq!(d.wait_exit().0, 0);
}

#[test]
fn unixctl_option() {
    let env = Env::new();
    let cfg = env.config_arg();
    let mut child = env
        .command(&[&cfg, "--unixctl=my.ctl", "-vconsole:off", "-vsyslog:off"])
        .spawn()
        .unwrap();
    let ctl = env.path("my.ctl");
    wait_until("my.ctl", || {
        std::os::unix::net::UnixStream::connect(&ctl).is_ok()
    });
    assert!(!env.pidfile().exists(), "no pidfile without --pidfile");
    let v = request(&ctl, "exit", &["--cleanup"]);
    assert_eq!(v["result"], "");
    assert!(child.wait().unwrap().success());
    assert!(!ctl.exists());
}
