//! The connection manager in process: ofproto-dpif on the dummy datapath, clients on the
//! management socket and a controller the test plays, all stepped from the test thread.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpListener;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use dpif::monotonic_ms;
use netdev::Netdev;

use super::*;
use crate::ofctl;
use crate::ofp::msg::{
    self, FlowStatsRequest, Header, Hello, Msg, MultipartReplyBody, MultipartRequest, RoleMsg,
    SwitchConfig,
};
use crate::ofproto_dpif::tests::{Env, udp};
use crate::rule::RemovedReason;
use crate::table::FlowModCommand;

struct Harness {
    env: Env,
    mgr: ConnMgr,
    ports: Vec<(OfpPort, Arc<dyn Netdev>)>,
    dir: PathBuf,
}

impl Harness {
    /// Bridge `br0` in secure mode (an empty flow table) with ports p1 and p2.
    fn new(test: &str) -> Harness {
        let mut env = Env::new(2);
        env.br.set_fail_mode(crate::provider::FailMode::Secure);
        let dir = std::env::temp_dir().join(format!("rovs-connmgr-{}-{test}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mut mgr = ConnMgr::new("br0");
        mgr.set_mgmt(Some(&dir.join("br0.mgmt"))).unwrap();
        let ports = env
            .ports
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let dev: Arc<dyn Netdev> = p.clone();
                (OfpPort(u32::try_from(i + 1).unwrap()), dev)
            })
            .collect();
        let mut h = Harness {
            env,
            mgr,
            ports,
            dir,
        };
        h.step();
        h
    }

    /// One main-loop iteration: the ofproto's `run` (expiry), then the manager's.
    fn step(&mut self) {
        let now = monotonic_ms();
        self.env.br.run(now).unwrap();
        self.mgr.run(&mut *self.env.br, &self.ports, now);
    }

