//! The text of the `ovs-appctl` commands ofproto-dpif answers, in OVS's formats:
//! `ofproto/trace`, `fdb/show`, `dpif/show`, `upcall/show`, `dpctl/dump-flows` and
//! `dpctl/show`.

use std::fmt::Write;
use std::sync::atomic::Ordering;

use dpif::monotonic_ms;
use dpif::odp::{FormatOptions, OdpPort, format_actions, format_dpif_flow};

use super::backer::BackerShared;
use super::cookie::userdata_text;
use super::trace::Trace;
use super::xlate::XlateOut;
use crate::flow::Flow;
use crate::matching::Match;
use crate::ofctl::format::{flow_to_string, megaflow_to_string};
use crate::provider::FdbEntry;

/// `ofproto/trace`'s text: the flow, the trace, the final flow, the megaflow and the
/// datapath actions.
pub(crate) fn format_trace(flow: &Flow, trace: &Trace, out: &XlateOut) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "Flow: {}", flow_to_string(flow, None));
    s.push_str(&trace.format());
    s.push_str("\nFinal flow: ");
    if out.final_flow == *flow {
        s.push_str("unchanged");
    } else {
        s.push_str(&flow_to_string(&out.final_flow, None));
    }
    s.push('\n');
    let _ = writeln!(
        s,
        "Megaflow: {}",
        megaflow_to_string(&Match::from_wildcards(flow, &out.wc), None)
    );
    let ud = |b: &[u8]| userdata_text(b);
    let opts = FormatOptions {
        userdata: Some(&ud),
        ..FormatOptions::terse()
    };
    let _ = write!(
        s,
        "Datapath actions: {}",
        format_actions(&out.actions, &opts)
    );
    match out.error {
        Some(e) => {
            let _ = writeln!(s, "\nTranslation failed ({e}), packet is dropped.");
        }
        None => s.push('\n'),
    }
    s
}

/// `fdb/show`'s text for `entries`: a header, then `port VLAN MAC Age` rows.
pub fn format_fdb(entries: &[FdbEntry]) -> String {
    let mut s = String::from(" port  VLAN  MAC                Age\n");
    for e in entries {
        let _ = write!(s, "{:>5}  {:>4}  {}  ", e.port.to_string(), e.vlan, e.mac);
        match e.age_s {
            Some(a) => {
                let _ = writeln!(s, "{a:>3}");
            }
            None => s.push_str("static\n"),
        }
    }
    s
}

/// The full name of a backer's datapath: `netdev@ovs-netdev`.
pub(crate) fn dp_full_name(b: &BackerShared) -> String {
    format!("{}@{}", b.dpif.type_name(), b.dpif.name())
}

/// `dpif/show`'s text for one backer.
pub(crate) fn dpif_show(b: &BackerShared, out: &mut String) {
    let st = b.dpif.stats().unwrap_or_default();
    let _ = writeln!(
        out,
        "{}: hit:{} missed:{}",
        dp_full_name(b),
        st.n_hit,
        st.n_missed
    );
    let ports = b.ports.read().clone();
    let bridges = b.bridges.read().clone();
    for name in bridges.keys() {
        let _ = writeln!(out, "  {name}:");
        let mut mine: Vec<(&String, u32, u32, &dyn netdev::Netdev)> = ports
            .iter()
            .filter(|(_, o)| o.bridge.name == *name)
            .map(|(odp, o)| (&o.name, o.ofp.0, *odp, &*o.netdev))
            .collect();
        mine.sort_by(|a, b| a.0.cmp(b.0));
        for (pname, ofp, odp, dev) in mine {
            let _ = write!(out, "    {pname} {ofp}/{odp}: ({}", dev.type_name());
            for (i, (k, v)) in dev.get_config().iter().enumerate() {
                let _ = write!(out, "{} {k}={v}", if i == 0 { ':' } else { ',' });
            }
            out.push_str(")\n");
        }
    }
}

/// `upcall/show`'s text for one backer.
pub(crate) fn upcall_show(b: &BackerShared, out: &mut String) {
    let d = *b.dump_stats.lock();
    let current = b.dpif.stats().map(|s| s.n_flows).unwrap_or(d.n_flows);
    let _ = writeln!(out, "{}:", dp_full_name(b));
    let _ = writeln!(
        out,
        "  flows         : (current {current}) (avg {}) (max {}) (limit {})",
        d.avg_n_flows,
        d.max_n_flows,
        b.flow_limit.load(Ordering::Relaxed)
    );
    let _ = writeln!(out, "  dump duration : {}ms", d.duration_ms);
    let _ = writeln!(out, "  ufid enabled : true");
    out.push('\n');
    let _ = writeln!(out, "  {}: (keys {})", b.revalidator_id, b.n_ukeys());
}

/// `dpctl/dump-flows [-m]`'s text for one backer's datapath; with `bridge`, only the
/// flows whose input port belongs to that bridge and no header (`dpif/dump-flows`).
pub(crate) fn dump_flows(b: &BackerShared, verbose: bool, bridge: Option<&str>) -> String {
    let mut out = String::new();
    if bridge.is_none() && b.callback_mode.load(Ordering::Acquire) {
        out.push_str("flow-dump from the main thread:\n");
    }
    let ports = b.ports.read().clone();
    let keep = |f: &dpif::DpifFlow| match bridge {
        None => true,
        Some(name) => f
            .key
            .as_ref()
            .and_then(|k| ports.get(&k.in_port))
            .is_some_and(|o| o.bridge.name == name),
    };
    let names: std::collections::HashMap<u32, String> = b
        .dpif
        .port_dump()
        .unwrap_or_default()
        .into_iter()
        .map(|p| (p.port_no.0, p.name))
        .collect();
    let name_of = |p: OdpPort| names.get(&p.0).cloned();
    let ud = |d: &[u8]| userdata_text(d);
    let mut opts = if verbose {
        FormatOptions::verbose().with_port_names(&name_of)
    } else {
        FormatOptions::terse()
    };
    opts.userdata = Some(&ud);
    let now = monotonic_ms();
    if let Ok(it) = b.dpif.flow_dump(false) {
        for f in it.flatten().filter(|f| keep(f)) {
            out.push_str(&format_dpif_flow(&f, now, &opts));
            out.push('\n');
        }
    }
    out
}

