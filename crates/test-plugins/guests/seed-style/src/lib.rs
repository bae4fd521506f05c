//! Written the way seed-system plugins are (world in `wit/`), to prove such plugins load unchanged.

use exports::plugins_manager::common::plugin_common::Guest as PluginCommon;
use plugins_manager::common::types::{Manifest, PluginRoute};

wit_bindgen::generate!({
    world: "test:seed-style/seed-style",
    path: ["../../../../wit/common", "wit"],
    generate_all,
});

struct Plugin;

impl PluginCommon for Plugin {
    fn get_manifest() -> Manifest {
        Manifest {
            plugin_name: "seed-style".into(),
            hooks: vec!["my-hook".into()],
            routes: vec![PluginRoute {
                path: "/seed-style/create-transmission-package".into(),
                handler: "create-transmission-package".into(),
                process_as_task: true,
            }],
            tasks: vec![],
        }
    }
}

impl Guest for Plugin {
    fn create_transmission_package(_data: String) -> Result<(), String> {
        Ok(())
    }

    fn my_hook(arg1: i32, arg2: String) -> String {
        format!("{arg2}:{arg1}")
    }
}

export!(Plugin);
