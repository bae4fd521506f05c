// Shared by reloadable-v1 and reloadable-v2, which differ only in `VERSION`.

use exports::plugins_manager::common::plugin_common::Guest as PluginCommon;
use plugins_manager::common::types::{Manifest, PluginRoute};

wit_bindgen::generate!({
    path: ["../../../../wit/common"],
    generate_all,
    inline: r#"
        package test:reloadable;

        world reloadable {
            export plugins-manager:common/plugin-common;
            export version: func(sleep-ms: u32) -> string;
            export describe: func(data: string) -> result<string, string>;
        }
    "#,
});

struct Plugin;

impl PluginCommon for Plugin {
    fn get_manifest() -> Manifest {
        Manifest {
            plugin_name: "reloadable".into(),
            hooks: vec!["version".into()],
            routes: vec![PluginRoute {
                path: "/reloadable/describe".into(),
                handler: "describe".into(),
                process_as_task: false,
            }],
            tasks: vec![],
        }
    }
}

impl Guest for Plugin {
    /// Sleeps `sleep_ms` (so a test can hold a call in flight), then answers the version.
    fn version(sleep_ms: u32) -> String {
        std::thread::sleep(std::time::Duration::from_millis(sleep_ms.into()));
        VERSION.into()
    }

    fn describe(_data: String) -> Result<String, String> {
        Ok(format!(r#"{{"version":"{VERSION}"}}"#))
    }
}

export!(Plugin);
