//! The `NORMAL` action: a learning L2 switch with VLANs (OVS's `xlate_normal`).
//!
//! 1. The input port must belong to a bundle (the bridge layer makes one per configured
//!    port); otherwise the packet is dropped ("no input bundle"). Packet-outs from the
//!    controller (`in_port=CONTROLLER` or `NONE`) use a pseudo-bundle that carries every
//!    VLAN and learns nothing.
//! 2. The packet's VLAN comes from its tag and the input bundle's mode: an access port
//!    takes untagged (or priority-tagged) frames into its VLAN and drops tagged ones; a
//!    trunk takes the tag's VLAN if it trunks it (untagged = VLAN 0); native modes put
//!    untagged frames into the native VLAN.
//! 3. Frames to reserved multicast addresses (`01:80:c2:00:00:0x`, STP and friends) are
//!    dropped unless `forward_bpdu`.
//! 4. The source is learned (with side effects), then the destination is looked up in the
//!    same VLAN: a known unicast goes to its bundle (not back to the input bundle); an
//!    unknown, broadcast or multicast destination floods to every other bundle that
//!    carries the VLAN. Each output is tagged per the output bundle: access ports and the
//!    native VLAN of a native-untagged port send untagged, trunks send tagged.
//!
//! NORMAL looks at the input port, both Ethernet addresses and the VLAN id (and, for ARP,
//! what the gratuitous-ARP check reads), so the megaflow matches exactly those.

use dpif::odp::{self, eth_type, vlan};
use netdev::EthAddr;

use super::super::mac_learning::MacTable;
use super::super::trace::NodeKind;
use super::{Ctx, Learn, XBundle};
use crate::flow::{OfpPort, loc};
use crate::provider::VlanMode;

/// One VLAN header during NORMAL processing (OVS's `struct xvlan_single`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct XVlan {
    tpid: u16,
    vid: u16,
    /// The PCP bits, in their TCI position.
    pcp: u16,
}

type XVlans = [XVlan; 2];

fn is_vlan_tpid(t: u16) -> bool {
    t == eth_type::VLAN || t == eth_type::VLAN_8021AD
}

/// The input bundle: a real one (by index) or the controller's pseudo-bundle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum InBundle {
    Real(usize),
    None,
}

fn extract(ctx: &Ctx<'_>) -> XVlans {
    let mut x = XVlans::default();
    for (i, slot) in x.iter_mut().enumerate() {
        let v = ctx.flow.vlan(i);
        // A trace flow may give a tag without its TPID: take it as 802.1Q.
        if !v.present() || !(is_vlan_tpid(v.tpid) || v.tpid == 0) {
            break;
        }
        *slot = XVlan {
            tpid: if v.tpid == 0 { eth_type::VLAN } else { v.tpid },
            vid: v.vid(),
            pcp: v.tci & vlan::PCP_MASK,
        };
    }
    x
}

fn put(ctx: &mut Ctx<'_>, x: &XVlans) {
    for (i, v) in x.iter().enumerate() {
        let mut tci = v.vid | v.pcp;
        let mut cur = ctx.flow.vlan(i);
        if tci != 0 {
            tci |= vlan::CFI;
            cur.tpid = if v.tpid == 0 { eth_type::VLAN } else { v.tpid };
        }
        cur.tci = tci;
        ctx.flow.set_vlan(i, cur);
    }
}

fn input_translate(b: &XBundle, input: &XVlans) -> XVlans {
    match b.vlan_mode {
        VlanMode::Access => {
            let mut x = XVlans::default();
            x[0] = XVlan {
                tpid: if input[0].tpid == 0 {
                    eth_type::VLAN
                } else {
                    input[0].tpid
                },
                vid: b.vlan,
                pcp: input[0].pcp,
            };
            x
        }
        VlanMode::Trunk => *input,
        VlanMode::NativeTagged | VlanMode::NativeUntagged => {
            let mut x = *input;
            if input[0].vid == 0 {
                x[0] = XVlan {
                    tpid: if input[0].tpid == 0 {
                        eth_type::VLAN
                    } else {
                        input[0].tpid
                    },
                    vid: b.vlan,
                    pcp: input[0].pcp,
                };
            }
            x
        }
    }
}

