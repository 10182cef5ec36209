//! [`Action`]: one datapath action (`OVS_ACTION_ATTR_*`).

use netlink_packet_core::DefaultNla;

use super::OdpPort;
use super::attr::KeyAttr;

/// The `userspace` action: send the packet up to the process listening on `pid`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Userspace {
    /// Netlink port id to send to (0 for the userspace datapath).
    pub pid: u32,
    /// Opaque cookie for the upper layer (`OVS_USERSPACE_ATTR_USERDATA`).
    pub userdata: Option<Vec<u8>>,
    /// Tunnel port the packet will leave by (`OVS_USERSPACE_ATTR_EGRESS_TUN_PORT`).
    pub egress_tun_port: Option<u32>,
    /// Whether to include the actions in the upcall (`OVS_USERSPACE_ATTR_ACTIONS`).
    pub actions: bool,
}

/// The algorithm of a `hash` action (`enum ovs_hash_alg`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HashAlg {
    /// `OVS_HASH_ALG_L4` (0): hash of the 5-tuple.
    L4,
    /// `OVS_HASH_ALG_SYM_L4` (1): symmetric hash of the 5-tuple.
    SymL4,
    /// Any other value.
    Other(u32),
}

/// One datapath action.
///
/// Actions this crate does not model are kept as [`Action::Other`] so that they survive a
/// parse/emit round trip.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Action {
    /// `OVS_ACTION_ATTR_OUTPUT` (1): send a copy out of a port.
    Output(OdpPort),
    /// `OVS_ACTION_ATTR_USERSPACE` (2).
    Userspace(Userspace),
    /// `OVS_ACTION_ATTR_SET` (3): set the fields of one key attribute (whole attribute).
    Set(KeyAttr),
    /// `OVS_ACTION_ATTR_PUSH_VLAN` (4).
    PushVlan {
        /// Tag protocol id (0x8100 or 0x88a8).
        tpid: u16,
        /// TCI; the CFI bit must be set.
        tci: u16,
    },
    /// `OVS_ACTION_ATTR_POP_VLAN` (5).
    PopVlan,
    /// `OVS_ACTION_ATTR_SAMPLE` (6): run `actions` with probability `probability / u32::MAX`.
    Sample {
        /// Probability as a fraction of `u32::MAX`.
        probability: u32,
        /// The nested actions.
        actions: Vec<Action>,
    },
    /// `OVS_ACTION_ATTR_RECIRC` (7): run the packet through the datapath again with this
    /// recirculation id.
    Recirc(u32),
    /// `OVS_ACTION_ATTR_HASH` (8): compute `dp_hash`.
    Hash {
        /// The algorithm.
        alg: HashAlg,
        /// The basis.
        basis: u32,
    },
    /// `OVS_ACTION_ATTR_PUSH_MPLS` (9).
    PushMpls {
        /// The label stack entry.
        lse: u32,
        /// The MPLS ethertype.
        ethertype: u16,
    },
    /// `OVS_ACTION_ATTR_POP_MPLS` (10): the ethertype of what is inside.
    PopMpls(u16),
    /// `OVS_ACTION_ATTR_SET_MASKED` (11): set the bits of `mask` to those of `value` (two
    /// attributes of the same kind).
    SetMasked {
        /// New values.
        value: KeyAttr,
        /// Which bits to set.
        mask: KeyAttr,
    },
    /// `OVS_ACTION_ATTR_TRUNC` (13): truncate the packet to at most this many bytes for the
    /// following outputs.
    Trunc(u32),
    /// `OVS_ACTION_ATTR_CT_CLEAR` (16).
    CtClear,
    /// `OVS_ACTION_ATTR_METER` (19).
    Meter(u32),
    /// `OVS_ACTION_ATTR_CLONE` (20): run the nested actions on a copy.
    Clone(Vec<Action>),
    /// `OVS_ACTION_ATTR_DROP` (24): drop explicitly, with an `xlate_error` reason.
    Drop(u32),
    /// Any other action, kept as it came.
    Other(DefaultNla),
}
