//! netdev-dpdk: DPDK ethdev ports as network devices (cargo feature `dpdk`).
//!
//! # Overview
//!
//! The class `dpdk` ([`DpdkClass`]) opens [`DpdkNetdev`]s. As in OVS, a device is opened
//! empty and gets its DPDK port from its options: `dpdk-devargs` (for example
//! `net_af_packet0,iface=veth0` for a vdev, or a PCI address) is probed at run time
//! (`rte_dev_probe`) by [`Netdev::set_config`], and the port is stopped, closed and removed
//! (`rte_dev_remove`) when the device is dropped, that is when its interface leaves the
//! switch. Options:
//!
//! * `dpdk-devargs`: required; a bad one is an [`Error::InvalidConfig`] naming it;
//! * `n_rxq`: receive queues (default 1), clamped to what the device has; a change waits
//!   until the datapath has closed the open queues (it reopens them when it sees
//!   [`Netdev::n_rxq`] change), then restarts the port;
//! * `n_rxq_desc`, `n_txq_desc`: ring sizes (default 2048), used when the port (re)starts.
//!
//! The EAL is initialised once per process by [`NetdevClass::set_global_config`] when the
//! `Open_vSwitch` table's `other_config` has `dpdk-init=true` ([`eal`]); until it is, or if
//! it failed, every `dpdk` interface gets an error that says so.
//!
//! # Packets
//!
//! Receive queues ([`Rxq`]) are busy-polled by the userspace datapath's poll threads
//! ([`NetdevClass::is_pmd`]); each `recv` is one `rte_eth_rx_burst`. A packet is copied
//! once from its mbuf into a [`Packet`] from the poll thread's buffer pool, and once on
//! transmit from the packet into an mbuf: the switch's packets own heap buffers, not mbufs,
//! so this is the one copy each way (the `net_af_packet` driver copies between the kernel
//! ring and mbufs anyway). Nothing is allocated per packet: buffers come from the
//! thread's pool and the device's mempool.
//!
//! # Thread-safety
//!
//! Transmit queues are shared by the poll threads: each has its own lock, taken for one
//! burst. The port's queue layout is behind a read-write lock that only a change of the
//! number of queues writes, while no receive queue is open. Lock order: a device's
//! configuration state before its port.

pub mod eal;
mod sys;

use std::collections::BTreeMap;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use parking_lot::{Mutex, RwLock};

use crate::batch::{MAX_BURST, PacketBatch};
use crate::error::{Error, Result};
use crate::ethaddr::EthAddr;
use crate::offload::finish_offloads;
use crate::packet::{Packet, SMALL_DATA};
use crate::poll::PollSet;
use crate::provider::{
    Features, LinkFeatures, Netdev, NetdevClass, NetdevFlags, NetdevStats, OffloadCaps, Options,
    Rxq,
};

/// The type name of the class.
pub const TYPE_NAME: &str = "dpdk";

/// Default ring size of each queue (OVS's `NIC_PORT_DEFAULT_RXQ_SIZE`).
const DEFAULT_DESC: u16 = 2048;
/// Mbufs per port beyond what its rings hold: bursts in flight and mempool caches.
const POOL_SLACK: u32 = 1024 + 256 * 2;
/// Bytes of data in one mbuf (DPDK's `RTE_MBUF_DEFAULT_BUF_SIZE`: 2048 plus headroom).
const MBUF_DATA_ROOM: u16 = 2048 + 128;
/// Most transmit queues asked of a device.
const MAX_TXQ: u16 = 16;

fn errno_desc(errno: i32) -> &'static str {
    Errno::from_raw(errno).desc()
}

/// How often [`NetdevClass::run`] reads the link state of the open devices.
pub const LINK_CHECK_INTERVAL: Duration = Duration::from_secs(1);

/// The `dpdk` device class.
#[derive(Default)]
pub struct DpdkClass {
    /// DPDK device names in use, with the interface using each: a device cannot be shared.
    in_use: Arc<Mutex<BTreeMap<String, String>>>,
    counter: AtomicU64,
    /// The open devices, for link checks.
    devices: Mutex<Vec<Weak<DpdkNetdev>>>,
    /// When `run` reads the links next.
    next_link_check: Mutex<Option<Instant>>,
}

