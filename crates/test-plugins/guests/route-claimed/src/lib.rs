//! Declares the same route path twice (handlers `first` and `second`); the second must be rejected.

use exports::plugins_manager::common::plugin_common::Guest as PluginCommon;
use plugins_manager::common::types::{Manifest, PluginRoute};

wit_bindgen::generate!({
    path: ["../../../../wit/common"],
    generate_all,
    inline: r#"
        package test:route-claimed;

        world route-claimed {
            export plugins-manager:common/plugin-common;
            export first: func(data: string) -> result<string, string>;
            export second: func(data: string) -> result<string, string>;
        }
    "#,
});

struct Plugin;

fn dup(handler: &str) -> PluginRoute {
    PluginRoute {
        path: "/route-claimed/dup".into(),
        handler: handler.into(),
        process_as_task: false,
    }
}

impl PluginCommon for Plugin {
    fn get_manifest() -> Manifest {
        Manifest {
            plugin_name: "route-claimed".into(),
            hooks: vec![],
            routes: vec![dup("first"), dup("second")],
            tasks: vec![],
        }
    }
}

impl Guest for Plugin {
    fn first(_data: String) -> Result<String, String> {
        Ok("first".into())
    }

    fn second(_data: String) -> Result<String, String> {
        Ok("second".into())
    }
}

export!(Plugin);
