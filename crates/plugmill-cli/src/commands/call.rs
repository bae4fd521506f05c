//! `plugmill call hook|route|task`.
//!
//! The three report the same way. stdout: the handler's JSON for a route; for a hook or a
//! task, one `{"plugin", "ok": ...}` or `{"plugin", "error", "kind"}` per registered plugin,
//! where a hook that returned `result::err` counts as failed (`"kind": "plugin-error"`), as a
//! task whose handler returned `err` does. Exit code 1 when any failed, else 0; nothing
//! registered under the name is an empty list on stdout and a warning on stderr, exit 0, for a
//! hook and a task alike. A route that fails, or that no plugin serves, is an error on stderr,
//! exit 1.

use std::process::ExitCode;

use anyhow::bail;
use plugmill::{CallError, HookResults, PluginManager};
use serde_json::{json, Value};

use crate::args::HostArgs;

pub async fn hook(host: &HostArgs, name: &str, args: &str) -> anyhow::Result<ExitCode> {
    let Value::Array(args) = super::parse_json("--args", args)? else {
        bail!(
            "--args must be a JSON array with one element per parameter, got: {}",
            super::shorten(args)
        );
    };
    let (host, _) = super::loaded(host).await?;
    let manager = host.manager();
    let outcomes = manager.call_hook_json(name, &args).await;
    if outcomes.is_empty() {
        return nothing_registered("hook", name);
    }
    let rows = outcomes
        .into_iter()
        .map(|outcome| {
            let failure = outcome
                .result
                .as_ref()
                .ok()
                .and_then(|values| returned_err(manager, &outcome.plugin, name, values));
            match (failure, outcome.result) {
                (Some(message), _) => failed(&outcome.plugin, &message, "plugin-error"),
                (None, Ok(values)) => json!({ "plugin": outcome.plugin, "ok": values }),
                (None, Err(error)) => call_failed(&outcome.plugin, &error),
            }
        })
        .collect();
    print_rows(rows)
}

pub async fn route(host: &HostArgs, path: &str, data: &str) -> anyhow::Result<ExitCode> {
    let data = super::parse_json("--data", data)?;
    let (host, _) = super::loaded(host).await?;
    match host.manager().call_route(path, &data).await {
        Ok(value) => {
            println!("{}", serde_json::to_string_pretty(&value)?);
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => {
            eprintln!("error: {error}");
            Ok(ExitCode::FAILURE)
        }
    }
}

pub async fn task(host: &HostArgs, name: &str, data: &str) -> anyhow::Result<ExitCode> {
    let data = super::parse_json("--data", data)?;
    let (host, _) = super::loaded(host).await?;
    match host.manager().execute_task(name, &data).await {
        Ok(outcomes) => print_outcomes(outcomes),
        Err(CallError::TaskNotFound(_)) => nothing_registered("task", name),
        Err(error) => {
            eprintln!("error: {error}");
            Ok(ExitCode::FAILURE)
        }
    }
}

/// The `err` a hook returned, when its one result is a `result` and the value is an `err`.
fn returned_err(
    manager: &PluginManager,
    plugin: &str,
    hook: &str,
    values: &[Value],
) -> Option<String> {
    let registry = manager.registry();
    if !registry.plugin(plugin)?.returns_result(hook) {
        return None;
    }
    let error = values.first()?.as_object()?.get("err")?;
    Some(match error {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    })
}

fn nothing_registered(what: &str, name: &str) -> anyhow::Result<ExitCode> {
    println!("[]");
    eprintln!("warning: no plugin registered {what} `{name}`");
    Ok(ExitCode::SUCCESS)
}

fn failed(plugin: &str, message: &str, kind: &str) -> Value {
    json!({ "plugin": plugin, "error": message, "kind": kind })
}

fn call_failed(plugin: &str, error: &CallError) -> Value {
    failed(plugin, &error.to_string(), error.kind())
}

/// Prints one row per task outcome; exit 1 if any failed.
fn print_outcomes(outcomes: HookResults<Value>) -> anyhow::Result<ExitCode> {
    let rows = outcomes
        .into_iter()
        .map(|outcome| match outcome.result {
            Ok(value) => json!({ "plugin": outcome.plugin, "ok": value }),
            Err(error) => call_failed(&outcome.plugin, &error),
        })
        .collect();
    print_rows(rows)
}

/// Prints the rows as a JSON array; exit 1 if any has an `error`.
fn print_rows(rows: Vec<Value>) -> anyhow::Result<ExitCode> {
    let failed = rows.iter().any(|row| row.get("error").is_some());
    println!("{}", serde_json::to_string_pretty(&rows)?);
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
