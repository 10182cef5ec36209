//! Generic netlink transport for dpif-netlink: a socket with sequence numbers, batched
//! requests (several messages in one `send`, acknowledgements matched by sequence number),
//! dumps, and the resolution of generic netlink families and multicast groups.
//!
//! Built on `netlink-sys` (the socket) and `netlink-packet-core`/`-generic` (headers,
//! attributes, the `nlctrl` family's attributes). Every OVS family's message carries
//! `struct ovs_header { int dp_ifindex; }` after the generic netlink header; messages of the
//! `nlctrl` family do not.
//!
//! Nothing here panics on malformed input: a reply that does not parse is an
//! [`Error::Decode`].

use std::collections::VecDeque;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};

use netlink_packet_core::{
    NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST, NLMSG_DONE, NLMSG_ERROR, NLMSG_NOOP, NLMSG_OVERRUN, Nla,
    NlaBuffer, NlasIterator, Parseable,
};
use netlink_packet_generic::ctrl::nlas::{GenlCtrlAttrs, McastGrpAttrs};
use netlink_sys::{Socket, protocols::NETLINK_GENERIC};
use nix::errno::Errno;

use crate::error::{Error, Result};

/// The `nlctrl` family's fixed id (`GENL_ID_CTRL`).
pub(crate) const GENL_ID_CTRL: u16 = 0x10;
/// `CTRL_CMD_GETFAMILY`.
const CTRL_CMD_GETFAMILY: u8 = 3;
/// Length of `struct nlmsghdr`.
pub(crate) const NLMSG_HDRLEN: usize = 16;
/// Length of `struct genlmsghdr`.
pub(crate) const GENL_HDRLEN: usize = 4;
/// Length of `struct ovs_header`.
pub(crate) const OVS_HDRLEN: usize = 4;
/// Most messages sent in one `send`.
pub(crate) const MAX_BATCH: usize = 64;
/// Most bytes sent in one `send` (well under the default socket send buffer).
const MAX_BATCH_BYTES: usize = 96 * 1024;
/// Receive buffer for one datagram: large enough for a dump chunk or an upcall of a
/// 64 KiB packet with its key.
pub(crate) const RECV_BUF: usize = 128 * 1024;
/// Requested socket receive buffer size.
const SO_RCVBUF_BYTES: usize = 4 * 1024 * 1024;

/// Rounds up to the netlink alignment (4).
pub(crate) fn align4(n: usize) -> usize {
    (n + 3) & !3
}

/// One request message to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Request {
    /// The family id (`nlmsg_type`).
    pub family: u16,
    /// The generic netlink command.
    pub cmd: u8,
    /// The family version.
    pub version: u8,
    /// `NLM_F_*` flags besides `NLM_F_REQUEST` and `NLM_F_ACK`, which the transport adds.
    pub flags: u16,
    /// `ovs_header.dp_ifindex`, for OVS families; `None` for `nlctrl`.
    pub dp_ifindex: Option<i32>,
    /// The attributes, already emitted.
    pub attrs: Vec<u8>,
}

impl Request {
    /// Appends this message, with sequence number `seq` and port id `pid`, to `out`.
    ///
    /// # Errors
    ///
    /// [`Error::TooBig`] if the message does not fit the 32-bit length.
    pub(crate) fn encode(
        &self,
        extra_flags: u16,
        seq: u32,
        pid: u32,
        out: &mut Vec<u8>,
    ) -> Result<()> {
        let hdr = NLMSG_HDRLEN
            + GENL_HDRLEN
            + if self.dp_ifindex.is_some() {
                OVS_HDRLEN
            } else {
                0
            };
        let total = hdr + align4(self.attrs.len());
        let len = u32::try_from(total).map_err(|_| Error::TooBig {
            op: "netlink request",
            msg: format!("{total} bytes"),
        })?;
        out.extend_from_slice(&len.to_ne_bytes());
        out.extend_from_slice(&self.family.to_ne_bytes());
        out.extend_from_slice(&(self.flags | extra_flags | NLM_F_REQUEST).to_ne_bytes());
        out.extend_from_slice(&seq.to_ne_bytes());
        out.extend_from_slice(&pid.to_ne_bytes());
        out.extend_from_slice(&[self.cmd, self.version, 0, 0]);
        if let Some(ifindex) = self.dp_ifindex {
            out.extend_from_slice(&ifindex.to_ne_bytes());
        }
        out.extend_from_slice(&self.attrs);
        out.resize(out.len() + align4(self.attrs.len()) - self.attrs.len(), 0);
        Ok(())
    }
}

