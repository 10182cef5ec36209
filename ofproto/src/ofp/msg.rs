//! Whole OpenFlow messages: the header, framing, every message the switch exchanges with
//! `ovs-ofctl` and controllers as a typed [`Msg`], and [`decode`]/[`encode`] for OpenFlow
//! 1.0 (with the Nicira extensions `ovs-ofctl` uses by default) and OpenFlow 1.3.
//!
//! # Overview
//!
//! A connection reads bytes, asks [`frame_len`] how long the next message is, and hands
//! exactly that many bytes to [`decode`]. The result is the [`Header`] and a [`Msg`] whose
//! meaning does not depend on the version: a 1.0 `OFPT_FLOW_MOD`, a Nicira `NXT_FLOW_MOD`
//! and a 1.3 `OFPT_FLOW_MOD` all decode to [`Msg::FlowMod`] carrying a
//! [`crate::FlowMod`]. [`encode`] writes a [`Msg`] in the version the connection
//! negotiated ([`negotiate`]); a multipart reply longer than 64 KiB becomes several
//! messages, all but the last with the `MORE` flag.
//!
//! ```
//! use ofproto::ofp::Version;
//! use ofproto::ofp::msg::{self, ErrorMsg, Hello, Msg};
//!
//! // What `ovs-ofctl show br0` sends first: a 1.0 hello, then a features request.
//! let from_peer = [1, 0, 0, 8, 0, 0, 0, 1, 1, 5, 0, 8, 0, 0, 0, 2];
//! let len = msg::frame_len(&from_peer).unwrap().unwrap();
//! let (h, m) = msg::decode(&from_peer[..len]).unwrap();
//! let Msg::Hello(hello) = m else { unreachable!() };
//! let version = msg::negotiate(&Version::SUPPORTED, h.version, &hello).unwrap();
//! assert_eq!(version, Version::Of10);
//!
//! let (h, m) = msg::decode(&from_peer[len..]).unwrap();
//! assert_eq!(m, Msg::FeaturesRequest);
//!
//! // A message we do not support gets the error the decoder names.
//! let queue_config = [1, 20, 0, 12, 0, 0, 0, 3, 0, 1, 0, 0];
//! let e = msg::decode(&queue_config).unwrap_err();
//! let mut out = Vec::new();
//! let reply = Msg::Error(ErrorMsg::reply_to(e.error, &queue_config));
//! msg::encode(version, e.xid, &reply, &mut out).unwrap();
//! assert_eq!(&out[8..12], &[0, 1, 0, 1]); // OFPET_BAD_REQUEST, OFPBRC_BAD_TYPE
//! # let _ = (h, Hello::default());
//! ```
//!
//! # Errors
//!
//! Decoding never panics. A malformed message gives a [`DecodeError`] carrying what the
//! peer must get back: the xid, the version and the [`OfpError`] the specification names
//! (`OFPBRC_BAD_VERSION`, `OFPBRC_BAD_TYPE`, `OFPBRC_BAD_LEN`, `OFPBRC_BAD_STAT` (1.3's
//! `BAD_MULTIPART`), `OFPBRC_BAD_VENDOR` (1.3's `BAD_EXPERIMENTER`), `OFPBRC_BAD_SUBTYPE`
//! (`BAD_EXP_TYPE`), or the match, action and flow-mod errors of the codecs). The caller
//! answers with [`Msg::Error`] built by [`ErrorMsg::reply_to`].
//!
//! [`OfpError`] uses OpenFlow 1.3 numbering. [`encode`] writes each error in the
//! version's own numbering, as `ovs-vswitchd` does: `OFPFMFC_OVERLAP` is type 5 in 1.3 and
//! type 3 in 1.0; errors that 1.0 lacks but Open vSwitch extends it with (such as
//! `OFPBMC_BAD_PREREQ`) become Nicira vendor errors (`NXET_VENDOR`); the rest become
//! `NXBRC_UNENCODABLE_ERROR`.
//!
//! # Versions
//!
//! Only [`Version::Of10`] and [`Version::Of13`] messages decode; a `HELLO` of any version
//! decodes so that [`negotiate`] can pick the highest version both sides speak.

mod body;
mod errors;
mod multipart;
mod nx;
#[cfg(test)]
mod tests;
mod wire;

use crate::actions::{Action, PacketInReason};
use crate::error::OfpError;
use crate::flow::OfpPort;
use crate::group::GroupMod;
use crate::matching::Match;
use crate::rule::{FlowModFlags, RemovedReason};
use crate::table::FlowMod;

