//! NXM and OXM match TLVs, and the OpenFlow 1.1+ `ofp_match` (type `OFPMT_OXM`) that wraps
//! them.
//!
//! # Format
//!
//! Each TLV is a 32-bit header, `class:16 field:7 hasmask:1 length:8`, then `length` bytes:
//! the value, followed by a mask of the same size when `hasmask` is set. NXM (Nicira
//! messages) uses classes `0x0000` (`NXM_OF_*`) and `0x0001` (`NXM_NX_*`); OXM (OpenFlow
//! 1.2+) adds the basic class `0x8000` (`OXM_OF_*`), the packet-register class `0x8001` and
//! experimenter TLVs (class `0xffff`, a 32-bit experimenter id before the value, as the ONF
//! `ONFOXM_ET_TCP_FLAGS` of OpenFlow 1.3). Both kinds of message accept every class, as
//! OVS does.
//!
//! # Decoding
//!
//! [`decode`] checks, as OVS does: each TLV's length, its field, its value
//! (`OFPBMC_BAD_VALUE`), its mask (`OFPBMC_BAD_MASK`, and `OFPBMC_BAD_WILDCARDS` for a
//! value with 1-bits the mask wildcards), duplicates (`OFPBMC_DUP_FIELD`), and at the end the
//! prerequisites of the whole match (`OFPBMC_BAD_PREREQ`), so TLVs may come in any order.
//!
//! # Encoding
//!
//! [`encode`] writes the fields in OVS's order (metadata, in_port, Ethernet, VLAN, L3, L4,
//! registers, `pkt_mark`, `metadata`), each only under the prerequisites the match
//! establishes, a full mask as an unmasked TLV: byte for byte what OVS sends for the same
//! match. An OpenFlow 1.2+ VLAN match becomes `vlan_vid` plus `vlan_pcp`, which cannot
//! express every `vlan_tci` mask; what they cannot express is left out, as OVS does.
//!
//! Nothing here panics on any input.
//!
//! ```
//! use ofproto::ofctl;
//! use ofproto::ofp::oxm;
//!
//! let (m, _) = ofctl::parse_match("tcp,in_port=1,tp_dst=80", None).unwrap();
//! let mut nxm = Vec::new();
//! oxm::encode(&m, false, &mut nxm);
//! assert_eq!(
//!     oxm::tlvs_to_string(&nxm).unwrap(),
//!     "NXM_OF_IN_PORT(0001), NXM_OF_ETH_TYPE(0800), NXM_OF_IP_PROTO(06), NXM_OF_TCP_DST(0050)"
//! );
//! assert_eq!(oxm::decode(&nxm), Ok(m));
//!
//! let mut ofp_match = Vec::new();
//! oxm::encode_ofp11_match(&m, &mut ofp_match);
//! assert_eq!(ofp_match.len(), 32); // 4-byte header, 25 bytes of TLVs, padding
//! assert_eq!(oxm::decode_ofp11_match(&ofp_match), Ok((m, 32)));
//! ```

use crate::error::OfpError;
use crate::fields::Field;
use crate::flow::OfpPort;
use crate::matching::Match;

use super::port;

/// The `NXM_OF_*` class.
pub const NXM_OF: u16 = 0x0000;
/// The `NXM_NX_*` class.
pub const NXM_NX: u16 = 0x0001;
/// The OXM basic class (`OFPXMC_OPENFLOW_BASIC`).
pub const OXM_BASIC: u16 = 0x8000;
/// The OXM packet-register class (`OFPXMC_PACKET_REGS`, OpenFlow 1.5).
pub const OXM_PACKET_REGS: u16 = 0x8001;
/// The OXM experimenter class (`OFPXMC_EXPERIMENTER`).
pub const OXM_EXPERIMENTER: u16 = 0xffff;
/// The ONF experimenter id (`ONF_EXPERIMENTER_ID`).
pub const ONF_EXPERIMENTER_ID: u32 = 0x4f4e_4600;
/// `OFPMT_OXM`, the type of an OpenFlow 1.2+ `ofp_match`.
pub const OFPMT_OXM: u16 = 1;
/// `OFPMT_STANDARD`, the fixed OpenFlow 1.1 `ofp_match` (not supported).
pub const OFPMT_STANDARD: u16 = 0;

