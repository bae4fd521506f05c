//! [`RecordStore`]: task-execution records in a SQL database, created and upgraded by
//! plugmill's own migrations, in one of two layouts ([`Layout`], `[tasks] layout`):
//!
//! - `own`: plugmill's own tables (`plugmill_task_records`, `plugmill_task_logs`), on
//!   SQLite or PostgreSQL: the default;
//! - `seed`: the seed platform's `sequent_backend.tasks_execution` (PostgreSQL), what only
//!   plugmill keeps (the task run, attempts, data, error kind, idempotency key) in
//!   `plugmill_seed_tasks` beside it.
//!
//! Both answer the same [`RecordLayout`] calls; this module picks one and adds what they
//! share: each plugin's outcome, a row of its own (`plugmill_task_outcomes`), so that a retry
//! runs only the plugins without an `ok` one.
//!
//! Every change is one transaction around a conditional statement, so two workers that both
//! hold a redelivered message cannot both move a record: an attempt starts only while the
//! record is `IN_PROGRESS`, and only an `IN_PROGRESS` record becomes final. A record is
//! created with its data and first log line in one transaction, and an attempt ends in one
//! (each plugin's outcome, the status, the log line).
//!
//! What callers read and change is scoped ([`Scope`]): [`RecordStore::get`],
//! [`RecordStore::cancel`] and [`RecordStore::list`] put the caller's tenant in the
//! statement's `WHERE`, so another tenant's record is not found, like a missing one.
//! [`RecordStore::create`] can bound a tenant's open records (`[tasks] tenant_max_queued`),
//! counted from the records themselves so that the bound holds across servers.

mod group;
mod own;
mod seed;

use std::collections::HashMap;
use std::sync::Arc;

use plugmill::capabilities::database::Pool;
use serde_json::Value;

use crate::config::Layout;
use crate::record::{now, LogLine, NewTask, Outcome, Status, TaskRecord};
use crate::scope::{Cursor, ListFilter, Scope};
use group::{Applied, Change, Committer};

/// The migrations of the record tables.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Why the record store could not answer (the database is unreachable, say): the task is
/// left for later, never lost.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database failed or could not be reached (its message, credentials redacted).
    #[error("the task records are unavailable: {0}")]
    Database(String),
    /// The record tables could not be created or upgraded (the error is in the message, not
    /// repeated as a source).
    #[error("the task records are unavailable: migrating the record tables: {0}")]
    Migration(sqlx::migrate::MigrateError),
    /// `[tasks] layout = "seed"` on a database without the platform's table, or not in
    /// PostgreSQL.
    #[error("the task records are unavailable: {0}")]
    Layout(String),
    /// A record just written could not be read back.
    #[error("the task records are unavailable: the record {id} vanished after it was written")]
    Vanished {
        /// The record's id.
        id: String,
    },
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        StoreError::Database(plugmill::redact_secrets(&error.to_string()))
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(error: sqlx::migrate::MigrateError) -> Self {
        StoreError::Migration(error)
    }
}

/// What starting an attempt found.
#[derive(Debug)]
pub enum Attempt {
    /// Run it: this is attempt `number` of the task, with its data.
    Run {
        /// 1 for the first attempt.
        number: u32,
        /// The record as it is now, its outcomes included (its log left out).
        record: Box<TaskRecord>,
        /// The data to run it with.
        data: Value,
    },
    /// The record is final already (a redelivery of a task that ended): nothing to run.
    Final(Status),
    /// No record has this id.
    Missing,
}

/// What writing a new record did.
#[derive(Debug)]
pub enum Created {
    /// The record, `IN_PROGRESS`.
    Yes(Box<TaskRecord>),
    /// The task's tenant has as many open records as its limit allows: nothing was written.
    TenantAtLimit,
    /// The tenant created a task with this `Idempotency-Key` within the window: its record,
    /// and nothing was written.
    Existing(Box<TaskRecord>),
    /// The layout cannot keep this task (the seed's needs a tenant that is a UUID, say):
    /// why; nothing was written.
    Refused(String),
}

