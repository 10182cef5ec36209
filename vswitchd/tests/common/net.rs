//! Hosts for the switch's end-to-end tests.
//!
//! The test thread moves into a private network namespace ([`tests::NetNs`]); the daemon it
//! starts runs there too, with the switch sides of the veth pairs. Each host is an
//! `ip netns` namespace of its own holding the other side, named `eth0`, with IPv6 off (no
//! neighbour discovery noise in the counters). Everything is deleted when the guards drop,
//! also when a test fails: a host's namespace by [`Host`]'s `Drop` (which takes its veth
//! pair with it), the switch's namespace when the [`tests::NetNs`] guard drops. Namespaces
//! left by a test process that was killed are swept by the next run.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use nix::sched::{CloneFlags, setns};

/// The prefix of host namespace names: `rvh<pid>x<n>`.
const PREFIX: &str = "rvh";

/// Deletes host namespaces whose test process is gone.
fn sweep_stale() {
    let Ok(dir) = std::fs::read_dir("/run/netns") else {
        return;
    };
    for e in dir.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix(PREFIX) else {
            continue;
        };
        let Some((pid, _)) = rest.split_once('x') else {
            continue;
        };
        let Ok(pid) = pid.parse::<u32>() else {
            continue;
        };
        // Names keep the pid modulo 10^5; a live process with that remainder keeps it.
        let alive = std::fs::read_dir("/proc").is_ok_and(|d| {
            d.flatten().any(|p| {
                p.file_name()
                    .to_str()
                    .and_then(|s| s.parse::<u32>().ok())
                    .is_some_and(|p| p % 100_000 == pid)
            })
        });
        if !alive {
            let _ = Command::new("ip").args(["netns", "del", &name]).output();
        }
    }
}

/// Moves the calling thread into a private network namespace for the switch, with IPv6 off
/// (so that the bridge's own port and the switch sides of the veths send no neighbour
/// discovery or MLD frames that would show in the hosts' counters).
pub fn switch_netns() -> tests::NetNs {
    let ns = tests::NetNs::new();
    disable_ipv6_here();
    ns
}

/// Turns IPv6 off in the calling thread's network namespace, for the devices there and
/// those made later. Written directly (the `/proc/sys/net` a thread opens is its own
/// namespace's): no process to start, which counts in the emulated kernel VM.
fn disable_ipv6_here() {
    for conf in ["all", "default"] {
        let path = format!("/proc/sys/net/ipv6/conf/{conf}/disable_ipv6");
        std::fs::write(&path, "1").unwrap_or_else(|e| panic!("writing {path}: {e}"));
    }
}

/// Runs `cmd args` and returns its output, whatever its status.
pub fn sh(cmd: &str, args: &[&str]) -> Output {
    Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd}: {e}"))
}

/// One host: an `ip netns` namespace with `eth0`, whose veth peer is `sw_port` in the
/// switch's namespace.
pub struct Host {
    /// The namespace name.
    pub ns: String,
    /// The switch side of its veth pair.
    pub sw_port: String,
    /// Its address (without prefix length).
    pub ip: String,
}

impl Host {
    /// Makes a host with `eth0` at `ip`/24 (if not empty), joined by a veth pair to
    /// `sw_port` in the calling thread's namespace (the switch's).
    pub fn new(sw_port: &str, ip: &str) -> Host {
        static SWEEP: std::sync::Once = std::sync::Once::new();
        SWEEP.call_once(sweep_stale);
        let ns = tests::unique_name(PREFIX);
        tests::ip(&["netns", "add", &ns]);
        let host = Host {
            ns: ns.clone(),
            sw_port: sw_port.to_owned(),
            ip: ip.to_owned(),
        };
        // Few processes (each costs in the emulated kernel VM): IPv6 goes off first, from a
        // thread, so eth0 is born without it; the peer is made in the host's namespace.
        host.spawn(disable_ipv6_here).join().unwrap();
        tests::ip(&[
            "link", "add", sw_port, "type", "veth", "peer", "name", "eth0", "netns", &ns,
        ]);
        let mut batch = String::from("link set lo up\nlink set eth0 up\n");
        if !ip.is_empty() {
            batch.push_str(&format!("addr add {ip}/24 dev eth0\n"));
        }
        host.ip_batch(&batch);
        tests::ip(&["link", "set", sw_port, "up"]);
        host
    }

