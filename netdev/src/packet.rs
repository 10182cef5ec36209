//! Packet buffers with headroom, metadata and a per-thread recycling pool.
//!
//! A [`Packet`] owns a heap buffer and a window `[head, head + len)` into it that holds the
//! frame. The space in front of the window (the *headroom*, [`DEFAULT_HEADROOM`] bytes when
//! the packet is made) lets a VLAN or tunnel header be pushed without moving the payload.
//!
//! Buffers come in two sizes: *small* ones hold a standard frame (up to [`SMALL_DATA`]
//! bytes) and *large* ones a GSO super-frame (up to [`LARGE_DATA`] bytes). When a packet is
//! dropped its buffer goes back to a bounded pool owned by the dropping thread, and the next
//! packet made on that thread takes it from there: a poll thread that receives and sends
//! packets in a steady stream allocates nothing.
//!
//! No method here panics: offsets past the end are clamped or refused, as each method says.

use std::cell::RefCell;
use std::fmt;

use crate::offload::Offload;

/// Bytes kept free in front of a new packet's data: room for two VLAN tags and an
/// IPv6+UDP tunnel header (OVS reserves 6; we keep room for native tunnels too).
pub const DEFAULT_HEADROOM: usize = 128;

/// The largest frame a small buffer holds: a 1500-byte MTU frame with two VLAN tags fits;
/// jumbo frames and GSO super-frames use large buffers.
pub const SMALL_DATA: usize = 2048 - DEFAULT_HEADROOM;

/// The largest frame a large buffer holds: a 64 KiB GSO super-frame plus its L2 header.
pub const LARGE_DATA: usize = 65536 + 256;

const SMALL_CAP: usize = DEFAULT_HEADROOM + SMALL_DATA;
const LARGE_CAP: usize = DEFAULT_HEADROOM + LARGE_DATA;

/// Most small buffers one thread keeps for reuse.
const POOL_SMALL_MAX: usize = 1024;
/// Most large buffers one thread keeps for reuse (64 KiB each).
const POOL_LARGE_MAX: usize = 128;

/// Offset value that means "not set" in [`PacketMeta`]'s layer offsets.
pub const OFS_UNSET: u16 = u16::MAX;

struct Pool {
    small: Vec<Box<[u8]>>,
    large: Vec<Box<[u8]>>,
}

thread_local! {
    static POOL: RefCell<Pool> = const { RefCell::new(Pool { small: Vec::new(), large: Vec::new() }) };
}

fn take_buffer(cap: usize) -> Box<[u8]> {
    let reused = POOL
        .try_with(|pool| {
            let mut pool = pool.try_borrow_mut().ok()?;
            match cap {
                SMALL_CAP => pool.small.pop(),
                LARGE_CAP => pool.large.pop(),
                _ => None,
            }
        })
        .ok()
        .flatten();
    reused.unwrap_or_else(|| vec![0u8; cap].into_boxed_slice())
}

fn give_buffer(buf: Box<[u8]>) {
    // During thread teardown the pool may be gone: then the buffer is simply freed.
    let _ = POOL.try_with(|pool| {
        if let Ok(mut pool) = pool.try_borrow_mut() {
            match buf.len() {
                SMALL_CAP if pool.small.len() < POOL_SMALL_MAX => pool.small.push(buf),
                LARGE_CAP if pool.large.len() < POOL_LARGE_MAX => pool.large.push(buf),
                _ => {}
            }
        }
    });
}

/// The kind of packet: OVS's `packet_type`, a namespace and a type within it.
///
/// Namespace 0 (`OFPHTN_ONF`) with type 0 is an Ethernet frame, the only kind most ports
/// carry; namespace 1 (`OFPHTN_ETHERTYPE`) holds L3 packets keyed by their ethertype.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct PacketType(pub u32);

impl PacketType {
    /// An Ethernet frame (`packet_type(ns=0,id=0)`).
    pub const ETHERNET: PacketType = PacketType(0);

    /// Builds a packet type from its namespace and type.
    pub const fn new(ns: u16, id: u16) -> Self {
        PacketType(((ns as u32) << 16) | id as u32)
    }

    /// The namespace.
    pub const fn ns(self) -> u16 {
        (self.0 >> 16) as u16
    }

