//! [`RecordStore`]: task-execution records in a SQL database (SQLite or PostgreSQL, one
//! schema, created and upgraded by plugmill's own migrations).
//!
//! Every change is one conditional statement, so two workers that both hold a redelivered
//! message cannot both move a record: an attempt starts only while the record is
//! `IN_PROGRESS`, and only an `IN_PROGRESS` record becomes final.
//!
//! What callers read and change is scoped ([`Scope`]): [`RecordStore::get`],
//! [`RecordStore::cancel`] and [`RecordStore::list`] put the caller's tenant in the
//! statement's `WHERE`, so another tenant's record is not found, like a missing one.
//! [`RecordStore::create`] can bound a tenant's open records (`[tasks] tenant_max_queued`),
//! counted from the records themselves so that the bound holds across servers.

use plugmill::capabilities::database::Pool;
use serde_json::Value;

use crate::record::{now, LogLine, NewTask, Status, TaskRecord};
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
        /// The record as it is now.
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

/// The records of task executions.
#[derive(Clone)]
pub struct RecordStore {
    pool: Pool,
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
);

const RECORD_COLUMNS: &str = "id, task, task_type, status, attempts, executed_by, tenant_id, \
     document_id, created_at, started_at, ended_at, error, result, data";

impl RecordStore {
    /// The store on `pool`, its tables created or upgraded.
    pub async fn open(pool: Pool) -> Result<Self, StoreError> {
        let store = Self { pool };
        on_pool!(store, pool => MIGRATOR.run(pool).await?);
        Ok(store)
    }

