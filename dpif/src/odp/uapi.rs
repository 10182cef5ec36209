//! Constants of the kernel datapath's netlink uAPI, mirroring `include/linux/openvswitch.h`
//! (the copy in the OVS tree, which adds the userspace-only values). Each constant carries
//! its C name.
//!
//! Attribute types are `u16` (netlink attribute types), commands `u8` (generic netlink
//! commands), flag words `u32`.

/// `struct ovs_header` is one `int dp_ifindex`: 4 bytes after the genl header.
pub const OVS_HEADER_LEN: usize = 4;

// ---------------------------------------------------------------------------------------
// Families.

/// `OVS_DATAPATH_FAMILY`.
pub const OVS_DATAPATH_FAMILY: &str = "ovs_datapath";
/// `OVS_DATAPATH_MCGROUP`.
pub const OVS_DATAPATH_MCGROUP: &str = "ovs_datapath";
/// `OVS_DATAPATH_VERSION` (the OVS copy; the kernel's header once said 1).
pub const OVS_DATAPATH_VERSION: u8 = 2;
/// `OVS_DP_VER_FEATURES`: the first version where user features must be given on create.
pub const OVS_DP_VER_FEATURES: u8 = 2;

/// `OVS_VPORT_FAMILY`.
pub const OVS_VPORT_FAMILY: &str = "ovs_vport";
/// `OVS_VPORT_MCGROUP`.
pub const OVS_VPORT_MCGROUP: &str = "ovs_vport";
/// `OVS_VPORT_VERSION`.
pub const OVS_VPORT_VERSION: u8 = 1;

/// `OVS_FLOW_FAMILY`.
pub const OVS_FLOW_FAMILY: &str = "ovs_flow";
/// `OVS_FLOW_MCGROUP`.
pub const OVS_FLOW_MCGROUP: &str = "ovs_flow";
/// `OVS_FLOW_VERSION`.
pub const OVS_FLOW_VERSION: u8 = 1;

/// `OVS_PACKET_FAMILY`.
pub const OVS_PACKET_FAMILY: &str = "ovs_packet";
/// `OVS_PACKET_VERSION`.
pub const OVS_PACKET_VERSION: u8 = 1;

/// `OVS_METER_FAMILY`.
pub const OVS_METER_FAMILY: &str = "ovs_meter";
/// `OVS_METER_MCGROUP`.
pub const OVS_METER_MCGROUP: &str = "ovs_meter";
/// `OVS_METER_VERSION`.
pub const OVS_METER_VERSION: u8 = 1;

/// `OVS_CT_LIMIT_FAMILY`.
pub const OVS_CT_LIMIT_FAMILY: &str = "ovs_ct_limit";
/// `OVS_CT_LIMIT_MCGROUP`.
pub const OVS_CT_LIMIT_MCGROUP: &str = "ovs_ct_limit";
/// `OVS_CT_LIMIT_VERSION`.
pub const OVS_CT_LIMIT_VERSION: u8 = 1;

// ---------------------------------------------------------------------------------------
// Commands.

/// `OVS_DP_CMD_NEW`.
pub const OVS_DP_CMD_NEW: u8 = 1;
/// `OVS_DP_CMD_DEL`.
pub const OVS_DP_CMD_DEL: u8 = 2;
/// `OVS_DP_CMD_GET`.
pub const OVS_DP_CMD_GET: u8 = 3;
/// `OVS_DP_CMD_SET`.
pub const OVS_DP_CMD_SET: u8 = 4;

/// `OVS_VPORT_CMD_NEW`.
pub const OVS_VPORT_CMD_NEW: u8 = 1;
/// `OVS_VPORT_CMD_DEL`.
pub const OVS_VPORT_CMD_DEL: u8 = 2;
/// `OVS_VPORT_CMD_GET`.
pub const OVS_VPORT_CMD_GET: u8 = 3;
/// `OVS_VPORT_CMD_SET`.
pub const OVS_VPORT_CMD_SET: u8 = 4;

/// `OVS_FLOW_CMD_NEW`.
pub const OVS_FLOW_CMD_NEW: u8 = 1;
/// `OVS_FLOW_CMD_DEL`.
pub const OVS_FLOW_CMD_DEL: u8 = 2;
/// `OVS_FLOW_CMD_GET`.
pub const OVS_FLOW_CMD_GET: u8 = 3;
/// `OVS_FLOW_CMD_SET`.
pub const OVS_FLOW_CMD_SET: u8 = 4;

/// `OVS_PACKET_CMD_MISS`: a flow table miss (kernel to user).
pub const OVS_PACKET_CMD_MISS: u8 = 1;
/// `OVS_PACKET_CMD_ACTION`: an `OVS_ACTION_ATTR_USERSPACE` action (kernel to user).
pub const OVS_PACKET_CMD_ACTION: u8 = 2;
/// `OVS_PACKET_CMD_EXECUTE`: apply actions to a packet (user to kernel).
pub const OVS_PACKET_CMD_EXECUTE: u8 = 3;

/// `OVS_METER_CMD_FEATURES`.
pub const OVS_METER_CMD_FEATURES: u8 = 1;
/// `OVS_METER_CMD_SET`.
pub const OVS_METER_CMD_SET: u8 = 2;
/// `OVS_METER_CMD_DEL`.
pub const OVS_METER_CMD_DEL: u8 = 3;
/// `OVS_METER_CMD_GET`.
pub const OVS_METER_CMD_GET: u8 = 4;

/// `OVS_CT_LIMIT_CMD_SET`.
pub const OVS_CT_LIMIT_CMD_SET: u8 = 1;
/// `OVS_CT_LIMIT_CMD_DEL`.
pub const OVS_CT_LIMIT_CMD_DEL: u8 = 2;
/// `OVS_CT_LIMIT_CMD_GET`.
pub const OVS_CT_LIMIT_CMD_GET: u8 = 3;

// ---------------------------------------------------------------------------------------
// Datapath.

/// `OVS_DP_ATTR_NAME`: string.
pub const OVS_DP_ATTR_NAME: u16 = 1;
/// `OVS_DP_ATTR_UPCALL_PID`: u32, NEW only; 0 means no upcalls.
pub const OVS_DP_ATTR_UPCALL_PID: u16 = 2;
/// `OVS_DP_ATTR_STATS`: `struct ovs_dp_stats`.
pub const OVS_DP_ATTR_STATS: u16 = 3;
/// `OVS_DP_ATTR_MEGAFLOW_STATS`: `struct ovs_dp_megaflow_stats`.
pub const OVS_DP_ATTR_MEGAFLOW_STATS: u16 = 4;
/// `OVS_DP_ATTR_USER_FEATURES`: u32 of `OVS_DP_F_*`.
pub const OVS_DP_ATTR_USER_FEATURES: u16 = 5;
/// `OVS_DP_ATTR_PAD`.
pub const OVS_DP_ATTR_PAD: u16 = 6;
/// `OVS_DP_ATTR_MASKS_CACHE_SIZE`: u32.
pub const OVS_DP_ATTR_MASKS_CACHE_SIZE: u16 = 7;
/// `OVS_DP_ATTR_PER_CPU_PIDS`: array of u32.
pub const OVS_DP_ATTR_PER_CPU_PIDS: u16 = 8;

