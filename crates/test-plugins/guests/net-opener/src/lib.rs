//! Adversarial: hook `connect` tries to open a TCP connection to `addr`.

use exports::plugins_manager::common::plugin_common::Guest as PluginCommon;
use plugins_manager::common::types::Manifest;

wit_bindgen::generate!({
    path: ["../../../../wit/common"],
    generate_all,
    inline: r#"
        package test:net-opener;

        world net-opener {
            export plugins-manager:common/plugin-common;
            export connect: func(addr: string) -> result<string, string>;
        }
    "#,
});

struct Plugin;

impl PluginCommon for Plugin {
    fn get_manifest() -> Manifest {
        Manifest {
            plugin_name: "net-opener".into(),
            hooks: vec!["connect".into()],
            routes: vec![],
            tasks: vec![],
        }
    }
}

impl Guest for Plugin {
    fn connect(addr: String) -> Result<String, String> {
        std::net::TcpStream::connect(&addr)
            .map(|_| "connected".into())
            .map_err(|e| format!("{addr}: {e}"))
    }
}

export!(Plugin);
