//! `vswitchd`: a virtual switch daemon that stands in for `ovs-vswitchd`.
//!
//! Startup, in order: parse the command line (exit 1 on errors, as `ovs-vswitchd` does);
//! with a `file:` DATABASE, read and check the configuration file (exit 1 if it is not valid:
//! there is no previous configuration to keep); with `--detach`, fork (the parent returns once
//! the daemon is ready, that is once the bridges of the first configuration exist: with an
//! OVSDB server, once it answered, however long that takes, as with `ovs-vswitchd`); set up logging; lock memory
//! (`--mlockall`); create the pidfile; listen on the control socket; catch SIGTERM, SIGINT and
//! SIGHUP; build the device and datapath registries and the bridge layer; run the main loop
//! until `ovs-appctl exit` or a signal; then destroy the bridges (`exit --cleanup`: and what
//! they made in their datapaths).

use std::process::ExitCode;

use anyhow::{Context as _, anyhow};
use nix::sys::signal::Signal;
use tracing_subscriber::layer::SubscriberExt as _;

use vswitchd::bridges::BridgeComponent;
use vswitchd::cli::{self, Action, Database, Dirs, Options, UnixctlPath};
use vswitchd::config_file::{ConfigWatcher, summary};
use vswitchd::coverage::Coverage;
use vswitchd::daemon;
use vswitchd::main_loop::MainLoop;
use vswitchd::pidfile::Pidfile;
use vswitchd::signals::SignalPipe;
use vswitchd::unixctl::Unixctl;
use vswitchd::vlog::{Destination, Level, Vlog};

fn main() -> ExitCode {
    let vlog = Vlog::new();
    match run(&vlog) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // Like ovs_fatal: the reason goes to the log file and syslog, and to stderr.
            let msg = format!("{e:#}");
            vlog.log_to(
                &[Destination::File, Destination::Syslog],
                "vswitchd",
                Level::Emer,
                &msg,
            );
            eprintln!("vswitchd: {msg}");
            ExitCode::FAILURE
        }
    }
}

/// The datapath and interface types that configurations may name: this workspace's, and
/// `dummy` (the in-memory datapath) with `--enable-dummy`.
///
/// No registry is built here: that happens after `--detach` forks, since providers may start
/// threads.
fn config_types(enable_dummy: bool) -> bridge::ConfigTypes {
    let mut types = bridge::ConfigTypes::default();
    if enable_dummy {
        types.datapath_types.push("dummy".to_owned());
    }
    types
}

/// The bridge layer: every device and datapath class, ofproto-dpif over them, with the
/// bridges' OpenFlow management sockets in `rundir`.
fn make_switch(rundir: &std::path::Path) -> bridge::Switch {
    let mut switch = bridge::Switch::with_ofproto_dpif(bridge::Registries::new());
    switch.set_rundir(Some(rundir.to_path_buf()));
    switch
}

fn run(vlog: &Vlog) -> anyhow::Result<()> {
    let opts = Options::parse(std::env::args().skip(1))?;
    let dirs = Dirs::from_env();
    match opts.action {
        Action::Help => {
            print!("{}", cli::usage(&dirs));
            return Ok(());
        }
        Action::Version => {
            println!("{}", cli::version_line());
            return Ok(());
        }
        Action::Run => {}
    }
    let cwd = std::env::current_dir().context("getcwd")?;
    let settings = opts.resolve(dirs, &cwd)?;

    for spec in &settings.verbose {
        vlog.set_from_string(spec)
            .map_err(|e| anyhow!("processing \"{spec}\": {e}"))?;
    }

    let file_source = match &settings.database {
        Database::File(config_path) => {
            let mut watcher = ConfigWatcher::new(config_path, config_types(settings.enable_dummy));
            let config = watcher.load()?;
            Some((config_path.clone(), watcher, config))
        }
        Database::Ovsdb(_) => None,
    };

    std::fs::create_dir_all(&settings.dirs.rundir).with_context(|| {
        format!(
            "cannot create run directory {}",
            settings.dirs.rundir.display()
        )
    })?;

    // Fork before anything starts a thread.
    let mut detached = if settings.detach {
        Some(daemon::detach().context("--detach")?)
    } else {
        None
    };

    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(vlog.layer()))
        .map_err(|e| anyhow!("cannot install the logger: {e}"))?;
    if let Some(path) = &settings.log_file {
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        if let Err(e) = vlog.set_log_file(path) {
            tracing::warn!("failed to open {} for logging: {e}", path.display());
        }
    }
    for note in &settings.notes {
        tracing::info!("{note}");
    }
    if settings.mlockall {
        use nix::sys::mman::{MlockAllFlags, mlockall};
        if let Err(e) = mlockall(MlockAllFlags::MCL_CURRENT | MlockAllFlags::MCL_FUTURE) {
            tracing::error!("mlockall failed: {e}");
        }
    }

    let pidfile = match &settings.pidfile {
        Some(p) => Some(Pidfile::create(p, settings.overwrite_pidfile)?),
        None => None,
    };
    let ctl_path = match &settings.unixctl {
        UnixctlPath::Default => Some(settings.dirs.rundir.join(format!(
            "{}.{}.ctl",
            cli::PROGRAM_NAME,
            std::process::id()
        ))),
        UnixctlPath::None => None,
        UnixctlPath::Path(p) => Some(p.clone()),
    };
    let mut unixctl = Unixctl::new(ctl_path.as_deref(), &cli::version_line())
        .context("cannot create the control socket")?;
    let coverage = Coverage::new();
    unixctl.set_coverage(&coverage);
    vlog.register_commands(&mut unixctl);

    let signals = SignalPipe::install(&[Signal::SIGTERM, Signal::SIGINT, Signal::SIGHUP])
        .context("cannot catch signals")?;

    let mut main_loop = MainLoop::new(unixctl, coverage.clone());
    main_loop.set_vlog(vlog.clone());
    main_loop.set_signals(signals);
    let component = match (file_source, &settings.database) {
        (Some((config_path, watcher, config)), _) => {
            tracing::info!(
                "{}: configuration: {}",
                config_path.display(),
                summary(&config)
            );
            BridgeComponent::new(
                make_switch(&settings.dirs.rundir),
                watcher,
                config,
                &coverage,
            )
        }
        (None, Database::Ovsdb(remote)) => {
            tracing::info!("{remote}: configuration from the OVSDB server");
            let mut driver = bridge::ovsdb::Driver::new(remote.clone());
            driver.set_datapath_types(config_types(settings.enable_dummy).datapath_types);
            BridgeComponent::with_ovsdb(make_switch(&settings.dirs.rundir), driver, &coverage)
        }
        (None, Database::File(p)) => {
            return Err(anyhow!("{}: configuration not loaded", p.display()));
        }
    };
    main_loop.add_component(Box::new(component));
    if let Some(mut d) = detached.take() {
        let no_chdir = settings.no_chdir;
        main_loop.on_ready(move || {
            if let Err(e) = d.complete(no_chdir) {
                tracing::warn!("could not finish detaching: {e}");
            }
        });
    }
    if let Some(p) = pidfile {
        main_loop.on_exit(move || p.remove());
    }
    tracing::info!("{} started", cli::version_line());

    let cleanup = main_loop.run();
    tracing::info!("exiting{}", if cleanup { " (cleanup)" } else { "" });
    Ok(())
}