/// `struct ovs_dp_stats` size: `n_hit`, `n_missed`, `n_lost`, `n_flows`, all u64.
pub const OVS_DP_STATS_LEN: usize = 32;
/// `struct ovs_dp_megaflow_stats` size: `n_mask_hit` u64, `n_masks` u32, pad u32,
/// `n_cache_hit` u64, pad u64.
pub const OVS_DP_MEGAFLOW_STATS_LEN: usize = 32;

/// `OVS_DP_F_UNALIGNED`: allow unaligned netlink attributes.
pub const OVS_DP_F_UNALIGNED: u32 = 1 << 0;
/// `OVS_DP_F_VPORT_PIDS`: an array of upcall PIDs per vport.
pub const OVS_DP_F_VPORT_PIDS: u32 = 1 << 1;
/// `OVS_DP_F_TC_RECIRC_SHARING`: share recirculation ids with TC offload.
pub const OVS_DP_F_TC_RECIRC_SHARING: u32 = 1 << 2;
/// `OVS_DP_F_DISPATCH_UPCALL_PER_CPU`: per-CPU upcall dispatch.
pub const OVS_DP_F_DISPATCH_UPCALL_PER_CPU: u32 = 1 << 3;

/// `OVSP_LOCAL`: the datapath's local port.
pub const OVSP_LOCAL: u32 = 0;

// ---------------------------------------------------------------------------------------
// Vports.

/// `OVS_VPORT_ATTR_PORT_NO`: u32.
pub const OVS_VPORT_ATTR_PORT_NO: u16 = 1;
/// `OVS_VPORT_ATTR_TYPE`: u32 `OVS_VPORT_TYPE_*`.
pub const OVS_VPORT_ATTR_TYPE: u16 = 2;
/// `OVS_VPORT_ATTR_NAME`: string, shorter than `IFNAMSIZ`.
pub const OVS_VPORT_ATTR_NAME: u16 = 3;
/// `OVS_VPORT_ATTR_OPTIONS`: nested, type-specific.
pub const OVS_VPORT_ATTR_OPTIONS: u16 = 4;
/// `OVS_VPORT_ATTR_UPCALL_PID`: array of u32.
pub const OVS_VPORT_ATTR_UPCALL_PID: u16 = 5;
/// `OVS_VPORT_ATTR_STATS`: `struct ovs_vport_stats`.
pub const OVS_VPORT_ATTR_STATS: u16 = 6;
/// `OVS_VPORT_ATTR_PAD`.
pub const OVS_VPORT_ATTR_PAD: u16 = 7;
/// `OVS_VPORT_ATTR_IFINDEX`: u32.
pub const OVS_VPORT_ATTR_IFINDEX: u16 = 8;
/// `OVS_VPORT_ATTR_NETNSID`: s32.
pub const OVS_VPORT_ATTR_NETNSID: u16 = 9;
/// `OVS_VPORT_ATTR_UPCALL_STATS`: nested `OVS_VPORT_UPCALL_ATTR_*`.
pub const OVS_VPORT_ATTR_UPCALL_STATS: u16 = 10;

/// `struct ovs_vport_stats` size: 8 u64 (rx/tx packets, rx/tx bytes, rx/tx errors, rx/tx
/// dropped).
pub const OVS_VPORT_STATS_LEN: usize = 64;

/// `OVS_VPORT_UPCALL_ATTR_SUCCESS`: u64.
pub const OVS_VPORT_UPCALL_ATTR_SUCCESS: u16 = 0;
/// `OVS_VPORT_UPCALL_ATTR_FAIL`: u64.
pub const OVS_VPORT_UPCALL_ATTR_FAIL: u16 = 1;
/// `OVS_VPORT_UPCALL_ATTR_PAD`.
pub const OVS_VPORT_UPCALL_ATTR_PAD: u16 = 2;

/// `OVS_VPORT_TYPE_UNSPEC`.
pub const OVS_VPORT_TYPE_UNSPEC: u32 = 0;
/// `OVS_VPORT_TYPE_NETDEV`: a network device not of another type.
pub const OVS_VPORT_TYPE_NETDEV: u32 = 1;
/// `OVS_VPORT_TYPE_INTERNAL`: a network device implemented by the datapath.
pub const OVS_VPORT_TYPE_INTERNAL: u32 = 2;
/// `OVS_VPORT_TYPE_GRE`.
pub const OVS_VPORT_TYPE_GRE: u32 = 3;
/// `OVS_VPORT_TYPE_VXLAN`.
pub const OVS_VPORT_TYPE_VXLAN: u32 = 4;
/// `OVS_VPORT_TYPE_GENEVE`.
pub const OVS_VPORT_TYPE_GENEVE: u32 = 5;
/// `OVS_VPORT_TYPE_ERSPAN` (out-of-tree only).
pub const OVS_VPORT_TYPE_ERSPAN: u32 = 107;
/// `OVS_VPORT_TYPE_IP6ERSPAN` (out-of-tree only).
pub const OVS_VPORT_TYPE_IP6ERSPAN: u32 = 108;
/// `OVS_VPORT_TYPE_IP6GRE` (out-of-tree only).
pub const OVS_VPORT_TYPE_IP6GRE: u32 = 109;
/// `OVS_VPORT_TYPE_GTPU` (out-of-tree only).
pub const OVS_VPORT_TYPE_GTPU: u32 = 110;
/// `OVS_VPORT_TYPE_BAREUDP` (out-of-tree only).
pub const OVS_VPORT_TYPE_BAREUDP: u32 = 111;
/// `OVS_VPORT_TYPE_SRV6` (out-of-tree only).
pub const OVS_VPORT_TYPE_SRV6: u32 = 112;

/// `OVS_TUNNEL_ATTR_DST_PORT`: u16 UDP port (in `OVS_VPORT_ATTR_OPTIONS`).
pub const OVS_TUNNEL_ATTR_DST_PORT: u16 = 1;
/// `OVS_TUNNEL_ATTR_EXTENSION`: nested `OVS_VXLAN_EXT_*`.
pub const OVS_TUNNEL_ATTR_EXTENSION: u16 = 2;
/// `OVS_VXLAN_EXT_GBP`: flag, group-based policy.
pub const OVS_VXLAN_EXT_GBP: u16 = 1;
/// `OVS_VXLAN_EXT_GPE`: flag, generic protocol extension (userspace copy only).
pub const OVS_VXLAN_EXT_GPE: u16 = 8;

// ---------------------------------------------------------------------------------------
// Flows.

