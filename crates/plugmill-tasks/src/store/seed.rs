//! The seed's layout (`[tasks] layout = "seed"`): the records are rows of the seed platform's
//! `sequent_backend.tasks_execution`, in its PostgreSQL database (`hasura`), written and read
//! as the seed's API and workers do, so the platform's admin portal sees plugmill's tasks:
//!
//! - created `IN_PROGRESS`, `type` the task type and `name` its human name,
//!   `election_event_id` from the data, `executed_by_user` the caller, `logs` a JSON array
//!   of `{"created_date", "log_text"}` starting with "Task started";
//! - ended `SUCCESS` ("Task completed successfully") or `FAILED` ("Error: <message>"), with
//!   `end_at` set and `{"document_id": ...}` merged into `annotations`; `CANCELLED` ("Task
//!   cancelled") when cancelled before it ran.
//!
//! plugmill's other states map onto the seed's four: queued, running and waiting for a retry
//! are all `IN_PROGRESS` (the attempts, 0 while queued, tell them apart). What only plugmill
//! keeps (the task run, attempts, data, error kind, answers, `Idempotency-Key`) is a row of
//! `plugmill_seed_tasks` with the same id; only records with such a row are plugmill's to
//! read, run, cancel or retry, so the platform's other tasks in the table are never touched.
//!
//! Every change locks the record's two rows first (`SELECT ... FOR UPDATE`), so two workers,
//! or a worker and a cancel, cannot both move it.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use sqlx::postgres::{PgConnection, PgPool};

use super::{upsert_outcome, Ending, PluginResult, RecordLayout, StoreError};
use crate::record::{LogLine, NewTask, Status, TaskRecord};
use crate::scope::{ListFilter, PageColumns, Scope};

/// The platform's table.
const TABLE: &str = "sequent_backend.tasks_execution";

/// Its columns plugmill writes and reads.
const COLUMNS: [&str; 13] = [
    "id",
    "tenant_id",
    "election_event_id",
    "name",
    "type",
    "execution_status",
    "created_at",
    "start_at",
    "end_at",
    "annotations",
    "labels",
    "logs",
    "executed_by_user",
];

/// The join of plugmill's row and the platform's, as `s` and `t`.
const FROM: &str = "plugmill_seed_tasks s JOIN sequent_backend.tasks_execution t \
     ON t.tenant_id = s.tenant_id::uuid AND t.id = s.id::uuid";

/// What a record is read from.
const SELECT: &str = "s.id, s.task, t.type AS task_type, t.execution_status, s.attempts, \
     t.executed_by_user, s.tenant_id, s.document_id, s.created_at, s.started_at, t.end_at, \
     s.error, s.result, s.data, s.error_kind, t.name, t.election_event_id, t.annotations, \
     t.labels, t.logs";

/// The seed worker's log line of a task that succeeded (one that failed: "Error: ...").
const SUCCEEDED: &str = "Task completed successfully";

/// The seed's table and plugmill's rows beside it.
#[derive(Clone)]
pub(super) struct SeedRecords {
    pool: PgPool,
}

/// A record's two rows, joined.
#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    task: String,
    task_type: String,
    execution_status: String,
    attempts: i64,
    executed_by_user: String,
    tenant_id: String,
    document_id: Option<String>,
    created_at: String,
    started_at: Option<String>,
    end_at: Option<DateTime<Utc>>,
    error: Option<String>,
    result: Option<String>,
    data: String,
    error_kind: Option<String>,
    name: String,
    election_event_id: Option<uuid::Uuid>,
    annotations: Option<Value>,
    labels: Option<Value>,
    logs: Option<Value>,
}

/// A record, locked for a change.
#[derive(sqlx::FromRow)]
struct Locked {
    execution_status: String,
    attempts: i64,
    tenant_id: String,
    document_id: Option<String>,
    logs: Option<Value>,
}

