//! The benchmark's results: per metric and switch, one sample per pass; the table printed at
//! the end (rows = metrics, columns = switches with their ratio against OVS), and its JSON
//! and markdown forms.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::topo::SwitchKind;

/// Which way is better.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Better {
    /// More is better (throughput).
    Higher,
    /// Less is better (cost, latency, loss).
    Lower,
}

/// One row of the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Metric {
    /// 64-byte UDP, one flow, flat out: packets per second received.
    Udp1Mpps,
    /// ... and the share of offered packets that did not arrive.
    Udp1Loss,
    /// 64-byte UDP, 10,000 flows, flat out: received.
    Udp10kMpps,
    /// ... lost.
    Udp10kLoss,
    /// The switch's own CPU time per packet at a fixed rate.
    CpuPerPacket,
    /// All of CPU1's busy time per packet at a fixed rate.
    Cpu1PerPacket,
    /// TCP throughput, hosts' default offloads.
    TcpGbps,
    /// TCP throughput, offloads off in the hosts.
    TcpNoOffloadGbps,
    /// Ping round trip, median.
    PingMedianUs,
    /// Ping round trip, mean.
    PingMeanUs,
}

impl Metric {
    /// Every metric, in table order.
    pub const ALL: [Metric; 10] = [
        Metric::Udp1Mpps,
        Metric::Udp1Loss,
        Metric::Udp10kMpps,
        Metric::Udp10kLoss,
        Metric::CpuPerPacket,
        Metric::Cpu1PerPacket,
        Metric::TcpGbps,
        Metric::TcpNoOffloadGbps,
        Metric::PingMedianUs,
        Metric::PingMeanUs,
    ];

    /// Key in the JSON file.
    pub fn id(self) -> &'static str {
        match self {
            Metric::Udp1Mpps => "udp_1flow_mpps",
            Metric::Udp1Loss => "udp_1flow_loss_pct",
            Metric::Udp10kMpps => "udp_10kflows_mpps",
            Metric::Udp10kLoss => "udp_10kflows_loss_pct",
            Metric::CpuPerPacket => "switch_cpu_ns_per_packet",
            Metric::Cpu1PerPacket => "cpu1_busy_ns_per_packet",
            Metric::TcpGbps => "tcp_gbps",
            Metric::TcpNoOffloadGbps => "tcp_offloads_off_gbps",
            Metric::PingMedianUs => "ping_rtt_median_us",
            Metric::PingMeanUs => "ping_rtt_mean_us",
        }
    }

    /// Row label; `rate` is the fixed offered rate in packets per second.
    pub fn label(self, rate: u64) -> String {
        let k = rate / 1000;
        match self {
            Metric::Udp1Mpps => "UDP 64 B, 1 flow, received".into(),
            Metric::Udp1Loss => "UDP 64 B, 1 flow, lost".into(),
            Metric::Udp10kMpps => "UDP 64 B, 10k flows, received".into(),
            Metric::Udp10kLoss => "UDP 64 B, 10k flows, lost".into(),
            Metric::CpuPerPacket => format!("switch CPU per packet @ {k} kpps"),
            Metric::Cpu1PerPacket => format!("CPU1 busy per packet @ {k} kpps"),
            Metric::TcpGbps => "TCP, default offloads".into(),
            Metric::TcpNoOffloadGbps => "TCP, offloads off".into(),
            Metric::PingMedianUs => "ping RTT, median".into(),
            Metric::PingMeanUs => "ping RTT, mean".into(),
        }
    }

    /// Unit.
    pub fn unit(self) -> &'static str {
        match self {
            Metric::Udp1Mpps | Metric::Udp10kMpps => "Mpps",
            Metric::Udp1Loss | Metric::Udp10kLoss => "%",
            Metric::CpuPerPacket | Metric::Cpu1PerPacket => "ns",
            Metric::TcpGbps | Metric::TcpNoOffloadGbps => "Gbit/s",
            Metric::PingMedianUs | Metric::PingMeanUs => "us",
        }
    }

    /// Which way is better.
    pub fn better(self) -> Better {
        match self {
            Metric::Udp1Mpps | Metric::Udp10kMpps | Metric::TcpGbps | Metric::TcpNoOffloadGbps => {
                Better::Higher
            }
            _ => Better::Lower,
        }
    }
}

/// The samples of one metric on one switch, one per pass; an error says why a pass has no
/// value.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Cell {
    /// Per pass: the value, or why there is none.
    pub samples: Vec<Result<f64, String>>,
    /// Caveats about the value (how it was measured, what went wrong), as footnotes.
    pub notes: Vec<String>,
}

