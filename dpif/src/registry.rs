//! The registry of datapath types.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::provider::{Dpif, DpifClass};

/// Maps datapath type names (`netdev`, `system`) to [`DpifClass`]es.
///
/// The type `""` means `system`, as in OVS.
#[derive(Default)]
pub struct DpifRegistry {
    classes: BTreeMap<&'static str, Arc<dyn DpifClass>>,
}

impl DpifRegistry {
    /// Makes an empty registry.
    pub fn new() -> Self {
        DpifRegistry::default()
    }

    /// Registers a class.
    ///
    /// # Errors
    ///
    /// [`Error::Exists`] if a class of that type is registered already.
    pub fn register(&mut self, class: Arc<dyn DpifClass>) -> Result<()> {
        let name = class.type_name();
        if self.classes.contains_key(name) {
            return Err(Error::exists(
                "register datapath class",
                "datapath type",
                name,
            ));
        }
        self.classes.insert(name, class);
        Ok(())
    }

    /// Normalizes a type name: `""` becomes `"system"`.
    pub fn normalize(type_name: &str) -> &str {
        if type_name.is_empty() {
            "system"
        } else {
            type_name
        }
    }

    /// The class of a type.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] if no class has that type.
    pub fn class(&self, type_name: &str) -> Result<Arc<dyn DpifClass>> {
        let t = Self::normalize(type_name);
        self.classes
            .get(t)
            .cloned()
            .ok_or_else(|| Error::not_found("open datapath", "datapath type", t))
    }

    /// The registered type names, sorted.
    pub fn types(&self) -> Vec<&'static str> {
        self.classes.keys().copied().collect()
    }

    /// Opens (or creates) datapath `name` of type `type_name`.
    ///
    /// # Errors
    ///
    /// As [`DpifRegistry::class`] and [`DpifClass::open`].
    pub fn open(&self, type_name: &str, name: &str, create: bool) -> Result<Arc<dyn Dpif>> {
        self.class(type_name)?.open(name, create)
    }
}

impl std::fmt::Debug for DpifRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DpifRegistry")
            .field("types", &self.types())
            .finish()
    }
}