impl SeedRecords {
    /// The seed's layout on `pool`, once the platform's table is found there with the
    /// columns plugmill uses.
    pub(super) async fn open(pool: PgPool) -> Result<Self, StoreError> {
        let found: Vec<(String,)> = sqlx::query_as(
            "SELECT column_name::text FROM information_schema.columns \
             WHERE table_schema = 'sequent_backend' AND table_name = 'tasks_execution'",
        )
        .fetch_all(&pool)
        .await?;
        if found.is_empty() {
            return Err(StoreError::Layout(format!(
                "[tasks] layout = \"seed\": the table {TABLE} is not in the records database; \
                 run the platform's migrations there (plugmill never creates it)"
            )));
        }
        let missing: Vec<&str> = COLUMNS
            .iter()
            .copied()
            .filter(|column| !found.iter().any(|(name,)| name.as_str() == *column))
            .collect();
        if !missing.is_empty() {
            return Err(StoreError::Layout(format!(
                "[tasks] layout = \"seed\": {TABLE} lacks the columns {}",
                missing.join(", ")
            )));
        }
        Ok(Self { pool })
    }

    /// Locks the record `id` (both rows) if `scope` sees it.
    async fn lock(
        connection: &mut PgConnection,
        id: &str,
        scope: &Scope,
    ) -> Result<Option<Locked>, StoreError> {
        let (clause, tenant) = scoped(scope, 2);
        let sql = format!(
            "SELECT t.execution_status, s.attempts, s.tenant_id, s.document_id, t.logs \
             FROM {FROM} WHERE s.id = $1{clause} FOR UPDATE"
        );
        let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id);
        if let Some(tenant) = tenant {
            query = query.bind(tenant);
        }
        Ok(query.fetch_optional(connection).await?)
    }

    /// Sets the locked record `id` to `status` with the line `(created_date, log_text)`
    /// appended to its logs, as the seed's worker does: `end_at` set when `ends` (its status
    /// becomes final), `annotations` merged into the record's when given.
    async fn write(
        connection: &mut PgConnection,
        id: &str,
        locked: &Locked,
        status: Status,
        line: (&str, &str),
        ends: bool,
        annotations: Option<Value>,
    ) -> Result<(), StoreError> {
        let logs = appended(locked.logs.clone(), line.0, line.1);
        sqlx::query(
            "UPDATE sequent_backend.tasks_execution SET execution_status = $1, logs = $2::json, \
             end_at = CASE WHEN $3::timestamptz IS NULL THEN end_at ELSE $3::timestamptz END, \
             annotations = CASE WHEN $4::jsonb IS NULL THEN annotations \
                           ELSE COALESCE(annotations, '{}') || $4::jsonb END \
             WHERE id = $5::uuid AND tenant_id = $6::uuid",
        )
        .bind(status.as_str())
        .bind(logs.to_string())
        .bind(ends.then_some(line.0))
        .bind(annotations.map(|a| a.to_string()))
        .bind(id)
        .bind(&locked.tenant_id)
        .execute(connection)
        .await?;
        Ok(())
    }
}

impl RecordLayout for SeedRecords {
    fn accept(&self, task: &NewTask, record: &mut TaskRecord) -> Result<(), String> {
        let tenant = task.tenant_id.as_deref().ok_or_else(|| {
            "the seed's task records (`[tasks] layout = \"seed\"`) each belong to a tenant: the caller has none".to_string()
        })?;
        if uuid::Uuid::parse_str(tenant).is_err() {
            return Err(format!(
                "the seed's task records belong to a tenant that is a UUID: the caller's, `{}`, is not",
                plugmill::config::values::shorten(tenant)
            ));
        }
        if let Some(event) = &task.election_event_id {
            let event = uuid::Uuid::parse_str(event).map_err(|_| {
                format!(
                    "data.election_event_id: `{}` is not a UUID",
                    plugmill::config::values::shorten(event)
                )
            })?;
            record.election_event_id = Some(event.to_string());
        }
        // A task queued by name has no type: the task itself stands for both.
        let kind = task.task_type.clone().unwrap_or_else(|| task.task.clone());
        record.name = Some(task.type_name.clone().unwrap_or_else(|| kind.clone()));
        record.task_type = Some(kind);
        Ok(())
    }