use super::Version;

pub use errors::{error_name, known_errors};

/// Length of the OpenFlow header (`ofp_header`).
pub const HEADER_LEN: usize = 8;
/// The most bytes of an offending message an `ERROR` carries back.
pub const ERROR_DATA_MAX: usize = 64;
/// `buffer_id` meaning "no buffered packet" (`OFP_NO_BUFFER`).
pub const NO_BUFFER: u32 = 0xffff_ffff;
/// The Nicira vendor/experimenter id (`NX_VENDOR_ID`).
pub const NX_VENDOR_ID: u32 = 0x0000_2320;
/// The largest message (the header's length field is 16 bits).
pub const MAX_MSG_LEN: usize = 0xffff;

/// The OpenFlow header (`ofp_header`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Header {
    /// The version byte as sent (any value; see [`Version::from_wire`]).
    pub version: u8,
    /// The message type (`ofp_type`; numbering differs between versions).
    pub type_: u8,
    /// The length of the whole message, header included.
    pub length: u16,
    /// The transaction id a reply echoes.
    pub xid: u32,
}

impl Header {
    /// Reads the header at the start of `b`; `None` if `b` is shorter than
    /// [`HEADER_LEN`].
    pub fn parse(b: &[u8]) -> Option<Header> {
        let h = b.get(..HEADER_LEN)?;
        Some(Header {
            version: h[0],
            type_: h[1],
            length: u16::from_be_bytes([h[2], h[3]]),
            xid: u32::from_be_bytes([h[4], h[5], h[6], h[7]]),
        })
    }
}

/// How long the next message at the start of `buf` is.
///
/// Returns `Ok(None)` while fewer than [`HEADER_LEN`] bytes are there, else
/// `Ok(Some(len))` with the message's length (which may be more than `buf` holds: read on
/// until `buf.len() >= len`).
///
/// # Errors
///
/// `OFPBRC_BAD_LEN` (in a [`DecodeError`] to send back) when the length field is below
/// [`HEADER_LEN`]: the stream cannot be resynchronized and the connection should close
/// after sending the error.
pub fn frame_len(buf: &[u8]) -> Result<Option<usize>, DecodeError> {
    let Some(h) = Header::parse(buf) else {
        return Ok(None);
    };
    let len = usize::from(h.length);
    if len < HEADER_LEN {
        return Err(DecodeError {
            version: h.version,
            xid: h.xid,
            error: OfpError::BRC_BAD_LEN,
        });
    }
    Ok(Some(len))
}

/// A message that could not be decoded, with what to send back: an `ERROR` of type and
/// code [`DecodeError::error`], xid [`DecodeError::xid`], carrying the start of the
/// offending message ([`ErrorMsg::reply_to`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("bad OpenFlow message (version {version:#04x}, xid {xid:#x}): {error}")]
pub struct DecodeError {
    /// The version byte of the offending message (reply in the negotiated version when
    /// this one is not supported).
    pub version: u8,
    /// The xid of the offending message.
    pub xid: u32,
    /// The error to send back (OpenFlow 1.3 numbering).
    pub error: OfpError,
}

/// Options for [`decode_with`] that depend on what the connection enabled earlier.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DecodeOptions {
    /// The peer enabled `NXT_FLOW_MOD_TABLE_ID`: the high byte of an OpenFlow 1.0
    /// flow-mod's `command` is the table id.
    pub flow_mod_table_id: bool,
}

