//! [`DpifNetlinkClass`] and [`DpifNetlink`]: the `system` datapath type over
//! `openvswitch.ko`.

use std::collections::VecDeque;
use std::os::fd::AsRawFd;
use std::sync::Arc;

use netdev::poll::{Interest, PollSet};
use netdev::{Netdev, Packet};
use netlink_packet_core::{NLM_F_CREATE, NLM_F_ECHO};
use nix::errno::Errno;
use parking_lot::{Mutex, RwLock};

use super::codec;
use super::msg::{DpAttr, FlowAttr, PacketAttr, VportAttr, VportStats};
use super::nl::{self, Dump, Family, NlSock, Reply, Request, TxnError, TxnResult};
use super::upcall::{Dispatch, Handlers};
use crate::error::{Error, Result};
use crate::odp::uapi::*;
use crate::odp::{OdpPort, Ufid};
use crate::provider::{
    DpStats, Dpif, DpifClass, DpifFlow, DpifOp, DpifPort, Execute, FlowDel, FlowGet, FlowPut,
    FlowStats, OpReply, PortChange, PutFlags, Upcall,
};

/// The resolved generic netlink families of the kernel datapath.
#[derive(Clone, Debug)]
pub(crate) struct Families {
    pub dp: Family,
    pub vport: Family,
    pub flow: Family,
    pub packet: Family,
    /// The `ovs_vport` multicast group (port notifications).
    pub vport_mcgroup: u32,
}

impl Families {
    /// Resolves the four families and the `ovs_vport` group.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] (a "genl family") when `openvswitch.ko` is not loaded.
    pub(crate) fn resolve() -> Result<Families> {
        let mut sock = NlSock::new()?;
        let dp = nl::resolve_family(&mut sock, OVS_DATAPATH_FAMILY)?;
        let vport = nl::resolve_family(&mut sock, OVS_VPORT_FAMILY)?;
        let flow = nl::resolve_family(&mut sock, OVS_FLOW_FAMILY)?;
        let packet = nl::resolve_family(&mut sock, OVS_PACKET_FAMILY)?;
        let vport_mcgroup = vport
            .mcast_groups
            .iter()
            .find(|(n, _)| n == OVS_VPORT_MCGROUP)
            .map(|(_, id)| *id)
            .ok_or_else(|| {
                Error::not_found(
                    "resolve generic netlink family",
                    "multicast group",
                    OVS_VPORT_MCGROUP,
                )
            })?;
        Ok(Families {
            dp,
            vport,
            flow,
            packet,
            vport_mcgroup,
        })
    }

    fn dp_req(&self, cmd: u8, flags: u16, dp_ifindex: i32, attrs: &[DpAttr]) -> Result<Request> {
        Ok(Request {
            family: self.dp.id,
            cmd,
            version: OVS_DATAPATH_VERSION,
            flags,
            dp_ifindex: Some(dp_ifindex),
            attrs: nl::emit_attrs("datapath request", attrs)?,
        })
    }

    fn vport_req(
        &self,
        cmd: u8,
        flags: u16,
        dp_ifindex: i32,
        attrs: &[VportAttr],
    ) -> Result<Request> {
        Ok(Request {
            family: self.vport.id,
            cmd,
            version: OVS_VPORT_VERSION,
            flags,
            dp_ifindex: Some(dp_ifindex),
            attrs: nl::emit_attrs("vport request", attrs)?,
        })
    }

    fn flow_req(
        &self,
        cmd: u8,
        flags: u16,
        dp_ifindex: i32,
        attrs: &[FlowAttr],
    ) -> Result<Request> {
        Ok(Request {
            family: self.flow.id,
            cmd,
            version: OVS_FLOW_VERSION,
            flags,
            dp_ifindex: Some(dp_ifindex),
            attrs: nl::emit_attrs("flow request", attrs)?,
        })
    }

    fn packet_req(&self, cmd: u8, dp_ifindex: i32, attrs: &[PacketAttr]) -> Result<Request> {
        Ok(Request {
            family: self.packet.id,
            cmd,
            version: OVS_PACKET_VERSION,
            flags: 0,
            dp_ifindex: Some(dp_ifindex),
            attrs: nl::emit_attrs("execute", attrs)?,
        })
    }
}

/// Whether the kernel datapath is available: the `ovs_datapath` generic netlink family
/// resolves (that is, `openvswitch.ko` is loaded).
pub fn available() -> bool {
    NlSock::new()
        .and_then(|mut s| nl::resolve_family(&mut s, OVS_DATAPATH_FAMILY))
        .is_ok()
}

/// A datapath as the kernel describes it (`OVS_DP_CMD_GET`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct DpInfo {
    pub name: String,
    pub dp_ifindex: i32,
    pub stats: DpStats,
    pub user_features: u32,
}

pub(crate) fn parse_dp(reply: &Reply) -> Result<DpInfo> {
    let attrs: Vec<DpAttr> = nl::parse_attrs("OVS_DP_CMD reply", &reply.attrs)?;
    let mut info = DpInfo {
        dp_ifindex: reply.dp_ifindex,
        ..DpInfo::default()
    };
    for a in attrs {
        match a {
            DpAttr::Name(n) => info.name = n,
            DpAttr::Stats(s) => {
                info.stats.n_hit = s.n_hit;
                info.stats.n_missed = s.n_missed;
                info.stats.n_lost = s.n_lost;
                info.stats.n_flows = s.n_flows;
            }
            DpAttr::MegaflowStats(m) => {
                info.stats.n_mask_hit = Some(m.n_mask_hit);
                info.stats.n_masks = Some(u64::from(m.n_masks));
                info.stats.n_cache_hit = Some(m.n_cache_hit);
            }
            DpAttr::UserFeatures(f) => info.user_features = f,
            _ => {}
        }
    }
    if info.name.is_empty() {
        return Err(Error::decode("OVS_DP_CMD reply", "no OVS_DP_ATTR_NAME"));
    }
    Ok(info)
}

/// A vport as the kernel describes it (`OVS_VPORT_CMD_GET`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VportInfo {
    /// The datapath's ifindex.
    pub dp_ifindex: i32,
    /// The port number.
    pub port_no: OdpPort,
    /// `OVS_VPORT_TYPE_*`.
    pub vport_type: u32,
    /// The device name.
    pub name: String,
    /// The upcall PIDs.
    pub upcall_pids: Vec<u32>,
    /// The counters.
    pub stats: VportStats,
    /// The device's ifindex, if the kernel says.
    pub ifindex: Option<i32>,
}

