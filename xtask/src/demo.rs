//! `cargo xtask demo`: three hosts in network namespaces joined by veth pairs to a switch,
//! ping between them, a short TCP transfer, and the switch's MAC table and datapath flows.

use anyhow::{Result, bail};

use crate::cleanup;
use crate::cmd::{self, print_indented};
use crate::deps;
use crate::topo::switch::{self, SwitchEnv, SwitchKind, SwitchUnderTest, log_tail};
use crate::topo::traffic::{IperfServer, iperf_client};
use crate::topo::{self, Topology};
use crate::workspace::{self, WorkDir};

const USAGE: &str = "usage: sudo cargo xtask demo [--switch rovs|ovs|linux] [--keep]

Three hosts in network namespaces (10.0.0.1-3/24), each joined by a veth pair to the
switch, which runs in a namespace of its own. Shows ping between the hosts, a 3-second
TCP transfer (iperf3, the hosts' default offloads), and the switch's MAC table and
datapath flows (Debian's ovs-appctl against the switch's control socket), then removes
everything it made, also on failure or Ctrl-C.

  --switch S   rovs (default): our vswitchd, userspace datapath, built first;
               ovs: Debian's ovs-vswitchd, userspace datapath; linux: the Linux bridge
  --keep       leave everything running for poking around, and print how to remove it
";

/// The options.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Opts {
    /// The switch to run.
    pub switch: SwitchKind,
    /// Leave it all running.
    pub keep: bool,
}

/// Parses the options; `None` means help was asked for.
///
/// # Errors
///
/// On an unknown option or switch.
pub fn parse(args: &[String]) -> Result<Option<Opts>> {
    let mut o = Opts {
        switch: SwitchKind::Rovs,
        keep: false,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--keep" => o.keep = true,
            "--switch" => {
                let Some(v) = it.next() else {
                    bail!("--switch needs a value (rovs, ovs or linux)");
                };
                o.switch = SwitchKind::parse(v)?;
            }
            s if s.starts_with("--switch=") => {
                o.switch = SwitchKind::parse(&s["--switch=".len()..])?;
            }
            "-h" | "--help" => return Ok(None),
            other => bail!("unknown option {other:?}\n{USAGE}"),
        }
    }
    Ok(Some(o))
}

/// Prints a section header.
pub fn section(title: &str) {
    println!("\n== {title}");
}

/// The rate on iperf3's `receiver` summary line (`2.85 Gbits/sec`).
pub fn iperf_receiver_rate(out: &str) -> Option<String> {
    let line = out.lines().find(|l| l.trim_end().ends_with("receiver"))?;
    let words: Vec<&str> = line.split_whitespace().collect();
    let i = words.iter().position(|w| w.ends_with("bits/sec"))?;
    Some(format!("{} {}", words.get(i.checked_sub(1)?)?, words[i]))
}

/// The `demo` task.
///
/// # Errors
///
/// If it cannot set up, or traffic does not cross the switch.
pub fn run(args: &[String]) -> Result<()> {
    let Some(opts) = parse(args)? else {
        print!("{USAGE}");
        return Ok(());
    };
    deps::require_root("demo")?;
    cmd::set_echo(true);
    let kind = opts.switch;

    section("Tools");
    let tools: Vec<&deps::Tool> = deps::TOPO_TOOLS.iter().chain(kind.tools()).collect();
    deps::ensure_refs(&tools)?;
    println!(
        "  present: {}",
        tools
            .iter()
            .map(|t| t.command)
            .collect::<Vec<_>>()
            .join(", ")
    );
    let stale = topo::stale_namespaces();
    if !stale.is_empty() {
        println!(
            "  note: {} namespaces left by earlier runs ({}...): `sudo cargo xtask clean` removes them",
            stale.len(),
            stale[0]
        );
    }

    let vswitchd = match kind {
        SwitchKind::Rovs => {
            section("Build our vswitchd");
            Some(workspace::build_vswitchd()?)
        }
        SwitchKind::RovsDpdk => {
            section("Build our vswitchd with DPDK");
            crate::deps::ensure_dpdk()?;
            Some(workspace::build_vswitchd_with(&["dpdk"])?)
        }
        _ => None,
    };

    let prefix = topo::run_prefix("demo");
    section("Topology: 3 hosts in network namespaces, veth pairs to the switch's namespace");
    let work = WorkDir::create(&prefix)?;
    let topo = Topology::create(&prefix, &[None, None, None])?;
    println!();
    for h in &topo.hosts {
        println!(
            "  {:<22} {} {}  {}/24  <-veth->  {} in {}",
            h.ns,
            h.dev,
            crate::pktgen::fmt_mac(&h.mac),
            h.ip,
            h.port,
            topo.switch_ns
        );
    }

    section(&format!("Switch: {}", kind.description()));
    let env = SwitchEnv {
        ns: topo.switch_ns.clone(),
        ports: topo.ports(),
        workdir: work.path.join(kind.name()),
        bridge: "br0".into(),
        vswitchd,
    };
    let sw = switch::start(kind, &env)?;

    let outcome = exercise(&topo);
    for (title, c) in sw.inspect() {
        section(&title);
        match c.output() {
            Ok(out) => print_indented(&out.both()),
            Err(e) => println!("    ({e:#})"),
        }
    }
    if outcome.is_err()
        && let Some(log) = sw.log_file()
    {
        section(&format!("Last lines of {}", log.display()));
        print_indented(&log_tail(&log, 20));
        if let Ok((_, target)) = workspace::metadata() {
            let dest = target.join("demo");
            for l in workspace::keep_logs(&env.workdir, &dest, &prefix) {
                println!("  log kept: {}", l.display());
            }
        }
    }

    if opts.keep {
        // After this the guards forget their actions: dropping them removes nothing.
        keep(&topo, &*sw, &work);
    } else {
        section("Cleanup");
        drop(sw);
        drop(topo);
        drop(work);
        println!("  removed everything the demo made");
    }
    match outcome {
        Ok(summary) => {
            println!("\ndemo passed on {}: {summary}", kind.title());
            Ok(())
        }
        Err(e) => Err(e.context(format!("demo failed on {}", kind.title()))),
    }
}

