//! The registry stage: which plugin answers what. hook -> plugins in load order; route ->
//! exactly one (plugin, handler); task -> every (plugin, handler) that registered it. A route
//! with `process-as-task` also registers its handler as a task.
//!
//! A [`Registry`] is immutable once built; the manager holds it behind an `Arc` and a reload
//! swaps in a new one, one [generation](Registry::generation) later, so calls in flight keep
//! the snapshot they started with. A route is resolved once into a [`RouteMatch`], which the
//! call, the front end's log line and its metrics all take their plugin from.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;

use crate::loader::{Problem, RejectionCode};
use crate::plugin::{FastMap, Plugin};

/// The plugin and handler serving one route.
#[derive(Clone)]
pub struct RouteTarget {
    /// The plugin.
    pub plugin: Arc<Plugin>,
    /// The exported handler function.
    pub handler: String,
    /// Whether the handler is also registered as a task.
    pub task: bool,
}

/// One plugin's handler for a task.
#[derive(Clone)]
pub struct TaskTarget {
    /// The plugin.
    pub plugin: Arc<Plugin>,
    /// The exported handler function.
    pub handler: String,
}

/// A route resolved against one registry: the plugin and handler serving it, and the
/// generation of the registry that resolved it.
#[derive(Clone)]
pub struct RouteMatch {
    /// The plugin.
    pub plugin: Arc<Plugin>,
    /// The exported handler function.
    pub handler: String,
    /// Whether the handler is also registered as a task.
    pub task: bool,
    /// The generation of the registry the route was resolved in.
    pub generation: u64,
}

/// An immutable snapshot of every loaded plugin and what it answers.
#[derive(Clone, Default)]
pub struct Registry {
    plugins: Vec<Arc<Plugin>>,
    by_name: FastMap<String, Arc<Plugin>>,
    hooks: FastMap<String, Vec<Arc<Plugin>>>,
    routes: FastMap<String, RouteTarget>,
    tasks: FastMap<String, Vec<TaskTarget>>,
    generation: u64,
}

impl Registry {
    /// How many registries the manager swapped in before this one: 0 for the empty registry
    /// a manager starts with, 1 after the first load, one more after each reload.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// This registry as generation `generation`.
    pub(crate) fn with_generation(mut self, generation: u64) -> Self {
        self.generation = generation;
        self
    }

    /// Every plugin, in load order.
    pub fn plugins(&self) -> &[Arc<Plugin>] {
        &self.plugins
    }

    /// The plugin called `name`.
    pub fn plugin(&self, name: &str) -> Option<&Arc<Plugin>> {
        self.by_name.get(name)
    }

    /// The plugins registered for `hook`, in load order (empty when none).
    pub fn hook(&self, hook: &str) -> &[Arc<Plugin>] {
        self.hooks.get(hook).map(Vec::as_slice).unwrap_or_default()
    }

    /// The handler of `path`.
    pub fn route(&self, path: &str) -> Option<&RouteTarget> {
        self.routes.get(path)
    }

    /// The handler of `path` with this registry's generation, to carry into the call.
    pub fn match_route(&self, path: &str) -> Option<RouteMatch> {
        let target = self.routes.get(path)?;
        Some(RouteMatch {
            plugin: target.plugin.clone(),
            handler: target.handler.clone(),
            task: target.task,
            generation: self.generation,
        })
    }

    /// The handlers registered for `task` (empty when none).
    pub fn task(&self, task: &str) -> &[TaskTarget] {
        self.tasks.get(task).map(Vec::as_slice).unwrap_or_default()
    }

