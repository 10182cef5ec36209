//! [`Transport`]: OpenFlow framing over a non-blocking [`Stream`]: whole messages in, a
//! bounded queue of bytes out.
//!
//! A message is framed by the `length` field of its 8-byte header; a length under 8 cannot
//! be resynchronized and ends the connection. The output queue is bounded: past
//! [`TX_LIMIT`] bytes the peer is not reading and the connection is closed rather than
//! letting memory grow; asynchronous messages (packet-ins) are dropped earlier, past
//! [`TX_ASYNC_LIMIT`], so that replies to requests still fit.

use std::io::{self, Read, Write};

use super::stream::Stream;
use crate::ofp::msg::{self, DecodeError};

/// Bytes queued for a peer beyond which the peer is disconnected.
pub const TX_LIMIT: usize = 16 << 20;
/// Bytes queued beyond which asynchronous messages to a peer are dropped.
pub const TX_ASYNC_LIMIT: usize = 1 << 20;
/// Most bytes read from one connection per [`Transport::fill`], so that one busy peer does
/// not starve the main loop.
const RX_BUDGET: usize = 256 << 10;

/// Why a transport stopped.
#[derive(Debug)]
pub enum Closed {
    /// The peer closed the connection.
    Eof,
    /// A socket error.
    Io(io::Error),
    /// A message header with a length under 8 (with the error to send back).
    BadLength(DecodeError),
    /// The output queue overflowed.
    Overflow,
}

impl std::fmt::Display for Closed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Closed::Eof => f.write_str("connection closed by peer"),
            Closed::Io(e) => write!(f, "{e}"),
            Closed::BadLength(e) => write!(f, "cannot frame messages: {e}"),
            Closed::Overflow => write!(
                f,
                "peer does not read: more than {TX_LIMIT} bytes queued, disconnecting"
            ),
        }
    }
}

/// OpenFlow framing over a stream. See the [module docs](self).
#[derive(Debug)]
pub struct Transport {
    stream: Stream,
    rx: Vec<u8>,
    /// Start of the first unparsed byte in `rx`.
    rx_start: usize,
    tx: Vec<u8>,
    /// Start of the first unsent byte in `tx`.
    tx_start: usize,
    /// More input may be waiting (the read budget ran out).
    more: bool,
}

impl Transport {
    /// Frames `stream`.
    pub(crate) fn new(stream: Stream) -> Transport {
        Transport {
            stream,
            rx: Vec::new(),
            rx_start: 0,
            tx: Vec::new(),
            tx_start: 0,
            more: false,
        }
    }

    /// The stream's descriptor.
    pub(crate) fn fd(&self) -> std::os::fd::RawFd {
        self.stream.fd()
    }

    /// Reads what the socket has (up to a budget).
    ///
    /// # Errors
    ///
    /// [`Closed::Eof`] at end of stream (after the bytes before it were kept),
    /// [`Closed::Io`] on a socket error.
    pub(crate) fn fill(&mut self) -> Result<(), Closed> {
        if self.rx_start > 0 && self.rx_start == self.rx.len() {
            self.rx.clear();
            self.rx_start = 0;
        }
        let mut buf = [0u8; 16 << 10];
        let mut total = 0;
        self.more = false;
        loop {
            if total >= RX_BUDGET {
                self.more = true;
                return Ok(());
            }
            match self.stream.read(&mut buf) {
                Ok(0) => return Err(Closed::Eof),
                Ok(n) => {
                    self.rx.extend_from_slice(&buf[..n]);
                    total += n;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Closed::Io(e)),
            }
        }
    }

    /// The next whole message received, if one is buffered.
    ///
    /// # Errors
    ///
    /// [`Closed::BadLength`] for a header whose length is under 8.
    pub(crate) fn next_message(&mut self) -> Result<Option<Vec<u8>>, Closed> {
        let avail = &self.rx[self.rx_start..];
        let Some(len) = frame_len(avail)? else {
            return Ok(None);
        };
        let m = avail[..len].to_vec();
        self.rx_start += len;
        if self.rx_start == self.rx.len() {
            self.rx.clear();
            self.rx_start = 0;
        } else if self.rx_start > (64 << 10) {
            self.rx.drain(..self.rx_start);
            self.rx_start = 0;
        }
        Ok(Some(m))
    }

    /// Whether input may be waiting that the last [`Transport::fill`] left unread, or a
    /// whole message is buffered.
    pub(crate) fn has_pending_input(&self) -> bool {
        self.more || matches!(frame_len(&self.rx[self.rx_start..]), Ok(Some(_)) | Err(_))
    }

