//! Debian's `ovs-appctl` against our `vswitchd`: target resolution through the pidfile,
//! built-in commands, logging control, reload, errors and exit.

mod common;

use common::*;

fn need_appctl() -> bool {
    tests::have("ovs-appctl")
}

#[test]
fn appctl_commands() {
    tests::require!(
        need_appctl(),
        "needs ovs-appctl (Debian's openvswitch-common)"
    );
    let env = Env::new();
    let mut d = env.start(&[]);

    let r = env.appctl(&["version"]);
    assert_eq!(r.rc, 0, "{r:?}");
    assert!(r.stdout.contains("Open vSwitch"), "{r:?}");
    assert!(r.stdout.trim_end().ends_with(" 3.1.0"), "{r:?}");

    let r = env.appctl(&["list-commands"]);
    assert_eq!(r.rc, 0);
    assert!(
        r.stdout.starts_with("The available commands are:\n"),
        "{r:?}"
    );
    for cmd in [
        "  exit                    [--cleanup]\n",
        "  vlog/set                {spec | PATTERN:destination:pattern}\n",
        "  coverage/show           \n",
        "  memory/show             \n",
        "  reload                  ",
    ] {
        assert!(r.stdout.contains(cmd), "missing {cmd:?} in {}", r.stdout);
    }

    let r = env.appctl(&["vlog/set", "bridge:file:warn"]);
    assert_eq!((r.rc, r.stdout.as_str()), (0, ""), "{r:?}");
    let r = env.appctl(&["vlog/list"]);
    assert!(
        r.stdout.starts_with(
            "                 console    syslog    file\n                 -------    ------    ------\n"
        ),
        "{r:?}"
    );
    assert!(
        r.stdout
            .contains("\nbridge             OFF        OFF       WARN\n"),
        "{r:?}"
    );
    let r = env.appctl(&["vlog/set", "nosuch:dbg"]);
    assert_eq!(r.rc, 2);
    assert!(
        r.stderr
            .contains("no destination, level, or module \"nosuch\""),
        "{r:?}"
    );

    let r = env.appctl(&["nosuch/cmd"]);
    assert_eq!(r.rc, 2);
    assert_eq!(
        r.stderr,
        "\"nosuch/cmd\" is not a valid command (use \"list-commands\" to see a list of valid \
         commands)\novs-appctl: ovs-vswitchd: server returned an error\n"
    );
    let r = env.appctl(&["version", "extra"]);
    assert_eq!(r.rc, 2);
    assert!(
        r.stderr
            .starts_with("\"version\" command takes at most 0 arguments\n"),
        "{r:?}"
    );

    let r = env.appctl(&["coverage/show"]);
    assert_eq!(r.rc, 0);
    assert!(
        r.stdout
            .starts_with("Event coverage, avg rate over last: 5 seconds"),
        "{r:?}"
    );
    assert!(r.stdout.contains("unixctl_received"), "{r:?}");
    assert!(r.stdout.ends_with(" events never hit\n"), "{r:?}");
    assert_eq!(env.appctl(&["memory/show"]).rc, 0);

    let r = env.appctl(&["reload"]);
    assert_eq!(r.rc, 0, "{r:?}");
    assert!(r.stdout.contains("configuration unchanged"), "{r:?}");

    // exit: the daemon stops, removing its pidfile and socket; ovs-appctl with an explicit
    // socket path works too.
    let ctl = d.ctl.display().to_string();
    let r = env.appctl(&["-t", &ctl, "exit"]);
    assert_eq!((r.rc, r.stdout.as_str()), (0, ""), "{r:?}");
    assert_eq!(d.wait_exit().0, 0);
    assert!(!env.pidfile().exists());
    assert!(!d.ctl.exists());
    let r = env.appctl(&["version"]);
    assert_eq!(r.rc, 1, "{r:?}");
}

#[test]
fn config_edits() {
    tests::require!(
        need_appctl(),
        "needs ovs-appctl (Debian's openvswitch-common)"
    );
    let env = Env::new();
    let _d = env.start(&[]);
    let cfg = env.path("c.toml");

    // A bad edit is refused: reload reports the line and field, the daemon keeps answering.
    std::fs::write(&cfg, format!("{CONFIG}ofport_request = 0\n")).unwrap();
    let r = env.appctl(&["reload"]);
    assert_eq!(r.rc, 2, "{r:?}");
    assert!(
        r.stderr.contains("line 10") && r.stderr.contains("ofport_request"),
        "{r:?}"
    );
    assert!(
        r.stderr.contains("keeping the previous configuration"),
        "{r:?}"
    );
    assert!(env.log().contains("|ERR|"), "{}", env.log());
    assert_eq!(env.appctl(&["version"]).rc, 0);

    // A good edit is picked up without reload (the file is watched).
    std::fs::write(
        &cfg,
        format!("{CONFIG}\n[[bridge.port]]\nname = \"p2\"\ninterface = {{ type = \"dummy\" }}\n"),
    )
    .unwrap();
    wait_until("the new configuration in the log", || {
        env.log()
            .contains("configuration reloaded: 1 bridges, 2 ports")
    });
    let r = env.appctl(&["reload"]);
    assert!(r.stdout.contains("unchanged"), "{r:?}");

    // Garbage replaces the file: the watcher logs the error once and keeps the config.
    std::fs::write(&cfg, "this is [not toml").unwrap();
    wait_until("the error in the log", || {
        env.log()
            .matches("keeping the previous configuration")
            .count()
            >= 2
    });
    let r = env.appctl(&["reload"]);
    assert_eq!(r.rc, 2, "{r:?}");
    assert_eq!(env.appctl(&["version"]).rc, 0);
}

#[test]
fn vlog_reopen_and_close() {
    tests::require!(
        need_appctl(),
        "needs ovs-appctl (Debian's openvswitch-common)"
    );
    let env = Env::new();
    let _d = env.start(&[]);
    let log = env.path("ovs-vswitchd.log");
    std::fs::rename(&log, env.path("old.log")).unwrap();
    let r = env.appctl(&["vlog/reopen"]);
    assert_eq!(r.rc, 0, "{r:?}");
    assert!(env.log().contains("opened log file"));
    assert_eq!(env.appctl(&["vlog/close"]).rc, 0);
    let r = env.appctl(&["vlog/list-pattern"]);
    assert!(r.stdout.contains("FILE     none"), "{r:?}");
}
