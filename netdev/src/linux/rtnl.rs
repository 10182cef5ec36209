//! A small rtnetlink client: read one link, change one link, and the link notifications of
//! `RTNLGRP_LINK`.
//!
//! Requests go out on a blocking `NETLINK_ROUTE` socket with extended acks on, so a refusal
//! carries the kernel's own words ("MTU greater than device maximum"). Messages are built
//! and parsed with `netlink-packet-route`; only the extended-ack attributes of an error
//! message, which that crate drops, are read here with `netlink-packet-core`'s NLA
//! iterator.

use std::io;
use std::os::fd::{AsRawFd, RawFd};

use netlink_packet_core::{
    NLM_F_ACK, NLM_F_ACK_TLVS, NLM_F_CAPPED, NLM_F_REQUEST, NetlinkHeader, NetlinkMessage,
    NetlinkPayload, NlasIterator,
};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::link::{LinkAttribute, LinkFlags, LinkMessage, State, Stats64};
use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_ROUTE};
use nix::errno::Errno;

use crate::ethaddr::EthAddr;

/// `NLMSG_ERROR`.
const NLMSG_ERROR: u16 = 2;
/// `NLMSGERR_ATTR_MSG`: the extended ack's text.
const NLMSGERR_ATTR_MSG: u16 = 1;
/// Size of `struct nlmsghdr`.
const NLMSG_HDRLEN: usize = 16;
/// Receive buffer for one datagram of replies or notifications.
const RECV_BUF: usize = 64 * 1024;

/// A failed rtnetlink exchange.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct NlError {
    /// The errno, when the kernel or a system call gave one.
    pub errno: Option<Errno>,
    /// What went wrong, with the kernel's extended-ack message if it sent one.
    pub msg: String,
}

impl NlError {
    fn io(e: &io::Error) -> Self {
        NlError {
            errno: e.raw_os_error().map(Errno::from_raw),
            msg: e.to_string(),
        }
    }

    fn decode(what: impl std::fmt::Display) -> Self {
        NlError {
            errno: None,
            msg: format!("reply does not parse: {what}"),
        }
    }
}

impl std::fmt::Display for NlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.msg)
    }
}

/// What a link message says about one interface.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct LinkInfo {
    /// The interface index.
    pub ifindex: u32,
    /// The interface name.
    pub name: String,
    /// The Ethernet address, if the link has one of 6 bytes.
    pub mac: Option<EthAddr>,
    /// The MTU.
    pub mtu: Option<u32>,
    /// The smallest MTU the device accepts.
    pub min_mtu: Option<u32>,
    /// The largest MTU the device accepts.
    pub max_mtu: Option<u32>,
    /// `IFF_*` flags.
    pub flags: u32,
    /// RFC 2863 operational state.
    pub oper_up: Option<bool>,
    /// 64-bit counters.
    pub stats: Option<Stats64>,
}

impl LinkInfo {
    /// Whether the link is up at layer 1 (`IFF_LOWER_UP`; `IFF_RUNNING` where a driver
    /// does not report it).
    pub(crate) fn carrier(&self) -> bool {
        let lower = LinkFlags::LowerUp.bits();
        if self.flags & lower != 0 {
            return true;
        }
        self.oper_up.unwrap_or(false) && self.flags & LinkFlags::Running.bits() != 0
    }

    /// Reads a link message.
    pub(crate) fn from_message(msg: &LinkMessage) -> LinkInfo {
        let mut info = LinkInfo {
            ifindex: msg.header.index,
            flags: msg.header.flags.bits(),
            ..LinkInfo::default()
        };
        for attr in &msg.attributes {
            match attr {
                LinkAttribute::IfName(n) => info.name.clone_from(n),
                LinkAttribute::Address(a) => {
                    info.mac = EthAddr::from_slice(a).filter(|_| a.len() == 6)
                }
                LinkAttribute::Mtu(m) => info.mtu = Some(*m),
                LinkAttribute::MinMtu(m) => info.min_mtu = Some(*m),
                LinkAttribute::MaxMtu(m) => info.max_mtu = Some(*m),
                LinkAttribute::OperState(s) => {
                    info.oper_up = Some(matches!(s, State::Up | State::Unknown));
                }
                LinkAttribute::Stats64(s) => info.stats = Some(*s),
                _ => {}
            }
        }
        info
    }
}

