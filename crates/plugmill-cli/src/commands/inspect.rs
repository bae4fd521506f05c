//! `plugmill inspect FILE`: manifest, exports, imports and problems of one plugin file.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context as _;
use plugmill::source::read_plugin_file;

use crate::args::HostArgs;

pub async fn run(host: &HostArgs, file: &Path) -> anyhow::Result<ExitCode> {
    let (manager, _) = plugmill_host::assemble_manager(&host.options())?;
    let artifact = read_plugin_file(file, manager.fetch_limits())
        .with_context(|| format!("`{}`", file.display()))?;
    let report = manager.inspect(artifact).await;
    if host.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        match &report.plugin_name {
            Some(name) => println!("plugin   {name}"),
            None => println!("plugin   (manifest not read)"),
        }
        println!("hooks    {}", report.hooks.join(", "));
        for route in &report.routes {
            let task = if route.process_as_task {
                " (also a task)"
            } else {
                ""
            };
            println!("route    {} -> {}{task}", route.path, route.handler);
        }
        println!("tasks    {}", report.tasks.join(", "));
        println!("exports");
        for item in &report.exports {
            println!("  {}: {}", item.name, item.signature);
        }
        println!("imports");
        for item in &report.imports {
            println!("  {}: {}", item.name, item.signature);
        }
        for warning in &report.warnings {
            println!("warning  {warning}");
        }
        if report.problems.is_empty() {
            println!("valid: no problems found");
        } else {
            println!("problems");
            for problem in &report.problems {
                println!("  - {problem}");
            }
        }
    }
    Ok(if report.is_valid() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
