//! Deliberately broken: `get-manifest` panics, which traps the instance (wasm `unreachable`).

use exports::plugins_manager::common::plugin_common::Guest as PluginCommon;
use plugins_manager::common::types::Manifest;

wit_bindgen::generate!({
    path: ["../../../../wit/common"],
    generate_all,
    inline: r#"
        package test:trap-manifest;

        world trap-manifest {
            export plugins-manager:common/plugin-common;
        }
    "#,
});

struct Plugin;

impl PluginCommon for Plugin {
    fn get_manifest() -> Manifest {
        panic!("trap-manifest: get-manifest refuses to answer")
    }
}

export!(Plugin);
