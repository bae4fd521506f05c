//! A benchmark subject whose hook waits: `wait(micros)` sleeps that long (a stand-in for a database query or a network call) and returns it.

use exports::plugins_manager::common::plugin_common::Guest as PluginCommon;
use plugins_manager::common::types::Manifest;

wit_bindgen::generate!({
    path: ["../../../../wit/common"],
    generate_all,
    inline: r#"
        package test:bench-wait;

        world bench-wait {
            export plugins-manager:common/plugin-common;
            export wait: func(micros: u32) -> u32;
        }
    "#,
});

struct Plugin;

impl PluginCommon for Plugin {
    fn get_manifest() -> Manifest {
        Manifest {
            plugin_name: "bench-wait".into(),
            hooks: vec!["wait".into()],
            routes: Vec::new(),
            tasks: Vec::new(),
        }
    }
}

impl Guest for Plugin {
    fn wait(micros: u32) -> u32 {
        // On wasm32-wasip2 this is `wasi:clocks` subscribe + poll: the host waits
        // asynchronously, without holding a thread.
        std::thread::sleep(std::time::Duration::from_micros(u64::from(micros)));
        micros
    }
}

export!(Plugin);
