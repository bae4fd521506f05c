//! The seed's Celery queue both ways, on the machine's broker (a vhost per test) with Python
//! Celery as the seed's side (`tests/python/seed_celery.py`): messages Python Celery publishes
//! run on a plugmill worker, and tasks plugmill queues run on a Python Celery worker.
//!
//! Python Celery is found in `PLUGMILL_CELERY_PYTHON`, else `target/celery-venv` (which
//! `scripts/test.sh` makes), else `python3`; without it these tests print why and pass.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use lapin::options::{BasicGetOptions, BasicPublishOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Channel};
use plugmill_tasks::{NewTask, Protocol, Scope, Status, Tasks};
use serde_json::{json, Value};
use tokio::sync::oneshot;

use super::amqp::{channel, ready, Vhost};
use super::{deployment, expect, final_record, host};

const QUEUE: &str = "seedtest_short";
const TENANT: &str = "90505c8a-23a9-4cdf-a26b-4e19f6a097d5";

/// A Python with Celery, or why there is none.
fn celery_python() -> Result<PathBuf, String> {
    let venv =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/celery-venv/bin/python");
    let candidates: Vec<PathBuf> = std::env::var_os("PLUGMILL_CELERY_PYTHON")
        .map(PathBuf::from)
        .into_iter()
        .chain([venv, PathBuf::from("python3")])
        .collect();
    for python in &candidates {
        let found = Command::new(python)
            .args(["-c", "import celery"])
            .stderr(Stdio::null())
            .status();
        if found.is_ok_and(|s| s.success()) {
            return Ok(python.clone());
        }
    }
    Err(format!(
        "no Python with Celery (tried {candidates:?}); scripts/test.sh installs it into target/celery-venv"
    ))
}

/// The Python with Celery, or `None` after printing why these tests do not run.
fn python_or_skip(test: &str) -> Option<PathBuf> {
    match celery_python() {
        Ok(python) => Some(python),
        Err(why) => {
            println!("SKIPPED {test}: {why}");
            eprintln!("SKIPPED {test}: {why}");
            None
        }
    }
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/python/seed_celery.py")
}

/// Publishes `task` with `kwargs` as the seed's API does, with Python Celery.
fn python_publish(python: &PathBuf, vhost: &Vhost, task: &str, kwargs: &Value) {
    let output = Command::new(python)
        .arg(script())
        .args(["publish", &vhost.url(), QUEUE, task, &kwargs.to_string()])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "publishing with Python Celery: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A Python Celery worker, killed when dropped.
struct PythonWorker(Child);

impl Drop for PythonWorker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn config(vhost: &Vhost) -> String {
    format!(
        "[tasks]\nqueue = \"{}\"\nqueue_name = \"{QUEUE}\"\nprotocol = \"celery\"\n",
        vhost.url()
    )
}

/// A plugmill worker in this process until the sender is used.
fn spawn_worker(
    host: Arc<plugmill_host::Host>,
) -> (oneshot::Sender<()>, tokio::task::JoinHandle<()>) {
    let (stop, stopped) = oneshot::channel::<()>();
    let worker = tokio::spawn(async move {
        Tasks::work(&host, async move {
            let _ = stopped.await;
        })
        .await
        .unwrap();
    });
    (stop, worker)
}

/// The seed's record of a task, as its API writes it.
fn seed_record(id: &str) -> Value {
    json!({
        "id": id, "tenant_id": TENANT, "election_event_id": "e-1",
        "name": "Create Transmission Package", "task_type": "CREATE_TRANSMISSION_PACKAGE",
        "execution_status": "IN_PROGRESS", "created_at": "2026-12-07T10:00:00Z",
        "start_at": "2026-12-07T10:00:00Z", "end_at": null, "annotations": null,
        "labels": null, "logs": [{"created_date": "2026-12-07T10:00:00Z", "log_text": "Task started"}],
        "executed_by_user": "admin"
    })
}

/// The record `id` once a worker wrote it from a message and it is final.
async fn written_and_final(tasks: &Tasks, id: &str) -> plugmill_tasks::TaskRecord {
    let started = Instant::now();
    while tasks.get(id, &Scope::All).await.unwrap().is_none() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no worker wrote the record {id}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    final_record(tasks, id).await
}

/// The queue as the seed's side declares it (durable, no arguments).
async fn declare_as_celery(channel: &Channel) {
    let durable = QueueDeclareOptions {
        durable: true,
        ..QueueDeclareOptions::default()
    };
    channel
        .queue_declare(QUEUE, durable, FieldTable::default())
        .await
        .unwrap();
}

/// The dead-lettered messages: each one's Celery task header and reason.
async fn dead_letters(channel: &Channel, expected: usize) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let started = Instant::now();
    while found.len() < expected && started.elapsed() < Duration::from_secs(60) {
        let got = channel
            .basic_get(&format!("{QUEUE}.dead"), BasicGetOptions { no_ack: true })
            .await
            .unwrap();
        let Some(message) = got else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let headers = message
            .delivery
            .properties
            .headers()
            .clone()
            .unwrap_or_default();
        let text = |name: &str| match headers.inner().get(name) {
            Some(AMQPValue::LongString(s)) => String::from_utf8_lossy(s.as_bytes()).into_owned(),
            _ => String::new(),
        };
        found.push((text("task"), text("x-plugmill-reason")));
    }
    found
}

