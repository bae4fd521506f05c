//! Running one queued task: start an attempt on its record, run it on every plugin that
//! registered it, and record how it ended. The queue acts on the verdict: acknowledge,
//! retry later, dead-letter, or leave it for later when the records cannot be reached.

use std::sync::Arc;
use std::time::{Duration, Instant};

use plugmill::{CallError, PluginManager};
use serde_json::{json, Value};

use crate::config::TaskSettings;
use crate::store::{Attempt, RecordStore};

/// What the queue does with a message after running it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// The record is final: acknowledge.
    Done,
    /// The attempt failed and another is allowed: run it again after `delay`.
    Retry {
        /// The attempt that failed.
        attempt: u32,
        /// The wait before the next.
        delay: Duration,
    },
    /// The last attempt failed; the record says `FAILED`: dead-letter it.
    DeadLetter(String),
    /// The message names no record, or cannot be read: dead-letter it, with the reason.
    Malformed(String),
    /// The records cannot be reached: do not acknowledge; it runs later.
    Unavailable(String),
}

/// What runs tasks: the manager, the records, the settings, and the worker's name.
#[derive(Clone)]
pub(crate) struct Runner {
    pub(crate) manager: Arc<PluginManager>,
    pub(crate) store: RecordStore,
    pub(crate) settings: Arc<TaskSettings>,
    pub(crate) worker: Arc<str>,
}

impl Runner {
    /// Runs the task whose record is `id`.
    pub(crate) async fn run(&self, id: &str) -> Verdict {
        let attempt = match self.store.begin_attempt(id, &self.worker).await {
            Ok(attempt) => attempt,
            Err(error) => return Verdict::Unavailable(error.to_string()),
        };
        let (number, record, data) = match attempt {
            Attempt::Missing => return Verdict::Malformed(format!("no task record has id `{id}`")),
            Attempt::Final(status) => {
                tracing::info!(
                    task_id = id,
                    status = status.as_str(),
                    "redelivered task is final already; not run again"
                );
                return Verdict::Done;
            }
            Attempt::Run {
                number,
                record,
                data,
            } => (number, record, data),
        };
        if number > self.settings.max_attempts {
            let error = format!("gave up after {} attempts", self.settings.max_attempts);
            return self.finish_failed(id, &error).await;
        }
        let started = Instant::now();
        crate::metrics::started();
        // The task acts for the tenant that queued it.
        let call = self.manager.execute_task(&record.task, &data);
        let outcome = plugmill::with_tenant(record.tenant_id.as_deref(), call).await;
        crate::metrics::ended(started.elapsed());
        match summarize(outcome) {
            Ok(result) => match self.store.succeed(id, &result).await {
                Ok(_) => {
                    crate::metrics::succeeded();
                    Verdict::Done
                }
                Err(error) => Verdict::Unavailable(error.to_string()),
            },
            Err(error) if number < self.settings.max_attempts => {
                let delay = self.settings.backoff_before(number + 1);
                let line = format!("attempt {number} failed: {error}; retrying in {delay:?}");
                if let Err(store) = self.store.log(id, &line).await {
                    return Verdict::Unavailable(store.to_string());
                }
                crate::metrics::retried();
                Verdict::Retry {
                    attempt: number,
                    delay,
                }
            }
            Err(error) => self.finish_failed(id, &error).await,
        }
    }

    async fn finish_failed(&self, id: &str, error: &str) -> Verdict {
        match self.store.fail(id, error).await {
            Ok(_) => {
                crate::metrics::failed();
                Verdict::DeadLetter(error.to_string())
            }
            Err(store) => Verdict::Unavailable(store.to_string()),
        }
    }
}

/// Every plugin's answer when all succeeded (`{plugin: answer}`), else the failures joined.
fn summarize(outcome: Result<plugmill::HookResults<Value>, CallError>) -> Result<Value, String> {
    let outcomes = outcome.map_err(|error| error.to_string())?;
    let mut answers = serde_json::Map::new();
    let mut failures = Vec::new();
    for outcome in outcomes {
        match outcome.result {
            Ok(answer) => {
                answers.insert(outcome.plugin, answer);
            }
            Err(error) => failures.push(error.to_string()),
        }
    }
    if failures.is_empty() {
        Ok(json!(answers))
    } else {
        Err(failures.join("; "))
    }
}