impl Cell {
    /// The median of the values, if any pass has one.
    pub fn median(&self) -> Option<f64> {
        median(
            &self
                .samples
                .iter()
                .filter_map(|s| s.as_ref().ok().copied())
                .collect::<Vec<_>>(),
        )
    }

    /// Why there is no value: the first error.
    pub fn reason(&self) -> Option<&str> {
        self.samples
            .iter()
            .find_map(|s| s.as_ref().err().map(String::as_str))
    }
}

/// The median of `v` (mean of the middle two for an even count).
pub fn median(v: &[f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    Some(if n % 2 == 1 {
        s[n / 2]
    } else {
        f64::midpoint(s[n / 2 - 1], s[n / 2])
    })
}

/// A value with about three significant digits.
pub fn fmt_value(v: f64) -> String {
    let a = v.abs();
    if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

/// What the run was, for the record.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Conditions {
    /// `(name, value)` in print order.
    pub items: Vec<(String, String)>,
}

impl Conditions {
    /// Adds one item.
    pub fn add(&mut self, k: &str, v: impl Into<String>) {
        self.items.push((k.to_owned(), v.into()));
    }
}

/// The whole result of a run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Report {
    /// The switches, in column order.
    pub switches: Vec<SwitchKind>,
    /// The fixed offered rate of the CPU rows.
    pub rate: u64,
    /// Cells by metric and switch.
    pub cells: BTreeMap<(Metric, SwitchKind), Cell>,
    /// The run's conditions.
    pub conditions: Conditions,
}

/// A finished cell's text: value, ratio and footnote.
struct CellText {
    value: String,
    ratio: String,
}

impl Report {
    /// Records one pass's sample.
    pub fn push(&mut self, m: Metric, s: SwitchKind, sample: Result<f64, String>) {
        self.cells.entry((m, s)).or_default().samples.push(sample);
    }

    /// Adds a caveat to a cell (once), shown as a footnote.
    pub fn note(&mut self, m: Metric, s: SwitchKind, note: &str) {
        let c = self.cells.entry((m, s)).or_default();
        if !c.notes.iter().any(|n| n == note) {
            c.notes.push(note.to_owned());
        }
    }

    fn texts(&self, footnotes: &mut Vec<String>) -> BTreeMap<(Metric, SwitchKind), CellText> {
        let mut out = BTreeMap::new();
        for m in Metric::ALL {
            let base = self.cells.get(&(m, SwitchKind::Ovs)).and_then(Cell::median);
            for &s in &self.switches {
                let cell = self.cells.get(&(m, s)).cloned().unwrap_or_default();
                let mut footnote = |text: &str| -> String {
                    let text = format!("{}: {text}", s.title());
                    let i = match footnotes.iter().position(|f| *f == text) {
                        Some(i) => i,
                        None => {
                            footnotes.push(text);
                            footnotes.len() - 1
                        }
                    };
                    format!("[{}]", i + 1)
                };
                let t = match cell.median() {
                    Some(v) => CellText {
                        value: std::iter::once(fmt_value(v))
                            .chain(cell.notes.iter().map(|n| footnote(n)))
                            .collect::<Vec<_>>()
                            .join(" "),
                        ratio: match base {
                            Some(b) if b != 0.0 && s != SwitchKind::Ovs => {
                                format!("x{:.2}", v / b)
                            }
                            _ => String::new(),
                        },
                    },
                    None => CellText {
                        value: format!("n/a {}", footnote(cell.reason().unwrap_or("not measured"))),
                        ratio: String::new(),
                    },
                };
                out.insert((m, s), t);
            }
        }
        out
    }

