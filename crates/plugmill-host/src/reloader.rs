//! [`Reloader`]: reloads a manager's plugins on SIGHUP and, optionally, by polling the source.

use std::sync::Arc;
use std::time::Duration;

use plugmill::source::PluginSource;
use plugmill::{LoadError, LoadReport, PluginManager};
use tokio::sync::mpsc;

/// What started a reload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReloadTrigger {
    /// A poll found the source changed.
    Poll,
    /// The process received SIGHUP.
    Signal,
}

/// One reload and its outcome.
#[derive(Debug)]
pub struct ReloadEvent {
    /// What started it.
    pub trigger: ReloadTrigger,
    /// The report, or why the current plugins keep serving.
    pub outcome: Result<LoadReport, LoadError>,
}

/// A running reloader. Its events are logged; [`Reloader::next`] also hands them to the
/// front end. Dropping it stops reloading.
pub struct Reloader {
    task: tokio::task::JoinHandle<()>,
    events: mpsc::UnboundedReceiver<ReloadEvent>,
}

impl Reloader {
    pub(crate) fn spawn(
        manager: Arc<PluginManager>,
        source: Arc<dyn PluginSource>,
        interval: Option<Duration>,
    ) -> Self {
        let (sender, events) = mpsc::unbounded_channel();
        // The handler is installed before this returns, so a SIGHUP right after never ends
        // the process.
        let hangups = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup());
        let task = tokio::spawn(async move {
            let mut hangups = match hangups {
                Ok(hangups) => Some(hangups),
                Err(error) => {
                    tracing::warn!(%error, "cannot listen for SIGHUP; reloads happen only by polling");
                    None
                }
            };
            let mut watch = interval.map(|every| manager.watch(source.clone(), every));
            loop {
                let event = tokio::select! {
                    Some(outcome) = next_watch_event(&mut watch) => ReloadEvent {
                        trigger: ReloadTrigger::Poll,
                        outcome,
                    },
                    Some(()) = next_hangup(&mut hangups) => ReloadEvent {
                        trigger: ReloadTrigger::Signal,
                        outcome: manager.reload(source.as_ref()).await,
                    },
                    else => return,
                };
                log(&event);
                crate::metrics::record_reload(event.outcome.is_ok());
                if let Ok(report) = &event.outcome {
                    crate::metrics::record_load(report);
                }
                // Nobody listening is fine: the event was logged.
                let _ = sender.send(event);
            }
        });
        Self { task, events }
    }

    /// The next reload; `None` once reloading has stopped.
    pub async fn next(&mut self) -> Option<ReloadEvent> {
        self.events.recv().await
    }
}

impl Drop for Reloader {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn next_watch_event(
    watch: &mut Option<plugmill::Watch>,
) -> Option<Result<LoadReport, LoadError>> {
    match watch {
        Some(watch) => watch.next().await,
        None => std::future::pending().await,
    }
}

async fn next_hangup(hangups: &mut Option<tokio::signal::unix::Signal>) -> Option<()> {
    match hangups {
        Some(hangups) => hangups.recv().await,
        None => std::future::pending().await,
    }
}

fn log(event: &ReloadEvent) {
    match &event.outcome {
        Ok(report) => {
            let changes = &report.changes;
            tracing::info!(
                trigger = ?event.trigger,
                plugins = report.loaded.len(),
                added = ?changes.added,
                updated = ?changes.updated,
                removed = ?changes.removed,
                rejected = report.rejected.len(),
                "plugins reloaded"
            );
        }
        Err(error) => {
            tracing::warn!(trigger = ?event.trigger, %error, "reload failed; the current plugins keep serving")
        }
    }
}