impl OfpError {
    /// `OFPET_BAD_MATCH` / `OFPBMC_BAD_TYPE`.
    pub const BMC_BAD_TYPE: OfpError = OfpError {
        type_: 4,
        code: 0,
        name: "OFPBMC_BAD_TYPE",
    };
    /// `OFPET_BAD_MATCH` / `OFPBMC_BAD_LEN`.
    pub const BMC_BAD_LEN: OfpError = OfpError {
        type_: 4,
        code: 1,
        name: "OFPBMC_BAD_LEN",
    };
    /// `OFPET_BAD_MATCH` / `OFPBMC_BAD_WILDCARDS`.
    pub const BMC_BAD_WILDCARDS: OfpError = OfpError {
        type_: 4,
        code: 5,
        name: "OFPBMC_BAD_WILDCARDS",
    };
    /// `OFPET_BAD_MATCH` / `OFPBMC_BAD_FIELD`.
    pub const BMC_BAD_FIELD: OfpError = OfpError {
        type_: 4,
        code: 6,
        name: "OFPBMC_BAD_FIELD",
    };
    /// `OFPET_BAD_MATCH` / `OFPBMC_DUP_FIELD`.
    pub const BMC_DUP_FIELD: OfpError = OfpError {
        type_: 4,
        code: 10,
        name: "OFPBMC_DUP_FIELD",
    };
}

/// The wire code of a field: class, field number and value length in bytes (for an
/// experimenter TLV, the experimenter id is not counted).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Code {
    /// The class (`NXM_OF`, `NXM_NX`, `OXM_BASIC`, ...).
    pub class: u16,
    /// The 7-bit field number.
    pub field: u8,
    /// The value's length in bytes.
    pub len: u8,
    /// The experimenter id of an experimenter TLV (class `0xffff`).
    pub experimenter: Option<u32>,
}

const fn c(class: u16, field: u8, len: u8) -> Option<Code> {
    Some(Code {
        class,
        field,
        len,
        experimenter: None,
    })
}

impl Code {
    /// The 32-bit header of this code, with `hasmask` and the matching length.
    pub fn header(self, masked: bool) -> u32 {
        let exp = if self.experimenter.is_some() { 4 } else { 0 };
        let len = u32::from(self.len) * if masked { 2 } else { 1 } + exp;
        u32::from(self.class) << 16
            | u32::from(self.field) << 9
            | u32::from(masked) << 8
            | (len & 0xff)
    }
}

/// The NXM code of `f` (classes `0x0000`/`0x0001`), if it has one.
pub fn nxm_code(f: Field) -> Option<Code> {
    match f {
        Field::InPort => c(NXM_OF, 0, 2),
        Field::EthDst => c(NXM_OF, 1, 6),
        Field::EthSrc => c(NXM_OF, 2, 6),
        Field::EthType => c(NXM_OF, 3, 2),
        Field::VlanTci => c(NXM_OF, 4, 2),
        Field::NwTos => c(NXM_OF, 5, 1),
        Field::IpProto => c(NXM_OF, 6, 1),
        Field::Ipv4Src => c(NXM_OF, 7, 4),
        Field::Ipv4Dst => c(NXM_OF, 8, 4),
        Field::TcpSrc => c(NXM_OF, 9, 2),
        Field::TcpDst => c(NXM_OF, 10, 2),
        Field::UdpSrc => c(NXM_OF, 11, 2),
        Field::UdpDst => c(NXM_OF, 12, 2),
        Field::IcmpType => c(NXM_OF, 13, 1),
        Field::IcmpCode => c(NXM_OF, 14, 1),
        Field::ArpOp => c(NXM_OF, 15, 2),
        Field::ArpSpa => c(NXM_OF, 16, 4),
        Field::ArpTpa => c(NXM_OF, 17, 4),
        Field::Reg(i) if i < 16 => c(NXM_NX, i, 4),
        Field::ArpSha => c(NXM_NX, 17, 6),
        Field::ArpTha => c(NXM_NX, 18, 6),
        Field::Ipv6Src => c(NXM_NX, 19, 16),
        Field::Ipv6Dst => c(NXM_NX, 20, 16),
        Field::Icmpv6Type => c(NXM_NX, 21, 1),
        Field::Icmpv6Code => c(NXM_NX, 22, 1),
        Field::NdTarget => c(NXM_NX, 23, 16),
        Field::NdSll => c(NXM_NX, 24, 6),
        Field::NdTll => c(NXM_NX, 25, 6),
        Field::IpFrag => c(NXM_NX, 26, 1),
        Field::Ipv6Label => c(NXM_NX, 27, 4),
        Field::IpEcn => c(NXM_NX, 28, 1),
        Field::IpTtl => c(NXM_NX, 29, 1),
        Field::PktMark => c(NXM_NX, 33, 4),
        Field::TcpFlags => c(NXM_NX, 34, 2),
        Field::DpHash => c(NXM_NX, 35, 4),
        Field::RecircId => c(NXM_NX, 36, 4),
        Field::Xxreg(i) if i < 4 => c(NXM_NX, 111 + i, 16),
        _ => None,
    }
}

