//! The only `unsafe` of netdev-dpdk: declarations of the C shim (`shim.c`) and safe
//! wrappers around them.
//!
//! The shim takes and returns integers, byte buffers and opaque pointers only; Rust never
//! sees a DPDK struct layout. Every wrapper checks its arguments' sizes before calling, so
//! none of them can be misused from safe code. Functions return `Err(errno)` (a positive
//! errno) where the shim returned a negative one.

use std::ffi::{CStr, CString, c_char, c_int, c_void};
use std::ptr::NonNull;

use crate::batch::MAX_BURST;

unsafe extern "C" {
    fn rovs_eal_init(argc: c_int, argv: *mut *mut c_char) -> c_int;
    fn rovs_thread_register() -> c_int;
    fn rovs_thread_unregister();
    fn rovs_port_attach(devargs: *const c_char, name: *const c_char, port: *mut u16) -> c_int;
    fn rovs_port_detach(port: u16) -> c_int;
    fn rovs_port_info(
        port: u16,
        driver: *mut c_char,
        cap: u32,
        max_rxq: *mut u16,
        max_txq: *mut u16,
        min_mtu: *mut u32,
        max_mtu: *mut u32,
        if_index: *mut u32,
    ) -> c_int;
    fn rovs_port_start(port: u16, n_rxq: u16, n_txq: u16, n_desc: u16, pool: *mut c_void) -> c_int;
    fn rovs_port_stop(port: u16) -> c_int;
    fn rovs_promisc(port: u16, on: c_int) -> c_int;
    fn rovs_mac_get(port: u16, mac: *mut u8) -> c_int;
    fn rovs_mac_set(port: u16, mac: *const u8) -> c_int;
    fn rovs_mtu_get(port: u16, mtu: *mut u16) -> c_int;
    fn rovs_mtu_set(port: u16, mtu: u16) -> c_int;
    fn rovs_link_get(
        port: u16,
        speed: *mut u32,
        full_duplex: *mut c_int,
        autoneg: *mut c_int,
        up: *mut c_int,
    ) -> c_int;
    fn rovs_stats_get(port: u16, out: *mut u64) -> c_int;
    fn rovs_xstats_get(
        port: u16,
        names: *mut c_char,
        name_len: u32,
        values: *mut u64,
        n: u32,
    ) -> c_int;
    fn rovs_pool_create(name: *const c_char, n: u32, data_room: u16, socket: c_int) -> *mut c_void;
    fn rovs_pool_free(pool: *mut c_void);
    fn rovs_errno() -> c_int;
    fn rovs_rx_burst(port: u16, q: u16, mbufs: *mut *mut c_void, n: u16) -> u16;
    fn rovs_mbuf_len(m: *const c_void) -> u32;
    fn rovs_mbuf_copy(m: *const c_void, dst: *mut u8, cap: u32) -> u32;
    fn rovs_mbuf_free_bulk(mbufs: *mut *mut c_void, n: u32);
    fn rovs_tx_copy_burst(
        port: u16,
        q: u16,
        pool: *mut c_void,
        data: *const *const u8,
        lens: *const u32,
        n: u16,
    ) -> u16;
}

/// Maps a shim return value to `Ok(value)` or `Err(positive errno)`.
fn check(rc: c_int) -> Result<u32, i32> {
    u32::try_from(rc).map_err(|_| rc.saturating_neg())
}

/// Initialises the EAL with `args` (the first is the program name). Call once per
/// process; a second call fails with `EALREADY`.
pub(super) fn eal_init(args: &[String]) -> Result<(), i32> {
    let owned: Vec<CString> = args
        .iter()
        .map(|a| CString::new(a.as_str()).map_err(|_| libc::EINVAL))
        .collect::<Result<_, _>>()?;
    // EAL may keep and permute argv: it gets copies it may keep (leaked, once per process).
    let mut argv: Vec<*mut c_char> = owned.into_iter().map(CString::into_raw).collect();
    argv.push(std::ptr::null_mut());
    let argc = c_int::try_from(args.len()).map_err(|_| libc::E2BIG)?;
    let ptr = argv.as_mut_ptr();
    std::mem::forget(argv);
    // SAFETY: `ptr` holds `argc` valid NUL-terminated strings and a final null, all leaked
    // so they outlive the EAL, which may keep pointers into them.
    check(unsafe { rovs_eal_init(argc, ptr) }).map(|_| ())
}

