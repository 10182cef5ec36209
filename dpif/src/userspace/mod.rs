//! dpif-netdev: the userspace datapath (type `netdev`).

pub mod dpcls;
pub mod emc;
