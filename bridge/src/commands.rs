//! The text of the `ovs-appctl` commands that the bridge layer answers, in OVS's formats
//! and with OVS's error texts. The daemon registers the commands and calls these.
//!
//! Each returns a [`Reply`]: the text `ovs-appctl` prints, or the error text it prints to
//! standard error (exiting 2).

use std::collections::BTreeSet;
use std::fmt::Write as _;

use ofproto::ofctl::{self, PortNames};
use ofproto::{OfpPort, OfprotoPort};

use crate::switch::Switch;

/// A command's answer: the text printed, or an error text.
pub type Reply = Result<String, String>;

/// Why a datapath flow could not be traced.
enum OdpTraceError {
    /// The text is not a datapath flow (so it may be an OpenFlow flow).
    Parse(String),
    /// It is one, but cannot be traced.
    Other(String),
}

/// The header line of `fdb/show`.
pub const FDB_SHOW_HEADER: &str = " port  VLAN  MAC                Age\n";

/// Port names of an ofproto, for flow syntax that names ports (`in_port=p1`).
fn port_names(ports: &[OfprotoPort]) -> PortNames {
    let mut names = PortNames::new();
    for p in ports {
        names.insert(p.name.clone(), p.ofp_port);
    }
    names
}

/// A port number as `ovs-ofctl` prints it without names (`1`, `LOCAL`).
fn port_string(p: OfpPort) -> String {
    let mut s = String::new();
    ofctl::format::format_port(&mut s, p, None);
    s
}

impl Switch {
    /// `ofproto/list`: every bridge name, one per line.
    pub fn cmd_ofproto_list(&self) -> Reply {
        let mut out = String::new();
        for name in self.bridge_names() {
            out.push_str(&name);
            out.push('\n');
        }
        Ok(out)
    }

    /// `fdb/show BRIDGE`: the MAC learning table, as ofproto-dpif prints it.
    ///
    /// # Errors
    ///
    /// `no such bridge`.
    pub fn cmd_fdb_show(&self, bridge: &str) -> Reply {
        let ofproto = self
            .ofproto(bridge)
            .ok_or_else(|| "no such bridge".to_owned())?;
        let mut out = String::from(FDB_SHOW_HEADER);
        for e in ofproto.fdb() {
            let _ = write!(out, "{:>5}  {:4}  {}  ", port_string(e.port), e.vlan, e.mac);
            match e.age_s {
                Some(age) => {
                    let _ = writeln!(out, "{age:3}");
                }
                None => out.push_str("static\n"),
            }
        }
        Ok(out)
    }

    /// `fdb/flush [BRIDGE]`: empties one bridge's MAC learning table, or every bridge's.
    ///
    /// # Errors
    ///
    /// `no such bridge`.
    pub fn cmd_fdb_flush(&mut self, bridge: Option<&str>) -> Reply {
        match bridge {
            Some(name) => self
                .ofproto_mut(name)
                .ok_or_else(|| "no such bridge".to_owned())?
                .fdb_flush(),
            None => {
                for name in self.bridge_names() {
                    if let Some(o) = self.ofproto_mut(&name) {
                        o.fdb_flush();
                    }
                }
            }
        }
        Ok("table successfully flushed".to_owned())
    }

    /// `bridge/dump-flows BRIDGE`: every rule, the hidden ones included, as OVS prints them.
    /// `now_ms` is the clock the rules' creation times use.
    ///
    /// # Errors
    ///
    /// `Unknown bridge`.
    pub fn cmd_bridge_dump_flows(&self, bridge: &str, now_ms: u64) -> Reply {
        let ofproto = self
            .ofproto(bridge)
            .ok_or_else(|| "Unknown bridge".to_owned())?;
        let mut out = String::new();
        for rule in ofproto.all_rules(true) {
            out.push_str(&ofctl::format::bridge_dump_flow_line(&rule, now_ms));
            out.push('\n');
        }
        Ok(out)
    }

