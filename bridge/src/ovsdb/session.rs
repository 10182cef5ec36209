//! One OVSDB client connection that comes back: connect, fetch the schema, take the
//! `ovs_vswitchd` lock, monitor, keep the [`Replica`] up to date, send transactions; and on
//! any failure, reconnect with backoff and resynchronize from scratch.
//!
//! # Conversation
//!
//! ```text
//! -> get_schema ["Open_vSwitch"]                     <- schema
//! -> lock ["ovs_vswitchd"]                           <- {"locked": true|false}
//! -> monitor_cond ["Open_vSwitch", "rovs", {T: [{"columns": [...]}]}]
//!                                                    <- {T: {uuid: {"initial": row}}}
//!    (an error reply: the server is older; -> monitor with {T: {"columns": [...]}})
//! <- update2 ["rovs", {T: {uuid: {"insert"|"modify"|"delete": ...}}}]   (or update)
//! <- locked ["ovs_vswitchd"] / stolen ["ovs_vswitchd"]
//! <- echo [...] -> the same params back; -> echo [] when the server is quiet
//! -> transact ["Open_vSwitch", op..., {"op": "assert", "lock": "ovs_vswitchd"}]
//! ```
//!
//! # Liveness and reconnection
//!
//! After [`PROBE_INTERVAL`] without a message from the server the session sends an `echo`;
//! after another interval without one it drops the connection. Connection attempts follow
//! OVS's `reconnect` backoff: 1 s after a failure, doubling up to [`MAX_BACKOFF`], back to
//! 1 s once a connection got its replica. The replica of the previous connection stays
//! readable meanwhile ([`Session::is_synced`] is false), so the switch runs on.
//!
//! # Non-blocking
//!
//! Nothing blocks: sockets are non-blocking (a TCP connect completes in the background),
//! writes that do not fit are queued and flushed when the socket is writable, and
//! [`Session::wait`] registers what the next [`Session::run`] needs.

use std::collections::HashMap;
use std::fmt;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use netdev::poll::{Interest, PollSet};
use serde_json::{Value, json};

use super::codec::{JsonReader, Message};
use super::datum::DatumError;
use super::replica::{DATABASE, Replica, Schema, UpdateKind};

/// The lock that one switch per database holds.
pub const LOCK_NAME: &str = "ovs_vswitchd";

/// Quiet time after which the session probes the server with `echo`.
pub const PROBE_INTERVAL: Duration = Duration::from_secs(5);

/// The longest wait between connection attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(8);

/// The first wait after a failure.
const MIN_BACKOFF: Duration = Duration::from_secs(1);

/// How long a TCP connect may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The monitor id of the session's one monitor.
const MONITOR_ID: &str = "rovs";

/// Where the database server listens: `unix:PATH` or `tcp:IP:PORT`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Remote {
    /// A Unix domain stream socket.
    Unix(PathBuf),
    /// A TCP address.
    Tcp(SocketAddr),
}

impl Remote {
    /// Parses `unix:PATH` or `tcp:IP:PORT` (`tcp:[IPv6]:PORT`).
    ///
    /// # Errors
    ///
    /// Another form; the message says what is accepted.
    pub fn parse(s: &str) -> Result<Remote, String> {
        match s.split_once(':') {
            Some(("unix", p)) if !p.is_empty() => Ok(Remote::Unix(PathBuf::from(p))),
            Some(("tcp", a)) => a
                .parse::<SocketAddr>()
                .map(Remote::Tcp)
                .map_err(|_| format!("\"{s}\": tcp: needs IP:PORT, e.g. tcp:127.0.0.1:6640")),
            _ => Err(format!(
                "\"{s}\": an OVSDB remote is unix:PATH or tcp:IP:PORT"
            )),
        }
    }
}

impl fmt::Display for Remote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Remote::Unix(p) => write!(f, "unix:{}", p.display()),
            Remote::Tcp(a) => write!(f, "tcp:{a}"),
        }
    }
}

enum Stream {
    Unix(UnixStream),
    Tcp(TcpStream),
}

impl Stream {
    fn fd(&self) -> RawFd {
        match self {
            Stream::Unix(s) => s.as_raw_fd(),
            Stream::Tcp(s) => s.as_raw_fd(),
        }
    }

    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Unix(s) => s.read(buf),
            Stream::Tcp(s) => s.read(buf),
        }
    }

    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Unix(s) => s.write(buf),
            Stream::Tcp(s) => s.write(buf),
        }
    }
}

