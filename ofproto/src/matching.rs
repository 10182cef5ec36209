//! [`Match`]: a [`Flow`] plus a mask, the match of an OpenFlow rule.
//!
//! The invariant is `flow == flow & mask`: bits outside the mask are zero, so two matches
//! that select the same packets compare equal. Prerequisites follow `ovs-fields(7)`: a
//! field is only meaningful when the match establishes what it needs (`tp_dst` needs
//! `tcp`, `udp` or `sctp`; `nw_src` needs `ip` or `arp`). [`Match::check_prereqs`] rejects a
//! match that does not (as OVS does for NXM/OXM matches, `OFPBMC_BAD_PREREQ`);
//! [`Match::normalize`] instead drops such fields (as OVS does for OpenFlow 1.0 matches).

use std::fmt;
use std::net::Ipv4Addr;

use dpif::odp::{frag, vlan};
use netdev::EthAddr;

use crate::error::Error;
use crate::fields::{Field, Prereq};
use crate::flow::{Flow, FlowWildcards, Loc, OfpPort, loc};

/// A flow plus a mask (see the module docs).
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Match {
    flow: Flow,
    mask: Flow,
}

/// The storage groups whose prerequisites [`Match::check_prereqs`] checks, in the order
/// fields are printed, with the name used in errors.
fn prereq_groups(m: &Match) -> [(&'static str, Loc, Prereq); 13] {
    let f = &m.flow;
    let nw_addr = if f.is_arp() {
        Prereq::Arp
    } else {
        Prereq::Ipv4
    };
    let nw_proto = if f.is_arp() { Prereq::Arp } else { Prereq::Ip };
    let lla = if f.is_arp() { Prereq::Arp } else { Prereq::Nd };
    let tp = match (f.dl_type(), f.nw_proto()) {
        (0x0800, 1) => Prereq::Icmpv4,
        (0x86dd, 58) => Prereq::Icmpv6,
        _ => Prereq::L4,
    };
    [
        ("nw_src", loc::NW_SRC, nw_addr),
        ("nw_dst", loc::NW_DST, nw_addr),
        ("ipv6_src", loc::IPV6_SRC, Prereq::Ipv6),
        ("ipv6_dst", loc::IPV6_DST, Prereq::Ipv6),
        ("ipv6_label", loc::IPV6_LABEL, Prereq::Ipv6),
        ("nw_proto", loc::NW_PROTO, nw_proto),
        ("nw_tos", loc::NW_TOS, Prereq::Ip),
        ("nw_ttl", loc::NW_TTL, Prereq::Ip),
        ("nw_frag", loc::NW_FRAG, Prereq::Ip),
        ("arp_sha", loc::ARP_SHA, lla),
        ("arp_tha", loc::ARP_THA, lla),
        ("tp_src", loc::TP_SRC, tp),
        ("tp_dst", loc::TP_DST, tp),
    ]
}

impl Match {
    /// The match that matches every packet.
    pub const fn catchall() -> Match {
        Match {
            flow: Flow::zero(),
            mask: Flow::zero(),
        }
    }

    /// A match of `flow` under `mask` (bits of `flow` outside `mask` are cleared).
    pub fn from_parts(flow: &Flow, mask: &Flow) -> Match {
        Match {
            flow: flow.masked(mask),
            mask: *mask,
        }
    }

    /// A match of `flow` under the mask of `wc`.
    pub fn from_wildcards(flow: &Flow, wc: &FlowWildcards) -> Match {
        Match::from_parts(flow, &wc.masks)
    }

    /// The match `ovs-ofctl` prints for a packet (`flow_format`): every field the packet has,
    /// given its ethertype and protocol, with the packet metadata (registers, metadata,
    /// recirc_id, ...) left out when zero.
    pub fn for_packet(flow: &Flow) -> Match {
        let mut m = Flow::zero();
        let all = |m: &mut Flow, l: Loc| m.set_loc(l, l.value_mask());
        for l in [
            loc::RECIRC_ID,
            loc::DP_HASH,
            loc::SKB_PRIORITY,
            loc::PKT_MARK,
            loc::METADATA,
        ] {
            if flow.get_loc(l) != 0 {
                all(&mut m, l);
            }
        }
        for i in 0..crate::flow::N_REGS {
            if flow.reg(i) != 0 {
                all(&mut m, loc::reg(i));
            }
        }
        if flow.in_port() != OfpPort::NONE {
            all(&mut m, loc::IN_PORT);
        }
        for l in [loc::ETH_SRC, loc::ETH_DST, loc::DL_TYPE, loc::VLAN0_TCI] {
            all(&mut m, l);
        }
        let t = flow.dl_type();
        if flow.is_arp() {
            for l in [
                loc::NW_SRC,
                loc::NW_DST,
                loc::NW_PROTO,
                loc::ARP_SHA,
                loc::ARP_THA,
            ] {
                all(&mut m, l);
            }
        } else if flow.is_ip() {
            if t == 0x0800 {
                all(&mut m, loc::NW_SRC);
                all(&mut m, loc::NW_DST);
            } else {
                all(&mut m, loc::IPV6_SRC);
                all(&mut m, loc::IPV6_DST);
                m.set_loc(loc::IPV6_LABEL, 0xf_ffff);
            }
            for l in [loc::NW_PROTO, loc::NW_TOS, loc::NW_TTL] {
                all(&mut m, l);
            }
            m.set_loc(loc::NW_FRAG, u128::from(frag::MASK));
            if flow.nw_frag() & frag::LATER == 0 {
                let p = flow.nw_proto();
                match p {
                    6 | 17 | 132 | 1 | 58 => {
                        all(&mut m, loc::TP_SRC);
                        all(&mut m, loc::TP_DST);
                    }
                    _ => {}
                }
                if p == 6 {
                    m.set_loc(loc::TCP_FLAGS, 0xfff);
                }
                if t == 0x86dd && p == 58 && flow.tp_dst() == 0 {
                    match flow.tp_src() {
                        135 => {
                            all(&mut m, loc::ND_TARGET);
                            all(&mut m, loc::ARP_SHA);
                        }
                        136 => {
                            all(&mut m, loc::ND_TARGET);
                            all(&mut m, loc::ARP_THA);
                        }
                        _ => {}
                    }
                }
            }
        }
        Match::from_parts(flow, &m)
    }

    /// The flow part (zero outside the mask).
    #[inline]
    pub fn flow(&self) -> &Flow {
        &self.flow
    }

    /// The mask part.
    #[inline]
    pub fn mask(&self) -> &Flow {
        &self.mask
    }

    /// The mask as wildcards.
    pub fn wildcards(&self) -> FlowWildcards {
        FlowWildcards { masks: self.mask }
    }

    /// Whether the match matches every packet.
    pub fn is_catchall(&self) -> bool {
        self.mask.is_zero()
    }

    /// Whether `flow` (a packet) matches.
    #[inline]
    pub fn matches_flow(&self, flow: &Flow) -> bool {
        flow.matches(&self.flow, &self.mask)
    }

    /// Whether every packet that `other` matches is also matched by `self` (`self` is equal
    /// or looser): the loose comparison of flow-mod modify and delete.
    pub fn covers(&self, other: &Match) -> bool {
        self.flow
            .words()
            .iter()
            .zip(self.mask.words())
            .zip(other.flow.words().iter().zip(other.mask.words()))
            .all(|((sf, sm), (of, om))| sm & !om == 0 && (sf ^ of) & sm == 0)
    }

    /// Whether some packet could match both `self` and `other`.
    pub fn overlaps(&self, other: &Match) -> bool {
        self.flow
            .words()
            .iter()
            .zip(self.mask.words())
            .zip(other.flow.words().iter().zip(other.mask.words()))
            .all(|((sf, sm), (of, om))| (sf ^ of) & sm & om == 0)
    }

    /// The value and mask of `field`.
    pub fn get(&self, field: Field) -> (u128, u128) {
        (field.get(&self.flow), field.get_mask(&self.mask))
    }

    /// Matches `field` exactly on `value`.
    ///
    /// # Errors
    ///
    /// [`Error::BadValue`] if `value` does not fit the field.
    pub fn set(&mut self, field: Field, value: u128) -> Result<(), Error> {
        self.set_masked(field, value, u128::MAX)
    }

    /// Matches the bits of `field` that are set in `mask` on those of `value`. A mask of all
    /// ones (or wider) is an exact match; a zero mask wildcards the field.
    ///
    /// `dl_vlan` follows OVS: `dl_vlan=0xffff` matches packets without a tag, another value
    /// matches a tag with that id. `dl_vlan_pcp`/`vlan_pcp` also require a tag.
    ///
    /// # Errors
    ///
    /// [`Error::BadValue`] if `value` does not fit the field, [`Error::BadMask`] if the field
    /// cannot be masked and `mask` is partial.
    pub fn set_masked(&mut self, field: Field, value: u128, mask: u128) -> Result<(), Error> {
        let info = field.info();
        let valid = field.valid_bits();
        if field == Field::DlVlan && value == 0xffff {
            // OFP10_VLAN_NONE: no tag at all.
            self.set_loc_masked(loc::VLAN0_TCI, 0, 0xffff);
            return Ok(());
        }
        if value & !valid != 0 && !(field == Field::NwTos && value & !0xff == 0) {
            return Err(Error::BadValue {
                field: info.name,
                value: format!("{value:#x}"),
            });
        }
        let full = if info.n_bits >= 128 {
            u128::MAX
        } else {
            (1u128 << info.n_bits) - 1
        };
        let mask = mask & full;
        if !info.maskable && mask != 0 && mask != full {
            return Err(Error::BadMask { field: info.name });
        }
        // An exact match covers the field's whole storage (in_port's 32 bits, say, although
        // the field is 16 bits wide), so that every way of writing it gives the same mask.
        let new_mask = if mask == full {
            info.loc.value_mask() << info.vshift
        } else {
            mask & valid
        };
        let (fl, ma) = (&mut self.flow, &mut self.mask);
        // Write through the field's storage without the implicit "tag present" of `set`.
        let raw = |f: &mut Flow, v: u128| f.set_loc(info.loc, v >> info.vshift);
        raw(ma, new_mask);
        raw(fl, value & new_mask);
        if matches!(field, Field::DlVlan | Field::DlVlanPcp | Field::VlanPcp) && new_mask != 0 {
            let tci_m = ma.vlan_tci() | vlan::CFI;
            let tci_v = fl.vlan_tci() | vlan::CFI;
            ma.set_vlan_tci(tci_m);
            fl.set_vlan_tci(tci_v);
        }
        Ok(())
    }

    /// Clears the match on `field` (wildcards it).
    pub fn clear(&mut self, field: Field) {
        let info = field.info();
        self.mask.set_loc(info.loc, 0);
        self.flow.set_loc(info.loc, 0);
    }

    fn set_loc_masked(&mut self, l: Loc, v: u128, m: u128) {
        self.mask.set_loc(l, m);
        self.flow.set_loc(l, v & m);
    }

    /// Matches the input port.
    pub fn set_in_port(&mut self, port: OfpPort) {
        self.set_loc_masked(loc::IN_PORT, u128::from(port.0), u128::from(u32::MAX));
    }

    /// Matches the ethertype.
    pub fn set_dl_type(&mut self, t: u16) {
        self.set_loc_masked(loc::DL_TYPE, u128::from(t), 0xffff);
    }

    /// Matches the IP protocol (or ARP opcode).
    pub fn set_nw_proto(&mut self, p: u8) {
        self.set_loc_masked(loc::NW_PROTO, u128::from(p), 0xff);
    }

    /// Matches the Ethernet source under `mask`.
    pub fn set_dl_src_masked(&mut self, a: EthAddr, mask: EthAddr) {
        let v = Field::EthSrc;
        let (av, mv) = (eth_u128(a), eth_u128(mask));
        self.set_loc_masked(v.info().loc, av, mv);
    }

    /// Matches the Ethernet destination under `mask`.
    pub fn set_dl_dst_masked(&mut self, a: EthAddr, mask: EthAddr) {
        let v = Field::EthDst;
        let (av, mv) = (eth_u128(a), eth_u128(mask));
        self.set_loc_masked(v.info().loc, av, mv);
    }

    /// Matches the Ethernet source exactly.
    pub fn set_dl_src(&mut self, a: EthAddr) {
        self.set_dl_src_masked(a, EthAddr::BROADCAST);
    }

    /// Matches the Ethernet destination exactly.
    pub fn set_dl_dst(&mut self, a: EthAddr) {
        self.set_dl_dst_masked(a, EthAddr::BROADCAST);
    }

    /// Matches the IPv4 source (or ARP sender IP) under `mask`.
    pub fn set_nw_src_masked(&mut self, a: Ipv4Addr, mask: Ipv4Addr) {
        self.set_loc_masked(
            loc::NW_SRC,
            u128::from(u32::from(a)),
            u128::from(u32::from(mask)),
        );
    }

    /// Matches the IPv4 destination (or ARP target IP) under `mask`.
    pub fn set_nw_dst_masked(&mut self, a: Ipv4Addr, mask: Ipv4Addr) {
        self.set_loc_masked(
            loc::NW_DST,
            u128::from(u32::from(a)),
            u128::from(u32::from(mask)),
        );
    }

    /// Matches the L4 source port (or ICMP type) exactly.
    pub fn set_tp_src(&mut self, p: u16) {
        self.set_loc_masked(loc::TP_SRC, u128::from(p), 0xffff);
    }

    /// Matches the L4 destination port (or ICMP code) exactly.
    pub fn set_tp_dst(&mut self, p: u16) {
        self.set_loc_masked(loc::TP_DST, u128::from(p), 0xffff);
    }

    /// Matches register `i` under `mask` (ignored for `i >= 16`).
    pub fn set_reg_masked(&mut self, i: usize, v: u32, mask: u32) {
        if i < crate::flow::N_REGS {
            self.set_loc_masked(loc::reg(i), u128::from(v), u128::from(mask));
        }
    }

    /// Matches the metadata under `mask`.
    pub fn set_metadata_masked(&mut self, v: u64, mask: u64) {
        self.set_loc_masked(loc::METADATA, u128::from(v), u128::from(mask));
    }

    /// Matches the recirculation id exactly.
    pub fn set_recirc_id(&mut self, id: u32) {
        self.set_loc_masked(loc::RECIRC_ID, u128::from(id), u128::from(u32::MAX));
    }

    /// Matches `vlan_tci` under `mask`.
    pub fn set_vlan_tci_masked(&mut self, tci: u16, mask: u16) {
        self.set_loc_masked(loc::VLAN0_TCI, u128::from(tci), u128::from(mask));
    }

    /// Matches the VLAN id as `dl_vlan` does (`0xffff` = no tag).
    pub fn set_dl_vlan(&mut self, vid: u16) {
        if vid == 0xffff {
            self.set_vlan_tci_masked(0, 0xffff);
        } else {
            let m = self.mask.vlan_tci() | vlan::CFI | vlan::VID_MASK;
            let v = (self.flow.vlan_tci() & !vlan::VID_MASK) | vlan::CFI | (vid & vlan::VID_MASK);
            self.set_vlan_tci_masked(v, m);
        }
    }

    /// Checks that every matched field has its prerequisites.
    ///
    /// # Errors
    ///
    /// [`Error::BadPrereq`] naming the first field without them.
    pub fn check_prereqs(&self) -> Result<(), Error> {
        if self.mask.tcp_flags() != 0 && !Prereq::Tcp.ok(&self.flow, None) {
            return Err(Error::BadPrereq {
                field: "tcp_flags",
                requires: Prereq::Tcp.describe(),
            });
        }
        if !self.mask.nd_target().is_unspecified() && !Prereq::Nd.ok(&self.flow, None) {
            return Err(Error::BadPrereq {
                field: "nd_target",
                requires: Prereq::Nd.describe(),
            });
        }
        for (name, l, p) in prereq_groups(self) {
            if self.mask.get_loc(l) != 0 && !p.ok(&self.flow, None) {
                return Err(Error::BadPrereq {
                    field: name,
                    requires: p.describe(),
                });
            }
        }
        Ok(())
    }

    /// Drops every matched field whose prerequisites the match does not establish, as OVS
    /// does for OpenFlow 1.0 matches; returns whether anything changed.
    pub fn normalize(&mut self) -> bool {
        let mut changed = false;
        // Later groups depend on earlier ones (tp_src on nw_proto on dl_type), so repeat
        // until nothing changes.
        loop {
            let mut again = false;
            let mut extra = vec![];
            if self.mask.tcp_flags() != 0 && !Prereq::Tcp.ok(&self.flow, None) {
                extra.push(loc::TCP_FLAGS);
            }
            if !self.mask.nd_target().is_unspecified() && !Prereq::Nd.ok(&self.flow, None) {
                extra.push(loc::ND_TARGET);
            }
            for (_, l, p) in prereq_groups(self) {
                if self.mask.get_loc(l) != 0 && !p.ok(&self.flow, None) {
                    extra.push(l);
                }
            }
            for l in extra {
                self.set_loc_masked(l, 0, 0);
                again = true;
            }
            if !again {
                return changed;
            }
            changed = true;
        }
    }
}

fn eth_u128(a: EthAddr) -> u128 {
    let b = a.0;
    u128::from(u64::from_be_bytes([
        0, 0, b[0], b[1], b[2], b[3], b[4], b[5],
    ]))
}

impl fmt::Display for Match {
    /// The match in `ovs-ofctl` syntax (no priority); empty for a catch-all match.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::ofctl::format::match_to_string(self, None, None))
    }
}

