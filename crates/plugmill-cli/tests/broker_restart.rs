//! The broker restarted while workers run: they reconnect and finish the queue. A test
//! binary of its own, so no other test shares the broker while it restarts.

mod common;

use std::time::Duration;

use common::{final_record, post, rabbitmqctl, terminate, Deployment};
use serde_json::json;

#[test]
fn after_a_broker_restart_the_workers_reconnect_and_finish_the_queue() {
    let deployment = Deployment::new();
    let (server, url) = deployment.serve();
    let worker = deployment.worker();
    let ids: Vec<String> = (0..12)
        .map(|_| {
            let (status, record) = post(&format!("{url}/tasks/wait"), &json!({"ms": 300}));
            assert_eq!(status, 202, "{record}");
            record["id"].as_str().unwrap().to_string()
        })
        .collect();
    std::thread::sleep(Duration::from_millis(700));
    rabbitmqctl(&["stop_app"]);
    std::thread::sleep(Duration::from_secs(2));
    rabbitmqctl(&["start_app"]);
    rabbitmqctl(&["await_startup"]);
    for id in &ids {
        let record = final_record(&url, id, Duration::from_secs(120));
        assert_eq!(record["status"], "SUCCESS", "{record:#}");
    }
    terminate(worker);
    terminate(server);
}