/// Starts a non-blocking connection.
fn connect(remote: &Remote) -> io::Result<Stream> {
    match remote {
        Remote::Unix(p) => {
            let s = UnixStream::connect(p)?;
            s.set_nonblocking(true)?;
            Ok(Stream::Unix(s))
        }
        Remote::Tcp(addr) => {
            use nix::sys::socket::{AddressFamily, SockFlag, SockType, SockaddrStorage, socket};
            let family = if addr.is_ipv4() {
                AddressFamily::Inet
            } else {
                AddressFamily::Inet6
            };
            let fd = socket(
                family,
                SockType::Stream,
                SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC,
                None,
            )?;
            let sa = SockaddrStorage::from(*addr);
            match nix::sys::socket::connect(fd.as_raw_fd(), &sa) {
                Ok(()) | Err(nix::errno::Errno::EINPROGRESS) => {}
                Err(e) => return Err(e.into()),
            }
            let s = TcpStream::from(fd);
            let _ = s.set_nodelay(true);
            Ok(Stream::Tcp(s))
        }
    }
}

/// What a request in flight was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pending {
    GetSchema,
    Lock,
    Monitor { cond: bool },
    Echo,
    Transact,
}

struct Conn {
    stream: Stream,
    /// A TCP connect still in progress, since when.
    connecting: Option<Instant>,
    rx: JsonReader,
    tx: Vec<u8>,
    last_rx: Instant,
    probed: bool,
}

/// The outcome of a transaction: the per-operation results, or why it failed as a whole.
pub type TxnResult = Result<Vec<Value>, String>;

/// One OVSDB client session. See the [module docs](self).
pub struct Session {
    remote: Remote,
    conn: Option<Conn>,
    next_attempt: Option<Instant>,
    backoff: Duration,
    /// Failures logged since the last success (OVS stops logging after a few).
    failures: u32,
    schema: Option<Schema>,
    replica: Replica,
    synced: bool,
    has_lock: bool,
    next_id: u64,
    pending: HashMap<u64, Pending>,
    /// Bumped on each change of the replica.
    seqno: u64,
    /// Bumped on each new connection.
    conn_seqno: u64,
    txn_results: Vec<(u64, TxnResult)>,
    /// Updates that were refused (logged), for tests and `memory/show`.
    bad_updates: u64,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("remote", &self.remote)
            .field("connected", &self.conn.is_some())
            .field("synced", &self.synced)
            .field("has_lock", &self.has_lock)
            .field("seqno", &self.seqno)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// A session with `remote`; the first connection attempt is made by the first
    /// [`Session::run`].
    pub fn new(remote: Remote) -> Session {
        Session {
            remote,
            conn: None,
            next_attempt: None,
            backoff: MIN_BACKOFF,
            failures: 0,
            schema: None,
            replica: Replica::default(),
            synced: false,
            has_lock: false,
            next_id: 0,
            pending: HashMap::new(),
            seqno: 0,
            conn_seqno: 0,
            txn_results: Vec::new(),
            bad_updates: 0,
        }
    }

    /// The remote.
    pub fn remote(&self) -> &Remote {
        &self.remote
    }

    /// The replica: of the current connection once [`Session::is_synced`], else the last
    /// one received (empty before the first).
    pub fn replica(&self) -> &Replica {
        &self.replica
    }

    /// Whether the replica reflects the current connection.
    pub fn is_synced(&self) -> bool {
        self.synced
    }

    /// Whether this session holds the `ovs_vswitchd` lock.
    pub fn has_lock(&self) -> bool {
        self.has_lock
    }

    /// Changes each time the replica changes.
    pub fn seqno(&self) -> u64 {
        self.seqno
    }

    /// Changes each time a new connection is made.
    pub fn connection_seqno(&self) -> u64 {
        self.conn_seqno
    }

    /// How many updates from the server were refused as malformed.
    pub fn bad_updates(&self) -> u64 {
        self.bad_updates
    }

    /// Sends a transaction of `ops` on the `Open_vSwitch` database, followed by an
    /// assertion that this session holds the lock. Returns its id, whose outcome
    /// [`Session::take_txn_results`] gives later; `None` when not connected and synced.
    pub fn transact(&mut self, mut ops: Vec<Value>) -> Option<u64> {
        if !self.synced {
            return None;
        }
        ops.insert(0, DATABASE.into());
        ops.push(json!({"op": "assert", "lock": LOCK_NAME}));
        Some(self.request("transact", ops, Pending::Transact))
    }

