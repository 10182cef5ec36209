//! Non-blocking byte streams for OpenFlow connections: targets as OVS spells them
//! (`tcp:IP:PORT`, `unix:PATH`, `ptcp:PORT[:IP]`, `punix:PATH`), active connects that
//! complete in the background, and listeners.
//!
//! Nothing here blocks: a TCP connect returns at once and completes while the main loop
//! polls; reads and writes return `WouldBlock` when the socket is not ready.

use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::sys::socket::{
    AddressFamily, SockFlag, SockType, SockaddrIn, SockaddrIn6, connect, socket,
};

/// OpenFlow's IANA port, the default of `tcp:` and `ptcp:` targets.
pub const OFP_PORT: u16 = 6653;

/// Where a connection goes or comes from, parsed from a controller target string.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    /// `tcp:IP[:PORT]`: connect to a controller.
    Tcp(SocketAddr),
    /// `unix:PATH`: connect to a Unix socket.
    Unix(PathBuf),
    /// `ptcp:[PORT][:IP]`: listen for TCP connections.
    PTcp(SocketAddr),
    /// `punix:PATH`: listen on a Unix socket.
    PUnix(PathBuf),
}

impl Target {
    /// Parses a target as `Controller.target` spells it. `ssl:` and `pssl:` are refused:
    /// this switch has no TLS.
    ///
    /// # Errors
    ///
    /// A message naming what is wrong.
    pub fn parse(s: &str) -> Result<Target, String> {
        let (scheme, rest) = s
            .split_once(':')
            .ok_or_else(|| format!("{s}: not a connection target (e.g. tcp:127.0.0.1:6653)"))?;
        match scheme {
            "tcp" => parse_ip_port(rest, true)
                .map(Target::Tcp)
                .map_err(|e| format!("{s}: {e}")),
            "ptcp" => {
                // ptcp:[PORT][:IP]
                let (port, ip) = match rest.split_once(':') {
                    Some((p, ip)) => (p, Some(ip)),
                    None => (rest, None),
                };
                let port = if port.is_empty() {
                    OFP_PORT
                } else {
                    port.parse::<u16>()
                        .map_err(|_| format!("{s}: bad port \"{port}\""))?
                };
                let ip = match ip {
                    None | Some("") => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                    Some(ip) => parse_ip(ip).map_err(|e| format!("{s}: {e}"))?,
                };
                Ok(Target::PTcp(SocketAddr::new(ip, port)))
            }
            "unix" | "punix" if rest.is_empty() => Err(format!("{s}: missing socket path")),
            "unix" => Ok(Target::Unix(PathBuf::from(rest))),
            "punix" => Ok(Target::PUnix(PathBuf::from(rest))),
            "ssl" | "pssl" => Err(format!("{s}: SSL connections are not supported")),
            _ => Err(format!("{s}: unknown connection method \"{scheme}\"")),
        }
    }

    /// Whether this is a listening (`p...`) target.
    pub fn is_passive(&self) -> bool {
        matches!(self, Target::PTcp(_) | Target::PUnix(_))
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ip_port = |a: &SocketAddr| match a.ip() {
            IpAddr::V4(ip) => format!("{ip}:{}", a.port()),
            IpAddr::V6(ip) => format!("[{ip}]:{}", a.port()),
        };
        match self {
            Target::Tcp(a) => write!(f, "tcp:{}", ip_port(a)),
            Target::Unix(p) => write!(f, "unix:{}", p.display()),
            Target::PTcp(a) => match a.ip() {
                IpAddr::V4(ip) if ip.is_unspecified() => write!(f, "ptcp:{}", a.port()),
                IpAddr::V4(ip) => write!(f, "ptcp:{}:{ip}", a.port()),
                IpAddr::V6(ip) => write!(f, "ptcp:{}:[{ip}]", a.port()),
            },
            Target::PUnix(p) => write!(f, "punix:{}", p.display()),
        }
    }
}

fn parse_ip(s: &str) -> Result<IpAddr, String> {
    let s = s
        .strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .unwrap_or(s);
    s.parse::<IpAddr>()
        .map_err(|_| format!("bad IP address \"{s}\""))
}

/// `IP[:PORT]`, with `[IPv6]:PORT` for IPv6.
fn parse_ip_port(s: &str, default_port: bool) -> Result<SocketAddr, String> {
    if let Ok(a) = s.parse::<SocketAddr>() {
        return Ok(a);
    }
    if default_port && let Ok(ip) = parse_ip(s) {
        return Ok(SocketAddr::new(ip, OFP_PORT));
    }
    Err(format!("bad address \"{s}\" (use IP:PORT)"))
}

/// A connected (or connecting) byte stream.
#[derive(Debug)]
pub(crate) enum Stream {
    /// TCP.
    Tcp(TcpStream),
    /// A Unix stream socket.
    Unix(UnixStream),
}