    /// The type within the namespace.
    pub const fn id(self) -> u16 {
        (self.0 & 0xffff) as u16
    }
}

/// What the datapath knows about a packet besides its bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PacketMeta {
    /// The datapath port number the packet arrived on.
    pub in_port: u32,
    /// A hash of the packet's flow (RSS hash from the device, or computed), if known.
    pub rss_hash: Option<u32>,
    /// `skb_priority`: the queue priority (Linux `skb->priority`).
    pub skb_priority: u32,
    /// `skb_mark`: the firewall mark (Linux `skb->mark`).
    pub skb_mark: u32,
    /// The recirculation id: 0 for a packet fresh from a port.
    pub recirc_id: u32,
    /// The hash computed by a datapath `hash` action.
    pub dp_hash: u32,
    /// The kind of packet; Ethernet unless a port says otherwise.
    pub packet_type: PacketType,
    /// Offset of the L2 header in the data, or [`OFS_UNSET`].
    pub l2_ofs: u16,
    /// Offset of the L3 header in the data, or [`OFS_UNSET`].
    pub l3_ofs: u16,
    /// Offset of the L4 header in the data, or [`OFS_UNSET`].
    pub l4_ofs: u16,
}

impl Default for PacketMeta {
    fn default() -> Self {
        PacketMeta {
            in_port: 0,
            rss_hash: None,
            skb_priority: 0,
            skb_mark: 0,
            recirc_id: 0,
            dp_hash: 0,
            packet_type: PacketType::ETHERNET,
            l2_ofs: OFS_UNSET,
            l3_ofs: OFS_UNSET,
            l4_ofs: OFS_UNSET,
        }
    }
}

/// One packet: a frame in a buffer with headroom, its metadata and its offload state.
pub struct Packet {
    buf: Box<[u8]>,
    head: usize,
    len: usize,
    /// Metadata: input port, hash, layer offsets.
    pub md: PacketMeta,
    /// Checksum and segmentation work left to do (see [`Offload`]).
    pub offload: Offload,
}

impl Packet {
    /// Makes an empty packet in a small buffer, with [`DEFAULT_HEADROOM`] bytes of headroom.
    pub fn new() -> Self {
        Self::with_buffer(take_buffer(SMALL_CAP))
    }

    /// Makes an empty packet whose buffer holds at least `data_capacity` bytes after the
    /// headroom: a small buffer when that fits, a large one up to [`LARGE_DATA`], and an
    /// exact allocation (not pooled) beyond that.
    pub fn with_capacity(data_capacity: usize) -> Self {
        let cap = if data_capacity <= SMALL_DATA {
            SMALL_CAP
        } else if data_capacity <= LARGE_DATA {
            LARGE_CAP
        } else {
            DEFAULT_HEADROOM + data_capacity
        };
        Self::with_buffer(take_buffer(cap))
    }

    /// Makes an empty packet in a large buffer, able to receive a GSO super-frame.
    pub fn new_large() -> Self {
        Self::with_buffer(take_buffer(LARGE_CAP))
    }

    /// Makes a packet holding a copy of `bytes`.
    pub fn from_slice(bytes: &[u8]) -> Self {
        let mut p = Self::with_capacity(bytes.len());
        p.buf[DEFAULT_HEADROOM..DEFAULT_HEADROOM + bytes.len()].copy_from_slice(bytes);
        p.len = bytes.len();
        p
    }

    fn with_buffer(buf: Box<[u8]>) -> Self {
        let head = DEFAULT_HEADROOM.min(buf.len());
        Packet {
            buf,
            head,
            len: 0,
            md: PacketMeta::default(),
            offload: Offload::default(),
        }
    }

    /// Copies this packet (bytes, metadata and offload state) into a new pooled buffer.
    pub fn clone_packet(&self) -> Packet {
        let mut p = Packet::from_slice(self.data());
        p.md = self.md;
        p.offload = self.offload;
        p
    }

    /// The frame's bytes.
    #[inline]
    pub fn data(&self) -> &[u8] {
        &self.buf[self.head..self.head + self.len]
    }

    /// The frame's bytes, writable.
    #[inline]
    pub fn data_mut(&mut self) -> &mut [u8] {
        &mut self.buf[self.head..self.head + self.len]
    }