/// `OVS_FLOW_ATTR_KEY`: nested `OVS_KEY_ATTR_*`.
pub const OVS_FLOW_ATTR_KEY: u16 = 1;
/// `OVS_FLOW_ATTR_ACTIONS`: nested `OVS_ACTION_ATTR_*`.
pub const OVS_FLOW_ATTR_ACTIONS: u16 = 2;
/// `OVS_FLOW_ATTR_STATS`: `struct ovs_flow_stats` (`n_packets`, `n_bytes`, u64).
pub const OVS_FLOW_ATTR_STATS: u16 = 3;
/// `OVS_FLOW_ATTR_TCP_FLAGS`: u8, OR of the TCP flags seen.
pub const OVS_FLOW_ATTR_TCP_FLAGS: u16 = 4;
/// `OVS_FLOW_ATTR_USED`: u64 milliseconds of the monotonic clock.
pub const OVS_FLOW_ATTR_USED: u16 = 5;
/// `OVS_FLOW_ATTR_CLEAR`: flag, zero the stats on SET.
pub const OVS_FLOW_ATTR_CLEAR: u16 = 6;
/// `OVS_FLOW_ATTR_MASK`: nested `OVS_KEY_ATTR_*` of the mask.
pub const OVS_FLOW_ATTR_MASK: u16 = 7;
/// `OVS_FLOW_ATTR_PROBE`: flag, do not log failures.
pub const OVS_FLOW_ATTR_PROBE: u16 = 8;
/// `OVS_FLOW_ATTR_UFID`: 1 to 16 bytes.
pub const OVS_FLOW_ATTR_UFID: u16 = 9;
/// `OVS_FLOW_ATTR_UFID_FLAGS`: u32 of `OVS_UFID_F_*`.
pub const OVS_FLOW_ATTR_UFID_FLAGS: u16 = 10;
/// `OVS_FLOW_ATTR_PAD`.
pub const OVS_FLOW_ATTR_PAD: u16 = 11;

/// `OVS_UFID_F_OMIT_KEY`.
pub const OVS_UFID_F_OMIT_KEY: u32 = 1 << 0;
/// `OVS_UFID_F_OMIT_MASK`.
pub const OVS_UFID_F_OMIT_MASK: u32 = 1 << 1;
/// `OVS_UFID_F_OMIT_ACTIONS`.
pub const OVS_UFID_F_OMIT_ACTIONS: u32 = 1 << 2;

/// `struct ovs_flow_stats` size.
pub const OVS_FLOW_STATS_LEN: usize = 16;

// ---------------------------------------------------------------------------------------
// Packets.

/// `OVS_PACKET_ATTR_PACKET`: the packet's bytes.
pub const OVS_PACKET_ATTR_PACKET: u16 = 1;
/// `OVS_PACKET_ATTR_KEY`: nested `OVS_KEY_ATTR_*`.
pub const OVS_PACKET_ATTR_KEY: u16 = 2;
/// `OVS_PACKET_ATTR_ACTIONS`: nested `OVS_ACTION_ATTR_*`.
pub const OVS_PACKET_ATTR_ACTIONS: u16 = 3;
/// `OVS_PACKET_ATTR_USERDATA`: the `userspace` action's cookie.
pub const OVS_PACKET_ATTR_USERDATA: u16 = 4;
/// `OVS_PACKET_ATTR_EGRESS_TUN_KEY`: nested `OVS_TUNNEL_KEY_ATTR_*`.
pub const OVS_PACKET_ATTR_EGRESS_TUN_KEY: u16 = 5;
/// `OVS_PACKET_ATTR_UNUSED1`.
pub const OVS_PACKET_ATTR_UNUSED1: u16 = 6;
/// `OVS_PACKET_ATTR_UNUSED2`.
pub const OVS_PACKET_ATTR_UNUSED2: u16 = 7;
/// `OVS_PACKET_ATTR_PROBE`: flag.
pub const OVS_PACKET_ATTR_PROBE: u16 = 8;
/// `OVS_PACKET_ATTR_MRU`: u16, maximum received fragment size.
pub const OVS_PACKET_ATTR_MRU: u16 = 9;
/// `OVS_PACKET_ATTR_LEN`: u32, the packet's length before truncation.
pub const OVS_PACKET_ATTR_LEN: u16 = 10;
/// `OVS_PACKET_ATTR_HASH`: u64, the skb hash.
pub const OVS_PACKET_ATTR_HASH: u16 = 11;
/// `OVS_PACKET_ATTR_UPCALL_PID`: u32; on EXECUTE overrides every other PID.
pub const OVS_PACKET_ATTR_UPCALL_PID: u16 = 12;

// ---------------------------------------------------------------------------------------
// Flow keys.

