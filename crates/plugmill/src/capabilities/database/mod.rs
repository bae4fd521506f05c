//! The database capability: plugins run SQL inside transactions the host owns, on named
//! PostgreSQL databases (pooled) or SQLite files (the embedded default).
//!
//! Two interfaces serve it, side by side:
//! - `seed`: `plugins-manager:transactions-manager/transaction`, exactly as plugins of the
//!   seed system import it (databases `hasura` and `keycloak`, text parameters, rows as JSON);
//! - `typed`: `plugmill:database/transactions@0.1.0` (WIT in `wit/database/database.wit`):
//!   `begin(database)` returns a transaction resource; typed parameters and rows.
//!
//! Both run on one `Session` per call. What it guarantees:
//! - a plugin opens only the databases its grant names (`[plugins.NAME] databases = [...]`);
//!   a plugin importing the interfaces without a grant loads, with a warning in the load
//!   report, and each `begin` it makes fails as `not permitted` (seed plugins import the
//!   transaction interface whether or not they use it);
//! - a transaction the call did not commit is rolled back when the call ends, traps or runs
//!   out of time, and its connection goes back to the pool;
//! - every wait (a free connection, a statement) ends by the call's deadline, and each
//!   statement by the database's `statement_timeout`;
//! - failures come back to the plugin as `Err` values naming what went wrong and where.
//!
//! Modules: `config` (configuration: `[databases.NAME]`, the environment, grants),
//! `session` (per-call transactions), `postgres` and `sqlite` (binding parameters,
//! converting rows), `value` (values as JSON), `errors` (failures as messages).

mod config;
mod errors;
#[cfg(feature = "postgres")]
mod postgres;
mod seed;
mod session;
#[cfg(feature = "sqlite")]
mod sqlite;
mod typed;
mod value;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, OnceLock};

#[cfg(feature = "postgres")]
use sqlx::postgres::{PgPool, PgPoolOptions};
#[cfg(feature = "sqlite")]
use sqlx::sqlite::{SqlitePool, SqlitePoolOptions};
use wasmtime::component::{HasSelf, Linker};

pub use config::{redact, url_variable, Backend, DatabaseConfig, DatabaseSpec, InvalidDatabase};
pub use typed::types::{Column, DatabaseError, ErrorKind, Rows, Value};

use crate::capabilities::{Admission, Capability};
use crate::config::{ConfigError, HostConfig};
use crate::grants::PluginGrants;
use crate::host::HostState;
use session::Session;

/// The interfaces of the capability.
pub const INTERFACES: &[&str] = &[
    "plugins-manager:transactions-manager/transaction",
    "plugmill:database/transactions",
    "plugmill:database/types",
];

/// The database capability: the named databases of a host and which plugin may open which.
/// Pools connect on first use.
#[derive(Debug, Default)]
pub struct Databases {
    databases: BTreeMap<String, Arc<Database>>,
    grants: PluginGrants<BTreeSet<String>>,
}

/// One named database and its pool.
pub struct Database {
    name: String,
    spec: DatabaseSpec,
    pool: OnceLock<Pool>,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("name", &self.name)
            .field("spec", &self.spec)
            .finish_non_exhaustive()
    }
}

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

impl Capability for Databases {
    fn name(&self) -> &'static str {
        "database"
    }

    fn interfaces(&self) -> &'static [&'static str] {
        INTERFACES
    }

    fn config_sections(&self) -> &'static [&'static str] {
        &["databases"]
    }

    fn plugin_keys(&self) -> &'static [&'static str] {
        &["databases"]
    }

    fn configure(&mut self, config: &HostConfig) -> Result<(), ConfigError> {
        config::configure(self, config)
    }

    fn check(&self) -> Result<(), ConfigError> {
        for (plugin, databases) in self.grants.iter() {
            if let Some(unknown) = databases.iter().find(|d| !self.databases.contains_key(*d)) {
                return Err(ConfigError::new(
                    "<configuration>",
                    format!(
                        "[plugins.{plugin}] databases: `{unknown}` is not a configured database ({})",
                        self.describe_names()
                    ),
                ));
            }
        }
        Ok(())
    }

    fn add_to_linker(&self, linker: &mut Linker<HostState>) -> anyhow::Result<()> {
        fn session(state: &mut HostState) -> &mut Session {
            state.call_scope(Session::new)
        }
        seed::transaction::add_to_linker::<HostState, HasSelf<Session>>(linker, session)?;
        typed::types::add_to_linker::<HostState, HasSelf<Session>>(linker, session)?;
        typed::transactions::add_to_linker::<HostState, HasSelf<Session>>(linker, session)?;
        Ok(())
    }

    fn admit(&self, plugin: &str, interface: &str) -> Admission {
        if self.grants.entries_for(plugin).any(|set| !set.is_empty()) {
            return Admission::Admitted;
        }
        Admission::Warn(format!(
            "imports `{interface}` but is granted no database: its transactions fail as `not permitted` until host configuration grants one (`databases = [...]` under [plugins.{plugin}])"
        ))
    }

    fn shutdown(&self) -> futures::future::BoxFuture<'_, ()> {
        Box::pin(async move {
            for database in self.databases.values() {
                match database.pool.get() {
                    #[cfg(feature = "postgres")]
                    Some(Pool::Postgres(pool)) => pool.close().await,
                    #[cfg(feature = "sqlite")]
                    Some(Pool::Sqlite(pool)) => pool.close().await,
                    None => {}
                }
            }
        })
    }
}

