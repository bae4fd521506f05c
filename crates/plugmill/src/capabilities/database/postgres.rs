//! PostgreSQL: transactions on a pooled connection, parameters bound to the types the server
//! infers for them, and rows converted by column type.
//!
//! Every statement is prepared first (prepared statements are cached per connection), so the
//! host knows the type of each parameter and binds the plugin's value as exactly that type,
//! or fails naming the parameter. Columns of a type plugmill cannot convert fail naming the
//! column and its type, never as a silent null.

use std::time::Duration;

use bigdecimal::BigDecimal;
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use futures::TryStreamExt as _;
use sqlx::postgres::{PgArguments, PgRow, PgTypeInfo};
use sqlx::{
    Arguments as _, AssertSqlSafe, Column as _, Either, Executor as _, Postgres, Row as _,
    SqlSafeStr as _,
};
use sqlx::{Statement as _, Transaction, TypeInfo as _};

use super::databases::Database;
use super::errors::{connection_error, statement_error, too_many_rows};
use super::params::Params;
use super::value::{self, case_name, columns_of};
use super::wit::{error, DatabaseError, ErrorKind, Rows, Value};

/// An open PostgreSQL transaction.
pub struct PgTransaction {
    tx: Transaction<'static, Postgres>,
    /// A statement failed: PostgreSQL has aborted the transaction, and `COMMIT` would quietly
    /// roll it back.
    failed: Option<String>,
}

impl PgTransaction {
    /// Begins a transaction whose statements each end within `statement_timeout`.
    pub(crate) async fn begin(
        database: &Database,
        pool: &sqlx::PgPool,
        statement_timeout: Duration,
    ) -> Result<Self, DatabaseError> {
        let millis = statement_timeout.as_millis().clamp(1, i32::MAX as u128);
        let begin = format!("BEGIN; SET LOCAL statement_timeout = {millis}");
        let tx = pool
            .begin_with(AssertSqlSafe(begin))
            .await
            .map_err(|e| connection_error(database, e, pool.size()))?;
        Ok(Self { tx, failed: None })
    }

    /// Runs `sql` and converts its rows.
    pub(crate) async fn query(
        &mut self,
        database: &Database,
        sql: &str,
        params: Params,
    ) -> Result<Rows, DatabaseError> {
        let outcome = self.fetch(database, sql, params).await;
        self.note_failure(outcome)
    }

    /// Runs `sql` and returns the rows it changed.
    pub(crate) async fn execute(
        &mut self,
        sql: &str,
        params: Params,
    ) -> Result<u64, DatabaseError> {
        let outcome = async {
            let statement = self
                .tx
                .prepare(AssertSqlSafe(sql.to_string()).into_sql_str())
                .await
                .map_err(statement_error)?;
            let arguments = bind_all(&statement, params)?;
            let done = statement
                .query_with(arguments)
                .execute(&mut *self.tx)
                .await
                .map_err(statement_error)?;
            Ok(done.rows_affected())
        }
        .await;
        self.note_failure(outcome)
    }

    async fn fetch(
        &mut self,
        database: &Database,
        sql: &str,
        params: Params,
    ) -> Result<Rows, DatabaseError> {
        let statement = self
            .tx
            .prepare(AssertSqlSafe(sql.to_string()).into_sql_str())
            .await
            .map_err(statement_error)?;
        let arguments = bind_all(&statement, params)?;
        let columns = columns_of(&statement);
        let max_rows = database.spec.max_rows;
        let mut rows = Vec::new();
        let mut stream = statement.query_with(arguments).fetch(&mut *self.tx);
        while let Some(row) = stream.try_next().await.map_err(statement_error)? {
            if rows.len() == max_rows {
                return Err(too_many_rows(database));
            }
            rows.push(convert_row(&row)?);
        }
        Ok(Rows { columns, rows })
    }