    /// The frame's length in bytes.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the frame is empty.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Free bytes in front of the frame.
    #[inline]
    pub fn headroom(&self) -> usize {
        self.head
    }

    /// Free bytes after the frame.
    #[inline]
    pub fn tailroom(&self) -> usize {
        self.buf.len() - self.head - self.len
    }

    /// Empties the packet and resets headroom, metadata and offload state, keeping the
    /// buffer.
    pub fn clear(&mut self) {
        self.head = DEFAULT_HEADROOM.min(self.buf.len());
        self.len = 0;
        self.md = PacketMeta::default();
        self.offload = Offload::default();
    }

    /// The writable space from the start of the frame to the end of the buffer, for a
    /// device to receive into; follow with [`Packet::set_len`].
    #[inline]
    pub fn recv_space(&mut self) -> &mut [u8] {
        &mut self.buf[self.head..]
    }

    /// Sets the frame's length, clamped to the space after the headroom. Bytes that become
    /// part of the frame keep whatever the buffer held (see [`Packet::recv_space`]).
    #[inline]
    pub fn set_len(&mut self, len: usize) {
        self.len = len.min(self.buf.len() - self.head);
    }

    /// Shortens the frame to `len` bytes; does nothing if it is already shorter.
    #[inline]
    pub fn truncate(&mut self, len: usize) {
        self.len = self.len.min(len);
    }

    /// Appends `bytes` to the frame, moving it to a bigger buffer if the tail is full.
    pub fn extend_from_slice(&mut self, bytes: &[u8]) {
        self.reserve_tail(bytes.len());
        let end = self.head + self.len;
        self.buf[end..end + bytes.len()].copy_from_slice(bytes);
        self.len += bytes.len();
    }

    /// Adds `n` bytes in front of the frame and returns them (their content is whatever the
    /// headroom held). Moves the frame to a bigger buffer if the headroom is too small.
    pub fn push_front(&mut self, n: usize) -> &mut [u8] {
        if self.head < n {
            self.regrow(n + DEFAULT_HEADROOM, 0);
        }
        self.head -= n;
        self.len += n;
        &mut self.buf[self.head..self.head + n]
    }

    /// Removes `n` bytes from the front of the frame (all of it if it is shorter).
    pub fn pull_front(&mut self, n: usize) {
        let n = n.min(self.len);
        self.head += n;
        self.len -= n;
    }

    /// Opens a gap of `n` bytes at `offset` into the frame by moving the first `offset`
    /// bytes into the headroom, and returns the gap. This is how a VLAN tag is pushed after
    /// the MAC addresses without moving the payload. `offset` is clamped to the frame.
    pub fn insert_at(&mut self, offset: usize, n: usize) -> &mut [u8] {
        let offset = offset.min(self.len);
        if self.head < n {
            self.regrow(n + DEFAULT_HEADROOM, 0);
        }
        let old = self.head;
        self.head -= n;
        self.buf.copy_within(old..old + offset, self.head);
        self.len += n;
        let gap = self.head + offset;
        &mut self.buf[gap..gap + n]
    }

    /// Removes `n` bytes at `offset` by moving the first `offset` bytes forward (the inverse
    /// of [`Packet::insert_at`]). Does nothing unless `offset + n` lies within the frame.
    pub fn remove_at(&mut self, offset: usize, n: usize) {
        if offset.checked_add(n).is_none_or(|end| end > self.len) {
            return;
        }
        self.buf
            .copy_within(self.head..self.head + offset, self.head + n);
        self.head += n;
        self.len -= n;
    }

    fn reserve_tail(&mut self, n: usize) {
        if self.tailroom() < n {
            self.regrow(self.head, n);
        }
    }

    /// Moves the frame into a new buffer with at least `headroom` bytes in front and
    /// `tailroom` after.
    fn regrow(&mut self, headroom: usize, tailroom: usize) {
        let need = self.len + tailroom;
        let cap = if headroom <= DEFAULT_HEADROOM && need <= SMALL_DATA {
            SMALL_CAP
        } else if headroom <= DEFAULT_HEADROOM && need <= LARGE_DATA {
            LARGE_CAP
        } else {
            headroom.max(DEFAULT_HEADROOM) + need
        };
        let mut buf = take_buffer(cap);
        let head = cap - need.min(cap);
        let head = head.min(headroom.max(DEFAULT_HEADROOM));
        buf[head..head + self.len].copy_from_slice(self.data());
        let old = std::mem::replace(&mut self.buf, buf);
        give_buffer(old);
        self.head = head;
    }
}

