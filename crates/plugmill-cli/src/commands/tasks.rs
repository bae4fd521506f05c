//! `plugmill worker`, `plugmill task show`, `plugmill task retry` and `plugmill task list`.

use std::process::ExitCode;

use anyhow::Context as _;
use plugmill::config::precedence::Setting;
use plugmill_host::Host;
use plugmill_tasks::{Cursor, ListFilter, Protocol, Retried, Scope, Status, TaskSettings, Tasks};

use crate::args::HostArgs;

/// Runs queued tasks until SIGTERM or SIGINT, reloading plugins on SIGHUP and by polling.
/// `celery`: read the seed's Celery messages whatever `[tasks] protocol` says.
pub async fn worker(
    args: &HostArgs,
    metrics_listen: Option<&str>,
    celery: bool,
) -> anyhow::Result<ExitCode> {
    let shutdown = plugmill_host::shutdown_signal();
    let mut options = args.options();
    options.observer = Some(std::sync::Arc::new(plugmill_host::metrics::CallMetrics));
    plugmill_host::metrics::Metrics::install()?;
    let host = Host::assemble(&options)?;
    let protocol = celery.then_some(Protocol::Celery);
    let settings = TaskSettings::from_config_as(host.config(), protocol)?;
    let from_command_line = match metrics_listen {
        Some(address) => Some(
            address
                .parse()
                .with_context(|| format!("--metrics-listen `{address}` is not an ip:port"))?,
        ),
        None => None,
    };
    let metrics_listen = Setting::new()
        .command_line(from_command_line)
        .file(settings.metrics_listen)
        .value();
    if let Some(address) = metrics_listen {
        let listener = tokio::net::TcpListener::bind(address)
            .await
            .with_context(|| format!("cannot listen on {address}"))?;
        println!("metrics on http://{}/metrics", listener.local_addr()?);
        tokio::spawn(plugmill_host::metrics::serve_metrics(listener));
    }
    let report = host.load().await?;
    for rejected in &report.rejected {
        tracing::warn!(%rejected, "plugin rejected");
    }
    let _reloader = host.spawn_reloader();
    Tasks::work_as(&host, protocol, shutdown).await?;
    host.shutdown().await;
    Ok(ExitCode::SUCCESS)
}

/// Prints one record.
pub async fn show(args: &HostArgs, id: &str) -> anyhow::Result<ExitCode> {
    let host = Host::assemble(&args.options())?;
    let settings = TaskSettings::from_config(host.config())?;
    let records = plugmill_tasks::open_records(&host, &settings).await?;
    let Some(record) = records.get(id, &plugmill_tasks::Scope::All).await? else {
        eprintln!(
            "error: no task has id `{}`",
            plugmill::config::values::shorten(id)
        );
        return Ok(ExitCode::FAILURE);
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&record)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!("task      {} ({})", record.id, record.task);
    println!("status    {}", record.status.as_str());
    println!("attempts  {}", record.attempts);
    if let Some(by) = &record.executed_by {
        println!("by        {by}");
    }
    if let Some(tenant) = &record.tenant_id {
        println!("tenant    {tenant}");
    }
    println!("created   {}", record.created_at);
    if let Some(ended) = &record.ended_at {
        println!("ended     {ended}");
    }
    if let Some(error) = &record.error {
        println!("error     {error}");
    }
    for line in &record.logs {
        println!("  {}  {}", line.created_date, line.log_text);
    }
    Ok(ExitCode::SUCCESS)
}

/// Queues a failed task again; exit 1 if there is none or it did not fail.
pub async fn retry(args: &HostArgs, id: &str) -> anyhow::Result<ExitCode> {
    let host = Host::assemble(&args.options())?;
    let tasks = Tasks::open_publisher(&host).await?;
    let by = format!(
        "the command line ({})",
        std::env::var("USER").unwrap_or_else(|_| "operator".into())
    );
    let outcome = tasks.retry(id, &Scope::All, &by).await;
    tasks.shutdown().await;
    let shown = plugmill::config::values::shorten(id);
    match outcome? {
        Retried::Yes(record) => {
            tracing::info!(
                target: "plugmill::audit",
                action = "task.retry",
                subject = "command-line",
                target = id,
                outcome = "ok",
                "audit"
            );
            if args.json {
                println!("{}", serde_json::to_string_pretty(&record)?);
            } else {
                println!("task {} queued again", record.id);
            }
            Ok(ExitCode::SUCCESS)
        }
        Retried::NotFailed(record) => {
            eprintln!(
                "error: task `{shown}` is {}: only a FAILED task can be retried",
                record.status.as_str()
            );
            Ok(ExitCode::FAILURE)
        }
        Retried::Missing => {
            eprintln!("error: no task has id `{shown}`");
            Ok(ExitCode::FAILURE)
        }
    }
}

/// The filter `plugmill task list` was given, checked.
pub fn list_filter(
    status: Option<&str>,
    task: Option<String>,
    limit: u32,
    before: Option<&str>,
) -> anyhow::Result<ListFilter> {
    let status = status
        .map(Status::from_name)
        .transpose()
        .map_err(|e| anyhow::anyhow!("--status: {e}"))?;
    if !(1..=plugmill_tasks::scope::MAX_PAGE).contains(&limit) {
        anyhow::bail!(
            "--limit: {limit} is outside 1 to {}",
            plugmill_tasks::scope::MAX_PAGE
        );
    }
    let before = before
        .map(str::parse::<Cursor>)
        .transpose()
        .map_err(|e| anyhow::anyhow!("--before: {e}"))?;
    Ok(ListFilter {
        status,
        task,
        limit,
        before,
        since: None,
    })
}

/// Prints one page of records, newest first: every tenant's, or `tenant`'s.
pub async fn list(
    args: &HostArgs,
    tenant: Option<String>,
    filter: &ListFilter,
) -> anyhow::Result<ExitCode> {
    let host = Host::assemble(&args.options())?;
    let settings = TaskSettings::from_config(host.config())?;
    let records = plugmill_tasks::open_records(&host, &settings).await?;
    let scope = tenant.map_or(Scope::All, Scope::Tenant);
    let page = records.list(&scope, filter).await?;
    let next = page.next.map(|cursor| cursor.to_string());
    if args.json {
        let body = serde_json::json!({ "tasks": page.records, "next": next });
        println!("{}", serde_json::to_string_pretty(&body)?);
        return Ok(ExitCode::SUCCESS);
    }
    for record in &page.records {
        println!(
            "{}  {:<11}  {:<24}  {}  {}",
            record.id,
            record.status.as_str(),
            plugmill::config::values::shorten(&record.task),
            record.tenant_id.as_deref().unwrap_or("-"),
            record.created_at,
        );
    }
    if let Some(next) = next {
        println!("more: plugmill task list --before {next}");
    }
    Ok(ExitCode::SUCCESS)
}
