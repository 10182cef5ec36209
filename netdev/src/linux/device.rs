//! One open Linux device ([`LinuxNetdev`]) and its cached link state ([`DevState`]).

use std::os::fd::{AsFd, OwnedFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

use nix::errno::Errno;
use parking_lot::Mutex;

use super::packet_socket::{PacketRxq, PacketTx};
use super::ring::RingRxq;
use super::rtnl::{LinkChange, LinkInfo, NlError};
use super::tap::{TapFd, TapRxq};
use super::{Kind, Shared, ethtool, sys};
use crate::batch::PacketBatch;
use crate::error::{Error, Result};
use crate::ethaddr::EthAddr;
use crate::poll::{Interest, PollSet};
use crate::provider::{Features, Netdev, NetdevFlags, NetdevStats, OffloadCaps, Options, Rxq};

const IFF_UP: u32 = libc::IFF_UP as u32;
const IFF_PROMISC: u32 = libc::IFF_PROMISC as u32;
const IFF_LOOPBACK: u32 = libc::IFF_LOOPBACK as u32;

/// The cached link state of one open device, kept true by the link monitor.
pub(crate) struct DevState {
    name: String,
    cache: Mutex<Cache>,
    /// Whether the device exists, as last seen (readable without the lock).
    present: AtomicBool,
    /// The interface index, 0 while unknown.
    ifindex: AtomicU32,
    seq: AtomicU64,
    /// Frames dropped on transmit by us (queue full, device gone, bad offloads).
    pub(crate) tx_dropped: AtomicU64,
    /// Frames dropped on receive by us (truncated, malformed vnet header).
    pub(crate) rx_dropped: AtomicU64,
}

#[derive(Default)]
struct Cache {
    /// The link as last seen, `None` while it does not exist.
    info: Option<LinkInfo>,
    carrier_resets: u64,
}

impl DevState {
    pub(crate) fn new(name: &str) -> Self {
        DevState {
            name: name.to_owned(),
            cache: Mutex::new(Cache::default()),
            present: AtomicBool::new(false),
            ifindex: AtomicU32::new(0),
            seq: AtomicU64::new(1),
            tx_dropped: AtomicU64::new(0),
            rx_dropped: AtomicU64::new(0),
        }
    }

    /// The device name.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// Whether the device existed when last seen.
    pub(crate) fn present(&self) -> bool {
        self.present.load(Ordering::Acquire)
    }

    /// The interface index, if the device exists.
    pub(crate) fn ifindex(&self) -> Option<u32> {
        let i = self.ifindex.load(Ordering::Acquire);
        (self.present() && i != 0).then_some(i)
    }

    fn bump(&self) {
        self.seq.fetch_add(1, Ordering::AcqRel);
    }

    /// Takes a fresh view of the link.
    fn apply(&self, info: &LinkInfo) {
        let mut c = self.cache.lock();
        if c.info
            .as_ref()
            .is_some_and(|old| old.carrier() && !info.carrier())
        {
            c.carrier_resets += 1;
        }
        let changed = match &c.info {
            None => true,
            Some(old) => {
                old.ifindex != info.ifindex
                    || old.mac != info.mac
                    || old.mtu != info.mtu
                    || old.flags != info.flags
                    || old.carrier() != info.carrier()
            }
        };
        // Notifications carry no statistics worth keeping; keep the rest.
        c.info = Some(LinkInfo {
            stats: None,
            ..info.clone()
        });
        self.ifindex.store(info.ifindex, Ordering::Release);
        self.present.store(true, Ordering::Release);
        drop(c);
        if changed {
            self.bump();
        }
    }

    /// Notes that the device is gone.
    pub(crate) fn mark_deleted(&self) {
        let mut c = self.cache.lock();
        let was = c.info.take().is_some();
        self.present.store(false, Ordering::Release);
        drop(c);
        if was {
            self.bump();
        }
    }

    /// A link appeared or changed.
    pub(crate) fn on_new_link(&self, info: &LinkInfo) {
        if info.name == self.name {
            self.apply(info);
        } else if self.ifindex() == Some(info.ifindex) {
            // Our device was renamed away: for us it is gone.
            self.mark_deleted();
        }
    }

    /// A link went away.
    pub(crate) fn on_del_link(&self, info: &LinkInfo) {
        let ours = match self.ifindex() {
            Some(i) => i == info.ifindex,
            None => info.name == self.name,
        };
        if ours {
            self.mark_deleted();
        }
    }

    /// Reads the link from the kernel and updates the cache.
    pub(crate) fn refresh(&self, shared: &Shared) -> Result<()> {
        match shared.rtnl(|r| r.get_link(&self.name)) {
            Ok(Some(info)) => {
                self.apply(&info);
                Ok(())
            }
            Ok(None) => {
                self.mark_deleted();
                Ok(())
            }
            Err(e) => Err(nl_error("read link", &self.name, e)),
        }
    }
}

/// Turns an rtnetlink failure into this crate's error.
pub(crate) fn nl_error(op: &'static str, name: &str, e: NlError) -> Error {
    match e.errno {
        Some(Errno::ENODEV) => Error::NoSuchDevice {
            name: name.to_owned(),
        },
        errno => Error::Netlink {
            op,
            name: name.to_owned(),
            msg: e.msg,
            errno,
        },
    }
}

/// How frames leave the device.
enum Io {
    /// `system` and `internal`: an unbound `AF_PACKET` socket.
    Packet(PacketTx),
    /// `tap`: the tun descriptor.
    Tap(Arc<TapFd>),
}

/// A `system`, `tap` or `internal` device.
pub struct LinuxNetdev {
    kind: Kind,
    state: Arc<DevState>,
    shared: Arc<Shared>,
    /// A socket for ethtool `ioctl`s.
    ctl: OwnedFd,
    io: Io,
}

impl std::fmt::Debug for LinuxNetdev {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinuxNetdev")
            .field("name", &self.state.name)
            .field("type", &self.kind.type_name())
            .finish()
    }
}

