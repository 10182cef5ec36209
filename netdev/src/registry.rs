//! The registry of device classes and open devices.

use std::collections::HashMap;
use std::sync::{Arc, Weak};

use parking_lot::{Mutex, RwLock};

use crate::error::{Error, Result};
use crate::poll::PollSet;
use crate::provider::{Netdev, NetdevClass, Options};

/// Maps type names to [`NetdevClass`]es and shares open devices by name.
///
/// Opening a name that is already open returns the same device (OVS's `netdev_open`); the
/// device closes when the last `Arc` to it is dropped. There are no globals: a process (or
/// a test) makes its own registry and passes it down.
#[derive(Default)]
pub struct Registry {
    classes: RwLock<HashMap<&'static str, Arc<dyn NetdevClass>>>,
    open: Mutex<HashMap<String, Weak<dyn Netdev>>>,
}

impl Registry {
    /// Makes an empty registry.
    pub fn new() -> Self {
        Registry::default()
    }

    /// Makes a registry with the Linux classes (`system`, `tap`, `internal`), the dummy
    /// classes (`dummy`, `dummy-internal`, `dummy-pmd`) and, with the `dpdk` feature,
    /// `dpdk` registered.
    pub fn with_default_classes() -> Self {
        let r = Registry::new();
        for class in crate::linux::classes() {
            // The names are distinct, so registration cannot fail.
            let _ = r.register(class);
        }
        for class in crate::dummy::classes() {
            let _ = r.register(class);
        }
        #[cfg(feature = "dpdk")]
        let _ = r.register(Arc::new(crate::dpdk::DpdkClass::new()));
        r
    }

    /// Hands the `Open_vSwitch` table's `other_config` to every class
    /// ([`NetdevClass::set_global_config`]) and returns the errors, one per class that
    /// refused it, by type name.
    pub fn set_global_config(&self, other_config: &Options) -> Vec<(&'static str, Error)> {
        let classes: Vec<_> = self.classes.read().values().cloned().collect();
        classes
            .iter()
            .filter_map(|c| {
                c.set_global_config(other_config)
                    .err()
                    .map(|e| (c.type_name(), e))
            })
            .collect()
    }

    /// Registers a class under its type name.
    ///
    /// # Errors
    ///
    /// [`Error::TypeExists`] if a class of that name is registered already.
    pub fn register(&self, class: Arc<dyn NetdevClass>) -> Result<()> {
        let mut classes = self.classes.write();
        let name = class.type_name();
        if classes.contains_key(name) {
            return Err(Error::TypeExists(name.to_owned()));
        }
        classes.insert(name, class);
        Ok(())
    }

    /// The class registered under `type_name`, if any.
    pub fn class(&self, type_name: &str) -> Option<Arc<dyn NetdevClass>> {
        self.classes.read().get(type_name).cloned()
    }

    /// The registered type names, sorted.
    pub fn types(&self) -> Vec<&'static str> {
        let mut v: Vec<_> = self.classes.read().keys().copied().collect();
        v.sort_unstable();
        v
    }

    /// Opens device `name` of type `type_name` (`""` means `"system"`), or returns the
    /// device already open under that name.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownType`] if no class has that type name; [`Error::TypeMismatch`] if the
    /// name is open with another type; the class's error from opening the device.
    pub fn open(&self, name: &str, type_name: &str) -> Result<Arc<dyn Netdev>> {
        let type_name = if type_name.is_empty() {
            "system"
        } else {
            type_name
        };
        let mut open = self.open.lock();
        if let Some(dev) = open.get(name).and_then(Weak::upgrade) {
            if dev.type_name() != type_name {
                return Err(Error::TypeMismatch {
                    name: name.to_owned(),
                    existing: dev.type_name().to_owned(),
                    requested: type_name.to_owned(),
                });
            }
            return Ok(dev);
        }
        let class = self.class(type_name).ok_or_else(|| Error::UnknownType {
            type_name: type_name.to_owned(),
            name: name.to_owned(),
        })?;
        let dev = class.open(name)?;
        open.retain(|_, weak| weak.strong_count() > 0);
        open.insert(name.to_owned(), Arc::downgrade(&dev));
        Ok(dev)
    }

    /// The device open under `name`, if any.
    pub fn lookup(&self, name: &str) -> Option<Arc<dyn Netdev>> {
        self.open.lock().get(name).and_then(Weak::upgrade)
    }

    /// The names of the open devices, sorted.
    pub fn open_names(&self) -> Vec<String> {
        let open = self.open.lock();
        let mut v: Vec<String> = open
            .iter()
            .filter(|(_, w)| w.strong_count() > 0)
            .map(|(n, _)| n.clone())
            .collect();
        v.sort();
        v
    }

    /// Runs every class's periodic work (OVS's `netdev_run`).
    pub fn run(&self) {
        let classes: Vec<_> = self.classes.read().values().cloned().collect();
        for class in classes {
            class.run();
        }
    }

    /// Registers every class's wakeup conditions (OVS's `netdev_wait`).
    pub fn wait(&self, poll: &mut PollSet) {
        for class in self.classes.read().values() {
            class.wait(poll);
        }
    }
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("types", &self.types())
            .field("open", &self.open_names())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_name_gives_the_same_device() {
        let reg = Registry::with_default_classes();
        let a = reg.open("p1", "dummy").unwrap();
        let b = reg.open("p1", "dummy").unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(reg.open_names(), vec!["p1".to_owned()]);
    }

    #[test]
    fn other_type_is_an_error() {
        let reg = Registry::with_default_classes();
        let _a = reg.open("p1", "dummy").unwrap();
        let err = reg.open("p1", "dummy-internal").unwrap_err();
        assert!(matches!(err, Error::TypeMismatch { .. }), "{err}");
        assert!(err.to_string().contains("p1"));
    }

    #[test]
    fn unknown_type_is_an_error() {
        let reg = Registry::with_default_classes();
        let err = reg.open("p1", "warp-drive").unwrap_err();
        assert!(matches!(err, Error::UnknownType { .. }));
        assert!(err.to_string().contains("warp-drive"), "{err}");
    }

    #[test]
    fn closed_devices_reopen_fresh() {
        let reg = Registry::with_default_classes();
        let a = reg.open("p1", "dummy").unwrap();
        a.set_mtu(9000).unwrap();
        drop(a);
        assert!(reg.lookup("p1").is_none());
        let b = reg.open("p1", "dummy").unwrap();
        assert_eq!(b.mtu().unwrap(), 1500);
    }

    #[test]
    fn duplicate_class_is_refused() {
        let reg = Registry::with_default_classes();
        let class = crate::dummy::classes().remove(0);
        assert!(matches!(reg.register(class), Err(Error::TypeExists(_))));
    }
}