    /// `ofproto/trace {[DP] ODP_FLOW | BRIDGE BR_FLOW}`: traces a flow through a bridge's
    /// tables.
    ///
    /// `BR_FLOW` is an OpenFlow flow in `ovs-ofctl` syntax (port names allowed);
    /// `ODP_FLOW` a datapath flow as `dpctl/dump-flows` prints it (`in_port(1),eth(...)`),
    /// whose input port picks the bridge; `DP` (`netdev@ovs-netdev`, `ovs-netdev`) may be
    /// left out when the switch has one datapath. The packet options (`-generate`, a
    /// packet) are refused with an error.
    ///
    /// # Errors
    ///
    /// OVS's texts: `BRIDGE: unknown bridge`, `Bad openflow flow syntax: ...`,
    /// `Cannot find the datapath`, `... (or the bridge name was omitted)`.
    pub fn cmd_trace(&self, args: &[String]) -> Reply {
        if let Some(opt) = args.iter().find(|a| a.starts_with('-')) {
            return Err(format!(
                "{opt}: tracing with a packet is not supported (give a bridge and a flow)"
            ));
        }
        let (dp, flow) = match args {
            [flow] => (None, flow),
            [first, flow] => (Some(first.as_str()), flow),
            _ => return Err("Syntax error".to_owned()),
        };
        // As OVS: a flow that parses as a datapath flow is one (and a first argument names
        // the datapath); otherwise the first argument must be a bridge.
        match (self.odp_flow(dp, flow), dp) {
            (Ok((bridge, flow)), _) => self.trace_flow(&bridge, &flow),
            (Err(OdpTraceError::Other(e)), _) => Err(e),
            (Err(OdpTraceError::Parse(e)), None) => {
                Err(format!("{e} (or the bridge name was omitted)"))
            }
            (Err(OdpTraceError::Parse(_)), Some(bridge)) => {
                let Some(ofproto) = self.ofproto(bridge) else {
                    return Err(format!("{bridge}: unknown bridge"));
                };
                let names = port_names(&ofproto.port_dump());
                let flow = ofctl::parse_flow(flow, Some(&names))
                    .map_err(|e| format!("Bad openflow flow syntax: {e}"))?;
                ofproto.trace(&flow, None).map_err(|e| e.to_string())
            }
        }
    }

    fn trace_flow(&self, bridge: &str, flow: &ofproto::Flow) -> Reply {
        let ofproto = self
            .ofproto(bridge)
            .ok_or_else(|| format!("{bridge}: unknown bridge"))?;
        ofproto.trace(flow, None).map_err(|e| e.to_string())
    }

    /// The bridge and OpenFlow flow of datapath flow `text` on datapath `dp` (or the only
    /// datapath).
    fn odp_flow(
        &self,
        dp: Option<&str>,
        text: &str,
    ) -> Result<(String, ofproto::Flow), OdpTraceError> {
        let dp_types: BTreeSet<String> = self
            .ofprotos()
            .map(|(_, o)| o.dp_type().to_owned())
            .collect();
        let dp_type = match dp {
            Some(d) => {
                let t = match d.split_once('@') {
                    Some((t, _)) => t,
                    None => d.strip_prefix("ovs-").unwrap_or(d),
                };
                dp_types.get(t).cloned()
            }
            None if dp_types.len() == 1 => dp_types.iter().next().cloned(),
            None => None,
        };
        let dpif = dp_type.as_ref().and_then(|t| {
            self.registries()
                .dpif
                .open(t, &format!("ovs-{t}"), false)
                .ok()
        });
        let by_name = |name: &str| {
            dpif.as_ref()
                .and_then(|d| d.port_query_by_name(name).ok())
                .map(|p| p.port_no)
        };
        let opts = dpif::odp::ParseOptions {
            port_names: Some(&by_name),
        };
        let (key, _mask, _fitness) =
            dpif::odp::parse_flow(text, &opts).map_err(|e| OdpTraceError::Parse(e.to_string()))?;
        let (Some(dp_type), Some(dpif)) = (dp_type, &dpif) else {
            return Err(OdpTraceError::Other("Cannot find the datapath".to_owned()));
        };
        let invalid = || {
            OdpTraceError::Other(format!(
                "Invalid datapath flow: no bridge has datapath port {}",
                key.in_port
            ))
        };
        let port = dpif
            .port_query_by_number(dpif::OdpPort(key.in_port))
            .map_err(|_| invalid())?;
        self.ofprotos()
            .filter(|(_, o)| o.dp_type() == dp_type)
            .find_map(|(bridge, o)| {
                let p = o.port_query_by_name(&port.name).ok()?;
                Some((
                    bridge.to_owned(),
                    ofproto::Flow::from_dp_key(&key, p.ofp_port),
                ))
            })
            .ok_or_else(invalid)
    }

