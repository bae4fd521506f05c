//! plugmill's own layout (the default): `plugmill_task_records`, a row per task, and
//! `plugmill_task_logs`, a row per log line, in SQLite or PostgreSQL (the same portable
//! statements on both). On PostgreSQL, the writes of concurrent tasks share transactions
//! ([`group`]).

mod group;

use plugmill::capabilities::database::Pool;
use serde_json::Value;

use super::group::{Applied, Change};
use super::{on_pool, upsert_outcome, Ending, PluginResult, RecordLayout, StoreError};
use crate::record::{LogLine, NewTask, Status, TaskRecord};
use crate::scope::{ListFilter, PageColumns, Scope};

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

/// Ends task `$id` as `$ending` (an [`Ending`]) with `$executor`, with its log line; the
/// number of records changed (0 when it was final already).
macro_rules! end_with {
    ($executor:expr, $id:expr, $ended:expr, $ending:expr) => {{
        let super::EndingColumns {
            status,
            error,
            kind,
            result,
            line,
        } = $ending.columns();
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
    ($pool_of:expr, $tx:ident => $body:expr) => {
        on_pool!($pool_of, pool => {
            let mut $tx = pool.begin().await?;
            let outcome = $body;
            $tx.commit().await?;
            outcome
        })
    };
}

/// plugmill's own tables on a pool.
#[derive(Clone)]
pub(super) struct OwnRecords {
    pool: Pool,
}

/// A row of `plugmill_task_records`, [`RECORD_COLUMNS`] in order.
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

impl OwnRecords {
    /// The tables on `pool` (migrated by the store).
    pub(super) fn new(pool: Pool) -> Self {
        Self { pool }
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
        let rows: Vec<(String, String, String)> = on_pool!(&self.pool, pool => {
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
}

impl RecordLayout for OwnRecords {
    fn accept(&self, _task: &NewTask, _record: &mut TaskRecord) -> Result<(), String> {
        // Any task is kept; the seed's fields (human name, election event) are not.
        Ok(())
    }

    async fn insert(
        &self,
        record: &TaskRecord,
        task: &NewTask,
        data: &str,
        limit: Option<i64>,
    ) -> Result<bool, StoreError> {
        // A second insert with a key already used conflicts on the unique index and writes
        // nothing.
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
        let written = on_pool!(&self.pool, pool => {
            let mut transaction = pool.begin().await?;
            if let (Pool::Postgres(_), Some(_), Some(tenant)) = (&self.pool, limit, &record.tenant_id) {
                sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 20261201))")
                    .bind(tenant)
                    .execute(&mut *transaction)
                    .await?;
            }
            let written = sqlx::query(sql)
                .bind(&record.id)
                .bind(&record.task)
                .bind(&record.task_type)
                .bind(&record.executed_by)
                .bind(&record.tenant_id)
                .bind(&record.document_id)
                .bind(data)
                .bind(&record.created_at)
                .bind(limit)
                .bind(&task.idempotency_key)
                .execute(&mut *transaction)
                .await?
                .rows_affected();
            if written > 0 {
                insert_log!(&mut *transaction, &record.id, &record.created_at, "Task started");
                transaction.commit().await?;
            }
            written
        });
        Ok(written > 0)
    }

    async fn forget_key(
        &self,
        tenant: Option<&str>,
        key: &str,
        cutoff: &str,
    ) -> Result<(), StoreError> {
        on_pool!(&self.pool, pool => {
            sqlx::query(
                "UPDATE plugmill_task_records SET idempotency_key = NULL \
                 WHERE COALESCE(tenant_id, '') = $1 AND idempotency_key = $2 AND created_at < $3",
            )
            .bind(tenant.unwrap_or(""))
            .bind(key)
            .bind(cutoff)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(())
    }

    async fn id_by_key(
        &self,
        tenant: Option<&str>,
        key: &str,
    ) -> Result<Option<String>, StoreError> {
        let id: Option<(String,)> = on_pool!(&self.pool, pool => {
            sqlx::query_as(
                "SELECT id FROM plugmill_task_records \
                 WHERE COALESCE(tenant_id, '') = $1 AND idempotency_key = $2",
            )
            .bind(tenant.unwrap_or(""))
            .bind(key)
            .fetch_optional(pool)
            .await?
        });
        Ok(id.map(|(id,)| id))
    }

    async fn read(
        &self,
        id: &str,
        scope: &Scope,
        with_logs: bool,
    ) -> Result<Option<(TaskRecord, Value)>, StoreError> {
        let (tenant_clause, tenant) = scope.clause(2);
        let query = format!(
            "SELECT {RECORD_COLUMNS} FROM plugmill_task_records WHERE id = $1{tenant_clause}"
        );
        let row: Option<RecordRow> = on_pool!(&self.pool, pool => {
            let mut query = sqlx::query_as(sqlx::AssertSqlSafe(query)).bind(id);
            if let Some(tenant) = tenant {
                query = query.bind(tenant);
            }
            query.fetch_optional(pool).await?
        });
        let Some(row) = row else {
            return Ok(None);
        };
        let logs = if with_logs {
            self.logs_of(std::iter::once(id))
                .await?
                .remove(id)
                .unwrap_or_default()
        } else {
            Vec::new()
        };
        Ok(Some(record_of(row, logs)))
    }

    async fn list(
        &self,
        scope: &Scope,
        filter: &ListFilter,
    ) -> Result<Vec<TaskRecord>, StoreError> {
        let mut sql = format!("SELECT {RECORD_COLUMNS} FROM plugmill_task_records WHERE 1 = 1");
        let (conditions, binds) = filter.page_sql(
            scope,
            &PageColumns {
                tenant: "tenant_id",
                status: "status",
                task: "task",
                created_at: "created_at",
                id: "id",
            },
        );
        sql.push_str(&conditions);
        let rows: Vec<RecordRow> = on_pool!(&self.pool, pool => {
            let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql));
            for value in &binds {
                query = query.bind(*value);
            }
            query.fetch_all(pool).await?
        });
        let mut logs = self.logs_of(rows.iter().map(|row| row.0.as_str())).await?;
        Ok(rows
            .into_iter()
            .map(|row| {
                let lines = logs.remove(&row.0).unwrap_or_default();
                record_of(row, lines).0
            })
            .collect())
    }

    async fn begin(&self, id: &str, worker: &str, started: &str) -> Result<bool, StoreError> {
        let changed = in_transaction!(&self.pool, transaction => {
            let number: Option<(i64,)> = sqlx::query_as(
                "UPDATE plugmill_task_records SET attempts = attempts + 1, \
                 started_at = COALESCE(started_at, $2) WHERE id = $1 AND status = 'IN_PROGRESS' \
                 RETURNING attempts",
            )
            .bind(id)
            .bind(started)
            .fetch_optional(&mut *transaction)
            .await?;
            if let Some((number,)) = number {
                let line = format!("attempt {number} started on {worker}");
                insert_log!(&mut *transaction, id, started, &line);
            }
            number.is_some()
        });
        Ok(changed)
    }

    async fn end(
        &self,
        id: &str,
        outcomes: &[PluginResult],
        ending: &Ending,
        ended: &str,
    ) -> Result<bool, StoreError> {
        let changed = in_transaction!(&self.pool, transaction => {
            for (plugin, outcome) in outcomes {
                let outcome = outcome.as_ref().map_err(|(e, k)| (e.as_str(), k.as_str()));
                upsert_outcome!(&mut *transaction, id, plugin, outcome);
            }
            end_with!(&mut *transaction, id, ended, ending)
        });
        Ok(changed > 0)
    }

    async fn reopen(&self, id: &str, scope: &Scope, line: &str) -> Result<bool, StoreError> {
        let now = crate::record::now();
        let (tenant_clause, tenant) = scope.clause(2);
        let sql = format!(
            "UPDATE plugmill_task_records SET status = 'IN_PROGRESS', ended_at = NULL, \
             error = NULL, error_kind = NULL WHERE id = $1 AND status = 'FAILED'{tenant_clause}"
        );
        let changed = in_transaction!(&self.pool, transaction => {
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id);
            if let Some(tenant) = tenant {
                query = query.bind(tenant);
            }
            let changed = query.execute(&mut *transaction).await?.rows_affected();
            if changed > 0 {
                insert_log!(&mut *transaction, id, &now, line);
            }
            changed
        });
        Ok(changed > 0)
    }

    async fn cancel(&self, id: &str, scope: &Scope, ended: &str) -> Result<bool, StoreError> {
        let (tenant_clause, tenant) = scope.clause(3);
        let sql = format!(
            "UPDATE plugmill_task_records SET status = 'CANCELLED', ended_at = $2 \
             WHERE id = $1 AND status = 'IN_PROGRESS' AND attempts = 0{tenant_clause}"
        );
        let changed = in_transaction!(&self.pool, transaction => {
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).bind(ended);
            if let Some(tenant) = tenant {
                query = query.bind(tenant);
            }
            let changed = query.execute(&mut *transaction).await?.rows_affected();
            if changed > 0 {
                insert_log!(&mut *transaction, id, ended, "Task cancelled");
            }
            changed
        });
        Ok(changed > 0)
    }

    async fn log(&self, id: &str, created: &str, text: &str) -> Result<(), StoreError> {
        on_pool!(&self.pool, pool => insert_log!(pool, id, created, text));
        Ok(())
    }

    async fn in_progress(&self) -> Result<Vec<String>, StoreError> {
        let ids: Vec<(String,)> = on_pool!(&self.pool, pool => {
            sqlx::query_as(
                "SELECT id FROM plugmill_task_records WHERE status = 'IN_PROGRESS' ORDER BY created_at",
            )
            .fetch_all(pool)
            .await?
        });
        Ok(ids.into_iter().map(|(id,)| id).collect())
    }

    fn groups_changes(&self) -> bool {
        // SQLite has one writer at a time: a group would only hold the others up longer.
        matches!(self.pool, Pool::Postgres(_))
    }

    async fn apply_group(&self, changes: &[Change]) -> Result<Vec<Applied>, StoreError> {
        let Pool::Postgres(pool) = &self.pool else {
            return Err(StoreError::Layout(
                "the records in SQLite are written one change at a time".into(),
            ));
        };
        let mut transaction = pool.begin().await?;
        let applied = group::apply(&mut transaction, changes).await?;
        transaction.commit().await?;
        Ok(applied)
    }

    async fn counts(&self) -> Result<Vec<(String, i64)>, StoreError> {
        Ok(on_pool!(&self.pool, pool => {
            sqlx::query_as(
                "SELECT status, COUNT(*) FROM plugmill_task_records GROUP BY status ORDER BY status",
            )
            .fetch_all(pool)
            .await?
        }))
    }
}

/// A record from its row and its log lines, with the data it runs with (its outcomes are
/// the store's to add).
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
        error_kind: row.14,
        result: row.12.and_then(|text| serde_json::from_str(&text).ok()),
        outcomes: Vec::new(),
        logs: logs
            .into_iter()
            .map(|(created_date, log_text)| LogLine {
                created_date,
                log_text,
            })
            .collect(),
        name: None,
        election_event_id: None,
        annotations: None,
        labels: None,
    };
    (record, data)
}