impl VportInfo {
    /// The netdev type name for this vport type, as OVS reports it.
    pub fn type_name(&self) -> &'static str {
        vport_type_name(self.vport_type)
    }
}

fn vport_type_name(t: u32) -> &'static str {
    match t {
        OVS_VPORT_TYPE_NETDEV => "system",
        OVS_VPORT_TYPE_INTERNAL => "internal",
        OVS_VPORT_TYPE_GRE => "gre",
        OVS_VPORT_TYPE_VXLAN => "vxlan",
        OVS_VPORT_TYPE_GENEVE => "geneve",
        _ => "unknown",
    }
}

fn vport_type_of(netdev_type: &str) -> Result<u32> {
    match netdev_type {
        "" | "system" | "tap" => Ok(OVS_VPORT_TYPE_NETDEV),
        "internal" => Ok(OVS_VPORT_TYPE_INTERNAL),
        _ => Err(Error::NotSupported {
            op: "add a port of this type to the kernel datapath",
        }),
    }
}

pub(crate) fn parse_vport(reply: &Reply) -> Result<VportInfo> {
    let attrs: Vec<VportAttr> = nl::parse_attrs("OVS_VPORT_CMD reply", &reply.attrs)?;
    let mut info = VportInfo {
        dp_ifindex: reply.dp_ifindex,
        ..VportInfo::default()
    };
    let mut have_no = false;
    for a in attrs {
        match a {
            VportAttr::PortNo(n) => {
                info.port_no = OdpPort(n);
                have_no = true;
            }
            VportAttr::Type(t) => info.vport_type = t,
            VportAttr::Name(n) => info.name = n,
            VportAttr::UpcallPids(p) => info.upcall_pids = p,
            VportAttr::Stats(s) => info.stats = s,
            VportAttr::IfIndex(i) => info.ifindex = Some(i),
            _ => {}
        }
    }
    if !have_no || info.name.is_empty() {
        return Err(Error::decode(
            "OVS_VPORT_CMD reply",
            "no OVS_VPORT_ATTR_PORT_NO or OVS_VPORT_ATTR_NAME",
        ));
    }
    Ok(info)
}

fn to_port(v: VportInfo) -> DpifPort {
    DpifPort {
        type_name: v.type_name().to_owned(),
        name: v.name,
        port_no: v.port_no,
    }
}

/// Parses an `OVS_FLOW_CMD_*` reply into a flow. Keys, masks and actions absent from the
/// reply (terse dumps) stay `None`.
pub(crate) fn parse_flow(reply: &Reply) -> Result<DpifFlow> {
    let attrs: Vec<FlowAttr> = nl::parse_attrs("OVS_FLOW_CMD reply", &reply.attrs)?;
    let mut raw_key = None;
    let mut raw_mask = None;
    let mut raw_actions = None;
    let mut ufid = None;
    let mut stats = FlowStats::default();
    for a in attrs {
        match a {
            FlowAttr::Key(k) => raw_key = Some(k),
            FlowAttr::Mask(m) => raw_mask = Some(m),
            FlowAttr::Actions(a) => raw_actions = Some(a),
            FlowAttr::Ufid(u) => {
                ufid = Some(Ufid::from_bytes(&u).ok_or_else(|| {
                    Error::decode("OVS_FLOW_ATTR_UFID", format!("{} bytes", u.len()))
                })?)
            }
            FlowAttr::Stats { n_packets, n_bytes } => {
                stats.n_packets = n_packets;
                stats.n_bytes = n_bytes;
            }
            FlowAttr::Used(u) => stats.used_ms = u,
            FlowAttr::TcpFlags(f) => stats.tcp_flags = u16::from(f),
            _ => {}
        }
    }
    let key = raw_key.as_deref().map(codec::key_from_bytes).transpose()?;
    let mask = match (&raw_mask, &key) {
        (Some(m), Some(k)) => Some(codec::mask_from_bytes(m, k)?),
        (None, Some(_)) => Some(crate::odp::FlowKey::exact_mask()),
        _ => None,
    };
    let actions = raw_actions
        .as_deref()
        .map(codec::actions_from_bytes)
        .transpose()?;
    let ufid = match (ufid, &key) {
        (Some(u), _) => u,
        (None, Some(k)) => Ufid::from_key(k),
        (None, None) => {
            return Err(Error::decode("OVS_FLOW_CMD reply", "neither UFID nor key"));
        }
    };
    Ok(DpifFlow {
        ufid,
        key,
        mask,
        actions,
        stats,
        pmd_id: None,
    })
}

/// The `system` datapath type: the Linux kernel module `openvswitch.ko`, driven over generic
/// netlink.
///
/// Register it in a [`crate::DpifRegistry`]. The families are resolved on first use (and
/// again after a failure), so the class can be registered on a host whose module is not yet
/// loaded.
#[derive(Debug, Default)]
pub struct DpifNetlinkClass {
    families: Mutex<Option<Arc<Families>>>,
    force_per_vport: bool,
}

impl DpifNetlinkClass {
    /// Makes the class.
    pub fn new() -> Self {
        DpifNetlinkClass::default()
    }

    /// Makes a class whose datapaths use per-vport upcall dispatch even where the kernel
    /// offers per-CPU dispatch (for tests of that mode, and for tools that want it).
    pub fn per_vport_dispatch() -> Self {
        DpifNetlinkClass {
            force_per_vport: true,
            ..DpifNetlinkClass::default()
        }
    }

    fn families(&self) -> Result<Arc<Families>> {
        if let Some(f) = self.families.lock().as_ref() {
            return Ok(f.clone());
        }
        let f = Arc::new(Families::resolve()?);
        *self.families.lock() = Some(f.clone());
        Ok(f)
    }

    /// Opens (or creates) kernel datapath `name`, as the concrete type.
    ///
    /// # Errors
    ///
    /// As [`DpifClass::open`].
    pub fn open_netlink(&self, name: &str, create: bool) -> Result<Arc<DpifNetlink>> {
        DpifNetlink::open(self.families()?, name, create, self.force_per_vport).map(Arc::new)
    }
}