    /// Remembers that the server aborted the transaction: a statement it rejected or stopped.
    /// (Errors found by the host alone, in parameters or conversions, leave it intact.)
    fn note_failure<T>(&mut self, outcome: Result<T, DatabaseError>) -> Result<T, DatabaseError> {
        if let Err(e) = &outcome {
            let server_side = matches!(e.kind, ErrorKind::Query | ErrorKind::Timeout);
            if server_side && self.failed.is_none() {
                self.failed = Some(e.message.clone());
            }
        }
        outcome
    }

    /// Commits; fails, and rolls back, if a statement of the transaction failed.
    pub(crate) async fn commit(self) -> Result<(), DatabaseError> {
        if let Some(failure) = self.failed {
            self.tx.rollback().await.map_err(statement_error)?;
            return Err(error(
                ErrorKind::Closed,
                format!("the transaction was rolled back, not committed: a statement in it failed ({failure})"),
            ));
        }
        self.tx.commit().await.map_err(statement_error)
    }

    /// Rolls back.
    pub(crate) async fn rollback(self) -> Result<(), DatabaseError> {
        self.tx.rollback().await.map_err(statement_error)
    }

    /// The open transaction, for a caller to commit (see `deferred`), or the error a commit
    /// would give; its statements are no longer bound by the call's deadline.
    pub(crate) async fn hold(self) -> Result<Transaction<'static, Postgres>, DatabaseError> {
        if self.failed.is_some() {
            return Err(self
                .commit()
                .await
                .err()
                .unwrap_or_else(|| error(ErrorKind::Closed, "the transaction was rolled back")));
        }
        let mut tx = self.tx;
        sqlx::query("SET LOCAL statement_timeout = 30000")
            .execute(&mut *tx)
            .await
            .map_err(statement_error)?;
        Ok(tx)
    }
}

/// Binds every parameter to the type the server inferred for it.
fn bind_all(
    statement: &sqlx::postgres::PgStatement,
    params: Params,
) -> Result<PgArguments, DatabaseError> {
    let types: &[PgTypeInfo] = match statement.parameters() {
        Some(Either::Left(types)) => types,
        _ => &[],
    };
    params.check_count(types.len())?;
    let mut arguments = PgArguments::default();
    match params {
        Params::Typed(values) => {
            for (index, (value, ty)) in values.into_iter().zip(types).enumerate() {
                bind(&mut arguments, index + 1, Param::Typed(value), ty)?;
            }
        }
        Params::Text(values) => {
            for (index, (text, ty)) in values.into_iter().zip(types).enumerate() {
                bind(&mut arguments, index + 1, Param::Text(text), ty)?;
            }
        }
    }
    Ok(arguments)
}

/// One parameter.
enum Param {
    Typed(Value),
    /// Text from the seed interface, parsed as whatever type the parameter has.
    Text(String),
}

