//! Host capabilities: what plugins may import beyond WASI, one unit each.
//!
//! A capability is one [`Capability`]: its WIT (in `wit/`), how it links into the linker, its
//! configuration (its own section of `plugmill.toml` and its own key of each
//! `[plugins.NAME]` table), who may import it, and what it holds for one call ([`CallScope`])
//! and releases when the call ends. The lifecycle follows the manager's:
//!
//! 1. **configure**: [`Capability::configure`] reads the capability's configuration, when the
//!    builder is given a host configuration; builder methods of its own configure it in code;
//! 2. **check**: [`Capability::check`] refuses a configuration that cannot work (a grant of a
//!    database that does not exist) when the manager is built;
//! 3. **link**: [`Capability::add_to_linker`] adds its interfaces once, for every plugin;
//! 4. **admit**: at load, a plugin importing one of its [`Capability::interfaces`] is
//!    admitted, admitted with a warning, or refused ([`Capability::admit`]);
//! 5. **call**: host functions find the capability's shared state through
//!    [`HostState::capability`](crate::HostState::capability) and keep per-call state in a
//!    [`CallScope`], which the host ends when the call ends, however it ends.
//!
//! The standard capabilities are listed in `standard()` in this module; adding one is one
//! line there.
//! Embedders add their own with [`ManagerBuilder::capability`](crate::ManagerBuilder::capability),
//! or plain interfaces with [`ManagerBuilder::host_interfaces`](crate::ManagerBuilder::host_interfaces).
//!
//! - [`database`]: SQL inside host-owned transactions, PostgreSQL or SQLite, through the
//!   seed-compatible `plugins-manager:transactions-manager/transaction` interface and the
//!   typed `plugmill:database` interface.
//! - [`authorization`]: the seed's `plugins-manager:jwt/authorization`: checks a caller's
//!   claims for a tenant and permissions.
//! - [`variables`]: `plugmill:variables`: settings and secrets host configuration gives
//!   each plugin.

pub mod authorization;
#[cfg(feature = "database")]
pub mod database;
pub mod variables;

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use futures::future::BoxFuture;
use wasmtime::component::Linker;

use crate::config::{ConfigError, HostConfig};
use crate::runtime::HostState;

/// The capabilities every manager starts with.
pub(crate) fn standard() -> Vec<Box<dyn Capability>> {
    vec![
        #[cfg(feature = "database")]
        Box::new(database::Databases::default()),
        Box::new(authorization::Authorization::default()),
        Box::new(variables::Variables::default()),
    ]
}

/// One host capability (see the [module documentation](self)).
pub trait Capability: Any + Send + Sync {
    /// Its name, as messages show it (`database`).
    fn name(&self) -> &'static str;

    /// The interfaces it provides, as `package/interface` without a version: a plugin
    /// importing any version of one of them is admitted by [`Self::admit`].
    fn interfaces(&self) -> &'static [&'static str];

    /// The top-level sections of `plugmill.toml` it reads (`databases`).
    fn config_sections(&self) -> &'static [&'static str] {
        &[]
    }

    /// The keys of `[plugins.NAME]` it reads (`databases`, `variables`).
    fn plugin_keys(&self) -> &'static [&'static str] {
        &[]
    }

    /// Reads its configuration from `config`: its sections, and its keys of each plugin's
    /// table. Environment variables it documents are read here too.
    fn configure(&mut self, config: &HostConfig) -> Result<(), ConfigError> {
        let _ = config;
        Ok(())
    }

    /// Refuses a configuration that cannot work; called once when the manager is built.
    fn check(&self) -> Result<(), ConfigError> {
        Ok(())
    }

    /// Adds its interfaces to the linker every plugin is linked with.
    fn add_to_linker(&self, linker: &mut Linker<HostState>) -> anyhow::Result<()>;

    /// Whether `plugin`, which imports `interface` (one of [`Self::interfaces`], with its
    /// version), may load. The default admits every plugin: the capability decides call by
    /// call what each may do.
    fn admit(&self, plugin: &str, interface: &str) -> Admission {
        let _ = (plugin, interface);
        Admission::Admitted
    }

    /// Releases what it holds across calls (closes pools) when the manager shuts down.
    fn shutdown(&self) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }
}

