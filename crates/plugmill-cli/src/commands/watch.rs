//! `plugmill watch`: load, then reload on every change of the source and on SIGHUP, printing
//! each outcome (one JSON object per line with `--json`).

use std::process::ExitCode;
use std::time::Duration;

use plugmill::{LoadError, LoadReport};
use plugmill_host::Host;
use serde_json::json;

use crate::args::HostArgs;

pub async fn run(args: &HostArgs, interval: Duration) -> anyhow::Result<ExitCode> {
    let host = Host::assemble(&args.options())?;
    // The reloader's SIGHUP handler is installed before the load: a SIGHUP sent as soon as
    // the load is printed must not end the process.
    let mut reloader = host.spawn_reloader_every(None);
    // So are SIGTERM and SIGINT: they stop the watch at any point, the first load included.
    let shutdown = plugmill_host::shutdown_signal();
    tokio::pin!(shutdown);
    let report = tokio::select! {
        report = host.load() => report?,
        _ = &mut shutdown => return Ok(ExitCode::SUCCESS),
    };
    print_outcome(args, "load", &Ok(report))?;
    let mut watch = host.manager().watch(host.source().clone(), interval);
    loop {
        tokio::select! {
            outcome = watch.next() => match outcome {
                Some(outcome) => print_outcome(args, "reload", &outcome)?,
                None => anyhow::bail!("the source watch stopped unexpectedly"),
            },
            event = reloader.next() => match event {
                Some(event) => print_outcome(args, "reload", &event.outcome)?,
                None => anyhow::bail!("the SIGHUP handler stopped unexpectedly"),
            },
            _ = &mut shutdown => {
                host.shutdown().await;
                return Ok(ExitCode::SUCCESS);
            }
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
