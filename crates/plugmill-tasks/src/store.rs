//! [`RecordStore`]: task-execution records in a SQL database (SQLite or PostgreSQL, one
//! schema, created and upgraded by plugmill's own migrations).
//!
//! Every change is one transaction around a conditional statement, so two workers that both
//! hold a redelivered message cannot both move a record: an attempt starts only while the
//! record is `IN_PROGRESS`, and only an `IN_PROGRESS` record becomes final. A record is
//! created with its data and first log line in one transaction, and an attempt ends in one
//! (each plugin's outcome, the status, the log line). Each plugin's outcome is a row of its
//! own (`plugmill_task_outcomes`): a retry runs only the plugins without an `ok` one.
//!
//! What callers read and change is scoped ([`Scope`]): [`RecordStore::get`],
//! [`RecordStore::cancel`] and [`RecordStore::list`] put the caller's tenant in the
//! statement's `WHERE`, so another tenant's record is not found, like a missing one.
//! [`RecordStore::create`] can bound a tenant's open records (`[tasks] tenant_max_queued`),
//! counted from the records themselves so that the bound holds across servers.

use plugmill::capabilities::database::Pool;
use serde_json::Value;

use crate::record::{now, LogLine, NewTask, Outcome, Status, TaskRecord};
use crate::scope::{Cursor, ListFilter, Scope};

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
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.pool {
            Pool::Postgres($pool) => $body,
            Pool::Sqlite($pool) => $body,
        }
    };
}

/// Appends a log line to task `$id` with `$executor` (a pool or a transaction).
macro_rules! insert_log {
    ($executor:expr, $id:expr, $created:expr, $text:expr) => {
        sqlx::query(
            "INSERT INTO plugmill_task_logs (task_id, created_date, log_text) VALUES ($1, $2, $3)",
        )
        .bind($id)
        .bind($created)
        .bind($text)
        .execute($executor)
        .await?
        .rows_affected()
    };
}

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

/// Ends task `$id` as `$ending` (an [`Ending`]) with `$executor`, with its log line; the
/// number of records changed (0 when it was final already).
macro_rules! end_with {
    ($executor:expr, $id:expr, $ended:expr, $ending:expr) => {{
        let (status, error, kind, result, line) = match $ending {
            Ending::Success(result) => (
                Status::Success,
                None,
                None,
                Some(result.to_string()),
                "Task succeeded".to_string(),
            ),
            Ending::Failed { error, kind } => (
                Status::Failed,
                Some(error.as_str()),
                Some(kind.as_str()),
                None,
                format!("Task failed: {error}"),
            ),
            Ending::Retry(line) => (Status::InProgress, None, None, None, line.clone()),
        };
        let changed = if status == Status::InProgress {
            1
        } else {
            sqlx::query(
                "UPDATE plugmill_task_records SET status = $2, ended_at = $3, error = $4, \
                 error_kind = $5, result = $6 WHERE id = $1 AND status = 'IN_PROGRESS'",
            )
            .bind($id)
            .bind(status.as_str())
            .bind($ended)
            .bind(error)
            .bind(kind)
            .bind(result)
            .execute($executor)
            .await?
            .rows_affected()
        };
        if changed > 0 {
            insert_log!($executor, $id, $ended, &line);
        }
        changed
    }};
}

/// Runs `$body` in a transaction `$tx` on the pool of either backend, committed at the end
/// (dropped, so rolled back, when `$body` fails with `?`).
macro_rules! in_transaction {
    ($store:expr, $tx:ident => $body:expr) => {
        on_pool!($store, pool => {
            let mut $tx = pool.begin().await?;
            let outcome = $body;
            $tx.commit().await?;
            outcome
        })
    };
}

/// The records of task executions.
#[derive(Clone)]
pub struct RecordStore {
    pool: Pool,
    idempotency_window: chrono::TimeDelta,
}

type RecordRow = (
    String,
    String,
    Option<String>,
    String,
    i64,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
    Option<String>,
);

const RECORD_COLUMNS: &str = "id, task, task_type, status, attempts, executed_by, tenant_id, \
     document_id, created_at, started_at, ended_at, error, result, data, error_kind";

/// A row of `plugmill_task_outcomes`: plugin, status, answer, error, kind, attempts.
type OutcomeRow = (
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    i64,
);

