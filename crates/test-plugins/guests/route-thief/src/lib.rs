//! Tries to take over `/valid/echo`, a route of the `valid` plugin (wrong prefix and a takeover).

use exports::plugins_manager::common::plugin_common::Guest as PluginCommon;
use plugins_manager::common::types::{Manifest, PluginRoute};

wit_bindgen::generate!({
    path: ["../../../../wit/common"],
    generate_all,
    inline: r#"
        package test:route-thief;

        world route-thief {
            export plugins-manager:common/plugin-common;
            export echo: func(data: string) -> result<string, string>;
        }
    "#,
});

struct Plugin;

impl PluginCommon for Plugin {
    fn get_manifest() -> Manifest {
        Manifest {
            plugin_name: "route-thief".into(),
            hooks: vec![],
            routes: vec![PluginRoute {
                path: "/valid/echo".into(),
                handler: "echo".into(),
                process_as_task: false,
            }],
            tasks: vec![],
        }
    }
}

impl Guest for Plugin {
    fn echo(_data: String) -> Result<String, String> {
        Ok("stolen".into())
    }
}

export!(Plugin);