/// An lcore id held by this thread from its first packet to its exit.
struct Lcore {
    registered: bool,
}

impl Drop for Lcore {
    fn drop(&mut self) {
        if self.registered {
            // SAFETY: runs on the thread that registered itself (a thread-local's
            // destructor), once.
            unsafe { rovs_thread_unregister() }
        }
    }
}

thread_local! {
    static LCORE: Lcore = Lcore {
        // SAFETY: called once per thread, only after the EAL is initialised (by the
        // first receive or send on a started port); it takes no pointers.
        registered: unsafe { rovs_thread_register() } == 1,
    };
}

/// Gives the calling thread an lcore id, if it has none and one is free, so that its
/// mbuf allocations and frees use the mempools' per-lcore caches; the id goes back when
/// the thread exits. Cheap after the first call on a thread. Only call it with the EAL
/// running.
pub(super) fn thread_lcore() {
    let _ = LCORE.try_with(|_| ());
}

/// Probes `devargs` and returns the ethdev port id of device `name`.
pub(super) fn port_attach(devargs: &str, name: &str) -> Result<u16, i32> {
    let d = CString::new(devargs).map_err(|_| libc::EINVAL)?;
    let n = CString::new(name).map_err(|_| libc::EINVAL)?;
    let mut port = 0u16;
    // SAFETY: both strings are NUL-terminated and live for the call; `port` is writable.
    check(unsafe { rovs_port_attach(d.as_ptr(), n.as_ptr(), &mut port) })?;
    Ok(port)
}

/// Stops, closes and removes the device of `port`.
pub(super) fn port_detach(port: u16) -> Result<(), i32> {
    // SAFETY: plain integer argument; an unknown port gives an error.
    check(unsafe { rovs_port_detach(port) }).map(|_| ())
}

/// What a device can do.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct PortInfo {
    pub driver: String,
    pub max_rxq: u16,
    pub max_txq: u16,
    pub min_mtu: u32,
    pub max_mtu: u32,
    pub if_index: u32,
}

/// The facts of device `port`.
pub(super) fn port_info(port: u16) -> Result<PortInfo, i32> {
    let mut driver = [0 as c_char; 64];
    let mut info = PortInfo::default();
    // SAFETY: `driver` has the 64 bytes announced; every other pointer is a writable
    // integer.
    check(unsafe {
        rovs_port_info(
            port,
            driver.as_mut_ptr(),
            64,
            &mut info.max_rxq,
            &mut info.max_txq,
            &mut info.min_mtu,
            &mut info.max_mtu,
            &mut info.if_index,
        )
    })?;
    // SAFETY: the shim always NUL-terminates within the 64 bytes.
    info.driver = unsafe { CStr::from_ptr(driver.as_ptr()) }
        .to_string_lossy()
        .into_owned();
    Ok(info)
}

/// A packet buffer pool (`rte_mempool`), freed when dropped.
#[derive(Debug)]
pub(super) struct Pool(NonNull<c_void>);

// SAFETY: a mempool is made for use from many threads (its ring is multi-producer,
// multi-consumer); the pointer is only handed to DPDK.
unsafe impl Send for Pool {}
// SAFETY: as above: every operation on it is thread-safe inside DPDK.
unsafe impl Sync for Pool {}

impl Pool {
    /// Makes pool `name` of `n` buffers of `data_room` bytes each.
    pub(super) fn new(name: &str, n: u32, data_room: u16) -> Result<Pool, i32> {
        let c = CString::new(name).map_err(|_| libc::EINVAL)?;
        // SAFETY: `c` is NUL-terminated and lives for the call.
        let p = unsafe { rovs_pool_create(c.as_ptr(), n, data_room, -1) };
        match NonNull::new(p) {
            Some(p) => Ok(Pool(p)),
            // SAFETY: reads a thread-local errno.
            None => Err(unsafe { rovs_errno() }.max(1)),
        }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        // SAFETY: the pool was made by `rovs_pool_create` and is freed once; the ports that
        // received into it were stopped and closed before (see `Port`'s drop order).
        unsafe { rovs_pool_free(self.0.as_ptr()) }
    }
}

/// Configures the stopped `port` with the queue counts, receiving into `pool`, and starts it.
pub(super) fn port_start(
    port: u16,
    n_rxq: u16,
    n_txq: u16,
    n_desc: u16,
    pool: &Pool,
) -> Result<(), i32> {
    // SAFETY: `pool` is a live mempool that outlives the port's use of it (see `Pool`).
    check(unsafe { rovs_port_start(port, n_rxq, n_txq, n_desc, pool.0.as_ptr()) }).map(|_| ())
}

