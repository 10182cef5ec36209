//! Ethernet (MAC) addresses.

use std::fmt;
use std::str::FromStr;

/// A 48-bit Ethernet address, printed and parsed as `xx:xx:xx:xx:xx:xx`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EthAddr(pub [u8; 6]);

impl EthAddr {
    /// `00:00:00:00:00:00`.
    pub const ZERO: EthAddr = EthAddr([0; 6]);
    /// `ff:ff:ff:ff:ff:ff`.
    pub const BROADCAST: EthAddr = EthAddr([0xff; 6]);

    /// Whether the group bit is set (multicast or broadcast).
    pub fn is_multicast(&self) -> bool {
        self.0[0] & 1 != 0
    }

    /// Whether this is the broadcast address.
    pub fn is_broadcast(&self) -> bool {
        *self == Self::BROADCAST
    }

    /// Whether every bit is zero.
    pub fn is_zero(&self) -> bool {
        *self == Self::ZERO
    }

    /// Whether the locally administered bit is set.
    pub fn is_local(&self) -> bool {
        self.0[0] & 2 != 0
    }

    /// Reads an address from the first six bytes of `bytes`, if there are six.
    pub fn from_slice(bytes: &[u8]) -> Option<EthAddr> {
        Some(EthAddr(bytes.get(..6)?.try_into().ok()?))
    }
}

impl From<[u8; 6]> for EthAddr {
    fn from(b: [u8; 6]) -> Self {
        EthAddr(b)
    }
}

impl fmt::Display for EthAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = &self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }
}

/// The error of parsing an [`EthAddr`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid Ethernet address \"{0}\" (expected xx:xx:xx:xx:xx:xx)")]
pub struct ParseEthAddrError(pub String);

impl FromStr for EthAddr {
    type Err = ParseEthAddrError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ParseEthAddrError(s.to_owned());
        let mut out = [0u8; 6];
        let mut parts = s.split(':');
        for byte in out.iter_mut() {
            let part = parts.next().ok_or_else(err)?;
            if part.is_empty() || part.len() > 2 {
                return Err(err());
            }
            *byte = u8::from_str_radix(part, 16).map_err(|_| err())?;
        }
        if parts.next().is_some() {
            return Err(err());
        }
        Ok(EthAddr(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn display_and_parse() {
        let a: EthAddr = "02:00:00:00:01:0a".parse().unwrap();
        assert_eq!(a.0, [2, 0, 0, 0, 1, 10]);
        assert_eq!(a.to_string(), "02:00:00:00:01:0a");
        assert!("02:00:00:00:01".parse::<EthAddr>().is_err());
        assert!("02:00:00:00:01:0a:0b".parse::<EthAddr>().is_err());
        assert!("02:00:00:00:01:zz".parse::<EthAddr>().is_err());
        assert!(EthAddr::BROADCAST.is_multicast() && EthAddr::BROADCAST.is_broadcast());
    }

    proptest! {
        #[test]
        fn round_trip(b in any::<[u8; 6]>()) {
            let a = EthAddr(b);
            prop_assert_eq!(a.to_string().parse::<EthAddr>(), Ok(a));
        }

        #[test]
        fn parse_never_panics(s in ".{0,40}") {
            let _ = s.parse::<EthAddr>();
        }
    }
}
