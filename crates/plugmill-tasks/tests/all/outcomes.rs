//! Outcomes per plugin, retries by kind of failure, retries an operator asks for, and
//! idempotent submission: on the in-process queue, records in SQLite or PostgreSQL.

use std::time::Duration;

use plugmill_tasks::{NewTask, Retried, Scope, Status, Tasks};
use serde_json::json;

use super::{deployment, deployment_with, expect, final_record, host, log_texts, Schema};

fn task(name: &str, data: serde_json::Value) -> NewTask {
    NewTask {
        task: name.into(),
        data,
        tenant_id: Some("t-1".into()),
        ..NewTask::default()
    }
}

/// A deployment of `fixture` and `task-writer`, records in `schema` (database `hasura`, which
/// `task-writer` may write to), with `tasks` added to `[tasks]`.
fn two_plugins(schema: &Schema, tasks: &str) -> tempfile::TempDir {
    let config = format!(
        "[tasks]\nrecords = \"hasura\"\nretry_backoff = \"200ms\"\n{tasks}\n\
         [databases.hasura]\nurl = \"{}\"\n\
         [plugins.task-writer]\ndatabases = [\"hasura\"]\n",
        schema.url()
    );
    deployment_with(
        &config,
        &[
            ("fixture", test_plugins::HTTP_FIXTURE),
            ("task-writer", test_plugins::TASK_WRITER),
        ],
    )
}

