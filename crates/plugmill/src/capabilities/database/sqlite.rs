//! SQLite, the embedded default: transactions on a pooled connection to one file, parameters
//! bound by the case of each value, rows converted by storage class.
//!
//! Connections are confined to their file (no `ATTACH`, no `VACUUM INTO`, defensive mode; see
//! `plugmill-sqlite-guard`). Statements end at their deadline through SQLite's progress
//! handler, which interrupts a long statement instead of waiting for it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use futures::TryStreamExt as _;
use sqlx::sqlite::{SqliteArguments, SqliteRow};
use sqlx::{
    Arguments as _, AssertSqlSafe, Either, Executor as _, Row as _, SqlSafeStr as _, Sqlite,
};
use sqlx::{Statement as _, Transaction, TypeInfo as _, ValueRef as _};

use super::databases::Database;
use super::errors::{connection_error, statement_error, too_many_rows};
use super::params::Params;
use super::value::columns_of;
use super::wit::{error, Column, DatabaseError, ErrorKind, Rows, Value};

/// An open SQLite transaction.
pub struct SqliteTransaction {
    tx: Transaction<'static, Sqlite>,
    /// When the running statement must end, in nanoseconds since `epoch`.
    statement_deadline: Arc<AtomicU64>,
    epoch: Instant,
}

impl SqliteTransaction {
    /// Begins a transaction and installs the progress handler that enforces statement
    /// deadlines on its connection (replacing any earlier one).
    pub(crate) async fn begin(
        database: &Database,
        pool: &sqlx::SqlitePool,
    ) -> Result<Self, DatabaseError> {
        let mut tx = pool
            .begin()
            .await
            .map_err(|e| connection_error(database, e, pool.size()))?;
        let epoch = Instant::now();
        let statement_deadline = Arc::new(AtomicU64::new(u64::MAX));
        let deadline = statement_deadline.clone();
        let mut handle = tx.lock_handle().await.map_err(statement_error)?;
        handle.set_progress_handler(1_000, move || {
            (epoch.elapsed().as_nanos() as u64) < deadline.load(Ordering::Relaxed)
        });
        drop(handle);
        Ok(Self {
            tx,
            statement_deadline,
            epoch,
        })
    }

    fn arm(&self, until: Instant) {
        let nanos = until.saturating_duration_since(self.epoch).as_nanos() as u64;
        self.statement_deadline.store(nanos, Ordering::Relaxed);
    }

    /// Prepares `sql` with `params` bound, and arms the interrupt at `until`.
    async fn prepare(
        &mut self,
        sql: &str,
        params: Params,
        until: Instant,
    ) -> Result<(sqlx::sqlite::SqliteStatement, SqliteArguments), DatabaseError> {
        self.arm(until);
        let statement = self
            .tx
            .prepare(AssertSqlSafe(sql.to_string()).into_sql_str())
            .await
            .map_err(sqlite_error)?;
        let arguments = bind_all(&statement, params)?;
        Ok((statement, arguments))
    }

    /// Runs `sql` and converts its rows; interrupted at `until`.
    pub(crate) async fn query(
        &mut self,
        database: &Database,
        sql: &str,
        params: Params,
        until: Instant,
    ) -> Result<Rows, DatabaseError> {
        let (statement, arguments) = self.prepare(sql, params, until).await?;
        let max_rows = database.spec.max_rows;
        let mut columns = columns_of(&statement);
        let mut rows = Vec::new();
        let mut stream = statement.query_with(arguments).fetch(&mut *self.tx);
        while let Some(row) = stream.try_next().await.map_err(sqlite_error)? {
            if rows.len() == max_rows {
                return Err(too_many_rows(database));
            }
            rows.push(convert_row(&row, &mut columns)?);
        }
        Ok(Rows { columns, rows })
    }

    /// Runs `sql` and returns the rows it changed; interrupted at `until`.
    pub(crate) async fn execute(
        &mut self,
        sql: &str,
        params: Params,
        until: Instant,
    ) -> Result<u64, DatabaseError> {
        let (statement, arguments) = self.prepare(sql, params, until).await?;
        let done = statement
            .query_with(arguments)
            .execute(&mut *self.tx)
            .await
            .map_err(sqlite_error)?;
        Ok(done.rows_affected())
    }

