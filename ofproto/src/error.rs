//! [`Error`]: everything that can go wrong in the OpenFlow model, with the OpenFlow error
//! (type and code) that the wire protocol reports for it.

/// A `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An OpenFlow error type and code (OpenFlow 1.3 numbering), with its spec name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct OfpError {
    /// `ofp_error_type` (`OFPET_*`).
    pub type_: u16,
    /// The code within the type.
    pub code: u16,
    /// The spec name, such as `"OFPFMFC_OVERLAP"`.
    pub name: &'static str,
}

impl OfpError {
    const fn new(type_: u16, code: u16, name: &'static str) -> OfpError {
        OfpError { type_, code, name }
    }

    /// `OFPET_BAD_REQUEST` / `OFPBRC_EPERM`.
    pub const BRC_EPERM: OfpError = OfpError::new(1, 5, "OFPBRC_EPERM");
    /// `OFPET_BAD_REQUEST` / `OFPBRC_BAD_TABLE_ID`.
    pub const BRC_BAD_TABLE_ID: OfpError = OfpError::new(1, 9, "OFPBRC_BAD_TABLE_ID");
    /// `OFPET_BAD_ACTION` / `OFPBAC_BAD_OUT_PORT`.
    pub const BAC_BAD_OUT_PORT: OfpError = OfpError::new(2, 4, "OFPBAC_BAD_OUT_PORT");
    /// `OFPET_BAD_ACTION` / `OFPBAC_BAD_ARGUMENT`.
    pub const BAC_BAD_ARGUMENT: OfpError = OfpError::new(2, 5, "OFPBAC_BAD_ARGUMENT");
    /// `OFPET_BAD_ACTION` / `OFPBAC_MATCH_INCONSISTENT`.
    pub const BAC_MATCH_INCONSISTENT: OfpError = OfpError::new(2, 10, "OFPBAC_MATCH_INCONSISTENT");
    /// `OFPET_BAD_ACTION` / `OFPBAC_BAD_SET_ARGUMENT`.
    pub const BAC_BAD_SET_ARGUMENT: OfpError = OfpError::new(2, 15, "OFPBAC_BAD_SET_ARGUMENT");
    /// `OFPET_BAD_INSTRUCTION` / `OFPBIC_UNSUP_INST`.
    pub const BIC_UNSUP_INST: OfpError = OfpError::new(3, 1, "OFPBIC_UNSUP_INST");
    /// `OFPET_BAD_INSTRUCTION` / `OFPBIC_BAD_TABLE_ID`.
    pub const BIC_BAD_TABLE_ID: OfpError = OfpError::new(3, 2, "OFPBIC_BAD_TABLE_ID");
    /// `OFPET_BAD_MATCH` / `OFPBMC_BAD_VALUE`.
    pub const BMC_BAD_VALUE: OfpError = OfpError::new(4, 7, "OFPBMC_BAD_VALUE");
    /// `OFPET_BAD_MATCH` / `OFPBMC_BAD_MASK`.
    pub const BMC_BAD_MASK: OfpError = OfpError::new(4, 8, "OFPBMC_BAD_MASK");
    /// `OFPET_BAD_MATCH` / `OFPBMC_BAD_PREREQ`.
    pub const BMC_BAD_PREREQ: OfpError = OfpError::new(4, 9, "OFPBMC_BAD_PREREQ");
    /// `OFPET_FLOW_MOD_FAILED` / `OFPFMFC_TABLE_FULL`.
    pub const FMFC_TABLE_FULL: OfpError = OfpError::new(5, 1, "OFPFMFC_TABLE_FULL");
    /// `OFPET_FLOW_MOD_FAILED` / `OFPFMFC_OVERLAP`.
    pub const FMFC_OVERLAP: OfpError = OfpError::new(5, 3, "OFPFMFC_OVERLAP");
    /// `OFPET_FLOW_MOD_FAILED` / `OFPFMFC_BAD_COMMAND`.
    pub const FMFC_BAD_COMMAND: OfpError = OfpError::new(5, 6, "OFPFMFC_BAD_COMMAND");
}

impl std::fmt::Display for OfpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

