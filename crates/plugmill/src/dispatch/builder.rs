//! [`ManagerBuilder`]: configures the runtime and the loader, then builds a
//! [`PluginManager`]. `new()` holds the secure defaults: WASI denied, a deadline on every call,
//! capped memory, unknown imports rejected, a fresh instance per call.

use std::sync::Arc;
use std::time::Duration;

use wasmtime::component::Linker;

use super::PluginManager;
use crate::loader::{LoadOptions, PluginSettings, UnknownImports};
use crate::runtime::{Allocation, HostState, LinkerExtension, Runtime, RuntimeOptions};

/// Builds a [`PluginManager`].
///
/// # Examples
///
/// ```no_run
/// use std::time::Duration;
/// use plugmill::PluginManager;
///
/// let manager = PluginManager::builder()
///     .call_timeout(Duration::from_secs(2))
///     .warm_instances("hot-plugin", 8)
///     .host_interfaces(|linker| {
///         linker
///             .instance("my:app/documents")?
///             .func_wrap("title", |_store, (id,): (u32,)| Ok((format!("document {id}"),)))?;
///         Ok(())
///     })
///     .build()?;
/// # anyhow::Ok(())
/// ```
#[derive(Default)]
pub struct ManagerBuilder {
    runtime: RuntimeOptions,
    load: LoadOptions,
    extensions: Vec<LinkerExtension>,
}

impl ManagerBuilder {
    /// The secure defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Replaces every runtime option at once.
    pub fn runtime_options(mut self, options: RuntimeOptions) -> Self {
        self.runtime = options;
        self
    }

    /// Deadline of every call (default 30 s).
    pub fn call_timeout(mut self, timeout: Duration) -> Self {
        self.runtime.call_timeout = timeout;
        self
    }

    /// Deadline of one plugin's calls, overriding [`Self::call_timeout`].
    pub fn plugin_timeout(mut self, plugin: &str, timeout: Duration) -> Self {
        self.settings(plugin).timeout = Some(timeout);
        self
    }

    /// Deadline for instantiating a plugin and reading its manifest (default 5 s).
    pub fn manifest_timeout(mut self, timeout: Duration) -> Self {
        self.runtime.manifest_timeout = timeout;
        self
    }

    /// Linear memory one instance may use, in bytes (default 256 MiB).
    pub fn max_memory_bytes(mut self, bytes: usize) -> Self {
        self.runtime.max_memory_bytes = bytes;
        self
    }

    /// How instance memory is allocated (default: pooling where available).
    pub fn allocation(mut self, allocation: Allocation) -> Self {
        self.runtime.allocation = allocation;
        self
    }

    /// Keep up to `instances` warm instances of `plugin` and reuse them across calls, instead
    /// of a fresh instance per call. State then carries over between calls of that plugin; an
    /// instance that trapped is never reused.
    pub fn warm_instances(mut self, plugin: &str, instances: usize) -> Self {
        self.settings(plugin).warm_instances = Some(instances);
        self
    }

    /// Warm instances for every plugin without a setting of its own.
    pub fn warm_instances_for_all(mut self, instances: usize) -> Self {
        self.load.defaults.warm_instances = Some(instances);
        self
    }

    /// Reject the whole load if any plugin is rejected (default: load the others).
    pub fn strict(mut self, strict: bool) -> Self {
        self.load.strict = strict;
        self
    }

    /// Link imports that no host interface provides as functions that trap when called,
    /// instead of rejecting the plugin.
    pub fn unknown_imports_trap(mut self, trap: bool) -> Self {
        self.load.unknown_imports = if trap {
            UnknownImports::Trap
        } else {
            UnknownImports::Reject
        };
        self
    }

    /// Rejects plugins without a valid signature from a trusted key (default: signatures are
    /// checked only when present and keys are configured).
    pub fn require_signatures(mut self, required: bool) -> Self {
        self.load.trust.require_signatures = required;
        self
    }

    /// Trusts signatures made with this ed25519 public key (base64).
    pub fn trust_public_key(mut self, public_key: &str) -> anyhow::Result<Self> {
        self.load
            .trust
            .trust_key(public_key)
            .map_err(anyhow::Error::msg)?;
        Ok(self)
    }

    /// Pins the plugin file called `file_name` to a sha256 digest (hex): any other content is
    /// rejected before it is compiled.
    pub fn pin_sha256(mut self, file_name: &str, sha256_hex: &str) -> anyhow::Result<Self> {
        self.load
            .trust
            .pin(file_name, sha256_hex)
            .map_err(anyhow::Error::msg)?;
        Ok(self)
    }

    /// Adds host interfaces of the embedding application to the linker. Host functions get the
    /// store, whose [`HostState::plugin_name`] names the calling plugin; shared application
    /// state is captured by the closures.
    pub fn host_interfaces(
        mut self,
        add: impl Fn(&mut Linker<HostState>) -> anyhow::Result<()> + Send + Sync + 'static,
    ) -> Self {
        self.extensions.push(Arc::new(add));
        self
    }

    /// Builds the engine and the linker.
    pub fn build(self) -> anyhow::Result<PluginManager> {
        let runtime = Runtime::new(self.runtime, &self.extensions)?;
        Ok(PluginManager::new(Arc::new(runtime), self.load))
    }

    fn settings(&mut self, plugin: &str) -> &mut PluginSettings {
        self.load.plugins.entry(plugin.to_string()).or_default()
    }
}