impl std::fmt::Debug for DpdkClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DpdkClass")
            .field("in_use", &*self.in_use.lock())
            .finish_non_exhaustive()
    }
}

impl DpdkClass {
    /// Makes the class.
    pub fn new() -> Self {
        DpdkClass::default()
    }
}

impl NetdevClass for DpdkClass {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn is_pmd(&self) -> bool {
        true
    }

    /// Initialises the EAL once per process if `dpdk-init` is `true` (or `try`).
    fn set_global_config(&self, other_config: &Options) -> Result<()> {
        eal::init(other_config).map_err(|msg| Error::InvalidConfig {
            name: "dpdk".to_owned(),
            msg,
        })
    }

    /// Reads the link state of every open device, once per [`LINK_CHECK_INTERVAL`]; a
    /// change bumps the device's `change_seq` (and a link going down its carrier resets),
    /// as OVS's netdev-dpdk link status check does.
    fn run(&self) {
        let now = Instant::now();
        {
            let mut next = self.next_link_check.lock();
            if next.is_some_and(|t| now < t) {
                return;
            }
            *next = Some(now + LINK_CHECK_INTERVAL);
        }
        let devices: Vec<Arc<DpdkNetdev>> = {
            let mut devs = self.devices.lock();
            devs.retain(|w| w.strong_count() > 0);
            devs.iter().filter_map(Weak::upgrade).collect()
        };
        for d in devices {
            d.check_link();
        }
    }

    fn wait(&self, poll: &mut PollSet) {
        if !self.devices.lock().is_empty()
            && let Some(t) = *self.next_link_check.lock()
        {
            poll.timer_wait(t);
        }
    }

    fn open(&self, name: &str) -> Result<Arc<dyn Netdev>> {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let dev = Arc::new(DpdkNetdev {
            name: name.to_owned(),
            id: n,
            in_use: self.in_use.clone(),
            state: Mutex::new(State::default()),
            port: RwLock::new(None),
            change_seq: AtomicU64::new(1),
            tx_dropped: AtomicU64::new(0),
            live_rxqs: Arc::new(AtomicUsize::new(0)),
            up: AtomicBool::new(false),
            link_up: AtomicBool::new(false),
            carrier_resets: AtomicU64::new(0),
        });
        self.devices.lock().push(Arc::downgrade(&dev));
        Ok(dev)
    }
}

/// A probed DPDK device and its packet pool; removed from DPDK when dropped.
struct Attached {
    port_id: u16,
    dev_name: String,
    devargs: String,
    info: sys::PortInfo,
    pool: sys::Pool,
    in_use: Arc<Mutex<BTreeMap<String, String>>>,
}

impl Drop for Attached {
    fn drop(&mut self) {
        // The port goes before its pool (a field, dropped after this body).
        match sys::port_detach(self.port_id) {
            Ok(()) => tracing::info!("DPDK: device {} removed", self.devargs),
            Err(e) => tracing::warn!(
                "DPDK: could not remove device {}: {}",
                self.devargs,
                errno_desc(e)
            ),
        }
        self.in_use.lock().remove(&self.dev_name);
    }
}

/// A started port: its device and queue layout.
struct Port {
    dev: Arc<Attached>,
    n_rxq: u16,
    n_txq: u16,
    /// One lock per transmit queue.
    txqs: Box<[Mutex<()>]>,
}

/// Configuration and cached state.
#[derive(Default)]
struct State {
    options: Options,
    req_n_rxq: u16,
    /// Ring sizes in effect.
    n_desc: u16,
    flags: NetdevFlags,
    mtu_request: Option<u32>,
    /// A queue count change waiting for every receive queue to close.
    pending: bool,
}

