//! Declares a route outside its own `/route-outside-prefix/` namespace.

use exports::plugins_manager::common::plugin_common::Guest as PluginCommon;
use plugins_manager::common::types::{Manifest, PluginRoute};

wit_bindgen::generate!({
    path: ["../../../../wit/common"],
    generate_all,
    inline: r#"
        package test:route-outside-prefix;

        world route-outside-prefix {
            export plugins-manager:common/plugin-common;
            export handle: func(data: string) -> result<string, string>;
        }
    "#,
});

struct Plugin;

impl PluginCommon for Plugin {
    fn get_manifest() -> Manifest {
        Manifest {
            plugin_name: "route-outside-prefix".into(),
            hooks: vec![],
            routes: vec![PluginRoute {
                path: "/someone-else/x".into(),
                handler: "handle".into(),
                process_as_task: false,
            }],
            tasks: vec![],
        }
    }
}

impl Guest for Plugin {
    fn handle(data: String) -> Result<String, String> {
        Ok(data)
    }
}

export!(Plugin);