/// The OXM code of `f` (basic class, packet registers, or the ONF experimenter for
/// `tcp_flags` as OpenFlow 1.3 has it), if it has one.
pub fn oxm_code(f: Field) -> Option<Code> {
    match f {
        Field::InPortOxm => c(OXM_BASIC, 0, 4),
        Field::Metadata => c(OXM_BASIC, 2, 8),
        Field::EthDst => c(OXM_BASIC, 3, 6),
        Field::EthSrc => c(OXM_BASIC, 4, 6),
        Field::EthType => c(OXM_BASIC, 5, 2),
        Field::VlanVid => c(OXM_BASIC, 6, 2),
        Field::VlanPcp => c(OXM_BASIC, 7, 1),
        Field::IpDscp => c(OXM_BASIC, 8, 1),
        Field::IpEcn => c(OXM_BASIC, 9, 1),
        Field::IpProto => c(OXM_BASIC, 10, 1),
        Field::Ipv4Src => c(OXM_BASIC, 11, 4),
        Field::Ipv4Dst => c(OXM_BASIC, 12, 4),
        Field::TcpSrc => c(OXM_BASIC, 13, 2),
        Field::TcpDst => c(OXM_BASIC, 14, 2),
        Field::UdpSrc => c(OXM_BASIC, 15, 2),
        Field::UdpDst => c(OXM_BASIC, 16, 2),
        Field::SctpSrc => c(OXM_BASIC, 17, 2),
        Field::SctpDst => c(OXM_BASIC, 18, 2),
        Field::IcmpType => c(OXM_BASIC, 19, 1),
        Field::IcmpCode => c(OXM_BASIC, 20, 1),
        Field::ArpOp => c(OXM_BASIC, 21, 2),
        Field::ArpSpa => c(OXM_BASIC, 22, 4),
        Field::ArpTpa => c(OXM_BASIC, 23, 4),
        Field::ArpSha => c(OXM_BASIC, 24, 6),
        Field::ArpTha => c(OXM_BASIC, 25, 6),
        Field::Ipv6Src => c(OXM_BASIC, 26, 16),
        Field::Ipv6Dst => c(OXM_BASIC, 27, 16),
        Field::Ipv6Label => c(OXM_BASIC, 28, 4),
        Field::Icmpv6Type => c(OXM_BASIC, 29, 1),
        Field::Icmpv6Code => c(OXM_BASIC, 30, 1),
        Field::NdTarget => c(OXM_BASIC, 31, 16),
        Field::NdSll => c(OXM_BASIC, 32, 6),
        Field::NdTll => c(OXM_BASIC, 33, 6),
        Field::TcpFlags => Some(Code {
            class: OXM_EXPERIMENTER,
            field: 42,
            len: 2,
            experimenter: Some(ONF_EXPERIMENTER_ID),
        }),
        Field::Xreg(i) if i < 8 => c(OXM_PACKET_REGS, i, 8),
        _ => None,
    }
}

