//! The packet generator: prebuilt UDP frames sent with `sendmmsg` on an AF_PACKET socket,
//! flat out or paced to a rate, for a fixed time, pinned to one CPU.
//!
//! It runs as a hidden subcommand inside the sender's namespace:
//!
//! ```text
//! ip netns exec NS xtask __pktgen --dev eth0 --src-mac 02:00:00:00:01:01 \
//!     --dst-mac 02:00:00:00:02:02 --src-ip 10.0.0.1 --dst-ip 10.0.0.254 \
//!     --flows 10000 --rate 0 --seconds 3.5 --cpu 0
//! ```
//!
//! and prints `sent=N seconds=S` when done. Flow `i` (from 0) has source IP `src-ip + i` and
//! UDP source port `1024 + i`, so 10,000 flows differ in both.

mod sys;

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};

/// Frames per `sendmmsg` call.
pub const BATCH: usize = 64;

/// The length of the frames sent: 60 bytes, a 64-byte frame on the wire with its FCS.
pub const FRAME_LEN: usize = 60;

/// First UDP source port; flow `i` uses `SRC_PORT_BASE + i`.
pub const SRC_PORT_BASE: u16 = 1024;

/// UDP destination port (discard).
pub const DST_PORT: u16 = 9;

/// A MAC address.
pub type Mac = [u8; 6];

