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
//! Modules, from the bottom up: `wit` (the typed interface's values, rows and errors),
//! `config` (a database's settings), `pool` (its connection pool), `databases` (the named
//! databases and their grants), `configure` (reading `[databases.NAME]`, the environment and
//! grants), `seed_env` (the seed system's `HASURA_DB__*` and `KEYCLOAK_DB__*` variables,
//! TLS included), `params`, `value` (values as JSON), `errors` (failures as messages), `postgres`
//! and `sqlite` (binding parameters, converting rows), `session` (per-call transactions), and
//! the two interfaces over it, `seed` and `typed`.

mod config;
mod configure;
mod databases;
mod deferred;
mod errors;
mod params;
mod pool;
#[cfg(feature = "postgres")]
mod postgres;
mod seed;
mod seed_env;
mod session;
#[cfg(feature = "sqlite")]
mod sqlite;
mod typed;
mod value;
mod wit;

use wasmtime::component::{HasSelf, Linker};

pub use config::{redact, url_variable, Backend, DatabaseConfig, DatabaseSpec, InvalidDatabase};
pub use databases::{Database, Databases};
pub(crate) use deferred::carry_deferred;
pub use deferred::{DeferredCommits, HeldTransaction};
pub use pool::Pool;
pub use wit::{Column, DatabaseError, ErrorKind, Rows, Value};

use crate::capabilities::{Admission, Capability};
use crate::config::{ConfigError, HostConfig};
use crate::host::HostState;
use session::Session;

/// The interfaces of the capability.
pub const INTERFACES: &[&str] = &[
    "plugins-manager:transactions-manager/transaction",
    "plugmill:database/transactions",
    "plugmill:database/types",
];

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
        configure::configure(self, config)
    }

    fn check(&self) -> Result<(), ConfigError> {
        self.check_grants()
    }

    fn add_to_linker(&self, linker: &mut Linker<HostState>) -> anyhow::Result<()> {
        fn session(state: &mut HostState) -> &mut Session {
            state.call_scope(Session::new)
        }
        seed::transaction::add_to_linker::<HostState, HasSelf<Session>>(linker, session)?;
        wit::types::add_to_linker::<HostState, HasSelf<Session>>(linker, session)?;
        wit::transactions::add_to_linker::<HostState, HasSelf<Session>>(linker, session)?;
        Ok(())
    }

    fn admit(&self, plugin: &str, interface: &str) -> Admission {
        if self.grants_any(plugin) {
            return Admission::Admitted;
        }
        Admission::Warn(format!(
            "imports `{interface}` but is granted no database: its transactions fail as `not permitted` until host configuration grants one (`databases = [...]` under [plugins.{plugin}])"
        ))
    }

    fn shutdown(&self) -> futures::future::BoxFuture<'_, ()> {
        Box::pin(self.close_pools())
    }
}
