//! Deliberately broken: `get-manifest` never returns, so the host's load-time limits must stop it.

use core::hint::black_box;

use exports::plugins_manager::common::plugin_common::Guest as PluginCommon;
use plugins_manager::common::types::Manifest;

wit_bindgen::generate!({
    path: ["../../../../wit/common"],
    generate_all,
    inline: r#"
        package test:loop-manifest;

        world loop-manifest {
            export plugins-manager:common/plugin-common;
        }
    "#,
});

struct Plugin;

impl PluginCommon for Plugin {
    fn get_manifest() -> Manifest {
        // `black_box` keeps the optimizer from proving the loop side-effect free.
        let mut spins = 0u64;
        loop {
            spins = black_box(spins.wrapping_add(1));
        }
    }
}

export!(Plugin);
