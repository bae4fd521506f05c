//! `plugmill worker --celery` with the seed's environment: it consumes the seed's
//! `execute_plugin_task` messages, published by Python Celery, from `{ENV_SLUG}_short`, and
//! the record with the seed's id ends `SUCCESS` (read through `plugmill serve`); and
//! `plugmill serve` with `[tasks] protocol = "celery"` publishes a `POST /plugin` task that a
//! Python Celery worker, as the seed's, receives.
//!
//! Python Celery is found in `PLUGMILL_CELERY_PYTHON`, else `target/celery-venv` (which
//! `scripts/test.sh` makes), else `python3`; without it the test prints why and passes.

mod common;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{final_record, post, schema_url, ureq_get, Deployment, Process};
use serde_json::json;

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../plugmill-tasks/tests/python/seed_celery.py")
}

/// A Python that imports Celery, or `None` with the test's skip said on both outputs.
fn celery_python() -> Option<PathBuf> {
    let venv =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/celery-venv/bin/python");
    let candidates: Vec<PathBuf> = std::env::var_os("PLUGMILL_CELERY_PYTHON")
        .map(PathBuf::from)
        .into_iter()
        .chain([venv, PathBuf::from("python3")])
        .collect();
    let found = candidates.into_iter().find(|python| {
        Command::new(python)
            .args(["-c", "import celery"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    });
    if found.is_none() {
        let skipped =
            "SKIPPED: no Python with Celery; scripts/test.sh installs it into target/celery-venv";
        println!("{skipped}");
        eprintln!("{skipped}");
    }
    found
}

/// The `[tasks] queue` URL of `deployment`.
fn broker(deployment: &Deployment) -> String {
    let config = std::fs::read_to_string(deployment.config()).unwrap();
    config
        .lines()
        .find_map(|l| l.strip_prefix("queue = \""))
        .and_then(|l| l.strip_suffix('"'))
        .unwrap()
        .to_string()
}

#[test]
fn plugmill_worker_celery_runs_the_seed_s_messages_from_env_slug_short() {
    let Some(python) = celery_python() else {
        return;
    };
    let deployment = Deployment::new();
    let broker = broker(&deployment);
    let slug = "plugmilltest";
    let queue = format!("{slug}_short");
    let id = format!("5b2c1f0e-0000-4000-8000-{:012}", std::process::id());
    let seed_record = json!({
        "id": id, "tenant_id": "90505c8a-23a9-4cdf-a26b-4e19f6a097d5", "election_event_id": null,
        "name": "Export Voters", "task_type": "EXPORT_VOTERS", "execution_status": "IN_PROGRESS",
        "created_at": "2026-12-07T10:00:00Z", "start_at": "2026-12-07T10:00:00Z", "end_at": null,
        "annotations": null, "labels": null, "logs": [], "executed_by_user": "admin"
    });
    let kwargs =
        json!({"task": "process", "data": {}, "task_execution": seed_record, "document_id": null});
    let script = script();
    let published = Command::new(&python)
        .arg(&script)
        .args([
            "publish",
            &broker,
            &queue,
            "execute_plugin_task",
            &kwargs.to_string(),
        ])
        .output()
        .unwrap();
    assert!(
        published.status.success(),
        "{}",
        String::from_utf8_lossy(&published.stderr)
    );

    let _worker = Process(
        deployment
            .command(&["worker", "--celery"], &[("ENV_SLUG", slug)])
            .spawn()
            .unwrap(),
    );
    let (_server, url) = deployment.serve();
    // The record exists once the worker took the message.
    let started = std::time::Instant::now();
    while ureq_get(&format!("{url}/tasks/{id}")).map(|(status, _)| status) != Ok(200) {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the worker never recorded the seed's task"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let record = final_record(&url, &id, Duration::from_secs(60));
    assert_eq!(record["status"], "SUCCESS", "{record:#}");
    assert_eq!(record["task"], "process", "{record:#}");
    assert_eq!(record["task_type"], "EXPORT_VOTERS", "{record:#}");
}

#[test]
fn plugmill_serve_celery_publishes_post_plugin_tasks_a_python_celery_worker_runs() {
    let Some(python) = celery_python() else {
        return;
    };
    let deployment = Deployment::with(
        |vhost, schema| {
            format!(
                "[tasks]\nqueue = \"amqp://guest:guest@127.0.0.1:5672/{vhost}\"\nrecords = \"records\"\nprotocol = \"celery\"\nqueue_name = \"apifirst_short\"\n\n[databases.records]\nurl = \"{}\"\n",
                schema_url(schema)
            )
        },
        &[("fixture", test_plugins::HTTP_FIXTURE)],
    );
    let broker = broker(&deployment);
    let (_server, url) = deployment.serve();
    let body = json!({
        "path": "/fixture/process",
        "data": {"election_event_id": "e-5", "n": 2},
        "task_execution": "EXPORT_VOTERS",
        "generate_document": true,
    });
    let (status, answer) = post(&format!("{url}/plugin"), &body);
    assert_eq!(status, 200, "{answer}");
    let answer: serde_json::Value = serde_json::from_str(answer["data"].as_str().unwrap()).unwrap();
    let id = answer["task_execution"]["id"].as_str().unwrap().to_string();
    let document = answer["document_id"].as_str().unwrap().to_string();

    let out = deployment.dir.path().join("received.jsonl");
    let _worker = Process(
        Command::new(&python)
            .arg(script())
            .args(["worker", &broker, "apifirst_short"])
            .arg(&out)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let started = std::time::Instant::now();
    let received = loop {
        if let Some(line) = std::fs::read_to_string(&out)
            .ok()
            .and_then(|text| text.lines().next().map(str::to_string))
        {
            break serde_json::from_str::<serde_json::Value>(&line).unwrap();
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the Python Celery worker received nothing"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(received["task"], "process", "{received:#}");
    assert_eq!(
        received["data"],
        json!({"election_event_id": "e-5", "n": 2})
    );
    assert_eq!(received["document_id"], document.as_str());
    let seed = &received["task_execution"];
    assert_eq!(seed["id"], id.as_str(), "{seed:#}");
    assert_eq!(seed["task_type"], "EXPORT_VOTERS", "{seed:#}");
    assert_eq!(seed["election_event_id"], "e-5", "{seed:#}");
    assert_eq!(seed["execution_status"], "IN_PROGRESS", "{seed:#}");
}
