//! OpenFlow 1.0's fixed `ofp10_match`.
//!
//! ```text
//!  0  wildcards:32     4  in_port:16     6  dl_src[6]     12  dl_dst[6]
//! 18  dl_vlan:16      20  dl_vlan_pcp:8 21  pad          22  dl_type:16
//! 24  nw_tos:8        25  nw_proto:8    26  pad[2]       28  nw_src:32
//! 32  nw_dst:32       36  tp_src:16     38  tp_dst:16    (40 bytes)
//! ```
//!
//! A wildcard bit per field, except `nw_src`/`nw_dst`, which carry the number of wildcarded
//! low bits (32 or more: the whole address). `dl_vlan` `0xffff` matches packets without a
//! tag. As OVS does, [`decode`] zeroes wildcarded fields and drops fields whose
//! prerequisites the match does not establish ([`Match::normalize`]); [`encode`] writes what
//! OVS writes for the same match, byte for byte, or `None` if the match needs more than
//! OpenFlow 1.0 can say (then NXM is needed).

use crate::error::OfpError;
use crate::flow::{Flow, loc};
use crate::matching::Match;

use super::port;

/// The size of `ofp10_match`.
pub const MATCH10_LEN: usize = 40;

/// `OFPFW10_IN_PORT`.
pub const OFPFW10_IN_PORT: u32 = 1 << 0;
/// `OFPFW10_DL_VLAN`.
pub const OFPFW10_DL_VLAN: u32 = 1 << 1;
/// `OFPFW10_DL_SRC`.
pub const OFPFW10_DL_SRC: u32 = 1 << 2;
/// `OFPFW10_DL_DST`.
pub const OFPFW10_DL_DST: u32 = 1 << 3;
/// `OFPFW10_DL_TYPE`.
pub const OFPFW10_DL_TYPE: u32 = 1 << 4;
/// `OFPFW10_NW_PROTO`.
pub const OFPFW10_NW_PROTO: u32 = 1 << 5;
/// `OFPFW10_TP_SRC`.
pub const OFPFW10_TP_SRC: u32 = 1 << 6;
/// `OFPFW10_TP_DST`.
pub const OFPFW10_TP_DST: u32 = 1 << 7;
/// `OFPFW10_NW_SRC_SHIFT`: the number of wildcarded low bits of `nw_src`, 6 bits.
pub const OFPFW10_NW_SRC_SHIFT: u32 = 8;
/// `OFPFW10_NW_DST_SHIFT`.
pub const OFPFW10_NW_DST_SHIFT: u32 = 14;
/// `OFPFW10_DL_VLAN_PCP`.
pub const OFPFW10_DL_VLAN_PCP: u32 = 1 << 20;
/// `OFPFW10_NW_TOS`.
pub const OFPFW10_NW_TOS: u32 = 1 << 21;
/// `OFPFW10_ALL`.
pub const OFPFW10_ALL: u32 = (1 << 22) - 1;
/// `OFP10_VLAN_NONE`: `dl_vlan` of packets without a tag.
pub const OFP10_VLAN_NONE: u16 = 0xffff;

const VID_MASK: u16 = 0x0fff;
const CFI: u16 = 0x1000;
const PCP_MASK: u16 = 0xe000;

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn mac(b: &[u8], at: usize) -> u128 {
    b[at..at + 6]
        .iter()
        .fold(0u128, |acc, &x| (acc << 8) | u128::from(x))
}

/// The netmask with `wc` low bits wildcarded (all of it from 32 on).
fn wcbits_to_mask(wc: u32) -> u32 {
    if wc >= 32 { 0 } else { u32::MAX << wc }
}

/// The number of wildcarded low bits of a CIDR netmask (32 for none matched).
fn mask_to_wcbits(mask: u32) -> u32 {
    32 - mask.leading_ones().min(32)
}

