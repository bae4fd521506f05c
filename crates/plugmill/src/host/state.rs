//! [`HostState`], the data of every store, and the contract a capability plugs into it with:
//! [`Capability`], the runtime's set of them ([`Shared`]) and what a per-call scope is made
//! from ([`ScopeContext`]). The two sides name each other (a capability links host functions
//! over `HostState`; `HostState` holds the capabilities), so they live in this one file.
//!
//! WASI is denied by default (no directories, environment, arguments, sockets or inherited
//! stdio) and built only when a plugin first uses it; memory and instance growth are capped
//! ([`Limits`]); the call deadline lives here so a warm instance can re-arm it for each call.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use wasmtime::component::{Linker, ResourceTable};
use wasmtime::ResourceLimiter;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::deadline::deadline_after;
use super::limits::Limits;
use super::output::{log_captured, CapturedOutput};
use super::sandbox::WasiGrants;
use super::scope::{CallScope, CallScopes};
use crate::config::{ConfigError, HostConfig};

/// The data of one store: one call, or one warm instance.
pub struct HostState {
    plugin: Arc<str>,
    table: ResourceTable,
    wasi: Option<Wasi>,
    grants: Arc<WasiGrants>,
    output_cap: usize,
    limits: Limits,
    deadline: Instant,
    shared: Arc<Shared>,
    scopes: CallScopes,
}

/// WASI state, built on first use: most hook calls never touch WASI and skip this cost.
struct Wasi {
    ctx: WasiCtx,
    stdout: CapturedOutput,
    stderr: CapturedOutput,
}

impl HostState {
    /// The state of a new store for `plugin`, its deadline `timeout` from now.
    pub(crate) fn new(
        plugin: Arc<str>,
        grants: Arc<WasiGrants>,
        shared: Arc<Shared>,
        limits: Limits,
        output_cap: usize,
        timeout: Duration,
    ) -> Self {
        Self {
            plugin,
            table: ResourceTable::new(),
            wasi: None,
            grants,
            output_cap,
            limits,
            deadline: deadline_after(timeout),
            shared,
            scopes: CallScopes::default(),
        }
    }

    /// When the current call must be over: host functions that wait (on a database, the
    /// network) bound their waits by it, since the deadline cannot interrupt the host.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Moves the deadline of the next call to `timeout` from now.
    pub(crate) fn set_deadline_after(&mut self, timeout: Duration) {
        self.deadline = deadline_after(timeout);
    }

    /// The capability of type `C`, when the runtime has it: for its host functions.
    pub fn capability<C: Capability>(&self) -> Option<Arc<C>> {
        self.shared.get::<C>()
    }

    /// The call scope of type `S` (see [`CallScope`]), created on first use in this call.
    pub fn call_scope<S: CallScope>(
        &mut self,
        create: impl FnOnce(ScopeContext<'_>) -> S,
    ) -> &mut S {
        let context = ScopeContext {
            shared: &self.shared,
            plugin: &self.plugin,
            deadline: self.deadline,
        };
        self.scopes.get_or_insert_with(|| create(context))
    }

    /// The call scope of type `S`, as [`Self::call_scope`] gives it, with the resource table:
    /// for interfaces whose state borrows both.
    pub fn call_scope_and_table<S: CallScope>(
        &mut self,
        create: impl FnOnce(ScopeContext<'_>) -> S,
    ) -> (&mut S, &mut ResourceTable) {
        let context = ScopeContext {
            shared: &self.shared,
            plugin: &self.plugin,
            deadline: self.deadline,
        };
        let scope = self.scopes.get_or_insert_with(|| create(context));
        (scope, &mut self.table)
    }

    /// Ends every call scope: what the call left open is released before the next call.
    pub(crate) async fn end_call(&mut self) {
        // Most calls open no scope: no future to poll for them.
        if !self.scopes.is_empty() {
            self.scopes.end_call().await;
        }
    }

    /// What the plugin is granted through WASI: host interfaces that read or write the
    /// plugin's files resolve its paths with it.
    pub fn wasi_grants(&self) -> &WasiGrants {
        &self.grants
    }

    /// The name of the plugin this store runs (for host functions that need the caller).
    pub fn plugin_name(&self) -> &str {
        &self.plugin
    }

    /// The resource table, for host interfaces that hand out resources.
    pub fn table(&mut self) -> &mut ResourceTable {
        &mut self.table
    }

    pub(crate) fn limiter(&mut self) -> &mut dyn ResourceLimiter {
        &mut self.limits
    }

    /// Logs and clears what the plugin wrote to stdout and stderr; returns the stderr text.
    pub(crate) fn flush_output(&self) -> String {
        match &self.wasi {
            Some(wasi) => {
                log_captured(&self.plugin, "stdout", &wasi.stdout);
                log_captured(&self.plugin, "stderr", &wasi.stderr)
            }
            None => String::new(),
        }
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        let cap = self.output_cap;
        let wasi = self.wasi.get_or_insert_with(|| {
            let (stdout, stderr) = (CapturedOutput::new(cap), CapturedOutput::new(cap));
            let ctx = self.grants.context(&self.plugin, &stdout, &stderr);
            Wasi {
                ctx,
                stdout,
                stderr,
            }
        });
        WasiCtxView {
            ctx: &mut wasi.ctx,
            table: &mut self.table,
        }
    }
}

/// One host capability (see [`capabilities`](crate::capabilities) for its lifecycle).
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
