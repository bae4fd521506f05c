//! Plugin `fixture`, for the server's and the tasks' tests: routes that echo, wait, fail, trap, spin and answer the claims they were given; process, wait, trap and spin are also tasks (`process` refuses while `refuse_until_ms` is ahead).

use exports::plugins_manager::common::plugin_common::Guest as PluginCommon;
use plugins_manager::common::types::{Manifest, PluginRoute};
use serde_json::{json, Value};

wit_bindgen::generate!({
    path: ["../../../../wit/common"],
    generate_all,
    inline: r#"
        package test:http-fixture;

        world http-fixture {
            export plugins-manager:common/plugin-common;
            export echo: func(data: string) -> result<string, string>;
            export wait: func(data: string) -> result<string, string>;
            export fail: func(data: string) -> result<string, string>;
            export trap: func(data: string) -> result<string, string>;
            export spin: func(data: string) -> result<string, string>;
            export claims: func(data: string) -> result<string, string>;
            export process: func(data: string) -> result<string, string>;
        }
    "#,
});

struct Plugin;

fn route(name: &str, process_as_task: bool) -> PluginRoute {
    PluginRoute {
        path: format!("/fixture/{name}"),
        handler: name.into(),
        process_as_task,
    }
}

fn input(data: &str) -> Value {
    serde_json::from_str(data).unwrap_or(Value::Null)
}

impl PluginCommon for Plugin {
    fn get_manifest() -> Manifest {
        Manifest {
            plugin_name: "fixture".into(),
            hooks: vec![],
            routes: ["echo", "fail", "claims"]
                .iter()
                .map(|name| route(name, false))
                .chain(["process", "wait", "trap", "spin"].iter().map(|name| route(name, true)))
                .collect(),
            tasks: vec![],
        }
    }
}

impl Guest for Plugin {
    fn echo(data: String) -> Result<String, String> {
        Ok(data)
    }

    fn wait(data: String) -> Result<String, String> {
        let ms = input(&data)["ms"].as_u64().unwrap_or(100);
        std::thread::sleep(std::time::Duration::from_millis(ms));
        Ok(json!({ "waited_ms": ms }).to_string())
    }

    fn fail(_data: String) -> Result<String, String> {
        Err("the fixture refuses: as asked".into())
    }

    fn trap(_data: String) -> Result<String, String> {
        panic!("the fixture traps: as asked")
    }

    fn spin(_data: String) -> Result<String, String> {
        let mut n: u64 = 0;
        loop {
            n = std::hint::black_box(n.wrapping_add(1));
        }
    }

    fn claims(data: String) -> Result<String, String> {
        Ok(json!({ "claims": input(&data)["claims"] }).to_string())
    }

    fn process(data: String) -> Result<String, String> {
        let input = input(&data);
        if input["fail"].as_bool().unwrap_or(false) {
            return Err("processing refused".into());
        }
        // Refuses until this time (milliseconds since the epoch), then processes.
        if let Some(until) = input["refuse_until_ms"].as_u64() {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64);
            if now < until {
                return Err("processing refused for now".into());
            }
        }
        if let Some(ms) = input["ms"].as_u64() {
            std::thread::sleep(std::time::Duration::from_millis(ms));
        }
        Ok(json!({
            "processed": true,
            "document_id": input["document_id"],
            "task_execution": input["task_execution"],
            "claims": input["claims"],
        })
        .to_string())
    }
}

export!(Plugin);