/// One OpenFlow message, independent of the version it travels in (see the module docs).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Msg {
    /// `OFPT_HELLO`.
    Hello(Hello),
    /// `OFPT_ERROR`.
    Error(ErrorMsg),
    /// `OFPT_ECHO_REQUEST` with its data.
    EchoRequest(Vec<u8>),
    /// `OFPT_ECHO_REPLY` with the request's data.
    EchoReply(Vec<u8>),
    /// `OFPT_FEATURES_REQUEST`.
    FeaturesRequest,
    /// `OFPT_FEATURES_REPLY`.
    FeaturesReply(FeaturesReply),
    /// `OFPT_GET_CONFIG_REQUEST`.
    GetConfigRequest,
    /// `OFPT_GET_CONFIG_REPLY`.
    GetConfigReply(SwitchConfig),
    /// `OFPT_SET_CONFIG`.
    SetConfig(SwitchConfig),
    /// `OFPT_PACKET_IN`.
    PacketIn(PacketInMsg),
    /// `OFPT_FLOW_REMOVED`.
    FlowRemoved(FlowRemoved),
    /// `OFPT_PORT_STATUS`.
    PortStatus(PortStatus),
    /// `OFPT_PACKET_OUT`.
    PacketOut(PacketOut),
    /// `OFPT_FLOW_MOD`, or Nicira `NXT_FLOW_MOD` in 1.0 (encoded so when the match needs
    /// NXM).
    FlowMod(FlowModMsg),
    /// `OFPT_GROUP_MOD` (1.3).
    GroupMod(GroupMod),
    /// `OFPT_PORT_MOD`.
    PortMod(PortMod),
    /// `OFPT_BARRIER_REQUEST`.
    BarrierRequest,
    /// `OFPT_BARRIER_REPLY`.
    BarrierReply,
    /// `OFPT_ROLE_REQUEST` (1.3), Nicira `NXT_ROLE_REQUEST` (1.0).
    RoleRequest(RoleMsg),
    /// `OFPT_ROLE_REPLY` (1.3), Nicira `NXT_ROLE_REPLY` (1.0).
    RoleReply(RoleMsg),
    /// `OFPT_MULTIPART_REQUEST` (1.3), `OFPT_STATS_REQUEST` (1.0).
    MultipartRequest(MultipartRequest),
    /// `OFPT_MULTIPART_REPLY` (1.3), `OFPT_STATS_REPLY` (1.0). One decoded message is one
    /// part; [`encode`] splits a long reply into parts.
    MultipartReply(MultipartReply),
    /// Nicira `NXT_SET_FLOW_FORMAT`.
    SetFlowFormat(FlowFormat),
    /// Nicira `NXT_FLOW_MOD_TABLE_ID`: whether 1.0 flow-mods carry a table id (see
    /// [`DecodeOptions::flow_mod_table_id`]).
    FlowModTableId(bool),
}

impl Msg {
    /// The name of the message as `ovs-ofctl ofp-print` names it (`OFPT_FLOW_MOD`).
    pub fn name(&self) -> &'static str {
        match self {
            Msg::Hello(_) => "OFPT_HELLO",
            Msg::Error(_) => "OFPT_ERROR",
            Msg::EchoRequest(_) => "OFPT_ECHO_REQUEST",
            Msg::EchoReply(_) => "OFPT_ECHO_REPLY",
            Msg::FeaturesRequest => "OFPT_FEATURES_REQUEST",
            Msg::FeaturesReply(_) => "OFPT_FEATURES_REPLY",
            Msg::GetConfigRequest => "OFPT_GET_CONFIG_REQUEST",
            Msg::GetConfigReply(_) => "OFPT_GET_CONFIG_REPLY",
            Msg::SetConfig(_) => "OFPT_SET_CONFIG",
            Msg::PacketIn(_) => "OFPT_PACKET_IN",
            Msg::FlowRemoved(_) => "OFPT_FLOW_REMOVED",
            Msg::PortStatus(_) => "OFPT_PORT_STATUS",
            Msg::PacketOut(_) => "OFPT_PACKET_OUT",
            Msg::FlowMod(_) => "OFPT_FLOW_MOD",
            Msg::GroupMod(_) => "OFPT_GROUP_MOD",
            Msg::PortMod(_) => "OFPT_PORT_MOD",
            Msg::BarrierRequest => "OFPT_BARRIER_REQUEST",
            Msg::BarrierReply => "OFPT_BARRIER_REPLY",
            Msg::RoleRequest(_) => "OFPT_ROLE_REQUEST",
            Msg::RoleReply(_) => "OFPT_ROLE_REPLY",
            Msg::MultipartRequest(_) => "OFPT_MULTIPART_REQUEST",
            Msg::MultipartReply(_) => "OFPT_MULTIPART_REPLY",
            Msg::SetFlowFormat(_) => "NXT_SET_FLOW_FORMAT",
            Msg::FlowModTableId(_) => "NXT_FLOW_MOD_TABLE_ID",
        }
    }
}

/// `OFPT_HELLO`: the versions the sender speaks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Hello {
    /// The version bitmap element (`OFPHET_VERSIONBITMAP`; bit `n` = wire version `n`),
    /// if the hello has one. Without it, the sender speaks every version up to the
    /// header's.
    pub bitmap: Option<u32>,
}

