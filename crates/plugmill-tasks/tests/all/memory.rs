//! The in-process queue (`queue = "memory"`), records in the embedded SQLite file.

use std::time::Duration;

use plugmill_tasks::{Cancelled, NewTask, Scope, Status, Tasks};
use serde_json::json;

use super::{deployment, expect, final_record, host, log_texts};

fn task(name: &str, data: serde_json::Value) -> NewTask {
    NewTask {
        task: name.into(),
        data,
        executed_by: Some("Ada".into()),
        tenant_id: Some("t-1".into()),
        ..NewTask::default()
    }
}

#[tokio::test]
async fn a_task_runs_once_and_its_record_ends_success_with_a_log_line_per_event() {
    let dir = deployment("");
    let host = host(&dir).await;
    let tasks = Tasks::open(&host).await.unwrap();
    let record = tasks
        .submit(task("process", json!({"document_id": "d-1"})))
        .await
        .unwrap();
    assert_eq!(record.status, Status::InProgress);
    assert_eq!(log_texts(&record), ["Task started"]);
    let done = expect(final_record(&tasks, &record.id).await, Status::Success);
    assert_eq!(done.attempts, 1);
    assert_eq!(done.executed_by.as_deref(), Some("Ada"));
    assert_eq!(done.tenant_id.as_deref(), Some("t-1"));
    assert_eq!(done.result.as_ref().unwrap()["fixture"]["processed"], true);
    assert!(done.started_at.is_some() && done.ended_at.is_some());
    let logs = log_texts(&done);
    assert_eq!(logs[0], "Task started");
    assert!(
        logs[1].starts_with("attempt 1 started on server"),
        "{logs:?}"
    );
    assert_eq!(logs[2], "Task succeeded");
    assert!(
        dir.path().join("plugmill-tasks.db").exists(),
        "records in the embedded default file"
    );
    tasks.shutdown().await;
}

#[tokio::test]
async fn with_retry_on_a_failing_a_trapping_and_a_spinning_task_end_failed_after_their_attempts() {
    let dir = deployment(
        "[limits]\ncall_timeout = \"300ms\"\n[tasks]\nmax_attempts = 3\nretry_backoff = \"10ms\"\nretry_on = [\"plugin-error\", \"trap\", \"deadline\"]\n",
    );
    let host = host(&dir).await;
    let tasks = Tasks::open(&host).await.unwrap();
    let cases = [
        (
            "process",
            json!({"fail": true}),
            "processing refused",
            "plugin-error",
        ),
        ("trap", json!({}), "trapped", "trap"),
        ("spin", json!({}), "deadline", "deadline"),
    ];
    for (name, data, error, kind) in cases {
        let record = tasks.submit(task(name, data)).await.unwrap();
        let failed = expect(final_record(&tasks, &record.id).await, Status::Failed);
        assert_eq!(failed.attempts, 3, "{name}");
        assert_eq!(failed.error_kind.as_deref(), Some(kind), "{name}");
        assert_eq!(failed.outcomes.len(), 1, "{name}");
        assert_eq!(failed.outcomes[0].attempts, 3, "{name}");
        assert_eq!(failed.outcomes[0].kind.as_deref(), Some(kind), "{name}");
        assert!(
            failed.error.as_deref().unwrap().contains(error),
            "{name}: {:?}",
            failed.error
        );
        let logs = log_texts(&failed);
        assert_eq!(
            logs.iter()
                .filter(|l| l.contains(&format!("failed ({kind})")) && l.contains("retrying"))
                .count(),
            2,
            "{name}: {logs:?}"
        );
        assert!(
            logs.last().unwrap().starts_with("Task failed"),
            "{name}: {logs:?}"
        );
    }
    tasks.shutdown().await;
}

#[tokio::test]
async fn a_queued_task_can_be_cancelled_and_then_never_runs() {
    let dir = deployment("[tasks]\nconcurrency = 1\n");
    let host = host(&dir).await;
    let tasks = Tasks::open(&host).await.unwrap();
    let busy = tasks
        .submit(task("wait", json!({"ms": 500})))
        .await
        .unwrap();
    let queued = tasks.submit(task("process", json!({}))).await.unwrap();
    match tasks.cancel(&queued.id, &Scope::All).await.unwrap() {
        Cancelled::Yes(record) => assert_eq!(record.status, Status::Cancelled),
        other => panic!("{other:?}"),
    }
    expect(final_record(&tasks, &busy.id).await, Status::Success);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let cancelled = expect(
        tasks.get(&queued.id, &Scope::All).await.unwrap().unwrap(),
        Status::Cancelled,
    );
    assert_eq!(cancelled.attempts, 0, "a cancelled task never runs");
    assert!(matches!(
        tasks.cancel(&busy.id, &Scope::All).await.unwrap(),
        Cancelled::TooLate(_)
    ));
    assert!(matches!(
        tasks.cancel("no-such-id", &Scope::All).await.unwrap(),
        Cancelled::Missing
    ));
    tasks.shutdown().await;
}

#[tokio::test]
async fn tasks_still_queued_at_shutdown_are_recorded_and_run_at_the_next_start() {
    let dir = deployment("[tasks]\nconcurrency = 1\n");
    let host = host(&dir).await;
    let tasks = Tasks::open(&host).await.unwrap();
    let running = tasks
        .submit(task("wait", json!({"ms": 300})))
        .await
        .unwrap();
    let left: Vec<_> = [
        tasks.submit(task("process", json!({}))).await.unwrap(),
        tasks.submit(task("process", json!({}))).await.unwrap(),
    ]
    .into_iter()
    .map(|r| r.id)
    .collect();
    tokio::time::sleep(Duration::from_millis(100)).await;
    tasks.shutdown().await;
    expect(
        tasks.get(&running.id, &Scope::All).await.unwrap().unwrap(),
        Status::Success,
    );
    for id in &left {
        let record = expect(
            tasks.get(id, &Scope::All).await.unwrap().unwrap(),
            Status::InProgress,
        );
        assert!(
            log_texts(&record)
                .iter()
                .any(|l| l.contains("the server stopped while it was queued")),
            "{record:#?}"
        );
    }
    let restarted = Tasks::open(&host).await.unwrap();
    for id in &left {
        expect(final_record(&restarted, id).await, Status::Success);
    }
    restarted.shutdown().await;
}
