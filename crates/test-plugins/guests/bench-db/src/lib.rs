//! The database benchmarks' subject: one-row SELECTs in a transaction, through the typed (`select-one`) and the seed (`select-one-seed`) interfaces, and `insert`, a task (route `/bench-db/insert`) that writes one row of `bench_tasks`: its data's `key`.

use exports::plugins_manager::common::plugin_common::Guest as PluginCommon;
use plugins_manager::common::types::{Manifest, PluginRoute};
use plugins_manager::transactions_manager::transaction as seed;
use plugmill::database::transactions::begin;
use plugmill::database::types::Value;

wit_bindgen::generate!({
    path: [
        "../../../../wit/common",
        "../../../../wit/transactions-manager",
        "../../../../wit/database",
    ],
    generate_all,
    inline: r#"
        package test:bench-db;

        world bench-db {
            import plugins-manager:transactions-manager/transaction;
            import plugmill:database/transactions@0.1.0;
            export plugins-manager:common/plugin-common;
            export select-one: func(id: s64) -> result<string, string>;
            export select-one-seed: func(id: string) -> result<string, string>;
            export insert: func(data: string) -> result<string, string>;
        }
    "#,
});

const SELECT: &str = "SELECT id, body FROM bench WHERE id = $1";
const INSERT: &str = "INSERT INTO bench_tasks (key) VALUES ($1)";

struct Plugin;

impl PluginCommon for Plugin {
    fn get_manifest() -> Manifest {
        Manifest {
            plugin_name: "bench-db".into(),
            hooks: vec!["select-one".into(), "select-one-seed".into()],
            routes: vec![PluginRoute {
                path: "/bench-db/insert".into(),
                handler: "insert".into(),
                process_as_task: true,
            }],
            tasks: vec![],
        }
    }
}

impl Guest for Plugin {
    fn select_one(id: i64) -> Result<String, String> {
        let tx = begin("hasura").map_err(|e| e.message)?;
        let rows = tx.query(SELECT, &[Value::Int(id)]).map_err(|e| e.message)?;
        tx.commit().map_err(|e| e.message)?;
        match rows.rows.first().and_then(|row| row.get(1)) {
            Some(Value::Text(body)) => Ok(body.clone()),
            other => Err(format!("unexpected row: {other:?}")),
        }
    }

    fn select_one_seed(id: String) -> Result<String, String> {
        seed::create_hasura_transaction()?;
        let rows = seed::execute_hasura_query(SELECT, &[id])?;
        seed::commit_hasura_transaction()?;
        Ok(rows)
    }

    fn insert(data: String) -> Result<String, String> {
        let data: serde_json::Value =
            serde_json::from_str(&data).map_err(|e| format!("the task's data is not JSON: {e}"))?;
        let key = data["key"].as_str().ok_or("the task's data has no `key` string")?.to_owned();
        let tx = begin("hasura").map_err(|e| e.message)?;
        tx.execute(INSERT, &[Value::Text(key)]).map_err(|e| e.message)?;
        tx.commit().map_err(|e| e.message)?;
        Ok("{}".into())
    }
}

export!(Plugin);