impl LinuxNetdev {
    pub(crate) fn open(kind: Kind, name: &str, shared: Arc<Shared>) -> Result<Self> {
        if name.is_empty() || name.len() >= libc::IFNAMSIZ || name.contains(['/', ' ', '\0']) {
            return Err(Error::InvalidConfig {
                name: name.to_owned(),
                msg: format!("\"{name}\" is not a valid interface name"),
            });
        }
        let state = Arc::new(DevState::new(name));
        let ctl = sys::ioctl_socket().map_err(|e| Error::io("open ioctl socket", name, e))?;
        // Watch before reading, so no change between the two is missed.
        shared.track(name, &state)?;
        let io = match kind {
            Kind::Tap => Io::Tap(Arc::new(TapFd::open(name, shared.cfg.vnet_hdr)?)),
            Kind::System | Kind::Internal => Io::Packet(PacketTx::open(name, shared.cfg.vnet_hdr)?),
        };
        state.refresh(&shared)?;
        if kind == Kind::System && !state.present() {
            return Err(Error::NoSuchDevice {
                name: name.to_owned(),
            });
        }
        Ok(LinuxNetdev {
            kind,
            state,
            shared,
            ctl,
            io,
        })
    }

    fn name_str(&self) -> &str {
        &self.state.name
    }

    /// Reads the cache; a device not seen yet (or gone) is looked up again first, so an
    /// `internal` device works as soon as the datapath has made it.
    fn cached<T>(&self, f: impl Fn(&LinkInfo, &Cache) -> T) -> Result<T> {
        {
            let c = self.state.cache.lock();
            if let Some(info) = &c.info {
                return Ok(f(info, &c));
            }
        }
        self.state.refresh(&self.shared)?;
        let c = self.state.cache.lock();
        match &c.info {
            Some(info) => Ok(f(info, &c)),
            None => Err(self.gone()),
        }
    }

    fn gone(&self) -> Error {
        Error::NoSuchDevice {
            name: self.name_str().to_owned(),
        }
    }

    fn set_link(&self, op: &'static str, change: &LinkChange) -> std::result::Result<(), Error> {
        // Make sure the device exists (and that an internal device has appeared).
        self.cached(|_, _| ())?;
        let r = self.shared.rtnl(|r| r.set_link(self.name_str(), change));
        match r {
            Ok(()) => self.state.refresh(&self.shared),
            Err(e) if e.errno == Some(Errno::ENODEV) => {
                self.state.mark_deleted();
                Err(self.gone())
            }
            Err(e) => Err(nl_error(op, self.name_str(), e)),
        }
    }

