//! The benchmark subject: one trivial string hook, `greet`, and nothing else.

use exports::plugins_manager::common::plugin_common::Guest as PluginCommon;
use plugins_manager::common::types::Manifest;

wit_bindgen::generate!({
    path: ["../../../../wit/common"],
    generate_all,
    inline: r#"
        package test:bench-greet;

        world bench-greet {
            export plugins-manager:common/plugin-common;
            export greet: func(name: string) -> string;
        }
    "#,
});

struct Plugin;

impl PluginCommon for Plugin {
    fn get_manifest() -> Manifest {
        Manifest {
            plugin_name: "bench-greet".into(),
            hooks: vec!["greet".into()],
            routes: Vec::new(),
            tasks: Vec::new(),
        }
    }
}

impl Guest for Plugin {
    fn greet(name: String) -> String {
        format!("hello, {name}")
    }
}

export!(Plugin);
