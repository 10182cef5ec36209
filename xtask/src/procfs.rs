//! Reading `/proc`: device counters (`net/dev`), process CPU time (`<pid>/stat`), CPU busy
//! time (`/proc/stat`), and pinning a process's threads to a CPU.

use std::collections::BTreeMap;

use anyhow::{Context, Result, anyhow};
use nix::sched::{CpuSet, sched_setaffinity};
use nix::unistd::Pid;

/// Counters of one network device, as `/proc/net/dev` shows them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DevCounters {
    /// Packets received.
    pub rx_packets: u64,
    /// Received packets dropped.
    pub rx_dropped: u64,
    /// Packets sent.
    pub tx_packets: u64,
    /// Packets dropped on send.
    pub tx_dropped: u64,
}

/// Parses `/proc/net/dev` into counters by device name.
///
/// # Errors
///
/// If a device line does not have the 16 counters.
pub fn parse_net_dev(text: &str) -> Result<BTreeMap<String, DevCounters>> {
    let mut map = BTreeMap::new();
    // Two header lines, then `  name: rx_bytes rx_packets rx_errs rx_drop rx_fifo rx_frame
    // rx_compressed rx_multicast tx_bytes tx_packets tx_errs tx_drop ...`.
    for line in text.lines().skip(2) {
        let Some((name, rest)) = line.split_once(':') else {
            continue;
        };
        let nums: Vec<u64> = rest
            .split_whitespace()
            .map(str::parse)
            .collect::<Result<_, _>>()
            .with_context(|| format!("bad /proc/net/dev line {line:?}"))?;
        if nums.len() < 16 {
            return Err(anyhow!("short /proc/net/dev line {line:?}"));
        }
        map.insert(
            name.trim().to_owned(),
            DevCounters {
                rx_packets: nums[1],
                rx_dropped: nums[3],
                tx_packets: nums[9],
                tx_dropped: nums[11],
            },
        );
    }
    Ok(map)
}

/// The parts of `/proc/<pid>/stat` we use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PidStat {
    /// Process state letter (`R`, `S`, `Z`, ...).
    pub state: char,
    /// User CPU time of the whole process (all threads, also exited ones), in clock ticks.
    pub utime: u64,
    /// System CPU time, in clock ticks.
    pub stime: u64,
}

/// Parses `/proc/<pid>/stat` (the command name may contain spaces and parentheses).
///
/// # Errors
///
/// If the text is not in that format.
pub fn parse_pid_stat(text: &str) -> Result<PidStat> {
    let close = text
        .rfind(')')
        .ok_or_else(|| anyhow!("bad stat line {text:?}"))?;
    // Fields after the name, counting from field 3 (state).
    let f: Vec<&str> = text[close + 1..].split_whitespace().collect();
    let get = |i: usize| -> Result<u64> {
        f.get(i)
            .ok_or_else(|| anyhow!("short stat line {text:?}"))?
            .parse()
            .with_context(|| format!("bad stat line {text:?}"))
    };
    let state = f
        .first()
        .and_then(|s| s.chars().next())
        .ok_or_else(|| anyhow!("bad stat line {text:?}"))?;
    // utime is field 14 and stime 15 (1-based), so 11 and 12 after the state.
    Ok(PidStat {
        state,
        utime: get(11)?,
        stime: get(12)?,
    })
}

/// Reads `/proc/<pid>/stat`.
///
/// # Errors
///
/// If the process does not exist.
pub fn pid_stat(pid: i32) -> Result<PidStat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("process {pid} is gone"))?;
    parse_pid_stat(&text)
}

/// Whether process `pid` exists and is not a zombie.
pub fn pid_alive(pid: i32) -> bool {
    pid_stat(pid).is_ok_and(|s| s.state != 'Z' && s.state != 'X')
}

/// Time of one CPU from `/proc/stat`, in clock ticks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CpuTimes {
    /// user + nice + system + irq + softirq.
    pub busy: u64,
    /// busy + idle + iowait + steal.
    pub total: u64,
}

/// Parses the `cpuN` line of `/proc/stat`.
///
/// # Errors
///
/// If there is no such line or it is malformed.
pub fn parse_proc_stat_cpu(text: &str, cpu: usize) -> Result<CpuTimes> {
    let tag = format!("cpu{cpu}");
    let line = text
        .lines()
        .find(|l| l.split_whitespace().next() == Some(tag.as_str()))
        .ok_or_else(|| anyhow!("no {tag} line in /proc/stat"))?;
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(str::parse)
        .collect::<Result<_, _>>()
        .with_context(|| format!("bad /proc/stat line {line:?}"))?;
    let at = |i: usize| v.get(i).copied().unwrap_or(0);
    // user nice system idle iowait irq softirq steal
    let busy = at(0) + at(1) + at(2) + at(5) + at(6);
    Ok(CpuTimes {
        busy,
        total: busy + at(3) + at(4) + at(7),
    })
}

