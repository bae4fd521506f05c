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
use crate::config::values::MAX_DURATION;
use crate::loader::{
    self, Changes, LoadError, LoadReport, LoadWarning, Problem, Rejection, RejectionCode,
};
use crate::plugin::Plugin;
use crate::registry::Registry;
use crate::source::{PluginSource, Versions};

/// The shortest interval between polls of a watched source.
const MIN_POLL_INTERVAL: Duration = Duration::from_millis(10);

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
    /// are carried over, not recompiled).
    ///
    /// The returned [`Watch`] receives a reload's report when the registry changed (plugins
    /// added, updated or removed, or a new version rejected and the previous one kept) or
    /// when the set of rejected files changed; and an error when a poll or a reload fails,
    /// once while the same error repeats. Files that could not be read are retried at every
    /// poll. Dropping the `Watch` stops the polling.
    pub fn watch(self: &Arc<Self>, source: Arc<dyn PluginSource>, interval: Duration) -> Watch {
        // Bounded: a zero interval would spin (and tokio refuses it), a huge one overflow.
        let interval = interval.clamp(MIN_POLL_INTERVAL, MAX_DURATION);
        let (sender, events) = mpsc::unbounded_channel();
        let poller = Poller {
            manager: Arc::clone(self),
            source,
            sender,
            seen: None,
            last_error: None,
            last_rejected: None,
        };
        let task = tokio::spawn(poller.run(interval));
        Watch { task, events }
    }

    async fn replace_registry(
        &self,
        source: &dyn PluginSource,
        keep_previous: bool,
    ) -> Result<LoadReport, LoadError> {
        let _one_at_a_time = self.reloading.lock().await;
        let fetched = source.fetch(self.load_options.limits).await?;
        let previous = self.registry();
        let carried_over = if keep_previous {
            previous.plugins()
        } else {
            &[]
        };
        let loaded = loader::load(
            &self.runtime,
            fetched.artifacts,
            &self.load_options,
            carried_over,
        )
        .await;
        let mut rejected = loaded.rejected;
        let unreadable = (fetched.unreadable.iter()).map(|s| (s, RejectionCode::Unreadable));
        let too_large = (fetched.too_large.iter()).map(|s| (s, RejectionCode::TooLarge));
        rejected.extend(unreadable.chain(too_large).map(|(skipped, code)| {
            let problem = Problem::new(code, skipped.reason.clone());
            Rejection::new(skipped.file.clone(), None, problem)
        }));
        let (registry, refused) = if keep_previous {
            build_keeping_previous(&previous, loaded.plugins, &rejected)
        } else {
            Registry::build(loaded.plugins)
        };
        rejected.extend(refused.into_iter().map(|(plugin, problem)| {
            Rejection::new(plugin.file(), Some(plugin.name().to_string()), problem)
        }));
        rejected.sort_by(|a, b| (&a.file, &a.reason).cmp(&(&b.file, &b.reason)));
        rejected.dedup();
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
        tracing::info!(
            source = %source.describe(),
            plugins = registry.plugins().len(),
            rejected = rejected.len(),
            "plugins loaded"
        );
        let loaded_summaries = registry.plugins().iter().map(|p| p.summary()).collect();
        let warnings = registry
            .plugins()
            .iter()
            .flat_map(|plugin| {
                plugin.warnings().iter().map(|message| LoadWarning {
                    file: plugin.file().to_string(),
                    plugin: plugin.name().to_string(),
                    message: message.clone(),
                })
            })
            .collect::<Vec<_>>();

        let registry = registry.with_generation(previous.generation() + 1);
        *self.registry.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(registry);
        Ok(LoadReport {
            loaded: loaded_summaries,
            rejected,
            warnings,
            skipped: fetched.skipped,
            unreadable: fetched.unreadable,
            changes,
            cache: loaded.cache,
        })
    }
}

/// Builds the registry from the new plugins, adding back the previous version of every
/// plugin whose new file was rejected, or refused by the registry. Files keep their order: a
/// restored version claims its routes before plugins of later files, as it did before.
fn build_keeping_previous(
    previous: &Registry,
    plugins: Vec<Arc<Plugin>>,
    rejected: &[Rejection],
) -> (Registry, Vec<(Arc<Plugin>, Problem)>) {
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

/// The state of a [`PluginManager::watch`] between polls.
struct Poller {
    manager: Arc<PluginManager>,
    source: Arc<dyn PluginSource>,
    sender: mpsc::UnboundedSender<Result<LoadReport, LoadError>>,
    /// The versions the registry reflects; `None` before the first poll.
    seen: Option<Versions>,
    /// The last error sent, so a repeating one is sent once.
    last_error: Option<String>,
    /// The rejections of the last reload; `None` before the first.
    last_rejected: Option<Vec<Rejection>>,
}

impl Poller {
    async fn run(mut self, interval: Duration) {
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            if !self.poll().await {
                return;
            }
        }
    }

    /// One poll; false once nobody listens.
    async fn poll(&mut self) -> bool {
        let versions = match self.source.versions().await {
            Ok(versions) => versions,
            Err(error) => return self.error(LoadError::from(error)),
        };
        if self.seen.as_ref() == Some(&versions) {
            return true;
        }
        match self.manager.reload(self.source.as_ref()).await {
            // The source could not be read: retried at the next poll.
            Err(error @ LoadError::Source(_)) => self.error(error),
            // Strict mode refused the files: that stands until they change.
            Err(error) => {
                self.seen = Some(versions);
                self.error(error)
            }
            Ok(report) => {
                self.last_error = None;
                let mut versions = versions;
                for unreadable in &report.unreadable {
                    versions.remove(&unreadable.file);
                }
                self.seen = Some(versions);
                let changes = &report.changes;
                let changed = !changes.is_empty() || !changes.kept.is_empty();
                let rejections_changed = self
                    .last_rejected
                    .as_ref()
                    .is_some_and(|last| last != &report.rejected);
                self.last_rejected = Some(report.rejected.clone());
                if changed || rejections_changed {
                    return self.sender.send(Ok(report)).is_ok();
                }
                true
            }
        }
    }

    /// Sends `error` unless it repeats the last one.
    fn error(&mut self, error: LoadError) -> bool {
        let message = error.to_string();
        if self.last_error.as_ref() == Some(&message) {
            return true;
        }
        tracing::warn!(source = %self.source.describe(), %error, "plugin reload failed");
        self.last_error = Some(message);
        self.sender.send(Err(error)).is_ok()
    }
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
