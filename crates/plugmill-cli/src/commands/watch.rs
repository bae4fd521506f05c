//! `plugmill watch`: load, then reload on every change of the source and on SIGHUP, printing
//! each outcome (one JSON object per line with `--json`).

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use plugmill::{LoadError, LoadReport};
use serde_json::json;
use tokio::signal::unix::{signal, SignalKind};

use crate::args::HostArgs;

pub async fn run(host: &HostArgs, interval: Duration) -> anyhow::Result<ExitCode> {
    let manager = Arc::new(super::manager(host)?);
    let source: Arc<dyn plugmill::source::PluginSource> =
        Arc::from(crate::source::open(&host.plugins)?);
    // Handlers first: a SIGHUP sent as soon as the load is printed must not end the process.
    let mut hangups = signal(SignalKind::hangup())?;
    let mut interrupts = signal(SignalKind::interrupt())?;
    let mut terminations = signal(SignalKind::terminate())?;
    let report = manager.load(source.as_ref()).await?;
    print_outcome(host, "load", &Ok(report))?;
    let mut watch = manager.watch(source.clone(), interval);
    loop {
        tokio::select! {
            outcome = watch.next() => match outcome {
                Some(outcome) => print_outcome(host, "reload", &outcome)?,
                None => anyhow::bail!("the source watch stopped unexpectedly"),
            },
            _ = hangups.recv() => {
                let outcome = manager.reload(source.as_ref()).await;
                print_outcome(host, "reload", &outcome)?;
            }
            _ = interrupts.recv() => return Ok(ExitCode::SUCCESS),
            _ = terminations.recv() => return Ok(ExitCode::SUCCESS),
        }
    }
}

fn print_outcome(
    host: &HostArgs,
    event: &str,
    outcome: &Result<LoadReport, LoadError>,
) -> anyhow::Result<()> {
    let report = match outcome {
        Ok(report) => report,
        Err(error) => {
            if host.json {
                println!("{}", json!({"event": "error", "error": error.to_string()}));
            } else {
                eprintln!("{event} failed, the current plugins keep serving: {error}");
            }
            return Ok(());
        }
    };
    if host.json {
        let line = json!({
            "event": event,
            "plugins": report.loaded,
            "rejected": report.rejected,
            "skipped": report.skipped,
            "changes": report.changes,
            "cache": report.cache,
        });
        println!("{}", serde_json::to_string(&line)?);
        return Ok(());
    }
    let changes = &report.changes;
    let list = |names: &[String]| {
        if names.is_empty() {
            "-".to_string()
        } else {
            names.join(", ")
        }
    };
    println!(
        "{event}: {} plugin(s); added {}; updated {}; removed {}; {} compiled, {} from the cache, {} unchanged",
        report.loaded.len(),
        list(&changes.added),
        list(&changes.updated),
        list(&changes.removed),
        report.cache.compiled,
        report.cache.hits,
        report.cache.reused,
    );
    for kept in &changes.kept {
        println!("  kept the previous version: {kept}");
    }
    for rejection in report
        .rejected
        .iter()
        .filter(|r| !changes.kept.iter().any(|k| k.file == r.file))
    {
        println!("  rejected {rejection}");
    }
    Ok(())
}
