//! Confines a SQLite connection handed to plugins to its own database file.
//!
//! SQL alone can reach outside a database: `ATTACH DATABASE '/any/path'` opens or creates any
//! file the host process may touch, and `VACUUM INTO '/any/path'` writes one. This crate sets
//! the connection's limit of attached databases to zero, which refuses both, and turns on
//! SQLite's defensive mode, which refuses writes that can corrupt the database file
//! (`PRAGMA writable_schema`, direct writes to shadow tables).
//!
//! It is the one place in plugmill with `unsafe` code: [`confine`], two calls into the SQLite
//! C API on a raw handle. [`confine_connection`] is its safe form for a pooled `sqlx`
//! connection, whose handle stays locked for the call.

use std::ffi::c_int;
use std::ptr::NonNull;

use libsqlite3_sys::{
    sqlite3, sqlite3_db_config, sqlite3_limit, SQLITE_DBCONFIG_DEFENSIVE, SQLITE_LIMIT_ATTACHED,
    SQLITE_OK,
};
use sqlx::sqlite::SqliteConnection;

/// SQLite refused to confine a connection.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("SQLite refused defensive mode (code {code})")]
pub struct ConfineError {
    /// SQLite's result code.
    pub code: c_int,
}

/// Refuses `ATTACH` and `VACUUM INTO` and turns on defensive mode on `handle`.
///
/// # Safety
///
/// `handle` must point to an open SQLite connection, and no other thread may use that
/// connection until the call returns (as with the locked handle of a pooled connection, see
/// [`confine_connection`]).
#[allow(unsafe_code)]
pub unsafe fn confine(handle: NonNull<sqlite3>) -> Result<(), ConfineError> {
    let db = handle.as_ptr();
    // SAFETY: the caller guarantees `db` is an open connection used by no other thread now;
    // both functions only set connection options.
    let defensive = unsafe {
        sqlite3_limit(db, SQLITE_LIMIT_ATTACHED, 0);
        sqlite3_db_config(
            db,
            SQLITE_DBCONFIG_DEFENSIVE,
            1 as c_int,
            std::ptr::null_mut::<c_int>(),
        )
    };
    if defensive != SQLITE_OK {
        return Err(ConfineError { code: defensive });
    }
    Ok(())
}

/// Confines a new pooled connection to its database file (for `after_connect`).
pub async fn confine_connection(connection: &mut SqliteConnection) -> Result<(), sqlx::Error> {
    let mut handle = connection.lock_handle().await?;
    // SAFETY: the handle is the open connection's, and the lock keeps every other user of the
    // connection out until it is dropped, after the call.
    #[allow(unsafe_code)]
    let confined = unsafe { confine(handle.as_raw_handle()) };
    confined.map_err(|e| sqlx::Error::Configuration(e.into()))
}
