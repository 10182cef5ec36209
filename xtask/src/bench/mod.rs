//! `cargo xtask bench`: the same traffic through each switch under test, in interleaved
//! passes, and one table of medians with ratios against OVS, plus the ratio of rovs on
//! `dpdk` ports (`net_af_packet` vdevs on the same veths) to rovs on `system` ports.
//!
//! Each switch gets its own topology (`rovs-bench-<pid>-<switch>-{sw,h1,h2}`): host 1 sends,
//! host 2 receives. With two or more CPUs the generator, iperf3 and the hosts' receive
//! processing run on CPU0, and the switch's processes (every thread) and the receive
//! processing of its ports (RPS) on CPU1, so CPU1 does all of the switch's work and nothing
//! else of ours.
//!
//! Per pass and switch (the switch order rotates from pass to pass):
//! - 64-byte UDP frames flat out from the AF_PACKET generator, 1 flow and 10,000 flows
//!   (source IP and UDP source port vary): packets per second received by host 2's device,
//!   and the share of what host 1's device sent that did not arrive;
//! - the same at a fixed rate: the switch process's utime+stime and CPU1's busy time per
//!   packet received;
//! - iperf3 TCP from host 1 to host 2, with the hosts' default offloads and with them off;
//! - ping round trips.
//!
//! The destination IP of the UDP frames is not host 2's, so host 2's stack drops them
//! silently (no ICMP, no ARP) after its device counted them.

pub mod report;

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};

use crate::cleanup;
use crate::cmd::{self, Cmd};
use crate::deps;
use crate::pktgen::{self, GenArgs};
use crate::procfs::{self, CpuTimes};
use crate::topo::probe::NsProbe;
use crate::topo::switch::{self, SwitchEnv, SwitchKind, SwitchUnderTest, log_tail};
use crate::topo::traffic::{IperfServer, iperf_client, parse_iperf_json};
use crate::topo::{self, Topology};
use crate::workspace::{self, WorkDir};
use report::{Metric, Report};

const USAGE: &str = "usage: sudo cargo xtask bench [--quick] [--switch rovs,ovs,linux] [--passes N]
                              [--seconds S] [--rate PPS] [--nice N] [--no-rps] [--verbose]

Runs the same traffic through our vswitchd (system ports, and dpdk ports), Debian's
ovs-vswitchd (userspace datapath) and the Linux bridge, in interleaved passes, and prints one table of medians with ratios
against OVS; writes it as JSON and markdown under target/bench/.

  --switch LIST  which switches (default: rovs,rovs-dpdk,ovs,linux; rovs-dpdk is rovs
                 with its ports of type dpdk, built with --features dpdk)
  --quick        a short smoke run: 1 pass, 1 s per measurement
  --passes N     passes (default 4)
  --seconds S    measuring time per UDP measurement (default 3)
  --rate PPS     offered rate of the CPU-per-packet rows (default 30000: a rate every
                 switch sustains on a 2-vCPU VM, so CPU per packet is not inflated by drops)
  --nice N       nice value of the switch's threads, the generator and iperf3
                 (default -10, the same for every switch: keeps other load on a
                 shared machine from deciding the result; 0 leaves them alone)
  --no-rps       leave receive processing where the kernel puts it (by default the
                 switch's ports are steered to the switch CPU, the hosts' to CPU0)
  --verbose      show every command
";

/// The options.
#[derive(Clone, Debug, PartialEq)]
pub struct Opts {
    /// The switches, in column order.
    pub switches: Vec<SwitchKind>,
    /// Passes.
    pub passes: u32,
    /// Measuring time of each UDP measurement, seconds.
    pub seconds: f64,
    /// Warm-up before measuring, seconds.
    pub warmup: f64,
    /// Offered rate of the CPU rows.
    pub rate: u64,
    /// Flows of the many-flows rows.
    pub flows: u32,
    /// iperf3 duration, seconds.
    pub tcp_seconds: u32,
    /// Pings per pass.
    pub pings: u32,
    /// Nice value of the switch's threads, the generator and iperf3.
    pub nice: i32,
    /// Steer receive processing (RPS) to the CPUs.
    pub rps: bool,
    /// Show every command.
    pub verbose: bool,
    /// The short smoke run.
    pub quick: bool,
}

impl Default for Opts {
    fn default() -> Self {
        Opts {
            switches: SwitchKind::ALL.to_vec(),
            passes: 4,
            seconds: 3.0,
            warmup: 0.5,
            rate: 30_000,
            flows: 10_000,
            tcp_seconds: 3,
            pings: 20,
            nice: -10,
            rps: true,
            verbose: false,
            quick: false,
        }
    }
}