/// Stops `port`.
pub(super) fn port_stop(port: u16) -> Result<(), i32> {
    // SAFETY: plain integer argument.
    check(unsafe { rovs_port_stop(port) }).map(|_| ())
}

/// Turns promiscuous mode on or off.
pub(super) fn promisc(port: u16, on: bool) -> Result<(), i32> {
    // SAFETY: plain integer arguments.
    check(unsafe { rovs_promisc(port, c_int::from(on)) }).map(|_| ())
}

/// The device's MAC.
pub(super) fn mac_get(port: u16) -> Result<[u8; 6], i32> {
    let mut mac = [0u8; 6];
    // SAFETY: `mac` has the 6 writable bytes the shim writes.
    check(unsafe { rovs_mac_get(port, mac.as_mut_ptr()) })?;
    Ok(mac)
}

/// Sets the device's MAC.
pub(super) fn mac_set(port: u16, mac: [u8; 6]) -> Result<(), i32> {
    // SAFETY: `mac` has the 6 bytes the shim reads.
    check(unsafe { rovs_mac_set(port, mac.as_ptr()) }).map(|_| ())
}

/// The device's MTU.
pub(super) fn mtu_get(port: u16) -> Result<u16, i32> {
    let mut mtu = 0u16;
    // SAFETY: `mtu` is writable.
    check(unsafe { rovs_mtu_get(port, &mut mtu) })?;
    Ok(mtu)
}

/// Sets the device's MTU.
pub(super) fn mtu_set(port: u16, mtu: u16) -> Result<(), i32> {
    // SAFETY: plain integer arguments.
    check(unsafe { rovs_mtu_set(port, mtu) }).map(|_| ())
}

/// Link state: speed in Mbit/s (0 if unknown), full duplex, autoneg, up.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Link {
    pub speed_mbps: u32,
    pub full_duplex: bool,
    pub autoneg: bool,
    pub up: bool,
}

/// The link state of `port`, without waiting.
pub(super) fn link_get(port: u16) -> Result<Link, i32> {
    let (mut speed, mut fd, mut an, mut up) = (0u32, 0, 0, 0);
    // SAFETY: every pointer is a writable integer.
    check(unsafe { rovs_link_get(port, &mut speed, &mut fd, &mut an, &mut up) })?;
    Ok(Link {
        speed_mbps: speed,
        full_duplex: fd != 0,
        autoneg: an != 0,
        up: up != 0,
    })
}

/// Basic counters: ipackets, opackets, ibytes, obytes, imissed, ierrors, oerrors,
/// rx_nombuf.
pub(super) fn stats_get(port: u16) -> Result<[u64; 8], i32> {
    let mut out = [0u64; 8];
    // SAFETY: `out` has the 8 writable counters the shim writes.
    check(unsafe { rovs_stats_get(port, out.as_mut_ptr()) })?;
    Ok(out)
}

/// Bytes of one extended counter's name slot (DPDK's `RTE_ETH_XSTATS_NAME_SIZE`).
const XSTAT_NAME: usize = 64;
const XSTAT_NAME_U32: u32 = 64;

/// The extended counters of `port`, as `(name, value)`.
pub(super) fn xstats_get(port: u16) -> Result<Vec<(String, u64)>, i32> {
    let mut n = 64usize;
    loop {
        let mut names = vec![0 as c_char; n * XSTAT_NAME];
        let mut values = vec![0u64; n];
        let n32 = u32::try_from(n).map_err(|_| libc::E2BIG)?;
        // SAFETY: `names` holds `n` slots of XSTAT_NAME bytes and `values` `n` counters, as
        // announced; the shim writes no more.
        let total = check(unsafe {
            rovs_xstats_get(
                port,
                names.as_mut_ptr(),
                XSTAT_NAME_U32,
                values.as_mut_ptr(),
                n32,
            )
        })?;
        let total = usize::try_from(total).map_err(|_| libc::E2BIG)?;
        if total > n && n < 65536 {
            n = total;
            continue;
        }
        let got = total.min(n);
        let mut out = Vec::with_capacity(got);
        for (i, v) in values.iter().take(got).enumerate() {
            let slot = &names[i * XSTAT_NAME..(i + 1) * XSTAT_NAME];
            let bytes: Vec<u8> = slot
                .iter()
                .take_while(|c| **c != 0)
                .map(|c| c.to_ne_bytes()[0])
                .collect();
            out.push((String::from_utf8_lossy(&bytes).into_owned(), *v));
        }
        return Ok(out);
    }
}

