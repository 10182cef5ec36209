//! The pieces of `vswitchd`, a daemon that stands in for `ovs-vswitchd`: the command line
//! ([`cli`]), daemonizing ([`daemon`], [`pidfile`]), logging ([`vlog`]), the control socket
//! that `ovs-appctl` talks to ([`unixctl`]), event counters ([`coverage`]), signal handling
//! ([`signals`]), the configuration file source ([`config_file`]) and the main loop that
//! drives them all ([`main_loop`]).
//!
//! The binary (`src/main.rs`) wires them together; the bridge layer plugs into the main loop
//! as a [`main_loop::Component`], [`bridges::BridgeComponent`], configured either from an
//! `ovsdb-server` (`bridge::ovsdb`, the default, as `ovs-vswitchd`) or from a TOML file.

#[cfg(not(target_os = "linux"))]
compile_error!("vswitchd supports Linux only");

pub mod bridges;
pub mod cli;
pub mod config_file;
pub mod coverage;
pub mod daemon;
pub mod main_loop;
pub mod pidfile;
pub mod signals;
pub mod unixctl;
pub mod vlog;
