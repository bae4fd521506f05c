//! A group of record writes in plugmill's own tables on PostgreSQL, in one transaction:
//! every new record of the group in one statement, every attempt started in one, every
//! attempt ended in two (the plugins' outcomes, then the records), each statement writing
//! its log lines with it. The conditions are those of the writes one by one
//! ([`super::OwnRecords`]): a tenant's bound on open records counts the records of the
//! group before it, an attempt starts only on an `IN_PROGRESS` record, and only an
//! `IN_PROGRESS` record becomes final.

use std::collections::HashMap;

use serde_json::Value;
use sqlx::PgConnection;

use super::{record_of, RecordRow, RECORD_COLUMNS};
use crate::store::group::{Applied, Change, Sorted};
use crate::store::{Ending, StoreError};

/// The new records, the first log line with each; a tenant's records in the group count
/// toward its bound in their order. The ids written.
const INSERT: &str = "\
WITH new AS (
    SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], \
                         $6::text[], $7::text[], $8::text[], $9::text[], $10::bigint[], $11::int[]) \
        AS n(id, task, task_type, executed_by, tenant_id, document_id, data, created_at, \
             idempotency_key, bound, place)
), ranked AS (
    SELECT new.*, row_number() OVER (PARTITION BY tenant_id ORDER BY place) AS nth FROM new
), written AS (
    INSERT INTO plugmill_task_records \
        (id, task, task_type, status, attempts, executed_by, tenant_id, document_id, data, \
         created_at, idempotency_key)
    SELECT id, task, task_type, 'IN_PROGRESS', 0, executed_by, tenant_id, document_id, data, \
           created_at, idempotency_key
    FROM ranked
    WHERE bound IS NULL OR tenant_id IS NULL OR nth + (
        SELECT COUNT(*) FROM plugmill_task_records r \
        WHERE r.tenant_id = ranked.tenant_id AND r.status = 'IN_PROGRESS') <= bound
    ORDER BY place
    ON CONFLICT DO NOTHING
    RETURNING id, created_at
), logged AS (
    INSERT INTO plugmill_task_logs (task_id, created_date, log_text)
    SELECT id, created_at, 'Task started' FROM written
)
SELECT id FROM written";

/// The tenants' locks that bound their open records (as one record's insert takes its
/// tenant's), taken in one order so that two groups cannot wait on each other.
const LOCK_TENANTS: &str = "\
SELECT pg_advisory_xact_lock(hashtextextended(tenant, 20261201)) \
FROM (SELECT DISTINCT tenant FROM UNNEST($1::text[]) AS t(tenant) ORDER BY tenant) AS tenants";

// The updates below find each record by its id: their `(status = 'IN_PROGRESS') IS TRUE`
// cannot be answered from the status index, whose entries of records that were once
// `IN_PROGRESS` pile up until the table is vacuumed, so the cost of a group stays that of
// its own records however many the table holds.

/// The attempts started, with their log lines; the records as they are now.
/// Made once: the statement's text names every record column.
static BEGIN: std::sync::LazyLock<String> = std::sync::LazyLock::new(begin_sql);

fn begin_sql() -> String {
    let returned = RECORD_COLUMNS
        .split(", ")
        .map(|column| format!("r.{column}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "WITH b AS (
            SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[]) AS b(id, worker, started)
        ), began AS (
            UPDATE plugmill_task_records r SET attempts = r.attempts + 1, \
                   started_at = COALESCE(r.started_at, b.started)
            FROM b WHERE r.id = b.id AND (r.status = 'IN_PROGRESS') IS TRUE
            RETURNING {returned}, b.worker AS worker, b.started AS began_at
        ), logged AS (
            INSERT INTO plugmill_task_logs (task_id, created_date, log_text)
            SELECT id, began_at, 'attempt ' || attempts || ' started on ' || worker FROM began
        )
        SELECT {RECORD_COLUMNS} FROM began"
    )
}

/// The plugins' outcomes of the attempts ended; an `ok` one is never replaced.
const OUTCOMES: &str = "\
INSERT INTO plugmill_task_outcomes (task_id, plugin, status, answer, error, kind, attempts)
SELECT * , 1 FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[])
ON CONFLICT (task_id, plugin) DO UPDATE SET status = excluded.status, \
    answer = excluded.answer, error = excluded.error, kind = excluded.kind, \
    attempts = plugmill_task_outcomes.attempts + 1 \
