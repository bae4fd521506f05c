//! The loader stage: from plugin files to validated [`Plugin`]s.
//!
//! 0. check sha256 pins and ed25519 signatures, before anything is compiled ([`integrity`]);
//! 1. compile every file in parallel ([`compile`]);
//! 2. check the component exports `plugins-manager:common/plugin-common` and link its imports
//!    ([`imports`]);
//! 3. instantiate each and call `get-manifest` under a deadline, all plugins concurrently;
//! 4. validate the manifest ([`manifest`](crate::plugin::manifest)) and every export it
//!    names ([`signature`](crate::plugin::signature)).
//!
//! Every file that fails a step becomes a [`Rejection`] naming the file, the plugin when
//! known, and the reason; the others load. One bad file never stops the rest.

pub mod compile;
pub mod imports;
pub mod inspect;
pub mod integrity;
mod rejection;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use wasmtime::component::types::ComponentItem;
use wasmtime::component::{Component, ComponentExportIndex, InstancePre};

use plugmill_precompiled::{Outcome, PrecompiledCache};

pub(crate) use rejection::Problem;
pub use rejection::{LoadWarning, Rejection, RejectionCode};

use crate::grants::{Merge, PluginGrants};
use crate::host::state::names_interface;
use crate::host::{Admission, DeadlineExceeded, HostState, WasiGrants};
use crate::plugin::manifest::{self, Manifest};
use crate::plugin::{signature, ExportedFunc, FastMap, Plugin, PluginSummary};
use crate::runtime::instances::{InstanceStock, WarmInstances, DEFAULT_INSTANCE_STOCK};
use crate::runtime::Runtime;
use crate::source::{FetchLimits, PluginArtifact, Skipped, SourceError};

/// The interface every plugin exports.
pub const PLUGIN_COMMON: &str = "plugins-manager:common/plugin-common";

/// What to do with imports no host interface provides.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum UnknownImports {
    /// Reject the plugin, listing the imports (the default).
    #[default]
    Reject,
    /// Link them as functions that trap when called, for plugins that use them only on
    /// some paths.
    Trap,
}

/// Per-plugin settings from host configuration.
#[derive(Clone, Debug, Default)]
pub struct PluginSettings {
    /// Deadline of one call, instead of the runtime's default.
    pub timeout: Option<Duration>,
    /// Deadlines of single functions (hooks, handlers, tasks).
    pub function_timeouts: HashMap<String, Duration>,
    /// Keep up to this many warm instances instead of a fresh instance per call.
    pub warm_instances: Option<usize>,
    /// Ready instances its stock keeps, in fresh mode (default [`DEFAULT_INSTANCE_STOCK`]; 0
    /// makes each call instantiate and tear down its own).
    pub instance_stock: Option<usize>,
    /// Instruction budget of one call, when fuel is metered.
    pub fuel: Option<u64>,
    /// What the plugin may reach through WASI.
    pub wasi: WasiGrants,
    /// Host interfaces (beyond WASI) the plugin may import, e.g.
    /// `plugins-manager:transactions-manager/transaction`; a name without `@version` grants
    /// every version.
    pub imports: Vec<String>,
}

impl PluginSettings {
    /// Settings that would overflow or size memory beyond reason, one message each.
    pub(crate) fn problems(&self) -> Vec<String> {
        use crate::config::values::{check_count, check_duration};
        let mut problems = Vec::new();
        let timeouts = self
            .timeout
            .iter()
            .map(|t| ("call_timeout".to_string(), *t));
        let functions = (self.function_timeouts.iter()).map(|(f, t)| (format!("timeouts.{f}"), *t));
        for (name, timeout) in timeouts.chain(functions) {
            if let Err(problem) = check_duration(timeout) {
                problems.push(format!("{name}: {problem}"));
            }
        }
        let counts = [
            (
                "warm_instances",
                self.warm_instances,
                crate::runtime::bounds::MAX_WARM_INSTANCES,
            ),
            (
                "instance_stock",
                self.instance_stock,
                crate::runtime::bounds::MAX_INSTANCE_STOCK,
            ),
        ];
        for (name, count, max) in counts {
            if let Some(count) = count {
                if let Err(problem) = check_count(name, count as u64, max as u64) {
                    problems.push(problem.into());
                }
            }
        }
        problems
    }
}