fn output_translate(b: &XBundle, x: &XVlans) -> XVlans {
    match b.vlan_mode {
        VlanMode::Access => XVlans::default(),
        VlanMode::Trunk | VlanMode::NativeTagged => *x,
        VlanMode::NativeUntagged => {
            if x[0].vid == b.vlan {
                [x[1], XVlan::default()]
            } else {
                *x
            }
        }
    }
}

fn includes_vlan(b: &XBundle, x: &XVlans) -> bool {
    match b.vlan_mode {
        VlanMode::Access => x[0].vid == b.vlan && x[1].vid == 0,
        VlanMode::Trunk | VlanMode::NativeTagged | VlanMode::NativeUntagged => {
            b.trunks_vlan(x[0].vid)
        }
    }
}

/// Whether a packet tagged `vid` (0: untagged) may enter on `b` (OVS's
/// `input_vid_is_valid`).
fn input_vid_is_valid(ctx: &mut Ctx<'_>, vid: u16, b: &XBundle) -> bool {
    match b.vlan_mode {
        VlanMode::Access => {
            if vid != 0 {
                let (name, v) = (b.name.clone(), b.vlan);
                ctx.report_error(|| {
                    format!(
                        "dropping VLAN {vid} tagged packet received on port {name} configured as VLAN {v} access port"
                    )
                });
                return false;
            }
            true
        }
        VlanMode::NativeTagged | VlanMode::NativeUntagged if vid == 0 => true,
        _ => {
            if !b.trunks_vlan(vid) {
                let name = b.name.clone();
                ctx.report_error(|| {
                    format!(
                        "dropping VLAN {vid} packet received on port {name} not configured for trunking VLAN {vid}"
                    )
                });
                return false;
            }
            true
        }
    }
}

/// `01:80:c2:00:00:0x`: addresses bridges must not forward (STP, LACP, 802.1X ...).
fn is_reserved(a: EthAddr) -> bool {
    a.0[..5] == [0x01, 0x80, 0xc2, 0x00, 0x00] && a.0[5] & 0xf0 == 0
}

/// The gratuitous-ARP check OVS makes before learning (it only changes behaviour for
/// bonds, which do not exist yet), for the bits it examines.
fn gratuitous_arp_wc(ctx: &mut Ctx<'_>) {
    if ctx.flow.dl_type() != eth_type::ARP {
        return;
    }
    ctx.wc.unwildcard_loc(loc::ETH_DST);
    if !ctx.flow.dl_dst().is_broadcast() {
        return;
    }
    ctx.wc.unwildcard_loc(loc::NW_PROTO);
    if ctx.flow.nw_proto() == 1 {
        ctx.wc.unwildcard_loc(loc::NW_SRC);
        ctx.wc.unwildcard_loc(loc::NW_DST);
    }
}