    /// The outcomes of transactions since the last call. A transaction whose connection
    /// was lost ends with an error.
    pub fn take_txn_results(&mut self) -> Vec<(u64, TxnResult)> {
        std::mem::take(&mut self.txn_results)
    }

    fn request(&mut self, method: &str, params: Vec<Value>, kind: Pending) -> u64 {
        self.next_id += 1;
        let id = self.next_id;
        self.pending.insert(id, kind);
        self.send(&Message::Request {
            method: method.to_owned(),
            params,
            id: id.into(),
        });
        id
    }

    fn send(&mut self, m: &Message) {
        if let Some(c) = &mut self.conn {
            tracing::trace!("{}: send {}", self.remote, m.to_json());
            c.tx.extend_from_slice(&m.to_bytes());
        }
    }

    fn disconnect(&mut self, now: Instant, why: &str) {
        if self.conn.take().is_some() {
            tracing::warn!("{}: connection dropped ({why})", self.remote);
        }
        for (id, kind) in self.pending.drain() {
            if kind == Pending::Transact {
                self.txn_results
                    .push((id, Err(format!("connection lost ({why})"))));
            }
        }
        self.synced = false;
        self.has_lock = false;
        self.next_attempt = Some(now + self.backoff);
        self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
    }

    fn attempt_failed(&mut self, now: Instant, e: &dyn fmt::Display) {
        self.conn = None;
        self.failures += 1;
        if self.failures <= 4 {
            tracing::info!("{}: connection attempt failed ({e})", self.remote);
            tracing::info!(
                "{}: waiting {} seconds before reconnect",
                self.remote,
                self.backoff.as_secs()
            );
        } else if self.failures == 5 {
            tracing::info!(
                "{}: continuing to reconnect in the background but suppressing further logging",
                self.remote
            );
        }
        self.next_attempt = Some(now + self.backoff);
        self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
    }

    /// Connects, reads and handles messages, flushes what is queued; never blocks.
    pub fn run(&mut self, now: Instant) {
        if self.conn.is_none() {
            if self.next_attempt.is_some_and(|t| now < t) {
                return;
            }
            if self.failures <= 4 {
                tracing::info!("{}: connecting...", self.remote);
            }
            match connect(&self.remote) {
                Ok(stream) => {
                    let connecting = matches!(stream, Stream::Tcp(_)).then_some(now);
                    self.conn = Some(Conn {
                        stream,
                        connecting,
                        rx: JsonReader::new(),
                        tx: Vec::new(),
                        last_rx: now,
                        probed: false,
                    });
                    self.conn_seqno += 1;
                    self.pending.clear();
                    self.request("get_schema", vec![DATABASE.into()], Pending::GetSchema);
                }
                Err(e) => {
                    self.attempt_failed(now, &e);
                    return;
                }
            }
        }
        if let Err(why) = self.io(now) {
            if self.conn.as_ref().is_some_and(|c| c.connecting.is_some()) {
                self.attempt_failed(now, &why);
            } else {
                self.disconnect(now, &why);
            }
        }
    }

    /// Completes a connect, reads, handles messages, writes. `Err` drops the connection.
    fn io(&mut self, now: Instant) -> Result<(), String> {
        let Some(c) = &mut self.conn else {
            return Ok(());
        };
        if let Some(since) = c.connecting {
            if let Stream::Tcp(s) = &c.stream {
                if let Ok(Some(e)) = s.take_error() {
                    return Err(e.to_string());
                }
                match s.peer_addr() {
                    Ok(_) => {}
                    Err(_) if now.duration_since(since) < CONNECT_TIMEOUT => return Ok(()),
                    Err(_) => return Err("connection timed out".into()),
                }
            }
            c.connecting = None;
            c.last_rx = now;
        }
        // Read what is there.
        let mut buf = [0u8; 65536];
        loop {
            match c.stream.read(&mut buf) {
                Ok(0) => return Err("connection closed by peer".into()),
                Ok(n) => {
                    c.rx.feed(&buf[..n]);
                    c.last_rx = now;
                    c.probed = false;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.to_string()),
            }
        }
        loop {
            let Some(c) = &mut self.conn else {
                return Ok(());
            };
            let v = match c.rx.next_value() {
                Ok(Some(v)) => v,
                Ok(None) => break,
                Err(e) => return Err(format!("protocol error: {e}")),
            };
            tracing::trace!("{}: received {v}", self.remote);
            match Message::from_json(v) {
                Ok(m) => self.handle(m)?,
                Err(e) => {
                    self.bad_updates += 1;
                    tracing::warn!("{}: ignoring a malformed message: {e}", self.remote);
                }
            }
        }
        // Liveness.
        if let Some(c) = &mut self.conn {
            let quiet = now.duration_since(c.last_rx);
            if quiet >= PROBE_INTERVAL * 2 && c.probed {
                return Err(format!(
                    "no response to inactivity probe after {} seconds",
                    quiet.as_secs()
                ));
            }
            if quiet >= PROBE_INTERVAL && !c.probed {
                c.probed = true;
                self.request("echo", Vec::new(), Pending::Echo);
            }
        }
        self.flush()
    }