/// An [`OutcomeRow`] after its task's id.
type OutcomeListRow = (
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    i64,
);

impl RecordStore {
    /// The store on `pool`, its tables created or upgraded.
    pub async fn open(pool: Pool) -> Result<Self, StoreError> {
        let store = Self {
            pool,
            idempotency_window: chrono::TimeDelta::hours(24),
        };
        on_pool!(store, pool => MIGRATOR.run(pool).await?);
        Ok(store)
    }

    /// Whether the records are in PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        matches!(self.pool, Pool::Postgres(_))
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
    /// the answer is not [`Created::Yes`].
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
        let record = TaskRecord {
            id: id.clone(),
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
                created_date: created.clone(),
                log_text: "Task started".into(),
            }],
            error: None,
            error_kind: None,
            result: None,
            outcomes: Vec::new(),
        };
        let data = data(&record).to_string();
        let limit = match (tenant_limit, &task.tenant_id) {
            (Some(limit), Some(tenant)) => Some((i64::from(limit), tenant.as_str())),
            _ => None,
        };
        // A second insert with a key already used conflicts on the unique index and writes
        // nothing: the first record is returned instead (found below).
        let sql = if limit.is_some() {
            "INSERT INTO plugmill_task_records \
             (id, task, task_type, status, attempts, executed_by, tenant_id, document_id, data, \
              created_at, idempotency_key) \
             SELECT $1, $2, $3, 'IN_PROGRESS', 0, $4, $5, $6, $7, $8, $10 \
             WHERE (SELECT COUNT(*) FROM plugmill_task_records \
                    WHERE tenant_id = $5 AND status = 'IN_PROGRESS') < $9 \
             ON CONFLICT DO NOTHING"
        } else {
            "INSERT INTO plugmill_task_records \
             (id, task, task_type, status, attempts, executed_by, tenant_id, document_id, data, \
              created_at, idempotency_key) \
             VALUES ($1, $2, $3, 'IN_PROGRESS', 0, $4, $5, $6, $7, $8, $10) \
             ON CONFLICT DO NOTHING"
        };
        if let Some(key) = &task.idempotency_key {
            // A key older than the window is free again.
            let cutoff = chrono::Utc::now() - self.idempotency_window;
            let cutoff = cutoff.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
            on_pool!(self, pool => {
                sqlx::query(
                    "UPDATE plugmill_task_records SET idempotency_key = NULL \
                     WHERE COALESCE(tenant_id, '') = $1 AND idempotency_key = $2 AND created_at < $3",
                )
                .bind(task.tenant_id.as_deref().unwrap_or(""))
                .bind(key)
                .bind(&cutoff)
                .execute(pool)
                .await?
                .rows_affected()
            });
        }
        let written = on_pool!(self, pool => {
            let mut transaction = pool.begin().await?;
            if let (Pool::Postgres(_), Some((_, tenant))) = (&self.pool, limit) {
                sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 20261201))")
                    .bind(tenant)
                    .execute(&mut *transaction)
                    .await?;
            }
            let written = sqlx::query(sql)
                .bind(&id)
                .bind(&task.task)
                .bind(&task.task_type)
                .bind(&task.executed_by)
                .bind(&task.tenant_id)
                .bind(&task.document_id)
                .bind(&data)
                .bind(&created)
                .bind(limit.map(|(limit, _)| limit))
                .bind(&task.idempotency_key)
                .execute(&mut *transaction)
                .await?
                .rows_affected();
            if written > 0 {
                insert_log!(&mut *transaction, &id, &created, "Task started");
                transaction.commit().await?;
            }
            written
        });
        if written == 0 {
            if let Some(key) = &task.idempotency_key {
                if let Some(existing) = self.by_key(task.tenant_id.as_deref(), key).await? {
                    return Ok(Created::Existing(Box::new(existing)));
                }
            }
            return Ok(Created::TenantAtLimit);
        }
        Ok(Created::Yes(Box::new(record)))
    }

    /// The record the tenant created with `key`, if any.
    async fn by_key(
        &self,
        tenant: Option<&str>,
        key: &str,
    ) -> Result<Option<TaskRecord>, StoreError> {
        let id: Option<(String,)> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id FROM plugmill_task_records \
                 WHERE COALESCE(tenant_id, '') = $1 AND idempotency_key = $2",
            )
            .bind(tenant.unwrap_or(""))
            .bind(key)
            .fetch_optional(pool)
            .await?
        });
        match id {
            Some((id,)) => self.get(&id, &Scope::All).await,
            None => Ok(None),
        }
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
        let (tenant_clause, tenant) = scope.clause(2);
        let query = format!(
            "SELECT {RECORD_COLUMNS} FROM plugmill_task_records WHERE id = $1{tenant_clause}"
        );
        let row: Option<RecordRow> = on_pool!(self, pool => {
            let mut query = sqlx::query_as(sqlx::AssertSqlSafe(query)).bind(id);
            if let Some(tenant) = tenant {
                query = query.bind(tenant);
            }
            query.fetch_optional(pool).await?
        });
        let Some(row) = row else {
            return Ok(None);
        };
        let logs: Vec<(String, String)> = if with_logs {
            on_pool!(self, pool => {
                sqlx::query_as(
                    "SELECT created_date, log_text FROM plugmill_task_logs WHERE task_id = $1 ORDER BY created_date",
                )
                .bind(id)
                .fetch_all(pool)
                .await?
            })
        } else {
            Vec::new()
        };
        let outcomes = self
            .outcomes_of(std::iter::once(id))
            .await?
            .remove(id)
            .unwrap_or_default();
        Ok(Some(record_of(row, logs, outcomes)))
    }

    /// The records `scope` sees, newest first, filtered and paged as `filter` says.
    pub async fn list(&self, scope: &Scope, filter: &ListFilter) -> Result<Page, StoreError> {
        let mut sql = format!("SELECT {RECORD_COLUMNS} FROM plugmill_task_records WHERE 1 = 1");
        let mut binds: Vec<&str> = Vec::new();
        // Appends `clause`, its `?` numbered as the next parameter, bound to `value`.
        macro_rules! and {
            ($clause:expr, $value:expr) => {{
                binds.push($value);
                sql.push_str(&$clause.replace('?', &format!("${}", binds.len())));
            }};
        }
        // Scope first: the tenant filter of every listing is in the statement.
        if let (_, Some(tenant)) = scope.clause(1) {
            and!(" AND tenant_id = ?", tenant);
        }
        if let Some(status) = filter.status {
            and!(" AND status = ?", status.as_str());
        }
        if let Some(task) = &filter.task {
            and!(" AND task = ?", task);
        }
        if let Some(cursor) = &filter.before {
            and!(" AND (created_at < ?", &cursor.created_at);
            and!(" OR (created_at = ?", &cursor.created_at);
            and!(" AND id < ?))", &cursor.id);
        }
        let size = filter.page_size();
        sql.push_str(&format!(" ORDER BY created_at DESC, id DESC LIMIT {size}"));
        let rows: Vec<RecordRow> = on_pool!(self, pool => {
            let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql));
            for value in &binds {
                query = query.bind(*value);
            }
            query.fetch_all(pool).await?
        });
        let full = rows.len() == size as usize;
        let mut logs = self.logs_of(rows.iter().map(|row| row.0.as_str())).await?;
        let mut outcomes = self
            .outcomes_of(rows.iter().map(|row| row.0.as_str()))
            .await?;
        let records: Vec<TaskRecord> = rows
            .into_iter()
            .map(|row| {
                let lines = logs.remove(&row.0).unwrap_or_default();
                let outcomes = outcomes.remove(&row.0).unwrap_or_default();
                record_of(row, lines, outcomes).0
            })
            .collect();
        let next = records.last().filter(|_| full).map(|last| Cursor {
            created_at: last.created_at.clone(),
            id: last.id.clone(),
        });
        Ok(Page { records, next })
    }

    /// The log lines of several records, by record id, in order.
    async fn logs_of<'a>(
        &self,
        ids: impl Iterator<Item = &'a str>,
    ) -> Result<std::collections::HashMap<String, Vec<(String, String)>>, StoreError> {
        let ids: Vec<&str> = ids.collect();
        let mut by_id = std::collections::HashMap::new();
        if ids.is_empty() {
            return Ok(by_id);
        }
        let placeholders: Vec<String> = (1..=ids.len()).map(|n| format!("${n}")).collect();
        let sql = format!(
            "SELECT task_id, created_date, log_text FROM plugmill_task_logs \
             WHERE task_id IN ({}) ORDER BY task_id, created_date",
            placeholders.join(", ")
        );
        let rows: Vec<(String, String, String)> = on_pool!(self, pool => {
            let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql));
            for id in &ids {
                query = query.bind(*id);
            }
            query.fetch_all(pool).await?
        });
        for (id, created_date, log_text) in rows {
            by_id
                .entry(id)
                .or_insert_with(Vec::new)
                .push((created_date, log_text));
        }
        Ok(by_id)
    }

    /// The plugins' outcomes of several records, by record id, by plugin name.
    async fn outcomes_of<'a>(
        &self,
        ids: impl Iterator<Item = &'a str>,
    ) -> Result<std::collections::HashMap<String, Vec<Outcome>>, StoreError> {
        let ids: Vec<&str> = ids.collect();
        let mut by_id = std::collections::HashMap::new();
        if ids.is_empty() {
            return Ok(by_id);
        }
        let placeholders: Vec<String> = (1..=ids.len()).map(|n| format!("${n}")).collect();
        let sql = format!(
            "SELECT task_id, plugin, status, answer, error, kind, attempts \
             FROM plugmill_task_outcomes WHERE task_id IN ({}) ORDER BY task_id, plugin",
            placeholders.join(", ")
        );
        let rows: Vec<OutcomeListRow> = on_pool!(self, pool => {
            let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql));
            for id in &ids {
                query = query.bind(*id);
            }
            query.fetch_all(pool).await?
        });
        for (id, plugin, status, answer, error, kind, attempts) in rows {
            by_id
                .entry(id)
                .or_insert_with(Vec::new)
                .push(outcome_of((plugin, status, answer, error, kind, attempts)));
        }
        Ok(by_id)
    }

    /// Records `plugin`'s outcome of task `id`: its answer, or its error and the error's
    /// kind; counts one more run of it. An `ok` outcome is never replaced.
    pub async fn record_outcome(
        &self,
        id: &str,
        plugin: &str,
        outcome: Result<&Value, (&str, &str)>,
    ) -> Result<(), StoreError> {
        on_pool!(self, pool => upsert_outcome!(pool, id, plugin, outcome));
        Ok(())
    }

    /// Starts the next attempt of `id` by `worker`, if the record is still `IN_PROGRESS`.
    pub async fn begin_attempt(&self, id: &str, worker: &str) -> Result<Attempt, StoreError> {
        let started = now();
        let changed = in_transaction!(self, transaction => {
            let number: Option<(i64,)> = sqlx::query_as(
                "UPDATE plugmill_task_records SET attempts = attempts + 1, \
                 started_at = COALESCE(started_at, $2) WHERE id = $1 AND status = 'IN_PROGRESS' \
                 RETURNING attempts",
            )
            .bind(id)
            .bind(&started)
            .fetch_optional(&mut *transaction)
            .await?;
            if let Some((number,)) = number {
                let line = format!("attempt {number} started on {worker}");
                insert_log!(&mut *transaction, id, &started, &line);
            }
            number.is_some()
        });
        // The runner needs the record's outcomes and data, not its log.
        let Some((record, data)) = self.get_with_data(id, &Scope::All, false).await? else {
            return Ok(Attempt::Missing);
        };
        if !changed {
            return Ok(Attempt::Final(record.status));
        }
        Ok(Attempt::Run {
            number: record.attempts,
            record: Box::new(record),
            data,
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
        let ended = now();
        let changed = in_transaction!(self, transaction => {
            for (plugin, outcome) in outcomes {
                let outcome = outcome.as_ref().map_err(|(e, k)| (e.as_str(), k.as_str()));
                upsert_outcome!(&mut *transaction, id, plugin, outcome);
            }
            end_with!(&mut *transaction, id, &ended, ending)
        });
        Ok(changed > 0)
    }

    /// Makes the `FAILED` record `id` `IN_PROGRESS` again if `scope` sees it, with the log
    /// line "Retry requested by WHO"; its next attempts are appended to it, and the plugins
    /// that succeeded keep their outcomes (they do not run again). False when the record is
    /// not `FAILED` (or `scope` does not see it).
    pub async fn reopen(&self, id: &str, scope: &Scope, by: &str) -> Result<bool, StoreError> {
        let now = now();
        let (tenant_clause, tenant) = scope.clause(2);
        let sql = format!(
            "UPDATE plugmill_task_records SET status = 'IN_PROGRESS', ended_at = NULL, \
             error = NULL, error_kind = NULL WHERE id = $1 AND status = 'FAILED'{tenant_clause}"
        );
        let line = format!("Retry requested by {by}");
        let changed = in_transaction!(self, transaction => {
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id);
            if let Some(tenant) = tenant {
                query = query.bind(tenant);
            }
            let changed = query.execute(&mut *transaction).await?.rows_affected();
            if changed > 0 {
                insert_log!(&mut *transaction, id, &now, &line);
            }
            changed
        });
        Ok(changed > 0)
    }

    /// Ends `id` with `CANCELLED` if `scope` sees it and it has not started; false otherwise.
    pub async fn cancel(&self, id: &str, scope: &Scope) -> Result<bool, StoreError> {
        let ended = now();
        let (tenant_clause, tenant) = scope.clause(3);
        let sql = format!(
            "UPDATE plugmill_task_records SET status = 'CANCELLED', ended_at = $2 \
             WHERE id = $1 AND status = 'IN_PROGRESS' AND attempts = 0{tenant_clause}"
        );
        let changed = in_transaction!(self, transaction => {
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).bind(&ended);
            if let Some(tenant) = tenant {
                query = query.bind(tenant);
            }
            let changed = query.execute(&mut *transaction).await?.rows_affected();
            if changed > 0 {
                insert_log!(&mut *transaction, id, &ended, "Task cancelled");
            }
            changed
        });
        Ok(changed > 0)
    }

    /// Appends a line to the log of `id`.
    pub async fn log(&self, id: &str, text: &str) -> Result<(), StoreError> {
        let created = now();
        on_pool!(self, pool => insert_log!(pool, id, &created, text));
        Ok(())
    }

    /// The ids of records still `IN_PROGRESS`, oldest first.
    pub async fn in_progress(&self) -> Result<Vec<String>, StoreError> {
        let ids: Vec<(String,)> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id FROM plugmill_task_records WHERE status = 'IN_PROGRESS' ORDER BY created_at",
            )
            .fetch_all(pool)
            .await?
        });
        Ok(ids.into_iter().map(|(id,)| id).collect())
    }

    /// How many records there are of each status (statuses with none left out).
    pub async fn counts(&self) -> Result<Vec<(Status, u64)>, StoreError> {
        let rows: Vec<(String, i64)> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT status, COUNT(*) FROM plugmill_task_records GROUP BY status ORDER BY status",
            )
            .fetch_all(pool)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(|(status, count)| (Status::parse(&status), count.max(0) as u64))
            .collect())
    }
}

