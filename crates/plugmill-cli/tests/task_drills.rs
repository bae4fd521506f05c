//! Fault drills of the production set-up (`plugmill serve`, two `plugmill worker`s, RabbitMQ,
//! records in PostgreSQL), with real processes: a worker killed with SIGKILL in the middle of
//! a task.

mod common;

use std::time::{Duration, Instant};

use common::{final_record, post, terminate, ureq_get, Deployment};
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