    async fn insert(
        &self,
        record: &TaskRecord,
        task: &NewTask,
        data: &str,
        limit: Option<i64>,
    ) -> Result<bool, StoreError> {
        let tenant = record.tenant_id.as_deref().unwrap_or_default();
        let mut transaction = self.pool.begin().await?;
        if limit.is_some() {
            sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 20261201))")
                .bind(tenant)
                .execute(&mut *transaction)
                .await?;
        }
        // plugmill's row first: the tenant's limit and its Idempotency-Key decide whether
        // there is a record at all.
        let sql = format!(
            "INSERT INTO plugmill_seed_tasks \
             (id, tenant_id, task, attempts, data, document_id, created_at, idempotency_key) \
             SELECT $1, $2, $3, 0, $4, $5, $6, $7 \
             WHERE $8::bigint IS NULL OR (SELECT COUNT(*) FROM {FROM} \
                    WHERE s.tenant_id = $2 AND t.execution_status = 'IN_PROGRESS') < $8 \
             ON CONFLICT DO NOTHING"
        );
        let written = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&record.id)
            .bind(tenant)
            .bind(&record.task)
            .bind(data)
            .bind(&record.document_id)
            .bind(&record.created_at)
            .bind(&task.idempotency_key)
            .bind(limit)
            .execute(&mut *transaction)
            .await?
            .rows_affected();
        if written == 0 {
            return Ok(false);
        }
        // A row the seed's API wrote under this id (a task it queued over Celery) is taken
        // as it is: plugmill's row beside it makes it plugmill's to run.
        let logs = json!(record.logs);
        sqlx::query(
            "INSERT INTO sequent_backend.tasks_execution (id, tenant_id, election_event_id, name, \
             type, execution_status, created_at, start_at, annotations, labels, logs, \
             executed_by_user) \
             VALUES ($1::uuid, $2::uuid, $3::uuid, $4, $5, 'IN_PROGRESS', $6::timestamptz, \
             $6::timestamptz, NULL, NULL, $7::json, $8) ON CONFLICT DO NOTHING",
        )
        .bind(&record.id)
        .bind(tenant)
        .bind(&record.election_event_id)
        .bind(record.name.as_deref().unwrap_or_default())
        .bind(record.task_type.as_deref().unwrap_or_default())
        .bind(&record.created_at)
        .bind(logs.to_string())
        .bind(record.executed_by.as_deref().unwrap_or_default())
        .execute(&mut *transaction)
        .await?;
        transaction.commit().await?;
        Ok(true)
    }

    async fn forget_key(
        &self,
        tenant: Option<&str>,
        key: &str,
        cutoff: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE plugmill_seed_tasks SET idempotency_key = NULL \
             WHERE tenant_id = $1 AND idempotency_key = $2 AND created_at < $3",
        )
        .bind(tenant.unwrap_or_default())
        .bind(key)
        .bind(cutoff)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn id_by_key(
        &self,
        tenant: Option<&str>,
        key: &str,
    ) -> Result<Option<String>, StoreError> {
        let id: Option<(String,)> = sqlx::query_as(
            "SELECT id FROM plugmill_seed_tasks WHERE tenant_id = $1 AND idempotency_key = $2",
        )
        .bind(tenant.unwrap_or_default())
        .bind(key)
        .fetch_optional(&self.pool)
        .await?;
        Ok(id.map(|(id,)| id))
    }

    async fn read(
        &self,
        id: &str,
        scope: &Scope,
        _with_logs: bool,
    ) -> Result<Option<(TaskRecord, Value)>, StoreError> {
        // The log is a column of the row: it comes with it.
        let (clause, tenant) = scoped(scope, 2);
        let sql = format!("SELECT {SELECT} FROM {FROM} WHERE s.id = $1{clause}");
        let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id);
        if let Some(tenant) = tenant {
            query = query.bind(tenant);
        }
        let row: Option<Row> = query.fetch_optional(&self.pool).await?;
        Ok(row.map(record_of))
    }

    async fn list(
        &self,
        scope: &Scope,
        filter: &ListFilter,
    ) -> Result<Vec<TaskRecord>, StoreError> {
        let mut sql = format!("SELECT {SELECT} FROM {FROM} WHERE 1 = 1");
        let (conditions, binds) = filter.page_sql(
            scope,
            &PageColumns {
                tenant: "s.tenant_id",
                status: "t.execution_status",
                task: "s.task",
                created_at: "s.created_at",
                id: "s.id",
            },
        );
        sql.push_str(&conditions);
        let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql));
        for value in &binds {
            query = query.bind(*value);
        }
        let rows: Vec<Row> = query.fetch_all(&self.pool).await?;
        Ok(rows.into_iter().map(|row| record_of(row).0).collect())
    }

    async fn begin(&self, id: &str, _worker: &str, started: &str) -> Result<bool, StoreError> {
        // The seed's log has no line per attempt: the attempts are counted in plugmill's row.
        let mut transaction = self.pool.begin().await?;
        let Some(locked) = Self::lock(&mut transaction, id, &Scope::All).await? else {
            return Ok(false);
        };
        if locked.execution_status != Status::InProgress.as_str() {
            return Ok(false);
        }
        sqlx::query(
            "UPDATE plugmill_seed_tasks SET attempts = attempts + 1, \
             started_at = COALESCE(started_at, $2) WHERE id = $1",
        )
        .bind(id)
        .bind(started)
        .execute(&mut *transaction)
        .await?;
        transaction.commit().await?;
        Ok(true)
    }

    async fn end(
        &self,
        id: &str,
        outcomes: &[PluginResult],
        ending: &Ending,
        ended: &str,
    ) -> Result<bool, StoreError> {
        let mut transaction = self.pool.begin().await?;
        for (plugin, outcome) in outcomes {
            let outcome = outcome.as_ref().map_err(|(e, k)| (e.as_str(), k.as_str()));
            upsert_outcome!(&mut *transaction, id, plugin, outcome);
        }
        let locked = Self::lock(&mut transaction, id, &Scope::All).await?;
        let Some(locked) = locked.filter(|l| l.execution_status == Status::InProgress.as_str())
        else {
            // Final already: the outcomes are kept all the same.
            transaction.commit().await?;
            return Ok(false);
        };
        let (status, line, error, kind, result) = match ending {
            Ending::Success(result) => (
                Status::Success,
                SUCCEEDED.to_string(),
                None,
                None,
                Some(result.to_string()),
            ),
            Ending::Failed { error, kind } => (
                Status::Failed,
                format!("Error: {error}"),
                Some(error.as_str()),
                Some(kind.as_str()),
                None,
            ),
            Ending::Retry(line) => (Status::InProgress, line.clone(), None, None, None),
        };
        let annotations = status
            .is_final()
            .then(|| json!({ "document_id": locked.document_id }));
        Self::write(
            &mut transaction,
            id,
            &locked,
            status,
            (ended, &line),
            status.is_final(),
            annotations,
        )
        .await?;
        if status.is_final() {
            sqlx::query(
                "UPDATE plugmill_seed_tasks SET error = $2, error_kind = $3, result = $4 \
                 WHERE id = $1",
            )
            .bind(id)
            .bind(error)
            .bind(kind)
            .bind(result)
            .execute(&mut *transaction)
            .await?;
        }
        transaction.commit().await?;
        Ok(true)
    }

    async fn reopen(&self, id: &str, scope: &Scope, line: &str) -> Result<bool, StoreError> {
        let now = crate::record::now();
        let mut transaction = self.pool.begin().await?;
        let Some(locked) = Self::lock(&mut transaction, id, scope).await? else {
            return Ok(false);
        };
        if locked.execution_status != Status::Failed.as_str() {
            return Ok(false);
        }
        Self::write(
            &mut transaction,
            id,
            &locked,
            Status::InProgress,
            (&now, line),
            false,
            None,
        )
        .await?;
        sqlx::query(
            "UPDATE sequent_backend.tasks_execution SET end_at = NULL \
             WHERE id = $1::uuid AND tenant_id = $2::uuid",
        )
        .bind(id)
        .bind(&locked.tenant_id)
        .execute(&mut *transaction)
        .await?;
        sqlx::query("UPDATE plugmill_seed_tasks SET error = NULL, error_kind = NULL WHERE id = $1")
            .bind(id)
            .execute(&mut *transaction)
            .await?;
        transaction.commit().await?;
        Ok(true)
    }

    async fn cancel(&self, id: &str, scope: &Scope, ended: &str) -> Result<bool, StoreError> {
        let mut transaction = self.pool.begin().await?;
        let Some(locked) = Self::lock(&mut transaction, id, scope).await? else {
            return Ok(false);
        };
        if locked.execution_status != Status::InProgress.as_str() || locked.attempts != 0 {
            return Ok(false);
        }
        Self::write(
            &mut transaction,
            id,
            &locked,
            Status::Cancelled,
            (ended, "Task cancelled"),
            true,
            None,
        )
        .await?;
        transaction.commit().await?;
        Ok(true)
    }

    async fn log(&self, id: &str, created: &str, text: &str) -> Result<(), StoreError> {
        let mut transaction = self.pool.begin().await?;
        let Some(locked) = Self::lock(&mut transaction, id, &Scope::All).await? else {
            return Ok(());
        };
        let status = Status::parse(&locked.execution_status);
        Self::write(
            &mut transaction,
            id,
            &locked,
            status,
            (created, text),
            false,
            None,
        )
        .await?;
        transaction.commit().await?;
        Ok(())
    }

    async fn in_progress(&self) -> Result<Vec<String>, StoreError> {
        let sql = format!(
            "SELECT s.id FROM {FROM} WHERE t.execution_status = 'IN_PROGRESS' ORDER BY s.created_at"
        );
        let ids: Vec<(String,)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await?;
        Ok(ids.into_iter().map(|(id,)| id).collect())
    }

    async fn counts(&self) -> Result<Vec<(String, i64)>, StoreError> {
        let sql = format!(
            "SELECT t.execution_status, COUNT(*) FROM {FROM} GROUP BY t.execution_status \
             ORDER BY t.execution_status"
        );
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await?)
    }
}

