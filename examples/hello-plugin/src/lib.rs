//! An example plugmill plugin: two hooks, a route, a route processed as a task, and a task.

use exports::plugins_manager::common::plugin_common::Guest as PluginCommon;
use plugins_manager::common::types::{Manifest, PluginRoute};
use serde_json::{json, Value};

wit_bindgen::generate!({
    world: "example:hello-plugin/hello-plugin",
    // The shared contract first (`plugins-manager:common`, in the plugmill repository's
    // `wit/common`), then this plugin's own `wit/`. Paths are relative to Cargo.toml.
    // See README.md for building this plugin outside the plugmill repository.
    path: ["../../wit/common", "wit"],
    generate_all,
});

/// Every route path must start with `/{plugin name}/`.
const NAME: &str = "hello-plugin";

struct HelloPlugin;

impl PluginCommon for HelloPlugin {
    fn get_manifest() -> Manifest {
        Manifest {
            plugin_name: NAME.into(),
            hooks: vec!["greet".into(), "on-event".into()],
            routes: vec![
                PluginRoute {
                    path: format!("/{NAME}/echo"),
                    handler: "echo".into(),
                    process_as_task: false,
                },
                PluginRoute {
                    path: format!("/{NAME}/report"),
                    handler: "report".into(),
                    process_as_task: true,
                },
            ],
            tasks: vec!["nightly-cleanup".into()],
        }
    }
}

impl Guest for HelloPlugin {
    fn greet(name: String) -> String {
        format!("Hello, {name}!")
    }

    fn on_event(kind: String, count: u32) -> Result<String, String> {
        if kind.is_empty() {
            return Err("on-event: `kind` must not be empty".into());
        }
        Ok(format!("handled {count} {kind} event(s)"))
    }

    fn echo(data: String) -> Result<String, String> {
        let value: Value =
            serde_json::from_str(&data).map_err(|e| format!("echo: the body is not JSON: {e}"))?;
        Ok(json!({ "echo": value }).to_string())
    }

    fn report(data: String) -> Result<String, String> {
        Ok(json!({ "report": "ready", "input_bytes": data.len() }).to_string())
    }

    fn nightly_cleanup(_data: String) -> Result<String, String> {
        Ok(json!({ "task": "nightly-cleanup", "removed": 0 }).to_string())
    }
}

export!(HelloPlugin);
