//! The dispatch stage: [`PluginManager`], what an application calls.
//!
//! - hooks: every registered plugin, concurrently, one [`PluginOutcome`] each; dynamic
//!   ([`PluginManager::call_hook`]), JSON ([`PluginManager::call_hook_json`]) and typed
//!   ([`PluginManager::call_hook_typed`], [`typed_hooks!`](crate::typed_hooks));
//! - routes: the one handler, JSON in and out, resolved once ([`PluginManager::match_route`],
//!   [`PluginManager::call_matched`]; [`PluginManager::call_route`] does both);
//! - tasks: every registered handler ([`PluginManager::execute_task`]);
//! - loading and hot reload ([`reload`]): [`PluginManager::load`], [`PluginManager::reload`],
//!   [`PluginManager::watch`].

pub mod builder;
pub mod json;
pub mod reload;
pub mod typed;

use std::future::Future;
use std::sync::{Arc, RwLock};

use serde_json::Value;
use wasmtime::component::{ComponentNamedList, Lift, Lower, Val};

use crate::call::CallError;
use crate::capabilities::Capability;
use crate::loader::{self, LoadOptions};
use crate::plugin::invoke::{call_dynamic, call_typed};
use crate::plugin::signature::describe_func;
use crate::plugin::Plugin;
use crate::registry::{Registry, RouteMatch};
use crate::runtime::Runtime;
use crate::source::{FetchLimits, PluginArtifact};

/// The outcome of a call on one plugin.
#[derive(Debug, Clone)]
pub struct PluginOutcome<T> {
    /// The plugin's name.
    pub plugin: String,
    /// Its result.
    pub result: Result<T, CallError>,
}

impl<T> PluginOutcome<T> {
    /// Maps the successful value.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> PluginOutcome<U> {
        PluginOutcome {
            plugin: self.plugin,
            result: self.result.map(f),
        }
    }
}

/// One outcome per plugin, in registration order.
pub type HookResults<T> = Vec<PluginOutcome<T>>;

/// Loads plugins and dispatches calls to them.
pub struct PluginManager {
    runtime: Arc<Runtime>,
    load_options: Arc<LoadOptions>,
    registry: RwLock<Arc<Registry>>,
    /// Held while a load or reload builds its registry, so two never interleave.
    reloading: tokio::sync::Mutex<()>,
}

impl PluginManager {
    pub(crate) fn new(runtime: Arc<Runtime>, load_options: LoadOptions) -> Self {
        Self {
            runtime,
            load_options: Arc::new(load_options),
            registry: RwLock::new(Arc::default()),
            reloading: tokio::sync::Mutex::new(()),
        }
    }

    /// The capability of type `C`, when the manager has it: for the embedder's own use of
    /// its state, e.g. `manager.capability::<Databases>()` for the database pools.
    pub fn capability<C: Capability>(&self) -> Option<Arc<C>> {
        self.runtime.shared().get::<C>()
    }

    /// Ends what the capabilities hold across calls (database pools are closed). Calls in
    /// flight should be finished first.
    pub async fn shutdown(&self) {
        for capability in self.runtime.shared().iter() {
            capability.shutdown().await;
        }
    }

    /// The runtime: engine, linker and options.
    pub fn runtime(&self) -> &Arc<Runtime> {
        &self.runtime
    }

