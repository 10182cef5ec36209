//! The unixctl server: the control socket that `ovs-appctl` talks to.
//!
//! # Protocol
//!
//! JSON-RPC 1.0 over a Unix stream socket, as OVS's `lib/unixctl.c` speaks it: each request
//! is a bare JSON object `{"id":0,"method":"version","params":[]}` whose params are strings;
//! each reply is `{"id":0,"result":"...","error":null}` or
//! `{"id":0,"result":null,"error":"..."}`, the text ending in `\n` (added when missing, unless
//! empty). A connection may carry several requests; they are answered in order.
//!
//! Malformed input (not JSON, not an object, a missing `method`/`params`/`id`, a reply or a
//! notification, a request over [`MAX_REQUEST_BYTES`]) is answered with an error whose `id`
//! is `null`, logged, and the connection is closed, as OVS closes it. Unknown commands and
//! wrong argument counts get OVS's error texts, and the connection stays open.
//!
//! # Commands
//!
//! A [`Unixctl`] holds a registry of commands: a name, a usage string shown by
//! `list-commands`, the minimum and maximum argument count, and a handler. A handler either
//! answers at once ([`Unixctl::register`]) or later through a [`Responder`]
//! ([`Unixctl::register_deferred`]); [`Unixctl::register_queued`] puts requests in a
//! [`CommandQueue`] that a component drains in its `run`, with `&mut self` at hand. While a
//! deferred request is unanswered, later requests on the same connection wait.
//!
//! `list-commands` and `version` are built in. The daemon's main loop registers the rest
//! (`exit`, `vlog/*`, `coverage/show`, `memory/show`, ...).
//!
//! # Polling
//!
//! Everything is non-blocking: [`Unixctl::wait`] registers the listening socket, each
//! connection (readable, and writable while a reply is pending) and the wake-up descriptor of
//! deferred replies in a [`PollSet`]; [`Unixctl::run`] accepts, reads, answers and writes as
//! far as it can without blocking.

use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;
use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileTypeExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use netdev::poll::{Interest, Notifier, PollSet};
use parking_lot::Mutex;
use serde_json::Value;

use crate::coverage::{Counter, Coverage};

/// The largest request accepted; a client that sends more without completing a request gets
/// an error and is disconnected.
pub const MAX_REQUEST_BYTES: usize = 1 << 20;

/// At most this many clients at once; more are disconnected at once.
pub const MAX_CONNECTIONS: usize = 64;

/// `max_args` for a command that takes any number of arguments.
pub const UNLIMITED: usize = usize::MAX;

/// A command's answer: the text printed by `ovs-appctl`, or an error text (`ovs-appctl`
/// prints it to stderr and exits 2).
pub type Reply = Result<String, String>;

type NowHandler = Box<dyn FnMut(&[String]) -> Reply>;
type LaterHandler = Box<dyn FnMut(&[String], Responder)>;

enum Handler {
    Now(NowHandler),
    Later(LaterHandler),
    ListCommands,
}

struct Command {
    usage: String,
    min_args: usize,
    max_args: usize,
    handler: Handler,
}

/// Replies made through [`Responder`]s, waiting for the main loop to send them.
struct Shared {
    replies: Mutex<Vec<(u64, Value, Reply)>>,
    notifier: Notifier,
}

/// The right to answer one request later, from any thread.
///
/// Dropping it unanswered answers with an error, so a client never waits forever.
pub struct Responder {
    conn: u64,
    id: Value,
    shared: Arc<Shared>,
    done: bool,
}

impl std::fmt::Debug for Responder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Responder")
            .field("conn", &self.conn)
            .field("id", &self.id)
            .finish()
    }
}

impl Responder {
    /// Sends `reply` to the client (at the server's next `run`).
    pub fn reply(mut self, reply: Reply) {
        self.send(reply);
    }

    fn send(&mut self, reply: Reply) {
        if self.done {
            return;
        }
        self.done = true;
        self.shared
            .replies
            .lock()
            .push((self.conn, self.id.clone(), reply));
        self.shared.notifier.notify();
    }
}

