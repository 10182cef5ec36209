//! The userdata of the `userspace` datapath actions that translation emits (OVS's `struct
//! user_action_cookie`): what an action upcall is for, and its text in dump-flows
//! (`controller(reason=6,dont_send=0,...)`).
//!
//! Layout (big-endian), 32 bytes and then the `controller` action's own userdata:
//!
//! ```text
//! 0      type (1 = controller)
//! 1      reason (OVS's packet-in reason number)
//! 2      dont_send
//! 3      continuation
//! 4..8   recirc_id
//! 8..16  rule_cookie (u64::MAX: no rule, a table miss)
//! 16..18 controller_id
//! 18..20 max_len
//! 20     table_id
//! 21..24 reserved (0)
//! 24..28 bridge id (which bridge of the datapath sends the packet-in)
//! 28..32 in_port (OpenFlow) when sent
//! 32..   userdata of controller(userdata=...)
//! ```
//!
//! OVS keeps the table, bridge and metadata in a frozen state named by `recirc_id`; the
//! cookie carries them itself, so a packet-in needs no lookup besides the bridge.

use crate::actions::PacketInReason;

const TYPE_CONTROLLER: u8 = 1;
const LEN: usize = 32;

/// The cookie of a `userspace` action that sends a packet to the OpenFlow controllers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ControllerCookie {
    /// Why (OVS's `ofp_packet_in_reason` numbering: 0 no_match, 1 action, 2 invalid_ttl,
    /// 3 action_set, 4 group, 5 packet_out, 6 explicit miss, 7 implicit miss).
    pub reason: u8,
    /// The packet-in is not to be sent (only counted).
    pub dont_send: bool,
    /// The packet-in carries a continuation.
    pub continuation: bool,
    /// Recirculation id of a continuation (0: none).
    pub recirc_id: u32,
    /// The cookie of the rule that sent it.
    pub rule_cookie: u64,
    /// The controller connection to send to (0: all).
    pub controller_id: u16,
    /// Bytes of the packet to send.
    pub max_len: u16,
    /// The table of the rule that sent it (the table that missed, for a miss).
    pub table_id: u8,
    /// The bridge that sends it (a number unique within the datapath).
    pub bridge_id: u32,
    /// The OpenFlow in_port of the packet when it was sent.
    pub in_port: u32,
}

/// The packet-in reason of OVS's number `n` (see [`reason_number`]).
pub fn reason_from_number(n: u8) -> Option<PacketInReason> {
    Some(match n {
        0 => PacketInReason::NoMatch,
        1 => PacketInReason::Action,
        2 => PacketInReason::InvalidTtl,
        3 => PacketInReason::ActionSet,
        4 => PacketInReason::Group,
        5 => PacketInReason::PacketOut,
        6 => PacketInReason::ExplicitMiss,
        7 => PacketInReason::ImplicitMiss,
        _ => return None,
    })
}

/// OVS's number for a packet-in reason.
pub fn reason_number(r: PacketInReason) -> u8 {
    match r {
        PacketInReason::NoMatch => 0,
        PacketInReason::Action => 1,
        PacketInReason::InvalidTtl => 2,
        PacketInReason::ActionSet => 3,
        PacketInReason::Group => 4,
        PacketInReason::PacketOut => 5,
        PacketInReason::ExplicitMiss => 6,
        PacketInReason::ImplicitMiss => 7,
    }
}

impl ControllerCookie {
    /// The userdata bytes, with `userdata` (the `controller` action's own) at the end.
    pub fn encode(&self, userdata: &[u8]) -> Vec<u8> {
        let mut b = Vec::with_capacity(LEN + userdata.len());
        b.push(TYPE_CONTROLLER);
        b.push(self.reason);
        b.push(u8::from(self.dont_send));
        b.push(u8::from(self.continuation));
        b.extend_from_slice(&self.recirc_id.to_be_bytes());
        b.extend_from_slice(&self.rule_cookie.to_be_bytes());
        b.extend_from_slice(&self.controller_id.to_be_bytes());
        b.extend_from_slice(&self.max_len.to_be_bytes());
        b.extend_from_slice(&[self.table_id, 0, 0, 0]);
        b.extend_from_slice(&self.bridge_id.to_be_bytes());
        b.extend_from_slice(&self.in_port.to_be_bytes());
        b.extend_from_slice(userdata);
        b
    }