/// Reads CPU `cpu`'s times.
///
/// # Errors
///
/// If `/proc/stat` cannot be read or has no such CPU.
pub fn cpu_times(cpu: usize) -> Result<CpuTimes> {
    parse_proc_stat_cpu(&std::fs::read_to_string("/proc/stat")?, cpu)
}

/// Clock ticks per second (`USER_HZ`), the unit of `/proc` CPU times.
pub fn clock_ticks() -> u64 {
    nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .and_then(|v| u64::try_from(v).ok())
        .filter(|&v| v > 0)
        .unwrap_or(100)
}

/// The number of CPUs this process may run on.
pub fn n_cpus() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// Pins every thread of process `pid` to `cpu`. Returns how many threads were pinned.
///
/// # Errors
///
/// If the process is gone or a thread cannot be pinned.
pub fn pin_process(pid: i32, cpu: usize) -> Result<usize> {
    let mut set = CpuSet::new();
    set.set(cpu)?;
    let mut n = 0;
    let dir = format!("/proc/{pid}/task");
    for entry in std::fs::read_dir(&dir).with_context(|| format!("reading {dir}"))? {
        let Some(tid) = entry?.file_name().to_str().and_then(|s| s.parse().ok()) else {
            continue;
        };
        match sched_setaffinity(Pid::from_raw(tid), &set) {
            Ok(()) => n += 1,
            // The thread exited meanwhile.
            Err(nix::errno::Errno::ESRCH) => {}
            Err(e) => return Err(e).with_context(|| format!("pinning thread {tid} to CPU{cpu}")),
        }
    }
    Ok(n)
}

/// Sets the nice value of every thread of process `pid` (with `renice`; threads have their
/// own nice values on Linux).
///
/// # Errors
///
/// If the process is gone or `renice` fails.
pub fn renice_process(pid: i32, nice: i32) -> Result<()> {
    let dir = format!("/proc/{pid}/task");
    let tids: Vec<String> = std::fs::read_dir(&dir)
        .with_context(|| format!("reading {dir}"))?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .collect();
    crate::cmd::Cmd::new("renice")
        .args(["-n", &nice.to_string(), "-p"])
        .args(&tids)
        .quiet()
        .output()
        .map(drop)
}

/// Pins the calling thread to `cpu`.
///
/// # Errors
///
/// If the CPU does not exist or is not allowed.
pub fn pin_self(cpu: usize) -> Result<()> {
    let mut set = CpuSet::new();
    set.set(cpu)?;
    sched_setaffinity(Pid::from_raw(0), &set).with_context(|| format!("pinning to CPU{cpu}"))
}

/// The 1, 5 and 15 minute load averages, as `/proc/loadavg` shows them.
pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    const NET_DEV: &str = "\
Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:       0       0    0    0    0     0          0         0        0       0    0    0    0     0       0          0
    p1: 6000000  100000    0    7    0     0          0         0     1380      12    0    3    0     0       0          0
";

    #[test]
    fn net_dev() {
        let m = parse_net_dev(NET_DEV).unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(
            m["p1"],
            DevCounters {
                rx_packets: 100000,
                rx_dropped: 7,
                tx_packets: 12,
                tx_dropped: 3
            }
        );
        assert!(parse_net_dev("h\nh\n  x: 1 2 3\n").is_err());
    }

    #[test]
    fn pid_stat_with_odd_name() {
        let s = "1234 (ovs (vswitchd) x) S 1 1234 1234 0 -1 4194624 2911 0 0 0 517 210 0 0 20 0 \
                 3 0 1558 246894592 2420 18446744073709551615 1 1 0 0 0 0 0 4096 17000 0 0 0 \
                 17 1 0 0 0 0 0";
        let p = parse_pid_stat(s).unwrap();
        assert_eq!(
            p,
            PidStat {
                state: 'S',
                utime: 517,
                stime: 210
            }
        );
        assert!(parse_pid_stat("1 (x) S 1 2").is_err());
        let me = pid_stat(i32::try_from(std::process::id()).unwrap()).unwrap();
        assert!(me.state == 'R' || me.state == 'S');
    }

    #[test]
    fn proc_stat_cpu() {
        let s = "cpu  10 0 10 100 0 0 0 0 0 0\n\
                 cpu0 4 1 2 50 3 1 1 5 0 0\n\
                 cpu1 6 0 8 50 0 0 0 0 0 0\n\
                 intr 1\n";
        assert_eq!(
            parse_proc_stat_cpu(s, 0).unwrap(),
            CpuTimes { busy: 9, total: 67 }
        );
        assert_eq!(parse_proc_stat_cpu(s, 1).unwrap().busy, 14);
        assert!(parse_proc_stat_cpu(s, 2).is_err());
        assert!(clock_ticks() > 0);
    }
}
