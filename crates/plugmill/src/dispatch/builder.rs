//! [`ManagerBuilder`]: configures the runtime and the loader, then builds a
//! [`PluginManager`]. `new()` holds the secure defaults: WASI denied, a deadline on every call,
//! capped memory, unknown imports rejected, a fresh instance per call.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use plugmill_precompiled::PrecompiledCache;
use wasmtime::component::Linker;

use plugmill_precompiled::CacheError;

use super::PluginManager;
use crate::call::CallObserver;
use crate::capabilities::{self, Capability};
use crate::config::registry::SectionRegistry;
use crate::config::values::check_count;
use crate::config::{ConfigError, ConfigSections, HostConfig, PluginConfig, UnknownImportsConfig};
use crate::grants::{Merge as _, EVERY_PLUGIN};
use crate::host::{DirGrant, HostState, WasiGrants};
use crate::loader::integrity::{read_key_file, KeyError};
use crate::loader::{LoadOptions, PluginSettings, UnknownImports};
use crate::runtime::{bounds, Allocation, LinkerExtension, Runtime, RuntimeOptions};

/// The largest `max_plugin_size` accepted: 1 GiB.
const MAX_PLUGIN_SIZE: u64 = 1 << 30;

/// Cache entries not used for this long are deleted when a manager starts.
const CACHE_ENTRIES_UNUSED_FOR: Duration = Duration::from_secs(30 * 24 * 60 * 60);

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
pub struct ManagerBuilder {
    runtime: RuntimeOptions,
    load: LoadOptions,
    capabilities: Vec<Box<dyn Capability>>,
    extensions: Vec<LinkerExtension>,
    cache_dir: Option<PathBuf>,
    observer: Option<Arc<dyn CallObserver>>,
    sections: SectionRegistry,
}