/// `OVS_KEY_ATTR_UNSPEC`.
pub const OVS_KEY_ATTR_UNSPEC: u16 = 0;
/// `OVS_KEY_ATTR_ENCAP`: nested attributes inside a VLAN tag.
pub const OVS_KEY_ATTR_ENCAP: u16 = 1;
/// `OVS_KEY_ATTR_PRIORITY`: u32 skb->priority.
pub const OVS_KEY_ATTR_PRIORITY: u16 = 2;
/// `OVS_KEY_ATTR_IN_PORT`: u32 datapath port.
pub const OVS_KEY_ATTR_IN_PORT: u16 = 3;
/// `OVS_KEY_ATTR_ETHERNET`: `struct ovs_key_ethernet`.
pub const OVS_KEY_ATTR_ETHERNET: u16 = 4;
/// `OVS_KEY_ATTR_VLAN`: be16 VLAN TCI.
pub const OVS_KEY_ATTR_VLAN: u16 = 5;
/// `OVS_KEY_ATTR_ETHERTYPE`: be16 ethertype.
pub const OVS_KEY_ATTR_ETHERTYPE: u16 = 6;
/// `OVS_KEY_ATTR_IPV4`: `struct ovs_key_ipv4`.
pub const OVS_KEY_ATTR_IPV4: u16 = 7;
/// `OVS_KEY_ATTR_IPV6`: `struct ovs_key_ipv6`.
pub const OVS_KEY_ATTR_IPV6: u16 = 8;
/// `OVS_KEY_ATTR_TCP`: `struct ovs_key_tcp`.
pub const OVS_KEY_ATTR_TCP: u16 = 9;
/// `OVS_KEY_ATTR_UDP`: `struct ovs_key_udp`.
pub const OVS_KEY_ATTR_UDP: u16 = 10;
/// `OVS_KEY_ATTR_ICMP`: `struct ovs_key_icmp`.
pub const OVS_KEY_ATTR_ICMP: u16 = 11;
/// `OVS_KEY_ATTR_ICMPV6`: `struct ovs_key_icmpv6`.
pub const OVS_KEY_ATTR_ICMPV6: u16 = 12;
/// `OVS_KEY_ATTR_ARP`: `struct ovs_key_arp`.
pub const OVS_KEY_ATTR_ARP: u16 = 13;
/// `OVS_KEY_ATTR_ND`: `struct ovs_key_nd`.
pub const OVS_KEY_ATTR_ND: u16 = 14;
/// `OVS_KEY_ATTR_SKB_MARK`: u32 skb mark.
pub const OVS_KEY_ATTR_SKB_MARK: u16 = 15;
/// `OVS_KEY_ATTR_TUNNEL`: nested `OVS_TUNNEL_KEY_ATTR_*`.
pub const OVS_KEY_ATTR_TUNNEL: u16 = 16;
/// `OVS_KEY_ATTR_SCTP`: `struct ovs_key_sctp`.
pub const OVS_KEY_ATTR_SCTP: u16 = 17;
/// `OVS_KEY_ATTR_TCP_FLAGS`: be16 TCP flags.
pub const OVS_KEY_ATTR_TCP_FLAGS: u16 = 18;
/// `OVS_KEY_ATTR_DP_HASH`: u32 hash value.
pub const OVS_KEY_ATTR_DP_HASH: u16 = 19;
/// `OVS_KEY_ATTR_RECIRC_ID`: u32 recirculation id.
pub const OVS_KEY_ATTR_RECIRC_ID: u16 = 20;
/// `OVS_KEY_ATTR_MPLS`: array of `struct ovs_key_mpls` (be32 label stack entries).
pub const OVS_KEY_ATTR_MPLS: u16 = 21;
/// `OVS_KEY_ATTR_CT_STATE`: u32 of `OVS_CS_F_*`.
pub const OVS_KEY_ATTR_CT_STATE: u16 = 22;
/// `OVS_KEY_ATTR_CT_ZONE`: u16 connection tracking zone.
pub const OVS_KEY_ATTR_CT_ZONE: u16 = 23;
/// `OVS_KEY_ATTR_CT_MARK`: u32 connection tracking mark.
pub const OVS_KEY_ATTR_CT_MARK: u16 = 24;
/// `OVS_KEY_ATTR_CT_LABELS`: 16-byte `struct ovs_key_ct_labels`.
pub const OVS_KEY_ATTR_CT_LABELS: u16 = 25;
/// `OVS_KEY_ATTR_CT_ORIG_TUPLE_IPV4`: `struct ovs_key_ct_tuple_ipv4`.
pub const OVS_KEY_ATTR_CT_ORIG_TUPLE_IPV4: u16 = 26;
/// `OVS_KEY_ATTR_CT_ORIG_TUPLE_IPV6`: `struct ovs_key_ct_tuple_ipv6`.
pub const OVS_KEY_ATTR_CT_ORIG_TUPLE_IPV6: u16 = 27;
/// `OVS_KEY_ATTR_NSH`: nested `OVS_NSH_KEY_ATTR_*`.
pub const OVS_KEY_ATTR_NSH: u16 = 28;
/// `OVS_KEY_ATTR_PACKET_TYPE`: be32 packet type (userspace only: never sent to the kernel).
pub const OVS_KEY_ATTR_PACKET_TYPE: u16 = 29;
/// `OVS_KEY_ATTR_ND_EXTENSIONS`: `struct ovs_key_nd_extensions` (userspace only).
pub const OVS_KEY_ATTR_ND_EXTENSIONS: u16 = 30;
/// `OVS_KEY_ATTR_TUNNEL_INFO`: kernel-internal.
pub const OVS_KEY_ATTR_TUNNEL_INFO: u16 = 31;
/// `OVS_KEY_ATTR_IPV6_EXTHDRS`: newer kernels only (not in the OVS copy of the header).
pub const OVS_KEY_ATTR_IPV6_EXTHDRS: u16 = 32;
/// `OVS_KEY_ATTR_MAX` as OVS userspace knows it: attributes above are "out of range".
pub const OVS_KEY_ATTR_MAX: u16 = OVS_KEY_ATTR_ND_EXTENSIONS;

/// `struct ovs_key_ethernet` size.
pub const OVS_KEY_ETHERNET_LEN: usize = 12;
/// `struct ovs_key_ipv4` size.
pub const OVS_KEY_IPV4_LEN: usize = 12;
/// `struct ovs_key_ipv6` size.
pub const OVS_KEY_IPV6_LEN: usize = 40;
/// `struct ovs_key_tcp`/`udp`/`sctp` size.
pub const OVS_KEY_TP_LEN: usize = 4;
/// `struct ovs_key_icmp`/`icmpv6` size.
pub const OVS_KEY_ICMP_LEN: usize = 2;
/// `struct ovs_key_arp` size (22 bytes of fields, padded to 24).
pub const OVS_KEY_ARP_LEN: usize = 24;
/// `struct ovs_key_nd` size.
pub const OVS_KEY_ND_LEN: usize = 28;
/// `struct ovs_key_ct_labels` size.
pub const OVS_KEY_CT_LABELS_LEN: usize = 16;
/// `struct ovs_key_ct_tuple_ipv4` size (13 bytes of fields, padded to 16).
pub const OVS_KEY_CT_TUPLE_IPV4_LEN: usize = 16;
/// `struct ovs_key_ct_tuple_ipv6` size (37 bytes of fields, padded to 40).
pub const OVS_KEY_CT_TUPLE_IPV6_LEN: usize = 40;
/// `struct ovs_key_nd_extensions` size.
pub const OVS_KEY_ND_EXTENSIONS_LEN: usize = 8;

/// `OVS_FRAG_TYPE_NONE`: not a fragment.
pub const OVS_FRAG_TYPE_NONE: u8 = 0;
/// `OVS_FRAG_TYPE_FIRST`: the first fragment.
pub const OVS_FRAG_TYPE_FIRST: u8 = 1;
/// `OVS_FRAG_TYPE_LATER`: a later fragment.
pub const OVS_FRAG_TYPE_LATER: u8 = 2;

/// `OVS_CS_F_NEW`: the first packet of a connection.
pub const OVS_CS_F_NEW: u32 = 0x01;
/// `OVS_CS_F_ESTABLISHED`: part of an existing connection.
pub const OVS_CS_F_ESTABLISHED: u32 = 0x02;
/// `OVS_CS_F_RELATED`: related to an existing connection.
pub const OVS_CS_F_RELATED: u32 = 0x04;
/// `OVS_CS_F_REPLY_DIR`: in the reply direction.
pub const OVS_CS_F_REPLY_DIR: u32 = 0x08;
/// `OVS_CS_F_INVALID`: could not be tracked.
pub const OVS_CS_F_INVALID: u32 = 0x10;
/// `OVS_CS_F_TRACKED`: conntrack has run on the packet.
pub const OVS_CS_F_TRACKED: u32 = 0x20;
/// `OVS_CS_F_SRC_NAT`: source NAT applied.
pub const OVS_CS_F_SRC_NAT: u32 = 0x40;
/// `OVS_CS_F_DST_NAT`: destination NAT applied.
pub const OVS_CS_F_DST_NAT: u32 = 0x80;