    fn connect(&mut self, version: Version) -> Client {
        let s = UnixStream::connect(self.dir.join("br0.mgmt")).unwrap();
        s.set_nonblocking(true).unwrap();
        let mut c = Client {
            s,
            buf: Vec::new(),
            version,
            xid: 100,
        };
        let (hv, hello) = Hello::for_versions(&[version]);
        let mut b = Vec::new();
        msg::encode(hv, 1, &Msg::Hello(hello), &mut b).unwrap();
        c.s.write_all(&b).unwrap();
        let (_, m) = c.recv(self);
        assert!(matches!(m, Msg::Hello(_)), "{m:?}");
        c
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

struct Client {
    s: UnixStream,
    buf: Vec<u8>,
    version: Version,
    xid: u32,
}

impl Client {
    fn send(&mut self, m: &Msg) -> u32 {
        self.xid += 1;
        let mut b = Vec::new();
        msg::encode(self.version, self.xid, m, &mut b).unwrap();
        self.s.write_all(&b).unwrap();
        self.xid
    }

    /// The next message, stepping the manager meanwhile; `None` if the switch closed.
    fn try_recv(&mut self, h: &mut Harness) -> Option<(Header, Msg)> {
        let t = Instant::now();
        loop {
            if let Ok(Some(len)) = msg::frame_len(&self.buf)
                && self.buf.len() >= len
            {
                let raw: Vec<u8> = self.buf.drain(..len).collect();
                return Some(msg::decode(&raw).unwrap());
            }
            h.step();
            let mut chunk = [0u8; 65536];
            match self.s.read(&mut chunk) {
                Ok(0) => return None,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    std::thread::sleep(Duration::from_millis(1));
                }
                Err(e) => panic!("{e}"),
            }
            assert!(t.elapsed() < Duration::from_secs(10), "no message");
        }
    }

    fn recv(&mut self, h: &mut Harness) -> (Header, Msg) {
        self.try_recv(h).expect("the switch closed the connection")
    }

    /// The next message that is not asynchronous (port status, packet-in, flow removed).
    fn reply(&mut self, h: &mut Harness) -> (Header, Msg) {
        loop {
            let r = self.recv(h);
            if !matches!(
                r.1,
                Msg::PortStatus(_) | Msg::PacketIn(_) | Msg::FlowRemoved(_)
            ) {
                return r;
            }
        }
    }

    fn request(&mut self, h: &mut Harness, m: &Msg) -> Msg {
        let xid = self.send(m);
        let (hdr, r) = self.reply(h);
        assert_eq!(hdr.xid, xid, "{r:?}");
        r
    }
}

fn flow_mod(s: &str, cmd: FlowModCommand) -> Msg {
    Msg::FlowMod(msg::FlowModMsg {
        fm: ofctl::parse_flow_mod(s, cmd, None).unwrap(),
        buffer_id: msg::NO_BUFFER,
    })
}

fn dump_flows() -> Msg {
    Msg::MultipartRequest(MultipartRequest::Flow(FlowStatsRequest {
        table_id: crate::table::TABLE_ALL,
        out_port: OfpPort::ANY,
        out_group: crate::table::GROUP_ANY,
        cookie: 0,
        cookie_mask: 0,
        match_: crate::matching::Match::catchall(),
    }))
}

#[test]
fn features_flow_mod_and_flow_stats_in_both_versions() {
    let mut h = Harness::new("features");
    for v in [Version::Of10, Version::Of13] {
        let mut c = h.connect(v);
        let Msg::FeaturesReply(f) = c.request(&mut h, &Msg::FeaturesRequest) else {
            panic!("not a features reply");
        };
        assert_eq!(f.n_tables, 254);
        assert_eq!(f.datapath_id, h.env.br.datapath_id());
        // Ports in 1.0 only; 1.3 has PORT_DESC.
        if v == Version::Of10 {
            assert_eq!(f.ports.len(), 2);
            assert_eq!(f.ports[0].name, "p1");
        } else {
            assert!(f.ports.is_empty());
            let Msg::MultipartReply(r) =
                c.request(&mut h, &Msg::MultipartRequest(MultipartRequest::PortDesc))
            else {
                panic!()
            };
            let MultipartReplyBody::PortDesc(p) = r.body else {
                panic!()
            };
            assert_eq!(
                p.iter().map(|d| d.name.as_str()).collect::<Vec<_>>(),
                ["p1", "p2"]
            );
        }

        c.send(&flow_mod(
            "priority=7,in_port=1,actions=drop",
            FlowModCommand::Add,
        ));
        assert_eq!(c.request(&mut h, &Msg::BarrierRequest), Msg::BarrierReply);
        let Msg::MultipartReply(r) = c.request(&mut h, &dump_flows()) else {
            panic!()
        };
        let MultipartReplyBody::Flow(flows) = r.body else {
            panic!()
        };
        assert_eq!(flows.len(), 1);
        assert_eq!(flows[0].priority, 7);

        // An overlapping add with check_overlap: the error comes back with the xid.
        let xid = c.send(&flow_mod(
            "priority=7,ip,check_overlap,actions=drop",
            FlowModCommand::Add,
        ));
        let (hdr, m) = c.reply(&mut h);
        assert_eq!(hdr.xid, xid);
        let Msg::Error(e) = m else { panic!("{m:?}") };
        assert_eq!(e.error.name, "OFPFMFC_OVERLAP");

        c.send(&flow_mod("", FlowModCommand::Delete));
        assert_eq!(c.request(&mut h, &Msg::BarrierRequest), Msg::BarrierReply);
        assert!(h.env.br.all_rules(false).is_empty());

        // GET_CONFIG: a management connection starts with miss_send_len 0.
        assert_eq!(
            c.request(&mut h, &Msg::GetConfigRequest),
            Msg::GetConfigReply(SwitchConfig {
                flags: 0,
                miss_send_len: 0
            })
        );
    }
}

#[test]
fn slaves_cannot_modify_and_stale_generations_are_refused() {
    let mut h = Harness::new("roles");
    let mut a = h.connect(Version::Of13);
    let mut b = h.connect(Version::Of13);
    let role = |role, generation_id| {
        Msg::RoleRequest(RoleMsg {
            role,
            generation_id,
        })
    };
    assert_eq!(
        a.request(&mut h, &role(msg::Role::Master, 5)),
        Msg::RoleReply(RoleMsg {
            role: msg::Role::Master,
            generation_id: 5
        })
    );
    // b becomes master: a is demoted to slave.
    assert!(matches!(
        b.request(&mut h, &role(msg::Role::Master, 6)),
        Msg::RoleReply(RoleMsg {
            role: msg::Role::Master,
            ..
        })
    ));
    assert_eq!(
        a.request(&mut h, &role(msg::Role::NoChange, 0)),
        Msg::RoleReply(RoleMsg {
            role: msg::Role::Slave,
            generation_id: 6
        })
    );
    // A slave cannot add flows.
    let xid = a.send(&flow_mod("actions=drop", FlowModCommand::Add));
    let (hdr, m) = a.reply(&mut h);
    assert_eq!(hdr.xid, xid);
    let Msg::Error(e) = m else { panic!("{m:?}") };
    assert_eq!(e.error, crate::OfpError::BRC_IS_SECONDARY);
    // An old generation id is stale.
    let Msg::Error(e) = a.request(&mut h, &role(msg::Role::Master, 4)) else {
        panic!()
    };
    assert_eq!(e.error.name, "OFPRRFC_STALE");
    // Equal needs no generation id.
    assert!(matches!(
        a.request(&mut h, &role(msg::Role::Equal, 0)),
        Msg::RoleReply(RoleMsg {
            role: msg::Role::Equal,
            ..
        })
    ));
}

#[test]
fn port_status_goes_to_connections_that_asked() {
    let mut h = Harness::new("portstatus");
    let mut quiet = h.connect(Version::Of13);
    let mut c = h.connect(Version::Of13);
    // A management connection asks for asynchronous messages with a miss_send_len.
    c.send(&Msg::SetConfig(SwitchConfig {
        flags: 0,
        miss_send_len: 128,
    }));
    assert_eq!(c.request(&mut h, &Msg::BarrierRequest), Msg::BarrierReply);

    h.env
        .add_port(3, crate::provider::VlanMode::Trunk, None, None);
    let dev: Arc<dyn Netdev> = h.env.ports[2].clone();
    h.ports.push((OfpPort(3), dev));
    let (_, m) = c.recv(&mut h);
    let Msg::PortStatus(ps) = m else {
        panic!("{m:?}")
    };
    assert_eq!(ps.reason, msg::PortReason::Add);
    assert_eq!((ps.desc.port_no, ps.desc.name.as_str()), (OfpPort(3), "p3"));

    h.ports.pop();
    let (_, m) = c.recv(&mut h);
    let Msg::PortStatus(ps) = m else {
        panic!("{m:?}")
    };
    assert_eq!(ps.reason, msg::PortReason::Delete);
    assert_eq!(ps.desc.port_no, OfpPort(3));

    // The other connection got nothing asynchronous: its next message is its reply.
    let xid = quiet.send(&Msg::BarrierRequest);
    let (hdr, m) = quiet.recv(&mut h);
    assert_eq!((hdr.xid, m), (xid, Msg::BarrierReply));
}

#[test]
fn packet_in_carries_the_whole_packet_unbuffered() {
    let mut h = Harness::new("packetin");
    let mut c = h.connect(Version::Of13);
    c.send(&Msg::SetConfig(SwitchConfig {
        flags: 0,
        miss_send_len: 0xffff,
    }));
    c.send(&flow_mod(
        "priority=1,in_port=1,actions=CONTROLLER:65535",
        FlowModCommand::Add,
    ));
    assert_eq!(c.request(&mut h, &Msg::BarrierRequest), Msg::BarrierReply);
    let frame = udp(
        [2, 0, 0, 0, 0, 2],
        [2, 0, 0, 0, 0, 1],
        [10, 0, 0, 2],
        1000,
        2000,
    );
    h.env.send(1, &frame);
    let pin = loop {
        let (_, m) = c.recv(&mut h);
        if let Msg::PacketIn(p) = m {
            break p;
        }
    };
    assert_eq!(pin.buffer_id, msg::NO_BUFFER);
    assert_eq!(pin.data, frame);
    assert_eq!(usize::from(pin.total_len), frame.len());
    assert_eq!(pin.reason, crate::PacketInReason::Action);
    assert_eq!(pin.match_.flow().in_port(), OfpPort(1));
}

#[test]
fn openflow10_gets_table_misses_truncated_to_miss_send_len() {
    let mut h = Harness::new("miss");
    let frame = udp(
        [2, 0, 0, 0, 0, 2],
        [2, 0, 0, 0, 0, 1],
        [10, 0, 0, 2],
        1000,
        2000,
    );
    // A 1.3 connection that asked for packet-ins: misses are not sent (1.3 drops them).
    let mut c13 = h.connect(Version::Of13);
    c13.send(&Msg::SetConfig(SwitchConfig {
        flags: 0,
        miss_send_len: 0xffff,
    }));
    assert_eq!(c13.request(&mut h, &Msg::BarrierRequest), Msg::BarrierReply);
    h.env.send(1, &frame);
    for _ in 0..50 {
        h.step();
        std::thread::sleep(Duration::from_millis(2));
    }
    let xid = c13.send(&Msg::BarrierRequest);
    let (hdr, m) = c13.recv(&mut h);
    assert_eq!((hdr.xid, m), (xid, Msg::BarrierReply));

    // A 1.0 connection: the miss comes as a no_match packet-in cut to miss_send_len.
    let mut c = h.connect(Version::Of10);
    c.send(&Msg::SetConfig(SwitchConfig {
        flags: 0,
        miss_send_len: 20,
    }));
    assert_eq!(c.request(&mut h, &Msg::BarrierRequest), Msg::BarrierReply);
    h.step();
    h.env.reval();
    let t = Instant::now();
    let pin = loop {
        h.env.send(1, &frame);
        h.step();
        if let Ok(Some(len)) = msg::frame_len(&c.buf)
            && c.buf.len() >= len
        {
            let (_, m) = c.recv(&mut h);
            if let Msg::PacketIn(p) = m {
                break p;
            }
        }
        let mut chunk = [0u8; 4096];
        if let Ok(n) = c.s.read(&mut chunk) {
            c.buf.extend_from_slice(&chunk[..n]);
        }
        assert!(t.elapsed() < Duration::from_secs(10), "no packet-in");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(pin.reason, crate::PacketInReason::NoMatch);
    assert_eq!(pin.data, frame[..20]);
    assert_eq!(usize::from(pin.total_len), frame.len());
    assert_eq!(pin.buffer_id, msg::NO_BUFFER);
}

#[test]
fn flow_removed_for_deleted_and_expired_rules_that_asked() {
    let mut h = Harness::new("flowrem");
    let mut c = h.connect(Version::Of13);
    c.send(&Msg::SetConfig(SwitchConfig {
        flags: 0,
        miss_send_len: 128,
    }));
    c.send(&flow_mod(
        "priority=3,in_port=1,send_flow_rem,actions=drop",
        FlowModCommand::Add,
    ));
    // No send_flow_rem: no message when it goes.
    c.send(&flow_mod(
        "priority=4,in_port=2,actions=drop",
        FlowModCommand::Add,
    ));
    c.send(&flow_mod(
        "priority=5,in_port=1,hard_timeout=1,send_flow_rem,actions=drop",
        FlowModCommand::Add,
    ));
    assert_eq!(c.request(&mut h, &Msg::BarrierRequest), Msg::BarrierReply);

    // Deleted by a flow-mod.
    c.send(&flow_mod(
        "priority=3,in_port=1",
        FlowModCommand::DeleteStrict,
    ));
    c.send(&flow_mod(
        "priority=4,in_port=2",
        FlowModCommand::DeleteStrict,
    ));
    let (_, m) = c.recv(&mut h);
    let Msg::FlowRemoved(fr) = m else {
        panic!("{m:?}")
    };
    assert_eq!((fr.priority, fr.reason), (3, RemovedReason::Delete));

    // Expired (hard timeout 1 s).
    let t = Instant::now();
    let (_, m) = c.recv(&mut h);
    let Msg::FlowRemoved(fr) = m else {
        panic!("{m:?}")
    };
    assert_eq!((fr.priority, fr.reason), (5, RemovedReason::HardTimeout));
    assert_eq!(fr.hard_timeout, 1);
    assert!(t.elapsed() < Duration::from_secs(3));
    // Nothing for the rule that did not ask.
    let xid = c.send(&Msg::BarrierRequest);
    let (hdr, m) = c.recv(&mut h);
    assert_eq!((hdr.xid, m), (xid, Msg::BarrierReply));
}

#[test]
fn controller_is_probed_dropped_and_reconnected() {
    let mut h = Harness::new("probe");
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.set_nonblocking(true).unwrap();
    let target = format!("tcp:{}", l.local_addr().unwrap());
    h.mgr.set_probe_interval(150);
    assert!(
        h.mgr
            .set_controllers(&[target.clone(), "ssl:1.2.3.4".into()])
            .len()
            == 1
    );
    assert_eq!(h.mgr.controller_status(0)[0].target, target);

    let accept = |h: &mut Harness| {
        let t = Instant::now();
        loop {
            h.step();
            match l.accept() {
                Ok((s, _)) => return s,
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    std::thread::sleep(Duration::from_millis(2));
                }
                Err(e) => panic!("{e}"),
            }
            assert!(t.elapsed() < Duration::from_secs(10), "no connection");
        }
    };
    let s = accept(&mut h);
    s.set_nonblocking(true).unwrap();
    let mut c = TcpClient { s, buf: Vec::new() };
    let (_, m) = c.recv(&mut h);
    assert!(matches!(m, Msg::Hello(_)));
    c.send(&Msg::Hello(Hello::for_versions(&[Version::Of13]).1), 1);
    // An echo request comes after the idle interval.
    let t = Instant::now();
    let (hdr, m) = c.recv(&mut h);
    assert!(matches!(m, Msg::EchoRequest(_)), "{m:?}");
    assert!(t.elapsed() >= Duration::from_millis(100));
    let st = &h.mgr.controller_status(monotonic_ms())[0];
    assert!(st.is_connected);
    assert!(h.mgr.any_controller_connected());
    // Answered: the connection stays.
    c.send(&Msg::EchoReply(Vec::new()), hdr.xid);
    // Not answered: dropped after another interval.
    let (_, m) = c.recv(&mut h);
    assert!(matches!(m, Msg::EchoRequest(_)), "{m:?}");
    assert!(c.try_recv(&mut h).is_none(), "not disconnected");
    let st = &h.mgr.controller_status(monotonic_ms())[0];
    assert!(!st.is_connected);
    assert_eq!(st.state, ConnState::Backoff);
    assert!(
        st.last_error
            .as_deref()
            .unwrap_or("")
            .contains("inactivity probe")
    );
    // And back after the backoff (1 s).
    let t = Instant::now();
    let _s = accept(&mut h);
    assert!(
        t.elapsed() >= Duration::from_millis(900),
        "{:?}",
        t.elapsed()
    );
}

struct TcpClient {
    s: std::net::TcpStream,
    buf: Vec<u8>,
}

impl TcpClient {
    fn send(&mut self, m: &Msg, xid: u32) {
        let mut b = Vec::new();
        msg::encode(Version::Of13, xid, m, &mut b).unwrap();
        self.s.write_all(&b).unwrap();
    }

