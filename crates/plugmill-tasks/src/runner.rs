//! Running one queued task: start an attempt on its record, run it on every plugin that
//! registered it and has not succeeded yet, and record each plugin's outcome and how the
//! attempt ended. The queue acts on the verdict: acknowledge, retry later, dead-letter, or
//! leave it for later when the records cannot be reached.
//!
//! Which failures run again: a host's (the records unreachable, a worker that died and left
//! the message to be redelivered) always; a plugin's as the task's [`RetryPolicy`] says
//! (`retry_on`, none by default, as the seed system); a task no plugin registers, or bad
//! input, never. A retry runs only the plugins without a successful outcome.
//!
//! When the records live in a PostgreSQL database of `[databases]`, a plugin's commit on it
//! is deferred to the end of its call ([`DeferredCommits`]) and its writes commit with its
//! outcome in one transaction: a plugin that succeeded never runs again, so its writes there
//! happen exactly once.

use std::sync::Arc;
use std::time::{Duration, Instant};

use plugmill::capabilities::database::{DeferredCommits, HeldTransaction};
use plugmill::PluginManager;
use serde_json::{json, Value};

use crate::config::{RecordsAt, RetryPolicy, TaskSettings};
use crate::record::TaskRecord;
use crate::store::{Attempt, Ending, PluginResult, RecordStore, StoreError};

/// A plugin's outcome as the runner weighs it: the plugin, its answer or its error and the
/// error's kind, and how many times it ran.
type Known = (String, Result<Value, (String, String)>, u32);

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
        match self.attempt(number, &record, &data).await {
            Ok(verdict) => verdict,
            Err(error) => Verdict::Unavailable(error.to_string()),
        }
    }

    /// Runs attempt `number` of `record` on the plugins that have not succeeded, and records
    /// how it went.
    async fn attempt(
        &self,
        number: u32,
        record: &TaskRecord,
        data: &Value,
    ) -> Result<Verdict, StoreError> {
        let id = record.id.as_str();
        let done: Vec<String> = record
            .outcomes
            .iter()
            .filter(|o| o.is_ok())
            .map(|o| o.plugin.clone())
            .collect();
        // On SQLite one writer holds the whole file: a held transaction would stall the other
        // plugins' writes until every plugin's call ended, so commits are deferred only on
        // PostgreSQL.
        let deferred = match &self.settings.records {
            RecordsAt::Database(name) if self.store.is_postgres() => {
                Some(DeferredCommits::new(name.clone()))
            }
            _ => None,
        };
        let started = Instant::now();
        crate::metrics::started();
        // The task acts for the tenant that queued it.
        let call = self.manager.execute_task_except(&record.task, data, &done);
        let call = plugmill::with_tenant(record.tenant_id.as_deref(), call);
        let outcome = match &deferred {
            Some(deferred) => deferred.run(call).await,
            None => call.await,
        };
        crate::metrics::ended(started.elapsed());
        let results = match outcome {
            Ok(results) => results,
            // No plugin registers the task, or its data is unusable: never retried.
            Err(error) => {
                return self
                    .finish_failed(id, &[], &error.to_string(), error.kind())
                    .await
            }
        };
        // Each plugin's outcome (and how many times it ran), this attempt's over the earlier.
        let mut outcomes: Vec<Known> = record
            .outcomes
            .iter()
            .map(|o| {
                let result = if o.is_ok() {
                    Ok(o.answer.clone().unwrap_or(Value::Null))
                } else {
                    Err((
                        o.error.clone().unwrap_or_default(),
                        o.kind.clone().unwrap_or_default(),
                    ))
                };
                (o.plugin.clone(), result, o.attempts)
            })
            .collect();
        // Outcomes still to record (those committed with a plugin's writes are recorded).
        let mut pending: Vec<PluginResult> = Vec::new();
        for outcome in results {
            let result = outcome
                .result
                .map_err(|error| (error.to_string(), error.kind().to_string()));
            let held = deferred
                .as_ref()
                .map(|d| d.take(&outcome.plugin))
                .unwrap_or_default();
            let result = if held.is_empty() {
                pending.push((outcome.plugin.clone(), result.clone()));
                result
            } else if commit_with_outcome(held, id, &outcome.plugin, &result).await? {
                result
            } else {
                tracing::warn!(task_id = id, plugin = %outcome.plugin, "another run of the plugin succeeded first; this run's writes were rolled back");
                Ok(result.unwrap_or(Value::Null))
            };
            let runs = outcomes
                .iter()
                .find(|(p, _, _)| *p == outcome.plugin)
                .map_or(0, |(_, _, runs)| *runs);
            outcomes.retain(|(p, _, _)| *p != outcome.plugin);
            outcomes.push((outcome.plugin, result, runs + 1));
        }
        let failures: Vec<&Known> = outcomes.iter().filter(|(_, r, _)| r.is_err()).collect();
        if failures.is_empty() {
            let answers: serde_json::Map<String, Value> = outcomes
                .iter()
                .filter_map(|(plugin, r, _)| Some((plugin.clone(), r.as_ref().ok()?.clone())))
                .collect();
            self.store
                .finish(id, &pending, &Ending::Success(json!(answers)))
                .await?;
            crate::metrics::succeeded();
            return Ok(Verdict::Done);
        }
        let policy: RetryPolicy = self.settings.policy(&record.task);
        let error = failures
            .iter()
            .filter_map(|(_, r, _)| r.as_ref().err().map(|(e, _)| e.as_str()))
            .collect::<Vec<_>>()
            .join("; ");
        let kind = failures
            .iter()
            .find_map(|(_, r, _)| r.as_ref().err().map(|(_, k)| k.clone()))
            .unwrap_or_default();
        let retried = failures.iter().all(|(_, r, runs)| {
            r.as_ref()
                .err()
                .is_some_and(|(_, kind)| policy.retries(kind, *runs))
        });
        if !retried {
            return self.finish_failed(id, &pending, &error, &kind).await;
        }
        let runs = failures.iter().map(|(_, _, runs)| *runs).max().unwrap_or(1);
        let delay = self.settings.backoff_before(runs + 1);
        let line = format!("attempt {number} failed ({kind}): {error}; retrying in {delay:?}");
        self.store
            .finish(id, &pending, &Ending::Retry(line))
            .await?;
        crate::metrics::retried();
        Ok(Verdict::Retry {
            attempt: number,
            delay,
        })
    }

    async fn finish_failed(
        &self,
        id: &str,
        outcomes: &[PluginResult],
        error: &str,
        kind: &str,
    ) -> Result<Verdict, StoreError> {
        let ending = Ending::Failed {
            error: error.to_string(),
            kind: kind.to_string(),
        };
        self.store.finish(id, outcomes, &ending).await?;
        crate::metrics::failed();
        Ok(Verdict::DeadLetter(error.to_string()))
    }
}