/// Parses the options; `None` means help was asked for.
///
/// # Errors
///
/// On an unknown option or a bad value.
pub fn parse(args: &[String]) -> Result<Option<Opts>> {
    let mut o = Opts::default();
    let mut explicit_passes = None;
    let mut explicit_seconds = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let (name, inline) = match a.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(v.to_owned())),
            _ => (a.as_str(), None),
        };
        let mut value = || -> Result<String> {
            inline
                .clone()
                .or_else(|| it.next().cloned())
                .ok_or_else(|| anyhow!("{name} needs a value"))
        };
        match name {
            "--quick" => o.quick = true,
            "--verbose" | "-v" => o.verbose = true,
            "--no-rps" => o.rps = false,
            "--nice" => {
                o.nice = value()?.parse().context("--nice")?;
                if !(-20..=19).contains(&o.nice) {
                    bail!("--nice must be between -20 and 19");
                }
            }
            "--switch" | "--switches" => o.switches = SwitchKind::parse_list(&value()?)?,
            "--passes" => {
                let v: u32 = value()?.parse().context("--passes")?;
                if v == 0 {
                    bail!("--passes must be at least 1");
                }
                explicit_passes = Some(v);
            }
            "--seconds" => {
                let v: f64 = value()?.parse().context("--seconds")?;
                if !(0.1..=600.0).contains(&v) {
                    bail!("--seconds must be between 0.1 and 600");
                }
                explicit_seconds = Some(v);
            }
            "--rate" => {
                o.rate = value()?.parse().context("--rate")?;
                if o.rate == 0 {
                    bail!("--rate must be at least 1");
                }
            }
            "-h" | "--help" => return Ok(None),
            other => bail!("unknown option {other:?}\n{USAGE}"),
        }
    }
    if o.quick {
        o.passes = 1;
        o.seconds = 1.0;
        o.warmup = 0.3;
        o.tcp_seconds = 2;
        o.pings = 10;
    }
    if let Some(p) = explicit_passes {
        o.passes = p;
    }
    if let Some(s) = explicit_seconds {
        o.seconds = s;
    }
    Ok(Some(o))
}

/// Where everything runs.
#[derive(Clone, Copy, Debug)]
struct Cpus {
    /// Generator, iperf3, hosts' receive processing.
    traffic: usize,
    /// The switch.
    switch: usize,
    /// Whether we pin at all (two or more CPUs).
    pinned: bool,
}

/// A switch ready for measuring: its topology, its processes, probes for counters.
struct Bed {
    // Drop order: server, probes, switch, then its topology.
    server: IperfServer,
    h1_probe: NsProbe,
    h2_probe: NsProbe,
    sw: Box<dyn SwitchUnderTest>,
    topo: Topology,
}

/// Counters at one instant.
#[derive(Clone, Copy, Debug)]
struct Snap {
    at: Instant,
    offered: u64,
    delivered: u64,
    proc_ticks: Option<u64>,
    cpu1: CpuTimes,
}

/// One UDP measurement.
#[derive(Clone, Copy, Debug)]
struct Udp {
    offered_pps: f64,
    delivered_pps: f64,
    loss_pct: f64,
    proc_ns: Option<f64>,
    cpu1_ns: f64,
}