impl Merge for PluginSettings {
    fn merge(&mut self, own: &Self) {
        self.timeout.merge(&own.timeout);
        self.function_timeouts.extend(own.function_timeouts.clone());
        self.warm_instances.merge(&own.warm_instances);
        self.instance_stock.merge(&own.instance_stock);
        self.fuel.merge(&own.fuel);
        self.wasi.merge_grants(&own.wasi);
        self.imports.merge(&own.imports);
    }
}

/// How plugins are loaded.
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// Turn any rejection into a load error.
    pub strict: bool,
    /// What to do with imports no host interface provides.
    pub unknown_imports: UnknownImports,
    /// Settings and grants by plugin name (`*` for every plugin).
    pub settings: PluginGrants<PluginSettings>,
    /// Pins and trusted signing keys.
    pub trust: integrity::TrustPolicy,
    /// Where compiled plugins are kept between starts, if anywhere.
    pub cache: Option<PrecompiledCache>,
    /// How much of each file a source may read.
    pub limits: FetchLimits,
}

/// The outcome of a load or reload: what is registered now, what was rejected, what the
/// source skipped, how the registry changed and how code was compiled.
#[derive(Clone, Debug, Default, Serialize)]
pub struct LoadReport {
    /// Plugins now registered.
    pub loaded: Vec<PluginSummary>,
    /// Plugin files that were not loaded, with the reason.
    pub rejected: Vec<Rejection>,
    /// Registered plugins that loaded with a caveat (a capability imported but granted
    /// nothing, say).
    pub warnings: Vec<LoadWarning>,
    /// Source entries that are not plugin files.
    pub skipped: Vec<Skipped>,
    /// Plugin files that could not be read (a failed download, a permission error); each
    /// is also in `rejected`. A watch retries them at every poll.
    pub unreadable: Vec<Skipped>,
    /// How the registry changed from the one it replaced.
    pub changes: Changes,
    /// How compiled code was obtained.
    pub cache: CacheReport,
}

/// How a new registry differs from the one it replaced, by plugin name.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Changes {
    /// Plugins that were not registered before.
    pub added: Vec<String>,
    /// Plugins registered before, now in a new version.
    pub updated: Vec<String>,
    /// Plugins no longer registered.
    pub removed: Vec<String>,
    /// Plugins whose file did not change.
    pub unchanged: Vec<String>,
    /// Plugins whose new version was rejected: the previous version keeps serving. Each
    /// rejection is also in [`LoadReport::rejected`].
    pub kept: Vec<Rejection>,
}

impl Changes {
    /// Whether the registry changed at all.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.updated.is_empty() && self.removed.is_empty()
    }
}

/// A load that did not produce a registry.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// The source could not be read at all.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// Strict mode and at least one plugin was rejected.
    #[error("strict mode: {} plugin file(s) rejected: {}", rejected.len(), rejected.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Strict {
        /// Every rejection.
        rejected: Vec<Rejection>,
    },
}

/// A compiled, linked component whose manifest has not been read yet.
struct Linked {
    file: String,
    sha256: [u8; 32],
    component: Component,
    /// Linked with every host interface: what calls use once the plugin is accepted.
    pre: InstancePre<HostState>,
    /// Linked with WASI only, everything else trapping: what `get-manifest` runs on, so a
    /// plugin touches no capability before its grants are checked.
    manifest_pre: InstancePre<HostState>,
    /// Host interfaces (beyond WASI) the component imports and the host provides.
    capabilities: Vec<String>,
    get_manifest: ComponentExportIndex,
}

/// What a load produced.
pub(crate) struct Loaded {
    /// The plugins, in file order: newly loaded ones and unchanged ones reused from the
    /// previous registry.
    pub(crate) plugins: Vec<Arc<Plugin>>,
    /// Files that were not loaded.
    pub(crate) rejected: Vec<Rejection>,
    /// How files were compiled.
    pub(crate) cache: CacheReport,
}

