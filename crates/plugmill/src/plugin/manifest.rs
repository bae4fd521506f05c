//! The manifest a plugin returns from `get-manifest`, and the rules a manifest must follow.
//!
//! The Rust types mirror `plugins-manager:common/types` (`wit/common/plugin.wit`) and are
//! lifted straight from the component.

use serde::Serialize;
use wasmtime::component::{ComponentType, Lift};

use crate::config::names::check_plugin_name;

/// A route a plugin serves (`plugin-route` in WIT).
#[derive(ComponentType, Lift, Clone, Debug, PartialEq, Eq, Serialize)]
#[component(record)]
pub struct Route {
    /// The path, which must start with `/{plugin-name}/`.
    pub path: String,
    /// The exported function that handles it.
    pub handler: String,
    /// Whether the handler is also registered as a task.
    #[component(name = "process-as-task")]
    pub process_as_task: bool,
}

/// A plugin's manifest (`manifest` in WIT).
#[derive(ComponentType, Lift, Clone, Debug, PartialEq, Eq, Serialize)]
#[component(record)]
pub struct Manifest {
    /// The plugin's unique name.
    #[component(name = "plugin-name")]
    pub plugin_name: String,
    /// Hooks the plugin answers: each is an exported function of the same name.
    pub hooks: Vec<String>,
    /// Routes the plugin serves.
    pub routes: Vec<Route>,
    /// Tasks the plugin runs: each is an exported function of the same name.
    pub tasks: Vec<String>,
}

/// The prefix every route of plugin `name` must start with.
pub fn route_prefix(name: &str) -> String {
    format!("/{name}/")
}

/// Checks the manifest's own consistency: the name, route prefixes, duplicate routes, empty
/// entries. Export signatures are checked against the component elsewhere.
pub fn check_manifest(manifest: &Manifest) -> Vec<String> {
    let mut problems = Vec::new();
    if let Err(problem) = check_plugin_name(&manifest.plugin_name) {
        problems.push(problem);
    }
    let prefix = route_prefix(&manifest.plugin_name);
    let mut seen = std::collections::HashSet::new();
    for route in &manifest.routes {
        let path = shown(&route.path);
        if !route.path.starts_with(&prefix) || route.path.len() == prefix.len() {
            problems.push(format!(
                "route `{path}` is outside the plugin's prefix: routes of `{}` must start with `{}` and name something after it",
                shown(&manifest.plugin_name),
                shown(&prefix)
            ));
        } else if let Some(problem) = path_problem(&route.path) {
            problems.push(format!("route `{path}` {problem}"));
        }
        if !seen.insert(route.path.as_str()) {
            problems.push(format!("route `{path}` is declared twice"));
        }
    }
    for (kind, names) in [("hook", &manifest.hooks), ("task", &manifest.tasks)] {
        if names.iter().any(|n| n.is_empty()) {
            problems.push(format!("the manifest lists an empty {kind} name"));
        }
    }
    problems
}

/// Longest route path accepted.
pub const MAX_PATH_LEN: usize = 256;

/// What is wrong with a route path's characters, if anything: routes become URL paths.
fn path_problem(path: &str) -> Option<String> {
    if path.len() > MAX_PATH_LEN {
        return Some(format!(
            "is {} bytes long, more than {MAX_PATH_LEN}",
            path.len()
        ));
    }
    let bad = path
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "-_.~/".contains(*c)))?;
    Some(format!(
        "contains {bad:?}: route paths are made of letters, digits, '-', '_', '.', '~' and '/'"
    ))
}

/// A name from a manifest as messages quote it: control characters escaped, long names cut.
pub fn shown(name: &str) -> String {
    crate::config::values::shorten(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(name: &str, paths: &[&str]) -> Manifest {
        Manifest {
            plugin_name: name.into(),
            hooks: vec![],
            routes: paths
                .iter()
                .map(|p| Route {
                    path: (*p).into(),
                    handler: "h".into(),
                    process_as_task: false,
                })
                .collect(),
            tasks: vec![],
        }
    }

    #[test]
    fn routes_must_sit_under_the_plugin_prefix() {
        assert!(check_manifest(&manifest("a", &["/a/x"])).is_empty());
        let problems = check_manifest(&manifest("a", &["/b/x", "/ab/x", "/a/", "/a"]));
        assert_eq!(problems.len(), 4, "{problems:?}");
        assert!(problems[0].contains("outside the plugin's prefix"));
    }

    #[test]
    fn route_paths_are_url_path_characters_and_quoted_escaped() {
        let problems = check_manifest(&manifest(
            "a",
            &["/a/x y", "/a/\nforged line", "/a/ok-1.2_~/x"],
        ));
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].contains("contains ' '"), "{problems:?}");
        assert!(problems[1].contains("/a/\\nforged line"), "{problems:?}");
        assert!(!problems.iter().any(|p| p.contains('\n')));
    }

    /// Found by the `manifest` fuzz target: a control character in the plugin name, quoted
    /// inside the route prefix.
    #[test]
    fn no_message_carries_a_raw_control_character() {
        let problems = check_manifest(&manifest("\u{16}", &["", "/\u{16}/x\n"]));
        assert!(!problems.is_empty());
        for problem in problems {
            assert!(!problem.chars().any(char::is_control), "{problem:?}");
        }
    }

    #[test]
    fn duplicate_routes_are_reported() {
        let problems = check_manifest(&manifest("a", &["/a/x", "/a/x"]));
        assert_eq!(problems, vec!["route `/a/x` is declared twice".to_string()]);
    }
}
