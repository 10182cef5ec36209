//! dpif-netdev: the userspace datapath (type `netdev`).