    /// The current registry snapshot.
    pub fn registry(&self) -> Arc<Registry> {
        self.registry
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Inspects one plugin file (bytes and signature) without registering it, with the checks
    /// and settings a load would apply: a valid inspection means it would load.
    pub async fn inspect(&self, artifact: PluginArtifact) -> loader::inspect::Inspection {
        loader::inspect::inspect(&self.runtime, &self.load_options, artifact).await
    }

    /// How much a source may read of each file, as configured.
    pub fn fetch_limits(&self) -> FetchLimits {
        self.load_options.limits
    }

    /// Calls `hook` on every registered plugin, concurrently, with dynamically typed
    /// arguments checked against each plugin's export first.
    pub async fn call_hook(&self, hook: &str, args: &[Val]) -> HookResults<Vec<Val>> {
        let registry = self.registry();
        let plugins = registry.hook(hook);
        if let [plugin] = plugins {
            let result = call_dynamic(plugin, &self.runtime, hook, args).await;
            return one_outcome(plugin, result);
        }
        let args: Arc<[Val]> = args.into();
        self.on_each(plugins, hook, move |runtime, plugin, hook| {
            let args = args.clone();
            async move { call_dynamic(&plugin, &runtime, &hook, &args).await }
        })
        .await
    }

    /// Calls `hook` with JSON arguments (one element per parameter), converted with each
    /// plugin's export types; results come back as JSON, one value per result.
    pub async fn call_hook_json(&self, hook: &str, args: &[Value]) -> HookResults<Vec<Value>> {
        let registry = self.registry();
        let plugins = registry.hook(hook);
        if let [plugin] = plugins {
            let result = call_json(&self.runtime, plugin, hook, args).await;
            return one_outcome(plugin, result);
        }
        let args: Arc<[Value]> = args.into();
        self.on_each(plugins, hook, move |runtime, plugin, hook| {
            let args = args.clone();
            async move { call_json(&runtime, &plugin, &hook, &args).await }
        })
        .await
    }

    /// Calls `hook` through wasmtime's typed calls: `P` is the tuple of parameters and `R` the
    /// tuple of results, e.g. `call_hook_typed::<(String,), (String,)>("greet", (name,))`.
    pub async fn call_hook_typed<P, R>(&self, hook: &str, args: P) -> HookResults<R>
    where
        P: ComponentNamedList + Lower + Clone + Send + Sync + 'static,
        R: ComponentNamedList + Lift + Send + Sync + 'static,
    {
        let registry = self.registry();
        let plugins = registry.hook(hook);
        if let [plugin] = plugins {
            let result = call_typed::<P, R>(plugin, &self.runtime, hook, args).await;
            return one_outcome(plugin, result);
        }
        self.on_each(plugins, hook, move |runtime, plugin, hook| {
            let args = args.clone();
            async move { call_typed::<P, R>(&plugin, &runtime, &hook, args).await }
        })
        .await
    }

    /// Calls the handler of route `path` with `data` (serialized to a JSON string). An `Ok`
    /// string that is JSON comes back as that JSON, any other as a JSON string; a handler
    /// returning `result<_, string>` or nothing gives `null`. Equal to [`Self::match_route`]
    /// then [`Self::call_matched`].
    pub async fn call_route(&self, path: &str, data: &Value) -> Result<Value, CallError> {
        let route = self
            .match_route(path)
            .ok_or_else(|| CallError::RouteNotFound(path.to_string()))?;
        self.call_matched(&route, data).await
    }

    /// Resolves route `path` in the current registry, once: the plugin and handler serving
    /// it and the registry's generation. A front end calls that match with
    /// [`Self::call_matched`] and names its plugin in its log line and metrics, so all three
    /// agree even when a reload swaps the registry in between.
    pub fn match_route(&self, path: &str) -> Option<RouteMatch> {
        self.registry
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .match_route(path)
    }

    /// Calls the handler of a matched route with `data`, as [`Self::call_route`] does: on the
    /// plugin of the match, even if a reload replaced it since.
    pub async fn call_matched(&self, route: &RouteMatch, data: &Value) -> Result<Value, CallError> {
        call_handler(&self.runtime, &route.plugin, &route.handler, data).await
    }

    /// Calls the handler of a matched route with `data`, JSON text the caller already has: it
    /// is handed to the handler as it is, not parsed and written again. Otherwise as
    /// [`Self::call_matched`].
    pub async fn call_matched_text(
        &self,
        route: &RouteMatch,
        data: String,
    ) -> Result<Value, CallError> {
        call_handler_text(&self.runtime, &route.plugin, &route.handler, data).await
    }

    /// Runs task `name` with `data` on every plugin that registered it, one outcome each.
    pub async fn execute_task(
        &self,
        name: &str,
        data: &Value,
    ) -> Result<HookResults<Value>, CallError> {
        self.execute_task_except(name, data, &[]).await
    }

    /// Runs task `name` with `data` on every plugin that registered it except those named in
    /// `done` (the plugins that already succeeded, when a task runs again), one outcome each.
    /// Each call is a task of its own that carries the caller's deferred commits (see the
    /// database capability's `DeferredCommits`).
    pub async fn execute_task_except(
        &self,
        name: &str,
        data: &Value,
        done: &[String],
    ) -> Result<HookResults<Value>, CallError> {
        let registry = self.registry();
        let targets = registry.task(name);
        if targets.is_empty() {
            return Err(CallError::TaskNotFound(name.to_string()));
        }
        let data = Arc::new(data.clone());
        let handles: Vec<_> = targets
            .iter()
            .filter(|target| !done.iter().any(|d| d == target.plugin.name()))
            .map(|target| {
                let (runtime, data) = (self.runtime.clone(), data.clone());
                let (plugin, handler) = (target.plugin.clone(), target.handler.clone());
                let name = plugin.name().to_string();
                let call = crate::host::tenant::carry(async move {
                    call_handler(&runtime, &plugin, &handler, &data).await
                });
                #[cfg(feature = "database")]
                let call = crate::capabilities::database::carry_deferred(call);
                let task = tokio::spawn(call);
                (name, target.handler.clone(), task)
            })
            .collect();
        Ok(join_outcomes(handles).await)
    }

    /// Runs `call` on each plugin, in parallel on separate tasks; one outcome per plugin,
    /// in order. (A single plugin is called inline by the callers, without a task.)
    async fn on_each<T, F, Fut>(
        &self,
        plugins: &[Arc<Plugin>],
        function: &str,
        call: F,
    ) -> HookResults<T>
    where
        T: Send + 'static,
        F: Fn(Arc<Runtime>, Arc<Plugin>, Arc<str>) -> Fut,
        Fut: Future<Output = Result<T, CallError>> + Send + 'static,
    {
        let function: Arc<str> = Arc::from(function);
        let handles: Vec<_> = plugins
            .iter()
            .map(|plugin| {
                let call = call(self.runtime.clone(), plugin.clone(), function.clone());
                let task = tokio::spawn(crate::host::tenant::carry(call));
                (plugin.name().to_string(), function.to_string(), task)
            })
            .collect();
        join_outcomes(handles).await
    }
}

/// The outcome of a hook registered by one plugin.
fn one_outcome<T>(plugin: &Plugin, result: Result<T, CallError>) -> HookResults<T> {
    vec![PluginOutcome {
        plugin: plugin.name().to_string(),
        result,
    }]
}

/// A call running on a task of its own: the plugin, the function, the task.
type CallTask<T> = (
    String,
    String,
    tokio::task::JoinHandle<Result<T, CallError>>,
);

/// Waits for every call's task, in order; a task that failed (a panic in the host) is that
/// plugin's host failure.
async fn join_outcomes<T>(handles: Vec<CallTask<T>>) -> HookResults<T> {
    let mut outcomes = Vec::with_capacity(handles.len());
    for (plugin, function, handle) in handles {
        let result = handle
            .await
            .unwrap_or_else(|e| Err(join_failure(&plugin, &function, e)));
        outcomes.push(PluginOutcome { plugin, result });
    }
    outcomes
}

/// Calls `hook` of `plugin` with JSON arguments converted with its export types.
async fn call_json(
    runtime: &Arc<Runtime>,
    plugin: &Plugin,
    hook: &str,
    args: &[Value],
) -> Result<Vec<Value>, CallError> {
    let export = plugin.function(hook)?;
    let vals = json::json_to_args(&export.ty, args).map_err(|reason| CallError::BadArguments {
        plugin: plugin.name().to_string(),
        function: hook.to_string(),
        signature: describe_func(&export.ty),
        reason,
    })?;
    let results = call_dynamic(plugin, runtime, hook, &vals).await?;
    Ok(results.iter().map(json::val_to_json).collect())
}

async fn call_handler(
    runtime: &Arc<Runtime>,
    plugin: &Plugin,
    handler: &str,
    data: &Value,
) -> Result<Value, CallError> {
    let text = serde_json::to_string(data)
        .map_err(|e| CallError::BadInput(format!("data cannot be serialized: {e}")))?;
    call_handler_text(runtime, plugin, handler, text).await
}

/// Calls a route or task handler with its data, JSON text.
async fn call_handler_text(
    runtime: &Arc<Runtime>,
    plugin: &Plugin,
    handler: &str,
    text: String,
) -> Result<Value, CallError> {
    let results = call_dynamic(plugin, runtime, handler, &[Val::String(text)]).await?;
    handler_output(plugin.name(), handler, results)
}

/// Interprets a handler's results: `result<string, string>`, `result<_, string>` or nothing.
fn handler_output(plugin: &str, handler: &str, results: Vec<Val>) -> Result<Value, CallError> {
    match results.into_iter().next() {
        None | Some(Val::Result(Ok(None))) => Ok(Value::Null),
        Some(Val::Result(Ok(Some(value)))) => match *value {
            Val::String(text) => Ok(json::answer_to_json(text)),
            other => Ok(json::val_to_json(&other)),
        },
        Some(Val::Result(Err(message))) => Err(CallError::Plugin {
            plugin: plugin.to_string(),
            function: handler.to_string(),
            message: match message.as_deref() {
                Some(Val::String(text)) => text.clone(),
                Some(other) => json::val_to_json(other).to_string(),
                None => String::new(),
            },
        }),
        Some(other) => Ok(json::val_to_json(&other)),
    }
}

fn join_failure(plugin: &str, function: &str, error: tokio::task::JoinError) -> CallError {
    CallError::Host {
        plugin: plugin.to_string(),
        function: function.to_string(),
        message: format!("the call's task failed: {error}"),
    }
}