/// One message received: a generic netlink message of some family.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Reply {
    /// `nlmsg_type`: the family id.
    pub family: u16,
    /// `nlmsg_flags`.
    pub flags: u16,
    /// `nlmsg_seq`.
    pub seq: u32,
    /// The generic netlink command.
    pub cmd: u8,
    /// The family version.
    pub version: u8,
    /// `ovs_header.dp_ifindex` (0 for `nlctrl`).
    pub dp_ifindex: i32,
    /// The attributes, raw.
    pub attrs: Vec<u8>,
}

/// What one netlink message of a datagram is.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Msg {
    /// A family message.
    Reply(Reply),
    /// `NLMSG_ERROR`: an acknowledgement (`Ok`) or the kernel's error for request `seq`.
    Ack {
        seq: u32,
        result: std::result::Result<(), Errno>,
    },
    /// `NLMSG_DONE` ending dump `seq`, with the dump's error if any.
    Done {
        seq: u32,
        result: std::result::Result<(), Errno>,
    },
}

fn ne_u16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn ne_u32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn ne_i32(b: &[u8], at: usize) -> Option<i32> {
    Some(i32::from_ne_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn errno_of(code: i32) -> std::result::Result<(), Errno> {
    if code == 0 {
        Ok(())
    } else {
        Err(Errno::from_raw(code.saturating_neg()))
    }
}

/// Splits a datagram into its messages and parses each.
///
/// # Errors
///
/// [`Error::Decode`] if a header is truncated or a length is inconsistent.
pub(crate) fn parse_datagram(buf: &[u8]) -> Result<Vec<Msg>> {
    let bad = |m: &str| Error::decode("netlink message", m);
    let mut out = Vec::new();
    let mut off = 0;
    while off < buf.len() {
        let rest = &buf[off..];
        let len = ne_u32(rest, 0).ok_or_else(|| bad("truncated header"))?;
        let len = usize::try_from(len).map_err(|_| bad("length"))?;
        if len < NLMSG_HDRLEN || len > rest.len() {
            return Err(bad(&format!("length {len} of {} bytes", rest.len())));
        }
        let msg = &rest[..len];
        let ty = ne_u16(msg, 4).ok_or_else(|| bad("type"))?;
        let flags = ne_u16(msg, 6).ok_or_else(|| bad("flags"))?;
        let seq = ne_u32(msg, 8).ok_or_else(|| bad("seq"))?;
        let payload = &msg[NLMSG_HDRLEN..];
        match ty {
            NLMSG_NOOP => {}
            NLMSG_OVERRUN => return Err(bad("overrun")),
            NLMSG_ERROR => {
                let code = ne_i32(payload, 0).ok_or_else(|| bad("truncated error"))?;
                out.push(Msg::Ack {
                    seq,
                    result: errno_of(code),
                });
            }
            NLMSG_DONE => {
                let code = ne_i32(payload, 0).unwrap_or(0);
                out.push(Msg::Done {
                    seq,
                    result: errno_of(code),
                });
            }
            family => {
                let ovs = family != GENL_ID_CTRL;
                let hdr = GENL_HDRLEN + if ovs { OVS_HDRLEN } else { 0 };
                if payload.len() < hdr {
                    return Err(bad("truncated generic netlink header"));
                }
                out.push(Msg::Reply(Reply {
                    family,
                    flags,
                    seq,
                    cmd: payload[0],
                    version: payload[1],
                    dp_ifindex: if ovs {
                        ne_i32(payload, GENL_HDRLEN).unwrap_or(0)
                    } else {
                        0
                    },
                    attrs: payload[hdr..].to_vec(),
                }));
            }
        }
        off += align4(len);
    }
    Ok(out)
}

/// The error of one request of a transaction.
#[derive(Debug)]
pub(crate) enum TxnError {
    /// The kernel (or the socket) reported this errno.
    Errno(Errno),
    /// The reply did not parse.
    Decode(Error),
}

impl TxnError {
    /// The crate error, naming the operation and the object.
    pub(crate) fn into_error(
        self,
        op: &'static str,
        what: &'static str,
        obj: impl ToString,
    ) -> Error {
        match self {
            TxnError::Errno(e) => Error::from_errno(op, what, obj, e),
            TxnError::Decode(e) => e,
        }
    }

    /// The errno, if the kernel gave one.
    pub(crate) fn errno(&self) -> Option<Errno> {
        match self {
            TxnError::Errno(e) => Some(*e),
            TxnError::Decode(_) => None,
        }
    }
}

fn io_errno(e: &std::io::Error) -> Errno {
    e.raw_os_error().map_or(Errno::EIO, Errno::from_raw)
}

/// The outcome of one request of a transaction: the reply message, if the kernel sent one
/// (requests flagged `NLM_F_ECHO`, and `GET`s), or the error.
pub(crate) type TxnResult = std::result::Result<Option<Reply>, TxnError>;

/// A generic netlink socket bound to a kernel-chosen port id.
#[derive(Debug)]
pub(crate) struct NlSock {
    sock: Socket,
    pid: u32,
    seq: u32,
    buf: Vec<u8>,
    out: Vec<u8>,
}

impl NlSock {
    /// Opens and binds a socket.
    ///
    /// # Errors
    ///
    /// The errno of `socket(2)` or `bind(2)`.
    pub(crate) fn new() -> Result<NlSock> {
        let err = |e: std::io::Error| {
            Error::from_errno(
                "open netlink socket",
                "socket",
                "NETLINK_GENERIC",
                io_errno(&e),
            )
        };
        let mut sock = Socket::new(NETLINK_GENERIC).map_err(err)?;
        let addr = sock.bind_auto().map_err(err)?;
        // Acks of errors without the request echoed (keeps the acks of a batch small); both
        // best effort.
        let _ = sock.set_cap_ack(true);
        let _ = sock.set_rx_buf_sz(SO_RCVBUF_BYTES);
        let seed = addr.port_number().rotate_left(16) ^ std::process::id();
        Ok(NlSock {
            sock,
            pid: addr.port_number(),
            seq: seed | 1,
            buf: Vec::with_capacity(RECV_BUF),
            out: Vec::new(),
        })
    }

    /// The socket's netlink port id.
    pub(crate) fn pid(&self) -> u32 {
        self.pid
    }

    /// Makes `recv` non-blocking (or blocking).
    pub(crate) fn set_nonblocking(&self, nonblocking: bool) -> Result<()> {
        self.sock.set_non_blocking(nonblocking).map_err(|e| {
            Error::from_errno(
                "set netlink socket non-blocking",
                "socket",
                self.pid,
                io_errno(&e),
            )
        })
    }

    /// Joins multicast group `group`.
    pub(crate) fn join(&self, group: u32) -> Result<()> {
        self.sock.add_membership(group).map_err(|e| {
            Error::from_errno("join netlink multicast group", "group", group, io_errno(&e))
        })
    }

    fn next_seqs(&mut self, n: usize) -> u32 {
        let base = self.seq;
        let n = u32::try_from(n).unwrap_or(u32::MAX);
        self.seq = self.seq.wrapping_add(n.max(1));
        if self.seq == 0 {
            self.seq = 1;
        }
        base
    }

    /// Receives one datagram into the internal buffer and parses it. `Ok(None)` on
    /// `EAGAIN` (non-blocking sockets).
    pub(crate) fn recv_msgs(&mut self) -> std::result::Result<Option<Vec<Msg>>, TxnError> {
        loop {
            self.buf.clear();
            if self.buf.capacity() < RECV_BUF {
                self.buf.reserve(RECV_BUF);
            }
            match self.sock.recv(&mut self.buf, libc::MSG_TRUNC) {
                Ok(n) if n > self.buf.len() => {
                    return Err(TxnError::Decode(Error::decode(
                        "netlink datagram",
                        format!("{n} bytes truncated to {}", self.buf.len()),
                    )));
                }
                Ok(_) => {
                    return parse_datagram(&self.buf)
                        .map(Some)
                        .map_err(TxnError::Decode);
                }
                Err(e) => match io_errno(&e) {
                    Errno::EINTR => continue,
                    Errno::EAGAIN => return Ok(None),
                    errno => return Err(TxnError::Errno(errno)),
                },
            }
        }
    }

    /// Receives one raw datagram (for upcalls); `Ok(None)` on `EAGAIN`.
    pub(crate) fn recv_raw(&mut self) -> std::result::Result<Option<&[u8]>, Errno> {
        loop {
            self.buf.clear();
            if self.buf.capacity() < RECV_BUF {
                self.buf.reserve(RECV_BUF);
            }
            match self.sock.recv(&mut self.buf, 0) {
                Ok(_) => return Ok(Some(&self.buf)),
                Err(e) => match io_errno(&e) {
                    Errno::EINTR => continue,
                    Errno::EAGAIN => return Ok(None),
                    errno => return Err(errno),
                },
            }
        }
    }

    /// Sends `reqs` as few batches (several messages per `send`) and waits for every
    /// acknowledgement; returns one result per request, in order.
    pub(crate) fn transact(&mut self, reqs: &[Request]) -> Vec<TxnResult> {
        let mut results = Vec::with_capacity(reqs.len());
        let mut start = 0;
        while start < reqs.len() {
            let mut end = start;
            let mut bytes = 0;
            while end < reqs.len() && end - start < MAX_BATCH {
                let sz = NLMSG_HDRLEN + GENL_HDRLEN + OVS_HDRLEN + reqs[end].attrs.len();
                if end > start && bytes + sz > MAX_BATCH_BYTES {
                    break;
                }
                bytes += sz;
                end += 1;
            }
            results.extend(self.transact_batch(&reqs[start..end]));
            start = end;
        }
        results
    }

    fn transact_batch(&mut self, reqs: &[Request]) -> Vec<TxnResult> {
        let n = reqs.len();
        let base = self.next_seqs(n);
        let mut slots: Vec<Option<TxnResult>> = (0..n).map(|_| None).collect();
        let mut replies: Vec<Option<Reply>> = vec![None; n];
        let mut out = std::mem::take(&mut self.out);
        out.clear();
        for (i, r) in reqs.iter().enumerate() {
            let seq = base.wrapping_add(u32::try_from(i).unwrap_or(0));
            if let Err(e) = r.encode(NLM_F_ACK, seq, self.pid, &mut out) {
                slots[i] = Some(Err(TxnError::Decode(e)));
            }
        }
        let mut pending = slots.iter().filter(|s| s.is_none()).count();
        if pending > 0 {
            let sent = loop {
                match self.sock.send(&out, 0) {
                    Err(e) if io_errno(&e) == Errno::EINTR => continue,
                    r => break r,
                }
            };
            if let Err(e) = sent {
                let errno = io_errno(&e);
                for s in slots.iter_mut().filter(|s| s.is_none()) {
                    *s = Some(Err(TxnError::Errno(errno)));
                }
                pending = 0;
            }
        }
        self.out = out;
        while pending > 0 {
            let msgs = match self.recv_msgs() {
                Ok(Some(m)) => m,
                Ok(None) => continue,
                Err(e) => {
                    // The socket lost messages (ENOBUFS) or broke: the rest fail alike.
                    let errno = e.errno().unwrap_or(Errno::EPROTO);
                    for s in slots.iter_mut().filter(|s| s.is_none()) {
                        *s = Some(Err(TxnError::Errno(errno)));
                    }
                    break;
                }
            };
            for m in msgs {
                let (seq, ack) = match m {
                    Msg::Reply(r) => {
                        let i = usize::try_from(r.seq.wrapping_sub(base)).unwrap_or(usize::MAX);
                        if i < n && slots[i].is_none() {
                            replies[i] = Some(r);
                        }
                        continue;
                    }
                    Msg::Ack { seq, result } | Msg::Done { seq, result } => (seq, result),
                };
                let i = usize::try_from(seq.wrapping_sub(base)).unwrap_or(usize::MAX);
                if i >= n || slots[i].is_some() {
                    continue;
                }
                slots[i] = Some(match ack {
                    Ok(()) => Ok(replies[i].take()),
                    Err(e) => Err(TxnError::Errno(e)),
                });
                pending -= 1;
            }
        }
        slots
            .into_iter()
            .map(|s| s.unwrap_or(Err(TxnError::Errno(Errno::EPROTO))))
            .collect()
    }

    /// Sends one request and returns its reply.
    pub(crate) fn request(&mut self, req: Request) -> TxnResult {
        self.transact(std::slice::from_ref(&req))
            .pop()
            .unwrap_or(Err(TxnError::Errno(Errno::EPROTO)))
    }

    /// Starts a dump with `req` (sent with `NLM_F_DUMP`); [`Dump`] reads its messages.
    pub(crate) fn dump_start(&mut self, req: &Request) -> std::result::Result<u32, TxnError> {
        let seq = self.next_seqs(1);
        let mut out = Vec::new();
        req.encode(NLM_F_DUMP, seq, self.pid, &mut out)
            .map_err(TxnError::Decode)?;
        loop {
            match self.sock.send(&out, 0) {
                Ok(_) => return Ok(seq),
                Err(e) if io_errno(&e) == Errno::EINTR => continue,
                Err(e) => return Err(TxnError::Errno(io_errno(&e))),
            }
        }
    }
}

impl AsFd for NlSock {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.sock.as_fd()
    }
}

impl AsRawFd for NlSock {
    fn as_raw_fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }
}