impl fmt::Debug for Match {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Match({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn covers_and_overlaps() {
        let mut loose = Match::catchall();
        loose.set_dl_type(0x0800);
        let mut tight = loose;
        tight.set_nw_dst_masked(Ipv4Addr::new(10, 0, 0, 0), Ipv4Addr::new(255, 0, 0, 0));
        assert!(loose.covers(&tight));
        assert!(!tight.covers(&loose));
        assert!(loose.covers(&loose));
        assert!(Match::catchall().covers(&tight));
        let mut other = loose;
        other.set_nw_dst_masked(Ipv4Addr::new(11, 0, 0, 0), Ipv4Addr::new(255, 0, 0, 0));
        assert!(!tight.overlaps(&other));
        assert!(tight.overlaps(&loose));
        let mut arp = Match::catchall();
        arp.set_dl_type(0x0806);
        assert!(!arp.overlaps(&loose));
    }

    #[test]
    fn masked_values_are_cleared_outside_the_mask() {
        let mut m = Match::catchall();
        m.set_masked(Field::Reg(0), 0x1234, 0xff).unwrap();
        assert_eq!(m.get(Field::Reg(0)), (0x34, 0xff));
        assert!(matches!(
            m.set_masked(Field::IpProto, 6, 0xf),
            Err(Error::BadMask { .. })
        ));
        assert!(matches!(
            m.set(Field::DlVlan, 5000),
            Err(Error::BadValue { .. })
        ));
        m.set(Field::DlVlan, 0xffff).unwrap();
        assert_eq!(m.get(Field::VlanTci), (0, 0xffff));
        let mut m = Match::catchall();
        m.set(Field::DlVlan, 10).unwrap();
        assert_eq!(m.get(Field::VlanTci), (0x100a, 0x1fff));
        m.set(Field::DlVlanPcp, 3).unwrap();
        assert_eq!(m.get(Field::VlanTci), (0x700a, 0xffff));
    }

    #[test]
    fn prereqs_and_normalization() {
        let mut m = Match::catchall();
        m.set_tp_dst(80);
        assert_eq!(
            m.check_prereqs(),
            Err(Error::BadPrereq {
                field: "tp_dst",
                requires: "tcp, udp or sctp"
            })
        );
        let mut n = m;
        assert!(n.normalize());
        assert!(n.is_catchall());
        m.set_dl_type(0x0800);
        m.set_nw_proto(17);
        assert_eq!(m.check_prereqs(), Ok(()));
        let mut a = Match::catchall();
        a.set_dl_type(0x0806);
        a.set_nw_src_masked(Ipv4Addr::new(1, 2, 3, 4), Ipv4Addr::BROADCAST);
        assert_eq!(a.check_prereqs(), Ok(()));
        let mut frag_later = m;
        frag_later.set_masked(Field::IpFrag, 3, 3).unwrap();
        assert!(frag_later.check_prereqs().is_err());
    }
}
