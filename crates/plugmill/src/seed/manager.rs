//! [`PluginManager`]: the seed's calls (`call_hook`, `call_route`, `execute_task`,
//! `get_route_task_handler`) over a plugmill manager, with the seed's errors.

use std::sync::Arc;

use serde_json::Value;
use wasmtime::component::Val;

use super::error::SeedError;
use super::value::HookValue;
use crate::dispatch::PluginManager as Manager;
use crate::plugin::invoke::call_dynamic;
use crate::plugin::Plugin;

/// The seed's plugin manager: its calls, over a plugmill manager.
#[derive(Clone)]
pub struct PluginManager {
    manager: Arc<Manager>,
}

impl PluginManager {
    /// The seed's calls over `manager`.
    pub fn new(manager: Arc<Manager>) -> Self {
        Self { manager }
    }

    /// The plugmill manager underneath, for everything beyond the seed's calls.
    pub fn manager(&self) -> &Arc<Manager> {
        &self.manager
    }

    /// Calls `hook` on every plugin that registered it, concurrently; one list of results
    /// per plugin, in registration order. No plugin registered it, or any plugin's call
    /// failed (bad arguments, a trap, a deadline): the whole call fails. A plugin's `Err`
    /// value is an answer (`HookValue::Result(Err(..))`), not a failure. `expected_result`
    /// is the seed's placeholder; the result types come from the plugin's export.
    pub async fn call_hook(
        &self,
        hook: &str,
        args: Vec<HookValue>,
        expected_result: Vec<HookValue>,
    ) -> anyhow::Result<Vec<Vec<HookValue>>> {
        drop(expected_result);
        if self.manager.registry().hook(hook).is_empty() {
            return Err(SeedError::HookNotRegistered(hook.to_string()).into());
        }
        let args: Vec<Val> = args.iter().map(HookValue::to_val).collect();
        let mut answers = Vec::new();
        for outcome in self.manager.call_hook(hook, &args).await {
            let plugin = outcome.plugin;
            let results = outcome.result.map_err(|error| SeedError::Hook {
                hook: hook.to_string(),
                plugin,
                error: Box::new(error),
            })?;
            answers.push(
                results
                    .into_iter()
                    .map(HookValue::try_from_val)
                    .collect::<Result<Vec<_>, _>>()?,
            );
        }
        Ok(answers)
    }

    /// Calls the handler of route `path` with `input_json`, passed to it unchanged, and
    /// parses its `Ok` string as JSON. Its `Err`, an answer that is not JSON, or a failed
    /// call is an error.
    pub async fn call_route(&self, path: &str, input_json: String) -> anyhow::Result<Value> {
        let route = self
            .manager
            .match_route(path)
            .ok_or_else(|| SeedError::RouteNotFound(path.to_string()))?;
        let results = call(&route.plugin, &self.manager, &route.handler, input_json)
            .await
            .map_err(|error| SeedError::Route {
                handler: route.handler.clone(),
                error: Box::new(error),
            })?;
        let answer = match results.into_iter().next() {
            Some(val) => HookValue::try_from_val(val)?,
            None => return Err(SeedError::RouteAnswer("No value returned".into()).into()),
        };
        Ok(answer.answer_json().map_err(|error| match error {
            SeedError::Answer(text) => SeedError::RouteAnswer(text),
            other => other,
        })?)
    }

    /// Runs task `task` with `input_json` on each plugin that registered it, one after the
    /// other; the first that fails (or returns `Err`) ends the run with its error.
    pub async fn execute_task(&self, task: &str, input_json: String) -> anyhow::Result<()> {
        let registry = self.manager.registry();
        let targets = registry.task(task);
        if targets.is_empty() {
            return Err(SeedError::TaskNotRegistered(task.to_string()).into());
        }
        for target in targets {
            let failed = |error| SeedError::Task {
                task: task.to_string(),
                plugin: target.plugin.name().to_string(),
                error: Box::new(error),
            };
            let results = call(
                &target.plugin,
                &self.manager,
                &target.handler,
                input_json.clone(),
            )
            .await
            .map_err(failed)?;
            if let Some(Val::Result(Err(message))) = results.first() {
                let message = match message.as_deref() {
                    Some(Val::String(text)) => text.clone(),
                    Some(other) => format!("{other:?}"),
                    None => String::new(),
                };
                return Err(failed(crate::CallError::Plugin {
                    plugin: target.plugin.name().to_string(),
                    function: target.handler.clone(),
                    message,
                })
                .into());
            }
        }
        Ok(())
    }

    /// The handler of route `path` when that route is also a task (`process-as-task`).
    pub fn get_route_task_handler(&self, path: &str) -> Option<String> {
        let route = self.manager.match_route(path)?;
        route.task.then_some(route.handler)
    }
}

/// Calls `function` of `plugin` with one string.
async fn call(
    plugin: &Plugin,
    manager: &Manager,
    function: &str,
    input: String,
) -> Result<Vec<Val>, crate::CallError> {
    call_dynamic(plugin, manager.runtime(), function, &[Val::String(input)]).await
}