impl Stream {
    /// Starts connecting to an active target. Returns the stream and whether the connect is
    /// still in progress ([`Stream::poll_connect`] tells when it is done).
    pub(crate) fn connect(target: &Target) -> io::Result<(Stream, bool)> {
        match target {
            Target::Tcp(addr) => {
                let family = if addr.is_ipv4() {
                    AddressFamily::Inet
                } else {
                    AddressFamily::Inet6
                };
                let fd: OwnedFd = socket(
                    family,
                    SockType::Stream,
                    SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC,
                    None,
                )?;
                let r = match addr {
                    SocketAddr::V4(a) => connect(fd.as_raw_fd(), &SockaddrIn::from(*a)),
                    SocketAddr::V6(a) => connect(fd.as_raw_fd(), &SockaddrIn6::from(*a)),
                };
                let pending = match r {
                    Ok(()) => false,
                    Err(Errno::EINPROGRESS) => true,
                    Err(e) => return Err(e.into()),
                };
                let s = TcpStream::from(fd);
                let _ = s.set_nodelay(true);
                Ok((Stream::Tcp(s), pending))
            }
            Target::Unix(path) => {
                let s = UnixStream::connect(path)?;
                s.set_nonblocking(true)?;
                Ok((Stream::Unix(s), false))
            }
            Target::PTcp(_) | Target::PUnix(_) => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a passive target cannot connect",
            )),
        }
    }

    /// For a connect in progress: `Ok(true)` once connected, `Ok(false)` while still
    /// connecting, the error if it failed.
    pub(crate) fn poll_connect(&self) -> io::Result<bool> {
        match self {
            Stream::Tcp(s) => {
                if let Some(e) = s.take_error()? {
                    return Err(e);
                }
                match s.peer_addr() {
                    Ok(_) => Ok(true),
                    Err(e) if e.raw_os_error() == Some(libc_enotconn()) => Ok(false),
                    Err(e) => Err(e),
                }
            }
            Stream::Unix(_) => Ok(true),
        }
    }

    /// The descriptor to poll.
    pub(crate) fn fd(&self) -> RawFd {
        match self {
            Stream::Tcp(s) => s.as_raw_fd(),
            Stream::Unix(s) => s.as_raw_fd(),
        }
    }

    /// The peer's name for logs and status (`tcp:1.2.3.4:6653`, `unix`).
    pub(crate) fn peer_name(&self) -> String {
        match self {
            Stream::Tcp(s) => s
                .peer_addr()
                .map_or_else(|_| "tcp".to_owned(), |a| format!("tcp:{a}")),
            Stream::Unix(_) => "unix".to_owned(),
        }
    }
}

