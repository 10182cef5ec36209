//! The `other_config` knobs dpif-netdev reads, and port numbering.

use netdev::Options;

use crate::error::{Error, Result};

/// Default number of poll threads (`pmd-threads`).
pub const DEFAULT_PMD_THREADS: usize = 1;
/// Default EMC insertion inverse probability (`emc-insert-inv-prob`, OVS's default).
pub const DEFAULT_EMC_INSERT_INV_PROB: u32 = 100;
/// Default capacity of the upcall queue (`upcall-queue-size`).
pub const DEFAULT_UPCALL_QUEUE_SIZE: usize = 1024;
/// Most poll threads.
pub const MAX_PMD_THREADS: usize = 256;
/// Largest upcall queue.
pub const MAX_UPCALL_QUEUE_SIZE: usize = 1 << 20;

/// The datapath's configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Config {
    /// Poll threads to run.
    pub n_pmds: usize,
    /// The CPUs to pin them to (one thread each), from `pmd-cpu-mask`.
    pub cpus: Option<Vec<usize>>,
    /// EMC insertion inverse probability; 0 disables the EMC.
    pub emc_inv_prob: u32,
    /// Capacity of the upcall queue.
    pub queue_size: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            n_pmds: DEFAULT_PMD_THREADS,
            cpus: None,
            emc_inv_prob: DEFAULT_EMC_INSERT_INV_PROB,
            queue_size: DEFAULT_UPCALL_QUEUE_SIZE,
        }
    }
}

fn bad(key: &str, value: &str, want: &str) -> Error {
    Error::invalid(
        "set datapath config",
        format!("{key}: \"{value}\" is not {want}"),
    )
}

/// Parses a CPU mask in hex (`0x` prefix optional) into the CPU numbers of its set bits.
/// An empty or all-zero mask is `None` (the default).
pub(crate) fn parse_cpu_mask(s: &str) -> Option<Option<Vec<usize>>> {
    let t = s.trim();
    let t = t
        .strip_prefix("0x")
        .or_else(|| t.strip_prefix("0X"))
        .unwrap_or(t);
    let mut cpus = Vec::new();
    for (pos, c) in t.bytes().rev().enumerate() {
        let v = char::from(c).to_digit(16)?;
        for bit in 0..4 {
            if v & (1 << bit) != 0 {
                cpus.push(pos * 4 + bit);
            }
        }
    }
    Some((!cpus.is_empty()).then_some(cpus))
}

impl Config {
    /// The configuration `other_config` asks for; absent keys take their defaults.
    ///
    /// Keys: `pmd-threads` (1..=256), `pmd-cpu-mask` (hex; one pinned thread per set bit,
    /// overrides `pmd-threads`), `emc-insert-inv-prob` (0 disables the EMC),
    /// `upcall-queue-size` (1..=2^20). Other keys are ignored.
    pub(crate) fn from_options(opts: &Options) -> Result<Config> {
        let mut c = Config::default();
        if let Some(v) = opts.get("pmd-threads") {
            c.n_pmds = v
                .parse()
                .ok()
                .filter(|n| (1..=MAX_PMD_THREADS).contains(n))
                .ok_or_else(|| bad("pmd-threads", v, "a number from 1 to 256"))?;
        }
        if let Some(v) = opts.get("pmd-cpu-mask") {
            let cpus = parse_cpu_mask(v).ok_or_else(|| bad("pmd-cpu-mask", v, "a hex mask"))?;
            if let Some(cpus) = cpus {
                if cpus.len() > MAX_PMD_THREADS {
                    return Err(bad("pmd-cpu-mask", v, "a mask of at most 256 CPUs"));
                }
                c.n_pmds = cpus.len();
                c.cpus = Some(cpus);
            }
        }
        if let Some(v) = opts.get("emc-insert-inv-prob") {
            c.emc_inv_prob = v
                .parse()
                .map_err(|_| bad("emc-insert-inv-prob", v, "a number from 0 to 4294967295"))?;
        }
        if let Some(v) = opts.get("upcall-queue-size") {
            c.queue_size = v
                .parse()
                .ok()
                .filter(|n| (1..=MAX_UPCALL_QUEUE_SIZE).contains(n))
                .ok_or_else(|| bad("upcall-queue-size", v, "a number from 1 to 1048576"))?;
        }
        Ok(c)
    }
}