/// A DPDK port as a network device. See the [module docs](self).
pub struct DpdkNetdev {
    name: String,
    id: u64,
    in_use: Arc<Mutex<BTreeMap<String, String>>>,
    state: Mutex<State>,
    port: RwLock<Option<Port>>,
    change_seq: AtomicU64,
    tx_dropped: AtomicU64,
    live_rxqs: Arc<AtomicUsize>,
    /// `NetdevFlags::UP`, read by `send` without a lock.
    up: AtomicBool,
    /// The link state last seen by the class's `run`.
    link_up: AtomicBool,
    /// How many times the link went down.
    carrier_resets: AtomicU64,
}

impl std::fmt::Debug for DpdkNetdev {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DpdkNetdev")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

fn invalid(name: &str, msg: impl Into<String>) -> Error {
    Error::InvalidConfig {
        name: name.to_owned(),
        msg: msg.into(),
    }
}

/// The DPDK device name in `devargs`: the text before the first comma
/// (`net_af_packet0,iface=veth0` names `net_af_packet0`).
///
/// # Errors
///
/// A message for an empty name or one with characters DPDK cannot take.
pub fn devargs_name(devargs: &str) -> std::result::Result<&str, String> {
    let name = devargs.split(',').next().unwrap_or_default().trim();
    if name.is_empty() {
        return Err(format!("dpdk-devargs \"{devargs}\" names no device"));
    }
    if devargs.contains('\0') || name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "dpdk-devargs \"{}\" is malformed",
            devargs.escape_debug()
        ));
    }
    Ok(name)
}

/// The receive queues a device gets for `n_rxq`: at least 1, at most what it has.
fn effective_n_rxq(n_rxq: u16, info: &sys::PortInfo) -> u16 {
    n_rxq.max(1).min(info.max_rxq.max(1))
}

fn parse_u16(
    name: &str,
    key: &str,
    value: &str,
    range: std::ops::RangeInclusive<u16>,
) -> Result<u16> {
    value
        .parse::<u16>()
        .ok()
        .filter(|n| range.contains(n))
        .ok_or_else(|| {
            invalid(
                name,
                format!(
                    "{key} must be a number from {} to {}, not \"{value}\"",
                    range.start(),
                    range.end()
                ),
            )
        })
}

impl DpdkNetdev {
    fn bump(&self) {
        self.change_seq.fetch_add(1, Ordering::Release);
    }

    /// Reads the link state; a change bumps `change_seq`.
    fn check_link(&self) {
        let up = self
            .port_id()
            .is_some_and(|p| sys::link_get(p).is_ok_and(|l| l.up));
        let was = self.link_up.swap(up, Ordering::AcqRel);
        if was != up {
            if was {
                self.carrier_resets.fetch_add(1, Ordering::Relaxed);
            }
            tracing::info!(
                "{}: link state changed to {}",
                self.name,
                if up { "up" } else { "down" }
            );
            self.bump();
        }
    }

    fn port_id(&self) -> Option<u16> {
        self.port.read().as_ref().map(|p| p.dev.port_id)
    }

    fn io_err(&self, op: &'static str, errno: i32) -> Error {
        Error::io(op, &self.name, Errno::from_raw(errno))
    }

