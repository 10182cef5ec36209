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
    set(
        loc::ETH_DST,
        mac(b, 12),
        exact(OFPFW10_DL_DST, loc::ETH_DST),
    );
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
        let vid_m = if wc & OFPFW10_DL_VLAN == 0 {
            VID_MASK
        } else {
            0
        };
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

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::ofctl;
    use crate::ofp::oxm::strategy::{any_match, of10_match};

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn m(s: &str) -> Match {
        ofctl::parse_match(s, None).unwrap().0
    }

    /// (bytes, what `ovs-ofctl parse-ofp10-match` printed for them, the bytes OVS
    /// normalized them to), from Debian's ovs-ofctl 3.1.0.
    const VECTORS: &[(&str, &str, &str)] = &[
        (
            // Wildcard bits beyond the 32 of nw_src/nw_dst and values under wildcards.
            "003fffff 0001 000000000000 000000000000 ffff 00 00 0000 00 00 0000 00000000 00000000 0000 0000",
            "",
            "003820ff 0000 000000000000 000000000000 0000 00 00 0000 00 00 0000 00000000 00000000 0000 0000",
        ),
        (
            "003ffffd 0000 000000000000 000000000000 ffff 00 00 0000 00 00 0000 00000000 00000000 0000 0000",
            "vlan_tci=0x0000",
            "002820fd 0000 000000000000 000000000000 ffff 00 00 0000 00 00 0000 00000000 00000000 0000 0000",
        ),
        (
            "003ffffd 0000 000000000000 000000000000 1005 00 00 0000 00 00 0000 00000000 00000000 0000 0000",
            "dl_vlan=5",
            "003820fd 0000 000000000000 000000000000 0005 00 00 0000 00 00 0000 00000000 00000000 0000 0000",
        ),
        (
            "002fffff 0000 000000000000 000000000000 0005 03 00 0000 00 00 0000 00000000 00000000 0000 0000",
            "dl_vlan_pcp=3",
            "002820ff 0000 000000000000 000000000000 0000 03 00 0000 00 00 0000 00000000 00000000 0000 0000",
        ),
        (
            "0000000f 0000 000000000000 000000000000 0000 00 00 0800 ff 06 0000 01020304 05060708 0050 0051",
            "tcp,dl_vlan_pcp=0,nw_src=1.2.3.4,nw_dst=5.6.7.8,nw_tos=252,tp_src=80,tp_dst=81",
            "0000000f 0000 000000000000 000000000000 0000 00 00 0800 fc 06 0000 01020304 05060708 0050 0051",
        ),
        (
            // tp_src without its prerequisites is dropped.
            "003820bf 0000 000000000000 000000000000 0000 00 00 0000 00 00 0000 00000000 00000000 0050 0000",
            "",
            "003820ff 0000 000000000000 000000000000 0000 00 00 0000 00 00 0000 00000000 00000000 0000 0000",
        ),
        (
            "003000ef 0000 000000000000 000000000000 0000 00 00 0806 00 01 0000 01020304 05060708 0000 0000",
            "arp,arp_spa=1.2.3.4,arp_tpa=5.6.7.8",
            "003000ef 0000 000000000000 000000000000 0000 00 00 0806 00 00 0000 01020304 05060708 0000 0000",
        ),
    ];

    #[test]
    fn decodes_and_normalizes_as_ovs_does() {
        for (input, text, normal) in VECTORS {
            let got = decode(&hex(input)).unwrap();
            assert_eq!(got.to_string(), *text, "{input}");
            assert_eq!(
                encode(&got).map(|b| b.to_vec()),
                Some(hex(normal)),
                "{input}"
            );
        }
    }

    #[test]
    fn bytes_of_a_tcp_match() {
        let b = encode(&m("tcp,in_port=3,nw_dst=10.0.0.0/8,tp_dst=80")).unwrap();
        #[rustfmt::skip]
        let want = [
            0x00, 0x36, 0x20, 0x4e,             // wildcards: all but in_port, dl_type,
                                                // nw_proto, tp_dst; nw_src 32, nw_dst 24
            0x00, 0x03,                         // in_port 3
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // dl_src, dl_dst
            0x00, 0x00, 0x00, 0x00,             // dl_vlan, dl_vlan_pcp, pad
            0x08, 0x00,                         // dl_type
            0x00, 0x06, 0x00, 0x00,             // nw_tos, nw_proto, pad
            0, 0, 0, 0,                         // nw_src
            10, 0, 0, 0,                        // nw_dst
            0x00, 0x00, 0x00, 0x50,             // tp_src, tp_dst
        ];
        assert_eq!(b, want);
    }

    #[test]
    fn what_of10_cannot_say() {
        for s in [
            "reg0=1",
            "ipv6,ipv6_src=::1",
            "ip,nw_ttl=3",
            "ip,nw_ecn=1",
            "dl_src=01:00:00:00:00:00/01:00:00:00:00:00",
            "ip,nw_src=1.0.0.1/255.0.0.255",
            "vlan_tci=0x1000/0x1000",
            "tcp,tp_dst=0x50/0xfff0",
            "metadata=1",
        ] {
            assert_eq!(encode(&m(s)), None, "{s}");
        }
        assert_eq!(decode(&[0; 39]), Err(OfpError::BMC_BAD_LEN));
    }

    proptest! {
        #[test]
        fn round_trips(mt in of10_match()) {
            let b = encode(&mt);
            prop_assert!(b.is_some(), "{:?}", mt);
            prop_assert_eq!(decode(&b.unwrap()), Ok(mt));
        }

        #[test]
        fn encodes_when_it_can(mt in any_match()) {
            if let Some(b) = encode(&mt) {
                prop_assert_eq!(decode(&b), Ok(mt));
            }
        }

        #[test]
        fn decode_never_panics(b in prop::collection::vec(any::<u8>(), 0..48)) {
            if let Ok(mt) = decode(&b) {
                // Whatever decodes is normalized and encodes back to itself.
                let again = encode(&mt).expect("a decoded match is expressible");
                prop_assert_eq!(decode(&again), Ok(mt));
            }
        }
    }
}