/// Binds `param` as PostgreSQL type `ty`, the `position`th parameter.
fn bind(
    arguments: &mut PgArguments,
    position: usize,
    param: Param,
    ty: &PgTypeInfo,
) -> Result<(), DatabaseError> {
    let type_name = ty.name();
    let mismatch = |got: &str| {
        error(
            ErrorKind::Parameters,
            format!(
                "parameter ${position}: the statement expects {}, got {got}",
                type_name.to_ascii_lowercase()
            ),
        )
    };
    let invalid = |reason: String| {
        error(
            ErrorKind::Parameters,
            format!(
                "parameter ${position} ({}): {reason}",
                type_name.to_ascii_lowercase()
            ),
        )
    };
    let param = match param {
        Param::Typed(Value::Null) => None,
        other => Some(other),
    };
    macro_rules! add {
        ($value:expr) => {
            arguments.add($value).map_err(|e| invalid(e.to_string()))
        };
    }
    match type_name {
        "BOOL" => add!(param.map(|p| boolean(p, &mismatch, &invalid)).transpose()?),
        "INT2" => add!(param.map(|p| integer::<i16>(p, &mismatch, &invalid)).transpose()?),
        "INT4" => add!(param.map(|p| integer::<i32>(p, &mismatch, &invalid)).transpose()?),
        "INT8" => add!(param.map(|p| integer::<i64>(p, &mismatch, &invalid)).transpose()?),
        "FLOAT4" => add!(param.map(|p| float(p, &mismatch, &invalid).map(|f| f as f32)).transpose()?),
        "FLOAT8" => add!(param.map(|p| float(p, &mismatch, &invalid)).transpose()?),
        "NUMERIC" => add!(param.map(|p| numeric(p, &mismatch, &invalid)).transpose()?),
        "TEXT" | "VARCHAR" | "CHAR" | "BPCHAR" | "NAME" | "UNKNOWN" => add!(param.map(|p| text(p, &mismatch)).transpose()?),
        "JSON" | "JSONB" => add!(param.map(|p| json(p, &mismatch, &invalid)).transpose()?),
        "UUID" => add!(param.map(|p| uuid(p, &mismatch, &invalid)).transpose()?),
        "TIMESTAMP" => add!(param
            .map(|p| parsed(p, "timestamp", value::parse_timestamp, &mismatch, &invalid))
            .transpose()?),
        "TIMESTAMPTZ" => add!(param
            .map(|p| parsed(p, "timestamptz", value::parse_timestamptz, &mismatch, &invalid))
            .transpose()?),
        "DATE" => add!(param.map(|p| parsed(p, "date", value::parse_date, &mismatch, &invalid)).transpose()?),
        "TIME" => add!(param.map(|p| parsed(p, "time", value::parse_time, &mismatch, &invalid)).transpose()?),
        "BYTEA" => add!(param.map(|p| bytes(p, &mismatch)).transpose()?),
        "INT2[]" => add!(param.map(|p| array::<i16>(p, &mismatch, &invalid)).transpose()?),
        "INT4[]" => add!(param.map(|p| array::<i32>(p, &mismatch, &invalid)).transpose()?),
        "INT8[]" => add!(param.map(|p| array::<i64>(p, &mismatch, &invalid)).transpose()?),
        "FLOAT8[]" => add!(param.map(|p| array::<f64>(p, &mismatch, &invalid)).transpose()?),
        "BOOL[]" => add!(param.map(|p| array::<bool>(p, &mismatch, &invalid)).transpose()?),
        "TEXT[]" | "VARCHAR[]" => add!(param.map(|p| array::<String>(p, &mismatch, &invalid)).transpose()?),
        "UUID[]" => add!(param.map(|p| array::<uuid::Uuid>(p, &mismatch, &invalid)).transpose()?),
        other => Err(error(
            ErrorKind::Parameters,
            format!(
                "parameter ${position} has type {}, which plugmill cannot bind; cast it in SQL, e.g. ${position}::text::{}",
                other.to_ascii_lowercase(),
                other.to_ascii_lowercase()
            ),
        )),
    }
}

type Mismatch<'a> = dyn Fn(&str) -> DatabaseError + 'a;
type Invalid<'a> = dyn Fn(String) -> DatabaseError + 'a;

fn got(param: &Param) -> &'static str {
    match param {
        Param::Typed(value) => case_name(value),
        Param::Text(_) => "text",
    }
}

fn boolean(param: Param, mismatch: &Mismatch, invalid: &Invalid) -> Result<bool, DatabaseError> {
    match param {
        Param::Typed(Value::Boolean(b)) => Ok(b),
        Param::Text(t) => match t.trim().to_ascii_lowercase().as_str() {
            "true" | "t" | "1" | "yes" | "on" => Ok(true),
            "false" | "f" | "0" | "no" | "off" => Ok(false),
            _ => Err(invalid(format!("`{t}` is not a boolean"))),
        },
        other => Err(mismatch(got(&other))),
    }
}

fn integer<T: TryFrom<i64>>(
    param: Param,
    mismatch: &Mismatch,
    invalid: &Invalid,
) -> Result<T, DatabaseError> {
    let wide = match param {
        Param::Typed(Value::Int(i)) => i,
        Param::Text(t) => t
            .trim()
            .parse::<i64>()
            .map_err(|_| invalid(format!("`{t}` is not an integer")))?,
        other => return Err(mismatch(got(&other))),
    };
    T::try_from(wide).map_err(|_| invalid(format!("{wide} is out of range")))
}

