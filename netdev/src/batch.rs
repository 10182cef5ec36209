//! Batches of packets: the unit of work of every receive, send and datapath step.

use crate::packet::Packet;

/// The most packets in one batch (OVS's `NETDEV_MAX_BURST`).
pub const MAX_BURST: usize = 32;

/// Up to [`MAX_BURST`] packets.
///
/// A batch reserves room for [`MAX_BURST`] packets when made, so pushing and draining never
/// allocate.
#[derive(Debug, Default)]
pub struct PacketBatch {
    pkts: Vec<Packet>,
}

impl PacketBatch {
    /// Makes an empty batch.
    pub fn new() -> Self {
        PacketBatch {
            pkts: Vec::with_capacity(MAX_BURST),
        }
    }

    /// How many packets the batch holds.
    #[inline]
    pub fn len(&self) -> usize {
        self.pkts.len()
    }

    /// Whether the batch is empty.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.pkts.is_empty()
    }

    /// Whether the batch holds [`MAX_BURST`] packets.
    #[inline]
    pub fn is_full(&self) -> bool {
        self.pkts.len() >= MAX_BURST
    }

    /// Room left in the batch.
    #[inline]
    pub fn room(&self) -> usize {
        MAX_BURST.saturating_sub(self.pkts.len())
    }

    /// Adds a packet; gives it back if the batch is full.
    #[inline]
    pub fn push(&mut self, pkt: Packet) -> Result<(), Packet> {
        if self.is_full() {
            return Err(pkt);
        }
        self.pkts.push(pkt);
        Ok(())
    }

    /// Removes and returns the last packet.
    #[inline]
    pub fn pop(&mut self) -> Option<Packet> {
        self.pkts.pop()
    }

    /// The packets.
    #[inline]
    pub fn packets(&self) -> &[Packet] {
        &self.pkts
    }

    /// The packets, writable.
    #[inline]
    pub fn packets_mut(&mut self) -> &mut [Packet] {
        &mut self.pkts
    }

    /// Iterates over the packets.
    pub fn iter(&self) -> std::slice::Iter<'_, Packet> {
        self.pkts.iter()
    }

    /// Iterates over the packets, writable.
    pub fn iter_mut(&mut self) -> std::slice::IterMut<'_, Packet> {
        self.pkts.iter_mut()
    }

    /// Removes every packet, in order.
    pub fn drain(&mut self) -> std::vec::Drain<'_, Packet> {
        self.pkts.drain(..)
    }

    /// Keeps only the packets for which `keep` returns true (in order); the others are
    /// dropped, which returns their buffers to the pool.
    pub fn retain(&mut self, keep: impl FnMut(&mut Packet) -> bool) {
        self.pkts.retain_mut(keep);
    }

    /// Drops every packet.
    pub fn clear(&mut self) {
        self.pkts.clear();
    }

    /// Shortens the batch to `len` packets.
    pub fn truncate(&mut self, len: usize) {
        self.pkts.truncate(len);
    }

    /// Total bytes in the batch.
    pub fn bytes(&self) -> usize {
        self.pkts.iter().map(Packet::len).sum()
    }
}

impl<'a> IntoIterator for &'a PacketBatch {
    type Item = &'a Packet;
    type IntoIter = std::slice::Iter<'a, Packet>;
    fn into_iter(self) -> Self::IntoIter {
        self.pkts.iter()
    }
}

impl<'a> IntoIterator for &'a mut PacketBatch {
    type Item = &'a mut Packet;
    type IntoIter = std::slice::IterMut<'a, Packet>;
    fn into_iter(self) -> Self::IntoIter {
        self.pkts.iter_mut()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_at_most_a_burst() {
        let mut b = PacketBatch::new();
        for i in 0..32u8 {
            assert!(b.push(Packet::from_slice(&[i])).is_ok());
        }
        assert!(b.is_full());
        let back = b.push(Packet::from_slice(&[99])).unwrap_err();
        assert_eq!(back.data(), &[99]);
        assert_eq!(b.len(), MAX_BURST);
        assert_eq!(b.bytes(), MAX_BURST);
    }

    #[test]
    fn drain_keeps_order_and_capacity() {
        let mut b = PacketBatch::new();
        for i in 0..3u8 {
            b.push(Packet::from_slice(&[i])).unwrap();
        }
        let got: Vec<u8> = b.drain().map(|p| p.data()[0]).collect();
        assert_eq!(got, vec![0, 1, 2]);
        assert!(b.is_empty());
        assert!(b.pkts.capacity() >= MAX_BURST);
    }

    #[test]
    fn retain_filters_in_order() {
        let mut b = PacketBatch::new();
        for i in 0..6u8 {
            b.push(Packet::from_slice(&[i])).unwrap();
        }
        b.retain(|p| p.data()[0] % 2 == 0);
        let got: Vec<u8> = b.iter().map(|p| p.data()[0]).collect();
        assert_eq!(got, vec![0, 2, 4]);
    }
}