/// A dump in progress: an iterator over its reply messages. Owns its socket.
pub(crate) struct Dump {
    sock: NlSock,
    seq: u32,
    queue: VecDeque<Reply>,
    done: bool,
}

impl Dump {
    /// Starts dumping `req` on a fresh socket.
    pub(crate) fn start(req: &Request) -> std::result::Result<Dump, TxnError> {
        let mut sock = NlSock::new().map_err(TxnError::Decode)?;
        let seq = sock.dump_start(req)?;
        Ok(Dump {
            sock,
            seq,
            queue: VecDeque::new(),
            done: false,
        })
    }
}

impl Iterator for Dump {
    type Item = std::result::Result<Reply, TxnError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(r) = self.queue.pop_front() {
                return Some(Ok(r));
            }
            if self.done {
                return None;
            }
            let msgs = match self.sock.recv_msgs() {
                Ok(Some(m)) => m,
                Ok(None) => continue,
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            };
            for m in msgs {
                match m {
                    Msg::Reply(r) if r.seq == self.seq => self.queue.push_back(r),
                    Msg::Done { seq, result } | Msg::Ack { seq, result } if seq == self.seq => {
                        self.done = true;
                        if let Err(e) = result {
                            self.queue.clear();
                            return Some(Err(TxnError::Errno(e)));
                        }
                    }
                    _ => {}
                }
            }
        }
    }
}