fn float(param: Param, mismatch: &Mismatch, invalid: &Invalid) -> Result<f64, DatabaseError> {
    match param {
        Param::Typed(Value::Float(f)) => Ok(f),
        Param::Typed(Value::Int(i)) => Ok(i as f64),
        Param::Text(t) => t
            .trim()
            .parse()
            .map_err(|_| invalid(format!("`{t}` is not a number"))),
        other => Err(mismatch(got(&other))),
    }
}

fn numeric(
    param: Param,
    mismatch: &Mismatch,
    invalid: &Invalid,
) -> Result<BigDecimal, DatabaseError> {
    let text = match param {
        Param::Typed(Value::Numeric(t)) | Param::Text(t) => t,
        Param::Typed(Value::Int(i)) => return Ok(BigDecimal::from(i)),
        other => return Err(mismatch(got(&other))),
    };
    text.trim()
        .parse()
        .map_err(|_| invalid(format!("`{text}` is not a decimal number")))
}

fn text(param: Param, mismatch: &Mismatch) -> Result<String, DatabaseError> {
    match param {
        Param::Typed(Value::Text(t)) | Param::Text(t) => Ok(t),
        other => Err(mismatch(got(&other))),
    }
}

fn json(
    param: Param,
    mismatch: &Mismatch,
    invalid: &Invalid,
) -> Result<serde_json::Value, DatabaseError> {
    match param {
        Param::Typed(Value::Json(t)) | Param::Text(t) => {
            serde_json::from_str(&t).map_err(|e| invalid(format!("not valid JSON: {e}")))
        }
        other => Err(mismatch(got(&other))),
    }
}

fn uuid(param: Param, mismatch: &Mismatch, invalid: &Invalid) -> Result<uuid::Uuid, DatabaseError> {
    match param {
        Param::Typed(Value::Uuid(t)) | Param::Text(t) => {
            uuid::Uuid::parse_str(t.trim()).map_err(|_| invalid(format!("`{t}` is not a UUID")))
        }
        other => Err(mismatch(got(&other))),
    }
}

fn bytes(param: Param, mismatch: &Mismatch) -> Result<Vec<u8>, DatabaseError> {
    match param {
        Param::Typed(Value::Bytes(b)) => Ok(b),
        Param::Text(t) => Ok(t.into_bytes()),
        other => Err(mismatch(got(&other))),
    }
}

/// A date or time: the value's case must be `case` (or seed text).
fn parsed<T>(
    param: Param,
    case: &str,
    parse: fn(&str) -> Result<T, String>,
    mismatch: &Mismatch,
    invalid: &Invalid,
) -> Result<T, DatabaseError> {
    let text = match param {
        Param::Text(t) => t,
        Param::Typed(value) if case_name(&value) == case => match value {
            Value::Timestamp(t) | Value::Timestamptz(t) | Value::Date(t) | Value::Time(t) => t,
            other => return Err(mismatch(case_name(&other))),
        },
        Param::Typed(other) => return Err(mismatch(case_name(&other))),
    };
    parse(&text).map_err(invalid)
}

/// An array parameter: the `array` case, a JSON array whose elements suit the element type.
fn array<T: serde::de::DeserializeOwned>(
    param: Param,
    mismatch: &Mismatch,
    invalid: &Invalid,
) -> Result<Vec<Option<T>>, DatabaseError> {
    match param {
        Param::Typed(Value::Array(t)) | Param::Text(t) => serde_json::from_str(&t)
            .map_err(|e| invalid(format!("not a JSON array of the element type: {e}"))),
        other => Err(mismatch(got(&other))),
    }
}

/// Converts one row by column type.
fn convert_row(row: &PgRow) -> Result<Vec<Value>, DatabaseError> {
    (0..row.len())
        .map(|index| convert_cell(row, index))
        .collect()
}

