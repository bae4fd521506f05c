//! The well-behaved reference plugin: hooks with rich types, every route/task shape, a fresh-instance counter.

use std::sync::atomic::{AtomicU32, Ordering};

use exports::plugins_manager::common::plugin_common::Guest as PluginCommon;
use plugins_manager::common::types::{Manifest, PluginRoute};

wit_bindgen::generate!({
    path: ["../../../../wit/common"],
    generate_all,
    inline: r#"
        package test:valid;

        world valid {
            export plugins-manager:common/plugin-common;

            record point { x: f64, y: f64 }
            enum color { red, green, blue }
            flags perms { read, write, exec }
            variant shape { circle(f64), rect(point), empty }
            record item {
                name: string,
                tags: list<string>,
                color: color,
                perms: perms,
                origin: option<point>,
                size: tuple<u8, u16>,
                count: u64,
                ratio: f32,
                initial: char,
                ok: bool,
                delta: s64,
                small: s8,
                shape: shape,
            }

            export greet: func(name: string) -> string;
            export add: func(a: s32, b: s32) -> s32;
            export describe: func(input: item) -> result<item, string>;
            export counter: func() -> u32;

            export echo: func(data: string) -> result<string, string>;
            export process: func(data: string) -> result<string, string>;
            export fail: func(data: string) -> result<string, string>;
            export unit-route: func(data: string) -> result<_, string>;
            export plain: func(data: string) -> result<string, string>;

            export cleanup: func(data: string) -> result<string, string>;
        }
    "#,
});

/// Calls served by this instance; a fresh instance per call always answers 1.
static CALLS: AtomicU32 = AtomicU32::new(0);

struct Valid;

fn route(path: &str, handler: &str, process_as_task: bool) -> PluginRoute {
    PluginRoute {
        path: path.into(),
        handler: handler.into(),
        process_as_task,
    }
}

impl PluginCommon for Valid {
    fn get_manifest() -> Manifest {
        Manifest {
            plugin_name: "valid".into(),
            hooks: ["greet", "add", "describe", "counter"]
                .map(String::from)
                .to_vec(),
            routes: vec![
                route("/valid/echo", "echo", false),
                route("/valid/process", "process", true),
                route("/valid/fail", "fail", false),
                route("/valid/unit", "unit-route", false),
                route("/valid/plain", "plain", false),
            ],
            tasks: vec!["cleanup".into()],
        }
    }
}

impl Guest for Valid {
    fn greet(name: String) -> String {
        format!("hello, {name}")
    }

    fn add(a: i32, b: i32) -> i32 {
        a.wrapping_add(b)
    }

    fn describe(input: Item) -> Result<Item, String> {
        if input.name.is_empty() {
            return Err("empty name".into());
        }
        Ok(Item {
            name: input.name.to_uppercase(),
            ..input
        })
    }

    fn counter() -> u32 {
        CALLS.fetch_add(1, Ordering::Relaxed) + 1
    }

    fn echo(data: String) -> Result<String, String> {
        Ok(data)
    }

    fn process(data: String) -> Result<String, String> {
        if data.contains(r#""fail":true"#) || data.contains(r#""fail": true"#) {
            return Err("processing refused".into());
        }
        Ok(format!(r#"{{"processed":true,"len":{}}}"#, data.len()))
    }

    fn fail(data: String) -> Result<String, String> {
        Err(format!("fail handler refused: {data}"))
    }

    fn unit_route(_data: String) -> Result<(), String> {
        Ok(())
    }

    fn plain(_data: String) -> Result<String, String> {
        Ok("not json text".into())
    }

    fn cleanup(data: String) -> Result<String, String> {
        Ok(format!("cleaned {data}"))
    }
}

export!(Valid);