    /// Commits.
    pub(crate) async fn commit(mut self) -> Result<(), DatabaseError> {
        self.arm(Instant::now() + std::time::Duration::from_secs(30));
        self.release_handler().await;
        self.tx.commit().await.map_err(sqlite_error)
    }

    /// The open transaction, for a caller to commit (see `deferred`); its statements are no
    /// longer bound by the call's deadline.
    pub(crate) async fn hold(mut self) -> Transaction<'static, Sqlite> {
        self.release_handler().await;
        self.tx
    }

    /// Rolls back.
    pub(crate) async fn rollback(mut self) -> Result<(), DatabaseError> {
        self.release_handler().await;
        self.tx.rollback().await.map_err(sqlite_error)
    }

    async fn release_handler(&mut self) {
        if let Ok(mut handle) = self.tx.lock_handle().await {
            handle.remove_progress_handler();
        }
    }
}

/// Binds each value by its case: SQLite stores integers, reals, text and blobs.
fn bind_all(
    statement: &sqlx::sqlite::SqliteStatement,
    params: Params,
) -> Result<SqliteArguments, DatabaseError> {
    let expected = match statement.parameters() {
        Some(Either::Right(count)) => count,
        Some(Either::Left(types)) => types.len(),
        None => 0,
    };
    params.check_count(expected)?;
    let mut arguments = SqliteArguments::default();
    let failed = |e: sqlx::error::BoxDynError| error(ErrorKind::Parameters, e.to_string());
    match params {
        Params::Text(values) => {
            for text in values {
                arguments.add(text).map_err(failed)?;
            }
        }
        Params::Typed(values) => {
            for value in values {
                match value {
                    Value::Null => arguments.add(None::<i64>),
                    Value::Boolean(b) => arguments.add(b),
                    Value::Int(i) => arguments.add(i),
                    Value::Float(f) => arguments.add(f),
                    Value::Bytes(b) => arguments.add(b),
                    Value::Text(t)
                    | Value::Json(t)
                    | Value::Uuid(t)
                    | Value::Timestamp(t)
                    | Value::Timestamptz(t)
                    | Value::Date(t)
                    | Value::Time(t)
                    | Value::Numeric(t)
                    | Value::Array(t) => arguments.add(t),
                }
                .map_err(failed)?;
            }
        }
    }
    Ok(arguments)
}

/// Converts one row by the storage class of each value; a column declared `BOOLEAN` holds
/// booleans. Column types missing from the statement (expressions) are taken from the values.
fn convert_row(row: &SqliteRow, columns: &mut [Column]) -> Result<Vec<Value>, DatabaseError> {
    let mut values = Vec::with_capacity(row.len());
    for (index, column) in columns.iter_mut().enumerate() {
        let raw = row.try_get_raw(index).map_err(statement_error)?;
        if raw.is_null() {
            values.push(Value::Null);
            continue;
        }
        let storage = raw.type_info().name().to_string();
        if column.type_name == "null" {
            column.type_name = storage.to_ascii_lowercase();
        }
        let decode = |e: sqlx::Error| {
            error(
                ErrorKind::UnsupportedType,
                format!("column `{}` ({storage}): {e}", column.name),
            )
        };
        let value = match storage.as_str() {
            "INTEGER" if column.type_name == "boolean" => {
                Value::Boolean(row.try_get::<bool, _>(index).map_err(decode)?)
            }
            "INTEGER" | "BOOLEAN" => Value::Int(row.try_get::<i64, _>(index).map_err(decode)?),
            "REAL" => Value::Float(row.try_get::<f64, _>(index).map_err(decode)?),
            "BLOB" => Value::Bytes(row.try_get::<Vec<u8>, _>(index).map_err(decode)?),
            _ => Value::Text(row.try_get::<String, _>(index).map_err(decode)?),
        };
        values.push(value);
    }
    Ok(values)
}

/// An error from running a statement; an interrupted one ran past its deadline.
fn sqlite_error(e: sqlx::Error) -> DatabaseError {
    let interrupted =
        matches!(&e, sqlx::Error::Database(db) if db.message().contains("interrupted"));
    if interrupted {
        return error(
            ErrorKind::Timeout,
            "the statement ran past its statement timeout and was interrupted",
        );
    }
    statement_error(e)
}
