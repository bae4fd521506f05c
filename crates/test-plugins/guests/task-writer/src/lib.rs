//! Plugin `task-writer`, for the tasks' effect tests: tasks `write` and `process` (the latter also registered by `fixture`) each insert one row `(key)` into table `task_rows` through the seed's transaction interface, on database `hasura` (or `keycloak` with `"database": "keycloak"`), commit, then wait `ms` milliseconds and answer; `"refuse": true` makes them fail after the commit.

use exports::plugins_manager::common::plugin_common::Guest as PluginCommon;
use plugins_manager::common::types::Manifest;
use plugins_manager::transactions_manager::transaction as seed;
use serde_json::{json, Value};

wit_bindgen::generate!({
    path: ["../../../../wit/common", "../../../../wit/transactions-manager"],
    generate_all,
    inline: r#"
        package test:task-writer;

        world task-writer {
            import plugins-manager:transactions-manager/transaction;
            export plugins-manager:common/plugin-common;
            export write: func(data: string) -> result<string, string>;
            export process: func(data: string) -> result<string, string>;
        }
    "#,
});

const INSERT: &str = "INSERT INTO task_rows (key) VALUES ($1)";

struct Plugin;

impl PluginCommon for Plugin {
    fn get_manifest() -> Manifest {
        Manifest {
            plugin_name: "task-writer".into(),
            hooks: vec![],
            routes: vec![],
            tasks: vec!["write".into(), "process".into()],
        }
    }
}

fn write_row(data: &str) -> Result<String, String> {
    let data: Value =
        serde_json::from_str(data).map_err(|e| format!("the task's data is not JSON: {e}"))?;
    let key = data["key"].as_str().ok_or("the task's data has no `key` string")?.to_owned();
    if data["database"] == "keycloak" {
        seed::create_keycloak_transaction()?;
        seed::execute_keycloak_query(INSERT, &[key.clone()])?;
        seed::commit_keycloak_transaction()?;
    } else {
        seed::create_hasura_transaction()?;
        seed::execute_hasura_query(INSERT, &[key.clone()])?;
        seed::commit_hasura_transaction()?;
    }
    if let Some(ms) = data["ms"].as_u64() {
        std::thread::sleep(std::time::Duration::from_millis(ms));
    }
    if data["refuse"].as_bool().unwrap_or(false) {
        return Err(format!("wrote `{key}`, then refused: as asked"));
    }
    Ok(json!({ "wrote": key }).to_string())
}

impl Guest for Plugin {
    fn write(data: String) -> Result<String, String> {
        write_row(&data)
    }

    fn process(data: String) -> Result<String, String> {
        write_row(&data)
    }
}

export!(Plugin);
