//! plugmill: a host for WebAssembly component plugins.
//!
//! A service embeds plugmill to let separately built, sandboxed plugins extend it. Each plugin
//! is a component for `wasm32-wasip2` that exports `plugins-manager:common/plugin-common`; its
//! manifest names the **hooks** it answers, the **routes** it serves and the **tasks** it runs.
//!
//! The crate is one pipeline, one module per stage:
//!
//! ```text
//! source ──> loader ──> registry ──> dispatch ──> runtime ──> capabilities
//! ```
//!
//! Its modules import downward only (`tests/all/layers.rs` checks it from the source):
//! `seed` > `global` > `dispatch` > `registry` > `loader` > `plugin` > `runtime` >
//! `capabilities` > `call` > `host` > `config`, `grants`, `source` and the small helpers.
//!
//! - [`source`]: where plugin bytes come from: a directory, or an S3 bucket prefix
//!   (feature `s3`).
//! - loader: verify ([`signing`]), compile in parallel (or load from the precompiled cache),
//!   read each manifest under a deadline, validate; the outcome is a [`LoadReport`] with a
//!   [`Rejection`] (and its [`RejectionCode`]) per file that did not load.
//! - registry: the immutable hook/route/task tables ([`Registry`]), swapped atomically on
//!   reload ([`PluginManager::reload`], [`PluginManager::watch`]).
//! - dispatch: [`PluginManager`], the calls an application makes: hooks, routes (resolved
//!   once into a [`RouteMatch`]), tasks, typed ([`typed_hooks!`]), dynamic and JSON; failures
//!   are a [`CallError`] that says who is at fault.
//! - plugin: one loaded [`Plugin`], its [`Manifest`], and the call path of its exports.
//! - runtime: the wasmtime engine ([`Runtime`]), the stores calls run in, limits
//!   ([`RuntimeOptions`]) and instance reuse (a stock of ready instances, or warm instances).
//! - call: how a call ends: [`CallError`] and the [`CallObserver`] that hears of it.
//! - host: the data of every store ([`HostState`]) and the contract capabilities plug into
//!   ([`capabilities::Capability`]).
//! - [`capabilities`]: what plugins may import beyond WASI, one unit each: the database
//!   (feature `database`), authorization, variables, and the embedder's own.
//!
//! [`config`] reads the host configuration (`plugmill.toml`); [`grants`] is the one model of
//! what each plugin is given. [`get_plugin_manager`] reaches the process-wide manager;
//! [`seed`] is the seed system's host API over it.
//!
//! # Examples
//!
//! ```no_run
//! # async fn run() -> anyhow::Result<()> {
//! use plugmill::{PluginManager, source::LocalDirectory};
//!
//! let manager = PluginManager::builder().build()?;
//! let report = manager.load(&LocalDirectory::new("./plugins")).await?;
//! for rejected in &report.rejected {
//!     eprintln!("{rejected}");
//! }
//! for outcome in manager.call_hook_json("greet", &[serde_json::json!("world")]).await {
//!     println!("{}: {:?}", outcome.plugin, outcome.result);
//! }
//! # Ok(()) }
//! ```

pub mod capabilities;
pub mod config;
pub mod grants;
pub mod seed;
pub mod source;

mod call;
mod dispatch;
mod files;
mod global;
mod host;
mod loader;
mod plugin;
mod redact;
mod registry;
mod runtime;

pub use call::{CallError, CallObserver, CallOutcome, FinishedCall, InstanceSource};
pub use dispatch::builder::{BuildError, ManagerBuilder};
pub use dispatch::reload::Watch;
pub use dispatch::typed::HookReturn;
pub use dispatch::{HookResults, PluginManager, PluginOutcome};
pub use global::{get_plugin_manager, set_plugin_manager, set_plugin_manager_failure, GlobalError};
pub use host::{
    current_tenant, with_tenant, DeadlineExceeded, DirGrant, HostState, MemoryLimitExceeded,
    WasiGrants,
};
pub use loader::inspect::{Inspection, InspectionItem};
pub use loader::{
    CacheProblem, CacheReport, Changes, LoadError, LoadReport, LoadWarning, Rejection,
    RejectionCode, UnknownImports,
};
pub use plugin::{Manifest, Plugin, PluginStats, PluginSummary, Route, SignatureState};
pub use registry::{Listing, Registry, RouteListing, RouteMatch, RouteTarget, TaskTarget};
pub use runtime::instances::DEFAULT_INSTANCE_STOCK;
pub use runtime::{Allocation, AllocationKind, PoolingTuning, Runtime, RuntimeOptions};

/// Signing plugins and checking their signatures: ed25519 keys and detached `.sig` files
/// (base64), and sha256 digests for pins.
pub mod signing {
    pub use crate::loader::integrity::{
        generate_key_pair, public_key_of, read_key_file, sha256_hex, sign, KeyError, TrustPolicy,
        MAX_KEY_FILE, SECRET_KEY_MARK,
    };
}

pub use redact::redact_secrets;

/// Entry points for the fuzz targets (`fuzz/`); not part of the API.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing {
    pub use crate::dispatch::json::{answer_to_json, json_to_args, json_to_val, val_to_json};
    pub use crate::plugin::check::{check_args, conforms};
    pub use crate::plugin::manifest::check_manifest;

    /// Checks a plugin's bytes and signature against `policy`, as the loader does.
    pub fn verify(
        policy: &crate::signing::TrustPolicy,
        bytes: &[u8],
        signature: Option<Vec<u8>>,
    ) -> Result<(), String> {
        let artifact = crate::source::PluginArtifact {
            file: "fuzz.wasm".into(),
            bytes: bytes.to_vec().into(),
            signature,
        };
        policy.verify(&artifact).map_err(|problem| problem.message)
    }

    /// The type of every export `plugin`'s manifest names, by name.
    pub fn export_types(
        plugin: &crate::Plugin,
    ) -> Vec<(String, wasmtime::component::types::ComponentFunc)> {
        let mut types: Vec<_> = plugin
            .functions
            .iter()
            .map(|(name, export)| (name.clone(), export.ty.clone()))
            .collect();
        types.sort_by(|a, b| a.0.cmp(&b.0));
        types
    }
}

/// Items the macros expand to; not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use crate::dispatch::typed::hook_name;
}

/// Re-exported so embedders can name component values and linker types without a direct
/// wasmtime dependency of a matching version.
pub use wasmtime;