/// Chooses a port number for a new port named `name` (OVS's `choose_port`): for the
/// `dummy` datapath class, the first number in the name (plus 100 if the name starts with
/// `br`) if it is free and not 0; otherwise the lowest free number from 1 to 65535.
pub(crate) fn choose_port_no(name: &str, dummy: bool, used: impl Fn(u32) -> bool) -> Option<u32> {
    if dummy {
        let start: u64 = if name.starts_with("br") { 100 } else { 0 };
        if let Some(pos) = name.find(|c: char| c.is_ascii_digit()) {
            let digits: String = name[pos..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            let n = digits
                .parse::<u64>()
                .unwrap_or(u64::MAX)
                .saturating_add(start);
            if let Ok(n) = u32::try_from(n)
                && n > 0
                && n != u32::MAX
                && !used(n)
            {
                return Some(n);
            }
        }
    }
    (1..=u32::from(u16::MAX)).find(|&n| !used(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(kv: &[(&str, &str)]) -> Options {
        kv.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn defaults_and_keys() {
        assert_eq!(Config::from_options(&opts(&[])).unwrap(), Config::default());
        let c = Config::from_options(&opts(&[
            ("pmd-threads", "2"),
            ("emc-insert-inv-prob", "0"),
            ("upcall-queue-size", "16"),
            ("other", "x"),
        ]))
        .unwrap();
        assert_eq!((c.n_pmds, c.emc_inv_prob, c.queue_size), (2, 0, 16));
        let c =
            Config::from_options(&opts(&[("pmd-threads", "3"), ("pmd-cpu-mask", "0x6")])).unwrap();
        assert_eq!((c.n_pmds, c.cpus), (2, Some(vec![1, 2])));
        let c = Config::from_options(&opts(&[("pmd-cpu-mask", "")])).unwrap();
        assert_eq!(c, Config::default());
        for bad in [
            ("pmd-threads", "0"),
            ("pmd-threads", "x"),
            ("pmd-cpu-mask", "0xg"),
            ("emc-insert-inv-prob", "-1"),
            ("upcall-queue-size", "0"),
        ] {
            let e = Config::from_options(&opts(&[bad])).unwrap_err();
            assert!(e.to_string().contains(bad.0), "{e}");
        }
    }

    #[test]
    fn cpu_masks() {
        assert_eq!(parse_cpu_mask("1"), Some(Some(vec![0])));
        assert_eq!(parse_cpu_mask("0x10"), Some(Some(vec![4])));
        assert_eq!(parse_cpu_mask("0"), Some(None));
        assert_eq!(parse_cpu_mask("zz"), None);
    }

    #[test]
    fn numbering() {
        let none = |_| false;
        assert_eq!(choose_port_no("p1", true, none), Some(1));
        assert_eq!(choose_port_no("br0", true, none), Some(100));
        assert_eq!(choose_port_no("br1", true, none), Some(101));
        assert_eq!(choose_port_no("p1", false, none), Some(1));
        assert_eq!(choose_port_no("eth7", false, none), Some(1));
        assert_eq!(
            choose_port_no("p0", true, none),
            Some(1),
            "0 is the local port"
        );
        assert_eq!(choose_port_no("p3", true, |n| n == 3 || n == 1), Some(2));
        assert_eq!(choose_port_no("p99999999999", true, none), Some(1));
        assert_eq!(choose_port_no("x", true, |n| n < 65535), Some(65535));
        assert_eq!(choose_port_no("x", true, |_| true), None);
    }
}