    fn try_recv(&mut self, h: &mut Harness) -> Option<(Header, Msg)> {
        let t = Instant::now();
        loop {
            if let Ok(Some(len)) = msg::frame_len(&self.buf)
                && self.buf.len() >= len
            {
                let raw: Vec<u8> = self.buf.drain(..len).collect();
                return Some(msg::decode(&raw).unwrap());
            }
            h.step();
            let mut chunk = [0u8; 65536];
            match self.s.read(&mut chunk) {
                Ok(0) => return None,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    std::thread::sleep(Duration::from_millis(1));
                }
                Err(e) if e.kind() == ErrorKind::ConnectionReset => return None,
                Err(e) => panic!("{e}"),
            }
            assert!(t.elapsed() < Duration::from_secs(10), "no message");
        }
    }

    fn recv(&mut self, h: &mut Harness) -> (Header, Msg) {
        self.try_recv(h).expect("closed")
    }
}

#[test]
fn mgmt_socket_is_removed_with_the_manager() {
    let mut h = Harness::new("cleanup");
    let path = h.dir.join("br0.mgmt");
    assert!(path.exists());
    assert_eq!(h.mgr.mgmt_path(), Some(path.as_path()));
    drop(std::mem::replace(&mut h.mgr, ConnMgr::new("other")));
    assert!(!path.exists());
    // And with set_mgmt(None).
    h.mgr.set_mgmt(Some(&path)).unwrap();
    assert!(path.exists());
    h.mgr.set_mgmt(None).unwrap();
    assert!(!path.exists());
}

