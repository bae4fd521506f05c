//! Loading and hot reload: a new registry is built aside and swapped in atomically.
//!
//! [`PluginManager::reload`] reads the source again and compiles only what changed: a plugin
//! whose file has the same sha256 is carried over as it is (warm instances, counters and
//! all). Calls in flight hold the registry snapshot they started with, so they finish on the
//! version they started on. A plugin whose new file is rejected keeps its previous version
//! serving, and the rejection is reported in [`Changes::kept`]. If the source cannot be read
//! at all, nothing changes.
//!
//! [`PluginManager::watch`] polls a source's cheap [`Versions`] (ETags, or file sizes and
//! times) and reloads when they change.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use super::PluginManager;
use crate::loader::{self, Changes, LoadError, LoadReport, Rejection};
use crate::plugin::Plugin;
use crate::registry::Registry;
use crate::source::{PluginSource, Versions};

impl PluginManager {
    /// Loads every plugin of `source` into a new registry, compiling each (or loading it from
    /// the precompiled cache), and swaps it in atomically. Rejected files are reported; in
    /// strict mode any rejection fails the load and the current registry stays.
    pub async fn load(&self, source: &dyn PluginSource) -> Result<LoadReport, LoadError> {
        self.replace_registry(source, false).await
    }

    /// Reads `source` again and swaps in a registry with its current plugins: unchanged files
    /// keep their loaded plugin, changed and added ones are loaded, removed ones go. A plugin
    /// whose new version is rejected keeps its previous version ([`Changes::kept`]). Calls in
    /// flight finish on the version they started with.
    pub async fn reload(&self, source: &dyn PluginSource) -> Result<LoadReport, LoadError> {
        self.replace_registry(source, true).await
    }

    /// Polls `source` every `interval` and reloads when its [`Versions`] change. The first
    /// poll, right away, reloads to pick up any change since the last load (unchanged files
    /// are carried over, not recompiled). Each reload that changed something arrives on the
    /// returned [`Watch`], and so does a failed poll (once while the source stays unreachable
    /// with the same error); dropping it stops the polling.
    pub fn watch(self: &Arc<Self>, source: Arc<dyn PluginSource>, interval: Duration) -> Watch {
        let (sender, events) = mpsc::unbounded_channel();
        let manager = Arc::clone(self);
        let task = tokio::spawn(async move {
            // Nothing seen yet: the first poll reloads, picking up any change made since the
            // last load, and reports it only if something changed.
            let mut seen: Option<Versions> = None;
            // The last poll failure reported: a source that stays down is reported once.
            let mut failing: Option<String> = None;
            let mut ticks = tokio::time::interval(interval);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                let versions = match source.versions().await {
                    Ok(versions) => {
                        failing = None;
                        versions
                    }
                    Err(error) => {
                        let message = error.to_string();
                        if failing.as_ref() == Some(&message) {
                            continue;
                        }
                        tracing::warn!(source = %source.describe(), %error, "cannot poll the plugin source");
                        failing = Some(message);
                        if sender.send(Err(LoadError::from(error))).is_err() {
                            return;
                        }
                        continue;
                    }
                };
                if seen.as_ref() == Some(&versions) {
                    continue;
                }
                let first = seen.is_none();
                let outcome = manager.reload(source.as_ref()).await;
                // A source that could not be read is retried at the next poll; any other
                // outcome stands until the files change again.
                if !matches!(outcome, Err(LoadError::Source(_))) {
                    seen = Some(versions);
                }
                let nothing_new = matches!(&outcome, Ok(report) if report.changes.is_empty() && report.changes.kept.is_empty());
                if first && nothing_new {
                    continue;
                }
                if sender.send(outcome).is_err() {
                    return;
                }
            }
        });
        Watch { task, events }
    }

    async fn replace_registry(
        &self,
        source: &dyn PluginSource,
        keep_previous: bool,
    ) -> Result<LoadReport, LoadError> {
        let _one_at_a_time = self.reloading.lock().await;
        let fetched = source.fetch().await?;
        let previous = self.registry();
        let carried_over = keep_previous.then_some(previous.as_ref());
        let loaded = loader::load(
            &self.runtime,
            fetched.artifacts,
            &self.load_options,
            carried_over,
        )
        .await;
        let mut rejected = loaded.rejected;
        rejected.extend(fetched.unreadable.into_iter().map(|unreadable| Rejection {
            file: unreadable.file,
            plugin: None,
            reason: unreadable.reason,
        }));
        let (registry, refused) = if keep_previous {
            build_keeping_previous(&previous, loaded.plugins, &rejected)
        } else {
            Registry::build(loaded.plugins)
        };
        rejected.extend(refused.into_iter().map(|(plugin, reason)| Rejection {
            file: plugin.file().to_string(),
            plugin: Some(plugin.name().to_string()),
            reason,
        }));
        rejected.sort_by(|a, b| a.file.cmp(&b.file));
        for rejection in &rejected {
            tracing::warn!(file = %rejection.file, plugin = ?rejection.plugin, reason = %rejection.reason, "plugin rejected");
        }
        if self.load_options.strict && !rejected.is_empty() {
            return Err(LoadError::Strict { rejected });
        }
        let changes = changes(&previous, &registry, &rejected);
        if !changes.kept.is_empty() {
            for kept in &changes.kept {
                tracing::warn!(file = %kept.file, reason = %kept.reason, "new version rejected, the previous version keeps serving");
            }
        }
        let loaded_summaries = registry.plugins().iter().map(|p| p.summary()).collect();
        *self.registry.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(registry);
        Ok(LoadReport {
            loaded: loaded_summaries,
            rejected,
            skipped: fetched.skipped,
            changes,
            cache: loaded.cache,
        })
    }
}