/// The code `f` is written with: in OXM mode the OXM code where the field has one, else the
/// NXM code; in NXM mode the other way round (NXM messages accept OXM codes).
pub fn code_for(f: Field, oxm: bool) -> Option<Code> {
    if oxm {
        oxm_code(f).or_else(|| nxm_code(f))
    } else {
        nxm_code(f).or_else(|| oxm_code(f))
    }
}

/// The field a TLV header names, with its code.
fn field_of(class: u16, field: u8, experimenter: Option<u32>) -> Option<(Field, Code)> {
    Field::all().find_map(|f| {
        [nxm_code(f), oxm_code(f)]
            .into_iter()
            .flatten()
            .find(|k| k.class == class && k.field == field && k.experimenter == experimenter)
            .map(|k| (f, k))
    })
}

fn be_value(b: &[u8]) -> u128 {
    b.iter().fold(0u128, |acc, &x| (acc << 8) | u128::from(x))
}

fn put_be(out: &mut Vec<u8>, v: u128, len: usize) {
    let bytes = v.to_be_bytes();
    out.extend_from_slice(&bytes[16usize.saturating_sub(len)..]);
}

/// One parsed TLV, before its value is checked against the field.
struct RawTlv {
    field: Field,
    value: u128,
    mask: Option<u128>,
    consumed: usize,
}

/// Why a TLV does not parse; each context reports these differently.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TlvError {
    /// The TLV runs past the end of its buffer.
    Truncated,
    /// No field has this class and field number.
    Unknown,
    /// A known field with a length that does not fit it.
    WrongLen,
}

impl TlvError {
    /// The error of a match TLV, as OVS reports it (a known field with the wrong length is
    /// an unknown header to OVS, `OFPBMC_BAD_FIELD`).
    fn in_match(self) -> OfpError {
        match self {
            TlvError::Truncated => OfpError::BMC_BAD_LEN,
            TlvError::Unknown | TlvError::WrongLen => OfpError::BMC_BAD_FIELD,
        }
    }
}

fn parse_tlv(b: &[u8]) -> Result<RawTlv, TlvError> {
    let h = b.get(..4).ok_or(TlvError::Truncated)?;
    let header = u32::from_be_bytes([h[0], h[1], h[2], h[3]]);
    let class = u16::try_from(header >> 16).unwrap_or_default();
    let fno = u8::try_from((header >> 9) & 0x7f).unwrap_or_default();
    let masked = header & 0x100 != 0;
    let len = usize::from(u8::try_from(header & 0xff).unwrap_or_default());
    let body = b.get(4..4 + len).ok_or(TlvError::Truncated)?;
    let (experimenter, payload) = if class == OXM_EXPERIMENTER {
        let e = body.get(..4).ok_or(TlvError::WrongLen)?;
        (
            Some(u32::from_be_bytes([e[0], e[1], e[2], e[3]])),
            &body[4..],
        )
    } else {
        (None, body)
    };
    let (field, code) = field_of(class, fno, experimenter).ok_or(TlvError::Unknown)?;
    let vlen = usize::from(code.len);
    if payload.len() != vlen * if masked { 2 } else { 1 } {
        return Err(TlvError::WrongLen);
    }
    let value = be_value(&payload[..vlen]);
    let mask = masked.then(|| be_value(&payload[vlen..]));
    Ok(RawTlv {
        field,
        value,
        mask,
        consumed: 4 + len,
    })
}

/// Converts a wire value of `field` to the value [`Field`] uses, checking it.
fn value_from_wire(field: Field, v: u128) -> Result<u128, OfpError> {
    let v = if field == Field::InPortOxm {
        let p = u32::try_from(v).map_err(|_| OfpError::BMC_BAD_VALUE)?;
        u128::from(port::from_of11(p).map_err(|_| OfpError::BMC_BAD_VALUE)?.0)
    } else {
        v
    };
    if v & !field.valid_bits() != 0 {
        return Err(OfpError::BMC_BAD_VALUE);
    }
    Ok(v)
}