impl Hello {
    /// The hello a switch speaking `versions` sends, and the version for its header (the
    /// highest of them). With only OpenFlow 1.0 there is no bitmap, as 1.0 has none.
    pub fn for_versions(versions: &[Version]) -> (Version, Hello) {
        let max = versions.iter().copied().max().unwrap_or(Version::Of10);
        let bitmap = versions
            .iter()
            .fold(0u32, |acc, v| acc | (1u32 << v.wire()));
        let bitmap = (max > Version::Of10).then_some(bitmap);
        (max, Hello { bitmap })
    }

    /// The versions the sender of this hello speaks, as a bitmap, given the version in
    /// its header.
    pub fn peer_bitmap(&self, header_version: u8) -> u32 {
        match self.bitmap {
            Some(b) => b,
            // Every version from 1 up to the header's.
            None => {
                let upto = match header_version {
                    0..=30 => (1u32 << (header_version + 1)) - 1,
                    _ => u32::MAX,
                };
                upto & !1
            }
        }
    }
}

/// Picks the version for a connection: the highest version in `ours` that the peer's
/// hello (sent with header version `peer_version`) also allows.
///
/// # Errors
///
/// `OFPHFC_INCOMPATIBLE` when there is none; send it with
/// [`ErrorMsg::hello_failed`] and close the connection.
pub fn negotiate(ours: &[Version], peer_version: u8, peer: &Hello) -> Result<Version, OfpError> {
    let theirs = peer.peer_bitmap(peer_version);
    ours.iter()
        .copied()
        .filter(|v| theirs & (1u32 << v.wire()) != 0)
        .max()
        .ok_or(OfpError::HFC_INCOMPATIBLE)
}

/// `OFPT_ERROR`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrorMsg {
    /// The error, in OpenFlow 1.3 numbering (a received error this switch does not know is
    /// kept with its raw type and code and the name `"unknown"`).
    pub error: OfpError,
    /// The start of the offending message ([`ERROR_DATA_MAX`] bytes), or for
    /// `OFPET_HELLO_FAILED` an ASCII explanation.
    pub data: Vec<u8>,
}

impl ErrorMsg {
    /// The error reply to `offending` (a whole message as received): its first
    /// [`ERROR_DATA_MAX`] bytes go back as data.
    pub fn reply_to(error: OfpError, offending: &[u8]) -> ErrorMsg {
        let n = offending.len().min(ERROR_DATA_MAX);
        ErrorMsg {
            error,
            data: offending[..n].to_vec(),
        }
    }

