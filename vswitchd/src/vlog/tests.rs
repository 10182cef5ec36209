use super::*;

fn quiet() -> Vlog {
    let v = Vlog::new();
    v.set_level(None, Some(Destination::Console), Level::Off)
        .unwrap();
    v.set_level(None, Some(Destination::Syslog), Level::Off)
        .unwrap();
    v
}

#[test]
fn spec_parsing() {
    let v = quiet();
    let s = v.parse_spec("bridge:file:warn").unwrap();
    assert_eq!(
        s,
        Spec {
            module: Some("bridge".into()),
            destination: Some(Destination::File),
            level: Level::Warn
        }
    );
    // Any order, any separator, case-insensitive; a missing level means dbg.
    let s = v.parse_spec("CONSOLE, Unixctl").unwrap();
    assert_eq!(s.module.as_deref(), Some("unixctl"));
    assert_eq!(s.destination, Some(Destination::Console));
    assert_eq!(s.level, Level::Dbg);
    let s = v.parse_spec("any:any:any").unwrap();
    assert_eq!(
        s,
        Spec {
            module: None,
            destination: None,
            level: Level::Dbg
        }
    );
    assert_eq!(
        v.parse_spec("foo:bar").unwrap_err(),
        "no destination, level, or module \"foo\""
    );
    assert_eq!(
        v.parse_spec("console:info:file").unwrap_err(),
        "cannot specify multiple destinations"
    );
    assert_eq!(
        v.parse_spec("bridge:emer:dbg").unwrap_err(),
        "cannot specify multiple levels"
    );
    assert_eq!(
        v.parse_spec("bridge vlog").unwrap_err(),
        "cannot specify multiple modules"
    );
}

#[test]
fn set_and_list() {
    let v = quiet();
    v.set_from_string("bridge:file:warn").unwrap();
    v.set_from_string("vswitchd:info").unwrap();
    assert_eq!(
        v.level(Some("bridge"), Destination::File),
        Some(Level::Warn)
    );
    assert_eq!(
        v.level(Some("bridge"), Destination::Syslog),
        Some(Level::Off)
    );
    let list = v.list();
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines[0], "                 console    syslog    file");
    assert_eq!(lines[1], "                 -------    ------    ------");
    assert!(
        list.contains("\nbridge             OFF        OFF       WARN\n"),
        "{list}"
    );
    assert!(
        list.contains("\nvswitchd          INFO       INFO       INFO\n"),
        "{list}"
    );
    // -vconsole:emer -vsyslog:err -vfile:info, as ovs-ctl passes.
    for spec in ["console:emer", "syslog:err", "file:info"] {
        v.set_from_string(spec).unwrap();
    }
    assert!(
        v.list()
            .contains("\nnetdev            EMER        ERR       INFO\n"),
        "{}",
        v.list()
    );
    // Unregistered targets follow "every module".
    assert_eq!(v.level(None, Destination::Syslog), Some(Level::Err));
    assert!(v.set_level(Some("nosuch"), None, Level::Dbg).is_err());
    v.register_module("nosuch");
    assert_eq!(
        v.level(Some("nosuch"), Destination::File),
        Some(Level::Info)
    );
}

#[test]
fn patterns() {
    let v = quiet();
    let list = v.list_patterns();
    assert_eq!(
        list,
        "         prefix                            format\n\
         \x20        ------                            ------\n\
         SYSLOG   <%B>%A:                           ovs|%05N|%c%T|%p|%m\n\
         CONSOLE  none                              %D{%Y-%m-%dT%H:%M:%SZ}|%05N|%c%T|%p|%m\n\
         FILE     none                              %D{%Y-%m-%dT%H:%M:%S.###Z}|%05N|%c%T|%p|%m\n"
    );
    v.set_from_string("PATTERN:console:%m").unwrap();
    assert!(
        v.list_patterns()
            .contains("CONSOLE  none                              %m\n")
    );
    assert_eq!(
        v.set_from_string("PATTERN:nosuch:%m").unwrap_err(),
        "unknown destination \"nosuch\""
    );
    assert!(v.set_from_string("PATTERN:console").is_err());
    // The pattern may contain colons.
    v.set_from_string("pattern:file:%c: %m").unwrap();
    assert!(
        v.list_patterns()
            .contains("FILE     none                              %c: %m\n")
    );
}

fn record<'a>(msg: &'a str, thread: Option<&'a str>) -> Record<'a> {
    Record {
        module: "bridge",
        level: Level::Warn,
        message: msg,
        seq: 7,
        // 2026-11-21T21:58:03.123Z
        time: UNIX_EPOCH + std::time::Duration::from_millis(1_795_298_283_123),
        elapsed_ms: 1500,
        pid: 42,
        hostname: "host",
        thread,
    }
}

#[test]
fn formatting() {
    let r = record("hello", None);
    let file = Pattern::parse(DEFAULT_PATTERNS[2]);
    assert_eq!(
        format_record(&file, &r),
        "2026-11-21T21:58:03.123Z|00007|bridge|WARN|hello"
    );
    let console = Pattern::parse(DEFAULT_PATTERNS[0]);
    assert_eq!(
        format_record(&console, &r),
        "2026-11-21T21:58:03Z|00007|bridge|WARN|hello"
    );
    let r = record("x", Some("handler1"));
    assert_eq!(
        format_record(
            &Pattern::parse("%c%T|%t|%-8p|%8p|%P|%r|%E|%A|%B|%%|%n|%q"),
            &r
        ),
        "bridge(handler1)|handler1|WARN    |    WARN|42|1500|host|ovs-vswitchd|28|%|\n|%q"
    );
    assert_eq!(
        format_record(&Pattern::parse("%D{%F %T %b %e %j %y}|%D"), &r),
        "2026-11-21 21:58:03 Nov 21 325 26|2026-11-21 21:58:03"
    );
    assert_eq!(format_record(&Pattern::parse("100%"), &r), "100%");
}