/// Formats a MAC address as `02:00:00:00:01:01`.
pub fn fmt_mac(m: &Mac) -> String {
    m.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Parses `02:00:00:00:01:01`.
///
/// # Errors
///
/// If it is not six hex bytes separated by colons.
pub fn parse_mac(s: &str) -> Result<Mac> {
    let mut m = [0u8; 6];
    let parts: Vec<&str> = s.split(':').collect();
    if parts.len() != 6 {
        bail!("bad MAC address {s:?}");
    }
    for (b, p) in m.iter_mut().zip(parts) {
        *b = u8::from_str_radix(p, 16).with_context(|| format!("bad MAC address {s:?}"))?;
    }
    Ok(m)
}

/// The internet checksum (RFC 1071) of `data`.
pub fn inet_checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = chunks.remainder() {
        sum += u32::from(u16::from_be_bytes([*last, 0]));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    // The loop leaves at most 16 bits.
    !u16::try_from(sum).unwrap_or(0xffff)
}

/// What the generator sends.
#[derive(Clone, Debug, PartialEq)]
pub struct GenArgs {
    /// The device to send on (inside the namespace the generator runs in).
    pub dev: String,
    /// Source MAC of every frame.
    pub src_mac: Mac,
    /// Destination MAC of every frame.
    pub dst_mac: Mac,
    /// Source IP of flow 0.
    pub src_ip: Ipv4Addr,
    /// Destination IP of every frame.
    pub dst_ip: Ipv4Addr,
    /// Number of flows, at least 1.
    pub flows: u32,
    /// Packets per second; 0 sends flat out.
    pub rate: u64,
    /// How long to send.
    pub seconds: f64,
    /// The CPU to pin to, if any.
    pub cpu: Option<usize>,
}

impl GenArgs {
    /// The command-line words for `__pktgen`.
    pub fn to_args(&self) -> Vec<String> {
        let mut v = vec![
            "--dev".into(),
            self.dev.clone(),
            "--src-mac".into(),
            fmt_mac(&self.src_mac),
            "--dst-mac".into(),
            fmt_mac(&self.dst_mac),
            "--src-ip".into(),
            self.src_ip.to_string(),
            "--dst-ip".into(),
            self.dst_ip.to_string(),
            "--flows".into(),
            self.flows.to_string(),
            "--rate".into(),
            self.rate.to_string(),
            "--seconds".into(),
            self.seconds.to_string(),
        ];
        if let Some(c) = self.cpu {
            v.extend(["--cpu".into(), c.to_string()]);
        }
        v
    }

    /// Parses the words that [`GenArgs::to_args`] makes.
    ///
    /// # Errors
    ///
    /// On a missing, unknown or malformed option.
    pub fn parse(args: &[String]) -> Result<GenArgs> {
        let mut it = args.iter();
        let (mut dev, mut src_mac, mut dst_mac, mut src_ip, mut dst_ip) =
            (None, None, None, None, None);
        let (mut flows, mut rate, mut seconds, mut cpu) = (1u32, 0u64, 1.0f64, None);
        while let Some(opt) = it.next() {
            let val = it
                .next()
                .ok_or_else(|| anyhow!("{opt} needs a value"))?
                .as_str();
            let bad = || format!("bad value {val:?} for {opt}");
            match opt.as_str() {
                "--dev" => dev = Some(val.to_owned()),
                "--src-mac" => src_mac = Some(parse_mac(val)?),
                "--dst-mac" => dst_mac = Some(parse_mac(val)?),
                "--src-ip" => src_ip = Some(val.parse().with_context(bad)?),
                "--dst-ip" => dst_ip = Some(val.parse().with_context(bad)?),
                "--flows" => flows = val.parse().with_context(bad)?,
                "--rate" => rate = val.parse().with_context(bad)?,
                "--seconds" => seconds = val.parse().with_context(bad)?,
                "--cpu" => cpu = Some(val.parse().with_context(bad)?),
                _ => bail!("unknown option {opt}"),
            }
        }
        if flows == 0 {
            bail!("--flows must be at least 1");
        }
        if !(seconds > 0.0 && seconds < 3600.0) {
            bail!("--seconds must be in (0, 3600)");
        }
        let need = |name: &str| anyhow!("{name} is required");
        Ok(GenArgs {
            dev: dev.ok_or_else(|| need("--dev"))?,
            src_mac: src_mac.ok_or_else(|| need("--src-mac"))?,
            dst_mac: dst_mac.ok_or_else(|| need("--dst-mac"))?,
            src_ip: src_ip.ok_or_else(|| need("--src-ip"))?,
            dst_ip: dst_ip.ok_or_else(|| need("--dst-ip"))?,
            flows,
            rate,
            seconds,
            cpu,
        })
    }

    /// The frame of flow `i`: Ethernet, IPv4 (checksummed, DF), UDP (checksum 0, which IPv4
    /// allows), zero payload, [`FRAME_LEN`] bytes in all.
    pub fn frame(&self, i: u32) -> [u8; FRAME_LEN] {
        let mut f = [0u8; FRAME_LEN];
        f[0..6].copy_from_slice(&self.dst_mac);
        f[6..12].copy_from_slice(&self.src_mac);
        f[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
        let ip_len = FRAME_LEN - 14;
        let udp_len = ip_len - 20;
        let ip = &mut f[14..34];
        ip[0] = 0x45;
        ip[2..4].copy_from_slice(&u16::try_from(ip_len).unwrap_or(0).to_be_bytes());
        ip[6] = 0x40; // don't fragment
        ip[8] = 64; // TTL
        ip[9] = 17; // UDP
        let src = u32::from(self.src_ip).wrapping_add(i);
        ip[12..16].copy_from_slice(&src.to_be_bytes());
        ip[16..20].copy_from_slice(&self.dst_ip.octets());
        let csum = inet_checksum(ip);
        ip[10..12].copy_from_slice(&csum.to_be_bytes());
        let sport = SRC_PORT_BASE.wrapping_add(u16::try_from(i % 60_000).unwrap_or(0));
        let udp = &mut f[34..42];
        udp[0..2].copy_from_slice(&sport.to_be_bytes());
        udp[2..4].copy_from_slice(&DST_PORT.to_be_bytes());
        udp[4..6].copy_from_slice(&u16::try_from(udp_len).unwrap_or(0).to_be_bytes());
        f
    }

    /// All frames back to back, cycling through the flows, at least [`BATCH`] frames so that
    /// every `sendmmsg` can take a full batch.
    pub fn frames(&self) -> Vec<u8> {
        let flows = usize::try_from(self.flows).unwrap_or(1).max(1);
        let n = flows.max(BATCH.div_ceil(flows) * flows);
        let mut bytes = Vec::with_capacity(n * FRAME_LEN);
        for k in 0..n {
            let i = u32::try_from(k % flows).unwrap_or(0);
            bytes.extend_from_slice(&self.frame(i));
        }
        bytes
    }
}

/// How many packets are due after `elapsed` at `rate` per second.
pub fn due(rate: u64, elapsed: Duration) -> u64 {
    u64::try_from(u128::from(rate) * elapsed.as_nanos() / 1_000_000_000).unwrap_or(u64::MAX)
}

/// The `__pktgen` subcommand.
///
/// # Errors
///
/// On bad arguments, or if the socket cannot be opened or sending fails.
pub fn run(args: &[String]) -> Result<()> {
    let a = GenArgs::parse(args)?;
    if let Some(cpu) = a.cpu {
        crate::procfs::pin_self(cpu)?;
    }
    // Wake up on time when pacing.
    let _ = nix::sys::prctl::set_timerslack(1);
    let sock = sys::TxSocket::bind(&a.dev)
        .with_context(|| format!("opening an AF_PACKET socket on {}", a.dev))?;
    let mut ring = sys::FrameRing::new(a.frames(), FRAME_LEN);
    if ring.is_empty() {
        bail!("no frames");
    }
    let len = ring.len();
    let start = Instant::now();
    let end = start + Duration::from_secs_f64(a.seconds);
    let (mut sent, mut pos, mut errors) = (0u64, 0usize, 0u64);
    loop {
        let now = Instant::now();
        if now >= end {
            break;
        }
        let want = if a.rate == 0 {
            BATCH
        } else {
            let behind = due(a.rate, now - start).saturating_sub(sent);
            if behind == 0 {
                std::thread::sleep(Duration::from_micros(20));
                continue;
            }
            usize::try_from(behind).unwrap_or(BATCH).min(BATCH)
        };
        match ring.send(&sock, pos, want) {
            Ok(k) => {
                sent += u64::try_from(k).unwrap_or(0);
                pos = (pos + k) % len;
            }
            Err(e)
                if matches!(
                    e.raw_os_error(),
                    Some(libc::ENOBUFS | libc::EAGAIN | libc::EINTR)
                ) =>
            {
                errors += 1;
                std::thread::yield_now();
            }
            Err(e) => return Err(e).context("sendmmsg"),
        }
    }
    println!(
        "sent={sent} seconds={:.3} send_errors={errors}",
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::{NetSlice, SlicedPacket, TransportSlice};

    fn args(flows: u32) -> GenArgs {
        GenArgs {
            dev: "eth0".into(),
            src_mac: [2, 0, 0, 0, 1, 1],
            dst_mac: [2, 0, 0, 0, 2, 2],
            src_ip: Ipv4Addr::new(10, 1, 0, 1),
            dst_ip: Ipv4Addr::new(10, 0, 0, 254),
            flows,
            rate: 200_000,
            seconds: 3.5,
            cpu: Some(0),
        }
    }

    #[test]
    fn args_round_trip_and_errors() {
        let a = args(10_000);
        assert_eq!(GenArgs::parse(&a.to_args()).unwrap(), a);
        let mut w = a.to_args();
        w.push("--bogus".into());
        w.push("1".into());
        assert!(GenArgs::parse(&w).is_err());
        let w: Vec<String> = ["--dev", "eth0"].map(String::from).to_vec();
        assert!(format!("{:#}", GenArgs::parse(&w).unwrap_err()).contains("--src-mac"));
        assert!(parse_mac("02:00:00:00:01").is_err());
        assert_eq!(
            fmt_mac(&parse_mac("02:0a:00:00:01:ff").unwrap()),
            "02:0a:00:00:01:ff"
        );
    }

    #[test]
    fn frames_parse_and_checksum() {
        let a = args(10_000);
        for i in [0u32, 1, 9_999] {
            let f = a.frame(i);
            assert_eq!(f.len(), 60);
            let p = SlicedPacket::from_ethernet(&f).unwrap();
            let Some(etherparse::LinkSlice::Ethernet2(eth)) = p.link else {
                panic!("not ethernet")
            };
            assert_eq!(eth.destination(), a.dst_mac);
            assert_eq!(eth.source(), a.src_mac);
            let Some(NetSlice::Ipv4(ip)) = p.net else {
                panic!("not ipv4")
            };
            let h = ip.header();
            assert_eq!(
                h.source_addr(),
                Ipv4Addr::from(u32::from(a.src_ip) + i),
                "flow {i}"
            );
            assert_eq!(h.destination_addr(), a.dst_ip);
            assert_eq!(h.to_header().calc_header_checksum(), h.header_checksum());
            assert_eq!(inet_checksum(&f[14..34]), 0, "header sums to 0xffff");
            let Some(TransportSlice::Udp(udp)) = p.transport else {
                panic!("not udp")
            };
            assert_eq!(udp.source_port(), SRC_PORT_BASE + u16::try_from(i).unwrap());
            assert_eq!(udp.destination_port(), DST_PORT);
            assert_eq!(udp.length(), 26);
        }
    }

    #[test]
    fn frame_sets_cycle_flows() {
        let one = args(1).frames();
        assert_eq!(one.len(), BATCH * FRAME_LEN);
        assert!(one.chunks(FRAME_LEN).all(|f| f == &one[..FRAME_LEN]));
        let three = args(3).frames();
        assert_eq!(three.len() % (3 * FRAME_LEN), 0);
        assert!(three.len() >= BATCH * FRAME_LEN);
        assert_eq!(three[..FRAME_LEN], three[3 * FRAME_LEN..4 * FRAME_LEN]);
        assert_eq!(args(10_000).frames().len(), 10_000 * FRAME_LEN);
        let ring = sys::FrameRing::new(three, FRAME_LEN);
        assert_eq!(ring.len() % 3, 0);
    }

    #[test]
    fn pacing_and_output() {
        assert_eq!(due(200_000, Duration::from_millis(10)), 2_000);
        assert_eq!(due(0, Duration::from_secs(1)), 0);
        assert_eq!(inet_checksum(&[0x45, 0]), !0x4500);
    }
}