/// `OVS_TUNNEL_KEY_ATTR_ID`: be64 tunnel id.
pub const OVS_TUNNEL_KEY_ATTR_ID: u16 = 0;
/// `OVS_TUNNEL_KEY_ATTR_IPV4_SRC`: be32.
pub const OVS_TUNNEL_KEY_ATTR_IPV4_SRC: u16 = 1;
/// `OVS_TUNNEL_KEY_ATTR_IPV4_DST`: be32.
pub const OVS_TUNNEL_KEY_ATTR_IPV4_DST: u16 = 2;
/// `OVS_TUNNEL_KEY_ATTR_TOS`: u8.
pub const OVS_TUNNEL_KEY_ATTR_TOS: u16 = 3;
/// `OVS_TUNNEL_KEY_ATTR_TTL`: u8.
pub const OVS_TUNNEL_KEY_ATTR_TTL: u16 = 4;
/// `OVS_TUNNEL_KEY_ATTR_DONT_FRAGMENT`: flag.
pub const OVS_TUNNEL_KEY_ATTR_DONT_FRAGMENT: u16 = 5;
/// `OVS_TUNNEL_KEY_ATTR_CSUM`: flag.
pub const OVS_TUNNEL_KEY_ATTR_CSUM: u16 = 6;
/// `OVS_TUNNEL_KEY_ATTR_OAM`: flag.
pub const OVS_TUNNEL_KEY_ATTR_OAM: u16 = 7;
/// `OVS_TUNNEL_KEY_ATTR_GENEVE_OPTS`: array of Geneve options.
pub const OVS_TUNNEL_KEY_ATTR_GENEVE_OPTS: u16 = 8;
/// `OVS_TUNNEL_KEY_ATTR_TP_SRC`: be16.
pub const OVS_TUNNEL_KEY_ATTR_TP_SRC: u16 = 9;
/// `OVS_TUNNEL_KEY_ATTR_TP_DST`: be16.
pub const OVS_TUNNEL_KEY_ATTR_TP_DST: u16 = 10;
/// `OVS_TUNNEL_KEY_ATTR_VXLAN_OPTS`: nested `OVS_VXLAN_EXT_*`.
pub const OVS_TUNNEL_KEY_ATTR_VXLAN_OPTS: u16 = 11;
/// `OVS_TUNNEL_KEY_ATTR_IPV6_SRC`: 16 bytes.
pub const OVS_TUNNEL_KEY_ATTR_IPV6_SRC: u16 = 12;
/// `OVS_TUNNEL_KEY_ATTR_IPV6_DST`: 16 bytes.
pub const OVS_TUNNEL_KEY_ATTR_IPV6_DST: u16 = 13;
/// `OVS_TUNNEL_KEY_ATTR_PAD`.
pub const OVS_TUNNEL_KEY_ATTR_PAD: u16 = 14;
/// `OVS_TUNNEL_KEY_ATTR_ERSPAN_OPTS`: `struct erspan_metadata`.
pub const OVS_TUNNEL_KEY_ATTR_ERSPAN_OPTS: u16 = 15;
/// `OVS_TUNNEL_KEY_ATTR_GTPU_OPTS`: userspace only.
pub const OVS_TUNNEL_KEY_ATTR_GTPU_OPTS: u16 = 16;

/// `OVS_NSH_KEY_ATTR_BASE`: `struct ovs_nsh_key_base`.
pub const OVS_NSH_KEY_ATTR_BASE: u16 = 1;
/// `OVS_NSH_KEY_ATTR_MD1`: `struct ovs_nsh_key_md1`.
pub const OVS_NSH_KEY_ATTR_MD1: u16 = 2;
/// `OVS_NSH_KEY_ATTR_MD2`: variable-length TLVs.
pub const OVS_NSH_KEY_ATTR_MD2: u16 = 3;

// ---------------------------------------------------------------------------------------
// Actions.

/// `OVS_ACTION_ATTR_UNSPEC`.
pub const OVS_ACTION_ATTR_UNSPEC: u16 = 0;
/// `OVS_ACTION_ATTR_OUTPUT`: u32 port number.
pub const OVS_ACTION_ATTR_OUTPUT: u16 = 1;
/// `OVS_ACTION_ATTR_USERSPACE`: nested `OVS_USERSPACE_ATTR_*`.
pub const OVS_ACTION_ATTR_USERSPACE: u16 = 2;
/// `OVS_ACTION_ATTR_SET`: one nested `OVS_KEY_ATTR_*`.
pub const OVS_ACTION_ATTR_SET: u16 = 3;
/// `OVS_ACTION_ATTR_PUSH_VLAN`: `struct ovs_action_push_vlan`.
pub const OVS_ACTION_ATTR_PUSH_VLAN: u16 = 4;
/// `OVS_ACTION_ATTR_POP_VLAN`: no payload.
pub const OVS_ACTION_ATTR_POP_VLAN: u16 = 5;
/// `OVS_ACTION_ATTR_SAMPLE`: nested `OVS_SAMPLE_ATTR_*`.
pub const OVS_ACTION_ATTR_SAMPLE: u16 = 6;
/// `OVS_ACTION_ATTR_RECIRC`: u32 recirculation id.
pub const OVS_ACTION_ATTR_RECIRC: u16 = 7;
/// `OVS_ACTION_ATTR_HASH`: `struct ovs_action_hash`.
pub const OVS_ACTION_ATTR_HASH: u16 = 8;
/// `OVS_ACTION_ATTR_PUSH_MPLS`: `struct ovs_action_push_mpls`.
pub const OVS_ACTION_ATTR_PUSH_MPLS: u16 = 9;
/// `OVS_ACTION_ATTR_POP_MPLS`: be16 ethertype.
pub const OVS_ACTION_ATTR_POP_MPLS: u16 = 10;
/// `OVS_ACTION_ATTR_SET_MASKED`: one nested `OVS_KEY_ATTR_*` holding value then mask.
pub const OVS_ACTION_ATTR_SET_MASKED: u16 = 11;
/// `OVS_ACTION_ATTR_CT`: nested `OVS_CT_ATTR_*`.
pub const OVS_ACTION_ATTR_CT: u16 = 12;
/// `OVS_ACTION_ATTR_TRUNC`: u32 max length.
pub const OVS_ACTION_ATTR_TRUNC: u16 = 13;
/// `OVS_ACTION_ATTR_PUSH_ETH`: `struct ovs_action_push_eth`.
pub const OVS_ACTION_ATTR_PUSH_ETH: u16 = 14;
/// `OVS_ACTION_ATTR_POP_ETH`: no payload.
pub const OVS_ACTION_ATTR_POP_ETH: u16 = 15;
/// `OVS_ACTION_ATTR_CT_CLEAR`: no payload.
pub const OVS_ACTION_ATTR_CT_CLEAR: u16 = 16;
/// `OVS_ACTION_ATTR_PUSH_NSH`: nested `OVS_NSH_KEY_ATTR_*`.
pub const OVS_ACTION_ATTR_PUSH_NSH: u16 = 17;
/// `OVS_ACTION_ATTR_POP_NSH`: no payload.
pub const OVS_ACTION_ATTR_POP_NSH: u16 = 18;
/// `OVS_ACTION_ATTR_METER`: u32 meter id.
pub const OVS_ACTION_ATTR_METER: u16 = 19;
/// `OVS_ACTION_ATTR_CLONE`: nested actions.
pub const OVS_ACTION_ATTR_CLONE: u16 = 20;
/// `OVS_ACTION_ATTR_CHECK_PKT_LEN`: nested `OVS_CHECK_PKT_LEN_ATTR_*`.
pub const OVS_ACTION_ATTR_CHECK_PKT_LEN: u16 = 21;
/// `OVS_ACTION_ATTR_ADD_MPLS`: `struct ovs_action_add_mpls`.
pub const OVS_ACTION_ATTR_ADD_MPLS: u16 = 22;
/// `OVS_ACTION_ATTR_DEC_TTL`: nested `OVS_DEC_TTL_ATTR_*`.
pub const OVS_ACTION_ATTR_DEC_TTL: u16 = 23;
/// `OVS_ACTION_ATTR_DROP`: u32 `xlate_error` reason.
pub const OVS_ACTION_ATTR_DROP: u16 = 24;
/// `OVS_ACTION_ATTR_PSAMPLE`: nested `OVS_PSAMPLE_ATTR_*`.
pub const OVS_ACTION_ATTR_PSAMPLE: u16 = 25;
/// `OVS_ACTION_ATTR_TUNNEL_PUSH`: userspace datapath only.
pub const OVS_ACTION_ATTR_TUNNEL_PUSH: u16 = 26;
/// `OVS_ACTION_ATTR_TUNNEL_POP`: userspace datapath only, u32 port.
pub const OVS_ACTION_ATTR_TUNNEL_POP: u16 = 27;
/// `OVS_ACTION_ATTR_LB_OUTPUT`: userspace datapath only, u32 bond id.
pub const OVS_ACTION_ATTR_LB_OUTPUT: u16 = 28;