impl DpifClass for DpifNetlinkClass {
    fn type_name(&self) -> &'static str {
        "system"
    }

    fn enumerate(&self) -> Result<Vec<String>> {
        let fams = self.families()?;
        let req = fams.dp_req(OVS_DP_CMD_GET, 0, 0, &[])?;
        let dump = Dump::start(&req).map_err(|e| e.into_error("enumerate", "datapaths", ""))?;
        let mut names = Vec::new();
        for r in dump {
            let r = r.map_err(|e| e.into_error("enumerate", "datapaths", ""))?;
            names.push(parse_dp(&r)?.name);
        }
        names.sort();
        Ok(names)
    }

    fn open(&self, name: &str, create: bool) -> Result<Arc<dyn Dpif>> {
        Ok(self.open_netlink(name, create)?)
    }
}

/// An open kernel datapath.
///
/// # Thread-safety
///
/// Every method takes `&self`; requests run on sockets taken from a pool, so several threads
/// talk to the kernel at once. Locks (in order: `config`, then `handlers`, then a handler's
/// socket; `pool` and `notify` are leaves) are never held across a request to the kernel,
/// except `config`, which only serializes reconfigurations of the upcall handlers.
pub struct DpifNetlink {
    name: String,
    dp_ifindex: i32,
    fams: Arc<Families>,
    dispatch: Dispatch,
    user_features: u32,
    pool: Mutex<Vec<NlSock>>,
    config: Mutex<HandlerConfig>,
    handlers: RwLock<Option<Arc<Handlers>>>,
    notify: Mutex<Option<PortNotifier>>,
}

#[derive(Debug)]
struct HandlerConfig {
    n_handlers: u32,
    enabled: bool,
}

struct PortNotifier {
    sock: NlSock,
    pending: VecDeque<PortChange>,
}

impl std::fmt::Debug for DpifNetlink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DpifNetlink")
            .field("name", &self.name)
            .field("dp_ifindex", &self.dp_ifindex)
            .field("dispatch", &self.dispatch)
            .field("user_features", &self.user_features)
            .finish()
    }
}

const FEATURE_PROBE_BIT: u32 = 1 << 31;

impl DpifNetlink {
    fn open(
        fams: Arc<Families>,
        name: &str,
        create: bool,
        force_per_vport: bool,
    ) -> Result<DpifNetlink> {
        let mut sock = NlSock::new()?;
        let reply = if create {
            let req = fams.dp_req(
                OVS_DP_CMD_NEW,
                NLM_F_ECHO,
                0,
                &[
                    DpAttr::Name(name.to_owned()),
                    DpAttr::UpcallPid(0),
                    DpAttr::UserFeatures(OVS_DP_F_UNALIGNED | OVS_DP_F_VPORT_PIDS),
                ],
            )?;
            match sock.request(req) {
                Err(TxnError::Errno(Errno::EEXIST)) => get_dp_by_name(&fams, &mut sock, name)?,
                r => r.map_err(|e| e.into_error("create datapath", "datapath", name))?,
            }
        } else {
            get_dp_by_name(&fams, &mut sock, name)?
        };
        let reply = reply.ok_or_else(|| Error::decode("OVS_DP_CMD_NEW", "no reply"))?;
        let info = parse_dp(&reply)?;
        let (dispatch, user_features) =
            negotiate_features(&fams, &mut sock, &info, force_per_vport)?;
        tracing::info!(
            datapath = name,
            "Datapath dispatch mode: {}",
            match dispatch {
                Dispatch::PerCpu => "per-cpu",
                Dispatch::PerVport => "per-vport",
            }
        );
        Ok(DpifNetlink {
            name: info.name,
            dp_ifindex: info.dp_ifindex,
            fams,
            dispatch,
            user_features,
            pool: Mutex::new(vec![sock]),
            config: Mutex::new(HandlerConfig {
                n_handlers: 1,
                enabled: false,
            }),
            handlers: RwLock::new(None),
            notify: Mutex::new(None),
        })
    }

    /// The datapath's ifindex (`ovs_header.dp_ifindex`: the ifindex of its local port).
    pub fn dp_ifindex(&self) -> i32 {
        self.dp_ifindex
    }

    /// Whether upcalls are dispatched per CPU (`OVS_DP_F_DISPATCH_UPCALL_PER_CPU`) rather
    /// than per vport.
    pub fn per_cpu_dispatch(&self) -> bool {
        self.dispatch == Dispatch::PerCpu
    }

    /// The user features the datapath accepted (`OVS_DP_F_*`).
    pub fn user_features(&self) -> u32 {
        self.user_features
    }

    fn with_sock<T>(&self, f: impl FnOnce(&mut NlSock) -> T) -> Result<T> {
        let sock = self.pool.lock().pop();
        let mut sock = match sock {
            Some(s) => s,
            None => NlSock::new()?,
        };
        let out = f(&mut sock);
        self.pool.lock().push(sock);
        Ok(out)
    }

    fn request(&self, req: Request) -> Result<TxnResult> {
        self.with_sock(|s| s.request(req))
    }

    fn transact(&self, reqs: &[Request]) -> Result<Vec<TxnResult>> {
        self.with_sock(|s| s.transact(reqs))
    }

    /// Adds a port by device name and netdev type (`system`, `tap`: an existing device;
    /// `internal`: the kernel makes one), numbered `port_no` if given.
    ///
    /// # Errors
    ///
    /// As [`Dpif::port_add`]; [`Error::NotSupported`] for tunnel and other types.
    pub fn port_add_named(
        &self,
        name: &str,
        netdev_type: &str,
        port_no: Option<OdpPort>,
    ) -> Result<OdpPort> {
        let vtype = vport_type_of(netdev_type)?;
        let mut attrs = vec![
            VportAttr::Name(name.to_owned()),
            VportAttr::Type(vtype),
            VportAttr::UpcallPids(self.vport_upcall_pids()),
        ];
        if let Some(p) = port_no {
            attrs.push(VportAttr::PortNo(p.0));
        }
        let req = self
            .fams
            .vport_req(OVS_VPORT_CMD_NEW, NLM_F_ECHO, self.dp_ifindex, &attrs)?;
        let reply = self.request(req)?.map_err(|e| {
            let what = match (e.errno(), port_no) {
                (Some(Errno::EBUSY), Some(p)) => {
                    return Error::Busy {
                        op: "port add",
                        what: "port number",
                        name: p.to_string(),
                    };
                }
                _ => "port",
            };
            e.into_error("port add", what, name)
        })?;
        let reply = reply.ok_or_else(|| Error::decode("OVS_VPORT_CMD_NEW", "no reply"))?;
        Ok(parse_vport(&reply)?.port_no)
    }

