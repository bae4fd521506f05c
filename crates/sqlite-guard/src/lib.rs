//! Confines a SQLite connection handed to plugins to its own database file.
//!
//! SQL alone can reach outside a database: `ATTACH DATABASE '/any/path'` opens or creates any
//! file the host process may touch, and `VACUUM INTO '/any/path'` writes one. This crate sets
//! the connection's limit of attached databases to zero, which refuses both, and turns on
//! SQLite's defensive mode, which refuses writes that can corrupt the database file
//! (`PRAGMA writable_schema`, direct writes to shadow tables).
//!
//! It is the one place in plugmill with `unsafe` code: two calls into the SQLite C API on a
//! handle the caller holds locked.

use std::ffi::c_int;
use std::ptr::NonNull;

use libsqlite3_sys::{
    sqlite3, sqlite3_db_config, sqlite3_limit, SQLITE_DBCONFIG_DEFENSIVE, SQLITE_LIMIT_ATTACHED,
    SQLITE_OK,
};

/// Refuses `ATTACH` and `VACUUM INTO` and turns on defensive mode on `handle`.
///
/// `handle` must be an open connection that no other thread uses during the call (as the
/// locked handle of a pooled connection is).
pub fn confine(handle: NonNull<sqlite3>) -> Result<(), String> {
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
        return Err(format!("SQLite refused defensive mode (code {defensive})"));
    }
    Ok(())
}