/// `struct ovs_action_push_vlan` size.
pub const OVS_ACTION_PUSH_VLAN_LEN: usize = 4;
/// `struct ovs_action_hash` size.
pub const OVS_ACTION_HASH_LEN: usize = 8;
/// `struct ovs_action_push_mpls` size (6 bytes of fields, padded to 8).
pub const OVS_ACTION_PUSH_MPLS_LEN: usize = 8;
/// `struct ovs_action_push_eth` size.
pub const OVS_ACTION_PUSH_ETH_LEN: usize = 12;

/// `OVS_HASH_ALG_L4`.
pub const OVS_HASH_ALG_L4: u32 = 0;
/// `OVS_HASH_ALG_SYM_L4`.
pub const OVS_HASH_ALG_SYM_L4: u32 = 1;

/// `OVS_USERSPACE_ATTR_PID`: u32 netlink port id.
pub const OVS_USERSPACE_ATTR_PID: u16 = 1;
/// `OVS_USERSPACE_ATTR_USERDATA`: opaque cookie.
pub const OVS_USERSPACE_ATTR_USERDATA: u16 = 2;
/// `OVS_USERSPACE_ATTR_EGRESS_TUN_PORT`: u32 tunnel port.
pub const OVS_USERSPACE_ATTR_EGRESS_TUN_PORT: u16 = 3;
/// `OVS_USERSPACE_ATTR_ACTIONS`: flag, send the actions with the upcall.
pub const OVS_USERSPACE_ATTR_ACTIONS: u16 = 4;

/// `OVS_SAMPLE_ATTR_PROBABILITY`: u32 fraction of `u32::MAX`.
pub const OVS_SAMPLE_ATTR_PROBABILITY: u16 = 1;
/// `OVS_SAMPLE_ATTR_ACTIONS`: nested actions.
pub const OVS_SAMPLE_ATTR_ACTIONS: u16 = 2;

/// `OVS_CLONE_ATTR_EXEC`: kernel-internal (the kernel's own encoding of a clone).
pub const OVS_CLONE_ATTR_EXEC: u16 = 1;
/// `OVS_CLONE_ATTR_ARG`: kernel-internal.
pub const OVS_CLONE_ATTR_ARG: u16 = 2;

/// `OVS_CHECK_PKT_LEN_ATTR_PKT_LEN`: u16.
pub const OVS_CHECK_PKT_LEN_ATTR_PKT_LEN: u16 = 1;
/// `OVS_CHECK_PKT_LEN_ATTR_ACTIONS_IF_GREATER`: nested actions.
pub const OVS_CHECK_PKT_LEN_ATTR_ACTIONS_IF_GREATER: u16 = 2;
/// `OVS_CHECK_PKT_LEN_ATTR_ACTIONS_IF_LESS_EQUAL`: nested actions.
pub const OVS_CHECK_PKT_LEN_ATTR_ACTIONS_IF_LESS_EQUAL: u16 = 3;

/// `OVS_DEC_TTL_ATTR_ACTION`: nested actions run when the TTL expires.
pub const OVS_DEC_TTL_ATTR_ACTION: u16 = 1;

/// `OVS_PSAMPLE_ATTR_GROUP`: u32.
pub const OVS_PSAMPLE_ATTR_GROUP: u16 = 1;
/// `OVS_PSAMPLE_ATTR_COOKIE`: up to 16 bytes.
pub const OVS_PSAMPLE_ATTR_COOKIE: u16 = 2;

/// `OVS_CT_ATTR_COMMIT`: flag.
pub const OVS_CT_ATTR_COMMIT: u16 = 1;
/// `OVS_CT_ATTR_ZONE`: u16.
pub const OVS_CT_ATTR_ZONE: u16 = 2;
/// `OVS_CT_ATTR_MARK`: u32 value then u32 mask.
pub const OVS_CT_ATTR_MARK: u16 = 3;
/// `OVS_CT_ATTR_LABELS`: 16-byte value then 16-byte mask.
pub const OVS_CT_ATTR_LABELS: u16 = 4;
/// `OVS_CT_ATTR_HELPER`: string.
pub const OVS_CT_ATTR_HELPER: u16 = 5;
/// `OVS_CT_ATTR_NAT`: nested `OVS_NAT_ATTR_*`.
pub const OVS_CT_ATTR_NAT: u16 = 6;
/// `OVS_CT_ATTR_FORCE_COMMIT`: flag.
pub const OVS_CT_ATTR_FORCE_COMMIT: u16 = 7;
/// `OVS_CT_ATTR_EVENTMASK`: u32.
pub const OVS_CT_ATTR_EVENTMASK: u16 = 8;
/// `OVS_CT_ATTR_TIMEOUT`: string, a timeout policy name.
pub const OVS_CT_ATTR_TIMEOUT: u16 = 9;

