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
//! - [`source`]: where plugin bytes come from: a directory, or an S3 bucket prefix.
//! - [`loader`]: verify, compile in parallel (or load from the precompiled cache), read each
//!   manifest under a deadline, validate.
//! - [`registry`]: the immutable hook/route/task tables, swapped atomically on reload
//!   ([`PluginManager::reload`], [`PluginManager::watch`]).
//! - [`dispatch`]: [`PluginManager`], the calls an application makes: hooks, routes, tasks,
//!   typed, dynamic and JSON.
//! - [`runtime`]: the wasmtime engine, the per-call store, limits and instance reuse.
//! - [`capabilities`]: host interfaces plugins may import, including the embedder's own.
//!
//! [`config`] reads the host configuration (`plugmill.toml`) that sets limits, trust and
//! per-plugin grants.
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
pub mod dispatch;
pub mod loader;
pub mod registry;
pub mod runtime;
pub mod source;

mod plugin;

pub use dispatch::reload::Watch;
pub use dispatch::{CallError, HookResults, ManagerBuilder, PluginManager, PluginOutcome};
pub use loader::{CacheReport, Changes, LoadError, LoadReport, Rejection};
pub use plugin::{Plugin, PluginSummary};
pub use runtime::RuntimeOptions;

/// Re-exported so embedders can name component values and linker types without a direct
/// wasmtime dependency of a matching version.
pub use wasmtime;
