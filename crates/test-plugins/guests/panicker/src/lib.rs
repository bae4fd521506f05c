//! Adversarial: hook `boom` panics ("boom requested"); hook `oob` reads outside linear memory.

use exports::plugins_manager::common::plugin_common::Guest as PluginCommon;
use plugins_manager::common::types::Manifest;

wit_bindgen::generate!({
    path: ["../../../../wit/common"],
    generate_all,
    inline: r#"
        package test:panicker;

        world panicker {
            export plugins-manager:common/plugin-common;
            export boom: func() -> string;
            export oob: func() -> u32;
        }
    "#,
});

/// Just below 4 GiB: beyond any linear memory a host would grant this plugin.
const OUT_OF_BOUNDS: usize = 0xFFFF_FFF0;

struct Plugin;

impl PluginCommon for Plugin {
    fn get_manifest() -> Manifest {
        Manifest {
            plugin_name: "panicker".into(),
            hooks: vec!["boom".into(), "oob".into()],
            routes: vec![],
            tasks: vec![],
        }
    }
}

impl Guest for Plugin {
    fn boom() -> String {
        panic!("boom requested")
    }

    fn oob() -> u32 {
        // SAFETY: none; the read is meant to fault. Wasm bounds-checks it and traps.
        unsafe { core::ptr::read_volatile(OUT_OF_BOUNDS as *const u32) }
    }
}

export!(Plugin);
