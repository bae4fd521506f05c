//! A typical plugin (JSON in and out, serde) whose name the start-up benchmark stamps into its bytes, for fleets of distinct plugins.

use exports::plugins_manager::common::plugin_common::Guest as PluginCommon;
use plugins_manager::common::types::{Manifest, PluginRoute};
use serde::{Deserialize, Serialize};

wit_bindgen::generate!({
    path: ["../../../../wit/common"],
    generate_all,
    inline: r#"
        package test:bench-startup;

        world bench-startup {
            export plugins-manager:common/plugin-common;
            export greet: func(name: string) -> string;
            export summarize: func(data: string) -> result<string, string>;
        }
    "#,
});

/// The plugin's name, padded with `_`: the benchmark replaces these bytes in the compiled
/// file (same length), so each copy is a distinct plugin with a distinct name.
static NAME: [u8; 32] = *b"bench-startup-__________________";

fn name() -> String {
    let bytes = core::hint::black_box(&NAME);
    String::from_utf8_lossy(bytes).trim_end_matches('_').to_string()
}

#[derive(Deserialize)]
struct Order {
    id: String,
    lines: Vec<Line>,
}

#[derive(Deserialize)]
struct Line {
    sku: String,
    quantity: u32,
    cents: u64,
}

#[derive(Serialize)]
struct Summary {
    plugin: String,
    id: String,
    items: u32,
    total_cents: u64,
    skus: Vec<String>,
}

struct Plugin;

impl PluginCommon for Plugin {
    fn get_manifest() -> Manifest {
        let name = name();
        Manifest {
            routes: vec![PluginRoute {
                path: format!("/{name}/summarize"),
                handler: "summarize".into(),
                process_as_task: true,
            }],
            plugin_name: name,
            hooks: vec!["greet".into()],
            tasks: vec![],
        }
    }
}

impl Guest for Plugin {
    fn greet(name: String) -> String {
        format!("hello, {name}")
    }

    fn summarize(data: String) -> Result<String, String> {
        let order: Order = serde_json::from_str(&data).map_err(|e| format!("bad order: {e}"))?;
        let summary = Summary {
            plugin: name(),
            id: order.id,
            items: order.lines.iter().map(|l| l.quantity).sum(),
            total_cents: order.lines.iter().map(|l| l.cents * u64::from(l.quantity)).sum(),
            skus: order.lines.into_iter().map(|l| l.sku).collect(),
        };
        serde_json::to_string(&summary).map_err(|e| e.to_string())
    }
}

export!(Plugin);