/// Converts a [`Field`] value to its wire value.
fn value_to_wire(field: Field, v: u128) -> u128 {
    match field {
        Field::InPortOxm => {
            u128::from(port::to_of11(OfpPort(u32::try_from(v).unwrap_or(u32::MAX))))
        }
        Field::InPort => u128::from(port::to_of10(OfpPort(u32::try_from(v).unwrap_or(u32::MAX)))),
        _ => v,
    }
}

/// The mask of every bit of `field`'s value (`n_bits` ones).
fn field_ones(field: Field) -> u128 {
    let n = field.n_bits();
    if n >= 128 {
        u128::MAX
    } else {
        (1u128 << n) - 1
    }
}

/// Decodes one TLV and checks its value and mask against the field.
fn decode_checked(b: &[u8]) -> Result<(Field, u128, Option<u128>, usize), OfpError> {
    let t = parse_tlv(b).map_err(TlvError::in_match)?;
    checked(t)
}

fn checked(t: RawTlv) -> Result<(Field, u128, Option<u128>, usize), OfpError> {
    let info = t.field.info();
    let value = value_from_wire(t.field, t.value)?;
    let mask = match t.mask {
        None => None,
        Some(m) => {
            // A field that cannot be masked takes a mask of all ones or all zeros.
            let ones = field_ones(t.field);
            if !info.maskable && m & ones != ones && m & ones != 0 {
                return Err(OfpError::BMC_BAD_MASK);
            }
            if t.value & !m != 0 {
                return Err(OfpError::BMC_BAD_WILDCARDS);
            }
            Some(m & field_ones(t.field))
        }
    };
    Ok((t.field, value, mask, t.consumed))
}

/// Decodes one TLV, as a `set_field` action carries it: the field, its value, the mask (the
/// field's [`Field::valid_bits`] when the TLV is not masked) and the bytes consumed.
///
/// # Errors
///
/// `OFPBMC_BAD_LEN` for a truncated TLV, `OFPBMC_BAD_FIELD` for an unknown field or a
/// length that does not fit the field (as OVS reports both), `OFPBMC_BAD_VALUE`,
/// `OFPBMC_BAD_MASK` (a partial mask on a field that cannot be masked) and
/// `OFPBMC_BAD_WILDCARDS` (value bits outside the mask).
pub fn decode_field(b: &[u8]) -> Result<(Field, u128, u128, usize), OfpError> {
    let (field, value, mask, n) = decode_checked(b)?;
    Ok((field, value, mask.unwrap_or_else(|| field.valid_bits()), n))
}

/// One decoded TLV: field, value, mask, bytes consumed.
pub(crate) type FieldTlv = (Field, u128, u128, usize);

/// [`decode_field`] for a `set_field` action: framing errors are returned as they are, for
/// the caller to report as action errors.
pub(crate) fn decode_set_field_tlv(b: &[u8]) -> Result<Result<FieldTlv, OfpError>, TlvError> {
    let t = parse_tlv(b)?;
    Ok(checked(t).map(|(f, v, m, n)| (f, v, m.unwrap_or_else(|| f.valid_bits()), n)))
}

/// Encodes one TLV of `field` (the value as [`Field`] holds it; `mask` `None`, or covering
/// the whole field, for an unmasked TLV), with the code [`code_for`] picks.
///
/// # Errors
///
/// `OFPBMC_BAD_FIELD` if the field has no NXM or OXM code (`dl_vlan`, `skb_priority`).
pub fn encode_field(
    field: Field,
    value: u128,
    mask: Option<u128>,
    oxm: bool,
    out: &mut Vec<u8>,
) -> Result<(), OfpError> {
    let code = code_for(field, oxm).ok_or(OfpError::BMC_BAD_FIELD)?;
    let full = field_ones(field);
    let mask = mask
        .map(|m| m & full)
        .filter(|m| *m != full && *m & field.valid_bits() != field.valid_bits());
    put(out, field, code, value, mask);
    Ok(())
}