impl Databases {
    /// Adds (or replaces) the database `name`.
    pub fn insert(&mut self, name: &str, spec: DatabaseSpec) {
        let database = Database {
            name: name.to_string(),
            spec,
            pool: OnceLock::new(),
        };
        self.databases.insert(name.to_string(), Arc::new(database));
    }

    /// Lets `plugin` (every plugin, with `*`) open `database`.
    pub fn grant(&mut self, plugin: &str, database: &str) {
        self.grants.entry(plugin).insert(database.to_string());
    }

    /// Whether a database called `name` is configured.
    pub fn contains(&self, name: &str) -> bool {
        self.databases.contains_key(name)
    }

    fn describe_names(&self) -> String {
        if self.databases.is_empty() {
            "none is configured: add [databases.NAME]".into()
        } else {
            let names: Vec<&str> = self.databases.keys().map(String::as_str).collect();
            format!("configured: {}", names.join(", "))
        }
    }

    /// The database `name`, if `plugin` may open it.
    pub(crate) fn open(&self, plugin: &str, name: &str) -> Result<Arc<Database>, DatabaseError> {
        let granted = self
            .grants
            .entries_for(plugin)
            .any(|set| set.contains(name));
        match self.databases.get(name) {
            Some(database) if granted => Ok(database.clone()),
            Some(_) => Err(error(
                ErrorKind::NotPermitted,
                format!(
                    "not permitted: plugin `{plugin}` is not granted database `{name}` (grant it with `databases = [\"{name}\"]` under [plugins.{plugin}])"
                ),
            )),
            None => Err(error(
                ErrorKind::UnknownDatabase,
                format!("no database named `{name}` ({})", self.describe_names()),
            )),
        }
    }

    /// The pool of database `name`, connecting lazily: for the host's own queries beside the
    /// plugins' (the pool is shared). Async because the pool lives on the tokio runtime.
    pub async fn pool(&self, name: &str) -> Option<Pool> {
        Some(self.databases.get(name)?.pool().clone())
    }

    /// Names of the configured databases.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.databases.keys().map(String::as_str)
    }
}

impl Database {
    /// The configured name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Where it is and its limits.
    pub fn spec(&self) -> &DatabaseSpec {
        &self.spec
    }

    /// The pool, created on first use (inside the tokio runtime).
    pub(crate) fn pool(&self) -> &Pool {
        self.pool.get_or_init(|| self.spec.connect_lazy())
    }
}

impl DatabaseSpec {
    /// A pool for this database that connects on first use (call it inside the tokio
    /// runtime). SQLite connections are confined to their file.
    pub fn connect_lazy(&self) -> Pool {
        match &self.backend {
            #[cfg(feature = "postgres")]
            Backend::Postgres(options) => Pool::Postgres(
                PgPoolOptions::new()
                    .max_connections(self.max_connections)
                    .acquire_timeout(self.acquire_timeout)
                    .connect_lazy_with(options.clone()),
            ),
            #[cfg(feature = "sqlite")]
            Backend::Sqlite(options) => Pool::Sqlite(
                SqlitePoolOptions::new()
                    .max_connections(self.max_connections)
                    .acquire_timeout(self.acquire_timeout)
                    .after_connect(|connection, _| Box::pin(sqlite::confine(connection)))
                    .connect_lazy_with(options.clone()),
            ),
        }
    }
}

/// The result columns of a prepared statement: names and lower-case type names.
pub(crate) fn columns_of<S: sqlx::Statement>(statement: &S) -> Vec<Column> {
    use sqlx::{Column as _, TypeInfo as _};
    statement
        .columns()
        .iter()
        .map(|c| Column {
            name: c.name().to_string(),
            type_name: c.type_info().name().to_ascii_lowercase(),
        })
        .collect()
}

/// A [`DatabaseError`] of `kind`.
pub(crate) fn error(kind: ErrorKind, message: impl Into<String>) -> DatabaseError {
    DatabaseError {
        kind,
        message: message.into(),
    }
}