impl Drop for Responder {
    fn drop(&mut self) {
        self.send(Err("command was dropped without a reply".to_owned()));
    }
}

/// One request taken from a [`CommandQueue`].
#[derive(Debug)]
pub struct Request {
    /// The command name.
    pub command: String,
    /// Its arguments (already checked against the registered counts).
    pub args: Vec<String>,
    /// Where the answer goes.
    pub responder: Responder,
}

impl Request {
    /// Answers the request.
    pub fn reply(self, reply: Reply) {
        self.responder.reply(reply);
    }
}

/// Requests for commands registered with [`Unixctl::register_queued`], waiting for their
/// owner (a main-loop component) to take them in its `run`. Cloning gives another handle to
/// the same queue.
///
/// An owner should call `poll.immediate_wake()` in its `wait` while the queue is not empty.
#[derive(Clone, Debug, Default)]
pub struct CommandQueue(Rc<RefCell<VecDeque<Request>>>);

impl CommandQueue {
    /// An empty queue.
    pub fn new() -> Self {
        CommandQueue::default()
    }

    /// Takes the oldest request.
    pub fn pop(&self) -> Option<Request> {
        self.0.borrow_mut().pop_front()
    }

    /// Whether no request waits.
    pub fn is_empty(&self) -> bool {
        self.0.borrow().is_empty()
    }

    fn push(&self, r: Request) {
        self.0.borrow_mut().push_back(r);
    }
}

struct Conn {
    id: u64,
    stream: UnixStream,
    rbuf: Vec<u8>,
    wbuf: Vec<u8>,
    /// A deferred request of this connection is unanswered.
    waiting: bool,
    /// The client closed its side.
    eof: bool,
    /// Close once `wbuf` is written (after a protocol error).
    closing: bool,
    /// Drop now.
    dead: bool,
}

/// What the framing found at the front of a connection's input.
#[derive(Debug, PartialEq)]
enum Frame {
    /// Not a whole JSON value yet.
    Incomplete,
    /// A JSON value and the number of bytes it took.
    Message(Value, usize),
    /// Not JSON.
    Bad(String),
}

/// Finds the first complete JSON value in `buf`.
fn next_frame(buf: &[u8]) -> Frame {
    let mut stream = serde_json::Deserializer::from_slice(buf).into_iter::<Value>();
    match stream.next() {
        None => Frame::Incomplete,
        Some(Ok(v)) => Frame::Message(v, stream.byte_offset()),
        Some(Err(e)) if e.is_eof() => Frame::Incomplete,
        Some(Err(e)) => Frame::Bad(format!("error parsing stream: {e}")),
    }
}

/// The JSON text of a reply.
fn encode_reply(id: &Value, reply: &Reply) -> String {
    let (Ok(body) | Err(body)) = reply;
    let mut body = body.clone();
    if !body.is_empty() && !body.ends_with('\n') {
        body.push('\n');
    }
    let body = Value::String(body);
    match reply {
        Ok(_) => format!("{{\"id\":{id},\"result\":{body},\"error\":null}}"),
        Err(_) => format!("{{\"id\":{id},\"result\":null,\"error\":{body}}}"),
    }
}

/// A request's parts, or why it is not a valid request.
fn parse_request(v: Value) -> Result<(Value, String, Vec<Value>), (Value, String)> {
    let Value::Object(mut map) = v else {
        return Err((Value::Null, "message is not a JSON object".to_owned()));
    };
    let id = map.get("id").cloned().unwrap_or(Value::Null);
    if let Some(k) = map
        .keys()
        .find(|k| !matches!(k.as_str(), "id" | "method" | "params" | "result" | "error"))
    {
        return Err((id, format!("message has unexpected member \"{k}\"")));
    }
    if !map.contains_key("method") {
        if map.contains_key("result") || map.contains_key("error") {
            return Err((id, "received unexpected reply message".to_owned()));
        }
        return Err((id, "message lacks \"method\"".to_owned()));
    }
    let Some(Value::String(method)) = map.remove("method") else {
        return Err((id, "\"method\" is not a string".to_owned()));
    };
    let Some(Value::Array(params)) = map.remove("params") else {
        return Err((id, "request must have \"params\" (an array)".to_owned()));
    };
    if id.is_null() {
        return Err((id, "received unexpected notification message".to_owned()));
    }
    Ok((id, method, params))
}