fn put(out: &mut Vec<u8>, field: Field, code: Code, value: u128, mask: Option<u128>) {
    let len = usize::from(code.len);
    out.extend_from_slice(&code.header(mask.is_some()).to_be_bytes());
    if let Some(e) = code.experimenter {
        out.extend_from_slice(&e.to_be_bytes());
    }
    let wire = value_to_wire(field, value);
    match mask {
        Some(m) => {
            put_be(out, wire & m, len);
            put_be(out, m, len);
        }
        None => put_be(out, wire, len),
    }
}

/// Decodes bare NXM/OXM TLVs (any classes, mixed) into a match.
///
/// # Errors
///
/// The errors of [`decode_field`], `OFPBMC_DUP_FIELD` for a field given twice (or two views
/// of the same bits, such as `NXM_OF_IN_PORT` and `OXM_OF_IN_PORT`), and
/// `OFPBMC_BAD_PREREQ` for a field whose prerequisites the match does not establish.
pub fn decode(b: &[u8]) -> Result<Match, OfpError> {
    let mut m = Match::catchall();
    let mut seen = Vec::new();
    let mut rest = b;
    while !rest.is_empty() {
        let (field, value, mask, n) = decode_checked(rest)?;
        if field.get_mask(m.mask()) != 0 {
            return Err(OfpError::BMC_DUP_FIELD);
        }
        m.set_masked(field, value, mask.unwrap_or(u128::MAX))
            .map_err(|e| e.ofp_error().unwrap_or(OfpError::BMC_BAD_VALUE))?;
        seen.push(field);
        rest = rest.get(n..).unwrap_or_default();
    }
    // Prerequisites hold of the whole match, whatever the order of the TLVs.
    if seen.iter().any(|f| !f.prereqs_ok(m.flow(), None)) {
        return Err(OfpError::BMC_BAD_PREREQ);
    }
    m.check_prereqs().map_err(|_| OfpError::BMC_BAD_PREREQ)?;
    Ok(m)
}

/// Encodes `m` as bare TLVs (no padding) and returns the bytes written. With `oxm`, fields
/// use the OXM basic class where they have one (OpenFlow 1.2+); without, NXM classes
/// (Nicira messages). See the module docs for the order.
pub fn encode(m: &Match, oxm: bool, out: &mut Vec<u8>) -> usize {
    let start = out.len();
    let mut w = Writer { m, oxm, out };
    let f = *m.flow();
    w.field(Field::DpHash);
    w.field(Field::RecircId);
    w.field(if oxm { Field::InPortOxm } else { Field::InPort });
    w.field(Field::EthSrc);
    w.field(Field::EthDst);
    w.field(Field::EthType);
    if oxm {
        w.oxm_vlan();
    } else {
        w.field(Field::VlanTci);
    }
    let dl_type = f.dl_type();
    if dl_type == 0x0800 || dl_type == 0x86dd {
        if dl_type == 0x0800 {
            w.field(Field::Ipv4Src);
            w.field(Field::Ipv4Dst);
        } else {
            w.field(Field::Ipv6Src);
            w.field(Field::Ipv6Dst);
        }
        w.field(Field::IpFrag);
        w.field(if oxm { Field::IpDscp } else { Field::NwTos });
        w.field(Field::IpEcn);
        w.field(Field::IpTtl);
        if dl_type == 0x86dd {
            w.field(Field::Ipv6Label);
        }
        if m.mask().nw_proto() != 0 {
            w.field(Field::IpProto);
            match (dl_type, f.nw_proto()) {
                (_, 6) => {
                    w.field(Field::TcpSrc);
                    w.field(Field::TcpDst);
                    w.field(Field::TcpFlags);
                }
                (_, 17) => {
                    w.field(Field::UdpSrc);
                    w.field(Field::UdpDst);
                }
                (_, 132) => {
                    w.field(Field::SctpSrc);
                    w.field(Field::SctpDst);
                }
                (0x0800, 1) => {
                    w.field(Field::IcmpType);
                    w.field(Field::IcmpCode);
                }
                (0x86dd, 58) => {
                    w.field(Field::Icmpv6Type);
                    w.field(Field::Icmpv6Code);
                    let t = f.tp_src();
                    if (t == 135 || t == 136) && f.tp_dst() == 0 {
                        w.field(Field::NdTarget);
                        w.field(if t == 135 { Field::NdSll } else { Field::NdTll });
                    }
                }
                _ => {}
            }
        }
    } else if f.is_arp() {
        w.field(Field::ArpOp);
        w.field(Field::ArpSpa);
        w.field(Field::ArpTpa);
        w.field(Field::ArpSha);
        w.field(Field::ArpTha);
    }
    for i in 0..16 {
        w.field(Field::Reg(i));
    }
    w.field(Field::PktMark);
    w.field(Field::Metadata);
    out.len() - start
}