    /// The `OFPET_HELLO_FAILED`/`OFPHFC_INCOMPATIBLE` error for a failed negotiation, with
    /// the explanation Open vSwitch gives.
    pub fn hello_failed(ours: &[Version], peer_version: u8, peer: &Hello) -> ErrorMsg {
        let list = |bits: u32| {
            (1..32u8)
                .filter(|v| bits & (1u32 << v) != 0)
                .map(|v| format!("{v:#04x}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let our_bits = ours.iter().fold(0u32, |a, v| a | (1u32 << v.wire()));
        let text = format!(
            "We support version(s) {}, you support version(s) {}.",
            list(our_bits),
            list(peer.peer_bitmap(peer_version))
        );
        ErrorMsg {
            error: OfpError::HFC_INCOMPATIBLE,
            data: text.into_bytes(),
        }
    }
}

/// `OFPT_FEATURES_REPLY`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FeaturesReply {
    /// The datapath id.
    pub datapath_id: u64,
    /// Packets the switch can buffer (0: none).
    pub n_buffers: u32,
    /// Number of tables.
    pub n_tables: u8,
    /// The auxiliary connection id (1.3; 0 for the main connection).
    pub auxiliary_id: u8,
    /// `OFPC_*` capability bits, in the version's own numbering (see [`capabilities`]).
    pub capabilities: u32,
    /// OpenFlow 1.0: bitmap of supported action types (`1 << OFPAT10_*`); 1.3: reserved.
    pub actions: u32,
    /// OpenFlow 1.0: the ports (1.3 has `OFPMP_PORT_DESC` instead; none are sent).
    pub ports: Vec<PortDesc>,
}

/// Capability bits of a features reply (`ofp_capabilities`).
pub mod capabilities {
    /// Flow statistics.
    pub const FLOW_STATS: u32 = 1 << 0;
    /// Table statistics.
    pub const TABLE_STATS: u32 = 1 << 1;
    /// Port statistics.
    pub const PORT_STATS: u32 = 1 << 2;
    /// 1.0: 802.1D spanning tree (`OFPC10_STP`).
    pub const STP_10: u32 = 1 << 3;
    /// 1.3: group statistics (`OFPC_GROUP_STATS`).
    pub const GROUP_STATS_13: u32 = 1 << 3;
    /// Can reassemble IP fragments.
    pub const IP_REASM: u32 = 1 << 5;
    /// Queue statistics.
    pub const QUEUE_STATS: u32 = 1 << 6;
    /// 1.0: match IP addresses in ARP packets (`OFPC_ARP_MATCH_IP`).
    pub const ARP_MATCH_IP_10: u32 = 1 << 7;
    /// 1.3: blocks looping ports (`OFPC_PORT_BLOCKED`).
    pub const PORT_BLOCKED_13: u32 = 1 << 8;
}

/// `OFPT_GET_CONFIG_REPLY` and `OFPT_SET_CONFIG` (`ofp_switch_config`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct SwitchConfig {
    /// `OFPC_FRAG_*` flags.
    pub flags: u16,
    /// Bytes of a table-miss packet to send to the controller (`OFPCML_NO_BUFFER`,
    /// 65535, = all).
    pub miss_send_len: u16,
}

/// A port's description (1.0 `ofp_phy_port`, 1.3 `ofp_port`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct PortDesc {
    /// The port number.
    pub port_no: OfpPort,
    /// The Ethernet address.
    pub hw_addr: [u8; 6],
    /// The name (at most 15 bytes go on the wire).
    pub name: String,
    /// `OFPPC_*` config bits (the same bits in both versions for what 1.3 kept).
    pub config: u32,
    /// `OFPPS_*` state bits (`LINK_DOWN` is bit 0 in both versions).
    pub state: u32,
    /// Current features (`OFPPF_*`, OpenFlow 1.3 bit numbering; converted for 1.0).
    pub curr: u32,
    /// Advertised features (like `curr`).
    pub advertised: u32,
    /// Supported features (like `curr`).
    pub supported: u32,
    /// Features advertised by the peer (like `curr`).
    pub peer: u32,
    /// Current speed in kbps (1.3 only; 0 in 1.0).
    pub curr_speed: u32,
    /// Maximum speed in kbps (1.3 only; 0 in 1.0).
    pub max_speed: u32,
}

/// Why a port-status message is sent (`ofp_port_reason`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PortReason {
    /// The port was added (`OFPPR_ADD`).
    Add,
    /// The port was removed (`OFPPR_DELETE`).
    Delete,
    /// Some attribute changed (`OFPPR_MODIFY`).
    Modify,
}

/// `OFPT_PORT_STATUS`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PortStatus {
    /// What happened.
    pub reason: PortReason,
    /// The port, as it is now (as it was, for a delete).
    pub desc: PortDesc,
}

/// `OFPT_PACKET_IN` as sent on the wire (see [`PacketInMsg::from_packet_in`] for the
/// switch-side [`crate::PacketIn`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PacketInMsg {
    /// The buffer holding the packet ([`NO_BUFFER`]: this switch buffers nothing).
    pub buffer_id: u32,
    /// The packet's full length (`data` may be shorter).
    pub total_len: u16,
    /// Why it is sent (1.0 knows `NoMatch` and `Action`; 1.3 also `InvalidTtl`).
    pub reason: PacketInReason,
    /// The table of the rule that sent it (1.3; 0 in 1.0).
    pub table_id: u8,
    /// That rule's cookie (1.3; `u64::MAX` for none; 0 in 1.0).
    pub cookie: u64,
    /// The packet's metadata: in_port, and in 1.3 the non-zero metadata and registers.
    pub match_: Match,
    /// The packet, or its first bytes.
    pub data: Vec<u8>,
}

/// `OFPT_FLOW_REMOVED`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlowRemoved {
    /// The rule's match (in 1.0, what `ofp10_match` can say of it: see [`FlowStats::match_`]).
    pub match_: Match,
    /// Its cookie.
    pub cookie: u64,
    /// Its priority.
    pub priority: u16,
    /// Why it went (never [`RemovedReason::Replaced`]: no message is due then; 1.0 knows
    /// no `GroupDelete`).
    pub reason: RemovedReason,
    /// Its table (1.3; 0 in 1.0).
    pub table_id: u8,
    /// How long it lived: seconds.
    pub duration_sec: u32,
    /// And nanoseconds beyond them.
    pub duration_nsec: u32,
    /// Its idle timeout.
    pub idle_timeout: u16,
    /// Its hard timeout (1.3; 0 in 1.0).
    pub hard_timeout: u16,
    /// Packets it matched.
    pub packet_count: u64,
    /// Bytes it matched.
    pub byte_count: u64,
}