impl Bed {
    fn setup(
        kind: SwitchKind,
        o: &Opts,
        prefix: &str,
        work: &WorkDir,
        cpus: Cpus,
        vswitchd: Option<PathBuf>,
    ) -> Result<Bed> {
        deps::ensure(kind.tools())?;
        let topo = Topology::create(&format!("{prefix}-{}", kind.name()), &[None, None])?;
        if cpus.pinned
            && o.rps
            && let Err(e) = topo.steer_rps(cpus.switch, cpus.traffic)
        {
            // The measurements still work, with receive processing where the kernel puts it.
            println!("  note: receive processing not steered to the CPUs (no RPS?): {e:#}");
        }
        let env = SwitchEnv {
            ns: topo.switch_ns.clone(),
            ports: topo.ports(),
            workdir: work.path.join(kind.name()),
            bridge: "br0".into(),
            vswitchd,
        };
        let sw = switch::start(kind, &env)?;
        pin_switch(&*sw, cpus, o.nice)?;
        let (h1, h2) = (topo.host(1)?.clone(), topo.host(2)?.clone());
        if kind == SwitchKind::RovsDpdk {
            // net_af_packet hands the switch what the kernel put in the packet ring, partial
            // checksums unfinished: the hosts must finish theirs (reference/dpdk.md).
            for h in [&h1, &h2] {
                h.cmd("ethtool")
                    .args(["-K", &h.dev, "tx", "off"])
                    .run()
                    .context("turning the hosts' tx checksum offload off")?;
            }
        }
        // Both directions, so the switch has learned both MACs.
        let (_, a) = topo::ping(&h1, h2.ip, 3, 0.2)?;
        let (_, b) = topo::ping(&h2, h1.ip, 1, 0.2)?;
        if a.is_empty() && b.is_empty() {
            let mut msg = "no packets crossed the switch (ping h1 <-> h2 unanswered)".to_owned();
            if let Some(log) = sw.log_file() {
                msg.push_str(&format!(
                    "\nthe last lines of {}:\n{}",
                    log.display(),
                    log_tail(&log, 5)
                ));
            }
            bail!(msg);
        }
        let server = IperfServer::start(&h2, cpus.pinned.then_some(cpus.traffic), o.nice)?;
        Ok(Bed {
            server,
            h1_probe: NsProbe::new(&h1.ns)?,
            h2_probe: NsProbe::new(&h2.ns)?,
            sw,
            topo,
        })
    }

    fn snap(&self, cpus: Cpus) -> Result<Snap> {
        let h1 = self.h1_probe.dev("eth0")?;
        let h2 = self.h2_probe.dev("eth0")?;
        let proc_ticks = match self.sw.datapath_pid() {
            Some(pid) => {
                let s = procfs::pid_stat(pid)?;
                Some(s.utime + s.stime)
            }
            None => None,
        };
        Ok(Snap {
            at: Instant::now(),
            offered: h1.tx_packets + h1.tx_dropped,
            delivered: h2.rx_packets,
            proc_ticks,
            cpu1: procfs::cpu_times(cpus.switch)?,
        })
    }

    /// Sends UDP from host 1 to host 2 (`rate` 0: flat out) and measures.
    fn udp(&self, o: &Opts, cpus: Cpus, flows: u32, rate: u64) -> Result<Udp> {
        // Threads started since the last pass are pinned too.
        pin_switch(&*self.sw, cpus, o.nice)?;
        let (h1, h2) = (self.topo.host(1)?, self.topo.host(2)?);
        // Refresh the MAC table (an aged-out destination would be flooded).
        let _ = topo::ping(h2, h1.ip, 1, 0.2);
        let gen_args = GenArgs {
            dev: h1.dev.clone(),
            src_mac: h1.mac,
            dst_mac: h2.mac,
            src_ip: if flows > 1 {
                Ipv4Addr::new(10, 1, 0, 1)
            } else {
                h1.ip
            },
            dst_ip: SINK_IP,
            flows,
            rate,
            seconds: o.warmup + o.seconds + 0.3,
            cpu: cpus.pinned.then_some(cpus.traffic),
        };
        let exe = std::env::current_exe().context("finding the xtask binary")?;
        let gen_cmd = h1
            .cmd(&exe.to_string_lossy())
            .arg("__pktgen")
            .args(gen_args.to_args())
            .niced(o.nice);
        let mut child = gen_cmd.spawn_with(Stdio::null(), Stdio::piped())?;
        let measured = (|| -> Result<(Snap, Snap)> {
            cleanup::sleep(Duration::from_secs_f64(o.warmup))?;
            let a = self.snap(cpus)?;
            cleanup::sleep(Duration::from_secs_f64(o.seconds))?;
            let b = self.snap(cpus)?;
            Ok((a, b))
        })();
        let status =
            cmd::wait_timeout(&mut child, Duration::from_secs_f64(gen_args.seconds + 10.0))?;
        let mut out = String::new();
        if let Some(mut e) = child.stderr.take() {
            let _ = std::io::Read::read_to_string(&mut e, &mut out);
        }
        if !status.success() {
            bail!("the generator failed ({status}): {}", out.trim());
        }
        let (a, b) = measured?;
        let dt = (b.at - a.at).as_secs_f64();
        let offered = b.offered.saturating_sub(a.offered);
        let delivered = b.delivered.saturating_sub(a.delivered);
        if offered == 0 {
            bail!("the generator sent nothing");
        }
        if delivered == 0 {
            bail!("no packets crossed the switch");
        }
        let tick_ns = 1e9 / to_f64(procfs::clock_ticks());
        let per_pkt = |ticks: u64| to_f64(ticks) * tick_ns / to_f64(delivered);
        Ok(Udp {
            offered_pps: to_f64(offered) / dt,
            delivered_pps: to_f64(delivered) / dt,
            loss_pct: 100.0 * to_f64(offered.saturating_sub(delivered)) / to_f64(offered),
            proc_ns: match (a.proc_ticks, b.proc_ticks) {
                (Some(x), Some(y)) => Some(per_pkt(y.saturating_sub(x))),
                _ => None,
            },
            cpu1_ns: per_pkt(b.cpu1.busy.saturating_sub(a.cpu1.busy)),
        })
    }

