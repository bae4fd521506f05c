//! `plugmill list`: load every plugin of the source and show the registry.

use std::process::ExitCode;

use serde_json::json;

use crate::args::HostArgs;

pub async fn run(args: &HostArgs) -> anyhow::Result<ExitCode> {
    let (host, report) = super::loaded(args).await?;
    let listing = host.manager().registry().listing();
    if args.json {
        let output = json!({
            "plugins": report.loaded,
            "rejected": report.rejected,
            "warnings": report.warnings,
            "skipped": report.skipped,
            "cache": report.cache,
            "hooks": listing.hooks,
            "routes": listing.routes,
            "tasks": listing.tasks,
        });
        println!("{}", serde_json::to_string_pretty(&output)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{} plugin(s) loaded from {} ({} compiled, {} from the precompiled cache)",
        report.loaded.len(),
        host.source_url(),
        report.cache.compiled,
        report.cache.hits
    );
    for problem in &report.cache.problems {
        println!("  cache: {}: {}", problem.file, problem.reason);
    }
    for plugin in &report.loaded {
        println!("  {} ({})", plugin.name, plugin.file);
    }
    if !report.rejected.is_empty() {
        println!("{} rejected", report.rejected.len());
        for rejection in &report.rejected {
            println!("  {rejection}");
        }
    }
    for warning in &report.warnings {
        println!("warning: {warning}");
    }
    for skipped in &report.skipped {
        println!("skipped {}: {}", skipped.file, skipped.reason);
    }
    println!("hooks");
    for (hook, plugins) in &listing.hooks {
        println!("  {hook}: {}", plugins.join(", "));
    }
    println!("routes");
    for (path, route) in &listing.routes {
        let task = if route.task { " (also a task)" } else { "" };
        println!("  {path} -> {}::{}{task}", route.plugin, route.handler);
    }
    println!("tasks");
    for (task, plugins) in &listing.tasks {
        println!("  {task}: {}", plugins.join(", "));
    }
    Ok(ExitCode::SUCCESS)
}