    /// The table for the terminal: one row per metric, per switch its median and its ratio
    /// against OVS, then footnotes and conditions.
    pub fn table(&self) -> String {
        let mut notes = Vec::new();
        let texts = self.texts(&mut notes);
        let mut rows: Vec<Vec<String>> = Vec::new();
        let mut head = vec!["metric".to_owned(), "unit".into(), "better".into()];
        head.extend(self.switches.iter().map(|s| s.title().to_owned()));
        rows.push(head);
        for m in Metric::ALL {
            let mut r = vec![
                m.label(self.rate),
                m.unit().into(),
                match m.better() {
                    Better::Higher => "higher".into(),
                    Better::Lower => "lower".into(),
                },
            ];
            for s in &self.switches {
                let t = &texts[&(m, *s)];
                r.push(if t.ratio.is_empty() {
                    t.value.clone()
                } else {
                    format!("{} ({})", t.value, t.ratio)
                });
            }
            rows.push(r);
        }
        let ncol = rows[0].len();
        let widths: Vec<usize> = (0..ncol)
            .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
            .collect();
        let mut s = String::new();
        for (i, r) in rows.iter().enumerate() {
            let line: Vec<String> = r
                .iter()
                .zip(&widths)
                .map(|(cell, w)| format!("{cell:<w$}"))
                .collect();
            s.push_str(line.join("  ").trim_end());
            s.push('\n');
            if i == 0 {
                s.push_str(&"-".repeat(widths.iter().sum::<usize>() + 2 * (ncol - 1)));
                s.push('\n');
            }
        }
        s.push_str("(xN: ratio to OVS, median of the passes)\n");
        Self::notes(&mut s, &notes);
        s
    }

    fn notes(s: &mut String, notes: &[String]) {
        for (i, n) in notes.iter().enumerate() {
            let _ = writeln!(s, "[{}] {n}", i + 1);
        }
    }

    /// The conditions as `key: value` lines.
    pub fn conditions_text(&self) -> String {
        let w = self
            .conditions
            .items
            .iter()
            .map(|(k, _)| k.len())
            .max()
            .unwrap_or(0);
        self.conditions
            .items
            .iter()
            .map(|(k, v)| format!("{:<w$}  {v}\n", format!("{k}:")))
            .collect()
    }

    /// The report in markdown: conditions, the table, every pass's values.
    pub fn markdown(&self) -> String {
        let mut notes = Vec::new();
        let texts = self.texts(&mut notes);
        let mut s = String::from("# rovs benchmark\n\n");
        for (k, v) in &self.conditions.items {
            let _ = writeln!(s, "- {k}: {v}");
        }
        s.push_str("\n| metric | unit | better |");
        for sw in &self.switches {
            let _ = write!(s, " {} |", sw.title());
        }
        s.push_str("\n|---|---|---|");
        for _ in &self.switches {
            s.push_str("---:|");
        }
        s.push('\n');
        for m in Metric::ALL {
            let better = match m.better() {
                Better::Higher => "higher",
                Better::Lower => "lower",
            };
            let _ = write!(s, "| {} | {} | {better} |", m.label(self.rate), m.unit());
            for sw in &self.switches {
                let t = &texts[&(m, *sw)];
                let v = &t.value;
                if t.ratio.is_empty() {
                    let _ = write!(s, " {v} |");
                } else {
                    let _ = write!(s, " {v} ({}) |", t.ratio);
                }
            }
            s.push('\n');
        }
        s.push_str("\nRatios are against OVS; values are medians of the passes.\n\n");
        let mut n = String::new();
        Self::notes(&mut n, &notes);
        for l in n.lines() {
            let _ = writeln!(s, "{l}  ");
        }
        s.push_str("\n## Every pass\n\n");
        for m in Metric::ALL {
            for sw in &self.switches {
                if let Some(c) = self.cells.get(&(m, *sw)) {
                    let v: Vec<String> = c
                        .samples
                        .iter()
                        .map(|x| match x {
                            Ok(v) => fmt_value(*v),
                            Err(_) => "n/a".into(),
                        })
                        .collect();
                    let _ = writeln!(s, "- {} / {}: {}", m.id(), sw.name(), v.join(", "));
                }
            }
        }
        s
    }

