//! Multipart (1.3) and stats (1.0) requests and replies, including Nicira's `NXST_FLOW`
//! and `NXST_AGGREGATE`, and the splitting of long replies.

use crate::error::OfpError;
use crate::group::{GroupDesc, GroupStats, GroupType};
use crate::matching::Match;
use crate::rule::FlowModFlags;
use crate::table::GROUP_ANY;

use super::super::{Version, actions, match10, oxm, port};
use super::body::{
    self, PORT10_LEN, PORT13_LEN, decode_buckets, decode_port, done, encode_buckets, encode_port,
    finish, start, t,
};
use super::wire::{Put, Rd, len16, pad8, patch_u16};
use super::{
    AggregateStats, FlowStats, FlowStatsRequest, HEADER_LEN, MAX_MSG_LEN, MultipartReply,
    MultipartReplyBody, MultipartRequest, NX_VENDOR_ID, PortStats, SwitchDesc, TableFeatureSet,
    TableFeatures, TableStats, errors,
};

/// `OFPMPF_REPLY_MORE` / `OFPSF_REPLY_MORE`.
const FLAG_MORE: u16 = 1;

/// Multipart types (`ofp_multipart_type`; 1.0 `ofp_stats_types` for the first six).
mod mp {
    pub const DESC: u16 = 0;
    pub const FLOW: u16 = 1;
    pub const AGGREGATE: u16 = 2;
    pub const TABLE: u16 = 3;
    pub const PORT_STATS: u16 = 4;
    pub const GROUP: u16 = 6;
    pub const GROUP_DESC: u16 = 7;
    pub const TABLE_FEATURES: u16 = 12;
    pub const PORT_DESC: u16 = 13;
    pub const VENDOR: u16 = 0xffff;
}

/// Nicira stats subtypes.
const NXST_FLOW: u32 = 0;
const NXST_AGGREGATE: u32 = 1;

/// Bytes between the header and the body: type, flags, (1.3) padding.
fn prefix_len(v: Version) -> usize {
    if v == Version::Of10 { 4 } else { 8 }
}

/// A multipart message's prefix: type, flags, Nicira subtype, and the body after them.
struct Prefix<'a> {
    type_: u16,
    flags: u16,
    subtype: Option<u32>,
    body: &'a [u8],
}

/// Reads the multipart prefix. For Nicira vendor stats the type is `VENDOR`, the subtype
/// is set and the body starts after the vendor header.
fn read_prefix(v: Version, b: &[u8]) -> Result<Prefix<'_>, OfpError> {
    let mut r = Rd::new(b);
    let type_ = r.u16()?;
    let flags = r.u16()?;
    if v != Version::Of10 {
        r.skip(4)?;
    }
    if type_ != mp::VENDOR {
        return Ok(Prefix {
            type_,
            flags,
            subtype: None,
            body: r.rest(),
        });
    }
    let vendor = r.u32()?;
    if vendor != NX_VENDOR_ID || v != Version::Of10 {
        // 1.3 experimenter multiparts: none supported (Nicira's included).
        return Err(if vendor == NX_VENDOR_ID {
            OfpError::BRC_BAD_SUBTYPE
        } else {
            OfpError::BRC_BAD_VENDOR
        });
    }
    let subtype = r.u32()?;
    r.skip(4)?;
    Ok(Prefix {
        type_,
        flags,
        subtype: Some(subtype),
        body: r.rest(),
    })
}

pub(crate) fn decode_request(v: Version, b: &[u8]) -> Result<MultipartRequest, OfpError> {
    let of10 = v == Version::Of10;
    let Prefix {
        type_,
        subtype: sub,
        body,
        ..
    } = read_prefix(v, b)?;
    let mut r = Rd::new(body);
    let req = match (type_, sub) {
        (mp::DESC, _) => MultipartRequest::Desc,
        (mp::FLOW, _) => MultipartRequest::Flow(decode_flow_request(v, &mut r)?),
        (mp::AGGREGATE, _) => MultipartRequest::Aggregate(decode_flow_request(v, &mut r)?),
        (mp::TABLE, _) => MultipartRequest::Table,
        (mp::PORT_STATS, _) => {
            let p = if of10 {
                let p = port::from_of10(r.u16()?);
                r.skip(6)?;
                p
            } else {
                let p = port::from_of11(r.u32()?).map_err(|_| OfpError::BRC_BAD_PORT)?;
                r.skip(4)?;
                p
            };
            MultipartRequest::PortStats(p)
        }
        (mp::PORT_DESC, _) => MultipartRequest::PortDesc,
        (mp::TABLE_FEATURES, _) if !of10 => {
            if !r.is_empty() {
                return Err(errors::TFFC_EPERM);
            }
            MultipartRequest::TableFeatures
        }
        (mp::GROUP, _) if !of10 => {
            let g = r.u32()?;
            r.skip(4)?;
            MultipartRequest::Group(g)
        }
        (mp::GROUP_DESC, _) if !of10 => MultipartRequest::GroupDesc,
        (mp::VENDOR, Some(NXST_FLOW)) => MultipartRequest::NxFlow(decode_nx_request(&mut r)?),
        (mp::VENDOR, Some(NXST_AGGREGATE)) => {
            MultipartRequest::NxAggregate(decode_nx_request(&mut r)?)
        }
        (mp::VENDOR, _) => return Err(OfpError::BRC_BAD_SUBTYPE),
        _ => return Err(OfpError::BRC_BAD_STAT),
    };
    done(&r)?;
    Ok(req)
}

