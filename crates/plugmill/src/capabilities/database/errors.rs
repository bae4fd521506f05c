//! Turning sqlx failures into [`DatabaseError`]s that say what went wrong and where, for
//! both backends.

use super::databases::Database;
use super::wit::{error, DatabaseError, ErrorKind};

/// A query returned more rows than its database allows.
pub(crate) fn too_many_rows(database: &Database) -> DatabaseError {
    error(
        ErrorKind::Limit,
        format!(
            "the query returned more than {} rows, the limit of database `{}` (max_rows)",
            database.spec.max_rows, database.name
        ),
    )
}

/// Where in the statement PostgreSQL says the error is.
#[cfg(feature = "postgres")]
fn postgres_position(error: &dyn sqlx::error::DatabaseError) -> String {
    error
        .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
        .and_then(|pg| match pg.position() {
            Some(sqlx::postgres::PgErrorPosition::Original(at)) => {
                Some(format!(" at character {at}"))
            }
            _ => None,
        })
        .unwrap_or_default()
}

#[cfg(not(feature = "postgres"))]
fn postgres_position(_: &dyn sqlx::error::DatabaseError) -> String {
    String::new()
}

/// An error from running a statement.
pub(crate) fn statement_error(e: sqlx::Error) -> DatabaseError {
    match &e {
        sqlx::Error::Database(db) => {
            let code = db.code().map(|c| format!(" [{c}]")).unwrap_or_default();
            let position = postgres_position(db.as_ref());
            let kind = if db.code().as_deref() == Some("57014") {
                ErrorKind::Timeout
            } else {
                ErrorKind::Query
            };
            error(kind, format!("{}{code}{position}", db.message()))
        }
        sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_) => {
            error(ErrorKind::UnsupportedType, e.to_string())
        }
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => error(
            ErrorKind::Unavailable,
            format!("the connection failed: {e}"),
        ),
        _ => error(ErrorKind::Query, e.to_string()),
    }
}

/// An error from getting a connection or beginning; `open` connections were in the pool.
pub(crate) fn connection_error(database: &Database, e: sqlx::Error, open: u32) -> DatabaseError {
    let spec = &database.spec;
    match &e {
        sqlx::Error::PoolTimedOut if open >= spec.max_connections => error(
            ErrorKind::Unavailable,
            format!(
                "no connection to database `{}` came free within {:?} (pool of {}, all in use)",
                database.name, spec.acquire_timeout, spec.max_connections
            ),
        ),
        sqlx::Error::PoolTimedOut => error(
            ErrorKind::Unavailable,
            format!(
                "database `{}` cannot be reached: no connection could be opened within {:?}",
                database.name, spec.acquire_timeout
            ),
        ),
        _ if is_tls_failure(&e) => error(
            ErrorKind::Unavailable,
            match &spec.tls_settings {
                Some(settings) => format!(
                    "database `{}` cannot be reached over TLS (set by {settings}): {e}",
                    database.name
                ),
                None => format!(
                    "database `{}` cannot be reached over TLS: {e}",
                    database.name
                ),
            },
        ),
        sqlx::Error::Database(_) => {
            let inner = statement_error(e);
            error(
                ErrorKind::Unavailable,
                format!(
                    "database `{}` refused the connection: {}",
                    database.name, inner.message
                ),
            )
        }
        _ => error(
            ErrorKind::Unavailable,
            format!("database `{}` cannot be reached: {e}", database.name),
        ),
    }
}

/// Whether connecting failed in TLS: sqlx reports a refused certificate as the I/O error
/// rustls returned, and a server without TLS as its own TLS error.
fn is_tls_failure(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Tls(_) => true,
        sqlx::Error::Io(io) => io
            .get_ref()
            .is_some_and(|inner| inner.is::<rustls::Error>()),
        _ => false,
    }
}
