//! [`SeedError`]: why a call of the seed's API failed, with the seed's messages. The API
//! returns `anyhow::Result` as the seed's did; the error inside downcasts to this type.

use crate::call::CallError;

/// Why a call of [`super::PluginManager`] or [`super::get_plugin_manager`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SeedError {
    /// No plugin registered the hook.
    #[error("Hook {0} not registered by any plugin")]
    HookNotRegistered(String),
    /// No plugin serves the route.
    #[error("Route {0} not found")]
    RouteNotFound(String),
    /// No plugin registered the task.
    #[error("Task {0} not registered by any plugin")]
    TaskNotRegistered(String),
    /// A plugin's call of a hook failed (so the whole hook call did).
    #[error("Failed to call hook {hook} in plugin {plugin}: {error}")]
    Hook {
        /// The hook.
        hook: String,
        /// The plugin whose call failed.
        plugin: String,
        /// How it failed.
        error: Box<CallError>,
    },
    /// The call of a route's handler failed.
    #[error("Failed to call hook {handler}: {error}")]
    Route {
        /// The route's handler.
        handler: String,
        /// How it failed.
        error: Box<CallError>,
    },
    /// A route's handler answered, but not with a JSON string: its `Err`, nothing, or text
    /// that is not JSON.
    #[error("Failed to convert hook return value to JSON: {0}")]
    RouteAnswer(String),
    /// A plugin's task handler failed or returned `Err`.
    #[error("Failed to call task {task} in plugin {plugin}: {error}")]
    Task {
        /// The task.
        task: String,
        /// The plugin whose handler failed.
        plugin: String,
        /// How it failed.
        error: Box<CallError>,
    },
    /// A hook value that is not a JSON answer (see [`super::HookValue::as_results_json`]).
    #[error("{0}")]
    Answer(String),
    /// A component value of a type the seed's [`super::HookValue`] has no variant for.
    #[error("Unsupported Val type: {0}")]
    UnsupportedValue(String),
    /// Neither a manager is installed nor an initialiser registered.
    #[error("Failed to initialize PluginManager: no plugin manager is installed and no initialiser is registered (use plugmill_host::seed, or call plugmill::set_plugin_manager at start)")]
    NoInitializer,
    /// Initialising the process-wide manager failed, for this reason.
    #[error("Failed to initialize PluginManager: {0}")]
    Init(String),
}
