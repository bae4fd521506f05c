//! Adversarial: hook `huge` returns a string of `mb` megabytes (MiB) of 'x'.

use exports::plugins_manager::common::plugin_common::Guest as PluginCommon;
use plugins_manager::common::types::Manifest;

wit_bindgen::generate!({
    path: ["../../../../wit/common"],
    generate_all,
    inline: r#"
        package test:huge-result;

        world huge-result {
            export plugins-manager:common/plugin-common;
            export huge: func(mb: u32) -> string;
        }
    "#,
});

struct Plugin;

impl PluginCommon for Plugin {
    fn get_manifest() -> Manifest {
        Manifest {
            plugin_name: "huge-result".into(),
            hooks: vec!["huge".into()],
            routes: vec![],
            tasks: vec![],
        }
    }
}

impl Guest for Plugin {
    fn huge(mb: u32) -> String {
        "x".repeat(mb as usize * (1 << 20))
    }
}

export!(Plugin);