/// What a capability says about a plugin importing one of its interfaces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Admission {
    /// The plugin may load.
    Admitted,
    /// The plugin loads, with this warning in the load report (its calls of the interface
    /// will fail until host configuration grants it what they need).
    Warn(String),
    /// The plugin is rejected, for this reason.
    Refused(String),
}

/// Whether `interface` (`package/name@version` or without version) is `provided`, a name
/// without a version.
pub(crate) fn names_interface(provided: &str, interface: &str) -> bool {
    interface == provided
        || interface
            .strip_prefix(provided)
            .is_some_and(|rest| rest.starts_with('@'))
}

/// Something a capability holds for one call, ended when the call ends however it ends.
pub trait CallScope: Any + Send {
    /// Releases what the call left open (rolls back, returns connections). Must not fail: log
    /// what goes wrong.
    fn end_call(&mut self) -> BoxFuture<'_, ()>;
}

/// What a [`CallScope`] is created from: the shared state and the call it belongs to.
pub struct ScopeContext<'a> {
    /// State shared by every call.
    pub shared: &'a Shared,
    /// The calling plugin.
    pub plugin: &'a Arc<str>,
    /// When the call must be over.
    pub deadline: Instant,
}

/// The capabilities of a runtime, shared by every call: configured, checked and linked.
#[derive(Default)]
pub struct Shared {
    list: Vec<Arc<dyn Capability>>,
    by_type: HashMap<TypeId, usize>,
}

impl Shared {
    /// The capabilities in `list`; a later one of the same type replaces an earlier one.
    pub(crate) fn new(list: Vec<Box<dyn Capability>>) -> Self {
        let mut shared = Shared::default();
        for capability in list {
            let capability: Arc<dyn Capability> = Arc::from(capability);
            let type_id = (*capability).type_id();
            match shared.by_type.get(&type_id) {
                Some(&index) => shared.list[index] = capability,
                None => {
                    shared.by_type.insert(type_id, shared.list.len());
                    shared.list.push(capability);
                }
            }
        }
        shared
    }

    /// The capability of type `C`, if the runtime has it.
    pub fn get<C: Capability>(&self) -> Option<Arc<C>> {
        let index = *self.by_type.get(&TypeId::of::<C>())?;
        let any: Arc<dyn Any + Send + Sync> = self.list[index].clone();
        any.downcast::<C>().ok()
    }

    /// Every capability, in the order they were added.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<dyn Capability>> {
        self.list.iter()
    }

    /// The capability providing `interface` (with or without its version).
    pub(crate) fn provider_of(&self, interface: &str) -> Option<&Arc<dyn Capability>> {
        self.list.iter().find(|capability| {
            capability
                .interfaces()
                .iter()
                .any(|provided| names_interface(provided, interface))
        })
    }
}

/// The scopes one call opened, in the order they were opened.
#[derive(Default)]
pub(crate) struct CallScopes {
    scopes: Vec<Box<dyn CallScope>>,
}

impl CallScopes {
    /// The scope of type `S`, created on first use.
    pub(crate) fn get_or_insert_with<S: CallScope>(
        &mut self,
        create: impl FnOnce() -> S,
    ) -> &mut S {
        let position = self
            .scopes
            .iter()
            .position(|scope| (scope.as_ref() as &dyn Any).is::<S>());
        let index = match position {
            Some(index) => index,
            None => {
                self.scopes.push(Box::new(create()));
                self.scopes.len() - 1
            }
        };
        (self.scopes[index].as_mut() as &mut dyn Any)
            .downcast_mut::<S>()
            .expect("the scope at this index has this type")
    }

    /// Whether the call opened any scope.
    pub(crate) fn is_empty(&self) -> bool {
        self.scopes.is_empty()
    }

    /// Ends every scope, last opened first, and forgets them.
    pub(crate) async fn end_call(&mut self) {
        while let Some(mut scope) = self.scopes.pop() {
            scope.end_call().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::names_interface;

    #[test]
    fn a_name_without_version_covers_every_version() {
        assert!(names_interface("my:app/docs", "my:app/docs"));
        assert!(names_interface("my:app/docs", "my:app/docs@1.2.0"));
        assert!(names_interface("my:app/docs@1.2.0", "my:app/docs@1.2.0"));
        assert!(!names_interface("my:app/docs@1.2.0", "my:app/docs@2.0.0"));
        assert!(!names_interface("my:app/doc", "my:app/docs"));
    }
}
