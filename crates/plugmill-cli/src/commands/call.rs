//! `plugmill call hook|route|task`.

use std::process::ExitCode;

use anyhow::bail;
use plugmill::HookResults;
use serde_json::{json, Value};

use crate::args::HostArgs;

pub async fn hook(host: &HostArgs, name: &str, args: &str) -> anyhow::Result<ExitCode> {
    let Value::Array(args) = super::parse_json("--args", args)? else {
        bail!("--args must be a JSON array with one element per parameter, got: {args}");
    };
    let (host, _) = super::loaded(host).await?;
    let outcomes = host.manager().call_hook_json(name, &args).await;
    if outcomes.is_empty() {
        eprintln!("warning: no plugin registered hook `{name}`");
    }
    print_outcomes(outcomes, Value::Array)
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
        Ok(outcomes) => print_outcomes(outcomes, |value| value),
        Err(error) => {
            eprintln!("error: {error}");
            Ok(ExitCode::FAILURE)
        }
    }
}

/// Prints `[{"plugin", "ok": ...} | {"plugin", "error": "..."}]`; exit 1 if any failed.
fn print_outcomes<T>(
    outcomes: HookResults<T>,
    ok: impl Fn(T) -> Value,
) -> anyhow::Result<ExitCode> {
    let mut failed = false;
    let rows: Vec<Value> = outcomes
        .into_iter()
        .map(|outcome| match outcome.result {
            Ok(value) => json!({ "plugin": outcome.plugin, "ok": ok(value) }),
            Err(error) => {
                failed = true;
                json!({ "plugin": outcome.plugin, "error": error.to_string() })
            }
        })
        .collect();
    println!("{}", serde_json::to_string_pretty(&rows)?);
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