/// Why [`ManagerBuilder::build`] could not build a manager.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// Settings that would overflow, size memory beyond reason or make no sense: one message
    /// per setting.
    #[error("unusable settings: {}", .0.join("; "))]
    Settings(Vec<String>),
    /// A capability refused its configuration (a grant of a database that does not exist).
    #[error(transparent)]
    Capability(#[from] ConfigError),
    /// The precompiled cache directory cannot be used.
    #[error(transparent)]
    Cache(#[from] CacheError),
    /// The engine, the linker or a host interface could not be set up.
    #[error(transparent)]
    Runtime(anyhow::Error),
}

impl PluginManager {
    /// A builder with the secure defaults.
    pub fn builder() -> ManagerBuilder {
        ManagerBuilder::new()
    }
}

impl Default for ManagerBuilder {
    fn default() -> Self {
        Self {
            runtime: RuntimeOptions::default(),
            load: LoadOptions::default(),
            capabilities: capabilities::standard(),
            extensions: Vec::new(),
            cache_dir: None,
            observer: None,
            sections: SectionRegistry::default(),
        }
    }
}

impl ManagerBuilder {
    /// The secure defaults, with the standard capabilities (see
    /// [`capabilities`](crate::capabilities)).
    pub fn new() -> Self {
        Self::default()
    }

    /// Reports every call, when it ends, to `observer` (for metrics).
    pub fn observer(mut self, observer: Arc<dyn CallObserver>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Adds a capability, replacing one of the same type. It is configured by
    /// [`Self::config`] like the standard ones.
    pub fn capability(mut self, capability: impl Capability) -> Self {
        let type_id = std::any::Any::type_id(&capability);
        self.capabilities
            .retain(|existing| std::any::Any::type_id(existing.as_ref()) != type_id);
        self.capabilities.push(Box::new(capability));
        self
    }

    /// Configures the capability of type `C` in code with `configure`, e.g.
    /// `.with_capability(|databases: &mut Databases| databases.insert("hasura", spec))`; it
    /// is added with its default configuration if the builder has none.
    pub fn with_capability<C: Capability + Default>(
        mut self,
        configure: impl FnOnce(&mut C),
    ) -> Self {
        configure(self.capability_mut::<C>());
        self
    }

    /// The capability of type `C`, to configure it in code; added with its default
    /// configuration if the builder has none.
    pub fn capability_mut<C: Capability + Default>(&mut self) -> &mut C {
        let position = self
            .capabilities
            .iter()
            .position(|capability| (capability.as_ref() as &dyn std::any::Any).is::<C>());
        let index = match position {
            Some(index) => index,
            None => {
                self.capabilities.push(Box::new(C::default()));
                self.capabilities.len() - 1
            }
        };
        (self.capabilities[index].as_mut() as &mut dyn std::any::Any)
            .downcast_mut::<C>()
            .expect("the capability at this index has this type")
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

    /// Deadline of one function (hook, route handler or task) of one plugin.
    pub fn function_timeout(mut self, plugin: &str, function: &str, timeout: Duration) -> Self {
        self.settings(plugin)
            .function_timeouts
            .insert(function.to_string(), timeout);
        self
    }

    /// Meters fuel: every call gets this instruction budget and fails when it is used up;
    /// the fuel used is in [`Plugin::stats`](crate::Plugin::stats). Off by default.
    pub fn fuel(mut self, budget: u64) -> Self {
        self.runtime.fuel = Some(budget);
        self
    }

    /// A fuel budget for one plugin (takes effect when fuel is metered, see [`Self::fuel`]).
    pub fn plugin_fuel(mut self, plugin: &str, budget: u64) -> Self {
        self.settings(plugin).fuel = Some(budget);
        self
    }

    /// Grants `plugin` (or every plugin, with `*`) WASI access: directories, environment
    /// variables, outbound network. Nothing is granted by default.
    pub fn grant_wasi(mut self, plugin: &str, grants: WasiGrants) -> Self {
        self.settings(plugin).wasi.merge_grants(&grants);
        self
    }

    /// Grants `plugin` (or every plugin, with `*`) the import of a host interface beyond WASI,
    /// e.g. `plugins-manager:transactions-manager/transaction` or an embedder's interface. A
    /// plugin importing a provided interface it is not granted is rejected at load.
    pub fn grant_import(mut self, plugin: &str, interface: &str) -> Self {
        self.settings(plugin).imports.push(interface.to_string());
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

    /// Keep up to `instances` ready instances of `plugin` in its stock, made and torn down in
    /// the background once the plugin has been called (default
    /// [`DEFAULT_INSTANCE_STOCK`](crate::DEFAULT_INSTANCE_STOCK)); 0 makes each
    /// call instantiate and tear down its own instance. Calls still never share an instance.
    pub fn instance_stock(mut self, plugin: &str, instances: usize) -> Self {
        self.settings(plugin).instance_stock = Some(instances);
        self
    }

    /// An instance stock for every plugin without a setting of its own.
    pub fn instance_stock_for_all(mut self, instances: usize) -> Self {
        self.settings(EVERY_PLUGIN).instance_stock = Some(instances);
        self
    }

    /// Warm instances for every plugin without a setting of its own.
    pub fn warm_instances_for_all(mut self, instances: usize) -> Self {
        self.settings(EVERY_PLUGIN).warm_instances = Some(instances);
        self
    }

    /// Keeps compiled plugins in `dir` (created if needed), keyed by each file's sha256 and the
    /// engine's settings: a later start with the same files loads them instead of compiling.
    /// Damaged entries are detected, discarded and rebuilt (see `plugmill-precompiled`);
    /// entries unused for 30 days, and those of other engine versions, are deleted at start.
    pub fn cache_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cache_dir = Some(dir.into());
        self
    }

    /// Compiles every plugin, ignoring a cache directory set before (e.g. by configuration).
    pub fn without_cache(mut self) -> Self {
        self.cache_dir = None;
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
    pub fn trust_public_key(mut self, public_key: &str) -> Result<Self, KeyError> {
        self.load.trust.trust_key(public_key)?;
        Ok(self)
    }

    /// Pins the plugin file called `file_name` to a sha256 digest (hex): any other content is
    /// rejected before it is compiled.
    pub fn pin_sha256(mut self, file_name: &str, sha256_hex: &str) -> Result<Self, KeyError> {
        self.load.trust.pin(file_name, sha256_hex)?;
        Ok(self)
    }

    /// Accepts the top-level sections of `plugmill.toml` that a part above the core (a front
    /// end, an embedding service) reads itself, so that [`Self::config`] does not refuse them
    /// as unknown. Capabilities register theirs through
    /// [`Capability::config_sections`](crate::capabilities::Capability::config_sections).
    pub fn config_sections(mut self, sections: ConfigSections) -> Self {
        self.sections.register(sections);
        self
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

    /// Applies a host configuration (`plugmill.toml`): limits, loading, trust and per-plugin
    /// settings and grants. Environment variables are read, directories checked and network
    /// names resolved now, so a bad grant is an error here and not at the first call.
    pub fn config(mut self, config: &HostConfig) -> Result<Self, ConfigError> {
        let mut sections: Vec<&str> = self.sections.names().collect();
        let mut plugin_keys = Vec::new();
        for capability in &self.capabilities {
            sections.extend_from_slice(capability.config_sections());
            plugin_keys.extend_from_slice(capability.plugin_keys());
        }
        // A misspelled key is reported before anything it might have changed.
        config.check_keys(&sections, &plugin_keys)?;
        let limits = &config.limits;
        if let Some(timeout) = limits.call_timeout {
            self.runtime.call_timeout = timeout;
        }
        if let Some(timeout) = limits.manifest_timeout {
            self.runtime.manifest_timeout = timeout;
        }
        if let Some(mib) = limits.max_memory_mib {
            check_count(
                "[limits] max_memory_mib",
                mib as u64,
                (bounds::MAX_MEMORY_BYTES >> 20) as u64,
            )
            .map_err(|e| config.error(e))?;
            self.runtime.max_memory_bytes = mib << 20;
        }
        if let Some(kib) = limits.output_capture_kib {
            check_count(
                "[limits] output_capture_kib",
                kib as u64,
                (bounds::MAX_OUTPUT_CAPTURE_BYTES >> 10) as u64,
            )
            .map_err(|e| config.error(e))?;
            self.runtime.output_capture_bytes = kib << 10;
        }
        self.runtime.fuel = limits.fuel.or(self.runtime.fuel);
        let loading = &config.loading;
        self.load.strict |= loading.strict;
        if let Some(dir) = &loading.cache_dir {
            self.cache_dir = Some(dir.clone());
        }
        if loading.unknown_imports == UnknownImportsConfig::Trap {
            self.load.unknown_imports = UnknownImports::Trap;
        }
        if let Some(size) = loading.max_plugin_size {
            self.load.limits.max_plugin_size = size
                .within(1, MAX_PLUGIN_SIZE)
                .map_err(|e| config.error(format!("[loading] max_plugin_size: {e}")))?;
        }
        let trust = &config.trust;
        self.load.trust.require_signatures |= trust.require_signatures;
        for key in &trust.public_keys {
            self.load
                .trust
                .trust_key(key)
                .map_err(|e| config.error(format!("[trust] public_keys: {e}")))?;
        }
        for file in &trust.public_key_files {
            let key = read_key_file(file)
                .map_err(|e| config.error(format!("[trust] public_key_files: {e}")))?;
            self.load.trust.trust_key(&key).map_err(|e| {
                config.error(format!(
                    "[trust] public_key_files: `{}`: {e}",
                    file.display()
                ))
            })?;
        }
        for (file, digest) in &trust.pins {
            self.load
                .trust
                .pin(file, digest)
                .map_err(|e| config.error(format!("[trust] pins: {e}")))?;
        }
        for (name, plugin) in &config.plugins {
            let settings = plugin_settings(name, plugin)
                .map_err(|e| config.error(format!("[plugins.{name}] {e}")))?;
            self.settings(name).merge(&settings);
        }
        for capability in &mut self.capabilities {
            capability.configure(config)?;
        }
        Ok(self)
    }

    /// Builds the engine and the linker: checks every setting and every capability's
    /// configuration, then links WASI, the capabilities and the embedder's interfaces.
    pub fn build(mut self) -> Result<PluginManager, BuildError> {
        let mut problems = self.runtime.problems();
        for (plugin, settings) in self.load.settings.iter() {
            problems.extend(
                settings
                    .problems()
                    .into_iter()
                    .map(|problem| format!("[plugins.{plugin}] {problem}")),
            );
        }
        if let Err(problem) = check_count(
            "max_plugin_size",
            self.load.limits.max_plugin_size,
            MAX_PLUGIN_SIZE,
        ) {
            problems.push(problem.into());
        }
        if !problems.is_empty() {
            return Err(BuildError::Settings(problems));
        }
        for capability in &self.capabilities {
            capability.check()?;
        }
        self.runtime.meter_fuel |= self.load.settings.iter().any(|(_, s)| s.fuel.is_some());
        let runtime = Runtime::new(
            self.runtime,
            self.capabilities,
            &self.extensions,
            self.observer,
        )
        .map_err(BuildError::Runtime)?;
        let mut load = self.load;
        if let Some(dir) = &self.cache_dir {
            let cache = PrecompiledCache::open(dir, runtime.engine())?
                .with_max_entry_size(load.limits.max_plugin_size.saturating_mul(16));
            let pruned = cache.prune(CACHE_ENTRIES_UNUSED_FOR);
            if pruned > 0 {
                tracing::info!(pruned, dir = %dir.display(), "deleted precompiled entries unused for 30 days");
            }
            load.cache = Some(cache);
        }
        Ok(PluginManager::new(Arc::new(runtime), load))
    }

    /// The settings of `plugin`, or of every plugin for `*`.
    fn settings(&mut self, plugin: &str) -> &mut PluginSettings {
        self.load.settings.entry(plugin)
    }
}

/// Turns one `[plugins.NAME]` table into settings, resolving grants against the host.
fn plugin_settings(name: &str, plugin: &PluginConfig) -> Result<PluginSettings, String> {
    let counts = [
        (
            "warm_instances",
            plugin.warm_instances,
            bounds::MAX_WARM_INSTANCES,
        ),
        (
            "instance_stock",
            plugin.instance_stock,
            bounds::MAX_INSTANCE_STOCK,
        ),
    ];
    for (name, count, max) in counts {
        if let Some(count) = count {
            check_count(name, count as u64, max as u64)?;
        }
    }
    let mut wasi = WasiGrants::default();
    for variable in &plugin.env {
        match std::env::var(variable) {
            Ok(value) => wasi.env.push((variable.clone(), value)),
            Err(_) => tracing::warn!(
                plugin = name,
                variable,
                "a granted environment variable is not set on the host"
            ),
        }
    }
    for dir in &plugin.dirs {
        if !dir.host.is_dir() {
            return Err(format!(
                "dirs: `{}` is not a directory on the host",
                dir.host.display()
            ));
        }
        wasi.dirs.push(DirGrant {
            host: dir.host.clone(),
            guest: dir.guest.clone(),
            writable: dir.writable,
        });
    }
    for address in &plugin.network {
        let resolved = std::net::ToSocketAddrs::to_socket_addrs(address.as_str())
            .map_err(|e| format!("network: `{address}` is not a reachable host:port ({e})"))?;
        wasi.network.extend(resolved);
    }
    Ok(PluginSettings {
        timeout: plugin.call_timeout,
        function_timeouts: plugin
            .timeouts
            .iter()
            .map(|(f, d)| (f.clone(), d.0))
            .collect(),
        warm_instances: plugin.warm_instances,
        instance_stock: plugin.instance_stock,
        fuel: plugin.fuel,
        wasi,
        imports: plugin.imports.clone(),
    })
}