/// `OFPT_PACKET_OUT`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PacketOut {
    /// The buffered packet to send ([`NO_BUFFER`]: the packet is `data`).
    pub buffer_id: u32,
    /// The port the packet is treated as received on ([`OfpPort::CONTROLLER`] or
    /// [`OfpPort::NONE`] for none).
    pub in_port: OfpPort,
    /// The actions to apply.
    pub actions: Vec<Action>,
    /// The packet.
    pub data: Vec<u8>,
}

/// `OFPT_FLOW_MOD` (or `NXT_FLOW_MOD`): the change, and the buffered packet to apply it to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlowModMsg {
    /// The change to the tables.
    pub fm: FlowMod,
    /// The buffered packet to run through the new flow ([`NO_BUFFER`] for none).
    pub buffer_id: u32,
}

/// `OFPT_PORT_MOD`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct PortMod {
    /// The port.
    pub port_no: OfpPort,
    /// Its Ethernet address (a sanity check: it must match the port's).
    pub hw_addr: [u8; 6],
    /// New `OFPPC_*` config bits...
    pub config: u32,
    /// ...for the bits set here.
    pub mask: u32,
    /// Features to advertise (`OFPPF_*`, 1.3 numbering; 0 = unchanged).
    pub advertise: u32,
}

/// A controller role (`ofp_controller_role`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// Do not change the role (`OFPCR_ROLE_NOCHANGE`; 1.3 only).
    NoChange,
    /// Full access, shared with other equals (`OFPCR_ROLE_EQUAL`; Nicira `OTHER`).
    Equal,
    /// Full access, at most one master (`OFPCR_ROLE_MASTER`).
    Master,
    /// Read-only access (`OFPCR_ROLE_SLAVE`).
    Slave,
}

/// `OFPT_ROLE_REQUEST`/`OFPT_ROLE_REPLY` (and Nicira's 1.0 variants).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RoleMsg {
    /// The role.
    pub role: Role,
    /// The master election generation id (1.3; 0 in 1.0).
    pub generation_id: u64,
}

/// The flow format of Nicira `NXT_SET_FLOW_FORMAT`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FlowFormat {
    /// OpenFlow 1.0 matches (`NXFF_OPENFLOW10`).
    OpenFlow10,
    /// NXM matches (`NXFF_NXM`).
    Nxm,
}

/// A multipart (1.3) or stats (1.0) request.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MultipartRequest {
    /// `OFPMP_DESC`.
    Desc,
    /// `OFPMP_FLOW`.
    Flow(FlowStatsRequest),
    /// `OFPMP_AGGREGATE`.
    Aggregate(FlowStatsRequest),
    /// `OFPMP_TABLE`.
    Table,
    /// `OFPMP_PORT_STATS` for one port or [`OfpPort::ANY`] (all).
    PortStats(OfpPort),
    /// `OFPMP_PORT_DESC` (Open vSwitch also accepts it in 1.0).
    PortDesc,
    /// `OFPMP_TABLE_FEATURES` without a body (a request that sets features is refused).
    TableFeatures,
    /// `OFPMP_GROUP` for one group or [`crate::group::GROUP_ALL`] (1.3).
    Group(u32),
    /// `OFPMP_GROUP_DESC` (1.3).
    GroupDesc,
    /// Nicira `NXST_FLOW` (1.0; NXM match).
    NxFlow(FlowStatsRequest),
    /// Nicira `NXST_AGGREGATE` (1.0; NXM match).
    NxAggregate(FlowStatsRequest),
}

/// The body of a flow or aggregate stats request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlowStatsRequest {
    /// The table ([`crate::TABLE_ALL`] = all).
    pub table_id: u8,
    /// Only rules that output to this port ([`OfpPort::ANY`] = any).
    pub out_port: OfpPort,
    /// Only rules that send to this group ([`crate::table::GROUP_ANY`] = any; 1.3).
    pub out_group: u32,
    /// Only rules whose cookie equals this under `cookie_mask` (1.3).
    pub cookie: u64,
    /// The cookie bits to compare (1.3; 0 = any cookie).
    pub cookie_mask: u64,
    /// Only rules this match covers (loose).
    pub match_: Match,
}