/// Emits attributes into bytes, refusing any whose length does not fit netlink's 16-bit
/// attribute length (which `netlink-packet-core`'s `emit` would silently wrap).
///
/// # Errors
///
/// [`Error::TooBig`] naming `op`.
pub(crate) fn emit_attrs<T: Nla>(op: &'static str, attrs: &[T]) -> Result<Vec<u8>> {
    use netlink_packet_core::Emitable;
    for a in attrs {
        let len = a.value_len() + 4;
        u16::try_from(len).map_err(|_| Error::TooBig {
            op,
            msg: format!("attribute {} of {len} bytes", a.kind()),
        })?;
    }
    let mut buf = vec![0u8; attrs.buffer_len()];
    attrs.emit(&mut buf);
    Ok(buf)
}

/// Parses every attribute of `buf` as `T`.
///
/// # Errors
///
/// [`Error::Decode`] with `context`.
pub(crate) fn parse_attrs<T>(context: &str, buf: &[u8]) -> Result<Vec<T>>
where
    T: for<'a> Parseable<NlaBuffer<&'a [u8]>>,
{
    let mut out = Vec::new();
    for nla in NlasIterator::new(buf) {
        let nla = nla.map_err(|e| Error::decode(context, e.to_string()))?;
        out.push(T::parse(&nla).map_err(|e| Error::decode(context, e.to_string()))?);
    }
    Ok(out)
}