    /// Whether frames carry a vnet header on transmit (offloads pass to the kernel).
    pub fn vnet_hdr(&self) -> bool {
        match &self.io {
            Io::Packet(tx) => tx.vnet(),
            Io::Tap(tap) => tap.vnet(),
        }
    }
}

fn stats_from(s: &netlink_packet_route::link::Stats64, swap: bool) -> NetdevStats {
    let mut st = NetdevStats {
        rx_packets: s.rx_packets,
        tx_packets: s.tx_packets,
        rx_bytes: s.rx_bytes,
        tx_bytes: s.tx_bytes,
        rx_errors: s.rx_errors,
        tx_errors: s.tx_errors,
        rx_dropped: s.rx_dropped,
        tx_dropped: s.tx_dropped,
        multicast: s.multicast,
        collisions: s.collisions,
        rx_length_errors: s.rx_length_errors,
        rx_over_errors: s.rx_over_errors,
        rx_crc_errors: s.rx_crc_errors,
        rx_frame_errors: s.rx_frame_errors,
        rx_fifo_errors: s.rx_fifo_errors,
        rx_missed_errors: s.rx_missed_errors,
        tx_aborted_errors: s.tx_aborted_errors,
        tx_carrier_errors: s.tx_carrier_errors,
        tx_fifo_errors: s.tx_fifo_errors,
        tx_heartbeat_errors: s.tx_heartbeat_errors,
        tx_window_errors: s.tx_window_errors,
    };
    if swap {
        // What the kernel sent on a TAP or internal device, the switch received, and the
        // other way round. The detailed error counters are not swapped, as in OVS: they
        // make no sense the other way and are reported unknown.
        std::mem::swap(&mut st.rx_packets, &mut st.tx_packets);
        std::mem::swap(&mut st.rx_bytes, &mut st.tx_bytes);
        std::mem::swap(&mut st.rx_errors, &mut st.tx_errors);
        std::mem::swap(&mut st.rx_dropped, &mut st.tx_dropped);
        st.multicast = u64::MAX;
        st.collisions = u64::MAX;
        st.rx_length_errors = u64::MAX;
        st.rx_over_errors = u64::MAX;
        st.rx_crc_errors = u64::MAX;
        st.rx_frame_errors = u64::MAX;
        st.rx_fifo_errors = u64::MAX;
        st.rx_missed_errors = u64::MAX;
        st.tx_aborted_errors = u64::MAX;
        st.tx_carrier_errors = u64::MAX;
        st.tx_fifo_errors = u64::MAX;
        st.tx_heartbeat_errors = u64::MAX;
        st.tx_window_errors = u64::MAX;
    }
    st
}

impl Netdev for LinuxNetdev {
    fn name(&self) -> &str {
        self.name_str()
    }