#[test]
fn random_messages_never_break_the_connection() {
    let mut h = Harness::new("random");
    for v in [Version::Of10, Version::Of13] {
        let mut c = h.connect(v);
        // A fixed xorshift stream: the same messages every run.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15 ^ u64::from(v.wire());
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for i in 0..400u32 {
            let r = next();
            // Types 0..=35 (every message type of both versions and some beyond), bodies up
            // to 120 bytes, sometimes starting like a Nicira vendor message.
            let type_ = u8::try_from(r % 36).unwrap();
            let len = usize::try_from((r >> 8) % 121).unwrap();
            let mut body: Vec<u8> = (0..len).map(|_| next().to_le_bytes()[0]).collect();
            if r & (1 << 40) != 0 && body.len() >= 8 {
                body[..4].copy_from_slice(&msg::NX_VENDOR_ID.to_be_bytes());
            }
            // Requests that really change something are left to the other tests.
            if type_ == 0 {
                continue;
            }
            let total = u16::try_from(body.len() + 8).unwrap();
            let mut m = vec![v.wire(), type_];
            m.extend_from_slice(&total.to_be_bytes());
            m.extend_from_slice(&(0x1000 + i).to_be_bytes());
            m.extend_from_slice(&body);
            c.s.write_all(&m).unwrap();
            h.step();
        }
        // Whatever came back, the connection is up and answers in order.
        let xid = c.send(&Msg::EchoRequest(b"still here".to_vec()));
        loop {
            let (hdr, m) = c
                .try_recv(&mut h)
                .expect("the switch closed the connection");
            if hdr.xid == xid {
                assert_eq!(m, Msg::EchoReply(b"still here".to_vec()));
                break;
            }
        }
    }
}

