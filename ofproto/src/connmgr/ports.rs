//! The ports of a bridge as OpenFlow describes them (`ofp_phy_port` / `ofp_port`): what
//! FEATURES_REPLY (1.0), PORT_DESC and PORT_STATUS carry, read from each port's network
//! device, and the diff between two looks that makes PORT_STATUS messages.

use std::collections::BTreeMap;
use std::sync::Arc;

use netdev::{Netdev, NetdevFlags};

use crate::flow::OfpPort;
use crate::ofp::msg::{PortDesc, PortReason};

/// `OFPPC_PORT_DOWN`: the port is administratively down.
pub const OFPPC_PORT_DOWN: u32 = 1;
/// `OFPPS_LINK_DOWN`: no physical link.
pub const OFPPS_LINK_DOWN: u32 = 1;

/// Reads the description of `netdev` as port `port_no`. What the device cannot tell is
/// left empty (a zero MAC, no features), as OVS does.
pub fn port_desc(port_no: OfpPort, netdev: &dyn Netdev) -> PortDesc {
    let flags = netdev.flags().unwrap_or(NetdevFlags::empty());
    let features = netdev.features().unwrap_or_default();
    let up = flags.contains(NetdevFlags::UP);
    PortDesc {
        port_no,
        hw_addr: netdev.etheraddr().map_or([0; 6], |m| m.0),
        name: netdev.name().to_owned(),
        config: if up { 0 } else { OFPPC_PORT_DOWN },
        state: if netdev.carrier().unwrap_or(false) {
            0
        } else {
            OFPPS_LINK_DOWN
        },
        curr: features.current.bits(),
        advertised: features.advertised.bits(),
        supported: features.supported.bits(),
        peer: features.peer.bits(),
        curr_speed: features.speed_mbps.saturating_mul(1000),
        max_speed: features.max_speed_mbps.saturating_mul(1000),
    }
}

/// The ports last seen, with each device's `change_seq` so that an unchanged device is not
/// asked again.
#[derive(Debug, Default)]
pub(crate) struct PortTable {
    /// Per port: the description, the device's `change_seq`, when it was first seen.
    ports: BTreeMap<OfpPort, (PortDesc, u64, u64)>,
}

impl PortTable {
    /// The ports, sorted by number.
    pub(crate) fn descs(&self) -> impl Iterator<Item = &PortDesc> {
        self.ports.values().map(|(d, _, _)| d)
    }

    /// Port `p`.
    pub(crate) fn get(&self, p: OfpPort) -> Option<&PortDesc> {
        self.ports.get(&p).map(|(d, _, _)| d)
    }

    /// When port `p` was first seen (`now_ms` of that [`PortTable::update`]).
    pub(crate) fn added_ms(&self, p: OfpPort) -> Option<u64> {
        self.ports.get(&p).map(|(_, _, t)| *t)
    }

    /// Looks at `now` (the bridge's working ports) and returns what changed since the last
    /// look: ports added, deleted, or whose description changed.
    pub(crate) fn update(
        &mut self,
        now: &[(OfpPort, Arc<dyn Netdev>)],
        now_ms: u64,
    ) -> Vec<(PortReason, PortDesc)> {
        let mut changes = Vec::new();
        let mut seen = BTreeMap::new();
        for (p, dev) in now {
            let seq = dev.change_seq();
            match self.ports.remove(p) {
                Some((old, old_seq, t)) if old_seq == seq && old.name == dev.name() => {
                    seen.insert(*p, (old, seq, t));
                }
                Some((old, _, _)) if old.name != dev.name() => {
                    changes.push((PortReason::Delete, old));
                    let d = port_desc(*p, &**dev);
                    changes.push((PortReason::Add, d.clone()));
                    seen.insert(*p, (d, seq, now_ms));
                }
                Some((old, _, t)) => {
                    let d = port_desc(*p, &**dev);
                    if d != old {
                        changes.push((PortReason::Modify, d.clone()));
                    }
                    seen.insert(*p, (d, seq, t));
                }
                None => {
                    let d = port_desc(*p, &**dev);
                    changes.push((PortReason::Add, d.clone()));
                    seen.insert(*p, (d, seq, now_ms));
                }
            }
        }
        for (_, (old, _, _)) in std::mem::take(&mut self.ports) {
            changes.push((PortReason::Delete, old));
        }
        self.ports = seen;
        changes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dummy(name: &str) -> Arc<dyn Netdev> {
        netdev::dummy::classes()[0].open(name).unwrap()
    }

    #[test]
    fn diff_reports_add_modify_delete() {
        let a = dummy("pa");
        let b = dummy("pb");
        let mut t = PortTable::default();
        let ch = t.update(&[(OfpPort(1), a.clone()), (OfpPort(2), b.clone())], 0);
        assert_eq!(
            ch.iter().map(|(r, d)| (*r, d.port_no)).collect::<Vec<_>>(),
            [(PortReason::Add, OfpPort(1)), (PortReason::Add, OfpPort(2))]
        );
        assert_eq!(t.get(OfpPort(1)).unwrap().name, "pa");
        // Nothing changed: nothing reported.
        assert!(
            t.update(&[(OfpPort(1), a.clone()), (OfpPort(2), b.clone())], 0)
                .is_empty()
        );
        // Taken down: a modify with the new state.
        let was_down = t.get(OfpPort(1)).unwrap().config & OFPPC_PORT_DOWN != 0;
        if was_down {
            a.update_flags(NetdevFlags::empty(), NetdevFlags::UP)
                .unwrap();
        } else {
            a.update_flags(NetdevFlags::UP, NetdevFlags::empty())
                .unwrap();
        }
        let ch = t.update(&[(OfpPort(1), a.clone()), (OfpPort(2), b.clone())], 0);
        assert_eq!(ch.len(), 1, "{ch:?}");
        assert_eq!(ch[0].0, PortReason::Modify);
        assert_eq!(ch[0].1.config & OFPPC_PORT_DOWN != 0, !was_down);
        // Gone.
        let ch = t.update(&[(OfpPort(2), b)], 0);
        assert_eq!(ch.len(), 1);
        assert_eq!((ch[0].0, ch[0].1.port_no), (PortReason::Delete, OfpPort(1)));
        assert_eq!(t.descs().count(), 1);
    }
}