    /// Queries a vport with all the kernel says about it (counters, upcall PIDs).
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] if there is no such port.
    pub fn vport_get(&self, port_no: OdpPort) -> Result<VportInfo> {
        let req = self.fams.vport_req(
            OVS_VPORT_CMD_GET,
            0,
            self.dp_ifindex,
            &[VportAttr::PortNo(port_no.0)],
        )?;
        let reply = self
            .request(req)?
            .map_err(|e| e.into_error("port query", "port", port_no))?
            .ok_or_else(|| Error::decode("OVS_VPORT_CMD_GET", "no reply"))?;
        parse_vport(&reply)
    }

    fn vports(&self) -> Result<Vec<VportInfo>> {
        let req = self
            .fams
            .vport_req(OVS_VPORT_CMD_GET, 0, self.dp_ifindex, &[])?;
        let dump =
            Dump::start(&req).map_err(|e| e.into_error("port dump", "datapath", &self.name))?;
        let mut out = Vec::new();
        for r in dump {
            let r = r.map_err(|e| e.into_error("port dump", "datapath", &self.name))?;
            out.push(parse_vport(&r)?);
        }
        out.sort_by_key(|v| v.port_no);
        Ok(out)
    }

    /// The upcall PIDs a new vport gets: in per-vport dispatch, every handler's socket (the
    /// kernel picks one by the packet's hash); else (or with no handlers) `[0]`.
    fn vport_upcall_pids(&self) -> Vec<u32> {
        if self.dispatch == Dispatch::PerVport
            && let Some(h) = self.handlers.read().as_ref()
        {
            return h.pids();
        }
        vec![0]
    }

    /// Tells the kernel where upcalls go: the per-CPU PID array, or every vport's PIDs.
    fn install_pids(&self, handlers: Option<&Handlers>) -> Result<()> {
        match self.dispatch {
            Dispatch::PerCpu => {
                let pids = match handlers {
                    Some(h) => h.per_cpu_pids(super::upcall::n_cpu_slots()),
                    None => vec![0; super::upcall::n_cpu_slots()],
                };
                let req = self.fams.dp_req(
                    OVS_DP_CMD_SET,
                    0,
                    self.dp_ifindex,
                    // The kernel resets the features a SET does not carry.
                    &[
                        DpAttr::UserFeatures(self.user_features),
                        DpAttr::PerCpuPids(pids),
                    ],
                )?;
                self.request(req)?
                    .map_err(|e| e.into_error("set upcall PIDs", "datapath", &self.name))?;
            }
            Dispatch::PerVport => {
                let pids = handlers.map_or_else(|| vec![0], Handlers::pids);
                let mut reqs = Vec::new();
                for v in self.vports()? {
                    reqs.push(self.fams.vport_req(
                        OVS_VPORT_CMD_SET,
                        0,
                        self.dp_ifindex,
                        &[
                            VportAttr::PortNo(v.port_no.0),
                            VportAttr::UpcallPids(pids.clone()),
                        ],
                    )?);
                }
                for (r, req) in self.transact(&reqs)?.into_iter().zip(&reqs) {
                    match r {
                        // A port that went away meanwhile needs no PIDs.
                        Err(TxnError::Errno(Errno::ENODEV | Errno::ENOENT)) => {}
                        Err(e) => {
                            return Err(e.into_error(
                                "set upcall PIDs",
                                "port of datapath",
                                format!("{} ({} bytes)", self.name, req.attrs.len()),
                            ));
                        }
                        Ok(_) => {}
                    }
                }
            }
        }
        Ok(())
    }

    /// Builds the handlers for `cfg` and makes the kernel use them.
    fn apply_handlers(&self, cfg: &HandlerConfig) -> Result<()> {
        if !cfg.enabled {
            let old = self.handlers.write().take();
            drop(old);
            return self.install_pids(None);
        }
        let n = cfg.n_handlers.max(1);
        let new = Arc::new(Handlers::new(n)?);
        self.install_pids(Some(&new))?;
        *self.handlers.write() = Some(new);
        Ok(())
    }

    fn flow_put_request(&self, put: &FlowPut) -> Result<(Request, bool)> {
        let key = codec::key_bytes(&put.key, Some(&put.mask))?;
        let mask = codec::mask_bytes(&put.key, &put.mask)?;
        let actions = codec::actions_bytes(&put.actions)?;
        let mut attrs = vec![
            FlowAttr::Ufid(put.ufid.to_bytes().to_vec()),
            FlowAttr::Key(key),
            FlowAttr::Mask(mask),
            FlowAttr::Actions(actions),
        ];
        if put.flags.contains(PutFlags::ZERO_STATS) {
            attrs.push(FlowAttr::Clear);
        }
        if put.flags.contains(PutFlags::PROBE) {
            attrs.push(FlowAttr::Probe);
        }
        let cmd = if put.flags.contains(PutFlags::CREATE) {
            OVS_FLOW_CMD_NEW
        } else {
            OVS_FLOW_CMD_SET
        };
        let mut flags = if put.flags.contains(PutFlags::MODIFY) {
            0
        } else {
            NLM_F_CREATE
        };
        // The counters from before a modify come in the echo; a pure create needs none.
        let want_stats = put.flags.contains(PutFlags::MODIFY);
        if want_stats {
            flags |= NLM_F_ECHO;
        }
        Ok((
            self.fams.flow_req(cmd, flags, self.dp_ifindex, &attrs)?,
            want_stats,
        ))
    }

    fn flow_id_attrs(ufid: Ufid, key: Option<&crate::odp::FlowKey>) -> Result<Vec<FlowAttr>> {
        let mut attrs = vec![FlowAttr::Ufid(ufid.to_bytes().to_vec())];
        if let Some(k) = key {
            attrs.push(FlowAttr::Key(codec::key_bytes(k, None)?));
        }
        Ok(attrs)
    }

    fn flow_del_request(&self, del: &FlowDel) -> Result<Request> {
        let mut attrs = Self::flow_id_attrs(del.ufid, del.key.as_ref())?;
        attrs.push(FlowAttr::UfidFlags(
            OVS_UFID_F_OMIT_KEY | OVS_UFID_F_OMIT_MASK | OVS_UFID_F_OMIT_ACTIONS,
        ));
        self.fams
            .flow_req(OVS_FLOW_CMD_DEL, NLM_F_ECHO, self.dp_ifindex, &attrs)
    }

    fn flow_get_request(&self, get: &FlowGet) -> Result<Request> {
        let attrs = Self::flow_id_attrs(get.ufid, get.key.as_ref())?;
        self.fams
            .flow_req(OVS_FLOW_CMD_GET, 0, self.dp_ifindex, &attrs)
    }

    fn execute_request(&self, ex: &Execute) -> Result<Request> {
        let mut attrs = vec![
            PacketAttr::Packet(ex.packet.data().to_vec()),
            PacketAttr::Key(codec::packet_md_bytes(&ex.packet.md)?),
            PacketAttr::Actions(codec::actions_bytes(&ex.actions)?),
        ];
        if ex.probe {
            attrs.push(PacketAttr::Probe);
        }
        if ex.mtu != 0 {
            attrs.push(PacketAttr::Mru(ex.mtu));
        }
        self.fams
            .packet_req(OVS_PACKET_CMD_EXECUTE, self.dp_ifindex, &attrs)
    }
}