/// The `AND s.tenant_id = $n` clause of `scope`, and the value to bind as `$n`.
fn scoped(scope: &Scope, n: usize) -> (String, Option<&str>) {
    match scope {
        Scope::All => (String::new(), None),
        Scope::Tenant(tenant) => (format!(" AND s.tenant_id = ${n}"), Some(tenant.as_str())),
    }
}

/// `logs` (the seed's JSON array; anything else is kept as its first element) with the line
/// `{"created_date", "log_text"}` appended.
fn appended(logs: Option<Value>, created: &str, text: &str) -> Value {
    let mut lines = match logs {
        Some(Value::Array(lines)) => lines,
        None | Some(Value::Null) => Vec::new(),
        Some(other) => vec![other],
    };
    lines.push(json!({ "created_date": created, "log_text": text }));
    Value::Array(lines)
}

/// A record from its rows, with the data it runs with (its outcomes are the store's to add).
fn record_of(row: Row) -> (TaskRecord, Value) {
    let data = serde_json::from_str(&row.data).unwrap_or(Value::Null);
    let logs = match row.logs {
        Some(Value::Array(lines)) => lines
            .iter()
            .map(|line| {
                let text = |key: &str| match line.get(key) {
                    Some(Value::String(text)) => text.clone(),
                    Some(Value::Null) | None => String::new(),
                    Some(other) => other.to_string(),
                };
                LogLine {
                    created_date: text("created_date"),
                    log_text: text("log_text"),
                }
            })
            .collect(),
        _ => Vec::new(),
    };
    let record = TaskRecord {
        id: row.id,
        task: row.task,
        task_type: Some(row.task_type),
        status: Status::parse(&row.execution_status),
        attempts: u32::try_from(row.attempts).unwrap_or(0),
        executed_by: Some(row.executed_by_user).filter(|by| !by.is_empty()),
        tenant_id: Some(row.tenant_id),
        document_id: row.document_id,
        created_at: row.created_at,
        started_at: row.started_at,
        ended_at: row
            .end_at
            .map(|at| at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)),
        logs,
        error: row.error,
        error_kind: row.error_kind,
        result: row.result.and_then(|text| serde_json::from_str(&text).ok()),
        outcomes: Vec::new(),
        name: Some(row.name),
        election_event_id: row.election_event_id.map(|id| id.to_string()),
        annotations: row.annotations,
        labels: row.labels,
    };
    (record, data)
}