/// A multipart reply: one part as decoded, or a whole reply to encode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MultipartReply {
    /// More parts follow (`OFPMPF_REPLY_MORE`). [`encode`] sets it on every message of a
    /// split reply but the last, and on that one too if this is set.
    pub more: bool,
    /// The body.
    pub body: MultipartReplyBody,
}

/// The body of a multipart reply.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MultipartReplyBody {
    /// `OFPMP_DESC`.
    Desc(SwitchDesc),
    /// `OFPMP_FLOW`.
    Flow(Vec<FlowStats>),
    /// `OFPMP_AGGREGATE`.
    Aggregate(AggregateStats),
    /// `OFPMP_TABLE`.
    Table(Vec<TableStats>),
    /// `OFPMP_PORT_STATS`.
    PortStats(Vec<PortStats>),
    /// `OFPMP_PORT_DESC`.
    PortDesc(Vec<PortDesc>),
    /// `OFPMP_TABLE_FEATURES` (1.3).
    TableFeatures(Vec<TableFeatures>),
    /// `OFPMP_GROUP` (1.3).
    Group(Vec<crate::GroupStats>),
    /// `OFPMP_GROUP_DESC` (1.3).
    GroupDesc(Vec<crate::GroupDesc>),
    /// Nicira `NXST_FLOW` (1.0).
    NxFlow(Vec<FlowStats>),
    /// Nicira `NXST_AGGREGATE` (1.0).
    NxAggregate(AggregateStats),
}

/// `ofp_desc`: who made the switch. Each string goes out NUL-padded and cut to its field.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct SwitchDesc {
    /// Manufacturer (255 bytes).
    pub mfr_desc: String,
    /// Hardware (255 bytes).
    pub hw_desc: String,
    /// Software (255 bytes).
    pub sw_desc: String,
    /// Serial number (31 bytes).
    pub serial_num: String,
    /// Datapath description (255 bytes).
    pub dp_desc: String,
}

/// One flow's statistics (1.0 `ofp_flow_stats`, 1.3 `ofp_flow_stats`, Nicira
/// `nx_flow_stats`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlowStats {
    /// The table.
    pub table_id: u8,
    /// Age: seconds.
    pub duration_sec: u32,
    /// And nanoseconds beyond them.
    pub duration_nsec: u32,
    /// Priority.
    pub priority: u16,
    /// Idle timeout.
    pub idle_timeout: u16,
    /// Hard timeout.
    pub hard_timeout: u16,
    /// Flags (1.3; empty in 1.0 and NXST).
    pub flags: FlowModFlags,
    /// Cookie.
    pub cookie: u64,
    /// Packets matched.
    pub packet_count: u64,
    /// Bytes matched.
    pub byte_count: u64,
    /// Seconds since the last packet (NXST only; `None` = unknown).
    pub idle_age: Option<u16>,
    /// Seconds since the rule was added or modified (NXST only; `None` = unknown).
    pub hard_age: Option<u16>,
    /// The match. In a 1.0 `OFPST_FLOW` reply it goes out as what `ofp10_match` can say of
    /// it, as Open vSwitch does: fields 1.0 lacks are left out (a superset of the packets).
    pub match_: Match,
    /// The actions (instructions in 1.3).
    pub actions: Vec<Action>,
}

/// `ofp_aggregate_stats_reply`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct AggregateStats {
    /// Packets matched by the selected rules.
    pub packet_count: u64,
    /// Bytes matched by them.
    pub byte_count: u64,
    /// Number of rules selected.
    pub flow_count: u32,
}

/// One table's statistics (`ofp_table_stats`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct TableStats {
    /// The table.
    pub table_id: u8,
    /// Its name (1.0 only).
    pub name: String,
    /// `OFPFW10_*` wildcards the table supports (1.0 only).
    pub wildcards: u32,
    /// Most rules it holds (1.0 only).
    pub max_entries: u32,
    /// Rules in it.
    pub active_count: u32,
    /// Packets looked up in it.
    pub lookup_count: u64,
    /// Packets that matched a rule.
    pub matched_count: u64,
}