/// Ping between every pair of hosts, then TCP from host 1 to host 3.
fn exercise(topo: &Topology) -> Result<String> {
    let h = |i| topo.host(i);
    let mut answered = 0;
    let mut failed = Vec::new();
    for (a, b) in [(1, 2), (2, 3), (3, 1)] {
        let (from, to) = (h(a)?, h(b)?);
        section(&format!("ping h{a} -> h{b} ({})", to.ip));
        let (out, rtts) = topo::ping(from, to.ip, 3, 0.2)?;
        print_indented(&out);
        if rtts.is_empty() {
            failed.push(format!("h{a} -> h{b}"));
        } else {
            answered += 1;
        }
        cleanup::check()?;
    }
    if answered == 0 {
        bail!("no packets crossed the switch: no ping between the hosts was answered");
    }
    if !failed.is_empty() {
        bail!("ping failed between {}", failed.join(", "));
    }

    let (client, server) = (h(1)?, h(3)?);
    section(&format!(
        "TCP: iperf3 h1 -> h3 ({}), 3 s, default offloads",
        server.ip
    ));
    let srv = IperfServer::start(server, None, 0)?;
    let out = iperf_client(client, server.ip, 3, None, 0, false)?;
    print_indented(&out.both());
    drop(srv);
    let rate = iperf_receiver_rate(&out.stdout);
    match rate {
        Some(r) if out.status.success() => Ok(format!(
            "ping answered between all 3 pairs of hosts; TCP h1 -> h3 {r}"
        )),
        _ => bail!("no TCP data crossed the switch (iperf3 {})", out.status),
    }
}

fn keep(topo: &Topology, sw: &dyn SwitchUnderTest, work: &WorkDir) {
    let kept = cleanup::keep_all();
    section("Left running (--keep)");
    let (h1, h2) = (&topo.hosts[0], &topo.hosts[1]);
    println!("  try:");
    println!("    ip netns exec {} ping {}", h1.ns, h2.ip);
    for (_, c) in sw.inspect() {
        println!("    {}", c.display());
    }
    println!(
        "  remove it all with `sudo cargo xtask clean`, or by hand ({} things):",
        kept.len()
    );
    for s in sw.stop_hint() {
        println!("    {s}");
    }
    for ns in topo.namespaces() {
        println!("    ip netns del {ns}");
    }
    println!("    rm -rf {}", work.path.display());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options() {
        let p = |v: &[&str]| parse(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(
            p(&[]).unwrap(),
            Some(Opts {
                switch: SwitchKind::Rovs,
                keep: false
            })
        );
        assert_eq!(
            p(&["--switch", "ovs", "--keep"]).unwrap(),
            Some(Opts {
                switch: SwitchKind::Ovs,
                keep: true
            })
        );
        assert_eq!(
            p(&["--switch=linux"]).unwrap().unwrap().switch,
            SwitchKind::Linux
        );
        assert_eq!(p(&["--help"]).unwrap(), None);
        assert!(p(&["--switch"]).is_err());
        assert!(p(&["--switch", "dpdk"]).is_err());
        assert!(p(&["--bogus"]).is_err());
    }

    #[test]
    fn iperf_rate() {
        let out = "[ ID] Interval           Transfer     Bitrate         Retr\n\
                   [  5]   0.00-3.00   sec   685 MBytes  2.87 Gbits/sec  77662             sender\n\
                   [  5]   0.00-3.04   sec   685 MBytes  2.60 Gbits/sec                  receiver\n\
                   \niperf Done.\n";
        assert_eq!(iperf_receiver_rate(out).as_deref(), Some("2.60 Gbits/sec"));
        assert_eq!(
            iperf_receiver_rate("iperf3: error - unable to connect"),
            None
        );
    }
}