/// A resolved generic netlink family.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Family {
    /// Its id.
    pub id: u16,
    /// Its version.
    pub version: u32,
    /// Its multicast groups: name and id.
    pub mcast_groups: Vec<(String, u32)>,
}

/// The `CTRL_CMD_GETFAMILY` request for `name`.
pub(crate) fn getfamily_request(name: &str) -> Result<Request> {
    Ok(Request {
        family: GENL_ID_CTRL,
        cmd: CTRL_CMD_GETFAMILY,
        version: 1,
        flags: 0,
        dp_ifindex: None,
        attrs: emit_attrs(
            "resolve family",
            &[GenlCtrlAttrs::FamilyName(name.to_owned())],
        )?,
    })
}

/// Parses a `CTRL_CMD_NEWFAMILY` reply.
pub(crate) fn parse_family(name: &str, reply: &Reply) -> Result<Family> {
    let attrs: Vec<GenlCtrlAttrs> = parse_attrs("CTRL_CMD_NEWFAMILY", &reply.attrs)?;
    let mut fam = Family::default();
    let mut have_id = false;
    for a in attrs {
        match a {
            GenlCtrlAttrs::FamilyId(id) => {
                fam.id = id;
                have_id = true;
            }
            GenlCtrlAttrs::Version(v) => fam.version = v,
            GenlCtrlAttrs::McastGroups(groups) => {
                for g in groups {
                    let mut gname = None;
                    let mut gid = None;
                    for ga in g {
                        match ga {
                            McastGrpAttrs::Name(n) => gname = Some(n),
                            McastGrpAttrs::Id(i) => gid = Some(i),
                        }
                    }
                    if let (Some(n), Some(i)) = (gname, gid) {
                        fam.mcast_groups.push((n, i));
                    }
                }
            }
            _ => {}
        }
    }
    if !have_id {
        return Err(Error::decode(
            "CTRL_CMD_NEWFAMILY",
            format!("no id for family {name}"),
        ));
    }
    Ok(fam)
}