struct Writer<'a> {
    m: &'a Match,
    oxm: bool,
    out: &'a mut Vec<u8>,
}

impl Writer<'_> {
    /// Writes `field` if the match looks at it: unmasked when it looks at every bit.
    fn field(&mut self, field: Field) {
        let (value, mask) = self.m.get(field);
        let valid = field.valid_bits();
        if mask & valid == 0 {
            return;
        }
        let Some(code) = code_for(field, self.oxm) else {
            return;
        };
        let masked = field.info().maskable && mask & valid != valid;
        put(
            self.out,
            field,
            code,
            value & valid,
            masked.then_some(mask & valid),
        );
    }

    /// The VLAN match as OpenFlow 1.2+ writes it: `vlan_vid` (with its "present" bit), then
    /// `vlan_pcp` when the match requires a tag and looks at the priority.
    fn oxm_vlan(&mut self) {
        let (vid, vid_mask) = self.m.get(Field::VlanVid);
        if vid_mask != 0 {
            self.field(Field::VlanVid);
        }
        let (_, pcp_mask) = self.m.get(Field::VlanPcp);
        if vid != 0
            && pcp_mask != 0
            && let Some(code) = oxm_code(Field::VlanPcp)
        {
            let (pcp, _) = self.m.get(Field::VlanPcp);
            put(self.out, Field::VlanPcp, code, pcp, None);
        }
    }
}

/// Decodes an OpenFlow 1.1+ `ofp_match` of type `OFPMT_OXM`: `type:16 length:16`, the TLVs
/// (`length` counts the 4-byte header but not the padding), then zeros to a multiple of 8.
/// Returns the match and the bytes consumed, padding included.
///
/// # Errors
///
/// `OFPBMC_BAD_TYPE` for another match type, `OFPBMC_BAD_LEN` for a length that does not fit
/// `b` (padding included), and the errors of [`decode`].
pub fn decode_ofp11_match(b: &[u8]) -> Result<(Match, usize), OfpError> {
    let h = b.get(..4).ok_or(OfpError::BMC_BAD_LEN)?;
    let typ = u16::from_be_bytes([h[0], h[1]]);
    let len = usize::from(u16::from_be_bytes([h[2], h[3]]));
    if typ != OFPMT_OXM {
        return Err(OfpError::BMC_BAD_TYPE);
    }
    if len < 4 {
        return Err(OfpError::BMC_BAD_LEN);
    }
    let padded = len.div_ceil(8) * 8;
    let all = b.get(..padded).ok_or(OfpError::BMC_BAD_LEN)?;
    let m = decode(&all[4..len])?;
    Ok((m, padded))
}

/// Encodes `m` as an OpenFlow 1.1+ `ofp_match` of type `OFPMT_OXM`, padded with zeros to a
/// multiple of 8 bytes.
pub fn encode_ofp11_match(m: &Match, out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(&OFPMT_OXM.to_be_bytes());
    out.extend_from_slice(&[0, 0]);
    let n = encode(m, true, out);
    // The TLVs of one match are at most a few hundred bytes (every field once).
    let len = u16::try_from(4 + n).unwrap_or(u16::MAX);
    out[start + 2..start + 4].copy_from_slice(&len.to_be_bytes());
    let pad = (8 - (out.len() - start) % 8) % 8;
    out.resize(out.len() + pad, 0);
}

/// Whether `m` can be written as OXM without loss: OpenFlow 1.2+ matches the VLAN priority
/// only exactly and only together with a tag, where `vlan_tci` can match any bits.
pub fn oxm_can_express(m: &Match) -> bool {
    let (tci, mask) = m.get(Field::VlanTci);
    let pcp_mask = mask & 0xe000;
    pcp_mask == 0 || (pcp_mask == 0xe000 && tci & mask & 0x1000 != 0)
}