fn decode_flow_request(v: Version, r: &mut Rd<'_>) -> Result<FlowStatsRequest, OfpError> {
    if v == Version::Of10 {
        let match_ = match10::decode(r.bytes(match10::MATCH10_LEN)?)?;
        let table_id = r.u8()?;
        r.skip(1)?;
        let out_port = port::from_of10(r.u16()?);
        Ok(FlowStatsRequest {
            table_id,
            out_port,
            out_group: GROUP_ANY,
            cookie: 0,
            cookie_mask: 0,
            match_,
        })
    } else {
        let table_id = r.u8()?;
        r.skip(3)?;
        let out_port = port::from_of11(r.u32()?)?;
        let out_group = r.u32()?;
        r.skip(4)?;
        let cookie = r.u64()?;
        let cookie_mask = r.u64()?;
        let rest = r.rest();
        let (match_, used) = oxm::decode_ofp11_match(rest)?;
        if used != rest.len() {
            return Err(OfpError::BRC_BAD_LEN);
        }
        Ok(FlowStatsRequest {
            table_id,
            out_port,
            out_group,
            cookie,
            cookie_mask,
            match_,
        })
    }
}

/// An NXM match of `match_len` bytes followed by padding to 8.
fn read_nxm(r: &mut Rd<'_>, match_len: usize) -> Result<Match, OfpError> {
    let m = oxm::decode(r.bytes(match_len)?)?;
    r.skip(pad8(match_len))?;
    Ok(m)
}

/// Appends `m` as NXM padded to 8; returns the unpadded length.
fn write_nxm(m: &Match, out: &mut Vec<u8>) -> Result<u16, OfpError> {
    let n = oxm::encode(m, false, out);
    out.zeros(pad8(n));
    u16::try_from(n).map_err(|_| OfpError::BRC_BAD_LEN)
}

fn decode_nx_request(r: &mut Rd<'_>) -> Result<FlowStatsRequest, OfpError> {
    let out_port = port::from_of10(r.u16()?);
    let match_len = usize::from(r.u16()?);
    let table_id = r.u8()?;
    r.skip(3)?;
    let match_ = read_nxm(r, match_len)?;
    Ok(FlowStatsRequest {
        table_id,
        out_port,
        out_group: GROUP_ANY,
        cookie: 0,
        cookie_mask: 0,
        match_,
    })
}

/// Starts a multipart message (header and prefix); returns where it starts.
fn start_mp(
    v: Version,
    reply: bool,
    xid: u32,
    type_: u16,
    nx_subtype: Option<u32>,
    out: &mut Vec<u8>,
) -> usize {
    let msg_type = match (v, reply) {
        (Version::Of10, false) => t::STATS_REQUEST10,
        (Version::Of10, true) => t::STATS_REPLY10,
        (_, false) => t::MULTIPART_REQUEST13,
        (_, true) => t::MULTIPART_REPLY13,
    };
    let at = start(v, msg_type, xid, out);
    out.u16(type_);
    out.u16(0);
    if v != Version::Of10 {
        out.zeros(4);
    }
    if let Some(sub) = nx_subtype {
        out.u32(NX_VENDOR_ID);
        out.u32(sub);
        out.zeros(4);
    }
    at
}

fn require13(v: Version) -> Result<(), OfpError> {
    if v == Version::Of10 {
        Err(OfpError::BRC_BAD_STAT)
    } else {
        Ok(())
    }
}

fn require10(v: Version) -> Result<(), OfpError> {
    if v == Version::Of10 {
        Ok(())
    } else {
        Err(OfpError::BRC_BAD_SUBTYPE)
    }
}