    /// The tables as `plugmill list --json` shows them (sorted for stable output).
    pub fn listing(&self) -> Listing {
        let names =
            |plugins: &[Arc<Plugin>]| plugins.iter().map(|p| p.name().to_string()).collect();
        Listing {
            hooks: self
                .hooks
                .iter()
                .map(|(h, ps)| (h.clone(), names(ps)))
                .collect(),
            routes: self
                .routes
                .iter()
                .map(|(path, t)| {
                    let entry = RouteListing {
                        plugin: t.plugin.name().to_string(),
                        handler: t.handler.clone(),
                        task: t.task,
                    };
                    (path.clone(), entry)
                })
                .collect(),
            tasks: self
                .tasks
                .iter()
                .map(|(task, ts)| {
                    (
                        task.clone(),
                        ts.iter().map(|t| t.plugin.name().to_string()).collect(),
                    )
                })
                .collect(),
        }
    }

    /// Builds a registry from plugins in load order: the first plugin with a name, and the
    /// first to claim a route, wins; later ones are returned with the reason.
    pub(crate) fn build(plugins: Vec<Arc<Plugin>>) -> (Registry, Vec<(Arc<Plugin>, Problem)>) {
        let mut registry = Registry::default();
        let mut refused = Vec::new();
        for plugin in plugins {
            match registry.conflict(&plugin) {
                Some(reason) => refused.push((plugin, reason)),
                None => registry.insert(plugin),
            }
        }
        (registry, refused)
    }

    fn conflict(&self, plugin: &Plugin) -> Option<Problem> {
        if let Some(owner) = self.by_name.get(plugin.name()) {
            return Some(Problem::new(
                RejectionCode::DuplicateName,
                format!(
                    "the plugin name `{}` is already taken by {}",
                    plugin.name(),
                    owner.file()
                ),
            ));
        }
        let claimed: Vec<String> = plugin
            .manifest()
            .routes
            .iter()
            .filter_map(|r| {
                self.routes.get(&r.path).map(|t| {
                    format!(
                        "route `{}` is already served by plugin `{}`",
                        r.path,
                        t.plugin.name()
                    )
                })
            })
            .collect();
        (!claimed.is_empty())
            .then(|| Problem::new(RejectionCode::RouteConflict, claimed.join("; ")))
    }

    fn insert(&mut self, plugin: Arc<Plugin>) {
        let manifest = plugin.manifest();
        for hook in &manifest.hooks {
            let plugins = self.hooks.entry(hook.clone()).or_default();
            if !plugins.iter().any(|p| Arc::ptr_eq(p, &plugin)) {
                plugins.push(plugin.clone());
            }
        }
        let mut add_task = |task: &str| {
            let targets = self.tasks.entry(task.to_string()).or_default();
            if !targets.iter().any(|t| Arc::ptr_eq(&t.plugin, &plugin)) {
                targets.push(TaskTarget {
                    plugin: plugin.clone(),
                    handler: task.to_string(),
                });
            }
        };
        for task in &manifest.tasks {
            add_task(task);
        }
        for route in manifest.routes.iter().filter(|r| r.process_as_task) {
            add_task(&route.handler);
        }
        for route in &manifest.routes {
            self.routes.insert(
                route.path.clone(),
                RouteTarget {
                    plugin: plugin.clone(),
                    handler: route.handler.clone(),
                    task: route.process_as_task,
                },
            );
        }
        self.by_name
            .insert(plugin.name().to_string(), plugin.clone());
        self.plugins.push(plugin);
    }
}

/// The registry tables in `plugmill list --json` form.
#[derive(Clone, Debug, Serialize)]
pub struct Listing {
    /// hook -> plugin names.
    pub hooks: BTreeMap<String, Vec<String>>,
    /// path -> handler.
    pub routes: BTreeMap<String, RouteListing>,
    /// task -> plugin names.
    pub tasks: BTreeMap<String, Vec<String>>,
}

/// One route in a [`Listing`].
#[derive(Clone, Debug, Serialize)]
pub struct RouteListing {
    /// The plugin serving it.
    pub plugin: String,
    /// The handler function.
    pub handler: String,
    /// Whether it is also a task.
    pub task: bool,
}