/// Decodes an `ofp10_match` (the first [`MATCH10_LEN`] bytes of `b`).
///
/// # Errors
///
/// `OFPBMC_BAD_LEN` if `b` is shorter than [`MATCH10_LEN`].
pub fn decode(b: &[u8]) -> Result<Match, OfpError> {
    let b = b.get(..MATCH10_LEN).ok_or(OfpError::BMC_BAD_LEN)?;
    let wc = be32(b, 0) & OFPFW10_ALL;
    let mut flow = Flow::zero();
    let mut mask = Flow::zero();
    let mut set = |l: crate::flow::Loc, v: u128, m: u128| {
        flow.set_loc(l, v);
        mask.set_loc(l, m);
    };
    let exact = |bit: u32, l: crate::flow::Loc| if wc & bit == 0 { l.value_mask() } else { 0 };
    set(
        loc::IN_PORT,
        u128::from(port::from_of10(be16(b, 4)).0),
        exact(OFPFW10_IN_PORT, loc::IN_PORT),
    );
    set(loc::ETH_SRC, mac(b, 6), exact(OFPFW10_DL_SRC, loc::ETH_SRC));
    set(loc::ETH_DST, mac(b, 12), exact(OFPFW10_DL_DST, loc::ETH_DST));
    set(
        loc::DL_TYPE,
        u128::from(be16(b, 22)),
        exact(OFPFW10_DL_TYPE, loc::DL_TYPE),
    );
    let tos_mask = if wc & OFPFW10_NW_TOS == 0 { 0xfc } else { 0 };
    set(loc::NW_TOS, u128::from(b[24] & 0xfc), tos_mask);
    set(
        loc::NW_PROTO,
        u128::from(b[25]),
        exact(OFPFW10_NW_PROTO, loc::NW_PROTO),
    );
    let src_mask = wcbits_to_mask((wc >> OFPFW10_NW_SRC_SHIFT) & 0x3f);
    let dst_mask = wcbits_to_mask((wc >> OFPFW10_NW_DST_SHIFT) & 0x3f);
    set(loc::NW_SRC, u128::from(be32(b, 28)), u128::from(src_mask));
    set(loc::NW_DST, u128::from(be32(b, 32)), u128::from(dst_mask));
    set(
        loc::TP_SRC,
        u128::from(be16(b, 36)),
        exact(OFPFW10_TP_SRC, loc::TP_SRC),
    );
    set(
        loc::TP_DST,
        u128::from(be16(b, 38)),
        exact(OFPFW10_TP_DST, loc::TP_DST),
    );
    let dl_vlan = be16(b, 18);
    let (tci, tci_mask) = if wc & OFPFW10_DL_VLAN == 0 && dl_vlan == OFP10_VLAN_NONE {
        // No tag at all; the priority means nothing then.
        (0, 0xffff)
    } else {
        let vid_m = if wc & OFPFW10_DL_VLAN == 0 { VID_MASK } else { 0 };
        let pcp_m = if wc & OFPFW10_DL_VLAN_PCP == 0 {
            PCP_MASK
        } else {
            0
        };
        if vid_m | pcp_m == 0 {
            (0, 0)
        } else {
            let pcp = (u16::from(b[20]) << 13) & PCP_MASK;
            ((dl_vlan & VID_MASK) | pcp | CFI, vid_m | pcp_m | CFI)
        }
    };
    set(loc::VLAN0_TCI, u128::from(tci), u128::from(tci_mask));
    let mut m = Match::from_parts(&flow, &mask);
    m.normalize();
    Ok(m)
}

/// Encodes `m` as an `ofp10_match`, exactly as OVS would; `None` if OpenFlow 1.0 cannot
/// express it (a field it lacks, a mask it cannot write, a field without its
/// prerequisites), in which case the match needs NXM.
pub fn encode(m: &Match) -> Option<[u8; MATCH10_LEN]> {
    let f = m.flow();
    let k = m.mask();
    let mut wc = 0u32;
    let mut b = [0u8; MATCH10_LEN];
    if k.get_loc(loc::IN_PORT) == 0 {
        wc |= OFPFW10_IN_PORT;
    }
    if k.dl_type() == 0 {
        wc |= OFPFW10_DL_TYPE;
    }
    if k.nw_proto() == 0 {
        wc |= OFPFW10_NW_PROTO;
    }
    let nw_src_m = u32::try_from(k.get_loc(loc::NW_SRC)).unwrap_or_default();
    let nw_dst_m = u32::try_from(k.get_loc(loc::NW_DST)).unwrap_or_default();
    wc |= mask_to_wcbits(nw_src_m) << OFPFW10_NW_SRC_SHIFT;
    wc |= mask_to_wcbits(nw_dst_m) << OFPFW10_NW_DST_SHIFT;
    if k.nw_tos() & 0xfc == 0 {
        wc |= OFPFW10_NW_TOS;
    }
    if k.tp_src() == 0 {
        wc |= OFPFW10_TP_SRC;
    }
    if k.tp_dst() == 0 {
        wc |= OFPFW10_TP_DST;
    }
    if k.get_loc(loc::ETH_SRC) == 0 {
        wc |= OFPFW10_DL_SRC;
    }
    if k.get_loc(loc::ETH_DST) == 0 {
        wc |= OFPFW10_DL_DST;
    }
    let (tci, tci_m) = (f.vlan_tci(), k.vlan_tci());
    let (mut dl_vlan, mut pcp) = (0u16, 0u8);
    if tci_m == 0 {
        wc |= OFPFW10_DL_VLAN | OFPFW10_DL_VLAN_PCP;
    } else if tci_m & CFI != 0 && tci & CFI == 0 {
        dl_vlan = OFP10_VLAN_NONE;
    } else {
        if tci_m & VID_MASK == 0 {
            wc |= OFPFW10_DL_VLAN;
        } else {
            dl_vlan = tci & VID_MASK;
        }
        if tci_m & PCP_MASK == 0 {
            wc |= OFPFW10_DL_VLAN_PCP;
        } else {
            pcp = u8::try_from(tci >> 13).unwrap_or_default();
        }
    }
    b[0..4].copy_from_slice(&wc.to_be_bytes());
    b[4..6].copy_from_slice(&port::to_of10(f.in_port()).to_be_bytes());
    b[6..12].copy_from_slice(&f.dl_src().0);
    b[12..18].copy_from_slice(&f.dl_dst().0);
    b[18..20].copy_from_slice(&dl_vlan.to_be_bytes());
    b[20] = pcp;
    b[22..24].copy_from_slice(&f.dl_type().to_be_bytes());
    b[24] = f.nw_tos() & 0xfc;
    b[25] = f.nw_proto();
    b[28..32].copy_from_slice(&u32::from(f.nw_src()).to_be_bytes());
    b[32..36].copy_from_slice(&u32::from(f.nw_dst()).to_be_bytes());
    b[36..38].copy_from_slice(&f.tp_src().to_be_bytes());
    b[38..40].copy_from_slice(&f.tp_dst().to_be_bytes());
    // What OpenFlow 1.0 could not say shows as a difference after decoding.
    (decode(&b).ok()? == *m && f.in_port().0 <= u32::from(u16::MAX)).then_some(b)
}