    fn type_name(&self) -> &'static str {
        self.kind.type_name()
    }

    fn etheraddr(&self) -> Result<EthAddr> {
        self.cached(|i, _| i.mac)?
            .ok_or_else(|| Error::not_supported("get Ethernet address", self.name_str()))
    }

    fn set_etheraddr(&self, mac: EthAddr) -> Result<()> {
        let change = LinkChange {
            mac: Some(mac),
            ..LinkChange::default()
        };
        self.set_link("set Ethernet address", &change)
            .map_err(|e| match e {
                Error::Netlink {
                    op,
                    name,
                    msg,
                    errno,
                } => Error::Netlink {
                    op,
                    name,
                    msg: format!("cannot set Ethernet address {mac}: {msg}"),
                    errno,
                },
                e => e,
            })
    }

    fn mtu(&self) -> Result<u32> {
        self.cached(|i, _| i.mtu)?
            .ok_or_else(|| Error::not_supported("get MTU", self.name_str()))
    }

    fn set_mtu(&self, mtu: u32) -> Result<()> {
        let change = LinkChange {
            mtu: Some(mtu),
            ..LinkChange::default()
        };
        let range = self.cached(|i, _| (i.min_mtu, i.max_mtu))?;
        self.set_link("set MTU", &change).map_err(|e| match e {
            Error::Netlink {
                op,
                name,
                msg,
                errno,
            } => {
                let range = match range {
                    (Some(lo), Some(hi)) => format!("; the device takes {lo} to {hi}"),
                    _ => String::new(),
                };
                Error::Netlink {
                    op,
                    name,
                    msg: format!("MTU {mtu} refused: {msg}{range}"),
                    errno,
                }
            }
            e => e,
        })
    }

    fn ifindex(&self) -> Result<u32> {
        self.cached(|i, _| i.ifindex)
    }

    fn carrier(&self) -> Result<bool> {
        self.cached(|i, _| i.carrier())
    }

    fn carrier_resets(&self) -> u64 {
        self.state.cache.lock().carrier_resets
    }

    fn flags(&self) -> Result<NetdevFlags> {
        self.cached(|i, _| iff_to_flags(i.flags))
    }

    fn update_flags(&self, off: NetdevFlags, on: NetdevFlags) -> Result<NetdevFlags> {
        let old = self.flags()?;
        let new = (old - off) | on;
        if new != old {
            let mask = IFF_UP | IFF_PROMISC;
            let change = LinkChange {
                flags: Some((mask, flags_to_iff(new))),
                ..LinkChange::default()
            };
            self.set_link("set flags", &change)?;
        }
        Ok(old)
    }

    fn stats(&self) -> Result<NetdevStats> {
        let info = self
            .shared
            .rtnl(|r| r.get_link(self.name_str()))
            .map_err(|e| nl_error("get statistics", self.name_str(), e))?;
        let Some(info) = info else {
            self.state.mark_deleted();
            return Err(self.gone());
        };
        let s = info
            .stats
            .ok_or_else(|| Error::not_supported("get statistics", self.name_str()))?;
        let mut st = stats_from(&s, self.kind != Kind::System);
        let add = |c: &mut u64, n: u64| {
            if *c != u64::MAX {
                *c = c.saturating_add(n);
            }
        };
        add(
            &mut st.tx_dropped,
            self.state.tx_dropped.load(Ordering::Relaxed),
        );
        add(
            &mut st.rx_dropped,
            self.state.rx_dropped.load(Ordering::Relaxed),
        );
        Ok(st)
    }

    fn features(&self) -> Result<Features> {
        self.cached(|_, _| ())?;
        ethtool::features(self.ctl.as_fd(), self.name_str()).map_err(|e| match e {
            Errno::EOPNOTSUPP => Error::not_supported("get features", self.name_str()),
            e => Error::io("get features", self.name_str(), e),
        })
    }

    fn status(&self) -> Result<Options> {
        self.cached(|_, _| ())?;
        let mut st = Options::new();
        match ethtool::drvinfo(self.ctl.as_fd(), self.name_str()) {
            Ok(d) => {
                st.insert("driver_name".to_owned(), d.driver);
                st.insert("driver_version".to_owned(), d.version);
                st.insert("firmware_version".to_owned(), d.fw_version);
            }
            Err(Errno::EOPNOTSUPP) => {}
            Err(e) => return Err(Error::io("get driver information", self.name_str(), e)),
        }
        Ok(st)
    }

    fn change_seq(&self) -> u64 {
        self.state.seq.load(Ordering::Acquire)
    }

    fn n_rxq(&self) -> usize {
        1
    }

    fn rxq_open(&self, qid: usize) -> Result<Box<dyn Rxq>> {
        if qid != 0 {
            return Err(Error::InvalidConfig {
                name: self.name_str().to_owned(),
                msg: format!("no receive queue {qid}: the device has one"),
            });
        }
        match &self.io {
            Io::Tap(tap) => Ok(Box::new(TapRxq::new(qid, tap.clone(), self.state.clone()))),
            Io::Packet(_) => {
                let ifindex = self.cached(|i, _| i.ifindex)?;
                if self.shared.cfg.rx_ring {
                    return Ok(Box::new(RingRxq::open(
                        qid,
                        ifindex,
                        self.shared.cfg.vnet_hdr,
                        self.state.clone(),
                        self.shared.clone(),
                    )?));
                }
                Ok(Box::new(PacketRxq::open(
                    qid,
                    ifindex,
                    self.shared.cfg.vnet_hdr,
                    self.state.clone(),
                    self.shared.clone(),
                )?))
            }
        }
    }

    fn send(&self, _qid: usize, batch: &mut PacketBatch, _concurrent_txq: bool) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        match &self.io {
            Io::Packet(tx) => {
                let ifindex = match self.state.ifindex() {
                    Some(i) => i,
                    None => match self.cached(|i, _| i.ifindex) {
                        Ok(i) => i,
                        Err(e) => {
                            self.state
                                .tx_dropped
                                .fetch_add(batch.len() as u64, Ordering::Relaxed);
                            batch.clear();
                            return Err(e);
                        }
                    },
                };
                tx.send(&self.state, ifindex, batch)
            }
            Io::Tap(tap) => tap.send(&self.state, batch),
        }
    }

    fn send_wait(&self, _qid: usize, poll: &mut PollSet) {
        use std::os::fd::AsRawFd;
        match &self.io {
            Io::Packet(tx) => poll.fd_wait(tx.fd().as_raw_fd(), Interest::Write),
            Io::Tap(tap) => poll.fd_wait(tap.fd().as_raw_fd(), Interest::Write),
        }
    }

    fn offload_caps(&self) -> OffloadCaps {
        if self.vnet_hdr() {
            OffloadCaps::TX_CSUM | OffloadCaps::TX_TSO | OffloadCaps::TX_USO
        } else {
            OffloadCaps::empty()
        }
    }
}