    /// Probes `devargs` and makes its pool.
    fn attach(&self, devargs: &str) -> Result<Arc<Attached>> {
        if !matches!(eal::state(), eal::EalState::Running(_)) {
            let why = match eal::state() {
                eal::EalState::Failed(e) => e,
                _ => "DPDK is not initialized (set other_config:dpdk-init=true)".to_owned(),
            };
            return Err(invalid(&self.name, why));
        }
        let dev_name = devargs_name(devargs).map_err(|m| invalid(&self.name, m))?;
        {
            let mut in_use = self.in_use.lock();
            if let Some(other) = in_use.get(dev_name) {
                return Err(invalid(
                    &self.name,
                    format!("DPDK device {dev_name} is already in use by interface {other}"),
                ));
            }
            in_use.insert(dev_name.to_owned(), self.name.clone());
        }
        let release = || {
            self.in_use.lock().remove(dev_name);
        };
        let port_id = match sys::port_attach(devargs, dev_name) {
            Ok(p) => p,
            Err(e) => {
                release();
                return Err(invalid(
                    &self.name,
                    format!(
                        "Error attaching device '{devargs}' to DPDK ({})",
                        errno_desc(e)
                    ),
                ));
            }
        };
        let info = match sys::port_info(port_id) {
            Ok(i) => i,
            Err(e) => {
                let _ = sys::port_detach(port_id);
                release();
                return Err(self.io_err("get DPDK device info", e));
            }
        };
        let n_mbufs =
            u32::from(info.max_rxq.clamp(1, MAX_TXQ)) * u32::from(DEFAULT_DESC) * 2 + POOL_SLACK;
        let pool_name = format!("rovs{}_{port_id}", self.id);
        let pool = match sys::Pool::new(&pool_name, n_mbufs.min(16383), MBUF_DATA_ROOM) {
            Ok(p) => p,
            Err(e) => {
                let _ = sys::port_detach(port_id);
                release();
                return Err(invalid(
                    &self.name,
                    format!("could not allocate DPDK packet buffers ({})", errno_desc(e)),
                ));
            }
        };
        tracing::info!(
            "{}: DPDK device {devargs} attached as port {port_id} ({})",
            self.name,
            info.driver
        );
        Ok(Arc::new(Attached {
            port_id,
            dev_name: dev_name.to_owned(),
            devargs: devargs.to_owned(),
            info,
            pool,
            in_use: self.in_use.clone(),
        }))
    }

    /// Starts `dev` with the requested queues and installs it as the port.
    fn start(&self, dev: Arc<Attached>, st: &mut State) -> Result<()> {
        let n_rxq = effective_n_rxq(st.req_n_rxq, &dev.info);
        if n_rxq < st.req_n_rxq {
            tracing::warn!(
                "{}: n_rxq {} is more than the {} receive queues of the device, using {n_rxq}",
                self.name,
                st.req_n_rxq,
                dev.info.max_rxq
            );
        }
        // As many transmit queues as the device has (up to MAX_TXQ), so poll threads need
        // not share one; some drivers (net_tap) want as many as receive queues: then that.
        let mut n_txq = dev.info.max_txq.clamp(1, MAX_TXQ);
        if let Err(e) = sys::port_start(dev.port_id, n_rxq, n_txq, st.n_desc, &dev.pool) {
            if n_txq == n_rxq {
                return Err(self.io_err("start DPDK port", e));
            }
            tracing::debug!(
                "{}: {n_txq} transmit queues refused ({}), retrying with {n_rxq}",
                self.name,
                errno_desc(e)
            );
            n_txq = n_rxq;
            sys::port_start(dev.port_id, n_rxq, n_txq, st.n_desc, &dev.pool)
                .map_err(|e| self.io_err("start DPDK port", e))?;
        }
        if st.flags.contains(NetdevFlags::PROMISC) {
            let _ = sys::promisc(dev.port_id, true);
        }
        if let Some(mtu) = st.mtu_request {
            self.apply_mtu(dev.port_id, mtu)?;
        }
        let txqs = (0..n_txq).map(|_| Mutex::new(())).collect();
        *self.port.write() = Some(Port {
            dev,
            n_rxq,
            n_txq,
            txqs,
        });
        st.pending = false;
        Ok(())
    }

    fn apply_mtu(&self, port: u16, mtu: u32) -> Result<()> {
        let m = u16::try_from(mtu)
            .map_err(|_| invalid(&self.name, format!("MTU {mtu} is too large")))?;
        sys::mtu_set(port, m).map_err(|e| {
            invalid(
                &self.name,
                format!("could not set MTU {mtu} ({})", errno_desc(e)),
            )
        })
    }

    /// Applies a pending queue count change if no receive queue is open.
    fn apply_pending(&self) -> Result<()> {
        let mut st = self.state.lock();
        if !st.pending || self.live_rxqs.load(Ordering::Acquire) != 0 {
            return Ok(());
        }
        let dev = match self.port.write().take() {
            Some(p) => p.dev,
            None => return Ok(()),
        };
        let _ = sys::port_stop(dev.port_id);
        self.start(dev, &mut st)
    }
}

