//! Bindings generated from `wit/database/database.wit`: the values, rows and errors every
//! part of the capability speaks (the typed interface's own types).

/// Bindings generated from the WIT.
#[allow(missing_docs)]
pub mod generated {
    wasmtime::component::bindgen!({
        path: "../../wit/database",
        world: "plugmill:database/database-client",
        imports: { default: async },
    });
}
pub use generated::plugmill::database::{transactions, types};
pub use types::{Column, DatabaseError, ErrorKind, Rows, Value};

/// A [`DatabaseError`] of `kind`.
pub(crate) fn error(kind: ErrorKind, message: impl Into<String>) -> DatabaseError {
    DatabaseError {
        kind,
        message: message.into(),
    }
}