#[tokio::test]
async fn python_celery_s_messages_run_on_a_plugmill_worker_and_bad_ones_are_dead_lettered() {
    let Some(python) = python_or_skip("python_celery_s_messages_run_on_a_plugmill_worker") else {
        return;
    };
    let vhost = Vhost::new();
    let dir = deployment(&config(&vhost));
    let host = Arc::new(host(&dir).await);
    let tasks = Tasks::open(&host).await.unwrap();
    // The seed's side declared the queue first, and a message that is not Celery's waits there.
    let (_connection, channel) = channel(&vhost.url()).await;
    declare_as_celery(&channel).await;
    channel
        .basic_publish(
            "",
            QUEUE,
            BasicPublishOptions::default(),
            b"not json",
            BasicProperties::default(),
        )
        .await
        .unwrap()
        .await
        .unwrap();
    let good = "5b2c1f0e-0000-4000-8000-000000000001";
    let unknown = "5b2c1f0e-0000-4000-8000-000000000002";
    python_publish(&python, &vhost, "tasks.add", &json!({"x": 1}));
    python_publish(
        &python,
        &vhost,
        "execute_plugin_task",
        &json!({"task": "process", "data": {"election_event_id": "e-1"},
                "task_execution": seed_record(good), "document_id": "doc-1"}),
    );
    python_publish(
        &python,
        &vhost,
        "execute_plugin_task",
        &json!({"task": "nothing-registers-this", "data": {},
                "task_execution": seed_record(unknown), "document_id": null}),
    );

    let (stop, worker) = spawn_worker(host.clone());

    // The seed's task ran on plugmill's record with the seed's id, for its tenant, with the
    // data the seed's worker gives plugins.
    let done = expect(written_and_final(&tasks, good).await, Status::Success);
    assert_eq!(done.tenant_id.as_deref(), Some(TENANT));
    assert_eq!(done.task, "process");
    assert_eq!(
        done.task_type.as_deref(),
        Some("CREATE_TRANSMISSION_PACKAGE")
    );
    assert_eq!(done.executed_by.as_deref(), Some("admin"));
    assert_eq!(done.attempts, 1);
    let answer = &done.result.as_ref().unwrap()["fixture"];
    assert_eq!(answer["processed"], true, "{answer:#}");
    assert_eq!(answer["document_id"], "doc-1", "{answer:#}");
    let given: Value = serde_json::from_str(answer["task_execution"].as_str().unwrap()).unwrap();
    assert_eq!(
        given,
        seed_record(good),
        "the seed's record, as a JSON string"
    );

    // A task no plugin registers fails for good; its record says so.
    let failed = expect(written_and_final(&tasks, unknown).await, Status::Failed);
    assert_eq!(
        failed.error_kind.as_deref(),
        Some("not-found"),
        "{failed:#?}"
    );

    // The three bad messages are dead-lettered with their reasons, none lost or left.
    let mut dead = dead_letters(&channel, 3).await;
    dead.sort();
    assert_eq!(dead.len(), 3, "{dead:?}");
    assert_eq!(dead[0].0, "", "{dead:?}");
    assert!(dead[0].1.contains("not a Celery message"), "{dead:?}");
    assert_eq!(dead[1].0, "execute_plugin_task", "{dead:?}");
    assert!(dead[1].1.contains("nothing-registers-this"), "{dead:?}");
    assert_eq!(dead[2].0, "tasks.add", "{dead:?}");
    assert!(
        dead[2].1.contains("the Celery task `tasks.add` is unknown"),
        "{dead:?}"
    );
    assert_eq!(ready(&channel, QUEUE).await, 0);

    // Another tenant's message naming the same record is refused, the record unchanged.
    let mut other = seed_record(good);
    other["tenant_id"] = json!("another-tenant");
    python_publish(
        &python,
        &vhost,
        "execute_plugin_task",
        &json!({"task": "process", "data": {}, "task_execution": other}),
    );
    let dead = dead_letters(&channel, 1).await;
    assert!(dead[0].1.contains("belongs to another tenant"), "{dead:?}");
    let again = tasks.get(good, &Scope::All).await.unwrap().unwrap();
    assert_eq!(again.attempts, 1);

    let _ = stop.send(());
    worker.await.unwrap();
}

