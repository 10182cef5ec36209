//! The text of the `ovs-appctl` commands that the bridge layer answers, in OVS's formats
//! and with OVS's error texts. The daemon registers the commands and calls these.
//!
//! Each returns a [`Reply`]: the text `ovs-appctl` prints, or the error text it prints to
//! standard error (exiting 2).

use std::fmt::Write as _;

use ofproto::ofctl::{self, PortNames};
use ofproto::{OfpPort, OfprotoPort};

use crate::switch::Switch;

/// A command's answer: the text printed, or an error text.
pub type Reply = Result<String, String>;

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

    /// `ofproto/trace BRIDGE FLOW`: traces an OpenFlow flow (ovs-ofctl syntax, port names
    /// allowed) through the bridge's tables.
    ///
    /// OVS's other form, `[DP] ODP_FLOW` (a datapath flow), is answered with an error that
    /// says to use the bridge form; so are the packet options (`-generate`, a packet).
    ///
    /// # Errors
    ///
    /// OVS's texts: `BRIDGE: unknown bridge`, `Bad openflow flow syntax: ...`.
    pub fn cmd_trace(&self, args: &[String]) -> Reply {
        if let Some(opt) = args.iter().find(|a| a.starts_with('-')) {
            return Err(format!(
                "{opt}: tracing with a packet is not supported (give a bridge and a flow)"
            ));
        }
        match args {
            [bridge, flow] => {
                let looks_odp = flow.contains('(');
                let Some(ofproto) = self.ofproto(bridge) else {
                    if looks_odp {
                        return Err(format!(
                            "{bridge}: tracing datapath flows is not supported; give a \
                             bridge and an OpenFlow flow (in_port=1,dl_dst=...)"
                        ));
                    }
                    return Err(format!("{bridge}: unknown bridge"));
                };
                let names = port_names(&ofproto.port_dump());
                let flow = ofctl::parse_flow(flow, Some(&names))
                    .map_err(|e| format!("Bad openflow flow syntax: {e}"))?;
                ofproto.trace(&flow, None).map_err(|e| e.to_string())
            }
            [flow] if flow.contains('(') => Err(format!(
                "tracing datapath flows is not supported; give a bridge and an OpenFlow flow \
                 (\"{flow}\")"
            )),
            [flow] => Err(format!(
                "\"{flow}\" is not a datapath flow (or the bridge name was omitted)"
            )),
            _ => Err("Syntax error".to_owned()),
        }
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