fn get_dp_by_name(fams: &Families, sock: &mut NlSock, name: &str) -> Result<Option<Reply>> {
    let req = fams.dp_req(OVS_DP_CMD_GET, 0, 0, &[DpAttr::Name(name.to_owned())])?;
    sock.request(req)
        .map_err(|e| e.into_error("open datapath", "datapath", name))
}

/// Negotiates user features as OVS does: a deliberately unknown bit tells an old kernel
/// (which accepts anything) from a new one (which refuses what it does not know); a new one
/// gets per-CPU upcall dispatch if it has it, else per-vport PIDs.
fn negotiate_features(
    fams: &Families,
    sock: &mut NlSock,
    info: &DpInfo,
    force_per_vport: bool,
) -> Result<(Dispatch, u32)> {
    let mut set = |features: u32| -> std::result::Result<u32, TxnError> {
        let req = fams
            .dp_req(
                OVS_DP_CMD_SET,
                NLM_F_ECHO,
                info.dp_ifindex,
                &[DpAttr::UserFeatures(features)],
            )
            .map_err(TxnError::Decode)?;
        match sock.request(req)? {
            Some(r) => Ok(parse_dp(&r).map_err(TxnError::Decode)?.user_features),
            None => Ok(features),
        }
    };
    let base = OVS_DP_F_UNALIGNED | OVS_DP_F_VPORT_PIDS;
    let err = |e: TxnError| e.into_error("set datapath features", "datapath", &info.name);
    if force_per_vport {
        let f = set(base).map_err(err)?;
        return Ok((Dispatch::PerVport, f));
    }
    match set(base | FEATURE_PROBE_BIT) {
        Ok(_) => {
            // An old kernel that ignores unknown bits: no per-CPU dispatch there.
            let f = set(base).map_err(err)?;
            Ok((Dispatch::PerVport, f))
        }
        Err(_) => match set(OVS_DP_F_UNALIGNED | OVS_DP_F_DISPATCH_UPCALL_PER_CPU) {
            Ok(f) => Ok((Dispatch::PerCpu, f)),
            Err(_) => {
                let f = set(base).map_err(err)?;
                Ok((Dispatch::PerVport, f))
            }
        },
    }
}

impl Dpif for DpifNetlink {
    fn name(&self) -> &str {
        &self.name
    }