impl Netdev for DpdkNetdev {
    fn name(&self) -> &str {
        &self.name
    }

    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn set_config(&self, options: &Options) -> Result<()> {
        let mut devargs = None;
        let mut n_rxq = 1u16;
        let mut n_desc = DEFAULT_DESC;
        for (key, value) in options {
            match key.as_str() {
                "dpdk-devargs" => devargs = Some(value.as_str()),
                "n_rxq" => n_rxq = parse_u16(&self.name, key, value, 1..=1024)?,
                "n_rxq_desc" | "n_txq_desc" => {
                    n_desc = parse_u16(&self.name, key, value, 64..=4096)?;
                }
                _ => {
                    return Err(invalid(
                        &self.name,
                        format!("dpdk interface does not support option \"{key}\""),
                    ));
                }
            }
        }
        let Some(devargs) = devargs else {
            return Err(invalid(
                &self.name,
                "options:dpdk-devargs is required (for example \"net_af_packet0,iface=eth0\")",
            ));
        };
        let current = self.port.read().as_ref().map(|p| p.dev.devargs.clone());
        let mut st = self.state.lock();
        match current {
            Some(cur) if cur == devargs => {
                // A new queue count waits for the datapath to close the open queues (it
                // notices `n_rxq` changed); ring sizes go with the next restart.
                let now = self
                    .port
                    .read()
                    .as_ref()
                    .map(|p| (p.n_rxq, p.dev.info.clone()));
                if let Some((n_now, info)) = now
                    && effective_n_rxq(n_rxq, &info) != n_now
                {
                    st.pending = true;
                }
                st.req_n_rxq = n_rxq;
                st.n_desc = n_desc;
            }
            Some(cur) => {
                return Err(invalid(
                    &self.name,
                    format!(
                        "dpdk-devargs cannot change from \"{cur}\" to \"{devargs}\" while the \
                         device is in use"
                    ),
                ));
            }
            None => {
                let dev = self.attach(devargs)?;
                st.req_n_rxq = n_rxq;
                st.n_desc = n_desc;
                self.start(dev, &mut st)?;
            }
        }
        st.options = options.clone();
        drop(st);
        self.apply_pending()?;
        self.bump();
        Ok(())
    }

    fn get_config(&self) -> Options {
        self.state.lock().options.clone()
    }

    fn etheraddr(&self) -> Result<EthAddr> {
        match self.port_id() {
            Some(p) => sys::mac_get(p)
                .map(EthAddr)
                .map_err(|e| self.io_err("get MAC", e)),
            None => Ok(EthAddr([0; 6])),
        }
    }

    fn set_etheraddr(&self, mac: EthAddr) -> Result<()> {
        let p = self
            .port_id()
            .ok_or_else(|| Error::not_supported("set MAC before dpdk-devargs", &self.name))?;
        sys::mac_set(p, mac.0).map_err(|e| self.io_err("set MAC", e))?;
        self.bump();
        Ok(())
    }

    fn mtu(&self) -> Result<u32> {
        match self.port_id() {
            Some(p) => sys::mtu_get(p)
                .map(u32::from)
                .map_err(|e| self.io_err("get MTU", e)),
            None => Ok(self.state.lock().mtu_request.unwrap_or(1500)),
        }
    }

    fn set_mtu(&self, mtu: u32) -> Result<()> {
        if let Some(p) = self.port_id() {
            self.apply_mtu(p, mtu)?;
        }
        self.state.lock().mtu_request = Some(mtu);
        self.bump();
        Ok(())
    }

    fn carrier(&self) -> Result<bool> {
        match self.port_id() {
            Some(p) => Ok(sys::link_get(p).is_ok_and(|l| l.up)),
            None => Ok(false),
        }
    }

    fn carrier_resets(&self) -> u64 {
        self.carrier_resets.load(Ordering::Relaxed)
    }

    fn flags(&self) -> Result<NetdevFlags> {
        Ok(self.state.lock().flags)
    }

