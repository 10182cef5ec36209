//! Port numbers on the wire: OpenFlow 1.0 has 16-bit ports with the reserved ones at
//! `0xfff8..=0xffff`; OpenFlow 1.1+ has 32-bit ports with them at `0xfffffff8..`. The
//! switch keeps the 1.0 numbering ([`OfpPort`]), as OVS does.

use crate::OfpPort;
use crate::error::OfpError;

/// The first reserved port number in OpenFlow 1.1+ (`OFPP11_MAX`).
pub const OFPP11_MAX: u32 = 0xffff_ff00;
/// The offset between 1.0 and 1.1+ reserved port numbers (`OFPP11_OFFSET`).
pub const OFPP11_OFFSET: u32 = OFPP11_MAX - 0xff00;

/// An OpenFlow 1.0 port number as the switch's.
pub fn from_of10(p: u16) -> OfpPort {
    OfpPort(u32::from(p))
}

/// The switch's port number in OpenFlow 1.0 (ports above 16 bits do not exist).
pub fn to_of10(p: OfpPort) -> u16 {
    u16::try_from(p.0).unwrap_or(u16::MAX)
}

/// An OpenFlow 1.1+ port number as the switch's.
///
/// # Errors
///
/// `OFPBAC_BAD_OUT_PORT` for a number between the 16-bit range and the reserved ports,
/// which no switch port can have.
pub fn from_of11(p: u32) -> Result<OfpPort, OfpError> {
    if p < 0xff00 {
        Ok(OfpPort(p))
    } else if p >= OFPP11_MAX {
        Ok(OfpPort(p - OFPP11_OFFSET))
    } else {
        Err(OfpError::BAC_BAD_OUT_PORT)
    }
}

/// The switch's port number in OpenFlow 1.1+.
pub fn to_of11(p: OfpPort) -> u32 {
    if p.0 < 0xff00 {
        p.0
    } else {
        p.0 + OFPP11_OFFSET
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reserved_ports_move() {
        assert_eq!(to_of11(OfpPort::LOCAL), 0xffff_fffe);
        assert_eq!(to_of11(OfpPort::CONTROLLER), 0xffff_fffd);
        assert_eq!(to_of11(OfpPort::ANY), 0xffff_ffff);
        assert_eq!(from_of11(0xffff_fffb), Ok(OfpPort::FLOOD));
        assert_eq!(to_of11(OfpPort(7)), 7);
        assert!(from_of11(0x1_0000).is_err());
    }

    proptest! {
        #[test]
        fn of11_round_trips(p in any::<u16>()) {
            let port = from_of10(p);
            prop_assert_eq!(from_of11(to_of11(port)), Ok(port));
            prop_assert_eq!(to_of10(port), p);
        }
    }
}