/// How a load obtained compiled code.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CacheReport {
    /// Files loaded from the precompiled cache.
    pub hits: usize,
    /// Files compiled: without a cache, without an entry yet, or with an unusable entry.
    pub compiled: usize,
    /// Files unchanged since the previous load, whose plugin was kept as it was.
    pub reused: usize,
    /// Cache entries discarded (corrupt, truncated, mismatched) or not written, and why.
    pub problems: Vec<CacheProblem>,
}

/// A cache entry that could not be used or stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CacheProblem {
    /// The plugin file.
    pub file: String,
    /// What was wrong.
    pub reason: String,
}

/// A trusted file and the sha256 of its bytes.
struct Hashed {
    artifact: PluginArtifact,
    sha256: [u8; 32],
}

/// Loads every artifact, reusing each plugin of `previous` whose file is unchanged (same
/// name, same sha256).
pub(crate) async fn load(
    runtime: &Arc<Runtime>,
    artifacts: Vec<PluginArtifact>,
    options: &Arc<LoadOptions>,
    previous: &[Arc<Plugin>],
) -> Loaded {
    let mut rejected = Vec::new();
    let mut trusted = Vec::with_capacity(artifacts.len());
    let mut signatures = std::collections::HashMap::new();
    for artifact in artifacts {
        // A source of the embedder's may not respect the limit: checked again here.
        let max = options.limits.max_plugin_size;
        if artifact.bytes.len() as u64 > max {
            let problem = Problem::new(
                RejectionCode::TooLarge,
                format!(
                    "it is {} bytes, more than the {max} bytes allowed ([loading] max_plugin_size)",
                    artifact.bytes.len()
                ),
            );
            rejected.push(Rejection::new(artifact.file, None, problem));
            continue;
        }
        match options.trust.verify(&artifact) {
            Ok(()) => {
                signatures.insert(
                    artifact.file.clone(),
                    options.trust.signature_state(&artifact),
                );
                trusted.push(artifact)
            }
            Err(problem) => rejected.push(Rejection::new(artifact.file, None, problem)),
        }
    }
    let hashed = hash_in_background(trusted, &mut rejected).await;
    let mut plugins = Vec::new();
    let mut fresh = Vec::with_capacity(hashed.len());
    for file in hashed {
        let unchanged = previous
            .iter()
            .find(|p| p.file == file.artifact.file && p.sha256 == file.sha256);
        match unchanged {
            Some(plugin) => plugins.push(plugin.clone()),
            None => fresh.push(file),
        }
    }
    let mut cache = CacheReport {
        reused: plugins.len(),
        ..CacheReport::default()
    };
    let compiled = compile_in_background(runtime, options, fresh).await;

    let mut linked = Vec::new();
    for (file, sha256, compiled) in compiled {
        match compiled.cache {
            Some(Outcome::Hit) => cache.hits += 1,
            Some(Outcome::Rebuilt { reason } | Outcome::NotStored { reason }) => {
                cache.compiled += 1;
                tracing::warn!(%file, %reason, "precompiled cache");
                cache.problems.push(CacheProblem {
                    file: file.clone(),
                    reason,
                });
            }
            Some(Outcome::Compiled) | None => cache.compiled += 1,
        }
        let outcome = compiled
            .component
            .and_then(|component| link(runtime, file.clone(), sha256, component, options));
        match outcome {
            Ok(l) => linked.push(l),
            Err(problem) => rejected.push(Rejection::new(file, None, problem)),
        }
    }

    // Each plugin's manifest is read and checked on a task of its own: a failure of the
    // host there (a panic in a capability, say) is that plugin's rejection, never a plugin
    // that silently disappears.
    let checked = futures::future::join_all(linked.into_iter().map(|l| {
        let (runtime, options) = (runtime.clone(), options.clone());
        let file = l.file.clone();
        async move {
            let handle =
                tokio::spawn(async move { read_and_validate(&runtime, l, &options).await });
            handle.await.map_err(|error| (file, error))
        }
    }))
    .await;
    for outcome in checked {
        match outcome {
            Ok(Ok(mut plugin)) => {
                plugin.signature_state = signatures.remove(&plugin.file).unwrap_or_default();
                plugins.push(Arc::new(plugin))
            }
            Ok(Err(rejection)) => rejected.push(rejection),
            Err((file, error)) => {
                tracing::error!(%file, %error, "loading a plugin failed in the host");
                let problem = Problem::new(
                    RejectionCode::LoadFailed,
                    format!("loading failed in the host: {error}"),
                );
                rejected.push(Rejection::new(file, None, problem));
            }
        }
    }
    plugins.sort_by(|a, b| a.file.cmp(&b.file));
    Loaded {
        plugins,
        rejected,
        cache,
    }
}