    fn update_flags(&self, off: NetdevFlags, on: NetdevFlags) -> Result<NetdevFlags> {
        let mut st = self.state.lock();
        let old = st.flags;
        let new = (old - off) | on;
        if let Some(p) = self.port_id()
            && old.contains(NetdevFlags::PROMISC) != new.contains(NetdevFlags::PROMISC)
        {
            sys::promisc(p, new.contains(NetdevFlags::PROMISC))
                .map_err(|e| self.io_err("set promiscuous mode", e))?;
        }
        st.flags = new;
        self.up
            .store(new.contains(NetdevFlags::UP), Ordering::Release);
        drop(st);
        if new != old {
            self.bump();
        }
        Ok(old)
    }

    fn stats(&self) -> Result<NetdevStats> {
        let mut s = NetdevStats::zero();
        s.tx_dropped = self.tx_dropped.load(Ordering::Relaxed);
        let Some(p) = self.port_id() else {
            return Ok(s);
        };
        let [
            ipackets,
            opackets,
            ibytes,
            obytes,
            imissed,
            ierrors,
            oerrors,
            nombuf,
        ] = sys::stats_get(p).map_err(|e| self.io_err("get statistics", e))?;
        s.rx_packets = ipackets;
        s.tx_packets = opackets;
        s.rx_bytes = ibytes;
        s.tx_bytes = obytes;
        s.rx_missed_errors = imissed;
        s.rx_dropped = imissed.saturating_add(nombuf);
        s.rx_errors = ierrors;
        s.tx_errors = oerrors;
        Ok(s)
    }

    fn features(&self) -> Result<Features> {
        let p = self
            .port_id()
            .ok_or_else(|| Error::not_supported("get features", &self.name))?;
        let link = sys::link_get(p).map_err(|e| self.io_err("get link", e))?;
        let mut current = match link.speed_mbps {
            10 => LinkFeatures::F_10MB_FD,
            100 => LinkFeatures::F_100MB_FD,
            1000 => LinkFeatures::F_1GB_FD,
            10_000 => LinkFeatures::F_10GB_FD,
            40_000 => LinkFeatures::F_40GB_FD,
            100_000 => LinkFeatures::F_100GB_FD,
            0 => LinkFeatures::empty(),
            _ => LinkFeatures::OTHER,
        };
        if link.autoneg {
            current |= LinkFeatures::AUTONEG;
        }
        Ok(Features {
            current,
            speed_mbps: link.speed_mbps,
            full_duplex: Some(link.full_duplex),
            ..Features::default()
        })
    }

    /// `driver_name`, `dpdk-devargs`, `port_no`, queue counts and limits, MTU range, the
    /// bound kernel interface index, and every extended counter (`rx_good_packets`, ...).
    fn status(&self) -> Result<Options> {
        let mut out = Options::new();
        let guard = self.port.read();
        let Some(port) = guard.as_ref() else {
            return Ok(out);
        };
        let d = &port.dev;
        let mut put = |k: &str, v: String| {
            out.entry(k.to_owned()).or_insert(v);
        };
        put("driver_name", d.info.driver.clone());
        put("dpdk-devargs", d.devargs.clone());
        put("port_no", d.port_id.to_string());
        put("n_rxq", port.n_rxq.to_string());
        put("n_txq", port.n_txq.to_string());
        put("max_rx_queues", d.info.max_rxq.to_string());
        put("max_tx_queues", d.info.max_txq.to_string());
        put("min_mtu", d.info.min_mtu.to_string());
        put("max_mtu", d.info.max_mtu.to_string());
        if d.info.if_index != 0 {
            put("if_index", d.info.if_index.to_string());
        }
        if let Ok(link) = sys::link_get(d.port_id) {
            put("link_speed", format!("{} Mbps", link.speed_mbps));
        }
        for (k, v) in sys::xstats_get(d.port_id).unwrap_or_default() {
            put(&k, v.to_string());
        }
        Ok(out)
    }

    fn change_seq(&self) -> u64 {
        self.change_seq.load(Ordering::Acquire)
    }

