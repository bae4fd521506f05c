//! Adversarial: hook `flood` writes 50 MiB to stdout; `hello-out` writes one line to stdout and stderr.

use std::io::Write;

use exports::plugins_manager::common::plugin_common::Guest as PluginCommon;
use plugins_manager::common::types::Manifest;

wit_bindgen::generate!({
    path: ["../../../../wit/common"],
    generate_all,
    inline: r#"
        package test:stdout-flood;

        world stdout-flood {
            export plugins-manager:common/plugin-common;
            export flood: func() -> string;
            export hello-out: func() -> string;
        }
    "#,
});

const FLOOD_BYTES: usize = 50 << 20;
const LINE_BYTES: usize = 1024;

struct Plugin;

impl PluginCommon for Plugin {
    fn get_manifest() -> Manifest {
        Manifest {
            plugin_name: "stdout-flood".into(),
            hooks: vec!["flood".into(), "hello-out".into()],
            routes: vec![],
            tasks: vec![],
        }
    }
}

impl Guest for Plugin {
    fn flood() -> String {
        let mut line = [b'x'; LINE_BYTES];
        line[LINE_BYTES - 1] = b'\n';
        let mut out = std::io::stdout().lock();
        for _ in 0..FLOOD_BYTES / LINE_BYTES {
            // A host that closes or caps the stream ends the flood early; that is its right.
            if out.write_all(&line).is_err() {
                break;
            }
        }
        let _ = out.flush();
        "flooded".into()
    }

    fn hello_out() -> String {
        println!("hello from plugin stdout");
        eprintln!("hello from plugin stderr");
        "printed".into()
    }
}

export!(Plugin);
