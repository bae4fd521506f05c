//! plugmill-tasks' tests: the in-process queue on SQLite records, and RabbitMQ workers on
//! the machine's broker (a vhost per test) with records in SQLite or PostgreSQL.

mod amqp;
mod celery;
mod groups;
mod memory;
mod outcomes;
mod scope;
mod seed;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use plugmill_host::{CacheChoice, Host, HostOptions};
use plugmill_tasks::{Scope, Status, TaskRecord, Tasks};
use tempfile::TempDir;

/// A deployment: `plugmill.toml` (`config`) and `plugins/` with the fixture plugin.
pub fn deployment(config: &str) -> TempDir {
    deployment_with(config, &[("fixture", test_plugins::HTTP_FIXTURE)])
}

/// A deployment: `plugmill.toml` (`config`) and `plugins/` with these `(name, file)`.
pub fn deployment_with(config: &str, plugins: &[(&str, &str)]) -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("plugins")).unwrap();
    for (name, file) in plugins {
        std::fs::copy(file, dir.path().join(format!("plugins/{name}.wasm"))).unwrap();
    }
    std::fs::write(dir.path().join("plugmill.toml"), config).unwrap();
    dir
}

/// A PostgreSQL schema of its own in the test database, dropped at the end.
pub struct Schema {
    /// Its name.
    pub name: String,
    admin: sqlx::PgPool,
}

/// The test database's URL.
pub fn postgres_url() -> String {
    std::env::var("PLUGMILL_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

impl Schema {
    /// A new schema.
    pub async fn new() -> Self {
        let name = unique("plugmill_tasks_test");
        let admin = sqlx::PgPool::connect(&postgres_url()).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {name}")))
            .execute(&admin)
            .await
            .unwrap();
        Self { name, admin }
    }

    /// The URL of the test database with this schema first on the search path.
    pub fn url(&self) -> String {
        format!(
            "{}?options=-c%20search_path%3D{}",
            postgres_url(),
            self.name
        )
    }

    /// Runs `sql` in the schema.
    pub async fn execute(&self, sql: &str) {
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "SET search_path TO {}; {sql}",
            self.name
        )))
        .execute(&self.admin)
        .await
        .unwrap();
    }

    /// How many rows `table` of the schema holds.
    pub async fn count(&self, table: &str) -> i64 {
        let (n,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM {}.{table}",
            self.name
        )))
        .fetch_one(&self.admin)
        .await
        .unwrap();
        n
    }

    /// Drops the schema and what it holds.
    pub async fn drop(self) {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP SCHEMA {} CASCADE",
            self.name
        )))
        .execute(&self.admin)
        .await
        .unwrap();
    }
}

/// The host of a deployment, its plugins loaded.
pub async fn host(dir: &TempDir) -> Host {
    let options = HostOptions {
        config_file: Some(dir.path().join("plugmill.toml")),
        plugins: Some(dir.path().join("plugins").display().to_string()),
        cache: CacheChoice::Disabled,
        ..HostOptions::default()
    };
    let host = Host::assemble(&options).unwrap();
    let report = host.load().await.unwrap();
    assert!(report.rejected.is_empty(), "{:#?}", report.rejected);
    host
}

/// The record `id` once it is final (or a panic after 60 s).
pub async fn final_record(tasks: &Tasks, id: &str) -> TaskRecord {
    for _ in 0..1200 {
        let record = tasks
            .get(id, &Scope::All)
            .await
            .unwrap()
            .expect("the record exists");
        if record.status.is_final() {
            return record;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "task {id} never became final: {:#?}",
        tasks.get(id, &Scope::All).await.unwrap()
    );
}

/// Log lines of a record, text only.
pub fn log_texts(record: &TaskRecord) -> Vec<String> {
    record.logs.iter().map(|l| l.log_text.clone()).collect()
}

/// A unique name for this test process.
pub fn unique(prefix: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{prefix}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Asserts `status` and gives the record back.
pub fn expect(record: TaskRecord, status: Status) -> TaskRecord {
    assert_eq!(record.status, status, "{record:#?}");
    record
}
