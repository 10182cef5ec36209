//! The OpenFlow wire protocol: OpenFlow 1.0 and 1.3 messages (with the Nicira extensions
//! `ovs-ofctl` uses by default), to and from the switch's own model ([`crate::FlowMod`],
//! [`crate::Match`], [`crate::Action`], [`crate::GroupMod`], [`crate::PacketIn`]).
//!
//! * [`Version`] and [`port`]: protocol versions and port number spaces.
//! * [`oxm`]: NXM and OXM match TLVs (the same format under different classes), and the
//!   OpenFlow 1.1+ `ofp_match` that wraps them.
//! * [`match10`]: OpenFlow 1.0's fixed `ofp10_match`.
//! * [`actions`]: action lists of both versions, Nicira extension actions, and OpenFlow
//!   1.1+ instructions, to and from the flat [`crate::Action`] list a rule keeps.
//! * [`msg`]: whole messages: header, decode and encode, errors with each version's type
//!   and code numbering.
//!
//! Decoding never panics: malformed input is an [`crate::OfpError`] naming the OpenFlow
//! error the peer should get back.

pub mod actions;
pub mod match10;
pub mod msg;
pub mod oxm;
pub mod port;

/// An OpenFlow protocol version (the header's `version` byte).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum Version {
    /// OpenFlow 1.0 (`0x01`), `ovs-ofctl`'s default.
    Of10 = 1,
    /// OpenFlow 1.1 (`0x02`).
    Of11 = 2,
    /// OpenFlow 1.2 (`0x03`).
    Of12 = 3,
    /// OpenFlow 1.3 (`0x04`).
    Of13 = 4,
    /// OpenFlow 1.4 (`0x05`).
    Of14 = 5,
    /// OpenFlow 1.5 (`0x06`).
    Of15 = 6,
}

impl Version {
    /// The versions this switch speaks, lowest first.
    pub const SUPPORTED: [Version; 2] = [Version::Of10, Version::Of13];

    /// The version with wire number `v`, if it is one.
    pub fn from_wire(v: u8) -> Option<Version> {
        Some(match v {
            1 => Version::Of10,
            2 => Version::Of11,
            3 => Version::Of12,
            4 => Version::Of13,
            5 => Version::Of14,
            6 => Version::Of15,
            _ => return None,
        })
    }

    /// The wire number.
    pub fn wire(self) -> u8 {
        self as u8
    }

    /// The name `ovs-ofctl -O` takes (`OpenFlow13`).
    pub fn name(self) -> &'static str {
        match self {
            Version::Of10 => "OpenFlow10",
            Version::Of11 => "OpenFlow11",
            Version::Of12 => "OpenFlow12",
            Version::Of13 => "OpenFlow13",
            Version::Of14 => "OpenFlow14",
            Version::Of15 => "OpenFlow15",
        }
    }

    /// Parses a name as `Bridge.protocols` and `ovs-ofctl -O` spell it.
    pub fn from_name(s: &str) -> Option<Version> {
        [
            Version::Of10,
            Version::Of11,
            Version::Of12,
            Version::Of13,
            Version::Of14,
            Version::Of15,
        ]
        .into_iter()
        .find(|v| v.name() == s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_round_trip() {
        for v in 1..=6 {
            let ver = Version::from_wire(v).unwrap();
            assert_eq!(ver.wire(), v);
            assert_eq!(Version::from_name(ver.name()), Some(ver));
        }
        assert_eq!(Version::from_wire(0), None);
        assert_eq!(Version::from_wire(7), None);
        assert_eq!(Version::from_name("OpenFlow16"), None);
    }
}
