// Shared by db-client and db-peer (included with `include!`): runs a JSON script of database
// operations through both database interfaces and reports every outcome as JSON, so tests
// drive transactions step by step and assert on what the host answered.

use exports::plugins_manager::common::plugin_common::Guest as PluginCommon;
use plugins_manager::common::types::Manifest;
use plugins_manager::transactions_manager::transaction as seed;
use plugmill::database::transactions::{begin, Transaction};
use plugmill::database::types::Value;
use serde::Deserialize;
use serde_json::{json, Value as Json};

wit_bindgen::generate!({
    path: [
        "../../../../wit/common",
        "../../../../wit/transactions-manager",
        "../../../../wit/database",
    ],
    generate_all,
    additional_derives: [serde::Serialize, serde::Deserialize],
    inline: r#"
        package test:db-client;

        world db-client {
            import plugins-manager:transactions-manager/transaction;
            import plugmill:database/transactions@0.1.0;
            export plugins-manager:common/plugin-common;
            export seed: func(script: string) -> result<string, string>;
            export typed: func(script: string) -> result<string, string>;
        }
    "#,
});

/// One step of a seed script.
#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum SeedOp {
    Create(String),
    Execute(String, String, Vec<String>),
    Commit(String),
    Trap(String),
    Spin,
    SleepMs(u64),
}

/// One step of a typed script; transactions are numbered in the order they were begun.
#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum TypedOp {
    Begin(String),
    Query(usize, String, Vec<Value>),
    QueryJson(usize, String, Vec<Value>),
    Execute(usize, String, Vec<Value>),
    Commit(usize),
    Rollback(usize),
    Drop(usize),
    Database(usize),
    Trap(String),
    Spin,
    SleepMs(u64),
}

fn parse<T: for<'de> Deserialize<'de>>(script: &str) -> Result<Vec<T>, String> {
    serde_json::from_str(script).map_err(|e| format!("bad script: {e}"))
}

fn outcome<T: serde::Serialize, E: serde::Serialize>(result: Result<T, E>) -> Json {
    match result {
        Ok(value) => json!({ "ok": value }),
        Err(error) => json!({ "err": error }),
    }
}

fn spin() -> ! {
    let mut n: u64 = 0;
    loop {
        n = std::hint::black_box(n.wrapping_add(1));
    }
}

fn hasura_or_keycloak(database: &str) -> Result<bool, String> {
    match database {
        "hasura" => Ok(true),
        "keycloak" => Ok(false),
        other => Err(format!("the seed interface has no database `{other}`")),
    }
}

struct Plugin;

impl PluginCommon for Plugin {
    fn get_manifest() -> Manifest {
        Manifest {
            plugin_name: PLUGIN_NAME.into(),
            hooks: vec!["seed".into(), "typed".into()],
            routes: vec![],
            tasks: vec![],
        }
    }
}

impl Guest for Plugin {
    fn seed(script: String) -> Result<String, String> {
        let mut results = Vec::new();
        for op in parse::<SeedOp>(&script)? {
            let result = match op {
                SeedOp::Create(db) => outcome(hasura_or_keycloak(&db).and_then(|hasura| {
                    if hasura {
                        seed::create_hasura_transaction()
                    } else {
                        seed::create_keycloak_transaction()
                    }
                })),
                SeedOp::Execute(db, sql, params) => {
                    let rows = hasura_or_keycloak(&db).and_then(|hasura| {
                        if hasura {
                            seed::execute_hasura_query(&sql, &params)
                        } else {
                            seed::execute_keycloak_query(&sql, &params)
                        }
                    });
                    outcome(rows.map(|text| serde_json::from_str::<Json>(&text).unwrap_or(Json::String(text))))
                }
                SeedOp::Commit(db) => outcome(hasura_or_keycloak(&db).and_then(|hasura| {
                    if hasura {
                        seed::commit_hasura_transaction()
                    } else {
                        seed::commit_keycloak_transaction()
                    }
                })),
                SeedOp::Trap(message) => panic!("{message}"),
                SeedOp::Spin => spin(),
                SeedOp::SleepMs(ms) => {
                    std::thread::sleep(std::time::Duration::from_millis(ms));
                    json!({ "ok": null })
                }
            };
            results.push(result);
        }
        Ok(Json::Array(results).to_string())
    }

    fn typed(script: String) -> Result<String, String> {
        let mut transactions: Vec<Option<Transaction>> = Vec::new();
        let mut results = Vec::new();
        for op in parse::<TypedOp>(&script)? {
            let tx = |index: usize, transactions: &Vec<Option<Transaction>>| -> Result<(), String> {
                match transactions.get(index) {
                    Some(Some(_)) => Ok(()),
                    _ => Err(format!("script: no transaction {index}")),
                }
            };
            let result = match op {
                TypedOp::Begin(db) => match begin(&db) {
                    Ok(transaction) => {
                        transactions.push(Some(transaction));
                        json!({ "ok": transactions.len() - 1 })
                    }
                    Err(error) => json!({ "err": error }),
                },
                TypedOp::Query(i, sql, params) => {
                    tx(i, &transactions)?;
                    outcome(transactions[i].as_ref().unwrap().query(&sql, &params))
                }
                TypedOp::QueryJson(i, sql, params) => {
                    tx(i, &transactions)?;
                    let text = transactions[i].as_ref().unwrap().query_json(&sql, &params);
                    outcome(text.map(|t| serde_json::from_str::<Json>(&t).unwrap_or(Json::String(t))))
                }
                TypedOp::Execute(i, sql, params) => {
                    tx(i, &transactions)?;
                    outcome(transactions[i].as_ref().unwrap().execute(&sql, &params))
                }
                TypedOp::Commit(i) => {
                    tx(i, &transactions)?;
                    outcome(transactions[i].as_ref().unwrap().commit())
                }
                TypedOp::Rollback(i) => {
                    tx(i, &transactions)?;
                    outcome(transactions[i].as_ref().unwrap().rollback())
                }
                TypedOp::Drop(i) => {
                    tx(i, &transactions)?;
                    transactions[i] = None;
                    json!({ "ok": null })
                }
                TypedOp::Database(i) => {
                    tx(i, &transactions)?;
                    json!({ "ok": transactions[i].as_ref().unwrap().database() })
                }
                TypedOp::Trap(message) => panic!("{message}"),
                TypedOp::Spin => spin(),
                TypedOp::SleepMs(ms) => {
                    std::thread::sleep(std::time::Duration::from_millis(ms));
                    json!({ "ok": null })
                }
            };
            results.push(result);
        }
        // Transactions still open are dropped here, which rolls them back; a test that wants
        // one left open at the end of the call keeps it alive with `std::mem::forget`.
        for transaction in transactions.into_iter().flatten() {
            std::mem::forget(transaction);
        }
        Ok(Json::Array(results).to_string())
    }
}

export!(Plugin);