    /// Queues `bytes` for sending.
    ///
    /// # Errors
    ///
    /// [`Closed::Overflow`] when the queue would pass [`TX_LIMIT`].
    pub(crate) fn send(&mut self, bytes: &[u8]) -> Result<(), Closed> {
        if self.queued() + bytes.len() > TX_LIMIT {
            return Err(Closed::Overflow);
        }
        self.tx.extend_from_slice(bytes);
        Ok(())
    }

    /// Bytes queued and not yet written.
    pub(crate) fn queued(&self) -> usize {
        self.tx.len() - self.tx_start
    }

    /// Writes as much of the queue as the socket takes.
    ///
    /// # Errors
    ///
    /// [`Closed::Io`] on a socket error.
    pub(crate) fn flush(&mut self) -> Result<(), Closed> {
        while self.tx_start < self.tx.len() {
            match self.stream.write(&self.tx[self.tx_start..]) {
                Ok(0) => return Err(Closed::Eof),
                Ok(n) => self.tx_start += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Closed::Io(e)),
            }
        }
        if self.tx_start == self.tx.len() {
            self.tx.clear();
            self.tx_start = 0;
            if self.tx.capacity() > (1 << 20) {
                self.tx.shrink_to(64 << 10);
            }
        } else if self.tx_start > (1 << 20) {
            self.tx.drain(..self.tx_start);
            self.tx_start = 0;
        }
        Ok(())
    }
}

/// The length of the message at the start of `b`, if all of it is there.
///
/// # Errors
///
/// [`Closed::BadLength`] for a header whose length is under 8.
pub(crate) fn frame_len(b: &[u8]) -> Result<Option<usize>, Closed> {
    match msg::frame_len(b) {
        Ok(Some(len)) => Ok((b.len() >= len).then_some(len)),
        Ok(None) => Ok(None),
        Err(e) => Err(Closed::BadLength(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixStream;

    fn pair() -> (Transport, UnixStream) {
        let (a, b) = UnixStream::pair().unwrap();
        a.set_nonblocking(true).unwrap();
        (Transport::new(Stream::Unix(a)), b)
    }

    #[test]
    fn frames_split_and_joined_messages() {
        let (mut t, mut peer) = pair();
        let hello = [1u8, 0, 0, 8, 0, 0, 0, 1];
        let echo = [1u8, 2, 0, 12, 0, 0, 0, 2, 0xa, 0xb, 0xc, 0xd];
        // Two messages in one write, a third split across writes.
        let mut both = hello.to_vec();
        both.extend_from_slice(&echo);
        both.extend_from_slice(&hello[..3]);
        peer.write_all(&both).unwrap();
        t.fill().unwrap();
        assert_eq!(t.next_message().unwrap().unwrap(), hello);
        assert_eq!(t.next_message().unwrap().unwrap(), echo);
        assert_eq!(t.next_message().unwrap(), None);
        assert!(!t.has_pending_input());
        peer.write_all(&hello[3..]).unwrap();
        t.fill().unwrap();
        assert_eq!(t.next_message().unwrap().unwrap(), hello);
        drop(peer);
        assert!(matches!(t.fill(), Err(Closed::Eof)));
    }

    #[test]
    fn a_length_under_8_closes() {
        let (mut t, mut peer) = pair();
        peer.write_all(&[1, 0, 0, 4, 0, 0, 0, 0]).unwrap();
        t.fill().unwrap();
        assert!(matches!(t.next_message(), Err(Closed::BadLength(_))));
    }

    #[test]
    fn output_is_bounded() {
        let (mut t, _peer) = pair();
        let chunk = vec![0u8; 1 << 20];
        // The peer reads nothing: the socket buffer fills, then the queue.
        let mut overflowed = false;
        for _ in 0..(TX_LIMIT >> 20) + 8 {
            match t.send(&chunk) {
                Ok(()) => t.flush().unwrap(),
                Err(Closed::Overflow) => {
                    overflowed = true;
                    break;
                }
                Err(e) => panic!("{e}"),
            }
        }
        assert!(overflowed);
        assert!(t.queued() <= TX_LIMIT);
    }

    #[test]
    fn flush_delivers_everything() {
        let (mut t, mut peer) = pair();
        t.send(b"abcdefgh").unwrap();
        t.flush().unwrap();
        assert_eq!(t.queued(), 0);
        let mut buf = [0u8; 8];
        peer.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"abcdefgh");
    }

    proptest::proptest! {
        #[test]
        fn frame_len_never_panics(b in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..32)) {
            let _ = frame_len(&b);
        }
    }
}
