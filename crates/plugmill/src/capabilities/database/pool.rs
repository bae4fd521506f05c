//! [`Pool`]: the connection pool of one database, either backend, made lazily from its
//! [`DatabaseSpec`]; SQLite connections are confined to their file as they open.

#[cfg(feature = "postgres")]
use sqlx::postgres::{PgPool, PgPoolOptions};
#[cfg(feature = "sqlite")]
use sqlx::sqlite::{SqlitePool, SqlitePoolOptions};

use super::config::{Backend, DatabaseSpec};

/// A connection pool of either backend.
#[derive(Clone, Debug)]
pub enum Pool {
    /// PostgreSQL.
    #[cfg(feature = "postgres")]
    Postgres(PgPool),
    /// SQLite.
    #[cfg(feature = "sqlite")]
    Sqlite(SqlitePool),
}

impl DatabaseSpec {
    /// A pool for this database that connects on first use (call it inside the tokio
    /// runtime). SQLite connections are confined to their file.
    pub fn connect_lazy(&self) -> Pool {
        match &self.backend {
            #[cfg(feature = "postgres")]
            Backend::Postgres(options) => Pool::Postgres({
                install_crypto_provider();
                PgPoolOptions::new()
                    .max_connections(self.max_connections)
                    .acquire_timeout(self.acquire_timeout)
                    .connect_lazy_with(options.clone())
            }),
            #[cfg(feature = "sqlite")]
            Backend::Sqlite(options) => Pool::Sqlite(
                SqlitePoolOptions::new()
                    .max_connections(self.max_connections)
                    .acquire_timeout(self.acquire_timeout)
                    .after_connect(|connection, _| {
                        Box::pin(plugmill_sqlite_guard::confine_connection(connection))
                    })
                    .connect_lazy_with(options.clone()),
            ),
        }
    }
}

/// Makes aws-lc-rs (the crypto of the rest of plugmill) the process's default rustls
/// provider, unless the process chose one already: sqlx's TLS asks for the default when it
/// checks a certificate without its name (`verify-ca`), and with more than one provider
/// compiled in there is none to find.
#[cfg(feature = "postgres")]
fn install_crypto_provider() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}