/// The unixctl server and command registry. See the [module docs](self).
pub struct Unixctl {
    listener: Option<UnixListener>,
    path: Option<PathBuf>,
    conns: Vec<Conn>,
    next_conn: u64,
    commands: BTreeMap<String, Command>,
    shared: Arc<Shared>,
    received: Option<Counter>,
    replied: Option<Counter>,
}

impl std::fmt::Debug for Unixctl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Unixctl")
            .field("path", &self.path)
            .field("conns", &self.conns.len())
            .field("commands", &self.commands.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Unixctl {
    /// A server listening on `path` (a stale socket there is replaced), or with no socket at
    /// all for `None` (commands can still be called with [`Unixctl::call`]). `version` is the
    /// text of the built-in `version` command.
    ///
    /// # Errors
    ///
    /// The socket cannot be bound (the directory does not exist, a non-socket file is in the
    /// way, the path is too long), or no eventfd can be made.
    pub fn new(path: Option<&Path>, version: &str) -> io::Result<Unixctl> {
        let listener = match path {
            None => None,
            Some(p) => {
                if let Ok(meta) = std::fs::symlink_metadata(p)
                    && meta.file_type().is_socket()
                {
                    std::fs::remove_file(p)?;
                }
                let l = UnixListener::bind(p).map_err(|e| {
                    io::Error::new(e.kind(), format!("{}: bind failed: {e}", p.display()))
                })?;
                l.set_nonblocking(true)?;
                Some(l)
            }
        };
        let notifier = Notifier::new().map_err(io::Error::from)?;
        let mut u = Unixctl {
            listener,
            path: path.map(Path::to_owned),
            conns: Vec::new(),
            next_conn: 0,
            commands: BTreeMap::new(),
            shared: Arc::new(Shared {
                replies: Mutex::new(Vec::new()),
                notifier,
            }),
            received: None,
            replied: None,
        };
        u.insert("list-commands", "", 0, 0, Handler::ListCommands);
        let version = version.to_owned();
        u.insert(
            "version",
            "",
            0,
            0,
            Handler::Now(Box::new(move |_| Ok(version.clone()))),
        );
        Ok(u)
    }

    /// Counts requests and replies in `unixctl_received` / `unixctl_replied`.
    pub fn set_coverage(&mut self, coverage: &Coverage) {
        self.received = Some(coverage.counter("unixctl_received"));
        self.replied = Some(coverage.counter("unixctl_replied"));
    }

    /// The socket's path, if listening.
    pub fn path(&self) -> Option<&Path> {
        self.listener.as_ref().and(self.path.as_deref())
    }

    fn insert(&mut self, name: &str, usage: &str, min: usize, max: usize, handler: Handler) {
        let old = self.commands.insert(
            name.to_owned(),
            Command {
                usage: usage.to_owned(),
                min_args: min,
                max_args: max.max(min),
                handler,
            },
        );
        if old.is_some() {
            tracing::warn!("command \"{name}\" registered twice; the later one wins");
        }
    }

    /// Registers command `name` that answers at once. `usage` is what `list-commands` shows
    /// after the name (its arguments); `min_args..=max_args` arguments are accepted
    /// ([`UNLIMITED`] for no maximum). Registering a name again replaces the command.
    pub fn register<F>(&mut self, name: &str, usage: &str, min_args: usize, max_args: usize, f: F)
    where
        F: FnMut(&[String]) -> Reply + 'static,
    {
        self.insert(name, usage, min_args, max_args, Handler::Now(Box::new(f)));
    }

    /// Registers command `name` whose handler answers later through the [`Responder`] it is
    /// given (or at once, by replying before it returns).
    pub fn register_deferred<F>(
        &mut self,
        name: &str,
        usage: &str,
        min_args: usize,
        max_args: usize,
        f: F,
    ) where
        F: FnMut(&[String], Responder) + 'static,
    {
        self.insert(name, usage, min_args, max_args, Handler::Later(Box::new(f)));
    }

    /// Registers command `name` whose requests go into `queue`, for a component to answer in
    /// its `run`.
    pub fn register_queued(
        &mut self,
        name: &str,
        usage: &str,
        min_args: usize,
        max_args: usize,
        queue: &CommandQueue,
    ) {
        let queue = queue.clone();
        let command = name.to_owned();
        self.register_deferred(name, usage, min_args, max_args, move |args, responder| {
            queue.push(Request {
                command: command.clone(),
                args: args.to_vec(),
                responder,
            });
        });
    }

    /// Removes command `name`; whether it existed.
    pub fn unregister(&mut self, name: &str) -> bool {
        self.commands.remove(name).is_some()
    }

    /// The registered command names, sorted.
    pub fn command_names(&self) -> Vec<&str> {
        self.commands.keys().map(String::as_str).collect()
    }

    /// The `list-commands` text.
    pub fn list_commands(&self) -> String {
        let mut out = String::from("The available commands are:\n");
        for (name, c) in &self.commands {
            let _ = writeln!(out, "  {name:<23} {}", c.usage);
        }
        out
    }

    /// Runs command `name` as if a client asked, without a socket; `None` if the handler
    /// answers later (through a [`Responder`] whose reply the server then drops).
    pub fn call(&mut self, name: &str, args: &[&str]) -> Option<Reply> {
        let args: Vec<Value> = args
            .iter()
            .map(|a| Value::String((*a).to_owned()))
            .collect();
        let (reply, _) = self.dispatch(u64::MAX, &Value::from(0), name, &args);
        reply
    }

    /// Checks and runs one request. Returns the immediate reply, if any, and whether a
    /// deferred handler took it.
    fn dispatch(
        &mut self,
        conn: u64,
        id: &Value,
        method: &str,
        params: &[Value],
    ) -> (Option<Reply>, bool) {
        if let Some(c) = &self.received {
            c.inc();
        }
        if tracing::enabled!(tracing::Level::DEBUG) {
            let shown = serde_json::Value::Array(params.to_vec()).to_string();
            tracing::debug!("received request {method}{shown}, id={id}");
        }
        let Some(cmd) = self.commands.get(method) else {
            return (
                Some(Err(format!(
                    "\"{method}\" is not a valid command (use \"list-commands\" to see a list \
                     of valid commands)"
                ))),
                false,
            );
        };
        let mut args = Vec::with_capacity(params.len());
        for p in params {
            match p {
                Value::String(s) => args.push(s.clone()),
                _ => {
                    return (
                        Some(Err(format!("\"{method}\" command has non-string argument"))),
                        false,
                    );
                }
            }
        }
        if args.len() < cmd.min_args {
            return (
                Some(Err(format!(
                    "\"{method}\" command requires at least {} arguments",
                    cmd.min_args
                ))),
                false,
            );
        }
        if args.len() > cmd.max_args {
            return (
                Some(Err(format!(
                    "\"{method}\" command takes at most {} arguments",
                    cmd.max_args
                ))),
                false,
            );
        }
        if matches!(cmd.handler, Handler::ListCommands) {
            return (Some(Ok(self.list_commands())), false);
        }
        let shared = Arc::clone(&self.shared);
        let Some(cmd) = self.commands.get_mut(method) else {
            return (None, false);
        };
        let deferred = matches!(cmd.handler, Handler::Later(_));
        let outcome = catch_unwind(AssertUnwindSafe(|| match &mut cmd.handler {
            Handler::Now(f) => (Some(f(&args)), false),
            Handler::Later(f) => {
                let responder = Responder {
                    conn,
                    id: id.clone(),
                    shared,
                    done: false,
                };
                f(&args, responder);
                (None, true)
            }
            Handler::ListCommands => (Some(Ok(String::new())), false),
        }));
        match outcome {
            Ok(r) => r,
            // A deferred handler's responder answers (with an error when it was dropped by
            // the unwinding), so the request must not get a second answer here.
            Err(_) if deferred => {
                tracing::error!("handler of \"{method}\" panicked");
                (None, true)
            }
            Err(_) => {
                tracing::error!("handler of \"{method}\" panicked");
                (
                    Some(Err(format!("\"{method}\" command failed (internal error)"))),
                    false,
                )
            }
        }
    }

    /// Accepts clients, reads and answers requests, sends replies; never blocks.
    pub fn run(&mut self) {
        self.accept();
        self.shared.notifier.drain();
        let mut conns = std::mem::take(&mut self.conns);
        self.take_replies(&mut conns);
        for conn in &mut conns {
            if !conn.dead {
                Self::read(conn);
                self.process(conn);
            }
        }
        self.take_replies(&mut conns);
        for conn in &mut conns {
            Self::flush(conn);
            if conn.wbuf.is_empty() && (conn.closing || (conn.eof && !conn.waiting)) {
                conn.dead = true;
            }
        }
        conns.retain(|c| !c.dead);
        // Handlers may not register commands on this server (they have no access to it), so
        // no connection was added meanwhile; keep any that accept() could add anyway.
        conns.append(&mut self.conns);
        self.conns = conns;
    }

    /// Registers what [`Unixctl::run`] waits for.
    pub fn wait(&self, poll: &mut PollSet) {
        if let Some(l) = &self.listener {
            poll.fd_wait(l.as_raw_fd(), Interest::Read);
        }
        poll.fd_wait(self.shared.notifier.fd(), Interest::Read);
        for c in &self.conns {
            if !c.wbuf.is_empty() {
                poll.fd_wait(c.stream.as_raw_fd(), Interest::Write);
            }
            if !c.waiting && !c.closing && !c.eof {
                poll.fd_wait(c.stream.as_raw_fd(), Interest::Read);
            }
        }
    }

    /// How many clients are connected.
    pub fn n_connections(&self) -> usize {
        self.conns.len()
    }

    fn accept(&mut self) {
        let Some(listener) = &self.listener else {
            return;
        };
        loop {
            match listener.accept() {
                Ok((stream, _)) => {
                    if self.conns.len() >= MAX_CONNECTIONS {
                        tracing::warn!("too many unixctl connections, dropping a new one");
                        continue;
                    }
                    if let Err(e) = stream.set_nonblocking(true) {
                        tracing::warn!("unixctl: set_nonblocking failed: {e}");
                        continue;
                    }
                    self.next_conn += 1;
                    self.conns.push(Conn {
                        id: self.next_conn,
                        stream,
                        rbuf: Vec::new(),
                        wbuf: Vec::new(),
                        waiting: false,
                        eof: false,
                        closing: false,
                        dead: false,
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => {
                    // EMFILE and friends: try again at the next wake-up.
                    tracing::warn!("unixctl: accept failed: {e}");
                    break;
                }
            }
        }
    }

    fn read(conn: &mut Conn) {
        if conn.waiting || conn.closing || conn.eof {
            return;
        }
        let mut buf = [0u8; 16 * 1024];
        while conn.rbuf.len() <= MAX_REQUEST_BYTES {
            match conn.stream.read(&mut buf) {
                Ok(0) => {
                    conn.eof = true;
                    break;
                }
                Ok(n) => conn
                    .rbuf
                    .extend_from_slice(buf.get(..n).unwrap_or_default()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => {
                    tracing::debug!("unix#{}: receive error: {e}", conn.id);
                    conn.dead = true;
                    break;
                }
            }
        }
    }

    fn protocol_error(conn: &mut Conn, id: Value, msg: String) {
        tracing::warn!("unix#{}: {msg}", conn.id);
        conn.wbuf.extend_from_slice(
            encode_reply(&id, &Err(format!("invalid request: {msg}"))).as_bytes(),
        );
        conn.rbuf.clear();
        conn.closing = true;
    }

    fn process(&mut self, conn: &mut Conn) {
        while !conn.waiting && !conn.closing && !conn.dead {
            match next_frame(&conn.rbuf) {
                Frame::Incomplete => {
                    if conn.rbuf.len() > MAX_REQUEST_BYTES {
                        let msg = format!("request longer than {MAX_REQUEST_BYTES} bytes");
                        Self::protocol_error(conn, Value::Null, msg);
                    } else if conn.eof && conn.rbuf.iter().any(|b| !b.is_ascii_whitespace()) {
                        Self::protocol_error(conn, Value::Null, "truncated request".to_owned());
                    }
                    break;
                }
                Frame::Bad(msg) => Self::protocol_error(conn, Value::Null, msg),
                Frame::Message(v, used) => {
                    conn.rbuf.drain(..used.min(conn.rbuf.len()));
                    match parse_request(v) {
                        Err((id, msg)) => Self::protocol_error(conn, id, msg),
                        Ok((id, method, params)) => {
                            let (reply, deferred) = self.dispatch(conn.id, &id, &method, &params);
                            if let Some(reply) = reply {
                                self.queue_reply(conn, &id, &reply);
                            }
                            conn.waiting = deferred;
                        }
                    }
                }
            }
        }
    }

    fn queue_reply(&self, conn: &mut Conn, id: &Value, reply: &Reply) {
        match reply {
            Ok(r) => tracing::debug!("replying with success, id={id}: {r:?}"),
            Err(e) => tracing::debug!("replying with error, id={id}: {e:?}"),
        }
        if let Some(c) = &self.replied {
            c.inc();
        }
        conn.wbuf
            .extend_from_slice(encode_reply(id, reply).as_bytes());
    }

    /// Moves deferred replies into their connections' output; continues processing requests
    /// that waited behind them.
    fn take_replies(&mut self, conns: &mut [Conn]) {
        loop {
            let replies = std::mem::take(&mut *self.shared.replies.lock());
            if replies.is_empty() {
                return;
            }
            for (conn_id, id, reply) in replies {
                // Replies for connections that are gone are dropped.
                if let Some(conn) = conns.iter_mut().find(|c| c.id == conn_id) {
                    self.queue_reply(conn, &id, &reply);
                    conn.waiting = false;
                    self.process(conn);
                }
            }
        }
    }

    fn flush(conn: &mut Conn) {
        while !conn.wbuf.is_empty() && !conn.dead {
            match conn.stream.write(&conn.wbuf) {
                Ok(0) => conn.dead = true,
                Ok(n) => {
                    conn.wbuf.drain(..n.min(conn.wbuf.len()));
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => {
                    // The client went away mid-reply (EPIPE, ECONNRESET).
                    tracing::debug!("unix#{}: send error: {e}", conn.id);
                    conn.dead = true;
                }
            }
        }
    }

    /// Stops listening and removes the socket file; connected clients stay until
    /// [`Unixctl::flush_all`] or drop.
    pub fn close_listener(&mut self) {
        if self.listener.take().is_some()
            && let Some(p) = &self.path
        {
            let _ = std::fs::remove_file(p);
        }
    }

    /// Sends every pending reply, waiting up to `timeout` for slow clients.
    pub fn flush_all(&mut self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            let mut conns = std::mem::take(&mut self.conns);
            self.take_replies(&mut conns);
            for c in &mut conns {
                Self::flush(c);
            }
            conns.retain(|c| !c.dead && !c.wbuf.is_empty());
            self.conns = conns;
            if self.conns.is_empty() || Instant::now() >= deadline {
                return;
            }
            let mut poll = PollSet::new();
            for c in &self.conns {
                poll.fd_wait(c.stream.as_raw_fd(), Interest::Write);
            }
            poll.timer_wait(deadline);
            if poll.block().is_err() {
                return;
            }
        }
    }
}

impl Drop for Unixctl {
    fn drop(&mut self) {
        self.close_listener();
    }
}

#[cfg(test)]
mod tests;
