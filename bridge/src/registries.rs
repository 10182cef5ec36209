//! The one place where device and datapath classes are registered.
//!
//! A switch needs two registries: network device classes ([`netdev::Registry`]: `system`,
//! `tap`, `internal`, and the in-memory `dummy` classes) and datapath classes
//! ([`dpif::DpifRegistry`]: the kernel datapath `system`, the userspace datapath `netdev`,
//! and its `dummy` copy for tests).
//! [`Registries::new`] builds both with every class this workspace provides; a builder with
//! classes of its own registers them in registries it makes and passes those instead.

use std::sync::Arc;

use dpif::DpifRegistry;
use dpif::kernel::DpifNetlinkClass;
use dpif::userspace::DpifNetdevClass;

/// The device and datapath registries a switch runs on.
#[derive(Clone, Debug)]
pub struct Registries {
    /// Network device classes and open devices.
    pub netdev: Arc<netdev::Registry>,
    /// Datapath classes.
    pub dpif: Arc<DpifRegistry>,
}

impl Registries {
    /// Both registries with every class of this workspace: the Linux and dummy device
    /// classes, the kernel datapath (type `system`), and the userspace datapath as types
    /// `netdev` and `dummy`.
    ///
    /// Nothing is opened and no thread is started until a datapath or device is opened (the
    /// kernel datapath's netlink families are resolved on first use).
    pub fn new() -> Registries {
        let netdev = Arc::new(netdev::Registry::with_default_classes());
        let mut dpif = DpifRegistry::new();
        // The type names are distinct, so registration cannot fail.
        let _ = dpif.register(Arc::new(DpifNetlinkClass::new()));
        let _ = dpif.register(Arc::new(DpifNetdevClass::new(netdev.clone())));
        let _ = dpif.register(Arc::new(DpifNetdevClass::new_dummy(netdev.clone())));
        Registries {
            netdev,
            dpif: Arc::new(dpif),
        }
    }
}

impl Default for Registries {
    fn default() -> Self {
        Registries::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_class_is_registered() {
        let r = Registries::new();
        assert_eq!(r.dpif.types(), vec!["dummy", "netdev", "system"]);
        for t in ["system", "tap", "internal", "dummy", "dummy-internal"] {
            assert!(r.netdev.class(t).is_some(), "{t}");
        }
    }
}
