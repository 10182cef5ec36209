//! Bridges of a virtual switch built with the architecture of Open vSwitch: the desired
//! configuration and `reconfigure`.
//!
//! # Overview
//!
//! [`Config`] is the desired state, shaped like OVS's `Open_vSwitch` schema (bridges, ports,
//! interfaces and their settings). Its file source is a TOML file read with [`Config::load`]
//! or [`Config::from_toml_str`]; see the [`config`] module for the format and the checks.
//!
//! [`Switch`] runs the bridges: [`Switch::reconfigure`] turns a [`Config`] into ofprotos,
//! ports and interfaces in the order of OVS's `bridge_reconfigure`, touching only what
//! changed; see the [`switch`] module. [`Registries`] is the one place where device and
//! datapath classes are registered. The [`commands`] module answers the `ovs-appctl` commands
//! of the bridge layer (`fdb/show`, `ofproto/trace`, `bridge/show`, ...). The [`ovsdb`]
//! module is the other configuration source: a client of a real `ovsdb-server` that keeps a
//! [`Switch`] configured from the database and writes back what it did.

pub mod commands;
pub mod config;
pub mod ovsdb;
pub mod registries;
pub mod switch;

use std::path::PathBuf;

pub use config::{
    BridgeConfig, Config, ConfigError, ConfigTypes, FailMode, InterfaceConfig, OvsConfig,
    PortConfig, VlanMode,
};
pub use registries::Registries;
pub use switch::{IfaceStatus, ReconfigureReport, Switch};

/// Errors of the bridge layer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be read or written.
    #[error("{}: {op} failed: {source}", path.display())]
    Io {
        /// The operation that failed, e.g. `"read"`.
        op: &'static str,
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A configuration file is not valid; nothing of it was applied.
    #[error("{}: {error}", path.display())]
    Config {
        /// The file.
        path: PathBuf,
        /// Where and what.
        error: ConfigError,
    },
}
