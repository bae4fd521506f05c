//! The seed system's host API, over plugmill's one process-wide manager: code written
//! against the seed's `plugin_manager` module compiles with only its `use` lines changed.
//!
//! - [`PluginManager`]: the seed's calls, `call_hook(hook, Vec<HookValue>, expected)`,
//!   `call_route(path, String)`, `execute_task(task, String)` and
//!   `get_route_task_handler(path)`, each returning `anyhow::Result` with the seed's error
//!   texts (the error inside is a [`SeedError`]). It is a view of a [`crate::PluginManager`]
//!   ([`PluginManager::new`]), so plugmill's guarantees hold: a fresh instance per call,
//!   deadlines, limits, grants, hot reload.
//! - [`HookValue`]: the seed's argument and result values.
//! - [`get_plugin_manager`] and [`init_plugin_manager`]: the process-wide manager,
//!   initialised on first use.
//!
//! # Where initialising lives
//!
//! Building the manager from `plugmill.toml` and the environment (the plugin source, the
//! standard capabilities, the cache) is the host assembly's, in the `plugmill-host` crate,
//! which depends on this one; this crate cannot call it. So [`get_plugin_manager`] answers
//! the manager the application installed with [`crate::set_plugin_manager`], and otherwise
//! runs the initialiser registered with [`set_initializer`]. `plugmill_host::seed` offers
//! this same API with its initialiser registered on every call, so the seed's code, which
//! calls `get_plugin_manager().await` wherever it is and never registers anything, needs
//! only `use plugmill_host::seed::{...}`. Imports stay downward: `plugmill-host` imports
//! `plugmill`, never the other way, and inside this crate `seed` sits above everything it
//! uses ([`crate::global`] and the dispatch stage).
//!
//! # Where it differs from the seed, on purpose
//!
//! - `expected_result` is not needed: result types come from each plugin's export (a
//!   placeholder of the wrong type or count is no error).
//! - A task handler that returns `Err` fails [`PluginManager::execute_task`]; the seed
//!   ignored a task's answer.
//! - Calls are bounded and isolated as every plugmill call is; a plugin's trap, deadline or
//!   memory limit is that call's error, named in the message.
//!
//! ```no_run
//! use plugmill::seed::{get_plugin_manager, HookValue};
//!
//! # async fn run() -> anyhow::Result<()> {
//! let plugin_manager = get_plugin_manager().await?;
//! let answers = plugin_manager
//!     .call_hook(
//!         "create-transmission-package",
//!         vec![HookValue::String("{}".into())],
//!         vec![HookValue::Result(Ok(None))],
//!     )
//!     .await?;
//! let data = plugin_manager
//!     .call_route("/miru/create-transmission-package", "{}".to_string())
//!     .await?;
//! # drop((answers, data)); Ok(()) }
//! ```

mod error;
mod global;
mod manager;
mod value;

pub use error::SeedError;
pub use global::{
    get_plugin_manager, init_plugin_manager, set_initializer, Initialized, Initializer,
};
pub use manager::PluginManager;
pub use value::HookValue;
