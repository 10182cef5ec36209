//! The OpenFlow switch layer of a virtual switch built with the architecture of Open vSwitch:
//! OpenFlow tables, the `Ofproto` provider trait and ofproto-dpif.
//!
//! # The OpenFlow model
//!
//! * [`Flow`] is the OpenFlow view of a packet: a fixed layout of 64-bit words (in_port,
//!   metadata, registers, Ethernet, VLAN, IPv4/IPv6, ARP, ND, L4 ports, TCP flags), the same
//!   shape as its mask [`FlowWildcards`], so masking, hashing and matching are loops over
//!   words. It converts to and from the datapath's [`dpif::odp::FlowKey`]
//!   ([`Flow::from_dp_key`], [`Flow::to_dp_key`], [`FlowWildcards::to_dp_mask`]).
//! * [`Field`] names every matchable and settable field, with its `ovs-fields(7)` names,
//!   width, prerequisites and value format.
//! * [`Match`] is a flow plus a mask, with OVS's prerequisites and normalization.
//! * [`Action`] is one OpenFlow action or instruction; a rule's actions are a flat list.
//! * [`Classifier`] finds the highest-priority entry for a packet by tuple space search and
//!   records in a [`FlowWildcards`] every bit it examined (what makes megaflows correct).
//! * [`TableSet`] holds the 255 OpenFlow tables of a switch (table 254 hidden) and applies
//!   [`FlowMod`]s with OpenFlow semantics; [`Rule`] is one flow entry.
//! * [`ofctl`] parses and prints the flow syntax of `ovs-ofctl`.
//!
//! # The provider interface
//!
//! [`OfprotoClass`] and [`Ofproto`] are the seam between the bridge layer and an OpenFlow
//! switch implementation (OVS's `ofproto-provider.h`). [`ofproto_dpif`] implements them over
//! any [`dpif::Dpif`]: translation, NORMAL switching with MAC learning and VLANs, upcall
//! handling, revalidation, `ofproto/trace` and `fdb/show`.
//!
//! ```
//! use ofproto::{Flow, FlowWildcards, OfpPort, Origin, TableSet, ofctl};
//! use ofproto::ofctl::FlowModCommand;
//!
//! let mut tables = TableSet::new();
//! let fm = ofctl::parse_flow_mod("priority=10,in_port=1,actions=output:2", FlowModCommand::Add, None)
//!     .unwrap();
//! tables.flow_mod(&fm, 0, Origin::OpenFlow).unwrap();
//!
//! let mut packet = Flow::zero();
//! packet.set_in_port(OfpPort(1));
//! let mut wc = FlowWildcards::catchall();
//! let rule = tables.lookup(0, &packet, Some(&mut wc)).unwrap();
//! assert_eq!(ofctl::format::actions_to_string(&rule.actions, None), "output:2");
//! assert_eq!(wc.masks.in_port(), OfpPort(u32::MAX)); // only in_port was examined
//! ```

pub mod actions;
pub mod classifier;
pub mod connmgr;
pub mod error;
pub mod fields;
pub mod flow;
pub mod group;
pub mod matching;
pub mod ofctl;
pub mod ofp;
pub mod ofproto_dpif;
pub mod packet_in;
mod provider;
pub mod rule;
pub mod table;

pub use actions::{Action, Controller, PacketInReason, SubField, check_actions};
pub use classifier::Classifier;
pub use error::{Error, OfpError, Result};
pub use fields::{Field, Prereq};
pub use flow::{Flow, FlowWildcards, OfpPort};
pub use group::{Bucket, GroupDesc, GroupMod, GroupModCommand, GroupStats, GroupType};
pub use matching::Match;
pub use packet_in::PacketIn;
pub use provider::{
    BundleSettings, FailMode, FdbEntry, MacTableConfig, Ofproto, OfprotoClass, OfprotoPort,
    VlanMode,
};
pub use rule::{FlowModFlags, RemovedReason, Rule, RuleStats, StatsSnapshot};
pub use table::{
    FlowMod, FlowModCommand, FlowModResult, N_TABLES, OfTable, Origin, RuleQuery, TABLE_ALL,
    TABLE_INTERNAL, TableSet,
};