/// A change to one link, sent as `RTM_SETLINK` by name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct LinkChange {
    /// New MTU.
    pub mtu: Option<u32>,
    /// New Ethernet address.
    pub mac: Option<EthAddr>,
    /// `(mask, values)` of `IFF_*` flags to change.
    pub flags: Option<(u32, u32)>,
}

/// One notification from the link monitor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum LinkEvent {
    /// A link appeared or changed.
    New(LinkInfo),
    /// A link went away.
    Del(LinkInfo),
}

/// Splits a datagram into its netlink messages (by `nlmsg_len`), stopping at the first
/// malformed length.
fn messages(buf: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = buf;
    std::iter::from_fn(move || {
        let len = u32::from_ne_bytes(rest.get(..4)?.try_into().ok()?);
        let len = usize::try_from(len).ok()?;
        if len < NLMSG_HDRLEN || len > rest.len() {
            return None;
        }
        let (msg, tail) = rest.split_at(len);
        rest = tail.get(len.next_multiple_of(4) - len..).unwrap_or(&[]);
        Some(msg)
    })
}

/// Reads the errno and the extended-ack text of an `NLMSG_ERROR` message, or `None` if
/// `msg` is not one. An errno of 0 (an ack) gives `Some((0, None))`.
pub(crate) fn parse_error(msg: &[u8]) -> Option<(i32, Option<String>)> {
    let kind = u16::from_ne_bytes(msg.get(4..6)?.try_into().ok()?);
    if kind != NLMSG_ERROR {
        return None;
    }
    let flags = u16::from_ne_bytes(msg.get(6..8)?.try_into().ok()?);
    let code = i32::from_ne_bytes(msg.get(16..20)?.try_into().ok()?);
    let mut text = None;
    if flags & NLM_F_ACK_TLVS != 0 {
        // After the errno comes the request: its header alone when capped.
        let req_len = if flags & NLM_F_CAPPED != 0 {
            NLMSG_HDRLEN
        } else {
            usize::try_from(u32::from_ne_bytes(msg.get(20..24)?.try_into().ok()?)).ok()?
        };
        let tlvs = msg.get(20 + req_len.next_multiple_of(4)..).unwrap_or(&[]);
        for nla in NlasIterator::new(tlvs).flatten() {
            if nla.kind() == NLMSGERR_ATTR_MSG {
                let v = nla.value();
                let end = v.iter().position(|&b| b == 0).unwrap_or(v.len());
                text = Some(String::from_utf8_lossy(&v[..end]).into_owned());
            }
        }
    }
    Some((code, text))
}

fn route_message(buf: &[u8]) -> Result<NetlinkMessage<RouteNetlinkMessage>, NlError> {
    NetlinkMessage::<RouteNetlinkMessage>::deserialize(buf).map_err(NlError::decode)
}

/// Reads a link notification (or reply); `None` for messages that are not about links.
pub(crate) fn parse_link_event(buf: &[u8]) -> Result<Option<LinkEvent>, NlError> {
    let msg = route_message(buf)?;
    Ok(match msg.payload {
        NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewLink(m)) => {
            Some(LinkEvent::New(LinkInfo::from_message(&m)))
        }
        NetlinkPayload::InnerMessage(RouteNetlinkMessage::DelLink(m)) => {
            Some(LinkEvent::Del(LinkInfo::from_message(&m)))
        }
        _ => None,
    })
}

/// Reads every link event in one datagram, in order. Messages that do not parse are
/// skipped (and logged): one bad message must not hide the others.
pub(crate) fn parse_link_events(buf: &[u8], mut f: impl FnMut(LinkEvent)) {
    for m in messages(buf) {
        match parse_link_event(m) {
            Ok(Some(ev)) => f(ev),
            Ok(None) => {}
            Err(e) => tracing::warn!("netdev-linux: ignoring rtnetlink message: {e}"),
        }
    }
}

