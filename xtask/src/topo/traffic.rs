//! TCP between hosts with iperf3, and background processes owned by the cleanup registry.

use std::net::Ipv4Addr;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};

use super::Host;
use super::probe::NsProbe;
use crate::cleanup::{self, Guard};
use crate::cmd::{Cmd, Out};

/// The iperf3 port.
pub const IPERF_PORT: u16 = 5201;

/// A process running in the background, killed (and reaped) when dropped or on interrupt.
pub struct BgProcess {
    child: Arc<Mutex<Option<Child>>>,
    _guard: Guard,
}

impl BgProcess {
    /// Starts `cmd` with its output discarded.
    ///
    /// # Errors
    ///
    /// If it cannot start.
    pub fn spawn(what: &str, cmd: &Cmd) -> Result<BgProcess> {
        let slot: Arc<Mutex<Option<Child>>> = Arc::new(Mutex::new(None));
        let s = slot.clone();
        let guard = cleanup::register(what.to_owned(), move || {
            // The child is ours, so its pid cannot be reused before we reap it here.
            if let Some(mut c) = s.lock().unwrap_or_else(|e| e.into_inner()).take() {
                let _ = c.kill();
                let _ = c.wait();
            }
        })?;
        let child = cmd.spawn_with(Stdio::null(), Stdio::null())?;
        *slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(child);
        Ok(BgProcess {
            child: slot,
            _guard: guard,
        })
    }

    /// Whether it is still running.
    pub fn running(&self) -> bool {
        let mut g = self.child.lock().unwrap_or_else(|e| e.into_inner());
        g.as_mut().is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }
}

/// An `iperf3 -s` in a host, answering one client after another.
pub struct IperfServer {
    proc_: BgProcess,
}

impl IperfServer {
    /// Starts the server in `host` (pinned to `cpu` if given, at nice value `nice`) and
    /// waits until it listens.
    ///
    /// # Errors
    ///
    /// If it does not listen within 5 s.
    pub fn start(host: &Host, cpu: Option<usize>, nice: i32) -> Result<IperfServer> {
        let mut cmd = host
            .cmd("iperf3")
            .args(["-s", "-p", &IPERF_PORT.to_string()]);
        if let Some(c) = cpu {
            cmd = cmd.args(["-A", &c.to_string()]);
        }
        let cmd = cmd.niced(nice);
        let proc_ = BgProcess::spawn(&format!("iperf3 server in {}", host.ns), &cmd)?;
        let probe = NsProbe::new(&host.ns)?;
        let end = Instant::now() + Duration::from_secs(5);
        while !probe.tcp_listening(IPERF_PORT) {
            if !proc_.running() {
                bail!("iperf3 -s in {} exited at once", host.ns);
            }
            if Instant::now() > end {
                bail!("iperf3 -s in {} does not listen after 5 s", host.ns);
            }
            cleanup::sleep(Duration::from_millis(20))?;
        }
        Ok(IperfServer { proc_ })
    }

    /// Whether the server still runs.
    pub fn running(&self) -> bool {
        self.proc_.running()
    }
}

/// Runs `iperf3 -c` from `from` to `to` for `seconds`, pinned to `cpu` if given, at nice
/// value `nice`, with JSON output if `json`.
///
/// # Errors
///
/// If iperf3 cannot run or overruns its time limit (not if it fails: see the status).
pub fn iperf_client(
    from: &Host,
    to: Ipv4Addr,
    seconds: u32,
    cpu: Option<usize>,
    nice: i32,
    json: bool,
) -> Result<Out> {
    let mut cmd = from
        .cmd("iperf3")
        .args(["-c", &to.to_string(), "-p", &IPERF_PORT.to_string()])
        .args(["-t", &seconds.to_string(), "--connect-timeout", "3000"]);
    if let Some(c) = cpu {
        cmd = cmd.args(["-A", &c.to_string()]);
    }
    if json {
        cmd = cmd.arg("-J");
    }
    cmd.niced(nice)
        .timeout(Duration::from_secs(u64::from(seconds) + 20))
        .output()
}

/// The received bit rate of an `iperf3 -J` run, or iperf3's error message.
///
/// # Errors
///
/// If the JSON is not iperf3's or reports an error.
pub fn parse_iperf_json(text: &str) -> Result<f64> {
    let v: serde_json::Value = serde_json::from_str(text).context("iperf3 -J output")?;
    if let Some(e) = v.get("error").and_then(|e| e.as_str()) {
        bail!("iperf3: {e}");
    }
    v.pointer("/end/sum_received/bits_per_second")
        .and_then(serde_json::Value::as_f64)
        .ok_or_else(|| anyhow!("iperf3 -J output has no end.sum_received.bits_per_second"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iperf_json() {
        let ok = r#"{"start":{},"intervals":[],"end":{"sum_sent":{"bits_per_second":2.9e9},
                    "sum_received":{"bytes":685000000,"bits_per_second":2.6e9}}}"#;
        assert_eq!(parse_iperf_json(ok).unwrap(), 2.6e9);
        let err = r#"{"start":{},"intervals":[],"end":{},"error":"unable to connect to server: Connection timed out"}"#;
        let e = parse_iperf_json(err).unwrap_err().to_string();
        assert!(e.contains("unable to connect"), "{e}");
        assert!(parse_iperf_json("not json").is_err());
    }
}
