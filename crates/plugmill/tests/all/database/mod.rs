//! The database capability, end to end: test plugins built from source run SQL through both
//! database interfaces against the real PostgreSQL server of the machine and real SQLite
//! files.
//!
//! The plugins (`db-client`, `db-peer`) run JSON scripts of database operations and report
//! each outcome, so a test states the steps and asserts on what the host answered. Every
//! PostgreSQL test works in a schema of its own.

mod grants;
mod postgres;
mod sqlite;

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use plugmill::capabilities::database::{Backend, DatabaseSpec};
use plugmill::{CallError, ManagerBuilder, PluginManager};
use serde_json::{json, Value as Json};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::Executor as _;
use tempfile::TempDir;

use super::load_with;

/// The PostgreSQL server of the tests: `PLUGMILL_TEST_POSTGRES`, by default the local one.
pub fn postgres_url() -> String {
    std::env::var("PLUGMILL_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A schema of its own on the test server, dropped at the end of the test.
pub struct Schema {
    pub name: String,
    pub admin: PgPool,
}

impl Schema {
    pub async fn new() -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let url = postgres_url();
        let admin = PgPoolOptions::new()
            .max_connections(2)
            .acquire_timeout(Duration::from_secs(5))
            .connect(&url)
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "the database tests need PostgreSQL at {url} ({e}); start it with \
                     `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start` \
                     or point PLUGMILL_TEST_POSTGRES at a server"
                )
            });
        remove_schemas_of_finished_runs(&admin).await;
        let name = format!(
            "plugmill_test_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        admin
            .execute(sqlx::AssertSqlSafe(format!(
                "DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name}"
            )))
            .await
            .expect("create the test schema");
        Self { name, admin }
    }

    /// The database as plugins see it: this schema first on the search path.
    pub fn spec(&self) -> DatabaseSpec {
        let mut spec = DatabaseSpec::from_url(&postgres_url()).expect("test URL");
        if let Backend::Postgres(options) = spec.backend {
            spec.backend = Backend::Postgres(with_search_path(options, &self.name));
        }
        spec
    }

    /// Runs SQL as the administrator, in this schema.
    pub async fn admin(&self, sql: &str) {
        let sql = format!("SET search_path TO {}; {sql}", self.name);
        self.admin
            .execute(sqlx::AssertSqlSafe(sql))
            .await
            .unwrap_or_else(|e| panic!("admin SQL failed: {e}"));
    }

    /// Rows of `table`, counted by the administrator (a connection of its own).
    pub async fn count(&self, table: &str) -> i64 {
        let sql = format!("SELECT count(*) FROM {}.{table}", self.name);
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_one(&self.admin)
            .await
            .expect("count rows")
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        let admin = self.admin.clone();
        let sql = format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name);
        // Best effort: a schema left behind has a unique name and harms no later run.
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(async move {
                let _ = admin.execute(sqlx::AssertSqlSafe(sql)).await;
            });
        }
    }
}

/// Drops the schemas of test processes that are gone (a schema is dropped at the end of its
/// test only on a best-effort basis).
async fn remove_schemas_of_finished_runs(admin: &PgPool) {
    let schemas: Vec<String> = sqlx::query_scalar(
        "SELECT nspname::text FROM pg_namespace WHERE nspname LIKE 'plugmill_test_%'",
    )
    .fetch_all(admin)
    .await
    .unwrap_or_default();
    for schema in schemas {
        let pid = schema.split('_').nth(2).and_then(|p| p.parse::<u32>().ok());
        let finished = pid.is_some_and(|pid| {
            pid != std::process::id() && !std::path::Path::new(&format!("/proc/{pid}")).exists()
        });
        if finished {
            let sql = format!("DROP SCHEMA IF EXISTS {schema} CASCADE");
            let _ = admin.execute(sqlx::AssertSqlSafe(sql)).await;
        }
    }
}

fn with_search_path(options: PgConnectOptions, schema: &str) -> PgConnectOptions {
    options.options([("search_path", schema)])
}

/// Loads `db-client` (and `db-peer` when asked) with `builder`; both must load.
pub async fn load_clients(builder: ManagerBuilder, peer: bool) -> (PluginManager, TempDir) {
    let mut files = vec![("client.wasm", test_plugins::DB_CLIENT)];
    if peer {
        files.push(("peer.wasm", test_plugins::DB_PEER));
    }
    let (manager, report, dir) = load_with(builder, &files).await;
    assert!(report.rejected.is_empty(), "{:#?}", report.rejected);
    (manager, dir)
}

/// Runs a script through hook `hook` (`seed` or `typed`) of the only loaded plugin; the
/// outcome of every step, or the call's error.
pub async fn run(
    manager: &PluginManager,
    hook: &str,
    script: Json,
) -> Result<Vec<Json>, CallError> {
    let mut outcomes = manager
        .call_hook_json(hook, &[json!(script.to_string())])
        .await;
    assert_eq!(outcomes.len(), 1, "one plugin answers `{hook}`");
    let values = outcomes.remove(0).result?;
    let reply = values[0]
        .get("ok")
        .unwrap_or_else(|| panic!("the script failed: {values:?}"));
    let steps: Json = serde_json::from_str(reply.as_str().expect("text")).expect("JSON steps");
    Ok(steps.as_array().expect("a list of steps").clone())
}

/// The value of a successful step, or a panic showing the error.
pub fn ok(step: &Json) -> &Json {
    step.get("ok")
        .unwrap_or_else(|| panic!("the step failed: {step}"))
}

/// The error of a failed step (`{"kind", "message"}` for typed steps, text for seed steps).
pub fn err(step: &Json) -> &Json {
    step.get("err")
        .unwrap_or_else(|| panic!("the step succeeded: {step}"))
}

/// The kind and message of a failed typed step.
pub fn typed_err(step: &Json) -> (String, String) {
    let error = err(step);
    (
        error["kind"].as_str().expect("kind").to_string(),
        error["message"].as_str().expect("message").to_string(),
    )
}
