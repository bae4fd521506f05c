//! [`Plugin`]: one loaded, validated plugin, ready to be called: its manifest, its
//! pre-instantiated component and the exports its manifest names.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use wasmtime::component::types::ComponentFunc;
use wasmtime::component::{ComponentExportIndex, InstancePre};

use crate::dispatch::observe::InstanceSource;
use crate::loader::manifest::{Manifest, Route};
use crate::runtime::sandbox::WasiGrants;
use crate::runtime::stock::InstanceStock;
use crate::runtime::warm::WarmPool;
use crate::runtime::HostState;

/// A function the plugin exports and its manifest names (hook, route handler or task).
#[derive(Clone)]
pub(crate) struct ExportedFunc {
    pub(crate) index: ComponentExportIndex,
    pub(crate) ty: ComponentFunc,
}

/// One loaded plugin.
pub struct Plugin {
    pub(crate) name: Arc<str>,
    pub(crate) file: String,
    pub(crate) sha256: [u8; 32],
    pub(crate) manifest: Manifest,
    pub(crate) pre: InstancePre<HostState>,
    pub(crate) functions: crate::registry::FastMap<String, ExportedFunc>,
    pub(crate) timeout: Duration,
    pub(crate) function_timeouts: HashMap<String, Duration>,
    pub(crate) fuel: Option<u64>,
    pub(crate) grants: Arc<WasiGrants>,
    pub(crate) warm: Option<WarmPool>,
    /// Never-used instances made ahead of calls, in the fresh-instance mode.
    pub(crate) stock: Option<Arc<InstanceStock>>,
    pub(crate) stats: PluginStats,
    /// Caveats found at load (a capability imported but granted nothing, say).
    pub(crate) warnings: Vec<String>,
}

/// Counters of one plugin's calls.
#[derive(Debug, Default)]
pub struct PluginStats {
    calls: AtomicU64,
    failures: AtomicU64,
    fuel_used: AtomicU64,
    last_fuel_used: AtomicU64,
    from_stock: AtomicU64,
    instantiated: AtomicU64,
}

impl PluginStats {
    pub(crate) fn record(&self, ok: bool, fuel_used: Option<u64>) {
        self.calls.fetch_add(1, Ordering::Relaxed);
        if !ok {
            self.failures.fetch_add(1, Ordering::Relaxed);
        }
        if let Some(fuel) = fuel_used {
            self.fuel_used.fetch_add(fuel, Ordering::Relaxed);
            self.last_fuel_used.store(fuel, Ordering::Relaxed);
        }
    }

    pub(crate) fn record_instance(&self, source: InstanceSource) {
        let counter = match source {
            InstanceSource::Stock => &self.from_stock,
            InstanceSource::Instantiated => &self.instantiated,
            InstanceSource::Warm => return,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Calls made.
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    /// Calls that failed.
    pub fn failures(&self) -> u64 {
        self.failures.load(Ordering::Relaxed)
    }

    /// Fuel used by all calls, when fuel is metered.
    pub fn fuel_used(&self) -> u64 {
        self.fuel_used.load(Ordering::Relaxed)
    }

    /// Fuel used by the call that finished last, when fuel is metered.
    pub fn last_fuel_used(&self) -> u64 {
        self.last_fuel_used.load(Ordering::Relaxed)
    }

    /// Calls that took a never-used instance from the plugin's stock.
    pub fn instances_from_stock(&self) -> u64 {
        self.from_stock.load(Ordering::Relaxed)
    }

    /// Calls that made their instance on their own path, instantiation failures included:
    /// with a stock, the calls that found it empty; with warm instances, those that found
    /// none free. Calls that reused a warm instance are the rest.
    pub fn instances_made_on_call(&self) -> u64 {
        self.instantiated.load(Ordering::Relaxed)
    }
}

impl Plugin {
    /// The plugin's name, from its manifest.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Where the plugin was loaded from.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// The sha256 of the plugin file, as hex.
    pub fn sha256(&self) -> String {
        hex::encode(self.sha256)
    }

    /// The manifest the plugin returned from `get-manifest`.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The deadline of one call to this plugin.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The deadline of one call to `function`: its own, else the plugin's.
    pub fn timeout_for(&self, function: &str) -> Duration {
        self.function_timeouts
            .get(function)
            .copied()
            .unwrap_or(self.timeout)
    }

    /// Call counters, including fuel used when fuel is metered.
    pub fn stats(&self) -> &PluginStats {
        &self.stats
    }

    /// What the load found worth a warning about this plugin.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Whether calls reuse warm instances instead of a fresh instance each.
    pub fn is_warm(&self) -> bool {
        self.warm.is_some()
    }

    /// How many warm instances are idle, for a plugin in warm-instance mode.
    pub fn idle_warm_instances(&self) -> Option<usize> {
        self.warm.as_ref().map(WarmPool::idle)
    }

    /// How many never-used instances are ready for calls, for a plugin in the fresh-instance
    /// mode with a stock (none until the plugin's first call).
    pub fn stocked_instances(&self) -> Option<usize> {
        self.stock.as_deref().map(InstanceStock::ready)
    }

    /// Whether `function` (an export the manifest names) returns one `result<...>`: its
    /// `err` is then what the plugin says went wrong.
    pub fn returns_result(&self, function: &str) -> bool {
        self.functions.get(function).is_some_and(|f| {
            let mut results = f.ty.results();
            matches!(
                (results.next(), results.next()),
                (Some(wasmtime::component::Type::Result(_)), None)
            )
        })
    }

    /// The signature of an export the manifest names, as WIT text.
    pub fn signature(&self, function: &str) -> Option<String> {
        self.functions
            .get(function)
            .map(|f| crate::loader::signature::describe_func(&f.ty))
    }

    /// A serializable summary, as `plugmill list` prints it.
    pub fn summary(&self) -> PluginSummary {
        PluginSummary {
            name: self.name.to_string(),
            file: self.file.clone(),
            sha256: self.sha256(),
            hooks: self.manifest.hooks.clone(),
            routes: self.manifest.routes.clone(),
            tasks: self.manifest.tasks.clone(),
        }
    }
}

/// What `plugmill list` shows of one plugin.
#[derive(Clone, Debug, Serialize)]
pub struct PluginSummary {
    /// The plugin's name.
    pub name: String,
    /// Where it was loaded from.
    pub file: String,
    /// The sha256 of its file, as hex.
    pub sha256: String,
    /// The hooks it answers.
    pub hooks: Vec<String>,
    /// The routes it serves.
    pub routes: Vec<Route>,
    /// The tasks it runs.
    pub tasks: Vec<String>,
}