WHERE plugmill_task_outcomes.status <> 'ok'";

/// The attempts ended: the records made final (those still `IN_PROGRESS`), a log line for
/// each of them and for each attempt retried. The ids of the records made final.
const END: &str = "\
WITH e AS (
    SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], \
                         $6::text[], $7::text[]) AS e(id, status, error, kind, result, line, ended)
), ended AS (
    UPDATE plugmill_task_records r SET status = e.status, ended_at = e.ended, \
           error = e.error, error_kind = e.kind, result = e.result
    FROM e WHERE r.id = e.id AND e.status <> 'IN_PROGRESS' AND (r.status = 'IN_PROGRESS') IS TRUE
    RETURNING r.id
), logged AS (
    INSERT INTO plugmill_task_logs (task_id, created_date, log_text)
    SELECT id, ended, line FROM e
    WHERE e.status = 'IN_PROGRESS' OR e.id IN (SELECT id FROM ended)
)
SELECT id FROM ended";

/// The plugins' outcomes of the records begun, by record.
const OUTCOMES_OF: &str = "\
SELECT o.task_id, o.plugin, o.status, o.answer, o.error, o.kind, o.attempts \
FROM UNNEST($1::text[]) AS b(id) JOIN plugmill_task_outcomes o ON o.task_id = b.id \
ORDER BY o.task_id, o.plugin";

/// How each group's statements find their rows: one record at a time by its key, never by
/// reading a whole table, whatever the planner's statistics say of a table that grew since
/// (a prepared statement keeps the plan it was given while the table was small).
const BY_KEY: &str = "SET LOCAL enable_seqscan = off; SET LOCAL enable_hashjoin = off; \
SET LOCAL enable_mergejoin = off";

/// Applies `group` in `transaction` (not committed here): what each change did, in order.
pub(super) async fn apply(
    transaction: &mut PgConnection,
    group: &[Change],
) -> Result<Vec<Applied>, StoreError> {
    let sorted = Sorted::of(group);
    sqlx::raw_sql(BY_KEY).execute(&mut *transaction).await?;
    let mut applied: Vec<Option<Applied>> = group.iter().map(|_| None).collect();
    if !sorted.inserts.is_empty() {
        let written = insert(transaction, &sorted).await?;
        for (place, record, ..) in &sorted.inserts {
            applied[*place] = Some(Applied::Inserted(written.contains(&record.id)));
        }
    }
    if !sorted.begins.is_empty() {
        let mut began = begin(transaction, &sorted).await?;
        for (place, id, ..) in &sorted.begins {
            applied[*place] = Some(Applied::Began(began.remove(*id).map(Box::new)));
        }
    }
    if !sorted.ends.is_empty() {
        let ended = end(transaction, &sorted).await?;
        for (place, id, _, ending, _) in &sorted.ends {
            let changed = matches!(ending, Ending::Retry(_)) || ended.contains(*id);
            applied[*place] = Some(Applied::Ended(changed));
        }
    }
    Ok(applied.into_iter().flatten().collect())
}

async fn insert(
    transaction: &mut PgConnection,
    sorted: &Sorted<'_>,
) -> Result<std::collections::HashSet<String>, StoreError> {
    let rows = &sorted.inserts;
    let bounded: Vec<&str> = rows
        .iter()
        .filter(|(_, record, _, _, limit)| limit.is_some() && record.tenant_id.is_some())
        .filter_map(|(_, record, ..)| record.tenant_id.as_deref())
        .collect();
    if !bounded.is_empty() {
        sqlx::query(LOCK_TENANTS)
            .bind(&bounded)
            .execute(&mut *transaction)
            .await?;
    }
    let mut ids = Vec::with_capacity(rows.len());
    let mut tasks = Vec::with_capacity(rows.len());
    let mut task_types = Vec::with_capacity(rows.len());
    let mut executed_by = Vec::with_capacity(rows.len());
    let mut tenants = Vec::with_capacity(rows.len());
    let mut documents = Vec::with_capacity(rows.len());
    let mut data = Vec::with_capacity(rows.len());
    let mut created = Vec::with_capacity(rows.len());
    let mut keys = Vec::with_capacity(rows.len());
    let mut bounds = Vec::with_capacity(rows.len());
    for (_, record, key, row_data, bound) in rows {
        ids.push(record.id.as_str());
        tasks.push(record.task.as_str());
        task_types.push(record.task_type.as_deref());
        executed_by.push(record.executed_by.as_deref());
        tenants.push(record.tenant_id.as_deref());
        documents.push(record.document_id.as_deref());
        data.push(*row_data);
        created.push(record.created_at.as_str());
        keys.push(*key);
        bounds.push(*bound);
    }
    let places: Vec<i32> = (0..rows.len()).map(|n| n as i32).collect();
    let written: Vec<(String,)> = sqlx::query_as(INSERT)
        .bind(ids)
        .bind(tasks)
        .bind(task_types)
        .bind(executed_by)
        .bind(tenants)
        .bind(documents)
        .bind(data)
        .bind(created)
        .bind(keys)
        .bind(bounds)
        .bind(places)
        .fetch_all(&mut *transaction)
        .await?;
    Ok(written.into_iter().map(|(id,)| id).collect())
}

