//! Adversarial: hook `spin` never returns (the host must interrupt it); `quick` and `/spin/ok` behave.

use core::hint::black_box;

use exports::plugins_manager::common::plugin_common::Guest as PluginCommon;
use plugins_manager::common::types::{Manifest, PluginRoute};

wit_bindgen::generate!({
    path: ["../../../../wit/common"],
    generate_all,
    inline: r#"
        package test:spin;

        world spin {
            export plugins-manager:common/plugin-common;
            export spin: func() -> string;
            export quick: func() -> string;
            export ok: func(data: string) -> result<string, string>;
        }
    "#,
});

struct Plugin;

impl PluginCommon for Plugin {
    fn get_manifest() -> Manifest {
        Manifest {
            plugin_name: "spin".into(),
            hooks: vec!["spin".into(), "quick".into()],
            routes: vec![PluginRoute {
                path: "/spin/ok".into(),
                handler: "ok".into(),
                process_as_task: false,
            }],
            tasks: vec![],
        }
    }
}

impl Guest for Plugin {
    fn spin() -> String {
        // `black_box` keeps the optimizer from proving the loop side-effect free.
        let mut spins = 0u64;
        loop {
            spins = black_box(spins.wrapping_add(1));
        }
    }

    fn quick() -> String {
        "quick".into()
    }

    fn ok(_data: String) -> Result<String, String> {
        Ok("fine".into())
    }
}

export!(Plugin);