/// A plugin's outcome of an attempt: its name, and its answer or its error and the error's
/// kind.
pub type PluginResult = (String, Result<Value, (String, String)>);

/// How an attempt ends a record.
#[derive(Clone, Debug)]
pub enum Ending {
    /// Every plugin succeeded: `SUCCESS`, with their answers.
    Success(Value),
    /// `FAILED`, for good.
    Failed {
        /// Why.
        error: String,
        /// The failure's kind.
        kind: String,
    },
    /// Another attempt follows: the record stays `IN_PROGRESS`, with this log line.
    Retry(String),
}

/// What an [`Ending`] writes into a record: its status, error, error kind, result (JSON
/// text) and log line.
pub(crate) struct EndingColumns<'a> {
    pub(crate) status: Status,
    pub(crate) error: Option<&'a str>,
    pub(crate) kind: Option<&'a str>,
    pub(crate) result: Option<String>,
    pub(crate) line: String,
}

impl Ending {
    /// The record's columns this ending writes.
    pub(crate) fn columns(&self) -> EndingColumns<'_> {
        match self {
            Ending::Success(result) => EndingColumns {
                status: Status::Success,
                error: None,
                kind: None,
                result: Some(result.to_string()),
                line: "Task succeeded".to_string(),
            },
            Ending::Failed { error, kind } => EndingColumns {
                status: Status::Failed,
                error: Some(error),
                kind: Some(kind),
                result: None,
                line: format!("Task failed: {error}"),
            },
            Ending::Retry(line) => EndingColumns {
                status: Status::InProgress,
                error: None,
                kind: None,
                result: None,
                line: line.clone(),
            },
        }
    }
}

/// One page of a listing, newest first.
#[derive(Debug, Default)]
pub struct Page {
    /// The records, each with its log.
    pub records: Vec<TaskRecord>,
    /// Where the next page starts (`before=`), when there may be one.
    pub next: Option<Cursor>,
}

/// Runs `$body` with `$pool` bound to the pool of either backend: the statements are the same.
macro_rules! on_pool {
    ($pool_of:expr, $pool:ident => $body:expr) => {
        match $pool_of {
            ::plugmill::capabilities::database::Pool::Postgres($pool) => $body,
            ::plugmill::capabilities::database::Pool::Sqlite($pool) => $body,
        }
    };
}
pub(crate) use on_pool;

/// Records a plugin's outcome (`Result<&Value, (&str error, &str kind)>`) of task `$id` with
/// `$executor`, one more run counted; an `ok` row is never replaced.
macro_rules! upsert_outcome {
    ($executor:expr, $id:expr, $plugin:expr, $outcome:expr) => {{
        let (status, answer, error, kind) = match $outcome {
            Ok(answer) => ("ok", Some(answer.to_string()), None, None),
            Err((error, kind)) => ("failed", None, Some(error), Some(kind)),
        };
        sqlx::query(
            "INSERT INTO plugmill_task_outcomes (task_id, plugin, status, answer, error, kind, attempts) \
             VALUES ($1, $2, $3, $4, $5, $6, 1) \
             ON CONFLICT (task_id, plugin) DO UPDATE SET status = excluded.status, \
             answer = excluded.answer, error = excluded.error, kind = excluded.kind, \
             attempts = plugmill_task_outcomes.attempts + 1 \
             WHERE plugmill_task_outcomes.status <> 'ok'",
        )
        .bind($id)
        .bind($plugin)
        .bind(status)
        .bind(answer)
        .bind(error)
        .bind(kind)
        .execute($executor)
        .await?
        .rows_affected()
    }};
}

pub(crate) use upsert_outcome;

/// What a layout answers: the records' rows and logs. Each plugin's outcome is the store's
/// (it is the same in both layouts), and is left empty in the records a layout returns.
pub(crate) trait RecordLayout {
    /// Completes the new `record` of `task` with what this layout keeps, or says why it
    /// cannot keep it.
    fn accept(&self, task: &NewTask, record: &mut TaskRecord) -> Result<(), String>;

