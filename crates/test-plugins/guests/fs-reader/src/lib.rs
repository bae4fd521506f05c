//! Adversarial: probes what WASI gives it: files, environment variables and arguments.

use exports::plugins_manager::common::plugin_common::Guest as PluginCommon;
use plugins_manager::common::types::Manifest;

wit_bindgen::generate!({
    path: ["../../../../wit/common"],
    generate_all,
    inline: r#"
        package test:fs-reader;

        world fs-reader {
            export plugins-manager:common/plugin-common;
            export read-passwd: func() -> result<string, string>;
            export read-env: func() -> list<tuple<string, string>>;
            export args: func() -> list<string>;
            export read-file: func(path: string) -> result<string, string>;
            export write-file: func(path: string, contents: string) -> result<_, string>;
        }
    "#,
});

struct Plugin;

impl PluginCommon for Plugin {
    fn get_manifest() -> Manifest {
        Manifest {
            plugin_name: "fs-reader".into(),
            hooks: ["read-passwd", "read-env", "args", "read-file", "write-file"]
                .map(String::from)
                .to_vec(),
            routes: vec![],
            tasks: vec![],
        }
    }
}

impl Guest for Plugin {
    fn read_passwd() -> Result<String, String> {
        Self::read_file("/etc/passwd".into())
    }

    fn read_env() -> Vec<(String, String)> {
        std::env::vars().collect()
    }

    fn args() -> Vec<String> {
        std::env::args().collect()
    }

    fn read_file(path: String) -> Result<String, String> {
        std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))
    }

    fn write_file(path: String, contents: String) -> Result<(), String> {
        std::fs::write(&path, contents).map_err(|e| format!("{path}: {e}"))
    }
}

export!(Plugin);