/// Runs NORMAL on `ctx`'s packet.
pub(crate) fn xlate_normal(ctx: &mut Ctx<'_>) {
    ctx.wc.unwildcard_loc(loc::ETH_SRC);
    ctx.wc.unwildcard_loc(loc::ETH_DST);
    ctx.wc
        .unwildcard_loc_bits(loc::VLAN0_TCI, u128::from(vlan::VID_MASK | vlan::CFI));
    let br = ctx.br;
    let in_port = ctx.flow.in_port();
    let in_bundle = match br.ports.get(&in_port).and_then(|p| p.bundle) {
        Some(i) if i < br.bundles.len() => InBundle::Real(i),
        _ if in_port == OfpPort::CONTROLLER || in_port == OfpPort::NONE => InBundle::None,
        _ => {
            if !br.ports.contains_key(&in_port) {
                ctx.report_error(|| format!("received packet on unknown port {}", in_port.0));
            }
            ctx.report(NodeKind::Warn, || "no input bundle, dropping".to_owned());
            return;
        }
    };

    let in_xvlan = extract(ctx);
    let xvlan = match in_bundle {
        InBundle::Real(i) => {
            let b = &br.bundles[i];
            if !input_vid_is_valid(ctx, in_xvlan[0].vid, b) {
                ctx.report(NodeKind::Warn, || {
                    "disallowed VLAN VID for this input port, dropping".to_owned()
                });
                return;
            }
            input_translate(b, &in_xvlan)
        }
        InBundle::None => in_xvlan,
    };
    let vlan_id = xvlan[0].vid;

    if !br.forward_bpdu && is_reserved(ctx.flow.dl_dst()) {
        ctx.report(NodeKind::Detail, || {
            "packet has reserved destination MAC, dropping".to_owned()
        });
        return;
    }

    gratuitous_arp_wc(ctx);

    // Learn the source.
    let src = ctx.flow.dl_src();
    if let InBundle::Real(i) = in_bundle
        && MacTable::may_learn(src)
    {
        ctx.learned.push(Learn {
            vlan: vlan_id,
            mac: src,
            port: in_port,
        });
        if ctx.side_effects {
            let outcome = ctx.ml.lock().learn(src, vlan_id, in_port, ctx.now_ms);
            if outcome.is_change() {
                ctx.mac_changed = true;
                let name = br.bundles[i].name.clone();
                ctx.report(NodeKind::Detail, || {
                    format!("learned that {src} is on port {name} in VLAN {vlan_id}")
                });
            }
        }
    }

    // Find the destination.
    let dst = ctx.flow.dl_dst();
    let learned = if dst.is_multicast() {
        None
    } else {
        ctx.ml.lock().lookup(dst, vlan_id)
    };
    match learned {
        Some(port) => {
            let out = br.ports.get(&port).and_then(|p| p.bundle);
            match out {
                Some(o) if InBundle::Real(o) != in_bundle && o < br.bundles.len() => {
                    ctx.report(NodeKind::Detail, || "forwarding to learned port".to_owned());
                    output_normal(ctx, o, &xvlan);
                }
                Some(_) => ctx.report(NodeKind::Detail, || {
                    "learned port is input port, dropping".to_owned()
                }),
                None => ctx.report(NodeKind::Warn, || {
                    "learned port is unknown, dropping".to_owned()
                }),
            }
        }
        None => {
            ctx.report(NodeKind::Detail, || {
                "no learned MAC for destination, flooding".to_owned()
            });
            // Flood in port-number order, so that the action list is stable.
            let mut order: Vec<(OfpPort, usize)> = br
                .bundles
                .iter()
                .enumerate()
                .filter_map(|(i, b)| b.members.iter().min().map(|p| (*p, i)))
                .collect();
            order.sort();
            for (_, i) in order {
                let b = &br.bundles[i];
                if InBundle::Real(i) != in_bundle && b.floodable && includes_vlan(b, &xvlan) {
                    output_normal(ctx, i, &xvlan);
                }
            }
        }
    }
}

/// Outputs to bundle `i` with the VLAN tags its mode calls for.
fn output_normal(ctx: &mut Ctx<'_>, i: usize, xvlan: &XVlans) {
    let br = ctx.br;
    let Some(b) = br.bundles.get(i) else { return };
    let Some(&port) = b.members.first() else {
        // A bundle with no members: drop.
        return;
    };
    let out = output_translate(b, xvlan);
    let old: [odp::Vlan; 2] = [ctx.flow.vlan(0), ctx.flow.vlan(1)];
    put(ctx, &out);
    ctx.compose_output(port);
    ctx.flow.set_vlan(0, old[0]);
    ctx.flow.set_vlan(1, old[1]);
}