/// Hashes every file off the async threads; a file whose hashing failed is rejected.
async fn hash_in_background(
    artifacts: Vec<PluginArtifact>,
    rejected: &mut Vec<Rejection>,
) -> Vec<Hashed> {
    let files: Vec<String> = artifacts.iter().map(|a| a.file.clone()).collect();
    let hashed = tokio::task::spawn_blocking(move || {
        use rayon::prelude::*;
        artifacts
            .into_par_iter()
            .map(|artifact| {
                let sha256 = compile::sha256(&artifact.bytes);
                Hashed { artifact, sha256 }
            })
            .collect::<Vec<_>>()
    })
    .await;
    hashed.unwrap_or_else(|error| {
        rejected.extend(files.into_iter().map(|file| {
            let problem = Problem::new(
                RejectionCode::LoadFailed,
                format!("hashing did not finish: {error}"),
            );
            Rejection::new(file, None, problem)
        }));
        Vec::new()
    })
}

async fn compile_in_background(
    runtime: &Arc<Runtime>,
    options: &LoadOptions,
    files: Vec<Hashed>,
) -> Vec<(String, [u8; 32], compile::Compiled)> {
    let engine = runtime.engine().clone();
    let cache = options.cache.clone();
    let names: Vec<(String, [u8; 32])> = files
        .iter()
        .map(|f| (f.artifact.file.clone(), f.sha256))
        .collect();
    let compiled = tokio::task::spawn_blocking(move || {
        compile::compile_all(&engine, cache.as_ref(), &files, |f| {
            (&f.artifact.bytes, &f.sha256)
        })
    })
    .await;
    match compiled {
        Ok(results) => names
            .into_iter()
            .zip(results)
            .map(|((file, sha256), compiled)| (file, sha256, compiled))
            .collect(),
        Err(error) => {
            let problem = Problem::new(
                RejectionCode::LoadFailed,
                format!("compilation did not finish: {error}"),
            );
            names
                .into_iter()
                .map(|(file, sha256)| {
                    let failed = compile::Compiled {
                        component: Err(problem.clone()),
                        cache: None,
                    };
                    (file, sha256, failed)
                })
                .collect()
        }
    }
}

fn link(
    runtime: &Runtime,
    file: String,
    sha256: [u8; 32],
    component: Component,
    options: &LoadOptions,
) -> Result<Linked, Problem> {
    let get_manifest = component
        .get_export_index(None, PLUGIN_COMMON)
        .and_then(|common| component.get_export_index(Some(&common), "get-manifest"))
        .ok_or_else(|| {
            Problem::new(
                RejectionCode::NotAPlugin,
                format!("not a plugin: the component does not export `{PLUGIN_COMMON}` with `get-manifest` (see wit/common/plugin.wit)"),
            )
        })?;
    let (missing, with_traps) =
        imports::missing_imports(runtime.engine(), runtime.linker(), &component);
    if !missing.is_empty() && options.unknown_imports == UnknownImports::Reject {
        return Err(Problem::new(
            RejectionCode::MissingImport,
            imports::describe_missing(&missing),
        ));
    }
    let link_failed = |e: wasmtime::Error| {
        Problem::new(
            RejectionCode::LinkFailed,
            format!("cannot be linked: {e:#}"),
        )
    };
    let pre = with_traps.map_err(link_failed)?;
    let (beyond_wasi, wasi_only) =
        imports::missing_imports(runtime.engine(), runtime.wasi_linker(), &component);
    let manifest_pre = wasi_only.map_err(link_failed)?;
    let capabilities = beyond_wasi
        .into_iter()
        .map(|import| import.name)
        .filter(|name| !missing.iter().any(|m| &m.name == name))
        .collect();
    Ok(Linked {
        file,
        sha256,
        component,
        pre,
        manifest_pre,
        capabilities,
        get_manifest,
    })
}