#[test]
fn unix_and_punix_controllers_are_controllers() {
    let mut h = Harness::new("unixctl");
    // An active unix: target the test listens on, and a punix: target the switch listens on.
    let active = h.dir.join("ctl-active.sock");
    let passive = h.dir.join("ctl-passive.sock");
    let l = std::os::unix::net::UnixListener::bind(&active).unwrap();
    l.set_nonblocking(true).unwrap();
    let targets = [
        format!("unix:{}", active.display()),
        format!("punix:{}", passive.display()),
    ];
    assert!(h.mgr.set_controllers(&targets).is_empty());
    assert!(h.mgr.has_controllers());
    assert!(!h.mgr.any_controller_connected());

    // The switch connects to the active one and says HELLO.
    let t = Instant::now();
    let s = loop {
        h.step();
        match l.accept() {
            Ok((s, _)) => break s,
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(2));
            }
            Err(e) => panic!("{e}"),
        }
        assert!(t.elapsed() < Duration::from_secs(10), "no connection");
    };
    s.set_nonblocking(true).unwrap();
    let mut a = Client {
        s,
        buf: Vec::new(),
        version: Version::Of13,
        xid: 1,
    };
    let (_, m) = a.recv(&mut h);
    assert!(matches!(m, Msg::Hello(_)));
    a.send(&Msg::Hello(Hello::for_versions(&[Version::Of13]).1));
    assert_eq!(a.request(&mut h, &Msg::BarrierRequest), Msg::BarrierReply);
    assert!(h.mgr.any_controller_connected());
    let st = h.mgr.controller_status(monotonic_ms());
    assert_eq!(st.len(), 2);
    assert!(st[0].is_connected);
    assert_eq!(st[0].state, ConnState::Active);
    assert_eq!(st[0].role, Role::Equal);
    assert!(!st[1].is_connected);
    assert_eq!(st[1].state, ConnState::Void);

    // The passive one: a controller connecting there is a controller too (it starts with
    // the default miss_send_len, not the management connections' 0).
    assert!(passive.exists());
    let s = UnixStream::connect(&passive).unwrap();
    s.set_nonblocking(true).unwrap();
    let mut p = Client {
        s,
        buf: Vec::new(),
        version: Version::Of10,
        xid: 1,
    };
    let (v, hello) = Hello::for_versions(&[Version::Of10]);
    let mut b = Vec::new();
    msg::encode(v, 1, &Msg::Hello(hello), &mut b).unwrap();
    p.s.write_all(&b).unwrap();
    let (_, m) = p.recv(&mut h);
    assert!(matches!(m, Msg::Hello(_)));
    assert_eq!(
        p.request(&mut h, &Msg::GetConfigRequest),
        Msg::GetConfigReply(SwitchConfig {
            flags: 0,
            miss_send_len: DEFAULT_MISS_SEND_LEN
        })
    );
    assert!(h.mgr.controller_status(monotonic_ms())[1].is_connected);
    assert_eq!(h.mgr.n_conns(), 2);

    // Removing the controllers closes their connections and the listener.
    assert!(h.mgr.set_controllers(&[]).is_empty());
    assert!(a.try_recv(&mut h).is_none());
    assert!(p.try_recv(&mut h).is_none());
    assert!(!passive.exists());
    assert_eq!(h.mgr.n_conns(), 0);
}

