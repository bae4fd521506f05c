//! One module per command; each returns the process exit code.

mod authoring;
mod call;
mod inspect;
mod keys;
mod list;
mod serve;
mod tasks;
mod upload;
mod watch;

use std::process::ExitCode;

use plugmill::LoadReport;
use plugmill_host::Host;

use crate::args::{CallTarget, Cli, Command, HostArgs, TaskAction};

/// Runs the command `cli` names.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let host = cli.host;
    match cli.command {
        Command::Inspect { file } => inspect::run(&host, &file).await,
        Command::List => list::run(&host).await,
        Command::Upload { files, workspace } => {
            upload::run(&host, &files, workspace.as_deref()).await
        }
        Command::Watch { interval } => watch::run(&host, interval).await,
        Command::Serve { listen } => serve::run(&host, listen.as_deref()).await,
        Command::Worker {
            metrics_listen,
            celery,
        } => tasks::worker(&host, metrics_listen.as_deref(), celery).await,
        Command::Task { action } => match action {
            TaskAction::Show { id } => tasks::show(&host, &id).await,
            TaskAction::Retry { id } => tasks::retry(&host, &id).await,
            TaskAction::List {
                status,
                task,
                tenant,
                limit,
                before,
            } => {
                let filter = tasks::list_filter(status.as_deref(), task, limit, before.as_deref())?;
                tasks::list(&host, tenant, &filter).await
            }
        },
        Command::New { name, lang } => authoring::new(&name, lang),
        Command::Build { dir, sign } => authoring::build(&host, &dir, sign.as_deref()).await,
        Command::Dev { dir, listen } => authoring::dev(&host, &dir, &listen).await,
        Command::Keygen { out } => keys::keygen(&out),
        Command::Sign { key, files } => keys::sign(&key, &files),
        Command::Call { target } => match target {
            CallTarget::Hook { name, args } => call::hook(&host, &name, &args).await,
            CallTarget::Route { path, data } => call::route(&host, &path, &data).await,
            CallTarget::Task { name, data } => call::task(&host, &name, &data).await,
        },
    }
}

/// The host with every plugin of the source loaded; rejections are in the report.
async fn loaded(host: &HostArgs) -> anyhow::Result<(Host, LoadReport)> {
    Ok(Host::start(&host.options()).await?)
}

/// Parses a JSON command-line value, saying which option was wrong.
fn parse_json(option: &str, text: &str) -> anyhow::Result<serde_json::Value> {
    serde_json::from_str(text)
        .map_err(|e| anyhow::anyhow!("{option} is not valid JSON ({e}): {}", shorten(text)))
}

/// Input quoted in an error: escaped, and shortened when long.
fn shorten(text: &str) -> String {
    plugmill::config::values::shorten(text)
}
