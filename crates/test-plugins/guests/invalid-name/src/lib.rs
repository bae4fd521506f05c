//! Declares the plugin name "Bad_Name", which breaks the lowercase/digits/'-' naming rule.

use exports::plugins_manager::common::plugin_common::Guest as PluginCommon;
use plugins_manager::common::types::Manifest;

wit_bindgen::generate!({
    path: ["../../../../wit/common"],
    generate_all,
    inline: r#"
        package test:invalid-name;

        world invalid-name {
            export plugins-manager:common/plugin-common;
            export greet: func(name: string) -> string;
        }
    "#,
});

struct Plugin;

impl PluginCommon for Plugin {
    fn get_manifest() -> Manifest {
        Manifest {
            plugin_name: "Bad_Name".into(),
            hooks: vec!["greet".into()],
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
