//! Claims the plugin name "valid", which the `valid` test plugin already uses.

use exports::plugins_manager::common::plugin_common::Guest as PluginCommon;
use plugins_manager::common::types::Manifest;

wit_bindgen::generate!({
    path: ["../../../../wit/common"],
    generate_all,
    inline: r#"
        package test:duplicate-name;

        world duplicate-name {
            export plugins-manager:common/plugin-common;
            export greet: func(name: string) -> string;
        }
    "#,
});

struct Plugin;

impl PluginCommon for Plugin {
    fn get_manifest() -> Manifest {
        Manifest {
            plugin_name: "valid".into(),
            hooks: vec!["greet".into()],
            routes: vec![],
            tasks: vec![],
        }
    }
}

impl Guest for Plugin {
    fn greet(name: String) -> String {
        format!("hello from the impostor, {name}")
    }
}

export!(Plugin);