    fn flush(&mut self) -> Result<(), String> {
        let Some(c) = &mut self.conn else {
            return Ok(());
        };
        while !c.tx.is_empty() {
            match c.stream.write(&c.tx) {
                Ok(0) => return Err("write returned 0".into()),
                Ok(n) => {
                    c.tx.drain(..n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.to_string()),
            }
        }
        Ok(())
    }

    fn handle(&mut self, m: Message) -> Result<(), String> {
        match m {
            Message::Request { method, params, id } if method == "echo" => {
                self.send(&Message::Reply {
                    result: Value::Array(params),
                    id,
                });
            }
            Message::Request { method, id, .. } => {
                tracing::warn!("{}: unexpected request \"{method}\"", self.remote);
                self.send(&Message::Error {
                    error: json!({"error": "unknown method"}),
                    id,
                });
            }
            Message::Notify { method, params } => self.notification(&method, &params),
            Message::Reply { result, id } => self.reply(&id, Ok(result))?,
            Message::Error { error, id } => self.reply(&id, Err(error))?,
        }
        Ok(())
    }

    fn notification(&mut self, method: &str, params: &[Value]) {
        match (method, params) {
            ("update" | "update2", [id, updates]) if id == MONITOR_ID => {
                if !self.synced {
                    return;
                }
                let kind = if method == "update" {
                    UpdateKind::Update
                } else {
                    UpdateKind::Update2
                };
                match self.replica.apply(updates, kind) {
                    Ok(()) => self.seqno += 1,
                    Err(e) => self.refuse(&e),
                }
            }
            ("locked", [name]) if name == LOCK_NAME => {
                tracing::info!("{}: acquired the {LOCK_NAME} lock", self.remote);
                self.has_lock = true;
                self.seqno += 1;
            }
            ("stolen", [name]) if name == LOCK_NAME => {
                tracing::warn!(
                    "{}: the {LOCK_NAME} lock was stolen by another client; not configuring \
                     until it is back",
                    self.remote
                );
                self.has_lock = false;
            }
            _ => {
                self.bad_updates += 1;
                let params = serde_json::to_string(params).unwrap_or_default();
                tracing::warn!(
                    "{}: ignoring an unexpected notification \"{method}\" {params}",
                    self.remote,
                );
            }
        }
    }

    fn refuse(&mut self, e: &DatumError) {
        self.bad_updates += 1;
        tracing::warn!(
            "{}: ignoring a malformed update from the database: {e}; keeping the previous \
             configuration",
            self.remote
        );
    }

    fn reply(&mut self, id: &Value, r: Result<Value, Value>) -> Result<(), String> {
        let Some(kind) = id
            .as_u64()
            .and_then(|i| self.pending.remove(&i).map(|k| (i, k)))
        else {
            self.bad_updates += 1;
            tracing::warn!("{}: ignoring a reply to no request (id {id})", self.remote);
            return Ok(());
        };
        match kind {
            (_, Pending::GetSchema) => {
                let schema = r
                    .map_err(|e| format!("get_schema failed: {e}"))
                    .and_then(|v| Schema::from_json(&v).map_err(|e| format!("schema: {e}")))?;
                if self.schema.as_ref() != Some(&schema) {
                    self.replica = Replica::new(schema.clone());
                    self.schema = Some(schema.clone());
                }
                self.request("lock", vec![LOCK_NAME.into()], Pending::Lock);
                let req = schema.monitor_request(true);
                self.request(
                    "monitor_cond",
                    vec![DATABASE.into(), MONITOR_ID.into(), req],
                    Pending::Monitor { cond: true },
                );
            }
            (_, Pending::Lock) => match r {
                Ok(v) if v.get("locked") == Some(&Value::Bool(true)) => {
                    self.has_lock = true;
                    self.seqno += 1;
                }
                Ok(_) => tracing::error!(
                    "{}: another ovs-vswitchd process is running, disabling this process (pid \
                     {}) until it goes away",
                    self.remote,
                    std::process::id()
                ),
                Err(e) => return Err(format!("lock failed: {e}")),
            },
            (_, Pending::Monitor { cond }) => match r {
                Err(e) if cond => {
                    tracing::info!(
                        "{}: monitor_cond refused ({e}); falling back to monitor",
                        self.remote
                    );
                    let req = self
                        .schema
                        .as_ref()
                        .map_or(Value::Null, |s| s.monitor_request(false));
                    self.request(
                        "monitor",
                        vec![DATABASE.into(), MONITOR_ID.into(), req],
                        Pending::Monitor { cond: false },
                    );
                }
                Err(e) => return Err(format!("monitor failed: {e}")),
                Ok(initial) => {
                    let kind = if cond {
                        UpdateKind::Update2
                    } else {
                        UpdateKind::Update
                    };
                    if let Err(e) = self.replica.reset(&initial, kind) {
                        self.refuse(&e);
                        return Err("the initial contents were malformed".into());
                    }
                    tracing::info!("{}: connected", self.remote);
                    self.synced = true;
                    self.seqno += 1;
                    self.backoff = MIN_BACKOFF;
                    self.failures = 0;
                }
            },
            (_, Pending::Echo) => {}
            (id, Pending::Transact) => {
                let outcome = match r {
                    Ok(Value::Array(results)) => Ok(results),
                    Ok(other) => Err(format!("unexpected transaction result {other}")),
                    Err(e) => Err(e.to_string()),
                };
                self.txn_results.push((id, outcome));
            }
        }
        Ok(())
    }

    /// Registers what the next [`Session::run`] waits for.
    pub fn wait(&self, poll: &mut PollSet) {
        match &self.conn {
            None => match self.next_attempt {
                Some(t) => poll.timer_wait(t),
                None => poll.immediate_wake(),
            },
            Some(c) => {
                let fd = c.stream.fd();
                if c.connecting.is_some() {
                    poll.fd_wait(fd, Interest::Write);
                    poll.timer_wait_after(Duration::from_millis(100));
                    return;
                }
                poll.fd_wait(fd, Interest::Read);
                if !c.tx.is_empty() {
                    poll.fd_wait(fd, Interest::Write);
                }
                let next = if c.probed {
                    c.last_rx + PROBE_INTERVAL * 2
                } else {
                    c.last_rx + PROBE_INTERVAL
                };
                poll.timer_wait(next);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn remotes() {
        assert_eq!(
            Remote::parse("unix:/run/db.sock").unwrap(),
            Remote::Unix("/run/db.sock".into())
        );
        let tcp = Remote::parse("tcp:127.0.0.1:6640").unwrap();
        assert_eq!(tcp, Remote::Tcp("127.0.0.1:6640".parse().unwrap()));
        assert_eq!(tcp.to_string(), "tcp:127.0.0.1:6640");
        let v6 = Remote::parse("tcp:[::1]:6640").unwrap();
        assert_eq!(v6.to_string(), "tcp:[::1]:6640");
        for bad in [
            "unix:",
            "tcp:localhost:6640",
            "tcp:1.2.3.4",
            "ssl:1.2.3.4:6640",
            "x",
        ] {
            assert!(Remote::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn refused_connection_backs_off() {
        let dir = std::env::temp_dir().join(format!("rovs-ovsdb-{}", std::process::id()));
        let mut s = Session::new(Remote::Unix(dir.join("absent.sock")));
        let t0 = Instant::now();
        s.run(t0);
        assert!(!s.is_synced() && s.conn.is_none());
        // The next attempt waits 1 s, then 2, 4, 8, 8.
        let mut waits = Vec::new();
        let mut now = t0;
        for _ in 0..5 {
            let next = s.next_attempt.unwrap();
            waits.push(next.duration_since(now).as_secs());
            now = next;
            s.run(now);
        }
        assert_eq!(waits, [1, 2, 4, 8, 8]);
    }

    proptest! {
        #[test]
        fn remote_text_round_trip(ip in any::<std::net::IpAddr>(), port in any::<u16>()) {
            let r = Remote::Tcp(SocketAddr::new(ip, port));
            prop_assert_eq!(Remote::parse(&r.to_string()).unwrap(), r);
        }

        #[test]
        fn remote_parse_never_panics(s in "\\PC{0,40}") {
            let _ = Remote::parse(&s);
        }
    }
}
