//! Fault drills of the production set-up (`plugmill serve`, two `plugmill worker`s, RabbitMQ,
//! records in PostgreSQL), with real processes: a worker killed with SIGKILL in the middle of
//! a task, and the kill drill: workers killed at random instants over a stream of tasks that
//! each write one row, which shows exactly-once effects on the records database and
//! at-least-once (no loss) elsewhere.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{final_record, post, psql, psql_value, schema_url, terminate, ureq_get, Deployment};
use serde_json::json;

#[test]
fn a_worker_killed_mid_task_leaves_it_to_another_which_ends_it_success_once() {
    let deployment = Deployment::new();
    let (server, url) = deployment.serve();
    let workers = [deployment.worker(), deployment.worker()];
    let (status, record) = post(&format!("{url}/tasks/wait"), &json!({"ms": 4000}));
    assert_eq!(status, 202, "{record}");
    let id = record["id"].as_str().unwrap().to_string();

    // Wait for a worker to start it, and kill that one.
    let started = Instant::now();
    let running_pid = loop {
        let (_, record) = ureq_get(&format!("{url}/tasks/{id}")).unwrap();
        let line = record["logs"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|l| l["log_text"].as_str())
            .find(|l| l.starts_with("attempt 1 started"))
            .map(str::to_string);
        if let Some(line) = line {
            let pid: u32 = line
                .rsplit("pid ")
                .next()
                .and_then(|p| p.trim_end_matches(')').parse().ok())
                .unwrap_or_else(|| panic!("no pid in {line}"));
            break pid;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no worker started the task"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let (mut killed, other): (Vec<_>, Vec<_>) =
        workers.into_iter().partition(|w| w.id() == running_pid);
    let killed = killed.pop().expect("the running worker is one of ours");
    std::thread::sleep(Duration::from_millis(500));
    killed.kill();

    let record = final_record(&url, &id, Duration::from_secs(60));
    assert_eq!(record["status"], "SUCCESS", "{record:#}");
    assert_eq!(record["attempts"], 2, "{record:#}");
    let logs: Vec<&str> = record["logs"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l["log_text"].as_str())
        .collect();
    assert_eq!(
        logs.iter().filter(|l| l.starts_with("attempt")).count(),
        2,
        "{logs:?}"
    );
    assert_eq!(
        logs.iter().filter(|l| **l == "Task succeeded").count(),
        1,
        "{logs:?}"
    );
    let killed_pid = format!("pid {running_pid}");
    assert!(
        logs[1].contains(&killed_pid) && !logs[2].contains(&killed_pid),
        "{logs:?}"
    );

    for worker in other {
        terminate(worker);
    }
    terminate(server);
}

#[test]
fn plugmill_task_retry_queues_a_failed_task_again_and_refuses_one_that_did_not_fail() {
    let deployment = Deployment::new();
    let (server, url) = deployment.serve();
    let worker = deployment.worker();
    let until = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
        + 1500;
    let (status, record) = post(
        &format!("{url}/tasks/process"),
        &json!({"refuse_until_ms": until}),
    );
    assert_eq!(status, 202, "{record}");
    let id = record["id"].as_str().unwrap().to_string();
    let failed = final_record(&url, &id, Duration::from_secs(60));
    assert_eq!(
        failed["status"], "FAILED",
        "never retried by default: {failed:#}"
    );
    std::thread::sleep(Duration::from_millis(1600));
    let retry = |id: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_plugmill"))
            .args(["task", "retry", id])
            .env("PLUGMILL_CONFIG", deployment.config())
            .env("PLUGMILL_PLUGINS", deployment.dir.path().join("plugins"))
            .env("PLUGMILL_LOG", "warn")
            .env_remove("PLUGMILL_QUEUE")
            .output()
            .unwrap()
    };
    let output = retry(&id);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("queued again"));
    let done = final_record(&url, &id, Duration::from_secs(60));
    assert_eq!(done["status"], "SUCCESS", "{done:#}");
    assert_eq!(done["attempts"], 2);
    let again = retry(&id);
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("only a FAILED task"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    terminate(worker);
    terminate(server);
}

/// Kills this many times in the kill drill.
const KILLS: usize = 100;

/// What the kill drill saw: tasks, and rows per key.
struct DrillEnd {
    tasks: usize,
    keys: usize,
    rows: usize,
    twice: usize,
}

/// Runs the kill drill: a stream of `write` tasks (each commits one row into `task_rows` of
/// `database`, then takes 150 ms to answer), two workers, one of which is SIGKILLed at a
/// random instant [`KILLS`] times (and restarted). Every record must end SUCCESS.
fn kill_drill(database: &str) -> DrillEnd {
    let deployment = Deployment::with(
        |vhost, schema| {
            format!(
                "[tasks]\nqueue = \"amqp://guest:guest@127.0.0.1:5672/{vhost}\"\nrecords = \"hasura\"\nconcurrency = 8\n\n\
                 [databases.hasura]\nurl = \"{}\"\n[databases.keycloak]\nurl = \"{}\"\n\
                 [plugins.task-writer]\ndatabases = [\"hasura\", \"keycloak\"]\n",
                schema_url(schema),
                schema_url(&format!("{schema}_x"))
            )
        },
        &[("task-writer", test_plugins::TASK_WRITER)],
    );
    let schema = deployment.schema().to_string();
    let other = format!("{schema}_x");
    psql(&format!("CREATE SCHEMA {other}"));
    psql(&format!(
        "CREATE TABLE {schema}.task_rows (key TEXT NOT NULL)"
    ));
    psql(&format!(
        "CREATE TABLE {other}.task_rows (key TEXT NOT NULL)"
    ));
    let rows_at = if database == "hasura" {
        &schema
    } else {
        &other
    };

    let (server, url) = deployment.serve();
    let mut workers = vec![deployment.worker(), deployment.worker()];
    // The stream: tasks posted until the killer is done.
    let stop = Arc::new(AtomicBool::new(false));
    let submitter = {
        let (url, stop, database) = (url.clone(), stop.clone(), database.to_string());
        std::thread::spawn(move || {
            let mut ids = Vec::new();
            while !stop.load(Ordering::SeqCst) {
                let key = format!("k-{}", ids.len());
                let data = json!({"key": key, "ms": 150, "database": database});
                let (status, record) = post(&format!("{url}/tasks/write"), &data);
                assert_eq!(status, 202, "{record}");
                ids.push(record["id"].as_str().unwrap().to_string());
                std::thread::sleep(Duration::from_millis(15));
            }
            ids
        })
    };
    let mut seed = u64::from(std::process::id()) | 1;
    let mut random = move |below: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % below
    };
    for _ in 0..KILLS {
        std::thread::sleep(Duration::from_millis(100 + random(400)));
        let which = random(2) as usize;
        let killed = workers.swap_remove(which);
        killed.kill();
        workers.push(deployment.worker());
    }
    stop.store(true, Ordering::SeqCst);
    let ids = submitter.join().unwrap();
    for id in &ids {
        let record = final_record(&url, id, Duration::from_secs(120));
        assert_eq!(record["status"], "SUCCESS", "{record:#}");
    }
    let count = |sql: &str| -> usize { psql_value(sql).parse().unwrap() };
    let end = DrillEnd {
        tasks: ids.len(),
        keys: count(&format!("SELECT COUNT(DISTINCT key) FROM {rows_at}.task_rows")),
        rows: count(&format!("SELECT COUNT(*) FROM {rows_at}.task_rows")),
        twice: count(&format!(
            "SELECT COUNT(*) FROM (SELECT key FROM {rows_at}.task_rows GROUP BY key HAVING COUNT(*) > 1) t"
        )),
    };
    for worker in workers {
        terminate(worker);
    }
    terminate(server);
    psql(&format!("DROP SCHEMA {other} CASCADE"));
    end
}

#[test]
fn kill_drill_writes_to_the_records_database_happen_exactly_once() {
    let end = kill_drill("hasura");
    println!(
        "kill drill, records database: {} tasks, {KILLS} kills, {} rows, {} keys written twice",
        end.tasks, end.rows, end.twice
    );
    assert_eq!(end.keys, end.tasks, "every task wrote its row");
    assert_eq!(end.rows, end.tasks, "and only once");
}

#[test]
fn kill_drill_writes_to_another_database_happen_at_least_once() {
    let end = kill_drill("keycloak");
    println!(
        "kill drill, another database: {} tasks, {KILLS} kills, {} rows, {} tasks ran twice or more",
        end.tasks, end.rows, end.twice
    );
    assert_eq!(end.keys, end.tasks, "no task lost its row");
    assert!(end.rows >= end.tasks);
}
