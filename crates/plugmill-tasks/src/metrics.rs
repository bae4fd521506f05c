//! What the task queue counts, through the `metrics` facade (the server's and each worker's
//! `/metrics`): `plugmill_tasks_queued_total`, `plugmill_tasks_running`,
//! `plugmill_tasks_succeeded_total`, `plugmill_tasks_failed_total`,
//! `plugmill_tasks_retried_total`, `plugmill_tasks_dead_lettered_total`,
//! `plugmill_task_duration_seconds`.

use std::time::Duration;

/// The name of the task duration histogram (the exporter gives it buckets).
pub const DURATION: &str = "plugmill_task_duration_seconds";

pub(crate) fn queued() {
    metrics::counter!("plugmill_tasks_queued_total").increment(1);
}

pub(crate) fn started() {
    metrics::gauge!("plugmill_tasks_running").increment(1.0);
}

pub(crate) fn ended(duration: Duration) {
    metrics::gauge!("plugmill_tasks_running").decrement(1.0);
    metrics::histogram!(DURATION).record(duration.as_secs_f64());
}

pub(crate) fn succeeded() {
    metrics::counter!("plugmill_tasks_succeeded_total").increment(1);
}

pub(crate) fn failed() {
    metrics::counter!("plugmill_tasks_failed_total").increment(1);
}

pub(crate) fn retried() {
    metrics::counter!("plugmill_tasks_retried_total").increment(1);
}

pub(crate) fn dead_lettered() {
    metrics::counter!("plugmill_tasks_dead_lettered_total").increment(1);
}
