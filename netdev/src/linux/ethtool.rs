//! Link features, speed and driver information through `SIOCETHTOOL`.
//!
//! `ETHTOOL_GLINKSETTINGS` first (with its two-step handshake for the mask size), then the
//! legacy `ETHTOOL_GSET` for drivers that lack it; `ETHTOOL_GDRVINFO` for
//! `Interface.status`. The structures are read from byte offsets of the uapi header
//! (`include/uapi/linux/ethtool.h`), so nothing here is `unsafe`.

use std::os::fd::BorrowedFd;

use nix::errno::Errno;

use super::sys::{self, EthtoolCmd};
use crate::provider::{Features, LinkFeatures};

/// `SPEED_UNKNOWN`.
const SPEED_UNKNOWN: u32 = u32::MAX;
/// `DUPLEX_HALF`, `DUPLEX_FULL`.
const DUPLEX_HALF: u8 = 0;
const DUPLEX_FULL: u8 = 1;
/// `PORT_TP`, `PORT_FIBRE`, `PORT_DA`.
const PORT_TP: u8 = 0;
const PORT_FIBRE: u8 = 3;
const PORT_DA: u8 = 5;
/// `AUTONEG_ENABLE`.
const AUTONEG_ENABLE: u8 = 1;

/// Maps an `ETHTOOL_LINK_MODE_*_BIT` number to OVS's feature bits.
fn link_mode_feature(bit: u32) -> LinkFeatures {
    match bit {
        0 => LinkFeatures::F_10MB_HD,
        1 => LinkFeatures::F_10MB_FD,
        2 => LinkFeatures::F_100MB_HD,
        3 => LinkFeatures::F_100MB_FD,
        4 => LinkFeatures::F_1GB_HD,
        5 | 17 => LinkFeatures::F_1GB_FD, // 1000baseT_Full, 1000baseKX_Full
        6 => LinkFeatures::AUTONEG,
        7 => LinkFeatures::COPPER,                    // TP
        10 => LinkFeatures::FIBER,                    // FIBRE
        12 | 18 | 19 | 20 => LinkFeatures::F_10GB_FD, // 10000baseT/KX4/KR/R_FEC
        13 => LinkFeatures::PAUSE,
        14 => LinkFeatures::PAUSE_ASYM,
        23..=26 => LinkFeatures::F_40GB_FD, // 40000baseKR4/CR4/SR4/LR4
        36..=39 => LinkFeatures::F_100GB_FD, // 100000baseKR4/SR4/CR4/LR4_ER4
        8 | 9 | 11 | 16 => LinkFeatures::empty(), // AUI, MII, BNC, Backplane: media only
        _ => LinkFeatures::OTHER,
    }
}

/// The feature bit for a speed in Mbit/s and a duplex.
fn speed_feature(speed: u32, full: bool) -> LinkFeatures {
    match (speed, full) {
        (10, false) => LinkFeatures::F_10MB_HD,
        (10, true) => LinkFeatures::F_10MB_FD,
        (100, false) => LinkFeatures::F_100MB_HD,
        (100, true) => LinkFeatures::F_100MB_FD,
        (1000, false) => LinkFeatures::F_1GB_HD,
        (1000, true) => LinkFeatures::F_1GB_FD,
        (10_000, _) => LinkFeatures::F_10GB_FD,
        (40_000, _) => LinkFeatures::F_40GB_FD,
        (100_000, _) => LinkFeatures::F_100GB_FD,
        (1_000_000, _) => LinkFeatures::F_1TB_FD,
        (0 | SPEED_UNKNOWN, _) => LinkFeatures::empty(),
        _ => LinkFeatures::OTHER,
    }
}

fn mask_features(words: &[u32]) -> LinkFeatures {
    let mut f = LinkFeatures::empty();
    for (i, w) in words.iter().enumerate() {
        for b in 0..32u32 {
            if w & (1 << b) != 0 {
                let bit = u32::try_from(i).unwrap_or(u32::MAX / 64).saturating_mul(32) + b;
                f |= link_mode_feature(bit);
            }
        }
    }
    f
}

fn byte(buf: &[u32], off: usize) -> u8 {
    buf.get(off / 4).map_or(0, |w| w.to_ne_bytes()[off % 4])
}

