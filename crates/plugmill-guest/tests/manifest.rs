//! `plugin!` against the module layout `wit_bindgen::generate!` produces at a crate root,
//! written out here so the test runs without a wasm build.

mod plugins_manager {
    pub mod common {
        pub mod types {
            #[derive(Debug, PartialEq)]
            pub struct PluginRoute {
                pub path: String,
                pub handler: String,
                pub process_as_task: bool,
            }
            #[derive(Debug, PartialEq)]
            pub struct Manifest {
                pub plugin_name: String,
                pub hooks: Vec<String>,
                pub routes: Vec<PluginRoute>,
                pub tasks: Vec<String>,
            }
        }
    }
}

mod exports {
    pub mod plugins_manager {
        pub mod common {
            pub mod plugin_common {
                pub trait Guest {
                    fn get_manifest() -> crate::plugins_manager::common::types::Manifest;
                }
            }
        }
    }
}

/// The world's own exports, as wit-bindgen names them.
trait Guest {
    fn greet(name: String) -> String;
    fn echo(data: String) -> Result<String, String>;
    fn report(data: String) -> Result<String, String>;
    fn nightly_cleanup(data: String) -> Result<String, String>;
}

struct Hello;

impl Guest for Hello {
    fn greet(name: String) -> String {
        format!("Hello, {name}!")
    }
    fn echo(data: String) -> Result<String, String> {
        Ok(data)
    }
    fn report(data: String) -> Result<String, String> {
        Ok(data)
    }
    fn nightly_cleanup(_: String) -> Result<String, String> {
        Err("nothing to clean".into())
    }
}

plugmill_guest::plugin! {
    component: Hello,
    name: "hello",
    hooks: [greet],
    routes: ["/hello/echo" => echo, "/hello/report" => report as task],
    tasks: [nightly_cleanup],
}

use exports::plugins_manager::common::plugin_common::Guest as PluginCommon;
use plugins_manager::common::types::{Manifest, PluginRoute};

#[test]
fn the_declaration_becomes_the_manifest_with_wit_names() {
    assert_eq!(
        <Hello as PluginCommon>::get_manifest(),
        Manifest {
            plugin_name: "hello".into(),
            hooks: vec!["greet".into()],
            routes: vec![
                PluginRoute {
                    path: "/hello/echo".into(),
                    handler: "echo".into(),
                    process_as_task: false
                },
                PluginRoute {
                    path: "/hello/report".into(),
                    handler: "report".into(),
                    process_as_task: true
                },
            ],
            tasks: vec!["nightly-cleanup".into()],
        }
    );
}

mod empty {
    //! Every list may be left out.
    use super::{exports, plugins_manager};

    #[allow(dead_code)]
    trait Guest {}
    pub struct Quiet;
    impl Guest for Quiet {}

    plugmill_guest::plugin! { component: Quiet, name: "quiet" }

    #[test]
    fn a_plugin_may_declare_nothing() {
        use exports::plugins_manager::common::plugin_common::Guest as _;
        let manifest = Quiet::get_manifest();
        assert_eq!(manifest.plugin_name, "quiet");
        assert!(
            manifest.hooks.is_empty() && manifest.routes.is_empty() && manifest.tasks.is_empty()
        );
    }
}