    /// Writes `record` (`IN_PROGRESS`, "Task started") with its `data`, in one transaction;
    /// with `limit`, only if its tenant has fewer `IN_PROGRESS` records. False when nothing
    /// was written (the tenant at its limit, or its `Idempotency-Key` taken).
    async fn insert(
        &self,
        record: &TaskRecord,
        task: &NewTask,
        data: &str,
        limit: Option<i64>,
    ) -> Result<bool, StoreError>;

    /// Frees the tenant's `key` when it was taken before `cutoff`.
    async fn forget_key(
        &self,
        tenant: Option<&str>,
        key: &str,
        cutoff: &str,
    ) -> Result<(), StoreError>;

    /// The id of the record the tenant created with `key`.
    async fn id_by_key(
        &self,
        tenant: Option<&str>,
        key: &str,
    ) -> Result<Option<String>, StoreError>;

    /// The record `id` (its log when `with_logs`) and its data, if `scope` sees it.
    async fn read(
        &self,
        id: &str,
        scope: &Scope,
        with_logs: bool,
    ) -> Result<Option<(TaskRecord, Value)>, StoreError>;

    /// One page of the records `scope` sees, with their logs, newest first.
    async fn list(&self, scope: &Scope, filter: &ListFilter)
        -> Result<Vec<TaskRecord>, StoreError>;

    /// Counts one more attempt of `id` by `worker` if it is `IN_PROGRESS`: whether it was.
    async fn begin(&self, id: &str, worker: &str, started: &str) -> Result<bool, StoreError>;

    /// Records the plugins' `outcomes` and ends the attempt as `ending`, in one transaction:
    /// whether the record changed (false once it is final).
    async fn end(
        &self,
        id: &str,
        outcomes: &[PluginResult],
        ending: &Ending,
        ended: &str,
    ) -> Result<bool, StoreError>;

    /// Makes the `FAILED` record `id` `IN_PROGRESS` again with the log line `line`.
    async fn reopen(&self, id: &str, scope: &Scope, line: &str) -> Result<bool, StoreError>;

    /// Ends `id` `CANCELLED` if it has not started.
    async fn cancel(&self, id: &str, scope: &Scope, ended: &str) -> Result<bool, StoreError>;

    /// Appends a log line to `id`.
    async fn log(&self, id: &str, created: &str, text: &str) -> Result<(), StoreError>;

    /// The ids of the records still `IN_PROGRESS`, oldest first.
    async fn in_progress(&self) -> Result<Vec<String>, StoreError>;

    /// How many records there are of each status.
    async fn counts(&self) -> Result<Vec<(String, i64)>, StoreError>;

    /// Whether [`Self::apply_group`] writes a group in one transaction.
    fn groups_changes(&self) -> bool {
        false
    }

    /// Applies the changes of `group` (no two of the same record) in one transaction, with
    /// the conditions each has alone: what each did, in order. Nothing is written when it
    /// fails.
    async fn apply_group(&self, group: &[Change]) -> Result<Vec<Applied>, StoreError> {
        let _ = group;
        Err(StoreError::Layout(
            "this layout writes each change of its records alone".into(),
        ))
    }
}

/// The layout a store writes.
#[derive(Clone)]
enum Records {
    Own(own::OwnRecords),
    Seed(seed::SeedRecords),
}

/// Runs `$call` on the store's layout.
macro_rules! layout {
    ($store:expr, $records:ident => $call:expr) => {
        match &$store.records {
            Records::Own($records) => $call,
            Records::Seed($records) => $call,
        }
    };
}

/// The records of task executions.
#[derive(Clone)]
pub struct RecordStore {
    pool: Pool,
    records: Records,
    idempotency_window: chrono::TimeDelta,
    /// Where the writes of tasks go to share transactions, when the layout groups them.
    committer: Option<Arc<Committer>>,
}

/// A row of `plugmill_task_outcomes`, after its task's id: plugin, status, answer, error,
/// kind, attempts.
pub(crate) type OutcomeListRow = (
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    i64,
);