    /// Decodes userdata made by [`ControllerCookie::encode`]; `None` for anything else.
    pub fn decode(b: &[u8]) -> Option<ControllerCookie> {
        Self::decode_with_userdata(b).map(|(c, _)| c)
    }

    /// Decodes userdata made by [`ControllerCookie::encode`] into the cookie and the
    /// `controller` action's userdata; `None` for anything else.
    pub fn decode_with_userdata(b: &[u8]) -> Option<(ControllerCookie, &[u8])> {
        if b.len() < LEN || b[0] != TYPE_CONTROLLER {
            return None;
        }
        let u32_at = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let u16_at = |i: usize| u16::from_be_bytes([b[i], b[i + 1]]);
        let mut rc = [0u8; 8];
        rc.copy_from_slice(&b[8..16]);
        let c = ControllerCookie {
            reason: b[1],
            dont_send: b[2] != 0,
            continuation: b[3] != 0,
            recirc_id: u32_at(4),
            rule_cookie: u64::from_be_bytes(rc),
            controller_id: u16_at(16),
            max_len: u16_at(18),
            table_id: b[20],
            bridge_id: u32_at(24),
            in_port: u32_at(28),
        };
        Some((c, &b[LEN..]))
    }

    /// The text OVS prints inside `userspace(...)`:
    /// `controller(reason=1,dont_send=0,continuation=0,recirc_id=0,rule_cookie=0,controller_id=0,max_len=65535)`.
    pub fn to_text(&self) -> String {
        let rc = if self.rule_cookie == 0 {
            "0".to_owned()
        } else {
            format!("{:#x}", self.rule_cookie)
        };
        format!(
            "controller(reason={},dont_send={},continuation={},recirc_id={},rule_cookie={},controller_id={},max_len={})",
            self.reason,
            u8::from(self.dont_send),
            u8::from(self.continuation),
            self.recirc_id,
            rc,
            self.controller_id,
            self.max_len
        )
    }
}

/// The text of a `userspace` action's userdata when it is one of ours (for
/// [`dpif::odp::FormatOptions::userdata`]).
pub fn userdata_text(b: &[u8]) -> Option<String> {
    ControllerCookie::decode(b).map(|c| c.to_text())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn encode_decode_round_trip(
            reason in 0u8..8, dont_send: bool, continuation: bool, recirc_id: u32,
            rule_cookie: u64, controller_id: u16, max_len: u16, table_id: u8,
            bridge_id: u32, in_port: u32,
            userdata in proptest::collection::vec(any::<u8>(), 0..40),
        ) {
            let c = ControllerCookie {
                reason, dont_send, continuation, recirc_id, rule_cookie, controller_id,
                max_len, table_id, bridge_id, in_port,
            };
            let b = c.encode(&userdata);
            prop_assert_eq!(ControllerCookie::decode_with_userdata(&b), Some((c, &userdata[..])));
        }

        #[test]
        fn decode_never_panics(b in proptest::collection::vec(any::<u8>(), 0..64)) {
            let d = ControllerCookie::decode_with_userdata(&b);
            prop_assert_eq!(d.is_some(), b.len() >= 32 && b[0] == 1);
        }
    }

    #[test]
    fn round_trip_and_text() {
        let c = ControllerCookie {
            reason: 6,
            dont_send: false,
            continuation: false,
            recirc_id: 0,
            rule_cookie: 0,
            controller_id: 0,
            max_len: 65535,
            table_id: 3,
            bridge_id: 7,
            in_port: 0xfffe,
        };
        let b = c.encode(&[]);
        assert_eq!(b.len(), 32);
        assert_eq!(&b[20..32], &[3, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0xff, 0xfe]);
        assert_eq!(ControllerCookie::decode(&b), Some(c));
        let with = c.encode(b"hi");
        assert_eq!(
            ControllerCookie::decode_with_userdata(&with),
            Some((c, &b"hi"[..]))
        );
        for r in 0..=7 {
            assert_eq!(reason_from_number(r).map(reason_number), Some(r));
        }
        assert_eq!(reason_from_number(8), None);
        assert_eq!(
            c.to_text(),
            "controller(reason=6,dont_send=0,continuation=0,recirc_id=0,rule_cookie=0,controller_id=0,max_len=65535)"
        );
        assert_eq!(ControllerCookie::decode(&b[1..]), None);
        assert_eq!(userdata_text(&[9; 32]), None);
    }
}