/// A record from its row and its log lines, with the data it runs with.
fn record_of(
    row: RecordRow,
    logs: Vec<(String, String)>,
    outcomes: Vec<Outcome>,
) -> (TaskRecord, Value) {
    let data = serde_json::from_str(&row.13).unwrap_or(Value::Null);
    let record = TaskRecord {
        id: row.0,
        task: row.1,
        task_type: row.2,
        status: Status::parse(&row.3),
        attempts: u32::try_from(row.4).unwrap_or(0),
        executed_by: row.5,
        tenant_id: row.6,
        document_id: row.7,
        created_at: row.8,
        started_at: row.9,
        ended_at: row.10,
        error: row.11,
        error_kind: row.14,
        result: row.12.and_then(|text| serde_json::from_str(&text).ok()),
        outcomes,
        logs: logs
            .into_iter()
            .map(|(created_date, log_text)| LogLine {
                created_date,
                log_text,
            })
            .collect(),
    };
    (record, data)
}

/// An outcome from its row.
fn outcome_of(row: OutcomeRow) -> Outcome {
    let (plugin, status, answer, error, kind, attempts) = row;
    Outcome {
        plugin,
        status,
        answer: answer.and_then(|text| serde_json::from_str(&text).ok()),
        error,
        kind,
        attempts: u32::try_from(attempts).unwrap_or(0),
    }
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
