//! The kernel tier: dpif-netlink against the real `openvswitch.ko`, inside the kernel VM
//! (`cargo xtask kernel-test`). On a host without the module every test skips loudly.

use tests::require_kernel_datapath;

#[test]
fn ovs_dpctl_sees_the_module() {
    require_kernel_datapath!();
    let out = tests::run("ovs-dpctl", &["dump-dps"]);
    assert!(out.status.success());
}