/// Up to [`MAX_BURST`] received mbufs, freed together when dropped or refilled.
pub(super) struct RxBurst {
    mbufs: [*mut c_void; MAX_BURST],
    n: usize,
}

// SAFETY: the mbufs are owned by this burst alone until freed; mbufs may be freed on any
// thread.
unsafe impl Send for RxBurst {}

impl RxBurst {
    /// An empty burst.
    pub(super) fn new() -> Self {
        RxBurst {
            mbufs: [std::ptr::null_mut(); MAX_BURST],
            n: 0,
        }
    }

    /// Frees the held mbufs, then receives up to `max` (at most [`MAX_BURST`]) from queue
    /// `q` of `port`; returns how many arrived.
    ///
    /// The caller makes sure the queue is set up and polled by this thread only.
    pub(super) fn recv(&mut self, port: u16, q: u16, max: usize) -> usize {
        self.free();
        let max = u16::try_from(max.min(MAX_BURST)).unwrap_or(0);
        // SAFETY: `mbufs` has room for MAX_BURST pointers, and `max` is no more; the queue
        // is set up and owned by the calling thread (the `DpdkRxq` that calls this).
        let n = unsafe { rovs_rx_burst(port, q, self.mbufs.as_mut_ptr(), max) };
        self.n = usize::from(n).min(MAX_BURST);
        self.n
    }

    /// The length of received packet `i`.
    pub(super) fn len(&self, i: usize) -> usize {
        match self.mbufs.get(i).filter(|_| i < self.n) {
            // SAFETY: the first `n` pointers are live mbufs received by `recv`.
            Some(m) => usize::try_from(unsafe { rovs_mbuf_len(*m) }).unwrap_or(0),
            None => 0,
        }
    }

    /// Copies received packet `i` into `dst`, at most its length; returns the bytes copied.
    pub(super) fn copy(&self, i: usize, dst: &mut [u8]) -> usize {
        let Some(m) = self.mbufs.get(i).filter(|_| i < self.n) else {
            return 0;
        };
        let cap = u32::try_from(dst.len()).unwrap_or(u32::MAX);
        // SAFETY: `m` is a live received mbuf; `dst` has `cap` writable bytes at least.
        let done = unsafe { rovs_mbuf_copy(*m, dst.as_mut_ptr(), cap) };
        usize::try_from(done).unwrap_or(0).min(dst.len())
    }

    /// Frees the held mbufs.
    pub(super) fn free(&mut self) {
        if self.n > 0 {
            let n = u32::try_from(self.n).unwrap_or(0);
            // SAFETY: the first `n` pointers are live mbufs, each freed once here.
            unsafe { rovs_mbuf_free_bulk(self.mbufs.as_mut_ptr(), n) };
            self.n = 0;
        }
    }
}

impl Drop for RxBurst {
    fn drop(&mut self) {
        self.free();
    }
}

/// Copies `frames` into mbufs from `pool` and transmits them on queue `q` of `port`;
/// returns how many the device took (the rest are dropped).
///
/// The caller makes sure no other thread transmits on `q` at the same time.
pub(super) fn tx_copy_burst(port: u16, q: u16, pool: &Pool, frames: &[&[u8]]) -> usize {
    let mut data = [std::ptr::null::<u8>(); MAX_BURST];
    let mut lens = [0u32; MAX_BURST];
    let mut n = 0usize;
    for f in frames {
        let (Ok(len), Some(d), Some(l)) =
            (u32::try_from(f.len()), data.get_mut(n), lens.get_mut(n))
        else {
            continue;
        };
        *d = f.as_ptr();
        *l = len;
        n += 1;
    }
    let n16 = u16::try_from(n).unwrap_or(0);
    // SAFETY: `data[..n]` point at `lens[..n]` readable bytes each, borrowed for the call;
    // `pool` is live; the caller serialises transmits on `q`.
    let sent =
        unsafe { rovs_tx_copy_burst(port, q, pool.0.as_ptr(), data.as_ptr(), lens.as_ptr(), n16) };
    usize::from(sent)
}
