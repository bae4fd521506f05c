//! What the task service counts, through the `metrics` facade, rendered by the process's one
//! recorder (`plugmill_host::metrics`: the server's and each worker's `/metrics`). The
//! descriptions are registered when the service opens ([`describe`]).

use std::time::Duration;

/// Tasks queued.
pub const QUEUED: &str = "plugmill_tasks_queued_total";
/// Tasks running now (gauge).
pub const RUNNING: &str = "plugmill_tasks_running";
/// Tasks that succeeded.
pub const SUCCEEDED: &str = "plugmill_tasks_succeeded_total";
/// Tasks that failed for good.
pub const FAILED: &str = "plugmill_tasks_failed_total";
/// Attempts that failed and were queued again.
pub const RETRIED: &str = "plugmill_tasks_retried_total";
/// Tasks given up on and dead-lettered.
pub const DEAD_LETTERED: &str = "plugmill_tasks_dead_lettered_total";
/// How long a task's attempt took (histogram).
pub const DURATION: &str = "plugmill_task_duration_seconds";

/// How many record writes each transaction of the record store held (histogram): more
/// than one when concurrent tasks' writes share it.
pub const RECORD_GROUP_SIZE: &str = "plugmill_task_record_writes_per_transaction";

/// Registers the descriptions of the task service's metrics with the process's recorder.
pub fn describe() {
    plugmill_host::metrics::describe("tasks", || {
        use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
        describe_counter!(QUEUED, "Tasks queued");
        describe_gauge!(RUNNING, "Tasks running now");
        describe_counter!(SUCCEEDED, "Tasks that succeeded");
        describe_counter!(FAILED, "Tasks that failed for good");
        describe_counter!(RETRIED, "Task attempts that failed and were queued again");
        describe_counter!(DEAD_LETTERED, "Tasks given up on and dead-lettered");
        describe_histogram!(DURATION, Unit::Seconds, "How long task attempts took");
        describe_histogram!(
            RECORD_GROUP_SIZE,
            Unit::Count,
            "Task record writes committed in each shared transaction"
        );
    });
}

pub(crate) fn queued() {
    metrics::counter!(QUEUED).increment(1);
}

pub(crate) fn started() {
    metrics::gauge!(RUNNING).increment(1.0);
}

pub(crate) fn ended(duration: Duration) {
    metrics::gauge!(RUNNING).decrement(1.0);
    metrics::histogram!(DURATION).record(duration.as_secs_f64());
}

pub(crate) fn succeeded() {
    metrics::counter!(SUCCEEDED).increment(1);
}

pub(crate) fn failed() {
    metrics::counter!(FAILED).increment(1);
}

pub(crate) fn retried() {
    metrics::counter!(RETRIED).increment(1);
}

pub(crate) fn dead_lettered() {
    metrics::counter!(DEAD_LETTERED).increment(1);
}

pub(crate) fn record_group(size: usize) {
    metrics::histogram!(RECORD_GROUP_SIZE).record(size as f64);
}