fn epoch_ms_in(delay: Duration) -> u64 {
    (std::time::SystemTime::now() + delay)
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

#[tokio::test]
async fn by_default_a_plugin_failure_is_never_retried_and_the_record_keeps_its_kind() {
    let dir = deployment("[limits]\ncall_timeout = \"300ms\"\n[tasks]\nretry_backoff = \"10ms\"\n");
    let host = host(&dir).await;
    let tasks = Tasks::open(&host).await.unwrap();
    let cases = [
        ("process", json!({"fail": true}), "plugin-error"),
        ("trap", json!({}), "trap"),
        ("spin", json!({}), "deadline"),
    ];
    for (name, data, kind) in cases {
        let record = tasks.submit(task(name, data)).await.unwrap();
        let failed = expect(final_record(&tasks, &record.id).await, Status::Failed);
        assert_eq!(failed.attempts, 1, "{name}: the seed never retries");
        assert_eq!(failed.error_kind.as_deref(), Some(kind), "{failed:#?}");
        let outcome = &failed.outcomes[0];
        assert_eq!(
            (outcome.plugin.as_str(), outcome.status.as_str()),
            ("fixture", "failed")
        );
        assert_eq!(outcome.kind.as_deref(), Some(kind));
        assert_eq!(outcome.attempts, 1);
    }
    tasks.shutdown().await;
}

#[tokio::test]
async fn a_task_s_own_policy_overrides_the_defaults_and_a_missing_task_is_never_retried() {
    let dir = deployment(
        "[tasks]\nretry_backoff = \"10ms\"\nretry_on = [\"plugin-error\"]\nmax_attempts = 3\n\
         [tasks.trap]\nretry_on = [\"trap\"]\nmax_attempts = 2\n",
    );
    let host = host(&dir).await;
    let tasks = Tasks::open(&host).await.unwrap();
    let trap = tasks.submit(task("trap", json!({}))).await.unwrap();
    let trap = expect(final_record(&tasks, &trap.id).await, Status::Failed);
    assert_eq!(trap.attempts, 2, "[tasks.trap] max_attempts");
    let process = tasks
        .submit(task("process", json!({"fail": true})))
        .await
        .unwrap();
    let process = expect(final_record(&tasks, &process.id).await, Status::Failed);
    assert_eq!(process.attempts, 3, "[tasks] max_attempts");
    let missing = tasks.submit(task("no-such-task", json!({}))).await.unwrap();
    let missing = expect(final_record(&tasks, &missing.id).await, Status::Failed);
    assert_eq!(missing.attempts, 1, "{missing:#?}");
    assert_eq!(missing.error_kind.as_deref(), Some("not-found"));
    tasks.shutdown().await;
}

#[tokio::test]
async fn bad_retry_settings_are_refused_naming_their_line() {
    let cases = [
        ("[tasks]\nretry_on = [\"sometimes\"]\n", "sometimes", 2),
        (
            "[tasks]\n\n[tasks.send]\nmax_attempts = 0\n",
            "outside 1 to 100",
            4,
        ),
        ("[tasks]\nmax_atempts = 3\n", "max_atempts", 2),
        ("[tasks.send]\nretry_on = [\"trap\"]\nmax = 1\n", "max", 3),
    ];
    for (config, needle, line) in cases {
        let dir = deployment(config);
        let options = plugmill_host::HostOptions {
            config_file: Some(dir.path().join("plugmill.toml")),
            ..plugmill_host::HostOptions::default()
        };
        let error = match plugmill_host::Host::assemble(&options) {
            Err(error) => error.to_string(),
            Ok(host) => plugmill_tasks::TaskSettings::from_config(host.config())
                .expect_err(config)
                .to_string(),
        };
        assert!(error.contains(needle), "{config}: {error}");
        assert!(error.contains(&format!("line {line}")), "{config}: {error}");
    }
}

#[tokio::test]
async fn a_retry_runs_only_the_plugins_that_have_not_succeeded() {
    let schema = Schema::new().await;
    schema
        .execute("CREATE TABLE task_rows (key TEXT NOT NULL)")
        .await;
    let dir = two_plugins(&schema, "retry_on = [\"plugin-error\"]");
    let host = host(&dir).await;
    let tasks = Tasks::open(&host).await.unwrap();
    // `fixture` refuses for its first second; `task-writer` writes its row at once.
    let until = epoch_ms_in(Duration::from_millis(1000));
    let record = tasks
        .submit(task(
            "process",
            json!({"key": "k-1", "refuse_until_ms": until}),
        ))
        .await
        .unwrap();
    let done = expect(final_record(&tasks, &record.id).await, Status::Success);
    assert!(done.attempts >= 2, "{done:#?}");
    assert_eq!(schema.count("task_rows").await, 1, "the writer ran once");
    let writer = done
        .outcomes
        .iter()
        .find(|o| o.plugin == "task-writer")
        .unwrap();
    assert_eq!((writer.status.as_str(), writer.attempts), ("ok", 1));
    let fixture = done
        .outcomes
        .iter()
        .find(|o| o.plugin == "fixture")
        .unwrap();
    assert_eq!(fixture.status, "ok");
    assert_eq!(fixture.attempts, done.attempts);
    let result = done.result.unwrap();
    assert_eq!(result["task-writer"]["wrote"], "k-1");
    assert_eq!(result["fixture"]["processed"], true);
    tasks.shutdown().await;
    schema.drop().await;
}

#[tokio::test]
async fn an_operator_retry_appends_attempts_and_skips_the_plugins_that_succeeded() {
    let schema = Schema::new().await;
    schema
        .execute("CREATE TABLE task_rows (key TEXT NOT NULL)")
        .await;
    let dir = two_plugins(&schema, "");
    let host = host(&dir).await;
    let tasks = Tasks::open(&host).await.unwrap();
    let until = epoch_ms_in(Duration::from_millis(800));
    let record = tasks
        .submit(task(
            "process",
            json!({"key": "k-2", "refuse_until_ms": until}),
        ))
        .await
        .unwrap();
    let failed = expect(final_record(&tasks, &record.id).await, Status::Failed);
    assert_eq!(failed.attempts, 1);
    assert_eq!(failed.error_kind.as_deref(), Some("plugin-error"));

    // Another tenant neither sees it nor retries it; a task that did not fail is refused.
    let other = Scope::Tenant("t-2".into());
    assert_eq!(
        tasks.retry(&record.id, &other, "t-2 admin").await.unwrap(),
        Retried::Missing
    );
    tokio::time::sleep(Duration::from_millis(900)).await;
    let scope = Scope::Tenant("t-1".into());
    match tasks.retry(&record.id, &scope, "Ada").await.unwrap() {
        Retried::Yes(record) => assert_eq!(record.status, Status::InProgress),
        other => panic!("{other:?}"),
    }
    let done = expect(final_record(&tasks, &record.id).await, Status::Success);
    assert_eq!(done.attempts, 2, "{done:#?}");
    assert_eq!(done.error, None);
    assert_eq!(
        schema.count("task_rows").await,
        1,
        "the writer did not run again"
    );
    let logs = log_texts(&done);
    assert!(
        logs.iter().any(|l| l == "Retry requested by Ada"),
        "{logs:?}"
    );
    assert!(
        logs.iter().any(|l| l.starts_with("attempt 2 started")),
        "{logs:?}"
    );
    assert!(matches!(
        tasks.retry(&record.id, &scope, "Ada").await.unwrap(),
        Retried::NotFailed(_)
    ));
    tasks.shutdown().await;
    schema.drop().await;
}

#[tokio::test]
async fn an_idempotency_key_seen_before_returns_the_first_record_and_queues_nothing() {
    let schema = Schema::new().await;
    let config = format!(
        "[tasks]\nrecords = \"records\"\n[databases.records]\nurl = \"{}\"\n",
        schema.url()
    );
    let dir = deployment(&config);
    let host = host(&dir).await;
    let tasks = std::sync::Arc::new(Tasks::open(&host).await.unwrap());
    let keyed = |tenant: &str| NewTask {
        idempotency_key: Some("order-17".into()),
        tenant_id: Some(tenant.into()),
        ..task("process", json!({}))
    };
    // Concurrent submissions with one key: one record.
    let submissions: Vec<_> = (0..8)
        .map(|_| {
            let (tasks, task) = (tasks.clone(), keyed("t-1"));
            tokio::spawn(async move { tasks.submit(task).await.unwrap().id })
        })
        .collect();
    let mut ids = Vec::new();
    for submission in submissions {
        ids.push(submission.await.unwrap());
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "{ids:?}");
    let first = expect(final_record(&tasks, &ids[0]).await, Status::Success);
    assert_eq!(first.attempts, 1, "run once");
    let again = tasks.submit(keyed("t-1")).await.unwrap();
    assert_eq!(again.id, first.id);
    assert_eq!(
        again.status,
        Status::Success,
        "the first record, as it is now"
    );
    let other = tasks.submit(keyed("t-2")).await.unwrap();
    assert_ne!(other.id, first.id, "keys are per tenant");
    let page = tasks
        .list(&Scope::Tenant("t-1".into()), &Default::default())
        .await
        .unwrap();
    assert_eq!(page.records.len(), 1);
    tasks.shutdown().await;
    schema.drop().await;
}

#[tokio::test]
async fn a_record_is_created_with_data_made_from_it() {
    let dir = deployment("");
    let host = host(&dir).await;
    let tasks = Tasks::open(&host).await.unwrap();
    let record = tasks
        .submit_with(
            task("process", json!({})),
            |record, _| json!({"document_id": record.id}),
        )
        .await
        .unwrap();
    let done = expect(final_record(&tasks, &record.id).await, Status::Success);
    assert_eq!(
        done.result.as_ref().unwrap()["fixture"]["document_id"],
        record.id
    );
    assert_eq!(log_texts(&done)[0], "Task started");
    tasks.shutdown().await;
}