#[test]
fn snoopers_see_the_controllers_messages() {
    let mut h = Harness::new("snoop");
    let snoop_path = h.dir.join("br0.snoop");
    h.mgr.set_snoop(Some(&snoop_path)).unwrap();
    let passive = h.dir.join("ctl.sock");
    assert!(
        h.mgr
            .set_controllers(&[format!("punix:{}", passive.display())])
            .is_empty()
    );
    h.step();

    // The snooper: a HELLO exchange like any connection.
    let s = UnixStream::connect(&snoop_path).unwrap();
    s.set_nonblocking(true).unwrap();
    let mut snoop = Client {
        s,
        buf: Vec::new(),
        version: Version::Of13,
        xid: 1,
    };
    snoop.send(&Msg::Hello(Hello::for_versions(&[Version::Of13]).1));
    let (_, m) = snoop.recv(&mut h);
    assert!(matches!(m, Msg::Hello(_)), "{m:?}");
    // What it sends besides is ignored, but echo requests are answered.
    snoop.send(&flow_mod("actions=drop", FlowModCommand::Add));
    let xid = snoop.send(&Msg::EchoRequest(vec![1]));
    let (hdr, m) = snoop.recv(&mut h);
    assert_eq!((hdr.xid, m), (xid, Msg::EchoReply(vec![1])));
    assert!(h.env.br.all_rules(false).is_empty());

    // A controller's request and the reply, both seen by the snooper.
    let s = UnixStream::connect(&passive).unwrap();
    s.set_nonblocking(true).unwrap();
    let mut ctl = Client {
        s,
        buf: Vec::new(),
        version: Version::Of13,
        xid: 1,
    };
    ctl.send(&Msg::Hello(Hello::for_versions(&[Version::Of13]).1));
    let (_, m) = ctl.recv(&mut h);
    assert!(matches!(m, Msg::Hello(_)));
    let xid = ctl.send(&Msg::FeaturesRequest);
    let (hdr, m) = ctl.recv(&mut h);
    assert_eq!(hdr.xid, xid);
    assert!(matches!(m, Msg::FeaturesReply(_)));
    let mut seen = Vec::new();
    while seen.len() < 2 {
        let (hdr, m) = snoop.recv(&mut h);
        if hdr.xid == xid {
            seen.push(m.name());
        }
    }
    assert_eq!(seen, ["OFPT_FEATURES_REQUEST", "OFPT_FEATURES_REPLY"]);
}