fn iff_to_flags(iff: u32) -> NetdevFlags {
    let mut f = NetdevFlags::empty();
    if iff & IFF_UP != 0 {
        f |= NetdevFlags::UP;
    }
    if iff & IFF_PROMISC != 0 {
        f |= NetdevFlags::PROMISC;
    }
    if iff & IFF_LOOPBACK != 0 {
        f |= NetdevFlags::LOOPBACK;
    }
    f
}

fn flags_to_iff(f: NetdevFlags) -> u32 {
    let mut iff = 0;
    if f.contains(NetdevFlags::UP) {
        iff |= IFF_UP;
    }
    if f.contains(NetdevFlags::PROMISC) {
        iff |= IFF_PROMISC;
    }
    iff
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(name: &str, ifindex: u32, flags: u32, mtu: u32) -> LinkInfo {
        LinkInfo {
            ifindex,
            name: name.to_owned(),
            mtu: Some(mtu),
            flags,
            ..LinkInfo::default()
        }
    }

    #[test]
    fn cache_follows_events_and_bumps_seq() {
        let st = DevState::new("p0");
        let lower_up = 1 << 16;
        let s0 = st.seq.load(Ordering::Acquire);
        st.on_new_link(&link("p0", 5, IFF_UP | lower_up, 1500));
        assert!(st.present());
        assert_eq!(st.ifindex(), Some(5));
        let s1 = st.seq.load(Ordering::Acquire);
        assert!(s1 > s0);
        // The same state again changes nothing.
        st.on_new_link(&link("p0", 5, IFF_UP | lower_up, 1500));
        assert_eq!(st.seq.load(Ordering::Acquire), s1);
        // Another device's events are ignored.
        st.on_new_link(&link("p1", 6, IFF_UP, 9000));
        st.on_del_link(&link("p1", 6, IFF_UP, 9000));
        assert_eq!(st.seq.load(Ordering::Acquire), s1);
        // Carrier down counts a reset.
        st.on_new_link(&link("p0", 5, IFF_UP, 1500));
        assert!(st.seq.load(Ordering::Acquire) > s1);
        assert_eq!(st.cache.lock().carrier_resets, 1);
        st.on_del_link(&link("p0", 5, IFF_UP, 1500));
        assert!(!st.present());
        assert_eq!(st.ifindex(), None);
    }

    #[test]
    fn rename_away_is_deletion() {
        let st = DevState::new("p0");
        st.on_new_link(&link("p0", 5, IFF_UP, 1500));
        st.on_new_link(&link("renamed", 5, IFF_UP, 1500));
        assert!(!st.present());
    }

    #[test]
    fn flags_map_both_ways() {
        let f = iff_to_flags(IFF_UP | IFF_PROMISC | IFF_LOOPBACK | 0x40);
        assert_eq!(f, NetdevFlags::all());
        assert_eq!(flags_to_iff(f), IFF_UP | IFF_PROMISC);
    }

    #[test]
    fn tap_stats_are_swapped() {
        let mut s = netlink_packet_route::link::Stats64::default();
        s.rx_packets = 1;
        s.tx_packets = 2;
        s.rx_dropped = 3;
        let st = stats_from(&s, true);
        assert_eq!((st.rx_packets, st.tx_packets, st.tx_dropped), (2, 1, 3));
        let st = stats_from(&s, false);
        assert_eq!((st.rx_packets, st.tx_packets, st.rx_dropped), (1, 2, 3));
    }
}