/// Resolves family `name`.
///
/// # Errors
///
/// [`Error::NotFound`] (what `"genl family"`) if the kernel does not have it.
pub(crate) fn resolve_family(sock: &mut NlSock, name: &str) -> Result<Family> {
    match sock.request(getfamily_request(name)?) {
        Ok(Some(r)) => parse_family(name, &r),
        Ok(None) => Err(Error::decode("CTRL_CMD_GETFAMILY", "no reply")),
        Err(e) => Err(e.into_error("resolve generic netlink family", "genl family", name)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_golden_bytes() {
        // Written from the layouts of struct nlmsghdr, genlmsghdr and ovs_header (uAPI):
        // OVS_DP_CMD_GET (3), version 2, dp_ifindex 7, one u32 attribute.
        let req = Request {
            family: 0x1a,
            cmd: 3,
            version: 2,
            flags: 0,
            dp_ifindex: Some(7),
            attrs: vec![0x08, 0x00, 0x05, 0x00, 0x01, 0x00, 0x00, 0x00],
        };
        let mut out = Vec::new();
        req.encode(NLM_F_ACK, 0x0102_0304, 99, &mut out).unwrap();
        #[rustfmt::skip]
        let want: Vec<u8> = [
            &32u32.to_ne_bytes()[..],            // nlmsg_len 16+4+4+8
            &0x1au16.to_ne_bytes(),              // nlmsg_type: the family id
            &5u16.to_ne_bytes(),                 // NLM_F_REQUEST | NLM_F_ACK
            &0x0102_0304u32.to_ne_bytes(),       // nlmsg_seq
            &99u32.to_ne_bytes(),                // nlmsg_pid
            &[3, 2, 0, 0],                       // genlmsghdr: cmd, version, reserved
            &7i32.to_ne_bytes(),                 // ovs_header.dp_ifindex
            &[0x08, 0x00, 0x05, 0x00, 0x01, 0x00, 0x00, 0x00], // the attribute
        ].concat();
        assert_eq!(out, want);
        // Parsed back, as the kernel's echo would come.
        let msgs = parse_datagram(&out).unwrap();
        assert_eq!(
            msgs,
            vec![Msg::Reply(Reply {
                family: 0x1a,
                flags: 5,
                seq: 0x0102_0304,
                cmd: 3,
                version: 2,
                dp_ifindex: 7,
                attrs: req.attrs.clone(),
            })]
        );
    }

    #[test]
    fn acks_and_done() {
        // struct nlmsgerr: error (negative errno), then the request's header (NETLINK_CAP_ACK).
        let mut dg = Vec::new();
        for (ty, seq, code) in [
            (NLMSG_ERROR, 10u32, 0i32),
            (NLMSG_ERROR, 11, -17),
            (NLMSG_DONE, 12, 0),
        ] {
            dg.extend_from_slice(&36u32.to_ne_bytes());
            dg.extend_from_slice(&ty.to_ne_bytes());
            dg.extend_from_slice(&0u16.to_ne_bytes());
            dg.extend_from_slice(&seq.to_ne_bytes());
            dg.extend_from_slice(&0u32.to_ne_bytes());
            dg.extend_from_slice(&code.to_ne_bytes());
            dg.extend_from_slice(&[0u8; 16]);
        }
        assert_eq!(
            parse_datagram(&dg).unwrap(),
            vec![
                Msg::Ack {
                    seq: 10,
                    result: Ok(())
                },
                Msg::Ack {
                    seq: 11,
                    result: Err(Errno::EEXIST)
                },
                Msg::Done {
                    seq: 12,
                    result: Ok(())
                },
            ]
        );
    }

    #[test]
    fn malformed_datagrams_are_errors() {
        assert!(parse_datagram(&[1, 2, 3]).is_err());
        let mut dg = 200u32.to_ne_bytes().to_vec();
        dg.extend_from_slice(&[0u8; 12]);
        assert!(parse_datagram(&dg).is_err());
        // A family message too short for genlmsghdr + ovs_header.
        let mut dg = 18u32.to_ne_bytes().to_vec();
        dg.extend_from_slice(&0x20u16.to_ne_bytes());
        dg.extend_from_slice(&[0u8; 12]);
        assert!(parse_datagram(&dg).is_err());
    }

    #[test]
    fn getfamily_golden_bytes() {
        // CTRL_CMD_GETFAMILY (3), version 1, CTRL_ATTR_FAMILY_NAME (2) "ovs_flow\0" padded.
        let req = getfamily_request("ovs_flow").unwrap();
        let mut out = Vec::new();
        req.encode(NLM_F_ACK, 1, 0, &mut out).unwrap();
        assert_eq!(&out[4..6], &GENL_ID_CTRL.to_ne_bytes());
        assert_eq!(&out[16..20], &[3, 1, 0, 0]);
        assert_eq!(
            &out[20..],
            &[
                13, 0, 2, 0, b'o', b'v', b's', b'_', b'f', b'l', b'o', b'w', 0, 0, 0, 0
            ]
        );
        assert_eq!(out.len(), 36);
    }

    #[test]
    fn family_reply_parses() {
        use netlink_packet_core::Emitable;
        let attrs = vec![
            GenlCtrlAttrs::FamilyName("ovs_vport".into()),
            GenlCtrlAttrs::FamilyId(0x22),
            GenlCtrlAttrs::Version(1),
            GenlCtrlAttrs::McastGroups(vec![vec![
                McastGrpAttrs::Name("ovs_vport".into()),
                McastGrpAttrs::Id(9),
            ]]),
        ];
        let mut buf = vec![0u8; attrs.as_slice().buffer_len()];
        attrs.as_slice().emit(&mut buf);
        let reply = Reply {
            family: GENL_ID_CTRL,
            flags: 0,
            seq: 1,
            cmd: 1,
            version: 2,
            dp_ifindex: 0,
            attrs: buf,
        };
        let fam = parse_family("ovs_vport", &reply).unwrap();
        assert_eq!(fam.id, 0x22);
        assert_eq!(fam.version, 1);
        assert_eq!(fam.mcast_groups, vec![("ovs_vport".to_owned(), 9)]);
    }

    #[test]
    fn oversized_attribute_is_refused() {
        let big = netlink_packet_core::DefaultNla::new(1, vec![0; 70_000]);
        assert!(matches!(emit_attrs("t", &[big]), Err(Error::TooBig { .. })));
    }
}
