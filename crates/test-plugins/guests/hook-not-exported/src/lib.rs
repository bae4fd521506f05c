//! Lists hook "missing-hook", which it does not export, next to an exported "greet".

use exports::plugins_manager::common::plugin_common::Guest as PluginCommon;
use plugins_manager::common::types::Manifest;

wit_bindgen::generate!({
    path: ["../../../../wit/common"],
    generate_all,
    inline: r#"
        package test:hook-not-exported;

        world hook-not-exported {
            export plugins-manager:common/plugin-common;
            export greet: func(name: string) -> string;
        }
    "#,
});

struct Plugin;

impl PluginCommon for Plugin {
    fn get_manifest() -> Manifest {
        Manifest {
            plugin_name: "hook-not-exported".into(),
            hooks: vec!["missing-hook".into(), "greet".into()],
            routes: vec![],
            tasks: vec![],
        }
    }
}

impl Guest for Plugin {
    fn greet(name: String) -> String {
        format!("hello, {name}")
    }
}

export!(Plugin);