    /// Runs the `ip` commands of `batch` (one per line) in the host's namespace, in one
    /// process, panicking on failure.
    pub fn ip_batch(&self, batch: &str) {
        let mut child = Command::new("ip")
            .args(["-n", &self.ns, "-batch", "-"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("ip -batch");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(batch.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "ip -n {} -batch failed on {batch:?}: {}",
            self.ns,
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Runs `ip -n NS ARGS`, panicking on failure.
    pub fn ip(&self, args: &[&str]) -> String {
        let mut a = vec!["-n", self.ns.as_str()];
        a.extend_from_slice(args);
        tests::ip(&a)
    }

    /// Runs a command in the host's namespace.
    pub fn exec(&self, cmd: &str, args: &[&str]) -> Output {
        let mut a = vec!["netns", "exec", self.ns.as_str(), cmd];
        a.extend_from_slice(args);
        sh("ip", &a)
    }

    /// Runs a command in the host's namespace, panicking on failure.
    pub fn exec_ok(&self, cmd: &str, args: &[&str]) -> String {
        let out = self.exec(cmd, args);
        assert!(
            out.status.success(),
            "{cmd} {args:?} in {} failed: {}{}",
            self.ns,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Pings `ip` `count` times, `interval` apart; returns (sent, received).
    pub fn ping(&self, ip: &str, count: u32, interval: &str) -> (u32, u32) {
        let c = count.to_string();
        let out = self.exec(
            "ping",
            &["-n", "-q", "-c", &c, "-i", interval, "-W", "1", ip],
        );
        parse_ping(&String::from_utf8_lossy(&out.stdout))
    }

    /// Whether `ip` answers within a few tries.
    pub fn reaches(&self, ip: &str) -> bool {
        let out = self.exec("ping", &["-n", "-q", "-c", "1", "-W", "1", ip]);
        out.status.success()
    }

    /// Waits until `ip` answers a ping, up to `limit`.
    pub fn wait_reaches(&self, ip: &str, limit: Duration) {
        let t = Instant::now();
        while !self.reaches(ip) {
            assert!(
                t.elapsed() < limit,
                "{} cannot reach {ip} after {limit:?}",
                self.ns
            );
        }
    }

    /// A counter of `eth0` (`rx_packets`, `tx_bytes`, ...).
    pub fn counter(&self, name: &str) -> u64 {
        self.exec_ok("cat", &[&format!("/sys/class/net/eth0/statistics/{name}")])
            .trim()
            .parse()
            .unwrap()
    }

    /// The MAC of `eth0`.
    pub fn mac(&self) -> String {
        self.exec_ok("cat", &["/sys/class/net/eth0/address"])
            .trim()
            .to_owned()
    }

    /// Turns the checksum and segmentation offloads of `eth0` and of the switch side off.
    pub fn offloads_off(&self) {
        let off = [
            "rx", "off", "tx", "off", "sg", "off", "tso", "off", "gso", "off", "gro", "off",
        ];
        let mut a = vec!["-K", "eth0"];
        a.extend_from_slice(&off);
        self.exec_ok("ethtool", &a);
        let mut a = vec!["-K", self.sw_port.as_str()];
        a.extend_from_slice(&off);
        tests::run("ethtool", &a);
    }

    /// Runs `f` in a thread inside the host's namespace (for sockets opened from Rust).
    pub fn spawn<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> std::thread::JoinHandle<T> {
        let path = format!("/run/netns/{}", self.ns);
        std::thread::spawn(move || {
            let ns = File::open(&path).unwrap();
            setns(ns.as_fd(), CloneFlags::CLONE_NEWNET).unwrap();
            f()
        })
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        // Deleting the namespace deletes eth0, and with it the switch side of the pair.
        let _ = sh("ip", &["netns", "del", &self.ns]);
    }
}

/// `(transmitted, received)` from ping's summary.
pub fn parse_ping(out: &str) -> (u32, u32) {
    for line in out.lines() {
        if line.contains("packets transmitted") {
            let nums: Vec<u32> = line
                .split(|c: char| !c.is_ascii_digit())
                .filter(|s| !s.is_empty())
                .take(2)
                .map(|s| s.parse().unwrap())
                .collect();
            if let [tx, rx] = nums.as_slice() {
                return (*tx, *rx);
            }
        }
    }
    panic!("no ping summary in {out:?}");
}

/// A background ping whose result is read when it ends.
pub struct BackgroundPing {
    child: Option<std::process::Child>,
}

impl BackgroundPing {
    /// Pings `ip` from `host` every `interval` for `count` packets.
    pub fn start(host: &Host, ip: &str, count: u32, interval: &str) -> BackgroundPing {
        let child = Command::new("ip")
            .args(["netns", "exec", &host.ns, "ping", "-n", "-q", "-c"])
            .arg(count.to_string())
            .args(["-i", interval, "-W", "1", ip])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        BackgroundPing { child: Some(child) }
    }

    /// Stops it now (SIGINT, so that it prints its summary) and returns (sent, received).
    pub fn stop(self) -> (u32, u32) {
        if let Some(c) = &self.child {
            let pid = nix::unistd::Pid::from_raw(i32::try_from(c.id()).unwrap());
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT);
        }
        self.finish()
    }

    /// Waits for the end and returns (sent, received).
    pub fn finish(mut self) -> (u32, u32) {
        let child = self.child.take().unwrap();
        let out = child.wait_with_output().unwrap();
        parse_ping(&String::from_utf8_lossy(&out.stdout))
    }
}

impl Drop for BackgroundPing {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// The bytes of the test stream: a xorshift sequence, so that a lost, repeated or
/// corrupted segment shows.
fn pattern(seed: u64, buf: &mut [u8], offset: &mut u64) {
    for b in buf.iter_mut() {
        let mut x = seed ^ offset.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = x.to_le_bytes()[0];
        *offset += 1;
    }
}

/// Moves `bytes` over TCP from `client` to `server` (listening at its address, `port`),
/// and checks on the server side that every byte arrived intact and in order. Returns the
/// time it took.
pub fn tcp_transfer(client: &Host, server: &Host, port: u16, bytes: u64) -> Duration {
    let ip: Ipv4Addr = server.ip.parse().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let srv = server.spawn(move || {
        let l = TcpListener::bind(SocketAddrV4::new(ip, port)).unwrap();
        tx.send(()).unwrap();
        let (mut s, _) = l.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let mut got = 0u64;
        let mut off = 0u64;
        let mut buf = vec![0u8; 65536];
        let mut want = vec![0u8; 65536];
        loop {
            let n = s.read(&mut buf).expect("server read");
            if n == 0 {
                break;
            }
            pattern(0x5eed, &mut want[..n], &mut off);
            assert!(buf[..n] == want[..n], "corrupted data at byte {got}");
            got += n as u64;
        }
        s.write_all(format!("{got}\n").as_bytes()).unwrap();
        got
    });
    rx.recv_timeout(Duration::from_secs(10)).unwrap();
    let t = Instant::now();
    let cli = client.spawn(move || {
        let mut s = TcpStream::connect_timeout(
            &std::net::SocketAddr::V4(SocketAddrV4::new(ip, port)),
            Duration::from_secs(10),
        )
        .unwrap();
        s.set_write_timeout(Some(Duration::from_secs(20))).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let mut off = 0u64;
        let mut buf = vec![0u8; 65536];
        let mut left = bytes;
        while left > 0 {
            let n = usize::try_from(left.min(buf.len() as u64)).unwrap();
            pattern(0x5eed, &mut buf[..n], &mut off);
            s.write_all(&buf[..n]).expect("client write");
            left -= n as u64;
        }
        s.shutdown(std::net::Shutdown::Write).unwrap();
        let mut ack = String::new();
        s.read_to_string(&mut ack).unwrap();
        ack.trim().parse::<u64>().unwrap()
    });
    let acked = cli.join().expect("client failed");
    let got = srv.join().expect("server failed");
    assert_eq!(got, bytes);
    assert_eq!(acked, bytes);
    t.elapsed()
}