    fn tcp(&self, o: &Opts, cpus: Cpus) -> Result<f64> {
        if !self.server.running() {
            bail!("the iperf3 server exited");
        }
        let (h1, h2) = (self.topo.host(1)?, self.topo.host(2)?);
        let cpu = cpus.pinned.then_some(cpus.traffic);
        let out = iperf_client(h1, h2.ip, o.tcp_seconds, cpu, o.nice, true)?;
        let bps = parse_iperf_json(&out.stdout).map_err(|e| {
            if out.stdout.trim().is_empty() {
                anyhow!("iperf3 failed: {}", out.stderr.trim())
            } else {
                e
            }
        })?;
        if bps <= 0.0 {
            bail!("no TCP data crossed the switch");
        }
        Ok(bps / 1e9)
    }

    fn tcp_offloads_off(&self, o: &Opts, cpus: Cpus) -> Result<f64> {
        let hosts = [self.topo.host(1)?, self.topo.host(2)?];
        let mut saved = Vec::new();
        for h in hosts {
            let k = h.cmd("ethtool").args(["-k", &h.dev]).quiet().run()?;
            saved.push(parse_offloads(&k.stdout));
        }
        let set = |h: &topo::Host, vals: &[(&str, bool)]| -> Result<()> {
            let mut c = h.cmd("ethtool").args(["-K", &h.dev]);
            for (f, on) in vals {
                c = c.args([*f, if *on { "on" } else { "off" }]);
            }
            c.run().map(drop)
        };
        let off: Vec<(&str, bool)> = OFFLOADS.iter().map(|(short, _)| (*short, false)).collect();
        let result = (|| {
            for h in hosts {
                set(h, &off)?;
            }
            self.tcp(o, cpus)
        })();
        for (h, vals) in hosts.iter().zip(&saved) {
            if let Err(e) = set(h, vals) {
                eprintln!("xtask: restoring offloads of {}: {e:#}", h.ns);
            }
        }
        result
    }

    fn ping(&self, o: &Opts) -> Result<(f64, f64)> {
        let (h1, h2) = (self.topo.host(1)?, self.topo.host(2)?);
        let (_, rtts) = topo::ping(h1, h2.ip, o.pings, 0.05)?;
        if rtts.is_empty() {
            bail!("no ping answered");
        }
        let mean = rtts.iter().sum::<f64>() / to_f64(u64::try_from(rtts.len()).unwrap_or(1));
        let med = report::median(&rtts).unwrap_or(mean);
        Ok((med * 1000.0, mean * 1000.0))
    }
}

/// The destination of the generator's frames: in host 2's subnet but not its address, so
/// its stack drops them without answering.
pub const SINK_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 254);

/// The offloads switched off for the "offloads off" TCP row: `ethtool -K` names and the
/// names `ethtool -k` prints.
pub const OFFLOADS: [(&str, &str); 5] = [
    ("tx", "tx-checksumming"),
    ("rx", "rx-checksumming"),
    ("tso", "tcp-segmentation-offload"),
    ("gso", "generic-segmentation-offload"),
    ("gro", "generic-receive-offload"),
];

/// The state of [`OFFLOADS`] in `ethtool -k` output, as `ethtool -K` arguments.
pub fn parse_offloads(text: &str) -> Vec<(&'static str, bool)> {
    OFFLOADS
        .iter()
        .filter_map(|(short, long)| {
            let line = text
                .lines()
                .find(|l| l.trim_start().starts_with(&format!("{long}:")))?;
            let on = line.split(':').nth(1)?.trim_start().starts_with("on");
            Some((*short, on))
        })
        .collect()
}

fn to_f64(v: u64) -> f64 {
    // Counters stay far below 2^53, where the conversion is exact.
    v as f64
}