/// Builds the registry from the new plugins, adding back the previous version of every
/// plugin whose new file was rejected, or refused by the registry.
fn build_keeping_previous(
    previous: &Registry,
    plugins: Vec<Arc<Plugin>>,
    rejected: &[Rejection],
) -> (Registry, Vec<(Arc<Plugin>, String)>) {
    let (registry, refused) = Registry::build(plugins.clone());
    let failed_files: Vec<&str> = rejected
        .iter()
        .map(|r| r.file.as_str())
        .chain(refused.iter().map(|(plugin, _)| plugin.file()))
        .collect();
    let restored: Vec<Arc<Plugin>> = previous
        .plugins()
        .iter()
        .filter(|old| failed_files.contains(&old.file()) && registry.plugin(old.name()).is_none())
        .cloned()
        .collect();
    if restored.is_empty() {
        return (registry, refused);
    }
    let mut plugins: Vec<Arc<Plugin>> = plugins
        .into_iter()
        .filter(|new| !restored.iter().any(|old| old.file() == new.file()))
        .collect();
    plugins.extend(restored);
    plugins.sort_by(|a, b| a.file().cmp(b.file()));
    let (registry, mut refused_again) = Registry::build(plugins);
    // Report the refusals of the new versions, whose previous versions now serve.
    for (plugin, reason) in refused {
        if !refused_again.iter().any(|(p, _)| Arc::ptr_eq(p, &plugin)) {
            refused_again.push((plugin, reason));
        }
    }
    (registry, refused_again)
}

/// How `next` differs from `previous`, and which rejected files left a previous version
/// serving.
fn changes(previous: &Registry, next: &Registry, rejected: &[Rejection]) -> Changes {
    let mut changes = Changes::default();
    for plugin in next.plugins() {
        let name = plugin.name().to_string();
        match previous.plugin(plugin.name()) {
            None => changes.added.push(name),
            Some(old) if Arc::ptr_eq(old, plugin) => {
                let rejection = rejected.iter().find(|r| r.file == plugin.file());
                match rejection {
                    Some(rejection) => changes.kept.push(Rejection {
                        plugin: Some(name),
                        ..rejection.clone()
                    }),
                    None => changes.unchanged.push(name),
                }
            }
            Some(_) => changes.updated.push(name),
        }
    }
    for plugin in previous.plugins() {
        if next.plugin(plugin.name()).is_none() {
            changes.removed.push(plugin.name().to_string());
        }
    }
    changes
}

/// A running [`PluginManager::watch`]: yields the outcome of each reload it triggers. Dropping
/// it stops the polling.
pub struct Watch {
    task: tokio::task::JoinHandle<()>,
    events: mpsc::UnboundedReceiver<Result<LoadReport, LoadError>>,
}

impl Watch {
    /// The outcome of the next reload (or failed poll); `None` once polling has stopped.
    pub async fn next(&mut self) -> Option<Result<LoadReport, LoadError>> {
        self.events.recv().await
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.task.abort();
    }
}
