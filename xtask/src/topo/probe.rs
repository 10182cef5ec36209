//! Reading another namespace's `/proc/net` files without starting a process: a parked thread
//! of ours enters the namespace, and `/proc/self/task/<its tid>/net/` shows that namespace.

use std::collections::BTreeMap;
use std::fs::File;
use std::sync::mpsc;
use std::thread::JoinHandle;

use anyhow::{Context, Result, anyhow};
use nix::sched::{CloneFlags, setns};

use crate::procfs::{self, DevCounters};

/// A thread parked inside a network namespace, for reading its `/proc/net` files.
pub struct NsProbe {
    ns: String,
    tid: i32,
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl NsProbe {
    /// Parks a thread in the named namespace (`/run/netns/<ns>`).
    ///
    /// # Errors
    ///
    /// If the namespace does not exist or cannot be entered.
    pub fn new(ns: &str) -> Result<NsProbe> {
        let path = format!("/run/netns/{ns}");
        let file = File::open(&path).with_context(|| format!("opening {path}"))?;
        let (tid_tx, tid_rx) = mpsc::channel();
        let (stop_tx, stop_rx) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name(format!("probe {ns}"))
            .spawn(move || {
                let r = setns(&file, CloneFlags::CLONE_NEWNET)
                    .map(|()| nix::unistd::gettid().as_raw())
                    .map_err(|e| e.to_string());
                let ok = r.is_ok();
                let _ = tid_tx.send(r);
                if ok {
                    // Park until told to stop (or the sender is dropped).
                    let _ = stop_rx.recv();
                }
            })?;
        let tid = tid_rx
            .recv()
            .map_err(|_| anyhow!("namespace probe thread died"))?
            .map_err(|e| anyhow!("entering namespace {ns}: {e}"))?;
        Ok(NsProbe {
            ns: ns.to_owned(),
            tid,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }

    /// Reads `/proc/net/<file>` of the namespace.
    ///
    /// # Errors
    ///
    /// If the file cannot be read.
    pub fn read(&self, file: &str) -> Result<String> {
        let path = format!("/proc/self/task/{}/net/{file}", self.tid);
        std::fs::read_to_string(&path)
            .with_context(|| format!("reading {file} of namespace {}", self.ns))
    }

    /// The counters of device `dev` in the namespace.
    ///
    /// # Errors
    ///
    /// If there is no such device.
    pub fn dev(&self, dev: &str) -> Result<DevCounters> {
        self.devs()?
            .remove(dev)
            .ok_or_else(|| anyhow!("no device {dev} in namespace {}", self.ns))
    }

    /// The counters of every device in the namespace.
    ///
    /// # Errors
    ///
    /// If `/proc/net/dev` cannot be read.
    pub fn devs(&self) -> Result<BTreeMap<String, DevCounters>> {
        procfs::parse_net_dev(&self.read("dev")?)
    }

    /// Whether some TCP socket in the namespace listens on `port` (IPv4 or IPv6).
    pub fn tcp_listening(&self, port: u16) -> bool {
        ["tcp", "tcp6"]
            .iter()
            .any(|f| self.read(f).is_ok_and(|t| tcp_table_has_listener(&t, port)))
    }
}

/// Whether a `/proc/net/tcp` table has a socket in state LISTEN (0A) on local `port`.
pub fn tcp_table_has_listener(table: &str, port: u16) -> bool {
    let want = format!(":{port:04X}");
    table.lines().skip(1).any(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        f.len() > 3 && f[1].ends_with(&want) && f[3] == "0A"
    })
}

impl Drop for NsProbe {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listener_in_tcp_table() {
        let t = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
                 0: 00000000:1451 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1\n\
                 1: 0100000A:1451 0200000A:9C40 01 00000000:00000000 00:00000000 00000000     0        0 2 1\n";
        assert!(tcp_table_has_listener(t, 5201));
        assert!(!tcp_table_has_listener(t, 5202));
        let established_only = t.replace(" 0A ", " 01 ");
        assert!(!tcp_table_has_listener(&established_only, 5201));
    }
}
