//! [`RecordStore`]: task-execution records in a SQL database (SQLite or PostgreSQL, one
//! schema, created and upgraded by plugmill's own migrations).
//!
//! Every change is one conditional statement, so two workers that both hold a redelivered
//! message cannot both move a record: an attempt starts only while the record is
//! `IN_PROGRESS`, and only an `IN_PROGRESS` record becomes final.

use plugmill::capabilities::database::Pool;
use serde_json::Value;

use crate::record::{now, LogLine, NewTask, Status, TaskRecord};

/// The migrations of the record tables.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Why the record store could not answer (the database is unreachable, say): the task is
/// left for later, never lost.
#[derive(Debug, thiserror::Error)]
#[error("the task records are unavailable: {0}")]
pub struct StoreError(String);

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        StoreError(plugmill::redact_secrets(&error.to_string()))
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(error: sqlx::migrate::MigrateError) -> Self {
        StoreError(format!("migrating the record tables: {error}"))
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
    pub async fn create(&self, task: &NewTask) -> Result<TaskRecord, StoreError> {
        let id = uuid::Uuid::new_v4().to_string();
        let created = now();
        let data = task.data.to_string();
        on_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO plugmill_task_records \
                 (id, task, task_type, status, attempts, executed_by, tenant_id, document_id, data, created_at) \
                 VALUES ($1, $2, $3, 'IN_PROGRESS', 0, $4, $5, $6, $7, $8)",
            )
            .bind(&id)
            .bind(&task.task)
            .bind(&task.task_type)
            .bind(&task.executed_by)
            .bind(&task.tenant_id)
            .bind(&task.document_id)
            .bind(&data)
            .bind(&created)
            .execute(pool)
            .await?
            .rows_affected()
        });
        self.log(&id, "Task started").await?;
        self.get(&id)
            .await?
            .ok_or_else(|| StoreError(format!("the record {id} vanished after it was written")))
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

    /// The record `id`, with its log.
    pub async fn get(&self, id: &str) -> Result<Option<TaskRecord>, StoreError> {
        Ok(self.get_with_data(id).await?.map(|(record, _)| record))
    }

    async fn get_with_data(&self, id: &str) -> Result<Option<(TaskRecord, Value)>, StoreError> {
        let query = format!("SELECT {RECORD_COLUMNS} FROM plugmill_task_records WHERE id = $1");
        let row: Option<RecordRow> = on_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(query)).bind(id).fetch_optional(pool).await?
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
        Ok(Some((record, data)))
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
        let Some((record, data)) = self.get_with_data(id).await? else {
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

    /// Ends `id` with `CANCELLED` if it has not started; false otherwise.
    pub async fn cancel(&self, id: &str) -> Result<bool, StoreError> {
        let ended = now();
        let changed = on_pool!(self, pool => {
            sqlx::query(
                "UPDATE plugmill_task_records SET status = 'CANCELLED', ended_at = $2 \
                 WHERE id = $1 AND status = 'IN_PROGRESS' AND attempts = 0",
            )
            .bind(id)
            .bind(&ended)
            .execute(pool)
            .await?
            .rows_affected()
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