fn stat(v: u64) -> String {
    if v == u64::MAX {
        "?".to_owned()
    } else {
        v.to_string()
    }
}

fn human_bytes(v: u64) -> String {
    // Lossy on purpose: one decimal is printed.
    #[allow(clippy::cast_precision_loss)]
    let f = v as f64;
    if v == u64::MAX {
        String::new()
    } else if f >= 1024.0 * 1024.0 * 1024.0 {
        format!(" ({:.1} GiB)", f / (1024.0 * 1024.0 * 1024.0))
    } else if f >= 1024.0 * 1024.0 {
        format!(" ({:.1} MiB)", f / (1024.0 * 1024.0))
    } else if f >= 1024.0 {
        format!(" ({:.1} KiB)", f / 1024.0)
    } else {
        String::new()
    }
}

/// `dpctl/show [-s]`'s text for one backer's datapath.
pub(crate) fn dp_show(
    b: &BackerShared,
    netdevs: &netdev::Registry,
    with_stats: bool,
    out: &mut String,
) {
    let _ = writeln!(out, "{}:", dp_full_name(b));
    if let Ok(st) = b.dpif.stats() {
        let _ = writeln!(
            out,
            "  lookups: hit:{} missed:{} lost:{}",
            st.n_hit, st.n_missed, st.n_lost
        );
        let _ = writeln!(out, "  flows: {}", st.n_flows);
        if let (Some(mask_hit), Some(masks)) = (st.n_mask_hit, st.n_masks) {
            let pkts = st.n_hit + st.n_missed;
            // Ratios for display only.
            #[allow(clippy::cast_precision_loss)]
            let avg = if pkts == 0 {
                0.0
            } else {
                mask_hit as f64 / pkts as f64
            };
            let _ = writeln!(
                out,
                "  masks: hit:{mask_hit} total:{masks} hit/pkt:{avg:.2}"
            );
            if let Some(cache) = st.n_cache_hit {
                #[allow(clippy::cast_precision_loss)]
                let rate = if pkts == 0 {
                    0.0
                } else {
                    cache as f64 / pkts as f64 * 100.0
                };
                let _ = writeln!(out, "  cache: hit:{cache} hit-rate:{rate:.2}%");
            }
        }
    }
    for p in b.dpif.port_dump().unwrap_or_default() {
        let _ = write!(out, "  port {}: {}", p.port_no.0, p.name);
        let dev = netdevs.lookup(&p.name);
        if p.type_name != "system" {
            let _ = write!(out, " ({}", p.type_name);
            if let Some(d) = &dev {
                for (i, (k, v)) in d.get_config().iter().enumerate() {
                    let _ = write!(out, "{} {k}={v}", if i == 0 { ':' } else { ',' });
                }
            }
            out.push(')');
        }
        out.push('\n');
        if with_stats && let Some(Ok(s)) = dev.as_ref().map(|d| d.stats()) {
            let _ = writeln!(
                out,
                "    RX packets:{} errors:{} dropped:{} overruns:{} frame:{}",
                stat(s.rx_packets),
                stat(s.rx_errors),
                stat(s.rx_dropped),
                stat(s.rx_over_errors),
                stat(s.rx_frame_errors)
            );
            let _ = writeln!(
                out,
                "    TX packets:{} errors:{} dropped:{} aborted:{} carrier:{}",
                stat(s.tx_packets),
                stat(s.tx_errors),
                stat(s.tx_dropped),
                stat(s.tx_aborted_errors),
                stat(s.tx_carrier_errors)
            );
            let _ = writeln!(out, "    collisions:{}", stat(s.collisions));
            let _ = writeln!(
                out,
                "    RX bytes:{}{}  TX bytes:{}{}",
                stat(s.rx_bytes),
                human_bytes(s.rx_bytes),
                stat(s.tx_bytes),
                human_bytes(s.tx_bytes)
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::OfpPort;
    use netdev::EthAddr;

    #[test]
    fn fdb_format() {
        let e = [
            FdbEntry {
                port: OfpPort(2),
                vlan: 0,
                mac: EthAddr([2, 0, 0, 0, 2, 2]),
                age_s: Some(0),
            },
            FdbEntry {
                port: OfpPort::LOCAL,
                vlan: 10,
                mac: EthAddr([2, 0, 0, 0, 1, 1]),
                age_s: Some(123),
            },
            FdbEntry {
                port: OfpPort(1),
                vlan: 4095,
                mac: EthAddr([2, 0, 0, 0, 3, 3]),
                age_s: None,
            },
        ];
        assert_eq!(
            format_fdb(&e),
            " port  VLAN  MAC                Age\n\
             \x20   2     0  02:00:00:00:02:02    0\n\
             LOCAL    10  02:00:00:00:01:01  123\n\
             \x20   1  4095  02:00:00:00:03:03  static\n"
        );
    }
}