impl RecordStore {
    /// The store on `pool`, plugmill's own layout, its tables created or upgraded.
    pub async fn open(pool: Pool) -> Result<Self, StoreError> {
        Self::open_with(pool, Layout::Plugmill).await
    }

    /// The store on `pool` in `layout`, plugmill's tables created or upgraded. The seed's
    /// layout needs PostgreSQL and the platform's `sequent_backend.tasks_execution`, which
    /// plugmill never creates or changes.
    pub async fn open_with(pool: Pool, layout: Layout) -> Result<Self, StoreError> {
        on_pool!(&pool, pool => MIGRATOR.run(pool).await?);
        let records = match (layout, &pool) {
            (Layout::Plugmill, _) => Records::Own(own::OwnRecords::new(pool.clone())),
            (Layout::Seed, Pool::Postgres(pg)) => {
                Records::Seed(seed::SeedRecords::open(pg.clone()).await?)
            }
            (Layout::Seed, _) => {
                return Err(StoreError::Layout(
                    "[tasks] layout = \"seed\" keeps the records in the platform's PostgreSQL database; this one is not PostgreSQL".into(),
                ))
            }
        };
        let mut store = Self {
            pool,
            records,
            idempotency_window: chrono::TimeDelta::hours(24),
            committer: None,
        };
        if layout!(store, records => records.groups_changes()) {
            store.committer = Some(Arc::new(Committer::start(store.clone())));
        }
        Ok(store)
    }

    /// How many transactions the writes of tasks shared so far, and how many writes they
    /// held; `None` when each write has a transaction of its own (SQLite, the seed's layout).
    pub fn shared_transactions(&self) -> Option<(u64, u64)> {
        self.committer
            .as_ref()
            .map(|committer| committer.committed())
    }

