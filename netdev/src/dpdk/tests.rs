//! Tests that need no EAL (none is initialised in this test binary); the ones that run
//! DPDK ports on veth pairs are in the `tests` crate (`tests/tests/dpdk.rs`).

use proptest::prelude::*;

use super::*;
use crate::Registry;

fn opts(pairs: &[(&str, &str)]) -> Options {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn devargs_names() {
    assert_eq!(
        devargs_name("net_af_packet0,iface=veth0"),
        Ok("net_af_packet0")
    );
    assert_eq!(devargs_name("0000:01:00.0"), Ok("0000:01:00.0"));
    assert!(devargs_name("").is_err());
    assert!(devargs_name(",iface=x").is_err());
    let e = devargs_name("net_null 0").unwrap_err();
    assert!(e.contains("malformed"), "{e}");
}

#[test]
fn registered_as_a_pmd_class() {
    let reg = Registry::with_default_classes();
    let class = reg.class("dpdk").unwrap();
    assert!(class.is_pmd());
}

#[test]
fn without_eal_the_interface_says_why() {
    let reg = Registry::with_default_classes();
    let dev = reg.open("dpdk-t0", "dpdk").unwrap();
    assert_eq!(dev.flags().unwrap(), NetdevFlags::empty());
    let err = dev
        .set_config(&opts(&[("dpdk-devargs", "net_null0")]))
        .unwrap_err();
    assert!(err.to_string().contains("dpdk-init=true"), "{err}");
    assert_eq!(dev.n_rxq(), 0);
    // Sending on a device without a port drops and counts.
    let mut b = PacketBatch::new();
    b.push(Packet::from_slice(&[0; 60])).unwrap();
    dev.send(0, &mut b, true).unwrap();
    assert!(b.is_empty());
    assert_eq!(dev.stats().unwrap().tx_dropped, 1);
}

#[test]
fn options_are_checked() {
    let reg = Registry::with_default_classes();
    let dev = reg.open("dpdk-t1", "dpdk").unwrap();
    let err = dev.set_config(&opts(&[])).unwrap_err();
    assert!(
        err.to_string().contains("dpdk-devargs is required"),
        "{err}"
    );
    let err = dev
        .set_config(&opts(&[("dpdk-devargs", "net_null0"), ("n_rxq", "0")]))
        .unwrap_err();
    assert!(err.to_string().contains("n_rxq must be a number"), "{err}");
    let err = dev
        .set_config(&opts(&[("dpdk-devargs", "net_null0"), ("warp", "9")]))
        .unwrap_err();
    assert!(err.to_string().contains("\"warp\""), "{err}");
}

#[test]
fn global_config_without_dpdk_init_does_nothing() {
    let class = DpdkClass::new();
    class
        .set_global_config(&opts(&[("dpdk-init", "false")]))
        .unwrap();
    assert_eq!(eal::state(), eal::EalState::Uninitialized);
}

proptest! {
    #[test]
    fn devargs_name_never_panics(s in any::<String>()) {
        if let Ok(name) = devargs_name(&s) {
            prop_assert!(!name.is_empty());
            prop_assert!(!name.contains(','));
            prop_assert!(s.trim_start().starts_with(name));
        }
    }

    #[test]
    fn arbitrary_options_never_panic(k in "[a-z_-]{1,12}", v in any::<String>()) {
        let reg = Registry::with_default_classes();
        let dev = reg.open("dpdk-p", "dpdk").unwrap();
        let _ = dev.set_config(&opts(&[(&k, &v)]));
        let _ = dev.set_config(&opts(&[("dpdk-devargs", &v)]));
    }
}
