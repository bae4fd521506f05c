//! Imports `test:host/greeting`, an interface an embedding application adds to the host.

use exports::plugins_manager::common::plugin_common::Guest as PluginCommon;
use plugins_manager::common::types::Manifest;

wit_bindgen::generate!({
    path: ["../../../../wit/common"],
    generate_all,
    inline: r#"
        package test:host;

        interface greeting {
            greeting-prefix: func() -> string;
        }

        world host-extension {
            import greeting;
            export plugins-manager:common/plugin-common;
            export greet: func(name: string) -> string;
        }
    "#,
});

struct Plugin;

impl PluginCommon for Plugin {
    fn get_manifest() -> Manifest {
        Manifest {
            plugin_name: "host-extension".into(),
            hooks: vec!["greet".into()],
            routes: vec![],
            tasks: vec![],
        }
    }
}

impl Guest for Plugin {
    fn greet(name: String) -> String {
        format!("{}{name}", test::host::greeting::greeting_prefix())
    }
}

export!(Plugin);