pub(crate) fn encode_request(
    v: Version,
    xid: u32,
    req: &MultipartRequest,
    out: &mut Vec<u8>,
) -> Result<(), OfpError> {
    let of10 = v == Version::Of10;
    let (type_, sub) = match req {
        MultipartRequest::Desc => (mp::DESC, None),
        MultipartRequest::Flow(_) => (mp::FLOW, None),
        MultipartRequest::Aggregate(_) => (mp::AGGREGATE, None),
        MultipartRequest::Table => (mp::TABLE, None),
        MultipartRequest::PortStats(_) => (mp::PORT_STATS, None),
        MultipartRequest::PortDesc => (mp::PORT_DESC, None),
        MultipartRequest::TableFeatures => (require13(v).map(|_| mp::TABLE_FEATURES)?, None),
        MultipartRequest::Group(_) => (require13(v).map(|_| mp::GROUP)?, None),
        MultipartRequest::GroupDesc => (require13(v).map(|_| mp::GROUP_DESC)?, None),
        MultipartRequest::NxFlow(_) => (require10(v).map(|_| mp::VENDOR)?, Some(NXST_FLOW)),
        MultipartRequest::NxAggregate(_) => {
            (require10(v).map(|_| mp::VENDOR)?, Some(NXST_AGGREGATE))
        }
    };
    let at = start_mp(v, false, xid, type_, sub, out);
    match req {
        MultipartRequest::Flow(f) | MultipartRequest::Aggregate(f) => {
            if of10 {
                out.extend_from_slice(&body::match10_bytes(&f.match_)?);
                out.u8(f.table_id);
                out.u8(0);
                out.u16(port::to_of10(f.out_port));
            } else {
                out.u8(f.table_id);
                out.zeros(3);
                out.u32(port::to_of11(f.out_port));
                out.u32(f.out_group);
                out.zeros(4);
                out.u64(f.cookie);
                out.u64(f.cookie_mask);
                oxm::encode_ofp11_match(&f.match_, out);
            }
        }
        MultipartRequest::PortStats(p) => {
            if of10 {
                out.u16(port::to_of10(*p));
                out.zeros(6);
            } else {
                out.u32(port::to_of11(*p));
                out.zeros(4);
            }
        }
        MultipartRequest::Group(g) => {
            out.u32(*g);
            out.zeros(4);
        }
        MultipartRequest::NxFlow(f) | MultipartRequest::NxAggregate(f) => {
            out.u16(port::to_of10(f.out_port));
            let len_at = out.len();
            out.u16(0);
            out.u8(f.table_id);
            out.zeros(3);
            let n = write_nxm(&f.match_, out)?;
            patch_u16(out, len_at, n);
        }
        _ => {}
    }
    finish(out, at)
}

pub(crate) fn decode_reply(v: Version, b: &[u8]) -> Result<MultipartReply, OfpError> {
    let of10 = v == Version::Of10;
    let Prefix {
        type_,
        flags,
        subtype: sub,
        body,
    } = read_prefix(v, b)?;
    let more = flags & FLAG_MORE != 0;
    let mut r = Rd::new(body);
    let body = match (type_, sub) {
        (mp::DESC, _) => MultipartReplyBody::Desc(SwitchDesc {
            mfr_desc: r.string(256)?,
            hw_desc: r.string(256)?,
            sw_desc: r.string(256)?,
            serial_num: r.string(32)?,
            dp_desc: r.string(256)?,
        }),
        (mp::FLOW, _) => MultipartReplyBody::Flow(entries(&mut r, |e| decode_flow_stats(v, e))?),
        (mp::AGGREGATE, _) => MultipartReplyBody::Aggregate(decode_aggregate(&mut r)?),
        (mp::TABLE, _) => MultipartReplyBody::Table(fixed(&mut r, table_stats_len(v), |e| {
            decode_table_stats(v, e)
        })?),
        (mp::PORT_STATS, _) => {
            MultipartReplyBody::PortStats(fixed(&mut r, port_stats_len(v), |e| {
                decode_port_stats(v, e)
            })?)
        }
        (mp::PORT_DESC, _) => {
            let n = if of10 { PORT10_LEN } else { PORT13_LEN };
            MultipartReplyBody::PortDesc(fixed(&mut r, n, |e| decode_port(v, e))?)
        }
        (mp::TABLE_FEATURES, _) if !of10 => {
            MultipartReplyBody::TableFeatures(entries(&mut r, decode_table_features)?)
        }
        (mp::GROUP, _) if !of10 => MultipartReplyBody::Group(entries(&mut r, decode_group_stats)?),
        (mp::GROUP_DESC, _) if !of10 => {
            MultipartReplyBody::GroupDesc(entries(&mut r, decode_group_desc)?)
        }
        (mp::VENDOR, Some(NXST_FLOW)) => {
            MultipartReplyBody::NxFlow(entries(&mut r, decode_nx_flow_stats)?)
        }
        (mp::VENDOR, Some(NXST_AGGREGATE)) => {
            MultipartReplyBody::NxAggregate(decode_aggregate(&mut r)?)
        }
        (mp::VENDOR, _) => return Err(OfpError::BRC_BAD_SUBTYPE),
        _ => return Err(OfpError::BRC_BAD_STAT),
    };
    done(&r)?;
    Ok(MultipartReply { more, body })
}