/// Commits the transactions a plugin committed on the records database, its outcome added to
/// the last one: its writes and its outcome become visible together, or neither does. When
/// another run of the same plugin recorded success first (a worker killed while its commit
/// was in flight, its message redelivered to this one), this run's writes are rolled back
/// instead: false.
async fn commit_with_outcome(
    held: Vec<HeldTransaction>,
    id: &str,
    plugin: &str,
    result: &Result<Value, (String, String)>,
) -> Result<bool, StoreError> {
    let mut held = held;
    let Some(mut last) = held.pop() else {
        return Ok(true);
    };
    let result = result.as_ref().map_err(|(e, k)| (e.as_str(), k.as_str()));
    // The outcome row is locked until this transaction ends: a concurrent run waits here.
    let recorded = match &mut last {
        HeldTransaction::Postgres(transaction) => {
            crate::store::outcome_in(transaction, id, plugin, result).await?
        }
        HeldTransaction::Sqlite(transaction) => {
            crate::store::outcome_in_sqlite(transaction, id, plugin, result).await?
        }
        _ => 0,
    };
    if recorded == 0 {
        for transaction in held.into_iter().chain(std::iter::once(last)) {
            rollback(transaction).await?;
        }
        return Ok(false);
    }
    for transaction in held.into_iter().chain(std::iter::once(last)) {
        match transaction {
            HeldTransaction::Postgres(transaction) => transaction.commit().await?,
            HeldTransaction::Sqlite(transaction) => transaction.commit().await?,
            _ => {}
        }
    }
    Ok(true)
}

async fn rollback(transaction: HeldTransaction) -> Result<(), StoreError> {
    match transaction {
        HeldTransaction::Postgres(transaction) => transaction.rollback().await?,
        HeldTransaction::Sqlite(transaction) => transaction.rollback().await?,
        _ => {}
    }
    Ok(())
}