/// One port's statistics (`ofp_port_stats`); `u64::MAX` = not available.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct PortStats {
    /// The port.
    pub port_no: OfpPort,
    /// Packets received.
    pub rx_packets: u64,
    /// Packets sent.
    pub tx_packets: u64,
    /// Bytes received.
    pub rx_bytes: u64,
    /// Bytes sent.
    pub tx_bytes: u64,
    /// Received packets dropped.
    pub rx_dropped: u64,
    /// Packets to send dropped.
    pub tx_dropped: u64,
    /// Receive errors.
    pub rx_errors: u64,
    /// Send errors.
    pub tx_errors: u64,
    /// Frame alignment errors.
    pub rx_frame_err: u64,
    /// Receive overruns.
    pub rx_over_err: u64,
    /// CRC errors.
    pub rx_crc_err: u64,
    /// Collisions.
    pub collisions: u64,
    /// How long the port has existed: seconds (1.3 only).
    pub duration_sec: u32,
    /// And nanoseconds beyond them (1.3 only).
    pub duration_nsec: u32,
}

/// One table's features (`ofp_table_features`, 1.3). `ovs-ofctl` requires the 8
/// properties of [`TableFeatureSet`] plus `match_` and `wildcards` on every table; they may
/// be empty.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct TableFeatures {
    /// The table.
    pub table_id: u8,
    /// Its name (31 bytes on the wire).
    pub name: String,
    /// Metadata bits the table can match.
    pub metadata_match: u64,
    /// Metadata bits `write_metadata` can write.
    pub metadata_write: u64,
    /// `OFPTC_*` config bits.
    pub config: u32,
    /// Most rules it holds.
    pub max_entries: u32,
    /// What rules may do (the `OFPTFPT_*` properties without `_MISS`).
    pub features: TableFeatureSet,
    /// What the table-miss rule may do, when it differs (the `_MISS` properties; `None`:
    /// not sent, meaning the same as `features`).
    pub miss: Option<TableFeatureSet>,
    /// OXM headers of the fields the table can match (`OFPTFPT_MATCH`).
    pub match_: Vec<u32>,
    /// OXM headers of the fields it can wildcard (`OFPTFPT_WILDCARDS`).
    pub wildcards: Vec<u32>,
}

/// The properties of [`TableFeatures`] that come in a regular and a `_MISS` flavour.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct TableFeatureSet {
    /// Instruction types (`OFPIT_*`).
    pub instructions: Vec<u16>,
    /// Tables `goto_table` may go to.
    pub next_tables: Vec<u8>,
    /// Action types `write_actions` may hold (`OFPAT_*`).
    pub write_actions: Vec<u16>,
    /// Action types `apply_actions` may hold.
    pub apply_actions: Vec<u16>,
    /// OXM headers of fields `set_field` may set in `write_actions`.
    pub write_setfield: Vec<u32>,
    /// OXM headers of fields `set_field` may set in `apply_actions`.
    pub apply_setfield: Vec<u32>,
}

/// Decodes one whole message (exactly [`Header::length`] bytes, as [`frame_len`] told)
/// with default [`DecodeOptions`].
///
/// # Errors
///
/// A [`DecodeError`] with the error to send back (see the module docs).
pub fn decode(buf: &[u8]) -> Result<(Header, Msg), DecodeError> {
    decode_with(buf, DecodeOptions::default())
}

/// Decodes one whole message, as [`decode`], with `opts`.
///
/// # Errors
///
/// As [`decode`].
pub fn decode_with(buf: &[u8], opts: DecodeOptions) -> Result<(Header, Msg), DecodeError> {
    let Some(h) = Header::parse(buf) else {
        return Err(DecodeError {
            version: buf.first().copied().unwrap_or(0),
            xid: 0,
            error: OfpError::BRC_BAD_LEN,
        });
    };
    let fail = |error| DecodeError {
        version: h.version,
        xid: h.xid,
        error,
    };
    if usize::from(h.length) != buf.len() || buf.len() < HEADER_LEN {
        return Err(fail(OfpError::BRC_BAD_LEN));
    }
    let body_bytes = &buf[HEADER_LEN..];
    let msg = body::decode_body(&h, body_bytes, opts).map_err(fail)?;
    Ok((h, msg))
}

/// Appends `msg` encoded in version `version` with transaction id `xid` to `out` (several
/// messages for a multipart reply over 64 KiB).
///
/// # Errors
///
/// An [`OfpError`] when the message cannot be expressed in `version` (a group-mod in 1.0,
/// a match 1.0 cannot express, a version other than 1.0 and 1.3 for anything but a hello)
/// or is too long; `out` is then as it was.
pub fn encode(version: Version, xid: u32, msg: &Msg, out: &mut Vec<u8>) -> Result<(), OfpError> {
    let start = out.len();
    let r = body::encode_msg(version, xid, msg, out);
    if r.is_err() {
        out.truncate(start);
    }
    r
}