    fn type_name(&self) -> &'static str {
        "system"
    }

    fn destroy(&self) -> Result<()> {
        let req = self.fams.dp_req(OVS_DP_CMD_DEL, 0, self.dp_ifindex, &[])?;
        self.request(req)?
            .map_err(|e| e.into_error("destroy datapath", "datapath", &self.name))?;
        Ok(())
    }

    fn stats(&self) -> Result<DpStats> {
        let req = self.fams.dp_req(OVS_DP_CMD_GET, 0, self.dp_ifindex, &[])?;
        let reply = self
            .request(req)?
            .map_err(|e| e.into_error("datapath stats", "datapath", &self.name))?
            .ok_or_else(|| Error::decode("OVS_DP_CMD_GET", "no reply"))?;
        Ok(parse_dp(&reply)?.stats)
    }

    fn port_add(&self, netdev: Arc<dyn Netdev>, port_no: Option<OdpPort>) -> Result<OdpPort> {
        self.port_add_named(netdev.name(), netdev.type_name(), port_no)
    }

    fn port_del(&self, port_no: OdpPort) -> Result<()> {
        let req = self.fams.vport_req(
            OVS_VPORT_CMD_DEL,
            0,
            self.dp_ifindex,
            &[VportAttr::PortNo(port_no.0)],
        )?;
        self.request(req)?
            .map_err(|e| e.into_error("port del", "port", port_no))?;
        Ok(())
    }

    fn port_query_by_number(&self, port_no: OdpPort) -> Result<DpifPort> {
        Ok(to_port(self.vport_get(port_no)?))
    }

    fn port_query_by_name(&self, name: &str) -> Result<DpifPort> {
        let req = self.fams.vport_req(
            OVS_VPORT_CMD_GET,
            0,
            self.dp_ifindex,
            &[VportAttr::Name(name.to_owned())],
        )?;
        let reply = self
            .request(req)?
            .map_err(|e| e.into_error("port query", "port", name))?
            .ok_or_else(|| Error::decode("OVS_VPORT_CMD_GET", "no reply"))?;
        let v = parse_vport(&reply)?;
        // The kernel finds names across datapaths when dp_ifindex is 0; ours is not, but
        // check anyway.
        if v.dp_ifindex != self.dp_ifindex {
            return Err(Error::not_found("port query", "port", name));
        }
        Ok(to_port(v))
    }

    fn port_dump(&self) -> Result<Vec<DpifPort>> {
        Ok(self.vports()?.into_iter().map(to_port).collect())
    }

    fn port_poll(&self) -> Result<Option<PortChange>> {
        let mut guard = self.notify.lock();
        let Some(n) = guard.as_mut() else {
            // First call: subscribe, and have the caller rescan (changes before now were
            // not seen).
            let sock = NlSock::new()?;
            sock.join(self.fams.vport_mcgroup)?;
            sock.set_nonblocking(true)?;
            *guard = Some(PortNotifier {
                sock,
                pending: VecDeque::new(),
            });
            return Ok(Some(PortChange::Unknown));
        };
        loop {
            if let Some(c) = n.pending.pop_front() {
                return Ok(Some(c));
            }
            match n.sock.recv_msgs() {
                Ok(None) => return Ok(None),
                Ok(Some(msgs)) => {
                    for m in msgs {
                        if let nl::Msg::Reply(r) = m
                            && r.family == self.fams.vport.id
                            && r.dp_ifindex == self.dp_ifindex
                        {
                            match parse_vport(&r) {
                                Ok(v) => n.pending.push_back(PortChange::Changed(v.name)),
                                Err(_) => n.pending.push_back(PortChange::Unknown),
                            }
                        }
                    }
                }
                Err(TxnError::Errno(Errno::ENOBUFS)) => return Ok(Some(PortChange::Unknown)),
                Err(e) => return Err(e.into_error("port poll", "datapath", &self.name)),
            }
        }
    }

    fn port_poll_wait(&self, poll: &mut PollSet) {
        match self.notify.lock().as_ref() {
            Some(n) if n.pending.is_empty() => poll.fd_wait(n.sock.as_raw_fd(), Interest::Read),
            // Not subscribed yet, or changes are waiting: port_poll has work now.
            _ => poll.immediate_wake(),
        }
    }

    fn flow_flush(&self) -> Result<()> {
        let req = self
            .fams
            .flow_req(OVS_FLOW_CMD_DEL, 0, self.dp_ifindex, &[])?;
        self.request(req)?
            .map_err(|e| e.into_error("flow flush", "datapath", &self.name))?;
        // Upcalls queued for the flushed flows are stale.
        self.recv_purge();
        Ok(())
    }

    fn operate(&self, ops: Vec<DpifOp>) -> Vec<Result<OpReply>> {
        enum Kind {
            Put { want_stats: bool, ufid: Ufid },
            Del(Ufid),
            Get(Ufid),
            Execute,
        }
        let mut results: Vec<Option<Result<OpReply>>> = (0..ops.len()).map(|_| None).collect();
        let mut reqs = Vec::with_capacity(ops.len());
        let mut index = Vec::with_capacity(ops.len());
        for (i, op) in ops.iter().enumerate() {
            let built = match op {
                DpifOp::Put(p) => self.flow_put_request(p).map(|(r, want_stats)| {
                    (
                        r,
                        Kind::Put {
                            want_stats,
                            ufid: p.ufid,
                        },
                    )
                }),
                DpifOp::Del(d) => self.flow_del_request(d).map(|r| (r, Kind::Del(d.ufid))),
                DpifOp::Get(g) => self.flow_get_request(g).map(|r| (r, Kind::Get(g.ufid))),
                DpifOp::Execute(e) => self.execute_request(e).map(|r| (r, Kind::Execute)),
            };
            match built {
                Ok((r, k)) => {
                    reqs.push(r);
                    index.push((i, k));
                }
                Err(e) => results[i] = Some(Err(e)),
            }
        }
        match self.transact(&reqs) {
            Err(e) => {
                // No socket to send on: every operation fails with the same errno.
                let errno = e.errno().unwrap_or(Errno::EIO);
                for (i, _) in &index {
                    results[*i] = Some(Err(Error::from_errno(
                        "operate", "datapath", &self.name, errno,
                    )));
                }
            }
            Ok(replies) => {
                for ((i, kind), r) in index.into_iter().zip(replies) {
                    results[i] = Some(match kind {
                        Kind::Put { want_stats, ufid } => match r {
                            Ok(reply) if want_stats => match reply.as_ref().map(parse_flow) {
                                Some(Ok(f)) => Ok(OpReply::Put(Some(f.stats))),
                                Some(Err(e)) => Err(e),
                                None => Ok(OpReply::Put(None)),
                            },
                            Ok(_) => Ok(OpReply::Put(None)),
                            Err(e) => Err(e.into_error("flow put", "flow", ufid)),
                        },
                        Kind::Del(ufid) => match r {
                            Ok(Some(reply)) => parse_flow(&reply).map(|f| OpReply::Del(f.stats)),
                            Ok(None) => Ok(OpReply::Del(FlowStats::default())),
                            Err(e) => Err(e.into_error("flow del", "flow", ufid)),
                        },
                        Kind::Get(ufid) => match r {
                            Ok(Some(reply)) => {
                                parse_flow(&reply).map(|f| OpReply::Get(Box::new(f)))
                            }
                            Ok(None) => Err(Error::decode("OVS_FLOW_CMD_GET", "no reply")),
                            Err(e) => Err(e.into_error("flow get", "flow", ufid)),
                        },
                        Kind::Execute => match r {
                            Ok(_) => Ok(OpReply::Execute),
                            Err(e) => Err(e.into_error("execute", "datapath", &self.name)),
                        },
                    });
                }
            }
        }
        results
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(Error::invalid("operate", "no result"))))
            .collect()
    }

    fn flow_dump(&self, terse: bool) -> Result<Box<dyn Iterator<Item = Result<DpifFlow>> + '_>> {
        let attrs = if terse {
            vec![FlowAttr::UfidFlags(
                OVS_UFID_F_OMIT_KEY | OVS_UFID_F_OMIT_MASK | OVS_UFID_F_OMIT_ACTIONS,
            )]
        } else {
            Vec::new()
        };
        let req = self
            .fams
            .flow_req(OVS_FLOW_CMD_GET, 0, self.dp_ifindex, &attrs)?;
        let dump =
            Dump::start(&req).map_err(|e| e.into_error("flow dump", "datapath", &self.name))?;
        let name = self.name.clone();
        Ok(Box::new(dump.map(move |r| {
            r.map_err(|e| e.into_error("flow dump", "datapath", &name))
                .and_then(|reply| parse_flow(&reply))
        })))
    }

    fn recv_set(&self, enable: bool) -> Result<()> {
        let mut cfg = self.config.lock();
        if cfg.enabled == enable && (self.handlers.read().is_some() == enable) {
            return Ok(());
        }
        cfg.enabled = enable;
        let r = self.apply_handlers(&cfg);
        if r.is_err() {
            cfg.enabled = self.handlers.read().is_some();
        }
        r
    }

    fn handlers_set(&self, n_handlers: u32) -> Result<()> {
        let mut cfg = self.config.lock();
        let n = n_handlers.max(1);
        if cfg.n_handlers == n && (self.handlers.read().is_some() == cfg.enabled) {
            return Ok(());
        }
        cfg.n_handlers = n;
        if cfg.enabled {
            self.apply_handlers(&cfg)
        } else {
            Ok(())
        }
    }

    fn recv(&self, handler_id: u32, out: &mut Vec<Upcall>, max: usize) -> Result<usize> {
        let handlers = self.handlers.read().clone();
        let Some(h) = handlers else {
            return Ok(0);
        };
        h.recv(handler_id, self.fams.packet.id, self.dp_ifindex, out, max)
    }

    fn recv_wait(&self, handler_id: u32, poll: &mut PollSet) {
        if let Some(h) = self.handlers.read().as_ref() {
            h.wait(handler_id, poll);
        }
    }

    fn recv_purge(&self) {
        if let Some(h) = self.handlers.read().as_ref() {
            h.purge();
        }
    }

    fn port_get_pid(&self, port_no: OdpPort) -> u32 {
        let handlers = self.handlers.read();
        let Some(h) = handlers.as_ref() else {
            return 0;
        };
        match self.dispatch {
            // The kernel picks the PID by CPU for action upcalls too and refuses 0.
            Dispatch::PerCpu => u32::MAX,
            Dispatch::PerVport => h.pid_for_port(port_no.0),
        }
    }
}

