//! [`Plugin`]: one loaded, validated plugin, ready to be called: its manifest, its
//! pre-instantiated component, the exports its manifest names and how its instances are
//! reused.
//!
//! - [`manifest`]: what a plugin declares ([`Manifest`]) and the rules a manifest follows.
//! - [`signature`]: export types as WIT text, and which exports can be called.
//! - [`check`]: dynamically typed arguments checked against an export's signature.
//! - [`invoke`]: the call path of one export: take an instance, call, end the call's scopes,
//!   report, retire or put back or tear down the instance.
//! - [`stats`]: [`PluginStats`], the counters of a plugin's calls.

pub mod check;
pub mod invoke;
pub mod manifest;
pub mod signature;
pub mod stats;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use wasmtime::component::types::ComponentFunc;
use wasmtime::component::{ComponentExportIndex, InstancePre};

use crate::call::CallError;
use crate::host::{HostState, WasiGrants};
use crate::runtime::instances::{InstanceStock, WarmInstances};
pub use manifest::{Manifest, Route};
pub use stats::PluginStats;

/// Maps looked up on every call: hashed with foldhash, which is several times cheaper than
/// the default SipHash for short keys (names come from host configuration and plugin
/// manifests, which are trusted not to collide on purpose).
pub(crate) type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

/// A function the plugin exports and its manifest names (hook, route handler or task).
#[derive(Clone)]
pub(crate) struct ExportedFunc {
    pub(crate) index: ComponentExportIndex,
    pub(crate) ty: ComponentFunc,
}

/// What the loader found of a loaded plugin's signature.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SignatureState {
    /// Its `.sig` verified against a trusted key.
    Verified,
    /// It has a `.sig`, but no key is trusted, so it was not checked.
    Unchecked,
    /// It has no `.sig` (signatures are not required).
    #[default]
    Unsigned,
}

impl SignatureState {
    /// As shown: `verified`, `unchecked`, `unsigned`.
    pub fn as_str(self) -> &'static str {
        match self {
            SignatureState::Verified => "verified",
            SignatureState::Unchecked => "unchecked",
            SignatureState::Unsigned => "unsigned",
        }
    }
}

/// One loaded plugin.
pub struct Plugin {
    pub(crate) name: Arc<str>,
    pub(crate) file: String,
    pub(crate) sha256: [u8; 32],
    pub(crate) manifest: Manifest,
    pub(crate) pre: InstancePre<HostState>,
    pub(crate) functions: FastMap<String, ExportedFunc>,
    pub(crate) timeout: Duration,
    pub(crate) function_timeouts: HashMap<String, Duration>,
    pub(crate) fuel: Option<u64>,
    pub(crate) grants: Arc<WasiGrants>,
    /// The host interfaces beyond WASI it imports, each admitted (granted) at load.
    pub(crate) capabilities: Vec<String>,
    /// What the loader found of its signature.
    pub(crate) signature_state: SignatureState,
    /// Its warm instances, in warm mode.
    pub(crate) warm: Option<WarmInstances>,
    /// Its stock of ready instances, in fresh mode.
    pub(crate) stock: Option<Arc<InstanceStock>>,
    pub(crate) stats: PluginStats,
    /// Caveats found at load (a capability imported but granted nothing, say).
    pub(crate) warnings: Vec<String>,
}

impl Plugin {
    /// The export `function` its manifest names.
    pub(crate) fn function(&self, function: &str) -> Result<&ExportedFunc, CallError> {
        self.functions
            .get(function)
            .ok_or_else(|| CallError::NoSuchFunction {
                plugin: self.name.to_string(),
                function: function.to_string(),
            })
    }

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

    /// The host interfaces beyond WASI it imports, each granted to it at load.
    pub fn capabilities(&self) -> &[String] {
        &self.capabilities
    }

    /// What the loader found of its signature.
    pub fn signature_state(&self) -> SignatureState {
        self.signature_state
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

    /// Whether calls reuse warm instances (warm mode) instead of a fresh instance each.
    pub fn is_warm(&self) -> bool {
        self.warm.is_some()
    }

    /// How many warm instances are idle, for a plugin in warm mode.
    pub fn idle_warm_instances(&self) -> Option<usize> {
        self.warm.as_ref().map(WarmInstances::idle)
    }

    /// How many ready instances its stock holds, for a plugin in fresh mode with a stock
    /// (none until the plugin's first call).
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
            .map(|f| signature::describe_func(&f.ty))
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