/// `OVS_NAT_ATTR_SRC`: flag.
pub const OVS_NAT_ATTR_SRC: u16 = 1;
/// `OVS_NAT_ATTR_DST`: flag.
pub const OVS_NAT_ATTR_DST: u16 = 2;
/// `OVS_NAT_ATTR_IP_MIN`: 4 or 16 bytes.
pub const OVS_NAT_ATTR_IP_MIN: u16 = 3;
/// `OVS_NAT_ATTR_IP_MAX`: 4 or 16 bytes.
pub const OVS_NAT_ATTR_IP_MAX: u16 = 4;
/// `OVS_NAT_ATTR_PROTO_MIN`: u16.
pub const OVS_NAT_ATTR_PROTO_MIN: u16 = 5;
/// `OVS_NAT_ATTR_PROTO_MAX`: u16.
pub const OVS_NAT_ATTR_PROTO_MAX: u16 = 6;
/// `OVS_NAT_ATTR_PERSISTENT`: flag.
pub const OVS_NAT_ATTR_PERSISTENT: u16 = 7;
/// `OVS_NAT_ATTR_PROTO_HASH`: flag.
pub const OVS_NAT_ATTR_PROTO_HASH: u16 = 8;
/// `OVS_NAT_ATTR_PROTO_RANDOM`: flag.
pub const OVS_NAT_ATTR_PROTO_RANDOM: u16 = 9;

// ---------------------------------------------------------------------------------------
// Meters and conntrack limits.

/// `OVS_METER_ATTR_ID`: u32.
pub const OVS_METER_ATTR_ID: u16 = 1;
/// `OVS_METER_ATTR_KBPS`: flag; rates in kbit/s, else packets/s.
pub const OVS_METER_ATTR_KBPS: u16 = 2;
/// `OVS_METER_ATTR_STATS`: `struct ovs_flow_stats`.
pub const OVS_METER_ATTR_STATS: u16 = 3;
/// `OVS_METER_ATTR_BANDS`: nested bands.
pub const OVS_METER_ATTR_BANDS: u16 = 4;
/// `OVS_METER_ATTR_USED`: u64 ms.
pub const OVS_METER_ATTR_USED: u16 = 5;
/// `OVS_METER_ATTR_CLEAR`: flag.
pub const OVS_METER_ATTR_CLEAR: u16 = 6;
/// `OVS_METER_ATTR_MAX_METERS`: u32.
pub const OVS_METER_ATTR_MAX_METERS: u16 = 7;
/// `OVS_METER_ATTR_MAX_BANDS`: u32.
pub const OVS_METER_ATTR_MAX_BANDS: u16 = 8;
/// `OVS_METER_ATTR_PAD`.
pub const OVS_METER_ATTR_PAD: u16 = 9;

/// `OVS_BAND_ATTR_TYPE`: u32 `OVS_METER_BAND_TYPE_*`.
pub const OVS_BAND_ATTR_TYPE: u16 = 1;
/// `OVS_BAND_ATTR_RATE`: u32.
pub const OVS_BAND_ATTR_RATE: u16 = 2;
/// `OVS_BAND_ATTR_BURST`: u32.
pub const OVS_BAND_ATTR_BURST: u16 = 3;
/// `OVS_BAND_ATTR_STATS`: `struct ovs_flow_stats`.
pub const OVS_BAND_ATTR_STATS: u16 = 4;

/// `OVS_METER_BAND_TYPE_DROP`.
pub const OVS_METER_BAND_TYPE_DROP: u32 = 1;

/// `OVS_CT_LIMIT_ATTR_ZONE_LIMIT`: array of `struct ovs_zone_limit` (`{int zone_id; u32
/// limit; u32 count}`).
pub const OVS_CT_LIMIT_ATTR_ZONE_LIMIT: u16 = 1;
/// `OVS_ZONE_LIMIT_DEFAULT_ZONE`: the zone id meaning "the default limit".
pub const OVS_ZONE_LIMIT_DEFAULT_ZONE: i32 = -1;

// ---------------------------------------------------------------------------------------
// Drop reasons (`enum xlate_error`, the payload of OVS_ACTION_ATTR_DROP).

/// `XLATE_OK`.
pub const XLATE_OK: u32 = 0;
/// `XLATE_BRIDGE_NOT_FOUND`.
pub const XLATE_BRIDGE_NOT_FOUND: u32 = 1;
/// `XLATE_RECURSION_TOO_DEEP`.
pub const XLATE_RECURSION_TOO_DEEP: u32 = 2;
/// `XLATE_TOO_MANY_RESUBMITS`.
pub const XLATE_TOO_MANY_RESUBMITS: u32 = 3;
/// `XLATE_STACK_TOO_DEEP`.
pub const XLATE_STACK_TOO_DEEP: u32 = 4;
/// `XLATE_NO_RECIRCULATION_CONTEXT`.
pub const XLATE_NO_RECIRCULATION_CONTEXT: u32 = 5;
/// `XLATE_RECIRCULATION_CONFLICT`.
pub const XLATE_RECIRCULATION_CONFLICT: u32 = 6;
/// `XLATE_TOO_MANY_MPLS_LABELS`.
pub const XLATE_TOO_MANY_MPLS_LABELS: u32 = 7;
/// `XLATE_INVALID_TUNNEL_METADATA`.
pub const XLATE_INVALID_TUNNEL_METADATA: u32 = 8;
/// `XLATE_UNSUPPORTED_PACKET_TYPE`.
pub const XLATE_UNSUPPORTED_PACKET_TYPE: u32 = 9;
/// `XLATE_CONGESTION_DROP`.
pub const XLATE_CONGESTION_DROP: u32 = 10;
/// `XLATE_FORWARDING_DISABLED`.
pub const XLATE_FORWARDING_DISABLED: u32 = 11;
/// `XLATE_TUNNEL_ROUTING_FAILED`.
pub const XLATE_TUNNEL_ROUTING_FAILED: u32 = 12;
/// `XLATE_TUNNEL_OUTPUT_NO_ETHERNET`.
pub const XLATE_TUNNEL_OUTPUT_NO_ETHERNET: u32 = 13;
/// `XLATE_TUNNEL_NEIGH_CACHE_MISS`.
pub const XLATE_TUNNEL_NEIGH_CACHE_MISS: u32 = 14;
/// `XLATE_TUNNEL_HEADER_BUILD_FAILED`.
pub const XLATE_TUNNEL_HEADER_BUILD_FAILED: u32 = 15;