    /// Whether the records are in PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        matches!(self.pool, Pool::Postgres(_))
    }

    /// The layout the records are kept in.
    pub fn layout(&self) -> Layout {
        match self.records {
            Records::Own(_) => Layout::Plugmill,
            Records::Seed(_) => Layout::Seed,
        }
    }

    /// The store, an `Idempotency-Key` remembered for `window` (24 h unless set).
    pub fn with_idempotency_window(mut self, window: std::time::Duration) -> Self {
        self.idempotency_window =
            chrono::TimeDelta::from_std(window).unwrap_or(chrono::TimeDelta::MAX);
        self
    }

    /// Writes the record of a new task, `IN_PROGRESS`, with the log line "Task started", its
    /// data as given. See [`Self::create_with`].
    pub async fn create(
        &self,
        task: &NewTask,
        tenant_limit: Option<u32>,
    ) -> Result<Created, StoreError> {
        self.create_with(task, tenant_limit, |_| task.data.clone())
            .await
    }

    /// Writes the record of a new task, `IN_PROGRESS`, with the log line "Task started" and
    /// the data `data` makes from the record (the seed's plugins find their record in their
    /// data): row, data and log line in one transaction, so no reader ever sees a record
    /// without them. With `tenant_limit`, a task of a tenant that already has that many
    /// `IN_PROGRESS` records is not written ([`Created::TenantAtLimit`]); the count and the
    /// write are one statement (on PostgreSQL under a per-tenant transaction lock, so
    /// concurrent servers cannot overshoot). Tasks without a tenant are not limited.
    pub async fn create_with(
        &self,
        task: &NewTask,
        tenant_limit: Option<u32>,
        data: impl FnOnce(&TaskRecord) -> Value,
    ) -> Result<Created, StoreError> {
        let id = uuid::Uuid::new_v4().to_string();
        self.create_identified(id, task, tenant_limit, data).await
    }

    /// Writes the record of a task queued elsewhere under the id it has there (the seed's
    /// API), its data as given. When a record has that id already nothing is written, and
    /// the answer is not [`Created::Yes`]. In the seed's layout, the platform's row the
    /// seed's API wrote is taken as it is, and plugmill's row is written beside it.
    pub(crate) async fn create_as(&self, id: &str, task: &NewTask) -> Result<Created, StoreError> {
        self.create_identified(id.to_string(), task, None, |_| task.data.clone())
            .await
    }

    async fn create_identified(
        &self,
        id: String,
        task: &NewTask,
        tenant_limit: Option<u32>,
        data: impl FnOnce(&TaskRecord) -> Value,
    ) -> Result<Created, StoreError> {
        let created = now();
        let mut record = TaskRecord {
            id,
            task: task.task.clone(),
            task_type: task.task_type.clone(),
            status: Status::InProgress,
            attempts: 0,
            executed_by: task.executed_by.clone(),
            tenant_id: task.tenant_id.clone(),
            document_id: task.document_id.clone(),
            created_at: created.clone(),
            started_at: None,
            ended_at: None,
            logs: vec![LogLine {
                created_date: created,
                log_text: "Task started".into(),
            }],
            error: None,
            error_kind: None,
            result: None,
            outcomes: Vec::new(),
            name: None,
            election_event_id: None,
            annotations: None,
            labels: None,
        };
        if let Err(why) = layout!(self, records => records.accept(task, &mut record)) {
            return Ok(Created::Refused(why));
        }
        let data = data(&record).to_string();
        let limit = match (tenant_limit, &task.tenant_id) {
            (Some(limit), Some(_)) => Some(i64::from(limit)),
            _ => None,
        };
        if let Some(key) = &task.idempotency_key {
            // A key older than the window is free again.
            let cutoff = chrono::Utc::now() - self.idempotency_window;
            let cutoff = cutoff.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
            let tenant = task.tenant_id.as_deref();
            layout!(self, records => records.forget_key(tenant, key, &cutoff).await?);
        }
        let written = match self
            .apply(Change::insert(&record, task, &data, limit))
            .await?
        {
            Applied::Inserted(written) => written,
            _ => false,
        };
        if !written {
            // A second insert with a key already used conflicts on the unique index and
            // writes nothing: the first record is returned instead.
            if let Some(key) = &task.idempotency_key {
                let tenant = task.tenant_id.as_deref();
                let id = layout!(self, records => records.id_by_key(tenant, key).await?);
                if let Some(existing) = match id {
                    Some(id) => self.get(&id, &Scope::All).await?,
                    None => None,
                } {
                    return Ok(Created::Existing(Box::new(existing)));
                }
            }
            return Ok(Created::TenantAtLimit);
        }
        Ok(Created::Yes(Box::new(record)))
    }

    /// The record `id`, with its log, if `scope` sees it.
    pub async fn get(&self, id: &str, scope: &Scope) -> Result<Option<TaskRecord>, StoreError> {
        Ok(self
            .get_with_data(id, scope, true)
            .await?
            .map(|(record, _)| record))
    }

    /// The record `id` (with its log when `with_logs`) and its data, if `scope` sees it.
    pub(crate) async fn get_with_data(
        &self,
        id: &str,
        scope: &Scope,
        with_logs: bool,
    ) -> Result<Option<(TaskRecord, Value)>, StoreError> {
        let found = layout!(self, records => records.read(id, scope, with_logs).await?);
        let Some((mut record, data)) = found else {
            return Ok(None);
        };
        record.outcomes = self
            .outcomes_of(std::iter::once(id))
            .await?
            .remove(id)
            .unwrap_or_default();
        Ok(Some((record, data)))
    }

    /// The records `scope` sees, newest first, filtered and paged as `filter` says.
    pub async fn list(&self, scope: &Scope, filter: &ListFilter) -> Result<Page, StoreError> {
        let mut records = layout!(self, layout => layout.list(scope, filter).await?);
        let full = records.len() == filter.page_size() as usize;
        let mut outcomes = self
            .outcomes_of(records.iter().map(|record| record.id.as_str()))
            .await?;
        for record in &mut records {
            record.outcomes = outcomes.remove(&record.id).unwrap_or_default();
        }
        let next = records.last().filter(|_| full).map(|last| Cursor {
            created_at: last.created_at.clone(),
            id: last.id.clone(),
        });
        Ok(Page { records, next })
    }

    /// The plugins' outcomes of several records, by record id, by plugin name.
    async fn outcomes_of<'a>(
        &self,
        ids: impl Iterator<Item = &'a str>,
    ) -> Result<HashMap<String, Vec<Outcome>>, StoreError> {
        let ids: Vec<&str> = ids.collect();
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let placeholders: Vec<String> = (1..=ids.len()).map(|n| format!("${n}")).collect();
        let sql = format!(
            "SELECT task_id, plugin, status, answer, error, kind, attempts \
             FROM plugmill_task_outcomes WHERE task_id IN ({}) ORDER BY task_id, plugin",
            placeholders.join(", ")
        );
        let rows: Vec<OutcomeListRow> = on_pool!(&self.pool, pool => {
            let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql));
            for id in &ids {
                query = query.bind(*id);
            }
            query.fetch_all(pool).await?
        });
        Ok(outcomes_of_rows(rows))
    }

    /// Records `plugin`'s outcome of task `id`: its answer, or its error and the error's
    /// kind; counts one more run of it. An `ok` outcome is never replaced.
    pub async fn record_outcome(
        &self,
        id: &str,
        plugin: &str,
        outcome: Result<&Value, (&str, &str)>,
    ) -> Result<(), StoreError> {
        on_pool!(&self.pool, pool => upsert_outcome!(pool, id, plugin, outcome));
        Ok(())
    }

    /// Starts the next attempt of `id` by `worker`, if the record is still `IN_PROGRESS`.
    pub async fn begin_attempt(&self, id: &str, worker: &str) -> Result<Attempt, StoreError> {
        let begin = Change::Begin {
            id: id.to_string(),
            worker: worker.to_string(),
            started: now(),
        };
        if let Applied::Began(Some(began)) = self.apply(begin).await? {
            let (record, data) = *began;
            return Ok(Attempt::Run {
                number: record.attempts,
                record: Box::new(record),
                data,
            });
        }
        Ok(match self.get_with_data(id, &Scope::All, false).await? {
            Some((record, _)) => Attempt::Final(record.status),
            None => Attempt::Missing,
        })
    }

    /// Ends `id` with `SUCCESS` and what the plugins answered; false if it was final already.
    pub async fn succeed(&self, id: &str, result: &Value) -> Result<bool, StoreError> {
        self.finish(id, &[], &Ending::Success(result.clone())).await
    }

    /// Ends `id` with `FAILED`, `error` and its kind; false if it was final already.
    pub async fn fail(&self, id: &str, error: &str, kind: &str) -> Result<bool, StoreError> {
        let ending = Ending::Failed {
            error: error.to_string(),
            kind: kind.to_string(),
        };
        self.finish(id, &[], &ending).await
    }

    /// Records the plugins' outcomes of an attempt of `id` and how the attempt ends, in one
    /// transaction; false if the record was final already (the outcomes are still kept).
    pub async fn finish(
        &self,
        id: &str,
        outcomes: &[PluginResult],
        ending: &Ending,
    ) -> Result<bool, StoreError> {
        let end = Change::End {
            id: id.to_string(),
            outcomes: outcomes.to_vec(),
            ending: ending.clone(),
            ended: now(),
        };
        Ok(matches!(self.apply(end).await?, Applied::Ended(true)))
    }

    /// Applies `change` in a group shared with other tasks' when the layout groups them,
    /// alone otherwise; answers once it is committed.
    async fn apply(&self, change: Change) -> Result<Applied, StoreError> {
        match &self.committer {
            Some(committer) => committer.apply(change).await,
            None => self.apply_alone(change).await,
        }
    }

    /// Applies the changes of `group` in one transaction (see [`RecordLayout::apply_group`]).
    pub(crate) async fn apply_group(&self, group: &[Change]) -> Result<Vec<Applied>, StoreError> {
        layout!(self, records => records.apply_group(group).await)
    }

    /// Applies `change` in a transaction of its own.
    pub(crate) async fn apply_alone(&self, change: Change) -> Result<Applied, StoreError> {
        Ok(match change {
            Change::Insert {
                record,
                task,
                data,
                limit,
            } => Applied::Inserted(
                layout!(self, records => records.insert(&record, &task, &data, limit).await?),
            ),
            Change::Begin {
                id,
                worker,
                started,
            } => {
                let began = layout!(self, records => records.begin(&id, &worker, &started).await?);
                // The runner needs the record's outcomes and data, not its log.
                let found = self.get_with_data(&id, &Scope::All, false).await?;
                Applied::Began(found.filter(|_| began).map(Box::new))
            }
            Change::End {
                id,
                outcomes,
                ending,
                ended,
            } => Applied::Ended(
                layout!(self, records => records.end(&id, &outcomes, &ending, &ended).await?),
            ),
        })
    }

    /// Makes the `FAILED` record `id` `IN_PROGRESS` again if `scope` sees it, with the log
    /// line "Retry requested by WHO"; its next attempts are appended to it, and the plugins
    /// that succeeded keep their outcomes (they do not run again). False when the record is
    /// not `FAILED` (or `scope` does not see it).
    pub async fn reopen(&self, id: &str, scope: &Scope, by: &str) -> Result<bool, StoreError> {
        let line = format!("Retry requested by {by}");
        layout!(self, records => records.reopen(id, scope, &line).await)
    }

    /// Ends `id` with `CANCELLED` if `scope` sees it and it has not started; false otherwise.
    pub async fn cancel(&self, id: &str, scope: &Scope) -> Result<bool, StoreError> {
        let ended = now();
        layout!(self, records => records.cancel(id, scope, &ended).await)
    }

    /// Appends a line to the log of `id`.
    pub async fn log(&self, id: &str, text: &str) -> Result<(), StoreError> {
        let created = now();
        layout!(self, records => records.log(id, &created, text).await)
    }

    /// The ids of records still `IN_PROGRESS`, oldest first.
    pub async fn in_progress(&self) -> Result<Vec<String>, StoreError> {
        layout!(self, records => records.in_progress().await)
    }

    /// How many records there are of each status (statuses with none left out).
    pub async fn counts(&self) -> Result<Vec<(Status, u64)>, StoreError> {
        let rows = layout!(self, records => records.counts().await?);
        Ok(rows
            .into_iter()
            .map(|(status, count)| (Status::parse(&status), count.max(0) as u64))
            .collect())
    }
}

