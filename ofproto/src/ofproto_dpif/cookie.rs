//! The userdata of the `userspace` datapath actions that translation emits (OVS's `struct
//! user_action_cookie`): what an action upcall is for, and its text in dump-flows
//! (`controller(reason=6,dont_send=0,...)`).
//!
//! Layout (big-endian), 22 bytes:
//!
//! ```text
//! 0      type (1 = controller)
//! 1      reason (OVS's packet-in reason number)
//! 2      dont_send
//! 3      continuation
//! 4..8   recirc_id
//! 8..16  rule_cookie
//! 16..18 controller_id
//! 18..20 max_len
//! 20..22 reserved (0)
//! ```

use crate::actions::PacketInReason;

const TYPE_CONTROLLER: u8 = 1;
const LEN: usize = 22;

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
    /// The userdata bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(LEN);
        b.push(TYPE_CONTROLLER);
        b.push(self.reason);
        b.push(u8::from(self.dont_send));
        b.push(u8::from(self.continuation));
        b.extend_from_slice(&self.recirc_id.to_be_bytes());
        b.extend_from_slice(&self.rule_cookie.to_be_bytes());
        b.extend_from_slice(&self.controller_id.to_be_bytes());
        b.extend_from_slice(&self.max_len.to_be_bytes());
        b.extend_from_slice(&[0, 0]);
        b
    }

    /// Decodes userdata made by [`ControllerCookie::encode`]; `None` for anything else.
    pub fn decode(b: &[u8]) -> Option<ControllerCookie> {
        if b.len() != LEN || b[0] != TYPE_CONTROLLER {
            return None;
        }
        let u16_at = |i: usize| u16::from_be_bytes([b[i], b[i + 1]]);
        let mut rc = [0u8; 8];
        rc.copy_from_slice(&b[8..16]);
        Some(ControllerCookie {
            reason: b[1],
            dont_send: b[2] != 0,
            continuation: b[3] != 0,
            recirc_id: u32::from_be_bytes([b[4], b[5], b[6], b[7]]),
            rule_cookie: u64::from_be_bytes(rc),
            controller_id: u16_at(16),
            max_len: u16_at(18),
        })
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
        };
        let b = c.encode();
        assert_eq!(b.len(), 22);
        assert_eq!(ControllerCookie::decode(&b), Some(c));
        assert_eq!(
            c.to_text(),
            "controller(reason=6,dont_send=0,continuation=0,recirc_id=0,rule_cookie=0,controller_id=0,max_len=65535)"
        );
        assert_eq!(ControllerCookie::decode(&b[1..]), None);
        assert_eq!(userdata_text(&[9; 22]), None);
    }
}