/// `ENOTCONN`, which `getpeername(2)` returns while a connect is in progress.
fn libc_enotconn() -> i32 {
    Errno::ENOTCONN as i32
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.read(buf),
            Stream::Unix(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write(buf),
            Stream::Unix(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A listening socket; a Unix one removes its socket file when dropped.
#[derive(Debug)]
pub(crate) enum Listener {
    /// `ptcp:`.
    Tcp(TcpListener),
    /// `punix:`, with the path to remove.
    Unix(UnixListener, PathBuf),
}

impl Listener {
    /// Listens on a passive target. A stale Unix socket file in the way is removed first
    /// (as OVS does), anything else there is an error.
    pub(crate) fn bind(target: &Target) -> io::Result<Listener> {
        match target {
            Target::PTcp(addr) => {
                let l = TcpListener::bind(addr)?;
                l.set_nonblocking(true)?;
                Ok(Listener::Tcp(l))
            }
            Target::PUnix(path) => {
                remove_stale_socket(path)?;
                let l = UnixListener::bind(path)?;
                l.set_nonblocking(true)?;
                Ok(Listener::Unix(l, path.clone()))
            }
            Target::Tcp(_) | Target::Unix(_) => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "an active target cannot listen",
            )),
        }
    }

    /// Accepts one pending connection, if any.
    pub(crate) fn accept(&self) -> io::Result<Option<Stream>> {
        let r = match self {
            Listener::Tcp(l) => l.accept().map(|(s, _)| {
                let _ = s.set_nodelay(true);
                Stream::Tcp(s)
            }),
            Listener::Unix(l, _) => l.accept().map(|(s, _)| Stream::Unix(s)),
        };
        match r {
            Ok(s) => {
                match &s {
                    Stream::Tcp(t) => t.set_nonblocking(true)?,
                    Stream::Unix(u) => u.set_nonblocking(true)?,
                }
                Ok(Some(s))
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The descriptor to poll for new connections.
    pub(crate) fn fd(&self) -> RawFd {
        match self {
            Listener::Tcp(l) => l.as_raw_fd(),
            Listener::Unix(l, _) => l.as_raw_fd(),
        }
    }

    /// The TCP port actually bound (for `ptcp:0`).
    #[cfg(test)]
    pub(crate) fn local_port(&self) -> Option<u16> {
        match self {
            Listener::Tcp(l) => l.local_addr().ok().map(|a| a.port()),
            Listener::Unix(..) => None,
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        if let Listener::Unix(_, path) = self {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Removes a leftover socket file at `path` (a previous run that did not clean up); fails
/// on anything that is not a socket.
fn remove_stale_socket(path: &Path) -> io::Result<()> {
    use std::os::unix::fs::FileTypeExt as _;
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_socket() => std::fs::remove_file(path),
        Ok(_) => Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("{} exists and is not a socket", path.display()),
        )),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn targets_parse_as_ovs_spells_them() {
        assert_eq!(
            Target::parse("tcp:127.0.0.1:6653"),
            Ok(Target::Tcp("127.0.0.1:6653".parse().unwrap()))
        );
        assert_eq!(
            Target::parse("tcp:10.0.0.1"),
            Ok(Target::Tcp("10.0.0.1:6653".parse().unwrap()))
        );
        assert_eq!(
            Target::parse("tcp:[::1]:6633"),
            Ok(Target::Tcp("[::1]:6633".parse().unwrap()))
        );
        assert_eq!(
            Target::parse("ptcp:6634"),
            Ok(Target::PTcp("0.0.0.0:6634".parse().unwrap()))
        );
        assert_eq!(
            Target::parse("ptcp:6634:127.0.0.1"),
            Ok(Target::PTcp("127.0.0.1:6634".parse().unwrap()))
        );
        assert_eq!(
            Target::parse("ptcp:"),
            Ok(Target::PTcp("0.0.0.0:6653".parse().unwrap()))
        );
        assert_eq!(
            Target::parse("punix:/run/br0.mgmt"),
            Ok(Target::PUnix("/run/br0.mgmt".into()))
        );
        assert_eq!(Target::parse("unix:/x"), Ok(Target::Unix("/x".into())));
        assert!(
            Target::parse("ssl:1.2.3.4:6653")
                .unwrap_err()
                .contains("SSL")
        );
        assert!(Target::parse("tcp:host:1").is_err());
        assert!(Target::parse("unix:").is_err());
        assert!(Target::parse("foo").is_err());
        assert!(Target::parse("udp:1.2.3.4:5").is_err());
    }

    #[test]
    fn targets_print_as_parsed() {
        for s in [
            "tcp:127.0.0.1:6653",
            "tcp:[::1]:6633",
            "ptcp:6634",
            "ptcp:6634:127.0.0.1",
            "unix:/a/b",
            "punix:/a/b.mgmt",
        ] {
            assert_eq!(Target::parse(s).unwrap().to_string(), s);
        }
    }

    #[test]
    fn unix_listener_accepts_and_cleans_up() {
        let dir = std::env::temp_dir().join(format!("rovs-stream-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("br0.mgmt");
        // A stale socket file is replaced.
        drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
        assert!(path.exists());
        let l = Listener::bind(&Target::PUnix(path.clone())).unwrap();
        assert!(l.accept().unwrap().is_none());
        let (mut c, pending) = Stream::connect(&Target::Unix(path.clone())).unwrap();
        assert!(!pending);
        let mut s = l.accept().unwrap().unwrap();
        c.write_all(b"hi").unwrap();
        let mut buf = [0u8; 2];
        // Non-blocking: the bytes are already there on a Unix socket.
        assert_eq!(s.read(&mut buf).unwrap(), 2);
        assert_eq!(&buf, b"hi");
        drop(l);
        assert!(!path.exists());
        // Not a socket: refused, left alone.
        std::fs::write(&path, b"x").unwrap();
        assert!(Listener::bind(&Target::PUnix(path.clone())).is_err());
        assert!(path.exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn tcp_connect_completes_in_the_background() {
        let l = Listener::bind(&Target::PTcp("127.0.0.1:0".parse().unwrap())).unwrap();
        let port = l.local_port().unwrap();
        let target = Target::Tcp(SocketAddr::new(Ipv4Addr::LOCALHOST.into(), port));
        let (c, _) = Stream::connect(&target).unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while !c.poll_connect().unwrap() {
            assert!(std::time::Instant::now() < deadline);
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        assert!(c.peer_name().starts_with("tcp:127.0.0.1:"));
        let mut accepted = None;
        while accepted.is_none() {
            assert!(std::time::Instant::now() < deadline);
            accepted = l.accept().unwrap();
        }
    }

    #[test]
    fn tcp_connect_to_a_closed_port_fails() {
        // Bind then drop to find a port nobody listens on.
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let target = Target::Tcp(SocketAddr::new(Ipv4Addr::LOCALHOST.into(), port));
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        match Stream::connect(&target) {
            Err(_) => {}
            Ok((c, _)) => loop {
                match c.poll_connect() {
                    Err(_) => break,
                    Ok(true) => panic!("connected to a closed port"),
                    Ok(false) => {
                        assert!(std::time::Instant::now() < deadline);
                        std::thread::sleep(std::time::Duration::from_millis(1));
                    }
                }
            },
        }
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in "\\PC{0,40}") {
            let _ = Target::parse(&s);
        }

        #[test]
        fn tcp_targets_round_trip(a in any::<[u8; 4]>(), port in any::<u16>()) {
            let t = Target::Tcp(SocketAddr::new(IpAddr::from(a), port));
            prop_assert_eq!(Target::parse(&t.to_string()), Ok(t));
        }
    }
}
