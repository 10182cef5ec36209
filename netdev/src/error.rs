//! The error type of the netdev crate.

use nix::errno::Errno;

/// A `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong with a network device.
///
/// Every variant names the operation and the device, so a message read in a log or in
/// `Interface.error` says what failed and where. [`Error::errno`] gives the errno where the
/// failure came from the kernel: OVS's behaviour often branches on the exact errno.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A system call failed.
    #[error("{op} on {name} failed: {source}")]
    Io {
        /// The operation, e.g. `"set MTU"`.
        op: &'static str,
        /// The device name.
        name: String,
        /// The kernel's errno.
        #[source]
        source: Errno,
    },
    /// The device does not exist (OVS: `ENODEV`).
    #[error("could not open network device {name} (No such device)")]
    NoSuchDevice {
        /// The device name.
        name: String,
    },
    /// The device, or its class, cannot do this (OVS: `EOPNOTSUPP`).
    #[error("{op} is not supported by {name}")]
    NotSupported {
        /// The operation.
        op: &'static str,
        /// The device name (or class type name).
        name: String,
    },
    /// No class is registered under this type name.
    #[error("unknown network device type \"{type_name}\" for {name}")]
    UnknownType {
        /// The requested type.
        type_name: String,
        /// The device name.
        name: String,
    },
    /// A class with this type name is already registered (OVS: `EEXIST`).
    #[error("a network device class of type \"{0}\" is already registered")]
    TypeExists(String),
    /// The device is already open with another type.
    #[error("{name} is already open as type \"{existing}\", not \"{requested}\"")]
    TypeMismatch {
        /// The device name.
        name: String,
        /// The type it is open as.
        existing: String,
        /// The type that was asked for.
        requested: String,
    },
    /// A configuration value was refused; the device is unchanged.
    #[error("{name}: {msg}")]
    InvalidConfig {
        /// The device name.
        name: String,
        /// Why, in words a user can act on.
        msg: String,
    },
    /// A netlink exchange with the kernel failed or gave a reply that does not parse.
    #[error("{op} on {name}: {msg}")]
    Netlink {
        /// The operation.
        op: &'static str,
        /// The device name.
        name: String,
        /// What went wrong.
        msg: String,
        /// The errno the kernel returned, if it returned one.
        errno: Option<Errno>,
    },
    /// The device would block (OVS: `EAGAIN`).
    #[error("{op} on {name} would block")]
    WouldBlock {
        /// The operation.
        op: &'static str,
        /// The device name.
        name: String,
    },
}

impl Error {
    /// The errno behind this error, where there is one.
    pub fn errno(&self) -> Option<Errno> {
        match self {
            Error::Io { source, .. } => Some(*source),
            Error::NoSuchDevice { .. } => Some(Errno::ENODEV),
            Error::NotSupported { .. } => Some(Errno::EOPNOTSUPP),
            Error::UnknownType { .. } => Some(Errno::EAFNOSUPPORT),
            Error::TypeExists(_) => Some(Errno::EEXIST),
            Error::TypeMismatch { .. } => Some(Errno::EEXIST),
            Error::InvalidConfig { .. } => Some(Errno::EINVAL),
            Error::Netlink { errno, .. } => *errno,
            Error::WouldBlock { .. } => Some(Errno::EAGAIN),
        }
    }

    /// Builds [`Error::Io`], turning `ENODEV`/`ENXIO` into [`Error::NoSuchDevice`].
    pub fn io(op: &'static str, name: &str, source: Errno) -> Self {
        match source {
            Errno::ENODEV | Errno::ENXIO => Error::NoSuchDevice {
                name: name.to_owned(),
            },
            source => Error::Io {
                op,
                name: name.to_owned(),
                source,
            },
        }
    }

    /// Builds [`Error::NotSupported`].
    pub fn not_supported(op: &'static str, name: &str) -> Self {
        Error::NotSupported {
            op,
            name: name.to_owned(),
        }
    }

    /// Whether this error means the device is gone or never existed.
    pub fn is_no_device(&self) -> bool {
        matches!(self.errno(), Some(Errno::ENODEV | Errno::ENXIO))
    }
}
