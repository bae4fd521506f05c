//! plugmill-tasks' tests: the in-process queue on SQLite records, and RabbitMQ workers on
//! the machine's broker (a vhost per test) with records in SQLite or PostgreSQL.

mod amqp;
mod memory;
mod scope;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use plugmill_host::{CacheChoice, Host, HostOptions};
use plugmill_tasks::{Scope, Status, TaskRecord, Tasks};
use tempfile::TempDir;

/// A deployment: `plugmill.toml` (`config`) and `plugins/` with the fixture plugin.
pub fn deployment(config: &str) -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("plugins")).unwrap();
    std::fs::copy(
        test_plugins::HTTP_FIXTURE,
        dir.path().join("plugins/fixture.wasm"),
    )
    .unwrap();
    std::fs::write(dir.path().join("plugmill.toml"), config).unwrap();
    dir
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