fn current(speed: u32, duplex: u8, port: u8, autoneg: u8) -> Features {
    let full = duplex == DUPLEX_FULL;
    let mut cur = speed_feature(speed, full);
    match port {
        PORT_TP => cur |= LinkFeatures::COPPER,
        PORT_FIBRE | PORT_DA => cur |= LinkFeatures::FIBER,
        _ => {}
    }
    if autoneg == AUTONEG_ENABLE {
        cur |= LinkFeatures::AUTONEG;
    }
    Features {
        current: cur,
        speed_mbps: if speed == SPEED_UNKNOWN { 0 } else { speed },
        full_duplex: match duplex {
            DUPLEX_FULL => Some(true),
            DUPLEX_HALF => Some(false),
            _ => None,
        },
        ..Features::default()
    }
}

fn max_speed(supported: LinkFeatures) -> u32 {
    [
        (LinkFeatures::F_1TB_FD, 1_000_000),
        (LinkFeatures::F_100GB_FD, 100_000),
        (LinkFeatures::F_40GB_FD, 40_000),
        (LinkFeatures::F_10GB_FD, 10_000),
        (LinkFeatures::F_1GB_FD | LinkFeatures::F_1GB_HD, 1000),
        (LinkFeatures::F_100MB_FD | LinkFeatures::F_100MB_HD, 100),
        (LinkFeatures::F_10MB_FD | LinkFeatures::F_10MB_HD, 10),
    ]
    .into_iter()
    .find(|(f, _)| supported.intersects(*f))
    .map_or(0, |(_, s)| s)
}

/// Reads an `ETHTOOL_GLINKSETTINGS` answer.
pub(crate) fn parse_link_settings(buf: &[u32]) -> Features {
    let speed = buf.get(1).copied().unwrap_or(SPEED_UNKNOWN);
    let mut f = current(speed, byte(buf, 8), byte(buf, 9), byte(buf, 11));
    let nwords = usize::from((byte(buf, 15) as i8).unsigned_abs());
    let masks = buf.get(sys::ETHTOOL_LINK_SETTINGS_LEN / 4..).unwrap_or(&[]);
    let part = |i: usize| masks.get(i * nwords..(i + 1) * nwords).unwrap_or(&[]);
    f.supported = mask_features(part(0));
    f.advertised = mask_features(part(1));
    f.peer = mask_features(part(2));
    f.max_speed_mbps = max_speed(f.supported).max(f.speed_mbps);
    f
}

/// Reads an `ETHTOOL_GSET` answer (`struct ethtool_cmd`).
pub(crate) fn parse_gset(buf: &[u32]) -> Features {
    let lo = u32::from(byte(buf, 12)) | u32::from(byte(buf, 13)) << 8;
    let hi = u32::from(byte(buf, 28)) | u32::from(byte(buf, 29)) << 8;
    let speed = match hi << 16 | lo {
        0xffff | 0xffff_ffff => SPEED_UNKNOWN,
        s => s,
    };
    let mut f = current(speed, byte(buf, 14), byte(buf, 15), byte(buf, 18));
    let word = |i: usize| [buf.get(i).copied().unwrap_or(0)];
    f.supported = mask_features(&word(1));
    f.advertised = mask_features(&word(2));
    f.peer = mask_features(&word(8));
    f.max_speed_mbps = max_speed(f.supported).max(f.speed_mbps);
    f
}

/// Reads the link features of interface `name`.
pub(crate) fn features(fd: BorrowedFd<'_>, name: &str) -> Result<Features, Errno> {
    let mut buf = [0u32; sys::ETHTOOL_LINK_SETTINGS_MAX / 4];
    match sys::ethtool(fd, name, EthtoolCmd::LinkSettings, &mut buf) {
        Ok(()) => {
            // Handshake: the kernel answered with -nwords; ask again with nwords.
            let n = (byte(&buf, 15) as i8).unsigned_abs();
            if n > 0 && n <= 127 {
                let mut buf = [0u32; sys::ETHTOOL_LINK_SETTINGS_MAX / 4];
                buf[3] = u32::from_ne_bytes([0, 0, 0, n]);
                sys::ethtool(fd, name, EthtoolCmd::LinkSettings, &mut buf)?;
                return Ok(parse_link_settings(&buf));
            }
            Ok(parse_link_settings(&buf))
        }
        Err(Errno::EOPNOTSUPP) => {
            let mut buf = [0u32; sys::ETHTOOL_CMD_LEN / 4];
            sys::ethtool(fd, name, EthtoolCmd::Set, &mut buf)?;
            Ok(parse_gset(&buf))
        }
        Err(e) => Err(e),
    }
}

/// Driver name, driver version and firmware version of interface `name`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct DrvInfo {
    pub driver: String,
    pub version: String,
    pub fw_version: String,
}