#[tokio::test]
async fn a_seed_task_is_retried_as_plugmill_s_policy_says_then_dead_lettered_as_celery_s() {
    let Some(python) = python_or_skip("a_seed_task_is_retried_as_plugmill_s_policy_says") else {
        return;
    };
    let vhost = Vhost::new();
    let extra = "max_attempts = 3\nretry_backoff = \"100ms\"\nretry_on = [\"trap\"]\n";
    let dir = deployment(&format!("{}{extra}", config(&vhost)));
    let host = Arc::new(host(&dir).await);
    let tasks = Tasks::open(&host).await.unwrap();
    let (stop, worker) = spawn_worker(host.clone());
    let id = "5b2c1f0e-0000-4000-8000-000000000003";
    python_publish(
        &python,
        &vhost,
        "execute_plugin_task",
        &json!({"task": "trap", "data": {}, "task_execution": seed_record(id)}),
    );
    let failed = expect(written_and_final(&tasks, id).await, Status::Failed);
    assert_eq!(failed.attempts, 3, "{failed:#?}");
    assert_eq!(failed.error_kind.as_deref(), Some("trap"), "{failed:#?}");
    // It went through the retry queues and to the dead-letter one as a Celery message still.
    let (_connection, channel) = channel(&vhost.url()).await;
    let dead = dead_letters(&channel, 1).await;
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!(dead[0].0, "execute_plugin_task", "{dead:?}");
    assert!(dead[0].1.contains("trap"), "{dead:?}");
    let _ = stop.send(());
    worker.await.unwrap();
}

#[tokio::test]
async fn a_task_plugmill_queues_runs_on_a_python_celery_worker() {
    let Some(python) = python_or_skip("a_task_plugmill_queues_runs_on_a_python_celery_worker")
    else {
        return;
    };
    let vhost = Vhost::new();
    let dir = deployment(&config(&vhost));
    let host = host(&dir).await;
    let tasks = Tasks::open(&host).await.unwrap();
    assert_eq!(tasks.settings().protocol, Protocol::Celery);
    let record = tasks
        .submit(NewTask {
            task: "process".into(),
            task_type: Some("CREATE_TRANSMISSION_PACKAGE".into()),
            data: json!({"election_event_id": "e-9", "n": 1}),
            executed_by: Some("admin".into()),
            tenant_id: Some(TENANT.into()),
            document_id: Some("doc-9".into()),
            ..NewTask::default()
        })
        .await
        .unwrap();

    // The seed's worker, started after the task was queued.
    let out = dir.path().join("received.jsonl");
    let _worker = PythonWorker(
        Command::new(&python)
            .arg(script())
            .args(["worker", &vhost.url(), QUEUE])
            .arg(&out)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let started = Instant::now();
    let received = loop {
        if let Ok(text) = std::fs::read_to_string(&out) {
            if let Some(line) = text.lines().next() {
                break serde_json::from_str::<Value>(line).unwrap();
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the Python Celery worker received nothing"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(received["task"], "process", "{received:#}");
    assert_eq!(
        received["data"],
        json!({"election_event_id": "e-9", "n": 1})
    );
    assert_eq!(received["document_id"], "doc-9");
    let seed = &received["task_execution"];
    assert_eq!(seed["id"], record.id.as_str(), "{seed:#}");
    assert_eq!(seed["tenant_id"], TENANT);
    assert_eq!(seed["task_type"], "CREATE_TRANSMISSION_PACKAGE");
    assert_eq!(seed["execution_status"], "IN_PROGRESS");
    assert_eq!(seed["election_event_id"], "e-9");
    assert_eq!(seed["executed_by_user"], "admin");
    assert_eq!(seed["logs"][0]["log_text"], "Task started");
    // The Celery worker acknowledged it: nothing left in the queue.
    let (_connection, channel) = channel(&vhost.url()).await;
    let started = Instant::now();
    while ready(&channel, QUEUE).await > 0 && started.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(ready(&channel, QUEUE).await, 0);
}

#[tokio::test]
async fn an_unknown_protocol_or_celery_without_rabbitmq_is_refused() {
    let dir = deployment("[tasks]\nqueue = \"memory\"\nprotocol = \"kombu\"\n");
    let options = plugmill_host::HostOptions {
        config_file: Some(dir.path().join("plugmill.toml")),
        ..plugmill_host::HostOptions::default()
    };
    let error = match plugmill_host::Host::assemble(&options) {
        Err(error) => error.to_string(),
        Ok(host) => plugmill_tasks::TaskSettings::from_config(host.config())
            .expect_err("kombu is no protocol")
            .to_string(),
    };
    assert!(error.contains("kombu"), "{error}");
    assert!(
        error.contains("plugmill") && error.contains("celery"),
        "{error}"
    );
    assert!(error.contains("line 3"), "{error}");

    let dir = deployment(
        "[tasks]\nqueue = \"memory\"\nqueue_name = \"x_short\"\nprotocol = \"celery\"\n",
    );
    let options = plugmill_host::HostOptions {
        config_file: Some(dir.path().join("plugmill.toml")),
        ..plugmill_host::HostOptions::default()
    };
    let host = plugmill_host::Host::assemble(&options).unwrap();
    let error = plugmill_tasks::TaskSettings::from_config(host.config())
        .expect_err("the Celery protocol needs RabbitMQ")
        .to_string();
    assert!(error.contains("amqp://"), "{error}");
}