impl Default for Packet {
    fn default() -> Self {
        Packet::new()
    }
}

impl Drop for Packet {
    fn drop(&mut self) {
        let buf = std::mem::take(&mut self.buf);
        give_buffer(buf);
    }
}

impl fmt::Debug for Packet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Packet")
            .field("len", &self.len)
            .field("headroom", &self.head)
            .field("md", &self.md)
            .field("offload", &self.offload)
            .finish()
    }
}

impl PartialEq for Packet {
    /// Two packets are equal when their bytes are; metadata is not compared.
    fn eq(&self, other: &Self) -> bool {
        self.data() == other.data()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_slice_keeps_bytes_and_headroom() {
        let p = Packet::from_slice(&[1, 2, 3]);
        assert_eq!(p.data(), &[1, 2, 3]);
        assert_eq!(p.headroom(), DEFAULT_HEADROOM);
        assert_eq!(p.len(), 3);
    }

    #[test]
    fn push_and_pull_front() {
        let mut p = Packet::from_slice(&[5, 6]);
        p.push_front(2).copy_from_slice(&[3, 4]);
        assert_eq!(p.data(), &[3, 4, 5, 6]);
        assert_eq!(p.headroom(), DEFAULT_HEADROOM - 2);
        p.pull_front(3);
        assert_eq!(p.data(), &[6]);
        p.pull_front(10);
        assert!(p.is_empty());
    }

    #[test]
    fn push_front_beyond_headroom_regrows() {
        let mut p = Packet::from_slice(&[9; 10]);
        let n = DEFAULT_HEADROOM + 50;
        p.push_front(n).fill(1);
        assert_eq!(p.len(), n + 10);
        assert!(p.data()[..n].iter().all(|&b| b == 1));
        assert!(p.data()[n..].iter().all(|&b| b == 9));
    }

    #[test]
    fn insert_and_remove_at_shift_only_the_front() {
        let frame: Vec<u8> = (0..20).collect();
        let mut p = Packet::from_slice(&frame);
        p.insert_at(12, 4)
            .copy_from_slice(&[0x81, 0x00, 0x00, 0x0a]);
        assert_eq!(&p.data()[..12], &frame[..12]);
        assert_eq!(&p.data()[12..16], &[0x81, 0x00, 0x00, 0x0a]);
        assert_eq!(&p.data()[16..], &frame[12..]);
        p.remove_at(12, 4);
        assert_eq!(p.data(), &frame[..]);
        // Out of range: nothing happens.
        p.remove_at(18, 4);
        assert_eq!(p.data(), &frame[..]);
    }

    #[test]
    fn extend_grows_into_a_large_buffer() {
        let mut p = Packet::new();
        p.extend_from_slice(&vec![7u8; SMALL_DATA]);
        p.extend_from_slice(&[8u8; 100]);
        assert_eq!(p.len(), SMALL_DATA + 100);
        assert_eq!(p.data()[SMALL_DATA], 8);
    }

    #[test]
    fn buffers_are_recycled_on_the_same_thread() {
        let p = Packet::from_slice(&[1, 2, 3]);
        let addr = p.buf.as_ptr();
        drop(p);
        let q = Packet::new();
        assert_eq!(q.buf.as_ptr(), addr, "the dropped buffer is reused");
        assert!(q.is_empty());
    }

    #[test]
    fn set_len_is_clamped() {
        let mut p = Packet::new();
        p.set_len(usize::MAX);
        assert_eq!(p.len(), SMALL_DATA);
        p.truncate(4);
        assert_eq!(p.len(), 4);
    }

    #[test]
    fn packet_type_parts() {
        let t = PacketType::new(1, 0x0800);
        assert_eq!((t.ns(), t.id()), (1, 0x0800));
        assert_eq!(PacketType::ETHERNET, PacketType::new(0, 0));
    }
}
