//! OpenFlow groups (1.1+): the model a group-mod changes and group stats report. The
//! group table's semantics and translation live with the ofproto that keeps it.

use crate::actions::Action;
use crate::flow::OfpPort;

/// The largest group id a group-mod may use (`OFPG_MAX`).
pub const GROUP_MAX: u32 = 0xffff_ff00;
/// All groups, in group-mod delete and stats requests (`OFPG_ALL`).
pub const GROUP_ALL: u32 = 0xffff_fffc;
/// No group, in a bucket's `watch_group` (`OFPG_ANY`).
pub const GROUP_NONE: u32 = 0xffff_ffff;

/// A group type (`ofp_group_type`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum GroupType {
    /// Every bucket runs, on its own copy of the packet (`OFPGT_ALL`).
    #[default]
    All,
    /// One bucket runs, chosen by a hash of the flow weighted by bucket weights
    /// (`OFPGT_SELECT`).
    Select,
    /// The one bucket runs (`OFPGT_INDIRECT`).
    Indirect,
    /// The first live bucket runs (`OFPGT_FF`).
    FastFailover,
}

impl GroupType {
    /// The wire number.
    pub fn wire(self) -> u8 {
        match self {
            GroupType::All => 0,
            GroupType::Select => 1,
            GroupType::Indirect => 2,
            GroupType::FastFailover => 3,
        }
    }

    /// The type with wire number `t`.
    pub fn from_wire(t: u8) -> Option<GroupType> {
        Some(match t {
            0 => GroupType::All,
            1 => GroupType::Select,
            2 => GroupType::Indirect,
            3 => GroupType::FastFailover,
            _ => return None,
        })
    }

    /// The name `ovs-ofctl` prints (`type=select`).
    pub fn name(self) -> &'static str {
        match self {
            GroupType::All => "all",
            GroupType::Select => "select",
            GroupType::Indirect => "indirect",
            GroupType::FastFailover => "ff",
        }
    }
}

/// One bucket of a group (`ofp_bucket`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bucket {
    /// Relative weight (select groups; 0 otherwise).
    pub weight: u16,
    /// The port whose liveness decides whether the bucket is live (fast failover;
    /// [`OfpPort::ANY`] = none).
    pub watch_port: OfpPort,
    /// The group whose liveness decides whether the bucket is live ([`GROUP_NONE`] = none).
    pub watch_group: u32,
    /// The bucket's actions (plain actions, no instructions).
    pub actions: Vec<Action>,
}

impl Default for Bucket {
    fn default() -> Self {
        Bucket {
            weight: 0,
            watch_port: OfpPort::ANY,
            watch_group: GROUP_NONE,
            actions: Vec::new(),
        }
    }
}

/// A group-mod command (`ofp_group_mod_command`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GroupModCommand {
    /// `OFPGC_ADD`: fails if the group exists.
    Add,
    /// `OFPGC_MODIFY`: fails if it does not.
    Modify,
    /// `OFPGC_DELETE`: deletes the group ([`GROUP_ALL`]: every group) and the rules that
    /// use it; no error if it does not exist.
    Delete,
}

/// A group-mod (`ofp_group_mod`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupMod {
    /// The command.
    pub command: GroupModCommand,
    /// The group type (add, modify).
    pub type_: GroupType,
    /// The group id.
    pub group_id: u32,
    /// The buckets (add, modify).
    pub buckets: Vec<Bucket>,
}

/// One group as kept in a switch, for group-desc replies and `dump-groups`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupDesc {
    /// The group id.
    pub group_id: u32,
    /// The type.
    pub type_: GroupType,
    /// The buckets.
    pub buckets: Vec<Bucket>,
}

/// A group's counters (`ofp_group_stats`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GroupStats {
    /// The group id.
    pub group_id: u32,
    /// The number of rules that send to the group.
    pub ref_count: u32,
    /// Packets processed by the group.
    pub packet_count: u64,
    /// Bytes processed by the group.
    pub byte_count: u64,
    /// Time the group has existed, in milliseconds.
    pub duration_ms: u64,
    /// Per bucket: packets and bytes.
    pub buckets: Vec<(u64, u64)>,
}
