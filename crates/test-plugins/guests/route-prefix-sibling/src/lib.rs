//! Plugin "valid-extra" owns `/valid-extra/x`: legal, and must not be confused with `/valid/`.

use exports::plugins_manager::common::plugin_common::Guest as PluginCommon;
use plugins_manager::common::types::{Manifest, PluginRoute};

wit_bindgen::generate!({
    path: ["../../../../wit/common"],
    generate_all,
    inline: r#"
        package test:route-prefix-sibling;

        world route-prefix-sibling {
            export plugins-manager:common/plugin-common;
            export handle: func(data: string) -> result<string, string>;
        }
    "#,
});

struct Plugin;

impl PluginCommon for Plugin {
    fn get_manifest() -> Manifest {
        Manifest {
            plugin_name: "valid-extra".into(),
            hooks: vec![],
            routes: vec![PluginRoute {
                path: "/valid-extra/x".into(),
                handler: "handle".into(),
                process_as_task: false,
            }],
            tasks: vec![],
        }
    }
}

impl Guest for Plugin {
    fn handle(_data: String) -> Result<String, String> {
        Ok(r#"{"from":"valid-extra"}"#.into())
    }
}

export!(Plugin);