/// The C name of key attribute `kind`, for error messages (`"OVS_KEY_ATTR_IPV4"`), or
/// `None` for a type this header does not define.
pub fn key_attr_name(kind: u16) -> Option<&'static str> {
    Some(match kind {
        OVS_KEY_ATTR_UNSPEC => "OVS_KEY_ATTR_UNSPEC",
        OVS_KEY_ATTR_ENCAP => "OVS_KEY_ATTR_ENCAP",
        OVS_KEY_ATTR_PRIORITY => "OVS_KEY_ATTR_PRIORITY",
        OVS_KEY_ATTR_IN_PORT => "OVS_KEY_ATTR_IN_PORT",
        OVS_KEY_ATTR_ETHERNET => "OVS_KEY_ATTR_ETHERNET",
        OVS_KEY_ATTR_VLAN => "OVS_KEY_ATTR_VLAN",
        OVS_KEY_ATTR_ETHERTYPE => "OVS_KEY_ATTR_ETHERTYPE",
        OVS_KEY_ATTR_IPV4 => "OVS_KEY_ATTR_IPV4",
        OVS_KEY_ATTR_IPV6 => "OVS_KEY_ATTR_IPV6",
        OVS_KEY_ATTR_TCP => "OVS_KEY_ATTR_TCP",
        OVS_KEY_ATTR_UDP => "OVS_KEY_ATTR_UDP",
        OVS_KEY_ATTR_ICMP => "OVS_KEY_ATTR_ICMP",
        OVS_KEY_ATTR_ICMPV6 => "OVS_KEY_ATTR_ICMPV6",
        OVS_KEY_ATTR_ARP => "OVS_KEY_ATTR_ARP",
        OVS_KEY_ATTR_ND => "OVS_KEY_ATTR_ND",
        OVS_KEY_ATTR_SKB_MARK => "OVS_KEY_ATTR_SKB_MARK",
        OVS_KEY_ATTR_TUNNEL => "OVS_KEY_ATTR_TUNNEL",
        OVS_KEY_ATTR_SCTP => "OVS_KEY_ATTR_SCTP",
        OVS_KEY_ATTR_TCP_FLAGS => "OVS_KEY_ATTR_TCP_FLAGS",
        OVS_KEY_ATTR_DP_HASH => "OVS_KEY_ATTR_DP_HASH",
        OVS_KEY_ATTR_RECIRC_ID => "OVS_KEY_ATTR_RECIRC_ID",
        OVS_KEY_ATTR_MPLS => "OVS_KEY_ATTR_MPLS",
        OVS_KEY_ATTR_CT_STATE => "OVS_KEY_ATTR_CT_STATE",
        OVS_KEY_ATTR_CT_ZONE => "OVS_KEY_ATTR_CT_ZONE",
        OVS_KEY_ATTR_CT_MARK => "OVS_KEY_ATTR_CT_MARK",
        OVS_KEY_ATTR_CT_LABELS => "OVS_KEY_ATTR_CT_LABELS",
        OVS_KEY_ATTR_CT_ORIG_TUPLE_IPV4 => "OVS_KEY_ATTR_CT_ORIG_TUPLE_IPV4",
        OVS_KEY_ATTR_CT_ORIG_TUPLE_IPV6 => "OVS_KEY_ATTR_CT_ORIG_TUPLE_IPV6",
        OVS_KEY_ATTR_NSH => "OVS_KEY_ATTR_NSH",
        OVS_KEY_ATTR_PACKET_TYPE => "OVS_KEY_ATTR_PACKET_TYPE",
        OVS_KEY_ATTR_ND_EXTENSIONS => "OVS_KEY_ATTR_ND_EXTENSIONS",
        OVS_KEY_ATTR_TUNNEL_INFO => "OVS_KEY_ATTR_TUNNEL_INFO",
        OVS_KEY_ATTR_IPV6_EXTHDRS => "OVS_KEY_ATTR_IPV6_EXTHDRS",
        _ => return None,
    })
}

/// The C name of action attribute `kind` (`"OVS_ACTION_ATTR_OUTPUT"`), or `None` for a type
/// this header does not define.
pub fn action_attr_name(kind: u16) -> Option<&'static str> {
    Some(match kind {
        OVS_ACTION_ATTR_UNSPEC => "OVS_ACTION_ATTR_UNSPEC",
        OVS_ACTION_ATTR_OUTPUT => "OVS_ACTION_ATTR_OUTPUT",
        OVS_ACTION_ATTR_USERSPACE => "OVS_ACTION_ATTR_USERSPACE",
        OVS_ACTION_ATTR_SET => "OVS_ACTION_ATTR_SET",
        OVS_ACTION_ATTR_PUSH_VLAN => "OVS_ACTION_ATTR_PUSH_VLAN",
        OVS_ACTION_ATTR_POP_VLAN => "OVS_ACTION_ATTR_POP_VLAN",
        OVS_ACTION_ATTR_SAMPLE => "OVS_ACTION_ATTR_SAMPLE",
        OVS_ACTION_ATTR_RECIRC => "OVS_ACTION_ATTR_RECIRC",
        OVS_ACTION_ATTR_HASH => "OVS_ACTION_ATTR_HASH",
        OVS_ACTION_ATTR_PUSH_MPLS => "OVS_ACTION_ATTR_PUSH_MPLS",
        OVS_ACTION_ATTR_POP_MPLS => "OVS_ACTION_ATTR_POP_MPLS",
        OVS_ACTION_ATTR_SET_MASKED => "OVS_ACTION_ATTR_SET_MASKED",
        OVS_ACTION_ATTR_CT => "OVS_ACTION_ATTR_CT",
        OVS_ACTION_ATTR_TRUNC => "OVS_ACTION_ATTR_TRUNC",
        OVS_ACTION_ATTR_PUSH_ETH => "OVS_ACTION_ATTR_PUSH_ETH",
        OVS_ACTION_ATTR_POP_ETH => "OVS_ACTION_ATTR_POP_ETH",
        OVS_ACTION_ATTR_CT_CLEAR => "OVS_ACTION_ATTR_CT_CLEAR",
        OVS_ACTION_ATTR_PUSH_NSH => "OVS_ACTION_ATTR_PUSH_NSH",
        OVS_ACTION_ATTR_POP_NSH => "OVS_ACTION_ATTR_POP_NSH",
        OVS_ACTION_ATTR_METER => "OVS_ACTION_ATTR_METER",
        OVS_ACTION_ATTR_CLONE => "OVS_ACTION_ATTR_CLONE",
        OVS_ACTION_ATTR_CHECK_PKT_LEN => "OVS_ACTION_ATTR_CHECK_PKT_LEN",
        OVS_ACTION_ATTR_ADD_MPLS => "OVS_ACTION_ATTR_ADD_MPLS",
        OVS_ACTION_ATTR_DEC_TTL => "OVS_ACTION_ATTR_DEC_TTL",
        OVS_ACTION_ATTR_DROP => "OVS_ACTION_ATTR_DROP",
        OVS_ACTION_ATTR_PSAMPLE => "OVS_ACTION_ATTR_PSAMPLE",
        OVS_ACTION_ATTR_TUNNEL_PUSH => "OVS_ACTION_ATTR_TUNNEL_PUSH",
        OVS_ACTION_ATTR_TUNNEL_POP => "OVS_ACTION_ATTR_TUNNEL_POP",
        OVS_ACTION_ATTR_LB_OUTPUT => "OVS_ACTION_ATTR_LB_OUTPUT",
        _ => return None,
    })
}