    /// Writes the record of a new task, `IN_PROGRESS`, with the log line "Task started".
    /// With `tenant_limit`, a task of a tenant that already has that many `IN_PROGRESS`
    /// records is not written ([`Created::TenantAtLimit`]); the count and the write are one
    /// statement (on PostgreSQL under a per-tenant transaction lock, so concurrent servers
    /// cannot overshoot). Tasks without a tenant are not limited.
    pub async fn create(
        &self,
        task: &NewTask,
        tenant_limit: Option<u32>,
    ) -> Result<Created, StoreError> {
        let id = uuid::Uuid::new_v4().to_string();
        let created = now();
        let data = task.data.to_string();
        let limit = match (tenant_limit, &task.tenant_id) {
            (Some(limit), Some(tenant)) => Some((i64::from(limit), tenant.as_str())),
            _ => None,
        };
        let sql = if limit.is_some() {
            "INSERT INTO plugmill_task_records \
             (id, task, task_type, status, attempts, executed_by, tenant_id, document_id, data, created_at) \
             SELECT $1, $2, $3, 'IN_PROGRESS', 0, $4, $5, $6, $7, $8 \
             WHERE (SELECT COUNT(*) FROM plugmill_task_records \
                    WHERE tenant_id = $5 AND status = 'IN_PROGRESS') < $9"
        } else {
            "INSERT INTO plugmill_task_records \
             (id, task, task_type, status, attempts, executed_by, tenant_id, document_id, data, created_at) \
             VALUES ($1, $2, $3, 'IN_PROGRESS', 0, $4, $5, $6, $7, $8)"
        };
        macro_rules! insert {
            ($executor:expr) => {
                sqlx::query(sql)
                    .bind(&id)
                    .bind(&task.task)
                    .bind(&task.task_type)
                    .bind(&task.executed_by)
                    .bind(&task.tenant_id)
                    .bind(&task.document_id)
                    .bind(&data)
                    .bind(&created)
                    .bind(limit.map(|(limit, _)| limit))
                    .execute($executor)
                    .await?
                    .rows_affected()
            };
        }
        let written = match (&self.pool, limit) {
            (Pool::Postgres(pool), Some((_, tenant))) => {
                let mut transaction = pool.begin().await?;
                sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 20261201))")
                    .bind(tenant)
                    .execute(&mut *transaction)
                    .await?;
                let written = insert!(&mut *transaction);
                transaction.commit().await?;
                written
            }
            (Pool::Postgres(pool), None) => insert!(pool),
            (Pool::Sqlite(pool), _) => insert!(pool),
        };
        if written == 0 {
            return Ok(Created::TenantAtLimit);
        }
        self.log(&id, "Task started").await?;
        let record = self
            .get(&id, &Scope::All)
            .await?
            .ok_or_else(|| StoreError::Vanished { id: id.to_string() })?;
        Ok(Created::Yes(Box::new(record)))
    }

    /// Replaces the data `id` runs with.
    pub async fn set_data(&self, id: &str, data: &Value) -> Result<(), StoreError> {
        let data = data.to_string();
        on_pool!(self, pool => {
            sqlx::query("UPDATE plugmill_task_records SET data = $2 WHERE id = $1")
                .bind(id)
                .bind(&data)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(())
    }

    /// The record `id`, with its log, if `scope` sees it.
    pub async fn get(&self, id: &str, scope: &Scope) -> Result<Option<TaskRecord>, StoreError> {
        Ok(self
            .get_with_data(id, scope)
            .await?
            .map(|(record, _)| record))
    }

    async fn get_with_data(
        &self,
        id: &str,
        scope: &Scope,
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
        let logs: Vec<(String, String)> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT created_date, log_text FROM plugmill_task_logs WHERE task_id = $1 ORDER BY created_date",
            )
            .bind(id)
            .fetch_all(pool)
            .await?
        });
        Ok(Some(record_of(row, logs)))
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
        let records: Vec<TaskRecord> = rows
            .into_iter()
            .map(|row| {
                let lines = logs.remove(&row.0).unwrap_or_default();
                record_of(row, lines).0
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

    /// Starts the next attempt of `id` by `worker`, if the record is still `IN_PROGRESS`.
    pub async fn begin_attempt(&self, id: &str, worker: &str) -> Result<Attempt, StoreError> {
        let started = now();
        let changed = on_pool!(self, pool => {
            sqlx::query(
                "UPDATE plugmill_task_records SET attempts = attempts + 1, \
                 started_at = COALESCE(started_at, $2) WHERE id = $1 AND status = 'IN_PROGRESS'",
            )
            .bind(id)
            .bind(&started)
            .execute(pool)
            .await?
            .rows_affected()
        });
        let Some((record, data)) = self.get_with_data(id, &Scope::All).await? else {
            return Ok(Attempt::Missing);
        };
        if changed == 0 {
            return Ok(Attempt::Final(record.status));
        }
        let number = record.attempts;
        self.log(id, &format!("attempt {number} started on {worker}"))
            .await?;
        Ok(Attempt::Run {
            number,
            record: Box::new(record),
            data,
        })
    }

    /// Ends `id` with `SUCCESS` and what the plugins answered; false if it was final already.
    pub async fn succeed(&self, id: &str, result: &Value) -> Result<bool, StoreError> {
        self.end(
            id,
            Status::Success,
            None,
            Some(result.to_string()),
            "Task succeeded",
        )
        .await
    }

    /// Ends `id` with `FAILED` and `error`; false if it was final already.
    pub async fn fail(&self, id: &str, error: &str) -> Result<bool, StoreError> {
        self.end(
            id,
            Status::Failed,
            Some(error),
            None,
            &format!("Task failed: {error}"),
        )
        .await
    }

    /// Ends `id` with `CANCELLED` if `scope` sees it and it has not started; false otherwise.
    pub async fn cancel(&self, id: &str, scope: &Scope) -> Result<bool, StoreError> {
        let ended = now();
        let (tenant_clause, tenant) = scope.clause(3);
        let sql = format!(
            "UPDATE plugmill_task_records SET status = 'CANCELLED', ended_at = $2 \
             WHERE id = $1 AND status = 'IN_PROGRESS' AND attempts = 0{tenant_clause}"
        );
        let changed = on_pool!(self, pool => {
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).bind(&ended);
            if let Some(tenant) = tenant {
                query = query.bind(tenant);
            }
            query.execute(pool).await?.rows_affected()
        });
        if changed > 0 {
            self.log(id, "Task cancelled").await?;
        }
        Ok(changed > 0)
    }

    async fn end(
        &self,
        id: &str,
        status: Status,
        error: Option<&str>,
        result: Option<String>,
        line: &str,
    ) -> Result<bool, StoreError> {
        let ended = now();
        let changed = on_pool!(self, pool => {
            sqlx::query(
                "UPDATE plugmill_task_records SET status = $2, ended_at = $3, error = $4, result = $5 \
                 WHERE id = $1 AND status = 'IN_PROGRESS'",
            )
            .bind(id)
            .bind(status.as_str())
            .bind(&ended)
            .bind(error)
            .bind(result)
            .execute(pool)
            .await?
            .rows_affected()
        });
        if changed > 0 {
            self.log(id, line).await?;
        }
        Ok(changed > 0)
    }

    /// Appends a line to the log of `id`.
    pub async fn log(&self, id: &str, text: &str) -> Result<(), StoreError> {
        let created = now();
        on_pool!(self, pool => {
            sqlx::query("INSERT INTO plugmill_task_logs (task_id, created_date, log_text) VALUES ($1, $2, $3)")
                .bind(id)
                .bind(&created)
                .bind(text)
                .execute(pool)
                .await?
                .rows_affected()
        });
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
fn record_of(row: RecordRow, logs: Vec<(String, String)>) -> (TaskRecord, Value) {
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
        result: row.12.and_then(|text| serde_json::from_str(&text).ok()),
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
