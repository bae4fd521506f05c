//! A second well-behaved plugin: overlaps `valid` on hook and task names, owns its own route.

use exports::plugins_manager::common::plugin_common::Guest as PluginCommon;
use plugins_manager::common::types::{Manifest, PluginRoute};

wit_bindgen::generate!({
    path: ["../../../../wit/common"],
    generate_all,
    inline: r#"
        package test:second-greeter;

        world second-greeter {
            export plugins-manager:common/plugin-common;
            export greet: func(name: string) -> string;
            export hello: func(data: string) -> result<string, string>;
            export cleanup: func(data: string) -> result<string, string>;
        }
    "#,
});

struct Plugin;

impl PluginCommon for Plugin {
    fn get_manifest() -> Manifest {
        Manifest {
            plugin_name: "second-greeter".into(),
            hooks: vec!["greet".into()],
            routes: vec![PluginRoute {
                path: "/second-greeter/hello".into(),
                handler: "hello".into(),
                process_as_task: false,
            }],
            tasks: vec!["cleanup".into()],
        }
    }
}

impl Guest for Plugin {
    fn greet(name: String) -> String {
        format!("hi from second, {name}")
    }

    fn hello(_data: String) -> Result<String, String> {
        Ok(r#"{"from":"second"}"#.into())
    }

    fn cleanup(_data: String) -> Result<String, String> {
        Ok("second cleaned".into())
    }
}

export!(Plugin);