/// An error of the OpenFlow model: a bad flow string, a bad match or action, or a flow-mod
/// that the tables refuse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Flow syntax that does not parse: `token` is the offending text.
    #[error("{token}: {reason}")]
    Parse {
        /// The offending token, as written.
        token: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A match or action uses a field whose prerequisites the match does not establish
    /// (`tp_dst=80` without `tcp`).
    #[error("{field}: prerequisites not met (requires {requires})")]
    BadPrereq {
        /// The field, as printed.
        field: &'static str,
        /// What the field requires.
        requires: &'static str,
    },
    /// A value that does not fit the field (`dl_vlan=5000`).
    #[error("{field}: value {value} out of range")]
    BadValue {
        /// The field.
        field: &'static str,
        /// The value, as written or printed.
        value: String,
    },
    /// A mask on a field that only matches exactly.
    #[error("{field}: field does not support masking")]
    BadMask {
        /// The field.
        field: &'static str,
    },
    /// A `set_field`/`load` to a read-only field.
    #[error("{field} is read-only")]
    ReadOnlyField {
        /// The field.
        field: &'static str,
    },
    /// A bit range `[start..end]` that does not fit its field, or a `move` whose source and
    /// destination differ in width.
    #[error("{0}")]
    BadSubfield(String),
    /// A flow-mod names a table that does not exist.
    #[error("table {0} does not exist")]
    BadTableId(u8),
    /// A flow-mod from OpenFlow targets a hidden, read-only table (table 254).
    #[error("table {0} is read-only")]
    TableReadOnly(u8),
    /// A `goto_table` that does not go forward (or past the last table).
    #[error("goto_table:{target} from table {from} does not go to a later table")]
    BadGotoTable {
        /// The table the rule is in.
        from: u8,
        /// The target table.
        target: u8,
    },
    /// An add with `check_overlap` overlaps an existing rule of the same priority.
    #[error("flow overlaps an existing flow of the same priority (OFPFMFC_OVERLAP)")]
    Overlap,
    /// An output to a port that cannot be an output (`output:ANY`).
    #[error("{0}: invalid output port")]
    BadOutPort(String),
    /// Instructions in an order OpenFlow 1.1+ cannot express, or repeated.
    #[error("invalid instruction ordering: {0}")]
    BadInstructionOrder(String),
    /// The table holds as many rules as it may.
    #[error("table {0} is full")]
    TableFull(u8),
    /// The datapath failed.
    #[error(transparent)]
    Dpif(#[from] dpif::Error),
    /// A network device failed.
    #[error(transparent)]
    Netdev(#[from] netdev::Error),
    /// No port has this number or name.
    #[error("{op}: no port {port}")]
    NoSuchPort {
        /// The operation.
        op: &'static str,
        /// The port's number or name.
        port: String,
    },
    /// The port number or name is taken.
    #[error("{op}: port {port} already exists")]
    PortExists {
        /// The operation.
        op: &'static str,
        /// The port's number or name.
        port: String,
    },
    /// The provider cannot do this.
    #[error("{op} is not supported")]
    NotSupported {
        /// The operation.
        op: &'static str,
    },
    /// An argument is invalid (a bad appctl argument, a bad configuration value).
    #[error("{0}")]
    Invalid(String),
    /// A group-mod the group table refuses, or an action that names a group that does not
    /// exist: `error` is the OpenFlow error to report (`OFPGMFC_*`, `OFPBAC_BAD_OUT_GROUP`).
    #[error("{reason} ({error})")]
    Group {
        /// The OpenFlow error.
        error: OfpError,
        /// What is wrong, for logs and tools.
        reason: String,
    },
}

impl Error {
    /// A parse error for `token`.
    pub fn parse(token: impl Into<String>, reason: impl Into<String>) -> Error {
        Error::Parse {
            token: token.into(),
            reason: reason.into(),
        }
    }

    /// The OpenFlow error that reports this error to a controller, if it has one (parse
    /// errors happen in tools, not in the switch).
    pub fn ofp_error(&self) -> Option<OfpError> {
        Some(match self {
            Error::Parse { .. } => return None,
            Error::BadPrereq { .. } => OfpError::BMC_BAD_PREREQ,
            Error::BadValue { .. } => OfpError::BMC_BAD_VALUE,
            Error::BadMask { .. } => OfpError::BMC_BAD_MASK,
            Error::ReadOnlyField { .. } => OfpError::BAC_BAD_SET_ARGUMENT,
            Error::BadSubfield(_) => OfpError::BAC_BAD_ARGUMENT,
            Error::BadTableId(_) => OfpError::BRC_BAD_TABLE_ID,
            Error::TableReadOnly(_) => OfpError::BRC_EPERM,
            Error::BadGotoTable { .. } => OfpError::BIC_BAD_TABLE_ID,
            Error::Overlap => OfpError::FMFC_OVERLAP,
            Error::BadOutPort(_) => OfpError::BAC_BAD_OUT_PORT,
            Error::BadInstructionOrder(_) => OfpError::BIC_UNSUP_INST,
            Error::TableFull(_) => OfpError::FMFC_TABLE_FULL,
            Error::NoSuchPort { .. } => OfpError::BAC_BAD_OUT_PORT,
            Error::Group { error, .. } => *error,
            Error::Dpif(_)
            | Error::Netdev(_)
            | Error::PortExists { .. }
            | Error::NotSupported { .. }
            | Error::Invalid(_) => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_map_to_openflow_codes() {
        assert_eq!(Error::Overlap.ofp_error(), Some(OfpError::FMFC_OVERLAP));
        assert_eq!(OfpError::FMFC_OVERLAP.type_, 5);
        assert_eq!(OfpError::FMFC_OVERLAP.code, 3);
        assert_eq!(Error::parse("x", "bad").ofp_error(), None);
        assert_eq!(
            Error::parse("nw_dst=1.2.3", "bad").to_string(),
            "nw_dst=1.2.3: bad"
        );
        assert_eq!(
            Error::TableReadOnly(254).ofp_error().map(|e| e.name),
            Some("OFPBRC_EPERM")
        );
    }
}