/// Builds an [`Upcall`] from the packet and key of an `OVS_PACKET_CMD_MISS` or `_ACTION`
/// message.
pub(crate) fn parse_upcall(reply: &Reply, handler_id: u32) -> Result<Upcall> {
    use crate::provider::UpcallKind;
    let kind = match reply.cmd {
        OVS_PACKET_CMD_MISS => UpcallKind::Miss,
        OVS_PACKET_CMD_ACTION => UpcallKind::Action,
        other => {
            return Err(Error::decode(
                "OVS_PACKET_CMD upcall",
                format!("unexpected command {other}"),
            ));
        }
    };
    let attrs: Vec<PacketAttr> = nl::parse_attrs("OVS_PACKET_CMD upcall", &reply.attrs)?;
    let mut packet = None;
    let mut raw_key = None;
    let mut userdata = None;
    let mut hash = None;
    for a in attrs {
        match a {
            PacketAttr::Packet(p) => packet = Some(p),
            PacketAttr::Key(k) => raw_key = Some(k),
            PacketAttr::Userdata(u) => userdata = Some(u),
            PacketAttr::Hash(h) => hash = Some(h),
            _ => {}
        }
    }
    let (Some(bytes), Some(raw_key)) = (packet, raw_key) else {
        return Err(Error::decode(
            "OVS_PACKET_CMD upcall",
            "no OVS_PACKET_ATTR_PACKET or OVS_PACKET_ATTR_KEY",
        ));
    };
    let key = codec::key_from_bytes(&raw_key)?;
    let mut packet = Packet::from_slice(&bytes);
    packet.md.in_port = key.in_port;
    packet.md.skb_priority = key.skb_priority;
    packet.md.skb_mark = key.skb_mark;
    packet.md.recirc_id = key.recirc_id;
    packet.md.dp_hash = key.dp_hash;
    // The kernel's skb hash: the low 32 bits (the high bit says it is an L4 hash).
    packet.md.rss_hash = hash.map(|h| u32::try_from(h & 0xffff_ffff).unwrap_or(0));
    Ok(Upcall {
        kind,
        packet,
        ufid: Ufid::from_key(&key),
        key,
        raw_key: Some(raw_key),
        userdata,
        pmd_id: Some(handler_id),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fams() -> Families {
        let fam = |id| Family {
            id,
            version: 1,
            mcast_groups: Vec::new(),
        };
        Families {
            dp: fam(0x20),
            vport: fam(0x21),
            flow: fam(0x22),
            packet: fam(0x23),
            vport_mcgroup: 5,
        }
    }

    fn encoded(req: &Request) -> Vec<u8> {
        let mut out = Vec::new();
        req.encode(netlink_packet_core::NLM_F_ACK, 1, 0, &mut out)
            .unwrap();
        out
    }

    fn ne32(v: u32) -> [u8; 4] {
        v.to_ne_bytes()
    }

    #[test]
    fn datapath_create_golden() {
        // Written from the uAPI: OVS_DP_CMD_NEW (1), version OVS_DATAPATH_VERSION (2),
        // dp_ifindex 0, NAME "dp0", UPCALL_PID 0, USER_FEATURES UNALIGNED|VPORT_PIDS (3).
        let req = fams()
            .dp_req(
                OVS_DP_CMD_NEW,
                NLM_F_ECHO,
                0,
                &[
                    DpAttr::Name("dp0".into()),
                    DpAttr::UpcallPid(0),
                    DpAttr::UserFeatures(OVS_DP_F_UNALIGNED | OVS_DP_F_VPORT_PIDS),
                ],
            )
            .unwrap();
        #[rustfmt::skip]
        let want: Vec<u8> = [
            &ne32(48)[..],                          // nlmsg_len
            &0x20u16.to_ne_bytes(),                 // ovs_datapath family id
            &(1u16 | 4 | 8).to_ne_bytes(),          // REQUEST | ACK | ECHO
            &ne32(1), &ne32(0),                     // seq, pid
            &[1, 2, 0, 0],                          // OVS_DP_CMD_NEW, version 2
            &ne32(0),                               // dp_ifindex
            &[8, 0, 1, 0], b"dp0\0",                // OVS_DP_ATTR_NAME
            &[8, 0, 2, 0], &ne32(0),                // OVS_DP_ATTR_UPCALL_PID
            &[8, 0, 5, 0], &ne32(3),                // OVS_DP_ATTR_USER_FEATURES
        ].concat();
        assert_eq!(encoded(&req), want);
    }

    #[test]
    fn flow_flush_and_terse_del_golden() {
        let f = fams();
        // Flush: OVS_FLOW_CMD_DEL with no attribute at all.
        let flush = f.flow_req(OVS_FLOW_CMD_DEL, 0, 7, &[]).unwrap();
        #[rustfmt::skip]
        let want: Vec<u8> = [
            &ne32(24)[..], &0x22u16.to_ne_bytes(), &5u16.to_ne_bytes(), &ne32(1), &ne32(0),
            &[2, 1, 0, 0],                          // OVS_FLOW_CMD_DEL, version 1
            &7i32.to_ne_bytes(),                    // dp_ifindex
        ].concat();
        assert_eq!(encoded(&flush), want);
        // Delete by UFID, asking for a terse reply.
        let ufid = Ufid(0x0102_0304_0506_0708_090a_0b0c_0d0e_0f10);
        let del = f
            .flow_req(
                OVS_FLOW_CMD_DEL,
                NLM_F_ECHO,
                7,
                &[
                    FlowAttr::Ufid(ufid.to_bytes().to_vec()),
                    FlowAttr::UfidFlags(7),
                ],
            )
            .unwrap();
        let bytes = encoded(&del);
        assert_eq!(&bytes[24..28], &[20, 0, 9, 0]); // OVS_FLOW_ATTR_UFID, 16 bytes
        assert_eq!(&bytes[28..32], &ne32(0x0102_0304)); // most significant word first
        assert_eq!(&bytes[44..48], &[8, 0, 10, 0]); // OVS_FLOW_ATTR_UFID_FLAGS
        assert_eq!(&bytes[48..52], &ne32(7)); // OMIT_KEY | OMIT_MASK | OMIT_ACTIONS
    }

    fn reply(family: u16, cmd: u8, dp_ifindex: i32, attrs: Vec<u8>) -> Reply {
        Reply {
            family,
            flags: 0,
            seq: 1,
            cmd,
            version: 1,
            dp_ifindex,
            attrs,
        }
    }

    #[test]
    fn datapath_and_vport_replies_decode() {
        let attrs = nl::emit_attrs(
            "t",
            &[
                DpAttr::Name("dp0".into()),
                DpAttr::Stats(super::super::msg::DpStatsRaw {
                    n_hit: 5,
                    n_missed: 2,
                    n_lost: 1,
                    n_flows: 3,
                }),
                DpAttr::UserFeatures(9),
            ],
        )
        .unwrap();
        let info = parse_dp(&reply(0x20, OVS_DP_CMD_NEW, 12, attrs)).unwrap();
        assert_eq!(info.name, "dp0");
        assert_eq!(info.dp_ifindex, 12);
        assert_eq!(info.user_features, 9);
        assert_eq!(
            (
                info.stats.n_hit,
                info.stats.n_missed,
                info.stats.n_lost,
                info.stats.n_flows
            ),
            (5, 2, 1, 3)
        );
        assert_eq!(info.stats.n_masks, None);
        assert!(parse_dp(&reply(0x20, OVS_DP_CMD_NEW, 12, Vec::new())).is_err());

        let attrs = nl::emit_attrs(
            "t",
            &[
                VportAttr::PortNo(3),
                VportAttr::Type(OVS_VPORT_TYPE_INTERNAL),
                VportAttr::Name("br0".into()),
                VportAttr::UpcallPids(vec![1, 2]),
                VportAttr::IfIndex(44),
            ],
        )
        .unwrap();
        let v = parse_vport(&reply(0x21, OVS_VPORT_CMD_NEW, 12, attrs)).unwrap();
        assert_eq!(v.port_no, OdpPort(3));
        assert_eq!(v.type_name(), "internal");
        assert_eq!(v.upcall_pids, vec![1, 2]);
        assert_eq!(v.ifindex, Some(44));
        assert_eq!(
            to_port(v),
            DpifPort {
                name: "br0".into(),
                type_name: "internal".into(),
                port_no: OdpPort(3)
            }
        );
        assert!(parse_vport(&reply(0x21, OVS_VPORT_CMD_NEW, 12, Vec::new())).is_err());
    }

    #[test]
    fn terse_flow_reply_decodes() {
        let ufid = Ufid(42);
        let attrs = nl::emit_attrs(
            "t",
            &[
                FlowAttr::Ufid(ufid.to_bytes().to_vec()),
                FlowAttr::Stats {
                    n_packets: 3,
                    n_bytes: 300,
                },
                FlowAttr::Used(1234),
                FlowAttr::TcpFlags(0x12),
            ],
        )
        .unwrap();
        let f = parse_flow(&reply(0x22, OVS_FLOW_CMD_GET, 12, attrs)).unwrap();
        assert_eq!(f.ufid, ufid);
        assert_eq!(f.key, None);
        assert_eq!(f.actions, None);
        assert_eq!(
            f.stats,
            FlowStats {
                n_packets: 3,
                n_bytes: 300,
                used_ms: 1234,
                tcp_flags: 0x12
            }
        );
        // Neither UFID nor key: a decode error. A short UFID: too.
        assert!(parse_flow(&reply(0x22, OVS_FLOW_CMD_GET, 12, Vec::new())).is_err());
        let bad = nl::emit_attrs("t", &[FlowAttr::Ufid(vec![1, 2, 3])]).unwrap();
        assert!(matches!(
            parse_flow(&reply(0x22, OVS_FLOW_CMD_GET, 12, bad)),
            Err(Error::Decode { .. })
        ));
    }

    #[test]
    fn port_types() {
        assert_eq!(vport_type_of("system").unwrap(), OVS_VPORT_TYPE_NETDEV);
        assert_eq!(vport_type_of("tap").unwrap(), OVS_VPORT_TYPE_NETDEV);
        assert_eq!(vport_type_of("internal").unwrap(), OVS_VPORT_TYPE_INTERNAL);
        assert!(matches!(
            vport_type_of("vxlan"),
            Err(Error::NotSupported { .. })
        ));
        assert_eq!(vport_type_name(OVS_VPORT_TYPE_GENEVE), "geneve");
        assert_eq!(vport_type_name(77), "unknown");
    }
}
