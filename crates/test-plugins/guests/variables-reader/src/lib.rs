//! Imports `plugmill:variables`; hook `read-variable(name)` answers the value or the error, as `undefined: ...` or `invalid-name: ...`.

use exports::plugins_manager::common::plugin_common::Guest as PluginCommon;
use plugins_manager::common::types::Manifest;
use plugmill::variables::variables::{get, Error};

wit_bindgen::generate!({
    path: ["../../../../wit/common", "../../../../wit/variables"],
    generate_all,
    inline: r#"
        package test:variables-reader;

        world variables-reader {
            import plugmill:variables/variables@0.1.0;
            export plugins-manager:common/plugin-common;
            export read-variable: func(name: string) -> result<string, string>;
        }
    "#,
});

struct Plugin;

impl PluginCommon for Plugin {
    fn get_manifest() -> Manifest {
        Manifest {
            plugin_name: "variables-reader".into(),
            hooks: vec!["read-variable".into()],
            routes: vec![],
            tasks: vec![],
        }
    }
}

impl Guest for Plugin {
    fn read_variable(name: String) -> Result<String, String> {
        get(&name).map_err(|error| match error {
            Error::Undefined(message) => format!("undefined: {message}"),
            Error::InvalidName(message) => format!("invalid-name: {message}"),
        })
    }
}

export!(Plugin);