/// The name OVS gives `code` of `field` in text (`NXM_OF_ETH_SRC`, `OXM_OF_ETH_SRC`).
fn code_name(field: Field, code: Code) -> &'static str {
    let i = field.info();
    if nxm_code(field) == Some(code) {
        i.nxm.unwrap_or(i.name)
    } else {
        i.oxm.or(i.nxm).unwrap_or(i.name)
    }
}

/// Writes bare TLVs in OVS's text form (`nx_match_to_string`): `NAME(value)` or
/// `NAME_W(value/mask)` with the wire bytes in hex, separated by `", "`; `<any>` for none.
///
/// # Errors
///
/// The errors of [`decode_field`] for a TLV that does not parse (values are not checked).
pub fn tlvs_to_string(b: &[u8]) -> Result<String, OfpError> {
    use std::fmt::Write as _;
    let mut s = String::new();
    let mut rest = b;
    while !rest.is_empty() {
        let t = parse_tlv(rest).map_err(TlvError::in_match)?;
        let code = code_of_header(rest).ok_or(OfpError::BMC_BAD_FIELD)?;
        let len = usize::from(code.len);
        let hex = |v: u128| {
            let bytes = v.to_be_bytes();
            bytes[16 - len..].iter().fold(String::new(), |mut acc, x| {
                let _ = write!(acc, "{x:02x}");
                acc
            })
        };
        if !s.is_empty() {
            s.push_str(", ");
        }
        s.push_str(code_name(t.field, code));
        match t.mask {
            Some(m) => {
                let _ = write!(s, "_W({}/{})", hex(t.value), hex(m));
            }
            None => {
                let _ = write!(s, "({})", hex(t.value));
            }
        }
        rest = rest.get(t.consumed..).unwrap_or_default();
    }
    if s.is_empty() {
        s.push_str("<any>");
    }
    Ok(s)
}

/// The code of the TLV at the start of `b` (its field already known to exist).
fn code_of_header(b: &[u8]) -> Option<Code> {
    let h = b.get(..4)?;
    let class = u16::from_be_bytes([h[0], h[1]]);
    let fno = (h[2] >> 1) & 0x7f;
    let exp = if class == OXM_EXPERIMENTER {
        let e = b.get(4..8)?;
        Some(u32::from_be_bytes([e[0], e[1], e[2], e[3]]))
    } else {
        None
    };
    field_of(class, fno, exp).map(|(_, k)| k)
}

/// Parses OVS's text form of bare TLVs (see [`tlvs_to_string`]) back to bytes; `None` if a
/// name is unknown or a value is not hex of the field's size.
pub fn tlvs_from_string(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let s = s.trim();
    if s == "<any>" || s.is_empty() {
        return Some(out);
    }
    for item in s.split(", ") {
        let (name, rest) = item.trim().split_once('(')?;
        let body = rest.strip_suffix(')')?;
        let (name, masked) = match name.strip_suffix("_W") {
            Some(n) => (n, true),
            None => (name, false),
        };
        let field = Field::from_name(name)?;
        let code = if name.starts_with("OXM_OF_") || name.starts_with("ONFOXM_") {
            oxm_code(field)?
        } else {
            nxm_code(field)?
        };
        let parse = |h: &str| -> Option<Vec<u8>> {
            if h.len() != usize::from(code.len) * 2 {
                return None;
            }
            (0..h.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(h.get(i..i + 2)?, 16).ok())
                .collect()
        };
        out.extend_from_slice(&code.header(masked).to_be_bytes());
        if let Some(e) = code.experimenter {
            out.extend_from_slice(&e.to_be_bytes());
        }
        if masked {
            let (v, m) = body.split_once('/')?;
            out.extend(parse(v)?);
            out.extend(parse(m)?);
        } else {
            out.extend(parse(body)?);
        }
    }
    Some(out)
}

#[cfg(test)]
pub(crate) mod strategy;
#[cfg(test)]
mod tests;