fn c_string(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

/// Reads an `ETHTOOL_GDRVINFO` answer.
pub(crate) fn parse_drvinfo(buf: &[u32]) -> DrvInfo {
    let bytes: Vec<u8> = buf.iter().flat_map(|w| w.to_ne_bytes()).collect();
    let field = |a: usize, b: usize| c_string(bytes.get(a..b).unwrap_or(&[]));
    DrvInfo {
        driver: field(4, 36),
        version: field(36, 68),
        fw_version: field(68, 100),
    }
}

/// Reads the driver information of interface `name`.
pub(crate) fn drvinfo(fd: BorrowedFd<'_>, name: &str) -> Result<DrvInfo, Errno> {
    let mut buf = [0u32; sys::ETHTOOL_DRVINFO_LEN / 4];
    sys::ethtool(fd, name, EthtoolCmd::DrvInfo, &mut buf)?;
    Ok(parse_drvinfo(&buf))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set_byte(buf: &mut [u32], off: usize, v: u8) {
        let mut b = buf[off / 4].to_ne_bytes();
        b[off % 4] = v;
        buf[off / 4] = u32::from_ne_bytes(b);
    }

    #[test]
    fn veth_link_settings() {
        // What veth answers: 10000 Mb/s, full duplex, twisted pair, no autoneg, no masks.
        let mut buf = [0u32; sys::ETHTOOL_LINK_SETTINGS_MAX / 4];
        buf[0] = sys::ETHTOOL_GLINKSETTINGS;
        buf[1] = 10_000;
        set_byte(&mut buf, 8, DUPLEX_FULL);
        set_byte(&mut buf, 9, PORT_TP);
        set_byte(&mut buf, 15, 3);
        let f = parse_link_settings(&buf);
        assert_eq!(f.speed_mbps, 10_000);
        assert_eq!(f.full_duplex, Some(true));
        assert_eq!(f.current, LinkFeatures::F_10GB_FD | LinkFeatures::COPPER);
        assert_eq!(f.max_speed_mbps, 10_000);
    }

    #[test]
    fn masks_are_mapped() {
        let mut buf = [0u32; sys::ETHTOOL_LINK_SETTINGS_MAX / 4];
        buf[1] = 1000;
        set_byte(&mut buf, 8, DUPLEX_FULL);
        set_byte(&mut buf, 11, AUTONEG_ENABLE);
        set_byte(&mut buf, 15, 2);
        // supported: 1000baseT_Full (5), Autoneg (6), TP (7), 10000baseT_Full (12).
        buf[12] = (1 << 5) | (1 << 6) | (1 << 7) | (1 << 12);
        buf[13] = 1 << (36 - 32); // 100000baseKR4
        // advertised: 1000baseT_Full.
        buf[14] = 1 << 5;
        let f = parse_link_settings(&buf);
        assert!(f.supported.contains(
            LinkFeatures::F_1GB_FD
                | LinkFeatures::AUTONEG
                | LinkFeatures::COPPER
                | LinkFeatures::F_10GB_FD
                | LinkFeatures::F_100GB_FD
        ));
        assert_eq!(f.advertised, LinkFeatures::F_1GB_FD);
        assert_eq!(f.max_speed_mbps, 100_000);
        assert!(
            f.current
                .contains(LinkFeatures::F_1GB_FD | LinkFeatures::AUTONEG)
        );
    }

    #[test]
    fn gset_and_drvinfo() {
        let mut buf = [0u32; sys::ETHTOOL_CMD_LEN / 4];
        buf[1] = (1 << 1) | (1 << 3); // supported 10/100 full
        set_byte(&mut buf, 12, 100);
        set_byte(&mut buf, 14, DUPLEX_HALF);
        let f = parse_gset(&buf);
        assert_eq!(f.speed_mbps, 100);
        assert_eq!(f.full_duplex, Some(false));
        assert!(f.current.contains(LinkFeatures::F_100MB_HD));
        assert_eq!(f.max_speed_mbps, 100);

        let mut d = [0u32; sys::ETHTOOL_DRVINFO_LEN / 4];
        let mut bytes = [0u8; sys::ETHTOOL_DRVINFO_LEN];
        bytes[4..8].copy_from_slice(b"veth");
        bytes[36..39].copy_from_slice(b"1.0");
        for (w, c) in d.iter_mut().zip(bytes.chunks_exact(4)) {
            *w = u32::from_ne_bytes(c.try_into().unwrap());
        }
        let info = parse_drvinfo(&d);
        assert_eq!(info.driver, "veth");
        assert_eq!(info.version, "1.0");
        assert_eq!(info.fw_version, "");
    }
}