/// A blocking rtnetlink socket for requests.
pub(crate) struct Rtnl {
    sock: Socket,
    seq: u32,
    buf: Vec<u8>,
}

impl Rtnl {
    /// Opens a request socket in the calling thread's network namespace.
    pub(crate) fn new() -> Result<Self, NlError> {
        let mut sock = Socket::new(NETLINK_ROUTE).map_err(|e| NlError::io(&e))?;
        sock.bind_auto().map_err(|e| NlError::io(&e))?;
        // Older kernels lack these; errors then simply carry no text.
        let _ = sock.set_ext_ack(true);
        let _ = sock.set_cap_ack(true);
        let remote = SocketAddr::new(0, 0);
        sock.connect(&remote).map_err(|e| NlError::io(&e))?;
        Ok(Rtnl {
            sock,
            seq: 0,
            buf: Vec::with_capacity(RECV_BUF),
        })
    }

    fn request(&mut self, inner: RouteNetlinkMessage, flags: u16) -> Result<u32, NlError> {
        self.seq = self.seq.wrapping_add(1).max(1);
        let mut header = NetlinkHeader::default();
        header.flags = NLM_F_REQUEST | flags;
        header.sequence_number = self.seq;
        let mut msg = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(inner));
        msg.finalize();
        let mut out = vec![0u8; msg.buffer_len()];
        msg.serialize(&mut out);
        self.sock.send(&out, 0).map_err(|e| NlError::io(&e))?;
        Ok(self.seq)
    }

    /// Receives until the reply to `seq` arrives: `Ok(Some(bytes))` for a data message,
    /// `Ok(None)` for an ack; the kernel's error otherwise.
    fn reply(&mut self, seq: u32) -> Result<Option<Vec<u8>>, NlError> {
        loop {
            self.buf.clear();
            self.buf.reserve(RECV_BUF);
            self.sock
                .recv(&mut self.buf, 0)
                .map_err(|e| NlError::io(&e))?;
            for m in messages(&self.buf) {
                let Some(mseq) = m.get(8..12).and_then(|b| b.try_into().ok()) else {
                    continue;
                };
                if u32::from_ne_bytes(mseq) != seq {
                    continue;
                }
                if let Some((code, text)) = parse_error(m) {
                    if code == 0 {
                        return Ok(None);
                    }
                    let errno = Errno::from_raw(code.saturating_neg());
                    let msg = match text {
                        Some(t) => format!("{} ({t})", errno.desc()),
                        None => errno.desc().to_owned(),
                    };
                    return Err(NlError {
                        errno: Some(errno),
                        msg,
                    });
                }
                return Ok(Some(m.to_vec()));
            }
        }
    }

    /// Reads link `name`; `Ok(None)` if there is no such link.
    pub(crate) fn get_link(&mut self, name: &str) -> Result<Option<LinkInfo>, NlError> {
        let mut msg = LinkMessage::default();
        msg.attributes.push(LinkAttribute::IfName(name.to_owned()));
        let seq = self.request(RouteNetlinkMessage::GetLink(msg), 0)?;
        match self.reply(seq) {
            Ok(Some(bytes)) => match parse_link_event(&bytes)? {
                Some(LinkEvent::New(info)) => Ok(Some(info)),
                _ => Err(NlError::decode("expected a link message")),
            },
            Ok(None) => Err(NlError::decode("expected a link message, got an ack")),
            Err(e) if matches!(e.errno, Some(Errno::ENODEV)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Changes link `name` and waits for the kernel's answer.
    pub(crate) fn set_link(&mut self, name: &str, change: &LinkChange) -> Result<(), NlError> {
        let mut msg = LinkMessage::default();
        msg.attributes.push(LinkAttribute::IfName(name.to_owned()));
        if let Some(mtu) = change.mtu {
            msg.attributes.push(LinkAttribute::Mtu(mtu));
        }
        if let Some(mac) = change.mac {
            msg.attributes.push(LinkAttribute::Address(mac.0.to_vec()));
        }
        if let Some((mask, values)) = change.flags {
            msg.header.change_mask = LinkFlags::from_bits_retain(mask);
            msg.header.flags = LinkFlags::from_bits_retain(values & mask);
        }
        let seq = self.request(RouteNetlinkMessage::SetLink(msg), NLM_F_ACK)?;
        self.reply(seq).map(drop)
    }
}

/// A non-blocking rtnetlink socket subscribed to link notifications (`RTNLGRP_LINK`).
pub(crate) struct LinkMonitor {
    sock: Socket,
    buf: Vec<u8>,
}

/// What one [`LinkMonitor::poll`] saw.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Poll {
    /// Nothing more is waiting.
    Empty,
    /// Notifications were lost (`ENOBUFS`): every cached link must be read again.
    Overrun,
}

impl LinkMonitor {
    /// Opens the monitor in the calling thread's network namespace.
    pub(crate) fn new() -> Result<Self, NlError> {
        let mut sock = Socket::new(NETLINK_ROUTE).map_err(|e| NlError::io(&e))?;
        sock.bind_auto().map_err(|e| NlError::io(&e))?;
        sock.add_membership(libc::RTNLGRP_LINK)
            .map_err(|e| NlError::io(&e))?;
        sock.set_non_blocking(true).map_err(|e| NlError::io(&e))?;
        Ok(LinkMonitor {
            sock,
            buf: Vec::with_capacity(RECV_BUF),
        })
    }

    /// The descriptor that is readable while notifications wait.
    pub(crate) fn fd(&self) -> RawFd {
        self.sock.as_raw_fd()
    }

    /// Reads every waiting notification and hands each link event to `f`.
    pub(crate) fn poll(&mut self, mut f: impl FnMut(LinkEvent)) -> Result<Poll, NlError> {
        loop {
            self.buf.clear();
            self.buf.reserve(RECV_BUF);
            match self.sock.recv(&mut self.buf, 0) {
                Ok(_) => parse_link_events(&self.buf, &mut f),
                Err(e) => match e.raw_os_error().map(Errno::from_raw) {
                    Some(Errno::EAGAIN) => return Ok(Poll::Empty),
                    Some(Errno::EINTR) => {}
                    Some(Errno::ENOBUFS) => {
                        // Drain what is queued now; the caller re-reads everything anyway.
                        while self.sock.recv(&mut self.buf, 0).is_ok() {
                            self.buf.clear();
                        }
                        return Ok(Poll::Overrun);
                    }
                    _ => return Err(NlError::io(&e)),
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An `RTM_NEWLINK` for a veth, as the kernel (6.18) sent it to `ip monitor link`,
    /// trimmed to the attributes we read.
    fn newlink_veth() -> Vec<u8> {
        let mut attrs: Vec<u8> = Vec::new();
        let mut nla = |kind: u16, val: &[u8]| {
            let len = 4 + val.len();
            attrs.extend_from_slice(&u16::try_from(len).unwrap().to_ne_bytes());
            attrs.extend_from_slice(&kind.to_ne_bytes());
            attrs.extend_from_slice(val);
            while !attrs.len().is_multiple_of(4) {
                attrs.push(0);
            }
        };
        nla(3, b"veth0\0"); // IFLA_IFNAME
        nla(4, &1500u32.to_ne_bytes()); // IFLA_MTU
        nla(1, &[0x02, 0, 0, 0, 0, 0x01]); // IFLA_ADDRESS
        nla(16, &[6]); // IFLA_OPERSTATE: up
        nla(50, &68u32.to_ne_bytes()); // IFLA_MIN_MTU
        nla(51, &65535u32.to_ne_bytes()); // IFLA_MAX_MTU
        let mut m = Vec::new();
        let len = 16 + 16 + attrs.len();
        m.extend_from_slice(&u32::try_from(len).unwrap().to_ne_bytes()); // nlmsg_len
        m.extend_from_slice(&16u16.to_ne_bytes()); // RTM_NEWLINK
        m.extend_from_slice(&0u16.to_ne_bytes()); // flags
        m.extend_from_slice(&0u32.to_ne_bytes()); // seq
        m.extend_from_slice(&0u32.to_ne_bytes()); // pid
        m.extend_from_slice(&[0, 0]); // ifi_family AF_UNSPEC, pad
        m.extend_from_slice(&1u16.to_ne_bytes()); // ifi_type ARPHRD_ETHER
        m.extend_from_slice(&7i32.to_ne_bytes()); // ifi_index 7
        m.extend_from_slice(&0x11043u32.to_ne_bytes()); // UP|BROADCAST|RUNNING|MULTICAST|LOWER_UP
        m.extend_from_slice(&0u32.to_ne_bytes()); // ifi_change
        m.extend_from_slice(&attrs);
        m
    }

    #[test]
    fn newlink_is_read() {
        let m = newlink_veth();
        let Some(LinkEvent::New(info)) = parse_link_event(&m).unwrap() else {
            panic!("not a new link");
        };
        assert_eq!(info.ifindex, 7);
        assert_eq!(info.name, "veth0");
        assert_eq!(info.mtu, Some(1500));
        assert_eq!((info.min_mtu, info.max_mtu), (Some(68), Some(65535)));
        assert_eq!(info.mac.unwrap().to_string(), "02:00:00:00:00:01");
        assert!(info.carrier());
        assert_eq!(info.flags & 1, 1);
    }

    #[test]
    fn two_messages_in_one_datagram() {
        let mut d = newlink_veth();
        let mut second = newlink_veth();
        second[4..6].copy_from_slice(&17u16.to_ne_bytes()); // RTM_DELLINK
        d.extend_from_slice(&second);
        let mut seen = Vec::new();
        parse_link_events(&d, |e| seen.push(e));
        assert_eq!(seen.len(), 2);
        assert!(matches!(seen[1], LinkEvent::Del(_)));
    }

    #[test]
    fn garbage_never_panics() {
        let m = newlink_veth();
        for cut in 0..m.len() {
            parse_link_events(&m[..cut], |_| {});
            let _ = parse_error(&m[..cut]);
        }
        let mut bad = m.clone();
        bad[0..4].copy_from_slice(&u32::MAX.to_ne_bytes());
        parse_link_events(&bad, |_| panic!("a lying length yields nothing"));
    }

    #[test]
    fn extended_ack_text_is_read() {
        // NLMSG_ERROR, capped, with NLMSGERR_ATTR_MSG, as the kernel answers a refused MTU.
        let text = b"MTU greater than device maximum\0";
        let mut m = Vec::new();
        let nla_len = 4 + text.len();
        let len = 16 + 4 + 16 + nla_len.next_multiple_of(4);
        m.extend_from_slice(&u32::try_from(len).unwrap().to_ne_bytes());
        m.extend_from_slice(&NLMSG_ERROR.to_ne_bytes());
        m.extend_from_slice(&(NLM_F_CAPPED | NLM_F_ACK_TLVS).to_ne_bytes());
        m.extend_from_slice(&5u32.to_ne_bytes()); // seq
        m.extend_from_slice(&0u32.to_ne_bytes()); // pid
        m.extend_from_slice(&(-22i32).to_ne_bytes()); // -EINVAL
        m.extend_from_slice(&[0u8; 16]); // the request's header
        m.extend_from_slice(&u16::try_from(nla_len).unwrap().to_ne_bytes());
        m.extend_from_slice(&NLMSGERR_ATTR_MSG.to_ne_bytes());
        m.extend_from_slice(text);
        while !m.len().is_multiple_of(4) {
            m.push(0);
        }
        let (code, msg) = parse_error(&m).unwrap();
        assert_eq!(code, -22);
        assert_eq!(msg.as_deref(), Some("MTU greater than device maximum"));
        assert_eq!(parse_error(&newlink_veth()), None);
    }
}
