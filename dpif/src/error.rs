//! The error type of the dpif crate.

use nix::errno::Errno;

/// A `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong in a datapath.
///
/// Variants that a caller branches on mirror the errnos OVS's dpif contracts name:
/// [`Error::NotFound`] (`ENOENT`/`ENODEV`), [`Error::Exists`] (`EEXIST`), [`Error::Busy`]
/// (`EBUSY`), [`Error::NotSupported`] (`EOPNOTSUPP`), [`Error::TooBig`] (`EFBIG`),
/// [`Error::NoSpace`] (`ENOSPC`). [`Error::errno`] gives the errno in every case.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A network device failed.
    #[error(transparent)]
    Netdev(#[from] netdev::Error),
    /// The object does not exist.
    #[error("{op}: no {what} {name}")]
    NotFound {
        /// The operation, e.g. `"port query"`.
        op: &'static str,
        /// The kind of object: `"datapath"`, `"port"`, `"flow"`.
        what: &'static str,
        /// Its name or number.
        name: String,
    },
    /// The object exists already.
    #[error("{op}: {what} {name} already exists")]
    Exists {
        /// The operation.
        op: &'static str,
        /// The kind of object.
        what: &'static str,
        /// Its name or number.
        name: String,
    },
    /// The object is in use (a port number taken by another port).
    #[error("{op}: {what} {name} is busy")]
    Busy {
        /// The operation.
        op: &'static str,
        /// The kind of object.
        what: &'static str,
        /// Its name or number.
        name: String,
    },
    /// The datapath cannot do this.
    #[error("{op} is not supported by this datapath")]
    NotSupported {
        /// The operation.
        op: &'static str,
    },
    /// An argument is invalid.
    #[error("{op}: {msg}")]
    Invalid {
        /// The operation.
        op: &'static str,
        /// What is wrong.
        msg: String,
    },
    /// A message or attribute is too big (`EFBIG`).
    #[error("{op}: too big: {msg}")]
    TooBig {
        /// The operation.
        op: &'static str,
        /// What is too big.
        msg: String,
    },
    /// A table is full (`ENOSPC`).
    #[error("{op}: no space: {msg}")]
    NoSpace {
        /// The operation.
        op: &'static str,
        /// Which table.
        msg: String,
    },
    /// The kernel returned an errno that no other variant covers.
    #[error("{op} {obj}: {source}")]
    Kernel {
        /// The operation.
        op: &'static str,
        /// The object it was applied to.
        obj: String,
        /// The errno.
        #[source]
        source: Errno,
    },
    /// A message or key from the datapath does not decode.
    #[error("malformed {context}: {msg}")]
    Decode {
        /// What was being decoded, e.g. `"OVS_KEY_ATTR_IPV4"`.
        context: String,
        /// What is wrong.
        msg: String,
    },
    /// Nothing is ready (`EAGAIN`).
    #[error("{op}: would block")]
    WouldBlock {
        /// The operation.
        op: &'static str,
    },
}

impl Error {
    /// The errno OVS would report for this error.
    pub fn errno(&self) -> Option<Errno> {
        Some(match self {
            Error::Netdev(e) => return e.errno(),
            Error::NotFound { what: "port", .. }
            | Error::NotFound {
                what: "datapath", ..
            } => Errno::ENODEV,
            Error::NotFound { .. } => Errno::ENOENT,
            Error::Exists { .. } => Errno::EEXIST,
            Error::Busy { .. } => Errno::EBUSY,
            Error::NotSupported { .. } => Errno::EOPNOTSUPP,
            Error::Invalid { .. } => Errno::EINVAL,
            Error::TooBig { .. } => Errno::EFBIG,
            Error::NoSpace { .. } => Errno::ENOSPC,
            Error::Kernel { source, .. } => *source,
            Error::Decode { .. } => Errno::EPROTO,
            Error::WouldBlock { .. } => Errno::EAGAIN,
        })
    }

    /// Builds [`Error::NotFound`].
    pub fn not_found(op: &'static str, what: &'static str, name: impl ToString) -> Self {
        Error::NotFound {
            op,
            what,
            name: name.to_string(),
        }
    }

    /// Builds [`Error::Exists`].
    pub fn exists(op: &'static str, what: &'static str, name: impl ToString) -> Self {
        Error::Exists {
            op,
            what,
            name: name.to_string(),
        }
    }

    /// Builds [`Error::Invalid`].
    pub fn invalid(op: &'static str, msg: impl Into<String>) -> Self {
        Error::Invalid {
            op,
            msg: msg.into(),
        }
    }

    /// Builds [`Error::Decode`].
    pub fn decode(context: impl Into<String>, msg: impl Into<String>) -> Self {
        Error::Decode {
            context: context.into(),
            msg: msg.into(),
        }
    }

    /// Builds the variant that matches a kernel errno: `ENOENT`/`ENODEV` become
    /// [`Error::NotFound`], `EEXIST` [`Error::Exists`], `EBUSY` [`Error::Busy`],
    /// `EOPNOTSUPP` [`Error::NotSupported`], `EFBIG` [`Error::TooBig`], `ENOSPC`
    /// [`Error::NoSpace`], `EINVAL` [`Error::Invalid`], anything else [`Error::Kernel`].
    pub fn from_errno(op: &'static str, what: &'static str, obj: impl ToString, e: Errno) -> Self {
        let obj = obj.to_string();
        match e {
            Errno::ENOENT | Errno::ENODEV => Error::NotFound {
                op,
                what,
                name: obj,
            },
            Errno::EEXIST => Error::Exists {
                op,
                what,
                name: obj,
            },
            Errno::EBUSY => Error::Busy {
                op,
                what,
                name: obj,
            },
            Errno::EOPNOTSUPP => Error::NotSupported { op },
            Errno::EFBIG => Error::TooBig {
                op,
                msg: format!("{what} {obj}"),
            },
            Errno::ENOSPC => Error::NoSpace {
                op,
                msg: format!("{what} {obj}"),
            },
            Errno::EINVAL => Error::Invalid {
                op,
                msg: format!("{what} {obj}: invalid argument"),
            },
            Errno::EAGAIN => Error::WouldBlock { op },
            source => Error::Kernel {
                op,
                obj: format!("{what} {obj}"),
                source,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errno_mapping_round_trips() {
        for e in [
            Errno::ENOENT,
            Errno::EEXIST,
            Errno::EBUSY,
            Errno::EOPNOTSUPP,
            Errno::EFBIG,
            Errno::ENOSPC,
            Errno::EINVAL,
            Errno::EAGAIN,
            Errno::EPERM,
        ] {
            let err = Error::from_errno("flow put", "flow", "x", e);
            assert_eq!(err.errno(), Some(e), "{err}");
        }
        let err = Error::from_errno("port query", "port", "p1", Errno::ENODEV);
        assert_eq!(err.errno(), Some(Errno::ENODEV));
        assert_eq!(err.to_string(), "port query: no port p1");
    }
}
