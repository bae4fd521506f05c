//! SQLite, the embedded default: a real file, read back natively to check what was stored.

use std::path::PathBuf;
use std::time::Duration;

use plugmill::capabilities::database::{DatabaseSpec, Databases};
use plugmill::CallError;
use serde_json::json;
use sqlx::sqlite::SqlitePoolOptions;
use tempfile::TempDir;

use super::{load_clients, ok, run, typed_err};
use crate::builder;

struct File {
    _dir: TempDir,
    path: PathBuf,
}

impl File {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plugmill.db");
        Self { _dir: dir, path }
    }

    fn url(&self) -> String {
        format!("sqlite://{}", self.path.display())
    }

    /// Rows of `table`, read by a connection of the test's own.
    async fn count(&self, table: &str) -> i64 {
        let pool = SqlitePoolOptions::new().connect(&self.url()).await.unwrap();
        let sql = format!("SELECT count(*) FROM {table}");
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_one(&pool)
            .await
            .unwrap()
    }
}

async fn client(
    file: &File,
    spec: impl FnOnce(&mut DatabaseSpec),
) -> (plugmill::PluginManager, TempDir) {
    let mut database = DatabaseSpec::from_url(&file.url()).unwrap();
    spec(&mut database);
    let builder = builder()
        .call_timeout(Duration::from_secs(3))
        .with_capability(|databases: &mut Databases| {
            databases.insert("hasura", database);
            databases.grant("db-client", "hasura");
        });
    load_clients(builder, false).await
}

#[tokio::test]
async fn commit_rollback_trap_and_an_open_transaction_on_a_sqlite_file() {
    let file = File::new();
    let (manager, _dir) = client(&file, |spec| spec.max_connections = 1).await;
    let steps = run(
        &manager,
        "seed",
        json!([
            {"create": "hasura"},
            {"execute": ["hasura", "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)", []]},
            {"execute": ["hasura", "INSERT INTO notes (body) VALUES ($1) RETURNING id, body", ["kept"]]},
            {"commit": "hasura"},
        ]),
    )
    .await
    .unwrap();
    assert_eq!(ok(&steps[2]), &json!([{"id": 1, "body": "kept"}]));
    assert_eq!(file.count("notes").await, 1, "the commit reached the file");

    let steps = run(
        &manager,
        "typed",
        json!([
            {"begin": "hasura"},
            {"execute": [0, "INSERT INTO notes (body) VALUES (?)", [{"Text": "rolled back"}]]},
            {"rollback": 0},
            {"begin": "hasura"},
            {"execute": [1, "INSERT INTO notes (body) VALUES ('left open')", []]},
        ]),
    )
    .await
    .unwrap();
    ok(&steps[4]);
    assert_eq!(
        file.count("notes").await,
        1,
        "rolled back and left-open rows are gone"
    );

    let error = run(
        &manager,
        "typed",
        json!([
            {"begin": "hasura"},
            {"execute": [0, "INSERT INTO notes (body) VALUES ('trapped')", []]},
            {"trap": "boom"},
        ]),
    )
    .await
    .unwrap_err();
    assert!(matches!(error, CallError::Trap { .. }), "{error}");
    assert_eq!(file.count("notes").await, 1, "a trap leaves nothing");

    // One connection in the pool: every call above gave it back.
    let steps = run(
        &manager,
        "typed",
        json!([{"begin": "hasura"}, {"query": [0, "SELECT body FROM notes", []]}, {"commit": 0}]),
    )
    .await
    .unwrap();
    assert_eq!(ok(&steps[1])["rows"], json!([[{"Text": "kept"}]]));
}

#[tokio::test]
async fn sqlite_values_round_trip_by_storage_class() {
    let file = File::new();
    let (manager, _dir) = client(&file, |_| {}).await;
    let steps = run(
        &manager,
        "typed",
        json!([
            {"begin": "hasura"},
            {"execute": [0, "CREATE TABLE every (i INTEGER, r REAL, t TEXT, b BLOB, flag BOOLEAN, j TEXT, n INTEGER)", []]},
            {"execute": [0, "INSERT INTO every VALUES (?, ?, ?, ?, ?, ?, ?)", [
                {"Int": 9007199254740993_i64}, {"Float": 2.5}, {"Text": "naïve ✓"}, {"Bytes": [0, 255]},
                {"Boolean": true}, {"Json": "{\"a\":1}"}, "Null"
            ]]},
            {"query": [0, "SELECT * FROM every", []]},
            {"query_json": [0, "SELECT *, 1 + 1 AS two FROM every", []]},
            {"commit": 0},
        ]),
    )
    .await
    .unwrap();
    assert_eq!(
        ok(&steps[3])["rows"][0],
        json!([{"Int": 9007199254740993_i64}, {"Float": 2.5}, {"Text": "naïve ✓"}, {"Bytes": [0, 255]}, {"Boolean": true}, {"Text": "{\"a\":1}"}, "Null"])
    );
    assert_eq!(
        ok(&steps[4]),
        &json!([{"i": 9007199254740993_i64, "r": 2.5, "t": "naïve ✓", "b": "AP8=", "flag": true, "j": "{\"a\":1}", "n": null, "two": 2}])
    );
}

#[tokio::test]
async fn a_sqlite_plugin_cannot_reach_other_files() {
    let file = File::new();
    let outside = file.path.with_file_name("outside.db");
    let (manager, _dir) = client(&file, |_| {}).await;
    let steps = run(
        &manager,
        "typed",
        json!([
            {"begin": "hasura"},
            {"execute": [0, format!("ATTACH DATABASE '{}' AS other", outside.display()), []]},
            {"execute": [0, format!("VACUUM INTO '{}'", outside.display()), []]},
            {"query": [0, "SELECT load_extension('/tmp/nothing')", []]},
        ]),
    )
    .await
    .unwrap();
    for step in &steps[1..] {
        let (kind, message) = typed_err(step);
        assert_eq!(kind, "Query", "{message}");
    }
    assert!(
        !outside.exists(),
        "no file was created outside the database"
    );
}

#[tokio::test]
async fn a_runaway_sqlite_statement_is_interrupted_at_its_timeout() {
    let file = File::new();
    let (manager, _dir) = client(&file, |spec| {
        spec.statement_timeout = Duration::from_millis(200)
    })
    .await;
    let endless =
        "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n) SELECT count(*) FROM n";
    let steps = run(
        &manager,
        "typed",
        json!([{"begin": "hasura"}, {"query": [0, endless, []]}, {"query": [0, "SELECT 1 AS one", []]}]),
    )
    .await
    .unwrap();
    let (kind, message) = typed_err(&steps[1]);
    assert_eq!(kind, "Timeout", "{message}");
    assert_eq!(
        ok(&steps[2])["rows"],
        json!([[{"Int": 1}]]),
        "the transaction goes on"
    );
}