    fn n_rxq(&self) -> usize {
        let st = self.state.lock();
        let guard = self.port.read();
        match guard.as_ref() {
            Some(p) if st.pending => usize::from(effective_n_rxq(st.req_n_rxq, &p.dev.info)),
            Some(p) => usize::from(p.n_rxq),
            None => 0,
        }
    }

    fn n_txq(&self) -> usize {
        self.port
            .read()
            .as_ref()
            .map_or(1, |p| usize::from(p.n_txq))
    }

    fn rxq_open(&self, qid: usize) -> Result<Box<dyn Rxq>> {
        self.apply_pending()?;
        let guard = self.port.read();
        let port = guard
            .as_ref()
            .ok_or_else(|| Error::not_supported("receive before dpdk-devargs", &self.name))?;
        let q = u16::try_from(qid)
            .ok()
            .filter(|q| *q < port.n_rxq)
            .ok_or_else(|| invalid(&self.name, format!("no receive queue {qid}")))?;
        self.live_rxqs.fetch_add(1, Ordering::AcqRel);
        Ok(Box::new(DpdkRxq {
            dev: port.dev.clone(),
            q,
            burst: sys::RxBurst::new(),
            live: self.live_rxqs.clone(),
        }))
    }

    fn send(&self, qid: usize, batch: &mut PacketBatch, _concurrent_txq: bool) -> Result<()> {
        let guard = self.port.read();
        let up = self.up.load(Ordering::Acquire);
        let Some(port) = guard.as_ref().filter(|_| up) else {
            self.tx_dropped
                .fetch_add(batch.len() as u64, Ordering::Relaxed);
            batch.clear();
            return Ok(());
        };
        sys::thread_lcore();
        let n_txq = port.txqs.len().max(1);
        let q = qid % n_txq;
        let qid16 = u16::try_from(q).unwrap_or(0);
        let mut dropped = 0usize;
        let dropped_offloads = finish_offloads(batch, OffloadCaps::empty(), &mut |b| {
            let mut frames: [&[u8]; MAX_BURST] = [&[]; MAX_BURST];
            let n = b.len().min(MAX_BURST);
            for (f, p) in frames.iter_mut().zip(b.iter()) {
                *f = p.data();
            }
            let sent = match port.txqs.get(q) {
                Some(lock) => {
                    let _g = lock.lock();
                    sys::tx_copy_burst(port.dev.port_id, qid16, &port.dev.pool, &frames[..n])
                }
                None => 0,
            };
            dropped += b.len().saturating_sub(sent);
            b.clear();
        });
        let lost = dropped + dropped_offloads;
        if lost > 0 {
            self.tx_dropped.fetch_add(lost as u64, Ordering::Relaxed);
        }
        Ok(())
    }

    fn offload_caps(&self) -> OffloadCaps {
        OffloadCaps::empty()
    }
}

/// One receive queue of a [`DpdkNetdev`], polled by one thread.
pub struct DpdkRxq {
    dev: Arc<Attached>,
    q: u16,
    burst: sys::RxBurst,
    live: Arc<AtomicUsize>,
}

impl std::fmt::Debug for DpdkRxq {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DpdkRxq")
            .field("port", &self.dev.port_id)
            .field("q", &self.q)
            .finish()
    }
}

impl Drop for DpdkRxq {
    fn drop(&mut self) {
        self.burst.free();
        self.live.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Rxq for DpdkRxq {
    fn queue_id(&self) -> usize {
        usize::from(self.q)
    }

    fn recv(&mut self, batch: &mut PacketBatch) -> Result<usize> {
        sys::thread_lcore();
        let n = self.burst.recv(self.dev.port_id, self.q, batch.room());
        for i in 0..n {
            let len = self.burst.len(i);
            let mut pkt = if len <= SMALL_DATA {
                Packet::new()
            } else {
                Packet::with_capacity(len)
            };
            let got = self.burst.copy(i, pkt.recv_space());
            pkt.set_len(got);
            if batch.push(pkt).is_err() {
                break;
            }
        }
        self.burst.free();
        Ok(n)
    }

    fn fd(&self) -> Option<RawFd> {
        None
    }
}

#[cfg(test)]
mod tests;