/// Reads the manifest of a linked plugin and validates it and its imports.
async fn read_and_validate(
    runtime: &Runtime,
    linked: Linked,
    options: &LoadOptions,
) -> Result<Plugin, Rejection> {
    let manifest = match read_manifest(runtime, &linked).await {
        Ok(manifest) => manifest,
        Err(problem) => return Err(Rejection::new(linked.file, None, problem)),
    };
    let (name, file) = (manifest.plugin_name.clone(), linked.file.clone());
    validate(runtime, linked, manifest, options)
        .map_err(|problem| Rejection::new(file, Some(name), problem))
}

async fn read_manifest(runtime: &Runtime, linked: &Linked) -> Result<Manifest, Problem> {
    let timeout = runtime.options().manifest_timeout;
    let label: Arc<str> = Arc::from(format!("(loading {})", linked.file));
    let mut store = runtime.new_store(&label, timeout);
    let explain = |stage: &str, error: wasmtime::Error| {
        if error.downcast_ref::<DeadlineExceeded>().is_some() {
            Problem::new(
                RejectionCode::ManifestTimeout,
                format!("{stage} did not finish within {timeout:?} (deadline exceeded)"),
            )
        } else {
            Problem::new(
                RejectionCode::ManifestFailed,
                format!("{stage} failed: {error:#}"),
            )
        }
    };
    let outcome = async {
        let instance = linked
            .manifest_pre
            .instantiate_async(&mut store)
            .await
            .map_err(|e| explain("instantiation", e))?;
        let func = instance
            .get_func(&mut store, linked.get_manifest)
            .ok_or_else(|| Problem::new(RejectionCode::NotAPlugin, "`get-manifest` is not a function"))?;
        let typed = func.typed::<(), (Manifest,)>(&store).map_err(|e| {
            Problem::new(RejectionCode::NotAPlugin, format!(
                "`get-manifest` has signature `{}`, not `func() -> manifest` of wit/common/plugin.wit: {e:#}",
                signature::describe_func(&func.ty(&store))
            ))
        })?;
        let (manifest,) = typed
            .call_async(&mut store, ())
            .await
            .map_err(|e| explain("`get-manifest`", e))?;
        Ok(manifest)
    }
    .await;
    store.data().flush_output();
    outcome
}

/// How the host answers each capability import of `plugin`: the problems that refuse it and
/// the warnings it loads with. An import is admitted when the plugin's `imports` grant
/// covers it, else by the capability providing it; an embedder's interface needs a grant.
fn admit_imports(
    runtime: &Runtime,
    plugin: &str,
    imports: &[String],
    granted: &[String],
) -> (Vec<Problem>, Vec<String>) {
    let mut ungranted = Vec::new();
    let mut problems = Vec::new();
    let mut warnings = Vec::new();
    for import in imports {
        if granted.iter().any(|grant| names_interface(grant, import)) {
            continue;
        }
        match runtime.shared().provider_of(import) {
            Some(capability) => match capability.admit(plugin, import) {
                Admission::Admitted => {}
                Admission::Warn(warning) => warnings.push(warning),
                Admission::Refused(reason) => {
                    problems.push(Problem::new(RejectionCode::NotGranted, reason))
                }
            },
            None => ungranted.push(format!("`{import}`")),
        }
    }
    if !ungranted.is_empty() {
        problems.push(Problem::new(
            RejectionCode::NotGranted,
            format!(
                "imports {} without a grant: host configuration must grant it (`imports` under [plugins.{plugin}])",
                ungranted.join(", "),
            ),
        ));
    }
    warnings.dedup();
    (problems, warnings)
}

