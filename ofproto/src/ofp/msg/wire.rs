//! Reading and writing big-endian fields: a bounds-checked reader whose every short read
//! is `OFPBRC_BAD_LEN`, and appenders on `Vec<u8>`.

use crate::error::OfpError;

/// A cursor over a message body; no read panics, a short read is `OFPBRC_BAD_LEN`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Rd<'a> {
    b: &'a [u8],
}

impl<'a> Rd<'a> {
    pub(crate) fn new(b: &'a [u8]) -> Rd<'a> {
        Rd { b }
    }

    pub(crate) fn remaining(&self) -> usize {
        self.b.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.b.is_empty()
    }

    /// The rest, consumed.
    pub(crate) fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.b)
    }

    /// A copy of the rest, not consumed.
    pub(crate) fn rest_copy(&self) -> Vec<u8> {
        self.b.to_vec()
    }

    pub(crate) fn bytes(&mut self, n: usize) -> Result<&'a [u8], OfpError> {
        if n > self.b.len() {
            return Err(OfpError::BRC_BAD_LEN);
        }
        let (head, tail) = self.b.split_at(n);
        self.b = tail;
        Ok(head)
    }

    pub(crate) fn skip(&mut self, n: usize) -> Result<(), OfpError> {
        self.bytes(n).map(|_| ())
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], OfpError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.bytes(N)?);
        Ok(a)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, OfpError> {
        Ok(self.array::<1>()?[0])
    }

    pub(crate) fn u16(&mut self) -> Result<u16, OfpError> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    pub(crate) fn u32(&mut self) -> Result<u32, OfpError> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    pub(crate) fn u64(&mut self) -> Result<u64, OfpError> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    /// A NUL-padded string field of `n` bytes.
    pub(crate) fn string(&mut self, n: usize) -> Result<String, OfpError> {
        let b = self.bytes(n)?;
        let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
        Ok(String::from_utf8_lossy(&b[..end]).into_owned())
    }
}

/// Big-endian appenders.
pub(crate) trait Put {
    fn u8(&mut self, v: u8);
    fn u16(&mut self, v: u16);
    fn u32(&mut self, v: u32);
    fn u64(&mut self, v: u64);
    fn zeros(&mut self, n: usize);
    /// `s` NUL-padded to `n` bytes, cut to `n - 1` so a NUL always ends it.
    fn string(&mut self, s: &str, n: usize);
}

impl Put for Vec<u8> {
    fn u8(&mut self, v: u8) {
        self.push(v);
    }
    fn u16(&mut self, v: u16) {
        self.extend_from_slice(&v.to_be_bytes());
    }
    fn u32(&mut self, v: u32) {
        self.extend_from_slice(&v.to_be_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.extend_from_slice(&v.to_be_bytes());
    }
    fn zeros(&mut self, n: usize) {
        self.resize(self.len() + n, 0);
    }
    fn string(&mut self, s: &str, n: usize) {
        let b = s.as_bytes();
        let k = b.len().min(n.saturating_sub(1));
        self.extend_from_slice(&b[..k]);
        self.zeros(n - k);
    }
}

/// Overwrites the big-endian `u16` at `at` (a length placeholder written earlier).
pub(crate) fn patch_u16(out: &mut [u8], at: usize, v: u16) {
    if let Some(s) = out.get_mut(at..at + 2) {
        s.copy_from_slice(&v.to_be_bytes());
    }
}

/// The length from `start` to the end of `out` as a `u16` length field.
pub(crate) fn len16(out: &[u8], start: usize) -> Result<u16, OfpError> {
    u16::try_from(out.len() - start).map_err(|_| OfpError::BRC_BAD_LEN)
}

/// Zero bytes to pad `len` to a multiple of 8.
pub(crate) fn pad8(len: usize) -> usize {
    (8 - len % 8) % 8
}