    /// The report as JSON.
    pub fn json(&self) -> Value {
        let conditions: serde_json::Map<String, Value> = self
            .conditions
            .items
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        let metrics: Vec<Value> = Metric::ALL
            .iter()
            .map(|&m| {
                let results: serde_json::Map<String, Value> = self
                    .switches
                    .iter()
                    .map(|&sw| {
                        let c = self.cells.get(&(m, sw)).cloned().unwrap_or_default();
                        let passes: Vec<Value> = c
                            .samples
                            .iter()
                            .map(|x| match x {
                                Ok(v) => json!(v),
                                Err(e) => json!({ "error": e }),
                            })
                            .collect();
                        (
                            sw.name().to_owned(),
                            json!({
                                "median": c.median(),
                                "passes": passes,
                                "error": if c.median().is_none() { c.reason() } else { None },
                                "notes": c.notes,
                            }),
                        )
                    })
                    .collect();
                json!({
                    "id": m.id(),
                    "label": m.label(self.rate),
                    "unit": m.unit(),
                    "better": match m.better() { Better::Higher => "higher", Better::Lower => "lower" },
                    "results": results,
                })
            })
            .collect();
        json!({ "conditions": conditions, "metrics": metrics })
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` for seconds since the epoch (UTC).
pub fn utc_timestamp(secs: u64) -> String {
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_report() -> Report {
        let mut r = Report {
            switches: vec![SwitchKind::Rovs, SwitchKind::Ovs, SwitchKind::Linux],
            rate: 200_000,
            ..Report::default()
        };
        for v in [0.70, 0.60, 0.69] {
            r.push(Metric::Udp1Mpps, SwitchKind::Ovs, Ok(v));
        }
        for v in [1.30, 1.40] {
            r.push(Metric::Udp1Mpps, SwitchKind::Linux, Ok(v));
        }
        for _ in 0..2 {
            r.push(
                Metric::Udp1Mpps,
                SwitchKind::Rovs,
                Err("no packets crossed".into()),
            );
        }
        r.push(Metric::CpuPerPacket, SwitchKind::Ovs, Ok(1897.0));
        r.push(Metric::CpuPerPacket, SwitchKind::Linux, Ok(645.0));
        r.note(
            Metric::CpuPerPacket,
            SwitchKind::Linux,
            "CPU1 busy time from /proc/stat",
        );
        r.note(
            Metric::CpuPerPacket,
            SwitchKind::Linux,
            "CPU1 busy time from /proc/stat",
        );
        r.conditions.add("kernel", "6.18");
        r.conditions.add("passes", "2");
        r
    }

    #[test]
    fn medians_and_values() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(&[]), None);
        assert_eq!(fmt_value(0.6912), "0.691");
        assert_eq!(fmt_value(1.3512), "1.35");
        assert_eq!(fmt_value(52.04), "52.0");
        assert_eq!(fmt_value(1897.4), "1897");
    }

    #[test]
    fn table_has_ratios_marks_and_reasons() {
        let t = sample_report().table();
        let lines: Vec<&str> = t.lines().collect();
        assert!(lines[0].starts_with("metric"), "{t}");
        assert!(
            lines[0].contains("rovs")
                && lines[0].contains("OVS")
                && lines[0].contains("Linux bridge")
        );
        let udp = lines
            .iter()
            .find(|l| l.starts_with("UDP 64 B, 1 flow, received"))
            .unwrap();
        assert!(udp.contains("n/a [1]"), "{udp}");
        assert!(udp.contains("0.690"), "{udp}");
        assert!(udp.contains("1.35 (x1.96)"), "{udp}");
        let cpu = lines
            .iter()
            .find(|l| l.starts_with("switch CPU per packet @ 200 kpps"))
            .unwrap();
        assert!(cpu.contains("645 [5] (x0.34)"), "{cpu}");
        assert!(t.contains("[1] rovs: no packets crossed"), "{t}");
        assert!(
            t.contains("[5] Linux bridge: CPU1 busy time from /proc/stat\n"),
            "{t}"
        );
        // Unmeasured cells share a footnote per reason.
        assert!(t.contains("rovs: not measured"), "{t}");
        // Columns line up: every data row is as wide as needed, no tabs.
        assert!(!t.contains('\t'));
    }

    #[test]
    fn markdown_and_json() {
        let r = sample_report();
        let md = r.markdown();
        assert!(
            md.contains("| metric | unit | better | rovs | OVS | Linux bridge |"),
            "{md}"
        );
        assert!(md.contains("645 [5] (x0.34)"), "{md}");
        assert!(md.contains("- kernel: 6.18"));
        assert!(
            md.contains("- udp_1flow_mpps / ovs: 0.700, 0.600, 0.690"),
            "{md}"
        );
        let j = r.json();
        assert_eq!(j["conditions"]["kernel"], "6.18");
        let m0 = &j["metrics"][0];
        assert_eq!(m0["id"], "udp_1flow_mpps");
        assert_eq!(m0["results"]["ovs"]["median"], 0.69);
        assert_eq!(m0["results"]["rovs"]["median"], Value::Null);
        assert_eq!(m0["results"]["rovs"]["error"], "no packets crossed");
        assert_eq!(
            m0["results"]["rovs"]["passes"][0]["error"],
            "no packets crossed"
        );
    }

    #[test]
    fn timestamps() {
        assert_eq!(utc_timestamp(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc_timestamp(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(utc_timestamp(1_795_301_999), "2026-11-21T22:59:59Z");
    }
}
