//! Route handler `r` and task `t` are exported with signatures that cannot serve a route or task.

use exports::plugins_manager::common::plugin_common::Guest as PluginCommon;
use plugins_manager::common::types::{Manifest, PluginRoute};

wit_bindgen::generate!({
    path: ["../../../../wit/common"],
    generate_all,
    inline: r#"
        package test:bad-signature;

        world bad-signature {
            export plugins-manager:common/plugin-common;
            export r: func(a: u32, b: u32) -> u32;
            export t: func(data: list<u8>) -> string;
        }
    "#,
});

struct Plugin;

impl PluginCommon for Plugin {
    fn get_manifest() -> Manifest {
        Manifest {
            plugin_name: "bad-signature".into(),
            hooks: vec![],
            routes: vec![PluginRoute {
                path: "/bad-signature/r".into(),
                handler: "r".into(),
                process_as_task: false,
            }],
            tasks: vec!["t".into()],
        }
    }
}

impl Guest for Plugin {
    fn r(a: u32, b: u32) -> u32 {
        a.wrapping_add(b)
    }

    fn t(data: Vec<u8>) -> String {
        format!("{} bytes", data.len())
    }
}

export!(Plugin);
