//! Unique flow identifiers.

use std::fmt;
use std::str::FromStr;

use super::hash::hash_words;
use super::key::FlowKey;

/// A 128-bit unique flow identifier (OVS's `ovs_u128` UFID): the datapath indexes flows by
/// it, and revalidators dump and delete by it without sending whole keys.
///
/// Printed like a UUID: `c5a795cf-885f-4cb4-a858-6153781dd262`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ufid(pub u128);

impl Ufid {
    /// The UFID of a flow whose (exact) key is `key`, as OVS derives it from the upcall key.
    pub fn from_key(key: &FlowKey) -> Ufid {
        let hi = hash_words(key.words(), 0x5546_4944_0000_0001);
        let lo = hash_words(key.words(), 0x5546_4944_0000_0002);
        Ufid((u128::from(hi) << 64) | u128::from(lo))
    }

    /// The UFID as 16 bytes in the order OVS sends `OVS_FLOW_ATTR_UFID` (four native-endian
    /// 32-bit words, most significant first as printed).
    pub fn to_bytes(self) -> [u8; 16] {
        let mut b = [0u8; 16];
        for (i, chunk) in b.chunks_exact_mut(4).enumerate() {
            let shift = 96 - 32 * i;
            // The mask keeps 32 bits.
            let word = ((self.0 >> shift) & 0xffff_ffff) as u32;
            chunk.copy_from_slice(&word.to_ne_bytes());
        }
        b
    }

    /// The inverse of [`Ufid::to_bytes`]; `None` unless `bytes` has 16 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Option<Ufid> {
        if bytes.len() != 16 {
            return None;
        }
        let mut v = 0u128;
        for chunk in bytes.chunks_exact(4) {
            let word = u32::from_ne_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
            v = (v << 32) | u128::from(word);
        }
        Some(Ufid(v))
    }
}

impl fmt::Display for Ufid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = self.0;
        write!(
            f,
            "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
            v >> 96,
            (v >> 80) & 0xffff,
            (v >> 64) & 0xffff,
            (v >> 48) & 0xffff,
            v & 0xffff_ffff_ffff
        )
    }
}

/// The error of parsing a [`Ufid`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid UFID \"{0}\" (expected xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)")]
pub struct ParseUfidError(pub String);

impl FromStr for Ufid {
    type Err = ParseUfidError;

    /// Parses the UUID form, with or without a leading `ufid:`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ParseUfidError(s.to_owned());
        let t = s.strip_prefix("ufid:").unwrap_or(s);
        let groups: Vec<&str> = t.split('-').collect();
        let lens = [8, 4, 4, 4, 12];
        if groups.len() != lens.len() {
            return Err(err());
        }
        let mut v = 0u128;
        for (g, len) in groups.iter().zip(lens) {
            if g.len() != len || !g.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(err());
            }
            v = (v << (4 * len)) | u128::from_str_radix(g, 16).map_err(|_| err())?;
        }
        Ok(Ufid(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn uuid_form() {
        let u: Ufid = "ufid:c5a795cf-885f-4cb4-a858-6153781dd262".parse().unwrap();
        assert_eq!(u.to_string(), "c5a795cf-885f-4cb4-a858-6153781dd262");
        assert!("c5a795cf-885f-4cb4-a858".parse::<Ufid>().is_err());
        assert!(
            "g5a795cf-885f-4cb4-a858-6153781dd262"
                .parse::<Ufid>()
                .is_err()
        );
    }

    #[test]
    fn different_keys_different_ufids() {
        let a = FlowKey::zero();
        let mut b = a;
        b.in_port = 1;
        assert_ne!(Ufid::from_key(&a), Ufid::from_key(&b));
        assert_eq!(Ufid::from_key(&b), Ufid::from_key(&b));
    }

    proptest! {
        #[test]
        fn round_trips(v in any::<u128>()) {
            let u = Ufid(v);
            prop_assert_eq!(u.to_string().parse::<Ufid>(), Ok(u));
            prop_assert_eq!(Ufid::from_bytes(&u.to_bytes()), Some(u));
        }

        #[test]
        fn parse_never_panics(s in ".{0,50}") {
            let _ = s.parse::<Ufid>();
        }
    }
}