#[test]
fn civil_dates() {
    let at = |secs: u64| utc(UNIX_EPOCH + std::time::Duration::from_secs(secs));
    let t = at(0);
    assert_eq!((t.year, t.mon, t.mday, t.yday, t.hour), (1970, 1, 1, 1, 0));
    let t = at(951_782_400); // 2000-02-29
    assert_eq!((t.year, t.mon, t.mday, t.yday), (2000, 2, 29, 60));
    let t = at(1_767_225_599); // 2025-12-31T23:59:59
    assert_eq!(
        (t.year, t.mon, t.mday, t.yday, t.hour, t.min, t.sec),
        (2025, 12, 31, 365, 23, 59, 59)
    );
}

#[test]
fn module_names_from_targets() {
    let v = quiet();
    let st = v.0.state.read();
    assert_eq!(st.module_of("vswitchd::unixctl").0, "unixctl");
    assert_eq!(
        st.module_of("vswitchd::main_loop"),
        ("vswitchd".into(), true)
    );
    assert_eq!(st.module_of("vswitchd"), ("vswitchd".into(), true));
    assert_eq!(
        st.module_of("netdev::linux::tap"),
        ("netdev_linux".into(), true)
    );
    assert_eq!(st.module_of("netdev::batch"), ("netdev".into(), true));
    assert_eq!(st.module_of("dpif::netlink"), ("dpif_netlink".into(), true));
    assert_eq!(st.module_of("mio::poll"), ("mio".into(), false));
}

#[test]
fn file_destination_through_tracing() {
    // Test threads have names, which %T would print; run as the main thread does.
    std::thread::Builder::new()
        .name("main".into())
        .spawn(file_destination_through_tracing_body)
        .unwrap()
        .join()
        .unwrap();
}

fn file_destination_through_tracing_body() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v.log");
    let v = quiet();
    let sub =
        tracing_subscriber::layer::SubscriberExt::with(tracing_subscriber::registry(), v.layer());
    tracing::subscriber::with_default(sub, || {
        v.set_log_file(&path).unwrap();
        tracing::info!(target: "bridge::config", "first {}", 1);
        tracing::debug!(target: "bridge", "hidden");
        v.set_from_string("bridge:file:dbg").unwrap();
        tracing::debug!(target: "bridge", port = 3, "shown");
        tracing::info!(target: "netdev", "netdev info");
        v.set_from_string("netdev:off").unwrap();
        tracing::info!(target: "netdev", "netdev hidden");
        // Reopen after logrotate moved the file away.
        std::fs::rename(&path, dir.path().join("v.log.1")).unwrap();
        v.reopen_log_file().unwrap();
        tracing::warn!(target: "vswitchd", "after rotate");
        v.close_log_file();
        tracing::warn!(target: "vswitchd", "closed");
    });
    let old = std::fs::read_to_string(dir.path().join("v.log.1")).unwrap();
    let new = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = old.lines().collect();
    assert!(
        lines[0].ends_with(&format!("|vlog|INFO|opened log file {}", path.display())),
        "{old}"
    );
    assert!(lines[1].ends_with("|bridge|INFO|first 1"), "{old}");
    assert!(lines[2].ends_with("|bridge|DBG|shown port=3"), "{old}");
    assert!(lines[3].ends_with("|netdev|INFO|netdev info"), "{old}");
    assert_eq!(lines.len(), 4, "{old}");
    // Sequence numbers count messages: 00001, 00002, ...
    assert!(lines[1].contains("|00002|"), "{old}");
    // 2026-11-21T21:58:03.123Z
    let ts = lines[1].split('|').next().unwrap();
    assert_eq!(ts.len(), 24, "{ts}");
    assert!(ts.ends_with('Z') && ts.as_bytes()[10] == b'T' && ts.as_bytes()[19] == b'.');
    assert!(new.contains("|vlog|INFO|opened log file"), "{new}");
    assert!(new.contains("|vswitchd|WARN|after rotate"), "{new}");
    assert!(!new.contains("closed"), "{new}");
}

#[test]
fn commands() {
    let v = quiet();
    let mut u = Unixctl::new(None, "v").unwrap();
    v.register_commands(&mut u);
    assert_eq!(
        u.call("vlog/set", &["bridge:file:warn", "vswitchd:info"])
            .unwrap(),
        Ok(String::new())
    );
    assert_eq!(
        u.call("vlog/set", &["-vfile"]).unwrap().unwrap_err(),
        "no destination, level, or module \"-vfile\""
    );
    assert!(
        u.call("vlog/list", &[])
            .unwrap()
            .unwrap()
            .contains("\nbridge             OFF        OFF       WARN\n")
    );
    assert!(
        u.call("vlog/list-pattern", &[])
            .unwrap()
            .unwrap()
            .starts_with("         prefix")
    );
    assert_eq!(
        u.call("vlog/reopen", &[]).unwrap().unwrap_err(),
        "Logging to file not configured"
    );
    assert_eq!(u.call("vlog/close", &[]).unwrap(), Ok(String::new()));
    // No arguments: everything to dbg.
    u.call("vlog/set", &[]).unwrap().unwrap();
    assert_eq!(
        v.level(Some("netdev"), Destination::Syslog),
        Some(Level::Dbg)
    );
}