fn convert_cell(row: &PgRow, index: usize) -> Result<Value, DatabaseError> {
    let column = &row.columns()[index];
    let type_name = column.type_info().name();
    let decode_error = |e: sqlx::Error| {
        error(
            ErrorKind::UnsupportedType,
            format!(
                "column `{}` ({}): {e}",
                column.name(),
                type_name.to_ascii_lowercase()
            ),
        )
    };
    macro_rules! get {
        ($ty:ty, $convert:expr) => {
            row.try_get::<Option<$ty>, _>(index)
                .map_err(decode_error)?
                .map_or(Value::Null, $convert)
        };
    }
    macro_rules! get_array {
        ($ty:ty, $convert:expr) => {
            row.try_get::<Option<Vec<Option<$ty>>>, _>(index)
                .map_err(decode_error)?
                .map_or(Value::Null, |elements| {
                    value::array(
                        elements
                            .into_iter()
                            .map(|e| e.map_or(Value::Null, $convert)),
                    )
                })
        };
    }
    Ok(match type_name {
        "BOOL" => get!(bool, Value::Boolean),
        "INT2" => get!(i16, |v| Value::Int(v.into())),
        "INT4" => get!(i32, |v| Value::Int(v.into())),
        "INT8" => get!(i64, Value::Int),
        "FLOAT4" => get!(f32, |v| Value::Float(v.into())),
        "FLOAT8" => get!(f64, Value::Float),
        "NUMERIC" => get!(BigDecimal, |v| Value::Numeric(v.to_plain_string())),
        "TEXT" | "VARCHAR" | "CHAR" | "BPCHAR" | "NAME" | "UNKNOWN" => get!(String, Value::Text),
        "VOID" => Value::Null,
        "JSON" | "JSONB" => get!(serde_json::Value, |v| Value::Json(v.to_string())),
        "UUID" => get!(uuid::Uuid, |v| Value::Uuid(v.hyphenated().to_string())),
        "TIMESTAMP" => get!(NaiveDateTime, |v| Value::Timestamp(value::format_timestamp(&v))),
        "TIMESTAMPTZ" => get!(DateTime<Utc>, |v| Value::Timestamptz(value::format_timestamptz(&v))),
        "DATE" => get!(NaiveDate, |v| Value::Date(v.to_string())),
        "TIME" => get!(NaiveTime, |v| Value::Time(value::format_time(&v))),
        "BYTEA" => get!(Vec<u8>, Value::Bytes),
        "BOOL[]" => get_array!(bool, Value::Boolean),
        "INT2[]" => get_array!(i16, |v| Value::Int(v.into())),
        "INT4[]" => get_array!(i32, |v| Value::Int(v.into())),
        "INT8[]" => get_array!(i64, Value::Int),
        "FLOAT4[]" => get_array!(f32, |v| Value::Float(v.into())),
        "FLOAT8[]" => get_array!(f64, Value::Float),
        "NUMERIC[]" => get_array!(BigDecimal, |v| Value::Numeric(v.to_plain_string())),
        "TEXT[]" | "VARCHAR[]" | "CHAR[]" | "BPCHAR[]" | "NAME[]" => get_array!(String, Value::Text),
        "JSON[]" | "JSONB[]" => get_array!(serde_json::Value, |v| Value::Json(v.to_string())),
        "UUID[]" => get_array!(uuid::Uuid, |v| Value::Uuid(v.hyphenated().to_string())),
        "TIMESTAMP[]" => get_array!(NaiveDateTime, |v| Value::Timestamp(value::format_timestamp(&v))),
        "TIMESTAMPTZ[]" => get_array!(DateTime<Utc>, |v| Value::Timestamptz(value::format_timestamptz(&v))),
        "DATE[]" => get_array!(NaiveDate, |v| Value::Date(v.to_string())),
        "TIME[]" => get_array!(NaiveTime, |v| Value::Time(value::format_time(&v))),
        "BYTEA[]" => get_array!(Vec<u8>, Value::Bytes),
        other => {
            return Err(error(
                ErrorKind::UnsupportedType,
                format!(
                    "column `{}` has type {}, which plugmill cannot convert; cast it in SQL, e.g. `{}::text`",
                    column.name(),
                    other.to_ascii_lowercase(),
                    column.name()
                ),
            ))
        }
    })
}