fn validate(
    runtime: &Runtime,
    linked: Linked,
    manifest: Manifest,
    options: &LoadOptions,
) -> Result<Plugin, Problem> {
    let mut problems: Vec<Problem> = manifest::check_manifest(&manifest)
        .into_iter()
        .map(|message| Problem::new(RejectionCode::InvalidManifest, message))
        .collect();
    let (functions, export_problems) = check_exports(runtime, &linked.component, &manifest);
    problems.extend(export_problems);
    let settings = options.settings.resolve(&manifest.plugin_name);
    let (refused, warnings) = admit_imports(
        runtime,
        &manifest.plugin_name,
        &linked.capabilities,
        &settings.imports,
    );
    problems.extend(refused);
    if let Some(problem) = Problem::joined(problems) {
        return Err(problem);
    }
    for warning in &warnings {
        tracing::warn!(file = %linked.file, plugin = %manifest.plugin_name, "{warning}");
    }
    let name: Arc<str> = Arc::from(manifest.plugin_name.as_str());
    let timeout = settings.timeout.unwrap_or(runtime.options().call_timeout);
    let grants = Arc::new(settings.wasi);
    let warm = settings
        .warm_instances
        .filter(|n| *n > 0)
        .map(WarmInstances::new);
    let stock_size = (settings.instance_stock).unwrap_or(DEFAULT_INSTANCE_STOCK);
    let stock = (warm.is_none() && stock_size > 0).then(|| {
        Arc::new(InstanceStock::new(
            stock_size,
            runtime.stock_budget().clone(),
            linked.pre.clone(),
            name.clone(),
            grants.clone(),
            settings.fuel,
            timeout,
        ))
    });
    Ok(Plugin {
        name,
        file: linked.file,
        sha256: linked.sha256,
        manifest,
        pre: linked.pre,
        functions,
        timeout,
        function_timeouts: settings.function_timeouts,
        fuel: settings.fuel,
        capabilities: linked.capabilities,
        signature_state: Default::default(),
        grants,
        stats: Default::default(),
        warnings,
        warm,
        stock,
    })
}

/// Checks that every hook, route handler and task the manifest names is an exported function
/// plugmill can call; returns the callable ones and the problems found.
fn check_exports(
    runtime: &Runtime,
    component: &Component,
    manifest: &Manifest,
) -> (FastMap<String, ExportedFunc>, Vec<Problem>) {
    let missing = |message: String| Problem::new(RejectionCode::MissingExport, message);
    let mut problems = Vec::new();
    let ty = component.component_type();
    let mut functions = FastMap::default();
    let handlers = manifest
        .hooks
        .iter()
        .map(|h| ("hook", h.as_str()))
        .chain(
            manifest
                .routes
                .iter()
                .map(|r| ("route handler", r.handler.as_str())),
        )
        .chain(manifest.tasks.iter().map(|t| ("task", t.as_str())));
    for (kind, name) in handlers {
        let shown = manifest::shown(name);
        let func = match ty.get_export(runtime.engine(), name).map(|e| e.ty) {
            Some(ComponentItem::ComponentFunc(func)) => func,
            Some(_) => {
                problems.push(missing(format!(
                    "{kind} `{shown}` is exported, but not as a function"
                )));
                continue;
            }
            None => {
                problems.push(missing(format!(
                    "{kind} `{shown}` is named in the manifest but not exported by the component"
                )));
                continue;
            }
        };
        let problem = if kind == "hook" {
            signature::hook_problem(&func)
        } else {
            signature::handler_problem(&func)
        };
        if let Some(problem) = problem {
            problems.push(Problem::new(
                RejectionCode::UnsupportedSignature,
                format!("{kind} `{shown}` cannot be called: {problem}"),
            ));
            continue;
        }
        match component.get_export_index(None, name) {
            Some(index) => {
                functions.insert(name.to_string(), ExportedFunc { index, ty: func });
            }
            None => problems.push(missing(format!("{kind} `{shown}` has no export index"))),
        }
    }
    (functions, problems)
}