#[test]
fn a_peer_that_does_not_read_is_not_read_from() {
    let mut h = Harness::new("backlog");
    let c = h.connect(Version::Of13);
    // A writer thread floods echo requests (60 KiB each) without reading the replies.
    let mut w = c.s.try_clone().unwrap();
    w.set_nonblocking(false).unwrap();
    const N: u32 = 200;
    let writer = std::thread::spawn(move || {
        for i in 0..N {
            let mut b = Vec::new();
            msg::encode(
                Version::Of13,
                1000 + i,
                &Msg::EchoRequest(vec![7; 60_000]),
                &mut b,
            )
            .unwrap();
            if w.write_all(&b).is_err() {
                return i;
            }
        }
        N
    });
    // The switch answers until its queue passes the async limit, then stops reading: its
    // output queue stays bounded although 12 MB of replies are due.
    let t = Instant::now();
    let mut most = 0;
    while t.elapsed() < Duration::from_millis(500) {
        h.step();
        most = most.max(h.mgr.service[0].transport.queued());
        std::thread::sleep(Duration::from_millis(1));
    }
    assert!(most > TX_ASYNC_LIMIT / 2, "{most}");
    assert!(most <= TX_ASYNC_LIMIT + 70_000, "{most}");
    assert!(!writer.is_finished(), "the writer was never held back");

    // Once the peer reads, everything is answered, in order.
    let mut c = c;
    for i in 0..N {
        let (hdr, m) = c.recv(&mut h);
        assert_eq!(hdr.xid, 1000 + i);
        assert!(matches!(m, Msg::EchoReply(d) if d.len() == 60_000));
    }
    assert_eq!(writer.join().unwrap(), N);
}