async fn begin(
    transaction: &mut PgConnection,
    sorted: &Sorted<'_>,
) -> Result<HashMap<String, (crate::record::TaskRecord, Value)>, StoreError> {
    let rows = &sorted.begins;
    let ids: Vec<&str> = rows.iter().map(|row| row.1).collect();
    let workers: Vec<&str> = rows.iter().map(|row| row.2).collect();
    let started: Vec<&str> = rows.iter().map(|row| row.3).collect();
    let began: Vec<RecordRow> = sqlx::query_as(sqlx::AssertSqlSafe(BEGIN.as_str()))
        .bind(&ids)
        .bind(&workers)
        .bind(&started)
        .fetch_all(&mut *transaction)
        .await?;
    let began_ids: Vec<&str> = began.iter().map(|row| row.0.as_str()).collect();
    let mut outcomes = crate::store::outcomes_of_rows(
        sqlx::query_as(OUTCOMES_OF)
            .bind(&began_ids)
            .fetch_all(&mut *transaction)
            .await?,
    );
    Ok(began
        .into_iter()
        .map(|row| {
            let (mut record, data) = record_of(row, Vec::new());
            record.outcomes = outcomes.remove(&record.id).unwrap_or_default();
            (record.id.clone(), (record, data))
        })
        .collect())
}

async fn end(
    transaction: &mut PgConnection,
    sorted: &Sorted<'_>,
) -> Result<std::collections::HashSet<String>, StoreError> {
    let rows = &sorted.ends;
    let mut outcomes: [Vec<Option<String>>; 6] = Default::default();
    for (_, id, results, ..) in rows {
        for (plugin, result) in results.iter() {
            let (status, answer, error, kind) = match result {
                Ok(answer) => ("ok", Some(answer.to_string()), None, None),
                Err((error, kind)) => ("failed", None, Some(error.clone()), Some(kind.clone())),
            };
            let row = [
                Some(id.to_string()),
                Some(plugin.clone()),
                Some(status.to_string()),
                answer,
                error,
                kind,
            ];
            for (column, value) in outcomes.iter_mut().zip(row) {
                column.push(value);
            }
        }
    }
    if !outcomes[0].is_empty() {
        let [ids, plugins, statuses, answers, errors, kinds] = outcomes;
        sqlx::query(OUTCOMES)
            .bind(ids)
            .bind(plugins)
            .bind(statuses)
            .bind(answers)
            .bind(errors)
            .bind(kinds)
            .execute(&mut *transaction)
            .await?;
    }
    let mut columns: [Vec<Option<String>>; 7] = Default::default();
    for (_, id, _, ending, ended) in rows {
        let written = ending.columns();
        let row = [
            Some(id.to_string()),
            Some(written.status.as_str().to_string()),
            written.error.map(str::to_string),
            written.kind.map(str::to_string),
            written.result,
            Some(written.line),
            Some(ended.to_string()),
        ];
        for (column, value) in columns.iter_mut().zip(row) {
            column.push(value);
        }
    }
    let [ids, statuses, errors, kinds, results, lines, ended] = columns;
    let changed: Vec<(String,)> = sqlx::query_as(END)
        .bind(ids)
        .bind(statuses)
        .bind(errors)
        .bind(kinds)
        .bind(results)
        .bind(lines)
        .bind(ended)
        .fetch_all(&mut *transaction)
        .await?;
    Ok(changed.into_iter().map(|(id,)| id).collect())
}
