//! Imports `test:unknown/secret-service`, which no host provides; `harmless` never touches it.

use exports::plugins_manager::common::plugin_common::Guest as PluginCommon;
use plugins_manager::common::types::Manifest;

wit_bindgen::generate!({
    path: ["../../../../wit/common"],
    generate_all,
    inline: r#"
        package test:unknown;

        interface secret-service {
            fetch: func(key: string) -> string;
        }

        world unknown-import {
            import secret-service;
            export plugins-manager:common/plugin-common;
            export use-secret: func() -> string;
            export harmless: func() -> string;
        }
    "#,
});

struct Plugin;

impl PluginCommon for Plugin {
    fn get_manifest() -> Manifest {
        Manifest {
            plugin_name: "unknown-import".into(),
            hooks: vec!["use-secret".into(), "harmless".into()],
            routes: vec![],
            tasks: vec![],
        }
    }
}

impl Guest for Plugin {
    fn use_secret() -> String {
        test::unknown::secret_service::fetch("api-key")
    }

    fn harmless() -> String {
        "harmless ok".into()
    }
}

export!(Plugin);