/// Decodes entries that start with a 16-bit length covering the whole entry.
fn entries<T>(
    r: &mut Rd<'_>,
    mut f: impl FnMut(&mut Rd<'_>) -> Result<T, OfpError>,
) -> Result<Vec<T>, OfpError> {
    let mut v = Vec::new();
    while !r.is_empty() {
        let mut peek = *r;
        let len = usize::from(peek.u16()?);
        if len < 2 {
            return Err(OfpError::BRC_BAD_LEN);
        }
        let mut e = Rd::new(r.bytes(len)?);
        v.push(f(&mut e)?);
        done(&e)?;
    }
    Ok(v)
}

/// Decodes entries of `n` bytes each.
fn fixed<T>(
    r: &mut Rd<'_>,
    n: usize,
    mut f: impl FnMut(&mut Rd<'_>) -> Result<T, OfpError>,
) -> Result<Vec<T>, OfpError> {
    if !r.remaining().is_multiple_of(n) {
        return Err(OfpError::BRC_BAD_LEN);
    }
    let mut v = Vec::new();
    while !r.is_empty() {
        let mut e = Rd::new(r.bytes(n)?);
        v.push(f(&mut e)?);
        done(&e)?;
    }
    Ok(v)
}

fn decode_flow_stats(v: Version, r: &mut Rd<'_>) -> Result<FlowStats, OfpError> {
    r.skip(2)?;
    let table_id = r.u8()?;
    r.skip(1)?;
    if v == Version::Of10 {
        let match_ = match10::decode(r.bytes(match10::MATCH10_LEN)?)?;
        let duration_sec = r.u32()?;
        let duration_nsec = r.u32()?;
        let priority = r.u16()?;
        let idle_timeout = r.u16()?;
        let hard_timeout = r.u16()?;
        r.skip(6)?;
        let cookie = r.u64()?;
        let packet_count = r.u64()?;
        let byte_count = r.u64()?;
        let actions = actions::decode_actions(v, r.rest())?;
        Ok(FlowStats {
            table_id,
            duration_sec,
            duration_nsec,
            priority,
            idle_timeout,
            hard_timeout,
            flags: FlowModFlags::empty(),
            cookie,
            packet_count,
            byte_count,
            idle_age: None,
            hard_age: None,
            match_,
            actions,
        })
    } else {
        let duration_sec = r.u32()?;
        let duration_nsec = r.u32()?;
        let priority = r.u16()?;
        let idle_timeout = r.u16()?;
        let hard_timeout = r.u16()?;
        let flags = FlowModFlags::from_bits_truncate(r.u16()?);
        r.skip(4)?;
        let cookie = r.u64()?;
        let packet_count = r.u64()?;
        let byte_count = r.u64()?;
        let rest = r.rest();
        let (match_, used) = oxm::decode_ofp11_match(rest)?;
        let actions =
            actions::decode_instructions(v, rest.get(used..).ok_or(OfpError::BRC_BAD_LEN)?)?;
        Ok(FlowStats {
            table_id,
            duration_sec,
            duration_nsec,
            priority,
            idle_timeout,
            hard_timeout,
            flags,
            cookie,
            packet_count,
            byte_count,
            idle_age: None,
            hard_age: None,
            match_,
            actions,
        })
    }
}

fn decode_nx_flow_stats(r: &mut Rd<'_>) -> Result<FlowStats, OfpError> {
    r.skip(2)?;
    let table_id = r.u8()?;
    r.skip(1)?;
    let duration_sec = r.u32()?;
    let duration_nsec = r.u32()?;
    let priority = r.u16()?;
    let idle_timeout = r.u16()?;
    let hard_timeout = r.u16()?;
    let match_len = usize::from(r.u16()?);
    let age = |a: u16| a.checked_sub(1);
    let idle_age = age(r.u16()?);
    let hard_age = age(r.u16()?);
    let cookie = r.u64()?;
    let packet_count = r.u64()?;
    let byte_count = r.u64()?;
    let match_ = read_nxm(r, match_len)?;
    let actions = actions::decode_actions(Version::Of10, r.rest())?;
    Ok(FlowStats {
        table_id,
        duration_sec,
        duration_nsec,
        priority,
        idle_timeout,
        hard_timeout,
        flags: FlowModFlags::empty(),
        cookie,
        packet_count,
        byte_count,
        idle_age,
        hard_age,
        match_,
        actions,
    })
}

fn decode_aggregate(r: &mut Rd<'_>) -> Result<AggregateStats, OfpError> {
    let a = AggregateStats {
        packet_count: r.u64()?,
        byte_count: r.u64()?,
        flow_count: r.u32()?,
    };
    r.skip(4)?;
    Ok(a)
}

fn table_stats_len(v: Version) -> usize {
    if v == Version::Of10 { 64 } else { 24 }
}

fn decode_table_stats(v: Version, r: &mut Rd<'_>) -> Result<TableStats, OfpError> {
    let table_id = r.u8()?;
    r.skip(3)?;
    let (name, wildcards, max_entries) = if v == Version::Of10 {
        (r.string(32)?, r.u32()?, r.u32()?)
    } else {
        (String::new(), 0, 0)
    };
    Ok(TableStats {
        table_id,
        name,
        wildcards,
        max_entries,
        active_count: r.u32()?,
        lookup_count: r.u64()?,
        matched_count: r.u64()?,
    })
}

fn port_stats_len(v: Version) -> usize {
    if v == Version::Of10 { 104 } else { 112 }
}

fn decode_port_stats(v: Version, r: &mut Rd<'_>) -> Result<PortStats, OfpError> {
    let port_no = if v == Version::Of10 {
        let p = port::from_of10(r.u16()?);
        r.skip(6)?;
        p
    } else {
        let p = port::from_of11(r.u32()?).map_err(|_| OfpError::BRC_BAD_PORT)?;
        r.skip(4)?;
        p
    };
    let mut c = [0u64; 12];
    for x in &mut c {
        *x = r.u64()?;
    }
    let (duration_sec, duration_nsec) = if v == Version::Of10 {
        (0, 0)
    } else {
        (r.u32()?, r.u32()?)
    };
    Ok(PortStats {
        port_no,
        rx_packets: c[0],
        tx_packets: c[1],
        rx_bytes: c[2],
        tx_bytes: c[3],
        rx_dropped: c[4],
        tx_dropped: c[5],
        rx_errors: c[6],
        tx_errors: c[7],
        rx_frame_err: c[8],
        rx_over_err: c[9],
        rx_crc_err: c[10],
        collisions: c[11],
        duration_sec,
        duration_nsec,
    })
}

/// Table feature property types (`ofp_table_feature_prop_type`).
mod tfpt {
    pub const INSTRUCTIONS: u16 = 0;
    pub const NEXT_TABLES: u16 = 2;
    pub const WRITE_ACTIONS: u16 = 4;
    pub const APPLY_ACTIONS: u16 = 6;
    pub const MATCH: u16 = 8;
    pub const WILDCARDS: u16 = 10;
    pub const WRITE_SETFIELD: u16 = 12;
    pub const APPLY_SETFIELD: u16 = 14;
    /// Added to a type for its `_MISS` flavour.
    pub const MISS: u16 = 1;
}

fn decode_table_features(r: &mut Rd<'_>) -> Result<TableFeatures, OfpError> {
    r.skip(2)?;
    let table_id = r.u8()?;
    r.skip(5)?;
    let name = r.string(32)?;
    let mut tf = TableFeatures {
        table_id,
        name,
        metadata_match: r.u64()?,
        metadata_write: r.u64()?,
        config: r.u32()?,
        max_entries: r.u32()?,
        ..TableFeatures::default()
    };
    let mut miss = TableFeatureSet::default();
    let mut have_miss = false;
    while !r.is_empty() {
        let type_ = r.u16()?;
        let len = usize::from(r.u16()?);
        if len < 4 {
            return Err(OfpError::BRC_BAD_LEN);
        }
        let data = r.bytes(len - 4)?;
        r.skip(pad8(len).min(r.remaining()))?;
        let is_miss = matches!(type_, 1 | 3 | 5 | 7 | 13 | 15);
        let set = if is_miss {
            have_miss = true;
            &mut miss
        } else {
            &mut tf.features
        };
        match type_ & !tfpt::MISS {
            tfpt::INSTRUCTIONS => set.instructions = ids(data)?,
            tfpt::NEXT_TABLES => set.next_tables = data.to_vec(),
            tfpt::WRITE_ACTIONS => set.write_actions = ids(data)?,
            tfpt::APPLY_ACTIONS => set.apply_actions = ids(data)?,
            tfpt::MATCH if type_ == tfpt::MATCH => tf.match_ = oxm_ids(data)?,
            tfpt::WILDCARDS if type_ == tfpt::WILDCARDS => tf.wildcards = oxm_ids(data)?,
            tfpt::WRITE_SETFIELD => set.write_setfield = oxm_ids(data)?,
            tfpt::APPLY_SETFIELD => set.apply_setfield = oxm_ids(data)?,
            // Experimenter and unknown properties are skipped.
            _ => {}
        }
    }
    tf.miss = have_miss.then_some(miss);
    Ok(tf)
}

/// Instruction or action ids: (type, len) with len 4, or longer for experimenter ones
/// (skipped).
fn ids(b: &[u8]) -> Result<Vec<u16>, OfpError> {
    let mut r = Rd::new(b);
    let mut v = Vec::new();
    while !r.is_empty() {
        let type_ = r.u16()?;
        let len = usize::from(r.u16()?);
        if len < 4 {
            return Err(OfpError::BRC_BAD_LEN);
        }
        r.skip(len - 4)?;
        if len == 4 {
            v.push(type_);
        }
    }
    Ok(v)
}

/// OXM headers; experimenter ones (class 0xffff) carry 4 more bytes and are skipped.
fn oxm_ids(b: &[u8]) -> Result<Vec<u32>, OfpError> {
    let mut r = Rd::new(b);
    let mut v = Vec::new();
    while !r.is_empty() {
        let h = r.u32()?;
        if h >> 16 == 0xffff {
            r.skip(4)?;
        } else {
            v.push(h);
        }
    }
    Ok(v)
}

fn encode_table_features(tf: &TableFeatures, out: &mut Vec<u8>) -> Result<(), OfpError> {
    let at = out.len();
    out.u16(0);
    out.u8(tf.table_id);
    out.zeros(5);
    out.string(&tf.name, 32);
    out.u64(tf.metadata_match);
    out.u64(tf.metadata_write);
    out.u32(tf.config);
    out.u32(tf.max_entries);
    let sets: [(&TableFeatureSet, u16); 2] = [
        (&tf.features, 0),
        (tf.miss.as_ref().unwrap_or(&tf.features), tfpt::MISS),
    ];
    for (set, miss) in sets {
        if miss != 0 && tf.miss.is_none() {
            continue;
        }
        prop(out, tfpt::INSTRUCTIONS + miss, |o| {
            put_ids(o, &set.instructions)
        })?;
        prop(out, tfpt::NEXT_TABLES + miss, |o| {
            o.extend_from_slice(&set.next_tables)
        })?;
        prop(out, tfpt::WRITE_ACTIONS + miss, |o| {
            put_ids(o, &set.write_actions)
        })?;
        prop(out, tfpt::APPLY_ACTIONS + miss, |o| {
            put_ids(o, &set.apply_actions)
        })?;
    }
    prop(out, tfpt::MATCH, |o| put_oxms(o, &tf.match_))?;
    prop(out, tfpt::WILDCARDS, |o| put_oxms(o, &tf.wildcards))?;
    for (set, miss) in sets {
        if miss != 0 && tf.miss.is_none() {
            continue;
        }
        prop(out, tfpt::WRITE_SETFIELD + miss, |o| {
            put_oxms(o, &set.write_setfield)
        })?;
        prop(out, tfpt::APPLY_SETFIELD + miss, |o| {
            put_oxms(o, &set.apply_setfield)
        })?;
    }
    let len = len16(out, at)?;
    patch_u16(out, at, len);
    Ok(())
}

/// Appends one property: type, length (unpadded), `f`'s payload, padding to 8.
fn prop(out: &mut Vec<u8>, type_: u16, f: impl FnOnce(&mut Vec<u8>)) -> Result<(), OfpError> {
    let at = out.len();
    out.u16(type_);
    out.u16(0);
    f(out);
    let len = len16(out, at)?;
    patch_u16(out, at + 2, len);
    out.zeros(pad8(usize::from(len)));
    Ok(())
}

fn put_ids(out: &mut Vec<u8>, ids: &[u16]) {
    for &id in ids {
        out.u16(id);
        out.u16(4);
    }
}

fn put_oxms(out: &mut Vec<u8>, ids: &[u32]) {
    for &id in ids {
        out.u32(id);
    }
}

fn decode_group_stats(r: &mut Rd<'_>) -> Result<GroupStats, OfpError> {
    r.skip(4)?;
    let group_id = r.u32()?;
    let ref_count = r.u32()?;
    r.skip(4)?;
    let packet_count = r.u64()?;
    let byte_count = r.u64()?;
    let sec = r.u32()?;
    let nsec = r.u32()?;
    let mut buckets = Vec::new();
    while !r.is_empty() {
        buckets.push((r.u64()?, r.u64()?));
    }
    Ok(GroupStats {
        group_id,
        ref_count,
        packet_count,
        byte_count,
        duration_ms: u64::from(sec) * 1000 + u64::from(nsec / 1_000_000),
        buckets,
    })
}

fn encode_group_stats(g: &GroupStats, out: &mut Vec<u8>) -> Result<(), OfpError> {
    let at = out.len();
    out.u16(0);
    out.zeros(2);
    out.u32(g.group_id);
    out.u32(g.ref_count);
    out.zeros(4);
    out.u64(g.packet_count);
    out.u64(g.byte_count);
    out.u32(u32::try_from(g.duration_ms / 1000).unwrap_or(u32::MAX));
    // Below 1e9: fits.
    out.u32(u32::try_from((g.duration_ms % 1000) * 1_000_000).unwrap_or(0));
    for &(p, b) in &g.buckets {
        out.u64(p);
        out.u64(b);
    }
    let len = len16(out, at)?;
    patch_u16(out, at, len);
    Ok(())
}

fn decode_group_desc(r: &mut Rd<'_>) -> Result<GroupDesc, OfpError> {
    r.skip(2)?;
    let type_ = GroupType::from_wire(r.u8()?).ok_or(errors::GMFC_BAD_TYPE)?;
    r.skip(1)?;
    let group_id = r.u32()?;
    let buckets = decode_buckets(r)?;
    Ok(GroupDesc {
        group_id,
        type_,
        buckets,
    })
}

fn encode_group_desc(g: &GroupDesc, out: &mut Vec<u8>) -> Result<(), OfpError> {
    let at = out.len();
    out.u16(0);
    out.u8(g.type_.wire());
    out.u8(0);
    out.u32(g.group_id);
    encode_buckets(&g.buckets, out)?;
    let len = len16(out, at)?;
    patch_u16(out, at, len);
    Ok(())
}

fn encode_flow_stats(v: Version, f: &FlowStats, out: &mut Vec<u8>) -> Result<(), OfpError> {
    let at = out.len();
    out.u16(0);
    out.u8(f.table_id);
    out.u8(0);
    if v == Version::Of10 {
        out.extend_from_slice(&body::match10_lossy(&f.match_)?);
        out.u32(f.duration_sec);
        out.u32(f.duration_nsec);
        out.u16(f.priority);
        out.u16(f.idle_timeout);
        out.u16(f.hard_timeout);
        out.zeros(6);
        out.u64(f.cookie);
        out.u64(f.packet_count);
        out.u64(f.byte_count);
        actions::encode_actions(v, &f.actions, out)?;
    } else {
        out.u32(f.duration_sec);
        out.u32(f.duration_nsec);
        out.u16(f.priority);
        out.u16(f.idle_timeout);
        out.u16(f.hard_timeout);
        out.u16(f.flags.bits());
        out.zeros(4);
        out.u64(f.cookie);
        out.u64(f.packet_count);
        out.u64(f.byte_count);
        oxm::encode_ofp11_match(&f.match_, out);
        actions::encode_instructions(v, &f.actions, out)?;
    }
    let len = len16(out, at)?;
    patch_u16(out, at, len);
    Ok(())
}

fn encode_nx_flow_stats(f: &FlowStats, out: &mut Vec<u8>) -> Result<(), OfpError> {
    let at = out.len();
    out.u16(0);
    out.u8(f.table_id);
    out.u8(0);
    out.u32(f.duration_sec);
    out.u32(f.duration_nsec);
    out.u16(f.priority);
    out.u16(f.idle_timeout);
    out.u16(f.hard_timeout);
    let match_len_at = out.len();
    out.u16(0);
    let age = |a: Option<u16>| a.map_or(0, |a| a.saturating_add(1));
    out.u16(age(f.idle_age));
    out.u16(age(f.hard_age));
    out.u64(f.cookie);
    out.u64(f.packet_count);
    out.u64(f.byte_count);
    let n = write_nxm(&f.match_, out)?;
    patch_u16(out, match_len_at, n);
    actions::encode_actions(Version::Of10, &f.actions, out)?;
    let len = len16(out, at)?;
    patch_u16(out, at, len);
    Ok(())
}

fn encode_aggregate(a: &AggregateStats, out: &mut Vec<u8>) {
    out.u64(a.packet_count);
    out.u64(a.byte_count);
    out.u32(a.flow_count);
    out.zeros(4);
}

fn encode_table_stats(v: Version, s: &TableStats, out: &mut Vec<u8>) {
    out.u8(s.table_id);
    out.zeros(3);
    if v == Version::Of10 {
        out.string(&s.name, 32);
        out.u32(s.wildcards);
        out.u32(s.max_entries);
    }
    out.u32(s.active_count);
    out.u64(s.lookup_count);
    out.u64(s.matched_count);
}

fn encode_port_stats(v: Version, s: &PortStats, out: &mut Vec<u8>) {
    if v == Version::Of10 {
        out.u16(port::to_of10(s.port_no));
        out.zeros(6);
    } else {
        out.u32(port::to_of11(s.port_no));
        out.zeros(4);
    }
    for c in [
        s.rx_packets,
        s.tx_packets,
        s.rx_bytes,
        s.tx_bytes,
        s.rx_dropped,
        s.tx_dropped,
        s.rx_errors,
        s.tx_errors,
        s.rx_frame_err,
        s.rx_over_err,
        s.rx_crc_err,
        s.collisions,
    ] {
        out.u64(c);
    }
    if v != Version::Of10 {
        out.u32(s.duration_sec);
        out.u32(s.duration_nsec);
    }
}

/// Encodes a reply's entries one after the other into `buf`, recording where each ends.
fn encode_entries(
    v: Version,
    body: &MultipartReplyBody,
    buf: &mut Vec<u8>,
    ends: &mut Vec<usize>,
) -> Result<(), OfpError> {
    fn each<T>(
        items: &[T],
        buf: &mut Vec<u8>,
        ends: &mut Vec<usize>,
        mut f: impl FnMut(&T, &mut Vec<u8>) -> Result<(), OfpError>,
    ) -> Result<(), OfpError> {
        for it in items {
            f(it, buf)?;
            ends.push(buf.len());
        }
        Ok(())
    }
    match body {
        MultipartReplyBody::Desc(d) => {
            buf.string(&d.mfr_desc, 256);
            buf.string(&d.hw_desc, 256);
            buf.string(&d.sw_desc, 256);
            buf.string(&d.serial_num, 32);
            buf.string(&d.dp_desc, 256);
            ends.push(buf.len());
        }
        MultipartReplyBody::Aggregate(a) | MultipartReplyBody::NxAggregate(a) => {
            encode_aggregate(a, buf);
            ends.push(buf.len());
        }
        MultipartReplyBody::Flow(fs) => each(fs, buf, ends, |f, o| encode_flow_stats(v, f, o))?,
        MultipartReplyBody::NxFlow(fs) => each(fs, buf, ends, encode_nx_flow_stats)?,
        MultipartReplyBody::Table(ts) => each(ts, buf, ends, |s, o| {
            encode_table_stats(v, s, o);
            Ok(())
        })?,
        MultipartReplyBody::PortStats(ps) => each(ps, buf, ends, |s, o| {
            encode_port_stats(v, s, o);
            Ok(())
        })?,
        MultipartReplyBody::PortDesc(ps) => each(ps, buf, ends, |p, o| {
            encode_port(v, p, o);
            Ok(())
        })?,
        MultipartReplyBody::TableFeatures(ts) => each(ts, buf, ends, encode_table_features)?,
        MultipartReplyBody::Group(gs) => each(gs, buf, ends, encode_group_stats)?,
        MultipartReplyBody::GroupDesc(gs) => each(gs, buf, ends, encode_group_desc)?,
    }
    Ok(())
}

pub(crate) fn encode_reply(
    v: Version,
    xid: u32,
    rep: &MultipartReply,
    out: &mut Vec<u8>,
) -> Result<(), OfpError> {
    let (type_, sub) = match &rep.body {
        MultipartReplyBody::Desc(_) => (mp::DESC, None),
        MultipartReplyBody::Flow(_) => (mp::FLOW, None),
        MultipartReplyBody::Aggregate(_) => (mp::AGGREGATE, None),
        MultipartReplyBody::Table(_) => (mp::TABLE, None),
        MultipartReplyBody::PortStats(_) => (mp::PORT_STATS, None),
        MultipartReplyBody::PortDesc(_) => (mp::PORT_DESC, None),
        MultipartReplyBody::TableFeatures(_) => (require13(v).map(|_| mp::TABLE_FEATURES)?, None),
        MultipartReplyBody::Group(_) => (require13(v).map(|_| mp::GROUP)?, None),
        MultipartReplyBody::GroupDesc(_) => (require13(v).map(|_| mp::GROUP_DESC)?, None),
        MultipartReplyBody::NxFlow(_) => (require10(v).map(|_| mp::VENDOR)?, Some(NXST_FLOW)),
        MultipartReplyBody::NxAggregate(_) => {
            (require10(v).map(|_| mp::VENDOR)?, Some(NXST_AGGREGATE))
        }
    };
    let mut buf = Vec::new();
    let mut ends = Vec::new();
    encode_entries(v, &rep.body, &mut buf, &mut ends)?;
    let overhead = HEADER_LEN + prefix_len(v) + if sub.is_some() { 12 } else { 0 };
    let room = MAX_MSG_LEN - overhead;
    // Cut the entries into parts of at most `room` bytes.
    let mut parts = Vec::new();
    let mut from = 0;
    let mut prev = 0;
    for &end in &ends {
        if end - from > room {
            if prev == from {
                // One entry alone is too long for a message.
                return Err(OfpError::BRC_BAD_LEN);
            }
            parts.push((from, prev));
            from = prev;
            if end - from > room {
                return Err(OfpError::BRC_BAD_LEN);
            }
        }
        prev = end;
    }
    parts.push((from, prev));
    let last = parts.len() - 1;
    for (i, &(a, b)) in parts.iter().enumerate() {
        let at = start_mp(v, true, xid, type_, sub, out);
        if i < last || rep.more {
            patch_u16(out, at + HEADER_LEN + 2, FLAG_MORE);
        }
        out.extend_from_slice(&buf[a..b]);
        finish(out, at)?;
    }
    Ok(())
}