/// Rows of `plugmill_task_outcomes` as each record's outcomes, by record id.
pub(crate) fn outcomes_of_rows(rows: Vec<OutcomeListRow>) -> HashMap<String, Vec<Outcome>> {
    let mut by_id: HashMap<String, Vec<Outcome>> = HashMap::new();
    for (id, plugin, status, answer, error, kind, attempts) in rows {
        by_id.entry(id).or_default().push(Outcome {
            plugin,
            status,
            answer: answer.and_then(|text| serde_json::from_str(&text).ok()),
            error,
            kind,
            attempts: u32::try_from(attempts).unwrap_or(0),
        });
    }
    by_id
}

/// Records a plugin's outcome of task `id` in a PostgreSQL transaction of the caller's (the
/// plugin's own, committed with it); 0 when the plugin has an `ok` outcome already.
pub(crate) async fn outcome_in(
    connection: &mut sqlx::PgConnection,
    id: &str,
    plugin: &str,
    outcome: Result<&Value, (&str, &str)>,
) -> Result<u64, StoreError> {
    Ok(upsert_outcome!(connection, id, plugin, outcome))
}

/// Records a plugin's outcome of task `id` in a SQLite transaction of the caller's.
pub(crate) async fn outcome_in_sqlite(
    connection: &mut sqlx::SqliteConnection,
    id: &str,
    plugin: &str,
    outcome: Result<&Value, (&str, &str)>,
) -> Result<u64, StoreError> {
    Ok(upsert_outcome!(connection, id, plugin, outcome))
}