    /// `dpif/show`: every datapath with its counters, its bridges and their ports.
    pub fn cmd_dpif_show(&self) -> Reply {
        Ok(self.class().dpif_show())
    }

    /// `dpctl/dump-flows [-m] [--names|--no-names] [DP]`: the datapath's flows.
    ///
    /// # Errors
    ///
    /// An unknown option or datapath; `filter=`, `type=` and `pmd=` are not supported.
    pub fn cmd_dpctl_dump_flows(&self, args: &[String]) -> Reply {
        let mut verbose = false;
        let mut dp = None;
        for a in args {
            match a.as_str() {
                "-m" | "--more" => verbose = true,
                "--names" | "--no-names" => {}
                s if s.starts_with("filter=")
                    || s.starts_with("type=")
                    || s.starts_with("pmd=") =>
                {
                    return Err(format!("{s}: not supported"));
                }
                s if s.starts_with('-') => return Err(format!("{s}: unknown option")),
                s if dp.is_none() => dp = Some(s),
                s => return Err(format!("{s}: too many arguments")),
            }
        }
        self.class()
            .dump_dp_flows(dp, verbose)
            .map_err(|e| e.to_string())
    }

    /// `dpif/dump-flows [-m] [--names|--no-names] BRIDGE`: the datapath flows whose input
    /// port belongs to the bridge.
    ///
    /// # Errors
    ///
    /// `no such bridge`; an unknown option.
    pub fn cmd_dpif_dump_flows(&self, args: &[String]) -> Reply {
        let mut verbose = false;
        let mut bridge = None;
        for a in args {
            match a.as_str() {
                "-m" | "--more" => verbose = true,
                "--names" | "--no-names" => {}
                s if s.starts_with('-') => return Err(format!("{s}: unknown option")),
                s if bridge.is_none() => bridge = Some(s),
                s => return Err(format!("{s}: too many arguments")),
            }
        }
        let bridge = bridge.ok_or_else(|| "no such bridge".to_owned())?;
        if self.ofproto(bridge).is_none() {
            return Err("no such bridge".to_owned());
        }
        self.class()
            .dump_bridge_flows(bridge, verbose)
            .map_err(|e| e.to_string())
    }

    /// `dpctl/show [-s] [DP]`: the datapath, its ports, and with `-s` their counters.
    ///
    /// # Errors
    ///
    /// An unknown option or datapath.
    pub fn cmd_dpctl_show(&self, args: &[String]) -> Reply {
        let mut stats = false;
        let mut dp = None;
        for a in args {
            match a.as_str() {
                "-s" | "--statistics" => stats = true,
                s if s.starts_with('-') => return Err(format!("{s}: unknown option")),
                s if dp.is_none() => dp = Some(s),
                s => return Err(format!("{s}: only one datapath at a time is supported")),
            }
        }
        self.class().dp_show(dp, stats).map_err(|e| e.to_string())
    }

    /// `upcall/show`.
    pub fn cmd_upcall_show(&self) -> Reply {
        Ok(self.class().upcall_show())
    }

    /// `bridge/show`: see [`Switch::show`].
    pub fn cmd_bridge_show(&self) -> Reply {
        Ok(self.show())
    }
}