/// The `bench` task.
///
/// # Errors
///
/// If it cannot set up at all (a switch that cannot run only gets "n/a").
pub fn run(args: &[String]) -> Result<()> {
    let Some(o) = parse(args)? else {
        print!("{USAGE}");
        return Ok(());
    };
    deps::require_root("bench")?;
    cmd::set_echo(o.verbose);
    let tools: Vec<&deps::Tool> = deps::TOPO_TOOLS.iter().chain(deps::BENCH_TOOLS).collect();
    deps::ensure_refs(&tools)?;

    let n_cpus = procfs::n_cpus();
    let cpus = Cpus {
        traffic: 0,
        switch: 1,
        pinned: n_cpus >= 2,
    };
    let (root, target) = workspace::metadata()?;
    let started = std::time::SystemTime::now();
    let t0 = Instant::now();
    let load_start = procfs::loadavg();
    let cpu1_background = if cpus.pinned {
        background_busy(cpus.switch).map_or_else(|e| format!("? ({e})"), |p| format!("{p:.0}%"))
    } else {
        "-".into()
    };

    let mut report = Report {
        switches: o.switches.clone(),
        rate: o.rate,
        ..Report::default()
    };

    println!(
        "== Setting up: {}",
        o.switches
            .iter()
            .map(|s| s.title())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let (vswitchd, dpdk_build) = build_vswitchd(&o.switches);
    let prefix = topo::run_prefix("bench");
    let work = WorkDir::create(&prefix)?;
    let mut beds = Vec::new();
    for &kind in &o.switches {
        let bin = match (&vswitchd, kind) {
            (Some(Err(e)), SwitchKind::Rovs | SwitchKind::RovsDpdk) => {
                unavailable(&mut report, kind, &format!("build failed: {e:#}"));
                continue;
            }
            (Some(Ok(_)), SwitchKind::RovsDpdk) if dpdk_build.is_some() => {
                let why = dpdk_build.clone().unwrap_or_default();
                println!("  {:<13} n/a: {why}", kind.title());
                unavailable(&mut report, kind, &why);
                continue;
            }
            (Some(Ok(p)), _) => Some(p.clone()),
            _ => None,
        };
        match Bed::setup(kind, &o, &prefix, &work, cpus, bin) {
            Ok(b) => {
                println!("  {:<13} ready", kind.title());
                beds.push(b);
            }
            Err(e) => {
                let msg = format!("{e:#}");
                println!("  {:<13} n/a: {}", kind.title(), first_line(&msg));
                if msg.lines().count() > 1 {
                    cmd::print_indented(&msg);
                }
                let logs = workspace::keep_logs(
                    &work.path.join(kind.name()),
                    &target.join("bench").join("logs"),
                    &prefix,
                );
                for l in logs {
                    println!("  {:<13} log kept: {}", "", l.display());
                }
                unavailable(&mut report, kind, first_line(&msg));
            }
        }
        cleanup::check()?;
    }

    if cpus.pinned {
        // Our own threads (probes, waiting) and the tools we start stay off the switch's
        // CPU (the switch's daemons, started before, are pinned to theirs).
        procfs::pin_self(cpus.traffic)?;
    }
    for pass in 0..o.passes {
        let n = beds.len().max(1);
        println!("\n== Pass {}/{}", pass + 1, o.passes);
        let order: Vec<&Bed> = (0..beds.len())
            .map(|i| &beds[(i + usize::try_from(pass).unwrap_or(0)) % n])
            .collect();
        for (flows, m_pps, m_loss) in [
            (1, Metric::Udp1Mpps, Metric::Udp1Loss),
            (o.flows, Metric::Udp10kMpps, Metric::Udp10kLoss),
        ] {
            for b in &order {
                let r = b.udp(&o, cpus, flows, 0);
                cleanup::check()?;
                match &r {
                    Ok(u) => println!(
                        "  {:<13} UDP {flows:>5} flows flat out: offered {:.3} Mpps, received {:.3} Mpps, lost {:.1}%",
                        b.sw.kind().title(),
                        u.offered_pps / 1e6,
                        u.delivered_pps / 1e6,
                        u.loss_pct
                    ),
                    Err(e) => println!(
                        "  {:<13} UDP {flows:>5} flows: n/a: {e:#}",
                        b.sw.kind().title()
                    ),
                }
                report.push(
                    m_pps,
                    b.sw.kind(),
                    r.as_ref().map(|u| u.delivered_pps / 1e6).map_err(err_text),
                );
                report.push(
                    m_loss,
                    b.sw.kind(),
                    r.as_ref().map(|u| u.loss_pct).map_err(err_text),
                );
            }
        }
        for b in &order {
            let r = b.udp(&o, cpus, 1, o.rate);
            cleanup::check()?;
            match &r {
                Ok(u) => {
                    let short = u.delivered_pps < 0.95 * u.offered_pps;
                    println!(
                        "  {:<13} UDP at {} kpps: received {:.0} kpps{}, switch process {}, CPU1 {:.0} ns/packet",
                        b.sw.kind().title(),
                        o.rate / 1000,
                        u.delivered_pps / 1e3,
                        if short { " (could not keep up)" } else { "" },
                        u.proc_ns
                            .map_or("-".into(), |v| format!("{v:.0} ns/packet")),
                        u.cpu1_ns
                    );
                }
                Err(e) => println!(
                    "  {:<13} UDP at {} kpps: n/a: {e:#}",
                    b.sw.kind().title(),
                    o.rate / 1000
                ),
            }
            let kind = b.sw.kind();
            let proc_ = match &r {
                Ok(u) => {
                    if u.delivered_pps < 0.95 * u.offered_pps {
                        let note = format!(
                            "did not keep up with the offered {} kpps in some pass: CPU per packet is inflated",
                            o.rate / 1000
                        );
                        report.note(Metric::CpuPerPacket, kind, &note);
                        report.note(Metric::Cpu1PerPacket, kind, &note);
                    }
                    if kind == SwitchKind::RovsDpdk {
                        report.note(
                            Metric::CpuPerPacket,
                            kind,
                            "includes the busy-polling of the dpdk ports' poll thread (a whole CPU)",
                        );
                    }
                    match u.proc_ns {
                        Some(v) => Ok(v),
                        None => {
                            report.note(
                                Metric::CpuPerPacket,
                                kind,
                                "CPU1 busy time from /proc/stat (the bridge is no process: it forwards in softirq on CPU1)",
                            );
                            Ok(u.cpu1_ns)
                        }
                    }
                }
                Err(e) => Err(err_text(e)),
            };
            report.push(Metric::CpuPerPacket, b.sw.kind(), proc_);
            report.push(
                Metric::Cpu1PerPacket,
                b.sw.kind(),
                r.as_ref().map(|u| u.cpu1_ns).map_err(err_text),
            );
        }
        for (metric, what) in [
            (Metric::TcpGbps, "default offloads"),
            (Metric::TcpNoOffloadGbps, "offloads off"),
        ] {
            for b in &order {
                let r = if metric == Metric::TcpGbps {
                    b.tcp(&o, cpus)
                } else {
                    b.tcp_offloads_off(&o, cpus)
                };
                cleanup::check()?;
                match &r {
                    Ok(g) => println!("  {:<13} TCP, {what}: {g:.2} Gbit/s", b.sw.kind().title()),
                    Err(e) => println!("  {:<13} TCP, {what}: n/a: {e:#}", b.sw.kind().title()),
                }
                report.push(metric, b.sw.kind(), r.map_err(|e| err_text(&e)));
            }
        }
        for b in &order {
            let r = b.ping(&o);
            cleanup::check()?;
            match &r {
                Ok((med, mean)) => println!(
                    "  {:<13} ping x{}: median {med:.0} us, mean {mean:.0} us",
                    b.sw.kind().title(),
                    o.pings
                ),
                Err(e) => println!("  {:<13} ping: n/a: {e:#}", b.sw.kind().title()),
            }
            report.push(
                Metric::PingMedianUs,
                b.sw.kind(),
                r.as_ref().map(|x| x.0).map_err(err_text),
            );
            report.push(
                Metric::PingMeanUs,
                b.sw.kind(),
                r.as_ref().map(|x| x.1).map_err(err_text),
            );
        }
    }

    // Stop the switches and remove the topologies before writing up.
    drop(beds);
    drop(work);

    let c = &mut report.conditions;
    c.add(
        "date",
        report::utc_timestamp(
            started
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
        ),
    );
    c.add(
        "kernel",
        std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .unwrap_or_default()
            .trim(),
    );
    c.add("cpus", format!("{n_cpus} x {}", cpu_model()));
    c.add(
        "pinning",
        if cpus.pinned && o.rps {
            format!(
                "generator, iperf3 and hosts' receive processing on CPU{}; switch threads and its ports' receive processing (RPS) on CPU{}",
                cpus.traffic, cpus.switch
            )
        } else if cpus.pinned {
            format!(
                "generator and iperf3 on CPU{}, switch threads on CPU{}; receive processing not steered (--no-rps)",
                cpus.traffic, cpus.switch
            )
        } else {
            "none (one CPU)".into()
        },
    );
    c.add(
        "CPU1 busy before the run (1 s, other load)",
        cpu1_background,
    );
    c.add(
        "priority",
        if o.nice == 0 {
            "default".to_owned()
        } else {
            format!("switch threads, generator and iperf3 at nice {}", o.nice)
        },
    );
    c.add(
        "passes",
        format!("{} (interleaved, switch order rotating; medians)", o.passes),
    );
    c.add(
        "UDP",
        format!(
            "60-byte frames (64 on the wire), AF_PACKET sendmmsg x{}, {} s measured after {} s warm-up; \
             loss = 1 - received by host 2 / sent by host 1; {} flows vary source IP and UDP source port",
            pktgen::BATCH, o.seconds, o.warmup, o.flows
        ),
    );
    c.add(
        "CPU rows",
        format!(
            "1 flow paced at {} pps; CPU time / packets received",
            o.rate
        ),
    );
    c.add("TCP", format!("iperf3 -t {}, one stream; offloads off = ethtool -K tx rx tso gso gro off in both hosts", o.tcp_seconds));
    c.add("ping", format!("{} pings, 0.05 s apart", o.pings));
    c.add("OVS", ovs_version());
    c.add("OVS config", "datapath_type=netdev, fail_mode=standalone (NORMAL), other_config:userspace-tso-enable=true");
    c.add(
        "rovs",
        workspace::git_commit(&root).map_or("unknown commit".into(), |g| format!("commit {g}")),
    );
    c.add(
        "load average at start / end",
        format!("{load_start} / {}", procfs::loadavg()),
    );
    c.add("duration", format!("{:.0} s", t0.elapsed().as_secs_f64()));

    if o.switches.contains(&SwitchKind::RovsDpdk) {
        report.note(
            Metric::TcpGbps,
            SwitchKind::RovsDpdk,
            "the hosts' tx checksum offload off: net_af_packet passes partial checksums on unfinished",
        );
    }
    let dpdk_vs_system = dpdk_ratio_text(&report);
    if let Some(t) = &dpdk_vs_system {
        report
            .conditions
            .add("rovs dpdk / rovs system ports", t.clone());
    }

    println!("\n== Results\n");
    print!("{}", report.table());
    if let Some(t) = &dpdk_vs_system {
        println!("rovs on dpdk ports against rovs on system ports: {t}");
    }
    println!();
    print!("{}", report.conditions_text());

    let dir = target.join("bench");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let stamp = report::utc_timestamp(
        started
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
    )
    .replace([':', '-'], "");
    let json_path = dir.join(format!("bench-{stamp}.json"));
    let md_path = dir.join(format!("bench-{stamp}.md"));
    let json = serde_json::to_string_pretty(&report.json())?;
    std::fs::write(&json_path, format!("{json}\n"))?;
    std::fs::write(&md_path, report.markdown())?;
    std::fs::write(dir.join("latest.json"), format!("{json}\n"))?;
    std::fs::write(dir.join("latest.md"), report.markdown())?;
    println!(
        "\nwritten: {} and {} (also latest.json, latest.md)",
        json_path.display(),
        md_path.display()
    );
    Ok(())
}

/// Builds `vswitchd` for the rovs columns: with the `dpdk` feature when [`SwitchKind::RovsDpdk`]
/// is measured (one binary for both rovs columns, so they differ only in their ports). If
/// DPDK is missing or that build fails, builds without it; the second value then says why
/// the dpdk column is n/a.
fn build_vswitchd(switches: &[SwitchKind]) -> (Option<Result<PathBuf>>, Option<String>) {
    let rovs = switches.contains(&SwitchKind::Rovs);
    if switches.contains(&SwitchKind::RovsDpdk) {
        println!("  building vswitchd (cargo build --release -p vswitchd --features dpdk)");
        let built = deps::ensure_dpdk().and_then(|()| workspace::build_vswitchd_with(&["dpdk"]));
        match built {
            Ok(p) => return (Some(Ok(p)), None),
            Err(e) => {
                let why = format!("dpdk build failed: {}", err_text(&e));
                if !rovs {
                    return (Some(Err(e)), Some(why));
                }
                println!("  building vswitchd without dpdk (cargo build --release -p vswitchd)");
                return (Some(workspace::build_vswitchd()), Some(why));
            }
        }
    }
    if rovs {
        println!("  building vswitchd (cargo build --release -p vswitchd)");
        return (Some(workspace::build_vswitchd()), None);
    }
    (None, None)
}

/// `x0.85 (1 flow), x0.80 (10000 flows)`: 64-byte UDP received per second through rovs on
/// dpdk ports over the same through rovs on system ports, medians; `None` unless both were
/// measured.
fn dpdk_ratio_text(report: &report::Report) -> Option<String> {
    let ratio = |m: Metric| {
        let get = |k| report.cells.get(&(m, k)).and_then(report::Cell::median);
        match (get(SwitchKind::RovsDpdk), get(SwitchKind::Rovs)) {
            (Some(d), Some(s)) if s > 0.0 => Some((d, s, d / s)),
            _ => None,
        }
    };
    let parts: Vec<String> = [
        (Metric::Udp1Mpps, "1 flow"),
        (Metric::Udp10kMpps, "10k flows"),
    ]
    .into_iter()
    .filter_map(|(m, what)| {
        ratio(m).map(|(d, s, r)| format!("x{r:.2} ({what}: {d:.3} / {s:.3} Mpps)"))
    })
    .collect();
    (!parts.is_empty()).then(|| format!("64-byte UDP received {}", parts.join(", ")))
}

/// Pins every thread of the switch's processes to the switch CPU and sets their nice value.
fn pin_switch(sw: &dyn SwitchUnderTest, cpus: Cpus, nice: i32) -> Result<()> {
    for pid in sw.pids() {
        if cpus.pinned {
            procfs::pin_process(pid, cpus.switch)?;
        }
        if nice != 0 {
            procfs::renice_process(pid, nice)?;
        }
    }
    Ok(())
}

fn err_text(e: &anyhow::Error) -> String {
    first_line(&format!("{e:#}")).to_owned()
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

fn unavailable(report: &mut Report, kind: SwitchKind, reason: &str) {
    for m in Metric::ALL {
        report.push(m, kind, Err(reason.to_owned()));
    }
}

/// CPU `cpu`'s busy share over one second, in percent.
fn background_busy(cpu: usize) -> Result<f64> {
    let a = procfs::cpu_times(cpu)?;
    cleanup::sleep(Duration::from_secs(1))?;
    let b = procfs::cpu_times(cpu)?;
    let total = b.total.saturating_sub(a.total).max(1);
    Ok(100.0 * to_f64(b.busy.saturating_sub(a.busy)) / to_f64(total))
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

fn ovs_version() -> String {
    Cmd::new("ovs-vswitchd")
        .arg("--version")
        .quiet()
        .output()
        .ok()
        .and_then(|o| o.stdout.lines().next().map(str::to_owned))
        .unwrap_or_else(|| "not installed".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(v: &[&str]) -> Result<Option<Opts>> {
        parse(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn options() {
        let d = p(&[]).unwrap().unwrap();
        assert_eq!(d, Opts::default());
        let q = p(&["--quick", "--switch", "ovs,linux"]).unwrap().unwrap();
        assert_eq!(q.switches, [SwitchKind::Ovs, SwitchKind::Linux]);
        assert_eq!((q.passes, q.seconds), (1, 1.0));
        let q = p(&[
            "--quick",
            "--passes=2",
            "--seconds",
            "0.5",
            "--rate",
            "1000",
        ])
        .unwrap()
        .unwrap();
        assert_eq!((q.passes, q.seconds, q.rate), (2, 0.5, 1000));
        assert_eq!(p(&["-h"]).unwrap(), None);
        assert!(p(&["--passes", "0"]).is_err());
        assert!(p(&["--passes"]).is_err());
        assert!(p(&["--switch", "x"]).is_err());
        assert!(p(&["--what"]).is_err());
    }

    #[test]
    fn offloads() {
        let k = "Features for eth0:\n\
                 rx-checksumming: on\n\
                 tx-checksumming: on\n\
                 \ttx-checksum-ipv4: off [fixed]\n\
                 tcp-segmentation-offload: on\n\
                 \ttx-tcp-segmentation: on\n\
                 generic-segmentation-offload: on\n\
                 generic-receive-offload: off\n";
        assert_eq!(
            parse_offloads(k),
            [
                ("tx", true),
                ("rx", true),
                ("tso", true),
                ("gso", true),
                ("gro", false)
            ]
        );
        assert!(parse_offloads("").is_empty());
    }
}
